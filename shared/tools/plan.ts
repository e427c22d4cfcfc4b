/**
 * `npm run plan`: runs both stacks offline under Pulumi mocks, from Pulumi.source.yaml and
 * Pulumi.target.yaml (or --source-config / --target-config), and proves who can read what.
 * No credentials and no Pulumi CLI. Exit 0: every case as expected; 1: a case is not; 2: bad input.
 */
import * as path from "path";
import type { AccessResult, Deployment } from "../offline/access";
import type { StackRun } from "../offline/run";
import { roleArn } from "../program/iam/arn";
import type { PolicyDocument } from "../program/iam/document";
import { PROJECT_ROOT, RawConfig, Side } from "../program/project";
import { defineTool, ExitCode, toolMain, ToolIo } from "./cli";
import { table } from "./format";
import { BasePlan, finished, ONE_CORE_ENV, startBase } from "./plan-base";

export interface PlanArgs {
  sourceConfig: string;
  targetConfig: string;
  /** The caller's folder: messages name files relative to it. */
  cwd?: string;
  /** Whether a large matrix may take the other cores (default true): not while a base plans beside it. */
  workers?: boolean;
}

export interface StackPlan {
  accountId: string;
  region: string;
  resources: { type: string; name: string; inputs: Record<string, unknown> }[];
  outputs: Record<string, unknown>;
}

