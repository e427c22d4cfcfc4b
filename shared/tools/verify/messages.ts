/**
 * What AWS's error text, as the boot script's marker line or an SDK exception carries it, says
 * about the broken link: a policy type (and since January 2026 the policy's ARN), no reason at
 * all, or that the endpoint was never reached. The phrasings:
 * - IAM User Guide, "Troubleshoot access denied error messages"
 *   (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html): an explicit
 *   deny says "with an explicit deny in a <type> policy", an implicit one "because no <type> policy
 *   allows the <action> action"; an SCP may say "due to an explicit deny in a Service Control
 *   Policy" even when the deny is implicit; when several types deny, AWS names only one.
 * - AWS Security Blog, "Enhanced access denied error messages with policy ARNs"
 *   (https://aws.amazon.com/blogs/security/enhanced-access-denied-error-messages-with-policy-arns):
 *   for callers in the same account or organization, the type is followed by the denying policy's
 *   ARN ("… with an explicit deny in a service control policy: arn:aws:organizations::…"), for
 *   SCPs, RCPs, permissions boundaries, session and identity-based policies.
 * - Amazon S3 User Guide, "Troubleshoot access denied (403 Forbidden) errors in Amazon S3"
 *   (https://docs.aws.amazon.com/AmazonS3/latest/userguide/troubleshoot-403-errors.html): the types
 *   S3 names. S3 adds this context only for requests from the bucket owner's account or
 *   organization: from elsewhere it says "Access Denied", and the evaluation must decide.
 * - `aws s3 cp` asks HeadObject first (awscli's s3transfer), and a HEAD error has no body: every
 *   refusal of the read reaches the console as "An error occurred (403) when calling the
 *   HeadObject operation: Forbidden", the status standing in for the missing error code.
 * - AWS re:Post, "Why do I get 'The ciphertext refers to a customer master key that does not
 *   exist…' when I download from S3?" (https://repost.aws/knowledge-center/s3-download-object-ciphertext-error):
 *   S3's answer when the caller may not use the object's KMS key.
 * - botocore's ConnectTimeoutError and EndpointConnectionError: "Connect timeout on endpoint URL:
 *   "<url>"" and "Could not connect to the endpoint URL: "<url>"".
 */
import { SourceContract } from "../../program/contract";
import type { TargetOutputs } from "../../program/target-outputs";
import { KMS_DECRYPT, KMS_GENERATE_DATA_KEY, S3_GET_OBJECT, S3_PUT_OBJECT } from "../../program/iam/access-levels";
import { ACCOUNT_ID_PATTERN, PARTITION } from "../../program/iam/arn";
import { BrokenLink, SOURCE_FIX, TARGET_FIX } from "./links";

interface Told {
  action: string;
  /** The account of the principal AWS names, else the reader role's. */
  principalAccount: string;
  /** "with an explicit deny in …", else "because no … allows". */
  explicit: boolean;
  /** The denying policy's ARN, when AWS names it. */
  policyArn?: string;
  src: SourceContract;
  tgt: TargetOutputs;
}

const denies = (t: Told): string => (t.explicit ? "denies" : "does not allow");

/** The policy by its ARN when AWS gave one, else by what AWS said of it. */
const named = (t: Told, type: string, otherwise: string): string =>
  t.policyArn ? `the ${type} ${t.policyArn}` : otherwise;

