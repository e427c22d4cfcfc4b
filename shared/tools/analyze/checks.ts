/**
 * The checks behind `npm run analyze`: IAM Access Analyzer's ValidatePolicy (free) and its custom
 * policy checks (billed per call) on every policy the program renders, as the offline plan captures them.
 */
import {
  AccessAnalyzerClient,
  AccessCheckPolicyType,
  AccessCheckResourceType,
  CheckAccessNotGrantedCommand,
  CheckNoNewAccessCommand,
  CheckNoPublicAccessCommand,
  ReasonSummary,
  ValidatePolicyCommand,
  ValidatePolicyFinding,
  ValidatePolicyResourceType,
} from "@aws-sdk/client-accessanalyzer";
import { Deployment, GeneratedPolicy, generatedPolicies } from "../../offline/access/capture";
import { accessGrantedTo } from "../../program/contract";
import { parseRoleArn } from "../../program/iam/arn";
import { UserError } from "../../program/errors";
import { AccessLevel, neverActions, neverGranted } from "../../program/iam/access-levels";
import { levelOfSid } from "../../program/iam/grants";
import { isAccountRootAdmin } from "../../program/iam/key-admin";
import { serviceGrantAccount } from "../../program/iam/service-grants";
import { PolicyDocument, renderPolicy, Statement } from "../../program/iam/document";
import { SIDES, Side } from "../../program/project";
import { Failure } from "../cli";
import { isCredentialsError } from "../stacks/credentials";
import { ANALYZE_BILLING, ANALYZE_NEEDS } from "./needs";

/** The stack a policy belongs to. */
export type StackName = Side;

/** A policy the program renders, labelled with its stack: what every check takes, and the shape of a base revision's policies. */
export interface StackPolicy extends GeneratedPolicy {
  stack: StackName;
}

/** Every policy both stacks send: from a Deployment's runs, or from a plan report's resources (a base revision's `--json`). */
export const stackPolicies = (stacks: Record<StackName, Parameters<typeof generatedPolicies>[0]>): StackPolicy[] =>
  SIDES.flatMap((stack) => generatedPolicies(stacks[stack]).map((p) => ({ stack, ...p })));

/**
 * What no consumer may ever be granted, whatever its access level (iam/access-levels.ts): writes,
 * deletes, and changes to the policies, ACLs, encryption or state of the bucket and key. At most 100
 * actions go into one CheckAccessNotGranted `access` entry, and a request takes one entry: longer
 * lists are split.
 */
export const forbiddenActions = (levels: AccessLevel[]): string[] =>
  neverGranted(levels.length > 0 ? levels : ["read"]);
/** CheckAccessNotGranted's limit on the actions of one `access` entry. */
export const MAX_ACTIONS_PER_ACCESS = 100;

export type CheckName = "ValidatePolicy" | "CheckNoPublicAccess" | "CheckAccessNotGranted" | "CheckNoNewAccess";

export interface CheckResult {
  check: CheckName;
  stack: StackName;
  where: string;
  /** A short label: stack, resource type and name. */
  policy: string;
  /** "new": absent from the base revision; "skipped": nothing to check, and no call made. */
  result: "pass" | "fail" | "new" | "skipped";
  ok: boolean;
  detail: string;
  /** The Access Analyzer calls this check made: each custom policy check call is billed. */
  calls: number;
  findings?: ValidatePolicyFinding[];
  reasons?: ReasonSummary[];
}

export interface AnalyzeInput {
  policies: StackPolicy[];
  /** Each stack's account, whose own administration is not a grant to the consumers (see `consumerGrants`). */
  accounts: Record<StackName, string>;
  /** The base revision's policies, e.g. `stackPolicies(basePlan.report)`: enables CheckNoNewAccess, matched by stack and where. */
  base?: StackPolicy[];
  /**
   * The access levels each stack's policies grant (default: read): the source's, every consumer's;
   * the target's, its own role's. What none of them allows is checked as never granted.
   */
  levels?: Partial<Record<StackName, AccessLevel[]>>;
}

