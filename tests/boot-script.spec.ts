import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderBootScript, shellQuote, TEMPLATE } from "../target-account/boot-script";
import { parseMarker, parseWriteMarker } from "../target-account/marker";

/**
 * Fakes first on PATH, sharing a virtual clock in milliseconds ($FAKE_DIR/clock), so the test
 * decides time and nothing waits for real:
 * - `date +%s%3N` prints the clock, `date +%s` its seconds; any other `date` prints it as a fixed ISO time;
 * - `sleep S` records S in milliseconds and advances the clock by it;
 * - `aws` records each call and advances the clock by FAKE_CALL_MS. A download (`s3 cp s3://… <file>`)
 *   fails with AccessDenied for the first FAKE_DENIALS downloads (or always when "always"), then
 *   writes FAKE_CONTENT to the file; an upload (`s3 cp <file> s3://…`) likewise with
 *   FAKE_PUT_DENIALS, then keeps the file's body in $FAKE_DIR/uploaded.
 */
const FAKES: Record<string, string> = {
  date: `#!/bin/bash
read -r ms <"$FAKE_DIR/clock"
case "$1" in
  +%s%3N) echo "$ms" ;;
  +%s) echo $((ms / 1000)) ;;
  *) echo "1970-01-01T00:00:00Z+\${ms}ms" ;;
esac
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
printf '%s\n' "\${AWS_MAX_ATTEMPTS-unset}" >>"$FAKE_DIR/max_attempts"
read -r now <"$FAKE_DIR/clock"
echo $((now + FAKE_CALL_MS)) >"$FAKE_DIR/clock"
[ "$1 $2" = "s3 cp" ] || { echo "unexpected command: $*" >&2; exit 2; }
if [[ "$3" == s3://* ]]; then op=GetObject denials=$FAKE_DENIALS; else op=PutObject denials=$FAKE_PUT_DENIALS; fi
echo "$op" >>"$FAKE_DIR/ops"
n=$(grep -cx "$op" "$FAKE_DIR/ops")
if [ "$denials" = always ] || [ "$n" -le "$denials" ]; then
  echo "An error occurred (AccessDenied) when calling the $op operation: Access Denied" >&2
  exit 1
fi
if [ "$op" = GetObject ]; then printf '%s' "$FAKE_CONTENT" >"$4"; else cp "$3" "$FAKE_DIR/uploaded"; fi
`,
};

interface BootRun {
  status: number | null;
  markers: string[];
  calls: string[];
  /** AWS_MAX_ATTEMPTS as each call saw it. */
  maxAttempts: string[];
  /** Each sleep the script asked for, in milliseconds. */
  sleeps: number[];
  stderr: string;
  /** Virtual milliseconds from start to exit. */
  elapsedMs: number;
  dest: string;
  /** The body of the receipt the fake S3 received, "" when none. */
  uploaded: string;
}

const OBJECT_KEY = "reports/it's a file.txt";
const CONTENT = "object body from account A\n";
/** The virtual clock starts here, so the script's deadline arithmetic is not on zero. */
const START_MS = 1_700_000_000_000;
const KEY_ARN = "arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const INSTANCE_ID = "i-0123456789abcdef0";

interface BootOptions {
  /** Download denials before success. Default 0. */
  denials?: number | "always";
  /** Upload denials before success. Default 0. */
  putDenials?: number | "always";
  /** Total retry bound, per job. Default 30. */
  timeoutSeconds?: number;
  /** Virtual time each aws call takes. Default 0. */
  callMs?: number;
  /** Why there is no read; default: the script reads OBJECT_KEY. */
  skipReason?: string;
  /** The receipt's prefix; default: no write. */
  receiptPrefix?: string;
  /** What cloud-init's instance-id file holds; undefined: no such file. Default INSTANCE_ID. */
  instanceId?: string;
}

