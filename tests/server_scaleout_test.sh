#!/usr/bin/env bash
# Scale-out on one private PostgreSQL: two `moat server` replicas (different ports, one store, one
# secret key) and three `moat worker` processes; a real docker-registry on loopback notifies one
# replica. 200 images pushed at once are each scanned exactly once (one manifest pull each in the
# registry's access log, one scan job each, done at the first attempt) and served by both
# replicas; a worker killed with -9 in the middle of a scan has its job finished by another once
# the lease has expired; a worker that is slow but alive keeps its job past the lease.
# Usage: tests/server_scaleout_test.sh PATH/TO/moat
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

IMAGES=200
LEASE=3  # seconds: --job-lease, short so that a dead worker's job moves on quickly

start_cli_test "$@"
trap 'run_cleanups; rm -rf "$WORK"' EXIT
chmod 755 "$WORK"  # the PostgreSQL server runs as user postgres

build_test_database "$MOAT" "$WORK/db" || die "moat db build failed"
write_debian_root "$WORK/root"
start_postgres "$WORK/pg" || die "PostgreSQL did not start"
sql() { psql "$POSTGRES_URL" -qAtc "$1"; }

# api PORT METHOD PATH [BODY]: curl to one replica with the admin token; sets HTTP_CODE.
api() {
  local out
  out=$(curl -s -w '\n%{http_code}' -X "$2" -H "Authorization: Bearer $ADMIN_TOKEN" \
    ${4:+-H 'Content-Type: application/json' --data-binary "$4"} "http://127.0.0.1:$1$3")
  HTTP_CODE=${out##*$'\n'}
  printf '%s' "${out%$'\n'*}"
}
healthy() { curl -sf "http://127.0.0.1:$1/healthz" >/dev/null; }
# stop_paused PID: a stopped process handles TERM only once continued.
stop_paused() { kill -CONT "$1" 2>/dev/null; stop_pid "$1" 10; }

# Two replicas: the first creates the secret key and the admin token; the second shares them.
# No scan workers in the servers: every scan goes through the `moat worker` processes.
PORTS=()
start_replica() {
  local n=$1 port pid
  port=$(free_port)
  mkdir -p "$WORK/server-$n"
  "$MOAT" server --listen "127.0.0.1:$port" --data "$WORK/server-$n" --store "$POSTGRES_URL" \
    --secret-key-file "$WORK/secret.key" --db "$WORK/db/moat.db" --workers 0 \
    --job-lease "${LEASE}s" >"$WORK/server-$n.log" 2>&1 &
  pid=$!
  echo "$pid" >"$WORK/server-$n/server.pid"
  push_cleanup "stop_pid $pid 10"
  wait_until 60 healthy "$port" || { tail -n 20 "$WORK/server-$n.log" >&2; return 1; }
  PORTS[n]=$port
}
is "replica 1 starts on PostgreSQL" start_replica 1
is "replica 2 starts on the same store and key" start_replica 2
is "replica 1 wrote the admin token" test -s "$WORK/server-1/admin.token"
is "replica 2 found the token there and wrote none" test ! -e "$WORK/server-2/admin.token"
ADMIN_TOKEN=$(cat "$WORK/server-1/admin.token")
A=${PORTS[1]} B=${PORTS[2]}

expect worker-without-key 2 "$MOAT" worker --store "$POSTGRES_URL" \
  --secret-key-file "$WORK/missing.key" --db "$WORK/db/moat.db"
is "a worker refuses a missing secret key file, saying the server creates it" \
  grep -q "missing.key: no secret key here; \`moat server\` creates it" "$WORK/worker-without-key.err"
is "and creates none" test ! -e "$WORK/missing.key"

expect worker-bad-lease 2 "$MOAT" worker --store "$POSTGRES_URL" \
  --secret-key-file "$WORK/secret.key" --job-lease soon
is "a lease that is not a duration is refused, naming the flag" grep -q -- "--job-lease" "$WORK/worker-bad-lease.err"

WORKER_PIDS=()
start_worker() {
  local n=$1
  "$MOAT" worker --store "$POSTGRES_URL" --secret-key-file "$WORK/secret.key" \
    --db "$WORK/db/moat.db" --name "worker-$n" --job-lease "${LEASE}s" >"$WORK/worker-$n.log" 2>&1 &
  WORKER_PIDS[n]=$!
  echo "${WORKER_PIDS[n]}" >"$WORK/worker-$n.pid"
  push_cleanup "stop_paused ${WORKER_PIDS[n]}"
}
for n in 1 2 3; do start_worker "$n"; done

# The registry notifies replica 1 with an agent token made on replica 2 (one store). Its access
# log (on through the environment) witnesses every manifest pull.
agent_token=$(api "$B" POST /api/v1/tokens '{"name":"registry","role":"agent"}' | jq -r .token)
REGISTRY_EXTRA_CONFIG=$(cat <<YAML
notifications:
  endpoints:
    - name: moat
      url: http://127.0.0.1:$A/api/v1/registry-events
      headers:
        Authorization: [Bearer $agent_token]
      timeout: 5s
      threshold: 3
      backoff: 1s
YAML
)
export REGISTRY_LOG_ACCESSLOG_DISABLED=false
start_registry "$WORK/registry" || die "docker-registry did not start"
unset REGISTRY_EXTRA_CONFIG REGISTRY_LOG_ACCESSLOG_DISABLED
REGISTRY_PID=$(cat "$WORK/registry/registry.pid")
push_cleanup "kill -CONT $REGISTRY_PID 2>/dev/null"
api "$B" POST /api/v1/registries "{\"name\":\"local\",\"url\":\"http://$REGISTRY_ADDR\"}" >/dev/null
is "registry added through replica 2" test "$HTTP_CODE" = 201

# push_images FIRST COUNT OUT: images FIRST..FIRST+COUNT-1 pushed concurrently through the
# registry HTTP API, each one shared base layer (the Debian-like root: left-pad 1.3.0, zlib) and a
# layer of its own, in ten repositories; "repository tag digest" lines to OUT.
push_images() {
  python3 - "$REGISTRY_ADDR" "$WORK/root" "$@" <<'PY'
import concurrent.futures, gzip, hashlib, io, json, sys, tarfile, urllib.request
registry, root, first, count, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"

def layer(add):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        add(t)
    data = raw.getvalue()
    return gzip.compress(data, mtime=0), "sha256:" + hashlib.sha256(data).hexdigest()

def upload(repo, blob, media_type):
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    start = urllib.request.Request(f"http://{registry}/v2/{repo}/blobs/uploads/", b"", method="POST")
    with urllib.request.urlopen(start) as r:
        location = r.headers["Location"]
    if location.startswith("/"):
        location = f"http://{registry}{location}"
    put = urllib.request.Request(location + ("&" if "?" in location else "?") + "digest=" + digest,
                                 blob, {"Content-Type": "application/octet-stream"}, method="PUT")
    urllib.request.urlopen(put).close()
    return {"mediaType": media_type, "digest": digest, "size": len(blob)}

def file_entry(name, data):
    def add(t):
        info = tarfile.TarInfo(name)
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    return add

base, base_diff = layer(lambda t: t.add(root, arcname="."))
repos = sorted({f"team-{i % 10}/app" for i in range(first, first + count)})
base_desc = {repo: upload(repo, base, LAYER) for repo in repos}

def push(i):
    repo, tag = f"team-{i % 10}/app", f"v{i}"
    own, own_diff = layer(file_entry("etc/moat-image-id", f"image {i}\n".encode()))
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": [base_diff, own_diff]},
                         "history": [{"created_by": "COPY root /"},
                                     {"created_by": f"RUN echo image {i}"}]}).encode()
    manifest = json.dumps({"schemaVersion": 2,
                           "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": upload(repo, config, "application/vnd.oci.image.config.v1+json"),
                           "layers": [base_desc[repo], upload(repo, own, LAYER)]}).encode()
    put = urllib.request.Request(f"http://{registry}/v2/{repo}/manifests/{tag}", manifest,
                                 {"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
                                 method="PUT")
    urllib.request.urlopen(put).close()
    return f"{repo} {tag} sha256:{hashlib.sha256(manifest).hexdigest()}"

with concurrent.futures.ThreadPoolExecutor(32) as pool:
    lines = list(pool.map(push, range(first, first + count)))
with open(out, "w") as f:
    f.write("\n".join(lines) + "\n")
PY
}

