/**
 * The program's entry point (package.json "main"), above both sides: it only dispatches on
 * `cross-account-s3-kms:side`: `source` (account A) or `target` (account B); each side checks its own config.
 */
import * as pulumi from "@pulumi/pulumi";
import { runSource } from "../source-account";
import { runTarget } from "../target-account";
import { readSide } from "./program/config/parse";

export = async (): Promise<Record<string, unknown>> => {
  const raw = pulumi.runtime.allConfig();
  switch (readSide(raw)) {
    case "source":
      return runSource(raw);
    case "target":
      return { ...(await runTarget(raw)) };
  }
};
