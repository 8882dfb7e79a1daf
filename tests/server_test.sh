#!/usr/bin/env bash
# moat server against real components, once on SQLite and once on a private PostgreSQL: a real
# docker-registry that sends its notifications to the server (a push is scanned and its findings
# served within seconds, a pull updates last-pulled, a moved tag keeps the old digest, a delete
# removes it), the first admin token, kill -9 during alert ingest (nothing acknowledged is lost),
# and a restart that keeps everything.
# Usage: tests/server_test.sh PATH/TO/moat
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib/common.sh
source "$here/lib/common.sh"
# shellcheck source=lib/cli_test.sh
source "$here/lib/cli_test.sh"
# shellcheck source=lib/registry.sh
source "$here/lib/registry.sh"
# shellcheck source=lib/postgres.sh
source "$here/lib/postgres.sh"
# shellcheck source=lib/scan_fixtures.sh
source "$here/lib/scan_fixtures.sh"

start_cli_test "$@"
trap 'run_cleanups; rm -rf "$WORK"' EXIT
chmod 755 "$WORK"  # the PostgreSQL server runs as user postgres

build_test_database "$MOAT" "$WORK/db" || die "moat db build failed"
write_debian_root "$WORK/root"
write_docker_archive "$WORK/root" "$WORK/app-v1.tar" app:1
# A second build of the app: the same files and one more, so a different digest.
cp -a "$WORK/root" "$WORK/root2" && echo v2 >"$WORK/root2/etc/app-version"
write_docker_archive "$WORK/root2" "$WORK/app-v2.tar" app:1

