import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { RawConfig } from "../shared/program/config";
import { SOURCE_BASE } from "../shared/offline/fixtures";
import { runProgramExpectingError } from "../shared/offline/run";
import { projectTmpDir } from "./tmp";

const VALID = SOURCE_BASE;

interface BadCase {
  what: string;
  /** Keys to set; undefined removes a key. */
  set: Record<string, string | undefined>;
  /** Fragments the report must contain: the key, the value and the rule. */
  expect: string[];
  /** How many problems the input holds. Default 1. */
  problems?: number;
}

const emptyDir = projectTmpDir("no-objects-");
/** A folder whose file names S3 would take, but the boot script's sha256 line and marker cannot carry. */
const oddNames = projectTmpDir("odd-names-");
fs.writeFileSync(path.join(oddNames, "back\\slash.txt"), "x");
fs.writeFileSync(path.join(oddNames, "new\nline.txt"), "x");

const consumers = (...c: object[]): string => JSON.stringify(c);

const CASES: BadCase[] = [
  {
    what: "side missing",
    set: { "cross-account-s3-kms:side": undefined },
    expect: ["cross-account-s3-kms:side is not set", '"source" or "target"'],
  },
  {
    what: "side unknown",
    set: { "cross-account-s3-kms:side": "both" },
    expect: ['cross-account-s3-kms:side = "both"', '"source" or "target"'],
  },
  { what: "region missing", set: { "aws:region": undefined }, expect: ["aws:region is not set", "AWS region"] },
  {
    what: "region malformed",
    set: { "aws:region": "uswest2" },
    expect: ['aws:region = "uswest2"', "is not an AWS region"],
  },
  {
    what: "region in another partition",
    set: { "aws:region": "cn-north-1" },
    expect: ['aws:region = "cn-north-1"', "is in the aws-cn partition", "only regions of the aws partition"],
  },
  {
    what: "allowedAccountIds missing",
    set: { "aws:allowedAccountIds": undefined },
    expect: ["aws:allowedAccountIds is not set", "account ID"],
  },
  {
    what: "allowedAccountIds lists two accounts",
    set: { "aws:allowedAccountIds": '["111111111111","333333333333"]' },
    expect: ["aws:allowedAccountIds = [", "exactly one account ID"],
  },
  {
    what: "allowedAccountIds short ID",
    set: { "aws:allowedAccountIds": '["11111111111"]' },
    expect: ['aws:allowedAccountIds[0] = "11111111111"', "12-digit"],
  },
  {
    what: "consumers not a list",
    set: { "cross-account-s3-kms:consumers": "account-b-role" },
    expect: ['cross-account-s3-kms:consumers = "account-b-role"', "YAML list"],
  },
  {
    what: "consumers empty",
    set: { "cross-account-s3-kms:consumers": "[]" },
    expect: ["cross-account-s3-kms:consumers = []", "must list the roles granted read access", "consumerOrgId"],
  },
  {
    what: "consumer account ID not 12 digits",
    set: { "cross-account-s3-kms:consumers": consumers({ accountId: "2222", roleName: "r" }) },
    expect: ['cross-account-s3-kms:consumers[0].accountId = "2222"', "12-digit AWS account ID"],
  },
  {
    what: "consumer account ID as a YAML number that lost its leading zero",
    set: { "cross-account-s3-kms:consumers": '[{"accountId":22222222222,"roleName":"r"}]' },
    expect: ["cross-account-s3-kms:consumers[0].accountId = 22222222222", "quote it in YAML"],
  },
  {
    what: "source account ID unquoted in YAML (a number)",
    set: { "aws:allowedAccountIds": "[111111111111]" },
    expect: ["aws:allowedAccountIds[0] = 111111111111", "is a number: quote it in YAML"],
  },
  {
    what: "objects outside the project (an absolute system folder)",
    set: { "cross-account-s3-kms:objects": "/etc/ssl" },
    expect: ['cross-account-s3-kms:objects = "/etc/ssl"', "must be a folder inside the project"],
  },
  {
    what: "objects outside the project (a parent folder)",
    set: { "cross-account-s3-kms:objects": ".." },
    expect: ['cross-account-s3-kms:objects = ".."', "must be a folder inside the project"],
  },
  {
    what: "objects that are the whole project",
    set: { "cross-account-s3-kms:objects": "." },
    expect: ['cross-account-s3-kms:objects = "."', "must be a folder inside the project"],
  },
  {
    what: "object file names with a backslash and a newline",
    set: { "cross-account-s3-kms:objects": oddNames },
    expect: ["gives an S3 key that must not contain a backslash", 'file "back\\\\slash.txt"', 'file "new\\nline.txt"'],
    problems: 2,
  },
  {
    what: "consumer role name with a space",
    set: { "cross-account-s3-kms:consumers": consumers({ accountId: "222222222222", roleName: "my role" }) },
    expect: ['cross-account-s3-kms:consumers[0].roleName = "my role"', "IAM role name"],
  },
  {
    what: "consumer role name over 64 characters",
    set: { "cross-account-s3-kms:consumers": consumers({ accountId: "222222222222", roleName: "r".repeat(65) }) },
    expect: ["cross-account-s3-kms:consumers[0].roleName", "1-64 characters"],
  },
  {
    what: "consumer with a misspelt field",
    set: { "cross-account-s3-kms:consumers": consumers({ accountId: "222222222222", role: "r" }) },
    expect: [
      "cross-account-s3-kms:consumers[0].roleName is not set",
      "cross-account-s3-kms:consumers[0] = ",
      "unknown field role",
    ],
    problems: 2,
  },
  {
    what: "consumer in the source account",
    set: { "cross-account-s3-kms:consumers": consumers({ accountId: "111111111111", roleName: "r" }) },
    expect: ['cross-account-s3-kms:consumers[0].accountId = "111111111111"', "must differ from the source account"],
  },
  {
    what: "duplicate consumer",
    set: {
      "cross-account-s3-kms:consumers": consumers(
        { accountId: "222222222222", roleName: "r" },
        { accountId: "222222222222", roleName: "r" },
      ),
    },
    expect: ["cross-account-s3-kms:consumers[1] = ", "duplicates an earlier consumer"],
  },
  {
    what: "alias without prefix",
    set: { "cross-account-s3-kms:keyAlias": "accounta-cmk" },
    expect: ['cross-account-s3-kms:keyAlias = "accounta-cmk"', "alias/"],
  },
  {
    what: "alias reserved for AWS",
    set: { "cross-account-s3-kms:keyAlias": "alias/aws/s3" },
    expect: ['cross-account-s3-kms:keyAlias = "alias/aws/s3"', "reserves"],
  },
  {
    what: "bucket name with capitals",
    set: { "cross-account-s3-kms:bucketName": "My-Bucket" },
    expect: ['cross-account-s3-kms:bucketName = "My-Bucket"', "lowercase"],
  },
  {
    what: "bucket name too short",
    set: { "cross-account-s3-kms:bucketName": "ab" },
    expect: ['cross-account-s3-kms:bucketName = "ab"', "3-63 characters"],
  },
  {
    what: "bucket name with dots",
    set: { "cross-account-s3-kms:bucketName": "my.bucket" },
    expect: ['cross-account-s3-kms:bucketName = "my.bucket"', "dots"],
  },
  {
    what: "bucket name with a reserved prefix",
    set: { "cross-account-s3-kms:bucketName": "xn--bucket" },
    expect: ['cross-account-s3-kms:bucketName = "xn--bucket"', "xn--"],
  },
  {
    what: "bucket name with a reserved suffix",
    set: { "cross-account-s3-kms:bucketName": "data-s3alias" },
    expect: ['cross-account-s3-kms:bucketName = "data-s3alias"', "-s3alias"],
  },
  {
    what: "rotation below 90 days",
    set: { "cross-account-s3-kms:keyRotationDays": "30" },
    expect: ['cross-account-s3-kms:keyRotationDays = "30"', "from 90 to 2560"],
  },
  {
    what: "rotation above 2560 days",
    set: { "cross-account-s3-kms:keyRotationDays": "3000" },
    expect: ['cross-account-s3-kms:keyRotationDays = "3000"', "from 90 to 2560"],
  },
  {
    what: "rotation not a number",
    set: { "cross-account-s3-kms:keyRotationDays": "yearly" },
    expect: ['cross-account-s3-kms:keyRotationDays = "yearly"', "whole number"],
  },
  {
    what: "boolean spelt yes",
    set: { "cross-account-s3-kms:allowListBucket": "yes" },
    expect: ['cross-account-s3-kms:allowListBucket = "yes"', "true or false"],
  },
  {
    what: "protectData spelt 1",
    set: { "cross-account-s3-kms:protectData": "1" },
    expect: ['cross-account-s3-kms:protectData = "1"', "true or false"],
  },
  {
    what: "objects folder missing",
    set: { "cross-account-s3-kms:objects": "no/such/folder" },
    expect: ['cross-account-s3-kms:objects = "no/such/folder"', "existing folder"],
  },
  {
    what: "objects folder empty",
    set: { "cross-account-s3-kms:objects": emptyDir },
    expect: [`cross-account-s3-kms:objects = ${JSON.stringify(emptyDir)}`, "at least one file"],
  },
  {
    what: "misspelt key",
    set: { "cross-account-s3-kms:consumer": "[]" },
    expect: ["cross-account-s3-kms:consumer is not a source-stack key", "consumers"],
  },
  {
    what: "target-only key on the source",
    set: { "cross-account-s3-kms:roleName": "r" },
    expect: ["cross-account-s3-kms:roleName is not a source-stack key"],
  },
  {
    what: "a consumer's access level unknown",
    set: { "cross-account-s3-kms:consumers": consumers({ accountId: "222222222222", roleName: "r", access: "admin" }) },
    expect: ['cross-account-s3-kms:consumers[0].access = "admin"', "read, write, read-write"],
  },
  {
    what: "a prefix without its trailing slash",
    set: {
      "cross-account-s3-kms:consumers": consumers({ accountId: "222222222222", roleName: "r", prefixes: ["incoming"] }),
    },
    expect: ['cross-account-s3-kms:consumers[0].prefixes[0] = "incoming"', 'must end with "/"', '"incoming/"'],
  },
  {
    what: "prefixes with a wildcard, a leading slash, and none at all, all at once",
    set: {
      "cross-account-s3-kms:consumers": consumers(
        { accountId: "222222222222", roleName: "a", prefixes: ["in*/"] },
        { accountId: "222222222222", roleName: "b", prefixes: ["/reports/"] },
        { accountId: "333333333333", roleName: "c", prefixes: [] },
      ),
    },
    expect: [
      'consumers[0].prefixes[0] = "in*/"',
      "wildcards",
      'consumers[1].prefixes[0] = "/reports/"',
      'must not start with "/"',
      "consumers[2].prefixes = []",
      "leave it out for the whole bucket",
    ],
    problems: 3,
  },
  {
    what: "prefixes that overlap, or repeat",
    set: {
      "cross-account-s3-kms:consumers": consumers({
        accountId: "222222222222",
        roleName: "r",
        prefixes: ["data/", "data/2026/", "logs/", "logs/"],
      }),
    },
    expect: [
      'consumers[0].prefixes[1] = "data/2026/"',
      'overlaps "data/"',
      'consumers[0].prefixes[3] = "logs/"',
      "listed twice",
    ],
    problems: 2,
  },
  {
    what: "a prefix holding a policy variable, and one with a leading space",
    set: {
      "cross-account-s3-kms:consumers": consumers({
        accountId: "222222222222",
        roleName: "r",
        prefixes: ["${aws:PrincipalTag/team}/", " a/"],
      }),
    },
    expect: ['prefixes[0] = "${aws:PrincipalTag/team}/"', "policy variable", 'prefixes[1] = " a/"', "space"],
    problems: 2,
  },
];

