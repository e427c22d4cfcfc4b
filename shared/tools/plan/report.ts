/** The plan's report: its shape (what `--json` prints), the human tables and the verdict. */
import type { AccessResult, Deployment } from "../../offline/access";
import { roleArn } from "../../program/iam/arn";
import type { PolicyDocument } from "../../program/iam/document";
import { EXIT, ExitCode } from "../cli";
import { table } from "../cli/format";

export interface StackPlan {
  accountId: string;
  region: string;
  resources: { type: string; name: string; inputs: Record<string, unknown> }[];
  /** The provider functions (data sources) the program called and what it asked (their answers are the mocks', so left out); absent from an older plan's JSON. */
  lookups?: { token: string; args: Record<string, unknown> }[];
  outputs: Record<string, unknown>;
}

export interface PlanReport {
  source: StackPlan;
  target: StackPlan;
  access: AccessResult[];
  /** What AWS services and the deployer request for this deployment. */
  services: AccessResult[];
}

export const exitCodeFor = (...results: AccessResult[][]): ExitCode =>
  results.flat().every((r) => r.ok) ? EXIT.ok : EXIT.failed;

const pretty = (doc: PolicyDocument): string => JSON.stringify(doc, null, 2);

const ENCRYPTION_CONFIGURATION =
  "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration";

/** Whether the shared bucket's default encryption uses a Bucket Key, as the source stack declares it. */
function bucketKeyEnabled(d: Deployment): boolean {
  return d.source.resources.some(
    (r) =>
      r.type === ENCRYPTION_CONFIGURATION &&
      r.inputs.bucket === d.contract.bucketName &&
      Array.isArray(r.inputs.rules) &&
      r.inputs.rules.some((rule: { bucketKeyEnabled?: unknown }) => rule.bucketKeyEnabled === true),
  );
}

/** What the prefixes cannot narrow, when a consumer has some and the bucket has a Bucket Key. */
export function prefixKmsNote(d: Deployment): string | undefined {
  if (!(d.contract.consumerAccess ?? []).some((a) => a.prefixes) || !bucketKeyEnabled(d)) return undefined;
  return [
    "Note: KMS cannot be narrowed per prefix. With a Bucket Key, S3 calls KMS with the bucket's ARN as the",
    "encryption context (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-key.html), so a prefix",
    "consumer's kms:Decrypt (and a writer's kms:GenerateDataKey) via S3 holds for every object: its prefixes are",
    "enforced by the bucket policy alone. Isolating prefixes cryptographically takes one KMS key per prefix.",
  ].join("\n");
}

/** Which evaluations of a case are not as expected: with the principal's own policies, on the source side alone. */
function failedEvaluations(r: AccessResult): string[] {
  const wrong = (result: string) => (result === "Allowed") !== (r.expected === "Allowed");
  return [
    ...(wrong(r.result) ? ["with its own policies"] : []),
    ...(r.sourceSideAlone !== undefined && wrong(r.sourceSideAlone) ? ["on the source side alone"] : []),
  ];
}

export function humanReport(report: PlanReport, d: Deployment): string {
  const out: string[] = [
    "Offline plan under Pulumi mocks: no credentials, no cloud. IDs and ARNs the cloud assigns (key ID, instance ID) are placeholders.",
    "",
  ];
  for (const [name, s] of [
    ["source", report.source],
    ["target", report.target],
  ] as const) {
    const counts = new Map<string, number>();
    for (const r of s.resources) counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
    out.push(`${name} stack: account ${s.accountId}, ${s.region}, ${s.resources.length} resources`);
    for (const [type, n] of [...counts].sort()) out.push(`  ${String(n).padStart(3)}  ${type}`);
    out.push("");
  }
  out.push(`Bucket policy (${d.contract.bucketName}, account ${d.contract.accountId}):`, pretty(d.policies.bucket), "");
  out.push(`Key policy (${d.contract.keyArn}):`, pretty(d.policies.key), "");
  for (const c of d.policies.consumers) {
    for (const doc of c.identity) out.push(`Identity policy of ${roleArn(c.role)}:`, pretty(doc), "");
    if (c.endpoint) out.push(`S3 gateway endpoint policy in account ${c.role.accountId}:`, pretty(c.endpoint), "");
  }
  if (d.policies.audit)
    out.push(
      `Audit log bucket policy (${d.policies.audit.logBucketArn}):`,
      pretty(d.policies.audit.logBucketPolicy),
      "",
    );
  const bad = report.access.filter((r) => !r.ok).length;
  out.push(
    `Access matrix: ${report.access.length} cases, ${report.access.length - bad} as expected, ${bad} not. ` +
      "A consumer's case is evaluated twice: with its own policies (result), and with an identity policy that " +
      "allows everything and no endpoint policy (source side alone: what account A's policies alone answer).",
    "",
  );
  out.push(
    table(
      ["case", "principal", "action", "expected", "result", "source side alone", "ok", "AWS documentation"],
      report.access.map((r) => [
        r.case,
        r.principal,
        r.action,
        r.expected,
        r.result,
        r.sourceSideAlone ?? "",
        r.ok ? "✓" : "✗",
        r.cites ?? "",
      ]),
    ),
    "",
  );
  const badService = report.services.filter((r) => !r.ok).length;
  out.push(
    `Service requests (AWS services and the deployer, for this deployment): ${report.services.length} cases, ` +
      `${report.services.length - badService} as expected, ${badService} not`,
    "",
    table(
      ["case", "principal", "action", "expected", "result", "ok", "AWS documentation"],
      report.services.map((r) => [
        r.case,
        r.principal,
        r.action,
        r.expected,
        r.result,
        r.ok ? "✓" : "✗",
        r.cites ?? "",
      ]),
    ),
    "",
  );
  const note = prefixKmsNote(d);
  if (note) out.push(note, "");
  out.push(verdict(report));
  return out.join("\n");
}

/** The plan's own verdict in a few lines: the counts, and each case that is not as expected. */
export function verdict(report: PlanReport): string {
  const bad = [...report.access, ...report.services].filter((r) => !r.ok);
  const lines = [
    `This checkout: ${report.access.length} access cases and ${report.services.length} service requests, ${bad.length} not as expected.`,
  ];
  for (const r of bad) {
    const alone = r.sourceSideAlone === undefined ? "" : `, ${r.sourceSideAlone} on the source side alone`;
    lines.push(
      `  ✗ ${r.case}: ${r.principal} ${r.action} is ${r.result}${alone}, expected ${r.expected}: ` +
        `not as expected ${failedEvaluations(r).join(" and ")}`,
    );
  }
  return lines.join("\n");
}
