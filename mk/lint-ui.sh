#!/bin/sh
# mk/lint-ui.sh [UI] — the UI half of `make lint` over the folder UI
# (default: ui/ of the repository): the API types generated from
# ../gateway/openapi.json, tsc (so the page and the document agree),
# then ESLint with typescript-eslint and React's hooks rules
# (ui/eslint.config.js), no warning allowed. Exits 1 on any finding, 2
# when it cannot run (no node, no ui/node_modules: `cd ui && npm ci`);
# without node it says so and passes, except under CI=true.
# tests/integration/ui_lint.sh plants findings to check that it fails.
HERE=$(cd "$(dirname "$0")" && pwd)
cd "${1:-$HERE/../ui}" || exit 2
if ! command -v node >/dev/null 2>&1; then
    echo "lint-ui: node is not installed (Node.js 20+); the UI is not linted"
    [ "${CI:-}" = true ] && exit 2
    exit 0
fi
if [ ! -d node_modules/eslint ] || [ ! -d node_modules/typescript ]; then
    echo "lint-ui: $(pwd)/node_modules lacks eslint or typescript (cd ui && npm ci)" >&2
    exit 2
fi
node scripts/gen-api.mjs || exit 1
rc=0
node node_modules/typescript/bin/tsc --noEmit -p . || rc=1
node node_modules/eslint/bin/eslint.js --max-warnings 0 . || rc=1
if [ $rc = 0 ]; then echo "lint-ui: tsc and eslint, no findings"; else echo "lint-ui: findings above"; fi
exit $rc
