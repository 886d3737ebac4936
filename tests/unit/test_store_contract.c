/* tests/unit/test_store_contract.c — the store contract: every operation of
 * stores/store.h, run against each backend in `backends[]`.  SQLite always
 * runs; Redis runs the ephemeral-family tests against a redis-server this
 * test starts on a free loopback port; MongoDB runs the document-family
 * tests when AISLE_TEST_MONGO_URI is set.  A row that cannot run says why. */
#define _GNU_SOURCE /* strcasestr */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "stores/store.h"
#include "tests/redis_server.h"

#include <json-c/json.h>
#include <mongoc/mongoc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int64_t fake_now = 1700000000000;
static int64_t fake_clock(void *ud)
{
    (void)ud;
    return fake_now;
}

typedef struct fixture {
    store *s;
    char dir[256];
    char path[300];
    char url[512];              /* the Redis URL or MongoDB URI in use */
    char mongo_db[64];          /* database to drop at teardown */
} fixture;

/* Which families a row's backend serves: the other family stays on SQLite
 * behind it, and its tests are not run again for that row. */
enum { FAM_DOC = 1, FAM_EPH = 2 };

/* A backend row: fills cfg for a fresh, empty store; returns 0, or 1 to
 * skip with a reason in why. */
typedef struct backend {
    const char *name;
    int families;
    int (*config)(fixture *fx, store_config *cfg, char *why, size_t n);
} backend;

static int sqlite_config(fixture *fx, store_config *cfg, char *why, size_t n)
{
    (void)why;
    (void)n;
    cfg->sqlite_path = fx->path;
    cfg->documents = STORE_BACKEND_SQLITE;
    cfg->ephemeral = STORE_BACKEND_SQLITE;
    return 0;
}

/* ---- Redis: one redis-server for the whole run, a fresh key prefix per
 * test so every test sees an empty store. ---- */
static redis_server redis;

static int redis_config(fixture *fx, store_config *cfg, char *why, size_t n)
{
    static int started, failed, serial;
    if (!started) {
        started = 1;
        failed = redis_server_open(&redis, "aisle-redis", 0) != 0;
    }
    if (failed) {
        snprintf(why, n, "Redis contract skipped: %s", redis.why);
        return 1;
    }
    snprintf(fx->url, sizeof fx->url,
             "redis://127.0.0.1:%d/0?prefix=contract%d.%d:", redis.port,
             (int)getpid(), ++serial);
    cfg->sqlite_path = fx->path;
    cfg->documents = STORE_BACKEND_SQLITE;
    cfg->ephemeral = STORE_BACKEND_REDIS;
    cfg->redis_url = fx->url;
    return 0;
}

/* ---- MongoDB: only where a server is given; a fresh database per test,
 * dropped at teardown. ---- */
static int mongo_config(fixture *fx, store_config *cfg, char *why, size_t n)
{
    static int serial;
    const char *base = getenv("AISLE_TEST_MONGO_URI");
    mongoc_uri_t *uri;
    bson_error_t e;
    char *str;
    if (!base || !*base) {
        snprintf(why, n, "MongoDB contract skipped: AISLE_TEST_MONGO_URI not set"
                 " (no MongoDB server on this machine)");
        return 1;
    }
    if (!(uri = mongoc_uri_new_with_error(base, &e))) {
        snprintf(why, n, "MongoDB contract skipped: bad AISLE_TEST_MONGO_URI: %s",
                 e.message);
        return 1;
    }
    snprintf(fx->mongo_db, sizeof fx->mongo_db, "aisle_contract_%d_%d",
             (int)getpid(), ++serial);
    mongoc_uri_set_database(uri, fx->mongo_db);
    str = (char *)mongoc_uri_get_string(uri);
    snprintf(fx->url, sizeof fx->url, "%s", str);
    mongoc_uri_destroy(uri);
    cfg->sqlite_path = fx->path;
    cfg->documents = STORE_BACKEND_MONGO;
    cfg->ephemeral = STORE_BACKEND_SQLITE;
    cfg->mongo_uri = fx->url;
    return 0;
}

static void mongo_drop(const fixture *fx)
{
    mongoc_client_t *c;
    mongoc_database_t *db;
    if (!fx->mongo_db[0] || !(c = mongoc_client_new(fx->url)))
        return;
    db = mongoc_client_get_database(c, fx->mongo_db);
    mongoc_database_drop(db, NULL);
    mongoc_database_destroy(db);
    mongoc_client_destroy(c);
}

static const backend backends[] = {
    {"sqlite", FAM_DOC | FAM_EPH, sqlite_config},
    {"redis", FAM_EPH, redis_config},
    {"mongo", FAM_DOC, mongo_config},
};
static const backend *current = &backends[0];

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    store_config cfg;
    store_err err = {0};
    char why[256] = "";
    snprintf(fx->dir, sizeof fx->dir, "/tmp/aisle-store-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->path, sizeof fx->path, "%s/aisle.db", fx->dir);
    store_config_init(&cfg);
    cfg.redis_url = NULL;
    cfg.mongo_uri = NULL;
    cfg.clock = fake_clock;
    cfg.history_window = 3;
    cfg.session_ttl_s = 60;
    if (current->config(fx, &cfg, why, sizeof why)) {
        print_message("[  SKIP    ] %s: %s\n", current->name, why);
        free(fx);
        skip();
    }
    int rc = store_open(&cfg, &fx->s, &err);
    if (rc != 0)
        print_message("store_open (%s): %s\n", current->name, err.msg);
    assert_int_equal(rc, 0);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    char cmd[400];
    if (!fx)
        return 0;
    store_close(fx->s);
    mongo_drop(fx);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
    if (system(cmd) != 0)
        return -1;
    free(fx);
    return 0;
}

static void put_product(store *s, const char *sku, const char *title,
                        const char *brand, const char *cat, double price,
                        double rating, int64_t stock)
{
    store_product p = {0};
    store_err err = {0};
    p.sku = (char *)sku;
    p.title = (char *)title;
    p.brand = (char *)brand;
    p.category = (char *)cat;
    p.price = price;
    p.rating = rating;
    p.stock = stock;
    assert_int_equal(store_product_upsert(s, &p, &err), 0);
}

static void test_users(void **state)
{
    store *s = ((fixture *)*state)->s;
    store_user u;
    store_err err = {0};
    int64_t id = 0;
    assert_int_equal(store_user_create(s, "Ann@Example.com", "$argon2id$x", "Ann", &id, &err), 0);
    assert_true(id > 0);
    assert_int_equal(store_user_create(s, "ann@example.com", "h", "", NULL, &err), STORE_EEXIST);
    assert_int_equal(store_user_get_by_email(s, "ANN@example.com", &u, &err), 0);
    assert_int_equal(u.id, id);
    assert_string_equal(u.password_hash, "$argon2id$x");
    assert_int_equal(store_user_get(s, id, &u, &err), 0);
    assert_string_equal(u.email, "ann@example.com");
    assert_int_equal(store_user_get(s, id + 99, &u, &err), STORE_ENOTFOUND);
    assert_int_equal(store_user_create(s, "", "h", "", NULL, &err), STORE_EINVAL);
}

