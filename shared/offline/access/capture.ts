/**
 * Capture: runs the real program under mocks, source then target (once more for every other
 * consumer the source grants), and keeps the policies that decide a read, as the program sends them.
 */
import { bucketArn, parseRoleArn, roleArn, trailArn } from "../../program/iam/arn";
import { configKey, RawConfig, TARGET_DEFAULTS } from "../../program/config";
import { SourceContract, validateContract } from "../../program/contract";
import { UserError } from "../../program/errors";
import { PolicyDocument } from "../../program/iam/document";
import { CapturedResource, ofType, policyOf, runProgram, StackRun } from "../run";

export interface Principal {
  accountId: string;
  roleName: string;
  /** The principal's organization, when the model takes its account to be a member. */
  orgId?: string;
  /** Its account's organization path, e.g. o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/. */
  orgPath?: string;
}

/** What one consumer's target stack produced: its role's identity policies and its endpoint policy. */
export interface ConsumerPolicies {
  role: Principal;
  identity: PolicyDocument[];
  /** The S3 gateway endpoint's policy, when the consumer's instance runs in the private VPC. */
  endpoint?: PolicyDocument;
}

/** The policies that decide a read, as the program sends them. */
export interface AccessPolicies {
  bucket: PolicyDocument;
  key: PolicyDocument;
  consumers: ConsumerPolicies[];
  /** The bucket's RestrictPublicBuckets setting: it stops cross-account use of a public bucket policy. */
  restrictPublicBuckets: boolean;
  /** The audit trail and the policy of its log bucket, when the source has a trail. */
  audit?: { trailArn: string; logBucketArn: string; logBucketPolicy: PolicyDocument };
  /** The sample objects' uploads, with the S3 condition keys their headers set, as the program sends them. */
  uploads: Upload[];
}

export interface Upload {
  key: string;
  headers: Record<string, string>;
}

/** The encryption headers of a BucketObjectv2 as S3 condition keys. */
function uploadOf(inputs: Record<string, unknown>): Upload {
  const headers: Record<string, string> = {};
  if (typeof inputs.serverSideEncryption === "string")
    headers["s3:x-amz-server-side-encryption"] = inputs.serverSideEncryption;
  if (typeof inputs.kmsKeyId === "string") headers["s3:x-amz-server-side-encryption-aws-kms-key-id"] = inputs.kmsKeyId;
  return { key: String(inputs.key), headers };
}

/** The trail, from the name the program gives it, and its log bucket's policy. */
function auditOf(source: StackRun, contract: SourceContract): AccessPolicies["audit"] {
  const trail = ofType(source, "aws:cloudtrail/trail:Trail")[0];
  if (!trail) return undefined;
  const logBucket = String(trail.inputs.s3BucketName);
  const policy = ofType(source, "aws:s3/bucketPolicy:BucketPolicy").find((p) => p.inputs.bucket === logBucket);
  if (!policy) throw new Error(`the trail's log bucket ${logBucket} has no bucket policy`);
  return {
    trailArn: trailArn(contract.region, contract.accountId, String(trail.inputs.name)),
    logBucketArn: bucketArn(logBucket),
    logBucketPolicy: policyOf(policy),
  };
}

export interface Deployment {
  source: StackRun;
  /** The target stack of the given target config. */
  target: StackRun;
  contract: SourceContract;
  policies: AccessPolicies;
}

function consumerPolicies(run: StackRun, role: Principal): ConsumerPolicies {
  const gateway = ofType(run, "aws:ec2/vpcEndpoint:VpcEndpoint").find((e) => e.inputs.vpcEndpointType === "Gateway");
  return {
    role,
    identity: ofType(run, "aws:iam/rolePolicy:RolePolicy").map((p) => policyOf(p)),
    endpoint: gateway ? policyOf(gateway) : undefined,
  };
}

/**
 * The consumers whose target programs still run after the target's own, and what each run needs:
 * plain data, so that a worker thread can run some of them as this thread would.
 */
export interface ConsumerRuns {
  sourceStack: string;
  sourceOutputs: Record<string, unknown>;
  targetConfig: RawConfig;
  roles: Principal[];
  /** A shared counter (one Int32): each thread takes the next index from it until none is left. */
  next: SharedArrayBuffer;
}

/** Threads that run some of the consumers' target programs: by index, those they ran. */
export interface CaptureHelpers {
  capture(runs: ConsumerRuns): Promise<Map<number, ConsumerPolicies>>;
}

/** The captured policies of a consumer's role, found by its account and name. */
export const consumerOf = (policies: AccessPolicies, p: Principal): ConsumerPolicies | undefined =>
  policies.consumers.find((c) => c.role.accountId === p.accountId && c.role.roleName === p.roleName);

/** A consumer's target stack: the target config as that consumer's account and role. */
export async function runConsumer(runs: ConsumerRuns, role: Principal): Promise<ConsumerPolicies> {
  const run = await runProgram({
    stack: `target-${role.accountId}-${role.roleName}`,
    config: {
      ...runs.targetConfig,
      "aws:allowedAccountIds": JSON.stringify([role.accountId]),
      [configKey("roleName")]: role.roleName,
    },
    stackOutputs: { [runs.sourceStack]: runs.sourceOutputs },
  });
  return consumerPolicies(run, role);
}

/** The next consumer's index from the shared counter; past the last when none is left. */
export const takeNext = (runs: ConsumerRuns): number => Atomics.add(new Int32Array(runs.next), 0, 1);

