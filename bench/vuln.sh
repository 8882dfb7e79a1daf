#!/usr/bin/env bash
# Benchmark of vulnerability scanning (issue 3), release binary:
#  1. `moat db build` from every real feed sample in ../shared/data/vuln (the whole PyPI and Go OSV
#     databases, the KEV catalogue, and the Debian tracker, Wolfi/Chainguard secdb, AlmaLinux/
#     Rocky/Ubuntu OSV, NVD 2.0 and EPSS samples): time, size, peak RSS;
#  2. the projection for the full Debian feed: a Debian Security Tracker JSON of the real one's
#     scale (6,000 source packages, 24 CVEs each, four releases per CVE: 144,000 package/CVE
#     records, about 75 MB like the real file, keys sorted as the tracker writes them) generated
#     here from real source package names, built with the rest;
#  3. every default source at real scale: the samples, that tracker, and the large feeds projected
#     from their samples (as bench/distro_feeds.sh does): SUSE OVAL (the sample's krb5 definition
#     repeated with distinct CVE ids, .xml.gz), Red Hat CSAF VEX (the excerpt as one file per CVE in
#     a tar.zst), an NVD 2.0 year file (the sample entry once per tracker CVE, .json.gz) and an EPSS
#     CSV of 300,000 scores; time and peak RSS (the memory target is 200 MB);
#  4. a cold scan (inventory + matching) of the Debian bench image of bench/inventory.sh from its
#     `docker save` tarball with the database of 2, against the inventory alone.
# Prints Markdown for docs/benchmarks.md. Usage: bench/vuln.sh [PATH/TO/moat] (default build/moat)
# Env: RUNS (default 5; medians), FULL_RUNS (default 1, for case 3), DISTRO_RECORDS (default
# 20000: OVAL definitions and VEX files), KEEP_DIR (copies the databases there to compare
# builds), MOAT_SHARED_DATA_DIR.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
for lib in common rootfs; do
  # shellcheck source=/dev/null
  source "$ROOT/tests/lib/$lib.sh"
done
# shellcheck source=bench/timing.sh
source "$HERE/timing.sh"
# shellcheck source=bench/feed_projection.sh
source "$HERE/feed_projection.sh"
MOAT=$(realpath "${1:-$ROOT/build/moat}")
RUNS=${RUNS:-5}
FULL_RUNS=${FULL_RUNS:-1}
DISTRO_RECORDS=${DISTRO_RECORDS:-20000}
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

# A full-scale Debian tracker: the real one lists about 140,000 (source package, CVE) records
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
    for _ in range(24):
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
json.dump(tracker, sys.stdout, sort_keys=True)
sys.stderr.write("%d source packages, %d records\n" % (len(tracker), n))
' "$work/image-sources" >"$work/debian-full.json" 2>"$work/gen.log"
records=$(cat "$work/gen.log")

# The large distribution and enrichment feeds, projected from their samples.
project_oval "$FIX/sles__suse_truncated.xml" "$DISTRO_RECORDS" "$work/suse.xml"
oval_mb=$(size_mb "$work/suse.xml")
gzip -f "$work/suse.xml"
project_csaf "$ROOT/src/vulndb/testdata/csaf/cve-2023-20593-excerpt.json" "$DISTRO_RECORDS" \
  "$work/csaf_vex.tar.zst" "$work"
csaf_mb=$(tar --zstd -tvf "$work/csaf_vex.tar.zst" | awk '{ s += $3 } END { printf "%.1f", s / 1048576 }')
# NVD: a year file of 40,000 CVEs (the size of 2024's), the sample entry once per CVE of the
# projected tracker (so that every one is kept); EPSS: 300,000 scores, the tracker's CVEs first.
python3 - "$FIX/nvd__single-entry.json" "$work/debian-full.json" "$work/nvdcve-2.0-2090.json" \
  "$work/epss.csv" <<'PY'
import copy, json, sys
sample = json.load(open(sys.argv[1]))
entry = sample["vulnerabilities"][0]
cves = sorted({cve for package in json.load(open(sys.argv[2])).values() for cve in package})
with open(sys.argv[3], "w") as out:
    head = dict(sample)
    head["vulnerabilities"] = []
    out.write(json.dumps(head)[:-2])  # up to the opening bracket of "vulnerabilities"
    for i, cve in enumerate(cves[:40000]):
        item = copy.deepcopy(entry)
        item["cve"]["id"] = cve
        out.write(("," if i else "") + json.dumps(item))
    out.write("]}")
with open(sys.argv[4], "w") as out:
    out.write("#model_version:v2023.03.01,score_date:2090-01-01T00:00:00+0000\ncve,epss,percentile\n")
    for i in range(300000):
        cve = cves[i] if i < len(cves) else "CVE-2091-%07d" % i
        out.write("%s,%.5f,%.5f\n" % (cve, (i % 997) / 997, (i % 991) / 991))
PY
nvd_mb=$(size_mb "$work/nvdcve-2.0-2090.json")
gzip -f "$work/nvdcve-2.0-2090.json"
gzip -f "$work/epss.csv"
full_scale=("${samples[@]}" --debian-tracker "$work/debian-full.json" --oval "$work/suse.xml.gz"
  --csaf "$work/csaf_vex.tar.zst" --nvd "$work/nvdcve-2.0-2090.json.gz" --epss "$work/epss.csv.gz")

build_samples() { "$MOAT" -q db build "${samples[@]}" -o "$work/samples.db"; }
build_full() {
  "$MOAT" -q db build "${samples[@]}" --debian-tracker "$work/debian-full.json" -o "$work/full.db"
}
samples_s=$(median_seconds build_samples)
samples_rss=$(peak_rss_mb "$MOAT" -q db build "${samples[@]}" -o "$work/samples.db")
full_s=$(median_seconds build_full)
full_rss=$(peak_rss_mb "$MOAT" -q db build "${samples[@]}" --debian-tracker "$work/debian-full.json" \
  -o "$work/full.db")
build_all() { "$MOAT" -q db build "${full_scale[@]}" -o "$work/all.db"; }
all_s=$(RUNS=$FULL_RUNS median_seconds build_all)
all_rss=$(peak_rss_mb "$MOAT" -q db build "${full_scale[@]}" -o "$work/all.db")
if [ -n "${KEEP_DIR:-}" ]; then
  mkdir -p "$KEEP_DIR"
  cp "$work/samples.db" "$work/full.db" "$work/all.db" "$KEEP_DIR/"
fi

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
| \`moat db build\`, every source at real scale: the above + SUSE OVAL ($DISTRO_RECORDS definitions, $oval_mb MiB of XML, .gz) + Red Hat CSAF VEX ($DISTRO_RECORDS files, $csaf_mb MiB of JSON, tar.zst) + NVD 2.0 (40,000 CVEs, $nvd_mb MiB of JSON, .gz) + EPSS (300,000 scores) (median of $FULL_RUNS) | ${all_s} s | ${all_rss} MB | $(size_mb "$work/all.db") MiB |
| cold scan of the bench image tarball ($packages packages, $findings findings), full-scale database | ${scan_s} s | ${scan_rss} MB | |
| the same scan, inventory only (\`--scanners none\`) | ${inventory_s} s | | |
EOF
