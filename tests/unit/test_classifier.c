/* tests/unit/test_classifier.c — the built-in intent classifier: held-out
 * phrasings, calibrated and deterministic output, hostile input, clean
 * failure on every allocation, and accuracy on the real Bitext data.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

#include "engine/eng.h"
#include "engine/nlu/clf_int.h"

static const char *const syn_text[] = {
    "where is my order",          "track my package",          "has my order shipped yet",
    "when will my parcel arrive", "order status please",       "where is my delivery",
    "track order 12345",          "is my package on the way",  "i want a refund",
    "refund my money",            "how do i get my money back", "can i get a refund for this",
    "return this and refund me",  "i need a refund now",       "give me my money back",
    "refund for order 555",       "hello",                     "hi there",
    "good morning",               "hey",                       "hello there friend",
    "hi, how are you",            "good evening",              "hey hello",
};
static const char *const syn_label[] = {
    "track", "track", "track", "track", "track", "track", "track", "track",
    "refund", "refund", "refund", "refund", "refund", "refund", "refund", "refund",
    "greet", "greet", "greet", "greet", "greet", "greet", "greet", "greet",
};
#define SYN_N (sizeof syn_text / sizeof syn_text[0])

static eng_clf *train_syn(void)
{
    eng_clf *m = NULL;
    eng_err err = {0};
    assert_int_equal(eng_clf_train(syn_text, syn_label, SYN_N, NULL, &m, &err), 0);
    assert_non_null(m);
    return m;
}

static const char *top1(const eng_clf *m, const char *text, double *conf)
{
    eng_clf_pred p;
    assert_int_equal(eng_clf_predict(m, text, &p, 1), 1);
    if (conf)
        *conf = p.confidence;
    return p.label;
}

static void test_held_out(void **state)
{
    (void)state;
    eng_clf *m = train_syn();
    assert_int_equal(eng_clf_nlabels(m), 3);
    assert_string_equal(eng_clf_label(m, 0), "track"); /* first-seen order */
    assert_null(eng_clf_label(m, 3));
    assert_string_equal(top1(m, "Where's my PACKAGE?", NULL), "track");
    assert_string_equal(top1(m, "tracking my order 987654321", NULL), "track");
    assert_string_equal(top1(m, "I'd like a refund please", NULL), "refund");
    assert_string_equal(top1(m, "money back now", NULL), "refund");
    assert_string_equal(top1(m, "Hello!!", NULL), "greet");
    assert_string_equal(top1(m, "hey, good morning", NULL), "greet");
    eng_clf_free(m);
}

static void test_confidences(void **state)
{
    (void)state;
    eng_clf *m = train_syn();
    eng_clf_pred p[8];
    int n = eng_clf_predict(m, "refund my order", p, 8);
    assert_int_equal(n, 3); /* k larger than the classes: all of them */
    double sum = 0;
    for (int i = 0; i < n; i++) {
        assert_true(p[i].confidence >= 0 && p[i].confidence <= 1);
        if (i > 0)
            assert_true(p[i - 1].confidence >= p[i].confidence);
        sum += p[i].confidence;
    }
    assert_true(sum > 0.999 && sum < 1.001);
    assert_int_equal(eng_clf_predict(m, "x", p, 0), 0);
    assert_int_equal(eng_clf_predict(NULL, "x", p, 1), ENG_EINVAL);
    eng_clf_free(m);
}

static void test_deterministic(void **state)
{
    (void)state;
    eng_clf *a = train_syn(), *b = train_syn();
    const char *probe[] = {"where is it", "refund", "hi", "something else entirely"};
    for (size_t i = 0; i < 4; i++) {
        eng_clf_pred pa[3], pb[3];
        assert_int_equal(eng_clf_predict(a, probe[i], pa, 3), 3);
        assert_int_equal(eng_clf_predict(b, probe[i], pb, 3), 3);
        for (int j = 0; j < 3; j++) {
            assert_string_equal(pa[j].label, pb[j].label);
            assert_true(pa[j].confidence == pb[j].confidence);
        }
    }
    eng_clf_free(a);
    eng_clf_free(b);
}

