/**
 * A worker thread of parallel.ts: loads the evaluator at once, then answers what it is asked, in
 * turn: consumers' target programs (loading the Pulumi runtime then), and a chunk of the matrix.
 * Each answer carries its request's id, and an error is answered as its message.
 */
import { parentPort, workerData } from "worker_threads";
import { evaluateCases } from "./evaluate";
import type { ConsumerPolicies, ConsumerRuns } from "./capture";
import type { Answer, Asked, WorkerData } from "./parallel";

// eslint-disable-next-line @typescript-eslint/no-require-imports -- the Pulumi runtime, loaded only for target runs
const capture = () => require("./capture") as typeof import("./capture");
if ((workerData as WorkerData | null)?.runs) capture();

/** Runs the consumers this thread takes from the shared counter, until none is left or one fails (it runs again there). */
async function captureTaken(runs: ConsumerRuns): Promise<[number, ConsumerPolicies][]> {
  const { runConsumer, takeNext } = capture();
  const ran: [number, ConsumerPolicies][] = [];
  for (let i = takeNext(runs); i < runs.roles.length; i = takeNext(runs)) {
    try {
      ran.push([i, await runConsumer(runs, runs.roles[i])]);
    } catch {
      break;
    }
  }
  return ran;
}

parentPort?.on("message", ({ id, request }: Asked) => {
  const answer: Promise<unknown> =
    request.kind === "capture"
      ? captureTaken(request.runs)
      : evaluateCases(request.chunk.policies, request.chunk.contract, request.chunk.cases);
  void answer.then(
    (a) => parentPort?.postMessage({ id, answer: a } satisfies Answer),
    (e: unknown) => parentPort?.postMessage({ id, error: e instanceof Error ? e.message : String(e) } satisfies Answer),
  );
});
