/* tests/unit/test_search.c — catalog search quality on a small built-in
 * catalog: the second stage (title coverage, head word, joins of two query
 * words), pagination across the re-ranked pool, units, spelling (with
 * the query's other words as context) and shopper text that looks like
 * FTS5 or SQL syntax. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "stores/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct { const char *sku, *title; } items[] = {
    {"S1", "Husky Screwdriver Set (10-Piece)"},
    {"S2", "Everbilt Wood Screw Screw Screw Assortment"},
    {"S3", "DEWALT Nut Driver Set (4-Pieces)"},
    {"S4", "Klein Tools Screwdriver and Nut Driver Kit"},
    {"D1", "Milwaukee Drill Bit Set for Cordless Drills"},
    {"D2", "Ryobi 18-Volt Cordless Drill"},
    {"P1", "Charlotte Pipe 1/2 in. x 10 ft. PVC Pipe"},
    {"P2", "Charlotte Pipe 3/4 in. x 10 ft. PVC Pipe"},
    {"W1", "2 in. x 4 in. x 8 ft. Stud Lumber"},
    {"F1", "Moen Kitchen Faucet in Chrome"},
    {"F2", "Faucet Aerator for Kitchen"},
    {"F3", "Kitchen Sink Strainer"},
    /* listed before their twins so that a tie would pick them */
    {"V2", "Brass Ball Valve 3/4"},
    {"V1", "Brass Ball Valve 1/2"},
    {"X1", "Post 6 in. x 8 in. x 6 in."},
    {"X2", "Pressure-Treated Pine 6 in. x 6 in. x 8 ft. Ground Contact Post"},
    {"K1", "Black and Decker Hedge Trimmer"},
    {"K2", "Black and Decker Leaf Blower"},
    {"K3", "All-Weather Wicker Patio Chair Cushion"},
};

