#!/bin/sh
# tests/integration/rules_dryrun.sh — `aisle rules dry-run` on the shipped
# rules: the price changes, vetoes and ranking it reports, and a syntax
# error as FILE:LINE:COL. Prints ok/not ok lines.
A=${AISLE:-build/aisle}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
check() { if [ "$1" = 0 ]; then echo "ok $2"; else echo "not ok $2"; [ -n "$3" ] && echo "  $3"; fi; }

out=$($A rules dry-run scripts/promotions.lua 2>&1)
echo "$out" | grep -q 'MEN-PUM-PUM-090 .* 89.99 -> *80.99  mens-shoes-10 v3'; check $? "dry-run shows a price change with rule id and version" "$out"
echo "$out" | grep -q 'promo:SAVE10'; check $? "dry-run applies a sample cart's promo code"
echo "$out" | grep -q 'beauty-3for2'; check $? "dry-run shows buy-x-get-y discounts on sample carts"

out=$($A rules dry-run scripts/cart_limits.lua 2>&1)
echo "$out" | grep -q 'cart.add .* x11: at most 10 of the same item per order \[cart.add#1\]'; check $? "dry-run shows the veto of 11 units" "$out"
echo "$out" | grep -q 'order.create cart .*sales team'; check $? "dry-run shows the order veto"

out=$($A rules dry-run scripts/ranking.lua --query "men's shoes" --memory '{"preferences":{"brand":"Puma"}}' --json 2>&1)
echo "$out" | jq -e '.ranking[0].after[0] == "MEN-PUM-PUM-090"' >/dev/null; check $? "dry-run ranking follows the favourite brand"

printf 'version = 1\nprice("x", function(p)\n  return { percent = 10 \nend)\n' > "$T/bad.lua"
$A rules dry-run "$T/bad.lua" >"$T/out" 2>&1; rc=$?
[ $rc = 1 ] && grep -q "bad.lua:4:1: error: Lua:" "$T/out"; check $? "dry-run reports a syntax error as FILE:LINE:COL" "$(cat "$T/out")"
