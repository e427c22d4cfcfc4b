import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { OpMap } from "@pulumi/pulumi/automation";
import { CommandError } from "@pulumi/pulumi/automation/errors";
import { mockClient } from "aws-sdk-client-mock";
import { parse } from "yaml";
import { captureDeployment } from "../shared/offline/access";
import { readStackFile } from "../shared/offline/stack-files";
import { checkStackCredentials } from "../shared/tools/stacks/credentials";
import { Failure, runToolCaptured } from "../shared/tools/cli";
import { deployTool } from "../shared/tools/deploy";
import { DeployArgs, DeployIo, explain, runDeploy, selectStacks } from "../shared/tools/deploy/flow";
import type { Action, StackOps } from "../shared/tools/stacks/ops";
import { INTEGRATION_TOOL, skipReason } from "../shared/tools/integration";
import { IT_STACKS, itStacks, runIntegration, writeItStackFiles } from "../shared/tools/integration/flow";
import { backend, checkPassphrase, checkPulumiCli } from "../shared/tools/stacks/backend";
import { UserError } from "../shared/program/errors";
import { stackInfo, StackInfo } from "../shared/tools/stacks/files";

const ROOT = path.resolve(__dirname, "..");

/** Stack operations that record what they were asked, over a backend held in memory. */
function fakeOps(deployed: Record<string, Record<string, unknown>> = {}) {
  const calls: string[] = [];
  const ops: StackOps = {
    config: (name) => Promise.resolve(stackInfo(name).config),
    outputs: (name) => Promise.resolve(deployed[name]),
    preview: (name, action) => (calls.push(`preview ${action} ${name}`), Promise.resolve<OpMap>({ create: 3 })),
    run: (name, action) => {
      calls.push(`${action} ${name}`);
      if (action === "up") deployed[name] = { bucketName: "b" };
      else delete deployed[name];
      return Promise.resolve<OpMap>({ create: 3, same: 1 });
    },
    remove: (name) => (calls.push(`remove ${name}`), Promise.resolve()),
  };
  return { ops, calls, deployed };
}

function fakeIo(over: Partial<DeployIo> = {}) {
  const lines: string[] = [];
  const checked: string[] = [];
  const prepared: string[] = [];
  const io: DeployIo = {
    log: (l) => lines.push(l),
    interactive: false,
    confirm: () => Promise.resolve(true),
    stack: (name) => Promise.resolve(stackInfo(name)),
    checkCredentials: (s) => (
      checked.push(s.name),
      Promise.resolve({ account: s.accountId, arn: `arn:aws:iam::${s.accountId}:user/deployer` })
    ),
    prepare: () => prepared.push("prepared"),
    now: () => 0,
    ...over,
  };
  return { io, lines, checked, prepared };
}

const args = (action: Action, argv: string[] = ["--yes"]): DeployArgs => {
  const i = argv.indexOf("--stack");
  return { action, stacks: selectStacks(i >= 0 ? argv[i + 1] : undefined), yes: argv.includes("--yes") };
};

