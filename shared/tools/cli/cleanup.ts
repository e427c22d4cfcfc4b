/**
 * What a tool leaves behind if it is stopped: temporary folders and child processes, registered
 * here while they exist. On SIGINT, SIGTERM or SIGHUP (Ctrl-C, `kill`, a CI step's timeout, a
 * closed terminal) the children are stopped, then every other clean-up runs synchronously, and the
 * process exits with 128 + the signal's number (130, 143, 129); on a normal exit the clean-ups run
 * too. A tool that finishes removes its own, and unregisters them.
 */
import type { ChildProcess } from "child_process";
import * as fs from "fs";
import * as os from "os";

const cleanups = new Set<() => void>();
const children = new Set<ChildProcess>();
let installed = false;
let stopping: (() => void) | undefined;

/** True once a signal stopped the tool: what it would still print (its children's deaths as errors) is noise. */
export const isStopping = (): boolean => stopping !== undefined;

/** How long stopped children get to exit before they are killed: until then, they may still write into a folder. */
const CHILD_GRACE_MS = 5_000;

const runAll = (): void => {
  for (const cleanup of [...cleanups]) {
    cleanups.delete(cleanup);
    try {
      cleanup();
    } catch {
      // The others still run: a folder already gone is no reason to leave the rest.
    }
  }
};

const running = (c: ChildProcess): boolean => c.exitCode === null && c.signalCode === null;

/** Stops the children (SIGTERM, then SIGKILL after the grace), then runs the clean-ups and exits. */
function stop(code: number): void {
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    for (const c of children) if (running(c)) c.kill("SIGKILL");
    runAll();
    process.exit(code);
  };
  const alive = [...children].filter(running);
  for (const c of alive) c.kill("SIGTERM");
  setTimeout(finish, CHILD_GRACE_MS);
  void Promise.all(alive.map((c) => new Promise((resolve) => c.once("exit", resolve)))).then(finish);
}

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** Runs the clean-ups on a signal (a second signal cuts the children's grace short) and on exit; once per process. */
export function installCleanup(): void {
  if (installed) return;
  installed = true;
  for (const signal of SIGNALS)
    process.on(signal, () => {
      const code = 128 + os.constants.signals[signal];
      if (stopping) return stopping();
      stopping = () => {
        for (const c of children) if (running(c)) c.kill("SIGKILL");
      };
      stop(code);
    });
  process.on("exit", runAll);
}

/** Registers a clean-up until the returned function is called (which does not run it). */
export function onCleanup(cleanup: () => void): () => void {
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

/** A folder removed when the tool stops; `remove()` removes it now. */
export interface TempTree {
  dir: string;
  remove: () => void;
}

/** Registers dir (already created) for removal; its `remove` removes it and unregisters it. */
export function registerTempTree(dir: string): TempTree {
  const rm = () => fs.rmSync(dir, { recursive: true, force: true });
  const forget = onCleanup(rm);
  return {
    dir,
    remove: () => {
      forget();
      rm();
    },
  };
}

/** Stops a child process if the tool is stopped while it runs; forgotten once it exits. */
export function registerChild(child: ChildProcess): void {
  children.add(child);
  child.once("exit", () => children.delete(child));
}
