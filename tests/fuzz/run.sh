#!/bin/sh
# tests/fuzz/run.sh BUILD SECONDS — run every libFuzzer target built by
# `make fuzz` for SECONDS each, from the repository root: seeds from
# tests/fuzz/corpus/TARGET and tests/fuzz/regression/TARGET, new inputs
# kept in BUILD/corpus/TARGET, crashes written to BUILD/crashes/TARGET/.
# Prints one summary line per target (runs, coverage, crashes) and exits
# non-zero when any target crashed.
BUILD=${1:-build-fuzz}
SECS=${2:-60}
cd "$(dirname "$0")/../.." || exit 1
bad=0
for bin in "$BUILD"/fuzz/lf_fuzz_*; do
    [ -x "$bin" ] || continue
    t=$(basename "$bin" | sed 's/^lf_//')
    mkdir -p "$BUILD/corpus/$t" "$BUILD/crashes/$t" tests/fuzz/regression/"$t"
    log="$BUILD/fuzz-$t.log"
    "$bin" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1 \
        -artifact_prefix="$BUILD/crashes/$t/" "$BUILD/corpus/$t" tests/fuzz/corpus/"$t" \
        tests/fuzz/regression/"$t" >"$log" 2>&1
    rc=$?
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
    crashes=$(find "$BUILD/crashes/$t" -type f | wc -l)
    printf '%-20s %ss: %s runs, cov %s, ft %s, corpus %s, %s crash file(s), rc %s\n' "$t" "$SECS" \
        "${runs:-?}" "${cov:-?}" "${ft:-?}" "$(ls "$BUILD/corpus/$t" | wc -l)" "$crashes" "$rc"
    if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
        bad=1
        grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -8 | sed 's/^/    /'
    fi
done
exit $bad
