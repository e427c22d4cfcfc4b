/** Base configs the tests and the bench share: the seed's accounts, as the committed stack files set them. */
import { Consumer } from "../program/iam/arn";
import { RawConfig, Side, stackFilePath } from "../program/project";
import { readStackFile } from "./stack-files";

/** The committed Pulumi.<side>.yaml, as Pulumi hands it to the program. */
export const committedConfig = (side: Side): RawConfig => readStackFile(stackFilePath(side), "reject").config;

/** The smallest valid source config: account 111111111111 grants account-b-role in 222222222222. */
export const SOURCE_BASE: Readonly<RawConfig> = {
  "aws:region": "us-west-2",
  "aws:allowedAccountIds": '["111111111111"]',
  "cross-account-s3-kms:side": "source",
  "cross-account-s3-kms:consumers": '[{"accountId":"222222222222","roleName":"account-b-role"}]',
};

/** The smallest valid target config: account 222222222222, with the default role name. */
export const TARGET_BASE: Readonly<RawConfig> = {
  "aws:region": "us-west-2",
  "aws:allowedAccountIds": '["222222222222"]',
  "cross-account-s3-kms:side": "target",
};

/** N consumers, each in its own account (from 300000000000), with role names of a typical length. */
export const manyConsumers = (n: number, first = 0): Consumer[] =>
  Array.from({ length: n }, (_, i) => ({
    accountId: String(300000000000 + first + i),
    roleName: `reader-${String(first + i).padStart(3, "0")}`,
  }));

/** SOURCE_BASE granting these consumers. */
export const sourceGranting = (consumers: Consumer[]): RawConfig => ({
  ...SOURCE_BASE,
  "cross-account-s3-kms:consumers": JSON.stringify(consumers),
});

/**
 * SOURCE_BASE granting four consumers of every kind: a whole-bucket reader, a read-write consumer on
 * incoming/ in the same account, a prefix reader on reports/, and a write-only consumer on incoming/.
 */
export const MIXED_SOURCE: Readonly<RawConfig> = {
  ...SOURCE_BASE,
  "cross-account-s3-kms:consumers": JSON.stringify([
    { accountId: "222222222222", roleName: "account-b-role" },
    { accountId: "222222222222", roleName: "ingest-writer", access: "read-write", prefixes: ["incoming/"] },
    { accountId: "333333333333", roleName: "reports-reader", access: "read", prefixes: ["reports/"] },
    { accountId: "444444444444", roleName: "drop-writer", access: "write", prefixes: ["incoming/"] },
  ]),
};
