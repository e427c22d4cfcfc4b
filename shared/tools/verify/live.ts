/**
 * The live state `npm run verify` diagnoses: every policy and setting that decides the reader's
 * copy, read from both accounts. A read that fails (AccessDenied for the verifying principal, a
 * throttle) is recorded in `unreadable`, never thrown: the diagnosis says what it could not see.
 */
import { DescribeInstancesCommand, DescribeVpcEndpointsCommand, VpcEndpoint } from "@aws-sdk/client-ec2";
import {
  GetInstanceProfileCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
} from "@aws-sdk/client-iam";
import { GetKeyPolicyCommand, GetKeyPolicyCommandOutput } from "@aws-sdk/client-kms";
import {
  GetBucketAclCommand,
  GetBucketAclCommandOutput,
  GetBucketLocationCommand,
  GetBucketPolicyCommand,
  GetBucketPolicyCommandOutput,
  GetObjectAclCommand,
  GetObjectAclCommandOutput,
  HeadObjectCommand,
  HeadObjectCommandOutput,
} from "@aws-sdk/client-s3";
import { SourceContract } from "../../program/contract";
import { parseRoleArn } from "../../program/iam/arn";
import { parsePolicy, PolicyDocument } from "../../program/iam/document";
import type { VerifyClients } from "./clients";
import type { TargetOutputs } from "../../program/target-outputs";
import { Network, readNetwork } from "./network";

/**
 * The source's documents that both the checks and the diagnosis read. Each SDK call is made at
 * most once per verify run: its promise, answer or error, is kept for the next reader.
 */
export class LiveReads {
  private bucketPolicyRead?: Promise<GetBucketPolicyCommandOutput>;
  private keyPolicyRead?: Promise<GetKeyPolicyCommandOutput>;
  private readonly objectReads = new Map<string, Promise<HeadObjectCommandOutput>>();
  private readonly objectAclReads = new Map<string, Promise<GetObjectAclCommandOutput>>();
  private bucketAclRead?: Promise<GetBucketAclCommandOutput>;

  constructor(
    private readonly src: SourceContract,
    readonly clients: VerifyClients,
  ) {}

  bucketPolicy(): Promise<GetBucketPolicyCommandOutput> {
    return (this.bucketPolicyRead ??= this.clients.sourceS3.send(
      new GetBucketPolicyCommand({ Bucket: this.src.bucketName }),
    ));
  }

  keyPolicy(): Promise<GetKeyPolicyCommandOutput> {
    return (this.keyPolicyRead ??= this.clients.sourceKms.send(
      new GetKeyPolicyCommand({ KeyId: this.src.keyArn, PolicyName: "default" }),
    ));
  }

  /** The object's metadata (HeadObject): its encryption. */
  object(key: string): Promise<HeadObjectCommandOutput> {
    return once(this.objectReads, key, () =>
      this.clients.sourceS3.send(new HeadObjectCommand({ Bucket: this.src.bucketName, Key: key })),
    );
  }

  /** The object's ACL: under BucketOwnerEnforced, its Owner is the bucket owner. */
  objectAcl(key: string): Promise<GetObjectAclCommandOutput> {
    return once(this.objectAclReads, key, () =>
      this.clients.sourceS3.send(new GetObjectAclCommand({ Bucket: this.src.bucketName, Key: key })),
    );
  }

  /** The bucket's ACL: its Owner is the bucket owner. */
  bucketAcl(): Promise<GetBucketAclCommandOutput> {
    return (this.bucketAclRead ??= this.clients.sourceS3.send(
      new GetBucketAclCommand({ Bucket: this.src.bucketName }),
    ));
  }
}

/** The promise kept for a key, made on the first ask. */
function once<T>(reads: Map<string, Promise<T>>, key: string, read: () => Promise<T>): Promise<T> {
  let r = reads.get(key);
  if (!r) reads.set(key, (r = read()));
  return r;
}

export interface LivePolicy {
  /** How the diagnosis names it: "the key policy (arn:…)", "the inline policy x of role y". */
  name: string;
  doc: PolicyDocument;
}

export interface LiveObject {
  sse?: string;
  keyId?: string;
  bucketKey: boolean;
}

