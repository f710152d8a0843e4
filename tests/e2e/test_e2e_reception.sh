#!/usr/bin/env bash
# The reception point of provider B, fed by provider A and by the outside: ordinary mail refused by
# default; stored in a busta di anomalia for a mailbox that accepts it, also when it forges PEC headers
# or carries a tampered signature; a busta carrying a virus (real clamd, EICAR) gives presa in carico,
# rilevazione virus and the sender's avviso di mancata consegna per virus; a provider speaking
# plaintext is refused.
. "$(dirname "$0")/e2e-lib.sh"
need_tools clamd
h_clamd e2e || bail "clamd did not start"
N_CLAMD_SOCKET=$HC_SOCKET
e2e_start
CONF_A=$(n_get $A DIR)/provider.conf
mkbusta() { "$PEC_BUILD_DIR/tests/make-busta" "$CONF_A" "$1" > "$2"; }
original() { # original SUBJECT TO BODY-PART...: an original of alice@A
  printf 'From: alice@%s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@client.test>\r\n' $A "$2" "$1" "$(date -R)" "$RANDOM$RANDOM"
  printf 'MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n%s\r\n' "$3"
}

# ---- ordinary mail -----------------------------------------------------------------------------------
out=$(n_mx $B --from someone@example.net --to bob@$B --header "Subject: Rec ordinary" --body "ordinaria")
e2e_expect "ordinary mail to a PEC-only mailbox" "$out" refuse "^554 "
out=$(n_mx $B --from someone@example.net --to aperta@$B --header "Subject: Rec anomaly" --body "ordinaria")
e2e_expect "ordinary mail to a mailbox accepting it" "$out" accept
e2e_wait "busta di anomalia" aperta@$B 1 "^X-Trasporto: errore" "^Subject: ANOMALIA MESSAGGIO: Rec anomaly$"

# ---- forged PEC headers on ordinary mail -------------------------------------------------------------
out=$(n_mx $B --from someone@example.net --to bob@$B --header "Subject: Rec forged 1" --header "X-Trasporto: posta-certificata" \
      --header "X-Ricevuta: avvenuta-consegna" --body "finta")
e2e_expect "forged PEC headers to a PEC-only mailbox" "$out" refuse "^554 "
out=$(n_mx $B --from someone@example.net --to aperta@$B --header "Subject: Rec forged 2" --header "X-Trasporto: posta-certificata" \
      --header "X-PEC-Anomalia: none" --body "finta")
e2e_expect "forged PEC headers to a mailbox accepting ordinary mail" "$out" accept
e2e_wait "forged: busta di anomalia" aperta@$B 1 "^X-Trasporto: errore" "^Subject: ANOMALIA MESSAGGIO: Rec forged 2$"

# ---- tampered signature ------------------------------------------------------------------------------
original "Rec tampered 1" "bob@$B" "Firmato e poi alterato." > "$T_TMP/t1.eml"
mkbusta "$T_TMP/t1.eml" "$T_TMP/t1-busta.eml" && python3 "$PEC_SRC_DIR/tests/sh/flipbyte.py" "$T_TMP/t1-busta.eml" "$T_TMP/t1-bad.eml" || fail "make-busta"
out=$(n_mx $B --from alice@$A --to bob@$B --data @"$T_TMP/t1-bad.eml")
e2e_expect "tampered busta to a PEC-only mailbox" "$out" refuse "^554 "
original "Rec tampered 2" "aperta@$B" "Firmato e poi alterato." > "$T_TMP/t2.eml"
mkbusta "$T_TMP/t2.eml" "$T_TMP/t2-busta.eml" && python3 "$PEC_SRC_DIR/tests/sh/flipbyte.py" "$T_TMP/t2-busta.eml" "$T_TMP/t2-bad.eml" || fail "make-busta"
out=$(n_mx $B --from alice@$A --to aperta@$B --data @"$T_TMP/t2-bad.eml")
e2e_expect "tampered busta to a mailbox accepting ordinary mail" "$out" accept
e2e_wait "tampered: busta di anomalia" aperta@$B 1 "^X-Trasporto: errore" "Rec tampered 2"
e2e_none "tampered busta stored as PEC" bob@$B "Rec tampered"
# the untampered busta, same path: certified delivery (the control)
out=$(n_mx $B --from alice@$A --to bob@$B --data @"$T_TMP/t1-busta.eml")
e2e_expect "untampered busta" "$out" accept
e2e_wait "untampered busta delivered" bob@$B 1 "^X-Trasporto: posta-certificata" "Rec tampered 1"
e2e_wait "consegna for the untampered busta" alice@$A 1 "^X-Ricevuta: avvenuta-consegna" "Rec tampered 1"

# ---- a busta carrying a virus ------------------------------------------------------------------------
h_eicar > "$T_TMP/eicar.com"
printf 'From: alice@%s\r\nTo: bob@%s\r\nSubject: Rec virus\r\nDate: %s\r\nMessage-ID: <virus1@client.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nin allegato\r\n--b\r\nContent-Type: application/octet-stream; name="f.com"\r\nContent-Disposition: attachment; filename="f.com"\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n--b--\r\n' \
  $A $B "$(date -R)" "$(base64 -w0 < "$T_TMP/eicar.com")" > "$T_TMP/infected.eml"
mkbusta "$T_TMP/infected.eml" "$T_TMP/infected-busta.eml" || fail "make-busta (virus)"
out=$(n_mx $B --from alice@$A --to bob@$B --data @"$T_TMP/infected-busta.eml")
e2e_expect "busta with a virus taken in charge" "$out" accept
e2e_wait "presa in carico (virus)" posta-certificata@$A 1 "^X-Ricevuta: presa-in-carico" "Rec virus"
e2e_wait "rilevazione virus to A" posta-certificata@$A 1 "^X-Ricevuta: rilevazione-virus" "Rec virus"
e2e_wait "avviso di mancata consegna per virus to alice" alice@$A 1 "^X-Ricevuta: errore-consegna" "Rec virus"
e2e_none "infected busta delivered" bob@$B "Rec virus"
ls "$(n_get $B DIR)"/quarantine/* >/dev/null 2>&1 && ok || fail "infected busta not quarantined at B"

# ---- a provider without TLS --------------------------------------------------------------------------
out=$(swaks --server 127.0.0.1:"$(n_get $B MX)" --helo mx.$A --from alice@$A --to bob@$B --data @"$T_TMP/t1-busta.eml" --timeout 30 2>&1)
e2e_expect "plaintext from a provider" "$out" refuse "STARTTLS"
n_accepted "$out" && fail "plaintext busta accepted" || ok
e2e_verify_everything
done_tests
