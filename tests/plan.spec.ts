import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stringify } from "yaml";
import { runToolCaptured } from "../shared/tools/cli";
import { PLAN_TOOL } from "../shared/tools/plan";
import { exitCodeFor, PlanReport } from "../shared/tools/plan/report";
import { EARLY_WORKERS_FROM, plan } from "../shared/tools/plan/plan";

const runPlanCli = (argv: string[]) => runToolCaptured(PLAN_TOOL, argv);

const ROOT = path.resolve(__dirname, "..");

function writeStackFile(dir: string, name: string, config: Record<string, unknown>): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, stringify({ config }));
  return file;
}

describe("npm run plan", () => {
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-"))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("prints the resources, the policies and the matrix table on the committed configs, and exits 0", async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    };
    assert.equal(
      pkg.scripts.plan,
      "node --require ./shared/tools/cli/temp-folder.cjs --require tsx/cjs shared/tools/plan/index.ts",
    );
    const r = await runPlanCli([]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /source stack: account 111111111111, us-west-2, \d+ resources/);
    assert.match(r.stdout, /target stack: account 222222222222, us-west-2, \d+ resources/);
    assert.match(r.stdout, /^Bucket policy \(/m);
    assert.match(r.stdout, /\| case +\| principal +\| action +\| expected +\| result +\| ok +\|/);
    assert.match(
      r.stdout,
      /^Service requests \(AWS services and the deployer, for this deployment\): \d+ cases, \d+ as expected, 0 not$/m,
    );
    assert.ok(!r.stdout.includes("✗"));
  });

  it("--json prints exactly the report's shape and the access model, with policies as the JSON strings the program sends", async () => {
    const r = await runPlanCli(["--json"]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as PlanReport & { accessModel: { contract: unknown; policies: unknown } };
    assert.deepEqual(Object.keys(report), ["source", "target", "access", "services", "accessModel"]);
    assert.deepEqual(Object.keys(report.accessModel), ["contract", "policies"]);
    for (const s of [report.source, report.target]) {
      assert.deepEqual(Object.keys(s), ["accountId", "region", "resources", "lookups", "outputs"]);
      for (const res of s.resources) assert.deepEqual(Object.keys(res), ["type", "name", "inputs"]);
      for (const l of s.lookups ?? []) assert.deepEqual(Object.keys(l), ["token", "args"]);
    }
    assert.equal(report.source.accountId, "111111111111");
    assert.equal(report.target.accountId, "222222222222");
    const key = report.source.resources.find((x) => x.type === "aws:kms/key:Key");
    assert.equal(typeof key?.inputs.policy, "string");
    assert.ok((JSON.parse(String(key?.inputs.policy)) as { Statement: unknown[] }).Statement.length > 0);
    for (const a of report.access) {
      const keys = ["case", "principal", "action", "resource", "expected", "result", "ok"];
      // A consumer's case also says how the source side alone answers it; a subtle one cites its AWS page.
      assert.deepEqual(Object.keys(a).slice(0, keys.length), keys);
      assert.deepEqual(
        Object.keys(a).slice(keys.length),
        ["sourceSideAlone", "cites"].filter((k) => k in a),
      );
    }
    assert.ok(report.access.filter((a) => a.principal !== "anonymous").every((a) => a.sourceSideAlone !== undefined));
    assert.ok(report.access.every((a) => a.ok));
    assert.ok(report.services.length >= 13, `${report.services.length} service requests`);
    for (const a of report.services) {
      assert.ok(a.ok, `${a.case}: expected ${a.expected}, got ${a.result}`);
      assert.match(a.cites ?? "", /^https:\/\/docs\.aws\.amazon\.com\//, a.case);
    }
  });

  it("takes other config files: another region, other accounts and two consumers", async () => {
    const source = writeStackFile(dir, "Pulumi.a.yaml", {
      "aws:region": "ap-southeast-2",
      "aws:allowedAccountIds": ["123456789012"],
      "cross-account-s3-kms:side": "source",
      "cross-account-s3-kms:consumers": [
        { accountId: "210987654321", roleName: "reader" },
        { accountId: "345678901234", roleName: "reader" },
      ],
    });
    const target = writeStackFile(dir, "Pulumi.b.yaml", {
      "aws:region": "ap-southeast-2",
      "aws:allowedAccountIds": ["345678901234"],
      "cross-account-s3-kms:side": "target",
      "cross-account-s3-kms:roleName": "reader",
    });
    const r = await runPlanCli(["--source-config", source, "--target-config", target, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as PlanReport;
    assert.equal(report.source.region, "ap-southeast-2");
    assert.equal(report.target.accountId, "345678901234");
    const allowedReaders = new Set(report.access.filter((a) => a.expected === "Allowed").map((a) => a.principal));
    assert.deepEqual([...allowedReaders].sort(), [
      "arn:aws:iam::210987654321:role/reader",
      "arn:aws:iam::345678901234:role/reader",
    ]);
    assert.ok(report.access.every((a) => a.ok));
    const decrypt = report.services.find((a) => /CloudTrail decrypts .* this trail/.test(a.case));
    assert.equal(decrypt?.result, "Allowed", "CloudTrail may decrypt for this trail in another region too");
    assert.ok(
      report.services.every((a) => a.ok),
      "every service request as expected",
    );
  });

  it("exits 2 with the validation message on bad config, and on a missing file", async () => {
    const bad = writeStackFile(dir, "Pulumi.bad.yaml", {
      "aws:region": "us-west-2",
      "aws:allowedAccountIds": ["111111111111"],
      "cross-account-s3-kms:side": "source",
      "cross-account-s3-kms:keyRotationDays": 12,
    });
    const r = await runPlanCli(["--source-config", bad]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /cross-account-s3-kms:keyRotationDays = "12": must be a whole number from 90 to 2560/);
    const missing = await runPlanCli(["--target-config", path.join(dir, "nope.yaml")]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--target-config .*nope\.yaml: no such file/);
    assert.equal((await runPlanCli(["--bogus"])).code, 2);
  });

  it("exits 1 when any case is not as expected", () => {
    const ok = {
      case: "c",
      principal: "p",
      action: "a",
      resource: "r",
      expected: "Denied" as const,
      result: "ImplicitlyDenied" as const,
      ok: true,
    };
    assert.equal(exitCodeFor([ok]), 0);
    assert.equal(exitCodeFor([ok, { ...ok, result: "Allowed", ok: false }]), 1);
  });
});

describe("npm run plan with many consumers", () => {
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-many-"))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("enough for workers from the start: the same policies and matrix as on one thread, every case as expected", async function () {
    this.timeout(120_000);
    const n = EARLY_WORKERS_FROM + 5;
    const consumers = [
      { accountId: "222222222222", roleName: "account-b-role" },
      ...Array.from({ length: n - 1 }, (_, i) => ({
        accountId: String(300000000000 + i),
        roleName: i % 2 ? `reader-${i}` : `writer-${i}`,
        ...(i % 2 ? {} : { access: "read-write", prefixes: [`team-${i % 4}/`] }),
      })),
    ];
    const sourceConfig = writeStackFile(dir, "Pulumi.source.yaml", {
      "aws:region": "us-west-2",
      "aws:allowedAccountIds": ["111111111111"],
      "cross-account-s3-kms:side": "source",
      "cross-account-s3-kms:consumers": consumers,
    });
    const targetConfig = writeStackFile(dir, "Pulumi.target.yaml", {
      "aws:region": "us-west-2",
      "aws:allowedAccountIds": ["222222222222"],
      "cross-account-s3-kms:side": "target",
    });
    const spread = await plan({ sourceConfig, targetConfig });
    const alone = await plan({ sourceConfig, targetConfig, workers: false });
    assert.deepEqual(spread.deployment.policies, alone.deployment.policies);
    assert.deepEqual(spread.report.access, alone.report.access);
    assert.equal(spread.deployment.policies.consumers.length, n);
    assert.ok(spread.report.access.every((r) => r.ok));
  });
});
