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
  const bad = report.access.filter((r) => !r.ok).length;
  out.push(`Access matrix: ${report.access.length} cases, ${report.access.length - bad} as expected, ${bad} not`, "");
  out.push(
    table(
      ["case", "principal", "action", "expected", "result", "ok"],
      report.access.map((r) => [r.case, r.principal, r.action, r.expected, r.result, r.ok ? "✓" : "✗"]),
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
  );
  if (d.policies.audit)
    out.push(
      "",
      `Audit log bucket policy (${d.policies.audit.logBucketArn}):`,
      pretty(d.policies.audit.logBucketPolicy),
    );
  return out.join("\n");
}

/** The plan's own verdict in a few lines: the counts, and each case that is not as expected. */
export function verdict(report: PlanReport): string {
  const bad = [...report.access, ...report.services].filter((r) => !r.ok);
  const lines = [
    `This checkout: ${report.access.length} access cases and ${report.services.length} service requests, ${bad.length} not as expected.`,
  ];
  for (const r of bad) lines.push(`  ✗ ${r.case}: ${r.principal} ${r.action} is ${r.result}, expected ${r.expected}`);
  return lines.join("\n");
}
