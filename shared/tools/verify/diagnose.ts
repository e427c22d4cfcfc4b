/**
 * The diagnosis of `npm run verify`: when a check fails, which link of the role's access is broken
 * and what to change. It reads the live state (live.ts), finds the links that need no evaluation
 * and reads AWS's own AccessDenied text (links.ts), and evaluates the requests of the role's level
 * (a read's GetObject and Decrypt, a write's PutObject and GenerateDataKey) with the offline plan's
 * access model (shared/offline/access) on the LIVE policies.
 */
import type { AccessPolicies, AccessRequest } from "../../offline/access";
import { SourceContract } from "../../program/contract";
import { parseRoleArn, s3ViaService } from "../../program/iam/arn";
import { PolicyDocument } from "../../program/iam/document";
import type { VerifyClients } from "./clients";
import type { TargetOutputs } from "../../program/target-outputs";
import { errorText, LivePolicy, LiveReads, LiveState, readLive } from "./live";
import { BrokenLink, deletedRoles, LinkKind, SOURCE_FIX, structural, TARGET_FIX } from "./links";
import { fromMessage, reasonless, unreachedEndpoint } from "./messages";
import { KMS_DECRYPT, KMS_GENERATE_DATA_KEY, S3_GET_OBJECT, S3_PUT_OBJECT } from "../../program/iam/access-levels";

export type { BrokenLink, LinkKind } from "./links";

export interface Diagnosis {
  links: BrokenLink[];
  /** What the diagnosis could not read or evaluate, and other remarks. */
  notes: string[];
}

type Access = typeof import("../../offline/access");
type Verdict = Awaited<ReturnType<Access["evaluate"]>>;

/** The policies of one evaluation; an absent one is replaced by a policy that allows exactly the request. */
interface World {
  bucket?: PolicyDocument;
  key?: PolicyDocument;
  identity?: PolicyDocument[];
  endpoint?: PolicyDocument;
}

const allowing = (r: AccessRequest, principal?: PolicyDocument["Statement"][number]["Principal"]): PolicyDocument => ({
  Version: "2012-10-17",
  Statement: [
    {
      Sid: "StandIn",
      Effect: "Allow",
      Action: r.action,
      Resource: r.resource,
      ...(principal && { Principal: principal }),
    },
  ],
});

async function verdict(access: Access, src: SourceContract, r: AccessRequest, w: World): Promise<Verdict> {
  // The resource stand-in names the role itself, not "*": a public policy would meet RestrictPublicBuckets.
  const open = allowing(r, { AWS: `arn:aws:iam::${r.principal?.accountId}:role/${r.principal?.roleName}` });
  // Block Public Access is taken to be on, as the program sets it: no grant this diagnosis reads is public.
  const policies: AccessPolicies = {
    bucket: w.bucket ?? open,
    key: w.key ?? open,
    consumers: [],
    restrictPublicBuckets: true,
    uploads: [],
  };
  return access.evaluate(policies, src, r, w.identity ?? [allowing(r)], w.endpoint ?? allowing(r, "*"));
}

const verb = (v: Verdict): string => (v === "ExplicitlyDenied" ? "explicitly denies" : "does not allow");

interface Request {
  r: AccessRequest;
  /** "s3:GetObject on arn:… for arn:…", as a diagnosis line says it. */
  what: string;
  resource: { kind: LinkKind; policy?: LivePolicy; world: (d: PolicyDocument) => World; fix: string };
}

/** What the boot script of a role that writes reported: the receipt's key, or AWS's refusal. */
export interface ReceiptReport {
  key?: string;
  failure?: string;
}

/**
 * Which policies deny the requests of the role's level: a read's GetObject and the Decrypt S3
 * makes for it, a write's PutObject (with the SSE-KMS headers the boot script sends) and the
 * GenerateDataKey S3 makes for it. Each policy is evaluated in ISOLATION: that policy
 * live, every other one replaced by a stand-in that allows exactly the request. A policy that
 * denies on its own is a broken link. This is more robust than the flip test (replace one policy
 * by an allow-all, see whether the verdict turns Allowed), which names nothing when two links are
 * broken at once, and than the simulator's per-policy analysis, which `evaluate` does not return.
 * The permissions boundary goes through the identity slot: alone there, it allows exactly what it
 * bounds. A policy that could not be read is taken to allow, and the notes say so.
 */
