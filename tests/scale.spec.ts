import { strict as assert } from "assert";
import { RawConfig } from "../shared/program/config";
import { manyConsumers, sourceGranting } from "../shared/offline/fixtures";
import { one, ofType, policyOf, runProgram, runProgramExpectingError } from "../shared/offline/run";
import { PolicyDocument } from "../shared/program/iam/document";
import { POLICY_LIMITS } from "../source-account/documents";

const config = (n: number): RawConfig => sourceGranting(manyConsumers(n));

/** Bytes as sent: the program sends policies as compact JSON. */
const bytes = (doc: PolicyDocument) => Buffer.byteLength(JSON.stringify(doc));

describe("scale: many consumers within AWS policy size limits", () => {
  it("200 consumers in 200 accounts deploy, every policy within its limit", async () => {
    const run = await runProgram({ stack: "source-200", config: config(200) });
    const bucket = ofType(run, "aws:s3/bucketPolicy:BucketPolicy").find(
      (p) => p.inputs.bucket === run.outputs.bucketName,
    );
    assert.ok(bucket, "the shared bucket's policy");
    const bucketPolicy = policyOf(bucket);
    const keyPolicy = policyOf(one(run, "aws:kms/key:Key"));
    assert.ok(bytes(bucketPolicy) <= POLICY_LIMITS.bucketPolicy, `bucket policy ${bytes(bucketPolicy)} bytes`);
    assert.ok(bytes(keyPolicy) <= POLICY_LIMITS.keyPolicy, `key policy ${bytes(keyPolicy)} bytes`);
    assert.equal((run.outputs.consumerRoleArns as string[]).length, 200);
    assert.equal(bucketPolicy.Statement.length, 7, "one grant statement beside the six denies, whatever N");
  });

  it("past the limit: a clear error before any resource, naming the limit, the size, how many fit and the organization option; and that many do fit", async () => {
    const { error, resources } = await runProgramExpectingError({ stack: "source-many", config: config(400) });
    assert.equal(resources.length, 0);
    assert.equal(error.name, "UserError");
    assert.match(
      error.message,
      /With 400 cross-account-s3-kms:consumers, the bucket policy would be [\d,]+ bytes, over AWS's limit of 20,480/,
    );
    assert.match(error.message, /cross-account-s3-kms:consumerOrgId/);
    const fit = Number(/The first (\d+) of cross-account-s3-kms:consumers fit/.exec(error.message)?.[1]);
    assert.ok(fit >= 200 && fit < 400, `${fit} fit`);
    const atLimit = await runProgram({ stack: "source-fit", config: config(fit) });
    // The guard's count is measured on what the program then sends, with the key's real ARN.
    const sent = Buffer.byteLength(
      String(
        ofType(atLimit, "aws:s3/bucketPolicy:BucketPolicy").find((p) => p.inputs.bucket === atLimit.outputs.bucketName)
          ?.inputs.policy,
      ),
    );
    assert.ok(sent <= POLICY_LIMITS.bucketPolicy, `${sent} bytes sent at the limit`);
    assert.ok(
      sent > POLICY_LIMITS.bucketPolicy - 120,
      `one more consumer (about 80 bytes) would not fit: ${sent} bytes`,
    );
    const over = await runProgramExpectingError({ stack: "source-fit-plus-one", config: config(fit + 1) });
    assert.match(
      over.error.message,
      new RegExp(`With ${fit + 1} cross-account-s3-kms:consumers, .* The first ${fit} of`),
    );
  });

  it("200 consumers of mixed levels on four shared prefixes: over the limit, the advice says what an organization grant cannot replace; the first that fit do deploy", async () => {
    const levels = ["read", "write", "read-write"];
    const mixed = (n: number) =>
      sourceGranting(manyConsumers(n).map((c, i) => ({ ...c, access: levels[i % 3], prefixes: [`team-${i % 4}/`] })));
    const { error, resources } = await runProgramExpectingError({ stack: "source-mixed", config: mixed(200) });
    assert.equal(resources.length, 0);
    assert.match(error.message, /With 200 cross-account-s3-kms:consumers, the bucket policy would be [\d,]+ bytes/);
    assert.match(error.message, /cannot replace the 200 consumers with another access or prefixes/);
    const fit = Number(/The first (\d+) of cross-account-s3-kms:consumers fit/.exec(error.message)?.[1]);
    assert.ok(fit >= 100 && fit < 200, `${fit} fit`);
    const run = await runProgram({ stack: "source-mixed-fit", config: mixed(fit) });
    const bucket = ofType(run, "aws:s3/bucketPolicy:BucketPolicy").find(
      (p) => p.inputs.bucket === run.outputs.bucketName,
    );
    assert.ok(bucket && bytes(policyOf(bucket)) <= POLICY_LIMITS.bucketPolicy);
    // Three levels on four prefixes: twelve sets, each one statement, plus a list statement for the eight that read.
    assert.equal(policyOf(bucket).Statement.length, 6 + 12 + 8);
    assert.ok(bytes(policyOf(one(run, "aws:kms/key:Key"))) <= POLICY_LIMITS.keyPolicy);
  });

  it("an organization grant too large by itself says so, rather than blaming the consumers", async () => {
    const names = Array.from({ length: 400 }, (_, i) => `reader-role-with-a-long-name-${i}`);
    const { error } = await runProgramExpectingError({
      stack: "source-org-big",
      config: {
        ...config(1),
        "cross-account-s3-kms:consumerOrgId": "o-a1b2c3d4e5",
        "cross-account-s3-kms:consumerRoleNames": JSON.stringify(names),
      },
    });
    assert.match(
      error.message,
      /With 1 cross-account-s3-kms:consumers, 400 cross-account-s3-kms:consumerRoleNames, 0 cross-account-s3-kms:consumerOrgPaths, the bucket policy would be/,
    );
    assert.match(error.message, /The organization grant alone is too large/);
  });
});
