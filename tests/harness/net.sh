# net.sh - two (or more) PEC providers on one machine: the harness of `make demo`, the e2e tests and
# `make bench`.  A layer on the Postfix harness (tests/harness/lib.sh, which it sources).
#
# n_net_start [DOMAIN...] (default pec-a.test pec-b.test) builds and starts, everything under $T_TMP:
#   - one test CA and a signing certificate per provider (tests/tools/pec-testpki), an index LDIF
#     listing every provider, a TLS server certificate per provider (openssl, same CA)
#   - one PostgreSQL cluster, one migrated database per provider (pec_<x>)
#   - per provider: Dovecot (LMTP with the pec plugin, SASL auth for Postfix, IMAP over TLS),
#     pec-milter access + reception, pec-emitter, Postfix with submission (TLS + AUTH only), port 25
#     (TLS required: plaintext from a provider is refused) and a loopback-only injection port without
#     milter (receipts submitted by the Dovecot plugin)
# Every port is chosen at run time; providers are told apart by port on 127.0.0.1.  Everything is
# stopped at exit by cleanup steps (tests/sh/lib.sh): Postfix instances, then our processes, PostgreSQL,
# strays.
#
# Set before n_net_start: N_SENDMAIL (sendmail binary of the provider config), N_INDEX_ONLY (domains in the index, not started), N_PEC=0 (plain Postfix + Dovecot: no milter, no plugin), N_CONF_EXTRA (more provider.conf lines), N_EXTRA_TRANSPORT (more transport map lines), N_REVOKE (providers whose certificates the CA revokes, CRL configured everywhere), N_CLAMD_SOCKET (clamd_socket of
# both providers), N_TLS=0 (no TLS anywhere), N_USERS, N_EMITTER_RETRY (pec-emitter -R), N_INJECT_EXTRA (more
# "-o name=value" lines of the injection service; "%k" stands for the provider's short name).
# Users of every provider (password "secret"): alice, bob, carol, dora (PEC only), aperta (also
# accepts ordinary mail: stored in a busta di anomalia), piena (1 KB quota), posta-certificata
# (the provider's mailReceipt).  Override with N_USERS="name[:extra]..." before n_net_start; an extra is
# ordinary, quota, or userdb fields of the box ("pec_notify=x@example.org+pec_max_recipients=1").
# The reception points ask Dovecot's userdb (its auth-userdb socket, answers kept N_USERDB_CACHE seconds
# [30]), the one place where boxes live; N_USERDB=0 makes them read the test-only mailbox file instead.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/../db/pg.sh"
N_DOMAINS=()
N_USERS=${N_USERS:-"alice bob carol dora aperta:ordinary piena:quota posta-certificata"}
N_CA=$T_TMP/pki/ca.pem
N_DTD=$PEC_SHARED_DIR/spec/daticert.dtd
N_TLS=${N_TLS:-1}
N_PEC=${N_PEC:-1}

