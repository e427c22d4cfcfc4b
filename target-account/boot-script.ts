import * as fs from "fs";
import * as path from "path";
import { MARKER_WORDS } from "./marker";

export const TEMPLATE = path.join(__dirname, "boot.sh");

/** cloud-init's record of the instance's ID: the receipt's name, read without a call to the metadata service. */
export const INSTANCE_ID_FILE = "/var/lib/cloud/data/instance-id";

export interface BootScriptValues {
  bucket: string;
  region: string;
  /** The object to copy and the absolute path of the copy; or why the instance reads nothing. */
  read: { objectKey: string; dest: string } | { skipReason: string };
  /** A role that writes: the receipt's key prefix (ending in "/") and the key's full ARN. Default: no write. */
  write?: { receiptPrefix: string; keyArn: string };
  /** Bound on the total time spent retrying, per job. */
  timeoutSeconds: number;
  /** First backoff delay. Default 1000. */
  baseDelayMs?: number;
  /** Cap on a single backoff delay. Default 30000. */
  maxDelayMs?: number;
  /** Where the marker lines go. Default /dev/console, the serial console on EC2. */
  markerOut?: string;
  /** Holds the instance's ID; when unreadable, the receipt is named after the host. Default INSTANCE_ID_FILE. */
  instanceIdFile?: string;
}

/** Quotes a value for bash, so any object key or path is inert text. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Renders the boot script template; fails if a placeholder is unknown or left unfilled. */
export function renderBootScript(v: BootScriptValues): string {
  const read = "objectKey" in v.read ? v.read : undefined;
  const skipReason = "skipReason" in v.read ? v.read.skipReason : "";
  // The script reads an empty object key as "no read" and an empty prefix as "no write".
  if (read?.objectKey === "") throw new Error("renderBootScript: an empty object key; give a skipReason instead");
  if (!read && skipReason === "") throw new Error("renderBootScript: a skipped read needs its reason");
  if (v.write && !v.write.receiptPrefix.endsWith("/"))
    throw new Error(`renderBootScript: the receipt prefix ${JSON.stringify(v.write.receiptPrefix)} must end in "/"`);
  // Across accounts, S3 resolves an alias in the caller's account: only the key's full ARN names the source's key.
  if (v.write && !/^arn:[\w-]+:kms:[\w-]+:\d{12}:key\/[\w-]+$/.test(v.write.keyArn))
    throw new Error(`renderBootScript: ${JSON.stringify(v.write.keyArn)} is not a KMS key's full ARN`);
  const values: Record<string, string> = {
    BUCKET: v.bucket,
    REGION: v.region,
    OBJECT_KEY: read?.objectKey ?? "",
    DEST: read?.dest ?? "",
    SKIP_REASON: skipReason,
    RECEIPT_PREFIX: v.write?.receiptPrefix ?? "",
    KEY_ARN: v.write?.keyArn ?? "",
    INSTANCE_ID_FILE: v.instanceIdFile ?? INSTANCE_ID_FILE,
    TIMEOUT_MS: String(Math.round(v.timeoutSeconds * 1000)),
    BASE_DELAY_MS: String(v.baseDelayMs ?? 1000),
    MAX_DELAY_MS: String(v.maxDelayMs ?? 30000),
    MARKER_OUT: v.markerOut ?? "/dev/console",
    ...MARKER_WORDS,
  };
  const used = new Set<string>();
  const out = fs.readFileSync(TEMPLATE, "utf8").replace(/@([A-Z_]+)@/g, (whole, name: string) => {
    if (!(name in values)) throw new Error(`${TEMPLATE}: unknown placeholder ${whole}`);
    used.add(name);
    return shellQuote(values[name]);
  });
  const unused = Object.keys(values).filter((k) => !used.has(k));
  if (unused.length > 0) throw new Error(`${TEMPLATE}: placeholders missing from the template: ${unused.join(", ")}`);
  return out;
}
