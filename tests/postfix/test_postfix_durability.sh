#!/usr/bin/env bash
# Durability: 200 submissions while pec-milter and pec-emitter are killed with SIGKILL and restarted.
# After recovery: every submission the client saw queued (250) was relayed as a busta and got its
# accettazione (all copies of one accettazione carry the same Message-ID, so delivery deduplicates a
# copy re-sent after a crash); no accettazione exists for a submission that was not queued.
. "$(dirname "$0")/../harness/lib.sh"
need_tools postfix swaks dovecot
need_root "private Postfix instances"
N=${PEC_DURABILITY_N:-200}
# durability, not virus checks, is measured here: no scanner, and the configuration says so
h_example_provider "/usr/sbin/sendmail -C $T_TMP/postfix-a/etc" "allow_unscanned = yes" || bail "pecctl example"
printf 'alice@%s\nbob@%s\n' $D $D > "$T_TMP/mailboxes"
printf 'alice@%s:{PLAIN}secret\n' $D > "$T_TMP/users"
read -r SUB MX MA MR AUTH EM LOCAL REMOTE <<<"$(free_ports 8)"
# our daemons on unix sockets, as `pecctl setup postfix` prints them
h_pec_run
MAS=$H_RUN/access.sock MRS=$H_RUN/reception.sock EMS=$H_RUN/emitter.sock
if [ -n "${PEC_TEST_DB:-}" ]; then
  echo "database = $PEC_TEST_DB" >> "$T_TMP/provider.conf"
  "$PECCTL" db migrate --db "$PEC_TEST_DB" >/dev/null || fail "migrate"
else
  echo "allow_untraced = yes" >> "$T_TMP/provider.conf"
fi
start_milter() { h_bg milter-access "$H_MILTER" -c "$T_TMP/provider.conf" -r access -s unix:"$MAS" -g postfix; }
start_emitter() { h_bg emitter "$H_EMITTER" -c "$T_TMP/provider.conf" -l unix:"$EMS" -g postfix; }
h_dovecot_auth a "$AUTH" "$T_TMP/users" || bail "dovecot auth"
h_sink local "$LOCAL" lmtp
h_sink remote "$REMOTE"
start_milter; start_emitter
h_bg milter-reception "$H_MILTER" -c "$T_TMP/provider.conf" -r reception -s unix:"$MRS" -g postfix
wait_socket "$MAS" 10 && wait_socket "$EMS" 10 && wait_socket "$MRS" 10 || bail "daemons"
HP_DOMAIN=$D HP_SUBMIT=$SUB HP_MX=$MX HP_MILTER_ACCESS=$MAS HP_MILTER_RECEPTION=$MRS HP_AUTH=$AUTH \
HP_TRANSPORT="$D lmtp:inet:127.0.0.1:$LOCAL
outbox.pec.invalid lmtp:unix:$EMS
pec-remoto.test smtp:[127.0.0.1]:$REMOTE" h_postfix a || bail "postfix"

# The killer: every 0.7 s, SIGKILL one of our daemons (alternating) and start it again.
(
  i=0
  while [ ! -f "$T_TMP/stop-killing" ]; do
    sleep 0.7
    if [ $((i % 2)) = 0 ]; then victim=milter-access; else victim=emitter; fi
    kill -9 "$(cat "$T_TMP/$victim.pid")" 2>/dev/null
    sleep 0.2
    if [ $victim = emitter ]; then start_emitter; else start_milter; fi
    i=$((i + 1))
  done
) &
KILLER=$!
track_pid "$KILLER"

