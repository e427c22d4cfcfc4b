/**
 * `npm run test:integration`: deploys both stacks to real accounts, verifies, and always
 * destroys. Without CROSS_ACCOUNT_IT=1 it prints "skipped: <reason>" and exits 0. With it, stack
 * files that are broken or that name no profile per account stop it with exit 2. Never part of `npm test`.
 *
 * It uses its own stacks, it-source and it-target (config copied from Pulumi.source.yaml and
 * Pulumi.target.yaml, with protectData off so that destroy can finish), never yours.
 */
import { defineTool, EXIT, toolMain } from "../cli";

/** Why the test is skipped: only when it was not asked for. */
export function skipReason(env: NodeJS.ProcessEnv): string | undefined {
  return env.CROSS_ACCOUNT_IT === "1"
    ? undefined
    : "CROSS_ACCOUNT_IT is not 1 (set it to deploy both stacks to real accounts, verify, and destroy them)";
}

export const INTEGRATION_TOOL = defineTool({
  name: "test:integration",
  summary: "Deploys both stacks to real accounts as it-source and it-target, verifies, and always destroys them.",
  details:
    "Runs only with CROSS_ACCOUNT_IT=1 and aws:profile set in both stack files (one per account); otherwise prints why it skipped and exits 0.",
  options: {},
  async run(_args, io) {
    const reason = skipReason(io.env);
    if (reason) {
      io.out(`skipped: ${reason}\n`);
      return EXIT.ok;
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the test's steps load YAML, zod and the config rules: not for --help or a skip
    await (require("./flow") as typeof import("./flow")).runIntegrationTest(io);
    return EXIT.ok;
  },
});

if (require.main === module) toolMain(INTEGRATION_TOOL);
