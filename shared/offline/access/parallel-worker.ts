/** A worker thread of parallel.ts: evaluates its chunk of the matrix and posts the results. */
import { parentPort, workerData } from "worker_threads";
import { evaluateCases } from "./evaluate";
import type { Chunk } from "./parallel";

const { policies, contract, cases } = workerData as Chunk;
void evaluateCases(policies, contract, cases).then((results) => parentPort?.postMessage(results));
