/**
 * A base revision's temporary tree: its files (`git archive`, so the checkout's index and worktrees
 * stay untouched) and its dependencies, this checkout's node_modules when the lockfiles are equal,
 * else its own, installed there by `npm ci` without lifecycle scripts.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { UserError } from "../../program/errors";
import { registerChild } from "../cli/cleanup";
import { atLeast, parseVersion, versionText } from "../cli/version";

/** Whose node_modules a base ran with: this checkout's (equal lockfiles), or its own, installed in its tree. */
export type Dependencies = "shared" | "own";

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function run(
  cmd: string,
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
  signal?: AbortSignal,
): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, signal, stdio: ["ignore", "pipe", "pipe"] });
    registerChild(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("close", (code) =>
      resolve({ code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") }),
    );
  });
}

export const firstLines = (text: string, n = 12): string => text.trim().split("\n").slice(0, n).join("\n");

/**
 * The oldest git whose documentation (git-scm.com, from 2.0) has everything used here: `archive
 * --format=tar -o FILE TREE-ISH`, `rev-parse --verify --quiet REF^{commit}` and `--show-prefix`,
 * `diff --quiet REV -- PATH`.
 */
export const GIT_MINIMUM = [2, 0, 0] as const;

/** Throws a UserError unless git is on PATH and GIT_MINIMUM or later. */
export async function checkGit(cwd: string): Promise<void> {
  let ran: Ran;
  try {
    ran = await run("git", ["--version"], cwd);
  } catch (e) {
    throw new UserError(
      (e as { code?: unknown }).code === "ENOENT"
        ? "plan --base needs git (not found on PATH)"
        : `plan --base needs git, which could not start: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  const version = ran.code === 0 ? parseVersion(ran.stdout) : undefined;
  if (!version)
    throw new UserError(
      `plan --base needs git, and "git --version" answered ${JSON.stringify(firstLines(ran.stdout || ran.stderr, 1))}`,
    );
  if (!atLeast(version, GIT_MINIMUM))
    throw new UserError(
      `plan --base needs git ${versionText(GIT_MINIMUM)} or later (for git archive and rev-parse --verify REF^{commit}); this is git ${versionText(version)}`,
    );
}

const realPath = (p: string): string => {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
};

/** A line of the base's output to quote, at most this long: a minified source line is no message. */
const MAX_QUOTE = 240;

/**
 * A failed plan's reason in one line: its error ("TypeError: …", "Error: Cannot find module …"),
 * else its own message ("plan: …"), else its last line; the tree's path left out.
 */
export function oneLineReason(output: string, tree: string): string {
  const lines = output
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  const line =
    lines.find((l) => /^\w*Error\b.*:/.test(l)) ??
    lines.find((l) => l.startsWith("plan: "))?.slice("plan: ".length) ??
    lines[lines.length - 1] ??
    "it printed nothing";
  let shown = line;
  for (const t of new Set([tree, realPath(tree)])) shown = shown.split(`${t}${path.sep}`).join("").split(t).join(".");
  return shown.length > MAX_QUOTE ? `${shown.slice(0, MAX_QUOTE)}…` : shown;
}

/** Writes the revision's tree of this project into dir. */
export async function extract(sha: string, prefix: string, root: string, dir: string): Promise<void> {
  const tar = `${dir}.tar`;
  try {
    const archived = await run("git", ["archive", "--format=tar", "-o", tar, prefix ? `${sha}:${prefix}` : sha], root);
    if (archived.code !== 0) throw new UserError(`--base: git archive ${sha} failed: ${firstLines(archived.stderr)}`);
    const unpacked = await run("tar", ["-xf", tar, "-C", dir], root);
    if (unpacked.code !== 0) throw new UserError(`--base: unpacking ${sha} failed: ${firstLines(unpacked.stderr)}`);
  } finally {
    fs.rmSync(tar, { force: true });
  }
}

/** "own" when the revision's package-lock.json differs from the one in root's working tree. */
export async function dependenciesFor(sha: string, root: string): Promise<Dependencies> {
  const lock = await run("git", ["diff", "--quiet", sha, "--", "package-lock.json"], root);
  if (lock.code !== 0 && lock.code !== 1)
    throw new UserError(`--base: comparing package-lock.json with ${sha} failed: ${firstLines(lock.stderr)}`);
  return lock.code === 1 ? "own" : "shared";
}

/** Runs npm with these arguments in cwd; a test puts a stand-in here. */
export type Installer = (
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  signal: AbortSignal,
) => Promise<Ran>;

export const npm: Installer = (args, cwd, env, signal) => run("npm", args, cwd, env, signal);

/** The base is code under review: its lifecycle scripts do not run, not even at install. */
export const NPM_CI = ["ci", "--ignore-scripts", "--no-audit", "--no-fund"] as const;

/**
 * npm's settings for where it fetches and keeps packages, and how it reaches them. Not the others
 * `npm run` sets: npm_config_local_prefix would point npm ci at the caller's folder.
 */
const NPM_REACH =
  /^(?:npm_config_(?:registry|@[^:]+:registry|cache|offline|prefer[-_]offline|proxy|https[-_]proxy|noproxy|cafile)|https?_proxy|no_proxy)$/i;

/** The base's environment, plus the caller's npm registry, cache and proxy settings: npm ci must reach its registry. */
export const installEnvironment = (base: NodeJS.ProcessEnv, parent: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({
  ...base,
  ...Object.fromEntries(Object.entries(parent).filter(([k, v]) => v !== undefined && NPM_REACH.test(k))),
});

/** npm's reason for failing: its first message line, without the code fields, the stack and the log's path. */
export function npmReason(output: string): string {
  const said = output.split("\n").flatMap((line) => {
    const m = /^npm (?:error|ERR!) (.+)$/.exec(line);
    return m ? [m[1]] : [];
  });
  const reason = said.find((l) => !/^(?:code|errno|syscall|path|dest) |^\s|^[{}]|^A complete log of this run/.test(l));
  return (reason ?? output.trim().split("\n").slice(-1)[0]) || "it printed nothing";
}

/**
 * Gives the tree in dir its dependencies: a link to root's node_modules, or its own by `npm ci`
 * (its env: the base's, plus npm's registry settings). Any node_modules entry the revision has gives way.
 */
export async function provideDependencies(
  dir: string,
  root: string,
  dependencies: Dependencies,
  {
    env,
    signal,
    install = npm,
    label,
  }: { env: NodeJS.ProcessEnv; signal: AbortSignal; install?: Installer; label: string },
): Promise<void> {
  const modules = path.join(dir, "node_modules");
  fs.rmSync(modules, { recursive: true, force: true });
  if (dependencies === "shared") {
    fs.symlinkSync(path.join(root, "node_modules"), modules, "dir");
    return;
  }
  let ran: Ran;
  try {
    ran = await install(NPM_CI, dir, installEnvironment(env, process.env), signal);
  } catch (e) {
    if (signal.aborted) throw e;
    ran = { code: null, stdout: "", stderr: e instanceof Error ? e.message : String(e) };
  }
  if (ran.code !== 0)
    throw new UserError(
      `${label} cannot be planned: its package-lock.json differs from this checkout's, and \`npm ci --ignore-scripts\` failed in its tree: ${npmReason(ran.stderr || ran.stdout)}; run plan --base where npm can reach its registry`,
    );
}