static void test_unknown_words(void **state)
{
    (void)state;
    eng_clf *m = train_syn();
    double known, unknown;
    top1(m, "where is my package", &known);
    top1(m, "zxqv plorkt wubbafrog quizzle", &unknown);
    assert_true(unknown < 0.6);
    assert_true(unknown < known);
    eng_clf_free(m);
}

static void test_hostile_input(void **state)
{
    (void)state;
    eng_clf *m = train_syn();
    eng_clf_pred p[3];
    assert_int_equal(eng_clf_predict(m, "", p, 3), 3);
    assert_int_equal(eng_clf_predict(m, NULL, p, 1), 1);
    assert_int_equal(eng_clf_predict(m, "!!! ??? ...", p, 1), 1);
    const char bad[] = "\xff\xfe\x80 r\xc3\xa9" "fund \xe2\x80\x99 \xf0\x9f\x98\x80 \x01\x02";
    assert_int_equal(eng_clf_predict(m, bad, p, 1), 1);
    size_t big = 1 << 20;
    char *longtext = malloc(big + 1);
    assert_non_null(longtext);
    for (size_t i = 0; i < big; i++)
        longtext[i] = "refund my money "[i % 16];
    longtext[big] = '\0';
    assert_string_equal(top1(m, longtext, NULL), "refund");
    memset(longtext, 'a', big); /* one enormous word */
    assert_int_equal(eng_clf_predict(m, longtext, p, 1), 1);
    for (size_t i = 0; i < big; i++)
        longtext[i] = (char)(0x80 | (i * 37 % 128));
    assert_int_equal(eng_clf_predict(m, longtext, p, 1), 1);
    free(longtext);
    eng_clf_free(m);
}

static void test_normalise(void **state)
{
    (void)state;
    char out[128];
    eng__clf_normalise("Don\xe2\x80\x99t CANCEL order #113542617735902!", out, sizeof out);
    assert_string_equal(out, "dont cancel order 0");
    eng__clf_normalise("  \xc3\x89T\xc3\x89  at 5pm ", out, sizeof out);
    assert_string_equal(out, "\xc3\xa9t\xc3\xa9 at 0pm");
    assert_int_equal(eng__clf_normalise("", out, sizeof out), 0);
    /* spelled-out negations read as their contractions; words that only
     * start like one keep their letters */
    eng__clf_normalise("I do not need it, it does NOT fit and I cannot wait", out, sizeof out);
    assert_string_equal(out, "i dont need it it doesnt fit and i cant wait");
    eng__clf_normalise("a donut is nothing", out, sizeof out);
    assert_string_equal(out, "a donut is nothing");
    /* a shopper's verb for taking out of the cart reads as "remove", for
     * putting in as "put"; a verb without what it moves keeps its word */
    eng__clf_normalise("bin the second one, then chuck it in", out, sizeof out);
    assert_string_equal(out, "remove the second one then put it in");
    eng__clf_normalise("a pedal bin", out, sizeof out);
    assert_string_equal(out, "a pedal bin");
    /* a message that ends in the first word of a negation ("how many do
     * i have ... do") reads nothing past its end (ASan) */
    char *tail = strdup("what do");
    assert_non_null(tail);
    eng__clf_normalise(tail, out, sizeof out);
    assert_string_equal(out, "what do");
    free(tail);
    /* an emoji that answers reads as its word, skin tone and all; an
     * emoji cut short at the end of the message reads nothing past it */
    eng__clf_normalise("\xF0\x9F\x91\x8D", out, sizeof out);
    assert_string_equal(out, "yes");
    eng__clf_normalise("ok\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD thanks", out, sizeof out);
    assert_string_equal(out, "ok yes thanks");
    eng__clf_normalise("nope \xF0\x9F\x91\x8E", out, sizeof out);
    assert_string_equal(out, "nope no");
    tail = strdup("hi \xF0\x9F\x91");
    assert_non_null(tail);
    eng__clf_normalise(tail, out, sizeof out);
    assert_string_equal(out, "hi \xF0\x9F\x91");
    free(tail);
    /* chat shorthand beside the word it goes with; "u" in a product
     * ("u bolt") keeps its letter; yes in other spellings */
    eng__clf_normalise("do u ship to ireland, is ur shop open", out, sizeof out);
    assert_string_equal(out, "do you ship to ireland is your shop open");
    eng__clf_normalise("3/8 u bolt", out, sizeof out);
    assert_string_equal(out, "0 0 u bolt");
    eng__clf_normalise("yup, uh huh", out, sizeof out);
    assert_string_equal(out, "yes yes");
}

