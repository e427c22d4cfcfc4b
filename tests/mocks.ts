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
  /** Outputs returned by remote (multi-language) components, keyed by type token. */
  componentOutputs: Record<string, Record<string, unknown>>;
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
  "aws:kms/alias:Alias": (ctx, _name, i) => ({ arn: `arn:aws:kms:${ctx.region}:${ctx.accountId}:${str(i.name, "alias/x")}` }),
  "aws:s3/bucket:Bucket": (_ctx, name, i) => {
    const bucket = str(i.bucket, `${name}-${hex(name, 7)}`);
    return { bucket, arn: `arn:aws:s3:::${bucket}` };
  },
  "aws:cloudtrail/trail:Trail": (ctx, name, i) => ({ arn: `arn:aws:cloudtrail:${ctx.region}:${ctx.accountId}:trail/${str(i.name, name)}` }),
  "aws:iam/role:Role": (ctx, name, i) => {
    const roleName = str(i.name, `${name}-${hex(name, 7)}`);
    return { name: roleName, arn: `arn:aws:iam::${ctx.accountId}:role/${roleName}`, uniqueId: `AROA${hex(name, 17).toUpperCase()}` };
  },
  "aws:iam/instanceProfile:InstanceProfile": (ctx, name, i) => {
    const n = str(i.name, `${name}-${hex(name, 7)}`);
    return { name: n, arn: `arn:aws:iam::${ctx.accountId}:instance-profile/${n}` };
  },
  "aws:ec2/instance:Instance": (_ctx, name) => ({ arn: `arn:aws:ec2:::instance/i-${hex(name, 17)}`, privateIp: "10.0.0.10", publicIp: "" }),
  "aws:ec2/securityGroup:SecurityGroup": (_ctx, name) => ({ arn: `arn:aws:ec2:::security-group/sg-${hex(name, 17)}` }),
};

const ids: Record<string, (name: string, inputs: Inputs) => string> = {
  "aws:s3/bucket:Bucket": (name, i) => str(i.bucket, `${name}-${hex(name, 7)}`),
  "aws:kms/key:Key": (name) => uuid(name),
  "aws:ec2/instance:Instance": (name) => `i-${hex(name, 17)}`,
};

export function createMocks(ctx: MockContext): pulumi.runtime.Mocks {
  return {
    newResource(args: pulumi.runtime.MockResourceArgs): { id: string | undefined; state: State } {
      if (args.type === "pulumi:pulumi:StackReference") {
        const name = str(args.inputs.name, args.name);
        const outputs = ctx.stackOutputs[name];
        // A missing stack mirrors what the engine reports for a stack that was never deployed.
        if (outputs === undefined) throw new Error(`unknown stack "${name}"`);
        return { id: name, state: { name, outputs } };
      }
      if (args.custom === false) {
        return { id: undefined, state: { ...args.inputs, ...(ctx.componentOutputs[args.type] ?? {}) } };
      }
      const inputs = args.inputs as Inputs;
      const id = ids[args.type]?.(args.name, inputs) ?? `${args.name}-id`;
      return { id, state: { ...inputs, ...(computed[args.type]?.(ctx, args.name, inputs) ?? {}) } };
    },
    call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
      throw new Error(`unexpected call to ${args.token}: add it to tests/mocks.ts`);
    },
  };
}
