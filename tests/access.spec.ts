import { strict as assert } from "assert";
import {
  AccessCase,
  AccessPolicies,
  AccessResult,
  accessCases,
  CaptureHelpers,
  ConsumerRuns,
  takeNext,
  canDownload,
  captureDeployment,
  Deployment,
  evaluate,
  evaluateAll,
  evaluateCases,
  expectedCases,
  MatrixWorkers,
  generatedPolicies,
  mutate,
  serviceCases,
  Principal,
  vocabularyProblems,
} from "../shared/offline/access";
import { RawConfig } from "../shared/program/config";
import { Consumer } from "../shared/program/iam/arn";
import { policyDocument, Statement } from "../shared/program/iam/document";
import { actionsOf } from "../shared/offline/policy-queries";
import { committedConfig, manyConsumers, MIXED_SOURCE, sourceGranting } from "../shared/offline/fixtures";
import { ArnMatches, Explain, remember, simulatorMemo } from "../shared/offline/access/simulator-memo";
import { READER_NEVER, READER_NEVER_BUCKET, READER_NEVER_KMS, READER_NEVER_OBJECT } from "./never-granted";

const SOURCE = committedConfig("source");
const TARGET = committedConfig("target");

const grants = (action: string) => (s: Statement) => s.Effect === "Allow" && actionsOf(s).includes(action);
const hasConditionKey = (s: Statement, k: string) => Object.values(s.Condition ?? {}).some((block) => k in block);

/** The consumer the target config deploys, read from that config. */
const consumerOf = (target: RawConfig): Principal => ({
  accountId: (JSON.parse(target["aws:allowedAccountIds"]) as string[])[0],
  roleName: target["cross-account-s3-kms:roleName"],
});

async function assertMatrixHolds(d: Deployment): Promise<void> {
  const results = await evaluateCases(d.policies, d.contract, accessCases(d.policies, d.contract));
  const failures = results.filter((r) => !r.ok);
  assert.deepEqual(failures, [], `cases not as expected:\n${JSON.stringify(failures, null, 2)}`);
}

