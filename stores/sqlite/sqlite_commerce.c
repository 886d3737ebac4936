/* stores/sqlite/sqlite_commerce.c — carts and orders on SQLite.  Checkout
 * is one BEGIN IMMEDIATE transaction: idempotency lookup, conditional
 * stock decrement (stock >= qty), order insert, cart clear.  The write
 * lock taken up front is what makes overselling impossible. */
#include "stores/sqlite/sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static int64_t now_ms(const sq *b)
{
    struct timeval tv;
    if (b->cfg.clock)
        return b->cfg.clock(b->cfg.clock_ud);
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static sqlite3_stmt *prep_bind(sq_conn *c, const char *sql, store_err *err)
{
    return sq__prep(c, sql, err);
}

static int run(sq_conn *c, sqlite3_stmt *st, store_err *err, const char *what)
{
    int r = sqlite3_step(st);
    sqlite3_reset(st);
    return r == SQLITE_DONE || r == SQLITE_ROW ? 0 : sq__err(c, r, err, what);
}

#define TXT(st, i, s) sqlite3_bind_text((st), (i), (s), -1, SQLITE_TRANSIENT)
#define NEED_ST(st)                                                        \
    if (!(st)) {                                                           \
        rc = err ? err->code : STORE_EIO;                                  \
        goto out;                                                          \
    }

/* ---------------- carts ---------------- */

static int load_cart(sq_conn *c, const char *cart, store_cart *out,
                     store_err *err)
{
    sqlite3_stmt *st = prep_bind(c, "SELECT c.sku, coalesce(p.title, ''),"
                                    " c.qty, coalesce(p.price, 0) FROM carts c"
                                    " LEFT JOIN products p ON p.sku = c.sku"
                                    " WHERE c.cart_id = ? ORDER BY c.added_at,"
                                    " c.rowid", err);
    size_t cap = 0;
    int r;
    memset(out, 0, sizeof *out);
    if (!st)
        return err ? err->code : STORE_EIO;
    TXT(st, 1, cart);
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
        st = prep_bind(c, "DELETE FROM carts WHERE cart_id = ? AND sku = ?", err);
        NEED_ST(st);
        TXT(st, 1, cart);
        TXT(st, 2, sku);
        rc = run(c, st, err, "cart remove");
        goto out;
    }
    st = prep_bind(c, "SELECT 1 FROM products WHERE sku = ?", err);
    NEED_ST(st);
    TXT(st, 1, sku);
    r = sqlite3_step(st);
    sqlite3_reset(st);
    if (r != SQLITE_ROW) {
        rc = r == SQLITE_DONE ? store__fail(err, STORE_ENOTFOUND, "no product %s", sku)
                              : sq__err(c, r, err, "cart");
        goto out;
    }
    st = prep_bind(c, "INSERT INTO carts(cart_id, sku, qty, added_at)"
                      " VALUES(?, ?, ?, ?) ON CONFLICT(cart_id, sku) DO UPDATE"
                      " SET qty = excluded.qty", err);
    NEED_ST(st);
    TXT(st, 1, cart);
    TXT(st, 2, sku);
    sqlite3_bind_int64(st, 3, qty);
    sqlite3_bind_int64(st, 4, now_ms(b));
    rc = run(c, st, err, "cart set");
out:
    sq__release(b, c);
    return rc;
}

int sq__cart_clear(void *vb, const char *cart, store_err *err)
{
    sq *b = vb;
    sq_conn *c;
    sqlite3_stmt *st;
    int rc = sq__acquire(b, &c, err);
    if (rc)
        return rc;
    st = prep_bind(c, "DELETE FROM carts WHERE cart_id = ?", err);
    NEED_ST(st);
    TXT(st, 1, cart);
    rc = run(c, st, err, "cart clear");
out:
    sq__release(b, c);
    return rc;
}

