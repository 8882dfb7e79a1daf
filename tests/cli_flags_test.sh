#!/usr/bin/env bash
# The command line of every command, offline: flags before and after the positional argument
# (list flags take one comma-separated value and never swallow the image name), Trivy's names
# (--image-src remote, -q after the subcommand, --skip-dirs, --skip-files, --pkg-types,
# --severity lists and --severity-min), examples in every --help, unknown commands, --timeout
# against a registry that never answers, the table fitted to a terminal (script(1) at 80 and 120
# columns), one package for a Python package described twice, and a Go binary far over the file
# size limit.
# Usage: tests/cli_flags_test.sh PATH/TO/moat
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/cli_test.sh
. "$HERE/lib/cli_test.sh"
start_cli_test "$@"
MIXED=$HERE/../src/k8s/testdata/mixed
SILENT_PID=
cleanup() {
  [ -n "$SILENT_PID" ] && kill "$SILENT_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
export XDG_CACHE_HOME=$WORK/cache MOAT_DB=$WORK/none.db

# shellcheck source=lib/scan_fixtures.sh
. "$HERE/lib/scan_fixtures.sh"
# both_orders NAME WANT_RC POSITIONAL -- FLAGS... -- COMMAND WORDS...: runs the command with the
# flags before the positional argument, then after it; both must exit WANT_RC with equal stdout.
both_orders() {
  local name=$1 want=$2 positional=$3; shift 4
  local flags=()
  while [ "$1" != "--" ]; do flags+=("$1"); shift; done
  shift
  expect "$name-flags-first" "$want" "$MOAT" "$@" "${flags[@]}" "$positional"
  expect "$name-flags-last" "$want" "$MOAT" "$@" "$positional" "${flags[@]}"
  is "$name-same-output" same_report "$WORK/$name-flags-first.out" "$WORK/$name-flags-last.out"
}
# same_report A B: equal, apart from the time a JSON report was made.
same_report() {
  if jq -e . "$1" >/dev/null 2>&1; then
    cmp <(jq -S 'del(.created, .timestamp)' "$1") <(jq -S 'del(.created, .timestamp)' "$2")
  else
    cmp "$1" "$2"
  fi
}

# --- inputs that need no network ----------------------------------------------------------------
ROOT=$WORK/root
write_debian_root "$ROOT"
mkdir -p "$ROOT/usr/lib/python3/dist-packages"
# A package whose name is as long as the Go module paths that used to widen every table line.
LONG_NAME=a-package-with-a-very-long-name-$(printf 'x%.0s' $(seq 1 150))
mkdir -p "$ROOT/usr/lib/python3/dist-packages/$LONG_NAME-1.0.dist-info"
printf 'Metadata-Version: 2.1\nName: %s\nVersion: 1.0\n' "$LONG_NAME" \
  >"$ROOT/usr/lib/python3/dist-packages/$LONG_NAME-1.0.dist-info/METADATA"
# Debian's python3-cryptography ships both metadata forms in one directory.
SITE=/usr/lib/python3/dist-packages
if [ -d "$SITE/cryptography.egg-info" ] && ls -d "$SITE"/cryptography-*.dist-info >/dev/null 2>&1; then
  cp -r "$SITE/cryptography.egg-info" "$SITE"/cryptography-*.dist-info "$ROOT$SITE/"
else
  mkdir -p "$ROOT$SITE/cryptography.egg-info" "$ROOT$SITE/cryptography-38.0.4.dist-info"
  printf 'Metadata-Version: 2.1\nName: cryptography\nVersion: 38.0.4\n' \
    | tee "$ROOT$SITE/cryptography.egg-info/PKG-INFO" >"$ROOT$SITE/cryptography-38.0.4.dist-info/METADATA"
fi

write_docker_archive "$ROOT" "$WORK/image.tar" app:1.0
expect db-build 0 build_test_database "$MOAT" "$WORK"
expect sbom-made 0 "$MOAT" rootfs "$ROOT" --scanners none --format cyclonedx -o "$WORK/sbom.cdx.json"

# --- every command, flags before and after the positional ---------------------------------------
both_orders rootfs 0 "$ROOT" -- --scanners none --pkg-types os,library --skip-files '**/*.txt' \
  --timeout 1m -q --format json -- rootfs
both_orders rootfs-vuln 1 "$ROOT" -- --db "$WORK/moat.db" --severity HIGH,CRITICAL \
  --ignore-status will_not_fix,end_of_life --exit-code 1 --format json -- rootfs
both_orders image-input 0 app:1.0 -- --input "$WORK/image.tar" --scanners none \
  --image-src docker,registry --format json -- image
both_orders image-severity 0 app:1.0 -- --input "$WORK/image.tar" --db "$WORK/moat.db" \
  --severity HIGH,CRITICAL --format json -- image
both_orders sbom 0 "$WORK/sbom.cdx.json" -- --db "$WORK/moat.db" --severity-min HIGH \
  --format json -- sbom
both_orders k8s-manifests 0 "$MIXED/helm-redis.yaml" -- --severity HIGH,CRITICAL \
  --checks pss-restricted,workload -f json -- k8s manifests
both_orders vercmp 0 1.0-1 -- -e deb -- vercmp 1.0-2
expect db-export 0 "$MOAT" db export --db "$WORK/moat.db" -o "$WORK/moat.bundle"
both_orders db-import 0 "$WORK/moat.bundle" -- --db "$WORK/imported.db" -q -- db import
expect db-info 0 "$MOAT" db info --db "$WORK/imported.db" -f json
expect db-info-flags-first 0 "$MOAT" db info -f json --db "$WORK/imported.db"
# A repeated list flag is the same as one comma-separated value.
expect node-check-repeated 2 "$MOAT" k8s node --host-root "$ROOT" --check 4.2.1 --check 4.2.6 -f json
expect node-check-list 2 "$MOAT" k8s node --check 4.2.1,4.2.6 -f json --host-root "$ROOT"
is node-check-same same_report "$WORK/node-check-repeated.out" "$WORK/node-check-list.out"
is node-check-selected jq -e '[.. | objects | select(has("id")) | .id] | index("4.2.1") and
  index("4.2.6") and (index("4.2.2") | not)' "$WORK/node-check-list.out"
expect version 0 "$MOAT" version -f json
expect k8s-checks 0 "$MOAT" k8s checks -f json
is vercmp-answer grep -qx '>' "$WORK/vercmp-flags-first.out"
is rootfs-vuln-found jq -e '[.vulnerabilities[].id] == ["GHSA-test-0001"]' "$WORK/rootfs-vuln-flags-last.out"
is sbom-severity-min jq -e '[.vulnerabilities[].severity] == ["high"]' "$WORK/sbom-flags-first.out"
is k8s-severity-list jq -e '[.resources[].findings[].severity] | length > 0 and
  all(. == "HIGH" or . == "CRITICAL")' "$WORK/k8s-manifests-flags-last.out"
# --severity-min HIGH runs the same checks as --severity HIGH,CRITICAL.
expect k8s-severity-min 0 "$MOAT" k8s manifests "$MIXED/helm-redis.yaml" --severity-min HIGH -f json
expect k8s-severity-list 0 "$MOAT" k8s manifests "$MIXED/helm-redis.yaml" --severity HIGH \
  --severity CRITICAL -f json
is k8s-severity-min-same jq -e --slurpfile list "$WORK/k8s-severity-list.out" \
  '[.checks[].id] == [$list[0].checks[].id] and (.checks | length) > 0' "$WORK/k8s-severity-min.out"

# --- Trivy's names ------------------------------------------------------------------------------
expect image-src-remote 0 "$MOAT" image --image-src remote app:1.0 --input "$WORK/image.tar" \
  --scanners none -q
expect quiet-after-subcommand 0 "$MOAT" rootfs "$ROOT" -q --scanners none
is quiet-is-quiet test ! -s "$WORK/quiet-after-subcommand.err"
expect pkg-types-os 0 "$MOAT" rootfs "$ROOT" --scanners none --pkg-types os -f json
is pkg-types-os-only jq -e '[.packages[].type] | unique == ["deb"]' "$WORK/pkg-types-os.out"
expect pkg-types-library 0 "$MOAT" rootfs "$ROOT" --scanners none --pkg-types library -f json
is pkg-types-library-only jq -e '[.packages[].type] | unique == ["npm", "pypi"]' \
  "$WORK/pkg-types-library.out"
expect skip-dirs 0 "$MOAT" rootfs "$ROOT" --scanners none --skip-dirs '**/node_modules' \
  --skip-dirs usr/lib/python3 -f json
is skip-dirs-skipped jq -e '[.packages[].type] | unique == ["deb"]' "$WORK/skip-dirs.out"
expect skip-files 0 "$MOAT" rootfs "$ROOT" --scanners none --skip-files '/opt/app/**/package.json' -f json
is skip-files-skipped jq -e '[.packages[] | select(.type == "npm")] | length == 0' "$WORK/skip-files.out"
expect severity-and-min 2 "$MOAT" rootfs "$ROOT" --db "$WORK/moat.db" --severity HIGH --severity-min LOW

# --- help and unknown commands ------------------------------------------------------------------
for command in "image" "rootfs" "sbom" "k8s" "k8s manifests" "k8s cluster" "k8s node" "k8s checks" \
  "db" "db build" "db info" "db update" "db export" "db import" "bench" "bench docker" "vercmp" \
  "version" "cel" "cel eval" "admission" "admission serve" "admission check-config" \
  "admission audit" "server" "agent" "worker"; do
  # shellcheck disable=SC2086
  expect "help-${command// /-}" 0 "$MOAT" $command --help
  is "help-${command// /-}-example" grep -q "^Examples:" "$WORK/help-${command// /-}.out"
done
expect unknown-command 2 "$MOAT" foo --help
is unknown-command-named grep -q '"foo"' "$WORK/unknown-command.err"
expect unknown-subcommand 2 "$MOAT" k8s bar
is unknown-subcommand-named grep -q '"bar"' "$WORK/unknown-subcommand.err"

# --- moat cel eval: flags on either side of the expression, unreadable variables named ----------
printf '{"object": {"spec": {"replicas": 3}}}' >"$WORK/vars.json"
both_orders cel-eval 0 'object.spec.replicas <= 5' -- --vars "$WORK/vars.json" --cost-limit 1000 \
  -- cel eval
is cel-eval-answer grep -qx true "$WORK/cel-eval-flags-first.out"
expect cel-vars-missing 2 "$MOAT" cel eval 1 --vars "$WORK/no-such-vars.json"
is cel-vars-missing-reason grep -q "no-such-vars.json: No such file or directory" \
  "$WORK/cel-vars-missing.err"

# --- --timeout against a registry that accepts and never answers ----------------------------------
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True)
time.sleep(600)' >"$WORK/silent.port" &
SILENT_PID=$!
for _ in $(seq 50); do [ -s "$WORK/silent.port" ] && break; sleep 0.1; done
PORT=$(cat "$WORK/silent.port")
start=$(date +%s.%N)
expect timeout-hung-registry 2 "$MOAT" image --image-src registry --insecure --scanners none \
  --timeout 3s "127.0.0.1:$PORT/app:1.0"
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
is timeout-within-limit test "$(echo "$elapsed < 6" | bc)" = 1
is timeout-names-registry grep -q "registry 127.0.0.1:$PORT" "$WORK/timeout-hung-registry.err"
is timeout-says-what-ran-out grep -q "time limit ran out" "$WORK/timeout-hung-registry.err"
expect timeout-invalid 2 "$MOAT" rootfs "$ROOT" --timeout 5x --scanners none