/** What was read; a field left undefined could not be read (see `unreadable`). */
export interface LiveState {
  bucketPolicy?: LivePolicy;
  keyPolicy?: LivePolicy;
  /** The reader role's inline and managed policies. */
  rolePolicies?: LivePolicy[];
  /** False when IAM says the reader role does not exist. */
  roleExists?: boolean;
  /** The role's permissions boundary; null when it has none. */
  boundary?: LivePolicy | null;
  /** The S3 gateway endpoint of the instance's VPC; null when the VPC has none. */
  endpoint?: LivePolicy | null;
  /** The instance's subnet, its route table and the gateway endpoint's: its way to S3. */
  network?: Network;
  /** The instance profile's ARN and its roles' ARNs; null when the instance has no profile. */
  profile?: { arn: string; roles: string[] } | null;
  object?: LiveObject;
  /** The receipt a writer's boot script reported, when it reported one. */
  receipt?: LiveObject;
  bucketRegion?: string;
  targetRegion?: string;
  /** What could not be read, and AWS's answer. */
  unreadable: string[];
}

export const errorText = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

/** An AWS service's answer: its code, HTTP status and message; a HEAD error has no body, so no message (the SDK says UnknownError). */
export function answerText(e: unknown): string {
  if (!(e instanceof Error && "$metadata" in e)) return errorText(e);
  const status = (e.$metadata as { httpStatusCode?: number }).httpStatusCode;
  const said = e.message && e.message !== e.name && e.message !== "UnknownError" ? `: ${e.message}` : "";
  return `${e.name}${status ? ` (HTTP ${status})` : ""}${said}`;
}

/** IAM returns policy documents URL-encoded (RFC 3986); S3, KMS and EC2 return plain JSON. */
const decoded = (text: string | undefined): string | undefined =>
  text === undefined || text.trimStart().startsWith("{") ? text : decodeURIComponent(text);

const live = (name: string, text: string | undefined): LivePolicy => ({
  name,
  doc: parsePolicy(decoded(text), name),
});

/** GetBucketLocation answers null for us-east-1 and "EU" for the oldest eu-west-1 buckets. */
const regionOfLocation = (l: string | undefined): string => (!l ? "us-east-1" : l === "EU" ? "eu-west-1" : l);

async function managedPolicy(iam: IAMClient, arn: string, name: string): Promise<LivePolicy> {
  const p = await iam.send(new GetPolicyCommand({ PolicyArn: arn }));
  const version = p?.Policy?.DefaultVersionId;
  if (!version) throw new Error(`GetPolicy returned no default version for ${arn}`);
  const v = await iam.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: version }));
  return live(name, v?.PolicyVersion?.Document);
}

/** The role's inline policies (ListRolePolicies, GetRolePolicy) and managed ones (ListAttachedRolePolicies). */
async function rolePolicies(iam: IAMClient, role: string): Promise<LivePolicy[]> {
  const out: LivePolicy[] = [];
  let marker: string | undefined;
  do {
    const page = await iam.send(new ListRolePoliciesCommand({ RoleName: role, Marker: marker }));
    for (const name of page?.PolicyNames ?? []) {
      const p = await iam.send(new GetRolePolicyCommand({ RoleName: role, PolicyName: name }));
      out.push(live(`the inline policy ${name} of role ${role}`, p?.PolicyDocument));
    }
    marker = page?.IsTruncated ? page.Marker : undefined;
  } while (marker);
  do {
    const page = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: role, Marker: marker }));
    for (const a of page?.AttachedPolicies ?? [])
      if (a.PolicyArn) out.push(await managedPolicy(iam, a.PolicyArn, `the managed policy ${a.PolicyArn}`));
    marker = page?.IsTruncated ? page.Marker : undefined;
  } while (marker);
  return out;
}

/** The instance's profile and VPC, then the VPC's S3 gateway endpoint (the one the boot script's request passes) and its route. */
async function instanceSide(c: VerifyClients, tgt: TargetOutputs, region: string, state: LiveState): Promise<void> {
  const out = await c.targetEc2.send(new DescribeInstancesCommand({ InstanceIds: [tgt.instanceId] }));
  const instance = out?.Reservations?.[0]?.Instances?.[0];
  if (!instance) throw new Error(`DescribeInstances found no instance ${tgt.instanceId}`);
  const profileArn = instance.IamInstanceProfile?.Arn;
  if (!profileArn) state.profile = null;
  else {
    const name = profileArn.split("/").pop() ?? profileArn;
    await attempt(state, `the instance profile ${profileArn}`, async () => {
      const p = await c.targetIam.send(new GetInstanceProfileCommand({ InstanceProfileName: name }));
      state.profile = { arn: profileArn, roles: (p?.InstanceProfile?.Roles ?? []).map((r) => r.Arn ?? "") };
    });
  }
  if (!instance.VpcId) return;
  const vpcId = instance.VpcId;
  let gateway: VpcEndpoint | undefined;
  await attempt(state, `the S3 endpoints of ${vpcId}`, async () => {
    const e = await c.targetEc2.send(
      new DescribeVpcEndpointsCommand({
        Filters: [
          { Name: "vpc-id", Values: [vpcId] },
          { Name: "service-name", Values: [`com.amazonaws.${region}.s3`] },
        ],
      }),
    );
    gateway = (e?.VpcEndpoints ?? []).find((x) => x.VpcEndpointType === "Gateway");
    state.endpoint = gateway
      ? live(`the policy of the S3 gateway endpoint ${gateway.VpcEndpointId} in ${vpcId}`, gateway.PolicyDocument)
      : null;
  });
  const subnetId = instance.SubnetId;
  if (subnetId && state.endpoint !== undefined)
    await attempt(state, `the route table of subnet ${subnetId}`, async () => {
      state.network = await readNetwork(c.targetEc2, vpcId, subnetId, gateway);
    });
}

