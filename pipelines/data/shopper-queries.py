#!/usr/bin/env python3
"""pipelines/data/shopper-queries.py — derives shopper-queries.csv, the
real product-search examples of pipelines/commerce.yaml, from Amazon's
ESCI queries (Apache-2.0) and Wayfair's WANDS queries (MIT). Run from the
repository root:

    python3 pipelines/data/shopper-queries.py [DATA_DIR] [COUNT] > pipelines/data/shopper-queries.csv

DATA_DIR (default ../shared/data) holds esci-opensearch-slice and
wands-queries. Only those two licences are read: Home Depot and Flipkart
data must never be copied here. One query in five of each set, picked by a
hash of its id, is held out for tests/bench/nlu/shopper.py and never
written.

Why so few (COUNT, default 60) and so short: the queries teach the model
that a bare noun phrase ("oak bookshelf", "garden hose 50 ft") is a
search, which 60 do about as well as 800 (held-out queries and bare
phrases all searches; Home Depot's 0.987 against 0.998); every query
more makes search the class any message with an unknown word falls into,
and support questions that name a product ("my earbuds stopped working")
went there (docs/benchmarks.md).
So: at most three words, none of the words the other intents are made of
(STOP: pronouns, question words, cart and order words), then COUNT picked
by a hash of the text. The sample catalog's titles are left out on
purpose: product names taught as searches pulled "and the apple watch?"
after a list away from product details, and the classifier stage learns
the store's own catalog at run time.
Output: CSV `query,intent`, intent always search_product, lowercased,
deduplicated, sorted. Deterministic: the same inputs give the same file.
"""
import csv
import hashlib
import json
import re
import sys

# words that mean something else in the shop's other intents
STOP = set("""
i i'm im me my mine we our you your yours it its it's is are was were be been am do does did don't
can could will would should shall how what when where why which who whom whose if not no yes yep ok
please thanks thank hi hello order orders cart basket bag checkout pay paid payment refund return
returns exchange ship shipping shipped deliver delivery track tracking cancel account password card
gift help stopped working broken broke faulty warranty
""".split())
MAX_WORDS = 3


def held_out(key):
    """The split of wands-queries/SOURCE.md: a fifth of the ids."""
    return int(hashlib.sha256(str(key).encode()).hexdigest()[:8], 16) % 5 == 0


def clean(q):
    q = q.replace("\u201d", "").replace("\u201c", "").strip().lower()
    return re.sub(r"\s+", " ", q)


def real_queries(data, held):
    """(query, held out?) for ESCI (key: the query text) and WANDS (key: query_id)."""
    with open(f"{data}/esci-opensearch-slice/esci_us_queryset.json", encoding="utf-8") as f:
        for r in json.load(f)["querySetQueries"]:
            q = clean(r["queryText"])
            if held_out(q) == held:
                yield q
    with open(f"{data}/wands-queries/query.csv", encoding="utf-8") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            if held_out(r["query_id"]) == held:
                yield clean(r["query"])


def usable(q):
    words = q.split()
    return (2 <= len(q) <= 120 and len(words) <= MAX_WORDS and "," not in q and '"' not in q
            and not set(words) & STOP)


def main():
    data = sys.argv[1] if len(sys.argv) > 1 else "../shared/data"
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 60
    qs = sorted({q for q in real_queries(data, False) if usable(q)},
                key=lambda q: hashlib.sha256(q.encode()).hexdigest())[:count]
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["query", "intent"])
    for q in sorted(qs):
        out.writerow([q, "search_product"])


if __name__ == "__main__":
    main()
