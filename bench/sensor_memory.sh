#!/usr/bin/env bash
# Resident memory of `moat sensor` with many processes tracked (docs/benchmarks.md "Run-time
# sensor"): starts COUNT sleeping processes (in their own process group), runs the sensor with the
# built-in rules and Falco's falco_rules.yaml, lets it read them from /proc and then see COUNT more
# start (exec, fork) and exit while it runs, and prints its VmRSS and VmHWM (peak) from
# /proc/PID/status and the processes it tracks. Needs root.
# Usage: bench/sensor_memory.sh PATH/TO/moat [COUNT] [RING_MIB]
set -uo pipefail
[ $# -ge 1 ] || { echo "usage: $0 PATH/TO/moat [COUNT] [RING_MIB]" >&2; exit 2; }
MOAT=$(realpath "$1")
COUNT=${2:-1000}
RING_MIB=${3:-16}
HERE=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 77; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/moat-sensor-memory.XXXXXX")
SENSOR_PID=
SLEEPERS=()
cleanup() {
  [ -z "$SENSOR_PID" ] || kill -TERM "$SENSOR_PID" 2>/dev/null
  [ ${#SLEEPERS[@]} -eq 0 ] || kill "${SLEEPERS[@]}" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
start_sleepers() {
  for _ in $(seq "$1"); do
    sleep 600 &
    SLEEPERS+=($!)
  done
}
status() { grep -E "^$1:" "/proc/$SENSOR_PID/status" | awk '{print $2 / 1024 " MB"}'; }

start_sleepers "$COUNT"  # running before the sensor: read from /proc at its start
printf 'ringBufferMiB: %s\nstatsInterval: 0\ndockerSocket: ""\n' "$RING_MIB" >"$WORK/sensor.yaml"
"$MOAT" sensor --rules "$HERE/../../shared/data/runtime/falco-rules/falco_rules.yaml" \
  -o "$WORK/alerts.jsonl" --config "$WORK/sensor.yaml" --metrics-listen 127.0.0.1:0 \
  2>"$WORK/sensor.err" &
SENSOR_PID=$!
for _ in $(seq 150); do grep -q "sensor: attached" "$WORK/sensor.err" && break; sleep 0.2; done
echo "after the start ($COUNT sleeping processes read from /proc): VmRSS $(status VmRSS)"
start_sleepers "$COUNT"  # seen by the sensor: fork + exec events
sleep 3
echo "with $((2 * COUNT)) sleeping processes: VmRSS $(status VmRSS), VmHWM $(status VmHWM)"
kill "${SLEEPERS[@]}" 2>/dev/null
wait "${SLEEPERS[@]}" 2>/dev/null
SLEEPERS=()
sleep 7  # exited processes are forgotten 5 s after their exit
echo "after they exited: VmRSS $(status VmRSS), VmHWM $(status VmHWM)"
kill -TERM "$SENSOR_PID"; wait "$SENSOR_PID"; SENSOR_PID=
grep "sensor: .* processes read\|sensor at exit" "$WORK/sensor.err"
