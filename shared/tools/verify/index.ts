/**
 * `npm run verify`: after a deploy, proves in the real accounts that the cross-account copy
 * happened, and that nobody else can read. Credentials come from each stack's aws:profile, or
 * the environment. Exit 0 when every check that ran passes, 1 when one fails, 2 when it cannot start;
 * with only one account's credentials, the other account's checks are skipped and said so.
 */
import { UserError } from "../../program/errors";
import { defineTool, EXIT, Failure, toolMain, wholeNumber } from "../cli";
import { prepareBackend, preflight } from "../stacks/backend";
import { engineMessage } from "../stacks/ops";
import { readStack, stackInfoFrom, stackInfoThroughCli } from "../stacks/files";

/** Reads a stack's outputs; a backend or CLI failure says which stack and why, never a trace. */
async function outputsOf(
  read: (name: string) => Promise<Record<string, unknown> | undefined>,
  name: string,
): Promise<Record<string, unknown> | undefined> {
  try {
    return await read(name);
  } catch (e) {
    throw new UserError(`Cannot read the ${name} stack's outputs from the backend: ${engineMessage(e)}`);
  }
}

export const VERIFY_TOOL = defineTool({
  name: "verify",
  summary:
    "After a deploy, proves in the real accounts that the cross-account copy happened, and that nobody else can read.",
  details:
    "Credentials come from each stack's aws:profile, or the environment. Exit 1 means a check failed; with one account's credentials only, the other's checks are skipped.",
  options: {
    wait: {
      type: "string",
      value: "SECONDS",
      description: "how long to wait for the instance's boot marker (default 600)",
    },
  },
  async run(args, io) {
    const waitSeconds = wholeNumber(args.wait ?? "600", "--wait", "must be a whole number of seconds");
    const files = { source: readStack("source"), target: readStack("target") };
    const b = preflight();
    prepareBackend(b);
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the Automation API loads all of Pulumi: only once the checks passed
    const { automationOps } = require("../stacks/automation") as typeof import("../stacks/automation");
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the AWS SDK clients: only once the checks passed
    const verifyChecks = require("./checks") as typeof import("./checks");
    const { clientsFor, failed, report, verifyWithStacks } = verifyChecks;
    const ops = automationOps(b, () => undefined);
    // A file with secrets is read through the CLI, which decrypts them; "destroy" selects a stack, never creates one.
    const [source, target] = await Promise.all(
      [files.source, files.target].map((f) =>
        f.secrets.length > 0
          ? stackInfoThroughCli(f, ops, "destroy", false).catch((e: unknown) => {
              if (e instanceof UserError) throw e;
              throw new UserError(
                `Cannot read the ${f.name} stack's config through the Pulumi CLI: ${engineMessage(e)}`,
              );
            })
          : Promise.resolve(stackInfoFrom(f.name, f.file, f.config)),
      ),
    );
    const read = (name: string) => outputsOf((n) => ops.outputs(n), name);
    const sourceOutputs = await read("source");
    if (!sourceOutputs)
      throw new UserError("The source stack has not been deployed on this backend: deploy it first (npm run deploy).");
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- zod: only once the checks passed
    const { validateContract } = require("../../program/contract") as typeof import("../../program/contract");
    const contract = validateContract(sourceOutputs);
    if (!contract.ok)
      throw new UserError(
        `The source stack's outputs are missing or invalid (${contract.problems.join("; ")}): deploy it first (npm run deploy).`,
      );
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- zod, likewise
    const { readTargetOutputs } = require("./target") as typeof import("./target");
    const tgt = readTargetOutputs(await read("target"));
    const checks = await verifyWithStacks(source, target, contract.contract, tgt, clientsFor(source, target), {
      waitSeconds,
      pollSeconds: 15,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      now: () => Date.now(),
      log: (line) => io.out(`${line}\n`),
    });
    io.out(`${report(checks)}\n`);
    const ran = checks.filter((c) => c.skipped === undefined);
    if (checks.some(failed))
      throw new Failure(`${checks.filter(failed).length} of ${ran.length} checks failed (see the table above)`);
    return EXIT.ok;
  },
});

if (require.main === module) toolMain(VERIFY_TOOL);
