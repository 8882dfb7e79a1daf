#!/usr/bin/env bash
# `make run`: the main job on an embedded default: `moat server` on SQLite in the user's data
# directory, with an agent for this machine's Docker host when an engine answers. It prints the
# URL and where the first admin token is, and runs until Ctrl-C.
set -uo pipefail
moat=${1:-build/moat}
data=${MOAT_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/moat}
listen=${MOAT_LISTEN:-127.0.0.1:8443}

db_args=()
# The vulnerability database `moat db update` keeps; without one the server inventories images
# and says so (build one offline with `moat db build`, see docs/db.md).
if [ -n "${MOAT_DB:-}" ]; then db_args=(--db "$MOAT_DB"); fi

echo "== moat server on http://$listen (data: $data; Ctrl-C stops it)"
if [ ! -f "$data/admin.token" ]; then
  echo "== the first admin token will be written to $data/admin.token"
else
  echo "== the admin token is in $data/admin.token"
fi
echo "== the dashboard: open http://$listen/ and sign in with that token"
echo "== try: curl -H \"Authorization: Bearer \$(cat $data/admin.token)\" http://$listen/api/v1/hosts"
exec "$moat" server --listen "$listen" --data "$data" --local-agent "${db_args[@]}"
