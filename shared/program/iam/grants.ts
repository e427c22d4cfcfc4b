/**
 * Pure policy builders: plain values in, policy documents out.
 *
 * One read grant yields both sides of the access: the resource statements for
 * account A (bucket policy and key policy, with a Principal) and the identity
 * statements for account B (the reader role, with a Resource and no Principal).
 */
import { ACCESS_LEVEL_NAMES, AccessLevel, ConsumerAccess, levelSpec } from "./access-levels";
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
  /**
   * Listed roles whose own grant is narrower than the organization's (another level, or prefixes):
   * the organization's statements leave them out, or a member account's role would read the whole
   * bucket through them whatever its own entry says.
   */
  notThroughOrg?: Consumer[];
}

/** The conditions that admit an organization's principals, outside the owner's account, by role name when given. */
function orgConditions(org: OrgGrant, ownerAccountId: string | undefined, except: Consumer[] = []): ConditionBlock {
  const c: ConditionBlock = {};
  // A fixed organization ID also keeps S3 Block Public Access from judging the statement public.
  const orgId = org.orgId ?? org.orgPaths?.[0]?.split("/")[0];
  if (orgId) c.StringEquals = { "aws:PrincipalOrgID": orgId };
  // aws:PrincipalOrgPaths holds several values; any one under a listed path matches.
  if (org.orgPaths) c["ForAnyValue:StringLike"] = { "aws:PrincipalOrgPaths": org.orgPaths.map((p) => `${p}*`) };
  if (ownerAccountId) c.StringNotEquals = { "aws:PrincipalAccount": ownerAccountId };
  if (org.roleNames) c.ArnLike = { "aws:PrincipalArn": org.roleNames.map((n) => `arn:${PARTITION}:iam::*:role/${n}`) };
  if (except.length > 0) c.ArnNotEquals = { "aws:PrincipalArn": except.map(roleArn) };
  return c;
}

/** A consumer role and what it is granted; an entry without `access` reads the whole bucket. */
export type ConsumerGrant = Consumer & Partial<ConsumerAccess>;

/** Where in the bucket a grant applies: every object, or the objects under some key prefixes. */
export interface Scope {
  /** Key prefixes, each ending in "/"; undefined for the whole bucket. */
  prefixes?: string[];
  /** Told apart from the level's other scopes in the statements' Sids ("" for the whole bucket). */
  suffix?: string;
}

/**
 * The grant of an access level (access-levels.ts) to a set of consumer roles, on the whole bucket or
 * on some prefixes: the level's object and bucket actions in the bucket policy (bucket actions only
 * when `allowListBucket` is on; on prefixes, listing is narrowed by `s3:prefix` in a statement of
 * its own), its KMS actions in one key statement, and the identity side. KMS cannot be narrowed per
 * prefix: with a Bucket Key, S3's encryption context is the bucket's ARN. The Principal is each
 * consumer's account root, narrowed by `aws:PrincipalArn`: the root always exists (no deploy-order
 * cycle), and a condition ARN is never rewritten to a unique ID when the role is recreated. One
 * statement per permission set, whatever the number of consumers; an organization grant adds one
 * more per set, with Principal "*" narrowed by the organization's conditions.
 */
