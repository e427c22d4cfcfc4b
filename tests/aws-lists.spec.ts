/**
 * Issue 20: config values checked against what AWS's own libraries know. Each list is read from
 * the installed package (the provider's enums, the SDK's partition data), never copied here.
 */
import { partition } from "@aws-sdk/core/client";
import { ec2, Region } from "@pulumi/aws/types/enums";
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { SOURCE_BASE } from "../shared/offline/fixtures";
import { runProgram, runProgramExpectingError, StackRun } from "../shared/offline/run";
import { committedConfig } from "../shared/offline/fixtures";
import {
  ConfigError,
  gitIgnored,
  imageArchitecture,
  instanceTypeProblem,
  parseSourceConfig,
  parseTargetConfig,
  PROJECT_ROOT,
  RawConfig,
  regionProblem,
} from "../shared/program/config";
import { validateContract } from "../shared/program/contract";
import { projectTmpDir } from "./tmp";

const SOURCE_STACK = "organization/cross-account-s3-kms/source";
const TARGET = committedConfig("target");
const PARAMETER = "aws:ssm/getParameter:getParameter";

/** The problems a config yields, one line each ("" when it parses). */
function problems(parseConfig: (raw: RawConfig) => unknown, raw: RawConfig): string {
  try {
    parseConfig(raw);
    return "";
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.problems.join("\n");
  }
}
const sourceProblems = (over: RawConfig): string => problems(parseSourceConfig, { ...SOURCE_BASE, ...over });
const targetProblems = (over: RawConfig): string => problems(parseTargetConfig, { ...TARGET, ...over });
const objects = (dir: string): string => sourceProblems({ "cross-account-s3-kms:objects": dir });

describe("regions: the provider's Region list, in the SDK's aws partition", () => {
  const regions: string[] = Object.values(Region);
  const commercial = regions.filter((r) => partition(r).name === "aws");
  const other = regions.filter((r) => partition(r).name !== "aws");

  it(`accepts every region of the aws partition the provider lists (${commercial.length})`, () => {
    assert.ok(commercial.length >= 30 && commercial.includes("us-west-2"));
    for (const r of commercial) assert.equal(regionProblem(r), undefined, r);
  });

  it(`refuses every region of another partition, naming it (${other.length})`, () => {
    assert.ok(other.includes("cn-north-1") && other.includes("eu-isoe-west-1"), "the list holds other partitions");
    for (const r of other) assert.match(regionProblem(r) ?? "", new RegExp(`is in the ${partition(r).name} partition`));
  });

  it("refuses us-west-9 (AWS has no such region), with the neighbours as a hint", () => {
    assert.equal(partition("us-west-9").name, "aws", "the SDK's pattern alone would take it");
    assert.match(
      sourceProblems({ "aws:region": "us-west-9" }),
      /^aws:region = "us-west-9": is not an AWS region the AWS provider knows .*us-west-1 or us-west-2/,
    );
  });

  it("refuses the SDK's pseudo-region aws-global", () => {
    assert.match(regionProblem("aws-global") ?? "", /is not an AWS region/);
  });

  it("refuses a source contract whose region is not one", async () => {
    const source = (await runProgram({ stack: "source", config: committedConfig("source") })).outputs;
    const v = validateContract({ ...source, region: "cn-north-1" });
    assert.ok(!v.ok && v.problems.some((p) => p.startsWith("region: is in the aws-cn partition")));
  });
});

describe("instance types: the provider's ec2.InstanceType list", () => {
  const types: string[] = Object.values(ec2.InstanceType);

  it(`accepts every type the provider lists (${types.length}), names the old pattern refused included`, () => {
    assert.ok(types.length > 500);
    for (const t of types) assert.equal(instanceTypeProblem(t), undefined, t);
    for (const t of ["mac2-m2.metal", "u-3tb1.56xlarge"]) assert.ok(types.includes(t), t);
  });

  it("refuses t9.nano, suggesting the nearest real types", () => {
    const message = targetProblems({ "cross-account-s3-kms:instanceType": "t9.nano" });
    assert.match(message, /^cross-account-s3-kms:instanceType = "t9.nano": is not an EC2 instance type/);
    const nearest = /nearest: (.*)$/.exec(message)?.[1].split(", ") ?? [];
    assert.ok(nearest.length > 0 && nearest.includes("t3.nano"), message);
    for (const t of nearest) assert.ok(types.includes(t) && t.endsWith(".nano"), t);
  });
});

