/**
 * `npm run test:integration`: deploys both stacks to real accounts, verifies, and always
 * destroys. It runs only when CROSS_ACCOUNT_IT=1 and both stack files name an AWS profile;
 * otherwise it prints "skipped: <reason>" and exits 0. Never part of `npm test`.
 *
 * It uses its own stacks, it-source and it-target (config copied from Pulumi.source.yaml and
 * Pulumi.target.yaml, with protectData off so that destroy can finish), never yours.
 */
import * as fs from "fs";
import * as path from "path";
import { parse, stringify } from "yaml";
import { Consumer } from "../arn";
import { defaultBucketName, key, PROJECT_ROOT, SOURCE_DEFAULTS, TARGET_DEFAULTS } from "../config";
import { validateContract } from "../contract";
import { UserError } from "../errors";
import { checkStackCredentials } from "./credentials";
import { Action, automationOps, DeployArgs, DeployIo, preflight, runDeploy, runTool, StackOps } from "./deploy";
import { clientsFor, parseTargetOutputs, report, verifyWithStacks } from "./verify";
import { stackInfo, StackInfo, StackName } from "./workspace";

export const IT_STACKS: Record<StackName, string> = { source: "it-source", target: "it-target" };

/** Why the test cannot run here, or undefined when it can. */
export function skipReason(env: NodeJS.ProcessEnv, read: (name: string) => StackInfo = stackInfo): string | undefined {
  if (env.CROSS_ACCOUNT_IT !== "1") return "CROSS_ACCOUNT_IT is not 1 (set it to deploy both stacks to real accounts, verify, and destroy them)";
  let source: StackInfo;
  let target: StackInfo;
  try {
    source = read("source");
    target = read("target");
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  if (!source.profile || !target.profile) return "set aws:profile in both Pulumi.source.yaml and Pulumi.target.yaml: one AWS profile per account";
  if (source.profile === target.profile)
    return `Pulumi.source.yaml and Pulumi.target.yaml use the same aws:profile (${source.profile}); the test needs one per account`;
  return undefined;
}

/** A physical name for the test's copy of a resource: suffixed, within the name's length limit. */
const itName = (name: string, max: number): string => `${name.slice(0, max - IT_SUFFIX.length)}${IT_SUFFIX}`;
const IT_SUFFIX = "-it";

/**
 * Writes Pulumi.it-source.yaml and Pulumi.it-target.yaml; returns their paths. The test's stacks
 * get their own bucket, alias and role names, so they never collide with your deployed stacks.
 */
export function writeItStackFiles(root = PROJECT_ROOT): string[] {
  const read = (name: string) => parse(fs.readFileSync(path.join(root, `Pulumi.${name}.yaml`), "utf8")) as { config: Record<string, unknown> };
  const source = read("source");
  const target = read("target");
  const str = (v: unknown, fallback: string): string => (typeof v === "string" ? v : fallback);
  const first = (v: unknown): string => (Array.isArray(v) && typeof v[0] === "string" ? v[0] : "");

  const sourceAccount = first(source.config["aws:allowedAccountIds"]);
  const targetAccount = first(target.config["aws:allowedAccountIds"]);
  const bucketName = str(source.config[key("bucketName")], defaultBucketName(sourceAccount, str(source.config["aws:region"], "")));
  const roleName = str(target.config[key("roleName")], TARGET_DEFAULTS.roleName);
  const itRole = itName(roleName, 64);
  const consumers = Array.isArray(source.config[key("consumers")]) ? (source.config[key("consumers")] as Consumer[]) : [];

  source.config[key("protectData")] = false;
  source.config[key("bucketName")] = itName(bucketName, 63);
  source.config[key("keyAlias")] = itName(str(source.config[key("keyAlias")], SOURCE_DEFAULTS.keyAlias), 256);
  source.config[key("consumers")] = [
    ...consumers.filter((c) => !(String(c.accountId) === targetAccount && c.roleName === roleName)),
    { accountId: targetAccount, roleName: itRole },
  ];
  target.config[key("roleName")] = itRole;
  target.config[key("sourceStack")] = str(target.config[key("sourceStack")], TARGET_DEFAULTS.sourceStack).replace(/[^/]+$/, IT_STACKS.source);

  const files = [path.join(root, `Pulumi.${IT_STACKS.source}.yaml`), path.join(root, `Pulumi.${IT_STACKS.target}.yaml`)];
  fs.writeFileSync(files[0], `# Written by npm run test:integration; removed when it ends.\n${stringify(source)}`);
  fs.writeFileSync(files[1], `# Written by npm run test:integration; removed when it ends.\n${stringify(target)}`);
  return files;
}

/** Deploy → verify → destroy, with destroy and stack removal always attempted. True when verify passed. */
export async function runIntegration(ops: StackOps, io: DeployIo, verifyIt: () => Promise<boolean>): Promise<boolean> {
  const args = (action: Action): DeployArgs => ({ action, stacks: ["source", "target"], yes: true, stackNames: IT_STACKS });
  try {
    await runDeploy(args("up"), ops, io);
    return await verifyIt();
  } finally {
    io.log("integration: destroying the test stacks");
    await runDeploy(args("destroy"), ops, io);
    for (const name of [IT_STACKS.target, IT_STACKS.source]) await ops.remove(name);
  }
}

export async function main(env: NodeJS.ProcessEnv = process.env, log: (line: string) => void = (l) => console.log(l)): Promise<void> {
  const reason = skipReason(env);
  if (reason) {
    log(`skipped: ${reason}`);
    return;
  }
  const b = preflight();
  const ops = automationOps(b, (s) => process.stdout.write(s));
  const source = stackInfo("source");
  const target = stackInfo("target");
  const files = writeItStackFiles();
  try {
    const io: DeployIo = {
      log: (line) => console.log(line),
      interactive: false,
      confirm: () => Promise.resolve(true),
      stack: (name) => (name === "source" ? source : target),
      checkCredentials: (s) => checkStackCredentials(s),
      now: () => Date.now(),
    };
    const passed = await runIntegration(ops, io, async () => {
      const contract = validateContract(await ops.outputs(IT_STACKS.source));
      if (!contract.ok) throw new UserError(`the ${IT_STACKS.source} stack's outputs break the contract: ${contract.problems.join("; ")}`);
      const tgt = parseTargetOutputs(await ops.outputs(IT_STACKS.target));
      const checks = await verifyWithStacks(source, target, contract.contract, tgt, clientsFor(source, target), {
        waitSeconds: 900,
        pollSeconds: 15,
        sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
        now: () => Date.now(),
        log: (line) => console.log(line),
      });
      console.log(report(checks));
      return checks.every((c) => c.ok);
    });
    if (!passed) throw new UserError("verify failed (see the table above); the test stacks were destroyed");
    console.log("integration: passed");
  } finally {
    for (const f of files) fs.rmSync(f, { force: true });
  }
}

if (require.main === module) runTool("test:integration", () => main());
