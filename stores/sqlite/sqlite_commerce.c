/* stores/sqlite/sqlite_commerce.c — carts and orders on SQLite.  Checkout
 * is one BEGIN IMMEDIATE transaction: idempotency lookup, conditional
 * stock decrement (stock >= qty), order insert, cart clear.  The write
 * lock taken up front is what makes overselling impossible. */
#include "sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NEED_ST(st)                                                        \
    if (!(st)) {                                                           \
        rc = err ? err->code : STORE_EIO;                                  \
        goto out;                                                          \
    }

/* ---------------- carts ---------------- */

static int load_cart(sq_conn *c, const char *cart, store_cart *out,
                     store_err *err)
{
    sqlite3_stmt *st = SQ_PREP(c, err, "SELECT c.sku, coalesce(p.title, ''),"
                                       " c.qty, coalesce(p.price, 0) FROM carts c"
                                       " LEFT JOIN products p ON p.sku = c.sku"
                                       " WHERE c.cart_id = ? ORDER BY c.added_at,"
                                       " c.rowid", SQ_T(cart));
    size_t cap = 0;
    int r;
    memset(out, 0, sizeof *out);
    if (!st)
        return err ? err->code : STORE_EIO;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        store_cart_item *it;
        if (out->n_items == cap) {
            cap = cap ? cap * 2 : 8;
            it = realloc(out->items, cap * sizeof *it);
            if (!it) {
                sqlite3_reset(st);
                store_cart_clear_struct(out);
                return store__fail(err, STORE_ENOMEM, "out of memory");
            }
            out->items = it;
        }
        it = &out->items[out->n_items++];
        snprintf(it->sku, sizeof it->sku, "%s", sqlite3_column_text(st, 0));
        snprintf(it->title, sizeof it->title, "%s", sqlite3_column_text(st, 1));
        it->qty = sqlite3_column_int64(st, 2);
        it->unit_price = sqlite3_column_double(st, 3);
        out->subtotal += (double)it->qty * it->unit_price;
    }
    sqlite3_reset(st);
    if (r != SQLITE_DONE) {
        store_cart_clear_struct(out);
        return sq__err(c, r, err, "cart");
    }
    return 0;
}

int sq__cart_get(void *vb, const char *cart, store_cart *out, store_err *err)
{
    sq *b = vb;
    sq_conn *c;
    int rc = sq__acquire(b, &c, err);
    if (rc)
        return rc;
    rc = load_cart(c, cart, out, err);
    sq__release(b, c);
    return rc;
}

int sq__cart_set_qty(void *vb, const char *cart, const char *sku, int64_t qty,
                     store_err *err)
{
    sq *b = vb;
    sq_conn *c;
    sqlite3_stmt *st;
    int rc = sq__acquire(b, &c, err), r;
    if (rc)
        return rc;
    if (qty <= 0) {
        rc = SQ_RUN(c, err, "cart remove",
                    "DELETE FROM carts WHERE cart_id = ? AND sku = ?",
                    SQ_T(cart), SQ_T(sku));
        goto out;
    }
    st = SQ_PREP(c, err, "SELECT 1 FROM products WHERE sku = ?", SQ_T(sku));
    NEED_ST(st);
    r = sqlite3_step(st);
    sqlite3_reset(st);
    if (r != SQLITE_ROW) {
        rc = r == SQLITE_DONE ? store__fail(err, STORE_ENOTFOUND, "no product %s", sku)
                              : sq__err(c, r, err, "cart");
        goto out;
    }
    rc = SQ_RUN(c, err, "cart set",
                "INSERT INTO carts(cart_id, sku, qty, added_at)"
                " VALUES(?, ?, ?, ?) ON CONFLICT(cart_id, sku) DO UPDATE"
                " SET qty = excluded.qty",
                SQ_T(cart), SQ_T(sku), SQ_I(qty), SQ_I(sq__now_ms(b)));
out:
    sq__release(b, c);
    return rc;
}