describe("the image's architecture: AWS's SupportedArchitectures for the type", () => {
  it("takes x86_64 or arm64 from the list AWS reports", () => {
    assert.deepEqual(imageArchitecture("t2.micro", ["i386", "x86_64"]), { architecture: "x86_64" });
    assert.deepEqual(imageArchitecture("c7g.medium", ["arm64"]), { architecture: "arm64" });
  });

  it("refuses a Mac type (arm64_mac), which Amazon Linux does not run on", () => {
    const chosen = imageArchitecture("mac2.metal", ["arm64_mac"]);
    assert.ok("problem" in chosen);
    assert.match(chosen.problem, /instanceType = "mac2.metal": AWS reports its architectures as arm64_mac/);
  });

  let source: Record<string, unknown>;
  before(async () => {
    source = (await runProgram({ stack: "source", config: committedConfig("source") })).outputs;
  });
  const target = (instanceType: string): Promise<StackRun> =>
    runProgram({
      stack: "target",
      config: { ...TARGET, "cross-account-s3-kms:instanceType": instanceType },
      stackOutputs: { [SOURCE_STACK]: source },
    });

  it("asks AWS (the provider's getInstanceType) and boots the matching image", async () => {
    for (const [type, arch] of [
      ["c7g.medium", "arm64"],
      ["t2.micro", "x86_64"],
    ]) {
      const run = await target(type);
      const asked = run.invokes.filter((i) => i.token === "aws:ec2/getInstanceType:getInstanceType");
      assert.deepEqual(
        asked.map((i) => i.args.instanceType),
        [type],
      );
      const parameter = run.invokes.filter((i) => i.token === PARAMETER).map((i) => i.args.name);
      assert.deepEqual(parameter, [`/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-${arch}`]);
    }
  });

  it("refuses mac2.metal before any resource is declared", async () => {
    const { error, resources } = await runProgramExpectingError({
      stack: "target",
      config: { ...TARGET, "cross-account-s3-kms:instanceType": "mac2.metal" },
      stackOutputs: { [SOURCE_STACK]: source },
    });
    assert.equal(error.name, "UserError");
    assert.match(error.message, /"mac2.metal": AWS reports its architectures as arm64_mac/);
    assert.deepEqual(
      resources.filter((r) => r.type !== "pulumi:pulumi:StackReference"),
      [],
    );
  });

  it("offline, any listed type is described by its family, as AWS names Graviton families", async () => {
    // Families per https://docs.aws.amazon.com/ec2/latest/instancetypes/ec2-instance-type-specifications.html
    for (const [type, arch] of [
      ["m5.large", "x86_64"],
      ["g4dn.xlarge", "x86_64"],
      ["m7i-flex.large", "x86_64"],
      ["r8g.large", "arm64"],
      ["x2gd.medium", "arm64"],
      ["im4gn.large", "arm64"],
      ["a1.medium", "arm64"],
    ]) {
      const run = await target(type);
      const parameter = run.invokes.filter((i) => i.token === PARAMETER).map((i) => i.args.name);
      assert.deepEqual(parameter, [`/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-${arch}`], type);
    }
  });
});

