#!/usr/bin/env bash
# Installs the Debian packages Moat needs that are missing. Only apt (and, for the dashboard
# later, npm). Usage: scripts/install-deps.sh build|test
set -euo pipefail
mode=${1:-build}

build_pkgs=(
  g++ cmake ninja-build pkg-config make
  libssl-dev libcurl4-openssl-dev nlohmann-json3-dev libsqlite3-dev libarchive-dev
  libzstd-dev libisal-dev zlib1g-dev libcli11-dev libyaml-dev libre2-dev
)
test_pkgs=(
  googletest libgtest-dev libgmock-dev libbenchmark-dev clang libclang-rt-14-dev
  docker.io docker-registry debootstrap skopeo umoci rpm db5.3-util golang-go
  libcommons-lang3-java libslf4j-java libcommons-io-java zip unzip
  python3 python3-jsonschema jq curl tar gzip zstd iproute2 procps isal time bc
  python3-packaging
)
pkgs=("${build_pkgs[@]}")
if [ "$mode" = test ]; then pkgs+=("${test_pkgs[@]}"); fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
echo "installing: ${missing[*]}"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
