#!/bin/bash
# Starts a PostgreSQL 15 server of the test run's own (Debian's postgresql-15), or finds it
# running: its data in /var/tmp/gpupool-postgres, on 127.0.0.1:15432, trusting local
# connections (a test machine's only). Prints the URL the tests take as GPUPOOL_TEST_POSTGRES.
# Usage: tests/postgres/start.sh [stop|restart]
set -euo pipefail

bin=/usr/lib/postgresql/15/bin
data=${GPUPOOL_TEST_POSTGRES_DIR:-/var/tmp/gpupool-postgres}
port=${GPUPOOL_TEST_POSTGRES_PORT:-15432}
url="postgresql://postgres@127.0.0.1:${port}/postgres"
as_postgres() { runuser -u postgres -- "$@"; }

if [[ ${1:-} == stop ]]; then
  [[ -f $data/postmaster.pid ]] && as_postgres "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
  exit 0
fi
if [[ ${1:-} == restart ]]; then  # as an upgrade or a failover would: connections cut
  as_postgres "$bin/pg_ctl" -D "$data" -m fast -w -t 60 restart >/dev/null
  exit 0
fi

if [[ ! -f $data/PG_VERSION ]]; then
  install -d -o postgres -g postgres -m 0700 "$data"
  # C collation: ORDER BY sorts as SQLite does, byte by byte.
  as_postgres "$bin/initdb" -D "$data" -U postgres --auth=trust --locale=C.UTF-8 \
    --encoding=UTF8 >/dev/null
fi
if ! as_postgres "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
  # fsync off: the tests kill servers, never the machine, and the kernel keeps what a killed
  # server wrote; each test's database is made in milliseconds rather than a second.
  as_postgres "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$data -c max_connections=300 -c fsync=off" \
    start >/dev/null
fi
# Databases earlier runs left (a test process killed, the template each process migrates).
psql "$url" -qAt -c "SELECT datname FROM pg_database WHERE datname LIKE 'gpupool\_test\_%'" |
  while read -r name; do psql "$url" -q -c "DROP DATABASE \"$name\" WITH (FORCE)"; done
echo "$url"
