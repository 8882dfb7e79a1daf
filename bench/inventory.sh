#!/usr/bin/env bash
# Benchmark: inventory of a ~200 MB Debian bookworm image, cold and warm, from a `docker save`
# tarball and from a loopback registry, side by side with the floor (the time to just read the
# tarball; the time to just inflate the gzip layers). Prints a Markdown table for
# docs/benchmarks.md. Usage: bench/inventory.sh [PATH/TO/moat] (default build/moat)
# Env: RUNS (default 5; the median is reported).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
for lib in common rootfs registry; do
  # shellcheck source=/dev/null
  source "$ROOT/tests/lib/$lib.sh"
done
# shellcheck source=bench/timing.sh
source "$HERE/timing.sh"
MOAT=$(realpath "${1:-$ROOT/build/moat}")
RUNS=${RUNS:-5}
BENCH_PACKAGES="python3,perl,curl,ca-certificates,openssl,less"

install_cleanup_trap
cache=$(moat_test_cache_dir)
base=$(bookworm_rootfs_tar)
full=$(bookworm_rootfs_tar bench "$BENCH_PACKAGES")
archive=$cache/bench-debian.tar
if [ ! -s "$archive" ] || [ "$archive" -ot "$full" ]; then
  log "building $archive"
  "$HERE/make_bench_image.py" "$base" "$full" "$archive" moat-bench/debian:bookworm
fi

work=$(mktemp -d)
push_cleanup "rm -rf $work"
start_registry "$work/registry"
image=$REGISTRY_ADDR/moat-bench/debian:bookworm
skopeo copy -q --dest-tls-verify=false "docker-archive:$archive" "docker://$image"
blobs=$(find "$work/registry/storage" -path '*/blobs/sha256/*/data' -size +1M)

scanners=()
if "$MOAT" image --help 2>&1 | grep -q -- '--scanners'; then scanners=(--scanners none); fi

# peak_rss_mb ARGS...: the peak resident set size of one `moat ARGS` run, in MiB.
peak_rss_mb() {
  /usr/bin/time -f '%M' -o "$work/rss" "$MOAT" "$@" >/dev/null 2>&1
  awk '{ printf "%.0f", $1 / 1024 }' "$work/rss"
}

read_floor() { cat "$archive" >/dev/null; }
inflate_floor() { local b; for b in $blobs; do igzip -dc "$b" >/dev/null; done; }
zlib_floor() { local b; for b in $blobs; do gzip -dc "$b" >/dev/null; done; }
cold_tar_args=(image --input "$archive" "${scanners[@]}" --no-cache -f json -o /dev/null)
cold_registry_args=(image "$image" --image-src registry --insecure "${scanners[@]}" --no-cache
  -f json -o /dev/null)
warm_tar_args=(image --input "$archive" "${scanners[@]}" --cache-dir "$work/cache" -f json
  -o /dev/null)
warm_registry_args=(image "$image" --image-src registry --insecure "${scanners[@]}"
  --cache-dir "$work/cache" -f json -o /dev/null)
cold_tar() { "$MOAT" "${cold_tar_args[@]}"; }
cold_registry() { "$MOAT" "${cold_registry_args[@]}"; }
warm_tar() { "$MOAT" "${warm_tar_args[@]}"; }
warm_registry() { "$MOAT" "${warm_registry_args[@]}"; }

cat "$archive" >/dev/null  # page cache warm: every run reads from memory, as Trivy's would
size_mb=$(du -m "$archive" | cut -f1)
gz_mb=$(du -cm $blobs | tail -1 | cut -f1)
packages=$(cold_tar >/dev/null; "$MOAT" image --input "$archive" "${scanners[@]}" --no-cache -f json | jq '.packages | length')
cold_tar_s=$(median_seconds cold_tar)
read_s=$(median_seconds read_floor)
cold_reg_s=$(median_seconds cold_registry)
inflate_s=$(median_seconds inflate_floor)
zlib_s=$(median_seconds zlib_floor)
warm_tar >/dev/null 2>&1
warm_registry >/dev/null 2>&1
warm_tar_s=$(median_seconds warm_tar)
warm_reg_s=$(median_seconds warm_registry)
rss_tar=$(peak_rss_mb "${cold_tar_args[@]}")
rss_reg=$(peak_rss_mb "${cold_registry_args[@]}")
rss_warm=$(peak_rss_mb "${warm_tar_args[@]}")

ratio() { printf '%.1f' "$(echo "$1 / $2" | bc -l)"; }
cat <<TABLE
Image: Debian bookworm, 2 layers, ${size_mb} MB uncompressed (${gz_mb} MB gzip in the registry), ${packages} packages. Median of ${RUNS} runs, $(nproc) cores.

| case | moat | floor | moat / floor | peak RSS |
|---|---|---|---|---|
| docker save tarball, cold (--no-cache) | ${cold_tar_s} s | read the tarball: ${read_s} s | $(ratio "$cold_tar_s" "$read_s") | ${rss_tar} MB |
| loopback registry, cold (--no-cache) | ${cold_reg_s} s | igzip inflate of the layers: ${inflate_s} s (zlib gzip -d: ${zlib_s} s) | $(ratio "$cold_reg_s" "$inflate_s") | ${rss_reg} MB |
| docker save tarball, warm (layer cache) | ${warm_tar_s} s | | | ${rss_warm} MB |
| loopback registry, warm (layer cache) | ${warm_reg_s} s | | | |
TABLE
