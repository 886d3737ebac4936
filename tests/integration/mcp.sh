#!/bin/sh
# tests/integration/mcp.sh — the MCP endpoint (/mcp) against a real
# `aisle serve` with the shipped commerce pipeline, driven by the official
# MCP SDK client (tests/integration/gateway/mcp.mjs). Prints ok / not ok
# lines. A missing tool is a failure under CI=true, a skip elsewhere.
A=${AISLE:-build/aisle}
cd "$(dirname "$0")/../.." || exit 1
missing() {
    if [ "${CI:-}" = true ]; then echo "not ok mcp: $1"; else echo "skip mcp: $1"; fi
    exit 0
}
command -v node >/dev/null 2>&1 || missing "node is not installed"
[ -d node_modules/@modelcontextprotocol/sdk ] || missing "run npm ci (node_modules/@modelcontextprotocol/sdk missing)"
command -v sqlite3 >/dev/null 2>&1 || python3 -c 'import sqlite3' >/dev/null 2>&1 ||
    missing "sqlite3 is not installed (the audit checks read the SQLite file)"
[ -x "$A" ] || { echo "not ok mcp: $A is not built"; exit 0; }
AISLE=$A exec timeout 180 node tests/integration/gateway/mcp.mjs
