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

/** A request as posted, and a worker's answer to it: its value, or its error's message. */
export interface Asked {
  id: number;
  request: Request;
}
export interface Answer {
  id: number;
  answer?: unknown;
  error?: string;
}

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
 * chunk of the matrix. Each answer names its request, so a late answer never settles another
 * request. They never keep the process alive while idle, only while a request is open.
 */
export class MatrixWorkers implements CaptureHelpers {
  private readonly workers: Worker[];
  /** Why a worker can answer nothing more: its error, or its exit. */
  private readonly failures = new Map<Worker, Error>();
  /** Each worker's open requests, by id. */
  private readonly open = new Map<Worker, Map<number, { resolve(a: unknown): void; reject(e: Error): void }>>();
  private lastId = 0;

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
      const open = new Map<number, { resolve(a: unknown): void; reject(e: Error): void }>();
      this.open.set(w, open);
      w.on("message", ({ id, answer, error }: Answer) => {
        const request = open.get(id);
        if (!request) return;
        open.delete(id);
        if (open.size === 0) w.unref();
        if (error === undefined) request.resolve(answer);
        else request.reject(new Error(error));
      });
      const fail = (e: Error) => {
        if (!this.failures.has(w)) this.failures.set(w, e);
        for (const request of open.values()) request.reject(this.failures.get(w) ?? e);
        open.clear();
      };
      w.once("error", fail);
      w.once("exit", (code) => fail(new Error(`a matrix worker exited with ${code} before answering`)));
    }
  }

  get size(): number {
    return this.workers.length;
  }

  private ask<T>(worker: Worker, request: Request): Promise<T> {
    const failed = this.failures.get(worker);
    if (failed) return Promise.reject(failed);
    const id = ++this.lastId;
    return new Promise<T>((resolve, reject) => {
      this.open.get(worker)?.set(id, { resolve: (a) => resolve(a as T), reject });
      worker.ref();
      worker.postMessage({ id, request } satisfies Asked);
    });
  }

  /** The consumers' target programs the workers take from the shared counter, by index; what a failed worker ran is lost. */
  async capture(runs: ConsumerRuns): Promise<Map<number, ConsumerPolicies>> {
    const answers = await Promise.allSettled(
      this.workers.map((w) => this.ask<[number, ConsumerPolicies][]>(w, { kind: "capture", runs })),
    );
    return new Map(answers.flatMap((a) => (a.status === "fulfilled" ? a.value : [])));
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
    // A chunk its worker could not answer is evaluated here: a bad case then fails as it would here.
    const theirs = others.map((part, i) =>
      pool.evaluate(i, { policies, contract, cases: part }).then(
        (results) => ({ results }),
        () => ({ results: undefined, part }),
      ),
    );
    const mine = await evaluateCases(policies, contract, own);
    const rest: AccessResult[][] = [];
    for (const t of await Promise.all(theirs))
      rest.push(t.results ?? (await evaluateCases(policies, contract, t.part ?? [])));
    return [...mine, ...rest.flat()];
  } finally {
    pool.close();
  }
}
