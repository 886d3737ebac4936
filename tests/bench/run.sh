#!/bin/sh
# tests/bench/run.sh BUILD — runs every benchmark and writes its JSON to
# tests/bench/results/NAME.json (git-ignored), echoing it too.
BUILD=${1:-build}
cd "$(dirname "$0")/../.." || exit 1
mkdir -p tests/bench/results
for b in "$BUILD"/bench/*; do
    [ -x "$b" ] || continue
    name=$(basename "$b")
    echo "== $name"
    "$b" > "tests/bench/results/$name.json" || { echo "$name failed"; exit 1; }
    cat "tests/bench/results/$name.json"
done
for s in tests/bench/*/run.sh; do
    [ -f "$s" ] || continue
    echo "== $s"
    AISLE="$PWD/$BUILD/aisle" sh "$s" || { echo "$s failed"; exit 1; }
done
