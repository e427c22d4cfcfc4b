/**
 * The policy pack as the Pulumi engine runs it: `pulumi preview --policy-pack shared/policy-pack` starts
 * `@pulumi/pulumi/cmd/run-policy-pack <engine-address> .` with the pack's folder as the working directory
 * (see NewPolicyAnalyzer in the Pulumi CLI), ts-node type-checks and loads index.ts, `new PolicyPack` reads
 * ./package.json for its version and serves the analyzer over gRPC, printing its port as the first line on
 * stdout. This spec does the same, then talks to that server through the analyzer protos the engine uses.
 * The pack never calls the engine, so the engine address is a placeholder.
 */
import { strict as assert } from "assert";
import { ChildProcessByStdio, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Readable } from "stream";
import { credentials, Metadata, ServiceError } from "@grpc/grpc-js";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { JavaScriptValue, Struct } from "google-protobuf/google/protobuf/struct_pb";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import {
  AnalyzeDiagnostic,
  AnalyzeRequest,
  AnalyzeResponse,
  AnalyzerInfo,
  AnalyzerResourceOptions,
  EnforcementLevel,
} from "@pulumi/pulumi/proto/analyzer_pb";
import { policies } from "../shared/policy-pack/rules";

const PACK_DIR = path.resolve(__dirname, "..", "shared", "policy-pack");
const PACK_NAME = "cross-account-s3-kms-baseline";
/** Not dialled: the policy server only listens. Any address keeps run-policy-pack's argument check happy. */
const ENGINE_ADDRESS = "127.0.0.1:0";
const START_TIMEOUT_MS = 60_000;
const RPC_DEADLINE_MS = 10_000;
const KMS_KEY = "aws:kms/key:Key";
const ROTATION = "kms-key-rotation";

type PackProcess = ChildProcessByStdio<null, Readable, Readable>;