# n_kill_strays: the last cleanup step: after our own processes, those left behind by them (e.g. a
# sendmail started by pec-emitter, reparented to init when the emitter stopped) are found by their
# command line naming our folder, then stopped by pid with their children (postdrop)
n_kill_strays() {
  local p pid c list=() kids=()
  stop_tracked
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    [ "$pid" = $$ ] && continue
    c=$(tr '\0' ' ' 2>/dev/null < "$p/cmdline") || continue
    case $c in *"$T_TMP/"*) list+=("$pid") ;; esac
  done
  [ ${#list[@]} -gt 0 ] || return 0
  for pid in "${list[@]}"; do kids+=($(cat /proc/"$pid"/task/*/children 2>/dev/null)); done
  kill "${list[@]}" "${kids[@]}" 2>/dev/null
  return 0
}
at_exit n_kill_strays

n_log() { [ -n "${N_VERBOSE:-}" ] && echo "$(date +%T) $*" >&2; return 0; }

# n_key X: short name of a provider domain (pec-a.test -> a)
n_key() { local k=${1%%.*}; echo "${k#pec-}"; }
# n_get DOMAIN VAR: a value recorded for the provider (ports, dirs)
n_get() { sed -n "s/^$2=//p" "$T_TMP/net-$(n_key "$1")/env"; }

# ---- PKI -------------------------------------------------------------------------------------------
n_pki() {
  local d=$T_TMP/pki args=() dom
  mkdir -p "$d"
  # N_INDEX_ONLY: more provider domains listed in the index (and given a certificate) but not started
  for dom in "${N_DOMAINS[@]}" ${N_INDEX_ONLY:-}; do args+=("$dom" "Gestore $(n_key "$dom" | tr a-z A-Z) S.p.A."); done
  # N_REVOKE: providers whose certificate the test CA revokes (its CRL is then in every provider.conf)
  "$PEC_BUILD_DIR/tests/pec-testpki" ${N_REVOKE:+--crl-url http://127.0.0.1:9/ca.crl} "$d" "${args[@]}" || return 1
  for dom in ${N_REVOKE:-}; do "$PEC_BUILD_DIR/tests/pec-testpki" revoke "$d" "$dom" || return 1; done
  for dom in "${N_DOMAINS[@]}"; do
    # TLS server certificate for mx.<domain>, issued by the same test CA
    openssl req -new -newkey rsa:2048 -nodes -keyout "$d/tls-$dom.key" -subj "/CN=mx.$dom" \
      -out "$d/tls-$dom.csr" 2>/dev/null || return 1
    printf 'subjectAltName=DNS:mx.%s,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' "$dom" > "$d/tls-$dom.ext"
    openssl x509 -req -in "$d/tls-$dom.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 30 \
      -extfile "$d/tls-$dom.ext" -out "$d/tls-$dom.pem" 2>/dev/null || return 1
  done
  chmod 755 "$d"; chmod 644 "$d"/*.pem "$d"/index.ldif; chmod 600 "$d"/*.key
}

# ---- PostgreSQL (tests/db/pg.sh) ---------------------------------------------------------------------
# n_pg: the cluster in $T_TMP/pg, one migrated database per provider
n_pg() {
  local d=$T_TMP/pg dom
  pg_installed || { echo "net: PostgreSQL server not installed" >&2; return 1; }
  at_exit n_pg_stop # before starting: a cluster that started halfway is stopped too
  pg_start "$d" 100 || return 1
  N_PGPORT=$PG_PORT
  for dom in "${N_DOMAINS[@]}"; do
    pg_createdb "$d" "$N_PGPORT" "pec_$(n_key "$dom")" || return 1
    "$PECCTL" db migrate --db "$(n_db "$dom")" >"$d/migrate-$(n_key "$dom").log" 2>&1 || { cat "$d/migrate-$(n_key "$dom").log" >&2; return 1; }
  done
}
# n_db DOMAIN: the provider's conninfo
n_db() { pg_conninfo "$T_TMP/pg" "$N_PGPORT" "pec_$(n_key "$1")"; }
# n_psql DOMAIN [PSQL-ARG...]: psql on the provider's database
n_psql() { local dom=$1; shift; pg_psql "$T_TMP/pg" "$N_PGPORT" "pec_$(n_key "$dom")" "$@"; }
# n_pg_stop: the cleanup step: its clients (our processes) first, then the cluster
n_pg_stop() { stop_tracked; pg_stop "$T_TMP/pg"; }

# ---- one provider ------------------------------------------------------------------------------------
# n_daemon DOMAIN NAME: start one of the provider's own daemons, emitter, milter-access or
# milter-reception (again after a crash: same command line, log appended); its pid in $T_TMP/NAME-<key>.pid
n_daemon() {
  local k d
  k=$(n_key "$1"); d=$T_TMP/net-$k
  case $2 in
    emitter) h_bg "emitter-$k" "$H_EMITTER" -c "$d/provider.conf" -l unix:"$d/run/emitter.sock" -g postfix \
               ${N_EMITTER_RETRY:+-R "$N_EMITTER_RETRY"} ;;
    milter-access) h_bg "milter-access-$k" "$H_MILTER" -c "$d/provider.conf" -r access -s unix:"$d/run/access.sock" -g postfix ;;
    milter-reception) h_bg "milter-reception-$k" "$H_MILTER" -c "$d/provider.conf" -r reception -s unix:"$d/run/reception.sock" -g postfix ;;
    *) echo "net: no daemon $2" >&2; return 1 ;;
  esac
}
# n_pid DOMAIN NAME: the pid of one of those daemons, or of dovecot (empty when it never started)
n_pid() { cat "$T_TMP/$2-$(n_key "$1").pid" 2>/dev/null; }
# n_alive DOMAIN NAME: that daemon runs
n_alive() { local p; p=$(n_pid "$1" "$2"); [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }
# n_postfix_start DOMAIN: start the provider's Postfix again (after a stop or a crash of its master)
n_postfix_start() { postfix -c "$(n_get "$1" DIR)/postfix/etc" start >>"$(n_get "$1" DIR)/postfix/start.log" 2>&1; }
# n_postfix_master DOMAIN: the pid of the provider's Postfix master (empty when it is not running)
n_postfix_master() {
  local p
  p=$(tr -dc 0-9 < "$(n_get "$1" DIR)/postfix/queue/pid/master.pid" 2>/dev/null)
  [ -n "$p" ] && kill -0 "$p" 2>/dev/null && echo "$p"
}
# n_lmtp_pids DOMAIN: the provider's running Dovecot LMTP processes (children of its dovecot master)
n_lmtp_pids() {
  local m
  m=$(n_pid "$1" dovecot) && [ -n "$m" ] || return 0
  ps -o pid=,comm= --ppid "$m" 2>/dev/null | awk '$2 == "lmtp" { print $1 }'
}
# n_pg_restart: start the cluster again after a crash or a stop (its port and folder unchanged)
n_pg_restart() { pg_ctl_start "$T_TMP/pg" "$N_PGPORT"; }
# n_pg_postmaster: the cluster's postmaster pid (empty when it is not running)
n_pg_postmaster() {
  local p
  p=$(head -1 "$T_TMP/pg/data/postmaster.pid" 2>/dev/null)
  [ -n "$p" ] && kill -0 "$p" 2>/dev/null && echo "$p"
}

# n_provider DOMAIN: write its configuration files (ports of every provider must be allocated first)
n_alloc() {
  local dom=$1 k d
  k=$(n_key "$dom"); d=$T_TMP/net-$k
  mkdir -p "$d"
  # ports come from one free_ports call for every provider (n_net_start), so none is handed out twice
  read -r SUB MX INJ MA MR EM LMTP AUTH IMAPS <<<"${N_PORTPOOL[*]:$2:9}"
  cat > "$d/env" <<ENV
DIR=$d
SUB=$SUB
MX=$MX
INJ=$INJ
MA=$MA
MR=$MR
EM=$EM
LMTP=$LMTP
AUTH=$AUTH
IMAPS=$IMAPS
HOME=$d/home
ENV
}

n_provider() {
  local dom=$1 k d u name extra other line
  k=$(n_key "$dom"); d=$T_TMP/net-$k
  local SUB MX INJ MA MR EM LMTP AUTH IMAPS
  SUB=$(n_get "$dom" SUB); MX=$(n_get "$dom" MX); INJ=$(n_get "$dom" INJ); MA=$(n_get "$dom" MA)
  MR=$(n_get "$dom" MR); EM=$(n_get "$dom" EM); LMTP=$(n_get "$dom" LMTP); AUTH=$(n_get "$dom" AUTH)
  IMAPS=$(n_get "$dom" IMAPS)
  mkdir -p "$d/outbox" "$d/quarantine" "$d/home" "$d/dovecot/run" "$d/dovecot/state" "$d/modules"
  chmod 755 "$d" "$d/home"; chown nobody:nogroup "$d/home"
  # users: Dovecot passwd-file (auth + userdb) and the reception point's mailbox list
  : > "$d/users"; : > "$d/mailboxes"
  for u in $N_USERS; do
    name=${u%%:*}; extra=
    [ "$name" != "$u" ] && extra=${u#*:}
    line="$name@$dom:{PLAIN}secret:65534:65534::$d/home/$name@$dom::"
    case $extra in
      ordinary) line="${line}userdb_pec_accept_ordinary=yes"; echo "$name@$dom ordinary" >> "$d/mailboxes" ;;
      quota) line="$line$(h_dovecot_quota_field 1k)"; echo "$name@$dom" >> "$d/mailboxes" ;;
      *=*) # userdb fields of the box: "field=value+field=value"
        line="$line$(tr '+' '\n' <<<"$extra" | sed 's/^/userdb_/' | paste -sd' ')"
        echo "$name@$dom" >> "$d/mailboxes" ;;
      *) echo "$name@$dom" >> "$d/mailboxes" ;;
    esac
    echo "$line" >> "$d/users"
  done
  chmod 644 "$d/users" "$d/mailboxes"
  cat > "$d/provider.conf" <<CONF
provider_name = "Gestore $(echo "$k" | tr a-z A-Z) S.p.A."
mail_domain = $dom
managed_domains = $dom
cert_file = $T_TMP/pki/$dom.pem
key_file = $T_TMP/pki/$dom.key
trust_file = $N_CA
index_file = $T_TMP/pki/index.ldif
node_id = 1
database = $(n_db "$dom")
outbox_dir = $d/outbox
marker_domain = outbox.pec.invalid
submit_address = $d/postfix/queue/public/pec-inject
sendmail_command = ${N_SENDMAIL:-/usr/sbin/sendmail} -C $d/postfix/etc
$([ "${N_USERDB:-1}" = 1 ] && printf 'userdb_socket = %s\nuserdb_cache = %s' "$d/dovecot/run/auth-userdb" "${N_USERDB_CACHE:-30}" ||
   echo "mailbox_file = $d/mailboxes")
quarantine_dir = $d/quarantine
${N_CLAMD_SOCKET:+clamd_socket = $N_CLAMD_SOCKET}
$([ -n "${N_CLAMD_SOCKET:-}" ] || echo "allow_unscanned = yes")
$([ -z "${N_REVOKE:-}" ] || echo "crl_file = $T_TMP/pki/ca.crl")
${N_CONF_EXTRA:-}
CONF
  chmod 644 "$d/provider.conf"
  # ---- Dovecot: LMTP with the pec plugin, SASL for Postfix, IMAP over TLS ----
  h_dovecot_plugins "$d/modules" "$PEC_BUILD_DIR/dovecot-plugin/lib95_pec_plugin.so"
  h_dovecot_settings_module "$PEC_BUILD_DIR/dovecot-plugin/lib95_pec_plugin.so" || return 1
  local imaps="" tls=()
  [ "$N_TLS" = 1 ] && tls=(tls_cert="$T_TMP/pki/tls-$dom.pem" tls_key="$T_TMP/pki/tls-$dom.key")
  [ "$N_TLS" = 1 ] && [ -x /usr/lib/dovecot/imap ] && imaps=$IMAPS
  # the plugin submits through submit_address, Postfix's public/pec-inject (group postdrop only), so
  # submission_host is unused
  h_dovecot_delivery_conf archive=Archivio dir="$d/dovecot" modules="$d/modules" domain="$dom" submission="127.0.0.1:$INJ" \
    users="$d/users" lmtp="$LMTP" auth="$AUTH" plugins="$([ "$N_PEC" = 1 ] && echo pec)" \
    pec_config="$d/provider.conf" groups=postdrop imaps="$imaps" "${tls[@]}" > "$d/dovecot/dovecot.conf"
  h_bg "dovecot-$k" dovecot -c "$d/dovecot/dovecot.conf" -F
  # ---- our daemons: unix sockets of mode 0660 and group postfix in $d/run (root:postfix 0750) ----
  mkdir -p "$d/run"; chgrp postfix "$d/run"; chmod 750 "$d/run"
  n_daemon "$dom" emitter; n_daemon "$dom" milter-access; n_daemon "$dom" milter-reception
  # ---- Postfix ----
  local p=$d/postfix
  mkdir -p "$p/etc" "$p/queue" "$p/data"
  chown postfix "$p/data"
  {
    echo "$dom lmtp:inet:127.0.0.1:$LMTP"
    echo "outbox.pec.invalid lmtp:unix:$d/run/emitter.sock"
    for other in "${N_DOMAINS[@]}"; do
      [ "$other" = "$dom" ] || echo "$other smtp:[127.0.0.1]:$(n_get "$other" MX)"
    done
    # other destinations (e.g. an smtp-sink standing for the Internet), one "domain transport" per line
    [ -n "${N_EXTRA_TRANSPORT:-}" ] && printf '%s\n' "$N_EXTRA_TRANSPORT"
  } > "$p/etc/transport"
  : > "$p/etc/tls_policy"
  for other in "${N_DOMAINS[@]}"; do
    [ "$other" = "$dom" ] || echo "[127.0.0.1]:$(n_get "$other" MX) encrypt" >> "$p/etc/tls_policy"
  done
  local tls_main="" sub_tls="" mx_tls=""
  if [ "$N_TLS" = 1 ]; then
    tls_main="smtpd_tls_cert_file = $T_TMP/pki/tls-$dom.pem
smtpd_tls_key_file = $T_TMP/pki/tls-$dom.key
smtpd_tls_CAfile = $N_CA
smtpd_tls_security_level = may
smtp_tls_CAfile = $N_CA
smtp_tls_cert_file = $T_TMP/pki/tls-$dom.pem
smtp_tls_key_file = $T_TMP/pki/tls-$dom.key
smtp_tls_security_level = may
smtp_tls_policy_maps = texthash:$p/etc/tls_policy
smtpd_tls_received_header = yes
smtp_tls_loglevel = 1
smtpd_tls_loglevel = 1"
    sub_tls="
  -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_auth_only=yes"
    mx_tls="
  -o smtpd_tls_security_level=encrypt"
  else
    tls_main="smtp_tls_security_level = none"
  fi
  {
    h_main_cf "$p" "$dom" "$AUTH"
    cat <<CONF
message_size_limit = 52428800
default_process_limit = ${N_PROCS:-100}
$tls_main
CONF
  } > "$p/etc/main.cf"
  {
    cat <<CONF
127.0.0.1:$SUB inet n - n - - smtpd
  -o syslog_name=postfix-$k/submission
  -o smtpd_sasl_auth_enable=yes$sub_tls
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
  -o smtpd_milters=$([ "$N_PEC" = 1 ] && echo "unix:$d/run/access.sock")
127.0.0.1:$MX inet n - n - - smtpd
  -o syslog_name=postfix-$k/mx$mx_tls
  -o smtpd_relay_restrictions=reject_unauth_destination
  -o smtpd_milters=$([ "$N_PEC" = 1 ] && echo "unix:$d/run/reception.sock")
pec-inject unix n - n - - smtpd
  -o syslog_name=postfix-$k/inject
  -o smtpd_milters=
  -o mynetworks=127.0.0.1/32
  -o smtpd_relay_restrictions=permit_mynetworks,reject${N_INJECT_EXTRA:+
  ${N_INJECT_EXTRA//%k/$k}}
CONF
    h_master_internal
  } > "$p/etc/master.cf"
  at_exit h_postfix_stop "$p/etc"
  postfix -c "$p/etc" start >"$p/start.log" 2>&1 || { cat "$p/start.log" "$p/postfix.log" >&2; return 1; }
}

# n_provider_ready DOMAIN: every listener of the provider answers
n_provider_ready() {
  local v d
  d=$(n_get "$1" DIR)
  for v in SUB MX LMTP AUTH; do
    wait_port "$(n_get "$1" $v)" 20 || { echo "net: $1: nothing listens for $v" >&2; return 1; }
  done
  [ "$N_PEC" = 1 ] || return 0
  for v in "$d/run/emitter.sock" "$d/run/access.sock" "$d/run/reception.sock" "$d/postfix/queue/public/pec-inject"; do
    wait_socket "$v" 20 || { echo "net: $1: no socket $v" >&2; return 1; }
  done
}

# n_net_start [DOMAIN...]: the whole network (see the top of the file)
n_net_start() {
  local dom
  N_DOMAINS=("$@")
  [ ${#N_DOMAINS[@]} -gt 0 ] || N_DOMAINS=(pec-a.test pec-b.test)
  printf '%s\n' "${N_DOMAINS[@]}" > "$T_TMP/domains"
  n_log "pki"
  n_pki || { echo "net: PKI failed" >&2; return 1; }
  n_log "postgresql"
  n_pg || { echo "net: PostgreSQL failed" >&2; return 1; }
  read -r -a N_PORTPOOL <<<"$(free_ports $(( 9 * ${#N_DOMAINS[@]} )))"
  local i=0
  for dom in "${N_DOMAINS[@]}"; do n_alloc "$dom" $((9 * i)); i=$((i + 1)); done
  for dom in "${N_DOMAINS[@]}"; do n_log "start $dom"; n_provider "$dom" || return 1; done
  for dom in "${N_DOMAINS[@]}"; do n_provider_ready "$dom" || { n_dump_logs >&2; return 1; }; done
  n_log "network up"
}

# n_dump_logs: every log, for a failure report
n_dump_logs() {
  local f
  for f in "$T_TMP"/*.log "$T_TMP"/net-*/postfix/postfix.log "$T_TMP"/net-*/dovecot/dovecot.log; do
    [ -f "$f" ] || continue
    echo "==== $f"; tail -40 "$f"
  done
}

# ---- clients -----------------------------------------------------------------------------------------
# n_submit DOMAIN USER SWAKS-ARGS...: authenticated submission over STARTTLS as USER@DOMAIN
n_submit() {
  local dom=$1 user=$2; shift 2
  local tls=()
  [ "$N_TLS" = 1 ] && tls=(--tls --tls-ca-path "$N_CA")
  swaks --server 127.0.0.1:"$(n_get "$dom" SUB)" "${tls[@]}" --auth PLAIN --auth-user "$user@$dom" \
        --auth-password secret --helo client.test --from "$user@$dom" --timeout 60 "$@" 2>&1
}
# n_mx DOMAIN SWAKS-ARGS...: a message from outside into the provider's port 25 (STARTTLS when on)
n_mx() {
  local dom=$1; shift
  local tls=()
  [ "$N_TLS" = 1 ] && tls=(--tls)
  swaks --server 127.0.0.1:"$(n_get "$dom" MX)" "${tls[@]}" --helo outside.test --timeout 60 "$@" 2>&1
}
# n_accepted SWAKS-OUTPUT: the DATA got 250
n_accepted() { grep -qE "^<[-~] +250 .*queued" <<<"$1"; }
# n_refused SWAKS-OUTPUT: a 5xx somewhere; prints the last server line
n_refused() { grep -qE "^<(\*\*|~\*) +5[0-9][0-9] " <<<"$1"; }
# n_reply SWAKS-OUTPUT: the last server reply line (for messages)
n_reply() { grep -E "^<(-|~|\*\*|~\*) +[0-9]{3} " <<<"$1" | grep -v " 221 " | tail -1 | sed -E 's/^<[^ ]* +//'; }

# ---- mailboxes ---------------------------------------------------------------------------------------
# n_maildir ADDRESS: the Maildir of a user
n_maildir() { local dom=${1#*@}; echo "$(n_get "$dom" HOME)/$1/Maildir"; }
# n_msgs ADDRESS: stored message files
n_msgs() { find "$(n_maildir "$1")/new" "$(n_maildir "$1")/cur" -type f 2>/dev/null | sort; }
# n_count ADDRESS [REGEX...]: stored messages matching every REGEX (grep -E, header lines)
n_count() {
  local addr=$1 f n=0 r ok; shift
  for f in $(n_msgs "$addr"); do
    ok=1
    for r in "$@"; do grep -qE "$r" "$f" || { ok=0; break; }; done
    [ $ok = 1 ] && n=$((n + 1))
  done
  echo $n
}
# n_find ADDRESS REGEX...: the first stored message matching every REGEX
n_find() {
  local addr=$1 f r ok; shift
  for f in $(n_msgs "$addr"); do
    ok=1
    for r in "$@"; do grep -qE "$r" "$f" || { ok=0; break; }; done
    [ $ok = 1 ] && { echo "$f"; return 0; }
  done
  return 1
}
# n_has ADDRESS TARGET REGEX...: at least TARGET stored messages match every REGEX
n_has() { local addr=$1 target=$2; shift 2; [ "$(n_count "$addr" "$@")" -ge "$target" ]; }
# n_wait_count ADDRESS TARGET SECONDS REGEX...: bounded wait for TARGET matching messages (polled every
# 0.2 s: a count reads every message)
n_wait_count() {
  local addr=$1 target=$2 secs=$3 WAIT_STEP=0.2; shift 3
  wait_until "$secs" n_has "$addr" "$target" "$@"
}
# n_users DOMAIN: every address of the provider
n_users() { cut -d: -f1 "$(n_get "$1" DIR)/users"; }

# n_verify_msg FILE: openssl smime -verify with the test CA (after CRLF canonicalisation: Maildir is LF)
# and, when it has one, its daticert.xml is DTD-valid.  Prints the reason on failure.
n_verify_msg() {
  local f=$1 tmp
  tmp=$(mktemp "$T_TMP/verify.XXXXXX")
  python3 -c 'import sys; d=open(sys.argv[1],"rb").read().replace(b"\r\n",b"\n"); open(sys.argv[2],"wb").write(d.replace(b"\n",b"\r\n"))' "$f" "$tmp.eml"
  if ! openssl smime -verify -in "$tmp.eml" -CAfile "$N_CA" -out /dev/null 2>"$tmp.err"; then
    echo "openssl smime -verify failed: $(head -2 "$tmp.err" | tr '\n' ' ')"; rm -f "$tmp"*; return 1
  fi
  if python3 "$PEC_SRC_DIR/tests/sh/mimepart.py" "$tmp.eml" daticert.xml > "$tmp.xml" 2>/dev/null; then
    if ! xmllint --noout --dtdvalid "$N_DTD" "$tmp.xml" 2>"$tmp.err"; then
      echo "daticert.xml not DTD-valid: $(head -2 "$tmp.err" | tr '\n' ' ')"; rm -f "$tmp"*; return 1
    fi
  fi
  rm -f "$tmp"*
  return 0
}

# n_verify_all: every message in every mailbox of every provider; prints one line per failure,
# returns the number of failures (0 = all good); N_VERIFIED = how many were checked
n_verify_all() {
  local dom addr f why bad=0
  N_VERIFIED=0
  for dom in $(cat "$T_TMP/domains"); do
    for addr in $(n_users "$dom"); do
      for f in $(n_msgs "$addr"); do
        N_VERIFIED=$((N_VERIFIED + 1))
        why=$(n_verify_msg "$f") || { bad=$((bad + 1)); echo "$addr $(basename "$f"): $why"; }
      done
    done
  done
  return $bad
}

# n_copy_mail OUTDIR: every mailbox as OUTDIR/<domain>/<user>/ (Maildir)
n_copy_mail() {
  local out=$1 dom addr src
  rm -rf "$out"; mkdir -p "$out"
  for dom in $(cat "$T_TMP/domains"); do
    for addr in $(n_users "$dom"); do
      src=$(n_maildir "$addr")
      mkdir -p "$out/$dom/${addr%@*}"
      if [ -d "$src" ]; then
        cp -a "$src/." "$out/$dom/${addr%@*}/"
      else
        mkdir -p "$out/$dom/${addr%@*}/"{new,cur,tmp}
      fi
    done
  done
  chown -R "$(id -u):$(id -g)" "$out" 2>/dev/null
  return 0
}
