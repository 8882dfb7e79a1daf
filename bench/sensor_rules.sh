#!/usr/bin/env bash
# The sensor's rules engine over a recorded stream (docs/benchmarks.md "Run-time sensor"): records
# DURATION seconds of `moat sensor --events` on this machine while a workload runs (execs with
# arguments, write-opens, reads of sensitive files, loopback connects, a C compile), then runs
# bench/sensor_rules_bench.cpp over the recording: Moat's built-in rules alone and with Falco's
# falco_rules.yaml, one thread. Needs root (BPF) and a release build with -DMOAT_BENCH=ON.
# Usage: bench/sensor_rules.sh PATH/TO/moat PATH/TO/sensor_rules_bench [DURATION]
set -uo pipefail
[ $# -ge 2 ] || { echo "usage: $0 PATH/TO/moat PATH/TO/sensor_rules_bench [DURATION]" >&2; exit 2; }
MOAT=$(realpath "$1")
BENCH=$(realpath "$2")
DURATION=${3:-10}
[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 77; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/moat-sensor-rules.XXXXXX")
SENSOR_PID=
cleanup() {
  [ -z "$SENSOR_PID" ] || kill -TERM "$SENSOR_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

"$MOAT" sensor --events -o "$WORK/events.jsonl" --metrics-listen "" 2>"$WORK/sensor.err" &
SENSOR_PID=$!
for _ in $(seq 100); do grep -q "sensor: attached" "$WORK/sensor.err" && break; sleep 0.2; done
end=$((SECONDS + DURATION))
printf '#include <stdio.h>\nint main(void) { puts("x"); return 0; }\n' >"$WORK/x.c"
while [ $SECONDS -lt $end ]; do
  for i in $(seq 20); do
    ls "$WORK" >/dev/null; cat /etc/hostname >/dev/null; echo "$i" >"$WORK/f$i"
    grep -q root /etc/passwd; sed -n 1p /etc/os-release >/dev/null
  done
  cat /etc/shadow >/dev/null
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(1)
c=socket.create_connection(s.getsockname()); s.accept()'
  gcc -o "$WORK/x" "$WORK/x.c" 2>/dev/null && "$WORK/x" >/dev/null
done
kill -TERM "$SENSOR_PID"; wait "$SENSOR_PID"; SENSOR_PID=
echo "recorded: $(wc -l <"$WORK/events.jsonl") events; $(grep 'sensor at exit' "$WORK/sensor.err")"
MOAT_SENSOR_EVENTS=$WORK/events.jsonl taskset -c 0 "$BENCH" --benchmark_counters_tabular=true \
  --benchmark_min_time=2
