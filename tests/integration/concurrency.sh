#!/bin/sh
# tests/integration/concurrency.sh — exactly once under load against real
# `aisle serve` processes, on SQLite and with a real redis-server for the
# ephemeral stores: 50 concurrent identical checkouts (REST Idempotency-Key,
# chat clientMsgId) and 50 concurrent "add 1" to one cart line
# (tests/integration/gateway/concurrency.mjs). Prints ok / not ok lines.
# A missing tool is a failure under CI=true, a skip elsewhere.
A=${AISLE:-build/aisle}
cd "$(dirname "$0")/../.." || exit 1
missing() {
    if [ "${CI:-}" = true ]; then echo "not ok concurrency: $1"; else echo "skip concurrency: $1"; fi
    exit 0
}
command -v node >/dev/null 2>&1 || missing "node is not installed"
[ -d node_modules/ws ] || missing "run npm ci (node_modules missing)"
command -v redis-server >/dev/null 2>&1 || missing "redis-server is not installed"
command -v sqlite3 >/dev/null 2>&1 || python3 -c 'import sqlite3' >/dev/null 2>&1 ||
    missing "sqlite3 is not installed (the audit checks read the SQLite file)"
[ -x "$A" ] || { echo "not ok concurrency: $A is not built"; exit 0; }
AISLE=$A exec timeout 300 node tests/integration/gateway/concurrency.mjs
