import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderBootScript, shellQuote, TEMPLATE } from "../target-account/boot-script";
import { parseMarker } from "../target-account/marker";

/**
 * Fakes first on PATH, sharing a virtual clock in milliseconds ($FAKE_DIR/clock), so the test
 * decides time and nothing waits for real:
 * - `date +%s%3N` prints the clock; any other `date` prints it as a fixed ISO time;
 * - `sleep S` records S in milliseconds and advances the clock by it;
 * - `aws` records each call and advances the clock by FAKE_CALL_MS, fails with AccessDenied for
 *   the first FAKE_DENIALS calls (or always when "always"), then writes FAKE_CONTENT to the destination.
 */
const FAKES: Record<string, string> = {
  date: `#!/bin/bash
read -r ms <"$FAKE_DIR/clock"
if [ "$1" = "+%s%3N" ]; then echo "$ms"; else echo "1970-01-01T00:00:00Z+\${ms}ms"; fi
`,
  sleep: `#!/bin/bash
[[ "$1" =~ ^([0-9]+)[.]([0-9]{3})$ ]] || { echo "fake sleep: unexpected argument $1" >&2; exit 2; }
ms=$((10#\${BASH_REMATCH[1]} * 1000 + 10#\${BASH_REMATCH[2]}))
echo "$ms" >>"$FAKE_DIR/sleeps"
read -r now <"$FAKE_DIR/clock"
echo $((now + ms)) >"$FAKE_DIR/clock"
`,
  aws: `#!/bin/bash
printf '%s\n' "$*" >>"$FAKE_DIR/calls"
read -r now <"$FAKE_DIR/clock"
echo $((now + FAKE_CALL_MS)) >"$FAKE_DIR/clock"
mapfile -t calls <"$FAKE_DIR/calls"
n=\${#calls[@]}
if [ "$FAKE_DENIALS" = always ] || [ "$n" -le "$FAKE_DENIALS" ]; then
  echo "An error occurred (AccessDenied) when calling the GetObject operation: Access Denied" >&2
  exit 1
fi
[ "$1 $2" = "s3 cp" ] || { echo "unexpected command: $*" >&2; exit 2; }
printf '%s' "$FAKE_CONTENT" >"$4"
`,
};

interface BootRun {
  status: number | null;
  markers: string[];
  calls: string[];
  /** Each sleep the script asked for, in milliseconds. */
  sleeps: number[];
  stderr: string;
  /** Virtual milliseconds from start to exit. */
  elapsedMs: number;
  dest: string;
}

const OBJECT_KEY = "reports/it's a file.txt";
const CONTENT = "object body from account A\n";
/** The virtual clock starts here, so the script's deadline arithmetic is not on zero. */
const START_MS = 1_700_000_000_000;

