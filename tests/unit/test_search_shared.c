/* tests/unit/test_search_shared.c — the search understanding and the
 * second stage that every backend shares (stores/search_query.c,
 * stores/search_rerank.c), driven without any backend: the test builds
 * the lexicon from its own rows, answers the index's two questions
 * itself, and re-ranks first-stage results it makes up.  What a backend
 * does with the phrases is tested per backend (test_search.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "stores/search_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const rows[][2] = {
    {"Flexzilla Garden Hose 50 ft.", "Watering"},
    {"Flexzilla Garden Hose 75 ft.", "Watering"},
    {"Suncast Hose Reel Cart", "Watering"},
    {"Orbit Lawn Sprinkler", "Watering"},
    {"Rain Bird Sprinkler Head", "Watering"},
    {"Brass Hose Nozzle", "Watering"},
    {"Galvanized Gutter Downspout", "Roofing"},
    {"Vinyl Gutter Guard", "Roofing"},
    {"Gutter Guard Screen", "Roofing"},
    {"Snowblower Cover", "Outdoor Power"},
    {"Snowblower Cover Deluxe", "Outdoor Power"},
    {"Gutter Rail Bracket", "Roofing"},
    {"Deck Rail Bracket", "Decking"},
};

static void lexicon_of(store__lexicon *l, const char *const (*r)[2], size_t n)
{
    store__vocab_builder vb = {0};
    store__lex_init(l);
    /* the vocabulary is read from what an index holds: normalized text */
    for (size_t i = 0; i < n; i++) {
        store__buf t = {0}, c = {0};
        assert_int_equal(store__normalize(r[i][0], 1, &t), 0);
        assert_int_equal(store__normalize(r[i][1], 1, &c), 0);
        store__vocab_add(&vb, t.p, NULL, c.p, NULL);
        store__buf_free(&t);
        store__buf_free(&c);
    }
    store__lex_set_vocab(l, &vb, 1);
}

static void lexicon(store__lexicon *l)
{
    lexicon_of(l, rows, sizeof rows / sizeof rows[0]);
}

/* The phrase of group g with text t, or NULL. */
static const store__phrase *phrase(const store__analysis *a, int g, const char *t)
{
    for (int i = 0; i < a->n; i++)
        if (a->p[i].group == g && !strcmp(a->p[i].text, t))
            return &a->p[i];
    return NULL;
}

static void test_spelling_steps(void **state)
{
    store__lexicon l;
    store__query *q = calloc(1, sizeof *q);
    (void)state;
    lexicon(&l);
    assert_int_equal(l.gen, 1);
    /* "gardn" is not in the vocabulary; "hoses" is not either, but the
     * backend's stemmer knows it, so it is no misspelling */
    assert_int_equal(store__query_parse(&l, "gardn hoses", 0, q), 0);
    assert_int_equal(q->k, 2);
    assert_true(q->spell[0].check);
    assert_true(q->spell[1].check);
    q->spell[1].check = 0;
    assert_int_equal(store__query_suggest(&l, q), 0);
    assert_int_equal(q->spell[0].n_cand, 1);
    assert_string_equal(q->spell[0].cand[0], "garden");
    assert_int_equal(store__query_finish(&l, q), 0);
    assert_non_null(phrase(&q->a, 0, "garden"));
    assert_true(phrase(&q->a, 0, "garden")->flags & STORE__PH_ALT);
    assert_null(phrase(&q->a, 1, "hose"));
    /* the last word is what is bought */
    assert_true(phrase(&q->a, 1, "hoses")->flags & STORE__PH_HEAD);
    assert_int_equal(q->a.changed, 1);
    assert_string_equal(q->a.understood, "garden hoses");
    store__query_free(q);
    store__lex_free(&l);
    free(q);
}

