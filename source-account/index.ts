import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { bucketArn, roleArn } from "../shared/program/iam/arn";
import { RawConfig } from "../shared/program/project";
import { checkSourceConfig } from "./checks";
import { SourceContract } from "../shared/program/contract";
import { renderPolicy } from "../shared/program/iam/document";
import { tags } from "../shared/program/tags";
import { AuditTrail } from "./audit-trail";
import { CustomerManagedKey } from "./customer-managed-key";
import { EncryptedBucket } from "./encrypted-bucket";
import { auditLogBucketName, auditTrailName, bucketPolicyFor, keyPolicyFor } from "./documents";

export type SourceOutputs = { [K in keyof SourceContract]: pulumi.Input<SourceContract[K]> };

/** Account A: the key, the bucket and its policies, the sample objects and the audit trail. */
export function runSource(raw: RawConfig): SourceOutputs {
  const cfg = checkSourceConfig(raw);
  for (const note of cfg.notes) void pulumi.log.warn(note);
  const key = new CustomerManagedKey(
    "shared",
    {
      alias: cfg.keyAlias,
      rotationDays: cfg.keyRotationDays,
      policy: renderPolicy(keyPolicyFor(cfg)),
    },
    { protect: cfg.protectData },
  );

  const bucket = new EncryptedBucket(
    "shared",
    {
      bucketName: cfg.bucketName,
      keyArn: key.arn,
      policy: key.arn.apply((keyArn) => renderPolicy(bucketPolicyFor(cfg, keyArn))),
    },
    { protect: cfg.protectData },
  );

  for (const o of cfg.objects) {
    new aws.s3.BucketObjectv2(
      `sample-${o.key}`,
      {
        bucket: bucket.bucket.id,
        key: o.key,
        source: new pulumi.asset.FileAsset(o.file),
        // Explicit, so an object is never written before default encryption applies.
        serverSideEncryption: "aws:kms",
        kmsKeyId: key.arn,
        bucketKeyEnabled: true,
        tags: tags("sample-object"),
      },
      // The bucket's settings, not the component: depending on a component waits for all its children, these objects included.
      { parent: bucket, dependsOn: bucket.ready },
    );
  }

  if (cfg.auditTrail) {
    new AuditTrail(
      "audit",
      {
        trailName: auditTrailName(cfg.bucketName),
        logBucketName: auditLogBucketName(cfg.bucketName),
        keyArn: key.arn,
        watchedBucketArn: bucketArn(cfg.bucketName),
        accountId: cfg.accountId,
        region: cfg.region,
      },
      { protect: cfg.protectData },
    );
  }

  return {
    bucketName: bucket.name,
    bucketArn: bucket.arn,
    keyArn: key.arn,
    region: cfg.region,
    accountId: cfg.accountId,
    objectKeys: cfg.objects.map((o) => o.key),
    consumerRoleArns: cfg.consumers.map(roleArn),
    consumerAccess: cfg.consumers.map((c) => ({
      roleArn: roleArn(c),
      access: c.access ?? "read",
      ...(c.prefixes && { prefixes: c.prefixes }),
    })),
    allowListBucket: cfg.allowListBucket,
    consumerOrg: cfg.consumerOrg ?? null,
  };
}
