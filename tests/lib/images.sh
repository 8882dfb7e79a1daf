# shellcheck shell=bash
# Builds the test image on the private engine from the cached debootstrap rootfs and exports it
# in every form Moat reads. Sourced. Needs common.sh and rootfs.sh; DOCKER_HOST must point at
# the private engine. Nothing here needs a network except apt-get download from the Debian mirror.

# Packages installed by dpkg in the first RUN layer; PURGED_PACKAGE is purged and REMOVED_PACKAGE
# removed (its conffiles stay: status "config-files") in the next one; LATE_PACKAGES arrive in a
# third RUN layer. Together they need nothing beyond a minbase bookworm.
FIRST_PACKAGES=(jq libjq1 libonig5 tree less nano libncursesw6)
PURGED_PACKAGE=tree
REMOVED_PACKAGE=nano
LATE_PACKAGES=(ed)
# Only unpacked on the host to take real language-package metadata from them.
DONOR_PACKAGES=(python3-six python3-yaml python3-requests python3-urllib3 node-ms node-semver
  node-lru-cache node-yallist libcommons-lang3-java)

# Markers in the RUN commands so the checks find each layer in the image history.
FIRST_LAYER_MARK="moat-layer=first-install"
PURGE_LAYER_MARK="moat-layer=purge"
LATE_LAYER_MARK="moat-layer=late-install"

# download_debs DIR PKG...: apt-get download into DIR (cached: a package already there is kept).
download_debs() {
  local dir=$1; shift
  local p missing=()
  mkdir -p "$dir"
  for p in "$@"; do
    compgen -G "$dir/${p}_*.deb" >/dev/null || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "apt-get download ${missing[*]}"
  if ! (cd "$dir" && apt-get download -q -o APT::Sandbox::User=root "${missing[@]}" >/dev/null); then
    # Package lists may be missing or stale (a cleaned image): refresh them once and retry.
    log "apt-get download failed; apt-get update and retry"
    apt-get update -q >/dev/null &&
      (cd "$dir" && apt-get download -q -o APT::Sandbox::User=root "${missing[@]}" >/dev/null)
  fi
}

# A Go program with one vendored module dependency, so its build info has a main module and a
# dep with a version. Built offline (GOPROXY=off) with the toolchain from golang-go.
build_go_hello() {
  local out=$1 src cache
  cache=$(moat_test_cache_dir)
  src=$(mktemp -d)
  mkdir -p "$src/vendor/moat.test/greet"
  cat >"$src/go.mod" <<'GO'
module moat.test/hello

go 1.19

require moat.test/greet v1.2.3
GO
  cat >"$src/main.go" <<'GO'
package main

import (
	"fmt"

	"moat.test/greet"
)

func main() { fmt.Println(greet.Hello()) }
GO
  cat >"$src/vendor/moat.test/greet/greet.go" <<'GO'
package greet

// Hello exists so the main module has a real dependency in its build info.
func Hello() string { return "hello from a vendored module" }
GO
  printf '# moat.test/greet v1.2.3\n## explicit; go 1.19\nmoat.test/greet\n' >"$src/vendor/modules.txt"
  (cd "$src" && GOCACHE="$cache/gocache" GOPATH="$src/gopath" GOPROXY=off GOFLAGS=-mod=vendor \
    CGO_ENABLED=0 go build -trimpath -o "$out" .)
  local rc=$?
  rm -rf "$src"
  return $rc
}

