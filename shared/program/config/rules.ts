/** The value rules both stacks share; each names the rule in its message. */
import { partition } from "@aws-sdk/core/client";
import { Region } from "@pulumi/aws/types/enums";
import { z } from "zod";
import { ACCOUNT_ID, ACCOUNT_ID_PATTERN, PARTITION } from "../iam/arn";

export const rule = (error: string) => ({ error });

/**
 * A name that has a default: `~`, `null` or nothing after its key reaches the program as ""
 * (Pulumi reads a YAML null as an empty string), so "" is refused with the way to the default.
 */
export const defaultedName = (schema: z.ZodString) =>
  z
    .string(rule("must be text"))
    .refine((v) => v !== "", {
      error: 'is empty (a YAML "~", "null" or nothing after the key reads as ""): delete the line to get the default',
      abort: true,
    })
    .pipe(schema);

/**
 * The one account-ID rule, for the program and every tool: 12 digits, as a string. YAML reads an
 * unquoted ID as a number and drops its leading zeros, so a number is refused with that advice.
 */
export function accountIdProblem(v: unknown): string | undefined {
  if (typeof v === "number")
    return 'is a number: quote it in YAML ("..."), since YAML drops an unquoted account ID\'s leading zeros';
  if (typeof v !== "string" || !ACCOUNT_ID.test(v)) return "must be a 12-digit AWS account ID";
  return undefined;
}

export const accountIdSchema = z.custom<string>((v) => accountIdProblem(v) === undefined, {
  error: (issue) => accountIdProblem(issue.input) ?? "must be a 12-digit AWS account ID",
});

export const roleNameSchema = z
  .string(rule("must be an IAM role name"))
  .regex(/^[\w+=,.@-]{1,64}$/, "must be an IAM role name: 1-64 characters from letters, digits and +=,.@_-");

/** The regions the AWS provider can deploy to, from its own list (all partitions). */
const PROVIDER_REGIONS: readonly string[] = Object.values(Region);

/** Regions that differ from a value only in their final number, as a hint (us-west-9 → us-west-1, us-west-2). */
const nearRegions = (v: string): string[] =>
  PROVIDER_REGIONS.filter((r) => r.replace(/\d+$/, "") === v.replace(/\d+$/, "") && partition(r).name === PARTITION);

/**
 * The one region rule, for the program and every tool: a region the AWS provider knows
 * (@pulumi/aws's Region list), in the partition the program's ARNs name (the AWS SDK's partition data).
 */
export function regionProblem(v: unknown): string | undefined {
  if (typeof v !== "string") return "must be set to an AWS region, e.g. us-west-2";
  if (!PROVIDER_REGIONS.includes(v)) {
    const near = nearRegions(v);
    return `is not an AWS region the AWS provider knows (@pulumi/aws Region)${near.length ? `; did you mean ${near.join(" or ")}?` : ", e.g. us-west-2"}`;
  }
  const p = partition(v).name;
  if (p !== PARTITION)
    return `is in the ${p} partition (AWS SDK partition data); this program builds arn:${PARTITION}: ARNs, so only regions of the ${PARTITION} partition are supported`;
  return undefined;
}

export const regionSchema = z.custom<string>((v) => regionProblem(v) === undefined, {
  error: (issue) => regionProblem(issue.input) ?? "must be an AWS region",
});

export const allowedAccountIdsSchema = z
  .array(accountIdSchema, rule('must list this stack\'s account ID, e.g. ["111111111111"]'))
  .length(1, "must list exactly one account ID: this stack's own (it guards against a wrong AWS profile)");

/** An IAM managed policy ARN: an account's, or AWS's own (`aws`). */
export const MANAGED_POLICY_ARN = new RegExp(
  `^arn:${PARTITION}:iam::(${ACCOUNT_ID_PATTERN}|aws):policy/[\\w+=,.@/-]+$`,
);

export const boolSchema = z.enum(["true", "false"], rule("must be true or false")).transform((v) => v === "true");

export const intSchema = (min: number, max: number, what: string) =>
  z
    .string(rule(`must be a whole number from ${min} to ${max} (${what})`))
    .regex(/^\d+$/, `must be a whole number from ${min} to ${max} (${what})`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `must be a whole number from ${min} to ${max} (${what})`);

