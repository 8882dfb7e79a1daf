#!/usr/bin/env bash
# Benchmark: `moat bench docker` (all 117 controls) on a private engine running N containers
# (default 50), against docker-bench-security's approach: one `docker inspect --format` process
# per container per check (docker-bench-security is not packaged in Debian, so its approach is
# timed directly for a handful of its per-container checks and extrapolated). Prints a Markdown
# table for docs/benchmarks.md. Usage: bench/bench_docker.sh [PATH/TO/moat] (default build/moat)
# Env: RUNS (default 5; the median is reported), CONTAINERS (default 50).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
for lib in common rootfs dockerd; do
  # shellcheck source=/dev/null
  source "$ROOT/tests/lib/$lib.sh"
done
# shellcheck source=bench/timing.sh
source "$HERE/timing.sh"
MOAT=$(realpath "${1:-$ROOT/build/moat}")
RUNS=${RUNS:-5}
CONTAINERS=${CONTAINERS:-50}

install_cleanup_trap
work=$(mktemp -d "${TMPDIR:-/tmp}/moat-bench-docker.XXXXXX")
push_cleanup "rm -rf '$work'"
rootfs=$(bookworm_rootfs_tar)
start_private_dockerd "$work/docker"
docker import --change 'CMD ["sleep", "infinity"]' "$rootfs" moat-bench/app:1 >/dev/null
log "starting $CONTAINERS containers"
for i in $(seq 1 "$CONTAINERS"); do
  docker run -d --name "c$i" --network none moat-bench/app:1 >/dev/null
done

# docker-bench-security's per-container checks each run `docker inspect --format ...` once per
# running container (5.10 NetworkMode, 5.16 PidMode, 5.17 IpcMode, 5.5 Privileged, 5.11 Memory).
dockerbench_checks() {
  local id
  for format in '{{.HostConfig.NetworkMode}}' '{{.HostConfig.PidMode}}' '{{.HostConfig.IpcMode}}' \
    '{{.HostConfig.Privileged}}' '{{.HostConfig.Memory}}'; do
    for id in $(docker ps -q); do docker inspect --format "$format" "$id"; done
  done
}

moat_all=$(median_seconds "$MOAT" bench docker --format json -o /dev/null)
moat_5=$(median_seconds "$MOAT" bench docker --format json -o /dev/null --check 5.5,5.10,5.11,5.16,5.17)
db5=$(median_seconds dockerbench_checks)
per_check=$(echo "scale=4; $db5 / 5" | bc)
# docker-bench-security v1.6.0 has 31 checks that inspect each running container.
db_extrapolated=$(echo "scale=2; $per_check * 31" | bc)

echo
echo "| $CONTAINERS running containers | wall time (median of $RUNS) | per container |"
echo "|---|---|---|"
printf '| moat bench docker, all 117 controls | %.3f s | %.1f ms |\n' "$moat_all" "$(echo "$moat_all * 1000 / $CONTAINERS" | bc -l)"
printf '| moat bench docker, 5 runtime controls | %.3f s | %.1f ms |\n' "$moat_5" "$(echo "$moat_5 * 1000 / $CONTAINERS" | bc -l)"
printf '| docker inspect per container per check, 5 checks | %.3f s | %.1f ms |\n' "$db5" "$(echo "$db5 * 1000 / $CONTAINERS" | bc -l)"
printf '| same, extrapolated to docker-bench'"'"'s 31 per-container checks | %.1f s | %.1f ms |\n' "$db_extrapolated" "$(echo "$db_extrapolated * 1000 / $CONTAINERS" | bc -l)"
