#!/usr/bin/env bash
# test_examples.sh - `pecctl setup dovecot` prints a conf.d snippet for the installed Dovecot that doveconf
# accepts: the plugin in LMTP and dovecot-lda after sieve, the provider configuration, LMTP and SASL
# listeners for Postfix, IMAPS on 993 and POP3S on 995 over TLS only.  The other dialect's snippet
# (--dovecot 2.3 on 2.4 and the reverse) is refused, so a sysadmin who pastes the wrong one hears of it.
. "$(dirname "$0")/../harness/lib.sh"
need_root "the settings module goes to Dovecot's own folder on 2.4"
need_tools doveconf
[ -f "${PEC_PLUGIN_SO:-}" ] || bail "plugin not built: ${PEC_PLUGIN_SO:-unset}"
h_dovecot_settings_module "$PEC_PLUGIN_SO" || bail "no Dovecot settings module"
PECCTL=$PEC_BUILD_DIR/common/pecctl
CONF=$PEC_SRC_DIR/packaging/examples/provider.conf

if h_dovecot24; then
  other=2.3
  head="dovecot_config_version = 2.4.1
dovecot_storage_version = 2.4.1"
else
  other=2.4 head=
fi
"$PECCTL" setup dovecot --config "$CONF" > "$T_TMP/mine.conf" && ok || fail "pecctl setup dovecot"
"$PECCTL" setup dovecot --config "$CONF" --dovecot $other > "$T_TMP/other.conf" && ok || fail "pecctl setup dovecot --dovecot $other"
# conf FILE: a dovecot.conf of the installation that includes FILE, as Debian's includes conf.d/*.conf
conf() {
  printf '%s\nprotocols = lmtp imap pop3\nbase_dir = %s/run\n!include %s\n' "$head" "$T_TMP" "$1" > "$T_TMP/dovecot.conf"
}
get() { doveconf -c "$T_TMP/dovecot.conf" "$@" 2>&1; }

conf "$T_TMP/mine.conf"
get -n > "$T_TMP/n.out" && ok || fail "doveconf refuses the printed snippet: $(cat "$T_TMP/n.out")"
grep -Eq "^ *pec_config = $(realpath "$CONF")\$" "$T_TMP/n.out" && ok || fail "no absolute pec_config in doveconf -n"
for p in lmtp lda; do
  # (2.3 prints a list, 2.4 a boollist: one "name = yes" line each)
  v=$(get -f protocol=$p -h mail_plugins | sed 's/ = yes$//' | tr '\n' ' ')
  case " $v " in *" pec "*) ok ;; *) fail "protocol $p: mail_plugins is '$v' (want pec in it)" ;; esac
  case "$v" in *sieve*pec*) ok ;; *) fail "protocol $p: pec must come after sieve: '$v'" ;; esac
done
[ "$(get -h lmtp_rcpt_check_quota)" = no ] && ok || fail "lmtp_rcpt_check_quota"
[ "$(get -h mail_access_groups)" = postdrop ] && ok || fail "mail_access_groups"
[ "$(get -h ssl)" = required ] && ok || fail "ssl is not required"
# the listeners: LMTP and SASL sockets in Postfix's private/, IMAPS 993 and POP3S 995 (plain ones off)
grep -q 'unix_listener /var/spool/postfix/private/dovecot-lmtp' "$T_TMP/n.out" && ok || fail "no LMTP socket for Postfix"
grep -q 'unix_listener /var/spool/postfix/private/auth' "$T_TMP/n.out" && ok || fail "no SASL socket for Postfix"
for l in imaps:993 pop3s:995; do
  sed -n "/inet_listener ${l%:*} {/,/}/p" "$T_TMP/n.out" | grep -q "port = ${l#*:}" && ok || fail "no ${l%:*} listener on ${l#*:}"
done
for l in imap pop3; do
  sed -n "/inet_listener $l {/,/}/p" "$T_TMP/n.out" | grep -q "port = 0" && ok || fail "plain $l is not off"
done

conf "$T_TMP/other.conf"
get -n >/dev/null && fail "doveconf accepts the $other dialect" || ok
done_tests
