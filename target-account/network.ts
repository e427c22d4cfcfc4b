import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx";
import * as pulumi from "@pulumi/pulumi";
import { UserError } from "../shared/program/errors";
import { tags } from "../shared/program/tags";

/** The VPC's address range in private mode. */
export const VPC_CIDR = "10.0.0.0/16";

/** Interface endpoints the SSM agent needs for Session Manager without internet access. */
export const SSM_ENDPOINT_SERVICES = ["ssm", "ssmmessages", "ec2messages"];

export interface ReaderNetworkArgs {
  /** The region; endpoint and prefix-list names include it. Required. */
  region: string;
  /** The availability zone for the instance's subnet: one that offers its instance type. Required. */
  availabilityZone: string;
  /** The S3 gateway endpoint's policy, as JSON. Required. */
  s3EndpointPolicy: pulumi.Input<string>;
  /** Use the account's default VPC instead of a new private one. Default false. */
  useDefaultVpc?: boolean;
  /** Add what Session Manager needs: interface endpoints (private mode) or HTTPS egress (default VPC). Default false. */
  enableSsm?: boolean;
}

/** Where the instance's subnet is, and what egress that place needs beyond S3. */
interface Placement {
  vpcId: pulumi.Output<string>;
  subnetId: pulumi.Output<string>;
  egress: aws.types.input.ec2.SecurityGroupEgress[];
}

/**
 * Where the instance runs. By default a new VPC with one isolated subnet (no internet or NAT
 * gateway) whose only way out is an S3 gateway endpoint, restricted by its policy. The instance's
 * security group has no ingress, and egress only HTTPS to the regional S3 prefix list.
 */
export class ReaderNetwork extends pulumi.ComponentResource {
  readonly subnetId: pulumi.Output<string>;
  readonly securityGroupId: pulumi.Output<string>;
  /** True in the default VPC, where the instance needs a public IPv4 address to reach S3. */
  readonly needsPublicIp: boolean;
  /** What the instance must wait for: the S3 gateway endpoint, whose route is a private subnet's only way to S3. */
  readonly ready: pulumi.Resource[] = [];

  constructor(name: string, args: ReaderNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("cross-account-s3-kms:target:ReaderNetwork", name, {}, opts);
    const useDefaultVpc = args.useDefaultVpc ?? false;
    const enableSsm = args.enableSsm ?? false;
    this.needsPublicIp = useDefaultVpc;

    const s3PrefixList = aws.ec2.getManagedPrefixListOutput(
      { name: `com.amazonaws.${args.region}.s3` },
      { parent: this },
    );
    const place = useDefaultVpc
      ? this.inDefaultVpc(args.availabilityZone, enableSsm)
      : this.inPrivateVpc(name, args, enableSsm);
    this.subnetId = place.subnetId;

    const sg = new aws.ec2.SecurityGroup(
      `${name}-instance`,
      {
        vpcId: place.vpcId,
        description: "Cross-account reader: no ingress, HTTPS egress to S3 only",
        ingress: [],
        egress: [
          {
            description: "HTTPS to S3 (regional prefix list)",
            protocol: "tcp",
            fromPort: 443,
            toPort: 443,
            prefixListIds: [s3PrefixList.id],
          },
          ...place.egress,
        ],
        tags: tags(`${name}-instance`),
      },
      { parent: this },
    );
    this.securityGroupId = sg.id;

    if (enableSsm && !useDefaultVpc) this.ssmEndpoints(name, args.region, place.vpcId, sg.id);
    this.registerOutputs({ subnetId: this.subnetId, securityGroupId: this.securityGroupId });
  }

