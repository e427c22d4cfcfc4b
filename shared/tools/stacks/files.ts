/** The stacks' files as the tools read them: each stack's account, region and profile, and its side's config checks. */
import * as fs from "fs";
import * as path from "path";
import { PROJECT_ROOT, RawConfig, Side, stackFilePath } from "../../program/project";
import { UserError } from "../../program/errors";

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

/**
 * Reads Pulumi.<name>.yaml from the project root, offline: a file that cannot be read, or that
 * lacks its account or region, stops a tool before it needs the CLI. Secrets are left out here;
 * the deploy tools read the stack's config through the Pulumi CLI, which decrypts them.
 */
export function stackInfo(name: string, root = PROJECT_ROOT): StackInfo {
  const file = stackFilePath(name, root);
  const label = shown(file, root);
  if (!fs.existsSync(file)) throw new UserError(`${label} does not exist: every stack needs its Pulumi.<stack>.yaml`);
  const { readStackFile, requireSide } = stackFiles();
  const { config, secrets } = readStackFile(file, "skip", label);
  const side = name.replace(/^it-/, "");
  if (side === "source" || side === "target") requireSide(config, side, label);
  return { ...stackInfoFrom(name, file, config, root), secrets };
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
