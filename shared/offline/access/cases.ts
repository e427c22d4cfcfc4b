/** The access matrix: the cases, derived from the contract and the consumers the source grants. */
import { bucketArn, roleArn } from "../../program/iam/arn";
import { SourceContract } from "../../program/contract";
import { AccessPolicies, Principal } from "./capture";
import { AccessRequest, Tls } from "./context";

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

/** Who makes a request, relative to one consumer. */
type Who =
  | "consumer"
  /** Another role of the consumer's account, holding the consumer's identity policy. */
  | "another role"
  /** The consumer's role name in an account that is neither the source nor a consumer. */
  | "outsider"
  /** A member account in another OU of the granted organization. */
  | "another OU"
  /** A role of the source account, in the organization, with no identity policy. */
  | "source insider"
  | "anonymous";

/** What a request names. */
type Target = "each object" | "an object" | "the bucket" | "the key" | "another bucket's object";

/** How a KMS request reaches the key: via S3 (in the stack's region, for this bucket), or not. */
type Via = "S3" | "S3 in another region" | "S3 for another bucket" | "directly";

/** Facts about one consumer that decide some expectations and whether a case applies. */
interface Subject {
  contract: SourceContract;
  consumer: Principal;
  /** The organization grant names no role, so another role of a member account is admitted. */
  orgAdmitsAnyRole: boolean;
  first: boolean;
}

interface CaseTemplate {
  /** The case's name; {object} is each object's key. */
  name: string | ((s: Subject) => string);
  who: Who;
  action: string;
  on: Target;
  expect: Expected | ((s: Subject) => Expected);
  via?: Via;
  tls?: Tls;
  /** Whether the case applies to this consumer. Default: always. */
  when?: (s: Subject) => boolean;
}

const orgNote = (s: Subject) => (s.orgAdmitsAnyRole ? " (the organization grant names no role)" : "");
const ifOrgAdmitsAnyRole = (s: Subject): Expected => (s.orgAdmitsAnyRole ? "Allowed" : "Denied");

/** The matrix, as the README lists it: for every consumer, what it may do and what nobody else may. */
const CASES: CaseTemplate[] = [
  // Allowed: the consumer's reads.
  {
    name: "consumer reads {object} over TLS",
    who: "consumer",
    action: "s3:GetObject",
    on: "each object",
    expect: "Allowed",
  },
  {
    name: (s) => `consumer lists the bucket${s.contract.allowListBucket ? "" : " (allowListBucket is off)"}`,
    who: "consumer",
    action: "s3:ListBucket",
    on: "the bucket",
    expect: (s) => (s.contract.allowListBucket ? "Allowed" : "Denied"),
  },
  {
    name: "consumer decrypts via S3 in the stack's region",
    who: "consumer",
    action: "kms:Decrypt",
    on: "the key",
    via: "S3",
    expect: "Allowed",
  },
  // Denied: anyone else.
  {
    name: (s) => `another role in the consumer account reads (same identity policy)${orgNote(s)}`,
    who: "another role",
    action: "s3:GetObject",
    on: "an object",
    expect: ifOrgAdmitsAnyRole,
  },
  {
    name: (s) => `another role in the consumer account decrypts via S3${orgNote(s)}`,
    who: "another role",
    action: "kms:Decrypt",
    on: "the key",
    via: "S3",
    expect: ifOrgAdmitsAnyRole,
  },
  {
    name: "a role in an unrelated account reads",
    who: "outsider",
    action: "s3:GetObject",
    on: "an object",
    expect: "Denied",
  },
  {
    name: "a role in an unrelated account decrypts via S3",
    who: "outsider",
    action: "kms:Decrypt",
    on: "the key",
    via: "S3",
    expect: "Denied",
  },
  // Denied: the consumer, any other way.
  {
    name: "consumer reads over plain HTTP",
    who: "consumer",
    action: "s3:GetObject",
    on: "an object",
    tls: "none",
    expect: "Denied",
  },
  {
    name: "consumer reads over TLS 1.0",
    who: "consumer",
    action: "s3:GetObject",
    on: "an object",
    tls: "1.0",
    expect: "Denied",
  },
  {
    name: "consumer calls kms:Decrypt directly",
    who: "consumer",
    action: "kms:Decrypt",
    on: "the key",
    via: "directly",
    expect: "Denied",
  },
  {
    name: (s) => `consumer decrypts via S3 in ${otherRegion(s.contract)}`,
    who: "consumer",
    action: "kms:Decrypt",
    on: "the key",
    via: "S3 in another region",
    expect: "Denied",
  },
  {
    name: "consumer decrypts with another bucket's encryption context",
    who: "consumer",
    action: "kms:Decrypt",
    on: "the key",
    via: "S3 for another bucket",
    expect: "Denied",
  },
  { name: "consumer calls s3:PutObject", who: "consumer", action: "s3:PutObject", on: "an object", expect: "Denied" },
  {
    name: "consumer calls s3:DeleteObject",
    who: "consumer",
    action: "s3:DeleteObject",
    on: "an object",
    expect: "Denied",
  },
  {
    name: "consumer calls kms:Encrypt via S3",
    who: "consumer",
    action: "kms:Encrypt",
    on: "the key",
    via: "S3",
    expect: "Denied",
  },
  {
    name: "consumer calls kms:GenerateDataKey via S3",
    who: "consumer",
    action: "kms:GenerateDataKey",
    on: "the key",
    via: "S3",
    expect: "Denied",
  },
  {
    name: "consumer calls kms:ReEncryptFrom",
    who: "consumer",
    action: "kms:ReEncryptFrom",
    on: "the key",
    via: "directly",
    expect: "Denied",
  },
  {
    name: "consumer reads another bucket in the source account",
    who: "consumer",
    action: "s3:GetObject",
    on: "another bucket's object",
    expect: "Denied",
  },
  // Organization grants: outside the granted OUs, and the source account itself.
  {
    name: "the same role in another OU of the organization reads",
    who: "another OU",
    action: "s3:GetObject",
    on: "an object",
    expect: "Denied",
    when: (s) => s.consumer.orgPath !== undefined && s.consumer.orgId !== undefined,
  },
  {
    name: "the same role in another OU of the organization decrypts",
    who: "another OU",
    action: "kms:Decrypt",
    on: "the key",
    via: "S3",
    expect: "Denied",
    when: (s) => s.consumer.orgPath !== undefined && s.consumer.orgId !== undefined,
  },
  {
    name: "a role of the source account, in the organization, with no identity policy, reads",
    who: "source insider",
    action: "s3:GetObject",
    on: "an object",
    expect: "Denied",
    when: (s) => s.consumer.orgId !== undefined,
  },
  {
    name: "a role of the source account, in the organization, with no identity policy, decrypts",
    who: "source insider",
    action: "kms:Decrypt",
    on: "the key",
    via: "S3",
    expect: "Denied",
    when: (s) => s.consumer.orgId !== undefined,
  },
  {
    name: "an anonymous request reads",
    who: "anonymous",
    action: "s3:GetObject",
    on: "an object",
    expect: "Denied",
    when: (s) => s.first,
  },
];

