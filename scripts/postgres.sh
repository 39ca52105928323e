#!/usr/bin/env bash
# A private PostgreSQL server for tests and benchmarks, from Debian's packages (installed if
# missing): its own data directory and port, never the system's cluster.
#   scripts/postgres.sh start   # prints the postgres:// URL to use
#   scripts/postgres.sh stop
# TALLY_PG_DIR (default /tmp/tally-postgres) and TALLY_PG_PORT (default 55432) move it.
set -euo pipefail
dir=${TALLY_PG_DIR:-/tmp/tally-postgres}
port=${TALLY_PG_PORT:-55432}
database=tally_test

bindir() {
    local found
    # The server's bin directory (the client package alone also makes one, without initdb).
    found=$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -z "$found" ]; then
        echo "installing PostgreSQL from Debian's packages" >&2
        "$(dirname "$0")/ensure-deps.sh" postgresql >&2
        found=$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)
    fi
    dirname "$found"
}

# PostgreSQL refuses to run as root: run it as the packages' postgres user then.
as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
start)
    bin=$(bindir)
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        mkdir -p "$dir"
        [ "$(id -u)" = 0 ] && chown postgres: "$dir"
        as_owner "$bin/initdb" -D "$dir/data" -U tally --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    if ! as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        # Tuned for throwaway test data: no fsync, enough memory for bulk loads.
        as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
            -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
                -c full_page_writes=off -c shared_buffers=256MB -c max_wal_size=2GB -c work_mem=32MB" >/dev/null \
            || { tail -n 20 "$dir/server.log" >&2; exit 1; }
    fi
    if ! as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U tally -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$database'" | grep -q 1; then
        as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U tally "$database"
    fi
    echo "postgres://tally@127.0.0.1:$port/$database"
    ;;
stop)
    bin=$(bindir)
    [ -d "$dir/data" ] && as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    ;;
*)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
