/**
 * A large matrix evaluated on every core. The simulator is synchronous: at 200 consumers its 2,650
 * cases are most of a plan's time, and each case is independent of the others. A small matrix is
 * evaluated here, since a worker's start (loading the simulator) costs more than it would save.
 */
import * as os from "os";
import * as path from "path";
import { Worker } from "worker_threads";
import { SourceContract } from "../../program/contract";
import { AccessPolicies, CaptureHelpers, ConsumerPolicies, ConsumerRuns, Principal } from "./capture";
import { parseRoleArn } from "../../program/iam/arn";
import { AccessCase } from "./cases";
import { caseCount, subjectsOf } from "./matrix";
import { AccessResult, evaluateCases } from "./evaluate";

/** Below this many cases, one thread is quicker. */
export const PARALLEL_FROM = 400;

export interface Chunk {
  policies: AccessPolicies;
  contract: SourceContract;
  cases: AccessCase[];
}

/** What a worker is asked: consumers' target runs (while the target programs run here), or a chunk of the matrix. */
export type Request = { kind: "capture"; runs: ConsumerRuns } | { kind: "evaluate"; chunk: Chunk };

/** What a worker is started with. */
export interface WorkerData {
  runs: boolean;
}

const WORKER = path.join(__dirname, "parallel-worker.ts");

/**
 * How many cases the matrix of this contract has (one object action counts once per object):
 * enough to decide early whether to start workers. The organization's consumer stands for the
 * target's role, counted even when that role is also listed (then the capture has no such consumer).
 */
export function expectedCases(contract: SourceContract): number {
  const roles: Principal[] = contract.consumerRoleArns.map((arn) => {
    const role = parseRoleArn(arn);
    if (!role) throw new Error(`not a role ARN: ${arn}`);
    return role;
  });
  const org = contract.consumerOrg;
  if (org) {
    const orgPath = org.orgPaths?.[0];
    roles.push({
      accountId: contract.accountId,
      roleName: "consumer",
      orgId: org.orgId ?? orgPath?.split("/")[0],
      orgPath,
    });
  }
  return subjectsOf(contract, roles).reduce((n, s) => n + caseCount(s), 0);
}

/**
 * Worker threads that load the evaluator as soon as they start, so that their start can overlap
 * other work. Each can run some of the consumers' target programs (capture), then evaluates one
 * chunk of the matrix. They never keep the process alive while idle, only while answering.
 */
export class MatrixWorkers implements CaptureHelpers {
  private readonly workers: Worker[];
  /** A worker's failure before it was asked anything (its start), reported by its next answer. */
  private readonly failures = new Map<Worker, Error>();

  /** `runs`: the workers will be asked for target runs, and load the Pulumi runtime at once too. */
  constructor(count: number = os.availableParallelism() - 1, { runs = false }: { runs?: boolean } = {}) {
    // tsx loads TypeScript in the worker as it does here.
    const code = `require(${JSON.stringify(require.resolve("tsx/cjs"))}); require(${JSON.stringify(WORKER)});`;
    this.workers = Array.from(
      { length: Math.max(count, 0) },
      () => new Worker(code, { eval: true, workerData: { runs } satisfies WorkerData }),
    );
    for (const w of this.workers) {
      w.unref();
      w.once("error", (e: Error) => this.failures.set(w, e));
    }
  }

  get size(): number {
    return this.workers.length;
  }

  private ask<T>(worker: Worker, request: Request): Promise<T> {
    const failed = this.failures.get(worker);
    if (failed) return Promise.reject(failed);
    return new Promise<T>((resolve, reject) => {
      const answered = (answer: T) => (stop(), worker.unref(), resolve(answer));
      const failed = (e: Error) => (stop(), reject(e));
      const exited = (code: number) => failed(new Error(`a matrix worker exited with ${code} before answering`));
      const stop = () => {
        worker.off("message", answered);
        worker.off("error", failed);
        worker.off("exit", exited);
      };
      worker.ref();
      worker.on("message", answered);
      worker.on("error", failed);
      worker.on("exit", exited);
      worker.postMessage(request);
    });
  }

  /** The consumers' target programs the workers take from the shared counter, by index. */
  async capture(runs: ConsumerRuns): Promise<Map<number, ConsumerPolicies>> {
    const answers = await Promise.all(
      this.workers.map((w) => this.ask<[number, ConsumerPolicies][]>(w, { kind: "capture", runs })),
    );
    return new Map(answers.flat());
  }

  evaluate(i: number, chunk: Chunk): Promise<AccessResult[]> {
    return this.ask(this.workers[i], { kind: "evaluate", chunk });
  }

  /** Stops the workers that are left, e.g. when the matrix turned out small or the run failed. */
  close(): void {
    for (const w of this.workers) void w.terminate();
  }
}

/**
 * evaluateCases, split over this thread and the workers (given, or started here when this machine
 * has another core) from `from` cases on; the results keep the cases' order.
 */
export async function evaluateAll(
  policies: AccessPolicies,
  contract: SourceContract,
  cases: AccessCase[],
  { from = PARALLEL_FROM, workers }: { from?: number; workers?: MatrixWorkers } = {},
): Promise<AccessResult[]> {
  if (cases.length < from || (workers ? workers.size === 0 : os.availableParallelism() < 2)) {
    workers?.close();
    return evaluateCases(policies, contract, cases);
  }
  const pool = workers ?? new MatrixWorkers();
  try {
    const size = Math.ceil(cases.length / (pool.size + 1));
    const [own, ...others] = Array.from({ length: pool.size + 1 }, (_, i) => cases.slice(i * size, (i + 1) * size));
    const theirs = others.map((part, i) => pool.evaluate(i, { policies, contract, cases: part }));
    // Handled below; a worker failing while this thread evaluates must not be an unhandled rejection.
    for (const t of theirs) t.catch(() => undefined);
    const mine = await evaluateCases(policies, contract, own);
    return [...mine, ...(await Promise.all(theirs)).flat()];
  } finally {
    pool.close();
  }
}
