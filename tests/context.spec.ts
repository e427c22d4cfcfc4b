import { strict as assert } from "assert";
import { AccessRequest, requestContext } from "../shared/offline/access";

/**
 * What AWS puts in a service principal's request context:
 * - IAM User Guide, "AWS global condition context keys"
 *   (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-sourceaccount):
 *   aws:SourceArn and aws:SourceAccount are the resource, and its account, on whose behalf an AWS
 *   service calls; aws:SourceAccount is only available when an AWS service principal makes the call.
 * - AWS CloudTrail User Guide, "Amazon S3 bucket policy for CloudTrail"
 *   (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/create-s3-bucket-policy-for-cloudtrail.html):
 *   the log bucket's policy may condition CloudTrail's writes on either key.
 */
describe("request context: a service principal's request", () => {
  const trail = "arn:aws:cloudtrail:us-west-2:111111111111:trail/audit";
  const write: AccessRequest = {
    service: { principal: "cloudtrail.amazonaws.com", sourceArn: trail, sourceAccount: "111111111111" },
    action: "s3:PutObject",
    resource: "arn:aws:s3:::logs/AWSLogs/111111111111/x.json.gz",
    resourceAccount: "111111111111",
  };

  it("carries aws:SourceArn and aws:SourceAccount with the request's values, for S3 and KMS alike", () => {
    for (const r of [write, { ...write, action: "kms:GenerateDataKey", resource: "arn:aws:kms:us-west-2:1:key/k" }]) {
      const ctx = requestContext(r);
      assert.equal(ctx["aws:SourceArn"], trail, r.action);
      assert.equal(ctx["aws:SourceAccount"], "111111111111", r.action);
    }
  });

  it("a role's own request carries neither", () => {
    const ctx = requestContext({
      ...write,
      service: undefined,
      principal: { accountId: "222222222222", roleName: "reader" },
    });
    assert.equal(ctx["aws:SourceArn"], undefined);
    assert.equal(ctx["aws:SourceAccount"], undefined);
  });
});
