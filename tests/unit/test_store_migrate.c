/* tests/unit/test_store_migrate.c — upgrading a file written with schema v1
 * keeps its users, products, carts and orders, makes them searchable and
 * gives them the exactly-once tables; a v8 file (before products' facts)
 * opens and its products read with none; search ranking on the shipped
 * DummyJSON sample catalog; and the WAL stays bounded while readers never
 * stop (the SQLite file layer under a serving load). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "stores/store.h"

#define SQ_VERSION_NOW 10   /* stores/sqlite/sqlite_int.h SQ_SCHEMA_VERSION */

#include <json-c/json.h>
#include "sqlite_store.h"
#include <pthread.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The v1 layout, as aisle first shipped it (a copy: the test must not
 * change when the code's current schema does). */
static const char v1[] =
    "CREATE TABLE users(id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE,"
    " name TEXT NOT NULL DEFAULT '', password_hash TEXT NOT NULL,"
    " created_at INTEGER NOT NULL);"
    "CREATE TABLE products(sku TEXT PRIMARY KEY, title TEXT NOT NULL,"
    " brand TEXT, category TEXT, description TEXT,"
    " price REAL NOT NULL DEFAULT 0, stock INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE carts(cart_id TEXT NOT NULL, sku TEXT NOT NULL,"
    " qty INTEGER NOT NULL, added_at INTEGER NOT NULL,"
    " PRIMARY KEY(cart_id, sku));"
    "CREATE TABLE orders(id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL,"
    " status TEXT NOT NULL, idem_key TEXT NOT NULL, total REAL NOT NULL,"
    " created_at INTEGER NOT NULL, UNIQUE(user_id, idem_key));"
    "CREATE TABLE order_lines(order_id INTEGER NOT NULL, sku TEXT NOT NULL,"
    " title TEXT NOT NULL, qty INTEGER NOT NULL, unit_price REAL NOT NULL);"
    "CREATE TABLE kv(kind INTEGER NOT NULL, key TEXT NOT NULL,"
    " value TEXT NOT NULL, expires_at INTEGER NOT NULL,"
    " PRIMARY KEY(kind, key));"
    "INSERT INTO users VALUES(1, 'old@example.com', 'Old', 'hash', 1);"
    "INSERT INTO products VALUES('OLD-1', 'Vintage Brass Lamp', 'Lumo',"
    " 'lighting', 'A lamp', 40, 2);"
    "INSERT INTO carts VALUES('user:1', 'OLD-1', 1, 1);"
    "INSERT INTO orders VALUES(1, 1, 'placed', 'k', 40, 1);"
    "INSERT INTO order_lines VALUES(1, 'OLD-1', 'Vintage Brass Lamp', 1, 40);"
    "PRAGMA user_version = 1;";

