import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { RawConfig } from "../shared/program/project";
import { TargetOutputs } from "../shared/program/target-outputs";
import { accessGrantedTo } from "../shared/program/contract";
import { roleArn } from "../shared/program/iam/arn";
import { readerIdentityPolicy, s3EndpointPolicy } from "../shared/program/iam/grants";
import { renderPolicy } from "../shared/program/iam/document";
import { renderBootScript } from "./boot-script";
import { checkTarget } from "./checks";
import { CopyInstance } from "./copy-instance";
import { MARKER_PREFIX } from "./marker";
import { ReaderNetwork } from "./network";
import { ReaderRole } from "./reader-role";

export type TargetStackOutputs = { [K in keyof TargetOutputs]: pulumi.Input<TargetOutputs[K]> };

/** Account B: the reader role, the network and the instance that copies the object at boot. */
export async function runTarget(raw: RawConfig): Promise<TargetStackOutputs> {
  const { cfg, src, availabilityZone } = await checkTarget(raw);
  const objectKey = cfg.objectKey ?? src.objectKeys[0];
  const destinationPath = `${cfg.destinationDir}/${path.posix.basename(objectKey)}`;
  const role = { accountId: cfg.accountId, roleName: cfg.roleName };
  // checkTarget refused a role the source does not grant; its policies are never broader than that grant.
  const self = { ...role, ...accessGrantedTo(src, roleArn(role), cfg.roleName) };

  const reader = new ReaderRole("reader", {
    roleName: cfg.roleName,
    policy: renderPolicy(readerIdentityPolicy(src, self)),
    permissionsBoundaryArn: cfg.permissionsBoundaryArn,
    enableSsm: cfg.enableSsm,
  });

  const network = new ReaderNetwork("network", {
    region: cfg.region,
    availabilityZone,
    s3EndpointPolicy: renderPolicy(s3EndpointPolicy(src, self)),
    useDefaultVpc: cfg.useDefaultVpc,
    enableSsm: cfg.enableSsm,
  });

  const copier = new CopyInstance("copier", {
    instanceType: cfg.instanceType,
    architecture: cfg.architecture,
    amiId: cfg.amiId,
    subnetId: network.subnetId,
    securityGroupId: network.securityGroupId,
    instanceProfile: reader.instanceProfile.name,
    associatePublicIp: network.needsPublicIp,
    userData: renderBootScript({
      bucket: src.bucketName,
      region: src.region,
      read: { objectKey, dest: destinationPath },
      timeoutSeconds: cfg.copyTimeoutSeconds,
    }),
    dependsOn: [...reader.ready, ...network.ready],
  });

  return {
    instanceId: copier.instance.id,
    roleArn: reader.role.arn,
    sourceBucket: src.bucketName,
    objectKey,
    destinationPath,
    markerPrefix: MARKER_PREFIX,
  };
}
