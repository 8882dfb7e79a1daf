#!/usr/bin/env bash
# Every `moat ...` line of the README's "A quick tour" runs, offline, against local stand-ins for
# the names it uses. The mapping (applied to each line before it runs, in a work directory that
# holds the stand-ins):
#   image references (debian:bookworm, nginx:1.25, 127.0.0.1:5000/app:1.0,
#   registry.example.com/big/image:1.0)  -> the same name plus --input image.tar, a docker-save
#                                           archive carrying those tags (no engine or registry here)
#   app.tar                               -> that archive
#   / and /srv/chroot (rootfs)            -> chroot/, a small Debian-like root filesystem
#   deploy/                               -> src/k8s/testdata/mixed/helm-redis.yaml
#   app.cdx.json                          -> a CycloneDX SBOM of chroot/
#   /host (k8s node)                      -> chroot/ (no kubelet: exit 2, "no control assessed")
#   the vulnerability database            -> MOAT_DB, built with `moat db build` from one-advisory
#                                           OSV and Debian tracker feeds (tests/lib/scan_fixtures.sh)
# Lines that need what this machine does not have are skipped with the reason: a Kubernetes API
# server (k8s cluster), a Docker engine (bench docker, unless one answers), the internet (db update).
# A line fails the test when its exit code is not the one expected for it.
# Usage: tests/readme_test.sh PATH/TO/moat
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/cli_test.sh
. "$HERE/lib/cli_test.sh"
# shellcheck source=lib/scan_fixtures.sh
. "$HERE/lib/scan_fixtures.sh"
start_cli_test "$@"
README=$HERE/../README.md
mkdir -p "$WORK/bin"
ln -s "$MOAT" "$WORK/bin/moat"
export PATH=$WORK/bin:$PATH XDG_CACHE_HOME=$WORK/cache MOAT_DB=$WORK/moat.db

# --- stand-ins ----------------------------------------------------------------------------------
ROOT=$WORK/chroot
write_debian_root "$ROOT"
write_docker_archive "$ROOT" "$WORK/image.tar" debian:bookworm nginx:1.25 \
  127.0.0.1:5000/app:1.0 registry.example.com/big/image:1.0
cp "$WORK/image.tar" "$WORK/app.tar"
build_test_database "$MOAT" "$WORK" || { echo "FAIL db build"; exit 1; }
"$MOAT" rootfs "$ROOT" --scanners none --format cyclonedx -o "$WORK/app.cdx.json" -q \
  || { echo "FAIL sbom"; exit 1; }

# --- the tour -----------------------------------------------------------------------------------
# The lines of the first ```sh block after "## A quick tour" that start with "moat".
mapfile -t LINES < <(awk '/^## A quick tour/ { tour = 1 } tour && /^```sh/ { inside = 1; next }
  inside && /^```/ { exit } inside && /^moat / { print }' "$README")
[ "${#LINES[@]}" -ge 10 ] || { echo "FAIL: found only ${#LINES[@]} tour lines in $README"; exit 1; }

docker_answers() { curl -s --max-time 2 --unix-socket /var/run/docker.sock http://localhost/_ping \
  >/dev/null 2>&1; }

skipped=0
for line in "${LINES[@]}"; do
  command=$(printf '%s' "$line" | sed -E 's/[[:space:]]+# .*$//')
  # What this line needs, and the exit code it should give here.
  want=0
  case "$command" in
    "moat k8s cluster"*) echo "SKIP $command (needs a Kubernetes API server)"; skipped=$((skipped + 1)); continue ;;
    "moat db update"*) command=${command#*&& }; echo "SKIP moat db update (downloads the feeds)"; skipped=$((skipped + 1)) ;;
    "moat bench docker"*) if ! docker_answers; then echo "SKIP $command (needs a Docker engine)"; skipped=$((skipped + 1)); continue; fi ;;
    "moat k8s node"*) want=2 ;;  # no kubelet on the stand-in host root
    *"--fail-on HIGH"*) want=1 ;;  # the stand-in advisory is HIGH
  esac
  mapped=$(printf '%s' "$command" | sed -E \
    -e 's#(debian:bookworm|nginx:1\.25|127\.0\.0\.1:5000/app:1\.0|registry\.example\.com/big/image:1\.0)#\1 --input image.tar#' \
    -e 's#^moat rootfs (/srv/chroot|/)( |$)#moat rootfs chroot\2#' \
    -e 's#--host-root /host#--host-root chroot#' \
    -e "s#manifests deploy/#manifests $HERE/../src/k8s/testdata/mixed/helm-redis.yaml#" \
    -e "s#(admission audit .*) deploy/#\1 $HERE/../deploy/admission#")
  (cd "$WORK" && bash -o pipefail -c "$mapped") >"$WORK/line.out" 2>"$WORK/line.err"
  rc=$?
  if [ "$rc" = "$want" ]; then
    pass "$command (exit $rc)"
  else
    fail "$command" "exit $rc, want $want (ran: $mapped): $(tail -n 3 "$WORK/line.err")"
  fi
done
echo "readme: $skipped skipped"
finish_cli_test readme
