/** What the verify specs share: the object's body and hash, S3's denial, the SDK clients mocked, and a clock verify drives. */
import { createHash } from "crypto";
import { Readable } from "stream";
import { EC2Client } from "@aws-sdk/client-ec2";
import { IAMClient } from "@aws-sdk/client-iam";
import { KMSClient } from "@aws-sdk/client-kms";
import { S3Client, S3ServiceException } from "@aws-sdk/client-s3";
import { STSClient } from "@aws-sdk/client-sts";
import { sdkStreamMixin } from "@smithy/util-stream";
import { mockClient } from "aws-sdk-client-mock";
import type { VerifyClients } from "../shared/tools/verify/checks";

export const BODY = "object body from account A\n";
export const SHA = createHash("sha256").update(BODY).digest("hex");

/** S3's answer to a principal no policy lets read. */
export const accessDenied = () =>
  new S3ServiceException({
    name: "AccessDenied",
    $fault: "client",
    $metadata: { httpStatusCode: 403 },
    message: "Access Denied",
  });

export const s3Body = (s: string) => sdkStreamMixin(Readable.from([Buffer.from(s)]));

/** An instance's console output, base64 as EC2 returns it: a boot line, then these. */
export const consoleOutput = (...lines: string[]) =>
  Buffer.from(["[  5.1] cloud-init[1234]: booting", ...lines, ""].join("\n")).toString("base64");

/** verify's clients, each with its mock; the source's in us-west-2, the target's in its region. */
export function mockedClients(targetRegion = "us-west-2") {
  const clients: VerifyClients = {
    sourceS3: new S3Client({ region: "us-west-2" }),
    sourceKms: new KMSClient({ region: "us-west-2" }),
    targetS3: new S3Client({ region: "us-west-2" }),
    targetEc2: new EC2Client({ region: targetRegion }),
    targetSts: new STSClient({ region: targetRegion }),
    targetIam: new IAMClient({ region: targetRegion }),
  };
  const m = {
    sourceS3: mockClient(clients.sourceS3),
    sourceKms: mockClient(clients.sourceKms),
    targetS3: mockClient(clients.targetS3),
    targetEc2: mockClient(clients.targetEc2),
    targetSts: mockClient(clients.targetSts),
    targetIam: mockClient(clients.targetIam),
  };
  return { clients, m };
}

/** A clock that only moves when verify sleeps: no wall-clock wait. */
export function clock(waitSeconds = 60) {
  let t = 0;
  const sleeps: number[] = [];
  const logs: string[] = [];
  const opts = {
    waitSeconds,
    pollSeconds: 15,
    now: () => t,
    sleep: (ms: number) => ((t += ms), sleeps.push(ms), Promise.resolve()),
    log: (l: string) => logs.push(l),
  };
  return { opts, sleeps, logs };
}
