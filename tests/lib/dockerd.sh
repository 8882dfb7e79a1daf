# shellcheck shell=bash
# Starts a private Docker engine (own containerd, data root, exec root and unix socket) and
# stops it on exit. Never touches the system engine: no TCP listener, no bridge, no iptables.
# Sourced. Needs common.sh. After start_private_dockerd DIR, DOCKER_HOST points at the private
# engine and PRIVATE_DOCKER_STORAGE_DRIVER names the storage driver that worked.

_private_containerd_config() {
  local dir=$1
  cat <<TOML
version = 2
root = "$dir/containerd/root"
state = "$dir/containerd/state"
# The CRI plugin wants CNI and Kubernetes bits that a private engine does not need.
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$dir/containerd/containerd.sock"
[ttrpc]
  address = "$dir/containerd/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
TOML
}

# Runs dockerd with one storage driver; returns non-zero when it does not answer /_ping.
_try_dockerd() {
  local dir=$1 driver=$2
  # A fresh data root per attempt: a failed daemon can leave mounts behind in its own.
  mkdir -p "$dir/data-$driver" "$dir/exec-$driver"
  dockerd \
    --data-root "$dir/data-$driver" --exec-root "$dir/exec-$driver" \
    -H "unix://$dir/docker.sock" --pidfile "$dir/dockerd.pid" \
    --containerd "$dir/containerd/containerd.sock" \
    --containerd-namespace moat-test --containerd-plugins-namespace moat-test-plugins \
    --bridge=none --iptables=false --ip6tables=false --ip-masq=false --ip-forward=false \
    --userland-proxy=false --storage-driver "$driver" --log-level warn \
    >"$dir/dockerd-$driver.log" 2>&1 &
  PRIVATE_DOCKERD_PID=$!
  # A driver can initialize and still fail on first use (overlay on overlay): prove it works.
  if wait_until 60 _dockerd_answers "$dir" "$PRIVATE_DOCKERD_PID" &&
    DOCKER_HOST="unix://$dir/docker.sock" _probe_import "$dir" 2>"$dir/probe-$driver.log"; then
    return 0
  fi
  log "dockerd with storage driver $driver did not work:"
  tail -n 5 "$dir/dockerd-$driver.log" "$dir/probe-$driver.log" >&2
  stop_pid "$PRIVATE_DOCKERD_PID" 20
  PRIVATE_DOCKERD_PID=
  return 1
}

# Succeeds once /_ping answers, and also as soon as the daemon has exited, so that a driver that
# cannot work costs no minute of waiting (the probe that follows then fails).
_dockerd_answers() {
  kill -0 "$2" 2>/dev/null || return 0
  curl -sf --unix-socket "$1/docker.sock" http://localhost/_ping
}

# Imports a one-file image and creates (not runs) a container from it: exercises the driver.
_probe_import() {
  local dir=$1 id
  mkdir -p "$dir/probe" && echo probe >"$dir/probe/probe.txt"
  tar -C "$dir/probe" -cf - probe.txt | docker import - moat-test/probe:1 >/dev/null || return 1
  id=$(docker create moat-test/probe:1 /probe.txt) || return 1
  docker rm "$id" >/dev/null && docker rmi moat-test/probe:1 >/dev/null
}

# start_private_dockerd DIR: containerd + dockerd under DIR; exports DOCKER_HOST.
start_private_dockerd() {
  local dir=$1 driver
  mkdir -p "$dir/containerd"
  _private_containerd_config "$dir" >"$dir/containerd/config.toml"
  containerd --config "$dir/containerd/config.toml" --log-level warn >"$dir/containerd.log" 2>&1 &
  PRIVATE_CONTAINERD_PID=$!
  echo "$PRIVATE_CONTAINERD_PID" >"$dir/containerd.pid"
  push_cleanup "stop_private_dockerd '$dir'"
  if ! wait_until 30 test -S "$dir/containerd/containerd.sock"; then
    tail -n 20 "$dir/containerd.log" >&2
    return 1
  fi
  for driver in ${MOAT_TEST_STORAGE_DRIVERS:-overlay2 vfs}; do
    if _try_dockerd "$dir" "$driver"; then
      export PRIVATE_DOCKER_STORAGE_DRIVER=$driver
      export DOCKER_HOST="unix://$dir/docker.sock"
      log "private dockerd up (storage driver $driver, socket $dir/docker.sock)"
      return 0
    fi
  done
  return 1
}

stop_private_dockerd() {
  local dir=$1 ids
  if [ -n "${PRIVATE_DOCKERD_PID:-}" ]; then
    # Remove containers first so no mount is left behind under the data root.
    ids=$(DOCKER_HOST="unix://$dir/docker.sock" docker ps -aq 2>/dev/null || true)
    # shellcheck disable=SC2086 # one id per word
    [ -z "$ids" ] || DOCKER_HOST="unix://$dir/docker.sock" docker rm -f $ids >/dev/null 2>&1 || true
    stop_pid "$PRIVATE_DOCKERD_PID" 30
    PRIVATE_DOCKERD_PID=
  fi
  stop_pid "${PRIVATE_CONTAINERD_PID:-}" 15
  PRIVATE_CONTAINERD_PID=
  # Anything still mounted under DIR (a killed engine) must go before the directory is removed.
  awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
}
