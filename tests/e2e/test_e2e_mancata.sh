#!/usr/bin/env bash
# Mancata consegna between two providers: a recipient unknown at B (no-dest, from B's reception point),
# a full mailbox at B (quota, from B's delivery point); the other recipients of the same message are
# delivered, each with its own receipt.
. "$(dirname "$0")/e2e-lib.sh"
e2e_start
head -c 4000 /dev/urandom | base64 > "$T_TMP/big.txt"

# ---- no-dest: one unknown recipient next to a known one ---------------------------------------------
out=$(n_submit $A alice --to bob@$B,nessuno@$B --header "To: bob@$B, nessuno@$B" --header "Subject: Man nodest" --body "Ci sei?")
e2e_expect "submission to bob and an unknown user" "$out" accept
e2e_wait "accettazione" alice@$A 1 "^X-Ricevuta: accettazione" "^Subject: ACCETTAZIONE: Man nodest$"
e2e_wait "avviso di mancata consegna (no-dest)" alice@$A 1 "^X-Ricevuta: errore-consegna" "Man nodest"
e2e_wait "consegna for bob" alice@$A 1 "^X-Ricevuta: avvenuta-consegna" "^Subject: CONSEGNA: Man nodest$"
e2e_wait "presa in carico lists bob" posta-certificata@$A 1 "^X-Ricevuta: presa-in-carico" "Man nodest"
f=$(n_find alice@$A "^X-Ricevuta: errore-consegna" "Man nodest")
x=$(e2e_daticert "$f" 2>/dev/null)
grep -q 'errore="no-dest"' <<<"$x" && grep -q "<consegna>nessuno@$B</consegna>" <<<"$x" && ok || fail "the avviso is not no-dest for nessuno: $x"
p=$(n_find posta-certificata@$A "^X-Ricevuta: presa-in-carico" "Man nodest")
x=$(e2e_daticert "$p" 2>/dev/null)
grep -q "<ricezione>bob@$B</ricezione>" <<<"$x" && ! grep -q "<ricezione>nessuno@" <<<"$x" && ok || fail "presa in carico should list bob only"

# ---- quota: piena@B has a 1 KB quota -----------------------------------------------------------------
out=$(n_submit $A alice --to piena@$B,carol@$B --header "To: piena@$B, carol@$B" --header "Subject: Man quota" --attach @"$T_TMP/big.txt")
e2e_expect "submission to a full mailbox" "$out" accept
e2e_wait "avviso di mancata consegna (quota)" alice@$A 1 "^X-Ricevuta: errore-consegna" "Man quota"
e2e_wait "consegna for carol" alice@$A 1 "^X-Ricevuta: avvenuta-consegna" "^Subject: CONSEGNA: Man quota$"
f=$(n_find alice@$A "^X-Ricevuta: errore-consegna" "Man quota")
x=$(e2e_daticert "$f" 2>/dev/null)
grep -q "<consegna>piena@$B</consegna>" <<<"$x" && grep -qi "casella piena\|5\.2\.2" <<<"$x" && ok || fail "the avviso is not the quota one: $x"
sleep 2
e2e_none "busta stored in the full mailbox" piena@$B "Man quota"
[ "$(n_count alice@$A "Man quota")" -le 3 ] && ok || fail "more notices than expected for Man quota"
e2e_verify_everything
done_tests
