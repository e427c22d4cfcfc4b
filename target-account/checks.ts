/**
 * The target stack's checks, all before any resource is declared: its config, the source's
 * contract read through a StackReference and matched against it, a zone for the instance and the
 * architecture of its image.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
  Architecture,
  configKey,
  imageArchitecture,
  parseTargetConfig,
  RawConfig,
  TargetConfig,
} from "../shared/program/config";
import {
  accessGrantedTo,
  CONTRACT_KEYS,
  OPTIONAL_CONTRACT_KEYS,
  SourceContract,
  validateContract,
} from "../shared/program/contract";
import { UserError } from "../shared/program/errors";
import { levelReads } from "../shared/program/iam/access-levels";
import { roleArn } from "../shared/program/iam/arn";
import { insidePrefixes } from "./jobs";

const deployFirst = (stack: string): string =>
  `Deploy the source stack first (pulumi up -s source, in account A, on the same backend), or point ${configKey("sourceStack")} at it (now ${JSON.stringify(stack)}).`;

/** Reads and validates the source stack's outputs before any resource of this stack is declared. */
export async function readSourceContract(sourceStack: string): Promise<SourceContract> {
  const ref = new pulumi.StackReference(sourceStack);
  const values: Record<string, unknown> = {};
  try {
    for (const name of CONTRACT_KEYS) {
      const d = await ref.getOutputDetails(name);
      values[name] = d.value ?? d.secretValue;
    }
  } catch (e) {
    throw new UserError(
      `Cannot read the source stack ${JSON.stringify(sourceStack)}: ${e instanceof Error ? e.message : String(e)}\n${deployFirst(sourceStack)}`,
    );
  }
  const required = CONTRACT_KEYS.filter((n) => !OPTIONAL_CONTRACT_KEYS.includes(n));
  const missing = required.filter((n) => values[n] === undefined);
  if (missing.length === required.length) {
    throw new UserError(
      `The source stack ${JSON.stringify(sourceStack)} has no outputs: it has not been deployed. ${deployFirst(sourceStack)}`,
    );
  }
  if (missing.length > 0) {
    throw new UserError(
      `The source stack ${JSON.stringify(sourceStack)} lacks the outputs ${missing.join(", ")}. Run pulumi up -s source with this version of the program, then deploy the target again.`,
    );
  }
  const v = validateContract(values);
  if (!v.ok)
    throw new UserError(
      `The source stack ${JSON.stringify(sourceStack)} exports an invalid contract:\n${v.problems.map((p) => `  - ${p}`).join("\n")}`,
    );
  return v.contract;
}

/** The checks that need both this stack's config and the source's contract. */
export function contractProblems(cfg: TargetConfig, src: SourceContract): string[] {
  const problems: string[] = [];
  const self = roleArn({ accountId: cfg.accountId, roleName: cfg.roleName });
  if (src.region !== cfg.region) {
    problems.push(
      `aws:region = ${JSON.stringify(cfg.region)}, but the source bucket and key are in ${src.region}: set aws:region to ${src.region} (this scenario is same-region).`,
    );
  }
  if (src.accountId === cfg.accountId) {
    problems.push(
      `aws:allowedAccountIds = ["${cfg.accountId}"] is the source account too: the target must run in another account.`,
    );
  }
  // An organization grant cannot be checked offline: membership is the account's, in AWS Organizations.
  const org = src.consumerOrg;
  const grant = accessGrantedTo(src, self, cfg.roleName);
  if (grant === undefined) {
    const granted = [
      ...src.consumerRoleArns,
      ...(org
        ? [`roles named ${org.roleNames?.join(", ") ?? "anything"} in ${org.orgId ?? org.orgPaths?.join(", ")}`]
        : []),
    ];
    const fix = org
      ? `Add "${cfg.roleName}" to ${configKey("consumerRoleNames")} (or { accountId: "${cfg.accountId}", roleName: "${cfg.roleName}" } to ${configKey("consumers")})`
      : `Add { accountId: "${cfg.accountId}", roleName: "${cfg.roleName}" } to ${configKey("consumers")}`;
    problems.push(
      `This stack's role ${self} is not granted by the source (it grants ${granted.join("; ")}). ` +
        `${fix} in Pulumi.source.yaml, run pulumi up -s source, then deploy the target again.`,
    );
  }
  if (cfg.objectKey !== undefined && !src.objectKeys.includes(cfg.objectKey)) {
    problems.push(
      `${configKey("objectKey")} = ${JSON.stringify(cfg.objectKey)}: must be one of the source's objects: ${src.objectKeys.join(", ")}.`,
    );
  }
  if (cfg.objectKey !== undefined && grant !== undefined) {
    const key = `${configKey("objectKey")} = ${JSON.stringify(cfg.objectKey)}`;
    if (!levelReads(grant.access))
      problems.push(
        `${key}: the source grants ${self} ${grant.access} access, which reads nothing: leave ${configKey("objectKey")} unset (the instance only writes its receipt).`,
      );
    else if (!insidePrefixes(cfg.objectKey, grant.prefixes))
      problems.push(
        `${key}: must lie inside the key prefixes the source grants ${self} to read: ${grant.prefixes?.map((p) => JSON.stringify(p)).join(", ")}.`,
      );
  }
  return problems;
}

/** The first standard availability zone (by name) that offers the instance type: not every zone has every type. */
async function zoneOffering(cfg: TargetConfig): Promise<string> {
  const [offers, standard] = await Promise.all([
    aws.ec2.getInstanceTypeOfferings({
      locationType: "availability-zone",
      filters: [{ name: "instance-type", values: [cfg.instanceType] }],
    }),
    // Local and Wavelength Zones need an opt-in and their names sort first (us-west-2-lax-1a): standard zones only.
    aws.getAvailabilityZones({ filters: [{ name: "opt-in-status", values: ["opt-in-not-required"] }] }),
  ]);
  const zones = offers.locations.filter((z) => standard.names.includes(z)).sort();
  if (zones.length === 0) {
    throw new UserError(
      `${configKey("instanceType")} = ${JSON.stringify(cfg.instanceType)}: no availability zone of ${cfg.region} offers it to this account; choose another type (for example t3.micro).`,
    );
  }
  return zones[0];
}

/** The image's architecture, from AWS's description of the instance type (not from its name). */
async function instanceArchitecture(cfg: TargetConfig): Promise<Architecture> {
  const described = await aws.ec2.getInstanceType({ instanceType: cfg.instanceType });
  const chosen = imageArchitecture(cfg.instanceType, described.supportedArchitectures);
  if ("problem" in chosen) throw new UserError(chosen.problem);
  return chosen.architecture;
}

/** The target's config, the source's contract, the zone and the image's architecture, or a UserError listing what does not match. */
export async function checkTarget(
  raw: RawConfig,
): Promise<{ cfg: TargetConfig; src: SourceContract; availabilityZone: string; architecture: Architecture }> {
  const cfg = parseTargetConfig(raw);
  const src = await readSourceContract(cfg.sourceStack);
  const problems = contractProblems(cfg, src);
  if (problems.length > 0) {
    throw new UserError(
      `The target stack does not match the source stack ${JSON.stringify(cfg.sourceStack)}:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
    );
  }
  const architecture = await instanceArchitecture(cfg);
  return { cfg, src, availabilityZone: await zoneOffering(cfg), architecture };
}
