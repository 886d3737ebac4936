/* stores/sqlite/sqlite_int.h — what the SQLite backend's files share: the
 * connection pool with its statement cache, error mapping and the search
 * lexicon it feeds from the catalog.  Private to stores/sqlite/. */
#ifndef AISLE_SQLITE_INT_H
#define AISLE_SQLITE_INT_H

#include "stores/store_int.h"
#include "stores/search_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sqlite3.h>

#define SQ_STMT_CACHE 64
/* the statement cache's two look-up tables (sqlite_conn.c): slots, a
 * power of two at least twice SQ_STMT_CACHE, so a probe always ends */
#define SQ_STMT_INDEX_BITS 7
#define SQ_STMT_INDEX (1 << SQ_STMT_INDEX_BITS)
#define SQ_SCHEMA_VERSION 10

/* The catalog's rows as a text search reads them, kept in memory per
 * catalog generation (sqlite_rows.c): per product id, the ranker's row
 * length and what the one pass over the matches reads (sort keys and
 * facet values), so neither asks SQLite once per match. */
typedef struct sq_row {
    int32_t len;             /* tokens over the FTS columns; -1: ask FTS5 */
    int32_t cat_len, brand_len;  /* -1: NULL */
    uint32_t cat, brand;     /* offsets into sq_rows.text */
    double price, rating;
    unsigned char present;   /* a product has this id */
    unsigned char price_known;
} sq_row;

typedef struct sq_rows {
    int64_t gen;
    int refs;                /* under sq.dmu */
    int64_t n;               /* row[0..n-1], by id */
    sq_row *row;
    char *text;
} sq_rows;
#define SQ_ROWS_MAX (1 << 24)   /* ids past this: not kept */
#define SQ_FTS_COLUMNS 5        /* title, brand, category, description, tags */

/* sq__row: the kept row of `id`, NULL when rows is NULL or has none. */
static inline const sq_row *sq__row(const sq_rows *rows, int64_t id)
{
    return rows && id >= 0 && id < rows->n && rows->row[id].present ? &rows->row[id] : NULL;
}

typedef struct sq_conn {
    sqlite3 *db;
    const sq_rows *rows;     /* set by a search for its pass over the matches */
    struct { char *sql; sqlite3_stmt *st; uint64_t hash; } cache[SQ_STMT_CACHE];
    /* where an SQL text is in cache[] without comparing it with each
     * (sq__prep): by_addr by the address the caller passed (nearly always
     * a literal, so the same text comes at the same address), confirmed
     * with strcmp; else by_text by a hash of the text (open addressing).
     * Each holds an entry's index + 1; 0 is empty. */
    struct { const char *addr; int ent; } by_addr[SQ_STMT_INDEX];
    unsigned char by_text[SQ_STMT_INDEX];
    int next_evict;
    int in_use;
    struct sq *owner;        /* the pool it belongs to (its writer lock) */
    int wheld;               /* holds owner->wmu: between sq__begin and the end */
} sq_conn;

/* One write waiting for a group commit (sq__group): the caller's own
 * arguments, valid while it waits; the leader fills rc and err. */
typedef struct sq_gop {
    struct sq_gop *next;
    int type;                /* SQ_G_KV, SQ_G_HISTORY, SQ_G_SESSION, SQ_G_ONCE_* */
    int kind, window;
    const char *key, *val, *turn;
    int64_t expires_at, turn_expires_at;
    int64_t now;             /* SQ_G_ONCE_*: the caller's clock */
    char **result;           /* SQ_G_ONCE_BEGIN, SQ_G_SAVE_ONCE: a kept result
                                (STORE_EEXIST) */
    const char *okey, *oval; /* SQ_G_SAVE_ONCE: the replay key and record */
    int64_t oexpires_at;     /* SQ_G_SAVE_ONCE: when the record expires */
    int rc, done;
    pthread_cond_t cv;       /* the caller's: signalled when done, or to lead */
    pthread_cond_t *cvp;     /* the cv of the caller's first write (several
                                writes of one caller share it) */
    store_err err;
} sq_gop;
enum { SQ_G_KV, SQ_G_HISTORY, SQ_G_SESSION, SQ_G_ONCE_BEGIN, SQ_G_ONCE_FINISH, SQ_G_SAVE_ONCE };

