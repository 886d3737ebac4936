/* stores/mongo/mongo_commerce.c — carts and orders on MongoDB.  Checkout
 * decrements stock with conditional updates ({stock: {$gte: qty}}, so two
 * buyers can never both take the last unit); on a replica set it runs in a
 * transaction, on a standalone server failed steps are compensated. */
#include "stores/mongo/mongo_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    store_err *err;
    int rc;
    bson_t *fail_reply;        /* reply of a failed write, for its labels */
} checkout;

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
                         BCON_NEW("_id", BCON_UTF8(l[i].sku), "stock", "{", "$gte",
                                  BCON_INT64(l[i].qty), "}"),
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

int mg__order_create(void *vb, int64_t user, const char *cart, const char *key, const char *pricing,
                     store_order *out, store_err *err)
{
    mg *b = vb;
    mg_call c;
    checkout k = {0};
    store__pricing pr;
    int rc = store__pricing_parse(pricing, &pr, err);
    if (rc)
        return rc;
    mg__begin(b, &c);
    /* a replay is answered before anything is taken */
    rc = find_order(&c, BCON_NEW("userId", BCON_INT64(user), "idempotencyKey", BCON_UTF8(key)),
                    NULL, out, err);
    if (rc != STORE_ENOTFOUND)
        goto done;
    k = (checkout){.c = &c, .user = user, .cart = cart, .key = key, .out = out,
                   .err = err, .now = store_now_ms(b->owner), .pricing = &pr,
                   .pricing_json = pricing};
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
    if (rc == STORE_EEXIST)        /* lost the race for this key: same order */
        rc = find_order(&c, BCON_NEW("userId", BCON_INT64(user), "idempotencyKey",
                                     BCON_UTF8(key)), NULL, out, err);
    else if (rc == 0)
        rc = find_order(&c, BCON_NEW("_id", BCON_INT64(k.id)), NULL, out, err);
done:
    if (k.fail_reply)
        bson_destroy(k.fail_reply);
    mg__end(&c);
    store__pricing_free(&pr);
    return rc;
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
    mg_call c;
    store_order o;
    int64_t m = 0;
    int rc;
    mg__begin(vb, &c);
    rc = find_order(&c, BCON_NEW("_id", BCON_INT64(id), "userId", BCON_INT64(user)), NULL, &o, err);
    if (rc)
        goto out;
    /* the status flip is conditional, so stock goes back exactly once even
     * when two cancels race */
    if ((rc = update(&c, "orders", BCON_NEW("_id", BCON_INT64(id), "status", BCON_UTF8("placed")),
                     BCON_NEW("$set", "{", "status", BCON_UTF8("cancelled"), "}"), 0, NULL,
                     &m, NULL, err)) == 0) {
        if (m == 0)
            rc = store__fail(err, STORE_ESTATE, "order %lld is %s", (long long)id, o.status);
        for (size_t i = 0; !rc && i < o.n_lines; i++)
            update(&c, "products", BCON_NEW("_id", BCON_UTF8(o.lines[i].sku)),
                   BCON_NEW("$inc", "{", "stock", BCON_INT64(o.lines[i].qty), "}"), 0, NULL,
                   NULL, NULL, NULL);
    }
    store_order_clear(&o);
out:
    mg__end(&c);
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
