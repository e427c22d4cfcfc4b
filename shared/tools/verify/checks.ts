/** The checks of `npm run verify`, over the AWS SDK: each stack's clients, the live policies and the boot marker. */
import { createHash } from "crypto";
import { GetConsoleOutputCommand, GetConsoleOutputCommandOutput } from "@aws-sdk/client-ec2";
import { GetObjectCommand, S3ServiceException } from "@aws-sdk/client-s3";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { parseRoleArn } from "../../program/iam/arn";
import type { Side } from "../../program/project";
import { SourceContract } from "../../program/contract";
import { parsePolicy, PolicyDocument } from "../../program/iam/document";
import { actionsOf, cond } from "../../offline/policy-queries";
import { isCredentialsError, noCredentials } from "../stacks/credentials";
import { Failure } from "../cli";
import { table } from "../cli/format";
import { Marker, parseMarker, parseWriteMarker, WriteMarker } from "../../../target-account/marker";
import { diagnose, Diagnosis, renderDiagnosis } from "./diagnose";
import { LiveReads } from "./live";
import type { StackInfo } from "../stacks/files";
import type { VerifyClients } from "./clients";
import type { TargetOutputs } from "../../program/target-outputs";
import {
  grantedActions,
  KMS_DECRYPT,
  KMS_GENERATE_DATA_KEY,
  S3_GET_OBJECT,
  S3_PUT_OBJECT,
} from "../../program/iam/access-levels";
import { receiptChecks } from "./receipt";

export type { VerifyClients } from "./clients";
export { clientsFor } from "./clients";

export interface VerifyOptions {
  /** How long to wait for the boot marker on the console. */
  waitSeconds: number;
  pollSeconds: number;
  sleep(ms: number): Promise<void>;
  now(): number;
  log(line: string): void;
}

export interface Check {
  check: string;
  ok: boolean;
  detail: string;
}

/** The checks, and when one failed, the diagnosis of the broken link (a Check[] for the callers that print it). */
export type Checks = Check[] & { diagnosis?: Diagnosis };

/** A call that failed for want of credentials, tagged with the account's side. */
class CredentialsFailure extends Error {
  constructor(
    readonly side: Side,
    readonly original: unknown,
  ) {
    super(original instanceof Error ? original.message : String(original));
  }
}

/** Awaits a call made with one side's credentials, tagging a credentials failure with that side. */
async function as<T>(side: Side, call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (e) {
    throw isCredentialsError(e) ? new CredentialsFailure(side, e) : e;
  }
}

const statusOf = (e: unknown): number | undefined =>
  e instanceof S3ServiceException ? e.$metadata.httpStatusCode : undefined;

/** The Allow statements granting an action, and whether their aws:PrincipalArn conditions name every role. */
function grantsAll(doc: PolicyDocument, action: string, roles: string[]): { ok: boolean; detail: string } {
  const allows = doc.Statement.filter((x) => x.Effect === "Allow" && actionsOf(x).includes(action));
  if (allows.length === 0) return { ok: false, detail: `no Allow for ${action}` };
  // Other statements allow it too (the audit trail's): judge those that name roles; each level and scope has its own.
  const naming = allows.filter((x) => cond(x, "ArnEquals", "aws:PrincipalArn").length > 0);
  if (naming.length === 0 && roles.length === 0)
    return { ok: true, detail: `${allows[0].Sid} allows ${action}; no role to name` };
  if (naming.length === 0) return { ok: false, detail: `no Allow for ${action} names a role by aws:PrincipalArn` };
  const named = naming.flatMap((x) => cond(x, "ArnEquals", "aws:PrincipalArn"));
  const sids = naming.map((x) => x.Sid).join(", ");
  const missing = roles.filter((r) => !named.includes(r));
  return missing.length === 0
    ? { ok: true, detail: `${sids} name${naming.length === 1 ? "s" : ""} ${roles.length} consumer role(s)` }
    : { ok: false, detail: `the Allow for ${action} (${sids}) lacks ${missing.join(", ")}` };
}

/** The listed roles whose level grants an action (a source older than levels: every role reads). */
const rolesGranted = (src: SourceContract, action: string): string[] =>
  src.consumerRoleArns.filter((_, i) => grantedActions(src.consumerAccess?.[i]?.access ?? "read").includes(action));

