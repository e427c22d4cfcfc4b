/** The source stack's names and policy documents, derived from its config alone (no Pulumi). */
import { keyArn, trailArn } from "../shared/program/iam/arn";
import { configKey, SourceConfig } from "../shared/program/config";
import { sourceBucketPolicy, sourceKeyPolicy } from "../shared/program/iam/grants";
import { PolicyDocument, renderPolicy } from "../shared/program/iam/document";

const AUDIT_SUFFIX = "-audit-logs";

/** The log bucket's name: the shared bucket's, suffixed, and cut to S3's 63 characters. */
export const auditLogBucketName = (bucketName: string): string =>
  `${bucketName.slice(0, 63 - AUDIT_SUFFIX.length)}${AUDIT_SUFFIX}`;

/** The trail's name; CloudTrail forbids adjacent dashes. */
export const auditTrailName = (bucketName: string): string => `${bucketName.replace(/-{2,}/g, "-")}-audit`;

export const keyPolicyFor = (cfg: SourceConfig): PolicyDocument =>
  sourceKeyPolicy({
    ...cfg,
    trailArn: cfg.auditTrail ? trailArn(cfg.region, cfg.accountId, auditTrailName(cfg.bucketName)) : undefined,
  });

export const bucketPolicyFor = (cfg: SourceConfig, keyArn: string): PolicyDocument =>
  sourceBucketPolicy({ ...cfg, keyArn });

/** AWS's size limits, in bytes of the policy document as sent. */
export const POLICY_LIMITS = { bucketPolicy: 20_480, keyPolicy: 32_768 } as const;

/** A key ARN as long as the real one will be: key IDs are UUIDs. */
const keyArnOfSameLength = (cfg: SourceConfig): string =>
  keyArn(cfg.region, cfg.accountId, "00000000-0000-0000-0000-000000000000");

export interface PolicySizes {
  bucketPolicy: number;
  keyPolicy: number;
}

export function policySizes(cfg: SourceConfig): PolicySizes {
  return {
    bucketPolicy: Buffer.byteLength(renderPolicy(bucketPolicyFor(cfg, keyArnOfSameLength(cfg)))),
    keyPolicy: Buffer.byteLength(renderPolicy(keyPolicyFor(cfg))),
  };
}

const fits = (s: PolicySizes): boolean =>
  s.bucketPolicy <= POLICY_LIMITS.bucketPolicy && s.keyPolicy <= POLICY_LIMITS.keyPolicy;

/** How many of the listed consumers fit within both limits, in their order. */
export function consumersThatFit(cfg: SourceConfig): number {
  let lo = 0;
  let hi = cfg.consumers.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(policySizes({ ...cfg, consumers: cfg.consumers.slice(0, mid) }))) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Problems when a rendered policy would exceed its AWS limit; found before any resource is declared. */
export function policySizeProblems(cfg: SourceConfig): string[] {
  const sizes = policySizes(cfg);
  if (fits(sizes)) return [];
  const over = (["bucketPolicy", "keyPolicy"] as const)
    .filter((p) => sizes[p] > POLICY_LIMITS[p])
    .map(
      (p) =>
        `the ${p === "bucketPolicy" ? "bucket policy" : "key policy"} would be ${sizes[p].toLocaleString("en")} bytes, over AWS's limit of ${POLICY_LIMITS[p].toLocaleString("en")}`,
    );
  const org = cfg.consumerOrg;
  const orgParts = org
    ? [
        `${org.roleNames?.length ?? 0} ${configKey("consumerRoleNames")}`,
        `${org.orgPaths?.length ?? 0} ${configKey("consumerOrgPaths")}`,
      ]
    : [];
  const inputs = [`${cfg.consumers.length} ${configKey("consumers")}`, ...orgParts].join(", ");
  const withoutConsumers = policySizes({ ...cfg, consumers: [] });
  const scoped = cfg.consumers.filter((c) => (c.access ?? "read") !== "read" || c.prefixes !== undefined);
  const advice = !fits(withoutConsumers)
    ? `The organization grant alone is too large: list fewer ${configKey("consumerRoleNames")} or ${configKey("consumerOrgPaths")}.`
    : `The first ${consumersThatFit(cfg)} of ${configKey("consumers")} fit. To grant more readers of the whole bucket, grant their organization with ${configKey("consumerOrgId")} (or ${configKey("consumerOrgPaths")}), ` +
      `narrowed by ${configKey("consumerRoleNames")}: its size does not grow with the number of accounts.` +
      (scoped.length > 0
        ? ` An organization grant only reads the whole bucket, so it cannot replace the ${scoped.length} consumers with another access or prefixes: ` +
          "each distinct pair of access and prefixes is a statement of its own (two for prefixes that list), so give consumers that share a folder the same prefixes, or share fewer folders per bucket."
        : "");
  return [`With ${inputs}, ${over.join(", and ")}. ${advice}`];
}