SERVER_PID=""
# api METHOD PATH [BODY]: curl with the admin token; prints the body, sets HTTP_CODE.
api() {
  local out
  out=$(curl -s -w '\n%{http_code}' -X "$1" -H "Authorization: Bearer $ADMIN_TOKEN" \
    ${3:+-H 'Content-Type: application/json' --data-binary "$3"} "$SERVER_URL$2")
  HTTP_CODE=${out##*$'\n'}
  printf '%s' "${out%$'\n'*}"
}
# every_alert: each stored alert, every page, as a JSON line.
every_alert() {
  python3 - "$SERVER_URL" "$ADMIN_TOKEN" <<'PY'
import json, sys, urllib.request
url, token = sys.argv[1:]
cursor = ""
while True:
    request = urllib.request.Request(url + "/api/v1/alerts?limit=1000" + ("&cursor=" + cursor if cursor else ""),
                                     headers={"Authorization": "Bearer " + token})
    page = json.load(urllib.request.urlopen(request))
    for item in page["items"]:
        print(json.dumps(item))
    cursor = page["next_cursor"]
    if not cursor:
        break
PY
}
image_scanned() { [ "$(api GET "/api/v1/images/$1" | jq -r .scan_status)" = scanned ]; }
image_gone() { api GET "/api/v1/images/$1" >/dev/null; [ "$HTTP_CODE" = 404 ]; }
image_pulled() { [ -n "$(api GET "/api/v1/images/$1" | jq -r '.locations[0].last_pulled_at')" ]; }
server_healthy() { curl -sf "$SERVER_URL/healthz" >/dev/null; }

start_server() {
  local data=$1; shift
  "$MOAT" server --listen "127.0.0.1:$SERVER_PORT" --data "$data" --db "$WORK/db/moat.db" "$@" \
    >>"$data.log" 2>&1 &
  SERVER_PID=$!
  echo "$SERVER_PID" >"$data.pid"
  push_cleanup "stop_pid $SERVER_PID 10"
  wait_until 30 server_healthy || { tail -n 20 "$data.log" >&2; return 1; }
}

run_suite() {
  local store=$1 data="$WORK/$1" store_args=() digest1 digest2 t0 t1
  shift
  store_args=("$@")
  SERVER_PORT=$(free_port)
  SERVER_URL="http://127.0.0.1:$SERVER_PORT"
  mkdir -p "$data"
  is "$store: server starts" start_server "$data" "${store_args[@]}"
  is "$store: first start writes admin.token with mode 0600" \
    test "$(stat -c %a "$data/admin.token" 2>/dev/null)" = 600
  is "$store: the log says where the admin token is" grep -q "admin.token" "$data.log"
  ADMIN_TOKEN=$(cat "$data/admin.token")
  is "$store: no token, no answer" \
    test "$(curl -s -o /dev/null -w '%{http_code}' "$SERVER_URL/api/v1/images")" = 401
  "$MOAT" server --listen 0.0.0.0:1 --data "$data-x" >"$WORK/listen.out" 2>&1
  is "$store: a non-loopback address without TLS is refused (exit 2, naming loopback)" \
    bash -c "[ $? = 2 ] && grep -q loopback '$WORK/listen.out'"

  # Settings kept in the store. Admission policy modes: the GET body is a `policies:` section
  # that the admission webhook's own configuration parser accepts as it is.
  api PUT /api/v1/admission/policies \
    '{"policies":[{"checks":["pss-baseline","image-vulnerabilities"],"action":"enforce"},{"checks":["wl-*"],"action":"off"}]}' >/dev/null
  is "$store: admission policy modes are stored" test "$HTTP_CODE" = 200
  api GET /api/v1/admission/policies >"$WORK/modes-$store.json"
  is "$store: the modes are a policies: section, canonical and by policy" \
    test "$(jq -cS . "$WORK/modes-$store.json")" = '{"policies":[{"action":"deny","checks":["image-vulnerabilities"]},{"action":"deny","checks":["pss-baseline"]},{"action":"disabled","checks":["wl-*"]}]}'
  # (image-vulnerabilities opens the default vulnerability database: the test's one.)
  mkdir -p "$WORK/cache/moat/db" && cp "$WORK/db/moat.db" "$WORK/cache/moat/db/moat.db"
  is "$store: moat admission check-config accepts the server's modes as a configuration" \
    env XDG_CACHE_HOME="$WORK/cache" "$MOAT" admission check-config "$WORK/modes-$store.json"
  # A stored notification target reaches a real listener without a restart, with its header.
  local hook_port
  hook_port=$(free_port)
  python3 - "$hook_port" "$WORK/hook-$store.log" <<'PY' &
import http.server, json, sys
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(sys.argv[2], "a") as out:
            out.write(json.dumps({"auth": self.headers.get("Authorization"), "body": body.decode()}) + "\n")
        self.send_response(200); self.end_headers()
    def log_message(self, *args): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Hook).serve_forever()
PY
  push_cleanup "kill $! 2>/dev/null"
  local target_id agent_post
  api POST /api/v1/notifications "{\"name\":\"hook\",\"kind\":\"webhook\",\"url\":\"http://127.0.0.1:$hook_port/secret-path\",\"min_priority\":\"warning\",\"headers\":{\"Authorization\":\"Bearer hook-secret\"}}" >"$WORK/target-$store.json"
  is "$store: a notification target is added over the API" test "$HTTP_CODE" = 201
  target_id=$(jq -r .id "$WORK/target-$store.json")
  is "$store: the target's secrets are never returned" \
    bash -c "! curl -s -H 'Authorization: Bearer $ADMIN_TOKEN' '$SERVER_URL/api/v1/notifications' | grep -q -e hook-secret -e secret-path"
  agent_post=$(api POST /api/v1/tokens '{"name":"notify-test","role":"agent"}' | jq -r .token)
  curl -sf -H "Authorization: Bearer $agent_post" -H 'Content-Type: application/json' \
    -d '[{"time":"2026-12-02T10:00:00Z","rule":"Notify me","priority":"Error","output":"x","tags":[]}]' \
    "$SERVER_URL/api/v1/alerts" >/dev/null
  is "$store: a new alert reaches the stored target, with its Authorization header" \
    wait_until 20 bash -c "jq -e 'select(.auth == \"Bearer hook-secret\" and (.body | fromjson | .rule) == \"Notify me\")' '$WORK/hook-$store.log' >/dev/null 2>&1"
  is "$store: the test alert is sent and says so" \
    test "$(api POST "/api/v1/notifications/$target_id/test" '{}' | jq -r .ok)" = true
  api DELETE "/api/v1/notifications/$target_id" >/dev/null
  is "$store: the target is deleted" test "$HTTP_CODE" = 200

  # The registry notifies the server with an agent token.
  local agent_token
  agent_token=$(api POST /api/v1/tokens '{"name":"registry","role":"agent"}' | jq -r .token)
  REGISTRY_EXTRA_CONFIG=$(registry_notifications_to "$SERVER_URL/api/v1/registry-events" "$agent_token")
  start_registry "$WORK/registry-$store" || die "docker-registry did not start"
  unset REGISTRY_EXTRA_CONFIG
  api POST /api/v1/registries "{\"name\":\"local\",\"url\":\"http://$REGISTRY_ADDR\"}" >/dev/null
  is "$store: registry added" test "$HTTP_CODE" = 201

  t0=$(date +%s.%N)
  skopeo copy -q --dest-tls-verify=false "docker-archive:$WORK/app-v1.tar" \
    "docker://$REGISTRY_ADDR/app:1" >/dev/null 2>"$WORK/skopeo.err" || die "push: $(cat "$WORK/skopeo.err")"
  digest1=$(skopeo inspect --tls-verify=false "docker://$REGISTRY_ADDR/app:1" | jq -r .Digest)
  is "$store: a push is scanned within seconds" wait_until 30 image_scanned "$digest1"
  t1=$(date +%s.%N)
  log "$store: push to findings in $(echo "$t1 - $t0" | bc) s"
  local findings
  findings=$(api GET "/api/v1/findings?resource_id=$digest1&limit=100")
  is "$store: the npm finding is served (HIGH, fixed in 1.3.1)" \
    test "$(jq -r '.items[] | select(.finding_id=="GHSA-test-0001") | .severity + " " + .fixed_version' <<<"$findings")" = "HIGH 1.3.1"
  is "$store: the Debian finding is served (LOW, fixed in 1:1.2.13.dfsg-2)" \
    test "$(jq -r '.items[] | select(.finding_id=="CVE-2023-45853") | .severity + " " + .fixed_version' <<<"$findings")" = "LOW 1:1.2.13.dfsg-2"
  is "$store: the image knows its repository and tag" \
    test "$(api GET "/api/v1/images/$digest1" | jq -r '.locations[0].repository + ":" + .locations[0].tags[0]')" = "app:1"

  # The same digest pushed under another tag is not scanned again.
  skopeo copy -q --src-tls-verify=false --dest-tls-verify=false "docker://$REGISTRY_ADDR/app:1" \
    "docker://$REGISTRY_ADDR/app:stable" >/dev/null 2>&1
  sleep 2
  is "$store: an image is scanned once by digest" \
    test "$(api GET /metrics | awk '/^moat_jobs_total\{kind="scan",result="done"\}/ {print $2}')" = 1

  skopeo copy -q --src-tls-verify=false "docker://$REGISTRY_ADDR/app:1" "oci:$WORK/pulled-$store:x" \
    >/dev/null 2>&1
  is "$store: a pull updates last pulled" wait_until 20 image_pulled "$digest1"

  # The tag moves to a new build: both digests keep their own findings.
  skopeo copy -q --dest-tls-verify=false "docker-archive:$WORK/app-v2.tar" \
    "docker://$REGISTRY_ADDR/app:1" >/dev/null 2>&1
  digest2=$(skopeo inspect --tls-verify=false "docker://$REGISTRY_ADDR/app:1" | jq -r .Digest)
  is "$store: the new build is scanned" wait_until 30 image_scanned "$digest2"
  is "$store: the old digest keeps its findings" \
    test "$(api GET "/api/v1/findings?resource_id=$digest1" | jq '.items | length')" = 2
  is "$store: the moved tag points at the new digest only" \
    test "$(api GET "/api/v1/images/$digest1" | jq -r '[.locations[].tags[]] | index("1")')" = null
  is "$store: the registry-images recommendation lists both images" \
    test "$(api GET /api/v1/recommendations/registry-images-vulnerabilities | jq '.unhealthy | length')" = 2

  curl -s -X DELETE "http://$REGISTRY_ADDR/v2/app/manifests/$digest1" -o /dev/null
  is "$store: a deleted manifest is removed" wait_until 20 image_gone "$digest1"
  is "$store: its findings go with it" \
    test "$(api GET "/api/v1/findings?resource_id=$digest1" | jq '.items | length')" = 0

  # kill -9 during ingest: every acknowledged alert is there after the restart.
  python3 - "$SERVER_URL" "$agent_token" "$WORK/acked-$store" <<'PY' &
import json, sys, urllib.request
url, token, acked_path = sys.argv[1:]
acked = open(acked_path, "w")
for batch in range(100000):
    alerts = [{"time": "2026-12-02T00:00:00Z", "rule": f"rule-{batch}-{i}", "priority": "Warning",
               "output": "x", "container": {"id": f"c{batch}-{i}"}} for i in range(50)]
    request = urllib.request.Request(url + "/api/v1/alerts", json.dumps(alerts).encode(),
                                     {"Authorization": "Bearer " + token,
                                      "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            if response.status == 200:
                acked.write(f"{batch}\n")
                acked.flush()
    except Exception:
        break
PY
  local poster=$!
  sleep 3
  kill -9 "$SERVER_PID"
  wait "$poster" 2>/dev/null
  wait "$SERVER_PID" 2>/dev/null
  local acked_batches
  acked_batches=$(wc -l <"$WORK/acked-$store")
  log "$store: $acked_batches batches of 50 alerts acknowledged before kill -9"
  is "$store: the server restarts after kill -9" start_server "$data" "${store_args[@]}"
  is "$store: the admin token survives the restart" \
    test "$(cat "$data/admin.token")" = "$ADMIN_TOKEN"
  local stored_rules
  stored_rules=$(every_alert | jq -r .alert.rule | sort -u)
  local missing=0 batch i
  while read -r batch; do
    for i in 0 49; do
      grep -qx "rule-$batch-$i" <<<"$stored_rules" || missing=$((missing + 1))
    done
  done <"$WORK/acked-$store"
  is "$store: at least one batch was acknowledged before the kill" test "$acked_batches" -gt 0
  is "$store: no acknowledged alert is lost ($acked_batches batches)" test "$missing" = 0
  is "$store: findings survive the restart" \
    test "$(api GET "/api/v1/findings?resource_id=$digest2" | jq '.items | length')" = 2

  # moat agent while the server is down: its messages wait in the spool and arrive once, in
  # order, when the server is back.
  stop_pid "$SERVER_PID" 10
  local alerts="$WORK/alerts-$store.jsonl" spool="$WORK/spool-$store"
  for i in 1 2 3; do
    printf '{"time":"2026-12-02T00:00:0%sZ","rule":"agent-rule-%s","priority":"Warning","output":"o","container":{"id":"c%s"}}\n' \
      "$i" "$i" "$i" >>"$alerts"
  done
  "$MOAT" agent --server "$SERVER_URL" --token "$agent_token" --name "host-$store" \
    --spool "$spool" --alerts-file "$alerts" --docker-host "unix://$WORK/no-docker.sock" \
    --once --timeout 3s >"$WORK/agent1.log" 2>&1
  is "$store: the agent fails while the server is down" test $? != 0
  is "$store: its messages wait in the spool" test -n "$(ls -A "$spool" 2>/dev/null)"
  is "$store: the server starts again" start_server "$data" "${store_args[@]}"
  printf '{"time":"2026-12-02T00:00:04Z","rule":"agent-rule-4","priority":"Warning","output":"o","container":{"id":"c4"}}\n' >>"$alerts"
  expect "$store-agent-flush" 0 "$MOAT" agent --server "$SERVER_URL" --token "$agent_token" \
    --name "host-$store" --spool "$spool" --alerts-file "$alerts" \
    --docker-host "unix://$WORK/no-docker.sock" --once --timeout 30s
  is "$store: the agent is registered with its messages acknowledged" \
    test "$(api GET /api/v1/agents | jq -r ".items[] | select(.id==\"host-$store\") | .acked_through > 0")" = true
  is "$store: its host report arrived" \
    test "$(api GET "/api/v1/hosts/host-$store" | jq -r .name)" != null
  is "$store: every buffered alert arrived exactly once" \
    test "$(api GET "/api/v1/alerts?limit=1000" | jq '[.items[] | select(.alert.rule | startswith("agent-rule-")) | .count] | length == 4 and add == 4')" = true

  # A detector in a cluster (the sensor DaemonSet, the audit-log service) sends its alerts
  # straight to the ingest with a token of role agent: here `moat audit-log watch` on recorded
  # audit events with --notify webhook=...,batch,token-file=PATH. Every alert that
  # `moat audit-log scan` prints for the same events arrives.
  local seed_events="$here/../src/auditlog/testdata/seed_events.jsonl" printed watch_pid
  printf '%s\n' "$agent_token" >"$WORK/agent-$store.token"
  "$MOAT" audit-log scan "$seed_events" >"$WORK/detector-$store.jsonl" 2>/dev/null
  printed=$(wc -l <"$WORK/detector-$store.jsonl")
  is "$store: the audit-log detector raises alerts on the recorded events" test "$printed" -gt 0
  "$MOAT" audit-log watch "$seed_events" --no-stdout --rate-limit-window 0 \
    --position-file "$WORK/detector-$store.pos" --spool-dir "$WORK/detector-spool-$store" \
    --notify "webhook=$SERVER_URL/api/v1/alerts,batch,token-file=$WORK/agent-$store.token" \
    2>"$WORK/detector-$store.err" &
  watch_pid=$!
  detector_alerts() {
    every_alert | jq -s '[.[] | select(.alert.source == "k8s_audit") | .count] | add // 0'
  }
  detector_alerts_arrived() { [ "$(detector_alerts)" = "$printed" ]; }
  is "$store: every detector alert arrived through --notify" wait_until 30 detector_alerts_arrived
  stop_pid "$watch_pid" 10
  printf 'not-a-token\n' >"$WORK/bad-$store.token"
  "$MOAT" audit-log watch "$seed_events" --no-stdout --position-file "$WORK/detector-bad-$store.pos" \
    --spool-dir "$WORK/detector-bad-$store" \
    --notify "webhook=$SERVER_URL/api/v1/alerts,batch,token-file=$WORK/bad-$store.token" \
    2>"$WORK/detector-bad-$store.err" &
  watch_pid=$!
  is "$store: a revoked or unknown token is reported, not silent" \
    wait_until 30 grep -q "HTTP 401" "$WORK/detector-bad-$store.err"
  stop_pid "$watch_pid" 10
  stop_pid "$SERVER_PID" 10
}

run_suite sqlite
start_postgres "$WORK/pg" || die "PostgreSQL did not start"
run_suite postgres --store "$POSTGRES_URL"

finish_cli_test server
