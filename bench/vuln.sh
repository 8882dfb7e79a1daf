#!/usr/bin/env bash
# Benchmark of vulnerability scanning (issue 3), release binary:
#  1. `moat db build` from every real feed sample in ../shared/data/vuln (the whole PyPI and Go OSV
#     databases, the KEV catalogue, and the Debian tracker, Wolfi/Chainguard secdb, AlmaLinux/
#     Rocky/Ubuntu OSV, NVD 2.0 and EPSS samples): time, size, peak RSS;
#  2. the projection for the full Debian feed: a Debian Security Tracker JSON of the real one's
#     scale (6,000 source packages, 20 CVEs each, four releases per CVE: 120,000 package/CVE
#     records) generated here from real source package names, built with the rest;
#  3. a cold scan (inventory + matching) of the Debian bench image of bench/inventory.sh from its
#     `docker save` tarball with that database, against the inventory alone.
# Prints Markdown for docs/benchmarks.md. Usage: bench/vuln.sh [PATH/TO/moat] (default build/moat)
# Env: RUNS (default 5; medians), MOAT_SHARED_DATA_DIR.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
for lib in common rootfs; do
  # shellcheck source=/dev/null
  source "$ROOT/tests/lib/$lib.sh"
done
# shellcheck source=bench/timing.sh
source "$HERE/timing.sh"
MOAT=$(realpath "${1:-$ROOT/build/moat}")
RUNS=${RUNS:-5}
DATA=${MOAT_SHARED_DATA_DIR:-$ROOT/../shared/data}/vuln
FIX=$DATA/feeds/vunnel-fixtures

install_cleanup_trap
work=$(mktemp -d)
push_cleanup "rm -rf $work"

# The bench image of bench/inventory.sh (built there; cached).
archive=$(moat_test_cache_dir)/bench-debian.tar
if [ ! -s "$archive" ]; then
  base=$(bookworm_rootfs_tar)
  full=$(bookworm_rootfs_tar bench "python3,perl,curl,ca-certificates,openssl,less")
  "$HERE/make_bench_image.py" "$base" "$full" "$archive" moat-bench/debian:bookworm
fi

peak_rss_mb() {
  /usr/bin/time -f '%M' -o "$work/rss" "$@" >/dev/null 2>&1
  awk '{ printf "%.0f", $1 / 1024 }' "$work/rss"
}
size_mb() { awk '{ printf "%.1f", $1 / 1048576 }' <<<"$(stat -c %s "$1")"; }

samples=(--osv "$DATA/osv/PyPI" --osv "$DATA/osv/Go"
  --osv "$FIX/alma__osv-database_advisories_almalinux9_ALSA-2024-2433.json"
  --osv "$FIX/rocky__osv_RLSA-2024_3671.json"
  --osv "$FIX/ubuntu__osv_cve_2021_UBUNTU-CVE-2021-3782.json"
  --debian-tracker "$FIX/debian__input_debian.json"
  --secdb "$FIX/wolfi__input_secdb_security.json"
  --secdb "$FIX/chainguard__input_secdb_security.json"
  --nvd "$FIX/nvd__single-entry.json" --kev "$DATA/kev/known_exploited_vulnerabilities.json"
  --epss "$FIX/epss__example-1.csv")
if [ ! -f "$DATA/kev/known_exploited_vulnerabilities.json" ]; then
  samples=("${samples[@]/"$DATA/kev/known_exploited_vulnerabilities.json"/$FIX/kev__valid-catalog-1.json}")
fi