/** Starts the pack as the engine does; resolves with the port it prints first, rejects with its stderr. */
function startPack(): { child: PackProcess; port: Promise<number> } {
  const child = spawn(process.execPath, [require.resolve("@pulumi/pulumi/cmd/run-policy-pack"), ENGINE_ADDRESS, "."], {
    cwd: PACK_DIR,
    // The engine passes its own environment plus the stack's identity (constructEnv in analyzer_plugin.go).
    env: {
      ...process.env,
      PULUMI_PROJECT: "cross-account-s3-kms",
      PULUMI_STACK: "test",
      PULUMI_DRY_RUN: "true",
      PULUMI_NODEJS_PROJECT: "cross-account-s3-kms",
      PULUMI_NODEJS_STACK: "test",
      PULUMI_NODEJS_DRY_RUN: "true",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const port = new Promise<number>((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    const fail = (why: string) => {
      clearTimeout(timer);
      reject(new Error(`${why}\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    };
    const timer = setTimeout(() => fail(`no port within ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      const newline = stdout.indexOf("\n");
      if (newline < 0) return;
      // Like the engine, take the first line as the port: anything printed before it would break the handshake.
      const first = stdout.slice(0, newline).trim();
      if (/^\d+$/.test(first)) {
        clearTimeout(timer);
        resolve(Number(first));
      } else fail(`the first line on stdout is not a port: ${JSON.stringify(first)}`);
    });
    child.on("error", (err) => fail(`spawn failed: ${err.message}`));
    child.on("exit", (code, signal) => fail(`run-policy-pack exited (code ${String(code)}, signal ${String(signal)})`));
  });
  return { child, port };
}

/** The analyzer calls this spec makes, as Promises with a deadline. */
class Analyzer {
  private readonly client: AnalyzerClient;

  constructor(port: number) {
    this.client = new AnalyzerClient(`127.0.0.1:${port}`, credentials.createInsecure());
  }

  private static settle<T>(resolve: (v: T) => void, reject: (e: Error) => void) {
    return (err: ServiceError | null, res: T) => (err ? reject(err) : resolve(res));
  }

  private static deadline() {
    return { deadline: Date.now() + RPC_DEADLINE_MS };
  }

  info(): Promise<AnalyzerInfo> {
    return new Promise((resolve, reject) =>
      this.client.getAnalyzerInfo(new Empty(), new Metadata(), Analyzer.deadline(), Analyzer.settle(resolve, reject)),
    );
  }

  analyze(req: AnalyzeRequest): Promise<AnalyzeResponse> {
    return new Promise((resolve, reject) =>
      this.client.analyze(req, new Metadata(), Analyzer.deadline(), Analyzer.settle(resolve, reject)),
    );
  }

  close(): void {
    this.client.close();
  }
}

/** An Analyze request as the engine builds it: type, name, URN, inputs as a Struct, and resource options. */
function analyzeRequest(type: string, name: string, props: Record<string, JavaScriptValue>): AnalyzeRequest {
  return new AnalyzeRequest()
    .setType(type)
    .setName(name)
    .setUrn(`urn:pulumi:test::cross-account-s3-kms::${type}::${name}`)
    .setProperties(Struct.fromJavaScript(props))
    .setOptions(new AnalyzerResourceOptions().setCustomtimeouts(new AnalyzerResourceOptions.CustomTimeouts()));
}

/** A key policy that keeps the account root as administrator, so only rotation differs between the two keys. */
const ROOT_ADMIN_POLICY = JSON.stringify({
  Version: "2012-10-17",
  Statement: [
    {
      Sid: "RootAdmin",
      Effect: "Allow",
      Principal: { AWS: "arn:aws:iam::111111111111:root" },
      Action: "kms:*",
      Resource: "*",
    },
  ],
});

const byPolicy = (res: AnalyzeResponse, name: string): AnalyzeDiagnostic[] =>
  res.getDiagnosticsList().filter((d) => d.getPolicyname() === name);

describe("policy pack, started as the Pulumi engine starts it", function () {
  let child: PackProcess | undefined;
  let analyzer: Analyzer | undefined;

  before(async function () {
    this.timeout(START_TIMEOUT_MS + 10_000);
    const started = startPack();
    child = started.child;
    analyzer = new Analyzer(await started.port);
  });

  after(async function () {
    analyzer?.close();
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once("exit", () => resolve()));
    c.kill("SIGTERM");
    const timer = setTimeout(() => c.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  });

  const connected = (): Analyzer => {
    assert.ok(analyzer, "the pack did not start");
    return analyzer;
  };

  it("serves the pack's name, package.json version and every policy in rules.ts", async () => {
    const info = await connected().info();
    const pkg = JSON.parse(fs.readFileSync(path.join(PACK_DIR, "package.json"), "utf8")) as { version: string };
    assert.equal(info.getName(), PACK_NAME);
    assert.equal(info.getVersion(), pkg.version);
    assert.deepEqual(
      info
        .getPoliciesList()
        .map((p) => p.getName())
        .sort(),
      policies.map((p) => p.name).sort(),
    );
  });

  it("reports kms-key-rotation for a key without rotation", async () => {
    const res = await connected().analyze(
      analyzeRequest(KMS_KEY, "no-rotation", { enableKeyRotation: false, policy: ROOT_ADMIN_POLICY }),
    );
    const found = byPolicy(res, ROTATION);
    assert.equal(found.length, 1, `diagnostics: ${JSON.stringify(res.toObject().diagnosticsList)}`);
    assert.equal(found[0].getPolicypackname(), PACK_NAME);
    assert.equal(found[0].getEnforcementlevel(), EnforcementLevel.MANDATORY);
    assert.match(found[0].getMessage(), /enableKeyRotation/);
  });

  it("reports nothing for kms-key-rotation on a rotating key", async () => {
    const res = await connected().analyze(
      analyzeRequest(KMS_KEY, "rotating", { enableKeyRotation: true, policy: ROOT_ADMIN_POLICY }),
    );
    assert.deepEqual(byPolicy(res, ROTATION), []);
    // It ran on the key (was not skipped as not applicable), and nothing else fired either.
    assert.ok(!res.getNotApplicableList().some((n) => n.getPolicyName() === ROTATION));
    assert.deepEqual(res.toObject().diagnosticsList, []);
  });
});
