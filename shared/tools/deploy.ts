/**
 * `npm run deploy` / `npm run destroy`: both stacks in the right order with the Pulumi Automation
 * API (LocalWorkspace over this project's folder). `up` runs source then target; `destroy` runs
 * target then source. Flags: --stack source|target for one stack, --yes for no questions.
 */
import type { OpMap } from "@pulumi/pulumi/automation";
import { CommandError, ConcurrentUpdateError, StackNotFoundError } from "@pulumi/pulumi/automation/errors";
import * as path from "path";
import * as readline from "readline";
import { configKey } from "../program/project";
import { UserError } from "../program/errors";
import { defineTool, EXIT, Failure, toolMain } from "./cli";
import type { Identity } from "./credentials";
import { PROJECT_ROOT, SIDES } from "../program/project";
import {
  Backend,
  backend,
  checkPassphrase,
  checkPulumiCli,
  prepareBackend,
  stackInfo,
  StackInfo,
  stackInfoFrom,
  StackName,
} from "./workspace";

export type Action = "up" | "destroy";

export interface DeployArgs {
  action: Action;
  stacks: StackName[];
  yes: boolean;
  /** The backend's names for the two stacks. Default: source and target. */
  stackNames?: Record<StackName, string>;
}

/** The side's config checks, as its program runs them, naming the stack file. */
function checkSideConfig(info: StackInfo): void {
  const label = path.relative(PROJECT_ROOT, info.file) || info.file;
  try {
    /* eslint-disable @typescript-eslint/no-require-imports -- zod loads only once the arguments parsed */
    if (info.name === "source")
      (require("../../source-account/checks") as typeof import("../../source-account/checks")).checkSourceConfig(
        info.config,
      );
    else if (info.name === "target")
      (require("../program/config/target") as typeof import("../program/config/target")).parseTargetConfig(info.config);
    /* eslint-enable @typescript-eslint/no-require-imports */
  } catch (e) {
    throw e instanceof UserError ? new UserError(`${label}: ${e.message}`) : e;
  }
}

/** Which stacks a --stack value selects. */
export function selectStacks(value: string | undefined): StackName[] {
  if (value === undefined) return [...SIDES];
  if (value !== "source" && value !== "target")
    throw new UserError(`--stack = ${JSON.stringify(value)}: must be source or target`);
  return [value];
}

/** Stack operations, so the flows can be tested without a CLI. */
export interface StackOps {
  /** The stack's config as the Pulumi CLI reads it, secrets decrypted. */
  config(name: string, action: Action): Promise<Record<string, string>>;
  /** A deployed stack's outputs; undefined when the stack does not exist. */
  outputs(name: string): Promise<Record<string, unknown> | undefined>;
  preview(name: string, action: Action): Promise<OpMap>;
  run(name: string, action: Action): Promise<OpMap>;
  /** Deletes a stack (empty by then) and its Pulumi.<stack>.yaml from the backend. */
  remove(name: string): Promise<void>;
}

export interface DeployIo {
  log(line: string): void;
  interactive: boolean;
  confirm(question: string): Promise<boolean>;
  /** The stack's settings (account, region, profile), read through the CLI so that secrets work. */
  stack(name: StackName): Promise<StackInfo>;
  checkCredentials(s: StackInfo): Promise<Identity>;
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

/**
 * What the Pulumi CLI said, in at most three lines: a CommandError's stderr when it has one (its
 * message repeats stdout, stderr and the wrapped error), without stack frames.
 */
export function engineMessage(e: unknown): string {
  const stderr = (e as { commandResult?: { stderr?: unknown } } | undefined)?.commandResult?.stderr;
  const text = typeof stderr === "string" && stderr.trim() ? stderr : e instanceof Error ? e.message : String(e);
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("at "))
    .slice(-3)
    .join(" ");
}

/** The flow: credentials for every selected stack first, then each stack in order. */
export async function runDeploy(args: DeployArgs, ops: StackOps, io: DeployIo): Promise<void> {
  if (!args.yes && !io.interactive)
    throw new UserError(
      `No terminal to confirm changes on: pass --yes to ${args.action === "up" ? "deploy" : "destroy"} without questions.`,
    );
  const order = (args.action === "up" ? ["source", "target"] : ["target", "source"]).filter((s): s is StackName =>
    args.stacks.includes(s as StackName),
  );
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

function ask(question: string): Promise<boolean> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
  return new Promise((resolve) =>
    rl.question(question, (answer) => {
      rl.close();
      resolve(/^y(es)?$/i.test(answer.trim()));
    }),
  );
}

/** Everything the command checks before it touches a stack, in order. */
export function preflight(): Backend {
  checkPulumiCli();
  const b = backend();
  checkPassphrase(b);
  prepareBackend(b);
  return b;
}

export const deployTool = (action: Action) =>
  defineTool({
    name: action === "up" ? "deploy" : "destroy",
    summary:
      action === "up"
        ? "Deploys both stacks with the Automation API: source (account A), then target (account B)."
        : "Destroys both stacks with the Automation API: target (account B), then source (account A).",
    details:
      "Before any change it checks the Pulumi CLI, the backend's passphrase, and each stack's credentials against its aws:allowedAccountIds.",
    options: {
      stack: { type: "string", value: "source|target", description: "only this stack (default: both, in order)" },
      yes: { type: "boolean", short: "y", description: "no questions: needed without a terminal" },
    },
    async run(opts, io) {
      const args: DeployArgs = { action, stacks: selectStacks(opts.stack), yes: opts.yes === true };
      // Each stack's file first: a broken one is named before the CLI is even looked for.
      const files = new Map(args.stacks.map((name) => [name, stackInfo(name)]));
      // Bad config stops an up here, as the program would, rather than as a failed update (exit 1).
      // A file with secrets is left to the program: offline, its secret keys would read as unset.
      if (action === "up") for (const info of files.values()) if (!info.secrets?.length) checkSideConfig(info);
      const b = preflight();
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- the Automation API loads all of Pulumi: only once the checks passed
      const { automationOps } = require("./automation") as typeof import("./automation");
      const { checkStackCredentials } = require("./credentials") as typeof import("./credentials"); // eslint-disable-line @typescript-eslint/no-require-imports
      const ops = automationOps(b, (s) => io.out(s));
      await runDeploy(args, ops, {
        log: (line) => io.out(`${line}\n`),
        interactive: Boolean(process.stdin.isTTY),
        confirm: ask,
        stack: async (name) => {
          const file = files.get(name) ?? stackInfo(name);
          return stackInfoFrom(name, file.file, await ops.config(name, action));
        },
        checkCredentials: (s) => checkStackCredentials(s),
        now: () => Date.now(),
      });
      return EXIT.ok;
    },
  });

if (require.main === module) {
  const action = process.argv[2];
  if (action !== "up" && action !== "destroy") {
    process.stderr.write("usage: deploy.ts up|destroy [options]; run it as npm run deploy or npm run destroy\n");
    process.exitCode = EXIT.cannotStart;
  } else {
    toolMain(deployTool(action), process.argv.slice(3));
  }
}
