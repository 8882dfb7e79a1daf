#!/usr/bin/env bash
# `moat admission` against real things: the webhook served over real HTTPS (a CA and serving
# certificate made here with openssl), driven with curl and with Python's TLS client on one
# keep-alive connection: the captured AdmissionReview requests, the PSA fixtures of the newest
# version wrapped in AdmissionReviews (the verdict and reasons equal `moat k8s manifests`), bad
# requests (4xx and the server goes on), a slow and a half-closed client, certificate rotation
# under a loop of requests with none failing, configuration reload; `check-config` and `audit`.
# Usage: tests/admission_test.sh PATH/TO/moat
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/cli_test.sh
. "$HERE/lib/cli_test.sh"
start_cli_test "$@"
DATA=${MOAT_SHARED_DATA_DIR:-$HERE/../../shared/data}
REVIEWS=$DATA/k8s/admission-review
PSA=$DATA/k8s/psa
for tool in curl openssl jq python3 xmllint; do
  command -v "$tool" >/dev/null || { echo "FAIL missing $tool (scripts/install-deps.sh test)"; exit 1; }
done
SERVER_PID=""
trap '[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT

# --- certificates: a CA and two serving certificates for 127.0.0.1 it signed --------------------
cd "$WORK" || exit 1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=test-ca \
  -keyout ca.key -out ca.crt 2>/dev/null
make_cert() {  # make_cert NAME: NAME.crt/NAME.key for 127.0.0.1 signed by the CA
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
    -keyout "$1.key" -out "$1.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
    -extfile "$1.ext" -out "$1.crt" 2>/dev/null
}
make_cert first && make_cert second
cp first.crt tls.crt && cp first.key tls.key

cat >"$WORK/admission.yaml" <<'EOF'
policies:
- checks: [pss-baseline]
  action: deny
- checks: [pss-restricted]
  action: warn
- checks: [wl-image-tag]
  action: audit
EOF
expect check-config-good 0 "$MOAT" admission check-config "$WORK/admission.yaml"
is check-config-summary grep -q 'OK: 3 policy rules' "$WORK/check-config-good.out"
printf 'policies:\n- checks: [pss-baseline]\n  action: block\n' >"$WORK/bad.yaml"
expect check-config-bad 2 "$MOAT" admission check-config "$WORK/bad.yaml"
is check-config-names-line grep -q "bad.yaml:3: action \"block\"" "$WORK/check-config-bad.err"

# --- serve ----------------------------------------------------------------------------------------
"$MOAT" admission serve --config "$WORK/admission.yaml" --listen 127.0.0.1:0 \
  --tls-cert "$WORK/tls.crt" --tls-key "$WORK/tls.key" --read-timeout 2s 2>"$WORK/serve.log" &
SERVER_PID=$!
URL=""
for _ in $(seq 100); do
  URL=$(grep -o 'https://127.0.0.1:[0-9]*' "$WORK/serve.log" | head -n 1)
  [ -n "$URL" ] && break
  sleep 0.1