int sq__cart_clear(void *vb, const char *cart, store_err *err)
{
    sq *b = vb;
    sq_conn *c;
    int rc = sq__acquire(b, &c, err);
    if (rc)
        return rc;
    rc = SQ_RUN(c, err, "cart clear", "DELETE FROM carts WHERE cart_id = ?",
                SQ_T(cart));
    sq__release(b, c);
    return rc;
}

int sq__cart_merge(void *vb, const char *from, const char *into,
                   store_err *err)
{
    sq *b = vb;
    sq_conn *c;
    int rc = sq__acquire(b, &c, err);
    if (rc)
        return rc;
    /* "WHERE true" keeps the upsert's ON from parsing as a join clause */
    if ((rc = sq__begin(c, err)) != 0 ||
        (rc = SQ_RUN(c, err, "cart merge",
                     "INSERT INTO carts(cart_id, sku, qty, added_at)"
                     " SELECT ?2, sku, qty, added_at FROM carts WHERE"
                     " cart_id = ?1 AND true ON CONFLICT(cart_id, sku) DO"
                     " UPDATE SET qty = qty + excluded.qty",
                     SQ_T(from), SQ_T(into))) != 0 ||
        (rc = SQ_RUN(c, err, "cart merge", "DELETE FROM carts WHERE cart_id = ?",
                     SQ_T(from))) != 0)
        goto out;
    rc = sq__commit(c, err);
out:
    sq__rollback(c);
    sq__release(b, c);
    return rc;
}

/* One keyed or unkeyed cart change in one BEGIN IMMEDIATE transaction:
 * the key lookup, the product's stock, the increment itself (an upsert
 * that adds in SQL: no caller ever reads a quantity and writes it back),
 * the caps checked against the quantity the upsert returned (rolled back
 * when over), the kept outcome and the audit row.  A failed change keeps
 * nothing, so its key may be tried again. */
