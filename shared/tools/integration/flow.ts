/**
 * The integration test's steps: its own stacks' files, deploy → verify → destroy, and what it
 * reports when something fails. index.ts is the tool; it loads this only when the test runs.
 */
import * as fs from "fs";
import { stringify } from "yaml";
import { Consumer } from "../../program/iam/arn";
import { defaultBucketName, configKey, PROJECT_ROOT, SOURCE_DEFAULTS, TARGET_DEFAULTS } from "../../program/config";
import { SIDES, stackFilePath } from "../../program/project";
import { validateContract } from "../../program/contract";
import { UserError } from "../../program/errors";
import { Failure, ToolIo } from "../cli";
import { DeployArgs, DeployIo, runDeploy } from "../deploy/flow";
import { prepareBackend, preflight } from "../stacks/backend";
import { stackInfo, StackInfo, StackName } from "../stacks/files";
import { readStackDocument } from "../../offline/stack-files";
import type { Action, StackOps } from "../stacks/ops";

export const IT_STACKS: Record<StackName, string> = { source: "it-source", target: "it-target" };

/** The two stacks, when they can run the test: one AWS profile per account. Throws UserError otherwise. */
export function itStacks(read: (name: string) => StackInfo = stackInfo): { source: StackInfo; target: StackInfo } {
  const source = read("source");
  const target = read("target");
  if (!source.profile || !target.profile)
    throw new UserError(
      "CROSS_ACCOUNT_IT=1 needs one AWS profile per account: set aws:profile in both Pulumi.source.yaml and Pulumi.target.yaml",
    );
  if (source.profile === target.profile)
    throw new UserError(
      `Pulumi.source.yaml and Pulumi.target.yaml use the same aws:profile (${source.profile}); the test needs one per account`,
    );
  return { source, target };
}

/** A physical name for the test's copy of a resource: suffixed, within the name's length limit. */
const itName = (name: string, max: number): string => `${name.slice(0, max - IT_SUFFIX.length)}${IT_SUFFIX}`;
const IT_SUFFIX = "-it";

/**
 * Writes Pulumi.it-source.yaml and Pulumi.it-target.yaml; returns their paths. The test's stacks
 * get their own bucket, alias and role names, so they never collide with your deployed stacks.
 */
export function writeItStackFiles(root = PROJECT_ROOT): string[] {
  const read = (name: string) => ({ config: readStackDocument(stackFilePath(name, root)) });
  const source = read("source");
  const target = read("target");
  const str = (v: unknown, fallback: string): string => (typeof v === "string" ? v : fallback);
  const sourceAccount = stackInfo("source", root).accountId;
  const targetAccount = stackInfo("target", root).accountId;
  const bucketName = str(
    source.config[configKey("bucketName")],
    defaultBucketName(sourceAccount, str(source.config["aws:region"], "")),
  );
  const roleName = str(target.config[configKey("roleName")], TARGET_DEFAULTS.roleName);
  const itRole = itName(roleName, 64);
  const consumers = Array.isArray(source.config[configKey("consumers")])
    ? (source.config[configKey("consumers")] as Consumer[])
    : [];

  source.config[configKey("protectData")] = false;
  source.config[configKey("bucketName")] = itName(bucketName, 63);
  source.config[configKey("keyAlias")] = itName(
    str(source.config[configKey("keyAlias")], SOURCE_DEFAULTS.keyAlias),
    256,
  );
  source.config[configKey("consumers")] = [
    ...consumers.filter((c) => !(String(c.accountId) === targetAccount && c.roleName === roleName)),
    { accountId: targetAccount, roleName: itRole },
  ];
  target.config[configKey("roleName")] = itRole;
  target.config[configKey("sourceStack")] = str(
    target.config[configKey("sourceStack")],
    TARGET_DEFAULTS.sourceStack,
  ).replace(/[^/]+$/, IT_STACKS.source);

  const files = [stackFilePath(IT_STACKS.source, root), stackFilePath(IT_STACKS.target, root)];
  fs.writeFileSync(files[0], `# Written by npm run test:integration; removed when it ends.\n${stringify(source)}`);
  fs.writeFileSync(files[1], `# Written by npm run test:integration; removed when it ends.\n${stringify(target)}`);
  return files;
}

