#!/usr/bin/env bash
# test_log.sh - `pecctl log search` by each criterion (table and --json) and `pecctl log extract`.
# Runs under tests/db/pg_harness.sh; the data is written by `test_trace sample`.
. "$PEC_SRC_DIR/tests/sh/lib.sh"
[ -n "${PEC_TEST_DB:-}" ] || skip "run under tests/db/pg_harness.sh"
DB=(--db "$PEC_TEST_DB")
T0=1795000000 # 2026-11-18 12:06:40 +0100
# nrows N ARGS...: `pecctl log search ARGS` prints N events
nrows() {
    local want=$1 got; shift
    got=$("$PECCTL" log search "${DB[@]}" "$@" 2>/dev/null | wc -l)
    [ "$got" = "$want" ] && ok || fail "log search $*: $got events, expected $want"
}

"$PECCTL" db migrate "${DB[@]}" >/dev/null || fail "migrate"
"$TEST_TRACE" sample >/dev/null || fail "sample data"

nrows 4 --id sample.1@pec.test
nrows 4 --id '<sample.1@pec.test>'
nrows 5 --msgid '<client@mua.test>'        # the client Message-ID of both messages
nrows 5 --msgid client@mua.test
nrows 4 --msgid '<sample.1@pec.test>'      # the busta's Message-ID is the identifier
nrows 1 --msgid '<accettazione@pec.test>' --to $((T0 + 10))
nrows 2 --sender ALICE@pec.test
nrows 5 --recipient bob@PEC-REMOTO.test
nrows 1 --recipient carol@example.org --from $((T0 + 1)) --to $((T0 + 2))
nrows 1 --from $((T0 + 3600))
nrows 2 --to $((T0 + 2))
nrows 1 --from 2026-11-18T12:00:00Z
nrows 3 --id sample.1@pec.test --limit 3
nrows 0 --id nothing@pec.test
check_not "bad time" "$PECCTL" log search "${DB[@]}" --from yesterday

# the table: one line per event whatever the fields hold, legal time, the receipts in order
out=$("$PECCTL" log search "${DB[@]}" --id sample.1@pec.test 2>/dev/null)
[ "$(cut -d' ' -f1-5 <<<"$out" | tr -s ' ' | cut -d' ' -f1-4 | tr '\n' '|')" = \
  "18/11/2026 12:06:40 +0100 accettazione|18/11/2026 12:06:41 +0100 busta-trasporto|18/11/2026 12:06:42 +0100 presa-in-carico|18/11/2026 12:06:43 +0100 avvenuta-consegna|" ] &&
    ok || fail "table: $out"
grep -q 'oggetto=Contratto "firmato"\\x0ariga 2$' <<<"$out" && ok || fail "control characters not escaped: $out"

# JSON: parsed by Python, the subject comes back exactly
"$PECCTL" log search "${DB[@]}" --recipient bob@pec-remoto.test --json >"$T_TMP/j" 2>/dev/null || fail "json"
python3 - "$T_TMP/j" <<'PY' && ok || fail "json content"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 5, rows
first = rows[0]
assert first["tipo"] == "accettazione" and first["identificativo"] == "sample.1@pec.test", first
assert first["oggetto"] == 'Contratto "firmato"\nriga 2', first["oggetto"]
assert first["destinatari"] == [{"indirizzo": "Bob@Pec-Remoto.test", "tipo": "certificato"},
                                {"indirizzo": "carol@example.org", "tipo": "esterno"}], first
assert first["data"] == "18/11/2026 12:06:40 +0100" and first["time"] == 1795000000
assert [r["tipo"] for r in rows[:4]] == ["accettazione", "busta-trasporto", "presa-in-carico", "avvenuta-consegna"]
PY

# the extract: the message, each recipient's story, every receipt
out=$("$PECCTL" log extract "${DB[@]}" sample.1@pec.test 2>&1) && ok || fail "extract: $out"
for want in "Identificativo:     sample.1@pec.test" "Message-ID:         <client@mua.test>" \
            "Mittente:           alice@pec.test" "Accettato:          18/11/2026 12:06:40 +0100" \
            "Bob@Pec-Remoto.test (certificato, To); inoltrato 18/11/2026 12:06:41 +0100; presa in carico 18/11/2026 12:06:42 +0100; consegna 18/11/2026 12:06:43 +0100" \
            "carol@example.org (esterno, Cc); inoltrato 18/11/2026 12:06:41 +0100" \
            "12:06:43 +0100  avvenuta-consegna  sample.1@pec.test"; do
    grep -qF "$want" <<<"$out" && ok || fail "extract lacks: $want"
done
[ "$(grep -c '^  18/11/2026' <<<"$out")" = 4 ] && ok || fail "extract events: $out"
out=$("$PECCTL" log extract "${DB[@]}" sample.2@pec.test 2>&1)
grep -q "nessuna consegna registrata" <<<"$out" && ok || fail "undelivered recipient: $out"
check_not "extract of an unknown id" "$PECCTL" log extract "${DB[@]}" unknown@pec.test
done_tests
