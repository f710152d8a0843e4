#!/usr/bin/env bash
# pec-milter inside a real Postfix: the access point certifies or refuses submissions (the acceptance
# goes out only through the marker delivery, i.e. after the queue commit), the reception point accepts
# valid buste with a presa in carico and refuses what is not PEC.  Everything emitted is checked with
# openssl and xmllint.
. "$(dirname "$0")/../harness/lib.sh"
need_tools postfix swaks dovecot
need_root "private Postfix instances"
DTD=$PEC_SHARED_DIR/spec/daticert.dtd
SAMPLES=$PEC_SHARED_DIR/samples/real

# --- a provider: test PKI, index, mailboxes, configuration --------------------------------------------
h_example_provider "/usr/sbin/sendmail -C $T_TMP/postfix-a/etc" "quarantine_dir = $T_TMP/quarantine
clamd_socket = $T_TMP/clamd-a/clamd.sock" || bail "pecctl example"
h_index_add_aruba
printf 'alice@%s\nbob@%s\nolga@%s ordinary\n' $D $D $D > "$T_TMP/mailboxes"
printf 'alice@%s:{PLAIN}secret\n' $D > "$T_TMP/users"
mkdir -p "$T_TMP/quarantine"
read -r SUB MX MA MR AUTH EM LOCAL REMOTE <<<"$(free_ports 8)"
# our daemons on unix sockets, as `pecctl setup postfix` prints them
h_pec_run
MAS=$H_RUN/access.sock MRS=$H_RUN/reception.sock EMS=$H_RUN/emitter.sock
# the trace store, when the test runs under tests/db/pg_harness.sh
if [ -n "${PEC_TEST_DB:-}" ]; then
  echo "database = $PEC_TEST_DB" >> "$T_TMP/provider.conf"
  "$PECCTL" db migrate --db "$PEC_TEST_DB" >/dev/null || fail "migrate"
  # the milter then looks the index up in the copy imported into the trace store, not in a file
  "$PECCTL" index import --db "$PEC_TEST_DB" "$PKI/index.ldif" >/dev/null || fail "index import"
  sed -i '/^index_file = /d' "$T_TMP/provider.conf"
else
  echo "allow_untraced = yes" >> "$T_TMP/provider.conf"
fi

