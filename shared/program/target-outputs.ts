/**
 * The target stack's outputs, what `npm run verify` reads: one schema, from which the type and the
 * key list are derived. target-account/index.ts returns this type; verify validates against it.
 */
import { z } from "zod";
import { bucketNameSchema, objectKeyProblem, prefixProblem } from "./config/rules";
import { ACCESS_LEVEL_NAMES, levelReads, levelWrites } from "./iam/access-levels";
import { parseRoleArn } from "./iam/arn";

const fields = {
  /** The instance that copies the object at boot: `i-` then 8 or 17 hex digits. */
  instanceId: z
    .string()
    .regex(/^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/, "must be an EC2 instance ID, i- then 8 or 17 hex digits"),
  /** The reader role, `arn:aws:iam::<account>:role/<name>` (no path). */
  roleArn: z
    .string()
    .refine((a) => parseRoleArn(a) !== undefined, "must be a role ARN arn:aws:iam::<account>:role/<name>"),
  /** The source bucket it reads, an S3 bucket name. */
  sourceBucket: bucketNameSchema,
  /**
   * The object it copies, an S3 key the boot script and its marker line can carry; null when it
   * copies none (the role only writes, or no object of the source lies inside its prefixes).
   */
  objectKey: z
    .string()
    .min(1)
    .refine((k) => objectKeyProblem(k) === undefined, { error: (i) => objectKeyProblem(String(i.input)) })
    .nullable(),
  /** Where the object lands on the instance: an absolute path; null when it copies none. */
  destinationPath: z.string().startsWith("/", "must be an absolute path, /…").nullable(),
  /** The first word of the boot script's console marker line, e.g. CROSS_ACCOUNT_COPY. */
  markerPrefix: z
    .string()
    .regex(/^[A-Z][A-Z0-9_]*$/, "must be one word of capital letters, digits and _ (the marker line's first word)"),
  /** The role's access level, as the source grants it. */
  access: z.enum(ACCESS_LEVEL_NAMES, `must be one of ${ACCESS_LEVEL_NAMES.join(", ")}`),
  /** Whether the level reads objects, and whether it writes them: what verify expects on the console. */
  reads: z.boolean(),
  writes: z.boolean(),
  /** Where the boot script of a role that writes puts its receipt, a key prefix ending in "/"; null when it does not write. */
  receiptPrefix: z
    .string()
    .refine((p) => prefixProblem(p) === undefined, { error: (i) => prefixProblem(String(i.input)) })
    .nullable(),
};

const targetOutputsSchema = z.object(fields).superRefine((o, ctx) => {
  const wrong = (path: TargetOutputKey, message: string) => ctx.addIssue({ code: "custom", path: [path], message });
  if (o.reads !== levelReads(o.access)) wrong("reads", `must be ${levelReads(o.access)} for access ${o.access}`);
  if (o.writes !== levelWrites(o.access)) wrong("writes", `must be ${levelWrites(o.access)} for access ${o.access}`);
  if (o.objectKey !== null && !o.reads) wrong("objectKey", `must be null: access ${o.access} reads nothing`);
  if ((o.objectKey === null) !== (o.destinationPath === null))
    wrong("destinationPath", "must be null exactly when objectKey is");
  if ((o.receiptPrefix === null) === o.writes)
    wrong(
      "receiptPrefix",
      o.writes ? "must name the receipt's prefix of a role that writes" : "must be null: the role does not write",
    );
});

export type TargetOutputs = z.output<typeof targetOutputsSchema>;

export type TargetOutputKey = keyof typeof fields;

/** Every output of the target, in declaration order. */
export const TARGET_OUTPUT_KEYS = Object.keys(fields) as TargetOutputKey[];

/** Outputs a stack may omit: Pulumi drops an output whose value is null, and these accept null. */
const NULLABLE_KEYS = TARGET_OUTPUT_KEYS.filter((k) => fields[k].safeParse(null).success);

/**
 * The target's outputs, or what is wrong with them: the outputs that are absent, and the problems
 * of the others as `<output>: <rule>`. Outputs the schema does not know are ignored; an absent
 * output that may be null is null.
 */
export function validateTargetOutputs(
  value: unknown,
): { ok: true; outputs: TargetOutputs } | { ok: false; missing: TargetOutputKey[]; problems: string[] } {
  const given = value !== null && typeof value === "object" ? (value as Record<string, unknown>) : {};
  const r = targetOutputsSchema.safeParse(
    value !== null && typeof value === "object"
      ? { ...given, ...Object.fromEntries(NULLABLE_KEYS.map((k) => [k, given[k] ?? null])) }
      : value,
  );
  if (r.success) return { ok: true, outputs: r.data };
  const missing = TARGET_OUTPUT_KEYS.filter((k) => !NULLABLE_KEYS.includes(k) && given[k] === undefined);
  const problems = r.error.issues
    .filter((i) => !missing.includes(i.path[0] as TargetOutputKey))
    .map((i) => `${i.path.length ? i.path.map(String).join(".") : "(outputs)"}: ${i.message}`);
  return { ok: false, missing, problems };
}
