/**
 * Consumers that write and consumers limited to prefixes: the whole program under mocks on a mixed
 * source (a whole-bucket reader, a read-write and a write-only consumer on incoming/, a reader on
 * reports/), every case evaluated with each consumer's own policies and on the source side alone.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse, stringify } from "yaml";
import {
  AccessPolicies,
  AccessResult,
  accessCases,
  captureDeployment,
  Deployment,
  evaluateAlone,
  evaluateOwn,
  evaluateCases,
  expectedCases,
  generatedPolicies,
  mutate,
  vocabularyProblems,
} from "../shared/offline/access";
import { MIXED_SOURCE, TARGET_BASE } from "../shared/offline/fixtures";
import { actionsOf } from "../shared/offline/policy-queries";
import { Statement } from "../shared/program/iam/document";
import { PROJECT_ROOT } from "../shared/program/project";
import { compare, principalsChanged } from "../shared/tools/plan/changes";
import { plan } from "../shared/tools/plan/plan";
import { humanReport } from "../shared/tools/plan/report";

const BUCKET = "arn:aws:s3:::cross-account-s3-kms-111111111111-us-west-2";
const READER = "arn:aws:iam::222222222222:role/account-b-role";
const INGEST = "arn:aws:iam::222222222222:role/ingest-writer";
const REPORTS = "arn:aws:iam::333333333333:role/reports-reader";
const DROP = "arn:aws:iam::444444444444:role/drop-writer";

/** What the mixed source allows, written out: (consumer, action, resource), once per case. */
const allowed = (key: string): string[][] =>
  [
    [READER, "s3:GetObject", `${BUCKET}/hello.txt`],
    [READER, "s3:ListBucket", BUCKET],
    [READER, "kms:Decrypt", key],
    [INGEST, "s3:GetObject", `${BUCKET}/incoming/hello.txt`],
    [INGEST, "s3:AbortMultipartUpload", `${BUCKET}/incoming/hello.txt`],
    [INGEST, "s3:ListBucket", BUCKET],
    [INGEST, "kms:Decrypt", key],
    [INGEST, "s3:PutObject", `${BUCKET}/incoming/hello.txt`],
    [INGEST, "s3:PutObject", `${BUCKET}/incoming/hello.txt`],
    [INGEST, "kms:GenerateDataKey", key],
    [INGEST, "kms:Decrypt", key],
    [REPORTS, "s3:GetObject", `${BUCKET}/reports/hello.txt`],
    [REPORTS, "s3:ListBucket", BUCKET],
    [REPORTS, "kms:Decrypt", key],
    [DROP, "s3:AbortMultipartUpload", `${BUCKET}/incoming/hello.txt`],
    [DROP, "s3:PutObject", `${BUCKET}/incoming/hello.txt`],
    [DROP, "s3:PutObject", `${BUCKET}/incoming/hello.txt`],
    [DROP, "kms:GenerateDataKey", key],
    [DROP, "kms:Decrypt", key],
  ].sort();

const triples = (rs: AccessResult[]) => rs.map((r) => [r.principal, r.action, r.resource]).sort();
const failures = (rs: AccessResult[]) => rs.filter((r) => !r.ok);
const named = (rs: AccessResult[]) => rs.map((r) => [r.principal, r.case]).sort();

