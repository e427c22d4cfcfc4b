import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { tags } from "../shared/program/tags";

export interface CustomerManagedKeyArgs {
  /** The alias, `alias/<name>`. Required. */
  alias: string;
  /** The key policy, as JSON. Required: the AWS default policy would not grant the consumers. */
  policy: string;
  /** Days between automatic rotations (90-2560). Default 365. */
  rotationDays?: number;
  /** Days a scheduled deletion waits, during which it can be cancelled (7-30). Default 30. */
  deletionWindowDays?: number;
}

/** A symmetric customer managed KMS key with rotation on, and its alias. Protect it with `opts.protect`: the key and alias inherit it. */
export class CustomerManagedKey extends pulumi.ComponentResource {
  readonly key: aws.kms.Key;
  readonly alias: aws.kms.Alias;
  /** The key's full ARN: the only form that works across accounts. */
  readonly arn: pulumi.Output<string>;

  constructor(name: string, args: CustomerManagedKeyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("cross-account-s3-kms:source:CustomerManagedKey", name, {}, opts);
    const rotationDays = args.rotationDays ?? 365;
    const deletionWindowDays = args.deletionWindowDays ?? 30;
    if (!Number.isInteger(rotationDays) || rotationDays < 90 || rotationDays > 2560) {
      throw new Error(
        `CustomerManagedKey ${name}: rotationDays = ${rotationDays}: must be a whole number from 90 to 2560`,
      );
    }
    if (!Number.isInteger(deletionWindowDays) || deletionWindowDays < 7 || deletionWindowDays > 30) {
      throw new Error(
        `CustomerManagedKey ${name}: deletionWindowDays = ${deletionWindowDays}: must be a whole number from 7 to 30`,
      );
    }

    this.key = new aws.kms.Key(
      `${name}-key`,
      {
        description: `Encrypts the cross-account shared bucket (${args.alias})`,
        keyUsage: "ENCRYPT_DECRYPT",
        // The provider's only name for the spec (no keySpec in @pulumi/aws 7.48); it sends it to KMS as
        // CreateKey's KeySpec, not the deprecated CustomerMasterKeySpec (terraform-provider-aws, kms/key.go).
        customerMasterKeySpec: "SYMMETRIC_DEFAULT",
        multiRegion: false,
        enableKeyRotation: true,
        rotationPeriodInDays: rotationDays,
        deletionWindowInDays: deletionWindowDays,
        policy: args.policy,
        tags: tags(`${name}-key`),
      },
      { parent: this },
    );
    this.alias = new aws.kms.Alias(
      `${name}-alias`,
      { name: args.alias, targetKeyId: this.key.keyId },
      { parent: this },
    );
    this.arn = this.key.arn;
    this.registerOutputs({ arn: this.arn, alias: this.alias.name });
  }
}
