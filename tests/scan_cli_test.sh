#!/usr/bin/env bash
# `moat rootfs` end to end on incomplete assessments and OS-owned language packages, with real
# data: this machine's dpkg status and file lists (/var/lib/dpkg), the apk and rpm databases of
# ../shared/data/vuln/pkgdb (SQLite, Berkeley DB, NDB), and the real OSV record of CVE-2023-49083
# (PYSEC-2023-254, python cryptography < 41.0.6) in a database built by `moat db build`.
# Checks: a damaged or empty package database is reported (table, JSON, stderr) and exits 2
# unless --allow-incomplete; an OS without data in the database is reported as not assessed in
# every format (validated against the official schemas) and exits 2 under --exit-code; Debian's
# python3-cryptography is not matched against PyPI advisories unless --match-os-owned-libraries.
# Usage: tests/scan_cli_test.sh PATH/TO/moat
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/cli_test.sh
. "$HERE/lib/cli_test.sh"
# shellcheck source=lib/scan_fixtures.sh
. "$HERE/lib/scan_fixtures.sh"
start_cli_test "$@"
DATA=${MOAT_SHARED_DATA_DIR:-$HERE/../../shared/data}
PKGDB=$DATA/vuln/pkgdb
export XDG_CACHE_HOME=$WORK/cache

inventory() { "$MOAT" rootfs "$1" --scanners none --no-cache "${@:2}"; }

# --- dpkg: this machine's status, the file list and dist-info of python3-cryptography ----------
[ -r /var/lib/dpkg/status ] || { echo "SKIP: no /var/lib/dpkg/status"; exit 0; }
DEB=$WORK/deb
mkdir -p "$DEB/var/lib/dpkg/info" "$DEB/etc"
cp /var/lib/dpkg/status "$DEB/var/lib/dpkg/status"
cp /etc/os-release "$DEB/etc/os-release"
CRYPTO_LIST=/var/lib/dpkg/info/python3-cryptography.list
HAVE_CRYPTO=0
if [ -r "$CRYPTO_LIST" ]; then
  HAVE_CRYPTO=1
  cp "$CRYPTO_LIST" "$DEB/var/lib/dpkg/info/"
  metadata=$(grep -m1 '/cryptography-[^/]*\.dist-info/METADATA$' "$CRYPTO_LIST")
  mkdir -p "$DEB$(dirname "$metadata")"
  cp "$metadata" "$DEB$metadata"
  # The same library installed with pip, which no OS package owns.
  mkdir -p "$DEB/usr/local/lib/python3/dist-packages/cryptography-38.0.4.dist-info"
  cp "$metadata" "$DEB/usr/local/lib/python3/dist-packages/cryptography-38.0.4.dist-info/METADATA"
fi

expect dpkg-intact 0 inventory "$DEB" -f json -o "$WORK/deb.json"
is dpkg-intact-no-gaps jq -e '.assessment_gaps == [] and (.packages | length) > 50' "$WORK/deb.json"
if [ "$HAVE_CRYPTO" = 1 ]; then
  is owned-marked jq -e '[.packages[] | select(.name == "cryptography" and .type == "pypi")] |
    (map(select(.file_path | startswith("/usr/lib/python3"))) | .[0].owned_by == "python3-cryptography") and
    (map(select(.file_path | startswith("/usr/local"))) | .[0].owned_by == null)' "$WORK/deb.json"
fi

# One line of garbage inside the stanza of the tenth package.
victim=$(awk '/^Package: /{n++; if (n == 10) {print $2; exit}}' "$DEB/var/lib/dpkg/status")
cp -r "$DEB" "$WORK/deb-damaged"
awk -v v="$victim" '{print} $0 == "Package: " v {print "this line is damaged"}' \
  "$DEB/var/lib/dpkg/status" >"$WORK/deb-damaged/var/lib/dpkg/status"