describe("writers and prefixes: a mixed source", () => {
  let d: Deployment;
  let results: AccessResult[];
  const run = (p: AccessPolicies) => evaluateCases(p, d.contract, accessCases(p, d.contract));
  /**
   * A mutation's matrix, evaluating again only the cases it can change: a request is judged by its
   * own resource's policy (evaluate.ts, resourcePolicyFor), so a changed bucket policy cannot move
   * a KMS answer, nor a changed key policy an S3 one. The other answers are the unmutated run's.
   */
  const runMutated = async (p: AccessPolicies, changed: "bucket" | "key") => {
    const cases = accessCases(p, d.contract);
    const touched = cases.flatMap((c, i) => (c.action.startsWith(changed === "bucket" ? "s3:" : "kms:") ? [i] : []));
    const again = await evaluateCases(
      p,
      d.contract,
      touched.map((i) => cases[i]),
    );
    const out = [...results];
    touched.forEach((i, j) => (out[i] = again[j]));
    return out;
  };
  before(async () => {
    d = await captureDeployment({ ...MIXED_SOURCE }, { ...TARGET_BASE });
    results = await run(d.policies);
  });

  it("captures the four consumers, each with its own target program's policies", () => {
    assert.deepEqual(
      d.policies.consumers.map((c) => `arn:aws:iam::${c.role.accountId}:role/${c.role.roleName}`),
      [READER, INGEST, REPORTS, DROP],
    );
    assert.match(d.contract.keyArn, /^arn:aws:kms:us-west-2:111111111111:key\/[0-9a-f-]+$/);
  });

  it("every case is as expected, with each consumer's own policies and on the source side alone", () => {
    assert.deepEqual(failures(results), []);
    assert.ok(results.filter((r) => r.principal !== "anonymous").every((r) => r.sourceSideAlone !== undefined));
    assert.equal(expectedCases(d.contract), results.length);
    assert.equal(
      new Set(results.map((r) => JSON.stringify([r.case, r.principal, r.action, r.resource]))).size,
      results.length,
    );
  });

  it("every answer one evaluation implies is the one its own evaluation gives, case by case, both ways", async () => {
    const cases = accessCases(d.policies, d.contract);
    const consumers = cases.flatMap((c, i) => (c.identityOf ? [i] : []));
    assert.ok(consumers.length > 0);
    const own = await Promise.all(consumers.map((i) => evaluateOwn(d.policies, d.contract, cases[i])));
    const alone = await Promise.all(consumers.map((i) => evaluateAlone(d.policies, d.contract, cases[i])));
    assert.deepEqual(
      consumers.map((i) => [results[i].result, results[i].sourceSideAlone]),
      consumers.map((_, k) => [own[k], alone[k]]),
    );
    // Both shortcuts are taken: an Allowed own answer implies the source side's; a denial on the
    // source side (not through the endpoint) implies the own one, explicit or implicit.
    assert.ok(consumers.some((i) => results[i].result === "Allowed"));
    assert.ok(
      consumers.some((i) => !cases[i].request.throughEndpoint && results[i].sourceSideAlone === "ImplicitlyDenied"),
    );
    assert.ok(
      consumers.some((i) => !cases[i].request.throughEndpoint && results[i].sourceSideAlone === "ExplicitlyDenied"),
    );
  });

  it("allows exactly these requests, with the own policies and on the source side alone", () => {
    assert.deepEqual(triples(results.filter((r) => r.result === "Allowed")), allowed(d.contract.keyArn));
    assert.deepEqual(triples(results.filter((r) => r.sourceSideAlone === "Allowed")), allowed(d.contract.keyArn));
  });

  it("every policy the mixed source and its consumers send uses only real actions, operators and condition keys", async () => {
    const problems: string[] = [];
    const consumers = d.policies.consumers.flatMap((c) => [
      ...c.identity.map((doc) => ({ doc, kind: "identity" as const })),
      ...(c.endpoint ? [{ doc: c.endpoint, kind: "endpoint" as const }] : []),
    ]);
    for (const p of [
      ...generatedPolicies(d.source),
      ...consumers.map(({ doc, kind }, i) => ({ where: `consumer policy ${i}`, type: kind, kind, doc })),
    ])
      problems.push(...(await vocabularyProblems(p)));
    assert.equal(consumers.length, 8);
    assert.deepEqual(problems, []);
  });

  it("refuses each writer's and reader's requests just outside its prefixes, and a reader's writes", () => {
    const denied = (principal: string, fragment: string) =>
      results.filter((r) => r.principal === principal && r.case.includes(fragment)).map((r) => [r.resource, r.result]);
    assert.deepEqual(denied(DROP, "outside its prefixes, with SSE-KMS headers"), [
      [`${BUCKET}/incoming-other/hello.txt`, "ImplicitlyDenied"],
      [`${BUCKET}/hello.txt`, "ImplicitlyDenied"],
    ]);
    assert.deepEqual(denied(REPORTS, "over TLS, outside its prefixes"), [
      [`${BUCKET}/reports-other/hello.txt`, "ImplicitlyDenied"],
      [`${BUCKET}/hello.txt`, "ImplicitlyDenied"],
    ]);
    const readersWrites = results.filter((r) => [READER, REPORTS].includes(r.principal) && r.action === "s3:PutObject");
    assert.ok(readersWrites.length >= 4);
    assert.ok(readersWrites.every((r) => r.result !== "Allowed" && r.sourceSideAlone !== "Allowed"));
    // An upload asking for another key, or over plain HTTP, is refused by the bucket policy's guards, for a writer too.
    for (const who of [INGEST, DROP])
      assert.deepEqual(
        results
          .filter((r) => r.principal === who && / (asking for another KMS key|over plain HTTP)$/.test(r.case))
          .filter((r) => r.action === "s3:PutObject")
          .map((r) => [r.result, r.sourceSideAlone]),
        [
          ["ExplicitlyDenied", "ExplicitlyDenied"],
          ["ExplicitlyDenied", "ExplicitlyDenied"],
        ],
      );
  });

  it("the whole-bucket reader in the writer's account is refused a data key", () => {
    const r = results.filter((x) => x.principal === READER && x.action === "kms:GenerateDataKey");
    assert.deepEqual(
      r.map((x) => [x.case, x.result !== "Allowed", x.sourceSideAlone !== "Allowed"]),
      [
        ["consumer asks S3 for a data key to encrypt an upload (a writer's role shares its account)", true, true],
        ["consumer calls kms:GenerateDataKey via S3", true, true],
      ],
    );
  });

  describe("mutation proof: the matrix catches a wider grant", () => {
    const without = (op: string, key: string) => (s: Statement[]) =>
      s.map((x) => {
        const block = x.Condition?.[op];
        if (!block || !(key in block)) return x;
        const rest = Object.fromEntries(Object.entries(block).filter(([k]) => k !== key));
        const others = Object.fromEntries(Object.entries(x.Condition ?? {}).filter(([o]) => o !== op));
        return { ...x, Condition: Object.keys(rest).length > 0 ? { ...others, [op]: rest } : others };
      });

    it("without the bucket policy's s3:prefix condition, listing another prefix or none fails, on the source side alone", async () => {
      const open = await runMutated(mutate(d.policies, { bucket: without("StringLike", "s3:prefix") }), "bucket");
      const failed = failures(open);
      assert.deepEqual(named(failed), [
        [INGEST, "consumer lists another prefix, incoming-other/"],
        [INGEST, "consumer lists the bucket with no prefix"],
        [REPORTS, "consumer lists another prefix, reports-other/"],
        [REPORTS, "consumer lists the bucket with no prefix"],
      ]);
      // The identity policy still narrows the listing: only the source side's evaluation shows the gap.
      assert.ok(failed.every((r) => r.result !== "Allowed" && r.sourceSideAlone === "Allowed"));
    });

    it("a writer's objects widened to the whole bucket fail its requests outside its prefixes", async () => {
      const widen = (s: Statement[]) =>
        s.map((x) =>
          x.Effect === "Allow" && actionsOf(x).includes("s3:PutObject") ? { ...x, Resource: `${BUCKET}/*` } : x,
        );
      const failed = failures(await runMutated(mutate(d.policies, { bucket: widen }), "bucket"));
      assert.deepEqual(named(failed), [
        [INGEST, "consumer calls s3:AbortMultipartUpload on hello.txt, outside its prefixes"],
        [INGEST, "consumer calls s3:AbortMultipartUpload on incoming-other/hello.txt, outside its prefixes"],
        [INGEST, "consumer reads hello.txt over TLS, outside its prefixes"],
        [INGEST, "consumer reads incoming-other/hello.txt over TLS, outside its prefixes"],
        [INGEST, "consumer writes hello.txt, outside its prefixes, with SSE-KMS headers"],
        [INGEST, "consumer writes incoming-other/hello.txt, outside its prefixes, with SSE-KMS headers"],
        [DROP, "consumer calls s3:AbortMultipartUpload on hello.txt, outside its prefixes"],
        [DROP, "consumer calls s3:AbortMultipartUpload on incoming-other/hello.txt, outside its prefixes"],
        [DROP, "consumer writes hello.txt, outside its prefixes, with SSE-KMS headers"],
        [DROP, "consumer writes incoming-other/hello.txt, outside its prefixes, with SSE-KMS headers"],
      ]);
      assert.ok(failed.every((r) => r.result !== "Allowed" && r.sourceSideAlone === "Allowed"));
    });

    it("a reader given kms:GenerateDataKey fails its data-key cases, both ways", async () => {
      const decryptOnly = (x: Statement) => actionsOf(x).length === 1 && actionsOf(x)[0] === "kms:Decrypt";
      const give = (s: Statement[]) =>
        s.map((x) =>
          x.Effect === "Allow" && decryptOnly(x) ? { ...x, Action: ["kms:Decrypt", "kms:GenerateDataKey"] } : x,
        );
      const failed = failures(await run(mutate(d.policies, { key: give, identity: give })));
      assert.deepEqual(named(failed), [
        [READER, "consumer asks S3 for a data key to encrypt an upload (a writer's role shares its account)"],
        [READER, "consumer calls kms:GenerateDataKey via S3"],
        [REPORTS, "consumer calls kms:GenerateDataKey via S3"],
      ]);
      assert.ok(failed.every((r) => r.result === "Allowed" && r.sourceSideAlone === "Allowed"));
    });

    it("without aws:PrincipalArn on the key's writer statements, the reader in the writer's account gets a data key", async () => {
      const writers = (s: Statement[]) => {
        const open = without("ArnEquals", "aws:PrincipalArn");
        return s.map((x) => (actionsOf(x).includes("kms:GenerateDataKey") ? open([x])[0] : x));
      };
      const failed = failures(await runMutated(mutate(d.policies, { key: writers }), "key"));
      assert.deepEqual(named(failed), [
        [READER, "consumer asks S3 for a data key to encrypt an upload (a writer's role shares its account)"],
        [READER, "consumer calls kms:GenerateDataKey via S3"],
        // The writers' statements hold kms:Decrypt too: any role of their accounts could decrypt.
        [`${READER}-other`, "another role in the consumer account decrypts via S3"],
        [`${INGEST}-other`, "another role in the consumer account decrypts via S3"],
        [`${DROP}-other`, "another role in the consumer account decrypts via S3"],
      ]);
      // The reader's own identity policy grants no data key: only the source side's evaluation shows it.
      assert.ok(failed.every((r) => r.sourceSideAlone === "Allowed"));
      assert.ok(failed.filter((r) => r.principal === READER).every((r) => r.result !== "Allowed"));
    });
  });

  it("the plan's report notes that KMS cannot be narrowed per prefix, and ends with its verdict", () => {
    const text = humanReport(
      {
        source: { accountId: "111111111111", region: "us-west-2", resources: [], outputs: {} },
        target: { accountId: "222222222222", region: "us-west-2", resources: [], outputs: {} },
        access: results,
        services: [],
      },
      d,
    );
    assert.match(text, /KMS cannot be narrowed per prefix/);
    assert.match(text, /one KMS key per prefix/);
    assert.match(text, /\| source side alone \|/);
    const last = text.trimEnd().split("\n").pop();
    assert.match(last ?? "", /^This checkout: \d+ access cases and 0 service requests, 0 not as expected\.$/);
  });
});