int sq__cart_merge(void *vb, const char *from, const char *into,
                   store_err *err)
{
    sq *b = vb;
    sq_conn *c;
    sqlite3_stmt *st;
    int rc = sq__acquire(b, &c, err);
    if (rc)
        return rc;
    if ((rc = sq__begin(c, err)) != 0)
        goto out;
    /* "WHERE true" keeps the upsert's ON from parsing as a join clause */
    st = prep_bind(c, "INSERT INTO carts(cart_id, sku, qty, added_at)"
                      " SELECT ?2, sku, qty, added_at FROM carts WHERE"
                      " cart_id = ?1 AND true ON CONFLICT(cart_id, sku) DO"
                      " UPDATE SET qty = qty + excluded.qty", err);
    NEED_ST(st);
    TXT(st, 1, from);
    TXT(st, 2, into);
    if ((rc = run(c, st, err, "cart merge")) != 0)
        goto out;
    st = prep_bind(c, "DELETE FROM carts WHERE cart_id = ?", err);
    NEED_ST(st);
    TXT(st, 1, from);
    if ((rc = run(c, st, err, "cart merge")) != 0)
        goto out;
    rc = sq__commit(c, err);
out:
    sq__rollback(c);
    sq__release(b, c);
    return rc;
}

/* ---------------- orders ---------------- */

