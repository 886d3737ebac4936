#!/bin/sh
# tests/run.sh BUILD [unit] — runs every test suite and ends with one line
# "N passed, N failed, N skipped" over all of them, followed by the
# "SUITE: reason" of every skip. Unit suites are the cmocka binaries in
# BUILD/tests, which say why before each skip ("[  SKIP    ] reason");
# the rest are tests/integration/*.sh, which print "ok NAME" / "not ok
# NAME" / "skip NAME: why" lines.
# Under CI=true a skip is a failure unless its reason matches a line of
# tests/skips-allowed.txt (SKIPS_ALLOWED names another file), and a suite
# that ran no test at all fails everywhere.
# SKIP_SUITES="a b" leaves those integration suites out (make check leaves
# the browser suite to make test).
BUILD=${1:-build}
ONLY=${2:-all}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
ALLOWED=${SKIPS_ALLOWED:-$ROOT/tests/skips-allowed.txt}
LOG=$(mktemp -d)
pass=0; fail=0; skip=0; failed_suites=""
: >"$LOG/skips"

count() { grep -c "$1" "$2" 2>/dev/null || true; }

# skips NAME FILE: FILE holds one reason a line for the suite NAME's
# skips; records them, and under CI=true counts those whose reason is not
# allowed as failures (sets f)
skips() {
    while IFS= read -r why; do
        echo "$1: $why" >>"$LOG/skips"
        [ "${CI:-}" = true ] || continue
        if grep -v '^#' "$ALLOWED" 2>/dev/null | grep -v '^[[:space:]]*$' >"$LOG/allowed" \
           && echo "$1: $why" | grep -Eqf "$LOG/allowed"; then
            continue
        fi
        echo "not ok $1: skipped under CI=true for a reason not in ${ALLOWED#"$ROOT"/}: $why" >>"$LOG/ci"
        f=$((f + 1))
    done <"$2"
}

# report NAME P F S LOG: one suite's line, its failures and its skips
report() {
    pass=$((pass + $2)); fail=$((fail + $3)); skip=$((skip + $4))
    printf '%-28s %4d passed, %d failed, %d skipped\n' "$1" "$2" "$3" "$4"
    if [ "$3" -ne 0 ]; then
        failed_suites="$failed_suites $1"
        sed 's/^/    /' "$5" | grep -v '^    \[ *\(RUN\|OK\) ' | grep -v '^    \(ok\|skip\) ' | tail -40
    fi
    sed 's/^/    skip /' "$LOG/why"
    if [ -s "$LOG/ci" ]; then sed 's/^/    /' "$LOG/ci"; fi
}

for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    out="$LOG/$name.log"
    "$t" >"$out" 2>&1
    rc=$?
    : >"$LOG/ci"
    p=$(count '^\[       OK \]' "$out")
    # cmocka names a failed or skipped test twice (as it runs, and in the
    # summary): count names once
    f=$(grep '^\[  FAILED  \]' "$out" | grep -v 'test(s)' | sort -u | wc -l)
    s=$(grep '^\[  SKIPPED \]' "$out" | grep -v 'test(s)' | sort -u | wc -l)
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # crashed or sanitizer report
    if [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && [ "$s" -eq 0 ]; then
        echo "not ok $name: ran no test" >>"$LOG/ci"; f=1
    fi
    # each skip's reason; a skip that printed none is one without a reason
    sed -n 's/^\[  SKIP    \] //p' "$out" | head -n "$s" >"$LOG/why"
    r=$(wc -l <"$LOG/why")
    while [ "$r" -lt "$s" ]; do echo "no reason printed" >>"$LOG/why"; r=$((r + 1)); done
    skips "$name" "$LOG/why"
    report "$name" "$p" "$f" "$s" "$out"
done

if [ "$ONLY" != unit ]; then
    for t in tests/integration/*.sh; do
        [ -f "$t" ] || continue
        name=$(basename "$t" .sh)
        case " ${SKIP_SUITES:-} " in *" $name "*) continue ;; esac
        out="$LOG/$name.log"
        AISLE="$ROOT/$BUILD/aisle" sh "$t" >"$out" 2>&1
        rc=$?
        : >"$LOG/ci"
        p=$(count '^ok ' "$out")
        f=$(count '^not ok ' "$out")
        s=$(count '^skip ' "$out")
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
        if [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && [ "$s" -eq 0 ]; then
            echo "not ok $name: ran no test" >>"$LOG/ci"; f=1
        fi
        sed -n 's/^skip //p' "$out" | sed "s/^$name: //" >"$LOG/why"
        skips "$name" "$LOG/why"
        report "$name" "$p" "$f" "$s" "$out"
    done
fi
[ -n "$failed_suites" ] && echo "failed suites:$failed_suites"
if [ "$skip" -gt 0 ]; then
    echo "$pass passed, $fail failed, $skip skipped: $(paste -sd ';' "$LOG/skips" | sed 's/;/; /g')"
else
    echo "$pass passed, $fail failed, $skip skipped"
fi
rm -rf "$LOG"
[ "$fail" -eq 0 ]
