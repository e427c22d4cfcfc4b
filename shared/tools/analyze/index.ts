/**
 * `npm run analyze`: IAM Access Analyzer on the policies the program renders, planned offline
 * (nothing deployed): ValidatePolicy on each, CheckNoPublicAccess on the bucket and key policies,
 * CheckAccessNotGranted on the consumers' grants, and with --base CheckNoNewAccess against a git
 * revision's policies. Credentials of any account (the default chain, or --profile). Exit 0 when every check passes, 1 when one fails, 2 when it cannot start.
 */
import { UserError } from "../../program/errors";
import { defineTool, EXIT, Failure, toolMain, UsageError } from "../cli";
import { table } from "../cli/format";
import { CONFIG_OPTIONS, stackFiles } from "../plan/options";
import { planWithBase } from "../plan/plan";
import type { CheckResult } from "./checks";
import { ANALYZE_BILLING, ANALYZE_NEEDS } from "./needs";

export { ANALYZE_BILLING, ANALYZE_NEEDS } from "./needs";

export const summary = (checks: CheckResult[]): string => {
  const failed = checks.filter((c) => !c.ok).length;
  const skipped = checks.filter((c) => c.result === "skipped").length;
  const billed = checks.filter((c) => c.check !== "ValidatePolicy").reduce((n, c) => n + c.calls, 0);
  return (
    `IAM Access Analyzer: ${checks.length} checks, ${checks.length - failed - skipped} passed, ${failed} failed, ` +
    `${skipped} skipped; ${billed} billed custom policy check calls`
  );
};

/** The human report: one row per check and policy, then the summary line. */
export const humanReport = (checks: CheckResult[]): string =>
  [
    table(
      ["check", "policy", "result", "detail"],
      checks.map((c) => [c.check, c.policy, c.result, c.detail]),
    ),
    "",
    summary(checks),
  ].join("\n");

type Files = Parameters<typeof stackFiles>[0];

/** This checkout's plan, and with --base the base revision's: what the checks take. */
async function ownPlan(args: Files & { base?: string }, io: Parameters<typeof planWithBase>[2]) {
  const { report, deployment, base } = await planWithBase(stackFiles(args), args.base, io);
  return { report, contract: deployment.contract, base: base?.report };
}

/** Another revision's plan, read as data, with this checkout's plan as its base. */
async function headPlan(file: string, args: Files, io: Parameters<typeof planWithBase>[2]) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- zod: only once the arguments parsed
  const { readPlanArtifact } = require("../plan/artifact") as typeof import("../plan/artifact");
  const head = readPlanArtifact(file, "--head");
  const own = await planWithBase(stackFiles(args), undefined, io);
  return { report: head.report, contract: head.model.contract, base: own.report };
}

export const ANALYZE_TOOL = defineTool({
  name: "analyze",
  summary:
    "Runs IAM Access Analyzer's policy validation and custom policy checks on every policy the offline plan renders (nothing deployed).",
  details: [
    "Exit 1 means an ERROR or SECURITY_WARNING finding, a policy that may be public, or a consumer's grant of a write, delete or policy action.",
    ANALYZE_NEEDS,
    ANALYZE_BILLING,
  ].join("\n"),
  options: {
    ...CONFIG_OPTIONS,
    base: {
      type: "string",
      value: "REF",
      description:
        "also plan the git revision REF (its own code and stack files) and check each changed policy for new access against its version there (CheckNoNewAccess)",
    },
    head: {
      type: "string",
      value: "FILE",
      path: true,
      description:
        "check the policies of another revision's plan, read as data from its `plan --json` (plan/artifact.ts), against this checkout's (CheckNoNewAccess): the pull request review's mode, which runs none of that revision's code",
    },
    json: { type: "boolean", description: "print the checks as JSON instead of a table" },
    region: {
      type: "string",
      value: "REGION",
      description: "the region of the Access Analyzer endpoint (default: the source stack file's aws:region)",
    },
    profile: {
      type: "string",
      value: "NAME",
      description: "the AWS profile whose credentials call Access Analyzer (default: the default credential chain)",
    },
  },
  temp: (args) => (args.base === undefined ? "analyze" : "analyze --base"),
  async run(args, io) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- zod comes with the rules: only once the arguments parsed
    const { regionProblem } = require("../../program/config/rules") as typeof import("../../program/config/rules");
    const regionWrong = args.region === undefined ? undefined : regionProblem(args.region);
    if (regionWrong !== undefined) throw new UserError(`--region = ${JSON.stringify(args.region)}: ${regionWrong}`);
    if (args.head !== undefined && args.base !== undefined)
      throw new UsageError("--head and --base: give one (with --head, this checkout is the base)");
    const input = args.head === undefined ? await ownPlan(args, io) : await headPlan(args.head, args, io);
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the AWS SDK: only once the plan ran
    const checks = require("./checks") as typeof import("./checks");
    const region = args.region ?? input.report.source.region;
    const results = await checks.analyzePolicies(checks.analyzerClient(region, args.profile), {
      policies: checks.stackPolicies(input.report),
      accounts: { source: input.report.source.accountId, target: input.report.target.accountId },
      base: input.base && checks.stackPolicies(input.base),
      levels: checks.grantedLevels({ contract: input.contract, target: input.report.target }),
    });
    const credentials = args.profile ? `profile "${args.profile}"` : "the default credential chain";
    io.out(
      args.json
        ? `${JSON.stringify({ region, checks: results, summary: summary(results) }, null, 2)}\n`
        : `IAM Access Analyzer in ${region}, with ${credentials}, on the offline plan's policies:\n\n${humanReport(results)}\n`,
    );
    const failed = results.filter((c) => !c.ok).length;
    if (failed > 0)
      throw new Failure(`${failed} of ${results.length} checks failed (see the ${args.json ? "JSON" : "table"} above)`);
    return EXIT.ok;
  },
});

if (require.main === module) toolMain(ANALYZE_TOOL);