const otherRegion = (c: SourceContract): string => (c.region === "us-east-1" ? "us-west-2" : "us-east-1");

/**
 * The cases, derived from the source's contract and the consumers it grants: every consumer gets
 * the same templates; none is hand-listed per account.
 */
export function accessCases(policies: AccessPolicies, contract: SourceContract): AccessCase[] {
  const all = policies.consumers.map((c) => c.role);
  const outsiderAccount = unrelatedAccount(contract, all);
  const objectArn = (k: string) => `${contract.bucketArn}/${k}`;
  const viaS3 = { region: contract.region, bucketArn: contract.bucketArn };
  const cases: AccessCase[] = [];

  for (const [i, { role: consumer, endpoint }] of policies.consumers.entries()) {
    const subject: Subject = {
      contract,
      consumer,
      orgAdmitsAnyRole: consumer.orgId !== undefined && contract.consumerOrg?.roleNames === undefined,
      first: i === 0,
    };
    const principals: Record<Who, Principal | undefined> = {
      consumer,
      "another role": { ...consumer, roleName: otherRoleName(consumer, all) },
      outsider: { accountId: outsiderAccount, roleName: consumer.roleName },
      "another OU": { ...consumer, accountId: outsiderAccount, orgPath: `${consumer.orgId}/r-0000/ou-0000-00000000/` },
      "source insider": { ...consumer, accountId: contract.accountId },
      anonymous: undefined,
    };
    const via: Record<Via, AccessRequest["viaS3"]> = {
      S3: viaS3,
      "S3 in another region": { ...viaS3, region: otherRegion(contract) },
      "S3 for another bucket": { ...viaS3, bucketArn: `${contract.bucketArn}-other` },
      directly: undefined,
    };
    const targets = (on: Target): { resource: string; object?: string }[] => {
      switch (on) {
        case "each object":
          return contract.objectKeys.map((k) => ({ resource: objectArn(k), object: k }));
        case "an object":
          return [{ resource: objectArn(contract.objectKeys[0]) }];
        case "the bucket":
          return [{ resource: contract.bucketArn }];
        case "the key":
          return [{ resource: contract.keyArn }];
        case "another bucket's object":
          return [{ resource: `${bucketArn(`${contract.bucketName}-other`)}/${contract.objectKeys[0]}` }];
      }
    };

    for (const t of CASES) {
      if (t.when && !t.when(subject)) continue;
      for (const { resource, object } of targets(t.on)) {
        const principal = principals[t.who];
        const request: AccessRequest = { principal, action: t.action, resource, resourceAccount: contract.accountId };
        if (t.via) request.viaS3 = via[t.via];
        if (t.tls) request.tls = t.tls;
        // The consumer's own S3 reads come from its instance, through its VPC's endpoint.
        if (
          t.who === "consumer" &&
          t.action.startsWith("s3:") &&
          !t.tls &&
          endpoint !== undefined &&
          t.on !== "another bucket's object"
        ) {
          request.throughEndpoint = t.action === "s3:GetObject" || t.action === "s3:ListBucket";
        }
        const name = (typeof t.name === "string" ? t.name : t.name(subject)).replace("{object}", object ?? "");
        cases.push({
          case: name,
          principal: describePrincipal(principal),
          action: t.action,
          resource,
          expected: typeof t.expect === "string" ? t.expect : t.expect(subject),
          request,
          identityOf: t.who === "source insider" || t.who === "anonymous" ? null : consumer,
        });
      }
    }
  }
  return cases;
}
