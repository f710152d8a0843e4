#!/usr/bin/env bash
# pg_harness.sh - run one command against a throwaway PostgreSQL cluster, then remove the cluster.
#
# Usage: pg_harness.sh COMMAND [ARG...]
# The cluster (tests/db/pg.sh) lives in a fresh temp dir, listens on 127.0.0.1 at a port free at run time
# and on a unix socket in that dir; it is stopped and removed on every exit path (the EXIT trap of
# tests/sh/lib.sh).  The command sees:
#   PEC_TEST_DB       libpq conninfo of the "pec" database (superuser "postgres", trust auth)
#   PEC_TEST_DB_TCP   the same over TCP (for the outage test: a refused TCP connect, not a missing socket)
#   PEC_TEST_PGCTL    "PATH/tests/db/pg_harness.sh --ctl": run "$PEC_TEST_PGCTL stop|start" to bounce it
#   PEC_TEST_PSQL     a psql command line for that database (ON_ERROR_STOP)
#   PEC_TEST_PGDATA, PEC_TEST_PGSOCK, PEC_TEST_PGPORT
# The command is killed after $PEC_TEST_TIMEOUT seconds [240] (exit 124), so the cluster is always removed.
# Exit status: the command's; 77 (skip) when PostgreSQL is not installed.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/pg.sh"

if [ "${1:-}" = "--ctl" ]; then
    # the cluster of the harness that started this command: DIR is the parent of PEC_TEST_PGDATA
    case "${2:-}" in
      start) pg_ctl_start "$(dirname "$PEC_TEST_PGDATA")" "$PEC_TEST_PGPORT" ;;
      stop) pg_ctl_stop "$(dirname "$PEC_TEST_PGDATA")" ;;
      *) echo "pg_harness: --ctl start|stop" >&2; exit 2 ;;
    esac
    exit $?
fi
[ $# -ge 1 ] || { echo "usage: pg_harness.sh COMMAND [ARG...]" >&2; exit 2; }
T_TMP_NAME=pec-pg
. "$HERE/../sh/lib.sh"
pg_installed || skip "PostgreSQL server binaries not found"
trap 'exit 130' INT TERM

at_exit pg_stop "$T_TMP"
pg_start "$T_TMP" 60 || exit 1
pg_createdb "$T_TMP" "$PG_PORT" pec || exit 1

export PEC_TEST_PGDATA=$T_TMP/data PEC_TEST_PGSOCK=$T_TMP/sock PEC_TEST_PGPORT=$PG_PORT
export PEC_TEST_DB=$(pg_conninfo "$T_TMP" "$PG_PORT" pec)
export PEC_TEST_DB_TCP="host=127.0.0.1 port=$PG_PORT user=postgres dbname=pec"
export PEC_TEST_PGCTL="$HERE/pg_harness.sh --ctl"
export PEC_TEST_PSQL="$PGBIN/psql -X -q -v ON_ERROR_STOP=1 -h $PEC_TEST_PGSOCK -p $PG_PORT -U postgres -d pec"
# our own time limit, below CTest's: CTest kills without a trap, which would leave the server running
timeout --kill-after=10 "${PEC_TEST_TIMEOUT:-240}" "$@"
