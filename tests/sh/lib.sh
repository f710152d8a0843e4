# lib.sh - the one library of the shell tests: paths, a temporary folder, cleanup at exit that every layer
# adds to (none replaces another's trap), free ports, bounded waits, skips and the pass/fail tally, and a
# recording sendmail.
# Layers source it: tests/harness/lib.sh (private Postfix), tests/harness/net.sh (two providers),
# tests/lmtp/dovecot-env.sh (private Dovecot LMTP), tests/db/pg_harness.sh (throwaway PostgreSQL).
[ -n "${T_LIB_LOADED:-}" ] && return 0 # sourced by a layer and again by its test: one folder, one trap
T_LIB_LOADED=1
set -u
# Debian's tools first: a version manager's python3 shim (pyenv) costs a second per call
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
PEC_SRC_DIR=${PEC_SRC_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PEC_SHARED_DIR=${PEC_SHARED_DIR:-$PEC_SRC_DIR/../shared}
PEC_BUILD_DIR=${PEC_BUILD_DIR:-$PEC_SRC_DIR/build}
[ -d "$PEC_BUILD_DIR" ] && PEC_BUILD_DIR=$(cd "$PEC_BUILD_DIR" && pwd)
PECCTL=${PECCTL:-$PEC_BUILD_DIR/common/pecctl}
T_PASS=0
T_FAIL=0
# world-readable: the daemons started under other users (postgres, nobody, dovecot) read files in it
T_TMP=$(mktemp -d "/tmp/${T_TMP_NAME:-pec-test}.XXXXXX")
# every path a test writes starts with $T_TMP: without it they would land in /
case "$T_TMP" in /tmp/?*) [ -d "$T_TMP" ] ;; *) false ;; esac || { echo "lib.sh: no scratch folder" >&2; exit 1; }
chmod 755 "$T_TMP"
: > "$T_TMP/.pids"
: > "$T_TMP/.at-exit"

# ---- verdicts ----
# ok: record a pass
ok() { T_PASS=$((T_PASS + 1)); }
# fail MESSAGE: record a failure and say why
fail() { T_FAIL=$((T_FAIL + 1)); echo "FAIL: $*" >&2; }
# check DESCRIPTION COMMAND...: run a command, pass when it exits 0
check() { local d=$1; shift; if "$@" >/dev/null 2>&1; then ok; else fail "$d"; fi; }
# check_not DESCRIPTION COMMAND...: pass when the command fails
check_not() { local d=$1; shift; if "$@" >/dev/null 2>&1; then fail "$d"; else ok; fi; }
# skip REASON: the test cannot run here (CTest SKIP_RETURN_CODE 77)
skip() { echo "skipped: $*"; exit 77; }
# done_tests: print the tally and exit with the verdict
done_tests() { echo "$T_PASS passed, $T_FAIL failed"; [ "$T_FAIL" -eq 0 ]; }
# bail MESSAGE: a failure the rest of the test cannot run past: the tally, exit 1
bail() { fail "$@"; done_tests; exit 1; }
# need_root WHY: skip unless root (private daemons switch users)
need_root() { [ "$(id -u)" -eq 0 ] || skip "needs root ($*)"; }
# need_tools TOOL...: skip when one of them is not installed
need_tools() { local t; for t in "$@"; do command -v "$t" >/dev/null 2>&1 || skip "$t not installed"; done; }

# ---- fixtures ----
# recording_sendmail: $T_TMP/sendmail, a sendmail command for tests without an MTA: call N keeps its
# arguments in $T_TMP/sent/N.args and the message it was handed in $T_TMP/sent/N.eml
recording_sendmail() {
  mkdir -p "$T_TMP/sent"
  cat > "$T_TMP/sendmail" <<SH
#!/bin/sh
# records what it is handed: arguments and message
n=\$(ls "$T_TMP/sent" | wc -l)
echo "\$*" > "$T_TMP/sent/\$n.args"
cat > "$T_TMP/sent/\$n.eml"
SH
  chmod +x "$T_TMP/sendmail"
}

# db_provider_conf PKI [LINE...]: $T_TMP/provider.conf for the example provider of `pecctl example --out
# PKI`, with the test database (tests/db/pg_harness.sh) and the recording sendmail, then each LINE
db_provider_conf() {
  local pki=$1
  shift
  { cat <<CONF
provider_name = "Gestore Esempio S.p.A."
mail_domain = pec-esempio.test
managed_domains = pec-esempio.test
cert_file = $pki/provider.pem
key_file = $pki/provider.key
database = $PEC_TEST_DB
sendmail_command = $T_TMP/sendmail
CONF
    printf '%s\n' "$@"; } > "$T_TMP/provider.conf"
}

