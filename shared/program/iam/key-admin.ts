/**
 * The key policy's administrator statement: the owner account's root holds kms:* without
 * conditions, which delegates the key to that account's IAM, so the key can never be locked out
 * (AWS KMS Developer Guide, "Default key policy"). Built here, and recognised here for the policy
 * pack and analyze.
 */
import { accountOfPrincipal, accountRootArn } from "./arn";
import { KEY_POLICY_SELF, Principal, Statement } from "./document";

const ADMIN_ACTION = "kms:*";

export function accountRootAdministersKey(accountId: string): Statement {
  return {
    Sid: "AccountRootAdministersKey",
    Effect: "Allow",
    Principal: { AWS: accountRootArn(accountId) },
    Action: ADMIN_ACTION,
    Resource: KEY_POLICY_SELF,
  };
}

/** The accounts a principal names as a whole (root ARN or bare ID); undefined when it names anything else too. */
function wholeAccounts(p: Principal | undefined): string[] | undefined {
  if (p === undefined || p === "*") return undefined;
  const { AWS, ...other } = p;
  if (Object.keys(other).length > 0 || AWS === undefined) return undefined;
  const accounts = [AWS].flat().map(accountOfPrincipal);
  return accounts.every((a) => a !== undefined) ? accounts : undefined;
}

/** Whether a statement is that administrator statement: of `accountId` when given, else of any one account. */
export function isAccountRootAdmin(s: Statement, accountId?: string): boolean {
  const accounts = wholeAccounts(s.Principal);
  return (
    s.Effect === "Allow" &&
    accounts !== undefined &&
    accounts.length > 0 &&
    accounts.every((a) => a === (accountId ?? accounts[0])) &&
    [s.Action].flat().includes(ADMIN_ACTION) &&
    Object.keys(s.Condition ?? {}).length === 0
  );
}
