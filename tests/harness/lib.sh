# lib.sh - the Postfix harness, a layer on tests/sh/lib.sh: private Postfix, Dovecot (auth),
# pec-milter/pec-emitter, clamd and capture sinks on loopback, in $T_TMP, with ports chosen at run time;
# everything stopped at exit (the library's cleanup steps and tracked pids).
# Source it from a test script; it needs PEC_BUILD_DIR (the CMake build folder) and PEC_SRC_DIR.
T_TMP_NAME=${T_TMP_NAME:-pec-harness}
. "$(dirname "${BASH_SOURCE[0]}")/../sh/lib.sh"
H_MILTER=$PEC_BUILD_DIR/milter/pec-milter
H_EMITTER=$PEC_BUILD_DIR/emitter/pec-emitter

# h_bg NAME COMMAND...: start a daemon in the background, logging to $T_TMP/NAME.log (appended: a daemon
# started again after a crash keeps the log of the one before)
h_bg() {
  local name=$1; shift
  "$@" >>"$T_TMP/$name.log" 2>&1 &
  track_pid $!
  echo $! > "$T_TMP/$name.pid"
  disown $!
}

# h_sink NAME PORT [lmtp]: an smtp-sink (Postfix's test server) writing every transaction to $T_TMP/sink-NAME/
h_sink() {
  local name=$1 port=$2 lmtp=${3:-}
  mkdir -p "$T_TMP/sink-$name"
  h_bg "sink-$name" smtp-sink ${lmtp:+-L} -u root -d "$T_TMP/sink-$name/%H%M%S." 127.0.0.1:"$port" 64
  wait_port "$port"
}

# h_sink_count NAME: number of captured transactions
h_sink_count() { find "$T_TMP/sink-$1" -type f 2>/dev/null | wc -l; }

