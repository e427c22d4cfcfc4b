/**
 * Issue 20: a stack file read as the Pulumi CLI reads it. Each row is YAML with what Pulumi hands
 * the program, read from Pulumi's source (pulumi/pulumi 1b5949891b3cefcb9974752b24a5ecef0acc86c8,
 * sdk/go/common/...) and yaml.v3's (go-yaml/yaml v3.0.1, f6f7691b1fdeb513f56608cd2c32c51f8194bf51).
 * Every row goes through the offline reader and through the program run under mocks with Pulumi's
 * values: both must reach the same verdict.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { RawConfig } from "../shared/program/config";
import { SOURCE_BASE } from "../shared/offline/fixtures";
import { readStackFile } from "../shared/offline/stack-files";
import { runProgram, runProgramExpectingError } from "../shared/offline/run";
import { awsConfigNames, editDistance, nearest } from "../shared/program/config/keys";
import { checkSideConfig, readStack, stackInfo, stackInfoThroughCli } from "../shared/tools/stacks/files";
import { projectTmpDir } from "./tmp";

/** SOURCE_BASE as a user writes it; a row adds lines under `config:` or replaces one. */
const BASE_LINES: Record<string, string> = {
  "aws:region": "  aws:region: us-west-2",
  "aws:allowedAccountIds": '  aws:allowedAccountIds: ["111111111111"]',
  "cross-account-s3-kms:side": "  cross-account-s3-kms:side: source",
  "cross-account-s3-kms:consumers":
    '  cross-account-s3-kms:consumers:\n    - accountId: "222222222222"\n      roleName: account-b-role',
};

interface Row {
  yaml: string;
  /** Lines above `config:` (anchors for merge keys). */
  top?: string;
  /** Base keys the row writes itself. */
  omit?: string[];
  /** The keys Pulumi hands the program, beyond SOURCE_BASE's. */
  pulumi?: RawConfig;
  /** Keys Pulumi reads as secrets; `decrypted` is what the CLI hands the program. */
  secrets?: string[];
  decrypted?: RawConfig;
  /** Pulumi refuses to load the file: the reader's message. */
  refused?: string;
  /** undefined: valid; otherwise a fragment of the one problem. */
  problem?: string;
  cite: string;
}

const K = (name: string) => `cross-account-s3-kms:${name}`;
const R = "resolve.go";
const CONSUMERS = SOURCE_BASE[K("consumers")];

