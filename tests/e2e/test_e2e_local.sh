#!/usr/bin/env bash
# The local attack surface of a running provider: the milters, the emitter and the milter-free injection
# listener are unix sockets that only Postfix and the PEC services reach.  A local process of another
# user cannot reach the access milter (so it cannot get a busta signed) nor inject through the listener.
. "$(dirname "$0")/e2e-lib.sh"
id daemon >/dev/null 2>&1 || skip "no user daemon to connect as"
e2e_start
d=$(n_get $A DIR)
connect='import socket,sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1]); print("connected")
except OSError as e:
    print(e.strerror)'
for s in "$d/run/access.sock" "$d/run/reception.sock" "$d/run/emitter.sock" "$d/postfix/queue/public/pec-inject"; do
  [ -S "$s" ] || { fail "no socket $s"; continue; }
  out=$(runuser -u daemon -- python3 -c "$connect" "$s" 2>&1)
  [ "$out" = "Permission denied" ] && ok || fail "user daemon reached $s: $out"
  # Postfix (user postfix) and root do reach it
  out=$(python3 -c "$connect" "$s" 2>&1)
  [ "$out" = connected ] && ok || fail "root cannot reach $s: $out"
done
for s in "$d/run/access.sock" "$d/run/emitter.sock"; do
  [ "$(stat -c '%a %G' "$s")" = "660 postfix" ] && ok || fail "$s: $(stat -c '%a %G' "$s"), want 660 postfix"
done
# the certified path still works through those sockets (the control)
out=$(n_submit $A alice --to bob@$B --header "Subject: Local control" --body "ciao")
e2e_expect "submission through the unix-socket milter" "$out" accept
e2e_wait "accettazione" alice@$A 1 "^X-Ricevuta: accettazione" "Local control"
done_tests
