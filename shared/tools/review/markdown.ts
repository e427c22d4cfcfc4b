/**
 * The access review as a PR comment: one lead line (who gains or loses which access, the analyzer's
 * verdict), the changes to what is Allowed as a table, and the rest (cases denied either way, lost
 * denies, passed checks, policy diffs, previews) counted and collapsed. Pure: no I/O.
 */
import type { AccessResult } from "../../offline/access";
import type { CheckResult } from "../analyze/checks";
import { type AccessChange, type Changes, principalsChanged } from "../plan/changes";
import { code, collapsed, fence, htmlCode, link, table } from "./escape";

export const REVIEW_MARKER = "<!-- access-review -->";
/** GitHub's comment maximum is 65,536 characters: some room for what posts it. */
export const DEFAULT_LIMIT = 65000;

export interface ReviewInput {
  /** What the PR is compared with, e.g. "main (3f2a9c81d0e4)": shown, so escaped. */
  baseLabel: string;
  changes: Changes;
  /** The PR's own matrix and service requests as evaluated: counts, and the cases not as expected. */
  head: { access: AccessResult[]; services: AccessResult[] };
  analyzer:
    | { status: "ran"; checks: CheckResult[] }
    | { status: "skipped"; reason: string }
    | { status: "failed"; message: string };
  /** The cloud previews' output, per stack, when the PR's preview jobs ran. */
  previews?: { stack: string; outcome: string; output: string }[];
  /** Where the whole output is (the workflow run), for anything cut to fit. */
  detailsUrl?: string;
}

/** A block of the comment, separated from the next by a blank line. */
interface Part {
  text: string;
  /** Cut first the highest: 2 diffs and previews, 1 other collapsed lists, 0 never cut whole. */
  rank: 0 | 1 | 2;
  /** What the note on cuts names, as Markdown. */
  label: string;
  /** A shorter version of a kept part: half its rows, half its message. */
  shorter?: () => Part;
}

/** Data shown in a line is kept to this many characters (a diff or preview has its own fence). */
const SHOWN = 300;
const shown = (text: string): string => {
  const chars = [...text];
  return chars.length > SHOWN ? `${chars.slice(0, SHOWN).join("")}…` : text;
};
const c = (text: string): string => code(shown(text));
const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** The first few, and how many more. */
function few(items: string[], n: number, render: (s: string) => string): string {
  const more = items.length > n ? `, and ${items.length - n} more` : "";
  return items.slice(0, n).map(render).join(", ") + more;
}

const isAllowedChange = (a: AccessChange): boolean => a.before === "Allowed" || a.after === "Allowed";

function accessLead(access: AccessChange[]): string {
  const { gain, lose } = principalsChanged(access);
  if (gain.length === 0 && lose.length === 0) return "No access changes";
  const actions = (principal: string, side: "before" | "after") => [
    ...new Set(access.filter((a) => a.principal === principal && a[side] === "Allowed").map((a) => a.action)),
  ];
  const who = (principals: string[], verb: string, side: "before" | "after") =>
    few(principals, 5, (p) => `${c(p)} ${verb} ${c(few(actions(p, side), 6, (s) => s))}`);
  return [gain.length > 0 ? who(gain, "gains", "after") : "", lose.length > 0 ? who(lose, "loses", "before") : ""]
    .filter(Boolean)
    .join("; ");
}

const checkCounts = (checks: CheckResult[]) => {
  const failed = checks.filter((k) => !k.ok).length;
  const skipped = checks.filter((k) => k.ok && k.result === "skipped").length;
  return { failed, skipped, passed: checks.length - failed - skipped };
};

function analyzerLead(analyzer: ReviewInput["analyzer"]): string {
  if (analyzer.status === "skipped") return `IAM Access Analyzer skipped: ${c(analyzer.reason)}`;
  if (analyzer.status === "failed") return "IAM Access Analyzer could not run";
  const { failed, skipped, passed } = checkCounts(analyzer.checks);
  return `IAM Access Analyzer: ${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ""}`;
}

