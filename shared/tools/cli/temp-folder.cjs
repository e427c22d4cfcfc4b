/**
 * The temporary folder's rule, in plain CommonJS: every tool's script loads this file before tsx
 * (node --require), and tsx caches compiled files in the temporary folder, where it cannot create
 * its cache it stops with its own minified source. So without a usable folder tsx runs uncached
 * (TSX_DISABLE_CACHE), and the tools that need the folder say what is wrong (temp.ts).
 * With a usable folder, Node.js's module compile cache goes there too: the next start of a tool
 * reuses V8's compiled code of Pulumi's SDK and the rest (module.enableCompileCache, Node.js 22.1+).
 */
"use strict";
const fs = require("fs");
const os = require("os");

/** Why dir cannot hold temporary files ("does not exist", ...), or undefined when it can. */
function tempFolderProblem(dir) {
  let stat;
  try {
    stat = fs.statSync(dir);
  } catch (e) {
    return e.code === "ENOENT" ? "does not exist" : `cannot be read (${e.code})`;
  }
  if (!stat.isDirectory()) return "is not a folder";
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch {
    return "is not writable";
  }
  return undefined;
}

if (tempFolderProblem(os.tmpdir()) !== undefined) process.env.TSX_DISABLE_CACHE = "1";
else require("module").enableCompileCache?.();

module.exports = { tempFolderProblem };
