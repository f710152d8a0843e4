#!/usr/bin/env bash
# pec-milter driven by miltertest (the milter protocol without an MTA): every access-point check, the
# reception point's classes, the stripping of our anomaly mark.  The sendmail command is a recorder here.
. "$(dirname "$0")/../harness/lib.sh"
command -v miltertest >/dev/null || h_skip "miltertest not installed"
HERE=$(cd "$(dirname "$0")" && pwd)
SAMPLES=${PEC_SHARED_DIR:-$H_SRC/../shared}/samples/real
h_example_provider "$H_T/sendmail" "max_recipients = 3
max_message_size = 60000" || { h_fail "pecctl example"; h_done; exit; }
h_index_add_aruba
# the recipient of the real Aruba busta is ours here, so that it can be delivered to the address it names
sed -i "s/^managed_domains = .*/managed_domains = $D pec.it/" "$H_T/provider.conf"
printf 'alice@%s\nbob@%s\nolga@%s ordinary\nl.battistini@pec.it\n' $D $D $D > "$H_T/mailboxes"
# a busta of ours for bob and zed (who has no mailbox), for the reception point's recipient handling
printf 'From: alice@%s\r\nTo: bob@%s, zed@%s\r\nSubject: a bob e zed\r\nDate: %s\r\nMessage-ID: <bz@client.test>\r\n\r\nciao\r\n' \
  $D $D $D "$(date -R)" > "$H_T/bob-zed.eml"
"$H_BUILD/tests/make-busta" "$H_T/provider.conf" "$H_T/bob-zed.eml" > "$H_T/bob-zed-busta.eml" || h_fail "make-busta"
mkdir -p "$H_T/sent"
cat > "$H_T/sendmail" <<SH
#!/bin/sh
# records what the milter hands to "sendmail": arguments and message
n=\$(ls "$H_T/sent" | wc -l)
echo "\$*" > "$H_T/sent/\$n.args"
cat > "$H_T/sent/\$n.eml"
SH
chmod +x "$H_T/sendmail"
for role in access reception; do
  port=$(h_port)
  h_bg "milter-$role" "$H_MILTER" -c "$H_T/provider.conf" -r $role -s inet:"$port"@127.0.0.1
  h_wait_port "$port" || { h_fail "pec-milter $role did not start"; continue; }
  out=$(MILTER_SOCK=inet:$port@127.0.0.1 LUA_DIR=$HERE EXAMPLE_BUSTA=$PKI/busta-trasporto.eml SAMPLES=$SAMPLES \
        BUSTA_BOB_ZED=$H_T/bob-zed-busta.eml \
        miltertest -s "$HERE/$role.lua" 2>&1)
  rc=$?
  echo "$out" | grep -v "^$" | sed "s/^/$role: /"
  [ $rc -eq 0 ] && h_ok || h_fail "$role.lua failed (exit $rc)"
done
# Every refusal with an authenticated sender handed one signed avviso to sendmail (auth refusal: none).
n=$(grep -l "^X-Ricevuta: non-accettazione" "$H_T"/sent/*.eml 2>/dev/null | wc -l)
[ "$n" -eq 9 ] && h_ok || h_fail "expected 9 avvisi di non accettazione handed to sendmail, got $n"
for f in "$H_T"/sent/*.eml; do
  h_check "$(basename "$f") verifies" openssl smime -verify -in "$f" -CAfile "$PKI/ca.pem" -out /dev/null
done
# The accepted submission and the valid busta left committed outbox entries (not sent: no Postfix here).
n=$(find "$H_T/outbox" -mindepth 1 -maxdepth 1 -type d ! -name 'tmp.*' | wc -l)
[ "$n" -ge 2 ] && h_ok || h_fail "expected outbox entries for the accettazione and the presa in carico, got $n"
grep -l "^X-Ricevuta: presa-in-carico" "$H_T"/outbox/*/*.msg >/dev/null 2>&1 && h_ok || h_fail "no presa in carico spooled"
grep -l "^X-Ricevuta: errore-consegna" "$H_T"/outbox/*/*.msg >/dev/null 2>&1 && h_ok || h_fail "no no-dest avviso spooled for zed"
[ -z "$(find "$H_T/outbox" -maxdepth 1 -name 'tmp.*')" ] && h_ok || h_fail "temporary outbox folders left behind"
h_done
