#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests of the PostgreSQL state store.
#
#   scripts/pg-test-server.sh start   # prints ACTEUR_TEST_POSTGRES_URL=...
#   scripts/pg-test-server.sh stop
#
# `start` installs the distribution's `postgresql` package if no `initdb` is
# found, creates a cluster in a directory of its own (initdb refuses to run
# as root, so as the `postgres` user then), and starts it on 127.0.0.1 on a
# port that is not PostgreSQL's default, with fsync off: the tests check
# the store's logic, not the disk. It prints the URL of an empty database,
# `acteur_test`, as a line `ACTEUR_TEST_POSTGRES_URL=...` (also kept in
# `$ACTEUR_PG_DIR/url`). `stop` stops that server and removes its directory.
#
# Settings (environment): ACTEUR_PG_DIR (default /tmp/acteur-pg-test) and
# ACTEUR_PG_PORT (default 55432).
set -euo pipefail

dir=${ACTEUR_PG_DIR:-/tmp/acteur-pg-test}
port=${ACTEUR_PG_PORT:-55432}

# The cluster's binaries: on the PATH, or where Debian keeps them.
find_bin() {
  if command -v "$1" >/dev/null 2>&1; then
    command -v "$1"
    return
  fi
  ls -d /usr/lib/postgresql/*/bin/"$1" 2>/dev/null | sort -V | tail -n 1
}

# Runs a command as the cluster's owner: `postgres` when we are root.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

start() {
  if [ -z "$(find_bin initdb)" ]; then
    echo "initdb not found: installing the distribution's postgresql" >&2
    apt-get update >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >/dev/null
  fi
  local initdb pg_ctl psql
  initdb=$(find_bin initdb)
  pg_ctl=$(find_bin pg_ctl)
  psql=$(find_bin psql)
  if [ -z "$initdb" ] || [ -z "$pg_ctl" ] || [ -z "$psql" ]; then
    echo "initdb, pg_ctl or psql is still missing after installing postgresql" >&2
    exit 1
  fi
  if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir "$dir" --shell /bin/false postgres
  fi
  if [ -e "$dir/data/postmaster.pid" ]; then
    echo "a test server already runs in $dir: run '$0 stop' first" >&2
    exit 1
  fi
  rm -rf "$dir"
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
  as_owner "$initdb" --pgdata="$dir/data" --username=postgres --auth=trust \
    --encoding=UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  as_owner "$pg_ctl" --pgdata="$dir/data" --log="$dir/server.log" --wait \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c full_page_writes=off" \
    start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
  "$psql" --host=127.0.0.1 --port="$port" --username=postgres --quiet \
    --command="CREATE DATABASE acteur_test" >/dev/null
  local url="postgres://postgres@127.0.0.1:$port/acteur_test"
  echo "$url" >"$dir/url"
  echo "ACTEUR_TEST_POSTGRES_URL=$url"
}

stop() {
  if [ ! -d "$dir/data" ]; then
    echo "no test server in $dir" >&2
    return
  fi
  as_owner "$(find_bin pg_ctl)" --pgdata="$dir/data" --mode=fast --wait stop >/dev/null || true
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
