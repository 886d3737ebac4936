#!/bin/sh
# tests/integration/e2e.sh — the UI's tests: its component tests (Vitest,
# one line per file), then the browser tests: Debian's chromium driven by
# playwright-core (from ui/node_modules) against a real `aisle serve --dev`
# on a free loopback port with a temporary SQLite database, the sample
# catalog and the shipped commerce pipeline (tests/e2e/shop.mjs starts the
# server, and restarts it to drop the connection; tests/e2e/pages.mjs
# starts its own, with a rule planted to fail, for the phone catalog and
# the inspector's failure views).  Builds the UI first
# when its sources are newer than ui/dist.  Prints "ok NAME" / "not ok
# NAME" / "skip NAME: why".  Screenshots of each browser step land in
# tests/e2e/screenshots/ (git-ignored).  Then tests/e2e/images.mjs: the
# shop's own copies of product images after `aisle import --fetch-images`
# (a loopback image server, python3).  About 45 s.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
AISLE=${AISLE:-$ROOT/build/aisle}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

skip() { echo "skip e2e: $*"; exit 0; }
# a broken binary is what this suite is for: a failure, never a skip
broken() { echo "not ok e2e: $*"; exit 1; }

[ -x "$AISLE" ] || broken "no aisle binary at $AISLE (run make first)"
"$AISLE" serve --help >/dev/null 2>&1 || broken "'$AISLE serve --help' fails: the server the browser tests need does not start"
[ -x "$CHROMIUM" ] || skip "$CHROMIUM is missing (apt-get install chromium)"
command -v node >/dev/null 2>&1 || skip "node is missing (Node.js 20+)"

# the UI: build it when its sources are newer than ui/dist
if ! sh ui/build.sh >/tmp/aisle-e2e-build.$$ 2>&1; then
    if [ ! -f ui/node_modules/.package-lock.json ]; then
        # no dependencies and npm ci could not fetch them: the machine, not the code
        tail -5 /tmp/aisle-e2e-build.$$ | sed 's/^/# /'
        rm -f /tmp/aisle-e2e-build.$$
        skip "the UI's npm dependencies are not installed and 'npm ci' failed (offline?)"
    fi
    echo "not ok e2e-ui-build"
    sed 's/^/    /' /tmp/aisle-e2e-build.$$ | tail -20
    rm -f /tmp/aisle-e2e-build.$$
    exit 1
fi
rm -f /tmp/aisle-e2e-build.$$
[ -f ui/dist/index.html ] || skip "ui/dist is missing and could not be built"
[ -d ui/node_modules/playwright-core ] || skip "playwright-core is not installed in ui/node_modules (cd ui && npm ci)"

# component tests first (Vitest, jsdom): one line per test file
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM
(cd ui && timeout 120 npx --no-install vitest run --reporter=json --outputFile="$TMP/vitest.json" >"$TMP/vitest.log" 2>&1)
vrc=$?
if [ -f "$TMP/vitest.json" ]; then
    node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))
for (const f of r.testResults) {
  const name = "ui-" + f.name.replace(/^.*\/src\//, "").replace(/\.test\.tsx?$/, "")
  const bad = f.assertionResults.filter((a) => a.status === "failed")
  if (f.status === "passed" && !bad.length) console.log(`ok ${name} (${f.assertionResults.length} tests)`)
  else {
    console.log(`not ok ${name}`)
    for (const a of bad) { console.log(`    ${a.fullName}`); for (const m of a.failureMessages) console.log("      " + m.split("\n")[0]) }
    if (!bad.length) console.log("    " + (f.message || "the file failed to run").split("\n")[0])
  }
}' "$TMP/vitest.json"
elif [ "$vrc" -ne 0 ]; then
    echo "not ok ui-component-tests"
    tail -20 "$TMP/vitest.log" | sed 's/^/    /'
fi

AISLE="$AISLE" CHROMIUM="$CHROMIUM" timeout 150 node tests/e2e/shop.mjs
src=$?
# the phone catalog and the inspector's failure views (a rule planted to fail)
AISLE="$AISLE" CHROMIUM="$CHROMIUM" timeout 90 node tests/e2e/pages.mjs
prc=$?
# the shop's own copies of product images (aisle import --fetch-images)
AISLE="$AISLE" CHROMIUM="$CHROMIUM" timeout 90 node tests/e2e/images.mjs
irc=$?
[ "$src" -eq 0 ] && [ "$prc" -eq 0 ] && [ "$irc" -eq 0 ]
