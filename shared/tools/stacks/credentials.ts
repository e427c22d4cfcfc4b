/** Credentials per stack: each stack's aws:profile, or the environment's credentials. */
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { UserError } from "../../program/errors";
import type { StackInfo } from "./files";

/** Client settings for a stack's account: its region and, when set, its profile. */
export const clientConfig = (s: StackInfo): { region: string; profile?: string } =>
  s.profile ? { region: s.region, profile: s.profile } : { region: s.region };

export const describeCredentials = (s: StackInfo): string =>
  s.profile
    ? `profile "${s.profile}" (aws:profile in ${s.file})`
    : "the environment's AWS credentials (no aws:profile in the stack file)";

const CREDENTIAL_ERRORS =
  /CredentialsProviderError|ExpiredToken|InvalidClientTokenId|UnrecognizedClientException|SignatureDoesNotMatch|TokenRefreshRequired|Could not load credentials|SSO session/i;

/** True when an AWS SDK error means the caller has no usable credentials. */
export function isCredentialsError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  return CREDENTIAL_ERRORS.test(e.name) || CREDENTIAL_ERRORS.test(e.message);
}

export function noCredentials(s: StackInfo, e: unknown): UserError {
  const why = e instanceof Error ? e.message : String(e);
  const fix = s.profile
    ? `run "aws sso login --profile ${s.profile}" or "aws configure --profile ${s.profile}"`
    : `set aws:profile in ${s.file}, or export AWS_PROFILE / AWS credentials for account ${s.accountId}`;
  return new UserError(
    `No usable AWS credentials for the ${s.name} stack (account ${s.accountId}) from ${describeCredentials(s)}: ${why}. To fix: ${fix}.`,
  );
}

export interface Identity {
  account: string;
  arn: string;
}

/** Who the stack's credentials are; fails clearly when there are none or they are for another account. */
export async function checkStackCredentials(
  s: StackInfo,
  sts: STSClient = new STSClient(clientConfig(s)),
): Promise<Identity> {
  let identity: Identity;
  try {
    const r = await sts.send(new GetCallerIdentityCommand({}));
    identity = { account: r.Account ?? "", arn: r.Arn ?? "" };
  } catch (e) {
    throw noCredentials(s, e);
  }
  if (identity.account !== s.accountId) {
    throw new UserError(
      `The ${s.name} stack must run in account ${s.accountId} (aws:allowedAccountIds in ${s.file}), but ${describeCredentials(s)} is ${identity.arn} in account ${identity.account}. ` +
        `Use that account's profile (aws:profile), or correct aws:allowedAccountIds.`,
    );
  }
  return identity;
}
