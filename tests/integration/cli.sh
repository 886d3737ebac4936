#!/bin/sh
# tests/integration/cli.sh — the aisle binary as a user drives it: help,
# version, run, --json, lint (exit codes and FILE:LINE:COL), chat, and the
# FAQ example on held-out phrasings. Prints ok/not ok lines.
A=${AISLE:-build/aisle}
FAQ=examples/faq/faq.yaml
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
check() { if [ "$1" = 0 ]; then echo "ok $2"; else echo "not ok $2"; [ -n "$3" ] && echo "  $3"; fi; }

$A --version | grep -Eq '^aisle [0-9]+\.[0-9]+\.[0-9]+$'; check $? "--version"
$A --help | grep -q 'lint'; check $? "--help lists commands"
$A run --help | grep -q -- '--json'; check $? "run --help"
$A nosuch >/dev/null 2>&1; [ $? = 2 ]; check $? "unknown command exits 2"

out=$($A run $FAQ --message "how long does shipping take?")
echo "$out" | grep -q "Standard shipping takes 3-5 business days"; check $? "faq answers shipping" "$out"

$A run $FAQ --json --message "can I pay with paypal" > "$T/turn.json"
for k in '"intent"' '"confidence"' '"route"' '"trace"' '"payment_methods"' '"template"'; do
    grep -q "$k" "$T/turn.json"; check $? "run --json has $k"
done

out=$($A run $FAQ --message "this is ridiculous, my parcel is lost")
echo "$out" | grep -q "A person from our team"; check $? "lua rule hands upset shoppers to a person" "$out"

# the commerce pipeline without --db has no store: every commerce answer
# says so, never a reply built on nothing ("Order # is cancelled") or a
# failed turn (a hand-off with nowhere to record it)
for msg in "can i cancel my order" "my item arrived broken" "show me phones"; do
    out=$($A run pipelines/commerce.yaml --message "$msg" 2>&1); rc=$?
    [ $rc = 0 ] && echo "$out" | grep -q "There is no shop store here" && ! echo "$out" | grep -q "Order #\|went wrong"
    check $? "commerce without a store: \"$msg\" says there is none" "$out"
done

$A run $FAQ --message "$(printf 'caf\303')" >/dev/null 2>"$T/err"; rc=$?
[ $rc = 1 ] && grep -q "not valid UTF-8" "$T/err"; check $? "invalid UTF-8 message refused clearly"

# held-out phrasings: a missing or empty data file fails (0/0 is no pass)
HELD=tests/integration/data/faq_heldout.tsv
[ -s "$HELD" ]; check $? "faq held-out phrasings: $HELD is there"
total=0; right=0
while IFS='	' read -r want msg; do
    case "$want" in ''|\#*) continue;; esac
    got=$($A run $FAQ --json --message "$msg" | jq -r .intent.name)
    total=$((total + 1))
    if [ "$got" = "$want" ]; then right=$((right + 1)); else echo "  miss: '$msg' -> $got (want $want)"; fi
done < "$HELD"
[ "$total" -gt 0 ] && [ $((right * 10)) -ge $((total * 9)) ]; check $? "faq held-out phrasings: $right/$total correct (need 90%)"

$A lint $FAQ >"$T/lint" 2>&1; rc=$?
[ $rc = 0 ] && grep -q "ok" "$T/lint"; check $? "lint clean file exits 0"
$A lint tests/unit/loader/11-unknown-type.yaml tests/unit/loader/15-unknown-route-target.yaml >"$T/lint" 2>&1; rc=$?
[ $rc = 1 ] && grep -q '^tests/unit/loader/11-unknown-type.yaml:6:11: error: unknown stage type "clasifier" (did you mean "classifier"?)$' "$T/lint" \
  && grep -q '^tests/unit/loader/15-unknown-route-target.yaml:' "$T/lint" && grep -q '^2 errors, 0 warnings$' "$T/lint"
check $? "lint reports errors in several files, exits 1" "$(cat "$T/lint")"
cat > "$T/warn.yaml" <<'Y'
pipeline: w
stages:
  - { id: a, type: formatter, templates: { default: a }, next: end }
  - { id: b, type: formatter, templates: { default: b } }
