# shellcheck shell=bash
# Shared helpers for the integration harness: logging, a cleanup stack run on exit, free ports.
# Sourced, not executed.

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }

# Cleanup actions run in reverse order of registration when the shell exits (any reason).
_moat_cleanups=()
push_cleanup() { _moat_cleanups+=("$1"); }
run_cleanups() {
  local i
  for ((i = ${#_moat_cleanups[@]} - 1; i >= 0; i--)); do
    eval "${_moat_cleanups[i]}" || true
  done
  _moat_cleanups=()
}
install_cleanup_trap() {
  trap 'run_cleanups' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# Prints a TCP port on 127.0.0.1 that is free right now (the kernel picks it).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_until SECONDS CMD...: polls CMD every 0.2 s until it succeeds; fails after SECONDS.
wait_until() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# Stops a process we started: TERM, then KILL after a grace period. Only ever by pid.
stop_pid() {
  local pid=$1 grace=${2:-15} i
  [ -n "$pid" ] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 5; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.2
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# stop_recorded_pid DIR PIDFILE [GRACE]: stops the process whose pid PIDFILE holds, if its
# command line still names DIR (the process may be long gone and its pid reused).
stop_recorded_pid() {
  local dir=$1 pid
  pid=$(cat "$2" 2>/dev/null) || return 0
  if [ -n "$pid" ] && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF "$dir"; then
    stop_pid "$pid" "${3:-15}"
  fi
  return 0
}

# A run killed with SIGKILL (a ctest timeout) cannot clean up. The next run does it: for each
# work dir PATTERN whose owner.pid is gone, stop the daemons that recorded a *.pid file there
# (only if the process's command line still names that dir: pids get reused), unmount what is
# left under it and remove it.
reap_stale_runs() {
  local pattern=$1 dir owner pidfile m
  for dir in $pattern; do
    [ -f "$dir/owner.pid" ] || continue
    owner=$(cat "$dir/owner.pid" 2>/dev/null)
    [ -n "$owner" ] && kill -0 "$owner" 2>/dev/null && continue
    log "cleaning up after an interrupted run: $dir"
    while IFS= read -r pidfile; do
      stop_recorded_pid "$dir" "$pidfile" 10
    done < <(find "$dir" -maxdepth 3 -name '*.pid' ! -name owner.pid -type f 2>/dev/null)
    awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r |
      while read -r m; do umount -n -l "$m" 2>/dev/null || true; done
    rm -rf "$dir"
  done
}
