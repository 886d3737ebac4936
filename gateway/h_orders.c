/* gateway/h_orders.c — a signed-in user's orders over REST, mapped onto
 * the engine's commerce core: checkout of their cart under a required
 * Idempotency-Key (a replay, concurrent or later, returns the first order
 * with 200 and Idempotent-Replayed: true — the store says which, in the
 * same transaction as the order; gw__checkout is the step MCP's
 * confirm_checkout shares), list, detail and cancel.  Another
 * user's order is answered 404, exactly like one that does not exist.
 * The checkout's facts (address, delivery option, payment card) come in
 * the body and go, unread here, to eng_shop_checkout_with; the saved
 * address and the delivery options have their own resources. */
#include "gw_int.h"
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gw__checkout(gw_server *s, const gw_principal *who, const char *via, const char *key, json_object *confirmed,
                  gw_shop *g)
{
    gw__shop_open(s, who, g);
    if (via)
        g->w.via = via;
    eng_shop_checkout_confirmed(&g->w, key, confirmed, &g->r);
    if (g->r.status == ENG_SHOP_OK && !g->r.replayed) {
        char cid[128];
        gw__cart_id(who, cid, sizeof cid);
        gw__cart_changed(s, cid, NULL);
    }
}

/* the checkout body: {address?, saveAddress?, deliveryOption?, payment};
 * only its shape is checked here, the facts in the commerce core */
static int checkout_body(gw_req *r, json_object *body, eng_checkout *co)
{
    static const char *const known[] = {"address", "saveAddress", "deliveryOption", "payment", "savePayment", NULL};
    json_object_object_foreach(body, k, v) {
        (void)v;
        bool ok = false;
        for (size_t i = 0; known[i]; i++)
            ok |= strcmp(known[i], k) == 0;
        if (!ok) {
            gw__problem_field(r, 422, "validation", "Invalid request", NULL,
                              "unknown member of the checkout (address, saveAddress, deliveryOption, payment, "
                              "savePayment)");
            return -1;
        }
    }
    json_object *a = json_object_object_get(body, "address"), *sa = json_object_object_get(body, "saveAddress");
    json_object *d = json_object_object_get(body, "deliveryOption"), *p = json_object_object_get(body, "payment");
    json_object *sp = json_object_object_get(body, "savePayment");
    if (sp && !json_object_is_type(sp, json_type_boolean)) {
        gw__problem_field(r, 422, "validation", "Invalid request", "savePayment", "savePayment is true or false");
        return -1;
    }
    if ((a && !json_object_is_type(a, json_type_object)) || (sa && !json_object_is_type(sa, json_type_boolean)) ||
        (d && !json_object_is_type(d, json_type_string)) || (p && !json_object_is_type(p, json_type_object))) {
        const char *f = a && !json_object_is_type(a, json_type_object) ? "address"
                        : sa && !json_object_is_type(sa, json_type_boolean) ? "saveAddress"
                        : d && !json_object_is_type(d, json_type_string) ? "deliveryOption" : "payment";
        gw__problem_field(r, 422, "validation", "Invalid request", f,
                          "address and payment are objects, deliveryOption a string, saveAddress true or false");
        return -1;
    }
    memset(co, 0, sizeof *co);
    co->address = a;
    co->save_address = sa && json_object_get_boolean(sa);
    co->delivery = d ? json_object_get_string(d) : NULL;
    co->payment = p;
    co->save_payment = sp && json_object_get_boolean(sp);
    co->require_payment = true;
    return 0;
}

/* Each order line's picture for the order pages: the product's thumbnail
 * as the catalog has it now (the shop's own copy when it keeps one) and
 * its category (the placeholder's word when there is no picture).  A line
 * whose product is gone keeps neither.  `o` is an order ({lines}) or a
 * list of them ({items}). */
static void line_pictures(gw_server *s, json_object *o)
{
    json_object *items = json_object_object_get(o, "items");
    if (items && json_object_is_type(items, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(items); i++)
            line_pictures(s, json_object_array_get_idx(items, i));
        return;
    }
    json_object *lines = json_object_object_get(o, "lines");
    for (size_t i = 0; lines && i < json_object_array_length(lines); i++) {
        json_object *l = json_object_array_get_idx(lines, i);
        const char *sku = gw__jstr(l, "sku");
        store_product p = {0};
        if (!sku || json_object_object_get(l, "thumbnail") || store_product_get(s->st, sku, &p, NULL) != 0)
            continue;
        const char *thumb = p.thumbnail_media ? p.thumbnail_media : p.thumbnail;
        if (thumb)
            json_object_object_add(l, "thumbnail", json_object_new_string(thumb));
        if (p.category)
            json_object_object_add(l, "category", json_object_new_string(p.category));
        store_product_clear(&p);
    }
}

