/** The matrix: the case templates, expanded for every consumer the source grants, at its own level and scope. */
import { accessGrantedTo, SourceContract } from "../../program/contract";
import { ConsumerAccess, grantedActions, levelWrites, WHOLE_BUCKET_READ } from "../../program/iam/access-levels";
import { bucketArn, roleArn } from "../../program/iam/arn";
import { AccessPolicies, consumerOf, Principal } from "./capture";
import { PolicyDocument } from "../../program/iam/document";
import { AccessCase, Encryption, otherRegion, Subject, Target, Via, Who } from "./cases";
import { TEMPLATES_OF } from "./level-cases";
import { AccessRequest, sseKmsHeaders } from "./context";

const describePrincipal = (p?: Principal): string => (p ? roleArn(p) : "anonymous");

/** A role name in the same account that no consumer holds. */
function otherRoleName(c: Principal, all: Principal[]): string {
  for (let i = 0; ; i++) {
    const suffix = i === 0 ? "-other" : `-other${i}`;
    const name = `${c.roleName.slice(0, 64 - suffix.length)}${suffix}`;
    if (!all.some((x) => x.accountId === c.accountId && x.roleName === name)) return name;
  }
}

/** An account that is neither the source nor any consumer. */
function unrelatedAccount(contract: SourceContract, all: Principal[]): string {
  const taken = new Set([contract.accountId, ...all.map((c) => c.accountId)]);
  for (let n = 999999999999; ; n--) if (!taken.has(String(n))) return String(n);
}

const listed = (p: Principal): boolean => p.orgId === undefined;

/**
 * The indexes of the statements that mention a consumer anywhere: its account ID (a principal, an
 * account root, aws:PrincipalAccount, kms:CallerAccount) or its role's name (its ARN, a pattern of
 * it). A text match: a stray one only makes more cases run.
 */
const statementsNaming = (doc: PolicyDocument, p: Principal): number[] =>
  doc.Statement.flatMap((s, i) => {
    const text = JSON.stringify(s);
    return text.includes(p.accountId) || text.includes(p.roleName) ? [i] : [];
  });

/**
 * Whether two consumers' policies differ only by who they are: mentioned in the same bucket and
 * key statements, the same identity policies, and endpoint policies alike but for the role's ARN.
 * What it cannot see: a statement that singles one out without its account ID or role name (an
 * account pattern such as 7777*, or a tag condition); the program writes neither.
 */
function namedAlike(policies: AccessPolicies, a: Principal, b: Principal): boolean {
  const [arnA, arnB] = [roleArn(a), roleArn(b)];
  const same = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);
  const [ca, cb] = [consumerOf(policies, a), consumerOf(policies, b)];
  if (!ca || !cb) return false;
  return (
    same(statementsNaming(policies.bucket, a), statementsNaming(policies.bucket, b)) &&
    same(statementsNaming(policies.key, a), statementsNaming(policies.key, b)) &&
    same(ca.identity, cb.identity) &&
    JSON.stringify(ca.endpoint ?? null).replaceAll(JSON.stringify(arnA), JSON.stringify(arnB)) ===
      JSON.stringify(cb.endpoint ?? null)
  );
}

/**
 * Each consumer's facts, in order. Its access is its own entry in the contract; the organization's
 * consumer reads the whole bucket, as an organization grant does.
 *
 * Denied cases that turn on what its permission set (kind of grant, level, prefixes) shares run for
 * the set's first consumer alone: never-granted actions, outside its prefixes, and its own requests
 * any other way (plain HTTP, old TLS, KMS not via S3 or for another bucket or region, another
 * bucket). That is sound when the consumers of a set are named together in the same statements:
 * one bucket grant per set, one key statement per level, and identity and endpoint policies built
 * from the level and prefixes alone (the endpoint's names only the role). The program builds them
 * so, and with the captured policies each consumer is checked to be (namedAlike): one whose
 * account ID or role name is in other bucket or key statements than its set's first's, or with
 * other identity policies, or an endpoint policy that differs by more than its role's ARN, runs
 * its Denied cases too. Each consumer's own Allowed cases
 * prove it is named in them. A consumer whose account holds a consumer of another set runs them
 * too: that set's statements admit its account root, and only aws:PrincipalArn keeps it out. Who
 * else may act (another role of its account, its role name in another account) runs for everyone.
 */
export function subjectsOf(contract: SourceContract, consumers: Principal[], policies?: AccessPolicies): Subject[] {
  const access = consumers.map((p): ConsumerAccess => {
    if (!listed(p)) return WHOLE_BUCKET_READ;
    const a = accessGrantedTo(contract, roleArn(p), p.roleName);
    if (!a) throw new Error(`the source does not grant ${roleArn(p)}`);
    return a;
  });
  const sets = consumers.map((p, i) =>
    JSON.stringify([listed(p) ? "listed" : "organization", access[i].access, access[i].prefixes ?? null]),
  );
  const sameAccount = (i: number, j: number) =>
    i !== j && listed(consumers[i]) && listed(consumers[j]) && consumers[i].accountId === consumers[j].accountId;
  const firstOf = new Map<string, number>();
  return consumers.map((consumer, i) => {
    const others = consumers.map((_, j) => j).filter((j) => sameAccount(i, j));
    const first = firstOf.get(sets[i]);
    const subject: Subject = {
      contract,
      consumer,
      access: access[i],
      triesDenials:
        first === undefined ||
        others.some((j) => sets[j] !== sets[i]) ||
        (policies !== undefined && !namedAlike(policies, consumer, consumers[first])),
      writerInAccount: others.some((j) => levelWrites(access[j].access)),
      orgAdmitsAnyRole: !listed(consumer) && contract.consumerOrg?.roleNames === undefined,
      first: i === 0,
    };
    if (first === undefined) firstOf.set(sets[i], i);
    return subject;
  });
}

