/**
 * The broken links `npm run verify` names without evaluating policies: the reader role, the
 * instance's profile, the object's key, the regions, deleted roles in the source's policies, and
 * AWS's own detailed AccessDenied messages turned into advice. The messages' phrasings:
 * - IAM User Guide, "Troubleshoot access denied error messages"
 *   (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html): an explicit
 *   deny says "with an explicit deny in a <type> policy", an implicit one "because no <type> policy
 *   allows the <action> action"; an SCP may say "due to an explicit deny in a Service Control
 *   Policy" even when the deny is implicit; when several types deny, AWS names only one.
 * - Amazon S3 User Guide, "Troubleshoot access denied (403 Forbidden) errors in Amazon S3"
 *   (https://docs.aws.amazon.com/AmazonS3/latest/userguide/troubleshoot-403-errors.html): the types
 *   S3 names (service control, resource control, VPC endpoint, permissions boundary, session,
 *   identity-based, resource-based). S3 adds this context only for requests from the bucket owner's
 *   account or organization: from elsewhere it says "Access Denied", and the evaluation must decide.
 * - AWS re:Post, "Why do I get 'The ciphertext refers to a customer master key that does not
 *   exist…' when I download from S3?" (https://repost.aws/knowledge-center/s3-download-object-ciphertext-error):
 *   S3's answer when the caller may not use the object's KMS key.
 */
import { SourceContract } from "../../program/contract";
import { awsPrincipals } from "../../offline/policy-queries";
import type { TargetOutputs } from "../../program/target-outputs";
import { LiveState } from "./live";
import { KMS_DECRYPT, KMS_GENERATE_DATA_KEY, S3_GET_OBJECT, S3_PUT_OBJECT } from "../../program/iam/access-levels";
import { ACCOUNT_ID_PATTERN, PARTITION } from "../../program/iam/arn";

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
  | "combination";

export interface BrokenLink {
  kind: LinkKind;
  /** The policy or setting (by name and ARN) and what it denies or what is wrong. */
  problem: string;
  /** What to change. */
  fix: string;
}

export const SOURCE_FIX =
  "the source stack grants this role, so the live policy was changed outside Pulumi: run pulumi refresh --stack source, then npm run deploy -- --stack source to restore it";

export const TARGET_FIX =
  "the target stack writes this policy, so it was changed outside Pulumi: run pulumi refresh --stack target, then npm run deploy -- --stack target to restore it";

interface Told {
  action: string;
  /** The account of the principal AWS names, else the reader role's. */
  principalAccount: string;
  src: SourceContract;
  tgt: TargetOutputs;
}

/** The message's policy type, first match wins (AWS names one); each rule says which link and what to change. */
const RULES: { re: RegExp; link: (t: Told) => BrokenLink }[] = [
  {
    re: /explicit deny in a service control policy|no service control policy allows/i,
    link: (t) => ({
      kind: "scp",
      problem: `a service control policy of the organization of account ${t.principalAccount} denies ${t.action} (AWS's error message)`,
      fix: `outside this project: ask the organization's administrators to exempt ${t.tgt.roleArn} in account ${t.principalAccount} for ${t.action}`,
    }),
  },
  {
    re: /explicit deny in a resource control policy|no resource control policy allows/i,
    link: (t) => ({
      kind: "rcp",
      problem: `a resource control policy of the organization of account ${t.src.accountId} denies ${t.action} (AWS's error message)`,
      fix: `outside this project: ask the organization's administrators to allow ${t.tgt.roleArn} to use the resources of account ${t.src.accountId}`,
    }),
  },
  {
    re: /VPC endpoint policy/i,
    link: (t) => ({
      kind: "endpoint",
      problem: `the policy of the instance's S3 gateway endpoint denies ${t.action} (AWS's error message)`,
      fix: TARGET_FIX,
    }),
  },
  {
    re: /permissions boundary/i,
    link: (t) => ({
      kind: "boundary",
      problem: `the permissions boundary of ${t.tgt.roleArn} denies ${t.action} (AWS's error message)`,
      fix: "widen the boundary, or unset permissionsBoundaryArn in Pulumi.target.yaml; then npm run deploy -- --stack target",
    }),
  },
  {
    re: /session policy/i,
    link: (t) => ({
      kind: "session",
      problem: `a session policy denies ${t.action} (AWS's error message)`,
      fix: "the instance's role session carries no session policy from this project: find who assumes the role with one",
    }),
  },
  {
    re: /identity-based policy/i,
    link: (t) => ({
      kind: "identity",
      problem: `the identity policies of ${t.tgt.roleArn} do not allow ${t.action} (AWS's error message)`,
      fix: TARGET_FIX,
    }),
  },
  {
    re: /resource-based policy/i,
    link: (t) =>
      t.action.startsWith("kms:")
        ? {
            kind: "key-policy",
            problem: `the key policy (${t.src.keyArn}) does not allow ${t.action} for ${t.tgt.roleArn} (AWS's error message)`,
            fix: SOURCE_FIX,
          }
        : {
            kind: "bucket-policy",
            problem: `the bucket policy of ${t.src.bucketName} does not allow ${t.action} for ${t.tgt.roleArn} (AWS's error message)`,
            fix: SOURCE_FIX,
          },
  },
  {
    re: /ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access it/i,
    link: (t) => ({
      kind: "key-policy",
      problem: `S3 could not use the object's KMS key for ${t.tgt.roleArn}: the key policy (${t.src.keyArn}) does not allow kms:Decrypt via S3, or the key is in another region than the bucket (AWS's error message)`,
      fix: `check the key policy's consumer statement and that the key and the bucket are both in ${t.src.region}; then npm run deploy -- --stack source`,
    }),
  },
  {
    re: /not authorized to perform: kms:Decrypt/i,
    link: (t) => ({
      kind: "key-policy",
      problem: `KMS refused kms:Decrypt on ${t.src.keyArn} for ${t.tgt.roleArn}: the key policy or the role's identity policy lacks it (AWS's error message)`,
      fix: `the key policy must allow it via s3.${t.src.region}.amazonaws.com, and the role's policy on the key's full ARN; npm run deploy restores both`,
    }),
  },
];

/** The account of the principal AWS names in its message: an assumed-role session or an IAM ARN. */
const PRINCIPAL_IN_MESSAGE = new RegExp(`arn:${PARTITION}:(?:sts|iam)::(${ACCOUNT_ID_PATTERN}):`);

/**
 * The broken link AWS's error text names, if it names one. When the text names no action, it is
 * the job's: a read's s3:GetObject or the kms:Decrypt S3 makes for it, a write's s3:PutObject or kms:GenerateDataKey.
 */
export function fromMessage(
  text: string,
  src: SourceContract,
  tgt: TargetOutputs,
  job: "read" | "write" = "read",
): BrokenLink | undefined {
  const kms = /kms|ciphertext/i.test(text);
  const action =
    /perform: ([a-z0-9-]+:[A-Za-z0-9]+)/.exec(text)?.[1] ??
    (job === "write" ? (kms ? KMS_GENERATE_DATA_KEY : S3_PUT_OBJECT) : kms ? KMS_DECRYPT : S3_GET_OBJECT);
  const readerAccount = tgt.roleArn.split(":")[4];
  const principalAccount = PRINCIPAL_IN_MESSAGE.exec(text)?.[1] ?? readerAccount;
  const rule = RULES.find((r) => r.re.test(text));
  return rule?.link({ action, principalAccount, src, tgt });
}

/** The links that are not policies: the role, the instance's profile, the object's key, the regions. */
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
