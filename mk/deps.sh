#!/bin/sh
# mk/deps.sh [run|test|bench|fuzz] — install what aisle builds with (run),
# builds and tests with (test, the default), also benchmarks against
# its peers with (bench), or fuzzes with (fuzz: clang and libFuzzer):
# Debian packages, then the npm packages of the test tools (package.json)
# when missing.
# As root: apt-get installs what is missing. Otherwise: prints the line to run.
set -e
cd "$(dirname "$0")/.."
PKGS="build-essential pkg-config libyaml-dev libuv1-dev libcivetweb-dev libjson-c-dev
liblua5.4-dev libcmocka-dev libsqlite3-dev libcurl4-openssl-dev libssl-dev
libsodium-dev libhiredis-dev libmongoc-dev wamerican"
case "${1:-test}" in
test) PKGS="$PKGS redis-server jq sqlite3 nginx-light wrk chromium" ;;
bench) PKGS="$PKGS redis-server jq sqlite3 nginx-light wrk chromium fasttext python3-sklearn" ;;
fuzz) PKGS="$PKGS clang libclang-rt-14-dev" ;;
esac
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
command -v node >/dev/null 2>&1 || missing="$missing nodejs npm"
if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "installing:$missing"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq $missing >/dev/null
    else
        echo "aisle needs these Debian packages. Run:"
        echo "  sudo apt-get install -y$missing"
        exit 1
    fi
fi
# test tools from npm (WebSocket client, OpenAPI validator)
if [ "${1:-test}" != run ] && [ -f package-lock.json ] && [ ! -d node_modules ]; then
    npm ci --no-audit --no-fund --loglevel=error
fi
exit 0
