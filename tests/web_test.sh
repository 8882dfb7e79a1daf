#!/usr/bin/env bash
# The dashboard in a real browser: a real `moat server` (SQLite) filled through its API with real
# scans of test images pushed to a real docker-registry, a real `moat agent` report and posted
# alerts in the Alert shape; then tests/web/dashboard.mjs drives Debian's headless Chromium with
# playwright-core through every page (console errors, the overview's numbers against the API's,
# drill-down by clicks, triage by role, axe-core, keyboard, first-load time and JS size) and saves
# a screenshot of each page.
# Usage: tests/web_test.sh PATH/TO/moat   (screenshots: $MOAT_WEB_TEST_OUT, default ./web-test)
# Exits 77 (ctest: skipped) only when chromium is not installed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib/common.sh
source "$here/lib/common.sh"
# shellcheck source=lib/cli_test.sh
source "$here/lib/cli_test.sh"
# shellcheck source=lib/registry.sh
source "$here/lib/registry.sh"
# shellcheck source=lib/scan_fixtures.sh
source "$here/lib/scan_fixtures.sh"

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
  echo "SKIP web: $CHROMIUM is not installed (scripts/install-deps.sh test installs Debian's chromium)"
  exit 77
fi
web_dir="$here/../web"
for module in playwright-core axe-core; do
  [ -d "$web_dir/node_modules/$module" ] ||
    { echo "FAIL web: web/node_modules/$module is missing: the build runs npm ci in web/ (is npm installed?)"; exit 1; }
done

start_cli_test "$@"
trap 'run_cleanups; rm -rf "$WORK"' EXIT
OUT=$(realpath -m "${MOAT_WEB_TEST_OUT:-web-test}")
rm -rf "$OUT" && mkdir -p "$OUT"

# The vulnerability database: every severity, a CVSS vector, a KEV entry and an EPSS score, for
# the packages write_debian_root installs (npm left-pad 1.3.0, Debian zlib and openssl).
db="$WORK/db"
mkdir -p "$db/osv"
cat >"$db/osv/GHSA-test-0001.json" <<'OSV'
{"id": "GHSA-test-0001", "modified": "2024-01-01T00:00:00Z", "published": "2024-01-01T00:00:00Z",
 "summary": "left-pad: a denial of service in padding",
 "database_specific": {"severity": "HIGH"},
 "affected": [{"package": {"ecosystem": "npm", "name": "left-pad"},
               "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.3.1"}]}]}]}