const describe = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * The first failure, with the clean-up's after it: of its kind (a could-not-start, a failure, or a
 * bug, whose trace is kept), so its exit code is the first failure's.
 */
export function withCleanupFailure(first: unknown, cleanup: unknown): Error {
  const then = `Then the clean-up failed too, so the test stacks may be left (pulumi destroy them): ${describe(cleanup)}`;
  const text = `${describe(first)}\n${then}`;
  if (first instanceof UserError) return new UserError(text);
  if (first instanceof Failure) return new Failure(text);
  if (!(first instanceof Error)) return new Error(text);
  first.stack = `${first.stack ?? first.message}\n${then}`;
  return first;
}

/**
 * Deploy → verify → destroy, with destroy and stack removal always attempted. True when verify
 * passed. When something fails, that failure is reported first, then the clean-up's if it failed too.
 */
export async function runIntegration(ops: StackOps, io: DeployIo, verifyIt: () => Promise<boolean>): Promise<boolean> {
  const args = (action: Action): DeployArgs => ({
    action,
    stacks: [...SIDES],
    yes: true,
    stackNames: IT_STACKS,
  });
  let passed = false;
  let failed: { error: unknown } | undefined;
  try {
    await runDeploy(args("up"), ops, io);
    passed = await verifyIt();
  } catch (e) {
    failed = { error: e };
  }
  try {
    io.log("integration: destroying the test stacks");
    await runDeploy(args("destroy"), ops, io);
    for (const name of [IT_STACKS.target, IT_STACKS.source]) await ops.remove(name);
  } catch (e) {
    throw failed ? withCleanupFailure(failed.error, e) : e;
  }
  if (failed) throw failed.error;
  return passed;
}

/** The test itself, once it was asked for: deploy, verify and destroy the test stacks. */
export async function runIntegrationTest(io: ToolIo): Promise<void> {
  const { source, target } = itStacks();
  const b = preflight();
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the Automation API loads all of Pulumi: only once the checks passed
  const { automationOps } = require("../stacks/automation") as typeof import("../stacks/automation");
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the AWS SDK clients, likewise
  const verifyChecks = require("../verify/checks") as typeof import("../verify/checks");
  const { clientsFor, report, verifyWithStacks } = verifyChecks;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- zod, likewise
  const { readTargetOutputs } = require("../verify/target") as typeof import("../verify/target");
  const log = (line: string) => io.out(`${line}\n`);
  const ops = automationOps(b, (s) => io.out(s));
  const files = writeItStackFiles();
  try {
    const deployIo: DeployIo = {
      log,
      interactive: false,
      confirm: () => Promise.resolve(true),
      stack: (name) => Promise.resolve(name === "source" ? source : target),
      checkCredentials: (s) =>
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- the STS client, likewise
        (require("../stacks/credentials") as typeof import("../stacks/credentials")).checkStackCredentials(s),
      prepare: () => prepareBackend(b),
      now: () => Date.now(),
    };
    const passed = await runIntegration(ops, deployIo, async () => {
      const contract = validateContract(await ops.outputs(IT_STACKS.source));
      if (!contract.ok)
        throw new Failure(
          `the ${IT_STACKS.source} stack's outputs break the contract: ${contract.problems.join("; ")}`,
        );
      const tgt = readTargetOutputs(await ops.outputs(IT_STACKS.target));
      const checks = await verifyWithStacks(source, target, contract.contract, tgt, clientsFor(source, target), {
        waitSeconds: 900,
        pollSeconds: 15,
        sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
        now: () => Date.now(),
        log,
      });
      log(report(checks));
      return checks.every((c) => c.ok);
    });
    if (!passed) throw new Failure("verify failed (see the table above); the test stacks were destroyed");
    log("integration: passed");
  } finally {
    for (const f of files) fs.rmSync(f, { force: true });
  }
}
