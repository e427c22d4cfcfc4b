/** Plain IAM policy types: the builders return these, never Pulumi types. */

export type ConditionValues = string | string[];
/** Operator (e.g. `ArnEquals`) → condition key (e.g. `aws:PrincipalArn`) → values. */
export type ConditionBlock = Record<string, Record<string, ConditionValues>>;

export type Principal = "*" | { AWS?: string | string[]; Service?: string | string[] };

export interface Statement {
  Sid: string;
  Effect: "Allow" | "Deny";
  Principal?: Principal;
  Action: string | string[];
  /** Absent only in a role trust policy, where IAM forbids it. */
  Resource?: string | string[];
  Condition?: ConditionBlock;
}

export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: Statement[];
}

/** In a key policy, Resource "*" means the key the policy is attached to. */
export const KEY_POLICY_SELF = "*";

export function policyDocument(statements: Statement[]): PolicyDocument {
  return { Version: "2012-10-17", Statement: statements };
}

/** Policies are rendered compactly: the AWS size limits count these bytes. */
export function renderPolicy(doc: PolicyDocument): string {
  return JSON.stringify(doc);
}

/** Parses a policy as AWS or the program hands it over: a JSON string. Throws, naming `where`, on anything else. */
export function parsePolicy(json: unknown, where: string): PolicyDocument {
  if (typeof json !== "string") throw new Error(`${where}: the policy is not a JSON string`);
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (e) {
    throw new Error(`${where}: the policy is not valid JSON (${e instanceof Error ? e.message : String(e)})`, {
      cause: e,
    });
  }
  if (doc === null || typeof doc !== "object" || !Array.isArray((doc as { Statement?: unknown }).Statement)) {
    throw new Error(`${where}: the policy has no Statement list`);
  }
  return doc as PolicyDocument;
}
