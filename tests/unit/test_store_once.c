/* tests/unit/test_store_once.c — exactly-once effects of stores/store.h
 * under concurrency: atomic cart increments, keyed cart changes and
 * checkouts raced by 50 threads (one effect, one audit row, 49 replays),
 * request replay keys (store_once_*) with leases, the first-answer save
 * (store_session_save_once), and the conversation driver's duplicates:
 * one chat message sent by several threads at once changes the cart once,
 * is kept in the history once, and every sender gets the same answer.
 * Rows as in the contract suite: SQLite always; the replay keys also on a
 * redis-server started here; the document family on MongoDB when
 * AISLE_TEST_MONGO_URI is set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/eng.h"
#include "stores/store.h"
#include "tests/redis_server.h"
#include "sqlite_store.h"

#include <json-c/json.h>

#include <mongoc/mongoc.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NTHREADS 50

static int64_t fake_now = 1700000000000;
static int64_t fake_clock(void *ud)
{
    (void)ud;
    return __atomic_load_n(&fake_now, __ATOMIC_SEQ_CST);
}
static void advance_ms(int64_t ms)
{
    __atomic_add_fetch(&fake_now, ms, __ATOMIC_SEQ_CST);
}

typedef struct fixture {
    store *s;
    char dir[256];
    char path[300];
    char url[512];
    char mongo_db[64];
} fixture;

enum { FAM_DOC = 1, FAM_EPH = 2 };

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

static redis_server redis;

static int redis_config(fixture *fx, store_config *cfg, char *why, size_t n)
{
    static int started, failed, serial;
    if (!started) {
        started = 1;
        failed = redis_server_open(&redis, "aisle-redis-once", 0) != 0;
    }
    if (failed) {
        snprintf(why, n, "Redis rows skipped: %s", redis.why);
        return 1;
    }
    snprintf(fx->url, sizeof fx->url, "redis://127.0.0.1:%d/0?prefix=once%d.%d:",
             redis.port, (int)getpid(), ++serial);
    cfg->sqlite_path = fx->path;
    cfg->documents = STORE_BACKEND_SQLITE;
    cfg->ephemeral = STORE_BACKEND_REDIS;
    cfg->redis_url = fx->url;
    return 0;
}

static int mongo_config(fixture *fx, store_config *cfg, char *why, size_t n)
{
    static int serial;
    const char *base = getenv("AISLE_TEST_MONGO_URI");
    mongoc_uri_t *uri;
    bson_error_t e;
    if (!base || !*base) {
        snprintf(why, n, "MongoDB rows skipped: AISLE_TEST_MONGO_URI not set"
                 " (no MongoDB server on this machine)");
        return 1;
    }
    if (!(uri = mongoc_uri_new_with_error(base, &e))) {
        snprintf(why, n, "MongoDB rows skipped: bad AISLE_TEST_MONGO_URI: %s", e.message);
        return 1;
    }
    snprintf(fx->mongo_db, sizeof fx->mongo_db, "aisle_once_%d_%d", (int)getpid(), ++serial);
    mongoc_uri_set_database(uri, fx->mongo_db);
    snprintf(fx->url, sizeof fx->url, "%s", mongoc_uri_get_string(uri));
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
    snprintf(fx->dir, sizeof fx->dir, "/tmp/aisle-once-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->path, sizeof fx->path, "%s/aisle.db", fx->dir);
    store_config_init(&cfg);
    cfg.redis_url = NULL;
    cfg.mongo_uri = NULL;
    cfg.clock = fake_clock;
    cfg.pool_size = 8;
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

static void put_product(store *s, const char *sku, double price, int64_t stock)
{
    store_product p = {0};
    store_err err = {0};
    p.sku = (char *)sku;
    p.title = (char *)sku;
    p.price = price;
    p.stock = stock;
    assert_int_equal(store_product_upsert(s, &p, &err), 0);
}

static int64_t stock_of(store *s, const char *sku)
{
    store_product p;
    store_err err = {0};
    int64_t n;
    assert_int_equal(store_product_get(s, sku, &p, &err), 0);
    n = p.stock;
    store_product_clear(&p);
    return n;
}

static int64_t line_qty(store *s, const char *cart, const char *sku)
{
    store_cart c;
    store_err err = {0};
    int64_t q = 0;
    assert_int_equal(store_cart_get(s, cart, &c, &err), 0);
    for (size_t i = 0; i < c.n_items; i++)
        if (!strcmp(c.items[i].sku, sku))
            q = c.items[i].qty;
    store_cart_clear_struct(&c);
    return q;
}

/* how many audit events of `action` the actor has */
static int audit_count(store *s, const char *actor, const char *action)
{
    char *j = NULL, needle[128];
    store_err err = {0};
    int n = 0;
    assert_int_equal(store_audit_list(s, actor, NULL, 1000, &j, &err), 0);
    snprintf(needle, sizeof needle, "\"action\":\"%s\"", action);
    for (const char *p = j; (p = strstr(p, needle)); p++)
        n++;
    free(j);
    return n;
}

/* ---------------- threads ---------------- */

typedef struct worker {
    store *s;
    int i;
    const char *key;           /* shared idempotency key, or NULL */
    int rc;
    store_cart_outcome co;
    store_order o;
    char *result;
    store_err err;
} worker;

static pthread_barrier_t gate;

static void *cart_add_worker(void *arg)
{
    worker *w = arg;
    store_audit_rec a = {"user:1", "cart.add", NULL, "{\"qty\":1}"};
    store_cart_change ch = {.cart_id = "user:1", .op = STORE_CART_ADD, .sku = "HOT",
                            .qty = 1, .idempotency_key = w->key, .audit = &a};
    pthread_barrier_wait(&gate);
    w->rc = store_cart_apply(w->s, &ch, &w->co, &w->err);
    return NULL;
}

static void *order_worker(void *arg)
{
    worker *w = arg;
    store_audit_rec a = {"user:9", "order.create", NULL, "{\"channel\":\"chat\"}"};
    store_order_req req = {.user_id = 9, .cart_id = "user:9",
                           .idempotency_key = "checkout-1", .audit = &a};
    pthread_barrier_wait(&gate);
    w->rc = store_order_place(w->s, &req, &w->o, &w->err);
    return NULL;
}

