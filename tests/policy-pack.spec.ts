import { strict as assert } from "assert";
import { PolicyResource, ResourceValidationArgs, StackValidationArgs } from "@pulumi/policy";
import { RawConfig } from "../shared/program/config";
import { runProgram } from "../shared/offline/run";
import { policies } from "../shared/policy-pack/rules";
import { committedConfig } from "../shared/offline/fixtures";

interface Res {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

interface Violation {
  policy: string;
  message: string;
  urn?: string;
}

/** Thrown by notApplicable(), as the policy server does; the runner skips that resource. */
class NotApplicable extends Error {}

/** The Pulumi type a resource class declares (every SDK-generated class carries one). */
const pulumiTypeOf = (cls: object): string | undefined => (cls as { __pulumiType?: string }).__pulumiType;

const urnOf = (r: Res) => `urn:pulumi:test::cross-account-s3-kms::${r.type}::${r.name}`;

function policyResource(r: Res): PolicyResource {
  return {
    type: r.type,
    name: r.name,
    urn: urnOf(r),
    props: r.inputs,
    opts: {
      protect: false,
      ignoreChanges: [],
      aliases: [],
      customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
      additionalSecretOutputs: [],
    },
    dependencies: [],
    propertyDependencies: {},
    isType: (cls) => pulumiTypeOf(cls) === r.type,
    asType: () => undefined,
  };
}

/** Runs every policy the way the policy server does: resource policies per resource, stack policies once. */
async function runPolicies(resources: Res[], config: Record<string, object> = {}): Promise<Violation[]> {
  const violations: Violation[] = [];
  const notApplicable = (reason?: string): never => {
    throw new NotApplicable(reason);
  };
  for (const p of policies) {
    const report = (message: string, urn?: string) => violations.push({ policy: p.name, message, urn });
    const getConfig = <T extends object>() => (config[p.name] ?? {}) as T;
    if ("validateStack" in p) {
      const args: StackValidationArgs = {
        resources: resources.map(policyResource),
        stackTags: new Map(),
        getConfig,
        notApplicable,
      };
      await p.validateStack(args, report);
      continue;
    }
    const validations = p.validateResource;
    for (const r of resources) {
      for (const v of Array.isArray(validations) ? validations : validations ? [validations] : []) {
        const args: ResourceValidationArgs = {
          ...policyResource(r),
          stackTags: new Map(),
          getConfig,
          notApplicable,
          asType: () => undefined,
        };
        try {
          await v(args, (message, urn) => report(message, urn ?? urnOf(r)));
        } catch (e) {
          if (!(e instanceof NotApplicable)) throw e;
        }
      }
    }
  }
  return violations;
}

const byPolicy = (v: Violation[], name: string) => v.filter((x) => x.policy === name);

describe("CrossGuard policy pack", () => {
  const runs: Record<string, Res[]> = {};
  before(async () => {
    const source = await runProgram({ stack: "source", config: committedConfig("source") });
    const target = await runProgram({
      stack: "target",
      config: committedConfig("target"),
      stackOutputs: { "organization/cross-account-s3-kms/source": source.outputs },
    });
    const ssm = await runProgram({
      stack: "target-ssm",
      config: { ...committedConfig("target"), "cross-account-s3-kms:enableSsm": "true" } satisfies RawConfig,
      stackOutputs: { "organization/cross-account-s3-kms/source": source.outputs },
    });
    Object.assign(runs, { source: source.resources, target: target.resources, ssm: ssm.resources });
  });

  it("has only mandatory rules, each with a name and description", () => {
    assert.equal(policies.length, 10);
    for (const p of policies) {
      assert.equal(p.enforcementLevel, "mandatory", p.name);
      assert.ok(p.description.length > 10);
    }
  });

  for (const stack of ["source", "target", "ssm"]) {
    it(`every rule passes on the ${stack} stack the program produces`, async () => {
      assert.ok(runs[stack].length > 5);
      assert.deepEqual(await runPolicies(runs[stack]), []);
    });
  }

  describe("each rule reports its violating fixture", () => {
    const bucket = (name: string): Res => ({ type: "aws:s3/bucket:Bucket", name, inputs: { bucket: name } });
    const sse = (b: string, rule: Record<string, unknown>): Res => ({
      type: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
      name: `${b}-sse`,
      inputs: { bucket: b, rules: [rule] },
    });
    const bpa = (b: string, flags: Record<string, boolean>): Res => ({
      type: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
      name: `${b}-bpa`,
      inputs: { bucket: b, ...flags },
    });
    const policyFor = (type: string, name: string, statements: object[], extra: Record<string, unknown> = {}): Res => ({
      type,
      name,
      inputs: { ...extra, policy: JSON.stringify({ Version: "2012-10-17", Statement: statements }) },
    });
    const cmk = "arn:aws:kms:us-west-2:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const allFlags = {
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    };

    it("s3-default-encryption-cmk-bucket-key: SSE-S3, an AWS managed key, no Bucket Key, or none at all", async () => {
      const v = await runPolicies([
        bucket("a"),
        sse("a", { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }),
        bucket("b"),
        sse("b", {
          applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: "alias/aws/s3" },
          bucketKeyEnabled: true,
        }),
        bucket("c"),
        sse("c", {
          applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: cmk },
          bucketKeyEnabled: false,
        }),
        bucket("d"),
        bucket("ok"),
        sse("ok", {
          applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: cmk },
          bucketKeyEnabled: true,
        }),
      ]);
      assert.deepEqual(
        byPolicy(v, "s3-default-encryption-cmk-bucket-key").map((x) => x.message.split(" ")[1]),
        ["a", "b", "c", "d"],
      );
    });

