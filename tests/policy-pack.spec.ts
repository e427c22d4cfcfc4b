import { strict as assert } from "assert";
import { PolicyResource, ResourceValidationArgs, StackValidationArgs } from "@pulumi/policy";
import { RawConfig } from "../shared/program/config";
import { runProgram } from "../shared/offline/run";
import { NARROWING_KEYS, policies } from "../shared/policy-pack/rules";
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
    assert.equal(policies.length, 9);
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

    it("no-public-resource-policy: each narrowing condition key it accepts, with a fixed value and with a wildcard", async () => {
      for (const key of NARROWING_KEYS) {
        const statement = (value: string) => ({
          Sid: "Narrowed",
          Effect: "Allow",
          Principal: "*",
          Action: "s3:GetObject",
          Resource: "*",
          Condition: { StringLike: { [key]: value } },
        });
        const fixed = await runPolicies([
          policyFor("aws:ec2/vpcEndpoint:VpcEndpoint", "ep", [statement("fixed-value")]),
        ]);
        assert.equal(byPolicy(fixed, "no-public-resource-policy").length, 0, `${key} with a fixed value narrows`);
        const open = await runPolicies([policyFor("aws:ec2/vpcEndpoint:VpcEndpoint", "ep", [statement("*")])]);
        assert.equal(byPolicy(open, "no-public-resource-policy").length, 1, `${key} = "*" narrows nothing`);
      }
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
