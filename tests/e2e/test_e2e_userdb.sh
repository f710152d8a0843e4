#!/usr/bin/env bash
# The mailboxes live in Dovecot's userdb only (issue 16): the reception points ask the auth-userdb
# socket (N_USERDB=1, no mailbox file).  A box in the userdb receives certified mail; an address that is
# not there gets the no-dest avviso; a box added to the userdb while the system runs receives mail, and
# once removed (after the cache's few seconds) gets the no-dest avviso; a box whose userdb fields say
# it takes ordinary mail gets it wrapped.
N_USERDB=1 N_USERDB_CACHE=2
. "$(dirname "$0")/e2e-lib.sh"
e2e_start
USERS_B=$(n_get $B DIR)/users

# ---- a box of the userdb, and an address that is not one ------------------------------------------
out=$(n_submit $A alice --to bob@$B,nessuno@$B --header "To: bob@$B, nessuno@$B" --header "Subject: Udb uno" --body "ciao")
e2e_expect "submission to bob and an unknown address" "$out" accept
e2e_wait "consegna for bob" alice@$A 1 "^X-Ricevuta: avvenuta-consegna" "^Subject: CONSEGNA: Udb uno$"
e2e_wait "no-dest avviso for nessuno" alice@$A 1 "^X-Ricevuta: errore-consegna" "Udb uno"
f=$(n_find alice@$A "^X-Ricevuta: errore-consegna" "Udb uno")
grep -q "<consegna>nessuno@$B</consegna>" <<<"$(e2e_daticert "$f" 2>/dev/null)" && ok || fail "the avviso is not for nessuno"
n_has bob@$B 1 "^X-Trasporto: posta-certificata" "Udb uno" && ok || fail "no busta at bob"

# ---- a box added to the userdb while everything runs ---------------------------------------------------
sed -n "s/^bob@$B:/nuova@$B:/p" "$USERS_B" | sed "s|/bob@$B|/nuova@$B|" >> "$USERS_B"
# Dovecot re-reads the passwd-file when it sees it changed: wait until its userdb has the box
known() { doveadm -c "$(n_get $B DIR)/dovecot/dovecot.conf" user -u "nuova@$B" >/dev/null 2>&1; }
wait_until 10 known && ok || fail "Dovecot's userdb does not see the new box"
out=$(n_submit $A alice --to nuova@$B --header "To: nuova@$B" --header "Subject: Udb nuova" --body "benvenuta")
e2e_expect "submission to the new box" "$out" accept
e2e_wait "consegna for the new box" alice@$A 1 "^X-Ricevuta: avvenuta-consegna" "^Subject: CONSEGNA: Udb nuova$"

# ---- and removed from it: past the cache, the no-dest avviso ----------------------------------------------
sed -i "/^nuova@$B:/d" "$USERS_B"
sleep 3
out=$(n_submit $A alice --to nuova@$B --header "To: nuova@$B" --header "Subject: Udb rimossa" --body "ci sei?")
e2e_expect "submission to the removed box" "$out" accept
e2e_wait "no-dest avviso for the removed box" alice@$A 1 "^X-Ricevuta: errore-consegna" "Udb rimossa"

# ---- the userdb field that lets a box take ordinary mail: wrapped, not refused -------------------------------
out=$(n_mx $B --from dave@example.org --to aperta@$B --header "Subject: Udb ordinaria" --body "posta ordinaria")
n_accepted "$out" && ok || fail "ordinary mail to aperta refused: $(n_reply "$out")"
e2e_wait "ordinary mail wrapped for aperta" aperta@$B 1 "^X-Trasporto: errore" "Udb ordinaria"
out=$(n_mx $B --from dave@example.org --to bob@$B --header "Subject: Udb ordinaria 2" --body "posta ordinaria")
n_refused "$out" && ok || fail "ordinary mail to bob (PEC only in the userdb) not refused: $(n_reply "$out")"
e2e_verify_everything
done_tests
