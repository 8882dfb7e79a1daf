#!/usr/bin/env bash
# Memory and time of `moat db build` on the distribution feeds (issue 15) at a scale projected
# from the samples: the SUSE OVAL sample's krb5 definition (8 packages, 21 KB of criteria and
# tests) repeated with distinct CVE ids, and the Red Hat CSAF VEX excerpt repeated as one file per
# CVE in a tar.zst archive (the form Red Hat publishes), each at two sizes, so that the growth per
# record and per input byte can be told apart. Peak RSS with /usr/bin/time -f %M.
# Prints Markdown for docs/benchmarks.md. Usage: bench/distro_feeds.sh [PATH/TO/moat]
# Env: SIZES (default "2000 8000": definitions / VEX files), MOAT_SHARED_DATA_DIR.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
MOAT=$(realpath "${1:-$ROOT/build/moat}")
DATA=${MOAT_SHARED_DATA_DIR:-$ROOT/../shared/data}/vuln/feeds/vunnel-fixtures
SIZES=${SIZES:-"2000 8000"}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# shellcheck source=bench/feed_projection.sh
source "$HERE/feed_projection.sh"
make_oval() { project_oval "$DATA/sles__suse_truncated.xml" "$1" "$2"; }
make_csaf() { project_csaf "$ROOT/src/vulndb/testdata/csaf/cve-2023-20593-excerpt.json" "$1" "$2" "$work"; }

measure() {  # measure LABEL INPUT_BYTES ARGS...
  local label=$1 bytes=$2; shift 2
  local start end
  start=$(date +%s.%N)
  /usr/bin/time -f '%M' -o "$work/rss" "$MOAT" db build -q -o "$work/out.db" "$@" >/dev/null
  end=$(date +%s.%N)
  local records
  records=$("$MOAT" db info --db "$work/out.db" --format json | jq '[.sources[].count] | add')
  printf '| %s | %.1f MB | %s | %.2f s | %d MB |\n' "$label" "$(echo "$bytes / 1048576" | bc -l)" \
    "$records" "$(echo "$end - $start" | bc -l)" "$(($(cat "$work/rss") / 1024))"
}

echo "| input | size | advisories | time | peak RSS |"
echo "|---|---|---|---|---|"
for n in $SIZES; do
  make_oval "$n" "$work/suse.xml"
  measure "SUSE OVAL, $n definitions × 8 packages" "$(stat -c %s "$work/suse.xml")" --oval "$work/suse.xml"
  gzip -k "$work/suse.xml"
  measure "the same, .xml.gz" "$(stat -c %s "$work/suse.xml.gz")" --oval "$work/suse.xml.gz"
  rm -f "$work/suse.xml" "$work/suse.xml.gz"
  make_csaf "$n" "$work/csaf_vex.tar.zst"
  measure "Red Hat CSAF VEX, $n files (tar.zst)" "$(stat -c %s "$work/csaf_vex.tar.zst")" --csaf "$work/csaf_vex.tar.zst"
  rm -f "$work/csaf_vex.tar.zst"
done
