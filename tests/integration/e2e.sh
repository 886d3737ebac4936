#!/bin/sh
# tests/integration/e2e.sh — browser tests of the chat page and the
# inspector: Debian's chromium driven by playwright-core (from ui/) against
# a real `aisle serve --dev` on a free loopback port with a temporary
# SQLite database, the sample catalog and the shipped commerce pipeline
# (tests/e2e/shop.mjs starts the server, and restarts it to drop the
# connection).  Builds the UI first when ui/src is newer than ui/dist.  Prints
# "ok NAME" / "not ok NAME" / "skip NAME: why".  Screenshots of each step
# land in tests/e2e/screenshots/ (git-ignored).
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
AISLE=${AISLE:-$ROOT/build/aisle}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

skip() { echo "skip e2e: $*"; exit 0; }

[ -x "$AISLE" ] || skip "no aisle binary at $AISLE (run make first)"
"$AISLE" serve --help >/dev/null 2>&1 || skip "this aisle has no working 'serve' command yet"
[ -x "$CHROMIUM" ] || skip "$CHROMIUM is missing (apt-get install chromium)"
command -v node >/dev/null 2>&1 || skip "node is missing (Node.js 20+)"

# the UI: build it when its sources are newer than ui/dist
if ! sh ui/build.sh >/tmp/aisle-e2e-build.$$ 2>&1; then
    if [ -f ui/dist/index.html ] && [ -d ui/node_modules/playwright-core ]; then
        echo "# ui/build.sh failed; testing the existing ui/dist:"
        sed 's/^/#   /' /tmp/aisle-e2e-build.$$ | tail -5
    else
        echo "not ok e2e-ui-build"
        sed 's/^/    /' /tmp/aisle-e2e-build.$$ | tail -20
        rm -f /tmp/aisle-e2e-build.$$
        exit 1
    fi
fi
rm -f /tmp/aisle-e2e-build.$$
[ -f ui/dist/index.html ] || skip "ui/dist is missing and could not be built"
[ -d ui/node_modules/playwright-core ] || skip "playwright-core is not installed in ui/node_modules (cd ui && npm ci)"

AISLE="$AISLE" CHROMIUM="$CHROMIUM" timeout 150 node tests/e2e/shop.mjs
