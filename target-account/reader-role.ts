import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ec2TrustPolicy } from "../shared/program/iam/grants";
import { renderPolicy } from "../shared/program/iam/document";
import { tags } from "../shared/program/tags";

/** AWS's managed policy for the SSM agent (Session Manager). */
export const SSM_CORE_POLICY_ARN = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore";

export interface ReaderRoleArgs {
  /** The role's name; the source grants exactly `arn:aws:iam::<account>:role/<roleName>`. Required. */
  roleName: string;
  /** The identity policy, as JSON. Required. */
  policy: string;
  /** A permissions boundary policy ARN. Default: none. */
  permissionsBoundaryArn?: string;
  /** Attach AmazonSSMManagedInstanceCore for Session Manager. Default false. */
  enableSsm?: boolean;
}

/** The EC2 reader role, its inline read policy and its instance profile. */
export class ReaderRole extends pulumi.ComponentResource {
  readonly role: aws.iam.Role;
  readonly instanceProfile: aws.iam.InstanceProfile;
  /** Resources the instance must wait for, so it boots with its permissions in place. */
  readonly ready: pulumi.Resource[];

  constructor(name: string, args: ReaderRoleArgs, opts?: pulumi.ComponentResourceOptions) {
    super("cross-account-s3-kms:target:ReaderRole", name, {}, opts);
    const parent = { parent: this };

    this.role = new aws.iam.Role(
      `${name}-role`,
      {
        name: args.roleName,
        description: "Reads the cross-account bucket from EC2",
        assumeRolePolicy: renderPolicy(ec2TrustPolicy()),
        permissionsBoundary: args.permissionsBoundaryArn,
        tags: tags(args.roleName),
      },
      parent,
    );
    const read = new aws.iam.RolePolicy(
      `${name}-read`,
      { role: this.role.id, name: "cross-account-read", policy: args.policy },
      parent,
    );
    this.ready = [read];
    if (args.enableSsm ?? false) {
      this.ready.push(
        new aws.iam.RolePolicyAttachment(
          `${name}-ssm`,
          { role: this.role.name, policyArn: SSM_CORE_POLICY_ARN },
          parent,
        ),
      );
    }
    this.instanceProfile = new aws.iam.InstanceProfile(
      `${name}-profile`,
      { name: args.roleName, role: this.role.name, tags: tags(args.roleName) },
      parent,
    );
    this.registerOutputs({ roleArn: this.role.arn, instanceProfile: this.instanceProfile.name });
  }
}
