#!/usr/bin/env bash
# 12 h / 24 h timers with an injected clock: a certified message to a provider (pec-c.test, in the index)
# that takes the busta and never answers; `pecctl timers run --now` at +13 h sends the preavviso di
# mancata consegna (12 h), at +25 h the mancata consegna per timeout (24 h); a recipient whose
# consegna arrived gets neither; a second run sends nothing again; each notice's <risposte> is the
# original Reply-To.
. "$(dirname "$0")/e2e-lib.sh"
"$PECCTL" timers 2>&1 | grep -q "timers run" || skip "pecctl timers not built"
SILENT=$(free_port)
h_sink silent "$SILENT" || bail "smtp-sink did not start"
N_INDEX_ONLY=pec-c.test
N_EXTRA_TRANSPORT="pec-c.test smtp:[127.0.0.1]:$SILENT"
e2e_start
CONF_A=$(n_get $A DIR)/provider.conf
out=$(n_submit $A alice --to zed@pec-c.test,bob@$B --header "To: zed@pec-c.test, bob@$B" --header "Subject: Tim 1" --header "Reply-To: segreteria@$A" --body "Risponderai?")
e2e_expect "submission" "$out" accept
e2e_wait "accettazione" alice@$A 1 "^X-Ricevuta: accettazione" "^Subject: ACCETTAZIONE: Tim 1$"
e2e_wait "consegna for bob" alice@$A 1 "^X-Ricevuta: avvenuta-consegna" "^Subject: CONSEGNA: Tim 1$"
wait_count "h_sink_count silent" 1 30 && ok || fail "busta for pec-c.test not relayed"
acc=$(n_find alice@$A "^Subject: ACCETTAZIONE: Tim 1$")
[ -n "$acc" ] && e2e_daticert "$acc" | grep -q '<destinatari tipo="certificato">zed@pec-c.test</destinatari>' && ok || fail "zed not certificato"
sleep 2
now=$(date +%s)
run_timers() { "$PECCTL" timers run --config "$CONF_A" --now "$1" 2>&1; }
out=$(run_timers $((now + 6 * 3600)))
grep -q "timers: 0 sent, 0 failed" <<<"$out" && ok || fail "at +6 h nothing is due: $out"
out=$(run_timers $((now + 13 * 3600)))
grep -q "timers: 1 sent, 0 failed" <<<"$out" && ok || fail "at +13 h one preavviso is due: $out"
e2e_wait "preavviso 12 h" alice@$A 1 "^X-Ricevuta: preavviso-errore-consegna" "Tim 1"
out=$(run_timers $((now + 14 * 3600)))
grep -q "timers: 0 sent, 0 failed" <<<"$out" && ok || fail "the 12 h notice is sent once: $out"
out=$(run_timers $((now + 25 * 3600)))
grep -q "timers: 1 sent, 0 failed" <<<"$out" && ok || fail "at +25 h the 24 h notice is due: $out"
e2e_wait "avviso 24 h" alice@$A 2 "^X-Ricevuta: (preavviso-)?errore-consegna" "Tim 1"
out=$(run_timers $((now + 30 * 3600)))
grep -q "timers: 0 sent, 0 failed" <<<"$out" && ok || fail "nothing more after 24 h: $out"
sleep 2
for f in $(n_msgs alice@$A); do
  grep -q "Tim 1" "$f" && grep -qE "^X-Ricevuta: (preavviso-)?errore-consegna" "$f" || continue
  e2e_daticert "$f" | grep -q "<consegna>zed@pec-c.test</consegna>" && ok || fail "a timeout notice not about zed"
  # the notice answers to where the sender asked replies to go (its Reply-To), as the busta did
  e2e_daticert "$f" | grep -q "<risposte>segreteria@$A</risposte>" && ok || fail "a timeout notice without the original Reply-To"
done
e2e_verify_everything
done_tests
