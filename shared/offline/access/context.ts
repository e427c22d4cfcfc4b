/** Requests, and the context AWS derives from them. */
import { roleArn } from "../../program/iam/arn";
import { Principal } from "./capture";

export type Tls = "1.2" | "1.0" | "none";

export interface AccessRequest {
  /** A role session, or undefined for an anonymous request (or a service's). */
  principal?: Principal;
  /** A request an AWS service makes on its own behalf, for a resource of `sourceArn` in `sourceAccount`. */
  service?: { principal: string; sourceArn: string; sourceAccount: string };
  /** S3 condition keys from the request's headers, e.g. s3:x-amz-acl. */
  headers?: Record<string, string>;
  /** A list request's prefix parameter, which S3 puts in s3:prefix; undefined when the request names none. */
  prefix?: string;
  /** A KMS request's encryption context, beyond the one S3 sets. */
  encryptionContext?: Record<string, string>;
  action: string;
  resource: string;
  resourceAccount: string;
  /** S3 requests: the transport. Default TLS 1.2. */
  tls?: Tls;
  /** KMS requests that S3 makes on the caller's behalf: S3's region and the bucket (Bucket Key on). */
  viaS3?: { region: string; bucketArn: string };
  /** S3 requests from the consumer's instance pass its VPC's gateway endpoint. */
  throughEndpoint?: boolean;
}

/**
 * The request context AWS derives from a request. The one place context keys are made, so no
 * test hand-types them. Written independently of the policy builders, as a model of AWS.
 */
export function requestContext(r: AccessRequest): Record<string, string | string[]> {
  const ctx: Record<string, string | string[]> = {};
  if (r.principal) {
    ctx["aws:PrincipalArn"] = roleArn(r.principal);
    ctx["aws:PrincipalAccount"] = r.principal.accountId;
    if (r.principal.orgId) ctx["aws:PrincipalOrgID"] = r.principal.orgId;
    if (r.principal.orgPath) ctx["aws:PrincipalOrgPaths"] = [r.principal.orgPath];
  }
  if (r.service) {
    ctx["aws:SourceArn"] = r.service.sourceArn;
    ctx["aws:SourceAccount"] = r.service.sourceAccount;
  }
  const service = r.action.split(":")[0];
  if (service === "s3") {
    Object.assign(ctx, r.headers ?? {});
    if (r.prefix !== undefined) ctx["s3:prefix"] = r.prefix;
    const tls = r.tls ?? "1.2";
    ctx["aws:SecureTransport"] = tls === "none" ? "false" : "true";
    if (tls !== "none") ctx["s3:TlsVersion"] = tls;
  }
  if (service === "kms") {
    // Direct calls are HTTPS-only; S3 calls KMS over TLS too.
    ctx["aws:SecureTransport"] = "true";
    if (r.principal) ctx["kms:CallerAccount"] = r.principal.accountId;
    if (r.viaS3) {
      ctx["kms:ViaService"] = `s3.${r.viaS3.region}.amazonaws.com`;
      ctx["kms:EncryptionContext:aws:s3:arn"] = r.viaS3.bucketArn;
    }
    for (const [k, v] of Object.entries(r.encryptionContext ?? {})) ctx[`kms:EncryptionContext:${k}`] = v;
  }
  return ctx;
}

/**
 * The headers of an upload that asks for SSE-KMS with this key, as S3 condition keys: what `aws s3
 * cp --sse aws:kms --sse-kms-key-id <ARN>` sends (S3 User Guide, specifying-kms-encryption.html).
 */
export const sseKmsHeaders = (keyArn: string): Record<string, string> => ({
  "s3:x-amz-server-side-encryption": "aws:kms",
  "s3:x-amz-server-side-encryption-aws-kms-key-id": keyArn,
});
