#!/bin/sh
# tests/integration/acp.sh — the Agentic Commerce Protocol endpoints
# (/acp, /.well-known/acp.json) against a real `aisle serve` with the
# shipped commerce pipeline (tests/integration/gateway/acp.mjs): a whole
# checkout session, cancel, idempotency, exactly once, the feed, bad
# input. Answers are validated with ajv against the ACP JSON Schemas in
# ../shared/specs/acp-2026-04-17/ when that folder exists (a skip line
# otherwise). Prints ok / not ok lines. A missing tool is a failure under
# CI=true, a skip elsewhere.
A=${AISLE:-build/aisle}
cd "$(dirname "$0")/../.." || exit 1
missing() {
    if [ "${CI:-}" = true ]; then echo "not ok acp: $1"; else echo "skip acp: $1"; fi
    exit 0
}
command -v node >/dev/null 2>&1 || missing "node is not installed"
[ -d node_modules/ajv ] && [ -d node_modules/ajv-formats ] || missing "run npm ci (node_modules/ajv missing)"
[ -x "$A" ] || { echo "not ok acp: $A is not built"; exit 0; }
AISLE=$A exec timeout 240 node tests/integration/gateway/acp.mjs
