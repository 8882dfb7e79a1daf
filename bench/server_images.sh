#!/usr/bin/env bash
# Benchmarks of `moat server` with 1,000 stored images against issue 10's targets, release binary,
# on SQLite and on a private PostgreSQL (tests/lib/postgres.sh), 2 scan workers:
#   1. re-matching after a vulnerability-database update: 1,000 stored inventories of 300 Debian
#      packages (bench/make_server_images.py: real bookworm names, versions and source packages)
#      are first matched with database v1 (a database appearing under a running server matches
#      every image), then the server is stopped, v2 (new CVEs in packages that every image holds)
#      put in place and the server started: its scheduler diffs v1 and v2 at once and queues the
#      images that hold a changed package. Measured: from the server's start to the last
#      re-match done (/metrics), and the first match the same way (from the first queued job).
#   2. the server's resident memory with those images: VmRSS after the re-match, then after
#      listing every image and paging through every finding, and VmHWM (peak) at the end.
#   3. push-to-findings: the 227 MB Debian image of bench/inventory.sh pushed with skopeo to a
#      loopback docker-registry whose notifications go to the server (which holds the 1,000
#      images); from the end of the push to the image's findings served by the API.
# Usage: bench/server_images.sh build/moat [sqlite|postgres]...   (default: both; results go to
# docs/benchmarks.md by hand)
set -uo pipefail
bench=$(cd "$(dirname "$0")" && pwd)
here=$bench/../tests
for lib in common postgres registry rootfs; do
  # shellcheck source=/dev/null
  source "$here/lib/$lib.sh"
done
moat=$(realpath "${1:-build/moat}")
shift
stores=("${@:-sqlite postgres}")
read -r -a stores <<<"${stores[*]}"
work=$(mktemp -d)
chmod 755 "$work"
install_cleanup_trap
push_cleanup "rm -rf $work"

log "generating 1,000 inventories and two database versions"
apt-cache dumpavail | "$bench/make_server_images.py" "$work" 1000 300 || exit 1
"$moat" -q db build --debian-tracker "$work/debian-v1.json" -o "$work/v1.db" || exit 1
"$moat" -q db build --debian-tracker "$work/debian-v2.json" -o "$work/v2.db" || exit 1

# The bench image of bench/inventory.sh (built there; cached).
archive=$(moat_test_cache_dir)/bench-debian.tar
if [ ! -s "$archive" ]; then
  log "building $archive"
  "$bench/make_bench_image.py" "$(bookworm_rootfs_tar)" \
    "$(bookworm_rootfs_tar bench "python3,perl,curl,ca-certificates,openssl,less")" "$archive" \
    moat-bench/debian:bookworm || exit 1
fi

start_server() {
  local data=$1; shift
  "$moat" server --listen "127.0.0.1:$port" --data "$data" --db "$work/moat.db" --workers 2 \
    --http-threads 4 --rate-limit 1000000 "$@" >>"$data.log" 2>&1 &
  server_pid=$!
  push_cleanup "stop_pid $server_pid 10"
  wait_until 120 curl -sf "$url/healthz" || { tail "$data.log"; exit 1; }
  token=$(cat "$data/admin.token")
}

metric() {  # metric NAME_AND_LABELS: its value in /metrics
  curl -sf -H "Authorization: Bearer $token" "$url/metrics" |
    awk -v m="$1" 'index($0, m " ") == 1 { print $2 }'
}
matches_done() { metric 'moat_jobs_total{kind="match",result="done"}'; }
jobs_pending() {
  echo $(($(metric 'moat_jobs{state="queued"}') + $(metric 'moat_jobs{state="running"}')))
}

# wait_matched LOG START: waits for the scheduler's "N images queued" in LOG (after line START)
# and then for N matches done; prints N.
wait_matched() {
  local queued=""
  until [ -n "$queued" ]; do
    queued=$(tail -n +"$2" "$1" | sed -n 's/.* \([0-9]*\) images queued for re-matching.*/\1/p')
    sleep 0.05
  done
  local deadline=$((SECONDS + 600))
  until [ "$(matches_done)" -ge "$queued" ] 2>/dev/null; do
    ((SECONDS < deadline)) || { log "matches not done after 600 s"; exit 1; }
    sleep 0.05
  done
  echo "$queued"
}

memory() { awk '/VmRSS|VmHWM/ {printf "%s %.0f MiB  ", $1, $2 / 1024}' /proc/"$server_pid"/status; }

