/**
 * The contract between the stacks: the source exports exactly these outputs, and the target
 * validates them at runtime before it declares any resource. The schema is the one declaration:
 * the type and the key list are derived from it.
 */
import { z } from "zod";
import { ACCESS_LEVEL_NAMES, ConsumerAccess, WHOLE_BUCKET_READ } from "./iam/access-levels";
import { accountIdSchema, objectKeyProblem, prefixesSchema, regionSchema } from "./config/rules";
import { bucketArn, keyArnPattern, parseRoleArn } from "./iam/arn";

const fields = {
  /** The bucket's name. */
  bucketName: z.string().min(3),
  /** `arn:aws:s3:::<bucketName>`. */
  bucketArn: z.string(),
  /** The KMS key's full ARN, `arn:aws:kms:<region>:<accountId>:key/<id>` (never an alias). */
  keyArn: z.string(),
  /** The region of the bucket and the key. */
  region: regionSchema,
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
  /**
   * Each listed role's access level and key prefixes (none: the whole bucket), in consumerRoleArns'
   * order; null from a source stack older than access levels, whose roles all read the whole bucket.
   */
  consumerAccess: z
    .array(
      z.strictObject({
        roleArn: z.string(),
        access: z.enum(ACCESS_LEVEL_NAMES, `must be one of ${ACCESS_LEVEL_NAMES.join(", ")}`),
        prefixes: prefixesSchema.optional(),
      }),
    )
    .nullable(),
  /** Whether the consumers may also call s3:ListBucket (their level's bucket actions). */
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
  if (c.consumerAccess !== null) {
    const listed = c.consumerAccess.map((a) => a.roleArn);
    if (listed.length !== c.consumerRoleArns.length || listed.some((a, i) => a !== c.consumerRoleArns[i]))
      ctx.addIssue({
        code: "custom",
        path: ["consumerAccess"],
        message: "must name each of consumerRoleArns once, in the same order",
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

/**
 * What the source grants one role: its own entry, or the organization's read of the whole bucket
 * when the organization grant admits its name; undefined when the source does not grant it.
 * Membership of the organization cannot be checked offline: it is the account's, in AWS Organizations.
 */
export function accessGrantedTo(c: SourceContract, roleArn: string, roleName: string): ConsumerAccess | undefined {
  const i = c.consumerRoleArns.indexOf(roleArn);
  if (i !== -1) {
    const entry = c.consumerAccess?.[i];
    return entry ? { access: entry.access, ...(entry.prefixes && { prefixes: entry.prefixes }) } : WHOLE_BUCKET_READ;
  }
  const org = c.consumerOrg;
  return org !== null && (org.roleNames === undefined || org.roleNames.includes(roleName))
    ? WHOLE_BUCKET_READ
    : undefined;
}

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
