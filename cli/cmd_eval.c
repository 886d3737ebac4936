/* cli/cmd_eval.c — `aisle eval`: train the built-in intent classifier on
 * labelled files, classify a held-out file and report accuracy, macro-F1,
 * per-intent scores, confusions, out-of-scope figures and speed.
 * `aisle eval search ...` is handed to cli_eval_search.
 */
#include "cli.h"
#include "engine/eng.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define USAGE                                                                          \
    "usage: aisle eval (--pipeline P | --train FILE...) --data FILE... [options]\n"   \
    "       aisle eval search --db FILE --judgments FILE.csv\n"                        \
    "  FILE is CSV with a header row, or JSON shaped like CLINC150 with\n"             \
    "  FILE#split[,split...] (e.g. data_full.json#train,oos_train); rows of an\n"      \
    "  oos* split get the out-of-scope label.\n"                                       \
    "  --text-col C      CSV text column (default: utterance, else text)\n"            \
    "  --label-col C     CSV label column (default: intent, else label)\n"             \
    "  --oos-label L     the out-of-scope label (default: oos)\n"                      \
    "  --threshold T     a top confidence below T predicts the oos label (0 = off)\n"  \
    "  --sweep           also print in-scope accuracy / oos recall per threshold\n"  \
    "                    (with --json: a \"sweep\" array)\n"    \
    "  --json            print one JSON object\n"

typedef struct dataset {
    char **text, **label;
    size_t n, cap;
} dataset;

typedef struct eval_args {
    const char *text_col, *label_col, *oos;
    double threshold;
    int json, sweep;
} eval_args;

static void ds_free(dataset *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->text[i]);
        free(d->label[i]);
    }
    free(d->text);
    free(d->label);
    memset(d, 0, sizeof *d);
}

/* ds_add takes ownership of t and l */
static int ds_add(dataset *d, char *t, char *l);

/* the pipeline's intents and their examples become the training set */
static int load_pipeline_examples(const char *file, dataset *tr)
{
    eng_diags dg;
    eng_diags_init(&dg);
    eng_pipeline *p = NULL;
    int rc = eng_pipeline_load(file, &p, &dg);
    if (dg.n)
        eng_diags_print(&dg, stderr);
    eng_diags_free(&dg);
    if (rc < 0)
        return -1;
    const char **texts, **labels;
    size_t n;
    if (eng_pipeline_examples(p, &texts, &labels, &n) == 0) {
        for (size_t i = 0; rc == 0 && i < n; i++)
            rc = ds_add(tr, strdup(texts[i]), strdup(labels[i]));
        free(texts);
        free(labels);
        if (rc == 0 && n == 0) {
            fprintf(stderr, "aisle eval: %s has no intent examples\n", file);
            rc = -1;
        }
    } else {
        rc = -1;
    }
    eng_pipeline_release(p);
    return rc ? -1 : 0;
}

static int ds_add(dataset *d, char *t, char *l)
{
    if (!t || !l)
        goto oom;
    if (d->n == d->cap) {
        size_t nc = d->cap ? d->cap * 2 : 1024;
        char **a = realloc(d->text, nc * sizeof *a);
        if (!a)
            goto oom;
        d->text = a;
        char **b = realloc(d->label, nc * sizeof *b);
        if (!b)
            goto oom;
        d->label = b;
        d->cap = nc;
    }
    d->text[d->n] = t;
    d->label[d->n++] = l;
    return 0;
oom:
    free(t);
    free(l);
    fprintf(stderr, "aisle eval: out of memory\n");
    return -1;
}

/* ------------------------------------------------------------------ CSV */

static int col_index(char **names, int n, const char *want, const char *alt)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], want) == 0)
            return i;
    for (int i = 0; alt && i < n; i++)
        if (strcmp(names[i], alt) == 0)
            return i;
    return -1;
}