describe("npm run deploy / destroy (Automation API mocked)", () => {
  it("deploys source then target, and says so per stack", async () => {
    const { ops, calls } = fakeOps();
    const { io, lines } = fakeIo();
    await runDeploy(args("up"), ops, io);
    assert.deepEqual(calls, ["up source", "up target"]);
    assert.ok(lines.includes("source: up succeeded in 0s (create 3, same 1)"), lines.join("\n"));
  });

  it("destroys target then source", async () => {
    const { ops, calls } = fakeOps({ source: { bucketName: "b" }, target: { instanceId: "i" } });
    await runDeploy(args("destroy"), ops, fakeIo().io);
    assert.deepEqual(calls, ["destroy target", "destroy source"]);
  });

  it("checks every stack's credentials before it changes anything", async () => {
    const { ops, calls } = fakeOps();
    const { io, prepared } = fakeIo({
      checkCredentials: (s) =>
        s.name === "target"
          ? Promise.reject(new Error("no target credentials"))
          : Promise.resolve({ account: s.accountId, arn: "x" }),
    });
    await assert.rejects(runDeploy(args("up"), ops, io), /no target credentials/);
    assert.deepEqual(calls, []);
    assert.deepEqual(prepared, [], "the backend's folder is not made");
  });

  it("prepares the backend (the local state folder) once every check passed, before the first operation", async () => {
    const { ops, calls } = fakeOps();
    const checked: string[] = [];
    const { io } = fakeIo({
      prepare: () => calls.push(`prepare after ${checked.join(", ")}`),
      checkCredentials: (s) => (checked.push(s.name), Promise.resolve({ account: s.accountId, arn: "x" })),
    });
    await runDeploy(args("up"), ops, io);
    assert.deepEqual(calls, ["prepare after source, target", "up source", "up target"]);
  });

  it("--stack target fails clearly when the source has not been deployed", async () => {
    const { ops, calls } = fakeOps();
    await assert.rejects(runDeploy(args("up", ["--stack", "target", "--yes"]), ops, fakeIo().io), (e: Error) => {
      assert.equal(e.name, "UserError");
      assert.match(e.message, /The source stack has not been deployed[\s\S]*"npm run deploy -- --stack source" first/);
      return true;
    });
    assert.deepEqual(calls, []);
  });

  it("without --yes and without a terminal, asks for --yes", async () => {
    const { io, prepared } = fakeIo();
    await assert.rejects(runDeploy(args("up", []), fakeOps().ops, io), /pass --yes/);
    assert.deepEqual(prepared, []);
  });

  it("interactively, shows the preview and stops when the answer is no", async () => {
    const { ops, calls } = fakeOps();
    const { io, lines } = fakeIo({ interactive: true, confirm: () => Promise.resolve(false) });
    await runDeploy(args("up", []), ops, io);
    assert.deepEqual(calls, ["preview up source"]);
    assert.ok(lines.includes("source: preview: create 3"));
  });

  it("rejects bad flags, naming the option and pointing at --help, with exit 2", async () => {
    const both = await runToolCaptured(deployTool("up"), ["--stack", "both"]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /^deploy: --stack = "both": must be source or target/);
    const force = await runToolCaptured(deployTool("destroy"), ["--force"]);
    assert.equal(force.code, 2);
    assert.match(force.stderr, /^destroy: unknown option --force\nRun "npm run destroy -- --help"/);
  });

  it("turns known engine errors into advice, with the exit code of each kind", () => {
    // What the Automation API throws when a pulumi command fails.
    const engine = (stderr: string) => new CommandError(stderr);
    const protectedErr = explain(
      engine(
        "error: resource urn:pulumi:source::cross-account-s3-kms::aws:kms/key:Key::shared-key cannot be deleted because it is protected",
      ),
      "source",
      "destroy",
    );
    assert.ok(protectedErr instanceof Failure, "the destroy ran and failed: exit 1");
    assert.match(
      protectedErr.message,
      /protectData: false in Pulumi.source.yaml, run "npm run deploy -- --stack source", then "npm run destroy"/,
    );
    const account = explain(engine("AWS account ID not allowed: 999999999999"), "target", "up");
    assert.equal(account.name, "UserError", "wrong credentials: could not start, exit 2");
    assert.match(account.message, /another account than aws:allowedAccountIds in Pulumi.target.yaml/);
    assert.match(explain(engine("incorrect passphrase"), "source", "up").message, /PULUMI_CONFIG_PASSPHRASE/);
    const failed = explain(engine("error: update failed\n  aws:ec2:Instance copier creating failed"), "target", "up");
    assert.ok(failed instanceof Failure);
    const bug = new TypeError("x is undefined");
    assert.equal(explain(bug, "source", "up"), bug, "not the engine's: left to surface as an internal error");
  });
});

