/**
 * Evaluation with @cloud-copilot/iam-simulate, which is AGPL and a devDependency: only the offline
 * harness may import it, never the program.
 */
import {
  createValidatedPolicy,
  validateEndpointPolicy,
  validateIdentityPolicy,
  validateResourcePolicy,
  ValidatedPolicy,
  ValidationError,
} from "@cloud-copilot/iam-policy";
import {
  anonymousPrincipal,
  EvaluationResult,
  runSimulation,
  runUnsafeSimulation,
  Simulation,
} from "@cloud-copilot/iam-simulate";
import { SourceContract } from "../../program/contract";
import { PolicyDocument, policyDocument, Statement } from "../../program/iam/document";
import { AccessPolicies, consumerOf, Principal } from "./capture";
import { AccessCase, Expected } from "./cases";
import { AccessRequest, requestContext, Tls } from "./context";
import { KMS_DECRYPT, S3_GET_OBJECT } from "../../program/iam/access-levels";
import "./simulator-memo";

const sessionArn = (p: Principal): string =>
  `arn:aws:sts::${p.accountId}:assumed-role/${p.roleName}/i-0123456789abcdef0`;

type Validator = (policy: unknown) => ValidationError[];

const validations = new WeakMap<PolicyDocument, Map<string, ValidatedPolicy<{ name: string }>>>();

/**
 * A policy validated once for every request that names it: the simulator accepts a validated
 * policy and does not validate it again for each of the matrix's thousands of requests.
 */
function validated(doc: PolicyDocument, name: string, validate: Validator): ValidatedPolicy<{ name: string }> {
  let byUse = validations.get(doc);
  if (!byUse) validations.set(doc, (byUse = new Map<string, ValidatedPolicy<{ name: string }>>()));
  const key = `${validate.name} ${name}`;
  let v = byUse.get(key);
  if (!v) byUse.set(key, (v = createValidatedPolicy(doc, validate, { name })));
  return v;
}

function simulation(
  r: AccessRequest,
  identity: PolicyDocument[],
  endpoint: PolicyDocument | undefined,
  resourcePolicy: PolicyDocument | undefined,
  restrictPublicBuckets: boolean,
): Simulation {
  return {
    request: {
      principal: r.service ? r.service.principal : r.principal ? sessionArn(r.principal) : anonymousPrincipal,
      action: r.action,
      resource: { resource: r.resource, accountId: r.resourceAccount },
      contextVariables: requestContext(r),
    },
    identityPolicies: r.principal
      ? identity.map((policy, i) => ({
          name: `identity-${i}`,
          policy: validated(policy, `identity-${i}`, validateIdentityPolicy),
        }))
      : [],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: resourcePolicy && validated(resourcePolicy, "resource-policy", validateResourcePolicy),
    vpcEndpointPolicies:
      r.throughEndpoint && endpoint
        ? [{ name: "s3-gateway-endpoint", policy: validated(endpoint, "s3-gateway-endpoint", validateEndpointPolicy) }]
        : undefined,
    additionalSettings: { s3: { blockPublicAccess: restrictPublicBuckets } },
  };
}

/** The policy of the resource a request names, when this deployment owns it. */
function resourcePolicyFor(
  policies: AccessPolicies,
  contract: SourceContract,
  r: AccessRequest,
): PolicyDocument | undefined {
  if (r.resource === contract.keyArn) return policies.key;
  if (r.resource === contract.bucketArn || r.resource.startsWith(`${contract.bucketArn}/`)) return policies.bucket;
  const logs = policies.audit?.logBucketArn;
  if (logs && (r.resource === logs || r.resource.startsWith(`${logs}/`))) return policies.audit?.logBucketPolicy;
  return undefined;
}

/** Request shapes the validating simulator has checked (see evaluate). */
const validShapes = new Set<string>();

/**
 * Evaluates one request. S3 requests go through the validating simulator (which also applies the
 * endpoint policy); KMS requests through the unsafe one, because the validating one drops
 * `kms:EncryptionContext:*` keys. The guard rails above stand in for its validation.
 */