int sq__cart_apply(void *vb, const store_cart_change *ch, int64_t now,
                   store_cart_outcome *out, store_err *err)
{
    sq *b = vb;
    sq_conn *c;
    sqlite3_stmt *st;
    char *kept = NULL;
    int64_t qty = 0;
    int rc = sq__acquire(b, &c, err), r;
    if (rc)
        return rc;
    if ((rc = sq__begin(c, err)) != 0)
        goto out;
    if (ch->idempotency_key) {
        st = SQ_PREP(c, err, "SELECT result FROM idem_keys WHERE scope = 'cart:' || ?"
                             " AND key = ?", SQ_T(ch->cart_id), SQ_T(ch->idempotency_key));
        NEED_ST(st);
        r = sqlite3_step(st);
        if (r == SQLITE_ROW && !(kept = sq__text_dup(st, 0)))
            r = SQLITE_NOMEM;
        sqlite3_reset(st);
        if (r != SQLITE_ROW && r != SQLITE_DONE) {
            rc = sq__err(c, r, err, "cart key lookup");
            goto out;
        }
        if (kept) {     /* replay: the first outcome, nothing done */
            if ((rc = store__cart_outcome_parse(kept, out, err)) == 0)
                out->replayed = 1;
            if (rc == 0 && ch->cart_after &&
                (rc = load_cart(c, ch->cart_id, ch->cart_after, err)) == 0)
                out->cart_read = 1;
            goto out;
        }
    }
    switch (ch->op) {
    case STORE_CART_ADD:
    case STORE_CART_SET:
        st = SQ_PREP(c, err, "SELECT stock, stock_tracked, price_known FROM products WHERE sku = ?",
                     SQ_T(ch->sku));
        NEED_ST(st);
        r = sqlite3_step(st);
        int priced = 1;
        if (r == SQLITE_ROW) {
            out->stock = sqlite3_column_int(st, 1) ? sqlite3_column_int64(st, 0) : -1;
            priced = sqlite3_column_int(st, 2);
        }
        sqlite3_reset(st);
        if (r != SQLITE_ROW) {
            rc = r == SQLITE_DONE ? store__fail(err, STORE_ENOTFOUND, "no product %s", ch->sku)
                                  : sq__err(c, r, err, "cart product");
            goto out;
        }
        if (!priced && !(ch->op == STORE_CART_SET && ch->qty == 0)) {
            rc = store__fail(err, STORE_EINVAL, "%s has no price yet and cannot be sold", ch->sku);
            goto out;
        }
        if (ch->op == STORE_CART_SET && ch->qty == 0) {
            rc = SQ_RUN(c, err, "cart remove", "DELETE FROM carts WHERE cart_id = ?"
                        " AND sku = ?", SQ_T(ch->cart_id), SQ_T(ch->sku));
            if (rc)
                goto out;
            break;
        }
        st = SQ_PREP(c, err, ch->op == STORE_CART_ADD
                     ? "INSERT INTO carts(cart_id, sku, qty, added_at) VALUES(?, ?, ?, ?)"
                       " ON CONFLICT(cart_id, sku) DO UPDATE SET qty = qty + excluded.qty"
                       " RETURNING qty"
                     : "INSERT INTO carts(cart_id, sku, qty, added_at) VALUES(?, ?, ?, ?)"
                       " ON CONFLICT(cart_id, sku) DO UPDATE SET qty = excluded.qty"
                       " RETURNING qty",
                     SQ_T(ch->cart_id), SQ_T(ch->sku), SQ_I(ch->qty), SQ_I(now));
        NEED_ST(st);
        r = sqlite3_step(st);
        if (r == SQLITE_ROW)
            qty = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        if (r != SQLITE_ROW) {
            rc = sq__err(c, r, err, "cart change");
            goto out;
        }
        if (out->stock >= 0 && qty > out->stock) {
            rc = store__fail(err, STORE_ESTOCK, "only %lld of %s in stock (the cart"
                             " would hold %lld)", (long long)out->stock, ch->sku,
                             (long long)qty);
            goto out;
        }
        if (ch->max_qty > 0 && qty > ch->max_qty) {
            rc = store__fail(err, STORE_ESTOCK, "at most %lld of %s per cart",
                             (long long)ch->max_qty, ch->sku);
            goto out;
        }
        break;
    case STORE_CART_REMOVE:
        if ((rc = SQ_RUN(c, err, "cart remove", "DELETE FROM carts WHERE cart_id = ?"
                         " AND sku = ?", SQ_T(ch->cart_id), SQ_T(ch->sku))) != 0)
            goto out;
        if (sqlite3_changes(c->db) == 0) {
            rc = store__fail(err, STORE_ENOTFOUND, "%s is not in the cart", ch->sku);
            goto out;
        }
        break;
    case STORE_CART_CLEAR:
        if ((rc = SQ_RUN(c, err, "cart clear", "DELETE FROM carts WHERE cart_id = ?",
                         SQ_T(ch->cart_id))) != 0)
            goto out;
        break;
    }
    out->qty = qty;
    if (ch->idempotency_key &&
        ((rc = store__cart_outcome_json(out, &kept, err)) != 0 ||
         (rc = SQ_RUN(c, err, "cart key", "INSERT INTO idem_keys(scope, key, result,"
                      " created_at) VALUES('cart:' || ?, ?, ?, ?)", SQ_T(ch->cart_id),
                      SQ_T(ch->idempotency_key), SQ_T(kept), SQ_I(now))) != 0))
        goto out;
    if (ch->audit) {
        store_audit_rec a = *ch->audit;
        if (!a.subject)
            a.subject = ch->cart_id;
        if ((rc = sq__audit_write(c, &a, NULL, now, err)) != 0)
            goto out;
    }
    /* the lines as this transaction leaves them: the caller's read after
     * the change, without another read transaction */
    if (ch->cart_after) {
        if ((rc = load_cart(c, ch->cart_id, ch->cart_after, err)) != 0)
            goto out;
        out->cart_read = 1;
    }
    rc = sq__commit(c, err);
out:
    if (rc) {
        int64_t stock = out->stock;
        memset(out, 0, sizeof *out);
        out->stock = stock;
        if (ch->cart_after)
            store_cart_clear_struct(ch->cart_after);
    }
    sq__rollback(c);
    free(kept);
    sq__release(b, c);
    return rc;
}

