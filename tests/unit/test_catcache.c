/* tests/unit/test_catcache.c — values built from the catalog
 * (engine/catcache.c) on a real SQLite store: built once by warm-up and
 * shared, rebuilt when the catalog changes (from this process or another
 * handle on the same file) and not otherwise, built off the turn in
 * background mode, never another store's value; store_product_each walks
 * every product once; and a pipeline warmed before its first turn
 * corrects a misspelt catalog word on that turn and learns a product
 * added later. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/catcache_int.h"
#include "engine/eng.h"
#include "stores/store.h"
#include "sqlite_store.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];
static store *st, *st2;

static store *open_at(const char *name)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return test_sqlite_store(path);
}

static void product(store *s, const char *sku, const char *title, const char *cat)
{
    store_product p;
    memset(&p, 0, sizeof p);
    p.sku = (char *)sku, p.title = (char *)title, p.category = (char *)cat;
    p.price = 10, p.stock = 5;
    store_err e = {0};
    assert_int_equal(store_product_upsert(s, &p, &e), 0);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/aisle-cc-XXXXXX");
    assert_non_null(mkdtemp(dir));
    st = open_at("a.db");
    st2 = open_at("b.db");
    product(st, "LIP-1", "Velvet Lipstick", "beauty");
    product(st, "MAS-1", "Volume Mascara", "beauty");
    product(st2, "DRL-1", "Cordless Drill", "tools");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    store_close(st);
    store_close(st2);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

/* ------------------------------------------------ a counting cache */
typedef struct counted {
    int n;          /* products seen by the build */
    store *from;
} counted;

static int builds;
static pthread_mutex_t bmu = PTHREAD_MUTEX_INITIALIZER;

static int count_one(void *ud, const store_product *p)
{
    (void)p;
    ((counted *)ud)->n++;
    return 0;
}

static void *build(const void *ud, struct store *s, char *note, size_t cap)
{
    (void)ud;
    counted *c = calloc(1, sizeof *c);
    store_err e = {0};
    if (!c || store_product_each(s, count_one, c, &e) != 0) {
        snprintf(note, cap, "walk failed");
        free(c);
        return NULL;
    }
    c->from = s;
    pthread_mutex_lock(&bmu);
    builds++;
    pthread_mutex_unlock(&bmu);
    usleep(50 * 1000);   /* a scan takes time: turns must not wait for it */
    return c;
}

static int nbuilds(void)
{
    pthread_mutex_lock(&bmu);
    int n = builds;
    pthread_mutex_unlock(&bmu);
    return n;
}

static int stop_at_two(void *ud, const store_product *p)
{
    (void)p;
    return ++*(int *)ud == 2 ? 7 : 0;
}

static void test_each(void **state)
{
    (void)state;
    int n = 0;
    store_err e = {0};
    assert_int_equal(store_product_each(st, count_one, &(counted){0}, &e), 0);
    assert_int_equal(store_product_each(st, stop_at_two, &n, &e), 7);   /* fn's value comes back */
    assert_int_equal(n, 2);
    int64_t g1 = 0, g2 = 0;
    assert_int_equal(store_catalog_generation(st, &g1, &e), 0);
    product(st, "LIP-2", "Matte Lipstick", "beauty");
    assert_int_equal(store_catalog_generation(st, &g2, &e), 0);
    assert_true(g2 != g1);
    assert_int_equal(store_product_delete(st, "LIP-2", &e), 0);
}

static void test_rebuild_on_change(void **state)
{
    (void)state;
    eng_catalog_refresh_background(false);
    builds = 0;
    eng__catcache *c = eng__cc_new(build, free, NULL);
    char note[200] = "";
    assert_non_null(c);
    assert_int_equal(eng__cc_warm(c, st, note, sizeof note), 0);
    assert_int_equal(nbuilds(), 1);
    assert_int_equal(eng__cc_warm(c, st, note, sizeof note), 0);   /* current: not rebuilt */
    assert_int_equal(nbuilds(), 1);
    eng__ccref *r = eng__cc_acquire(c, st, note, sizeof note);
    assert_non_null(r);
    assert_int_equal(((counted *)r->v)->n, 2);
    eng__cc_release(c, r);
    sleep(1);
    usleep(100 * 1000);
    r = eng__cc_acquire(c, st, note, sizeof note);   /* checked, unchanged */
    eng__cc_release(c, r);
    assert_int_equal(nbuilds(), 1);
    /* a write through another handle on the same file */
    char path[128];
    snprintf(path, sizeof path, "%s/a.db", dir);
    store *other = open_at("a.db");
    product(other, "MAS-2", "Waterproof Mascara", "beauty");
    store_close(other);
    sleep(1);
    usleep(100 * 1000);
    r = eng__cc_acquire(c, st, note, sizeof note);
    assert_non_null(r);
    assert_int_equal(nbuilds(), 2);
    assert_int_equal(((counted *)r->v)->n, 3);
    eng__cc_release(c, r);
    /* another store: never the first store's value */
    r = eng__cc_acquire(c, st2, note, sizeof note);
    assert_non_null(r);
    assert_ptr_equal(((counted *)r->v)->from, st2);
    assert_int_equal(((counted *)r->v)->n, 1);
    eng__cc_release(c, r);
    eng__cc_free(c);
}

