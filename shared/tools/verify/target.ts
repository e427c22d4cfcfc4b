/** The target stack's outputs, as verify reads them. */
import { UserError } from "../../program/errors";

export interface TargetReport {
  instanceId: string;
  roleArn: string;
  objectKey: string;
  markerPrefix: string;
}

export function parseTargetOutputs(o: Record<string, unknown> | undefined): TargetReport {
  const s = (k: string) => (typeof o?.[k] === "string" ? String(o[k]) : undefined);
  const r = {
    instanceId: s("instanceId"),
    roleArn: s("roleArn"),
    objectKey: s("objectKey"),
    markerPrefix: s("markerPrefix"),
  };
  const missing = Object.entries(r)
    .filter(([, v]) => v === undefined)
    .map(([k]) => k);
  if (!o)
    throw new UserError("The target stack has not been deployed on this backend: deploy it first (npm run deploy).");
  if (missing.length > 0)
    throw new UserError(`The target stack lacks the outputs ${missing.join(", ")}: deploy it first (npm run deploy).`);
  return r as TargetReport;
}
