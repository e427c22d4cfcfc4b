import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { MARKER_PREFIX, renderBootScript, shellQuote, TEMPLATE } from "../target-account/boot-script";

/**
 * A fake `aws` first on PATH. It records each call, fails with AccessDenied for the first
 * FAKE_DENIALS calls (or always when "always"), then writes FAKE_CONTENT to the destination.
 */
const FAKE_AWS = `#!/bin/bash
printf '%s\\n' "$*" >>"$FAKE_DIR/calls"
n=$(wc -l <"$FAKE_DIR/calls")
if [ "$FAKE_DENIALS" = always ] || [ "$n" -le "$FAKE_DENIALS" ]; then
  echo "An error occurred (AccessDenied) when calling the GetObject operation: Access Denied" >&2
  exit 1
fi
[ "$1 $2" = "s3 cp" ] || { echo "unexpected command: $*" >&2; exit 2; }
printf '%s' "$FAKE_CONTENT" >"$4"
`;

interface BootRun {
  status: number | null;
  markers: string[];
  calls: string[];
  stderr: string;
  elapsedMs: number;
  dest: string;
}

const OBJECT_KEY = "reports/it's a file.txt";
const CONTENT = "object body from account A\n";

function runBoot(denials: number | "always", timeoutSeconds: number): BootRun {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "boot-"));
  try {
    fs.mkdirSync(path.join(dir, "bin"));
    fs.writeFileSync(path.join(dir, "bin", "aws"), FAKE_AWS, { mode: 0o755 });
    const dest = path.join(dir, "out", "it's a file.txt");
    const markerOut = path.join(dir, "console");
    const script = renderBootScript({
      bucket: "shared-bucket",
      objectKey: OBJECT_KEY,
      region: "eu-west-1",
      dest,
      timeoutSeconds,
      baseDelayMs: 50,
      maxDelayMs: 200,
      markerOut,
    });
    const started = Date.now();
    const r = spawnSync("bash", ["-c", script], {
      env: { PATH: `${path.join(dir, "bin")}:${process.env.PATH ?? ""}`, FAKE_DIR: dir, FAKE_DENIALS: String(denials), FAKE_CONTENT: CONTENT },
      encoding: "utf8",
      timeout: 30_000,
    });
    const read = (f: string): string[] => (fs.existsSync(f) ? fs.readFileSync(f, "utf8").split("\n").filter(Boolean) : []);
    return {
      status: r.status,
      markers: read(markerOut),
      calls: read(path.join(dir, "calls")),
      stderr: r.stderr,
      elapsedMs: Date.now() - started,
      dest: fs.existsSync(dest) ? fs.readFileSync(dest, "utf8") : "",
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const sha256 = (s: string): string => createHash("sha256").update(s).digest("hex");

describe("boot script (run by bash with a fake aws CLI)", () => {
  it("copies on the first try and writes one OK marker with the file's sha256", () => {
    const r = runBoot(0, 30);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.markers, [`${MARKER_PREFIX} OK ${OBJECT_KEY} sha256=${sha256(CONTENT)}`]);
    assert.equal(r.dest, CONTENT);
    assert.equal(r.calls.length, 1);
    assert.ok(r.calls[0].startsWith(`s3 cp s3://shared-bucket/${OBJECT_KEY} `), r.calls[0]);
    assert.ok(r.calls[0].endsWith(" --region eu-west-1 --only-show-errors"), r.calls[0]);
  });

  it("retries through AccessDenied twice, logging each attempt, then succeeds", () => {
    const r = runBoot(2, 30);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.calls.length, 3);
    assert.deepEqual(r.markers, [`${MARKER_PREFIX} OK ${OBJECT_KEY} sha256=${sha256(CONTENT)}`]);
    assert.match(r.stderr, /attempt 1 failed: .*AccessDenied.*retrying in 50ms/);
    assert.match(r.stderr, /attempt 2 failed: .*AccessDenied.*retrying in 100ms/);
    assert.match(r.stderr, /attempt 3 succeeded/);
  });

  describe("on permanent AccessDenied", () => {
    let r: BootRun;
    before(() => (r = runBoot("always", 0.6)));

    it("gives up within its bound, with one FAILED marker and a non-zero exit", () => {
      assert.notEqual(r.status, 0);
      assert.equal(r.markers.length, 1, r.markers.join("\n"));
      assert.match(r.markers[0], new RegExp(`^${MARKER_PREFIX} FAILED after \\d+ attempts in 600ms: .*AccessDenied`));
      assert.ok(r.calls.length >= 4, `backoff 50, 100, 200, … gives several attempts in 600 ms, got ${r.calls.length}`);
      assert.ok(r.elapsedMs < 600 + 2000, `stopped near its 600 ms bound, took ${r.elapsedMs} ms`);
      assert.ok(r.elapsedMs >= 600, `used its whole bound, took ${r.elapsedMs} ms`);
      assert.equal(r.dest, "", "no partial file is left at the destination");
    });

    it("doubles the backoff from 50 ms and caps it at 200 ms", () => {
      const delays = [...r.stderr.matchAll(/retrying in (\d+)ms/g)].map((m) => Number(m[1]));
      // Each delay is also cut to the time left, so under load the last ones may be shorter.
      assert.deepEqual(delays.slice(0, 3), [50, 100, 200]);
      assert.ok(
        delays.slice(3).every((d) => d > 0 && d <= 200),
        `capped at 200 ms: ${delays.join(", ")}`,
      );
    });
  });

  it("quotes every value, so an object key cannot inject shell code", () => {
    assert.equal(shellQuote("a'b; rm -rf /"), `'a'\\''b; rm -rf /'`);
    const script = renderBootScript({ bucket: "b", objectKey: "$(touch /tmp/pwned)", region: "r", dest: "/d/f", timeoutSeconds: 30 });
    assert.ok(script.includes(`OBJECT_KEY='$(touch /tmp/pwned)'`));
    assert.ok(!/@[A-Z_]+@/.test(script), "no placeholder left");
  });

  it("passes shellcheck", function () {
    const probe = spawnSync("shellcheck", ["--version"], { encoding: "utf8" });
    if (probe.error || probe.status !== 0) {
      console.log("      skipped: shellcheck is not installed (.ci/run installs it with apt-get)");
      this.skip();
    }
    const r = spawnSync("shellcheck", ["--severity=style", TEMPLATE], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
});
