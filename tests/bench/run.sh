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
# optional: the chat on the Home Depot catalog (issue 11); needs the
# internal evaluation data, never copied into this repository
HD="${AISLE_DATA:-../shared/data}/home-depot-search-relevance"
echo "== chat_eval"
if [ ! -f "$HD/products.csv" ] || [ ! -f "$HD/judgments-dev.csv" ]; then
    echo "chat_eval skipped: $HD is absent (internal evaluation data)"
    echo '{"skipped": "home-depot-search-relevance data absent"}' > tests/bench/results/chat_eval.json
elif ! command -v node >/dev/null 2>&1; then
    echo "chat_eval skipped: node not found"
    echo '{"skipped": "node not found"}' > tests/bench/results/chat_eval.json
else
    AISLE="$PWD/$BUILD/aisle" node tests/bench/chat_eval.mjs || { echo "chat_eval failed"; exit 1; }
fi
for s in tests/bench/*/run.sh; do
    [ -f "$s" ] || continue
    echo "== $s"
    AISLE="$PWD/$BUILD/aisle" sh "$s" || { echo "$s failed"; exit 1; }
done
