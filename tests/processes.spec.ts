/**
 * The CLIs' contract as a user meets it: each case is a real child process of an npm script's
 * command (read from package.json), in a copy of the project, with a PATH where the Pulumi CLI is
 * a fake. Every case asserts the exit code, the message (file, key, value, rule) and that nothing
 * printed looks like a stack frame or an object dump. A few run through `npm run` itself, to prove
 * npm passes the arguments, the caller's folder and the exit code.
 */
import { strict as assert } from "assert";
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stringify } from "yaml";

const ROOT = path.resolve(__dirname, "..");
const SCRIPTS = (
  JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }
).scripts;

interface Case {
  name: string;
  script: string;
  args?: string[];
  /** Files written into the project copy for this case (relative path → content); stack files are restored after. */
  files?: Record<string, string>;
  env?: Record<string, string>;
  /** Files removed from the project copy for this case; stack files are restored after. */
  remove?: string[];
  /** The folder, relative to the copy, the command is typed in. */
  cwd?: string;
  /** Through `npm run`, not the script's command directly. */
  npm?: boolean;
  /** Stand-ins put first on PATH (name → shell script), e.g. an old git. */
  bin?: Record<string, string>;
  /** false: PATH holds only the copy's own folder (node and the fake pulumi), not the system's, so git is not found. */
  systemPath?: false;
  /** Run in the copy that is a git repository (HEAD~1 lacks the plan tool), not the plain one. */
  repo?: true;
  /** Paths, relative to the copy, removed before the case and that must still not exist after it. */
  absent?: string[];
  code: number;
  stderr?: (string | RegExp)[];
  stdout?: (string | RegExp)[];
  /** stdout is the tool's JSON (--json): it must parse, and only stderr is checked for object dumps. */
  json?: boolean;
}

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

const yaml = (config: Record<string, unknown>): string => stringify({ config });
const SOURCE = {
  "aws:region": "us-west-2",
  "aws:allowedAccountIds": ["111111111111"],
  "cross-account-s3-kms:side": "source",
  "cross-account-s3-kms:consumers": [{ accountId: "222222222222", roleName: "account-b-role" }],
};
const TARGET = {
  "aws:region": "us-west-2",
  "aws:allowedAccountIds": ["222222222222"],
  "cross-account-s3-kms:side": "target",
};
const source = (over: Record<string, unknown>) => yaml({ ...SOURCE, ...over });
const target = (over: Record<string, unknown>) => yaml({ ...TARGET, ...over });
/** A YAML number where an account ID belongs, as a user who forgot the quotes writes it. */
const UNQUOTED_SOURCE = source({}).replace('- "111111111111"', "- 111111111111");
const UNQUOTED_TARGET = target({}).replace('- "222222222222"', "- 222222222222");
const MALFORMED = 'config:\n  aws:region: "us-west-2\n  aws:allowedAccountIds: [\n';
const SECRET = `${source({})}  cross-account-s3-kms:bucketName:\n    secure: AAABAHmXkOtGa2ftJv3Nt2c4u0w=\n`;
const consumers = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ accountId: String(300000000000 + i), roleName: `reader-${i}` }));