  /** The account's default VPC: its default subnet in the zone, which routes through the internet gateway. */
  private inDefaultVpc(availabilityZone: string, enableSsm: boolean): Placement {
    const vpcId = aws.ec2.getVpcOutput({ default: true }, { parent: this }).id;
    const subnets = aws.ec2.getSubnetsOutput(
      {
        filters: [
          { name: "vpc-id", values: [vpcId] },
          { name: "default-for-az", values: ["true"] },
          { name: "availability-zone", values: [availabilityZone] },
        ],
      },
      { parent: this },
    );
    const subnetId = subnets.ids.apply((ids) => {
      if (ids.length === 0)
        throw new UserError("useDefaultVpc = true: the default VPC has no default subnets; set useDefaultVpc to false");
      return [...ids].sort()[0];
    });
    const egress: aws.types.input.ec2.SecurityGroupEgress[] = enableSsm
      ? [
          {
            description: "HTTPS to the Session Manager endpoints over the internet",
            protocol: "tcp",
            fromPort: 443,
            toPort: 443,
            cidrBlocks: ["0.0.0.0/0"],
          },
        ]
      : [];
    return { vpcId, subnetId, egress };
  }

  /** A new VPC with one isolated subnet whose only way out is the S3 gateway endpoint, restricted by its policy. */
  private inPrivateVpc(name: string, args: ReaderNetworkArgs, enableSsm: boolean): Placement {
    const vpc = new awsx.ec2.Vpc(
      `${name}-vpc`,
      {
        cidrBlock: VPC_CIDR,
        availabilityZoneNames: [args.availabilityZone],
        subnetStrategy: awsx.ec2.SubnetAllocationStrategy.Auto,
        subnetSpecs: [{ type: awsx.ec2.SubnetType.Isolated, cidrMask: 24 }],
        natGateways: { strategy: awsx.ec2.NatGatewayStrategy.None },
        enableDnsHostnames: true,
        enableDnsSupport: true,
        tags: tags(`${name}-vpc`),
      },
      { parent: this },
    );
    const vpcId = vpc.vpcId;
    const routeTables = aws.ec2.getRouteTablesOutput(
      { vpcId, filters: [{ name: "association.subnet-id", values: vpc.isolatedSubnetIds }] },
      { parent: this },
    );
    const s3 = new aws.ec2.VpcEndpoint(
      `${name}-s3`,
      {
        vpcId,
        serviceName: `com.amazonaws.${args.region}.s3`,
        vpcEndpointType: "Gateway",
        routeTableIds: routeTables.ids,
        policy: args.s3EndpointPolicy,
        tags: tags(`${name}-s3`),
      },
      { parent: this },
    );
    this.ready.push(s3);
    const egress: aws.types.input.ec2.SecurityGroupEgress[] = enableSsm
      ? [
          {
            description: "HTTPS to the Session Manager interface endpoints",
            protocol: "tcp",
            fromPort: 443,
            toPort: 443,
            cidrBlocks: [VPC_CIDR],
          },
        ]
      : [];
    return { vpcId, subnetId: vpc.isolatedSubnetIds.apply((ids) => ids[0]), egress };
  }

  /** Session Manager without internet access: the interface endpoints, reachable from the instance only. */
  private ssmEndpoints(
    name: string,
    region: string,
    vpcId: pulumi.Output<string>,
    instanceSg: pulumi.Output<string>,
  ): void {
    const endpointSg = new aws.ec2.SecurityGroup(
      `${name}-ssm-endpoints`,
      {
        vpcId,
        description: "Session Manager endpoints: HTTPS from the reader instance only",
        ingress: [
          {
            description: "HTTPS from the reader instance",
            protocol: "tcp",
            fromPort: 443,
            toPort: 443,
            securityGroups: [instanceSg],
          },
        ],
        egress: [],
        tags: tags(`${name}-ssm-endpoints`),
      },
      { parent: this },
    );
    for (const service of SSM_ENDPOINT_SERVICES) {
      new aws.ec2.VpcEndpoint(
        `${name}-${service}`,
        {
          vpcId,
          serviceName: `com.amazonaws.${region}.${service}`,
          vpcEndpointType: "Interface",
          privateDnsEnabled: true,
          subnetIds: [this.subnetId],
          securityGroupIds: [endpointSg.id],
          tags: tags(`${name}-${service}`),
        },
        { parent: this },
      );
    }
  }
}
