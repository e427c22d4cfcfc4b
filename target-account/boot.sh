#!/bin/bash
# Boot script (EC2 user data): copies one object from the source account's bucket with the
# instance role, retrying with capped exponential backoff while IAM changes propagate, and writes
# exactly one marker line to the serial console:
#   <MARKER> OK <key> sha256=<hex>   or   <MARKER> FAILED <reason>
# The values between @ signs are filled in, shell-quoted, by target-account/boot-script.ts; the
# marker's words come from target-account/marker.ts, whose parser `npm run verify` uses.
set -uo pipefail

BUCKET=@BUCKET@
OBJECT_KEY=@OBJECT_KEY@
REGION=@REGION@
DEST=@DEST@
TIMEOUT_MS=@TIMEOUT_MS@
BASE_DELAY_MS=@BASE_DELAY_MS@
MAX_DELAY_MS=@MAX_DELAY_MS@
MARKER_OUT=@MARKER_OUT@
MARKER=@MARKER@
MARKER_OK=@MARKER_OK@
MARKER_FAILED=@MARKER_FAILED@
MARKER_HASH=@MARKER_HASH@

log() { printf '%s cross-account-copy: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }

# The one marker line. The console is the record `npm run verify` reads.
marker() {
  if ! { printf '%s %s\n' "$MARKER" "$*" >>"$MARKER_OUT"; } 2>/dev/null; then
    printf '%s %s\n' "$MARKER" "$*"
  fi
}

now_ms() { date +%s%3N; }

# Sleeps for a number of milliseconds.
sleep_ms() { sleep "$(($1 / 1000)).$(printf '%03d' $(($1 % 1000)))"; }

dest_dir=$(dirname "$DEST")
if ! mkdir -p "$dest_dir"; then
  marker "$MARKER_FAILED cannot create $dest_dir"
  exit 1
fi
tmp=$(mktemp "$dest_dir/.download.XXXXXX") || { marker "$MARKER_FAILED cannot write to $dest_dir"; exit 1; }
errors=$(mktemp) || { marker "$MARKER_FAILED cannot create a temporary file"; exit 1; }
trap 'rm -f "$tmp" "$errors"' EXIT

deadline=$(($(now_ms) + TIMEOUT_MS))
delay=$BASE_DELAY_MS
attempt=1
while :; do
  log "attempt $attempt: aws s3 cp s3://$BUCKET/$OBJECT_KEY $DEST --region $REGION"
  if aws s3 cp "s3://$BUCKET/$OBJECT_KEY" "$tmp" --region "$REGION" --only-show-errors 2>"$errors"; then
    if ! { chmod 0640 "$tmp" && mv -f "$tmp" "$DEST"; }; then
      marker "$MARKER_FAILED cannot move the download to $DEST"
      exit 1
    fi
    sum=$(sha256sum "$DEST" | cut -d' ' -f1)
    log "attempt $attempt succeeded: $DEST sha256=$sum"
    marker "$MARKER_OK $OBJECT_KEY $MARKER_HASH$sum"
    exit 0
  fi
  reason=$(tr '\n' ' ' <"$errors" | sed 's/  */ /g; s/ $//')
  [ -n "$reason" ] || reason="aws exited non-zero with no message"
  remaining=$((deadline - $(now_ms)))
  if [ "$remaining" -le 0 ]; then
    log "attempt $attempt failed: $reason; giving up after ${TIMEOUT_MS}ms"
    marker "$MARKER_FAILED after $attempt attempts in ${TIMEOUT_MS}ms: $reason"
    exit 1
  fi
  wait_ms=$((delay < remaining ? delay : remaining))
  log "attempt $attempt failed: $reason; retrying in ${wait_ms}ms"
  sleep_ms "$wait_ms"
  delay=$((delay * 2 > MAX_DELAY_MS ? MAX_DELAY_MS : delay * 2))
  attempt=$((attempt + 1))
done
