import * as fs from "fs";
import * as path from "path";
import { MARKER_WORDS } from "./marker";

export const TEMPLATE = path.join(__dirname, "boot.sh");

export interface BootScriptValues {
  bucket: string;
  objectKey: string;
  region: string;
  /** Absolute path of the copied file. */
  dest: string;
  /** Bound on the total time spent retrying. */
  timeoutSeconds: number;
  /** First backoff delay. Default 1000. */
  baseDelayMs?: number;
  /** Cap on a single backoff delay. Default 30000. */
  maxDelayMs?: number;
  /** Where the marker line goes. Default /dev/console, the serial console on EC2. */
  markerOut?: string;
}

/** Quotes a value for bash, so any object key or path is inert text. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Renders the boot script template; fails if a placeholder is unknown or left unfilled. */
export function renderBootScript(v: BootScriptValues): string {
  const values: Record<string, string> = {
    BUCKET: v.bucket,
    OBJECT_KEY: v.objectKey,
    REGION: v.region,
    DEST: v.dest,
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