static void test_invalid_args(void **state)
{
    (void)state;
    eng_clf *m = NULL;
    eng_err err = {0};
    assert_int_equal(eng_clf_train(syn_text, syn_label, 0, NULL, &m, &err), ENG_EINVAL);
    assert_null(m);
    assert_true(err.msg[0] != '\0');
    const char *t[] = {"a", NULL}, *l[] = {"x", "y"};
    assert_int_equal(eng_clf_train(t, l, 2, NULL, &m, NULL), ENG_EINVAL);
    assert_null(m);
    /* a single class and empty texts still train */
    const char *t1[] = {"", ""}, *l1[] = {"only", "only"};
    assert_int_equal(eng_clf_train(t1, l1, 2, NULL, &m, NULL), 0);
    assert_string_equal(top1(m, "anything", NULL), "only");
    eng_clf_free(m);
}

static void test_alloc_failures(void **state)
{
    (void)state;
    eng_clf_opts o;
    eng_clf_opts_default(&o);
    o.epochs = 2;
    o.hash_bits = 14;
    for (long n = 0;; n++) {
        eng_clf *m = NULL;
        eng_err err = {0};
        eng_alloc_fail_after(n);
        int rc = eng_clf_train(syn_text, syn_label, SYN_N, &o, &m, &err);
        eng_alloc_fail_after(-1);
        if (rc == 0) {
            assert_non_null(m);
            assert_true(n > 3);
            eng_clf_free(m);
            break;
        }
        assert_int_equal(rc, ENG_ENOMEM);
        assert_null(m);
        assert_true(n < 1000);
    }
}

/* Many classes, a count that is not a multiple of 8: the scoring kernel
 * splits wide models into passes over the features and softmax pads the
 * last vector, so both edges are exercised. Class k is "word<k>" in a few
 * phrasings; every class must come back from its own word. */
#define WIDE_CLASSES 131
#define WIDE_PER 4

typedef struct wide {
    char text[WIDE_CLASSES * WIDE_PER][64];
    char label[WIDE_CLASSES * WIDE_PER][16];
    const char *tp[WIDE_CLASSES * WIDE_PER], *lp[WIDE_CLASSES * WIDE_PER];
} wide;

static eng_clf *train_wide(wide *w)
{
    static const char *const frame[WIDE_PER] = {"i want %s", "%s please", "about %s now",
                                                "can you do %s"};
    size_t n = 0;
    for (int k = 0; k < WIDE_CLASSES; k++) {
        char word[32];
        /* distinct letters per class so character n-grams differ too */
        snprintf(word, sizeof word, "%c%c%cx%d", 'a' + k % 26, 'a' + (k / 26) % 26,
                 'a' + (k * 7) % 26, k);
        for (int j = 0; j < WIDE_PER; j++, n++) {
            snprintf(w->text[n], sizeof w->text[n], frame[j], word);
            snprintf(w->label[n], sizeof w->label[n], "c%d", k);
            w->tp[n] = w->text[n];
            w->lp[n] = w->label[n];
        }
    }
    eng_clf *m = NULL;
    assert_int_equal(eng_clf_train(w->tp, w->lp, n, NULL, &m, NULL), 0);
    return m;
}

