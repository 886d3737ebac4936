/* stores/mongo/mongo_int.h — what the MongoDB backend's files share: the
 * client pool, collection access, error mapping and the explicit
 * camelCase <-> struct mapping of products.  Private to stores/mongo/. */
#ifndef AISLE_MONGO_INT_H
#define AISLE_MONGO_INT_H

#include "stores/store_int.h"
#include "stores/search_int.h"

#include <mongoc/mongoc.h>

typedef struct mg {
    mongoc_uri_t *uri;
    mongoc_client_pool_t *pool;
    char db[64];               /* database from the URI path, default "aisle" */
    int txn;                   /* server takes multi-document transactions */
    const store *owner;        /* for the store clock */
    /* search: vocabulary and synonyms (stores/search_query.c); vmu is held
     * while the vocabulary is rebuilt; writes counts this process's
     * catalog writes, so the vocabulary knows when to rebuild */
    pthread_mutex_t vmu;
    store__lexicon lex;
    int64_t writes;
} mg;

/* mg__catalog_written: note a catalog write (the vocabulary is stale). */
static inline void mg__catalog_written(void *vb)
{
    __atomic_add_fetch(&((mg *)vb)->writes, 1, __ATOMIC_RELAXED);
}

/* One borrowed client and the collections a call needs. */
typedef struct mg_call {
    mg *b;
    mongoc_client_t *client;
} mg_call;

void mg__begin(mg *b, mg_call *c);
void mg__end(mg_call *c);
/* mg__coll: a collection handle (mongoc_collection_destroy after use). */
mongoc_collection_t *mg__coll(mg_call *c, const char *name);

/* mg__err: map a driver error to a store code: unreachable servers become
 * STORE_EUNAVAIL, duplicate keys STORE_EEXIST, the rest STORE_EIO. */
int mg__err(const bson_error_t *e, store_err *err, const char *what);
int mg__is_dup(const bson_error_t *e);

/* mg__next_id: the next value of a named sequence (users, orders). */
int mg__next_id(mg_call *c, const char *name, int64_t *id, store_err *err);

/* Integer of a reply field ("matchedCount"); 0 when absent. */
int64_t mg__reply_int(const bson_t *reply, const char *field);

/* mg__append_opt: append `key` to doc as a string, or as null when v is
 * NULL. */
void mg__append_opt(bson_t *doc, const char *key, const char *v);
/* Product documents. */
int mg__product_doc(const store_product *p, bson_t *doc, store_err *err);
void mg__doc_to_product(const bson_t *doc, store_product *p);
const char *mg__str(const bson_t *doc, const char *field);
double mg__num(const bson_t *doc, const char *field);

/* The ops implemented in each file. */
int mg__product_upsert_many(void *b, const store_product *p, size_t n,
                            size_t *failed, store_err *err);
int mg__product_get(void *b, const char *sku, store_product *out,
                    store_err *err);
int mg__product_delete(void *b, const char *sku, store_err *err);
int mg__product_count(void *b, int64_t *n, store_err *err);
int mg__product_each(void *b, store_product_fn fn, void *ud, store_err *err);
int mg__search(void *b, const store_search_query *q, store_search_result *out,
               store_err *err);
int mg__cart_get(void *b, const char *cart, store_cart *out, store_err *err);
int mg__cart_set_qty(void *b, const char *cart, const char *sku, int64_t qty,
                     store_err *err);
int mg__cart_clear(void *b, const char *cart, store_err *err);
int mg__cart_merge(void *b, const char *from, const char *into,
                   store_err *err);
int mg__order_create(void *b, int64_t user, const char *cart, const char *key, const char *pricing,
                     store_order *out, store_err *err);
int mg__order_get(void *b, int64_t id, store_order *out, store_err *err);
int mg__order_list(void *b, int64_t user, int limit, store_order **out,
                   size_t *n, store_err *err);
int mg__order_cancel(void *b, int64_t user, int64_t id, store_err *err);
int mg__order_set_status(void *b, int64_t id, const char *status,
                         store_err *err);
int mg__cart_apply(void *b, const store_cart_change *ch, int64_t now,
                   store_cart_outcome *out, store_err *err);
int mg__order_place(void *b, const store_order_req *req, int64_t now,
                    store_order *out, store_err *err);
int mg__order_cancel_audited(void *b, int64_t user, int64_t id,
                             const store_audit_rec *audit, const char *refund,
                             int64_t now, store_err *err);
int mg__order_refund_set(void *b, int64_t id, const char *refund, store_err *err);
int mg__order_refunds_pending(void *b, int limit, int64_t **ids, size_t *n,
                              store_err *err);

#endif
