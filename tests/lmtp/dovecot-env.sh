# dovecot-env.sh - a private Dovecot (LMTP only) and a Postfix smtp-sink capture, for the lmtp tests;
# a layer on tests/sh/lib.sh, sharing the Dovecot pieces of tests/harness/lib.sh (it sources both).
#
# Everything lives under $DC_DIR; ports are chosen at run time; every process started here is stopped
# by pid in dc_cleanup, a cleanup step of the library's EXIT trap (also on failure).  Bounded waits only.
#
# Inputs (set before dc_setup): DC_USERS (passwd-file lines), DC_PLUGINS (mail_plugins added for lmtp and
# lda, e.g. "sieve pec"; default pec); DC_DIR [$T_TMP/dc], DC_PLUGIN_SO (the plugin built in the build
# dir) [$PEC_PLUGIN_SO], DC_PEC_CONF (provider config for the plugin) [$T_TMP/provider.conf].
. "$(dirname "${BASH_SOURCE[0]}")/../sh/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../harness/lib.sh" # the Dovecot pieces it shares with net.sh

# dc_require: skip unless this machine can run the private Dovecot; fail when our build is incomplete
dc_require() {
  need_root "Dovecot switches to the mail uid"
  need_tools dovecot smtp-sink swaks python3
  [ -x /usr/lib/dovecot/lmtp ] || skip "dovecot-lmtpd not installed"
  [ -f /usr/lib/dovecot/modules/lib10_quota_plugin.so ] || skip "Dovecot quota plugin not installed"
  [ -f "${PEC_PLUGIN_SO:-}" ] || bail "plugin not built: ${PEC_PLUGIN_SO:-unset}"
  [ -x "${PEC_MKBUSTA:-}" ] || bail "pec-lmtp-mkbusta not built"
}

dc_setup() {
  DC_DIR=${DC_DIR:-$T_TMP/dc}
  DC_PLUGIN_SO=${DC_PLUGIN_SO:-$PEC_PLUGIN_SO}
  DC_PEC_CONF=${DC_PEC_CONF:-$T_TMP/provider.conf}
  read -r DC_LMTP_PORT DC_SINK_PORT <<<"$(free_ports 2)"
  mkdir -p "$DC_DIR/run" "$DC_DIR/state" "$DC_DIR/home" "$DC_DIR/modules" "$DC_DIR/sink"
  chmod 755 "$DC_DIR" "$DC_DIR/home"
  chown nobody:nogroup "$DC_DIR/home"
  # The plugin directory: our plugin from the build dir, Dovecot's own quota plugin next to it.
  h_dovecot_plugins "$DC_DIR/modules" "$DC_PLUGIN_SO"
  # Pigeonhole (dovecot-sieve), when installed: the plugin must wrap its delivery hook
  if [ -f /usr/lib/dovecot/modules/lib90_sieve_plugin.so ]; then
    ln -sf /usr/lib/dovecot/modules/lib90_sieve_plugin.so "$DC_DIR/modules/lib90_sieve_plugin.so"
  fi
  printf '%s\n' "$DC_USERS" > "$DC_DIR/users"
  h_dovecot_settings_module "$DC_PLUGIN_SO" || bail "no Dovecot settings module"
  h_dovecot_delivery_conf dir="$DC_DIR" modules="$DC_DIR/modules" domain=pec-esempio.test \
    submission="127.0.0.1:$DC_SINK_PORT" users="$DC_DIR/users" home="$DC_DIR/home" lmtp="$DC_LMTP_PORT" \
    plugins="${DC_PLUGINS:-pec}" lda=1 pec_config="$DC_PEC_CONF" \
    sieve=$([ -f /usr/lib/dovecot/modules/lib90_sieve_plugin.so ] && echo 1) > "$DC_DIR/dovecot.conf"
}

# dc_watchdog: if this shell dies without cleaning up (SIGKILL from a test timeout), stop what it
# started: the pids listed in $DC_DIR/pids
dc_watchdog() {
  local parent=$$ dir=$DC_DIR
  (
    trap '' INT TERM HUP
    while kill -0 "$parent" 2>/dev/null; do sleep 1; done
    [ -f "$dir/pids" ] && while read -r p; do kill -TERM "$p" 2>/dev/null; done < "$dir/pids"
  ) >/dev/null 2>&1 &
  DC_WATCHDOG_PID=$!
}

# dc_start_sink: smtp-sink, every transaction dumped to its own file under sink/ (drops root to nobody)
dc_start_sink() {
  chown nobody "$DC_DIR/sink"
  smtp-sink -u nobody -d "$DC_DIR/sink/%Y%m%d%H%M%S." 127.0.0.1:"$DC_SINK_PORT" 64 \
    >>"$DC_DIR/smtp-sink.log" 2>&1 &
  DC_SINK_PID=$!
  echo "$DC_SINK_PID" >> "$DC_DIR/pids"
  wait_port "$DC_SINK_PORT" 10 || { echo "smtp-sink did not start" >&2; return 1; }
}
# dc_stop_sink: stop the sink (a test of receipts that cannot be submitted; dc_start_sink restarts it)
dc_stop_sink() { stop_pids 5 "$DC_SINK_PID"; }