static void tmpdb(char *dir, size_t dn, char *path, size_t pn)
{
    snprintf(dir, dn, "/tmp/aisle-mig-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, pn, "%s/old.db", dir);
}

static void rmdir_all(const char *dir)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_upgrade_v1(void **state)
{
    char dir[64], path[128];
    sqlite3 *db;
    store *s;
    store_config cfg;
    store_err err = {0};
    store_user u;
    store_cart c;
    store_order o;
    store_search_query q;
    store_search_result r;
    (void)state;
    tmpdb(dir, sizeof dir, path, sizeof path);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, v1, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    store_config_init(&cfg);
    cfg.sqlite_path = path;
    cfg.documents = cfg.ephemeral = STORE_BACKEND_SQLITE;
    assert_int_equal(store_open(&cfg, &s, &err), 0);
    assert_int_equal(store_user_get_by_email(s, "old@example.com", &u, &err), 0);
    assert_string_equal(u.name, "Old");
    assert_int_equal(store_cart_get(s, "user:1", &c, &err), 0);
    assert_int_equal(c.n_items, 1);
    assert_string_equal(c.items[0].title, "Vintage Brass Lamp");
    store_cart_clear_struct(&c);
    assert_int_equal(store_order_get(s, 1, &o, &err), 0);
    assert_int_equal(o.n_lines, 1);
    store_order_clear(&o);
    store_search_query_init(&q);
    q.text = "brass lamp";
    assert_int_equal(store_search(s, &q, &r, &err), 0);
    assert_int_equal(r.n_hits, 1);
    assert_string_equal(r.hits[0].product.sku, "OLD-1");
    store_search_result_free(&r);
    /* a product an older aisle wrote has no other facts */
    {
        store_product p;
        assert_int_equal(store_product_get(s, "OLD-1", &p, &err), 0);
        assert_string_equal(p.description, "A lamp");
        assert_null(p.facts);
        store_product_clear(&p);
    }
    /* new stores work on the upgraded file */
    assert_int_equal(store_memory_put(s, 1, "sizes", "shoe", "\"9\"", &err), 0);
    /* v5 (exactly-once effects) on the upgraded file: a v1 order's key
     * replays it; keyed cart changes and replay keys have their tables */
    {
        store_order_req req = {.user_id = 1, .cart_id = "user:1", .idempotency_key = "k"};
        store_cart_change ch = {.cart_id = "user:1", .op = STORE_CART_ADD, .sku = "OLD-1",
                                .qty = 1, .idempotency_key = "add-1"};
        store_cart_outcome co;
        char *res = NULL;
        assert_int_equal(store_order_place(s, &req, &o, &err), 0);
        assert_int_equal(o.id, 1);
        assert_int_equal(o.replayed, 1);
        store_order_clear(&o);
        assert_int_equal(store_cart_apply(s, &ch, &co, &err), 0);
        assert_int_equal(co.qty, 2);
        assert_int_equal(store_cart_apply(s, &ch, &co, &err), 0);
        assert_int_equal(co.replayed, 1);
        assert_int_equal(store_once_begin(s, "m1", 1000, &res, &err), 0);
        assert_int_equal(store_once_finish(s, "m1", "{}", 60, &err), 0);
    }
    store_close(s);

    /* reopening is a no-op migration; a newer file is refused */
    assert_int_equal(store_open(&cfg, &s, &err), 0);
    store_close(s);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(store_open(&cfg, &s, &err), STORE_ESCHEMA);
    assert_non_null(strstr(err.msg, "newer"));
    rmdir_all(dir);
}

/* The version before this one (v8: no facts column) opens: its products
 * are read, with no facts, and searched; a product then gets its facts
 * on the upgraded file.  The v8 file is what this aisle writes less the
 * v9 column (v9 only adds it), so the test follows no copy of v2..v8. */
static void test_upgrade_v8(void **state)
{
    char dir[64], path[128];
    sqlite3 *db;
    sqlite3_stmt *st;
    store *s;
    store_config cfg;
    store_err err = {0};
    store_product p = {.sku = "OLD-8", .title = "Travel Kettle", .brand = "Acme",
                       .category = "kitchen", .description = "A small kettle", .price = 25, .stock = 3};
    store_search_query q;
    store_search_result r;
    (void)state;
    tmpdb(dir, sizeof dir, path, sizeof path);
    store_config_init(&cfg);
    cfg.sqlite_path = path;
    cfg.documents = cfg.ephemeral = STORE_BACKEND_SQLITE;
    assert_int_equal(store_open(&cfg, &s, &err), 0);
    assert_int_equal(store_product_upsert(s, &p, &err), 0);
    store_close(s);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "DROP INDEX orders_refund_pending;"
                                      "ALTER TABLE orders DROP COLUMN refund;"
                                      "ALTER TABLE products DROP COLUMN facts;"
                                      "PRAGMA user_version = 8;", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    assert_int_equal(store_open(&cfg, &s, &err), 0);
    {
        store_product got;
        char *json = NULL;
        assert_int_equal(store_product_get(s, "OLD-8", &got, &err), 0);
        assert_string_equal(got.title, "Travel Kettle");
        assert_string_equal(got.description, "A small kettle");
        assert_int_equal(got.stock, 3);
        assert_null(got.facts);
        assert_int_equal(store_product_to_json(&got, &json, &err), 0);
        assert_null(strstr(json, "\"facts\""));
        free(json);
        store_product_clear(&got);
    }
    store_search_query_init(&q);
    q.text = "kettle";
    assert_int_equal(store_search(s, &q, &r, &err), 0);
    assert_int_equal(r.n_hits, 1);
    assert_string_equal(r.hits[0].product.sku, "OLD-8");
    store_search_result_free(&r);
    p.facts = "{\"warranty\":\"2 year warranty\",\"weight\":1.2}";
    assert_int_equal(store_product_upsert(s, &p, &err), 0);
    {
        store_product got;
        assert_int_equal(store_product_get(s, "OLD-8", &got, &err), 0);
        assert_non_null(got.facts);
        assert_non_null(strstr(got.facts, "2 year warranty"));
        store_product_clear(&got);
    }
    store_close(s);
    /* the file is v10 now */
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), SQ_VERSION_NOW);
    sqlite3_finalize(st);
    sqlite3_close(db);
    rmdir_all(dir);
}

