import { strict as assert } from "assert";
import {
  ec2TrustPolicy,
  readerIdentityPolicy,
  readGrant,
  ReadTarget,
  sourceBucketPolicy,
  sourceKeyPolicy,
} from "../shared/program/iam/grants";
import { actionsOf, awsPrincipals, cond, resourcesOf, sorted } from "../shared/offline/policy-queries";
import { captureDeployment, Deployment, generatedPolicies, GeneratedPolicy } from "../shared/offline/access";
import { committedConfig } from "../shared/offline/fixtures";
import { accountRootArn, parseRoleArn } from "../shared/program/iam/arn";
import { Statement } from "../shared/program/iam/document";
import { coversAction, READER_NEVER } from "./never-granted";

const target: ReadTarget = {
  region: "ap-southeast-2",
  bucketName: "shared-data",
  keyArn: "arn:aws:kms:ap-southeast-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
  allowListBucket: true,
};
const consumers = [
  { accountId: "210987654321", roleName: "reader" },
  { accountId: "210987654321", roleName: "batch" },
  { accountId: "345678901234", roleName: "reader" },
];

describe("policy builders (pure, no Pulumi)", () => {
  it("one grant: one statement per permission set, whatever the number of consumers", () => {
    const g = readGrant(target, { consumers });
    assert.equal(g.bucket.length, 1);
    assert.equal(g.key.length, 1);
    for (const s of [...g.bucket, ...g.key]) {
      assert.deepEqual(sorted(awsPrincipals(s.Principal)), [
        "arn:aws:iam::210987654321:root",
        "arn:aws:iam::345678901234:root",
      ]);
      assert.deepEqual(sorted(cond(s, "ArnEquals", "aws:PrincipalArn")), [
        "arn:aws:iam::210987654321:role/batch",
        "arn:aws:iam::210987654321:role/reader",
        "arn:aws:iam::345678901234:role/reader",
      ]);
    }
    assert.deepEqual(sorted(cond(g.key[0], "StringEquals", "kms:CallerAccount")), ["210987654321", "345678901234"]);
  });

  it("identity statements name a Resource and no Principal; resource statements name a Principal", () => {
    const g = readGrant(target, { consumers });
    for (const s of g.identity) {
      assert.equal(s.Principal, undefined, s.Sid);
      assert.ok(resourcesOf(s).length > 0, s.Sid);
      assert.ok(!resourcesOf(s).includes("*"), `${s.Sid} has no * resource`);
    }
    for (const s of [...g.bucket, ...g.key]) assert.ok(s.Principal !== undefined && s.Principal !== "*", s.Sid);
  });

  it("identity side: GetObject and ListBucket on the bucket, Decrypt on the exact key via S3", () => {
    const doc = readerIdentityPolicy(target, consumers[0]);
    const actions = doc.Statement.flatMap((s) => actionsOf(s).map((a) => `${a} ${resourcesOf(s).join(",")}`)).sort();
    assert.deepEqual(actions, [
      `kms:Decrypt ${target.keyArn}`,
      "s3:GetObject arn:aws:s3:::shared-data/*",
      "s3:ListBucket arn:aws:s3:::shared-data",
    ]);
    const decrypt = doc.Statement.find((s) => actionsOf(s).includes("kms:Decrypt"));
    assert.deepEqual(decrypt && cond(decrypt, "StringEquals", "kms:ViaService"), ["s3.ap-southeast-2.amazonaws.com"]);
  });

  it("without allowListBucket, neither side mentions s3:ListBucket", () => {
    const g = readGrant({ ...target, allowListBucket: false }, { consumers });
    for (const s of [...g.bucket, ...g.key, ...g.identity]) assert.ok(!actionsOf(s).includes("s3:ListBucket"), s.Sid);
  });

  it("the key policy never depends on the key's ARN, so it can be built before the key exists", () => {
    const args = { ...target, accountId: "123456789012", consumers };
    assert.ok(!JSON.stringify(sourceKeyPolicy(args)).includes(target.keyArn));
    assert.ok(JSON.stringify(sourceBucketPolicy(args)).includes(target.keyArn));
  });

  it("the EC2 trust policy has no Resource, which IAM forbids in trust policies", () => {
    const doc = ec2TrustPolicy();
    assert.equal(doc.Statement.length, 1);
    assert.equal(doc.Statement[0].Resource, undefined);
    assert.deepEqual(doc.Statement[0].Principal, { Service: "ec2.amazonaws.com" });
    assert.deepEqual(actionsOf(doc.Statement[0]), ["sts:AssumeRole"]);
  });
});

describe("the policies the program sends (committed configs): what the consumers are granted", () => {
  let d: Deployment;
  before(async () => (d = await captureDeployment(committedConfig("source"), committedConfig("target"))));

  /** Allow statements that reach a consumer: identity and endpoint ones, resource ones to a consumer or "*". */
  const consumerAllows = (p: GeneratedPolicy, consumerRoots: string[]): Statement[] =>
    p.kind === "trust"
      ? []
      : p.doc.Statement.filter(
          (s) =>
            s.Effect === "Allow" &&
            (p.kind !== "resource" ||
              s.Principal === "*" ||
              awsPrincipals(s.Principal).some((a) => consumerRoots.includes(a))),
        );
  const forbidden = (statements: Statement[]) =>
    statements.flatMap((s) =>
      READER_NEVER.filter((a) => actionsOf(s).some((pattern) => coversAction(pattern, a))).map((a) => `${s.Sid}: ${a}`),
    );
  const allPolicies = () => [...generatedPolicies(d.source), ...generatedPolicies(d.target)];
  const roots = () => d.contract.consumerRoleArns.map((arn) => accountRootArn(parseRoleArn(arn)?.accountId ?? arn));

  it("grants them exactly s3:GetObject, s3:ListBucket and kms:Decrypt, in each policy that must allow them", () => {
    const granted = allPolicies().flatMap((p) =>
      consumerAllows(p, roots()).flatMap((s) => actionsOf(s).map((a) => `${p.where.split(" ")[0]} ${a}`)),
    );
    assert.deepEqual([...new Set(granted)].sort(), [
      "aws:ec2/vpcEndpoint:VpcEndpoint s3:GetObject",
      "aws:ec2/vpcEndpoint:VpcEndpoint s3:ListBucket",
      "aws:iam/rolePolicy:RolePolicy kms:Decrypt",
      "aws:iam/rolePolicy:RolePolicy s3:GetObject",
      "aws:iam/rolePolicy:RolePolicy s3:ListBucket",
      "aws:kms/key:Key kms:Decrypt",
      "aws:s3/bucketPolicy:BucketPolicy s3:GetObject",
      "aws:s3/bucketPolicy:BucketPolicy s3:ListBucket",
    ]);
  });

  it("grants them none of the 53 actions a reader must never have, wildcards included", () => {
    assert.deepEqual(
      allPolicies().flatMap((p) => forbidden(consumerAllows(p, roots()))),
      [],
    );
    // The check itself sees a wildcard grant.
    const wide: Statement = {
      Sid: "Wide",
      Effect: "Allow",
      Action: ["s3:putobject*", "kms:reencrypt*"],
      Resource: "*",
    };
    assert.deepEqual(forbidden([wide]).sort(), [
      "Wide: kms:ReEncryptFrom",
      "Wide: kms:ReEncryptTo",
      "Wide: s3:PutObject",
      "Wide: s3:PutObjectAcl",
      "Wide: s3:PutObjectLegalHold",
      "Wide: s3:PutObjectRetention",
      "Wide: s3:PutObjectVersionAcl",
    ]);
  });
});
