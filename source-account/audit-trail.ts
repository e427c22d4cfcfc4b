import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { bucketArn, trailArn } from "../shared/arn";
import { auditLogBucketPolicy } from "../shared/policies";
import { renderPolicy } from "../shared/policy-document";
import { tags } from "../shared/tags";

export interface AuditTrailArgs {
  /** Name of the trail. Required. */
  trailName: string;
  /** Name of the log bucket, globally unique. Required. */
  logBucketName: string;
  /** The customer managed key that encrypts the log files; its policy must admit this trail. Required. */
  keyArn: pulumi.Input<string>;
  /** ARN of the bucket whose object-level (data) events are recorded. Required. */
  watchedBucketArn: string;
  /** The account that owns the trail. Required. */
  accountId: string;
  /** The trail's region. Required. */
  region: string;
  /** Protect the log bucket from `pulumi destroy`. Default true; when false, destroy also deletes the logs (forceDestroy). */
  protect?: boolean;
}

/**
 * A single-region CloudTrail trail that records the watched bucket's S3 data events and the
 * region's management events (every KMS call, including each Decrypt), into a private log bucket
 * that only this trail may write to, encrypted with the customer managed key.
 */
export class AuditTrail extends pulumi.ComponentResource {
  readonly trail: aws.cloudtrail.Trail;
  readonly logBucket: aws.s3.Bucket;

  constructor(name: string, args: AuditTrailArgs, opts?: pulumi.ComponentResourceOptions) {
    super("cross-account-s3-kms:source:AuditTrail", name, {}, opts);
    const protect = args.protect ?? true;

    this.logBucket = new aws.s3.Bucket(
      `${name}-logs`,
      { bucket: args.logBucketName, forceDestroy: !protect, tags: tags(args.logBucketName) },
      { parent: this, protect },
    );
    // The name, known at preview (the ID is not), so policy packs can match these settings to the bucket.
    const bucket = args.logBucketName;
    const afterBucket = { parent: this, dependsOn: [this.logBucket] };
    const publicAccess = new aws.s3.BucketPublicAccessBlock(
      `${name}-logs-public-access`,
      { bucket, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
      afterBucket,
    );
    new aws.s3.BucketOwnershipControls(`${name}-logs-ownership`, { bucket, rule: { objectOwnership: "BucketOwnerEnforced" } }, afterBucket);
    new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-logs-encryption`,
      { bucket, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: args.keyArn }, bucketKeyEnabled: true }] },
      afterBucket,
    );
    const logBucketArn = bucketArn(args.logBucketName);
    const policy = new aws.s3.BucketPolicy(
      `${name}-logs-policy`,
      {
        bucket,
        policy: renderPolicy(
          auditLogBucketPolicy({ logBucketArn, accountId: args.accountId, trailArn: trailArn(args.region, args.accountId, args.trailName) }),
        ),
      },
      { parent: this, dependsOn: [this.logBucket, publicAccess] },
    );

    this.trail = new aws.cloudtrail.Trail(
      `${name}-trail`,
      {
        name: args.trailName,
        s3BucketName: bucket,
        kmsKeyId: args.keyArn,
        isMultiRegionTrail: false,
        includeGlobalServiceEvents: false,
        enableLogFileValidation: true,
        advancedEventSelectors: [
          {
            name: "Object-level events on the shared bucket",
            fieldSelectors: [
              { field: "eventCategory", equals: ["Data"] },
              { field: "resources.type", equals: ["AWS::S3::Object"] },
              { field: "resources.ARN", startsWiths: [`${args.watchedBucketArn}/`] },
            ],
          },
          { name: "Management events, including every KMS call", fieldSelectors: [{ field: "eventCategory", equals: ["Management"] }] },
        ],
        tags: tags(args.trailName),
      },
      { parent: this, dependsOn: [policy] },
    );
    this.registerOutputs({ trailArn: this.trail.arn, logBucket: this.logBucket.bucket });
  }
}
