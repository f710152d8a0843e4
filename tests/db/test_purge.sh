#!/usr/bin/env bash
# test_purge.sh - retention with a fake clock: `pecctl trace purge --now` drops exactly the monthly
# partitions entirely older than 30 months, after a signed checkpoint that lets verification bridge the
# gaps; rows deleted outside a purge are still reported; a tampered trace is never purged.
# Runs under tests/db/pg_harness.sh.
. "$PEC_SRC_DIR/tests/sh/lib.sh"
[ -n "${PEC_TEST_DB:-}" ] || skip "run under tests/db/pg_harness.sh"
DB=(--db "$PEC_TEST_DB")
PKI=$PEC_SRC_DIR/tests/data/golden-pki
SIGN=(--cert "$PKI/provider.pem" --key "$PKI/provider.key")
psql_q() { $PEC_TEST_PSQL -At -c "$1" 2>&1; }
partitions() { psql_q "SELECT string_agg(c.relname, ' ' ORDER BY c.relname) FROM pg_inherits i
                       JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'events'::regclass"; }
# months FROM TO: the partition names events_YYYYMM of the months FROM..TO (YYYY-MM), in order
months() {
    local y=$((10#${1%-*})) m=$((10#${1#*-})) ey=$((10#${2%-*})) em=$((10#${2#*-})) out=""
    while [ $((y * 12 + m)) -le $((ey * 12 + em)) ]; do
        out+="${out:+ }$(printf 'events_%04d%02d' $y $m)"
        m=$((m + 1)); [ $m -eq 13 ] && y=$((y + 1)) m=1
    done
    echo "$out"
}
epoch() { date -u -d "$1 UTC" +%s; }

"$PECCTL" db migrate "${DB[@]}" >/dev/null || fail "migrate"
NOW=$(epoch "2026-07-10 00:00:00")
# one message a month, 2023-03 .. 2026-07, written in shuffled month order so that purged rows are
# interleaved with kept ones inside the chain
"$TEST_TRACE" fill "$NOW" >/dev/null || fail "fill"
[ "$(partitions)" = "$(months 2023-03 2026-07)" ] && ok || fail "partitions after fill: $(partitions)"
"$PECCTL" trace checkpoint "${DB[@]}" "${SIGN[@]}" --now $((NOW - 86400)) --reason daily >/dev/null || fail "checkpoint"
check "verify before purge" "$PECCTL" trace verify "${DB[@]}" --cert "$PKI/provider.pem"

# 2026-07-10 - 30 months = 2024-01-10: the months ending by then are 2023-03 .. 2023-12
out=$("$PECCTL" trace purge "${DB[@]}" --now "$NOW" --dry-run 2>&1) || fail "dry run: $out"
[ "$(grep -c '^would drop' <<<"$out")" = 10 ] && ok || fail "dry run list: $out"
[ "$(partitions)" = "$(months 2023-03 2026-07)" ] && ok || fail "dry run dropped something"
out=$("$PECCTL" trace purge "${DB[@]}" "${SIGN[@]}" --now "$NOW" 2>&1) || fail "purge: $out"
[ "$(sed -n 's/^dropping //p' <<<"$out" | tr '\n' ' ' | sed 's/ $//')" = "$(months 2023-03 2023-12)" ] && ok ||
    fail "purge list: $out"
[ "$(partitions)" = "$(months 2024-01 2026-07)" ] && ok || fail "partitions after purge: $(partitions)"
[ "$(psql_q "SELECT count(*) FROM messages WHERE accepted_at < '2024-01-10'")" = 0 ] && ok || fail "old messages left"
[ "$(psql_q "SELECT count(*) FROM messages")" = 31 ] && ok || fail "recent messages lost"
[ "$(psql_q "SELECT count(*) FROM checkpoints WHERE reason = 'purge'")" = 1 ] && ok || fail "purge checkpoint"
out=$("$PECCTL" trace verify "${DB[@]}" --cert "$PKI/provider.pem" 2>&1) && ok || fail "verify after purge: $out"
grep -q "checked 62 rows" <<<"$out" && ok || fail "rows left: $out"

# the boundary: at 2026-08-01 00:00 the limit is 2024-02-01 00:00, the very end of 2024-01
NOW2=$(epoch "2026-08-01 00:00:00")
out=$("$PECCTL" trace purge "${DB[@]}" "${SIGN[@]}" --now "$NOW2" 2>&1) || fail "second purge: $out"
[ "$(sed -n 's/^dropping //p' <<<"$out")" = events_202401 ] && ok || fail "second purge list: $out"
[ "$(partitions)" = "$(months 2024-02 2026-07)" ] && ok || fail "partitions after second purge: $(partitions)"
out=$("$PECCTL" trace purge "${DB[@]}" "${SIGN[@]}" --now $((NOW2 - 1)) 2>&1)
grep -q "^0 partition(s) dropped" <<<"$out" && ok || fail "purge one second earlier: $out"
out=$("$PECCTL" trace verify "${DB[@]}" --cert "$PKI/provider.pem" 2>&1) && ok || fail "verify after 2nd purge: $out"

# purge needs the key (it signs); a row deleted by hand is not excused by the purge records
check_not "purge without a key" "$PECCTL" trace purge "${DB[@]}" --now "$NOW2"
victim=$(psql_q "SELECT seq FROM events WHERE event_time >= '2025-01-01' ORDER BY seq LIMIT 1 OFFSET 3")
$PEC_TEST_PSQL -c "SET session_replication_role = replica" -c "DELETE FROM events WHERE seq = $victim" >/dev/null
out=$("$PECCTL" trace verify "${DB[@]}" 2>&1)
[ $? -eq 1 ] && grep -q "seq $victim\.\.$victim missing (rows deleted)" <<<"$out" && ok || fail "deletion after purge: $out"
# and a tampered trace is not purged at all
NOW3=$(epoch "2027-06-01 00:00:00")
out=$("$PECCTL" trace purge "${DB[@]}" "${SIGN[@]}" --now "$NOW3" 2>&1)
[ $? -eq 1 ] && grep -q "failed verification" <<<"$out" && ok || fail "purge of a tampered trace: $out"
[ "$(partitions)" = "$(months 2024-02 2026-07)" ] && ok || fail "partitions after refused purge: $(partitions)"
done_tests