Y
$A lint "$T/warn.yaml" >"$T/lint" 2>&1; rc=$?
[ $rc = 0 ] && grep -q "4:5: warning: stage \"b\" is never reached" "$T/lint"; check $? "lint warning exits 0"
$A lint --strict "$T/warn.yaml" >/dev/null 2>&1; [ $? = 1 ]; check $? "lint --strict fails on warnings"
$A lint >/dev/null 2>&1; [ $? = 2 ]; check $? "lint without files exits 2"

printf 'hello\nwhat payment methods do you accept\n\n' | $A chat $FAQ > "$T/chat"
grep -q "opening hours" "$T/chat" && grep -q "PayPal" "$T/chat"; check $? "chat conversation" "$(cat "$T/chat")"

# import a CSV catalog: RFC 4180 quoting (commas, doubled quotes and a
# newline inside quotes), CRLF and LF rows, a blank row, Latin-1 text
# re-encoded as UTF-8, an empty price (not for sale) and a bad one (the row
# rejected, exit 1), a last row without a newline
printf 'sku,title,brand,price,tags\r\nA1,"Lamp, brass","Caf\351 Co",12.5,"a|b"\r\n\r\nA2,"Two\nlines ""quoted""",Acme,,x\r\nA3,Plain,Acme,abc,\r\nA4,Last,Z,3' > "$T/cat.csv"
$A import --catalog "$T/cat.csv" --db "$T/csv.db" >"$T/imp" 2>&1; rc=$?
sqlite3 "$T/csv.db" "select sku, title, brand, price, tags from products order by sku" >"$T/rows" 2>&1
printf 'A1|Lamp, brass|Caf\303\251 Co|12.5|["a","b"]\nA2|Two\nlines "quoted"|Acme|0.0|["x"]\nA4|Last|Z|3.0|[]\n' >"$T/want"
[ $rc = 1 ] && grep -q "3 loaded, 1 rejected" "$T/imp" && grep -q "row 5 rejected: price is not a number" "$T/imp" \
  && cmp -s "$T/rows" "$T/want"
check $? "import reads a CSV catalog (quotes, CRLF, Latin-1, bad rows)" "$(cat "$T/imp" "$T/rows")"

# the sample catalog's other facts come in under the store's names
# (warrantyInformation -> warranty, ..., minimumOrderQuantity -> minOrder)
$A import --catalog examples/catalog/products.json --db "$T/sample.db" >"$T/imp" 2>&1; rc=$?
sqlite3 "$T/sample.db" "select facts from products where sku = 'BEA-ESS-ESS-001'" >"$T/facts" 2>&1
[ $rc = 0 ] && grep -q '"warranty":"1 week warranty"' "$T/facts" && grep -q '"minOrder":48' "$T/facts" \
  && grep -q '"dimensions":{"width":' "$T/facts" && grep -q '"weight":4' "$T/facts" \
  && [ "$(sqlite3 "$T/sample.db" "select count(*) from products where facts is null")" = 0 ]
check $? "import keeps the sample catalog's facts (warranty, shipping, returns, weight, dimensions, minOrder)" "$(cat "$T/imp" "$T/facts")"

# a CSV's facts columns: text as given, numbers read, a bad number and a
# row without facts left without them, never rejected
printf 'sku,title,price,warranty,shipping,returns,weight,width,height,depth\nF1,Kettle,20,2 year warranty,Ships in 2 days,30 days return policy,1.5,10,20,abc\nF2,Mug,5,,,,heavy,,,\n' >"$T/facts.csv"
$A import --catalog "$T/facts.csv" --db "$T/facts.db" >"$T/imp" 2>&1; rc=$?
sqlite3 "$T/facts.db" "select sku, facts from products order by sku" >"$T/rows" 2>&1
printf 'F1|{"warranty":"2 year warranty","shipping":"Ships in 2 days","returns":"30 days return policy","weight":1.5,"dimensions":{"width":10,"height":20}}\nF2|\n' >"$T/want"
[ $rc = 0 ] && grep -q "2 loaded, 0 rejected" "$T/imp" && cmp -s "$T/rows" "$T/want"
check $? "import reads a CSV's facts columns (warranty, shipping, returns, weight, width/height/depth)" "$(cat "$T/imp" "$T/rows")"

