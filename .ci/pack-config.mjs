// The policy pack config a stack needs, for CI: a stack in the default VPC gives its instance a public IP.
// Usage: node .ci/pack-config.mjs <Pulumi.<stack>.yaml> <output.json>; prints the output's path when it wrote one.
import { readFileSync, writeFileSync } from "node:fs";
import { parse } from "yaml";

const [stackFile, out] = process.argv.slice(2);
const config = parse(readFileSync(stackFile, "utf8"))?.config ?? {};
if (String(config["cross-account-s3-kms:useDefaultVpc"]) === "true") {
  writeFileSync(out, JSON.stringify({ "ec2-imdsv2-no-public-ip-no-key-pair": { allowPublicIp: true } }));
  console.log(out);
}
