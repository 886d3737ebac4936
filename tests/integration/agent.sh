#!/bin/sh
# tests/integration/agent.sh — the llm_agent stage (the assistant's own
# model planning with the shop's tools) through a real `aisle serve` and
# POST /api/v1/chat, against the scripted fake provider in both wire
# formats (tests/integration/gateway/agent.mjs). Prints ok / not ok lines.
A=${AISLE:-build/aisle}
cd "$(dirname "$0")/../.." || exit 1
command -v node >/dev/null 2>&1 || { echo "skip agent: node is not installed"; exit 0; }
[ -x "$A" ] || { echo "not ok agent: $A is not built"; exit 0; }
AISLE=$A exec timeout 300 node tests/integration/gateway/agent.mjs