# ---- ports and bounded waits ----
# free_ports COUNT: COUNT TCP ports free on 127.0.0.1 now, distinct (bound together)
free_ports() {
  python3 -c 'import socket,sys
ss=[socket.socket() for _ in range(int(sys.argv[1]))]
for s in ss: s.bind(("127.0.0.1",0))
print(" ".join(str(s.getsockname()[1]) for s in ss))' "${1:-1}"
}
# free_port: one free port
free_port() { free_ports 1; }
# port_open PORT: something accepts connections on 127.0.0.1:PORT
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# wait_until SECONDS COMMAND...: until COMMAND succeeds, polled every WAIT_STEP s [0.1]; 1 when time is up
wait_until() {
  local end=$((${EPOCHREALTIME//[!0-9]/} + $1 * 1000000)); shift
  until "$@"; do
    [ "${EPOCHREALTIME//[!0-9]/}" -lt "$end" ] || return 1
    sleep "${WAIT_STEP:-0.1}"
  done
}
# socket_open PATH: a unix socket that accepts a connection (a file left by a dead daemon does not)
socket_open() { python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])' "$1" 2>/dev/null; }
# wait_socket PATH [SECONDS]: until something listens there [10 s]
wait_socket() { wait_until "${2:-10}" socket_open "$1"; }
# wait_port PORT [SECONDS]: until something listens there [10 s]
wait_port() { wait_until "${2:-10}" port_open "$1"; }
# wait_count COMMAND-STRING TARGET [SECONDS]: until the command (eval'd: pipes allowed) prints a number
# >= TARGET [20 s]
wait_count() { wait_until "${3:-20}" t_count_reached "$1" "$2"; }
t_count_reached() { local n; n=$(eval "$1" 2>/dev/null || echo 0); [ "${n:-0}" -ge "$2" ] 2>/dev/null; }

# ---- processes and cleanup ----
# all_gone PID...: none of them runs any more
all_gone() { local p; for p in "$@"; do kill -0 "$p" 2>/dev/null && return 1; done; return 0; }
# stop_pids SECONDS PID...: TERM them all, wait (bounded) for them to go, KILL the rest
stop_pids() {
  local secs=$1 p pids=(); shift
  for p in "$@"; do [ -n "$p" ] && pids+=("$p"); done
  [ ${#pids[@]} -gt 0 ] || return 0
  kill -TERM "${pids[@]}" 2>/dev/null
  wait_until "$secs" all_gone "${pids[@]}" || kill -KILL "${pids[@]}" 2>/dev/null
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  return 0
}
# track_pid PID: stop it at exit (kept in a file: a subshell that restarts a daemon can add its pid)
track_pid() { echo "$1" >> "$T_TMP/.pids"; }
# stop_tracked: stop every tracked process now (3 s, then KILL); a step calls it when its service
# must outlive its clients (PostgreSQL), the final cleanup calls it anyway
stop_tracked() {
  local pids
  mapfile -t pids < "$T_TMP/.pids"
  stop_pids 3 "${pids[@]}"
  : > "$T_TMP/.pids"
}
# http_serve DIR: a `python3 -m http.server` of DIR on 127.0.0.1, port chosen by the kernel (port 0; the
# server prints it): HTTP_PID and HTTP_PORT set, 1 (log on stderr) when it did not start
http_serve() {
  local log=$T_TMP/http.log
  python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$1" >"$log" 2>&1 &
  HTTP_PID=$! HTTP_PORT=
  for _ in $(seq 1 100); do
    HTTP_PORT=$(sed -n 's/.* port \([0-9][0-9]*\).*/\1/p' "$log" | head -1)
    [ -n "$HTTP_PORT" ] && return 0
    kill -0 "$HTTP_PID" 2>/dev/null || break
    sleep 0.1
  done
  cat "$log" >&2
  return 1
}
# at_exit COMMAND [ARG...]: a cleanup step of some layer; at exit the steps run last-added first (register
# just before starting something: what was started last stops first)
at_exit() { { printf '%q ' "$@"; echo; } >> "$T_TMP/.at-exit"; }
# t_cleanup: the one EXIT trap: the steps, the tracked processes, then the folder (kept with PEC_KEEP=1,
# or H_KEEP=1 as the Postfix harness called it)
t_cleanup() {
  local steps i
  mapfile -t steps < "$T_TMP/.at-exit"
  for ((i = ${#steps[@]} - 1; i >= 0; i--)); do eval "${steps[i]}" </dev/null; done
  stop_tracked
  if [ -n "${PEC_KEEP:-}" ] || [ "${H_KEEP:-0}" = 1 ]; then echo "kept $T_TMP" >&2; else rm -rf "$T_TMP"; fi
}
trap t_cleanup EXIT
