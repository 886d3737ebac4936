#!/bin/sh
# tests/integration/fuzz_replay.sh — replays every seed and regression
# input of the fuzz targets (tests/fuzz/) through the same entry points,
# built with the normal compiler and a small driver (no clang needed):
# one "ok TARGET: FILE" line per input; a crash or a sanitizer report
# (make check) is "not ok" naming the input.
A=${AISLE:-build/aisle}
BIN=$(dirname "$A")/fuzz
cd "$(dirname "$0")/../.." || exit 1
found=0
for src in tests/fuzz/fuzz_*.c; do
    t=$(basename "$src" .c)
    bin="$BIN/$t"
    if [ ! -x "$bin" ]; then
        echo "not ok $t: replay binary $bin not built"
        continue
    fi
    found=1
    err=$(mktemp)
    "$bin" tests/fuzz/corpus/"$t" tests/fuzz/regression/"$t" 2>"$err"
    rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "not ok $t: exit $rc on $(grep '^running ' "$err" | tail -1 | sed 's/^running //')"
        grep -E 'ERROR|SUMMARY|runtime error' "$err" | head -5 | sed 's/^/  /'
    fi
    rm -f "$err"
done
[ "$found" = 1 ] || echo "skip fuzz_replay: no replay binaries"
exit 0
