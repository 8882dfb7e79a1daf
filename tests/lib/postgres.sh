# shellcheck shell=bash
# Starts a private PostgreSQL (Debian's postgresql package) in DIR on 127.0.0.1 and a free port,
# trusting local connections from user `moat`, with a database `moat`; stopped on exit.
# Sourced. Needs common.sh.

# start_postgres DIR: sets POSTGRES_URL to postgres://moat@127.0.0.1:PORT/moat.
start_postgres() {
  local dir=$1 bin port as_postgres=()
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -x "$bin/initdb" ] || die "PostgreSQL is not installed (apt-get install postgresql)"
  mkdir -p "$dir/data"
  # PostgreSQL refuses to run as root.
  if [ "$(id -u)" = 0 ]; then
    chown -R postgres: "$dir"
    as_postgres=(runuser -u postgres --)
  fi
  "${as_postgres[@]}" "$bin/initdb" -D "$dir/data" -A trust -U moat --no-sync >"$dir/initdb.log" 2>&1 ||
    { tail -n 20 "$dir/initdb.log" >&2; return 1; }
  port=$(free_port)
  "${as_postgres[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=200" start >/dev/null ||
    { tail -n 20 "$dir/postgres.log" >&2; return 1; }
  push_cleanup "${as_postgres[*]} $bin/pg_ctl -D $dir/data -m fast -w stop >/dev/null 2>&1"
  "${as_postgres[@]}" "$bin/../bin/createdb" -h 127.0.0.1 -p "$port" -U moat moat 2>/dev/null ||
    psql -h 127.0.0.1 -p "$port" -U moat -d postgres -qc 'CREATE DATABASE moat' >/dev/null
  export POSTGRES_URL="postgres://moat@127.0.0.1:$port/moat"
}
