#!/bin/sh
# tests/integration/e2e.sh — browser tests of the chat page and the
# inspector: Debian's chromium driven by playwright-core (from ui/) against
# a real `aisle serve --dev` on a free loopback port with a temporary
# SQLite database, the sample catalog and the shipped commerce pipeline.
# Builds the UI first when ui/src is newer than ui/dist.  Prints
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

TMP=$(mktemp -d)
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

PORT=$(node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
"$AISLE" serve --dev --listen "127.0.0.1:$PORT" --db "$TMP/e2e.db" \
    --pipeline pipelines/commerce.yaml --seed-catalog examples/catalog/products.json \
    --set ui_dir="$ROOT/ui/dist" --set reload.watch=false >"$TMP/server.log" 2>&1 &
SERVER_PID=$!

up=0
for _ in $(seq 1 100); do
    if node -e "fetch('http://127.0.0.1:$PORT/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))" 2>/dev/null; then
        up=1; break
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
done
if [ "$up" -ne 1 ]; then
    echo "not ok e2e-server-start"
    sed 's/^/    /' "$TMP/server.log" | tail -20
    exit 1
fi

BASE="http://127.0.0.1:$PORT" CHROMIUM="$CHROMIUM" timeout 120 node tests/e2e/shop.mjs
rc=$?
if [ "$rc" -ne 0 ]; then
    echo "# server log (last lines):"
    grep -v '"event":"access"' "$TMP/server.log" | tail -15 | sed 's/^/#   /'
fi
exit "$rc"
