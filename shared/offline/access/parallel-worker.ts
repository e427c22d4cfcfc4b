/** A worker thread of parallel.ts: loads the evaluator at once, then evaluates the one chunk it is sent. */
import { parentPort } from "worker_threads";
import { evaluateCases } from "./evaluate";
import type { Chunk } from "./parallel";

parentPort?.once("message", ({ policies, contract, cases }: Chunk) => {
  void evaluateCases(policies, contract, cases).then((results) => parentPort?.postMessage(results));
});