static int load_csv(const char *path, const eval_args *a, dataset *d)
{
    size_t len;
    char *buf = cli_read_file("aisle eval", path, &len), *p, *end;
    if (!buf)
        return 1;
    p = buf;
    end = buf + len;
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        p += 3; /* a UTF-8 byte order mark is not part of the first name */
    char *names[256];
    int ncol = 0, eor = 0, rc = 1;
    while (!eor && p < end && ncol < 256)
        names[ncol++] = eng_csv_field(&p, end, &eor);
    int tc = col_index(names, ncol, a->text_col ? a->text_col : "utterance",
                       a->text_col ? NULL : "text");
    int lc = col_index(names, ncol, a->label_col ? a->label_col : "intent",
                       a->label_col ? NULL : "label");
    if (tc < 0 || lc < 0) {
        fprintf(stderr, "aisle eval: %s: no %s column '%s' in the header\n", path,
                tc < 0 ? "text" : "label",
                tc < 0 ? (a->text_col ? a->text_col : "utterance") :
                         (a->label_col ? a->label_col : "intent"));
        goto out;
    }
    const int cols[2] = {tc, lc};
    size_t row = 1;
    while (p < end) {
        const char *got[2];
        int nf = eng_csv_row(&p, end, cols, got, 2);
        row++;
        if (nf == 0)
            continue; /* blank line */
        if (!got[0] || !got[1]) {
            fprintf(stderr, "aisle eval: %s: record %zu has %d fields, fewer than the header\n",
                    path, row, nf);
            goto out;
        }
        if (ds_add(d, strdup(got[0]), strdup(got[1])) < 0)
            goto out;
    }
    rc = 0;
out:
    free(buf);
    return rc;
}

/* ----------------------------------------------------------------- JSON */

static int load_json(const char *path, const char *splits, const eval_args *a, dataset *d)
{
    json_object *root = json_object_from_file(path);
    if (!root) {
        fprintf(stderr, "aisle eval: %s: cannot read JSON: %s\n", path, json_util_get_last_err());
        return 1;
    }
    int rc = 1;
    char list[256];
    snprintf(list, sizeof list, "%s", splits ? splits : "");
    if (!splits || !*splits) {
        fprintf(stderr, "aisle eval: %s: name the split(s), e.g. %s#train,oos_train\n", path,
                path);
        goto out;
    }
    char *save = NULL;
    for (char *sp = strtok_r(list, ",", &save); sp; sp = strtok_r(NULL, ",", &save)) {
        json_object *arr;
        if (!json_object_object_get_ex(root, sp, &arr) ||
            !json_object_is_type(arr, json_type_array)) {
            fprintf(stderr, "aisle eval: %s: no split '%s' (an array of [text, label])\n",
                    path, sp);
            goto out;
        }
        int oos = strncmp(sp, "oos", 3) == 0;
        size_t n = json_object_array_length(arr);
        for (size_t i = 0; i < n; i++) {
            json_object *r = json_object_array_get_idx(arr, i);
            if (!json_object_is_type(r, json_type_array) || json_object_array_length(r) < 2) {
                fprintf(stderr, "aisle eval: %s: %s[%zu] is not [text, label]\n", path, sp, i);
                goto out;
            }
            const char *t = json_object_get_string(json_object_array_get_idx(r, 0));
            const char *l = json_object_get_string(json_object_array_get_idx(r, 1));
            if (ds_add(d, strdup(t ? t : ""), strdup(oos ? a->oos : l ? l : "")) < 0)
                goto out;
        }
    }
    rc = 0;
out:
    json_object_put(root);
    return rc;
}

static int load_file(const char *spec, const eval_args *a, dataset *d)
{
    char path[4096];
    const char *hash = strrchr(spec, '#');
    size_t pl = hash ? (size_t)(hash - spec) : strlen(spec);
    if (pl >= sizeof path) {
        fprintf(stderr, "aisle eval: path too long: %s\n", spec);
        return 1;
    }
    memcpy(path, spec, pl);
    path[pl] = '\0';
    const char *dot = strrchr(path, '.');
    if (hash || (dot && strcmp(dot, ".json") == 0))
        return load_json(path, hash ? hash + 1 : NULL, a, d);
    return load_csv(path, a, d);
}

/* --------------------------------------------------------------- labels */

/* names: every label seen in gold rows, predictions and the model, so
 * that metrics index one array */
typedef struct names {
    const char **s;
    size_t n, cap;
    int *tab; /* open addressing, -1 empty */
    size_t tcap;
} names;

