/** The state backend, its passphrase and the Pulumi CLI: what the operations tools check before they touch a stack. */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { PROJECT_ROOT } from "../../program/project";
import { UserError } from "../../program/errors";
import { atLeast, parseVersion, versionText } from "../cli/version";

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

/** The Automation API skips its own version check when this is set; so does the preflight. */
const SKIP_VERSION_CHECK = "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK";

/**
 * The oldest Pulumi CLI the installed SDK's Automation API accepts, [major, minor, patch]: its own
 * constant, which the SDK does not export in its types (a test holds it there).
 */
export function automationMinimum(): number[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- internal to the SDK: no types to import
  const { minimumVersion: v } = require("@pulumi/pulumi/automation/minimumVersion") as {
    minimumVersion?: { major?: unknown; minor?: unknown; patch?: unknown };
  };
  const parts = [v?.major, v?.minor, v?.patch];
  if (!parts.every((n): n is number => typeof n === "number"))
    throw new Error("@pulumi/pulumi/automation/minimumVersion no longer holds the CLI's minimum version");
  return parts;
}

/**
 * Throws a UserError when the CLI's version is one the Automation API refuses: older than its
 * minimum, or of a later major version.
 */
export function checkCliVersion(out: string, env: NodeJS.ProcessEnv = process.env): void {
  if (env[SKIP_VERSION_CHECK]) return;
  const found = parseVersion(out);
  const minimum = automationMinimum();
  if (found && !atLeast(found, minimum))
    throw new UserError(
      `The Pulumi CLI is ${out}, and this project's Automation API (@pulumi/pulumi) needs ${versionText(minimum)} or later: ` +
        `update it (see Pulumi's installation docs), or run "npx pulumi version" once with internet access to use the project's launcher.`,
    );
  if (found && found[0] > minimum[0])
    throw new UserError(
      `The Pulumi CLI is ${out}, a later major version than this project's Automation API (@pulumi/pulumi, v${minimum[0]}) works with: ` +
        `use a v${minimum[0]} CLI, or update @pulumi/pulumi.`,
    );
}

/** The Pulumi CLI's version, or a clear error saying how to get it or which version it needs. */
export function checkPulumiCli(run: typeof spawnSync = spawnSync, env: NodeJS.ProcessEnv = process.env): string {
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
  checkCliVersion(out, env);
  return out;
}

/** Prepares the backend: the local state folder is created on first use, once a tool's checks passed. */
export function prepareBackend(b: Backend): void {
  if (b.local) fs.mkdirSync(LOCAL_STATE_DIR, { recursive: true });
}

/** Everything the operations tools check before they touch a stack, in order; it changes nothing. */
export function preflight(): Backend {
  checkPulumiCli();
  const b = backend();
  checkPassphrase(b);
  return b;
}