static void test_many_classes(void **state)
{
    (void)state;
    wide *w = malloc(sizeof *w);
    assert_non_null(w);
    eng_clf *m = train_wide(w);
    assert_int_equal(eng_clf_nlabels(m), WIDE_CLASSES);
    eng_clf_pred p[WIDE_CLASSES + 5];
    size_t ok = 0;
    for (int k = 0; k < WIDE_CLASSES; k++) {
        int n = eng_clf_predict(m, w->text[k * WIDE_PER], p, WIDE_CLASSES + 5);
        assert_int_equal(n, WIDE_CLASSES);
        double sum = 0;
        for (int i = 0; i < n; i++)
            sum += p[i].confidence;
        assert_true(sum > 0.999 && sum < 1.001);
        ok += strcmp(p[0].label, w->label[k * WIDE_PER]) == 0;
    }
    assert_int_equal(ok, WIDE_CLASSES);
    eng_clf_free(m);
    free(w);
}

/* one shared model, several threads: every answer matches the
 * single-threaded one (prediction only reads the model) */
typedef struct job {
    const eng_clf *m;
    const wide *w;
    const eng_clf_pred *want;
    int bad;
} job;

static void *predict_all(void *arg)
{
    job *j = arg;
    for (int r = 0; r < 20; r++)
        for (int i = 0; i < WIDE_CLASSES * WIDE_PER; i++) {
            eng_clf_pred p;
            if (eng_clf_predict(j->m, j->w->text[i], &p, 1) != 1 || p.label != j->want[i].label ||
                p.confidence != j->want[i].confidence)
                j->bad++;
        }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    wide *w = malloc(sizeof *w);
    eng_clf_pred *want = malloc(WIDE_CLASSES * WIDE_PER * sizeof *want);
    assert_non_null(w);
    assert_non_null(want);
    eng_clf *m = train_wide(w);
    for (int i = 0; i < WIDE_CLASSES * WIDE_PER; i++)
        assert_int_equal(eng_clf_predict(m, w->text[i], &want[i], 1), 1);
    pthread_t th[4];
    job jobs[4];
    for (int t = 0; t < 4; t++) {
        jobs[t] = (job){.m = m, .w = w, .want = want};
        assert_int_equal(pthread_create(&th[t], NULL, predict_all, &jobs[t]), 0);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(th[t], NULL);
        assert_int_equal(jobs[t].bad, 0);
    }
    eng_clf_free(m);
    free(want);
    free(w);
}

/* ------------------------------------------------------- real data */

typedef struct rows {
    char **text, **label;
    size_t n;
} rows;

/* the Bitext files: header row, utterance first, intent second; fields
 * may be quoted with doubled quotes inside */
static int read_bitext(const char *path, rows *r)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 0;
    char field[2][4096];
    int c = 0, line = 0;
    while (c != EOF) {
        size_t len[2] = {0, 0};
        int col = 0, q = 0;
        while ((c = fgetc(f)) != EOF) {
            if (q) {
                if (c == '"') {
                    int d = fgetc(f);
                    if (d != '"') {
                        q = 0;
                        if (d == EOF)
                            break;
                        ungetc(d, f);
                        continue;
                    }
                }
            } else if (c == '"') {
                q = 1;
                continue;
            } else if (c == ',') {
                col++;
                continue;
            } else if (c == '\n') {
                break;
            } else if (c == '\r') {
                continue;
            }
            if (col < 2 && len[col] < sizeof field[0] - 1)
                field[col][len[col]++] = (char)c;
        }
        if (col < 1 || line++ == 0)
            continue;
        if (r->n == cap) {
            cap = cap ? cap * 2 : 1024;
            r->text = realloc(r->text, cap * sizeof *r->text);
            r->label = realloc(r->label, cap * sizeof *r->label);
            assert_non_null(r->text);
            assert_non_null(r->label);
        }
        r->text[r->n] = strndup(field[0], len[0]);
        r->label[r->n++] = strndup(field[1], len[1]);
    }
    fclose(f);
    return 0;
}

