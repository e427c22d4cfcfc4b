import * as fs from "fs";
import { parseDocument } from "yaml";
import { allowedAccountIdsSchema, configKey, RawConfig, Side } from "../program/config";
import { UserError } from "../program/errors";
import { Decoded, decodeNode, pulumiConfig, PulumiYamlError } from "./pulumi-yaml";

export interface StackFile {
  file: string;
  /** Every key fully-qualified, each value as Pulumi hands it to the program (pulumi-yaml.ts). */
  config: RawConfig;
  /** Keys whose value is or holds a secret (`secure:` at any depth); left out of config. */
  secrets: string[];
}

const firstLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split("\n")[0];

/** The file's text; a missing file, a folder or anything but a regular file is named as such. */
function readText(file: string, label: string): string {
  if (!fs.existsSync(file)) throw new UserError(`${label}: no such file`);
  const stat = fs.statSync(file);
  if (stat.isDirectory()) throw new UserError(`${label}: is a folder, not a stack file`);
  if (!stat.isFile()) throw new UserError(`${label}: is not a regular file, so not a stack file`);
  return fs.readFileSync(file, "utf8");
}

/** The stack file's `config:` mapping, decoded as yaml.v3 decodes it for the Pulumi CLI (merge keys applied). */
function readConfigMapping(file: string, label: string): { [key: string]: Decoded } {
  const doc = parseDocument(readText(file, label));
  if (doc.errors.length > 0) throw new UserError(`${label}: not valid YAML: ${firstLine(doc.errors[0])}`);
  let body: Decoded;
  try {
    body = decodeNode(doc, doc.contents);
  } catch (e) {
    if (!(e instanceof PulumiYamlError)) throw e;
    const where = e.path[0] === "config" ? e.path.slice(1) : e.path;
    throw new UserError(`${label}: ${[...where, e.reason].join(": ")}`);
  }
  const notStackFile = `${label}: must be a Pulumi stack file: a YAML mapping with a "config:" mapping of keys to values`;
  if (body === null) return {};
  if (typeof body !== "object" || Array.isArray(body)) throw new UserError(notStackFile);
  const cfg = body.config;
  // An absent or empty `config:` is no config (loaders.go LoadProjectStackBytes).
  if (cfg === undefined || cfg === null) return {};
  if (typeof cfg !== "object" || Array.isArray(cfg)) throw new UserError(notStackFile);
  return cfg;
}

/**
 * A stack file's `config:` mapping as YAML wrote it (merge keys applied), secrets included as
 * they are. Every error names the file and, through `label`, the flag or stack it was given as.
 */
export function readStackDocument(file: string, label = file): Record<string, unknown> {
  const doc = parseDocument(readText(file, label), { merge: true });
  if (doc.errors.length > 0) throw new UserError(`${label}: not valid YAML: ${firstLine(doc.errors[0])}`);
  readConfigMapping(file, label);
  const body = doc.toJS() as { config?: Record<string, unknown> | null } | null;
  return body?.config ?? {};
}

/**
 * The one reader of a `Pulumi.<stack>.yaml`: its config as the Pulumi CLI hands it to the program
 * (pulumi-yaml.ts). Offline tools cannot decrypt secrets: with `secrets: "reject"` a secret is an
 * error; with "skip" it is left out (the deploy tools read the stack through the CLI then).
 */
export function readStackFile(file: string, secrets: "reject" | "skip", label = file): StackFile {
  let read: { config: RawConfig; secrets: string[] };
  try {
    read = pulumiConfig(readConfigMapping(file, label));
  } catch (e) {
    if (e instanceof PulumiYamlError) throw new UserError(`${label}: ${e.message}`);
    throw e;
  }
  if (secrets === "reject" && read.secrets.length > 0)
    throw new UserError(
      `${label}: ${read.secrets[0]} is a secret, which offline tools cannot decrypt; plan with a copy that holds a placeholder`,
    );
  return { file, ...read };
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
