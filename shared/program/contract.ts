/**
 * The contract between the stacks: the source exports exactly these outputs, and the target
 * validates them at runtime before it declares any resource.
 */
import { z } from "zod";
import { bucketArn, OrgGrant, parseRoleArn } from "./iam/arn";
import { accountIdSchema, objectKeyProblem } from "./config";

export interface SourceContract {
  /** The bucket's name. */
  bucketName: string;
  /** `arn:aws:s3:::<bucketName>`. */
  bucketArn: string;
  /** The KMS key's full ARN, `arn:aws:kms:<region>:<accountId>:key/<id>` (never an alias). */
  keyArn: string;
  /** The region of the bucket and the key. */
  region: string;
  /** The source account, which owns the bucket and the key. */
  accountId: string;
  /** The keys of the sample objects, sorted. */
  objectKeys: string[];
  /** The role ARNs granted read access, `arn:aws:iam::<account>:role/<name>`. */
  consumerRoleArns: string[];
  /** Whether the consumers may also call s3:ListBucket. */
  allowListBucket: boolean;
  /** The organization-wide grant, or null when only consumerRoleArns are granted. */
  consumerOrg: OrgGrant | null;
}

export const CONTRACT_KEYS = [
  "bucketName",
  "bucketArn",
  "keyArn",
  "region",
  "accountId",
  "objectKeys",
  "consumerRoleArns",
  "allowListBucket",
  "consumerOrg",
] as const satisfies readonly (keyof SourceContract)[];

const contractSchema = z
  .strictObject({
    bucketName: z.string().min(3),
    bucketArn: z.string(),
    keyArn: z.string(),
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, "must be an AWS region code"),
    accountId: accountIdSchema,
    objectKeys: z
      .array(
        z
          .string()
          .min(1)
          .refine((k) => objectKeyProblem(k) === undefined, { error: (i) => objectKeyProblem(String(i.input)) }),
      )
      .min(1, "must list at least one object"),
    consumerRoleArns: z.array(z.string().refine((a) => parseRoleArn(a) !== undefined, "must be a role ARN arn:aws:iam::<account>:role/<name>")),
    allowListBucket: z.boolean(),
    consumerOrg: z
      .strictObject({ orgId: z.string().optional(), orgPaths: z.array(z.string()).optional(), roleNames: z.array(z.string()).optional() })
      .refine((o) => o.orgId !== undefined || o.orgPaths !== undefined, "must name an organization (orgId or orgPaths)")
      .nullable(),
  })
  .superRefine((c, ctx) => {
    if (c.consumerRoleArns.length === 0 && c.consumerOrg === null) {
      ctx.addIssue({ code: "custom", path: ["consumerRoleArns"], message: "grants nobody: list a role, or grant an organization" });
    }
    if (c.bucketArn !== bucketArn(c.bucketName)) {
      ctx.addIssue({ code: "custom", path: ["bucketArn"], message: `must be ${bucketArn(c.bucketName)}, the ARN of bucketName` });
    }
    const keyArn = new RegExp(`^arn:aws:kms:${c.region}:${c.accountId}:key/[A-Za-z0-9-]+$`);
    if (!keyArn.test(c.keyArn)) {
      ctx.addIssue({
        code: "custom",
        path: ["keyArn"],
        message: `must be a full key ARN in ${c.region} and account ${c.accountId} (an alias does not work across accounts)`,
      });
    }
  });

/** Returns the contract, or the list of problems with it. */
/** Outputs a stack may omit: Pulumi drops an output whose value is null. */
export const OPTIONAL_CONTRACT_KEYS: readonly (keyof SourceContract)[] = ["consumerOrg"];

export function validateContract(value: unknown): { ok: true; contract: SourceContract } | { ok: false; problems: string[] } {
  const withDefaults =
    value !== null && typeof value === "object" ? { ...value, consumerOrg: (value as { consumerOrg?: unknown }).consumerOrg ?? null } : value;
  const r = contractSchema.safeParse(withDefaults);
  if (r.success) return { ok: true, contract: r.data };
  return {
    ok: false,
    problems: r.error.issues.map((i) => `${i.path.length ? i.path.map(String).join(".") : "(contract)"}: ${i.message}`),
  };
}
