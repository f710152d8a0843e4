# e2e-lib.sh - prelude of every e2e test: the harness (net.sh, on tests/harness/lib.sh), skips when the
# machine cannot run two providers, helpers.  Source it, optionally set N_* (see net.sh), then call e2e_start.
. "$(dirname "${BASH_SOURCE[0]}")/../harness/net.sh"
need_root "private Postfix, Dovecot, PostgreSQL"
need_tools postfix dovecot swaks smtp-sink openssl xmllint
pg_installed || skip "PostgreSQL server not installed"
perl -MNet::SSLeay -e1 2>/dev/null || skip "swaks cannot do STARTTLS (libnet-ssleay-perl missing)"
[ -x "$PEC_BUILD_DIR/tests/pec-testpki" ] || bail "pec-testpki not built"
[ -f "$N_DTD" ] || bail "no daticert DTD at $N_DTD"
A=pec-a.test
B=pec-b.test

# e2e_start: the two providers, or fail the test with the logs
e2e_start() {
  n_net_start "$A" "$B" || { n_dump_logs >&2; bail "the network did not start"; }
}
# e2e_expect DESCRIPTION SWAKS-OUTPUT accept|refuse [REPLY-REGEX]
e2e_expect() {
  local d=$1 out=$2 want=$3 re=${4:-}
  if { [ "$want" = accept ] && n_accepted "$out"; } || { [ "$want" = refuse ] && n_refused "$out"; }; then
    if [ -n "$re" ] && ! grep -qE "$re" <<<"$(n_reply "$out")"; then
      fail "$d: reply '$(n_reply "$out")' does not match $re"
    else
      ok
    fi
  else
    fail "$d: expected $want, got '$(n_reply "$out")'"
  fi
}
# e2e_wait DESCRIPTION ADDRESS COUNT REGEX...: COUNT matching messages arrive within 60 s
e2e_wait() {
  local d=$1 addr=$2 n=$3; shift 3
  n_wait_count "$addr" "$n" "${E2E_WAIT:-60}" "$@" && ok || fail "$d: $addr has $(n_count "$addr" "$@") of $n"
}
# e2e_none DESCRIPTION ADDRESS REGEX...: no matching message (call after the waits)
e2e_none() {
  local d=$1 addr=$2; shift 2
  [ "$(n_count "$addr" "$@")" = 0 ] && ok || fail "$d: $addr has $(n_count "$addr" "$@") matching messages"
}
# e2e_daticert FILE: its daticert.xml on stdout
e2e_daticert() { python3 "$PEC_SRC_DIR/tests/sh/mimepart.py" "$1" daticert.xml; }
# e2e_verify_everything: every message in every mailbox passes openssl smime -verify and xmllint
e2e_verify_everything() {
  local out
  out=$(n_verify_all) && ok || fail "messages that do not verify: $out"
  [ "$(find "$T_TMP"/net-*/home -path '*/Maildir/*' -type f \( -path '*/new/*' -o -path '*/cur/*' \) | wc -l)" -gt 0 ] && ok || fail "no message in any mailbox"
}
