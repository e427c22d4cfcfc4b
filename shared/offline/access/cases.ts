/** The access matrix as a table of case templates: for every consumer, what it may do and what nobody else may. */
import { SourceContract } from "../../program/contract";
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

/** The matrix, as the README lists it: for every consumer, what it may do and what nobody else may. */
export const CASES: CaseTemplate[] = [
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

export const otherRegion = (c: SourceContract): string => (c.region === "us-east-1" ? "us-west-2" : "us-east-1");
