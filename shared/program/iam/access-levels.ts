/**
 * Access levels as data, one row per level (as aws-cdk's aws-s3/lib/perms.ts): what a consumer of
 * the level is granted, and what it must never be granted. The grant, the access matrix and the
 * checks of the policies all read this table. Resource kinds per action: the Service Authorization
 * Reference, https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
 * and .../list_awskeymanagementservice.html.
 */

/** `aws s3 cp` also sends HeadObject, which S3 authorises as s3:GetObject. */
export const S3_GET_OBJECT = "s3:GetObject";
export const S3_LIST_BUCKET = "s3:ListBucket";
/** S3 decrypts server-side with the caller's permissions: a reader calls KMS only through S3. */
export const KMS_DECRYPT = "kms:Decrypt";
/** An upload, single or multipart; S3 authorises each part, and CompleteMultipartUpload, as s3:PutObject. */
export const S3_PUT_OBJECT = "s3:PutObject";
/** A writer's client abandons a failed multipart upload, so its parts stop costing storage. */
export const S3_ABORT_MULTIPART_UPLOAD = "s3:AbortMultipartUpload";
/**
 * S3 asks KMS for a data key to encrypt an upload (with a Bucket Key, the bucket-level key). The
 * parts of a multipart upload also need kms:Decrypt (AWS knowledge center
 * "s3-large-file-encryption-kms-key"), so a writer holds both.
 */
export const KMS_GENERATE_DATA_KEY = "kms:GenerateDataKey";

/** Deletes of objects and their versions, and restores of archived ones (a paid copy): no level grants them. */
export const OBJECT_DELETES = ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:RestoreObject"];
/** Writes and deletes of objects and their versions, and restores of archived ones. */
export const OBJECT_WRITES = [S3_PUT_OBJECT, ...OBJECT_DELETES];
/** Replication writes: the actions a replication role holds in the destination. */
export const OBJECT_REPLICATION = ["s3:ReplicateObject", "s3:ReplicateDelete"];
/** Object Lock: Bypass lets a caller delete under governance retention. */
export const OBJECT_LOCK = ["s3:PutObjectRetention", "s3:PutObjectLegalHold", "s3:BypassGovernanceRetention"];
/** Object ACLs (inert under BucketOwnerEnforced, which no grant should lean on) and replication's owner override. */
export const OBJECT_PERMISSIONS = ["s3:PutObjectAcl", "s3:PutObjectVersionAcl", "s3:ObjectOwnerOverrideToBucketOwner"];

