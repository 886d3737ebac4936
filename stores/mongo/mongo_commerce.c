/* stores/mongo/mongo_commerce.c — carts and orders on MongoDB.  Checkout
 * decrements stock with conditional updates ({stock: {$gte: qty}}, so two
 * buyers can never both take the last unit); on a replica set it runs in a
 * transaction, on a standalone server failed steps are compensated.
 * Keyed cart changes reserve their key by inserting it as a document's
 * unique _id (idem_keys) before the effect and mark it done after.
 * UNVERIFIED: no MongoDB server exists where this was written; it compiles
 * and follows the SQLite backend's contract, and the exactly-once suite
 * (tests/unit/test_store_once.c) runs it when AISLE_TEST_MONGO_URI is set. */
#include "mongo_int.h"
#include <json-c/json.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct line { char sku[128]; int64_t qty; } line;

/* opts may carry a session (sessionId) so the same code runs inside a
 * transaction or without one. */
static int update(mg_call *c, const char *coll, bson_t *q, bson_t *u, int upsert,
                  const bson_t *sess, int64_t *matched, bson_t **fail_reply,
                  store_err *err)
{
    mongoc_collection_t *col = mg__coll(c, coll);
    bson_t opts = BSON_INITIALIZER, reply;
    bson_error_t e;
    int rc = 0;
    if (sess)
        bson_concat(&opts, sess);
    if (upsert)
        BSON_APPEND_BOOL(&opts, "upsert", true);
    if (!mongoc_collection_update_one(col, q, u, &opts, &reply, &e)) {
        rc = mg__err(&e, err, coll);
        if (fail_reply && !*fail_reply)
            *fail_reply = bson_copy(&reply);
    } else if (matched) {
        *matched = mg__reply_int(&reply, "matchedCount") + mg__reply_int(&reply, "upsertedCount");
    }
    bson_destroy(&reply);
    bson_destroy(&opts);
    bson_destroy(q);
    bson_destroy(u);
    mongoc_collection_destroy(col);
    return rc;
}

static int read_cart(mg_call *c, const char *cart, const bson_t *sess, line **out,
                     size_t *n, store_err *err)
{
    mongoc_collection_t *col = mg__coll(c, "carts");
    bson_t *q = BCON_NEW("_id", BCON_UTF8(cart));
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(col, q, sess, NULL);
    const bson_t *d;
    bson_error_t e;
    bson_iter_t it, a;
    int rc = 0;
    *out = NULL;
    *n = 0;
    if (mongoc_cursor_next(cur, &d) && bson_iter_init_find(&it, d, "items") &&
        bson_iter_recurse(&it, &a)) {
        size_t cap = 0;
        while (bson_iter_next(&a)) {
            bson_t one;
            const uint8_t *data;
            uint32_t len;
            if (!BSON_ITER_HOLDS_DOCUMENT(&a))
                continue;
            bson_iter_document(&a, &len, &data);
            if (!bson_init_static(&one, data, len) || !mg__str(&one, "sku"))
                continue;
            if (*n == cap) {
                line *nl = realloc(*out, (cap = cap ? cap * 2 : 8) * sizeof *nl);
                if (!nl) {
                    rc = store__fail(err, STORE_ENOMEM, "out of memory");
                    break;
                }
                *out = nl;
            }
            snprintf((*out)[*n].sku, sizeof (*out)[*n].sku, "%s", mg__str(&one, "sku"));
            (*out)[(*n)++].qty = (int64_t)mg__num(&one, "qty");
        }
    }
    if (!rc && mongoc_cursor_error(cur, &e))
        rc = mg__err(&e, err, "cart");
    mongoc_cursor_destroy(cur);
    mongoc_collection_destroy(col);
    bson_destroy(q);
    return rc;
}

/* Title and price of a product now; STORE_ENOTFOUND when it is gone. */
static int product_info(mg_call *c, const char *sku, const bson_t *sess,
                        char *title, size_t tn, double *price, store_err *err)
{
    mongoc_collection_t *col = mg__coll(c, "products");
    bson_t *q = BCON_NEW("_id", BCON_UTF8(sku));
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(col, q, sess, NULL);
    const bson_t *d;
    bson_error_t e;
    int rc;
    if (mongoc_cursor_next(cur, &d)) {
        snprintf(title, tn, "%s", mg__str(d, "title") ? mg__str(d, "title") : "");
        *price = mg__num(d, "price");
        rc = 0;
    } else if (mongoc_cursor_error(cur, &e)) {
        rc = mg__err(&e, err, "product");
    } else {
        rc = store__fail(err, STORE_ENOTFOUND, "no product with sku %s", sku);
    }
    mongoc_cursor_destroy(cur);
    mongoc_collection_destroy(col);
    bson_destroy(q);
    return rc;
}

/* ---------------- carts ---------------- */

int mg__cart_get(void *vb, const char *cart, store_cart *out, store_err *err)
{
    mg_call c;
    line *l;
    size_t n;
    int rc;
    mg__begin(vb, &c);
    if ((rc = read_cart(&c, cart, NULL, &l, &n, err)) == 0 && n &&
        !(out->items = calloc(n, sizeof *out->items)))
        rc = store__fail(err, STORE_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < n; i++) {
        store_cart_item *it = &out->items[out->n_items];
        double price;
        /* a line whose product was deleted drops out of the cart */
        int r = product_info(&c, l[i].sku, NULL, it->title, sizeof it->title, &price, err);
        if (r == STORE_ENOTFOUND)
            continue;
        if ((rc = r) != 0)
            break;
        snprintf(it->sku, sizeof it->sku, "%s", l[i].sku);
        it->qty = l[i].qty;
        it->unit_price = price;
        out->subtotal += price * (double)l[i].qty;
        out->n_items++;
    }
    mg__end(&c);
    free(l);
    if (rc)
        store_cart_clear_struct(out);
    return rc;
}

