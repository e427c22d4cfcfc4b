/** What analyze needs and what it costs: said in --help and wherever credentials or permissions are missing. */
export const ANALYZE_NEEDS =
  "analyze needs credentials of any AWS account allowed to call access-analyzer:ValidatePolicy, " +
  "access-analyzer:CheckNoPublicAccess, access-analyzer:CheckAccessNotGranted and access-analyzer:CheckNoNewAccess " +
  "(e.g. AWS_PROFILE=<profile>, or --profile <profile>).";
export const ANALYZE_BILLING =
  "The custom policy checks (CheckNoPublicAccess, CheckAccessNotGranted, CheckNoNewAccess) are billed per call by AWS; ValidatePolicy is free.";
