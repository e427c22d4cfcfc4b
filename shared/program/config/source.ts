/** The source stack's config: its schema, defaults, sample objects and cross-key rules. */
import * as path from "path";
import { z } from "zod";
import { ACCESS_LEVEL_NAMES } from "../iam/access-levels";
import { OrgGrant } from "../iam/arn";
import type { ConsumerGrant } from "../iam/grants";
import { configKey, PROJECT_ROOT, RawConfig } from "../project";
import { SampleObject, sampleObjects } from "./objects";
import { parse } from "./parse";
import {
  accountIdSchema,
  allowedAccountIdsSchema,
  boolSchema,
  bucketNameSchema,
  defaultedName,
  intSchema,
  keyAliasSchema,
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
  /** What validation could not check (git absent), for the program to show as warnings. */
  notes: string[];
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
  const seen = new Map<string, string>();
  consumers.forEach((k, i) => {
    const where = `${configKey("consumers")}[${i}]`;
    if (k.accountId === accountId) {
      problems.push(
        `${where}.accountId = ${JSON.stringify(k.accountId)}: must differ from the source account (aws:allowedAccountIds); this stack grants cross-account reads only`,
      );
    }
    // IAM role names are unique regardless of case: Reader and reader are one role.
    const id = `${k.accountId}/${k.roleName.toLowerCase()}`;
    const earlier = seen.get(id);
    if (earlier !== undefined)
      problems.push(
        earlier === k.roleName
          ? `${where} = ${JSON.stringify(k)}: duplicates an earlier consumer; list each role once`
          : `${where} = ${JSON.stringify(k)}: names the same role as the earlier "${earlier}" in account ${k.accountId} (IAM role names are unique regardless of case); list each role once`,
      );
    seen.set(id, k.roleName);
  });
  return problems;
}

export function parseSourceConfig(raw: RawConfig): SourceConfig {
  const { config: c, derived: samples } = parse("source", raw, sourceSchema, (c) => {
    const samples = sampleObjects(c[configKey("objects")] ?? SOURCE_DEFAULTS.objects);
    return { value: samples, problems: [...grantProblems(c), ...samples.problems] };
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
    objects: samples.value,
    notes: samples.note === undefined ? [] : [samples.note],
    allowListBucket: c[configKey("allowListBucket")] ?? SOURCE_DEFAULTS.allowListBucket,
    protectData: c[configKey("protectData")] ?? SOURCE_DEFAULTS.protectData,
    auditTrail: c[configKey("auditTrail")] ?? SOURCE_DEFAULTS.auditTrail,
  };
}