static void *once_worker(void *arg)
{
    worker *w = arg;
    pthread_barrier_wait(&gate);
    w->rc = store_once_begin(w->s, "msg:abc", 30000, &w->result, &w->err);
    return NULL;
}

/* each thread saves its own conversation 10 times and the shared one 10
 * times, with a cache put and a replay key between, all at once */
static void *save_worker(void *arg)
{
    worker *w = arg;
    char sid[32], js[64], turn[64], key[48];
    pthread_barrier_wait(&gate);
    for (int k = 0; k < 10 && !w->rc; k++) {
        snprintf(sid, sizeof sid, "conv-%d", w->i);
        snprintf(js, sizeof js, "{\"n\":%d}", k);
        snprintf(turn, sizeof turn, "{\"t\":%d,\"k\":%d}", w->i, k);
        if ((w->rc = store_session_save(w->s, sid, js, 0, turn, &w->err)) != 0 ||
            (w->rc = store_session_save(w->s, "conv-shared", js, 0, turn, &w->err)) != 0)
            break;
        snprintf(key, sizeof key, "c:%d:%d", w->i, k);
        if ((w->rc = store_cache_put(w->s, key, turn, 60, &w->err)) != 0)
            break;
        snprintf(key, sizeof key, "msg:%d:%d", w->i, k);
        char *first = NULL;
        if ((w->rc = store_once_begin(w->s, key, 30000, &first, &w->err)) != 0)
            break;
        w->rc = store_once_finish(w->s, key, "{}", 60, &w->err);
    }
    return NULL;
}

static void run_threads(worker *w, void *(*fn)(void *))
{
    pthread_t th[NTHREADS];
    pthread_barrier_init(&gate, NULL, NTHREADS);
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, fn, &w[i]), 0);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&gate);
}

/* ---------------- document family ---------------- */

/* 50 concurrent ADD 1 on one line end at exactly 50: the increment is one
 * statement, not a read and a write that could interleave. */
static void test_cart_add_race(void **state)
{
    store *s = ((fixture *)*state)->s;
    worker w[NTHREADS];
    put_product(s, "HOT", 5, 1000);
    for (int i = 0; i < NTHREADS; i++)
        w[i] = (worker){.s = s, .i = i, .rc = -99};
    run_threads(w, cart_add_worker);
    for (int i = 0; i < NTHREADS; i++) {
        if (w[i].rc)
            print_message("thread %d: %s\n", i, w[i].err.msg);
        assert_int_equal(w[i].rc, 0);
        assert_int_equal(w[i].co.replayed, 0);
        assert_true(w[i].co.qty >= 1 && w[i].co.qty <= NTHREADS);
    }
    assert_int_equal(line_qty(s, "user:1", "HOT"), NTHREADS);
    assert_int_equal(audit_count(s, "user:1", "cart.add"), NTHREADS);
}

/* 50 concurrent ADD 1 with one key: one increment, one audit row, 49
 * replays that all report the first outcome. */
static void test_cart_key_race(void **state)
{
    store *s = ((fixture *)*state)->s;
    worker w[NTHREADS];
    int fresh = 0;
    put_product(s, "HOT", 5, 1000);
    for (int i = 0; i < NTHREADS; i++)
        w[i] = (worker){.s = s, .i = i, .key = "add-hot-1", .rc = -99};
    run_threads(w, cart_add_worker);
    for (int i = 0; i < NTHREADS; i++) {
        if (w[i].rc)
            print_message("thread %d: %s\n", i, w[i].err.msg);
        assert_int_equal(w[i].rc, 0);
        assert_int_equal(w[i].co.qty, 1);
        assert_int_equal(w[i].co.stock, 1000);
        fresh += !w[i].co.replayed;
    }
    assert_int_equal(fresh, 1);
    assert_int_equal(line_qty(s, "user:1", "HOT"), 1);
    assert_int_equal(audit_count(s, "user:1", "cart.add"), 1);
}

/* A replayed change changes nothing and returns the first quantity; the
 * key is per cart; a failed change keeps no key. */
