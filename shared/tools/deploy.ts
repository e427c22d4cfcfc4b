/**
 * `npm run deploy` / `npm run destroy`: both stacks in the right order with the Pulumi Automation
 * API (LocalWorkspace over this project's folder). `up` runs source then target; `destroy` runs
 * target then source. Flags: --stack source|target for one stack, --yes for no questions.
 */
import * as readline from "readline";
import { CommandError, ConcurrentUpdateError, LocalWorkspace, OpMap, Stack, StackNotFoundError } from "@pulumi/pulumi/automation";
import { key, PROJECT_ROOT } from "../config";
import { UserError } from "../errors";
import { checkStackCredentials, Identity } from "./credentials";
import { Backend, backend, checkPassphrase, checkPulumiCli, prepareBackend, stackInfo, StackInfo, StackName, STACKS } from "./workspace";

export type Action = "up" | "destroy";

export interface DeployArgs {
  action: Action;
  stacks: StackName[];
  yes: boolean;
  /** The backend's names for the two stacks. Default: source and target. */
  stackNames?: Record<StackName, string>;
}

const usage = (action: Action) => `usage: npm run ${action === "up" ? "deploy" : "destroy"} -- [--stack source|target] [--yes]`;

export function parseDeployArgs(action: Action, argv: string[]): DeployArgs {
  const args: DeployArgs = { action, stacks: [...STACKS], yes: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--yes" || a === "-y") args.yes = true;
    else if (a === "--stack") {
      const s = argv[++i];
      if (s !== "source" && s !== "target") throw new UserError(`--stack takes source or target, not ${JSON.stringify(s ?? "")}\n${usage(action)}`);
      args.stacks = [s];
    } else throw new UserError(`unknown argument ${a}\n${usage(action)}`);
  }
  return args;
}

/** Stack operations, so the flows can be tested without a CLI. */
export interface StackOps {
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
  stack(name: StackName): StackInfo;
  checkCredentials(s: StackInfo): Promise<Identity>;
  now(): number;
}

const describeChanges = (m: OpMap): string =>
  Object.entries(m)
    .filter(([, n]) => (n ?? 0) > 0)
    .map(([op, n]) => `${op} ${String(n)}`)
    .join(", ") || "no changes";

/** Turns what the CLI reports into advice; never a stack trace. */
export function explain(e: unknown, name: StackName, action: Action): Error {
  if (e instanceof UserError) return e;
  const text = e instanceof Error ? e.message : String(e);
  const verb = action === "up" ? "deploy" : "destroy";
  if (e instanceof ConcurrentUpdateError)
    return new UserError(`Another update is running on the ${name} stack. Wait for it, or run "pulumi cancel -s ${name}" if it died.`);
  if (e instanceof StackNotFoundError) return new UserError(`The ${name} stack does not exist on this backend: nothing to ${verb}.`);
  if (/protected/i.test(text) && action === "destroy") {
    return new UserError(
      `The ${name} stack has protected resources (${key("protectData")} is true by default, so the key and buckets survive a destroy). ` +
        `To delete them: set ${key("protectData")}: false in Pulumi.${name}.yaml, run "npm run deploy -- --stack ${name}", then "npm run destroy" again. ` +
        `The KMS key is then scheduled for deletion after its 30-day window.`,
    );
  }
  if (/account ID not allowed|allowed account|allowed_account_ids/i.test(text)) {
    return new UserError(
      `The ${name} stack's AWS credentials are for another account than aws:allowedAccountIds in Pulumi.${name}.yaml. Use that account's profile (aws:profile).`,
    );
  }
  if (/passphrase/i.test(text)) return new UserError(`The backend could not decrypt the ${name} stack: check PULUMI_CONFIG_PASSPHRASE. (${lastLine(text)})`);
  if (e instanceof CommandError)
    return new UserError(`pulumi ${action} failed for the ${name} stack: ${lastLine(text)}\nThe engine output above has the details.`);
  return new UserError(`${verb} failed for the ${name} stack: ${text}`);
}

const lastLine = (text: string): string =>
  text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("at "))
    .slice(-3)
    .join(" ");

/** The flow: credentials for every selected stack first, then each stack in order. */
export async function runDeploy(args: DeployArgs, ops: StackOps, io: DeployIo): Promise<void> {
  if (!args.yes && !io.interactive)
    throw new UserError(`No terminal to confirm changes on: pass --yes to ${args.action === "up" ? "deploy" : "destroy"} without questions.`);
  const order = (args.action === "up" ? ["source", "target"] : ["target", "source"]).filter((s): s is StackName => args.stacks.includes(s as StackName));
  for (const name of order) {
    const who = await io.checkCredentials(io.stack(name));
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
      io.log(`${name}: ${args.action} succeeded in ${Math.round((io.now() - started) / 1000)}s (${describeChanges(changes)})`);
    } catch (e) {
      throw explain(e, name, args.action);
    }
  }
}

/** The real StackOps: LocalWorkspace over this folder, streaming the engine's output. */
export function automationOps(b: Backend, onOutput: (s: string) => void): StackOps {
  const opts = { envVars: { PULUMI_BACKEND_URL: b.url } };
  const open = (name: string): Promise<Stack> => LocalWorkspace.createOrSelectStack({ stackName: name, workDir: PROJECT_ROOT }, opts);
  return {
    async outputs(name) {
      try {
        const s = await LocalWorkspace.selectStack({ stackName: name, workDir: PROJECT_ROOT }, opts);
        return Object.fromEntries(Object.entries(await s.outputs()).map(([k, v]) => [k, v.value]));
      } catch (e) {
        if (e instanceof StackNotFoundError) return undefined;
        throw e;
      }
    },
    async preview(name, action) {
      const s = await open(name);
      if (action === "up") return (await s.preview({ onOutput })).changeSummary;
      return (await s.previewDestroy({ onOutput })).changeSummary;
    },
    async run(name, action) {
      const s = await open(name);
      const r = action === "up" ? await s.up({ onOutput }) : await s.destroy({ onOutput });
      return r.summary.resourceChanges ?? {};
    },
    async remove(name) {
      await (await open(name)).workspace.removeStack(name);
    },
  };
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

export async function main(action: Action, argv: string[]): Promise<void> {
  const args = parseDeployArgs(action, argv);
  const b = preflight();
  await runDeploy(
    args,
    automationOps(b, (s) => process.stdout.write(s)),
    {
      log: (line) => console.log(line),
      interactive: Boolean(process.stdin.isTTY),
      confirm: ask,
      stack: (name) => stackInfo(name),
      checkCredentials: (s) => checkStackCredentials(s),
      now: () => Date.now(),
    },
  );
}

/** Runs a tool's main: a UserError prints its message and exits 1, never a stack trace. */
export function runTool(name: string, f: () => Promise<void>): void {
  f().then(
    () => undefined,
    (e: unknown) => {
      if (e instanceof UserError) process.stderr.write(`${name}: ${e.message}\n`);
      else process.stderr.write(`${name}: unexpected failure: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}

if (require.main === module) {
  const action = process.argv[2];
  if (action !== "up" && action !== "destroy") {
    process.stderr.write("usage: deploy.ts up|destroy [--stack source|target] [--yes]\n");
    process.exitCode = 2;
  } else {
    runTool(action === "up" ? "deploy" : "destroy", () => main(action, process.argv.slice(3)));
  }
}
