/**
 * The one console line the boot script writes, and how `npm run verify` reads it back:
 *   <MARKER_PREFIX> OK <key> sha256=<hex>   or   <MARKER_PREFIX> FAILED <reason>
 * boot-script.ts fills these words into boot.sh; verify parses with parseMarker.
 */

/** The marker's first word. */
export const MARKER_PREFIX = "CROSS_ACCOUNT_COPY";

/** The words boot.sh's two marker lines are made of, by their placeholder in boot.sh. */
export const MARKER_WORDS = {
  MARKER: MARKER_PREFIX,
  MARKER_OK: "OK",
  MARKER_FAILED: "FAILED",
  /** Before the copied file's hash on the OK line. */
  MARKER_HASH: "sha256=",
} as const;

export type Marker =
  { kind: "ok"; sha256: string; line: string } | { kind: "failed"; reason: string; line: string } | { kind: "none" };

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * The marker in a console's text for this object: OK with the copy's sha256, FAILED with the
 * reason, or none yet. OK wins over FAILED; an OK line for another key is not this copy's.
 */
export function parseMarker(consoleText: string, prefix: string, objectKey: string): Marker {
  const { MARKER_OK, MARKER_FAILED, MARKER_HASH } = MARKER_WORDS;
  const p = escapeRegExp(prefix);
  const ok = new RegExp(
    `${p} ${MARKER_OK} ${escapeRegExp(objectKey)} ${escapeRegExp(MARKER_HASH)}([0-9a-f]{64})(?![0-9a-f])`,
  ).exec(consoleText);
  if (ok) return { kind: "ok", sha256: ok[1], line: ok[0] };
  const failed = new RegExp(`${p} ${MARKER_FAILED} (.*)`).exec(consoleText);
  if (failed) return { kind: "failed", reason: failed[1].trim(), line: failed[0].trim() };
  return { kind: "none" };
}
