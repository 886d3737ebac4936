#!/bin/sh
# mk/deps.sh — install the Debian packages aisle builds and tests with.
# As root: apt-get installs what is missing. Otherwise: prints the line to run.
set -e
PKGS="build-essential pkg-config libyaml-dev libuv1-dev libcivetweb-dev libjson-c-dev
liblua5.4-dev libcmocka-dev libsqlite3-dev libcurl4-openssl-dev libssl-dev
libsodium-dev libhiredis-dev libmongoc-dev redis-server jq"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
    echo "installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq $missing
else
    echo "aisle needs these Debian packages. Run:"
    echo "  sudo apt-get install -y$missing"
    exit 1
fi