/* Set (inc = 0) or add to (inc = 1) one line; a new line goes last. */
static int cart_line(mg_call *c, const char *cart, const char *sku, int64_t qty,
                     int inc, const bson_t *sess, store_err *err)
{
    int64_t m = 0;
    int rc;
    for (int attempt = 0; attempt < 2; attempt++) {
        rc = update(c, "carts", BCON_NEW("_id", BCON_UTF8(cart), "items.sku", BCON_UTF8(sku)),
                    inc ? BCON_NEW("$inc", "{", "items.$.qty", BCON_INT64(qty), "}")
                        : BCON_NEW("$set", "{", "items.$.qty", BCON_INT64(qty), "}"),
                    0, sess, &m, NULL, err);
        if (rc || m)
            return rc;
        rc = update(c, "carts", BCON_NEW("_id", BCON_UTF8(cart), "items.sku", "{", "$ne",
                                         BCON_UTF8(sku), "}"),
                    BCON_NEW("$push", "{", "items", "{", "sku", BCON_UTF8(sku), "qty",
                             BCON_INT64(qty), "}", "}"),
                    1, sess, &m, NULL, err);
        /* a concurrent add of the same line made the upsert collide with the
         * existing cart: the first form now matches */
        if (rc != STORE_EEXIST)
            return rc;
    }
    return rc;
}

int mg__cart_set_qty(void *vb, const char *cart, const char *sku, int64_t qty,
                     store_err *err)
{
    mg_call c;
    char title[256];
    double price;
    int rc;
    mg__begin(vb, &c);
    if (qty <= 0)
        rc = update(&c, "carts", BCON_NEW("_id", BCON_UTF8(cart)),
                    BCON_NEW("$pull", "{", "items", "{", "sku", BCON_UTF8(sku), "}", "}"),
                    0, NULL, NULL, NULL, err);
    else if ((rc = product_info(&c, sku, NULL, title, sizeof title, &price, err)) == 0)
        rc = cart_line(&c, cart, sku, qty, 0, NULL, err);
    mg__end(&c);
    return rc;
}

int mg__cart_clear(void *vb, const char *cart, store_err *err)
{
    mg_call c;
    int rc;
    mg__begin(vb, &c);
    rc = update(&c, "carts", BCON_NEW("_id", BCON_UTF8(cart)),
                BCON_NEW("$set", "{", "items", "[", "]", "}"), 0, NULL, NULL, NULL, err);
    mg__end(&c);
    return rc;
}

int mg__cart_merge(void *vb, const char *from, const char *into, store_err *err)
{
    mg_call c;
    line *l;
    size_t n;
    int rc;
    mg__begin(vb, &c);
    /* the source is emptied first: a failure part-way loses a line from
     * the anonymous cart rather than adding it to the user's twice */
    if ((rc = read_cart(&c, from, NULL, &l, &n, err)) == 0 && n)
        rc = update(&c, "carts", BCON_NEW("_id", BCON_UTF8(from)),
                    BCON_NEW("$set", "{", "items", "[", "]", "}"), 0, NULL, NULL, NULL, err);
    for (size_t i = 0; !rc && i < n; i++)
        rc = cart_line(&c, into, l[i].sku, l[i].qty, 1, NULL, err);
    mg__end(&c);
    free(l);
    return rc;
}

/* ---------------- orders ---------------- */

static int doc_to_order(const bson_t *d, store_order *o)
{
    bson_iter_t it, a;
    size_t cap = 0;
    memset(o, 0, sizeof *o);
    o->id = (int64_t)mg__num(d, "_id");
    o->user_id = (int64_t)mg__num(d, "userId");
    snprintf(o->status, sizeof o->status, "%s", mg__str(d, "status") ? mg__str(d, "status") : "");
    snprintf(o->idempotency_key, sizeof o->idempotency_key, "%s",
             mg__str(d, "idempotencyKey") ? mg__str(d, "idempotencyKey") : "");
    o->total = mg__num(d, "total");
    o->created_at = (int64_t)mg__num(d, "createdAt");
    if (mg__str(d, "pricing") && !(o->pricing_json = strdup(mg__str(d, "pricing"))))
        return STORE_ENOMEM;
    if (mg__str(d, "refund") && !(o->refund_json = strdup(mg__str(d, "refund"))))
        return STORE_ENOMEM;
    if (!bson_iter_init_find(&it, d, "lines") || !bson_iter_recurse(&it, &a))
        return 0;
    while (bson_iter_next(&a)) {
        bson_t one;
        const uint8_t *data;
        uint32_t len;
        store_order_line *ln;
        bson_iter_document(&a, &len, &data);
        if (!bson_init_static(&one, data, len))
            continue;
        if (o->n_lines == cap) {
            store_order_line *nl = realloc(o->lines, (cap = cap ? cap * 2 : 4) * sizeof *nl);
            if (!nl)
                return STORE_ENOMEM;
            o->lines = nl;
        }
        ln = &o->lines[o->n_lines++];
        memset(ln, 0, sizeof *ln);
        snprintf(ln->sku, sizeof ln->sku, "%s", mg__str(&one, "sku") ? mg__str(&one, "sku") : "");
        snprintf(ln->title, sizeof ln->title, "%s", mg__str(&one, "title") ? mg__str(&one, "title") : "");
        ln->qty = (int64_t)mg__num(&one, "qty");
        ln->unit_price = mg__num(&one, "unitPrice");
    }
    return 0;
}

