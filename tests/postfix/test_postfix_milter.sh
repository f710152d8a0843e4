#!/usr/bin/env bash
# pec-milter inside a real Postfix: the access point certifies or refuses submissions (the acceptance
# goes out only through the marker delivery, i.e. after the queue commit), the reception point accepts
# valid buste with a presa in carico and refuses what is not PEC.  Everything emitted is checked with
# openssl and xmllint.
. "$(dirname "$0")/../harness/lib.sh"
command -v postfix >/dev/null && command -v swaks >/dev/null && command -v dovecot >/dev/null || h_skip "postfix, swaks or dovecot missing"
[ "$(id -u)" = 0 ] || h_skip "needs root to run private Postfix instances"
DTD=${PEC_SHARED_DIR:-$H_SRC/../shared}/spec/daticert.dtd
SAMPLES=${PEC_SHARED_DIR:-$H_SRC/../shared}/samples/real

# --- a provider: test PKI, index, mailboxes, configuration --------------------------------------------
h_example_provider "/usr/sbin/sendmail -C $H_T/postfix-a/etc" "quarantine_dir = $H_T/quarantine
clamd_socket = $H_T/clamd-a/clamd.sock" || { h_fail "pecctl example"; h_done; exit; }
h_index_add_aruba
printf 'alice@%s\nbob@%s\nolga@%s ordinary\n' $D $D $D > "$H_T/mailboxes"
printf 'alice@%s:{PLAIN}secret\n' $D > "$H_T/users"
mkdir -p "$H_T/quarantine"
SUB=$(h_port); MX=$(h_port); MA=$(h_port); MR=$(h_port); AUTH=$(h_port); EM=$(h_port); LOCAL=$(h_port); REMOTE=$(h_port)
# the trace store, when the test runs under tests/db/pg_harness.sh
if [ -n "${PEC_TEST_DB:-}" ]; then
  echo "database = $PEC_TEST_DB" >> "$H_T/provider.conf"
  "$H_PECCTL" db migrate --db "$PEC_TEST_DB" >/dev/null || h_fail "migrate"
  # the milter then looks the index up in the copy imported into the trace store, not in a file
  "$H_PECCTL" index import --db "$PEC_TEST_DB" "$PKI/index.ldif" >/dev/null || h_fail "index import"
  sed -i '/^index_file = /d' "$H_T/provider.conf"
fi

