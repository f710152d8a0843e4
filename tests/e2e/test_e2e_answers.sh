#!/usr/bin/env bash
# What the real network sends back (issue 13): a bounce from an ordinary host for alice's esterno
# recipient, the bounce A's own Postfix writes when an ordinary host refuses the recipient, and that
# recipient's reply, reach PEC-only alice in a busta di anomalia; the same mail for
# a message alice did not send to that address, and unsolicited ordinary mail, are still refused; a busta
# validly signed by provider A for a sender A does not manage reaches bob as an anomaly with the Italian
# reason.  Every stored message verifies (openssl, xmllint).
. "$(dirname "$0")/e2e-lib.sh"
EXT=$(free_port)
h_sink ext "$EXT" || bail "smtp-sink did not start"
REJ=$(free_port) # an ordinary host that refuses every recipient (5xx at RCPT)
mkdir -p "$T_TMP/sink-rej"
h_bg sink-rej smtp-sink -f rcpt -u root -d "$T_TMP/sink-rej/%H%M%S." 127.0.0.1:"$REJ" 64
wait_port "$REJ" || bail "rejecting smtp-sink did not start"
N_EXTRA_TRANSPORT="example.org smtp:[127.0.0.1]:$EXT
example.com smtp:[127.0.0.1]:$REJ"
e2e_start
# text_of FILE: the decoded text/plain parts of a stored message
text_of() {
  python3 -c 'import sys, email
m = email.message_from_binary_file(open(sys.argv[1], "rb"))
for p in m.walk():
    if p.get_content_type() == "text/plain":
        sys.stdout.write(p.get_payload(decode=True).decode(p.get_content_charset() or "latin-1", "replace"))' "$1"
}

# ---- alice writes to an ordinary address; its host bounces the busta ---------------------------------
out=$(n_submit $A alice --to dave@example.org --header "Subject: Ans 1" --body "Per un indirizzo ordinario.")
e2e_expect "submission to an esterno recipient" "$out" accept
wait_count "h_sink_count ext" 1 30 && ok || fail "busta for the esterno recipient not sent out"
h_sink_messages ext "$T_TMP/got-ext"
busta_id=$(sed -n 's/^Message-ID: *<\(.*\)>\r\?$/\1/Ip' "$T_TMP/got-ext/1.eml" | head -1)
[ -n "$busta_id" ] && ok || fail "no Message-ID on the busta sent out"

dsn() { # dsn FINAL-RECIPIENT: the report an ordinary MTA returns for the busta
  printf 'From: MAILER-DAEMON@mx.example.org (Mail Delivery System)\r\nTo: alice@%s\r\nDate: %s\r\n' $A "$(date -R)"
  printf 'Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <%s@mx.example.org>\r\nMIME-Version: 1.0\r\n' "$RANDOM$RANDOM"
  printf 'Content-Type: multipart/report; report-type=delivery-status; boundary="R"\r\n\r\n'
  printf -- '--R\r\nContent-Type: text/plain\r\n\r\nThe mail system: user unknown.\r\n\r\n'
  printf -- '--R\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n'
  printf 'Final-Recipient: rfc822; %s\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n' "$1"
  printf -- '--R\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: posta-certificata@%s\r\nSubject: POSTA CERTIFICATA: Ans 1\r\n' $A
  printf 'Message-ID: <%s>\r\n\r\n--R--\r\n' "$busta_id"
}
dsn dave@example.org > "$T_TMP/dsn.eml"
out=$(n_mx $A --from '<>' --to alice@$A --data @"$T_TMP/dsn.eml")
e2e_expect "bounce for alice's esterno recipient" "$out" accept
e2e_wait "bounce delivered as an anomaly" alice@$A 1 "^X-Trasporto: errore" "^Subject: ANOMALIA MESSAGGIO: Undelivered Mail"
f=$(n_find alice@$A "^X-Trasporto: errore" "^Subject: ANOMALIA MESSAGGIO: Undelivered Mail")
[ -n "$f" ] && grep -q "avviso di mancato recapito" <<<"$(text_of "$f")" && ok || fail "the anomaly does not say it is an answer"
[ -n "$f" ] && ! grep -qi "^X-PEC-Anomalia" "$f" && python3 "$PEC_SRC_DIR/tests/sh/mimepart.py" "$f" postacert.eml | grep -q "^Final-Recipient: rfc822; dave@example.org" \
  && ok || fail "the bounce is not attached as postacert.eml, or the internal mark reached the mailbox"

