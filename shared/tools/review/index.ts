/**
 * `npm run review`: a pull request's access review, written by this checkout's code (the default
 * branch's, in CI) from the pull request's plan read as data (`plan --json`): its access model is
 * evaluated again here, compared with this checkout's own plan, and printed as the PR comment's
 * Markdown, with the analyzer's result and the previews' output. Nothing of the PR's code runs.
 * Exit 0: the PR's cases are as expected and the analyzer passed or was skipped; 1: not; 2: bad input.
 */
import { spawnSync } from "child_process";
import { PROJECT_ROOT } from "../../program/project";
import { defineTool, EXIT, ExitCode, toolMain, UsageError } from "../cli";
import { CONFIG_OPTIONS, stackFiles } from "../plan/options";

/** The checkout's commit, for the comment's base label; undefined outside a git checkout. */
function checkoutSha(cwd: string): string | undefined {
  const r = spawnSync("git", ["rev-parse", "HEAD"], { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  return r.status === 0 && /^[0-9a-f]{40}$/.test(r.stdout.trim()) ? r.stdout.trim() : undefined;
}

export const REVIEW_TOOL = defineTool({
  name: "review",
  summary:
    "Writes a pull request's access review (Markdown) from its plan's JSON, read as data and evaluated again with this checkout's code.",
  details:
    "Exit 1 means a case of the pull request's access matrix is not as expected, or the analyzer failed or found a problem.",
  options: {
    ...CONFIG_OPTIONS,
    head: {
      type: "string",
      value: "FILE",
      path: true,
      description: "the pull request's plan: what `npm run plan -- --json` printed there (required)",
    },
    "base-name": {
      type: "string",
      value: "NAME",
      description: 'what this checkout is, in the comment (default "this checkout"), e.g. the default branch\'s name',
    },
    analyzer: {
      type: "string",
      value: "DIR",
      path: true,
      description:
        "the analyze job's folder: its exit status, `analyze --head --json` output and stderr (absent: the analyzer did not run)",
    },
    previews: {
      type: "string",
      value: "DIR",
      path: true,
      description: "a folder of preview-<stack> folders, each with the cloud preview's outcome and output",
    },
    "details-url": {
      type: "string",
      value: "URL",
      description: "where the whole output is (the workflow run): linked when the comment is cut to fit",
    },
  },
  async run(args, io): Promise<ExitCode> {
    /* eslint-disable @typescript-eslint/no-require-imports -- zod and the simulator: only once the arguments parsed */
    if (args.head === undefined) throw new UsageError("--head FILE is required: the pull request's plan JSON");
    if (args["details-url"] !== undefined && !/^https:\/\/[^\s<>"'`]+$/.test(args["details-url"]))
      throw new UsageError(`--details-url = ${JSON.stringify(args["details-url"])}: must be an https URL`);
    const { readPlanArtifact } = require("../plan/artifact") as typeof import("../plan/artifact");
    const { readAnalyzer, readPreviews } = require("./inputs") as typeof import("./inputs");
    const head = readPlanArtifact(args.head, "--head");
    const analyzer = readAnalyzer(args.analyzer);
    const previews = readPreviews(args.previews);
    const { evaluateModel, plan } = require("../plan/plan") as typeof import("../plan/plan");
    const { compare } = require("../plan/changes") as typeof import("../plan/changes");
    const { reviewMarkdown } = require("./markdown") as typeof import("./markdown");
    /* eslint-enable @typescript-eslint/no-require-imports */
    const files = stackFiles(args);
    const base = await plan({ sourceConfig: files.source, targetConfig: files.target, cwd: io.cwd });
    const report = { ...head.report, ...(await evaluateModel(head.model)) };
    const name = args["base-name"] ?? "this checkout";
    const sha = checkoutSha(PROJECT_ROOT) ?? "unknown";
    io.out(
      `${reviewMarkdown({
        baseLabel: `${name} (${sha.slice(0, 12)})`,
        changes: compare(base.report, report, sha, name, "this pull request"),
        head: report,
        analyzer,
        previews,
        detailsUrl: args["details-url"],
      })}\n`,
    );
    const asExpected = [...report.access, ...report.services].every((r) => r.ok);
    const analyzerOk =
      analyzer.status === "skipped" || (analyzer.status === "ran" && analyzer.checks.every((c) => c.ok));
    return asExpected && analyzerOk ? EXIT.ok : EXIT.failed;
  },
});

if (require.main === module) toolMain(REVIEW_TOOL);