const label = (p: StackPolicy): string => {
  const [type, name, field] = p.where.split(" ");
  return `${p.stack} ${type.split(":").pop() ?? type} ${name}${field && field !== "policy" ? ` ${field}` : ""}`;
};

const policyType = (p: StackPolicy): AccessCheckPolicyType =>
  p.kind === "identity" ? AccessCheckPolicyType.IDENTITY_POLICY : AccessCheckPolicyType.RESOURCE_POLICY;

/** ValidatePolicy's resource type, where it has one: none for a key or endpoint policy (AWS: leave it unset for a KMS key). */
function validateResourceType(p: StackPolicy): ValidatePolicyResourceType | undefined {
  if (p.kind === "trust") return ValidatePolicyResourceType.ROLE_TRUST;
  return p.type === "aws:s3/bucketPolicy:BucketPolicy" ? ValidatePolicyResourceType.S3_BUCKET : undefined;
}

/** CheckNoPublicAccess's resource type: every bucket policy, and the key policy. */
const PUBLIC_RESOURCE_TYPE: Record<string, AccessCheckResourceType> = {
  "aws:s3/bucketPolicy:BucketPolicy": AccessCheckResourceType.S3_BUCKET,
  "aws:kms/key:Key": AccessCheckResourceType.KMS_KEY,
};

/**
 * The owner's own statement: the key's administrator statement for the stack's own account
 * (key-admin.ts, the one the program builds), or a grant to AWS services whose every
 * aws:SourceAccount value is this account and every aws:SourceArn value a literal ARN in it
 * (service-grants.ts).
 */
const ownersOwn = (s: Statement, owner: string): boolean =>
  isAccountRootAdmin(s, owner) || serviceGrantAccount(s) === owner;

/**
 * The consumers' grants in a bucket or key policy, for CheckAccessNotGranted: every statement but
 * the owner's own. Those are the key's AccountRootAdministersKey (which delegates the key to the
 * owner account's IAM, so its admins rightly hold kms:PutKeyPolicy) and the grants to AWS services
 * (CloudTrail's, scoped by aws:SourceArn to this account's trail, which must write logs). Chosen by
 * principal, not by Sid, so a new statement that grants consumers more is checked whatever its Sid;
 * a consumer in the owner's account stays in (its statement is narrowed by aws:PrincipalArn), and
 * so do the Denies, which only take access away. Identity and endpoint policies are checked whole.
 */
export const consumerGrants = (doc: PolicyDocument, owner: string): PolicyDocument => ({
  ...doc,
  Statement: doc.Statement.filter((s) => !ownersOwn(s, owner)),
});

/** The AWS call's outcome, or the error a user can act on: credentials and permissions exit 2, anything else 1. */
async function call<T>(name: CheckName, p: StackPolicy, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (e) {
    const why = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    if (isCredentialsError(e))
      throw new UserError(`No usable AWS credentials (${why}). ${ANALYZE_NEEDS} ${ANALYZE_BILLING}`);
    if (e instanceof Error && /^AccessDenied/.test(e.name))
      throw new UserError(
        `These credentials may not call access-analyzer:${name} (${why}). ${ANALYZE_NEEDS} ${ANALYZE_BILLING}`,
      );
    throw new Failure(`IAM Access Analyzer ${name} of ${label(p)} failed: ${why}`);
  }
}

const result = (
  p: StackPolicy,
  check: CheckName,
  ok: boolean,
  detail: string,
  more: Partial<CheckResult> = {},
): CheckResult => ({
  check,
  stack: p.stack,
  where: p.where,
  policy: label(p),
  result: ok ? "pass" : "fail",
  ok,
  detail,
  calls: 1,
  ...more,
});

const reasonsText = (reasons: ReasonSummary[] | undefined, otherwise: string): string =>
  reasons?.length
    ? reasons
        .map((r) => `${r.statementId ?? `statement ${r.statementIndex ?? "?"}`}: ${r.description ?? ""}`)
        .join("; ")
    : otherwise;

