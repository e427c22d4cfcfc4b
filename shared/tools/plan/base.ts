/**
 * Plans a git revision with its own code and its own stack files: the revision's tree goes into a
 * temporary folder with its dependencies (base-tree.ts), and that revision's plan runs there as a
 * process with --json.
 */
import * as fs from "fs";
import * as path from "path";
import { PROJECT_ROOT } from "../../program/project";
import { UserError } from "../../program/errors";
import { EXIT } from "../cli";
import { checkTempFolder, makeTempTree } from "../cli/temp";
import {
  checkGit,
  Dependencies,
  dependenciesFor,
  extract,
  firstLines,
  Installer,
  oneLineReason,
  provideDependencies,
  run,
} from "./base-tree";
import type { PlanReport } from "./report";

/** Set for a base's plan, which runs beside this checkout's: each keeps to one core. */
export const ONE_CORE_ENV = "CROSS_ACCOUNT_S3_KMS_PLAN_ONE_CORE";

export interface BasePlan {
  ref: string;
  sha: string;
  report: PlanReport;
  dependencies: Dependencies;
}

/** The commit REF names, and this project's folder inside the repository ("" at its top). */
async function resolveRef(ref: string, root: string): Promise<{ sha: string; prefix: string }> {
  const commit = await run("git", ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`], root);
  if (commit.code !== 0) {
    const repo = await run("git", ["rev-parse", "--show-prefix"], root);
    throw new UserError(
      repo.code !== 0
        ? `--base ${ref}: ${root} is not a git checkout (git says: ${firstLines(repo.stderr, 2)})`
        : `--base ${ref}: not a commit in this repository (for a pull request's base, fetch it first: git fetch origin <branch>)`,
    );
  }
  const prefix = await run("git", ["rev-parse", "--show-prefix"], root);
  return { sha: commit.stdout.trim(), prefix: prefix.stdout.trim() };
}

/**
 * The base's stack file for one of this checkout's: a file inside the project is read from the
 * base revision at the same path; a file outside it is the same file for both.
 */
export function baseFile(file: string, root: string, dir: string, ref: string, flag: string): string {
  const relative = path.relative(root, file);
  if (relative.startsWith("..") || path.isAbsolute(relative)) return file;
  const inBase = path.join(dir, relative);
  if (!fs.existsSync(inBase))
    throw new UserError(`--base ${ref}: the base revision has no ${relative} (${flag}), so it cannot be planned`);
  return inBase;
}

/**
 * Node's arguments for `npm run plan` in a project folder, read from its package.json: a revision
 * runs its own plan wherever its tree keeps it. Not through npm, whose INIT_CWD would point at the caller's folder.
 */
export function planCommand(dir: string, label = dir): string[] {
  let script: unknown;
  try {
    script = (JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as { scripts?: { plan?: unknown } })
      .scripts?.plan;
  } catch (e) {
    throw new UserError(`${label}: cannot read package.json: ${e instanceof Error ? e.message : String(e)}`);
  }
  const words = typeof script === "string" ? script.trim().split(/\s+/) : [];
  if (words[0] !== "node" || words.length < 2)
    throw new UserError(
      `${label}: package.json has no "plan" script of the form "node <args>" (found ${JSON.stringify(script)}), so it cannot be planned`,
    );
  return words.slice(1);
}

/** What every revision that can be compared prints: its plan's cases, the matrix's and the services'. */
function comparable(parsed: unknown): parsed is PlanReport {
  const report = parsed as Partial<Record<"access" | "services", unknown>> | null;
  const rows = (v: unknown) =>
    Array.isArray(v) &&
    v.every((r: Partial<Record<string, unknown>> | null) =>
      ["case", "principal", "action", "resource", "result"].every((k) => typeof r?.[k] === "string"),
    );
  return typeof report === "object" && report !== null && rows(report.access) && rows(report.services);
}

const PREDATES = "so it predates the access review; compare against a later revision";

/** A base whose ref, tree and stack files were found, planning in its own process. */
export interface StartedBase {
  ref: string;
  sha: string;
  dependencies: Dependencies;
  report: Promise<PlanReport>;
  /** Stops the base's install or plan: this checkout's plan failed, so its answer is not needed. */
  cancel(): void;
}

/** How long a base's install and plan may take before they are stopped. */
export const BASE_TIMEOUT_MS = 10 * 60_000;