/* ---------------- orders ---------------- */

static int load_order(sq_conn *c, int64_t id, store_order *o, store_err *err)
{
    sqlite3_stmt *st = SQ_PREP(c, err, "SELECT id, user_id, status, idem_key,"
                                       " total, created_at, pricing, refund FROM orders WHERE id = ?",
                               SQ_I(id));
    size_t cap = 0;
    int r;
    memset(o, 0, sizeof *o);
    if (!st)
        return err ? err->code : STORE_EIO;
    r = sqlite3_step(st);
    if (r != SQLITE_ROW) {
        sqlite3_reset(st);
        return r == SQLITE_DONE ? store__fail(err, STORE_ENOTFOUND,
                                              "no order %lld", (long long)id)
                                : sq__err(c, r, err, "order");
    }
    o->id = sqlite3_column_int64(st, 0);
    o->user_id = sqlite3_column_int64(st, 1);
    snprintf(o->status, sizeof o->status, "%s", sqlite3_column_text(st, 2));
    snprintf(o->idempotency_key, sizeof o->idempotency_key, "%s",
             sqlite3_column_text(st, 3));
    o->total = sqlite3_column_double(st, 4);
    o->created_at = sqlite3_column_int64(st, 5);
    if ((sqlite3_column_type(st, 6) == SQLITE_TEXT && !(o->pricing_json = sq__text_dup(st, 6))) ||
        (sqlite3_column_type(st, 7) == SQLITE_TEXT && !(o->refund_json = sq__text_dup(st, 7)))) {
        sqlite3_reset(st);
        store_order_clear(o);
        return store__fail(err, STORE_ENOMEM, "out of memory");
    }
    sqlite3_reset(st);
    st = SQ_PREP(c, err, "SELECT sku, title, qty, unit_price FROM order_lines"
                         " WHERE order_id = ? ORDER BY rowid", SQ_I(id));
    if (!st)
        return err ? err->code : STORE_EIO;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        store_order_line *l;
        if (o->n_lines == cap) {
            cap = cap ? cap * 2 : 4;
            if (!(l = realloc(o->lines, cap * sizeof *l))) {
                sqlite3_reset(st);
                store_order_clear(o);
                return store__fail(err, STORE_ENOMEM, "out of memory");
            }
            o->lines = l;
        }
        l = &o->lines[o->n_lines++];
        snprintf(l->sku, sizeof l->sku, "%s", sqlite3_column_text(st, 0));
        snprintf(l->title, sizeof l->title, "%s", sqlite3_column_text(st, 1));
        l->qty = sqlite3_column_int64(st, 2);
        l->unit_price = sqlite3_column_double(st, 3);
    }
    sqlite3_reset(st);
    if (r != SQLITE_DONE) {
        store_order_clear(o);
        return sq__err(c, r, err, "order lines");
    }
    return 0;
}

/* The checkout: one BEGIN IMMEDIATE transaction.  The key lookup runs
 * under the write lock, so of any number of requests with one key exactly
 * one finds nothing and places the order (its audit row in the same
 * commit); every other one finds that order and reports replayed = 1. */