describe("permissions boundary: a policy of the role's own account", () => {
  const key = "cross-account-s3-kms:permissionsBoundaryArn";
  it("refuses another account's policy, naming both accounts", () => {
    assert.match(
      targetProblems({ [key]: "arn:aws:iam::333333333333:policy/boundary" }),
      /permissionsBoundaryArn = "arn:aws:iam::333333333333:policy\/boundary": is a policy of account 333333333333, but this stack's role is in account 222222222222/,
    );
  });
  it("takes the stack's own account's policy and an AWS managed policy", () => {
    assert.equal(targetProblems({ [key]: "arn:aws:iam::222222222222:policy/boundary" }), "");
    assert.equal(targetProblems({ [key]: "arn:aws:iam::aws:policy/PowerUserAccess" }), "");
  });
});

describe("consumer role names: unique regardless of case, as IAM's are", () => {
  const consumers = (...c: [string, string][]): RawConfig => ({
    "cross-account-s3-kms:consumers": JSON.stringify(c.map(([accountId, roleName]) => ({ accountId, roleName }))),
  });
  it("refuses Reader and reader in one account", () => {
    assert.match(
      sourceProblems(consumers(["222222222222", "Reader"], ["222222222222", "reader"])),
      /consumers\[1\] = .*"reader".*: names the same role as the earlier "Reader" in account 222222222222/,
    );
  });
  it("takes them in two accounts", () => {
    assert.equal(sourceProblems(consumers(["222222222222", "Reader"], ["333333333333", "reader"])), "");
  });
});

describe("the objects folder: visible, outside .git, tracked, with UTF-8 names", () => {
  it("refuses .git and a folder inside it, before looking for files", () => {
    assert.match(objects(".git"), /^cross-account-s3-kms:objects = "\.git": is inside \.git/);
    assert.match(objects(".git/objects"), /is inside \.git/);
  });

  it("refuses a hidden folder, and a hidden folder inside the folder", () => {
    const dir = projectTmpDir("hidden-");
    fs.mkdirSync(path.join(dir, ".cache"));
    fs.writeFileSync(path.join(dir, "a.txt"), "a");
    fs.writeFileSync(path.join(dir, ".cache", "b.txt"), "b");
    assert.match(objects(path.join(dir, ".cache")), /: is a hidden folder \(\.cache\)/);
    assert.match(objects(dir), /contains the hidden folder "\.cache"/);
  });

  it("refuses a file whose name is not valid UTF-8, naming it", () => {
    const dir = projectTmpDir("latin1-");
    const name = Buffer.concat([Buffer.from("caf"), Buffer.from([0xe9]), Buffer.from(".txt")]);
    assert.notEqual(Buffer.from(name.toString("utf8")).compare(name), 0, "the name does not survive a round trip");
    fs.writeFileSync(Buffer.concat([Buffer.from(dir + path.sep), name]), "x");
    fs.writeFileSync(path.join(dir, "ok.txt"), "x");
    assert.match(objects(dir), /file "caf\\\\xe9\.txt" has a name that is not valid UTF-8/);
  });

  it("refuses a file git ignores, as git itself says", () => {
    const dir = projectTmpDir("ignored-");
    fs.writeFileSync(path.join(dir, ".gitignore"), "*.env\n");
    fs.writeFileSync(path.join(dir, "a.txt"), "a");
    fs.writeFileSync(path.join(dir, "secret.env"), "TOKEN=1");
    const ask = (f: string) => spawnSync("git", ["-C", PROJECT_ROOT, "check-ignore", "-q", f]).status;
    assert.equal(ask(path.join(dir, "secret.env")), 0, "git ignores secret.env");
    assert.equal(ask(path.join(dir, "a.txt")), 1, "git does not ignore a.txt");
    const message = objects(dir);
    assert.match(message, /file "secret\.env" is ignored by git/);
    assert.doesNotMatch(message, /"a\.txt"/);
  });

  it("says when git cannot answer, outside a repository", () => {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), "no-git-"));
    try {
      const r = gitIgnored(outside, ".");
      assert.ok("unknown" in r && /not in a git repository/.test(r.unknown), JSON.stringify(r));
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });

  it("keeps the committed folder as it is", () => {
    assert.equal(sourceProblems({}), "");
  });
});
