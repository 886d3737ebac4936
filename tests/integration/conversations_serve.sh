#!/bin/sh
# tests/integration/conversations_serve.sh — the conversation tests of
# pipelines/tests played against real `aisle serve` processes over the
# WebSocket chat (tests/integration/conversations_serve/main.mjs), so that
# a conversation that passes through `aisle test` but not through the
# server shows up. One "ok NAME" / "not ok NAME" line per conversation.
# A missing tool is a failure under CI=true, a skip elsewhere.
A=${AISLE:-build/aisle}
cd "$(dirname "$0")/../.." || exit 1
missing() {
    if [ "${CI:-}" = true ]; then echo "not ok conversations over aisle serve: $1"; else echo "skip conversations over aisle serve: $1"; fi
    exit 0
}
command -v node >/dev/null 2>&1 || missing "node is not installed"
[ -d node_modules/ws ] && [ -d node_modules/yaml ] || missing "run npm ci (node_modules/ws or node_modules/yaml missing)"
command -v sqlite3 >/dev/null 2>&1 || python3 -c 'import sqlite3' >/dev/null 2>&1 ||
    missing "sqlite3 is not installed (the audit checks read the SQLite file)"
[ -x "$A" ] || { echo "not ok conversations over aisle serve: $A is not built"; exit 0; }
AISLE=$A exec timeout 900 node tests/integration/conversations_serve/main.mjs "$@"
