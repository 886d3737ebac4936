#!/bin/sh
# tests/run.sh BUILD [unit] — runs every test suite and ends with one line
# "N passed, N failed, N skipped" over all of them. Unit suites are the
# cmocka binaries in BUILD/tests; the rest are tests/integration/*.sh,
# which print "ok NAME" / "not ok NAME" / "skip NAME: why" lines.
# SKIP_SUITES="a b" leaves those integration suites out (make check leaves
# the browser suite to make test).
BUILD=${1:-build}
ONLY=${2:-all}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
LOG=$(mktemp -d)
pass=0; fail=0; skip=0; failed_suites=""

count() { grep -c "$1" "$2" 2>/dev/null || true; }

for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    out="$LOG/$name.log"
    "$t" >"$out" 2>&1
    rc=$?
    p=$(count '^\[       OK \]' "$out")
    # cmocka names a failed or skipped test twice (as it runs, and in the
    # summary): count names once
    f=$(grep '^\[  FAILED  \]' "$out" | grep -v 'test(s)' | sort -u | wc -l)
    s=$(grep '^\[  SKIPPED \]' "$out" | grep -v 'test(s)' | sort -u | wc -l)
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # crashed or sanitizer report
    pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
    printf '%-28s %4d passed, %d failed, %d skipped\n' "$name" "$p" "$f" "$s"
    if [ "$f" -ne 0 ]; then
        failed_suites="$failed_suites $name"
        sed 's/^/    /' "$out" | grep -v '^    \[ *\(RUN\|OK\) ' | tail -40
    fi
    grep '^\[  SKIPPED \]' "$out" | grep -v 'test(s)' | sort -u | sed 's/^/    /'
    grep -i 'skip' "$out" | grep -v '^\[' | head -5 | sed 's/^/    /'
done

if [ "$ONLY" != unit ]; then
    for t in tests/integration/*.sh; do
        [ -f "$t" ] || continue
        name=$(basename "$t" .sh)
        case " ${SKIP_SUITES:-} " in *" $name "*) continue ;; esac
        out="$LOG/$name.log"
        AISLE="$ROOT/$BUILD/aisle" sh "$t" >"$out" 2>&1
        rc=$?
        p=$(count '^ok ' "$out")
        f=$(count '^not ok ' "$out")
        s=$(count '^skip ' "$out")
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
        pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
        printf '%-28s %4d passed, %d failed, %d skipped\n' "$name" "$p" "$f" "$s"
        if [ "$f" -ne 0 ]; then
            failed_suites="$failed_suites $name"
            grep -v '^ok ' "$out" | tail -40 | sed 's/^/    /'
        fi
        grep '^skip ' "$out" | sed 's/^/    /'
    done
fi
rm -rf "$LOG"
[ -n "$failed_suites" ] && echo "failed suites:$failed_suites"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
