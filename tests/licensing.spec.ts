import { strict as assert } from "assert";
import * as fs from "fs";
import { builtinModules } from "module";
import * as os from "os";
import * as path from "path";
import { RunError } from "@pulumi/pulumi/errors";
import { programEntry } from "../shared/offline/run";
import { UserError } from "../shared/program/errors";

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
    const graph = reachable(programEntry());
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

  it("every package the program imports is a runtime dependency, which `npm ci --omit=dev` installs", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    const packageOf = (spec: string): string =>
      spec
        .split("/")
        .slice(0, spec.startsWith("@") ? 2 : 1)
        .join("/");
    const imported = new Set(
      [...reachable(programEntry()).values()]
        .flat()
        .filter((s) => !s.startsWith(".") && !s.startsWith("node:") && !builtinModules.includes(s))
        .map(packageOf),
    );
    assert.ok(imported.has("@aws-sdk/core"), "the walk saw the program's imports");
    assert.deepEqual(
      [...imported].filter((p) => !(p in pkg.dependencies)),
      [],
    );
  });

  it("the program's library imports neither side: only the entry point stands above both", () => {
    const graph = reachable(programEntry());
    const library = path.join(ROOT, "shared", "program") + path.sep;
    const sides = [path.join(ROOT, "source-account") + path.sep, path.join(ROOT, "target-account") + path.sep];
    const upward = [...graph]
      .filter(([file]) => file.startsWith(library))
      .flatMap(([file, specs]) =>
        specs
          .filter((s) => s.startsWith("."))
          .map((s) => path.resolve(path.dirname(file), s))
          .filter((target) => sides.some((side) => `${target}${path.sep}`.startsWith(side)))
          .map((target) => `${path.relative(ROOT, file)} → ${path.relative(ROOT, target)}`),
      );
    assert.deepEqual(upward, []);
    assert.ok(
      [...graph.keys()].some((f) => f.startsWith(library)),
      "the walk reached the library, so the check means something",
    );
  });
});

describe("the program, as the engine finds it", () => {
  it("is package.json main in Pulumi.yaml's folder, a function the Node.js language host calls", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { main: string };
    assert.equal(programEntry(), path.join(ROOT, pkg.main));
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded by path, as the language host does
    assert.equal(typeof (require(programEntry()) as unknown), "function");
  });

  it("refuses a project that would not load: another name or runtime, or a main that does not exist", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "project-"));
    try {
      const write = (yaml: string, main: string) => {
        fs.writeFileSync(path.join(dir, "Pulumi.yaml"), yaml);
        fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ main }));
      };
      write("name: other\nruntime: nodejs\n", "x.ts");
      assert.throws(() => programEntry(dir), /expected project cross-account-s3-kms on the nodejs runtime/);
      write("name: cross-account-s3-kms\nruntime: python\n", "x.ts");
      assert.throws(() => programEntry(dir), /nodejs runtime/);
      write("name: cross-account-s3-kms\nruntime:\n  name: nodejs\n", "missing.ts");
      assert.throws(() => programEntry(dir), /missing\.ts does not exist/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("errors, as the engine sees them", () => {
  it("a UserError is a Pulumi RunError, so the engine prints its message without a stack trace", () => {
    assert.equal(RunError.isInstance(new UserError("bad config")), true);
    assert.equal(RunError.isInstance(new Error("a bug")), false);
  });
});
