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
# the WebSocket transports side by side, and memory under a long mixed
# load as `make run` serves it (the chat WebSocket on the event loop)
if command -v node >/dev/null 2>&1 && [ -d node_modules/ws ]; then
    echo "== ws"
    AISLE="$PWD/$BUILD/aisle" node tests/bench/http/ws.mjs >/dev/null || { echo "ws failed"; exit 1; }
    cat tests/bench/results/ws.json
    echo "== rss_soak (SOAK_SECONDS=${SOAK_SECONDS:-120})"
    AISLE_TEST_WS_UV=1 SOAK_SECONDS=${SOAK_SECONDS:-120} AISLE="$PWD/$BUILD/aisle" node tests/bench/rss_soak.mjs ||
        { echo "rss_soak failed"; exit 1; }
else
    echo "ws and rss_soak skipped: node or node_modules/ws missing (npm ci)"
fi
for s in tests/bench/*/run.sh; do
    [ -f "$s" ] || continue
    echo "== $s"
    AISLE="$PWD/$BUILD/aisle" sh "$s" || { echo "$s failed"; exit 1; }
done
