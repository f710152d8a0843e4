#!/usr/bin/env bash
# test_metrics.sh - `pecctl metrics` writes the Prometheus text format (parsed by prometheus_client, a
# parser we did not write) with what the trace store and the folders hold: events of the last 24 hours
# by type, receipts pending, notices due by the timers' own thresholds, the quarantine, the checkpoint's
# age, the outbox; a trace store that cannot be read gives pec_trace_up 0 and exit status 1.
# Runs under tests/db/pg_harness.sh.
. "$PEC_SRC_DIR/tests/sh/lib.sh"
[ -n "${PEC_TEST_DB:-}" ] || skip "run under tests/db/pg_harness.sh"
PY=/usr/bin/python3
$PY -c 'import prometheus_client.parser' 2>/dev/null || skip "python3-prometheus-client is not installed"
psql_q() { $PEC_TEST_PSQL -At -c "$1" >/dev/null 2>&1; }
"$PECCTL" db migrate --db "$PEC_TEST_DB" >/dev/null || fail "migrate"
"$PECCTL" example --out "$T_TMP/pki" >/dev/null || fail "example"
recording_sendmail
mkdir -p "$T_TMP/outbox/0123456789abcdef0123456789abcdef" "$T_TMP/outbox/unclaimed/fedcba9876543210fedcba9876543210" \
  "$T_TMP/quarantine"
printf '0123456789' > "$T_TMP/quarantine/virus.1"
db_provider_conf "$T_TMP/pki" "outbox_dir = $T_TMP/outbox" "quarantine_dir = $T_TMP/quarantine"

T0=1795417200
ts() { date -u -d "@$1" '+%Y-%m-%d %H:%M:%S+00'; }
# two certified recipients waiting since T0, one delivered: pending 2
for r in a b c; do
  psql_q "INSERT INTO messages (identificativo, client_msgid, sender, subject, receipt_type, accepted_at, node, queued_at)
          VALUES ('m$r@pec-esempio.test', '<c$r@mua>', 'alice@pec-esempio.test', convert_to('m$r', 'UTF8'),
                  'completa', '$(ts $T0)', 0, '$(ts $T0)')" || fail "seed m$r"
done
psql_q "INSERT INTO recipients (identificativo, address, certified, header) VALUES
        ('ma@pec-esempio.test', 'x@pec-remoto.test', true, 'to'), ('mb@pec-esempio.test', 'y@pec-remoto.test', true, 'to')"
psql_q "INSERT INTO recipients (identificativo, address, certified, header, consegna_at) VALUES
        ('mc@pec-esempio.test', 'z@pec-remoto.test', true, 'to', '$(ts $((T0 + 60)))')"
psql_q "INSERT INTO quarantine (identificativo, detected_at, virus, storage_ref, node)
        VALUES ('ma@pec-esempio.test', '$(ts $T0)', 'Eicar-Test-Signature', 'virus.1', 0)" || fail "seed quarantine"

metrics() { "$PECCTL" metrics --config "$T_TMP/provider.conf" --now "$1" --out "$T_TMP/pec.prom" 2>"$T_TMP/err"; }
# value NAME [LABELS]: the sample's value, as prometheus_client parses the file
value() {
  $PY - "$T_TMP/pec.prom" "$1" "${2:-}" <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families
path, name, labels = sys.argv[1:4]
want = dict(kv.split("=", 1) for kv in labels.split(",") if kv)
for fam in text_string_to_metric_families(open(path).read()):
    for s in fam.samples:
        if s.name == name and s.labels == want:
            v = s.value
            print("inf" if v == float("inf") else int(v) if v == int(v) else v)
PY
}

# 11 h after: nothing due yet, no checkpoint
metrics $((T0 + 11 * 3600)) && ok || fail "metrics: $(cat "$T_TMP/err")"
[ "$(value pec_trace_up)" = 1 ] && ok || fail "pec_trace_up"
[ "$(value pec_receipts_pending)" = 2 ] && ok || fail "pending: $(value pec_receipts_pending)"
[ "$(value pec_timer_notices_due notice=12h)" = 0 ] && ok || fail "nothing due at 11 h"
[ "$(value pec_trace_checkpoint_age_seconds)" = inf ] && ok || fail "no checkpoint: +Inf, got $(value pec_trace_checkpoint_age_seconds)"
[ "$(value pec_quarantine_messages)" = 1 ] && ok || fail "quarantine messages"
[ "$(value pec_quarantine_bytes)" = 10 ] && ok || fail "quarantine bytes"
[ "$(value pec_outbox_entries state=waiting)" = 1 ] && ok || fail "outbox waiting"
[ "$(value pec_outbox_entries state=unclaimed)" = 1 ] && ok || fail "outbox unclaimed"
# 12 h 1 min: the two waiting recipients are due their 12 h notice; the timers send them (two events)
metrics $((T0 + 12 * 3600 + 60)) && ok || fail "metrics at 12 h"
[ "$(value pec_timer_notices_due notice=12h)" = 2 ] && ok || fail "two 12 h notices due: $(value pec_timer_notices_due notice=12h)"
[ "$(value pec_timer_notices_due notice=24h)" = 0 ] && ok || fail "no 24 h notice due at 12 h"
"$PECCTL" timers run --config "$T_TMP/provider.conf" --now $((T0 + 12 * 3600 + 60)) >/dev/null 2>&1 || fail "timers run"
"$PECCTL" trace checkpoint --config "$T_TMP/provider.conf" --now $((T0 + 12 * 3600 + 90)) >/dev/null 2>&1 || fail "checkpoint"
metrics $((T0 + 12 * 3600 + 120)) && ok || fail "metrics after the timers"
[ "$(value pec_timer_notices_due notice=12h)" = 0 ] && ok || fail "sent: none due"
[ "$(value pec_trace_events_last_24h type=preavviso-errore-consegna-12h)" = 2 ] && ok ||
  fail "two 12 h notice events: $(value pec_trace_events_last_24h type=preavviso-errore-consegna-12h)"
[ "$(value pec_trace_checkpoint_age_seconds)" = 30 ] && ok || fail "checkpoint age: $(value pec_trace_checkpoint_age_seconds)"
# 22 h: the 24 h notices are due (from 22 h, as the timers send them)
metrics $((T0 + 22 * 3600 + 60)) && ok || fail "metrics at 22 h"
[ "$(value pec_timer_notices_due notice=24h)" = 2 ] && ok || fail "two 24 h notices due at 22 h"
# the events of the last 24 hours only: two days later they are out of the window
metrics $((T0 + 60 * 3600)) && ok || fail "metrics two days later"
[ "$(value pec_trace_events_last_24h type=preavviso-errore-consegna-12h)" = 0 ] && ok || fail "old events still counted"

# the trace store away: pec_trace_up 0, status 1, the folders still reported
sed -i "s|^database = .*|database = host=$T_TMP/nowhere dbname=x|" "$T_TMP/provider.conf"
metrics $((T0 + 60 * 3600)) && fail "metrics succeeded without the trace store" || ok
[ "$(value pec_trace_up)" = 0 ] && ok || fail "pec_trace_up is not 0"
[ "$(value pec_outbox_entries state=waiting)" = 1 ] && ok || fail "outbox not reported without the trace store"
done_tests