export async function evaluate(
  policies: AccessPolicies,
  contract: SourceContract,
  r: AccessRequest,
  identity: PolicyDocument[],
  endpoint?: PolicyDocument,
): Promise<EvaluationResult> {
  const sim = simulation(
    r,
    identity,
    endpoint,
    resourcePolicyFor(policies, contract, r),
    policies.restrictPublicBuckets,
  );
  if (r.action.startsWith("kms:")) {
    if (r.throughEndpoint) throw new Error("KMS requests never pass the S3 gateway endpoint");
    return runUnsafeSimulation(sim, {});
  }
  // The validating simulator's checks depend on the request's shape (action, kind of resource,
  // principal's kind, context keys, endpoint), not on its values: once a shape passed them, and the unsafe simulator
  // gave the same answer for it, its other requests skip them (the validation is most of an S3 case's cost).
  const shape = JSON.stringify([
    r.action,
    r.service ? "service" : r.principal ? "role" : "anonymous",
    r.resource.includes("/") ? "object" : "bucket",
    Object.keys(sim.request.contextVariables).sort(),
    Boolean(sim.vpcEndpointPolicies),
  ]);
  // The unsafe simulator does not apply endpoint policies: a request through the endpoint is always validated.
  if (!sim.vpcEndpointPolicies && validShapes.has(shape)) return runUnsafeSimulation(sim, {});
  const result = await runSimulation(sim, {});
  if (result.resultType === "error")
    throw new Error(`the simulator rejected ${r.action} on ${r.resource}: ${result.errors.message}`);
  const ignored =
    result.resultType === "single"
      ? (result.result.ignoredContextKeys ?? [])
      : result.results.flatMap((x) => x.ignoredContextKeys ?? []);
  if (ignored.length > 0)
    throw new Error(
      `the simulator ignored context keys ${ignored.join(", ")} for ${r.action}: its answer would be wrong`,
    );
  const unsafe = sim.vpcEndpointPolicies ? result.overallResult : runUnsafeSimulation(sim, {});
  if (unsafe !== result.overallResult)
    throw new Error(`the two simulators disagree on ${r.action} on ${r.resource}: ${result.overallResult}, ${unsafe}`);
  if (!sim.vpcEndpointPolicies) validShapes.add(shape);
  return result.overallResult;
}

export interface AccessResult {
  case: string;
  principal: string;
  action: string;
  resource: string;
  expected: Expected;
  /** With the principal's own identity policies (and its VPC's endpoint policy). */
  result: EvaluationResult;
  /** Both evaluations as expected: the own one and, for a consumer's case, the source side's alone. */
  ok: boolean;
  /**
   * A consumer's case, again with an identity policy that allows everything and no endpoint policy:
   * account B's admin. What account A's policies alone answer, since A cannot rely on B's.
   */
  sourceSideAlone?: EvaluationResult;
  /** The AWS documentation page the case relies on. */
  cites?: string;
}

/** The identity policy of an administrator of a consumer's account: the source side alone decides. */
export const ALLOW_ALL = policyDocument([{ Sid: "AllowAll", Effect: "Allow", Action: "*", Resource: "*" }]);

const asExpected = (result: EvaluationResult, expected: Expected): boolean =>
  (result === "Allowed") === (expected === "Allowed");

/** The case on the source side alone: an identity policy that allows everything, and no endpoint (account B's admin). */
export const evaluateAlone = (policies: AccessPolicies, contract: SourceContract, c: AccessCase) =>
  evaluate(policies, contract, { ...c.request, throughEndpoint: undefined }, [ALLOW_ALL]);

/**
 * The source-side-alone answer where the first evaluation already decides it. Allowing everything
 * in the identity slot and dropping the endpoint policy only take restrictions away: what was
 * Allowed stays Allowed. An explicit deny the consumer's own policies cannot have made (they hold
 * no Deny) came from account A's policies, which stay: it stays. Only an implicit denial needs the
 * second evaluation. A test compares these answers with evaluated ones on every case.
 */
export function impliedAlone(result: EvaluationResult, ownPolicies: PolicyDocument[]): EvaluationResult | undefined {
  if (result === "Allowed") return result;
  if (result === "ExplicitlyDenied" && !holdsDeny(ownPolicies)) return result;
  return undefined;
}

const holdsDeny = (docs: PolicyDocument[]): boolean => docs.some((d) => d.Statement.some((s) => s.Effect === "Deny"));

/**
 * The own answer where the source side's decides it, for a request that does not pass the
 * endpoint (the two requests are then the same, and only the identity slot differs). The own
 * identity policies allow no more than everything: what the source side denies stays denied. An
 * explicit deny stays explicit; an implicit one stays implicit where the own policies hold no Deny.
 * A test compares these answers with evaluated ones on every case.
 */
export function impliedOwn(alone: EvaluationResult, ownPolicies: PolicyDocument[]): EvaluationResult | undefined {
  if (alone === "ExplicitlyDenied") return alone;
  if (alone === "ImplicitlyDenied" && !holdsDeny(ownPolicies)) return alone;
  return undefined;
}

