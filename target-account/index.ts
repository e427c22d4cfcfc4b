import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { RawConfig } from "../shared/program/project";
import { TargetOutputs } from "../shared/program/target-outputs";
import { accessGrantedTo } from "../shared/program/contract";
import { levelReads, levelWrites, WHOLE_BUCKET_READ } from "../shared/program/iam/access-levels";
import { roleArn } from "../shared/program/iam/arn";
import { readerIdentityPolicy, s3EndpointPolicy } from "../shared/program/iam/grants";
import { renderPolicy } from "../shared/program/iam/document";
import { BootScriptValues, renderBootScript } from "./boot-script";
import { checkTarget } from "./checks";
import { CopyInstance } from "./copy-instance";
import { bootJobs } from "./jobs";
import { MARKER_PREFIX } from "./marker";
import { ReaderNetwork } from "./network";
import { ReaderRole } from "./reader-role";

export type TargetStackOutputs = { [K in keyof TargetOutputs]: pulumi.Input<TargetOutputs[K]> };

/** Account B: the consumer role, the network and the instance that proves the role's access at boot. */
export async function runTarget(raw: RawConfig): Promise<TargetStackOutputs> {
  const { cfg, src, availabilityZone, architecture } = await checkTarget(raw);
  const role = { accountId: cfg.accountId, roleName: cfg.roleName };
  // checkTarget refused a role the source does not grant; its policies are never broader than that grant.
  const grant = accessGrantedTo(src, roleArn(role), cfg.roleName) ?? WHOLE_BUCKET_READ;
  const self = { ...role, ...grant };
  const { read, receiptPrefix } = bootJobs(grant, src.objectKeys, cfg.objectKey);
  const copy: BootScriptValues["read"] =
    read.objectKey === null
      ? { skipReason: read.skipReason }
      : { objectKey: read.objectKey, dest: `${cfg.destinationDir}/${path.posix.basename(read.objectKey)}` };
  const objectKey = "objectKey" in copy ? copy.objectKey : null;
  const destinationPath = "dest" in copy ? copy.dest : null;

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
    architecture,
    amiId: cfg.amiId,
    subnetId: network.subnetId,
    securityGroupId: network.securityGroupId,
    instanceProfile: reader.instanceProfile.name,
    associatePublicIp: network.needsPublicIp,
    userData: renderBootScript({
      bucket: src.bucketName,
      region: src.region,
      read: copy,
      write: receiptPrefix === null ? undefined : { receiptPrefix, keyArn: src.keyArn },
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
    access: grant.access,
    reads: levelReads(grant.access),
    writes: levelWrites(grant.access),
    receiptPrefix,
  };
}