static void rows_free(rows *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->text[i]);
        free(r->label[i]);
    }
    free(r->text);
    free(r->label);
}

static void test_bitext(void **state)
{
    (void)state;
    const char *dirs[] = {"../shared/data", "../../shared/data"};
    const char *sub = "bitext-customer-support-intent";
    char tr[512] = "", dv[512] = "";
    for (size_t i = 0; i < 2 && !tr[0]; i++) {
        snprintf(tr, sizeof tr, "%s/%s/train/Bitext_Sample_Customer_Service_Training_Dataset.csv",
                 dirs[i], sub);
        snprintf(dv, sizeof dv, "%s/%s/dev/Bitext_Sample_Customer_Service_Validation_Dataset.csv",
                 dirs[i], sub);
        if (access(tr, R_OK) != 0 || access(dv, R_OK) != 0)
            tr[0] = '\0';
    }
    if (!tr[0]) {
        print_message("[  SKIP    ] Bitext data not found under ../shared/data\n");
        skip();
    }
    rows a = {0}, b = {0};
    assert_int_equal(read_bitext(tr, &a), 0);
    assert_int_equal(read_bitext(dv, &b), 0);
    assert_true(a.n > 5000 && b.n > 500);
    eng_clf *m = NULL;
    eng_err err = {0};
    assert_int_equal(eng_clf_train((const char *const *)a.text, (const char *const *)a.label,
                                   a.n, NULL, &m, &err), 0);
    size_t ok = 0;
    for (size_t i = 0; i < b.n; i++)
        ok += strcmp(top1(m, b.text[i], NULL), b.label[i]) == 0;
    double acc = (double)ok / (double)b.n;
    print_message("Bitext dev accuracy %.4f (%zu/%zu)\n", acc, ok, b.n);
    assert_true(acc >= 0.99);
    eng_clf_free(m);
    rows_free(&a);
    rows_free(&b);
}

/* The shipped commerce pipeline trains on real shopper queries
 * (pipelines/data/shopper-queries.csv) beside Bitext's support
 * utterances: bare product phrases of catalogs it never saw must be
 * searches, and support, cart and order messages must stay out of
 * search, all from a model trained in well under a second. */
static void test_commerce_training(void **state)
{
    (void)state;
    eng_diags dg;
    eng_diags_init(&dg);
    eng_pipeline *p = NULL;
    int rc = eng_pipeline_load("pipelines/commerce.yaml", &p, &dg);
    if (rc < 0)
        eng_diags_print(&dg, stderr);
    eng_diags_free(&dg);
    assert_int_equal(rc, 0);
    const char **texts, **labels;
    size_t n;
    assert_int_equal(eng_pipeline_examples(p, &texts, &labels, &n), 0);
    assert_true(n > 2100); /* Bitext's 1,680, our own and 60 shopper queries */
    eng_clf *m = NULL;
    eng_err err = {0};
    int64_t t0 = eng_now_us();
    assert_int_equal(eng_clf_train(texts, labels, n, NULL, &m, &err), 0);
    double secs = (double)(eng_now_us() - t0) / 1e6;
    print_message("commerce.yaml: %zu examples trained in %.3f s\n", n, secs);
    assert_true(secs < 5.0); /* about 0.06 s; room for sanitizers and a loaded machine */
    static const char *const search[] = {
        "cordless drill 18v", "womens running shoes size 8", "oak bookshelf", "stainless steel water bottle",
        "queen size memory foam mattress", "bluetooth speaker", "kids rain boots", "garden hose 50 ft",
        "non stick frying pan", "vitamin c serum", "4k tv 55 inch", "patio umbrella", NULL,
    };
    int bad = 0;
    for (size_t i = 0; search[i]; i++) {
        double conf;
        const char *l = top1(m, search[i], &conf);
        if (strcmp(l, "search_product") != 0 || conf < 0.25) {
            print_error("\"%s\": %s (%.2f), want search_product >= 0.25\n", search[i], l, conf);
            bad++;
        }
    }
    static const char *const kept[][2] = {
        {"where is my order", "track_order"},       {"has my order shipped yet", "track_order"},
        {"cancel my last order", "cancel_order"},   {"i want a refund for the broken mixer", NULL},
        {"what's in my cart", "view_cart"},         {"remove the lamp from my cart", "remove_from_cart"},
        {"add the drill to my basket", "add_to_cart"}, {"i want to pay now", "checkout"},
        {"my card got declined", "payment_issue"},  {"do you take paypal", "check_payment_methods"},
        {"i want to talk to a real person", NULL},   {"how do i reset my password", NULL},
        {"empty the cart please", "empty_cart"},    {"thanks thats all", NULL},
        {NULL, NULL},
    };
    for (size_t i = 0; kept[i][0]; i++) {
        double conf;
        const char *l = top1(m, kept[i][0], &conf);
        if (strcmp(l, "search_product") == 0 || strcmp(l, "refine_search") == 0 ||
            (kept[i][1] && strcmp(l, kept[i][1]) != 0)) {
            print_error("\"%s\": %s (%.2f), want %s\n", kept[i][0], l, conf,
                        kept[i][1] ? kept[i][1] : "not a search");
            bad++;
        }
    }
    assert_int_equal(bad, 0);
    free(texts);
    free(labels);
    eng_clf_free(m);
    eng_pipeline_release(p);
}