/** A kept table that, as a last resort, loses half its rows at a time. */
function rowsPart(intro: string, header: string[], rows: string[][], label: string, keep = rows.length): Part {
  const left = rows.length - keep;
  const text = [intro, table(header, rows.slice(0, keep)), ...(left > 0 ? [`… and ${left} more rows.`] : [])];
  return {
    text: text.filter(Boolean).join("\n\n"),
    rank: 0,
    label,
    shorter: keep > 1 ? () => rowsPart(intro, header, rows, label, Math.floor(keep / 2)) : undefined,
  };
}

/** A kept text fence that, as a last resort, loses the second half of its text. */
function fencePart(intro: string, text: string, label: string): Part {
  return {
    text: `${intro}\n\n${fence(text, "text")}`,
    rank: 0,
    label,
    shorter:
      text.length > 1 ? () => fencePart(intro, `${text.slice(0, Math.floor(text.length / 2))}\n…`, label) : undefined,
  };
}

const CHANGE_HEADER = ["case", "principal", "action", "resource", "before", "after"];
const changeRow = (a: AccessChange): string[] => [a.case, a.principal, a.action, a.resource, a.before, a.after];

function headParts(head: ReviewInput["head"]): Part[] {
  const cases = [...head.access, ...head.services];
  const bad = cases.filter((r) => !r.ok);
  const counts = `${plural(head.access.length, "access case")} and ${plural(head.services.length, "service request")}`;
  if (bad.length === 0) return [{ text: `This PR's own cases: ${counts}, all as expected.`, rank: 0, label: "" }];
  return [
    rowsPart(
      `**Failing:** ${bad.length} of this PR's own cases (${counts}) ${bad.length === 1 ? "is" : "are"} not as expected.`,
      ["case", "principal", "action", "resource", "expected", "result", "source side alone"],
      bad.map((r) => [r.case, r.principal, r.action, r.resource, r.expected, r.result, r.sourceSideAlone ?? ""]),
      "rows of the cases not as expected",
    ),
  ];
}

function accessParts(changes: Changes): Part[] {
  const allowed = changes.access.filter(isAllowedChange);
  const denied = changes.access.filter((a) => !isAllowedChange(a));
  const parts: Part[] = [{ text: "#### Access", rank: 0, label: "" }];
  if (allowed.length > 0)
    parts.push(
      rowsPart(
        `${plural(allowed.length, "case")} became or stopped being Allowed:`,
        CHANGE_HEADER,
        allowed.map(changeRow),
        "rows of the table of Allowed changes",
      ),
    );
  else parts.push({ text: "No case became or stopped being Allowed.", rank: 0, label: "" });
  if (denied.length > 0) {
    const what = `${plural(denied.length, "case")} changed but ${denied.length === 1 ? "stays" : "stay"} denied`;
    parts.push({ text: `${what} (a case added or removed, denied either way).`, rank: 0, label: "" });
    parts.push({
      text: collapsed(what, table(CHANGE_HEADER, denied.map(changeRow))),
      rank: 1,
      label: "the cases denied either way",
    });
  }
  if (changes.weakened.length > 0) {
    const what = `${plural(changes.weakened.length, "explicit deny", "explicit denies")} lost`;
    parts.push({
      text: `**${what}**: still denied, by something else, but a guard rail is gone.`,
      rank: 0,
      label: "",
    });
    const rows = changes.weakened.map((a) => [a.case, a.principal, a.action, a.resource]);
    parts.push({
      text: collapsed(what, table(["case", "principal", "action", "resource"], rows)),
      rank: 1,
      label: "the lost explicit denies",
    });
  }
  return parts;
}

