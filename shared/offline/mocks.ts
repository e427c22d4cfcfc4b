/**
 * The one mocks module, keyed on type tokens. It returns only what AWS would compute (ARNs, IDs)
 * and echoes every input, so tests assert on what the program sends, never on invented values.
 */
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";

export interface MockContext {
  region: string;
  accountId: string;
  /** Outputs of each stack a StackReference may name, keyed by the stack name. */
  stackOutputs: Record<string, Record<string, unknown>>;
  /** Every provider function the program invoked, in order, with its arguments and result. */
  invokes: Invoke[];
}

export interface Invoke {
  token: string;
  args: Record<string, unknown>;
  result: Record<string, unknown>;
}

type State = Record<string, unknown>;
type Inputs = Record<string, unknown>;

const hex = (s: string, n: number): string => createHash("sha256").update(s).digest("hex").slice(0, n);
const uuid = (s: string): string => {
  const h = hex(s, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

const str = (v: unknown, fallback: string): string => (typeof v === "string" ? v : fallback);

/** What AWS computes for each resource type, given the inputs. */
const computed: Record<string, (ctx: MockContext, name: string, inputs: Inputs) => State> = {
  "aws:kms/key:Key": (ctx, name) => {
    const keyId = uuid(name);
    return { keyId, arn: `arn:aws:kms:${ctx.region}:${ctx.accountId}:key/${keyId}` };
  },
  "aws:kms/alias:Alias": (ctx, _name, i) => ({
    arn: `arn:aws:kms:${ctx.region}:${ctx.accountId}:${str(i.name, "alias/x")}`,
  }),
  "aws:s3/bucket:Bucket": (_ctx, name, i) => {
    const bucket = str(i.bucket, `${name}-${hex(name, 7)}`);
    return { bucket, arn: `arn:aws:s3:::${bucket}` };
  },
  "aws:cloudtrail/trail:Trail": (ctx, name, i) => ({
    arn: `arn:aws:cloudtrail:${ctx.region}:${ctx.accountId}:trail/${str(i.name, name)}`,
  }),
  "aws:iam/role:Role": (ctx, name, i) => {
    const roleName = str(i.name, `${name}-${hex(name, 7)}`);
    return {
      name: roleName,
      arn: `arn:aws:iam::${ctx.accountId}:role/${roleName}`,
      uniqueId: `AROA${hex(name, 17).toUpperCase()}`,
    };
  },
  "aws:iam/instanceProfile:InstanceProfile": (ctx, name, i) => {
    const n = str(i.name, `${name}-${hex(name, 7)}`);
    return { name: n, arn: `arn:aws:iam::${ctx.accountId}:instance-profile/${n}` };
  },
  "aws:ec2/instance:Instance": (_ctx, name) => ({
    arn: `arn:aws:ec2:::instance/i-${hex(name, 17)}`,
    privateIp: "10.0.0.10",
    publicIp: "",
  }),
  "aws:ec2/securityGroup:SecurityGroup": (_ctx, name) => ({ arn: `arn:aws:ec2:::security-group/sg-${hex(name, 17)}` }),
  // A remote component: only its outputs come back, as AWS would create one isolated subnet.
  "awsx:ec2:Vpc": (_ctx, name) => ({
    vpcId: `vpc-${hex(name, 17)}`,
    isolatedSubnetIds: [`subnet-${hex(name, 17)}`],
    privateSubnetIds: [],
    publicSubnetIds: [],
  }),
};

type Filter = { name: string; values: string[] };
/** A Local Zone of the region, as AWS names them (us-west-2-lax-1a). */
const localZone = (ctx: MockContext): string => `${ctx.region}-lax-1a`;
const filterValues = (args: Record<string, unknown>, name: string): string[] =>
  ((args.filters as Filter[] | undefined) ?? []).find((f) => f.name === name)?.values ?? [];

/**
 * Instance types as DescribeInstanceTypes describes them (ProcessorInfo.SupportedArchitectures), per
 * the "Processor" column of https://docs.aws.amazon.com/ec2/latest/instancetypes/gp.html and, for
 * Mac types, https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-mac-instances.html (mac1: Intel,
 * mac2: Apple M1). `offered: false` stands for a type the mock region's zones lack.
 */
const INSTANCE_TYPES: Record<string, { architectures: string[]; offered: boolean }> = {
  "t2.micro": { architectures: ["i386", "x86_64"], offered: true },
  "t3.micro": { architectures: ["x86_64"], offered: true },
  "t4g.nano": { architectures: ["arm64"], offered: true },
  "m7g.medium": { architectures: ["arm64"], offered: true },
  "c7g.medium": { architectures: ["arm64"], offered: true },
  "hpc7g.4xlarge": { architectures: ["arm64"], offered: false },
  "mac1.metal": { architectures: ["x86_64_mac"], offered: true },
  "mac2.metal": { architectures: ["arm64_mac"], offered: true },
};

/**
 * Every other type the provider lists, by its family, as AWS names them: a Graviton family has a "g"
 * right after its generation (a1, t4g, m7g, c7gn, x2gd, im4gn, is4gen, g5g; see
 * https://docs.aws.amazon.com/ec2/latest/instancetypes/ec2-instance-type-specifications.html), mac2
 * families are Apple silicon, mac1 Intel; the rest is x86_64. The config rules admit only listed types.
 */
const FAMILIES: [RegExp, string[]][] = [
  [/^mac1\./, ["x86_64_mac"]],
  [/^mac2/, ["arm64_mac"]],
  [/^(a1|[a-z]+\d+g[a-z]*)\./, ["arm64"]],
  [/^[a-z]/, ["x86_64"]],
];

/** An instance type as AWS describes it: from the table, else by its family. */
function describedType(t: string): { architectures: string[]; offered: boolean } {
  const d =
    INSTANCE_TYPES[t] ??
    FAMILIES.map(([family, architectures]) => (family.test(t) ? { architectures, offered: true } : undefined)).find(
      (x) => x,
    );
  if (d === undefined) throw new Error(`the offline mocks cannot describe instance type ${JSON.stringify(t)}`);
  return d;
}

/** What each provider function returns, given its arguments. */
const functions: Record<string, (ctx: MockContext, args: Record<string, unknown>) => Record<string, unknown>> = {
  "aws:ssm/getParameter:getParameter": (_ctx, a) => ({
    name: a.name,
    type: "String",
    value: `ami-${hex(str(a.name, ""), 17)}`,
  }),
  "aws:ec2/getManagedPrefixList:getManagedPrefixList": (_ctx, a) => ({
    id: `pl-${hex(str(a.name, ""), 8)}`,
    name: a.name,
  }),
  "aws:ec2/getRouteTables:getRouteTables": (_ctx, a) => ({
    ids: filterValues(a, "association.subnet-id").map((s) => `rtb-${hex(s, 17)}`),
  }),
  // Zones named out of order, as AWS may list them, with an opted-in Local Zone, whose name sorts
  // before the standard zones'; a type of INSTANCE_TYPES without zones is offered nowhere.
  "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings": (ctx, a) => ({
    locations: filterValues(a, "instance-type").every((t) => describedType(t).offered)
      ? [...["c", "a", "b"].map((z) => `${ctx.region}${z}`), localZone(ctx)]
      : [],
  }),
  "aws:ec2/getInstanceType:getInstanceType": (_ctx, a) => ({
    instanceType: a.instanceType,
    supportedArchitectures: describedType(str(a.instanceType, "")).architectures,
  }),
  // Standard zones need no opt-in; Local and Wavelength Zones do.
  "aws:index/getAvailabilityZones:getAvailabilityZones": (ctx, a) => {
    const standard = ["a", "b", "c"].map((z) => `${ctx.region}${z}`);
    const optIn = filterValues(a, "opt-in-status");
    return { names: optIn.length > 0 && !optIn.includes("opted-in") ? standard : [...standard, localZone(ctx)] };
  },
  "aws:ec2/getVpc:getVpc": (ctx) => ({
    id: `vpc-${hex(`default-${ctx.accountId}`, 17)}`,
    cidrBlock: "172.31.0.0/16",
    default: true,
  }),
  "aws:ec2/getSubnets:getSubnets": (_ctx, a) => ({
    ids: ["b", "a", "c"].map((az) => `subnet-${hex(filterValues(a, "vpc-id")[0] + az, 17)}`),
  }),
};

const ids: Record<string, (name: string, inputs: Inputs) => string> = {
  "aws:s3/bucket:Bucket": (name, i) => str(i.bucket, `${name}-${hex(name, 7)}`),
  "aws:kms/key:Key": (name) => uuid(name),
  "aws:ec2/instance:Instance": (name) => `i-${hex(name, 17)}`,
};

export function createMocks(ctx: MockContext): pulumi.runtime.Mocks {
  return {
    newResource(args: pulumi.runtime.MockResourceArgs): { id: string | undefined; state: State } {
      const inputs = args.inputs as Inputs;
      if (args.type === "pulumi:pulumi:StackReference") {
        const name = str(inputs.name, args.name);
        const outputs = ctx.stackOutputs[name];
        // A missing stack mirrors what the engine reports for a stack that was never deployed.
        if (outputs === undefined) throw new Error(`unknown stack "${name}"`);
        return { id: name, state: { name, outputs } };
      }
      if (args.custom === false) {
        return { id: undefined, state: { ...inputs, ...(computed[args.type]?.(ctx, args.name, inputs) ?? {}) } };
      }
      const id = ids[args.type]?.(args.name, inputs) ?? `${args.name}-id`;
      return { id, state: { ...inputs, ...(computed[args.type]?.(ctx, args.name, inputs) ?? {}) } };
    },
    call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
      const f = functions[args.token];
      // The SDK passes on a failed invoke's gRPC `details`, not its message.
      const fail = (message: string): never => {
        throw Object.assign(new Error(message), { details: message });
      };
      if (f === undefined) return fail(`unexpected call to ${args.token}: add it to shared/offline/mocks.ts`);
      let result: Record<string, unknown>;
      try {
        result = f(ctx, args.inputs as Record<string, unknown>);
      } catch (e) {
        return fail(e instanceof Error ? e.message : String(e));
      }
      ctx.invokes.push({ token: args.token, args: args.inputs as Record<string, unknown>, result });
      return result;
    },
  };
}
