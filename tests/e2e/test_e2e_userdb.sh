#!/usr/bin/env bash
# The mailboxes live in Dovecot's userdb only (issue 16): the reception points ask the auth-userdb
# socket.  A box in the userdb receives certified mail; an address that is not there gets the no-dest
# avviso; a box added to the userdb while the system runs receives mail, and once removed (after the
# cache's few seconds) gets the no-dest avviso; a box whose userdb fields say it takes ordinary mail gets
# it wrapped.  The per-box fields: limits of what a box sends, the notice of each new PEC, a disabled box;
# pecctl box show prints them as the points apply them.
N_USERDB_CACHE=2
# boxes with their own settings in the userdb (the table in the README): limits of what the box sends,
# a notice of each new PEC to an ordinary address, a disabled box
N_USERS="alice bob carol dora aperta:ordinary piena:quota posta-certificata
  limitata:pec_max_recipients=1+pec_max_message_size=3000 avvisata:pec_notify=avvisi@example.org
  spenta:pec_mailbox_disabled=yes"
. "$(dirname "$0")/e2e-lib.sh"
EXT=$(free_port)
h_sink ext "$EXT" || bail "smtp-sink did not start"
N_EXTRA_TRANSPORT="example.org smtp:[127.0.0.1]:$EXT"
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
# ---- at RCPT time: ordinary mail for no box is refused there (no busta can come from its sender) -----------
out=$(n_mx $B --from dave@example.org --to nessuno@$B --header "Subject: Udb nessuno" --body "c'e' qualcuno?")
grep -A1 "RCPT TO:<nessuno@$B>" <<<"$out" | grep -qE "^<(\*\*|~\*) +550 5\.1\.1 " && ok ||
  fail "ordinary mail for no box not refused at RCPT: $(n_reply "$out")"

# ---- the box's own limits replace the provider's (500 recipients, 50 MB) for what it sends ------------
out=$(n_submit $A limitata --to bob@$B,carol@$B --header "To: bob@$B, carol@$B" --header "Subject: Udb due" --body "a due")
e2e_expect "limitata to two recipients" "$out" refuse "552.*al massimo 1"
e2e_wait "non accettazione for two recipients" limitata@$A 1 "^X-Ricevuta: non-accettazione" "Udb due"
big=$(head -c 4000 /dev/zero | tr '\0' x | fold -w 76)
out=$(n_submit $A limitata --to bob@$B --header "To: bob@$B" --header "Subject: Udb grande" --body "$big")
e2e_expect "limitata over its 3000 bytes" "$out" refuse "552.*3000 byte"
out=$(n_submit $A limitata --to bob@$B --header "To: bob@$B" --header "Subject: Udb piccolo" --body "poco")
e2e_expect "limitata within its limits" "$out" accept
e2e_wait "consegna for limitata" limitata@$A 1 "^X-Ricevuta: avvenuta-consegna" "^Subject: CONSEGNA: Udb piccolo$"

# ---- pec_notify: the box's owner hears of each new PEC at an ordinary address -----------------------------
out=$(n_submit $A alice --to avvisata@$B --header "To: avvisata@$B" --header "Subject: Udb avviso" --body "nuova")
e2e_expect "submission to avvisata" "$out" accept
e2e_wait "consegna for avvisata" alice@$A 1 "^X-Ricevuta: avvenuta-consegna" "^Subject: CONSEGNA: Udb avviso$"
wait_count "h_sink_count ext" 1 30 && ok || fail "no notice reached the notification address"
h_sink_messages ext "$T_TMP/got-ext"
grep -lq "avvisi@example.org" "$T_TMP"/got-ext/*.rcpt 2>/dev/null && ok || fail "the notice is not for avvisi@example.org"

# ---- pec_mailbox_disabled: every busta gets an avviso di mancata consegna ------------------------------------
out=$(n_submit $A alice --to spenta@$B --header "To: spenta@$B" --header "Subject: Udb spenta" --body "ci sei?")
e2e_expect "submission to the disabled box" "$out" accept
e2e_wait "mancata consegna for the disabled box" alice@$A 1 "^X-Ricevuta: errore-consegna" "Udb spenta"
f=$(n_find alice@$A "^X-Ricevuta: errore-consegna" "Udb spenta")
grep -q "<errore-esteso>5.2.1" <<<"$(e2e_daticert "$f" 2>/dev/null)" && ok || fail "the avviso for spenta is not 5.2.1"
[ "$(n_count spenta@$B)" = 0 ] && ok || fail "the disabled box stored something"

# ---- pecctl box show: the same settings as the points apply them ----------------------------------------------
show() { "$PECCTL" box show --config "$(n_get "${1#*@}" DIR)/provider.conf" "$1" 2>&1; }
out=$(show limitata@$A)
grep -q "^max_recipients: 1 (the box's)$" <<<"$out" && grep -q "^max_message_size: 3000 (the box's)$" <<<"$out" &&
  grep -q "^accepts_ordinary: no" <<<"$out" && ok || fail "box show limitata: $out"
out=$(show avvisata@$B)
grep -q "^notify: avvisi@example.org$" <<<"$out" && grep -q "^max_recipients: 500 (the provider's)$" <<<"$out" && ok ||
  fail "box show avvisata: $out"
grep -q "^disabled: yes" <<<"$(show spenta@$B)" && ok || fail "box show spenta: $(show spenta@$B)"
grep -q "^accepts_ordinary: yes" <<<"$(show aperta@$B)" && ok || fail "box show aperta: $(show aperta@$B)"
grep -q "^quota: .*1k" <<<"$(show piena@$B)" && ok || fail "box show piena: $(show piena@$B)"
out=$(show nessuno@$B) && fail "box show of an unknown box exits 0" || ok
grep -q "^exists: no" <<<"$out" && ok || fail "box show nessuno: $out"

e2e_verify_everything
done_tests