describe("deploy preflight", () => {
  const failedSpawn = (error?: Error, stderr = "", status: number | null = 1) =>
    (() => ({ pid: 0, output: [], stdout: "", stderr, status, signal: null, error })) as unknown as typeof spawnSync;

  it("says how to get the Pulumi CLI when it is missing or its launcher cannot download it", () => {
    assert.throws(
      () => checkPulumiCli(failedSpawn(new Error("spawnSync pulumi ENOENT"))),
      /Pulumi CLI is not available \(spawnSync pulumi ENOENT\)[\s\S]*npm "pulumi" launcher/,
    );
    assert.throws(
      () => checkPulumiCli(failedSpawn(undefined, "Downloading pulumi v3.265.0...\npulumi: fetch failed")),
      /\(Downloading pulumi v3.265.0...; pulumi: fetch failed\)/,
    );
    const ok = (() => ({
      pid: 0,
      output: [],
      stdout: "v3.265.0\n",
      stderr: "",
      status: 0,
      signal: null,
    })) as unknown as typeof spawnSync;
    assert.equal(checkPulumiCli(ok), "v3.265.0");
  });

  it("refuses a CLI the Automation API would refuse, naming the SDK's minimum version, exactly where the SDK does", () => {
    /* eslint-disable @typescript-eslint/no-require-imports -- the SDK's own check and constant, internal to it */
    const sdk = require("@pulumi/pulumi/automation/cmd") as {
      parseAndValidatePulumiVersion(min: unknown, current: string, optOut: boolean): unknown;
    };
    const { minimumVersion } = require("@pulumi/pulumi/automation/minimumVersion") as {
      minimumVersion: { major: number; minor: number; patch: number };
    };
    /* eslint-enable @typescript-eslint/no-require-imports */
    const minimum = `${minimumVersion.major}.${minimumVersion.minor}.${minimumVersion.patch}`;
    const answering = (stdout: string) =>
      (() => ({ pid: 0, output: [], stdout, stderr: "", status: 0, signal: null })) as unknown as typeof spawnSync;
    const older = `${minimumVersion.major}.${minimumVersion.minor - 1}.0`;
    for (const version of [older, minimum, "3.265.0", `${minimumVersion.major + 1}.0.0`]) {
      const sdkRefuses = (() => {
        try {
          sdk.parseAndValidatePulumiVersion(minimumVersion, version, false);
          return false;
        } catch {
          return true;
        }
      })();
      const ours = (() => {
        try {
          checkPulumiCli(answering(`v${version}\n`), {});
          return undefined;
        } catch (e) {
          return e instanceof Error ? e.message : String(e);
        }
      })();
      assert.equal(ours !== undefined, sdkRefuses, `${version}: ${ours ?? "accepted"}`);
    }
    assert.throws(
      () => checkPulumiCli(answering(`v${older}\n`), {}),
      (e: unknown) =>
        e instanceof UserError &&
        e.message.startsWith(
          `The Pulumi CLI is v${older}, and this project's Automation API (@pulumi/pulumi) needs ${minimum} or later`,
        ),
    );
    assert.throws(() => checkPulumiCli(answering(`v${minimumVersion.major + 1}.0.0\n`), {}), /a later major version/);
    const skip = { PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true" };
    assert.equal(checkPulumiCli(answering(`v${older}\n`), skip), `v${older}`);
  });

  it("uses PULUMI_BACKEND_URL, or a local file backend in the project", () => {
    assert.deepEqual(backend({ PULUMI_BACKEND_URL: "s3://team-state" }), { url: "s3://team-state", local: false });
    assert.deepEqual(backend({}), { url: `file://${path.join(ROOT, ".pulumi-state")}`, local: true });
    assert.ok(
      fs.readFileSync(path.join(ROOT, ".gitignore"), "utf8").includes(".pulumi-state/"),
      "the local state is git-ignored",
    );
  });

  it("requires a passphrase variable on self-managed backends (an empty one is allowed)", () => {
    assert.throws(() => checkPassphrase(backend({}), {}), /export PULUMI_CONFIG_PASSPHRASE/);
    checkPassphrase(backend({}), { PULUMI_CONFIG_PASSPHRASE: "" });
    checkPassphrase({ url: "https://api.pulumi.com", local: false }, {});
  });

  describe("credentials per stack", () => {
    const s: StackInfo = {
      name: "source",
      file: "Pulumi.source.yaml",
      config: {},
      accountId: "111111111111",
      region: "us-west-2",
      profile: "account-a",
    };
    const sts = () => {
      const client = new STSClient({ region: "us-west-2" });
      return { client, m: mockClient(client) };
    };

    it("accepts credentials for the stack's account", async () => {
      const { client, m } = sts();
      m.on(GetCallerIdentityCommand).resolves({
        Account: "111111111111",
        Arn: "arn:aws:iam::111111111111:user/deployer",
      });
      assert.deepEqual(await checkStackCredentials(s, client), {
        account: "111111111111",
        arn: "arn:aws:iam::111111111111:user/deployer",
      });
    });

    it("names the stack, the account and the profile when there are no credentials", async () => {
      const { client, m } = sts();
      m.on(GetCallerIdentityCommand).rejects(Object.assign(new Error("Token is expired"), { name: "ExpiredToken" }));
      await assert.rejects(
        checkStackCredentials(s, client),
        /No usable AWS credentials for the source stack \(account 111111111111\) from profile "account-a".*aws sso login --profile account-a/,
      );
    });

    it("refuses credentials for another account than aws:allowedAccountIds", async () => {
      const { client, m } = sts();
      m.on(GetCallerIdentityCommand).resolves({ Account: "999999999999", Arn: "arn:aws:iam::999999999999:user/x" });
      await assert.rejects(
        checkStackCredentials(s, client),
        /must run in account 111111111111 .* is arn:aws:iam::999999999999:user\/x in account 999999999999/,
      );
    });
  });
});

describe("npm run test:integration", () => {
  const info = (name: string, profile?: string): StackInfo => ({
    name,
    file: `Pulumi.${name}.yaml`,
    config: {},
    accountId: "111111111111",
    region: "us-west-2",
    profile,
  });

  it("skips, with its reason, unless CROSS_ACCOUNT_IT=1", () => {
    assert.match(skipReason({}) ?? "", /^CROSS_ACCOUNT_IT is not 1/);
    assert.equal(skipReason({ CROSS_ACCOUNT_IT: "1" }), undefined);
  });

  it("when asked to run, refuses stacks without one profile per account (exit 2, not a skip)", () => {
    assert.throws(() => itStacks((n) => info(n)), /set aws:profile in both/);
    assert.throws(() => itStacks((n) => info(n, "same")), /use the same aws:profile \(same\)/);
    assert.equal(itStacks((n) => info(n, `profile-${n}`)).target.profile, "profile-target");
  });

  it("prints the skip reason and exits 0 when not enabled", async () => {
    const r = await runToolCaptured(INTEGRATION_TOOL, [], { env: {} });
    assert.equal(r.code, 0);
    assert.equal(
      r.stdout,
      "skipped: CROSS_ACCOUNT_IT is not 1 (set it to deploy both stacks to real accounts, verify, and destroy them)\n",
    );
  });

  it("deploys, verifies, then destroys and removes its own stacks, even when verify fails", async () => {
    const { ops, calls } = fakeOps();
    const { io } = fakeIo();
    await assert.rejects(
      runIntegration(ops, io, () => Promise.reject(new Error("verify blew up"))),
      /verify blew up/,
    );
    assert.deepEqual(calls, [
      `up ${IT_STACKS.source}`,
      `up ${IT_STACKS.target}`,
      `destroy ${IT_STACKS.target}`,
      `destroy ${IT_STACKS.source}`,
      `remove ${IT_STACKS.target}`,
      `remove ${IT_STACKS.source}`,
    ]);
  });

  it("reports the first failure, then the clean-up's, with the first one's exit code", async () => {
    const { ops } = fakeOps();
    const failingDestroy: StackOps = {
      ...ops,
      run: (name, action) =>
        action === "destroy" ? Promise.reject(new Failure(`destroy of ${name} failed`)) : ops.run(name, action),
    };
    const { io } = fakeIo();
    await assert.rejects(
      runIntegration(failingDestroy, io, () => Promise.reject(new UserError("the source's outputs are missing"))),
      (e: unknown) => {
        assert.ok(e instanceof UserError, String(e));
        assert.match(
          e.message,
          /^the source's outputs are missing\nThen the clean-up failed too, so the test stacks may be left \(pulumi destroy them\): destroy of it-target failed$/,
        );
        return true;
      },
    );
    const r = await runToolCaptured(
      {
        ...INTEGRATION_TOOL,
        run: () => runIntegration(failingDestroy, io, () => Promise.reject(new Failure("verify failed"))).then(() => 0),
      },
      [],
    );
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^test:integration: verify failed\nThen the clean-up failed too.*: destroy of it-target failed\n$/,
    );
  });

  it("writes its own stack files: protectData off, its own names, and the target pointed at it-source", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "it-"));
    try {
      for (const f of ["Pulumi.source.yaml", "Pulumi.target.yaml"])
        fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
      const files = writeItStackFiles(dir);
      const [src, tgt] = files.map(
        (f) => (parse(fs.readFileSync(f, "utf8")) as { config: Record<string, unknown> }).config,
      );
      const d = await captureDeployment(
        readStackFile(files[0], "reject").config,
        readStackFile(files[1], "reject").config,
      );
      assert.equal(
        d.target.outputs.roleArn,
        "arn:aws:iam::222222222222:role/account-b-role-it",
        "the program accepts both files, and the source grants the test's role",
      );
      assert.equal(src["cross-account-s3-kms:protectData"], false);
      assert.deepEqual(src["aws:allowedAccountIds"], ["111111111111"]);
      assert.equal(src["cross-account-s3-kms:bucketName"], "cross-account-s3-kms-111111111111-us-west-2-it");
      assert.equal(src["cross-account-s3-kms:keyAlias"], "alias/accounta-cmk-it");
      assert.deepEqual(src["cross-account-s3-kms:consumers"], [
        { accountId: "222222222222", roleName: "account-b-role-it" },
      ]);
      assert.equal(tgt["cross-account-s3-kms:roleName"], "account-b-role-it");
      assert.equal(tgt["cross-account-s3-kms:sourceStack"], "organization/cross-account-s3-kms/it-source");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
