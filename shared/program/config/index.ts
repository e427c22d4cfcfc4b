/**
 * Config parsing and validation for both stacks. Everything here runs before any resource is
 * declared, and reports every problem at once, each naming the key, the value and the rule.
 */
export { configKey, PROJECT, PROJECT_ROOT, SIDES } from "../project";
export type { RawConfig, Side } from "../project";
export { ConfigError, readSide } from "./parse";
export {
  accountIdProblem,
  accountIdSchema,
  allowedAccountIdsSchema,
  bucketNameProblems,
  objectKeyProblem,
  regionProblem,
  regionSchema,
  roleNameSchema,
} from "./rules";
export * from "./objects";
export * from "./source";
export * from "./target";
