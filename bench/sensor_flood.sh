#!/usr/bin/env bash
# Drop accounting of the eBPF sensor under a synthetic flood (docs/sensor.md, docs/benchmarks.md):
# bench/sensor_flood_gen.c opens files for writing (each open is one recorded event) at a fixed
# RATE per second from THREADS threads for DURATION seconds while the sensor runs, either as
# `moat sensor --events` writing its JSON lines to a file, or as `moat sensor` running every event
# through the built-in rules and Falco's falco_rules.yaml (alerts to a file). Prints, per mode,
# the rate achieved, the events the kernel wrote and dropped, the records the user side read and
# its rate, and the sensor's CPU time. Needs root and a C compiler.
# Usage: bench/sensor_flood.sh PATH/TO/moat [RATE] [DURATION] [THREADS] [RING_MIB]
set -uo pipefail
[ $# -ge 1 ] || { echo "usage: $0 PATH/TO/moat [RATE] [DURATION] [THREADS] [RING_MIB]" >&2; exit 2; }
MOAT=$(realpath "$1")
RATE=${2:-300000}
DURATION=${3:-10}
THREADS=${4:-2}
RING_MIB=${5:-16}
HERE=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 77; }
command -v cc >/dev/null || { echo "needs a C compiler (apt-get install gcc)" >&2; exit 2; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/moat-sensor-flood.XXXXXX")
SENSOR_PID=
cleanup() {
  [ -z "$SENSOR_PID" ] || kill -TERM "$SENSOR_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
cc -O2 -pthread -o "$WORK/gen" "$HERE/sensor_flood_gen.c" || exit 2
mkdir "$WORK/files"

FALCO_RULES=$HERE/../../shared/data/runtime/falco-rules/falco_rules.yaml
printf 'ringBufferMiB: %s\nstatsInterval: 0\ndockerSocket: ""\n' "$RING_MIB" >"$WORK/sensor.yaml"
echo "rate $RATE/s, $THREADS threads, $DURATION s, ring buffer $RING_MIB MiB, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '| mode | opens/s generated | events written | dropped | records read | read/s | sensor CPU s |\n'
printf '|---|---|---|---|---|---|---|\n'
for mode in events rules; do
  if [ "$mode" = events ]; then
    args=(--events -o "$WORK/events.jsonl")
  else
    args=(--rules "$FALCO_RULES" -o "$WORK/alerts.jsonl")
  fi
  : >"$WORK/sensor.err"
  "$MOAT" sensor "${args[@]}" --config "$WORK/sensor.yaml" --metrics-listen "" 2>"$WORK/sensor.err" &
  SENSOR_PID=$!
  for _ in $(seq 150); do grep -q "sensor: attached" "$WORK/sensor.err" && break; sleep 0.2; done
  read -r opens elapsed achieved < <("$WORK/gen" "$WORK/files" "$RATE" "$DURATION" "$THREADS")
  sleep 1
  cpu=$(awk '{print ($14 + $15) / 100}' "/proc/$SENSOR_PID/stat")
  kill -TERM "$SENSOR_PID"; wait "$SENSOR_PID"; SENSOR_PID=
  line=$(grep "sensor at exit" "$WORK/sensor.err" | tail -1)
  events=$(sed -E 's/.*events ([0-9]+).*/\1/' <<<"$line")
  drops=$(sed -E 's/.*drops ([0-9]+).*/\1/' <<<"$line")
  records=$(sed -E 's/.*, read ([0-9]+).*/\1/' <<<"$line")
  printf '| %s | %s | %s | %s | %s | %.0f | %s |\n' "$mode" "$achieved" "$events" "$drops" \
    "$records" "$(echo "$records / $elapsed" | bc -l)" "$cpu"
  rm -f "$WORK/events.jsonl" "$WORK/alerts.jsonl"
done
