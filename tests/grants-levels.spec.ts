/**
 * The grant at each access level and on key prefixes, as the pure builders render it: the exact
 * statements (actions, resources, conditions), written out here from the rules and AWS's
 * documents, never from the access-level table.
 */
import { strict as assert } from "assert";
import {
  readerIdentityPolicy,
  ReadTarget,
  s3EndpointPolicy,
  sourceBucketPolicy,
  sourceKeyPolicy,
} from "../shared/program/iam/grants";
import { Statement } from "../shared/program/iam/document";
import { AccessPolicies, ALLOW_ALL, evaluate } from "../shared/offline/access";
import { SourceContract } from "../shared/program/contract";

const BUCKET = "arn:aws:s3:::shared-data";
const KEY = "arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const target: ReadTarget = { region: "eu-west-1", bucketName: "shared-data", keyArn: KEY, allowListBucket: true };
const role = (account: string, name: string) => `arn:aws:iam::${account}:role/${name}`;
const VIA_S3 = {
  StringEquals: { "kms:ViaService": "s3.eu-west-1.amazonaws.com" },
  StringLike: { "kms:EncryptionContext:aws:s3:arn": [BUCKET, `${BUCKET}/*`] },
};

const reader = { accountId: "222222222222", roleName: "account-b-role" };
const ingest = {
  accountId: "222222222222",
  roleName: "ingest-writer",
  access: "read-write" as const,
  prefixes: ["incoming/"],
};
const reports = { accountId: "333333333333", roleName: "reports-reader", prefixes: ["reports/", "archive/"] };
const drop = { accountId: "444444444444", roleName: "drop-writer", access: "write" as const, prefixes: ["incoming/"] };
const mixed = { ...target, accountId: "111111111111", consumers: [reader, ingest, reports, drop] };

/** The consumers' statements of a policy, by Sid, without the guards. */
const grants = (statements: Statement[]): Record<string, Statement> =>
  Object.fromEntries(statements.filter((s) => s.Sid.startsWith("Consumer")).map((s) => [s.Sid, s]));

