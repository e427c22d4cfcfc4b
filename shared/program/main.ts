/**
 * The program's entry point (package.json "main"). It only dispatches on
 * `cross-account-s3-kms:side`: `source` (account A) or `target` (account B); each side checks its own config.
 */
import * as pulumi from "@pulumi/pulumi";
import { runSource } from "../../source-account";
import { checkSourceConfig } from "../../source-account/checks";
import { runTarget } from "../../target-account";
import { parseTargetConfig, readSide } from "./config";

export = async (): Promise<Record<string, unknown>> => {
  const raw = pulumi.runtime.allConfig();
  switch (readSide(raw)) {
    case "source":
      return runSource(checkSourceConfig(raw));
    case "target":
      return { ...(await runTarget(parseTargetConfig(raw))) };
  }
};
