import * as fs from "fs";
import { parse } from "yaml";
import { allowedAccountIdsSchema, configKey, RawConfig, Side } from "../program/config";
import { UserError } from "../program/errors";

export interface StackFile {
  file: string;
  /** Every key fully-qualified, scalars as strings, lists and objects as JSON, as Pulumi hands them to the program. */
  config: RawConfig;
  /** Keys whose value is a secret (`secure:`); left out of config. */
  secrets: string[];
}

/**
 * The one reader of a `Pulumi.<stack>.yaml`: its `config:` mapping as YAML wrote it, secrets
 * (`secure:`) included as they are. Every error names the file and, through `label`, the flag or
 * stack it was given as.
 */
export function readStackDocument(file: string, label = file): Record<string, unknown> {
  if (!fs.existsSync(file)) throw new UserError(`${label}: no such file`);
  let doc: unknown;
  try {
    doc = parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new UserError(`${label}: not valid YAML: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]}`);
  }
  const body = doc ?? {};
  const cfg: unknown =
    typeof body === "object" && !Array.isArray(body) ? (body as { config?: unknown }).config : undefined;
  if (cfg === undefined && typeof body === "object" && !Array.isArray(body)) return {};
  if (cfg === null || typeof cfg !== "object" || Array.isArray(cfg)) {
    throw new UserError(
      `${label}: must be a Pulumi stack file: a YAML mapping with a "config:" mapping of keys to values`,
    );
  }
  return cfg as Record<string, unknown>;
}

/**
 * A stack file's config as Pulumi hands it to the program. Offline tools cannot decrypt secrets:
 * with `secrets: "reject"` a secret is an error; with "skip" it is left out (the deploy tools read
 * what they need around it).
 */
export function readStackFile(file: string, secrets: "reject" | "skip", label = file): StackFile {
  const config: RawConfig = {};
  const secretKeys: string[] = [];
  for (const [k, v] of Object.entries(readStackDocument(file, label))) {
    if (v !== null && typeof v === "object" && "secure" in v) {
      if (secrets === "reject")
        throw new UserError(
          `${label}: ${k} is a secret, which offline tools cannot decrypt; plan with a copy that holds a placeholder`,
        );
      secretKeys.push(k);
      continue;
    }
    config[k] = typeof v === "string" ? v : v !== null && typeof v === "object" ? JSON.stringify(v) : String(v);
  }
  return { file, config, secrets: secretKeys };
}

/**
 * The one place that reads a stack's account: the one entry of aws:allowedAccountIds, by the
 * program's own rule (config/rules.ts). Returns the problem, naming the key and the value, when there is one.
 */
export function stackAccount(config: RawConfig): { accountId: string } | { problem: string } {
  const raw = config["aws:allowedAccountIds"];
  const example = 'e.g. ["111111111111"]';
  if (raw === undefined)
    return { problem: `aws:allowedAccountIds is not set: it must list this stack's account ID, ${example}` };
  let ids: unknown;
  try {
    ids = JSON.parse(raw);
  } catch {
    return {
      problem: `aws:allowedAccountIds = ${JSON.stringify(raw)}: must be a YAML list of this stack's account ID, ${example}`,
    };
  }
  const r = allowedAccountIdsSchema.safeParse(ids);
  if (r.success) return { accountId: r.data[0] };
  const issue = r.error.issues[0];
  const where = `aws:allowedAccountIds${issue.path.map((p) => `[${String(p)}]`).join("")}`;
  const value = issue.path.length > 0 && Array.isArray(ids) ? (ids as unknown[])[Number(issue.path[0])] : ids;
  return { problem: `${where} = ${JSON.stringify(value)}: ${issue.message}` };
}

/** The stack's account; a UserError naming `label` (the file, or the flag it was given as) when it has none. */
export function stackAccountId(config: RawConfig, label: string): string {
  const a = stackAccount(config);
  if ("problem" in a) throw new UserError(`${label}: ${a.problem}`);
  return a.accountId;
}

/** Refuses a file of the other side (a swapped --source-config / --target-config), naming both. */
export function requireSide(config: RawConfig, side: Side, label: string): void {
  const found = config[configKey("side")];
  if (found === side) return;
  const other = side === "source" ? "target" : "source";
  if (found === other) {
    throw new UserError(
      `${label}: is a ${other}-stack file (${configKey("side")} = ${other}), given where the ${side} stack's file belongs; swap the two files`,
    );
  }
  throw new UserError(
    `${label}: ${configKey("side")} ${found === undefined ? "is not set" : `= ${JSON.stringify(found)}`}: the ${side} stack's file must set it to ${side}`,
  );
}
