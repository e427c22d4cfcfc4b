/**
 * Loads the real program under Pulumi runtime mocks with a given config, and captures every
 * resource's type, name, inputs and options.
 */
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { PROJECT, PROJECT_ROOT, RawConfig } from "../program/project";
import { isUserError } from "../program/errors";
import { parsePolicy, PolicyDocument } from "../program/iam/document";
import { createMocks, Invoke, MockContext } from "./mocks";
import { stackAccount } from "./stack-files";

export interface CapturedResource {
  type: string;
  name: string;
  /** The inputs the program sent, with every Output resolved. */
  inputs: Record<string, unknown>;
  /** The resource options the program passed. */
  opts: pulumi.CustomResourceOptions & pulumi.ComponentResourceOptions;
  /** Whether the engine protects it: its own `protect` option, or else its parent's, as Pulumi inherits it. */
  protected: boolean;
}

export interface StackRun {
  resources: CapturedResource[];
  outputs: Record<string, unknown>;
  invokes: Invoke[];
}

export interface RunOptions {
  stack: string;
  /** Fully-qualified keys, as in Pulumi.<stack>.yaml; structured values as JSON strings. */
  config: RawConfig;
  stackOutputs?: MockContext["stackOutputs"];
}

/** The outcome of a run that is expected to fail: the error, and what was declared before it. */
export interface FailedRun {
  error: Error;
  resources: CapturedResource[];
}

/**
 * The program's entry point, found as Pulumi's Node.js language host finds it: the folder of
 * Pulumi.yaml (a nodejs project of this name), then its `main` option if set, else package.json
 * `main`, else index.js. Throws when the project would not load.
 */
export function programEntry(root = PROJECT_ROOT): string {
  const project = parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as {
    name?: unknown;
    runtime?: string | { name?: unknown };
    main?: unknown;
  };
  const runtime = typeof project.runtime === "string" ? project.runtime : project.runtime?.name;
  if (project.name !== PROJECT || runtime !== "nodejs") {
    throw new Error(`${root}/Pulumi.yaml: expected project ${PROJECT} on the nodejs runtime`);
  }
  const dir = typeof project.main === "string" ? path.join(root, project.main) : root;
  const pkgFile = path.join(dir, "package.json");
  const main = fs.existsSync(pkgFile)
    ? (JSON.parse(fs.readFileSync(pkgFile, "utf8")) as { main?: string }).main
    : undefined;
  const entry = path.join(dir, main ?? "index.js");
  if (!fs.existsSync(entry)) throw new Error(`the program's entry point ${entry} does not exist`);
  return entry;
}

const PROGRAM = programEntry();

/** Waits for every pending registration; internal to the SDK, so typed here by its shape. */
async function waitForRegistrations(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- waitForRPCs is not in the SDK's typings
  const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };
  await settings.waitForRPCs();
}

/**
 * Resolves any value that may hold Outputs, rejecting (never hanging) when one fails:
 * Output.apply never calls back on failure, so the Output's own promise is awaited.
 */
function resolveDeep(value: unknown): Promise<unknown> {
  return (pulumi.output(value) as unknown as { promise(): Promise<unknown> }).promise();
}

/** The mocks' account, as the provider's guard makes it; a placeholder when the config has none, for the program to report. */
function accountOf(config: RawConfig): string {
  const a = stackAccount(config);
  return "accountId" in a ? a.accountId : "000000000000";
}

