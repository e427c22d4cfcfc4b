/** ARN and endpoint helpers. Only the commercial `aws` partition is supported (config validation enforces it). */

export const PARTITION = "aws";

/** An AWS account ID: 12 digits. The one pattern; config/rules.ts says what is wrong with a value that misses it. */
export const ACCOUNT_ID_PATTERN = "\\d{12}";
export const ACCOUNT_ID = new RegExp(`^${ACCOUNT_ID_PATTERN}$`);

export interface Consumer {
  accountId: string;
  roleName: string;
}

/** A grant to the roles of a whole AWS organization (or some of its OUs), instead of listed accounts. */
export interface OrgGrant {
  /** aws:PrincipalOrgID: every account of the organization. */
  orgId?: string;
  /** aws:PrincipalOrgPaths: the accounts under these organization paths, e.g. o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/. */
  orgPaths?: string[];
  /** Only roles with these names; every principal of those accounts when absent. */
  roleNames?: string[];
}

export const accountRootArn = (accountId: string): string => `arn:${PARTITION}:iam::${accountId}:root`;

const ACCOUNT_PRINCIPAL = new RegExp(
  `^(?:arn:${PARTITION}:iam::(${ACCOUNT_ID_PATTERN}):root|(${ACCOUNT_ID_PATTERN}))$`,
);

/** The account a principal names as a whole (its root ARN, or its bare ID, which IAM treats alike); undefined for a role, user or service. */
export function accountOfPrincipal(principal: string): string | undefined {
  const m = ACCOUNT_PRINCIPAL.exec(principal);
  return m ? (m[1] ?? m[2]) : undefined;
}

export const roleArn = (c: Consumer): string => `arn:${PARTITION}:iam::${c.accountId}:role/${c.roleName}`;

export const bucketArn = (bucketName: string): string => `arn:${PARTITION}:s3:::${bucketName}`;

export const keyArn = (region: string, accountId: string, keyId: string): string =>
  `arn:${PARTITION}:kms:${region}:${accountId}:key/${keyId}`;

/** A full key ARN in this region and account: never an alias, which does not work across accounts. */
export const keyArnPattern = (region: string, accountId: string): RegExp =>
  new RegExp(`^arn:${PARTITION}:kms:${region}:${accountId}:key/[A-Za-z0-9-]+$`);

export const trailArn = (region: string, accountId: string, trailName: string): string =>
  `arn:${PARTITION}:cloudtrail:${region}:${accountId}:trail/${trailName}`;

/** The value S3 puts in `kms:ViaService` when it calls KMS on a caller's behalf. */
export const s3ViaService = (region: string): string => `s3.${region}.amazonaws.com`;

const ROLE_ARN = new RegExp(`^arn:${PARTITION}:iam::(${ACCOUNT_ID_PATTERN}):role/([\\w+=,.@-]{1,64})$`);

/** Parses a path-less role ARN; undefined when it is not one. */
export function parseRoleArn(arn: string): Consumer | undefined {
  const m = ROLE_ARN.exec(arn);
  return m ? { accountId: m[1], roleName: m[2] } : undefined;
}
