/**
 * The source's sample objects: the files of the `objects` folder, uploaded to a bucket other
 * accounts read. So the folder is inside the project, not hidden (nor git's own .git), and holds no
 * file git ignores (a .env, a build output); each file's name is UTF-8 and a key the boot script can carry.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { configKey, PROJECT_ROOT } from "../project";
import type { Derived } from "./parse";
import { objectKeyProblem } from "./rules";

export interface SampleObject {
  /** S3 key: the file's path under the objects folder, with forward slashes. */
  key: string;
  /** Absolute path of the file. */
  file: string;
}

/** The files of a folder, found by their names' bytes, so a name that is not UTF-8 is reported rather than mangled. */
interface Listing {
  objects: SampleObject[];
  /** Names (relative paths, shown escaped) that are not valid UTF-8. */
  notUtf8: string[];
  /** Hidden folders inside the folder, relative paths. */
  hidden: string[];
}

const isUtf8 = (name: Buffer): boolean => Buffer.from(name.toString("utf8"), "utf8").equals(name);

/** A name as text, with each byte that is not UTF-8 shown as \xNN. */
function shown(name: Buffer): string {
  let out = "";
  for (let i = 0; i < name.length;) {
    const len = [1, 2, 3, 4].find((n) => isUtf8(name.subarray(i, i + n)));
    if (len === undefined) out += `\\x${name[i++].toString(16).padStart(2, "0")}`;
    else out += name.subarray(i, (i += len)).toString("utf8");
  }
  return out;
}

/** Lists the files under a folder, recursively, as S3 keys sorted by key; symbolic links are skipped. */
export function listSampleObjects(dir: string): Listing {
  const listing: Listing = { objects: [], notUtf8: [], hidden: [] };
  const walk = (abs: Buffer, rel: string[], relOk: boolean): void => {
    for (const name of fs.readdirSync(abs, { encoding: "buffer" })) {
      const full = Buffer.concat([abs, Buffer.from(path.sep), name]);
      const stat = fs.lstatSync(full);
      const ok = relOk && isUtf8(name);
      const relPath = [...rel, ok ? name.toString("utf8") : shown(name)];
      if (stat.isDirectory() && name[0] === 0x2e) listing.hidden.push(relPath.join("/"));
      else if (stat.isDirectory()) walk(full, relPath, ok);
      else if (stat.isFile() && !ok) listing.notUtf8.push(relPath.join("/"));
      else if (stat.isFile()) listing.objects.push({ key: relPath.join("/"), file: full.toString("utf8") });
    }
  };
  walk(Buffer.from(dir), [], true);
  listing.objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return listing;
}

/** The first hidden segment of a path relative to the project ("" and ".." are not names). */
const hiddenSegment = (rel: string): string | undefined =>
  rel.split(path.sep).find((s) => s.startsWith(".") && s !== "." && s !== "..");

/**
 * The files under a project folder that git ignores, as paths relative to that folder; or why git
 * could not say. One call to git, from the project root.
 */
export function gitIgnored(root: string, relDir: string): { ignored: string[] } | { unknown: string } {
  const r = spawnSync(
    "git",
    ["-C", root, "ls-files", "--others", "--ignored", "--exclude-standard", "-z", "--", relDir],
    { encoding: "utf8" },
  );
  if (r.error) return { unknown: `git could not be run (${r.error.message})` };
  if (r.status !== 0) {
    const why = r.stderr.trim().split("\n")[0] || `git exited with ${String(r.status)}`;
    return { unknown: /not a git repository/.test(why) ? `the project (${root}) is not in a git repository` : why };
  }
  const prefix = relDir.split(path.sep).join("/") + "/";
  return {
    ignored: r.stdout
      .split("\0")
      .filter((f) => f.startsWith(prefix))
      .map((f) => f.slice(prefix.length)),
  };
}

/**
 * The sample objects of the `objects` setting, with the problems that refuse it and a note when
 * git could not say which files it ignores (then only hidden folders are refused).
 */
export function sampleObjects(setting: string): Derived<SampleObject[]> & { note?: string } {
  const dir = path.resolve(PROJECT_ROOT, setting);
  const where = `${configKey("objects")} = ${JSON.stringify(setting)}`;
  const refuse = (problem: string) => ({ value: [], problems: [`${where}: ${problem}`] });
  const hiddenNamed = hiddenSegment(path.relative(PROJECT_ROOT, dir));
  if (hiddenNamed !== undefined) return refuse(hiddenProblem(hiddenNamed));
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory())
    return refuse(`must be an existing folder (relative to the project root, ${PROJECT_ROOT})`);
  const root = fs.realpathSync(PROJECT_ROOT);
  const inside = path.relative(root, fs.realpathSync(dir));
  if (inside === "" || inside.startsWith("..") || path.isAbsolute(inside))
    return refuse(
      `must be a folder inside the project (${PROJECT_ROOT}), so only files you chose are uploaded to a bucket other accounts read`,
    );
  const hiddenReal = hiddenSegment(inside);
  if (hiddenReal !== undefined)
    return refuse(`is ${inside} once links are followed, which ${hiddenProblem(hiddenReal)}`);

  const { objects, notUtf8, hidden } = listSampleObjects(dir);
  const problems: string[] = [];
  if (objects.length === 0 && notUtf8.length === 0)
    problems.push(`${where}: must contain at least one file, so the target has an object to copy`);
  for (const h of hidden)
    problems.push(`${where}: contains the hidden folder ${JSON.stringify(h)}; move it out of the folder`);
  for (const f of notUtf8)
    problems.push(
      `${where}: file ${JSON.stringify(f)} has a name that is not valid UTF-8, which an S3 key must be; rename it`,
    );
  for (const o of objects) {
    const problem = objectKeyProblem(o.key);
    if (problem) problems.push(`${where}: file ${JSON.stringify(o.key)} gives an S3 key that ${problem}; rename it`);
  }
  const git = gitIgnored(root, inside);
  if ("unknown" in git)
    return {
      value: objects,
      problems,
      note: `${where}: cannot ask git which files it ignores: ${git.unknown}; only hidden folders were refused`,
    };
  const ignored = new Set(git.ignored);
  for (const o of objects.filter((o) => ignored.has(o.key)))
    problems.push(
      `${where}: file ${JSON.stringify(o.key)} is ignored by git (git check-ignore -v ${path.join(inside, o.key)} says why): move it out, or stop ignoring it, so only files you track are uploaded`,
    );
  return { value: objects, problems };
}

function hiddenProblem(segment: string): string {
  return segment === ".git"
    ? "is inside .git, git's own store: choose a folder of files you chose to publish"
    : `is a hidden folder (${segment}): choose a visible folder of files you chose to publish`;
}