function configWith(set: Record<string, string | undefined>): RawConfig {
  const c: RawConfig = { ...VALID };
  for (const [k, v] of Object.entries(set)) {
    if (v === undefined) delete c[k];
    else c[k] = v;
  }
  return c;
}

describe("config validation (before any resource is declared)", () => {
  after(() => {
    fs.rmSync(emptyDir, { recursive: true, force: true });
    fs.rmSync(oddNames, { recursive: true, force: true });
  });

  for (const c of CASES) {
    it(`rejects ${c.what}`, async () => {
      const { error, resources } = await runProgramExpectingError({ stack: "source", config: configWith(c.set) });
      const problems = error.message.split("\n").filter((l) => l.startsWith("  - "));
      assert.equal(problems.length, c.problems ?? 1, `problems reported:\n${error.message}`);
      for (const fragment of c.expect)
        assert.ok(
          problems.some((p) => p.includes(fragment)),
          `"${fragment}" missing from:\n${error.message}`,
        );
      assert.equal(resources.length, 0, "no resource may be declared before config is valid");
      assert.equal(error.name, "UserError", "a user error, which Pulumi prints without a stack trace");
    });
  }

  it("reports every problem at once", async () => {
    const { error } = await runProgramExpectingError({
      stack: "source",
      config: configWith({
        "cross-account-s3-kms:keyRotationDays": "30",
        "cross-account-s3-kms:bucketName": "UPPER",
        "cross-account-s3-kms:auditTrail": "maybe",
      }),
    });
    assert.match(error.message, /Invalid configuration for the source stack \(3 problems\)/);
    for (const k of ["keyRotationDays", "bucketName", "auditTrail"])
      assert.ok(error.message.includes(`cross-account-s3-kms:${k}`), k);
  });
});
