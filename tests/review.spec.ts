/**
 * The plan as data: `plan --json` read back by code that must not run the code that wrote it
 * (plan/artifact.ts), and `npm run review`, which evaluates a pull request's access model again.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { UserError } from "../shared/program/errors";
import { runToolCaptured } from "../shared/tools/cli";
import { PLAN_TOOL } from "../shared/tools/plan";
import { MAX_ARTIFACT_BYTES, PlanArtifact, readPlanArtifact } from "../shared/tools/plan/artifact";
import { REVIEW_TOOL } from "../shared/tools/review";
import { REVIEW_MARKER } from "../shared/tools/review/markdown";

interface Resource {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}
const BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy";

let committed: Promise<PlanArtifact> | undefined;
/** The plan's JSON as `npm run plan -- --json` prints it for the committed stack files: planned once, a fresh copy each call. */
async function committedPlanJson(): Promise<PlanArtifact> {
  committed ??= runToolCaptured(PLAN_TOOL, ["--json"]).then((r) => {
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as PlanArtifact;
  });
  return JSON.parse(JSON.stringify(await committed)) as PlanArtifact;
}

/** The resource of the shared bucket's policy in a plan's JSON. */
const bucketPolicyResource = (a: PlanArtifact): Resource => {
  const r = a.source.resources.find(
    (x) => x.type === BUCKET_POLICY && x.inputs.bucket === a.accessModel.contract.bucketName,
  );
  assert.ok(r, "the plan has the bucket's policy");
  return r;
};

describe("the plan's JSON, read back as data", function () {
  this.timeout(120_000);
  let dir: string;
  let planned: PlanArtifact;
  const write = (name: string, value: unknown): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, typeof value === "string" ? value : JSON.stringify(value));
    return file;
  };
  const copy = (): PlanArtifact => JSON.parse(JSON.stringify(planned)) as PlanArtifact;
  const refused = (file: string, message: RegExp) =>
    assert.throws(
      () => readPlanArtifact(file, "--head"),
      (e: unknown) => e instanceof UserError && message.test(e.message) && e.message.startsWith(`--head ${file}`),
    );

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "artifact-"));
    planned = await committedPlanJson();
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("reads what plan --json printed: its resources and the access model it evaluated, never its results", () => {
    const { report, model } = readPlanArtifact(write("plan.json", planned), "--head");
    assert.deepEqual(report.source.resources, planned.source.resources);
    assert.deepEqual(report.target.outputs, planned.target.outputs);
    assert.deepEqual(report.access, [], "the reader evaluates again: the writer's results are not read");
    assert.ok(planned.access.length > 0);
    // The model's bucket policy is the document the bucket policy resource sends.
    assert.deepEqual(model.policies.bucket, JSON.parse(String(bucketPolicyResource(planned).inputs.policy)));
    assert.equal(model.contract.bucketName, planned.accessModel.contract.bucketName);
  });

  it("refuses what is not a plan, naming the file and why", () => {
    refused(path.join(dir, "missing.json"), /cannot read it \(ENOENT\)/);
    refused(dir, /not a regular file/);
    refused(write("text.json", "Approved ✓"), /not JSON/);
    refused(write("empty.json", {}), /not a plan's JSON \(npm run plan -- --json\): source: /);
    const region = copy();
    region.source.region = "us-west-2`<b>";
    refused(write("region.json", region), /source\.region: is not an AWS region/);
    const contract = copy();
    (contract.accessModel.contract as Record<string, unknown>).accountId = "12345";
    refused(write("contract.json", contract), /its contract is invalid: accountId/);
    const big = path.join(dir, "big.json");
    fs.writeFileSync(big, "");
    fs.truncateSync(big, MAX_ARTIFACT_BYTES + 1);
    refused(big, new RegExp(`${MAX_ARTIFACT_BYTES + 1} bytes`));
  });

  it("refuses a statement field the evaluator was not built for: NotPrincipal is not misread as Principal", () => {
    const a = copy();
    const statement = a.accessModel.policies.bucket.Statement[0] as unknown as Record<string, unknown>;
    statement.NotPrincipal = { AWS: "arn:aws:iam::999999999999:root" };
    refused(write("not-principal.json", a), /accessModel\.policies\.bucket\.Statement\.0: .*NotPrincipal/);
  });

  it("refuses an access model that is not what the stacks send: the review shows one, and evaluates the other", () => {
    const bucket = copy();
    bucket.accessModel.policies.bucket.Statement.pop();
    refused(write("bucket.json", bucket), /the bucket policy it evaluates is not the one the source stack sends/);
    const key = copy();
    key.accessModel.policies.key.Statement.reverse();
    refused(write("key.json", key), /the key policy it evaluates is not the one the source stack sends/);
    const identity = copy();
    const own = identity.accessModel.policies.consumers.find(
      (c) => `arn:aws:iam::${c.role.accountId}:role/${c.role.roleName}` === identity.target.outputs.roleArn,
    );
    assert.ok(own, "the target's own role is among the consumers");
    own.identity[0].Statement[0].Action = "s3:*";
    refused(write("identity.json", identity), /the target role's identity policies it evaluates are not/);
    // The same change on both sides is a consistent plan: read, to be evaluated.
    const both = copy();
    const doc = both.accessModel.policies.bucket;
    doc.Statement = doc.Statement.slice(1);
    bucketPolicyResource(both).inputs.policy = JSON.stringify(doc);
    assert.equal(
      readPlanArtifact(write("both.json", both), "--head").model.policies.bucket.Statement.length,
      doc.Statement.length,
    );
  });
});

