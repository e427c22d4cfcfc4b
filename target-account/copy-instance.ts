import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { Architecture } from "../shared/program/config";
import { tags } from "../shared/program/tags";

/** The public SSM parameter holding the latest Amazon Linux 2023 AMI for an architecture. */
export const al2023Parameter = (arch: Architecture): string =>
  `/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-${arch}`;

export interface CopyInstanceArgs {
  /** The instance type. Required. */
  instanceType: string;
  /** Its CPU architecture, which picks the AMI. Required. */
  architecture: Architecture;
  /** A fixed AMI. Default: the latest Amazon Linux 2023, read at the first deploy and then kept. */
  amiId?: string;
  /** The subnet. Required. */
  subnetId: pulumi.Input<string>;
  /** The security group. Required. */
  securityGroupId: pulumi.Input<string>;
  /** The instance profile's name. Required. */
  instanceProfile: pulumi.Input<string>;
  /** The rendered boot script. Required. A change replaces the instance. */
  userData: string;
  /** Give the instance a public IPv4 address (only the default VPC needs one). Default false. */
  associatePublicIp?: boolean;
  /** Resources to wait for before launch (the role's policies). Default none. */
  dependsOn?: pulumi.Resource[];
}

/** The EC2 instance that copies the object at boot: IMDSv2 only, no key pair, encrypted root volume. */
export class CopyInstance extends pulumi.ComponentResource {
  readonly instance: aws.ec2.Instance;

  constructor(name: string, args: CopyInstanceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("cross-account-s3-kms:target:CopyInstance", name, {}, opts);
    const ami =
      args.amiId ?? aws.ssm.getParameterOutput({ name: al2023Parameter(args.architecture) }, { parent: this }).value;

    this.instance = new aws.ec2.Instance(
      `${name}-instance`,
      {
        ami,
        instanceType: args.instanceType,
        subnetId: args.subnetId,
        vpcSecurityGroupIds: [args.securityGroupId],
        iamInstanceProfile: args.instanceProfile,
        associatePublicIpAddress: args.associatePublicIp ?? false,
        metadataOptions: {
          httpEndpoint: "enabled",
          httpTokens: "required",
          httpPutResponseHopLimit: 1,
          instanceMetadataTags: "disabled",
        },
        rootBlockDevice: { encrypted: true, volumeType: "gp3", deleteOnTermination: true },
        // Burstable types default to unlimited credits, which can bill beyond the hourly price.
        creditSpecification: /^t\d/.test(args.instanceType) ? { cpuCredits: "standard" } : undefined,
        userData: args.userData,
        userDataReplaceOnChange: true,
        tags: tags(`${name}-instance`),
      },
      {
        parent: this,
        dependsOn: args.dependsOn,
        // A new AMI release changes the parameter's value; it must not replace a running instance.
        ignoreChanges: args.amiId === undefined ? ["ami"] : [],
      },
    );
    this.registerOutputs({ instanceId: this.instance.id });
  }
}