damaged_line=$(grep -n '^this line is damaged$' "$WORK/deb-damaged/var/lib/dpkg/status" | cut -d: -f1)
expect dpkg-damaged 2 inventory "$WORK/deb-damaged"
is dpkg-damaged-table-notice grep -q "INCOMPLETE ASSESSMENT" "$WORK/dpkg-damaged.out"
is dpkg-damaged-names-line-and-package grep -q "line $damaged_line: expected \"Field: value\"; stanza at lines [0-9-]* (package \"$victim\") skipped" "$WORK/dpkg-damaged.out"
is dpkg-damaged-stderr grep -q "incomplete assessment: /var/lib/dpkg/status (dpkg): partly unreadable" "$WORK/dpkg-damaged.err"
expect dpkg-damaged-json 2 inventory "$WORK/deb-damaged" -f json -o "$WORK/deb-damaged.json"
is dpkg-damaged-json-gap jq -e --argjson all "$(jq '.packages | map(select(.type == "deb")) | length' "$WORK/deb.json")" \
  '.assessment_gaps | length == 1 and .[0].kind == "partial" and .[0].subject == "/var/lib/dpkg/status" and
   .[0].source == "dpkg" and .[0].packages == $all - 1' "$WORK/deb-damaged.json"
expect dpkg-damaged-lenient 0 inventory "$WORK/deb-damaged" --allow-incomplete
is dpkg-lenient-still-reported grep -q "INCOMPLETE ASSESSMENT" "$WORK/dpkg-damaged-lenient.out"

mkdir -p "$WORK/deb-empty/var/lib/dpkg"
: >"$WORK/deb-empty/var/lib/dpkg/status"
expect dpkg-empty 2 inventory "$WORK/deb-empty" -f json
is dpkg-empty-gap jq -e '.assessment_gaps[0].kind == "empty"' "$WORK/dpkg-empty.out"

# The same damaged database in an image layer (docker-save archive): reported alike, also when
# the layer's analysis comes from the cache on the second scan.
write_docker_archive "$WORK/deb-damaged" "$WORK/damaged.tar" damaged:1
for run in first cached; do
  expect "image-damaged-$run" 2 "$MOAT" -d image --input "$WORK/damaged.tar" --scanners none \
    --cache-dir "$WORK/image-cache" -f json -o "$WORK/image-$run.json"
  is "image-damaged-$run-gap" jq -e --arg v "$victim" '.assessment_gaps | length == 1 and
    .[0].kind == "partial" and (.[0].details[0] | contains("(package \"" + $v + "\") skipped"))' \
    "$WORK/image-$run.json"
done
is image-second-scan-from-cache grep -q "0 analyzed, 1 from cache" "$WORK/image-damaged-cached.err"

# --- apk ------------------------------------------------------------------------------------------
mkdir -p "$WORK/apk/lib/apk/db"
cp "$PKGDB/apk/trivy_testdata_apk_installed" "$WORK/apk/lib/apk/db/installed"
expect apk-intact 0 inventory "$WORK/apk"
sed -i '0,/^P:musl$/s//P:musl\nbroken line/' "$WORK/apk/lib/apk/db/installed"
expect apk-damaged 2 inventory "$WORK/apk" -f json
is apk-damaged-gap jq -e '.assessment_gaps[0].kind == "partial" and .assessment_gaps[0].source == "apk" and
  (.assessment_gaps[0].details[0] | test("expected \"X:value\"; stanza at lines [0-9]+-[0-9]+ \\(package \"musl\"\\) skipped")) and
  ([.packages[] | select(.name == "musl")] | length == 0) and (.packages | length) > 5' "$WORK/apk-damaged.out"
# syft's "corrupt" database: a line of garbage, then an intact record.
cp "$PKGDB/apk/syft_corrupt.installed" "$WORK/apk/lib/apk/db/installed"
expect apk-corrupt 2 inventory "$WORK/apk" -f json
is apk-corrupt-partial jq -e '.assessment_gaps[0].kind == "partial" and .assessment_gaps[0].packages == 1' \
  "$WORK/apk-corrupt.out"