/* v9 (no refund column): an order placed and one cancelled by an older
 * aisle read with no refund; the placed one is cancelled on the upgraded
 * file with the refund it owes, which the pending list finds. */
static void test_upgrade_v9(void **state)
{
    char dir[64], path[128];
    sqlite3 *db;
    store *s;
    store_config cfg;
    store_err err = {0};
    store_order a, b, got;
    store_product p = {.sku = "OLD-9", .title = "Desk Fan", .category = "home", .price = 30, .stock = 5};
    int64_t *ids = NULL;
    size_t n = 0;
    (void)state;
    tmpdb(dir, sizeof dir, path, sizeof path);
    store_config_init(&cfg);
    cfg.sqlite_path = path;
    cfg.documents = cfg.ephemeral = STORE_BACKEND_SQLITE;
    assert_int_equal(store_open(&cfg, &s, &err), 0);
    assert_int_equal(store_product_upsert(s, &p, &err), 0);
    assert_int_equal(store_cart_set_qty(s, "user:1", "OLD-9", 1, &err), 0);
    assert_int_equal(store_order_create(s, 1, "user:1", "v9-a", &a, &err), 0);
    assert_int_equal(store_cart_set_qty(s, "user:1", "OLD-9", 1, &err), 0);
    assert_int_equal(store_order_create(s, 1, "user:1", "v9-b", &b, &err), 0);
    assert_int_equal(store_order_cancel(s, 1, b.id, &err), 0);
    store_close(s);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "DROP INDEX orders_refund_pending;"
                                      "ALTER TABLE orders DROP COLUMN refund;"
                                      "PRAGMA user_version = 9;", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(store_open(&cfg, &s, &err), 0);
    assert_int_equal(store_order_get(s, b.id, &got, &err), 0);
    assert_string_equal(got.status, "cancelled");
    assert_null(got.refund_json);
    store_order_clear(&got);
    assert_int_equal(store_order_refunds_pending(s, 0, &ids, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(store_order_cancel_refund(s, 1, a.id, NULL, "{\"status\":\"pending\",\"amount\":30}", &err), 0);
    assert_int_equal(store_order_refunds_pending(s, 0, &ids, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], a.id);
    free(ids);
    store_order_clear(&a);
    store_order_clear(&b);
    store_close(s);
    rmdir_all(dir);
}

/* the sample catalog shipped in the repository; tests run from its root
 * (tests/run.sh), so the path is relative and nothing outside is read */
static const char sample_catalog[] = "examples/catalog/products.json";

static void test_sample_ranking(void **state)
{
    const char *path = sample_catalog;
    char dir[64], db[128];
    store *s;
    store_err err = {0};
    store_search_query q;
    store_search_result r;
    (void)state;
    if (access(path, R_OK) != 0)
        fail_msg("%s is missing: run the unit tests from the repository's root", path);
    tmpdb(dir, sizeof dir, db, sizeof db);
    s = test_sqlite_store(db);
    test_import_catalog(s, path);
    /* the sample's other facts come in under the store's names */
    {
        store_product p;
        assert_int_equal(store_product_get(s, "BEA-ESS-ESS-001", &p, &err), 0);
        assert_non_null(p.facts);
        assert_non_null(strstr(p.facts, "\"warranty\":\"1 week warranty\""));
        assert_non_null(strstr(p.facts, "\"minOrder\":48"));
        assert_non_null(strstr(p.facts, "\"dimensions\":{\"width\":"));
        assert_null(strstr(p.facts, "warrantyInformation"));
        store_product_clear(&p);
    }
    store_search_query_init(&q);
    q.text = "mascara";
    assert_int_equal(store_search(s, &q, &r, &err), 0);
    assert_true(r.n_hits >= 1);
    assert_non_null(strstr(r.hits[0].product.title, "Mascara"));
    store_search_result_free(&r);
    q.text = "mascra";   /* misspelt: corrected from the catalog's words */
    assert_int_equal(store_search(s, &q, &r, &err), 0);
    assert_true(r.n_hits >= 1);
    assert_non_null(strstr(r.hits[0].product.title, "Mascara"));
    store_search_result_free(&r);
    q.text = "red lipstick";
    q.flags = STORE_SEARCH_FACETS;
    assert_int_equal(store_search(s, &q, &r, &err), 0);
    assert_non_null(strstr(r.hits[0].product.title, "Red Lipstick"));
    {
        int found = 0;   /* facets count every match, lipstick's category among them */
        for (size_t i = 0; i < r.n_categories; i++)
            found |= !strcmp(r.categories[i].value, "beauty");
        assert_true(found);
    }
    store_search_result_free(&r);
    store_close(s);
    rmdir_all(dir);
}

/* Readers that never stop: each thread reads sessions in short
 * transactions, one after another, as a serving pool's workers do. */
typedef struct wal_reader {
    store *s;
    volatile int *stop;
    long reads;
} wal_reader;

static void *wal_read_loop(void *arg)
{
    wal_reader *r = arg;
    store_err err = {0};
    while (!*r->stop) {
        char *json = NULL;
        if (store_session_get(r->s, "w-1", &json, &err) == 0)
            free(json);
        r->reads++;
    }
    return NULL;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

/* 64 MB written in 8 KB sessions while twelve readers always hold a
 * snapshot: without checkpoints that restart the log the -wal file grows
 * with every write (SQLite's automatic checkpoint cannot restart it while
 * a reader is in it); it must stay under 32 MB throughout (the checkpointer restarts it at 16 MB, a writer that outruns it at 24 MB) and the data
 * stay readable. */
#define NREAD 12
static void test_wal_bounded(void **state)
{
    char dir[64], db[128], wal[160];
    store *s;
    store_config cfg;
    store_err err = {0};
    (void)state;
    tmpdb(dir, sizeof dir, db, sizeof db);
    snprintf(wal, sizeof wal, "%s-wal", db);
    store_config_init(&cfg);
    cfg.sqlite_path = db;
    cfg.documents = cfg.ephemeral = STORE_BACKEND_SQLITE;
    cfg.pool_size = NREAD + 2;
    assert_int_equal(store_open(&cfg, &s, &err), 0);
    char *doc = malloc(8200);
    assert_non_null(doc);
    volatile int stop = 0;
    wal_reader rd[NREAD];
    pthread_t th[NREAD];
    for (int i = 0; i < NREAD; i++) {
        rd[i] = (wal_reader){.s = s, .stop = &stop};
        assert_int_equal(pthread_create(&th[i], NULL, wal_read_loop, &rd[i]), 0);
    }
    long peak = 0;
    for (int i = 0; i < 8000; i++) {
        int n = snprintf(doc, 8200, "{\"n\":%d,\"pad\":\"", i);
        memset(doc + n, 'a' + i % 26, 8000);
        memcpy(doc + n + 8000, "\"}", 3);   /* with its NUL; doc has room */
        char sid[32];
        snprintf(sid, sizeof sid, "w-%d", i % 50);
        assert_int_equal(store_session_put(s, sid, doc, 0, &err), 0);
        long w = file_size(wal);
        if (w > peak)
            peak = w;
    }
    stop = 1;
    long reads = 0;
    for (int i = 0; i < NREAD; i++) {
        pthread_join(th[i], NULL);
        reads += rd[i].reads;
    }
    print_message("WAL peak %.1f MB over 64 MB written, %ld reads beside\n", peak / 1e6, reads);
    assert_true(reads > 100);
    assert_true(peak < 32L * 1024 * 1024);
    char *back = NULL;
    assert_int_equal(store_session_get(s, "w-49", &back, &err), 0);
    assert_non_null(strstr(back, "\"n\":7999"));
    free(back);
    free(doc);
    store_close(s);
    rmdir_all(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upgrade_v1),
        cmocka_unit_test(test_upgrade_v8),
        cmocka_unit_test(test_upgrade_v9),
        cmocka_unit_test(test_sample_ranking),
        cmocka_unit_test(test_wal_bounded),
    };
    return cmocka_run_group_tests_name("store migrations and sample search",
                                       tests, NULL, NULL);
}
