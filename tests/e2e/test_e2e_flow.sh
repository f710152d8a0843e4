#!/usr/bin/env bash
# The certified path between two providers: acceptance, presa in carico, consegna completa / breve /
# sintetica (the Cc rule), same-provider mail, mixed certificato / esterno recipients (one consegna per
# certified recipient, none for esterno).  Every stored message verifies (openssl, xmllint).
. "$(dirname "$0")/e2e-lib.sh"
EXT=$(free_port)
h_sink ext "$EXT" || bail "smtp-sink did not start"
N_EXTRA_TRANSPORT="example.org smtp:[127.0.0.1]:$EXT"
e2e_start
printf 'Contratto di fornitura.\n' > "$T_TMP/contratto.txt"

# ---- acceptance, presa in carico, completa (To) and sintetica (Cc) -----------------------------------
out=$(n_submit $A alice --to bob@$B,carol@$B --header "To: bob@$B" --header "Cc: carol@$B" \
      --header "Subject: Flow 1" --body "Testo." --attach @"$T_TMP/contratto.txt")
e2e_expect "A->B To+Cc submission" "$out" accept
e2e_wait "accettazione" alice@$A 1 "^X-Ricevuta: accettazione" "^Subject: ACCETTAZIONE: Flow 1$"
e2e_wait "presa in carico to A's mailReceipt" posta-certificata@$A 1 "^X-Ricevuta: presa-in-carico" "^Subject: PRESA IN CARICO: Flow 1$"
e2e_wait "two consegne" alice@$A 2 "^X-Ricevuta: avvenuta-consegna" "^Subject: CONSEGNA: Flow 1$"
e2e_wait "busta for bob" bob@$B 1 "^X-Trasporto: posta-certificata" "^Subject: POSTA CERTIFICATA: Flow 1$"
e2e_wait "busta for carol" carol@$B 1 "^X-Trasporto: posta-certificata" "^Subject: POSTA CERTIFICATA: Flow 1$"
acc=$(n_find alice@$A "^Subject: ACCETTAZIONE: Flow 1$")
[ -n "$acc" ] && e2e_daticert "$acc" | grep -q '<destinatari tipo="certificato">bob@pec-b.test</destinatari>' && ok || fail "accettazione does not list bob as certificato"
for f in $(n_msgs alice@$A); do
  grep -q "^Subject: CONSEGNA: Flow 1$" "$f" || continue
  x=$(e2e_daticert "$f")
  case $x in
    *"<consegna>bob@$B</consegna>"*) grep -q '<ricevuta tipo="completa"/>' <<<"$x" && grep -qE 'name="?contratto.txt"?$' "$f" && ok || fail "To recipient: not a completa with the original" ;;
    *"<consegna>carol@$B</consegna>"*) grep -q '<ricevuta tipo="sintetica"/>' <<<"$x" && ! grep -q "name=postacert.eml" "$f" && ok || fail "Cc recipient: not a sintetica" ;;
    *) fail "consegna for an unexpected recipient" ;;
  esac
done
pic=$(n_find posta-certificata@$A "^Subject: PRESA IN CARICO: Flow 1$")
[ -n "$pic" ] && e2e_daticert "$pic" | grep -q "<gestore-emittente>Gestore B S.p.A.</gestore-emittente>" && ok || fail "presa in carico not issued by B"

# ---- breve -------------------------------------------------------------------------------------------
out=$(n_submit $A alice --to bob@$B --header "To: bob@$B" --header "X-TipoRicevuta: breve" \
      --header "Subject: Flow 2" --body "Breve." --attach @"$T_TMP/contratto.txt")
