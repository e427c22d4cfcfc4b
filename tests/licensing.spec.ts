import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..");

/** Every project module the program entry reaches through its imports. */
function reachable(entry: string): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    const src = fs.readFileSync(file, "utf8");
    const specs = [...src.matchAll(/(?:from|import|require\()\s*["']([^"']+)["']/g)].map((m) => m[1]);
    seen.set(file, specs);
    for (const s of specs.filter((x) => x.startsWith("."))) {
      const base = path.resolve(path.dirname(file), s);
      const found = [`${base}.ts`, path.join(base, "index.ts")].find((f) => fs.existsSync(f));
      assert.ok(found, `${file}: cannot resolve ${s}`);
      visit(found);
    }
  };
  visit(entry);
  return seen;
}

describe("licensing", () => {
  it("the program never loads the AGPL policy simulator (a devDependency for tests and tools)", () => {
    const graph = reachable(path.join(ROOT, "shared", "program", "main.ts"));
    assert.ok(graph.size >= 10, `walked ${graph.size} modules`);
    for (const [file, specs] of graph) {
      assert.ok(
        !specs.some((s) => s.startsWith("@cloud-copilot/")),
        `${path.relative(ROOT, file)} imports @cloud-copilot`,
      );
    }
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    assert.ok(!Object.keys(pkg.dependencies).some((d) => d.startsWith("@cloud-copilot/")));
  });
});
