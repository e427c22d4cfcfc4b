/**
 * Two of the simulator's pure steps, remembered: at 200 consumers they were over half the matrix's time.
 *
 * ARNs. The simulator compares each ARN of an ARN condition (ArnEquals, ArnLike and their negations)
 * by splitting both ARNs and building five regular expressions, for every request, with no early
 * exit. At 200 consumers the bucket and key policies each list 200 role ARNs under
 * aws:PrincipalArn and the matrix then asked about 2,650 requests: that comparison was half the matrix's
 * time. A policy ARN without a policy variable (`${...}`) compares the same way whatever the
 * request, so its answer is remembered per pair of ARNs. ARNs with variables are compared afresh.
 *
 * Condition operators. For every value of every condition it tries, the simulator works out the
 * operator's base name and whether it ends in IfExists, with locale-aware comparisons; both depend
 * on the operator's text alone.
 *
 * Each wraps the library's own function, in a module of its CommonJS build whose callers read it at
 * each call. Where a module is missing or changed shape, nothing is wrapped, `simulatorMemo` says
 * which is not in place, and the simulator runs as shipped.
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

export const simulatorMemo = {
  arns: false,
  operators: false,
  /** Off: every step runs the simulator's own code (a test compares the two). */
  enabled: true,
  /** ARN comparisons answered from memory. */
  hits: 0,
};

/** The comparison, remembered for policy ARNs without variables; simulatorMemo.enabled off bypasses it. */
export function remember(compare: ArnMatches): ArnMatches {
  const known = new Map<string, Explain>();
  return (policyArn, requestArn, request, expectMatch) => {
    if (!simulatorMemo.enabled || policyArn.includes("${")) return compare(policyArn, requestArn, request, expectMatch);
    const key = `${expectMatch ? 1 : 0}\n${policyArn}\n${requestArn}`;
    let explain = known.get(key);
    if (explain) simulatorMemo.hits++;
    else {
      if (known.size >= LIMIT) known.clear();
      explain = compare(policyArn, requestArn, request, expectMatch);
      known.set(key, explain);
    }
    // A copy: the simulator builds its explanation from what it is given.
    return { ...explain, ...(explain.errors && { errors: [...explain.errors] }) };
  };
}

/** A module of a package's CommonJS build, beside its main file; undefined when it is not there. */
function internal(pkg: string, ...file: string[]): Record<string, unknown> | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a library's internal module, typed by its shape
    return require(path.join(path.dirname(require.resolve(pkg)), ...file)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function installArns(): void {
  const mod = internal("@cloud-copilot/iam-simulate", "condition", "arn", "arn.js");
  const original = mod?.arnMatches;
  if (!mod || typeof original !== "function" || original.length !== 4) return;
  if (!Object.getOwnPropertyDescriptor(mod, "arnMatches")?.writable) return;
  mod.arnMatches = remember(original as ArnMatches);
  simulatorMemo.arns = true;
}

/** A method of the operator's text alone (`this.op`), remembered per text. */
function perOperator<T>(proto: Record<string, unknown>, name: string): boolean {
  const original = proto[name];
  if (typeof original !== "function" || original.length !== 0) return false;
  const known = new Map<string, T>();
  proto[name] = function (this: { op: string }): T {
    if (!simulatorMemo.enabled) return (original as () => T).call(this);
    if (!known.has(this.op)) known.set(this.op, (original as () => T).call(this));
    return known.get(this.op) as T;
  };
  return true;
}

function installOperators(): void {
  const impl = internal("@cloud-copilot/iam-policy", "conditions", "conditionOperation.js")?.ConditionOperationImpl;
  if (typeof impl !== "function") return;
  const proto = impl.prototype as Record<string, unknown>;
  // Both or neither: a half-wrapped operator is harder to reason about than none.
  if (typeof proto.baseOperator !== "function" || typeof proto.isIfExists !== "function") return;
  simulatorMemo.operators = perOperator<string>(proto, "baseOperator") && perOperator<boolean>(proto, "isIfExists");
}

installArns();
installOperators();