/** Whose identity policies a case's principal holds, and its endpoint's policy. */
function ownPolicies(
  policies: AccessPolicies,
  c: AccessCase,
): { identity: PolicyDocument[]; endpoint?: PolicyDocument } {
  const holder = c.identityOf ? consumerOf(policies, c.identityOf) : undefined;
  return { identity: c.identity ?? holder?.identity ?? [], endpoint: holder?.endpoint };
}

/** The case with the principal's own identity policies (and its VPC's endpoint policy). */
export function evaluateOwn(
  policies: AccessPolicies,
  contract: SourceContract,
  c: AccessCase,
): Promise<EvaluationResult> {
  const own = ownPolicies(policies, c);
  return evaluate(policies, contract, c.request, own.identity, own.endpoint);
}

/**
 * Each case evaluated with the principal's own policies and, for a consumer's case, on the source
 * side alone. One evaluation usually decides both: a case expected Allowed is evaluated with its
 * own policies first, one expected Denied (not through the endpoint) on the source side first,
 * and the other answer is implied where it can be; where it cannot, it is evaluated too.
 */
export async function evaluateCases(
  policies: AccessPolicies,
  contract: SourceContract,
  cases: AccessCase[],
): Promise<AccessResult[]> {
  const results: AccessResult[] = [];
  for (const c of cases) {
    const own = ownPolicies(policies, c);
    const restricting = [...own.identity, ...(c.request.throughEndpoint && own.endpoint ? [own.endpoint] : [])];
    let result: EvaluationResult;
    let alone: EvaluationResult | undefined;
    if (c.identityOf && c.expected === "Denied" && !c.request.throughEndpoint) {
      alone = await evaluateAlone(policies, contract, c);
      result = impliedOwn(alone, restricting) ?? (await evaluateOwn(policies, contract, c));
    } else {
      result = await evaluateOwn(policies, contract, c);
      alone = c.identityOf
        ? (impliedAlone(result, restricting) ?? (await evaluateAlone(policies, contract, c)))
        : undefined;
    }
    results.push({
      case: c.case,
      principal: c.principal,
      action: c.action,
      resource: c.resource,
      expected: c.expected,
      result,
      ok: asExpected(result, c.expected) && (alone === undefined || asExpected(alone, c.expected)),
      ...(alone !== undefined && { sourceSideAlone: alone }),
      ...(c.cites && { cites: c.cites }),
    });
  }
  return results;
}

/** Whether a principal can download an object: S3 allows the GetObject and KMS the Decrypt S3 makes for it. */
export async function canDownload(
  policies: AccessPolicies,
  contract: SourceContract,
  who: Principal,
  identityOf: Principal,
  objectKey: string,
  tls: Tls = "1.2",
): Promise<boolean> {
  const holder = consumerOf(policies, identityOf);
  const identity = holder?.identity ?? [];
  const s3 = await evaluate(
    policies,
    contract,
    {
      principal: who,
      action: S3_GET_OBJECT,
      resource: `${contract.bucketArn}/${objectKey}`,
      resourceAccount: contract.accountId,
      tls,
    },
    identity,
  );
  const kms = await evaluate(
    policies,
    contract,
    {
      principal: who,
      action: KMS_DECRYPT,
      resource: contract.keyArn,
      resourceAccount: contract.accountId,
      viaS3: { region: contract.region, bucketArn: contract.bucketArn },
    },
    identity,
  );
  return s3 === "Allowed" && kms === "Allowed";
}

/** A deep copy of the policies with statements removed or changed, for mutation proofs. */
export function mutate(
  policies: AccessPolicies,
  change: {
    bucket?: (s: Statement[]) => Statement[];
    key?: (s: Statement[]) => Statement[];
    identity?: (s: Statement[]) => Statement[];
    logs?: (s: Statement[]) => Statement[];
    /** Each consumer's S3 gateway endpoint policy. */
    endpoint?: (s: Statement[]) => Statement[];
  },
): AccessPolicies {
  const copy = JSON.parse(JSON.stringify(policies)) as AccessPolicies;
  const id = (s: Statement[]) => s;
  copy.bucket.Statement = (change.bucket ?? id)(copy.bucket.Statement);
  copy.key.Statement = (change.key ?? id)(copy.key.Statement);
  if (copy.audit) copy.audit.logBucketPolicy.Statement = (change.logs ?? id)(copy.audit.logBucketPolicy.Statement);
  for (const c of copy.consumers) {
    c.identity = c.identity.map((d) => ({ ...d, Statement: (change.identity ?? id)(d.Statement) }));
    if (c.endpoint) c.endpoint.Statement = (change.endpoint ?? id)(c.endpoint.Statement);
  }
  return copy;
}
