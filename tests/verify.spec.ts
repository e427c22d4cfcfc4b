import { strict as assert } from "assert";
import { GetConsoleOutputCommand } from "@aws-sdk/client-ec2";
import { GetKeyPolicyCommand, KMSServiceException } from "@aws-sdk/client-kms";
import { GetBucketPolicyCommand, GetObjectCommand, HeadObjectCommand } from "@aws-sdk/client-s3";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { SourceContract, validateContract } from "../shared/program/contract";
import { ofType, runProgram } from "../shared/offline/run";
import { TargetOutputs } from "../shared/program/target-outputs";
import { Check, verify, verifyWithStacks } from "../shared/tools/verify/checks";
import { readTargetOutputs } from "../shared/tools/verify/target";
import { StackInfo } from "../shared/tools/stacks/files";
import { committedConfig } from "../shared/offline/fixtures";
import { accessDenied, BODY, clock, consoleOutput, mockedClients, s3Body, SHA } from "./verify-world";

const SOURCE_INFO: StackInfo = {
  name: "source",
  file: "Pulumi.source.yaml",
  config: {},
  accountId: "111111111111",
  region: "us-west-2",
  profile: "account-a",
};
const TARGET_INFO: StackInfo = {
  name: "target",
  file: "Pulumi.target.yaml",
  config: {},
  accountId: "222222222222",
  region: "us-west-2",
  profile: "account-b",
};

const credentialsError = () =>
  Object.assign(new Error("Could not load credentials from any providers"), { name: "CredentialsProviderError" });

/** The live policies a deploy would leave: the program's own, rendered under mocks. */
let contract: SourceContract;
let bucketPolicy: string;
let keyPolicy: string;
before(async () => {
  const run = await runProgram({ stack: "source", config: committedConfig("source") });
  const v = validateContract(run.outputs);
  assert.ok(v.ok);
  contract = v.contract;
  bucketPolicy = String(
    ofType(run, "aws:s3/bucketPolicy:BucketPolicy").find((p) => p.inputs.bucket === contract.bucketName)?.inputs.policy,
  );
  keyPolicy = String(ofType(run, "aws:kms/key:Key")[0].inputs.policy);
});

function world() {
  // The diagnosis's reads (tests/verify-diagnose.spec.ts): unanswered here, so it notes what it could not read.
  const { clients, m } = mockedClients();
  m.sourceS3
    .on(HeadObjectCommand)
    .resolves({ ServerSideEncryption: "aws:kms", SSEKMSKeyId: contract.keyArn, BucketKeyEnabled: true });
  m.sourceS3.on(GetBucketPolicyCommand).resolves({ Policy: bucketPolicy });
  m.sourceS3.on(GetObjectCommand).callsFake(() => ({ Body: s3Body(BODY) }));
  m.sourceKms.on(GetKeyPolicyCommand).resolves({ Policy: keyPolicy });
  m.targetEc2
    .on(GetConsoleOutputCommand)
    .resolves({ Output: consoleOutput(`CROSS_ACCOUNT_COPY OK ${contract.objectKeys[0]} sha256=${SHA}`) });
  m.targetSts
    .on(GetCallerIdentityCommand)
    .resolves({ Account: "222222222222", Arn: "arn:aws:sts::222222222222:assumed-role/Admin/alice" });
  m.targetS3.on(GetObjectCommand).rejects(accessDenied());
  return { clients, m };
}

const target = (): TargetOutputs => ({
  instanceId: "i-0abc",
  roleArn: "arn:aws:iam::222222222222:role/account-b-role",
  sourceBucket: contract.bucketName,
  objectKey: contract.objectKeys[0],
  destinationPath: "/var/lib/cross-account-s3-kms/copy",
  markerPrefix: "CROSS_ACCOUNT_COPY",
  access: "read",
  reads: true,
  writes: false,
  receiptPrefix: null,
});

const failing = (checks: Check[]) => checks.filter((c) => !c.ok);
const byName = (checks: Check[], fragment: string) => {
  const c = checks.find((x) => x.check.includes(fragment));
  assert.ok(c, `no check "${fragment}" in ${JSON.stringify(checks)}`);
  return c;
};