# the ordinary host refuses the recipient: A's own Postfix writes the bounce, which reaches the delivery
# point without passing a reception point
out=$(n_submit $A alice --to gone@example.com --header "Subject: Ans 2" --body "Per un indirizzo che non esiste.")
e2e_expect "submission to a refused esterno recipient" "$out" accept
e2e_wait "Postfix's own bounce delivered as an anomaly" alice@$A 2 "^X-Trasporto: errore" "^Subject: ANOMALIA MESSAGGIO: Undelivered Mail"
[ "$(n_count alice@$A "^X-Trasporto: errore" "gone@example.com")" -ge 1 ] && ok || fail "the anomaly does not carry the bounce for gone@example.com"

dsn erin@example.org > "$T_TMP/dsn-other.eml"
out=$(n_mx $A --from '<>' --to alice@$A --data @"$T_TMP/dsn-other.eml")
e2e_expect "bounce naming an address alice did not write to" "$out" refuse "^554 "

printf 'From: Dave <dave@example.org>\r\nTo: alice@%s\r\nSubject: Re: Ans 1\r\nDate: %s\r\nIn-Reply-To: <%s>\r\nMessage-ID: <re1@example.org>\r\n\r\nRicevuto.\r\n' \
  $A "$(date -R)" "$busta_id" > "$T_TMP/reply.eml"
out=$(n_mx $A --from dave@example.org --to alice@$A --data @"$T_TMP/reply.eml")
e2e_expect "reply from the esterno recipient" "$out" accept
e2e_wait "reply delivered as an anomaly" alice@$A 1 "^X-Trasporto: errore" "^Subject: ANOMALIA MESSAGGIO: Re: Ans 1"

out=$(n_mx $A --from eve@example.org --to alice@$A --header "Subject: Ans spam" --body "offerta")
e2e_expect "unsolicited ordinary mail to alice" "$out" refuse "^554 "
out=$(n_mx $B --from someone@example.net --to bob@$B --header "Subject: Ans spam" --header "In-Reply-To: <$busta_id>" --body "offerta")
e2e_expect "ordinary mail to bob citing a message bob did not send" "$out" refuse "^554 "

# ---- a busta signed by provider A for a sender that is not one of A's users -------------------------
printf 'From: mallory@elsewhere.test\r\nTo: bob@%s\r\nSubject: Ans broken\r\nDate: %s\r\nMessage-ID: <broken1@client.test>\r\n\r\nTesto.\r\n' \
  $B "$(date -R)" > "$T_TMP/broken.eml"
"$PEC_BUILD_DIR/tests/make-busta" "$(n_get $A DIR)/provider.conf" "$T_TMP/broken.eml" > "$T_TMP/broken-busta.eml" || fail "make-busta"
out=$(n_mx $B --from posta-certificata@$A --to bob@$B --data @"$T_TMP/broken-busta.eml")
e2e_expect "gestore-signed busta failing a formal check" "$out" accept
e2e_wait "delivered to bob as an anomaly" bob@$B 1 "^X-Trasporto: errore" "^Subject: ANOMALIA MESSAGGIO: .*Ans broken"
f=$(n_find bob@$B "^X-Trasporto: errore" "Ans broken")
[ -n "$f" ] && grep -q "non ha superato i controlli formali" <<<"$(text_of "$f")" && ok || fail "no Italian reason in the anomaly"
[ "$(n_count bob@$B "Ans broken")" = 1 ] && ok || fail "the broken busta stored beside its anomaly"
e2e_none "no presa in carico for the broken busta" posta-certificata@$A "Ans broken" "^X-Ricevuta: presa-in-carico"

e2e_verify_everything
done_tests
