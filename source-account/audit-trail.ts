import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { bucketArn, trailArn } from "../shared/program/iam/arn";
import { auditLogBucketPolicy } from "../shared/program/iam/cloudtrail";
import { renderPolicy } from "../shared/program/iam/document";
import { tags } from "../shared/program/tags";
import { EncryptedBucket } from "./encrypted-bucket";

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
}

/**
 * A single-region CloudTrail trail that records the watched bucket's S3 data events and the
 * region's management events (every KMS call, including each Decrypt), into a private log bucket
 * that only this trail may write to, encrypted with the customer managed key and versioned.
 * `opts.protect` protects the trail and its logs, as the EncryptedBucket it passes it to.
 */
export class AuditTrail extends pulumi.ComponentResource {
  readonly trail: aws.cloudtrail.Trail;
  readonly logs: EncryptedBucket;

  constructor(name: string, args: AuditTrailArgs, opts?: pulumi.ComponentResourceOptions) {
    super("cross-account-s3-kms:source:AuditTrail", name, {}, opts);
    // The same private, encrypted, versioned bucket as the shared data, with CloudTrail's policy.
    this.logs = new EncryptedBucket(
      `${name}-logs`,
      {
        bucketName: args.logBucketName,
        keyArn: args.keyArn,
        policy: renderPolicy(
          auditLogBucketPolicy({
            logBucketArn: bucketArn(args.logBucketName),
            accountId: args.accountId,
            trailArn: trailArn(args.region, args.accountId, args.trailName),
          }),
        ),
      },
      { parent: this, protect: opts?.protect },
    );

    this.trail = new aws.cloudtrail.Trail(
      `${name}-trail`,
      {
        name: args.trailName,
        s3BucketName: args.logBucketName,
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
          {
            name: "Management events, including every KMS call",
            fieldSelectors: [{ field: "eventCategory", equals: ["Management"] }],
          },
        ],
        tags: tags(args.trailName),
      },
      { parent: this, dependsOn: this.logs.ready },
    );
    this.registerOutputs({ trailArn: this.trail.arn, logBucket: this.logs.name });
  }
}
