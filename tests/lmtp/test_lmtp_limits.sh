#!/usr/bin/env bash
# test_lmtp_limits.sh - the MIME limits through a real, private Dovecot 2.3 LMTP with the plugin (label lmtp).
#
# A 3.6 MB message of 100,000 MIME parts made the plugin's analysis outgrow the lmtp process's
# vsz_limit (Dovecot's default, 256 MB), which killed every delivery it was part of.  Now: refused at
# once for a PEC-only mailbox, the reply naming the limit; stored in a busta di anomalia for a mailbox that
# takes ordinary mail; the same LMTP goes on delivering a busta with its consegna, and a busta of a 50 MB
# original with its consegna completa, under the same 256 MB; nothing died.
. "$(dirname "$0")/dovecot-env.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
need_tools openssl python3
dc_require
[ -x "${MAKE_BUSTA:-}" ] || bail "make-busta not built"
trap 'exit 1' INT TERM HUP

# no trace store here: the opt-out says so
dc_example_provider "$T_TMP" "allow_untraced = yes" || bail "pecctl example failed"
DC_PLUGINS=pec
U=65534:65534
DC_USERS="bob@pec-esempio.test::$U::::
aperta@pec-esempio.test::$U::::userdb_pec_accept_ordinary=yes"
dc_setup
dc_start || bail "the private Dovecot did not start"
grep -q vsz_limit "$DC_DIR/dovecot.conf" && fail "the configuration sets its own vsz_limit" || ok
# the limit as the kernel applies it to an lmtp process (the same on Dovecot 2.3 and 2.4, whose doveconf
# names the setting differently): a connection held open keeps one alive
exec 3<>"/dev/tcp/127.0.0.1/$DC_LMTP_PORT" && read -r -t 10 greeting <&3
LMTP_PID=$(pgrep -P "$DC_DOVECOT_PID" -x lmtp | head -1)
LMTP_AS=$([ -n "$LMTP_PID" ] && awk '/^Max address space/ {print $4}' "/proc/$LMTP_PID/limits")
exec 3>&-
[ "$LMTP_AS" = 268435456 ] && ok || fail "lmtp does not run under Dovecot's default 256 MB vsz_limit: ${LMTP_AS:-no lmtp process} bytes"

# the message of the issue: 100,000 parts in 3.6 MB
python3 - "$T_TMP/huge.eml" <<'PY'
import sys
with open(sys.argv[1], "w", newline="") as f:
    f.write("From: mallory@example.net\r\nTo: bob@pec-esempio.test\r\nSubject: centomila parti\r\n"
            "Message-ID: <huge@example.net>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n")
    for i in range(100000):
        f.write("--b\r\nContent-Type: text/plain\r\n\r\nx\r\n")
    f.write("--b--\r\n")
PY
size=$(stat -c %s "$T_TMP/huge.eml")
[ "$size" -gt 3500000 ] && ok || fail "huge.eml is only $size bytes"

# a PEC-only mailbox: refused, the reply naming the limit
start=$SECONDS
inject mallory@example.net bob@pec-esempio.test "$T_TMP/huge.eml"
[[ $REPLIES =~ ^5[0-9][0-9]$ ]] && ok || fail "PEC-only: LMTP replies '$REPLIES' (want one 5xx)"
grep -q "more than 10000 MIME parts" "$INJECT_LOG" && ok || fail "PEC-only: the refusal does not name the limit: $(grep '^<' "$INJECT_LOG" | tail -3)"
[ "$(maildir_count bob@pec-esempio.test)" -eq 0 ] && ok || fail "PEC-only: something was stored"

# a mailbox taking ordinary mail: stored, wrapped in a busta di anomalia that gives the user's reason in
# Italian (the limit it is over is in the log)
inject mallory@example.net aperta@pec-esempio.test "$T_TMP/huge.eml"
[ "$REPLIES" = 250 ] && ok || fail "ordinary: LMTP replies '$REPLIES' (want 250): $(grep '^<' "$INJECT_LOG" | tail -3)"
[ "$(maildir_count aperta@pec-esempio.test)" -eq 1 ] && ok || fail "ordinary: aperta has $(maildir_count aperta@pec-esempio.test) messages"
[ "$(maildir_grep aperta@pec-esempio.test '^X-Trasporto: errore')" -eq 1 ] && ok || fail "ordinary: not a busta di anomalia"
[ "$(maildir_grep aperta@pec-esempio.test '^Subject: ANOMALIA MESSAGGIO: centomila parti')" -eq 1 ] && ok ||
  fail "ordinary: the anomaly lost the subject"
