import { strict as assert } from "assert";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import { bucketNameProblems } from "../shared/program/config";
import { validateContract } from "../shared/program/contract";
import { auditLogBucketName } from "../source-account/documents";
import { PolicyDocument } from "../shared/program/iam/document";
import { SOURCE_BASE, committedConfig } from "../shared/offline/fixtures";
import { one, ofType, policyOf, runProgram, runProgramExpectingError, StackRun } from "../shared/offline/run";
import { actionsOf, awsPrincipals, cond, resourcesOf, sorted, theStatement } from "../shared/offline/policy-queries";
import { projectTmpDir } from "./tmp";

const ROOT = path.resolve(__dirname, "..");

/** The seed's accounts, as Pulumi.source.yaml sets them. */
const BASE = SOURCE_BASE;
const BUCKET = "cross-account-s3-kms-111111111111-us-west-2";
const BUCKET_ARN = `arn:aws:s3:::${BUCKET}`;
const CONSUMER_ROLE = "arn:aws:iam::222222222222:role/account-b-role";

const sampleFiles = (): string[] =>
  fs
    .readdirSync(path.join(ROOT, "source-account", "objects"), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) =>
      path
        .relative(path.join(ROOT, "source-account", "objects"), path.join(e.parentPath, e.name))
        .split(path.sep)
        .join("/"),
    )
    .sort();

function bucketPolicyOf(run: StackRun, bucketName: string): PolicyDocument {
  const policies = ofType(run, "aws:s3/bucketPolicy:BucketPolicy").filter((p) => p.inputs.bucket === bucketName);
  assert.equal(policies.length, 1, `expected one policy on ${bucketName}`);
  return policyOf(policies[0]);
}

