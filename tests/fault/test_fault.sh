#!/usr/bin/env bash
# Fault injection (label fault): the two-provider network under a steady load of certified messages with
# several recipients (two with 67), while every part is broken in turn:
#   - SIGKILL at random moments of pec-milter (access, reception), pec-emitter, Dovecot's lmtp, the whole
#     PostgreSQL cluster and the Postfix master of either provider, each restarted as a supervisor would;
#   - a full file system (tmpfs) under pec-a's outbox, pec-a's quarantine and pec-b's homes (the marks);
#   - clamd answering garbage, slow, stopped (fakeclamd.py);
#   - PostgreSQL slower than the trace's statement timeout, on either side (a table lock);
#   - Postfix refusing receipts with 5xx (pec-b's injection refuses every receipt to rifiuta@pec-a.test).
# Then recovery: everything restarted, queues flushed until empty, the 12 h / 24 h timers run at +13 h and
# +25 h.  invariants.py reads the mailboxes and both trace stores and prints one line,
#   fault: messages=N accepted=A receipts_without_queued_message=0 accepted_without_trace=0 lost_receipts=0
#          duplicate_consegna=0 untraced_receipts=0 ... faults=...
# failing when an invariant is not 0.  FAULT_SEED replays the same kill sequence, FAULT_N sets the load.
. "$(dirname "$0")/../e2e/e2e-lib.sh"
need_tools mount umount python3 psql
"$PECCTL" timers 2>&1 | grep -q "timers run" || skip "pecctl timers not built"
FAULT_SEED=${FAULT_SEED:-$(( $(date +%s) % 100000 ))}
N=${FAULT_N:-30}
echo "fault: FAULT_SEED=$FAULT_SEED FAULT_N=$N (run again with the same FAULT_SEED for the same kill sequence)"
F=$T_TMP/fault
mkdir -p "$F/sub"
: > "$F/faults.log"
fault() { echo "$1" >> "$F/faults.log"; echo "$(date +%T.%N | cut -c1-12) $1" >> "$F/faults-at.log"; }
tick() { echo "$(date +%T) $*"; }

# ---- full file systems: small tmpfs mounts under what must be written before an answer ---------------
FULL_DIRS=("$T_TMP/net-a/outbox" "$T_TMP/net-a/quarantine" "$T_TMP/net-b/home")
for m in "${FULL_DIRS[@]}"; do
  mkdir -p "$m"
  mount -t tmpfs -o size=16m,mode=0755 tmpfs "$m" || bail "cannot mount a tmpfs on $m (the full-disk faults need it)"
  at_exit umount -l "$m"
done
# fill DIR / unfill DIR: the file system under DIR full (a hidden file no daemon reads), then not
fill() { dd if=/dev/zero of="$1/.fault-filler" bs=64k status=none 2>/dev/null; df --output=avail "$1" | tail -1 | grep -qx ' *0' ; }
unfill() { rm -f "$1/.fault-filler"; }

# ---- clamd that misbehaves on request ----------------------------------------------------------------
echo ok > "$F/clamd-mode"
start_clamd() {
  h_bg fakeclamd python3 "$PEC_SRC_DIR/tests/fault/fakeclamd.py" "$F/clamd.sock" "$F/clamd-mode"
  wait_socket "$F/clamd.sock" 10
}
start_clamd || bail "fakeclamd did not start"

# ---- the network: users u01..u66 for the large messages, rifiuta whose receipts pec-b's Postfix refuses --
N_USERS="alice bob carol dora rifiuta posta-certificata $(printf 'u%02d ' $(seq 1 66))"
N_CLAMD_SOCKET=$F/clamd.sock
N_EMITTER_RETRY=2
N_CONF_EXTRA="max_message_size = 8388608"
: > "$F/refuse-a"
echo "rifiuta@$A REJECT 5.7.1 fault suite: receipts to this address are refused" > "$F/refuse-b"
N_INJECT_EXTRA="-o smtpd_recipient_restrictions=check_recipient_access,texthash:$F/refuse-%k"
tick "starting the network"
e2e_start
CONF_A=$(n_get $A DIR)/provider.conf
CONF_B=$(n_get $B DIR)/provider.conf