h_dovecot_auth a "$AUTH" "$H_T/users" || { h_fail "dovecot auth did not start"; h_done; exit; }
h_clamd a || { h_fail "clamd did not start"; h_done; exit; }
h_sink local "$LOCAL" lmtp
h_sink remote "$REMOTE"
h_bg emitter "$H_EMITTER" -c "$H_T/provider.conf" -l 127.0.0.1:"$EM"
h_bg milter-access "$H_MILTER" -c "$H_T/provider.conf" -r access -s inet:"$MA"@127.0.0.1
h_bg milter-reception "$H_MILTER" -c "$H_T/provider.conf" -r reception -s inet:"$MR"@127.0.0.1
h_wait_port "$EM" && h_wait_port "$MA" && h_wait_port "$MR" || { h_fail "our daemons did not start"; cat "$H_T"/*.log >&2; h_done; exit; }
HP_DOMAIN=$D HP_SUBMIT=$SUB HP_MX=$MX HP_MILTER_ACCESS=$MA HP_MILTER_RECEPTION=$MR HP_AUTH=$AUTH \
HP_TRANSPORT="$D lmtp:inet:127.0.0.1:$LOCAL
outbox.pec.invalid lmtp:inet:127.0.0.1:$EM
pec-remoto.test smtp:[127.0.0.1]:$REMOTE
pec.aruba.it smtp:[127.0.0.1]:$REMOTE
pec.it smtp:[127.0.0.1]:$REMOTE" h_postfix a || { h_fail "postfix did not start"; h_done; exit; }

# submit FROM HEADERS-OPTIONS...: swaks over the submission service as alice
submit() {
  swaks --server 127.0.0.1:"$SUB" --auth PLAIN --auth-user alice@$D --auth-password secret --helo client.test \
        --timeout 30 "$@" 2>&1
}
# verify_all DIR: every captured message verifies with openssl and has a DTD-valid daticert.xml
verify_all() {
  local f n=0
  for f in "$1"/*.eml; do
    [ -f "$f" ] || continue
    n=$((n + 1))
    h_check "$(basename "$f"): openssl smime -verify" openssl smime -verify -in "$f" -CAfile "$PKI/ca.pem" -out /dev/null
    if python3 "$H_SRC/tests/sh/mimepart.py" "$f" daticert.xml > "$f.xml"; then
      [ -f "$DTD" ] && h_check "$(basename "$f"): daticert DTD-valid" xmllint --noout --dtdvalid "$DTD" "$f.xml"
    fi
  done
  [ "$n" -gt 0 ] && h_ok || h_fail "nothing captured in $1"
}

# --- access point: an accepted submission -------------------------------------------------------------
out=$(submit --from alice@$D --to bob@$D,carol@pec-remoto.test \
      --header "To: bob@$D" --header "Cc: carol@pec-remoto.test" --header "Subject: Contratto" \
      --header "Message-Id: <sub-1@client.test>" --body "Testo del contratto.")
grep -q "^<- *250 .*queued" <<<"$out" && h_ok || h_fail "submission not accepted: $out"
h_wait "h_sink_count local" 3 30 || h_fail "busta for bob, accettazione for alice and our own presa in carico not all delivered locally"
h_wait "h_sink_count remote" 1 30 || h_fail "busta for carol not relayed"
h_sink_messages local "$H_T/got-local"
h_sink_messages remote "$H_T/got-remote"
verify_all "$H_T/got-local"
verify_all "$H_T/got-remote"
acc=$(grep -l "^X-Ricevuta: accettazione" "$H_T"/got-local/*.eml | head -1)
busta=$(grep -l "^X-Trasporto: posta-certificata" "$H_T"/got-remote/*.eml | head -1)
[ -n "$acc" ] && h_ok || h_fail "no accettazione delivered"
[ -n "$busta" ] && h_ok || h_fail "no busta relayed"
if [ -n "$acc" ] && [ -n "$busta" ]; then
  id=$(grep -m1 -i "^Message-ID:" "$busta" | sed 's/.*<\(.*\)>.*/\1/')
  grep -q "$id" "$acc.xml" && h_ok || h_fail "accettazione does not name the busta's identificativo $id"
  grep -q "^X-Riferimento-Message-ID: <sub-1@client.test>" "$busta" && h_ok || h_fail "busta lost the client's Message-ID"
  grep -q "alice@$D" "${acc%.eml}.rcpt" && h_ok || h_fail "accettazione not addressed to alice"
  grep -q '<destinatari tipo="esterno">carol@pec-remoto.test' "$acc.xml" && h_ok || h_fail "pec-remoto.test is not in the index: carol must be esterno"
fi
grep -q "outbox.pec.invalid" "$H_T"/got-*/*.rcpt && h_fail "a marker recipient leaked to a mailbox" || h_ok
# same provider (RFC 6109 §3.4): bob is ours, so our reception point owed a presa in carico listing him
pic=$(grep -l "^X-Ricevuta: presa-in-carico" "$H_T"/got-local/*.eml | head -1)
[ -n "$pic" ] && grep -q "<ricezione>bob@$D</ricezione>" "$pic.xml" && ! grep -q "carol@" <(grep ricezione "$pic.xml") &&
  h_ok || h_fail "no presa in carico for the same-provider recipient bob"
[ -z "$(ls "$H_T/outbox" | grep -v '^done$')" ] && h_ok || h_fail "outbox entries left unsent: $(ls "$H_T/outbox")"
h_postfix_log a | grep -q "to=<[0-9a-f]*@outbox.pec.invalid>.*status=sent" && h_ok || h_fail "no marker delivery in the Postfix log"

# the trace: the certification was recorded before the milter answered, the accettazione once sent
if [ -n "${PEC_TEST_DB:-}" ] && [ -n "${id:-}" ]; then
  log=$("$H_PECCTL" log search --db "$PEC_TEST_DB" --id "$id" --json 2>&1)
  grep -q '"busta-trasporto"' <<<"$log" && h_ok || h_fail "no busta-trasporto event for $id: $log"
  h_wait "\"$H_PECCTL\" log search --db \"$PEC_TEST_DB\" --id \"$id\" --json | grep -c '\"accettazione\"'" 1 10 &&
    h_ok || h_fail "no accettazione event for $id"
  ext=$("$H_PECCTL" log extract --db "$PEC_TEST_DB" "$id" 2>&1)
  grep -q "carol@pec-remoto.test" <<<"$ext" && grep -q "bob@$D" <<<"$ext" && h_ok || h_fail "log extract lacks the recipients: $ext"
fi

# --- same provider, unknown mailbox: accepted, and an avviso di mancata consegna (no-dest), no bounce ---
before=$(h_sink_count local)
out=$(submit --from alice@$D --to zed@$D --header "To: zed@$D" --header "Subject: a nessuno")
grep -q "^<- *250 .*queued" <<<"$out" && h_ok || h_fail "submission to an unknown local mailbox refused: $out"
h_wait "h_sink_count local" $((before + 2)) 30 || h_fail "accettazione and avviso no-dest not both delivered"
f=$(grep -l "^X-Ricevuta: errore-consegna" $(ls -t "$H_T"/sink-local/* | head -2) | head -1)
[ -n "$f" ] && h_ok || h_fail "no avviso di mancata consegna for zed"
h_postfix_log a | grep -q "to=<zed@$D>" && h_fail "the busta was still delivered to zed (a bounce would follow)" || h_ok

# --- access point: each refusal gives a 5xx naming the check and a signed avviso to alice ---------------
before=$(h_sink_count local)
refuse() {
  local check=$1; shift
  local out; out=$(submit "$@")
  grep -q "^<\** *5[0-9][0-9] .*($check)" <<<"$out" && h_ok || h_fail "check $check: expected a 5xx naming it: $(grep '^<' <<<"$out" | tail -2)"
}
refuse sender --from mallory@$D --to bob@$D --header "From: mallory@$D" --header "To: bob@$D"
refuse from --from alice@$D --to bob@$D --header "From: mallory@$D" --header "To: bob@$D"
refuse rcpt --from alice@$D --to bob@$D --header "To: bob@$D, olga@$D"
# Postfix drops Bcc: headers before the milter sees them; a Bcc recipient still shows as an extra RCPT
refuse 'rcpt\|bcc' --from alice@$D --to bob@$D,spy@pec-remoto.test --header "To: bob@$D" --header "Bcc: spy@pec-remoto.test"
refuse syntax --from alice@$D --to bob@$D --header "To: bob@$D" --header "Message-ID: <dup@client.test>"
h_wait "h_sink_count local" $((before + 5)) 30 && h_ok || h_fail "not every refusal produced an avviso di non accettazione"
rm -rf "$H_T/got-local"; h_sink_messages local "$H_T/got-local"
n=$(grep -l "^X-Ricevuta: non-accettazione" "$H_T"/got-local/*.eml | wc -l)
[ "$n" -eq 5 ] && h_ok || h_fail "expected 5 avvisi di non accettazione, got $n"
verify_all "$H_T/got-local"

# --- reception point ----------------------------------------------------------------------------------
mx() { swaks --server 127.0.0.1:"$MX" --helo other.test --timeout 30 "$@" 2>&1; }
if [ -f "$SAMPLES/aruba-2014/busta-trasporto-1.eml" ]; then
  # a real busta re-addressed to bob, whom its daticert does not name: not valid PEC here (PEC-RULES §5.2)
  out=$(mx --from sender@pec.it --to bob@$D --data "$SAMPLES/aruba-2014/busta-trasporto-1.eml")
  grep -q "^<\** *554 .*non certificata" <<<"$out" && h_ok || h_fail "real Aruba busta re-addressed to bob not refused: $(grep '^<' <<<"$out" | tail -2)"
  out=$(mx --from x@pec.it --to bob@$D --data "$SAMPLES/sogei-2018-edited/busta-invio-file.eml")
  grep -q "^<\** *554 " <<<"$out" && h_ok || h_fail "tampered Sogei busta not refused: $(grep '^<' <<<"$out" | tail -2)"
fi
# a busta for bob and zed (no such mailbox): delivered to bob; its provider's mailReceipt (ours: make-busta
# signs with our key) gets a presa in carico listing bob only, its sender an avviso di mancata consegna
printf 'From: alice@%s\r\nTo: bob@%s, zed@%s\r\nSubject: a bob e zed\r\nDate: %s\r\nMessage-ID: <bz@client.test>\r\n\r\nciao\r\n' \
  $D $D $D "$(date -R)" > "$H_T/bob-zed.eml"
"$H_BUILD/tests/make-busta" "$H_T/provider.conf" "$H_T/bob-zed.eml" > "$H_T/bob-zed-busta.eml" || h_fail "make-busta"
local_before=$(h_sink_count local)
out=$(mx --from alice@$D --to bob@$D,zed@$D --data "$H_T/bob-zed-busta.eml")
grep -q "^<- *250 .*queued" <<<"$out" && h_ok || h_fail "busta for bob and zed not accepted: $(grep '^<' <<<"$out" | tail -2)"
h_wait "h_sink_count local" $((local_before + 3)) 30 || h_fail "busta for bob, presa in carico and no-dest avviso not all delivered"
rm -rf "$H_T/got-local"; h_sink_messages local "$H_T/got-local"
verify_all "$H_T/got-local"
pic=$(grep -l "^X-Ricevuta: presa-in-carico" $(grep -l "a bob e zed" "$H_T"/got-local/*.eml) | head -1)
[ -n "$pic" ] && grep -q "posta-certificata@$D" "${pic%.eml}.rcpt" && h_ok || h_fail "no presa in carico to the signer's mailReceipt"
[ -n "$pic" ] && grep -q "<ricezione>bob@$D</ricezione>" "$pic.xml" 2>/dev/null && h_ok || h_fail "presa in carico does not list bob"
[ -n "$pic" ] && grep -q "<ricezione>zed@$D" "$pic.xml" && h_fail "presa in carico lists the unknown zed" || h_ok
nodest=$(grep -l "^X-Ricevuta: errore-consegna" $(grep -l "a bob e zed" "$H_T"/got-local/*.eml) | head -1)
[ -n "$nodest" ] && grep -q 'errore="no-dest"' "$nodest.xml" && grep -q "alice@$D" "${nodest%.eml}.rcpt" && h_ok ||
  h_fail "no avviso di mancata consegna (no-dest) for zed to alice"
h_postfix_log a | grep -q "to=<zed@$D>.*status=sent" && h_fail "the busta was still delivered to zed" || h_ok
out=$(mx --from someone@example.net --to bob@$D --header "Subject: ordinaria" --body "ciao")
grep -q "^<\** *554 .*non certificata" <<<"$out" && h_ok || h_fail "ordinary mail to a PEC-only mailbox not refused"
before=$(h_sink_count local)
out=$(mx --from someone@example.net --to olga@$D --header "Subject: ordinaria" --header "X-PEC-Anomalia: forged" --body "ciao")
grep -q "^<- *250 .*queued" <<<"$out" && h_ok || h_fail "ordinary mail to olga (accepts ordinary) refused"
h_wait "h_sink_count local" $((before + 1)) 30 || h_fail "ordinary mail for olga not delivered"
f=$(ls -t "$H_T"/sink-local/* | head -1)
n=$(grep -c "^X-PEC-Anomalia:" "$f")
[ "$n" -eq 1 ] && ! grep -q "^X-PEC-Anomalia: forged" "$f" && h_ok || h_fail "anomaly mark missing or forged one kept ($n)"

# --- viruses (real clamd, EICAR test signature) -------------------------------------------------------
h_eicar > "$H_T/eicar.com"
before=$(h_sink_count local)
out=$(submit --from alice@$D --to bob@$D --header "To: bob@$D" --header "Subject: allegato" --attach "$H_T/eicar.com")
grep -q "^<\** *554 5.7.0 .*(virus).*Eicar-Test-Signature" <<<"$out" && h_ok || h_fail "virus at the access point not refused: $(grep '^<' <<<"$out" | tail -2)"
h_wait "h_sink_count local" $((before + 1)) 30 || h_fail "no avviso for the virus"
f=$(ls -t "$H_T"/sink-local/* | head -1)
grep -q "^X-VerificaSicurezza: errore" "$f" && grep -q "^X-Ricevuta: non-accettazione" "$f" && h_ok || h_fail "the avviso is not a non-accettazione per virus"
ls "$H_T"/quarantine/*.eml >/dev/null 2>&1 && h_ok || h_fail "infected submission not quarantined"
# a valid busta carrying a virus: presa in carico and rilevazione virus to the sender's provider, not delivered
printf 'From: alice@%s\r\nTo: bob@%s\r\nSubject: fattura\r\nDate: %s\r\nMessage-ID: <v1@client.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nin allegato\r\n--b\r\nContent-Type: application/octet-stream; name="f.com"\r\nContent-Disposition: attachment; filename="f.com"\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n--b--\r\n' \
  $D $D "$(date -R)" "$(base64 -w0 < "$H_T/eicar.com")" > "$H_T/infected.eml"
"$H_BUILD/tests/make-busta" "$H_T/provider.conf" "$H_T/infected.eml" > "$H_T/infected-busta.eml" || h_fail "make-busta"
quarantined=$(ls "$H_T"/quarantine | wc -l)
before=$(h_sink_count local)
out=$(mx --from alice@$D --to bob@$D --data "$H_T/infected-busta.eml")
grep -q "^<- *250 .*queued" <<<"$out" && h_ok || h_fail "infected busta not taken in charge: $(grep '^<' <<<"$out" | tail -2)"
h_wait "h_sink_count local" $((before + 3)) 30 || h_fail "presa in carico, rilevazione virus and mancata consegna per virus not all sent"
rm -rf "$H_T/got-virus"; mkdir -p "$H_T/got-virus"
for f in $(ls -t "$H_T"/sink-local/* | head -3); do python3 "$H_SRC/tests/harness/sinkmsg.py" "$f" > "$H_T/got-virus/$(basename "$f").eml"; done
grep -l "^X-Ricevuta: rilevazione-virus" "$H_T"/got-virus/*.eml >/dev/null && h_ok || h_fail "no rilevazione virus"
grep -l "^X-Ricevuta: presa-in-carico" "$H_T"/got-virus/*.eml >/dev/null && h_ok || h_fail "no presa in carico for the infected busta"
grep -l "^Subject: AVVISO DI MANCATA CONSEGNA PER VIRUS: fattura" "$H_T"/got-virus/*.eml >/dev/null && h_ok ||
  h_fail "no avviso di mancata consegna per virus to our own sender"
grep -l "^Subject: POSTA CERTIFICATA: fattura" "$H_T"/sink-local/* >/dev/null && h_fail "the infected busta reached bob" || h_ok
verify_all "$H_T/got-virus"
h_wait "ls $H_T/quarantine | wc -l" $((quarantined + 1)) 10 && h_ok || h_fail "infected busta not quarantined"

# --- the trace store down: certify nothing, answer 4xx; back up: work again without a restart ----------
if [ -n "${PEC_TEST_DB:-}" ]; then
  $PEC_TEST_PGCTL stop
  out=$(submit --from alice@$D --to bob@$D --header "To: bob@$D" --header "Subject: db giu")
  grep -q "^<\** *451 " <<<"$out" && h_ok || h_fail "database down: expected 451: $(grep '^<' <<<"$out" | tail -2)"
  $PEC_TEST_PGCTL start
  out=$(submit --from alice@$D --to bob@$D --header "To: bob@$D" --header "Subject: db su")
  grep -q "^<- *250 .*queued" <<<"$out" && h_ok || h_fail "database back: not accepted: $(grep '^<' <<<"$out" | tail -2)"
  # receipts that settle our recipients: bob's presa in carico (same provider) was recorded when sent
  n=$("$H_PECCTL" log search --db "$PEC_TEST_DB" --json | grep -c '"ricezione"')
  [ "$n" -ge 1 ] && h_ok || h_fail "no ricezione event for the buste taken in charge"
  "$H_PECCTL" trace verify --db "$PEC_TEST_DB" >/dev/null 2>&1 && h_ok || h_fail "trace verify"
fi
h_done
