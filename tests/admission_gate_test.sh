#!/usr/bin/env bash
# The webhook's image policies against real things (docs/admission.md, "Image gate" and
# "Signatures"): images built here and pushed with skopeo to a private docker-registry on
# 127.0.0.1, scanned through it by `moat admission serve` with a small database built by
# `moat db build` (one HIGH npm advisory, one Debian advisory that CISA KEV lists); the second
# admission of an image served from the cache (/metrics), a configuration reload that keeps the
# cache, a database replaced under the webhook (verdicts renewed), a registry behind a slow proxy
# (the fallback, allow+warn then deny, while the scan finishes in the background); cosign
# signatures made with openssl and pushed through the registry API with curl: signed, unsigned,
# signed with another key, and a valid signature copied next to another image (wrong digest).
# Usage: tests/admission_gate_test.sh PATH/TO/moat
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/common.sh
. "$HERE/lib/common.sh"
# shellcheck source=lib/cli_test.sh
. "$HERE/lib/cli_test.sh"
# shellcheck source=lib/registry.sh
. "$HERE/lib/registry.sh"
# shellcheck source=lib/scan_fixtures.sh
. "$HERE/lib/scan_fixtures.sh"

start_cli_test "$@"
trap 'run_cleanups; rm -rf "$WORK"' EXIT
for tool in curl openssl jq python3 skopeo docker-registry; do
  command -v "$tool" >/dev/null || { echo "FAIL missing $tool (scripts/install-deps.sh test)"; exit 1; }
done
cd "$WORK" || exit 1

# --- the vulnerability database: left-pad 1.3.0 HIGH, zlib LOW and in CISA KEV -------------------
build_test_database "$MOAT" "$WORK/db" || die "moat db build failed"
cat >"$WORK/kev.json" <<'KEV'
{"title": "CISA Catalog of Known Exploited Vulnerabilities", "dateReleased": "2024-06-01T00:00:00Z",
 "vulnerabilities": [{"cveID": "CVE-2023-45853", "vendorProject": "zlib", "product": "zlib",
                      "dateAdded": "2024-05-01"}]}
KEV
"$MOAT" db build -q --osv "$WORK/db/osv" --debian-tracker "$WORK/db/debian.json" \
  --kev "$WORK/kev.json" -o "$WORK/gate.db" || die "moat db build --kev failed"

# --- images: one vulnerable root, one clean root, variants with a marker file (other digests) ----
write_debian_root "$WORK/vulnerable"
mkdir -p "$WORK/clean/etc" "$WORK/clean/var/lib/dpkg"
cp "$WORK/vulnerable/etc/os-release" "$WORK/clean/etc/"
printf 'Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\nSource: openssl\nVersion: 3.0.11-1~deb12u2\n' \
  >"$WORK/clean/var/lib/dpkg/status"
start_registry "$WORK/registry" || die "docker-registry did not start"
REG=$REGISTRY_ADDR
push_image() {  # push_image ROOT NAME:TAG [MARKER]: a variant of ROOT with /etc/marker, pushed
  local root=$1 ref=$2 marker=${3:-}
  rm -rf "$WORK/variant" && cp -a "$root" "$WORK/variant"
  [ -n "$marker" ] && echo "$marker" >"$WORK/variant/etc/marker"
  write_docker_archive "$WORK/variant" "$WORK/image.tar" "$ref"
  skopeo copy -q --dest-tls-verify=false "docker-archive:$WORK/image.tar" "docker://$REG/$ref" \
    >/dev/null 2>"$WORK/skopeo.err" || die "push $ref: $(cat "$WORK/skopeo.err")"
}
digest_of() { skopeo inspect --tls-verify=false "docker://$REG/$1" | jq -r .Digest; }
push_image "$WORK/vulnerable" app:1
push_image "$WORK/clean" clean:1
push_image "$WORK/vulnerable" slow:1 slow
push_image "$WORK/vulnerable" slow2:1 slow2
push_image "$WORK/vulnerable" fresh:1 fresh
for name in signed unsigned badsig retag; do push_image "$WORK/clean" "$name:1" "$name"; done
APP_DIGEST=$(digest_of app:1)

