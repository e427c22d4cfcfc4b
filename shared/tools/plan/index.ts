/**
 * `npm run plan`: runs both stacks offline under Pulumi mocks, from Pulumi.source.yaml and
 * Pulumi.target.yaml (or --source-config / --target-config), and proves who can read what.
 * No credentials and no Pulumi CLI. Exit 0: every case as expected; 1: a case is not; 2: bad input.
 */
import { defineTool, ExitCode, toolMain } from "../cli";
import type { PlanArtifact } from "./artifact";
import { CONFIG_OPTIONS, stackFiles } from "./options";
import { planWithBase } from "./plan";
import { exitCodeFor, humanReport, verdict } from "./report";

export const PLAN_TOOL = defineTool({
  name: "plan",
  summary: "Runs both stacks offline under Pulumi mocks and proves who can read what: no credentials, no Pulumi CLI.",
  details: "Exit 1 means a case of the access matrix, or a service's request, is not as expected.",
  options: {
    ...CONFIG_OPTIONS,
    base: {
      type: "string",
      value: "REF",
      description:
        "also plan the git revision REF, with its own code and stack files, and report what changed: access, then policies",
    },
    json: {
      type: "boolean",
      description:
        "print the report as JSON instead of tables, with the access model it evaluated (for review and analyze --head)",
    },
  },
  temp: (args) => (args.base === undefined ? "plan" : "plan --base"),
  async run(args, io): Promise<ExitCode> {
    const { report, deployment, base } = await planWithBase(stackFiles(args), args.base, io);
    const code = exitCodeFor(report.access, report.services);
    // The JSON carries what the matrix evaluated, so other code can evaluate it again (plan/artifact.ts).
    const artifact: PlanArtifact = {
      ...report,
      accessModel: { contract: deployment.contract, policies: deployment.policies },
    };
    if (!base) {
      io.out(`${args.json ? JSON.stringify(artifact, null, 2) : humanReport(report, deployment)}\n`);
      return code;
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy load, typed by the import type
    const { compare, humanChanges } = require("./changes") as typeof import("./changes");
    const changes = {
      ...compare(base.report, report, base.sha, base.ref),
      dependencies: base.dependencies,
    };
    io.out(
      `${args.json ? JSON.stringify({ ...artifact, changes }, null, 2) : `${humanChanges(changes, base.ref)}\n\n${verdict(report)}`}\n`,
    );
    return code;
  },
});

if (require.main === module) toolMain(PLAN_TOOL);