const ROWS: Row[] = [
  // Numbers and booleans: Value.MarshalString writes them as JSON (object.go:403-407); the
  // stack file is decoded, re-encoded and decoded again (loaders.go:181, 219-222; encode.go:398).
  {
    yaml: "keyRotationDays: 365.0",
    pulumi: { [K("keyRotationDays")]: "365" },
    cite: `${R}:204-207, object.go:405-407`,
  },
  { yaml: "keyRotationDays: 0x16D", pulumi: { [K("keyRotationDays")]: "365" }, cite: `${R}:191-199 (ParseInt base 0)` },
  { yaml: "keyRotationDays: 0555", pulumi: { [K("keyRotationDays")]: "365" }, cite: `${R}:192, 233-236 (1.1 octal)` },
  { yaml: "keyRotationDays: 0o555", pulumi: { [K("keyRotationDays")]: "365" }, cite: `${R}:192, 237-249` },
  { yaml: "keyRotationDays: 0b101101101", pulumi: { [K("keyRotationDays")]: "365" }, cite: `${R}:192, 210-222` },
  {
    yaml: "keyRotationDays: 1_000",
    pulumi: { [K("keyRotationDays")]: "1000" },
    cite: `${R}:191 (underscores dropped)`,
  },
  { yaml: "keyRotationDays: 1e3", pulumi: { [K("keyRotationDays")]: "1000" }, cite: `${R}:204-207, object.go:405-407` },
  { yaml: "keyRotationDays: 08", pulumi: { [K("keyRotationDays")]: "8" }, problem: "90 to 2560", cite: `${R}:204-207` },
  {
    yaml: 'keyRotationDays: "0x16D"',
    pulumi: { [K("keyRotationDays")]: "0x16D" },
    problem: "whole number",
    cite: "decode.go:568-570 (a quoted scalar is text)",
  },
  {
    yaml: "keyRotationDays: .inf",
    refused: "keyRotationDays: .inf is not a JSON number",
    cite: `${R}:56, object.go:405-407 (json.Marshal refuses +Inf)`,
  },
  { yaml: "allowListBucket: True", pulumi: { [K("allowListBucket")]: "true" }, cite: `${R}:52, object.go:405-407` },
  { yaml: "allowListBucket: FALSE", pulumi: { [K("allowListBucket")]: "false" }, cite: `${R}:53` },
  {
    yaml: "allowListBucket: yes",
    pulumi: { [K("allowListBucket")]: "yes" },
    problem: "must be true or false",
    cite: `${R}:42-44, 169-171 (yes, on: text)`,
  },
  // A YAML null at the top of a key is "" (loaders.go:359-378; loaders_test.go:84-110; decode.go:407, 554-558).
  {
    yaml: "bucketName: ~",
    pulumi: { [K("bucketName")]: "" },
    problem: "delete the line",
    cite: "loaders_test.go:90,108",
  },
  {
    yaml: "bucketName: null",
    pulumi: { [K("bucketName")]: "" },
    problem: "delete the line",
    cite: "loaders_test.go:89,107",
  },
  {
    yaml: "bucketName:",
    pulumi: { [K("bucketName")]: "" },
    problem: "delete the line",
    cite: "loaders_test.go:88,106",
  },
  {
    yaml: "bucketName: 2030-01-01",
    pulumi: { [K("bucketName")]: "2030-01-01 00:00:00 +0000 UTC" },
    problem: "lowercase letters, digits",
    cite: `${R}:184-189, 294-301; object.go:490-491 (time.Time.String)`,
  },
  // Nested values: JSON by Go's encoding/json, keys sorted (object.go:434-436); a null stays null (loaders.go:371-376).
  {
    yaml: 'consumers: [{roleName: account-b-role, accountId: "222222222222"}]',
    omit: [K("consumers")],
    pulumi: { [K("consumers")]: CONSUMERS },
    cite: "object.go:434-436, 492-504",
  },
  {
    yaml: "consumerOrgId: o-a1b2c3d4e5\n  consumerRoleNames: [reader, ~]",
    pulumi: { [K("consumerOrgId")]: "o-a1b2c3d4e5", [K("consumerRoleNames")]: '["reader",null]' },
    problem: `${K("consumerRoleNames")}[1] = null`,
    cite: "object.go:511-522",
  },
  // Keys: a bare name takes the project's namespace (loaders.go:61-89); the legacy form is
  // <namespace>:config:<name> (key.go:45-66).
  { yaml: "bucketName: my-bucket-1", pulumi: { [K("bucketName")]: "my-bucket-1" }, cite: "loaders.go:72-80" },
  {
    yaml: "cross-account-s3-kms:config:bucketName: my-bucket-1",
    pulumi: { [K("bucketName")]: "my-bucket-1" },
    cite: "key.go:57-65",
  },
  {
    yaml: "aws:config:region: us-west-2",
    omit: ["aws:region"],
    pulumi: { "aws:region": "us-west-2" },
    cite: "key.go:57-65",
  },
  {
    yaml: "cross-account-s3-kms:a:bucketName: x",
    refused: "could not parse as a configuration key",
    cite: "key.go:68-69",
  },
  // Merge keys: applied by yaml.v3; the mapping's own keys win (decode.go:826-857, 959-996).
  {
    top: 'x-base: &base\n  aws:region: eu-west-1\n  aws:allowedAccountIds: ["111111111111"]',
    yaml: "<<: *base\n  aws:region: us-west-2",
    omit: ["aws:region", "aws:allowedAccountIds"],
    pulumi: { "aws:region": "us-west-2", "aws:allowedAccountIds": '["111111111111"]' },
    cite: "decode.go:826-857, 998-1000",
  },
  {
    top: "x-a: &a {bucketName: first-bucket}\nx-b: &b {bucketName: second-bucket, keyAlias: alias/merged}",
    yaml: "<<: [*a, *b]",
    pulumi: { [K("bucketName")]: "first-bucket", [K("keyAlias")]: "alias/merged" },
    cite: "decode.go:979-990 (the first map wins)",
  },
  // Secrets at any depth (object.go:50-72, 540-550; value.go:238-244).
  {
    yaml: "bucketName:\n    secure: AAABAHmXkOtG",
    secrets: [K("bucketName")],
    decrypted: { [K("bucketName")]: "secret-bucket" },
    cite: "object.go:493-494, 540-550",
  },
  {
    yaml: 'consumers:\n    - accountId: "222222222222"\n      roleName: {secure: AAABAHmXkOtG}',
    omit: [K("consumers")],
    secrets: [K("consumers")],
    decrypted: { [K("consumers")]: CONSUMERS },
    cite: "object.go:50-72, 417 (the whole value is secret)",
  },
  {
    yaml: "consumerOrgId: o-a1b2c3d4e5\n  consumerRoleNames: [{secure: AAAB, note: x}]",
    pulumi: { [K("consumerOrgId")]: "o-a1b2c3d4e5", [K("consumerRoleNames")]: '[{"note":"x","secure":"AAAB"}]' },
    problem: "must be an IAM role name",
    cite: "object.go:541-549 (secure plus another key is an object)",
  },
];