describe("source stack (account A) with the seed config", () => {
  let run: StackRun;
  let keyArn: string;
  before(async () => {
    run = await runProgram({ stack: "source", config: BASE });
    keyArn = String(run.outputs.keyArn);
  });

  describe("KMS key", () => {
    it("is symmetric, rotates every 365 days, waits 30 days before deletion and is protected", () => {
      const key = one(run, "aws:kms/key:Key");
      assert.equal(key.inputs.customerMasterKeySpec, "SYMMETRIC_DEFAULT");
      assert.equal(key.inputs.keyUsage, "ENCRYPT_DECRYPT");
      assert.equal(key.inputs.enableKeyRotation, true);
      assert.equal(key.inputs.rotationPeriodInDays, 365);
      assert.equal(key.inputs.deletionWindowInDays, 30);
      assert.equal(key.inputs.multiRegion, false);
      assert.equal(key.protected, true);
    });

    it("has the alias alias/accounta-cmk", () => {
      assert.equal(one(run, "aws:kms/alias:Alias").inputs.name, "alias/accounta-cmk");
    });

    it("key policy: account A's root keeps kms:* with no condition, so the key cannot be locked out", () => {
      const doc = policyOf(one(run, "aws:kms/key:Key"));
      const admin = theStatement(
        doc,
        "lets account A's root administer the key",
        (s) => s.Effect === "Allow" && awsPrincipals(s.Principal).includes("arn:aws:iam::111111111111:root"),
      );
      assert.deepEqual(actionsOf(admin), ["kms:*"]);
      assert.deepEqual(resourcesOf(admin), ["*"]);
      assert.equal(admin.Condition, undefined);
    });

    it("key policy: the consumer gets only kms:Decrypt, via S3 in us-west-2, as its role, for this bucket", () => {
      const doc = policyOf(one(run, "aws:kms/key:Key"));
      const grant = theStatement(
        doc,
        "grants the consumer account",
        (s) => s.Effect === "Allow" && awsPrincipals(s.Principal).includes("arn:aws:iam::222222222222:root"),
      );
      assert.deepEqual(actionsOf(grant), ["kms:Decrypt"]);
      assert.deepEqual(awsPrincipals(grant.Principal), ["arn:aws:iam::222222222222:root"]);
      assert.deepEqual(cond(grant, "ArnEquals", "aws:PrincipalArn"), [CONSUMER_ROLE]);
      assert.deepEqual(cond(grant, "StringEquals", "kms:ViaService"), ["s3.us-west-2.amazonaws.com"]);
      assert.deepEqual(cond(grant, "StringEquals", "kms:CallerAccount"), ["222222222222"]);
      assert.deepEqual(sorted(cond(grant, "StringLike", "kms:EncryptionContext:aws:s3:arn")), [
        BUCKET_ARN,
        `${BUCKET_ARN}/*`,
      ]);
    });

    it("key policy: only this stack's trail may use the key besides, to encrypt its logs", () => {
      const doc = policyOf(one(run, "aws:kms/key:Key"));
      const trailArn = `arn:aws:cloudtrail:us-west-2:111111111111:trail/${String(one(run, "aws:cloudtrail/trail:Trail").inputs.name)}`;
      const service = doc.Statement.filter(
        (s) => s.Principal !== undefined && s.Principal !== "*" && s.Principal.Service !== undefined,
      );
      assert.deepEqual(
        service
          .map((s) => actionsOf(s))
          .flat()
          .sort(),
        ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey*"],
      );
      for (const s of service) {
        assert.deepEqual(s.Principal, { Service: "cloudtrail.amazonaws.com" });
        assert.deepEqual(cond(s, "StringEquals", "aws:SourceArn"), [trailArn]);
      }
      const encrypt = service.find((s) => actionsOf(s).includes("kms:GenerateDataKey*"));
      assert.deepEqual(encrypt && cond(encrypt, "StringLike", "kms:EncryptionContext:aws:cloudtrail:arn"), [
        "arn:aws:cloudtrail:*:111111111111:trail/*",
      ]);
      assert.equal(doc.Statement.filter((s) => s.Effect === "Allow").length, 2 + service.length, "no other Allow");
    });
  });

  describe("bucket", () => {
    it("has the derived name, is protected and cannot be force-destroyed", () => {
      const b = ofType(run, "aws:s3/bucket:Bucket").find((r) => r.inputs.bucket === BUCKET);
      assert.ok(b);
      assert.equal(b.protected, true);
      assert.equal(b.inputs.forceDestroy, false);
    });

    it("with protectData on, everything under the key, bucket and trail components inherits their protection", () => {
      const unprotected = run.resources
        .filter((r) => !r.protected && r.type !== "pulumi:pulumi:Stack")
        .map((r) => `${r.type} ${r.name}`);
      assert.deepEqual(unprotected, []);
      assert.ok(
        ofType(run, "aws:s3/bucket:Bucket").every((r) => r.inputs.forceDestroy === false),
        "no bucket is force-destroyed",
      );
    });

    it("encrypts by default with the key's full ARN and Bucket Key", () => {
      const enc = ofType(
        run,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
      ).find((r) => r.inputs.bucket === BUCKET);
      assert.ok(enc);
      const rules = enc.inputs.rules as {
        applyServerSideEncryptionByDefault: { sseAlgorithm: string; kmsMasterKeyId: string };
        bucketKeyEnabled: boolean;
      }[];
      assert.equal(rules.length, 1);
      assert.equal(rules[0].applyServerSideEncryptionByDefault.sseAlgorithm, "aws:kms");
      assert.equal(rules[0].applyServerSideEncryptionByDefault.kmsMasterKeyId, keyArn);
      assert.ok(!keyArn.includes(":alias/"), "the full key ARN, never an alias");
      assert.equal(rules[0].bucketKeyEnabled, true);
    });

    it("turns on all four Block Public Access settings", () => {
      const bpa = ofType(run, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").find(
        (r) => r.inputs.bucket === BUCKET,
      );
      assert.ok(bpa);
      for (const k of ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"])
        assert.equal(bpa.inputs[k], true, k);
    });

    it("disables ACLs (BucketOwnerEnforced) and enables versioning", () => {
      const own = ofType(run, "aws:s3/bucketOwnershipControls:BucketOwnershipControls").find(
        (r) => r.inputs.bucket === BUCKET,
      );
      assert.deepEqual(own?.inputs.rule, { objectOwnership: "BucketOwnerEnforced" });
      const ver = ofType(run, "aws:s3/bucketVersioning:BucketVersioning").find((r) => r.inputs.bucket === BUCKET);
      assert.deepEqual(ver?.inputs.versioningConfiguration, { status: "Enabled" });
    });
  });

  describe("bucket policy", () => {
    let doc: PolicyDocument;
    before(() => (doc = bucketPolicyOf(run, BUCKET)));

    it("denies every request without TLS, on the bucket and its objects", () => {
      const s = theStatement(
        doc,
        "denies plain HTTP",
        (x) => x.Effect === "Deny" && cond(x, "Bool", "aws:SecureTransport").includes("false"),
      );
      assert.equal(s.Principal, "*");
      assert.deepEqual(actionsOf(s), ["s3:*"]);
      assert.deepEqual(sorted(resourcesOf(s)), [BUCKET_ARN, `${BUCKET_ARN}/*`]);
    });

    it("denies TLS older than 1.2", () => {
      const s = theStatement(
        doc,
        "denies old TLS",
        (x) => x.Effect === "Deny" && cond(x, "NumericLessThan", "s3:TlsVersion").length > 0,
      );
      assert.deepEqual(cond(s, "NumericLessThan", "s3:TlsVersion"), ["1.2"]);
      assert.equal(s.Principal, "*");
      assert.deepEqual(sorted(resourcesOf(s)), [BUCKET_ARN, `${BUCKET_ARN}/*`]);
    });

    it("denies uploads that name another KMS key, but only when the header is sent", () => {
      const s = theStatement(
        doc,
        "denies another key",
        (x) =>
          x.Effect === "Deny" &&
          cond(x, "StringNotEquals", "s3:x-amz-server-side-encryption-aws-kms-key-id").length > 0,
      );
      assert.deepEqual(actionsOf(s), ["s3:PutObject"]);
      assert.deepEqual(cond(s, "StringNotEquals", "s3:x-amz-server-side-encryption-aws-kms-key-id"), [keyArn]);
      assert.deepEqual(cond(s, "Null", "s3:x-amz-server-side-encryption-aws-kms-key-id"), ["false"]);
    });

    it("denies uploads that ask for non-KMS encryption, but only when the header is sent", () => {
      const s = theStatement(
        doc,
        "denies non-KMS encryption",
        (x) => x.Effect === "Deny" && cond(x, "StringNotEquals", "s3:x-amz-server-side-encryption").length > 0,
      );
      assert.deepEqual(actionsOf(s), ["s3:PutObject"]);
      assert.deepEqual(cond(s, "StringNotEquals", "s3:x-amz-server-side-encryption"), ["aws:kms"]);
      assert.deepEqual(cond(s, "Null", "s3:x-amz-server-side-encryption"), ["false"]);
    });

    it("never denies on a StringNotEquals without a Null guard on the same key (header-less uploads stay allowed)", () => {
      for (const s of doc.Statement.filter((x) => x.Effect === "Deny")) {
        for (const k of Object.keys(s.Condition?.StringNotEquals ?? {})) {
          assert.deepEqual(cond(s, "Null", k), ["false"], `${s.Sid}: StringNotEquals on ${k} needs Null ${k} = false`);
        }
        assert.equal(s.Condition?.StringNotEqualsIfExists, undefined, `${s.Sid}: IfExists denies header-less uploads`);
      }
    });

    it("lets the consumer role read objects and list the bucket: account root as Principal, narrowed by aws:PrincipalArn", () => {
      const s = theStatement(
        doc,
        "allows GetObject",
        (x) => x.Effect === "Allow" && actionsOf(x).includes("s3:GetObject"),
      );
      assert.deepEqual(
        sorted(actionsOf(s)),
        ["s3:GetObject", "s3:ListBucket"],
        "ListBucket because allowListBucket defaults to true",
      );
      assert.deepEqual(sorted(resourcesOf(s)), [BUCKET_ARN, `${BUCKET_ARN}/*`]);
      assert.deepEqual(awsPrincipals(s.Principal), ["arn:aws:iam::222222222222:root"]);
      assert.deepEqual(cond(s, "ArnEquals", "aws:PrincipalArn"), [CONSUMER_ROLE]);
    });

    it("allows nothing else, and never to Principal *", () => {
      const allows = doc.Statement.filter((x) => x.Effect === "Allow");
      assert.equal(allows.length, 1);
      for (const s of allows) assert.notEqual(s.Principal, "*");
    });
  });

  it("uploads every file of source-account/objects, encrypted with the key", () => {
    const objects = ofType(run, "aws:s3/bucketObjectv2:BucketObjectv2");
    assert.deepEqual(objects.map((o) => o.inputs.key).sort(), sampleFiles());
    for (const o of objects) {
      assert.equal(o.inputs.bucket, BUCKET);
      assert.equal(o.inputs.serverSideEncryption, "aws:kms");
      assert.equal(o.inputs.kmsKeyId, keyArn);
      assert.equal(o.inputs.bucketKeyEnabled, true);
    }
  });

  describe("audit trail", () => {
    it("encrypts its log files and its log bucket with the customer managed key", () => {
      const trail = one(run, "aws:cloudtrail/trail:Trail");
      assert.equal(trail.inputs.kmsKeyId, keyArn);
      const enc = ofType(
        run,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
      ).find((r) => r.inputs.bucket === trail.inputs.s3BucketName);
      assert.deepEqual(enc?.inputs.rules, [
        {
          applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: keyArn },
          bucketKeyEnabled: true,
        },
      ]);
    });

    it("records the bucket's object events and management (KMS) events, with log validation", () => {
      const trail = one(run, "aws:cloudtrail/trail:Trail");
      assert.equal(trail.inputs.enableLogFileValidation, true);
      const selectors = trail.inputs.advancedEventSelectors as {
        fieldSelectors: { field: string; equals?: string[]; startsWiths?: string[] }[];
      }[];
      const field = (i: number, f: string) => selectors[i]?.fieldSelectors.find((x) => x.field === f);
      const data = selectors.findIndex((_, i) => field(i, "eventCategory")?.equals?.includes("Data"));
      assert.ok(data >= 0, "a data-event selector");
      assert.deepEqual(field(data, "resources.type")?.equals, ["AWS::S3::Object"]);
      assert.deepEqual(field(data, "resources.ARN")?.startsWiths, [`${BUCKET_ARN}/`]);
      assert.ok(
        selectors.some((_, i) => field(i, "eventCategory")?.equals?.includes("Management")),
        "a management-event selector",
      );
    });

    it("writes to a private log bucket whose policy admits only this trail (aws:SourceArn)", () => {
      const trail = one(run, "aws:cloudtrail/trail:Trail");
      const logBucket = String(trail.inputs.s3BucketName);
      assert.notEqual(logBucket, BUCKET);
      const trailArn = `arn:aws:cloudtrail:us-west-2:111111111111:trail/${String(trail.inputs.name)}`;
      const doc = bucketPolicyOf(run, logBucket);
      const write = theStatement(
        doc,
        "lets CloudTrail write",
        (s) => s.Effect === "Allow" && actionsOf(s).includes("s3:PutObject"),
      );
      assert.deepEqual(write.Principal, { Service: "cloudtrail.amazonaws.com" });
      assert.deepEqual(resourcesOf(write), [`arn:aws:s3:::${logBucket}/AWSLogs/111111111111/*`]);
      assert.deepEqual(cond(write, "StringEquals", "aws:SourceArn"), [trailArn]);
      const acl = theStatement(
        doc,
        "lets CloudTrail check the ACL",
        (s) => s.Effect === "Allow" && actionsOf(s).includes("s3:GetBucketAcl"),
      );
      assert.deepEqual(cond(acl, "StringEquals", "aws:SourceArn"), [trailArn]);
      assert.ok(
        doc.Statement.some((s) => s.Effect === "Deny" && cond(s, "Bool", "aws:SecureTransport").includes("false")),
        "TLS only",
      );
      const bpa = ofType(run, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").find(
        (r) => r.inputs.bucket === logBucket,
      );
      assert.equal(bpa?.inputs.restrictPublicBuckets, true);
      const logs = ofType(run, "aws:s3/bucket:Bucket").find((r) => r.inputs.bucket === logBucket);
      assert.equal(logs?.protected, true);
      assert.equal(logBucket, `${BUCKET}-audit-logs`);
    });
  });

  it("exports exactly the contract, and it validates", () => {
    assert.deepEqual(Object.keys(run.outputs).sort(), [
      "accountId",
      "allowListBucket",
      "bucketArn",
      "bucketName",
      "consumerAccess",
      "consumerOrg",
      "consumerRoleArns",
      "keyArn",
      "objectKeys",
      "region",
    ]);
    assert.equal(run.outputs.consumerOrg, null, "no organization grant unless configured");
    assert.equal(run.outputs.bucketName, BUCKET);
    assert.equal(run.outputs.bucketArn, BUCKET_ARN);
    assert.equal(run.outputs.region, "us-west-2");
    assert.equal(run.outputs.accountId, "111111111111");
    assert.deepEqual(run.outputs.objectKeys, sampleFiles());
    assert.deepEqual(run.outputs.consumerRoleArns, [CONSUMER_ROLE]);
    assert.equal(run.outputs.allowListBucket, true);
    const v = validateContract(run.outputs);
    assert.ok(v.ok, JSON.stringify(v));
  });

  it("names each bucket in its settings (known at preview, for the policy pack) and creates them after the bucket", () => {
    const settings = run.resources.filter(
      (r) =>
        r.type.startsWith("aws:s3/bucket") &&
        r.type !== "aws:s3/bucket:Bucket" &&
        r.type !== "aws:s3/bucketObjectv2:BucketObjectv2",
    );
    assert.ok(settings.length >= 8);
    for (const r of settings) {
      const deps = (r.opts.dependsOn ?? []) as pulumi.Resource[];
      const bucket = deps.find((d) => aws.s3.Bucket.isInstance(d));
      assert.ok(bucket, `${r.type} ${r.name} waits for its bucket`);
    }
    const buckets = ofType(run, "aws:s3/bucket:Bucket").map((b) => b.inputs.bucket);
    for (const r of settings)
      assert.ok(buckets.includes(r.inputs.bucket), `${r.type} ${r.name} names a bucket of this stack`);
  });

  it("tags every taggable resource with Name and the project tags", () => {
    const taggable = run.resources.filter((r) => "tags" in r.inputs);
    assert.ok(taggable.length >= 4);
    for (const r of taggable) {
      const t = r.inputs.tags as Record<string, string> | undefined;
      assert.ok(t?.Name, `${r.type} ${r.name} has a Name tag`);
      assert.equal(t?.Project, "cross-account-s3-kms", `${r.type} ${r.name}`);
    }
  });
});

