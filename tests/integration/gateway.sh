#!/bin/sh
# tests/integration/gateway.sh — the gateway end to end: starts real
# `aisle serve` processes on free loopback ports with temporary databases
# and drives them with HTTP (fetch) and WebSocket (ws) clients. The tests
# are node scripts under tests/integration/gateway/; they print ok/not ok.
A=${AISLE:-build/aisle}
cd "$(dirname "$0")/../.." || exit 1
if ! command -v node >/dev/null 2>&1; then echo "skip gateway: node is not installed"; exit 0; fi
if [ ! -d node_modules/ws ] || [ ! -d node_modules/@seriousme/openapi-schema-validator ]; then
    echo "skip gateway: run npm ci (node_modules missing)"; exit 0
fi
AISLE=$A exec timeout 120 node tests/integration/gateway/main.mjs
