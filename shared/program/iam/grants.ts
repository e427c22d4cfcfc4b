/**
 * Pure policy builders: plain values in, policy documents out.
 *
 * One read grant yields both sides of the access: the resource statements for
 * account A (bucket policy and key policy, with a Principal) and the identity
 * statements for account B (the reader role, with a Resource and no Principal).
 */
import { ACCESS_LEVELS } from "./access-levels";
import { accountRootArn, bucketArn as toBucketArn, Consumer, OrgGrant, PARTITION, roleArn, s3ViaService } from "./arn";
import { cloudTrailKeyStatements } from "./cloudtrail";
import { ConditionBlock, KEY_POLICY_SELF, PolicyDocument, policyDocument, Statement } from "./document";
import { denyForeignEncryption, denyInsecureTransport } from "./guards";
import { accountRootAdministersKey } from "./key-admin";

const READ = ACCESS_LEVELS.read;

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
 * The grant for a set of consumer roles, with the actions of ACCESS_LEVELS.read. The Principal
 * is each consumer's account root, narrowed by `aws:PrincipalArn`: the root always exists (no
 * deploy-order cycle), and a condition ARN is never rewritten to a unique ID when the role is recreated.
 * One statement per permission set, whatever the number of consumers; an organization grant
 * adds one more per set, with Principal "*" narrowed by the organization's conditions.
 */
export function readGrant(t: ReadTarget, who: Grantees): ReadGrant {
  const arn = toBucketArn(t.bucketName);
  const kms = decryptViaS3Conditions(t);
  const objectActions = [...READ.object];
  const keyActions = [...READ.kms];
  // Object actions only apply to objects and bucket actions only to the bucket, so one statement may list both.
  const readActions = t.allowListBucket ? [...objectActions, ...READ.bucket] : objectActions;
  const readResources = t.allowListBucket ? [arn, `${arn}/*`] : `${arn}/*`;

  const bucket: Statement[] = [];
  const key: Statement[] = [];
  if (who.consumers.length > 0) {
    const principal = { AWS: unique(who.consumers.map((c) => accountRootArn(c.accountId))) };
    const onlyTheseRoles: ConditionBlock = { ArnEquals: { "aws:PrincipalArn": who.consumers.map(roleArn) } };
    bucket.push({
      Sid: "ConsumerRead",
      Effect: "Allow",
      Principal: principal,
      Action: readActions,
      Resource: readResources,
      Condition: onlyTheseRoles,
    });
    key.push({
      Sid: "ConsumerDecryptViaS3",
      Effect: "Allow",
      Principal: principal,
      Action: keyActions,
      Resource: KEY_POLICY_SELF,
      Condition: {
        ...onlyTheseRoles,
        StringEquals: { ...kms.StringEquals, "kms:CallerAccount": unique(who.consumers.map((c) => c.accountId)) },
        StringLike: kms.StringLike,
      },
    });
  }
  if (who.org) {
    const org = orgConditions(who.org, who.ownerAccountId);
    bucket.push({
      Sid: "OrganizationRead",
      Effect: "Allow",
      Principal: "*",
      Action: readActions,
      Resource: readResources,
      Condition: org,
    });
    key.push({
      Sid: "OrganizationDecryptViaS3",
      Effect: "Allow",
      Principal: "*",
      Action: keyActions,
      Resource: KEY_POLICY_SELF,
      Condition: { ...org, StringEquals: { ...org.StringEquals, ...kms.StringEquals }, StringLike: kms.StringLike },
    });
  }

  const identity: Statement[] = [{ Sid: "ReadObjects", Effect: "Allow", Action: objectActions, Resource: `${arn}/*` }];
  if (t.allowListBucket) identity.push({ Sid: "ListBucket", Effect: "Allow", Action: [...READ.bucket], Resource: arn });
  identity.push({ Sid: "DecryptViaS3", Effect: "Allow", Action: keyActions, Resource: t.keyArn, Condition: kms });

  return { bucket, key, identity };
}

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
