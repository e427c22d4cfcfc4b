/**
 * `npm run bench`: how the program scales with the number of consumers, offline. For N = 1, 10,
 * 100 and 200 consumer roles (each in its own account), it measures each stack's evaluation under
 * mocks (median of 5), the policy sizes against AWS's limits and the access matrix; then the whole
 * plan as a process at 2 and 200 consumers, with and without --base; each tool's --help; then the
 * time of `npm test` against `tsc --noEmit` alone, in the same run, with npm test's type-check state
 * cold and then warm.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { performance } from "perf_hooks";
import { PROJECT_ROOT, RawConfig } from "../../program/project";
import type { StackRun } from "../../offline/run";
import { defineTool, EXIT, toolMain, UsageError, WHOLE_NUMBER } from "../cli";
import { registerChild } from "../cli/cleanup";
import { table } from "../cli/format";
import { makeTempTree } from "../cli/temp";
import { planCommand } from "../plan/base";

const DEFAULT_SIZES = "1,10,100,200";
/** The whole plan's sizes: its time at the second is held to 4x the first. */
const PLAN_SIZES = [2, 200] as const;
const REPEATS = 5;
/** AWS's limit on a role's inline policies, in characters, all together. */
const INLINE_ROLE_POLICY_LIMIT = 10_240;

/** N consumers: the target's own role first, then one role per further account. */
const sourceConfig = (n: number): RawConfig => {
  const { manyConsumers, sourceGranting } = fixtures();
  return sourceGranting([{ accountId: "222222222222", roleName: "account-b-role" }, ...manyConsumers(n - 1, 1)]);
};

/* eslint-disable @typescript-eslint/no-require-imports -- lazy loads, typed by their import types: --help and bad arguments answer without zod or YAML */
const fixtures = () => require("../../offline/fixtures") as typeof import("../../offline/fixtures");
/** The target's default upstream stack, which the bench's target reads. */
const sourceStack = () =>
  (require("../../program/config/target") as typeof import("../../program/config/target")).TARGET_DEFAULTS.sourceStack;
const limits = () =>
  (require("../../../source-account/documents") as typeof import("../../../source-account/documents")).POLICY_LIMITS;
/* eslint-enable @typescript-eslint/no-require-imports */

/** The simulator and the Pulumi runtime, loaded when a measurement starts, so --help and bad arguments answer at once. */
const heavy = () => ({
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy load, typed by the import type
  ...(require("../../offline/access") as typeof import("../../offline/access")),
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy load, typed by the import type
  ...(require("../../offline/run") as typeof import("../../offline/run")),
});

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function timed<T>(f: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = performance.now();
  const value = await f();
  return { ms: performance.now() - t, value };
}

async function medianOf(f: () => Promise<StackRun>): Promise<{ ms: number; run: StackRun }> {
  const times: number[] = [];
  let run: StackRun | undefined;
  for (let i = 0; i < REPEATS; i++) {
    const r = await timed(f);
    times.push(r.ms);
    run = r.value;
  }
  if (!run) throw new Error("no run");
  return { ms: median(times), run };
}

const size = (
  run: StackRun,
  type: string,
  match: (inputs: Record<string, unknown>) => boolean = () => true,
): number => {
  const { ofType, policyOf } = heavy();
  const r = ofType(run, type).find((x) => match(x.inputs));
  return r ? Buffer.byteLength(JSON.stringify(policyOf(r))) : 0;
};

const pct = (bytes: number, limit: number) => `${bytes.toLocaleString("en")} (${Math.round((100 * bytes) / limit)}%)`;

export interface BenchRow {
  n: number;
  sourceMs: number;
  targetMs: number;
  bucketPolicy: number;
  keyPolicy: number;
  identityPolicy: number;
  cases: number;
  matrixMs: number;
}

export async function measure(n: number): Promise<BenchRow> {
  const { accessCases, captureDeployment, evaluateCases, runProgram } = heavy();
  const source = await medianOf(() => runProgram({ stack: `bench-source-${n}`, config: sourceConfig(n) }));
  const target = await medianOf(() =>
    runProgram({
      stack: `bench-target-${n}`,
      config: fixtures().TARGET_BASE,
      stackOutputs: { [sourceStack()]: source.run.outputs },
    }),
  );
  const d = await captureDeployment(sourceConfig(n), fixtures().TARGET_BASE);
  const cases = accessCases(d.policies, d.contract);
  const matrix = await timed(() => evaluateCases(d.policies, d.contract, cases));
  const bad = matrix.value.filter((r) => !r.ok);
  if (bad.length > 0) throw new Error(`at N=${n}, ${bad.length} access cases are not as expected`);
  return {
    n,
    sourceMs: source.ms,
    targetMs: target.ms,
    bucketPolicy: size(
      source.run,
      "aws:s3/bucketPolicy:BucketPolicy",
      (i) => i.bucket === source.run.outputs.bucketName,
    ),
    keyPolicy: size(source.run, "aws:kms/key:Key"),
    identityPolicy: size(target.run, "aws:iam/rolePolicy:RolePolicy"),
    cases: cases.length,
    matrixMs: matrix.ms,
  };
}

