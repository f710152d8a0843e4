#!/usr/bin/env bash
# test_timers_cmd.sh - `pecctl timers run` with an injected clock sends the 12 h and 24 h notices exactly
# as PEC-RULES §2.11's cases say, once each, signed (openssl) with a DTD-valid daticert.xml.
# Recipient states are seeded with SQL, as the access point and the receipts would have left them.
# Runs under tests/db/pg_harness.sh.
. "$PEC_SRC_DIR/tests/sh/lib.sh"
[ -n "${PEC_TEST_DB:-}" ] || skip "run under tests/db/pg_harness.sh"
DTD=$PEC_SHARED_DIR/spec/daticert.dtd
psql_q() { $PEC_TEST_PSQL -At -c "$1" >/dev/null 2>&1; }
"$PECCTL" db migrate --db "$PEC_TEST_DB" >/dev/null || fail "migrate"
"$PECCTL" example --out "$T_TMP/pki" >/dev/null || fail "example"
recording_sendmail
db_provider_conf "$T_TMP/pki"

T0=1795417200   # 23/11/2026 08:00 +0100
ts() { date -u -d "@$1" '+%Y-%m-%d %H:%M:%S+00'; }
# seed ID ADDRESS CERTIFIED PRESA_OFFSET CONSEGNA_OFFSET ("-": never)
seed() {
  local at presa consegna
  presa=NULL; consegna=NULL
  [ "$4" != - ] && presa="'$(ts $((T0 + $4)))'"
  [ "$5" != - ] && consegna="'$(ts $((T0 + $5)))'"
  psql_q "INSERT INTO messages (identificativo, client_msgid, sender, subject, receipt_type, accepted_at, node,
                               queued_at)
          VALUES ('$1', '<c-$1@mua>', 'alice@pec-esempio.test', convert_to('prova $1', 'UTF8'), 'completa',
                  '$(ts $T0)', 0, ${6:-'$(ts $T0)'})" || fail "seed message $1"
  psql_q "INSERT INTO recipients (identificativo, address, certified, header, relayed_at, presa_in_carico_at, consegna_at)
          VALUES ('$1', '$2', $3, 'to', '$(ts $T0)', $presa, $consegna)" || fail "seed recipient $1"
}
seed m1@pec-esempio.test nobody@pec-remoto.test true - -          # nothing at all: both notices
seed m2@pec-esempio.test taken@pec-remoto.test true 3600 -        # presa in carico, no consegna: 24 h only
seed m3@pec-esempio.test late@pec-remoto.test true - -            # consegna between 12 h and 24 h: 12 h only
seed m4@pec-esempio.test ext@example.org false - -                # esterno: never
seed m5@pec-esempio.test fast@pec-remoto.test true 60 120         # delivered at once: never
seed m7@pec-esempio.test unqueued@pec-remoto.test true - - NULL   # certified, never queued: never (issue 12 #6)