static int find_order(mg_call *c, bson_t *q, const bson_t *sess, store_order *out,
                      store_err *err)
{
    mongoc_collection_t *col = mg__coll(c, "orders");
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(col, q, sess, NULL);
    const bson_t *d;
    bson_error_t e;
    int rc;
    if (mongoc_cursor_next(cur, &d))
        rc = doc_to_order(d, out) ? store__fail(err, STORE_ENOMEM, "out of memory") : 0;
    else if (mongoc_cursor_error(cur, &e))
        rc = mg__err(&e, err, "order");
    else
        rc = store__fail(err, STORE_ENOTFOUND, "no such order");
    mongoc_cursor_destroy(cur);
    mongoc_collection_destroy(col);
    bson_destroy(q);
    return rc;
}

typedef struct checkout {
    mg_call *c;
    int64_t id, user, now;
    const char *cart, *key;
    const char *pricing_json;  /* as agreed at checkout, or NULL */
    const store__pricing *pricing;
    store_order *out;
    const store_audit_rec *audit;   /* written with the order, or NULL */
    store_err *err;
    int rc;
    bson_t *fail_reply;        /* reply of a failed write, for its labels */
} checkout;

/* One audit document, as store_audit_append writes it; sess may be NULL. */
static int audit_insert(mg_call *c, const store_audit_rec *a, const char *subject,
                        const char *detail, int64_t now, const bson_t *sess,
                        bson_t **fail_reply, store_err *err)
{
    mongoc_collection_t *col = mg__coll(c, "audit");
    bson_t opts = BSON_INITIALIZER, reply;
    bson_t *doc = BCON_NEW("time", BCON_INT64(now), "actor", BCON_UTF8(a->actor),
                           "action", BCON_UTF8(a->action), "subject",
                           BCON_UTF8(a->subject ? a->subject : subject ? subject : ""));
    bson_error_t e;
    int rc = 0;
    detail = detail ? detail : a->detail_json;
    if (detail)
        BSON_APPEND_UTF8(doc, "detail", detail);
    else
        BSON_APPEND_NULL(doc, "detail");
    if (sess)
        bson_concat(&opts, sess);
    if (!mongoc_collection_insert_one(col, doc, &opts, &reply, &e)) {
        rc = mg__err(&e, err, "audit append");
        if (fail_reply && !*fail_reply)
            *fail_reply = bson_copy(&reply);
    }
    bson_destroy(&reply);
    bson_destroy(&opts);
    bson_destroy(doc);
    mongoc_collection_destroy(col);
    return rc;
}

static void delete_one(mg_call *c, const char *coll, bson_t *q)
{
    mongoc_collection_t *col = mg__coll(c, coll);
    mongoc_collection_delete_one(col, q, NULL, NULL, NULL);
    mongoc_collection_destroy(col);
    bson_destroy(q);
}

static void restock(checkout *k, const line *l, size_t n, const bson_t *sess)
{
    for (size_t i = 0; i < n; i++)
        update(k->c, "products", BCON_NEW("_id", BCON_UTF8(l[i].sku)),
               BCON_NEW("$inc", "{", "stock", BCON_INT64(l[i].qty), "}"), 0, sess,
               NULL, NULL, NULL);
}

/* The checkout steps; sess is NULL on a standalone server, where each
 * failed step undoes the stock taken before it. */