describe("the grant at each access level, on the whole bucket or on key prefixes", () => {
  it("bucket policy: one statement per level and scope; on prefixes, objects on each prefix and listing narrowed by s3:prefix", () => {
    const s = grants(sourceBucketPolicy(mixed).Statement);
    assert.deepEqual(Object.keys(s), [
      "ConsumerRead",
      "ConsumerReadPrefixes1",
      "ConsumerReadPrefixes1List",
      "ConsumerWritePrefixes1",
      "ConsumerReadWritePrefixes1",
      "ConsumerReadWritePrefixes1List",
    ]);
    const only = (...arns: string[]) => ({ ArnEquals: { "aws:PrincipalArn": arns } });
    assert.deepEqual(s.ConsumerRead, {
      Sid: "ConsumerRead",
      Effect: "Allow",
      Principal: { AWS: ["arn:aws:iam::222222222222:root"] },
      Action: ["s3:GetObject", "s3:ListBucket"],
      Resource: [BUCKET, `${BUCKET}/*`],
      Condition: only(role("222222222222", "account-b-role")),
    });
    assert.deepEqual(s.ConsumerReadPrefixes1.Action, ["s3:GetObject"]);
    assert.deepEqual(s.ConsumerReadPrefixes1.Resource, [`${BUCKET}/reports/*`, `${BUCKET}/archive/*`]);
    assert.deepEqual(s.ConsumerReadPrefixes1List, {
      Sid: "ConsumerReadPrefixes1List",
      Effect: "Allow",
      Principal: { AWS: ["arn:aws:iam::333333333333:root"] },
      Action: ["s3:ListBucket"],
      Resource: BUCKET,
      Condition: {
        ...only(role("333333333333", "reports-reader")),
        StringLike: { "s3:prefix": ["reports/*", "archive/*"] },
      },
    });
    // A writer gets uploads on its prefix and nothing to read, list or delete.
    assert.deepEqual(s.ConsumerWritePrefixes1, {
      Sid: "ConsumerWritePrefixes1",
      Effect: "Allow",
      Principal: { AWS: ["arn:aws:iam::444444444444:root"] },
      Action: ["s3:PutObject", "s3:AbortMultipartUpload"],
      Resource: [`${BUCKET}/incoming/*`],
      Condition: only(role("444444444444", "drop-writer")),
    });
    assert.deepEqual(s.ConsumerReadWritePrefixes1.Action, ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"]);
    assert.deepEqual(s.ConsumerReadWritePrefixes1.Resource, [`${BUCKET}/incoming/*`]);
  });

  it("key policy: one statement per level, never per prefix; GenerateDataKey only to the roles that write", () => {
    const s = grants(sourceKeyPolicy(mixed).Statement);
    assert.deepEqual(Object.keys(s), ["ConsumerDecryptViaS3", "ConsumerEncryptViaS3", "ConsumerUseKeyViaS3"]);
    const kms = (accounts: string[], roles: string[]) => ({
      ArnEquals: { "aws:PrincipalArn": roles },
      StringEquals: { ...VIA_S3.StringEquals, "kms:CallerAccount": accounts },
      StringLike: { "kms:EncryptionContext:aws:s3:arn": ["arn:aws:s3:::shared-data", "arn:aws:s3:::shared-data/*"] },
    });
    assert.deepEqual(s.ConsumerDecryptViaS3.Action, ["kms:Decrypt"]);
    assert.deepEqual(
      s.ConsumerDecryptViaS3.Condition,
      kms(
        ["222222222222", "333333333333"],
        [role("222222222222", "account-b-role"), role("333333333333", "reports-reader")],
      ),
    );
    // The parts of a multipart upload need Decrypt as well as GenerateDataKey.
    assert.deepEqual(s.ConsumerEncryptViaS3.Action, ["kms:GenerateDataKey", "kms:Decrypt"]);
    assert.deepEqual(s.ConsumerEncryptViaS3.Condition, kms(["444444444444"], [role("444444444444", "drop-writer")]));
    assert.deepEqual(s.ConsumerUseKeyViaS3.Action, ["kms:Decrypt", "kms:GenerateDataKey"]);
    assert.deepEqual(s.ConsumerUseKeyViaS3.Condition, kms(["222222222222"], [role("222222222222", "ingest-writer")]));
    // The reader in the writer's account is not among the roles that may ask for a data key.
    for (const sid of ["ConsumerEncryptViaS3", "ConsumerUseKeyViaS3"])
      assert.ok(!JSON.stringify(s[sid]).includes("account-b-role"), sid);
  });

  it("identity and endpoint policies: the role's own level on its own prefixes, never broader than the source's grant", () => {
    assert.deepEqual(readerIdentityPolicy(target, drop).Statement, [
      {
        Sid: "WriteObjects",
        Effect: "Allow",
        Action: ["s3:PutObject", "s3:AbortMultipartUpload"],
        Resource: [`${BUCKET}/incoming/*`],
      },
      {
        Sid: "EncryptViaS3",
        Effect: "Allow",
        Action: ["kms:GenerateDataKey", "kms:Decrypt"],
        Resource: KEY,
        Condition: VIA_S3,
      },
    ]);
    assert.deepEqual(readerIdentityPolicy(target, reports).Statement, [
      {
        Sid: "ReadObjects",
        Effect: "Allow",
        Action: ["s3:GetObject"],
        Resource: [`${BUCKET}/reports/*`, `${BUCKET}/archive/*`],
      },
      {
        Sid: "ListBucket",
        Effect: "Allow",
        Action: ["s3:ListBucket"],
        Resource: BUCKET,
        Condition: { StringLike: { "s3:prefix": ["reports/*", "archive/*"] } },
      },
      { Sid: "DecryptViaS3", Effect: "Allow", Action: ["kms:Decrypt"], Resource: KEY, Condition: VIA_S3 },
    ]);
    const endpoint = s3EndpointPolicy(target, ingest).Statement;
    assert.deepEqual(
      endpoint.map((s) => [s.Sid, s.Principal, s.Resource]),
      [
        ["EndpointConsumerReadWrite", "*", [`${BUCKET}/incoming/*`]],
        ["EndpointConsumerReadWriteList", "*", BUCKET],
      ],
    );
  });

  it("without allowListBucket, no level lists, on the whole bucket or on prefixes", () => {
    const quiet = { ...mixed, allowListBucket: false };
    const all = JSON.stringify([sourceBucketPolicy(quiet), readerIdentityPolicy(quiet, reports)]);
    assert.ok(!all.includes("s3:ListBucket"));
    assert.ok(!all.includes("s3:prefix"));
  });
});

describe("an organization grant beside listed consumers with narrower grants", () => {
  const orgId = "o-abcdefghij";
  const uploader = {
    accountId: "222222222222",
    roleName: "uploader",
    access: "write" as const,
    prefixes: ["incoming/"],
  };
  const args = { ...mixed, consumers: [uploader, reports], consumerOrg: { orgId } };
  const d = {
    policies: {
      bucket: sourceBucketPolicy(args),
      key: sourceKeyPolicy(args),
      consumers: [],
      restrictPublicBuckets: true,
      uploads: [],
    } satisfies AccessPolicies,
    contract: {
      bucketName: target.bucketName,
      bucketArn: BUCKET,
      keyArn: KEY,
      region: target.region,
      accountId: "111111111111",
      objectKeys: ["hello.txt"],
      consumerRoleArns: [role("222222222222", "uploader"), role("333333333333", "reports-reader")],
      consumerAccess: null,
      allowListBucket: true,
      consumerOrg: { orgId },
    } satisfies SourceContract,
  };

  it("leaves the listed roles out of the organization's statements, by aws:PrincipalArn", () => {
    for (const doc of [d.policies.bucket, d.policies.key]) {
      const org = doc.Statement.filter((s) => s.Sid.startsWith("Organization"));
      assert.ok(org.length > 0);
      for (const s of org)
        assert.deepEqual(s.Condition?.ArnNotEquals, {
          "aws:PrincipalArn": [role("222222222222", "uploader"), role("333333333333", "reports-reader")],
        });
    }
  });

  it("a listed writer whose account is in the organization cannot read through the organization grant, even on the source side alone", async () => {
    const member = { accountId: "222222222222", roleName: "uploader", orgId };
    const read = (who: typeof member, key: string) =>
      evaluate(
        d.policies,
        d.contract,
        {
          principal: who,
          action: "s3:GetObject",
          resource: `${d.contract.bucketArn}/${key}`,
          resourceAccount: "111111111111",
        },
        [ALLOW_ALL],
      );
    assert.notEqual(await read(member, "hello.txt"), "Allowed");
    assert.notEqual(
      await read({ ...member, roleName: "reports-reader", accountId: "333333333333" }, "hello.txt"),
      "Allowed",
    );
    // Another role of the same member account still reads through the organization grant, as it should.
    assert.equal(await read({ ...member, roleName: "someone-else" }, "hello.txt"), "Allowed");
  });
});
