#!/usr/bin/env bash
# End to end per distribution (issue 15): a root filesystem with the distribution's os-release
# and an rpm database built with Debian's rpm (rpmbuild + rpm --justdb, as
# ../shared/data/vuln/pkgdb/rpm/make_rpmdb_sqlite.sh does), scanned with `moat rootfs` against a
# database that `moat db build` compiled from the real feed samples in
# ../shared/data/vuln/feeds/vunnel-fixtures (and src/vulndb/testdata). For each distribution a
# package at a vulnerable version is found with its fix, at the fixed version it is not, and Red
# Hat's "will not fix" / "fix deferred" / "affected" reach the report as statuses that
# --ignore-status filters. An OS with no data is reported "not assessed", never clean.
# Usage: tests/distro_vuln_test.sh PATH/TO/moat
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lib/cli_test.sh
. "$HERE/lib/cli_test.sh"
start_cli_test "$@"
DATA=${MOAT_SHARED_DATA_DIR:-$HERE/../../shared/data}
SAMPLES=$DATA/vuln/feeds/vunnel-fixtures
TESTDATA=$HERE/../src/vulndb/testdata
for tool in rpm rpmbuild jq python3; do
  command -v "$tool" >/dev/null || { echo "FAIL $tool is missing (scripts/install-deps.sh test)"; exit 1; }
done