# dc_start: the sink and Dovecot, stopped at exit by dc_cleanup
dc_start() {
  at_exit dc_cleanup
  dc_watchdog
  dc_start_sink || return 1
  dovecot -c "$DC_DIR/dovecot.conf" -F >"$DC_DIR/dovecot.stderr" 2>&1 &
  DC_DOVECOT_PID=$!
  echo "$DC_DOVECOT_PID" >> "$DC_DIR/pids"
  wait_port "$DC_LMTP_PORT" 20 || { echo "dovecot did not start:" >&2; cat "$DC_DIR/dovecot.stderr" "$DC_DIR/dovecot.log" >&2 2>/dev/null; return 1; }
}

# dc_cleanup: the cleanup step: Dovecot, the sink, the watchdog, each with its own bound
dc_cleanup() {
  stop_pids 10 "${DC_DOVECOT_PID:-}"
  stop_pids 5 "${DC_SINK_PID:-}"
  stop_pids 3 "${DC_WATCHDOG_PID:-}"
}

# ---- what the lmtp tests do with it ----

# dc_example_provider DIR [MORE-LINES]: the test provider "Gestore Esempio" (pecctl example: CA, key,
# index, sample messages) in DIR/pki and its configuration in DIR/provider.conf, plus MORE-LINES.
# Sets PKI.  The key stays readable by root only: the plugin loads it when the lmtp process starts,
# before dropping privileges; the rest is readable by the mail processes (nobody).
dc_example_provider() {
  PKI=$1/pki
  "$PECCTL" example --out "$PKI" >/dev/null || return 1
  chmod 755 "$PKI"
  chmod 644 "$PKI"/*.pem "$PKI"/*.ldif "$PKI"/*.eml
  chmod 600 "$PKI"/*.key
  cat > "$1/provider.conf" <<EOF
provider_name = "Gestore Esempio S.p.A."
mail_domain = pec-esempio.test
managed_domains = pec-esempio.test
cert_file = $PKI/provider.pem
key_file = $PKI/provider.key
trust_file = $PKI/ca.pem
index_file = $PKI/index.ldif
${2:-}
EOF
  chmod 644 "$1/provider.conf"
}
DC_INJECTED=0

# inject FROM RCPTS FILE: one LMTP transaction (swaks); REPLIES = the per-recipient DATA reply codes,
# INJECT_LOG = the whole dialogue
inject() {
  DC_INJECTED=$((DC_INJECTED + 1))
  INJECT_LOG=$DC_DIR/swaks.$DC_INJECTED.log
  swaks --protocol LMTP --server 127.0.0.1:"$DC_LMTP_PORT" --from "$1" --to "$2" --data @"$3" \
    --timeout 60 >"$INJECT_LOG" 2>&1
  REPLIES=$(sed -n '/^ -> \.$/,$p' "$INJECT_LOG" | grep -E '^<(-|\*\*) +[0-9]{3} ' |
            grep -v ' 221 ' | awk '{print $2}' | tr '\n' ' ' | sed 's/ $//')
}

# dc_sink_fresh COUNT: wait (bounded) for COUNT transactions captured by the sink since the last call,
# then a little more so that an extra one shows too ("no more than COUNT" is checked as well);
# DC_FRESH = their files
dc_sink_fresh() {
  local want=$1 deadline=$((SECONDS + 10)) f seen=$DC_DIR/sink-seen
  touch "$seen"
  while :; do
    mapfile -t DC_FRESH < <(find "$DC_DIR/sink" -type f | sort | grep -vxF -f "$seen")
    [ ${#DC_FRESH[@]} -ge "$want" ] || [ $SECONDS -ge $deadline ] && break
    sleep 0.1
  done
  sleep 0.3
  mapfile -t DC_FRESH < <(find "$DC_DIR/sink" -type f | sort | grep -vxF -f "$seen")
  for f in "${DC_FRESH[@]}"; do echo "$f" >> "$seen"; done
}

# new_busta FILE RCPT: a fresh busta di trasporto (ricevuta completa) signed by the test provider ($PKI),
# to RCPT, written to FILE; NEW_BUSTA_ID = its identificativo
new_busta() {
  "$PEC_MKBUSTA" "$PKI/provider.pem" "$PKI/provider.key" completa "$2" "" "$1" >/dev/null || return 1
  NEW_BUSTA_ID=$(sed -n 's/^Message-ID: *<\(.*\)>\r*$/\1/Ip' "$1" | head -1)
}

# maildir_files USER: the stored messages of USER
maildir_files() { find "$DC_DIR/home/$1/Maildir/new" "$DC_DIR/home/$1/Maildir/cur" -type f 2>/dev/null; }
# maildir_count USER: how many
maildir_count() { maildir_files "$1" | wc -l; }
# maildir_grep USER REGEX: how many match (grep -E)
maildir_grep() {
  local n=0 f
  for f in $(maildir_files "$1"); do
    grep -qE "$2" "$f" && n=$((n + 1))
  done
  echo "$n"
}
