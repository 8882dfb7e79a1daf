#!/usr/bin/env bash
# `moat audit-log watch` and `serve` as a user runs them (docs/audit-log.md): watch follows a log
# that is appended to, rotated by rename and by copytruncate, with a malformed line, across a
# restart in the middle, and raises exactly the alerts of one uninterrupted pass over the same
# events; serve takes EventList POSTs over HTTPS with a client certificate (curl), refuses a
# client without one, serves /metrics and /healthz, and writes the same alerts.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib/cli_test.sh"
. "$HERE/lib/admission_webhook.sh"
start_cli_test "$@"
SEED=$HERE/../src/auditlog/testdata/seed_events.jsonl
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$WORK"' EXIT

# wait_for FILE PATTERN: up to 20 s for PATTERN in FILE.
wait_for() {
  for _ in $(seq 200); do grep -q -- "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
# alert_ids FILE: rule and auditID of each alert in FILE, sorted.
alert_ids() { jq -r '.rule + " " + .output_fields."ka.auditid"' "$1" | sort; }
lines() { wc -l <"$1" | tr -d ' '; }
# stop PID: SIGTERM and its exit status.
stop() { kill -TERM "$1"; wait "$1"; }

# ---- watch ------------------------------------------------------------------------------------
mkdir -p "$WORK/log" "$WORK/once"
total=$(lines "$SEED")
half=$((total / 2))
# The reference: one uninterrupted pass over every event.
cp "$SEED" "$WORK/once/audit.log"
"$MOAT" audit-log watch "$WORK/once/audit.log" --no-stdout --rate-limit-window 0 \
  --output-file "$WORK/once/alerts.jsonl" 2>"$WORK/once.log" &
pid=$!
PIDS+=("$pid")
sleep 2
is watch-reference-exits-0 stop "$pid"
is watch-reference-alerts test "$(lines "$WORK/once/alerts.jsonl")" -gt 20

LOG=$WORK/log/audit.log
watch() {
  "$MOAT" audit-log watch "$LOG" --position-file "$WORK/log/audit.pos" --no-stdout \
    --rate-limit-window 0 --output-file "$WORK/alerts.jsonl" --metrics-listen 127.0.0.1:0 \
    --poll-interval 50ms 2>>"$WORK/watch.log" &
  WATCH_PID=$!
  PIDS+=("$WATCH_PID")
}
head -n 10 "$SEED" >"$LOG"
echo '{"kind":"Event","apiVersion":"audit.k8s.io/v2"}' >>"$LOG"  # another API version
echo 'not json at all' >>"$LOG"
watch
is watch-serves-metrics wait_for "$WORK/watch.log" 'listening on http://127.0.0.1:'
METRICS=$(grep -o 'http://127.0.0.1:[0-9]*' "$WORK/watch.log" | tail -n 1)
sed -n "11,${half}p" "$SEED" >>"$LOG"
sleep 1
# Rotation by rename, as the API server does, then more events in the new file.
mv "$LOG" "$WORK/log/audit-2024-05-01T12-00-00.000.log"
sed -n "$((half + 1)),$((half + 5))p" "$SEED" >"$LOG"
sleep 1
is watch-metrics-count-malformed sh -c "curl -sf '$METRICS/metrics' | grep -qx 'moat_auditlog_malformed_total 2'"
is watch-metrics-count-rotation sh -c "curl -sf '$METRICS/metrics' | grep -qx 'moat_auditlog_follow_rotations_total 1'"
is watch-healthz sh -c "curl -sf '$METRICS/healthz' | grep -qx ok"
is watch-stops-on-sigterm stop "$WATCH_PID"
is watch-logs-malformed-with-place grep -q "audit.log:11: .*audit.k8s.io/v2" "$WORK/watch.log"
# While stopped: more events, and a copytruncate rotation.
sed -n "$((half + 6)),$((half + 10))p" "$SEED" >>"$LOG"
cp "$LOG" "$LOG.1"
: >"$LOG"
sed -n "$((half + 11)),\$p" "$SEED" >>"$LOG"
watch
sleep 2
is watch-restart-stops stop "$WATCH_PID"
alert_ids "$WORK/once/alerts.jsonl" >"$WORK/want.ids"
alert_ids "$WORK/alerts.jsonl" >"$WORK/got.ids"
is watch-no-alert-lost-or-repeated diff "$WORK/want.ids" "$WORK/got.ids"
is watch-position-file-is-json jq -e '.inode > 0 and .offset > 0' "$WORK/log/audit.pos"

# ---- serve ------------------------------------------------------------------------------------
mkdir -p "$WORK/tls"
cd "$WORK/tls" || exit 2
make_webhook_certs
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=kube-apiserver \
  -keyout client.key -out client.csr 2>/dev/null
printf 'extendedKeyUsage=clientAuth\n' >client.ext
openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
  -extfile client.ext -out client.crt 2>/dev/null
jq -s '{kind: "EventList", apiVersion: "audit.k8s.io/v1", metadata: {}, items: .}' "$SEED" \
  >"$WORK/batch.json"
"$MOAT" audit-log serve --listen 127.0.0.1:0 --tls-cert tls.crt --tls-key tls.key \
  --client-ca ca.crt --no-stdout --rate-limit-window 0 --output-file "$WORK/served.jsonl" \
  2>"$WORK/serve.log" &
SERVE_PID=$!
PIDS+=("$SERVE_PID")
is serve-listens wait_for "$WORK/serve.log" 'listening on https://127.0.0.1:'
URL=$(grep -o 'https://127.0.0.1:[0-9]*' "$WORK/serve.log" | head -n 1)
curl_tls() { curl -s --cacert ca.crt --cert client.crt --key client.key "$@"; }
is serve-accepts-eventlist sh -c "test \"\$(curl -s --cacert ca.crt --cert client.crt --key client.key \
  -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @'$WORK/batch.json' \
  '$URL/k8s-audit')\" = 200"
is serve-refuses-client-without-certificate sh -c "! curl -s --cacert ca.crt -o /dev/null \
  -H 'Content-Type: application/json' --data-binary @'$WORK/batch.json' '$URL/k8s-audit'"
is serve-metrics-count-batch sh -c "curl -s --cacert ca.crt --cert client.crt --key client.key \
  '$URL/metrics' | grep -qx 'moat_auditlog_webhook_batches_total{outcome=\"accepted\"} 1'"
is serve-healthz sh -c "curl -s --cacert ca.crt --cert client.crt --key client.key '$URL/healthz' | grep -qx ok"
is serve-stops-on-sigterm stop "$SERVE_PID"
alert_ids "$WORK/served.jsonl" >"$WORK/served.ids"
is serve-same-alerts-as-watch diff "$WORK/want.ids" "$WORK/served.ids"
expect serve-refuses-plain-http-outside-loopback 2 "$MOAT" audit-log serve --listen 0.0.0.0:0
is serve-says-why grep -q -- "--tls-cert" "$WORK/serve-refuses-plain-http-outside-loopback.err"
expect watch-bad-rules-file 2 "$MOAT" audit-log watch "$WORK/log/audit.log" --rules "$SEED"

finish_cli_test audit_log_service
