#!/usr/bin/env bash
# demo.sh - `make demo`: two PEC providers (pec-a.test, pec-b.test) on this machine, the scenarios of
# the README sent through them, a short account, every mailbox copied to build/demo/mail/.
#
# Usage: scripts/demo.sh [BUILD-DIR]   (run as root; `make demo` installs and builds first)
# Exit 0 only when every expected receipt arrived and every stored message verifies.
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
export PEC_SRC_DIR=$SRC
export PEC_BUILD_DIR=$(cd "${1:-$SRC/build}" && pwd)
OUT=$PEC_BUILD_DIR/demo
mkdir -p "$OUT"; rm -f "$OUT/logs.txt"
WAIT=${DEMO_WAIT:-120}
[ "$(id -u)" = 0 ] || { echo "demo: run as root (it starts private Postfix, Dovecot and PostgreSQL instances)" >&2; exit 1; }
# swaks needs these for STARTTLS; the build dependencies come from packaging/install-deps.sh
missing=()
for p in libnet-ssleay-perl libio-socket-ssl-perl; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null || { echo "demo: cannot install ${missing[*]}" >&2; exit 1; }
fi
. "$SRC/tests/harness/net.sh"
[ -x "$PEC_BUILD_DIR/tests/pec-testpki" ] || { echo "demo: $PEC_BUILD_DIR is not built (make build)" >&2; exit 1; }
[ -f "$N_DTD" ] || { echo "demo: no daticert DTD at $N_DTD" >&2; exit 1; }

A=pec-a.test B=pec-b.test
T0=$SECONDS
# the strict setup: trust anchors, index, trace store and a real clamd (its only signature EICAR's, so no
# download is needed) for both providers: nothing runs on an opt-out
h_clamd demo || { echo "demo: clamd did not start" >&2; exit 1; }
N_CLAMD_SOCKET=$HC_SOCKET
echo "demo: starting two providers ($A, $B): PostgreSQL, Postfix, pec-milter, pec-emitter, Dovecot + pec plugin"
n_net_start $A $B || { echo "demo: the network did not start" >&2; n_dump_logs >&2; exit 1; }
echo "demo: network up in $((SECONDS - T0)) s"
echo

FAILS=0
declare -a EXPECT=()   # ADDRESS, COUNT, DESCRIPTION, REGEX... separated by \x1f
# expect ADDRESS [COUNT] DESCRIPTION REGEX...: COUNT (default 1) stored messages matching every REGEX
expect() {
  local IFS=$'\x1f' addr=$1 n=1; shift
  [[ $1 =~ ^[0-9]+$ ]] && { n=$1; shift; }
  EXPECT+=("$addr$IFS$n$IFS$*")
}
say() { printf '  %-58s %s\n' "$1" "$2"; }
sent() {
  local what=$1 out=$2 want=$3
  if [ "$want" = accept ] && n_accepted "$out"; then say "$what" "accepted: $(n_reply "$out")"
  elif [ "$want" = refuse ] && n_refused "$out"; then say "$what" "refused: $(n_reply "$out")"
  else say "$what" "UNEXPECTED: $(n_reply "$out")"; FAILS=$((FAILS + 1)); fi
}

printf 'Contratto di fornitura: vedi allegato.\n' > "$T_TMP/contratto.txt"
echo "Messages sent:"
# 1. A -> B, one To, one Cc, an attachment
out=$(n_submit $A alice --to bob@$B,carol@$B --header "To: bob@$B" --header "Cc: carol@$B" \
      --header "Subject: Demo 1 contratto" --body "In allegato il contratto." --attach @"$T_TMP/contratto.txt")
sent "1. alice@$A -> bob@$B (To), carol@$B (Cc), attachment" "$out" accept
expect alice@$A "1: accettazione" "^X-Ricevuta: accettazione" "^Subject: ACCETTAZIONE: Demo 1 "
expect posta-certificata@$A "1: presa in carico from $B" "^X-Ricevuta: presa-in-carico" "^Subject: PRESA IN CARICO: Demo 1 "
expect alice@$A 2 "1: consegna for bob (To) and carol (Cc)" "^X-Ricevuta: avvenuta-consegna" "^Subject: CONSEGNA: Demo 1 "
expect bob@$B "1: busta in bob's mailbox" "^X-Trasporto: posta-certificata" "^Subject: POSTA CERTIFICATA: Demo 1 "
expect carol@$B "1: busta in carol's mailbox" "^X-Trasporto: posta-certificata" "^Subject: POSTA CERTIFICATA: Demo 1 "

# 2. A -> A
out=$(n_submit $A alice --to dora@$A --header "To: dora@$A" --header "Subject: Demo 2 stesso gestore" --body "Ciao Dora.")
sent "2. alice@$A -> dora@$A (same provider)" "$out" accept
expect alice@$A "2: accettazione" "^X-Ricevuta: accettazione" "^Subject: ACCETTAZIONE: Demo 2 "
expect alice@$A "2: consegna for dora" "^X-Ricevuta: avvenuta-consegna" "^Subject: CONSEGNA: Demo 2 "
expect dora@$A "2: busta in dora's mailbox" "^X-Trasporto: posta-certificata" "^Subject: POSTA CERTIFICATA: Demo 2 "