# --- cosign signatures: keys and payloads made with openssl, pushed with the registry API --------
openssl ecparam -name prime256v1 -genkey -noout -out cosign.key 2>/dev/null
openssl ec -in cosign.key -pubout -out cosign.pub 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out other.key 2>/dev/null
upload_blob() {  # upload_blob REPO FILE: monolithic upload; prints the digest
  local digest location
  digest="sha256:$(sha256sum "$2" | cut -d' ' -f1)"
  location=$(curl -sS -X POST -D - -o /dev/null "http://$REG/v2/$1/blobs/uploads/" |
    tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
  case $location in http*) ;; *) location="http://$REG$location" ;; esac
  curl -sSf -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$2" \
    "$location$([[ $location == *\?* ]] && echo '&' || echo '?')digest=$digest" >/dev/null || return 1
  echo "$digest"
}
# sign REPO SIGNED_DIGEST TARGET_DIGEST KEY: a simple-signing payload naming SIGNED_DIGEST, signed
# with KEY, pushed as the signature of TARGET_DIGEST (cosign's sha256-<hex>.sig tag).
sign() {
  local repo=$1 signed=$2 target=$3 key=$4 payload_digest config_digest signature
  printf '{"critical":{"identity":{"docker-reference":"%s"},"image":{"docker-manifest-digest":"%s"},"type":"cosign container image signature"},"optional":null}' \
    "$REG/$repo" "$signed" >payload.json
  openssl dgst -sha256 -sign "$key" -out payload.sig payload.json
  signature=$(base64 -w0 payload.sig)
  printf '{"architecture":"","os":"","rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"config":{}}' \
    "$(sha256sum payload.json | cut -d' ' -f1)" >sig-config.json
  payload_digest=$(upload_blob "$repo" payload.json) || return 1
  config_digest=$(upload_blob "$repo" sig-config.json) || return 1
  jq -n --arg c "$config_digest" --argjson cs "$(stat -c %s sig-config.json)" \
    --arg p "$payload_digest" --argjson ps "$(stat -c %s payload.json)" --arg s "$signature" \
    '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {mediaType: "application/vnd.oci.image.config.v1+json", size: $cs, digest: $c},
      layers: [{mediaType: "application/vnd.dev.cosign.simplesigning.v1+json", size: $ps,
                digest: $p, annotations: {"dev.cosignproject.cosign/signature": $s}}]}' >sig.json
  curl -sSf -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary @sig.json "http://$REG/v2/$repo/manifests/sha256-${target#sha256:}.sig" >/dev/null
}
SIGNED_DIGEST=$(digest_of signed:1)
is sign-signed sign signed "$SIGNED_DIGEST" "$SIGNED_DIGEST" cosign.key
is sign-badsig sign badsig "$(digest_of badsig:1)" "$(digest_of badsig:1)" other.key
# retag:1 is another image; the valid signature of signed:1 copied to its .sig tag.
is sign-retag sign retag "$SIGNED_DIGEST" "$(digest_of retag:1)" cosign.key
is sig-tag-pushed test "$(skopeo inspect --tls-verify=false --raw \
  "docker://$REG/signed:sha256-${SIGNED_DIGEST#sha256:}.sig" | jq -r '.layers[0].mediaType')" = \
  application/vnd.dev.cosign.simplesigning.v1+json

# --- a registry that answers slowly: a proxy that waits before each request -----------------------
cat >slow_proxy.py <<'PY'
import http.server, sys, time, urllib.error, urllib.request
upstream, delay, port_file = sys.argv[1], float(sys.argv[2]), sys.argv[3]
class Proxy(http.server.BaseHTTPRequestHandler):
    def forward(self):
        time.sleep(delay)
        headers = {k: v for k, v in self.headers.items() if k.lower() in ("accept", "authorization")}
        request = urllib.request.Request(upstream + self.path, method=self.command, headers=headers)
        try:
            reply = urllib.request.urlopen(request)
        except urllib.error.HTTPError as e:
            reply = e
        body = reply.read()
        self.send_response(reply.getcode())
        for k, v in reply.headers.items():
            if k.lower() in ("content-type", "docker-content-digest", "www-authenticate"):
                self.send_header(k, v)
        self.send_header("Content-Length", reply.headers.get("Content-Length", str(len(body))))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
    do_GET = do_HEAD = forward
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
open(port_file, "w").write(str(server.server_address[1]))
server.serve_forever()
PY
python3 slow_proxy.py "http://$REG" 2 slow.port &
PROXY_PID=$!
push_cleanup "stop_pid $PROXY_PID 5"
wait_until 10 test -s slow.port || die "slow proxy did not start"
SLOW=127.0.0.1:$(cat slow.port)

# --- the webhook ----------------------------------------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout tls.key -out tls.crt 2>/dev/null
write_config() {  # write_config SEVERITY KEV FALLBACK
  cat >admission.yaml.new <<EOF
deadline: 8s
imageGate:
  severity: $1
  kev: $2
  fallback: $3
  scanTimeout: 5s
  cacheDir: $WORK/layers
  db: $WORK/gate.db
registries:
  insecure: ["127.0.0.1:*"]
signatures:
  keys: [$WORK/cosign.pub]
  images: ["127.0.0.1:*"]
policies:
- checks: [image-vulnerabilities]
  action: deny
  namespaces: [prod]
  exemptImages: ["*/exempt:*"]
- checks: [image-signature]
  action: deny
  namespaces: [signed]
EOF
  mv admission.yaml.new admission.yaml
}
write_config HIGH true allow
expect check-config 0 "$MOAT" admission check-config admission.yaml
is check-config-counts grep -q 'checks: 2 deny' check-config.out
"$MOAT" admission serve --config admission.yaml --listen 127.0.0.1:0 --tls-cert tls.crt \
  --tls-key tls.key 2>serve.log &
