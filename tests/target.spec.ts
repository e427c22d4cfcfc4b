import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { strict as assert } from "assert";
import * as path from "path";
import { RawConfig } from "../shared/program/config";
import { validateTargetOutputs } from "../shared/program/target-outputs";
import {
  CapturedResource,
  one,
  ofType,
  policyOf,
  runProgram,
  runProgramExpectingError,
  StackRun,
} from "../shared/offline/run";
import { Invoke } from "../shared/offline/mocks";
import { actionsOf, awsPrincipals, cond, resourcesOf, sorted } from "../shared/offline/policy-queries";
import { committedConfig, MIXED_SOURCE, SOURCE_BASE, TARGET_BASE } from "../shared/offline/fixtures";

const SOURCE_STACK = "organization/cross-account-s3-kms/source";
const TARGET: RawConfig = committedConfig("target");

/** The source's real outputs: the source program run under mocks with its committed config. */
let SOURCE_OUTPUTS: Record<string, unknown>;
before(async () => {
  SOURCE_OUTPUTS = (await runProgram({ stack: "source", config: committedConfig("source") })).outputs;
});

const runTarget = (config: RawConfig = {}, outputs: Record<string, unknown> = SOURCE_OUTPUTS): Promise<StackRun> =>
  runProgram({ stack: "target", config: { ...TARGET, ...config }, stackOutputs: { [SOURCE_STACK]: outputs } });

const invoked = (run: StackRun, token: string): Invoke[] => run.invokes.filter((i) => i.token === token);

const declared = (resources: CapturedResource[]): CapturedResource[] =>
  resources.filter((r) => r.type !== "pulumi:pulumi:StackReference");