/**
 * The whole plan as a user runs it, a process, at 2 and 200 consumers and at 200 with --base HEAD
 * (config files outside the project, so the base reads the same ones). The three alternate, three
 * rounds, and each takes its median: a machine that slows down during the run slows all three.
 */
async function planSeconds(): Promise<{ small: number; large: number; withBase: number }> {
  const temp = makeTempTree("bench-plan-");
  const dir = temp.dir;
  try {
    const file = (name: string, config: RawConfig) => {
      const values = Object.fromEntries(
        Object.entries(config).map(([k, v]) => [k, v.startsWith("[") ? (JSON.parse(v) as unknown) : v]),
      );
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy load, typed by the import type
      fs.writeFileSync(path.join(dir, name), (require("yaml") as typeof import("yaml")).stringify({ config: values }));
      return path.join(dir, name);
    };
    const target = file("Pulumi.target.yaml", fixtures().TARGET_BASE);
    const args = (n: number, base?: string) => [
      ...planCommand(PROJECT_ROOT),
      "--json",
      ...["--source-config", file(`Pulumi.source-${n}.yaml`, sourceConfig(n)), "--target-config", target],
      ...(base ? ["--base", base] : []),
    ];
    const rounds: { small: number; large: number; withBase: number }[] = [];
    for (let i = 0; i < 3; i++)
      rounds.push({
        small: await seconds(process.execPath, args(PLAN_SIZES[0])),
        large: await seconds(process.execPath, args(PLAN_SIZES[1])),
        withBase: await seconds(process.execPath, args(PLAN_SIZES[1], "HEAD")),
      });
    return {
      small: median(rounds.map((r) => r.small)),
      large: median(rounds.map((r) => r.large)),
      withBase: median(rounds.map((r) => r.withBase)),
    };
  } finally {
    temp.remove();
  }
}

/** What each consumer past the small plan's adds to the plan, in ms: the ratio's cost without its fixed start. */
const perConsumerMs = (small: number, large: number): number =>
  Math.round((1000 * (large - small)) / (PLAN_SIZES[1] - PLAN_SIZES[0]));

const HELP_TARGET_S = 0.3;

/**
 * Each tool's --help as a process, as its npm script runs it (node and the script's arguments; npm's
 * own start, about 0.2 s, is not the tool's), median of 3.
 */
async function helpSeconds(): Promise<{ tool: string; seconds: number }[]> {
  const scripts = (
    JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    }
  ).scripts;
  const out: { tool: string; seconds: number }[] = [];
  for (const [tool, script] of Object.entries(scripts)) {
    const [command, ...args] = script.trim().split(/\s+/);
    if (command !== "node") continue;
    const times: number[] = [];
    for (let i = 0; i < 3; i++) times.push(await seconds(process.execPath, [...args, "--help"]));
    out.push({ tool, seconds: median(times) });
  }
  return out;
}

/** How long a command takes, in seconds; a child the bench's clean-up stops if the bench is stopped. */
function seconds(cmd: string, args: string[]): Promise<number> {
  const t = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: PROJECT_ROOT, stdio: ["ignore", "pipe", "pipe"] });
    registerChild(child);
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0
        ? resolve((performance.now() - t) / 1000)
        : reject(new Error(`${cmd} ${args.join(" ")} failed:\n${output}`)),
    );
  });
}

