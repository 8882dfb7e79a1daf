#!/bin/bash
# Differential test of `moat cel eval` against @bufbuild/cel (tests/cel/differential.mjs):
# installs the pinned oracle from npm into tests/cel/node_modules when missing, then compares
# the two implementations on generated expressions.
#   tests/cel_differential.sh MOAT [COUNT] [SEED]
set -euo pipefail
moat=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v node > /dev/null || ! command -v npm > /dev/null; then
  echo "FAIL node and npm are needed (scripts/install-deps.sh build installs them)"
  echo "cel_differential: 0 passed, 1 failed"
  exit 1
fi
if [ ! -f "$here/cel/node_modules/.package-lock.json" ] ||
   [ "$here/cel/package-lock.json" -nt "$here/cel/node_modules/.package-lock.json" ]; then
  (cd "$here/cel" && npm ci --no-audit --no-fund > /dev/null)
fi
cd "$here/cel"
exec node differential.mjs "$moat" "${2:-400}" "${3:-12}"