[ "$(maildir_grep aperta@pec-esempio.test 'il messaggio non =E8 un messaggio di posta certificata')" -eq 1 ] && ok ||
  fail "ordinary: the anomaly does not say why"
elapsed=$((SECONDS - start))
[ "$elapsed" -lt 60 ] && ok || fail "the two deliveries took $elapsed s"

# the same LMTP still delivers PEC: a busta stored, its consegna sent
dc_sink_fresh 0
new_busta "$T_TMP/busta.eml" bob@pec-esempio.test || fail "pec-lmtp-mkbusta"
inject alice@pec-esempio.test bob@pec-esempio.test "$T_TMP/busta.eml"
[ "$REPLIES" = 250 ] && ok || fail "busta: LMTP replies '$REPLIES' (want 250)"
[ "$(maildir_grep bob@pec-esempio.test '^X-Trasporto: posta-certificata')" -eq 1 ] && ok || fail "busta: not stored"
dc_sink_fresh 1
[ ${#DC_FRESH[@]} -eq 1 ] && grep -q "X-Ricevuta: avvenuta-consegna" "${DC_FRESH[0]}" && ok ||
  fail "busta: no avvenuta consegna submitted (${#DC_FRESH[@]} messages)"

# a busta of a 50 MB original (a 37 MB attachment, base64): well inside the limits and within the lmtp
# process's 256 MB: stored, and its consegna completa (which carries the original again) submitted
python3 - "$T_TMP/big.eml" <<'PY'
import base64, os, sys
with open(sys.argv[1], "wb") as f:
    f.write(b"From: alice@pec-esempio.test\r\nTo: bob@pec-esempio.test\r\nSubject: allegato grande\r\n"
            b"Date: Mon, 23 Nov 2026 08:00:00 +0100\r\nMessage-ID: <big@mua.example>\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nin allegato\r\n"
            b"--b\r\nContent-Type: application/octet-stream; name=\"dati.bin\"\r\n"
            b"Content-Disposition: attachment; filename=\"dati.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
    f.write(base64.encodebytes(os.urandom(37 * 1024 * 1024)).replace(b"\n", b"\r\n"))
    f.write(b"--b--\r\n")
PY
"$MAKE_BUSTA" "$T_TMP/provider.conf" "$T_TMP/big.eml" > "$T_TMP/big-busta.eml" || fail "make-busta (50 MB)"
size=$(stat -c %s "$T_TMP/big-busta.eml")
[ "$size" -gt 50000000 ] && ok || fail "the 50 MB busta is only $size bytes"
dc_sink_fresh 0
inject alice@pec-esempio.test bob@pec-esempio.test "$T_TMP/big-busta.eml"
[ "$REPLIES" = 250 ] && ok || fail "50 MB busta: LMTP replies '$REPLIES' (want 250)"
[ "$(maildir_grep bob@pec-esempio.test '^Subject: POSTA CERTIFICATA: allegato grande')" -eq 1 ] && ok ||
  fail "50 MB busta: not stored"
dc_sink_fresh 1
if [ ${#DC_FRESH[@]} -eq 1 ] && grep -q "X-Ricevuta: avvenuta-consegna" "${DC_FRESH[0]}" &&
   [ "$(stat -c %s "${DC_FRESH[0]}")" -gt 50000000 ]; then
  ok
else
  fail "50 MB busta: no consegna completa submitted (${#DC_FRESH[@]} messages)"
fi
rm -f "$T_TMP/big.eml" "$T_TMP/big-busta.eml"

# nothing died: no out-of-memory, no killed process, the decisions logged
sleep 0.2
if grep -Ei 'out of memory|cannot allocate memory|vsz_limit|killed with signal|Panic|Fatal' "$DC_DIR/dovecot.log" >&2; then
  fail "dovecot.log reports a dying process"
else
  ok
fi
grep -q "pec: .*action=refuse" "$DC_DIR/dovecot.log" && ok || fail "log: no refusal line"
grep -q "pec: .*action=store-wrapped" "$DC_DIR/dovecot.log" && ok || fail "log: no anomaly line"
[ "$T_FAIL" -eq 0 ] || { echo "--- dovecot.log ---" >&2; tail -40 "$DC_DIR/dovecot.log" >&2; }
done_tests
