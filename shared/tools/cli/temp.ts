/**
 * The temporary folder: checked once, before a tool starts work that needs it, and the folders a
 * tool makes there, removed when it ends or is stopped (cleanup.ts).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { UserError } from "../../program/errors";
import { registerTempTree, TempTree } from "./cleanup";

// eslint-disable-next-line @typescript-eslint/no-require-imports -- plain CommonJS, which runs before tsx too
const { tempFolderProblem } = require("./temp-folder.cjs") as {
  tempFolderProblem: (dir: string) => string | undefined;
};

/** Where os.tmpdir() took the folder from, as a user would set it. */
function origin(env: NodeJS.ProcessEnv): string {
  const name = ["TMPDIR", "TMP", "TEMP"].find((k) => env[k]);
  return name ? `${name}=${env[name]}` : `the system's temporary folder ${os.tmpdir()}`;
}

/**
 * Throws a UserError unless the temporary folder is an existing folder this user can write to.
 * `what` names the work that needs it, e.g. "plan --base".
 */
export function checkTempFolder(what: string, env: NodeJS.ProcessEnv = process.env): void {
  const problem = tempFolderProblem(os.tmpdir());
  if (problem)
    throw new UserError(
      `${what} needs a temporary folder, and ${origin(env)} ${problem}: set TMPDIR to an existing folder you can write to, or unset it`,
    );
}

/** A new folder in the temporary folder, removed if the tool is stopped; `remove()` removes it sooner. */
export function makeTempTree(prefix: string): TempTree {
  return registerTempTree(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
}
