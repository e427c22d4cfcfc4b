/** Small queries over parsed policy documents, for tests and the verify tool. */
import { PolicyDocument, Principal, Statement } from "../program/iam/document";

export const asArray = (v: string | string[] | undefined): string[] =>
  v === undefined ? [] : Array.isArray(v) ? v : [v];

export const actionsOf = (s: Statement): string[] => asArray(s.Action);

export const resourcesOf = (s: Statement): string[] => asArray(s.Resource);

export function awsPrincipals(p: Principal | undefined): string[] {
  if (p === undefined || p === "*") return [];
  return asArray(p.AWS);
}

/** The one statement matching the predicate; throws with the policy when there is none or several. */
export function theStatement(doc: PolicyDocument, what: string, pred: (s: Statement) => boolean): Statement {
  const found = doc.Statement.filter(pred);
  if (found.length !== 1)
    throw new Error(`expected one statement that ${what}, found ${found.length} in ${JSON.stringify(doc, null, 2)}`);
  return found[0];
}

/** The values of a condition, e.g. cond(s, "ArnEquals", "aws:PrincipalArn"); [] when absent. */
export function cond(s: Statement, operator: string, conditionKey: string): string[] {
  return asArray(s.Condition?.[operator]?.[conditionKey]);
}

export const sorted = (v: string[]): string[] => [...v].sort();

/** An Action element as IAM matches it: case-insensitive, `*` any run of characters, `?` any one. */
export function actionPattern(pattern: string): RegExp {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${re}$`, "i");
}
