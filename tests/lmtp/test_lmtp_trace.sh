#!/usr/bin/env bash
# test_lmtp_trace.sh - the delivery point writing the trace store (label lmtp), run by
# tests/db/pg_harness.sh: a private Dovecot LMTP with the plugin, the provider configuration naming a
# throwaway PostgreSQL (`database`), receipts captured by Postfix's smtp-sink.
#
# Checked in the events table: one avvenuta-consegna per delivered recipient, none more on a replay;
# errore-consegna for a full mailbox and for a refusal; busta-anomalia; consegna for a stored receipt;
# notifica.  With the database stopped a busta is answered 4xx and nothing is stored or sent; once it is
# back the retry delivers exactly once with one receipt.  A failed receipt submission is retried with
# one copy, one receipt and one event.
. "$(dirname "$0")/dovecot-env.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

[ -n "${PEC_TEST_DB:-}" ] || skip "no PEC_TEST_DB: run under tests/db/pg_harness.sh"
dc_require

trap 'exit 1' INT TERM HUP

"$PECCTL" db migrate --db "$PEC_TEST_DB" >/dev/null || bail "pecctl db migrate failed"

# over TCP: the mail processes run as nobody, and a stopped server refuses at once
dc_example_provider "$T_TMP" "database = \"$PEC_TEST_DB_TCP connect_timeout=2\"" ||
  bail "pecctl example failed"

DC_PLUGINS=pec
U=65534:65534
DC_USERS="bob@pec-esempio.test::$U::::
alice@pec-esempio.test::$U::::
carol@pec-remoto.test::$U::::
dave@example.org::$U::::userdb_pec_notify=dave-avvisi@example.org
piena@pec-esempio.test::$U::::$(h_dovecot_quota_field 1k)
aperta@pec-esempio.test::$U::::userdb_pec_accept_ordinary=yes"
dc_setup
dc_start || bail "the private Dovecot did not start"

# inject, maildir_count, maildir_grep: dovecot-env.sh
# sink_new COUNT: wait (bounded) for COUNT new captured transactions; NEW = their files
sink_new() { dc_sink_fresh "$1"; NEW=("${DC_FRESH[@]}"); }
# sql QUERY: one value
sql() { $PEC_TEST_PSQL -At -c "$1"; }
# events TYPE ID RCPT: events of TYPE about ID naming RCPT
events() {
  sql "SELECT count(*) FROM events WHERE type = '$1' AND identificativo = '$2' AND '$3' = ANY(recipients)"
}

ALICE=alice@pec-esempio.test
BUSTA=$PKI/busta-trasporto.eml
BUSTA_ID=$(sed -n 's/^Message-ID: *<\(.*\)>\r*$/\1/Ip' "$BUSTA" | head -1)

