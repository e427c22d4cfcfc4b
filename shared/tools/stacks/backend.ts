/** The state backend, its passphrase and the Pulumi CLI: what the operations tools check before they touch a stack. */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { PROJECT_ROOT } from "../../program/project";
import { UserError } from "../../program/errors";

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

/** Everything the operations tools check before they touch a stack, in order. */
export function preflight(): Backend {
  checkPulumiCli();
  const b = backend();
  checkPassphrase(b);
  prepareBackend(b);
  return b;
}
