/**
 * The plan as an artifact: what `plan --json` prints, read back as data by the tools that must not
 * run the code that wrote it (`review`, `analyze --head`: the default branch's code on a pull
 * request's plan). Everything is checked against its schema, and the access model against the
 * resources it was captured from, before any of it is used.
 */
import * as fs from "fs";
import { z } from "zod";
import type { AccessPolicies } from "../../offline/access/capture";
import { validateContract, type SourceContract } from "../../program/contract";
import { accountIdSchema, regionSchema } from "../../program/config/rules";
import type { PolicyDocument } from "../../program/iam/document";
import { parseRoleArn, roleArn } from "../../program/iam/arn";
import { UserError } from "../../program/errors";
import type { PlanReport } from "./report";

/** What the access matrix evaluates: enough to evaluate it again, elsewhere, with other code. */
export interface AccessModel {
  contract: SourceContract;
  policies: AccessPolicies;
}

/** What `plan --json` prints (with --base, its `changes` too). */
export type PlanArtifact = PlanReport & { accessModel: AccessModel };

/** A plan of 200 consumers is about 3 MB: anything far larger is not a plan. */
export const MAX_ARTIFACT_BYTES = 64 * 1024 * 1024;

const values = z.union([z.string(), z.array(z.string())]);
// The Statement type's fields only: a field the program never writes (NotPrincipal, NotAction) is
// one the evaluator here was not built for, so it is refused, not silently misread.
const statement = z.strictObject({
  Sid: z.string(),
  Effect: z.enum(["Allow", "Deny"]),
  Principal: z
    .union([z.literal("*"), z.strictObject({ AWS: values.optional(), Service: values.optional() })])
    .optional(),
  Action: values,
  Resource: values.optional(),
  Condition: z.record(z.string(), z.record(z.string(), values)).optional(),
});
const document = z.strictObject({ Version: z.literal("2012-10-17"), Statement: z.array(statement) });

const principal = z.strictObject({
  accountId: accountIdSchema,
  roleName: z.string().min(1),
  orgId: z.string().optional(),
  orgPath: z.string().optional(),
});

const policies = z.strictObject({
  bucket: document,
  key: document,
  consumers: z.array(z.strictObject({ role: principal, identity: z.array(document), endpoint: document.optional() })),
  restrictPublicBuckets: z.boolean(),
  audit: z.strictObject({ trailArn: z.string(), logBucketArn: z.string(), logBucketPolicy: document }).optional(),
  uploads: z.array(z.strictObject({ key: z.string(), headers: z.record(z.string(), z.string()) })),
});

const stack = z.object({
  accountId: accountIdSchema,
  region: regionSchema,
  resources: z.array(z.strictObject({ type: z.string(), name: z.string(), inputs: z.record(z.string(), z.unknown()) })),
  outputs: z.record(z.string(), z.unknown()),
});

const artifact = z.object({
  source: stack,
  target: stack,
  accessModel: z.strictObject({ contract: z.record(z.string(), z.unknown()), policies }),
});

type Stack = PlanReport["source"];

/** The policy texts a stack sends in one field of the resources of one type that `where` picks. */
const sent = (s: Stack, type: string, field: string, where: (inputs: Record<string, unknown>) => boolean) =>
  s.resources.filter((r) => r.type === type && where(r.inputs)).map((r) => r.inputs[field]);

/** JSON with every object's keys sorted: the schema's parse may order keys its own way. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );

const parsed = (text: unknown): unknown => {
  try {
    return typeof text === "string" ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
};

/** Whether policy texts, as sent, are the documents the model evaluates, in order. */
const same = (texts: unknown[], docs: PolicyDocument[]): boolean =>
  texts.length === docs.length && texts.every((t, i) => canonical(parsed(t)) === canonical(docs[i]));

/**
 * Where the access model's documents differ from what the stacks send (the policies a review
 * shows): the bucket's, the key's, and the identity policies of the target's own role.
 */
function mismatches(report: Pick<PlanReport, "source" | "target">, model: AccessModel): string[] {
  const { policies, contract } = model;
  const problems: string[] = [];
  const bucket = sent(
    report.source,
    "aws:s3/bucketPolicy:BucketPolicy",
    "policy",
    (i) => i.bucket === contract.bucketName,
  );
  if (!same(bucket, [policies.bucket]))
    problems.push("the bucket policy it evaluates is not the one the source stack sends");
  if (
    !same(
      sent(report.source, "aws:kms/key:Key", "policy", () => true),
      [policies.key],
    )
  )
    problems.push("the key policy it evaluates is not the one the source stack sends");
  const own = parseRoleArn(String(report.target.outputs.roleArn));
  const consumer = own && policies.consumers.find((c) => roleArn(c.role) === roleArn(own));
  if (
    consumer &&
    !same(
      sent(report.target, "aws:iam/rolePolicy:RolePolicy", "policy", () => true),
      consumer.identity,
    )
  )
    problems.push("the target role's identity policies it evaluates are not the ones the target stack sends");
  return problems;
}

/**
 * Reads a plan's JSON as data: exit 2 (UserError), naming the file, for anything that is not a
 * plan, is too large, or whose access model does not match its own resources.
 */
export function readPlanArtifact(file: string, label: string): { report: PlanReport; model: AccessModel } {
  let text: string;
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile()) throw new UserError(`${label} ${file}: not a regular file`);
    if (stat.size > MAX_ARTIFACT_BYTES)
      throw new UserError(`${label} ${file}: ${stat.size} bytes, more than a plan's ${MAX_ARTIFACT_BYTES}`);
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${label} ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${label} ${file}: not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  const checked = artifact.safeParse(json);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw new UserError(
      `${label} ${file}: not a plan's JSON (npm run plan -- --json): ${issue.path.join(".") || "(top)"}: ${issue.message}`,
    );
  }
  const data = checked.data;
  const contract = validateContract(data.accessModel.contract);
  if (!contract.ok) throw new UserError(`${label} ${file}: its contract is invalid: ${contract.problems.join("; ")}`);
  const model: AccessModel = { contract: contract.contract, policies: data.accessModel.policies };
  // Evaluated again by the reader: whatever results the writer put in the file are not read.
  const report: PlanReport = { source: data.source, target: data.target, access: [], services: [] };
  const problems = mismatches(report, model);
  if (problems.length > 0) throw new UserError(`${label} ${file}: ${problems.join("; ")}`);
  return { report, model };
}
