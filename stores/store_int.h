/* stores/store_int.h — what the files of stores/ and the backends share: the backend
 * vtable (one per folder, like curl's Curl_ssl or an SQLite VFS), the
 * error helper and the query-understanding helpers.  Never included from
 * outside stores/. */
#ifndef AISLE_STORE_INT_H
#define AISLE_STORE_INT_H

#include "store.h"
#include <stdarg.h>

/* A backend instance.  Every op takes the instance first; an op that a
 * backend lacks stays NULL and the dispatcher answers STORE_ENOTSUP. */
typedef struct store__ops {
    const char *name;
    int  (*open)(const store_config *cfg, const store *owner, void **out,
                 store_err *err);
    void (*close)(void *b);
    int  (*ping)(void *b, store_err *err);

    /* document family */
    int (*user_create)(void *b, const char *email, const char *hash,
                       const char *name, int64_t *id, store_err *err);
    int (*user_get)(void *b, int64_t id, const char *email, store_user *out,
                    store_err *err);
    int (*product_upsert_many)(void *b, const store_product *p, size_t n,
                               size_t *failed, store_err *err);
    int (*product_get)(void *b, const char *sku, store_product *out,
                       store_err *err);
    int (*product_delete)(void *b, const char *sku, store_err *err);
    int (*product_count)(void *b, int64_t *n, store_err *err);
    int (*product_each)(void *b, store_product_fn fn, void *ud, store_err *err);
    int (*catalog_generation)(void *b, int64_t *gen, store_err *err);  /* may be NULL */
    int (*search)(void *b, const store_search_query *q,
                  store_search_result *out, store_err *err);
    int (*cart_get)(void *b, const char *cart, store_cart *out, store_err *err);
    int (*cart_set_qty)(void *b, const char *cart, const char *sku, int64_t qty,
                        store_err *err);
    int (*cart_clear)(void *b, const char *cart, store_err *err);
    int (*cart_merge)(void *b, const char *from, const char *into,
                      store_err *err);
    int (*order_create)(void *b, int64_t user, const char *cart,
                        const char *key, const char *pricing, store_order *out,
                        store_err *err);
    int (*order_get)(void *b, int64_t id, store_order *out, store_err *err);
    int (*order_list)(void *b, int64_t user, int limit, store_order **out,
                      size_t *n, store_err *err);
    int (*order_cancel)(void *b, int64_t user, int64_t id, store_err *err);
    int (*order_set_status)(void *b, int64_t id, const char *status,
                            store_err *err);
    int (*memory_put)(void *b, int64_t user, const char *ns, const char *key,
                      const char *json, store_err *err);
    int (*memory_get)(void *b, int64_t user, const char *ns, const char *key,
                      char **out, store_err *err);
    int (*memory_list)(void *b, int64_t user, const char *ns, char **out,
                       store_err *err);
    int (*memory_delete)(void *b, int64_t user, const char *ns,
                         const char *key, store_err *err);
    int (*audit_append)(void *b, const char *actor, const char *action,
                        const char *subject, const char *detail, int64_t now,
                        store_err *err);
    int (*audit_list)(void *b, const char *actor, const char *subject,
                      int limit, char **out, store_err *err);

    /* exactly-once effects (document family); `now` is the store clock.
     * The dispatcher has checked the arguments and zeroed *out. */
    int (*cart_apply)(void *b, const store_cart_change *c, int64_t now,
                      store_cart_outcome *out, store_err *err);
    int (*order_place)(void *b, const store_order_req *req, int64_t now,
                       store_order *out, store_err *err);
    int (*order_cancel_audited)(void *b, int64_t user, int64_t id,
                                const store_audit_rec *audit,
                                const char *refund, int64_t now,
                                store_err *err);
    int (*order_refund_set)(void *b, int64_t id, const char *refund,
                            store_err *err);
    int (*order_refunds_pending)(void *b, int limit, int64_t **ids,
                                 size_t *n, store_err *err);

    /* ephemeral family; `now` is the store clock in ms */
    int (*kv_put)(void *b, int kind, const char *key, const char *val,
                  int64_t expires_at, store_err *err);
    int (*kv_get)(void *b, int kind, const char *key, int64_t now, char **out,
                  store_err *err);
    int (*kv_delete)(void *b, int kind, const char *key, store_err *err);
    int (*history_append)(void *b, const char *sid, const char *turn,
                          int window, int64_t expires_at, store_err *err);
    int (*history_get)(void *b, const char *sid, int64_t now, char **out,
                       store_err *err);
    /* optional: kv_put of the session and history_append as one write */
    int (*session_save)(void *b, const char *sid, const char *json,
                        int64_t expires_at, const char *turn, int window,
                        int64_t history_expires_at, store_err *err);
    int (*token_put)(void *b, const char *hash, const char *family,
                     int64_t user, int64_t expires_at, store_err *err);
    int (*token_rotate)(void *b, const char *old_hash, const char *new_hash,
                        int64_t new_expires, int64_t now, store_token *out,
                        store_err *err);
    int (*token_revoke_family)(void *b, const char *family, store_err *err);
    int (*ratelimit_take)(void *b, const char *key, double rate, double burst,
                          int64_t now, double *retry_after, store_err *err);
    int (*counter_add)(void *b, const char *key, int64_t delta, int64_t *value,
                       store_err *err);
    /* request replay keys: reserve (lease_expires_at, lease_ms for a
     * backend with its own clock), keep a result until expires_at, or
     * drop a reservation that has no result yet */
    int (*once_begin)(void *b, const char *key, int64_t now,
                      int64_t lease_expires_at, int lease_ms, char **result,
                      store_err *err);
    int (*once_finish)(void *b, const char *key, const char *result,
                       int64_t now, int64_t expires_at, store_err *err);
    int (*once_abort)(void *b, const char *key, store_err *err);
    /* optional: session_save and once_finish in one write (the
     * replay record's code in *once_rc, its message in *once_err) */
    int (*session_save_replay)(void *b, const char *sid, const char *json,
                               int64_t expires_at, const char *turn, int window,
                               int64_t history_expires_at, const char *key,
                               const char *result, int64_t now, int64_t once_expires_at,
                               int *once_rc, store_err *once_err, store_err *err);

    /* optional: once_finish only onto a key with no live record, then
     * session_save, as one write (store_session_save_once); *first the
     * kept result on STORE_EEXIST */
    int (*session_save_once)(void *b, const char *sid, const char *json,
                             int64_t expires_at, const char *turn, int window,
                             int64_t history_expires_at, const char *key,
                             const char *result, int64_t now, int64_t once_expires_at,
                             char **first, store_err *err);
    /* a key's state, read only: 0, STORE_EEXIST (*result), STORE_EBUSY */
    int (*once_peek)(void *b, const char *key, int64_t now, char **result,
                     store_err *err);
    /* optional: once_peek and, when it finds nothing, kv_get of the
     * session, in one read */
    int (*session_get_replay)(void *b, const char *sid, const char *key,
                              int64_t now, char **json, char **result,
                              store_err *err);

    /* events between instances (may be NULL: one instance only) */
    int (*event_publish)(void *b, const char *channel, const char *msg,
                         size_t len, store_err *err);
    int (*event_subscribe)(void *b, const char *channel, store_event_fn fn,
                           void *ud, store_sub **out, store_err *err);
    void (*event_unsubscribe)(store_sub *sub);
} store__ops;

