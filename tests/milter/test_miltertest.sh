#!/usr/bin/env bash
# pec-milter driven by miltertest (the milter protocol without an MTA): every access-point check, the
# reception point's classes, the stripping of our anomaly mark.  The sendmail command is a recorder here.
. "$(dirname "$0")/../harness/lib.sh"
need_tools miltertest
HERE=$(cd "$(dirname "$0")" && pwd)
SAMPLES=$PEC_SHARED_DIR/samples/real
# no trace store and no scanner here: the opt-outs say so (pec-milter refuses to start otherwise)
h_example_provider "$T_TMP/sendmail" "max_recipients = 3
max_message_size = 60000
allow_untraced = yes
allow_unscanned = yes" || bail "pecctl example"
h_index_add_aruba
printf 'alice@%s\nbob@%s\nolga@%s ordinary\n' $D $D $D > "$T_TMP/mailboxes"
recording_sendmail
# a busta of ours for bob and zed (who has no mailbox), for the reception point's recipient handling
printf 'From: alice@%s\r\nTo: bob@%s, zed@%s\r\nSubject: a bob e zed\r\nDate: %s\r\nMessage-ID: <bz@client.test>\r\n\r\nciao\r\n' \
  $D $D $D "$(date -R)" > "$T_TMP/bob-zed.eml"
"$PEC_BUILD_DIR/tests/make-busta" "$T_TMP/provider.conf" "$T_TMP/bob-zed.eml" > "$T_TMP/bob-zed-busta.eml" || fail "make-busta"
for role in access reception; do
  port=$(free_port)
  h_bg "milter-$role" "$H_MILTER" -c "$T_TMP/provider.conf" -r $role -s inet:"$port"@127.0.0.1
  wait_port "$port" || { fail "pec-milter $role did not start"; continue; }
  out=$(MILTER_SOCK=inet:$port@127.0.0.1 LUA_DIR=$HERE EXAMPLE_BUSTA=$PKI/busta-trasporto.eml SAMPLES=$SAMPLES \
        BUSTA_BOB_ZED=$T_TMP/bob-zed-busta.eml \
        miltertest -s "$HERE/$role.lua" 2>&1)
  rc=$?
  echo "$out" | grep -v "^$" | sed "s/^/$role: /"
  [ $rc -eq 0 ] && ok || fail "$role.lua failed (exit $rc)"
