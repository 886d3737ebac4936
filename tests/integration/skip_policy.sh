#!/bin/sh
# tests/integration/skip_policy.sh — tests/run.sh's policy on skips, on a
# copy of it in a temporary tree with fake suites: under CI=true a skip
# whose reason is not in tests/skips-allowed.txt counts as a failure (an
# integration suite's "skip NAME: why", and a cmocka skip, with or
# without a "[  SKIP    ] why" line), an allowed one does not, a suite
# that runs nothing fails, and the summary line names every skip.
# Prints ok/not ok lines.
cd "$(dirname "$0")/../.." || exit 1
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
check() { if [ "$1" = 0 ]; then echo "ok $2"; else echo "not ok $2"; [ -n "$3" ] && printf '%s\n' "$3" | sed 's/^/  /'; fi; }

# tree NAME: a tree with run.sh, the allow-list and a passing suite
tree() {
    mkdir -p "$T/$1/tests/integration" "$T/$1/build/tests"
    cp tests/run.sh tests/skips-allowed.txt "$T/$1/tests/"
    printf '#!/bin/sh\necho "ok fake passes"\n' >"$T/$1/tests/integration/pass.sh"
}
run() {   # run NAME [CI]: run.sh over the tree NAME; its output in $T/out
    (cd "$T/$1" && CI=${2:-} sh tests/run.sh build) >"$T/out" 2>&1
}

tree chromium
printf '#!/bin/sh\necho "ok fake one"\necho "skip browser: chromium is missing"\n' >"$T/chromium/tests/integration/browser.sh"
run chromium true; rc=$?
[ $rc = 1 ] && tail -1 "$T/out" | grep -q '^2 passed, 1 failed, 1 skipped: browser: chromium is missing$' \
    && grep -q 'not ok browser: skipped under CI=true for a reason not in tests/skips-allowed.txt: chromium is missing' "$T/out"
check $? "CI=true: a skip for a reason not on the list fails run.sh" "$(cat "$T/out")"
run chromium; rc=$?
[ $rc = 0 ] && tail -1 "$T/out" | grep -q '^2 passed, 0 failed, 1 skipped: browser: chromium is missing$'
check $? "without CI the same skip passes and the summary names it" "$(cat "$T/out")"

tree mongo
printf '#!/bin/sh\necho "skip mongo rows: AISLE_TEST_MONGO_URI not set (no MongoDB server on this machine)"\n' \
    >"$T/mongo/tests/integration/mongo.sh"
run mongo true; rc=$?
[ $rc = 0 ] && tail -1 "$T/out" | grep -q '^1 passed, 0 failed, 1 skipped: mongo: mongo rows: AISLE_TEST_MONGO_URI not set (no MongoDB server on this machine)$'
check $? "CI=true: a skip whose reason is on the list (no MongoDB server) passes" "$(cat "$T/out")"

# cmocka binaries: one skip says why, one says nothing
tree unit
cat >"$T/unit/build/tests/test_fake" <<'S'
#!/bin/sh
echo "[ RUN      ] a"
echo "[       OK ] a"
echo "[ RUN      ] b"
echo "[  SKIP    ] no MongoDB server here"
echo "[  SKIPPED ] b"
echo "[ RUN      ] c"
echo "[  SKIPPED ] c"
echo "[  SKIPPED ] 2 test(s), listed below:"
echo "[  SKIPPED ] b"
echo "[  SKIPPED ] c"
S
chmod +x "$T/unit/build/tests/test_fake"
run unit true; rc=$?
[ $rc = 1 ] && grep -q '^test_fake  *1 passed, 1 failed, 2 skipped' "$T/out" \
    && tail -1 "$T/out" | grep -q 'test_fake: no MongoDB server here; test_fake: no reason printed$'
check $? "CI=true: a cmocka skip without a reason fails, one with an allowed reason passes" "$(cat "$T/out")"

tree empty
printf '#!/bin/sh\necho "nothing to see"\n' >"$T/empty/tests/integration/quiet.sh"
run empty; rc=$?
[ $rc = 1 ] && grep -q 'not ok quiet: ran no test' "$T/out"
check $? "a suite that runs no test fails, CI or not" "$(cat "$T/out")"

# the repository's list stays short: today only MongoDB
n=$(grep -v '^#' tests/skips-allowed.txt | grep -c .)
[ "$n" = 1 ] && grep -qx 'no MongoDB server' tests/skips-allowed.txt
check $? "tests/skips-allowed.txt allows only 'no MongoDB server'" "$(cat tests/skips-allowed.txt)"

# .ci/run makes CI=true reach make check and make test
grep -q '^export CI=true' .ci/run && [ "$(grep -n '^export CI=true' .ci/run | cut -d: -f1)" -lt "$(grep -n '^make check' .ci/run | cut -d: -f1)" ]
check $? ".ci/run exports CI=true before make check and make test"
