/**
 * The CrossGuard security baseline, as mandatory policies. `index.ts` wraps them in a PolicyPack;
 * the tests call them directly on the resources the program produces.
 */
import {
  PolicyResource,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationPolicy,
} from "@pulumi/policy";
import { ofType } from "./of-type";
import { parsePolicy, PolicyDocument, Statement } from "../program/iam/document";
import { isAccountRootAdmin } from "../program/iam/key-admin";
import { serviceGrantAccount } from "../program/iam/service-grants";
import { actionPattern, actionsOf, asArray, awsPrincipals, cond, resourcesOf } from "../offline/policy-queries";
import { ACCESS_LEVEL_NAMES, neverActions } from "../program/iam/access-levels";

type Props = Record<string, unknown>;

/** A policy input, or undefined when it is not a policy (a rule that needs one reports that itself). */
const parse = (v: unknown): PolicyDocument | undefined => {
  try {
    return parsePolicy(v, "policy");
  } catch {
    return undefined;
  }
};

/** Bucket resource types, the deprecated V2 name included. */
const BUCKET_TYPES = ["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"];

/** A bucket's name as the other S3 resources refer to it. */
const bucketKey = (r: PolicyResource): string | undefined =>
  typeof r.props.bucket === "string" ? r.props.bucket : undefined;

/** Buckets that lack a companion resource of `type` whose props pass `ok`. */
function bucketsLacking(
  resources: PolicyResource[],
  types: string[],
  ok: (props: Props) => boolean,
  report: ReportViolation,
  what: string,
): void {
  const covered = new Set(resources.filter((r) => types.includes(r.type) && ok(r.props)).map(bucketKey));
  for (const b of resources.filter((r) => BUCKET_TYPES.includes(r.type))) {
    if (!covered.has(bucketKey(b))) report(`Bucket ${b.name} (${String(bucketKey(b))}) ${what}.`, b.urn);
  }
}

const isKmsWithCmkAndBucketKey = (props: Props): boolean => {
  const rules =
    (props.rules as
      | {
          applyServerSideEncryptionByDefault?: { sseAlgorithm?: string; kmsMasterKeyId?: string };
          bucketKeyEnabled?: boolean;
        }[]
      | undefined) ?? [];
  return (
    rules.length > 0 &&
    rules.every((r) => {
      const d = r.applyServerSideEncryptionByDefault;
      const key = d?.kmsMasterKeyId ?? "";
      return d?.sseAlgorithm === "aws:kms" && key !== "" && !key.includes("alias/aws/") && r.bucketKeyEnabled === true;
    })
  );
};

const BPA_FLAGS = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"];
const blocksAllPublicAccess = (props: Props): boolean => BPA_FLAGS.every((f) => props[f] === true);

const deniesInsecureTransport = (doc: PolicyDocument | undefined): boolean =>
  doc?.Statement.some(
    (s) =>
      s.Effect === "Deny" &&
      (s.Principal === "*" || awsPrincipals(s.Principal).includes("*")) &&
      actionsOf(s).some((a) => a === "s3:*" || a === "*") &&
      cond(s, "Bool", "aws:SecureTransport").includes("false"),
  ) ?? false;

const everyone = (s: Statement): boolean => s.Principal === "*" || awsPrincipals(s.Principal).includes("*");

