# shellcheck shell=bash
# Starts a private Docker engine (own containerd, data root, exec root and unix socket) and
# stops it on exit. Never touches the system engine or the host's network: both daemons run in a
# network and mount namespace of their own (see _start_engine_namespace), so whatever Docker does
# to interfaces (with --bridge=none it deletes a "docker0"; a user-defined network adds a bridge),
# to iptables rules and to the mount table stays in there and vanishes with it.
# Sourced. Needs common.sh. After start_private_dockerd DIR, DOCKER_HOST points at the private
# engine and PRIVATE_DOCKER_STORAGE_DRIVER names the storage driver that worked.
# PRIVATE_DOCKERD_FLAGS (an array, may be unset) adds flags to dockerd's; later flags win.

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
  local dir=$1 driver=$2 pid
  # A fresh data root per attempt: a failed daemon can leave mounts behind in its own.
  mkdir -p "$dir/data-$driver" "$dir/exec-$driver"
  nsenter -t "$PRIVATE_ENGINE_NS_PID" --net --mount dockerd \
    --data-root "$dir/data-$driver" --exec-root "$dir/exec-$driver" \
    -H "unix://$dir/docker.sock" --pidfile "$dir/dockerd.pid" \
    --containerd "$dir/containerd/containerd.sock" \
    --containerd-namespace moat-test --containerd-plugins-namespace moat-test-plugins \
    --bridge=none --iptables=false --ip6tables=false --ip-masq=false --ip-forward=false \
    --userland-proxy=false --storage-driver "$driver" --log-level warn \
    ${PRIVATE_DOCKERD_FLAGS[@]+"${PRIVATE_DOCKERD_FLAGS[@]}"} \
    >"$dir/dockerd-$driver.log" 2>&1 &
  pid=$!
  echo "$pid" >"$dir/engine-dockerd.pid"
  # A driver can initialize and still fail on first use (overlay on overlay): prove it works.
  if wait_until 60 _dockerd_answers "$dir" "$pid" &&
    DOCKER_HOST="unix://$dir/docker.sock" _probe_import "$dir" 2>"$dir/probe-$driver.log"; then
    return 0
  fi
  log "dockerd with storage driver $driver did not work:"
  tail -n 5 "$dir/dockerd-$driver.log" "$dir/probe-$driver.log" >&2
  stop_pid "$pid" 20
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

# The namespaces are held open by a sleeping process (its argv[0] names DIR, so that
# reap_stale_runs recognises it); the daemons enter them with nsenter, which execs in place, so
# their pids stay the ones this library waits on and stops. In the mount namespace a tmpfs covers
# /run: containerd's shims put their sockets under /run/containerd whatever its state dir is.
# PREPARE, when given, is a shell command run in there before the daemons start (bind mounts).
_start_engine_namespace() {
  local dir=$1 prepare=${2:-}
  # shellcheck disable=SC2016 # $1 is the inner shell's
  unshare --net --mount --propagation private \
    bash -c 'exec -a "moat-engine-namespace $1" sleep infinity' _ "$dir" &
  PRIVATE_ENGINE_NS_PID=$!
  echo "$PRIVATE_ENGINE_NS_PID" >"$dir/engine-namespace.pid"
  # Until unshare has run, the pid is still in the host's namespaces: entering them then would
  # put the engine on the host. Wait until both namespaces differ from this shell's.
  if ! wait_until 10 _in_own_namespaces "$PRIVATE_ENGINE_NS_PID"; then
    log "the engine's namespaces were not created"
    return 1
  fi
  nsenter -t "$PRIVATE_ENGINE_NS_PID" --net --mount sh -c \
    "ip link set lo up && mount -n -t tmpfs -o mode=0755 moat-engine-run /run${prepare:+ && $prepare}"
}

_in_own_namespaces() {
  local ns
  for ns in net mnt; do
    [ "$(readlink "/proc/$1/ns/$ns")" != "$(readlink "/proc/self/ns/$ns")" ] || return 1
  done
  # sleep runs only once unshare and bash have exec'd: the namespaces are then final.
  [ "$(cat "/proc/$1/comm" 2>/dev/null)" = sleep ]
}

# start_private_dockerd DIR [PREPARE]: containerd + dockerd under DIR, in namespaces of their own
# (PREPARE: see _start_engine_namespace); exports DOCKER_HOST.
start_private_dockerd() {
  local dir=$1 prepare=${2:-} driver
  mkdir -p "$dir/containerd"
  _private_containerd_config "$dir" >"$dir/containerd/config.toml"
  push_cleanup "stop_private_dockerd '$dir'"
  _start_engine_namespace "$dir" "$prepare" || return 1
  nsenter -t "$PRIVATE_ENGINE_NS_PID" --net --mount \
    containerd --config "$dir/containerd/config.toml" --log-level warn >"$dir/containerd.log" 2>&1 &
  echo $! >"$dir/engine-containerd.pid"
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

# stop_private_dockerd DIR: removes the engine's containers (so nothing stays mounted under its
# data root) and networks, then stops dockerd, containerd and the namespace holder, by the pids
# recorded under DIR (several engines can run at once). What the daemons set up inside their
# namespaces (interfaces, bridges, iptables rules, mounts) is gone with the last of them.
stop_private_dockerd() {
  local dir=$1 host="unix://$1/docker.sock" ids
  if [ -S "$dir/docker.sock" ]; then
    ids=$(DOCKER_HOST=$host docker ps -aq 2>/dev/null || true)
    # shellcheck disable=SC2086 # one id per word
    [ -z "$ids" ] || DOCKER_HOST=$host docker rm -f $ids >/dev/null 2>&1 || true
    DOCKER_HOST=$host docker network prune -f >/dev/null 2>&1 || true
  fi
  stop_recorded_pid "$dir" "$dir/engine-dockerd.pid" 30
  stop_recorded_pid "$dir" "$dir/engine-containerd.pid" 15
  stop_recorded_pid "$dir" "$dir/engine-namespace.pid" 5
  # A safety net: the daemons mount only inside their own mount namespace.
  awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r |
    while read -r m; do umount -n -l "$m" 2>/dev/null || true; done
}