async function denials(
  src: SourceContract,
  tgt: TargetOutputs,
  live: LiveState,
  receipt: ReceiptReport,
): Promise<BrokenLink[]> {
  const role = parseRoleArn(tgt.roleArn);
  if (!role) return [];
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the AGPL simulator: loaded only when a check failed
  const access = require("../../offline/access") as Access;
  const region = live.bucketRegion ?? src.region;
  const regionFirst = region !== src.region ? "fix the region first (above); " : "";
  const granted = src.consumerRoleArns.includes(tgt.roleArn) || src.consumerOrg !== null;
  const sourceFix = granted
    ? SOURCE_FIX
    : `add { accountId: "${role.accountId}", roleName: ${role.roleName} } to consumers in Pulumi.source.yaml and run npm run deploy`;
  // A gateway endpoint serves only its own region's S3 (a region mismatch is its own link).
  const throughEndpoint = Boolean(live.endpoint) && (live.targetRegion ?? region) === region;
  const bucketSide = {
    kind: "bucket-policy" as const,
    policy: live.bucketPolicy,
    world: (d: PolicyDocument) => ({ bucket: d }),
    fix: sourceFix,
  };
  const keySide = {
    kind: "key-policy" as const,
    policy: live.keyPolicy,
    world: (d: PolicyDocument) => ({ key: d }),
    fix: regionFirst + sourceFix,
  };
  // What S3 asks KMS for on the role's behalf: with Bucket Key on (the bucket's default), the
  // encryption context is the bucket's ARN; without it, the object's.
  const viaS3 = (action: string, objectArn: string, bucketKey: boolean | undefined): Request => ({
    r: {
      principal: role,
      action,
      resource: src.keyArn,
      resourceAccount: src.accountId,
      viaS3: { region, bucketArn: bucketKey === false ? objectArn : src.bucketArn },
    },
    what: `${action} for ${tgt.roleArn} via ${s3ViaService(region)}`,
    resource: keySide,
  });
  const requests: Request[] = [];
  if (tgt.objectKey !== null) {
    const objectArn = `${src.bucketArn}/${tgt.objectKey}`;
    requests.push({
      r: {
        principal: role,
        action: S3_GET_OBJECT,
        resource: objectArn,
        resourceAccount: src.accountId,
        throughEndpoint,
      },
      what: `${S3_GET_OBJECT} on ${objectArn} for ${tgt.roleArn}`,
      resource: bucketSide,
    });
    // S3 calls KMS only for an object under the stack's key (another key is its own broken link).
    if (!live.object || live.object.keyId === src.keyArn)
      requests.push(viaS3(KMS_DECRYPT, objectArn, live.object?.bucketKey));
  }
  if (tgt.writes && tgt.receiptPrefix !== null) {
    // The receipt the boot script wrote, or one it would write: every key under the prefix is granted alike.
    const receiptArn = `${src.bucketArn}/${receipt.key ?? `${tgt.receiptPrefix}receipt-${tgt.instanceId}.txt`}`;
    requests.push(
      {
        r: {
          principal: role,
          action: S3_PUT_OBJECT,
          resource: receiptArn,
          resourceAccount: src.accountId,
          throughEndpoint,
          // What `aws s3 cp --sse aws:kms --sse-kms-key-id <key ARN>` sends.
          headers: {
            "s3:x-amz-server-side-encryption": "aws:kms",
            "s3:x-amz-server-side-encryption-aws-kms-key-id": src.keyArn,
          },
        },
        what: `${S3_PUT_OBJECT} on ${receiptArn} for ${tgt.roleArn} (SSE-KMS with ${src.keyArn})`,
        resource: bucketSide,
      },
      viaS3(KMS_GENERATE_DATA_KEY, receiptArn, live.receipt?.bucketKey),
    );
  }

  const links: BrokenLink[] = [];
  for (const q of requests) {
    const liveWorld: World = {
      ...(q.resource.policy && q.resource.world(q.resource.policy.doc)),
      identity: live.rolePolicies?.map((p) => p.doc),
      endpoint: live.endpoint?.doc,
    };
    const full = await verdict(access, src, q.r, liveWorld);
    const before = links.length;
    const { policy } = q.resource;
    if (policy) {
      const v = await verdict(access, src, q.r, q.resource.world(policy.doc));
      if (v !== "Allowed")
        links.push({ kind: q.resource.kind, problem: `${policy.name} ${verb(v)} ${q.what}`, fix: q.resource.fix });
    }
    if (live.rolePolicies) links.push(...(await identityLinks(access, src, q, live.rolePolicies, tgt.roleArn)));
    if (live.boundary) {
      const v = await verdict(access, src, q.r, { identity: [live.boundary.doc] });
      if (v !== "Allowed")
        links.push({
          kind: "boundary",
          problem: `${live.boundary.name} of ${tgt.roleArn} ${verb(v)} ${q.what}`,
          fix: `widen the boundary to allow ${q.r.action} on ${q.r.resource}, or unset permissionsBoundaryArn in Pulumi.target.yaml; then npm run deploy -- --stack target`,
        });
    }
    if (live.endpoint && q.r.throughEndpoint) {
      const v = await verdict(access, src, q.r, { endpoint: live.endpoint.doc });
      if (v !== "Allowed")
        links.push({ kind: "endpoint", problem: `${live.endpoint.name} ${verb(v)} ${q.what}`, fix: TARGET_FIX });
    }
    if (full !== "Allowed" && links.length === before)
      links.push({
        kind: "combination",
        problem: `the live policies together deny ${q.what}, though none does alone`,
        fix: "compare the live policies with npm run plan's, statement by statement",
      });
  }
  return links;
}