describe("plan --base: a consumer's access level changed", function () {
  this.timeout(60_000);
  let dir: string;
  const files = { base: "", head: "" };

  /** MIXED_SOURCE's consumers, then two of their levels changed. The base's process is plan-base.spec's to test. */
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-levels-"));
    const doc = parse(fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.source.yaml"), "utf8")) as {
      config: Record<string, unknown>;
    };
    const consumers = JSON.parse(MIXED_SOURCE["cross-account-s3-kms:consumers"]) as Record<string, unknown>[];
    files.base = path.join(dir, "base.yaml");
    fs.writeFileSync(files.base, stringify({ config: { ...doc.config, "cross-account-s3-kms:consumers": consumers } }));
    files.head = path.join(dir, "head.yaml");
    const changed = consumers.map((c) =>
      c.roleName === "ingest-writer"
        ? { ...c, access: "read" }
        : c.roleName === "reports-reader"
          ? { ...c, access: "read-write" }
          : c,
    );
    fs.writeFileSync(files.head, stringify({ config: { ...doc.config, "cross-account-s3-kms:consumers": changed } }));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("reports the upgraded consumer as gaining access and the downgraded one as losing it", async () => {
    const target = path.join(PROJECT_ROOT, "Pulumi.target.yaml");
    const { report: before } = await plan({ sourceConfig: files.base, targetConfig: target, workers: false });
    const { report } = await plan({ sourceConfig: files.head, targetConfig: target, workers: false });
    const changes = compare(before, report, "0".repeat(40), "HEAD~1");
    assert.deepEqual(principalsChanged(changes.access), { gain: [REPORTS], lose: [INGEST] });
    const change = (principal: string, name: string) =>
      changes.access.filter((c) => c.principal === principal && c.case === name).map((c) => [c.before, c.after]);
    assert.deepEqual(
      change(REPORTS, "consumer writes reports/hello.txt with SSE-KMS headers (aws:kms, the key's ARN)"),
      [["Denied", "Allowed"]],
    );
    assert.deepEqual(
      change(INGEST, "consumer writes incoming/hello.txt with SSE-KMS headers (aws:kms, the key's ARN)"),
      [["Allowed", "Denied"]],
    );
    assert.deepEqual(change(INGEST, "consumer asks S3 for a data key to encrypt an upload"), [["Allowed", "absent"]]);
    assert.deepEqual(change(REPORTS, "consumer asks S3 for a data key to encrypt an upload"), [["absent", "Allowed"]]);
  });
});
