#!/usr/bin/env bash
# The access point between two real providers: every cause of non-acceptance gives its SMTP refusal and
# a signed avviso di non accettazione in the sender's mailbox; a virus (real clamd, EICAR test
# signature) gives the non accettazione per virus; plaintext or unauthenticated submission is refused.
. "$(dirname "$0")/e2e-lib.sh"
need_tools clamd
h_clamd e2e || bail "clamd did not start"
N_CLAMD_SOCKET=$HC_SOCKET
N_CONF_EXTRA="max_recipients = 3
max_message_size = 300000"
e2e_start

refuse() { # refuse CHECK SUBJECT SWAKS-ARGS...: a 5xx naming the check, then an avviso for SUBJECT
  local check=$1 subj=$2; shift 2
  local out; out=$(n_submit $A alice "$@")
  e2e_expect "non-accettazione ($check)" "$out" refuse "\\(($check)\\)"
  e2e_wait "avviso for $check" alice@$A 1 "^X-Ricevuta: non-accettazione" "^Subject: AVVISO DI NON ACCETTAZIONE: $subj$"
}
refuse sender "Acc sender" --from mallory@$A --to bob@$B --header "From: mallory@$A" --header "To: bob@$B" --header "Subject: Acc sender"
refuse from "Acc from" --to bob@$B --header "From: mallory@$A" --header "To: bob@$B" --header "Subject: Acc from"
refuse to "Acc to" --to bob@$B --header "To:" --header "Cc: bob@$B" --header "Subject: Acc to"
refuse rcpt "Acc rcpt" --to bob@$B --header "To: bob@$B, carol@$B" --header "Subject: Acc rcpt"
# Postfix drops Bcc: headers before the milter; the Bcc recipient shows as an RCPT missing from To/Cc
refuse 'rcpt|bcc' "Acc bcc" --to bob@$B,carol@$B --header "To: bob@$B" --header "Bcc: carol@$B" --header "Subject: Acc bcc"
refuse recipients "Acc many" --to bob@$B,carol@$B,dora@$B,alice@$B --header "To: bob@$B, carol@$B, dora@$B, alice@$B" --header "Subject: Acc many"
head -c 120000 /dev/zero | tr '\0' 'x' | fold -w 76 > "$T_TMP/big.txt"
refuse size "Acc size" --to bob@$B,carol@$B,dora@$B --header "To: bob@$B, carol@$B, dora@$B" --header "Subject: Acc size" --attach @"$T_TMP/big.txt"
# (a missing Date cannot be shown here: Postfix's cleanup adds one for local clients before the milter)
printf 'From: alice@%s\r\nTo: bob@%s\r\nSubject: Acc syntax\r\nDate: %s\r\nMessage-ID: <nob@client.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed\r\n\r\nA multipart without boundary.\r\n' $A $B "$(date -R)" > "$T_TMP/syntax.eml"
refuse syntax "Acc syntax" --to bob@$B --data @"$T_TMP/syntax.eml"
h_eicar > "$T_TMP/eicar.com"
out=$(n_submit $A alice --to bob@$B --header "To: bob@$B" --header "Subject: Acc virus" --attach @"$T_TMP/eicar.com")
e2e_expect "virus at the access point" "$out" refuse "\\(virus\\).*Eicar-Test-Signature"
e2e_wait "non accettazione per virus" alice@$A 1 "^X-Ricevuta: non-accettazione" "^X-VerificaSicurezza: errore" "Acc virus"
ls "$(n_get $A DIR)"/quarantine/*.eml >/dev/null 2>&1 && ok || fail "infected submission not quarantined"

# nothing refused ever reached B
sleep 2
e2e_none "refused messages delivered" bob@$B "Acc "
e2e_none "refused messages delivered" carol@$B "Acc "

# the submission service: no AUTH without TLS, no relay without AUTH
out=$(swaks --server 127.0.0.1:"$(n_get $A SUB)" --auth PLAIN --auth-user alice@$A --auth-password secret \
      --from alice@$A --to bob@$B --timeout 30 2>&1)
grep -qE "^<(-|\*\*) +250.*(AUTH|STARTTLS)" <<<"$out" && grep -qE "AUTH" <<<"$(grep -E '^<-' <<<"$out" | grep -v STARTTLS | grep 250-AUTH)" && fail "AUTH offered without TLS" || ok
n_accepted "$out" && fail "plaintext submission accepted" || ok
out=$(swaks --server 127.0.0.1:"$(n_get $A SUB)" --tls --from alice@$A --to bob@$B --timeout 30 2>&1)
n_refused "$out" && ok || fail "unauthenticated submission not refused: $(n_reply "$out")"

# and a normal submission still goes through with the same configuration
out=$(n_submit $A alice --to bob@$B --header "To: bob@$B" --header "Subject: Acc ok" --body "ok")
e2e_expect "valid submission" "$out" accept
e2e_wait "accettazione" alice@$A 1 "^X-Ricevuta: accettazione" "^Subject: ACCETTAZIONE: Acc ok$"
e2e_wait "consegna" alice@$A 1 "^X-Ricevuta: avvenuta-consegna" "^Subject: CONSEGNA: Acc ok$"
e2e_verify_everything
done_tests