e2e_expect "breve submission" "$out" accept
e2e_wait "consegna breve" alice@$A 1 "^Subject: CONSEGNA: Flow 2$" "name=contratto.txt.hash"
f=$(n_find alice@$A "^Subject: CONSEGNA: Flow 2$")
[ -n "$f" ] && e2e_daticert "$f" | grep -q '<ricevuta tipo="breve"/>' && ok || fail "not a breve"
# the hash in the breve is the SHA-1 of the attachment as transferred (transfer-encoded, CRLF), as
# stored in bob's busta
b=$(n_find bob@$B "^Subject: POSTA CERTIFICATA: Flow 2$")
if [ -n "$f" ] && [ -n "$b" ]; then
  want=$(python3 -c '
import sys, hashlib
from email import policy
from email.parser import BytesParser
m = BytesParser(policy=policy.compat32).parse(open(sys.argv[1], "rb"))
for p in m.walk():
    if p.get_filename() == "contratto.txt":
        print(hashlib.sha1(p.get_payload().replace("\r\n", "\n").replace("\n", "\r\n").encode()).hexdigest())' "$b")
  [ -n "$want" ] && grep -q "^$want" "$f" && ok || fail "breve hash is not the SHA-1 of the attachment as transferred ($want)"
else
  fail "breve or busta missing"
fi

# ---- same provider ------------------------------------------------------------------------------------
out=$(n_submit $A alice --to dora@$A --header "To: dora@$A" --header "Subject: Flow 3" --body "Ciao.")
e2e_expect "A->A submission" "$out" accept
e2e_wait "A->A accettazione" alice@$A 1 "^Subject: ACCETTAZIONE: Flow 3$"
e2e_wait "A->A consegna" alice@$A 1 "^X-Ricevuta: avvenuta-consegna" "^Subject: CONSEGNA: Flow 3$"
e2e_wait "A->A busta for dora" dora@$A 1 "^Subject: POSTA CERTIFICATA: Flow 3$"

# ---- certificato + esterno ---------------------------------------------------------------------------
out=$(n_submit $A alice --to bob@$B,dave@example.org --header "To: bob@$B, dave@example.org" --header "Subject: Flow 4" --body "Misto.")
e2e_expect "mixed submission" "$out" accept
e2e_wait "mixed accettazione" alice@$A 1 "^Subject: ACCETTAZIONE: Flow 4$"
e2e_wait "mixed consegna for bob" alice@$A 1 "^X-Ricevuta: avvenuta-consegna" "^Subject: CONSEGNA: Flow 4$"
wait_count "h_sink_count ext" 1 30 && ok || fail "busta for the esterno recipient not sent out"
acc=$(n_find alice@$A "^Subject: ACCETTAZIONE: Flow 4$")
[ -n "$acc" ] && e2e_daticert "$acc" | grep -q '<destinatari tipo="esterno">dave@example.org</destinatari>' && ok || fail "dave not esterno in the accettazione"
sleep 3
[ "$(n_count alice@$A "^Subject: CONSEGNA: Flow 4$")" = 1 ] && ok || fail "expected exactly one consegna for Flow 4 (none for esterno)"
e2e_none "no error notice for the esterno recipient" alice@$A "Flow 4" "^X-Ricevuta: (errore-consegna|preavviso)"
h_sink_messages ext "$T_TMP/got-ext"
grep -q "^X-Trasporto: posta-certificata" "$T_TMP"/got-ext/*.eml && ok || fail "the esterno recipient did not get a busta"

# ---- provider to provider over TLS -------------------------------------------------------------------
grep -q "Trusted TLS connection established to 127.0.0.1\[127.0.0.1\]:$(n_get $B MX)" "$(n_get $A DIR)/postfix/postfix.log" && ok || fail "A->B not over verified TLS"
# ---- IMAP over TLS (test CA): bob reads his mailbox; no plaintext IMAP port ----------------------------
n=$(python3 - "$(n_get $B IMAPS)" "$N_CA" bob@$B <<'PY' 2>&1
import imaplib, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
ctx.check_hostname = False
m = imaplib.IMAP4_SSL("127.0.0.1", int(sys.argv[1]), ssl_context=ctx)
m.login(sys.argv[3], "secret")
typ, data = m.select("INBOX", readonly=True)
print(int(data[0]))
m.logout()
PY
)
[ "$n" = "$(n_count bob@$B .)" ] && ok || fail "IMAPS: bob sees '$n' messages, $(n_count bob@$B .) stored"
e2e_verify_everything
done_tests