/* "x" between sizes is "by"; after a name it is the model ("iphone x") */
static void test_model_x(void **state)
{
    static const char *const cases[][2] = {
        {"iphone x", "iphone x"}, {"realme x pro", "realme x pro"}, {"2 x 4 lumber", "2 2x4 4 lumber"},
        {"2x4", "2 2x4 4"}, {"lipstick x 2", "lipstick 2"}, {"x", ""},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        store__buf b = {0};
        assert_int_equal(store__normalize(cases[i][0], 0, &b), 0);
        assert_string_equal(b.p, cases[i][1]);
        store__buf_free(&b);
    }
}

static void test_context_picks(void **state)
{
    store__lexicon l;
    store__query *q = calloc(1, sizeof *q);
    (void)state;
    lexicon(&l);
    /* "reil" is one edit from "rail" (two products) and "reel" (one) */
    assert_int_equal(store__query_parse(&l, "reil", 0, q), 0);
    assert_int_equal(store__query_suggest(&l, q), 0);
    assert_int_equal(q->spell[0].n_cand, 2);
    assert_int_equal(q->spell[0].nctx, 0);
    assert_int_equal(store__query_finish(&l, q), 0);
    assert_string_equal(q->a.understood, "rail");   /* more products */
    store__query_free(q);
    /* beside "hose", the backend counts which candidate it sells with
     * it: that answer outweighs the document frequency */
    assert_int_equal(store__query_parse(&l, "hose reil cart", 0, q), 0);
    assert_int_equal(store__query_suggest(&l, q), 0);
    assert_int_equal(q->spell[1].n_cand, 2);
    assert_int_equal(q->spell[1].nctx, 2);          /* hose, cart */
    for (size_t j = 0; j < q->spell[1].n_cand; j++)
        q->spell[1].co[j] = !strcmp(q->spell[1].cand[j], "reel") ? 1 : 0;
    assert_int_equal(store__query_finish(&l, q), 0);
    assert_string_equal(q->a.understood, "hose reel cart");
    store__query_free(q);
    store__lex_free(&l);
    free(q);
}

static void test_split_join_synonyms(void **state)
{
    store__lexicon l;
    store__query *q = calloc(1, sizeof *q);
    char path[] = "/tmp/aisle-syn-XXXXXX";
    int fd = mkstemp(path);
    FILE *f;
    (void)state;
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    fputs("# test\nnozzle, spray gun\n", f);
    fclose(f);
    lexicon(&l);
    assert_int_equal(store__lex_load_synonyms(&l, path, NULL), 0);
    unlink(path);
    /* two words the catalog writes as one */
    assert_int_equal(store__query_parse(&l, "snow blower cover", 0, q), 0);
    assert_int_equal(store__query_suggest(&l, q), 0);
    assert_int_equal(store__query_finish(&l, q), 0);
    assert_non_null(phrase(&q->a, 0, "snowblower"));
    assert_true(phrase(&q->a, 0, "snowblower")->flags & STORE__PH_JOIN);
    store__query_free(q);
    /* one word the catalog writes as two */
    assert_int_equal(store__query_parse(&l, "gutterguard", 0, q), 0);
    assert_int_equal(store__query_suggest(&l, q), 0);
    assert_int_equal(store__query_finish(&l, q), 0);
    assert_non_null(phrase(&q->a, 0, "gutter guard"));
    store__query_free(q);
    /* a synonym group adds its other members to the word's group */
    assert_int_equal(store__query_parse(&l, "brass nozzle", 0, q), 0);
    assert_int_equal(store__query_suggest(&l, q), 0);
    assert_int_equal(store__query_finish(&l, q), 0);
    assert_non_null(phrase(&q->a, 1, "spray gun"));
    assert_int_equal(q->a.changed, 0);
    store__query_free(q);
    /* a unit keeps its bare number as an alternative */
    assert_int_equal(store__query_parse(&l, "hose 50 ft", 0, q), 0);
    assert_int_equal(store__query_finish(&l, q), 0);
    assert_non_null(phrase(&q->a, 1, "50ft"));
    assert_non_null(phrase(&q->a, 1, "50"));
    store__query_free(q);
    store__lex_free(&l);
    free(q);
}