# A full-scale Debian tracker: the real one lists about 120,000 (source package, CVE) records
# over some 6,000 source packages (75 MB of JSON). Generated with real source package names: every
# source package of the bench image, then others from the apt lists; synthetic CVE ids and versions.
"$MOAT" image --input "$archive" --no-cache --scanners none -f json -o "$work/inventory.json" 2>/dev/null
jq -r '.packages[] | (.source_name // .name)' "$work/inventory.json" | sort -u >"$work/image-sources"
apt-cache dumpavail | python3 -c '
import json, random, sys
random.seed(1)
image = [l.strip() for l in open(sys.argv[1]) if l.strip()]
others, pkg = set(), None
for line in sys.stdin:
    if line.startswith("Package: "): pkg = line[9:].strip(); others.add(pkg)
    elif line.startswith("Source: "): others.discard(pkg); others.add(line[8:].split()[0])
others = sorted(others - set(image))
sources = image + random.sample(others, 6000 - len(image))
tracker, n = {}, 0
for src in sources:
    cves = {}
    for _ in range(20):
        n += 1
        releases = {}
        for rel in ("bullseye", "bookworm", "trixie", "sid"):
            if random.random() < 0.6:
                releases[rel] = {"status": "resolved", "urgency": random.choice(["low", "medium", "high", "not yet assigned"]),
                                 "fixed_version": "%d.%d-%d" % (random.randint(0, 9), random.randint(0, 30), random.randint(1, 5)),
                                 "repositories": {rel: "1.0-1"}}
            else:
                releases[rel] = {"status": "open", "urgency": random.choice(["unimportant", "low", "medium"]),
                                 "repositories": {rel: "1.0-1"}}
        cves["CVE-2090-%06d" % n] = {"description": "synthetic record for benchmarking", "scope": "local",
                                     "releases": releases}
    tracker[src] = cves
json.dump(tracker, sys.stdout)
sys.stderr.write("%d source packages, %d records\n" % (len(tracker), n))
' "$work/image-sources" >"$work/debian-full.json" 2>"$work/gen.log"
records=$(cat "$work/gen.log")

build_samples() { "$MOAT" -q db build "${samples[@]}" -o "$work/samples.db"; }
build_full() {
  "$MOAT" -q db build "${samples[@]}" --debian-tracker "$work/debian-full.json" -o "$work/full.db"
}
samples_s=$(median_seconds build_samples)
samples_rss=$(peak_rss_mb "$MOAT" -q db build "${samples[@]}" -o "$work/samples.db")
full_s=$(median_seconds build_full)
full_rss=$(peak_rss_mb "$MOAT" -q db build "${samples[@]}" --debian-tracker "$work/debian-full.json" \
  -o "$work/full.db")

cat "$archive" >/dev/null
scan_args=(image --input "$archive" --no-cache --skip-db-update --db "$work/full.db" -f json -o
  "$work/scan.json")
inventory_args=(image --input "$archive" --no-cache --scanners none -f json -o /dev/null)
scan() { "$MOAT" "${scan_args[@]}"; }
inventory() { "$MOAT" "${inventory_args[@]}"; }
scan >/dev/null 2>&1 || true
packages=$(jq '.packages | length' "$work/scan.json")
findings=$(jq '.vulnerabilities | length' "$work/scan.json")
scan_s=$(median_seconds scan)
inventory_s=$(median_seconds inventory)
scan_rss=$(peak_rss_mb "$MOAT" "${scan_args[@]}")

cat <<EOF
| case | time (median of $RUNS) | peak RSS | database |
|---|---|---|---|
| \`moat db build\`, every real sample feed | ${samples_s} s | ${samples_rss} MB | $(size_mb "$work/samples.db") MiB (from $(du -sm "$DATA/osv" | cut -f1) MB of OSV JSON and the rest) |
| \`moat db build\`, samples + full-scale Debian tracker ($records; $(size_mb "$work/debian-full.json") MiB JSON) | ${full_s} s | ${full_rss} MB | $(size_mb "$work/full.db") MiB |
| cold scan of the bench image tarball ($packages packages, $findings findings), full-scale database | ${scan_s} s | ${scan_rss} MB | |
| the same scan, inventory only (\`--scanners none\`) | ${inventory_s} s | | |
EOF
