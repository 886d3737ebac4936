#!/bin/sh
# tests/bench/nlu/run.sh — the intent-classification peer comparison: aisle
# ($AISLE, the built binary), NLP.js (node-nlp), fastText and a TF-IDF
# logistic regression from scikit-learn, on the same Bitext train/dev and
# CLINC150 train+oos_train / val+oos_val splits. Writes
# tests/bench/results/nlu.json and prints a Markdown table for
# docs/benchmarks.md; then tests/bench/nlu/shopper.py, the shipped
# pipeline's own model, into tests/bench/results/nlu-shopper.json. Run by
# `make bench` (tests/bench/run.sh).
#
# Needs: Debian packages fasttext, python3-sklearn, nodejs/npm (a peer that
# is missing is reported as skipped); the data in ../shared/data, or
# AISLE_DATA (without it the result is {"skipped": ...}).
# NLU_PEERS="aisle sklearn fasttext nlpjs" picks which to run.

cd "$(dirname "$0")/../../.." || exit 1
ROOT=$PWD
HERE=tests/bench/nlu
OUT=tests/bench/results/nlu.json
DATA=${AISLE_DATA:-$ROOT/../shared/data}
AISLE=${AISLE:-$ROOT/build/aisle}
PY=/usr/bin/python3 # Debian's: python3-sklearn is installed for it, not for a pyenv python3
PEERS=${NLU_PEERS:-aisle sklearn fasttext nlpjs}
mkdir -p tests/bench/results

skip() {
    printf '{"skipped": "%s"}\n' "$1" > "$OUT"
    cat "$OUT"
    exit 0
}

[ -f "$DATA/clinc150/data_full.json" ] && [ -d "$DATA/bitext-customer-support-intent/train" ] ||
    skip "data not found under $DATA (Bitext and CLINC150)"
[ -x "$PY" ] || skip "$PY not found"
[ -x "$AISLE" ] || skip "aisle binary not found at $AISLE (make all)"

TMP=$(mktemp -d) || exit 1
trap 'rm -rf "$TMP"' EXIT
"$PY" $HERE/peers.py prep "$DATA" "$TMP" || exit 1

# single core for every peer: no BLAS or OpenMP threads
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

nlpjs_ready() {
    command -v node > /dev/null && command -v npm > /dev/null || return 1
    [ -d $HERE/node_modules/node-nlp ] && return 0
    (cd $HERE && npm ci --no-audit --no-fund --loglevel=error > /dev/null 2>&1)
}

for set in bitext clinc150; do
    for p in $PEERS; do
        echo "== $p on $set" >&2
        res=$TMP/$p.$set.json
        case $p in
        aisle)
            "$PY" $HERE/peers.py aisle "$AISLE" $set "$DATA" > "$res" ||
                { echo "aisle eval failed" >&2; exit 1; }
            continue ;;
        sklearn | fasttext)
            "$PY" $HERE/peers.py $p "$TMP/$set.train.tsv" "$TMP/$set.dev.tsv" "$TMP/$p.$set.pred" ;;
        nlpjs)
            if nlpjs_ready; then
                node $HERE/nlpjs.js "$TMP/$set.train.tsv" "$TMP/$set.dev.tsv" "$TMP/$p.$set.pred"
            else
                echo '{"skipped": "node/npm or node-nlp (npm ci) not available"}' > "$TMP/$p.$set.pred"
            fi ;;
        *) echo "unknown peer $p" >&2; exit 1 ;;
        esac
        "$PY" $HERE/peers.py score $set "$TMP/$set.dev.tsv" "$TMP/$p.$set.pred" > "$res" || exit 1
    done
done

"$PY" $HERE/peers.py report "$TMP" "$PEERS" > "$OUT" || exit 1
cat "$OUT"
"$PY" $HERE/peers.py table "$OUT"

# the shipped pipeline's own model on shopper queries, support and
# off-topic messages (docs/benchmarks.md, "The shipped pipeline's own model")
echo "== the commerce pipeline's model (shopper.py)" >&2
AISLE="$AISLE" "$PY" $HERE/shopper.py "$DATA" > tests/bench/results/nlu-shopper.json || exit 1
cat tests/bench/results/nlu-shopper.json
