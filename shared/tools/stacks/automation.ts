/** The real StackOps: the Automation API's LocalWorkspace over this folder. Loaded only when a tool has passed its checks. */
import { LocalWorkspace, Stack, StackNotFoundError } from "@pulumi/pulumi/automation";
import { PROJECT_ROOT } from "../../program/project";
import type { Backend } from "./backend";
import type { Action, StackOps } from "./ops";

/** Streams the engine's output to onOutput. */
export function automationOps(b: Backend, onOutput: (s: string) => void): StackOps {
  const opts = { envVars: { PULUMI_BACKEND_URL: b.url } };
  // Only `up` may create a stack; destroy and its preview select one, so a missing stack is an error, not a new empty stack.
  const open = (name: string, action: Action): Promise<Stack> =>
    action === "up"
      ? LocalWorkspace.createOrSelectStack({ stackName: name, workDir: PROJECT_ROOT }, opts)
      : LocalWorkspace.selectStack({ stackName: name, workDir: PROJECT_ROOT }, opts);
  return {
    async config(name, action) {
      const all = await (await open(name, action)).getAllConfig();
      return Object.fromEntries(Object.entries(all).map(([k, v]) => [k, v.value]));
    },
    async outputs(name) {
      try {
        const s = await LocalWorkspace.selectStack({ stackName: name, workDir: PROJECT_ROOT }, opts);
        return Object.fromEntries(Object.entries(await s.outputs()).map(([k, v]) => [k, v.value]));
      } catch (e) {
        if (e instanceof StackNotFoundError) return undefined;
        throw e;
      }
    },
    async preview(name, action) {
      const s = await open(name, action);
      if (action === "up") return (await s.preview({ onOutput })).changeSummary;
      return (await s.previewDestroy({ onOutput })).changeSummary;
    },
    async run(name, action) {
      const s = await open(name, action);
      const r = action === "up" ? await s.up({ onOutput }) : await s.destroy({ onOutput });
      return r.summary.resourceChanges ?? {};
    },
    async remove(name) {
      await (await open(name, "destroy")).workspace.removeStack(name);
    },
  };
}