const dir = projectTmpDir("pulumi-config-");
let n = 0;
function writeRow(row: Row): string {
  const lines = Object.entries(BASE_LINES)
    .filter(([k]) => !row.omit?.includes(k))
    .map(([, l]) => l);
  const file = path.join(dir, `row-${n++}.yaml`);
  fs.writeFileSync(file, `${row.top ? `${row.top}\n` : ""}config:\n${lines.join("\n")}\n  ${row.yaml}\n`);
  return file;
}

const problemLines = (m: string): string[] => m.split("\n").filter((l) => l.startsWith("  - "));

/** The program's verdict on a config, run under mocks: its problems, or none. */
async function programVerdict(config: RawConfig): Promise<string[]> {
  try {
    await runProgram({ stack: "source", config });
    return [];
  } catch {
    return problemLines((await runProgramExpectingError({ stack: "source", config })).error.message);
  }
}

function offlineVerdict(config: RawConfig): string[] {
  try {
    checkSideConfig(config, "source", "f");
    return [];
  } catch (e) {
    return problemLines(e instanceof Error ? e.message : String(e));
  }
}

describe("stack files read as Pulumi reads them (issue 20)", () => {
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const row of ROWS) {
    it(`${row.yaml.split("\n")[0]}${row.top ? " (with anchors)" : ""}  [${row.cite}]`, async () => {
      const file = writeRow(row);
      if (row.refused !== undefined) {
        assert.throws(
          () => readStackFile(file, "skip", "f.yaml"),
          (e: Error) => {
            assert.equal(e.name, "UserError");
            assert.ok(e.message.startsWith("f.yaml: ") && e.message.includes(row.refused ?? ""), e.message);
            return true;
          },
        );
        return;
      }
      const base: RawConfig = { ...SOURCE_BASE };
      for (const k of row.omit ?? []) delete base[k];
      const pulumi = { ...base, ...row.pulumi };
      const read = readStackFile(file, "skip", "f.yaml");
      assert.deepEqual(read.config, pulumi);
      assert.deepEqual(read.secrets, row.secrets ?? []);
      if (row.secrets) {
        assert.throws(() => readStackFile(file, "reject", "f.yaml"), /is a secret, which offline tools cannot decrypt/);
        assert.deepEqual(await programVerdict({ ...pulumi, ...row.decrypted }), []);
        return;
      }
      const offline = offlineVerdict(read.config);
      const program = await programVerdict(pulumi);
      assert.deepEqual(offline, program, "the offline plan and the program disagree");
      if (row.problem === undefined) assert.deepEqual(program, []);
      else {
        assert.equal(program.length, 1, program.join("\n"));
        assert.ok(program[0].includes(row.problem), program[0]);
      }
    });
  }
});

