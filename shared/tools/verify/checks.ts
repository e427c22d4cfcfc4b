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
import { describeCredentials, isCredentialsError, noCredentials } from "../stacks/credentials";
import { Failure } from "../cli";
import { table } from "../cli/format";
import { Marker, parseMarker, parseWriteMarker, WriteMarker } from "../../../target-account/marker";
import { diagnose, Diagnosis, renderDiagnosis } from "./diagnose";
import { answerText, LiveReads } from "./live";
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
  /** Where each account's credentials come from, for a skipped check's reason: `profile "…" (aws:profile in …)`. */
  credentials?: Record<Side, string>;
}

export interface Check {
  check: string;
  ok: boolean;
  detail: string;
  /** Why the check did not run: its account's credentials could not be used. */
  skipped?: string;
}

/** A check that ran and failed (a skipped one did not run). */
export const failed = (c: Check): boolean => !c.ok && c.skipped === undefined;

/**
 * The checks; when one failed, the diagnosis of the broken link; when an account's first call was
 * refused, why its checks were skipped (a Check[] for the callers that print it).
 */
export type Checks = Check[] & { diagnosis?: Diagnosis; skipped?: Partial<Record<Side, string>> };

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

/** AWS refused the caller: S3's 403 (a HEAD's has no code), KMS's AccessDeniedException, EC2's UnauthorizedOperation. */
const isDenied = (e: unknown): boolean =>
  e instanceof Error &&
  "$metadata" in e &&
  ((e.$metadata as { httpStatusCode?: number }).httpStatusCode === 403 ||
    /AccessDenied|UnauthorizedOperation/.test(e.name));

/**
 * Each account's calls. The first one decides: when it fails for want of credentials or with
 * AccessDenied, the account's checks are skipped (`call` answers undefined); later failures throw.
 */
class Accounts {
  readonly skipped: Partial<Record<Side, string>> = {};
  readonly refusals: Partial<Record<Side, unknown>> = {};
  private readonly tried = new Set<Side>();

  constructor(
    readonly names: Record<Side, string>,
    private readonly credentials?: Record<Side, string>,
  ) {}

