/**
 * `npm run plan -- --base REF`: the base revision planned with its own code and stack files, in a
 * scratch repository made of this checkout's files, and the access and policy changes against it.
 */
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse, stringify } from "yaml";
import { accessCases, Deployment, evaluateCases, mutate } from "../shared/offline/access";
import { PROJECT_ROOT } from "../shared/program/project";
import { PLAN_TOOL } from "../shared/tools/plan";
import { plan } from "../shared/tools/plan/plan";
import { PlanReport, verdict } from "../shared/tools/plan/report";
import { BasePlan, planBase, startBase } from "../shared/tools/plan/base";
import type { Installer } from "../shared/tools/plan/base-tree";
import { runToolCaptured } from "../shared/tools/cli";
import {
  accessChanges,
  compare,
  humanChanges,
  principalsChanged,
  SOURCE_SIDE_ALONE,
} from "../shared/tools/plan/changes";
import { UserError } from "../shared/program/errors";

const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], { cwd, encoding: "utf8" });

const NEW_CONSUMER = { accountId: "333333333333", roleName: "analytics-reader" };
const NEW_ROLE = `arn:aws:iam::${NEW_CONSUMER.accountId}:role/${NEW_CONSUMER.roleName}`;

/** A repository of this checkout's tracked files: commit 1 as they are, commit 2 grants one more consumer. */
function scratchRepo(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-base-repo-"));
  const files = execFileSync("git", ["ls-files"], { cwd: PROJECT_ROOT, encoding: "utf8" }).split("\n").filter(Boolean);
  for (const f of files) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.copyFileSync(path.join(PROJECT_ROOT, f), path.join(dir, f));
  }
  git(dir, "init", "-q");
  git(dir, "add", "-A");
  git(dir, "commit", "-qm", "base");
  const file = path.join(dir, "Pulumi.source.yaml");
  const doc = parse(fs.readFileSync(file, "utf8")) as { config: Record<string, unknown> };
  const consumers = doc.config["cross-account-s3-kms:consumers"] as unknown[];
  doc.config["cross-account-s3-kms:consumers"] = [...consumers, NEW_CONSUMER];
  fs.writeFileSync(file, stringify(doc));
  git(dir, "commit", "-qam", "grant one more consumer");
  fs.symlinkSync(path.join(PROJECT_ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
  return dir;
}

const rejectsWith = async (p: Promise<unknown>, pattern: RegExp) =>
  assert.rejects(p, (e: unknown) => e instanceof UserError && pattern.test(e.message));

describe("plan --base: access changes against a git revision", function () {
  this.timeout(60_000);
  let repo: string;
  let files: { source: string; target: string };
  let head: PlanReport;
  let deployment: Deployment;
  let base: BasePlan;

  before(async () => {
    repo = scratchRepo();
    files = { source: path.join(repo, "Pulumi.source.yaml"), target: path.join(repo, "Pulumi.target.yaml") };
    // The base in its own process while the head plans here, as the tool runs them.
    const planning = planBase("HEAD~1", files, repo);
    ({ report: head, deployment } = await plan({ sourceConfig: files.source, targetConfig: files.target }));
    base = await planning;
  });
  after(() => fs.rmSync(repo, { recursive: true, force: true }));

  it("plans the base with its own stack file: the new consumer is absent there", () => {
    assert.equal(base.sha, git(repo, "rev-parse", "HEAD~1").trim());
    assert.ok(!base.report.access.some((r) => r.principal === NEW_ROLE));
    assert.ok(head.access.some((r) => r.principal === NEW_ROLE));
  });

  it("lists exactly the new consumer's cases as changed, each absent before, and that consumer as gaining access", () => {
    const changes = compare(base.report, head, base.sha, "HEAD~1");
    const added = head.access.filter(
      (r) => !base.report.access.some((b) => b.case === r.case && b.principal === r.principal),
    );
    assert.ok(added.length > 0);
    const answer = (result: string) => (result === "Allowed" ? "Allowed" : "Denied");
    // Each with its own policies, then on the source side alone.
    assert.deepEqual(
      changes.access.map((c) => [c.case, c.principal, c.before, c.after]),
      added.flatMap((r) => [
        [r.case, r.principal, "absent", answer(r.result)],
        ...(r.sourceSideAlone === undefined
          ? []
          : [[`${r.case} ${SOURCE_SIDE_ALONE}`, r.principal, "absent", answer(r.sourceSideAlone)]]),
      ]),
    );
    assert.deepEqual(principalsChanged(changes.access), { gain: [NEW_ROLE], lose: [] });
    const text = humanChanges(changes, "HEAD~1");
    assert.ok(text.startsWith(`Access changes against HEAD~1 (${base.sha.slice(0, 12)}):`), text);
    assert.match(text, new RegExp(`Principals that gain access: ${NEW_ROLE}`));
  });

  it("diffs each policy that names the consumers: the key policy and the bucket policy gain its account", () => {
    const changes = compare(base.report, head, base.sha, "HEAD~1");
    assert.deepEqual(changes.policies.map((p) => p.policy.split(" ").slice(0, 2).join(" ")).sort(), [
      "source aws:kms/key:Key",
      "source aws:s3/bucketPolicy:BucketPolicy",
    ]);
    for (const p of changes.policies) {
      assert.match(p.diff, /^--- source .* \(HEAD~1\)\n\+\+\+ source .* \(this checkout\)\n@@ /);
      assert.match(p.diff, new RegExp(`^\\+ +"arn:aws:iam::${NEW_CONSUMER.accountId}:root"`, "m"));
    }
  });

  it("reports no changes against the same plan", () => {
    const same = compare(head, head, base.sha, "HEAD");
    assert.deepEqual([same.access, same.policies], [[], []]);
    assert.match(humanChanges(same, "HEAD"), /^No access changes\.$/m);
  });

  it("turns a removed TLS deny into plain HTTP reads that become Allowed, and nothing else", async () => {
    const open = mutate(deployment.policies, {
      bucket: (s) => s.filter((x) => x.Sid !== "DenyInsecureTransport"),
    });
    const after: PlanReport = {
      ...head,
      access: await evaluateCases(open, deployment.contract, accessCases(open, deployment.contract)),
    };
    const changes = accessChanges(head, after);
    assert.ok(changes.length > 0);
    for (const c of changes) {
      assert.match(c.case, /plain HTTP/);
      assert.deepEqual([c.before, c.after], ["Denied", "Allowed"]);
    }
    // Each plain-HTTP read the matrix tries, with its own policies and on the source side alone.
    const plainHttp = head.access.filter((r) => r.case.endsWith("reads over plain HTTP")).length;
    assert.ok(plainHttp > 0);
    assert.equal(changes.length, 2 * plainHttp);
    assert.equal(changes.filter((c) => c.case.endsWith(SOURCE_SIDE_ALONE)).length, plainHttp);
    assert.match(verdict(after), new RegExp(`${plainHttp} not as expected`));
    assert.match(verdict(after), /: not as expected with its own policies and on the source side alone$/m);
  });

  it("lists a case that lost its explicit deny, though still denied, apart from the access changes", () => {
    const explicit = head.access.filter((r) => r.result === "ExplicitlyDenied");
    assert.ok(explicit.length > 0);
    const after: PlanReport = {
      ...head,
      access: head.access.map((r) => (r.result === "ExplicitlyDenied" ? { ...r, result: "ImplicitlyDenied" } : r)),
    };
    const changes = compare(head, after, base.sha, "HEAD");
    assert.deepEqual(changes.access, []);
    assert.deepEqual(
      changes.weakened.map((c) => [c.case, c.principal]),
      explicit.map((r) => [r.case, r.principal]),
    );
    assert.match(humanChanges(changes, "HEAD"), /^Explicit denies lost \(still denied, by something else/m);
  });

  it("plans a base with equal lockfiles beside this checkout's node_modules, and notes one that had its own", () => {
    assert.equal(base.dependencies, "shared");
    const same = compare(head, head, base.sha, "HEAD~1");
    assert.doesNotMatch(humanChanges({ ...same, dependencies: "shared" }, "HEAD~1"), /^Note:/m);
    assert.match(
      humanChanges({ ...same, dependencies: "own" }, "HEAD~1"),
      /^Note: HEAD~1 has another package-lock\.json; it was planned with its own dependencies/m,
    );
  });

  it("refuses a ref that is not a commit, and a base without the stack file, before planning", async () => {
    await rejectsWith(
      planBase("no-such-branch", files, repo),
      /--base no-such-branch: not a commit in this repository/,
    );
    const extra = path.join(repo, "Pulumi.extra.yaml");
    fs.copyFileSync(files.source, extra);
    await rejectsWith(
      planBase("HEAD", { ...files, source: extra }, repo),
      /--base HEAD: the base revision has no Pulumi\.extra\.yaml \(--source-config\)/,
    );
  });

  it("cancels the base's plan when this checkout's config is bad, and exits 2 with that config's message", async () => {
    const bad = path.join(repo, "bad.yaml");
    fs.writeFileSync(bad, stringify({ config: { "aws:region": "us-west-2" } }));
    let aborted = false;
    const started = await startBase("HEAD~1", files, repo);
    started.report.catch((e: unknown) => (aborted = e instanceof Error && e.name === "AbortError"));
    started.cancel();
    await started.report.then(
      () => assert.fail("the cancelled plan answered"),
      () => undefined,
    );
    assert.ok(aborted);
    const r = await runToolCaptured(PLAN_TOOL, ["--base", "HEAD", "--source-config", bad]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^plan: --source-config .*bad\.yaml: /);
  });

  it("says in one sentence why a base cannot be planned: a revision without the plan tool predates the review", async () => {
    git(repo, "rm", "-q", "shared/tools/plan/index.ts");
    git(repo, "commit", "-qm", "no plan tool");
    await rejectsWith(
      planBase("HEAD", files, repo),
      /^--base HEAD \([0-9a-f]{12}\) cannot be planned: that revision has no plan tool \(npm run plan runs shared\/tools\/plan\/index\.ts, which it lacks\), so it predates the access review; compare against a later revision$/,
    );
  });

  it("runs the plan the base's package.json names, and refuses a base whose package.json has no plan script", async () => {
    const pkgFile = path.join(repo, "package.json");
    const pkg = JSON.parse(fs.readFileSync(pkgFile, "utf8")) as { scripts: Record<string, string> };
    delete pkg.scripts.plan;
    fs.writeFileSync(pkgFile, JSON.stringify(pkg, null, 2));
    git(repo, "commit", "-qam", "no plan script");
    await rejectsWith(planBase("HEAD", files, repo), /--base HEAD: package\.json has no "plan" script/);
  });
});

describe("plan --base: the base's process is isolated", function () {
  this.timeout(30_000);
  let repo: string;
  const outside = { source: "/dev/null/source.yaml", target: "/dev/null/target.yaml" };
  /** A revision whose plan script is `node base.js`: the script's own answer stands in for a plan's. */
  const commitBase = (script: string, extra: Record<string, string> = {}) => {
    fs.writeFileSync(path.join(repo, "package.json"), JSON.stringify({ scripts: { plan: "node base.js" } }));
    fs.writeFileSync(path.join(repo, "base.js"), script);
    for (const [f, text] of Object.entries(extra)) fs.writeFileSync(path.join(repo, f), text);
    git(repo, "add", "-A");
    git(repo, "commit", "-qm", "base", "--allow-empty");
  };
  before(() => {
    repo = fs.mkdtempSync(path.join(os.tmpdir(), "plan-base-env-"));
    git(repo, "init", "-q");
  });
  after(() => fs.rmSync(repo, { recursive: true, force: true }));

  it("gets no credential or token of the caller's environment, only what an offline plan needs", async () => {
    // A committed node_modules entry gives way to this checkout's.
    commitBase("process.stdout.write(JSON.stringify({ access: [], services: [], env: process.env }));", {
      node_modules: "not a folder",
    });
    const secrets = {
      AWS_ACCESS_KEY_ID: "AKIAEXAMPLE",
      AWS_SECRET_ACCESS_KEY: "secret",
      AWS_SESSION_TOKEN: "token",
      GH_TOKEN: "ghp_example",
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: "oidc",
      ACTIONS_ID_TOKEN_REQUEST_URL: "https://example.com",
    };
    const saved = { ...process.env };
    Object.assign(process.env, secrets);
    try {
      const base = await planBase("HEAD", outside, repo);
      const env = (base.report as unknown as { env: Record<string, string> }).env;
      for (const k of Object.keys(secrets)) assert.equal(env[k], undefined, k);
      assert.equal(env.PATH, process.env.PATH);
      assert.equal(env.CROSS_ACCOUNT_S3_KMS_PLAN_ONE_CORE, "1");
    } finally {
      for (const k of Object.keys(secrets)) if (saved[k] === undefined) delete process.env[k];
    }
  });

  it("quotes a failed plan's error in one line, without its stack frames, its other output or its tree's path", async () => {
    commitBase(
      [
        'const missing = require("path").join(process.cwd(), "shared", "gone.ts");',
        "process.stderr.write(`/x/register.cjs:22\\n${\"m\".repeat(5000)}\\n\\nError: Cannot find module '${missing}'\\n    at Module._resolveFilename (node:internal/modules/cjs/loader:1225:15)\\n`);",
        "process.exitCode = 1;",
      ].join("\n"),
    );
    await rejectsWith(
      planBase("HEAD", outside, repo),
      /^--base HEAD \([0-9a-f]{12}\) cannot be planned: its plan exited 1: Error: Cannot find module 'shared\/gone\.ts'$/,
    );
    commitBase(
      'process.stderr.write("plan: --source-config x.yaml: not valid YAML\\n  line 2\\n"); process.exitCode = 2;',
    );
    await rejectsWith(
      planBase("HEAD", outside, repo),
      /^--base HEAD \([0-9a-f]{12}\) cannot be planned: its plan exited 2: --source-config x\.yaml: not valid YAML$/,
    );
  });

  it("refuses a report without the cases this plan compares: that revision predates the access review", async () => {
    commitBase("process.stdout.write(JSON.stringify({ access: [] }));");
    await rejectsWith(
      planBase("HEAD", outside, repo),
      /^--base HEAD \([0-9a-f]{12}\) cannot be planned: its plan's report has no cases to compare, so it predates the access review; compare against a later revision$/,
    );
  });

  /** The process environment with these variables set (undefined: removed) while fn runs. */
  const withEnv = async <T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> => {
    const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
    const set = (v: Record<string, string | undefined>) => {
      for (const [k, x] of Object.entries(v))
        if (x === undefined) delete process.env[k];
        else process.env[k] = x;
    };
    set(vars);
    try {
      return await fn();
    } finally {
      set(saved);
    }
  };
  /** A stand-in for npm that records each call and answers with `answer`. */
  const recorder = (answer: (cwd: string, signal: AbortSignal) => Promise<{ code: number | null; stderr: string }>) => {
    const calls: { args: string[]; cwd: string; env: NodeJS.ProcessEnv }[] = [];
    const install: Installer = async (args, cwd, env, signal) => {
      calls.push({ args: [...args], cwd, env });
      return { stdout: "", ...(await answer(cwd, signal)) };
    };
    return { calls, install };
  };
  /** Commits a base with package-lock.json `lock`; the working tree then holds `head` as its lockfile. */
  const commitWithLock = (script: string, lock: string, head = lock) => {
    commitBase(script, { "package-lock.json": lock });
    fs.writeFileSync(path.join(repo, "package-lock.json"), head);
  };
  const answering = (extra: string) =>
    `process.stdout.write(JSON.stringify({ access: [], services: [], cwd: process.cwd(), ${extra} }));`;

  it("links this checkout's node_modules when the lockfiles are equal, and installs nothing", async () => {
    commitWithLock(answering(`modules: require("fs").readlinkSync("node_modules")`), "{}\n");
    const { calls, install } = recorder(() => Promise.resolve({ code: 0, stderr: "" }));
    const base = await planBase("HEAD", outside, repo, { install });
    assert.equal(base.dependencies, "shared");
    assert.deepEqual(calls, []);
    assert.equal((base.report as unknown as { modules: string }).modules, path.join(repo, "node_modules"));
  });

  it("installs the base's own dependencies when its lockfile differs: npm ci without scripts, without credentials", async () => {
    commitWithLock(answering(`marker: require("marker")`), '{ "base": true }\n', '{ "head": true }\n');
    const { calls, install } = recorder((cwd) => {
      fs.mkdirSync(path.join(cwd, "node_modules", "marker"), { recursive: true });
      fs.writeFileSync(
        path.join(cwd, "node_modules", "marker", "index.js"),
        `module.exports = ${JSON.stringify(cwd)};`,
      );
      return Promise.resolve({ code: 0, stderr: "" });
    });
    const secrets = {
      AWS_ACCESS_KEY_ID: "AKIAEXAMPLE",
      AWS_PROFILE: "prod",
      GH_TOKEN: "ghp_example",
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: "oidc",
      ACTIONS_ID_TOKEN_REQUEST_URL: "https://example.com",
      // npm run sets it to the caller's folder: npm ci there would install into this checkout.
      npm_config_local_prefix: PROJECT_ROOT,
      "npm_config_//registry.example.com/:_authToken": "npm-token",
    };
    const registry = "https://registry.example.com/";
    const base = await withEnv({ ...secrets, npm_config_registry: registry, NPM_CONFIG_CACHE: "/var/cache/npm" }, () =>
      planBase("HEAD", outside, repo, { install }),
    );
    assert.equal(base.dependencies, "own");
    assert.equal(calls.length, 1);
    const [{ args, cwd, env }] = calls;
    assert.deepEqual(args, ["ci", "--ignore-scripts", "--no-audit", "--no-fund"]);
    const report = base.report as unknown as { cwd: string; marker: string };
    // The base ran in the tree npm ci installed into, with the package installed there.
    assert.equal(report.cwd, path.join(fs.realpathSync(os.tmpdir()), path.relative(os.tmpdir(), cwd)));
    assert.equal(report.marker, cwd);
    for (const k of Object.keys(secrets)) assert.equal(env[k], undefined, k);
    assert.deepEqual(
      Object.keys(env).filter((k) => /^(AWS_|GH_TOKEN|ACTIONS_ID_TOKEN_REQUEST_)/.test(k)),
      [],
    );
    assert.equal(env.PATH, process.env.PATH);
    assert.equal(env.npm_config_registry, registry);
    assert.equal(env.NPM_CONFIG_CACHE, "/var/cache/npm");
    assert.ok(!fs.existsSync(cwd), "the base's tree, with its node_modules, is removed");
  });

  it("stops with npm's reason when the install fails, and removes the tree, without falling back to this checkout's node_modules", async () => {
    commitWithLock(answering(""), '{ "base": true }\n', '{ "head": true }\n');
    const { calls, install } = recorder(() =>
      Promise.resolve({
        code: 1,
        stderr: [
          "npm error code ENOTCACHED",
          "npm error request to https://registry.npmjs.org/zod failed: cache mode is 'only-if-cached' but no cached response is available.",
          "npm error A complete log of this run can be found in: /root/.npm/_logs/debug-0.log",
        ].join("\n"),
      }),
    );
    await rejectsWith(
      planBase("HEAD", outside, repo, { install }),
      /^--base HEAD \([0-9a-f]{12}\) cannot be planned: its package-lock\.json differs from this checkout's, and `npm ci --ignore-scripts` failed in its tree: request to https:\/\/registry\.npmjs\.org\/zod failed: cache mode is 'only-if-cached' but no cached response is available\.; run plan --base where npm can reach its registry$/,
    );
    assert.equal(calls.length, 1);
    assert.ok(!fs.existsSync(calls[0].cwd));
    // npm that cannot start at all says so the same way.
    const missing = recorder(() => Promise.reject(new Error("spawn npm ENOENT")));
    await rejectsWith(
      planBase("HEAD", outside, repo, { install: missing.install }),
      /`npm ci --ignore-scripts` failed in its tree: spawn npm ENOENT; run plan --base/,
    );
  });

  it("stops an install that runs past the base's time, and says which step it was", async () => {
    commitWithLock(answering(""), '{ "base": true }\n', '{ "head": true }\n');
    const { calls, install } = recorder(
      (_, signal) =>
        new Promise((_resolve, reject) => signal.addEventListener("abort", () => reject(new Error("stopped")))),
    );
    const started = await startBase("HEAD", outside, repo, { timeoutMs: 500, install });
    await rejectsWith(
      started.report,
      /--base HEAD \([0-9a-f]{12}\) cannot be planned: installing its dependencies \(npm ci\) did not finish within 1 s/,
    );
    assert.ok(!fs.existsSync(calls[0].cwd));
  });

  it("runs the real npm ci, which fails offline with an empty cache, and says why", async () => {
    const one = { name: "base", version: "0.1.0", dependencies: { zod: "4.6.7" } };
    commitBase(answering(""), {
      "package.json": JSON.stringify({ ...one, scripts: { plan: "node base.js" } }),
      "package-lock.json": JSON.stringify({
        ...one,
        lockfileVersion: 3,
        packages: { "": one, "node_modules/zod": { version: "4.6.7" } },
      }),
    });
    fs.writeFileSync(path.join(repo, "package-lock.json"), "{}\n");
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), "plan-base-npm-cache-"));
    try {
      // Offline with an empty cache: npm ci fails at its first fetch, without a network.
      await withEnv({ npm_config_offline: "true", npm_config_cache: cache }, () =>
        rejectsWith(
          planBase("HEAD", outside, repo),
          /`npm ci --ignore-scripts` failed in its tree: request to \S+\/zod failed: cache mode is 'only-if-cached'.*; run plan --base where npm can reach its registry$/,
        ),
      );
    } finally {
      fs.rmSync(cache, { recursive: true, force: true });
    }
  });

  it("is stopped when it runs past its time, and says so", async () => {
    commitBase("setTimeout(() => undefined, 60000);");
    const started = await startBase("HEAD", outside, repo, { timeoutMs: 500 });
    await rejectsWith(
      started.report,
      /--base HEAD \([0-9a-f]{12}\) cannot be planned: its plan did not finish within 1 s/,
    );
  });
});