# prepare_build_context DIR: debs, Dockerfile and the language-package payloads.
prepare_build_context() {
  local ctx=$1 debs donor
  debs="$(moat_test_cache_dir)/debs"
  download_debs "$debs" "${FIRST_PACKAGES[@]}" "${LATE_PACKAGES[@]}" "${DONOR_PACKAGES[@]}" || return 1
  mkdir -p "$ctx/debs/first" "$ctx/debs/late" "$ctx/py" "$ctx/node/app/node_modules" "$ctx/go" \
    "$ctx/java" "$ctx/donor"
  local p
  for p in "${FIRST_PACKAGES[@]}"; do cp "$debs/${p}"_*.deb "$ctx/debs/first/"; done
  for p in "${LATE_PACKAGES[@]}"; do cp "$debs/${p}"_*.deb "$ctx/debs/late/"; done
  donor=$ctx/donor
  for p in "${DONOR_PACKAGES[@]}"; do dpkg-deb -x "$debs/${p}"_*.deb "$donor"; done

  # Python: egg-info (six, requests, urllib3) and dist-info (PyYAML), metadata only; requests and
  # urllib3 are at versions with published PyPI advisories.
  mkdir -p "$ctx/py/usr/lib/python3/dist-packages"
  cp -a "$donor"/usr/lib/python3/dist-packages/*.egg-info "$donor"/usr/lib/python3/dist-packages/*.dist-info \
    "$ctx/py/usr/lib/python3/dist-packages/"
  # Node: Debian's packaged modules laid out as an application's node_modules tree, one nested.
  cp -a "$donor/usr/share/nodejs/ms" "$donor/usr/share/nodejs/semver" "$ctx/node/app/node_modules/"
  mkdir -p "$ctx/node/app/node_modules/semver/node_modules"
  cp -a "$donor/usr/share/nodejs/lru-cache" "$donor/usr/share/nodejs/yallist" \
    "$ctx/node/app/node_modules/semver/node_modules/"
  printf '{"name":"moat-test-app","version":"0.1.0","private":true}\n' >"$ctx/node/app/package.json"
  # Java: the jar as Debian ships it, and a war that nests it.
  cp -L "$donor"/usr/share/java/commons-lang3-*.jar "$ctx/java/"
  python3 - "$ctx/java" <<'PY'
import glob, sys, zipfile
jar = glob.glob(sys.argv[1] + "/commons-lang3-*.jar")[0]
with zipfile.ZipFile(sys.argv[1] + "/app.war", "w", zipfile.ZIP_DEFLATED) as war:
    war.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n\r\n")
    war.writestr("WEB-INF/web.xml", "<web-app/>\n")
    war.write(jar, "WEB-INF/lib/" + jar.rsplit("/", 1)[1], zipfile.ZIP_STORED)
PY
  # Go: a Debian-built binary (GOPATH mode, cgo) and our module-mode one.
  cp /usr/bin/docker-registry "$ctx/go/docker-registry"
  build_go_hello "$ctx/go/hello" || return 1
  rm -rf "$donor"

  cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM moat-test/base:bookworm
COPY debs /tmp/debs
ENV MOAT_STEP=install
RUN : $FIRST_LAYER_MARK && dpkg -i /tmp/debs/first/*.deb
RUN : $PURGE_LAYER_MARK && dpkg --purge $PURGED_PACKAGE && dpkg --remove $REMOVED_PACKAGE
RUN : $LATE_LAYER_MARK && dpkg -i /tmp/debs/late/*.deb && rm -rf /tmp/debs
COPY py/ /
COPY node/ /
ENV MOAT_STEP=binaries
COPY go/ /usr/local/bin/
COPY java/ /opt/app/
LABEL org.opencontainers.image.title=moat-test
DOCKERFILE
}

# build_test_image WORKDIR TAG: imports the rootfs as moat-test/base:bookworm and builds TAG.
build_test_image() {
  local work=$1 tag=$2 rootfs
  rootfs=$(bookworm_rootfs_tar) || return 1
  docker import "$rootfs" moat-test/base:bookworm >/dev/null || return 1
  prepare_build_context "$work/context" || return 1
  # The legacy builder: no buildx here; no network is needed (or available: --bridge=none).
  DOCKER_BUILDKIT=0 docker build -q --network none -t "$tag" "$work/context" >"$work/build.log" 2>&1 || {
    cat "$work/build.log" >&2
    return 1
  }
}

# export_test_image WORKDIR TAG: every file form of the image, under WORKDIR/exports.
#   image.tar        docker save (uncompressed layers, Docker format)
#   layout/          OCI image layout with uncompressed layers (written here from image.tar:
#                    skopeo always compresses OCI destinations)
#   layout-zstd/     OCI layout with zstd layers (when this skopeo can write zstd)
#   rootfs/          the container filesystem from docker export
# (The gzip forms, registry copies and the OCI archive, are made by the caller from one push.)
export_test_image() {
  local work=$1 tag=$2 out=$1/exports id
  mkdir -p "$out"
  docker save -o "$out/image.tar" "$tag" || return 1
  save_to_oci_layout "$out/image.tar" "$out/layout" test || return 1
  if ! skopeo copy -q --dest-compress --dest-compress-format zstd \
    "docker-archive:$out/image.tar" "oci:$out/layout-zstd:test"; then
    log "skopeo cannot write zstd layers here; the zstd variant is skipped"
    rm -rf "$out/layout-zstd"
  fi
  id=$(docker create "$tag" /bin/true) || return 1
  mkdir -p "$out/rootfs"
  docker export "$id" | tar -x -C "$out/rootfs" || return 1
  docker rm "$id" >/dev/null
}

# save_to_oci_layout SAVE_TAR DIR REF: an OCI image layout whose layer blobs are the docker-save
# layer tars as they are (media type ...layer.v1.tar, digest == diff ID).
save_to_oci_layout() {
  python3 - "$@" <<'PY'
import hashlib, json, os, shutil, sys, tarfile
save, out, ref = sys.argv[1:4]
blobs = os.path.join(out, "blobs", "sha256")
os.makedirs(blobs, exist_ok=True)

def put(data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, digest), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + digest, "size": len(data)}

with tarfile.open(save) as tar:
    manifest = json.load(tar.extractfile("manifest.json"))[0]
    config = tar.extractfile(manifest["Config"]).read()
    layers = []
    for path in manifest["Layers"]:
        src, h, size = tar.extractfile(path), hashlib.sha256(), 0
        tmp = os.path.join(blobs, "tmp")
        with open(tmp, "wb") as f:
            while chunk := src.read(1 << 20):
                h.update(chunk); f.write(chunk); size += len(chunk)
        os.rename(tmp, os.path.join(blobs, h.hexdigest()))
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar",
                       "digest": "sha256:" + h.hexdigest(), "size": size})
image_manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                  "config": dict(mediaType="application/vnd.oci.image.config.v1+json", **put(config)),
                  "layers": layers}
desc = put(json.dumps(image_manifest).encode())
index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
         "manifests": [dict(mediaType="application/vnd.oci.image.manifest.v1+json", **desc,
                            annotations={"org.opencontainers.image.ref.name": ref})]}
with open(os.path.join(out, "index.json"), "w") as f:
    json.dump(index, f)
with open(os.path.join(out, "oci-layout"), "w") as f:
    json.dump({"imageLayoutVersion": "1.0.0"}, f)
PY
}

# push_test_image ARCHIVE DEST [skopeo flags...]: copies the docker-save tarball to a registry.
push_test_image() {
  local archive=$1 dest=$2; shift 2
  skopeo copy -q --dest-tls-verify=false "$@" "docker-archive:$archive" "docker://$dest"
}
