#!/usr/bin/env bash
# Scripted test of the eBPF sensor's kernel and user side: as root, `moat sensor --events` runs
# while this script does known things on the host (an exec with arguments, a write-open of a
# temporary file, a read of /etc/shadow, a connect to a loopback port, an unshare, a DNS query)
# and in a container on a private dockerd (tests/lib/dockerd.sh; the image is imported from the
# cached debootstrap rootfs); each must come out as an event with the right process, parents
# and, in the container, the container's id, name and image. Where BPF cannot load (not root, no
# BTF, no raw tracepoints) the test says why and exits 77 (ctest: skipped).
# Usage: tests/sensor_test.sh PATH/TO/moat   Env: MOAT_TEST_KEEP=1 keeps the work dir.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
for lib in common rootfs dockerd sensor; do
  # shellcheck source=/dev/null
  source "$HERE/lib/$lib.sh"
done
[ $# -eq 1 ] || { echo "usage: $0 PATH/TO/moat" >&2; exit 2; }

passed=0 failed=0 skipped=0
failures=()
pass() { passed=$((passed + 1)); echo "PASS $1${2:+: $2}"; }
fail() { failed=$((failed + 1)); failures+=("$1"); echo "FAIL $1${2:+: $2}"; }
skip() { skipped=$((skipped + 1)); echo "SKIP $1${2:+: $2}"; }
finish() {
  echo
  [ ${#failures[@]} -eq 0 ] || { echo "failed checks:"; printf '  %s\n' "${failures[@]}"; }
  echo "sensor: $passed passed, $failed failed, $skipped skipped"
  [ "$failed" -eq 0 ]
}

start_sensor_test sensor "$1"
EVENTS=$WORK/events.jsonl
MARK=moatsensor$$x$RANDOM

# The private engine first, so that the sensor is told its socket.
ROOTFS_TAR=$(bookworm_rootfs_tar) || { fail setup "debootstrap of bookworm failed"; finish; exit 1; }
IMAGE=moat-sensor/app:1
ENGINE=$WORK/engine
mkdir -p "$ENGINE"
ENGINE_UP=0
if start_private_dockerd "$ENGINE" &&
  docker import --change 'CMD ["sleep", "infinity"]' "$ROOTFS_TAR" "$IMAGE" >/dev/null; then
  ENGINE_UP=1
else
  fail setup "private dockerd did not start"
fi

cat >"$WORK/sensor.yaml" <<YAML
ringBufferMiB: 16
statsInterval: 1
dockerSocket: $ENGINE/docker.sock
YAML
# A port of its own for /metrics: another sensor on the node may hold the default one.
"$MOAT" sensor --events --config "$WORK/sensor.yaml" -o "$EVENTS" \
  --metrics-listen "127.0.0.1:$(free_port)" 2>"$WORK/sensor.err" &
SENSOR_PID=$!
push_cleanup "stop_pid $SENSOR_PID 10"
if ! wait_until 60 grep -q "sensor: attached" "$WORK/sensor.err"; then
  cat "$WORK/sensor.err"
  fail setup "moat sensor did not attach"
  finish
  exit 1
fi
pass attach "$(grep -m1 'sensor: attached' "$WORK/sensor.err")"
# As root on this kernel the system calls have tracepoints of their own (tracefs mounted in a
# private namespace when the host has none): no BPF runs for the calls the sensor does not record.
if grep -q "system calls on their own tracepoints" "$WORK/sensor.err"; then
  pass attach_per_syscall "per-syscall tracepoints"
else
  fail attach_per_syscall "the sys_enter/sys_exit pair was used: $(grep -m1 'sensor: attached' "$WORK/sensor.err")"
fi

# has_event NAME PYTHON-EXPRESSION: waits up to 10 s for an event (`e`, a dict) that makes the
# expression true; PASS/FAIL with the matching line or the events seen.
event_matches() {
  python3 - "$EVENTS" "$1" <<'PY'
import json, sys
path, expression = sys.argv[1], sys.argv[2]
for line in open(path, errors="replace"):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    try:
        if eval(expression):
            print(line.strip()[:400])
            sys.exit(0)
    except (KeyError, TypeError, IndexError):
        pass
sys.exit(1)
PY
}
has_event() {
  local name=$1 expression=$2 found
  if wait_until 10 event_matches "$expression" && found=$(event_matches "$expression"); then
    pass "$name" "${found:0:200}"
  else
    fail "$name" "no event with $expression"
  fi
}

# 1. An exec of a known binary with arguments; its parents include this script's shell.
/bin/echo "$MARK" one two >/dev/null
has_event exec "e['type'] == 'execve' and e['proc']['exe'] == '/usr/bin/echo' and e['proc']['args'] == ['$MARK', 'one', 'two'] and e['proc']['cwd'] != ''"
has_event exec_parents "e['type'] == 'execve' and e['proc']['args'][:1] == ['$MARK'] and e['proc']['parents'][0]['pid'] == $$ and len(e['proc']['parents']) >= 1"
has_event fork_exit "e['type'] == 'procexit' and e['proc']['exe'] == '/usr/bin/echo' and e['proc']['args'][:1] == ['$MARK']"

# 2. A write-open (creation) of a temporary file, and a read of a sensitive file.
: >"$WORK/$MARK.txt"
has_event open_write "e['type'] == 'open' and e['path'] == '$WORK/$MARK.txt' and e['args']['flags'] & 0o100"
cat /etc/shadow >/dev/null
has_event open_shadow "e['type'] == 'open' and e['path'] == '/etc/shadow' and e['proc']['name'] == 'cat'"
cat /etc/hostname >/dev/null
sleep 0.5
if event_matches "e['type'] == 'open' and e['path'] == '/etc/hostname'" >/dev/null; then
  fail open_filter "a read of /etc/hostname was reported: the kernel filter let it through"
else
  pass open_filter "reads outside the sensitive set are filtered in the kernel"
fi

# 3. A connect to a loopback port (a listener from python3, a client from bash's /dev/tcp).
PORT=$(free_port)
python3 -c "
import socket, sys
s = socket.socket(); s.bind(('127.0.0.1', $PORT)); s.listen(1)
print('ready', flush=True)
c, _ = s.accept(); c.close()
" >"$WORK/listener.out" &
LISTENER=$!
wait_until 10 grep -q ready "$WORK/listener.out"
bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT" 2>/dev/null
wait "$LISTENER" 2>/dev/null
has_event connect "e['type'] == 'connect' and e['remote']['address'] == '127.0.0.1' and e['remote']['port'] == $PORT"
has_event listen "e['type'] == 'listen' and e['local']['port'] == $PORT and e['proc']['name'].startswith('python')"
has_event accept "e['type'] == 'accept' and e['local']['port'] == $PORT and e['remote']['address'] == '127.0.0.1'"

# 4. An unshare of the UTS namespace (CLONE_NEWUTS = 0x04000000).
unshare --uts true
has_event unshare "e['type'] == 'unshare' and e['args']['flags'] & 0x04000000 and e['proc']['name'] == 'unshare'"

# 5. A DNS query over UDP/53 (nothing needs to answer: the payload is read on its way out).
python3 -c "
import socket, struct
name = b''.join(bytes([len(p)]) + p for p in b'$MARK.example.org'.split(b'.')) + b'\0'
query = struct.pack('>HHHHHH', 0x1234, 0x0100, 1, 0, 0, 0) + name + struct.pack('>HH', 1, 1)
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(query, ('127.0.0.1', 53))
"
has_event dns "e['type'] == 'dns_query' and e['args']['name'] == '$MARK.example.org' and e['args']['qtype'] == 'A' and e['remote']['port'] == 53"

# 6. Memfd and chmod with setuid, rename, unlink.
cp /bin/true "$WORK/$MARK.bin" && chmod 4755 "$WORK/$MARK.bin" && mv "$WORK/$MARK.bin" "$WORK/$MARK.moved" &&
  rm -f "$WORK/$MARK.moved"
has_event chmod_setuid "e['type'] == 'chmod' and e['path'].endswith('$MARK.bin') and e['args']['mode'] & 0o4000"
has_event rename "e['type'] == 'rename' and e['path'].endswith('$MARK.bin') and e['new_path'].endswith('$MARK.moved')"
has_event unlink "e['type'] == 'unlink' and e['path'].endswith('$MARK.moved')"
python3 -c "import os; os.memfd_create('$MARK')"
has_event memfd_create "e['type'] == 'memfd_create' and e['args']['name'] == '$MARK'"

# 6b. A library mapped executable (dlopen of a fresh copy: a file no process has mapped yet) is
# one mmap event with its path; a second dlopen of it in another process is not reported again.
cp "$(ldconfig -p | awk '$1 == "libz.so.1" { print $NF; exit }')" "$WORK/lib$MARK.so"
python3 -c "import ctypes; ctypes.CDLL('$WORK/lib$MARK.so')"
has_event mmap_exec "e['type'] == 'mmap' and e['path'] == '$WORK/lib$MARK.so' and e['args']['prot'] & 4 and e['proc']['name'].startswith('python')"
python3 -c "import ctypes; ctypes.CDLL('$WORK/lib$MARK.so')"
sleep 1
mapped=$(python3 -c '
import json, sys
print(sum(1 for line in open(sys.argv[1], errors="replace") if line.endswith("\n")
          and (lambda e: e["type"] == "mmap" and e.get("path") == sys.argv[2])(json.loads(line))))
' "$EVENTS" "$WORK/lib$MARK.so")
if [ "$mapped" = 1 ]; then
  pass mmap_once "one event for two processes that mapped the file"
else
  fail mmap_once "$mapped mmap events of $WORK/lib$MARK.so (expected 1)"
fi

# 7. In a container: the event carries the container's id, name and image from its first event.
if [ "$ENGINE_UP" = 1 ]; then
  CID=$(docker run -d --name moat-sensor-c1 "$IMAGE" sleep 600) || fail container_run "docker run failed"
  if [ -n "${CID:-}" ]; then
    docker exec moat-sensor-c1 /bin/cat /etc/hostname >/dev/null
    SHORT=${CID:0:12}
    has_event container_first_exec "e['type'] == 'execve' and e['proc']['exe'] == '/usr/bin/sleep' and e.get('container', {}).get('id') == '$SHORT' and e['container']['name'] == 'moat-sensor-c1' and e['container']['image'] == '$IMAGE'"
    has_event container_exec "e['type'] == 'execve' and e['proc']['args'] == ['/etc/hostname'] and e['container']['full_id'] == '$CID' and e['container']['name'] == 'moat-sensor-c1' and e['container']['image'] == '$IMAGE' and e['container']['image_id'].startswith('sha256:')"
    has_event container_cgroup "e['type'] == 'execve' and e['container']['id'] == '$SHORT' and e['proc']['cgroup'].endswith('$CID')"
    if python3 - "$EVENTS" "$SHORT" <<'PY'; then
import json, sys
missing = 0
for line in open(sys.argv[1], errors="replace"):
    # The sensor is still writing: its last line may not be complete yet.
    if not line.endswith("\n"):
        continue
    e = json.loads(line)
    c = e.get("container")
    if c and c["id"] == sys.argv[2] and not c.get("image"):
        missing += 1
sys.exit(1 if missing else 0)
PY
      pass container_metadata_complete "every event of the container has its image"
    else
      fail container_metadata_complete "events of the container without an image"
    fi
  fi
else
  skip container "no private dockerd"
fi

# 8. The other attachment, `syscallAttach: raw` (tp_btf sys_enter/sys_exit), records the same
# system calls: a write-open and an unshare, from a second sensor beside the first.
RAW_EVENTS=$WORK/events-raw.jsonl
printf 'statsInterval: 0\ndockerSocket: ""\nsyscallAttach: raw\n' >"$WORK/sensor-raw.yaml"
"$MOAT" sensor --events --config "$WORK/sensor-raw.yaml" -o "$RAW_EVENTS" \
  --metrics-listen "127.0.0.1:$(free_port)" 2>"$WORK/sensor-raw.err" &
RAW_PID=$!
push_cleanup "stop_pid $RAW_PID 10"
if wait_until 60 grep -q "sensor: attached" "$WORK/sensor-raw.err"; then
  if grep -q "sys_enter, sys_exit (tp_btf" "$WORK/sensor-raw.err"; then
    pass raw_attach "$(grep -m1 'sensor: attached' "$WORK/sensor-raw.err")"
  else
    fail raw_attach "$(grep -m1 'sensor: attached' "$WORK/sensor-raw.err")"
  fi
  : >"$WORK/$MARK.raw"
  unshare --uts true
  EVENTS=$RAW_EVENTS has_event raw_open_write "e['type'] == 'open' and e['path'] == '$WORK/$MARK.raw' and e['args']['flags'] & 0o100"
  EVENTS=$RAW_EVENTS has_event raw_unshare "e['type'] == 'unshare' and e['args']['flags'] & 0x04000000"
  kill -TERM "$RAW_PID"
  wait "$RAW_PID"
else
  cat "$WORK/sensor-raw.err"
  fail raw_attach "moat sensor with syscallAttach: raw did not attach"
fi

# 9. Stop: exit 0, counters on stderr, no drops.
kill -TERM "$SENSOR_PID"
wait "$SENSOR_PID"
rc=$?
if [ "$rc" = 0 ]; then pass sigterm "exit 0"; else fail sigterm "exit $rc"; fi
last=$(grep "sensor at exit" "$WORK/sensor.err" | tail -n 1)
if [[ "$last" == *"drops 0,"* && "$last" == *"decode errors 0,"* ]]; then
  pass counters "$last"
else
  fail counters "${last:-no counters line at exit}"
fi
if grep -q "sensor counters:" "$WORK/sensor.err"; then
  pass counters_periodic "printed every statsInterval"
else
  fail counters_periodic "no periodic counters line"
fi
finish