/* Re-rank first-stage hits (titles t with scores s, best first, sku
 * "H<i>") for query text and keep [offset, offset+limit); returns the
 * first kept sku in out and the number kept. */
static size_t rerank(store__lexicon *l, const char *text, const char *const *t,
                     const double *s, size_t n, size_t offset, size_t limit,
                     char *out, size_t cap)
{
    store__query *q = calloc(1, sizeof *q);
    store_search_result r;
    size_t kept;
    assert_non_null(q);
    assert_int_equal(store__query_parse(l, text, 0, q), 0);
    assert_int_equal(store__query_suggest(l, q), 0);
    assert_int_equal(store__query_finish(l, q), 0);
    memset(&r, 0, sizeof r);
    r.hits = calloc(n, sizeof *r.hits);
    for (size_t i = 0; i < n; i++) {
        char sku[24];   /* "H" and any size_t */
        snprintf(sku, sizeof sku, "H%zu", i);
        r.hits[i].product.sku = strdup(sku);
        r.hits[i].product.title = strdup(t[i]);
        r.hits[i].score = s[i];
    }
    r.n_hits = n;
    r.total = (int64_t)n;
    assert_int_equal(store__rerank(l, &q->a, &r, offset, limit), 0);
    snprintf(out, cap, "%s", r.n_hits ? r.hits[0].product.sku : "");
    kept = r.n_hits;
    store_search_result_free(&r);
    store__query_free(q);
    free(q);
    return kept;
}

static void test_rerank(void **state)
{
    store__lexicon l;
    char sku[16];
    (void)state;
    lexicon(&l);
    /* covering every query word beats a higher first-stage score */
    {
        static const char *const t[] = {"Hose Hose Hose Hanger", "Brass Hose Nozzle"};
        static const double s[] = {10, 6};
        rerank(&l, "brass hose nozzle", t, s, 2, 0, 10, sku, sizeof sku);
        assert_string_equal(sku, "H1");
    }
    /* a title that states another length than the one asked loses to
     * one that states none... */
    {
        static const char *const t[] = {"Garden Hose 100 ft.", "Garden Hose with Nozzle"};
        static const double s[] = {10, 9.9};
        rerank(&l, "hose 25 ft", t, s, 2, 0, 10, sku, sizeof sku);
        assert_string_equal(sku, "H1");
    }
    /* ...but the length asked for still wins */
    {
        static const char *const t[] = {"Garden Hose with Nozzle", "Garden Hose 25 ft."};
        static const double s[] = {10, 9.9};
        rerank(&l, "hose 25 ft", t, s, 2, 0, 10, sku, sizeof sku);
        assert_string_equal(sku, "H1");
    }
    /* the page is cut after sorting; the rest is freed */
    {
        static const char *const t[] = {"Vinyl Gutter Guard", "Gutter Guard Screen",
                                        "Galvanized Gutter Downspout"};
        static const double s[] = {5, 5, 9};
        assert_int_equal(rerank(&l, "gutter guard", t, s, 3, 1, 1, sku, sizeof sku), 1);
        assert_string_equal(sku, "H1");
    }
    store__lex_free(&l);
}

/* A second shop, for the rules that need words to be much more common
 * in one spelling than another. */
static const char *const yard[][2] = {
    {"Leafblower Oil 16 oz.", "Outdoor Power"},
    {"Cordless Leaf Blower 40-Volt", "Outdoor Power"},
    {"Gas Leaf Blower 25cc", "Outdoor Power"},
    {"Backpack Leaf Blower", "Outdoor Power"},
    {"Leaf Blower Vacuum Kit", "Outdoor Power"},
    {"Electric Leaf Blower 12 Amp", "Outdoor Power"},
    {"Handheld Leaf Blower", "Outdoor Power"},
    {"Leaf Rake", "Garden Tools"},
    {"Snow Blower 24 in.", "Outdoor Power"},
    {"Steel Carport 12 ft. x 20 ft.", "Sheds"},
    {"Carport Anchor Kit", "Sheds"},
    {"Blade for Riding Mower", "Outdoor Power"},
    {"Riding Mower 42 in.", "Outdoor Power"},
    {"Hedge Trimmer Blade", "Outdoor Power"},
};

