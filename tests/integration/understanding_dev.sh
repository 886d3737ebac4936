#!/bin/sh
# tests/integration/understanding_dev.sh — the development conversation set
# of catalog understanding (tests/integration/data/understanding_dev.yaml)
# through `aisle test`. Its phrasings are harder than pipelines/tests, so
# not every turn must pass: one "ok"/"not ok" line with the share of turns
# that passed, which must be at least AISLE_DEV_MIN percent (90); the
# failing turns follow, indented. `conversations_serve.sh` plays the same
# set against `aisle serve` with the same bar.
A=${AISLE:-build/aisle}
F=tests/integration/data/understanding_dev.yaml
MIN=${AISLE_DEV_MIN:-90}
cd "$(dirname "$0")/../.." || exit 1
[ -x "$A" ] || { echo "not ok understanding dev set: $A is not built"; exit 0; }
OUT=$(mktemp); trap 'rm -f "$OUT"' EXIT
"$A" test "$F" --verbose >"$OUT" 2>&1
# --verbose prints every turn as "  N. > text"; a failing one also as
# "  turn N (line L) ...", once however many of its expectations failed
awk -v min="$MIN" -v f="$F" '
/^  [0-9]+\. > /              { turns++ }
/^  turn [0-9]+ \(line [0-9]+\)/ { failed++; bad = bad "\n" $0; keep = 1; next }
/^(ok|FAIL) /                 { keep = 0 }
/^  [0-9]+\. > /              { keep = 0 }
keep && /^    /               { bad = bad "\n" $0 }
/^[0-9]+ passed, [0-9]+ failed$/ { summary = 1 }
END {
    if (!summary || turns == 0) { print "not ok " f ": aisle test did not run the set"; exit }
    rate = 100 * (turns - failed) / turns
    printf "%s %s: %d of %d turns passed (%.1f%%, at least %s%% needed)%s\n",
        (rate >= min ? "ok" : "not ok"), f, turns - failed, turns, rate, min, bad
}' "$OUT"
if ! grep -q '^  [0-9][0-9]*\. > ' "$OUT"; then sed 's/^/  /' "$OUT" | head -20; fi
exit 0
