# lib.sh - the test harness: private Postfix, Dovecot (auth), pec-emitter/pec-emitter and capture sinks on
# loopback, in a temporary folder, with ports chosen at run time; everything stopped at exit.
# Source it from a test script; it needs PEC_BUILD_DIR (the CMake build folder) and PEC_SRC_DIR.
set -u
# Debian's tools first: a version manager's python3 shim (pyenv) costs a second per call
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
H_SRC=${PEC_SRC_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
H_BUILD=${PEC_BUILD_DIR:-$H_SRC/build}
[ -d "$H_BUILD" ] && H_BUILD=$(cd "$H_BUILD" && pwd)
H_PECCTL=$H_BUILD/common/pecctl
H_MILTER=$H_BUILD/milter/pec-milter
H_EMITTER=$H_BUILD/emitter/pec-emitter
H_T=$(mktemp -d /tmp/pec-harness.XXXXXX)
chmod 755 "$H_T"
H_PASS=0
H_FAIL=0
: > "$H_T/pids"
: > "$H_T/postfix-instances"

# h_cleanup: stop every process we started and every Postfix instance, remove the folder
h_cleanup() {
  [ -n "${H_TIMING:-}" ] && echo "$(date +%T) cleanup start" >&2
  local d pid
  while read -r d; do [ -n "$d" ] && postfix -c "$d" stop >/dev/null 2>&1; done < "$H_T/postfix-instances"
  while read -r pid; do [ -n "$pid" ] && kill "$pid" 2>/dev/null; done < "$H_T/pids"
  for _ in $(seq 1 30); do
    alive=0
    while read -r pid; do [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && alive=1; done < "$H_T/pids"
    [ $alive = 0 ] && break
    sleep 0.1
  done
  while read -r pid; do [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; done < "$H_T/pids"
  # extra stop commands registered by other harness files (net.sh: PostgreSQL), one per line
  if [ -f "$H_T/cleanup-hooks" ]; then
    while read -r d; do [ -n "$d" ] && eval "$d" </dev/null; done < "$H_T/cleanup-hooks"
  fi
  if [ "${H_KEEP:-0}" = 1 ]; then echo "harness: kept $H_T" >&2; else rm -rf "$H_T"; fi
}
trap h_cleanup EXIT

h_ok() { H_PASS=$((H_PASS + 1)); }
h_fail() { H_FAIL=$((H_FAIL + 1)); echo "FAIL: $*" >&2; }
# h_check DESCRIPTION COMMAND...: pass when the command exits 0
h_check() { local d=$1; shift; if "$@" >/dev/null 2>&1; then h_ok; else h_fail "$d"; fi; }
h_done() { echo "$H_PASS passed, $H_FAIL failed"; [ "$H_FAIL" -eq 0 ]; }
h_skip() { echo "skipped: $*"; exit 77; }

# h_port: a free TCP port on 127.0.0.1
h_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# h_wait_port PORT [SECONDS]: until something listens there
h_wait_port() {
  local i
  for i in $(seq 1 $((${2:-10} * 10))); do
    (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# h_wait COUNT-COMMAND TARGET [SECONDS]: until the command prints a number >= TARGET
h_wait() {
  local cmd=$1 target=$2 secs=${3:-20} i n
  for i in $(seq 1 $((secs * 10))); do
    n=$(eval "$cmd" 2>/dev/null || echo 0)
    [ "${n:-0}" -ge "$target" ] && return 0
    sleep 0.1
  done
  return 1
}

# h_bg NAME COMMAND...: start a daemon in the background, logging to $H_T/NAME.log
h_bg() {
  local name=$1; shift
  "$@" >"$H_T/$name.log" 2>&1 &
  echo $! >> "$H_T/pids"
  echo $! > "$H_T/$name.pid"
  disown $!
}

# h_sink NAME PORT [lmtp]: an smtp-sink (Postfix's test server) writing every transaction to $H_T/sink-NAME/
h_sink() {
  local name=$1 port=$2 lmtp=${3:-}
  mkdir -p "$H_T/sink-$name"
  h_bg "sink-$name" smtp-sink ${lmtp:+-L} -u root -d "$H_T/sink-$name/%H%M%S." 127.0.0.1:"$port" 64
  h_wait_port "$port"
}

# h_sink_count NAME: number of captured transactions
h_sink_count() { find "$H_T/sink-$1" -type f 2>/dev/null | wc -l; }

# h_sink_messages NAME OUTDIR: extract each captured message (without smtp-sink's envelope preface)
h_sink_messages() {
  local name=$1 out=$2 f n=0
  mkdir -p "$out"
  for f in "$H_T/sink-$name"/*; do
    [ -f "$f" ] || continue
    n=$((n + 1))
    python3 "$H_SRC/tests/harness/sinkmsg.py" "$f" > "$out/$n.eml"
    python3 "$H_SRC/tests/harness/sinkmsg.py" --rcpt "$f" > "$out/$n.rcpt"
  done
}

# h_dovecot_auth NAME PORT USERS-FILE: a Dovecot that only authenticates (SASL for Postfix)
h_dovecot_auth() {
  local name=$1 port=$2 users=$3
  local d=$H_T/dovecot-$name
  mkdir -p "$d/base" "$d/state"
  cat > "$d/dovecot.conf" <<CONF
base_dir = $d/base
state_dir = $d/state
protocols =
log_path = $d/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {
  driver = passwd-file
  args = scheme=PLAIN $users
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}
service auth {
  inet_listener {
    address = 127.0.0.1
    port = $port
  }
}
service anvil {
  chroot =
}
default_internal_user = dovenull
default_login_user = dovenull
CONF
  dovecot -c "$d/dovecot.conf" -F >"$H_T/dovecot-$name.out" 2>&1 &
  echo $! >> "$H_T/pids"
  disown $!
  h_wait_port "$port"
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
maillog_file_prefixes = $H_T
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

# h_postfix NAME: a private Postfix instance in $H_T/postfix-NAME.  Before calling, set:
#   HP_DOMAIN (our PEC domain), HP_SUBMIT / HP_MX (ports of the submission and port-25 services),
#   HP_MILTER_ACCESS / HP_MILTER_RECEPTION (milter ports), HP_AUTH (Dovecot auth port),
#   HP_TRANSPORT (lines of the transport map).  Sets HP_DIR (its config folder) for sendmail -C.
h_postfix() {
  local name=$1
  local d=$H_T/postfix-$name
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
  -o smtpd_milters=inet:127.0.0.1:$HP_MILTER_ACCESS
127.0.0.1:$HP_MX inet n - n - - smtpd
  -o syslog_name=postfix-$name/mx
  -o smtpd_relay_restrictions=reject_unauth_destination
  -o smtpd_milters=inet:127.0.0.1:$HP_MILTER_RECEPTION
CONF
    h_master_internal
  } > "$d/etc/master.cf"
  HP_DIR=$d/etc
  echo "$d/etc" >> "$H_T/postfix-instances"
  [ -n "${H_TIMING:-}" ] && echo "$(date +%T.%N | cut -c1-12) postfix start" >&2
  postfix -c "$d/etc" start >"$d/start.log" 2>&1 || { cat "$d/start.log" "$d/postfix.log" >&2; return 1; }
  [ -n "${H_TIMING:-}" ] && echo "$(date +%T.%N | cut -c1-12) postfix started" >&2
  h_wait_port "$HP_SUBMIT" && h_wait_port "$HP_MX"
  [ -n "${H_TIMING:-}" ] && echo "$(date +%T.%N | cut -c1-12) postfix listening" >&2
  return 0
}

# h_postfix_log NAME: the instance's log
h_postfix_log() { cat "$H_T/postfix-$1/postfix.log" 2>/dev/null; }

# h_clamd NAME: a real clamd whose only signature is the EICAR test file's (no download needed);
# sets HC_SOCKET to its socket path
h_clamd() {
  local d=$H_T/clamd-$1
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
  local i
  for i in $(seq 1 100); do [ -S "$HC_SOCKET" ] && return 0; sleep 0.1; done
  return 1
}

# h_eicar: the EICAR anti-virus test string (68 bytes), standard and harmless
h_eicar() { printf '%s%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR' '-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'; }

# h_example_provider SENDMAIL-COMMAND [EXTRA-CONFIG-LINES]: the provider "Gestore Esempio" of `pecctl
# example`: its PKI and index in PKI=$H_T/pki, D=pec-esempio.test, configuration $H_T/provider.conf with
# its outbox in $H_T/outbox and its mailbox list in $H_T/mailboxes (the caller writes the list)
h_example_provider() {
  PKI=$H_T/pki
  D=pec-esempio.test
  "$H_PECCTL" example --out "$PKI" >/dev/null || return 1
  mkdir -p "$H_T/outbox"
  cat > "$H_T/provider.conf" <<CONF
provider_name = "Gestore Esempio S.p.A."
mail_domain = $D
managed_domains = $D
cert_file = $PKI/provider.pem
key_file = $PKI/provider.key
index_file = $PKI/index.ldif
outbox_dir = $H_T/outbox
marker_domain = outbox.pec.invalid
sendmail_command = $1
mailbox_file = $H_T/mailboxes
CONF
  [ -z "${2:-}" ] || printf '%s\n' "$2" >> "$H_T/provider.conf"
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
