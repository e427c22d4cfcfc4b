/** Versions of the programs the tools run (git, the Pulumi CLI), compared by their numeric parts. */

/** The first "major.minor[.patch]" in a program's version text, e.g. "git version 2.39.5" → [2, 39, 5]. */
export function parseVersion(text: string): number[] | undefined {
  const m = /(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? "0")] : undefined;
}

/** True when found is minimum or later. */
export function atLeast(found: readonly number[], minimum: readonly number[]): boolean {
  for (let i = 0; i < minimum.length; i++) {
    const f = found[i] ?? 0;
    if (f !== minimum[i]) return f > minimum[i];
  }
  return true;
}

export const versionText = (v: readonly number[]): string => v.join(".");