static void test_cart_replay_and_caps(void **state)
{
    store *s = ((fixture *)*state)->s;
    store_err err = {0};
    store_cart_outcome o;
    store_audit_rec a = {"user:2", "cart.add", NULL, NULL};
    store_cart_change ch = {.cart_id = "user:2", .op = STORE_CART_ADD, .sku = "A",
                            .qty = 2, .idempotency_key = "k1", .audit = &a};
    put_product(s, "A", 3, 5);

    assert_int_equal(store_cart_apply(s, &ch, &o, &err), 0);
    assert_int_equal(o.qty, 2);
    assert_int_equal(o.replayed, 0);
    ch.qty = 3;                         /* same key, other body: the first wins */
    assert_int_equal(store_cart_apply(s, &ch, &o, &err), 0);
    assert_int_equal(o.qty, 2);
    assert_int_equal(o.replayed, 1);
    assert_int_equal(line_qty(s, "user:2", "A"), 2);
    assert_int_equal(audit_count(s, "user:2", "cart.add"), 1);

    /* over stock: refused, nothing kept, the key can be tried again */
    ch.idempotency_key = "k2";
    ch.qty = 4;
    assert_int_equal(store_cart_apply(s, &ch, &o, &err), STORE_ESTOCK);
    assert_int_equal(o.stock, 5);
    assert_int_equal(line_qty(s, "user:2", "A"), 2);
    ch.qty = 3;
    assert_int_equal(store_cart_apply(s, &ch, &o, &err), 0);
    assert_int_equal(o.qty, 5);
    assert_int_equal(o.replayed, 0);
    assert_int_equal(audit_count(s, "user:2", "cart.add"), 2);

    /* max_qty caps the line besides stock */
    ch = (store_cart_change){.cart_id = "user:2", .op = STORE_CART_SET, .sku = "A",
                             .qty = 4, .max_qty = 3};
    assert_int_equal(store_cart_apply(s, &ch, &o, &err), STORE_ESTOCK);
    assert_int_equal(line_qty(s, "user:2", "A"), 5);
    ch.qty = 3;
    assert_int_equal(store_cart_apply(s, &ch, &o, &err), 0);
    assert_int_equal(o.qty, 3);
    ch.qty = 6;
    ch.max_qty = 0;
    assert_int_equal(store_cart_apply(s, &ch, &o, &err), STORE_ESTOCK);

    /* the same key on another cart is another change */
    ch = (store_cart_change){.cart_id = "user:3", .op = STORE_CART_ADD, .sku = "A",
                             .qty = 1, .idempotency_key = "k1"};
    assert_int_equal(store_cart_apply(s, &ch, &o, &err), 0);
    assert_int_equal(o.replayed, 0);
    assert_int_equal(line_qty(s, "user:3", "A"), 1);

    /* long keys (a cart id and a message id joined) work; too long ones
     * are refused before anything happens */
    {
        char longkey[600];
        memset(longkey, 'x', sizeof longkey);
        longkey[400] = '\0';
        ch.idempotency_key = longkey;
        assert_int_equal(store_cart_apply(s, &ch, &o, &err), 0);
        assert_int_equal(store_cart_apply(s, &ch, &o, &err), 0);
        assert_int_equal(o.replayed, 1);
        longkey[400] = 'x';
        longkey[599] = '\0';
        assert_int_equal(store_cart_apply(s, &ch, &o, &err), STORE_EINVAL);
        assert_int_equal(line_qty(s, "user:3", "A"), 2);
    }

    /* unknown product, bad arguments, remove, clear */
    ch.sku = "NOPE";
    ch.idempotency_key = NULL;
    assert_int_equal(store_cart_apply(s, &ch, &o, &err), STORE_ENOTFOUND);
    ch.sku = "A";
    ch.qty = 0;
    assert_int_equal(store_cart_apply(s, &ch, &o, &err), STORE_EINVAL);
    ch = (store_cart_change){.cart_id = "user:2", .op = STORE_CART_REMOVE, .sku = "A",
                             .idempotency_key = "rm1"};
    assert_int_equal(store_cart_apply(s, &ch, &o, &err), 0);
    assert_int_equal(o.qty, 0);
    assert_int_equal(store_cart_apply(s, &ch, &o, &err), 0);   /* replay */
    assert_int_equal(o.replayed, 1);
    ch.idempotency_key = NULL;
    assert_int_equal(store_cart_apply(s, &ch, &o, &err), STORE_ENOTFOUND);
    ch = (store_cart_change){.cart_id = "user:3", .op = STORE_CART_CLEAR};
    assert_int_equal(store_cart_apply(s, &ch, &o, &err), 0);
    assert_int_equal(line_qty(s, "user:3", "A"), 0);
    /* a bad audit record is refused before anything happens */
    store_audit_rec bad = {"user:3", "cart.add", NULL, "{nope"};
    ch = (store_cart_change){.cart_id = "user:3", .op = STORE_CART_ADD, .sku = "A",
                             .qty = 1, .audit = &bad};
    assert_int_equal(store_cart_apply(s, &ch, &o, &err), STORE_EINVAL);
    assert_int_equal(line_qty(s, "user:3", "A"), 0);
}

/* A change asked for the cart it leaves gets it from its own transaction
 * (SQLite), or nothing and cart_read 0 (a backend that does not): either
 * way what the caller shows is the store's cart.  A refused change leaves
 * it empty. */
static void test_cart_after(void **state)
{
    store *s = ((fixture *)*state)->s;
    store_err err = {0};
    store_cart_outcome o;
    store_cart now = {0};
    put_product(s, "A", 3, 5);
    put_product(s, "B", 4, 5);
    store_cart_change ch = {.cart_id = "user:4", .op = STORE_CART_ADD, .sku = "A", .qty = 2,
                            .idempotency_key = "a1", .cart_after = &now};
    assert_int_equal(store_cart_apply(s, &ch, &o, &err), 0);
    bool reads = o.cart_read == 1;
    if (reads) {
        assert_int_equal(now.n_items, 1);
        assert_string_equal(now.items[0].sku, "A");
        assert_int_equal(now.items[0].qty, 2);
    } else {
        assert_int_equal(now.n_items, 0);
    }
    store_cart_clear_struct(&now);
    ch.sku = "B", ch.qty = 1, ch.idempotency_key = "b1";
    assert_int_equal(store_cart_apply(s, &ch, &o, &err), 0);
    if (reads) {
        assert_int_equal(now.n_items, 2);
        assert_string_equal(now.items[1].sku, "B");
        assert_true(now.subtotal == 2 * 3 + 4);
    }
    store_cart_clear_struct(&now);
    /* a replay reads the cart as it is */
    ch.sku = "A", ch.qty = 2, ch.idempotency_key = "a1";
    assert_int_equal(store_cart_apply(s, &ch, &o, &err), 0);
    assert_int_equal(o.replayed, 1);
    assert_int_equal(o.cart_read, reads ? 1 : 0);
    if (reads) {
        assert_int_equal(now.n_items, 2);
        assert_int_equal(now.items[0].qty, 2);
    }
    store_cart_clear_struct(&now);
    /* refused (over stock): nothing kept, nothing read */
    ch.qty = 9, ch.idempotency_key = "a2";
    assert_int_equal(store_cart_apply(s, &ch, &o, &err), STORE_ESTOCK);
    assert_int_equal(o.cart_read, 0);
    assert_int_equal(now.n_items, 0);
    assert_null(now.items);
    /* a remove leaves the other line */
    ch = (store_cart_change){.cart_id = "user:4", .op = STORE_CART_REMOVE, .sku = "A", .cart_after = &now};
    assert_int_equal(store_cart_apply(s, &ch, &o, &err), 0);
    if (reads) {
        assert_int_equal(now.n_items, 1);
        assert_string_equal(now.items[0].sku, "B");
    }
    store_cart_clear_struct(&now);
    /* the SQLite backend reads it; a backend that does not says so */
    if (strcmp(current->name, "sqlite") == 0)
        assert_true(reads);
}

