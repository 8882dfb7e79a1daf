#!/usr/bin/env bash
# Benchmarks of `moat server` against issue 10's targets, on SQLite and on a private PostgreSQL
# (tests/lib/postgres.sh), with the release binary:
#   1. alert ingest: 2 clients POST batches of 1,000 alerts (each alert new: distinct containers),
#      every batch acknowledged only after its transaction committed; alerts per second. On
#      PostgreSQL twice: into the new (never analyzed) alerts table, and again once it has been
#      analyzed, as autovacuum does on a running server.
#   2. a page of 100 findings, filtered and sorted, out of 1,000,000 open findings (inserted with
#      SQL into the server's own schema): p50 and p99 of 200 requests over keep-alive, for three
#      queries (severity filter sorted by CVSS, one image's findings by severity, the 50th page
#      through the cursor).
#   3. the server's resident memory (VmHWM) at the end.
# Usage: bench/server.sh build/moat   (results go to docs/benchmarks.md by hand)
set -uo pipefail
here=$(cd "$(dirname "$0")/../tests" && pwd)
# shellcheck source=../tests/lib/common.sh
source "$here/lib/common.sh"
# shellcheck source=../tests/lib/postgres.sh
source "$here/lib/postgres.sh"
moat=$(realpath "${1:-build/moat}")
work=$(mktemp -d)
chmod 755 "$work"
install_cleanup_trap
push_cleanup "rm -rf $work"

start_server() {
  local data=$1; shift
  port=$(free_port)
  url="http://127.0.0.1:$port"
  "$moat" server --listen "127.0.0.1:$port" --data "$data" --db /nonexistent --workers 0 \
    --http-threads 4 --rate-limit 1000000 "$@" >"$data.log" 2>&1 &
  server_pid=$!
  push_cleanup "stop_pid $server_pid 10"
  wait_until 60 curl -sf "$url/healthz" || { tail "$data.log"; exit 1; }
  token=$(cat "$data/admin.token")
}

ingest() {  # ingest PREFIX: alerts of containers named PREFIX...
  python3 - "$url" "$token" "$1" <<'PY'
import http.client, json, sys, threading, time, urllib.parse
url, token, prefix = sys.argv[1:]
host = urllib.parse.urlparse(url)
batches_per_client, per_batch, clients = 25, 1000, 2
bodies = [[json.dumps([{"time": "2026-12-02T00:00:00Z", "rule": "Reverse shell",
                        "priority": "Critical", "output": "shell", "tags": ["K8S.NODE_ReverseShell"],
                        "container": {"id": f"{prefix}c{client}-{b}-{i}"}} for i in range(per_batch)])
           for b in range(batches_per_client)] for client in range(clients)]
def post(client):
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=120)
    for body in bodies[client]:
        conn.request("POST", "/api/v1/alerts", body,
                     {"Authorization": "Bearer " + token, "Content-Type": "application/json"})
        response = conn.getresponse(); response.read()
        assert response.status == 200, response.status
start = time.time()
threads = [threading.Thread(target=post, args=(c,)) for c in range(clients)]
[t.start() for t in threads]; [t.join() for t in threads]
elapsed = time.time() - start
total = batches_per_client * per_batch * clients
print(f"{total} alerts in {elapsed:.2f} s: {total / elapsed:,.0f} alerts/s")
PY
}

# 1,000,000 open findings over 1,000 images and 300 packages, spread over severities and CVSS.
seed_findings_sql() {
  local series=$1  # a SELECT producing column i from 0 to 999999
  cat <<SQL
INSERT INTO findings (resource_kind, resource_id, source, finding_id, package, installed_version,
  fixed_version, severity, severity_rank, cvss, kev, patchable, first_seen, last_seen, resolved_at)
SELECT 'image', 'sha256:' || (i % 1000), 'vulnerability', 'CVE-2024-' || i, 'pkg' || (i % 300),
  '1.0', '1.1',
  CASE i % 5 WHEN 0 THEN 'CRITICAL' WHEN 1 THEN 'HIGH' WHEN 2 THEN 'MEDIUM' WHEN 3 THEN 'LOW'
             ELSE 'UNKNOWN' END,
  CASE i % 5 WHEN 0 THEN 5 WHEN 1 THEN 4 WHEN 2 THEN 3 WHEN 3 THEN 2 ELSE 0 END,
  (i % 100) / 10.0, CASE WHEN i % 97 = 0 THEN 1 ELSE 0 END, i % 2, 1700000000 + i % 86400,
  1700000000, 0
FROM ($series) AS s;
SQL
}

page_latency() {
  python3 - "$url" "$token" <<'PY'
import http.client, json, sys, time, urllib.parse
url, token = sys.argv[1:]
host = urllib.parse.urlparse(url)
conn = http.client.HTTPConnection(host.hostname, host.port, timeout=60)
headers = {"Authorization": "Bearer " + token}
def get(path):
    start = time.perf_counter()
    conn.request("GET", path, headers=headers)
    response = conn.getresponse(); body = response.read()
    assert response.status == 200, (response.status, body[:200])
    return time.perf_counter() - start, json.loads(body)
def measure(name, path, runs=200):
    times = sorted(get(path)[0] for _ in range(runs))
    print(f"  {name}: p50 {times[len(times) // 2] * 1000:.1f} ms, p99 {times[int(len(times) * 0.99) - 1] * 1000:.1f} ms")
measure("severity HIGH,CRITICAL sorted by CVSS", "/api/v1/findings?severity=HIGH,CRITICAL&sort=cvss&limit=100")
measure("one image's findings by severity", "/api/v1/findings?resource_id=sha256:42&limit=100")
cursor = ""
for _ in range(49):
    cursor = get("/api/v1/findings?limit=100" + ("&cursor=" + cursor if cursor else ""))[1]["next_cursor"]
measure("page 50 through the cursor", "/api/v1/findings?limit=100&cursor=" + cursor)
PY
}

report_memory() {
  echo "  server VmHWM: $(awk '/VmHWM/ {print $2 / 1024 " MiB"}' /proc/"$server_pid"/status)"
}

echo "== SQLite"
start_server "$work/sqlite"
ingest a
stop_pid "$server_pid" 10
python3 - "$work/sqlite/moat.db" "$(seed_findings_sql 'WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 999999) SELECT i FROM n')" <<'PY'
import sqlite3, sys, time
start = time.time()
db = sqlite3.connect(sys.argv[1]); db.execute(sys.argv[2]); db.commit(); db.execute("ANALYZE")
db.close()
print(f"  1,000,000 findings inserted in {time.time() - start:.1f} s")
PY
start_server "$work/sqlite"
page_latency
report_memory
stop_pid "$server_pid" 10

echo "== PostgreSQL"
start_postgres "$work/pg" || exit 1
start_server "$work/postgres" --store "$POSTGRES_URL"
echo "  into a new alerts table, never analyzed:"
ingest a
psql -q "$POSTGRES_URL" -c "ANALYZE alerts"  # what autovacuum does once the table has grown
echo "  once the table has been analyzed (a running server):"
ingest b
seed_start=$(date +%s)
psql -q "$POSTGRES_URL" -c "$(seed_findings_sql 'SELECT generate_series(0, 999999) AS i')" \
  -c "VACUUM ANALYZE findings"  # what autovacuum does after a bulk insert
echo "  1,000,000 findings inserted in $(($(date +%s) - seed_start)) s"
page_latency
report_memory
stop_pid "$server_pid" 10
