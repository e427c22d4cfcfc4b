/**
 * What the boot script does with the role's access: the object it reads (or why it reads nothing)
 * and, for a role that writes, where it puts its receipt.
 */
import { ConsumerAccess, levelReads, levelWrites } from "../shared/program/iam/access-levels";

/** Where a role that writes to the whole bucket puts its receipt. */
export const WHOLE_BUCKET_RECEIPTS = "receipts/";

/** Whether a key lies inside some prefixes; undefined prefixes are the whole bucket. */
export const insidePrefixes = (key: string, prefixes: string[] | undefined): boolean =>
  prefixes === undefined || prefixes.some((p) => key.startsWith(p));

export interface BootJobs {
  /** The object the instance copies; null with the reason when it reads nothing. */
  read: { objectKey: string } | { objectKey: null; skipReason: string };
  /** The receipt's key prefix for a role that writes (its first prefix); null when it does not write. */
  receiptPrefix: string | null;
}

/**
 * The boot script's jobs for a role granted `grant`: it reads `objectKey` when set (checked against
 * the grant before), else the first of the source's objects inside its prefixes, if any.
 */
export function bootJobs(grant: ConsumerAccess, objectKeys: string[], objectKey?: string): BootJobs {
  const { access, prefixes } = grant;
  const receiptPrefix = levelWrites(access) ? (prefixes?.[0] ?? WHOLE_BUCKET_RECEIPTS) : null;
  if (!levelReads(access))
    return { read: { objectKey: null, skipReason: `the role's access is ${access}: it does not read` }, receiptPrefix };
  const key = objectKey ?? objectKeys.find((k) => insidePrefixes(k, prefixes));
  return key === undefined
    ? {
        read: {
          objectKey: null,
          skipReason: `no object of the source lies under ${prefixes?.join(", ") ?? "the bucket"}`,
        },
        receiptPrefix,
      }
    : { read: { objectKey: key }, receiptPrefix };
}
