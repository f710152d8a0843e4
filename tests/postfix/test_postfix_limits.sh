#!/usr/bin/env bash
# The MIME limits through a real Postfix and pec-milter (label postfix): the 3.6 MB message of 100,000
# parts is a formal exception at the access point (552 naming the limit, a signed avviso di non
# accettazione to the sender), is refused by the reception point for a PEC-only mailbox and marked for a
# busta di anomalia for one taking ordinary mail, each at once; the milters go on certifying afterwards.
. "$(dirname "$0")/../harness/lib.sh"
command -v postfix >/dev/null && command -v swaks >/dev/null && command -v dovecot >/dev/null || h_skip "postfix, swaks or dovecot missing"
[ "$(id -u)" = 0 ] || h_skip "needs root to run private Postfix instances"

h_example_provider "/usr/sbin/sendmail -C $H_T/postfix-a/etc" || { h_fail "pecctl example"; h_done; exit; }
printf 'alice@%s\nbob@%s\nolga@%s ordinary\n' $D $D $D > "$H_T/mailboxes"
printf 'alice@%s:{PLAIN}secret\n' $D > "$H_T/users"
SUB=$(h_port); MX=$(h_port); MA=$(h_port); MR=$(h_port); AUTH=$(h_port); EM=$(h_port); LOCAL=$(h_port)
h_dovecot_auth a "$AUTH" "$H_T/users" || { h_fail "dovecot auth did not start"; h_done; exit; }
h_sink local "$LOCAL" lmtp
h_bg emitter "$H_EMITTER" -c "$H_T/provider.conf" -l 127.0.0.1:"$EM"
h_bg milter-access "$H_MILTER" -c "$H_T/provider.conf" -r access -s inet:"$MA"@127.0.0.1
h_bg milter-reception "$H_MILTER" -c "$H_T/provider.conf" -r reception -s inet:"$MR"@127.0.0.1
h_wait_port "$EM" && h_wait_port "$MA" && h_wait_port "$MR" || { h_fail "our daemons did not start"; cat "$H_T"/*.log >&2; h_done; exit; }
HP_DOMAIN=$D HP_SUBMIT=$SUB HP_MX=$MX HP_MILTER_ACCESS=$MA HP_MILTER_RECEPTION=$MR HP_AUTH=$AUTH \
HP_TRANSPORT="$D lmtp:inet:127.0.0.1:$LOCAL
outbox.pec.invalid lmtp:inet:127.0.0.1:$EM" h_postfix a || { h_fail "postfix did not start"; h_done; exit; }

submit() {
  swaks --server 127.0.0.1:"$SUB" --auth PLAIN --auth-user alice@$D --auth-password secret --helo client.test \
        --timeout 60 "$@" 2>&1
}
mx() { swaks --server 127.0.0.1:"$MX" --helo other.test --timeout 60 "$@" 2>&1; }
# huge FROM TO FILE: the message of the issue, 100,000 parts in 3.6 MB
huge() {
  python3 - "$1" "$2" "$3" <<'PY'
import sys
with open(sys.argv[3], "w", newline="") as f:
    f.write("From: %s\r\nTo: %s\r\nSubject: centomila parti\r\nDate: Mon, 23 Nov 2026 08:00:00 +0100\r\n"
            "Message-ID: <huge@client.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
            % (sys.argv[1], sys.argv[2]))
    for i in range(100000):
        f.write("--b\r\nContent-Type: text/plain\r\n\r\nx\r\n")
    f.write("--b--\r\n")
PY
}

# --- the access point: a formal exception, and the avviso says which ---------------------------------
huge "alice@$D" "bob@$D" "$H_T/huge-sub.eml"
before=$(h_sink_count local)
start=$SECONDS
out=$(submit --from alice@$D --to bob@$D --data "$H_T/huge-sub.eml")
grep -q "^<\** *552 5.3.4 .*(limits).*more than 10000 MIME parts" <<<"$out" && h_ok ||
  h_fail "100,000 parts at the access point: expected 552 5.3.4 naming the limit: $(grep '^<' <<<"$out" | tail -2)"
h_wait "h_sink_count local" $((before + 1)) 30 || h_fail "no avviso di non accettazione"
f=$(ls -t "$H_T"/sink-local/* 2>/dev/null | head -1)
python3 "$H_SRC/tests/harness/sinkmsg.py" "$f" > "$H_T/avviso.eml" 2>/dev/null
grep -q "^X-Ricevuta: non-accettazione" "$H_T/avviso.eml" && grep -q "^Subject: AVVISO DI NON ACCETTAZIONE: centomila parti" "$H_T/avviso.eml" &&
  h_ok || h_fail "the avviso is not a non-accettazione naming the message"
h_check "the avviso verifies" openssl smime -verify -in "$H_T/avviso.eml" -CAfile "$PKI/ca.pem" -out /dev/null
h_postfix_log a | grep -q "to=<bob@$D>.*status=sent" && h_fail "the refused message reached bob" || h_ok

# --- the reception point: refused for a PEC-only mailbox, marked for one taking ordinary mail -------------
huge "mallory@example.net" "bob@$D" "$H_T/huge-bob.eml"
out=$(mx --from mallory@example.net --to bob@$D --data "$H_T/huge-bob.eml")
grep -q "^<\** *554 .*non certificata" <<<"$out" && h_ok || h_fail "100,000 parts to bob: not refused: $(grep '^<' <<<"$out" | tail -2)"
huge "mallory@example.net" "olga@$D" "$H_T/huge-olga.eml"
before=$(h_sink_count local)
out=$(mx --from mallory@example.net --to olga@$D --data "$H_T/huge-olga.eml")
grep -q "^<- *250 .*queued" <<<"$out" && h_ok || h_fail "100,000 parts to olga: not accepted: $(grep '^<' <<<"$out" | tail -2)"
h_wait "h_sink_count local" $((before + 1)) 30 || h_fail "100,000 parts to olga: not delivered"
f=$(ls -t "$H_T"/sink-local/* 2>/dev/null | head -1)
[ -n "$f" ] && grep -q "^X-PEC-Anomalia:" "$f" && h_ok || h_fail "100,000 parts to olga: not marked for a busta di anomalia"
elapsed=$((SECONDS - start))
[ "$elapsed" -lt 90 ] && h_ok || h_fail "the three transactions took $elapsed s"

# --- the milters are still there and still certify --------------------------------------------------------
before=$(h_sink_count local)
out=$(submit --from alice@$D --to bob@$D --header "To: bob@$D" --header "Subject: dopo" --body "ancora qui")
grep -q "^<- *250 .*queued" <<<"$out" && h_ok || h_fail "a normal submission after them: $(grep '^<' <<<"$out" | tail -2)"
h_wait "h_sink_count local" $((before + 3)) 30 || h_fail "busta, accettazione and presa in carico not all delivered"
grep -iE "out of memory|segfault|signal 9|signal 11|killed" "$H_T"/*.log >&2 && h_fail "a daemon died" || h_ok
h_done
