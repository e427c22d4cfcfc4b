/**
 * A grant to AWS services that a condition ties to one account's own resources: every
 * `aws:SourceAccount` value is that account, and every `aws:SourceArn` value a literal ARN in it,
 * under an operator that matches exactly (IAM User Guide, "AWS global condition context keys",
 * aws:SourceArn and aws:SourceAccount). Such a grant is the owner's (CloudTrail's for its trail),
 * not a consumer's; the policy pack and analyze recognise it here.
 */
import { ACCOUNT_ID } from "./arn";
import { Statement } from "./document";

/** Operators under which a literal value matches only itself. */
const EXACT = new Set(["StringEquals", "ArnEquals", "StringLike", "ArnLike"]);
const SOURCE_KEYS = ["aws:SourceAccount", "aws:SourceArn"];

/** The account a service grant's source conditions tie it to; undefined when they tie it to none, or to several. */
export function serviceGrantAccount(s: Statement): string | undefined {
  if (s.Effect !== "Allow" || s.Principal === undefined || s.Principal === "*") return undefined;
  if (s.Principal.AWS !== undefined || s.Principal.Service === undefined) return undefined;
  const accounts = new Set<string>();
  for (const [operator, block] of Object.entries(s.Condition ?? {})) {
    for (const [key, value] of Object.entries(block)) {
      if (!SOURCE_KEYS.includes(key)) continue;
      if (!EXACT.has(operator)) return undefined;
      for (const v of [value].flat()) {
        if (/[*?]|\$\{/.test(v)) return undefined;
        const account = key === "aws:SourceAccount" ? v : v.split(":")[4];
        if (account === undefined || !ACCOUNT_ID.test(account)) return undefined;
        accounts.add(account);
      }
    }
  }
  return accounts.size === 1 ? [...accounts][0] : undefined;
}
