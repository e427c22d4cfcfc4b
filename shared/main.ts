/**
 * The program's entry point (package.json "main"). It validates the config, then runs one side:
 * `cross-account-s3-kms:side` is `source` (account A) or `target` (account B).
 */
import * as pulumi from "@pulumi/pulumi";
import { runSource } from "../source-account";
import { policySizeProblems } from "../source-account/policies";
import { runTarget } from "../target-account";
import { ConfigError, parseSourceConfig, parseTargetConfig, readSide } from "./config";

export = async (): Promise<Record<string, unknown>> => {
  const raw = pulumi.runtime.allConfig();
  const side = readSide(raw);
  switch (side) {
    case "source": {
      const cfg = parseSourceConfig(raw);
      const tooBig = policySizeProblems(cfg);
      if (tooBig.length > 0) throw new ConfigError("source", tooBig);
      return runSource(cfg);
    }
    case "target":
      return { ...(await runTarget(parseTargetConfig(raw))) };
  }
};
