#!/bin/sh
# tests/bench/http/chat_mix.sh — POST /api/v1/chat with the shipped
# commerce pipeline and a realistic mix (search, details, add, cart,
# refine, remove), 64 sessions, each message with its own clientMsgId;
# paired with nginx serving a small static file in the same run: PAIRS
# pairs of (nginx run, aisle run), the ratio of each pair, the median of
# those ratios.  Then the stop on SIGTERM, idle and right after the load.
# JSON to tests/bench/results/chat_mix.json.
# Env: AISLE (binary), PAIRS (5), DURATION (5s), CONNS (64), THREADS (4),
# SESSIONS (64), PIPELINE (pipelines/commerce.yaml), SET ("--set k=v ...").
set -e
cd "$(dirname "$0")/../../.." || exit 1
A=${AISLE:-build/aisle}
PAIRS=${PAIRS:-5}; DUR=${DURATION:-5s}; CONNS=${CONNS:-64}; THREADS=${THREADS:-4}; SESSIONS=${SESSIONS:-64}
PIPE=${PIPELINE:-pipelines/commerce.yaml}
for t in wrk nginx curl jq; do
    command -v $t >/dev/null 2>&1 || [ -x /usr/sbin/$t ] || { echo "skip chat_mix bench: $t not installed"; exit 0; }
done
T=$(mktemp -d)
. tests/bench/http/lib.sh
AP=$(free_port); NP=$(free_port)
APID=
cleanup() {
    [ -n "$APID" ] && kill "$APID" 2>/dev/null; [ -n "$APID" ] && wait "$APID" 2>/dev/null
    [ -f "$T/nginx.pid" ] && kill "$(cat "$T/nginx.pid")" 2>/dev/null
    sleep 0.2; rm -rf "$T"
}
trap cleanup EXIT INT TERM

nginx_ref "$T" "$NP"

start_aisle() {
    # shellcheck disable=SC2086
    AISLE_JWT_SECRET=bench-secret-bench-secret-bench-secret-42 "$A" serve --listen 127.0.0.1:$AP --db "$T/a.db" \
        --pipeline "$PIPE" --seed-catalog examples/catalog/products.json --ws-listen none \
        --set limits.ip_rps=0 --set limits.user_rps=0 --set http.max_conns_per_ip=0 \
        --set http.access_log=false --set reload.watch=false ${SET:-} \
        >"$T/aisle.out" 2>"$T/aisle.err" &
    APID=$!
    i=0; until curl -sf "http://127.0.0.1:$AP/healthz" >/dev/null; do
        i=$((i+1)); [ $i -gt 200 ] && { cat "$T/aisle.err"; exit 1; }; sleep 0.05; done
}
# stop_aisle: STOP_MS = milliseconds from SIGTERM to the process's exit
# (called in this shell, not a subshell: only the parent can wait)
stop_aisle() {
    t0=$(date +%s%N); kill -TERM "$APID"; wait "$APID" || true; t1=$(date +%s%N); APID=
    STOP_MS=$(( (t1 - t0) / 1000000 ))
}
start_aisle
i=0; until curl -sf "http://127.0.0.1:$NP/small.json" >/dev/null; do i=$((i+1)); [ $i -gt 50 ] && { cat "$T/nginx.err"; exit 1; }; sleep 0.1; done
# stop when idle: a second after start, nothing sent but the health checks
sleep 1
stop_aisle; STOP_IDLE=$STOP_MS
start_aisle

# SESSIONS anonymous sessions, shared out to the wrk threads
: > "$T/tokens"
s=0; while [ $s -lt "$SESSIONS" ]; do
    curl -sf -XPOST "http://127.0.0.1:$AP/api/v1/auth/anonymous" | jq -r .sessionToken >> "$T/tokens"; s=$((s+1)); done
TOKS=$(sed 's/.*/"&",/' "$T/tokens" | tr -d '\n')
cat > "$T/mix.lua" <<LUA
local tokens = { $TOKS }
local mix = { "show me sunglasses", "tell me more about the first one", "add it to my cart",
              "whats in my cart?", "only the ones under 30 dollars", "remove it from my cart" }
