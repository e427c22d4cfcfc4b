/**
 * Requests AWS services and the deployer make for this deployment, with the context AWS sends,
 * each citing the AWS page it comes from. They decide whether `pulumi up` and the trail work at
 * all, so they are in the matrix beside the consumers' reads.
 */
import { SourceContract } from "../../program/contract";
import { roleArn } from "../../program/iam/arn";
import { policyDocument } from "../../program/iam/document";
import { AccessPolicies, Principal } from "./capture";
import { AccessCase, Expected } from "./cases";
import { AccessRequest } from "./context";
import { KMS_DECRYPT } from "../../program/iam/access-levels";

const DOCS = {
  cloudTrailKey: "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-kms-key-policy-for-cloudtrail.html",
  cloudTrailBucket:
    "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-s3-bucket-policy-for-cloudtrail.html",
  sseKms: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/specifying-kms-encryption.html",
  bucketKey: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-key.html",
  sseS3: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingServerSideEncryption.html",
  sseC: "https://docs.aws.amazon.com/AmazonS3/latest/userguide/specifying-s3-c-encryption.html",
};

const CLOUDTRAIL = "cloudtrail.amazonaws.com";

/** The deployer in the source account: a role with administrator rights, as `pulumi up` runs. */
const DEPLOYER_ROLE = "deployer";
const ADMINISTRATOR = policyDocument([{ Sid: "Administrator", Effect: "Allow", Action: "*", Resource: "*" }]);

export function serviceCases(policies: AccessPolicies, contract: SourceContract): AccessCase[] {
  const cases: AccessCase[] = [];
  const account = contract.accountId;
  const add = (name: string, expected: Expected, request: AccessRequest, cites: string, principal: string) =>
    cases.push({
      case: name,
      principal,
      action: request.action,
      resource: request.resource,
      expected,
      request,
      identityOf: null,
      cites,
    });

  const audit = policies.audit;
  if (audit) {
    const otherTrail = audit.trailArn.replace(/trail\/(.+)$/, "trail/$1-other");
    for (const [trail, expected, whose] of [
      [audit.trailArn, "Allowed", "this trail"],
      [otherTrail, "Denied", "another trail of the account"],
    ] as const) {
      const service = { principal: CLOUDTRAIL, sourceArn: trail, sourceAccount: account };
      const key = { resource: contract.keyArn, resourceAccount: account, service };
      const who = `${CLOUDTRAIL} (${whose})`;
      const context = { "aws:cloudtrail:arn": trail };
      add(
        `CloudTrail encrypts ${whose}'s logs`,
        expected,
        { ...key, action: "kms:GenerateDataKey", encryptionContext: context },
        DOCS.cloudTrailKey,
        who,
      );
      add(
        `CloudTrail describes the key for ${whose}`,
        expected,
        { ...key, action: "kms:DescribeKey" },
        DOCS.cloudTrailKey,
        who,
      );
      add(
        `CloudTrail decrypts with the key for ${whose} (the log bucket has a Bucket Key)`,
        expected,
        { ...key, action: KMS_DECRYPT, encryptionContext: context },
        DOCS.cloudTrailKey,
        who,
      );
      const logs = { resourceAccount: account, service };
      add(
        `CloudTrail checks the log bucket's ACL for ${whose}`,
        expected,
        { ...logs, action: "s3:GetBucketAcl", resource: audit.logBucketArn },
        DOCS.cloudTrailBucket,
        who,
      );
      add(
        `CloudTrail writes ${whose}'s log file, bucket-owner-full-control, SSE-KMS`,
        expected,
        {
          ...logs,
          action: "s3:PutObject",
          resource: `${audit.logBucketArn}/AWSLogs/${account}/CloudTrail/${contract.region}/2026/01/01/${account}_CloudTrail_${contract.region}_log.json.gz`,
          headers: {
            "s3:x-amz-acl": "bucket-owner-full-control",
            "s3:x-amz-server-side-encryption": "aws:kms",
            "s3:x-amz-server-side-encryption-aws-kms-key-id": contract.keyArn,
          },
        },
        DOCS.cloudTrailBucket,
        who,
      );
    }
    // The log bucket's default encryption is SSE-KMS with the trail's key: its policy admits CloudTrail's
    // writes (DOCS.cloudTrailBucket), asking for aws:kms as above, but refuses one asking for SSE-S3
    // (x-amz-server-side-encryption: AES256, DOCS.sseS3) or SSE-C (the customer-algorithm header, DOCS.sseC).
    const thisTrail = { principal: CLOUDTRAIL, sourceArn: audit.trailArn, sourceAccount: account };
    const logFile = `${audit.logBucketArn}/AWSLogs/${account}/CloudTrail/${contract.region}/2026/01/01/${account}_CloudTrail_${contract.region}_other.json.gz`;
    for (const [asking, header, cites] of [
      ["AES256", { "s3:x-amz-server-side-encryption": "AES256" }, DOCS.sseS3],
      [
        "a customer-provided key (SSE-C)",
        { "s3:x-amz-server-side-encryption-customer-algorithm": "AES256" },
        DOCS.sseC,
      ],
    ] as const) {
      add(
        `CloudTrail writes this trail's log file asking for ${asking}`,
        "Denied",
        {
          resourceAccount: account,
          service: thisTrail,
          action: "s3:PutObject",
          resource: logFile,
          headers: { "s3:x-amz-acl": "bucket-owner-full-control", ...header },
        },
        cites,
        `${CLOUDTRAIL} (this trail)`,
      );
    }
  }

  const deployer: Principal = { accountId: account, roleName: DEPLOYER_ROLE };
  const asDeployer = (
    name: string,
    expected: Expected,
    r: Omit<AccessRequest, "principal" | "resourceAccount">,
    cites: string,
  ) => {
    add(name, expected, { ...r, principal: deployer, resourceAccount: account }, cites, roleArn(deployer));
    cases[cases.length - 1].identity = [ADMINISTRATOR];
  };
  for (const u of policies.uploads) {
    asDeployer(
      `the deployer uploads ${u.key} with the headers the program sends`,
      "Allowed",
      { action: "s3:PutObject", resource: `${contract.bucketArn}/${u.key}`, headers: u.headers },
      DOCS.sseKms,
    );
  }
  asDeployer(
    "S3 generates the Bucket Key for the deployer's upload",
    "Allowed",
    {
      action: "kms:GenerateDataKey",
      resource: contract.keyArn,
      viaS3: { region: contract.region, bucketArn: contract.bucketArn },
    },
    DOCS.bucketKey,
  );
  const first = policies.uploads[0];
  if (first) {
    asDeployer(
      `the deployer uploads ${first.key} asking for another KMS key`,
      "Denied",
      {
        action: "s3:PutObject",
        resource: `${contract.bucketArn}/${first.key}`,
        headers: {
          ...first.headers,
          "s3:x-amz-server-side-encryption-aws-kms-key-id": `${contract.keyArn.replace(/key\/.*/, "key/")}11111111-2222-3333-4444-555555555555`,
        },
      },
      DOCS.sseKms,
    );
  }
  return cases;
}