describe("access model: the committed configs", () => {
  let d: Deployment;
  before(async () => (d = await captureDeployment(SOURCE, TARGET)));

  it("every case of the matrix evaluates as expected", async () => {
    await assertMatrixHolds(d);
  });

  it("the matrix allows the consumer each object, listing and decrypt, and the denials hold", async () => {
    const cases = accessCases(d.policies, d.contract);
    const allowed = cases.filter((c) => c.expected === "Allowed");
    assert.deepEqual(
      allowed.map((c) => `${c.case} ${c.action} ${c.resource}`),
      [
        ...d.contract.objectKeys.map((k) => `consumer reads ${k} over TLS s3:GetObject ${d.contract.bucketArn}/${k}`),
        `consumer lists the bucket s3:ListBucket ${d.contract.bucketArn}`,
        `consumer decrypts via S3 in the stack's region kms:Decrypt ${d.contract.keyArn}`,
      ],
    );
    const results = await evaluateCases(d.policies, d.contract, cases);
    assert.ok(
      results.some((r) => r.result === "ExplicitlyDenied"),
      "the TLS denies decide some cases",
    );
    assert.ok(results.filter((r) => r.expected === "Denied").length >= 15);
  });

  it("denies the consumer each action a reader must never have: on an object, the bucket, or the key via S3", () => {
    const cases = accessCases(d.policies, d.contract).filter((c) => c.case.startsWith("consumer calls "));
    const object = `${d.contract.bucketArn}/${d.contract.objectKeys[0]}`;
    const viaS3 = { region: d.contract.region, bucketArn: d.contract.bucketArn };
    assert.deepEqual(
      cases.map((c) => [c.case, c.action, c.resource, c.expected]).sort(),
      [
        ...READER_NEVER_OBJECT.map((a) => [`consumer calls ${a}`, a, object, "Denied"]),
        ...READER_NEVER_BUCKET.map((a) => [`consumer calls ${a}`, a, d.contract.bucketArn, "Denied"]),
        ...READER_NEVER_KMS.map((a) => [`consumer calls ${a} via S3`, a, d.contract.keyArn, "Denied"]),
        ["consumer calls kms:Decrypt directly", "kms:Decrypt", d.contract.keyArn, "Denied"],
      ].sort(),
    );
    for (const c of cases.filter((x) => READER_NEVER_KMS.includes(x.action)))
      assert.deepEqual(c.request.viaS3, viaS3, c.case);
    // Not through the endpoint: only the bucket and identity policies may deny them.
    for (const c of cases.filter((x) => x.action.startsWith("s3:")))
      assert.notEqual(c.request.throughEndpoint, true, c.case);
  });

  it("fails every never-granted case and the reader's uploads, and nothing else, when the grant widens to s3:* and kms:*", async () => {
    const widen = (s: Statement[]) =>
      s.map((x) =>
        x.Effect === "Allow" && actionsOf(x).some((a) => ["s3:GetObject", "s3:ListBucket", "kms:Decrypt"].includes(a))
          ? { ...x, Action: actionsOf(x).some((a) => a.startsWith("s3:")) ? "s3:*" : "kms:*" }
          : x,
      );
    const wide = mutate(d.policies, { bucket: widen, key: widen, identity: widen });
    const failed = (await evaluateCases(wide, d.contract, accessCases(wide, d.contract))).filter((r) => !r.ok);
    const never = failed.filter((r) => r.case.startsWith("consumer calls "));
    assert.deepEqual(never.map((r) => r.action).sort(), [...READER_NEVER].sort());
    // And the reader's uploads in its scope, with and without encryption headers.
    const object = d.contract.objectKeys[0];
    assert.deepEqual(
      failed.filter((r) => !never.includes(r)).map((r) => [r.case, r.action]),
      [
        [`consumer writes ${object} with SSE-KMS headers (aws:kms, the key's ARN)`, "s3:PutObject"],
        [`consumer writes ${object} with no encryption header (the bucket's default)`, "s3:PutObject"],
      ],
    );
  });

  it("counts its cases before the targets run, to decide on worker threads", () => {
    assert.equal(expectedCases(d.contract), accessCases(d.policies, d.contract).length);
  });

  it("the consumer's read passes through its VPC's gateway endpoint policy", async () => {
    const me = consumerOf(TARGET);
    const c = d.policies.consumers.find((x) => x.role.roleName === me.roleName);
    assert.ok(c?.endpoint, "the private network has a gateway endpoint");
    const read = {
      principal: me,
      action: "s3:GetObject",
      resource: `${d.contract.bucketArn}/${d.contract.objectKeys[0]}`,
      resourceAccount: d.contract.accountId,
      throughEndpoint: true,
    };
    assert.equal(await evaluate(d.policies, d.contract, read, c.identity, c.endpoint), "Allowed");
    const closed = { ...c.endpoint, Statement: c.endpoint.Statement.filter((s) => !grants("s3:GetObject")(s)) };
    assert.notEqual(await evaluate(d.policies, d.contract, read, c.identity, closed), "Allowed");
  });

  it("the matrix sends the consumer's reads over TLS through its VPC's gateway endpoint policy", async () => {
    const me = consumerOf(TARGET);
    const reads = async (p: AccessPolicies) =>
      (await evaluateCases(p, d.contract, accessCases(p, d.contract)))
        .filter(
          (r) =>
            r.principal === `arn:aws:iam::${me.accountId}:role/${me.roleName}` && / reads .* over TLS$/.test(r.case),
        )
        .map((r) => r.result);
    assert.deepEqual(
      await reads(d.policies),
      d.contract.objectKeys.map(() => "Allowed"),
    );
    const closed = await reads(mutate(d.policies, { endpoint: (s) => s.filter((x) => x.Effect !== "Allow") }));
    assert.equal(closed.length, d.contract.objectKeys.length);
    assert.ok(
      closed.every((r) => r !== "Allowed"),
      closed.join(", "),
    );
  });

  describe("guard rails", () => {
    it("every generated policy uses only real actions, operators and condition keys", async () => {
      const problems: string[] = [];
      for (const run of [d.source, d.target])
        for (const p of generatedPolicies(run)) problems.push(...(await vocabularyProblems(p)));
      assert.deepEqual(problems, []);
      assert.ok(generatedPolicies(d.source).length >= 3 && generatedPolicies(d.target).length >= 3);
    });

    it("a misspelt action, operator or condition key is reported, not silently never matched", async () => {
      const statements: Statement[] = [
        { Sid: "A", Effect: "Deny", Principal: "*", Action: "s3:GetObjects", Resource: "arn:aws:s3:::b/*" },
        {
          Sid: "B",
          Effect: "Deny",
          Principal: "*",
          Action: "s3:*",
          Resource: "arn:aws:s3:::b/*",
          Condition: { Bool: { "aws:SecureTransprot": "false" } },
        },
        {
          Sid: "C",
          Effect: "Deny",
          Principal: "*",
          Action: "s3:*",
          Resource: "arn:aws:s3:::b/*",
          Condition: { StringEqual: { "aws:PrincipalArn": "x" } },
        },
      ];
      const doc = policyDocument(statements);
      const problems = await vocabularyProblems({
        where: "fixture",
        type: "aws:s3/bucketPolicy:BucketPolicy",
        kind: "resource",
        doc,
      });
      assert.ok(
        problems.some((p) => p.includes("A: action s3:GetObjects does not exist")),
        problems.join("\n"),
      );
      assert.ok(
        problems.some((p) => p.includes("B: condition key aws:SecureTransprot does not exist")),
        problems.join("\n"),
      );
      assert.ok(
        problems.some((p) => p.includes("C: condition operator StringEqual does not exist")),
        problems.join("\n"),
      );
    });
  });

  describe("mutation proof: each part is necessary", () => {
    const me = consumerOf(TARGET);
    const object = () => d.contract.objectKeys[0];
    const download = (p: AccessPolicies, who: Principal = me) => canDownload(p, d.contract, who, me, object());

    it("the consumer can download as deployed", async () => {
      assert.equal(await download(d.policies), true);
    });

    it("without the bucket policy's read grant, the download is denied", async () => {
      assert.equal(
        await download(mutate(d.policies, { bucket: (s) => s.filter((x) => !grants("s3:GetObject")(x)) })),
        false,
      );
    });

    it("without the key policy's decrypt grant, the download is denied", async () => {
      assert.equal(
        await download(mutate(d.policies, { key: (s) => s.filter((x) => !grants("kms:Decrypt")(x)) })),
        false,
      );
    });

    it("without the identity policy's read statement, the download is denied", async () => {
      assert.equal(
        await download(mutate(d.policies, { identity: (s) => s.filter((x) => !grants("s3:GetObject")(x)) })),
        false,
      );
    });

    it("without the identity policy's decrypt statement, the download is denied", async () => {
      assert.equal(
        await download(mutate(d.policies, { identity: (s) => s.filter((x) => !grants("kms:Decrypt")(x)) })),
        false,
      );
    });

    it("without the TLS deny, a plain-HTTP read becomes allowed", async () => {
      const http = {
        principal: me,
        action: "s3:GetObject",
        resource: `${d.contract.bucketArn}/${object()}`,
        resourceAccount: d.contract.accountId,
        tls: "none" as const,
      };
      const identity = d.policies.consumers.find((c) => c.role.roleName === me.roleName)?.identity ?? [];
      assert.notEqual(await evaluate(d.policies, d.contract, http, identity), "Allowed");
      const open = mutate(d.policies, { bucket: (s) => s.filter((x) => !hasConditionKey(x, "aws:SecureTransport")) });
      assert.equal(await evaluate(open, d.contract, http, identity), "Allowed");
    });

    it("without the aws:PrincipalArn condition, another role in the consumer account can download", async () => {
      const other = { accountId: me.accountId, roleName: `${me.roleName}-other` };
      assert.equal(await download(d.policies, other), false);
      const dropPrincipalArn = (s: Statement[]) =>
        s.map((x) => {
          if (!x.Condition?.ArnEquals) return x;
          const { ArnEquals, ...rest } = x.Condition;
          const remaining = Object.fromEntries(Object.entries(ArnEquals).filter(([k]) => k !== "aws:PrincipalArn"));
          return { ...x, Condition: Object.keys(remaining).length ? { ...rest, ArnEquals: remaining } : rest };
        });
      assert.equal(
        await download(mutate(d.policies, { bucket: dropPrincipalArn, key: dropPrincipalArn }), other),
        true,
      );
    });
  });
});