describe("npm run review: the pull request's plan evaluated again, by this checkout's code", function () {
  this.timeout(180_000);
  let dir: string;
  let planned: PlanArtifact;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "review-"));
    planned = await committedPlanJson();
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const review = async (artifact: PlanArtifact, extra: string[] = []) => {
    const file = path.join(dir, `plan-${Math.random().toString(36).slice(2)}.json`);
    fs.writeFileSync(file, JSON.stringify(artifact));
    return runToolCaptured(REVIEW_TOOL, ["--head", file, "--base-name", "main", ...extra]);
  };
  /** The comment's lead line: the one after the marker and any blank line. */
  const lead = (markdown: string): string => {
    const lines = markdown.split("\n");
    assert.equal(lines[0], REVIEW_MARKER);
    return lines.slice(1).find((l) => l.trim() !== "") ?? "";
  };

  it("finds no access change in the same plan, and passes with the analyzer not set up", async () => {
    const r = await review(planned);
    assert.equal(r.code, 0, r.stderr);
    assert.match(lead(r.stdout), /No access changes/);
    assert.match(lead(r.stdout), /IAM Access Analyzer skipped/);
  });

  it("believes no result in the file: a grant to an outsider the file calls as expected still fails the review", async () => {
    // A case the plan itself expects denied: another account's role reading an object.
    const denied = planned.access.find(
      (c) => c.expected === "Denied" && c.action === "s3:GetObject" && c.principal.startsWith("arn:aws:iam::999"),
    );
    assert.ok(denied, "the matrix has an outsider's read");
    const forged = JSON.parse(JSON.stringify(planned)) as PlanArtifact;
    const doc = forged.accessModel.policies.bucket;
    doc.Statement.push({
      Sid: "Outsider",
      Effect: "Allow",
      Principal: { AWS: denied.principal },
      Action: "s3:GetObject",
      Resource: `${forged.accessModel.contract.bucketArn}/*`,
    });
    bucketPolicyResource(forged).inputs.policy = JSON.stringify(doc);
    // The writer says every case held; the reader does not read that.
    forged.access = forged.access.map((c) => ({ ...c, ok: true }));
    const r = await review(forged);
    assert.equal(r.code, 1, r.stderr);
    assert.match(lead(r.stdout), new RegExp(`${denied.principal.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}.*gains`));
  });

  it("reads the analyzer's folder as data: its checks, or that it could not run", async () => {
    const analyzer = path.join(dir, "analyzer");
    fs.mkdirSync(analyzer);
    fs.writeFileSync(path.join(analyzer, "exit"), "2\n");
    fs.writeFileSync(path.join(analyzer, "stderr"), "analyze: No usable AWS credentials\n");
    const failed = await review(planned, ["--analyzer", analyzer]);
    assert.equal(failed.code, 1, "an analyzer that could not run is not a pass");
    assert.match(lead(failed.stdout), /IAM Access Analyzer could not run/);
    const check = {
      check: "ValidatePolicy",
      stack: "source",
      where: "w",
      policy: "p",
      result: "pass",
      ok: true,
      detail: "",
      calls: 1,
    };
    fs.writeFileSync(path.join(analyzer, "exit"), "0\n");
    fs.writeFileSync(path.join(analyzer, "analyze.json"), JSON.stringify({ checks: [check, check] }));
    const passed = await review(planned, ["--analyzer", analyzer]);
    assert.equal(passed.code, 0, passed.stderr);
    assert.match(lead(passed.stdout), /IAM Access Analyzer: 2 passed/);
  });

  it("refuses a file whose model and resources disagree, before it evaluates anything", async () => {
    const forged = JSON.parse(JSON.stringify(planned)) as PlanArtifact;
    forged.accessModel.policies.bucket.Statement.pop();
    const r = await review(forged);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /the bucket policy it evaluates is not the one the source stack sends/);
    assert.equal(r.stdout, "");
  });
});