int sq__order_place(void *vb, const store_order_req *req, int64_t now,
                    store_order *out, store_err *err)
{
    sq *b = vb;
    sq_conn *c;
    sqlite3_stmt *st;
    store_cart items = {0};
    store__pricing pr;
    int64_t id = 0;
    const char *cart = req->cart_id, *key = req->idempotency_key;
    char *detail = NULL;
    int rc = store__pricing_parse(req->pricing_json, &pr, err), r;
    if (rc)
        return rc;
    if ((rc = sq__acquire(b, &c, err)) != 0) {
        store__pricing_free(&pr);
        return rc;
    }
    if ((rc = sq__begin(c, err)) != 0)
        goto out;
    st = SQ_PREP(c, err, "SELECT id FROM orders WHERE user_id = ? AND idem_key = ?",
                 SQ_I(req->user_id), SQ_T(key));
    NEED_ST(st);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (r != SQLITE_ROW && r != SQLITE_DONE) {
        rc = sq__err(c, r, err, "order lookup");
        goto out;
    }
    if (id) {   /* replay: the same order, no second decrement, no audit */
        sq__rollback(c);
        if ((rc = load_order(c, id, out, err)) == 0)
            out->replayed = 1;
        goto out;
    }
    if ((rc = load_cart(c, cart, &items, err)) != 0)
        goto out;
    if (items.n_items == 0) {
        rc = store__fail(err, STORE_EEMPTY, "cart %s is empty", cart);
        goto out;
    }
    if ((rc = store__pricing_match(&pr, &items, err)) != 0 ||
        (rc = store__pricing_check(&pr, items.subtotal, err)) != 0)
        goto out;
    /* a product whose price the catalog never gave is not sold at 0 */
    st = SQ_PREP(c, err, "SELECT c.sku FROM carts c JOIN products p ON p.sku = c.sku"
                 " WHERE c.cart_id = ? AND p.price_known = 0 LIMIT 1", SQ_T(cart));
    if (!st) {
        rc = err ? err->code : STORE_EIO;
        goto out;
    }
    if (sqlite3_step(st) == SQLITE_ROW)
        rc = store__fail(err, STORE_EINVAL, "%s has no price yet and cannot be ordered",
                         (const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    if (rc)
        goto out;
    for (size_t i = 0; i < items.n_items; i++) {
        if ((rc = SQ_RUN(c, err, "stock", "UPDATE products SET stock = stock - ?1 * stock_tracked"
                         " WHERE sku = ?2 AND (stock >= ?1 OR stock_tracked = 0)",
                         SQ_I(items.items[i].qty), SQ_T(items.items[i].sku))) != 0)
            goto out;
        if (sqlite3_changes(c->db) != 1) {
            rc = store__fail(err, STORE_ESTOCK, "not enough stock for %s (%s)",
                             items.items[i].sku, items.items[i].title);
            goto out;
        }
    }
    if ((rc = SQ_RUN(c, err, "order insert",
                     "INSERT INTO orders(user_id, status, idem_key, total,"
                     " created_at, pricing) VALUES(?, 'placed', ?, ?, ?, ?)",
                     SQ_I(req->user_id), SQ_T(key),
                     SQ_D(pr.total >= 0 ? pr.total : items.subtotal),
                     SQ_I(now), SQ_T(req->pricing_json))) != 0)
        goto out;
    id = sqlite3_last_insert_rowid(c->db);
    for (size_t i = 0; i < items.n_items; i++) {
        const store_cart_item *it = &items.items[i];
        if ((rc = SQ_RUN(c, err, "order line",
                         "INSERT INTO order_lines(order_id, sku, title, qty,"
                         " unit_price) VALUES(?, ?, ?, ?, ?)",
                         SQ_I(id), SQ_T(it->sku), SQ_T(it->title), SQ_I(it->qty),
                         SQ_D(store__pricing_unit(&pr, it->sku, it->unit_price)))) != 0)
            goto out;
    }
    if ((rc = SQ_RUN(c, err, "cart clear", "DELETE FROM carts WHERE cart_id = ?",
                     SQ_T(cart))) != 0)
        goto out;
    if (req->audit) {
        store_audit_rec a = *req->audit;
        char subject[48];
        if (!a.subject) {
            snprintf(subject, sizeof subject, "order:%lld", (long long)id);
            a.subject = subject;
        }
        if ((rc = store__audit_detail_with(a.detail_json, "orderId", id, &detail,
                                           err)) != 0 ||
            (rc = sq__audit_write(c, &a, detail, now, err)) != 0)
            goto out;
    }
    if ((rc = sq__commit(c, err)) != 0)
        goto out;
    rc = load_order(c, id, out, err);
out:
    sq__rollback(c);
    free(detail);
    store_cart_clear_struct(&items);
    store__pricing_free(&pr);
    sq__release(b, c);
    return rc;
}

int sq__order_create(void *vb, int64_t user, const char *cart, const char *key,
                     const char *pricing, store_order *out, store_err *err)
{
    store_order_req req = {.user_id = user, .cart_id = cart,
                           .idempotency_key = key, .pricing_json = pricing};
    return sq__order_place(vb, &req, sq__now_ms(vb), out, err);
}

int sq__order_get(void *vb, int64_t id, store_order *out, store_err *err)
{
    sq *b = vb;
    sq_conn *c;
    int rc = sq__acquire(b, &c, err);
    if (rc)
        return rc;
    rc = load_order(c, id, out, err);
    sq__release(b, c);
    return rc;
}

int sq__order_list(void *vb, int64_t user, int limit, store_order **outp,
                   size_t *n, store_err *err)
{
    sq *b = vb;
    sq_conn *c;
    sqlite3_stmt *st;
    int64_t *ids = NULL;
    size_t k = 0;
    int rc = sq__acquire(b, &c, err), r;
    if (rc)
        return rc;
    st = SQ_PREP(c, err, "SELECT id FROM orders WHERE user_id = ? ORDER BY id DESC"
                         " LIMIT ?", SQ_I(user), SQ_I(limit));
    NEED_ST(st);
    if (!(ids = calloc((size_t)limit, sizeof *ids))) {
        rc = store__fail(err, STORE_ENOMEM, "out of memory");
        goto out;
    }
    while ((r = sqlite3_step(st)) == SQLITE_ROW && k < (size_t)limit)
        ids[k++] = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (!(*outp = calloc(k ? k : 1, sizeof **outp))) {
        rc = store__fail(err, STORE_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < k; i++) {
        if ((rc = load_order(c, ids[i], &(*outp)[i], err)) != 0) {
            store_order_list_free(*outp, i);
            *outp = NULL;
            goto out;
        }
    }
    *n = k;
out:
    free(ids);
    sq__release(b, c);
    return rc;
}

int sq__order_cancel_audited(void *vb, int64_t user, int64_t id,
                             const store_audit_rec *audit, const char *refund,
                             int64_t now, store_err *err)
{
    sq *b = vb;
    sq_conn *c;
    store_order o = {0};
    int rc = sq__acquire(b, &c, err);
    if (rc)
        return rc;
    if ((rc = sq__begin(c, err)) != 0)
        goto out;
    if ((rc = load_order(c, id, &o, err)) != 0)
        goto out;
    if (o.user_id != user) {
        /* someone else's order reads as absent: no probing of ids */
        rc = store__fail(err, STORE_ENOTFOUND, "no order %lld", (long long)id);
        goto out;
    }
    if (strcmp(o.status, "placed") != 0) {
        rc = store__fail(err, STORE_ESTATE, "order %lld is %s and can no longer"
                         " be cancelled", (long long)id, o.status);
        goto out;
    }
    for (size_t i = 0; i < o.n_lines; i++)
        if ((rc = SQ_RUN(c, err, "restock",
                         "UPDATE products SET stock = stock + ? * stock_tracked WHERE sku = ?",
                         SQ_I(o.lines[i].qty), SQ_T(o.lines[i].sku))) != 0)
            goto out;
    /* the refund the cancel owes is kept in the same transaction: never
     * a cancelled order without it, never a record without the cancel */
    if ((rc = SQ_RUN(c, err, "cancel",
                     "UPDATE orders SET status = 'cancelled', refund = coalesce(?, refund) WHERE id = ?",
                     SQ_T(refund), SQ_I(id))) != 0)
        goto out;
    if (audit) {
        store_audit_rec a = *audit;
        char subject[48];
        if (!a.subject) {
            snprintf(subject, sizeof subject, "order:%lld", (long long)id);
            a.subject = subject;
        }
        if ((rc = sq__audit_write(c, &a, NULL, now, err)) != 0)
            goto out;
    }
    rc = sq__commit(c, err);
out:
    sq__rollback(c);
    store_order_clear(&o);
    sq__release(b, c);
    return rc;
}

int sq__order_cancel(void *vb, int64_t user, int64_t id, store_err *err)
{
    return sq__order_cancel_audited(vb, user, id, NULL, NULL, sq__now_ms(vb), err);
}

/* A conditional UPDATE of order `id` changed nothing: the order does not
 * exist (load_order's error), or it is in a state that refuses it
 * (STORE_ESTATE, "order N <why>"). */
static int unchanged(sq_conn *c, int64_t id, const char *why, store_err *err)
{
    store_order o;
    int rc = load_order(c, id, &o, err);
    if (rc)
        return rc;
    store_order_clear(&o);
    return store__fail(err, STORE_ESTATE, "order %lld %s", (long long)id, why);
}

int sq__order_refund_set(void *vb, int64_t id, const char *refund, store_err *err)
{
    sq *b = vb;
    sq_conn *c;
    int rc = sq__acquire(b, &c, err);
    if (rc)
        return rc;
    /* conditional on "pending": a settled refund is never reopened */
    if ((rc = SQ_RUN(c, err, "refund", "UPDATE orders SET refund = ? WHERE id = ? AND status = 'cancelled'"
                     " AND json_extract(refund, '$.status') = 'pending'", SQ_T(refund), SQ_I(id))) != 0)
        goto out;
    if (sqlite3_changes(c->db) == 0)
        rc = unchanged(c, id, "owes no pending refund", err);
out:
    sq__release(b, c);
    return rc;
}

int sq__order_refunds_pending(void *vb, int limit, int64_t **ids, size_t *n, store_err *err)
{
    sq *b = vb;
    sq_conn *c;
    size_t cap = 0;
    int r, rc = sq__acquire(b, &c, err);
    if (rc)
        return rc;
    sqlite3_stmt *st = SQ_PREP(c, err, "SELECT id FROM orders WHERE json_extract(refund, '$.status') = 'pending'"
                                       " ORDER BY id LIMIT ?", SQ_I(limit));
    if (!st) {
        rc = err ? err->code : STORE_EIO;
        goto out;
    }
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            int64_t *g = realloc(*ids, (cap = cap ? cap * 2 : 8) * sizeof *g);
            if (!g) {
                rc = store__fail(err, STORE_ENOMEM, "out of memory");
                break;
            }
            *ids = g;
        }
        (*ids)[(*n)++] = sqlite3_column_int64(st, 0);
    }
    if (!rc && r != SQLITE_DONE)
        rc = sq__err(c, r, err, "pending refunds");
    sqlite3_reset(st);
    if (rc) {
        free(*ids);
        *ids = NULL;
        *n = 0;
    }
out:
    sq__release(b, c);
    return rc;
}

int sq__order_set_status(void *vb, int64_t id, const char *status,
                         store_err *err)
{
    sq *b = vb;
    sq_conn *c;
    int rc = sq__acquire(b, &c, err);
    if (rc)
        return rc;
    if (!strcmp(status, "cancelled")) {
        rc = store__fail(err, STORE_EINVAL, "use store_order_cancel to cancel");
        goto out;
    }
    if ((rc = SQ_RUN(c, err, "order status", "UPDATE orders SET status = ? WHERE"
                     " id = ? AND status != 'cancelled'", SQ_T(status), SQ_I(id))) != 0)
        goto out;
    if (sqlite3_changes(c->db) == 0)
        rc = unchanged(c, id, "is cancelled", err);
out:
    sq__release(b, c);
    return rc;
}
