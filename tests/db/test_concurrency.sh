#!/usr/bin/env bash
# test_concurrency.sh - 2 processes x 4 threads write 10,000 message lifecycles on one node's chains:
# no row lost or duplicated, chains intact, `pecctl trace verify` clean; then one byte of one event row
# is changed and another row deleted (as superuser, triggers off): verify names both and exits 1; an
# inserted row is named too.  Runs under tests/db/pg_harness.sh.
. "$PEC_SRC_DIR/tests/sh/lib.sh"
[ -n "${PEC_TEST_DB:-}" ] || skip "run under tests/db/pg_harness.sh"
DB=(--db "$PEC_TEST_DB")
PKI=$PEC_SRC_DIR/tests/data/golden-pki
psql_q() { $PEC_TEST_PSQL -At -c "$1" 2>&1; }
expect() { local what=$1 want=$2 got; got=$(psql_q "$3"); [ "$got" = "$want" ] && ok || fail "$what: $got, expected $want"; }

"$PECCTL" db migrate "${DB[@]}" >/dev/null || fail "migrate"

start=$(date +%s)
"$PECCTL" trace bench "${DB[@]}" --node 1 --threads 4 --messages 5000 --prefix pA >"$T_TMP/a" 2>&1 &
pa=$!
"$PECCTL" trace bench "${DB[@]}" --node 1 --threads 4 --messages 5000 --prefix pB >"$T_TMP/b" 2>&1 &
pb=$!
wait $pa && ok || fail "writer A: $(cat "$T_TMP/a")"
wait $pb && ok || fail "writer B: $(cat "$T_TMP/b")"
echo "writers: $(cat "$T_TMP/a")"
echo "writers: $(cat "$T_TMP/b")"
echo "10,000 lifecycles in $(( $(date +%s) - start )) s"

# nothing lost, nothing twice
expect "messages" 10000 "SELECT count(*) FROM messages"
expect "recipients with every state" 10000 "SELECT count(*) FROM recipients WHERE relayed_at IS NOT NULL
        AND presa_in_carico_at IS NOT NULL AND consegna_at IS NOT NULL"
expect "events" 40000 "SELECT count(*) FROM events"
expect "distinct (chain, seq)" 40000 "SELECT count(DISTINCT (chain, seq)) FROM events"
expect "messages with all four events" 10000 "SELECT count(*) FROM (SELECT identificativo FROM events
        GROUP BY identificativo HAVING count(DISTINCT type) = 4 AND count(*) = 4) s"
expect "events per type" "10000 10000 10000 10000" "SELECT string_agg(n::text, ' ') FROM
        (SELECT count(*) AS n FROM events GROUP BY type) s"
# every chain is 1..n without holes, and its head is its last row
expect "contiguous chains" 0 "SELECT count(*) FROM (SELECT chain FROM events GROUP BY chain
        HAVING min(seq) <> 1 OR max(seq) <> count(*)) s"
expect "heads at the last rows" 0 "SELECT count(*) FROM chain_heads h WHERE h.seq > 0 AND NOT EXISTS
        (SELECT 1 FROM events e WHERE e.chain = h.chain AND e.seq = h.seq AND e.hash = h.hash)"
expect "appends spread over several chains of node 1" t "SELECT count(DISTINCT chain) > 1
        AND min(chain) >= 100 AND max(chain) < 200 FROM events"

out=$("$PECCTL" trace verify "${DB[@]}" 2>&1) && ok || fail "verify after the writers: $out"
grep -q "checked 40000 rows" <<<"$out" && grep -q intact <<<"$out" && ok || fail "verify summary: $out"

# a signed checkpoint, checked against the provider certificate and against the CA
"$PECCTL" trace checkpoint "${DB[@]}" --node 1 --cert "$PKI/provider.pem" --key "$PKI/provider.key" --reason daily \
    >/dev/null && ok || fail "checkpoint"
out=$("$PECCTL" trace verify "${DB[@]}" --cert "$PKI/provider.pem" 2>&1) && ok || fail "verify --cert: $out"
grep -q "1 valid checkpoints: intact" <<<"$out" && ok || fail "checkpoint not counted: $out"
check "verify --ca" "$PECCTL" trace verify "${DB[@]}" --ca "$PKI/ca.pem"

# tamper with two rows in the middle of two chains, bypassing the append-only trigger
read -r c1 c2 <<<"$(psql_q "SELECT string_agg(chain::text, ' ') FROM (SELECT chain FROM chain_heads
                            WHERE seq > 100 ORDER BY chain LIMIT 2) s")"
[ -n "$c1" ] && [ -n "$c2" ] && ok || fail "two busy chains: '$c1' '$c2'"
id1=$(psql_q "SELECT identificativo FROM events WHERE chain = $c1 AND seq = 37")
$PEC_TEST_PSQL -c "SET session_replication_role = replica" \
    -c "UPDATE events SET subject = set_byte(subject, 3, get_byte(subject, 3) # 1) WHERE chain = $c1 AND seq = 37" \
    -c "DELETE FROM events WHERE chain = $c2 AND seq = 58" >/dev/null || fail "tampering"
out=$("$PECCTL" trace verify "${DB[@]}" 2>&1)
status=$?
echo "$out" | sed 's/^/  verify: /'
[ $status -eq 1 ] && ok || fail "verify exit status $status after tampering"
grep -q "^chain $c1 seq 37 .*id=$id1.*modified" <<<"$out" && ok || fail "modified row not named"
grep -q "^chain $c2: seq 58\.\.58 missing (rows deleted)" <<<"$out" && ok || fail "deleted row not named"
[ "$(grep -c '^chain ' <<<"$out")" = 2 ] && ok || fail "expected exactly two findings"
# the same from a date: still found
out=$("$PECCTL" trace verify "${DB[@]}" --from "$(date -u +%Y-%m-%d)" 2>&1)
[ $? -eq 1 ] && grep -q "seq 37 .*modified" <<<"$out" && grep -q "seq 58\.\.58 missing" <<<"$out" && ok ||
    fail "verify --from: $out"

# an inserted row (a copy of a real one under its own sequence number) is named as well
$PEC_TEST_PSQL -c "CREATE TEMP TABLE forged AS SELECT * FROM events WHERE chain = $c1 AND seq = 80" \
    -c "UPDATE forged SET event_time = event_time + interval '1 second', sender = 'forger@pec.test'" \
    -c "INSERT INTO events SELECT * FROM forged" >/dev/null || fail "insert"
out=$("$PECCTL" trace verify "${DB[@]}" 2>&1)
grep -q "^chain $c1 seq 80 .*duplicate sequence number (row inserted)" <<<"$out" && ok || fail "insert not named: $out"
# rewriting a row with its hash recomputed still breaks the link to the next row
$PEC_TEST_PSQL -c "SET session_replication_role = replica" \
    -c "UPDATE events SET hash = sha256(hash) WHERE chain = $c2 AND seq = 90" >/dev/null || fail "rehash"
out=$("$PECCTL" trace verify "${DB[@]}" 2>&1)
grep -q "^chain $c2 seq 91 .*does not link to seq 90" <<<"$out" && ok || fail "relink not named: $out"
done_tests
