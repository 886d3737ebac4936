#!/usr/bin/env python3
"""tests/bench/nlu/shopper.py — does the commerce pipeline's intent model
take real shopper queries for product searches, and keep support, cart and
order messages out of search? Trains the model of pipelines/commerce.yaml
(`aisle eval --pipeline`, its threshold 0.25) and scores it on:

  real      ESCI + WANDS queries held out of pipelines/data/shopper-queries.csv
            (the fifth picked by pipelines/data/shopper-queries.py's hash)
  bare      tests/bench/nlu/bare-products.txt, bare product phrases
  homedepot Home Depot dev queries (internal evaluation data: read in place,
            never copied; skipped when absent)
  bitext    Bitext dev rows of the intents the pipeline has (must stay put)
  other     tests/bench/nlu/not-search.csv, cart/order/support/smalltalk
  clinc_oos CLINC150 oos_val: messages no shop handles (must stay out of scope)

The model alone, before the classifier stage's catalog fallback: a floor
for what the chat does. Prints one JSON object.
Usage: AISLE=build/aisle python3 tests/bench/nlu/shopper.py [DATA_DIR]
"""
import csv
import importlib.util
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../../.."))
PIPE = os.environ.get("PIPELINE", os.path.join(ROOT, "pipelines/commerce.yaml"))
PRODUCT = {"search_product", "refine_search", "product_details", "compare", "recommend"}


def derive():
    spec = importlib.util.spec_from_file_location("sq", os.path.join(ROOT, "pipelines/data/shopper-queries.py"))
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


def write(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["utterance", "intent"])
        w.writerows(rows)


def run(aisle, path):
    out = subprocess.run([aisle, "eval", "--pipeline", PIPE, "--data", path, "--threshold", "0.25",
                          "--oos-label", "out_of_scope", "--json"], check=True, capture_output=True, text=True)
    r = json.loads(out.stdout)
    n = r["examples"]
    to = {}
    for c in r["confusions"]:
        to[c["predicted"]] = to.get(c["predicted"], 0) + c["count"]
    wrong = sum(to.values())
    prod = sum(v for k, v in to.items() if k in PRODUCT)
    return r, n, to, wrong, prod


def main():
    aisle = os.environ.get("AISLE", os.path.join(ROOT, "build/aisle"))
    data = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "../shared/data")
    sq = derive()
    tmp = tempfile.mkdtemp()
    sets = {}
    sets["real"] = [(q, "search_product") for q in sorted(set(sq.real_queries(data, True)))]
    with open(os.path.join(ROOT, "tests/bench/nlu/bare-products.txt"), encoding="utf-8") as f:
        sets["bare"] = [(l.strip(), "search_product") for l in f if l.strip() and not l.startswith("#")]
    hd = os.path.join(data, "home-depot-search-relevance/judgments-dev.csv")
    if os.path.exists(hd):
        with open(hd, encoding="utf-8") as f:
            sets["homedepot"] = [(q, "search_product") for q in sorted({r["search_term"] for r in csv.DictReader(f)})]
    with open(os.path.join(ROOT, "pipelines/data/bitext-support.csv"), encoding="utf-8") as f:
        have = {r["intent"] for r in csv.DictReader(f)}
    bt = os.path.join(data, "bitext-customer-support-intent/dev/Bitext_Sample_Customer_Service_Validation_Dataset.csv")
    with open(bt, encoding="utf-8") as f:
        sets["bitext"] = [(r["utterance"], r["intent"]) for r in csv.DictReader(f) if r["intent"] in have]
    with open(os.path.join(ROOT, "tests/bench/nlu/not-search.csv"), encoding="utf-8") as f:
        sets["other"] = [(r["utterance"], r["intent"]) for r in csv.DictReader(f)]
    with open(os.path.join(data, "clinc150/data_full.json"), encoding="utf-8") as f:
        sets["clinc_oos"] = [(t, "out_of_scope") for t, _ in json.load(f)["oos_val"]]
    res = {}
    for name, rows in sets.items():
        path = os.path.join(tmp, name + ".csv")
        write(path, rows)
        r, n, to, wrong, prod = run(aisle, path)
        e = {"n": n, "accuracy": round(r["accuracy"], 4), "train_examples": r["train_examples"],
             "train_seconds": round(r["train_seconds"], 3)}
        if rows[0][1] == "search_product" and all(l == "search_product" for _, l in rows):
            e["search"] = round(1 - wrong / n, 4)
            e["product_route"] = round(1 - (wrong - prod) / n, 4)
            e["out_of_scope"] = round(to.get("out_of_scope", 0) / n, 4)
        else:
            e["into_product_route"] = round(prod / n, 4)
            e["into_search"] = round(to.get("search_product", 0) / n, 4)
            e["out_of_scope"] = round(to.get("out_of_scope", 0) / n, 4)
        if os.environ.get("SHOPPER_CONFUSIONS"):
            e["confusions"] = r["confusions"][:12]
        res[name] = e
    json.dump(res, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
