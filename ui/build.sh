#!/bin/sh
# ui/build.sh — build the chat page and inspector into ui/dist when their
# sources are newer than the build: `npm ci` when node_modules is missing or
# older than package-lock.json, then `npm run build` (the API types from
# gateway/openapi.json, tsc, vite build).
# Quick and silent when everything is up to date; `make run` calls it.
#   ui/build.sh          build if needed
#   ui/build.sh --force  build anyway
set -e
cd "$(dirname "$0")"

if ! command -v npm >/dev/null 2>&1; then
    echo "ui/build.sh: npm not found; install Node.js 20+ to build the UI" >&2
    exit 1
fi

stamp=dist/index.html
if [ "$1" != "--force" ] && [ -f "$stamp" ] && [ -d node_modules ] &&
   [ -z "$(find src scripts index.html vite.config.ts tsconfig.json package.json package-lock.json \
           ../gateway/openapi.json -newer "$stamp" -print 2>/dev/null | head -n 1)" ]; then
    exit 0
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "ui/build.sh: npm ci" >&2
    npm ci --no-audit --no-fund --loglevel=error
fi
echo "ui/build.sh: building ui/dist" >&2
npm run --silent build
# vite keeps the old mtime on files it copies; the stamp says when we built
touch "$stamp"
