#!/bin/sh
# tests/integration/instances.sh — two `aisle serve` processes sharing a
# real redis-server and one SQLite file, alone and behind a real nginx on
# loopback (tests/integration/gateway/instances.mjs): cart and trace events
# reach sockets on the other instance, a conversation hops between them,
# one rate limit for both. Prints ok / not ok lines. A missing tool is a
# failure under CI=true, a skip elsewhere.
A=${AISLE:-build/aisle}
cd "$(dirname "$0")/../.." || exit 1
missing() {
    if [ "${CI:-}" = true ]; then echo "not ok instances: $1"; else echo "skip instances: $1"; fi
    exit 0
}
command -v node >/dev/null 2>&1 || missing "node is not installed"
[ -d node_modules/ws ] || missing "run npm ci (node_modules missing)"
command -v redis-server >/dev/null 2>&1 || missing "redis-server is not installed"
[ -x "${NGINX:-/usr/sbin/nginx}" ] || missing "nginx is not installed (apt-get install nginx-light)"
[ -x "$A" ] || { echo "not ok instances: $A is not built"; exit 0; }
AISLE=$A exec timeout 120 node tests/integration/gateway/instances.mjs
