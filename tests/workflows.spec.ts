/** The CI workflows: pinned actions, stacks created on the first run, and the policy pack's config where a stack needs it. */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse, stringify } from "yaml";
import { TARGET_BASE } from "../shared/offline/fixtures";

const ROOT = path.resolve(__dirname, "..");
const DIR = path.join(ROOT, ".github", "workflows");

interface Step {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Workflow {
  jobs: Record<string, { steps?: Step[] }>;
}

const files = fs.readdirSync(DIR).filter((f) => f.endsWith(".yml"));
const text = (f: string) => fs.readFileSync(path.join(DIR, f), "utf8");
const steps = (f: string): Step[] => Object.values((parse(text(f)) as Workflow).jobs).flatMap((j) => j.steps ?? []);
const stackSteps = steps("stack.yml");

describe("CI workflows", () => {
  it("pin every external action to a commit SHA, with its version in a comment", () => {
    for (const f of files) {
      for (const line of text(f)
        .split("\n")
        .filter((l) => /^\s*-?\s*uses: [^.]/.test(l))) {
        assert.match(line, /uses: [\w.-]+\/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/, `${f}: ${line.trim()}`);
      }
    }
  });

  it("create the stacks on a fresh backend (upsert), with passphrase secrets, and run the policy pack", () => {
    const pulumi = stackSteps.find((s) => s.uses?.startsWith("pulumi/actions@"));
    assert.ok(pulumi?.with, "stack.yml runs pulumi/actions");
    assert.equal(pulumi.with.upsert, true);
    assert.equal(pulumi.with["secrets-provider"], "passphrase");
    assert.equal(pulumi.with.policyPacks, "shared/policy-pack");
    assert.equal(pulumi.with.policyPackConfigs, "${{ steps.pack.outputs.configs }}");
  });

  describe("the policy pack's config step", () => {
    const step = stackSteps.find((s) => s.id === "pack");
    let dir: string;
    before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "workflow-"))));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    /** Runs the step's script as GitHub would, on a stack file written as YAML writes it; returns its outputs. */
    const runStep = (yaml: string): string => {
      assert.ok(step?.run, "stack.yml has the step with id pack");
      fs.writeFileSync(path.join(dir, "Pulumi.target.yaml"), yaml);
      const output = path.join(dir, "output");
      fs.writeFileSync(output, "");
      const script = step.run.replace(
        /"Pulumi\.\$\{\{ inputs\.stack \}\}\.yaml"/g,
        JSON.stringify(path.join(dir, "Pulumi.target.yaml")),
      );
      const r = spawnSync("bash", ["-eo", "pipefail", "-c", script], {
        cwd: ROOT,
        env: { PATH: process.env.PATH, GITHUB_OUTPUT: output, RUNNER_TEMP: dir },
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      });
      assert.equal(r.status, 0, r.stderr);
      return fs.readFileSync(output, "utf8");
    };

    it("accepts the default VPC's public IP only where the stack file sets useDefaultVpc, however YAML spells it", () => {
      const set = (value: string) =>
        `config:\n  aws:region: us-west-2\n  cross-account-s3-kms:useDefaultVpc: ${value}\n`;
      for (const spelling of ["'true'", "true # the default VPC\r"]) {
        const out = runStep(set(spelling));
        const file = /^configs=(.+)$/m.exec(out)?.[1];
        assert.ok(file, `${JSON.stringify(spelling)}: ${out}`);
        assert.deepEqual(JSON.parse(fs.readFileSync(file, "utf8")), {
          "ec2-imdsv2-no-public-ip-no-key-pair": { allowPublicIp: true },
        });
      }
      assert.equal(runStep(stringify({ config: TARGET_BASE })), "");
      assert.equal(runStep(set("false")), "");
    });
  });
});
