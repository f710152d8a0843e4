#!/usr/bin/env bash
# test_lmtp_delivery.sh - the delivery point in a real, private Dovecot 2.3 LMTP (label lmtp).
#
# Dovecot loads lib95_pec_plugin.so from the build dir; receipts are submitted to a Postfix smtp-sink
# capturing every transaction; messages are injected with swaks over LMTP.  Every message the plugin
# emits must pass `openssl smime -verify` against the test CA and its daticert.xml `xmllint --dtdvalid`.
. "$(dirname "$0")/dovecot-env.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
DTD=$PEC_SHARED_DIR/spec/daticert.dtd
MIMEPART=$PEC_SRC_DIR/tests/sh/mimepart.py

need_tools openssl xmllint
dc_require
[ -f "$DTD" ] || bail "no DTD at $DTD"

trap 'exit 1' INT TERM HUP

# ---- PKI, index and the provider configuration ----
# no trace store in this test: the opt-out says so (the plugin answers 4xx to everything otherwise)
dc_example_provider "$T_TMP" "allow_untraced = yes" || bail "pecctl example failed"
CA=$PKI/ca.pem

# ---- the private Dovecot ----
DC_PLUGINS=pec
HAVE_SIEVE=
if [ -f /usr/lib/dovecot/modules/lib90_sieve_plugin.so ]; then
  HAVE_SIEVE=1
  DC_PLUGINS="sieve pec"
fi
U=65534:65534
DC_USERS="bob@pec-esempio.test::$U::::
carol@pec-remoto.test::$U::::
dave@example.org::$U::::userdb_pec_notify=dave-avvisi@example.org
piena@pec-esempio.test::$U::::$(h_dovecot_quota_field 1k)
spenta@pec-esempio.test::$U::::userdb_pec_mailbox_disabled=yes
aperta@pec-esempio.test::$U::::userdb_pec_accept_ordinary=yes
rotta@pec-esempio.test::$U::::userdb_pec_config=$T_TMP/missing.conf
filtro@pec-esempio.test::$U::::userdb_pec_accept_ordinary=yes"
dc_setup
dc_start || bail "the private Dovecot did not start"

# ---- helpers (inject, maildir_count, maildir_grep: dovecot-env.sh) ----
mkdir -p "$T_TMP/out"

# sink_new COUNT: wait (bounded) for COUNT new captured transactions, split them (sinksplit.py);
# NEW = one line per new message: path, envelope sender, recipients, X-Ricevuta, To, Content-Type
sink_new() {
  dc_sink_fresh "$1"
  NEW=()
  [ ${#DC_FRESH[@]} -eq 0 ] || mapfile -t NEW < <(python3 "$HERE/sinksplit.py" "$T_TMP/out" "${DC_FRESH[@]}")
}

# use_msg LINE: EML, DATICERT, POSTACERT, ENV_FROM, ENV_RCPT, XRIC, TO, CTYPE of one NEW line
use_msg() {
  local path
  IFS=$'\x1f' read -r path ENV_FROM ENV_RCPT XRIC TO CTYPE <<<"$1"
  EML=$path.eml
  DATICERT=$path.daticert.xml
  POSTACERT=$path.postacert.eml
}

# pick FIELD REGEX: use the first NEW message whose X-Ricevuta (FIELD ricevuta) or To (FIELD to) matches
pick() {
  local line
  for line in "${NEW[@]}"; do
    use_msg "$line"
    case $1 in ricevuta) [[ $XRIC =~ $2 ]] && return 0 ;; to) [[ $TO =~ $2 ]] && return 0 ;; esac
  done
  EML=/dev/null DATICERT=/dev/null POSTACERT=/dev/null
  return 1
}

# check_signed_receipt LABEL: EML verifies (openssl, test CA) and its daticert.xml is DTD-valid
check_signed_receipt() {
  check "$1: openssl smime -verify" openssl smime -verify -in "$EML" -CAfile "$CA" -out /dev/null
  if [ -s "$DATICERT" ]; then
    cp "$DATICERT" "$T_TMP/daticert.xml"
    check "$1: daticert.xml xmllint --dtdvalid" xmllint --noout --dtdvalid "$DTD" "$T_TMP/daticert.xml"
  else
    : > "$T_TMP/daticert.xml"
    fail "$1: no daticert.xml"
  fi
}

# xml_has REGEX: the last extracted daticert.xml matches
xml_has() { grep -qE "$1" "$T_TMP/daticert.xml"; }