describe("target stack (account B) with the committed configs", () => {
  let run: StackRun;
  let bucketArn: string;
  let keyArn: string;
  const ROLE = "arn:aws:iam::222222222222:role/account-b-role";
  before(async () => {
    run = await runTarget();
    bucketArn = String(SOURCE_OUTPUTS.bucketArn);
    keyArn = String(SOURCE_OUTPUTS.keyArn);
  });

  describe("reader role", () => {
    it("is named as the source grants it, and only EC2 may assume it", () => {
      const role = one(run, "aws:iam/role:Role");
      assert.equal(role.inputs.name, "account-b-role");
      const trust = policyOf(role, "assumeRolePolicy");
      assert.equal(trust.Statement.length, 1);
      assert.equal(trust.Statement[0].Effect, "Allow");
      assert.deepEqual(trust.Statement[0].Principal, { Service: "ec2.amazonaws.com" });
      assert.deepEqual(actionsOf(trust.Statement[0]), ["sts:AssumeRole"]);
      assert.equal(trust.Statement[0].Resource, undefined);
      assert.equal(role.inputs.permissionsBoundary, undefined);
      assert.ok(
        (SOURCE_OUTPUTS.consumerRoleArns as string[]).includes(String(run.outputs.roleArn)),
        "the exported role is one the source grants",
      );
      assert.equal(run.outputs.roleArn, ROLE);
    });

    it("identity policy: GetObject, ListBucket and kms:Decrypt via S3 on the exact ARNs, nothing else", () => {
      const doc = policyOf(one(run, "aws:iam/rolePolicy:RolePolicy"));
      const grants = doc.Statement.flatMap((s) =>
        actionsOf(s).flatMap((a) => resourcesOf(s).map((r) => `${s.Effect} ${a} ${r}`)),
      ).sort();
      assert.deepEqual(grants, [
        `Allow kms:Decrypt ${keyArn}`,
        `Allow s3:GetObject ${bucketArn}/*`,
        `Allow s3:ListBucket ${bucketArn}`,
      ]);
      const decrypt = doc.Statement.find((s) => actionsOf(s).includes("kms:Decrypt"));
      assert.ok(decrypt);
      assert.deepEqual(cond(decrypt, "StringEquals", "kms:ViaService"), ["s3.us-west-2.amazonaws.com"]);
      for (const s of doc.Statement) assert.equal(s.Principal, undefined);
    });

    it("has an instance profile for the role, and no Session Manager policy by default", () => {
      const profile = one(run, "aws:iam/instanceProfile:InstanceProfile");
      assert.equal(profile.inputs.role, "account-b-role");
      assert.equal(ofType(run, "aws:iam/rolePolicyAttachment:RolePolicyAttachment").length, 0);
    });
  });

  describe("network", () => {
    it("is an awsx VPC with isolated subnets only and no NAT gateway", () => {
      const vpc = one(run, "awsx:ec2:Vpc");
      assert.deepEqual(vpc.inputs.natGateways, { strategy: "None" });
      const specs = vpc.inputs.subnetSpecs as { type: string }[];
      assert.deepEqual(
        specs.map((s) => s.type),
        ["Isolated"],
      );
      // awsx builds its children in its own provider, so the inputs above are what the program decides.
    });

    it("puts its subnet in the first standard zone (by name) that offers the instance type, never a Local Zone", () => {
      const offers = invoked(run, "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings");
      assert.equal(offers.length, 1);
      assert.equal(offers[0].args.locationType, "availability-zone");
      assert.deepEqual(offers[0].args.filters, [{ name: "instance-type", values: ["t4g.nano"] }]);
      const zones = invoked(run, "aws:index/getAvailabilityZones:getAvailabilityZones");
      assert.equal(zones.length, 1, "asks for the zones that need no opt-in");
      assert.deepEqual(zones[0].args.filters, [{ name: "opt-in-status", values: ["opt-in-not-required"] }]);
      const standard = zones[0].result.names as string[];
      const offered = sorted(offers[0].result.locations as string[]);
      assert.notEqual(
        offered[0],
        sorted(offered.filter((z) => standard.includes(z)))[0],
        "the mock offers a Local Zone that sorts first",
      );
      assert.deepEqual(one(run, "awsx:ec2:Vpc").inputs.availabilityZoneNames, [
        sorted(offered.filter((z) => standard.includes(z)))[0],
      ]);
    });

    it("has an S3 gateway endpoint on the isolated subnets' route tables", () => {
      const ep = ofType(run, "aws:ec2/vpcEndpoint:VpcEndpoint");
      assert.equal(ep.length, 1);
      assert.equal(ep[0].inputs.vpcEndpointType, "Gateway");
      assert.equal(ep[0].inputs.serviceName, "com.amazonaws.us-west-2.s3");
      const lookup = invoked(run, "aws:ec2/getRouteTables:getRouteTables");
      assert.equal(lookup.length, 1);
      const subnetFilter = (lookup[0].args.filters as { name: string; values: string[] }[]).find(
        (f) => f.name === "association.subnet-id",
      );
      assert.deepEqual(subnetFilter?.values, [one(run, "aws:ec2/instance:Instance").inputs.subnetId]);
      assert.deepEqual(ep[0].inputs.routeTableIds, lookup[0].result.ids);
    });

    it("endpoint policy: only the reader role's reads of the source bucket pass", () => {
      const doc = policyOf(one(run, "aws:ec2/vpcEndpoint:VpcEndpoint"));
      assert.equal(doc.Statement.length, 1);
      const [s] = doc.Statement;
      assert.equal(s.Effect, "Allow");
      assert.deepEqual(sorted(actionsOf(s)), ["s3:GetObject", "s3:ListBucket"]);
      assert.deepEqual(sorted(resourcesOf(s)), [bucketArn, `${bucketArn}/*`]);
      assert.equal(s.Principal, "*");
      assert.deepEqual(cond(s, "ArnEquals", "aws:PrincipalArn"), [ROLE]);
    });

    it("security group: no ingress, egress only HTTPS to the regional S3 prefix list, every rule described", () => {
      const sg = one(run, "aws:ec2/securityGroup:SecurityGroup");
      assert.deepEqual(sg.inputs.ingress, []);
      const pl = invoked(run, "aws:ec2/getManagedPrefixList:getManagedPrefixList");
      assert.equal(pl.length, 1);
      assert.equal(pl[0].args.name, "com.amazonaws.us-west-2.s3");
      const egress = sg.inputs.egress as Record<string, unknown>[];
      assert.equal(egress.length, 1);
      assert.equal(egress[0].protocol, "tcp");
      assert.equal(egress[0].fromPort, 443);
      assert.equal(egress[0].toPort, 443);
      assert.deepEqual(egress[0].prefixListIds, [pl[0].result.id]);
      assert.equal(egress[0].cidrBlocks, undefined);
      assert.ok(typeof egress[0].description === "string" && egress[0].description.length > 0);
    });
  });

  describe("instance", () => {
    let inst: CapturedResource;
    before(() => (inst = one(run, "aws:ec2/instance:Instance")));

    it("requires IMDSv2 with hop limit 1, has no key pair and no public IP, and encrypts its root volume", () => {
      const md = inst.inputs.metadataOptions as Record<string, unknown>;
      assert.equal(md.httpTokens, "required");
      assert.equal(md.httpPutResponseHopLimit, 1);
      assert.equal(inst.inputs.keyName, undefined);
      assert.equal(inst.inputs.associatePublicIpAddress, false);
      assert.equal((inst.inputs.rootBlockDevice as Record<string, unknown>).encrypted, true);
    });

    it("is a t4g.nano on the latest arm64 Amazon Linux 2023, kept across AMI releases", () => {
      assert.equal(inst.inputs.instanceType, "t4g.nano");
      const ami = invoked(run, "aws:ssm/getParameter:getParameter");
      assert.equal(ami.length, 1);
      assert.equal(ami[0].args.name, "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64");
      assert.equal(inst.inputs.ami, ami[0].result.value);
      assert.deepEqual(inst.opts.ignoreChanges, ["ami"]);
      assert.deepEqual(inst.inputs.creditSpecification, { cpuCredits: "standard" });
    });

    it("uses the reader's instance profile and launches after the role's policy and the S3 endpoint's route exist", () => {
      assert.equal(inst.inputs.iamInstanceProfile, "account-b-role");
      const deps = inst.opts.dependsOn as pulumi.Resource[];
      assert.ok(
        Array.isArray(deps) && deps.length === 2,
        `two dependencies, got ${Array.isArray(deps) ? deps.length : 0}`,
      );
      assert.ok(
        deps.some((d) => aws.iam.RolePolicy.isInstance(d)),
        "the role's inline policy",
      );
      // The gateway endpoint's route is the isolated subnet's only way to S3: the first copy must not race it.
      assert.ok(
        deps.some((d) => aws.ec2.VpcEndpoint.isInstance(d)),
        "the S3 gateway endpoint",
      );
    });

    it("boots the rendered script, which copies the source's first object, and is replaced when it changes", () => {
      const ud = String(inst.inputs.userData);
      assert.ok(ud.startsWith("#!/bin/bash\n"));
      assert.ok(ud.includes(`BUCKET='${String(SOURCE_OUTPUTS.bucketName)}'`));
      assert.ok(ud.includes(`OBJECT_KEY='${(SOURCE_OUTPUTS.objectKeys as string[])[0]}'`));
      assert.ok(ud.includes("REGION='us-west-2'"));
      assert.ok(ud.includes("TIMEOUT_MS='300000'"));
      assert.ok(ud.includes('aws s3 cp "s3://$BUCKET/$OBJECT_KEY"'));
      assert.equal(inst.inputs.userDataReplaceOnChange, true);
    });
  });

  it("exports the instance, role, object, destination, marker prefix and the role's access", () => {
    const first = (SOURCE_OUTPUTS.objectKeys as string[])[0];
    assert.deepEqual(Object.keys(run.outputs).sort(), [
      "access",
      "destinationPath",
      "instanceId",
      "markerPrefix",
      "objectKey",
      "reads",
      "receiptPrefix",
      "roleArn",
      "sourceBucket",
      "writes",
    ]);
    assert.deepEqual([run.outputs.access, run.outputs.reads, run.outputs.writes], ["read", true, false]);
    assert.equal(run.outputs.receiptPrefix, null, "a reader writes no receipt");
    assert.equal(run.outputs.objectKey, first);
    assert.equal(run.outputs.destinationPath, `/var/lib/cross-account-s3-kms/${path.posix.basename(first)}`);
    assert.equal(run.outputs.markerPrefix, "CROSS_ACCOUNT_COPY");
    assert.equal(run.outputs.sourceBucket, SOURCE_OUTPUTS.bucketName);
    assert.deepEqual(validateTargetOutputs(run.outputs), { ok: true, outputs: run.outputs }, "verify can read them");
  });

  it("tags every taggable resource with Name and the project tags", () => {
    for (const r of run.resources.filter((x) => "tags" in x.inputs)) {
      const t = r.inputs.tags as Record<string, string> | undefined;
      assert.ok(t?.Name, `${r.type} ${r.name}`);
      assert.equal(t?.Project, "cross-account-s3-kms");
    }
  });
});