function runBoot(denials: number | "always", timeoutSeconds: number, callMs = 0): BootRun {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "boot-"));
  try {
    fs.mkdirSync(path.join(dir, "bin"));
    for (const [name, body] of Object.entries(FAKES))
      fs.writeFileSync(path.join(dir, "bin", name), body, { mode: 0o755 });
    fs.writeFileSync(path.join(dir, "clock"), `${START_MS}\n`);
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
    const r = spawnSync("bash", ["-c", script], {
      // stdin from /dev/null: on a socket, bash (and each fake) would read ~/.bashrc as if started by sshd.
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        PATH: `${path.join(dir, "bin")}:${process.env.PATH ?? ""}`,
        FAKE_DIR: dir,
        FAKE_DENIALS: String(denials),
        FAKE_CALL_MS: String(callMs),
        FAKE_CONTENT: CONTENT,
      },
      encoding: "utf8",
      timeout: 30_000,
    });
    const read = (f: string): string[] =>
      fs.existsSync(f) ? fs.readFileSync(f, "utf8").split("\n").filter(Boolean) : [];
    return {
      status: r.status,
      markers: read(markerOut),
      calls: read(path.join(dir, "calls")),
      sleeps: read(path.join(dir, "sleeps")).map(Number),
      stderr: r.stderr,
      elapsedMs: Number(read(path.join(dir, "clock"))[0]) - START_MS,
      dest: fs.existsSync(dest) ? fs.readFileSync(dest, "utf8") : "",
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The marker lines amid other boot output, as the serial console shows them to verify. */
const consoleOf = (r: BootRun): string =>
  ["[  5.1] cloud-init[1234]: booting", ...r.markers, "[ 40.2] cloud-init[1234]: finished"].join("\r\n");

const sha256 = (s: string): string => createHash("sha256").update(s).digest("hex");

describe("boot script (run by bash with a fake aws CLI)", () => {
  it("copies on the first try and writes one OK marker with the file's sha256", () => {
    const r = runBoot(0, 30);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.markers, [`CROSS_ACCOUNT_COPY OK ${OBJECT_KEY} sha256=${sha256(CONTENT)}`]);
    assert.equal(r.dest, CONTENT);
    assert.equal(r.calls.length, 1);
    assert.ok(r.calls[0].startsWith(`s3 cp s3://shared-bucket/${OBJECT_KEY} `), r.calls[0]);
    assert.ok(r.calls[0].endsWith(" --region eu-west-1 --only-show-errors"), r.calls[0]);
  });

  it("writes an OK line that verify's parser reads back, with the copy's sha256", () => {
    const r = runBoot(0, 30);
    assert.deepEqual(parseMarker(consoleOf(r), "CROSS_ACCOUNT_COPY", OBJECT_KEY), {
      kind: "ok",
      sha256: sha256(CONTENT),
      line: r.markers[0],
    });
  });

  it("retries through AccessDenied twice, logging each attempt, then succeeds", () => {
    const r = runBoot(2, 30);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.calls.length, 3);
    assert.deepEqual(r.markers, [`CROSS_ACCOUNT_COPY OK ${OBJECT_KEY} sha256=${sha256(CONTENT)}`]);
    assert.match(r.stderr, /attempt 1 failed: .*AccessDenied.*retrying in 50ms/);
    assert.match(r.stderr, /attempt 2 failed: .*AccessDenied.*retrying in 100ms/);
    assert.match(r.stderr, /attempt 3 succeeded/);
    assert.deepEqual(r.sleeps, [50, 100]);
  });

  describe("on permanent AccessDenied, with instant calls", () => {
    let r: BootRun;
    before(() => (r = runBoot("always", 0.6)));

    // By hand: sleeps 50, 100, 200 (the cap), 200, then the 50 ms left; attempt 6 fails at 600 ms and it stops.
    it("doubles the backoff from 50 ms, caps it at 200 ms and cuts the last wait to the time left", () => {
      assert.deepEqual(r.sleeps, [50, 100, 200, 200, 50]);
      const logged = [...r.stderr.matchAll(/retrying in (\d+)ms/g)].map((m) => Number(m[1]));
      assert.deepEqual(logged, r.sleeps, "each wait is logged as it is slept");
    });

    it("gives up exactly at its bound, with one FAILED marker and a non-zero exit", () => {
      assert.notEqual(r.status, 0);
      assert.equal(r.calls.length, 6);
      assert.equal(r.elapsedMs, 600);
      assert.deepEqual(r.markers, [
        `CROSS_ACCOUNT_COPY FAILED after 6 attempts in 600ms: An error occurred (AccessDenied) when calling the GetObject operation: Access Denied`,
      ]);
      assert.match(r.stderr, /attempt 6 failed: .*AccessDenied.*; giving up after 600ms/);
      assert.equal(r.dest, "", "no partial file is left at the destination");
    });

    it("writes a FAILED line that verify's parser reads back, with the reason", () => {
      assert.deepEqual(parseMarker(consoleOf(r), "CROSS_ACCOUNT_COPY", OBJECT_KEY), {
        kind: "failed",
        reason:
          "after 6 attempts in 600ms: An error occurred (AccessDenied) when calling the GetObject operation: Access Denied",
        line: r.markers[0],
      });
    });
  });

  it("counts the time its calls take against the bound", () => {
    // By hand, 10 ms per call: fails at 10, 70, 180, 390 and 600 ms, sleeping 50, 100, 200, 200 between.
    const r = runBoot("always", 0.6, 10);
    assert.deepEqual(r.sleeps, [50, 100, 200, 200]);
    assert.equal(r.calls.length, 5);
    assert.equal(r.elapsedMs, 600);
    assert.match(r.markers[0] ?? "", /FAILED after 5 attempts in 600ms/);
  });

  it("never sleeps past its bound when a call is slower than the time left", () => {
    // 250 ms per call against a 600 ms bound: fails at 250 (sleep 50), 550 (sleep the 50 left), then 850.
    const r = runBoot("always", 0.6, 250);
    assert.deepEqual(r.sleeps, [50, 50]);
    assert.equal(r.calls.length, 3);
    assert.equal(r.elapsedMs, 850, "the last call overran, but no sleep did");
  });

  it("quotes every value, so an object key cannot inject shell code", () => {
    assert.equal(shellQuote("a'b; rm -rf /"), `'a'\\''b; rm -rf /'`);
    const script = renderBootScript({
      bucket: "b",
      objectKey: "$(touch /tmp/pwned)",
      region: "r",
      dest: "/d/f",
      timeoutSeconds: 30,
    });
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