# 3. A -> B asking for a breve receipt
out=$(n_submit $A alice --to bob@$B --header "To: bob@$B" --header "X-TipoRicevuta: breve" \
      --header "Subject: Demo 3 ricevuta breve" --body "Ricevuta breve, per favore." --attach @"$T_TMP/contratto.txt")
sent "3. alice@$A -> bob@$B, X-TipoRicevuta: breve" "$out" accept
expect alice@$A "3: accettazione" "^X-Ricevuta: accettazione" "^Subject: ACCETTAZIONE: Demo 3 "
expect alice@$A "3: consegna breve (attachment replaced by its hash)" "^X-Ricevuta: avvenuta-consegna" "^Subject: CONSEGNA: Demo 3 " "contratto\.txt\.hash"
expect bob@$B "3: busta in bob's mailbox" "^Subject: POSTA CERTIFICATA: Demo 3 "

# 4. A -> a nonexistent B user
out=$(n_submit $A alice --to nessuno@$B --header "To: nessuno@$B" --header "Subject: Demo 4 destinatario inesistente" --body "Ci sei?")
sent "4. alice@$A -> nessuno@$B (no such mailbox)" "$out" accept
expect alice@$A "4: accettazione" "^X-Ricevuta: accettazione" "^Subject: ACCETTAZIONE: Demo 4 "
expect alice@$A "4: mancata consegna (no-dest)" "^X-Ricevuta: errore-consegna" "Demo 4 "

# 5. spoofed From at A
out=$(n_submit $A alice --to bob@$B --header "From: mallory@$A" --header "To: bob@$B" --header "Subject: Demo 5 mittente falso" --body "Sono Alice, giuro.")
sent "5. alice@$A submits with From: mallory@$A" "$out" refuse
expect alice@$A "5: avviso di non accettazione" "^X-Ricevuta: non-accettazione" "Demo 5 "

# 6. ordinary mail into B: refused; into a mailbox that accepts ordinary mail: anomaly
out=$(n_mx $B --from someone@example.net --to bob@$B --header "Subject: Demo 6 posta ordinaria" --body "Non certificata.")
sent "6. someone@example.net -> bob@$B (ordinary mail)" "$out" refuse
out=$(n_mx $B --from someone@example.net --to aperta@$B --header "Subject: Demo 7 posta ordinaria" --body "Non certificata.")
sent "7. someone@example.net -> aperta@$B (accepts ordinary)" "$out" accept
expect aperta@$B "7: busta di anomalia in aperta's mailbox" "^X-Trasporto: errore" "Demo 7 "

# ---- wait (bounded) for every expected receipt ----
deadline=$((SECONDS + WAIT))
while :; do
  missing=0
  for e in "${EXPECT[@]}"; do
    IFS=$'\x1f' read -r -a rx <<<"$e"
    [ "$(n_count "${rx[0]}" "${rx[@]:3}")" -ge "${rx[1]}" ] || missing=$((missing + 1))
  done
  [ $missing = 0 ] && break
  [ $SECONDS -ge $deadline ] && break
  sleep 0.5
done
echo
echo "Expected receipts and messages ($((SECONDS - T0)) s after start):"
for e in "${EXPECT[@]}"; do
  IFS=$'\x1f' read -r -a rx <<<"$e"
  addr=${rx[0]} want=${rx[1]} desc=${rx[2]}
  got=$(n_count "$addr" "${rx[@]:3}")
  f=$(n_find "$addr" "${rx[@]:3}")
  if [ "$got" -ge "$want" ]; then
    say "$desc" "ok  $(date -r "$f" +%T) in $addr$([ "$want" -gt 1 ] && echo " ($got)")"
  else
    say "$desc" "MISSING in $addr (got $got of $want)"; FAILS=$((FAILS + 1))
  fi
done
# nothing certified reached bob from the ordinary sender
[ "$(n_count bob@$B "Demo 6 ")" = 0 ] || { echo "  ordinary mail reached bob@$B"; FAILS=$((FAILS + 1)); }

sleep 1 # late extra messages, if any, are part of the account too
echo
echo "Signature and daticert.xml checks (openssl smime -verify -CAfile ca.pem, xmllint --dtdvalid):"
n_verify_all > "$T_TMP/verify.txt"
nbad=$?
echo "  $N_VERIFIED messages checked, $nbad failed"
sed 's/^/  /' "$T_TMP/verify.txt"
FAILS=$((FAILS + nbad))

n_copy_mail "$OUT/mail"
cp "$N_CA" "$OUT/ca.pem"
echo
echo "Mailboxes (copied to $OUT/mail/<domain>/<user>/):"
python3 "$SRC/scripts/mailbox-report.py" "$OUT/mail"
grep -h "TLS connection established" "$T_TMP"/net-*/postfix/postfix.log | grep -q "postfix/smtp\[" &&
  echo && echo "Provider to provider: STARTTLS, certificate verified against $OUT/ca.pem"
echo
if [ $FAILS = 0 ]; then
  echo "demo: OK: every expected receipt arrived; all $N_VERIFIED messages verify (CA: $OUT/ca.pem) ($((SECONDS - T0)) s)"
else
  n_dump_logs > "$OUT/logs.txt" 2>&1
  echo "demo: FAILED: $FAILS problem(s); logs in $OUT/logs.txt"
fi
echo "demo: stopping"
[ $FAILS = 0 ]
