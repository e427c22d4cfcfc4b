import * as fs from "fs";
import { parse } from "yaml";
import { accountIdProblem, configKey, RawConfig, Side } from "../program/config";
import { UserError } from "../program/errors";

export interface StackFile {
  file: string;
  /** Every key fully-qualified, scalars as strings, lists and objects as JSON, as Pulumi hands them to the program. */
  config: RawConfig;
  /** Keys whose value is a secret (`secure:`); left out of config. */
  secrets: string[];
}

/**
 * Reads a `Pulumi.<stack>.yaml`. Offline tools cannot decrypt secrets: with `secrets: "reject"`
 * a secret is an error; with "skip" it is left out (the deploy tools read what they need around it).
 * Every error names the file and, through `label`, the flag or stack it was given as.
 */
export function readStackFile(file: string, secrets: "reject" | "skip", label = file): StackFile {
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
  if (cfg === undefined && typeof body === "object" && !Array.isArray(body)) return { file, config: {}, secrets: [] };
  if (cfg === null || typeof cfg !== "object" || Array.isArray(cfg)) {
    throw new UserError(
      `${label}: must be a Pulumi stack file: a YAML mapping with a "config:" mapping of keys to values`,
    );
  }
  const config: RawConfig = {};
  const secretKeys: string[] = [];
  for (const [k, v] of Object.entries(cfg)) {
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

/** Reads a stack file for offline use; kept for the tests' fixtures, where a secret is a mistake. */
export const readStackConfig = (file: string): RawConfig => readStackFile(file, "reject").config;

/**
 * The one place that reads a stack's account: the one entry of aws:allowedAccountIds, by the
 * program's own account-ID rule. Returns the problem, naming the key and the value, when there is one.
 */
export function stackAccount(config: RawConfig): { accountId: string } | { problem: string } {
  const raw = config["aws:allowedAccountIds"];
  const rule = 'must list this stack\'s one account ID, quoted, e.g. ["111111111111"]';
  if (raw === undefined) return { problem: `aws:allowedAccountIds is not set: it ${rule}` };
  let ids: unknown;
  try {
    ids = JSON.parse(raw);
  } catch {
    return { problem: `aws:allowedAccountIds = ${JSON.stringify(raw)}: ${rule}` };
  }
  if (!Array.isArray(ids) || ids.length !== 1) return { problem: `aws:allowedAccountIds = ${raw}: ${rule}` };
  const problem = accountIdProblem(ids[0]);
  return problem
    ? { problem: `aws:allowedAccountIds[0] = ${JSON.stringify(ids[0])}: ${problem}` }
    : { accountId: ids[0] as string };
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