/**
 * The environment a base's plan runs in: what an offline plan needs (the executables' path, a home
 * and a temporary folder, the locale), never the caller's credentials or tokens (AWS_*, GH_TOKEN,
 * ACTIONS_ID_TOKEN_REQUEST_*): --base runs another revision's code.
 */
export function baseEnvironment(parent: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const keep = ["PATH", "HOME", "TMPDIR", "TMP", "TEMP", "LANG", "LC_ALL", "SystemRoot"];
  return {
    ...Object.fromEntries(keep.filter((k) => parent[k] !== undefined).map((k) => [k, parent[k]])),
    [ONE_CORE_ENV]: "1",
  };
}

/**
 * Starts planning REF: its code, its stack files (or the same files outside the project), this
 * checkout's node_modules or, when its package-lock.json differs, its own (`install` runs npm ci).
 * Resolves once the ref and the files are checked, so a bad --base fails before anything heavy
 * runs; the install and the plan go on in `report`, and its temporary tree goes once they end.
 */
export async function startBase(
  ref: string,
  files: { source: string; target: string },
  root: string = PROJECT_ROOT,
  { timeoutMs = BASE_TIMEOUT_MS, install }: { timeoutMs?: number; install?: Installer } = {},
): Promise<StartedBase> {
  await checkGit(root);
  checkTempFolder("plan --base");
  const { sha, prefix } = await resolveRef(ref, root);
  const label = `--base ${ref} (${sha.slice(0, 12)})`;
  const dependencies = await dependenciesFor(sha, root);
  // The tree and its archive in one folder, removed at the end or when the tool is stopped.
  const temp = makeTempTree("plan-base-");
  const cleanup = temp.remove;
  const dir = path.join(temp.dir, "tree");
  let args: string[];
  try {
    fs.mkdirSync(dir);
    await extract(sha, prefix, root, dir);
    const command = planCommand(dir, `--base ${ref}`);
    const entry = command[command.length - 1];
    if (!fs.existsSync(path.join(dir, entry)))
      throw new UserError(
        `${label} cannot be planned: that revision has no plan tool (npm run plan runs ${entry}, which it lacks), ${PREDATES}`,
      );
    args = [
      ...command,
      "--json",
      "--source-config",
      baseFile(files.source, root, dir, ref, "--source-config"),
      "--target-config",
      baseFile(files.target, root, dir, ref, "--target-config"),
    ];
  } catch (e) {
    cleanup();
    throw e;
  }
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  timer.unref();
  const env = baseEnvironment(process.env);
  let step = "installing its dependencies (npm ci)";
  const report = provideDependencies(dir, root, dependencies, { env, signal: controller.signal, install, label })
    .then(() => {
      step = "its plan";
      // Not as an npm script: its INIT_CWD would point at the caller's folder.
      return run(process.execPath, args, dir, env, controller.signal);
    })
    .catch((e: unknown) => {
      if (timedOut)
        throw new UserError(
          `${label} cannot be planned: ${step} did not finish within ${Math.round(timeoutMs / 1000)} s, and was stopped`,
        );
      throw e;
    })
    .then((planned) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(planned.stdout);
      } catch {
        parsed = undefined;
      }
      // Exit 1 is a plan whose cases are not all as expected: still the base's access.
      if ((planned.code !== EXIT.ok && planned.code !== EXIT.failed) || parsed === undefined)
        throw new UserError(
          `${label} cannot be planned: its plan exited ${String(planned.code)}: ${oneLineReason(planned.stderr || planned.stdout, dir)}`,
        );
      if (!comparable(parsed))
        throw new UserError(`${label} cannot be planned: its plan's report has no cases to compare, ${PREDATES}`);
      return parsed;
    })
    .finally(() => {
      clearTimeout(timer);
      cleanup();
    });
  // The caller awaits it after its own plan: until then, a rejection is not unhandled.
  report.catch(() => undefined);
  return { ref, sha, dependencies, report, cancel: () => controller.abort() };
}

/** A started base, once its plan answered. */
export const finished = async ({ ref, sha, dependencies, report }: StartedBase): Promise<BasePlan> => ({
  ref,
  sha,
  dependencies,
  report: await report,
});

/** Plans REF to the end. */
export async function planBase(
  ref: string,
  files: { source: string; target: string },
  root: string = PROJECT_ROOT,
  options: { install?: Installer } = {},
): Promise<BasePlan> {
  return finished(await startBase(ref, files, root, options));
}