done
[ -n "$URL" ] || { cat "$WORK/serve.log"; echo "FAIL server did not start"; exit 1; }
PORT=${URL##*:}
C=(curl -sS --cacert "$WORK/ca.crt")
review() {  # review FILE [PATH]: POSTs an AdmissionReview; the body on stdout
  "${C[@]}" -H 'Content-Type: application/json' --data-binary "@$1" "$URL${2:-/validate}"
}
is healthz test "$("${C[@]}" "$URL/healthz")" = ok
is readyz test "$("${C[@]}" "$URL/readyz")" = ok
is plain-http-refused sh -c "! curl -s http://127.0.0.1:$PORT/healthz"

# Every captured request: the uid echoed, the version kept, the expected verdict.
for f in "$REVIEWS"/canonical/request_*.json "$REVIEWS"/kubewarden/*.json; do
  name=$(basename "$f" .json)
  if jq -e 'has("request")' "$f" >/dev/null; then cp "$f" "$WORK/req.json"
  else jq '{apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: .}' "$f" >"$WORK/req.json"; fi
  review "$WORK/req.json" >"$WORK/$name.resp"
  is "uid-echoed-$name" jq -e --slurpfile r "$WORK/req.json" \
    '.response.uid == $r[0].request.uid and .apiVersion == $r[0].apiVersion' "$WORK/$name.resp"
done
is create-privileged-pod-denied jq -e '.response.allowed == false and .response.status.code == 403
  and (.response.status.message | contains("pss-baseline-privileged"))' "$WORK/request_create_pod.resp"
is delete-allowed jq -e '.response.allowed == true' "$WORK/request_delete_configmap.resp"
is scale-subresource-allowed jq -e '.response.allowed == true and (.response | has("warnings") | not)' \
  "$WORK/request_update_scale_subresource.resp"
is kubewarden-host-namespaces-denied jq -e '.response.allowed == false and
  (.response.status.message | contains("pss-baseline-host-namespaces"))' \
  "$WORK/host-namespaces-psp-policy__pod_request.resp"
is restricted-warnings jq -e '.response.warnings | length > 0 and all(length <= 256)' \
  "$WORK/image-cve-policy__deployment.resp"
jq '.apiVersion = "admission.k8s.io/v1beta1"' "$REVIEWS/canonical/request_create_pod.json" >"$WORK/beta.json"
is v1beta1-answered-in-v1beta1 jq -e '.apiVersion == "admission.k8s.io/v1beta1" and .response.allowed == false' \
  <(review "$WORK/beta.json")
is mutate-allows-without-patch jq -e '.response.allowed == true and (.response | has("patch") | not)' \
  <(review "$REVIEWS/canonical/request_create_pod.json" /mutate)

# --- the PSA fixtures of the newest version, over one keep-alive connection, against moat k8s ---
latest=$(awk -F'\t' 'NR > 1 {sub(/^v1\./, "", $2); if ($2 + 0 > max) max = $2 + 0} END {print "v1." max}' "$PSA/INDEX.tsv")
for level in baseline restricted; do
  "$MOAT" k8s manifests "$PSA/$level/$latest" --checks "pss-$level" --pss-version "$latest" \
    --format json -o "$WORK/k8s-$level.json" 2>/dev/null
done
cat >"$WORK/psa.py" <<'EOF'
# One TLS connection (keep-alive) for every fixture; the webhook's verdict and reasons against
# moat k8s manifests' findings for the same file. Prints one line per mismatch, then a summary.
import http.client, json, ssl, sys, yaml
port, ca, psa, latest, work = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
context = ssl.create_default_context(cafile=ca)
levels = {}
for level in ("baseline", "restricted"):
    report = json.load(open(f"{work}/k8s-{level}.json"))
    levels[level] = {r["file"]: r.get("findings", []) for r in report["resources"]}
checked = mismatches = 0
conn = http.client.HTTPSConnection("127.0.0.1", int(port), context=context)
sockets = set()
for line in list(open(f"{psa}/INDEX.tsv"))[1:]:
    level, version, expected, check, path = line.rstrip("\n").split("\t")
    if version != latest:
        continue
    obj = yaml.safe_load(open(f"{psa}/{path}"))
    review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
              "request": {"uid": path, "kind": {"group": "", "version": "v1", "kind": obj["kind"]},
                          "resource": {"group": "", "version": "v1", "resource": "pods"},
                          "namespace": "team-" + level, "operation": "CREATE",
                          "userInfo": {"username": "alice"}, "object": obj, "dryRun": False}}
    # The policies of this run: pss-baseline deny, pss-restricted warn.
    conn.request("POST", "/validate", json.dumps(review), {"Content-Type": "application/json"})
    response = conn.getresponse()
    sockets.add(id(conn.sock))
    answer = json.loads(response.read())["response"]
    findings = levels[level][f"{psa}/{path}"]
    reasons = [f'{f["checkId"]}: {f["message"]} ({f["path"]})' for f in findings]
    if level == "baseline":
        got = [] if answer["allowed"] else answer["status"]["message"].split(": ", 1)[1].split("; ")
    else:  # restricted: the baseline part denies, the restricted part warns
        got = answer.get("warnings", [])
        reasons = [r for r in reasons if r.startswith("pss-restricted-")]
        if not answer["allowed"]:
            reasons = None  # denied by baseline: warnings still there, compare those
            got = None
    if got and got[-1].split(" ", 1)[-1].startswith("more warnings left out"):
        # Past the API server's 4 KiB of warnings: the first ones, then how many were left out.
        left_out = int(got[-1].split(" ", 1)[0])
        if reasons is not None and len(got) - 1 + left_out == len(reasons):
            reasons = reasons[:len(got) - 1] + [got[-1]]
    checked += 1
    if answer["uid"] != path or (reasons is not None and got != reasons) or \
       (level == "baseline" and answer["allowed"] != (expected == "pass")):
        mismatches += 1
        print("MISMATCH", path, json.dumps(answer)[:300], reasons)
print(f"checked {checked} mismatches {mismatches} connections {len(sockets)}")
EOF
python3 "$WORK/psa.py" "$PORT" "$WORK/ca.crt" "$PSA" "$latest" "$WORK" >"$WORK/psa.out" 2>&1
is psa-fixtures-equal-moat-k8s grep -q 'mismatches 0 ' "$WORK/psa.out"
is psa-fixtures-checked awk '/^checked/ {exit !($2 >= 140)}' "$WORK/psa.out"
is psa-one-keepalive-connection grep -q 'connections 1$' "$WORK/psa.out"
tail -n 3 "$WORK/psa.out"

# curl reuses its connection for several URLs (keep-alive).
"${C[@]}" -v -o /dev/null -o /dev/null -o /dev/null "$URL/healthz" "$URL/readyz" "$URL/healthz" 2>"$WORK/keepalive.err"
is curl-keepalive grep -qi 're-using existing connection' "$WORK/keepalive.err"

# --- bad requests: a clear 4xx, and the server goes on --------------------------------------------
code() { "${C[@]}" -o "$WORK/code.body" -w '%{http_code}' "$@"; }
is wrong-content-type test "$(code -H 'Content-Type: text/plain' --data-binary "@$REVIEWS/canonical/request_create_pod.json" "$URL/validate")" = 415
is malformed-json test "$(code -H 'Content-Type: application/json' --data-binary '{"apiVersion": ' "$URL/validate")" = 400
jq 'del(.request.uid)' "$REVIEWS/canonical/request_create_pod.json" >"$WORK/nouid.json"
is missing-uid test "$(code -H 'Content-Type: application/json' --data-binary "@$WORK/nouid.json" "$URL/validate")" = 400
is missing-uid-named grep -q 'request.uid: missing' "$WORK/code.body"
head -c $((3 * 1024 * 1024 + 10)) /dev/zero | tr '\0' ' ' >"$WORK/big.json"
is body-over-3MiB test "$(code -H 'Content-Type: application/json' --data-binary "@$WORK/big.json" "$URL/validate")" = 413
is get-validate-405 test "$(code "$URL/validate")" = 405
cat >"$WORK/slow.py" <<'EOF'
# A slow client (its body never finished) and a half-closed one (body cut, then shutdown(SHUT_WR)):
# each gets a 4xx (408 / 400), and prints what it got.
import socket, ssl, sys, time
port, ca, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
context = ssl.create_default_context(cafile=ca)
raw = socket.create_connection(("127.0.0.1", port), timeout=20)
s = context.wrap_socket(raw, server_hostname="127.0.0.1")
s.sendall(b"POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"a\":")
if mode == "half-closed":
    # The TCP write side closed mid-body (no TLS close_notify); TLS reads still work.
    socket.socket.shutdown(s, socket.SHUT_WR)
start = time.time()
data = b""
try:
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
except Exception as e:
    data += repr(e).encode()
print(mode, round(time.time() - start, 1), data.split(b"\r\n")[0].decode(errors="replace"))
EOF
python3 "$WORK/slow.py" "$PORT" "$WORK/ca.crt" slow >"$WORK/slow.out" 2>&1
is slow-client-408 grep -q 'HTTP/1.1 408' "$WORK/slow.out"
python3 "$WORK/slow.py" "$PORT" "$WORK/ca.crt" half-closed >"$WORK/half.out" 2>&1
is half-closed-client-400 grep -Eq '^half-closed [0-9.]+ HTTP/1.1 400' "$WORK/half.out"
cat "$WORK/slow.out" "$WORK/half.out"
is still-serving-after-bad-requests jq -e '.response.allowed == false' <(review "$REVIEWS/canonical/request_create_pod.json")

# --- certificate rotation under a loop of requests: none fails ---------------------------------
serial() { openssl s_client -connect "127.0.0.1:$PORT" -servername localhost </dev/null 2>/dev/null | openssl x509 -noout -serial; }
before=$(serial)
(
  fails=0
  for i in $(seq 150); do
    out=$(review "$REVIEWS/canonical/request_create_pod.json" 2>&1) || fails=$((fails + 1))
    echo "$out" | jq -e '.response.allowed == false' >/dev/null 2>&1 || fails=$((fails + 1))
  done
  echo "$fails" >"$WORK/rotation.fails"
) &
LOOP=$!
sleep 1
# cert-manager writes new files; the rename makes each one appear whole.
cp second.crt tls.crt.new && mv tls.crt.new tls.crt
cp second.key tls.key.new && mv tls.key.new tls.key
wait "$LOOP"
is rotation-no-failed-request test "$(cat "$WORK/rotation.fails")" = 0
after=""
for _ in $(seq 50); do after=$(serial); [ "$after" != "$before" ] && break; sleep 0.2; done
is rotation-new-certificate-served test -n "$after" -a "$after" != "$before"
is rotation-new-certificate-is-second test "$after" = "$(openssl x509 -noout -serial -in second.crt)"

# --- configuration reload: warn becomes deny for wl-image-tag ------------------------------------
jq '.request.object.spec.containers[0].securityContext = {} | .request.object.spec.containers[0].image = "nginx"' \
  "$REVIEWS/canonical/request_create_pod.json" >"$WORK/latest-tag.json"
is before-reload-allowed jq -e '.response.allowed == true' <(review "$WORK/latest-tag.json")
sed -i 's/- checks: \[wl-image-tag\]/- checks: [wl-image-tag]\n  action: deny\n- checks: [wl-cpu-limits]/' "$WORK/admission.yaml"
reloaded=""
for _ in $(seq 50); do
  review "$WORK/latest-tag.json" | jq -e '.response.allowed == false' >/dev/null 2>&1 && { reloaded=1; break; }
  sleep 0.2
done
is config-reloaded test -n "$reloaded"
"${C[@]}" "$URL/metrics" >"$WORK/metrics.txt"
is metrics-requests grep -q 'moat_admission_requests_total{operation="CREATE",kind="Pod",decision="denied"}' "$WORK/metrics.txt"
is metrics-policy grep -q 'moat_admission_policy_violations_total{policy="pss-baseline-privileged",action="deny"}' "$WORK/metrics.txt"
is metrics-histogram grep -q 'moat_admission_decision_duration_seconds_bucket{le="+Inf"}' "$WORK/metrics.txt"
is metrics-errors grep -q 'moat_admission_errors_total{reason="content_type"} 1' "$WORK/metrics.txt"
is metrics-reload grep -q 'moat_admission_config_reloads_total{result="ok"} 1' "$WORK/metrics.txt"
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=""
is serve-stops-cleanly grep -q 'admission: stopping' "$WORK/serve.log"
expect serve-needs-tls 2 "$MOAT" admission serve --enforce pss-baseline
is serve-needs-tls-named grep -q -- '--tls-cert is required' "$WORK/serve-needs-tls.err"
expect serve-needs-policy 2 "$MOAT" admission serve --tls-cert tls.crt --tls-key tls.key --listen 127.0.0.1:0

# --- audit of manifests -------------------------------------------------------------------------
MIXED=$HERE/../src/k8s/testdata/mixed
expect audit-denies 3 "$MOAT" admission audit --enforce pss-baseline "$PSA/baseline/$latest/fail" --exit-code 3
expect audit-passes 0 "$MOAT" admission audit --enforce pss-baseline "$PSA/baseline/$latest/pass" --exit-code 3
expect audit-warn-only 0 "$MOAT" admission audit --warn pss-baseline "$PSA/baseline/$latest/fail" --exit-code 3
expect audit-json 3 "$MOAT" admission audit --config "$WORK/admission.yaml" "$PSA/baseline/$latest" --exit-code 3 --format json -o "$WORK/audit.json"
is audit-json-findings jq -e '[.resources[].findings[]?.message | startswith("[deny] ") or startswith("[warn] ") or startswith("[audit] ")] | all and length > 0' "$WORK/audit.json"
expect audit-sarif 3 "$MOAT" admission audit --enforce pss-baseline "$PSA/baseline/$latest" --exit-code 3 --format sarif -o "$WORK/audit.sarif"
is audit-sarif-results jq -e '.runs[0].results | length > 0' "$WORK/audit.sarif"
expect audit-junit 3 "$MOAT" admission audit --enforce pss-baseline "$PSA/baseline/$latest" --exit-code 3 --format junit -o "$WORK/audit.xml"
is audit-junit-xml xmllint --noout "$WORK/audit.xml"
# Same findings as moat k8s on the same files, checks in deny mode.
"$MOAT" k8s manifests "$PSA/baseline/$latest" --checks pss-baseline --pss-version "$latest" --format json -o "$WORK/k8s.json" 2>/dev/null
"$MOAT" admission audit --enforce pss-baseline "$PSA/baseline/$latest" --format json -o "$WORK/adm.json" 2>/dev/null
is audit-equals-moat-k8s diff <(jq -c '[.resources[] | {file, f: [.findings[]? | {checkId, path, message}]}]' "$WORK/k8s.json") \
  <(jq -c '[.resources[] | {file, f: [.findings[]? | {checkId, path, message: (.message | ltrimstr("[deny] "))}]}]' "$WORK/adm.json")
expect audit-warn-table 0 "$MOAT" admission audit --warn all "$MIXED/helm-redis.yaml" --exit-code 3
is audit-table-names-action grep -q '\[warn\] ' "$WORK/audit-warn-table.out"
# A document that does not parse is named with its file and line, and exits 2.
expect audit-broken-input 2 "$MOAT" admission audit --warn all "$MIXED"
is audit-broken-input-named grep -q 'broken.yaml:15:1' "$WORK/audit-broken-input.err"
expect audit-needs-input 2 "$MOAT" admission audit --enforce pss-baseline

finish_cli_test admission
