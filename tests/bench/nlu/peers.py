"""tests/bench/nlu/peers.py - the Python side of the NLU peer comparison
(run by run.sh with /usr/bin/python3, standard library plus Debian's
python3-sklearn): turns the data sets into one plain format, runs the
scikit-learn and fastText peers, and scores every peer the same way.

Each peer writes predictions as JSON: {"labels": [...], "scores": [...],
"per_second": N, "train_seconds": S}, one label and top-1 confidence per
dev row; `score` applies one rule to all of them (see pick_threshold).
"""
import csv
import json
import os
import re
import resource
import subprocess
import sys
import time

OOS = "oos"


# ------------------------------------------------------------------ data

def read_tsv(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            label, text = line.rstrip("\n").split("\t", 1)
            rows.append((label, text))
    return rows


def write_tsv(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for label, text in rows:
            # tabs and newlines would break the format; they carry no intent
            text = re.sub(r"[\t\r\n]+", " ", text)
            f.write(f"{label}\t{text}\n")


def prep(data, out):
    """bitext.{train,dev}.tsv and clinc150.{train,dev}.tsv under out"""
    b = os.path.join(data, "bitext-customer-support-intent")
    for split, sub in (("train", "train"), ("dev", "dev")):
        rows = []
        d = os.path.join(b, sub)
        for name in sorted(os.listdir(d)):
            if name.endswith(".csv"):
                with open(os.path.join(d, name), encoding="utf-8", newline="") as f:
                    for r in csv.DictReader(f):
                        rows.append((r["intent"], r["utterance"]))
        write_tsv(os.path.join(out, f"bitext.{split}.tsv"), rows)
    with open(os.path.join(data, "clinc150", "data_full.json"), encoding="utf-8") as f:
        full = json.load(f)
    for split, parts in (("train", ("train", "oos_train")), ("dev", ("val", "oos_val"))):
        rows = []
        for p in parts:
            for text, label in full[p]:
                rows.append((OOS if p.startswith("oos") else label, text))
        write_tsv(os.path.join(out, f"clinc150.{split}.tsv"), rows)


# --------------------------------------------------------------- scoring

def thresholds():
    """the grid `aisle eval --sweep` uses: 0.01 steps to 0.50, then 0.05"""
    return [k * 0.01 for k in range(51)] + [0.5 + k * 0.05 for k in range(1, 10)]


def figures(gold, labels, scores, th):
    n = len(gold)
    pred = [OOS if s < th else p for p, s in zip(labels, scores)]
    ok = sum(g == p for g, p in zip(gold, pred))
    ins = [(g, p) for g, p in zip(gold, pred) if g != OOS]
    oos = [(g, p) for g, p in zip(gold, pred) if g == OOS]
    r = {"accuracy": ok / n}
    if oos:
        r["in_scope_accuracy"] = sum(g == p for g, p in ins) / len(ins)
        r["oos_recall"] = sum(p == OOS for _, p in oos) / len(oos)
    return r


def pick_threshold(gold, labels, scores, min_recall=0.80):
    """The one rule for every peer: the threshold (on the grid) with the
    best in-scope accuracy among those reaching min_recall out-of-scope
    recall; where none does, the best mean of the two."""
    best = None
    for th in thresholds():
        f = figures(gold, labels, scores, th)
        ok = f["oos_recall"] >= min_recall
        key = (ok, f["in_scope_accuracy"] if ok else
               (f["in_scope_accuracy"] + f["oos_recall"]) / 2)
        if best is None or key > best[0]:
            best = (key, th)
    return best[1]


def score(kind, tsv, pred_path):
    gold = [g for g, _ in read_tsv(tsv)]
    with open(pred_path, encoding="utf-8") as f:
        p = json.load(f)
    if "skipped" in p:
        return p
    labels, scores = p["labels"], p["scores"]
    if len(labels) != len(gold):
        return {"skipped": f"{len(labels)} predictions for {len(gold)} rows"}
    r = {"train_seconds": round(p["train_seconds"], 2),
         "classifications_per_second": round(p["per_second"])}
    if kind == "clinc150":
        r["no_threshold"] = figures(gold, labels, scores, 0.0)
        th = pick_threshold(gold, labels, scores)
        r["threshold"] = round(th, 2)
        r.update(figures(gold, labels, scores, th))
    else:
        r.update(figures(gold, labels, scores, 0.0))
    for k, v in list(r.items()):
        if isinstance(v, float) and k != "threshold":
            r[k] = round(v, 4)
    if "no_threshold" in r:
        r["no_threshold"] = {k: round(v, 4) for k, v in r["no_threshold"].items()}
    return r


# ----------------------------------------------------------------- peers

def cpu_self():
    return time.thread_time()


def best_rate(fn, n, rounds=5):
    """classifications per second: the fastest of `rounds` calls of fn()
    classifying n rows, in this thread's CPU time"""
    best = 0.0
    for _ in range(rounds):
        t = cpu_self()
        fn()
        el = cpu_self() - t
        best = max(best, n / el if el > 0 else 0.0)
    return best


def run_sklearn(train, dev, out):
    try:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline, make_union
    except ImportError as e:
        return {"skipped": f"scikit-learn not importable ({e}): apt-get install python3-sklearn"}
    tr, dv = read_tsv(train), read_tsv(dev)
    texts = [t for _, t in dv]
    model = make_pipeline(
        make_union(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True,
                            lowercase=True, min_df=2),
        ),
        LogisticRegression(C=20.0, max_iter=2000),
    )
    t = time.perf_counter()
    model.fit([t_ for _, t_ in tr], [l for l, _ in tr])
    train_s = time.perf_counter() - t
    proba = model.predict_proba(texts)
    classes = model.classes_
    top = proba.argmax(axis=1)
    res = {"labels": [str(classes[i]) for i in top],
           "scores": [float(proba[j, i]) for j, i in enumerate(top)],
           "train_seconds": train_s,
           "per_second": best_rate(lambda: model.predict_proba(texts), len(texts))}
    return res


def ft_clean(text):
    # fastText splits on whitespace only: lowercase and pull punctuation
    # off the words, as its own tutorials do
    return " ".join(re.findall(r"[\w']+|[^\w\s]", text.lower()))


def child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_fasttext(train, dev, out):
    exe = "fasttext"
    try:
        subprocess.run([exe], capture_output=True)
    except OSError:
        return {"skipped": "fasttext not installed: apt-get install fasttext"}
    tr, dv = read_tsv(train), read_tsv(dev)
    ftr, fdv, one = out + ".train.txt", out + ".dev.txt", out + ".one.txt"
    with open(ftr, "w", encoding="utf-8") as f:
        for l, t in tr:
            f.write(f"__label__{l} {ft_clean(t)}\n")
    # the timed file repeats the dev set so that predicting, not loading
    # the model, is most of the run
    reps = max(1, 50000 // len(dv))
    with open(fdv, "w", encoding="utf-8") as f:
        for _ in range(reps):
            for _, t in dv:
                f.write(ft_clean(t) + "\n")
    with open(one, "w", encoding="utf-8") as f:
        f.write(ft_clean(dv[0][1]) + "\n")
    model = out + ".model"
    t = time.perf_counter()
    subprocess.run([exe, "supervised", "-input", ftr, "-output", model, "-epoch", "25",
                    "-lr", "0.5", "-wordNgrams", "2", "-minn", "2", "-maxn", "5", "-dim", "100",
                    "-bucket", "200000", "-thread", "1", "-seed", "1", "-verbose", "0"],
                   check=True, capture_output=True)
    train_s = time.perf_counter() - t

    def predict(path):
        c = child_cpu()
        p = subprocess.run([exe, "predict-prob", model + ".bin", path, "1"], check=True,
                           capture_output=True, text=True)
        return p.stdout, child_cpu() - c

    # the rate leaves out loading the model: the CPU time of a run over the
    # repeated dev set minus that of a run over one line, fastest of three
    full = min(predict(fdv)[1] for _ in range(3))
    load = min(predict(one)[1] for _ in range(3))
    lines = predict(fdv)[0].splitlines()[:len(dv)]
    labels, scores = [], []
    for ln in lines:
        parts = ln.split()
        labels.append(parts[0][len("__label__"):] if parts else "")
        scores.append(float(parts[1]) if len(parts) > 1 else 0.0)
    return {"labels": labels, "scores": scores, "train_seconds": train_s,
            "per_second": (reps * len(dv) - 1) / max(full - load, 1e-9)}


def run_aisle(aisle, kind, data):
    """aisle eval on the original files; for CLINC150 a first run's sweep
    picks the threshold by the same rule as the peers', a second run
    reports at it"""
    if kind == "bitext":
        b = os.path.join(data, "bitext-customer-support-intent")
        files = ["--train"] + [os.path.join(b, "train", n) for n in
                               sorted(os.listdir(os.path.join(b, "train"))) if n.endswith(".csv")]
        files += ["--data"] + [os.path.join(b, "dev", n) for n in
                               sorted(os.listdir(os.path.join(b, "dev"))) if n.endswith(".csv")]
    else:
        j = os.path.join(data, "clinc150", "data_full.json")
        files = ["--train", j + "#train,oos_train", "--data", j + "#val,oos_val"]

    def run(extra):
        p = subprocess.run([aisle, "eval"] + files + extra + ["--json"], check=True,
                           capture_output=True, text=True)
        return json.loads(p.stdout)

    r = {}
    if kind == "clinc150":
        sw = run(["--sweep"])["sweep"]
        th0 = next(e for e in sw if e["threshold"] == 0)
        r["no_threshold"] = {"in_scope_accuracy": th0["in_scope_accuracy"],
                             "oos_recall": th0["oos_recall"]}
        best = None
        for e in sw:
            ok = e["oos_recall"] >= 0.80
            key = (ok, e["in_scope_accuracy"] if ok else
                   (e["in_scope_accuracy"] + e["oos_recall"]) / 2)
            if best is None or key > best[0]:
                best = (key, e["threshold"])
        j = run(["--threshold", f"{best[1]:.2f}"])
        r["threshold"] = round(best[1], 2)
    else:
        j = run([])
    out = {"train_seconds": round(j["train_seconds"], 2),
           "classifications_per_second": round(j["classifications_per_second"]),
           "accuracy": round(j["accuracy"], 4)}
    for k in ("in_scope_accuracy", "oos_recall"):
        if k in j:
            out[k] = round(j[k], 4)
    if "no_threshold" in r:
        r["no_threshold"] = {k: round(v, 4) for k, v in r["no_threshold"].items()}
    out.update(r)
    return out


NAMES = {"aisle": "aisle (built-in)", "sklearn": "scikit-learn TF-IDF + LogisticRegression",
         "fasttext": "fastText", "nlpjs": "NLP.js (node-nlp)"}


def sh(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, shell=True).stdout.strip()
    except OSError:
        return ""


def report(tmp, peers):
    res = {}
    for kind in ("bitext", "clinc150"):
        res[kind] = {}
        for p in peers.split():
            with open(os.path.join(tmp, f"{p}.{kind}.json"), encoding="utf-8") as f:
                res[kind][p] = json.load(f)
    cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2")
    here = os.path.dirname(os.path.abspath(__file__))
    nlp_pkg = os.path.join(here, "node_modules", "node-nlp", "package.json")
    try:
        import sklearn
        skv = sklearn.__version__
    except ImportError:
        skv = None
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpu": cpu, "cpus": os.cpu_count(), "kernel": sh("uname -sr")},
        "versions": {
            "aisle": sh("git rev-parse --short HEAD"),
            "fasttext": sh("dpkg-query -W -f='${Version}' fasttext 2>/dev/null"),
            "scikit-learn": skv,
            "node-nlp": json.load(open(nlp_pkg))["version"] if os.path.exists(nlp_pkg) else None,
            "node": sh("node --version 2>/dev/null"),
        },
        "method": ("accuracy on Bitext dev; on CLINC150 val+oos_val: in-scope accuracy and "
                   "out-of-scope recall at the threshold on top-1 confidence with the best "
                   "in-scope accuracy among those reaching 0.80 recall (same grid and rule for "
                   "every peer), and without a threshold; classifications/s: dev set, one "
                   "thread, CPU time, fastest of several rounds"),
        "results": res,
    }


def table(path):
    with open(path, encoding="utf-8") as f:
        r = json.load(f)
    if "skipped" in r:
        print(f"skipped: {r['skipped']}")
        return
    b, c = r["results"]["bitext"], r["results"]["clinc150"]
    print("| system | Bitext accuracy | Bitext classif./s | CLINC150 in-scope | "
          "CLINC150 oos recall | threshold | CLINC150 classif./s | "
          "CLINC150 no threshold (in-scope / oos) | training s (Bitext / CLINC150) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for p in b:
        x, y = b[p], c.get(p, {})
        if "skipped" in x or "skipped" in y:
            print(f"| {NAMES.get(p, p)} | skipped: {x.get('skipped') or y.get('skipped')} |"
                  " | | | | | | |")
            continue
        nt = y.get("no_threshold", {})
        print(f"| {NAMES.get(p, p)} | {x['accuracy']:.4f} | {x['classifications_per_second']:,} "
              f"| {y['in_scope_accuracy']:.4f} | {y['oos_recall']:.4f} | {y['threshold']:.2f} "
              f"| {y['classifications_per_second']:,} "
              f"| {nt.get('in_scope_accuracy', 0):.4f} / {nt.get('oos_recall', 0):.4f} "
              f"| {x['train_seconds']:.1f} / {y['train_seconds']:.1f} |")


def main(argv):
    cmd = argv[1]
    if cmd == "prep":
        prep(argv[2], argv[3])
    elif cmd in ("sklearn", "fasttext"):
        train, dev, out = argv[2], argv[3], argv[4]
        fn = run_sklearn if cmd == "sklearn" else run_fasttext
        try:
            res = fn(train, dev, out)
        except Exception as e:  # a peer that fails is reported, not fatal
            res = {"skipped": f"{cmd} failed: {e}"}
        with open(out, "w", encoding="utf-8") as f:
            json.dump(res, f)
    elif cmd == "aisle":
        print(json.dumps(run_aisle(argv[2], argv[3], argv[4])))
    elif cmd == "report":
        print(json.dumps(report(argv[2], argv[3]), indent=2))
    elif cmd == "table":
        table(argv[2])
    elif cmd == "score":
        print(json.dumps(score(argv[2], argv[3], argv[4])))
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main(sys.argv)