# manifest_pulls DIGEST: GETs of that manifest the registry answered with 200.
manifest_pulls() { grep -c "\"GET /v2/[^ ]*/manifests/$1 HTTP/1.1\" 200 " "$WORK/registry/registry.log"; }
scanned_count() {
  api "$1" GET "/api/v1/images?limit=1000" | jq '[.items[] | select(.scan_status == "scanned")] | length'
}
all_scanned() { [ "$(scanned_count "$B")" -ge "$1" ]; }
job_state() { sql "SELECT state || ' ' || lease_owner || ' ' || attempts FROM jobs WHERE job_key = 'scan:$1'"; }
job_is() { [[ "$(job_state "$1")" =~ $2 ]]; }

t0=$SECONDS
push_images 0 "$IMAGES" "$WORK/pushed.txt" || die "push failed"
log "$IMAGES images pushed in $((SECONDS - t0)) s"
is "$IMAGES distinct images pushed" test "$(awk '{print $3}' "$WORK/pushed.txt" | sort -u | wc -l)" = "$IMAGES"
is "all $IMAGES images scanned (replica 2 answers)" wait_until 240 all_scanned "$IMAGES"
log "pushed and scanned in $((SECONDS - t0)) s"

images_a=$(api "$A" GET "/api/v1/images?limit=1000")
images_b=$(api "$B" GET "/api/v1/images?limit=1000")
is "both replicas list the same $IMAGES images" \
  test "$(jq -c '[.items[].digest] | sort' <<<"$images_a")" = "$(jq -c '[.items[].digest] | sort' <<<"$images_b")"
