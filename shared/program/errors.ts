/**
 * An error in what the user asked for (config, stack order): the only error type the program
 * throws on bad input. Pulumi prints a RunError's message without a stack trace, and recognises one
 * by its `__pulumiRunError` mark (RunError.isInstance, which works across copies of the SDK). The
 * mark is set here rather than by extending RunError, so the tools' input checks need not load the
 * SDK and its gRPC stack; a test holds it to RunError.isInstance.
 */
export class UserError extends Error {
  readonly __pulumiRunError = true;

  constructor(message: string) {
    super(message);
    this.name = "UserError";
  }
}

/** True for a UserError or Pulumi's RunError, from any copy of either: an error with its message and no trace. */
export const isUserError = (e: unknown): e is Error =>
  e instanceof Error && (e as { __pulumiRunError?: unknown }).__pulumiRunError === true;
