#!/bin/sh
# tests/bench/run.sh BUILD — runs every benchmark and writes its JSON to
# tests/bench/results/NAME.json (git-ignored), echoing it too.
BUILD=${1:-build}
cd "$(dirname "$0")/../.." || exit 1
mkdir -p tests/bench/results
run() { # NAME BINARY ARGS...
    name=$1; shift
    echo "== $name"
    "$@" > "tests/bench/results/$name.json" || { echo "$name failed"; exit 1; }
    cat "tests/bench/results/$name.json"
}
for b in "$BUILD"/bench/*; do
    [ -x "$b" ] || continue
    case $(basename "$b") in
    bench_turns)
        run turns_faq "$b" examples/faq/faq.yaml
        run turns_commerce "$b" pipelines/commerce.yaml 5000 examples/catalog/products.json ;;
    *) run "$(basename "$b")" "$b" ;;
    esac
done
for s in tests/bench/*/run.sh; do
    [ -f "$s" ] || continue
    echo "== $s"
    AISLE="$PWD/$BUILD/aisle" sh "$s" || { echo "$s failed"; exit 1; }
done
