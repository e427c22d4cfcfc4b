/** The options the offline tools share: which stack files to plan. */
import { stackFilePath } from "../../program/project";
import type { OptionSpec } from "../cli";

export const CONFIG_OPTIONS = {
  "source-config": {
    type: "string",
    value: "FILE",
    path: true,
    description:
      "the source stack's config, in Pulumi.<stack>.yaml format (default: Pulumi.source.yaml in the project)",
  },
  "target-config": {
    type: "string",
    value: "FILE",
    path: true,
    description: "the target stack's config (default: Pulumi.target.yaml in the project)",
  },
} as const satisfies Record<string, OptionSpec>;

/** The stack files a tool's --source-config and --target-config name, or the project's. */
export const stackFiles = (args: { "source-config"?: string; "target-config"?: string }) => ({
  source: args["source-config"] ?? stackFilePath("source"),
  target: args["target-config"] ?? stackFilePath("target"),
});
