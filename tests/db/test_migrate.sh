#!/usr/bin/env bash
# test_migrate.sh - migrations are idempotent and serialised; the event log is append-only in practice.
# Runs under tests/db/pg_harness.sh (PEC_TEST_DB, PEC_TEST_PSQL).
. "$PEC_SRC_DIR/tests/sh/lib.sh"
[ -n "${PEC_TEST_DB:-}" ] || skip "run under tests/db/pg_harness.sh"
DB=(--db "$PEC_TEST_DB")
psql_q() { $PEC_TEST_PSQL -At -c "$1" 2>&1; }

# first run applies everything, the second nothing; the schema is byte-identical afterwards
out=$("$PECCTL" db migrate "${DB[@]}" 2>&1) || fail "first migrate failed: $out"
grep -q "applied 001_trace.sql" <<<"$out" && grep -q "applied 002_roles.sql" <<<"$out" && ok || fail "first migrate: $out"
latest=$(sed -n 's/.*knows up to \([0-9]*\).*/\1/p' <<<"$("$PECCTL" db version "${DB[@]}")")
grep -q "schema at version $latest" <<<"$out" && ok || fail "version after first migrate: $out"
# schema_dump: the schema without pg_dump's per-run \restrict keys
schema_dump() { "$(dirname "${PEC_TEST_PSQL%% *}")/pg_dump" -s -h "$PEC_TEST_PGSOCK" -p "$PEC_TEST_PGPORT" -U postgres pec |
                grep -v '^\\\(un\)\?restrict'; }
dump1=$(schema_dump)
out=$("$PECCTL" db migrate "${DB[@]}" 2>&1) || fail "second migrate failed: $out"
grep -q "applied" <<<"$out" && fail "second migrate applied something: $out" || ok
grep -q "schema at version $latest" <<<"$out" && ok || fail "version after second migrate: $out"
dump2=$(schema_dump)
[ "$dump1" = "$dump2" ] && ok || fail "second migrate changed the schema"
[ "$(psql_q "SELECT count(*) FROM pec_schema_version")" = "$latest" ] && ok || fail "version rows"

# two migrators at once on an empty database: both succeed, each migration applied once
$PEC_TEST_PSQL -d postgres -c "CREATE DATABASE pec2" >/dev/null
db2="${PEC_TEST_DB/dbname=pec/dbname=pec2}"
"$PECCTL" db migrate --db "$db2" >"$T_TMP/m1" 2>&1 &
p1=$!
"$PECCTL" db migrate --db "$db2" >"$T_TMP/m2" 2>&1 &
p2=$!
wait $p1 && wait $p2 && ok || fail "concurrent migrate: $(cat "$T_TMP/m1" "$T_TMP/m2")"
[ "$(grep -c "applied 001" "$T_TMP/m1" "$T_TMP/m2" | awk -F: '{s+=$2} END {print s}')" = 1 ] && ok ||
    fail "001 applied twice or never: $(cat "$T_TMP/m1" "$T_TMP/m2")"

# some rows to protect, and a checkpoint
"$PECCTL" trace bench "${DB[@]}" --messages 20 --threads 2 >/dev/null || fail "bench"
PKI=$PEC_SRC_DIR/tests/data/golden-pki
"$PECCTL" trace checkpoint "${DB[@]}" --cert "$PKI/provider.pem" --key "$PKI/provider.key" >/dev/null || fail "checkpoint"
part=$(psql_q "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
               WHERE i.inhparent = 'events'::regclass LIMIT 1")

# append-only: even the owner cannot update, delete or truncate through the triggers
check_not "UPDATE events" $PEC_TEST_PSQL -c "UPDATE events SET sender = 'x' WHERE seq = 1"
check_not "DELETE events" $PEC_TEST_PSQL -c "DELETE FROM events WHERE seq = 1"
check_not "TRUNCATE events" $PEC_TEST_PSQL -c "TRUNCATE events"
check_not "UPDATE partition" $PEC_TEST_PSQL -c "UPDATE $part SET sender = 'x'"
check_not "DELETE partition" $PEC_TEST_PSQL -c "DELETE FROM $part"
check_not "TRUNCATE partition" $PEC_TEST_PSQL -c "TRUNCATE $part"
check_not "UPDATE checkpoints" $PEC_TEST_PSQL -c "UPDATE checkpoints SET reason = 'x'"
check_not "DELETE checkpoints" $PEC_TEST_PSQL -c "DELETE FROM checkpoints"
check_not "TRUNCATE checkpoints" $PEC_TEST_PSQL -c "TRUNCATE checkpoints"
msg=$(psql_q "UPDATE events SET sender = 'x' WHERE seq = 1")
grep -q "append-only" <<<"$msg" && ok || fail "trigger message: $msg"
[ "$(psql_q "SELECT count(*) FROM events WHERE sender = 'x'")" = 0 ] && ok || fail "a row changed"

# the writer role: inserts, never changes or drops
as_writer() { $PEC_TEST_PSQL -c "SET ROLE pec_trace_writer" -c "$1"; }
check "writer reads" as_writer "SELECT count(*) FROM events"
check_not "writer UPDATE (trigger off)" $PEC_TEST_PSQL -c "SET session_replication_role = replica" \
    -c "SET ROLE pec_trace_writer" -c "UPDATE events SET sender = 'x'"
check_not "writer DELETE" as_writer "DELETE FROM events"
check_not "writer DROP partition" as_writer "DROP TABLE $part"
check_not "writer drop function" as_writer "SELECT pec_events_partition_drop('$part')"
check_not "writer ALTER TABLE" as_writer "ALTER TABLE events DISABLE TRIGGER events_append_only"
check "writer creates a partition" as_writer "SELECT pec_events_partition_ensure('2031-05-05')"
msg=$(psql_q "SET ROLE pec_trace_writer; DELETE FROM events")
grep -q "permission denied" <<<"$msg" && ok || fail "writer delete message: $msg"
"$PECCTL" trace verify "${DB[@]}" >/dev/null && ok || fail "verify after the attempts"

# an MTA login in the writer role does all its work through the API (new partitions included)
$PEC_TEST_PSQL -c "CREATE ROLE pec_mta LOGIN IN ROLE pec_trace_writer" -c "CREATE ROLE pec_ops LOGIN IN ROLE pec_trace_reader" >/dev/null
mta="${PEC_TEST_DB/user=postgres/user=pec_mta}"
ops="${PEC_TEST_DB/user=postgres/user=pec_ops}"
out=$("$PECCTL" trace bench --db "$mta" --node 7 --messages 40 --threads 4 2>&1) && ok || fail "bench as writer: $out"
out=$(PEC_TEST_DB=$mta "$TEST_TRACE" timers 2>&1) && ok || fail "timers as writer: $out"
out=$(PEC_TEST_DB=$mta "$TEST_TRACE" claim 2>&1) && ok || fail "claims as writer: $out"
out=$("$PECCTL" trace verify --db "$ops" 2>&1) && ok || fail "verify as reader: $out"
check_not "reader cannot write" "$PECCTL" trace bench --db "$ops" --messages 1 --threads 1
check_not "writer cannot purge" "$PECCTL" trace purge --db "$mta" --now 4102444800 \
    --cert "$PKI/provider.pem" --key "$PKI/provider.key"
done_tests