SERVER_PID=$!
push_cleanup "stop_pid $SERVER_PID 10"
wait_until 30 grep -q 'https://127.0.0.1:' serve.log || { cat serve.log; die "webhook did not start"; }
URL=$(grep -o 'https://127.0.0.1:[0-9]*' serve.log | head -n 1)

n=0
# admit NS IMAGE: POSTs a CREATE of a pod running IMAGE in NS; the response body in last.json.
admit() {
  n=$((n + 1))
  jq -n --arg ns "$1" --arg image "$2" --arg uid "uid-$n" \
    '{apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview",
      request: {uid: $uid, kind: {group: "", version: "v1", kind: "Pod"},
                resource: {group: "", version: "v1", resource: "pods"}, namespace: $ns,
                name: "p", operation: "CREATE", userInfo: {username: "alice"}, dryRun: false,
                object: {apiVersion: "v1", kind: "Pod", metadata: {name: "p", namespace: $ns},
                         spec: {containers: [{name: "app", image: $image}]}}}}' >req.json
  curl -sS --cacert tls.crt -H 'Content-Type: application/json' --data-binary @req.json \
    "$URL/validate" >last.json
}
allowed() { jq -e '.response.allowed == true' last.json >/dev/null; }
denied_with() { jq -e --arg m "$1" '.response.allowed == false and (.response.status.message | contains($m))' last.json >/dev/null; }
warned_with() { jq -e --arg m "$1" '.response.allowed == true and any(.response.warnings[]?; contains($m))' last.json >/dev/null; }
metric() {  # metric NAME LABEL=VALUE: the counter's value now
  curl -sS --cacert tls.crt "$URL/metrics" | awk -v key="$1{$2}" '$1 == key { print $2 }'
}
show() { jq -c .response last.json; }
# reload_config SEVERITY KEV FALLBACK: rewrites the configuration and waits for the reload.
reload_config() {
  local before
  before=$(metric moat_admission_config_reloads_total 'result="ok"')
  write_config "$@"
  wait_until 15 reloads_above "${before:-0}"
}
reloads_above() { test "$(metric moat_admission_config_reloads_total 'result="ok"')" -gt "$1"; }

# --- image gate -----------------------------------------------------------------------------------
admit prod "$REG/app:1"
is gate-vulnerable-denied denied_with "image-vulnerabilities: image \"$REG/app:1\" (${APP_DIGEST:0:19}) has 1 vulnerability at or above high: GHSA-test-0001 (high, left-pad 1.3.0, fixed in 1.3.1); 1 in CISA KEV: CVE-2023-45853"
is gate-names-the-field denied_with "(spec.containers[0].image)"
show
is gate-first-is-a-miss test "$(metric moat_admission_image_cache_total 'result="miss"')" = 1
is gate-one-scan test "$(metric moat_admission_image_scans_total 'result="ok"')" = 1
admit prod "$REG/app:1"
is gate-second-denied denied_with "GHSA-test-0001"
is gate-second-is-a-hit test "$(metric moat_admission_image_cache_total 'result="hit"')" = 1
is gate-second-no-scan test "$(metric moat_admission_image_scans_total 'result="ok"')" = 1
admit prod "$REG/app@$APP_DIGEST"
is gate-digest-reference-from-cache denied_with "GHSA-test-0001"
is gate-digest-is-a-hit test "$(metric moat_admission_image_cache_total 'result="hit"')" = 2
admit prod "$REG/clean:1"
is gate-clean-allowed allowed
admit dev "$REG/app:1"
is gate-other-namespace-allowed allowed
admit prod "$REG/nosuch:1"
is gate-never-scanned-denied denied_with "image \"$REG/nosuch:1\" was not scanned"
show
admit prod "$REG/exempt:1"
is gate-exempt-image-not-looked-at allowed

# A reload to severity CRITICAL keeps the cache: KEV alone denies, then nothing.
scans=$(metric moat_admission_image_scans_total 'result="ok"')
is reload-critical reload_config CRITICAL true allow
admit prod "$REG/app:1"
is reload-kev-only denied_with "1 in CISA KEV: CVE-2023-45853 (low, zlib1g 1:1.2.13.dfsg-1, fixed in 1:1.2.13.dfsg-2)"
show
is reload-kev-off reload_config CRITICAL false allow
admit prod "$REG/app:1"
is reload-kev-off-allowed allowed
is reload-kept-the-cache test "$(metric moat_admission_image_scans_total 'result="ok"')" = "$scans"