# import --fetch-images against a loopback image server (no outside
# network): good images stored once by content, every bad one reported
# with its product, and the import is not stopped by them
if command -v python3 >/dev/null 2>&1; then
    python3 tests/integration/media_server.py >"$T/mport" 2>"$T/merr" &
    MPID=$!
    i=0; while [ ! -s "$T/mport" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
    M="http://127.0.0.1:$(head -1 "$T/mport")"
    cat >"$T/img.json" <<J
{"products":[
 {"sku":"good-1","title":"Red Lamp","category":"lighting","price":10,"stock":5,"thumbnail":"$M/red.png","images":["$M/red.png","$M/green.png","$M/moved.png"]},
 {"sku":"good-2","title":"Dot","category":"toys","price":3,"stock":5,"thumbnail":"$M/dot.gif","images":["$M/photo.jpg","$M/same-as-red.png"]},
 {"sku":"huge","title":"Huge","category":"furniture","price":10,"stock":5,"thumbnail":"$M/huge.png","images":["$M/huge-stream.png"]},
 {"sku":"liar","title":"Liar","category":"beauty","price":10,"stock":5,"thumbnail":"$M/lying.png","images":["$M/wrong-type.png"]},
 {"sku":"slow","title":"Slow","category":"groceries","price":10,"stock":5,"thumbnail":"$M/slow.png"},
 {"sku":"gone","title":"Gone","category":"sports","price":10,"stock":5,"thumbnail":"$M/missing.png","images":["$M/loop-a","file:///etc/passwd"]},
 {"sku":"plain","title":"No Image","category":"kitchen","price":10,"stock":5}
]}
J
    t0=$(date +%s)
    $A import --catalog "$T/img.json" --db "$T/img.db" --fetch-images --fetch-timeout 2 >"$T/fi" 2>&1; rc=$?
    t1=$(date +%s)
    [ $rc = 1 ] && grep -q "7 loaded, 0 rejected" "$T/fi" \
      && grep -q "^images: 6 fetched, 0 already stored, 8 failed (4 products), 0 left for the next run; in $T/media$" "$T/fi"
    check $? "import --fetch-images: 6 URLs stored, 8 failed, the products all loaded (exit 1)" "$(cat "$T/fi")"
    # the slow image costs its timeout once, the others run beside it
    [ $((t1 - t0)) -le 6 ]; check $? "import --fetch-images: transfers in parallel, the slow one cut at its timeout ($((t1 - t0)) s)"
    grep -q "product huge (Huge): $M/huge.png: too large: the server declares more than 5242880 bytes" "$T/fi" \
      && grep -q "product huge (Huge): $M/huge-stream.png: too large: more than 5242880 bytes arrived (cut off)" "$T/fi" \
      && grep -q "product liar (Liar): $M/lying.png: not an image: the content is not JPEG, PNG, WebP, GIF or AVIF (Content-Type said image/png)" "$T/fi" \
      && grep -q "product liar (Liar): $M/wrong-type.png: not an image: Content-Type text/html" "$T/fi" \
      && grep -q "product slow (Slow): $M/slow.png: timed out" "$T/fi" \
      && grep -q "product gone (Gone): $M/missing.png: HTTP 404" "$T/fi" \
      && grep -q "product gone (Gone): $M/loop-a: more than 3 redirects" "$T/fi" \
      && grep -q "product gone (Gone): file:///etc/passwd: not fetched: only http:// and https:// URLs" "$T/fi" \
      && ! grep -q "product good-\|product plain" "$T/fi"
    check $? "import --fetch-images: each failure named with its product and why" "$(cat "$T/fi")"
    # stored by content: red.png and same-as-red.png are one file; the
    # redirect's target is stored under the URL the catalog names
    n=$(ls "$T/media" | grep -c '^[0-9a-f]\{64\}\.\(png\|gif\|jpg\)$')
    red=$(grep "	$M/red.png\$" "$T/media/index.tsv" | cut -f1)
    same=$(grep "	$M/same-as-red.png\$" "$T/media/index.tsv" | cut -f1)
    moved=$(grep "	$M/moved.png\$" "$T/media/index.tsv" | cut -f1)
    want=$(curl -s "$M/red.png" | sha256sum | cut -c1-64).png
    [ "$n" = 5 ] && [ "$red" = "$want" ] && [ "$same" = "$red" ] && cmp -s "$T/media/$red" "$T/media/$same" \
      && [ "$(curl -s "$M/blue.png" | sha256sum | cut -c1-64).png" = "$moved" ] \
      && [ "$(grep -c . "$T/media/index.tsv")" = 6 ] && ! ls "$T/media" | grep -q 'tmp'
    check $? "import --fetch-images: files named by SHA-256, one per content, index of 6 URLs" "$(ls "$T/media"; cat "$T/media/index.tsv")"
    # run again, catalog already in: nothing stored is fetched again
    $A import --db "$T/img.db" --fetch-images --fetch-timeout 1 >"$T/fi2" 2>&1; rc=$?
    hits=$(curl -s "$M/hits?path=/red.png" | sed 's/.*"hits": \([0-9]*\).*/\1/')
    [ $rc = 1 ] && grep -q "^images: 0 fetched, 6 already stored, 8 failed (4 products)" "$T/fi2" && [ "$hits" = 2 ]
    check $? "import --fetch-images again: stored URLs are not fetched again (red.png asked for once by the import)" "$(cat "$T/fi2") hits=$hits"
    # --fetch-max bounds one run; the rest waits for the next
    $A import --catalog "$T/img.json" --db "$T/img2.db" --media-dir "$T/m2" --fetch-images --fetch-max 2 --fetch-parallel 1 >"$T/fi3" 2>&1
    grep -q "^images: .* left for the next run; in $T/m2$" "$T/fi3" && ! grep -q " 0 left for" "$T/fi3" \
      && [ "$(grep -c . "$T/m2/index.tsv")" -le 2 ]
    check $? "import --fetch-max bounds the images fetched in one run" "$(cat "$T/fi3")"
    # a host that cannot be reached is given up after 3 tries in a row
    # (offline, a catalog on one CDN fails in seconds)
    printf '{"products":[' >"$T/down.json"
    for i in 1 2 3 4 5 6; do
        [ $i = 1 ] || printf ',' >>"$T/down.json"
        printf '{"sku":"d%s","title":"Down %s","price":1,"stock":1,"thumbnail":"http://127.0.0.1:1/%s.png"}' $i $i $i >>"$T/down.json"
    done
    printf ']}' >>"$T/down.json"
    $A import --catalog "$T/down.json" --db "$T/down.db" --fetch-images --fetch-parallel 1 >"$T/fi5" 2>&1; rc=$?
    [ $rc = 1 ] && [ "$(grep -c "Couldn't connect\|Failed to connect" "$T/fi5")" = 3 ] \
      && [ "$(grep -c 'not tried: 127.0.0.1:1 could not be reached (3 tries in a row failed)' "$T/fi5")" = 3 ] \
      && grep -q "^images: 0 fetched, 0 already stored, 6 failed (6 products)" "$T/fi5"
    check $? "import --fetch-images gives up a host after 3 failed connections in a row" "$(cat "$T/fi5")"
    $A import --db "$T/img.db" --fetch-images --fetch-parallel 0 >"$T/fi4" 2>&1; rc=$?
    [ $rc = 2 ] && grep -q "fetch-parallel must be a whole number from 1 to 16" "$T/fi4"
    check $? "import --fetch-parallel out of range is a usage error" "$(cat "$T/fi4")"
    kill "$MPID" 2>/dev/null; wait "$MPID" 2>/dev/null || true
else
    echo "skip import --fetch-images: python3 is not installed (the loopback image server)"
fi

# aisle eval over CSV: the text column need not be the first, a blank
# line is passed over, and a record short of the label is an error
printf 'intent,text\ngreet,hello there\ngreet,hi friend\n\nbye,goodbye now\nbye,see you later\n' >"$T/ev.csv"
out=$($A eval --train "$T/ev.csv" --data "$T/ev.csv" 2>&1); rc=$?
[ $rc = 0 ] && echo "$out" | grep -q "^evaluated 4 examples"
check $? "eval reads a CSV whose text column is second, a blank line in it" "$out"
printf 'intent,text\ngreet,hello there\nbye\n' >"$T/ev_short.csv"
out=$($A eval --train "$T/ev.csv" --data "$T/ev_short.csv" 2>&1); rc=$?
[ $rc = 1 ] && echo "$out" | grep -q "ev_short.csv: record 3 has 1 fields, fewer than the header"
check $? "eval names a CSV record short of the header" "$out"