async function load(
  opts: RunOptions,
  captured: CapturedResource[],
  invokes: Invoke[],
): Promise<Record<string, unknown>> {
  const ctx: MockContext = {
    region: opts.config["aws:region"] ?? "us-east-1",
    accountId: accountOf(opts.config),
    stackOutputs: opts.stackOutputs ?? {},
    invokes,
  };
  await pulumi.runtime.setMocks(createMocks(ctx), PROJECT, opts.stack, false);
  // The program reads config when called, not when loaded, so one load serves every run.
  pulumi.runtime.setAllConfig(opts.config);

  const pending: Promise<void>[] = [];
  const byResource = new Map<pulumi.Resource, CapturedResource>();
  // The program's own failure is caught inside the stack's init: the SDK derives promises from the
  // stack's data (isKnown, isSecret) that nobody awaits, and a rejection there would be unhandled.
  let failure: { error: unknown } | undefined;
  const outputs = await pulumi.runtime.runInPulumiStack(async () => {
    pulumi.runtime.registerStackTransformation((args) => {
      const parent = args.opts.parent ? byResource.get(args.opts.parent) : undefined;
      const entry: CapturedResource = {
        type: args.type,
        name: args.name,
        inputs: {},
        opts: args.opts,
        protected: args.opts.protect ?? parent?.protected ?? false,
      };
      byResource.set(args.resource, entry);
      captured.push(entry);
      pending.push(
        resolveDeep(args.props).then((inputs) => {
          entry.inputs = inputs as Record<string, unknown>;
        }),
      );
      return undefined;
    });
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the program must load after the mocks are set
    const program = require(PROGRAM) as () => Promise<Record<string, unknown>>;
    try {
      return await program();
    } catch (error) {
      failure = { error };
      return {};
    }
  });
  if (failure) throw failure.error;
  await Promise.all(pending);
  await waitForRegistrations();
  return outputs ?? {};
}

/** Runs in progress with traces off, and the limit to put back when the last one ends. */
let quiet = 0;
let savedLimit = Error.stackTraceLimit;
/** Error.prepareStackTrace as it was (a descriptor: it may be absent, or an accessor). */
let savedPrepare = Object.getOwnPropertyDescriptor(Error, "prepareStackTrace");

/**
 * Loads the program with JavaScript stack traces off. The SDK records one for every promise it
 * makes (runtime/debuggable.js), for a leak report the mocks never print; with tsx's source maps,
 * that was most of a run's time (a target run: about 50 ms with them, 10 ms without). It also
 * formats a whole trace for every resource, for its source position, which the mocks never read:
 * traces are formatted as empty text meanwhile.
 */
async function loadQuickly(
  opts: RunOptions,
  captured: CapturedResource[],
  invokes: Invoke[],
): Promise<Record<string, unknown>> {
  if (quiet++ === 0) {
    savedLimit = Error.stackTraceLimit;
    savedPrepare = Object.getOwnPropertyDescriptor(Error, "prepareStackTrace");
  }
  Error.stackTraceLimit = 0;
  Error.prepareStackTrace = () => "";
  try {
    return await load(opts, captured, invokes);
  } finally {
    if (--quiet === 0) {
      Error.stackTraceLimit = savedLimit;
      if (savedPrepare) Object.defineProperty(Error, "prepareStackTrace", savedPrepare);
      else delete (Error as { prepareStackTrace?: unknown }).prepareStackTrace;
    }
  }
}

/** Runs the program and returns what it declared and exported. Rejects if the program fails. */
export async function runProgram(opts: RunOptions): Promise<StackRun> {
  const resources: CapturedResource[] = [];
  const invokes: Invoke[] = [];
  try {
    const outputs = await loadQuickly(opts, resources, invokes);
    return { resources, outputs, invokes };
  } catch (e) {
    if (isUserError(e)) throw e;
    // A bug: run again with stack traces on, so its report says where.
    await load(opts, [], []);
    throw e;
  }
}

/** Runs the program expecting it to fail; rejects if it succeeds. Its error has no stack: tests read its message. */
export async function runProgramExpectingError(opts: RunOptions): Promise<FailedRun> {
  const resources: CapturedResource[] = [];
  try {
    await loadQuickly(opts, resources, []);
  } catch (e) {
    return { error: e instanceof Error ? e : new Error(String(e)), resources };
  }
  throw new Error("expected the program to fail, but it succeeded");
}

// ---------------------------------------------------------------------------------------------
// Queries over a run

export function ofType(run: { resources: CapturedResource[] }, type: string): CapturedResource[] {
  return run.resources.filter((r) => r.type === type);
}

export function one(run: { resources: CapturedResource[] }, type: string): CapturedResource {
  const found = ofType(run, type);
  if (found.length !== 1)
    throw new Error(`expected exactly one ${type}, found ${found.length}: ${found.map((r) => r.name).join(", ")}`);
  return found[0];
}

/** Parses a policy input the program sent as a JSON string. */
export const policyOf = (r: Pick<CapturedResource, "type" | "name" | "inputs">, field = "policy"): PolicyDocument =>
  parsePolicy(r.inputs[field], `${r.type} ${r.name} ${field}`);
