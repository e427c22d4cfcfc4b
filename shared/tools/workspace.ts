/**
 * What the operations tools (deploy, destroy, verify, integration test) need to know about this
 * machine: the stacks' files, the state backend, the passphrase and the Pulumi CLI.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { PROJECT_ROOT, RawConfig } from "../program/project";
import { UserError } from "../program/errors";

/** Reading stack files needs YAML and zod: loaded only once a tool's arguments parsed. */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy load, typed by the import type
const stackFiles = () => require("../offline/stack-files") as typeof import("../offline/stack-files");

/** The stacks are named after the program's sides. */
export type { Side as StackName } from "../program/project";

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
  const file = path.join(root, `Pulumi.${name}.yaml`);
  const label = shown(file, root);
  if (!fs.existsSync(file)) throw new UserError(`${label} does not exist: every stack needs its Pulumi.<stack>.yaml`);
  const { readStackFile, requireSide } = stackFiles();
  const { config, secrets } = readStackFile(file, "skip", label);
  const side = name.replace(/^it-/, "");
  if (side === "source" || side === "target") requireSide(config, side, label);
  return { ...stackInfoFrom(name, file, config, root), secrets };
}

/** The local state folder used when PULUMI_BACKEND_URL is not set; git ignores it. */
export const LOCAL_STATE_DIR = path.join(PROJECT_ROOT, ".pulumi-state");

export interface Backend {
  url: string;
  /** True for the built-in local file backend. */
  local: boolean;
}

export function backend(env: NodeJS.ProcessEnv = process.env): Backend {
  const url = env.PULUMI_BACKEND_URL;
  return url ? { url, local: false } : { url: `file://${LOCAL_STATE_DIR}`, local: true };
}

/** Self-managed backends encrypt secrets with a passphrase; Pulumi Cloud does not need one. */
export function checkPassphrase(b: Backend, env: NodeJS.ProcessEnv = process.env): void {
  const selfManaged = /^(file|s3|azblob|gs):\/\//.test(b.url);
  if (selfManaged && env.PULUMI_CONFIG_PASSPHRASE === undefined && env.PULUMI_CONFIG_PASSPHRASE_FILE === undefined) {
    throw new UserError(
      `The ${b.url} backend needs a passphrase for the stacks' secrets: export PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE). ` +
        `An empty one (export PULUMI_CONFIG_PASSPHRASE=) works and is fine while the stacks hold no secrets; see the README.`,
    );
  }
}

/** The Pulumi CLI's version, or a clear error saying how to get it. */
export function checkPulumiCli(run: typeof spawnSync = spawnSync): string {
  const r = run("pulumi", ["version"], { encoding: "utf8", timeout: 120_000 });
  const out = `${String(r.stdout ?? "")}`.trim();
  if (r.error || r.status !== 0 || !/^v?\d+\.\d+/.test(out)) {
    const why = (r.error ? r.error.message : `${String(r.stderr ?? "")}`.trim() || `exit ${String(r.status)}`).replace(
      /\s*\n\s*/g,
      "; ",
    );
    throw new UserError(
      `The Pulumi CLI is not available (${why}). Install it (see Pulumi's installation docs), or let the npm "pulumi" launcher in this project's devDependencies fetch it: ` +
        `run "npx pulumi version" once with internet access, then try again.`,
    );
  }
  return out;
}

/** Prepares the backend: the local state folder is created on first use. */
export function prepareBackend(b: Backend): void {
  if (b.local) fs.mkdirSync(LOCAL_STATE_DIR, { recursive: true });
}
