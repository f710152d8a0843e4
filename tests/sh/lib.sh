# lib.sh - helpers for the shell tests: failures are counted, the closing line is the tally.
set -u
# Debian's tools first: a version manager's python3 shim (pyenv) costs a second per call
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
PEC_SRC_DIR=${PEC_SRC_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PEC_SHARED_DIR=${PEC_SHARED_DIR:-$PEC_SRC_DIR/../shared}
PECCTL=${PECCTL:-$PEC_SRC_DIR/build/common/pecctl}
T_PASS=0
T_FAIL=0
T_TMP=$(mktemp -d /tmp/pec-test.XXXXXX)
trap 'rm -rf "$T_TMP"' EXIT

# ok COND-DESCRIPTION: record a pass
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
