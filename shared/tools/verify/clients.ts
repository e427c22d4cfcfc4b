/** The AWS SDK clients verify uses, with each stack's credentials and region. */
import { EC2Client } from "@aws-sdk/client-ec2";
import { IAMClient } from "@aws-sdk/client-iam";
import { KMSClient } from "@aws-sdk/client-kms";
import { S3Client } from "@aws-sdk/client-s3";
import { STSClient } from "@aws-sdk/client-sts";
import { clientConfig } from "../stacks/credentials";
import type { StackInfo } from "../stacks/files";
import type { Side } from "../../program/project";

export interface VerifyClients {
  sourceS3: S3Client;
  sourceKms: KMSClient;
  targetS3: S3Client;
  targetEc2: EC2Client;
  targetSts: STSClient;
  /** Reads the reader role, its policies and the instance's profile, for the diagnosis. */
  targetIam: IAMClient;
}

/** Each client is named after the side whose credentials it carries: source… is account A's, target… account B's. */
export const sideOfClient = (k: keyof VerifyClients): Side => (k.startsWith("source") ? "source" : "target");

export function clientsFor(source: StackInfo, target: StackInfo): VerifyClients {
  const s = clientConfig(source);
  const t = clientConfig(target);
  return {
    sourceS3: new S3Client(s),
    sourceKms: new KMSClient(s),
    targetS3: new S3Client({ ...t, region: source.region }),
    targetEc2: new EC2Client(t),
    targetSts: new STSClient(t),
    targetIam: new IAMClient(t),
  };
}