    it("s3-block-public-access: one flag off, or no block at all", async () => {
      const v = await runPolicies([
        bucket("a"),
        bpa("a", { ...allFlags, restrictPublicBuckets: false }),
        bucket("b"),
        bucket("ok"),
        bpa("ok", allFlags),
      ]);
      assert.deepEqual(
        byPolicy(v, "s3-block-public-access").map((x) => x.message.split(" ")[1]),
        ["a", "b"],
      );
    });

    it("s3-deny-insecure-transport: a bucket policy without the TLS deny", async () => {
      const v = await runPolicies([
        bucket("a"),
        policyFor(
          "aws:s3/bucketPolicy:BucketPolicy",
          "a-policy",
          [{ Sid: "X", Effect: "Deny", Principal: "*", Action: "s3:PutObject", Resource: "*" }],
          {
            bucket: "a",
          },
        ),
      ]);
      assert.equal(byPolicy(v, "s3-deny-insecure-transport").length, 1);
    });

    it("kms-key-rotation: rotation off", async () => {
      const v = await runPolicies([{ type: "aws:kms/key:Key", name: "k", inputs: { enableKeyRotation: false } }]);
      assert.equal(byPolicy(v, "kms-key-rotation").length, 1);
    });

    it('no-public-resource-policy: Principal "*" with no condition, a condition that names nobody, or a wildcard principal ARN', async () => {
      const stmt = (Sid: string, Condition?: Record<string, Record<string, string | string[]>>) => ({
        Sid,
        Effect: "Allow",
        Principal: "*",
        Action: "s3:GetObject",
        Resource: "*",
        Condition,
      });
      const v = await runPolicies([
        policyFor("aws:ec2/vpcEndpoint:VpcEndpoint", "ep", [
          stmt("Open"),
          stmt("TlsOnly", { Bool: { "aws:SecureTransport": "true" } }),
          stmt("AnyRole", { ArnLike: { "aws:PrincipalArn": "arn:aws:iam::*:role/reader" } }),
          stmt("Org", {
            StringEquals: { "aws:PrincipalOrgID": "o-a1b2c3d4e5" },
            ArnLike: { "aws:PrincipalArn": "arn:aws:iam::*:role/reader" },
          }),
          stmt("OneRole", { ArnEquals: { "aws:PrincipalArn": "arn:aws:iam::222222222222:role/reader" } }),
        ]),
      ]);
      assert.deepEqual(
        byPolicy(v, "no-public-resource-policy").map((x) => x.message.split(" ")[1]),
        ["Open", "TlsOnly", "AnyRole"],
      );
    });

    it("the S3 rules also cover buckets declared with the deprecated BucketV2 type", async () => {
      const v = await runPolicies([{ type: "aws:s3/bucketV2:BucketV2", name: "old", inputs: { bucket: "old" } }]);
      assert.deepEqual(
        ["s3-default-encryption-cmk-bucket-key", "s3-block-public-access", "s3-deny-insecure-transport"].map(
          (p) => byPolicy(v, p).length,
        ),
        [1, 1, 1],
      );
    });