static size_t str_hash(const char *s)
{
    size_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* index of s (borrowed, must outlive the table), adding it; -1 on OOM */
static int names_id(names *t, const char *s)
{
    if (2 * (t->n + 1) > t->tcap) {
        size_t nc = t->tcap ? t->tcap * 2 : 512;
        int *nt = malloc(nc * sizeof *nt);
        const char **ns = realloc(t->s, nc / 2 * sizeof *ns);
        if (!nt || !ns) {
            free(nt);
            if (ns)
                t->s = ns;
            return -1;
        }
        t->s = ns;
        memset(nt, 0xff, nc * sizeof *nt);
        for (size_t i = 0; i < t->n; i++) {
            size_t h = str_hash(t->s[i]) & (nc - 1);
            while (nt[h] >= 0)
                h = (h + 1) & (nc - 1);
            nt[h] = (int)i;
        }
        free(t->tab);
        t->tab = nt;
        t->tcap = nc;
    }
    size_t h = str_hash(s) & (t->tcap - 1);
    while (t->tab[h] >= 0) {
        if (strcmp(t->s[t->tab[h]], s) == 0)
            return t->tab[h];
        h = (h + 1) & (t->tcap - 1);
    }
    t->tab[h] = (int)t->n;
    t->s[t->n] = s;
    return (int)t->n++;
}

/* -------------------------------------------------------------- metrics */

typedef struct pair {
    int gold, pred;
    long count;
} pair;

static int pair_cmp(const void *a, const void *b)
{
    const pair *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return x->gold != y->gold ? x->gold - y->gold : x->pred - y->pred;
}

typedef struct results {
    size_t n, correct;
    long *tp, *fp, *fn;
    double macro_f1;
    pair *conf;
    size_t nconf;
    int has_oos;
    size_t in_n, in_ok, oos_n, oos_hit;
    double train_s, per_s;
} results;

static double f1(long tp, long fp, long fn)
{
    return tp ? 2.0 * tp / (2.0 * tp + fp + fn) : 0.0;
}

/* gold[i], pred[i]: label ids; oos: id of the oos label or -1 */
static int score_all(results *r, const int *gold, const int *pred, size_t n, size_t nl, int oos)
{
    r->n = n;
    r->tp = calloc(nl, sizeof *r->tp);
    r->fp = calloc(nl, sizeof *r->fp);
    r->fn = calloc(nl, sizeof *r->fn);
    long *mat = calloc(nl * nl, sizeof *mat);
    char *present = calloc(nl, 1);
    if (!r->tp || !r->fp || !r->fn || !mat || !present) {
        free(mat);
        free(present);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        present[gold[i]] = present[pred[i]] = 1;
        if (gold[i] == pred[i]) {
            r->correct++;
            r->tp[gold[i]]++;
        } else {
            r->fp[pred[i]]++;
            r->fn[gold[i]]++;
            mat[(size_t)gold[i] * nl + (size_t)pred[i]]++;
        }
        if (oos >= 0 && gold[i] == oos) {
            r->has_oos = 1;
            r->oos_n++;
            r->oos_hit += pred[i] == oos;
        } else {
            r->in_n++;
            r->in_ok += gold[i] == pred[i];
        }
    }
    double sum = 0;
    size_t np = 0;
    for (size_t j = 0; j < nl; j++)
        if (present[j]) {
            sum += f1(r->tp[j], r->fp[j], r->fn[j]);
            np++;
        }
    r->macro_f1 = np ? sum / (double)np : 0;
    size_t nc = 0;
    for (size_t j = 0; j < nl * nl; j++)
        nc += mat[j] > 0;
    r->conf = malloc((nc ? nc : 1) * sizeof *r->conf);
    if (r->conf) {
        for (size_t j = 0; j < nl * nl; j++)
            if (mat[j] > 0)
                r->conf[r->nconf++] = (pair){(int)(j / nl), (int)(j % nl), mat[j]};
        qsort(r->conf, r->nconf, sizeof *r->conf, pair_cmp);
    }
    free(mat);
    free(present);
    return r->conf ? 0 : -1;
}

static void results_free(results *r)
{
    free(r->tp);
    free(r->fp);
    free(r->fn);
    free(r->conf);
}

static double ratio(size_t a, size_t b) { return b ? (double)a / (double)b : 0; }

static void print_text(const results *r, const names *nm, const eval_args *a, size_t ntrain)
{
    printf("trained on %zu examples in %.2f s\n", ntrain, r->train_s);
    printf("evaluated %zu examples%s", r->n, a->threshold > 0 ? "" : "\n");
    if (a->threshold > 0)
        printf(" (threshold %.3f -> %s)\n", a->threshold, a->oos);
    printf("accuracy            %.4f\n", ratio(r->correct, r->n));
    printf("macro-F1            %.4f\n", r->macro_f1);
    if (r->has_oos) {
        printf("in-scope accuracy   %.4f  (%zu rows)\n", ratio(r->in_ok, r->in_n), r->in_n);
        printf("out-of-scope recall %.4f  (%zu rows)\n", ratio(r->oos_hit, r->oos_n), r->oos_n);
    }
    printf("classifications/s   %.0f\n\n", r->per_s);
    int w = 6;
    for (size_t j = 0; j < nm->n; j++)
        if ((int)strlen(nm->s[j]) > w)
            w = (int)strlen(nm->s[j]);
    printf("%-*s  %9s  %6s  %6s  %7s\n", w, "intent", "precision", "recall", "F1", "support");
    for (size_t j = 0; j < nm->n; j++) {
        long tp = r->tp[j], fp = r->fp[j], fn = r->fn[j];
        if (tp + fp + fn == 0)
            continue;
        printf("%-*s  %9.4f  %6.4f  %6.4f  %7ld\n", w, nm->s[j],
               tp + fp ? (double)tp / (double)(tp + fp) : 0,
               tp + fn ? (double)tp / (double)(tp + fn) : 0, f1(tp, fp, fn), tp + fn);
    }
    printf("\ntop confusions (gold -> predicted)\n");
    for (size_t i = 0; i < r->nconf && i < 10; i++)
        printf("  %5ld  %s -> %s\n", r->conf[i].count, nm->s[r->conf[i].gold],
               nm->s[r->conf[i].pred]);
    if (r->nconf == 0)
        printf("  none\n");
}

/* sweep (may be NULL) is added as "sweep" and owned from then on */
static void print_json(const results *r, const names *nm, const eval_args *a, size_t ntrain,
                       json_object *sweep)
{
    json_object *o = json_object_new_object(), *per = json_object_new_object();
    json_object *cf = json_object_new_array();
    json_object_object_add(o, "train_examples", json_object_new_int64((int64_t)ntrain));
    json_object_object_add(o, "examples", json_object_new_int64((int64_t)r->n));
    json_object_object_add(o, "threshold", json_object_new_double(a->threshold));
    json_object_object_add(o, "accuracy", json_object_new_double(ratio(r->correct, r->n)));
    json_object_object_add(o, "macro_f1", json_object_new_double(r->macro_f1));
    if (r->has_oos) {
        json_object_object_add(o, "in_scope_accuracy",
                               json_object_new_double(ratio(r->in_ok, r->in_n)));
        json_object_object_add(o, "oos_recall",
                               json_object_new_double(ratio(r->oos_hit, r->oos_n)));
    }
    json_object_object_add(o, "train_seconds", json_object_new_double(r->train_s));
    json_object_object_add(o, "classifications_per_second", json_object_new_double(r->per_s));
    for (size_t j = 0; j < nm->n; j++) {
        long tp = r->tp[j], fp = r->fp[j], fn = r->fn[j];
        if (tp + fp + fn == 0)
            continue;
        json_object *e = json_object_new_object();
        json_object_object_add(e, "precision",
                               json_object_new_double(tp + fp ? (double)tp / (double)(tp + fp) : 0));
        json_object_object_add(e, "recall",
                               json_object_new_double(tp + fn ? (double)tp / (double)(tp + fn) : 0));
        json_object_object_add(e, "f1", json_object_new_double(f1(tp, fp, fn)));
        json_object_object_add(e, "support", json_object_new_int64(tp + fn));
        json_object_object_add(per, nm->s[j], e);
    }
    json_object_object_add(o, "per_intent", per);
    for (size_t i = 0; i < r->nconf && i < 10; i++) {
        json_object *e = json_object_new_object();
        json_object_object_add(e, "gold", json_object_new_string(nm->s[r->conf[i].gold]));
        json_object_object_add(e, "predicted", json_object_new_string(nm->s[r->conf[i].pred]));
        json_object_object_add(e, "count", json_object_new_int64(r->conf[i].count));
        json_object_array_add(cf, e);
    }
    json_object_object_add(o, "confusions", cf);
    if (sweep)
        json_object_object_add(o, "sweep", sweep);
    printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
    json_object_put(o);
}

/* The thresholds a sweep tries: 0.01 steps where thresholds are usually
 * chosen, 0.05 above. */
#define SWEEP_STEPS 59 /* up to 0.95 */
static double sweep_threshold(int k) { return k <= 50 ? k * 0.01 : 0.5 + (k - 50) * 0.05; }

/* in-scope accuracy and oos recall at threshold th, from the top-1 label
 * and confidence of each row */
static void sweep_point(const int *gold, const int *top, const double *conf, size_t n, int oos,
                        double th, double *in_acc, double *oos_rec)
{
    size_t in_n = 0, in_ok = 0, o_n = 0, o_hit = 0;
    for (size_t i = 0; i < n; i++) {
        int p = conf[i] < th ? oos : top[i];
        if (gold[i] == oos) {
            o_n++;
            o_hit += p == oos;
        } else {
            in_n++;
            in_ok += p == gold[i];
        }
    }
    *in_acc = ratio(in_ok, in_n);
    *oos_rec = ratio(o_hit, o_n);
}

/* the sweep as text, to pick the one threshold */
static void print_sweep(const int *gold, const int *top, const double *conf, size_t n, int oos)
{
    printf("\nthreshold  in-scope-acc  oos-recall\n");
    for (int k = 0; k <= SWEEP_STEPS; k++) {
        double th = sweep_threshold(k), in_acc, oos_rec;
        sweep_point(gold, top, conf, n, oos, th, &in_acc, &oos_rec);
        printf("%9.2f  %12.4f  %10.4f\n", th, in_acc, oos_rec);
    }
}

/* the sweep as a JSON array of {threshold, in_scope_accuracy, oos_recall} */
static json_object *sweep_json(const int *gold, const int *top, const double *conf, size_t n,
                               int oos)
{
    json_object *arr = json_object_new_array();
    for (int k = 0; k <= SWEEP_STEPS; k++) {
        double th = sweep_threshold(k), in_acc, oos_rec;
        sweep_point(gold, top, conf, n, oos, th, &in_acc, &oos_rec);
        json_object *e = json_object_new_object();
        json_object_object_add(e, "threshold", json_object_new_double(th));
        json_object_object_add(e, "in_scope_accuracy", json_object_new_double(in_acc));
        json_object_object_add(e, "oos_recall", json_object_new_double(oos_rec));
        json_object_array_add(arr, e);
    }
    return arr;
}

/* ----------------------------------------------------------------- main */

static int usage(const char *msg)
{
    if (msg)
        fprintf(stderr, "aisle eval: %s\n", msg);
    fputs(USAGE, stderr);
    return 2;
}

/* the arguments after an option up to the next "--option" */
static int take_files(int argc, char **argv, int *i, const char **out, int *n, int max)
{
    int start = *n;
    while (*i + 1 < argc && strncmp(argv[*i + 1], "--", 2) != 0) {
        if (*n == max)
            return -1;
        out[(*n)++] = argv[++*i];
    }
    return *n > start ? 0 : -1;
}

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run_eval(const dataset *tr, const dataset *te, const eval_args *a)
{
    int rc = 1;
    eng_err err = {0};
    eng_clf *m = NULL;
    names nm = {0};
    results r = {0};
    int *gold = malloc(te->n * sizeof *gold), *pred = malloc(te->n * sizeof *pred);
    int *top = malloc(te->n * sizeof *top);
    double *conf = malloc(te->n * sizeof *conf);
    if (!gold || !pred || !top || !conf)
        goto oom;

    int64_t t0 = eng_now_us();
    int e = eng_clf_train((const char *const *)tr->text, (const char *const *)tr->label, tr->n,
                          NULL, &m, &err);
    if (e < 0) {
        fprintf(stderr, "aisle eval: training failed: %s\n", err.msg);
        goto out;
    }
    r.train_s = (double)(eng_now_us() - t0) / 1e6;

    int oos = names_id(&nm, a->oos);
    if (oos < 0)
        goto oom;
    for (size_t j = 0; j < eng_clf_nlabels(m); j++)
        if (names_id(&nm, eng_clf_label(m, j)) < 0)
            goto oom;
    for (size_t i = 0; i < te->n; i++) {
        eng_clf_pred p;
        if (eng_clf_predict(m, te->text[i], &p, 1) < 1)
            goto oom;
        if ((gold[i] = names_id(&nm, te->label[i])) < 0 || (top[i] = names_id(&nm, p.label)) < 0)
            goto oom;
        conf[i] = p.confidence;
        pred[i] = p.confidence < a->threshold ? oos : top[i];
    }

    /* speed: whole passes over the data in rounds of at least 0.1 s of
     * this thread's CPU time, for about a second; the fastest round is
     * reported. CPU time and the best round leave out what other
     * processes on a shared machine do to the figure. */
    double best = 0, total = 0;
    for (int round = 0; round < 20 && total < 1.0; round++) {
        size_t done = 0;
        double t1 = thread_cpu_s(), el;
        do {
            for (size_t i = 0; i < te->n; i++) {
                eng_clf_pred p;
                eng_clf_predict(m, te->text[i], &p, 1);
            }
            done += te->n;
        } while ((el = thread_cpu_s() - t1) < 0.1);
        total += el;
        if ((double)done / el > best)
            best = (double)done / el;
    }
    r.per_s = best;

    if (score_all(&r, gold, pred, te->n, nm.n, oos) < 0)
        goto oom;
    if (a->json)
        print_json(&r, &nm, a, tr->n,
                   a->sweep ? sweep_json(gold, top, conf, te->n, oos) : NULL);
    else
        print_text(&r, &nm, a, tr->n);
    if (a->sweep && !a->json)
        print_sweep(gold, top, conf, te->n, oos);
    rc = 0;
    goto out;
oom:
    fprintf(stderr, "aisle eval: out of memory\n");
out:
    results_free(&r);
    free(nm.s);
    free(nm.tab);
    eng_clf_free(m);
    free(gold);
    free(pred);
    free(top);
    free(conf);
    return rc;
}

int cli_eval(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "search") == 0)
        return cli_eval_search(argc - 1, argv + 1);
    if (cli_wants_help(argc, argv)) {
        fputs(USAGE, stdout);
        return 0;
    }
    enum { MAXF = 64 };
    const char *train[MAXF], *data[MAXF], *pipeline = NULL;
    int ntrain = 0, ndata = 0;
    eval_args a = {.oos = "oos"};
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        int more = i + 1 < argc;
        if (strcmp(o, "--train") == 0) {
            if (take_files(argc, argv, &i, train, &ntrain, MAXF) < 0)
                return usage("--train needs one or more files (at most 64)");
        } else if (strcmp(o, "--data") == 0) {
            if (take_files(argc, argv, &i, data, &ndata, MAXF) < 0)
                return usage("--data needs one or more files (at most 64)");
        } else if (strcmp(o, "--pipeline") == 0 && more) {
            pipeline = argv[++i];
        } else if (strcmp(o, "--text-col") == 0 && more) {
            a.text_col = argv[++i];
        } else if (strcmp(o, "--label-col") == 0 && more) {
            a.label_col = argv[++i];
        } else if (strcmp(o, "--oos-label") == 0 && more) {
            a.oos = argv[++i];
        } else if (strcmp(o, "--threshold") == 0 && more) {
            char *end;
            errno = 0;
            a.threshold = strtod(argv[++i], &end);
            if (errno || *end || end == argv[i] || a.threshold < 0 || a.threshold > 1)
                return usage("--threshold takes a number in [0, 1]");
        } else if (strcmp(o, "--json") == 0) {
            a.json = 1;
        } else if (strcmp(o, "--sweep") == 0) {
            a.sweep = 1;
        } else {
            fprintf(stderr, "aisle eval: unknown or incomplete option '%s'\n", o);
            return usage(NULL);
        }
    }
    if ((ntrain == 0 && !pipeline) || ndata == 0)
        return usage("need --train FILE... (or --pipeline P) and --data FILE...");

    dataset tr = {0}, te = {0};
    int rc = 1;
    if (pipeline && load_pipeline_examples(pipeline, &tr) != 0)
        goto out;
    for (int i = 0; i < ntrain; i++)
        if (load_file(train[i], &a, &tr) != 0)
            goto out;
    for (int i = 0; i < ndata; i++)
        if (load_file(data[i], &a, &te) != 0)
            goto out;
    if (tr.n == 0 || te.n == 0) {
        fprintf(stderr, "aisle eval: no rows in the %s files\n", tr.n ? "--data" : "--train");
        goto out;
    }
    rc = run_eval(&tr, &te, &a);
out:
    ds_free(&tr);
    ds_free(&te);
    return rc;
}
