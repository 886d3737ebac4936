#!/bin/sh
# tests/integration/ui_lint.sh — the UI half of `make lint` (mk/lint-ui.sh:
# the API types from gateway/openapi.json, tsc, ESLint with React's hooks
# rules) passes on this tree, and is itself tested: a planted hook called
# in a condition, a planted effect missing a dependency, and a copy of the
# UI whose openapi.json lacks a field the page reads each fail, naming
# the place. Installs ui/node_modules with `npm ci` when missing, as
# ui/build.sh does. Prints ok/not ok/skip lines.
cd "$(dirname "$0")/../.." || exit 1
ROOT=$(pwd)
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT INT TERM
check() { if [ "$1" = 0 ]; then echo "ok $2"; else echo "not ok $2"; [ -n "$3" ] && printf '%s\n' "$3" | sed 's/^/    /'; fi; }

command -v node >/dev/null 2>&1 || { echo "skip ui_lint: node is missing (Node.js 20+)"; exit 0; }
if [ ! -f ui/node_modules/.package-lock.json ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
    if ! (cd ui && npm ci --no-audit --no-fund --loglevel=error) >"$T/npm" 2>&1 && [ ! -d ui/node_modules/eslint ]; then
        tail -5 "$T/npm" | sed 's/^/# /'
        echo "skip ui_lint: the UI's npm dependencies are not installed and 'npm ci' failed (offline?)"
        exit 0
    fi
fi

sh mk/lint-ui.sh >"$T/tree" 2>&1; rc=$?
[ $rc = 0 ] && grep -q "no findings" "$T/tree"
check $? "lint-ui passes on the tree (API types generated, tsc, eslint)" "$(tail -30 "$T/tree")"

# planted (ESLint reads them from stdin as files of ui/src: nothing is written there)
eslint_stdin() { (cd ui && node node_modules/eslint/bin/eslint.js --max-warnings 0 --stdin --stdin-filename "src/$1") >"$T/out" 2>&1; }

cat >"$T/hook.tsx" <<'TSX'
import { useState } from 'react'
export function Planted({ on }: { on: boolean }) {
  if (on) {
    const [x] = useState(0)
    return <p>{x}</p>
  }
  return null
}
TSX
eslint_stdin lint_planted.tsx <"$T/hook.tsx"; rc=$?
[ $rc = 1 ] && grep -q "lint_planted.tsx" "$T/out" && grep -Eq "^ +4:[0-9]+ +error .*react-hooks/rules-of-hooks" "$T/out"
check $? "eslint fails on a hook called in a condition (react-hooks/rules-of-hooks at lint_planted.tsx:4)" "$(cat "$T/out")"

cat >"$T/deps.tsx" <<'TSX'
import { useEffect, useState } from 'react'
export function Planted({ sku }: { sku: string }) {
  const [seen, setSeen] = useState('')
  useEffect(() => {
    fetch(`/api/v1/products/${sku}`).then(() => setSeen(sku))
  }, [])
  return <p>{seen}</p>
}
TSX
eslint_stdin lint_planted.tsx <"$T/deps.tsx"; rc=$?
[ $rc = 1 ] && grep -Eq "^ +6:[0-9]+ +error .*missing dependency: 'sku'.*react-hooks/exhaustive-deps" "$T/out"
check $? "eslint fails on an effect missing a dependency (react-hooks/exhaustive-deps at lint_planted.tsx:6)" "$(cat "$T/out")"

# the document and the page disagree: a copy of the UI beside an
# openapi.json whose Order has no `emailText` (the order page shows it)
mkdir -p "$T/copy/gateway"
(cd ui && tar cf - --exclude=./node_modules --exclude=./dist --exclude=./src/api/openapi.gen.ts .) | (mkdir -p "$T/copy/ui" && cd "$T/copy/ui" && tar xf -)
ln -s "$ROOT/ui/node_modules" "$T/copy/ui/node_modules"
node -e '
const fs = require("fs")
const d = JSON.parse(fs.readFileSync(process.argv[1], "utf8"))
delete d.components.schemas.Order.properties.emailText
fs.writeFileSync(process.argv[2], JSON.stringify(d, null, 2))' gateway/openapi.json "$T/copy/gateway/openapi.json"
sh mk/lint-ui.sh "$T/copy/ui" >"$T/out" 2>&1; rc=$?
[ $rc = 1 ] && grep -Eq "src/pages/OrdersPage\.tsx\([0-9]+,[0-9]+\): error TS[0-9]+: Property 'emailText' does not exist" "$T/out"
check $? "tsc fails when openapi.json drops a field the page reads (Order.emailText, at OrdersPage.tsx)" "$(grep -m5 error "$T/out")"