static int load_order(sq_conn *c, int64_t id, store_order *o, store_err *err)
{
    sqlite3_stmt *st = prep_bind(c, "SELECT id, user_id, status, idem_key,"
                                    " total, created_at, pricing FROM orders WHERE id = ?",
                                 err);
    size_t cap = 0;
    int r;
    memset(o, 0, sizeof *o);
    if (!st)
        return err ? err->code : STORE_EIO;
    sqlite3_bind_int64(st, 1, id);
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
    if (sqlite3_column_type(st, 6) == SQLITE_TEXT && !(o->pricing_json = sq__text_dup(st, 6))) {
        sqlite3_reset(st);
        return store__fail(err, STORE_ENOMEM, "out of memory");
    }
    sqlite3_reset(st);
    st = prep_bind(c, "SELECT sku, title, qty, unit_price FROM order_lines"
                      " WHERE order_id = ? ORDER BY rowid", err);
    if (!st)
        return err ? err->code : STORE_EIO;
    sqlite3_bind_int64(st, 1, id);
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

int sq__order_create(void *vb, int64_t user, const char *cart, const char *key, const char *pricing,
                     store_order *out, store_err *err)
{
    sq *b = vb;
    sq_conn *c;
    sqlite3_stmt *st;
    store_cart items = {0};
    store__pricing pr;
    int64_t id = 0;
    int rc = store__pricing_parse(pricing, &pr, err), r;
    if (rc)
        return rc;
    if ((rc = sq__acquire(b, &c, err)) != 0) {
        store__pricing_free(&pr);
        return rc;
    }
    if ((rc = sq__begin(c, err)) != 0)
        goto out;
    st = prep_bind(c, "SELECT id FROM orders WHERE user_id = ? AND idem_key = ?",
                   err);
    NEED_ST(st);
    sqlite3_bind_int64(st, 1, user);
    TXT(st, 2, key);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (r != SQLITE_ROW && r != SQLITE_DONE) {
        rc = sq__err(c, r, err, "order lookup");
        goto out;
    }
    if (id) {   /* replay: the same order, no second decrement */
        sq__rollback(c);
        rc = load_order(c, id, out, err);
        goto out;
    }
    if ((rc = load_cart(c, cart, &items, err)) != 0)
        goto out;
    if (items.n_items == 0) {
        rc = store__fail(err, STORE_EEMPTY, "cart %s is empty", cart);
        goto out;
    }
    if ((rc = store__pricing_check(&pr, items.subtotal, err)) != 0)
        goto out;
    for (size_t i = 0; i < items.n_items; i++) {
        st = prep_bind(c, "UPDATE products SET stock = stock - ?1 WHERE"
                          " sku = ?2 AND stock >= ?1", err);
        NEED_ST(st);
        sqlite3_bind_int64(st, 1, items.items[i].qty);
        TXT(st, 2, items.items[i].sku);
        if ((rc = run(c, st, err, "stock")) != 0)
            goto out;
        if (sqlite3_changes(c->db) != 1) {
            rc = store__fail(err, STORE_ESTOCK, "not enough stock for %s (%s)",
                             items.items[i].sku, items.items[i].title);
            goto out;
        }
    }
    st = prep_bind(c, "INSERT INTO orders(user_id, status, idem_key, total,"
                      " created_at, pricing) VALUES(?, 'placed', ?, ?, ?, ?)", err);
    NEED_ST(st);
    sqlite3_bind_int64(st, 1, user);
    TXT(st, 2, key);
    sqlite3_bind_double(st, 3, pr.total >= 0 ? pr.total : items.subtotal);
    sqlite3_bind_int64(st, 4, now_ms(b));
    if (pricing)
        TXT(st, 5, pricing);
    else
        sqlite3_bind_null(st, 5);
    if ((rc = run(c, st, err, "order insert")) != 0)
        goto out;
    id = sqlite3_last_insert_rowid(c->db);
    for (size_t i = 0; i < items.n_items; i++) {
        st = prep_bind(c, "INSERT INTO order_lines(order_id, sku, title, qty,"
                          " unit_price) VALUES(?, ?, ?, ?, ?)", err);
        NEED_ST(st);
        sqlite3_bind_int64(st, 1, id);
        TXT(st, 2, items.items[i].sku);
        TXT(st, 3, items.items[i].title);
        sqlite3_bind_int64(st, 4, items.items[i].qty);
        sqlite3_bind_double(st, 5, store__pricing_unit(&pr, items.items[i].sku, items.items[i].unit_price));
        if ((rc = run(c, st, err, "order line")) != 0)
            goto out;
    }
    st = prep_bind(c, "DELETE FROM carts WHERE cart_id = ?", err);
    NEED_ST(st);
    TXT(st, 1, cart);
    if ((rc = run(c, st, err, "cart clear")) != 0 ||
        (rc = sq__commit(c, err)) != 0)
        goto out;
    rc = load_order(c, id, out, err);
out:
    sq__rollback(c);
    store_cart_clear_struct(&items);
    store__pricing_free(&pr);
    sq__release(b, c);
    return rc;
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
    st = prep_bind(c, "SELECT id FROM orders WHERE user_id = ? ORDER BY id DESC"
                      " LIMIT ?", err);
    NEED_ST(st);
    sqlite3_bind_int64(st, 1, user);
    sqlite3_bind_int(st, 2, limit);
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

int sq__order_cancel(void *vb, int64_t user, int64_t id, store_err *err)
{
    sq *b = vb;
    sq_conn *c;
    sqlite3_stmt *st;
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
    for (size_t i = 0; i < o.n_lines; i++) {
        st = prep_bind(c, "UPDATE products SET stock = stock + ? WHERE sku = ?",
                       err);
        NEED_ST(st);
        sqlite3_bind_int64(st, 1, o.lines[i].qty);
        TXT(st, 2, o.lines[i].sku);
        if ((rc = run(c, st, err, "restock")) != 0)
            goto out;
    }
    st = prep_bind(c, "UPDATE orders SET status = 'cancelled' WHERE id = ?", err);
    NEED_ST(st);
    sqlite3_bind_int64(st, 1, id);
    if ((rc = run(c, st, err, "cancel")) != 0)
        goto out;
    rc = sq__commit(c, err);
out:
    sq__rollback(c);
    store_order_clear(&o);
    sq__release(b, c);
    return rc;
}

int sq__order_set_status(void *vb, int64_t id, const char *status,
                         store_err *err)
{
    sq *b = vb;
    sq_conn *c;
    sqlite3_stmt *st;
    int rc = sq__acquire(b, &c, err);
    if (rc)
        return rc;
    if (!strcmp(status, "cancelled")) {
        rc = store__fail(err, STORE_EINVAL, "use store_order_cancel to cancel");
        goto out;
    }
    st = prep_bind(c, "UPDATE orders SET status = ? WHERE id = ? AND"
                      " status != 'cancelled'", err);
    NEED_ST(st);
    TXT(st, 1, status);
    sqlite3_bind_int64(st, 2, id);
    if ((rc = run(c, st, err, "order status")) != 0)
        goto out;
    if (sqlite3_changes(c->db) == 0) {
        store_order o;
        rc = load_order(c, id, &o, err);
        if (rc == 0) {
            store_order_clear(&o);
            rc = store__fail(err, STORE_ESTATE, "order %lld is cancelled",
                             (long long)id);
        }
    }
out:
    sq__release(b, c);
    return rc;
}
