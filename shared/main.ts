/**
 * The program's entry point (package.json "main"). It validates the config, then runs one side:
 * `cross-account-s3-kms:side` is `source` (account A) or `target` (account B).
 */
import * as pulumi from "@pulumi/pulumi";
import { runSource } from "../source-account";
import { runTarget } from "../target-account";
import { parseSourceConfig, parseTargetConfig, readSide } from "./config";

export = async (): Promise<Record<string, unknown>> => {
  const raw = pulumi.runtime.allConfig();
  const side = readSide(raw);
  switch (side) {
    case "source":
      return runSource(parseSourceConfig(raw));
    case "target":
      return { ...(await runTarget(parseTargetConfig(raw))) };
  }
};