    it('no-wildcard-identity-policy: Action "*", and s3:* on Resource "*"', async () => {
      const v = await runPolicies([
        policyFor("aws:iam/rolePolicy:RolePolicy", "p", [
          { Sid: "All", Effect: "Allow", Action: "*", Resource: "arn:aws:s3:::b" },
          { Sid: "S3", Effect: "Allow", Action: ["s3:*"], Resource: "*" },
        ]),
      ]);
      assert.deepEqual(
        byPolicy(v, "no-wildcard-identity-policy").map((x) => x.message),
        ['Statement All allows Action "*".', 'Statement S3 allows s3:* on Resource "*".'],
      );
    });

    it("consumer-grants-within-access-levels: a second account root holding kms:* on a key", async () => {
      const root = (account: string) => ({
        Sid: `Admin${account}`,
        Effect: "Allow",
        Principal: { AWS: `arn:aws:iam::${account}:root` },
        Action: "kms:*",
        Resource: "*",
      });
      const v = await runPolicies([
        policyFor("aws:kms/key:Key", "k", [root("111111111111"), root("222222222222")], { enableKeyRotation: true }),
      ]);
      const found = byPolicy(v, "consumer-grants-within-access-levels").map((x) => x.message);
      assert.equal(found.length, 3, found.join("\n"));
      assert.match(found[0], /Statements Admin111111111111, Admin222222222222 each give an account root kms:\*/);
    });

    it("kms-key-policy-keeps-root-admin: a key policy without the root statement", async () => {
      const v = await runPolicies([
        policyFor(
          "aws:kms/key:Key",
          "k",
          [
            {
              Sid: "OnlyDecrypt",
              Effect: "Allow",
              Principal: { AWS: "arn:aws:iam::111111111111:root" },
              Action: "kms:Decrypt",
              Resource: "*",
            },
          ],
          { enableKeyRotation: true },
        ),
      ]);
      assert.equal(byPolicy(v, "kms-key-policy-keeps-root-admin").length, 1);
    });

    it("consumer-grants-within-access-levels: a consumer granted a write, a delete, a key's encryption or its administration, by name or wildcard", async () => {
      const consumer = { AWS: "arn:aws:iam::222222222222:root" };
      const allow = (Sid: string, Action: string | string[], Principal?: object | "*") => ({
        Sid,
        Effect: "Allow",
        ...(Principal && { Principal }),
        Action,
        Resource: "*",
      });
      const v = await runPolicies([
        policyFor("aws:s3/bucketPolicy:BucketPolicy", "b", [
          allow("Read", ["s3:GetObject", "s3:ListBucket"], consumer),
          allow("Upload", ["s3:PutObject", "s3:AbortMultipartUpload"], consumer),
          allow("Put", ["s3:PutObject", "s3:DeleteObject"], consumer),
          allow("Star", "s3:*", consumer),
          allow("Acl", "s3:PutBucket?cl", consumer),
          { ...allow("Deny", "s3:*", consumer), Effect: "Deny" },
        ]),
        policyFor(
          "aws:kms/key:Key",
          "k",
          [
            allow("Admin", "kms:*", { AWS: "arn:aws:iam::111111111111:root" }),
            {
              ...allow("Trail", "kms:GenerateDataKey*", { Service: "cloudtrail.amazonaws.com" }),
              Condition: { StringEquals: { "aws:SourceArn": "arn:aws:cloudtrail:us-west-2:111111111111:trail/t" } },
            },
            allow("AnyTrail", "kms:GenerateDataKey*", { Service: "cloudtrail.amazonaws.com" }),
            {
              ...allow("WildTrail", "kms:GenerateDataKey*", { Service: "cloudtrail.amazonaws.com" }),
              Condition: { StringLike: { "aws:SourceArn": "*" } },
            },
            allow("Decrypt", "kms:Decrypt", consumer),
            allow("Writer", ["kms:GenerateDataKey", "kms:Decrypt"], consumer),
            allow("DataKeys", "kms:generatedatakey*", consumer),
            allow("Grants", "kms:CreateGrant", consumer),
          ],
          { enableKeyRotation: true },
        ),
        policyFor("aws:iam/rolePolicy:RolePolicy", "p", [
          allow("Reads", ["s3:GetObject", "kms:Decrypt"]),
          allow("Deletes", "s3:DeleteObject"),
        ]),
        policyFor("aws:ec2/vpcEndpoint:VpcEndpoint", "e", [allow("Retention", "s3:PutObjectRetention", "*")]),
      ]);
      const found = byPolicy(v, "consumer-grants-within-access-levels").map((x) => x.message);
      const sidsFound = found.map((m) => m.split(" ")[1]);
      assert.deepEqual(sidsFound, [
        "Put",
        "Star",
        "Acl",
        "AnyTrail",
        "WildTrail",
        "DataKeys",
        "Grants",
        "Deletes",
        "Retention",
      ]);
      assert.match(found[0], /grants s3:DeleteObject, beyond every access level/);
      assert.match(found[1], /s3:DeleteBucket/);
      assert.match(
        found[5],
        /grants kms:GenerateDataKeyPair, kms:GenerateDataKeyWithoutPlaintext, kms:GenerateDataKeyPairWithoutPlaintext,/,
      );
    });

