#!/bin/bash
# Boot script (EC2 user data): proves the instance role's access to the source account's bucket.
# A role that reads copies one object; a role that writes then uploads a small receipt, SSE-KMS
# with the source's key (its full ARN). Each call is retried with capped exponential backoff while
# IAM changes propagate, within its own bound, and each job writes one marker line to the serial console:
#   the read:  <MARKER> OK <key> sha256=<hex>, <MARKER> FAILED <reason> or <MARKER> SKIPPED <reason>
#   the write: <MARKER> WROTE <key> or <MARKER> WRITE-FAILED <reason>
# The values between @ signs are filled in, shell-quoted, by target-account/boot-script.ts; the
# marker's words come from target-account/marker.ts, whose parsers `npm run verify` uses.
set -uo pipefail

BUCKET=@BUCKET@
REGION=@REGION@
# The object to copy and where; no object: the read is skipped, for SKIP_REASON.
OBJECT_KEY=@OBJECT_KEY@
DEST=@DEST@
SKIP_REASON=@SKIP_REASON@
# Where the receipt goes, and the key that encrypts it; no prefix: the role does not write.
RECEIPT_PREFIX=@RECEIPT_PREFIX@
KEY_ARN=@KEY_ARN@
INSTANCE_ID_FILE=@INSTANCE_ID_FILE@
TIMEOUT_MS=@TIMEOUT_MS@
BASE_DELAY_MS=@BASE_DELAY_MS@
MAX_DELAY_MS=@MAX_DELAY_MS@
MARKER_OUT=@MARKER_OUT@
MARKER=@MARKER@
MARKER_OK=@MARKER_OK@
MARKER_FAILED=@MARKER_FAILED@
MARKER_SKIPPED=@MARKER_SKIPPED@
MARKER_HASH=@MARKER_HASH@
MARKER_WROTE=@MARKER_WROTE@
MARKER_WRITE_FAILED=@MARKER_WRITE_FAILED@

log() { printf '%s cross-account-copy: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }

# One marker line. The console is the record `npm run verify` reads.
marker() {
  if ! { printf '%s %s\n' "$MARKER" "$*" >>"$MARKER_OUT"; } 2>/dev/null; then
    printf '%s %s\n' "$MARKER" "$*"
  fi
}

now_ms() { date +%s%3N; }

# Sleeps for a number of milliseconds.
sleep_ms() { sleep "$(($1 / 1000)).$(printf '%03d' $(($1 % 1000)))"; }

temporary=()
trap 'rm -f "${temporary[@]}"' EXIT
errors=$(mktemp) || { marker "$MARKER_FAILED cannot create a temporary file"; exit 1; }
temporary+=("$errors")

# retry <job> <aws command...>: runs the command until it succeeds or TIMEOUT_MS has passed, doubling
# the wait from BASE_DELAY_MS up to MAX_DELAY_MS, never sleeping past the bound. Each attempt is one
# CLI call (AWS_MAX_ATTEMPTS=1) whose connect and read timeouts end by the bound: the CLI's own
# defaults (60 s each, and its retries) could run an attempt minutes past it. Sets attempt and reason.
retry() {
  local job=$1 deadline delay remaining wait_ms left
  shift
  deadline=$(($(now_ms) + TIMEOUT_MS))
  delay=$BASE_DELAY_MS
  attempt=1
  while :; do
    left=$(((deadline - $(now_ms) + 999) / 1000))
    [ "$left" -ge 1 ] || left=1
    log "$job attempt $attempt: $*"
    if AWS_MAX_ATTEMPTS=1 "$@" --cli-connect-timeout "$((left < 10 ? left : 10))" \
      --cli-read-timeout "$((left < 60 ? left : 60))" 2>"$errors"; then
      log "$job attempt $attempt succeeded"
      return 0
    fi
    reason=$(tr '\n' ' ' <"$errors" | sed 's/  */ /g; s/ $//')
    [ -n "$reason" ] || reason="aws exited non-zero with no message"
    remaining=$((deadline - $(now_ms)))
    if [ "$remaining" -le 0 ]; then
      log "$job attempt $attempt failed: $reason; giving up after ${TIMEOUT_MS}ms"
      return 1
    fi
    wait_ms=$((delay < remaining ? delay : remaining))
    log "$job attempt $attempt failed: $reason; retrying in ${wait_ms}ms"
    sleep_ms "$wait_ms"
    delay=$((delay * 2 > MAX_DELAY_MS ? MAX_DELAY_MS : delay * 2))
    attempt=$((attempt + 1))
  done
}

# The read: copies the object to DEST through a temporary file, so no partial file is left there.
read_object() {
  local dest_dir tmp sum
  dest_dir=$(dirname "$DEST")
  if ! mkdir -p "$dest_dir"; then
    marker "$MARKER_FAILED cannot create $dest_dir"
    return 1
  fi
  tmp=$(mktemp "$dest_dir/.download.XXXXXX") || { marker "$MARKER_FAILED cannot write to $dest_dir"; return 1; }
  temporary+=("$tmp")
  if ! retry read aws s3 cp "s3://$BUCKET/$OBJECT_KEY" "$tmp" --region "$REGION" --only-show-errors; then
    marker "$MARKER_FAILED after $attempt attempts in ${TIMEOUT_MS}ms: $reason"
    return 1
  fi
  if ! { chmod 0640 "$tmp" && mv -f "$tmp" "$DEST"; }; then
    marker "$MARKER_FAILED cannot move the download to $DEST"
    return 1
  fi
  sum=$(sha256sum "$DEST" | cut -d' ' -f1)
  log "read: $DEST sha256=$sum"
  marker "$MARKER_OK $OBJECT_KEY $MARKER_HASH$sum"
}

# The write: a receipt named after this instance and the time, SSE-KMS with the source's key.
write_receipt() {
  local id epoch key receipt
  id=$(tr -cd 'A-Za-z0-9._-' 2>/dev/null <"$INSTANCE_ID_FILE")
  [ -n "$id" ] || id=$(uname -n | tr -cd 'A-Za-z0-9._-')
  epoch=$(date +%s)
  key="${RECEIPT_PREFIX}receipt-$id-$epoch.txt"
  receipt=$(mktemp) || { marker "$MARKER_WRITE_FAILED cannot create a temporary file"; return 1; }
  temporary+=("$receipt")
  printf 'instance %s wrote this receipt at %s (epoch seconds)\n' "$id" "$epoch" >"$receipt"
  if ! retry write aws s3 cp "$receipt" "s3://$BUCKET/$key" \
    --sse aws:kms --sse-kms-key-id "$KEY_ARN" --region "$REGION" --only-show-errors; then
    marker "$MARKER_WRITE_FAILED after $attempt attempts in ${TIMEOUT_MS}ms: $reason"
    return 1
  fi
  marker "$MARKER_WROTE $key"
}

status=0
if [ -n "$OBJECT_KEY" ]; then
  read_object || status=1
else
  log "read skipped: $SKIP_REASON"
  marker "$MARKER_SKIPPED $SKIP_REASON"
fi
if [ -n "$RECEIPT_PREFIX" ]; then
  write_receipt || status=1
fi
exit "$status"