  async call<T>(side: Side, call: () => Promise<T>): Promise<T | undefined> {
    if (this.skipped[side] !== undefined) return undefined;
    if (this.tried.has(side)) return as(side, call());
    this.tried.add(side);
    try {
      return await call();
    } catch (e) {
      if (!isCredentialsError(e) && !isDenied(e)) throw e;
      const from = this.credentials ? ` from ${this.credentials[side]}` : "";
      this.skipped[side] = `no usable credentials for ${this.names[side]}${from}: ${answerText(e)}`;
      this.refusals[side] = e;
      return undefined;
    }
  }
}

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
  const reader = parseRoleArn(tgt.roleArn);
  const accounts = new Accounts(
    { source: `account A (${src.accountId})`, target: `account B (${reader?.accountId ?? "the reader's"})` },
    opts.credentials,
  );
  // The row names the account; the reason in full (its credentials' source, AWS's answer) follows the table.
  const skip = (side: Side, check: string, also = "") => {
    const why = accounts.skipped[side] ?? "";
    checks.push({
      check,
      ok: false,
      detail: `skipped: no usable credentials for ${accounts.names[side]}${also}`,
      skipped: why,
    });
  };

  for (const key of src.objectKeys) {
    const check = `source: ${key} is encrypted with the stack's key and Bucket Key`;
    const h = await accounts.call("source", () => reads.object(key));
    if (!h) {
      skip("source", check);
      continue;
    }
    const ok = h.ServerSideEncryption === "aws:kms" && h.SSEKMSKeyId === src.keyArn && h.BucketKeyEnabled === true;
    add(
      check,
      ok,
      `${String(h.ServerSideEncryption)}, key ${String(h.SSEKMSKeyId)}, Bucket Key ${String(h.BucketKeyEnabled)}`,
    );
  }

  const bucketPolicy = await accounts.call("source", () => reads.bucketPolicy());
  const keyPolicy = await accounts.call("source", () => reads.keyPolicy());
  const bucketDoc = parsePolicy(bucketPolicy?.Policy ?? '{"Statement":[]}', `the policy of bucket ${src.bucketName}`);
  const keyDoc = parsePolicy(keyPolicy?.Policy ?? '{"Statement":[]}', `the policy of key ${src.keyArn}`);
  // The reads' grants, then the writes': each checked when some consumer's level holds it.
  const grants: [string, PolicyDocument, string, string][] = [
    ["bucket", bucketDoc, S3_GET_OBJECT, "the consumer roles"],
    ["key", keyDoc, KMS_DECRYPT, "the consumer roles"],
    ["bucket", bucketDoc, S3_PUT_OBJECT, `the writing roles ${S3_PUT_OBJECT}`],
    ["key", keyDoc, KMS_GENERATE_DATA_KEY, `the writing roles ${KMS_GENERATE_DATA_KEY}`],
  ];
  for (const [policy, doc, action, whom] of grants) {
    if (!anyoneGranted(src, action)) continue;
    const check = `source: the live ${policy} policy grants ${whom}`;
    if (accounts.skipped.source !== undefined) {
      skip("source", check);
      continue;
    }
    const g = grantsAll(doc, action, rolesGranted(src, action));
    add(check, g.ok, g.detail);
  }

  // The boot markers (target-account/marker.ts): the read's OK, FAILED or SKIPPED line, and a writer's WROTE or WRITE-FAILED.
  const readCheck =
    tgt.objectKey === null
      ? `target: the instance's console reports ${tgt.markerPrefix} SKIPPED for the read (no object to copy)`
      : `target: the instance's console reports ${tgt.markerPrefix} OK for ${tgt.objectKey}`;
  const writeCheck = `target: the instance's console reports ${tgt.markerPrefix} WROTE for a receipt under ${tgt.receiptPrefix ?? ""}`;
  const { read, write, waited } = await markers(tgt, c, opts, accounts);
  if (accounts.skipped.source !== undefined && accounts.skipped.target !== undefined)
    throw new CredentialsFailure("source", accounts.refusals.source);
  const notYet = `no marker after waiting ${waited}s; the instance may still be booting (see the README's troubleshooting)`;
  const failure = read.kind === "failed" ? read.reason : undefined;
  const sha = "target: the copy's sha256 matches the object in the bucket";
  if (accounts.skipped.target !== undefined) {
    skip("target", readCheck);
    if (tgt.writes) skip("target", writeCheck);
    if (tgt.objectKey !== null) skip("target", sha);
  } else {
    if (read.kind === "ok") add(readCheck, tgt.objectKey !== null, `after ${waited}s, sha256=${read.sha256}`);
    else if (read.kind === "skipped") add(readCheck, tgt.objectKey === null, `after ${waited}s: ${read.line}`);
    else add(readCheck, false, read.kind === "failed" ? `${read.line} (after ${waited}s)` : notYet);
    if (tgt.writes) {
      if (write.kind === "wrote") add(writeCheck, true, `after ${waited}s, ${write.key}`);
      else add(writeCheck, false, write.kind === "failed" ? `${write.line} (after ${waited}s)` : notYet);
    }
  }

  if (read.kind === "ok" && tgt.objectKey !== null) {
    const key = tgt.objectKey;
    const obj = await accounts.call("source", () =>
      c.sourceS3.send(new GetObjectCommand({ Bucket: src.bucketName, Key: key })),
    );
    if (!obj) skip("source", sha, ` (the instance reported sha256=${read.sha256})`);
    else {
      const actual = sha256(await (obj.Body?.transformToByteArray() ?? Promise.resolve(new Uint8Array())));
      add(sha, actual === read.sha256, actual === read.sha256 ? actual : `bucket ${actual}, instance ${read.sha256}`);
    }
  }
  if (write.kind === "wrote") {
    const receipts = await accounts.call("source", () => receiptChecks(src, tgt, write.key, reads));
    if (!receipts)
      skip("source", `target: the receipt s3://${src.bucketName}/${write.key}, read with account A's credentials`);
    for (const r of receipts ?? []) add(r.check, r.ok, r.detail);
  }

  const negative = "negative: another principal of the target account is denied";
  if (accounts.skipped.target !== undefined) skip("target", negative);
  else await negativeCheck(src, tgt, c, add);
  checks.skipped = accounts.skipped;
  if (checks.some(failed))
    checks.diagnosis = await diagnose(src, tgt, c, failure, reads, {
      key: write.kind === "wrote" ? write.key : undefined,
      failure: write.kind === "failed" ? write.reason : undefined,
    });
  return checks;
}