# ==== 1. a busta to two recipients: two copies, two receipts, two avvenuta-consegna events ====
inject "$ALICE" bob@pec-esempio.test,carol@pec-remoto.test "$BUSTA"
[ "$REPLIES" = "250 250" ] && ok || fail "busta: LMTP replies '$REPLIES' (want 250 250)"
sink_new 2
[ ${#NEW[@]} -eq 2 ] && ok || fail "busta: ${#NEW[@]} receipts (want 2)"
for r in bob@pec-esempio.test carol@pec-remoto.test; do
  [ "$(events avvenuta-consegna "$BUSTA_ID" "$r")" = 1 ] && ok || fail "busta: avvenuta-consegna events for $r: $(events avvenuta-consegna "$BUSTA_ID" "$r")"
done
n=$(sql "SELECT count(*) FROM events WHERE type = 'avvenuta-consegna' AND identificativo = '$BUSTA_ID' AND message_id IS NOT NULL AND receipt_type IN ('completa', 'sintetica') AND gestore IS NOT NULL")
[ "$n" = 2 ] && ok || fail "busta: events without message_id/receipt_type/gestore ($n complete)"
# the receipt's Message-ID in the event is the one that went out
rid=$(sql "SELECT message_id FROM events WHERE type = 'avvenuta-consegna' AND identificativo = '$BUSTA_ID' AND 'bob@pec-esempio.test' = ANY(recipients)")
[ -n "$rid" ] && grep -qF "$rid" "${NEW[@]}" && ok || fail "busta: receipt id '$rid' not among the captured receipts"
n=$(sql "SELECT count(*) FROM deliveries WHERE identificativo = '$BUSTA_ID'")
[ "$n" = 2 ] && ok || fail "busta: $n delivery claims (want 2)"

# ==== 2. replay: no second copy, receipt or event ====
inject "$ALICE" bob@pec-esempio.test "$BUSTA"
[ "$REPLIES" = 250 ] && ok || fail "replay: LMTP replies '$REPLIES'"
[ "$(maildir_count bob@pec-esempio.test)" -eq 1 ] && ok || fail "replay: bob has $(maildir_count bob@pec-esempio.test)"
sink_new 0
[ ${#NEW[@]} -eq 0 ] && ok || fail "replay: ${#NEW[@]} more receipts"
[ "$(events avvenuta-consegna "$BUSTA_ID" bob@pec-esempio.test)" = 1 ] && ok || fail "replay: a second avvenuta-consegna event"

# ==== 3. notification: receipt + notice, avvenuta-consegna and notifica events ====
inject "$ALICE" dave@example.org "$BUSTA"
[ "$REPLIES" = 250 ] && ok || fail "notify: LMTP replies '$REPLIES'"
sink_new 2
[ "$(events avvenuta-consegna "$BUSTA_ID" dave@example.org)" = 1 ] && ok || fail "notify: no avvenuta-consegna event"
[ "$(events notifica "$BUSTA_ID" dave-avvisi@example.org)" = 1 ] && ok || fail "notify: no notifica event"

# ==== 4. full mailbox: errore-consegna event with the avviso's id and the errore-esteso ====
inject "$ALICE" piena@pec-esempio.test "$BUSTA"
[ "$REPLIES" = 250 ] && ok || fail "quota: LMTP replies '$REPLIES'"
sink_new 1
[ ${#NEW[@]} -eq 1 ] && ok || fail "quota: ${#NEW[@]} avvisi"
n=$(sql "SELECT count(*) FROM events WHERE type = 'errore-consegna' AND identificativo = '$BUSTA_ID' AND 'piena@pec-esempio.test' = ANY(recipients) AND message_id IS NOT NULL AND errore = 'altro' AND convert_from(errore_esteso, 'UTF8') LIKE '5.2.2 - %casella piena'")
[ "$n" = 1 ] && ok || fail "quota: $n errore-consegna events"
[ "$(events avvenuta-consegna "$BUSTA_ID" piena@pec-esempio.test)" = 0 ] && ok || fail "quota: avvenuta-consegna event"

# ==== 5. ordinary mail: refusal (errore-consegna without message id), busta di anomalia ====
printf 'From: mallory@example.net\r\nTo: bob@pec-esempio.test\r\nSubject: Offerta\r\nDate: Mon, 23 Nov 2026 10:05:00 +0100\r\nMessage-ID: <spam-1@example.net>\r\n\r\nPosta ordinaria.\r\n' > "$T_TMP/ordinary.eml"
inject mallory@example.net bob@pec-esempio.test "$T_TMP/ordinary.eml"
case "$REPLIES" in 5*) ok ;; *) fail "refusal: LMTP replies '$REPLIES' (want 5xx)" ;; esac
n=$(sql "SELECT count(*) FROM events WHERE type = 'errore-consegna' AND identificativo = 'spam-1@example.net' AND 'bob@pec-esempio.test' = ANY(recipients) AND message_id IS NULL AND convert_from(errore_esteso, 'UTF8') LIKE '5.7.1 Messaggio rifiutato:%'")
[ "$n" = 1 ] && ok || fail "refusal: $n refusal events"
inject mallory@example.net aperta@pec-esempio.test "$T_TMP/ordinary.eml"
[ "$REPLIES" = 250 ] && ok || fail "anomaly: LMTP replies '$REPLIES'"
[ "$(events busta-anomalia spam-1@example.net aperta@pec-esempio.test)" = 1 ] && ok || fail "anomaly: no busta-anomalia event"
sink_new 0

# ==== 6. a receipt delivered to its user: stored as it is, a consegna event ====
RECEIPT=$(grep -lF "$rid" "$DC_DIR"/sink/* | head -1)
if [ -n "$RECEIPT" ]; then
  mkdir -p "$T_TMP/out"
  python3 "$HERE/sinksplit.py" "$T_TMP/out" "$RECEIPT" >/dev/null
  cp "$T_TMP/out/$(basename "$RECEIPT").eml" "$T_TMP/receipt.eml"
  inject posta-certificata@pec-esempio.test "$ALICE" "$T_TMP/receipt.eml"
  [ "$REPLIES" = 250 ] && ok || fail "receipt: LMTP replies '$REPLIES'"
  [ "$(maildir_count "$ALICE")" -eq 1 ] && ok || fail "receipt: alice has $(maildir_count "$ALICE")"
  n=$(sql "SELECT count(*) FROM events WHERE type = 'consegna' AND '$ALICE' = ANY(recipients) AND message_id = '$rid'")
  [ "$n" = 1 ] && ok || fail "receipt: $n consegna events (dovecot.log: $(grep -o 'action=[a-z-]* kind=[a-z-]*' "$DC_DIR/dovecot.log" | tail -1))"
  sink_new 0
  [ ${#NEW[@]} -eq 0 ] && ok || fail "receipt: ${#NEW[@]} messages emitted for a receipt"
else
  fail "receipt: the captured receipt $rid not found"
fi

# ==== 7. the database down: 4xx, nothing stored, nothing sent; back up: one copy, one receipt ====
new_busta "$T_TMP/down.eml" bob@pec-esempio.test || fail "mkbusta (down) failed"
DOWN_ID=$NEW_BUSTA_ID
$PEC_TEST_PGCTL stop || fail "PostgreSQL did not stop"
inject "$ALICE" bob@pec-esempio.test "$T_TMP/down.eml"
case "$REPLIES" in 451) ok ;; *) fail "db down: LMTP replies '$REPLIES' (want 451)" ;; esac
grep -q 'trace store' "$INJECT_LOG" && ok || fail "db down: no reason in the reply"
[ "$(maildir_grep bob@pec-esempio.test "$DOWN_ID")" -eq 0 ] && ok || fail "db down: stored"
inject mallory@example.net bob@pec-esempio.test "$T_TMP/ordinary.eml"
case "$REPLIES" in 4*) ok ;; *) fail "db down: refusal answered '$REPLIES' (want 4xx: not traced)" ;; esac
inject "$ALICE" piena@pec-esempio.test "$T_TMP/down.eml"
case "$REPLIES" in 4*) ok ;; *) fail "db down: full mailbox answered '$REPLIES' (want 4xx)" ;; esac
sink_new 0
[ ${#NEW[@]} -eq 0 ] && ok || fail "db down: ${#NEW[@]} messages emitted"
$PEC_TEST_PGCTL start || fail "PostgreSQL did not restart"
inject "$ALICE" bob@pec-esempio.test "$T_TMP/down.eml"
[ "$REPLIES" = 250 ] && ok || fail "db back: LMTP replies '$REPLIES'"
[ "$(maildir_grep bob@pec-esempio.test "$DOWN_ID")" -eq 1 ] && ok || fail "db back: $(maildir_grep bob@pec-esempio.test "$DOWN_ID") copies"
sink_new 1
[ ${#NEW[@]} -eq 1 ] && ok || fail "db back: ${#NEW[@]} receipts (want 1)"
[ "$(events avvenuta-consegna "$DOWN_ID" bob@pec-esempio.test)" = 1 ] && ok || fail "db back: avvenuta-consegna events"
inject "$ALICE" bob@pec-esempio.test "$T_TMP/down.eml"
[ "$REPLIES" = 250 ] && ok || fail "db back, replay: LMTP replies '$REPLIES'"
sink_new 0
[ ${#NEW[@]} -eq 0 ] && [ "$(maildir_grep bob@pec-esempio.test "$DOWN_ID")" -eq 1 ] &&
  [ "$(events avvenuta-consegna "$DOWN_ID" bob@pec-esempio.test)" = 1 ] && ok || fail "db back, replay: not idempotent"

# ==== 8. receipt submission fails after the save and the claim: 4xx; the retry sends one receipt,
# dated at the save, and logs one event ====
new_busta "$T_TMP/retry.eml" bob@pec-esempio.test || fail "mkbusta (retry) failed"
RETRY_ID=$NEW_BUSTA_ID
dc_stop_sink
inject "$ALICE" bob@pec-esempio.test "$T_TMP/retry.eml"
case "$REPLIES" in 4*) ok ;; *) fail "sink down: LMTP replies '$REPLIES' (want 4xx)" ;; esac
[ "$(maildir_grep bob@pec-esempio.test "$RETRY_ID")" -eq 1 ] && ok || fail "sink down: not stored"
[ "$(sql "SELECT count(*) FROM deliveries WHERE identificativo = '$RETRY_ID'")" = 1 ] && ok || fail "sink down: not claimed"
[ "$(events avvenuta-consegna "$RETRY_ID" bob@pec-esempio.test)" = 0 ] && ok || fail "sink down: event for an unsent receipt"
dc_start_sink || fail "smtp-sink did not restart"
sleep 2
inject "$ALICE" bob@pec-esempio.test "$T_TMP/retry.eml"
[ "$REPLIES" = 250 ] && ok || fail "sink back: LMTP replies '$REPLIES'"
[ "$(maildir_grep bob@pec-esempio.test "$RETRY_ID")" -eq 1 ] && ok || fail "sink back: copies"
sink_new 1
[ ${#NEW[@]} -eq 1 ] && ok || fail "sink back: ${#NEW[@]} receipts (want 1)"
[ "$(events avvenuta-consegna "$RETRY_ID" bob@pec-esempio.test)" = 1 ] && ok || fail "sink back: avvenuta-consegna events"
stored=$(grep -lF "$RETRY_ID" "$DC_DIR/home/bob@pec-esempio.test/Maildir/"*/* | head -1)
n=$(sql "SELECT abs(extract(epoch FROM event_time) - $(stat -c %Y "$stored")) <= 1 FROM events WHERE type = 'avvenuta-consegna' AND identificativo = '$RETRY_ID'")
[ "$n" = t ] && ok || fail "sink back: event not dated at the save"

# ==== 8b. as 8, but the marks are lost before the retry (a crash: they are not fsynced): the claim
# has no avvenuta-consegna event, so the receipt is still owed and goes out; a second copy is the price ====
new_busta "$T_TMP/lost.eml" bob@pec-esempio.test || fail "mkbusta (lost) failed"
LOST_ID=$NEW_BUSTA_ID
dc_stop_sink
inject "$ALICE" bob@pec-esempio.test "$T_TMP/lost.eml"
case "$REPLIES" in 4*) ok ;; *) fail "marks lost: first attempt answered '$REPLIES' (want 4xx)" ;; esac
rm -rf "$DC_DIR/home/bob@pec-esempio.test/.pec-marks"
dc_start_sink || fail "smtp-sink did not restart"
sleep 2
inject "$ALICE" bob@pec-esempio.test "$T_TMP/lost.eml"
[ "$REPLIES" = 250 ] && ok || fail "marks lost: retry answered '$REPLIES'"
sink_new 1
[ ${#NEW[@]} -eq 1 ] && ok || fail "marks lost: ${#NEW[@]} receipts on the retry (want the owed one)"
[ "$(events avvenuta-consegna "$LOST_ID" bob@pec-esempio.test)" = 1 ] && ok || fail "marks lost: avvenuta-consegna events"
# once it went out, a further copy (marks lost again) gets no second receipt
rm -rf "$DC_DIR/home/bob@pec-esempio.test/.pec-marks"
inject "$ALICE" bob@pec-esempio.test "$T_TMP/lost.eml"
[ "$REPLIES" = 250 ] && ok || fail "marks lost twice: answered '$REPLIES'"
sink_new 0
[ ${#NEW[@]} -eq 0 ] && ok || fail "marks lost twice: ${#NEW[@]} more receipts (want none)"
[ "$(events avvenuta-consegna "$LOST_ID" bob@pec-esempio.test)" = 1 ] && ok || fail "marks lost twice: a second avvenuta-consegna event"

# ==== 9. the trace write fails after the save (the events table renamed away, the server still
# answering): 4xx; the retry stores nothing more and logs one event.  For a busta the receipt went out
# before its event failed: the retry traces that receipt (its "sent" mark names it) and sends no other ====
new_busta "$T_TMP/late.eml" bob@pec-esempio.test || fail "mkbusta (late) failed"
LATE_ID=$NEW_BUSTA_ID
printf 'From: mallory@example.net\r\nTo: aperta@pec-esempio.test\r\nSubject: Altra offerta\r\nMessage-ID: <spam-2@example.net>\r\n\r\nPosta ordinaria.\r\n' > "$T_TMP/ordinary2.eml"
aperta_before=$(maildir_count aperta@pec-esempio.test)
sql "ALTER TABLE events RENAME TO events_away" >/dev/null || fail "rename events"
inject "$ALICE" bob@pec-esempio.test "$T_TMP/late.eml"
case "$REPLIES" in 451) ok ;; *) fail "trace write fails: busta answered '$REPLIES' (want 451)" ;; esac
inject mallory@example.net aperta@pec-esempio.test "$T_TMP/ordinary2.eml"
case "$REPLIES" in 451) ok ;; *) fail "trace write fails: anomaly answered '$REPLIES' (want 451)" ;; esac
inject mallory@example.net bob@pec-esempio.test "$T_TMP/ordinary2.eml"
case "$REPLIES" in 451) ok ;; *) fail "trace write fails: refusal answered '$REPLIES' (want 451)" ;; esac
sink_new 1
[ ${#NEW[@]} -eq 1 ] && ok || fail "trace write fails: ${#NEW[@]} receipts (want the one submitted before the write)"
LATE_RECEIPT=$([ ${#NEW[@]} -eq 1 ] && sed -n 's/^Message-ID: *<\(.*\)>\r*$/\1/Ip' "${NEW[0]}" | head -1)
sql "ALTER TABLE events_away RENAME TO events" >/dev/null || fail "rename events back"
inject "$ALICE" bob@pec-esempio.test "$T_TMP/late.eml"
[ "$REPLIES" = 250 ] && ok || fail "trace back: busta answered '$REPLIES'"
[ "$(maildir_grep bob@pec-esempio.test "$LATE_ID")" -eq 1 ] && ok || fail "trace back: $(maildir_grep bob@pec-esempio.test "$LATE_ID") copies"
sink_new 0
[ ${#NEW[@]} -eq 0 ] && ok || fail "trace back: ${#NEW[@]} more receipts (want none: it went out before)"
[ "$(events avvenuta-consegna "$LATE_ID" bob@pec-esempio.test)" = 1 ] && ok || fail "trace back: avvenuta-consegna events"
[ -n "$LATE_RECEIPT" ] && [ "$(sql "SELECT message_id FROM events WHERE type = 'avvenuta-consegna' AND identificativo = '$LATE_ID'")" = "<$LATE_RECEIPT>" ] &&
  ok || fail "trace back: the event names $(sql "SELECT message_id FROM events WHERE type = 'avvenuta-consegna' AND identificativo = '$LATE_ID'"), not the receipt that went out ($LATE_RECEIPT)"
inject mallory@example.net aperta@pec-esempio.test "$T_TMP/ordinary2.eml"
[ "$REPLIES" = 250 ] && ok || fail "trace back: anomaly answered '$REPLIES'"
[ "$(maildir_count aperta@pec-esempio.test)" -eq $((aperta_before + 1)) ] && ok ||
  fail "trace back: aperta has $(( $(maildir_count aperta@pec-esempio.test) - aperta_before )) new copies (want 1)"
[ "$(events busta-anomalia spam-2@example.net aperta@pec-esempio.test)" = 1 ] && ok || fail "trace back: busta-anomalia events"
inject mallory@example.net bob@pec-esempio.test "$T_TMP/ordinary2.eml"
case "$REPLIES" in 5*) ok ;; *) fail "trace back: refusal answered '$REPLIES'" ;; esac
check "pecctl trace verify: the chains are intact" "$PECCTL" trace verify --db "$PEC_TEST_DB"

# ==== the log: the store verifies, pecctl finds the events, no "no database" warning ====
check "pecctl log search --json" "$PECCTL" log search --db "$PEC_TEST_DB" --id "$BUSTA_ID" --json
n=$("$PECCTL" log search --db "$PEC_TEST_DB" --id "$BUSTA_ID" --json 2>/dev/null | grep -c '"avvenuta-consegna"')
[ "$n" -ge 3 ] && ok || fail "pecctl log search: $n avvenuta-consegna events for $BUSTA_ID"
grep -q 'sets no database' "$DC_DIR/dovecot.log" && fail "a 'no database' warning with a database" || ok
if grep -E 'Panic|Fatal' "$DC_DIR/dovecot.log" >&2; then fail "dovecot.log has errors"; else ok; fi
[ "$T_FAIL" -eq 0 ] || { echo "--- dovecot.log ---" >&2; tail -60 "$DC_DIR/dovecot.log" >&2; }
done_tests
