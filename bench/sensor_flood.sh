#!/usr/bin/env bash
# Drop accounting of the eBPF sensor under a synthetic flood (docs/sensor.md, docs/benchmarks.md):
# N writer processes open files for writing (each open is one recorded event) as fast as they can
# for DURATION seconds while the sensor runs, either as `moat sensor --events` writing its JSON
# lines to a file, or as `moat sensor` running every event through the built-in rules and Falco's
# falco_rules.yaml (alerts to a file). Prints the opens made, the events the kernel wrote and
# dropped, the records the user side read and the rates, for a small and a large ring buffer.
# Needs root.
# Usage: bench/sensor_flood.sh PATH/TO/moat [DURATION_SECONDS] [WRITERS]
set -uo pipefail
[ $# -ge 1 ] || { echo "usage: $0 PATH/TO/moat [DURATION] [WRITERS]" >&2; exit 2; }
MOAT=$(realpath "$1")
DURATION=${2:-5}
WRITERS=${3:-2}
[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 77; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/moat-sensor-flood.XXXXXX")
SENSOR_PID=
cleanup() {
  [ -z "$SENSOR_PID" ] || kill -TERM "$SENSOR_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

# One writer: open(O_WRONLY|O_CREAT) + close in a loop; prints how many it made.
writer() {
  python3 - "$WORK/flood-$1" "$DURATION" <<'PY'
import os, sys, time
path, duration = sys.argv[1], float(sys.argv[2])
end = time.monotonic() + duration
n = 0
while time.monotonic() < end:
    for _ in range(1000):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    n += 1000
print(n)
PY
}

FALCO_RULES=$(dirname "$0")/../../shared/data/runtime/falco-rules/falco_rules.yaml
printf '| mode | ring buffer | writers | opens/s generated | events written | drops | records read | read/s |\n'
printf '|---|---|---|---|---|---|---|---|\n'
for run in "events 1" "events 64" "rules 1" "rules 64"; do
  read -r mode mib <<<"$run"
  printf 'ringBufferMiB: %s\nstatsInterval: 0\ndockerSocket: ""\n' "$mib" >"$WORK/sensor.yaml"
  if [ "$mode" = events ]; then
    args=(--events -o "$WORK/events.jsonl")
  else
    args=(--rules "$FALCO_RULES" -o "$WORK/alerts.jsonl")
  fi
  "$MOAT" sensor "${args[@]}" --config "$WORK/sensor.yaml" --metrics-listen "" 2>"$WORK/sensor.err" &
  SENSOR_PID=$!
  for _ in $(seq 100); do grep -q "sensor: attached" "$WORK/sensor.err" && break; sleep 0.2; done
  start=$(date +%s.%N)
  writers=()
  for i in $(seq "$WRITERS"); do
    writer "$i" >"$WORK/writer-$i.out" &
    writers+=($!)
  done
  wait "${writers[@]}"
  elapsed=$(echo "$(date +%s.%N) - $start" | bc)
  opens=$(cat "$WORK"/writer-*.out | paste -sd+ | bc)
  sleep 1
  kill -TERM "$SENSOR_PID"; wait "$SENSOR_PID"; SENSOR_PID=
  line=$(grep "sensor at exit" "$WORK/sensor.err" | tail -1)
  events=$(sed -E 's/.*events ([0-9]+).*/\1/' <<<"$line")
  drops=$(sed -E 's/.*drops ([0-9]+).*/\1/' <<<"$line")
  records=$(sed -E 's/.*, read ([0-9]+).*/\1/' <<<"$line")
  printf '| %s | %s MiB | %s | %.0f | %s | %s | %s | %.0f |\n' "$mode" "$mib" "$WRITERS" \
    "$(echo "$opens / $elapsed" | bc -l)" "$events" "$drops" "$records" \
    "$(echo "$records / $elapsed" | bc -l)"
  rm -f "$WORK/events.jsonl" "$WORK/alerts.jsonl" "$WORK"/writer-*.out
done