/* 50 concurrent checkouts with one key: one order, one stock decrement,
 * one audit row (with orderId), 49 replays of the same order. */
static void test_order_place_race(void **state)
{
    store *s = ((fixture *)*state)->s;
    store_err err = {0};
    worker w[NTHREADS];
    int fresh = 0;
    int64_t id = 0;
    store_order *list = NULL;
    size_t n = 0;
    char *j = NULL, needle[64];
    put_product(s, "BOOT", 80, 10);
    assert_int_equal(store_cart_set_qty(s, "user:9", "BOOT", 2, &err), 0);
    for (int i = 0; i < NTHREADS; i++)
        w[i] = (worker){.s = s, .i = i, .rc = -99};
    run_threads(w, order_worker);
    for (int i = 0; i < NTHREADS; i++) {
        if (w[i].rc)
            print_message("thread %d: %s\n", i, w[i].err.msg);
        assert_int_equal(w[i].rc, 0);
        if (!id)
            id = w[i].o.id;
        assert_int_equal(w[i].o.id, id);
        assert_int_equal(w[i].o.n_lines, 1);
        assert_int_equal(w[i].o.lines[0].qty, 2);
        fresh += !w[i].o.replayed;
        store_order_clear(&w[i].o);
    }
    assert_int_equal(fresh, 1);
    assert_int_equal(stock_of(s, "BOOT"), 8);
    assert_int_equal(store_order_list(s, 9, 0, &list, &n, &err), 0);
    assert_int_equal(n, 1);
    store_order_list_free(list, n);
    assert_int_equal(audit_count(s, "user:9", "order.create"), 1);
    assert_int_equal(store_audit_list(s, "user:9", NULL, 10, &j, &err), 0);
    snprintf(needle, sizeof needle, "\"orderId\":%lld", (long long)id);
    assert_non_null(strstr(j, needle));
    assert_non_null(strstr(j, "\"channel\":\"chat\""));
    snprintf(needle, sizeof needle, "\"subject\":\"order:%lld\"", (long long)id);
    assert_non_null(strstr(j, needle));
    free(j);
}

/* The old entry points keep working on top; cancel writes its audit row
 * once, and a failed place writes none. */
static void test_order_old_api_and_cancel(void **state)
{
    store *s = ((fixture *)*state)->s;
    store_err err = {0};
    store_order o, o2;
    store_audit_rec a = {"user:4", "order.cancel", NULL, "{\"reason\":\"changed mind\"}"};
    store_audit_rec ap = {"user:4", "order.create", NULL, "[1]"};
    store_order_req req = {.user_id = 4, .cart_id = "user:4", .idempotency_key = "p1",
                           .audit = &ap};
    put_product(s, "HAT", 10, 3);
    assert_int_equal(store_cart_set_qty(s, "user:4", "HAT", 1, &err), 0);
    /* detail that is not an object cannot take orderId: refused, no effect */
    assert_int_equal(store_order_place(s, &req, &o, &err), STORE_EINVAL);
    assert_int_equal(stock_of(s, "HAT"), 3);
    assert_int_equal(audit_count(s, "user:4", "order.create"), 0);
    assert_int_equal(store_order_create(s, 4, "user:4", "p1", &o, &err), 0);
    assert_int_equal(o.replayed, 0);
    assert_int_equal(store_order_create(s, 4, "user:4", "p1", &o2, &err), 0);
    assert_int_equal(o2.replayed, 1);
    assert_int_equal(o2.id, o.id);
    store_order_clear(&o2);
    assert_int_equal(stock_of(s, "HAT"), 2);
    /* an empty cart with a new key: EEMPTY, no audit */
    ap.detail_json = NULL;
    req.idempotency_key = "p2";
    assert_int_equal(store_order_place(s, &req, &o2, &err), STORE_EEMPTY);
    assert_int_equal(audit_count(s, "user:4", "order.create"), 0);

    assert_int_equal(store_order_cancel_audited(s, 5, o.id, &a, &err), STORE_ENOTFOUND);
    assert_int_equal(store_order_cancel_audited(s, 4, o.id, &a, &err), 0);
    assert_int_equal(store_order_cancel_audited(s, 4, o.id, &a, &err), STORE_ESTATE);
    assert_int_equal(audit_count(s, "user:4", "order.cancel"), 1);
    assert_int_equal(stock_of(s, "HAT"), 3);
    store_order_clear(&o);
}

/* ---------------- request replay keys ---------------- */

/* 50 concurrent begins: exactly one reservation, 49 busy; after finish,
 * every begin answers the first result. */
static void test_once_race(void **state)
{
    store *s = ((fixture *)*state)->s;
    store_err err = {0};
    worker w[NTHREADS];
    int winners = 0, winner = -1;
    for (int i = 0; i < NTHREADS; i++)
        w[i] = (worker){.s = s, .i = i, .rc = -99};
    run_threads(w, once_worker);
    for (int i = 0; i < NTHREADS; i++) {
        if (w[i].rc == 0) {
            winners++;
            winner = i;
        } else {
            if (w[i].rc != STORE_EBUSY)
                print_message("thread %d: %d %s\n", i, w[i].rc, w[i].err.msg);
            assert_int_equal(w[i].rc, STORE_EBUSY);
        }
        assert_null(w[i].result);
    }
    assert_int_equal(winners, 1);
    assert_true(winner >= 0);
    assert_int_equal(store_once_finish(s, "msg:abc", "{\"reply\":\"hi\"}", 60, &err), 0);
    for (int i = 0; i < NTHREADS; i++)
        w[i] = (worker){.s = s, .i = i, .rc = -99};
    run_threads(w, once_worker);
    for (int i = 0; i < NTHREADS; i++) {
        assert_int_equal(w[i].rc, STORE_EEXIST);
        assert_non_null(w[i].result);
        assert_string_equal(w[i].result, "{\"reply\":\"hi\"}");
        free(w[i].result);
    }
}

/* Session, history and cache writes from 50 threads at once (on SQLite
 * they share group commits): every write is there afterwards, each
 * conversation's history in its own order, the shared one with one
 * sequence of the window's size, and replay keys beside them unaffected. */