/** The message's policy type, first match wins (AWS names one); each rule says which link and what to change. */
const RULES: { re: RegExp; link: (t: Told) => BrokenLink }[] = [
  {
    re: /explicit deny in a service control policy|no service control policy allows/i,
    link: (t) => ({
      kind: "scp",
      problem: `${named(t, "service control policy", `a service control policy of the organization of account ${t.principalAccount}`)} ${denies(t)} ${t.action} (AWS's error message)`,
      fix: `outside this project: ask the organization's administrators to exempt ${t.tgt.roleArn} in account ${t.principalAccount} for ${t.action}${t.policyArn ? ` in ${t.policyArn}` : ""}`,
    }),
  },
  {
    re: /explicit deny in a resource control policy|no resource control policy allows/i,
    link: (t) => ({
      kind: "rcp",
      problem: `${named(t, "resource control policy", `a resource control policy of the organization of account ${t.src.accountId}`)} ${denies(t)} ${t.action} (AWS's error message)`,
      fix: `outside this project: ask the organization's administrators to allow ${t.tgt.roleArn} to use the resources of account ${t.src.accountId}${t.policyArn ? ` in ${t.policyArn}` : ""}`,
    }),
  },
  {
    re: /VPC endpoint policy/i,
    link: (t) => ({
      kind: "endpoint",
      problem: `the policy of the instance's S3 gateway endpoint ${denies(t)} ${t.action} (AWS's error message)`,
      fix: TARGET_FIX,
    }),
  },
  {
    re: /permissions boundary/i,
    link: (t) => ({
      kind: "boundary",
      problem: `${named(t, "permissions boundary", "the permissions boundary")} of ${t.tgt.roleArn} ${denies(t)} ${t.action} (AWS's error message)`,
      fix: "widen the boundary, or unset permissionsBoundaryArn in Pulumi.target.yaml; then npm run deploy -- --stack target",
    }),
  },
  {
    re: /session policy/i,
    link: (t) => ({
      kind: "session",
      problem: `${named(t, "session policy", "a session policy")} ${denies(t)} ${t.action} (AWS's error message)`,
      fix: "the instance's role session carries no session policy from this project: find who assumes the role with one",
    }),
  },
  {
    re: /identity-based policy/i,
    link: (t) => ({
      kind: "identity",
      problem: t.policyArn
        ? `the identity policy ${t.policyArn} of ${t.tgt.roleArn} ${denies(t)} ${t.action} (AWS's error message)`
        : `the identity policies of ${t.tgt.roleArn} do not allow ${t.action} (AWS's error message)`,
      fix:
        t.explicit && t.policyArn
          ? `this project does not write Deny statements into the role: remove that statement from ${t.policyArn} or detach it`
          : TARGET_FIX,
    }),
  },
  {
    // KMS's answer to a caller of another account: one sentence for three causes.
    re: /the resource does not exist in this Region, no resource-based policies allow access, or a resource-based policy explicitly denies access/i,
    link: (t) => ({
      kind: "key-policy",
      problem: `KMS refused ${t.action} on ${t.src.keyArn} for ${t.tgt.roleArn}: the key is not in the Region asked, or its key policy does not allow the role or denies it (AWS's error message, which does not say which)`,
      fix: `the key policy must allow ${t.action} via s3.${t.src.region}.amazonaws.com, and the key be in ${t.src.region}: ${SOURCE_FIX}`,
    }),
  },
  {
    re: /resource-based policy/i,
    link: (t) =>
      t.action.startsWith("kms:")
        ? {
            kind: "key-policy",
            problem: `the key policy (${t.src.keyArn}) ${denies(t)} ${t.action} for ${t.tgt.roleArn} (AWS's error message)`,
            fix: SOURCE_FIX,
          }
        : {
            kind: "bucket-policy",
            problem: `the bucket policy of ${t.src.bucketName} ${denies(t)} ${t.action} for ${t.tgt.roleArn} (AWS's error message)`,
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

/** The denying policy's ARN, after its type: "… policy: arn:…", "… permissions boundary: arn:…". */
const POLICY_ARN = new RegExp(`(?:policy|boundary): (arn:${PARTITION}:[^\\s"]*[^\\s".])`);

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
  const explicit = /explicit(?:ly)? den(?:y|ies)/i.test(text);
  const policyArn = POLICY_ARN.exec(text)?.[1];
  const link = RULES.find((r) => r.re.test(text))?.link({ action, principalAccount, explicit, policyArn, src, tgt });
  return link && policyArn ? { ...link, policyArn } : link;
}

/** botocore's words when the request never reached the endpoint (a connect timeout, a refused connection). */
const UNREACHABLE = /(?:Connect timeout on endpoint URL|Could not connect to the endpoint URL): "([^"]*)"/;

/** The endpoint URL the text says the request could not reach, if it says so. */
export const unreachedEndpoint = (text: string): string | undefined => UNREACHABLE.exec(text)?.[1];

/** A body-less error: the CLI shows the HTTP status where the error code would be. */
const BODYLESS = /An error occurred \((\d{3})\) when calling the (\w+) operation: ([A-Za-z ]+)/;

/** S3's denial to a caller outside the bucket owner's account and organization. */
const PLAIN_DENIAL = /An error occurred \(AccessDenied\) when calling the (\w+) operation: Access Denied\s*$/;

/**
 * Why AWS's text names no link, when it is a refusal that carries no reason: a HEAD error (no
 * body) or S3's plain "Access Denied". The diagnosis then rests on its evaluation alone.
 */
export function reasonless(text: string): string | undefined {
  const head = BODYLESS.exec(text);
  if (head)
    return `AWS's answer, "An error occurred (${head[1]}) when calling the ${head[2]} operation: ${head[3].trim()}", carries no reason: aws s3 cp asks ${head[2]} first, and an error to a HEAD request has no body`;
  const plain = PLAIN_DENIAL.exec(text);
  if (plain)
    return `AWS's answer to ${plain[1]}, "Access Denied", carries no reason: S3 names the denying policy only to callers of the bucket owner's account or organization`;
  return undefined;
}