/** Problems with an S3 bucket name, per the S3 general purpose bucket naming rules. */
export function bucketNameProblems(name: string): string[] {
  const p: string[] = [];
  if (name.length < 3 || name.length > 63) p.push("must be 3-63 characters long");
  if (!/^[a-z0-9.-]*$/.test(name)) p.push("may contain only lowercase letters, digits, hyphens and dots");
  if (!/^[a-zA-Z0-9].*[a-zA-Z0-9]$/.test(name)) p.push("must begin and end with a letter or digit");
  if (name.includes("..")) p.push("must not contain two adjacent dots");
  if (name.includes("."))
    p.push("must not contain dots: they break TLS for virtual-hosted requests, and this bucket is TLS-only");
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) p.push("must not look like an IP address");
  if (/^(xn--|sthree-|amzn-s3-demo-)/.test(name)) p.push("must not start with xn--, sthree- or amzn-s3-demo-");
  if (/(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$/.test(name))
    p.push("must not end with -s3alias, --ol-s3, .mrap, --x-s3 or --table-s3");
  return p;
}

export const bucketNameSchema = z.string(rule("must be an S3 bucket name")).superRefine((name, ctx) => {
  for (const message of bucketNameProblems(name)) ctx.addIssue({ code: "custom", message });
});

/**
 * Keys the boot script and `npm run verify` can carry: `sha256sum` escapes a name with a backslash
 * or newline (its line then starts with "\\"), and the console marker is one line.
 */
export function objectKeyProblem(key: string): string | undefined {
  // eslint-disable-next-line no-control-regex -- control characters are what this rule refuses
  if (/[\u0000-\u001f\u007f\\]/.test(key))
    return "must not contain a backslash or a control character (newline, tab, ...)";
  if (Buffer.byteLength(key) > 1024) return "must be at most 1,024 bytes (S3's key limit)";
  return undefined;
}

/**
 * A key prefix a consumer is granted: a folder of the bucket, so it ends in "/", and is matched
 * literally, so no wildcard. IAM would read `*` and `?` in a Resource ARN or an s3:prefix condition
 * as wildcards, widening the grant.
 */
export function prefixProblem(p: string): string | undefined {
  if (p.length === 0 || p === "/") return 'must name a folder, e.g. "incoming/"';
  if (p.startsWith("/")) return 'must not start with "/": S3 keys have no leading slash';
  if (!p.endsWith("/"))
    return `must end with "/" (e.g. "${p}/"), so it names a folder and not every key that starts with it`;
  if (/[*?]/.test(p)) return "must not contain * or ?, which IAM reads as wildcards";
  if (p.includes("$"))
    return "must not contain $: IAM reads ${...} as a policy variable, which a consumer's own tags could fill";
  if (p.trim() !== p) return "must not start or end with a space";
  if (p.includes("//")) return 'must not contain "//"';
  return objectKeyProblem(p);
}

export const prefixesSchema = z
  .array(
    z.string(rule('must be a key prefix, e.g. "incoming/"')).superRefine((p, ctx) => {
      const message = prefixProblem(p);
      if (message) ctx.addIssue({ code: "custom", message });
    }),
    rule('must be a list of key prefixes, e.g. ["incoming/"]'),
  )
  .min(1, 'must list at least one key prefix, e.g. ["incoming/"]; leave it out for the whole bucket')
  .superRefine((prefixes, ctx) => {
    prefixes.forEach((p, i) => {
      const earlier = prefixes.slice(0, i).find((q) => p.startsWith(q) || q.startsWith(p));
      if (earlier !== undefined)
        ctx.addIssue({
          code: "custom",
          path: [i],
          message:
            earlier === p ? "is listed twice" : `overlaps ${JSON.stringify(earlier)}: list the outer folder only`,
        });
    });
  });

export const keyAliasSchema = z
  .string(rule("must be a KMS alias"))
  .regex(
    /^alias\/[a-zA-Z0-9/_-]{1,250}$/,
    "must be a KMS alias: alias/ then 1-250 characters from letters, digits and /_-",
  )
  .refine(
    (a) => !a.startsWith("alias/aws/"),
    "must not start with alias/aws/, which AWS reserves for AWS managed keys",
  );
