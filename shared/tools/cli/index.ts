/**
 * The one CLI layer every tool runs on: argument parsing (node:util parseArgs), --help, paths
 * resolved against the caller's folder, and one exit-code contract:
 *   0  done, and every check held
 *   1  the job ran and something it checks failed (Failure)
 *   2  the job could not start: bad arguments, config, files, CLI or credentials (UserError, UsageError)
 *   3  an internal error (a bug): the only outcome that prints a stack trace
 * It imports nothing heavy, so bad arguments fail fast; a tool loads its modules inside `run`.
 */
import * as path from "path";
import { parseArgs } from "node:util";
import { isUserError } from "../../program/errors";
import { checkTempFolder } from "./temp";
import { installCleanup, isStopping } from "./cleanup";

export const EXIT = { ok: 0, failed: 1, cannotStart: 2, internal: 3 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The job ran and something it checks failed: exit 1. */
export class Failure extends Error {
  constructor(message: string) {
    super(message);
    this.name = "Failure";
  }
}

/** Bad arguments: exit 2, with the usage. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** True for the program's and the tools' "could not start" errors (UserError carries Pulumi's RunError mark). */
const cannotStart = (e: unknown): e is Error => e instanceof UsageError || isUserError(e);

export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  /** The value's name in the help, e.g. FILE. */
  value?: string;
  description: string;
  /** A file or folder path: resolved against the caller's folder. */
  path?: boolean;
}

export interface ToolSpec<O extends Record<string, OptionSpec>> {
  /** As in `npm run <name>`. */
  name: string;
  summary: string;
  /** Text after the options in --help: defaults, what each exit code means for this tool. */
  details?: string;
  options: O;
  /** What needs the temporary folder, as its message names it (default: the tool's name). */
  temp?(args: ParsedArgs<O>): string;
  run(args: ParsedArgs<O>, io: ToolIo): Promise<ExitCode>;
}

export type ParsedArgs<O extends Record<string, OptionSpec>> = {
  [K in keyof O]?: O[K]["type"] extends "boolean" ? boolean : string;
};

export interface ToolIo {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
  /** The folder the user ran the command in: npm sets INIT_CWD to it, and runs scripts from the project root. */
  cwd: string;
}

export function helpText<O extends Record<string, OptionSpec>>(spec: ToolSpec<O>): string {
  const rows = Object.entries(spec.options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : ""}--${name}${o.type === "string" ? ` ${o.value ?? "VALUE"}` : ""}`;
    return [flag, o.description];
  });
  rows.push(["-h, --help", "print this help and exit"]);
  const width = Math.max(...rows.map(([f]) => f.length));
  return [
    `usage: npm run ${spec.name} -- [options]`,
    spec.summary,
    "",
    "options:",
    ...rows.map(([f, d]) => `  ${f.padEnd(width)}  ${d}`),
    ...(spec.details ? ["", spec.details] : []),
    "",
    "exit codes: 0 done, every check held; 1 a check or cloud operation failed; 2 could not start (arguments, config, files, CLI, credentials); 3 internal error",
  ].join("\n");
}

/** parseArgs' message, reworded: its advice about "--" does not fit `npm run x -- ...`. */
function usageProblem(e: unknown, argv: string[]): string {
  const code = (e as { code?: string }).code;
  const message = e instanceof Error ? e.message : String(e);
  const option = /'(-[^' ]+)/.exec(message)?.[1] ?? "";
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") return `unknown option ${option}`;
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    if (message.includes("ambiguous"))
      return `option ${option} needs a value; to give one that starts with "-", write ${option}=${argv[argv.indexOf(option) + 1] ?? "..."}`;
    return message.includes("argument missing") ? `option ${option} needs a value` : `option ${option} takes no value`;
  }
  if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL")
    return `unexpected argument ${JSON.stringify(/'([^']*)'/.exec(message)?.[1] ?? "")}: every argument is an option`;
  return message;
}

/** Parses argv against the spec; paths come back absolute. Throws UsageError. */
export function parseToolArgs<O extends Record<string, OptionSpec>>(
  spec: ToolSpec<O>,
  argv: string[],
  cwd: string,
): ParsedArgs<O> | "help" {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
    help: { type: "boolean", short: "h" },
  };
  for (const [name, o] of Object.entries(spec.options))
    options[name] = o.short ? { type: o.type, short: o.short } : { type: o.type };
  const parse = () => {
    try {
      return parseArgs({ args: argv, options, strict: true, allowPositionals: false, tokens: true });
    } catch (e) {
      throw new UsageError(usageProblem(e, argv));
    }
  };
  const { values, tokens } = parse();
  if (values.help === true) return "help";
  // parseArgs keeps a repeated option's last value: `--stack source --stack target` would silently mean target.
  const seen = new Set<string>();
  for (const t of tokens)
    if (t.kind === "option" && options[t.name]?.type === "string") {
      if (seen.has(t.name)) throw new UsageError(`--${t.name} given twice: give it once`);
      seen.add(t.name);
    }
  const out: Record<string, string | boolean> = {};
  for (const [name, o] of Object.entries(spec.options)) {
    const v = values[name];
    if (v === undefined) continue;
    if (typeof v === "string" && v.startsWith("--"))
      throw new UsageError(`option --${name} needs a ${o.value ?? "value"}, not ${JSON.stringify(v)}`);
    out[name] = typeof v === "string" && o.path ? path.resolve(cwd, v) : v;
  }
  return out as ParsedArgs<O>;
}