head -n 1 "$PKGDB/apk/syft_corrupt.installed" >"$WORK/apk/lib/apk/db/installed"
expect apk-unreadable 2 inventory "$WORK/apk" -f json
is apk-unreadable-gap jq -e '.assessment_gaps[0].kind == "unreadable" and
  (.assessment_gaps[0].details[0] | test("line 1: expected"))' "$WORK/apk-unreadable.out"

# --- rpm: the three formats -----------------------------------------------------------------------
rpm_case() {  # NAME FIXTURE PATH-IN-ROOT
  local root=$WORK/rpm-$1
  mkdir -p "$root/$(dirname "$3")"
  cp "$PKGDB/rpm/$2" "$root/$3"
  echo "$root/$3"
}
poke() { printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }  # FILE OFFSET BYTES

db=$(rpm_case sqlite generated_rpmdb.sqlite var/lib/rpm/rpmdb.sqlite)
expect rpm-sqlite-intact 0 inventory "$WORK/rpm-sqlite"
# Garbage over every page after the first: SQLite reports the b-tree corrupt.
size=$(stat -c %s "$db")
head -c $((size - 4096)) /dev/urandom | dd of="$db" bs=4096 seek=1 conv=notrunc status=none
expect rpm-sqlite-damaged 2 inventory "$WORK/rpm-sqlite" -f json
is rpm-sqlite-gap jq -e '.assessment_gaps[0].source == "rpm" and
  (.assessment_gaps[0].kind == "unreadable" or .assessment_gaps[0].kind == "partial")' "$WORK/rpm-sqlite-damaged.out"

db=$(rpm_case bdb go-rpmdb_libuuid_Packages.bdb var/lib/rpm/Packages)
expect rpm-bdb-intact 0 inventory "$WORK/rpm-bdb"
truncate -s $(($(stat -c %s "$db") / 2)) "$db"
expect rpm-bdb-truncated 2 inventory "$WORK/rpm-bdb" -f json
is rpm-bdb-gap jq -e '.assessment_gaps[0].kind == "unreadable" and
  (.assessment_gaps[0].details[0] | test("truncated"))' "$WORK/rpm-bdb-truncated.out"

db=$(rpm_case ndb go-rpmdb_sle15-bci_Packages.ndb usr/lib/sysimage/rpm/Packages.db)
expect rpm-ndb-intact 0 inventory "$WORK/rpm-ndb" -f json -o "$WORK/ndb.json"
poke "$db" 32 'X'  # the first slot's magic
expect rpm-ndb-damaged 2 inventory "$WORK/rpm-ndb" -f json
is rpm-ndb-partial jq -e --argjson all "$(jq '.packages | length' "$WORK/ndb.json")" \
  '.assessment_gaps[0].kind == "partial" and .assessment_gaps[0].packages == $all - 1 and
   (.assessment_gaps[0].details[0] | test("offset 32: bad slot magic"))' "$WORK/rpm-ndb-damaged.out"

mkdir -p "$WORK/rpm-empty/var/lib/rpm"
: >"$WORK/rpm-empty/var/lib/rpm/rpmdb.sqlite"
expect rpm-empty 2 inventory "$WORK/rpm-empty"

# --- language metadata: a METADATA without Name ---------------------------------------------------
mkdir -p "$WORK/py/usr/lib/python3/dist-packages/broken-1.0.dist-info"
printf 'Metadata-Version: 2.1\nSummary: no name or version\n' \
  >"$WORK/py/usr/lib/python3/dist-packages/broken-1.0.dist-info/METADATA"
expect python-damaged 2 inventory "$WORK/py" -f json
is python-damaged-gap jq -e '.assessment_gaps[0].source == "python" and .assessment_gaps[0].kind == "unreadable" and
  (.assessment_gaps[0].subject | endswith("broken-1.0.dist-info/METADATA"))' "$WORK/python-damaged.out"
expect python-damaged-lenient 0 inventory "$WORK/py" --allow-incomplete