/* A thread waiting for a connection (sq__acquire), in arrival order. */
typedef struct sq_waiter {
    struct sq_waiter *next;
    pthread_cond_t cv;
    sq_conn *got;            /* set by sq__release: the connection handed over */
} sq_waiter;

typedef struct sq {
    store_config cfg;        /* strings owned by the store handle */
    char *path;
    pthread_mutex_t mu;
    sq_conn *conns;
    int n_conns;
    sq_waiter *whead, *wtail;   /* under mu: threads waiting for a connection */
    /* search: vocabulary and synonyms; vmu is held while the vocabulary
     * is rebuilt so a turn that arrives meanwhile waits for it */
    pthread_mutex_t vmu;
    store__lexicon lex;
    /* group commit of session, history and cache writes: the queue, and
     * whether a leader is committing a batch now (under gmu) */
    pthread_mutex_t gmu;
    pthread_cond_t gcv;
    sq_gop *ghead, *gtail;
    int gleader;
    uint64_t gcommits, gwrites;  /* transactions and the writes in them */
    /* search results kept (sqlite_scache.c): cfg.search_cache slots,
     * made on first use, under smu; stick counts hand-outs (recency) */
    pthread_mutex_t smu;
    struct sq_scache *scache;
    uint64_t stick;
    /* the rows at the newest generation seen (sqlite_rows.c), under dmu */
    pthread_mutex_t dmu;
    sq_rows *rows;
    /* this process's writers, one at a time (sq__begin): they queue here
     * and are woken as the one before commits, instead of polling
     * SQLite's write lock in its busy handler, which sleeps 1, 2, 5, 10 ms
     * ... between tries (a cart change and a group commit that met there
     * cost a turn milliseconds of sleep, a thousand sleeps a second under
     * the WebSocket bench).  Other processes on the same file still meet
     * at SQLite's lock. */
    pthread_mutex_t wmu;
    /* the checkpointer (sqlite_conn.c): a PASSIVE checkpoint asked for
     * and not begun yet, and whether to stop, under ckmu; ck_asked: the
     * log's length in pages at the last ask (wal_hook) */
    pthread_mutex_t ckmu;
    pthread_cond_t ckcv;
    pthread_t ck_thread;
    int ck_started;          /* sq__checkpointer_start ran (mutexes made) */
    int ck_running;          /* its thread runs; set before the first connection opens */
    int ck_want, ck_stop;
    _Atomic int ck_asked;
    atomic_int ck_busy;      /* a checkpoint of this process runs (ck_enter) */
} sq;

/* Borrow a connection (blocks while all are in use; first come, first
 * served) and give it back. */
/* The checkpointer thread (sqlite_conn.c): started before the pool's
 * first connection opens, stopped (joined) before the pool closes.
 * Without a thread the commits checkpoint themselves. */
void sq__checkpointer_start(sq *b);
void sq__checkpointer_stop(sq *b);

/* sq__conn_close: finalize a connection's cached statements and close it. */
void sq__conn_close(sq_conn *c);

int sq__acquire(sq *b, sq_conn **out, store_err *err);
void sq__release(sq *b, sq_conn *c);

/* sq__prep: a cached, reset, unbound prepared statement for `sql` (a
 * NUL-terminated text, not kept: the cache holds its own copy), owned by
 * `c`'s cache: valid until SQ_STMT_CACHE other texts have been prepared
 * on `c` after it (round-robin eviction once full) or `c` closes; the
 * caller never finalizes it.  Found by the text's address, then by its
 * hash, so the same text at two addresses is one statement.  NULL with
 * err set (when given) when SQLite cannot prepare it or memory runs out.
 * Not thread-safe: `c` is the calling thread's (sq__acquire). */