function analyzerParts(analyzer: ReviewInput["analyzer"]): Part[] {
  const heading: Part = { text: "#### IAM Access Analyzer", rank: 0, label: "" };
  if (analyzer.status === "skipped") return [heading, { text: `Skipped: ${c(analyzer.reason)}`, rank: 0, label: "" }];
  if (analyzer.status === "failed")
    return [heading, fencePart("Could not run:", analyzer.message, "the end of the analyzer's error")];
  const failed = analyzer.checks.filter((k) => !k.ok);
  const rest = analyzer.checks.filter((k) => k.ok);
  const parts = [heading];
  if (failed.length > 0)
    parts.push(
      rowsPart(
        `${plural(failed.length, "check")} failed:`,
        ["check", "policy", "result", "detail"],
        failed.map((k) => [k.check, k.policy, k.result, k.detail]),
        "rows of the failed checks",
      ),
    );
  else parts.push({ text: "No check failed.", rank: 0, label: "" });
  if (rest.length > 0) {
    const { passed, skipped } = checkCounts(rest);
    const what = `${plural(passed, "check")} passed${skipped > 0 ? `, ${skipped} skipped` : ""}`;
    parts.push({
      text: collapsed(
        what,
        table(
          ["check", "policy", "result", "detail"],
          rest.map((k) => [k.check, k.policy, k.result, k.detail]),
        ),
      ),
      rank: 1,
      label: "the list of passed checks",
    });
  }
  return parts;
}

function policyParts(changes: Changes): Part[] {
  if (changes.policies.length === 0) return [{ text: "No policy changes.", rank: 0, label: "" }];
  return [
    { text: `#### Policy changes (${changes.policies.length})`, rank: 0, label: "" },
    ...changes.policies.map((p): Part => ({
      text: collapsed(htmlCode(shown(p.policy)), fence(p.diff, "diff")),
      rank: 2,
      label: `the diff of ${c(p.policy)}`,
    })),
  ];
}

function previewParts(previews: NonNullable<ReviewInput["previews"]>): Part[] {
  if (previews.length === 0) return [];
  return [
    { text: "#### Cloud previews", rank: 0, label: "" },
    ...previews.map((p): Part => ({
      text: collapsed(`${htmlCode(shown(p.stack))}: ${htmlCode(shown(p.outcome))}`, fence(p.output, "text")),
      rank: 2,
      label: `the preview of ${c(p.stack)}`,
    })),
  ];
}

function cutNote(cut: string[], detailsUrl: string | undefined, limit: number): string {
  const where = detailsUrl
    ? `The whole output: ${link("the workflow run", detailsUrl)}.`
    : "The workflow run's log has the whole output.";
  return `**Cut to fit a comment (${limit} characters):** ${few(cut, 10, (s) => s)}. ${where}`;
}

function assemble(lead: string, parts: Part[], cut: string[], input: ReviewInput, limit: number): string {
  const blocks = [lead, ...parts.map((p) => p.text)];
  if (cut.length > 0) blocks.push(cutNote(cut, input.detailsUrl, limit));
  return `${REVIEW_MARKER}\n${blocks.join("\n\n")}\n`;
}

/** The comment's Markdown: starts with REVIEW_MARKER on its own line; at most `limit` characters. */
export function reviewMarkdown(input: ReviewInput, limit = DEFAULT_LIMIT): string {
  const lead = `**Access review** against ${c(input.baseLabel)}: ${accessLead(input.changes.access)}. ${analyzerLead(input.analyzer)}.`;
  let parts = [
    ...headParts(input.head),
    ...accessParts(input.changes),
    ...analyzerParts(input.analyzer),
    ...policyParts(input.changes),
    ...previewParts(input.previews ?? []),
  ];
  const cut: string[] = [];
  for (;;) {
    const out = assemble(lead, parts, cut, input, limit);
    if (out.length <= limit) return out;
    // The largest of the highest rank goes first: whole collapsed blocks, never a piece of one.
    const byCut = (a: Part, b: Part) => b.rank - a.rank || b.text.length - a.text.length;
    const whole = [...parts].filter((p) => p.rank > 0).sort(byCut)[0];
    if (whole) {
      cut.push(whole.label);
      parts = parts.filter((p) => p !== whole);
      continue;
    }
    const longest = [...parts].filter((p) => p.shorter).sort(byCut)[0];
    if (!longest?.shorter) break;
    if (!cut.includes(longest.label)) cut.push(longest.label);
    const shorter = longest.shorter();
    parts = parts.map((p) => (p === longest ? shorter : p));
  }
  const minimal = assemble(lead, [], ["everything after the lead line"], input, limit);
  if (minimal.length > limit) throw new RangeError(`a limit of ${limit} characters cannot hold the review's lead line`);
  return minimal;
}
