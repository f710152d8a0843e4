#!/usr/bin/env bash
# phase.sh plain|pec|latency OUT-JSON [RATE]: one part of `make bench` on its own fresh two-provider
# network (tests/harness/net.sh), stopped at exit.
#   plain:   Postfix + Dovecot only (no milter, no plugin), alice@pec-a.test -> bob@pec-b.test, measured
#            to the last delivery in bob's Maildir
#   pec:     the whole PEC system, measured to the last avvenuta consegna in alice's Maildir
#   latency: the PEC system at RATE messages/s (10 % of the measured capacity) for BENCH_LATENCY_SECONDS,
#            submit-to-consegna latency (a fresh network, so no backlog of the bounded pec run counts)
set -u
MODE=$1 OUT=$2 RATE=${3:-}
SRC=$(cd "$(dirname "$0")/.." && pwd)
[ "$MODE" = plain ] && N_PEC=0
. "$SRC/tests/harness/net.sh"
N=${BENCH_MESSAGES:-2000} SIZE=${BENCH_SIZE:-5120} CONNS=${BENCH_CONNS:-4} LIMIT=${BENCH_PHASE_SECONDS:-200}
LSECS=${BENCH_LATENCY_SECONDS:-30}
A=pec-a.test B=pec-b.test
n_net_start $A $B || { n_dump_logs >&2; exit 1; }
run() { python3 "$SRC/bench/bench.py" --port "$(n_get $A SUB)" --ca "$N_CA" --user alice@$A --to bob@$B --size "$SIZE" "$@"; }
# the CPU time of each component while the phase runs (bench/cpu.py), beside OUT-JSON
python3 "$SRC/bench/cpu.py" "${OUT%.json}.cpu.json" "$T_TMP/cpu.stop" & CPU_PID=$!
case $MODE in
  plain)
    run --maildir "$(n_maildir bob@$B)" --count "$N" --conns "$CONNS" --timeout "$LIMIT" --tag bench-plain > "$OUT" ;;
  pec)
    run --maildir "$(n_maildir alice@$A)" --match "^X-Ricevuta: avvenuta-consegna" --count "$N" \
        --conns "$CONNS" --timeout "$LIMIT" --tag bench-pec > "$OUT" ;;
  latency)
    ln=$(python3 -c "print(max(5, min(300, int($RATE * $LSECS))))")
    # submission stops at 75 % of the timeout: the paced run fits in it, the rest is for the last receipts
    run --maildir "$(n_maildir alice@$A)" --match "^X-Ricevuta: avvenuta-consegna" --count "$ln" \
        --rate "$RATE" --timeout $(( LSECS * 4 / 3 + 30 )) --tag bench-lat > "$OUT" ;;
esac
touch "$T_TMP/cpu.stop"
wait "$CPU_PID"
