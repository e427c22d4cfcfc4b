/**
 * The console lines the boot script writes, and how `npm run verify` reads them back:
 *   the read:  <MARKER_PREFIX> OK <key> sha256=<hex>, <MARKER_PREFIX> FAILED <reason>
 *              or <MARKER_PREFIX> SKIPPED <reason> (no object to read, or a role that only writes);
 *   the write: <MARKER_PREFIX> WROTE <key> or <MARKER_PREFIX> WRITE-FAILED <reason>.
 * boot-script.ts fills these words into boot.sh; verify parses with parseMarker and parseWriteMarker.
 */

/** The marker's first word. */
export const MARKER_PREFIX = "CROSS_ACCOUNT_COPY";

/** The words boot.sh's marker lines are made of, by their placeholder in boot.sh. */
export const MARKER_WORDS = {
  MARKER: MARKER_PREFIX,
  MARKER_OK: "OK",
  MARKER_FAILED: "FAILED",
  MARKER_SKIPPED: "SKIPPED",
  /** Before the copied file's hash on the OK line. */
  MARKER_HASH: "sha256=",
  MARKER_WROTE: "WROTE",
  MARKER_WRITE_FAILED: "WRITE-FAILED",
} as const;

export type Marker =
  | { kind: "ok"; sha256: string; line: string }
  | { kind: "failed"; reason: string; line: string }
  | { kind: "skipped"; reason: string; line: string }
  | { kind: "none" };

export type WriteMarker =
  { kind: "wrote"; key: string; line: string } | { kind: "failed"; reason: string; line: string } | { kind: "none" };

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The first line `<prefix> <word> <rest>`: its rest and the whole line, trimmed (the console ends lines with \r\n). */
function lineOf(consoleText: string, prefix: string, word: string): { rest: string; line: string } | undefined {
  const m = new RegExp(`${escapeRegExp(prefix)} ${escapeRegExp(word)} (.*)`).exec(consoleText);
  return m ? { rest: m[1].trim(), line: m[0].trim() } : undefined;
}

/**
 * The read's marker in a console's text for this object (null: no object to copy): OK with the
 * copy's sha256, FAILED or SKIPPED with the reason, or none yet. OK wins over FAILED; an OK line
 * for another key is not this copy's.
 */
export function parseMarker(consoleText: string, prefix: string, objectKey: string | null): Marker {
  const { MARKER_OK, MARKER_FAILED, MARKER_SKIPPED, MARKER_HASH } = MARKER_WORDS;
  const p = escapeRegExp(prefix);
  const ok =
    objectKey === null
      ? null
      : new RegExp(
          `${p} ${MARKER_OK} ${escapeRegExp(objectKey)} ${escapeRegExp(MARKER_HASH)}([0-9a-f]{64})(?![0-9a-f])`,
        ).exec(consoleText);
  if (ok) return { kind: "ok", sha256: ok[1], line: ok[0] };
  const failed = lineOf(consoleText, prefix, MARKER_FAILED);
  if (failed) return { kind: "failed", reason: failed.rest, line: failed.line };
  const skipped = lineOf(consoleText, prefix, MARKER_SKIPPED);
  if (skipped) return { kind: "skipped", reason: skipped.rest, line: skipped.line };
  return { kind: "none" };
}

/** The write's marker: WROTE with the receipt's key, WRITE-FAILED with the reason, or none yet. WROTE wins. */
export function parseWriteMarker(consoleText: string, prefix: string): WriteMarker {
  const wrote = lineOf(consoleText, prefix, MARKER_WORDS.MARKER_WROTE);
  if (wrote && wrote.rest !== "") return { kind: "wrote", key: wrote.rest, line: wrote.line };
  const failed = lineOf(consoleText, prefix, MARKER_WORDS.MARKER_WRITE_FAILED);
  if (failed) return { kind: "failed", reason: failed.rest, line: failed.line };
  return { kind: "none" };
}