# A new database (without the advisories) renews the verdicts: app:1 is scanned again.
is reload-high reload_config HIGH true allow
back_to_high() { admit prod "$REG/app:1"; denied_with "at or above high"; }
is reload-back-to-high back_to_high
"$MOAT" db build -q --debian-tracker "$WORK/db/debian.json" -o "$WORK/gate.db.new" &&
  mv "$WORK/gate.db.new" "$WORK/gate.db"
rescanned() { admit prod "$REG/app:1"; allowed; }
is db-change-renews-verdict wait_until 15 rescanned
is db-change-scanned-again test "$(metric moat_admission_image_scans_total 'result="ok"')" -gt "$scans"
cp "$WORK/db/moat.db" "$WORK/gate.db.new" && mv "$WORK/gate.db.new" "$WORK/gate.db"
is db-back wait_until 15 back_to_high

# A slow registry: 2 s per request, a scan needs several; the request waits 5 s (scanTimeout).
t0=$SECONDS
admit prod "$SLOW/slow:1"
is fallback-allow-warns warned_with "image \"$SLOW/slow:1\" has no scan yet: the scan did not finish within 5000 ms and goes on in the background (fallback allow)"
show
is fallback-answered-in-time test $((SECONDS - t0)) -lt 8
is fallback-counted test "$(metric moat_admission_image_fallbacks_total 'reason="timeout"')" = 1
slow_done() { admit prod "$SLOW/slow:1"; denied_with "GHSA-test-0001"; }
is fallback-background-scan-finishes wait_until 60 slow_done
is reload-fallback-deny reload_config HIGH true deny
admit prod "$SLOW/slow2:1"
is fallback-deny denied_with "image \"$SLOW/slow2:1\" has no scan yet: the scan did not finish within 5000 ms and goes on in the background (fallback deny)"
show

# --- signatures ------------------------------------------------------------------------------------
admit signed "$REG/signed:1"
is signature-valid-allowed allowed
show
admit signed "$REG/signed@$SIGNED_DIGEST"
is signature-by-digest-allowed allowed
admit signed "$REG/unsigned:1"
is signature-unsigned-denied denied_with "image-signature: image \"$REG/unsigned:1\": not signed: no signature sha256-"
show
admit signed "$REG/badsig:1"
is signature-other-key-denied denied_with "bad signature: none of the 1 signatures in sha256-"
show
admit signed "$REG/retag:1"
is signature-copied-denied denied_with "wrong digest: the signature in sha256-$(digest_of retag:1 | cut -c8-).sig was made for $SIGNED_DIGEST"
show
# The tag moved: signed:1 now names the unsigned app image.
skopeo copy -q --src-tls-verify=false --dest-tls-verify=false "docker://$REG/app:1" \
  "docker://$REG/signed:1" >/dev/null 2>&1
admit signed "$REG/signed:1"
is signature-moved-tag-denied denied_with "not signed: no signature sha256-${APP_DIGEST#sha256:}.sig"
is signature-metrics test "$(metric moat_admission_image_signatures_total 'result="verified"')" = 2
is webhook-still-serving curl -sf --cacert tls.crt "$URL/healthz"

# --- the audit runs the image policies too: the same verdicts on manifests ---------------------------
cat >running.yaml <<EOF
apiVersion: v1
kind: Pod
metadata: {name: vulnerable, namespace: prod}
spec:
  containers:
  - name: app
    image: $REG/app@$APP_DIGEST
---
apiVersion: v1
kind: Pod
metadata: {name: clean, namespace: prod}
spec:
  containers: [{name: app, image: "$REG/clean:1"}]
---
apiVersion: v1
kind: Pod
metadata: {name: unsigned, namespace: signed}
spec:
  containers: [{name: app, image: "$REG/unsigned:1"}]
EOF
expect audit-images 3 "$MOAT" admission audit --config admission.yaml running.yaml --format json \
  --exit-code 3
audit_has() {  # audit_has CHECK POD MESSAGE_PART
  jq -e --arg c "$1" --arg o "$2" --arg m "$3" \
    'any(.resources[] | select(.name == $o) | .findings[]; .checkId == $c and (.message | contains($m)))' \
    audit-images.out >/dev/null
}
is audit-gate-finding audit_has image-vulnerabilities vulnerable "[deny] image \"$REG/app@$APP_DIGEST\""
is audit-gate-line jq -e 'any(.resources[].findings[]; .checkId == "image-vulnerabilities" and .line == 7)' audit-images.out
is audit-signature-finding audit_has image-signature unsigned "not signed"
is audit-clean-passes jq -e '.resources[] | select(.name == "clean") | .status == "pass"' audit-images.out
is audit-check-summary jq -e '.checks[] | select(.id == "image-vulnerabilities") | .failed == 1 and .passed == 1' audit-images.out

finish_cli_test admission_gate