describe("target stack options", () => {
  it("x86 instance types get the x86_64 AMI; non-burstable types get no credit setting", async () => {
    const x86 = await runTarget({ "cross-account-s3-kms:instanceType": "t3.micro" });
    assert.equal(
      invoked(x86, "aws:ssm/getParameter:getParameter")[0].args.name,
      "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
    );
    const graviton = await runTarget({ "cross-account-s3-kms:instanceType": "m7g.medium" });
    assert.equal(
      invoked(graviton, "aws:ssm/getParameter:getParameter")[0].args.name,
      "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64",
    );
    assert.equal(one(graviton, "aws:ec2/instance:Instance").inputs.creditSpecification, undefined);
  });

  it("amiId pins the AMI: no lookup, and a change of it replaces the instance", async () => {
    const run = await runTarget({ "cross-account-s3-kms:amiId": "ami-0123456789abcdef0" });
    const inst = one(run, "aws:ec2/instance:Instance");
    assert.equal(inst.inputs.ami, "ami-0123456789abcdef0");
    assert.equal(invoked(run, "aws:ssm/getParameter:getParameter").length, 0);
    assert.deepEqual(inst.opts.ignoreChanges, []);
  });

  it("permissionsBoundaryArn is set on the role", async () => {
    const arn = "arn:aws:iam::222222222222:policy/boundaries/workload";
    const run = await runTarget({ "cross-account-s3-kms:permissionsBoundaryArn": arn });
    assert.equal(one(run, "aws:iam/role:Role").inputs.permissionsBoundary, arn);
  });

  it("objectKey, destinationDir and copyTimeoutSeconds reach the boot script", async () => {
    const key = (SOURCE_OUTPUTS.objectKeys as string[])[0];
    const run = await runTarget({
      "cross-account-s3-kms:objectKey": key,
      "cross-account-s3-kms:destinationDir": "/srv/data/",
      "cross-account-s3-kms:copyTimeoutSeconds": "120",
    });
    const ud = String(one(run, "aws:ec2/instance:Instance").inputs.userData);
    assert.ok(ud.includes(`DEST='/srv/data/${path.posix.basename(key)}'`));
    assert.ok(ud.includes("TIMEOUT_MS='120000'"));
    assert.equal(run.outputs.destinationPath, `/srv/data/${path.posix.basename(key)}`);
  });

  it("enableSsm adds the managed policy and private interface endpoints reachable only from the instance", async () => {
    const run = await runTarget({ "cross-account-s3-kms:enableSsm": "true" });
    assert.equal(
      one(run, "aws:iam/rolePolicyAttachment:RolePolicyAttachment").inputs.policyArn,
      "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
    );
    const iface = ofType(run, "aws:ec2/vpcEndpoint:VpcEndpoint").filter(
      (e) => e.inputs.vpcEndpointType === "Interface",
    );
    assert.deepEqual(sorted(iface.map((e) => String(e.inputs.serviceName))), [
      "com.amazonaws.us-west-2.ec2messages",
      "com.amazonaws.us-west-2.ssm",
      "com.amazonaws.us-west-2.ssmmessages",
    ]);
    for (const e of iface) assert.equal(e.inputs.privateDnsEnabled, true);
    const sgs = ofType(run, "aws:ec2/securityGroup:SecurityGroup");
    assert.equal(sgs.length, 2);
    for (const sg of sgs) {
      const ingress = sg.inputs.ingress as Record<string, unknown>[];
      for (const rule of ingress) {
        assert.equal(rule.cidrBlocks, undefined, "ingress only from a security group");
        assert.ok(rule.description);
      }
    }
    assert.equal(
      sgs.filter((sg) => (sg.inputs.ingress as unknown[]).length === 0).length,
      1,
      "the instance's group still has no ingress",
    );
  });

  it("useDefaultVpc runs in a default subnet with a public IP and creates no VPC or endpoint", async () => {
    const run = await runTarget({ "cross-account-s3-kms:useDefaultVpc": "true" });
    assert.equal(ofType(run, "awsx:ec2:Vpc").length, 0);
    assert.equal(ofType(run, "aws:ec2/vpcEndpoint:VpcEndpoint").length, 0);
    const vpc = invoked(run, "aws:ec2/getVpc:getVpc");
    assert.equal(vpc[0]?.args.default, true);
    const subnets = invoked(run, "aws:ec2/getSubnets:getSubnets")[0];
    const inst = one(run, "aws:ec2/instance:Instance");
    assert.equal(inst.inputs.subnetId, sorted(subnets.result.ids as string[])[0]);
    assert.equal(inst.inputs.associatePublicIpAddress, true);
    const standard = invoked(run, "aws:index/getAvailabilityZones:getAvailabilityZones")[0].result.names as string[];
    const zone = sorted(
      (
        invoked(run, "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings")[0].result.locations as string[]
      ).filter((z) => standard.includes(z)),
    )[0];
    assert.deepEqual(
      (subnets.args.filters as { name: string; values: string[] }[]).find((f) => f.name === "availability-zone")
        ?.values,
      [zone],
    );
    assert.deepEqual(one(run, "aws:ec2/securityGroup:SecurityGroup").inputs.ingress, []);
  });
});

