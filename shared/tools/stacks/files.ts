/** The stacks' files as the tools read them: each stack's account, region and profile, and its side's config checks. */
import * as fs from "fs";
import * as path from "path";
import { configKey, PROJECT_ROOT, RawConfig, Side, stackFilePath } from "../../program/project";
import { UserError } from "../../program/errors";
import type { Action, StackOps } from "./ops";

/** Reading stack files needs YAML and zod: loaded only once a tool's arguments parsed. */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy load, typed by the import type
const stackFiles = () => require("../../offline/stack-files") as typeof import("../../offline/stack-files");

/** The stacks are named after the program's sides. */
export type { Side as StackName } from "../../program/project";

export interface StackInfo {
  /** Keys whose values are secrets, left out of config when the file was read offline. */
  secrets?: string[];
  name: string;
  file: string;
  config: RawConfig;
  /** The first of aws:allowedAccountIds: the account the stack must run in. */
  accountId: string;
  region: string;
  /** aws:profile, when the stack file sets one; otherwise the environment's credentials. */
  profile?: string;
}

/** A stack's file, relative to the project when it is inside it: the name messages use. */
const shown = (file: string, root: string): string => {
  const r = path.relative(root, file);
  return r.startsWith("..") ? file : r;
};

/** The stack's settings from a config map, by the same rules wherever the map came from. */
export function stackInfoFrom(name: string, file: string, config: RawConfig, root = PROJECT_ROOT): StackInfo {
  const label = shown(file, root);
  const accountId = stackFiles().stackAccountId(config, label);
  const region = config["aws:region"];
  if (!region) throw new UserError(`${label}: aws:region is not set: set it to the stack's region, e.g. us-west-2`);
  return { name, file, config, accountId, region, profile: config["aws:profile"] };
}

/** A stack's file as read offline: its plain config, and the keys that are secrets (left out). */
export interface StackFileRead {
  name: string;
  file: string;
  /** The file as messages name it. */
  label: string;
  config: RawConfig;
  secrets: string[];
}

/** The keys a stack's settings are read from. */
const SETTINGS = ["aws:allowedAccountIds", "aws:region"];

/**
 * Reads Pulumi.<name>.yaml from the project root, offline: a file that cannot be read, a wrong
 * side, or a missing account or region stops a tool before it needs the CLI. A key that is a
 * secret is left to the CLI, which decrypts it (stackInfoThroughCli).
 */
export function readStack(name: string, root = PROJECT_ROOT): StackFileRead {
  const file = stackFilePath(name, root);
  const label = shown(file, root);
  if (!fs.existsSync(file)) throw new UserError(`${label} does not exist: every stack needs its Pulumi.<stack>.yaml`);
  const { readStackFile, requireSide } = stackFiles();
  const { config, secrets } = readStackFile(file, "skip", label);
  const side = name.replace(/^it-/, "");
  if ((side === "source" || side === "target") && !secrets.includes(configKey("side")))
    requireSide(config, side, label);
  if (!SETTINGS.some((k) => secrets.includes(k))) stackInfoFrom(name, file, config, root);
  return { name, file, label, config, secrets };
}

/** A stack's settings read offline; a secret account or region is named as what offline tools cannot read. */
export function stackInfo(name: string, root = PROJECT_ROOT): StackInfo {
  const read = readStack(name, root);
  const secret = SETTINGS.find((k) => read.secrets.includes(k));
  if (secret !== undefined)
    throw new UserError(
      `${read.label}: ${secret} is a secret, which only the Pulumi CLI decrypts; offline tools cannot read it`,
    );
  return { ...stackInfoFrom(name, read.file, read.config, root), secrets: read.secrets };
}

/**
 * A stack's settings from the config the Pulumi CLI reads, secrets decrypted. When the file holds
 * secrets, the checks it could not pass offline run here: its side, and with `check` the side's config.
 */
export async function stackInfoThroughCli(
  read: StackFileRead,
  ops: Pick<StackOps, "config">,
  action: Action,
  check: boolean,
  root = PROJECT_ROOT,
): Promise<StackInfo> {
  const config = await ops.config(read.name, action);
  const side = read.name.replace(/^it-/, "");
  if (read.secrets.length > 0 && (side === "source" || side === "target")) {
    stackFiles().requireSide(config, side, read.label);
    if (check) checkSideConfig(config, side, read.label);
  }
  return { ...stackInfoFrom(read.name, read.file, config, root), secrets: read.secrets };
}

/**
 * The side's config checks, as its program runs them before it declares anything, with every
 * problem prefixed by `label` (the file, or the flag it was given as). The one pre-check of the tools.
 */
export function checkSideConfig(config: RawConfig, side: Side, label: string): void {
  /* eslint-disable @typescript-eslint/no-require-imports -- zod loads only once a tool's arguments parsed */
  const check =
    side === "source"
      ? (require("../../../source-account/checks") as typeof import("../../../source-account/checks")).checkSourceConfig
      : (require("../../program/config/target") as typeof import("../../program/config/target")).parseTargetConfig;
  /* eslint-enable @typescript-eslint/no-require-imports */
  try {
    check(config);
  } catch (e) {
    throw e instanceof UserError ? new UserError(`${label}: ${e.message}`) : e;
  }
}
