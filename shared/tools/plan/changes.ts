/**
 * What changed between two plans: the cases whose answer changed (Allowed, Denied, or absent from
 * one side), the principals that gain or lose access, and a unified diff of each policy that changed.
 */
import { createTwoFilesPatch } from "diff";
import { generatedPolicies } from "../../offline/access/capture";
import type { Dependencies } from "./base-tree";
import type { PlanReport } from "./report";
import { table } from "../cli/format";

export type Answer = "Allowed" | "Denied" | "absent";

export interface AccessChange {
  case: string;
  principal: string;
  action: string;
  resource: string;
  before: Answer;
  after: Answer;
}

export interface PolicyChange {
  /** The stack, the resource's type and name, and the field: "source aws:kms/key:Key <name> policy". */
  policy: string;
  diff: string;
}

export interface Changes {
  base: string;
  access: AccessChange[];
  /** Cases denied on both sides that lost their explicit deny: a guard rail gone, though something else still denies. */
  weakened: AccessChange[];
  policies: PolicyChange[];
  /** The base's node_modules: this checkout's ("shared", equal lockfiles) or its own ("own", npm ci in its tree). */
  dependencies?: Dependencies;
}

type Row = PlanReport["access"][number];

const caseKey = (r: Row): string => JSON.stringify([r.case, r.principal, r.action, r.resource]);

/** The name a consumer's case takes in the changes for its evaluation on the source side alone. */
export const SOURCE_SIDE_ALONE = "(source side alone)";

const hasSourceSide = (report: PlanReport): boolean => report.access.some((r) => r.sourceSideAlone !== undefined);

/**
 * Every case of a plan, the matrix's and the services', by case, principal, action and resource; with
 * `sourceSide`, a consumer's case once more, as answered on the source side alone.
 */
function answers(report: PlanReport, sourceSide = false): Map<string, { row: Row; answer: Answer }> {
  const out = new Map<string, { row: Row; answer: Answer }>();
  const add = (row: Row) => {
    const key = caseKey(row);
    if (out.has(key)) throw new Error(`two cases of one plan share a name, principal, action and resource: ${key}`);
    out.set(key, { row, answer: row.result === "Allowed" ? "Allowed" : "Denied" });
  };
  for (const row of [...report.access, ...report.services]) {
    add(row);
    if (sourceSide && row.sourceSideAlone !== undefined)
      add({ ...row, case: `${row.case} ${SOURCE_SIDE_ALONE}`, result: row.sourceSideAlone });
  }
  return out;
}

/** Both plans' answers; the source side's too when both evaluated it (a base from before it would list every case). */
function bothAnswers(base: PlanReport, head: PlanReport) {
  const sourceSide = hasSourceSide(base) && hasSourceSide(head);
  return { before: answers(base, sourceSide), after: answers(head, sourceSide) };
}

const change = (row: Row, before: Answer, after: Answer): AccessChange => ({
  case: row.case,
  principal: row.principal,
  action: row.action,
  resource: row.resource,
  before,
  after,
});

/** Cases explicitly denied in the base and only implicitly denied now. */
export function weakenedDenies(base: PlanReport, head: PlanReport): AccessChange[] {
  const { before, after } = bothAnswers(base, head);
  return [...after]
    .filter(([key, a]) => a.row.result === "ImplicitlyDenied" && before.get(key)?.row.result === "ExplicitlyDenied")
    .map(([, a]) => change(a.row, "Denied", "Denied"));
}

export function accessChanges(base: PlanReport, head: PlanReport): AccessChange[] {
  const { before, after } = bothAnswers(base, head);
  const changes: AccessChange[] = [];
  for (const key of new Set([...before.keys(), ...after.keys()])) {
    const b = before.get(key);
    const a = after.get(key);
    const row = (a ?? b)?.row;
    if (!row || b?.answer === a?.answer) continue;
    changes.push(change(row, b?.answer ?? "absent", a?.answer ?? "absent"));
  }
  return changes;
}

/** Each stack's policies as pretty JSON, by stack and resource. */
function policyTexts(report: PlanReport): Map<string, string> {
  const out = new Map<string, string>();
  for (const [stack, plan] of [
    ["source", report.source],
    ["target", report.target],
  ] as const)
    for (const p of generatedPolicies(plan)) {
      const key = `${stack} ${p.where}`;
      if (out.has(key)) throw new Error(`two policies of one plan share a stack, type, name and field: ${key}`);
      out.set(key, `${JSON.stringify(p.doc, null, 2)}\n`);
    }
  return out;
}

export function policyChanges(
  base: PlanReport,
  head: PlanReport,
  baseLabel: string,
  headLabel = "this checkout",
): PolicyChange[] {
  const before = policyTexts(base);
  const after = policyTexts(head);
  const changes: PolicyChange[] = [];
  for (const policy of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const b = before.get(policy) ?? "";
    const a = after.get(policy) ?? "";
    if (a === b) continue;
    const diff = createTwoFilesPatch(
      b ? `${policy} (${baseLabel})` : "/dev/null",
      a ? `${policy} (${headLabel})` : "/dev/null",
      b,
      a,
      undefined,
      undefined,
      { context: 3 },
    );
    // The patch's first line is jsdiff's "Index:"/"=====" header: the file lines name the policy.
    changes.push({ policy, diff: diff.slice(diff.indexOf("--- ")) });
  }
  return changes;
}

export function compare(base: PlanReport, head: PlanReport, sha: string, ref: string, headLabel?: string): Changes {
  return {
    base: sha,
    access: accessChanges(base, head),
    weakened: weakenedDenies(base, head),
    policies: policyChanges(base, head, ref, headLabel),
  };
}

/** Principals with a case that became Allowed, and principals with one that no longer is. */
export function principalsChanged(access: AccessChange[]): { gain: string[]; lose: string[] } {
  const gain = new Set(access.filter((c) => c.after === "Allowed").map((c) => c.principal));
  const lose = new Set(access.filter((c) => c.before === "Allowed").map((c) => c.principal));
  return { gain: [...gain].sort(), lose: [...lose].sort() };
}

export function humanChanges(changes: Changes, ref: string): string {
  const out = [`Access changes against ${ref} (${changes.base.slice(0, 12)}):`, ""];
  if (changes.access.length === 0) out.push("No access changes.", "");
  else {
    out.push(
      table(
        ["case", "principal", "action", "resource", "before", "after"],
        changes.access.map((c) => [c.case, c.principal, c.action, c.resource, c.before, `→ ${c.after}`]),
      ),
      "",
    );
    const { gain, lose } = principalsChanged(changes.access);
    out.push(`Principals that gain access: ${gain.length > 0 ? gain.join(", ") : "none"}`);
    out.push(`Principals that lose access: ${lose.length > 0 ? lose.join(", ") : "none"}`, "");
  }
  if (changes.weakened.length > 0)
    out.push(
      "Explicit denies lost (still denied, by something else: a guard rail is gone):",
      "",
      table(
        ["case", "principal", "action", "resource"],
        changes.weakened.map((c) => [c.case, c.principal, c.action, c.resource]),
      ),
      "",
    );
  if (changes.dependencies === "own")
    out.push(
      `Note: ${ref} has another package-lock.json; it was planned with its own dependencies, so a change here may come from a dependency's.`,
      "",
    );
  if (changes.policies.length === 0) out.push("No policy changes.");
  else {
    out.push(`Policy changes (${changes.policies.length}):`, "");
    for (const p of changes.policies) out.push(p.diff.trimEnd(), "");
  }
  return out.join("\n").trimEnd();
}