/** Who may access the bucket: its ACL, policy, ownership and Block Public Access. */
export const BUCKET_PERMISSIONS = [
  ...["s3:PutBucketAcl", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutBucketOwnershipControls"],
  "s3:PutBucketPublicAccessBlock",
];
/** The bucket itself and its configuration: encryption, versioning, lifecycle, replication, lock, logging. */
export const BUCKET_CONFIGURATION = [
  ...["s3:DeleteBucket", "s3:PutEncryptionConfiguration", "s3:PutBucketVersioning", "s3:PutLifecycleConfiguration"],
  ...["s3:PutReplicationConfiguration", "s3:PutBucketObjectLockConfiguration", "s3:PutBucketLogging"],
  ...["s3:PutBucketNotification", "s3:PutBucketWebsite", "s3:PutBucketCORS"],
];

/**
 * Encryption with the key: S3 asks for a data key only to write, so a reader needs none. The
 * *WithoutPlaintext and *Pair variants are listed too: an Action pattern like kms:GenerateDataKey*
 * would grant them all.
 */
export const KEY_ENCRYPT_BEYOND_S3 = [
  ...["kms:Encrypt", "kms:GenerateDataKeyPair", "kms:GenerateDataKeyWithoutPlaintext"],
  "kms:GenerateDataKeyPairWithoutPlaintext",
];
export const KEY_ENCRYPT = [KMS_GENERATE_DATA_KEY, ...KEY_ENCRYPT_BEYOND_S3];
/**
 * ReEncryptFrom decrypts inside KMS, under the caller's own call, not S3's: a grant scoped by
 * kms:ViaService to S3 is no limit on it, and ReEncryptTo a key the caller owns yields data it can
 * decrypt anywhere. Never granted to anyone outside the key's account.
 */
export const KEY_REENCRYPT = ["kms:ReEncryptFrom", "kms:ReEncryptTo"];
/** The key's policy, grants, state, rotation, material, aliases, regions and tags: the owner's alone. */
export const KEY_ADMINISTRATION = [
  ...["kms:PutKeyPolicy", "kms:CreateGrant", "kms:RetireGrant", "kms:RevokeGrant", "kms:ScheduleKeyDeletion"],
  ...["kms:CancelKeyDeletion", "kms:DisableKey", "kms:EnableKey", "kms:DisableKeyRotation"],
  ...["kms:UpdateKeyDescription", "kms:ImportKeyMaterial", "kms:DeleteImportedKeyMaterial", "kms:CreateAlias"],
  ...["kms:UpdateAlias", "kms:DeleteAlias", "kms:ReplicateKey", "kms:UpdatePrimaryRegion", "kms:TagResource"],
  "kms:UntagResource",
];

/** Actions by what they act on: the bucket's objects, the bucket, the key. */
export interface ActionsByKind {
  object: readonly string[];
  /** Bucket actions are granted only when allowListBucket is on. */
  bucket: readonly string[];
  /** KMS actions are granted only via S3, in the stack's region, for this bucket. */
  kms: readonly string[];
}

/** The Sids of a level's statements, so that each policy names what it grants. */
export interface StatementNames {
  /** The bucket statement's, after "Consumer" or "Organization" (the endpoint policy prefixes "Endpoint"). */
  bucket: string;
  /** The key statement's, likewise. */
  key: string;
  /** The identity policy's statements, by what they act on. */
  identity: { object: string; bucket: string; kms: string };
}

export interface AccessLevelSpec extends ActionsByKind {
  /** What a consumer of this level must never be granted, by what it acts on. */
  never: ActionsByKind;
  sids: StatementNames;
}

export const ACCESS_LEVELS = {
  read: {
    object: [S3_GET_OBJECT],
    bucket: [S3_LIST_BUCKET],
    kms: [KMS_DECRYPT],
    never: {
      object: [...OBJECT_WRITES, ...OBJECT_REPLICATION, ...OBJECT_LOCK, ...OBJECT_PERMISSIONS],
      bucket: [...BUCKET_PERMISSIONS, ...BUCKET_CONFIGURATION],
      kms: [...KEY_ENCRYPT, ...KEY_REENCRYPT, ...KEY_ADMINISTRATION],
    },
    sids: {
      bucket: "Read",
      key: "DecryptViaS3",
      identity: { object: "ReadObjects", bucket: "ListBucket", kms: "DecryptViaS3" },
    },
  },
  /** Uploads only: no read, no list, no delete, no ACL, tagging or retention. */
  write: {
    object: [S3_PUT_OBJECT, S3_ABORT_MULTIPART_UPLOAD],
    bucket: [],
    kms: [KMS_GENERATE_DATA_KEY, KMS_DECRYPT],
    never: {
      object: [S3_GET_OBJECT, ...OBJECT_DELETES, ...OBJECT_REPLICATION, ...OBJECT_LOCK, ...OBJECT_PERMISSIONS],
      bucket: [S3_LIST_BUCKET, ...BUCKET_PERMISSIONS, ...BUCKET_CONFIGURATION],
      kms: [...KEY_ENCRYPT_BEYOND_S3, ...KEY_REENCRYPT, ...KEY_ADMINISTRATION],
    },
    sids: {
      bucket: "Write",
      key: "EncryptViaS3",
      identity: { object: "WriteObjects", bucket: "ListBucket", kms: "EncryptViaS3" },
    },
  },
  /** Both: the union of read and write, and never more. */
  "read-write": {
    object: [S3_GET_OBJECT, S3_PUT_OBJECT, S3_ABORT_MULTIPART_UPLOAD],
    bucket: [S3_LIST_BUCKET],
    kms: [KMS_DECRYPT, KMS_GENERATE_DATA_KEY],
    never: {
      object: [...OBJECT_DELETES, ...OBJECT_REPLICATION, ...OBJECT_LOCK, ...OBJECT_PERMISSIONS],
      bucket: [...BUCKET_PERMISSIONS, ...BUCKET_CONFIGURATION],
      kms: [...KEY_ENCRYPT_BEYOND_S3, ...KEY_REENCRYPT, ...KEY_ADMINISTRATION],
    },
    sids: {
      bucket: "ReadWrite",
      key: "UseKeyViaS3",
      identity: { object: "ReadWriteObjects", bucket: "ListBucket", kms: "UseKeyViaS3" },
    },
  },
} as const satisfies Record<string, AccessLevelSpec>;

export type AccessLevel = keyof typeof ACCESS_LEVELS;

export const ACCESS_LEVEL_NAMES = Object.keys(ACCESS_LEVELS) as AccessLevel[];

export const levelSpec = (level: AccessLevel): AccessLevelSpec => ACCESS_LEVELS[level];

/** Whether a level reads objects, or writes them: the boot script's two jobs. */
export const levelReads = (level: AccessLevel): boolean => levelSpec(level).object.includes(S3_GET_OBJECT);
export const levelWrites = (level: AccessLevel): boolean => levelSpec(level).object.includes(S3_PUT_OBJECT);

/** What a consumer is granted: a level, on the whole bucket or on some key prefixes. */
export interface ConsumerAccess {
  access: AccessLevel;
  /** Key prefixes, each ending in "/"; undefined for the whole bucket. */
  prefixes?: string[];
}

/** Today's default and an organization grant's only access: read, the whole bucket. */
export const WHOLE_BUCKET_READ: ConsumerAccess = { access: "read" };
const spec = levelSpec;

/** The actions a level grants: object, bucket (when listing is on), then KMS. */
export const grantedActions = (level: AccessLevel): string[] => {
  const l = spec(level);
  return [...l.object, ...l.bucket, ...l.kms];
};

/** The actions a level must never be granted: object, bucket, then KMS. */
export const neverActions = (level: AccessLevel): string[] => {
  const { never } = spec(level);
  return [...never.object, ...never.bucket, ...never.kms];
};

/**
 * What a policy that grants all these levels (one statement each) must never grant: the actions in
 * the never-list of every one of them. Throws on no level, rather than answer "nothing".
 */
export function neverGranted(levels: AccessLevel[]): string[] {
  if (levels.length === 0) throw new Error("neverGranted: no access level given");
  const [first, ...others] = levels.map(neverActions);
  return first.filter((a) => others.every((o) => o.includes(a)));
}
