#!/usr/bin/env bash
# run.sh - run one libFuzzer target for a bounded time with the project's dictionary and report how far it
# got; non-zero when it found a crash, a leak, undefined behaviour or a timeout (the input is kept under
# CORPUS/../artifacts/).  With PEC_FUZZ_FRESH=1 the corpus starts empty each time (the ctest label: the
# same work every run); otherwise it grows from run to run (make fuzz).  PEC_FUZZ_RUNS=N also stops it
# after N executions, whichever comes first.
# Usage: tests/fuzz/run.sh BINARY TARGET SECONDS CORPUS [SEED_DIR...]
set -uo pipefail
[ $# -ge 4 ] || { echo "usage: $0 BINARY TARGET SECONDS CORPUS [SEED_DIR...]" >&2; exit 2; }
bin=$1 target=$2 secs=$3 corpus=$4
shift 4
src=${PEC_SRC_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
artifacts=$(dirname "$corpus")/artifacts/$target
# messages and submissions carry attachments; the other inputs are small files
case $target in
    message|access|index_p7m) max_len=65536 ;;
    index_ldif) max_len=32768 ;;
    *) max_len=8192 ;;
esac
[ "${PEC_FUZZ_FRESH:-0}" = 1 ] && rm -rf "$corpus"
mkdir -p "$corpus" "$artifacts"
seeds=("$src/tests/fuzz/regress/$target")
for d in "$@"; do [ -d "$d" ] && seeds+=("$d"); done
log=$artifacts/last-run.log
runs=()
[ -n "${PEC_FUZZ_RUNS:-}" ] && runs=(-runs="$PEC_FUZZ_RUNS")

start=$SECONDS
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$src/tests/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
"$bin" -max_total_time="$secs" -max_len="$max_len" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 "${runs[@]}" \
    -dict="$src/tests/fuzz/pec.dict" -artifact_prefix="$artifacts/" "$corpus" "${seeds[@]}" >"$log" 2>&1
rc=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
printf 'fuzz %-10s %10s execs in %ss (%s exec/s), corpus %s files, rc %d\n' "$target" "${execs:-?}" "$((SECONDS - start))" \
    "${rate:-?}" "$(ls "$corpus" | wc -l)" "$rc"
if [ $rc -ne 0 ]; then
    grep -E '^(==[0-9]+==|SUMMARY|.*runtime error|.*Test unit written)' "$log" | head -20 >&2
    echo "fuzz $target: failed, full log in $log" >&2
fi
exit $rc