local threads, nthreads = {}, $THREADS
local id = 0
function setup(thread)
    thread:set("tid", id); id = id + 1
end
function init(args)
    n = 0
    mine = {}
    for i = tid + 1, #tokens, nthreads do mine[#mine + 1] = tokens[i] end
    run = math.random(1, 1000000000)
end
function request()
    local k = n % #mine
    local step = math.floor(n / #mine) % #mix
    n = n + 1
    local body = '{"text":"' .. mix[step + 1] .. '","clientMsgId":"b' .. tid .. '-' .. run .. '-' .. n .. '"}'
    return wrk.format("POST", "/api/v1/chat", { ["Content-Type"] = "application/json",
                      ["Authorization"] = "Bearer " .. mine[k + 1] }, body)
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

echo "aisle on :$AP ($PIPE), nginx on :$NP; $PAIRS pairs of $DUR, $CONNS connections, $SESSIONS sessions" >&2
# a warm-up run, not counted: the first turns fill the caches (catalog
# vocabulary, prices) and the database's first pages
wrk -t"$THREADS" -c"$CONNS" -d2s -s "$T/mix.lua" "http://127.0.0.1:$AP/api/v1/chat" >/dev/null 2>&1
: > "$T/pairs"
WALMAX=0
p=0; while [ $p -lt "$PAIRS" ]; do
    n=$(run_wrk "http://127.0.0.1:$NP/small.json")
    a=$(run_wrk -s "$T/mix.lua" "http://127.0.0.1:$AP/api/v1/chat")
    w=$(stat -c %s "$T/a.db-wal" 2>/dev/null || echo 0); [ "$w" -gt "$WALMAX" ] && WALMAX=$w
    echo "$n $a" | awk '{ printf "%s %s %s %s %s %s %d %.5f\n", $1, $2, $3, $5, $6, $7, $8, $5 / $1 }' >> "$T/pairs"
    echo "  pair $((p+1)): nginx $(echo "$n" | cut -d' ' -f1) req/s, aisle $(echo "$a" | cut -d' ' -f1) turns/s" >&2
    p=$((p+1))
done
stop_aisle; STOP_LOAD=$STOP_MS
# the WAL after the stop (closing checkpoints it)
WAL=$(stat -c %s "$T/a.db-wal" 2>/dev/null || echo 0)
col() { cut -d' ' -f"$1" "$T/pairs" | median; }
all() { cut -d' ' -f"$1" "$T/pairs" | paste -sd, -; }
mkdir -p tests/bench/results
jq -n --arg when "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg cpu "$(nproc)" --arg pairs "$PAIRS" --arg dur "$DUR" \
   --arg conns "$CONNS" --arg sessions "$SESSIONS" --arg pipe "$PIPE" \
   --argjson nrps "$(col 1)" --argjson arps "$(col 4)" --argjson ap50 "$(col 5)" --argjson ap99 "$(col 6)" \
   --argjson bad "$(cut -d' ' -f7 "$T/pairs" | sort -n | tail -1)" --argjson ratio "$(col 8)" \
   --argjson stopIdle "$STOP_IDLE" --argjson stopLoad "$STOP_LOAD" --argjson wal "$WAL" --argjson walmax "$WALMAX" \
   --arg nall "$(all 1)" --arg aall "$(all 4)" --arg rall "$(all 8)" \
   '{bench:"chat_mix", when:$when, cpus:($cpu|tonumber), pairs:($pairs|tonumber), duration:$dur,
     connections:($conns|tonumber), sessions:($sessions|tonumber), pipeline:$pipe,
     nginxRps:$nrps, chatTurnsPerS:$arps, chatP50Ms:$ap50, chatP99Ms:$ap99, non2xx:$bad,
     medianPairRatio:$ratio, stopIdleMs:$stopIdle, stopAfterLoadMs:$stopLoad, walBytesMaxAfterARun:$walmax, walBytesAfterStop:$wal,
     runs:{nginx:($nall|split(",")|map(tonumber)), chat:($aall|split(",")|map(tonumber)), ratios:($rall|split(",")|map(tonumber))}}' \
   > tests/bench/results/chat_mix.json
cat tests/bench/results/chat_mix.json
