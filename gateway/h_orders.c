/* gateway/h_orders.c — a logged-in user's orders: checkout of their cart
 * under an Idempotency-Key (a replay returns the first order), list,
 * detail and cancel.  Another user's order is answered 404, exactly like
 * one that does not exist, so ids reveal nothing. */
#include "gw_int.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_object *money(double v) { return json_object_new_double((double)(int64_t)(v * 100 + (v < 0 ? -0.5 : 0.5)) / 100); }

static json_object *order_json(const store_order *o)
{
    json_object *j = json_object_new_object(), *lines = json_object_new_array();
    json_object_object_add(j, "id", json_object_new_int64(o->id));
    json_object_object_add(j, "status", json_object_new_string(o->status));
    json_object_object_add(j, "total", money(o->total));
    json_object_object_add(j, "createdAt", json_object_new_int64(o->created_at));
    json_object_object_add(j, "idempotencyKey", json_object_new_string(o->idempotency_key));
    for (size_t i = 0; i < o->n_lines; i++) {
        json_object *l = json_object_new_object();
        json_object_object_add(l, "sku", json_object_new_string(o->lines[i].sku));
        json_object_object_add(l, "title", json_object_new_string(o->lines[i].title));
        json_object_object_add(l, "qty", json_object_new_int64(o->lines[i].qty));
        json_object_object_add(l, "unitPrice", money(o->lines[i].unit_price));
        json_object_array_add(lines, l);
    }
    json_object_object_add(j, "lines", lines);
    /* what the shopper agreed to: line prices with their rule ids, discounts */
    json_object *pr = o->pricing_json ? json_tokener_parse(o->pricing_json) : NULL;
    if (pr) {
        json_object_object_add(j, "subtotal", json_object_get(json_object_object_get(pr, "subtotal")));
        json_object_object_add(j, "discounts", json_object_get(json_object_object_get(pr, "discounts")));
        json_object *items = json_object_object_get(pr, "items");
        for (size_t i = 0; items && i < json_object_array_length(items); i++) {
            json_object *it = json_object_array_get_idx(items, i);
            const char *sku = json_object_get_string(json_object_object_get(it, "sku"));
            for (size_t k = 0; sku && k < json_object_array_length(lines); k++) {
                json_object *l = json_object_array_get_idx(lines, k);
                if (strcmp(json_object_get_string(json_object_object_get(l, "sku")), sku) == 0)
                    json_object_object_add(l, "appliedRules", json_object_get(json_object_object_get(it, "appliedRules")));
            }
        }
        json_object_put(pr);
    }
    return j;
}

void gw__h_orders_create(gw_req *r)
{
    const char *key = mg_get_header(r->conn, "Idempotency-Key");
    size_t kl = key ? strlen(key) : 0;
    bool ok = kl > 0 && kl < 100;
    for (size_t i = 0; ok && i < kl; i++)
        ok = key[i] > 32 && key[i] < 127;
    if (!ok) {
        gw__problem(r, 400, "idempotency-key-required", "Idempotency-Key required",
                    "Send an Idempotency-Key header (1-99 printable ASCII characters) so that a retry "
                    "cannot place the order twice.");
        return;
    }
    gw_server *s = r->srv;
    char cid[128];
    gw__cart_id(&r->who, cid, sizeof cid);
    int64_t t0 = store_now_ms(s->st);
    store_order o = {0};
    store_err e = {0};
    /* the prices the chat and the cart show, promotions and all, are
     * what the order charges; the rules may refuse it as in the chat */
    json_object *cart = gw__cart_json(s, &r->who);
    if (!cart) {
        gw__problem_retry(r, 503, "store-unavailable", "Store unavailable", 1, NULL);
        return;
    }
    json_object *pricing = json_object_new_object();
    static const char *const keep[] = {"total", "subtotal", "discounts", "items", NULL};
    for (size_t i = 0; keep[i]; i++)
        json_object_object_add(pricing, keep[i], json_object_get(json_object_object_get(cart, keep[i])));
    json_object_put(cart);
    int rc;
    if (json_object_array_length(json_object_object_get(pricing, "items")) == 0) {
        /* an empty cart: a replay of a key already used still answers
         * with its order; otherwise the store says the cart is empty */
        rc = store_order_create(s->st, r->who.user_id, cid, key, &o, &e);
    } else {
        json_object *act = json_object_get(pricing);
        json_object_object_add(act, "type", json_object_new_string("order.create"));
        json_object_object_add(act, "cartId", json_object_new_string(cid));
        bool vetoed = gw__veto(r, "order.create", act);
        json_object_object_del(act, "type");
        json_object_object_del(act, "cartId");
        json_object_put(act);
        if (vetoed) {
            json_object_put(pricing);
            return;
        }
        rc = store_order_create_priced(s->st, r->who.user_id, cid, key,
                                       json_object_to_json_string_ext(pricing, JSON_C_TO_STRING_PLAIN), &o, &e);
    }
    json_object_put(pricing);
    switch (rc) {
    case 0: break;
    case STORE_EEMPTY:
        gw__problem(r, 409, "cart-empty", "Cart is empty", "Add products to the cart before ordering.");
        return;
    case STORE_ESTOCK:
        gw__problem(r, 409, "insufficient-stock", "Not enough stock", "%s", e.msg);
        return;
    case STORE_EINVAL:
        gw__problem(r, 422, "validation", "Order refused", "%s", e.msg);
        return;
    default:
        gw__problem_retry(r, 503, "store-unavailable", "Store unavailable", 1, e.msg);
        return;
    }
    /* the store returns the first order for a key it has seen; it was
     * made before this request began */
    bool replay = o.created_at < t0;
    char hdr[96];
    snprintf(hdr, sizeof hdr, "Location: /api/v1/orders/%" PRId64 "\r\n%s", o.id,
             replay ? "Idempotent-Replayed: true\r\n" : "");
    if (!replay) {
        json_object *d = json_object_new_object();
        json_object_object_add(d, "orderId", json_object_new_int64(o.id));
        json_object_object_add(d, "total", money(o.total));
        json_object_object_add(d, "via", json_object_new_string("rest"));
        char subj[32];
        snprintf(subj, sizeof subj, "order:%" PRId64, o.id);
        gw__audit(s, &r->who, "order.create", subj, d);
        gw__cart_changed(s, cid);
    }
    json_object *j = order_json(&o);
    store_order_clear(&o);
    const char *txt = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    gw__reply(r, replay ? 200 : 201, "application/json", txt, strlen(txt), hdr);
    json_object_put(j);
}

