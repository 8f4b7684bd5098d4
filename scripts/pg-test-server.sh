#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests of `PostgresStore`.
#
#   scripts/pg-test-server.sh start   # prints ACTEUR_TEST_POSTGRES_URL=...
#   scripts/pg-test-server.sh stop
#
# `start` installs the distribution's `postgresql` package if no `initdb` is
# found (Debian keeps it in /usr/lib/postgresql/<version>/bin), creates a
# cluster in a fresh directory ($ACTEUR_PG_DIR, /tmp/acteur-pg-test by
# default) as the `postgres` user (initdb refuses to run as root), and starts
# it on 127.0.0.1 on a free port, with fsync off: the tests check Acteur's
# logic, not the disk. The last line it prints is the URL for the tests:
#
#   eval "$(scripts/pg-test-server.sh start | tail -n 1)"; export ACTEUR_TEST_POSTGRES_URL
#
# `stop` stops the server of that directory (pg_ctl reads its PID there)
# and removes the directory.
set -euo pipefail

dir=${ACTEUR_PG_DIR:-/tmp/acteur-pg-test}

postgres_bin() {
  local candidate
  if candidate=$(command -v initdb 2>/dev/null); then
    dirname "$(readlink -f "$candidate")"
    return 0
  fi
  for candidate in /usr/lib/postgresql/*/bin; do
    if [ -x "$candidate/initdb" ]; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

# Runs a command as the user that owns the cluster: `postgres` when this
# script runs as root, else the current user.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

start() {
  local bin port
  if ! bin=$(postgres_bin); then
    echo "initdb not found: installing the distribution's postgresql" >&2
    if [ "$(id -u)" != 0 ]; then
      echo "cannot install postgresql without root; install it, then run this again" >&2
      exit 1
    fi
    apt-get update >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >&2
    bin=$(postgres_bin)
  fi
  if [ -f "$dir/data/postmaster.pid" ]; then
    stop
  fi
  rm -rf "$dir"
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then
    chown postgres "$dir"
  fi
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -c fsync=off -c unix_socket_directories=$dir -c max_connections=200" \
    start >&2 || { cat "$dir/server.log" >&2; exit 1; }
  echo "ACTEUR_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$port/postgres"
}

stop() {
  local bin
  if [ -f "$dir/data/postmaster.pid" ] && bin=$(postgres_bin); then
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