describe("target stack errors (before any resource is declared)", () => {
  const withOutputs = (change: (o: Record<string, unknown>) => void): Record<string, unknown> => {
    const o = { ...SOURCE_OUTPUTS };
    change(o);
    return o;
  };

  const cases: {
    what: string;
    config?: RawConfig;
    outputs?: () => Record<string, unknown> | undefined;
    expect: RegExp[];
  }[] = [
    {
      what: "the source stack does not exist",
      outputs: () => undefined,
      expect: [/Cannot read the source stack "organization\/cross-account-s3-kms\/source"/, /pulumi up -s source/],
    },
    { what: "the source stack has no outputs", outputs: () => ({}), expect: [/has no outputs/, /pulumi up -s source/] },
    {
      what: "an output is missing",
      outputs: () => withOutputs((o) => delete o.keyArn),
      expect: [/lacks the outputs keyArn/, /pulumi up -s source/],
    },
    {
      what: "the key is exported as an alias",
      outputs: () => withOutputs((o) => (o.keyArn = "arn:aws:kms:us-west-2:111111111111:alias/accounta-cmk")),
      expect: [/invalid contract/, /keyArn: must be a full key ARN/],
    },
    {
      what: "the regions differ",
      config: { "aws:region": "eu-west-1" },
      expect: [/aws:region = "eu-west-1", but the source bucket and key are in us-west-2/],
    },
    {
      what: "this role is not granted",
      config: { "cross-account-s3-kms:roleName": "other-role" },
      expect: [
        /arn:aws:iam::222222222222:role\/other-role is not granted/,
        /Add \{ accountId: "222222222222", roleName: "other-role" \} to cross-account-s3-kms:consumers/,
        /pulumi up -s source/,
      ],
    },
    {
      what: "the object is not in the source",
      config: { "cross-account-s3-kms:objectKey": "missing.txt" },
      expect: [/objectKey = "missing.txt": must be one of the source's objects/],
    },
    {
      what: "the object key holds a newline",
      config: { "cross-account-s3-kms:objectKey": "a\nb.txt" },
      expect: [/objectKey = "a\\nb.txt": must not contain a backslash or a control character/],
    },
    {
      what: "the account ID is an unquoted YAML number",
      config: { "aws:allowedAccountIds": "[222222222222]" },
      expect: [/aws:allowedAccountIds\[0\] = 222222222222: is a number: quote it in YAML/],
    },
    {
      what: "no zone offers the instance type",
      config: { "cross-account-s3-kms:instanceType": "hpc7g.4xlarge" },
      expect: [/instanceType = "hpc7g.4xlarge": no availability zone of us-west-2 offers it/],
    },
    {
      what: "an unknown instance type",
      config: { "cross-account-s3-kms:instanceType": "large" },
      expect: [/instanceType = "large": is not an EC2 instance type the AWS provider knows/],
    },
    {
      what: "a malformed AMI ID",
      config: { "cross-account-s3-kms:amiId": "ami-xyz" },
      expect: [/amiId = "ami-xyz": must be an AMI ID/],
    },
    {
      what: "a relative destination",
      config: { "cross-account-s3-kms:destinationDir": "data" },
      expect: [/destinationDir = "data": must be an absolute folder path/],
    },
    {
      what: "a timeout too short",
      config: { "cross-account-s3-kms:copyTimeoutSeconds": "5" },
      expect: [/copyTimeoutSeconds = "5": must be a whole number from 30 to 3600/],
    },
    {
      what: "a bad boundary ARN",
      config: { "cross-account-s3-kms:permissionsBoundaryArn": "boundary" },
      expect: [/permissionsBoundaryArn = "boundary": must be an IAM managed policy ARN/],
    },
    {
      what: "a source-only key",
      config: { "cross-account-s3-kms:consumers": "[]" },
      expect: [/cross-account-s3-kms:consumers is not a target-stack key/],
    },
  ];

  for (const c of cases) {
    it(`fails clearly when ${c.what}`, async () => {
      const outputs = c.outputs ? c.outputs() : SOURCE_OUTPUTS;
      const { error, resources } = await runProgramExpectingError({
        stack: "target",
        config: { ...TARGET, ...(c.config ?? {}) },
        stackOutputs: outputs === undefined ? {} : { [SOURCE_STACK]: outputs },
      });
      for (const re of c.expect) assert.match(error.message, re);
      assert.equal(error.name, "UserError");
      assert.deepEqual(
        declared(resources).map((r) => r.type),
        [],
      );
    });
  }
});

describe("source grants, as the target sees them", () => {
  it("a role granted only through the organization grant passes the target's check, when its name is allowed", async () => {
    const config = {
      ...committedConfig("source"),
      "cross-account-s3-kms:consumers": "[]",
      "cross-account-s3-kms:consumerOrgId": "o-a1b2c3d4e5",
      "cross-account-s3-kms:consumerRoleNames": '["account-b-role"]',
    };
    const src = await runProgram({ stack: "source", config });
    const run = await runProgram({ stack: "target", config: TARGET, stackOutputs: { [SOURCE_STACK]: src.outputs } });
    assert.equal(run.outputs.roleArn, "arn:aws:iam::222222222222:role/account-b-role");
    const denied = await runProgramExpectingError({
      stack: "target",
      config: { ...TARGET, "cross-account-s3-kms:roleName": "other" },
      stackOutputs: { [SOURCE_STACK]: src.outputs },
    });
    assert.match(
      denied.error.message,
      /role\/other is not granted by the source \(it grants roles named account-b-role in o-a1b2c3d4e5\)/,
    );
    assert.match(denied.error.message, /Add "other" to cross-account-s3-kms:consumerRoleNames/);
  });

  it("a second consumer account and role is granted once added to the source's consumers", async () => {
    const src = await runProgram({
      stack: "source",
      config: {
        ...committedConfig("source"),
        "cross-account-s3-kms:consumers": JSON.stringify([
          { accountId: "222222222222", roleName: "account-b-role" },
          { accountId: "333333333333", roleName: "batch-reader" },
        ]),
      },
    });
    const run = await runProgram({
      stack: "target-2",
      config: {
        ...TARGET,
        "aws:allowedAccountIds": '["333333333333"]',
        "cross-account-s3-kms:roleName": "batch-reader",
      },
      stackOutputs: { [SOURCE_STACK]: src.outputs },
    });
    const doc = policyOf(one(run, "aws:ec2/vpcEndpoint:VpcEndpoint"));
    assert.deepEqual(cond(doc.Statement[0], "ArnEquals", "aws:PrincipalArn"), [
      "arn:aws:iam::333333333333:role/batch-reader",
    ]);
    assert.deepEqual(awsPrincipals(doc.Statement[0].Principal), []);
  });
});

/** A value the boot script assigns, unquoted as bash would: `NAME='it'\''s'` is it's. */
function assigned(userData: string, name: string): string {
  const m = new RegExp(`^${name}='((?:[^']|'\\\\'')*)'$`, "m").exec(userData);
  assert.ok(m, `no ${name}= line in the user data`);
  return m[1].replace(/'\\''/g, "'");
}

/** Each Allow of a policy as "<action> <resource>", sorted. */
const grantsOf = (doc: ReturnType<typeof policyOf>): string[] =>
  doc.Statement.flatMap((s) => actionsOf(s).flatMap((a) => resourcesOf(s).map((r) => `${s.Effect} ${a} ${r}`))).sort();

describe("target stacks of consumers that write, or that are limited to key prefixes", () => {
  /** MIXED_SOURCE's real outputs, as a source whose objects folder holds these keys would export them. */
  const OBJECTS = ["hello.txt", "reports/2024/q4.csv", "reports/q1.csv"];
  let mixed: Record<string, unknown>;
  let bucketArn: string;
  let keyArn: string;
  before(async () => {
    const src = await runProgram({ stack: "source", config: MIXED_SOURCE });
    mixed = { ...src.outputs, objectKeys: OBJECTS };
    bucketArn = String(mixed.bucketArn);
    keyArn = String(mixed.keyArn);
  });

  const consumer = (accountId: string, roleName: string, config: RawConfig = {}): RawConfig => ({
    ...TARGET_BASE,
    "aws:allowedAccountIds": JSON.stringify([accountId]),
    "cross-account-s3-kms:roleName": roleName,
    ...config,
  });
  const run = (config: RawConfig, outputs: Record<string, unknown> = mixed) =>
    runProgram({ stack: "target", config, stackOutputs: { [SOURCE_STACK]: outputs } });
  const userData = (r: StackRun): string => String(one(r, "aws:ec2/instance:Instance").inputs.userData);

  describe("a write-only consumer (drop-writer on incoming/)", () => {
    let r: StackRun;
    before(async () => (r = await run(consumer("444444444444", "drop-writer"))));

    it("its role may only upload under incoming/, with the key via S3: no read, no list", () => {
      const doc = policyOf(one(r, "aws:iam/rolePolicy:RolePolicy"));
      assert.deepEqual(grantsOf(doc), [
        `Allow kms:Decrypt ${keyArn}`,
        `Allow kms:GenerateDataKey ${keyArn}`,
        `Allow s3:AbortMultipartUpload ${bucketArn}/incoming/*`,
        `Allow s3:PutObject ${bucketArn}/incoming/*`,
      ]);
      const kms = doc.Statement.find((s) => actionsOf(s).includes("kms:GenerateDataKey"));
      assert.ok(kms);
      assert.deepEqual(cond(kms, "StringEquals", "kms:ViaService"), ["s3.us-west-2.amazonaws.com"]);
    });

    it("its endpoint lets only its uploads under incoming/ pass", () => {
      const doc = policyOf(one(r, "aws:ec2/vpcEndpoint:VpcEndpoint"));
      assert.deepEqual(grantsOf(doc), [
        `Allow s3:AbortMultipartUpload ${bucketArn}/incoming/*`,
        `Allow s3:PutObject ${bucketArn}/incoming/*`,
      ]);
      for (const s of doc.Statement)
        assert.deepEqual(cond(s, "ArnEquals", "aws:PrincipalArn"), ["arn:aws:iam::444444444444:role/drop-writer"]);
    });

    it("boots a script that skips the read and uploads its receipt under incoming/ with the key's full ARN", () => {
      const ud = userData(r);
      assert.equal(assigned(ud, "OBJECT_KEY"), "");
      assert.equal(assigned(ud, "SKIP_REASON"), "the role's access is write: it does not read");
      assert.equal(assigned(ud, "RECEIPT_PREFIX"), "incoming/");
      assert.equal(assigned(ud, "KEY_ARN"), keyArn);
      assert.match(keyArn, /^arn:aws:kms:us-west-2:111111111111:key\//);
    });

    it("exports no object to copy, its level, and where its receipt goes", () => {
      assert.equal(r.outputs.objectKey ?? null, null);
      assert.equal(r.outputs.destinationPath ?? null, null);
      assert.equal(r.outputs.access, "write");
      assert.equal(r.outputs.reads, false);
      assert.equal(r.outputs.writes, true);
      assert.equal(r.outputs.receiptPrefix, "incoming/");
      const v = validateTargetOutputs(r.outputs);
      assert.ok(v.ok, JSON.stringify(v));
    });
  });

  describe("a read-write consumer on a prefix (ingest-writer on incoming/)", () => {
    it("its role reads, lists and writes incoming/ only, and uses the key via S3 both ways", async () => {
      const r = await run(consumer("222222222222", "ingest-writer"));
      const doc = policyOf(one(r, "aws:iam/rolePolicy:RolePolicy"));
      assert.deepEqual(grantsOf(doc), [
        `Allow kms:Decrypt ${keyArn}`,
        `Allow kms:GenerateDataKey ${keyArn}`,
        `Allow s3:AbortMultipartUpload ${bucketArn}/incoming/*`,
        `Allow s3:GetObject ${bucketArn}/incoming/*`,
        `Allow s3:ListBucket ${bucketArn}`,
        `Allow s3:PutObject ${bucketArn}/incoming/*`,
      ]);
      const list = doc.Statement.find((s) => actionsOf(s).includes("s3:ListBucket"));
      assert.ok(list);
      assert.deepEqual(cond(list, "StringLike", "s3:prefix"), ["incoming/*"]);
      const endpoint = policyOf(one(r, "aws:ec2/vpcEndpoint:VpcEndpoint"));
      assert.deepEqual(
        grantsOf(endpoint).filter((g) => !g.includes(":ListBucket")),
        [
          `Allow s3:AbortMultipartUpload ${bucketArn}/incoming/*`,
          `Allow s3:GetObject ${bucketArn}/incoming/*`,
          `Allow s3:PutObject ${bucketArn}/incoming/*`,
        ],
      );
    });

    it("with no object under incoming/, skips the read, still writes, and exports no object", async () => {
      const r = await run(consumer("222222222222", "ingest-writer"));
      const ud = userData(r);
      assert.equal(assigned(ud, "OBJECT_KEY"), "");
      assert.equal(assigned(ud, "SKIP_REASON"), "no object of the source lies under incoming/");
      assert.equal(assigned(ud, "RECEIPT_PREFIX"), "incoming/");
      assert.equal(r.outputs.objectKey ?? null, null);
      assert.deepEqual([r.outputs.access, r.outputs.reads, r.outputs.writes], ["read-write", true, true]);
      assert.ok(validateTargetOutputs(r.outputs).ok);
    });

    it("reads the first object under incoming/ when there is one, then writes", async () => {
      const r = await run(consumer("222222222222", "ingest-writer"), {
        ...mixed,
        objectKeys: ["hello.txt", "incoming/a.txt", "incoming/b.txt"],
      });
      const ud = userData(r);
      assert.equal(assigned(ud, "OBJECT_KEY"), "incoming/a.txt");
      assert.equal(assigned(ud, "DEST"), "/var/lib/cross-account-s3-kms/a.txt");
      assert.equal(assigned(ud, "RECEIPT_PREFIX"), "incoming/");
      assert.equal(r.outputs.objectKey, "incoming/a.txt");
      assert.equal(r.outputs.receiptPrefix, "incoming/");
    });
  });

  describe("a prefix reader (reports-reader on reports/)", () => {
    it("its role reads and lists reports/ only; it writes nothing and needs no data key", async () => {
      const r = await run(consumer("333333333333", "reports-reader"));
      const doc = policyOf(one(r, "aws:iam/rolePolicy:RolePolicy"));
      assert.deepEqual(grantsOf(doc), [
        `Allow kms:Decrypt ${keyArn}`,
        `Allow s3:GetObject ${bucketArn}/reports/*`,
        `Allow s3:ListBucket ${bucketArn}`,
      ]);
      const endpoint = policyOf(one(r, "aws:ec2/vpcEndpoint:VpcEndpoint"));
      assert.deepEqual(grantsOf(endpoint), [
        `Allow s3:GetObject ${bucketArn}/reports/*`,
        `Allow s3:ListBucket ${bucketArn}`,
      ]);
      for (const s of endpoint.Statement)
        assert.deepEqual(cond(s, "ArnEquals", "aws:PrincipalArn"), ["arn:aws:iam::333333333333:role/reports-reader"]);
    });

    it("copies the first of the source's objects under reports/ by default, and uploads nothing", async () => {
      const r = await run(consumer("333333333333", "reports-reader"));
      const ud = userData(r);
      assert.equal(assigned(ud, "OBJECT_KEY"), "reports/2024/q4.csv");
      assert.equal(assigned(ud, "RECEIPT_PREFIX"), "");
      assert.equal(assigned(ud, "KEY_ARN"), "");
      assert.deepEqual(
        [r.outputs.objectKey, r.outputs.destinationPath, r.outputs.access, r.outputs.reads, r.outputs.writes],
        ["reports/2024/q4.csv", "/var/lib/cross-account-s3-kms/q4.csv", "read", true, false],
      );
      assert.equal(r.outputs.receiptPrefix ?? null, null);
    });

    it("takes an objectKey inside its prefixes", async () => {
      const r = await run(
        consumer("333333333333", "reports-reader", { "cross-account-s3-kms:objectKey": "reports/q1.csv" }),
      );
      assert.equal(assigned(userData(r), "OBJECT_KEY"), "reports/q1.csv");
    });
  });

  it("a whole-bucket writer puts its receipt under receipts/", async () => {
    const src = await runProgram({
      stack: "source",
      config: {
        ...SOURCE_BASE,
        "cross-account-s3-kms:consumers":
          '[{"accountId":"222222222222","roleName":"account-b-role","access":"read-write"}]',
      },
    });
    const r = await run(TARGET_BASE, src.outputs);
    const ud = userData(r);
    assert.equal(assigned(ud, "OBJECT_KEY"), "hello.txt");
    assert.equal(assigned(ud, "RECEIPT_PREFIX"), "receipts/");
    assert.equal(r.outputs.receiptPrefix, "receipts/");
  });

  describe("refuses, before any resource is declared", () => {
    const refused = async (config: RawConfig, expect: RegExp) => {
      const { error, resources } = await runProgramExpectingError({
        stack: "target",
        config,
        stackOutputs: { [SOURCE_STACK]: mixed },
      });
      assert.equal(error.name, "UserError");
      assert.match(error.message, expect);
      assert.deepEqual(
        declared(resources).map((x) => x.type),
        [],
      );
    };

    it("an objectKey outside the reader's prefixes, naming the key, the value and the prefixes", () =>
      refused(
        consumer("333333333333", "reports-reader", { "cross-account-s3-kms:objectKey": "hello.txt" }),
        /cross-account-s3-kms:objectKey = "hello\.txt": must lie inside the key prefixes the source grants arn:aws:iam::333333333333:role\/reports-reader to read: "reports\/"/,
      ));

    it("an objectKey for a role that only writes", () =>
      refused(
        consumer("444444444444", "drop-writer", { "cross-account-s3-kms:objectKey": "hello.txt" }),
        /cross-account-s3-kms:objectKey = "hello\.txt": the source grants arn:aws:iam::444444444444:role\/drop-writer write access, which reads nothing: leave cross-account-s3-kms:objectKey unset/,
      ));
  });
});