    it("ec2-imdsv2-no-public-ip-no-key-pair: IMDSv1, a public IP and a key pair; the public IP is accepted when configured", async () => {
      const instance: Res = {
        type: "aws:ec2/instance:Instance",
        name: "i",
        inputs: { metadataOptions: { httpTokens: "optional" }, associatePublicIpAddress: true, keyName: "ops" },
      };
      assert.equal(byPolicy(await runPolicies([instance]), "ec2-imdsv2-no-public-ip-no-key-pair").length, 3);
      const allowed = await runPolicies([instance], { "ec2-imdsv2-no-public-ip-no-key-pair": { allowPublicIp: true } });
      assert.equal(byPolicy(allowed, "ec2-imdsv2-no-public-ip-no-key-pair").length, 2);
    });

    it("ec2-imdsv2-no-public-ip-no-key-pair: a subnet that maps public IPs on launch counts as a public IP", async () => {
      const subnet = (mapPublicIpOnLaunch: boolean): Res => ({
        type: "aws:ec2/subnet:Subnet",
        name: `s-${String(mapPublicIpOnLaunch)}`,
        inputs: { vpcId: "vpc-1", cidrBlock: "10.0.0.0/24", mapPublicIpOnLaunch },
      });
      const defaultSubnet: Res = {
        type: "aws:ec2/defaultSubnet:DefaultSubnet",
        name: "d",
        inputs: { availabilityZone: "us-west-2a", mapPublicIpOnLaunch: true },
      };
      const v = await runPolicies([subnet(true), subnet(false), defaultSubnet]);
      assert.deepEqual(
        byPolicy(v, "ec2-imdsv2-no-public-ip-no-key-pair").map((x) => x.urn),
        [urnOf(subnet(true)), urnOf(defaultSubnet)],
      );
      const allowed = await runPolicies([subnet(true)], {
        "ec2-imdsv2-no-public-ip-no-key-pair": { allowPublicIp: true },
      });
      assert.equal(byPolicy(allowed, "ec2-imdsv2-no-public-ip-no-key-pair").length, 0);
    });