# h_sink_messages NAME OUTDIR: extract each captured message (without smtp-sink's envelope preface)
h_sink_messages() {
  local name=$1 out=$2 f n=0
  mkdir -p "$out"
  for f in "$T_TMP/sink-$name"/*; do
    [ -f "$f" ] || continue
    n=$((n + 1))
    python3 "$PEC_SRC_DIR/tests/harness/sinkmsg.py" "$f" > "$out/$n.eml"
    python3 "$PEC_SRC_DIR/tests/harness/sinkmsg.py" --rcpt "$f" > "$out/$n.rcpt"
  done
}

# h_dovecot24: whether the installed Dovecot speaks the 2.4 configuration dialect (Debian 13)
h_dovecot24() {
  local v
  v=$(dovecot --version 2>/dev/null) || return 1
  [ "${v%%.*}" -gt 2 ] 2>/dev/null && return 0
  v=${v#2.}
  [ "${v%%.*}" -ge 4 ] 2>/dev/null
}

# h_dovecot_sasl_conf USERS-FILE [PORT]: in the installed Dovecot's dialect, the passdb of USERS-FILE
# (plain-text passwords) and, with PORT, the auth service's listener on 127.0.0.1:PORT for Postfix's SASL
h_dovecot_sasl_conf() {
  local users=$1 port=${2:-}
  if h_dovecot24; then
    printf 'passdb passwd-file {\n  passwd_file_path = %s\n  default_password_scheme = PLAIN\n}\n' "$users"
    [ -z "$port" ] ||
      printf 'service auth {\n  inet_listener auth-inet {\n    listen = 127.0.0.1\n    port = %s\n  }\n}\n' "$port"
  else
    printf 'passdb {\n  driver = passwd-file\n  args = scheme=PLAIN %s\n}\n' "$users"
    [ -z "$port" ] ||
      printf 'service auth {\n  inet_listener {\n    address = 127.0.0.1\n    port = %s\n  }\n}\n' "$port"
  fi
}

# h_dovecot_auth NAME PORT USERS-FILE: a Dovecot that only authenticates (SASL for Postfix), configured
# in the dialect of the installed Dovecot: the lines that differ first (2.4 wants its version first)
h_dovecot_auth() {
  local name=$1 port=$2 users=$3
  local d=$T_TMP/dovecot-$name
  mkdir -p "$d/base" "$d/state"
  {
    if h_dovecot24; then
      cat <<CONF
dovecot_config_version = 2.4.1
dovecot_storage_version = 2.4.1
auth_allow_cleartext = yes
userdb static {
  fields {
    uid = nobody
    gid = nogroup
    home = /nonexistent
  }
}
CONF
    else
      cat <<CONF
disable_plaintext_auth = no
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}
CONF
    fi
    h_dovecot_sasl_conf "$users" "$port"
    cat <<CONF
base_dir = $d/base
state_dir = $d/state
protocols =
log_path = $d/dovecot.log
ssl = no
auth_mechanisms = plain login
service anvil {
  chroot =
}
default_internal_user = dovenull
default_login_user = dovenull
CONF
  } > "$d/dovecot.conf"
  h_bg "dovecot-$name" dovecot -c "$d/dovecot.conf" -F
  wait_port "$port"
}

# h_dovecot_plugins DIR PLUGIN-SO: DIR, a delivery Dovecot's mail_plugin_dir: our plugin (from the build
# dir) and Dovecot's own quota and ACL plugins
h_dovecot_plugins() {
  ln -sf "$2" "$1/lib95_pec_plugin.so"
  ln -sf /usr/lib/dovecot/modules/lib10_quota_plugin.so "$1/lib10_quota_plugin.so"
  ln -sf /usr/lib/dovecot/modules/lib01_acl_plugin.so "$1/lib01_acl_plugin.so"
}

# h_dovecot_settings_module PLUGIN-SO: on Dovecot 2.4, our settings module (libpec_settings.so, built next
# to the plugin) in the one folder doveconf loads settings modules from, so that it knows the pec_* keys.
# Copied (not linked: the build dir may go) and replaced atomically, since tests start Dovecots in
# parallel; left there, as the packages `make deps` installs are
h_dovecot_settings_module() {
  h_dovecot24 || return 0
  local so=$(dirname "$1")/libpec_settings.so dir=/usr/lib/dovecot/modules/settings
  [ -f "$so" ] || { echo "h_dovecot_settings_module: $so not built" >&2; return 1; }
  cmp -s "$so" "$dir/libpec_settings.so" && return 0
  mkdir -p "$dir"
  cp "$so" "$dir/.libpec_settings.so.$$" && mv -f "$dir/.libpec_settings.so.$$" "$dir/libpec_settings.so"
}

# h_dovecot_quota_field SIZE: the passwd-file extra field that gives one user a quota of SIZE (bytes, k, M)
h_dovecot_quota_field() {
  if h_dovecot24; then echo "userdb_quota_storage_size=$1"; else echo "userdb_quota_rule=*:storage=$1"; fi
}

# h_dovecot_delivery_conf KEY=VALUE...: the whole dovecot.conf of a delivery Dovecot, in the dialect of the
# installed Dovecot (2.3 or 2.4): mail as nobody in ~/Maildir, the quota plugin (100M), receipts submitted
# to submission, a full mailbox refused for good (an avviso di mancata consegna, not a retry), LMTP on
# 127.0.0.1:lmtp with `plugins` added for LMTP (and for dovecot-lda with lda=1).  Keys: dir (base, state
# and log under it), modules (mail_plugin_dir), domain, submission, users (passwd-file for passdb and
# userdb), lmtp, plugins, pec_config; optional: home (the home folder of users without one: home/USER),
# auth (a SASL port for Postfix), sieve=1 (~/.dovecot.sieve), tls_cert + tls_key (ssl required),
# imaps (IMAP over TLS on that port), groups (mail_access_groups), lda=1, archive (the folder of the
# Archivio di sicurezza: read-only for its owner through the ACL plugin, outside the user's quota, kept
# 913 days, as `pecctl setup dovecot` prints it)
h_dovecot_delivery_conf() {
  local dir modules domain submission users lmtp plugins="" pec_config home="" auth="" sieve="" tls_cert=""
  local tls_key="" imaps="" groups="" lda="" archive="" kv p v24=""
  for kv in "$@"; do local "$kv"; done
  h_dovecot24 && v24=1
  local protocols=lmtp
  [ -n "$imaps" ] && protocols="lmtp imap"
  # the lines that differ: 2.4 wants its version first, names every section and listener
  if [ -n "$v24" ]; then
    cat <<CONF
dovecot_config_version = 2.4.1
dovecot_storage_version = 2.4.1
mail_driver = maildir
mail_path = ~/Maildir
mail_plugins {
  quota = yes
$([ -n "$archive" ] && echo "  acl = yes")
}
$([ -n "$archive" ] && printf 'acl_driver = vfile\nnamespace inbox {\n  inbox = yes\n  mailbox %s {\n    autoexpunge = 913d\n    quota_ignore = yes\n    acl owner {\n      rights = lrs\n    }\n  }\n}' "$archive")
quota "User quota" {
  driver = maildir
}
quota_storage_size = 100M
# 2.4 lets a message through over the quota by up to 10M by default (2.3: 10 % of it)
quota_storage_grace = 0
userdb passwd-file {
  passwd_file_path = $users
$([ -n "$home" ] && printf '  fields {\n    home = %s/%%{user}\n  }' "$home")
}
service lmtp {
  inet_listener lmtp {
    listen = 127.0.0.1
    port = $lmtp
  }
}
pec_config = $pec_config
CONF
    # (with ssl = required, 2.3 ignores disable_plaintext_auth; 2.4 refuses auth_allow_cleartext)
    if [ -n "$tls_cert" ]; then
      printf 'ssl_server_cert_file = %s\nssl_server_key_file = %s\n' "$tls_cert" "$tls_key"
    else
      echo "auth_allow_cleartext = yes"
    fi
    [ -n "$imaps" ] && printf 'service imap-login {\n  inet_listener imap {\n    port = 0\n  }\n  inet_listener imaps {\n    listen = 127.0.0.1\n    port = %s\n    ssl = yes\n  }\n}\n' "$imaps"
    [ -n "$sieve" ] && printf 'sieve_script personal {\n  driver = file\n  path = ~/sieve\n  active_path = ~/.dovecot.sieve\n}\n'
    for p in lmtp ${lda:+lda}; do
      printf 'protocol %s {\n  mail_plugins {\n' "$p"
      for kv in $plugins; do printf '    %s = yes\n' "$kv"; done
      printf '  }\n}\n'
    done
  else
    cat <<CONF
disable_plaintext_auth = no
mail_location = maildir:~/Maildir
mail_plugins = quota${archive:+ acl}
$([ -n "$archive" ] && printf 'namespace inbox {\n  inbox = yes\n  mailbox %s {\n    autoexpunge = 913d\n  }\n}' "$archive")
userdb {
  driver = passwd-file
  args = $users
${home:+  default_fields = home=$home/%u}
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $lmtp
  }
}
plugin {
  quota = maildir:User quota
  quota_rule = *:storage=100M
  pec_config = $pec_config
${archive:+  quota_rule2 = $archive:ignore
  acl = vfile:$dir/archive.acl}
${sieve:+  sieve = file:~/sieve;active=~/.dovecot.sieve}
}
CONF
    [ -n "$tls_cert" ] && printf 'ssl_cert = <%s\nssl_key = <%s\n' "$tls_cert" "$tls_key"
    [ -n "$imaps" ] && printf 'service imap-login {\n  inet_listener imap {\n    port = 0\n  }\n  inet_listener imaps {\n    address = 127.0.0.1\n    port = %s\n    ssl = yes\n  }\n}\n' "$imaps"
    for p in lmtp ${lda:+lda}; do
      printf 'protocol %s {\n  mail_plugins = $mail_plugins %s\n}\n' "$p" "$plugins"
    done
  fi
  # 2.3's ACL file: the owner may look the archive up, read it and mark it seen, nothing more
  [ -n "$archive" ] && [ -z "$v24" ] && printf '%s owner lrs\n' "$archive" > "$dir/archive.acl"
  h_dovecot_sasl_conf "$users" "$auth"
  cat <<CONF
base_dir = $dir/run
state_dir = $dir/state
log_path = $dir/dovecot.log
info_log_path = $dir/dovecot.log
protocols = $protocols
listen = 127.0.0.1
ssl = $([ -n "$tls_cert" ] && echo required || echo no)
auth_mechanisms = plain login
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 1
mail_uid = nobody
mail_gid = nogroup
mail_plugin_dir = $modules
hostname = mx.$domain
postmaster_address = postmaster@$domain
submission_host = $submission
lmtp_rcpt_check_quota = no
lda_mailbox_autocreate = yes
quota_full_tempfail = no
${groups:+mail_access_groups = $groups}
service anvil {
  chroot =
}
service stats {
  unix_listener stats-writer {
    mode = 0666
  }
}
CONF
}

# h_main_cf DIR DOMAIN AUTH-PORT: the main.cf lines every private instance shares: queue, data and log
# under DIR, relaying for DOMAIN only, SASL through Dovecot's auth port, no DNS, short retry times,
# 8-bit content never rewritten (it would break signatures), milter failures are 4xx
h_main_cf() {
  local d=$1 dom=$2 auth=$3
  cat <<CONF
compatibility_level = 3.6
queue_directory = $d/queue
data_directory = $d/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.$dom
mydomain = $dom
myorigin = \$mydomain
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination =
relay_domains = $dom
mynetworks = 127.0.0.254/32
transport_maps = texthash:$d/etc/transport
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
maillog_file = $d/postfix.log
maillog_file_prefixes = $T_TMP
disable_mime_output_conversion = yes
milter_default_action = tempfail
non_smtpd_milters =
smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:127.0.0.1:$auth
smtputf8_enable = no
alias_maps =
alias_database =
biff = no
maximal_queue_lifetime = 1d
bounce_queue_lifetime = 1d
queue_run_delay = 3s
minimal_backoff_time = 2s
maximal_backoff_time = 6s
lmtp_destination_recipient_limit = 1
CONF
}

# h_master_internal: the master.cf lines of Postfix's internal services
h_master_internal() {
  cat <<'CONF'
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
postlog   unix-dgram n  -       n       -       1       postlogd
CONF
}

# h_postfix NAME: a private Postfix instance in $T_TMP/postfix-NAME.  Before calling, set:
#   HP_DOMAIN (our PEC domain), HP_SUBMIT / HP_MX (ports of the submission and port-25 services),
#   HP_MILTER_ACCESS / HP_MILTER_RECEPTION (milter unix socket paths, or ports), HP_AUTH (Dovecot auth port),
#   HP_TRANSPORT (lines of the transport map).  Sets HP_DIR (its config folder) for sendmail -C.
# h_milter_socket PORT|PATH: how Postfix reaches a milter: a unix socket path, or a loopback port
h_milter_socket() { case $1 in /*) echo "unix:$1" ;; *) echo "inet:127.0.0.1:$1" ;; esac; }

# h_pec_run: the folder of our daemons' unix sockets, root:postfix 0750 (the sockets are 0660, group
# postfix: Postfix reaches them, no other local user does); sets H_RUN
h_pec_run() { H_RUN=$T_TMP/run; mkdir -p "$H_RUN"; chgrp postfix "$H_RUN"; chmod 750 "$H_RUN"; }

h_postfix() {
  local name=$1
  local d=$T_TMP/postfix-$name
  mkdir -p "$d/etc" "$d/queue" "$d/data"
  chown postfix "$d/data"
  printf '%s\n' "$HP_TRANSPORT" > "$d/etc/transport"
  { h_main_cf "$d" "$HP_DOMAIN" "$HP_AUTH"; echo "smtp_tls_security_level = none"; } > "$d/etc/main.cf"
  {
    cat <<CONF
127.0.0.1:$HP_SUBMIT inet n - n - - smtpd
  -o syslog_name=postfix-$name/submission
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
  -o smtpd_milters=$(h_milter_socket "$HP_MILTER_ACCESS")
127.0.0.1:$HP_MX inet n - n - - smtpd
  -o syslog_name=postfix-$name/mx
  -o smtpd_relay_restrictions=reject_unauth_destination
  -o smtpd_milters=$(h_milter_socket "$HP_MILTER_RECEPTION")
CONF
    h_master_internal
  } > "$d/etc/master.cf"
  HP_DIR=$d/etc
  at_exit h_postfix_stop "$d/etc"
  [ -n "${H_TIMING:-}" ] && echo "$(date +%T.%N | cut -c1-12) postfix start" >&2
  postfix -c "$d/etc" start >"$d/start.log" 2>&1 || { cat "$d/start.log" "$d/postfix.log" >&2; return 1; }
  [ -n "${H_TIMING:-}" ] && echo "$(date +%T.%N | cut -c1-12) postfix started" >&2
  wait_port "$HP_SUBMIT" && wait_port "$HP_MX"
  [ -n "${H_TIMING:-}" ] && echo "$(date +%T.%N | cut -c1-12) postfix listening" >&2
  return 0
}

# h_postfix_stop CONFIG-DIR: the cleanup step of an instance (registered before it starts)
h_postfix_stop() { postfix -c "$1" stop >/dev/null 2>&1; }

# h_postfix_log NAME: the instance's log
h_postfix_log() { cat "$T_TMP/postfix-$1/postfix.log" 2>/dev/null; }

# h_clamd NAME: a real clamd whose only signature is the EICAR test file's (no download needed);
# sets HC_SOCKET to its socket path
h_clamd() {
  local d=$T_TMP/clamd-$1
  mkdir -p "$d/db" "$d/tmp"
  printf '44d88612fea8a8f36de82e1278abb02f:68:Eicar-Test-Signature\n' > "$d/db/eicar.hdb"
  cat > "$d/clamd.conf" <<CONF
LocalSocket $d/clamd.sock
DatabaseDirectory $d/db
Foreground yes
LogFile $d/clamd.log
TemporaryDirectory $d/tmp
ScanMail yes
CONF
  h_bg "clamd-$1" clamd -c "$d/clamd.conf"
  HC_SOCKET=$d/clamd.sock
  wait_until 10 test -S "$HC_SOCKET"
}

# h_eicar: the EICAR anti-virus test string (68 bytes), standard and harmless
h_eicar() { printf '%s%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR' '-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'; }

# h_example_provider SENDMAIL-COMMAND [EXTRA-CONFIG-LINES]: the provider "Gestore Esempio" of `pecctl
# example`: its PKI and index in PKI=$T_TMP/pki, D=pec-esempio.test, configuration $T_TMP/provider.conf with
# its outbox in $T_TMP/outbox and its mailbox list in $T_TMP/mailboxes (the caller writes the list)
h_example_provider() {
  PKI=$T_TMP/pki
  D=pec-esempio.test
  "$PECCTL" example --out "$PKI" >/dev/null || return 1
  mkdir -p "$T_TMP/outbox"
  cat > "$T_TMP/provider.conf" <<CONF
provider_name = "Gestore Esempio S.p.A."
mail_domain = $D
managed_domains = $D
cert_file = $PKI/provider.pem
key_file = $PKI/provider.key
trust_file = $PKI/ca.pem
index_file = $PKI/index.ldif
outbox_dir = $T_TMP/outbox
marker_domain = outbox.pec.invalid
sendmail_command = $1
mailbox_file = $T_TMP/mailboxes
CONF
  [ -z "${2:-}" ] || printf '%s\n' "$2" >> "$T_TMP/provider.conf"
}

# h_index_add_aruba: list the signer of the real Aruba 2014 samples (../shared/samples) in $PKI/index.ldif
h_index_add_aruba() {
  cat >> "$PKI/index.ldif" <<'LDIF'

dn: providerName=ARUBA PEC S.p.A.,o=postacert
objectClass: provider
providerName: ARUBA PEC S.p.A.
providerCertificateHash: AAA71BFD2DBC9FE67AA23C9F33AAF3316DF1AA66
mailReceipt: posta-certificata@pec.aruba.it
managedDomains: pec.aruba.it
managedDomains: pec.it
LDIF
}