# --- many damaged archives of one kind: every one in JSON, one line and a count for people -------
mkdir -p "$WORK/jars/app"
for i in 1 2 3 4 5 6 7; do echo "not a zip $i" >"$WORK/jars/app/lib$i.jar"; done
expect jars-damaged 2 inventory "$WORK/jars"
is jars-table-grouped grep -q '(6 more like this' "$WORK/jars-damaged.out"
is jars-table-one-shown test "$(grep -c 'lib[0-9].jar (jar)' "$WORK/jars-damaged.out")" = 1
is jars-log-grouped test "$(grep -c 'incomplete assessment' "$WORK/jars-damaged.err")" = 1
expect jars-damaged-json 2 inventory "$WORK/jars" -f json
is jars-json-every-one jq -e '[.assessment_gaps[] | select(.source == "jar")] | length == 7' \
  "$WORK/jars-damaged-json.out"

# --- vulnerabilities: a database with PyPI data only ----------------------------------------------
expect db-build 0 "$MOAT" db build -q -o "$WORK/pypi.db" --osv "$DATA/vuln/osv/PyPI/PYSEC-2023-254.json"
scan() { "$MOAT" rootfs "$DEB" --db "$WORK/pypi.db" --no-cache "$@"; }
# No Debian data: the OS is reported as not assessed; without a gate the exit code is 0.
expect no-os-data 0 scan
is no-os-data-table grep -q "NOT ASSESSED: the vulnerability database has no data for this OS" "$WORK/no-os-data.out"
expect no-os-data-gate 2 scan --exit-code 1
# Accepted: the exit code is the findings' again (the pip-installed cryptography's, when present).
expect no-os-data-gate-lenient "$([ "$HAVE_CRYPTO" = 1 ] && echo 3 || echo 0)" \
  scan --exit-code 3 --allow-incomplete
expect no-os-data-json 0 scan -f json -o "$WORK/vuln.json"
is no-os-data-json-gap jq -e '[.assessment_gaps[] | select(.kind == "no_vulnerability_data")] | length == 1 and
  (.[0].details[0] | test("namespace \"debian:"))' "$WORK/vuln.json"
for format in sarif cyclonedx spdx-json; do
  expect "no-os-data-$format" 0 scan -f "$format" -o "$WORK/vuln.$format"
  is "no-os-data-$format-valid" /usr/bin/python3 "$HERE/validate_schema.py" "${format%-json}" "$WORK/vuln.$format"
done
is sarif-notification jq -e '.runs[0].invocations[0].executionSuccessful == false and
  (.runs[0].invocations[0].toolExecutionNotifications[0].message.text | test("NOT ASSESSED"))' "$WORK/vuln.sarif"
is cyclonedx-property jq -e '[.metadata.properties[] | select(.name == "moat:assessment_gap")] | length == 1' "$WORK/vuln.cyclonedx"
is spdx-comment jq -e '.comment | test("NOT ASSESSED")' "$WORK/vuln.spdx-json"

if [ "$HAVE_CRYPTO" = 1 ]; then
  # Debian's python3-cryptography 38.0.4-3+deb12u1 carries the fix of CVE-2023-49083: by default
  # only the pip-installed copy is reported; with the flag both are.
  expect owned-default 0 scan --allow-incomplete -f json -o "$WORK/owned.json"
  is owned-not-matched jq -e '[.vulnerabilities[] | select(.id == "CVE-2023-49083")] |
    length == 1 and (.[0].file_path | startswith("/usr/local/"))' "$WORK/owned.json"
  expect owned-flag 0 scan --allow-incomplete --match-os-owned-libraries -f json -o "$WORK/owned-flag.json"
  is owned-matched-with-flag jq -e '[.vulnerabilities[] | select(.id == "CVE-2023-49083")] | length == 2' \
    "$WORK/owned-flag.json"
  is owned-in-cyclonedx jq -e '[.components[].properties[]? | select(.name == "moat:owned_by" and
    .value == "python3-cryptography")] | length == 1' "$WORK/vuln.cyclonedx"
fi

finish_cli_test scan_cli