/** An ERROR or SECURITY_WARNING finding fails; WARNING and SUGGESTION findings are listed. */
const FAILING_FINDINGS = new Set<string>(["ERROR", "SECURITY_WARNING"]);

async function validate(client: AccessAnalyzerClient, p: StackPolicy): Promise<CheckResult> {
  const findings: ValidatePolicyFinding[] = [];
  const seen = new Set<string>();
  const resourceType = validateResourceType(p);
  let nextToken: string | undefined;
  do {
    const input = {
      policyDocument: renderPolicy(p.doc),
      policyType: policyType(p),
      ...(resourceType ? { validatePolicyResourceType: resourceType } : {}),
      ...(nextToken ? { nextToken } : {}),
    };
    const page = await call("ValidatePolicy", p, () => client.send(new ValidatePolicyCommand(input)));
    findings.push(...(page.findings ?? []));
    if (page.nextToken && seen.has(page.nextToken))
      throw new Failure(`IAM Access Analyzer ValidatePolicy of ${label(p)} returned nextToken ${page.nextToken} twice`);
    nextToken = page.nextToken;
    if (nextToken) seen.add(nextToken);
  } while (nextToken);
  const ok = !findings.some((f) => FAILING_FINDINGS.has(f.findingType ?? ""));
  const detail = findings.length
    ? findings.map((f) => `${f.findingType} ${f.issueCode}: ${f.findingDetails}`).join("; ")
    : "no findings";
  return result(p, "ValidatePolicy", ok, detail, { findings, calls: seen.size + 1 });
}

async function noPublicAccess(client: AccessAnalyzerClient, p: StackPolicy, type: AccessCheckResourceType) {
  const r = await call("CheckNoPublicAccess", p, () =>
    client.send(new CheckNoPublicAccessCommand({ policyDocument: renderPolicy(p.doc), resourceType: type })),
  );
  const ok = r.result === "PASS";
  return result(p, "CheckNoPublicAccess", ok, reasonsText(r.reasons, r.message ?? `result ${r.result}`), {
    reasons: r.reasons,
  });
}

async function accessNotGranted(
  client: AccessAnalyzerClient,
  p: StackPolicy,
  owner: string,
  forbidden: string[],
): Promise<CheckResult> {
  const doc = p.kind === "resource" ? consumerGrants(p.doc, owner) : p.doc;
  const grants = doc.Statement.filter((s) => s.Effect === "Allow");
  if (grants.length === 0)
    return result(p, "CheckAccessNotGranted", true, `grants only account ${owner}'s own principals and AWS services`, {
      result: "skipped",
      calls: 0,
    });
  // A resource policy that mixes levels is checked statement set by statement set, each against its own level's
  // never-list (with the policy's denies, which only take access away); any other grant against what the levels
  // in use never allow. A single set sends the policy whole, as it is.
  const groups = new Map<string, { never: string[]; allows: Statement[] }>();
  for (const s of grants) {
    const level = p.kind === "resource" ? levelOfSid(s.Sid) : undefined;
    const key = level ?? "";
    const group = groups.get(key) ?? { never: level ? neverActions(level) : forbidden, allows: [] };
    group.allows.push(s);
    groups.set(key, group);
  }
  const denies = doc.Statement.filter((s) => s.Effect === "Deny");
  const reasons: ReasonSummary[] = [];
  let ok = true;
  let calls = 0;
  for (const { never, allows } of groups.values()) {
    const sent = groups.size === 1 ? doc : { ...doc, Statement: [...denies, ...allows] };
    for (let i = 0; i < never.length; i += MAX_ACTIONS_PER_ACCESS) {
      const actions = never.slice(i, i + MAX_ACTIONS_PER_ACCESS);
      const input = { policyDocument: renderPolicy(sent), policyType: policyType(p), access: [{ actions }] };
      const r = await call("CheckAccessNotGranted", p, () => client.send(new CheckAccessNotGrantedCommand(input)));
      calls++;
      if (r.result !== "PASS") ok = false;
      reasons.push(...(r.reasons ?? []));
    }
  }
  const scope = p.kind === "resource" ? ` by ${grants.map((s) => s.Sid).join(", ")}` : "";
  const counts = [...groups.values()].map((g) => g.never.length).join(", ");
  const pass = `none of ${counts} write, delete or policy actions granted${scope}`;
  return result(p, "CheckAccessNotGranted", ok, ok ? pass : reasonsText(reasons, "may grant a forbidden action"), {
    reasons,
    calls,
  });
}

