import { strict as assert } from "assert";
import { readFileSync } from "fs";
import {
  DescribeInstancesCommand,
  DescribeRouteTablesCommand,
  DescribeRouteTablesCommandInput,
  DescribeVpcEndpointsCommand,
  GetConsoleOutputCommand,
  RouteTable,
  State,
} from "@aws-sdk/client-ec2";
import {
  GetInstanceProfileCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  IAMServiceException,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
} from "@aws-sdk/client-iam";
import { GetKeyPolicyCommand, KMSServiceException } from "@aws-sdk/client-kms";
import {
  GetBucketAclCommand,
  GetBucketLocationCommand,
  GetBucketPolicyCommand,
  GetObjectAclCommand,
  GetObjectCommand,
  HeadObjectCommand,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { captureDeployment, Deployment } from "../shared/offline/access";
import { MIXED_SOURCE, SOURCE_BASE, TARGET_BASE } from "../shared/offline/fixtures";
import { ofType } from "../shared/offline/run";
import { PolicyDocument, Statement } from "../shared/program/iam/document";
import { TargetOutputs } from "../shared/program/target-outputs";
import { report, verify } from "../shared/tools/verify/checks";
import { diagnose, Diagnosis, LinkKind } from "../shared/tools/verify/diagnose";
import { fromMessage } from "../shared/tools/verify/messages";
import { permissionsOf, VERIFY_CALLS } from "../shared/tools/verify/permissions";
import type { VerifyClients } from "../shared/tools/verify/clients";
import { readTargetOutputs } from "../shared/tools/verify/target";
import { accessDenied, BODY, clock, consoleOutput, mockedClients, s3Body, SHA } from "./verify-world";

const ROLE = "arn:aws:iam::222222222222:role/account-b-role";
const PROFILE = "arn:aws:iam::222222222222:instance-profile/reader-profile";
const OTHER_KEY = "arn:aws:kms:us-west-2:111111111111:key/00000000-1111-2222-3333-444444444444";
const BOUNDARY = "arn:aws:iam::222222222222:policy/s3-only-boundary";
/**
 * What S3 says to a cross-account caller outside its organization: no policy type. `aws s3 cp`
 * asks HeadObject first, so the read reaches GetObject only when the bucket side allowed it:
 * this is the answer to a denied Decrypt S3 made for the read.
 */
const PLAIN_DENIED = "An error occurred (AccessDenied) when calling the GetObject operation: Access Denied";
/** The bucket side's refusal as `aws s3 cp` prints it: its HeadObject's error, which has no body. */
const HEAD_FORBIDDEN = "fatal error: An error occurred (403) when calling the HeadObject operation: Forbidden";
/** KMS's refusal of a caller of another account (the same sentence whatever the cause). */
const KMS_CROSS_ACCOUNT_DENIED =
  "User: arn:aws:sts::222222222222:assumed-role/account-b-role/i-0abc is not authorized to perform: kms:Decrypt on the resource associated with this ciphertext because the resource does not exist in this Region, no resource-based policies allow access, or a resource-based policy explicitly denies access";
/** An SCP and an RCP as AWS names them: the management account's, under the organization's ID. */
const SCP = "arn:aws:organizations::999999999999:policy/o-a1b2c3d4e5/service_control_policy/p-abcd1234";
const RCP = "arn:aws:organizations::999999999999:policy/o-a1b2c3d4e5/resource_control_policy/p-efgh5678";
/** A managed policy of account B that denies the read. */
const DENY_READS = "arn:aws:iam::222222222222:policy/deny-reads";
/** botocore's ConnectTimeoutError, as the CLI prints it, for the copy's request. */
const connectTimeout = () =>
  `Connect timeout on endpoint URL: "https://${d.contract.bucketName}.s3.${d.contract.region}.amazonaws.com/${tgt.objectKey}"`;

/** The program's policies, rendered once under mocks: what a deploy leaves live. */
let d: Deployment;
let tgt: TargetOutputs;
let inlineName: string;
before(async () => {
  d = await captureDeployment(SOURCE_BASE, TARGET_BASE);
  tgt = readTargetOutputs(d.target.outputs);
  inlineName = String(ofType(d.target, "aws:iam/rolePolicy:RolePolicy")[0].inputs.name);
});

/** One account pair's live state, as the mocks serve it; each test breaks one link. */
interface Live {
  bucket: PolicyDocument;
  key: PolicyDocument;
  identity: PolicyDocument;
  endpoint: PolicyDocument;
  keyId: string;
  location: string;
  targetRegion: string;
  boundary?: PolicyDocument;
  console: string;
  /** The role whose state this is, and its stack's outputs. Default: account-b-role, tgt. */
  role?: string;
  outputs?: TargetOutputs;
  /** The VPC's route tables, with their subnet associations, and the S3 gateway endpoint's tables and state. */
  routeTables: RouteTable[];
  endpointRouteTables: string[];
  endpointState: string;
  /** A managed policy attached to the role besides its inline one. */
  attached?: { arn: string; doc: PolicyDocument };
}

const VPC = "vpc-0abc";
const SUBNET = "subnet-0abc";
const ENDPOINT = "vpce-0abc";
/** What the program builds: the VPC's main table, and the isolated subnet's own, which routes S3 to the endpoint. */
const ROUTE_TABLES: RouteTable[] = [
  {
    RouteTableId: "rtb-0main",
    VpcId: VPC,
    Associations: [{ Main: true, RouteTableId: "rtb-0main" }],
    Routes: [{ DestinationCidrBlock: "10.0.0.0/16", GatewayId: "local", State: "active" }],
  },
  {
    RouteTableId: "rtb-0isolated",
    VpcId: VPC,
    Associations: [{ Main: false, RouteTableId: "rtb-0isolated", SubnetId: SUBNET }],
    Routes: [
      { DestinationCidrBlock: "10.0.0.0/16", GatewayId: "local", State: "active" },
      { DestinationPrefixListId: "pl-68a54001", GatewayId: ENDPOINT, State: "active" },
    ],
  },
];

/** DescribeRouteTables' filters, as EC2 applies them, on the world's tables. */
const filtered = (tables: RouteTable[], input: DescribeRouteTablesCommandInput): RouteTable[] =>
  tables.filter((t) =>
    (input.Filters ?? []).every(({ Name, Values = [] }) => {
      if (Name === "vpc-id") return Values.includes(t.VpcId ?? "");
      if (Name === "association.subnet-id")
        return (t.Associations ?? []).some((a) => Values.includes(a.SubnetId ?? ""));
      if (Name === "association.main") return (t.Associations ?? []).some((a) => String(a.Main === true) === Values[0]);
      throw new Error(`the mocked EC2 does not filter on ${Name}`);
    }),
  );

const healthy = (): Live => ({
  bucket: d.policies.bucket,
  key: d.policies.key,
  identity: d.policies.consumers[0].identity[0],
  endpoint: d.policies.consumers[0].endpoint as PolicyDocument,
  keyId: d.contract.keyArn,
  location: d.contract.region,
  targetRegion: d.contract.region,
  console: `CROSS_ACCOUNT_COPY OK ${tgt.objectKey} sha256=${SHA}`,
  routeTables: ROUTE_TABLES,
  endpointRouteTables: ["rtb-0isolated"],
  endpointState: "available",
});

/** A copy of a policy with its statements changed. */
const edit = (doc: PolicyDocument, change: (s: Statement[]) => Statement[]): PolicyDocument => {
  const copy = JSON.parse(JSON.stringify(doc)) as PolicyDocument;
  return { ...copy, Statement: change(copy.Statement) };
};
const without = (sid: string) => (s: Statement[]) => s.filter((x) => x.Sid !== sid);
/** The boot script's marker when the copy failed with the aws cli's error text. */
const failedWith = (text: string) => `CROSS_ACCOUNT_COPY FAILED after 9 attempts in 300000ms: ${text}`;

function world(l: Live) {
  const { clients, m } = mockedClients(l.targetRegion);
  const roleArn = l.role ?? ROLE;
  const roleName = roleArn.split("/").pop() ?? "";
  const instanceId = (l.outputs ?? tgt).instanceId;
  m.sourceS3.on(GetObjectAclCommand).resolves({ Owner: { ID: "owner-a" } });
  m.sourceS3.on(GetBucketAclCommand).resolves({ Owner: { ID: "owner-a" } });
  m.sourceS3
    .on(HeadObjectCommand)
    .resolves({ ServerSideEncryption: "aws:kms", SSEKMSKeyId: l.keyId, BucketKeyEnabled: true });
  m.sourceS3.on(GetBucketPolicyCommand).resolves({ Policy: JSON.stringify(l.bucket) });
  m.sourceS3.on(GetBucketLocationCommand).resolves({ LocationConstraint: l.location as "us-west-2" });
  m.sourceS3.on(GetObjectCommand).callsFake(() => ({ Body: s3Body(BODY) }));
  m.sourceKms.on(GetKeyPolicyCommand).resolves({ Policy: JSON.stringify(l.key) });
  m.targetEc2.on(GetConsoleOutputCommand).resolves({ Output: consoleOutput(...l.console.split("\n")) });
  m.targetEc2.on(DescribeInstancesCommand).resolves({
    Reservations: [
      {
        Instances: [{ InstanceId: instanceId, VpcId: VPC, SubnetId: SUBNET, IamInstanceProfile: { Arn: PROFILE } }],
      },
    ],
  });
  m.targetEc2.on(DescribeVpcEndpointsCommand).resolves({
    VpcEndpoints: [
      {
        VpcEndpointId: ENDPOINT,
        VpcEndpointType: "Gateway",
        PolicyDocument: JSON.stringify(l.endpoint),
        RouteTableIds: l.endpointRouteTables,
        // EC2 answers the state in lower case, though the SDK's enum spells it "Available".
        State: l.endpointState as State,
      },
    ],
  });
  m.targetEc2.on(DescribeRouteTablesCommand).callsFake((input: DescribeRouteTablesCommandInput) => ({
    RouteTables: filtered(l.routeTables, input),
  }));
  const role = {
    Path: "/",
    RoleName: roleName,
    RoleId: "AROAEXAMPLE1234567890",
    Arn: roleArn,
    CreateDate: new Date(0),
  };
  m.targetIam.on(GetRoleCommand).resolves({
    Role: { ...role, ...(l.boundary && { PermissionsBoundary: { PermissionsBoundaryArn: BOUNDARY } }) },
  });
  m.targetIam.on(ListRolePoliciesCommand).resolves({ PolicyNames: [inlineName], IsTruncated: false });
  // IAM answers policy documents URL-encoded.
  m.targetIam.on(GetRolePolicyCommand).resolves({
    RoleName: roleName,
    PolicyName: inlineName,
    PolicyDocument: encodeURIComponent(JSON.stringify(l.identity)),
  });
  m.targetIam.on(ListAttachedRolePoliciesCommand).resolves({
    AttachedPolicies: l.attached ? [{ PolicyArn: l.attached.arn, PolicyName: l.attached.arn.split("/").pop() }] : [],
    IsTruncated: false,
  });
  const managed = new Map([
    [BOUNDARY, l.boundary ?? {}],
    ...(l.attached ? [[l.attached.arn, l.attached.doc] as const] : []),
  ]);
  m.targetIam
    .on(GetPolicyCommand)
    .callsFake(({ PolicyArn }: { PolicyArn: string }) => ({ Policy: { Arn: PolicyArn, DefaultVersionId: "v1" } }));
  m.targetIam.on(GetPolicyVersionCommand).callsFake(({ PolicyArn }: { PolicyArn: string }) => ({
    PolicyVersion: { Document: encodeURIComponent(JSON.stringify(managed.get(PolicyArn) ?? {})) },
  }));
  m.targetIam.on(GetInstanceProfileCommand).resolves({
    InstanceProfile: {
      Path: "/",
      InstanceProfileName: "reader-profile",
      InstanceProfileId: "AIPA0",
      Arn: PROFILE,
      CreateDate: new Date(0),
      Roles: [role],
    },
  });
  m.targetSts
    .on(GetCallerIdentityCommand)
    .resolves({ Account: "222222222222", Arn: "arn:aws:sts::222222222222:assumed-role/Admin/alice" });
  m.targetS3.on(GetObjectCommand).rejects(accessDenied());
  return { clients, m };
}

async function verified(l: Live) {
  const checks = await verify(d.contract, tgt, world(l).clients, clock().opts);
  assert.ok(
    checks.some((c) => !c.ok),
    `expected a failing check in ${JSON.stringify(checks)}`,
  );
  assert.ok(checks.diagnosis, "a failing check comes with a diagnosis");
  return { checks, diagnosis: checks.diagnosis };
}

const kinds = (x: Diagnosis): LinkKind[] => x.links.map((l) => l.kind);
const problem = (x: Diagnosis, kind: LinkKind): string => {
  const l = x.links.find((y) => y.kind === kind);
  assert.ok(l, `no ${kind} link in ${JSON.stringify(x, null, 2)}`);
  return `${l.problem} / ${l.fix}`;
};

describe("npm run verify: the diagnosis names the broken link (AWS SDK calls mocked)", () => {
  it("healthy: every check passes and there is no diagnosis; asked anyway, all links hold", async () => {
    const { clients } = world(healthy());
    const checks = await verify(d.contract, tgt, clients, clock().opts);
    assert.deepEqual(
      checks.filter((c) => !c.ok),
      [],
    );
    assert.equal(checks.diagnosis, undefined);
    assert.doesNotMatch(report(checks), /Diagnosis/);
    const x = await diagnose(d.contract, tgt, clients);
    assert.deepEqual(x, { links: [], notes: [] });
  });

  it("key policy: the consumer's decrypt statement removed", async () => {
    const { checks, diagnosis } = await verified({
      ...healthy(),
      key: edit(d.policies.key, without("ConsumerDecryptViaS3")),
      console: failedWith(PLAIN_DENIED),
    });
    assert.deepEqual(kinds(diagnosis), ["key-policy"]);
    assert.match(
      problem(diagnosis, "key-policy"),
      new RegExp(
        `^the key policy \\(${d.contract.keyArn}\\) does not allow kms:Decrypt for ${ROLE} via s3\\.us-west-2\\.amazonaws\\.com`,
      ),
    );
    assert.match(problem(diagnosis, "key-policy"), /npm run deploy -- --stack source/);
    const grant = checks.find((c) => c.check.includes("live key policy"));
    assert.deepEqual(grant && [grant.ok, grant.detail], [
      false,
      "no Allow for kms:Decrypt names a role by aws:PrincipalArn",
    ]);
    const text = report(checks);
    assert.ok(text.indexOf("Diagnosis") > text.indexOf("passed,"), "the diagnosis follows the checks table");
  });

  it("bucket policy: the consumer role missing from the grant", async () => {
    const bucket = JSON.parse(
      JSON.stringify(d.policies.bucket).split(ROLE).join("arn:aws:iam::222222222222:role/someone-else"),
    ) as PolicyDocument;
    const { diagnosis } = await verified({ ...healthy(), bucket, console: failedWith(HEAD_FORBIDDEN) });
    assert.deepEqual(kinds(diagnosis), ["bucket-policy"]);
    assert.match(
      problem(diagnosis, "bucket-policy"),
      new RegExp(
        `the bucket policy of ${d.contract.bucketName} does not allow s3:GetObject on ${d.contract.bucketArn}/${tgt.objectKey} for ${ROLE}`,
      ),
    );
  });

  it("role policy: the identity statement for the objects missing", async () => {
    const { diagnosis } = await verified({
      ...healthy(),
      identity: edit(d.policies.consumers[0].identity[0], without("ReadObjects")),
      console: failedWith(HEAD_FORBIDDEN),
    });
    assert.deepEqual(kinds(diagnosis), ["identity"]);
    assert.match(
      problem(diagnosis, "identity"),
      new RegExp(
        `no policy of the reader role \\(the inline policy ${inlineName} of role account-b-role\\) allows s3:GetObject`,
      ),
    );
    assert.match(problem(diagnosis, "identity"), /--stack target/);
  });

  it("endpoint policy: a restrictive S3 gateway endpoint policy", async () => {
    const endpoint = edit(d.policies.consumers[0].endpoint as PolicyDocument, (s) =>
      s.map((x) => ({ ...x, Resource: "arn:aws:s3:::some-other-bucket/*" })),
    );
    const { diagnosis } = await verified({ ...healthy(), endpoint, console: failedWith(HEAD_FORBIDDEN) });
    assert.deepEqual(kinds(diagnosis), ["endpoint"]);
    assert.match(
      problem(diagnosis, "endpoint"),
      /^the policy of the S3 gateway endpoint vpce-0abc in vpc-0abc does not allow s3:GetObject/,
    );
  });

  it("an object under another key than the stack's", async () => {
    const { diagnosis } = await verified({ ...healthy(), keyId: OTHER_KEY, console: failedWith(PLAIN_DENIED) });
    assert.deepEqual(kinds(diagnosis), ["object"]);
    assert.match(
      problem(diagnosis, "object"),
      new RegExp(`encrypted under ${OTHER_KEY}, not the stack's key ${d.contract.keyArn}`),
    );
    assert.match(problem(diagnosis, "object"), /--sse aws:kms --sse-kms-key-id/);
  });

  it("a read refused with HeadObject's body-less 403: the links come from evaluation, and the report says the message had no reason", async () => {
    const bucket = edit(d.policies.bucket, without("ConsumerRead"));
    const { checks, diagnosis } = await verified({ ...healthy(), bucket, console: failedWith(HEAD_FORBIDDEN) });
    assert.deepEqual(kinds(diagnosis), ["bucket-policy"]);
    const text = report(checks);
    assert.match(
      text,
      /AWS's answer, "An error occurred \(403\) when calling the HeadObject operation: Forbidden", carries no reason: aws s3 cp asks HeadObject first, and an error to a HEAD request has no body: the links above come from evaluating the live policies/,
    );
  });

  it("a HeadObject 403 the live policies do not explain (an SCP's, say): all links hold, and the report says where to look", async () => {
    const { checks, diagnosis } = await verified({ ...healthy(), console: failedWith(HEAD_FORBIDDEN) });
    assert.deepEqual(kinds(diagnosis), []);
    const text = report(checks);
    assert.match(text, /- all links hold/);
    assert.match(
      text,
      /carries no reason.*, and the live policies allow the request: look outside them, at a service control policy/,
    );
  });

  it("a connect timeout: the subnet's route table removed from the S3 gateway endpoint's", async () => {
    const { checks, diagnosis } = await verified({
      ...healthy(),
      endpointRouteTables: [],
      console: failedWith(connectTimeout()),
    });
    assert.deepEqual(kinds(diagnosis), ["network"]);
    assert.match(
      problem(diagnosis, "network"),
      /^the route table rtb-0isolated of subnet subnet-0abc \(its explicit association\) is not among the route tables of the S3 gateway endpoint vpce-0abc \(none\): the instance has no route to S3/,
    );
    assert.match(problem(diagnosis, "network"), /npm run deploy -- --stack target/);
    assert.match(
      problem(diagnosis, "network"),
      /aws ec2 modify-vpc-endpoint --vpc-endpoint-id vpce-0abc --add-route-table-ids rtb-0isolated/,
    );
    assert.match(
      report(checks),
      /the copy never reached https:\/\/.*amazonaws\.com\/.* \(a connect timeout, not a denial\): see the network or region link above/,
    );
    assert.doesNotMatch(report(checks), /all links hold/);
  });

  it("a connect timeout: the subnet's own association removed, so it falls to the VPC's main table, which the endpoint lacks", async () => {
    const routeTables = ROUTE_TABLES.map((t) => ({
      ...t,
      Associations: (t.Associations ?? []).filter((a) => a.SubnetId !== SUBNET),
    }));
    const { diagnosis } = await verified({
      ...healthy(),
      routeTables,
      console: failedWith(
        `Could not connect to the endpoint URL: "https://${d.contract.bucketName}.s3.${d.contract.region}.amazonaws.com/${tgt.objectKey}"`,
      ),
    });
    assert.deepEqual(kinds(diagnosis), ["network"]);
    assert.match(
      problem(diagnosis, "network"),
      /^the route table rtb-0main of subnet subnet-0abc \(the VPC's main table: the subnet has no table of its own\) is not among the route tables of the S3 gateway endpoint vpce-0abc \(rtb-0isolated\)/,
    );
  });

  it("a connect timeout: the S3 gateway endpoint not available", async () => {
    const { diagnosis } = await verified({
      ...healthy(),
      endpointState: "pending",
      console: failedWith(connectTimeout()),
    });
    assert.deepEqual(kinds(diagnosis), ["network"]);
    assert.match(
      problem(diagnosis, "network"),
      /^the S3 gateway endpoint vpce-0abc of vpc-0abc is pending, not available/,
    );
  });

  it("a connect timeout with the route in place: no link, and a note on what else blocks the way", async () => {
    const { diagnosis } = await verified({ ...healthy(), console: failedWith(connectTimeout()) });
    assert.deepEqual(kinds(diagnosis), []);
    assert.match(
      diagnosis.notes.join("\n"),
      /yet the subnet's route table rtb-0isolated is among those of the S3 gateway endpoint vpce-0abc, which is available: check the security group's HTTPS egress to the S3 prefix list/,
    );
  });

  it("KMS's answer to another account's caller: the key policy's decrypt statement removed", async () => {
    const e = new KMSServiceException({
      name: "AccessDeniedException",
      $fault: "client",
      $metadata: { httpStatusCode: 400 },
      message: KMS_CROSS_ACCOUNT_DENIED,
    });
    const { clients } = world({ ...healthy(), key: edit(d.policies.key, without("ConsumerDecryptViaS3")) });
    const x = await diagnose(d.contract, tgt, clients, e);
    // The evaluation names the key policy; AWS's sentence, which covers three causes, adds nothing.
    assert.deepEqual(kinds(x), ["key-policy"]);
    assert.match(problem(x, "key-policy"), /^the key policy \(.*\) does not allow kms:Decrypt for /);
    const told = fromMessage(
      `An error occurred (AccessDeniedException) when calling the Decrypt operation: ${KMS_CROSS_ACCOUNT_DENIED}`,
      d.contract,
      tgt,
    );
    assert.equal(told?.kind, "key-policy");
    assert.match(
      told?.problem ?? "",
      /the key is not in the Region asked, or its key policy does not allow the role or denies it \(AWS's error message, which does not say which\)/,
    );
  });

  it("an identity policy's explicit deny, named by its ARN: the evaluation finds the same policy, named once", async () => {
    const denyReads: PolicyDocument = {
      Version: "2012-10-17",
      Statement: [{ Sid: "NoReads", Effect: "Deny", Action: "s3:GetObject", Resource: "*" }],
    };
    const e = new S3ServiceException({
      name: "AccessDenied",
      $fault: "client",
      $metadata: { httpStatusCode: 403 },
      message: `User: arn:aws:sts::222222222222:assumed-role/account-b-role/${tgt.instanceId} is not authorized to perform: s3:GetObject on resource: "${d.contract.bucketArn}/${tgt.objectKey}" with an explicit deny in an identity-based policy: ${DENY_READS}`,
    });
    const { clients } = world({ ...healthy(), attached: { arn: DENY_READS, doc: denyReads } });
    const x = await diagnose(d.contract, tgt, clients, e);
    assert.deepEqual(kinds(x), ["identity"]);
    assert.equal(problem(x, "identity").split(DENY_READS).length, 2, "the policy is named once");
    assert.match(problem(x, "identity"), /explicitly denies s3:GetObject/);
  });

  it("a region mismatch: the instance runs in another region than the bucket", async () => {
    const { diagnosis } = await verified({
      ...healthy(),
      targetRegion: "us-east-1",
      console: failedWith(connectTimeout()),
    });
    assert.deepEqual(kinds(diagnosis), ["region"]);
    assert.match(problem(diagnosis, "region"), /the instance runs in us-east-1 and the bucket is in us-west-2/);
    assert.match(problem(diagnosis, "region"), /set aws:region: us-west-2 in Pulumi\.target\.yaml/);
  });

  it("a permissions boundary that leaves out the decrypt", async () => {
    const boundary: PolicyDocument = {
      Version: "2012-10-17",
      Statement: [{ Sid: "S3Only", Effect: "Allow", Action: "s3:*", Resource: "*" }],
    };
    const { diagnosis } = await verified({ ...healthy(), boundary, console: failedWith(PLAIN_DENIED) });
    assert.deepEqual(kinds(diagnosis), ["boundary"]);
    assert.match(
      problem(diagnosis, "boundary"),
      new RegExp(`the permissions boundary ${BOUNDARY} of ${ROLE} does not allow kms:Decrypt`),
    );
  });

  it("flags an AROA unique ID in the key policy: a role that was deleted", async () => {
    const key = edit(d.policies.key, (s) =>
      s.map((x) => (x.Sid === "ConsumerDecryptViaS3" ? { ...x, Principal: { AWS: "AROA3XFRBF535PLBIFPI4" } } : x)),
    );
    const { diagnosis } = await verified({ ...healthy(), key, console: failedWith(PLAIN_DENIED) });
    assert.deepEqual(kinds(diagnosis).sort(), ["deleted-role", "key-policy"]);
    assert.match(
      problem(diagnosis, "deleted-role"),
      /names AROA3XFRBF535PLBIFPI4 in statement ConsumerDecryptViaS3: the unique ID of a deleted role/,
    );
    assert.match(problem(diagnosis, "deleted-role"), /redeploy the source stack/);
  });

  it("says what it could not read (AccessDenied on GetRolePolicy) instead of crashing", async () => {
    const bucket = edit(d.policies.bucket, without("ConsumerRead"));
    const { clients, m } = world({ ...healthy(), bucket, console: failedWith(HEAD_FORBIDDEN) });
    m.targetIam.on(GetRolePolicyCommand).rejects(
      new IAMServiceException({
        name: "AccessDenied",
        $fault: "client",
        $metadata: { httpStatusCode: 403 },
        message:
          "User: arn:aws:sts::222222222222:assumed-role/Admin/alice is not authorized to perform: iam:GetRolePolicy",
      }),
    );
    const checks = await verify(d.contract, tgt, clients, clock().opts);
    const x = checks.diagnosis as Diagnosis;
    assert.deepEqual(kinds(x), ["bucket-policy"]);
    assert.match(
      x.notes.join("\n"),
      /could not read the policies of role account-b-role: AccessDenied: .*iam:GetRolePolicy/,
    );
    assert.match(x.notes.join("\n"), /the evaluation took what it could not read to allow/);
    assert.match(report(checks), /- note: could not read the policies of role account-b-role/);
  });

  it("reads an S3ServiceException's detailed message: the endpoint policy", async () => {
    const e = new S3ServiceException({
      name: "AccessDenied",
      $fault: "client",
      $metadata: { httpStatusCode: 403 },
      message: `User: arn:aws:sts::222222222222:assumed-role/account-b-role/i-0abc is not authorized to perform: s3:GetObject on resource: "${d.contract.bucketArn}/${tgt.objectKey}" because no VPC endpoint policy allows the s3:GetObject action`,
    });
    const x = await diagnose(d.contract, tgt, world(healthy()).clients, e);
    assert.deepEqual(kinds(x), ["endpoint"]);
  });

  it("turns each of AWS's AccessDenied phrasings into its link", () => {
    const who = "User: arn:aws:sts::222222222222:assumed-role/account-b-role/i-0abc is not authorized to perform:";
    const cases: [string, LinkKind | undefined][] = [
      [
        `${who} s3:GetObject on resource: "x" because no resource-based policy allows the s3:GetObject action`,
        "bucket-policy",
      ],
      [
        `${who} s3:GetObject on resource: "x" because no identity-based policy allows the s3:GetObject action`,
        "identity",
      ],
      [`${who} s3:GetObject on resource: "x" with an explicit deny in a VPC endpoint policy`, "endpoint"],
      [
        `${who} s3:GetObject on resource: "x" because no permissions boundary allows the s3:GetObject action`,
        "boundary",
      ],
      [`${who} s3:GetObject on resource: "x" with an explicit deny in a resource control policy`, "rcp"],
      [
        `${who} kms:Decrypt on resource: "k" because no resource-based policy allows the kms:Decrypt action`,
        "key-policy",
      ],
      [
        `${who} kms:Decrypt on the resource associated with this ciphertext because no identity-based policy allows the kms:Decrypt action`,
        "identity",
      ],
      [
        "An error occurred (AccessDenied) when calling the GetObject operation: The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access it.",
        "key-policy",
      ],
      [`${who} kms:Decrypt on resource: k`, "key-policy"],
      [PLAIN_DENIED, undefined],
      [HEAD_FORBIDDEN, undefined],
      // Since January 2026, within an account or organization, the denying policy's ARN follows its type
      // (AWS Security Blog, "Enhanced access denied error messages with policy ARNs").
      [`${who} s3:GetObject on resource: "x" with an explicit deny in a service control policy: ${SCP}`, "scp"],
      [`${who} s3:GetObject on resource: "x" with an explicit deny in a resource control policy: ${RCP}`, "rcp"],
      [
        `${who} s3:GetObject on resource: "x" with an explicit deny in an identity-based policy: ${DENY_READS}`,
        "identity",
      ],
      [
        `An error occurred (AccessDeniedException) when calling the Decrypt operation: ${KMS_CROSS_ACCOUNT_DENIED}`,
        "key-policy",
      ],
    ];
    for (const [text, kind] of cases) assert.equal(fromMessage(text, d.contract, tgt)?.kind, kind, text);
    const byArn = (arn: string) => {
      const c = cases.find(([text]) => text.endsWith(arn));
      const l = c && fromMessage(c[0], d.contract, tgt);
      assert.equal(l?.policyArn, arn);
      return `${l?.problem ?? ""} / ${l?.fix ?? ""}`;
    };
    assert.ok(byArn(SCP).startsWith(`the service control policy ${SCP} denies s3:GetObject`));
    assert.ok(byArn(RCP).startsWith(`the resource control policy ${RCP} denies s3:GetObject`));
    assert.ok(byArn(DENY_READS).startsWith(`the identity policy ${DENY_READS} of ${ROLE} denies s3:GetObject`));
    assert.ok(byArn(DENY_READS).includes(`remove that statement from ${DENY_READS}`));
    const kmsResource = fromMessage(cases[5][0], d.contract, tgt);
    assert.match(
      kmsResource?.problem ?? "",
      new RegExp(`the key policy \\(${d.contract.keyArn}\\) does not allow kms:Decrypt`),
    );
  });

  it("names the action AWS's text leaves out: kms:Decrypt when it speaks of KMS or a ciphertext, else s3:GetObject", () => {
    const who = "User: arn:aws:sts::222222222222:assumed-role/account-b-role/i-0 is not authorized";
    const problemOf = (text: string) => fromMessage(text, d.contract, tgt)?.problem ?? "";
    // S3's implicit deny, phrased without "perform: <action>": the read S3 was asked for.
    assert.match(
      problemOf(`${who} to access this resource because no resource-based policy allows the action`),
      new RegExp(`^the bucket policy of ${d.contract.bucketName} does not allow s3:GetObject for `),
    );
    // The KMS key's refusal, named by the key or by the ciphertext: the Decrypt S3 makes for the read.
    for (const text of [
      `${who} to use the KMS key because no resource-based policy allows the action`,
      `${who} on the resource associated with this ciphertext because no resource-based policy allows the action`,
    ])
      assert.match(
        problemOf(text),
        new RegExp(`^the key policy \\(${d.contract.keyArn}\\) does not allow kms:Decrypt for `),
        text,
      );
    assert.match(
      problemOf(
        "The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access it.",
      ),
      /does not allow kms:Decrypt via S3/,
    );
  });
});

describe("npm run verify: the diagnosis of a role that writes (AWS SDK calls mocked)", () => {
  const WRITER = "arn:aws:iam::444444444444:role/drop-writer";
  /** MIXED_SOURCE, deployed with drop-writer's target stack: write-only, on incoming/. */
  let w: Deployment;
  let wt: TargetOutputs;
  let receipt: string;
  before(async () => {
    w = await captureDeployment(MIXED_SOURCE, {
      ...TARGET_BASE,
      "aws:allowedAccountIds": '["444444444444"]',
      "cross-account-s3-kms:roleName": "drop-writer",
    });
    wt = readTargetOutputs(w.target.outputs);
    receipt = `incoming/receipt-${wt.instanceId}-1700000000.txt`;
  });
  const mine = () => {
    const c = w.policies.consumers.find((x) => x.role.roleName === "drop-writer");
    assert.ok(c);
    return c;
  };
  const writerHealthy = (): Live => ({
    bucket: w.policies.bucket,
    key: w.policies.key,
    identity: mine().identity[0],
    endpoint: mine().endpoint as PolicyDocument,
    keyId: w.contract.keyArn,
    location: w.contract.region,
    targetRegion: w.contract.region,
    console: `CROSS_ACCOUNT_COPY SKIPPED the role's access is write: it does not read\nCROSS_ACCOUNT_COPY WROTE ${receipt}`,
    role: WRITER,
    outputs: wt,
    routeTables: ROUTE_TABLES,
    endpointRouteTables: ["rtb-0isolated"],
    endpointState: "available",
  });
  const WRITE_DENIED = "An error occurred (AccessDenied) when calling the PutObject operation: Access Denied";
  const writeFailed = (l: Live): Live => ({
    ...l,
    console: `CROSS_ACCOUNT_COPY SKIPPED the role's access is write: it does not read\nCROSS_ACCOUNT_COPY WRITE-FAILED after 9 attempts in 300000ms: ${WRITE_DENIED}`,
  });
  const writerVerified = async (l: Live) => {
    const checks = await verify(w.contract, wt, world(l).clients, clock().opts);
    assert.ok(checks.diagnosis, `expected a failing check in ${JSON.stringify(checks)}`);
    return checks.diagnosis;
  };

  it("healthy: every check passes; asked anyway, the live policies allow the SSE-KMS upload and its data key, and nothing is read", async () => {
    const { clients } = world(writerHealthy());
    const checks = await verify(w.contract, wt, clients, clock().opts);
    assert.deepEqual(
      checks.filter((c) => !c.ok),
      [],
    );
    assert.deepEqual(await diagnose(w.contract, wt, clients, undefined, undefined, { key: receipt }), {
      links: [],
      notes: [],
    });
  });

  it("key policy: the writers' statement removed, so S3's kms:GenerateDataKey for the upload is refused", async () => {
    const x = await writerVerified(
      writeFailed({ ...writerHealthy(), key: edit(w.policies.key, without("ConsumerEncryptViaS3")) }),
    );
    assert.deepEqual(kinds(x), ["key-policy"]);
    assert.match(
      problem(x, "key-policy"),
      new RegExp(
        `^the key policy \\(${w.contract.keyArn}\\) does not allow kms:GenerateDataKey for ${WRITER} via s3\\.us-west-2\\.amazonaws\\.com`,
      ),
    );
  });

  it("bucket policy: the writers' statement removed, so the upload is refused", async () => {
    const x = await writerVerified(
      writeFailed({ ...writerHealthy(), bucket: edit(w.policies.bucket, without("ConsumerWritePrefixes1")) }),
    );
    assert.deepEqual(kinds(x), ["bucket-policy"]);
    assert.match(
      problem(x, "bucket-policy"),
      new RegExp(
        `does not allow s3:PutObject on ${w.contract.bucketArn}/incoming/receipt-${wt.instanceId}\\.txt for ${WRITER} \\(SSE-KMS with ${w.contract.keyArn}\\)`,
      ),
    );
  });

  it("role policy: the upload's statement missing", async () => {
    const x = await writerVerified(
      writeFailed({ ...writerHealthy(), identity: edit(mine().identity[0], without("WriteObjects")) }),
    );
    assert.deepEqual(kinds(x), ["identity"]);
    assert.match(problem(x, "identity"), /no policy of the reader role .* allows s3:PutObject on /);
  });

  it("an SCP's deny of the upload, named by its ARN: PutObject's error has a body, within an organization", async () => {
    const text = `An error occurred (AccessDenied) when calling the PutObject operation: User: arn:aws:sts::444444444444:assumed-role/drop-writer/${wt.instanceId} is not authorized to perform: s3:PutObject on resource: "${w.contract.bucketArn}/${receipt}" with an explicit deny in a service control policy: ${SCP}`;
    const x = await writerVerified({
      ...writerHealthy(),
      console: `CROSS_ACCOUNT_COPY SKIPPED the role's access is write: it does not read\nCROSS_ACCOUNT_COPY WRITE-FAILED after 9 attempts in 300000ms: ${text}`,
    });
    assert.deepEqual(kinds(x), ["scp"]);
    assert.ok(problem(x, "scp").startsWith(`the service control policy ${SCP} denies s3:PutObject`), problem(x, "scp"));
    assert.ok(problem(x, "scp").includes(`exempt ${WRITER} in account 444444444444 for s3:PutObject in ${SCP}`));
  });

  it("every call verify and its diagnosis make is in the permissions list, under its client's account, and every listed call is made", async () => {
    const seen = new Map<keyof VerifyClients, Set<string>>();
    const record = (m: ReturnType<typeof world>["m"]) => {
      for (const k of Object.keys(m) as (keyof VerifyClients)[])
        for (const call of (m[k] as { calls(): { args: unknown[] }[] }).calls()) {
          const name = (call.args[0] as object).constructor.name.replace(/Command$/, "");
          seen.set(k, (seen.get(k) ?? new Set()).add(name));
        }
    };
    // A reader whose check fails (the diagnosis reads everything, a boundary included) after a copy that
    // succeeded (the hash is read), then a writer whose receipt is checked (its ACLs).
    const reader = world({
      ...healthy(),
      bucket: JSON.parse(
        JSON.stringify(d.policies.bucket).split(ROLE).join("arn:aws:iam::222222222222:role/x"),
      ) as PolicyDocument,
      boundary: { Version: "2012-10-17", Statement: [{ Sid: "All", Effect: "Allow", Action: "*", Resource: "*" }] },
    });
    assert.ok((await verify(d.contract, tgt, reader.clients, clock().opts)).diagnosis);
    record(reader.m);
    const writer = world(writerHealthy());
    await verify(w.contract, wt, writer.clients, clock().opts);
    record(writer.m);
    const listed = VERIFY_CALLS as Record<keyof VerifyClients, Record<string, readonly string[]>>;
    for (const [k, names] of seen)
      for (const name of names) assert.ok(listed[k][name], `${k}.${name} is not in VERIFY_CALLS (permissions.ts)`);
    for (const k of Object.keys(listed) as (keyof VerifyClients)[])
      assert.deepEqual(
        [...(seen.get(k) ?? [])].sort(),
        Object.keys(listed[k]).sort(),
        `${k}: listed calls verify never made`,
      );
    assert.ok(seen.get("targetEc2")?.has("DescribeRouteTables"), "the test reaches the route check");

    // The README lists each account's actions as permissions.ts does.
    const readme = readFileSync("README.md", "utf8");
    const section = readme.slice(
      readme.indexOf("### Permissions verify needs"),
      readme.indexOf("### The tools' common contract"),
    );
    for (const [row, side] of [
      ["| A (source) |", "source"],
      ["| B (target) |", "target"],
    ] as const) {
      const line = section.split("\n").find((l) => l.startsWith(row)) ?? "";
      assert.deepEqual(
        [...line.matchAll(/`([^`]+)`/g)].map((x) => x[1]),
        permissionsOf(side),
        row,
      );
    }
  });

  it("reads AWS's text of a failed upload as the write's: s3:PutObject, or kms:GenerateDataKey for KMS", () => {
    const who = `User: arn:aws:sts::444444444444:assumed-role/drop-writer/${wt.instanceId} is not authorized`;
    const bucket = fromMessage(
      `${who} to access this resource because no resource-based policy allows the action`,
      w.contract,
      wt,
      "write",
    );
    assert.match(bucket?.problem ?? "", /does not allow s3:PutObject for /);
    const key = fromMessage(
      `${who} to use the KMS key because no resource-based policy allows the action`,
      w.contract,
      wt,
      "write",
    );
    assert.match(key?.problem ?? "", /does not allow kms:GenerateDataKey for /);
  });
});