/* A message that repeats a training example word for word gets that
 * example's label, even where the model alone places it elsewhere: in
 * the shipped pipeline "hiya", a greeting example, read as a search among
 * hundreds of short shopper queries. Texts whose examples disagree keep
 * the model's reading. */
static void test_example_memory(void **state)
{
    (void)state;
    static const char *t[] = {"wool socks", "blue wool socks", "warm wool socks", "socks for hiking", "hiya",
                              "hey there", "hello", "thick wool socks", "wool hiking socks", "socks please",
                              "the cat", "the cat"};
    static const char *l[] = {"search", "search", "search", "search", "greet", "greet", "greet",
                              "search", "search", "search", "a", "b"};
    eng_clf *m = NULL;
    eng_err err = {0};
    assert_int_equal(eng_clf_train(t, l, 12, NULL, &m, &err), 0);
    eng_clf_pred top[3];
    /* the same words however typed: case, punctuation, a phone's apostrophe */
    const char *same[] = {"hiya", "Hiya!", "  HIYA  ", "hiya."};
    for (size_t i = 0; i < 4; i++) {
        assert_true(eng_clf_predict(m, same[i], top, 3) >= 1);
        assert_string_equal(top[0].label, "greet");
        assert_true(top[0].confidence >= 0.89);
        eng_clf_pred all[8];
        int k = eng_clf_predict(m, same[i], all, 8);
        double sum = 0;
        for (int q = 0; q < k; q++)
            sum += all[q].confidence;
        assert_true(sum > 0.99 && sum < 1.01); /* still a distribution */
    }
    /* not an example: the model alone */
    assert_true(eng_clf_predict(m, "hiya there friend", top, 3) >= 1);
    assert_true(top[0].confidence < 0.9 || strcmp(top[0].label, "greet") == 0);
    /* examples that disagree: no label is forced */
    assert_int_equal(eng__clf_recall(m, "the cat"), -1);
    assert_true(eng__clf_recall(m, "wool socks") >= 0);
    assert_string_equal(eng_clf_label(m, (size_t)eng__clf_recall(m, "WOOL socks!")), "search");
    assert_int_equal(eng__clf_recall(m, ""), -1);
    eng_clf_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_held_out),      cmocka_unit_test(test_confidences),
        cmocka_unit_test(test_deterministic), cmocka_unit_test(test_unknown_words),
        cmocka_unit_test(test_hostile_input), cmocka_unit_test(test_normalise),
        cmocka_unit_test(test_invalid_args),  cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_many_classes),  cmocka_unit_test(test_threads),
        cmocka_unit_test(test_bitext),
        cmocka_unit_test(test_commerce_training),
        cmocka_unit_test(test_example_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