/* All three steps of the analysis, the index's answers left out. */
static void analyse(store__lexicon *l, const char *text, store__query *q)
{
    assert_int_equal(store__query_parse(l, text, 0, q), 0);
    assert_int_equal(store__query_suggest(l, q), 0);
    assert_int_equal(store__query_finish(l, q), 0);
}

static void test_split_known_join_plural(void **state)
{
    store__lexicon l;
    store__query *q = calloc(1, sizeof *q);
    (void)state;
    lexicon_of(&l, yard, sizeof yard / sizeof yard[0]);
    /* "leafblower" is a catalog word (one product), but the catalog
     * writes "leaf blower" far more often: both are looked for */
    analyse(&l, "leafblower", q);
    assert_non_null(phrase(&q->a, 0, "leafblower"));
    assert_non_null(phrase(&q->a, 0, "leaf blower"));
    assert_true(phrase(&q->a, 0, "leaf blower")->flags & STORE__PH_ALT);
    assert_int_equal(q->a.changed, 0);              /* not a correction */
    assert_string_equal(q->a.understood, "leafblower");
    store__query_free(q);
    /* a word whose halves the catalog never writes on their own stays
     * whole */
    analyse(&l, "carport", q);
    assert_int_equal(q->a.n, 1);
    store__query_free(q);
    /* two words typed apart, the second a plural, that the catalog
     * writes as one word in the singular */
    analyse(&l, "car ports", q);
    assert_non_null(phrase(&q->a, 0, "carport"));
    assert_true(phrase(&q->a, 0, "carport")->flags & STORE__PH_JOIN);
    store__query_free(q);
    store__lex_free(&l);
    free(q);
}

static void test_rerank_tail(void **state)
{
    /* query, two first-stage hits (best first), the one a shopper
     * should see first */
    static const struct {
        const char *q, *t[2];
        double s[2];
        const char *want;
    } cases[] = {
        /* a title that names the query only in what it goes with ("for
         * a riding mower") loses to the thing itself... */
        {"riding mower", {"Blade for Riding Mower", "Riding Mower 42 in."}, {10, 8.5}, "H1"},
        /* ...but such an accessory still beats a title missing a word */
        {"mower blade", {"Hedge Trimmer Blade", "Blade for Riding Mower"}, {10, 9}, "H1"},
        /* "compatible with" and "fits" are such tails too */
        {"leaf blower", {"Leaf Bag Compatible with Leaf Blower", "Handheld Leaf Blower"},
         {10, 8.5}, "H1"},
        /* the one-word spelling and the two-word one: the thing itself
         * above an accessory that names it */
        {"leafblower", {"Leafblower Oil 16 oz.", "Backpack Leaf Blower"}, {10, 9.5}, "H1"},
    };
    store__lexicon l;
    char sku[16];
    (void)state;
    lexicon_of(&l, yard, sizeof yard / sizeof yard[0]);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rerank(&l, cases[i].q, cases[i].t, cases[i].s, 2, 0, 10, sku, sizeof sku);
        assert_string_equal(sku, cases[i].want);
    }
    store__lex_free(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spelling_steps),
        cmocka_unit_test(test_model_x),
        cmocka_unit_test(test_context_picks),
        cmocka_unit_test(test_split_join_synonyms),
        cmocka_unit_test(test_rerank),
        cmocka_unit_test(test_split_known_join_plural),
        cmocka_unit_test(test_rerank_tail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