export function levelGrant(t: ReadTarget, who: Grantees, level: AccessLevel, scope: Scope = {}): ReadGrant {
  const spec = levelSpec(level);
  const arn = toBucketArn(t.bucketName);
  const kms = decryptViaS3Conditions(t);
  const objectActions = [...spec.object];
  const bucketActions = t.allowListBucket ? [...spec.bucket] : [];
  const keyActions = [...spec.kms];
  const { prefixes, suffix = "" } = scope;
  const objects = prefixes ? prefixes.map((p) => `${arn}/${p}*`) : `${arn}/*`;
  /** On prefixes, a list request must name one of them: with no prefix, or another, it is denied. */
  const listed = (c: ConditionBlock): ConditionBlock =>
    prefixes ? { ...c, StringLike: { ...c.StringLike, "s3:prefix": prefixes.map((p) => `${p}*`) } } : c;

  const bucket: Statement[] = [];
  const key: Statement[] = [];
  const grantTo = (who: string, principal: Principal, onlyThese: ConditionBlock, keyConditions: ConditionBlock) => {
    const sid = `${who}${spec.sids.bucket}${suffix}`;
    const allow = (Sid: string, Action: string[], Resource: string | string[], Condition: ConditionBlock) =>
      bucket.push({ Sid, Effect: "Allow", Principal: principal, Action, Resource, Condition });
    if (prefixes) {
      if (objectActions.length > 0) allow(sid, objectActions, objects, onlyThese);
      if (bucketActions.length > 0) allow(`${sid}List`, bucketActions, arn, listed(onlyThese));
    } else if (objectActions.length + bucketActions.length > 0) {
      // Object actions apply only to objects and bucket actions only to the bucket, so one statement may list both.
      const resources = bucketActions.length === 0 ? objects : objectActions.length === 0 ? arn : [arn, `${arn}/*`];
      allow(sid, [...objectActions, ...bucketActions], resources, onlyThese);
    }
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
    const org = orgConditions(who.org, who.ownerAccountId, who.notThroughOrg);
    grantTo("Organization", "*", org, {
      ...org,
      StringEquals: { ...org.StringEquals, ...kms.StringEquals },
      StringLike: kms.StringLike,
    });
  }

  const identity: Statement[] = [];
  const names = spec.sids.identity;
  if (objectActions.length > 0)
    identity.push({ Sid: names.object, Effect: "Allow", Action: objectActions, Resource: objects });
  if (bucketActions.length > 0)
    identity.push({
      Sid: names.bucket,
      Effect: "Allow",
      Action: bucketActions,
      Resource: arn,
      ...(prefixes && { Condition: listed({}) }),
    });
  if (keyActions.length > 0)
    identity.push({ Sid: names.kms, Effect: "Allow", Action: keyActions, Resource: t.keyArn, Condition: kms });

  return { bucket, key, identity };
}

/**
 * The level a consumer statement of the bucket, key or endpoint policy grants, read from the Sid
 * levelGrant gives it ("Consumer" or "Organization", the level's name, "Prefixes<n>", "List", an
 * "Endpoint" in front); undefined for any other statement.
 */
export function levelOfSid(sid: string): AccessLevel | undefined {
  const m = /^(?:Endpoint)?(?:Consumer|Organization)([A-Za-z]+?)(?:Prefixes\d+)?(?:List)?$/.exec(sid);
  if (!m) return undefined;
  return ACCESS_LEVEL_NAMES.find((l) => levelSpec(l).sids.bucket === m[1] || levelSpec(l).sids.key === m[1]);
}

/** The read level's grant on the whole bucket: what an organization grant holds. */
export const readGrant = (t: ReadTarget, who: Grantees): ReadGrant => levelGrant(t, who, "read");

const accessOf = (c: ConsumerGrant): ConsumerAccess => ({ access: c.access ?? "read", prefixes: c.prefixes });
const scopeKey = (prefixes: string[] | undefined): string => (prefixes ? JSON.stringify(prefixes) : "");

/**
 * The consumers as permission sets, in the table's order of levels: per level, the whole bucket
 * first, then each distinct list of prefixes in the order the consumers name it.
 */
function permissionSets(consumers: ConsumerGrant[]): { level: AccessLevel; scope: Scope; consumers: Consumer[] }[] {
  const sets: { level: AccessLevel; scope: Scope; consumers: Consumer[] }[] = [];
  for (const level of ACCESS_LEVEL_NAMES) {
    const ofLevel = consumers.filter((c) => accessOf(c).access === level);
    const scopes = [...new Set(ofLevel.map((c) => scopeKey(c.prefixes)))].sort((a, b) =>
      a === "" ? -1 : b === "" ? 1 : 0,
    );
    let n = 0;
    for (const key of scopes) {
      const members = ofLevel.filter((c) => scopeKey(c.prefixes) === key);
      const prefixes = members[0].prefixes;
      sets.push({
        level,
        scope: prefixes ? { prefixes, suffix: `Prefixes${++n}` } : {},
        consumers: members.map(({ accountId, roleName }) => ({ accountId, roleName })),
      });
    }
  }
  return sets;
}

