#!/usr/bin/env bash
# The MIME limits through a real Postfix and pec-milter (label postfix): the 3.6 MB message of 100,000
# parts is a formal exception at the access point (552 naming the limit, a signed avviso di non
# accettazione to the sender), is refused by the reception point for a PEC-only mailbox and marked for a
# busta di anomalia for one taking ordinary mail, each at once; the milters go on certifying afterwards.
. "$(dirname "$0")/../harness/lib.sh"
need_tools postfix swaks dovecot
need_root "private Postfix instances"

# limits, not the trace or virus checks, are measured here: the opt-outs say so
h_example_provider "/usr/sbin/sendmail -C $T_TMP/postfix-a/etc" "allow_untraced = yes
allow_unscanned = yes" || bail "pecctl example"
printf 'alice@%s\nbob@%s\nolga@%s ordinary\n' $D $D $D > "$T_TMP/mailboxes"
printf 'alice@%s:{PLAIN}secret\n' $D > "$T_TMP/users"
read -r SUB MX MA MR AUTH EM LOCAL <<<"$(free_ports 7)"
h_dovecot_auth a "$AUTH" "$T_TMP/users" || bail "dovecot auth did not start"
h_sink local "$LOCAL" lmtp
h_bg emitter "$H_EMITTER" -c "$T_TMP/provider.conf" -l 127.0.0.1:"$EM"
h_bg milter-access "$H_MILTER" -c "$T_TMP/provider.conf" -r access -s inet:"$MA"@127.0.0.1
h_bg milter-reception "$H_MILTER" -c "$T_TMP/provider.conf" -r reception -s inet:"$MR"@127.0.0.1
wait_port "$EM" && wait_port "$MA" && wait_port "$MR" || { cat "$T_TMP"/*.log >&2; bail "our daemons did not start"; }
HP_DOMAIN=$D HP_SUBMIT=$SUB HP_MX=$MX HP_MILTER_ACCESS=$MA HP_MILTER_RECEPTION=$MR HP_AUTH=$AUTH \
HP_TRANSPORT="$D lmtp:inet:127.0.0.1:$LOCAL
outbox.pec.invalid lmtp:inet:127.0.0.1:$EM" h_postfix a || bail "postfix did not start"

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
huge "alice@$D" "bob@$D" "$T_TMP/huge-sub.eml"
before=$(h_sink_count local)
start=$SECONDS
out=$(submit --from alice@$D --to bob@$D --data @"$T_TMP/huge-sub.eml")
grep -q "^<\** *552 5.3.4 .*(limits).*more than 10000 MIME parts" <<<"$out" && ok ||
  fail "100,000 parts at the access point: expected 552 5.3.4 naming the limit: $(grep '^<' <<<"$out" | tail -2)"
wait_count "h_sink_count local" $((before + 1)) 30 || fail "no avviso di non accettazione"
f=$(ls -t "$T_TMP"/sink-local/* 2>/dev/null | head -1)
python3 "$PEC_SRC_DIR/tests/harness/sinkmsg.py" "$f" > "$T_TMP/avviso.eml" 2>/dev/null
grep -q "^X-Ricevuta: non-accettazione" "$T_TMP/avviso.eml" && grep -q "^Subject: AVVISO DI NON ACCETTAZIONE: centomila parti" "$T_TMP/avviso.eml" &&
  ok || fail "the avviso is not a non-accettazione naming the message"
check "the avviso verifies" openssl smime -verify -in "$T_TMP/avviso.eml" -CAfile "$PKI/ca.pem" -out /dev/null
h_postfix_log a | grep -q "to=<bob@$D>.*status=sent" && fail "the refused message reached bob" || ok

# --- the reception point: refused for a PEC-only mailbox, marked for one taking ordinary mail -------------
huge "mallory@example.net" "bob@$D" "$T_TMP/huge-bob.eml"
out=$(mx --from mallory@example.net --to bob@$D --data @"$T_TMP/huge-bob.eml")
grep -q "^<\** *554 .*non certificata" <<<"$out" && ok || fail "100,000 parts to bob: not refused: $(grep '^<' <<<"$out" | tail -2)"
huge "mallory@example.net" "olga@$D" "$T_TMP/huge-olga.eml"
before=$(h_sink_count local)
out=$(mx --from mallory@example.net --to olga@$D --data @"$T_TMP/huge-olga.eml")
grep -q "^<- *250 .*queued" <<<"$out" && ok || fail "100,000 parts to olga: not accepted: $(grep '^<' <<<"$out" | tail -2)"
wait_count "h_sink_count local" $((before + 1)) 30 || fail "100,000 parts to olga: not delivered"
f=$(ls -t "$T_TMP"/sink-local/* 2>/dev/null | head -1)
[ -n "$f" ] && grep -q "^X-PEC-Anomalia:" "$f" && ok || fail "100,000 parts to olga: not marked for a busta di anomalia"
elapsed=$((SECONDS - start))
[ "$elapsed" -lt 90 ] && ok || fail "the three transactions took $elapsed s"

# --- the milters are still there and still certify --------------------------------------------------------
before=$(h_sink_count local)
out=$(submit --from alice@$D --to bob@$D --header "To: bob@$D" --header "Subject: dopo" --body "ancora qui")
grep -q "^<- *250 .*queued" <<<"$out" && ok || fail "a normal submission after them: $(grep '^<' <<<"$out" | tail -2)"
wait_count "h_sink_count local" $((before + 3)) 30 || fail "busta, accettazione and presa in carico not all delivered"
grep -iE "out of memory|segfault|signal 9|signal 11|killed" "$T_TMP"/*.log >&2 && fail "a daemon died" || ok
done_tests
