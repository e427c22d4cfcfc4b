/**
 * The instance's way to S3, for `npm run verify`'s diagnosis. In the private VPC its only way is
 * the S3 gateway endpoint: the subnet's route table (its explicit association, else the VPC's main
 * table) must be among the endpoint's RouteTableIds, and the endpoint `available`. When it is not,
 * the boot script's copy ends in a connect timeout, not a denial.
 */
import { DescribeRouteTablesCommand, EC2Client, RouteTable, VpcEndpoint } from "@aws-sdk/client-ec2";

export interface Network {
  vpcId: string;
  subnetId: string;
  /** The subnet's route table; undefined when EC2 answered none. */
  routeTableId?: string;
  /** True when that is the VPC's main table: the subnet has no table of its own. */
  main: boolean;
  /** True when the table sends 0.0.0.0/0 to an internet or NAT gateway (the default VPC's way to S3). */
  internetRoute: boolean;
  /** The VPC's S3 gateway endpoint; null when it has none. */
  gateway: { id: string; state: string; routeTableIds: string[] } | null;
}

const internet = (t: RouteTable | undefined): boolean =>
  (t?.Routes ?? []).some(
    (r) =>
      r.DestinationCidrBlock === "0.0.0.0/0" &&
      r.State !== "blackhole" &&
      (r.GatewayId?.startsWith("igw-") === true || r.NatGatewayId !== undefined),
  );

/** The subnet's route table (ec2:DescribeRouteTables), and the gateway endpoint DescribeVpcEndpoints found. */
export async function readNetwork(
  ec2: EC2Client,
  vpcId: string,
  subnetId: string,
  gateway: VpcEndpoint | undefined,
): Promise<Network> {
  const explicit = await ec2.send(
    new DescribeRouteTablesCommand({ Filters: [{ Name: "association.subnet-id", Values: [subnetId] }] }),
  );
  let table = explicit?.RouteTables?.[0];
  const main = table === undefined;
  if (main) {
    const m = await ec2.send(
      new DescribeRouteTablesCommand({
        Filters: [
          { Name: "vpc-id", Values: [vpcId] },
          { Name: "association.main", Values: ["true"] },
        ],
      }),
    );
    table = m?.RouteTables?.[0];
  }
  return {
    vpcId,
    subnetId,
    routeTableId: table?.RouteTableId,
    main,
    internetRoute: internet(table),
    gateway: gateway
      ? {
          id: gateway.VpcEndpointId ?? "",
          state: String(gateway.State ?? ""),
          routeTableIds: gateway.RouteTableIds ?? [],
        }
      : null,
  };
}

const DEPLOY_TARGET = "run pulumi refresh --stack target, then npm run deploy -- --stack target";

/** What keeps the instance from reaching S3, each with its fix; empty when the route holds. */
export function networkProblems(n: Network): { problem: string; fix: string }[] {
  const g = n.gateway;
  const table = n.routeTableId
    ? `the route table ${n.routeTableId} of subnet ${n.subnetId} (${n.main ? "the VPC's main table: the subnet has no table of its own" : "its explicit association"})`
    : `subnet ${n.subnetId}'s route table`;
  if (!g)
    return n.internetRoute
      ? []
      : [
          {
            problem: `${n.vpcId} has no S3 gateway endpoint, and ${table} no route to an internet or NAT gateway: the instance has no way to S3`,
            fix: `the target stack creates the endpoint in its private VPC: ${DEPLOY_TARGET}`,
          },
        ];
  // EC2 answers the state in lower case ("available"); the SDK's enum spells it "Available".
  if (g.state.toLowerCase() !== "available")
    return [
      {
        problem: `the S3 gateway endpoint ${g.id} of ${n.vpcId} is ${g.state || "in no state"}, not available`,
        fix: `if it is pending, wait and run npm run verify again; otherwise ${DEPLOY_TARGET} to create it again`,
      },
    ];
  if (n.routeTableId && !g.routeTableIds.includes(n.routeTableId) && !n.internetRoute)
    return [
      {
        problem: `${table} is not among the route tables of the S3 gateway endpoint ${g.id} (${g.routeTableIds.join(", ") || "none"}): the instance has no route to S3`,
        fix: `${DEPLOY_TARGET}, which associates the subnet's table; or at once: aws ec2 modify-vpc-endpoint --vpc-endpoint-id ${g.id} --add-route-table-ids ${n.routeTableId}`,
      },
    ];
  return [];
}
