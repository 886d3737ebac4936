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

#include <sqlite3.h>

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

/* The total and the facets of a text search are those of SQL's count(*)
 * and GROUP BY over the same matches (most products first, ties by value,
 * at most 50; price ranges cheapest first, a product without a price in
 * none), and each sort's pages are its ORDER BY's: read here from the
 * database file itself, beside the store.  More than 50 brands, with
 * ties, and scores that tie (titles of the same shape), so that the
 * order between equals and the cap are what is checked. */
static void test_counts_as_sql(void **state)
{
    fixture *f = *state;
    store_err err = {0};
    char db[128], sku[16], title[32], brand[16];
    sqlite3 *d;
    sqlite3_stmt *st;
    for (int i = 0; i < 130; i++) {
        store_product p;
        memset(&p, 0, sizeof p);
        snprintf(sku, sizeof sku, "L%03d", (i * 37) % 130);   /* ids and skus in different orders */
        const char *cat = i % 3 ? "lighting" : i % 2 ? "decor" : "";
        /* four words in all, whatever is missing: the scores tie */
        snprintf(title, sizeof title, "Lamp Q%03d%s%s", i, i % 9 ? "" : " shade", *cat ? "" : " base");
        snprintf(brand, sizeof brand, "B%02d", (i * 7) % 61);
        p.sku = sku;
        p.title = title;
        p.brand = i % 9 ? brand : NULL;
        p.category = (char *)cat;
        p.price = (double)((i * 173) % 1700) / 1.3;
        p.price_missing = i % 11 == 0;
        p.rating = (double)(i % 5);
        p.stock = 5;
        assert_int_equal(store_product_upsert(f->s, &p, &err), 0);
    }
    snprintf(db, sizeof db, "%s/t.db", f->dir);
    assert_int_equal(sqlite3_open_v2(db, &d, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    static const char *const facet_sql[] = {
        "SELECT p.category AS v, count(*) FROM products_fts JOIN products p ON p.id = products_fts.rowid"
        " WHERE products_fts MATCH 'lamp' GROUP BY v HAVING v IS NOT NULL AND v != ''"
        " ORDER BY 2 DESC, 1 LIMIT 50",
        "SELECT p.brand AS v, count(*) FROM products_fts JOIN products p ON p.id = products_fts.rowid"
        " WHERE products_fts MATCH 'lamp' GROUP BY v HAVING v IS NOT NULL AND v != ''"
        " ORDER BY 2 DESC, 1 LIMIT 50",
        "SELECT CASE WHEN p.price_known = 0 THEN NULL WHEN p.price < 25 THEN '0-25'"
        " WHEN p.price < 50 THEN '25-50' WHEN p.price < 100 THEN '50-100' WHEN p.price < 250 THEN '100-250'"
        " WHEN p.price < 500 THEN '250-500' WHEN p.price < 1000 THEN '500-1000' ELSE '1000+' END AS v,"
        " count(*) FROM products_fts JOIN products p ON p.id = products_fts.rowid"
        " WHERE products_fts MATCH 'lamp' GROUP BY v HAVING v IS NOT NULL AND v != ''"
        " ORDER BY min(p.price) LIMIT 50",
    };
    static const struct { store_sort sort; const char *order; } sorts[] = {
        {STORE_SORT_PRICE_ASC, "p.price ASC, p.id"},
        {STORE_SORT_PRICE_DESC, "p.price DESC, p.id"},
        {STORE_SORT_RATING, "p.rating DESC, p.id"},
    };
    for (size_t s = 0; s < 3; s++) {
        for (int off = 0; off < 140; off += 45) {
            store_search_query q;
            store_search_result r;
            char sql[256];
            size_t k = 0;
            store_search_query_init(&q);
            q.text = "lamp";
            q.flags = STORE_SEARCH_FACETS;
            q.sort = sorts[s].sort;
            q.offset = off;
            q.limit = 40;
            assert_int_equal(store_search(f->s, &q, &r, &err), 0);
            assert_int_equal(r.total, 130);
            store_facet *fs[3] = {r.categories, r.brands, r.prices};
            size_t nf[3] = {r.n_categories, r.n_brands, r.n_prices};
            for (int t = 0; t < 3; t++) {
                size_t i = 0;
                assert_int_equal(sqlite3_prepare_v2(d, facet_sql[t], -1, &st, NULL), SQLITE_OK);
                for (; sqlite3_step(st) == SQLITE_ROW; i++) {
                    assert_true(i < nf[t]);
                    assert_string_equal(fs[t][i].value, (const char *)sqlite3_column_text(st, 0));
                    assert_int_equal(fs[t][i].count, sqlite3_column_int64(st, 1));
                }
                assert_int_equal(i, nf[t]);
                sqlite3_finalize(st);
            }
            assert_int_equal(r.n_brands, 50);
            snprintf(sql, sizeof sql, "SELECT p.sku FROM products_fts JOIN products p ON"
                     " p.id = products_fts.rowid WHERE products_fts MATCH 'lamp'"
                     " ORDER BY %s LIMIT 40 OFFSET %d", sorts[s].order, off);
            assert_int_equal(sqlite3_prepare_v2(d, sql, -1, &st, NULL), SQLITE_OK);
            for (; sqlite3_step(st) == SQLITE_ROW; k++) {
                assert_true(k < r.n_hits);
                assert_string_equal(r.hits[k].product.sku, (const char *)sqlite3_column_text(st, 0));
            }
            assert_int_equal(k, r.n_hits);
            sqlite3_finalize(st);
            store_search_result_free(&r);
        }
    }
    sqlite3_close(d);
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
        cmocka_unit_test(test_counts_as_sql),
    };
    return cmocka_run_group_tests_name("catalog search", tests, setup, teardown);
}