/** Condition keys that narrow Principal "*" to known principals or networks when given fixed values (as S3 judges "public"). */
export const NARROWING_KEYS = [
  "aws:PrincipalOrgID",
  "aws:PrincipalAccount",
  "aws:PrincipalArn",
  "aws:SourceVpce",
  "aws:SourceVpc",
  "aws:SourceArn",
  "aws:SourceAccount",
  "aws:SourceOwner",
  "aws:userid",
  "kms:CallerAccount",
];
const EXACT_OPERATORS = /^(StringEquals|StringEqualsIgnoreCase|ArnEquals|StringLike|ArnLike)$/;
const fixed = (v: string): boolean => !/[*?]|\$\{/.test(v);

/** Whether a statement's conditions pin it to fixed principals or networks. */
const narrowed = (s: Statement): boolean =>
  Object.entries(s.Condition ?? {}).some(
    ([operator, block]) =>
      EXACT_OPERATORS.test(operator) &&
      Object.entries(block).some(
        ([k, v]) => NARROWING_KEYS.includes(k) && asArray(v).length > 0 && asArray(v).every(fixed),
      ),
  );

/** Resource policies, wherever this project's resources carry them. */
const RESOURCE_POLICY_FIELDS: Record<string, string> = {
  "aws:s3/bucketPolicy:BucketPolicy": "policy",
  "aws:kms/key:Key": "policy",
  "aws:ec2/vpcEndpoint:VpcEndpoint": "policy",
};

/** Identity policies: inline and managed. */
const IDENTITY_POLICY_TYPES = [
  "aws:iam/rolePolicy:RolePolicy",
  "aws:iam/policy:Policy",
  "aws:iam/userPolicy:UserPolicy",
  "aws:iam/groupPolicy:GroupPolicy",
];

/**
 * A statement for AWS services, tied by its source conditions to one account's own resources
 * (service-grants.ts): the owner's, such as CloudTrail's for its trail, not a consumer's.
 */
const servicesOnly = (s: Statement): boolean => serviceGrantAccount(s) !== undefined;

/** The actions of `list` an Allow statement's actions cover, wildcards included. */
const covered = (s: Statement, list: string[]): string[] =>
  list.filter((a) => actionsOf(s).some((pattern) => actionPattern(pattern).test(a)));

/**
 * What a statement grants beyond the access level it fits best (iam/access-levels.ts): nothing when
 * some level's never-list covers none of its actions; else the shortest such excess.
 */
const beyondEveryLevel = (s: Statement): string[] =>
  ACCESS_LEVEL_NAMES.map((level) => covered(s, neverActions(level))).reduce((best, v) =>
    v.length < best.length ? v : best,
  );

export interface PublicIpConfig {
  /** Allow instances with a public IPv4 address (only `useDefaultVpc` needs one). Default false. */
  allowPublicIp?: boolean;
}

const OPEN_CIDRS = ["0.0.0.0/0", "::/0"];

/** A subnet that gives its instances public IPs: an instance that does not say otherwise takes its subnet's setting. */
function mapsPublicIp(
  subnet: { mapPublicIpOnLaunch?: boolean },
  args: ResourceValidationArgs,
  report: ReportViolation,
): void {
  if (subnet.mapPublicIpOnLaunch === true && args.getConfig<PublicIpConfig>().allowPublicIp !== true) {
    report("The subnet maps a public IP to every instance launched in it (mapPublicIpOnLaunch): set it to false.");
  }
}

export const policies: (ResourceValidationPolicy | StackValidationPolicy)[] = [
  {
    name: "s3-default-encryption-cmk-bucket-key",
    description: "Every bucket's default encryption is aws:kms with a customer managed key and Bucket Key on.",
    enforcementLevel: "mandatory",
    validateStack: (args, report) =>
      bucketsLacking(
        args.resources,
        [
          "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
          "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
        ],
        isKmsWithCmkAndBucketKey,
        report,
        "has no default encryption with aws:kms, a customer managed key and Bucket Key",
      ),
  },
  {
    name: "s3-block-public-access",
    description: "Every bucket has all four Block Public Access settings on.",
    enforcementLevel: "mandatory",
    validateStack: (args, report) =>
      bucketsLacking(
        args.resources,
        ["aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"],
        blocksAllPublicAccess,
        report,
        "lacks a Block Public Access setting with all four flags true",
      ),
  },
  {
    name: "s3-deny-insecure-transport",
    description: "Every bucket's policy denies requests without TLS (aws:SecureTransport false).",
    enforcementLevel: "mandatory",
    validateStack: (args, report) =>
      bucketsLacking(
        args.resources,
        ["aws:s3/bucketPolicy:BucketPolicy"],
        (p) => deniesInsecureTransport(parse(p.policy)),
        report,
        "has no bucket policy that denies non-TLS requests",
      ),
  },
  {
    name: "kms-key-rotation",
    description: "KMS keys rotate automatically.",
    enforcementLevel: "mandatory",
    validateResource: ofType("aws:kms/key:Key", (key, _args, report) => {
      if (key.enableKeyRotation !== true) report("The KMS key does not rotate: set enableKeyRotation to true.");
    }),
  },
  {
    name: "no-public-resource-policy",
    description:
      'No resource policy allows Principal "*" unless a fixed-value condition narrows it to known principals or networks.',
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
      const field = RESOURCE_POLICY_FIELDS[args.type];
      const doc = field ? parse(args.props[field]) : undefined;
      for (const s of doc?.Statement ?? []) {
        if (s.Effect === "Allow" && everyone(s) && !narrowed(s)) {
          report(
            `Statement ${s.Sid} allows Principal "*" without a fixed-value condition on who or where (such as aws:PrincipalOrgID or aws:PrincipalArn).`,
          );
        }
      }
    },
  },
  {
    name: "no-wildcard-identity-policy",
    description: 'No IAM identity policy grants Action "*", or s3:* / kms:* on Resource "*".',
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
      if (!IDENTITY_POLICY_TYPES.includes(args.type)) return;
      for (const s of parse(args.props.policy)?.Statement ?? []) {
        if (s.Effect !== "Allow") continue;
        const actions = actionsOf(s);
        if (actions.includes("*")) report(`Statement ${s.Sid} allows Action "*".`);
        const wide = actions.filter((a) => a === "s3:*" || a === "kms:*");
        if (wide.length > 0 && resourcesOf(s).includes("*"))
          report(`Statement ${s.Sid} allows ${wide.join(", ")} on Resource "*".`);
      }
    },
  },
  {
    name: "consumer-grants-within-access-levels",
    description:
      "No resource, endpoint or identity policy grants a consumer an action that no access level allows (writes outside a level, deletes, policy, ACL, encryption and key administration).",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
      const field =
        RESOURCE_POLICY_FIELDS[args.type] ?? (IDENTITY_POLICY_TYPES.includes(args.type) ? "policy" : undefined);
      const doc = field ? parse(args.props[field]) : undefined;
      // The key's own account administers it; a second account root holding kms:* is a consumer given too much.
      const admins = (doc?.Statement ?? []).filter((s) => isAccountRootAdmin(s));
      if (admins.length > 1)
        report(
          `Statements ${admins.map((s) => s.Sid).join(", ")} each give an account root kms:*: only the key's own account may.`,
        );
      for (const s of doc?.Statement ?? []) {
        if (s.Effect !== "Allow" || (admins.length === 1 && admins[0] === s) || servicesOnly(s)) continue;
        const excess = beyondEveryLevel(s);
        if (excess.length > 0)
          report(`Statement ${s.Sid} grants ${excess.join(", ")}, beyond every access level a consumer may hold.`);
      }
    },
  },
  {
    name: "kms-key-policy-keeps-root-admin",
    description: "Every key policy lets its account root administer the key, so the key can never be locked out.",
    enforcementLevel: "mandatory",
    validateResource: ofType("aws:kms/key:Key", (key, _args, report) => {
      const doc = parse(key.policy);
      const ok = doc?.Statement.some((s) => isAccountRootAdmin(s));
      if (!ok) report("The key policy has no unconditional kms:* statement for the account root.");
    }),
  },
  {
    name: "ec2-imdsv2-no-public-ip-no-key-pair",
    description:
      "EC2 instances require IMDSv2, have no public IP and no key pair; no subnet gives its instances public IPs.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { allowPublicIp: { type: "boolean", default: false } } },
    validateResource: [
      ofType("aws:ec2/instance:Instance", (instance, args, report) => {
        if (instance.metadataOptions?.httpTokens !== "required")
          report("IMDSv2 is not required: set metadataOptions.httpTokens to required.");
        if (instance.associatePublicIpAddress === true && args.getConfig<PublicIpConfig>().allowPublicIp !== true) {
          report(
            "The instance has a public IP. (useDefaultVpc needs one: set this policy's allowPublicIp to true to accept it.)",
          );
        }
        if (instance.keyName) report(`The instance has the key pair ${instance.keyName}; use Session Manager instead.`);
      }),
      ofType("aws:ec2/subnet:Subnet", (subnet, args, report) => mapsPublicIp(subnet, args, report)),
      ofType("aws:ec2/defaultSubnet:DefaultSubnet", (subnet, args, report) => mapsPublicIp(subnet, args, report)),
    ],
  },
  {
    name: "no-open-ingress",
    description: "No security group admits ingress from 0.0.0.0/0 or ::/0.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
      const open = (cidrs: unknown): string[] =>
        asArray(cidrs as string | string[] | undefined).filter((c) => OPEN_CIDRS.includes(c));
      if (args.type === "aws:ec2/securityGroup:SecurityGroup") {
        for (const rule of (args.props.ingress as Props[] | undefined) ?? []) {
          for (const c of [...open(rule.cidrBlocks), ...open(rule.ipv6CidrBlocks)])
            report(`Ingress from ${c} on ports ${String(rule.fromPort)}-${String(rule.toPort)}.`);
        }
      }
      if (args.type === "aws:ec2/securityGroupRule:SecurityGroupRule" && args.props.type === "ingress") {
        for (const c of [...open(args.props.cidrBlocks), ...open(args.props.ipv6CidrBlocks)])
          report(`Ingress rule from ${c}.`);
      }
      if (args.type === "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") {
        for (const c of [...open(args.props.cidrIpv4), ...open(args.props.cidrIpv6)]) report(`Ingress rule from ${c}.`);
      }
    },
  },
];
