/**
 * The deploy flow: credentials for every selected stack first, then each stack in order (`up`:
 * source then target; `destroy`: target then source), and the engine's errors turned into advice.
 */
import type { OpMap } from "@pulumi/pulumi/automation";
import { CommandError, ConcurrentUpdateError, StackNotFoundError } from "@pulumi/pulumi/automation/errors";
import { configKey, SIDES } from "../../program/project";
import { UserError } from "../../program/errors";
import { Failure } from "../cli";
import type { Identity } from "../stacks/credentials";
import type { StackInfo, StackName } from "../stacks/files";
import { Action, engineMessage, StackOps } from "../stacks/ops";

export type { Action, StackOps } from "../stacks/ops";

export interface DeployArgs {
  action: Action;
  stacks: StackName[];
  yes: boolean;
  /** The backend's names for the two stacks. Default: source and target. */
  stackNames?: Record<StackName, string>;
}

/** Which stacks a --stack value selects. */
export function selectStacks(value: string | undefined): StackName[] {
  if (value === undefined) return [...SIDES];
  const side = SIDES.find((s) => s === value);
  if (side === undefined) throw new UserError(`--stack = ${JSON.stringify(value)}: must be ${SIDES.join(" or ")}`);
  return [side];
}

export interface DeployIo {
  log(line: string): void;
  interactive: boolean;
  confirm(question: string): Promise<boolean>;
  /** The stack's settings (account, region, profile), read through the CLI so that secrets work. */
  stack(name: StackName): Promise<StackInfo>;
  checkCredentials(s: StackInfo): Promise<Identity>;
  /** Called once every check passed, before the first operation on a stack: the local backend's folder is made here. */
  prepare(): void;
  now(): number;
}

const describeChanges = (m: OpMap): string =>
  Object.entries(m)
    .filter(([, n]) => (n ?? 0) > 0)
    .map(([op, n]) => `${op} ${String(n)}`)
    .join(", ") || "no changes";

/**
 * Turns what the CLI reports into advice; never a stack trace. A stack that cannot be used
 * (busy, missing, wrong account, passphrase) could not start: UserError, exit 2. An operation
 * that ran and failed: Failure, exit 1. Anything else is not the engine's: it stays a bug.
 */
export function explain(e: unknown, name: StackName, action: Action): Error {
  if (e instanceof UserError || e instanceof Failure) return e;
  const text = e instanceof Error ? e.message : String(e);
  const verb = action === "up" ? "deploy" : "destroy";
  if (e instanceof ConcurrentUpdateError)
    return new UserError(
      `Another update is running on the ${name} stack. Wait for it, or run "pulumi cancel -s ${name}" if it died.`,
    );
  if (e instanceof StackNotFoundError)
    return new UserError(`The ${name} stack does not exist on this backend: nothing to ${verb}.`);
  if (!(e instanceof CommandError)) return e instanceof Error ? e : new Error(text);
  if (/protected/i.test(text) && action === "up") {
    return new Failure(
      `The update would delete or replace a protected resource of the ${name} stack (${configKey("protectData")} is on): ` +
        `renaming ${configKey("keyAlias")} or removing a sample file deletes one. Set ${configKey("protectData")}: false in Pulumi.${name}.yaml for that update, then turn it on again. (${engineMessage(e)})`,
    );
  }
  if (/protected/i.test(text) && action === "destroy") {
    return new Failure(
      `The ${name} stack has protected resources (${configKey("protectData")} is true by default, so the key and buckets survive a destroy). ` +
        `To delete them: set ${configKey("protectData")}: false in Pulumi.${name}.yaml, run "npm run deploy -- --stack ${name}", then "npm run destroy" again. ` +
        `The KMS key is then scheduled for deletion after its 30-day window.`,
    );
  }
  if (/account ID not allowed|allowed account|allowed_account_ids/i.test(text)) {
    return new UserError(
      `The ${name} stack's AWS credentials are for another account than aws:allowedAccountIds in Pulumi.${name}.yaml. Use that account's profile (aws:profile).`,
    );
  }
  if (/passphrase/i.test(text))
    return new UserError(
      `The backend could not decrypt the ${name} stack: check PULUMI_CONFIG_PASSPHRASE. (${engineMessage(e)})`,
    );
  if (
    /Pulumi\.[\w.-]+\.yaml|could not (read|parse|unmarshal)|yaml:/i.test(text) &&
    !/updating|creating|deleting/i.test(text)
  ) {
    return new UserError(`The Pulumi CLI cannot read the ${name} stack's config: ${engineMessage(e)}`);
  }
  return new Failure(
    `pulumi ${action} failed for the ${name} stack: ${engineMessage(e)}\nThe engine output above has the details.`,
  );
}

/** The flow: credentials for every selected stack first, then each stack in order. */
export async function runDeploy(args: DeployArgs, ops: StackOps, io: DeployIo): Promise<void> {
  if (!args.yes && !io.interactive)
    throw new UserError(
      `No terminal to confirm changes on: pass --yes to ${args.action === "up" ? "deploy" : "destroy"} without questions.`,
    );
  const deployOrder = args.action === "up" ? SIDES : [...SIDES].reverse();
  const order = deployOrder.filter((s) => args.stacks.includes(s));
  for (const name of order) {
    let info: StackInfo;
    try {
      info = await io.stack(name);
    } catch (e) {
      throw explain(e, name, args.action);
    }
    const who = await io.checkCredentials(info);
    io.log(`${name}: account ${who.account} as ${who.arn}`);
  }
  io.prepare();
  const real = (name: StackName): string => args.stackNames?.[name] ?? name;
  for (const name of order) {
    try {
      if (args.action === "up" && name === "target") {
        const src = await ops.outputs(real("source"));
        if (!src || Object.keys(src).length === 0) {
          throw new UserError(
            `The source stack has not been deployed on this backend, and the target reads its outputs. Run "npm run deploy -- --stack source" first (with account A's credentials).`,
          );
        }
      }
      if (!args.yes) {
        io.log(`${name}: previewing ${args.action}…`);
        const changes = await ops.preview(real(name), args.action);
        io.log(`${name}: preview: ${describeChanges(changes)}`);
        if (!(await io.confirm(`${args.action === "up" ? "Deploy" : "Destroy"} the ${name} stack? [y/N] `))) {
          io.log(`${name}: cancelled; nothing was changed${order.indexOf(name) > 0 ? ` on ${name}` : ""}.`);
          return;
        }
      }
      const started = io.now();
      const changes = await ops.run(real(name), args.action);
      io.log(
        `${name}: ${args.action} succeeded in ${Math.round((io.now() - started) / 1000)}s (${describeChanges(changes)})`,
      );
    } catch (e) {
      throw explain(e, name, args.action);
    }
  }
}
