/* stores/sqlite/sqlite_store.c — the embedded default backend: opens the
 * database file (WAL, busy timeout), runs schema migrations keyed by
 * PRAGMA user_version, and lends connections from a small pool, one per
 * calling thread at a time, each with its own prepared-statement cache. */
#include "sqlite_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>

/* Version 1: the first released layout.  Kept verbatim: migrations start
 * from it, and the tests build a v1 file from the same text. */
static const char schema_v1[] =
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
    " PRIMARY KEY(kind, key));";

/* Version 2: products get an integer id (the full-text rowid, stable
 * across VACUUM), rating, images and tags; full-text index; memory, audit,
 * history, tokens and counters.  Products are copied, never dropped. */
static const char schema_v2[] =
    "CREATE TABLE products_v2(id INTEGER PRIMARY KEY,"
    " sku TEXT NOT NULL UNIQUE, title TEXT NOT NULL, brand TEXT,"
    " category TEXT, description TEXT, thumbnail TEXT,"
    " images TEXT NOT NULL DEFAULT '[]', tags TEXT NOT NULL DEFAULT '[]',"
    " price REAL NOT NULL DEFAULT 0, discount_pct REAL NOT NULL DEFAULT 0,"
    " rating REAL NOT NULL DEFAULT 0, stock INTEGER NOT NULL DEFAULT 0"
    " CHECK(stock >= 0), updated_at INTEGER NOT NULL DEFAULT 0);"
    "INSERT INTO products_v2(sku, title, brand, category, description,"
    " price, stock) SELECT sku, title, brand, category, description, price,"
    " max(stock, 0) FROM products;"
    "DROP TABLE products;"
    "ALTER TABLE products_v2 RENAME TO products;"
    "CREATE INDEX products_category ON products(category);"
    "CREATE INDEX products_brand ON products(brand COLLATE NOCASE);"
    "CREATE INDEX products_price ON products(price);"
    "CREATE VIRTUAL TABLE products_fts USING fts5(title, brand, category,"
    " description, tags, tokenize='porter unicode61 remove_diacritics 2');"
    "CREATE TABLE catalog_meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL);"
    "INSERT INTO catalog_meta VALUES('generation', 1);"
    "CREATE INDEX kv_expires ON kv(expires_at);"
    "CREATE INDEX order_lines_order ON order_lines(order_id);"
    "CREATE INDEX orders_user ON orders(user_id, id);"
    "CREATE TABLE history(sid TEXT NOT NULL, seq INTEGER NOT NULL,"
    " turn TEXT NOT NULL, expires_at INTEGER NOT NULL,"
    " PRIMARY KEY(sid, seq));"
    "CREATE TABLE memory(user_id INTEGER NOT NULL, ns TEXT NOT NULL,"
    " key TEXT NOT NULL, value TEXT NOT NULL, updated_at INTEGER NOT NULL,"
    " PRIMARY KEY(user_id, ns, key));"
    "CREATE TABLE audit(id INTEGER PRIMARY KEY, at INTEGER NOT NULL,"
    " actor TEXT NOT NULL, action TEXT NOT NULL, subject TEXT NOT NULL,"
    " detail TEXT);"
    "CREATE INDEX audit_actor ON audit(actor, id);"
    "CREATE INDEX audit_subject ON audit(subject, id);"
    "CREATE TABLE tokens(hash TEXT PRIMARY KEY, family TEXT NOT NULL,"
    " user_id INTEGER NOT NULL, expires_at INTEGER NOT NULL,"
    " used INTEGER NOT NULL DEFAULT 0, revoked INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX tokens_family ON tokens(family);"
    "CREATE TABLE buckets(key TEXT PRIMARY KEY, tokens REAL NOT NULL,"
    " updated_ms INTEGER NOT NULL);"
    "CREATE TABLE counters(key TEXT PRIMARY KEY, value INTEGER NOT NULL);";

/* v3: orders keep the pricing agreed at checkout (promotions, rules) */
static const char schema_v3[] = "ALTER TABLE orders ADD COLUMN pricing TEXT;";

/* v5: exactly-once effects.  idem_keys keeps the first outcome of a keyed
 * cart change (scope "cart:<id>"), written in the effect's transaction;
 * once_keys holds request replay reservations (state 0, a lease) and
 * their results (state 1) for the ephemeral family.  Orders keep using
 * their own UNIQUE(user_id, idem_key). */
static const char schema_v5[] =
    "CREATE TABLE idem_keys(scope TEXT NOT NULL, key TEXT NOT NULL,"
    " result TEXT NOT NULL, created_at INTEGER NOT NULL,"
    " PRIMARY KEY(scope, key));"
    "CREATE TABLE once_keys(key TEXT PRIMARY KEY, state INTEGER NOT NULL,"
    " result TEXT, expires_at INTEGER NOT NULL);"
    "CREATE INDEX once_keys_expires ON once_keys(expires_at);";

/* v6: a product may have no stock kept (an import without a stock
 * column): it is always available and never decremented. */
