#!/usr/bin/env bash
# pg_harness.sh - run one command against a throwaway PostgreSQL cluster, then remove the cluster.
#
# Usage: pg_harness.sh COMMAND [ARG...]
# The cluster lives in a fresh temp dir, listens on 127.0.0.1 at a port free at run time and on a unix
# socket in that dir; it is stopped and removed on every exit path (trap).  The command sees:
#   PEC_TEST_DB       libpq conninfo of the "pec" database (superuser "postgres", trust auth)
#   PEC_TEST_DB_TCP   the same over TCP (for the outage test: a refused TCP connect, not a missing socket)
#   PEC_TEST_PGCTL    "PATH/tests/db/pg_harness.sh --ctl": run "$PEC_TEST_PGCTL stop|start" to bounce it
#   PEC_TEST_PSQL     a psql command line for that database (ON_ERROR_STOP)
#   PEC_TEST_PGDATA, PEC_TEST_PGSOCK, PEC_TEST_PGPORT
# The command is killed after $PEC_TEST_TIMEOUT seconds [240] (exit 124), so the cluster is always removed.
# Exit status: the command's; 77 (skip) when PostgreSQL is not installed.
set -u

PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# as_pg: run a command as the postgres user (initdb and postgres refuse to run as root)
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# pg_ctl_do ACTION: start or stop the cluster described by the PEC_TEST_* variables
pg_ctl_do() {
    case "$1" in
      start)
        as_pg "$PGBIN/pg_ctl" -D "$PEC_TEST_PGDATA" -l "$PEC_TEST_PGDATA/server.log" -w -t 30 \
            -o "-p $PEC_TEST_PGPORT -k $PEC_TEST_PGSOCK -c listen_addresses=127.0.0.1" start >/dev/null ;;
      stop)
        as_pg "$PGBIN/pg_ctl" -D "$PEC_TEST_PGDATA" -m fast -w -t 30 stop >/dev/null ;;
      *) echo "pg_harness: --ctl start|stop" >&2; return 2 ;;
    esac
}

if [ "${1:-}" = "--ctl" ]; then
    pg_ctl_do "${2:-}"
    exit $?
fi
[ $# -ge 1 ] || { echo "usage: pg_harness.sh COMMAND [ARG...]" >&2; exit 2; }
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
    echo "skipped: PostgreSQL server binaries not found" >&2
    exit 77
fi

top=$(mktemp -d /tmp/pec-pg.XXXXXX)
chmod 755 "$top"
export PEC_TEST_PGDATA=$top/data PEC_TEST_PGSOCK=$top/sock
mkdir -p "$PEC_TEST_PGDATA" "$PEC_TEST_PGSOCK"
[ "$(id -u)" -eq 0 ] && chown postgres: "$PEC_TEST_PGDATA" "$PEC_TEST_PGSOCK"
chmod 700 "$PEC_TEST_PGDATA"

# cleanup: stop the server whatever happened and remove every file of the cluster
cleanup() {
    if [ -f "$PEC_TEST_PGDATA/postmaster.pid" ]; then
        as_pg "$PGBIN/pg_ctl" -D "$PEC_TEST_PGDATA" -m immediate -w -t 20 stop >/dev/null 2>&1
    fi
    rm -rf "$top"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! as_pg "$PGBIN/initdb" -D "$PEC_TEST_PGDATA" -A trust -E UTF8 --locale=C -U postgres >"$top/initdb.log" 2>&1; then
    cat "$top/initdb.log" >&2
    exit 1
fi
# a small, fast, durable cluster: fsync stays on, as the trace needs in production
cat >>"$PEC_TEST_PGDATA/postgresql.conf" <<CONF
max_connections = 60
shared_buffers = 64MB
synchronous_commit = on
log_min_messages = warning
CONF

# a port that is free now (the kernel picks it); retry on the rare race with another test
for attempt in 1 2 3 4 5; do
    PEC_TEST_PGPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    export PEC_TEST_PGPORT
    if pg_ctl_do start; then
        break
    fi
    [ "$attempt" -eq 5 ] && { cat "$PEC_TEST_PGDATA/server.log" >&2; exit 1; }
done
"$PGBIN/psql" -X -q -h "$PEC_TEST_PGSOCK" -p "$PEC_TEST_PGPORT" -U postgres -d postgres \
    -c "CREATE DATABASE pec" >/dev/null || exit 1

export PEC_TEST_DB="host=$PEC_TEST_PGSOCK port=$PEC_TEST_PGPORT user=postgres dbname=pec"
export PEC_TEST_DB_TCP="host=127.0.0.1 port=$PEC_TEST_PGPORT user=postgres dbname=pec"
export PEC_TEST_PGCTL="$HERE/pg_harness.sh --ctl"
export PEC_TEST_PSQL="$PGBIN/psql -X -q -v ON_ERROR_STOP=1 -h $PEC_TEST_PGSOCK -p $PEC_TEST_PGPORT -U postgres -d pec"
# our own time limit, below CTest's: CTest kills without a trap, which would leave the server running
timeout --kill-after=10 "${PEC_TEST_TIMEOUT:-240}" "$@"
