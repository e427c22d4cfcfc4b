/**
 * A base revision's temporary tree: its files, by `git archive` (so the checkout's index and
 * worktrees stay untouched), and the processes that fill it.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import { UserError } from "../../program/errors";

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
