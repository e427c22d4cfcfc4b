/**
 * Pure policy builders: plain values in, policy documents out.
 *
 * One read grant yields both sides of the access: the resource statements for
 * account A (bucket policy and key policy, with a Principal) and the identity
 * statements for account B (the reader role, with a Resource and no Principal).
 */
import { AccessLevel, levelSpec } from "./access-levels";
import { accountRootArn, bucketArn as toBucketArn, Consumer, OrgGrant, PARTITION, roleArn, s3ViaService } from "./arn";
import { cloudTrailKeyStatements } from "./cloudtrail";
import { ConditionBlock, KEY_POLICY_SELF, PolicyDocument, policyDocument, Principal, Statement } from "./document";
import { denyForeignEncryption, denyInsecureTransport } from "./guards";
import { accountRootAdministersKey } from "./key-admin";

export interface ReadTarget {
  region: string;
  bucketName: string;
  /** The key's full ARN: cross-account use never works through an alias. */
  keyArn: string;
  allowListBucket: boolean;
}

export interface ReadGrant {
  /** Statements for the bucket policy in account A. */
  bucket: Statement[];
  /** Statements for the key policy in account A. */
  key: Statement[];
  /** Statements for each reader role's identity policy in account B. */
  identity: Statement[];
}

const unique = (values: string[]): string[] => [...new Set(values)];

/**
 * KMS conditions shared by both sides: only through S3 in the stack's region, and only for this bucket.
 * With Bucket Key on, S3 uses the bucket ARN as encryption context; per-object keys use the object ARN.
 */
function decryptViaS3Conditions(t: ReadTarget): ConditionBlock {
  const arn = toBucketArn(t.bucketName);
  return {
    StringEquals: { "kms:ViaService": s3ViaService(t.region) },
    StringLike: { "kms:EncryptionContext:aws:s3:arn": [arn, `${arn}/*`] },
  };
}

/** Who a grant admits: listed roles, and optionally the roles of an organization. */
export interface Grantees {
  consumers: Consumer[];
  org?: OrgGrant;
  /** The bucket's own account, which an organization grant never covers (same-account access needs no grant). */
  ownerAccountId?: string;
}

/** The conditions that admit an organization's principals, outside the owner's account, by role name when given. */
function orgConditions(org: OrgGrant, ownerAccountId: string | undefined): ConditionBlock {
  const c: ConditionBlock = {};
  // A fixed organization ID also keeps S3 Block Public Access from judging the statement public.
  const orgId = org.orgId ?? org.orgPaths?.[0]?.split("/")[0];
  if (orgId) c.StringEquals = { "aws:PrincipalOrgID": orgId };
  // aws:PrincipalOrgPaths holds several values; any one under a listed path matches.
  if (org.orgPaths) c["ForAnyValue:StringLike"] = { "aws:PrincipalOrgPaths": org.orgPaths.map((p) => `${p}*`) };
  if (ownerAccountId) c.StringNotEquals = { "aws:PrincipalAccount": ownerAccountId };
  if (org.roleNames) c.ArnLike = { "aws:PrincipalArn": org.roleNames.map((n) => `arn:${PARTITION}:iam::*:role/${n}`) };
  return c;
}

/**
 * The grant of an access level (access-levels.ts) to a set of consumer roles: the level's object and
 * bucket actions in one bucket statement (bucket actions only when `allowListBucket` is on; each
 * applies only to its own kind of resource), its KMS actions in one key statement, and the
 * identity side. The Principal is each consumer's account root, narrowed by `aws:PrincipalArn`: the
 * root always exists (no deploy-order cycle), and a condition ARN is never rewritten to a unique ID
 * when the role is recreated. One statement per permission set, whatever the number of consumers;
 * an organization grant adds one more per set, with Principal "*" narrowed by the organization's conditions.
 */