# submit K FROM RCPTS KIND [BODY]: one submission at pec-a (To: folded over lines), its outcome in sub/K
submit() {
  local k=$1 from=$2 rcpts=$3 kind=$4 body=${5:-"messaggio $4"} msg=$F/msg-$1.eml out accepted=0
  {
    printf 'From: %s@%s\r\nTo: %s\r\nSubject: fault %s\r\nMessage-ID: <fault-%s@client.test>\r\n' \
      "$from" "$A" "${rcpts//,/,$'\r\n' }" "$k" "$k"
    printf 'Date: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n' \
      "$(date -R)" "$body"
  } > "$msg"
  out=$(n_submit $A "$from" --to "$rcpts" --data @"$msg" --timeout 30)
  n_accepted "$out" && accepted=1
  printf 'k=%s\nfrom=%s@%s\nrcpts=%s\nkind=%s\naccepted=%s\nreply=%s\n' "$k" "$from" "$A" "$rcpts" "$kind" \
    "$accepted" "$(n_reply "$out")" > "$F/sub/$k"
  echo "$accepted $(n_reply "$out")"
}
# expect K WANT(2|4|5) DESCRIPTION: the submission K got a reply of that class
expect() {
  local got
  got=$(sed -n 's/^reply=//p' "$F/sub/$1")
  [ "${got:0:1}" = "$2" ] && ok || fail "$3: expected ${2}xx, got '$got'"
}
many() { local i s="bob@$B"; for i in $(seq 1 66); do s+=$(printf ',u%02d@%s' "$i" "$B"); done; echo "$s"; }

# ---- restarting what was killed, as a supervisor does ------------------------------------------------
DAEMONS=("$A milter-access" "$A milter-reception" "$A emitter" "$B milter-access" "$B milter-reception" "$B emitter")
pg_kill() {
  local pm kids
  pm=$(n_pg_postmaster) || return 1
  kids=$(ps -o pid= --ppid "$pm")
  kill -9 "$pm" $kids 2>/dev/null
  wait_until 10 all_gone "$pm" $kids
  n_pg_restart >/dev/null 2>&1
}
postfix_kill() {
  local m
  m=$(n_postfix_master "$1")
  [ -n "$m" ] || return 1
  kill -9 "$m"
  wait_until 10 all_gone "$m"
  wait_until 20 n_postfix_start "$1"
}
# recover: everything that should run runs again (a daemon that could not start, e.g. while clamd was
# away, is started here)
recover() {
  local d dom
  [ -n "$(n_pg_postmaster)" ] || n_pg_restart >/dev/null 2>&1
  for dom in $A $B; do [ -n "$(n_postfix_master $dom)" ] || n_postfix_start $dom; done
  for d in "${DAEMONS[@]}"; do
    # shellcheck disable=SC2086
    n_alive $d || n_daemon $d
  done
  for dom in $A $B; do n_provider_ready $dom || return 1; done
}

# killer: SIGKILL one part at a time, 1.0-2.5 s apart, each kind at least once (shuffled rounds from
# FAULT_SEED) and on until the load is over
VICTIMS=(milter-access:$A milter-reception:$A milter-reception:$B emitter:$A emitter:$B lmtp:$A lmtp:$B
         postgres postfix:$A postfix:$B)
killer() {
  local round=() i j tmp v what dom t rounds=0 p
  RANDOM=$FAULT_SEED
  while :; do
    round=("${VICTIMS[@]}")
    for ((i = ${#round[@]} - 1; i > 0; i--)); do
      j=$((RANDOM % (i + 1))); tmp=${round[i]}; round[i]=${round[j]}; round[j]=$tmp
    done
    for v in "${round[@]}"; do
      [ $rounds -gt 0 ] && [ -f "$F/load-done" ] && return 0
      t=$((10 + RANDOM % 16)); sleep "${t:0:1}.${t:1}"
      what=${v%%:*} dom=${v#*:}
      case $what in
        milter-*|emitter)
          p=$(n_pid "$dom" "$what")
          [ -n "$p" ] && kill -9 "$p" 2>/dev/null && fault "kill-$what"
          sleep 0.3; n_daemon "$dom" "$what" ;;
        lmtp)
          p=$(n_lmtp_pids "$dom")
          # shellcheck disable=SC2086
          [ -n "$p" ] && kill -9 $p 2>/dev/null && fault "kill-lmtp" ;;
        postgres) pg_kill && fault "kill-postgres" ;;
        postfix) postfix_kill "$dom" && fault "kill-postfix-master" ;;
      esac
    done
    rounds=$((rounds + 1))
  done
}

