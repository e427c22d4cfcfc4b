/**
 * The offline plan: both stacks' files read and checked as their programs would, both programs run
 * under Pulumi mocks, and the access matrix and the services' requests evaluated; with a git ref,
 * the base revision plans beside it (base.ts).
 */
import * as path from "path";
import type { Deployment, MatrixWorkers } from "../../offline/access";
import type { AccessModel } from "./artifact";
import type { StackRun } from "../../offline/run";
import { PROJECT_ROOT, RawConfig, Side } from "../../program/project";
import type { ToolIo } from "../cli";
import { checkSideConfig } from "../stacks/files";
import { BasePlan, finished, ONE_CORE_ENV, startBase } from "./base";
import type { PlanReport, StackPlan } from "./report";

export interface PlanArgs {
  sourceConfig: string;
  targetConfig: string;
  /** The caller's folder: messages name files relative to it. */
  cwd?: string;
  /** Whether a large matrix may take the other cores (default true): not while a base plans beside it. */
  workers?: boolean;
  /** Stops the plan at its next step: its answer is no longer needed. */
  signal?: AbortSignal;
}

/** Plain JSON for a captured input: a file asset (as resolved inputs carry it) becomes its path relative to the project. */
function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === "object") {
    const asset = value as { __pulumiAsset?: boolean; path?: unknown };
    if (asset.__pulumiAsset === true && typeof asset.path === "string")
      return { fileAsset: path.relative(PROJECT_ROOT, asset.path) };
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, plain(v)]),
    );
  }
  return value;
}

/**
 * What reading and checking the files needs, loaded once the arguments parsed: bad arguments and
 * --help answer without YAML or the Pulumi SDK.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- lazy loads, typed by their import types */
const checks = () => ({
  ...(require("../../offline/stack-files") as typeof import("../../offline/stack-files")),
});
/* eslint-enable @typescript-eslint/no-require-imports */

function stackPlan(run: StackRun, config: RawConfig, label: string): StackPlan {
  const { stackAccountId } = checks();
  return {
    accountId: stackAccountId(config, label),
    region: config["aws:region"],
    resources: run.resources.map((r) => ({
      type: r.type,
      name: r.name,
      inputs: plain(r.inputs) as Record<string, unknown>,
    })),
    lookups: run.invokes.map((i) => ({ token: i.token, args: plain(i.args) as Record<string, unknown> })),
    outputs: run.outputs,
  };
}

/** Reads one side's file and checks it as that side's program would, naming the flag and the file in every error. */
function readSideConfig(file: string, side: Side, cwd: string): { config: RawConfig; label: string } {
  const relative = path.relative(cwd, file);
  const label = `--${side}-config ${relative.startsWith(`..${path.sep}..`) ? file : relative}`;
  const { readStackFile, requireSide, stackAccountId } = checks();
  const { config } = readStackFile(file, "reject", label);
  requireSide(config, side, label);
  stackAccountId(config, label);
  checkSideConfig(config, side, label);
  return { config, label };
}

/**
 * The access matrix and the services' requests, evaluated on an access model: this plan's, or one
 * read from another plan's JSON (plan/artifact.ts). `workers`: started ones, or false for this thread only.
 */
export async function evaluateModel(
  m: AccessModel,
  workers?: MatrixWorkers | false,
): Promise<Pick<PlanReport, "access" | "services">> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the simulator: a lazy load, typed by the import type
  const model = require("../../offline/access") as typeof import("../../offline/access");
  const access = await model.evaluateAll(
    m.policies,
    m.contract,
    model.accessCases(m.policies, m.contract),
    workers === false ? { from: Infinity } : { workers },
  );
  const services = await model.evaluateCases(m.policies, m.contract, model.serviceCases(m.policies, m.contract));
  return { access, services };
}

/**
 * From this many listed consumers, a plan starts its workers before the source program runs: the
 * other consumers' target programs (about 30 ms each) then outlast a worker's start (about 1.2 s),
 * and the worker is ready when the first of them runs.
 */
export const EARLY_WORKERS_FROM = 50;

export async function plan(args: PlanArgs): Promise<{ report: PlanReport; deployment: Deployment }> {
  const source = readSideConfig(args.sourceConfig, "source", args.cwd ?? process.cwd());
  const target = readSideConfig(args.targetConfig, "target", args.cwd ?? process.cwd());
  // Loaded only now: the simulator and the Pulumi runtime take a second, and bad input should not wait for them.
  /* eslint-disable @typescript-eslint/no-require-imports -- lazy loads, typed by their import types */
  const { MatrixWorkers } = require("../../offline/access/parallel") as typeof import("../../offline/access/parallel");
  const { parseSourceConfig } = require("../../program/config") as typeof import("../../program/config");
  /* eslint-enable @typescript-eslint/no-require-imports */
  let workers: InstanceType<typeof MatrixWorkers> | undefined;
  try {
    // Many consumers: workers start now, load the Pulumi runtime while this thread loads it too, and run some consumers.
    const early = args.workers !== false && parseSourceConfig(source.config).consumers.length >= EARLY_WORKERS_FROM;
    if (early) workers = new MatrixWorkers(undefined, { runs: true });
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy load, typed by the import type
    const model = require("../../offline/access") as typeof import("../../offline/access");
    const deployment = await model.captureDeployment(
      source.config,
      target.config,
      { source: source.label, target: target.label },
      // Otherwise a large matrix's workers start here, and load the evaluator while the target programs run.
      (c) => {
        if (!workers && args.workers !== false && model.expectedCases(c) >= model.PARALLEL_FROM)
          workers = new model.MatrixWorkers();
        return early ? workers : undefined;
      },
    );
    args.signal?.throwIfAborted();
    const { access, services } = await evaluateModel(deployment, args.workers === false ? false : workers);
    return {
      deployment,
      report: {
        source: stackPlan(deployment.source, source.config, source.label),
        target: stackPlan(deployment.target, target.config, target.label),
        access,
        services,
      },
    };
  } finally {
    workers?.close();
  }
}

/**
 * This checkout's plan and, given a git ref, the base's (base.ts): a bad ref fails before anything
 * heavy runs, the base plans in its own process meanwhile, and stops if this plan fails; a base that
 * fails is reported at once, and stops this plan at its next step.
 */
export async function planWithBase(
  files: { source: string; target: string },
  ref: string | undefined,
  io: Pick<ToolIo, "cwd" | "env">,
): Promise<{ report: PlanReport; deployment: Deployment; base?: BasePlan }> {
  const started = ref === undefined ? undefined : await startBase(ref, files);
  const stop = new AbortController();
  const head = plan({
    sourceConfig: files.source,
    targetConfig: files.target,
    cwd: io.cwd,
    // Two plans at once (this and a base's), each on one core: four threads on two cores only thrash.
    workers: ref === undefined && io.env[ONE_CORE_ENV] !== "1",
    signal: stop.signal,
  });
  const baseFailed = started?.report.then(
    () => new Promise<never>(() => undefined),
    (e: unknown) => {
      stop.abort();
      throw e;
    },
  );
  let planned: Awaited<ReturnType<typeof plan>>;
  try {
    planned = await (baseFailed ? Promise.race([head, baseFailed]) : head);
  } catch (e) {
    started?.cancel();
    throw e;
  }
  return {
    ...planned,
    base: started && (await finished(started)),
  };
}