static void test_background(void **state)
{
    (void)state;
    eng_catalog_refresh_background(true);
    builds = 0;
    eng__catcache *c = eng__cc_new(build, free, NULL);
    char note[200] = "";
    /* nothing built yet: the turn goes on without, the build runs aside */
    eng__ccref *r = eng__cc_acquire(c, st, note, sizeof note);
    assert_null(r);
    assert_non_null(strstr(note, "background"));
    assert_int_equal(eng__cc_warm(c, st, note, sizeof note), 0);   /* waits for that build */
    assert_int_equal(nbuilds(), 1);
    product(st, "LIP-3", "Gloss Lipstick", "beauty");
    sleep(1);
    usleep(100 * 1000);
    r = eng__cc_acquire(c, st, note, sizeof note);
    assert_non_null(r);   /* the old value, at once */
    assert_int_equal(((counted *)r->v)->n, 3);
    eng__cc_release(c, r);
    eng__cc_free(c);      /* waits for the background build */
    assert_int_equal(nbuilds(), 2);
    eng_catalog_refresh_background(false);
}

/* ------------------------------------------------ through a pipeline */
static const char pipeline_yaml[] =
    "pipeline: cc\n"
    "intents:\n"
    "  search_product: [show me shoes, do you have laptops, i want a phone]\n"
    "  greet: [hi, hello there]\n"
    "stages:\n"
    "  - { id: nlu, type: classifier, dictionary: /usr/share/dict/words }\n"
    "  - { id: slots, type: entities }\n"
    "  - { id: reply, type: formatter, templates: { search_product: '{{message.text}}', greet: hi } }\n";

/* The turn's reply: the formatter echoes the corrected message text. */
static void expect_reply(eng_pipeline *p, const char *msg, const char *want)
{
    eng_deps deps = {st, NULL};
    eng_turn_opts o;
    memset(&o, 0, sizeof o);
    o.deps = &deps;
    eng_err err = {0};
    eng_turn *t = NULL;
    assert_int_equal(eng_run(p, msg, &o, &t, &err), 0);
    assert_string_equal(eng_turn_reply(t), want);
    eng_turn_free(t);
}

static void test_pipeline_warm(void **state)
{
    (void)state;
    if (access("/usr/share/dict/words", R_OK) != 0) {
        print_message("[  SKIP    ] /usr/share/dict/words is missing (apt-get install wamerican)\n");
        skip();
    }
    eng_diags d;
    eng_diags_init(&d);
    eng_pipeline *p = NULL;
    int rc = eng_pipeline_load_buffer("cc.yaml", pipeline_yaml, strlen(pipeline_yaml), dir, &p, &d);
    if (rc)
        eng_diags_print(&d, stderr);
    eng_diags_free(&d);
    assert_int_equal(rc, 0);
    char note[240] = "";
    assert_int_equal(eng_pipeline_warm(p, st, note, sizeof note), 0);
    expect_reply(p, "lipstik", "lipstick");
    /* a product type added after warm-up is learnt by a later turn */
    expect_reply(p, "skatebord", "skatebord");
    product(st, "SKT-1", "Longboard Skateboard", "sports");
    sleep(1);
    usleep(100 * 1000);
    expect_reply(p, "skatebord", "skateboard");
    eng_pipeline_release(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each),
        cmocka_unit_test(test_rebuild_on_change),
        cmocka_unit_test(test_background),
        cmocka_unit_test(test_pipeline_warm),
    };
    return cmocka_run_group_tests_name("catcache", tests, setup, teardown);
}