/* kv kinds share one keyspace per kind */
enum { STORE__KV_SESSION = 1, STORE__KV_CACHE = 2 };

/* the backends' vtables (stores/sqlite/, stores/redis/, stores/mongo/) */
extern const store__ops store__sqlite_ops;
extern const store__ops store__redis_ops;
extern const store__ops store__mongo_ops;

/* store__fail: fill err (may be NULL) and return code. */
int store__fail(store_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* store__facts_check: 0 when p->facts is NULL or a JSON object of at
 * most STORE_PRODUCT_FACTS_MAX bytes, else STORE_EINVAL (every backend's
 * upsert checks it before writing anything). */
int store__facts_check(const store_product *p, store_err *err);

/* store__strdup: NULL-safe strdup. */
char *store__strdup(const char *s);

/* store__check_json: 0 when `json` is "null" or parses as JSON, else
 * STORE_EINVAL with "WHAT is not valid JSON" in err (may be NULL). The
 * one check every backend runs on a JSON value it is asked to store. */
int store__check_json(const char *json, const char *what, store_err *err);

/* store__json_plain: 1 when `json` is an object or array in a plain
 * subset of JSON that json-c is known to read back (stores/json_check.c),
 * checked without building it; 0 says nothing (ask json-c). */
int store__json_plain(const char *json);

/* store__json_or_string: a stored JSON text parsed back (caller owns), so
 * that lists hold real values; text that does not parse comes back as a
 * JSON string, NULL and "null" as NULL. */
struct json_object *store__json_or_string(const char *text);

/* ------------------------------------------------------------------
 * Query understanding (stores/search_text.c), shared by every backend so
 * that the same words match whichever engine indexes them.
 * ---------------------------------------------------------------- */

/* A growable byte buffer. */
typedef struct store__buf {
    char *p;
    size_t len, cap;
} store__buf;
int store__buf_add(store__buf *b, const char *s, size_t n);
int store__buf_adds(store__buf *b, const char *s);
void store__buf_free(store__buf *b);

/* store__normalize: lower-case `text` and rewrite it to space-separated
 * tokens: letter/digit runs, with measurements made canonical ("1/2 in."
 * -> "0p5in", "3 ft" -> "3ft", "2 in. x 4 in." -> "2in 4in 2x4").  The same
 * rules run at index and query time; for_index additionally emits the bare
 * number of a measurement ("0p5") so a query without its unit matches.
 * Appends to out (NUL-terminated).  Returns 0 or STORE_ENOMEM. */
int store__normalize(const char *text, int for_index, store__buf *out);

/* store__tokens: split a normalized string into at most max tokens
 * (pointers into a private copy in *storage, freed by the caller). */
size_t store__tokens(const char *norm, char **storage, char **tok,
                     size_t max);

/* store__edit_distance: Damerau-Levenshtein (optimal string alignment)
 * distance, or max+1 as soon as it exceeds max. */
int store__edit_distance(const char *a, size_t la, const char *b, size_t lb,
                         int max);

/* store__is_stopword: small English list of words that carry no product
 * meaning ("for", "with", "the"). */
int store__is_stopword(const char *w);

/* Checkout pricing (stores/pricing.c): the engine's priced cart, parsed
 * once so each backend can store lines at their agreed prices. */
typedef struct store__pricing_line {
    char sku[128];
    double unit;
    int64_t qty;     /* the quantity priced; 0 when the pricing gave none */
} store__pricing_line;

typedef struct store__pricing {
    double total;                /* what the order charges, delivery included */
    double delivery;             /* delivery.price, 0 without one */
    store__pricing_line *lines;
    size_t n;
} store__pricing;

/* store__pricing_parse: NULL json gives an empty pricing (total < 0). */
int store__pricing_parse(const char *json, store__pricing *p, store_err *err);
/* store__pricing_unit: the agreed unit price of sku, else dflt. */
double store__pricing_unit(const store__pricing *p, const char *sku, double dflt);
/* store__pricing_check: STORE_EINVAL when the total less delivery is
 * above subtotal. */
int store__pricing_check(const store__pricing *p, double subtotal, store_err *err);
/* store__pricing_match: the cart read inside the order's transaction is
 * the one that was priced: the same SKUs in the same quantities.
 * STORE_ESTATE when it changed in between (a line added, removed or its
 * quantity changed by another request): the order is not placed, and the
 * caller prices the cart again. 0 without a pricing, or one that gave no
 * quantities. */
int store__pricing_match(const store__pricing *p, const store_cart *c, store_err *err);
void store__pricing_free(store__pricing *p);

/* Media copies (stores/media.c), one per store handle. */
typedef struct store__media store__media;

/* The store the API hands out (store.c opens it). Here so that
 * store_util.c can read its clock; the backends keep only their own state
 * and a pointer to this one (their `owner`). */
struct store {
    store_config cfg;
    char *sqlite_path, *redis_url, *mongo_uri, *synonyms_path;
    const store__ops *doc_ops, *eph_ops;
    void *doc, *eph;            /* eph == doc when one backend serves both */
    store__media *media;        /* the copies of product images */
};
store__media *store__media_new(const char *dir);
void store__media_free(store__media *m);
const char *store__media_dir(const store__media *m);
/* store__media_fill: set p->thumbnail_media / images_media from the index */
void store__media_fill(store__media *m, store_product *p);
int store__media_put(store__media *m, const char *url, const void *bytes, size_t len,
                     const char *sha256_hex, char *name_out, store_err *err);
int store__media_lookup(store__media *m, const char *url, char *name, store_err *err);
int store__media_read(store__media *m, const char *name, char **bytes, size_t *len,
                      const char **type, store_err *err);
int store__media_open(store__media *m, const char *name, int *fd, size_t *len,
                      const char **type, store_err *err);

/* Audit records written with an effect (stores/effects.c). */

/* store__audit_check: STORE_EINVAL unless actor and action are set and
 * detail (may be NULL) is valid JSON.  NULL a is fine. */
int store__audit_check(const store_audit_rec *a, store_err *err);
/* store__audit_detail_with: *out = detail (an object, or NULL for {})
 * with "name": v set, malloc'd.  STORE_EINVAL when detail is not a JSON
 * object: a field cannot be added to it. */
int store__audit_detail_with(const char *detail, const char *name, int64_t v,
                             char **out, store_err *err);
/* store__cart_outcome_json / _parse: the kept outcome of a keyed cart
 * change, {"qty": n, "stock": n}. */
int store__cart_outcome_json(const store_cart_outcome *o, char **out,
                             store_err *err);
int store__cart_outcome_parse(const char *json, store_cart_outcome *o,
                              store_err *err);

#endif