void gw__h_orders_create(gw_req *r)
{
    bool bad;
    const char *key = gw__idempotency_key(r, &bad);
    if (!key) {
        gw__problem(r, 400, "idempotency-key-required", "Idempotency-Key required",
                    "Send an Idempotency-Key header (1-99 printable ASCII characters) so that a retry "
                    "cannot place the order twice.");
        return;
    }
    json_object *body;
    eng_checkout co;
    if (gw__body_object(r, &body) < 0)
        return;
    if (checkout_body(r, body, &co) < 0) {
        json_object_put(body);
        return;
    }
    gw_shop g;
    gw__shop_open(r->srv, &r->who, &g);
    eng_shop_checkout_with(&g.w, key, NULL, &co, &g.r);
    json_object_put(body);
    if (g.r.status == ENG_SHOP_OK && !g.r.replayed) {
        char cid[128];
        gw__cart_id(&r->who, cid, sizeof cid);
        gw__cart_changed(r->srv, cid, NULL);
    }
    if (g.r.status != ENG_SHOP_OK) {
        gw__shop_problem(r, &g.r, "No such order");
        gw__shop_close(&g);
        return;
    }
    int64_t id = json_object_get_int64(json_object_object_get(g.r.order, "id"));
    char hdr[128];
    snprintf(hdr, sizeof hdr, "Location: /api/v1/orders/%" PRId64 "\r\n%s", id,
             g.r.replayed ? "Idempotent-Replayed: true\r\n" : "");
    line_pictures(r->srv, g.r.order);
    eng_json_tidy_doubles(g.r.order);
    const char *txt = json_object_to_json_string_ext(g.r.order, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    gw__reply(r, g.r.replayed ? 200 : 201, "application/json", txt, strlen(txt), hdr);
    gw__shop_close(&g);
}

/* Answer a commerce-core result: 200 with `body` (the result's order or
 * info) when OK, else its problem; then close the call. */
static void answer(gw_req *r, gw_shop *g, json_object *body, const char *not_found)
{
    if (g->r.status == ENG_SHOP_OK) {
        eng_json_tidy_doubles(body);
        gw__json(r, 200, json_object_get(body));
    } else {
        gw__shop_problem(r, &g->r, not_found);
    }
    gw__shop_close(g);
}

/* An account resource: GET reads it, PUT saves the body through the core. */
typedef int (*shop_get_fn)(const eng_shopper *w, eng_shop_result *r);
typedef int (*shop_put_fn)(const eng_shopper *w, json_object *body, eng_shop_result *r);

static void shop_get(gw_req *r, shop_get_fn fn, const char *not_found)
{
    gw_shop g;
    gw__shop_open(r->srv, &r->who, &g);
    fn(&g.w, &g.r);
    answer(r, &g, g.r.info, not_found);
}

static void shop_put(gw_req *r, shop_put_fn fn, const char *not_found)
{
    json_object *body;
    if (gw__body_object(r, &body) < 0)
        return;
    gw_shop g;
    gw__shop_open(r->srv, &r->who, &g);
    fn(&g.w, body, &g.r);
    json_object_put(body);
    answer(r, &g, g.r.info, not_found);
}

void gw__h_address_get(gw_req *r) { shop_get(r, eng_shop_address_get, "No saved address"); }
void gw__h_address_put(gw_req *r) { shop_put(r, eng_shop_address_set, "No saved address"); }
void gw__h_payment_get(gw_req *r) { shop_get(r, eng_shop_payment_get, "No saved card"); }
void gw__h_payment_put(gw_req *r) { shop_put(r, eng_shop_payment_save, "No saved card"); }

void gw__h_payment_delete(gw_req *r)
{
    gw_shop g;
    gw__shop_open(r->srv, &r->who, &g);
    eng_shop_payment_forget(&g.w, &g.r);
    if (g.r.status == ENG_SHOP_OK) {
        gw__reply(r, 204, "text/plain", "", 0, NULL);
        gw__shop_close(&g);
        return;
    }
    answer(r, &g, NULL, "No saved card");
}

/* ?country=PT: only the options that deliver there (none: an empty list,
 * and `refused` says why); without it every option, each with the
 * countries it delivers to.  Which option goes where is the core's. */
void gw__h_delivery_options(gw_req *r)
{
    char country[64] = "";
    bool given = gw__query(r, "country", country, sizeof country) == 1;
    bool too_long = !given && r->ri->query_string && strstr(r->ri->query_string, "country=");
    if (too_long || (given && (strlen(country) != 2 || !isalpha((unsigned char)country[0]) || !isalpha((unsigned char)country[1])))) {
        gw__problem(r, 400, "invalid-parameter", "Invalid query parameter",
                    "country must be a two-letter country code (ISO 3166-1 alpha-2), like US or PT.");
        return;
    }
    gw_shop g;
    gw__shop_open(r->srv, &r->who, &g);
    eng_shop_delivery_to(&g.w, given ? country : NULL, NULL, &g.r);
    answer(r, &g, g.r.info, "No cart");
}

void gw__h_orders(gw_req *r)
{
    gw_shop g;
    gw__shop_open(r->srv, &r->who, &g);
    eng_shop_orders(&g.w, 100, &g.r);
    if (g.r.status == ENG_SHOP_OK && g.r.order)
        line_pictures(r->srv, g.r.order);
    answer(r, &g, g.r.order, "No such order");
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
    gw_shop g;
    gw__shop_open(r->srv, &r->who, &g);
    eng_shop_order(&g.w, order_id(r), &g.r);
    if (g.r.status == ENG_SHOP_OK && g.r.order)
        line_pictures(r->srv, g.r.order);
    answer(r, &g, g.r.order, "No such order");
}

void gw__h_order_cancel(gw_req *r)
{
    gw_shop g;
    gw__shop_open(r->srv, &r->who, &g);
    eng_shop_cancel(&g.w, order_id(r), &g.r);
    if (g.r.status == ENG_SHOP_OK && g.r.order)
        line_pictures(r->srv, g.r.order);
    answer(r, &g, g.r.order, "No such order");
}
