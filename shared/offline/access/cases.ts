/**
 * The access matrix's case templates: their shape, and the cases of every consumer whatever its
 * level (what nobody else may do); level-cases.ts holds each level's.
 */
import { SourceContract } from "../../program/contract";
import { ConsumerAccess, KMS_DECRYPT, S3_GET_OBJECT } from "../../program/iam/access-levels";
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

/** What a request names. Objects and listed prefixes are in the consumer's scope unless "outside" says otherwise. */
export type Target =
  /** The sample objects for a whole-bucket consumer; one object in each prefix for a prefix consumer. */
  | "each object"
  /** The first of those. */
  | "an object"
  /** Just outside each prefix (a sibling that shares its text before the "/"), and at the bucket's root. */
  | "outside each prefix"
  /** The bucket, listing with each of the consumer's prefixes as the request's prefix parameter. */
  | "listing each prefix"
  /** The bucket, listing with a prefix outside the consumer's. */
  | "listing another prefix"
  /** The bucket, with no prefix parameter. */
  | "the bucket"
  | "the key"
  | "another bucket's object";

/** The encryption headers of an upload: what a client asking for SSE-KMS with the key sends, another key, or none. */
export type Encryption = "SSE-KMS with the key" | "SSE-KMS with another key" | "SSE-KMS naming no key" | "none";

/** How a KMS request reaches the key: via S3 (in the stack's region, for this bucket), or not. */
export type Via = "S3" | "S3 in another region" | "S3 for another bucket" | "directly";

/** Facts about one consumer that decide some expectations and whether a case applies. */
export interface Subject {
  contract: SourceContract;
  consumer: Principal;
  /** What the consumer is granted: its level's cases, on the whole bucket or on its prefixes. */
  access: ConsumerAccess;
  /**
   * Whether the Denied cases of its permission set (never-granted actions, outside its prefixes,
   * writes a reader must not make, and its own requests any other way) run for it: see subjectsOf
   * in matrix.ts. Cases of who else may act run for every consumer.
   */
  triesDenials: boolean;
  /** A listed consumer of a level that writes holds a role in this consumer's account. */
  writerInAccount: boolean;
  /** The organization grant names no role, so another role of a member account is admitted. */
  orgAdmitsAnyRole: boolean;
  first: boolean;
}

export interface CaseTemplate {
  /** The case's name; {object} is each object's key, {prefix} each listed prefix. */
  name: string | ((s: Subject) => string);
  who: Who;
  action: string;
  on: Target;
  expect: Expected | ((s: Subject) => Expected);
  via?: Via;
  tls?: Tls;
  /** An upload's encryption headers. */
  encryption?: Encryption;
  /** Whether the case applies to this consumer. Default: always. */
  when?: (s: Subject) => boolean;
  /** The AWS documentation page the request, its context or its expectation comes from. */
  cites?: string;
}

/** Pages the subtler cases rely on. */
export const DOCS = {
  /** s3:prefix is the ListObjects request's prefix parameter; a policy can require it. */
  listPrefix: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/amazon-s3-policy-keys.html",
  /** The headers of an upload that asks for SSE-KMS with a given key. */
  sseKms: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/specifying-kms-encryption.html",
  /** An upload without encryption headers is encrypted with the bucket's default. */
  defaultEncryption: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-encryption.html",
  /** S3 asks KMS for a data key (GenerateDataKey) to encrypt an upload, and decrypts (Decrypt) a multipart upload's parts. */
  multipartKms: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html#mpuAndPermissions",
  /** With a Bucket Key, S3's encryption context is the bucket's ARN: KMS cannot tell prefixes apart. */
  bucketKey: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-key.html",
  /** aws:SecureTransport is false on a plain-HTTP request. */
  secureTransport:
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-securetransport",
};

const orgNote = (s: Subject) => (s.orgAdmitsAnyRole ? " (the organization grant names no role)" : "");
const ifOrgAdmitsAnyRole = (s: Subject): Expected => (s.orgAdmitsAnyRole ? "Allowed" : "Denied");

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
  // Denied: the consumer, any other way: the deny statements, and its set's resources and KMS conditions decide.
  {
    name: "consumer reads over plain HTTP",
    who: "consumer",
    action: S3_GET_OBJECT,
    on: "an object",
    tls: "none",
    expect: "Denied",
    when: (s) => s.triesDenials,
  },
  {
    name: "consumer reads over TLS 1.0",
    who: "consumer",
    action: S3_GET_OBJECT,
    on: "an object",
    tls: "1.0",
    expect: "Denied",
    when: (s) => s.triesDenials,
  },
  {
    name: "consumer calls kms:Decrypt directly",
    who: "consumer",
    action: KMS_DECRYPT,
    on: "the key",
    via: "directly",
    expect: "Denied",
    when: (s) => s.triesDenials,
  },
  {
    name: (s) => `consumer decrypts via S3 in ${otherRegion(s.contract)}`,
    who: "consumer",
    action: KMS_DECRYPT,
    on: "the key",
    via: "S3 in another region",
    expect: "Denied",
    when: (s) => s.triesDenials,
  },
  {
    name: "consumer decrypts with another bucket's encryption context",
    who: "consumer",
    action: KMS_DECRYPT,
    on: "the key",
    via: "S3 for another bucket",
    expect: "Denied",
    when: (s) => s.triesDenials,
  },
  {
    name: "consumer reads another bucket in the source account",
    who: "consumer",
    action: S3_GET_OBJECT,
    on: "another bucket's object",
    expect: "Denied",
    when: (s) => s.triesDenials,
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