sqlite3_stmt *sq__prep(sq_conn *c, const char *sql, store_err *err);

/* sq__scache_get: a kept result for `q` at catalog generation `gen`, with
 * its hits' stock read afresh on `c`, into *out (1); 0 when none is kept
 * (or keeping is off, or q filters on stock).  sq__scache_put keeps a
 * copy of `r` (at most 200 hits and about 64 KB: so at most
 * search_cache × 64 KB), the least recently used out.
 * sq__scache_free drops them all (at close). */
int sq__scache_get(sq *b, sq_conn *c, int64_t gen, const store_search_query *q,
                   store_search_result *out);
void sq__scache_put(sq *b, int64_t gen, const store_search_query *q,
                    const store_search_result *r);
void sq__scache_free(sq *b);

/* sq__err: map an SQLite failure to a store code with its message. */
int sq__err(sq_conn *c, int rc, store_err *err, const char *what);

/* Transactions: BEGIN IMMEDIATE takes the write lock up front so two
 * writers never deadlock upgrading from read locks.  sq__begin first
 * takes the pool's writer lock (sq.wmu; waiting at most the busy timeout,
 * then on SQLite's own lock as before); sq__commit and sq__rollback (so
 * sq__release) give it back. */
int sq__begin(sq_conn *c, store_err *err);
int sq__commit(sq_conn *c, store_err *err);
void sq__rollback(sq_conn *c);

/* sq__exec: run SQL without parameters or results (several statements
 * allowed: the schema's migrations). */
int sq__exec(sq_conn *c, const char *sql, store_err *err);

/* One bound parameter, built with SQ_T (text; NULL binds NULL), SQ_I (any
 * integer, bound as 64-bit) or SQ_D (double); the macros convert, so the
 * argument's own type does not matter. */
typedef struct sq_arg {
    char type;                              /* 't', 'i' or 'd' */
    union { const char *t; int64_t i; double d; } v;
} sq_arg;
#define SQ_T(s) ((sq_arg){'t', {.t = (s)}})
#define SQ_I(n) ((sq_arg){'i', {.i = (int64_t)(n)}})
#define SQ_D(x) ((sq_arg){'d', {.d = (double)(x)}})

/* sq__prep_args: sq__prep, then args[0..n-1] bound to ?1..?n.  NULL with
 * err set when the statement cannot be prepared. */
sqlite3_stmt *sq__prep_args(sq_conn *c, const char *sql, const sq_arg *args,
                           size_t n, store_err *err);

/* sq__run: a one-shot statement: prepare, bind, step once, reset.  0 when
 * it ran (SQLITE_DONE, or SQLITE_ROW from a RETURNING clause, whose row is
 * dropped); else the store code, with "what: why" in err (err may be NULL
 * for a best-effort statement). */
int sq__run(sq_conn *c, const char *what, const char *sql, const sq_arg *args,
            size_t n, store_err *err);

/* sq__exists: 1 when the query (prepared, bound to args[0..n-1]) yields a
 * row, 0 when it yields none, a negative store code when it cannot run
 * (err, which may be NULL, says why).  For a cheap look before a write
 * that would otherwise do work for nothing. */
int sq__exists(sq_conn *c, const char *what, const char *sql, const sq_arg *args,
               size_t n, store_err *err);

/* The same with the arguments inline (at least one):
 *   rc = SQ_RUN(c, err, "cart clear", "DELETE FROM carts WHERE cart_id = ?",
 *               SQ_T(cart));
 * sizeof does not evaluate the arguments, so each is evaluated once. */
