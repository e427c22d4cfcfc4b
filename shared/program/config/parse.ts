/**
 * Raw config to typed values: decodes JSON-valued keys, validates against a side's schema, and
 * turns every problem into one line that names the key, the value and the rule.
 */
import { z } from "zod";
import { UserError } from "../errors";
import { configKey, RawConfig, Side } from "../project";
import { unknownKeyProblems } from "./keys";

export class ConfigError extends UserError {
  constructor(
    readonly side: string,
    readonly problems: string[],
  ) {
    const n = problems.length;
    super(
      `Invalid configuration for the ${side} stack (${n} problem${n === 1 ? "" : "s"}):\n${problems.map((p) => `  - ${p}`).join("\n")}`,
    );
  }
}

/** Keys whose Pulumi config value is structured (a YAML list or object), passed to the program as JSON. */
const JSON_KEYS = new Set([
  "aws:allowedAccountIds",
  configKey("consumers"),
  configKey("consumerOrgPaths"),
  configKey("consumerRoleNames"),
]);

type Input = Record<string, unknown>;

/**
 * Decodes JSON-valued keys; a value that is not JSON becomes a problem, not a stack trace.
 * Returns the keys that failed, whose schema problems would only repeat it.
 */
function decode(raw: RawConfig, keys: string[], problems: string[]): { input: Input; undecodable: Set<string> } {
  const input: Input = {};
  const undecodable = new Set<string>();
  for (const k of keys) {
    const v = raw[k];
    if (v === undefined || !JSON_KEYS.has(k)) {
      input[k] = v;
      continue;
    }
    try {
      input[k] = JSON.parse(v);
    } catch {
      problems.push(`${k} = ${JSON.stringify(v)}: must be a YAML list (or JSON), not plain text`);
      undecodable.add(k);
    }
  }
  return { input, undecodable };
}

function valueAt(input: Input, p: PropertyKey[]): unknown {
  let v: unknown = input;
  for (const seg of p) v = v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[seg] : undefined;
  return v;
}

function formatPath(p: PropertyKey[]): string {
  return p.map((seg, i) => (typeof seg === "number" ? `[${seg}]` : i === 0 ? String(seg) : `.${String(seg)}`)).join("");
}

function formatIssues(input: Input, issues: z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const where = formatPath(issue.path);
    const value = valueAt(input, issue.path);
    if (issue.code === "unrecognized_keys") {
      return `${where} = ${JSON.stringify(value)}: has unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.join(", ")}`;
    }
    return value === undefined
      ? `${where} is not set: it ${issue.message}`
      : `${where} = ${JSON.stringify(value)}: ${issue.message}`;
  });
}

/** What a side derives from its parsed config, with the problems found on the way. */
export interface Derived<T> {
  value: T;
  problems: string[];
}

/**
 * Parses raw config against a schema keyed by fully-qualified config keys, then, when that is
 * clean, lets the side derive what needs several keys or the file system. Throws a ConfigError
 * listing every problem.
 */
export function parse<S extends z.ZodObject, T = undefined>(
  side: Side,
  raw: RawConfig,
  schema: S,
  derive?: (config: z.output<S>) => Derived<T>,
): { config: z.output<S>; derived: T } {
  const keys = Object.keys(schema.shape);
  const problems = unknownKeyProblems(raw, side, keys);
  const { input, undecodable } = decode(raw, keys, problems);
  const result = schema.safeParse(input);
  if (!result.success)
    problems.push(
      ...formatIssues(
        input,
        result.error.issues.filter((i) => !undecodable.has(String(i.path[0]))),
      ),
    );
  if (!result.success || problems.length > 0) throw new ConfigError(side, problems);
  const derived = derive?.(result.data) ?? { value: undefined as T, problems: [] };
  if (derived.problems.length > 0) throw new ConfigError(side, derived.problems);
  return { config: result.data, derived: derived.value };
}

/** Reads `cross-account-s3-kms:side`. */
export function readSide(raw: RawConfig): Side {
  const v = raw[configKey("side")];
  if (v === "source" || v === "target") return v;
  const problem =
    v === undefined
      ? `${configKey("side")} is not set: it must be "source" or "target" (set it in Pulumi.<stack>.yaml)`
      : `${configKey("side")} = ${JSON.stringify(v)}: must be "source" or "target"`;
  throw new ConfigError("selected", [problem]);
}