/** Polls the instance's console (its first call decides whether account B's credentials work) until the markers appear or the wait ends. */
async function markers(
  tgt: TargetOutputs,
  c: VerifyClients,
  opts: VerifyOptions,
  accounts: Accounts,
): Promise<{ read: Marker; write: WriteMarker; waited: number }> {
  const started = opts.now();
  let read: Marker = { kind: "none" };
  let write: WriteMarker = { kind: "none" };
  let waited = 0;
  let latest = true;
  for (;;) {
    let out: GetConsoleOutputCommandOutput | undefined;
    try {
      out = await accounts.call("target", () =>
        c.targetEc2.send(new GetConsoleOutputCommand({ InstanceId: tgt.instanceId, Latest: latest || undefined })),
      );
    } catch (e) {
      // Only Nitro instances keep the latest output; others return what they buffered at boot.
      if (!(latest && e instanceof Error && e.name === "UnsupportedOperation")) throw e;
      latest = false;
      continue;
    }
    if (!out) break;
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
  return { read, write, waited };
}

/** Another principal of the target account (verify's own) must be denied any object: nobody else may read. */
async function negativeCheck(
  src: SourceContract,
  tgt: TargetOutputs,
  c: VerifyClients,
  add: (check: string, ok: boolean, detail: string) => void,
): Promise<void> {
  const check = "negative: another principal of the target account is denied";
  const me = await as("target", c.targetSts.send(new GetCallerIdentityCommand({})));
  const reader = parseRoleArn(tgt.roleArn);
  const myArn = me.Arn ?? "";
  const probe = tgt.objectKey ?? src.objectKeys[0];
  if (reader && myArn.includes(`:assumed-role/${reader.roleName}/`)) {
    add(
      check,
      false,
      `verify runs as the reader role itself (${myArn}); run it with another principal of account ${reader.accountId}`,
    );
    return;
  }
  try {
    await as("target", c.targetS3.send(new GetObjectCommand({ Bucket: src.bucketName, Key: probe })));
    add(check, false, `${myArn} could read s3://${src.bucketName}/${probe}: the grant is too wide`);
  } catch (e) {
    if (e instanceof CredentialsFailure) throw e;
    const denied = statusOf(e) === 403;
    add(
      check,
      denied,
      denied
        ? `${myArn}: AccessDenied (this proves the bucket's grant only if the principal has S3 read rights in its own account)`
        : `unexpected error: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

const ACCOUNT_LETTER: Record<Side, string> = { source: "A", target: "B" };

export function report(checks: Checks): string {
  const failures = checks.filter(failed).length;
  const skipped = checks.filter((c) => c.skipped !== undefined).length;
  const passed = checks.length - failures - skipped;
  const why = Object.entries(checks.skipped ?? {}).map(
    ([side, reason]) => `\n\nAccount ${ACCOUNT_LETTER[side as Side]}'s checks were skipped: ${reason}.`,
  );
  return `${table(
    ["check", "result", "detail"],
    checks.map((c) => [c.check, c.skipped !== undefined ? "skipped" : c.ok ? "pass" : "FAIL", c.detail]),
  )}\n\n${passed} passed, ${failures} failed${skipped > 0 ? `, ${skipped} skipped` : ""}${why.join("")}${checks.diagnosis ? `\n\n${renderDiagnosis(checks.diagnosis)}` : ""}`;
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
    return await verify(src, tgt, clients, {
      ...opts,
      credentials: { source: describeCredentials(source), target: describeCredentials(target) },
    });
  } catch (e) {
    if (e instanceof CredentialsFailure) throw noCredentials(e.side === "source" ? source : target, e.original);
    // A service's answer (AccessDenied, NoSuchBucket, throttling): the check ran and the cloud said no.
    if (e instanceof Error && "$metadata" in e) throw new Failure(`an AWS call failed: ${e.name}: ${e.message}`);
    throw e;
  }
}