#define SQ_ARGS_(...) (const sq_arg[]){__VA_ARGS__}, \
                      sizeof((const sq_arg[]){__VA_ARGS__}) / sizeof(sq_arg)
#define SQ_PREP(c, err, sql, ...) sq__prep_args((c), (sql), SQ_ARGS_(__VA_ARGS__), (err))
#define SQ_RUN(c, err, what, sql, ...) \
    sq__run((c), (what), (sql), SQ_ARGS_(__VA_ARGS__), (err))
#define SQ_EXISTS(c, err, what, sql, ...) \
    sq__exists((c), (what), (sql), SQ_ARGS_(__VA_ARGS__), (err))

/* sq__now_ms: the configured clock, or wall time, in milliseconds. */
int64_t sq__now_ms(const sq *b);

/* sq__text_dup: column text as a malloc'd string (NULL for NULL). */
char *sq__text_dup(sqlite3_stmt *st, int col);

/* Catalog generation: bumped on every catalog write so caches built from
 * the catalog (vocabulary) know to rebuild. */
int sq__bump_generation(sq_conn *c, store_err *err);

/* Full reindex of products_fts from products (used by migrations). */
int sq__reindex_all(sq_conn *c, store_err *err);

/* sq__row_to_product: fill p from 12 columns starting at col0: sku, title,
 * brand, category, description, thumbnail, images, tags, price,
 * discount_pct, rating, stock. */
void sq__row_to_product(sqlite3_stmt *st, int col0, store_product *p);

/* Register the ranking function on a new connection (its user data is c,
 * whose rows it reads). */
int sq__register_rank(sq_conn *c);

/* sq__rows_get: the rows at catalog generation `gen`, read on c (inside
 * the caller's read transaction, so at the same snapshot as gen) when the
 * kept ones are older; a reference the caller gives back with
 * sq__rows_put.  NULL when none can be had for gen (out of memory, ids
 * too sparse, an older snapshot than the kept one): the caller then asks
 * SQLite per match.  Blocks while another thread reads them.
 * sq__rows_free drops the backend's own reference (at close). */
sq_rows *sq__rows_get(sq *b, sq_conn *c, int64_t gen);
void sq__rows_put(sq *b, sq_rows *r);
void sq__rows_free(sq *b);


/* The backend ops implemented in each file. */
int sq__user_create(void *b, const char *email, const char *hash,
                    const char *name, int64_t *id, store_err *err);
int sq__user_get(void *b, int64_t id, const char *email, store_user *out,
                 store_err *err);
int sq__memory_put(void *b, int64_t user, const char *ns, const char *key,
                   const char *json, store_err *err);
int sq__memory_get(void *b, int64_t user, const char *ns, const char *key,
                   char **out, store_err *err);
int sq__memory_list(void *b, int64_t user, const char *ns, char **out,
                    store_err *err);
int sq__memory_delete(void *b, int64_t user, const char *ns, const char *key,
                      store_err *err);
int sq__audit_append(void *b, const char *actor, const char *action,
                     const char *subject, const char *detail, int64_t now,
                     store_err *err);
int sq__audit_list(void *b, const char *actor, const char *subject, int limit,
                   char **out, store_err *err);
int sq__kv_put(void *b, int kind, const char *key, const char *val,
               int64_t expires_at, store_err *err);
int sq__kv_get(void *b, int kind, const char *key, int64_t now, char **out,
               store_err *err);
int sq__kv_delete(void *b, int kind, const char *key, store_err *err);
int sq__history_append(void *b, const char *sid, const char *turn, int window,
                       int64_t expires_at, store_err *err);
int sq__history_get(void *b, const char *sid, int64_t now, char **out,
                    store_err *err);
int sq__session_save(void *b, const char *sid, const char *json,
                     int64_t expires_at, const char *turn, int window,
                     int64_t history_expires_at, store_err *err);
