# pg.sh - the one PostgreSQL bootstrap of the tests: a throwaway cluster in a folder (DIR/data, socket in
# DIR/sock) on 127.0.0.1 at a port free at run time, trust auth, superuser "postgres".  Used by
# tests/db/pg_harness.sh (db, lmtp.trace and postfix tests) and tests/harness/net.sh (e2e, demo, bench).
# pg_start needs free_port (tests/sh/lib.sh); the rest stands alone (pg_harness.sh --ctl).
# PGBIN: the server binaries [the newest /usr/lib/postgresql/N/bin].
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}

# pg_installed: the server binaries are there (callers skip otherwise)
pg_installed() { [ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ]; }

# as_postgres COMMAND...: as the postgres user when root (initdb and postgres refuse to run as root)
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# pg_start DIR MAX-CONNECTIONS: initdb and start a new cluster in DIR; PG_PORT = its port (another one
# is tried when the port is taken between choosing and binding it)
pg_start() {
  local dir=$1 attempt
  mkdir -p "$dir/data" "$dir/sock"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir/data" "$dir/sock"
  chmod 700 "$dir/data"; chmod 755 "$dir" "$dir/sock"
  as_postgres "$PGBIN/initdb" -D "$dir/data" -A trust -E UTF8 --locale=C -U postgres >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; return 1; }
  # a small, fast, durable cluster: fsync stays on, as the trace needs in production
  printf 'max_connections = %s\nshared_buffers = 64MB\nsynchronous_commit = on\nlog_min_messages = warning\n' \
    "$2" >> "$dir/data/postgresql.conf"
  for attempt in 1 2 3 4 5; do
    PG_PORT=$(free_port)
    pg_ctl_start "$dir" "$PG_PORT" && return 0
  done
  cat "$dir/data/server.log" >&2
  return 1
}

# pg_ctl_start DIR PORT: start the cluster of DIR (first start, or again after pg_ctl_stop)
pg_ctl_start() {
  as_postgres "$PGBIN/pg_ctl" -D "$1/data" -l "$1/data/server.log" -w -t 30 \
    -o "-p $2 -k $1/sock -c listen_addresses=127.0.0.1" start >/dev/null
}

# pg_ctl_stop DIR: a clean stop while the test goes on (the database outage tests)
pg_ctl_stop() { as_postgres "$PGBIN/pg_ctl" -D "$1/data" -m fast -w -t 30 stop >/dev/null; }

# pg_stop DIR: the cleanup step: stop it at once if it runs (its data is thrown away with DIR)
pg_stop() {
  [ -f "$1/data/postmaster.pid" ] && as_postgres "$PGBIN/pg_ctl" -D "$1/data" -m immediate -w -t 20 stop >/dev/null 2>&1
  return 0
}

# pg_psql DIR PORT DATABASE [PSQL-ARG...]: psql as postgres over the cluster's unix socket
pg_psql() { local dir=$1 port=$2 db=$3; shift 3; "$PGBIN/psql" -X -q -h "$dir/sock" -p "$port" -U postgres -d "$db" "$@"; }

# pg_createdb DIR PORT NAME: a new, empty database
pg_createdb() { pg_psql "$1" "$2" postgres -c "CREATE DATABASE $3" >/dev/null; }

# pg_conninfo DIR PORT DATABASE: its libpq conninfo (unix socket)
pg_conninfo() { echo "host=$1/sock port=$2 user=postgres dbname=$3"; }
