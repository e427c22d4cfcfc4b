/**
 * The access matrix as a table of case templates: for every consumer, what its access level grants
 * and never grants (from the table in access-levels.ts), and what nobody else may do.
 */
import { SourceContract } from "../../program/contract";
import {
  ACCESS_LEVEL_NAMES,
  ACCESS_LEVELS,
  AccessLevel,
  KMS_DECRYPT,
  S3_GET_OBJECT,
  S3_LIST_BUCKET,
} from "../../program/iam/access-levels";
import { PolicyDocument } from "../../program/iam/document";
import { Principal } from "./capture";
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
  /** Identity policies of a principal that is no consumer (the deployer); instead of identityOf's. */
  identity?: PolicyDocument[];
  /** The AWS documentation page the request, and the context AWS sends with it, come from. */
  cites?: string;
}

/** Who makes a request, relative to one consumer. */
export type Who =
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
export type Target = "each object" | "an object" | "the bucket" | "the key" | "another bucket's object";

/** How a KMS request reaches the key: via S3 (in the stack's region, for this bucket), or not. */
export type Via = "S3" | "S3 in another region" | "S3 for another bucket" | "directly";

/** Facts about one consumer that decide some expectations and whether a case applies. */
export interface Subject {
  contract: SourceContract;
  consumer: Principal;
  /** What the consumer is granted: the cases of its level's granted and never-granted actions. */
  level: AccessLevel;
  /**
   * The first consumer of its level under its kind of grant (listed roles, or the organization's):
   * the never-granted cases run for it alone, since the others share its statements.
   */
  firstOfLevel: boolean;
  /** The organization grant names no role, so another role of a member account is admitted. */
  orgAdmitsAnyRole: boolean;
  first: boolean;
}

