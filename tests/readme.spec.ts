/** The README's contents and layout table, checked against the headings and the tree, so they cannot go stale. */
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..");
const README = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
const anchor = (heading: string): string =>
  heading
    .toLowerCase()
    .replace(/[^a-z0-9 -]/g, "")
    .replace(/ /g, "-");

/** The rows of the table under "## Layout": folder → the file names its description puts in backticks. */
function layoutRows(): Map<string, string[]> {
  const section = README.slice(README.indexOf("## Layout"), README.indexOf("\n## ", README.indexOf("## Layout") + 1));
  const rows = new Map<string, string[]>();
  for (const line of section.split("\n").filter((l) => /^\| `/.test(l))) {
    const [, folder, description] = line.split("|").map((c) => c.trim());
    const names = [...description.matchAll(/`([\w.-]+\.(?:ts|sh|yaml|yml|mjs))`/g)].map((m) => m[1]);
    rows.set(folder.replace(/`/g, ""), names);
  }
  return rows;
}

/** Every folder that holds a tracked file, with a trailing slash, the project root left out. */
function trackedFolders(): string[] {
  const files = execFileSync("git", ["ls-files"], { cwd: ROOT, encoding: "utf8" }).split("\n").filter(Boolean);
  return [...new Set(files.map((f) => path.posix.dirname(f)))].filter((d) => d !== ".").map((d) => `${d}/`);
}

describe("README", () => {
  it("lists every section in its contents, in order, with working anchors", () => {
    const headings = [...README.matchAll(/^## (.+)$/gm)].map((m) => m[1]).filter((h) => h !== "Contents");
    const contents = README.slice(
      README.indexOf("## Contents"),
      README.indexOf("\n## ", README.indexOf("## Contents") + 1),
    );
    const listed = [...contents.matchAll(/^- \[(.+)\]\(#(.+)\)$/gm)].map((m) => ({ title: m[1], anchor: m[2] }));
    assert.deepEqual(
      listed.map((l) => l.title),
      headings,
    );
    for (const l of listed) assert.equal(l.anchor, anchor(l.title), l.title);
  });

  it("has a layout row for every folder, and every file a row names exists in its folder", () => {
    const rows = layoutRows();
    assert.deepEqual([...rows.keys()].sort(), trackedFolders().sort(), "the layout table's folders are the tree's");
    for (const [folder, names] of rows) {
      for (const name of names)
        assert.ok(
          fs.existsSync(path.join(ROOT, folder, name)),
          `${folder}${name} is in the README's layout, not in the tree`,
        );
    }
  });

  it("names every source file of shared/, source-account/ and target-account/ in its folder's row", () => {
    for (const [folder, names] of layoutRows()) {
      if (!/^(shared\/|source-account\/$|target-account\/$)/.test(folder)) continue;
      const sources = fs.readdirSync(path.join(ROOT, folder)).filter((f) => /\.(ts|sh|yaml)$/.test(f));
      for (const f of sources) assert.ok(names.includes(f), `${folder}${f} is missing from the README's layout`);
    }
  });
});
