import { strict as assert } from "assert";
import { GetConsoleOutputCommand } from "@aws-sdk/client-ec2";
import { GetKeyPolicyCommand, KMSServiceException } from "@aws-sdk/client-kms";
import {
  GetBucketAclCommand,
  GetBucketPolicyCommand,
  GetObjectAclCommand,
  GetObjectCommand,
  HeadObjectCommand,
  NotFound,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { SourceContract, validateContract } from "../shared/program/contract";
import { ofType, runProgram } from "../shared/offline/run";
import { TargetOutputs } from "../shared/program/target-outputs";
import { Check, failed, report, verify, verifyWithStacks } from "../shared/tools/verify/checks";
import { readTargetOutputs } from "../shared/tools/verify/target";
import { StackInfo } from "../shared/tools/stacks/files";
import { committedConfig, MIXED_SOURCE } from "../shared/offline/fixtures";
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

  it("only account B's credentials: A's checks are skipped with the profile and AWS's answer, B's run and pass", async () => {
    const { clients, m } = world();
    m.sourceS3.on(HeadObjectCommand).rejects(credentialsError());
    const checks = await verifyWithStacks(SOURCE_INFO, TARGET_INFO, contract, target(), clients, clock().opts);
    assert.deepEqual(checks.filter(failed), []);
    const reason =
      'no usable credentials for account A (111111111111) from profile "account-a" (aws:profile in Pulumi.source.yaml): CredentialsProviderError: Could not load credentials from any providers';
    assert.deepEqual(
      checks.filter((c) => c.skipped !== undefined).map((c) => [c.check.split(":")[0], c.skipped]),
      [
        ...contract.objectKeys.map(() => ["source", reason]),
        ["source", reason],
        ["source", reason],
        ["target", reason],
      ],
    );
    assert.ok(byName(checks, "console reports").ok);
    assert.ok(byName(checks, "negative").ok);
    assert.match(byName(checks, "sha256 matches").detail, new RegExp(`the instance reported sha256=${SHA}`));
    // The first call to A decides: no other call is made with its credentials.
    assert.equal(m.sourceS3.calls().length, 1);
    assert.equal(m.sourceKms.calls().length, 0);
    const text = report(checks);
    assert.match(text, /\| skipped \|/);
    assert.match(text, new RegExp(`2 passed, 0 failed, ${contract.objectKeys.length + 3} skipped`));
    assert.match(
      byName(checks, "live key policy").detail,
      /^skipped: no usable credentials for account A \(111111111111\)$/,
    );
    assert.match(
      text,
      /Account A's checks were skipped: no usable credentials for account A \(111111111111\) from profile "account-a"/,
    );
  });

  it("account B's principal standing in for A: S3's body-less 403 to the first read skips A's checks, and a check of B's that fails still fails", async () => {
    const { clients, m } = world();
    m.sourceS3.on(HeadObjectCommand).rejects(
      new S3ServiceException({
        name: "Forbidden",
        $fault: "client",
        $metadata: { httpStatusCode: 403 },
        message: "UnknownError",
      }),
    );
    m.targetEc2.on(GetConsoleOutputCommand).resolves({
      Output: consoleOutput(
        "CROSS_ACCOUNT_COPY FAILED after 9 attempts in 300000ms: fatal error: An error occurred (403) when calling the HeadObject operation: Forbidden",
      ),
    });
    const checks = await verifyWithStacks(SOURCE_INFO, TARGET_INFO, contract, target(), clients, clock().opts);
    assert.deepEqual(
      checks.filter(failed).map((c) => c.check),
      [`target: the instance's console reports CROSS_ACCOUNT_COPY OK for ${contract.objectKeys[0]}`],
    );
    assert.match(checks.skipped?.source ?? "", /from profile "account-a" .*: Forbidden \(HTTP 403\)$/);
    assert.ok(checks.diagnosis, "a check that ran failed: the diagnosis follows");
    assert.match(report(checks), /1 passed, 1 failed, \d+ skipped/);
  });

  it("only account A's credentials: B's checks are skipped, A's run and pass", async () => {
    const { clients, m } = world();
    m.targetEc2.on(GetConsoleOutputCommand).rejects(credentialsError());
    const checks = await verifyWithStacks(SOURCE_INFO, TARGET_INFO, contract, target(), clients, clock().opts);
    assert.deepEqual(checks.filter(failed), []);
    assert.deepEqual(
      checks.filter((c) => c.skipped !== undefined).map((c) => c.check.split(":")[0]),
      ["target", "target", "negative"],
    );
    assert.match(
      checks.skipped?.target ?? "",
      /^no usable credentials for account B \(222222222222\) from profile "account-b"/,
    );
    assert.equal(checks.filter((c) => c.ok).length, contract.objectKeys.length + 2);
    assert.equal(m.targetEc2.calls().length, 1);
    assert.equal(m.targetSts.calls().length, 0);
  });

  it("neither account's credentials: a clear message naming the source stack and its profile (exit 2)", async () => {
    const { clients, m } = world();
    m.sourceS3.on(HeadObjectCommand).rejects(credentialsError());
    m.targetEc2.on(GetConsoleOutputCommand).rejects(credentialsError());
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

  it("credentials that fail after the first call: the run stops, naming the stack (exit 2)", async () => {
    const { clients, m } = world();
    m.sourceKms.on(GetKeyPolicyCommand).rejects(credentialsError());
    await assert.rejects(
      verifyWithStacks(SOURCE_INFO, TARGET_INFO, contract, target(), clients, clock().opts),
      /No usable AWS credentials for the source stack \(account 111111111111\) from profile "account-a"/,
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

describe("npm run verify for a role that writes (AWS SDK calls mocked)", () => {
  /** MIXED_SOURCE's contract and live policies, with an object under incoming/ for the read-write role to copy. */
  let mixed: SourceContract;
  let mixedBucketPolicy: string;
  let mixedKeyPolicy: string;
  before(async () => {
    const run = await runProgram({ stack: "source", config: MIXED_SOURCE });
    const v = validateContract(run.outputs);
    assert.ok(v.ok);
    mixed = { ...v.contract, objectKeys: ["hello.txt", "incoming/a.txt"] };
    mixedBucketPolicy = String(
      ofType(run, "aws:s3/bucketPolicy:BucketPolicy").find((p) => p.inputs.bucket === mixed.bucketName)?.inputs.policy,
    );
    mixedKeyPolicy = String(ofType(run, "aws:kms/key:Key")[0].inputs.policy);
  });

  const RECEIPT = "incoming/receipt-i-0abc-1700000000.txt";
  /** Account A's canonical user ID, the owner of its bucket. */
  const OWNER_A = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
  const dropWriter = (): TargetOutputs => ({
    instanceId: "i-0abc",
    roleArn: "arn:aws:iam::444444444444:role/drop-writer",
    sourceBucket: mixed.bucketName,
    objectKey: null,
    destinationPath: null,
    markerPrefix: "CROSS_ACCOUNT_COPY",
    access: "write",
    reads: false,
    writes: true,
    receiptPrefix: "incoming/",
  });
  const ingestWriter = (): TargetOutputs => ({
    ...dropWriter(),
    roleArn: "arn:aws:iam::222222222222:role/ingest-writer",
    objectKey: "incoming/a.txt",
    destinationPath: "/var/lib/cross-account-s3-kms/a.txt",
    access: "read-write",
    reads: true,
  });

  function writerWorld(...consoleLines: string[]) {
    const { clients, m } = mockedClients();
    m.sourceS3
      .on(HeadObjectCommand)
      .resolves({ ServerSideEncryption: "aws:kms", SSEKMSKeyId: mixed.keyArn, BucketKeyEnabled: true });
    m.sourceS3.on(GetBucketPolicyCommand).resolves({ Policy: mixedBucketPolicy });
    m.sourceS3.on(GetObjectCommand).callsFake(() => ({ Body: s3Body(BODY) }));
    // BucketOwnerEnforced: the object's owner is the bucket's, whoever wrote it.
    m.sourceS3.on(GetObjectAclCommand).resolves({ Owner: { ID: OWNER_A }, Grants: [] });
    m.sourceS3.on(GetBucketAclCommand).resolves({ Owner: { ID: OWNER_A }, Grants: [] });
    m.sourceKms.on(GetKeyPolicyCommand).resolves({ Policy: mixedKeyPolicy });
    m.targetEc2.on(GetConsoleOutputCommand).resolves({ Output: consoleOutput(...consoleLines) });
    m.targetSts
      .on(GetCallerIdentityCommand)
      .resolves({ Account: "444444444444", Arn: "arn:aws:sts::444444444444:assumed-role/Admin/alice" });
    m.targetS3.on(GetObjectCommand).rejects(accessDenied());
    return { clients, m };
  }
  const WRITE_ONLY_CONSOLE = [
    "CROSS_ACCOUNT_COPY SKIPPED the role's access is write: it does not read",
    `CROSS_ACCOUNT_COPY WROTE ${RECEIPT}`,
  ];

  it("write-only: passes on SKIPPED and WROTE, checks the receipt with account A's credentials, expects no OK", async () => {
    const { clients, m } = writerWorld(...WRITE_ONLY_CONSOLE);
    const checks = await verify(mixed, dropWriter(), clients, clock().opts);
    assert.deepEqual(failing(checks), []);
    assert.match(byName(checks, "SKIPPED for the read").detail, /the role's access is write/);
    assert.equal(byName(checks, `WROTE for a receipt under incoming/`).detail, `after 0s, ${RECEIPT}`);
    assert.equal(
      checks.some((c) => / OK for /.test(c.check) || c.check.includes("sha256")),
      false,
      "no read to prove",
    );
    assert.equal(m.sourceS3.commandCalls(GetObjectCommand).length, 0);
    assert.deepEqual(
      m.sourceS3.commandCalls(HeadObjectCommand).map((c) => c.args[0].input),
      [...mixed.objectKeys, RECEIPT].map((Key) => ({ Bucket: mixed.bucketName, Key })),
    );
    assert.deepEqual(m.sourceS3.commandCalls(GetObjectAclCommand)[0].args[0].input, {
      Bucket: mixed.bucketName,
      Key: RECEIPT,
    });
    assert.deepEqual(m.sourceS3.commandCalls(GetBucketAclCommand)[0].args[0].input, { Bucket: mixed.bucketName });
    assert.match(
      byName(checks, "SSE-KMS with the stack's key").detail,
      new RegExp(`aws:kms, key ${mixed.keyArn}, Bucket Key true`),
    );
    assert.match(byName(checks, "owns the receipt").detail, new RegExp(`owner ${OWNER_A}`));
    assert.match(byName(checks, "grants the writing roles s3:PutObject").detail, /name 2 consumer role/);
    assert.match(
      byName(checks, "grants the writing roles kms:GenerateDataKey").detail,
      /^ConsumerEncryptViaS3, ConsumerUseKeyViaS3 name 2 consumer role/,
    );
  });

  it("read-write: proves the read (OK, sha256) and then the write", async () => {
    const { clients } = writerWorld(
      `CROSS_ACCOUNT_COPY OK incoming/a.txt sha256=${SHA}`,
      `CROSS_ACCOUNT_COPY WROTE ${RECEIPT}`,
    );
    const checks = await verify(mixed, ingestWriter(), clients, clock().opts);
    assert.deepEqual(failing(checks), []);
    assert.match(byName(checks, "OK for incoming/a.txt").detail, new RegExp(SHA));
    assert.match(byName(checks, "sha256 matches").detail, new RegExp(SHA));
    assert.ok(byName(checks, "owns the receipt").ok);
  });

  it("waits for the WROTE line after the read's, saying so", async () => {
    const { clients, m } = writerWorld();
    m.targetEc2
      .on(GetConsoleOutputCommand)
      .resolvesOnce({ Output: consoleOutput(`CROSS_ACCOUNT_COPY OK incoming/a.txt sha256=${SHA}`) })
      .resolves({
        Output: consoleOutput(
          `CROSS_ACCOUNT_COPY OK incoming/a.txt sha256=${SHA}`,
          `CROSS_ACCOUNT_COPY WROTE ${RECEIPT}`,
        ),
      });
    const c = clock();
    const checks = await verify(mixed, ingestWriter(), clients, c.opts);
    assert.deepEqual(failing(checks), []);
    assert.deepEqual(c.sleeps, [15000]);
    assert.match(c.logs[0], /yet; waited 0s of 60s \(for the write\)$/);
  });

  it("fails on WRITE-FAILED, with the line, and diagnoses the writer's requests", async () => {
    const { clients } = writerWorld(
      WRITE_ONLY_CONSOLE[0],
      "CROSS_ACCOUNT_COPY WRITE-FAILED after 9 attempts in 300000ms: An error occurred (AccessDenied) when calling the PutObject operation: Access Denied",
    );
    const checks = await verify(mixed, dropWriter(), clients, clock().opts);
    assert.deepEqual(
      failing(checks).map((c) => c.detail),
      [
        "CROSS_ACCOUNT_COPY WRITE-FAILED after 9 attempts in 300000ms: An error occurred (AccessDenied) when calling the PutObject operation: Access Denied (after 0s)",
      ],
    );
    assert.equal(
      checks.some((c) => c.check.includes("owns the receipt")),
      false,
    );
    assert.ok(checks.diagnosis);
  });

  it("fails when the receipt is not SSE-KMS with the stack's key and a Bucket Key", async () => {
    const { clients, m } = writerWorld(...WRITE_ONLY_CONSOLE);
    m.sourceS3
      .on(HeadObjectCommand, { Key: RECEIPT })
      .resolves({ ServerSideEncryption: "aws:kms", SSEKMSKeyId: mixed.keyArn, BucketKeyEnabled: false });
    const checks = await verify(mixed, dropWriter(), clients, clock().opts);
    assert.deepEqual(
      failing(checks).map((c) => c.detail),
      [`aws:kms, key ${mixed.keyArn}, Bucket Key false`],
    );
    // The checks and the diagnosis read each document once.
    assert.equal(m.sourceS3.commandCalls(GetBucketPolicyCommand).length, 1);
    assert.equal(m.sourceKms.commandCalls(GetKeyPolicyCommand).length, 1);
    assert.equal(m.sourceS3.commandCalls(HeadObjectCommand, { Key: RECEIPT }).length, 1);
  });

  it("fails when the receipt the marker names is not in the bucket (HEAD: 404 with no body)", async () => {
    const { clients, m } = writerWorld(...WRITE_ONLY_CONSOLE);
    m.sourceS3
      .on(HeadObjectCommand, { Key: RECEIPT })
      .rejects(new NotFound({ $metadata: { httpStatusCode: 404 }, message: "UnknownError" }));
    const checks = await verify(mixed, dropWriter(), clients, clock().opts);
    assert.deepEqual(
      failing(checks).map((c) => c.detail),
      ["HeadObject: NotFound (HTTP 404)"],
    );
  });

  it("fails when account A does not own the receipt", async () => {
    const { clients, m } = writerWorld(...WRITE_ONLY_CONSOLE);
    m.sourceS3.on(GetObjectAclCommand).resolves({ Owner: { ID: "b".repeat(64) }, Grants: [] });
    const checks = await verify(mixed, dropWriter(), clients, clock().opts);
    assert.deepEqual(
      failing(checks).map((c) => c.check),
      ["target: account A (111111111111) owns the receipt"],
    );
    assert.match(failing(checks)[0].detail, new RegExp(`owner ${"b".repeat(64)}, but the bucket's is ${OWNER_A}`));
  });

  it("fails when the marker's receipt lies outside the role's prefix", async () => {
    const { clients } = writerWorld(WRITE_ONLY_CONSOLE[0], "CROSS_ACCOUNT_COPY WROTE elsewhere/receipt.txt");
    const checks = await verify(mixed, dropWriter(), clients, clock().opts);
    assert.deepEqual(
      failing(checks).map((c) => c.detail),
      ["the marker names elsewhere/receipt.txt, outside incoming/"],
    );
  });

  it("fails when the live bucket policy no longer grants a writer s3:PutObject", async () => {
    const { clients, m } = writerWorld(...WRITE_ONLY_CONSOLE);
    m.sourceS3.on(GetBucketPolicyCommand).resolves({
      Policy: mixedBucketPolicy
        .split("arn:aws:iam::444444444444:role/drop-writer")
        .join("arn:aws:iam::444444444444:role/gone"),
    });
    const checks = await verify(mixed, dropWriter(), clients, clock().opts);
    assert.deepEqual(
      failing(checks).map((c) => c.detail),
      [
        `the Allow for s3:PutObject (ConsumerWritePrefixes1, ConsumerReadWritePrefixes1) lacks arn:aws:iam::444444444444:role/drop-writer`,
      ],
    );
  });
});