# check_images: every pushed image as replica 2 lists it: scanned with its inventory (the base
# layer's zlib1g, libssl3 and left-pad), its findings (left-pad HIGH, zlib LOW) and its repository
# and tag; and its manifest served exactly once by the registry. Prints what is not so.
check_images() {
  python3 - "$WORK/pushed.txt" "$WORK/images.json" "$WORK/registry/registry.log" <<'PY'
import collections, json, re, sys
pushed = [line.split() for line in open(sys.argv[1]) if line.strip()]
images = {i["digest"]: i for i in json.load(open(sys.argv[2]))["items"]}
pulls = collections.Counter(m.group(1) for m in re.finditer(
    r'"GET /v2/\S+/manifests/(sha256:[0-9a-f]{64}) HTTP/1\.1" 200 ', open(sys.argv[3]).read()))
for repo, tag, digest in pushed:
    i = images.get(digest)
    if not i or i["scan_status"] != "scanned" or i["packages"] != 3 or \
            i["vulnerabilities"]["high"] != 1 or i["vulnerabilities"]["low"] != 1 or \
            [(l["repository"], l["tags"]) for l in i["locations"]] != [(repo, [tag])]:
        print("not as expected:", repo, tag, json.dumps(i)[:300])
    if pulls[digest] != 1:
        print(f"{repo}:{tag} {digest}: manifest pulled {pulls[digest]} times")
PY
}
printf '%s' "$images_b" >"$WORK/images.json"
check_images >"$WORK/check.txt" 2>&1
is "every image has its inventory, findings and location, and was pulled once" \
  bash -c "[ $? = 0 ] && [ ! -s '$WORK/check.txt' ] || { head -n 5 '$WORK/check.txt'; false; }"
