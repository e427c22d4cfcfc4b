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

export function policyDocument(statements: Statement[]): PolicyDocument {
  return { Version: "2012-10-17", Statement: statements };
}

/** Policies are rendered compactly: the AWS size limits count these bytes. */
export function renderPolicy(doc: PolicyDocument): string {
  return JSON.stringify(doc);
}
