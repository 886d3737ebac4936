#!/bin/sh
# tests/bench/http/search.sh — the catalog over HTTP at 20k products:
# GET /api/v1/products?q=... (search with facets, as the page asks) and
# GET /api/v1/products/{sku}, each beside nginx serving a small static
# file in the same run.  The catalog is the 20k Flipkart products
# (../shared/data/flipkart-products-20k, the one tests/bench/bench_store.c
# imports, converted the same way), imported once with `aisle import`.
# PAIRS rounds of (nginx, search, product); each round's ratio to its own
# nginx run, the median of the rounds.  With BASE (another aisle binary)
# both binaries are measured in the same rounds, alternating, each on its
# own copy of the same database.  JSON to tests/bench/results/search_http.json.
# Env: AISLE (build/aisle), BASE (none), PAIRS (3), DURATION (5s),
# CONNS (64), THREADS (4), PIPELINE (pipelines/commerce.yaml).
set -e
cd "$(dirname "$0")/../../.." || exit 1
A=${AISLE:-build/aisle}
PAIRS=${PAIRS:-3}; DUR=${DURATION:-5s}; CONNS=${CONNS:-64}; THREADS=${THREADS:-4}
PIPE=${PIPELINE:-pipelines/commerce.yaml}
DATA=../shared/data/flipkart-products-20k
for t in wrk nginx curl jq python3; do
    command -v $t >/dev/null 2>&1 || [ -x /usr/sbin/$t ] || { echo "skip search bench: $t not installed"; exit 0; }
done
[ -r "$DATA/sonalkulk/flipkart_com-ecommerce_sample.csv" ] || { echo "skip search bench: $DATA not found"; exit 0; }
T=$(mktemp -d)
. tests/bench/http/lib.sh
NP=$(free_port)
PIDS=
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    [ -f "$T/nginx.pid" ] && kill "$(cat "$T/nginx.pid")" 2>/dev/null
    sleep 0.2; rm -rf "$T"
}
trap cleanup EXIT INT TERM

# the catalog: both CSV halves joined row by row, as bench_store.c does
python3 - "$DATA" > "$T/catalog.json" <<'PY'
import csv, json, sys
d = sys.argv[1]
a = csv.reader(open(d + "/sonalkulk/flipkart_com-ecommerce_sample.csv", newline="", encoding="utf-8", errors="replace"))
b = csv.reader(open(d + "/SolBarker/flipkart_com-ecommerce_sample.csv", newline="", encoding="utf-8", errors="replace"))
next(a)
out = []
for ra in a:
    rb = next(b, [])
    if len(ra) < 9 or not ra[0] or not ra[1]:
        continue
    p = {"sku": ra[0], "title": ra[1], "stock": 10}
    try: p["price"] = float(ra[4] or ra[3])
    except ValueError: p["price"] = 0
    try: p["rating"] = float(ra[6])
    except ValueError: p["rating"] = 0
    if ra[8]: p["brand"] = ra[8]
    if len(rb) >= 3:
        p["category"] = rb[2].lstrip('[" ').split(" >>")[0].split('"]')[0]
    out.append(p)
json.dump({"products": out}, sys.stdout)
PY
"$A" import --catalog "$T/catalog.json" --db "$T/catalog.db" >/dev/null

nginx_ref "$T" "$NP"

# start NAME BINARY -> port in $T/NAME.port
start() {
    port=$(free_port)
    cp "$T/catalog.db" "$T/$1.db"
    AISLE_JWT_SECRET=bench-secret-bench-secret-bench-secret-42 "$2" serve --listen 127.0.0.1:$port --db "$T/$1.db" \
        --pipeline "$PIPE" --ws-listen none \
        --set limits.ip_rps=0 --set limits.user_rps=0 --set http.max_conns_per_ip=0 \
        --set http.access_log=false --set reload.watch=false \
        >"$T/$1.out" 2>"$T/$1.err" &
    PIDS="$PIDS $!"
    i=0; until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do
        i=$((i+1)); [ $i -gt 300 ] && { cat "$T/$1.err"; exit 1; }; sleep 0.1; done
    echo "$port" > "$T/$1.port"
}
start aisle "$A"
[ -n "$BASE" ] && start base "$BASE"
i=0; until curl -sf "http://127.0.0.1:$NP/small.json" >/dev/null; do i=$((i+1)); [ $i -gt 50 ] && { cat "$T/nginx.err"; exit 1; }; sleep 0.1; done