export interface CaseTemplate {
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

/** Every consumer's level, until the contract names one per consumer. */
export const CONSUMER_LEVEL: AccessLevel = "read";

/** The cases of every consumer, whatever its level: what nobody else may do, and the consumer by no other way. */
export const CASES: CaseTemplate[] = [
  // Denied: anyone else.
  {
    name: (s) => `another role in the consumer account reads (same identity policy)${orgNote(s)}`,
    who: "another role",
    action: S3_GET_OBJECT,
    on: "an object",
    expect: ifOrgAdmitsAnyRole,
  },
  {
    name: (s) => `another role in the consumer account decrypts via S3${orgNote(s)}`,
    who: "another role",
    action: KMS_DECRYPT,
    on: "the key",
    via: "S3",
    expect: ifOrgAdmitsAnyRole,
  },
  {
    name: "a role in an unrelated account reads",
    who: "outsider",
    action: S3_GET_OBJECT,
    on: "an object",
    expect: "Denied",
  },
  {
    name: "a role in an unrelated account decrypts via S3",
    who: "outsider",
    action: KMS_DECRYPT,
    on: "the key",
    via: "S3",
    expect: "Denied",
  },
  // Denied: the consumer, any other way.
  {
    name: "consumer reads over plain HTTP",
    who: "consumer",
    action: S3_GET_OBJECT,
    on: "an object",
    tls: "none",
    expect: "Denied",
  },
  {
    name: "consumer reads over TLS 1.0",
    who: "consumer",
    action: S3_GET_OBJECT,
    on: "an object",
    tls: "1.0",
    expect: "Denied",
  },
  {
    name: "consumer calls kms:Decrypt directly",
    who: "consumer",
    action: KMS_DECRYPT,
    on: "the key",
    via: "directly",
    expect: "Denied",
  },
  {
    name: (s) => `consumer decrypts via S3 in ${otherRegion(s.contract)}`,
    who: "consumer",
    action: KMS_DECRYPT,
    on: "the key",
    via: "S3 in another region",
    expect: "Denied",
  },
  {
    name: "consumer decrypts with another bucket's encryption context",
    who: "consumer",
    action: KMS_DECRYPT,
    on: "the key",
    via: "S3 for another bucket",
    expect: "Denied",
  },
  {
    name: "consumer reads another bucket in the source account",
    who: "consumer",
    action: S3_GET_OBJECT,
    on: "another bucket's object",
    expect: "Denied",
  },
  // Organization grants: outside the granted OUs, and the source account itself.
  {
    name: "the same role in another OU of the organization reads",
    who: "another OU",
    action: S3_GET_OBJECT,
    on: "an object",
    expect: "Denied",
    when: (s) => s.consumer.orgPath !== undefined && s.consumer.orgId !== undefined,
  },
  {
    name: "the same role in another OU of the organization decrypts",
    who: "another OU",
    action: KMS_DECRYPT,
    on: "the key",
    via: "S3",
    expect: "Denied",
    when: (s) => s.consumer.orgPath !== undefined && s.consumer.orgId !== undefined,
  },
  {
    name: "a role of the source account, in the organization, with no identity policy, reads",
    who: "source insider",
    action: S3_GET_OBJECT,
    on: "an object",
    expect: "Denied",
    when: (s) => s.consumer.orgId !== undefined,
  },
  {
    name: "a role of the source account, in the organization, with no identity policy, decrypts",
    who: "source insider",
    action: KMS_DECRYPT,
    on: "the key",
    via: "S3",
    expect: "Denied",
    when: (s) => s.consumer.orgId !== undefined,
  },
  {
    name: "an anonymous request reads",
    who: "anonymous",
    action: S3_GET_OBJECT,
    on: "an object",
    expect: "Denied",
    when: (s) => s.first,
  },
];

export const otherRegion = (c: SourceContract): string => (c.region === "us-east-1" ? "us-west-2" : "us-east-1");

/** A granted action's case name, where a phrase reads better than "calls <action>". */
const GRANTED_PHRASES: Record<string, string> = {
  [S3_GET_OBJECT]: "reads {object} over TLS",
  [S3_LIST_BUCKET]: "lists the bucket",
  [KMS_DECRYPT]: "decrypts via S3 in the stack's region",
};
const grantedName = (action: string, on: string) => `consumer ${GRANTED_PHRASES[action] ?? `calls ${action} ${on}`}`;

/** What a level grants, Allowed for each consumer of it: object actions on each object, bucket ones with listing on. */
function grantedCases(level: AccessLevel): CaseTemplate[] {
  const l = ACCESS_LEVELS[level];
  return [
    ...l.object.map((action): CaseTemplate => ({
      name: grantedName(action, "on {object}"),
      who: "consumer",
      action,
      on: "each object",
      expect: "Allowed",
    })),
    ...l.bucket.map((action): CaseTemplate => ({
      name: (s) =>
        `${grantedName(action, "on the bucket")}${s.contract.allowListBucket ? "" : " (allowListBucket is off)"}`,
      who: "consumer",
      action,
      on: "the bucket",
      expect: (s) => (s.contract.allowListBucket ? "Allowed" : "Denied"),
    })),
    ...l.kms.map((action): CaseTemplate => ({
      name: grantedName(action, "via S3"),
      who: "consumer",
      action,
      on: "the key",
      via: "S3",
      expect: "Allowed",
    })),
  ];
}

/**
 * What a level never grants, Denied: object actions on an object, bucket actions on the bucket, KMS
 * actions via S3 (the grant's own kms:ViaService and encryption context, so only its actions can
 * deny them). For the first consumer of the level under each kind of grant.
 */
function neverCases(level: AccessLevel): CaseTemplate[] {
  const { never } = ACCESS_LEVELS[level];
  const denied = (action: string, on: Target, via?: Via): CaseTemplate => ({
    name: `consumer calls ${action}${via ? ` via ${via}` : ""}`,
    who: "consumer",
    action,
    on,
    ...(via && { via }),
    expect: "Denied",
    when: (s) => s.firstOfLevel,
  });
  return [
    ...never.object.map((a) => denied(a, "an object")),
    ...never.bucket.map((a) => denied(a, "the bucket")),
    ...never.kms.map((a) => denied(a, "the key", "S3")),
  ];
}

/** A consumer's templates by its level, built once, in the matrix's order: granted, CASES, never granted. */
export const TEMPLATES_OF = Object.fromEntries(
  ACCESS_LEVEL_NAMES.map((l) => [l, [...grantedCases(l), ...CASES, ...neverCases(l)]]),
) as Record<AccessLevel, CaseTemplate[]>;
