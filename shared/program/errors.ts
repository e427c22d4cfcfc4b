import { RunError } from "@pulumi/pulumi/errors";

/**
 * An error in what the user asked for (config, stack order). Pulumi prints a RunError's message
 * without a stack trace, so this is the only error type the program throws on bad input.
 */
export class UserError extends RunError {
  constructor(message: string) {
    super(message);
    this.name = "UserError";
  }
}