h_dovecot_auth a "$AUTH" "$T_TMP/users" || bail "dovecot auth did not start"
h_clamd a || bail "clamd did not start"
h_sink local "$LOCAL" lmtp
h_sink remote "$REMOTE"
h_bg emitter "$H_EMITTER" -c "$T_TMP/provider.conf" -l unix:"$EMS" -g postfix
h_bg milter-access "$H_MILTER" -c "$T_TMP/provider.conf" -r access -s unix:"$MAS" -g postfix
h_bg milter-reception "$H_MILTER" -c "$T_TMP/provider.conf" -r reception -s unix:"$MRS" -g postfix
wait_socket "$EMS" 10 && wait_socket "$MAS" 10 && wait_socket "$MRS" 10 || { cat "$T_TMP"/*.log >&2; bail "our daemons did not start"; }
HP_DOMAIN=$D HP_SUBMIT=$SUB HP_MX=$MX HP_MILTER_ACCESS=$MAS HP_MILTER_RECEPTION=$MRS HP_AUTH=$AUTH \
HP_TRANSPORT="$D lmtp:inet:127.0.0.1:$LOCAL
outbox.pec.invalid lmtp:unix:$EMS
pec-remoto.test smtp:[127.0.0.1]:$REMOTE
pec.aruba.it smtp:[127.0.0.1]:$REMOTE
pec.it smtp:[127.0.0.1]:$REMOTE" h_postfix a || bail "postfix did not start"

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
    check "$(basename "$f"): openssl smime -verify" openssl smime -verify -in "$f" -CAfile "$PKI/ca.pem" -out /dev/null
    if python3 "$PEC_SRC_DIR/tests/sh/mimepart.py" "$f" daticert.xml > "$f.xml"; then
      [ -f "$DTD" ] && check "$(basename "$f"): daticert DTD-valid" xmllint --noout --dtdvalid "$DTD" "$f.xml"
    fi
  done
  [ "$n" -gt 0 ] && ok || fail "nothing captured in $1"
}

# --- access point: an accepted submission -------------------------------------------------------------
out=$(submit --from alice@$D --to bob@$D,carol@pec-remoto.test \
      --header "To: bob@$D" --header "Cc: carol@pec-remoto.test" --header "Subject: Contratto" \
      --header "Message-Id: <sub-1@client.test>" --body "Testo del contratto.")
grep -q "^<- *250 .*queued" <<<"$out" && ok || fail "submission not accepted: $out"
wait_count "h_sink_count local" 3 30 || fail "busta for bob, accettazione for alice and our own presa in carico not all delivered locally"
wait_count "h_sink_count remote" 1 30 || fail "busta for carol not relayed"
h_sink_messages local "$T_TMP/got-local"
h_sink_messages remote "$T_TMP/got-remote"
verify_all "$T_TMP/got-local"
verify_all "$T_TMP/got-remote"
acc=$(grep -l "^X-Ricevuta: accettazione" "$T_TMP"/got-local/*.eml | head -1)
busta=$(grep -l "^X-Trasporto: posta-certificata" "$T_TMP"/got-remote/*.eml | head -1)
[ -n "$acc" ] && ok || fail "no accettazione delivered"
[ -n "$busta" ] && ok || fail "no busta relayed"
if [ -n "$acc" ] && [ -n "$busta" ]; then
  id=$(grep -m1 -i "^Message-ID:" "$busta" | sed 's/.*<\(.*\)>.*/\1/')
  grep -q "$id" "$acc.xml" && ok || fail "accettazione does not name the busta's identificativo $id"
  grep -q "^X-Riferimento-Message-ID: <sub-1@client.test>" "$busta" && ok || fail "busta lost the client's Message-ID"
  grep -q "alice@$D" "${acc%.eml}.rcpt" && ok || fail "accettazione not addressed to alice"
  grep -q '<destinatari tipo="esterno">carol@pec-remoto.test' "$acc.xml" && ok || fail "pec-remoto.test is not in the index: carol must be esterno"
fi
grep -q "outbox.pec.invalid" "$T_TMP"/got-*/*.rcpt && fail "a marker recipient leaked to a mailbox" || ok
# same provider (RFC 6109 §3.4): bob is ours, so our reception point owed a presa in carico listing him
pic=$(grep -l "^X-Ricevuta: presa-in-carico" "$T_TMP"/got-local/*.eml | head -1)
[ -n "$pic" ] && grep -q "<ricezione>bob@$D</ricezione>" "$pic.xml" && ! grep -q "carol@" <(grep ricezione "$pic.xml") &&
  ok || fail "no presa in carico for the same-provider recipient bob"
[ -z "$(ls "$T_TMP/outbox" | grep -v '^done$')" ] && ok || fail "outbox entries left unsent: $(ls "$T_TMP/outbox")"
h_postfix_log a | grep -q "to=<[0-9a-f]*@outbox.pec.invalid>.*status=sent" && ok || fail "no marker delivery in the Postfix log"

# the trace: the certification was recorded before the milter answered, the accettazione once sent
if [ -n "${PEC_TEST_DB:-}" ] && [ -n "${id:-}" ]; then
  log=$("$PECCTL" log search --db "$PEC_TEST_DB" --id "$id" --json 2>&1)
  grep -q '"busta-trasporto"' <<<"$log" && ok || fail "no busta-trasporto event for $id: $log"
  wait_count "\"$PECCTL\" log search --db \"$PEC_TEST_DB\" --id \"$id\" --json | grep -c '\"accettazione\"'" 1 10 &&
    ok || fail "no accettazione event for $id"
  ext=$("$PECCTL" log extract --db "$PEC_TEST_DB" "$id" 2>&1)
  grep -q "carol@pec-remoto.test" <<<"$ext" && grep -q "bob@$D" <<<"$ext" && ok || fail "log extract lacks the recipients: $ext"
fi

# --- same provider, unknown mailbox: accepted, and an avviso di mancata consegna (no-dest), no bounce ---
before=$(h_sink_count local)
out=$(submit --from alice@$D --to zed@$D --header "To: zed@$D" --header "Subject: a nessuno")
grep -q "^<- *250 .*queued" <<<"$out" && ok || fail "submission to an unknown local mailbox refused: $out"
wait_count "h_sink_count local" $((before + 2)) 30 || fail "accettazione and avviso no-dest not both delivered"
f=$(grep -l "^X-Ricevuta: errore-consegna" $(ls -t "$T_TMP"/sink-local/* | head -2) | head -1)
[ -n "$f" ] && ok || fail "no avviso di mancata consegna for zed"
h_postfix_log a | grep -q "to=<zed@$D>" && fail "the busta was still delivered to zed (a bounce would follow)" || ok

# --- access point: each refusal gives a 5xx naming the check and a signed avviso to alice ---------------
before=$(h_sink_count local)
refuse() {
  local check=$1; shift
  local out; out=$(submit "$@")
  grep -q "^<\** *5[0-9][0-9] .*($check)" <<<"$out" && ok || fail "check $check: expected a 5xx naming it: $(grep '^<' <<<"$out" | tail -2)"
}
refuse sender --from mallory@$D --to bob@$D --header "From: mallory@$D" --header "To: bob@$D"
refuse from --from alice@$D --to bob@$D --header "From: mallory@$D" --header "To: bob@$D"
refuse rcpt --from alice@$D --to bob@$D --header "To: bob@$D, olga@$D"
# Postfix drops Bcc: headers before the milter sees them; a Bcc recipient still shows as an extra RCPT
refuse 'rcpt\|bcc' --from alice@$D --to bob@$D,spy@pec-remoto.test --header "To: bob@$D" --header "Bcc: spy@pec-remoto.test"
refuse syntax --from alice@$D --to bob@$D --header "To: bob@$D" --header "Message-ID: <dup@client.test>"
wait_count "h_sink_count local" $((before + 5)) 30 && ok || fail "not every refusal produced an avviso di non accettazione"
rm -rf "$T_TMP/got-local"; h_sink_messages local "$T_TMP/got-local"
n=$(grep -l "^X-Ricevuta: non-accettazione" "$T_TMP"/got-local/*.eml | wc -l)
[ "$n" -eq 5 ] && ok || fail "expected 5 avvisi di non accettazione, got $n"
verify_all "$T_TMP/got-local"

# --- reception point ----------------------------------------------------------------------------------
mx() { swaks --server 127.0.0.1:"$MX" --helo other.test --timeout 30 "$@" 2>&1; }
if [ -f "$SAMPLES/aruba-2014/busta-trasporto-1.eml" ]; then
  # fail closed: Aruba is in the index, but its CA (DigitPA / AgID) is not among our trust anchors
  out=$(mx --from sender@pec.it --to bob@$D --data @"$SAMPLES/aruba-2014/busta-trasporto-1.eml")
  grep -q "^<\** *554 " <<<"$out" && ok || fail "real Aruba busta with an untrusted CA not refused: $(grep '^<' <<<"$out" | tail -2)"
  out=$(mx --from x@pec.it --to bob@$D --data @"$SAMPLES/sogei-2018-edited/busta-invio-file.eml")
  grep -q "^<\** *554 " <<<"$out" && ok || fail "tampered Sogei busta not refused: $(grep '^<' <<<"$out" | tail -2)"
fi
# a busta of a trusted provider for bob and for zed (no such mailbox): bob gets it, the signer's
# mailReceipt the presa in carico listing bob alone, the sender an avviso (no-dest) for zed.  The sender
# is one of the signer's users (a busta certifies only those: the signer is this provider, so carl@$D)
printf 'From: carl@%s\r\nTo: bob@%s, zed@%s\r\nSubject: per bob\r\nDate: %s\r\nMessage-ID: <r1@client.test>\r\n\r\nciao\r\n' \
  $D $D $D "$(date -R)" > "$T_TMP/for-bob.eml"
"$PEC_BUILD_DIR/tests/make-busta" "$T_TMP/provider.conf" "$T_TMP/for-bob.eml" > "$T_TMP/for-bob-busta.eml" || fail "make-busta"
local_before=$(h_sink_count local)
out=$(mx --from carl@$D --to bob@$D,zed@$D --data @"$T_TMP/for-bob-busta.eml")
grep -q "^<- *250 .*queued" <<<"$out" && ok || fail "trusted busta not accepted: $(grep '^<' <<<"$out" | tail -2)"
wait_count "h_sink_count local" $((local_before + 3)) 30 || fail "busta for bob, presa in carico and no-dest avviso not all delivered"
rm -rf "$T_TMP/got-local"
h_sink_messages local "$T_TMP/got-local"
verify_all "$T_TMP/got-local"
bid=$(sed -n 's/^Message-ID: *<\(.*\)>\r*$/\1/Ip' "$T_TMP/for-bob-busta.eml" | head -1)
pic=$(grep -l "<identificativo>$bid</identificativo>" $(grep -l "^X-Ricevuta: presa-in-carico" "$T_TMP"/got-local/*.eml | sed 's/$/.xml/') 2>/dev/null | head -1)
pic=${pic%.xml}
[ -n "$pic" ] && grep -q "<ricezione>bob@$D</ricezione>" "$pic.xml" 2>/dev/null && ok || fail "presa in carico does not list bob"
[ -n "$pic" ] && grep -q "<ricezione>zed@$D" "$pic.xml" && fail "presa in carico lists the unknown zed" || ok
nodest=$(grep -l "^X-Ricevuta: errore-consegna" "$T_TMP"/got-local/*.eml | head -1)
[ -n "$nodest" ] && grep -q 'errore="no-dest"' "$nodest.xml" && ok || fail "no avviso di mancata consegna (no-dest) for zed"
out=$(mx --from someone@example.net --to bob@$D --header "Subject: ordinaria" --body "ciao")
grep -q "^<\** *554 .*non certificata" <<<"$out" && ok || fail "ordinary mail to a PEC-only mailbox not refused"
before=$(h_sink_count local)
out=$(mx --from someone@example.net --to olga@$D --header "Subject: ordinaria" --header "X-PEC-Anomalia: forged" --body "ciao")
grep -q "^<- *250 .*queued" <<<"$out" && ok || fail "ordinary mail to olga (accepts ordinary) refused"
wait_count "h_sink_count local" $((before + 1)) 30 || fail "ordinary mail for olga not delivered"
f=$(ls -t "$T_TMP"/sink-local/* | head -1)
n=$(grep -c "^X-PEC-Anomalia:" "$f")
[ "$n" -eq 1 ] && ! grep -q "^X-PEC-Anomalia: forged" "$f" && ok || fail "anomaly mark missing or forged one kept ($n)"

# --- viruses (real clamd, EICAR test signature) -------------------------------------------------------
h_eicar > "$T_TMP/eicar.com"
before=$(h_sink_count local)
out=$(submit --from alice@$D --to bob@$D --header "To: bob@$D" --header "Subject: allegato" --attach @"$T_TMP/eicar.com")
grep -q "^<\** *554 5.7.0 .*(virus).*Eicar-Test-Signature" <<<"$out" && ok || fail "virus at the access point not refused: $(grep '^<' <<<"$out" | tail -2)"
wait_count "h_sink_count local" $((before + 1)) 30 || fail "no avviso for the virus"
f=$(ls -t "$T_TMP"/sink-local/* | head -1)
grep -q "^X-VerificaSicurezza: errore" "$f" && grep -q "^X-Ricevuta: non-accettazione" "$f" && ok || fail "the avviso is not a non-accettazione per virus"
ls "$T_TMP"/quarantine/*.eml >/dev/null 2>&1 && ok || fail "infected submission not quarantined"
# a valid busta carrying a virus: presa in carico and rilevazione virus to the sender's provider, not delivered
printf 'From: alice@%s\r\nTo: bob@%s\r\nSubject: fattura\r\nDate: %s\r\nMessage-ID: <v1@client.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nin allegato\r\n--b\r\nContent-Type: application/octet-stream; name="f.com"\r\nContent-Disposition: attachment; filename="f.com"\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n--b--\r\n' \
  $D $D "$(date -R)" "$(base64 -w0 < "$T_TMP/eicar.com")" > "$T_TMP/infected.eml"
"$PEC_BUILD_DIR/tests/make-busta" "$T_TMP/provider.conf" "$T_TMP/infected.eml" > "$T_TMP/infected-busta.eml" || fail "make-busta"
quarantined=$(ls "$T_TMP"/quarantine | wc -l)
before=$(h_sink_count local)
out=$(mx --from alice@$D --to bob@$D --data @"$T_TMP/infected-busta.eml")
grep -q "^<- *250 .*queued" <<<"$out" && ok || fail "infected busta not taken in charge: $(grep '^<' <<<"$out" | tail -2)"
wait_count "h_sink_count local" $((before + 3)) 30 || fail "presa in carico, rilevazione virus and mancata consegna per virus not all sent"
rm -rf "$T_TMP/got-virus"; mkdir -p "$T_TMP/got-virus"
for f in $(ls -t "$T_TMP"/sink-local/* | head -3); do python3 "$PEC_SRC_DIR/tests/harness/sinkmsg.py" "$f" > "$T_TMP/got-virus/$(basename "$f").eml"; done
grep -l "^X-Ricevuta: rilevazione-virus" "$T_TMP"/got-virus/*.eml >/dev/null && ok || fail "no rilevazione virus"
grep -l "^X-Ricevuta: presa-in-carico" "$T_TMP"/got-virus/*.eml >/dev/null && ok || fail "no presa in carico for the infected busta"
grep -l "^Subject: AVVISO DI MANCATA CONSEGNA PER VIRUS: fattura" "$T_TMP"/got-virus/*.eml >/dev/null && ok ||
  fail "no avviso di mancata consegna per virus to our own sender"
grep -l "^Subject: POSTA CERTIFICATA: fattura" "$T_TMP"/sink-local/* >/dev/null && fail "the infected busta reached bob" || ok
verify_all "$T_TMP/got-virus"
wait_count "ls $T_TMP/quarantine | wc -l" $((quarantined + 1)) 10 && ok || fail "infected busta not quarantined"

# --- the trace store down: certify nothing, answer 4xx; back up: work again without a restart ----------
if [ -n "${PEC_TEST_DB:-}" ]; then
  $PEC_TEST_PGCTL stop
  out=$(submit --from alice@$D --to bob@$D --header "To: bob@$D" --header "Subject: db giu")
  grep -q "^<\** *451 " <<<"$out" && ok || fail "database down: expected 451: $(grep '^<' <<<"$out" | tail -2)"
  $PEC_TEST_PGCTL start
  out=$(submit --from alice@$D --to bob@$D --header "To: bob@$D" --header "Subject: db su")
  grep -q "^<- *250 .*queued" <<<"$out" && ok || fail "database back: not accepted: $(grep '^<' <<<"$out" | tail -2)"
  # receipts that settle our recipients: bob's presa in carico (same provider) was recorded when sent
  n=$("$PECCTL" log search --db "$PEC_TEST_DB" --json | grep -c '"ricezione"')
  [ "$n" -ge 1 ] && ok || fail "no ricezione event for the buste taken in charge"
  "$PECCTL" trace verify --db "$PEC_TEST_DB" >/dev/null 2>&1 && ok || fail "trace verify"
fi
done_tests