is "one scan job per image, each done at its first attempt" \
  test "$(sql "SELECT COUNT(*) || ' ' || COUNT(DISTINCT job_key) || ' ' || MAX(attempts) || ' ' || MIN(state) || ' ' || MAX(state) FROM jobs WHERE kind = 'scan'")" = "$IMAGES $IMAGES 1 done done"
scans_total=$(cat "$WORK"/worker-*.log | grep -c "scanned $REGISTRY_ADDR/")
is "the workers logged $IMAGES scans in all" test "$scans_total" = "$IMAGES"
for n in 1 2 3; do
  log "worker-$n scanned $(grep -c "scanned $REGISTRY_ADDR/" "$WORK/worker-$n.log")"
  is "worker-$n took part" grep -q "scanned $REGISTRY_ADDR/" "$WORK/worker-$n.log"
done

# kill -9 in the middle of a scan: the workers are paused, one more image is pushed and its job
# queued; the registry is paused so that the scan cannot end; worker-1 alone resumes, claims the
# job and waits for the registry inside its pull. It is killed there; the others resume.
for n in 1 2 3; do kill -STOP "${WORKER_PIDS[n]}"; done
push_images "$IMAGES" 1 "$WORK/killed.txt" || die "push failed"
read -r _ _ killed_digest <"$WORK/killed.txt"
is "the next image's scan job is queued" wait_until 30 job_is "$killed_digest" "^queued "
kill -STOP "$REGISTRY_PID"
kill -CONT "${WORKER_PIDS[1]}"
is "worker-1 claims it and starts the scan" wait_until 30 job_is "$killed_digest" "^running worker-1-1 1$"
sleep 1  # inside the pull
lease_until=$(sql "SELECT lease_until FROM jobs WHERE job_key = 'scan:$killed_digest'")
kill -KILL "${WORKER_PIDS[1]}"
wait "${WORKER_PIDS[1]}" 2>/dev/null
killed_at=$(date +%s)
kill -CONT "$REGISTRY_PID"
kill -CONT "${WORKER_PIDS[2]}" "${WORKER_PIDS[3]}"
is "another worker finishes the job (second attempt)" \
  wait_until 60 job_is "$killed_digest" "^done worker-[23]-1 2$"
finished_at=$(sql "SELECT finished_at FROM jobs WHERE job_key = 'scan:$killed_digest'")
log "killed at $killed_at, lease until $lease_until, finished at $finished_at"
is "only after worker-1's lease had expired" test "$finished_at" -ge "$lease_until"
is "the image is scanned" test "$(api "$A" GET "/api/v1/images/$killed_digest" | jq -r .scan_status)" = scanned

# Slow but alive: worker-2 is held inside its pull for more than twice the lease while worker-3
# is free to take the job over; worker-2's renewals keep it, and the image is pulled once.
kill -STOP "${WORKER_PIDS[2]}" "${WORKER_PIDS[3]}"
push_images $((IMAGES + 1)) 1 "$WORK/slow.txt" || die "push failed"
read -r _ _ slow_digest <"$WORK/slow.txt"
is "the next image's scan job is queued" wait_until 30 job_is "$slow_digest" "^queued "
kill -STOP "$REGISTRY_PID"
kill -CONT "${WORKER_PIDS[2]}"
is "worker-2 claims it" wait_until 30 job_is "$slow_digest" "^running worker-2-1 1$"
kill -CONT "${WORKER_PIDS[3]}"
sleep $((2 * LEASE + 2))
is "worker-2 still holds the job past its first lease" job_is "$slow_digest" "^running worker-2-1 1$"
kill -CONT "$REGISTRY_PID"
is "worker-2 finishes it at the first attempt" wait_until 60 job_is "$slow_digest" "^done worker-2-1 1$"
is "the slow image was pulled once" test "$(manifest_pulls "$slow_digest")" = 1
is "no worker's result was dropped" bash -c "! grep -q 'took it over' '$WORK'/worker-*.log"

finish_cli_test server_scaleout