# --- the table fits the terminal ----------------------------------------------------------------
for columns in 80 120; do
  COLUMNS=$columns script -qec "'$MOAT' rootfs '$ROOT' --scanners none" /dev/null \
    >"$WORK/tty$columns.out" 2>&1
  tr -d '\r' <"$WORK/tty$columns.out" >"$WORK/tty$columns.txt"
  is "tty-$columns-fits" python3 -c 'import sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
sys.exit(max(len(line) for line in lines) > int(sys.argv[2]))' "$WORK/tty$columns.txt" "$columns"
  is "tty-$columns-ellipsis" grep -q '…' "$WORK/tty$columns.txt"
  is "tty-$columns-short-names-whole" grep -q 'libssl3' "$WORK/tty$columns.txt"
done
expect piped-table 0 "$MOAT" rootfs "$ROOT" --scanners none
is piped-table-untruncated grep -q "$LONG_NAME" "$WORK/piped-table.out"

# --- one installed Python package is one package ------------------------------------------------
is python-described-twice-once jq -e '[.packages[] | select(.name == "cryptography")] | length == 1
  and (.[0].file_path | endswith(".dist-info/METADATA"))' "$WORK/rootfs-flags-first.out"

# --- a Go binary far over the file size limit (512 MiB) -----------------------------------------
if command -v go >/dev/null; then
  mkdir -p "$WORK/gomod" "$WORK/big/usr/local/bin"
  printf 'module example.com/provider\n\ngo 1.19\n' >"$WORK/gomod/go.mod"
  printf 'package main\n\nfunc main() { println("provider") }\n' >"$WORK/gomod/main.go"
  if (cd "$WORK/gomod" && GOFLAGS=-mod=mod GOPROXY=off GOCACHE=$WORK/gocache go build \
      -o "$WORK/big/usr/local/bin/terraform-provider-big" . ) >"$WORK/gobuild.log" 2>&1; then
    # Sparse padding to 700 MB: the section headers sit at the start, so the ELF stays valid.
    truncate -s 700M "$WORK/big/usr/local/bin/terraform-provider-big"
    expect go-700mb 0 "$MOAT" rootfs "$WORK/big" --scanners none -f json
    is go-700mb-modules jq -e '[.packages[] | select(.type == "golang") | .name] | sort ==
      ["example.com/provider", "stdlib"]' "$WORK/go-700mb.out"
  else
    fail go-build "$(tail -n 3 "$WORK/gobuild.log")"
  fi
else
  fail go-toolchain "go missing: apt golang-go (scripts/install-deps.sh test)"
fi

finish_cli_test cli_flags