export function levelGrant(t: ReadTarget, who: Grantees, level: AccessLevel): ReadGrant {
  const spec = levelSpec(level);
  const arn = toBucketArn(t.bucketName);
  const kms = decryptViaS3Conditions(t);
  const objectActions = [...spec.object];
  const bucketActions = t.allowListBucket ? [...spec.bucket] : [];
  const keyActions = [...spec.kms];
  const s3Actions = [...objectActions, ...bucketActions];
  const s3Resources = bucketActions.length === 0 ? `${arn}/*` : objectActions.length === 0 ? arn : [arn, `${arn}/*`];

  const bucket: Statement[] = [];
  const key: Statement[] = [];
  const grantTo = (who: string, principal: Principal, onlyThese: ConditionBlock, keyConditions: ConditionBlock) => {
    if (s3Actions.length > 0)
      bucket.push({
        Sid: `${who}${spec.sids.bucket}`,
        Effect: "Allow",
        Principal: principal,
        Action: s3Actions,
        Resource: s3Resources,
        Condition: onlyThese,
      });
    if (keyActions.length > 0)
      key.push({
        Sid: `${who}${spec.sids.key}`,
        Effect: "Allow",
        Principal: principal,
        Action: keyActions,
        Resource: KEY_POLICY_SELF,
        Condition: keyConditions,
      });
  };
  if (who.consumers.length > 0) {
    const onlyTheseRoles: ConditionBlock = { ArnEquals: { "aws:PrincipalArn": who.consumers.map(roleArn) } };
    grantTo("Consumer", { AWS: unique(who.consumers.map((c) => accountRootArn(c.accountId))) }, onlyTheseRoles, {
      ...onlyTheseRoles,
      StringEquals: { ...kms.StringEquals, "kms:CallerAccount": unique(who.consumers.map((c) => c.accountId)) },
      StringLike: kms.StringLike,
    });
  }
  if (who.org) {
    const org = orgConditions(who.org, who.ownerAccountId);
    grantTo("Organization", "*", org, {
      ...org,
      StringEquals: { ...org.StringEquals, ...kms.StringEquals },
      StringLike: kms.StringLike,
    });
  }

  const identity: Statement[] = [];
  const names = spec.sids.identity;
  if (objectActions.length > 0)
    identity.push({ Sid: names.object, Effect: "Allow", Action: objectActions, Resource: `${arn}/*` });
  if (bucketActions.length > 0)
    identity.push({ Sid: names.bucket, Effect: "Allow", Action: bucketActions, Resource: arn });
  if (keyActions.length > 0)
    identity.push({ Sid: names.kms, Effect: "Allow", Action: keyActions, Resource: t.keyArn, Condition: kms });

  return { bucket, key, identity };
}

/** The read level's grant: what every consumer holds today. */
export const readGrant = (t: ReadTarget, who: Grantees): ReadGrant => levelGrant(t, who, "read");

export interface SourcePolicyArgs extends ReadTarget {
  accountId: string;
  consumers: Consumer[];
  consumerOrg?: OrgGrant;
  /** The audit trail that encrypts its logs with the key, when there is one. */
  trailArn?: string;
}

/** The bucket policy in account A: transport and encryption guards, then the consumers' read grant. */
export function sourceBucketPolicy(a: SourcePolicyArgs): PolicyDocument {
  const arn = toBucketArn(a.bucketName);
  return policyDocument([
    ...denyInsecureTransport([arn, `${arn}/*`]),
    ...denyForeignEncryption(a.bucketName, a.keyArn),
    ...readGrant(a, { consumers: a.consumers, org: a.consumerOrg, ownerAccountId: a.accountId }).bucket,
  ]);
}

/** The key policy in account A. The account root keeps `kms:*`, so the key can never be locked out. */
export function sourceKeyPolicy(a: Omit<SourcePolicyArgs, "keyArn">): PolicyDocument {
  return policyDocument([
    accountRootAdministersKey(a.accountId),
    // Key statements say "*" (this key), so the policy is built before the key exists; the identity side is unused here.
    ...readGrant(
      { ...a, keyArn: KEY_POLICY_SELF },
      { consumers: a.consumers, org: a.consumerOrg, ownerAccountId: a.accountId },
    ).key,
    ...(a.trailArn ? cloudTrailKeyStatements(a.accountId, a.trailArn) : []),
  ]);
}

/** The reader role's identity policy in account B. */
export function readerIdentityPolicy(t: ReadTarget, self: Consumer): PolicyDocument {
  return policyDocument(readGrant(t, { consumers: [self] }).identity);
}

/** Lets EC2 assume the reader role for an instance profile. Who may attach it is governed by iam:PassRole. */
export function ec2TrustPolicy(): PolicyDocument {
  return policyDocument([
    { Sid: "Ec2AssumesRole", Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" },
  ]);
}

/**
 * The S3 gateway endpoint's policy, a data perimeter: through this endpoint, only the reader role's
 * reads of the source bucket. The bucket side of the grant, with the role named by condition only.
 */
export function s3EndpointPolicy(t: ReadTarget, self: Consumer): PolicyDocument {
  return policyDocument(
    readGrant(t, { consumers: [self] }).bucket.map((s) => ({ ...s, Sid: `Endpoint${s.Sid}`, Principal: "*" as const })),
  );
}