export interface PlanReport {
  source: StackPlan;
  target: StackPlan;
  access: AccessResult[];
  /** What AWS services and the deployer request for this deployment. */
  services: AccessResult[];
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
 * --help answer without zod, YAML or the Pulumi SDK.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- lazy loads, typed by their import types */
const checks = () => ({
  ...(require("../offline/stack-files") as typeof import("../offline/stack-files")),
  ...(require("../program/errors") as typeof import("../program/errors")),
  ...(require("../program/config/target") as typeof import("../program/config/target")),
  ...(require("../../source-account/checks") as typeof import("../../source-account/checks")),
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
    outputs: run.outputs,
  };
}

/** Reads one side's file and checks it as that side's program would, naming the flag and the file in every error. */
function readSideConfig(file: string, side: Side, cwd: string): { config: RawConfig; label: string } {
  const relative = path.relative(cwd, file);
  const label = `--${side}-config ${relative.startsWith(`..${path.sep}..`) ? file : relative}`;
  const { readStackFile, requireSide, stackAccountId, checkSourceConfig, parseTargetConfig, UserError } = checks();
  const { config } = readStackFile(file, "reject", label);
  requireSide(config, side, label);
  stackAccountId(config, label);
  try {
    if (side === "source") checkSourceConfig(config);
    else parseTargetConfig(config);
  } catch (e) {
    throw e instanceof UserError ? new UserError(`${label}: ${e.message}`) : e;
  }
  return { config, label };
}

export async function plan(args: PlanArgs): Promise<{ report: PlanReport; deployment: Deployment }> {
  const source = readSideConfig(args.sourceConfig, "source", args.cwd ?? process.cwd());
  const target = readSideConfig(args.targetConfig, "target", args.cwd ?? process.cwd());
  // Loaded only now: the simulator and the Pulumi runtime take a second, and bad input should not wait for them.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy load, typed by the import type
  const model = require("../offline/access") as typeof import("../offline/access");
  let workers: InstanceType<typeof model.MatrixWorkers> | undefined;
  try {
    const deployment = await model.captureDeployment(
      source.config,
      target.config,
      { source: source.label, target: target.label },
      // A large matrix's workers load the evaluator while the target programs run.
      (c) => {
        if (args.workers !== false && model.expectedCases(c) >= model.PARALLEL_FROM)
          workers = new model.MatrixWorkers();
      },
    );
    const access = await model.evaluateAll(
      deployment.policies,
      deployment.contract,
      model.accessCases(deployment.policies, deployment.contract),
      args.workers === false ? { from: Infinity } : { workers },
    );
    const services = await model.evaluateCases(
      deployment.policies,
      deployment.contract,
      model.serviceCases(deployment.policies, deployment.contract),
    );
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

/** The stack files a tool's --source-config and --target-config name, or the project's. */
export const stackFiles = (args: { "source-config"?: string; "target-config"?: string }) => ({
  source: args["source-config"] ?? path.join(PROJECT_ROOT, "Pulumi.source.yaml"),
  target: args["target-config"] ?? path.join(PROJECT_ROOT, "Pulumi.target.yaml"),
});

/**
 * This checkout's plan and, given a git ref, the base's (plan-base.ts): a bad ref fails before
 * anything heavy runs, the base plans in its own process meanwhile, and stops if this plan fails.
 */
export async function planWithBase(
  files: { source: string; target: string },
  ref: string | undefined,
  io: Pick<ToolIo, "cwd" | "env">,
): Promise<{ report: PlanReport; deployment: Deployment; base?: BasePlan }> {
  const started = ref === undefined ? undefined : await startBase(ref, files);
  let planned: Awaited<ReturnType<typeof plan>>;
  try {
    planned = await plan({
      sourceConfig: files.source,
      targetConfig: files.target,
      cwd: io.cwd,
      // Two plans at once (this and a base's), each on one core: four threads on two cores only thrash.
      workers: ref === undefined && io.env[ONE_CORE_ENV] !== "1",
    });
  } catch (e) {
    started?.cancel();
    throw e;
  }
  return {
    ...planned,
    base: started && (await finished(started)),
  };
}

export const exitCodeFor = (...results: AccessResult[][]): ExitCode => (results.flat().every((r) => r.ok) ? 0 : 1);

const pretty = (doc: PolicyDocument): string => JSON.stringify(doc, null, 2);

export function humanReport(report: PlanReport, d: Deployment): string {
  const out: string[] = [
    "Offline plan under Pulumi mocks: no credentials, no cloud. IDs and ARNs the cloud assigns (key ID, instance ID) are placeholders.",
    "",
  ];
  for (const [name, s] of [
    ["source", report.source],
    ["target", report.target],
  ] as const) {
    const counts = new Map<string, number>();
    for (const r of s.resources) counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
    out.push(`${name} stack: account ${s.accountId}, ${s.region}, ${s.resources.length} resources`);
    for (const [type, n] of [...counts].sort()) out.push(`  ${String(n).padStart(3)}  ${type}`);
    out.push("");
  }
  out.push(`Bucket policy (${d.contract.bucketName}, account ${d.contract.accountId}):`, pretty(d.policies.bucket), "");
  out.push(`Key policy (${d.contract.keyArn}):`, pretty(d.policies.key), "");
  for (const c of d.policies.consumers) {
    for (const doc of c.identity) out.push(`Identity policy of ${roleArn(c.role)}:`, pretty(doc), "");
    if (c.endpoint) out.push(`S3 gateway endpoint policy in account ${c.role.accountId}:`, pretty(c.endpoint), "");
  }
  const bad = report.access.filter((r) => !r.ok).length;
  out.push(`Access matrix: ${report.access.length} cases, ${report.access.length - bad} as expected, ${bad} not`, "");
  out.push(
    table(
      ["case", "principal", "action", "expected", "result", "ok"],
      report.access.map((r) => [r.case, r.principal, r.action, r.expected, r.result, r.ok ? "✓" : "✗"]),
    ),
    "",
  );
  const badService = report.services.filter((r) => !r.ok).length;
  out.push(
    `Service requests (AWS services and the deployer, for this deployment): ${report.services.length} cases, ` +
      `${report.services.length - badService} as expected, ${badService} not`,
    "",
    table(
      ["case", "principal", "action", "expected", "result", "ok", "AWS documentation"],
      report.services.map((r) => [
        r.case,
        r.principal,
        r.action,
        r.expected,
        r.result,
        r.ok ? "✓" : "✗",
        r.cites ?? "",
      ]),
    ),
  );
  if (d.policies.audit)
    out.push(
      "",
      `Audit log bucket policy (${d.policies.audit.logBucketArn}):`,
      pretty(d.policies.audit.logBucketPolicy),
    );
  return out.join("\n");
}

/** The plan's own verdict in a few lines: the counts, and each case that is not as expected. */
export function verdict(report: PlanReport): string {
  const bad = [...report.access, ...report.services].filter((r) => !r.ok);
  const lines = [
    `This checkout: ${report.access.length} access cases and ${report.services.length} service requests, ${bad.length} not as expected.`,
  ];
  for (const r of bad) lines.push(`  ✗ ${r.case}: ${r.principal} ${r.action} is ${r.result}, expected ${r.expected}`);
  return lines.join("\n");
}

export const PLAN_TOOL = defineTool({
  name: "plan",
  summary: "Runs both stacks offline under Pulumi mocks and proves who can read what: no credentials, no Pulumi CLI.",
  details: "Exit 1 means a case of the access matrix, or a service's request, is not as expected.",
  options: {
    "source-config": {
      type: "string",
      value: "FILE",
      path: true,
      description:
        "the source stack's config, in Pulumi.<stack>.yaml format (default: Pulumi.source.yaml in the project)",
    },
    "target-config": {
      type: "string",
      value: "FILE",
      path: true,
      description: "the target stack's config (default: Pulumi.target.yaml in the project)",
    },
    base: {
      type: "string",
      value: "REF",
      description:
        "also plan the git revision REF, with its own code and stack files, and report what changed: access, then policies",
    },
    json: { type: "boolean", description: "print the report as JSON instead of tables" },
  },
  async run(args, io): Promise<ExitCode> {
    const { report, deployment, base } = await planWithBase(stackFiles(args), args.base, io);
    const code = exitCodeFor(report.access, report.services);
    if (!base) {
      io.out(`${args.json ? JSON.stringify(report, null, 2) : humanReport(report, deployment)}\n`);
      return code;
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy load, typed by the import type
    const { compare, humanChanges } = require("./plan-changes") as typeof import("./plan-changes");
    const changes = {
      ...compare(base.report, report, base.sha, base.ref),
      dependenciesDiffer: base.dependenciesDiffer,
    };
    io.out(
      `${args.json ? JSON.stringify({ ...report, changes }, null, 2) : `${humanChanges(changes, base.ref)}\n\n${verdict(report)}`}\n`,
    );
    return code;
  },
});

if (require.main === module) toolMain(PLAN_TOOL);