done
# Every refusal with an authenticated sender handed one signed avviso to sendmail (auth refusal: none).
n=$(grep -l "^X-Ricevuta: non-accettazione" "$T_TMP"/sent/*.eml 2>/dev/null | wc -l)
[ "$n" -eq 9 ] && ok || fail "expected 9 avvisi di non accettazione handed to sendmail, got $n"
for f in "$T_TMP"/sent/*.eml; do
  check "$(basename "$f") verifies" openssl smime -verify -in "$f" -CAfile "$PKI/ca.pem" -out /dev/null
done
# Reload (SIGUSR1): a copy of the configuration changed under a running access point (reload.lua)
cp "$T_TMP/provider.conf" "$T_TMP/reload.conf"
port=$(free_port)
h_bg milter-reload "$H_MILTER" -c "$T_TMP/reload.conf" -r access -s inet:"$port"@127.0.0.1
wait_port "$port" || fail "pec-milter for the reload did not start"
signal_and_wait() { # signal_and_wait LOG-LINE: SIGUSR1, then wait for the milter to log LOG-LINE
  echo "kill -USR1 \$(cat $T_TMP/milter-reload.pid); for i in \$(seq 100); do grep -q '$1' $T_TMP/milter-reload.log && exit 0; sleep 0.1; done; exit 1"
}
out=$(MILTER_SOCK=inet:$port@127.0.0.1 LUA_DIR=$HERE \
      RELOAD_GOOD="sed -i 's/^max_recipients = 3/max_recipients = 1/' $T_TMP/reload.conf; $(signal_and_wait 'reloaded')" \
      RELOAD_BAD="echo 'max_recipients = many' >> $T_TMP/reload.conf; $(signal_and_wait 'reload refused')" \
      miltertest -s "$HERE/reload.lua" 2>&1)
rc=$?
echo "$out" | grep -v "^$" | sed "s/^/reload: /"
[ $rc -eq 0 ] && ok || fail "reload.lua failed (exit $rc): $(cat "$T_TMP/milter-reload.log")"
grep -q "reload refused, still serving with the previous configuration: .*reload.conf:[0-9]*" "$T_TMP/milter-reload.log" && ok ||
  fail "the refused reload does not name the line at fault: $(cat "$T_TMP/milter-reload.log")"
kill -0 "$(cat "$T_TMP/milter-reload.pid")" && ok || fail "the milter died at a reload"

# Fail closed: without trust anchors or an index a verifying point does not start; -n names each problem
# with its file (and line), and passes the configuration above.
check "-n: the test configuration passes" "$H_MILTER" -c "$T_TMP/provider.conf" -r reception -n
sed -e '/^trust_file = /d' -e '/^index_file = /d' -e '/^allow_un/d' "$T_TMP/provider.conf" > "$T_TMP/loose.conf"
out=$("$H_MILTER" -c "$T_TMP/loose.conf" -r reception -n 2>&1)
rc=$?
[ $rc -eq 1 ] && ok || fail "-n on a loose configuration: exit $rc"
for want in "loose.conf: the reception point verifies signatures: trust_file" "index_file, or" \
            "clamd_socket is required" "database is required" "4 problems"; do
  grep -qF "$want" <<<"$out" && ok || fail "-n: '$want' not reported: $out"
done
port=$(free_port)
timeout 20 "$H_MILTER" -c "$T_TMP/loose.conf" -r reception -s inet:"$port"@127.0.0.1 >"$T_TMP/loose.log" 2>&1
rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] && ok || fail "a loose reception point started (exit $rc)"
grep -q "not starting" "$T_TMP/loose.log" && ok || fail "no 'not starting' line: $(cat "$T_TMP/loose.log")"
# Local attack surface: the milter and the emitter on unix sockets of mode 0660, running as their
# service user (-u); a process of another user and group cannot connect; the emitter serves 128 sessions
# at most.  (Needs root: it starts them as root and connects as another user.)
if [ "$(id -u)" = 0 ] && id daemon >/dev/null 2>&1; then
  sock=$T_TMP/access.sock esock=$T_TMP/emitter.sock
  h_bg milter-unix "$H_MILTER" -c "$T_TMP/provider.conf" -r access -s unix:"$sock" -u nobody
  h_bg emitter-unix "$H_EMITTER" -c "$T_TMP/provider.conf" -l unix:"$esock" -u nobody
  wait_until 10 test -S "$sock" && wait_until 10 test -S "$esock" || fail "unix sockets not created"
  for s in "$sock" "$esock"; do
    [ "$(stat -c %a "$s")" = 660 ] && ok || fail "$(basename "$s"): mode $(stat -c %a "$s"), want 660"
  done
  # the uid of a daemon, and whether it is nobody's yet (the drop follows the socket by a moment)
  uid_of() { awk '/^Uid:/ {print $2}' /proc/"$(cat "$T_TMP/$1.pid")"/status 2>/dev/null; }
  is_nobody() { [ "$(uid_of "$1")" = "$(id -u nobody)" ]; }
  for pidf in milter-unix emitter-unix; do
    wait_until 10 is_nobody "$pidf"
    is_nobody "$pidf" && ok || fail "$pidf runs as uid '$(uid_of "$pidf")', not nobody"
  done
  connect='import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); print("connected")'
  for s in "$sock" "$esock"; do
    out=$(runuser -u daemon -- python3 -c "$connect" "$s" 2>&1)
    grep -q "Permission denied" <<<"$out" && ok || fail "another user reached $(basename "$s"): $out"
  done
  python3 - "$esock" <<'PY' && ok || fail "the emitter did not refuse the 129th session"
import socket, sys
conns = []
for i in range(128):
    c = socket.socket(socket.AF_UNIX); c.connect(sys.argv[1]); c.settimeout(5)
    assert c.recv(100).startswith(b"220"), i
    conns.append(c)
c = socket.socket(socket.AF_UNIX); c.connect(sys.argv[1]); c.settimeout(5)
sys.exit(0 if c.recv(100).startswith(b"421") else 1)
PY
  # SIGHUP reloads the emitter, as the service user: the key must be its own (as the package sets it up),
  # so it is lent to nobody for the reload; and it stops nothing
  key=$(sed -n 's/^key_file = //p' "$T_TMP/provider.conf")
  chown nobody "$key"
  kill -HUP "$(cat "$T_TMP/emitter-unix.pid")"
  wait_until 10 grep -q "pec-emitter: reloaded" "$T_TMP/emitter-unix.log" && ok ||
    fail "the emitter did not reload on SIGHUP: $(tail -3 "$T_TMP/emitter-unix.log")"
  kill -0 "$(cat "$T_TMP/emitter-unix.pid")" && ok || fail "the emitter died at SIGHUP"
  chown root "$key"
else
  echo "note: not root (or no user daemon): the socket permission checks are skipped"
fi

# The accepted submission and the valid busta left committed outbox entries (not sent: no Postfix here).
n=$(find "$T_TMP/outbox" -mindepth 1 -maxdepth 1 -type d ! -name 'tmp.*' | wc -l)
[ "$n" -ge 2 ] && ok || fail "expected outbox entries for the accettazione and the presa in carico, got $n"
grep -l "^X-Ricevuta: presa-in-carico" "$T_TMP"/outbox/*/*.msg >/dev/null 2>&1 && ok || fail "no presa in carico spooled"
grep -l "^X-Ricevuta: errore-consegna" "$T_TMP"/outbox/*/*.msg >/dev/null 2>&1 && ok || fail "no no-dest avviso spooled for zed"
[ -z "$(find "$T_TMP/outbox" -maxdepth 1 -name 'tmp.*')" ] && ok || fail "temporary outbox folders left behind"
done_tests