const CASES: Case[] = [
  // plan: arguments
  {
    name: "plan: an unknown option",
    script: "plan",
    args: ["--bogus"],
    code: 2,
    stderr: ["plan: unknown option --bogus", "--help"],
  },
  {
    name: "plan: an option without its value",
    script: "plan",
    args: ["--source-config"],
    code: 2,
    stderr: ["option --source-config needs a value"],
  },
  {
    name: "plan: a stray argument",
    script: "plan",
    args: ["Pulumi.source.yaml"],
    code: 2,
    stderr: ['unexpected argument "Pulumi.source.yaml"'],
  },
  {
    name: "plan: --help",
    script: "plan",
    args: ["--help"],
    code: 0,
    stdout: ["usage: npm run plan -- [options]", "--source-config FILE", "exit codes: 0"],
  },
  {
    name: "plan: --base outside a git checkout",
    script: "plan",
    args: ["--base", "main"],
    code: 2,
    stderr: [/--base main: .* is not a git checkout/],
  },
  // plan: files
  {
    name: "plan: a missing file",
    script: "plan",
    args: ["--source-config", "nope.yaml"],
    code: 2,
    stderr: ["--source-config nope.yaml: no such file"],
  },
  {
    name: "plan: malformed YAML",
    script: "plan",
    args: ["--source-config", "c/bad.yaml"],
    files: { "c/bad.yaml": MALFORMED },
    code: 2,
    stderr: ["--source-config c/bad.yaml: not valid YAML"],
  },
  {
    name: "plan: YAML that is not a stack file",
    script: "plan",
    args: ["--target-config", "c/list.yaml"],
    files: { "c/list.yaml": "- a\n- b\n" },
    code: 2,
    stderr: ["--target-config c/list.yaml: must be a Pulumi stack file"],
  },
  {
    name: "plan: a secret",
    script: "plan",
    args: ["--source-config", "c/secret.yaml"],
    files: { "c/secret.yaml": SECRET },
    code: 2,
    stderr: ["--source-config c/secret.yaml: cross-account-s3-kms:bucketName is a secret"],
  },
  {
    name: "plan: the source file given as the target's",
    script: "plan",
    args: ["--target-config", "Pulumi.source.yaml"],
    code: 2,
    stderr: [
      "--target-config Pulumi.source.yaml: is a source-stack file (cross-account-s3-kms:side = source)",
      "swap the two files",
    ],
  },
  {
    name: "plan: the target file given as the source's",
    script: "plan",
    args: ["--source-config", "Pulumi.target.yaml"],
    code: 2,
    stderr: ["--source-config Pulumi.target.yaml: is a target-stack file", "swap the two files"],
  },
  // plan: config
  {
    name: "plan: an unquoted source account ID",
    script: "plan",
    args: ["--source-config", "c/s.yaml"],
    files: { "c/s.yaml": UNQUOTED_SOURCE },
    code: 2,
    stderr: ["--source-config c/s.yaml: aws:allowedAccountIds[0] = 111111111111: is a number: quote it in YAML"],
  },
  {
    name: "plan: an unquoted target account ID",
    script: "plan",
    args: ["--target-config", "c/t.yaml"],
    files: { "c/t.yaml": UNQUOTED_TARGET },
    code: 2,
    stderr: ["--target-config c/t.yaml: aws:allowedAccountIds[0] = 222222222222: is a number: quote it in YAML"],
  },
  {
    name: "plan: no region",
    script: "plan",
    args: ["--source-config", "c/s.yaml"],
    files: { "c/s.yaml": source({ "aws:region": undefined }) },
    code: 2,
    stderr: [
      "--source-config c/s.yaml: Invalid configuration for the source stack",
      "aws:region is not set",
      "AWS region",
    ],
  },
  {
    name: "plan: too many consumers for the bucket policy",
    script: "plan",
    args: ["--source-config", "c/s.yaml"],
    files: { "c/s.yaml": source({ "cross-account-s3-kms:consumers": consumers(300) }) },
    code: 2,
    stderr: ["With 300 cross-account-s3-kms:consumers", "over AWS's limit of 20,480", "consumerOrgId"],
  },
  {
    name: "plan: objects in a system folder",
    script: "plan",
    args: ["--source-config", "c/s.yaml"],
    files: { "c/s.yaml": source({ "cross-account-s3-kms:objects": "/etc/ssl" }) },
    code: 2,
    stderr: ['cross-account-s3-kms:objects = "/etc/ssl": must be a folder inside the project'],
  },
  {
    name: "plan: an object file name with a backslash",
    script: "plan",
    args: ["--source-config", "c/s.yaml"],
    files: { "c/s.yaml": source({ "cross-account-s3-kms:objects": "c/odd" }), "c/odd/a\\b.txt": "x" },
    code: 2,
    stderr: [
      'cross-account-s3-kms:objects = "c/odd": file "a\\\\b.txt" gives an S3 key that must not contain a backslash',
    ],
  },
  {
    name: "plan: an object file name with a newline",
    script: "plan",
    args: ["--source-config", "c/s.yaml"],
    files: { "c/s.yaml": source({ "cross-account-s3-kms:objects": "c/nl" }), "c/nl/a\nb.txt": "x" },
    code: 2,
    stderr: ['file "a\\nb.txt" gives an S3 key that must not contain a backslash or a control character'],
  },
  {
    name: "plan: a target objectKey with a newline",
    script: "plan",
    args: ["--target-config", "c/t.yaml"],
    files: { "c/t.yaml": target({ "cross-account-s3-kms:objectKey": "a\nb" }) },
    code: 2,
    stderr: [
      "--target-config c/t.yaml: Invalid configuration for the target stack",
      'cross-account-s3-kms:objectKey = "a\\nb": must not contain',
    ],
  },
  {
    name: "plan: a target role the source does not grant (found by the program run)",
    script: "plan",
    args: ["--target-config", "c/t.yaml"],
    files: { "c/t.yaml": target({ "cross-account-s3-kms:roleName": "other-role" }) },
    code: 2,
    stderr: [
      "--target-config c/t.yaml: The target stack does not match the source stack",
      "arn:aws:iam::222222222222:role/other-role is not granted",
    ],
  },
  {
    name: "plan: a relative path, from the folder it was typed in",
    script: "plan",
    cwd: "c/sub",
    args: ["--source-config", "../here.yaml"],
    files: { "c/here.yaml": source({ "cross-account-s3-kms:keyRotationDays": 1 }) },
    code: 2,
    stderr: ["--source-config ../here.yaml: Invalid configuration", 'keyRotationDays = "1"'],
  },
  // deploy and destroy
  {
    name: "deploy: an unknown option",
    script: "deploy",
    args: ["--force"],
    code: 2,
    stderr: ["deploy: unknown option --force"],
  },
  {
    name: "deploy: a stack that does not exist",
    script: "deploy",
    args: ["--stack", "both"],
    code: 2,
    stderr: ['--stack = "both": must be source or target'],
  },
  {
    name: "deploy: a stray argument after an option's value",
    script: "deploy",
    args: ["--stack", "target", "oops"],
    code: 2,
    stderr: ['deploy: unexpected argument "oops"'],
  },
  {
    name: "deploy: bad config stops before the CLI, as the program would",
    script: "deploy",
    args: ["--yes"],
    files: { "Pulumi.source.yaml": source({ "cross-account-s3-kms:keyRotationDays": 12 }) },
    code: 2,
    stderr: ["deploy: Pulumi.source.yaml: Invalid configuration for the source stack", 'keyRotationDays = "12"'],
  },
  {
    name: "deploy: a malformed stack file",
    script: "deploy",
    args: ["--yes"],
    files: { "Pulumi.source.yaml": MALFORMED },
    code: 2,
    stderr: ["deploy: Pulumi.source.yaml: not valid YAML"],
  },
  {
    name: "deploy: a stack file with a secret gets as far as the CLI",
    script: "deploy",
    args: ["--yes"],
    files: { "Pulumi.source.yaml": SECRET },
    code: 2,
    stderr: ["deploy: The Pulumi CLI is not available"],
  },
  {
    name: "deploy: an unquoted account ID",
    script: "deploy",
    args: ["--yes"],
    files: { "Pulumi.target.yaml": UNQUOTED_TARGET },
    code: 2,
    stderr: ["deploy: Pulumi.target.yaml: aws:allowedAccountIds[0] = 222222222222: is a number: quote it in YAML"],
  },
  {
    name: "deploy: the target's file holds the source's config",
    script: "deploy",
    args: ["--yes"],
    files: { "Pulumi.target.yaml": source({}) },
    code: 2,
    stderr: ["deploy: Pulumi.target.yaml: is a source-stack file"],
  },
  {
    name: "deploy: no Pulumi CLI",
    script: "deploy",
    args: ["--yes"],
    code: 2,
    stderr: ["deploy: The Pulumi CLI is not available (pulumi is not installed: a test fake)", 'npm "pulumi" launcher'],
  },
  // verify
  { name: "verify: no Pulumi CLI", script: "verify", code: 2, stderr: ["verify: The Pulumi CLI is not available"] },
  {
    name: "verify: a missing stack file",
    script: "verify",
    remove: ["Pulumi.target.yaml"],
    code: 2,
    stderr: ["verify: Pulumi.target.yaml does not exist"],
  },
  {
    name: "verify: the backend refuses to select the stack",
    script: "verify",
    env: { FAKE_PULUMI: "works", PULUMI_CONFIG_PASSPHRASE: "" },
    code: 2,
    stderr: ["verify: Cannot read the source stack's outputs from the backend", "AccessDenied"],
  },
  // test:integration
  {
    name: "test:integration: enabled, with a broken stack file",
    script: "test:integration",
    env: { CROSS_ACCOUNT_IT: "1" },
    files: { "Pulumi.source.yaml": MALFORMED },
    code: 2,
    stderr: ["test:integration: Pulumi.source.yaml: not valid YAML"],
  },
  {
    name: "test:integration: enabled, without a profile per account",
    script: "test:integration",
    env: { CROSS_ACCOUNT_IT: "1" },
    code: 2,
    stderr: ["needs one AWS profile per account: set aws:profile in both"],
  },
  { name: "analyze: a bad option", script: "analyze", args: ["--bogus"], code: 2, stderr: ["unknown option --bogus"] },
  {
    name: "analyze: --head and --base together",
    script: "analyze",
    args: ["--head", "plan.json", "--base", "HEAD"],
    code: 2,
    stderr: ["--head and --base: give one (with --head, this checkout is the base)"],
  },
  {
    name: "analyze: --head of a file that is not a plan",
    script: "analyze",
    args: ["--head", "notes.json"],
    files: { "notes.json": '{"approved": true}' },
    code: 2,
    stderr: [/--head \S+notes\.json: not a plan's JSON \(npm run plan -- --json\): source: /],
  },
  // review
  { name: "review: without --head", script: "review", code: 2, stderr: ["--head FILE is required"] },
  {
    name: "review: --head of a folder",
    script: "review",
    args: ["--head", "shared"],
    code: 2,
    stderr: [/--head \S+shared: not a regular file/],
  },
  {
    name: "review: a details URL that is not https",
    script: "review",
    args: ["--head", "plan.json", "--details-url", "javascript:alert(1)"],
    code: 2,
    stderr: ['--details-url = "javascript:alert(1)": must be an https URL'],
  },
  // issue 20: values checked against AWS's own lists
  {
    name: "plan: a region AWS does not have",
    script: "plan",
    args: ["--source-config", "c/s.yaml"],
    files: { "c/s.yaml": source({ "aws:region": "us-west-9" }) },
    code: 2,
    stderr: ['aws:region = "us-west-9": is not an AWS region the AWS provider knows', "us-west-1 or us-west-2"],
  },
  {
    name: "analyze: --region in another partition",
    script: "analyze",
    args: ["--region", "cn-north-1"],
    code: 2,
    stderr: ['--region = "cn-north-1": is in the aws-cn partition', "only regions of the aws partition"],
  },
  {
    name: "plan: an instance type AWS does not have",
    script: "plan",
    args: ["--target-config", "c/t.yaml"],
    files: { "c/t.yaml": target({ "cross-account-s3-kms:instanceType": "t9.nano" }) },
    code: 2,
    stderr: ['instanceType = "t9.nano": is not an EC2 instance type the AWS provider knows', /nearest: .*t3\.nano/],
  },
  {
    name: "plan: mac2.metal, whose architecture AWS reports as arm64_mac",
    script: "plan",
    args: ["--target-config", "c/t.yaml"],
    files: { "c/t.yaml": target({ "cross-account-s3-kms:instanceType": "mac2.metal" }) },
    code: 2,
    stderr: ['instanceType = "mac2.metal": AWS reports its architectures as arm64_mac'],
  },
  {
    name: "plan --json: a Graviton type, planned with the arm64 image AWS's answer calls for",
    script: "plan",
    args: ["--target-config", "c/t.yaml", "--json"],
    files: { "c/t.yaml": target({ "cross-account-s3-kms:instanceType": "c7g.medium" }) },
    code: 0,
    json: true,
    // This copy of the project is not a git checkout: the objects rule says what it could not check.
    stderr: ["cannot ask git which files it ignores", "is not in a git repository; only hidden folders were refused"],
    stdout: [
      /"token": "aws:ec2\/getInstanceType:getInstanceType",\s*"args": \{\s*"instanceType": "c7g\.medium"/,
      /"args": \{\s*"name": "\/aws\/service\/ami-amazon-linux-latest\/al2023-ami-kernel-default-arm64"/,
    ],
  },
  {
    name: "plan: a permissions boundary in another account",
    script: "plan",
    args: ["--target-config", "c/t.yaml"],
    files: {
      "c/t.yaml": target({ "cross-account-s3-kms:permissionsBoundaryArn": "arn:aws:iam::333333333333:policy/b" }),
    },
    code: 2,
    stderr: ["is a policy of account 333333333333, but this stack's role is in account 222222222222"],
  },
  {
    name: "plan: consumers Reader and reader in one account",
    script: "plan",
    args: ["--source-config", "c/s.yaml"],
    files: {
      "c/s.yaml": source({
        "cross-account-s3-kms:consumers": [
          { accountId: "222222222222", roleName: "Reader" },
          { accountId: "222222222222", roleName: "reader" },
        ],
      }),
    },
    code: 2,
    stderr: ['names the same role as the earlier "Reader" in account 222222222222'],
  },
  {
    name: "plan: objects in .git",
    script: "plan",
    args: ["--source-config", "c/s.yaml"],
    files: { "c/s.yaml": source({ "cross-account-s3-kms:objects": ".git" }) },
    code: 2,
    stderr: ['cross-account-s3-kms:objects = ".git": is inside .git'],
  },
  {
    name: "plan: objects in a hidden folder",
    script: "plan",
    args: ["--source-config", "c/s.yaml"],
    files: { "c/s.yaml": source({ "cross-account-s3-kms:objects": "c/.hidden" }), "c/.hidden/a.txt": "x" },
    code: 2,
    stderr: ['cross-account-s3-kms:objects = "c/.hidden": is a hidden folder (.hidden)'],
  },
  // issue 20: environment failures
  {
    name: "plan --base: git not on PATH",
    script: "plan",
    args: ["--base", "HEAD"],
    systemPath: false,
    code: 2,
    stderr: [/^plan: plan --base needs git \(not found on PATH\)\n$/],
  },
  {
    name: "plan --base: a git older than the one it needs",
    script: "plan",
    args: ["--base", "HEAD"],
    bin: { git: '#!/bin/sh\necho "git version 1.9.5"\n' },
    code: 2,
    stderr: [
      /^plan: plan --base needs git 2\.0\.0 or later \(for git archive and rev-parse --verify REF\^\{commit\}\); this is git 1\.9\.5\n$/,
    ],
  },
  {
    name: "plan --base: a revision from before the plan tool",
    script: "plan",
    args: ["--base", "HEAD~1"],
    repo: true,
    code: 2,
    stderr: [
      /^plan: --base HEAD~1 \([0-9a-f]{12}\) cannot be planned: that revision has no plan tool \(npm run plan runs shared\/tools\/plan\/index\.ts, which it lacks\), so it predates the access review; compare against a later revision\n$/,
    ],
  },
  {
    name: "deploy: a Pulumi CLI older than the Automation API needs",
    script: "deploy",
    args: ["--yes"],
    env: { FAKE_PULUMI: "old", PULUMI_CONFIG_PASSPHRASE: "" },
    code: 2,
    stderr: [
      /^deploy: The Pulumi CLI is v3\.1\.0, and this project's Automation API \(@pulumi\/pulumi\) needs 3\.2\.0 or later/,
    ],
  },
  {
    name: "plan --base: TMPDIR does not exist",
    script: "plan",
    args: ["--base", "HEAD"],
    env: { TMPDIR: "{project}/no-such-folder" },
    absent: ["no-such-folder"],
    code: 2,
    stderr: [
      /^plan: plan --base needs a temporary folder, and TMPDIR=\S+\/no-such-folder does not exist: set TMPDIR to an existing folder you can write to, or unset it\n$/,
    ],
  },
  {
    name: "bench: TMPDIR is a file",
    script: "bench",
    args: ["--no-suite", "--sizes", "1"],
    env: { TMPDIR: "{project}/package.json" },
    code: 2,
    stderr: [/^bench: bench needs a temporary folder, and TMPDIR=\S+\/package\.json is not a folder: set TMPDIR/],
  },
  {
    name: "plan: TMPDIR does not exist (Pulumi's SDK needs it as it loads)",
    script: "plan",
    env: { TMPDIR: "{project}/no-such-folder" },
    code: 2,
    stderr: [/^plan: plan needs a temporary folder, and TMPDIR=\S+\/no-such-folder does not exist/],
  },
  {
    name: "verify: TMPDIR does not exist",
    script: "verify",
    env: { TMPDIR: "{project}/no-such-folder" },
    code: 2,
    stderr: [/^verify: verify needs a temporary folder, and TMPDIR=\S+\/no-such-folder does not exist/],
  },
  {
    name: "deploy: TMPDIR does not exist",
    script: "deploy",
    args: ["--yes"],
    env: { TMPDIR: "{project}/no-such-folder" },
    code: 2,
    stderr: [/^deploy: deploy needs a temporary folder, and TMPDIR=\S+\/no-such-folder does not exist/],
  },
  ...(process.getuid?.() === 0
    ? [] // root writes to any folder: this one runs as a user, as CI does.
    : [
        {
          name: "plan --base: TMPDIR not writable",
          script: "plan",
          args: ["--base", "HEAD"],
          env: { TMPDIR: "/" },
          code: 2,
          stderr: [/^plan: plan --base needs a temporary folder, and TMPDIR=\/ is not writable/],
        },
      ]),
  {
    name: "plan: --help with an unusable TMPDIR (tsx runs without its cache)",
    script: "plan",
    args: ["--help"],
    env: { TMPDIR: "{project}/package.json" },
    code: 0,
    stdout: ["usage: npm run plan -- [options]"],
  },
  {
    name: "deploy: --stack given twice",
    script: "deploy",
    args: ["--stack", "source", "--stack", "target"],
    code: 2,
    stderr: ["deploy: --stack given twice: give it once", "--help"],
  },
  {
    name: "plan: a broken --source-config followed by a good one",
    script: "plan",
    args: ["--source-config", "c/bad.yaml", "--source-config", "Pulumi.source.yaml"],
    files: { "c/bad.yaml": MALFORMED },
    code: 2,
    stderr: ["plan: --source-config given twice: give it once"],
  },
  {
    name: "bench: --sizes in hexadecimal",
    script: "bench",
    args: ["--sizes", "0x1"],
    code: 2,
    stderr: ['bench: --sizes = "0x1": must be ascending whole numbers'],
  },
  {
    name: "bench: --sizes in exponent notation",
    script: "bench",
    args: ["--sizes", "1,1e2"],
    code: 2,
    stderr: ['bench: --sizes = "1,1e2": must be ascending whole numbers'],
  },
  {
    name: "verify: --wait in hexadecimal",
    script: "verify",
    args: ["--wait", "0x10"],
    code: 2,
    stderr: ['verify: --wait = "0x10": must be a whole number of seconds'],
  },
  {
    name: "deploy: no terminal stops it before it makes the backend's folder",
    script: "deploy",
    env: { FAKE_PULUMI: "works", PULUMI_CONFIG_PASSPHRASE: "" },
    absent: [".pulumi-state"],
    code: 2,
    stderr: ["deploy: No terminal to confirm changes on: pass --yes"],
  },
  // bench
  {
    name: "bench: --help answers at once",
    script: "bench",
    args: ["--help"],
    code: 0,
    stdout: ["usage: npm run bench -- [options]", "--sizes N,N,..."],
  },
  {
    name: "bench: sizes out of order",
    script: "bench",
    args: ["--sizes", "10,1"],
    code: 2,
    stderr: ['bench: --sizes = "10,1": must be ascending whole numbers'],
  },
  // issue 20: config read as Pulumi reads it
  {
    name: "plan: a merge key is applied: its keys, a bare one too, are read and checked like any other",
    script: "plan",
    args: ["--source-config", "c/s.yaml"],
    files: {
      "c/s.yaml":
        'x-account-a: &a\n  aws:region: us-west-2\n  aws:allowedAccountIds: ["111111111111"]\n  keyRotationDays: 30\n' +
        "config:\n  <<: *a\n  cross-account-s3-kms:side: source\n" +
        '  cross-account-s3-kms:consumers:\n    - accountId: "222222222222"\n      roleName: account-b-role\n',
    },
    code: 2,
    stderr: ["source stack (1 problem)", 'cross-account-s3-kms:keyRotationDays = "30": must be a whole number from 90'],
  },
  {
    name: "plan: the legacy <project>:config:<key> form is read as <project>:<key>",
    script: "plan",
    args: ["--source-config", "c/s.yaml"],
    files: { "c/s.yaml": `${source({})}  cross-account-s3-kms:config:keyRotationDays: 30\n` },
    code: 2,
    stderr: ["source stack (1 problem)", 'cross-account-s3-kms:keyRotationDays = "30": must be a whole number from 90'],
  },
  {
    name: "plan: a misspelt aws: key, with the provider's nearest",
    script: "plan",
    args: ["--source-config", "c/s.yaml"],
    files: { "c/s.yaml": source({ "aws:profle": "account-a" }) },
    code: 2,
    stderr: [
      "--source-config c/s.yaml: Invalid configuration",
      "aws:profle is not a config key of the AWS provider",
      "did you mean aws:profile?",
    ],
  },
  {
    name: "plan: a misspelt project namespace",
    script: "plan",
    args: ["--source-config", "c/s.yaml"],
    files: { "c/s.yaml": source({ "cross-acount-s3-kms:bucketName": "my-bucket-1" }) },
    code: 2,
    stderr: [
      "cross-acount-s3-kms:bucketName: cross-acount-s3-kms is not this project's namespace: did you mean cross-account-s3-kms:bucketName?",
    ],
  },
  {
    name: 'plan: bucketName: ~ (Pulumi reads it as "")',
    script: "plan",
    args: ["--source-config", "c/s.yaml"],
    files: { "c/s.yaml": `${source({})}  cross-account-s3-kms:bucketName: ~\n` },
    code: 2,
    stderr: ['cross-account-s3-kms:bucketName = "": is empty', "delete the line to get the default"],
  },
  {
    name: "plan: a folder as --source-config",
    script: "plan",
    args: ["--source-config", "c/dir"],
    files: { "c/dir/x.txt": "x" },
    code: 2,
    stderr: ["--source-config c/dir: is a folder, not a stack file"],
  },
  // through npm itself
  {
    name: "npm run plan: a relative path from a subfolder (npm's INIT_CWD)",
    script: "plan",
    npm: true,
    cwd: "c/deep",
    args: ["--target-config", "t.yaml"],
    files: { "c/deep/t.yaml": UNQUOTED_TARGET },
    code: 2,
    stderr: ["--target-config t.yaml: aws:allowedAccountIds[0] = 222222222222: is a number"],
  },
  {
    name: "plan: a value for a flag",
    script: "plan",
    args: ["--json=yes"],
    code: 2,
    stderr: ["option --json takes no value"],
  },
  {
    name: "verify: a negative --wait, written so parseArgs takes it",
    script: "verify",
    args: ["--wait=-1"],
    code: 2,
    stderr: ['verify: --wait = "-1": must be a whole number'],
  },
  {
    name: "verify: a negative --wait",
    script: "verify",
    args: ["--wait", "-1"],
    code: 2,
    stderr: ['option --wait needs a value; to give one that starts with "-", write --wait=-1'],
  },
  {
    name: "npm run test:integration: skipped",
    script: "test:integration",
    npm: true,
    code: 0,
    stdout: ["skipped: CROSS_ACCOUNT_IT is not 1"],
  },
];

/** A stack frame, as Node prints one, or the dump of an error object. */
const TRACE = /^\s+at .+[(:]\d+|__pulumiRunError|\{\s*$|^\s+problems: \[/m;

const FAKE_PULUMI = `#!/bin/sh
if [ "$FAKE_PULUMI" = works ] && [ "$1" = version ]; then echo v3.265.0; exit 0; fi
if [ "$FAKE_PULUMI" = old ] && [ "$1" = version ]; then echo v3.1.0; exit 0; fi
if [ "$FAKE_PULUMI" = works ]; then
  echo 'error: failed to load checkpoint: blob (key ".pulumi/stacks/cross-account-s3-kms/source.json"): AccessDenied: Access Denied' >&2
  exit 255
fi
echo "pulumi is not installed: a test fake" >&2
exit 127
`;

/** The project's own files in a temporary folder; node_modules is linked. */
function copyProject(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "processes-"));
  for (const entry of [
    "package.json",
    "tsconfig.json",
    "Pulumi.yaml",
    "Pulumi.source.yaml",
    "Pulumi.target.yaml",
    "shared",
    "source-account",
    "target-account",
  ]) {
    fs.cpSync(path.join(ROOT, entry), path.join(dir, entry), { recursive: true });
  }
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
  const bin = path.join(dir, ".bin");
  fs.mkdirSync(bin);
  fs.symlinkSync(process.execPath, path.join(bin, "node"));
  fs.writeFileSync(path.join(bin, "pulumi"), FAKE_PULUMI, { mode: 0o755 });
  return dir;
}

const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], { cwd, encoding: "utf8" });

/** A copy that is a git repository: HEAD~1 without the plan tool, as before it existed; HEAD as it is. */
function repoCopy(): string {
  const dir = copyProject();
  fs.writeFileSync(path.join(dir, ".gitignore"), "node_modules\n.bin\n.stand-ins-*\n");
  git(dir, "init", "-q");
  git(dir, "add", "-A");
  git(dir, "rm", "-q", "--cached", "shared/tools/plan/index.ts");
  git(dir, "commit", "-qm", "before the plan tool");
  git(dir, "add", "-A");
  git(dir, "commit", "-qm", "the plan tool");
  return dir;
}

function run(project: string, c: Case): Promise<Outcome> {
  const cwd = path.join(project, c.cwd ?? "");
  fs.mkdirSync(cwd, { recursive: true });
  // The script's own command, as npm would run it from the project root; or npm itself, from the caller's folder.
  const [command, ...fixed] = c.npm ? ["npm", "run", "--silent", c.script, "--"] : SCRIPTS[c.script].split(" ");
  const env: NodeJS.ProcessEnv = {
    // npm lives beside node; the tools themselves see only the fake pulumi and the system's folders.
    PATH: `${path.join(project, ".bin")}:${c.npm ? `${path.dirname(process.execPath)}:` : ""}/usr/bin:/bin`,
    HOME: project,
    ...(c.npm
      ? { npm_config_cache: path.join(os.tmpdir(), "processes-npm-cache"), npm_config_update_notifier: "false" }
      : { INIT_CWD: cwd, npm_lifecycle_event: c.script }),
    // "{project}" in a value stands for the copy's folder.
    ...Object.fromEntries(Object.entries(c.env ?? {}).map(([k, v]) => [k, v.replaceAll("{project}", project)])),
  };
  if (c.bin) {
    const standIns = fs.mkdtempSync(path.join(project, ".stand-ins-"));
    for (const [name, script] of Object.entries(c.bin))
      fs.writeFileSync(path.join(standIns, name), script, { mode: 0o755 });
    env.PATH = `${standIns}:${env.PATH ?? ""}`;
  }
  if (c.systemPath === false) env.PATH = (env.PATH ?? "").replace(/:\/usr\/bin:\/bin$/, "");
  return new Promise((resolve, reject) => {
    const child = spawn(command === "node" ? process.execPath : command, [...fixed, ...(c.args ?? [])], {
      cwd: c.npm ? cwd : project,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Each case's own folder: "c/" in its paths, file contents and expected messages becomes "c<i>/",
 * so cases that run side by side never share a file.
 */
function localize(c: Case, i: number): Case {
  const own = (text: string) => text.replace(/(^|[\s"'/.])c\//g, `$1c${i}/`);
  const owned = (v: string | RegExp) => (typeof v === "string" ? own(v) : v);
  return {
    ...c,
    args: c.args?.map(own),
    cwd: c.cwd && own(c.cwd),
    files: c.files && Object.fromEntries(Object.entries(c.files).map(([f, content]) => [own(f), own(content)])),
    stderr: c.stderr?.map(owned),
    stdout: c.stdout?.map(owned),
  };
}

/** Runs the cases two at a time, each with its files in place; stack files are put back after each. */
async function runAll(project: string, repo: string, cases: Case[]): Promise<Map<Case, Outcome>> {
  const results = new Map<Case, Outcome>();
  const stackFiles = ["Pulumi.source.yaml", "Pulumi.target.yaml"];
  const original = new Map(stackFiles.map((f) => [f, fs.readFileSync(path.join(project, f), "utf8")]));
  const runsAlone = (c: Case) =>
    [...Object.keys(c.files ?? {}), ...(c.remove ?? [])].some((f) => stackFiles.includes(f)) || c.absent !== undefined;
  // Cases that change the shared stack files, or watch for a path, run alone; the others two at a time.
  const alone = cases.filter(runsAlone);
  const shared = cases.filter((c) => !runsAlone(c));
  const prepare = (c: Case) => {
    for (const [f, content] of Object.entries(c.files ?? {})) {
      fs.mkdirSync(path.dirname(path.join(project, f)), { recursive: true });
      fs.writeFileSync(path.join(project, f), content);
    }
    for (const f of c.remove ?? []) fs.rmSync(path.join(project, f));
    for (const f of c.absent ?? []) fs.rmSync(path.join(project, f), { recursive: true, force: true });
  };
  for (const c of shared) prepare(c);
  let next = 0;
  const worker = async () => {
    while (next < shared.length) {
      const c = shared[next++];
      results.set(c, await run(c.repo ? repo : project, c));
    }
  };
  await Promise.all([worker(), worker()]);
  for (const c of alone) {
    prepare(c);
    try {
      results.set(c, await run(project, c));
    } finally {
      for (const [f, content] of original) fs.writeFileSync(path.join(project, f), content);
    }
  }
  return results;
}

const matches = (text: string, want: string | RegExp): boolean =>
  typeof want === "string" ? text.includes(want) : want.test(text);

describe("the CLIs as processes: exit codes and messages", function () {
  this.timeout(240_000);
  let project: string;
  let repo: string;
  let results: Map<Case, Outcome>;
  const cases = CASES.map(localize);

  before(async () => {
    project = copyProject();
    repo = repoCopy();
    results = await runAll(project, repo, cases);
  });
  after(() => {
    fs.rmSync(project, { recursive: true, force: true });
    fs.rmSync(repo, { recursive: true, force: true });
  });

  it(`covers at least 40 bad inputs (${CASES.filter((c) => c.code !== 0).length} here)`, () => {
    assert.ok(CASES.filter((c) => c.code !== 0).length >= 40);
    for (const s of new Set(CASES.map((c) => c.script))) assert.ok(SCRIPTS[s], `package.json has no ${s} script`);
  });

  for (const c of cases) {
    it(`${c.name}: exit ${c.code}`, () => {
      const r = results.get(c);
      assert.ok(r, "the case ran");
      const shown = `exit ${String(r.code)}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
      assert.equal(r.code, c.code, shown);
      for (const want of c.stderr ?? []) assert.ok(matches(r.stderr, want), `stderr lacks ${String(want)}\n${shown}`);
      for (const want of c.stdout ?? []) assert.ok(matches(r.stdout, want), `stdout lacks ${String(want)}\n${shown}`);
      if (c.json) assert.doesNotThrow(() => JSON.parse(r.stdout) as unknown, `stdout is not JSON\n${shown}`);
      assert.doesNotMatch(
        c.json ? r.stderr : `${r.stdout}\n${r.stderr}`,
        TRACE,
        `a stack trace or an object dump\n${shown}`,
      );
      for (const f of c.absent ?? []) assert.ok(!fs.existsSync(path.join(project, f)), `${f} was created\n${shown}`);
      if (c.code === 2)
        assert.match(
          // The program's own warnings (Pulumi's "warning: [runtime] ...") may come first.
          r.stderr.replace(/^(warning: .*\n)+/, ""),
          new RegExp(`^${c.script.replace(":", "\\:")}: `),
          `the message starts with the tool's name\n${shown}`,
        );
    });
  }

  /** Polls until found() answers; fails if the tool exits first, or after a generous bound. */
  const until = async <T>(found: () => T | undefined, what: string, child: ChildProcess): Promise<T> => {
    for (let polls = 0; polls < 2400; polls++) {
      const answer = found();
      if (answer !== undefined) return answer;
      if (child.exitCode !== null) throw new Error(`the tool exited ${child.exitCode} before ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`not ${what} after 2 minutes`);
  };
  /** The processes whose command line names path (Linux's /proc; elsewhere, none can be seen). */
  const processesNaming = (p: string): string[] =>
    fs.existsSync("/proc/self/cmdline")
      ? fs.readdirSync("/proc").filter((pid) => {
          try {
            return /^\d+$/.test(pid) && fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(p);
          } catch {
            return false; // gone meanwhile
          }
        })
      : [];

  for (const [script, args, prefix, signal, code] of [
    ["plan", ["--base", "HEAD"], "plan-base-", "SIGINT", 130],
    ["plan", ["--base", "HEAD"], "plan-base-", "SIGTERM", 143],
    ["bench", ["--no-suite", "--sizes", "1"], "bench-plan-", "SIGTERM", 143],
  ] as const)
    it(`${script} ${args.join(" ")} stopped by ${signal} once its ${prefix} folder exists: exit ${code}, the folder and its processes gone`, async () => {
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "processes-signal-"));
      try {
        const [command, ...fixed] = SCRIPTS[script].split(" ");
        const child = spawn(command === "node" ? process.execPath : command, [...fixed, ...args], {
          cwd: repo,
          env: { PATH: `${path.join(repo, ".bin")}:/usr/bin:/bin`, HOME: repo, TMPDIR: tmp, INIT_CWD: repo },
          stdio: ["ignore", "pipe", "pipe"],
        });
        let output = "";
        child.stdout.on("data", (d: Buffer) => (output += d.toString()));
        child.stderr.on("data", (d: Buffer) => (output += d.toString()));
        const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
        const folder = await until(
          () => fs.readdirSync(tmp).find((n) => n.startsWith(prefix)),
          `its ${prefix} folder exists`,
          child,
        );
        // Where processes can be seen, stop it while one of its children works in that folder.
        if (fs.existsSync("/proc/self/cmdline"))
          await until(
            () => (processesNaming(path.join(tmp, folder)).length > 0 ? true : undefined),
            "a child works in its folder",
            child,
          );
        child.kill(signal);
        assert.equal(await exited, code, output);
        // Stopped, not failed: no error message (a child's death reported as the base failing) and no trace.
        assert.doesNotMatch(output, new RegExp(`^${script}: |${TRACE.source}`, "m"), output);
        // tsx's cache (tsx-<user>) and Node.js's compile cache stay by design.
        assert.deepEqual(
          fs.readdirSync(tmp).filter((n) => !n.startsWith("tsx-") && n !== "node-compile-cache"),
          [],
          `${folder} and what else the tool made are removed`,
        );
        // The children were stopped before the tool exited; the kernel may take a moment to reap them.
        for (let polls = 0; processesNaming(tmp).length > 0 && polls < 600; polls++)
          await new Promise((r) => setTimeout(r, 50));
        assert.deepEqual(processesNaming(tmp), [], "no process of the stopped tool is left");
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    });

  it("a tool whose reader goes away exits with its code, rather than spinning on the broken pipe", async () => {
    const [command, ...fixed] = SCRIPTS.plan.split(" ");
    const child = spawn(command === "node" ? process.execPath : command, [...fixed, "--bogus"], {
      cwd: project,
      env: { PATH: `${path.join(project, ".bin")}:/usr/bin:/bin`, HOME: project },
      stdio: ["ignore", "pipe", "pipe"],
    });
    // The reader closes at once, as `npm run plan | head -1` does.
    child.stdout.destroy();
    child.stderr.destroy();
    const code = await new Promise<number | null>((resolve, reject) => {
      // A guard, not a measurement: a spinning process never closes.
      const guard = setTimeout(() => (child.kill("SIGKILL"), reject(new Error("the tool never exited"))), 60_000);
      child.on("close", (c) => (clearTimeout(guard), resolve(c)));
    });
    assert.equal(code, 2);
  });
});
