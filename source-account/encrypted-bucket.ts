import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { tags } from "../shared/program/tags";

export interface EncryptedBucketArgs {
  /** The bucket's globally unique name. Required. */
  bucketName: string;
  /** Full ARN of the KMS key for default encryption. Required. */
  keyArn: pulumi.Input<string>;
  /** The bucket policy, as JSON. Required. */
  policy: pulumi.Input<string>;
}

/**
 * A private S3 bucket: SSE-KMS by default with a customer managed key and Bucket Key, all four
 * Block Public Access settings, ACLs disabled (BucketOwnerEnforced), versioning, and a policy.
 * Protect it with `opts.protect`: its children inherit it. Only `protect: false` lets destroy
 * delete the objects with the bucket (forceDestroy); otherwise a non-empty bucket survives.
 */
export class EncryptedBucket extends pulumi.ComponentResource {
  readonly bucket: aws.s3.Bucket;
  readonly arn: pulumi.Output<string>;
  readonly name: pulumi.Output<string>;
  /** The bucket's settings and policy: objects written after these are encrypted, private and governed. */
  readonly ready: pulumi.Resource[];

  constructor(name: string, args: EncryptedBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    super("cross-account-s3-kms:source:EncryptedBucket", name, {}, opts);
    this.bucket = new aws.s3.Bucket(
      `${name}-bucket`,
      // Unprotected on purpose means the owner asked for destroy to delete the data, every version included.
      { bucket: args.bucketName, forceDestroy: opts?.protect === false, tags: tags(args.bucketName) },
      { parent: this },
    );
    // The name, known at preview (the ID is not), so policy packs can match these settings to the bucket.
    const bucket = args.bucketName;
    const afterBucket = { parent: this, dependsOn: [this.bucket] };

    const publicAccess = new aws.s3.BucketPublicAccessBlock(
      `${name}-public-access`,
      { bucket, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
      afterBucket,
    );
    const ownership = new aws.s3.BucketOwnershipControls(
      `${name}-ownership`,
      { bucket, rule: { objectOwnership: "BucketOwnerEnforced" } },
      afterBucket,
    );
    const versioning = new aws.s3.BucketVersioning(
      `${name}-versioning`,
      { bucket, versioningConfiguration: { status: "Enabled" } },
      afterBucket,
    );
    const encryption = new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-encryption`,
      {
        bucket,
        rules: [
          {
            applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: args.keyArn },
            bucketKeyEnabled: true,
          },
        ],
      },
      afterBucket,
    );
    const policy = new aws.s3.BucketPolicy(
      `${name}-policy`,
      { bucket, policy: args.policy },
      { parent: this, dependsOn: [this.bucket, publicAccess] },
    );
    this.ready = [publicAccess, ownership, versioning, encryption, policy];

    this.arn = this.bucket.arn;
    this.name = this.bucket.bucket;
    this.registerOutputs({ arn: this.arn, name: this.name });
  }
}
