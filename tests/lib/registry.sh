# shellcheck shell=bash
# Starts private OCI distribution registries (Debian's docker-registry) on 127.0.0.1 with
# filesystem storage, optionally with htpasswd basic auth, and stops them on exit.
# Sourced. Needs common.sh.

# start_registry DIR [USER PASSWORD]: sets REGISTRY_ADDR to "127.0.0.1:PORT" once /v2/ answers.
# REGISTRY_EXTRA_CONFIG, when set, is appended to the configuration (e.g. notifications).
# Call it directly, not in $(...): the cleanup it registers must reach the calling shell.
start_registry() {
  local dir=$1 user=${2:-} password=${3:-} port auth="" expect=200 pid
  mkdir -p "$dir/storage"
  if [ -n "$user" ]; then
    # bcrypt is the only hash docker-registry accepts; glibc's crypt (libxcrypt) makes it.
    MOAT_PW=$password python3 -W ignore -c '
import crypt, os, sys
print(sys.argv[1] + ":" + crypt.crypt(os.environ["MOAT_PW"], crypt.mksalt(crypt.METHOD_BLOWFISH)))' \
      "$user" >"$dir/htpasswd"
    auth=$(printf 'auth:\n  htpasswd:\n    realm: moat-test\n    path: %s\n' "$dir/htpasswd")
    expect=401
  fi
  local _
  for _ in 1 2 3; do
    port=$(free_port)
    cat >"$dir/config.yml" <<YAML
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
$auth
${REGISTRY_EXTRA_CONFIG:-}
YAML
    docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
    pid=$!
    echo "$pid" >"$dir/registry.pid"
    push_cleanup "stop_pid $pid 10"
    if wait_until 20 _registry_answers "127.0.0.1:$port" "$expect"; then
      export REGISTRY_ADDR="127.0.0.1:$port"
      return 0
    fi
    # Most likely the port was taken between choosing and binding it: try another.
    stop_pid "$pid" 5
  done
  tail -n 20 "$dir/registry.log" >&2
  return 1
}

_registry_answers() {
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://$1/v2/") || return 1
  [ "$code" = "$2" ]
}

# registry_notifications_to URL TOKEN: the configuration (for REGISTRY_EXTRA_CONFIG) that makes
# the registry send its push/pull/delete notifications to URL with a bearer token: moat server's
# /api/v1/registry-events with a token of role agent.
registry_notifications_to() {
  cat <<YAML
notifications:
  endpoints:
    - name: moat
      url: $1
      headers:
        Authorization: [Bearer $2]
      timeout: 2s
      threshold: 3
      backoff: 1s
YAML
}