static int place(checkout *k, const bson_t *sess)
{
    line *l = NULL;
    size_t n = 0, taken = 0;
    bson_t doc = BSON_INITIALIZER, lines;
    double total = 0;
    int rc;
    if ((rc = read_cart(k->c, k->cart, sess, &l, &n, k->err)) != 0)
        goto out;
    if (n == 0) {
        rc = store__fail(k->err, STORE_EEMPTY, "cart %s is empty", k->cart);
        goto out;
    }
    {   /* the cart read here is the one that was priced */
        store_cart cc = {calloc(n, sizeof *cc.items), n, 0};
        if (!cc.items) {
            rc = store__fail(k->err, STORE_ENOMEM, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            snprintf(cc.items[i].sku, sizeof cc.items[i].sku, "%s", l[i].sku);
            cc.items[i].qty = l[i].qty;
        }
        rc = store__pricing_match(k->pricing, &cc, k->err);
        free(cc.items);
        if (rc)
            goto out;
    }
    BSON_APPEND_INT64(&doc, "_id", k->id);
    BSON_APPEND_INT64(&doc, "userId", k->user);
    BSON_APPEND_UTF8(&doc, "status", "placed");
    BSON_APPEND_UTF8(&doc, "idempotencyKey", k->key);
    BSON_APPEND_INT64(&doc, "createdAt", k->now);
    BSON_APPEND_ARRAY_BEGIN(&doc, "lines", &lines);
    for (size_t i = 0; i < n; i++) {
        char title[256], idx[16];
        const char *ik;
        double price;
        int64_t m = 0;
        bson_t ln;
        if ((rc = product_info(k->c, l[i].sku, sess, title, sizeof title, &price, k->err))) {
            if (rc == STORE_ENOTFOUND)
                rc = store__fail(k->err, STORE_ESTOCK, "%s is no longer sold", l[i].sku);
            break;
        }
        if ((rc = update(k->c, "products",
                         BCON_NEW("_id", BCON_UTF8(l[i].sku), "$nor", "[", "{", "stock", "{", "$lt",
                                  BCON_INT64(l[i].qty), "}", "stockTracked", "{", "$ne", BCON_BOOL(false), "}",
                                  "}", "]"),
                         BCON_NEW("$inc", "{", "stock", BCON_INT64(-l[i].qty), "}"),
                         0, sess, &m, &k->fail_reply, k->err)) != 0)
            break;
        if (m == 0) {
            rc = store__fail(k->err, STORE_ESTOCK, "not enough stock for %s", l[i].sku);
            break;
        }
        taken++;
        total += price * (double)l[i].qty;
        price = store__pricing_unit(k->pricing, l[i].sku, price);
        bson_uint32_to_string((uint32_t)i, &ik, idx, sizeof idx);
        BSON_APPEND_DOCUMENT_BEGIN(&lines, ik, &ln);
        BSON_APPEND_UTF8(&ln, "sku", l[i].sku);
        BSON_APPEND_UTF8(&ln, "title", title);
        BSON_APPEND_INT64(&ln, "qty", l[i].qty);
        BSON_APPEND_DOUBLE(&ln, "unitPrice", price);
        bson_append_document_end(&lines, &ln);
    }
    bson_append_array_end(&doc, &lines);
    if (!rc)
        rc = store__pricing_check(k->pricing, total, k->err);
    BSON_APPEND_DOUBLE(&doc, "total", k->pricing->total >= 0 ? k->pricing->total : total);
    if (k->pricing_json)
        BSON_APPEND_UTF8(&doc, "pricing", k->pricing_json);
    if (!rc) {
        mongoc_collection_t *col = mg__coll(k->c, "orders");
        bson_t opts = BSON_INITIALIZER, reply;
        bson_error_t e;
        if (sess)
            bson_concat(&opts, sess);
        /* the unique (userId, idempotencyKey) index decides a race between
         * two requests with one key: the loser undoes its stock */
        if (!mongoc_collection_insert_one(col, &doc, &opts, &reply, &e)) {
            rc = mg__err(&e, k->err, "order insert");
            if (!k->fail_reply)
                k->fail_reply = bson_copy(&reply);
        }
        bson_destroy(&reply);
        bson_destroy(&opts);
        mongoc_collection_destroy(col);
    }
    if (!rc && k->audit) {
        char subject[48], *detail = NULL;
        snprintf(subject, sizeof subject, "order:%lld", (long long)k->id);
        if ((rc = store__audit_detail_with(k->audit->detail_json, "orderId", k->id,
                                           &detail, k->err)) == 0)
            rc = audit_insert(k->c, k->audit, subject, detail, k->now, sess,
                              &k->fail_reply, k->err);
        free(detail);
        /* standalone: the order is taken back with its stock */
        if (rc && !sess)
            delete_one(k->c, "orders", BCON_NEW("_id", BCON_INT64(k->id)));
    }
    if (!rc)
        rc = update(k->c, "carts", BCON_NEW("_id", BCON_UTF8(k->cart)),
                    BCON_NEW("$set", "{", "items", "[", "]", "}"), 0, sess, NULL,
                    &k->fail_reply, k->err);
    if (rc && !sess)
        restock(k, l, taken, NULL);
out:
    bson_destroy(&doc);
    free(l);
    return rc;
}

static bool txn_cb(mongoc_client_session_t *cs, void *ctx, bson_t **reply,
                   bson_error_t *error)
{
    checkout *k = ctx;
    bson_t sess = BSON_INITIALIZER;
    if (!mongoc_client_session_append(cs, &sess, error))
        return false;
    if (k->fail_reply) {
        bson_destroy(k->fail_reply);
        k->fail_reply = NULL;
    }
    k->rc = place(k, &sess);
    bson_destroy(&sess);
    if (k->rc == 0)
        return true;
    /* the failed write's reply carries TransientTransactionError when a
     * concurrent checkout conflicted: with_transaction then runs us again */
    if (k->fail_reply) {
        *reply = k->fail_reply;
        k->fail_reply = NULL;
    }
    bson_set_error(error, MONGOC_ERROR_TRANSACTION, MONGOC_ERROR_TRANSACTION_INVALID_STATE,
                   "checkout failed");
    return false;
}

/* The replay of a key is told by which path answered: the lookup before
 * anything is taken, or the unique index refusing our insert (a
 * concurrent request with the key won) -- never by timestamps. */
int mg__order_place(void *vb, const store_order_req *req, int64_t now,
                    store_order *out, store_err *err)
{
    mg *b = vb;
    mg_call c;
    checkout k = {0};
    store__pricing pr;
    int64_t user = req->user_id;
    const char *key = req->idempotency_key;
    int rc = store__pricing_parse(req->pricing_json, &pr, err);
    if (rc)
        return rc;
    mg__begin(b, &c);
    /* a replay is answered before anything is taken */
    rc = find_order(&c, BCON_NEW("userId", BCON_INT64(user), "idempotencyKey", BCON_UTF8(key)),
                    NULL, out, err);
    if (rc == 0)
        out->replayed = 1;
    if (rc != STORE_ENOTFOUND)
        goto done;
    k = (checkout){.c = &c, .user = user, .cart = req->cart_id, .key = key, .out = out,
                   .err = err, .now = now, .pricing = &pr,
                   .pricing_json = req->pricing_json, .audit = req->audit};
    /* outside any transaction: a shared counter inside one would make every
     * concurrent checkout conflict; a gap in order ids is harmless */
    if ((rc = mg__next_id(&c, "orders", &k.id, err)) != 0)
        goto done;
    if (b->txn) {
        bson_error_t e;
        mongoc_client_session_t *cs = mongoc_client_start_session(c.client, NULL, &e);
        if (!cs) {
            rc = mg__err(&e, err, "session");
            goto done;
        }
        if (!mongoc_client_session_with_transaction(cs, txn_cb, NULL, &k, NULL, &e) &&
            k.rc == 0)
            k.rc = mg__err(&e, err, "checkout transaction");
        mongoc_client_session_destroy(cs);
        rc = k.rc;
    } else {
        rc = place(&k, NULL);
    }
    if (rc == STORE_EEXIST) {      /* lost the race for this key: same order */
        rc = find_order(&c, BCON_NEW("userId", BCON_INT64(user), "idempotencyKey",
                                     BCON_UTF8(key)), NULL, out, err);
        if (rc == 0)
            out->replayed = 1;
    } else if (rc == 0)
        rc = find_order(&c, BCON_NEW("_id", BCON_INT64(k.id)), NULL, out, err);
done:
    if (k.fail_reply)
        bson_destroy(k.fail_reply);
    mg__end(&c);
    store__pricing_free(&pr);
    return rc;
}

int mg__order_create(void *vb, int64_t user, const char *cart, const char *key,
                     const char *pricing, store_order *out, store_err *err)
{
    mg *b = vb;
    store_order_req req = {.user_id = user, .cart_id = cart, .idempotency_key = key,
                           .pricing_json = pricing};
    return mg__order_place(vb, &req, store_now_ms(b->owner), out, err);
}

int mg__order_get(void *vb, int64_t id, store_order *out, store_err *err)
{
    mg_call c;
    int rc;
    mg__begin(vb, &c);
    rc = find_order(&c, BCON_NEW("_id", BCON_INT64(id)), NULL, out, err);
    mg__end(&c);
    return rc;
}

int mg__order_list(void *vb, int64_t user, int limit, store_order **out,
                   size_t *n, store_err *err)
{
    mg_call c;
    mongoc_collection_t *col;
    mongoc_cursor_t *cur;
    const bson_t *d;
    bson_error_t e;
    bson_t *q = BCON_NEW("userId", BCON_INT64(user));
    bson_t *opts = BCON_NEW("sort", "{", "_id", BCON_INT32(-1), "}", "limit", BCON_INT64(limit));
    int rc = 0;
    if (!(*out = calloc((size_t)limit, sizeof **out)))
        rc = store__fail(err, STORE_ENOMEM, "out of memory");
    mg__begin(vb, &c);
    col = mg__coll(&c, "orders");
    cur = mongoc_collection_find_with_opts(col, q, opts, NULL);
    while (!rc && *n < (size_t)limit && mongoc_cursor_next(cur, &d))
        if (doc_to_order(d, &(*out)[(*n)++]))
            rc = store__fail(err, STORE_ENOMEM, "out of memory");
    if (!rc && mongoc_cursor_error(cur, &e))
        rc = mg__err(&e, err, "order list");
    mongoc_cursor_destroy(cur);
    mongoc_collection_destroy(col);
    mg__end(&c);
    bson_destroy(q);
    bson_destroy(opts);
    if (rc) {
        store_order_list_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

int mg__order_cancel(void *vb, int64_t user, int64_t id, store_err *err)
{
    mg *b = vb;
    return mg__order_cancel_audited(vb, user, id, NULL, NULL, store_now_ms(b->owner), err);
}

/* Only the caller whose conditional status flip matched puts the stock
 * back and writes the audit row, so each happens once.  Not one
 * transaction: should the audit insert fail, the order stays cancelled
 * and the call says so. */
int mg__order_cancel_audited(void *vb, int64_t user, int64_t id,
                             const store_audit_rec *audit, const char *refund,
                             int64_t now, store_err *err)
{
    mg_call c;
    store_order o;
    int64_t m = 0;
    int rc;
    mg__begin(vb, &c);
    rc = find_order(&c, BCON_NEW("_id", BCON_INT64(id), "userId", BCON_INT64(user)), NULL, &o, err);
    if (rc)
        goto out;
    /* the status flip is conditional, so stock goes back exactly once even
     * when two cancels race; the refund it owes is set by the same write */
    bson_t *set = refund ? BCON_NEW("$set", "{", "status", BCON_UTF8("cancelled"), "refund", BCON_UTF8(refund),
                                    "refundStatus", BCON_UTF8("pending"), "}")
                         : BCON_NEW("$set", "{", "status", BCON_UTF8("cancelled"), "}");
    if ((rc = update(&c, "orders", BCON_NEW("_id", BCON_INT64(id), "status", BCON_UTF8("placed")),
                     set, 0, NULL, &m, NULL, err)) == 0) {
        if (m == 0)
            rc = store__fail(err, STORE_ESTATE, "order %lld is %s", (long long)id, o.status);
        for (size_t i = 0; !rc && i < o.n_lines; i++)
            update(&c, "products", BCON_NEW("_id", BCON_UTF8(o.lines[i].sku)),
                   BCON_NEW("$inc", "{", "stock", BCON_INT64(o.lines[i].qty), "}"), 0, NULL,
                   NULL, NULL, NULL);
        if (!rc && audit) {
            char subject[48], why[256];
            snprintf(subject, sizeof subject, "order:%lld", (long long)id);
            if ((rc = audit_insert(&c, audit, subject, NULL, now, NULL, NULL, err)) != 0) {
                snprintf(why, sizeof why, "%s", err ? err->msg : "");
                rc = store__fail(err, rc, "order %lld was cancelled, but its audit row"
                                 " could not be written: %s", (long long)id, why);
            }
        }
    }
    store_order_clear(&o);
out:
    mg__end(&c);
    return rc;
}

/* conditional on refundStatus "pending": a settled refund is never reopened */
int mg__order_refund_set(void *vb, int64_t id, const char *refund, store_err *err)
{
    mg_call c;
    store_order o;
    int64_t m = 0;
    json_object *j = json_tokener_parse(refund);
    const char *status = json_object_get_string(json_object_object_get(j, "status"));
    int rc;
    mg__begin(vb, &c);
    rc = update(&c, "orders", BCON_NEW("_id", BCON_INT64(id), "status", BCON_UTF8("cancelled"),
                                       "refundStatus", BCON_UTF8("pending")),
                BCON_NEW("$set", "{", "refund", BCON_UTF8(refund), "refundStatus", BCON_UTF8(status ? status : ""),
                         "}"),
                0, NULL, &m, NULL, err);
    json_object_put(j);
    if (!rc && m == 0 &&
        (rc = find_order(&c, BCON_NEW("_id", BCON_INT64(id)), NULL, &o, err)) == 0) {
        store_order_clear(&o);
        rc = store__fail(err, STORE_ESTATE, "order %lld owes no pending refund", (long long)id);
    }
    mg__end(&c);
    return rc;
}

int mg__order_refunds_pending(void *vb, int limit, int64_t **ids, size_t *n, store_err *err)
{
    mg_call c;
    const bson_t *d;
    bson_error_t e;
    bson_t *q = BCON_NEW("refundStatus", BCON_UTF8("pending"));
    bson_t *opts = BCON_NEW("sort", "{", "_id", BCON_INT32(1), "}", "limit", BCON_INT64(limit),
                            "projection", "{", "_id", BCON_INT32(1), "}");
    int rc = 0;
    if (!(*ids = calloc((size_t)limit, sizeof **ids)))
        rc = store__fail(err, STORE_ENOMEM, "out of memory");
    mg__begin(vb, &c);
    mongoc_collection_t *col = mg__coll(&c, "orders");
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(col, q, opts, NULL);
    while (!rc && *n < (size_t)limit && mongoc_cursor_next(cur, &d))
        (*ids)[(*n)++] = (int64_t)mg__num(d, "_id");
    if (!rc && mongoc_cursor_error(cur, &e))
        rc = mg__err(&e, err, "pending refunds");
    mongoc_cursor_destroy(cur);
    mongoc_collection_destroy(col);
    mg__end(&c);
    bson_destroy(q);
    bson_destroy(opts);
    if (rc || *n == 0) {
        free(*ids);
        *ids = NULL;
        *n = 0;
    }
    return rc;
}

int mg__order_set_status(void *vb, int64_t id, const char *status,
                         store_err *err)
{
    mg_call c;
    store_order o;
    int64_t m = 0;
    int rc;
    if (!strcmp(status, "cancelled"))
        return store__fail(err, STORE_EINVAL, "use store_order_cancel to cancel");
    mg__begin(vb, &c);
    rc = update(&c, "orders", BCON_NEW("_id", BCON_INT64(id), "status", "{", "$ne",
                                       BCON_UTF8("cancelled"), "}"),
                BCON_NEW("$set", "{", "status", BCON_UTF8(status), "}"), 0, NULL, &m, NULL, err);
    if (!rc && m == 0 &&
        (rc = find_order(&c, BCON_NEW("_id", BCON_INT64(id)), NULL, &o, err)) == 0) {
        store_order_clear(&o);
        rc = store__fail(err, STORE_ESTATE, "order %lld is cancelled", (long long)id);
    }
    mg__end(&c);
    return rc;
}

/* ---------------- keyed cart changes ---------------- */

typedef struct cart_job {
    mg_call *c;
    const store_cart_change *ch;
    const char *kid;           /* the key document's _id, or NULL */
    int64_t now;
    store_cart_outcome *out;
    store_err *err;
    int rc;
    int reserved;              /* this call inserted the key document */
    bson_t *fail_reply;
} cart_job;

/* The product's stock now; STORE_ENOTFOUND when there is no product. */
static int product_stock(mg_call *c, const char *sku, const bson_t *sess,
                         int64_t *stock, store_err *err)
{
    mongoc_collection_t *col = mg__coll(c, "products");
    bson_t *q = BCON_NEW("_id", BCON_UTF8(sku));
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(col, q, sess, NULL);
    const bson_t *d;
    bson_error_t e;
    int rc;
    if (mongoc_cursor_next(cur, &d)) {
        bson_iter_t it;
        bool untracked = bson_iter_init_find(&it, d, "stockTracked") && BSON_ITER_HOLDS_BOOL(&it) &&
                         !bson_iter_bool(&it);
        *stock = untracked ? -1 : (int64_t)mg__num(d, "stock");   /* -1: not kept */
        rc = 0;
    } else if (mongoc_cursor_error(cur, &e)) {
        rc = mg__err(&e, err, "product");
    } else {
        rc = store__fail(err, STORE_ENOTFOUND, "no product %s", sku);
    }
    mongoc_cursor_destroy(cur);
    mongoc_collection_destroy(col);
    bson_destroy(q);
    return rc;
}

/* The quantity of one line (0 when absent). */
static int line_qty(mg_call *c, const char *cart, const char *sku, const bson_t *sess,
                    int64_t *qty, store_err *err)
{
    line *l;
    size_t n;
    int rc = read_cart(c, cart, sess, &l, &n, err);
    *qty = 0;
    for (size_t i = 0; !rc && i < n; i++)
        if (!strcmp(l[i].sku, sku))
            *qty = l[i].qty;
    free(l);
    return rc;
}

/* ADD n within cap: the increment is conditional on the line staying
 * within cap ({qty: {$lte: cap - n}}), so concurrent adds never read and
 * write back a quantity; a new line is pushed only where none exists. */
static int add_within(mg_call *c, const char *cart, const char *sku, int64_t n,
                      int64_t cap, const bson_t *sess, bson_t **fail_reply,
                      store_err *err)
{
    int64_t m = 0, have = 0;
    int rc = 0;
    if (n > cap)
        return store__fail(err, STORE_ESTOCK, "only %lld of %s allowed", (long long)cap, sku);
    for (int attempt = 0; attempt < 3; attempt++) {
        rc = update(c, "carts",
                    BCON_NEW("_id", BCON_UTF8(cart), "items", "{", "$elemMatch", "{",
                             "sku", BCON_UTF8(sku), "qty", "{", "$lte", BCON_INT64(cap - n),
                             "}", "}", "}"),
                    BCON_NEW("$inc", "{", "items.$.qty", BCON_INT64(n), "}"),
                    0, sess, &m, fail_reply, err);
        if (rc || m)
            return rc;
        rc = update(c, "carts", BCON_NEW("_id", BCON_UTF8(cart), "items.sku", "{", "$ne",
                                         BCON_UTF8(sku), "}"),
                    BCON_NEW("$push", "{", "items", "{", "sku", BCON_UTF8(sku), "qty",
                             BCON_INT64(n), "}", "}"),
                    1, sess, &m, fail_reply, err);
        if (rc != STORE_EEXIST)
            return rc;
        /* the cart has the line (the upsert collided with it): over cap, or
         * a concurrent change moved it; look and try again */
        if ((rc = line_qty(c, cart, sku, sess, &have, err)) != 0)
            return rc;
        if (have > cap - n)
            return store__fail(err, STORE_ESTOCK, "only %lld of %s allowed (the cart"
                               " holds %lld)", (long long)cap, sku, (long long)have);
    }
    return store__fail(err, STORE_EBUSY, "cart %s changed under us; try again", cart);
}

static int cart_steps(cart_job *j, const bson_t *sess)
{
    const store_cart_change *ch = j->ch;
    int64_t m = 0, cap;
    int rc = 0;
    if (j->kid) {
        mongoc_collection_t *col = mg__coll(j->c, "idem_keys");
        bson_t opts = BSON_INITIALIZER, reply;
        bson_t *doc = BCON_NEW("_id", BCON_UTF8(j->kid), "state", BCON_UTF8("pending"),
                               "at", BCON_INT64(j->now));
        bson_error_t e;
        if (sess)
            bson_concat(&opts, sess);
        /* the unique _id is the reservation: of two requests with one key,
         * one insert fails with a duplicate key */
        if (!mongoc_collection_insert_one(col, doc, &opts, &reply, &e)) {
            rc = mg__err(&e, j->err, "cart key");
            if (!j->fail_reply)
                j->fail_reply = bson_copy(&reply);
        }
        bson_destroy(&reply);
        bson_destroy(&opts);
        bson_destroy(doc);
        mongoc_collection_destroy(col);
        if (rc)
            return rc;
        j->reserved = 1;
    }
    switch (ch->op) {
    case STORE_CART_ADD:
    case STORE_CART_SET:
        if ((rc = product_stock(j->c, ch->sku, sess, &j->out->stock, j->err)) != 0)
            break;
        cap = j->out->stock < 0 ? INT64_MAX / 2 : j->out->stock;   /* not kept: no stock cap */
        if (ch->max_qty > 0 && ch->max_qty < cap)
            cap = ch->max_qty;
        if (ch->op == STORE_CART_SET && ch->qty == 0) {
            rc = update(j->c, "carts", BCON_NEW("_id", BCON_UTF8(ch->cart_id)),
                        BCON_NEW("$pull", "{", "items", "{", "sku", BCON_UTF8(ch->sku), "}", "}"),
                        0, sess, NULL, &j->fail_reply, j->err);
            break;
        }
        if (ch->op == STORE_CART_SET)
            rc = ch->qty > cap
                     ? store__fail(j->err, STORE_ESTOCK, "only %lld of %s allowed",
                                   (long long)cap, ch->sku)
                     : cart_line(j->c, ch->cart_id, ch->sku, ch->qty, 0, sess, j->err);
        else
            rc = add_within(j->c, ch->cart_id, ch->sku, ch->qty, cap, sess,
                            &j->fail_reply, j->err);
        if (!rc)
            rc = line_qty(j->c, ch->cart_id, ch->sku, sess, &j->out->qty, j->err);
        break;
    case STORE_CART_REMOVE:
        rc = update(j->c, "carts", BCON_NEW("_id", BCON_UTF8(ch->cart_id), "items.sku",
                                            BCON_UTF8(ch->sku)),
                    BCON_NEW("$pull", "{", "items", "{", "sku", BCON_UTF8(ch->sku), "}", "}"),
                    0, sess, &m, &j->fail_reply, j->err);
        if (!rc && m == 0)
            rc = store__fail(j->err, STORE_ENOTFOUND, "%s is not in the cart", ch->sku);
        break;
    case STORE_CART_CLEAR:
        rc = update(j->c, "carts", BCON_NEW("_id", BCON_UTF8(ch->cart_id)),
                    BCON_NEW("$set", "{", "items", "[", "]", "}"), 0, sess, NULL,
                    &j->fail_reply, j->err);
        break;
    }
    if (!rc && j->kid)
        rc = update(j->c, "idem_keys", BCON_NEW("_id", BCON_UTF8(j->kid)),
                    BCON_NEW("$set", "{", "state", BCON_UTF8("done"), "qty",
                             BCON_INT64(j->out->qty), "stock", BCON_INT64(j->out->stock), "}"),
                    0, sess, NULL, &j->fail_reply, j->err);
    if (!rc && ch->audit)
        rc = audit_insert(j->c, ch->audit, ch->cart_id, NULL, j->now, sess,
                          &j->fail_reply, j->err);
    /* standalone: a failed change gives its key back so it may be retried
     * (the effect itself is one conditional write, or none) */
    if (rc && !sess && j->reserved)
        delete_one(j->c, "idem_keys", BCON_NEW("_id", BCON_UTF8(j->kid), "state",
                                               BCON_UTF8("pending")));
    return rc;
}

static bool cart_txn_cb(mongoc_client_session_t *cs, void *ctx, bson_t **reply,
                        bson_error_t *error)
{
    cart_job *j = ctx;
    bson_t sess = BSON_INITIALIZER;
    if (!mongoc_client_session_append(cs, &sess, error))
        return false;
    if (j->fail_reply) {
        bson_destroy(j->fail_reply);
        j->fail_reply = NULL;
    }
    j->out->qty = 0;
    j->reserved = 0;
    j->rc = cart_steps(j, &sess);
    bson_destroy(&sess);
    if (j->rc == 0)
        return true;
    if (j->fail_reply) {
        *reply = j->fail_reply;
        j->fail_reply = NULL;
    }
    bson_set_error(error, MONGOC_ERROR_TRANSACTION, MONGOC_ERROR_TRANSACTION_INVALID_STATE,
                   "cart change failed");
    return false;
}

/* A kept outcome: 0 with it in *out (replayed), STORE_EBUSY while its
 * first request is still in flight, STORE_ENOTFOUND when there is none. */
static int kept_outcome_once(mg_call *c, const char *kid, store_cart_outcome *out,
                             store_err *err);

/* The same, waiting up to about two seconds for a request in flight (on a
 * standalone server its reservation is visible before its effect). */
static int kept_outcome(mg_call *c, const char *kid, store_cart_outcome *out,
                        store_err *err)
{
    int rc = STORE_EBUSY;
    for (int i = 0; i < 400 && rc == STORE_EBUSY; i++) {
        if (i)
            usleep(5000);
        rc = kept_outcome_once(c, kid, out, err);
    }
    return rc;
}

static int kept_outcome_once(mg_call *c, const char *kid, store_cart_outcome *out,
                             store_err *err)
{
    mongoc_collection_t *col = mg__coll(c, "idem_keys");
    bson_t *q = BCON_NEW("_id", BCON_UTF8(kid));
    mongoc_cursor_t *cur = mongoc_collection_find_with_opts(col, q, NULL, NULL);
    const bson_t *d;
    bson_error_t e;
    int rc = STORE_ENOTFOUND;
    if (mongoc_cursor_next(cur, &d)) {
        const char *st = mg__str(d, "state");
        if (st && !strcmp(st, "done")) {
            out->qty = (int64_t)mg__num(d, "qty");
            out->stock = (int64_t)mg__num(d, "stock");
            out->replayed = 1;
            rc = 0;
        } else {
            rc = store__fail(err, STORE_EBUSY, "the first request with this key is"
                             " still in flight; try again");
        }
    } else if (mongoc_cursor_error(cur, &e)) {
        rc = mg__err(&e, err, "cart key");
    }
    mongoc_cursor_destroy(cur);
    mongoc_collection_destroy(col);
    bson_destroy(q);
    return rc;
}

int mg__cart_apply(void *vb, const store_cart_change *ch, int64_t now,
                   store_cart_outcome *out, store_err *err)
{
    mg *b = vb;
    mg_call c;
    cart_job j = {.ch = ch, .now = now, .out = out, .err = err};
    char *kid = NULL;
    int rc;
    if (ch->idempotency_key) {
        size_t n = strlen(ch->cart_id) + strlen(ch->idempotency_key) + 8;
        if (!(kid = malloc(n)))
            return store__fail(err, STORE_ENOMEM, "out of memory");
        /* \x1f cannot be confused with a character of either part's text */
        snprintf(kid, n, "cart:%s\x1f%s", ch->cart_id, ch->idempotency_key);
    }
    mg__begin(b, &c);
    j.c = &c;
    j.kid = kid;
    if (kid && (rc = kept_outcome(&c, kid, out, err)) != STORE_ENOTFOUND)
        goto done;
    if (b->txn) {
        bson_error_t e;
        mongoc_client_session_t *cs = mongoc_client_start_session(c.client, NULL, &e);
        if (!cs) {
            rc = mg__err(&e, err, "session");
            goto done;
        }
        if (!mongoc_client_session_with_transaction(cs, cart_txn_cb, NULL, &j, NULL, &e) &&
            j.rc == 0)
            j.rc = mg__err(&e, err, "cart transaction");
        mongoc_client_session_destroy(cs);
        rc = j.rc;
    } else {
        rc = cart_steps(&j, NULL);
    }
    /* a concurrent request with the key reserved it first: its outcome */
    if (rc == STORE_EEXIST && kid) {
        memset(out, 0, sizeof *out);
        rc = kept_outcome(&c, kid, out, err);
        if (rc == STORE_ENOTFOUND)   /* it failed and gave the key back */
            rc = store__fail(err, STORE_EBUSY, "a concurrent request with this key"
                             " failed; try again");
    }
done:
    if (rc && !out->replayed) {
        int64_t stock = out->stock;
        memset(out, 0, sizeof *out);
        out->stock = stock;
    }
    if (j.fail_reply)
        bson_destroy(j.fail_reply);
    mg__end(&c);
    free(kid);
    return rc;
}