describe("npm run verify (AWS SDK calls mocked)", () => {
  it("passes every check on a healthy deployment, with the calls it should make", async () => {
    const { clients, m } = world();
    const checks = await verify(contract, target(), clients, clock().opts);
    assert.deepEqual(failing(checks), []);
    assert.equal(checks.length, contract.objectKeys.length + 5);
    assert.equal(m.sourceS3.commandCalls(HeadObjectCommand).length, contract.objectKeys.length);
    assert.deepEqual(m.sourceKms.commandCalls(GetKeyPolicyCommand)[0].args[0].input, {
      KeyId: contract.keyArn,
      PolicyName: "default",
    });
    assert.deepEqual(m.targetEc2.commandCalls(GetConsoleOutputCommand)[0].args[0].input, {
      InstanceId: "i-0abc",
      Latest: true,
    });
    assert.deepEqual(m.targetS3.commandCalls(GetObjectCommand)[0].args[0].input, {
      Bucket: contract.bucketName,
      Key: contract.objectKeys[0],
    });
    assert.match(byName(checks, "sha256 matches").detail, new RegExp(SHA));
  });

  it("fails when an object is not encrypted with the stack's key", async () => {
    const { clients, m } = world();
    m.sourceS3.on(HeadObjectCommand).resolves({ ServerSideEncryption: "AES256" });
    const checks = await verify(contract, target(), clients, clock().opts);
    assert.deepEqual(
      failing(checks).map((c) => c.check),
      [`source: ${contract.objectKeys[0]} is encrypted with the stack's key and Bucket Key`],
    );
  });

  it("fails when the live bucket policy lacks a consumer role", async () => {
    const { clients, m } = world();
    m.sourceS3.on(GetBucketPolicyCommand).resolves({
      Policy: bucketPolicy.split(contract.consumerRoleArns[0]).join("arn:aws:iam::222222222222:role/someone-else"),
    });
    const checks = await verify(contract, target(), clients, clock().opts);
    assert.equal(byName(checks, "bucket policy").ok, false);
    assert.match(byName(checks, "bucket policy").detail, /lacks arn:aws:iam::222222222222:role\/account-b-role/);
    assert.equal(failing(checks).length, 1);
  });

  it("fails when the live key policy has no decrypt grant", async () => {
    const { clients, m } = world();
    const doc = JSON.parse(keyPolicy) as { Statement: { Action: string | string[] }[] };
    doc.Statement = doc.Statement.filter((s) => !JSON.stringify(s.Action).includes("kms:Decrypt"));
    m.sourceKms.on(GetKeyPolicyCommand).resolves({ Policy: JSON.stringify(doc) });
    const checks = await verify(contract, target(), clients, clock().opts);
    assert.deepEqual(
      failing(checks).map((c) => c.detail),
      ["no Allow for kms:Decrypt"],
    );
  });

  it("reports the boot script's FAILED marker at once", async () => {
    const { clients, m } = world();
    m.targetEc2.on(GetConsoleOutputCommand).resolves({
      Output: consoleOutput("CROSS_ACCOUNT_COPY FAILED after 9 attempts in 300000ms: An error occurred (AccessDenied)"),
    });
    const c = clock();
    const checks = await verify(contract, target(), clients, c.opts);
    assert.match(byName(checks, "console reports").detail, /FAILED after 9 attempts/);
    assert.deepEqual(c.sleeps, []);
    assert.equal(
      checks.some((x) => x.check.includes("sha256")),
      false,
    );
  });

  it("waits with a bounded poll while the marker is missing, saying how long it waited", async () => {
    const { clients, m } = world();
    m.targetEc2.on(GetConsoleOutputCommand).resolves({ Output: consoleOutput() });
    const c = clock(60);
    const checks = await verify(contract, target(), clients, c.opts);
    assert.deepEqual(c.sleeps, [15000, 15000, 15000, 15000]);
    assert.match(c.logs[3], /no CROSS_ACCOUNT_COPY marker on i-0abc's console yet; waited 45s of 60s/);
    assert.equal(byName(checks, "console reports").ok, false);
    assert.match(byName(checks, "console reports").detail, /no marker after waiting 60s/);
  });

  it("passes once the marker appears on a later poll", async () => {
    const { clients, m } = world();
    m.targetEc2
      .on(GetConsoleOutputCommand)
      .resolvesOnce({ Output: consoleOutput() })
      .resolvesOnce({ Output: consoleOutput() })
      .resolves({ Output: consoleOutput(`CROSS_ACCOUNT_COPY OK ${contract.objectKeys[0]} sha256=${SHA}`) });
    const checks = await verify(contract, target(), clients, clock(600).opts);
    assert.deepEqual(failing(checks), []);
    assert.match(byName(checks, "console reports").detail, /^after 30s/);
  });

  it("falls back to the boot-time console output on instances that are not Nitro", async () => {
    const { clients, m } = world();
    const unsupported = Object.assign(new Error("The latest console output is not supported for this instance type"), {
      name: "UnsupportedOperation",
    });
    m.targetEc2
      .on(GetConsoleOutputCommand)
      .rejectsOnce(unsupported)
      .resolves({ Output: consoleOutput(`CROSS_ACCOUNT_COPY OK ${contract.objectKeys[0]} sha256=${SHA}`) });
    const checks = await verify(contract, target(), clients, clock().opts);
    assert.deepEqual(failing(checks), []);
    const calls = m.targetEc2.commandCalls(GetConsoleOutputCommand).map((c) => c.args[0].input);
    assert.deepEqual(calls, [
      { InstanceId: "i-0abc", Latest: true },
      { InstanceId: "i-0abc", Latest: undefined },
    ]);
  });

  it("fails when the copy's sha256 differs from the object's", async () => {
    const { clients, m } = world();
    m.targetEc2
      .on(GetConsoleOutputCommand)
      .resolves({ Output: consoleOutput(`CROSS_ACCOUNT_COPY OK ${contract.objectKeys[0]} sha256=${"0".repeat(64)}`) });
    const checks = await verify(contract, target(), clients, clock().opts);
    assert.equal(byName(checks, "sha256 matches").ok, false);
    assert.equal(failing(checks).length, 1);
  });

  it("fails when another principal of the target account can read (the grant is too wide)", async () => {
    const { clients, m } = world();
    m.targetS3.on(GetObjectCommand).callsFake(() => ({ Body: s3Body(BODY) }));
    const checks = await verify(contract, target(), clients, clock().opts);
    assert.match(byName(checks, "negative").detail, /the grant is too wide/);
    assert.equal(failing(checks).length, 1);
  });

  it("refuses to run the negative check as the reader role itself", async () => {
    const { clients, m } = world();
    m.targetSts
      .on(GetCallerIdentityCommand)
      .resolves({ Account: "222222222222", Arn: "arn:aws:sts::222222222222:assumed-role/account-b-role/i-0abc" });
    const checks = await verify(contract, target(), clients, clock().opts);
    assert.match(byName(checks, "negative").detail, /runs as the reader role itself/);
  });

  it("reads each live document once when a check fails and the diagnosis reads them again", async () => {
    const { clients, m } = world();
    m.sourceS3.on(GetBucketPolicyCommand).resolves({
      Policy: bucketPolicy.split(contract.consumerRoleArns[0]).join("arn:aws:iam::222222222222:role/someone-else"),
    });
    const checks = await verify(contract, target(), clients, clock().opts);
    assert.ok(
      checks.diagnosis?.links.some((l) => l.kind === "bucket-policy"),
      `the diagnosis judged the live bucket policy: ${JSON.stringify(checks.diagnosis)}`,
    );
    assert.equal(
      checks.diagnosis?.notes.join("\n").match(/could not read the (policy of bucket|key policy|encryption)/),
      null,
    );
    assert.equal(m.sourceS3.commandCalls(GetBucketPolicyCommand).length, 1);
    assert.equal(m.sourceKms.commandCalls(GetKeyPolicyCommand).length, 1);
    assert.deepEqual(
      m.sourceS3.commandCalls(HeadObjectCommand).map((c) => c.args[0].input.Key),
      contract.objectKeys,
    );
  });

  it("missing source credentials: a clear message naming the stack and its profile", async () => {
    const { clients, m } = world();
    m.sourceS3.on(HeadObjectCommand).rejects(credentialsError());
    await assert.rejects(
      verifyWithStacks(SOURCE_INFO, TARGET_INFO, contract, target(), clients, clock().opts),
      (e: Error) => {
        assert.equal(e.name, "UserError");
        assert.match(
          e.message,
          /No usable AWS credentials for the source stack \(account 111111111111\) from profile "account-a"/,
        );
        assert.match(e.message, /aws sso login --profile account-a/);
        return true;
      },
    );
  });

  it("an AWS service error in a check fails the run (exit 1), saying what AWS said", async () => {
    const { clients, m } = world();
    m.sourceKms.on(GetKeyPolicyCommand).rejects(
      new KMSServiceException({
        name: "AccessDeniedException",
        $fault: "client",
        $metadata: { httpStatusCode: 400 },
        message:
          "User: arn:aws:sts::111111111111:assumed-role/Admin/alice is not authorized to perform: kms:GetKeyPolicy on this resource because the resource does not exist in this Region, no resource-based policies allow access, or a resource-based policy explicitly denies access",
      }),
    );
    await assert.rejects(
      verifyWithStacks(SOURCE_INFO, TARGET_INFO, contract, target(), clients, clock().opts),
      (e: Error) => (
        assert.equal(e.name, "Failure"),
        assert.match(e.message, /^an AWS call failed: AccessDeniedException: User: .* kms:GetKeyPolicy/),
        true
      ),
    );
    assert.equal(m.sourceKms.commandCalls(GetKeyPolicyCommand).length, 1);
  });

  it("missing target credentials: the message names the target stack", async () => {
    const { clients, m } = world();
    m.targetEc2.on(GetConsoleOutputCommand).rejects(credentialsError());
    await assert.rejects(
      verifyWithStacks(SOURCE_INFO, TARGET_INFO, contract, target(), clients, clock().opts),
      /No usable AWS credentials for the target stack \(account 222222222222\) from profile "account-b"/,
    );
  });

  it("reads the target's outputs through their schema, naming any that is missing or invalid", () => {
    const outputs = {
      instanceId: "i-0123456789abcdef0",
      roleArn: "arn:aws:iam::222222222222:role/account-b-role",
      sourceBucket: "accounta-shared-bucket",
      objectKey: "reports/q1.txt",
      destinationPath: "/var/lib/cross-account-s3-kms/q1.txt",
      markerPrefix: "CROSS_ACCOUNT_COPY",
      access: "read",
      reads: true,
      writes: false,
      receiptPrefix: null,
    };
    assert.deepEqual(readTargetOutputs({ ...outputs, somethingElse: 1 }), outputs);
    const refused = (o: Record<string, unknown> | undefined, message: string) =>
      assert.throws(
        () => readTargetOutputs(o),
        (e: Error) => (assert.equal(e.name, "UserError"), assert.equal(e.message, message), true),
      );
    refused(undefined, "The target stack has not been deployed on this backend: deploy it first (npm run deploy).");
    refused(
      { instanceId: "i-0123456789abcdef0" },
      "The target stack lacks the outputs roleArn, sourceBucket, markerPrefix, access, reads, writes: deploy it first (npm run deploy).",
    );
    refused(
      { ...outputs, instanceId: "i-0abc", roleArn: "arn:aws:iam::222222222222:user/alice", markerPrefix: undefined },
      "The target stack lacks the outputs markerPrefix and has invalid outputs (instanceId: must be an EC2 instance ID, i- then 8 or 17 hex digits; roleArn: must be a role ARN arn:aws:iam::<account>:role/<name>): deploy it first (npm run deploy).",
    );
    refused(
      { ...outputs, objectKey: "a\nb", destinationPath: "var/x" },
      "The target stack has invalid outputs (objectKey: must not contain a backslash or a control character (newline, tab, ...); destinationPath: must be an absolute path, /…): deploy it first (npm run deploy).",
    );
  });
});
