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
      const script = step.run.replace(
        /"Pulumi\.\$\{\{ inputs\.stack \}\}\.yaml"/g,
        JSON.stringify(path.join(dir, "Pulumi.target.yaml")),
      );
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

describe("the pull request's access review", () => {
  const preview = (parse(text("preview.yml")) as Workflow).jobs["access-review"].steps ?? [];
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
        'case "$3" in',
        '  plan) printf "Access changes against %s (0123456789ab):\\n%s\\n" "$6" "${STUB_PLAN_TEXT:-No access changes.}"; exit "${STUB_PLAN_EXIT:-0}" ;;',
        '  analyze) echo "analyzer table"; exit "${STUB_ANALYZE_EXIT:-0}" ;;',
        "esac",
        "exit 99",
      ].join("\n"),
      { mode: 0o755 },
    );
    fs.writeFileSync(
      path.join(dir, "gh"),
      [
        "#!/usr/bin/env bash",
        'echo "gh $*" >> "$CALLS"',
        'if [ "$2" = --paginate ]; then echo "${STUB_EXISTING:-}"; fi',
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
    return { status: r.status, stderr: r.stderr, calls: fs.readFileSync(calls, "utf8").trim().split("\n") };
  };

  it("only the review job may assume the analyzer's role and comment, in the preview environment", () => {
    const jobs = (parse(text("preview.yml")) as Workflow).jobs;
    assert.deepEqual(jobs.test.permissions, { contents: "read" });
    assert.deepEqual(jobs["access-review"].permissions, {
      contents: "read",
      "id-token": "write",
      "pull-requests": "write",
    });
    assert.equal(jobs["access-review"].environment, "preview");
    // Untrusted values reach the scripts as environment variables, never spliced into them.
    for (const step of preview) assert.doesNotMatch(step.run ?? "", /\$\{\{/, step.name);
  });

  it("the preview workflow fetches the history, reviews against the PR's base branch, and comments with it", () => {
    const checkout = preview.find((s) => s.uses?.startsWith("actions/checkout@"));
    assert.equal(checkout?.with?.["fetch-depth"], 0);
    const review = preview.find((s) => s.id === "review");
    assert.match(review?.run ?? "", /bash \.ci\/access-review "origin\/\$BASE_REF" "\$RUNNER_TEMP\/access-review\.md"/);
    assert.match(review?.run ?? "", />> "\$GITHUB_STEP_SUMMARY"/);
    assert.ok(preview.some((s) => /bash \.ci\/pr-comment .*"\$RUNNER_TEMP\/access-review\.md"/.test(s.run ?? "")));
  });

  it("writes both sections, skips the analyzer without credentials, and passes only when the plan does", () => {
    const out = path.join(dir, "review.md");
    const ok = run("access-review", ["origin/main", out]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.deepEqual(ok.calls, ["npm run -s plan -- --base origin/main"]);
    const md = fs.readFileSync(out, "utf8");
    assert.ok(md.startsWith("<!-- access-review -->\n## Access review against `origin/main`"), md);
    assert.match(
      md,
      /### Access and policy changes \(npm run plan -- --base origin\/main\): exit 0\n\n```text\nAccess changes against origin\/main/,
    );
    assert.match(
      md,
      /### IAM Access Analyzer \(npm run analyze -- --base origin\/main\): exit skipped\n\n```text\nNo AWS credentials/,
    );
    assert.equal(run("access-review", ["origin/main", out], { STUB_PLAN_EXIT: "1" }).status, 1);
  });

  it("keeps whatever the plan prints inside its fence: backticks, HTML and @-mentions cannot break out", () => {
    const out = path.join(dir, "review.md");
    const hostile = [
      "```",
      "## Approved by security",
      "<img src=x onerror=alert(1)>",
      "@octocat please merge",
      "`````x`````",
    ].join("\n");
    const r = run("access-review", ["origin/main`<b>", out], { STUB_PLAN_TEXT: hostile });
    assert.equal(r.status, 0, r.stderr);
    const md = fs.readFileSync(out, "utf8");
    // The longest run of backticks inside is five: the fence is six, and closes only on its own line.
    const open = md.indexOf("``````text\n");
    assert.ok(open > 0, md);
    const close = md.indexOf("\n``````\n", open);
    assert.ok(close > open, md);
    const inside = md.slice(open, close);
    for (const line of hostile.split("\n")) assert.ok(inside.includes(line), line);
    // Outside the fences, nothing of the plan's output: no heading, HTML or mention it wrote.
    const outside = md.replace(/^(`{3,})text\n[\s\S]*?\n\1\n/gm, "");
    for (const leak of ["Approved by security", "<img", "@octocat", "<b>"]) assert.ok(!outside.includes(leak), leak);
    assert.ok(md.includes("## Access review against `origin/mainb`"), "the base ref keeps only a ref's characters");
  });

  it("runs the analyzer with credentials, fails on its findings, and cuts a long section", () => {
    const out = path.join(dir, "review.md");
    const env = { AWS_ACCESS_KEY_ID: "AKIAEXAMPLE", STUB_ANALYZE_EXIT: "1" };
    const r = run("access-review", ["origin/main", out], env);
    assert.equal(r.status, 1);
    assert.deepEqual(r.calls, ["npm run -s plan -- --base origin/main", "npm run -s analyze -- --base origin/main"]);
    assert.match(fs.readFileSync(out, "utf8"), /IAM Access Analyzer .*: exit 1\n\n```text\nanalyzer table/);
    run("access-review", ["origin/main", out], {
      ...env,
      STUB_PLAN_TEXT: "x".repeat(500),
      ACCESS_REVIEW_SECTION_LIMIT: "100",
    });
    const md = fs.readFileSync(out, "utf8");
    assert.match(md, /\n\.\.\. cut at 100 characters: the job's log has the whole output\n```/);
    assert.ok(md.length < 1000);
  });

  it("posts one comment per PR, and updates it on the next push", () => {
    const env = { GITHUB_REPOSITORY: "o/r", GH_TOKEN: "t" };
    const body = path.join(dir, "body.md");
    fs.writeFileSync(body, "<!-- access-review -->\nreview");
    const first = run("pr-comment", ["7", body], env);
    assert.equal(first.status, 0, first.stderr);
    assert.equal(first.calls[1], `gh api -X POST repos/o/r/issues/7/comments -F body=@${body}`);
    const again = run("pr-comment", ["7", body], { ...env, STUB_EXISTING: "42" });
    assert.equal(again.calls[1], `gh api -X PATCH repos/o/r/issues/comments/42 -F body=@${body}`);
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