static const char schema_v6[] =
    "ALTER TABLE products ADD COLUMN stock_tracked INTEGER NOT NULL DEFAULT 1;";

/* v7: a product may have no price (an import without a price column):
 * it is shown but cannot be added to a cart or ordered. */
static const char schema_v7[] =
    "ALTER TABLE products ADD COLUMN price_known INTEGER NOT NULL DEFAULT 1;";

/* v8: the history is kept in (sid, seq) order (WITHOUT ROWID), so one
 * conversation's turns share a page: an append, its window and its TTL
 * touch one or two pages instead of one per turn kept (rows used to lie
 * in insertion order, among every other conversation's). */
static const char schema_v8[] =
    "CREATE TABLE history_v8(sid TEXT NOT NULL, seq INTEGER NOT NULL,"
    " turn TEXT NOT NULL, expires_at INTEGER NOT NULL,"
    " PRIMARY KEY(sid, seq)) WITHOUT ROWID;"
    "INSERT INTO history_v8 SELECT sid, seq, turn, expires_at FROM history;"
    "DROP TABLE history;"
    "ALTER TABLE history_v8 RENAME TO history;";

/* v9: a product keeps its other facts (warranty, shipping, returns,
 * weight, dimensions, minimum order) as one JSON object text; NULL in
 * the rows an older aisle wrote. */
static const char schema_v9[] = "ALTER TABLE products ADD COLUMN facts TEXT;";

/* v10: a cancelled order keeps the refund it owes or made (a JSON object
 * text, written in the cancel's transaction); the index finds the ones
 * still pending at startup.  NULL in the rows an older aisle wrote. */
static const char schema_v10[] =
    "ALTER TABLE orders ADD COLUMN refund TEXT;"
    "CREATE INDEX orders_refund_pending ON orders(id)"
    " WHERE json_extract(refund, '$.status') = 'pending';";

static int migrate(sq_conn *c, store_err *err)
{
    sqlite3_stmt *st;
    int version = 0, rc;

    if ((rc = sq__begin(c, err)) != 0)
        return rc;
    if (!(st = sq__prep(c, "PRAGMA user_version", err)))
        goto fail;
    if (sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_reset(st);
    if (version > SQ_SCHEMA_VERSION) {
        sq__rollback(c);
        return store__fail(err, STORE_ESCHEMA,
                           "database schema v%d is newer than this aisle "
                           "(v%d): upgrade aisle", version, SQ_SCHEMA_VERSION);
    }
    if (version < 1 && (rc = sq__exec(c, schema_v1, err)) != 0)
        goto fail_rc;
    if (version < 2) {
        if ((rc = sq__exec(c, schema_v2, err)) != 0 ||
            (rc = sq__reindex_all(c, err)) != 0)
            goto fail_rc;
    }
    if (version < 3 && (rc = sq__exec(c, schema_v3, err)) != 0)
        goto fail_rc;
    /* v4: the index reads dimensions ("6 x6") as the query side does now:
     * rebuild it from the products, which are unchanged */
    if (version >= 2 && version < 4 && (rc = sq__reindex_all(c, err)) != 0)
        goto fail_rc;
    if (version < 5 && (rc = sq__exec(c, schema_v5, err)) != 0)
        goto fail_rc;
    if (version < 6 && (rc = sq__exec(c, schema_v6, err)) != 0)
        goto fail_rc;
    if (version < 7 && (rc = sq__exec(c, schema_v7, err)) != 0)
        goto fail_rc;
    if (version < 8 && (rc = sq__exec(c, schema_v8, err)) != 0)
        goto fail_rc;
    if (version < 9 && (rc = sq__exec(c, schema_v9, err)) != 0)
        goto fail_rc;
    if (version < 10 && (rc = sq__exec(c, schema_v10, err)) != 0)
        goto fail_rc;
    if (version < SQ_SCHEMA_VERSION) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", SQ_SCHEMA_VERSION);
        if ((rc = sq__exec(c, sql, err)) != 0)
            goto fail_rc;
    }
    return sq__commit(c, err);
fail:
    rc = err ? err->code : STORE_EIO;
fail_rc:
    sq__rollback(c);
    return rc;
}


static void sq_close(void *vb)
{
    sq *b = vb;
    if (!b)
        return;
    if (b->ck_started)
        sq__checkpointer_stop(b);
    for (int i = 0; i < b->n_conns; i++)
        if (b->conns[i].db)
            sq__conn_close(&b->conns[i]);
    free(b->conns);
    store__lex_free(&b->lex);
    sq__scache_free(b);
    sq__rows_free(b);
    pthread_mutex_destroy(&b->smu);
    pthread_mutex_destroy(&b->dmu);
    pthread_mutex_destroy(&b->mu);
    pthread_mutex_destroy(&b->vmu);
    pthread_mutex_destroy(&b->gmu);
    pthread_mutex_destroy(&b->wmu);
    pthread_cond_destroy(&b->gcv);
    free(b->path);
    free(b);
}

/* mkdir -p for the file's folder, so the default var/aisle.db just works. */
static void make_parent_dirs(const char *path)
{
    char tmp[4096];
    size_t n = strlen(path);
    if (n >= sizeof tmp)
        return;
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0775) != 0 && errno != EEXIST)
                return;
            *p = '/';
        }
}