async function noNewAccess(client: AccessAnalyzerClient, p: StackPolicy, base: StackPolicy[]): Promise<CheckResult> {
  const was = base.find((b) => b.stack === p.stack && b.where === p.where);
  if (!was)
    return result(p, "CheckNoNewAccess", false, "not in the base revision: all of its access is new", {
      result: "new",
      calls: 0,
    });
  if (renderPolicy(was.doc) === renderPolicy(p.doc))
    return result(p, "CheckNoNewAccess", true, "unchanged from the base revision", { calls: 0 });
  const input = {
    newPolicyDocument: renderPolicy(p.doc),
    existingPolicyDocument: renderPolicy(was.doc),
    policyType: policyType(p),
  };
  const r = await call("CheckNoNewAccess", p, () => client.send(new CheckNoNewAccessCommand(input)));
  const ok = r.result === "PASS";
  return result(p, "CheckNoNewAccess", ok, reasonsText(r.reasons, r.message ?? `result ${r.result}`), {
    reasons: r.reasons,
  });
}

/**
 * Runs every check on the policies: ValidatePolicy first (free, and the first call proves the
 * credentials), then the billed checks. With `base`, CheckNoNewAccess of each policy against the
 * base's version: a policy the base lacks is "new" (fails, no call); an identical one passes with no call.
 */
export async function analyzePolicies(client: AccessAnalyzerClient, input: AnalyzeInput): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  for (const p of input.policies) out.push(await validate(client, p));
  for (const p of input.policies) {
    const type = PUBLIC_RESOURCE_TYPE[p.type];
    if (p.kind === "resource" && type) out.push(await noPublicAccess(client, p, type));
    // A trust policy that lets anyone assume the role is as public as a bucket policy.
    if (p.kind === "trust") out.push(await noPublicAccess(client, p, AccessCheckResourceType.ROLE_TRUST));
  }
  for (const p of input.policies) {
    const consumers =
      p.kind === "identity" || p.kind === "endpoint" || (p.kind === "resource" && PUBLIC_RESOURCE_TYPE[p.type]);
    if (consumers)
      out.push(
        await accessNotGranted(client, p, input.accounts[p.stack], forbiddenActions(input.levels?.[p.stack] ?? [])),
      );
  }
  if (input.base) for (const p of input.policies) out.push(await noNewAccess(client, p, input.base));
  return out;
}

export const analyzerClient = (region: string, profile?: string): AccessAnalyzerClient =>
  new AccessAnalyzerClient(profile ? { region, profile } : { region });

/** The levels the source grants, and the target's own role's. */
/** The levels each stack grants: from a Deployment, or from a plan artifact's contract and target stack. */
export function grantedLevels(d: {
  contract: Deployment["contract"];
  target: { outputs: Record<string, unknown> };
}): Record<StackName, AccessLevel[]> {
  const c = d.contract;
  const source = [
    ...(c.consumerAccess?.map((a) => a.access) ?? (c.consumerRoleArns.length > 0 ? ["read" as const] : [])),
  ];
  if (c.consumerOrg) source.push("read");
  const own = parseRoleArn(String(d.target.outputs.roleArn));
  const target = own ? accessGrantedTo(c, String(d.target.outputs.roleArn), own.roleName)?.access : undefined;
  return { source: [...new Set(source)], target: target ? [target] : [] };
}
