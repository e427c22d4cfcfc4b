/**
 * The simulator compares each ARN of an ARN condition (ArnEquals, ArnLike and their negations)
 * by splitting both ARNs and building five regular expressions, for every request, with no early
 * exit. At 200 consumers the bucket and key policies each list 200 role ARNs under
 * aws:PrincipalArn and the matrix asks about 2,650 requests: that comparison was half the matrix's
 * time. A policy ARN without a policy variable (`${...}`) compares the same way whatever the
 * request, so its answer is remembered per pair of ARNs. ARNs with variables are compared afresh.
 *
 * It wraps the simulator's own comparison (a module of its CommonJS build, whose callers read it
 * from the module's exports at each call). If that module is missing or changed shape, nothing is
 * wrapped, `arnMemo.installed` says so, and the simulator runs as shipped.
 */
import * as path from "path";

export interface Explain {
  matches: boolean;
  value: string;
  resolvedValue?: string;
  errors?: string[];
}
export type ArnMatches = (policyArn: string, requestArn: string, request: unknown, expectMatch: boolean) => Explain;

/** Pairs remembered before the table starts afresh: a test process runs many matrices. */
const LIMIT = 200_000;

export const arnMemo = {
  installed: false,
  /** Off: every comparison runs the simulator's own code (a test compares the two). */
  enabled: true,
  hits: 0,
};

/** The comparison, remembered for policy ARNs without variables; arnMemo.enabled off bypasses it. */
export function remember(compare: ArnMatches): ArnMatches {
  const known = new Map<string, Explain>();
  return (policyArn, requestArn, request, expectMatch) => {
    if (!arnMemo.enabled || policyArn.includes("${")) return compare(policyArn, requestArn, request, expectMatch);
    const key = `${expectMatch ? 1 : 0}\n${policyArn}\n${requestArn}`;
    let explain = known.get(key);
    if (explain) arnMemo.hits++;
    else {
      if (known.size >= LIMIT) known.clear();
      explain = compare(policyArn, requestArn, request, expectMatch);
      known.set(key, explain);
    }
    // A copy: the simulator builds its explanation from what it is given.
    return { ...explain, ...(explain.errors && { errors: [...explain.errors] }) };
  };
}

function install(): void {
  let mod: { arnMatches?: unknown };
  try {
    const root = path.dirname(require.resolve("@cloud-copilot/iam-simulate"));
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the simulator's internal module, typed by its shape
    mod = require(path.join(root, "condition", "arn", "arn.js")) as { arnMatches?: unknown };
  } catch {
    return;
  }
  const original = mod.arnMatches;
  if (typeof original !== "function" || original.length !== 4) return;
  if (!Object.getOwnPropertyDescriptor(mod, "arnMatches")?.writable) return;
  mod.arnMatches = remember(original as ArnMatches);
  arnMemo.installed = true;
}

install();
