# shellcheck shell=bash
# Small offline inputs for the scripted scan tests: a Debian-like root filesystem, a docker-save
# archive of a directory, and a vulnerability database built with `moat db build` from
# one-advisory feeds that cover that filesystem (npm left-pad: HIGH, fixed in 1.3.1; Debian 12
# zlib: LOW, fixed in 1:1.2.13.dfsg-2).

# write_debian_root DIR: os-release, a dpkg status with zlib1g and libssl3, npm left-pad 1.3.0.
write_debian_root() {
  local root=$1
  mkdir -p "$root/etc" "$root/var/lib/dpkg" "$root/opt/app/node_modules/left-pad"
  cat >"$root/etc/os-release" <<'OS'
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
ID=debian
OS
  cat >"$root/var/lib/dpkg/status" <<'DPKG'
Package: zlib1g
Status: install ok installed
Architecture: amd64
Source: zlib
Version: 1:1.2.13.dfsg-1

Package: libssl3
Status: install ok installed
Architecture: amd64
Source: openssl
Version: 3.0.11-1~deb12u2
DPKG
  printf '{"name":"left-pad","version":"1.3.0"}\n' >"$root/opt/app/node_modules/left-pad/package.json"
}

# write_docker_archive DIR OUT TAG...: a `docker save` archive of one image whose single layer is
# DIR, tagged with every TAG, written with Python's tarfile.
write_docker_archive() {
  python3 - "$@" <<'PY'
import hashlib, io, json, sys, tarfile
root, out, tags = sys.argv[1], sys.argv[2], sys.argv[3:]
layer = io.BytesIO()
with tarfile.open(fileobj=layer, mode="w", format=tarfile.PAX_FORMAT) as t:
    t.add(root, arcname=".")
layer_bytes = layer.getvalue()
config = json.dumps({"architecture": "amd64", "os": "linux",
                     "rootfs": {"type": "layers",
                                "diff_ids": ["sha256:" + hashlib.sha256(layer_bytes).hexdigest()]},
                     "history": [{"created_by": "COPY root /"}]}).encode()
config_name = hashlib.sha256(config).hexdigest() + ".json"
manifest = json.dumps([{"Config": config_name, "RepoTags": tags,
                        "Layers": ["layer/layer.tar"]}]).encode()
with tarfile.open(out, "w") as t:
    for name, data in ((config_name, config), ("layer/layer.tar", layer_bytes),
                       ("manifest.json", manifest)):
        info = tarfile.TarInfo(name)
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
PY
}

# build_test_database MOAT DIR: DIR/moat.db from one OSV advisory and one Debian tracker entry.
# Debian 12 data is there so that OS packages are assessed (without any, they are "not assessed").
build_test_database() {
  local moat=$1 dir=$2
  mkdir -p "$dir/osv"
  cat >"$dir/osv/GHSA-test-0001.json" <<'OSV'
{"id": "GHSA-test-0001", "modified": "2024-01-01T00:00:00Z", "published": "2024-01-01T00:00:00Z",
 "summary": "left-pad: a denial of service in padding that is described in a long title here",
 "database_specific": {"severity": "HIGH"},
 "affected": [{"package": {"ecosystem": "npm", "name": "left-pad"},
               "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.3.1"}]}]}]}
OSV
  cat >"$dir/debian.json" <<'DEB'
{"zlib": {"CVE-2023-45853": {"description": "zlib: integer overflow in zipOpenNewFileInZip4_6",
  "releases": {"bookworm": {"status": "resolved", "fixed_version": "1:1.2.13.dfsg-2",
                            "urgency": "low", "repositories": {"bookworm": "1:1.2.13.dfsg-1"}}}}}}
DEB
  "$moat" db build -q --osv "$dir/osv" --debian-tracker "$dir/debian.json" -o "$dir/moat.db"
}
