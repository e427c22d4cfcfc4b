/** The target stack's config: its schema and defaults, and the rules for the instance type and its image. */
import { ec2 } from "@pulumi/aws/types/enums";
import { z } from "zod";
import { configKey, RawConfig } from "../project";
import { editDistance } from "./keys";
import { parse } from "./parse";
import {
  allowedAccountIdsSchema,
  boolSchema,
  defaultedName,
  intSchema,
  MANAGED_POLICY_ARN,
  objectKeyProblem,
  regionSchema,
  roleNameSchema,
  rule,
} from "./rules";

export const TARGET_DEFAULTS = {
  sourceStack: "organization/cross-account-s3-kms/source",
  roleName: "account-b-role",
  destinationDir: "/var/lib/cross-account-s3-kms",
  instanceType: "t4g.nano",
  useDefaultVpc: false,
  enableSsm: false,
  copyTimeoutSeconds: 300,
};

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
  /** A fixed AMI; undefined means the latest Amazon Linux 2023 from the public SSM parameter. */
  amiId?: string;
  useDefaultVpc: boolean;
  enableSsm: boolean;
  permissionsBoundaryArn?: string;
  copyTimeoutSeconds: number;
}

/** The instance types the AWS provider knows (@pulumi/aws ec2.InstanceType). */
const INSTANCE_TYPES: readonly string[] = Object.values(ec2.InstanceType);

/** The known types nearest to a value (by edit distance), at most four. */
export function nearestInstanceTypes(value: string): string[] {
  const scored = INSTANCE_TYPES.map((t) => ({ t, d: editDistance(value, t) }));
  const best = Math.min(...scored.map((s) => s.d));
  return scored
    .filter((s) => s.d === best && best <= Math.max(2, value.length / 3))
    .map((s) => s.t)
    .sort()
    .slice(0, 4);
}

export function instanceTypeProblem(value: string): string | undefined {
  if (INSTANCE_TYPES.includes(value)) return undefined;
  const near = nearestInstanceTypes(value);
  return `is not an EC2 instance type the AWS provider knows (@pulumi/aws ec2.InstanceType)${near.length ? `; nearest: ${near.join(", ")}` : ", e.g. t4g.nano or t3.micro"}`;
}

/** The AMI architectures this program boots (Amazon Linux 2023's public parameters). */
export const ARCHITECTURES = ["x86_64", "arm64"] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

/**
 * The image's architecture for an instance type, from AWS's answer (DescribeInstanceTypes'
 * SupportedArchitectures): a type's list holds at most one of these; Mac types list only
 * x86_64_mac or arm64_mac, which Amazon Linux does not run on.
 */
export function imageArchitecture(
  instanceType: string,
  supported: readonly string[],
): { architecture: Architecture } | { problem: string } {
  const architecture = ARCHITECTURES.find((a) => supported.includes(a));
  if (architecture !== undefined) return { architecture };
  return {
    problem: `${configKey("instanceType")} = ${JSON.stringify(instanceType)}: AWS reports its architectures as ${supported.join(", ") || "none"}; this program boots Amazon Linux 2023, which needs ${ARCHITECTURES.join(" or ")}: choose another type (for example t4g.nano or t3.micro)`,
  };
}

const targetSchema = z.object({
  [configKey("side")]: z.literal("target"),
  "aws:region": regionSchema,
  "aws:allowedAccountIds": allowedAccountIdsSchema,
  [configKey("sourceStack")]: defaultedName(
    z
      .string(rule("must be a stack name"))
      .regex(
        /^([\w.-]+\/){0,2}[\w.-]+$/,
        "must be a stack name: <stack>, <project>/<stack> or <organization>/<project>/<stack>",
      ),
  ).optional(),
  [configKey("roleName")]: defaultedName(roleNameSchema).optional(),
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
    .superRefine((t, ctx) => {
      const message = instanceTypeProblem(t);
      if (message) ctx.addIssue({ code: "custom", message });
    })
    .optional(),
  [configKey("amiId")]: z
    .string(rule("must be an AMI ID"))
    .regex(/^ami-[0-9a-f]{8}([0-9a-f]{9})?$/, "must be an AMI ID, ami- then 8 or 17 hex digits")
    .optional(),
  [configKey("useDefaultVpc")]: boolSchema.optional(),
  [configKey("enableSsm")]: boolSchema.optional(),
  [configKey("permissionsBoundaryArn")]: z
    .string(rule("must be an IAM policy ARN"))
    .regex(MANAGED_POLICY_ARN, "must be an IAM managed policy ARN, arn:aws:iam::<account>:policy/<name>")
    .optional(),
  [configKey("copyTimeoutSeconds")]: intSchema(30, 3600, "the boot script's total retry time in seconds").optional(),
});

/** IAM takes only this account's or AWS's own managed policies as a role's permissions boundary. */
function boundaryProblems(c: z.output<typeof targetSchema>): string[] {
  const arn = c[configKey("permissionsBoundaryArn")];
  const accountId = c["aws:allowedAccountIds"][0];
  const owner = arn === undefined ? undefined : MANAGED_POLICY_ARN.exec(arn)?.[1];
  return owner === undefined || owner === "aws" || owner === accountId
    ? []
    : [
        `${configKey("permissionsBoundaryArn")} = ${JSON.stringify(arn)}: is a policy of account ${owner}, but this stack's role is in account ${accountId} (aws:allowedAccountIds); IAM takes only a policy of the role's own account (or an AWS managed policy) as its permissions boundary`,
      ];
}

export function parseTargetConfig(raw: RawConfig): TargetConfig {
  const { config: c } = parse("target", raw, targetSchema, (c) => ({
    value: undefined,
    problems: boundaryProblems(c),
  }));
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
    amiId: c[configKey("amiId")],
    useDefaultVpc: c[configKey("useDefaultVpc")] ?? TARGET_DEFAULTS.useDefaultVpc,
    enableSsm: c[configKey("enableSsm")] ?? TARGET_DEFAULTS.enableSsm,
    permissionsBoundaryArn: c[configKey("permissionsBoundaryArn")],
    copyTimeoutSeconds: c[configKey("copyTimeoutSeconds")] ?? TARGET_DEFAULTS.copyTimeoutSeconds,
  };
}