# ---- 1. the load, with the killer -------------------------------------------------------------------
client() {
  local k from rcpts
  for k in $(seq "$1" 2 "$N"); do
    from=alice; [ $((k % 10)) = 3 ] && from=rifiuta
    rcpts="bob@$B,carol@$B,dora@$B,bob@$A"
    { [ "$k" = 7 ] || [ "$k" = 19 ]; } && rcpts=$(many)
    submit "$k" "$from" "$rcpts" load >/dev/null
  done
}
tick "load of $N messages with the killer"
killer > "$F/killer.log" 2>&1 &
KILLER=$!
track_pid $KILLER
client 1 & C1=$!
client 2 & C2=$!
wait $C1 $C2
touch "$F/load-done"
wait $KILLER
tick "load done: $(grep -l '^accepted=1' "$F"/sub/* | wc -l) of $N accepted; $(wc -l < "$F/faults.log") kills"
recover || { n_dump_logs >&2; bail "the network did not come back after the kills"; }

# ---- 2. one fault at a time, each with a submission whose answer is known -----------------------------
K=$N
next() { K=$((K + 1)); echo $K; }
VIRUS="FAULT-TEST-VIRUS-SIGNATURE in this message"

fill "$T_TMP/net-a/outbox" && fault "full-outbox" || fail "outbox tmpfs not full"
k=$(next); submit $k alice "bob@$B" outbox-full >/dev/null; expect $k 4 "outbox full"
unfill "$T_TMP/net-a/outbox"

fill "$T_TMP/net-a/quarantine" && fault "full-quarantine" || fail "quarantine tmpfs not full"
k=$(next); submit $k alice "bob@$B" quarantine-full "$VIRUS" >/dev/null; expect $k 4 "quarantine full, virus"
unfill "$T_TMP/net-a/quarantine"
k=$(next); submit $k alice "bob@$B" virus "$VIRUS" >/dev/null; expect $k 5 "virus, quarantine writable"
VIRUS_K=$k

fill "$T_TMP/net-b/home" && fault "full-marks" || fail "home tmpfs not full"
k=$(next); submit $k alice "bob@$B,carol@$B" marks-full >/dev/null; expect $k 2 "pec-a accepts while pec-b's disk is full"
sleep 6 # pec-b takes the busta and fails its delivery (4xx: it stays queued at pec-b)
unfill "$T_TMP/net-b/home"

echo garbage > "$F/clamd-mode"; fault "clamd-garbage"
k=$(next); submit $k alice "bob@$B" clamd-garbage >/dev/null; expect $k 4 "clamd answers garbage"
echo slow > "$F/clamd-mode"; fault "clamd-slow"
k=$(next); submit $k alice "bob@$B" clamd-slow >/dev/null; expect $k 2 "clamd slow (4 s, within its timeout)"
echo ok > "$F/clamd-mode"
kill -9 "$(cat "$T_TMP/fakeclamd.pid")"; rm -f "$F/clamd.sock"; fault "clamd-stopped"
k=$(next); submit $k alice "bob@$B" clamd-stopped >/dev/null; expect $k 4 "clamd stopped"
start_clamd || bail "fakeclamd did not start again"