describe("service requests: what AWS services and the deployer ask for this deployment", () => {
  let d: Deployment;
  before(async () => (d = await captureDeployment(SOURCE, TARGET)));
  const run = (p: AccessPolicies) => evaluateCases(p, d.contract, serviceCases(p, d.contract));
  const byService = (service: string, action: string) => (s: Statement) =>
    s.Principal !== undefined &&
    s.Principal !== "*" &&
    s.Principal.Service === service &&
    actionsOf(s).includes(action);

  it("every one is as expected, and cites the AWS page its request comes from", async () => {
    const results = await run(d.policies);
    assert.ok(results.length >= 13, `${results.length} cases`);
    for (const r of results) {
      assert.ok(r.ok, `${r.case}: expected ${r.expected}, got ${r.result}`);
      assert.match(r.cites ?? "", /^https:\/\/docs\.aws\.amazon\.com\//, r.case);
    }
    for (const action of ["kms:GenerateDataKey", "kms:DescribeKey", "kms:Decrypt", "s3:GetBucketAcl", "s3:PutObject"]) {
      const expected = (whose: string) =>
        results
          .filter((r) => r.principal === `cloudtrail.amazonaws.com (${whose})` && r.action === action)
          .map((r) => r.expected);
      assert.ok(expected("this trail").includes("Allowed"), `${action}: this trail`);
      assert.deepEqual(expected("another trail of the account"), ["Denied"], `${action}: another trail`);
    }
  });

  it("the log bucket refuses a CloudTrail write that asks for SSE-S3 or SSE-C instead of its SSE-KMS key", async () => {
    const results = await run(d.policies);
    const writes = results.filter((r) => / log file asking for /.test(r.case));
    assert.deepEqual(
      writes.map((r) => [r.case, r.result]),
      [
        ["CloudTrail writes this trail's log file asking for AES256", "ExplicitlyDenied"],
        ["CloudTrail writes this trail's log file asking for a customer-provided key (SSE-C)", "ExplicitlyDenied"],
      ],
    );
    // The write the trail really makes, aws:kms with its key, stays allowed.
    const kms = results.find(
      (r) => r.case === "CloudTrail writes this trail's log file, bucket-owner-full-control, SSE-KMS",
    );
    assert.equal(kms?.result, "Allowed");
    // Without the log bucket's encryption denies, CloudTrailWrite would admit both.
    const open = await run(
      mutate(d.policies, {
        logs: (s) => s.filter((x) => !(x.Effect === "Deny" && actionsOf(x).includes("s3:PutObject"))),
      }),
    );
    assert.deepEqual(
      open.filter((r) => !r.ok).map((r) => r.case),
      writes.map((r) => r.case),
    );
  });

  it("without CloudTrail's Decrypt statement (the Bucket Key needs it), creating the trail would fail", async () => {
    const results = await run(
      mutate(d.policies, { key: (s) => s.filter((x) => !byService("cloudtrail.amazonaws.com", "kms:Decrypt")(x)) }),
    );
    const failed = results.filter((r) => !r.ok).map((r) => r.case);
    assert.deepEqual(failed, ["CloudTrail decrypts with the key for this trail (the log bucket has a Bucket Key)"]);
  });

  it("without the log bucket's write statement, CloudTrail cannot deliver its logs", async () => {
    const results = await run(
      mutate(d.policies, { logs: (s) => s.filter((x) => !byService("cloudtrail.amazonaws.com", "s3:PutObject")(x)) }),
    );
    assert.deepEqual(
      results.filter((r) => !r.ok).map((r) => r.case),
      ["CloudTrail writes this trail's log file, bucket-owner-full-control, SSE-KMS"],
    );
  });

  it("a deny that also caught header-less or matching uploads would block the program's own", async () => {
    // StringNotEquals without its Null guard denies when the header is absent; here it denies the matching key too.
    const strict = (s: Statement[]) =>
      s.map((x) =>
        x.Sid === "DenyOtherKmsKey"
          ? {
              ...x,
              Condition: { StringNotEquals: { "s3:x-amz-server-side-encryption-aws-kms-key-id": "arn:aws:kms:none" } },
            }
          : x,
      );
    const results = await run(mutate(d.policies, { bucket: strict }));
    assert.ok(results.some((r) => !r.ok && r.case.startsWith("the deployer uploads")));
  });
});

describe("access model: another region, other accounts and two consumers", () => {
  it("every case holds for both consumers, with listing off", async () => {
    const source: RawConfig = {
      "aws:region": "eu-west-1",
      "aws:allowedAccountIds": '["444444444444"]',
      "cross-account-s3-kms:side": "source",
      "cross-account-s3-kms:allowListBucket": "false",
      "cross-account-s3-kms:consumers": JSON.stringify([
        { accountId: "555555555555", roleName: "etl-reader" },
        { accountId: "666666666666", roleName: "audit-reader" },
      ]),
    };
    const target: RawConfig = {
      "aws:region": "eu-west-1",
      "aws:allowedAccountIds": '["555555555555"]',
      "cross-account-s3-kms:side": "target",
      "cross-account-s3-kms:roleName": "etl-reader",
    };
    const d = await captureDeployment(source, target);
    assert.deepEqual(
      d.policies.consumers.map((c) => `${c.role.accountId}/${c.role.roleName}`),
      ["555555555555/etl-reader", "666666666666/audit-reader"],
    );
    const cases = accessCases(d.policies, d.contract);
    assert.ok(cases.some((c) => c.case.includes("lists the bucket") && c.expected === "Denied"));
    // Both share the grant's statements: the never-granted actions, and KMS not via S3, are tried as the first alone.
    for (const name of ["consumer calls s3:PutObject", "consumer calls kms:Decrypt directly"])
      assert.deepEqual(
        cases.filter((c) => c.case === name).map((c) => c.principal),
        ["arn:aws:iam::555555555555:role/etl-reader"],
      );
    assert.equal(cases.filter((c) => c.case.startsWith("consumer calls ")).length, READER_NEVER.length + 1);
    // Who else may act is tried for each.
    assert.deepEqual(
      cases.filter((c) => c.case === "a role in an unrelated account reads").map((c) => c.principal),
      ["arn:aws:iam::999999999999:role/etl-reader", "arn:aws:iam::999999999999:role/audit-reader"],
    );
    assert.equal(expectedCases(d.contract), cases.length);
    await assertMatrixHolds(d);
  });
});

describe("access model: a set's Denied cases, run for its first consumer alone", () => {
  const source: RawConfig = {
    ...SOURCE,
    "cross-account-s3-kms:consumers": JSON.stringify([
      { accountId: "222222222222", roleName: "account-b-role" },
      { accountId: "777777777777", roleName: "second-reader" },
    ]),
  };
  const second = "arn:aws:iam::777777777777:role/second-reader";
  const direct = "consumer calls kms:Decrypt directly";

  it("run for another consumer of the set when the captured policies name it in other statements", async () => {
    const d = await captureDeployment(source, TARGET);
    assert.deepEqual(
      accessCases(d.policies, d.contract)
        .filter((c) => c.case === direct)
        .map((c) => c.principal),
      ["arn:aws:iam::222222222222:role/account-b-role"],
    );
    // A statement of its own, without the via-S3 condition: the second consumer may decrypt directly.
    const widened = mutate(d.policies, {
      key: (st) => [
        ...st,
        {
          Sid: "SecondReaderDirect",
          Effect: "Allow",
          Principal: { AWS: "arn:aws:iam::777777777777:root" },
          Action: "kms:Decrypt",
          Resource: "*",
          Condition: { ArnEquals: { "aws:PrincipalArn": second } },
        },
      ],
    });
    const cases = accessCases(widened, d.contract);
    assert.deepEqual(
      cases.filter((c) => c.case === direct).map((c) => c.principal),
      ["arn:aws:iam::222222222222:role/account-b-role", second],
    );
    const results = await evaluateCases(widened, d.contract, cases);
    // With no condition, it decrypts directly, via S3 in another region, and for another bucket.
    const caught = results.filter((r) => !r.ok).map((r) => `${r.principal} ${r.case}`);
    assert.deepEqual(caught, [
      `${second} ${direct}`,
      `${second} consumer decrypts via S3 in us-east-1`,
      `${second} consumer decrypts with another bucket's encryption context`,
    ]);
  });
  it("run for another consumer of the set that a deny statement exempts by its account alone", async () => {
    const d = await captureDeployment(source, TARGET);
    // The TLS denies spare the second consumer's account: its plain-HTTP and TLS 1.0 reads get through.
    const exempt = mutate(d.policies, {
      bucket: (st) =>
        st.map((x) =>
          x.Sid === "DenyInsecureTransport" || x.Sid === "DenyOutdatedTls"
            ? { ...x, Condition: { ...x.Condition, StringNotEquals: { "aws:PrincipalAccount": "777777777777" } } }
            : x,
        ),
    });
    const results = await evaluateCases(exempt, d.contract, accessCases(exempt, d.contract));
    assert.deepEqual(
      results.filter((r) => !r.ok).map((r) => `${r.principal} ${r.case}`),
      [`${second} consumer reads over plain HTTP`, `${second} consumer reads over TLS 1.0`],
    );
  });
});

describe("access model: an organization-wide grant", () => {
  const source = (org: Record<string, string>): RawConfig => ({
    "aws:region": "us-east-1",
    "aws:allowedAccountIds": '["444444444444"]',
    "cross-account-s3-kms:side": "source",
    ...org,
  });
  const target: RawConfig = {
    "aws:region": "us-east-1",
    "aws:allowedAccountIds": '["555555555555"]',
    "cross-account-s3-kms:side": "target",
    "cross-account-s3-kms:roleName": "etl-reader",
  };
  const resultsFor = async (org: Record<string, string>) => {
    const d = await captureDeployment(source(org), target);
    return { d, results: await evaluateCases(d.policies, d.contract, accessCases(d.policies, d.contract)) };
  };
  const resultOf = (results: AccessResult[], fragment: string, principal?: string) => {
    const r = results.filter(
      (x) => x.case.includes(fragment) && (principal === undefined || x.principal === principal),
    );
    assert.ok(r.length > 0, `no case "${fragment}"`);
    return r;
  };

  it("by organization ID, narrowed to a role name: a role in the organization reads, one outside it does not", async () => {
    const { d, results } = await resultsFor({
      "cross-account-s3-kms:consumerOrgId": "o-a1b2c3d4e5",
      "cross-account-s3-kms:consumerRoleNames": '["etl-reader"]',
    });
    assert.deepEqual(d.contract.consumerRoleArns, []);
    assert.deepEqual(
      results.filter((r) => !r.ok),
      [],
    );
    for (const r of resultOf(results, "over TLS", "arn:aws:iam::555555555555:role/etl-reader").filter((x) =>
      x.case.endsWith("over TLS"),
    )) {
      assert.equal(r.result, "Allowed");
    }
    for (const r of resultOf(results, "a role in an unrelated account")) assert.notEqual(r.result, "Allowed");
    for (const r of resultOf(results, "another role in the consumer account")) assert.notEqual(r.result, "Allowed");
    for (const r of resultOf(results, "a role of the source account")) assert.notEqual(r.result, "Allowed");
  });

  it("by organization path, with no role names: every role of a member account is admitted", async () => {
    const { results } = await resultsFor({
      "cross-account-s3-kms:consumerOrgPaths": '["o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/"]',
    });
    assert.deepEqual(
      results.filter((r) => !r.ok),
      [],
    );
    for (const r of resultOf(results, "another role in the consumer account")) assert.equal(r.result, "Allowed");
    for (const r of resultOf(results, "a role in an unrelated account")) assert.notEqual(r.result, "Allowed");
    for (const r of resultOf(results, "another OU of the organization")) assert.notEqual(r.result, "Allowed");
  });

  it("without the organization condition, only Block Public Access keeps an outsider out", async () => {
    const { d } = await resultsFor({
      "cross-account-s3-kms:consumerOrgId": "o-a1b2c3d4e5",
      "cross-account-s3-kms:consumerRoleNames": '["etl-reader"]',
    });
    const dropOrg = (s: Statement[]) =>
      s.map((x) => {
        if (!x.Condition?.StringEquals?.["aws:PrincipalOrgID"]) return x;
        const { StringEquals, ...others } = x.Condition;
        const rest = Object.fromEntries(Object.entries(StringEquals).filter(([k]) => k !== "aws:PrincipalOrgID"));
        return { ...x, Condition: Object.keys(rest).length > 0 ? { ...others, StringEquals: rest } : others };
      });
    const open = mutate(d.policies, { bucket: dropOrg, key: dropOrg });
    const me = d.policies.consumers[0].role;
    const outsider = { accountId: "999999999999", roleName: me.roleName };
    assert.equal(d.policies.restrictPublicBuckets, true, "the program turns RestrictPublicBuckets on");
    assert.equal(await canDownload(d.policies, d.contract, outsider, me, d.contract.objectKeys[0]), false);
    assert.equal(
      await canDownload(open, d.contract, outsider, me, d.contract.objectKeys[0]),
      false,
      "the policy turned public, so BPA restricts it",
    );
    assert.equal(
      await canDownload({ ...open, restrictPublicBuckets: false }, d.contract, outsider, me, d.contract.objectKeys[0]),
      true,
    );
  });
});

describe("access model: the consumers' target programs on two threads", () => {
  const source = sourceGranting([{ accountId: "222222222222", roleName: "account-b-role" }, ...manyConsumers(9)]);
  let serial: Deployment;
  before(async () => {
    serial = await captureDeployment(source, TARGET);
  });

  it("a worker runs the consumers it takes as this thread does, and a capture it helps is the same", async () => {
    const workers = new MatrixWorkers(1, { runs: true });
    try {
      const others = serial.policies.consumers.filter((c) => c.role.roleName !== "account-b-role");
      const runs: ConsumerRuns = {
        sourceStack: "organization/cross-account-s3-kms/source",
        sourceOutputs: serial.source.outputs,
        targetConfig: TARGET,
        roles: others.map((c) => c.role),
        next: new SharedArrayBuffer(4),
      };
      // Nothing else takes from this counter: the worker runs them all.
      const got = await workers.capture(runs);
      assert.deepEqual(
        others.map((_, i) => got.get(i)),
        others,
      );
      const helped = await captureDeployment(source, TARGET, undefined, () => workers);
      assert.deepEqual(helped.policies, serial.policies);
    } finally {
      workers.close();
    }
  });

  it("runs here what a helper did not answer: a helper that fails, or answers some", async () => {
    const failing: CaptureHelpers = { capture: () => Promise.reject(new Error("a worker died")) };
    assert.deepEqual((await captureDeployment(source, TARGET, undefined, () => failing)).policies, serial.policies);
    // Takes three consumers from the counter and answers one of them (with what a run of it gives:
    // a run here would share this thread's Pulumi runtime with the capture's own).
    const partial: CaptureHelpers = {
      capture: (runs) => {
        const taken = [takeNext(runs), takeNext(runs), takeNext(runs)];
        const role = runs.roles[taken[1]];
        const answer = serial.policies.consumers.find((c) => c.role.roleName === role.roleName);
        return Promise.resolve(new Map(answer ? [[taken[1], answer]] : []));
      },
    };
    assert.deepEqual((await captureDeployment(source, TARGET, undefined, () => partial)).policies, serial.policies);
  });
});

describe("access model: a matrix on every core", () => {
  let d: Deployment;
  let cases: AccessCase[];
  before(async () => {
    d = await captureDeployment(SOURCE, TARGET);
    cases = accessCases(d.policies, d.contract);
  });

  it("answers on two threads exactly as on one, in the cases' order", async () => {
    const serial = await evaluateCases(d.policies, d.contract, cases);
    assert.deepEqual(
      await evaluateAll(d.policies, d.contract, cases, { from: 0, workers: new MatrixWorkers(1) }),
      serial,
    );
  });

  it("evaluates here a chunk its worker could not answer: a bad case still rejects, with the simulator's error", async () => {
    const broken = [...cases];
    const last = broken[broken.length - 1];
    broken[broken.length - 1] = {
      ...last,
      action: "s3:GetObjects",
      request: { ...last.request, action: "s3:GetObjects" },
    };
    await assert.rejects(
      evaluateAll(d.policies, d.contract, broken, { from: 0, workers: new MatrixWorkers(1) }),
      /the simulator rejected s3:GetObjects/,
    );
  });

  it("keeps each answer to its own request: a capture's answer never settles the evaluation asked after it", async () => {
    const workers = new MatrixWorkers(1, { runs: true });
    try {
      // A counter already past the last consumer: the capture answers at once, with nothing.
      const next = new SharedArrayBuffer(4);
      new Int32Array(next)[0] = 1;
      const runs: ConsumerRuns = {
        sourceStack: "organization/cross-account-s3-kms/source",
        sourceOutputs: d.source.outputs,
        targetConfig: TARGET,
        roles: [d.policies.consumers[0].role],
        next,
      };
      const chunk = cases.slice(0, 5);
      const [captured, evaluated] = await Promise.all([
        workers.capture(runs),
        workers.evaluate(0, { policies: d.policies, contract: d.contract, cases: chunk }),
      ]);
      assert.equal(captured.size, 0);
      assert.deepEqual(evaluated, await evaluateCases(d.policies, d.contract, chunk));
    } finally {
      workers.close();
    }
  });

  it("a worker that has exited answers at once with why, and its chunk is evaluated here", async () => {
    const workers = new MatrixWorkers(1);
    workers.close();
    await assert.rejects(
      workers.evaluate(0, { policies: d.policies, contract: d.contract, cases: cases.slice(0, 1) }),
      /exited/,
    );
    assert.deepEqual(
      await evaluateAll(d.policies, d.contract, cases, { from: 0, workers }),
      await evaluateCases(d.policies, d.contract, cases),
    );
  });
});

describe("access model: the simulator's pure steps, remembered", () => {
  afterEach(() => {
    simulatorMemo.enabled = true;
  });

  it("are in place, and a matrix of many consumers and levels answers exactly as without them", async () => {
    assert.deepEqual(
      [simulatorMemo.arns, simulatorMemo.operators],
      [true, true],
      "the simulator's ARN comparison or condition operator was not found: the memo is not in place",
    );
    const mixed = JSON.parse(MIXED_SOURCE["cross-account-s3-kms:consumers"]) as Consumer[];
    const d = await captureDeployment(sourceGranting([...mixed, ...manyConsumers(8)]), TARGET);
    const cases = accessCases(d.policies, d.contract);
    simulatorMemo.enabled = false;
    const plain = await evaluateCases(d.policies, d.contract, cases);
    simulatorMemo.enabled = true;
    const hits = simulatorMemo.hits;
    const remembered = await evaluateCases(d.policies, d.contract, cases);
    assert.ok(simulatorMemo.hits > hits, "no comparison was answered from memory");
    assert.deepEqual(remembered, plain);
    assert.ok(plain.some((r) => r.result === "Allowed") && plain.some((r) => r.result !== "Allowed"));
  });

  it("compares afresh an ARN with a policy variable, and hands out copies", () => {
    const calls: string[] = [];
    const compare: ArnMatches = (policyArn, requestArn, request, expectMatch): Explain => {
      calls.push(policyArn);
      const account = (request as { account: string }).account;
      const matches = policyArn.replace("${aws:PrincipalAccount}", account) === requestArn;
      return { matches: matches === expectMatch, value: policyArn, errors: matches ? undefined : ["no"] };
    };
    const cmp = remember(compare);
    const literal = "arn:aws:iam::222222222222:role/r";
    const other = "arn:aws:iam::222222222222:role/other";
    assert.deepEqual(cmp(literal, literal, { account: "1" }, true), {
      matches: true,
      value: literal,
      errors: undefined,
    });
    // A caller that changes what it was given does not change what the next caller gets.
    const a = cmp(literal, other, { account: "1" }, true);
    a.errors?.push("changed");
    assert.deepEqual(cmp(literal, other, { account: "2" }, true), { matches: false, value: literal, errors: ["no"] });
    assert.equal(cmp(literal, literal, { account: "2" }, false).matches, false, "expectMatch is part of the key");
    assert.deepEqual(calls, [literal, literal, literal], "each literal pair was compared once per expectMatch");
    const variable = "arn:aws:iam::${aws:PrincipalAccount}:role/r";
    assert.equal(cmp(variable, literal, { account: "222222222222" }, true).matches, true);
    assert.equal(cmp(variable, literal, { account: "333333333333" }, true).matches, false);
    const wrong = cmp(variable, literal, { account: "333333333333" }, true);
    wrong.errors?.push("changed");
    assert.deepEqual(cmp(variable, literal, { account: "333333333333" }, true).errors, ["no"]);
    assert.equal(calls.filter((c) => c === variable).length, 4, "an ARN with a variable is never remembered");
  });
});