void gw__h_orders(gw_req *r)
{
    store_order *list = NULL;
    size_t n = 0;
    store_err e = {0};
    if (store_order_list(r->srv->st, r->who.user_id, 100, &list, &n, &e) < 0) {
        gw__problem(r, 503, "store-unavailable", "Store unavailable", "%s", e.msg);
        return;
    }
    json_object *o = json_object_new_object(), *items = json_object_new_array();
    for (size_t i = 0; i < n; i++)
        json_object_array_add(items, order_json(&list[i]));
    store_order_list_free(list, n);
    json_object_object_add(o, "items", items);
    gw__json(r, 200, o);
}

/* the path's order id; 0 when it is not a positive integer */
static int64_t order_id(const gw_req *r)
{
    char *end;
    long long id = strtoll(r->params[0], &end, 10);
    return *end || id <= 0 ? 0 : id;
}

void gw__h_order(gw_req *r)
{
    int64_t id = order_id(r);
    store_order o = {0};
    store_err e = {0};
    int rc = id ? store_order_get(r->srv->st, id, &o, &e) : STORE_ENOTFOUND;
    if (rc == 0 && o.user_id != r->who.user_id)
        rc = STORE_ENOTFOUND;
    if (rc == STORE_ENOTFOUND)
        gw__problem(r, 404, "not-found", "No such order", NULL);
    else if (rc < 0)
        gw__problem(r, 503, "store-unavailable", "Store unavailable", "%s", e.msg);
    else
        gw__json(r, 200, order_json(&o));
    store_order_clear(&o);
}

void gw__h_order_cancel(gw_req *r)
{
    int64_t id = order_id(r);
    store_err e = {0};
    int rc = id ? store_order_cancel(r->srv->st, r->who.user_id, id, &e) : STORE_ENOTFOUND;
    if (rc == STORE_ENOTFOUND) {
        gw__problem(r, 404, "not-found", "No such order", NULL);
        return;
    }
    if (rc == STORE_ESTATE) {
        gw__problem(r, 409, "order-not-cancellable", "Order cannot be cancelled", "Only placed orders can be cancelled.");
        return;
    }
    if (rc < 0) {
        gw__problem(r, 503, "store-unavailable", "Store unavailable", "%s", e.msg);
        return;
    }
    char subj[32];
    snprintf(subj, sizeof subj, "order:%" PRId64, id);
    gw__audit(r->srv, &r->who, "order.cancel", subj, NULL);
    store_order o = {0};
    if (store_order_get(r->srv->st, id, &o, &e) == 0)
        gw__json(r, 200, order_json(&o));
    else
        gw__problem(r, 503, "store-unavailable", "Store unavailable", "%s", e.msg);
    store_order_clear(&o);
}