# PostgreSQL slower than the statement timeout (5 s): a lock held 9 s on the table every write needs
# (started in this shell, not in $(...), so that `wait` can reap it)
lock_db() { n_psql "$1" -c "BEGIN; LOCK TABLE chain_heads IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(9); COMMIT;" >/dev/null 2>&1 & LOCK_PID=$!; }
lock_db $A; sleep 0.5; fault "pg-slow"
k=$(next); submit $k alice "bob@$B" pg-slow-a >/dev/null; expect $k 4 "pec-a's trace store locked"
wait "$LOCK_PID"
lock_db $B; sleep 0.5; fault "pg-slow"
k=$(next); submit $k alice "bob@$B,carol@$B" pg-slow-b >/dev/null; expect $k 2 "pec-a accepts while pec-b's trace store is locked"
wait "$LOCK_PID"

# ---- 3. recovery: all up, queues flushed until empty, then the timers at +13 h and +25 h ---------------
recover || { n_dump_logs >&2; bail "the network did not come back"; }
queues_empty() {
  local dom n=0
  for dom in $A $B; do
    postqueue -c "$(n_get $dom DIR)/postfix/etc" -f 2>/dev/null
    n=$((n + $(postqueue -c "$(n_get $dom DIR)/postfix/etc" -j 2>/dev/null | wc -l)))
  done
  [ "$n" = 0 ]
}
# empty twice, 4 s apart: pec-emitter's retry (-R 2) may still hand Postfix what it owes
settle() { WAIT_STEP=2 wait_until 150 queues_empty && sleep 4 && WAIT_STEP=2 wait_until 60 queues_empty; }
tick "recovery"
settle && ok || fail "the queues did not drain: $(postqueue -c "$(n_get $A DIR)/postfix/etc" -p | tail -3) $(postqueue -c "$(n_get $B DIR)/postfix/etc" -p | tail -3)"
now=$(date +%s)
for h in 13 25; do
  for c in "$CONF_A" "$CONF_B"; do
    "$PECCTL" timers run --config "$c" --now $((now + h * 3600)) >> "$F/timers.log" 2>&1 || fail "timers at +$h h: $(tail -1 "$F/timers.log")"
  done
  settle || fail "the queues did not drain after the timers at +$h h"
done
tick "checking"
e2e_wait "non accettazione per virus" alice@$A 1 "^X-Ricevuta: non-accettazione" "fault $VIRUS_K"
# every receipt pec-b's Postfix refused is traced once as ricevuta-rifiutata: one fault each
refused=$(n_psql $B -Atc "SELECT count(*) FROM events WHERE type = 'ricevuta-rifiutata'")
[ "${refused:-0}" -gt 0 ] && ok || fail "no ricevuta-rifiutata traced at pec-b"
for ((i = 0; i < ${refused:-0}; i++)); do fault "postfix-5xx-receipt"; done

# ---- 4. the invariants --------------------------------------------------------------------------------
for dom in $A $B; do
  n_psql $dom -At -F $'\t' -c "SELECT type, coalesce(identificativo, ''), coalesce(message_id, ''),
      array_to_string(recipients, ',') FROM events" > "$F/events-$(n_key $dom).tsv" || fail "events of $dom"
done
n_psql $A -At -F $'\t' -c "SELECT identificativo, encode(subject, 'escape'), queued_at IS NOT NULL FROM messages" \
  > "$F/messages-a.tsv" || fail "messages of $A"
# on a failure, what CI needs to find the path taken: the faults with their times, and every log line
# about the messages the failing invariants name
diagnose() {
  echo "faults, in order:"; sed 's/^/  /' "$F/faults-at.log"
  grep -oE '(pec1\.[a-z0-9.]+@[a-z0-9.-]+|<[^> ]+>)' "$F/invariants.out" | tr -d '<>' | sort -u | head -6 |
    while read -r id; do
      echo "log lines naming $id:"
      grep -hF "$id" "$T_TMP"/net-*/*/*.log "$T_TMP"/*.log 2>/dev/null | cut -c1-400 | head -25 | sed 's/^/  /'
    done
}
if python3 "$PEC_SRC_DIR/tests/fault/invariants.py" "$T_TMP" "$A" "$B" "$FAULT_SEED" > "$F/invariants.out"; then
  cat "$F/invariants.out"; ok
else
  cat "$F/invariants.out"; diagnose; fail "an invariant does not hold (see above)"
fi
e2e_verify_everything
done_tests
