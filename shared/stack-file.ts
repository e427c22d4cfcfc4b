import * as fs from "fs";
import { parse } from "yaml";
import { RawConfig } from "./config";

/**
 * Reads a `Pulumi.<stack>.yaml` into the raw form Pulumi hands the program: every key
 * fully-qualified, scalars as strings, lists and objects as JSON. Secrets are not supported.
 */
export function readStackConfig(file: string): RawConfig {
  const doc = parse(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null;
  const raw: RawConfig = {};
  for (const [k, v] of Object.entries(doc?.config ?? {})) {
    if (v !== null && typeof v === "object" && "secure" in v) throw new Error(`${file}: ${k} is a secret; offline tools cannot read secrets`);
    raw[k] = typeof v === "string" ? v : v !== null && typeof v === "object" ? JSON.stringify(v) : String(v);
  }
  return raw;
}
