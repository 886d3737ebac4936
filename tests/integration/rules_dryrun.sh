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
echo "$out" | grep -q 'cart.add .* x11: at most 10 of the same item per order \[max-10-per-line\]'; check $? "dry-run shows the veto of 11 units with its rule id" "$out"
echo "$out" | grep -q 'order.create cart .*sales team'; check $? "dry-run shows the order veto"

out=$($A rules dry-run scripts/ranking.lua --query "men's shoes" --memory '{"preferences":{"brand":"Puma"}}' --json 2>&1)
echo "$out" | jq -e '.ranking[0].after[0] == "MEN-PUM-PUM-090"' >/dev/null; check $? "dry-run ranking follows the favourite brand"

printf 'version = 1\nprice("x", function(p)\n  return { percent = 10 \nend)\n' > "$T/bad.lua"
$A rules dry-run "$T/bad.lua" >"$T/out" 2>&1; rc=$?
[ $rc = 1 ] && grep -q "bad.lua:4:1: error: Lua:" "$T/out"; check $? "dry-run reports a syntax error as FILE:LINE:COL" "$(cat "$T/out")"

# a file whose top level fails is refused like a syntax error: FILE:LINE:COL
printf 'version = 1\non("cart.add", function(a) end)\nlocal max = limits.max\n' > "$T/top.lua"
$A rules dry-run "$T/top.lua" >"$T/out" 2>&1; rc=$?
[ $rc = 1 ] && grep -q "top.lua:3:1: error: Lua: attempt to index a nil value (global 'limits')" "$T/out"; check $? "dry-run refuses a top-level runtime error with FILE:LINE" "$(cat "$T/out")"
printf 'version = 1\nlocal t = os.time()\n' > "$T/os.lua"
$A rules dry-run "$T/os.lua" >"$T/out" 2>&1; rc=$?
[ $rc = 1 ] && grep -q "os.lua:2:1: error: Lua: .*global 'os'.*sandboxed" "$T/out"; check $? "dry-run refuses a forbidden global at the top level" "$(cat "$T/out")"
printf 'version = 1\nwhile true do end\n' > "$T/spin.lua"
$A rules dry-run "$T/spin.lua" >"$T/out" 2>&1; rc=$?
[ $rc = 1 ] && grep -q "spin.lua:2:1: error: Lua: instruction budget exceeded" "$T/out"; check $? "dry-run refuses a top level over its budget" "$(cat "$T/out")"

# lint refuses the same files, named by the pipeline that uses them
mkdir -p "$T/p"
cp "$T/top.lua" "$T/p/top.lua"
printf 'pipeline: t\nrules: [top.lua]\nstages:\n  - { id: reply, type: formatter, templates: { default: "hi" } }\n' > "$T/p/p.yaml"
$A lint "$T/p/p.yaml" >"$T/out" 2>&1; rc=$?
[ $rc = 1 ] && grep -q "top.lua:3:1: error: Lua: attempt to index" "$T/out" && ! grep -q ": ok" "$T/out"; check $? "lint refuses a rules file whose top level fails" "$(cat "$T/out")"

# a veto that errors denies (fail closed), and the dry-run says so
printf 'on("cart.add", function(a, ctx)\n  return a.nope.x\nend)\n' > "$T/veto.lua"
out=$($A rules dry-run "$T/veto.lua" 2>&1)
echo "$out" | grep -q "cart.add .*can't be done right now.* \[veto.lua:on:cart.add\] (the rule failed" && \
  echo "$out" | grep -q "veto.lua:on:cart.add: veto.lua:2: attempt to index"; check $? "dry-run: an erroring veto denies and is listed as a rule error" "$out"
# ... and a veto can read ctx.cart (the sample cart of an order)
printf 'on("order.create", function(a, ctx)\n  if ctx.cart.count > 3 then return deny("at most 3 items, got " .. ctx.cart.count) end\nend, "max-3")\n' > "$T/cart.lua"
out=$($A rules dry-run "$T/cart.lua" 2>&1)
echo "$out" | grep -q "order.create cart .*: at most 3 items, got [0-9]* \[max-3\]" && ! echo "$out" | grep -q "rule errors"; check $? "dry-run: an order veto reads ctx.cart" "$out"
