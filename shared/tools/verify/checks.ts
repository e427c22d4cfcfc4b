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
import { parseMarker } from "../../../target-account/marker";
import { diagnose, Diagnosis, renderDiagnosis } from "./diagnose";
import { LiveReads } from "./live";
import type { StackInfo } from "../stacks/files";
import type { VerifyClients } from "./clients";
import type { TargetOutputs } from "../../program/target-outputs";
import { KMS_DECRYPT, S3_GET_OBJECT } from "../../program/iam/access-levels";

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

/** The Allow statement granting an action, and whether its aws:PrincipalArn condition names every role. */
function grantsAll(doc: PolicyDocument, action: string, roles: string[]): { ok: boolean; detail: string } {
  const allows = doc.Statement.filter((x) => x.Effect === "Allow" && actionsOf(x).includes(action));
  if (allows.length === 0) return { ok: false, detail: `no Allow for ${action}` };
  // Other statements allow it too (the audit trail's): judge the one that names roles, not the first.
  const s = allows.find((x) => cond(x, "ArnEquals", "aws:PrincipalArn").length > 0);
  if (!s && roles.length === 0) return { ok: true, detail: `${allows[0].Sid} allows ${action}; no role to name` };
  if (!s) return { ok: false, detail: `no Allow for ${action} names a role by aws:PrincipalArn` };
  const named = cond(s, "ArnEquals", "aws:PrincipalArn");
  const missing = roles.filter((r) => !named.includes(r));
  return missing.length === 0
    ? { ok: true, detail: `${s.Sid} names ${roles.length} consumer role(s)` }
    : { ok: false, detail: `${s.Sid} lacks ${missing.join(", ")}` };
}

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
  const b = grantsAll(
    parsePolicy(bucketPolicy.Policy ?? '{"Statement":[]}', `the policy of bucket ${src.bucketName}`),
    S3_GET_OBJECT,
    src.consumerRoleArns,
  );
  add("source: the live bucket policy grants the consumer roles", b.ok, b.detail);
  const keyPolicy = await as("source", reads.keyPolicy());
  const k = grantsAll(
    parsePolicy(keyPolicy.Policy ?? '{"Statement":[]}', `the policy of key ${src.keyArn}`),
    KMS_DECRYPT,
    src.consumerRoleArns,
  );
  add("source: the live key policy grants the consumer roles", k.ok, k.detail);

  // The boot marker, one console line (target-account/marker.ts): OK with the copy's sha256, or FAILED with the reason.
  const started = opts.now();
  let copied: string | undefined;
  let failure: string | undefined;
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
    const waited = Math.round((opts.now() - started) / 1000);
    const marker = parseMarker(text, tgt.markerPrefix, tgt.objectKey);
    if (marker.kind === "ok") {
      copied = marker.sha256;
      add(
        `target: the instance's console reports ${tgt.markerPrefix} OK for ${tgt.objectKey}`,
        true,
        `after ${waited}s, sha256=${copied}`,
      );
      break;
    }
    if (marker.kind === "failed") {
      failure = marker.reason;
      add(
        `target: the instance's console reports ${tgt.markerPrefix} OK for ${tgt.objectKey}`,
        false,
        `${marker.line} (after ${waited}s)`,
      );
      break;
    }
    if (waited >= opts.waitSeconds) {
      add(
        `target: the instance's console reports ${tgt.markerPrefix} OK for ${tgt.objectKey}`,
        false,
        `no marker after waiting ${waited}s; the instance may still be booting (see the README's troubleshooting)`,
      );
      break;
    }
    opts.log(
      `verify: no ${tgt.markerPrefix} marker on ${tgt.instanceId}'s console yet; waited ${waited}s of ${opts.waitSeconds}s`,
    );
    await opts.sleep(opts.pollSeconds * 1000);
  }

  if (copied !== undefined) {
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

  const me = await as("target", c.targetSts.send(new GetCallerIdentityCommand({})));
  const reader = parseRoleArn(tgt.roleArn);
  const myArn = me.Arn ?? "";
  if (reader && myArn.includes(`:assumed-role/${reader.roleName}/`)) {
    add(
      "negative: another principal of the target account is denied",
      false,
      `verify runs as the reader role itself (${myArn}); run it with another principal of account ${reader.accountId}`,
    );
  } else {
    try {
      await as("target", c.targetS3.send(new GetObjectCommand({ Bucket: src.bucketName, Key: tgt.objectKey })));
      add(
        "negative: another principal of the target account is denied",
        false,
        `${myArn} could read s3://${src.bucketName}/${tgt.objectKey}: the grant is too wide`,
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
  if (checks.some((x) => !x.ok)) checks.diagnosis = await diagnose(src, tgt, c, failure, reads);
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
