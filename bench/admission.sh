#!/usr/bin/env bash
# `moat admission serve` over TLS with keep-alive, loaded by wrk: the typical Deployment review of
# bench/admission_bench.cpp POSTed to /validate by 2 wrk threads on 16 connections for 15 s, the
# webhook deciding with baseline enforced, restricted warned and every other check audited; with
# POLICIES=every, every policy Moat has loaded at once: every built-in and optional check, the 45
# Azure bundle policies (their required parameters set), the ValidatingAdmissionPolicies of
# src/admission/testdata/vap and every mutation (on /mutate, which this does not load).
# Prints admissions per second, the latency percentiles and the webhook's peak memory (VmHWM).
# Targets (issue 12): at least 5,000 admissions/s with p99 under 5 ms; under 100 MB.
# Usage: [POLICIES=every] bench/admission.sh build/moat [SECONDS] [CONNECTIONS]
# (figures go to docs/benchmarks.md)
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
policy_flags=(--enforce pss-baseline --warn pss-restricted --audit all)
if [ "${POLICIES:-}" = every ]; then
  cat >every.yaml <<'YAML'
parameters:
  azure-resource-limits: {cpuLimit: "2", memoryLimit: 1Gi}
  azure-allowed-images: {allowedContainerImagesRegex: '^registry\.example\.com/'}
  azure-pod-labels: {labelsList: [app.kubernetes.io/name]}
  azure-forbidden-sysctls: {forbiddenSysctls: ["kernel.*"]}
  azure-allowed-sysctls: {allowedSysctls: ["net.*"]}
  azure-service-ports: {allowedServicePortsList: ["443"]}
  azure-required-annotations:
    kind: [Deployment]
    annotations: '{"annotations": [{"key": "owner", "allowedRegex": "^team-"}]}'
  azure-blocked-kinds: {kind: [LimitRange]}
policies:
- checks: [pss-baseline]
  action: deny
- checks: [all, optional, azure]
  action: warn
mutations:
- mutate: [drop-capabilities, read-only-root-filesystem, automount-service-account-token,
           run-as-non-root, run-as-user, seccomp-runtime-default, no-privilege-escalation,
           cpu-limits, memory-limits, pdb-max-unavailable, pdb-unhealthy-pod-eviction]
YAML
  policy_flags=(--config every.yaml)
  # The documentation's example policies whose policy and binding names differ from each other's
  # (several examples reuse demo-policy/demo-binding names; the cluster example lists its params
  # from an API; cost is a hostile test).
  for example in audit-annotation configmap-params failure-policy replicalimit variables; do
    policy_flags+=(--policy "$here/../src/admission/testdata/vap/$example")
  done
  "$moat" admission check-config every.yaml "${policy_flags[@]:2}" | tail -n 2
fi
"$moat" admission serve --listen 127.0.0.1:0 --tls-cert tls.crt --tls-key tls.key --threads 2 \
  "${policy_flags[@]}" 2>serve.log &
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