async function main(sizes: number[], suite: boolean, print: (line: string) => void): Promise<boolean> {
  const rows: BenchRow[] = [];
  for (const n of sizes) rows.push(await measure(n));
  const ms = (x: number) => x.toFixed(0);
  print(
    table(
      [
        "N",
        "source eval (ms, median of 5)",
        "target eval (ms)",
        "bucket policy (B of 20,480)",
        "key policy (B of 32,768)",
        "role inline policy (chars of 10,240)",
        "matrix cases",
        "matrix (ms)",
      ],
      rows.map((r) => [
        String(r.n),
        ms(r.sourceMs),
        ms(r.targetMs),
        pct(r.bucketPolicy, limits().bucketPolicy),
        pct(r.keyPolicy, limits().keyPolicy),
        pct(r.identityPolicy, INLINE_ROLE_POLICY_LIMIT),
        String(r.cases),
        ms(r.matrixMs),
      ]),
    ),
  );

  const first = rows[0];
  const last = rows[rows.length - 1];
  const checks: [string, boolean][] = [
    [
      `${last.n} consumers fit: bucket ${pct(last.bucketPolicy, limits().bucketPolicy)}, key ${pct(last.keyPolicy, limits().keyPolicy)}`,
      last.bucketPolicy <= limits().bucketPolicy && last.keyPolicy <= limits().keyPolicy,
    ],
    [
      `source eval at N=200 is ${(last.sourceMs / first.sourceMs).toFixed(2)}x N=1 (target ≤ 3x)`,
      last.sourceMs <= 3 * first.sourceMs,
    ],
    [
      `each stack evaluates in ≤ 1.5 s at N=1: source ${ms(first.sourceMs)} ms, target ${ms(first.targetMs)} ms`,
      first.sourceMs <= 1500 && first.targetMs <= 1500,
    ],
  ];
  const { small, large, withBase } = await planSeconds();
  print("");
  print(
    table(
      ["npm run plan (a process, median of 3)", `N=${PLAN_SIZES[0]} (s)`, `N=${PLAN_SIZES[1]} (s)`],
      [
        ["plan", small.toFixed(1), large.toFixed(1)],
        ["plan --base HEAD", "", withBase.toFixed(1)],
      ],
    ),
  );
  checks.push(
    [
      `plan at N=${PLAN_SIZES[1]} ${large.toFixed(1)} s is ${(large / small).toFixed(2)}x N=${PLAN_SIZES[0]} ${small.toFixed(1)} s (target ≤ 4x; ${perConsumerMs(small, large)} ms per further consumer)`,
      large <= 4 * small,
    ],
    [
      `plan --base HEAD at N=${PLAN_SIZES[1]} ${withBase.toFixed(1)} s is ${(withBase / large).toFixed(2)}x the plan (target ≤ 2x)`,
      withBase <= 2 * large,
    ],
  );
  const help = await helpSeconds();
  print("");
  print(
    table(
      ["tool", "--help as a process (s, median of 3)"],
      help.map((h) => [h.tool, h.seconds.toFixed(3)]),
    ),
  );
  for (const h of help)
    checks.push([`${h.tool} --help answers in ${h.seconds.toFixed(3)} s (target < 0.3 s)`, h.seconds < HELP_TARGET_S]);
  if (suite) {
    // tsc --noEmit keeps no state: each run is a full check. npm test's own type-check is cold
    // once its state (.tmp/tsc) is gone, and warm on the next run.
    for (const state of ["cold", "warm"] as const) {
      if (state === "cold") fs.rmSync(path.join(PROJECT_ROOT, ".tmp", "tsc"), { recursive: true, force: true });
      const tsc = await seconds("npx", ["tsc", "--noEmit"]);
      const test = await seconds("npm", ["test", "--silent"]);
      checks.push([
        `npm test (type-check state ${state}) ${test.toFixed(1)} s is ${(test / tsc).toFixed(2)}x tsc --noEmit ${tsc.toFixed(1)} s (target ≤ 1.5x)`,
        test <= 1.5 * tsc,
      ]);
    }
  }
  print("");
  for (const [what, ok] of checks) print(`${ok ? "✓" : "✗"} ${what}`);
  return checks.every(([, ok]) => ok);
}

/** Parses --sizes: consumer counts, ascending, from 1 to 400. */
export function parseSizes(value: string): number[] {
  const parts = value.split(",").map((v) => v.trim());
  const sizes = parts.map(Number);
  if (
    !parts.every((p) => WHOLE_NUMBER.test(p)) ||
    sizes.some((n) => n < 1 || n > 400) ||
    sizes.some((n, i) => i > 0 && n <= sizes[i - 1])
  ) {
    throw new UsageError(
      `--sizes = ${JSON.stringify(value)}: must be ascending whole numbers from 1 to 400, separated by commas`,
    );
  }
  return sizes;
}

export const BENCH_TOOL = defineTool({
  name: "bench",
  summary:
    "Measures how the program scales with the number of consumers, offline, and the time of npm test against tsc --noEmit.",
  details: "Exit 1 means a target was missed (listed with ✗).",
  options: {
    sizes: {
      type: "string",
      value: "N,N,...",
      description: `numbers of consumers to measure (default ${DEFAULT_SIZES})`,
    },
    "no-suite": { type: "boolean", description: "skip timing npm test against tsc --noEmit (it takes about a minute)" },
  },
  async run(args, io) {
    const sizes = parseSizes(args.sizes ?? DEFAULT_SIZES);
    return (await main(sizes, args["no-suite"] !== true, (line) => io.out(`${line}\n`))) ? EXIT.ok : EXIT.failed;
  },
});

if (require.main === module) toolMain(BENCH_TOOL);