export interface SourcePolicyArgs extends ReadTarget {
  accountId: string;
  consumers: ConsumerGrant[];
  consumerOrg?: OrgGrant;
  /** The audit trail that encrypts its logs with the key, when there is one. */
  trailArn?: string;
}

/**
 * Every consumer's statements, by permission set: the bucket side per level and scope, the key side
 * per level (KMS cannot tell prefixes apart). The organization's grant reads the whole bucket.
 */
function sourceGrants(t: ReadTarget, a: SourcePolicyArgs): ReadGrant {
  const sets = permissionSets(a.consumers);
  const grants = sets.map((s) =>
    levelGrant(t, { consumers: s.consumers, ownerAccountId: a.accountId }, s.level, s.scope),
  );
  const keys = ACCESS_LEVEL_NAMES.map((level) => {
    const consumers = sets.filter((s) => s.level === level).flatMap((s) => s.consumers);
    return consumers.length > 0 ? levelGrant(t, { consumers }, level).key : [];
  });
  const org = a.consumerOrg
    ? readGrant(t, {
        consumers: [],
        org: a.consumerOrg,
        ownerAccountId: a.accountId,
        notThroughOrg: a.consumers.filter((c) => (c.access ?? "read") !== "read" || c.prefixes !== undefined),
      })
    : undefined;
  // The organization's statements follow the listed readers' of the whole bucket, as they always have.
  const wholeReaders = sets.findIndex((s) => s.level === "read" && !s.scope.prefixes);
  const at = wholeReaders === -1 ? 0 : wholeReaders + 1;
  const bucket = grants.flatMap((g) => g.bucket);
  bucket.splice(grants.slice(0, at).flatMap((g) => g.bucket).length, 0, ...(org?.bucket ?? []));
  const key = keys.flat();
  key.splice(keys.slice(0, 1).flat().length, 0, ...(org?.key ?? []));
  return { bucket, key, identity: [] };
}

/** The bucket policy in account A: transport and encryption guards, then the consumers' grants. */
export function sourceBucketPolicy(a: SourcePolicyArgs): PolicyDocument {
  const arn = toBucketArn(a.bucketName);
  return policyDocument([
    ...denyInsecureTransport([arn, `${arn}/*`]),
    ...denyForeignEncryption(a.bucketName, a.keyArn),
    ...sourceGrants(a, a).bucket,
  ]);
}

/** The key policy in account A. The account root keeps `kms:*`, so the key can never be locked out. */
export function sourceKeyPolicy(a: Omit<SourcePolicyArgs, "keyArn">): PolicyDocument {
  // Key statements say "*" (this key), so the policy is built before the key exists.
  const t = { ...a, keyArn: KEY_POLICY_SELF };
  return policyDocument([
    accountRootAdministersKey(a.accountId),
    ...sourceGrants(t, t).key,
    ...(a.trailArn ? cloudTrailKeyStatements(a.accountId, a.trailArn) : []),
  ]);
}

/** A consumer role's identity policy in account B: its own level on its own scope, as the source grants it. */
export function readerIdentityPolicy(t: ReadTarget, self: ConsumerGrant): PolicyDocument {
  const { access, prefixes } = accessOf(self);
  return policyDocument(levelGrant(t, { consumers: [self] }, access, { prefixes }).identity);
}

/** Lets EC2 assume the reader role for an instance profile. Who may attach it is governed by iam:PassRole. */
export function ec2TrustPolicy(): PolicyDocument {
  return policyDocument([
    { Sid: "Ec2AssumesRole", Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" },
  ]);
}

/**
 * The S3 gateway endpoint's policy, a data perimeter: through this endpoint, only the consumer
 * role's own grant on the source bucket. The bucket side of the grant, with the role named by condition only.
 */
export function s3EndpointPolicy(t: ReadTarget, self: ConsumerGrant): PolicyDocument {
  const { access, prefixes } = accessOf(self);
  return policyDocument(
    levelGrant(t, { consumers: [self] }, access, { prefixes }).bucket.map((s) => ({
      ...s,
      Sid: `Endpoint${s.Sid}`,
      Principal: "*" as const,
    })),
  );
}
