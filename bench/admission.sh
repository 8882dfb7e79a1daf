#!/usr/bin/env bash
# `moat admission serve` over TLS with keep-alive, loaded by wrk: the typical Deployment review of
# bench/admission_bench.cpp POSTed to /validate by 2 wrk threads on 16 connections for 15 s, the
# webhook deciding with baseline enforced, restricted warned and every other check audited.
# Prints admissions per second, the latency percentiles and the webhook's peak memory (VmHWM).
# Targets (issue 12): at least 5,000 admissions/s with p99 under 5 ms; under 100 MB.
# Usage: bench/admission.sh build/moat [SECONDS] [CONNECTIONS]   (figures go to docs/benchmarks.md)
set -euo pipefail
moat=$(realpath "${1:-build/moat}")
seconds=${2:-15}
connections=${3:-16}
here=$(cd "$(dirname "$0")" && pwd)
command -v wrk >/dev/null || { echo "wrk is missing (scripts/install-deps.sh test)" >&2; exit 1; }
work=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
  -addext subjectAltName=IP:127.0.0.1 -keyout tls.key -out tls.crt 2>/dev/null
# The review body: the one the in-process benchmark decides (single source).
grep 'return R"(' "$here/admission_bench.cpp" | sed -e 's/^.*return R"(//' -e 's/)";$//' >review.json
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' review.json
"$moat" admission serve --listen 127.0.0.1:0 --tls-cert tls.crt --tls-key tls.key --threads 2 \
  --enforce pss-baseline --warn pss-restricted --audit all 2>serve.log &
pid=$!
url=""
for _ in $(seq 100); do
  url=$(grep -o 'https://127.0.0.1:[0-9]*' serve.log | head -n 1) && [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { cat serve.log; exit 1; }
curl -sk -H 'Content-Type: application/json' --data-binary @review.json "$url/validate" | \
  python3 -c 'import json,sys; r=json.load(sys.stdin)["response"]; print("verdict: allowed=%s, %d warnings, %d audit annotations" % (r["allowed"], len(r.get("warnings", [])), len(r.get("auditAnnotations", {}))))'
cat >post.lua <<'LUA'
local f = io.open("review.json", "r")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
done = function(summary, latency, requests)
  io.write(string.format("admissions/s: %.0f\n", summary.requests / (summary.duration / 1e6)))
  for _, p in ipairs({50, 90, 99, 99.9}) do
    io.write(string.format("p%s: %.3f ms\n", p, latency:percentile(p) / 1000))
  end
  io.write(string.format("errors: connect %d, read %d, write %d, status %d, timeout %d\n",
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status,
    summary.errors.timeout))
end
LUA
echo "wrk: 2 threads, $connections keep-alive connections, ${seconds}s, $(nproc) cores"
wrk -t2 -c"$connections" -d"${seconds}s" -s post.lua "$url/validate" | tail -n 7
echo "webhook peak memory: $(awk '/VmHWM/ {printf "%.1f MB", $2 / 1024}' "/proc/$pid/status")"
curl -sk "$url/metrics" | grep -E '^moat_admission_requests_total|^moat_admission_decision_duration_seconds_(count|sum)'
