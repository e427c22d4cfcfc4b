/**
 * What a reader must never be granted, written out here (not read from the code under test): 53
 * writes, deletes, and changes to the policies, ACLs, encryption or state of the bucket and key,
 * by the resource each acts on in AWS's Service Authorization Reference.
 */

/** Object actions: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html */
export const READER_NEVER_OBJECT = [
  ...["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:RestoreObject", "s3:ReplicateObject"],
  ...["s3:ReplicateDelete", "s3:PutObjectRetention", "s3:PutObjectLegalHold", "s3:BypassGovernanceRetention"],
  ...["s3:PutObjectAcl", "s3:PutObjectVersionAcl", "s3:ObjectOwnerOverrideToBucketOwner"],
];

/** Bucket actions, same page. */
export const READER_NEVER_BUCKET = [
  ...["s3:PutBucketAcl", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutBucketOwnershipControls"],
  ...["s3:PutBucketPublicAccessBlock", "s3:DeleteBucket", "s3:PutEncryptionConfiguration", "s3:PutBucketVersioning"],
  ...["s3:PutLifecycleConfiguration", "s3:PutReplicationConfiguration", "s3:PutBucketObjectLockConfiguration"],
  ...["s3:PutBucketLogging", "s3:PutBucketNotification", "s3:PutBucketWebsite", "s3:PutBucketCORS"],
];

/** Key actions: https://docs.aws.amazon.com/service-authorization/latest/reference/list_awskeymanagementservice.html */
export const READER_NEVER_KMS = [
  ...["kms:Encrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey", "kms:GenerateDataKeyPair"],
  ...["kms:GenerateDataKeyWithoutPlaintext", "kms:GenerateDataKeyPairWithoutPlaintext", "kms:PutKeyPolicy"],
  ...["kms:CreateGrant", "kms:RetireGrant", "kms:RevokeGrant", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion"],
  ...["kms:DisableKey", "kms:EnableKey", "kms:DisableKeyRotation", "kms:UpdateKeyDescription", "kms:ImportKeyMaterial"],
  ...["kms:DeleteImportedKeyMaterial", "kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias", "kms:ReplicateKey"],
  ...["kms:UpdatePrimaryRegion", "kms:TagResource", "kms:UntagResource"],
];

export const READER_NEVER = [...READER_NEVER_OBJECT, ...READER_NEVER_BUCKET, ...READER_NEVER_KMS];

/** Whether an IAM Action pattern (`*` and `?` wildcards, case-insensitive) covers an action. */
export function coversAction(pattern: string, action: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${re}$`, "i").test(action);
}
