#!/bin/sh
# tests/integration/persist.sh — persistence that keeps up, on real `aisle
# serve` processes (tests/integration/gateway/persist.mjs): the trace ring
# and its writer thread, the conversation history after SIGTERM right
# after a burst of turns, and the time SIGTERM takes to stop an idle server.
A=${AISLE:-build/aisle}
cd "$(dirname "$0")/../.." || exit 1
if ! command -v node >/dev/null 2>&1; then echo "skip persist: node is not installed"; exit 0; fi
if [ ! -d node_modules/ws ]; then echo "skip persist: run npm ci (node_modules missing)"; exit 0; fi
AISLE=$A exec timeout 120 node tests/integration/gateway/persist.mjs