run() { "$PECCTL" timers run --config "$T_TMP/provider.conf" --now "$1" 2>&1; }
sent_for() { grep -l "$1" "$T_TMP"/sent/*.eml 2>/dev/null | xargs -r grep -l "$2" | wc -l; }

out=$(run $((T0 + 12 * 3600 - 60)))
grep -q "timers: 0 sent" <<<"$out" && ok || fail "before 12 h nothing is due: $out"
out=$(run $((T0 + 12 * 3600 + 60)))
grep -q "timers: 2 sent, 0 failed" <<<"$out" && ok || fail "at 12 h: m1 and m3 due: $out"
out=$(run $((T0 + 12 * 3600 + 120)))
grep -q "timers: 0 sent" <<<"$out" && ok || fail "a 12 h notice is sent once: $out"
psql_q "UPDATE recipients SET consegna_at = '$(ts $((T0 + 13 * 3600)))' WHERE identificativo = 'm3@pec-esempio.test'"
out=$(run $((T0 + 22 * 3600 - 60)))
grep -q "timers: 0 sent" <<<"$out" && ok || fail "the 24 h notice is not sent before 22 h: $out"
out=$(run $((T0 + 22 * 3600 + 60)))
grep -q "timers: 2 sent, 0 failed" <<<"$out" && ok || fail "at 22 h: m1 and m2 due: $out"
out=$(run $((T0 + 30 * 3600)))
grep -q "timers: 0 sent" <<<"$out" && ok || fail "nothing more after the 24 h notice: $out"

[ "$(ls "$T_TMP"/sent/*.eml | wc -l)" -eq 4 ] && ok || fail "expected 4 notices in all"
[ "$(sent_for 'nobody@pec-remoto.test' 'nelle prime 12 ore')" -eq 1 ] && ok || fail "m1: one 12 h notice"
[ "$(sent_for 'nobody@pec-remoto.test' 'entro 24 ore')" -eq 1 ] && ok || fail "m1: one 24 h notice"
[ "$(sent_for 'taken@pec-remoto.test' 'nelle prime 12 ore')" -eq 0 ] && ok || fail "m2: no 12 h notice after presa in carico"
[ "$(sent_for 'taken@pec-remoto.test' 'entro 24 ore')" -eq 1 ] && ok || fail "m2: one 24 h notice"
[ "$(sent_for 'late@pec-remoto.test' 'nelle prime 12 ore')" -eq 1 ] && ok || fail "m3: one 12 h notice"
[ "$(sent_for 'late@pec-remoto.test' 'entro 24 ore')" -eq 0 ] && ok || fail "m3: no 24 h notice after consegna"
[ "$(grep -l 'ext@example.org\|fast@pec-remoto.test\|unqueued@pec-remoto.test' "$T_TMP"/sent/*.eml 2>/dev/null | wc -l)" -eq 0 ] && ok ||
  fail "no notice for esterno or delivered recipients, nor for a message Postfix never queued"
for f in "$T_TMP"/sent/*.eml; do
  check "$(basename "$f"): signed" openssl smime -verify -in "$f" -CAfile "$T_TMP/pki/ca.pem" -out /dev/null
  grep -q "^X-Ricevuta: preavviso-errore-consegna" "$f" && ok || fail "$(basename "$f"): X-Ricevuta"
  grep -q "^Subject: AVVISO DI MANCATA CONSEGNA PER SUP. TEMPO MASSIMO: prova" "$f" && ok || fail "$(basename "$f"): subject"
  grep -q -- "-f posta-certificata@pec-esempio.test -- alice@pec-esempio.test" "${f%.eml}.args" && ok ||
    fail "$(basename "$f"): not sent to the sender"
  if [ -f "$DTD" ]; then
    python3 "$PEC_SRC_DIR/tests/sh/mimepart.py" "$f" daticert.xml > "$f.xml" && ok || fail "daticert"
    check "$(basename "$f"): daticert DTD-valid" xmllint --noout --dtdvalid "$DTD" "$f.xml"
  fi
done
# and the trace says so
n=$("$PECCTL" log search --db "$PEC_TEST_DB" --json 2>/dev/null | grep -c '"preavviso-')
[ "$n" -eq 4 ] && ok || fail "expected 4 preavviso events in the trace, got $n"

# issue 12 #4: a notice whose send fails is not lost: the lease is given back and the next run sends it
# (before, the claim marked it sent first, and it was never retried)
seed m6@pec-esempio.test flaky@pec-remoto.test true - -
cat > "$T_TMP/sendmail-down" <<'SH'
#!/bin/sh
cat >/dev/null; exit 75
SH
chmod +x "$T_TMP/sendmail-down"
sed "s|^sendmail_command = .*|sendmail_command = $T_TMP/sendmail-down|" "$T_TMP/provider.conf" > "$T_TMP/down.conf"
out=$("$PECCTL" timers run --config "$T_TMP/down.conf" --now $((T0 + 12 * 3600 + 60)) 2>&1)
grep -q "timers: 0 sent, 1 failed" <<<"$out" && grep -q "NOT SENT (will be retried)" <<<"$out" && ok ||
  fail "a failed send is reported: $out"
out=$(run $((T0 + 12 * 3600 + 120)))
grep -q "timers: 1 sent, 0 failed" <<<"$out" && ok || fail "the next run sends the notice that failed: $out"
[ "$(sent_for 'flaky@pec-remoto.test' 'nelle prime 12 ore')" -eq 1 ] && ok || fail "m6: one 12 h notice"
done_tests
