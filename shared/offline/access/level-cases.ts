/**
 * Each access level's case templates (the table in access-levels.ts), for every consumer on its own
 * scope (the whole bucket, or its key prefixes): what the level grants and never grants, listing,
 * and what it may upload and how.
 */
import {
  ACCESS_LEVEL_NAMES,
  ACCESS_LEVELS,
  AccessLevel,
  KMS_DECRYPT,
  KMS_GENERATE_DATA_KEY,
  levelReads,
  levelWrites,
  S3_GET_OBJECT,
  S3_LIST_BUCKET,
  S3_PUT_OBJECT,
} from "../../program/iam/access-levels";
import { CaseTemplate, CASES, DOCS, Expected, Subject, Target, Via } from "./cases";

const prefixed = (s: Subject): boolean => s.access.prefixes !== undefined;
const writes = (s: Subject): boolean => levelWrites(s.access.access);
const ifWrites = (s: Subject): Expected => (writes(s) ? "Allowed" : "Denied");
const lists = (s: Subject): boolean => ACCESS_LEVELS[s.access.access].bucket.some((a) => a === S3_LIST_BUCKET);
const listingNote = (s: Subject): string =>
  lists(s) && !s.contract.allowListBucket ? " (allowListBucket is off)" : "";

/** A granted action's case name, where a phrase reads better than "calls <action>". */
const GRANTED_PHRASES: Record<string, string> = {
  [S3_GET_OBJECT]: "reads {object} over TLS",
  [KMS_DECRYPT]: "decrypts via S3 in the stack's region",
};
const grantedName = (action: string, on: string) => `consumer ${GRANTED_PHRASES[action] ?? `calls ${action} ${on}`}`;

/** Uploads and the KMS actions S3 makes for them have cases of their own (UPLOADS), listing too (LISTING). */
const OWN_CASES = new Set<string>([S3_PUT_OBJECT, S3_LIST_BUCKET, KMS_GENERATE_DATA_KEY]);

/**
 * What a level grants, Allowed for each consumer of it on its own scope (object actions on each
 * object in it, KMS actions via S3), and Denied just outside each prefix.
 */
function grantedCases(level: AccessLevel): { objects: CaseTemplate[]; kms: CaseTemplate[] } {
  const l = ACCESS_LEVELS[level];
  const own = (a: string) => !OWN_CASES.has(a);
  return {
    objects: l.object.filter(own).flatMap((action): CaseTemplate[] => [
      { name: grantedName(action, "on {object}"), who: "consumer", action, on: "each object", expect: "Allowed" },
      {
        name: `${grantedName(action, "on {object}")}, outside its prefixes`,
        who: "consumer",
        action,
        on: "outside each prefix",
        expect: "Denied",
        when: (s) => prefixed(s) && s.triesDenials,
      },
    ]),
    // kms:Decrypt serves reads here, and a writer's multipart upload in UPLOADS: a writer alone reads nothing.
    kms: l.kms
      .filter((a) => own(a) && (a !== KMS_DECRYPT || levelReads(level)))
      .map((action): CaseTemplate => ({
        name: grantedName(action, "via S3"),
        who: "consumer",
        action,
        on: "the key",
        via: "S3",
        expect: "Allowed",
      })),
  };
}

/**
 * Listing: the whole bucket for a whole-bucket consumer; for a prefix consumer, only with one of
 * its prefixes as the request's prefix parameter (s3:prefix), never with another or with none.
 */
const LISTING: CaseTemplate[] = [
  {
    name: (s) => `consumer lists the bucket${listingNote(s)}`,
    who: "consumer",
    action: S3_LIST_BUCKET,
    on: "the bucket",
    expect: (s) => (s.contract.allowListBucket ? "Allowed" : "Denied"),
    when: (s) => !prefixed(s) && lists(s),
  },
  {
    name: (s) => `consumer lists {prefix}${listingNote(s)}`,
    who: "consumer",
    action: S3_LIST_BUCKET,
    on: "listing each prefix",
    expect: (s) => (lists(s) && s.contract.allowListBucket ? "Allowed" : "Denied"),
    when: (s) => prefixed(s) && ((lists(s) && s.contract.allowListBucket) || s.triesDenials),
    cites: DOCS.listPrefix,
  },
  {
    name: "consumer lists another prefix, {prefix}",
    who: "consumer",
    action: S3_LIST_BUCKET,
    on: "listing another prefix",
    expect: "Denied",
    when: (s) => prefixed(s) && s.triesDenials,
    cites: DOCS.listPrefix,
  },
  {
    name: "consumer lists the bucket with no prefix",
    who: "consumer",
    action: S3_LIST_BUCKET,
    on: "the bucket",
    expect: "Denied",
    when: (s) => prefixed(s) && s.triesDenials,
    cites: DOCS.listPrefix,
  },
];

