/** What CloudTrail needs to write this deployment's audit logs: its statements in the key policy and the log bucket's policy. */
import { PARTITION } from "./arn";
import { KEY_POLICY_SELF, PolicyDocument, policyDocument, Statement } from "./document";
import { denyInsecureTransport, denyNonKmsEncryption } from "./guards";
import { KMS_DECRYPT } from "./access-levels";

/**
 * Lets this account's audit trail encrypt its log files with the key, and nothing else. The log
 * bucket has a Bucket Key, so CloudTrail also needs kms:Decrypt to create or update the trail
 * (CloudTrail guide, "Configure AWS KMS key policies for CloudTrail").
 */
export function cloudTrailKeyStatements(accountId: string, trailArn: string): Statement[] {
  const onlyThisTrail = { "aws:SourceArn": trailArn };
  return [
    {
      Sid: "CloudTrailEncryptsLogs",
      Effect: "Allow",
      Principal: { Service: "cloudtrail.amazonaws.com" },
      Action: "kms:GenerateDataKey*",
      Resource: KEY_POLICY_SELF,
      Condition: {
        StringEquals: onlyThisTrail,
        StringLike: {
          "kms:EncryptionContext:aws:cloudtrail:arn": `arn:${PARTITION}:cloudtrail:*:${accountId}:trail/*`,
        },
      },
    },
    {
      Sid: "CloudTrailDecryptsForBucketKey",
      Effect: "Allow",
      Principal: { Service: "cloudtrail.amazonaws.com" },
      Action: KMS_DECRYPT,
      Resource: KEY_POLICY_SELF,
      Condition: { StringEquals: onlyThisTrail },
    },
    {
      Sid: "CloudTrailDescribesKey",
      Effect: "Allow",
      Principal: { Service: "cloudtrail.amazonaws.com" },
      Action: "kms:DescribeKey",
      Resource: KEY_POLICY_SELF,
      Condition: { StringEquals: onlyThisTrail },
    },
  ];
}

export interface AuditLogPolicyArgs {
  logBucketArn: string;
  accountId: string;
  trailArn: string;
}

/**
 * The CloudTrail log bucket's policy: only this trail may write, scoped by `aws:SourceArn`, and no
 * write may ask for other encryption than the bucket's default SSE-KMS. No deny on the key ID:
 * CloudTrail may name the trail's key in another form than its full ARN.
 */
export function auditLogBucketPolicy(a: AuditLogPolicyArgs): PolicyDocument {
  const onlyThisTrail = { "aws:SourceArn": a.trailArn };
  return policyDocument([
    ...denyInsecureTransport([a.logBucketArn, `${a.logBucketArn}/*`]),
    ...denyNonKmsEncryption(`${a.logBucketArn}/*`),
    {
      Sid: "CloudTrailAclCheck",
      Effect: "Allow",
      Principal: { Service: "cloudtrail.amazonaws.com" },
      Action: "s3:GetBucketAcl",
      Resource: a.logBucketArn,
      Condition: { StringEquals: onlyThisTrail },
    },
    {
      Sid: "CloudTrailWrite",
      Effect: "Allow",
      Principal: { Service: "cloudtrail.amazonaws.com" },
      Action: "s3:PutObject",
      Resource: `${a.logBucketArn}/AWSLogs/${a.accountId}/*`,
      Condition: { StringEquals: { ...onlyThisTrail, "s3:x-amz-acl": "bucket-owner-full-control" } },
    },
  ]);
}
