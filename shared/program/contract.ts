/**
 * The contract between the stacks: the source exports exactly these outputs, and the target
 * validates them at runtime before it declares any resource. The schema is the one declaration:
 * the type and the key list are derived from it.
 */
import { z } from "zod";
import { accountIdSchema, objectKeyProblem, REGION } from "./config/rules";
import { bucketArn, keyArnPattern, parseRoleArn } from "./iam/arn";

const fields = {
  /** The bucket's name. */
  bucketName: z.string().min(3),
  /** `arn:aws:s3:::<bucketName>`. */
  bucketArn: z.string(),
  /** The KMS key's full ARN, `arn:aws:kms:<region>:<accountId>:key/<id>` (never an alias). */
  keyArn: z.string(),
  /** The region of the bucket and the key. */
  region: z.string().regex(REGION, "must be an AWS region code"),
  /** The source account, which owns the bucket and the key. */
  accountId: accountIdSchema,
  /** The keys of the sample objects, sorted. */
  objectKeys: z
    .array(
      z
        .string()
        .min(1)
        .refine((k) => objectKeyProblem(k) === undefined, { error: (i) => objectKeyProblem(String(i.input)) }),
    )
    .min(1, "must list at least one object"),
  /** The role ARNs granted read access, `arn:aws:iam::<account>:role/<name>`. */
  consumerRoleArns: z.array(
    z.string().refine((a) => parseRoleArn(a) !== undefined, "must be a role ARN arn:aws:iam::<account>:role/<name>"),
  ),
  /** Whether the consumers may also call s3:ListBucket. */
  allowListBucket: z.boolean(),
  /** The organization-wide grant, or null when only consumerRoleArns are granted. */
  consumerOrg: z
    .strictObject({
      orgId: z.string().optional(),
      orgPaths: z.array(z.string()).optional(),
      roleNames: z.array(z.string()).optional(),
    })
    .refine((o) => o.orgId !== undefined || o.orgPaths !== undefined, "must name an organization (orgId or orgPaths)")
    .nullable(),
};

const contractSchema = z.strictObject(fields).superRefine((c, ctx) => {
  if (c.consumerRoleArns.length === 0 && c.consumerOrg === null) {
    ctx.addIssue({
      code: "custom",
      path: ["consumerRoleArns"],
      message: "grants nobody: list a role, or grant an organization",
    });
  }
  if (c.bucketArn !== bucketArn(c.bucketName)) {
    ctx.addIssue({
      code: "custom",
      path: ["bucketArn"],
      message: `must be ${bucketArn(c.bucketName)}, the ARN of bucketName`,
    });
  }
  if (!keyArnPattern(c.region, c.accountId).test(c.keyArn)) {
    ctx.addIssue({
      code: "custom",
      path: ["keyArn"],
      message: `must be a full key ARN in ${c.region} and account ${c.accountId} (an alias does not work across accounts)`,
    });
  }
});

export type SourceContract = z.output<typeof contractSchema>;

export type ContractKey = keyof typeof fields;

/** Every output of the contract, in declaration order. */
export const CONTRACT_KEYS = Object.keys(fields) as ContractKey[];

/** Outputs a stack may omit: Pulumi drops an output whose value is null, and these accept null. */
export const OPTIONAL_CONTRACT_KEYS: readonly ContractKey[] = CONTRACT_KEYS.filter(
  (k) => fields[k].safeParse(null).success,
);

/** Returns the contract, or the list of problems with it. */
export function validateContract(
  value: unknown,
): { ok: true; contract: SourceContract } | { ok: false; problems: string[] } {
  const withDefaults =
    value !== null && typeof value === "object"
      ? {
          ...value,
          ...Object.fromEntries(OPTIONAL_CONTRACT_KEYS.map((k) => [k, (value as Record<string, unknown>)[k] ?? null])),
        }
      : value;
  const r = contractSchema.safeParse(withDefaults);
  if (r.success) return { ok: true, contract: r.data };
  return {
    ok: false,
    problems: r.error.issues.map((i) => `${i.path.length ? i.path.map(String).join(".") : "(contract)"}: ${i.message}`),
  };
}
