#!/usr/bin/env bash
# Durability: 200 submissions while pec-milter and pec-emitter are killed with SIGKILL and restarted.
# After recovery: every submission the client saw queued (250) was relayed as a busta and got its
# accettazione (all copies of one accettazione carry the same Message-ID, so delivery deduplicates a
# copy re-sent after a crash); no accettazione exists for a submission that was not queued.
. "$(dirname "$0")/../harness/lib.sh"
command -v postfix >/dev/null && command -v swaks >/dev/null && command -v dovecot >/dev/null || h_skip "postfix, swaks or dovecot missing"
[ "$(id -u)" = 0 ] || h_skip "needs root to run private Postfix instances"
N=${PEC_DURABILITY_N:-200}
h_example_provider "/usr/sbin/sendmail -C $H_T/postfix-a/etc" || { h_fail "pecctl example"; h_done; exit; }
printf 'alice@%s\nbob@%s\n' $D $D > "$H_T/mailboxes"
printf 'alice@%s:{PLAIN}secret\n' $D > "$H_T/users"
SUB=$(h_port); MX=$(h_port); MA=$(h_port); MR=$(h_port); AUTH=$(h_port); EM=$(h_port); LOCAL=$(h_port); REMOTE=$(h_port)
if [ -n "${PEC_TEST_DB:-}" ]; then
  echo "database = $PEC_TEST_DB" >> "$H_T/provider.conf"
  "$H_PECCTL" db migrate --db "$PEC_TEST_DB" >/dev/null || h_fail "migrate"
fi
start_milter() { h_bg milter-access "$H_MILTER" -c "$H_T/provider.conf" -r access -s inet:"$MA"@127.0.0.1; }
start_emitter() { h_bg emitter "$H_EMITTER" -c "$H_T/provider.conf" -l 127.0.0.1:"$EM"; }
h_dovecot_auth a "$AUTH" "$H_T/users" || { h_fail "dovecot auth"; h_done; exit; }
h_sink local "$LOCAL" lmtp
h_sink remote "$REMOTE"
start_milter; start_emitter
h_bg milter-reception "$H_MILTER" -c "$H_T/provider.conf" -r reception -s inet:"$MR"@127.0.0.1
h_wait_port "$MA" && h_wait_port "$EM" && h_wait_port "$MR" || { h_fail "daemons"; h_done; exit; }
HP_DOMAIN=$D HP_SUBMIT=$SUB HP_MX=$MX HP_MILTER_ACCESS=$MA HP_MILTER_RECEPTION=$MR HP_AUTH=$AUTH \
HP_TRANSPORT="$D lmtp:inet:127.0.0.1:$LOCAL
outbox.pec.invalid lmtp:inet:127.0.0.1:$EM
pec-remoto.test smtp:[127.0.0.1]:$REMOTE" h_postfix a || { h_fail "postfix"; h_done; exit; }

# The killer: every 0.7 s, SIGKILL one of our daemons (alternating) and start it again.
(
  i=0
  while [ ! -f "$H_T/stop-killing" ]; do
    sleep 0.7
    if [ $((i % 2)) = 0 ]; then victim=milter-access; else victim=emitter; fi
    kill -9 "$(cat "$H_T/$victim.pid")" 2>/dev/null
    sleep 0.2
    if [ $victim = emitter ]; then start_emitter; else start_milter; fi
    i=$((i + 1))
  done
) &
KILLER=$!
echo "$KILLER" >> "$H_T/pids"

# Two clients submit N messages between them; each records the final reply line of its submission.
client() {
  local k
  for k in $(seq "$1" 2 "$N"); do
    swaks --server 127.0.0.1:"$SUB" --auth PLAIN --auth-user alice@$D --auth-password secret --helo c.test \
          --from alice@$D --to carol@pec-remoto.test --header "To: carol@pec-remoto.test" \
          --header "Subject: batch $k" --header "Message-Id: <batch-$k@client.test>" --body "messaggio $k" \
          --timeout 30 2>&1 | grep -E '^<[-*]+ *[2-5][0-9][0-9] ' | sed -n '/queued\|^<\*/p' | tail -1 > "$H_T/reply-$k"
  done
}
echo "$(date +%T) submitting"
client 1 & C1=$!
client 2 & C2=$!
wait $C1 $C2
echo "$(date +%T) submitted"
touch "$H_T/stop-killing"
wait $KILLER 2>/dev/null
# recovery: both daemons up, then let Postfix retry every deferred marker
kill -0 "$(cat "$H_T/milter-access.pid")" 2>/dev/null || start_milter
kill -0 "$(cat "$H_T/emitter.pid")" 2>/dev/null || start_emitter
h_wait_port "$EM" 10
postqueue -c "$H_T/postfix-a/etc" -f
queued=$(grep -l "queued" "$H_T"/reply-* | wc -l)
refused=$(grep -L "queued" "$H_T"/reply-* | wc -l)
echo "submissions: $N, queued: $queued, not queued: $refused (temporary failures while killed)"
[ "$queued" -gt 0 ] && h_ok || h_fail "nothing was queued"
h_wait "postqueue -c $H_T/postfix-a/etc -j | wc -l | awk '{print (\$1==0)}'" 1 120 || h_fail "the queue did not drain"
echo "$(date +%T) queue drained"
h_sink_messages remote "$H_T/got-remote"
h_sink_messages local "$H_T/got-local"
[ -n "${PEC_TEST_DB:-}" ] && "$H_PECCTL" log search --db "$PEC_TEST_DB" --json > "$H_T/trace.json"
python3 - "$H_T" <<'PY' && h_ok || h_fail "durability invariants (see above)"
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
h_done