/* Process-wide SQLite settings, before its first use: no memory
 * statistics (nothing reads them, and keeping them takes one global
 * mutex around every allocation SQLite makes, which the pool's threads
 * queued on). */
static void sqlite_once(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);   /* SQLITE_MISUSE once initialised: harmless */
}

static int sq_open(const store_config *cfg, const store *owner, void **out,
                   store_err *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, sqlite_once);
    sq *b = calloc(1, sizeof *b);
    sq_conn *c;
    int rc;
    (void)owner;
    if (!b)
        return store__fail(err, STORE_ENOMEM, "out of memory");
    b->cfg = *cfg;
    b->path = strdup(cfg->sqlite_path && *cfg->sqlite_path ? cfg->sqlite_path
                                                           : "var/aisle.db");
    b->n_conns = cfg->pool_size > 0 ? cfg->pool_size : 8;
    b->conns = calloc((size_t)b->n_conns, sizeof *b->conns);
    pthread_mutex_init(&b->mu, NULL);
    pthread_mutex_init(&b->vmu, NULL);
    pthread_mutex_init(&b->smu, NULL);
    pthread_mutex_init(&b->dmu, NULL);
    pthread_mutex_init(&b->gmu, NULL);
    pthread_mutex_init(&b->wmu, NULL);
    pthread_cond_init(&b->gcv, NULL);
    store__lex_init(&b->lex);
    if (!b->path || !b->conns) {
        sq_close(b);
        return store__fail(err, STORE_ENOMEM, "out of memory");
    }
    if (strcmp(b->path, ":memory:") == 0) {
        /* every pooled connection must see one database */
        sq_close(b);
        return store__fail(err, STORE_ECONFIG,
                           "sqlite_path ':memory:' is not shareable; use a file");
    }
    make_parent_dirs(b->path);
    sq__checkpointer_start(b);
    b->ck_started = 1;
    if ((rc = sq__acquire(b, &c, err)) != 0) {
        sq_close(b);
        return rc;
    }
    rc = migrate(c, err);
    sq__release(b, c);
    if (rc == 0 && cfg->synonyms_path)
        rc = store__lex_load_synonyms(&b->lex, cfg->synonyms_path, err);
    if (rc) {
        sq_close(b);
        return rc;
    }
    *out = b;
    return 0;
}

static int sq_ping(void *vb, store_err *err)
{
    sq *b = vb;
    sq_conn *c;
    sqlite3_stmt *st;
    int rc;
    if ((rc = sq__acquire(b, &c, err)) != 0)
        return rc;
    if (!(st = sq__prep(c, "SELECT 1", err)))
        rc = err ? err->code : STORE_EIO;
    else if ((rc = sqlite3_step(st)) != SQLITE_ROW)
        rc = sq__err(c, rc, err, "ping");
    else
        rc = 0;
    sq__release(b, c);
    return rc;
}

const store__ops store__sqlite_ops = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .ping = sq_ping,
    .user_create = sq__user_create,
    .user_get = sq__user_get,
    .product_upsert_many = sq__product_upsert_many,
    .product_get = sq__product_get,
    .product_delete = sq__product_delete,
    .product_count = sq__product_count,
    .product_each = sq__product_each,
    .catalog_generation = sq__catalog_generation,
    .search = sq__search,
    .cart_get = sq__cart_get,
    .cart_set_qty = sq__cart_set_qty,
    .cart_clear = sq__cart_clear,
    .cart_merge = sq__cart_merge,
    .order_create = sq__order_create,
    .order_get = sq__order_get,
    .order_list = sq__order_list,
    .order_cancel = sq__order_cancel,
    .order_set_status = sq__order_set_status,
    .cart_apply = sq__cart_apply,
    .order_place = sq__order_place,
    .order_cancel_audited = sq__order_cancel_audited,
    .order_refund_set = sq__order_refund_set,
    .order_refunds_pending = sq__order_refunds_pending,
    .memory_put = sq__memory_put,
    .memory_get = sq__memory_get,
    .memory_list = sq__memory_list,
    .memory_delete = sq__memory_delete,
    .audit_append = sq__audit_append,
    .audit_list = sq__audit_list,
    .kv_put = sq__kv_put,
    .kv_get = sq__kv_get,
    .kv_delete = sq__kv_delete,
    .history_append = sq__history_append,
    .history_get = sq__history_get,
    .session_save = sq__session_save,
    .token_put = sq__token_put,
    .token_rotate = sq__token_rotate,
    .token_revoke_family = sq__token_revoke_family,
    .ratelimit_take = sq__ratelimit_take,
    .counter_add = sq__counter_add,
    .once_begin = sq__once_begin,
    .once_finish = sq__once_finish,
    .session_save_replay = sq__session_save_replay,
    .once_abort = sq__once_abort,
    .session_save_once = sq__session_save_once,
    .once_peek = sq__once_peek,
    .session_get_replay = sq__session_get_replay,
};