/**
 * Runs the source stack, then the target stack with the source's outputs behind its
 * StackReference, once for the given target config and once more for every other consumer the
 * source grants (as that consumer's account and role), and captures the policies that decide a read.
 * `afterSource` sees the source's contract before the target programs run; it may start work
 * meanwhile, and return helpers that run some consumers' programs beside this thread. What a helper
 * did not answer (it failed, or stopped) runs here, so an error is the one a run here gives.
 */
export async function captureDeployment(
  sourceConfig: RawConfig,
  targetConfig: RawConfig,
  labels?: { source: string; target: string },
  afterSource?: (contract: SourceContract) => CaptureHelpers | void,
): Promise<Deployment> {
  // A user error names the file it came from, when the caller read two.
  const labelled = async <T>(label: string | undefined, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (e) {
      throw e instanceof UserError && label ? new UserError(`${label}: ${e.message}`) : e;
    }
  };
  const source = await labelled(labels?.source, () => runProgram({ stack: "source", config: sourceConfig }));
  const checked = validateContract(source.outputs);
  if (!checked.ok) throw new Error(`the source stack's outputs break the contract: ${checked.problems.join("; ")}`);
  const contract = checked.contract;
  const helpers = afterSource?.(contract);
  const sourceStack = targetConfig[configKey("sourceStack")] ?? TARGET_DEFAULTS.sourceStack;

  const target = await labelled(labels?.target, () =>
    runProgram({ stack: "target", config: targetConfig, stackOutputs: { [sourceStack]: source.outputs } }),
  );
  const roles: Principal[] = contract.consumerRoleArns.map((arn) => {
    const role = parseRoleArn(arn);
    if (!role) throw new Error(`not a role ARN: ${arn}`);
    return role;
  });
  // The target's role, granted by the organization grant alone: the model takes its account to be a member.
  const targetRole = parseRoleArn(String(target.outputs.roleArn));
  if (contract.consumerOrg && targetRole && !contract.consumerRoleArns.includes(String(target.outputs.roleArn))) {
    const path = contract.consumerOrg.orgPaths?.[0];
    roles.push({ ...targetRole, orgId: contract.consumerOrg.orgId ?? path?.split("/")[0], orgPath: path });
  }
  const others = roles.filter((role) => target.outputs.roleArn !== roleArn(role));
  const runs: ConsumerRuns = {
    sourceStack,
    sourceOutputs: source.outputs,
    targetConfig,
    roles: others,
    next: new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT),
  };
  // A helper that failed answered nothing: its consumers run here.
  const helped = helpers && others.length > 0 ? helpers.capture(runs).catch(() => undefined) : undefined;
  const ran = new Map<number, ConsumerPolicies>();
  for (let i = takeNext(runs); i < others.length; i = takeNext(runs)) ran.set(i, await runConsumer(runs, others[i]));
  // Every index is taken now; a helper that took none is not waited for (it may still be starting).
  if (ran.size < others.length) for (const [i, c] of (await helped) ?? []) ran.set(i, c);
  const consumers: ConsumerPolicies[] = [];
  for (const role of roles) {
    const i = others.indexOf(role);
    consumers.push(i < 0 ? consumerPolicies(target, role) : (ran.get(i) ?? (await runConsumer(runs, role))));
  }

  const bucketPolicy = ofType(source, "aws:s3/bucketPolicy:BucketPolicy").find(
    (p) => p.inputs.bucket === contract.bucketName,
  );
  const keys = ofType(source, "aws:kms/key:Key");
  if (!bucketPolicy || keys.length !== 1)
    throw new Error("the source stack declared no bucket policy for its bucket, or not exactly one key");
  const publicAccess = ofType(source, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").find(
    (p) => p.inputs.bucket === contract.bucketName,
  );
  return {
    source,
    target,
    contract,
    policies: {
      bucket: policyOf(bucketPolicy),
      key: policyOf(keys[0]),
      consumers,
      restrictPublicBuckets: publicAccess?.inputs.restrictPublicBuckets === true,
      audit: auditOf(source, contract),
      uploads: ofType(source, "aws:s3/bucketObjectv2:BucketObjectv2").map((o) => uploadOf(o.inputs)),
    },
  };
}

export type PolicyKind = "resource" | "identity" | "endpoint" | "trust";

export interface GeneratedPolicy {
  /** The resource's type and name and the field: "aws:s3/bucketPolicy:BucketPolicy <name> policy". */
  where: string;
  /** The resource's type token. */
  type: string;
  kind: PolicyKind;
  doc: PolicyDocument;
}

const POLICY_FIELDS: Record<string, { field: string; kind: PolicyKind }[]> = {
  "aws:s3/bucketPolicy:BucketPolicy": [{ field: "policy", kind: "resource" }],
  "aws:kms/key:Key": [{ field: "policy", kind: "resource" }],
  "aws:iam/rolePolicy:RolePolicy": [{ field: "policy", kind: "identity" }],
  "aws:iam/role:Role": [{ field: "assumeRolePolicy", kind: "trust" }],
  "aws:ec2/vpcEndpoint:VpcEndpoint": [{ field: "policy", kind: "endpoint" }],
};

/** Every policy document a stack sends, wherever it appears: in a run, or in a plan report's resources. */
export function generatedPolicies(run: {
  resources: Pick<CapturedResource, "type" | "name" | "inputs">[];
}): GeneratedPolicy[] {
  return run.resources.flatMap((r) =>
    (POLICY_FIELDS[r.type] ?? [])
      .filter(({ field }) => typeof r.inputs[field] === "string")
      .map(({ field, kind }) => ({
        where: `${r.type} ${r.name} ${field}`,
        type: r.type,
        kind,
        doc: policyOf(r, field),
      })),
  );
}