/** Where a case's request goes: a resource, and the object key or list prefix its name shows. */
export interface Place {
  resource: string;
  object?: string;
  prefix?: string;
}

/** The places a template's target names, for one consumer. */
export function places(on: Target, s: Subject): Place[] {
  const c = s.contract;
  const { prefixes } = s.access;
  const first = c.objectKeys[0];
  const file = first.slice(first.lastIndexOf("/") + 1);
  /** A sibling of a prefix, sharing its text before the "/", in none of the consumer's prefixes. */
  const outside = (p: string): string => {
    for (let other = `${p.slice(0, -1)}-other/`; ; other = `${other.slice(0, -1)}-other/`)
      if (!prefixes?.some((q) => other.startsWith(q))) return other;
  };
  const object = (k: string): Place => ({ resource: `${c.bucketArn}/${k}`, object: k });
  const inScope = prefixes ? prefixes.map((p) => `${p}${file}`) : c.objectKeys;
  switch (on) {
    case "each object":
      return inScope.map(object);
    case "an object":
      return [object(inScope[0])];
    case "outside each prefix":
      // The root object is at no prefix: a prefix ends with "/" and the file's name has none.
      return prefixes ? [...prefixes.map((p) => `${outside(p)}${file}`), file].map(object) : [];
    case "listing each prefix":
      return (prefixes ?? []).map((prefix) => ({ resource: c.bucketArn, prefix }));
    case "listing another prefix":
      return prefixes ? [{ resource: c.bucketArn, prefix: outside(prefixes[0]) }] : [];
    case "the bucket":
      return [{ resource: c.bucketArn }];
    case "the key":
      return [{ resource: c.keyArn }];
    case "another bucket's object":
      return [{ resource: `${bucketArn(`${c.bucketName}-other`)}/${first}` }];
  }
}

/** The number of cases of one consumer: what expectedCases counts before the target programs run. */
export const caseCount = (s: Subject): number =>
  TEMPLATES_OF[s.access.access].reduce((n, t) => n + (t.when && !t.when(s) ? 0 : places(t.on, s).length), 0);

/**
 * The cases, derived from the source's contract and the consumers it grants: every consumer gets
 * its level's templates on its own scope; none is hand-listed per account.
 */
export function accessCases(policies: AccessPolicies, contract: SourceContract): AccessCase[] {
  const all = policies.consumers.map((c) => c.role);
  const outsiderAccount = unrelatedAccount(contract, all);
  const viaS3 = { region: contract.region, bucketArn: contract.bucketArn };
  const otherKey = `${contract.keyArn.replace(/key\/.*/, "key/")}11111111-2222-3333-4444-555555555555`;
  const headers: Record<Encryption, Record<string, string> | undefined> = {
    "SSE-KMS with the key": sseKmsHeaders(contract.keyArn),
    "SSE-KMS with another key": sseKmsHeaders(otherKey),
    "SSE-KMS naming no key": { "s3:x-amz-server-side-encryption": "aws:kms" },
    none: undefined,
  };
  const via: Record<Via, AccessRequest["viaS3"]> = {
    S3: viaS3,
    "S3 in another region": { ...viaS3, region: otherRegion(contract) },
    "S3 for another bucket": { ...viaS3, bucketArn: `${contract.bucketArn}-other` },
    directly: undefined,
  };
  const subjects = subjectsOf(contract, all, policies);
  const cases: AccessCase[] = [];

  for (const [i, { role: consumer, endpoint }] of policies.consumers.entries()) {
    const subject = subjects[i];
    const granted = new Set(grantedActions(subject.access.access));
    const principals: Record<Who, Principal | undefined> = {
      consumer,
      "another role": { ...consumer, roleName: otherRoleName(consumer, all) },
      outsider: { accountId: outsiderAccount, roleName: consumer.roleName },
      "another OU": { ...consumer, accountId: outsiderAccount, orgPath: `${consumer.orgId}/r-0000/ou-0000-00000000/` },
      "source insider": { ...consumer, accountId: contract.accountId },
      anonymous: undefined,
    };

    for (const t of TEMPLATES_OF[subject.access.access]) {
      if (t.when && !t.when(subject)) continue;
      for (const { resource, object, prefix } of places(t.on, subject)) {
        const principal = principals[t.who];
        const request: AccessRequest = { principal, action: t.action, resource, resourceAccount: contract.accountId };
        if (t.via) request.viaS3 = via[t.via];
        if (t.tls) request.tls = t.tls;
        if (prefix !== undefined) request.prefix = prefix;
        const sent = t.encryption && headers[t.encryption];
        if (sent) request.headers = sent;
        // What the level grants comes from the instance, through its VPC's endpoint; anything else from outside
        // the VPC, where only the bucket and identity policies can deny it.
        if (
          t.who === "consumer" &&
          t.action.startsWith("s3:") &&
          !t.tls &&
          endpoint !== undefined &&
          t.on !== "another bucket's object"
        ) {
          request.throughEndpoint = granted.has(t.action);
        }
        const name = (typeof t.name === "string" ? t.name : t.name(subject))
          .replace("{object}", object ?? "")
          .replace("{prefix}", prefix ?? "");
        cases.push({
          case: name,
          principal: describePrincipal(principal),
          action: t.action,
          resource,
          expected: typeof t.expect === "string" ? t.expect : t.expect(subject),
          request,
          identityOf: t.who === "source insider" || t.who === "anonymous" ? null : consumer,
          ...(t.cites && { cites: t.cites }),
        });
      }
    }
  }
  return cases;
}
