/** What the operations tools do to a stack, as an interface, so their flows are tested without a Pulumi CLI. */
import type { OpMap } from "@pulumi/pulumi/automation";

export type Action = "up" | "destroy";

/** Stack operations, so the flows can be tested without a CLI. */
export interface StackOps {
  /** The stack's config as the Pulumi CLI reads it, secrets decrypted. */
  config(name: string, action: Action): Promise<Record<string, string>>;
  /** A deployed stack's outputs; undefined when the stack does not exist. */
  outputs(name: string): Promise<Record<string, unknown> | undefined>;
  preview(name: string, action: Action): Promise<OpMap>;
  run(name: string, action: Action): Promise<OpMap>;
  /** Deletes a stack (empty by then) and its Pulumi.<stack>.yaml from the backend. */
  remove(name: string): Promise<void>;
}

/**
 * What the Pulumi CLI said, in at most three lines: a CommandError's stderr when it has one (its
 * message repeats stdout, stderr and the wrapped error), without stack frames.
 */
export function engineMessage(e: unknown): string {
  const stderr = (e as { commandResult?: { stderr?: unknown } } | undefined)?.commandResult?.stderr;
  const text = typeof stderr === "string" && stderr.trim() ? stderr : e instanceof Error ? e.message : String(e);
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("at "))
    .slice(-3)
    .join(" ");
}