static void test_session_save_race(void **state)
{
    store *s = ((fixture *)*state)->s;
    store_err err = {0};
    worker w[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        w[i] = (worker){.s = s, .i = i};
    run_threads(w, save_worker);
    for (int i = 0; i < NTHREADS; i++) {
        if (w[i].rc)
            print_message("thread %d: %d %s\n", i, w[i].rc, w[i].err.msg);
        assert_int_equal(w[i].rc, 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        char sid[32], want[64], key[48], *js = NULL;
        snprintf(sid, sizeof sid, "conv-%d", i);
        assert_int_equal(store_session_get(s, sid, &js, &err), 0);
        assert_string_equal(js, "{\"n\":9}");
        free(js);
        assert_int_equal(store_session_history(s, sid, &js, &err), 0);
        /* the newest 20 of 10: all, in order */
        char *p = js;
        for (int k = 0; k < 10; k++) {
            snprintf(want, sizeof want, "{\"t\":%d,\"k\":%d}", i, k);
            char *at = strstr(p, want);
            if (!at)
                print_message("%s: %s missing after offset %ld in %s\n", sid, want, (long)(p - js), js);
            assert_non_null(at);
            p = at + strlen(want);
        }
        free(js);
        snprintf(key, sizeof key, "c:%d:9", i);
        assert_int_equal(store_cache_get(s, key, &js, &err), 0);
        free(js);
        snprintf(key, sizeof key, "msg:%d:9", i);
        assert_int_equal(store_once_begin(s, key, 30000, &js, &err), STORE_EEXIST);
        free(js);
    }
    char *h = NULL;
    assert_int_equal(store_session_history(s, "conv-shared", &h, &err), 0);
    int n = 0;
    for (char *p = h; (p = strstr(p, "\"t\":")); p++)
        n++;
    assert_int_equal(n, 20);   /* history_window */
    free(h);
}

/* A holder that never finishes frees the key when its lease runs out; an
 * abort frees it at once; the first result is kept until its TTL. */
static void test_once_lease(void **state)
{
    store *s = ((fixture *)*state)->s;
    store_err err = {0};
    char *r = NULL;
    assert_int_equal(store_once_begin(s, "k", 5000, &r, &err), 0);
    assert_int_equal(store_once_begin(s, "k", 5000, &r, &err), STORE_EBUSY);
    advance_ms(4000);
    assert_int_equal(store_once_begin(s, "k", 5000, &r, &err), STORE_EBUSY);
    advance_ms(1500);                   /* the holder "crashed" */
    assert_int_equal(store_once_begin(s, "k", 5000, &r, &err), 0);
    assert_int_equal(store_once_abort(s, "k", &err), 0);
    assert_int_equal(store_once_begin(s, "k", 5000, &r, &err), 0);
    assert_int_equal(store_once_finish(s, "k", "first", 60, &err), 0);
    /* a second finish (a late holder) keeps the first result */
    assert_int_equal(store_once_finish(s, "k", "second", 60, &err), STORE_EEXIST);
    assert_int_equal(store_once_abort(s, "k", &err), 0);   /* no effect on a result */
    assert_int_equal(store_once_begin(s, "k", 5000, &r, &err), STORE_EEXIST);
    assert_string_equal(r, "first");
    free(r);
    r = NULL;
    advance_ms(61000);                  /* the result's TTL is over */
    assert_int_equal(store_once_begin(s, "k", 5000, &r, &err), 0);
    assert_null(r);
    /* keys are independent; bad arguments */
    assert_int_equal(store_once_begin(s, "k2", 5000, &r, &err), 0);
    assert_int_equal(store_once_begin(s, "", 5000, &r, &err), STORE_EINVAL);
    assert_int_equal(store_once_begin(s, "k3", 0, &r, &err), STORE_EINVAL);
    assert_int_equal(store_once_finish(s, "k3", NULL, 60, &err), STORE_EINVAL);
}

static int64_t count_rows(const fixture *fx, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t n = -1;
    assert_int_equal(sqlite3_open_v2(fx->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* SQLite only: expired replay keys and key-value rows are compacted, a
 * few with each write, and only when some have expired (the store looks
 * before it deletes): the live ones always stay. */
static void test_sqlite_compaction(void **state)
{
    fixture *fx = *state;
    store *s = fx->s;
    store_err err = {0};
    char *r = NULL, key[32];
    for (int i = 0; i < 40; i++) {
        snprintf(key, sizeof key, "old-%d", i);
        assert_int_equal(store_once_begin(s, key, 5000, &r, &err), 0);
        assert_int_equal(store_once_finish(s, key, "done", 60, &err), 0);
        assert_int_equal(store_session_put(s, key, "{}", 30, &err), 0);
    }
    const char *expired_once = "SELECT count(*) FROM once_keys WHERE key LIKE 'old-%'";
    const char *expired_kv = "SELECT count(*) FROM kv WHERE key LIKE 'old-%'";
    /* nothing expired yet: nothing goes */
    assert_int_equal(store_once_begin(s, "live-0", 600000, &r, &err), 0);
    assert_int_equal(store_session_put(s, "live-0", "{}", 3600, &err), 0);
    assert_int_equal(count_rows(fx, expired_once), 40);
    assert_int_equal(count_rows(fx, expired_kv), 40);
    advance_ms(120000);                 /* the old keys and sessions expire */
    /* one key taken takes at most 16 expired keys with it; one session
     * write at most 16 expired rows */
    assert_int_equal(store_once_begin(s, "live-1", 600000, &r, &err), 0);
    assert_int_equal(count_rows(fx, expired_once), 24);
    assert_int_equal(store_session_put(s, "live-1", "{}", 3600, &err), 0);
    assert_int_equal(count_rows(fx, expired_kv), 24);
    for (int i = 2; i < 6; i++) {
        snprintf(key, sizeof key, "live-%d", i);
        assert_int_equal(store_once_begin(s, key, 600000, &r, &err), 0);
        assert_int_equal(store_session_put(s, key, "{}", 3600, &err), 0);
    }
    assert_int_equal(count_rows(fx, expired_once), 0);
    assert_int_equal(count_rows(fx, expired_kv), 0);
    /* the live ones stay */
    assert_int_equal(count_rows(fx, "SELECT count(*) FROM once_keys WHERE key LIKE 'live-%'"), 6);
    assert_int_equal(count_rows(fx, "SELECT count(*) FROM kv WHERE key LIKE 'live-%'"), 6);
    assert_int_equal(store_once_begin(s, "live-5", 5000, &r, &err), STORE_EBUSY);
}

/* Redis only: a lease also runs out in real time (Redis's own TTL), so a
 * crashed holder frees the key even when no clock is faked. Run on the Redis
 * row only (SQLite reads the store clock). */
static void test_once_real_lease(void **state)
{
    store *s = ((fixture *)*state)->s;
    store_err err = {0};
    char *r = NULL;
    assert_int_equal(store_once_begin(s, "short", 150, &r, &err), 0);
    assert_int_equal(store_once_begin(s, "short", 150, &r, &err), STORE_EBUSY);
    usleep(300 * 1000);
    assert_int_equal(store_once_begin(s, "short", 150, &r, &err), 0);
}

/* ---------------- the first answer's save ---------------- */

/* how many times `needle` occurs in the session's history */
static int history_count(store *s, const char *sid, const char *needle)
{
    char *h = NULL;
    store_err err = {0};
    int n = 0;
    assert_int_equal(store_session_history(s, sid, &h, &err), 0);
    for (const char *p = h; (p = strstr(p, needle)); p++)
        n++;
    free(h);
    return n;
}

/* the session's stored text is `want` */
static void session_is(store *s, const char *sid, const char *want)
{
    char *js = NULL;
    store_err err = {0};
    assert_int_equal(store_session_get(s, sid, &js, &err), 0);
    assert_string_equal(js, want);
    free(js);
}

static void *save_once_worker(void *arg)
{
    worker *w = arg;
    char js[32], turn[32], res[32];
    snprintf(js, sizeof js, "{\"n\":%d}", w->i);
    snprintf(turn, sizeof turn, "{\"t\":%d}", w->i);
    snprintf(res, sizeof res, "{\"r\":%d}", w->i);
    pthread_barrier_wait(&gate);
    w->rc = store_session_save_once(w->s, "conv-first", js, 0, turn, "msg:first", res, 60, &w->result, &w->err);
    return NULL;
}

/* 50 threads save a first answer to one key at once: one writes its
 * record, session and history entry; 49 get that record and write
 * nothing. */
static void test_save_once_race(void **state)
{
    store *s = ((fixture *)*state)->s;
    worker w[NTHREADS];
    int winner = -1;
    for (int i = 0; i < NTHREADS; i++)
        w[i] = (worker){.s = s, .i = i, .rc = -99};
    run_threads(w, save_once_worker);
    for (int i = 0; i < NTHREADS; i++)
        if (w[i].rc == 0) {
            assert_int_equal(winner, -1);
            winner = i;
            assert_null(w[i].result);
        }
    assert_true(winner >= 0);
    char want[32];
    snprintf(want, sizeof want, "{\"r\":%d}", winner);
    for (int i = 0; i < NTHREADS; i++) {
        if (i == winner)
            continue;
        if (w[i].rc != STORE_EEXIST)
            print_message("thread %d: %d %s\n", i, w[i].rc, w[i].err.msg);
        assert_int_equal(w[i].rc, STORE_EEXIST);
        assert_string_equal(w[i].result, want);
        free(w[i].result);
    }
    assert_int_equal(history_count(s, "conv-first", "\"t\":"), 1);
    snprintf(want, sizeof want, "\"t\":%d", winner);
    assert_int_equal(history_count(s, "conv-first", want), 1);
    snprintf(want, sizeof want, "{\"n\":%d}", winner);
    session_is(s, "conv-first", want);
}

/* The first-answer save against a reservation, a kept result and
 * expiries, and the read-only peek beside them. */
static void test_save_once_states(void **state)
{
    store *s = ((fixture *)*state)->s;
    store_err err = {0};
    char *r = NULL, *js = NULL;
    assert_int_equal(store_once_peek(s, "q", &r, &err), 0);
    assert_int_equal(store_session_get_replay(s, "sq", "q", &js, &r, &err), 0);
    assert_null(js);
    assert_null(r);
    assert_int_equal(store_once_begin(s, "q", 5000, &r, &err), 0);
    assert_int_equal(store_once_peek(s, "q", &r, &err), STORE_EBUSY);
    assert_null(r);
    assert_int_equal(store_session_get_replay(s, "sq", "q", &js, &r, &err), STORE_EBUSY);
    assert_null(js);
    assert_null(r);
    /* another caller holds the key: nothing written */
    assert_int_equal(store_session_save_once(s, "sq", "{\"a\":1}", 0, "{\"t\":1}", "q", "one", 60, &r, &err),
                     STORE_EBUSY);
    assert_null(r);
    assert_int_equal(store_session_get(s, "sq", &js, &err), STORE_ENOTFOUND);
    assert_int_equal(history_count(s, "sq", "\"t\":"), 0);
    /* the holder's lease runs out: the first answer to come is kept */
    advance_ms(5001);
    assert_int_equal(store_once_peek(s, "q", &r, &err), 0);
    assert_int_equal(store_session_save_once(s, "sq", "{\"a\":1}", 0, "{\"t\":1}", "q", "one", 60, &r, &err), 0);
    assert_int_equal(store_once_peek(s, "q", &r, &err), STORE_EEXIST);
    assert_string_equal(r, "one");
    free(r);
    r = NULL;
    assert_int_equal(store_once_begin(s, "q", 5000, &r, &err), STORE_EEXIST);
    free(r);
    r = NULL;
    assert_int_equal(store_session_get_replay(s, "sq", "q", &js, &r, &err), STORE_EEXIST);
    assert_null(js);
    assert_string_equal(r, "one");
    free(r);
    r = NULL;
    /* the session read with a new message's id */
    assert_int_equal(store_session_get_replay(s, "sq", "q-next", &js, &r, &err), 0);
    assert_null(r);
    assert_string_equal(js, "{\"a\":1}");
    free(js);
    js = NULL;
    /* a second answer: the first is returned, nothing written */
    assert_int_equal(store_session_save_once(s, "sq", "{\"a\":2}", 0, "{\"t\":2}", "q", "two", 60, &r, &err),
                     STORE_EEXIST);
    assert_string_equal(r, "one");
    free(r);
    r = NULL;
    session_is(s, "sq", "{\"a\":1}");
    assert_int_equal(history_count(s, "sq", "\"t\":"), 1);
    /* the result's TTL is over: a new answer may be kept */
    advance_ms(61000);
    assert_int_equal(store_once_peek(s, "q", &r, &err), 0);
    assert_int_equal(store_session_save_once(s, "sq", "{\"a\":3}", 0, "{\"t\":3}", "q", "three", 60, &r, &err), 0);
    /* the holder's save (store_session_save_replay): its session always,
     * its record only where none is kept */
    int orc = -99;
    assert_int_equal(store_once_begin(s, "h", 5000, &r, &err), 0);
    assert_int_equal(store_session_save_replay(s, "sh", "{\"b\":1}", 0, "{\"t\":1}", "h", "held", 60, &orc, NULL,
                                               &err), 0);
    assert_int_equal(orc, 0);
    assert_int_equal(store_session_save_replay(s, "sh", "{\"b\":2}", 0, "{\"t\":2}", "h", "late", 60, &orc, NULL,
                                               &err), 0);
    assert_int_equal(orc, STORE_EEXIST);
    assert_int_equal(store_once_peek(s, "h", &r, &err), STORE_EEXIST);
    assert_string_equal(r, "held");
    free(r);
    r = NULL;
    session_is(s, "sh", "{\"b\":2}");
    assert_int_equal(history_count(s, "sh", "\"t\":"), 2);
    /* bad arguments */
    assert_int_equal(store_session_save_once(s, "sq", "[]", 0, "{}", "q", "x", 60, &r, &err), STORE_EINVAL);
    assert_int_equal(store_session_save_once(s, "sq", "{}", 0, "{}", "", "x", 60, &r, &err), STORE_EINVAL);
    assert_int_equal(store_once_peek(s, "", &r, &err), STORE_EINVAL);
}

/* ---------------- the conversation driver's duplicates ---------------- */

static eng_pipeline *commerce;   /* pipelines/commerce.yaml, loaded once */

typedef struct sender {
    store *s;
    const char *sid, *mid, *text;
    int rc, replayed;
    char *text_out, *trace_out;
} sender;

static void *send_worker(void *arg)
{
    sender *w = arg;
    eng_deps deps = {.store = w->s};
    eng_converse_opts o = {.text = w->text, .session_id = w->sid, .message_id = w->mid, .deps = &deps};
    eng_converse_result r = {0};
    eng_err e = {0};
    pthread_barrier_wait(&gate);
    w->rc = eng_converse(commerce, &o, &r, &e);
    if (w->rc)
        print_message("%s: %d %s\n", w->mid, w->rc, e.msg);
    w->replayed = r.replayed;
    json_object *t = NULL, *rep = NULL;
    if (r.reply && json_object_object_get_ex(r.reply, "reply", &rep))
        json_object_object_get_ex(rep, "text", &t);
    w->text_out = strdup(t ? json_object_get_string(t) : "");
    w->trace_out = strdup(r.trace_id);
    eng_converse_result_clear(&r);
    return NULL;
}

#define NSEND 8

/* NSEND threads send one message (text, message id) at once: every one
 * is answered, with the same words and trace; `ran` of them (1, or 0
 * when it was answered before) not replayed */
static void send_together(store *s, const char *sid, const char *mid, const char *text, int ran_want, char *reply,
                          size_t n)
{
    sender w[NSEND];
    pthread_t th[NSEND];
    pthread_barrier_init(&gate, NULL, NSEND);
    for (int i = 0; i < NSEND; i++) {
        w[i] = (sender){.s = s, .sid = sid, .mid = mid, .text = text};
        assert_int_equal(pthread_create(&th[i], NULL, send_worker, &w[i]), 0);
    }
    for (int i = 0; i < NSEND; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&gate);
    int ran = 0;
    for (int i = 0; i < NSEND; i++) {
        assert_int_equal(w[i].rc, 0);
        ran += !w[i].replayed;
        if (strcmp(w[i].text_out, w[0].text_out) != 0 || strcmp(w[i].trace_out, w[0].trace_out) != 0)
            print_message("%s: answers differ:\n  %s (%s)\n  %s (%s)\n", mid, w[0].text_out, w[0].trace_out,
                          w[i].text_out, w[i].trace_out);
        assert_string_equal(w[i].text_out, w[0].text_out);
        assert_string_equal(w[i].trace_out, w[0].trace_out);
    }
    assert_int_equal(ran, ran_want);
    snprintf(reply, n, "%s", w[0].text_out);
    for (int i = 0; i < NSEND; i++) {
        free(w[i].text_out);
        free(w[i].trace_out);
    }
}

static int64_t session_turns(store *s, const char *sid)
{
    char *js = NULL;
    store_err err = {0};
    assert_int_equal(store_session_get(s, sid, &js, &err), 0);
    json_object *o = json_tokener_parse(js), *t = NULL;
    free(js);
    assert_non_null(o);
    int64_t n = json_object_object_get_ex(o, "turns", &t) ? json_object_get_int64(t) : -1;
    json_object_put(o);
    return n;
}

/* Two and more concurrent copies of one chat message, on the shipped
 * commerce pipeline: a search (no change: the first answer saved wins),
 * then "I'll take the second one" (a cart change: one claim) -- one cart
 * line of quantity 1, one cart.add audit row, each message once in the
 * history, the turn counted once, the same answer for every copy. */
static void test_converse_duplicates(void **state)
{
    store *s = ((fixture *)*state)->s;
    char reply[2048];
    test_import_catalog(s, "examples/catalog/products.json");
    send_together(s, "dup", "m1", "show me the cheapest sunglasses", 1, reply, sizeof reply);
    assert_int_equal(history_count(s, "dup", "\"messageId\":\"m1\""), 1);
    assert_int_equal(session_turns(s, "dup"), 1);
    send_together(s, "dup", "m2", "I'll take the second one", 1, reply, sizeof reply);
    if (!strstr(reply, "cart has 1 item"))
        print_message("the add said: %s\n", reply);
    assert_non_null(strstr(reply, "cart has 1 item"));
    assert_int_equal(history_count(s, "dup", "\"messageId\":\"m2\""), 1);
    assert_int_equal(session_turns(s, "dup"), 2);
    store_cart c;
    store_err err = {0};
    assert_int_equal(store_cart_get(s, "anon:dup", &c, &err), 0);
    assert_int_equal(c.n_items, 1);
    assert_int_equal(c.items[0].qty, 1);
    store_cart_clear_struct(&c);
    assert_int_equal(audit_count(s, "session:dup", "cart.add"), 1);
    /* sent again later: the kept answer, nothing run */
    send_together(s, "dup", "m2", "I'll take the second one", 0, reply, sizeof reply);
    assert_int_equal(history_count(s, "dup", "\"messageId\":\"m2\""), 1);
    assert_int_equal(audit_count(s, "session:dup", "cart.add"), 1);
}

typedef struct finisher {
    store *s;
    const char *key, *result;
} finisher;

static void *finish_later(void *arg)
{
    finisher *f = arg;
    store_err err = {0};
    usleep(200 * 1000);
    assert_int_equal(store_once_finish(f->s, f->key, f->result, 60, &err), 0);
    return NULL;
}

/* An attempt that holds the message id (it claimed it for a change) and
 * a copy that changes nothing: the copy waits and answers with the
 * holder's result, writing nothing of its own. */
static void test_converse_waits_for_holder(void **state)
{
    store *s = ((fixture *)*state)->s;
    store_err err = {0};
    char *r = NULL;
    test_import_catalog(s, "examples/catalog/products.json");
    assert_int_equal(store_once_begin(s, "cmsg:hold:m1", 60000, &r, &err), 0);
    finisher f = {s, "cmsg:hold:m1", "{\"reply\":{\"text\":\"from the holder\"},\"traceId\":\"t-holder\"}"};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, finish_later, &f), 0);
    eng_deps deps = {.store = s};
    eng_converse_opts o = {.text = "show me sunglasses", .session_id = "hold", .message_id = "m1", .deps = &deps};
    eng_converse_result cr = {0};
    eng_err e = {0};
    assert_int_equal(eng_converse(commerce, &o, &cr, &e), 0);
    pthread_join(th, NULL);
    assert_int_equal(cr.replayed, 1);
    assert_string_equal(cr.trace_id, "t-holder");
    json_object *rep = NULL, *t = NULL;
    assert_true(json_object_object_get_ex(cr.reply, "reply", &rep) && json_object_object_get_ex(rep, "text", &t));
    assert_string_equal(json_object_get_string(t), "from the holder");
    eng_converse_result_clear(&cr);
    assert_int_equal(history_count(s, "hold", "messageId"), 0);
    assert_int_equal(store_session_get(s, "hold", &r, &err), STORE_ENOTFOUND);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

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
        T(test_once_race), T(test_once_lease), T(test_session_save_race),
        T(test_save_once_race), T(test_save_once_states),
    };
    /* the driver needs the document family too: SQLite on both rows */
    const struct CMUnitTest converse_tests[] = {
        T(test_converse_duplicates), T(test_converse_waits_for_holder),
    };
    const struct CMUnitTest redis_tests[] = {
        T(test_once_real_lease),
    };
    const struct CMUnitTest sqlite_tests[] = {
        T(test_sqlite_compaction),
    };
    const struct CMUnitTest doc_tests[] = {
        T(test_cart_add_race), T(test_cart_key_race), T(test_cart_replay_and_caps), T(test_cart_after),
        T(test_order_place_race), T(test_order_old_api_and_cancel),
    };
    const struct CMUnitTest unavailable[] = {
        cmocka_unit_test(test_backend_unavailable),
    };
    int failed = 0;
    mongoc_init();
    eng_diags d;
    eng_diags_init(&d);
    if (eng_pipeline_load("pipelines/commerce.yaml", &commerce, &d) != 0) {
        eng_diags_print(&d, stderr);
        return 1;
    }
    eng_diags_free(&d);
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++) {
        char name[64];
        fixture probe = {0};
        store_config cfg;
        current = &backends[i];
        store_config_init(&cfg);
        snprintf(probe.path, sizeof probe.path, "/nonexistent");
        if (current->config(&probe, &cfg, row_why, sizeof row_why)) {
            snprintf(name, sizeof name, "exactly once (%s)", current->name);
            failed += cmocka_run_group_tests_name(name, unavailable, NULL, NULL);
            continue;
        }
        if (current->families & FAM_EPH) {
            snprintf(name, sizeof name, "exactly once, replay keys (%s)", current->name);
            failed += cmocka_run_group_tests_name(name, eph_tests, NULL, NULL);
            if (strcmp(current->name, "redis") == 0)
                failed += cmocka_run_group_tests_name(name, redis_tests, NULL, NULL);
            if (strcmp(current->name, "sqlite") == 0)
                failed += cmocka_run_group_tests_name(name, sqlite_tests, NULL, NULL);
            snprintf(name, sizeof name, "exactly once, chat duplicates (%s)", current->name);
            failed += cmocka_run_group_tests_name(name, converse_tests, NULL, NULL);
        }
        if (current->families & FAM_DOC) {
            snprintf(name, sizeof name, "exactly once, documents (%s)", current->name);
            failed += cmocka_run_group_tests_name(name, doc_tests, NULL, NULL);
        }
    }
    if (redis_server_close(&redis) != 0)
        fprintf(stderr, "could not remove the redis-server folder\n");
    eng_pipeline_release(commerce);
    mongoc_cleanup();
    return failed;
}
