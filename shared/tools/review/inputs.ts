/**
 * What the review reads besides the pull request's plan, all as data: the analyzer's result (the
 * analyze job's `analyze --json` output and exit status) and the cloud previews' output.
 */
import * as fs from "fs";
import * as path from "path";
import { z } from "zod";
import { UserError } from "../../program/errors";
import { SIDES } from "../../program/project";
import type { ReviewInput } from "./markdown";

/** A preview's output beyond this is cut: the workflow run keeps the whole of it. */
export const MAX_PREVIEW_BYTES = 256 * 1024;

/** The files the analyze job leaves in its folder. */
export const ANALYZER_FILES = { exit: "exit", out: "analyze.json", err: "stderr" } as const;
/** The files a preview job leaves in its folder, `preview-<stack>`. */
export const PREVIEW_FILES = { outcome: "outcome", output: "output.txt" } as const;

const checkResult = z.object({
  check: z.enum(["ValidatePolicy", "CheckNoPublicAccess", "CheckAccessNotGranted", "CheckNoNewAccess"]),
  stack: z.enum(SIDES),
  where: z.string(),
  policy: z.string(),
  result: z.enum(["pass", "fail", "new", "skipped"]),
  ok: z.boolean(),
  detail: z.string(),
  calls: z.number().int().nonnegative(),
});
const analyzeJson = z.object({ checks: z.array(checkResult) });

/** Reads at most `max` bytes of a file as UTF-8; undefined when it does not exist. */
function head(file: string, max: number): string | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch {
    return undefined;
  }
  try {
    const buffer = Buffer.alloc(max);
    const n = fs.readSync(fd, buffer, 0, max, 0);
    return buffer.subarray(0, n).toString("utf8");
  } finally {
    fs.closeSync(fd);
  }
}

/** The last non-empty lines of a text: where a tool's one-sentence error is. */
const lastLines = (text: string, n: number): string =>
  text
    .split("\n")
    .map((l) => l.trimEnd())
    .filter((l) => l !== "")
    .slice(-n)
    .join("\n");

/**
 * The analyzer's part of the review. No folder: it did not run (no role configured). Exit 0 or 1
 * with its JSON: its checks. Anything else: it could not run, and its last words say why.
 */
export function readAnalyzer(dir: string | undefined): ReviewInput["analyzer"] {
  if (dir === undefined || !fs.existsSync(dir))
    return {
      status: "skipped",
      reason:
        "no analyzer result: the analyze job did not run (set the variable AWS_ANALYZER_ROLE_ARN in the access-analyzer environment)",
    };
  const exit = head(path.join(dir, ANALYZER_FILES.exit), 16)?.trim();
  const err = lastLines(head(path.join(dir, ANALYZER_FILES.err), 64 * 1024) ?? "", 3);
  if (exit !== "0" && exit !== "1")
    return { status: "failed", message: `analyze exited ${exit || "without a status"}${err ? `: ${err}` : ""}` };
  let json: unknown;
  try {
    json = JSON.parse(head(path.join(dir, ANALYZER_FILES.out), 16 * 1024 * 1024) ?? "");
  } catch {
    return { status: "failed", message: `analyze exited ${exit} without its JSON${err ? `: ${err}` : ""}` };
  }
  const checked = analyzeJson.safeParse(json);
  if (!checked.success) return { status: "failed", message: "analyze's JSON is not the shape this review reads" };
  return { status: "ran", checks: checked.data.checks };
}

/** Each preview job's outcome and output, from folders named `preview-<stack>` (as the artifacts download). */
export function readPreviews(dir: string | undefined): NonNullable<ReviewInput["previews"]> {
  if (dir === undefined) return [];
  if (!fs.existsSync(dir)) throw new UserError(`--previews ${dir}: no such folder`);
  return SIDES.flatMap((stack) => {
    const folder = path.join(dir, `preview-${stack}`);
    if (!fs.existsSync(folder)) return [];
    const outcome = (head(path.join(folder, PREVIEW_FILES.outcome), 32) ?? "").trim();
    const raw = head(path.join(folder, PREVIEW_FILES.output), MAX_PREVIEW_BYTES + 1) ?? "";
    const output =
      raw.length > MAX_PREVIEW_BYTES
        ? `${raw.slice(0, MAX_PREVIEW_BYTES)}\n... cut at ${MAX_PREVIEW_BYTES} bytes: the workflow run has the whole output`
        : raw;
    return [{ stack, outcome: /^[a-z]+$/.test(outcome) ? outcome : "unknown", output }];
  });
}