static void test_sessions_ttl_window(void **state)
{
    store *s = ((fixture *)*state)->s;
    store_err err = {0};
    char *j = NULL;
    assert_int_equal(store_session_put(s, "s1", "{\"a\":1}", 10, &err), 0);
    assert_int_equal(store_session_get(s, "s1", &j, &err), 0);
    assert_string_equal(j, "{\"a\":1}");
    free(j);
    assert_int_equal(store_session_put(s, "s1", "[1]", 10, &err), STORE_EINVAL);
    fake_now += 11000;
    assert_int_equal(store_session_get(s, "s1", &j, &err), STORE_ENOTFOUND);
    for (int i = 1; i <= 5; i++) {
        char t[32];
        snprintf(t, sizeof t, "{\"turn\":%d}", i);
        assert_int_equal(store_session_append_turn(s, "s2", t, &err), 0);
    }
    assert_int_equal(store_session_history(s, "s2", &j, &err), 0);
    assert_string_equal(j, "[{\"turn\":3},{\"turn\":4},{\"turn\":5}]");  /* window 3 */
    free(j);
    /* past a trim (SQLite trims every 8 appends) and between two */
    for (int i = 1; i <= 19; i++) {
        char t[32];
        snprintf(t, sizeof t, "{\"turn\":%d}", i);
        assert_int_equal(store_session_append_turn(s, "s4", t, &err), 0);
        if (i == 16 || i == 19) {
            char want[96];
            snprintf(want, sizeof want, "[{\"turn\":%d},{\"turn\":%d},{\"turn\":%d}]", i - 2, i - 1, i);
            assert_int_equal(store_session_history(s, "s4", &j, &err), 0);
            assert_string_equal(j, want);
            free(j);
        }
    }
    fake_now += 61000;   /* past the 60 s default TTL */
    assert_int_equal(store_session_history(s, "s2", &j, &err), 0);
    assert_string_equal(j, "[]");
    free(j);
    assert_int_equal(store_session_put(s, "s3", "{}", 0, &err), 0);
    assert_int_equal(store_session_delete(s, "s3", &err), 0);
    assert_int_equal(store_session_get(s, "s3", &j, &err), STORE_ENOTFOUND);
    assert_int_equal(store_cache_put(s, "k", "v", 5, &err), 0);
    assert_int_equal(store_cache_get(s, "k", &j, &err), 0);
    assert_string_equal(j, "v");
    free(j);
    fake_now += 6000;
    assert_int_equal(store_cache_get(s, "k", &j, &err), STORE_ENOTFOUND);
}

static void test_memory_audit(void **state)
{
    store *s = ((fixture *)*state)->s;
    store_err err = {0};
    char *j = NULL;
    assert_int_equal(store_memory_put(s, 7, "sizes", "shoe", "\"10\"", &err), 0);
    assert_int_equal(store_memory_put(s, 7, "brands", "favorite", "[\"Essence\"]", &err), 0);
    assert_int_equal(store_memory_put(s, 7, "sizes", "shoe", "\"10.5\"", &err), 0);
    assert_int_equal(store_memory_put(s, 7, "sizes", "bad", "{nope", &err), STORE_EINVAL);
    assert_int_equal(store_memory_get(s, 7, "sizes", "shoe", &j, &err), 0);
    assert_string_equal(j, "\"10.5\"");
    free(j);
    assert_int_equal(store_memory_get(s, 8, "sizes", "shoe", &j, &err), STORE_ENOTFOUND);
    assert_int_equal(store_memory_list(s, 7, NULL, &j, &err), 0);
    assert_string_equal(j, "{\"brands\":{\"favorite\":[\"Essence\"]},\"sizes\":{\"shoe\":\"10.5\"}}");
    free(j);
    assert_int_equal(store_memory_delete(s, 7, "sizes", "shoe", &err), 0);
    assert_int_equal(store_memory_list(s, 7, "sizes", &j, &err), 0);
    assert_string_equal(j, "{}");
    free(j);
    assert_int_equal(store_audit_append(s, "user:7", "order.create", "order:1", "{\"total\":3}", &err), 0);
    assert_int_equal(store_audit_append(s, "admin", "product.update", "sku:A", NULL, &err), 0);
    assert_int_equal(store_audit_list(s, "user:7", NULL, 0, &j, &err), 0);
    assert_non_null(strstr(j, "\"action\":\"order.create\""));
    assert_null(strstr(j, "product.update"));
    free(j);
    assert_int_equal(store_audit_list(s, NULL, NULL, 1, &j, &err), 0);
    assert_non_null(strstr(j, "product.update"));   /* newest first */
    free(j);
}

static void test_tokens(void **state)
{
    store *s = ((fixture *)*state)->s;
    store_err err = {0};
    store_token t;
    assert_int_equal(store_token_put(s, "h1", "fam", 7, fake_now + 1000, &err), 0);
    assert_int_equal(store_token_rotate(s, "h1", "h2", fake_now + 2000, &t, &err), 0);
    assert_string_equal(t.family, "fam");
    assert_int_equal(t.user_id, 7);
    /* reuse of h1 revokes the family, h2 included */
    assert_int_equal(store_token_rotate(s, "h1", "h3", fake_now + 2000, &t, &err), STORE_EREVOKED);
    assert_int_equal(store_token_rotate(s, "h2", "h4", fake_now + 2000, &t, &err), STORE_EREVOKED);
    assert_int_equal(store_token_rotate(s, "nope", "h5", fake_now, &t, &err), STORE_ENOTFOUND);
    assert_int_equal(store_token_put(s, "g1", "fam2", 8, fake_now + 10, &err), 0);
    fake_now += 20;
    assert_int_equal(store_token_rotate(s, "g1", "g2", fake_now + 10, &t, &err), STORE_EEXPIRED);
    assert_int_equal(store_token_put(s, "k1", "fam3", 8, fake_now + 1000, &err), 0);
    assert_int_equal(store_token_revoke_family(s, "fam3", &err), 0);
    assert_int_equal(store_token_rotate(s, "k1", "k2", fake_now + 10, &t, &err), STORE_EREVOKED);
}

static void test_counters(void **state)
{
    store *s = ((fixture *)*state)->s;
    store_err err = {0};
    double retry = -1;
    int64_t v = 0, t = 1000000;
    for (int i = 0; i < 3; i++)
        assert_int_equal(store_ratelimit_take(s, "ip:1", 1.0, 3, t, &retry, &err), 0);
    assert_int_equal(store_ratelimit_take(s, "ip:1", 1.0, 3, t, &retry, &err), STORE_ELIMITED);
    assert_true(retry > 0.9 && retry <= 1.0);
    assert_int_equal(store_ratelimit_take(s, "ip:2", 1.0, 3, t, &retry, &err), 0);
    assert_int_equal(store_ratelimit_take(s, "ip:1", 1.0, 3, t + 1000, &retry, &err), 0);
    assert_int_equal(store_ratelimit_take(s, "ip:1", 1.0, 3, t + 1000, &retry, &err), STORE_ELIMITED);
    assert_int_equal(store_counter_add(s, "c", 5, &v, &err), 0);
    assert_int_equal(store_counter_add(s, "c", -2, &v, &err), 0);
    assert_int_equal(v, 3);
}

