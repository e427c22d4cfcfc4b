/**
 * The broken links `npm run verify` names without evaluating policies: the reader role, the
 * instance's profile, the object's key, the regions, the instance's route to S3, and deleted roles
 * in the source's policies. AWS's own error texts are read in messages.ts.
 */
import { SourceContract } from "../../program/contract";
import { awsPrincipals } from "../../offline/policy-queries";
import type { TargetOutputs } from "../../program/target-outputs";
import { LiveState } from "./live";
import { networkProblems } from "./network";

export type LinkKind =
  | "bucket-policy"
  | "key-policy"
  | "identity"
  | "boundary"
  | "endpoint"
  | "session"
  | "scp"
  | "rcp"
  | "role"
  | "profile"
  | "object"
  | "region"
  | "deleted-role"
  | "network"
  | "combination";

export interface BrokenLink {
  kind: LinkKind;
  /** The policy or setting (by name and ARN) and what it denies or what is wrong. */
  problem: string;
  /** What to change. */
  fix: string;
  /** The denying policy's ARN, when AWS's message named it. */
  policyArn?: string;
}

export const SOURCE_FIX =
  "the source stack grants this role, so the live policy was changed outside Pulumi: run pulumi refresh --stack source, then npm run deploy -- --stack source to restore it";

export const TARGET_FIX =
  "the target stack writes this policy, so it was changed outside Pulumi: run pulumi refresh --stack target, then npm run deploy -- --stack target to restore it";

/** The links that are not policies: the role, the instance's profile, its route to S3, the object's key, the regions. */
export function structural(src: SourceContract, tgt: TargetOutputs, live: LiveState, notes: string[]): BrokenLink[] {
  const links: BrokenLink[] = [];
  const add = (kind: LinkKind, problem: string, fix: string) => links.push({ kind, problem, fix });
  const deployTarget = "npm run deploy -- --stack target";
  if (live.roleExists === false)
    add("role", `the reader role ${tgt.roleArn} does not exist`, `deploy it: ${deployTarget}`);
  if (live.profile === null) add("profile", `the instance ${tgt.instanceId} has no instance profile`, deployTarget);
  else if (live.profile && !live.profile.roles.includes(tgt.roleArn))
    add(
      "profile",
      `the instance profile ${live.profile.arn} carries ${live.profile.roles.join(", ") || "no role"}, not the reader role ${tgt.roleArn}`,
      deployTarget,
    );
  for (const p of live.network ? networkProblems(live.network) : []) add("network", p.problem, p.fix);
  const o = live.object;
  // live.object is read only for an object to copy.
  const s3Uri = `s3://${src.bucketName}/${tgt.objectKey ?? ""}`;
  const reEncrypt = `re-encrypt it in place with account A's credentials: aws s3 cp ${s3Uri} ${s3Uri} --sse aws:kms --sse-kms-key-id ${src.keyArn}`;
  if (o && o.sse !== "aws:kms")
    add("object", `${s3Uri} is encrypted with ${o.sse ?? "nothing"}, not the stack's key`, reEncrypt);
  else if (o && o.keyId !== src.keyArn)
    add(
      "object",
      `${s3Uri} is encrypted under ${o.keyId ?? "an unnamed key"}, not the stack's key ${src.keyArn}: that key's policy, which this project does not manage, decides the Decrypt`,
      reEncrypt,
    );
  else if (o && !o.bucketKey)
    notes.push(`${s3Uri} was written without Bucket Key: S3 calls KMS for every read (the key policy allows it)`);
  const keyRegion = src.keyArn.split(":")[3];
  const b = live.bucketRegion;
  if (b && b !== src.region)
    add(
      "region",
      `the bucket ${src.bucketName} is in ${b}, but the source stack's outputs say ${src.region}`,
      `npm run deploy -- --stack source`,
    );
  if (b && keyRegion !== b)
    add(
      "region",
      `the key ${src.keyArn} is in ${keyRegion} and the bucket in ${b}: S3 uses only a KMS key of its own region`,
      "deploy the source with one aws:region in Pulumi.source.yaml: npm run deploy -- --stack source",
    );
  // From a private subnet, the gateway endpoint is the only way to S3, and it serves only its own region.
  if (b && live.targetRegion && live.targetRegion !== b && live.endpoint !== null)
    add(
      "region",
      `the instance runs in ${live.targetRegion} and the bucket is in ${b}: its S3 gateway endpoint serves only ${live.targetRegion}`,
      `set aws:region: ${b} in Pulumi.target.yaml and run ${deployTarget}`,
    );
  else if (b && live.targetRegion && live.targetRegion !== b)
    notes.push(`the instance runs in ${live.targetRegion} and the bucket is in ${b}: its copy crosses regions`);
  return links;
}

const UNIQUE_ID = /AROA[A-Z0-9]{16,}/;

/** A principal AWS rewrote to a unique ID (AROA…) is a role that was deleted since the policy named it. */
export function deletedRoles(live: LiveState): BrokenLink[] {
  return [live.bucketPolicy, live.keyPolicy].flatMap((p) =>
    !p
      ? []
      : p.doc.Statement.flatMap((s) =>
          awsPrincipals(s.Principal)
            .filter((a) => UNIQUE_ID.test(a))
            .map((id) => ({
              kind: "deleted-role" as const,
              problem: `${p.name} names ${id} in statement ${s.Sid ?? "(no Sid)"}: the unique ID of a deleted role (AWS rewrote its ARN)`,
              fix: "redeploy the source stack (npm run deploy -- --stack source), which grants by account root and aws:PrincipalArn",
            })),
        ),
  );
}