# maildir_newest USER: path of the newest stored message
maildir_newest() {
  ls -t "$DC_DIR/home/$1/Maildir/new/"* "$DC_DIR/home/$1/Maildir/cur/"* 2>/dev/null | head -1
}
# crlf IN OUT: a stored (LF) message with CRLF line ends
crlf() { python3 -c 'import sys; d=open(sys.argv[1],"rb").read().replace(b"\r\n",b"\n"); open(sys.argv[2],"wb").write(d.replace(b"\n",b"\r\n"))' "$1" "$2"; }
# is_suffix SMALL BIG: SMALL (CRLF or LF) is the tail of BIG (LF), i.e. stored unmodified after the
# headers LMTP prepends (trailing empty lines aside: swaks ends the data with one more line break)
is_suffix() { python3 -c 'import sys; a=open(sys.argv[1],"rb").read().replace(b"\r\n",b"\n").rstrip(b"\n"); b=open(sys.argv[2],"rb").read().rstrip(b"\n"); sys.exit(0 if b.endswith(a) and len(b) > len(a) else 1)' "$1" "$2"; }

ALICE=alice@pec-esempio.test
BUSTA=$PKI/busta-trasporto.eml
BUSTA_ID=$(sed -n 's/^Message-ID: *<\(.*\)>\r*$/\1/Ip' "$BUSTA" | head -1)

