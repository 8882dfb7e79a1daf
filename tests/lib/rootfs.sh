# shellcheck shell=bash
# Builds (once) and caches a minimal Debian bookworm root filesystem made by debootstrap.
# Sourced. Needs common.sh. Only Debian's apt mirror is contacted.

# The Debian mirror apt on this machine uses for bookworm (deb822 or one-line format).
debian_mirror() {
  local f uri
  f=/etc/apt/sources.list.d/debian.sources
  if [ -r "$f" ]; then
    # First stanza whose Suites include plain "bookworm" (not -security / -updates).
    uri=$(awk '
      BEGIN { RS = ""; FS = "\n" }
      {
        uris = ""; suites = ""
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/) { uris = $i; sub(/^URIs:[ \t]*/, "", uris) }
          if ($i ~ /^Suites:/) { suites = " " $i " " }
        }
        if (uris != "" && suites ~ /[ \t]bookworm[ \t]/) { split(uris, u, /[ \t]+/); print u[1]; exit }
      }' "$f")
  fi
  if [ -z "$uri" ]; then
    uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/) { if ($(i+1) == "bookworm") { print $i; exit } else break } }')
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

moat_test_cache_dir() {
  echo "${MOAT_TEST_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/moat-test}"
}

# bookworm_rootfs_tar [NAME PACKAGES]: prints the path of the cached rootfs tarball, building it
# first when absent. NAME and a comma-separated package list make a bigger variant (benchmarks).
bookworm_rootfs_tar() {
  local name=${1:-} include=${2:-} cache tar mirror work
  cache=$(moat_test_cache_dir)
  tar=$cache/bookworm-rootfs${name:+-$name}.tar
  mkdir -p "$cache"
  (
    # Serialize concurrent runs; the second one finds the finished tarball.
    flock 9
    [ -s "$tar" ] && exit 0
    mirror=$(debian_mirror)
    work=$(mktemp -d "$cache/debootstrap.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    log "debootstrap --variant=minbase bookworm from $mirror (first run only, takes minutes)"
    # In a mount namespace of its own: the /proc and /sys that debootstrap mounts in the target
    # never show on the host, even when it fails. LIBMOUNT_UTAB keeps mount(8) from creating
    # /run/mount on the host for them.
    if ! LIBMOUNT_UTAB=$work/utab unshare --mount --propagation private \
      debootstrap --variant=minbase ${include:+--include="$include"} bookworm "$work/root" \
      "$mirror" >"$work/log" 2>&1; then
      tail -n 30 "$work/log" >&2
      exit 1
    fi
    # apt caches are not part of the image we want to scan.
    rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"* || true
    tar --numeric-owner --xattrs -C "$work/root" -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
  ) 9>"$cache/.rootfs${name:+-$name}.lock" || return 1
  echo "$tar"
}
