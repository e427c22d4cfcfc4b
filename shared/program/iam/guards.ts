/** The bucket policies' guards: TLS only, and no upload that asks for another key or another kind of encryption. */
import { bucketArn as toBucketArn } from "./arn";
import { Statement } from "./document";

/** Denies every request to these resources that is not over TLS 1.2 or later. */
export function denyInsecureTransport(resources: string[]): Statement[] {
  return [
    {
      Sid: "DenyInsecureTransport",
      Effect: "Deny",
      Principal: "*",
      Action: "s3:*",
      Resource: resources,
      Condition: { Bool: { "aws:SecureTransport": "false" } },
    },
    {
      Sid: "DenyOutdatedTls",
      Effect: "Deny",
      Principal: "*",
      Action: "s3:*",
      Resource: resources,
      Condition: { NumericLessThan: { "s3:TlsVersion": "1.2" } },
    },
  ];
}

/**
 * Denies uploads that ask for another key or another kind of encryption.
 * Each deny applies only when its header is present (`Null: false`): a plain `StringNotEquals`
 * would also deny header-less uploads, which the bucket's default encryption covers.
 */
export function denyForeignEncryption(bucketName: string, keyArn: string): Statement[] {
  const objects = `${toBucketArn(bucketName)}/*`;
  return [denyOtherKmsKey(objects, keyArn), denyKmsWithoutKey(objects), ...denyNonKmsEncryption(objects)];
}

/**
 * Denies uploads to `objects` that ask for SSE-KMS without naming a key: S3 then uses the AWS
 * managed key aws/s3 (Amazon S3 API Reference, PutObject, x-amz-server-side-encryption-aws-kms-key-id),
 * which no other account can decrypt. An upload with no encryption header gets the bucket's default.
 */
function denyKmsWithoutKey(objects: string): Statement {
  return {
    Sid: "DenyKmsWithoutKeyId",
    Effect: "Deny",
    Principal: "*",
    Action: "s3:PutObject",
    Resource: objects,
    Condition: {
      StringEquals: { "s3:x-amz-server-side-encryption": "aws:kms" },
      Null: { "s3:x-amz-server-side-encryption-aws-kms-key-id": "true" },
    },
  };
}

/** Denies uploads to `objects` that name a KMS key other than `keyArn` (by its full ARN). */
function denyOtherKmsKey(objects: string, keyArn: string): Statement {
  return {
    Sid: "DenyOtherKmsKey",
    Effect: "Deny",
    Principal: "*",
    Action: "s3:PutObject",
    Resource: objects,
    Condition: {
      Null: { "s3:x-amz-server-side-encryption-aws-kms-key-id": "false" },
      StringNotEquals: { "s3:x-amz-server-side-encryption-aws-kms-key-id": keyArn },
    },
  };
}

/** Denies uploads to `objects` that ask for SSE-S3 (AES256), DSSE-KMS or SSE-C instead of SSE-KMS. */
export function denyNonKmsEncryption(objects: string): Statement[] {
  return [
    {
      Sid: "DenyNonKmsEncryption",
      Effect: "Deny",
      Principal: "*",
      Action: "s3:PutObject",
      Resource: objects,
      Condition: {
        Null: { "s3:x-amz-server-side-encryption": "false" },
        StringNotEquals: { "s3:x-amz-server-side-encryption": "aws:kms" },
      },
    },
    {
      Sid: "DenyCustomerProvidedKeys",
      Effect: "Deny",
      Principal: "*",
      Action: "s3:PutObject",
      Resource: objects,
      Condition: { Null: { "s3:x-amz-server-side-encryption-customer-algorithm": "false" } },
    },
  ];
}