# shopper queries, one per request in turn: a word that matches thousands
# of products, brand and product words, two-word queries, one misspelt
cat > "$T/search.lua" <<'LUA'
local qs = {"women", "shirt", "watch", "men+shoes", "kurta", "ring", "ceramic+mug", "t-shirt", "bag",
            "phone+case", "saree", "printed", "cotton", "baby", "sports+shoes", "home+decor", "led+light",
            "wall+sticker", "pen", "women+leggings", "necklace", "sofa+bed", "laptop+skin", "bra",
            "analog+watch", "earrings", "showpiece", "jeans", "flip+flops", "bedsheet", "backpack", "braclet"}
local i = 0
request = function()
    i = i + 1
    return wrk.format("GET", "/api/v1/products?q=" .. qs[i % #qs + 1])
end
LUA

# one wrk run -> "rps p50_ms p99_ms non2xx"
run_wrk() {
    out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DUR" --latency "$@" 2>&1)
    echo "$out" | awk '
        function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
        /Requests\/sec/ { rps=$2 }
        $1=="50%" { p50=ms($2) } $1=="99%" { p99=ms($2) }
        /Non-2xx/ { bad=$NF }
        END { printf "%s %s %s %d\n", rps, p50, p99, bad+0 }'
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

names="aisle"; [ -n "$BASE" ] && names="base aisle"
for n in $names; do
    port=$(cat "$T/$n.port")
    curl -sf "http://127.0.0.1:$port/api/v1/products?pageSize=1" | jq -r '.items[0].sku' > "$T/$n.sku"
    curl -sf "http://127.0.0.1:$port/api/v1/products?q=women" | jq -c '{total, n: (.items|length), facets: (.facets|map_values(length))}' >&2
    run_wrk -d2s -s "$T/search.lua" "http://127.0.0.1:$port" >/dev/null   # warm-up, not counted
done
echo "nginx on :$NP; $PAIRS rounds of $DUR, $CONNS connections, $THREADS wrk threads" >&2
r=0
while [ "$r" -lt "$PAIRS" ]; do
    set -- $(run_wrk "http://127.0.0.1:$NP/small.json"); ngx=$1
    for n in $names; do
        port=$(cat "$T/$n.port")
        set -- $(run_wrk -s "$T/search.lua" "http://127.0.0.1:$port")
        echo "$1 $2 $3 $4 $(echo "$1 $ngx" | awk '{printf "%.4f", $1/$2}')" >> "$T/$n.search"
        set -- $(run_wrk "http://127.0.0.1:$port/api/v1/products/$(cat "$T/$n.sku")")
        echo "$1 $2 $3 $4 $(echo "$1 $ngx" | awk '{printf "%.4f", $1/$2}')" >> "$T/$n.product"
    done
    echo "$ngx" >> "$T/nginx"
    echo "round $((r+1)): nginx $ngx req/s; $(for n in $names; do printf '%s search %s product %s; ' "$n" \
        "$(tail -1 "$T/$n.search" | cut -d' ' -f1,3)" "$(tail -1 "$T/$n.product" | cut -d' ' -f1,3)"; done)" >&2
    r=$((r+1))
done
obj() {  # FILE -> {rps, p50Ms, p99Ms, non2xx, ratioToNginx, runs}
    printf '{"rps":%s,"p50Ms":%s,"p99Ms":%s,"non2xx":%s,"ratioToNginx":%s,"runsRps":[%s],"runsP99Ms":[%s]}' \
        "$(cut -d' ' -f1 "$1" | median)" "$(cut -d' ' -f2 "$1" | median)" "$(cut -d' ' -f3 "$1" | median)" \
        "$(cut -d' ' -f4 "$1" | sort -n | tail -1)" "$(cut -d' ' -f5 "$1" | median)" \
        "$(cut -d' ' -f1 "$1" | paste -sd, -)" "$(cut -d' ' -f3 "$1" | paste -sd, -)"
}
mkdir -p tests/bench/results
{
    printf '{"bench":"search_http","when":"%s","cpus":%s,"products":%s,"pipeline":"%s","rounds":%s,"duration":"%s","connections":%s,' \
        "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(nproc)" "$(jq '.products|length' "$T/catalog.json")" "$PIPE" "$PAIRS" "$DUR" "$CONNS"
    printf '"nginxRps":%s,"results":{' "$(median < "$T/nginx")"
    sep=
    for n in $names; do
        printf '%s"%s":{"search":%s,"product":%s}' "$sep" "$n" "$(obj "$T/$n.search")" "$(obj "$T/$n.product")"
        sep=,
    done
    printf '}}\n'
} | jq . > tests/bench/results/search_http.json
cat tests/bench/results/search_http.json