/** Runs one read; a failure is written down, not thrown. */
async function attempt(state: LiveState, what: string, read: () => Promise<void>): Promise<void> {
  try {
    await read();
  } catch (e) {
    state.unreadable.push(`${what}: ${errorText(e)}`);
  }
}

const nameOf = (e: unknown): string => (e instanceof Error ? e.name : "");

/** The region a client is configured for: SDK clients resolve it through a provider. */
async function regionOf(client: { config: { region: unknown } }): Promise<string | undefined> {
  const r = client.config.region;
  const v: unknown = typeof r === "function" ? await (r as () => Promise<unknown>)() : r;
  return typeof v === "string" ? v : undefined;
}

/**
 * The live state; `reads` gives the documents the checks already read, without a second call.
 * `receiptKey`: the receipt a writer's boot script reported.
 */
export async function readLive(
  src: SourceContract,
  tgt: TargetOutputs,
  reads: LiveReads,
  receiptKey?: string,
): Promise<LiveState> {
  const c = reads.clients;
  const state: LiveState = { unreadable: [] };
  const roleName = parseRoleArn(tgt.roleArn)?.roleName;
  await attempt(state, `the policy of bucket ${src.bucketName}`, async () => {
    try {
      const p = await reads.bucketPolicy();
      state.bucketPolicy = live(`the bucket policy of ${src.bucketName}`, p?.Policy);
    } catch (e) {
      if (nameOf(e) !== "NoSuchBucketPolicy") throw e;
      state.bucketPolicy = {
        name: `the bucket policy of ${src.bucketName} (none)`,
        doc: { Version: "2012-10-17", Statement: [] },
      };
    }
  });
  await attempt(state, `the key policy of ${src.keyArn}`, async () => {
    const p = await reads.keyPolicy();
    state.keyPolicy = live(`the key policy (${src.keyArn})`, p?.Policy);
  });
  const objectKey = tgt.objectKey;
  if (objectKey !== null)
    await attempt(state, `the encryption of s3://${src.bucketName}/${objectKey}`, async () => {
      const h = await reads.object(objectKey);
      state.object = { sse: h?.ServerSideEncryption, keyId: h?.SSEKMSKeyId, bucketKey: h?.BucketKeyEnabled === true };
    });
  if (receiptKey !== undefined)
    await attempt(state, `the encryption of s3://${src.bucketName}/${receiptKey}`, async () => {
      const h = await reads.object(receiptKey);
      state.receipt = { sse: h?.ServerSideEncryption, keyId: h?.SSEKMSKeyId, bucketKey: h?.BucketKeyEnabled === true };
    });
  await attempt(state, `the region of bucket ${src.bucketName}`, async () => {
    const l = await c.sourceS3.send(new GetBucketLocationCommand({ Bucket: src.bucketName }));
    state.bucketRegion = regionOfLocation(l?.LocationConstraint);
  });
  state.targetRegion = await regionOf(c.targetEc2);
  if (roleName) {
    await attempt(state, `the reader role ${roleName}`, async () => {
      try {
        const r = await c.targetIam.send(new GetRoleCommand({ RoleName: roleName }));
        state.roleExists = true;
        const arn = r?.Role?.PermissionsBoundary?.PermissionsBoundaryArn;
        state.boundary = arn ? await managedPolicy(c.targetIam, arn, `the permissions boundary ${arn}`) : null;
      } catch (e) {
        if (nameOf(e) !== "NoSuchEntityException" && nameOf(e) !== "NoSuchEntity") throw e;
        state.roleExists = false;
      }
    });
    if (state.roleExists !== false)
      await attempt(state, `the policies of role ${roleName}`, async () => {
        state.rolePolicies = await rolePolicies(c.targetIam, roleName);
      });
  }
  await attempt(state, `the instance ${tgt.instanceId}`, () =>
    instanceSide(c, tgt, state.targetRegion ?? src.region, state),
  );
  return state;
}
