/**
 * The target stack's outputs, what `npm run verify` reads: one schema, from which the type and the
 * key list are derived. target-account/index.ts returns this type; verify validates against it.
 */
import { z } from "zod";
import { bucketNameSchema, objectKeyProblem } from "./config/rules";
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
  /** The object it copies, an S3 key the boot script and its marker line can carry. */
  objectKey: z
    .string()
    .min(1)
    .refine((k) => objectKeyProblem(k) === undefined, { error: (i) => objectKeyProblem(String(i.input)) }),
  /** Where the object lands on the instance: an absolute path. */
  destinationPath: z.string().startsWith("/", "must be an absolute path, /…"),
  /** The first word of the boot script's console marker line, e.g. CROSS_ACCOUNT_COPY. */
  markerPrefix: z
    .string()
    .regex(/^[A-Z][A-Z0-9_]*$/, "must be one word of capital letters, digits and _ (the marker line's first word)"),
};

const targetOutputsSchema = z.object(fields);

export type TargetOutputs = z.output<typeof targetOutputsSchema>;

export type TargetOutputKey = keyof typeof fields;

/** Every output of the target, in declaration order. */
export const TARGET_OUTPUT_KEYS = Object.keys(fields) as TargetOutputKey[];

/**
 * The target's outputs, or what is wrong with them: the outputs that are absent, and the problems
 * of the others as `<output>: <rule>`. Outputs the schema does not know are ignored.
 */
export function validateTargetOutputs(
  value: unknown,
): { ok: true; outputs: TargetOutputs } | { ok: false; missing: TargetOutputKey[]; problems: string[] } {
  const r = targetOutputsSchema.safeParse(value);
  if (r.success) return { ok: true, outputs: r.data };
  const given = value !== null && typeof value === "object" ? (value as Record<string, unknown>) : {};
  const missing = TARGET_OUTPUT_KEYS.filter((k) => given[k] === undefined);
  const problems = r.error.issues
    .filter((i) => !missing.includes(i.path[0] as TargetOutputKey))
    .map((i) => `${i.path.length ? i.path.map(String).join(".") : "(outputs)"}: ${i.message}`);
  return { ok: false, missing, problems };
}