static void test_catalog_crud(void **state)
{
    store *s = ((fixture *)*state)->s;
    store_err err = {0};
    store_product p;
    int64_t n = 0;
    char *json = NULL;
    put_product(s, "A1", "Red Mug", "Acme", "kitchen", 5, 4, 3);
    put_product(s, "A1", "Red Mug Large", "Acme", "kitchen", 6, 4, 3);   /* update */
    assert_int_equal(store_product_count(s, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(store_product_get(s, "A1", &p, &err), 0);
    assert_string_equal(p.title, "Red Mug Large");
    assert_true(p.price == 6);
    assert_int_equal(store_product_to_json(&p, &json, &err), 0);
    assert_non_null(strstr(json, "\"discountPercentage\""));
    store_product_clear(&p);
    assert_int_equal(store_product_from_json(json, &p, &err), 0);
    assert_string_equal(p.sku, "A1");
    store_product_clear(&p);
    free(json);
    assert_int_equal(store_product_from_json("{\"title\":\"x\"}", &p, &err), STORE_EINVAL);
    p = (store_product){.sku = "B", .title = "t", .price = -1};
    assert_int_equal(store_product_upsert(s, &p, &err), STORE_EINVAL);
    assert_int_equal(store_product_delete(s, "A1", &err), 0);
    assert_int_equal(store_product_get(s, "A1", &p, &err), STORE_ENOTFOUND);
    assert_int_equal(store_product_delete(s, "A1", &err), STORE_ENOTFOUND);
}

/* Tags and images come back as they went in, whatever their characters:
 * quotes, backslashes, slashes, control characters (which a JSON writer
 * escapes, some as \u00XX: that list is read by json-c, the others
 * without it), UTF-8, commas and brackets inside a string, an empty
 * string; and an empty list is no list. */
static void test_lists_round_trip(void **state)
{
    store *s = ((fixture *)*state)->s;
    store_err err = {0};
    static const char *const tags[] = {
        "plain", "with \"quotes\"", "back\\slash", "http://x/y/z.png", "tab\there\nnew line\r\b\f",
        "caf\xc3\xa9 \xe2\x82\xac", "[a, b]", "", "\\\"", "trailing \\",
    };
    static const char *const images[] = {"http://x/y/z.png", "\x01" "control"};
    const size_t nt = sizeof tags / sizeof *tags;
    store_product p = {0}, q = {0};
    p.sku = "LIST1";
    p.title = "Lists";
    p.price = 1;
    p.stock = 1;
    p.tags = (char **)tags;
    p.n_tags = nt;
    p.images = (char **)images;
    p.n_images = 2;
    assert_int_equal(store_product_upsert(s, &p, &err), 0);
    assert_int_equal(store_product_get(s, "LIST1", &q, &err), 0);
    assert_int_equal(q.n_tags, nt);
    for (size_t i = 0; i < nt; i++)
        assert_string_equal(q.tags[i], tags[i]);
    assert_int_equal(q.n_images, 2);
    assert_string_equal(q.images[0], images[0]);
    assert_string_equal(q.images[1], images[1]);
    store_product_clear(&q);
    p.tags = NULL;
    p.n_tags = 0;
    assert_int_equal(store_product_upsert(s, &p, &err), 0);
    assert_int_equal(store_product_get(s, "LIST1", &q, &err), 0);
    assert_int_equal(q.n_tags, 0);
    assert_null(q.tags);
    store_product_clear(&q);
    assert_int_equal(store_product_delete(s, "LIST1", &err), 0);
}

static void test_carts(void **state)
{
    store *s = ((fixture *)*state)->s;
    store_err err = {0};
    store_cart c;
    put_product(s, "A", "Apple", NULL, "food", 1.5, 4, 10);
    put_product(s, "B", "Banana", NULL, "food", 0.5, 4, 10);
    assert_int_equal(store_cart_set_qty(s, "anon:1", "A", 2, &err), 0);
    assert_int_equal(store_cart_set_qty(s, "anon:1", "B", 1, &err), 0);
    assert_int_equal(store_cart_set_qty(s, "anon:1", "ZZZ", 1, &err), STORE_ENOTFOUND);
    assert_int_equal(store_cart_set_qty(s, "user:1", "A", 1, &err), 0);
    assert_int_equal(store_cart_merge(s, "anon:1", "user:1", &err), 0);
    assert_int_equal(store_cart_get(s, "user:1", &c, &err), 0);
    assert_int_equal(c.n_items, 2);
    assert_string_equal(c.items[0].sku, "A");
    assert_int_equal(c.items[0].qty, 3);
    assert_true(c.subtotal == 3 * 1.5 + 0.5);
    store_cart_clear_struct(&c);
    assert_int_equal(store_cart_get(s, "anon:1", &c, &err), 0);
    assert_int_equal(c.n_items, 0);
    store_cart_clear_struct(&c);
    assert_int_equal(store_cart_remove(s, "user:1", "B", &err), 0);
    assert_int_equal(store_cart_set_qty(s, "user:1", "A", 0, &err), 0);
    assert_int_equal(store_cart_get(s, "user:1", &c, &err), 0);
    assert_int_equal(c.n_items, 0);
    store_cart_clear_struct(&c);
    assert_int_equal(store_cart_set_qty(s, "user:1", "A", 1, &err), 0);
    assert_int_equal(store_cart_clear(s, "user:1", &err), 0);
}

static void test_orders(void **state)
{
    store *s = ((fixture *)*state)->s;
    store_err err = {0};
    store_order o1, o2, *list = NULL;
    store_product p;
    size_t n = 0;
    put_product(s, "A", "Apple", NULL, "food", 2, 4, 5);
    assert_int_equal(store_order_create(s, 1, "user:1", "k1", &o1, &err), STORE_EEMPTY);
    assert_int_equal(store_cart_set_qty(s, "user:1", "A", 2, &err), 0);
    assert_int_equal(store_order_create(s, 1, "user:1", "k1", &o1, &err), 0);
    assert_string_equal(o1.status, "placed");
    assert_true(o1.total == 4);
    assert_int_equal(o1.n_lines, 1);
    /* replay with the same key: same order, stock decremented once */
    assert_int_equal(store_cart_set_qty(s, "user:1", "A", 1, &err), 0);
    assert_int_equal(store_order_create(s, 1, "user:1", "k1", &o2, &err), 0);
    assert_int_equal(o2.id, o1.id);
    assert_int_equal(store_product_get(s, "A", &p, &err), 0);
    assert_int_equal(p.stock, 3);
    store_product_clear(&p);
    store_order_clear(&o2);
    assert_int_equal(store_cart_set_qty(s, "user:1", "A", 3, &err), 0);
    assert_int_equal(store_order_create(s, 1, "user:1", "k2", &o2, &err), 0);
    store_order_clear(&o2);
    assert_int_equal(store_cart_set_qty(s, "user:1", "A", 1, &err), 0);
    assert_int_equal(store_order_create(s, 1, "user:1", "k3", &o2, &err), STORE_ESTOCK);
    assert_int_equal(store_order_list(s, 1, 0, &list, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_true(list[0].id > list[1].id);
    store_order_list_free(list, n);
    assert_int_equal(store_order_cancel(s, 2, o1.id, &err), STORE_ENOTFOUND);
    assert_int_equal(store_order_cancel(s, 1, o1.id, &err), 0);
    assert_int_equal(store_order_cancel(s, 1, o1.id, &err), STORE_ESTATE);
    assert_int_equal(store_product_get(s, "A", &p, &err), 0);
    assert_int_equal(p.stock, 2);   /* 5 - 2 - 3 + 2 */
    store_product_clear(&p);
    assert_int_equal(store_order_set_status(s, o1.id, "shipped", &err), STORE_ESTATE);
    assert_int_equal(store_order_get(s, o1.id, &o2, &err), 0);
    assert_string_equal(o2.status, "cancelled");
    store_order_clear(&o2);
    store_order_clear(&o1);
}

/* A cancel keeps the refund it owes in the same write; the record is
 * settled only while pending, and the pending ones can be found (what a
 * restart gives back). */
static void test_order_refund_record(void **state)
{
    store *s = ((fixture *)*state)->s;
    store_err err = {0};
    store_order o1, o2, got;
    int64_t *ids = NULL;
    size_t n = 0;
    put_product(s, "R", "Radio", NULL, "audio", 10, 4, 5);
    assert_int_equal(store_cart_set_qty(s, "user:3", "R", 1, &err), 0);
    assert_int_equal(store_order_create(s, 3, "user:3", "r1", &o1, &err), 0);
    assert_int_equal(store_cart_set_qty(s, "user:3", "R", 1, &err), 0);
    assert_int_equal(store_order_create(s, 3, "user:3", "r2", &o2, &err), 0);
    assert_null(o1.refund_json);
    assert_int_equal(store_order_refunds_pending(s, 0, &ids, &n, &err), 0);
    assert_int_equal(n, 0);
    const char *owed = "{\"status\":\"pending\",\"amount\":10,\"reference\":\"test_ch_1\"}";
    assert_int_equal(store_order_cancel_refund(s, 3, o1.id, NULL, "not json", &err), STORE_EINVAL);
    /* no refund owed before the order is cancelled */
    assert_int_equal(store_order_refund_set(s, o1.id, owed, &err), STORE_ESTATE);
    assert_int_equal(store_order_cancel_refund(s, 3, o1.id, NULL, owed, &err), 0);
    assert_int_equal(store_order_cancel_refund(s, 3, o1.id, NULL, owed, &err), STORE_ESTATE);
    assert_int_equal(store_order_cancel_refund(s, 3, o2.id, NULL, NULL, &err), 0);   /* unpaid: none */
    assert_int_equal(store_order_get(s, o1.id, &got, &err), 0);
    assert_string_equal(got.status, "cancelled");
    assert_non_null(got.refund_json);
    assert_non_null(strstr(got.refund_json, "pending"));
    store_order_clear(&got);
    assert_int_equal(store_order_refunds_pending(s, 0, &ids, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], o1.id);
    free(ids);
    assert_int_equal(store_order_refund_set(s, o1.id, "{\"status\":\"refunded\",\"amount\":10}", &err), 0);
    /* settled: never reopened, never settled twice */
    assert_int_equal(store_order_refund_set(s, o1.id, owed, &err), STORE_ESTATE);
    assert_int_equal(store_order_refund_set(s, o2.id, owed, &err), STORE_ESTATE);
    assert_int_equal(store_order_refund_set(s, 999999, owed, &err), STORE_ENOTFOUND);
    assert_int_equal(store_order_refunds_pending(s, 0, &ids, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_null(ids);
    assert_int_equal(store_order_get(s, o1.id, &got, &err), 0);
    assert_non_null(strstr(got.refund_json, "refunded"));
    store_order_clear(&got);
    store_order_clear(&o1);
    store_order_clear(&o2);
}

/* An order at the prices agreed at checkout: lines at their final prices,
 * the discounted total, the pricing kept; never above the catalog. */
static void test_priced_order(void **state)
{
    store *s = ((fixture *)*state)->s;
    store_err err = {0};
    store_order o, again;
    put_product(s, "A", "Apple", NULL, "food", 2, 4, 5);
    put_product(s, "B", "Bread", NULL, "food", 3, 4, 5);
    assert_int_equal(store_cart_set_qty(s, "user:7", "A", 2, &err), 0);
    assert_int_equal(store_cart_set_qty(s, "user:7", "B", 1, &err), 0);
    /* catalog subtotal 7: a total of 9 is refused and nothing is taken */
    assert_int_equal(store_order_create_priced(s, 7, "user:7", "p0", "{\"total\": 9}", &o, &err), STORE_EINVAL);
    assert_int_equal(store_order_create_priced(s, 7, "user:7", "p0", "not json", &o, &err), STORE_EINVAL);
    const char *pricing = "{\"total\": 5.3, \"items\": [{\"sku\": \"A\", \"finalPrice\": 1.8,"
                          " \"appliedRules\": [{\"id\": \"apple-10\", \"version\": 2}]}],"
                          " \"discounts\": [{\"id\": \"promo:SAVE\", \"amount\": 0.7}]}";
    assert_int_equal(store_order_create_priced(s, 7, "user:7", "p1", pricing, &o, &err), 0);
    assert_true(o.total > 5.29 && o.total < 5.31);
    assert_int_equal(o.n_lines, 2);
    for (size_t i = 0; i < o.n_lines; i++) {
        if (!strcmp(o.lines[i].sku, "A"))
            assert_true(o.lines[i].unit_price > 1.79 && o.lines[i].unit_price < 1.81);
        else
            assert_true(o.lines[i].unit_price > 2.99 && o.lines[i].unit_price < 3.01);
    }
    assert_non_null(o.pricing_json);
    assert_non_null(strstr(o.pricing_json, "apple-10"));
    assert_int_equal(store_order_get(s, o.id, &again, &err), 0);
    assert_non_null(again.pricing_json);
    assert_true(again.total > 5.29 && again.total < 5.31);
    store_order_clear(&again);
    store_order_clear(&o);
}

/* The cart the order takes is the cart that was priced: a line added or
 * a quantity changed by another request between pricing and the order's
 * transaction refuses the order (STORE_ESTATE), takes no stock and
 * charges nothing; priced again, it goes through. */
static void test_priced_cart_changed(void **state)
{
    store *s = ((fixture *)*state)->s;
    store_err err = {0};
    store_order o;
    put_product(s, "A", "Apple", NULL, "food", 2, 4, 5);
    put_product(s, "B", "Bread", NULL, "food", 3, 4, 5);
    assert_int_equal(store_cart_set_qty(s, "user:8", "A", 1, &err), 0);
    const char *priced1 = "{\"total\": 2, \"items\": [{\"sku\": \"A\", \"qty\": 1, \"finalPrice\": 2}]}";
    /* another tab raised the quantity after the pricing */
    assert_int_equal(store_cart_set_qty(s, "user:8", "A", 3, &err), 0);
    assert_int_equal(store_order_create_priced(s, 8, "user:8", "c1", priced1, &o, &err), STORE_ESTATE);
    store_product p;
    assert_int_equal(store_product_get(s, "A", &p, &err), 0);
    assert_int_equal(p.stock, 5);   /* put_product's stock: nothing taken */
    store_product_clear(&p);
    /* or added a line */
    assert_int_equal(store_cart_set_qty(s, "user:8", "A", 1, &err), 0);
    assert_int_equal(store_cart_set_qty(s, "user:8", "B", 1, &err), 0);
    assert_int_equal(store_order_create_priced(s, 8, "user:8", "c2", priced1, &o, &err), STORE_ESTATE);
    store_order *list = NULL;
    size_t n = 9;
    assert_int_equal(store_order_list(s, 8, 10, &list, &n, &err), 0);
    assert_int_equal(n, 0);
    store_order_list_free(list, n);
    /* priced again as it is now: placed, at that price */
    const char *priced2 = "{\"total\": 5, \"items\": [{\"sku\": \"A\", \"qty\": 1, \"finalPrice\": 2},"
                          " {\"sku\": \"B\", \"qty\": 1, \"finalPrice\": 3}]}";
    assert_int_equal(store_order_create_priced(s, 8, "user:8", "c3", priced2, &o, &err), 0);
    assert_int_equal(o.n_lines, 2);
    assert_true(o.total > 4.99 && o.total < 5.01);
    store_order_clear(&o);
}

/* Price ranges come cheapest first, whatever their counts (a shopper
 * reads them as a scale), on every backend. */
static void test_price_facets_in_price_order(void **state)
{
    store *s = ((fixture *)*state)->s;
    store_err err = {0};
    store_search_query q;
    store_search_result r;
    put_product(s, "SF1", "Velvet Sofa", "Lounge", "furniture", 1200, 4.0, 2);
    put_product(s, "SF2", "Leather Sofa", "Lounge", "furniture", 1500, 4.0, 2);
    put_product(s, "SF3", "Sofa Cushion", "Lounge", "furniture", 20, 4.0, 2);
    put_product(s, "SF4", "Sofa Throw", "Lounge", "furniture", 60, 4.0, 2);
    store_search_query_init(&q);
    q.text = "sofa";
    q.flags = STORE_SEARCH_FACETS;
    assert_int_equal(store_search(s, &q, &r, &err), 0);
    assert_int_equal(r.n_prices, 3);
    assert_string_equal(r.prices[0].value, "0-25");
    assert_string_equal(r.prices[1].value, "50-100");
    assert_string_equal(r.prices[2].value, "1000+");
    assert_int_equal(r.prices[2].count, 2);
    store_search_result_free(&r);
}

/* A search asked again answers as the catalog is now: the same result
 * while nothing changed (facets, total, correction and all); a product
 * written since (price, title) and stock taken since by an order show;
 * a search for what is in stock leaves out what an order emptied.  (The
 * SQLite catalog keeps results for the same query: this is what keeping
 * them must not change.) */
static void test_search_again_sees_changes(void **state)
{
    store *s = ((fixture *)*state)->s;
    store_err err = {0};
    store_search_query q;
    store_search_result a, b;
    store_order o;
    put_product(s, "KT1", "Kettle Steel", "Boil", "kitchen", 30, 4.0, 1);
    put_product(s, "KT2", "Kettle Glass", "Boil", "kitchen", 40, 4.5, 5);
    store_search_query_init(&q);
    q.text = "kettel";   /* corrected to kettle */
    q.flags = STORE_SEARCH_FACETS;
    assert_int_equal(store_search(s, &q, &a, &err), 0);
    assert_int_equal(store_search(s, &q, &b, &err), 0);
    assert_int_equal(a.total, 2);
    assert_int_equal(b.total, a.total);
    assert_int_equal(b.n_hits, a.n_hits);
    for (size_t i = 0; i < a.n_hits; i++) {
        assert_string_equal(b.hits[i].product.sku, a.hits[i].product.sku);
        assert_true(b.hits[i].score == a.hits[i].score);
    }
    assert_int_equal(b.n_categories, a.n_categories);
    assert_int_equal(b.n_brands, a.n_brands);
    assert_int_equal(b.n_prices, a.n_prices);
    assert_string_equal(b.brands[0].value, a.brands[0].value);
    assert_int_equal(b.brands[0].count, 2);
    if (a.corrected) {
        assert_non_null(b.corrected);
        assert_string_equal(b.corrected, a.corrected);
    }
    store_search_result_free(&a);
    store_search_result_free(&b);
    /* a write: the new price and title */
    put_product(s, "KT1", "Kettle Steel Whistling", "Boil", "kitchen", 35, 4.0, 1);
    assert_int_equal(store_search(s, &q, &a, &err), 0);
    assert_int_equal(a.total, 2);
    for (size_t i = 0; i < a.n_hits; i++)
        if (strcmp(a.hits[i].product.sku, "KT1") == 0) {
            assert_true(a.hits[i].product.price == 35);
            assert_string_equal(a.hits[i].product.title, "Kettle Steel Whistling");
        }
    store_search_result_free(&a);
    /* an order takes the last steel kettle */
    assert_int_equal(store_search(s, &q, &a, &err), 0);   /* asked once more before the order */
    store_search_result_free(&a);
    q.in_stock = 1;
    assert_int_equal(store_search(s, &q, &a, &err), 0);
    assert_int_equal(a.total, 2);
    store_search_result_free(&a);
    q.in_stock = 0;
    assert_int_equal(store_cart_set_qty(s, "user:77", "KT1", 1, &err), 0);
    assert_int_equal(store_order_create(s, 77, "user:77", "kettle-1", &o, &err), 0);
    store_order_clear(&o);
    assert_int_equal(store_search(s, &q, &a, &err), 0);
    assert_int_equal(a.total, 2);
    for (size_t i = 0; i < a.n_hits; i++)
        if (strcmp(a.hits[i].product.sku, "KT1") == 0)
            assert_int_equal(a.hits[i].product.stock, 0);
    store_search_result_free(&a);
    q.in_stock = 1;
    assert_int_equal(store_search(s, &q, &a, &err), 0);
    assert_int_equal(a.total, 1);
    assert_string_equal(a.hits[0].product.sku, "KT2");
    store_search_result_free(&a);
}

typedef struct race {
    store *s;
    int id;
    int rc;
} race;

static void *checkout(void *arg)
{
    race *r = arg;
    char cart[32], key[32];
    store_order o;
    store_err err = {0};
    snprintf(cart, sizeof cart, "user:%d", r->id);
    snprintf(key, sizeof key, "key-%d", r->id);
    r->rc = store_order_create(r->s, r->id, cart, key, &o, &err);
    if (r->rc == 0)
        store_order_clear(&o);
    return NULL;
}

static void test_last_unit_race(void **state)
{
    store *s = ((fixture *)*state)->s;
    store_err err = {0};
    pthread_t th[6];
    race r[6];
    int wins = 0;
    store_product p;
    put_product(s, "LAST", "Last One", NULL, NULL, 9, 4, 1);
    for (int i = 0; i < 6; i++) {
        char cart[32];
        snprintf(cart, sizeof cart, "user:%d", i + 1);
        assert_int_equal(store_cart_set_qty(s, cart, "LAST", 1, &err), 0);
        r[i] = (race){s, i + 1, -99};
    }
    for (int i = 0; i < 6; i++)
        pthread_create(&th[i], NULL, checkout, &r[i]);
    for (int i = 0; i < 6; i++) {
        pthread_join(th[i], NULL);
        if (r[i].rc == 0)
            wins++;
        else
            assert_int_equal(r[i].rc, STORE_ESTOCK);
    }
    assert_int_equal(wins, 1);
    assert_int_equal(store_product_get(s, "LAST", &p, &err), 0);
    assert_int_equal(p.stock, 0);
    store_product_clear(&p);
}

static void test_filters_facets_injection(void **state)
{
    store *s = ((fixture *)*state)->s;
    store_err err = {0};
    store_search_query q;
    store_search_result r;
    static const char *const evil[] = {
        "\"", "*", "NEAR(", "AND", "OR NOT", "'; DROP TABLE products; --",
        "\"unbalanced", "a\"b\"c\"", "title:red", "^red", "(((", "red*",
        "NEAR(red mug, 2)", "\xff\xfe", "",
    };
    put_product(s, "M1", "Red Mug", "Acme", "kitchen", 5, 4.5, 3);
    put_product(s, "M2", "Blue Mug", "Acme", "kitchen", 15, 3.0, 0);
    put_product(s, "M3", "Red Plate", "Plato", "kitchen", 30, 5.0, 1);
    put_product(s, "S1", "Red Shoe", "Stride", "shoes", 80, 4.0, 2);
    store_search_query_init(&q);
    q.text = "red";
    q.flags = STORE_SEARCH_FACETS;
    assert_int_equal(store_search(s, &q, &r, &err), 0);
    assert_int_equal(r.total, 3);
    assert_int_equal(r.n_categories, 2);
    assert_string_equal(r.categories[0].value, "kitchen");
    assert_int_equal(r.categories[0].count, 2);
    assert_true(r.n_prices >= 2);
    store_search_result_free(&r);
    q.category = "kitchen";
    q.sort = STORE_SORT_PRICE_DESC;
    assert_int_equal(store_search(s, &q, &r, &err), 0);
    assert_int_equal(r.n_hits, 2);
    assert_string_equal(r.hits[0].product.sku, "M3");
    store_search_result_free(&r);
    store_search_query_init(&q);
    q.text = "mug";
    q.in_stock = 1;
    assert_int_equal(store_search(s, &q, &r, &err), 0);
    assert_int_equal(r.n_hits, 1);
    assert_string_equal(r.hits[0].product.sku, "M1");
    store_search_result_free(&r);
    store_search_query_init(&q);
    q.price_min = 10;
    q.price_max = 50;
    q.min_rating = 3.5;
    q.brand = "plato";
    assert_int_equal(store_search(s, &q, &r, &err), 0);   /* browse + filters */
    assert_int_equal(r.n_hits, 1);
    assert_string_equal(r.hits[0].product.sku, "M3");
    store_search_result_free(&r);
    /* a brand left out ("mugs not from acme"), whatever its case; the
     * total counts only what is left */
    store_search_query_init(&q);
    q.text = "red";
    assert_int_equal(store_search(s, &q, &r, &err), 0);   /* the same search with the brand: kept apart */
    assert_int_equal(r.total, 3);
    store_search_result_free(&r);
    store_search_query_init(&q);
    q.text = "red";
    q.not_brand = "ACME";
    assert_int_equal(store_search(s, &q, &r, &err), 0);
    assert_int_equal(r.n_hits, 2);
    assert_int_equal(r.total, 2);
    for (size_t i = 0; i < r.n_hits; i++)
        assert_string_not_equal(r.hits[i].product.brand, "Acme");
    store_search_result_free(&r);
    /* a word left out of the titles ("red things but not a mug"),
     * whatever its case; the total counts only what is left, and the
     * same search without it is not answered from a kept result */
    store_search_query_init(&q);
    q.text = "red";
    q.not_word = "MUG";
    assert_int_equal(store_search(s, &q, &r, &err), 0);
    assert_true(r.n_hits >= 1);
    assert_int_equal(r.total, (int64_t)r.n_hits);
    for (size_t i = 0; i < r.n_hits; i++)
        assert_null(strcasestr(r.hits[i].product.title, "mug"));
    store_search_result_free(&r);
    store_search_query_init(&q);
    q.text = "red";
    assert_int_equal(store_search(s, &q, &r, &err), 0);
    assert_int_equal(r.total, 3);
    store_search_result_free(&r);
    store_search_query_init(&q);
    q.limit = 1;
    q.offset = 1;
    q.sort = STORE_SORT_RATING;
    assert_int_equal(store_search(s, &q, &r, &err), 0);
    assert_int_equal(r.n_hits, 1);
    assert_int_equal(r.total, 4);
    assert_string_equal(r.hits[0].product.sku, "M1");
    store_search_result_free(&r);
    for (size_t i = 0; i < sizeof evil / sizeof evil[0]; i++) {
        for (int plain = 0; plain < 2; plain++) {
            store_search_query_init(&q);
            q.text = evil[i];
            q.flags = STORE_SEARCH_FACETS | (plain ? STORE_SEARCH_PLAIN : 0);
            assert_int_equal(store_search(s, &q, &r, &err), 0);
            store_search_result_free(&r);
        }
    }
    store_search_query_init(&q);
    q.text = "'; DROP TABLE products; -- red";
    assert_int_equal(store_search(s, &q, &r, &err), 0);
    assert_true(r.n_hits >= 1);
    store_search_result_free(&r);
    int64_t n = 0;
    assert_int_equal(store_product_count(s, &n, &err), 0);
    assert_int_equal(n, 4);
}

static void test_units_and_spelling(void **state)
{
    store *s = ((fixture *)*state)->s;
    store_err err = {0};
    store_search_query q;
    store_search_result r;
    put_product(s, "P1", "Charlotte Pipe 1/2 in. x 10 ft. PVC Pipe", NULL, NULL, 3, 4, 9);
    put_product(s, "P2", "2 in. x 4 in. x 8 ft. Stud Lumber", NULL, NULL, 3, 4, 9);
    put_product(s, "P3", "Garden Hose 50 ft.", NULL, NULL, 20, 4, 9);
    store_search_query_init(&q);
    q.text = "1/2\" pvc pipe 10'";
    assert_int_equal(store_search(s, &q, &r, &err), 0);
    assert_string_equal(r.hits[0].product.sku, "P1");
    store_search_result_free(&r);
    q.text = "2x4";
    assert_int_equal(store_search(s, &q, &r, &err), 0);
    assert_int_equal(r.n_hits, 1);
    assert_string_equal(r.hits[0].product.sku, "P2");
    store_search_result_free(&r);
    q.text = "gardn hoes";
    assert_int_equal(store_search(s, &q, &r, &err), 0);
    assert_true(r.n_hits >= 1);
    assert_string_equal(r.hits[0].product.sku, "P3");
    assert_non_null(r.corrected);
    store_search_result_free(&r);
}

/* A product whose stock the catalog does not keep (an import without a
 * stock column): always available, never decremented, "stock": null. */
static void test_untracked_stock(void **state)
{
    store *s = ((fixture *)*state)->s;
    store_err err = {0};
    store_product p = {0}, got;
    p.sku = "U1", p.title = "Untracked Hammer", p.category = "tools", p.price = 12;
    p.stock_untracked = 1;
    assert_int_equal(store_product_upsert(s, &p, &err), 0);
    put_product(s, "T0", "Tracked Hammer", NULL, "tools", 12, 4, 0);
    assert_int_equal(store_product_get(s, "U1", &got, &err), 0);
    assert_int_equal(got.stock_untracked, 1);
    char *json = NULL;
    assert_int_equal(store_product_to_json(&got, &json, &err), 0);
    assert_non_null(strstr(json, "\"stock\":null"));
    store_product back;
    assert_int_equal(store_product_from_json(json, &back, &err), 0);
    assert_int_equal(back.stock_untracked, 1);
    store_product_clear(&back);
    free(json);
    store_product_clear(&got);
    /* the in-stock filter keeps it and drops the tracked one at 0 */
    store_search_query q;
    store_search_query_init(&q);
    q.text = "hammer";
    q.in_stock = 1;
    store_search_result r;
    assert_int_equal(store_search(s, &q, &r, &err), 0);
    assert_int_equal(r.n_hits, 1);
    assert_string_equal(r.hits[0].product.sku, "U1");
    store_search_result_free(&r);
    /* any quantity can be added and ordered; nothing is decremented */
    store_cart_change ch = {.cart_id = "user:9", .op = STORE_CART_ADD, .sku = "U1", .qty = 40};
    store_cart_outcome out;
    assert_int_equal(store_cart_apply(s, &ch, &out, &err), 0);
    assert_int_equal(out.qty, 40);
    assert_int_equal(out.stock, -1);
    ch.sku = "T0", ch.qty = 1;
    assert_int_equal(store_cart_apply(s, &ch, &out, &err), STORE_ESTOCK);
    store_order_req req = {.user_id = 9, .cart_id = "user:9", .idempotency_key = "u-1"};
    store_order o;
    assert_int_equal(store_order_place(s, &req, &o, &err), 0);
    assert_true(o.total == 480);
    assert_int_equal(store_order_cancel(s, 9, o.id, &err), 0);
    store_order_clear(&o);
    assert_int_equal(store_product_get(s, "U1", &got, &err), 0);
    assert_int_equal(got.stock_untracked, 1);
    assert_int_equal(got.stock, 0);
    store_product_clear(&got);
    /* a product without a price is never sold at 0: not added, not ordered */
    store_product np = {0};
    np.sku = "NP", np.title = "Quote-only Shed", np.category = "tools", np.price_missing = 1, np.stock = 5;
    assert_int_equal(store_product_upsert(s, &np, &err), 0);
    ch.sku = "NP", ch.qty = 1, ch.cart_id = "user:10";
    assert_int_equal(store_cart_apply(s, &ch, &out, &err), STORE_EINVAL);
    np.price_missing = 0, np.price = 900;
    assert_int_equal(store_product_upsert(s, &np, &err), 0);
    assert_int_equal(store_cart_apply(s, &ch, &out, &err), 0);
    np.price_missing = 1, np.price = 0;   /* the price is withdrawn after it went into a cart */
    assert_int_equal(store_product_upsert(s, &np, &err), 0);
    store_order_req nreq = {.user_id = 10, .cart_id = "user:10", .idempotency_key = "np-1"};
    assert_int_equal(store_order_place(s, &nreq, &o, &err), STORE_EINVAL);
    assert_int_equal(store_product_get(s, "NP", &got, &err), 0);
    assert_int_equal(got.price_missing, 1);
    assert_int_equal(got.stock, 5);   /* nothing taken */
    store_product_clear(&got);
    /* a later write with a stock count tracks it again */
    put_product(s, "U1", "Untracked Hammer", NULL, "tools", 12, 4, 3);
    assert_int_equal(store_product_get(s, "U1", &got, &err), 0);
    assert_int_equal(got.stock_untracked, 0);
    assert_int_equal(got.stock, 3);
    store_product_clear(&got);
}

/* the shop's own copies of product images: files beside the database
 * whatever backend holds the documents; product reads name the copies and
 * keep the sources */
static void test_media(void **state)
{
    fixture *fx = *state;
    store *s = fx->s;
    store_err err = {0};
    static const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
    static const char webp[] = "RIFF\x10\0\0\0WEBPVP8 ";
    static const char avif[] = "\0\0\0\x1c" "ftypmif1\0\0\0\0mif1avifmiaf";
    const char *ext = NULL;
    const char *t = "https://cdn.example/a.png", *u = "https://cdn.example/b.png";
    const char *hash = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    char name[STORE_MEDIA_NAME_MAX], name2[STORE_MEDIA_NAME_MAX], *bytes = NULL, *json = NULL;
    const char *type = NULL;
    size_t len = 0;

    /* the type comes from the bytes, never from a name or a header */
    assert_string_equal(store_media_sniff(png, sizeof png, &ext), "image/png");
    assert_string_equal(ext, "png");
    assert_string_equal(store_media_sniff("\xff\xd8\xff\xe0", 4, &ext), "image/jpeg");
    assert_string_equal(store_media_sniff("GIF89a\1\0", 8, NULL), "image/gif");
    assert_string_equal(store_media_sniff(webp, sizeof webp - 1, NULL), "image/webp");
    assert_string_equal(store_media_sniff(avif, sizeof avif - 1, &ext), "image/avif");
    assert_string_equal(ext, "avif");
    assert_null(store_media_sniff("<!doctype html><p>", 18, &ext));
    assert_null(ext);
    assert_null(store_media_sniff(png, 4, NULL));   /* a prefix is not enough */
    /* names: a hash and a known type, nothing that could climb out */
    assert_true(store_media_name_valid("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.png"));
    assert_false(store_media_name_valid("0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef.png"));
    assert_false(store_media_name_valid("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.svg"));
    assert_false(store_media_name_valid("../../../../etc/passwd"));
    assert_false(store_media_name_valid("index.tsv"));
    assert_false(store_media_url_valid("file:///etc/passwd"));
    assert_false(store_media_url_valid("https://x/\n.png"));
    assert_true(store_media_url_valid(t));

    put_product(s, "M1", "Blue Vase", "Acme", "home-decoration", 20, 4, 3);
    store_product p = {0};
    assert_int_equal(store_product_get(s, "M1", &p, &err), 0);
    p.thumbnail = strdup(t);
    p.images = calloc(2, sizeof *p.images);
    p.images[0] = strdup(t);
    p.images[1] = strdup(u);
    p.n_images = 2;
    assert_int_equal(store_product_upsert(s, &p, &err), 0);
    store_product_clear(&p);
    /* nothing stored yet: the product names the sources only */
    assert_int_equal(store_media_lookup(s, t, name, &err), STORE_ENOTFOUND);
    assert_int_equal(store_product_get(s, "M1", &p, &err), 0);
    assert_null(p.thumbnail_media);
    assert_null(p.images_media);
    store_product_clear(&p);

    /* refused: not an image, too large, not http(s), a bad hash */
    assert_int_equal(store_media_put(s, t, "<html>", 6, hash, NULL, &err), STORE_EINVAL);
    assert_int_equal(store_media_put(s, t, png, (size_t)STORE_MEDIA_MAX_BYTES + 1, hash, NULL, &err), STORE_EINVAL);
    assert_int_equal(store_media_put(s, "ftp://x/a.png", png, sizeof png, hash, NULL, &err), STORE_EINVAL);
    assert_int_equal(store_media_put(s, t, png, sizeof png, "../x", NULL, &err), STORE_EINVAL);

    assert_int_equal(store_media_put(s, t, png, sizeof png, hash, name, &err), 0);
    assert_string_equal(name, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.png");
    assert_int_equal(store_media_lookup(s, t, name2, &err), 0);
    assert_string_equal(name2, name);
    assert_int_equal(store_media_read(s, name, &bytes, &len, &type, &err), 0);
    assert_int_equal(len, sizeof png);
    assert_memory_equal(bytes, png, sizeof png);
    assert_string_equal(type, "image/png");
    free(bytes);
    assert_int_equal(store_media_read(s, "../aisle.db", &bytes, &len, &type, &err), STORE_EINVAL);
    assert_null(bytes);
    assert_int_equal(store_media_read(s, "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210.png", &bytes,
                                      &len, &type, &err), STORE_ENOTFOUND);

    /* reads name the copy and keep the source */
    assert_int_equal(store_product_get(s, "M1", &p, &err), 0);
    assert_string_equal(p.thumbnail, t);
    assert_non_null(p.thumbnail_media);
    assert_string_equal(p.thumbnail_media, "/media/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.png");
    assert_non_null(p.images_media);
    assert_string_equal(p.images_media[0], p.thumbnail_media);
    assert_null(p.images_media[1]);
    assert_int_equal(store_product_to_json(&p, &json, &err), 0);
    assert_non_null(strstr(json, "\"thumbnail\":\"\\/media\\/0123456789abcdef"));
    assert_non_null(strstr(json, "\"originalThumbnail\":\"https:\\/\\/cdn.example\\/a.png\""));
    assert_non_null(strstr(json, "\"originalImages\":[\"https:\\/\\/cdn.example\\/a.png\",\"https:\\/\\/cdn.example\\/b.png\"]"));
    store_product_clear(&p);
    /* a document read and written back keeps its sources */
    assert_int_equal(store_product_from_json(json, &p, &err), 0);
    assert_string_equal(p.thumbnail, t);
    assert_int_equal(p.n_images, 2);
    assert_string_equal(p.images[0], t);
    assert_string_equal(p.images[1], u);
    store_product_clear(&p);
    free(json);

    store_search_query q;
    store_search_result res;
    store_search_query_init(&q);
    q.text = "vase";
    assert_int_equal(store_search(s, &q, &res, &err), 0);
    assert_int_equal(res.n_hits, 1);
    assert_non_null(res.hits[0].product.thumbnail_media);
    store_search_result_free(&res);

    /* equal bytes under another URL: one file; another instance sharing the
     * directory sees the new link */
    store_config cfg;
    store *other = NULL;
    store_config_init(&cfg);
    cfg.sqlite_path = fx->path;
    cfg.documents = cfg.ephemeral = STORE_BACKEND_SQLITE;
    cfg.media_dir = store_media_dir(s);
    assert_int_equal(store_open(&cfg, &other, &err), 0);
    assert_int_equal(store_media_lookup(other, u, name2, &err), STORE_ENOTFOUND);
    assert_int_equal(store_media_put(s, u, png, sizeof png, hash, name2, &err), 0);
    assert_string_equal(name2, name);
    assert_int_equal(store_media_lookup(other, u, name2, &err), 0);
    assert_string_equal(name2, name);
    store_close(other);
}

/* a member of the facts text `facts` (parsed), as JSON text ("" when absent) */
static void fact(const char *facts, const char *key, char *out, size_t n)
{
    json_object *o = json_tokener_parse(facts), *v;
    assert_non_null(o);
    assert_true(json_object_is_type(o, json_type_object));
    snprintf(out, n, "%s", json_object_object_get_ex(o, key, &v) ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN) : "");
    json_object_put(o);
}

/* A product's other facts (warranty, shipping, returns, weight,
 * dimensions, minimum order): written by upsert, read by get, shown by
 * the product document as an object; none stays none; an upsert without
 * them stores none (as description); more than 4 KiB, or text that is not
 * a JSON object, is refused and nothing of the batch written; a
 * DummyJSON document gives them under its own names, bad types left out. */
static void test_product_facts(void **state)
{
    store *s = ((fixture *)*state)->s;
    store_err err = {0};
    store_product p = {0}, got;
    char v[256], *json = NULL;
    size_t bad = 99;

    p = (store_product){.sku = "F1", .title = "Essence Mascara", .price = 9.99, .stock = 5,
                        .facts = "{\"warranty\":\"1 week warranty\",\"shipping\":\"Ships in 1 month\","
                                 "\"returns\":\"30 days return policy\",\"weight\":4,"
                                 "\"dimensions\":{\"width\":15.14,\"height\":13.08,\"depth\":22.99},"
                                 "\"minOrder\":48}"};
    assert_int_equal(store_product_upsert(s, &p, &err), 0);
    put_product(s, "F2", "Plain Mug", "Acme", "kitchen", 5, 4, 3);
    assert_int_equal(store_product_get(s, "F1", &got, &err), 0);
    assert_non_null(got.facts);
    fact(got.facts, "warranty", v, sizeof v);
    assert_string_equal(v, "\"1 week warranty\"");
    fact(got.facts, "returns", v, sizeof v);
    assert_string_equal(v, "\"30 days return policy\"");
    fact(got.facts, "weight", v, sizeof v);
    assert_string_equal(v, "4");
    fact(got.facts, "minOrder", v, sizeof v);
    assert_string_equal(v, "48");
    fact(got.facts, "dimensions", v, sizeof v);
    assert_non_null(strstr(v, "\"depth\":22.99"));
    /* the document shows them as an object, and reads them back */
    assert_int_equal(store_product_to_json(&got, &json, &err), 0);
    assert_non_null(strstr(json, "\"facts\":{"));
    store_product_clear(&got);
    assert_int_equal(store_product_from_json(json, &got, &err), 0);
    free(json);
    assert_non_null(got.facts);
    fact(got.facts, "warranty", v, sizeof v);
    assert_string_equal(v, "\"1 week warranty\"");
    store_product_clear(&got);

    /* none stays none, and the document has no "facts" */
    assert_int_equal(store_product_get(s, "F2", &got, &err), 0);
    assert_null(got.facts);
    assert_int_equal(store_product_to_json(&got, &json, &err), 0);
    assert_null(strstr(json, "\"facts\""));
    free(json);
    store_product_clear(&got);

    /* an upsert without facts stores none, as it does a description */
    p.facts = NULL;
    assert_int_equal(store_product_upsert(s, &p, &err), 0);
    assert_int_equal(store_product_get(s, "F1", &got, &err), 0);
    assert_null(got.facts);
    store_product_clear(&got);

    /* more than 4 KiB: refused, and nothing of the batch is written */
    {
        char *big = malloc(STORE_PRODUCT_FACTS_MAX + 64);
        store_product two[2] = {{.sku = "F3", .title = "Three", .price = 1},
                                {.sku = "F4", .title = "Four", .price = 1}};
        assert_non_null(big);
        int n = snprintf(big, 32, "{\"warranty\":\"");
        memset(big + n, 'w', STORE_PRODUCT_FACTS_MAX);
        memcpy(big + n + STORE_PRODUCT_FACTS_MAX, "\"}", 3);
        two[1].facts = big;
        assert_int_equal(store_product_upsert_many(s, two, 2, &bad, &err), STORE_EINVAL);
        assert_int_equal(bad, 1);
        assert_non_null(strstr(err.msg, "facts"));
        assert_int_equal(store_product_get(s, "F3", &got, &err), STORE_ENOTFOUND);
        assert_int_equal(store_product_upsert(s, &two[1], &err), STORE_EINVAL);
        assert_int_equal(store_product_get(s, "F4", &got, &err), STORE_ENOTFOUND);
        /* exactly the limit is taken */
        big[STORE_PRODUCT_FACTS_MAX - 2] = '"';
        big[STORE_PRODUCT_FACTS_MAX - 1] = '}';
        big[STORE_PRODUCT_FACTS_MAX] = '\0';
        assert_int_equal(store_product_upsert(s, &two[1], &err), 0);
        assert_int_equal(store_product_get(s, "F4", &got, &err), 0);
        assert_int_equal(strlen(got.facts) >= STORE_PRODUCT_FACTS_MAX - 16, 1);
        store_product_clear(&got);
        free(big);
        /* text that is not a JSON object */
        two[0].facts = "[1,2]";
        assert_int_equal(store_product_upsert(s, &two[0], &err), STORE_EINVAL);
        two[0].facts = "{\"warranty\":";
        assert_int_equal(store_product_upsert(s, &two[0], &err), STORE_EINVAL);
        assert_int_equal(store_product_get(s, "F3", &got, &err), STORE_ENOTFOUND);
    }

    /* DummyJSON's names; a wrong type is left out, never refused; long
     * text is cut (at a character) */
    {
        char doc[2048], lng[700];
        memset(lng, 'x', sizeof lng - 1);
        lng[sizeof lng - 1] = '\0';
        lng[510] = '\xc3';   /* a two-byte character across the cut */
        lng[511] = '\xa9';
        lng[512] = '\xc3';
        lng[513] = '\xa9';
        snprintf(doc, sizeof doc,
                 "{\"id\":7,\"sku\":\"F5\",\"title\":\"Five\",\"price\":3,"
                 "\"warrantyInformation\":\"1 week warranty\",\"shippingInformation\":\"%s\","
                 "\"returnPolicy\":5,\"weight\":\"heavy\",\"dimensions\":{\"width\":2.5,\"height\":\"x\","
                 "\"depth\":-1},\"minimumOrderQuantity\":48}", lng);
        assert_int_equal(store_product_from_json(doc, &got, &err), 0);
        assert_non_null(got.facts);
        fact(got.facts, "warranty", v, sizeof v);
        assert_string_equal(v, "\"1 week warranty\"");
        fact(got.facts, "returns", v, sizeof v);
        assert_string_equal(v, "");
        fact(got.facts, "weight", v, sizeof v);
        assert_string_equal(v, "");
        fact(got.facts, "dimensions", v, sizeof v);
        assert_string_equal(v, "{\"width\":2.5}");
        fact(got.facts, "minOrder", v, sizeof v);
        assert_string_equal(v, "48");
        {
            json_object *o = json_tokener_parse(got.facts), *sh;
            assert_true(json_object_object_get_ex(o, "shipping", &sh));
            assert_int_equal(json_object_get_string_len(sh), 512);   /* 510 x and one é */
            json_object_put(o);
        }
        assert_int_equal(store_product_upsert(s, &got, &err), 0);
        store_product_clear(&got);
        /* a number spelt at length is written short */
        char longnum[700] = "{\"sku\":\"F7\",\"title\":\"Seven\",\"weight\":1.";
        size_t l = strlen(longnum);
        memset(longnum + l, '0', 600);
        memcpy(longnum + l + 600, "1}", 3);
        assert_int_equal(store_product_from_json(longnum, &got, &err), 0);
        assert_non_null(got.facts);
        assert_string_equal(got.facts, "{\"weight\":1}");
        store_product_clear(&got);
        /* a document with nothing of the kind has no facts */
        assert_int_equal(store_product_from_json("{\"sku\":\"F6\",\"title\":\"Six\",\"weight\":null,"
                                                 "\"dimensions\":[1,2]}", &got, &err), 0);
        assert_null(got.facts);
        store_product_clear(&got);
    }
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

/* When a row cannot run at all, one skipped test says why, instead of a
 * skip line per test. */
static char row_why[256];
static void test_backend_unavailable(void **state)
{
    (void)state;
    print_message("[  SKIP    ] %s\n", row_why);
    skip();
}

int main(void)
{
    const struct CMUnitTest eph_tests[] = {
        T(test_sessions_ttl_window), T(test_tokens), T(test_counters),
    };
    const struct CMUnitTest doc_tests[] = {
        T(test_users), T(test_memory_audit), T(test_catalog_crud), T(test_lists_round_trip), T(test_carts),
        T(test_orders), T(test_order_refund_record), T(test_priced_order), T(test_priced_cart_changed), T(test_last_unit_race),
        T(test_price_facets_in_price_order),
        T(test_filters_facets_injection), T(test_search_again_sees_changes),
        T(test_units_and_spelling), T(test_untracked_stock), T(test_media), T(test_product_facts),
    };
    const struct CMUnitTest unavailable[] = {
        cmocka_unit_test(test_backend_unavailable),
    };
    int failed = 0;
    mongoc_init();
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++) {
        char name[64];
        fixture probe = {0};
        store_config cfg;
        current = &backends[i];
        store_config_init(&cfg);
        snprintf(probe.path, sizeof probe.path, "/nonexistent");
        if (current->config(&probe, &cfg, row_why, sizeof row_why)) {
            snprintf(name, sizeof name, "store contract (%s)", current->name);
            failed += cmocka_run_group_tests_name(name, unavailable, NULL, NULL);
            continue;
        }
        if (current->families & FAM_EPH) {
            snprintf(name, sizeof name, "store contract, ephemeral (%s)", current->name);
            failed += cmocka_run_group_tests_name(name, eph_tests, NULL, NULL);
        }
        if (current->families & FAM_DOC) {
            snprintf(name, sizeof name, "store contract, documents (%s)", current->name);
            failed += cmocka_run_group_tests_name(name, doc_tests, NULL, NULL);
        }
    }
    if (redis_server_close(&redis) != 0)
        fprintf(stderr, "could not remove the redis-server folder\n");
    mongoc_cleanup();
    return failed;
}