/** Whether anyone is granted an action: a listed role, or the organization (which reads). */
const anyoneGranted = (src: SourceContract, action: string): boolean =>
  rolesGranted(src, action).length > 0 || (src.consumerOrg !== null && grantedActions("read").includes(action));

const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

export async function verify(
  src: SourceContract,
  tgt: TargetOutputs,
  c: VerifyClients,
  opts: VerifyOptions,
): Promise<Checks> {
  const checks: Checks = [];
  const add = (check: string, ok: boolean, detail: string) => checks.push({ check, ok, detail });
  const reads = new LiveReads(src, c);

  for (const key of src.objectKeys) {
    const h = await as("source", reads.object(key));
    const ok = h.ServerSideEncryption === "aws:kms" && h.SSEKMSKeyId === src.keyArn && h.BucketKeyEnabled === true;
    add(
      `source: ${key} is encrypted with the stack's key and Bucket Key`,
      ok,
      `${String(h.ServerSideEncryption)}, key ${String(h.SSEKMSKeyId)}, Bucket Key ${String(h.BucketKeyEnabled)}`,
    );
  }

  const bucketPolicy = await as("source", reads.bucketPolicy());
  const bucketDoc = parsePolicy(bucketPolicy.Policy ?? '{"Statement":[]}', `the policy of bucket ${src.bucketName}`);
  const keyPolicy = await as("source", reads.keyPolicy());
  const keyDoc = parsePolicy(keyPolicy.Policy ?? '{"Statement":[]}', `the policy of key ${src.keyArn}`);
  // The reads' grants, then the writes': each checked when some consumer's level holds it.
  const grants: [string, PolicyDocument, string, string][] = [
    ["bucket", bucketDoc, S3_GET_OBJECT, "the consumer roles"],
    ["key", keyDoc, KMS_DECRYPT, "the consumer roles"],
    ["bucket", bucketDoc, S3_PUT_OBJECT, `the writing roles ${S3_PUT_OBJECT}`],
    ["key", keyDoc, KMS_GENERATE_DATA_KEY, `the writing roles ${KMS_GENERATE_DATA_KEY}`],
  ];
  for (const [policy, doc, action, whom] of grants) {
    if (!anyoneGranted(src, action)) continue;
    const g = grantsAll(doc, action, rolesGranted(src, action));
    add(`source: the live ${policy} policy grants ${whom}`, g.ok, g.detail);
  }

  // The boot markers (target-account/marker.ts): the read's OK, FAILED or SKIPPED line, and a writer's WROTE or WRITE-FAILED.
  const started = opts.now();
  const readCheck =
    tgt.objectKey === null
      ? `target: the instance's console reports ${tgt.markerPrefix} SKIPPED for the read (no object to copy)`
      : `target: the instance's console reports ${tgt.markerPrefix} OK for ${tgt.objectKey}`;
  const writeCheck = `target: the instance's console reports ${tgt.markerPrefix} WROTE for a receipt under ${tgt.receiptPrefix ?? ""}`;
  let read: Marker = { kind: "none" };
  let write: WriteMarker = { kind: "none" };
  let waited = 0;
  let latest = true;
  for (;;) {
    let out: GetConsoleOutputCommandOutput;
    try {
      out = await as(
        "target",
        c.targetEc2.send(new GetConsoleOutputCommand({ InstanceId: tgt.instanceId, Latest: latest || undefined })),
      );
    } catch (e) {
      // Only Nitro instances keep the latest output; others return what they buffered at boot.
      if (!(latest && e instanceof Error && e.name === "UnsupportedOperation")) throw e;
      latest = false;
      continue;
    }
    const text = Buffer.from(out.Output ?? "", "base64").toString("utf8");
    waited = Math.round((opts.now() - started) / 1000);
    read = parseMarker(text, tgt.markerPrefix, tgt.objectKey);
    if (tgt.writes) write = parseWriteMarker(text, tgt.markerPrefix);
    const pending = [
      ...(read.kind === "none" ? ["read"] : []),
      ...(tgt.writes && write.kind === "none" ? ["write"] : []),
    ];
    if (pending.length === 0 || waited >= opts.waitSeconds) break;
    opts.log(
      `verify: no ${tgt.markerPrefix} marker on ${tgt.instanceId}'s console yet; waited ${waited}s of ${opts.waitSeconds}s (for the ${pending.join(" and ")})`,
    );
    await opts.sleep(opts.pollSeconds * 1000);
  }
  const notYet = `no marker after waiting ${waited}s; the instance may still be booting (see the README's troubleshooting)`;
  const failure = read.kind === "failed" ? read.reason : undefined;
  if (read.kind === "ok") add(readCheck, tgt.objectKey !== null, `after ${waited}s, sha256=${read.sha256}`);
  else if (read.kind === "skipped") add(readCheck, tgt.objectKey === null, `after ${waited}s: ${read.line}`);
  else add(readCheck, false, read.kind === "failed" ? `${read.line} (after ${waited}s)` : notYet);
  if (tgt.writes) {
    if (write.kind === "wrote") add(writeCheck, true, `after ${waited}s, ${write.key}`);
    else add(writeCheck, false, write.kind === "failed" ? `${write.line} (after ${waited}s)` : notYet);
  }

  if (read.kind === "ok" && tgt.objectKey !== null) {
    const copied = read.sha256;
    const obj = await as(
      "source",
      c.sourceS3.send(new GetObjectCommand({ Bucket: src.bucketName, Key: tgt.objectKey })),
    );
    const actual = sha256(await (obj.Body?.transformToByteArray() ?? Promise.resolve(new Uint8Array())));
    add(
      "target: the copy's sha256 matches the object in the bucket",
      actual === copied,
      actual === copied ? actual : `bucket ${actual}, instance ${copied}`,
    );
  }
  if (write.kind === "wrote")
    for (const r of await as("source", receiptChecks(src, tgt, write.key, reads))) add(r.check, r.ok, r.detail);

  const me = await as("target", c.targetSts.send(new GetCallerIdentityCommand({})));
  const reader = parseRoleArn(tgt.roleArn);
  const myArn = me.Arn ?? "";
  // Any object: nobody else of the target account may read one.
  const probe = tgt.objectKey ?? src.objectKeys[0];
  if (reader && myArn.includes(`:assumed-role/${reader.roleName}/`)) {
    add(
      "negative: another principal of the target account is denied",
      false,
      `verify runs as the reader role itself (${myArn}); run it with another principal of account ${reader.accountId}`,
    );
  } else {
    try {
      await as("target", c.targetS3.send(new GetObjectCommand({ Bucket: src.bucketName, Key: probe })));
      add(
        "negative: another principal of the target account is denied",
        false,
        `${myArn} could read s3://${src.bucketName}/${probe}: the grant is too wide`,
      );
    } catch (e) {
      if (e instanceof CredentialsFailure) throw e;
      const denied = statusOf(e) === 403;
      add(
        "negative: another principal of the target account is denied",
        denied,
        denied
          ? `${myArn}: AccessDenied (this proves the bucket's grant only if the principal has S3 read rights in its own account)`
          : `unexpected error: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }
  if (checks.some((x) => !x.ok))
    checks.diagnosis = await diagnose(src, tgt, c, failure, reads, {
      key: write.kind === "wrote" ? write.key : undefined,
      failure: write.kind === "failed" ? write.reason : undefined,
    });
  return checks;
}

export function report(checks: Checks): string {
  const failed = checks.filter((c) => !c.ok).length;
  return `${table(
    ["check", "result", "detail"],
    checks.map((c) => [c.check, c.ok ? "pass" : "FAIL", c.detail]),
  )}\n\n${checks.length - failed} passed, ${failed} failed${checks.diagnosis ? `\n\n${renderDiagnosis(checks.diagnosis)}` : ""}`;
}

/** Runs verify with the stacks' credentials; a missing credential names the stack and its profile. */
export async function verifyWithStacks(
  source: StackInfo,
  target: StackInfo,
  src: SourceContract,
  tgt: TargetOutputs,
  clients: VerifyClients,
  opts: VerifyOptions,
): Promise<Checks> {
  try {
    return await verify(src, tgt, clients, opts);
  } catch (e) {
    if (e instanceof CredentialsFailure) throw noCredentials(e.side === "source" ? source : target, e.original);
    // A service's answer (AccessDenied, NoSuchBucket, throttling): the check ran and the cloud said no.
    if (e instanceof Error && "$metadata" in e) throw new Failure(`an AWS call failed: ${e.name}: ${e.message}`);
    throw e;
  }
}
