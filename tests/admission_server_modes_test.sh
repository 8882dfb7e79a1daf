#!/usr/bin/env bash
# `moat admission serve --server URL`: the admission policy modes an administrator sets on a real
# `moat server` (PUT /api/v1/admission/policies, docs/server.md) pulled by the webhook over HTTP
# with a reader token, and a change reaching the webhook's verdicts within a poll; the same for
# `moat admission audit --server`; a refused token and an unreachable server stop the start.
# Usage: tests/admission_server_modes_test.sh PATH/TO/moat
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/common.sh
. "$HERE/lib/common.sh"
# shellcheck source=lib/cli_test.sh
. "$HERE/lib/cli_test.sh"
# shellcheck source=lib/admission_webhook.sh
. "$HERE/lib/admission_webhook.sh"
start_cli_test "$@"
trap 'run_cleanups; rm -rf "$WORK"' EXIT
for tool in curl openssl jq; do
  command -v "$tool" >/dev/null || { echo "FAIL missing $tool (scripts/install-deps.sh test)"; exit 1; }
done
cd "$WORK" || exit 1

# --- moat server with a reader token for the webhook ------------------------------------------
CENTER_PORT=$(free_port)
CENTER=http://127.0.0.1:$CENTER_PORT
"$MOAT" server --listen "127.0.0.1:$CENTER_PORT" --data "$WORK/data" >center.log 2>&1 &
push_cleanup "stop_pid $! 10"
wait_until 30 curl -sf "$CENTER/healthz" >/dev/null || { tail -n 20 center.log; die "server did not start"; }
ADMIN=$(cat "$WORK/data/admin.token")
api() {  # api METHOD PATH [BODY]: as admin; prints the body
  curl -sS -X "$1" -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
    ${3:+--data-binary "$3"} "$CENTER$2"
}
api POST /api/v1/tokens '{"name":"webhook","role":"reader"}' | jq -r .token >reader.token
is reader-token test -s reader.token
set_modes() { api PUT /api/v1/admission/policies "$1" >modes.out && jq -e .policies modes.out >/dev/null; }
is modes-set set_modes '{"policies":[{"checks":["pss-baseline"],"action":"deny"}]}'

# --- the webhook takes its modes from the server ------------------------------------------------
make_webhook_certs
start_webhook serve.log --server "$CENTER" --token-file reader.token --server-interval 1
push_cleanup "stop_pid $SERVER_PID 10"
is serve-says-where grep -q "1 policy modes from $CENTER" serve.log
review() {  # review: a CREATE of a privileged pod in namespace team; the answer in last.json
  jq -n '{apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview",
          request: {uid: "u1", kind: {group: "", version: "v1", kind: "Pod"},
                    resource: {group: "", version: "v1", resource: "pods"}, namespace: "team",
                    operation: "CREATE", userInfo: {username: "alice"},
                    object: {apiVersion: "v1", kind: "Pod", metadata: {name: "p", namespace: "team"},
                             spec: {containers: [{name: "c", image: "nginx:1.25",
                                    securityContext: {privileged: true}}]}}}}' >req.json
  curl -sS --cacert ca.crt -H 'Content-Type: application/json' --data-binary @req.json \
    "$URL/validate" >last.json
}
denied() { review && jq -e '.response.allowed == false and (.response.status.message | contains("pss-baseline-privileged"))' last.json >/dev/null; }
warned() { review && jq -e '.response.allowed == true and any(.response.warnings[]?; contains("pss-baseline-privileged"))' last.json >/dev/null; }
admitted_silently() { review && jq -e '.response.allowed == true and (.response.warnings == null)' last.json >/dev/null; }
is server-deny-applies denied
is modes-to-warn set_modes '{"policies":[{"checks":["pss-baseline"],"action":"warn"}]}'
is change-reaches-webhook wait_until 15 warned
is reload-logged grep -q "policy modes changed" serve.log
api DELETE /api/v1/admission/policies/pss-baseline >/dev/null
is no-modes-admits wait_until 15 admitted_silently
polls() { curl -sS --cacert ca.crt "$URL/metrics" | grep -c '^moat_admission' >/dev/null; }
is webhook-healthy polls

# --- the audit reads the same modes ---------------------------------------------------------------
cat >pod.yaml <<'EOF'
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: team}
spec:
  containers: [{name: c, image: "nginx:1.25", securityContext: {privileged: true}}]
EOF
set_modes '{"policies":[{"checks":["pss-baseline"],"action":"deny"}]}'
expect audit-server-deny 4 "$MOAT" admission audit --server "$CENTER" --token-file reader.token \
  pod.yaml --exit-code 4
is audit-names-check grep -q "\[deny\].*privileged" audit-server-deny.out

# --- errors stop the start ---------------------------------------------------------------------------
echo not-a-token >bad.token
expect bad-token 2 "$MOAT" admission audit --server "$CENTER" --token-file bad.token pod.yaml
is bad-token-says-why grep -q "refused the token (HTTP 401)" bad-token.err
expect unreachable 2 "$MOAT" admission audit --server "http://127.0.0.1:$(free_port)" \
  --token-file reader.token pod.yaml
expect no-token-file 2 "$MOAT" admission audit --server "$CENTER" pod.yaml
expect http-off-loopback 2 "$MOAT" admission audit --server http://moat.example.com \
  --token-file reader.token pod.yaml

finish_cli_test admission_server_modes
