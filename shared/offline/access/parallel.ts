/**
 * A large matrix evaluated on every core. The simulator is synchronous: at 200 consumers its 3,600
 * cases are most of a plan's time, and each case is independent of the others. A small matrix is
 * evaluated here, since a worker's start (loading the simulator) costs more than it would save.
 */
import * as os from "os";
import * as path from "path";
import { Worker } from "worker_threads";
import { SourceContract } from "../../program/contract";
import { AccessPolicies } from "./capture";
import { AccessCase } from "./cases";
import { AccessResult, evaluateCases } from "./evaluate";

/** Below this many cases, one thread is quicker. */
export const PARALLEL_FROM = 400;

export interface Chunk {
  policies: AccessPolicies;
  contract: SourceContract;
  cases: AccessCase[];
}

const WORKER = path.join(__dirname, "parallel-worker.ts");

/** Evaluates a chunk in a worker thread, which loads TypeScript through tsx as this process does. */
function inWorker(chunk: Chunk): Promise<AccessResult[]> {
  return new Promise((resolve, reject) => {
    const code = `require(${JSON.stringify(require.resolve("tsx/cjs"))}); require(${JSON.stringify(WORKER)});`;
    const worker = new Worker(code, { eval: true, workerData: chunk });
    worker.once("message", (results: AccessResult[]) => resolve(results));
    worker.once("error", reject);
    worker.once("exit", (exitCode) => reject(new Error(`a matrix worker exited with ${exitCode} before answering`)));
  });
}

/**
 * evaluateCases, split over `threads` threads (this one included) from `from` cases on; the results
 * keep the cases' order.
 */
export async function evaluateAll(
  policies: AccessPolicies,
  contract: SourceContract,
  cases: AccessCase[],
  { threads = os.availableParallelism(), from = PARALLEL_FROM }: { threads?: number; from?: number } = {},
): Promise<AccessResult[]> {
  if (threads < 2 || cases.length < from) return evaluateCases(policies, contract, cases);
  const size = Math.ceil(cases.length / threads);
  const chunks = Array.from({ length: threads }, (_, i) => cases.slice(i * size, (i + 1) * size));
  const [own, ...others] = chunks;
  const workers = others.map((part) => inWorker({ policies, contract, cases: part }));
  // Handled below; a worker failing while this thread evaluates must not be an unhandled rejection.
  for (const w of workers) w.catch(() => undefined);
  const mine = await evaluateCases(policies, contract, own);
  return [...mine, ...(await Promise.all(workers)).flat()];
}
