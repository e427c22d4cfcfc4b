/**
 * Config keys the program does not know, each refused with the nearest known key: its own
 * namespace's, a misspelt project namespace, and `aws:` keys the AWS provider does not take.
 * Other namespaces (pulumi:, other providers) are theirs to check.
 */
import * as fs from "fs";
import { PROJECT, RawConfig, Side } from "../project";

/** Levenshtein distance: insertions, deletions and substitutions, one each. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}

/** The candidate nearest to `word`, when it is near enough to be a misspelling of it (a third of its letters). */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: { c: string; d: number } | undefined;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (best === undefined || d < best.d) best = { c, d };
  }
  return best && best.d <= Math.max(1, Math.floor(word.length / 3)) ? best.c : undefined;
}

let awsNames: readonly string[] | undefined;
/**
 * The AWS provider's config keys: @pulumi/aws's config/vars has one getter per key of the provider's
 * schema, and declares each in its vars.d.ts. The names are read from that declaration, since loading
 * the module loads Pulumi's SDK (0.8 s of every offline check); a test holds the two equal.
 */
export function awsConfigNames(): readonly string[] {
  awsNames ??= [
    ...fs
      .readFileSync(require.resolve("@pulumi/aws/config/vars.d.ts"), "utf8")
      .matchAll(/^export declare const (\w+):/gm),
  ].map((m) => m[1]);
  return awsNames;
}

const didYouMean = (key: string | undefined): string => (key === undefined ? "" : `: did you mean ${key}?`);

/** One problem per key the side does not take; `known` are the side's fully-qualified keys. */
export function unknownKeyProblems(raw: RawConfig, side: Side, known: readonly string[]): string[] {
  const names = known.filter((k) => k.startsWith(`${PROJECT}:`)).map((k) => k.slice(PROJECT.length + 1));
  const takes = `the ${side} stack takes: ${names.join(", ")}`;
  const problems: string[] = [];
  for (const key of Object.keys(raw)) {
    const at = key.indexOf(":");
    if (at < 0) continue;
    const [ns, name] = [key.slice(0, at), key.slice(at + 1)];
    if (ns === PROJECT && !known.includes(key)) {
      const near = nearest(name, names);
      problems.push(
        near === undefined
          ? `${key} is not a ${side}-stack key; ${takes}`
          : `${key} is not a ${side}-stack key${didYouMean(`${PROJECT}:${near}`)} (${takes})`,
      );
    } else if (ns !== PROJECT && nearest(ns, [PROJECT]) !== undefined) {
      const near = names.includes(name) ? name : (nearest(name, names) ?? name);
      problems.push(`${key}: ${ns} is not this project's namespace${didYouMean(`${PROJECT}:${near}`)}`);
    } else if (ns === "aws" && !awsConfigNames().includes(name)) {
      const near = nearest(name, awsConfigNames());
      problems.push(`${key} is not a config key of the AWS provider (@pulumi/aws)${didYouMean(near && `aws:${near}`)}`);
    }
  }
  return problems;
}