# ==== 1. valid busta, recipient in To: stored unmodified, avvenuta consegna completa to the sender ====
inject "$ALICE" bob@pec-esempio.test "$BUSTA"
[ "$REPLIES" = 250 ] && ok || fail "To: LMTP replies '$REPLIES' (want 250)"
[ "$(maildir_count bob@pec-esempio.test)" -eq 1 ] && ok || fail "To: bob has $(maildir_count bob@pec-esempio.test) messages"
check "To: busta stored unmodified" is_suffix "$BUSTA" "$(maildir_newest bob@pec-esempio.test)"
crlf "$(maildir_newest bob@pec-esempio.test)" "$T_TMP/stored.eml"
check "To: stored busta still verifies" openssl smime -verify -in "$T_TMP/stored.eml" -CAfile "$CA" -out /dev/null
sink_new 1
[ ${#NEW[@]} -eq 1 ] && ok || fail "To: ${#NEW[@]} messages emitted (want 1)"
if pick ricevuta '^avvenuta-consegna$'; then
  ok
  [ "$ENV_RCPT" = "$ALICE" ] && ok || fail "completa: envelope recipient '$ENV_RCPT'"
  [ "$ENV_FROM" = posta-certificata@pec-esempio.test ] && ok || fail "completa: envelope sender '$ENV_FROM'"
  check_signed_receipt completa
  xml_has 'tipo="avvenuta-consegna"' && ok || fail "completa: daticert tipo"
  xml_has '<ricevuta tipo="completa"' && ok || fail "completa: daticert ricevuta tipo"
  xml_has '<consegna>bob@pec-esempio.test</consegna>' && ok || fail "completa: daticert consegna"
  xml_has "<identificativo>$BUSTA_ID</identificativo>" && ok || fail "completa: identificativo"
  check "completa: carries postacert.eml" test -s "$POSTACERT"
  check "completa: attachment kept whole" python3 "$MIMEPART" "$POSTACERT" contratto.pdf
else
  fail "To: no avvenuta consegna captured"
fi

# ==== 2. the same busta again (LMTP retry, duplicate relay): one copy, one receipt ====
inject "$ALICE" bob@pec-esempio.test "$BUSTA"
[ "$REPLIES" = 250 ] && ok || fail "replay: LMTP replies '$REPLIES' (want 250)"
[ "$(maildir_count bob@pec-esempio.test)" -eq 1 ] && ok || fail "replay: bob has $(maildir_count bob@pec-esempio.test) copies"
sink_new 0
[ ${#NEW[@]} -eq 0 ] && ok || fail "replay: ${#NEW[@]} more receipts emitted"

# the marks behind that are files in bob's home, not Dovecot's duplicate database
ls "$DC_DIR/home/bob@pec-esempio.test/.pec-marks" 2>/dev/null | grep -q '^pec-stored:' && ok || fail "no stored mark in ~/.pec-marks"
ls "$DC_DIR/home/bob@pec-esempio.test/.pec-marks" 2>/dev/null | grep -q '^pec-receipt:' && ok || fail "no receipt mark in ~/.pec-marks"
[ ! -e "$DC_DIR/home/bob@pec-esempio.test/.dovecot.lda-dupes" ] && ok || fail "Dovecot's duplicate database was written"

# ==== 2b. a receipt handed over twice (re-sent by its sender after a crash, same Message-ID): one copy ====
bob_before=$(maildir_count bob@pec-esempio.test)
inject posta-certificata@pec-esempio.test bob@pec-esempio.test "$PKI/accettazione.eml"
[ "$REPLIES" = 250 ] && ok || fail "receipt: LMTP replies '$REPLIES'"
inject posta-certificata@pec-esempio.test bob@pec-esempio.test "$PKI/accettazione.eml"
[ "$REPLIES" = 250 ] && ok || fail "receipt again: LMTP replies '$REPLIES'"
[ "$(maildir_count bob@pec-esempio.test)" -eq $((bob_before + 1)) ] && ok ||
  fail "receipt delivered twice: $(( $(maildir_count bob@pec-esempio.test) - bob_before )) copies stored"
sink_new 0
[ ${#NEW[@]} -eq 0 ] && ok || fail "a stored receipt emitted ${#NEW[@]} messages"

# ==== 2c. a receipt stored by an attempt killed before its mark, delivered again: one copy ====
# (the kill is simulated: the attempt's "stored" mark is removed, its write-ahead "pending" mark stays,
# so the retry must find the copy in the mailbox by its Message-ID)
bob_before=$(maildir_count bob@pec-esempio.test)
inject posta-certificata@pec-esempio.test bob@pec-esempio.test "$PKI/presa-in-carico.eml"
[ "$REPLIES" = 250 ] && ok || fail "killed receipt: LMTP replies '$REPLIES'"
marks=$DC_DIR/home/bob@pec-esempio.test/.pec-marks
plain=$(ls -t "$marks" | grep '^pec-plain:' | head -1)
pending=$(ls -t "$marks" | grep '^pec-pending:' | head -1)
[ -n "$plain" ] && [ -n "$pending" ] && ok || fail "killed receipt: marks '$plain' '$pending'"
rm -f "$marks/$plain"
inject posta-certificata@pec-esempio.test bob@pec-esempio.test "$PKI/presa-in-carico.eml"
[ "$REPLIES" = 250 ] && ok || fail "killed receipt again: LMTP replies '$REPLIES'"
[ "$(maildir_count bob@pec-esempio.test)" -eq $((bob_before + 1)) ] && ok ||
  fail "killed receipt stored twice: $(( $(maildir_count bob@pec-esempio.test) - bob_before )) copies"
grep -q "stored by an attempt that did not finish" "$DC_DIR/dovecot.log" && ok ||
  fail "killed receipt: the retry did not find the stored copy"
sink_new 0
# killed inside Dovecot's own commit: the file is in new/ but neither the uidlist nor the index has it
bob_before=$(maildir_count bob@pec-esempio.test)
inject posta-certificata@pec-esempio.test bob@pec-esempio.test "$PKI/errore-consegna.eml"
f=$(maildir_newest bob@pec-esempio.test)
rm -f "$marks/$(ls -t "$marks" | grep '^pec-plain:' | head -1)"
mv "$f" "$DC_DIR/held.eml"
doveadm -c "$DC_DIR/dovecot.conf" force-resync -u bob@pec-esempio.test INBOX
mv "$DC_DIR/held.eml" "$DC_DIR/home/bob@pec-esempio.test/Maildir/new/$(basename "$f" | cut -d: -f1)"
inject posta-certificata@pec-esempio.test bob@pec-esempio.test "$PKI/errore-consegna.eml"
[ "$(maildir_count bob@pec-esempio.test)" -eq $((bob_before + 1)) ] && ok ||
  fail "receipt killed inside the commit stored twice: $(( $(maildir_count bob@pec-esempio.test) - bob_before )) copies"
sink_new 0
# the same for a busta: its stored, receipt and sent marks removed, the pending mark written ahead of
# the store kept; the retry finds the copy, stores nothing, and sends the receipt the killed attempt owed
bob_before=$(maildir_count bob@pec-esempio.test)
rm -f "$marks"/pec-stored:* "$marks"/pec-receipt:* "$marks"/pec-sent:*
ls "$marks" | grep -q '^pec-pending:' && ok || fail "killed busta: no pending mark was written ahead"
inject "$ALICE" bob@pec-esempio.test "$BUSTA"
[ "$REPLIES" = 250 ] && ok || fail "killed busta again: LMTP replies '$REPLIES'"
[ "$(maildir_count bob@pec-esempio.test)" -eq "$bob_before" ] && ok ||
  fail "killed busta stored again: $(( $(maildir_count bob@pec-esempio.test) - bob_before )) more copies"
sink_new 1

# ==== 3. recipient in Cc: sintetica ====
inject "$ALICE" carol@pec-remoto.test "$BUSTA"
[ "$REPLIES" = 250 ] && ok || fail "Cc: LMTP replies '$REPLIES'"
sink_new 1
if pick ricevuta '^avvenuta-consegna$'; then
  check_signed_receipt sintetica
  xml_has '<ricevuta tipo="sintetica"' && ok || fail "Cc: daticert ricevuta is not sintetica"
  xml_has '<consegna>carol@pec-remoto.test</consegna>' && ok || fail "Cc: daticert consegna"
  check_not "sintetica: no postacert.eml" test -e "$POSTACERT"
else
  fail "Cc: no avvenuta consegna captured"
fi

# ==== 4. full mailbox: avviso di mancata consegna, LMTP 250 (no ordinary bounce), nothing stored ====
inject "$ALICE" piena@pec-esempio.test "$BUSTA"
[ "$REPLIES" = 250 ] && ok || fail "quota: LMTP replies '$REPLIES' (want 250: no bounce)"
[ "$(maildir_count piena@pec-esempio.test)" -eq 0 ] && ok || fail "quota: something was stored"
sink_new 1
[ ${#NEW[@]} -eq 1 ] && ok || fail "quota: ${#NEW[@]} messages emitted (want only the avviso)"
if pick ricevuta '^errore-consegna$'; then
  [ "$ENV_RCPT" = "$ALICE" ] && ok || fail "quota: avviso sent to '$ENV_RCPT'"
  check_signed_receipt "errore-consegna (quota)"
  xml_has 'tipo="errore-consegna"' && ok || fail "quota: daticert tipo"
  xml_has '<errore-esteso>5\.2\.2 - Gestore Esempio S\.p\.A\. - casella piena</errore-esteso>' && ok ||
    fail "quota: errore-esteso: $(grep -o '<errore-esteso>.*</errore-esteso>' "$T_TMP/daticert.xml")"
  xml_has '<consegna>piena@pec-esempio.test</consegna>' && ok || fail "quota: daticert consegna"
else
  fail "quota: no avviso di mancata consegna captured"
fi

# ==== 5. disabled mailbox: avviso di mancata consegna 5.2.1 ====
inject "$ALICE" spenta@pec-esempio.test "$BUSTA"
[ "$REPLIES" = 250 ] && ok || fail "disabled: LMTP replies '$REPLIES'"
[ "$(maildir_count spenta@pec-esempio.test)" -eq 0 ] && ok || fail "disabled: something was stored"
sink_new 1
if pick ricevuta '^errore-consegna$'; then
  check_signed_receipt "errore-consegna (disabled)"
  xml_has '<errore-esteso>5\.2\.1 - Gestore Esempio S\.p\.A\. - casella disattivata</errore-esteso>' && ok ||
    fail "disabled: errore-esteso"
else
  fail "disabled: no avviso captured"
fi

# ==== 5b. internal failure (configuration unreadable): 4xx with the reason, never an uncertified delivery ====
inject "$ALICE" rotta@pec-esempio.test "$BUSTA"
case "$REPLIES" in 4*) ok ;; *) fail "broken config: LMTP replies '$REPLIES' (want 4xx)" ;; esac
grep -q 'PEC configuration unavailable' "$INJECT_LOG" && ok || fail "broken config: no reason in the reply"
[ "$(maildir_count rotta@pec-esempio.test)" -eq 0 ] && ok || fail "broken config: stored"
sink_new 0
[ ${#NEW[@]} -eq 0 ] && ok || fail "broken config: ${#NEW[@]} messages emitted"

# ==== 6. one transaction, three recipients, three independent results ====
"$PEC_MKBUSTA" "$PKI/provider.pem" "$PKI/provider.key" completa "bob@pec-esempio.test, piena@pec-esempio.test" \
  carol@pec-remoto.test "$T_TMP/busta3.eml" >/dev/null || fail "mkbusta (3 recipients) failed"
bob_before=$(maildir_count bob@pec-esempio.test)
carol_before=$(maildir_count carol@pec-remoto.test)
inject "$ALICE" bob@pec-esempio.test,carol@pec-remoto.test,piena@pec-esempio.test "$T_TMP/busta3.eml"
[ "$REPLIES" = "250 250 250" ] && ok || fail "3 recipients: LMTP replies '$REPLIES'"
[ "$(maildir_count bob@pec-esempio.test)" -eq $((bob_before + 1)) ] && ok || fail "3 recipients: bob copies"
[ "$(maildir_count carol@pec-remoto.test)" -eq $((carol_before + 1)) ] && ok || fail "3 recipients: carol copies"
[ "$(maildir_count piena@pec-esempio.test)" -eq 0 ] && ok || fail "3 recipients: piena stored"
sink_new 3
[ ${#NEW[@]} -eq 3 ] && ok || fail "3 recipients: ${#NEW[@]} messages emitted (want 3)"
declare -A got=()
for line in "${NEW[@]}"; do
  use_msg "$line"
  cp "$DATICERT" "$T_TMP/daticert.xml" 2>/dev/null || : > "$T_TMP/daticert.xml"
  who=$(grep -o '<consegna>[^<]*</consegna>' "$T_TMP/daticert.xml" | sed 's/<[^>]*>//g')
  what=$(grep -o '<ricevuta tipo="[a-z]*"' "$T_TMP/daticert.xml" | sed 's/.*="//; s/"//')
  grep -q 'tipo="errore-consegna"' "$T_TMP/daticert.xml" && what=errore-consegna
  got[$who]=$what
  check_signed_receipt "3 recipients ($who)"
done
[ "${got[bob@pec-esempio.test]:-}" = completa ] && ok || fail "3 recipients: bob got '${got[bob@pec-esempio.test]:-}'"
[ "${got[carol@pec-remoto.test]:-}" = sintetica ] && ok || fail "3 recipients: carol got '${got[carol@pec-remoto.test]:-}'"
[ "${got[piena@pec-esempio.test]:-}" = errore-consegna ] && ok || fail "3 recipients: piena got '${got[piena@pec-esempio.test]:-}'"

# ==== 7. breve: attachments replaced by <name>.hash parts holding their SHA-1 ====
"$PEC_MKBUSTA" "$PKI/provider.pem" "$PKI/provider.key" breve bob@pec-esempio.test carol@pec-remoto.test \
  "$T_TMP/breve.eml" >/dev/null || fail "mkbusta (breve) failed"
inject "$ALICE" bob@pec-esempio.test "$T_TMP/breve.eml"
[ "$REPLIES" = 250 ] && ok || fail "breve: LMTP replies '$REPLIES'"
sink_new 1
if pick ricevuta '^avvenuta-consegna$'; then
  check_signed_receipt breve
  xml_has '<ricevuta tipo="breve"' && ok || fail "breve: daticert ricevuta tipo"
  cp "$POSTACERT" "$T_TMP/breve-postacert.eml" 2>/dev/null || fail "breve: no postacert.eml"
  check_not "breve: the attachment itself is gone" python3 "$MIMEPART" "$T_TMP/breve-postacert.eml" ordine.pdf
  for name in ordine.pdf listino.csv; do
    want=$(python3 "$HERE/attach_sha1.py" "$T_TMP/breve.eml" "$name")
    have=$(python3 "$MIMEPART" "$T_TMP/breve-postacert.eml" "$name.hash" | tr -d '\r\n ')
    if [ -n "$want" ] && [ "$have" = "$want" ]; then ok; else fail "breve: $name.hash is '$have', SHA-1 is '$want'"; fi
  done
else
  fail "breve: no avvenuta consegna captured"
fi

# ==== 8. receipt not submittable: 4xx (retry), then one copy and one receipt ====
new_busta "$T_TMP/retry.eml" bob@pec-esempio.test || fail "mkbusta (retry) failed"
RETRY_ID=$NEW_BUSTA_ID
dc_stop_sink
inject "$ALICE" bob@pec-esempio.test "$T_TMP/retry.eml"
case "$REPLIES" in 4*) ok ;; *) fail "receipt down: LMTP replies '$REPLIES' (want 4xx)" ;; esac
[ "$(maildir_grep bob@pec-esempio.test "$RETRY_ID")" -eq 1 ] && ok || fail "receipt down: the busta is not in the mailbox"
dc_start_sink || fail "smtp-sink did not restart"
sleep 2 # the retry comes later than the save: the receipt must still carry the save time
inject "$ALICE" bob@pec-esempio.test "$T_TMP/retry.eml"
[ "$REPLIES" = 250 ] && ok || fail "retry: LMTP replies '$REPLIES'"
[ "$(maildir_grep bob@pec-esempio.test "$RETRY_ID")" -eq 1 ] && ok ||
  fail "retry: $(maildir_grep bob@pec-esempio.test "$RETRY_ID") stored copies (want 1)"
sink_new 1
[ ${#NEW[@]} -eq 1 ] && ok || fail "retry: ${#NEW[@]} receipts (want 1)"
if pick ricevuta '^avvenuta-consegna$'; then
  check_signed_receipt "retry"
  stored=$(grep -l "$RETRY_ID" "$DC_DIR/home/bob@pec-esempio.test/Maildir/"*/* | head -1)
  # Date of the receipt = the save (maildir file time), not the retry
  if python3 -c 'import sys,os,email.utils as u; h=open(sys.argv[1],"rb").read().split(b"\r\n\r\n")[0].decode();
d=[l for l in h.split("\r\n") if l.lower().startswith("date:")][0][5:]; t=u.parsedate_to_datetime(d.strip()).timestamp();
sys.exit(0 if abs(t-os.stat(sys.argv[2]).st_mtime) <= 1 else 1)' "$EML" "$stored"; then ok; else fail "retry: receipt not dated at the save"; fi
else
  fail "retry: no receipt"
fi

# ==== 9. ordinary mail: refused by default (5xx), wrapped when the mailbox accepts it; in one
# transaction the wrapped copy never reaches the other recipients ====
printf 'From: mallory@example.net\r\nTo: bob@pec-esempio.test, aperta@pec-esempio.test\r\nSubject: Offerta\r\nDate: Mon, 23 Nov 2026 10:05:00 +0100\r\nMessage-ID: <spam-1@example.net>\r\n\r\nPosta ordinaria.\r\n' > "$T_TMP/ordinary.eml"
bob_before=$(maildir_count bob@pec-esempio.test)
inject mallory@example.net bob@pec-esempio.test "$T_TMP/ordinary.eml"
case "$REPLIES" in 5*) ok ;; *) fail "ordinary: LMTP replies '$REPLIES' (want 5xx)" ;; esac
grep -q 'accetta solo posta certificata' "$INJECT_LOG" && ok || fail "ordinary: refusal without a clear reason"
[ "$(maildir_count bob@pec-esempio.test)" -eq "$bob_before" ] && ok || fail "ordinary: stored for bob"
inject mallory@example.net aperta@pec-esempio.test,bob@pec-esempio.test,carol@pec-remoto.test "$T_TMP/ordinary.eml"
set -- $REPLIES
[ "${1:-}" = 250 ] && ok || fail "ordinary (3 rcpts): aperta replied '${1:-}'"
case "${2:-}" in 5*) ok ;; *) fail "ordinary (3 rcpts): bob replied '${2:-}'" ;; esac
case "${3:-}" in 5*) ok ;; *) fail "ordinary (3 rcpts): carol replied '${3:-}'" ;; esac
[ "$(maildir_count bob@pec-esempio.test)" -eq "$bob_before" ] && ok || fail "ordinary: the anomaly leaked to bob"
[ "$(maildir_grep carol@pec-remoto.test 'X-Trasporto: errore')" -eq 0 ] && ok || fail "ordinary: the anomaly leaked to carol"
[ "$(maildir_count aperta@pec-esempio.test)" -eq 1 ] && ok || fail "ordinary: aperta has $(maildir_count aperta@pec-esempio.test)"
stored=$(maildir_newest aperta@pec-esempio.test)
grep -q '^X-Trasporto: errore' "$stored" && ok || fail "ordinary: stored message is not X-Trasporto: errore"
grep -q '^Subject: ANOMALIA MESSAGGIO: Offerta' "$stored" && ok || fail "ordinary: anomaly subject"
crlf "$stored" "$T_TMP/anomaly.eml"
check "anomaly: openssl smime -verify" openssl smime -verify -in "$T_TMP/anomaly.eml" -CAfile "$CA" -out /dev/null
check_not "anomaly: no daticert.xml" python3 "$MIMEPART" "$T_TMP/anomaly.eml" daticert.xml
sink_new 0
[ ${#NEW[@]} -eq 0 ] && ok || fail "ordinary: ${#NEW[@]} messages emitted (want none)"

# ==== 10. forged X-Trasporto without a valid signature: refused, or wrapped as an anomaly ====
printf 'From: "Per conto di: alice@pec-esempio.test" <posta-certificata@pec-esempio.test>\r\nTo: bob@pec-esempio.test\r\nSubject: POSTA CERTIFICATA: falso\r\nX-Trasporto: posta-certificata\r\nX-Riferimento-Message-ID: <x@y>\r\nDate: Mon, 23 Nov 2026 10:05:00 +0100\r\nMessage-ID: <forged-1@example.net>\r\n\r\nNessuna firma.\r\n' > "$T_TMP/forged.eml"
inject alice@pec-esempio.test bob@pec-esempio.test "$T_TMP/forged.eml"
case "$REPLIES" in 5*) ok ;; *) fail "forged: LMTP replies '$REPLIES' (want 5xx)" ;; esac
inject alice@pec-esempio.test aperta@pec-esempio.test "$T_TMP/forged.eml"
[ "$REPLIES" = 250 ] && ok || fail "forged to aperta: LMTP replies '$REPLIES'"
[ "$(maildir_grep aperta@pec-esempio.test '^Subject: ANOMALIA MESSAGGIO: POSTA CERTIFICATA: falso')" -eq 1 ] && ok ||
  fail "forged: not wrapped for aperta"
# a real busta with one byte changed: the signature fails
python3 "$PEC_SRC_DIR/tests/sh/flipbyte.py" "$BUSTA" "$T_TMP/tampered.eml"
inject "$ALICE" dave@example.org "$T_TMP/tampered.eml"
case "$REPLIES" in 5*) ok ;; *) fail "tampered busta: LMTP replies '$REPLIES' (want 5xx)" ;; esac
[ "$(maildir_count dave@example.org)" -eq 0 ] && ok || fail "tampered busta stored"
sink_new 0
[ ${#NEW[@]} -eq 0 ] && ok || fail "forged: ${#NEW[@]} messages emitted (want none)"

# ==== 11. optional notification of a new PEC to an ordinary address ====
inject "$ALICE" dave@example.org "$BUSTA"
[ "$REPLIES" = 250 ] && ok || fail "notify: LMTP replies '$REPLIES'"
sink_new 2
[ ${#NEW[@]} -eq 2 ] && ok || fail "notify: ${#NEW[@]} messages (want receipt + notification)"
if pick to 'dave-avvisi@example.org'; then
  [ "$ENV_FROM" = "<>" ] && ok || fail "notification: envelope sender '$ENV_FROM' (want <>)"
  [ "$ENV_RCPT" = dave-avvisi@example.org ] && ok || fail "notification: envelope recipient '$ENV_RCPT'"
  [[ $CTYPE == text/plain* ]] && ok || fail "notification: Content-Type '$CTYPE'"
  grep -q 'JVBERi0' "$EML" && fail "notification: carries the attachment" || ok
else
  fail "notify: no notification captured"
fi
pick ricevuta '^avvenuta-consegna$' && check_signed_receipt "notify: receipt" || fail "notify: no receipt"

# ==== 12. dovecot-lda: the same plugin; an unreadable key is a temporary failure, never a delivery ====
# (a key the group or others can read is one too: the configuration check refuses it)
LDA=/usr/lib/dovecot/dovecot-lda
"$PEC_MKBUSTA" "$PKI/provider.pem" "$PKI/provider.key" completa carol@pec-remoto.test "" \
  "$T_TMP/lda.eml" >/dev/null || fail "mkbusta (lda) failed"
carol_before=$(maildir_count carol@pec-remoto.test)
"$LDA" -c "$DC_DIR/dovecot.conf" -d carol@pec-remoto.test -f "$ALICE" < "$T_TMP/lda.eml" >/dev/null 2>&1
rc=$?
[ $rc -eq 75 ] && ok || fail "lda, key unreadable by the mail user: exit $rc (want 75 EX_TEMPFAIL)"
[ "$(maildir_count carol@pec-remoto.test)" -eq "$carol_before" ] && ok || fail "lda: stored without a usable key"
# dovecot-lda runs as the mail user: the key must be that user's alone (a key others can read is refused)
chown nobody "$PKI/provider.key"
"$LDA" -c "$DC_DIR/dovecot.conf" -d carol@pec-remoto.test -f "$ALICE" < "$T_TMP/lda.eml" >/dev/null 2>&1
rc=$?
[ $rc -eq 0 ] && ok || fail "lda: busta exit $rc"
[ "$(maildir_count carol@pec-remoto.test)" -eq $((carol_before + 1)) ] && ok || fail "lda: busta not stored"
sink_new 1
if pick ricevuta '^avvenuta-consegna$'; then
  check_signed_receipt "lda"
  xml_has '<ricevuta tipo="completa"' && ok || fail "lda: not completa"
else
  fail "lda: no receipt"
fi
"$LDA" -c "$DC_DIR/dovecot.conf" -e -d carol@pec-remoto.test -f mallory@example.net < "$T_TMP/ordinary.eml" \
  >/dev/null 2>"$T_TMP/lda.err"
rc=$?
[ $rc -eq 77 ] && ok || fail "lda: ordinary mail exit $rc (want 77 EX_NOPERM)"
grep -q 'accetta solo posta certificata' "$T_TMP/lda.err" && ok || fail "lda: refusal reason: $(cat "$T_TMP/lda.err")"
[ "$(maildir_count carol@pec-remoto.test)" -eq $((carol_before + 1)) ] && ok || fail "lda: ordinary mail stored"

# ==== 13. Sieve (Pigeonhole) runs under the plugin: its fileinto stores, the plugin receipts ====
if [ -n "$HAVE_SIEVE" ]; then
  FH=$DC_DIR/home/filtro@pec-esempio.test
  mkdir -p "$FH"
  printf 'require "fileinto";\nfileinto "PEC";\n' > "$FH/.dovecot.sieve"
  chown -R nobody:nogroup "$FH"
  inject "$ALICE" filtro@pec-esempio.test "$BUSTA"
  [ "$REPLIES" = 250 ] && ok || fail "sieve: LMTP replies '$REPLIES'"
  n_pec=$(find "$FH/Maildir/.PEC/new" "$FH/Maildir/.PEC/cur" -type f 2>/dev/null | wc -l)
  [ "$n_pec" -eq 1 ] && [ "$(maildir_count filtro@pec-esempio.test)" -eq 0 ] && ok ||
    fail "sieve: fileinto PEC not applied ($n_pec in PEC, $(maildir_count filtro@pec-esempio.test) in INBOX)"
  sink_new 1
  if pick ricevuta '^avvenuta-consegna$'; then
    check_signed_receipt "sieve"
    xml_has '<consegna>filtro@pec-esempio.test</consegna>' && ok || fail "sieve: daticert consegna"
  else
    fail "sieve: no avvenuta consegna"
  fi
  inject mallory@example.net filtro@pec-esempio.test "$T_TMP/ordinary.eml"
  [ "$REPLIES" = 250 ] && ok || fail "sieve, ordinary: LMTP replies '$REPLIES'"
  grep -l '^X-Trasporto: errore' "$FH/Maildir/.PEC/new/"* >/dev/null 2>&1 && ok ||
    fail "sieve: the busta di anomalia did not go through the script"
  sink_new 0
else
  echo "note: dovecot-sieve not installed, the Sieve section is skipped"
fi

# ==== 14. fail closed: without trust anchors the plugin certifies nothing (4xx with the reason) ====
# (from here on a configuration that cannot load is intended: Dovecot 2.4 starts an lmtp per connection)
LOG_BEFORE_LOOSE=$(wc -l < "$DC_DIR/dovecot.log")
cp "$DC_PEC_CONF" "$T_TMP/provider.conf.strict"
sed -i '/^trust_file = /d' "$DC_PEC_CONF"
new_busta "$T_TMP/loose.eml" bob@pec-esempio.test || fail "mkbusta (loose) failed"
bob_before=$(maildir_count bob@pec-esempio.test)
inject "$ALICE" bob@pec-esempio.test "$T_TMP/loose.eml"
case "$REPLIES" in 4*) ok ;; *) fail "no trust anchors: LMTP replies '$REPLIES' (want 4xx)" ;; esac
grep -q 'trust_file (the providers.* CA) is required' "$INJECT_LOG" && ok || fail "no trust anchors: reply without the reason"
[ "$(maildir_count bob@pec-esempio.test)" -eq "$bob_before" ] && ok || fail "no trust anchors: the busta was stored"
sink_new 0
cp "$T_TMP/provider.conf.strict" "$DC_PEC_CONF"
inject "$ALICE" bob@pec-esempio.test "$T_TMP/loose.eml"
[ "$REPLIES" = 250 ] && ok || fail "trust anchors back: LMTP replies '$REPLIES'"
sink_new 1

# ==== the log: one line per decision with the identificativo; trace lines; no crash ====
sleep 0.2
grep -q "pec: identificativo=$BUSTA_ID action=store-certified" "$DC_DIR/dovecot.log" && ok || fail "log: no decision line"
grep -q "pec-trace: event=consegna identificativo=$BUSTA_ID" "$DC_DIR/dovecot.log" && ok || fail "log: no trace line"
grep -q 'pec-trace: event=mancata-consegna' "$DC_DIR/dovecot.log" && ok || fail "log: no mancata trace"
grep -q 'pec-trace: event=anomalia' "$DC_DIR/dovecot.log" && ok || fail "log: no anomalia trace"
grep -q 'pec-trace: event=rifiuto' "$DC_DIR/dovecot.log" && ok || fail "log: no rifiuto trace"
grep -q 'pec-trace: event=duplicato' "$DC_DIR/dovecot.log" && ok || fail "log: no duplicato trace"
grep -q 'pec-trace: event=notifica' "$DC_DIR/dovecot.log" && ok || fail "log: no notifica trace"
grep -q 'sets no database: trace records are written to the log only' "$DC_DIR/dovecot.log" && ok ||
  fail "log: no warning that the trace goes to the log only"
# (dovecot-lda's loading errors are the ones section 12 provokes; section 14's come after LOG_BEFORE_LOOSE)
log_errors() {
  { head -n "$LOG_BEFORE_LOOSE" "$DC_DIR/dovecot.log" | grep -E 'pec: loading' | grep -v '^[A-Za-z]* [0-9]* [0-9:]* lda('
    grep -E 'Panic|Fatal' "$DC_DIR/dovecot.log" | grep -v '^[A-Za-z]* [0-9]* [0-9:]* lda('; } || true
}
if [ -n "$(log_errors)" ]; then
  fail "dovecot.log has errors:"; log_errors >&2
else
  ok
fi
[ "$T_FAIL" -eq 0 ] || { echo "--- dovecot.log ---" >&2; tail -60 "$DC_DIR/dovecot.log" >&2; }
done_tests