/**
 * Uploads, for every level: a writer's in its scope, with the headers a client asking for SSE-KMS
 * with the key sends and with none (the bucket's default applies); nobody's outside its prefixes,
 * asking for another key, or over plain HTTP. And the KMS calls S3 makes for an upload.
 */
const UPLOADS: CaseTemplate[] = [
  {
    name: "consumer writes {object} with SSE-KMS headers (aws:kms, the key's ARN)",
    who: "consumer",
    action: S3_PUT_OBJECT,
    on: "each object",
    encryption: "SSE-KMS with the key",
    expect: ifWrites,
    when: (s) => writes(s) || s.triesDenials,
    cites: DOCS.sseKms,
  },
  {
    name: "consumer writes {object} with no encryption header (the bucket's default)",
    who: "consumer",
    action: S3_PUT_OBJECT,
    on: "each object",
    encryption: "none",
    expect: ifWrites,
    when: (s) => writes(s) || s.triesDenials,
    cites: DOCS.defaultEncryption,
  },
  {
    name: "consumer writes {object}, outside its prefixes, with SSE-KMS headers",
    who: "consumer",
    action: S3_PUT_OBJECT,
    on: "outside each prefix",
    encryption: "SSE-KMS with the key",
    expect: "Denied",
    when: (s) => prefixed(s) && s.triesDenials,
  },
  {
    name: "consumer writes {object} asking for another KMS key",
    who: "consumer",
    action: S3_PUT_OBJECT,
    on: "an object",
    encryption: "SSE-KMS with another key",
    expect: "Denied",
    when: (s) => s.triesDenials,
    cites: DOCS.sseKms,
  },
  {
    // S3 would encrypt it under aws/s3, which no other account can decrypt.
    name: "consumer writes {object} asking for SSE-KMS without naming the key",
    who: "consumer",
    action: S3_PUT_OBJECT,
    on: "an object",
    encryption: "SSE-KMS naming no key",
    expect: "Denied",
    when: (s) => s.triesDenials,
    cites: DOCS.sseKms,
  },
  {
    name: "consumer writes {object} over plain HTTP",
    who: "consumer",
    action: S3_PUT_OBJECT,
    on: "an object",
    encryption: "SSE-KMS with the key",
    tls: "none",
    expect: "Denied",
    when: (s) => s.triesDenials,
    cites: DOCS.secureTransport,
  },
  {
    // A reader whose account holds a writer is covered by the writer's Principal (the account root): only aws:PrincipalArn keeps it out.
    name: (s) =>
      `consumer asks S3 for a data key to encrypt an upload${writes(s) ? "" : " (a writer's role shares its account)"}`,
    who: "consumer",
    action: KMS_GENERATE_DATA_KEY,
    on: "the key",
    via: "S3",
    expect: ifWrites,
    when: (s) => writes(s) || s.writerInAccount,
    cites: DOCS.multipartKms,
  },
  {
    name: "consumer decrypts via S3 for a multipart upload's parts",
    who: "consumer",
    action: KMS_DECRYPT,
    on: "the key",
    via: "S3",
    expect: "Allowed",
    when: writes,
    cites: DOCS.multipartKms,
  },
];

/**
 * What a level never grants, Denied: object actions on an object in the consumer's scope, bucket
 * actions on the bucket, KMS actions via S3 (the grant's own kms:ViaService and encryption
 * context, so only its actions can deny them). Deletes and ACL writes are among them at every level.
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
    when: (s) => s.triesDenials,
  });
  return [
    ...never.object.map((a) => denied(a, "an object")),
    ...never.bucket.map((a) => denied(a, "the bucket")),
    ...never.kms.map((a) => denied(a, "the key", "S3")),
  ];
}

/** A consumer's templates by its level, built once, in the matrix's order: granted, listing, CASES, uploads, never granted. */
export const TEMPLATES_OF = Object.fromEntries(
  ACCESS_LEVEL_NAMES.map((l) => {
    const granted = grantedCases(l);
    return [l, [...granted.objects, ...LISTING, ...granted.kms, ...CASES, ...UPLOADS, ...neverCases(l)]];
  }),
) as Record<AccessLevel, CaseTemplate[]>;