typedef struct fixture {
    char dir[64];
    store *s;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    store_config cfg;
    store_err err = {0};
    char db[128];
    snprintf(f->dir, sizeof f->dir, "/tmp/aisle-search-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(db, sizeof db, "%s/t.db", f->dir);
    store_config_init(&cfg);
    cfg.sqlite_path = db;
    cfg.documents = cfg.ephemeral = STORE_BACKEND_SQLITE;
    if (store_open(&cfg, &f->s, &err) != 0)
        return -1;
    for (size_t i = 0; i < sizeof items / sizeof items[0]; i++) {
        store_product p;
        memset(&p, 0, sizeof p);
        p.sku = (char *)items[i].sku;
        p.title = (char *)items[i].title;
        p.price = 10;
        p.stock = 5;
        if (store_product_upsert(f->s, &p, &err) != 0)
            return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char path[128];
    store_close(f->s);
    snprintf(path, sizeof path, "%s/t.db", f->dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/t.db-wal", f->dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/t.db-shm", f->dir);
    unlink(path);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* The first hit's sku for `text` (empty string when nothing matched). */
static void top(store *s, const char *text, char *out, size_t cap)
{
    store_search_query q;
    store_search_result r;
    store_err err = {0};
    store_search_query_init(&q);
    q.text = text;
    q.limit = 5;
    assert_int_equal(store_search(s, &q, &r, &err), 0);
    snprintf(out, cap, "%s", r.n_hits ? r.hits[0].product.sku : "");
    store_search_result_free(&r);
}

static void test_second_stage(void **state)
{
    fixture *f = *state;
    char sku[32];
    /* "screw driver" is one word in the catalog (in two titles, so it is
     * a word and not a typo): the join covers both query words */
    top(f->s, "screw driver set", sku, sizeof sku);
    assert_string_equal(sku, "S1");
    /* the title whose head is a drill, not one that mentions drills */
    top(f->s, "cordless drill", sku, sizeof sku);
    assert_string_equal(sku, "D2");
    top(f->s, "kitchen faucet", sku, sizeof sku);
    assert_string_equal(sku, "F1");
    /* misspelt: corrected from the catalog's own words */
    top(f->s, "kitchn faucett", sku, sizeof sku);
    assert_string_equal(sku, "F1");
}

static void test_units(void **state)
{
    fixture *f = *state;
    char sku[32];
    top(f->s, "3/4\" pvc pipe", sku, sizeof sku);
    assert_string_equal(sku, "P2");
    top(f->s, "1/2 inch pvc pipe", sku, sizeof sku);
    assert_string_equal(sku, "P1");
    top(f->s, "2x4 stud", sku, sizeof sku);
    assert_string_equal(sku, "W1");
    /* a unit in the query still finds the number written without one */
    top(f->s, "1/2 in. brass ball valve", sku, sizeof sku);
    assert_string_equal(sku, "V1");
    /* "x6" typed against its number is still the dimension 6x6 */
    top(f->s, "6 x6 post", sku, sizeof sku);
    assert_string_equal(sku, "X2");
}

static void test_spelling_context(void **state)
{
    fixture *f = *state;
    store_search_query q;
    store_search_result r;
    store_err err = {0};
    /* "wecker" is one edit from both "decker" (more frequent) and
     * "wicker": the query's other words pick the one sold beside them */
    store_search_query_init(&q);
    q.text = "wecker chair cushion";
    q.limit = 5;
    assert_int_equal(store_search(f->s, &q, &r, &err), 0);
    assert_non_null(r.corrected);
    assert_string_equal(r.corrected, "wicker chair cushion");
    assert_true(r.n_hits > 0);
    assert_string_equal(r.hits[0].product.sku, "K3");
    store_search_result_free(&r);
    /* without context, the most frequent close word */
    q.text = "wecker";
    assert_int_equal(store_search(f->s, &q, &r, &err), 0);
    assert_non_null(r.corrected);
    assert_string_equal(r.corrected, "decker");
    store_search_result_free(&r);
}

static void test_pages_agree(void **state)
{
    fixture *f = *state;
    store_search_query q;
    store_search_result all, page;
    store_err err = {0};
    store_search_query_init(&q);
    q.text = "kitchen faucet drill set";
    q.limit = 6;
    assert_int_equal(store_search(f->s, &q, &all, &err), 0);
    assert_true(all.n_hits >= 4);
    for (int off = 0; off + 2 <= (int)all.n_hits; off += 2) {
        q.offset = off;
        q.limit = 2;
        assert_int_equal(store_search(f->s, &q, &page, &err), 0);
        assert_int_equal(page.n_hits, 2);
        assert_string_equal(page.hits[0].product.sku, all.hits[off].product.sku);
        assert_string_equal(page.hits[1].product.sku, all.hits[off + 1].product.sku);
        assert_true(page.total >= (int64_t)all.n_hits);
        store_search_result_free(&page);
    }
    store_search_result_free(&all);
}

/* STORE_SEARCH_ALL_WORDS: "black decker" and then "trimmer" finds the
 * trimmer only; a word no product holds finds nothing; a misspelt word
 * still counts by its correction; without the flag the words OR */
static void test_all_words(void **state)
{
    fixture *f = *state;
    store_search_query q;
    store_search_result r;
    store_err err = {0};
    store_search_query_init(&q);
    q.text = "black decker trimmer";
    assert_int_equal(store_search(f->s, &q, &r, &err), 0);
    assert_true(r.total >= 2);   /* OR: the blower shares two words */
    store_search_result_free(&r);
    q.flags = STORE_SEARCH_ALL_WORDS;
    assert_int_equal(store_search(f->s, &q, &r, &err), 0);
    assert_int_equal(r.total, 1);
    assert_string_equal(r.hits[0].product.sku, "K1");
    store_search_result_free(&r);
    q.text = "kitchen faucet chrome";
    assert_int_equal(store_search(f->s, &q, &r, &err), 0);
    assert_int_equal(r.total, 1);
    assert_string_equal(r.hits[0].product.sku, "F1");
    store_search_result_free(&r);
    q.text = "kitchen zebra";
    assert_int_equal(store_search(f->s, &q, &r, &err), 0);
    assert_int_equal(r.total, 0);
    store_search_result_free(&r);
    q.text = "kitchen faucett";
    assert_int_equal(store_search(f->s, &q, &r, &err), 0);
    assert_true(r.total >= 1 && r.total <= 2);   /* F1 and F2, by the correction */
    store_search_result_free(&r);
}

/* STORE_SEARCH_CATEGORY_FACET: the categories alone, as the full facets
 * give them; no brand or price buckets */
static void test_category_facet(void **state)
{
    fixture *f = *state;
    store_search_query q;
    store_search_result all, cats;
    store_err err = {0};
    static const struct { const char *sku, *title, *cat, *brand; } knives[] = {
        {"C1", "Chef Knife", "kitchen-tools", "Wusthof"},
        {"C2", "Paring Knife", "kitchen-tools", "Victorinox"},
        {"C3", "Knife Sharpener", "garage", "Work Sharp"},
    };
    for (size_t i = 0; i < 3; i++) {
        store_product p;
        memset(&p, 0, sizeof p);
        p.sku = (char *)knives[i].sku;
        p.title = (char *)knives[i].title;
        p.category = (char *)knives[i].cat;
        p.brand = (char *)knives[i].brand;
        p.price = 10 + 30 * (double)i;
        p.stock = 5;
        assert_int_equal(store_product_upsert(f->s, &p, &err), 0);
    }
    store_search_query_init(&q);
    q.text = "knife";
    q.flags = STORE_SEARCH_FACETS;
    assert_int_equal(store_search(f->s, &q, &all, &err), 0);
    q.flags = STORE_SEARCH_CATEGORY_FACET;
    assert_int_equal(store_search(f->s, &q, &cats, &err), 0);
    assert_int_equal(cats.n_categories, all.n_categories);
    for (size_t i = 0; i < cats.n_categories; i++) {
        assert_string_equal(cats.categories[i].value, all.categories[i].value);
        assert_int_equal(cats.categories[i].count, all.categories[i].count);
    }
    assert_int_equal(cats.n_categories, 2);
    assert_string_equal(cats.categories[0].value, "kitchen-tools");
    assert_int_equal(cats.categories[0].count, 2);
    assert_true(all.n_prices > 0 && all.n_brands == 3);
    assert_int_equal(cats.n_brands, 0);
    assert_int_equal(cats.n_prices, 0);
    store_search_result_free(&all);
    store_search_result_free(&cats);
}

static void test_injection(void **state)
{
    fixture *f = *state;
    static const char *const evil[] = {
        "\"", "\"\"\"", "faucet\" OR \"drill", "*", "faucet*", "NEAR(a b)",
        "AND", "OR OR", "NOT", "'; DROP TABLE products; --", "\\", "(", ")",
        "kitchen AND", "^faucet", "title:faucet", "{title}: x", "",
        "1/0 in. x x x 2x", "--- ''' \"\"\"",
    };
    for (size_t i = 0; i < sizeof evil / sizeof evil[0]; i++) {
        store_search_query q;
        store_search_result r;
        store_err err = {0};
        store_search_query_init(&q);
        q.text = evil[i];
        assert_int_equal(store_search(f->s, &q, &r, &err), 0);
        store_search_result_free(&r);
    }
    {
        char sku[32];
        top(f->s, "faucet\" OR \"drill", sku, sizeof sku);
        assert_true(sku[0] != '\0');   /* the words still search */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_second_stage),
        cmocka_unit_test(test_units),
        cmocka_unit_test(test_spelling_context),
        cmocka_unit_test(test_pages_agree),
        cmocka_unit_test(test_all_words),
        cmocka_unit_test(test_category_facet),
        cmocka_unit_test(test_injection),
    };
    return cmocka_run_group_tests_name("catalog search", tests, setup, teardown);
}
