/**
 * What `npm run verify` checks of a writer's receipt, with account A's credentials: that it lies
 * under the role's receipt prefix, is SSE-KMS with the stack's key and a Bucket Key (HeadObject), and
 * belongs to account A (BucketOwnerEnforced: the object's owner is the bucket's, by canonical ID).
 */
import { SourceContract } from "../../program/contract";
import type { TargetOutputs } from "../../program/target-outputs";
import { answerText, LiveReads } from "./live";

export interface ReceiptCheck {
  check: string;
  ok: boolean;
  detail: string;
}

/** An AWS service's answer (it carries $metadata); anything else, a credentials failure included, is thrown. */
function serviceAnswer(e: unknown): string {
  if (!(e instanceof Error && "$metadata" in e)) throw e;
  return answerText(e);
}

export async function receiptChecks(
  src: SourceContract,
  tgt: TargetOutputs,
  key: string,
  reads: LiveReads,
): Promise<ReceiptCheck[]> {
  const uri = `s3://${src.bucketName}/${key}`;
  const checks: ReceiptCheck[] = [];
  const prefix = tgt.receiptPrefix ?? "";
  const encrypted = `target: the receipt ${uri} is under ${prefix}, SSE-KMS with the stack's key and a Bucket Key`;
  if (!key.startsWith(prefix)) {
    checks.push({ check: encrypted, ok: false, detail: `the marker names ${key}, outside ${prefix}` });
    return checks;
  }
  try {
    const h = await reads.object(key);
    const ok = h.ServerSideEncryption === "aws:kms" && h.SSEKMSKeyId === src.keyArn && h.BucketKeyEnabled === true;
    checks.push({
      check: encrypted,
      ok,
      detail: `${String(h.ServerSideEncryption)}, key ${String(h.SSEKMSKeyId)}, Bucket Key ${String(h.BucketKeyEnabled)}`,
    });
  } catch (e) {
    checks.push({ check: encrypted, ok: false, detail: `HeadObject: ${serviceAnswer(e)}` });
    return checks;
  }
  const owned = `target: account A (${src.accountId}) owns the receipt`;
  try {
    const [object, bucket] = await Promise.all([reads.objectAcl(key), reads.bucketAcl()]);
    const owner = object.Owner?.ID;
    const ok = owner !== undefined && owner === bucket.Owner?.ID;
    checks.push({
      check: owned,
      ok,
      detail: ok
        ? `owner ${owner}, the bucket's`
        : `owner ${String(owner)}, but the bucket's is ${String(bucket.Owner?.ID)}: is the bucket's Object Ownership still BucketOwnerEnforced?`,
    });
  } catch (e) {
    checks.push({ check: owned, ok: false, detail: `GetObjectAcl or GetBucketAcl: ${serviceAnswer(e)}` });
  }
  return checks;
}
