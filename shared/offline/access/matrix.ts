/** The matrix: the case templates, expanded for every consumer the source grants. */
import { grantedActions } from "../../program/iam/access-levels";
import { bucketArn, roleArn } from "../../program/iam/arn";
import { SourceContract } from "../../program/contract";
import { AccessPolicies, Principal } from "./capture";
import { AccessCase, CONSUMER_LEVEL, otherRegion, Subject, Target, TEMPLATES_OF, Via, Who } from "./cases";
import { AccessRequest } from "./context";

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

/**
 * The cases, derived from the source's contract and the consumers it grants: every consumer gets
 * the same templates; none is hand-listed per account.
 */
export function accessCases(policies: AccessPolicies, contract: SourceContract): AccessCase[] {
  const all = policies.consumers.map((c) => c.role);
  const outsiderAccount = unrelatedAccount(contract, all);
  const objectArn = (k: string) => `${contract.bucketArn}/${k}`;
  const viaS3 = { region: contract.region, bucketArn: contract.bucketArn };
  const cases: AccessCase[] = [];
  /** Each level's kinds of grant (listed roles, the organization's) that have had their first consumer. */
  const seen = new Set<string>();

  for (const [i, { role: consumer, endpoint }] of policies.consumers.entries()) {
    const level = CONSUMER_LEVEL;
    const grant = `${level} ${consumer.orgId === undefined ? "listed" : "organization"}`;
    const subject: Subject = {
      contract,
      consumer,
      level,
      firstOfLevel: !seen.has(grant),
      orgAdmitsAnyRole: consumer.orgId !== undefined && contract.consumerOrg?.roleNames === undefined,
      first: i === 0,
    };
    seen.add(grant);
    const granted = new Set(grantedActions(level));
    const principals: Record<Who, Principal | undefined> = {
      consumer,
      "another role": { ...consumer, roleName: otherRoleName(consumer, all) },
      outsider: { accountId: outsiderAccount, roleName: consumer.roleName },
      "another OU": { ...consumer, accountId: outsiderAccount, orgPath: `${consumer.orgId}/r-0000/ou-0000-00000000/` },
      "source insider": { ...consumer, accountId: contract.accountId },
      anonymous: undefined,
    };
    const via: Record<Via, AccessRequest["viaS3"]> = {
      S3: viaS3,
      "S3 in another region": { ...viaS3, region: otherRegion(contract) },
      "S3 for another bucket": { ...viaS3, bucketArn: `${contract.bucketArn}-other` },
      directly: undefined,
    };
    const targets = (on: Target): { resource: string; object?: string }[] => {
      switch (on) {
        case "each object":
          return contract.objectKeys.map((k) => ({ resource: objectArn(k), object: k }));
        case "an object":
          return [{ resource: objectArn(contract.objectKeys[0]) }];
        case "the bucket":
          return [{ resource: contract.bucketArn }];
        case "the key":
          return [{ resource: contract.keyArn }];
        case "another bucket's object":
          return [{ resource: `${bucketArn(`${contract.bucketName}-other`)}/${contract.objectKeys[0]}` }];
      }
    };

    for (const t of TEMPLATES_OF[level]) {
      if (t.when && !t.when(subject)) continue;
      for (const { resource, object } of targets(t.on)) {
        const principal = principals[t.who];
        const request: AccessRequest = { principal, action: t.action, resource, resourceAccount: contract.accountId };
        if (t.via) request.viaS3 = via[t.via];
        if (t.tls) request.tls = t.tls;
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
        const name = (typeof t.name === "string" ? t.name : t.name(subject)).replace("{object}", object ?? "");
        cases.push({
          case: name,
          principal: describePrincipal(principal),
          action: t.action,
          resource,
          expected: typeof t.expect === "string" ? t.expect : t.expect(subject),
          request,
          identityOf: t.who === "source insider" || t.who === "anonymous" ? null : consumer,
        });
      }
    }
  }
  return cases;
}