/** The role's identity policies in the identity slot; on an explicit deny, the policy that denies. */
async function identityLinks(access: Access, src: SourceContract, q: Request, policies: LivePolicy[], roleArn: string) {
  const v = await verdict(access, src, q.r, { identity: policies.map((p) => p.doc) });
  if (v === "Allowed") return [];
  if (v === "ImplicitlyDenied")
    return [
      {
        kind: "identity" as const,
        problem:
          policies.length === 0
            ? `the reader role ${roleArn} has no identity policy, so nothing allows ${q.what}`
            : `no policy of the reader role (${policies.map((p) => p.name).join("; ")}) allows ${q.what}`,
        fix: TARGET_FIX,
      },
    ];
  const denying: BrokenLink[] = [];
  for (const p of policies)
    if ((await verdict(access, src, q.r, { identity: [p.doc] })) === "ExplicitlyDenied")
      denying.push({
        kind: "identity",
        problem: `${p.name} explicitly denies ${q.what}`,
        fix: "this project does not write Deny statements into the role: remove that statement or detach the policy",
      });
  return denying;
}

/**
 * The diagnosis. `failure` is what AWS said to the reader: the boot script's FAILED line (the aws
 * cli's error text) or an S3ServiceException; `receipt`, what a writer's WROTE or WRITE-FAILED
 * line said. `reads` holds what the checks already read, so that no document is fetched twice.
 * Never throws: what it cannot read, it notes.
 */
export async function diagnose(
  src: SourceContract,
  tgt: TargetOutputs,
  c: VerifyClients,
  failure?: string | Error,
  reads: LiveReads = new LiveReads(src, c),
  receipt: ReceiptReport = {},
): Promise<Diagnosis> {
  const links: BrokenLink[] = [];
  const notes: string[] = [];
  let live: LiveState | undefined;
  try {
    live = await readLive(src, tgt, reads, receipt.key);
    notes.push(...live.unreadable.map((u) => `could not read ${u}`));
    if (live.unreadable.length > 0) notes.push("the evaluation took what it could not read to allow");
    links.push(...structural(src, tgt, live, notes), ...deletedRoles(live));
    links.push(...(await denials(src, tgt, live, receipt)));
  } catch (e) {
    notes.push(`the diagnosis stopped early: ${errorText(e)}`);
  }
  const text = failure instanceof Error ? failure.message : (failure ?? "");
  const said = [
    ...(text ? [{ text, told: fromMessage(text, src, tgt) }] : []),
    ...(receipt.failure ? [{ text: receipt.failure, told: fromMessage(receipt.failure, src, tgt, "write") }] : []),
  ];
  // AWS names one policy type even when several deny: keep its word where the evaluation found nothing of that
  // kind, or where it names a policy (by ARN) that no link names.
  const found = new Set(links.map((l) => l.kind));
  for (const { told: t } of said)
    if (t && (!found.has(t.kind) || (t.policyArn && !links.some((l) => l.problem.includes(t.policyArn ?? "")))))
      links.push(t);
  for (const { text: t, told } of said) {
    const url = unreachedEndpoint(t);
    if (url !== undefined) notes.push(unreached(url, links, live));
    const none = told ? undefined : reasonless(t);
    if (none)
      notes.push(
        links.length > 0
          ? `${none}: the links above come from evaluating the live policies, not from the message`
          : `${none}, and the live policies allow the request: look outside them, at a service control policy of the reader's organization, a resource control policy of the bucket owner's, or a change still propagating`,
      );
  }
  return { links, notes };
}

/** What a request that never reached S3 means, when no network or region link explains it. */
function unreached(url: string, links: BrokenLink[], live: LiveState | undefined): string {
  const what = `the copy never reached ${url || "S3"} (a connect timeout, not a denial)`;
  if (links.some((l) => l.kind === "network" || l.kind === "region"))
    return `${what}: see the network or region link above`;
  const g = live?.network?.gateway;
  if (!live?.network)
    return `${what}, and the instance's route table could not be read: check that its subnet's route table is among the S3 gateway endpoint's`;
  return `${what}, yet ${g ? `the subnet's route table ${live.network.routeTableId ?? ""} is among those of the S3 gateway endpoint ${g.id}, which is available` : "the subnet routes to an internet or NAT gateway"}: check the security group's HTTPS egress to the S3 prefix list, the subnet's network ACL, and the VPC's DNS support`;
}

export function renderDiagnosis(d: Diagnosis): string {
  const lines = ["Diagnosis"];
  if (d.links.length === 0)
    lines.push(
      d.notes.some((n) => n.startsWith("could not") || n.startsWith("the diagnosis"))
        ? "- no broken link in what could be read (see the notes)"
        : "- all links hold: the live policies allow the requests of the role's level (a read's s3:GetObject and the kms:Decrypt S3 makes for it, a write's s3:PutObject and kms:GenerateDataKey)",
    );
  for (const l of d.links) lines.push(`- ${l.problem}.`, `  To fix: ${l.fix}.`);
  for (const n of d.notes) lines.push(`- note: ${n}.`);
  return lines.join("\n");
}
