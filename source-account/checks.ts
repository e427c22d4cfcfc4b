/** The source stack's checks, run before any resource is declared: its config, then its policies' sizes. */
import { ConfigError, parseSourceConfig, RawConfig, SourceConfig } from "../shared/program/config";
import { policySizeProblems } from "./documents";

export function checkSourceConfig(raw: RawConfig): SourceConfig {
  const cfg = parseSourceConfig(raw);
  const tooBig = policySizeProblems(cfg);
  if (tooBig.length > 0) throw new ConfigError("source", tooBig);
  return cfg;
}
