/** The target stack's config: its schema and defaults, and the instance's architecture. */
import { z } from "zod";
import { configKey, RawConfig } from "../project";
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
    .regex(MANAGED_POLICY_ARN, "must be an IAM managed policy ARN, arn:aws:iam::<account>:policy/<name>")
    .optional(),
  [configKey("copyTimeoutSeconds")]: intSchema(30, 3600, "the boot script's total retry time in seconds").optional(),
});

export function parseTargetConfig(raw: RawConfig): TargetConfig {
  const { config: c } = parse("target", raw, targetSchema);
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