OSV
cat >"$db/osv/GHSA-test-0002.json" <<'OSV'
{"id": "GHSA-test-0002", "modified": "2024-02-01T00:00:00Z", "published": "2024-02-01T00:00:00Z",
 "summary": "left-pad: code execution through a crafted padding string",
 "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
 "database_specific": {"severity": "CRITICAL"},
 "affected": [{"package": {"ecosystem": "npm", "name": "left-pad"},
               "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}]}]}
OSV
cat >"$db/debian.json" <<'DEB'
{"zlib": {"CVE-2023-45853": {"description": "zlib: integer overflow in zipOpenNewFileInZip4_6",
  "releases": {"bookworm": {"status": "resolved", "fixed_version": "1:1.2.13.dfsg-2",
                            "urgency": "low", "repositories": {"bookworm": "1:1.2.13.dfsg-1"}}}}},
 "openssl": {"CVE-2023-5678": {"description": "openssl: excessive time in DH key checks",
  "releases": {"bookworm": {"status": "resolved", "fixed_version": "3.0.13-1~deb12u1",
                            "urgency": "medium", "repositories": {"bookworm": "3.0.11-1~deb12u2"}}}}}}
DEB
cat >"$db/kev.json" <<'KEV'
{"title": "CISA Catalog of Known Exploited Vulnerabilities", "catalogVersion": "2026.12.01",
 "vulnerabilities": [{"cveID": "CVE-2023-45853", "vendorProject": "zlib", "product": "zlib",
                      "dateAdded": "2026-11-30"}]}
KEV
printf '#model_version:v2025.03.14,score_date:2026-12-01T00:00:00+0000\ncve,epss,percentile\nCVE-2023-45853,0.01234,0.71\nCVE-2023-5678,0.00210,0.40\n' >"$db/epss.csv"
"$MOAT" db build -q --osv "$db/osv" --debian-tracker "$db/debian.json" --kev "$db/kev.json" \
  --epss "$db/epss.csv" -o "$db/moat.db" || die "moat db build failed"

# Two images: the app (vulnerable) and a base with nothing to find.
write_debian_root "$WORK/app"
# libssl3's file list, as dpkg keeps it: the scan's file index finds its library in use below.
mkdir -p "$WORK/app/var/lib/dpkg/info"
printf '/.\n/usr\n/usr/lib\n/usr/lib/x86_64-linux-gnu\n/usr/lib/x86_64-linux-gnu/libssl.so.3\n' \
  >"$WORK/app/var/lib/dpkg/info/libssl3:amd64.list"
write_docker_archive "$WORK/app" "$WORK/app.tar" app:1
mkdir -p "$WORK/base/etc"
printf 'ID=debian\nVERSION_ID="12"\n' >"$WORK/base/etc/os-release"
write_docker_archive "$WORK/base" "$WORK/base.tar" base:1

SERVER_PORT=$(free_port)
SERVER_URL="http://127.0.0.1:$SERVER_PORT"
data="$WORK/server"
mkdir -p "$data"
"$MOAT" server --listen "127.0.0.1:$SERVER_PORT" --data "$data" --db "$db/moat.db" \
  >"$WORK/server.log" 2>&1 &
server_pid=$!
push_cleanup "stop_pid $server_pid 10"
server_healthy() { curl -sf "$SERVER_URL/healthz" >/dev/null; }
wait_until 30 server_healthy || { tail -n 20 "$WORK/server.log"; die "moat server did not start"; }
ADMIN_TOKEN=$(cat "$data/admin.token")

api() {
  local token=$1 method=$2 path=$3 body=${4:-}
  curl -s -X "$method" -H "Authorization: Bearer $token" \
    ${body:+-H 'Content-Type: application/json' --data-binary "$body"} "$SERVER_URL$path"
}
new_token() { api "$ADMIN_TOKEN" POST /api/v1/tokens "{\"name\":\"$1\",\"role\":\"$2\"}" | jq -r .token; }
AGENT_TOKEN=$(new_token registry agent)
ANALYST_TOKEN=$(new_token alice analyst)
READER_TOKEN=$(new_token bob reader)
is "tokens for each role" test -n "$AGENT_TOKEN" -a -n "$ANALYST_TOKEN" -a -n "$READER_TOKEN"

is "the page is served without a token" \
  test "$(curl -s -o /dev/null -w '%{http_code} %{content_type}' "$SERVER_URL/")" = "200 text/html; charset=utf-8"

REGISTRY_EXTRA_CONFIG=$(registry_notifications_to "$SERVER_URL/api/v1/registry-events" "$AGENT_TOKEN")
start_registry "$WORK/registry" || die "docker-registry did not start"
unset REGISTRY_EXTRA_CONFIG
api "$ADMIN_TOKEN" POST /api/v1/registries "{\"name\":\"local\",\"url\":\"http://$REGISTRY_ADDR\"}" >/dev/null
for image in app base; do
  skopeo copy -q --dest-tls-verify=false "docker-archive:$WORK/$image.tar" \
    "docker://$REGISTRY_ADDR/$image:1" >/dev/null 2>"$WORK/skopeo.err" || die "push: $(cat "$WORK/skopeo.err")"
done
scanned_count() {
  [ "$(api "$ADMIN_TOKEN" GET /api/v1/images | jq '[.items[] | select(.scan_status == "scanned")] | length')" = 2 ]
}
is "both pushed images are scanned" wait_until 60 scanned_count

# A real agent's report (no Docker engine: the report says so) and its heartbeat.
"$MOAT" agent --server "$SERVER_URL" --token "$AGENT_TOKEN" --name web-host \
  --spool "$WORK/spool" --docker-host "unix://$WORK/no-docker.sock" --once --timeout 30s \
  >"$WORK/agent.log" 2>&1
is "the agent reported" test "$(api "$ADMIN_TOKEN" GET /api/v1/agents | jq '.items | length')" = 1

# Alerts in the Alert shape (docs/alerts.md) over the last day, of several priorities.
alerts=$(python3 - <<'PY'
import datetime, json
now = datetime.datetime.now(datetime.timezone.utc).replace(minute=0, second=0, microsecond=0)
rules = [("Reverse shell", "Critical", "execution", "T1059.004"),
         ("Crypto miner started", "Error", "impact", "T1496"),
         ("Shell in container", "Warning", "execution", "T1059"),
         ("Sensitive file read", "Notice", "credential-access", "T1003")]
alerts = []
for hour in range(0, 24, 3):
    for n, (rule, priority, tactic, technique) in enumerate(rules):
        if (hour + n) % 2:
            continue
        when = now - datetime.timedelta(hours=hour, minutes=5 * n)
        alerts.append({"time": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "rule": rule,
                       "priority": priority, "source": "syscall", "hostname": "web-host",
                       "tags": ["K8S.NODE_ReverseShell"] if n == 0 else [],
                       "mitre": [{"tactic": tactic, "technique_id": technique}],
                       "output": f"{rule} in container web-{hour} (user=root)",
                       "container": {"id": f"c{hour:02d}{n}", "name": f"web-{hour}",
                                     "image": "app:1"},
                       "proc": {"pid": 4242, "ppid": 4200, "name": "bash", "cmdline": "bash -i",
                                "user": "root",
                                "ancestors": [{"pid": 4200, "name": "sh", "cmdline": "sh -c bash -i"},
                                              {"pid": 1, "name": "nginx",
                                               "cmdline": "nginx: master process"}]}})
print(json.dumps(alerts))
PY
)
is "alerts are accepted" \
  test "$(api "$AGENT_TOKEN" POST /api/v1/alerts "$alerts" | jq .accepted)" = "$(jq length <<<"$alerts")"

# A host with CIS Docker Benchmark results (the JSON of `moat bench docker`) running the app
# image, and a cluster running it in a Deployment, through the agents' ingest route.
APP_DIGEST=$(api "$ADMIN_TOKEN" GET '/api/v1/images?repository=app' | jq -r '.items[0].digest')
is "the app image is found by repository" test "${APP_DIGEST#sha256:}" != "$APP_DIGEST"
api "$AGENT_TOKEN" POST /api/v1/agents/register '{"name":"cis-host","kind":"host","version":"test","hostname":"cis-host"}' >/dev/null
api "$AGENT_TOKEN" POST /api/v1/agents/register '{"name":"prod","kind":"cluster","version":"test","hostname":"agent-pod"}' >/dev/null
host_report=$(APP_DIGEST=$APP_DIGEST python3 - <<'PY'
import json, os
check = lambda id, result, title, evidence="": {"id": id, "result": result, "title": title, "level": 1,
    "evidence": evidence, "remediation": f"See CIS Docker Benchmark {id}"}
report = {"controls": [
  {"id": "2", "text": "Docker daemon configuration", "groups": [{"checks": [
    check("2.1", "PASS", "Run the Docker daemon as a non-root user, if possible"),
    check("2.2", "FAIL", "Ensure network traffic is restricted between containers on the default bridge",
          "icc is true on the default bridge"),
    check("2.10", "FAIL", "Ensure that authorization for Docker client commands is enabled",
          "no authorization plugin is configured")]}]},
  {"id": "5", "text": "Container Runtime", "groups": [{"checks": [
    check("5.4", "FAIL", "Ensure that privileged containers are not used", "app: Privileged=true"),
    check("5.5", "PASS", "Ensure sensitive host system directories are not mounted on containers")]}]}]}
body = {"host": {"name": "cis-host", "os": "Debian GNU/Linux 12", "kernel": "6.1.0", "docker_version": "20.10.24"},
        "containers": [{"id": "f00d" * 16, "name": "app", "image": "app:1", "image_id": "sha256:" + "e" * 64,
                        "image_digest": os.environ["APP_DIGEST"], "state": "running", "started_at": "2026-12-01T00:00:00Z"}],
        "cis": report}
print(json.dumps({"messages": [{"seq": 1, "type": "host_report", "body": body}]}))
PY
)
is "a host report with CIS results is stored" \
  test "$(api "$AGENT_TOKEN" POST /api/v1/agents/cis-host/messages "$host_report" | jq .acked_through)" = 1
# The sensor's in-use export of that host: the app container loaded libssl.so.3.
in_use=$(python3 - <<'PY'
import json
body = {"format": "moat-in-use/1", "node": "cis-host", "generated": "2026-12-02T17:40:00Z",
        "containers": [{"id": "f00d" * 16, "name": "app", "image": "app:1", "image_digest": "",
                        "executables": ["/usr/bin/app"],
                        "libraries": ["/lib/x86_64-linux-gnu/libssl.so.3"]}]}
print(json.dumps({"messages": [{"seq": 2, "type": "in_use", "body": body}]}))
PY
)
is "an in-use export is stored" \
  test "$(api "$AGENT_TOKEN" POST /api/v1/agents/cis-host/messages "$in_use" | jq .acked_through)" = 2
is "in use: only the finding in libssl3 is marked" test \
  "$(api "$READER_TOKEN" GET "/api/v1/findings?resource_id=$APP_DIGEST&in_use=true" | jq -r '[.items[] | "\(.package) \(.finding_id)"] | join(",")')" = "libssl3 CVE-2023-5678"
cluster_report=$(APP_DIGEST=$APP_DIGEST python3 - <<'PY'
import json, os
body = {"cluster": {"name": "prod", "uid": "5d0c3a2e", "server": "https://10.0.0.1:6443", "context": "in-cluster",
                    "checks_passed": 18, "checks_failed": 2},
        "namespaces": ["default", "shop"],
        "workloads": [{"kind": "Deployment", "namespace": "shop", "name": "cart",
                       "containers": [{"name": "cart", "image": "app:1", "image_digest": os.environ["APP_DIGEST"]}]}],
        "findings": [{"check": "wl-privileged", "severity": "HIGH", "kind": "Deployment", "namespace": "shop",
                      "name": "cart", "path": "spec.template.spec.containers[0].securityContext.privileged",
                      "message": "privileged: true", "title": "Privileged container", "group": "workloads",
                      "remediation": "Remove privileged: true"},
                     {"check": "wl-cpu-limits", "severity": "MEDIUM", "kind": "Deployment", "namespace": "shop",
                      "name": "cart", "path": "spec.template.spec.containers[0].resources", "message": "no CPU limit",
                      "title": "CPU limit", "group": "workloads", "remediation": "Set resources.limits.cpu"}],
        "nodes": [{"name": "node-1", "kubelet_version": "v1.29.2", "os_image": "Debian GNU/Linux 12 (bookworm)",
                   "kernel": "6.1.0-27-amd64", "container_runtime": "containerd://1.6.20", "architecture": "amd64",
                   "ready": "True", "roles": ["control-plane"],
                   "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                   "message": "kubelet is posting ready status"}],
                   "pods": [{"namespace": "shop", "name": "cart-5f8c9d6b47-qdx7k", "phase": "Running",
                             "containers": 1, "workload_kind": "Deployment", "workload_name": "cart"}]},
                  {"name": "node-2", "kubelet_version": "v1.29.2", "os_image": "Debian GNU/Linux 12 (bookworm)",
                   "kernel": "6.1.0-27-amd64", "container_runtime": "containerd://1.6.20", "architecture": "amd64",
                   "ready": "False", "unschedulable": True,
                   "conditions": [{"type": "Ready", "status": "False", "reason": "KubeletNotReady",
                                   "message": "container runtime network not ready"}]}],
        "admission_audit": {"objects": 4, "results": [
            {"kind": "Deployment", "namespace": "shop", "name": "cart", "policy": "pss-baseline-privileged",
             "action": "deny", "path": "spec.template.spec.containers[0].securityContext.privileged",
             "message": "container \"cart\" is privileged"},
            {"kind": "Deployment", "namespace": "shop", "name": "cart", "policy": "wl-cpu-limits",
             "action": "warn", "path": "spec.template.spec.containers[0].resources",
             "message": "container \"cart\" has no CPU limit"}]}}
print(json.dumps({"messages": [{"seq": 1, "type": "cluster_report", "body": body}]}))
PY
)
is "a cluster report is stored" \
  test "$(api "$AGENT_TOKEN" POST /api/v1/agents/prod/messages "$cluster_report" | jq .acked_through)" = 1

# The summary against the listings it sums up (the browser test compares the page with both).
summary=$(api "$ADMIN_TOKEN" GET /api/v1/summary)
all_images=$(api "$ADMIN_TOKEN" GET '/api/v1/images?limit=1000')
is "summary: images total and vulnerable equal the listing's" test \
  "$(jq '.images.total, .images.vulnerable' <<<"$summary" | paste -sd' ')" = \
  "$(jq '(.items | length), ([.items[] | select(.vulnerabilities | .critical + .high + .medium + .low + .unknown > 0)] | length)' <<<"$all_images" | paste -sd' ')"
is "summary: the app image runs and has a KEV finding, and ranks first" test \
  "$(jq -r '.images.top[0] | "\(.digest) \(.risk.running) \(.risk.kev > 0)"' <<<"$summary")" = "$APP_DIGEST true true"
is "summary: the CIS host's score is passed of assessed (2 of 5)" test \
  "$(jq -r '.hosts[] | select(.id == "cis-host") | "\(.passed) \(.failed) \(.percent)"' <<<"$summary")" = "2 3 40"
is "images: ?running=true&kev=true lists only the app image" test \
  "$(api "$ADMIN_TOKEN" GET '/api/v1/images?running=true&kev=true' | jq -r '[.items[].digest] | join(",")')" = "$APP_DIGEST"
is "images: a bad filter is a 400" test \
  "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $READER_TOKEN" "$SERVER_URL/api/v1/images?severity=SEVERE")" = 400

# The SBOMs of the app image: CycloneDX and SPDX documents with one component/package per
# package of the stored inventory.
packages=$(api "$ADMIN_TOKEN" GET "/api/v1/images/$APP_DIGEST" | jq '.inventory.packages | length')
api "$READER_TOKEN" GET "/api/v1/images/$APP_DIGEST/sbom?format=cyclonedx" >"$WORK/app.cdx.json"
api "$READER_TOKEN" GET "/api/v1/images/$APP_DIGEST/sbom?format=spdx" >"$WORK/app.spdx.json"
is "sbom: CycloneDX with every package ($packages)" test \
  "$(jq -r '"\(.bomFormat) \([.components[] | select(.type == "library" or .type == "application" or .type == "framework")] | length)"' "$WORK/app.cdx.json")" = "CycloneDX $packages"
is "sbom: SPDX 2.3 with every package" test \
  "$(jq -r '"\(.spdxVersion) \([.packages[] | select(.SPDXID | startswith("SPDXRef-Package-"))] | length)"' "$WORK/app.spdx.json")" = "SPDX-2.3 $packages"

# The live stream: an alert posted while a client listens arrives as a server-sent event.
curl -sN --max-time 6 -H "Authorization: Bearer $READER_TOKEN" -H 'Accept: text/event-stream' \
  "$SERVER_URL/api/v1/alerts/stream" >"$WORK/sse.out" 2>/dev/null &
sse_pid=$!
sleep 1
api "$AGENT_TOKEN" POST /api/v1/alerts "[{\"time\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\",\"rule\":\"Stream probe\",\"priority\":\"Warning\",\"output\":\"a probe for the stream\",\"tags\":[],\"mitre\":[]}]" >/dev/null
wait "$sse_pid"
is "alerts/stream: the new alert arrives as an event" grep -q '"rule":"Stream probe"' "$WORK/sse.out"
is "alerts/stream: without Accept: text/event-stream it is a 406" test \
  "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "Authorization: Bearer $READER_TOKEN" "$SERVER_URL/api/v1/alerts/stream")" = 406

# Testing a registry's connection: the real docker-registry answers, a closed port does not.
registry_id=$(api "$ADMIN_TOKEN" GET /api/v1/registries | jq '.items[0].id')
is "registries: the test of the local registry succeeds" test \
  "$(api "$ADMIN_TOKEN" POST "/api/v1/registries/$registry_id/test" '{}' | jq .ok)" = true
dead_id=$(api "$ADMIN_TOKEN" POST /api/v1/registries "{\"name\":\"gone\",\"url\":\"http://127.0.0.1:$(free_port)\"}" | jq .id)
is "registries: the test of a closed port fails with a message" test \
  "$(api "$ADMIN_TOKEN" POST "/api/v1/registries/$dead_id/test" '{}' | jq -r '"\(.ok) \(.status) \(.message != "")"')" = "false 0 true"
api "$ADMIN_TOKEN" DELETE "/api/v1/registries/$dead_id" >/dev/null
is "registries: a reader may not test a registry (403)" test \
  "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $READER_TOKEN" -H 'Content-Type: application/json' -d '{}' "$SERVER_URL/api/v1/registries/$registry_id/test")" = 403

# The page's TypeScript and Svelte diagnostics (svelte-check; warnings fail too).
is "svelte-check reports nothing" bash -c "cd '$web_dir' && npm run --silent check"

MOAT_URL=$SERVER_URL ADMIN_TOKEN=$ADMIN_TOKEN ANALYST_TOKEN=$ANALYST_TOKEN \
  READER_TOKEN=$READER_TOKEN AGENT_TOKEN=$AGENT_TOKEN APP_DIGEST=$APP_DIGEST CHROMIUM=$CHROMIUM OUT=$OUT \
  node "$here/web/dashboard.mjs" >"$WORK/browser.out" 2>&1
browser_rc=$?
cat "$WORK/browser.out"
passed=$((passed + $(grep -c '^PASS' "$WORK/browser.out")))
failed=$((failed + $(grep -c '^FAIL' "$WORK/browser.out")))
if [ "$browser_rc" != 0 ] && ! grep -q '^FAIL' "$WORK/browser.out"; then
  fail "the browser test ran to its end" "exit $browser_rc"
fi
log "screenshots and metrics in $OUT"
finish_cli_test web
