/**
 * `npm run deploy` / `npm run destroy`: both stacks in the right order with the Pulumi Automation
 * API (LocalWorkspace over this project's folder). `up` runs source then target; `destroy` runs
 * target then source. Flags: --stack source|target for one stack, --yes for no questions.
 */
import * as readline from "readline";
import { defineTool, EXIT, toolMain } from "../cli";
import { prepareBackend, preflight } from "../stacks/backend";
import { checkSideConfig, readStack, stackInfoFrom, stackInfoThroughCli } from "../stacks/files";
import type { Action } from "../stacks/ops";
import { DeployArgs, runDeploy, selectStacks } from "./flow";

function ask(question: string): Promise<boolean> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
  return new Promise((resolve) =>
    rl.question(question, (answer) => {
      rl.close();
      resolve(/^y(es)?$/i.test(answer.trim()));
    }),
  );
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
      const files = new Map(args.stacks.map((name) => [name, readStack(name)]));
      // Bad config stops an up here, as the program would, rather than as a failed update (exit 1).
      // A file with secrets is checked once the CLI has decrypted them (stackInfoThroughCli).
      if (action === "up")
        for (const [side, read] of files) if (read.secrets.length === 0) checkSideConfig(read.config, side, read.label);
      const b = preflight();
      /* eslint-disable @typescript-eslint/no-require-imports -- the Automation API and the AWS SDK load all of Pulumi and more: only once the checks passed */
      const { automationOps } = require("../stacks/automation") as typeof import("../stacks/automation");
      const { checkStackCredentials } = require("../stacks/credentials") as typeof import("../stacks/credentials");
      /* eslint-enable @typescript-eslint/no-require-imports */
      const ops = automationOps(b, (s) => io.out(s));
      await runDeploy(args, ops, {
        log: (line) => io.out(`${line}\n`),
        interactive: Boolean(process.stdin.isTTY),
        confirm: ask,
        stack: async (name) => {
          const read = files.get(name) ?? readStack(name);
          // A file without secrets holds all the checks need; one with secrets is read through the CLI, which decrypts them.
          if (read.secrets.length === 0) return stackInfoFrom(name, read.file, read.config);
          prepareBackend(b);
          return stackInfoThroughCli(read, ops, action, action === "up");
        },
        checkCredentials: (s) => checkStackCredentials(s),
        prepare: () => prepareBackend(b),
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