describe("unknown config keys (issue 20)", () => {
  it("reads the AWS provider's keys from the installed @pulumi/aws: one per getter its config/vars module has", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the module itself, which the program reads only as its declaration
    const getters = Object.keys(require("@pulumi/aws/config/vars") as object).sort();
    assert.ok(getters.length > 20, "config/vars no longer has one getter per key: find the new source");
    assert.deepEqual([...awsConfigNames()].sort(), getters);
  });

  it("measures edit distance and finds the nearest name only when it is near", () => {
    assert.equal(editDistance("profle", "profile"), 1);
    assert.equal(editDistance("kitten", "sitting"), 3);
    assert.equal(editDistance("", "abc"), 3);
    assert.equal(nearest("bucketNme", ["bucketName", "keyAlias"]), "bucketName");
    assert.equal(nearest("zzzzzz", ["bucketName", "keyAlias"]), undefined);
  });

  const refused = async (extra: RawConfig): Promise<string[]> =>
    problemLines(
      (await runProgramExpectingError({ stack: "source", config: { ...SOURCE_BASE, ...extra } })).error.message,
    );

  it("refuses an aws: key the provider does not take, with the nearest one", async () => {
    assert.deepEqual(await refused({ "aws:profle": "account-a" }), [
      "  - aws:profle is not a config key of the AWS provider (@pulumi/aws): did you mean aws:profile?",
    ]);
  });

  it("refuses a misspelt project namespace, naming the key it meant", async () => {
    assert.deepEqual(await refused({ "cross-acount-s3-kms:bucketName": "my-bucket-1" }), [
      "  - cross-acount-s3-kms:bucketName: cross-acount-s3-kms is not this project's namespace: did you mean cross-account-s3-kms:bucketName?",
    ]);
  });

  it("refuses a misspelt key of the project with the nearest, and an unknown one with the list", async () => {
    const [near, far] = await refused({ [K("bucketNme")]: "b", [K("zzzzzzzz")]: "z" });
    assert.match(
      near,
      /bucketNme is not a source-stack key: did you mean cross-account-s3-kms:bucketName\? \(the source stack takes: side, /,
    );
    assert.match(far, /zzzzzzzz is not a source-stack key; the source stack takes: side, /);
  });

  it("leaves other namespaces to their owners", async () => {
    await runProgram({
      stack: "source",
      config: { ...SOURCE_BASE, "pulumi:disable-default-providers": '["*"]', "awsx:x": "1" },
    });
  });
});

describe("a stack's secrets come through the Pulumi CLI (issue 20)", () => {
  const root = projectTmpDir("secret-stack-");
  after(() => fs.rmSync(root, { recursive: true, force: true }));
  const write = (body: string) => fs.writeFileSync(path.join(root, "Pulumi.source.yaml"), `config:\n${body}`);
  const SECRET_ACCOUNT = `  aws:region: us-west-2\n  aws:allowedAccountIds:\n    - secure: AAABAHmXkOtG\n${BASE_LINES[K("side")]}\n${BASE_LINES[K("consumers")]}\n`;
  /** A StackOps whose CLI hands back `config`, counting its calls. */
  const cli = (config: RawConfig) => {
    const calls: string[] = [];
    return {
      calls,
      ops: { config: (name: string, action: string) => (calls.push(`${name} ${action}`), Promise.resolve(config)) },
    };
  };

  it("offline, names a secret account as what only the CLI can read", () => {
    write(SECRET_ACCOUNT);
    assert.throws(
      () => stackInfo("source", root),
      /aws:allowedAccountIds is a secret, which only the Pulumi CLI decrypts/,
    );
    assert.deepEqual(readStack("source", root).secrets, ["aws:allowedAccountIds"]);
  });

  it("deploys a secret aws:allowedAccountIds: the account comes from the CLI's config", async () => {
    write(SECRET_ACCOUNT);
    const { calls, ops } = cli({ ...SOURCE_BASE, "aws:allowedAccountIds": '["333333333333"]' });
    const info = await stackInfoThroughCli(readStack("source", root), ops, "up", true, root);
    assert.deepEqual(calls, ["source up"]);
    assert.equal(info.accountId, "333333333333");
    assert.deepEqual(info.secrets, ["aws:allowedAccountIds"]);
  });

  it("runs the side's config checks on the CLI's config when the file holds secrets", async () => {
    write(SECRET_ACCOUNT);
    const { ops } = cli({ ...SOURCE_BASE, [K("bucketName")]: "UPPER" });
    await assert.rejects(stackInfoThroughCli(readStack("source", root), ops, "up", true, root), (e: Error) => {
      assert.equal(e.name, "UserError");
      assert.match(e.message, /^Pulumi\.source\.yaml: Invalid configuration for the source stack/);
      assert.match(e.message, /cross-account-s3-kms:bucketName = "UPPER"/);
      return true;
    });
    const { ops: other } = cli({ ...SOURCE_BASE, [K("side")]: "target" });
    write(
      `  cross-account-s3-kms:side: {secure: AAAB}\n  aws:region: us-west-2\n  aws:allowedAccountIds: ["111111111111"]\n`,
    );
    await assert.rejects(
      stackInfoThroughCli(readStack("source", root), other, "destroy", false, root),
      /is a target-stack file/,
    );
  });
});

describe("a config path that is not a file (issue 20)", () => {
  it("names a folder as a folder", () => {
    const folder = projectTmpDir("folder-config-");
    try {
      assert.throws(
        () => readStackFile(folder, "reject", "--source-config d"),
        (e: Error) => {
          assert.equal(e.name, "UserError");
          assert.equal(e.message, "--source-config d: is a folder, not a stack file");
          return true;
        },
      );
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });
});