function runBoot(o: BootOptions = {}): BootRun {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "boot-"));
  try {
    fs.mkdirSync(path.join(dir, "bin"));
    for (const [name, body] of Object.entries(FAKES))
      fs.writeFileSync(path.join(dir, "bin", name), body, { mode: 0o755 });
    fs.writeFileSync(path.join(dir, "clock"), `${START_MS}\n`);
    const dest = path.join(dir, "out", "it's a file.txt");
    const markerOut = path.join(dir, "console");
    const instanceIdFile = path.join(dir, "instance-id");
    const id = "instanceId" in o ? o.instanceId : INSTANCE_ID;
    if (id !== undefined) fs.writeFileSync(instanceIdFile, `${id}\n`);
    const script = renderBootScript({
      bucket: "shared-bucket",
      region: "eu-west-1",
      read: o.skipReason === undefined ? { objectKey: OBJECT_KEY, dest } : { skipReason: o.skipReason },
      write: o.receiptPrefix === undefined ? undefined : { receiptPrefix: o.receiptPrefix, keyArn: KEY_ARN },
      timeoutSeconds: o.timeoutSeconds ?? 30,
      baseDelayMs: 50,
      maxDelayMs: 200,
      markerOut,
      instanceIdFile,
    });
    const r = spawnSync("bash", ["-c", script], {
      // stdin from /dev/null: on a socket, bash (and each fake) would read ~/.bashrc as if started by sshd.
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        PATH: `${path.join(dir, "bin")}:${process.env.PATH ?? ""}`,
        FAKE_DIR: dir,
        FAKE_DENIALS: String(o.denials ?? 0),
        FAKE_PUT_DENIALS: String(o.putDenials ?? 0),
        FAKE_CALL_MS: String(o.callMs ?? 0),
        FAKE_CONTENT: CONTENT,
      },
      encoding: "utf8",
      timeout: 30_000,
    });
    const read = (f: string): string[] =>
      fs.existsSync(f) ? fs.readFileSync(f, "utf8").split("\n").filter(Boolean) : [];
    const body = (f: string): string => (fs.existsSync(f) ? fs.readFileSync(f, "utf8") : "");
    return {
      status: r.status,
      markers: read(markerOut),
      calls: read(path.join(dir, "calls")),
      maxAttempts: read(path.join(dir, "max_attempts")),
      sleeps: read(path.join(dir, "sleeps")).map(Number),
      stderr: r.stderr,
      elapsedMs: Number(read(path.join(dir, "clock"))[0]) - START_MS,
      dest: body(dest),
      uploaded: body(path.join(dir, "uploaded")),
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
    const r = runBoot();
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.markers, [`CROSS_ACCOUNT_COPY OK ${OBJECT_KEY} sha256=${sha256(CONTENT)}`]);
    assert.equal(r.dest, CONTENT);
    assert.equal(r.calls.length, 1);
    assert.ok(r.calls[0].startsWith(`s3 cp s3://shared-bucket/${OBJECT_KEY} `), r.calls[0]);
    // One CLI call per attempt, whose connect and read timeouts end by the script's 30 s bound.
    assert.ok(
      r.calls[0].endsWith(" --region eu-west-1 --only-show-errors --cli-connect-timeout 10 --cli-read-timeout 30"),
      r.calls[0],
    );
    assert.deepEqual(r.maxAttempts, ["1"]);
  });

  it("writes an OK line that verify's parser reads back, with the copy's sha256", () => {
    const r = runBoot();
    assert.deepEqual(parseMarker(consoleOf(r), "CROSS_ACCOUNT_COPY", OBJECT_KEY), {
      kind: "ok",
      sha256: sha256(CONTENT),
      line: r.markers[0],
    });
  });

  it("retries through AccessDenied twice, logging each attempt, then succeeds", () => {
    const r = runBoot({ denials: 2 });
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
    before(() => (r = runBoot({ denials: "always", timeoutSeconds: 0.6 })));

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
    const r = runBoot({ denials: "always", timeoutSeconds: 0.6, callMs: 10 });
    assert.deepEqual(r.sleeps, [50, 100, 200, 200]);
    assert.equal(r.calls.length, 5);
    assert.equal(r.elapsedMs, 600);
    assert.match(r.markers[0] ?? "", /FAILED after 5 attempts in 600ms/);
  });

  it("gives each attempt only the time left: its CLI timeouts shrink to the bound", () => {
    // 250 ms per call against a 600 ms bound: every attempt has under a second left.
    const r = runBoot({ denials: "always", timeoutSeconds: 0.6, callMs: 250 });
    for (const call of r.calls) assert.match(call, / --cli-connect-timeout 1 --cli-read-timeout 1$/);
    assert.deepEqual(
      r.maxAttempts,
      r.calls.map(() => "1"),
    );
  });

  it("never sleeps past its bound when a call is slower than the time left", () => {
    // 250 ms per call against a 600 ms bound: fails at 250 (sleep 50), 550 (sleep the 50 left), then 850.
    const r = runBoot({ denials: "always", timeoutSeconds: 0.6, callMs: 250 });
    assert.deepEqual(r.sleeps, [50, 50]);
    assert.equal(r.calls.length, 3);
    assert.equal(r.elapsedMs, 850, "the last call overran, but no sleep did");
  });

  describe("a role that writes: the receipt", () => {
    const RECEIPT = `incoming/receipt-${INSTANCE_ID}-${START_MS / 1000}.txt`;
    /** The upload, exactly: the receipt's temporary file, then every argument the script sends. */
    const upload = (key: string) =>
      new RegExp(
        `^s3 cp (/\\S+) s3://shared-bucket/${key.replace(/[.]/g, "\\.")} --sse aws:kms --sse-kms-key-id ${KEY_ARN} --region eu-west-1 --only-show-errors --cli-connect-timeout \\d+ --cli-read-timeout \\d+$`,
      );

    it("after the read, uploads a receipt under its prefix, SSE-KMS with the key's full ARN, and says WROTE", () => {
      const r = runBoot({ receiptPrefix: "incoming/" });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.calls.length, 2);
      assert.ok(r.calls[0].startsWith(`s3 cp s3://shared-bucket/${OBJECT_KEY} `), "the read comes first");
      assert.match(r.calls[1], upload(RECEIPT));
      assert.deepEqual(r.markers, [
        `CROSS_ACCOUNT_COPY OK ${OBJECT_KEY} sha256=${sha256(CONTENT)}`,
        `CROSS_ACCOUNT_COPY WROTE ${RECEIPT}`,
      ]);
      assert.equal(r.uploaded, `instance ${INSTANCE_ID} wrote this receipt at ${START_MS / 1000} (epoch seconds)\n`);
    });

    it("a role that only writes never calls the read: SKIPPED with the reason, then the receipt", () => {
      const r = runBoot({ skipReason: "the role only writes", receiptPrefix: "receipts/" });
      assert.equal(r.status, 0, r.stderr);
      const receipt = `receipts/receipt-${INSTANCE_ID}-${START_MS / 1000}.txt`;
      assert.equal(r.calls.length, 1);
      assert.match(r.calls[0], upload(receipt));
      assert.deepEqual(r.markers, [
        "CROSS_ACCOUNT_COPY SKIPPED the role only writes",
        `CROSS_ACCOUNT_COPY WROTE ${receipt}`,
      ]);
      assert.equal(r.dest, "", "nothing was copied");
      assert.deepEqual(parseMarker(consoleOf(r), "CROSS_ACCOUNT_COPY", OBJECT_KEY), {
        kind: "skipped",
        reason: "the role only writes",
        line: r.markers[0],
      });
      assert.deepEqual(parseWriteMarker(consoleOf(r), "CROSS_ACCOUNT_COPY"), {
        kind: "wrote",
        key: receipt,
        line: r.markers[1],
      });
    });

    it("retries the upload through AccessDenied with the read's backoff", () => {
      const r = runBoot({ receiptPrefix: "incoming/", putDenials: 2 });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.calls.length, 4);
      for (const call of r.calls.slice(1)) assert.match(call, upload(RECEIPT));
      assert.deepEqual(r.sleeps, [50, 100]);
      assert.match(r.stderr, /write attempt 1 failed: .*PutObject.*retrying in 50ms/);
      assert.match(r.stderr, /write attempt 3 succeeded/);
      assert.equal(r.markers[1], `CROSS_ACCOUNT_COPY WROTE ${RECEIPT}`);
    });

    it("gives up on the upload at its bound with WRITE-FAILED, which verify's parser reads back", () => {
      const r = runBoot({ receiptPrefix: "incoming/", putDenials: "always", timeoutSeconds: 0.6 });
      assert.notEqual(r.status, 0);
      assert.deepEqual(r.sleeps, [50, 100, 200, 200, 50], "the read's backoff, from its own start");
      const reason =
        "after 6 attempts in 600ms: An error occurred (AccessDenied) when calling the PutObject operation: Access Denied";
      assert.deepEqual(r.markers, [
        `CROSS_ACCOUNT_COPY OK ${OBJECT_KEY} sha256=${sha256(CONTENT)}`,
        `CROSS_ACCOUNT_COPY WRITE-FAILED ${reason}`,
      ]);
      assert.deepEqual(parseWriteMarker(consoleOf(r), "CROSS_ACCOUNT_COPY"), {
        kind: "failed",
        reason,
        line: r.markers[1],
      });
      assert.equal(
        parseMarker(consoleOf(r), "CROSS_ACCOUNT_COPY", OBJECT_KEY).kind,
        "ok",
        "the read's line is its own",
      );
    });

    it("still writes when the read failed, and exits non-zero", () => {
      const r = runBoot({ receiptPrefix: "incoming/", denials: "always", timeoutSeconds: 0.05 });
      assert.notEqual(r.status, 0);
      assert.match(r.markers[0], /^CROSS_ACCOUNT_COPY FAILED after \d+ attempts in 50ms: .*GetObject/);
      assert.match(r.markers[1], /^CROSS_ACCOUNT_COPY WROTE incoming\/receipt-/);
    });

    it("names the receipt after the host when cloud-init's instance-id file is missing", () => {
      const r = runBoot({ receiptPrefix: "incoming/", instanceId: undefined });
      const host = spawnSync("uname", ["-n"], { encoding: "utf8" })
        .stdout.trim()
        .replace(/[^A-Za-z0-9._-]/g, "");
      assert.equal(r.markers[1], `CROSS_ACCOUNT_COPY WROTE incoming/receipt-${host}-${START_MS / 1000}.txt`);
    });

    it("refuses a key alias or an unfinished prefix at render time", () => {
      const base = { bucket: "b", region: "r", read: { skipReason: "x" }, timeoutSeconds: 30 };
      assert.throws(
        () => renderBootScript({ ...base, write: { receiptPrefix: "in/", keyArn: "alias/accounta-cmk" } }),
        /"alias\/accounta-cmk" is not a KMS key's full ARN/,
      );
      assert.throws(
        () => renderBootScript({ ...base, write: { receiptPrefix: "in", keyArn: KEY_ARN } }),
        /the receipt prefix "in" must end in "\/"/,
      );
    });
  });

  it("quotes every value, so an object key cannot inject shell code", () => {
    assert.equal(shellQuote("a'b; rm -rf /"), `'a'\\''b; rm -rf /'`);
    const script = renderBootScript({
      bucket: "b",
      region: "r",
      read: { objectKey: "$(touch /tmp/pwned)", dest: "/d/f" },
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
