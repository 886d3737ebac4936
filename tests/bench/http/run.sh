#!/bin/sh
# tests/bench/http/run.sh — wrk figures for the gateway: GET
# /api/v1/products/{sku} and POST /api/v1/chat (FAQ pipeline), each
# beside nginx serving a small static file on this machine in the same
# run. Median of RUNS runs; JSON to tests/bench/results/http.json.
# Env: AISLE (binary), RUNS (3), DURATION (5s), CONNS (64), THREADS (4).
set -e
cd "$(dirname "$0")/../../.." || exit 1
A=${AISLE:-build/aisle}
RUNS=${RUNS:-3}; DUR=${DURATION:-5s}; CONNS=${CONNS:-64}; THREADS=${THREADS:-4}
for t in wrk nginx curl jq; do
    command -v $t >/dev/null 2>&1 || [ -x /usr/sbin/$t ] || { echo "skip http bench: $t not installed"; exit 0; }
done
T=$(mktemp -d)
. tests/bench/http/lib.sh
AP=$(free_port); NP=$(free_port)
cleanup() {
    [ -n "$APID" ] && kill "$APID" 2>/dev/null; [ -n "$APID" ] && wait "$APID" 2>/dev/null
    [ -f "$T/nginx.pid" ] && kill "$(cat "$T/nginx.pid")" 2>/dev/null
    sleep 0.2; rm -rf "$T"
}
trap cleanup EXIT INT TERM

nginx_ref "$T" "$NP"

AISLE_JWT_SECRET=bench-secret-bench-secret-bench-secret-42 "$A" serve --listen 127.0.0.1:$AP --db "$T/a.db" \
    --pipeline examples/faq/faq.yaml --seed-catalog examples/catalog/products.json --ws-listen none \
    --set limits.ip_rps=0 --set limits.user_rps=0 --set http.max_conns_per_ip=0 \
    --set http.access_log=false --set reload.watch=false \
    >"$T/aisle.out" 2>"$T/aisle.err" &
APID=$!
i=0; until curl -sf "http://127.0.0.1:$AP/healthz" >/dev/null; do i=$((i+1)); [ $i -gt 100 ] && { cat "$T/aisle.err"; exit 1; }; sleep 0.1; done
i=0; until curl -sf "http://127.0.0.1:$NP/small.json" >/dev/null; do i=$((i+1)); [ $i -gt 50 ] && { cat "$T/nginx.err"; exit 1; }; sleep 0.1; done
SKU=$(curl -sf "http://127.0.0.1:$AP/api/v1/products?pageSize=1" | jq -r '.items[0].sku')
TOKEN=$(curl -sf -XPOST "http://127.0.0.1:$AP/api/v1/auth/anonymous" | jq -r .sessionToken)
cat > "$T/chat.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"text":"how long does shipping take?"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
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

bench() {  # name url [wrk args] -> JSON object
    name=$1; shift
    : > "$T/runs"
    r=0; while [ $r -lt "$RUNS" ]; do run_wrk "$@" >> "$T/runs"; r=$((r+1)); done
    rps=$(cut -d' ' -f1 "$T/runs" | median); p50=$(cut -d' ' -f2 "$T/runs" | median)
    p99=$(cut -d' ' -f3 "$T/runs" | median); bad=$(cut -d' ' -f4 "$T/runs" | sort -n | tail -1)
    all=$(cut -d' ' -f1 "$T/runs" | paste -sd, -)
    printf '{"name":"%s","rps":%s,"p50Ms":%s,"p99Ms":%s,"non2xx":%s,"runsRps":[%s]}' "$name" "$rps" "$p50" "$p99" "$bad" "$all"
}

echo "aisle on :$AP, nginx on :$NP; $RUNS runs of $DUR, $CONNS connections, $THREADS wrk threads" >&2
N1=$(bench nginx_static "http://127.0.0.1:$NP/small.json")
P=$(bench aisle_product "http://127.0.0.1:$AP/api/v1/products/$SKU")
C=$(bench aisle_chat -s "$T/chat.lua" "http://127.0.0.1:$AP/api/v1/chat")
N2=$(bench nginx_static_again "http://127.0.0.1:$NP/small.json")
mkdir -p tests/bench/results
jq -n --argjson n1 "$N1" --argjson p "$P" --argjson c "$C" --argjson n2 "$N2" \
   --arg cpu "$(nproc)" --arg when "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg runs "$RUNS" --arg dur "$DUR" --arg conns "$CONNS" \
   '{bench:"http", when:$when, cpus:($cpu|tonumber), runs:($runs|tonumber), duration:$dur, connections:($conns|tonumber),
     results:[$n1,$p,$c,$n2],
     ratios:{productVsNginx:(($p.rps/$n1.rps*1000|round)/1000), chatVsNginx:(($c.rps/$n1.rps*1000|round)/1000)}}' \
   > tests/bench/results/http.json
cat tests/bench/results/http.json
# the chat with the shipped commerce pipeline, a realistic mix, paired with
# nginx (its own servers: these go first)
cleanup; trap - EXIT INT TERM
AISLE=$A sh tests/bench/http/chat_mix.sh
# the catalog at 20k products: search and product detail (skipped without
# ../shared/data/flipkart-products-20k)
AISLE=$A sh tests/bench/http/search.sh
