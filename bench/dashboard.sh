#!/usr/bin/env bash
# The dashboard's speed against issue 11's targets with the issue's estate: 1,000 stored images of
# 300 Debian packages (bench/make_server_images.py, matched by the server against a tracker with
# CVEs for 40 % of their source packages), 10,000 alerts over two days, on SQLite. Measured by
# bench/dashboard.mjs in Debian's headless Chromium: the overview's first load (fresh context,
# to every section drawn), five times, and the p99 of 100 calls of each API route the pages use.
# Usage: bench/dashboard.sh build-release/moat   (results go to docs/benchmarks.md by hand)
set -uo pipefail
bench=$(cd "$(dirname "$0")" && pwd)
here=$bench/../tests
# shellcheck source=/dev/null
source "$here/lib/common.sh"
moat=$(realpath "${1:-build/moat}")
work=$(mktemp -d)
chmod 755 "$work"
install_cleanup_trap
push_cleanup "rm -rf $work"

log "generating 1,000 inventories and the vulnerability database"
apt-cache dumpavail | "$bench/make_server_images.py" "$work" 1000 300 || exit 1
"$moat" -q db build --debian-tracker "$work/debian-v1.json" -o "$work/v1.db" || exit 1

port=$(free_port)
url="http://127.0.0.1:$port"
data=$work/data
start_server() {
  "$moat" server --listen "127.0.0.1:$port" --data "$data" --db "$work/moat.db" --workers 2 \
    --http-threads 4 --rate-limit 1000000 >>"$data.log" 2>&1 &
  server_pid=$!
  push_cleanup "stop_pid $server_pid 10"
  wait_until 120 curl -sf "$url/healthz" || { tail "$data.log"; exit 1; }
  token=$(cat "$data/admin.token")
}
metric() {
  curl -sf -H "Authorization: Bearer $token" "$url/metrics" |
    awk -v m="$1" 'index($0, m " ") == 1 { print $2 }'
}

start_server  # creates the schema
stop_pid "$server_pid" 10
python3 -c 'import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); db.executescript("BEGIN;" + open(sys.argv[2]).read() + "COMMIT;")' \
  "$data/moat.db" "$work/images.sql" || exit 1
start_server
# A database appearing under a running server: every image is matched.
cp "$work/v1.db" "$work/moat.db.new" && mv "$work/moat.db.new" "$work/moat.db"
log "matching 1,000 images"
deadline=$((SECONDS + 1800))
until [ "$(metric 'moat_jobs_total{kind="match",result="done"}')" = 1000 ] 2>/dev/null; do
  ((SECONDS < deadline)) || { log "matches not done after 1800 s"; exit 1; }
  sleep 1
done
findings=$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT COUNT(*) FROM findings WHERE resolved_at = 0").fetchone()[0])' "$data/moat.db")

log "posting 10,000 alerts"
agent_token=$(curl -sf -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"name":"bench-agent","role":"agent"}' "$url/api/v1/tokens" | jq -r .token)
for batch in $(seq 0 9); do
  BATCH=$batch python3 - <<'PY' >"$work/alerts.json"
import datetime, json, os, random
random.seed(int(os.environ["BATCH"]))
now = datetime.datetime.now(datetime.timezone.utc)
rules = [("Reverse shell", "Critical", "execution"), ("Crypto miner", "Error", "impact"),
         ("Shell in container", "Warning", "execution"), ("Sensitive file read", "Notice", "credential-access"),
         ("Outbound connection", "Informational", "command-and-control")]
alerts = []
for n in range(1000):
    rule, priority, tactic = random.choice(rules)
    when = now - datetime.timedelta(seconds=random.randrange(0, 2 * 86400 - 60))
    container = f"c{random.randrange(0, 3000):04d}"
    alerts.append({"time": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "rule": rule, "priority": priority,
                   "output": f"{rule} in {container} (alert {os.environ['BATCH']}-{n})", "tags": [],
                   "mitre": [{"tactic": tactic}], "container": {"id": container, "name": container}})
print(json.dumps(alerts))
PY
  curl -sf -H "Authorization: Bearer $agent_token" -H 'Content-Type: application/json' \
    --data-binary @"$work/alerts.json" "$url/api/v1/alerts" >/dev/null || exit 1
done

log "$(metric moat_alerts_ingested_total) alerts, $findings open findings; measuring"
MOAT_URL=$url ADMIN_TOKEN=$token CHROMIUM=${CHROMIUM:-/usr/bin/chromium} \
  node "$bench/dashboard.mjs"