int sq__session_save_replay(void *b, const char *sid, const char *json, int64_t expires_at,
                            const char *turn, int window, int64_t history_expires_at,
                            const char *key, const char *result, int64_t now,
                            int64_t once_expires_at, int *once_rc, store_err *once_err,
                            store_err *err);
int sq__session_save_once(void *b, const char *sid, const char *json, int64_t expires_at,
                          const char *turn, int window, int64_t history_expires_at,
                          const char *key, const char *result, int64_t now,
                          int64_t once_expires_at, char **first, store_err *err);
int sq__token_put(void *b, const char *hash, const char *family, int64_t user,
                  int64_t expires_at, store_err *err);
int sq__token_rotate(void *b, const char *old_hash, const char *new_hash,
                     int64_t new_expires, int64_t now, store_token *out,
                     store_err *err);
int sq__token_revoke_family(void *b, const char *family, store_err *err);
int sq__ratelimit_take(void *b, const char *key, double rate, double burst,
                       int64_t now, double *retry_after, store_err *err);
int sq__counter_add(void *b, const char *key, int64_t delta, int64_t *value,
                    store_err *err);

int sq__product_upsert_many(void *b, const store_product *p, size_t n,
                            size_t *failed, store_err *err);
int sq__product_get(void *b, const char *sku, store_product *out,
                    store_err *err);
int sq__product_delete(void *b, const char *sku, store_err *err);
int sq__product_count(void *b, int64_t *n, store_err *err);
int sq__product_each(void *b, store_product_fn fn, void *ud, store_err *err);
int sq__catalog_generation(void *b, int64_t *gen, store_err *err);
int sq__search(void *b, const store_search_query *q, store_search_result *out,
               store_err *err);

int sq__cart_get(void *b, const char *cart, store_cart *out, store_err *err);
int sq__cart_set_qty(void *b, const char *cart, const char *sku, int64_t qty,
                     store_err *err);
int sq__cart_clear(void *b, const char *cart, store_err *err);
int sq__cart_merge(void *b, const char *from, const char *into,
                   store_err *err);
int sq__order_create(void *b, int64_t user, const char *cart, const char *key, const char *pricing,
                     store_order *out, store_err *err);
int sq__order_get(void *b, int64_t id, store_order *out, store_err *err);
int sq__order_list(void *b, int64_t user, int limit, store_order **out,
                   size_t *n, store_err *err);
int sq__order_cancel(void *b, int64_t user, int64_t id, store_err *err);
int sq__order_set_status(void *b, int64_t id, const char *status,
                         store_err *err);
int sq__cart_apply(void *b, const store_cart_change *ch, int64_t now,
                   store_cart_outcome *out, store_err *err);
int sq__order_place(void *b, const store_order_req *req, int64_t now,
                    store_order *out, store_err *err);
int sq__order_cancel_audited(void *b, int64_t user, int64_t id,
                             const store_audit_rec *audit, const char *refund,
                             int64_t now, store_err *err);
int sq__order_refund_set(void *b, int64_t id, const char *refund, store_err *err);
int sq__order_refunds_pending(void *b, int limit, int64_t **ids, size_t *n,
                              store_err *err);
int sq__once_begin(void *b, const char *key, int64_t now, int64_t lease_until,
                   int lease_ms, char **result, store_err *err);
int sq__once_finish(void *b, const char *key, const char *result, int64_t now,
                    int64_t expires_at, store_err *err);
int sq__once_abort(void *b, const char *key, store_err *err);
int sq__once_peek(void *b, const char *key, int64_t now, char **result, store_err *err);
int sq__session_get_replay(void *b, const char *sid, const char *key, int64_t now, char **json,
                           char **result, store_err *err);

/* sq__audit_write: one audit row on c, inside the caller's transaction;
 * detail (may be NULL) replaces a->detail_json when given. */
int sq__audit_write(sq_conn *c, const store_audit_rec *a, const char *detail,
                    int64_t now, store_err *err);

#endif
