/**
 * The access model: evaluates the policies the program really produces (captured from both
 * stacks run under mocks) with an IAM policy evaluator, offline. For tools and tests only.
 */
export * from "./capture";
export * from "./cases";
export * from "./level-cases";
export * from "./context";
export * from "./evaluate";
export * from "./matrix";
export * from "./services";
export * from "./vocabulary";
export * from "./parallel";