page_through() {
  python3 - "$url" "$token" <<'PY'
import http.client, json, sys, time, urllib.parse
url, token = sys.argv[1:]
host = urllib.parse.urlparse(url)
conn = http.client.HTTPConnection(host.hostname, host.port, timeout=120)
def pages(path):
    cursor, count, requests, start = "", 0, 0, time.time()
    while True:
        conn.request("GET", path + ("&cursor=" + cursor if cursor else ""),
                     headers={"Authorization": "Bearer " + token})
        response = conn.getresponse(); body = json.loads(response.read())
        assert response.status == 200, body
        count += len(body["items"]); requests += 1
        cursor = body.get("next_cursor") or ""
        if not cursor:
            return count, requests, time.time() - start
for path in ("/api/v1/images?limit=100", "/api/v1/findings?limit=1000"):
    count, requests, seconds = pages(path)
    print(f"  {path.split('?')[0]}: {count} items in {requests} pages, {seconds:.1f} s")
for path in ("/api/v1/recommendations", "/api/v1/score"):
    start = time.time()
    conn.request("GET", path, headers={"Authorization": "Bearer " + token})
    response = conn.getresponse(); response.read()
    print(f"  {path}: {response.status} in {time.time() - start:.2f} s")
PY
}

push_to_findings() {
  local data=$1 agent_token t0 t1 digest
  agent_token=$(curl -sf -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d '{"name":"registry","role":"agent"}' "$url/api/v1/tokens" | jq -r .token)
  # shellcheck disable=SC2034  # read by start_registry
  REGISTRY_EXTRA_CONFIG=$(cat <<YAML
notifications:
  endpoints:
    - name: moat
      url: $url/api/v1/registry-events
      headers:
        Authorization: [Bearer $agent_token]
      timeout: 2s
      threshold: 3
      backoff: 1s
YAML
)
  start_registry "$data-registry" || exit 1
  unset REGISTRY_EXTRA_CONFIG
  curl -sf -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d "{\"name\":\"local\",\"url\":\"http://$REGISTRY_ADDR\"}" "$url/api/v1/registries" >/dev/null
  skopeo copy -q --dest-tls-verify=false --digestfile "$data.digest" "docker-archive:$archive" \
    "docker://$REGISTRY_ADDR/bench:1" >/dev/null || exit 1
  t0=$(date +%s.%N)
  digest=$(cat "$data.digest")
  until [ "$(curl -sf -H "Authorization: Bearer $token" \
    "$url/api/v1/findings?resource_id=$digest&limit=1" | jq '.items | length')" = 1 ]; do
    sleep 0.02
  done
  t1=$(date +%s.%N)
  echo "  push to findings: $(echo "$t1 - $t0" | bc) s ($(curl -sf -H "Authorization: Bearer $token" \
    "$url/api/v1/images/$digest" | jq -r '.packages') packages)"
}

for store in "${stores[@]}"; do
  echo "== $store"
  data=$work/$store
  store_args=()
  if [ "$store" = postgres ]; then
    start_postgres "$work/pg" || exit 1
    store_args=(--store "$POSTGRES_URL")
  fi
  port=$(free_port)
  url="http://127.0.0.1:$port"
  rm -f "$work/moat.db"
  start_server "$data" "${store_args[@]}"  # creates the schema
  stop_pid "$server_pid" 10
  seed_start=$(date +%s.%N)
  if [ "$store" = postgres ]; then
    psql -q -v ON_ERROR_STOP=1 --single-transaction "$POSTGRES_URL" -f "$work/images.sql" || exit 1
    psql -q "$POSTGRES_URL" -c "VACUUM ANALYZE"
  else
    python3 -c 'import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); db.executescript("BEGIN;" + open(sys.argv[2]).read() + "COMMIT;")' \
      "$data/moat.db" "$work/images.sql" || exit 1
  fi
  echo "  1,000 inventories stored in $(echo "$(date +%s.%N) - $seed_start" | bc) s"

  # The first database under a running server: every image is matched.
  start_server "$data" "${store_args[@]}"
  start_line=$(($(wc -l <"$data.log") + 1))
  cp "$work/v1.db" "$work/moat.db.new" && mv "$work/moat.db.new" "$work/moat.db"
  until [ "$(jobs_pending)" -gt 0 ] 2>/dev/null; do sleep 0.05; done
  t0=$(date +%s.%N)
  n=$(wait_matched "$data.log" "$start_line")
  echo "  first match of $n images: $(echo "$(date +%s.%N) - $t0" | bc) s (from the first queued job)"
  stop_pid "$server_pid" 10

  # The update: the server starts on v2 and diffs it against its copy of v1.
  cp "$work/v2.db" "$work/moat.db.new" && mv "$work/moat.db.new" "$work/moat.db"
  start_line=$(($(wc -l <"$data.log") + 1))
  t0=$(date +%s.%N)
  start_server "$data" "${store_args[@]}"
  n=$(wait_matched "$data.log" "$start_line")
  echo "  re-match of $n images after the update: $(echo "$(date +%s.%N) - $t0" | bc) s (from the server's start)"
  grep -o 'vulnerability database .* queued for re-matching' "$data.log" | tail -n 1 | sed 's/^/  /'
  echo "  memory after the re-match: $(memory)"
  page_through
  echo "  memory after paging: $(memory)"
  push_to_findings "$data"
  echo "  memory at the end: $(memory)"
  stop_pid "$server_pid" 10
done