/** A whole number as an option's value: digits only, so "0x1", "1e2", "-1", " 7" and "" are refused, not read by Number(). */
export const WHOLE_NUMBER = /^\d+$/;

/** An option's value as a whole number (WHOLE_NUMBER), or a UsageError naming the option, the value and the rule. */
export function wholeNumber(value: string, option: string, rule = "must be a whole number"): number {
  if (!WHOLE_NUMBER.test(value)) throw new UsageError(`${option} = ${JSON.stringify(value)}: ${rule}`);
  return Number(value);
}

const describe = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Runs a tool in-process: parses, runs, and maps every outcome to its exit code and message. */
export async function runTool<O extends Record<string, OptionSpec>>(
  spec: ToolSpec<O>,
  argv: string[],
  io: ToolIo,
): Promise<ExitCode> {
  try {
    const args = parseToolArgs(spec, argv, io.cwd);
    if (args === "help") {
      io.out(`${helpText(spec)}\n`);
      return EXIT.ok;
    }
    // Every tool's work loads Pulumi's SDK, which needs the temporary folder as it loads.
    checkTempFolder(spec.temp?.(args) ?? spec.name);
    return await spec.run(args, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`${spec.name}: ${e.message}\nRun "npm run ${spec.name} -- --help" for the options.\n`);
      return EXIT.cannotStart;
    }
    if (cannotStart(e)) {
      io.err(`${spec.name}: ${describe(e)}\n`);
      return EXIT.cannotStart;
    }
    if (e instanceof Failure) {
      io.err(`${spec.name}: ${e.message}\n`);
      return EXIT.failed;
    }
    return internalError(spec.name, e, io);
  }
}

function internalError(name: string, e: unknown, io: Pick<ToolIo, "err">): ExitCode {
  io.err(
    `${name}: internal error (a bug; please report it with this output):\n${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
  );
  return EXIT.internal;
}

/** The process: real streams and environment; a stray rejection or exception is an internal error too. */
export function toolMain<O extends Record<string, OptionSpec>>(
  spec: ToolSpec<O>,
  argv: string[] = process.argv.slice(2),
): void {
  const io: ToolIo = {
    out: (t) => isStopping() || process.stdout.write(t),
    err: (t) => isStopping() || process.stderr.write(t),
    env: process.env,
    // npm sets INIT_CWD for the script it runs; one inherited from an outer script would point elsewhere.
    cwd: process.env.npm_lifecycle_event === spec.name ? (process.env.INIT_CWD ?? process.cwd()) : process.cwd(),
  };
  let crashed = false;
  const crash = (e: unknown) => {
    // Once: reporting a crash must not crash again (stderr may be the broken pipe).
    if (crashed) return;
    crashed = true;
    process.exitCode = internalError(spec.name, e, io);
  };
  // A reader that went away (`npm run plan | head`) is not a bug: stop writing, keep the exit code.
  for (const stream of [process.stdout, process.stderr]) stream.on("error", () => undefined);
  // Ctrl-C, SIGTERM: the temporary folders and child processes a tool registered go with it.
  installCleanup();
  process.on("unhandledRejection", crash);
  process.on("uncaughtException", crash);
  runTool(spec, argv, io).then((code) => {
    if (!crashed) process.exitCode = code;
  }, crash);
}

/** Declares a tool; infers its options' literal types, so each parsed value is typed. */
export const defineTool = <const O extends Record<string, OptionSpec>>(spec: ToolSpec<O>): ToolSpec<O> => spec;

/** Runs a tool in-process and returns what it printed, for tests that need no process. */
export async function runToolCaptured<O extends Record<string, OptionSpec>>(
  spec: ToolSpec<O>,
  argv: string[],
  over: Partial<Pick<ToolIo, "env" | "cwd">> = {},
): Promise<{ code: ExitCode; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await runTool(spec, argv, {
    out: (t) => (stdout += t),
    err: (t) => (stderr += t),
    env: over.env ?? process.env,
    cwd: over.cwd ?? process.cwd(),
  });
  return { code, stdout, stderr };
}
