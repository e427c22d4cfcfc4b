/**
 * `npm run plan`: runs both stacks offline under Pulumi mocks, from Pulumi.source.yaml and
 * Pulumi.target.yaml (or --source-config / --target-config), and proves who can read what.
 * No credentials and no Pulumi CLI. Exit 0: every case as expected; 1: a case is not; 2: bad input.
 */
import * as fs from "fs";
import * as path from "path";
import { AccessResult, accessCases, captureDeployment, Deployment, evaluateCases } from "../access-model";
import { PROJECT_ROOT } from "../config";
import { UserError } from "../errors";
import { StackRun } from "../offline/run";
import { PolicyDocument } from "../policy-document";
import { readStackConfig } from "../stack-file";
import { table } from "./format";

export interface PlanArgs {
  sourceConfig: string;
  targetConfig: string;
  json: boolean;
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
}

const USAGE = `usage: npm run plan -- [--source-config FILE] [--target-config FILE] [--json]
  --source-config FILE  the source stack's config, in Pulumi.<stack>.yaml format (default Pulumi.source.yaml)
  --target-config FILE  the target stack's config (default Pulumi.target.yaml)
  --json                print the report as JSON instead of tables`;

export function parseArgs(argv: string[]): PlanArgs {
  const args: PlanArgs = {
    sourceConfig: path.join(PROJECT_ROOT, "Pulumi.source.yaml"),
    targetConfig: path.join(PROJECT_ROOT, "Pulumi.target.yaml"),
    json: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined || v.startsWith("--")) throw new UserError(`${a} needs a file\n${USAGE}`);
      return path.resolve(v);
    };
    if (a === "--json") args.json = true;
    else if (a === "--source-config") args.sourceConfig = value();
    else if (a === "--target-config") args.targetConfig = value();
    else throw new UserError(`unknown argument ${a}\n${USAGE}`);
  }
  return args;
}

/** Plain JSON for a captured input: a file asset (as resolved inputs carry it) becomes its path relative to the project. */
function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === "object") {
    const asset = value as { __pulumiAsset?: boolean; path?: unknown };
    if (asset.__pulumiAsset === true && typeof asset.path === "string") return { fileAsset: path.relative(PROJECT_ROOT, asset.path) };
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, plain(v)]),
    );
  }
  return value;
}

function stackPlan(run: StackRun, config: Record<string, string>): StackPlan {
  return {
    accountId: (JSON.parse(config["aws:allowedAccountIds"]) as string[])[0],
    region: config["aws:region"],
    resources: run.resources.map((r) => ({ type: r.type, name: r.name, inputs: plain(r.inputs) as Record<string, unknown> })),
    outputs: run.outputs,
  };
}

function readConfig(file: string, which: string) {
  if (!fs.existsSync(file)) throw new UserError(`--${which}-config ${file}: no such file`);
  try {
    return readStackConfig(file);
  } catch (e) {
    throw new UserError(`--${which}-config ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export async function plan(args: PlanArgs): Promise<{ report: PlanReport; deployment: Deployment }> {
  const sourceConfig = readConfig(args.sourceConfig, "source");
  const targetConfig = readConfig(args.targetConfig, "target");
  const deployment = await captureDeployment(sourceConfig, targetConfig);
  const access = await evaluateCases(deployment.policies, deployment.contract, accessCases(deployment.policies, deployment.contract));
  return {
    deployment,
    report: { source: stackPlan(deployment.source, sourceConfig), target: stackPlan(deployment.target, targetConfig), access },
  };
}

export const exitCodeFor = (access: AccessResult[]): number => (access.every((r) => r.ok) ? 0 : 1);

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
    for (const doc of c.identity) out.push(`Identity policy of arn:aws:iam::${c.role.accountId}:role/${c.role.roleName}:`, pretty(doc), "");
    if (c.endpoint) out.push(`S3 gateway endpoint policy in account ${c.role.accountId}:`, pretty(c.endpoint), "");
  }
  const bad = report.access.filter((r) => !r.ok).length;
  out.push(`Access matrix: ${report.access.length} cases, ${report.access.length - bad} as expected, ${bad} not`, "");
  out.push(
    table(
      ["case", "principal", "action", "expected", "result", "ok"],
      report.access.map((r) => [r.case, r.principal, r.action, r.expected, r.result, r.ok ? "✓" : "✗"]),
    ),
  );
  return out.join("\n");
}

/** The CLI without the process: what it prints and its exit code. */
export async function runPlanCli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const args = parseArgs(argv);
    const { report, deployment } = await plan(args);
    return { code: exitCodeFor(report.access), stdout: `${args.json ? JSON.stringify(report, null, 2) : humanReport(report, deployment)}\n`, stderr: "" };
  } catch (e) {
    if (e instanceof UserError) return { code: 2, stdout: "", stderr: `plan: ${e.message}\n` };
    throw e;
  }
}

if (require.main === module) {
  runPlanCli(process.argv.slice(2)).then(
    (r) => {
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
      process.exitCode = r.code;
    },
    (e: unknown) => {
      process.stderr.write(`plan: unexpected failure: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 3;
    },
  );
}