# make_rpms DIR SOURCE [EPOCH:]VERSION-RELEASE BINARY...: binary rpms of one source rpm.
make_rpms() {
  local dir=$1 source=$2 evr=$3; shift 3
  local epoch="" vr=$evr
  if [[ $evr == *:* ]]; then epoch=${evr%%:*}; vr=${evr#*:}; fi
  local version=${vr%-*} release=${vr##*-}
  mkdir -p "$dir/build/SPECS"
  local spec="$dir/build/SPECS/$source-$vr.spec"
  {
    echo "Name: $source"
    [ -n "$epoch" ] && echo "Epoch: $epoch"
    echo "Version: $version"
    echo "Release: $release"
    echo "Summary: $source test package"
    echo "License: MIT"
    echo "BuildArch: noarch"
    echo "%description"
    echo "$source"
    for binary in "$@"; do
      if [ "$binary" = "$source" ]; then
        echo "%files"  # the main package carries the source's own name
      else
        printf '%%package -n %s\nSummary: %s\n%%description -n %s\n%s\n%%files -n %s\n' \
          "$binary" "$binary" "$binary" "$binary" "$binary"
      fi
    done
  } >"$spec"
  rpmbuild --define "_topdir $dir/build" --define "_build_id_links none" -bb "$spec" >/dev/null 2>&1 ||
    { echo "rpmbuild failed for $spec" >&2; return 1; }
}

# make_root NAME OS_RELEASE: a root with that os-release and an rpm database of the rpms built
# into $WORK/NAME/build.
make_root() {
  local name=$1 os_release=$2 root=$WORK/$1/root
  mkdir -p "$root/etc" "$root/var/lib/rpm"
  printf '%s\n' "$os_release" >"$root/etc/os-release"
  rpm --dbpath "$root/var/lib/rpm" --define '_db_backend sqlite' --initdb
  rpm --dbpath "$root/var/lib/rpm" --define '_db_backend sqlite' -i --justdb --nodeps --noscripts \
    --ignorearch --ignoreos "$WORK/$name"/build/RPMS/*/*.rpm >/dev/null 2>&1
  python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('PRAGMA wal_checkpoint(TRUNCATE)'); c.execute('PRAGMA journal_mode=DELETE')" \
    "$root/var/lib/rpm/rpmdb.sqlite"
}

# scan NAME [FLAGS...]: moat rootfs on $WORK/NAME/root, JSON into $WORK/NAME.json.
scan() {
  local name=$1; shift
  "$MOAT" rootfs "$WORK/$name/root" --db "$WORK/distro.db" --skip-db-update --no-cache -q \
    -f json -o "$WORK/$name.json" "$@"
}
# finding NAME ID PACKAGE: the JSON finding of ID in PACKAGE (empty when none).
finding() {
  jq -c --arg id "$2" --arg p "$3" \
    '[.vulnerabilities[] | select(.id == $id and .package.name == $p)]' "$WORK/$1.json"
}

cat >"$WORK/alpine-edge-main.json" <<'EOF'
{"distroversion": "edge", "reponame": "main", "urlprefix": "https://dl-cdn.alpinelinux.org/alpine",
 "packages": [{"pkg": {"name": "zlib", "secfixes": {"1.3.1-r0": ["CVE-2023-45853"]}}}]}
EOF
expect db-build 0 "$MOAT" db build -q -o "$WORK/distro.db" \
  --osv "$SAMPLES/alma__osv-database_advisories_almalinux9_ALSA-2024-2433.json" \
  --osv "$SAMPLES/rocky__osv_RLSA-2024_3671.json" \
  --csaf "$SAMPLES/rhel__csaf_advisories_2024_rhsa-2024_6163.json" \
  --csaf "$TESTDATA/csaf/cve-2023-20593-excerpt.json" \
  --oval "$SAMPLES/sles__suse_truncated.xml" \
  --oval "$SAMPLES/mariner__azure-linux-truncated-3.0-oval.xml" \
  --oval "$TESTDATA/oval/oracle-elsa-vunnel-mock.xml" \
  --secdb "$SAMPLES/alpine__input_secdb_v3.15_main.yaml" --secdb "$WORK/alpine-edge-main.json"

# --- AlmaLinux 9: OSV keyed by binary rpm (avahi-libs) and source (avahi): one finding ---------
make_rpms "$WORK/alma" avahi 0.8-15.el9 avahi-libs
make_rpms "$WORK/alma" avahi 0.8-20.el9 avahi-glib
make_root alma 'NAME="AlmaLinux"
VERSION="9.3 (Shamrock Pampas Cat)"
ID="almalinux"
VERSION_ID="9.3"
PRETTY_NAME="AlmaLinux 9.3 (Shamrock Pampas Cat)"'
expect alma-scan 0 scan alma
is alma-found-once jq -e '[.vulnerabilities[] | select(.id == "ALSA-2024:2433")] | length == 1 and
  .[0].package.name == "avahi-libs" and .[0].fixed_versions == ["0.8-20.el9"] and
  .[0].namespace == "alma:9"' "$WORK/alma.json"
is alma-fixed-not-found test "$(finding alma ALSA-2024:2433 avahi-glib)" = "[]"

# --- Rocky Linux 9: a module build (rubygem-pg), by binary name --------------------------------
make_rpms "$WORK/rocky" rubygem-pg 1.4.6-1.module+el9.2.0+13960+6bb2b3a3 rubygem-pg
make_root rocky 'NAME="Rocky Linux"
VERSION="9.3 (Blue Onyx)"
ID="rocky"
VERSION_ID="9.3"'
expect rocky-scan 0 scan rocky
is rocky-found jq -e '[.vulnerabilities[] | select(.id == "RLSA-2024:3671" and
  .package.name == "rubygem-pg")] | length == 1 and
  .[0].fixed_versions == ["0:1.5.4-1.module+el9.4.0+20787+4c237fd3"]' "$WORK/rocky.json"

# --- RHEL 9 (UBI): the CSAF advisory, python3-libs through its source rpm python3.9 ------------
make_rpms "$WORK/rhel9" python3.9 3.9.18-3.el9_4.3 python3-libs
make_rpms "$WORK/rhel9" python3.9 3.9.18-3.el9_4.5 python3
make_root rhel9 'NAME="Red Hat Enterprise Linux"
VERSION="9.4 (Plow)"
ID="rhel"
ID_LIKE="fedora"
VERSION_ID="9.4"
PLATFORM_ID="platform:el9"
PRETTY_NAME="Red Hat Enterprise Linux 9.4 (Plow)"'
expect rhel9-scan 0 scan rhel9
is rhel9-vulnerable-found jq -e '[.vulnerabilities[] | select(.id == "CVE-2024-8088")] |
  length == 1 and .[0].package.name == "python3-libs" and .[0].status == "fixed" and
  .[0].fixed_versions == ["3.9.18-3.el9_4.5"] and .[0].severity == "medium"' "$WORK/rhel9.json"
is rhel9-fixed-not-found test "$(finding rhel9 CVE-2024-8088 python3)" = "[]"

# --- RHEL 8: Red Hat's statuses (VEX) -----------------------------------------------------------
make_rpms "$WORK/rhel8" linux-firmware 20230824-119.git0e048b06.el8_9 linux-firmware
make_rpms "$WORK/rhel8" kernel-rt 4.18.0-513.5.1.rt7.307.el8_9 kernel-rt-core
make_rpms "$WORK/rhel8" kernel 4.18.0-513.5.1.el8_9 kernel-core
make_root rhel8 'NAME="Red Hat Enterprise Linux"
VERSION="8.9 (Ootpa)"
ID="rhel"
VERSION_ID="8.9"'
expect rhel8-scan 0 scan rhel8
is rhel8-will-not-fix jq -e '[.vulnerabilities[] | select(.package.name == "linux-firmware")] |
  length == 1 and .[0].status == "will_not_fix" and .[0].fixed_versions == []' "$WORK/rhel8.json"
is rhel8-fix-deferred jq -e '[.vulnerabilities[] | select(.package.name == "kernel-rt-core")] |
  length == 1 and .[0].status == "fix_deferred"' "$WORK/rhel8.json"
is rhel8-affected jq -e '[.vulnerabilities[] | select(.package.name == "kernel-core")] |
  length == 1 and .[0].status == "affected"' "$WORK/rhel8.json"
expect rhel8-table 0 "$MOAT" rootfs "$WORK/rhel8/root" --db "$WORK/distro.db" --skip-db-update \
  --no-cache -q
is rhel8-table-statuses grep -q "will_not_fix" "$WORK/rhel8-table.out"
expect rhel8-ignore 0 scan rhel8 --ignore-status will_not_fix,fix_deferred
is rhel8-ignore-status jq -e '[.vulnerabilities[].status] == ["affected"]' "$WORK/rhel8.json"
expect rhel8-ignore-bad 2 scan rhel8 --ignore-status wont_fix

# --- CentOS 7: matched with Red Hat's data ------------------------------------------------------
make_rpms "$WORK/centos" kernel 3.10.0-1160.92.1.el7 kernel-tools
make_rpms "$WORK/centos" microcode_ctl 2:2.1-73.16.el7_9 microcode_ctl
make_root centos 'NAME="CentOS Linux"
VERSION="7 (Core)"
ID="centos"
ID_LIKE="rhel fedora"
VERSION_ID="7"'
expect centos-scan 0 scan centos
is centos-found-with-rhel-data jq -e '[.vulnerabilities[] | select(.id == "CVE-2023-20593")] |
  length == 1 and .[0].package.name == "kernel-tools" and .[0].namespace == "rhel:7" and
  .[0].fixed_versions == ["3.10.0-1160.95.1.el7"]' "$WORK/centos.json"
is centos-no-gap jq -e '.assessment_gaps | length == 0' "$WORK/centos.json"

# --- SLES 15 SP1 and 15: SUSE OVAL, binary rpm names --------------------------------------------
make_rpms "$WORK/sles151" kernel-default 4.12.14-197.86.1 kernel-default
make_root sles151 'NAME="SLES"
VERSION="15-SP1"
VERSION_ID="15.1"
PRETTY_NAME="SUSE Linux Enterprise Server 15 SP1"
ID="sles"'
expect sles151-scan 0 scan sles151
is sles151-found jq -e '[.vulnerabilities[] | select(.id == "CVE-2021-29154")] | length == 1 and
  .[0].fixed_versions == ["0:4.12.14-197.89.2"] and .[0].namespace == "sles:15.1"' "$WORK/sles151.json"
make_rpms "$WORK/sles15" krb5 1.15.2-4.25 krb5-client
make_rpms "$WORK/sles15" krb5-mini 1.15.2-4.21 krb5-server
make_root sles15 'NAME="SLES"
VERSION="15"
VERSION_ID="15"
ID="sles"'
expect sles15-scan 0 scan sles15
is sles15-vulnerable-found test "$(finding sles15 CVE-2010-1323 krb5-server | jq length)" = 1
is sles15-fixed-not-found test "$(finding sles15 CVE-2010-1323 krb5-client)" = "[]"

# --- Azure Linux 3.0 -----------------------------------------------------------------------------
make_rpms "$WORK/azl" freeglut 3.2.2-1.azl3 freeglut
make_rpms "$WORK/azl" ceph 18.2.1-1.azl3 ceph-common
make_root azl 'NAME="Microsoft Azure Linux"
VERSION="3.0.20240727"
ID=azurelinux
VERSION_ID="3.0"'
expect azl-scan 0 scan azl
is azl-found jq -e '[.vulnerabilities[] | select(.package.name == "freeglut") | .id] | sort ==
  ["CVE-2024-24258", "CVE-2024-24259"]' "$WORK/azl.json"
is azl-fixed-not-found jq -e '[.vulnerabilities[] | select(.package.name == "ceph-common")] ==
  []' "$WORK/azl.json"

# --- Oracle Linux 6: ELSA, one finding per CVE ----------------------------------------------------
make_rpms "$WORK/ol6" kernel-uek 2.6.39-400.300.1.el6uek kernel-uek
make_rpms "$WORK/ol6" kernel-uek 2.6.39-400.302.2.el6uek kernel-uek-firmware
make_root ol6 'NAME="Oracle Linux Server"
VERSION="6.10"
ID="ol"
VERSION_ID="6.10"'
expect ol6-scan 0 scan ol6
is ol6-found jq -e '[.vulnerabilities[] | select(.package.name == "kernel-uek") | .id] | sort ==
  ["CVE-2017-13695", "CVE-2018-16658", "CVE-2018-7492", "CVE-2018-7566"]' "$WORK/ol6.json"
is ol6-fixed-not-found test "$(finding ol6 CVE-2018-7566 kernel-uek-firmware)" = "[]"

# --- Alpine edge: /etc/apk/repositories decides, not the alpha version -----------------------
root=$WORK/edge/root
mkdir -p "$root/etc/apk" "$root/lib/apk/db"
echo "3.21.0_alpha20240807" >"$root/etc/alpine-release"
printf 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.21.0_alpha20240807\nPRETTY_NAME="Alpine Linux edge"\n' \
  >"$root/etc/os-release"
printf 'https://dl-cdn.alpinelinux.org/alpine/edge/main\nhttps://dl-cdn.alpinelinux.org/alpine/edge/community\n' \
  >"$root/etc/apk/repositories"
printf 'C:Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=\nP:zlib\nV:1.3-r0\nA:x86_64\nS:53000\nI:110000\nT:zlib\nU:https://zlib.net/\nL:Zlib\no:zlib\n\n' \
  >"$root/lib/apk/db/installed"
expect edge-scan 0 scan edge
is edge-namespace jq -e '[.vulnerabilities[] | select(.id == "CVE-2023-45853")] | length == 1 and
  .[0].namespace == "alpine:edge" and .[0].fixed_versions == ["1.3.1-r0"]' "$WORK/edge.json"

# --- Photon OS 5.0: no data in this database, so "not assessed", not clean --------------------
make_rpms "$WORK/photon" openssl 3.0.9-1.ph5 openssl
make_root photon 'NAME="VMware Photon OS"
VERSION="5.0"
ID=photon
VERSION_ID=5.0'
expect photon-scan 0 scan photon
is photon-not-assessed jq -e '[.assessment_gaps[] | select(.kind == "no_vulnerability_data")] |
  length == 1 and (.[0].details[0] | test("namespace \"photon:5.0\""))' "$WORK/photon.json"
expect photon-gate 2 scan photon --exit-code 1

finish_cli_test distro_vuln
