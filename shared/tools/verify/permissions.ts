/**
 * The calls `npm run verify` makes, by client, and the IAM actions each needs of the principal whose
 * credentials the client carries: account A's (the source stack's) or account B's (the target's).
 * The README's "Permissions verify needs" lists them per account.
 */
import type { Side } from "../../program/project";
import { KMS_DECRYPT, S3_GET_OBJECT } from "../../program/iam/access-levels";
import { sideOfClient, VerifyClients } from "./clients";

export const VERIFY_CALLS = {
  sourceS3: {
    // The objects' and a receipt's encryption; HeadObject is authorized as s3:GetObject.
    HeadObject: [S3_GET_OBJECT],
    // The copy's sha256: S3 decrypts an SSE-KMS object with the caller's own kms:Decrypt.
    GetObject: [S3_GET_OBJECT, KMS_DECRYPT],
    GetBucketPolicy: ["s3:GetBucketPolicy"],
    GetBucketLocation: ["s3:GetBucketLocation"],
    GetObjectAcl: ["s3:GetObjectAcl"],
    GetBucketAcl: ["s3:GetBucketAcl"],
  },
  sourceKms: { GetKeyPolicy: ["kms:GetKeyPolicy"] },
  // The negative probe, which expects a denial: it proves something only if the principal may read S3 in its own account.
  targetS3: { GetObject: [S3_GET_OBJECT] },
  targetEc2: {
    GetConsoleOutput: ["ec2:GetConsoleOutput"],
    DescribeInstances: ["ec2:DescribeInstances"],
    DescribeVpcEndpoints: ["ec2:DescribeVpcEndpoints"],
    DescribeRouteTables: ["ec2:DescribeRouteTables"],
  },
  // Needs no permission.
  targetSts: { GetCallerIdentity: [] },
  targetIam: {
    GetRole: ["iam:GetRole"],
    ListRolePolicies: ["iam:ListRolePolicies"],
    GetRolePolicy: ["iam:GetRolePolicy"],
    ListAttachedRolePolicies: ["iam:ListAttachedRolePolicies"],
    GetPolicy: ["iam:GetPolicy"],
    GetPolicyVersion: ["iam:GetPolicyVersion"],
    GetInstanceProfile: ["iam:GetInstanceProfile"],
  },
} as const satisfies Record<keyof VerifyClients, Record<string, readonly string[]>>;

/** The IAM actions verify needs in one account, sorted. */
export function permissionsOf(side: Side): string[] {
  const clients = Object.keys(VERIFY_CALLS) as (keyof VerifyClients)[];
  const actions = clients
    .filter((k) => sideOfClient(k) === side)
    .flatMap((k) => Object.values<readonly string[]>(VERIFY_CALLS[k]).flat());
  return [...new Set(actions)].sort();
}