    /**
     * Amazon S3 User Guide, "Blocking public access to your Amazon S3 storage", "The meaning of
     * \"public\"" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html#access-control-block-public-access-policy-status):
     * a policy is non-public when it grants only to fixed values (no wildcard, no policy variable) of
     * an AWS principal (e.g. aws:PrincipalOrgID), aws:SourceArn, aws:SourceVpc, aws:SourceVpce,
     * aws:SourceOwner, aws:SourceAccount, or aws:userid outside the pattern "AROLEID:*". The principal
     * keys: aws:PrincipalOrgID, aws:PrincipalAccount and aws:PrincipalArn (IAM User Guide, "AWS global
     * condition context keys", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html).
     * AWS KMS Developer Guide, "AWS KMS condition keys", kms:CallerAccount
     * (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-caller-account):
     * Principal {"AWS": "*"} with a fixed kms:CallerAccount admits the identities of that one account.
     */
    const AWS_NARROWING: [key: string, fixed: string, wildcard: string][] = [
      ["aws:PrincipalOrgID", "o-a1b2c3d4e5", "o-*"],
      ["aws:PrincipalAccount", "222222222222", "2222222222*"],
      ["aws:PrincipalArn", "arn:aws:iam::222222222222:role/reader", "arn:aws:iam::*:role/reader"],
      ["aws:SourceArn", "arn:aws:cloudtrail:us-west-2:111111111111:trail/audit", "arn:aws:cloudtrail:*"],
      ["aws:SourceVpc", "vpc-91237329", "vpc-*"],
      ["aws:SourceVpce", "vpce-1a2b3c4d", "vpce-${aws:username}"],
      ["aws:SourceOwner", "111111111111", "*"],
      ["aws:SourceAccount", "111111111111", "11111111111?"],
      ["aws:userid", "AROAEXAMPLEROLEID:reader", "AROAEXAMPLEROLEID:*"],
      ["kms:CallerAccount", "222222222222", "*"],
    ];
    /** Keys that narrow nobody: any caller can meet them, whatever the value. */
    const NOT_NARROWING: [key: string, value: string][] = [
      ["aws:SecureTransport", "true"],
      ["s3:prefix", "home/"],
      ["aws:PrincipalType", "AssumedRole"],
      ["aws:RequestedRegion", "us-west-2"],
      ["kms:ViaService", "s3.us-west-2.amazonaws.com"],
    ];
    /**
     * On AWS's list, but the pack is stricter on purpose: a CIDR's breadth is not judged (any
     * aws:SourceIp counts as open), a KMS key ID names no caller, and this project has no access points.
     */
    const STRICTER_THAN_S3: [key: string, value: string][] = [
      ["s3:x-amz-server-side-encryption-aws-kms-key-id", "arn:aws:kms:us-west-2:111111111111:key/k"],
      ["s3:DataAccessPointAccount", "111111111111"],
      ["s3:DataAccessPointArn", "arn:aws:s3:us-west-2:111111111111:accesspoint/reader"],
    ];
    const reported = async (operator: string, rows: [string, string][]): Promise<string[]> => {
      const v = await runPolicies([
        policyFor(
          "aws:s3/bucketPolicy:BucketPolicy",
          "p",
          rows.map(([key, value]) => ({
            Sid: key,
            Effect: "Allow",
            Principal: "*",
            Action: "s3:GetObject",
            Resource: "arn:aws:s3:::b/*",
            Condition: { [operator]: { [key]: value } },
          })),
        ),
      ]);
      return byPolicy(v, "no-public-resource-policy").map((x) => x.message.split(" ")[1]);
    };

    it('no-public-resource-policy: each key AWS counts as narrowing Principal "*" narrows it with a fixed value, never with a wildcard or variable', async () => {
      assert.deepEqual(
        await reported(
          "StringEquals",
          AWS_NARROWING.map(([k, fixed]) => [k, fixed]),
        ),
        [],
      );
      assert.deepEqual(
        await reported(
          "StringLike",
          AWS_NARROWING.map(([k, , wildcard]) => [k, wildcard]),
        ),
        AWS_NARROWING.map(([k]) => k),
      );
    });

    it('no-public-resource-policy: keys that narrow nobody, and aws:SourceIp even for 0.0.0.0/0, leave Principal "*" public', async () => {
      const all = [...NOT_NARROWING, ...STRICTER_THAN_S3];
      assert.deepEqual(
        await reported("StringEquals", all),
        all.map(([k]) => k),
      );
      for (const cidr of ["0.0.0.0/0", "203.0.113.0/24"])
        assert.deepEqual(await reported("IpAddress", [["aws:SourceIp", cidr]]), ["aws:SourceIp"], cidr);
    });

    it("no-open-ingress: 0.0.0.0/0 and ::/0, inline or as rule resources", async () => {
      const v = await runPolicies([
        {
          type: "aws:ec2/securityGroup:SecurityGroup",
          name: "sg",
          inputs: { ingress: [{ fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/0"], ipv6CidrBlocks: ["::/0"] }] },
        },
        {
          type: "aws:ec2/securityGroupRule:SecurityGroupRule",
          name: "r",
          inputs: { type: "ingress", cidrBlocks: ["0.0.0.0/0"] },
        },
        { type: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", name: "v", inputs: { cidrIpv6: "::/0" } },
        {
          type: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
          name: "ok",
          inputs: { referencedSecurityGroupId: "sg-1" },
        },
      ]);
      assert.equal(byPolicy(v, "no-open-ingress").length, 4);
    });
  });

  it("the target's default-VPC mode needs the pack's allowPublicIp setting", async () => {
    const source = await runProgram({ stack: "source", config: committedConfig("source") });
    const run = await runProgram({
      stack: "target-default-vpc",
      config: { ...committedConfig("target"), "cross-account-s3-kms:useDefaultVpc": "true" },
      stackOutputs: { "organization/cross-account-s3-kms/source": source.outputs },
    });
    assert.equal((await runPolicies(run.resources)).length, 1);
    assert.deepEqual(
      await runPolicies(run.resources, { "ec2-imdsv2-no-public-ip-no-key-pair": { allowPublicIp: true } }),
      [],
    );
  });
});
