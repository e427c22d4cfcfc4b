/**
 * Config parsing and validation for both stacks. Everything here runs before any resource is
 * declared, and reports every problem at once, each naming the key, the value and the rule.
 */
import * as fs from "fs";
import * as path from "path";
import { z } from "zod";
import { Consumer, OrgGrant } from "../iam/arn";
import { UserError } from "../errors";

import { configKey, PROJECT, PROJECT_ROOT, RawConfig, Side } from "../project";

export { configKey, PROJECT, PROJECT_ROOT, SIDES } from "../project";
export type { RawConfig, Side } from "../project";

export class ConfigError extends UserError {
  constructor(
    readonly side: string,
    readonly problems: string[],
  ) {
    const n = problems.length;
    super(`Invalid configuration for the ${side} stack (${n} problem${n === 1 ? "" : "s"}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Rules shared by both sides

const rule = (error: string) => ({ error });

const ACCOUNT_ID = /^\d{12}$/;

/**
 * The one account-ID rule, for the program and every tool: 12 digits, as a string. YAML reads an
 * unquoted ID as a number and drops its leading zeros, so a number is refused with that advice.
 */
export function accountIdProblem(v: unknown): string | undefined {
  if (typeof v === "number") return 'is a number: quote it in YAML ("..."), since YAML drops an unquoted account ID\'s leading zeros';
  if (typeof v !== "string" || !ACCOUNT_ID.test(v)) return "must be a 12-digit AWS account ID";
  return undefined;
}

export const accountIdSchema = z.custom<string>((v) => accountIdProblem(v) === undefined, {
  error: (issue) => accountIdProblem(issue.input) ?? "must be a 12-digit AWS account ID",
});

export const roleNameSchema = z
  .string(rule("must be an IAM role name"))
  .regex(/^[\w+=,.@-]{1,64}$/, "must be an IAM role name: 1-64 characters from letters, digits and +=,.@_-");

const regionSchema = z
  .string(rule("must be set to an AWS region, e.g. us-west-2"))
  .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, "must be an AWS region code, e.g. us-west-2")
  .refine(
    (r) => !/^(cn|us-gov|us-iso[a-z]*|eusc)-/.test(r),
    "must be a region in the commercial aws partition (China, GovCloud and isolated partitions are not supported)",
  );

const allowedAccountIdsSchema = z
  .array(accountIdSchema, rule('must list this stack\'s account ID, e.g. ["111111111111"]'))
  .length(1, "must list exactly one account ID: this stack's own (it guards against a wrong AWS profile)");

const boolSchema = z.enum(["true", "false"], rule("must be true or false")).transform((v) => v === "true");

const intSchema = (min: number, max: number, what: string) =>
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
  if (name.includes(".")) p.push("must not contain dots: they break TLS for virtual-hosted requests, and this bucket is TLS-only");
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) p.push("must not look like an IP address");
  if (/^(xn--|sthree-|amzn-s3-demo-)/.test(name)) p.push("must not start with xn--, sthree- or amzn-s3-demo-");
  if (/(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$/.test(name)) p.push("must not end with -s3alias, --ol-s3, .mrap, --x-s3 or --table-s3");
  return p;
}

const bucketNameSchema = z.string(rule("must be an S3 bucket name")).superRefine((name, ctx) => {
  for (const message of bucketNameProblems(name)) ctx.addIssue({ code: "custom", message });
});

/**
 * Keys the boot script and `npm run verify` can carry: `sha256sum` escapes a name with a backslash
 * or newline (its line then starts with "\\"), and the console marker is one line.
 */
export function objectKeyProblem(key: string): string | undefined {
  // eslint-disable-next-line no-control-regex -- control characters are what this rule refuses
  if (/[\u0000-\u001f\u007f\\]/.test(key)) return "must not contain a backslash or a control character (newline, tab, ...)";
  if (Buffer.byteLength(key) > 1024) return "must be at most 1,024 bytes (S3's key limit)";
  return undefined;
}

const keyAliasSchema = z
  .string(rule("must be a KMS alias"))
  .regex(/^alias\/[a-zA-Z0-9/_-]{1,250}$/, "must be a KMS alias: alias/ then 1-250 characters from letters, digits and /_-")
  .refine((a) => !a.startsWith("alias/aws/"), "must not start with alias/aws/, which AWS reserves for AWS managed keys");

// ---------------------------------------------------------------------------------------------
// Reading raw config

/** Keys whose Pulumi config value is structured (a YAML list or object), passed to the program as JSON. */
const JSON_KEYS = new Set(["aws:allowedAccountIds", configKey("consumers"), configKey("consumerOrgPaths"), configKey("consumerRoleNames")]);

type Input = Record<string, unknown>;

/**
 * Decodes JSON-valued keys; a value that is not JSON becomes a problem, not a stack trace.
 * Returns the keys that failed, whose schema problems would only repeat it.
 */
function decode(raw: RawConfig, keys: string[], problems: string[]): { input: Input; undecodable: Set<string> } {
  const input: Input = {};
  const undecodable = new Set<string>();
  for (const k of keys) {
    const v = raw[k];
    if (v === undefined || !JSON_KEYS.has(k)) {
      input[k] = v;
      continue;
    }
    try {
      input[k] = JSON.parse(v);
    } catch {
      problems.push(`${k} = ${JSON.stringify(v)}: must be a YAML list (or JSON), not plain text`);
      undecodable.add(k);
    }
  }
  return { input, undecodable };
}

function valueAt(input: Input, p: PropertyKey[]): unknown {
  let v: unknown = input;
  for (const seg of p) v = v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[seg] : undefined;
  return v;
}

function formatPath(p: PropertyKey[]): string {
  return p.map((seg, i) => (typeof seg === "number" ? `[${seg}]` : i === 0 ? String(seg) : `.${String(seg)}`)).join("");
}

function formatIssues(input: Input, issues: z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const where = formatPath(issue.path);
    const value = valueAt(input, issue.path);
    if (issue.code === "unrecognized_keys") {
      return `${where} = ${JSON.stringify(value)}: has unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.join(", ")}`;
    }
    return value === undefined ? `${where} is not set: it ${issue.message}` : `${where} = ${JSON.stringify(value)}: ${issue.message}`;
  });
}

function unknownKeys(raw: RawConfig, side: Side, known: readonly string[]): string[] {
  return Object.keys(raw)
    .filter((k) => k.startsWith(`${PROJECT}:`) && !known.includes(k))
    .map((k) => `${k} is not a ${side}-stack key; the ${side} stack takes: ${known.map((n) => n.slice(PROJECT.length + 1)).join(", ")}`);
}

/**
 * Parses raw config against a schema keyed by fully-qualified config keys.
 * Throws a ConfigError listing every problem.
 */
function parse<S extends z.ZodObject>(side: Side, raw: RawConfig, schema: S, extra?: (out: z.output<S>, problems: string[]) => void): z.output<S> {
  const keys = Object.keys(schema.shape);
  const problems = unknownKeys(
    raw,
    side,
    keys.filter((k) => k.startsWith(`${PROJECT}:`)),
  );
  const { input, undecodable } = decode(raw, keys, problems);
  const result = schema.safeParse(input);
  if (!result.success)
    problems.push(
      ...formatIssues(
        input,
        result.error.issues.filter((i) => !undecodable.has(String(i.path[0]))),
      ),
    );
  if (result.success && problems.length === 0) extra?.(result.data, problems);
  if (problems.length > 0 || !result.success) throw new ConfigError(side, problems);
  return result.data;
}

/** Reads `cross-account-s3-kms:side`. */
export function readSide(raw: RawConfig): Side {
  const v = raw[configKey("side")];
  if (v === "source" || v === "target") return v;
  const problem =
    v === undefined
      ? `${configKey("side")} is not set: it must be "source" or "target" (set it in Pulumi.<stack>.yaml)`
      : `${configKey("side")} = ${JSON.stringify(v)}: must be "source" or "target"`;
  throw new ConfigError("selected", [problem]);
}

// ---------------------------------------------------------------------------------------------
// Source stack

export const SOURCE_DEFAULTS = {
  keyAlias: "alias/accounta-cmk",
  keyRotationDays: 365,
  objects: "source-account/objects",
  allowListBucket: true,
  protectData: true,
  auditTrail: true,
};

/** The default bucket name: globally unique because it carries the account and region. */
export const defaultBucketName = (accountId: string, region: string): string => `cross-account-s3-kms-${accountId}-${region}`;

export interface SampleObject {
  /** S3 key: the file's path under the objects folder, with forward slashes. */
  key: string;
  /** Absolute path of the file. */
  file: string;
}

export interface SourceConfig {
  side: "source";
  accountId: string;
  region: string;
  /** Roles granted by name; may be empty when consumerOrg is set. */
  consumers: Consumer[];
  /** An organization-wide grant, when configured. */
  consumerOrg?: OrgGrant;
  keyAlias: string;
  bucketName: string;
  keyRotationDays: number;
  objectsDir: string;
  objects: SampleObject[];
  allowListBucket: boolean;
  protectData: boolean;
  auditTrail: boolean;
}

const consumerSchema = z.strictObject({ accountId: accountIdSchema, roleName: roleNameSchema }, rule("must be an object { accountId, roleName }"));

const sourceSchema = z.object({
  [configKey("side")]: z.literal("source"),
  "aws:region": regionSchema,
  "aws:allowedAccountIds": allowedAccountIdsSchema,
  // No default: it would grant read access to an account nobody chose.
  [configKey("consumers")]: z.array(consumerSchema, rule("must be a list of { accountId, roleName }")).optional(),
  [configKey("consumerOrgId")]: z
    .string(rule("must be an AWS Organizations ID"))
    .regex(/^o-[a-z0-9]{10,32}$/, "must be an AWS Organizations ID: o- then 10-32 lowercase letters or digits")
    .optional(),
  [configKey("consumerOrgPaths")]: z
    .array(
      z
        .string(rule("must be an organization path"))
        .regex(
          /^o-[a-z0-9]{10,32}\/r-[0-9a-z]{4,32}(\/ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})*\/$/,
          "must be an organization path: o-<org>/r-<root>/ then any ou-<id>/ segments, ending with /",
        ),
      rule("must be a list of organization paths"),
    )
    .min(1, "must list at least one organization path")
    .optional(),
  [configKey("consumerRoleNames")]: z.array(roleNameSchema, rule("must be a list of IAM role names")).min(1, "must list at least one role name").optional(),
  [configKey("keyAlias")]: keyAliasSchema.optional(),
  [configKey("bucketName")]: bucketNameSchema.optional(),
  [configKey("keyRotationDays")]: intSchema(90, 2560, "the KMS key rotation period in days").optional(),
  [configKey("objects")]: z.string(rule("must be a folder path")).min(1, "must be a folder path").optional(),
  [configKey("allowListBucket")]: boolSchema.optional(),
  [configKey("protectData")]: boolSchema.optional(),
  [configKey("auditTrail")]: boolSchema.optional(),
});

/** Lists the files under a folder, recursively, as S3 keys sorted by key. */
export function listSampleObjects(dir: string): SampleObject[] {
  const out: SampleObject[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.isFile()) out.push({ key: path.relative(dir, full).split(path.sep).join("/"), file: full });
    }
  };
  walk(dir);
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export function parseSourceConfig(raw: RawConfig): SourceConfig {
  let objects: SampleObject[] = [];
  const c = parse("source", raw, sourceSchema, (c, problems) => {
    const accountId = c["aws:allowedAccountIds"][0];
    const consumers = c[configKey("consumers")] ?? [];
    const orgId = c[configKey("consumerOrgId")];
    const orgPaths = c[configKey("consumerOrgPaths")];
    if (consumers.length === 0 && !orgId && !orgPaths) {
      problems.push(
        `${configKey("consumers")} ${c[configKey("consumers")] ? "= []" : "is not set"}: must list the roles granted read access, e.g. [{ accountId: "222222222222", roleName: "account-b-role" }], ` +
          `or grant an organization with ${configKey("consumerOrgId")} or ${configKey("consumerOrgPaths")}`,
      );
    }
    if (orgId && orgPaths) problems.push(`${configKey("consumerOrgPaths")}: set ${configKey("consumerOrgId")} or ${configKey("consumerOrgPaths")}, not both`);
    const orgs = new Set((orgPaths ?? []).map((p) => p.split("/")[0]));
    if (orgs.size > 1)
      problems.push(`${configKey("consumerOrgPaths")} = ${JSON.stringify(orgPaths)}: must all be in one organization (found ${[...orgs].join(", ")})`);
    if (c[configKey("consumerRoleNames")] && !orgId && !orgPaths) {
      problems.push(
        `${configKey("consumerRoleNames")}: narrows an organization grant; set ${configKey("consumerOrgId")} or ${configKey("consumerOrgPaths")} too, or list the roles in ${configKey("consumers")}`,
      );
    }
    const seen = new Set<string>();
    consumers.forEach((k, i) => {
      const where = `${configKey("consumers")}[${i}]`;
      if (k.accountId === accountId) {
        problems.push(
          `${where}.accountId = ${JSON.stringify(k.accountId)}: must differ from the source account (aws:allowedAccountIds); this stack grants cross-account reads only`,
        );
      }
      const id = `${k.accountId}/${k.roleName}`;
      if (seen.has(id)) problems.push(`${where} = ${JSON.stringify(k)}: duplicates an earlier consumer; list each role once`);
      seen.add(id);
    });
    const dirSetting = c[configKey("objects")] ?? SOURCE_DEFAULTS.objects;
    const dir = path.resolve(PROJECT_ROOT, dirSetting);
    const where = `${configKey("objects")} = ${JSON.stringify(dirSetting)}`;
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
      problems.push(`${where}: must be an existing folder (relative to the project root, ${PROJECT_ROOT})`);
      return;
    }
    const inside = path.relative(fs.realpathSync(PROJECT_ROOT), fs.realpathSync(dir));
    if (inside === "" || inside.startsWith("..") || path.isAbsolute(inside)) {
      problems.push(`${where}: must be a folder inside the project (${PROJECT_ROOT}), so only files you chose are uploaded to a bucket other accounts read`);
      return;
    }
    objects = listSampleObjects(dir);
    if (objects.length === 0) problems.push(`${where}: must contain at least one file, so the target has an object to copy`);
    for (const o of objects) {
      const problem = objectKeyProblem(o.key);
      if (problem) problems.push(`${where}: file ${JSON.stringify(o.key)} gives an S3 key that ${problem}; rename it`);
    }
  });
  const accountId = c["aws:allowedAccountIds"][0];
  const region = c["aws:region"];
  return {
    side: "source",
    accountId,
    region,
    consumers: c[configKey("consumers")] ?? [],
    consumerOrg:
      c[configKey("consumerOrgId")] || c[configKey("consumerOrgPaths")]
        ? Object.fromEntries(
            Object.entries({ orgId: c[configKey("consumerOrgId")], orgPaths: c[configKey("consumerOrgPaths")], roleNames: c[configKey("consumerRoleNames")] }).filter(
              ([, v]) => v !== undefined,
            ),
          )
        : undefined,
    keyAlias: c[configKey("keyAlias")] ?? SOURCE_DEFAULTS.keyAlias,
    bucketName: c[configKey("bucketName")] ?? defaultBucketName(accountId, region),
    keyRotationDays: c[configKey("keyRotationDays")] ?? SOURCE_DEFAULTS.keyRotationDays,
    objectsDir: path.resolve(PROJECT_ROOT, c[configKey("objects")] ?? SOURCE_DEFAULTS.objects),
    objects,
    allowListBucket: c[configKey("allowListBucket")] ?? SOURCE_DEFAULTS.allowListBucket,
    protectData: c[configKey("protectData")] ?? SOURCE_DEFAULTS.protectData,
    auditTrail: c[configKey("auditTrail")] ?? SOURCE_DEFAULTS.auditTrail,
  };
}

// ---------------------------------------------------------------------------------------------
// Target stack

export const TARGET_DEFAULTS = {
  sourceStack: "organization/cross-account-s3-kms/source",
  roleName: "account-b-role",
  destinationDir: "/var/lib/cross-account-s3-kms",
  instanceType: "t4g.nano",
  useDefaultVpc: false,
  enableSsm: false,
  copyTimeoutSeconds: 300,
};

export type Architecture = "arm64" | "x86_64";

export interface TargetConfig {
  side: "target";
  accountId: string;
  region: string;
  sourceStack: string;
  roleName: string;
  /** The object to copy; undefined means the first of the source's objectKeys. */
  objectKey?: string;
  destinationDir: string;
  instanceType: string;
  architecture: Architecture;
  /** A fixed AMI; undefined means the latest Amazon Linux 2023 from the public SSM parameter. */
  amiId?: string;
  useDefaultVpc: boolean;
  enableSsm: boolean;
  permissionsBoundaryArn?: string;
  copyTimeoutSeconds: number;
}

const INSTANCE_TYPE = /^([a-z]+)(\d+)([a-z-]*)\.([a-z0-9]+)$/;

/** Graviton (arm64) families carry a `g` after the generation digit (t4g, m7gd, c6gn, im4gn) or are a1. */
export function architectureOf(instanceType: string): Architecture {
  const m = INSTANCE_TYPE.exec(instanceType);
  return m && (m[1] + m[2] === "a1" || m[3].includes("g")) ? "arm64" : "x86_64";
}

const targetSchema = z.object({
  [configKey("side")]: z.literal("target"),
  "aws:region": regionSchema,
  "aws:allowedAccountIds": allowedAccountIdsSchema,
  [configKey("sourceStack")]: z
    .string(rule("must be a stack name"))
    .regex(/^([\w.-]+\/){0,2}[\w.-]+$/, "must be a stack name: <stack>, <project>/<stack> or <organization>/<project>/<stack>")
    .optional(),
  [configKey("roleName")]: roleNameSchema.optional(),
  [configKey("objectKey")]: z
    .string(rule("must be an S3 object key"))
    .min(1, "must not be empty")
    .superRefine((k, ctx) => {
      const message = objectKeyProblem(k);
      if (message) ctx.addIssue({ code: "custom", message });
    })
    .optional(),
  [configKey("destinationDir")]: z
    .string(rule("must be an absolute folder path"))
    .regex(/^\/[\w./-]*$/, "must be an absolute folder path of letters, digits and ._/-")
    .refine((d) => !d.split("/").includes(".."), "must not contain '..'")
    .optional(),
  [configKey("instanceType")]: z
    .string(rule("must be an EC2 instance type"))
    .regex(INSTANCE_TYPE, "must be an EC2 instance type such as t4g.nano or t3.micro")
    .optional(),
  [configKey("amiId")]: z
    .string(rule("must be an AMI ID"))
    .regex(/^ami-[0-9a-f]{8}([0-9a-f]{9})?$/, "must be an AMI ID, ami- then 8 or 17 hex digits")
    .optional(),
  [configKey("useDefaultVpc")]: boolSchema.optional(),
  [configKey("enableSsm")]: boolSchema.optional(),
  [configKey("permissionsBoundaryArn")]: z
    .string(rule("must be an IAM policy ARN"))
    .regex(/^arn:aws:iam::(\d{12}|aws):policy\/[\w+=,.@/-]+$/, "must be an IAM managed policy ARN, arn:aws:iam::<account>:policy/<name>")
    .optional(),
  [configKey("copyTimeoutSeconds")]: intSchema(30, 3600, "the boot script's total retry time in seconds").optional(),
});

export function parseTargetConfig(raw: RawConfig): TargetConfig {
  const c = parse("target", raw, targetSchema);
  const instanceType = c[configKey("instanceType")] ?? TARGET_DEFAULTS.instanceType;
  return {
    side: "target",
    accountId: c["aws:allowedAccountIds"][0],
    region: c["aws:region"],
    sourceStack: c[configKey("sourceStack")] ?? TARGET_DEFAULTS.sourceStack,
    roleName: c[configKey("roleName")] ?? TARGET_DEFAULTS.roleName,
    objectKey: c[configKey("objectKey")],
    destinationDir: (c[configKey("destinationDir")] ?? TARGET_DEFAULTS.destinationDir).replace(/\/+$/, "") || "/",
    instanceType,
    architecture: architectureOf(instanceType),
    amiId: c[configKey("amiId")],
    useDefaultVpc: c[configKey("useDefaultVpc")] ?? TARGET_DEFAULTS.useDefaultVpc,
    enableSsm: c[configKey("enableSsm")] ?? TARGET_DEFAULTS.enableSsm,
    permissionsBoundaryArn: c[configKey("permissionsBoundaryArn")],
    copyTimeoutSeconds: c[configKey("copyTimeoutSeconds")] ?? TARGET_DEFAULTS.copyTimeoutSeconds,
  };
}