describe("audit log bucket name", () => {
  it("stays a valid S3 name for the longest shared bucket name", () => {
    const longest = `a${"-b".repeat(31)}`;
    assert.equal(longest.length, 63);
    const name = auditLogBucketName(longest);
    assert.equal(name.length, 63);
    assert.deepEqual(bucketNameProblems(name), []);
  });
});

describe("source stack with several sample objects in nested folders", () => {
  let dir: string;
  before(() => {
    dir = projectTmpDir("objects-");
    fs.mkdirSync(path.join(dir, "reports", "2026"), { recursive: true });
    fs.writeFileSync(path.join(dir, "a.txt"), "a");
    fs.writeFileSync(path.join(dir, "b.json"), "{}");
    fs.writeFileSync(path.join(dir, "reports", "2026", "q4.csv"), "x,y");
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("uploads each under its relative path, after the bucket's settings (no wait on the other objects)", async () => {
    const run = await runProgram({ stack: "source-objects", config: { ...BASE, "cross-account-s3-kms:objects": dir } });
    const objects = ofType(run, "aws:s3/bucketObjectv2:BucketObjectv2");
    assert.deepEqual(objects.map((o) => o.inputs.key).sort(), ["a.txt", "b.json", "reports/2026/q4.csv"]);
    assert.deepEqual(run.outputs.objectKeys, ["a.txt", "b.json", "reports/2026/q4.csv"]);
    for (const o of objects) {
      const deps = o.opts.dependsOn as pulumi.Resource[];
      assert.ok(
        deps.some((d) => aws.s3.BucketServerSideEncryptionConfiguration.isInstance(d)),
        "waits for default encryption",
      );
      assert.ok(
        deps.some((d) => aws.s3.BucketPolicy.isInstance(d)),
        "waits for the bucket policy",
      );
      assert.ok(!deps.some((d) => aws.s3.BucketObjectv2.isInstance(d)), "never waits for another object");
    }
  });
});

describe("source stack: Pulumi.source.yaml as committed", () => {
  it("runs and grants the seed's consumer", async () => {
    const config = committedConfig("source");
    const run = await runProgram({ stack: "source", config });
    assert.deepEqual(run.outputs.consumerRoleArns, [CONSUMER_ROLE]);
    assert.equal(run.outputs.region, config["aws:region"]);
  });
});

describe("source stack with another region, account and two consumers", () => {
  const consumers = [
    { accountId: "444444444444", roleName: "reader-a" },
    { accountId: "555555555555", roleName: "reader-b" },
  ];
  const roles = ["arn:aws:iam::444444444444:role/reader-a", "arn:aws:iam::555555555555:role/reader-b"];
  let run: StackRun;
  before(async () => {
    run = await runProgram({
      stack: "source-eu",
      config: {
        "aws:region": "eu-central-1",
        "aws:allowedAccountIds": '["333333333333"]',
        "cross-account-s3-kms:side": "source",
        "cross-account-s3-kms:consumers": JSON.stringify(consumers),
        "cross-account-s3-kms:bucketName": "team-data-eu",
        "cross-account-s3-kms:keyAlias": "alias/team-data",
        "cross-account-s3-kms:keyRotationDays": "90",
        "cross-account-s3-kms:allowListBucket": "false",
        "cross-account-s3-kms:protectData": "false",
        "cross-account-s3-kms:auditTrail": "false",
      },
    });
  });

  it("grants both consumers in the key policy, via S3 in eu-central-1", () => {
    const doc = policyOf(one(run, "aws:kms/key:Key"));
    const grant = theStatement(
      doc,
      "grants Decrypt",
      (s) => s.Effect === "Allow" && actionsOf(s).includes("kms:Decrypt"),
    );
    assert.deepEqual(sorted(awsPrincipals(grant.Principal)), [
      "arn:aws:iam::444444444444:root",
      "arn:aws:iam::555555555555:root",
    ]);
    assert.deepEqual(sorted(cond(grant, "ArnEquals", "aws:PrincipalArn")), roles);
    assert.deepEqual(cond(grant, "StringEquals", "kms:ViaService"), ["s3.eu-central-1.amazonaws.com"]);
    assert.deepEqual(sorted(cond(grant, "StringEquals", "kms:CallerAccount")), ["444444444444", "555555555555"]);
    theStatement(doc, "administers the key", (s) =>
      awsPrincipals(s.Principal).includes("arn:aws:iam::333333333333:root"),
    );
  });

  it("grants both consumers GetObject, and no ListBucket when allowListBucket is false", () => {
    const doc = bucketPolicyOf(run, "team-data-eu");
    const read = theStatement(
      doc,
      "allows GetObject",
      (s) => s.Effect === "Allow" && actionsOf(s).includes("s3:GetObject"),
    );
    assert.deepEqual(sorted(cond(read, "ArnEquals", "aws:PrincipalArn")), roles);
    assert.deepEqual(resourcesOf(read), ["arn:aws:s3:::team-data-eu/*"]);
    assert.ok(!doc.Statement.some((s) => actionsOf(s).includes("s3:ListBucket")));
  });

  it("applies the alias and rotation period, unprotects the data and skips the trail", () => {
    assert.equal(one(run, "aws:kms/alias:Alias").inputs.name, "alias/team-data");
    assert.equal(one(run, "aws:kms/key:Key").inputs.rotationPeriodInDays, 90);
    assert.equal(one(run, "aws:kms/key:Key").protected, false);
    assert.equal(one(run, "aws:s3/bucket:Bucket").protected, false);
    assert.equal(
      one(run, "aws:s3/bucket:Bucket").inputs.forceDestroy,
      true,
      "unprotected data is deleted with the stack",
    );
    assert.deepEqual(
      run.resources.filter((r) => r.protected).map((r) => r.name),
      [],
      "nothing is protected",
    );
    assert.equal(ofType(run, "aws:cloudtrail/trail:Trail").length, 0);
  });

  it("carries nothing of the seed's region or accounts (nothing is hard-coded)", () => {
    const everything = JSON.stringify(run.resources.map((r) => r.inputs)) + JSON.stringify(run.outputs);
    for (const literal of ["us-west-2", "111111111111", "222222222222", "account-b-role", "accounta-cmk"]) {
      assert.ok(!everything.includes(literal), `found ${literal}`);
    }
  });

  it("exports both consumer roles", () => {
    assert.deepEqual(run.outputs.consumerRoleArns, roles);
    assert.equal(run.outputs.allowListBucket, false);
    assert.equal(run.outputs.region, "eu-central-1");
  });
});

describe("source stack with an organization-wide grant", () => {
  const ORG = {
    ...BASE,
    "cross-account-s3-kms:consumerOrgId": "o-a1b2c3d4e5",
    "cross-account-s3-kms:consumerRoleNames": '["etl-reader","audit-reader"]',
  };

  it("grants Principal * narrowed to the organization, outside the source account, by role name", async () => {
    const run = await runProgram({ stack: "source-org", config: ORG });
    const org = (doc: PolicyDocument) =>
      theStatement(doc, "grants the organization", (s) => cond(s, "StringEquals", "aws:PrincipalOrgID").length > 0);
    for (const [doc, action] of [
      [bucketPolicyOf(run, BUCKET), "s3:GetObject"],
      [policyOf(one(run, "aws:kms/key:Key")), "kms:Decrypt"],
    ] as const) {
      const s = org(doc);
      assert.equal(s.Effect, "Allow");
      assert.equal(s.Principal, "*");
      assert.ok(actionsOf(s).includes(action));
      assert.deepEqual(cond(s, "StringEquals", "aws:PrincipalOrgID"), ["o-a1b2c3d4e5"]);
      assert.deepEqual(cond(s, "StringNotEquals", "aws:PrincipalAccount"), ["111111111111"]);
      assert.deepEqual(sorted(cond(s, "ArnLike", "aws:PrincipalArn")), [
        "arn:aws:iam::*:role/audit-reader",
        "arn:aws:iam::*:role/etl-reader",
      ]);
    }
    assert.deepEqual(cond(org(policyOf(one(run, "aws:kms/key:Key"))), "StringEquals", "kms:ViaService"), [
      "s3.us-west-2.amazonaws.com",
    ]);
    assert.deepEqual(run.outputs.consumerOrg, { orgId: "o-a1b2c3d4e5", roleNames: ["etl-reader", "audit-reader"] });
  });

  it("by organization paths, keeps a fixed organization ID beside the path patterns", async () => {
    const run = await runProgram({
      stack: "source-org-paths",
      config: {
        ...BASE,
        "cross-account-s3-kms:consumers": "[]",
        "cross-account-s3-kms:consumerOrgPaths": '["o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/"]',
      },
    });
    const doc = bucketPolicyOf(run, BUCKET);
    assert.equal(
      doc.Statement.some((s) => awsPrincipals(s.Principal).length > 0),
      false,
      "no listed consumer statement",
    );
    const s = theStatement(doc, "grants the organization", (x) => x.Principal === "*" && x.Effect === "Allow");
    assert.deepEqual(cond(s, "ForAnyValue:StringLike", "aws:PrincipalOrgPaths"), [
      "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*",
    ]);
    assert.deepEqual(cond(s, "StringEquals", "aws:PrincipalOrgID"), ["o-a1b2c3d4e5"]);
    assert.deepEqual(cond(s, "ArnLike", "aws:PrincipalArn"), []);
  });
});

describe("the harness's runs", () => {
  it("put JavaScript's stack traces back as they were, after a run and after a failed one", async () => {
    const now = () => [Error.stackTraceLimit, Object.getOwnPropertyDescriptor(Error, "prepareStackTrace")];
    const before = now();
    await runProgram({ stack: "traces", config: SOURCE_BASE });
    assert.deepEqual(now(), before);
    await runProgramExpectingError({ stack: "traces", config: { ...SOURCE_BASE, "aws:region": "us-west-9" } });
    assert.deepEqual(now(), before);
    assert.match(new Error("here").stack ?? "", /\n\s+at /);
  });
});
