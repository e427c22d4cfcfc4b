/** The source stack's config: its schema, defaults, sample objects and cross-key rules. */
import * as fs from "fs";
import * as path from "path";
import { z } from "zod";
import { ACCESS_LEVEL_NAMES } from "../iam/access-levels";
import { OrgGrant } from "../iam/arn";
import type { ConsumerGrant } from "../iam/grants";
import { configKey, PROJECT_ROOT, RawConfig } from "../project";
import { Derived, parse } from "./parse";
import {
  accountIdSchema,
  allowedAccountIdsSchema,
  boolSchema,
  bucketNameSchema,
  defaultedName,
  intSchema,
  keyAliasSchema,
  objectKeyProblem,
  prefixesSchema,
  regionSchema,
  roleNameSchema,
  rule,
} from "./rules";

export const SOURCE_DEFAULTS = {
  keyAlias: "alias/accounta-cmk",
  keyRotationDays: 365,
  objects: "source-account/objects",
  allowListBucket: true,
  protectData: true,
  auditTrail: true,
};

/** The default bucket name: globally unique because it carries the account and region. */
export const defaultBucketName = (accountId: string, region: string): string =>
  `cross-account-s3-kms-${accountId}-${region}`;

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
  /** Roles granted by name, each with its access level and prefixes; may be empty when consumerOrg is set. */
  consumers: ConsumerGrant[];
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

const consumerSchema = z.strictObject(
  {
    accountId: accountIdSchema,
    roleName: roleNameSchema,
    access: z.enum(ACCESS_LEVEL_NAMES, rule(`must be one of ${ACCESS_LEVEL_NAMES.join(", ")}`)).optional(),
    prefixes: prefixesSchema.optional(),
  },
  rule("must be an object { accountId, roleName, access?, prefixes? }"),
);

const sourceSchema = z.object({
  [configKey("side")]: z.literal("source"),
  "aws:region": regionSchema,
  "aws:allowedAccountIds": allowedAccountIdsSchema,
  // No default: it would grant read access to an account nobody chose.
  [configKey("consumers")]: z
    .array(consumerSchema, rule("must be a list of { accountId, roleName, access?, prefixes? }"))
    .optional(),
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
  [configKey("consumerRoleNames")]: z
    .array(roleNameSchema, rule("must be a list of IAM role names"))
    .min(1, "must list at least one role name")
    .optional(),
  [configKey("keyAlias")]: defaultedName(keyAliasSchema).optional(),
  [configKey("bucketName")]: defaultedName(bucketNameSchema).optional(),
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

type SourceInput = z.output<typeof sourceSchema>;

/** Rules across the grant's keys: someone is granted, one organization, role names only with it, no self-grant, no duplicates. */
function grantProblems(c: SourceInput): string[] {
  const problems: string[] = [];
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
  if (orgId && orgPaths)
    problems.push(
      `${configKey("consumerOrgPaths")}: set ${configKey("consumerOrgId")} or ${configKey("consumerOrgPaths")}, not both`,
    );
  const orgs = new Set((orgPaths ?? []).map((p) => p.split("/")[0]));
  if (orgs.size > 1)
    problems.push(
      `${configKey("consumerOrgPaths")} = ${JSON.stringify(orgPaths)}: must all be in one organization (found ${[...orgs].join(", ")})`,
    );
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
    if (seen.has(id))
      problems.push(`${where} = ${JSON.stringify(k)}: duplicates an earlier consumer; list each role once`);
    seen.add(id);
  });
  return problems;
}

/** The sample objects of the `objects` setting: an existing folder inside the project, with at least one file, each a key the boot script can carry. */
function sampleObjects(setting: string): Derived<SampleObject[]> {
  const dir = path.resolve(PROJECT_ROOT, setting);
  const where = `${configKey("objects")} = ${JSON.stringify(setting)}`;
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    return {
      value: [],
      problems: [`${where}: must be an existing folder (relative to the project root, ${PROJECT_ROOT})`],
    };
  }
  const inside = path.relative(fs.realpathSync(PROJECT_ROOT), fs.realpathSync(dir));
  if (inside === "" || inside.startsWith("..") || path.isAbsolute(inside)) {
    return {
      value: [],
      problems: [
        `${where}: must be a folder inside the project (${PROJECT_ROOT}), so only files you chose are uploaded to a bucket other accounts read`,
      ],
    };
  }
  const objects = listSampleObjects(dir);
  const problems =
    objects.length === 0 ? [`${where}: must contain at least one file, so the target has an object to copy`] : [];
  for (const o of objects) {
    const problem = objectKeyProblem(o.key);
    if (problem) problems.push(`${where}: file ${JSON.stringify(o.key)} gives an S3 key that ${problem}; rename it`);
  }
  return { value: objects, problems };
}

export function parseSourceConfig(raw: RawConfig): SourceConfig {
  const { config: c, derived: objects } = parse("source", raw, sourceSchema, (c) => {
    const samples = sampleObjects(c[configKey("objects")] ?? SOURCE_DEFAULTS.objects);
    return { value: samples.value, problems: [...grantProblems(c), ...samples.problems] };
  });
  const accountId = c["aws:allowedAccountIds"][0];
  const region = c["aws:region"];
  const orgId = c[configKey("consumerOrgId")];
  const orgPaths = c[configKey("consumerOrgPaths")];
  const roleNames = c[configKey("consumerRoleNames")];
  return {
    side: "source",
    accountId,
    region,
    consumers: (c[configKey("consumers")] ?? []).map((k) => ({ ...k, access: k.access ?? "read" })),
    consumerOrg:
      orgId || orgPaths
        ? { ...(orgId && { orgId }), ...(orgPaths && { orgPaths }), ...(roleNames && { roleNames }) }
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
