#!/usr/bin/env bash
# How fast `moat audit-log serve` acknowledges the API server's batches (docs/benchmarks.md
# "Audit-log webhook backend"; target: a 500-event batch in under 10 ms). One curl process sends
# N POSTs of one 500-event EventList (the seed events repeated, about 1.2 MB) over one keep-alive
# HTTPS connection with a client certificate, as the API server's webhook backend does, and
# reports the client's time per request (request sent to answer read; the first request's TLS
# handshake excluded) and the server's own answer-time histogram.
#
#   bench/audit_log_webhook.sh build/moat [REQUESTS]
set -euo pipefail

MOAT=$(realpath "$1")
REQUESTS=${2:-200}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SEED=$HERE/../src/auditlog/testdata/seed_events.jsonl
WORK=$(mktemp -d)
trap 'kill "$SERVER" 2>/dev/null; rm -rf "$WORK"' EXIT
cd "$WORK"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=ca \
  -keyout ca.key -out ca.crt 2>/dev/null
for name in server client; do
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$name" \
    -keyout "$name.key" -out "$name.csr" 2>/dev/null
done
printf 'subjectAltName=IP:127.0.0.1\n' >server.ext
printf 'extendedKeyUsage=clientAuth\n' >client.ext
for name in server client; do
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 \
    -extfile "$name.ext" -out "$name.crt" 2>/dev/null
done
# 500 events: the seed events again and again, each with its own auditID.
jq -c -s '[range(500) as $i | .[$i % length] | .auditID = "bench-\($i)"]
  | {kind: "EventList", apiVersion: "audit.k8s.io/v1", metadata: {}, items: .}' "$SEED" >batch.json

"$MOAT" audit-log serve --listen 127.0.0.1:0 --tls-cert server.crt --tls-key server.key \
  --client-ca ca.crt --no-stdout --output-file alerts.jsonl 2>serve.log &
SERVER=$!
for _ in $(seq 100); do
  URL=$(grep -o 'https://127.0.0.1:[0-9]*' serve.log | head -n 1 || true)
  [ -n "$URL" ] && break
  sleep 0.1
done
[ -n "$URL" ] || { cat serve.log; exit 1; }

# One curl, one connection, REQUESTS transfers; time_total of each (seconds).
# --next resets the options, so each transfer repeats them; curl keeps the connection.
tls=(-s --cacert ca.crt --cert client.crt --key client.key)
args=()
for _ in $(seq "$REQUESTS"); do
  args+=("${tls[@]}" -o /dev/null -w '%{time_connect} %{time_appconnect} %{time_total}\n'
         -H 'Content-Type: application/json' --data-binary @batch.json "$URL/k8s-audit" --next)
done
curl "${args[@]}" "${tls[@]}" -o /dev/null "$URL/healthz" >times.txt
python3 - "$REQUESTS" <<'PY'
import sys
rows = [list(map(float, l.split())) for l in open("times.txt") if l.strip()]
n = int(sys.argv[1])
rows = rows[1:n]  # the first carries the TLS handshake
ms = sorted(r[2] * 1000 for r in rows)
pct = lambda p: ms[min(len(ms) - 1, int(p / 100 * len(ms)))]
size = len(open("batch.json", "rb").read())
print(f"500-event batch ({size / 1e6:.2f} MB) acknowledged over keep-alive HTTPS, {len(ms)} requests:")
print(f"  client time per request: p50 {pct(50):.2f} ms, p95 {pct(95):.2f} ms, "
      f"p99 {pct(99):.2f} ms, max {ms[-1]:.2f} ms")
PY
sleep 1
curl -s --cacert ca.crt --cert client.crt --key client.key "$URL/metrics" >metrics.txt
python3 - <<'PY'
import re
buckets = {}
count = total = 0
for line in open("metrics.txt"):
    m = re.match(r'moat_auditlog_webhook_answer_seconds_bucket\{le="([^"]+)"\} (\d+)', line)
    if m: buckets[m.group(1)] = int(m.group(2))
    if line.startswith("moat_auditlog_webhook_answer_seconds_count"): count = int(line.split()[1])
    if line.startswith("moat_auditlog_webhook_answer_seconds_sum"): total = float(line.split()[1])
print(f"  server answer time (request read to answer): mean {total / max(count, 1) * 1000:.3f} ms; "
      + ", ".join(f"<= {float(le) * 1000:g} ms: {n}" for le, n in buckets.items() if le != "+Inf"))
for line in open("metrics.txt"):
    if line.startswith(("moat_auditlog_events_total", "moat_auditlog_webhook_batches_total")):
        print("  " + line.strip())
PY