# Two clients submit N messages between them; each records the final reply line of its submission.
client() {
  local k
  for k in $(seq "$1" 2 "$N"); do
    swaks --server 127.0.0.1:"$SUB" --auth PLAIN --auth-user alice@$D --auth-password secret --helo c.test \
          --from alice@$D --to carol@pec-remoto.test --header "To: carol@pec-remoto.test" \
          --header "Subject: batch $k" --header "Message-Id: <batch-$k@client.test>" --body "messaggio $k" \
          --timeout 30 2>&1 | grep -E '^<[-*]+ *[2-5][0-9][0-9] ' | sed -n '/queued\|^<\*/p' | tail -1 > "$T_TMP/reply-$k"
  done
}
echo "$(date +%T) submitting"
client 1 & C1=$!
client 2 & C2=$!
wait $C1 $C2
echo "$(date +%T) submitted"
touch "$T_TMP/stop-killing"
wait $KILLER 2>/dev/null
# recovery: both daemons up, then let Postfix retry every deferred marker
kill -0 "$(cat "$T_TMP/milter-access.pid")" 2>/dev/null || start_milter
kill -0 "$(cat "$T_TMP/emitter.pid")" 2>/dev/null || start_emitter
wait_socket "$EMS" 10
postqueue -c "$T_TMP/postfix-a/etc" -f
queued=$(grep -l "queued" "$T_TMP"/reply-* | wc -l)
refused=$(grep -L "queued" "$T_TMP"/reply-* | wc -l)
echo "submissions: $N, queued: $queued, not queued: $refused (temporary failures while killed)"
[ "$queued" -gt 0 ] && ok || fail "nothing was queued"
wait_count "postqueue -c $T_TMP/postfix-a/etc -j | wc -l | awk '{print (\$1==0)}'" 1 120 || fail "the queue did not drain"
echo "$(date +%T) queue drained"
h_sink_messages remote "$T_TMP/got-remote"
h_sink_messages local "$T_TMP/got-local"
[ -n "${PEC_TEST_DB:-}" ] && "$PECCTL" log search --db "$PEC_TEST_DB" --json > "$T_TMP/trace.json"
python3 - "$T_TMP" <<'PY' && ok || fail "durability invariants (see above)"
import collections, email, glob, re, sys
t = sys.argv[1]
def hdr(path, name):
    m = re.search(rb"^" + name.encode() + rb":\s*(.*)$", open(path, "rb").read(), re.M | re.I)
    return m.group(1).strip().decode() if m else None
queued = {int(p.rsplit("-", 1)[1]) for p in glob.glob(t + "/reply-*") if "queued" in open(p).read()}
bustas = {}       # batch number -> set of PEC ids relayed
for f in glob.glob(t + "/got-remote/*.eml"):
    if hdr(f, "X-Trasporto") == "posta-certificata":
        k = int(re.search(r"batch (\d+)", hdr(f, "Subject")).group(1))
        bustas.setdefault(k, set()).add(hdr(f, "Message-ID"))
acc = collections.defaultdict(set)   # PEC id -> accettazione Message-IDs
for f in glob.glob(t + "/got-local/*.eml"):
    if hdr(f, "X-Ricevuta") == "accettazione":
        msg = email.message_from_binary_file(open(f, "rb"))
        xml = next(p.get_payload(decode=True) for p in msg.walk() if p.get_filename() == "daticert.xml")
        ident = re.search(rb"<identificativo>([^<]+)</identificativo>", xml).group(1).decode()
        acc["<" + ident + ">"].add(hdr(f, "Message-ID"))
bad = 0
for k in sorted(queued):
    if len(bustas.get(k, ())) != 1:
        print("queued submission %d relayed %d times" % (k, len(bustas.get(k, ())))); bad += 1
        continue
    ident = next(iter(bustas[k]))
    if len(acc.get(ident, ())) != 1:
        print("queued submission %d has %d distinct accettazioni" % (k, len(acc.get(ident, ())))); bad += 1
relayed = {i for s in bustas.values() for i in s}
for ident in acc:
    if ident not in relayed:
        print("accettazione %s for a message that was not relayed" % ident); bad += 1
for k in bustas:
    if k not in queued:
        print("submission %d relayed although the client did not see it queued" % k); bad += 1
import json, os
if os.path.exists(t + "/trace.json"):
    traced = collections.defaultdict(set)
    for line in open(t + "/trace.json"):
        line = line.strip().rstrip(",")
        if line.startswith("{"):
            row = json.loads(line)
            traced[row.get("tipo")].add(row.get("identificativo"))
    print("trace: %d busta-trasporto and %d accettazione events" % (len(traced["busta-trasporto"]), len(traced["accettazione"])))
    for ident in relayed:
        if ident.strip("<>") not in traced["busta-trasporto"]:
            print("relayed message %s has no trace rows" % ident); bad += 1
        if ident.strip("<>") not in traced["accettazione"]:
            print("accettazione of %s not traced" % ident); bad += 1
print("checked %d queued submissions, %d accettazioni, %d problems" % (len(queued), len(acc), bad))
sys.exit(1 if bad else 0)
PY
done_tests
