#!/usr/bin/env bash
# The sensor's overhead on syscall-heavy work (docs/benchmarks.md "Run-time sensor"): the same
# workloads run without and with `moat sensor` (built-in rules + Falco's falco_rules.yaml) in
# alternating rounds, so that the machine's load changes both alike:
#   - redis-benchmark (SET and GET, 50 clients) against a private redis-server on 127.0.0.1 with
#     a temporary directory (stopped at the end): requests/s, and the CPU time of server and
#     client per request (robust to other work on the machine);
#   - an open(O_WRONLY)/close loop (bench/sensor_flood_gen.c without a rate limit, one thread):
#     every open is an event the sensor records and evaluates; opens/s.
# Prints each round and the median overhead. Needs root, redis-server and redis-tools (Debian:
# apt-get install redis-server redis-tools) and a C compiler.
# Usage: bench/sensor_overhead.sh PATH/TO/moat [ROUNDS] [REQUESTS]
set -uo pipefail
[ $# -ge 1 ] || { echo "usage: $0 PATH/TO/moat [ROUNDS] [REQUESTS]" >&2; exit 2; }
MOAT=$(realpath "$1")
ROUNDS=${2:-4}
REQUESTS=${3:-200000}
HERE=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 77; }
for tool in redis-server redis-benchmark cc; do
  command -v "$tool" >/dev/null || {
    echo "needs $tool (apt-get install redis-server redis-tools gcc)" >&2
    exit 2
  }
done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/moat-sensor-overhead.XXXXXX")
SENSOR_PID=
REDIS_PID=
cleanup() {
  [ -z "$SENSOR_PID" ] || kill -TERM "$SENSOR_PID" 2>/dev/null
  [ -z "$REDIS_PID" ] || kill -TERM "$REDIS_PID" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
cc -O2 -pthread -o "$WORK/gen" "$HERE/sensor_flood_gen.c" || exit 2
mkdir "$WORK/files" "$WORK/redis"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --bind 127.0.0.1 --port "$PORT" --dir "$WORK/redis" --save "" --appendonly no \
  --daemonize no --logfile "$WORK/redis.log" &
REDIS_PID=$!
for _ in $(seq 50); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

start_sensor() {
  printf 'statsInterval: 0\ndockerSocket: ""\n' >"$WORK/sensor.yaml"
  "$MOAT" sensor --rules "$HERE/../../shared/data/runtime/falco-rules/falco_rules.yaml" \
    -o "$WORK/alerts.jsonl" --config "$WORK/sensor.yaml" --metrics-listen "" \
    2>"$WORK/sensor.err" &
  SENSOR_PID=$!
  for _ in $(seq 150); do grep -q "sensor: attached" "$WORK/sensor.err" && break; sleep 0.2; done
}
stop_sensor() {
  kill -TERM "$SENSOR_PID"; wait "$SENSOR_PID"; SENSOR_PID=
  grep "sensor at exit" "$WORK/sensor.err" | sed 's/^/    /' >&2
}
# redis_run: "REQUESTS_PER_S CPU_US_PER_REQUEST" of SET and GET together. The CPU time is
# redis-server's (from /proc) plus redis-benchmark's (its rusage), per request: unlike the rate it
# does not depend on how much of the machine the two got while other work ran.
server_cpu_ticks() { awk '{print $14 + $15}' "/proc/$REDIS_PID/stat"; }
redis_run() {
  local before after
  before=$(server_cpu_ticks)
  python3 - "$PORT" "$REQUESTS" "$(getconf CLK_TCK)" "$before" "$REDIS_PID" <<'PY'
import re, resource, subprocess, sys
port, requests, tck, before, pid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
out = subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", port, "-c", "50", "-n", str(requests),
                      "-t", "set,get", "-q"], capture_output=True, text=True).stdout
rates = [float(m) for m in re.findall(r"([0-9.]+) requests per second", out.replace("\r", "\n"))]
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(f"/proc/{pid}/stat") as f:
    fields = f.read().rsplit(")", 1)[1].split()
after = int(fields[11]) + int(fields[12])
cpu = usage.ru_utime + usage.ru_stime + (after - before) / tck
print(f"{sum(rates) / len(rates):.0f} {1e6 * cpu / (2 * requests):.2f}")
PY
}
open_rate() { "$WORK/gen" "$WORK/files" 1e9 3 1 | awk '{print $3}'; }

echo "load $(cut -d' ' -f1-3 /proc/loadavg); $ROUNDS rounds; redis-benchmark -c 50 -n $REQUESTS -t set,get"
printf '| round | redis req/s without | with sensor | CPU µs/request without | with sensor | open/close per s without | with sensor |\n'
printf '|---|---|---|---|---|---|---|\n'
: >"$WORK/ratios"
for round in $(seq "$ROUNDS"); do
  read -r r0 c0 < <(redis_run); o0=$(open_rate)
  start_sensor
  read -r r1 c1 < <(redis_run); o1=$(open_rate)
  stop_sensor
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$round" "$r0" "$r1" "$c0" "$c1" "$o0" "$o1"
  echo "$r0 $r1 $o0 $o1 $c0 $c1" >>"$WORK/ratios"
done
median() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
redis_overhead=$(awk '{printf "%.2f\n", 100 * (1 - $2 / $1)}' "$WORK/ratios" | median)
redis_cpu_overhead=$(awk '{printf "%.2f\n", 100 * ($6 / $5 - 1)}' "$WORK/ratios" | median)
open_overhead=$(awk '{printf "%.2f\n", 100 * (1 - $4 / $3)}' "$WORK/ratios" | median)
echo "median overhead: redis-benchmark ${redis_overhead} % of requests/s, ${redis_cpu_overhead} % of CPU per request; open/close loop ${open_overhead} %"
