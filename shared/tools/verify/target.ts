/** The target stack's outputs, as verify reads them: through the program's schema (shared/program/target-outputs.ts). */
import { UserError } from "../../program/errors";
import { TargetOutputs, validateTargetOutputs } from "../../program/target-outputs";

/** The outputs, or a UserError naming the ones that are missing or invalid. */
export function readTargetOutputs(o: Record<string, unknown> | undefined): TargetOutputs {
  if (!o)
    throw new UserError("The target stack has not been deployed on this backend: deploy it first (npm run deploy).");
  const v = validateTargetOutputs(o);
  if (v.ok) return v.outputs;
  const wrong = [
    ...(v.missing.length > 0 ? [`lacks the outputs ${v.missing.join(", ")}`] : []),
    ...(v.problems.length > 0 ? [`has invalid outputs (${v.problems.join("; ")})`] : []),
  ];
  throw new UserError(`The target stack ${wrong.join(" and ")}: deploy it first (npm run deploy).`);
}
