/* gateway/h_cart.c — the caller's own cart over REST, mapped onto the
 * engine's commerce core (eng_shop_*): the cart id comes from the token,
 * never from the request, so nobody can name another's cart.  Validation,
 * prices, vetoes, stock, exactly-once and the audit trail are the core's;
 * this file maps JSON bodies and headers in and results to HTTP out, and
 * pushes changes to the cart's WebSockets.  Also the helpers every
 * handler uses to reach the core as the caller (gw__shop_*), the one
 * cart-change step REST and MCP share (gw__cart_do), and the audit helper
 * for non-commerce events. */
#include "gw_int.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gw__audit(gw_server *s, const gw_principal *who, const char *action, const char *subject,
               json_object *detail)
{
    char actor[128];
    if (who && who->user_id)
        snprintf(actor, sizeof actor, "user:%" PRId64, who->user_id);
    else if (who && who->sid[0])
        snprintf(actor, sizeof actor, "session:%s", who->sid);
    else
        snprintf(actor, sizeof actor, "anonymous");
    store_err e = {0};
    if (store_audit_append(s->st, actor, action, subject ? subject : "",
                           detail ? json_object_to_json_string(detail) : NULL, &e) < 0) {
        json_object *f = json_object_new_object();
        json_object_object_add(f, "action", json_object_new_string(action));
        json_object_object_add(f, "error", json_object_new_string(e.msg));
        gw__log("error", "audit_failed", f);
    }
    json_object_put(detail);
}

void gw__shop_open(gw_server *s, const gw_principal *who, gw_shop *g)
{
    memset(g, 0, sizeof *g);
    g->pipe = gw__pipeline(s);
    if (who->sid[0] && eng_session_load(s->st, who->sid, &g->session, NULL) < 0)
        g->session = NULL;
    g->w.pipe = g->pipe;
    g->w.store = s->st;
    g->w.user_id = who->user_id;
    g->w.session_id = who->sid[0] ? who->sid : NULL;
    g->w.session = g->session;
    g->w.via = "rest";
}

int gw__shop_save(gw_server *s, const gw_principal *who, gw_shop *g)
{
    store_err e = {0};
    if (!g->session || !who->sid[0])
        return 0;
    if (store_session_put(s->st, who->sid, json_object_to_json_string_ext(g->session, JSON_C_TO_STRING_PLAIN), 0,
                          &e) < 0) {
        json_object *f = json_object_new_object();
        json_object_object_add(f, "error", json_object_new_string(e.msg));
        gw__log("error", "session_save_failed", f);
        return -1;
    }
    return 0;
}

void gw__shop_close(gw_shop *g)
{
    eng_shop_result_clear(&g->r);
    json_object_put(g->session);
    eng_pipeline_release(g->pipe);
    memset(g, 0, sizeof *g);
}

void gw__shop_problem(gw_req *r, const eng_shop_result *res, const char *not_found_title)
{
    const char *why = res->reason[0] ? res->reason : NULL;
    switch (res->status) {
    case ENG_SHOP_OK:
        return;
    case ENG_SHOP_DENIED:
        gw__problem(r, 409, "rule-veto", "Refused by a rule", "%s", why ? why : "not allowed");
        return;
    case ENG_SHOP_NOT_FOUND:
        gw__problem(r, 404, "not-found", not_found_title, NULL);
        return;
    case ENG_SHOP_NOT_IN_CART:
        gw__problem(r, 404, "not-found", "Not in the cart", NULL);
        return;
    case ENG_SHOP_STOCK:
        gw__problem(r, 409, "insufficient-stock", "Not enough stock", "%s", why ? why : "not enough stock");
        return;
    case ENG_SHOP_EMPTY:
        gw__problem(r, 409, "cart-empty", "Cart is empty", "Add products to the cart before ordering.");
        return;
    case ENG_SHOP_STATE:
        gw__problem(r, 409, "order-not-cancellable", "Order cannot be cancelled", "Only placed orders can be cancelled.");
        return;
    case ENG_SHOP_CHANGED:
        gw__problem(r, 409, "cart-changed", "Cart changed", "%s",
                    why ? why : "The cart changed while the order was being placed; nothing was charged.");
        return;
    case ENG_SHOP_INVALID:
        gw__problem_field(r, 422, "validation", "Invalid request", res->field, why ? why : "invalid request");
        return;
    case ENG_SHOP_PAYMENT:
        gw__problem_field(r, 402, "payment-declined", "Payment declined", res->field,
                          why ? why : "The payment was declined; nothing was charged or ordered.");
        return;
    case ENG_SHOP_CODE_INVALID:
        gw__problem(r, 422, "promo-code-invalid", "Promotion code not accepted", "%s", why ? why : "unknown code");
        return;
    case ENG_SHOP_LOGIN:
        gw__problem(r, 401, "unauthorized", "Sign in required", "%s", why ? why : "please sign in");
        return;
    case ENG_SHOP_UNAVAILABLE:
    default:
        gw__problem_retry(r, 503, "store-unavailable", "Store unavailable", 1, NULL);
        return;
    }
}

json_object *gw__cart_json(gw_server *s, const gw_principal *who)
{
    gw_shop g;
    gw__shop_open(s, who, &g);
    json_object *cart = NULL;
    if (eng_shop_cart(&g.w, &g.r) == 0 && g.r.status == ENG_SHOP_OK)
        cart = json_object_get(g.r.cart);
    gw__shop_close(&g);
    return cart;
}

/* An optional Idempotency-Key: NULL when absent; *bad set when present
 * but not 1-99 printable ASCII characters. */
const char *gw__idempotency_key(gw_req *r, bool *bad)
{
    const char *key = mg_get_header(r->conn, "Idempotency-Key");
    *bad = false;
    if (!key)
        return NULL;
    size_t kl = strlen(key);
    bool ok = kl > 0 && kl < 100;
    for (size_t i = 0; ok && i < kl; i++)
        ok = key[i] > 32 && key[i] < 127;
    *bad = !ok;
    return ok ? key : NULL;
}

static void bad_key(gw_req *r)
{
    gw__problem(r, 400, "idempotency-key-invalid", "Invalid Idempotency-Key",
                "An Idempotency-Key is 1-99 printable ASCII characters.");
}

int gw__cart_do(gw_server *s, const gw_principal *who, const char *via, enum gw_cart_op op,
                const char *arg, int64_t qty, const char *key, gw_shop *g)
{
    gw__shop_open(s, who, g);
    if (via)
        g->w.via = via;
    bool promo = op == GW_CART_PROMO_APPLY || op == GW_CART_PROMO_REMOVE;
    if (promo && !g->session)
        return -1;
    switch (op) {
    case GW_CART_ADD: eng_shop_cart_add(&g->w, arg, qty, key, &g->r); break;
    case GW_CART_SET: eng_shop_cart_set(&g->w, arg, qty, key, &g->r); break;
    case GW_CART_REMOVE: eng_shop_cart_remove(&g->w, arg, key, &g->r); break;
    case GW_CART_CLEAR: eng_shop_cart_clear(&g->w, key, &g->r); break;
    case GW_CART_PROMO_APPLY: eng_shop_promo_apply(&g->w, arg, &g->r); break;
    case GW_CART_PROMO_REMOVE: eng_shop_promo_remove(&g->w, arg, &g->r); break;
    }
    if (g->r.status != ENG_SHOP_OK)
        return 0;
    /* promotion codes live in the caller's session */
    if (promo && gw__shop_save(s, who, g) < 0)
        return -1;
    if (promo || !g->r.replayed) {
        char cid[128];
        gw__cart_id(who, cid, sizeof cid);
        gw__cart_changed(s, cid, NULL);
    }
    return 0;
}

/* A cart change's outcome: the cart (200), or its problem. */
static void answer(gw_req *r, gw_shop *g, int rc, int status_ok)
{
    if (rc < 0) {
        gw__problem_retry(r, 503, "store-unavailable", "Store unavailable", 1, NULL);
        return;
    }
    if (g->r.status != ENG_SHOP_OK) {
        gw__shop_problem(r, &g->r, "No such product");
        return;
    }
    const char *hdr = g->r.replayed ? "Idempotent-Replayed: true\r\n" : NULL;
    if (status_ok == 204) {
        gw__reply(r, 204, "text/plain", "", 0, hdr);
        return;
    }
    eng_json_tidy_doubles(g->r.cart);
    const char *txt = json_object_to_json_string_ext(g->r.cart, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    gw__reply(r, status_ok, "application/json", txt, strlen(txt), hdr);
}

void gw__h_cart(gw_req *r)
{
    json_object *o = gw__cart_json(r->srv, &r->who);
    if (o)
        gw__json(r, 200, o);
    else
        gw__problem_retry(r, 503, "store-unavailable", "Store unavailable", 1, NULL);
}

static int qty_field(gw_req *r, json_object *b, int64_t def, int64_t lo, int64_t *out)
{
    json_object *v;
    if (!json_object_object_get_ex(b, "qty", &v)) {
        if (def >= 0) {
            *out = def;
            return 0;
        }
    } else if (json_object_is_type(v, json_type_int)) {
        int64_t q = json_object_get_int64(v);
        if (q >= lo && q <= 999) {
            *out = q;
            return 0;
        }
    }
    gw__problem(r, 422, "validation", "Invalid field", "qty must be an integer from %" PRId64 " to 999.", lo);
    return -1;
}

void gw__h_cart_add(gw_req *r)
{
    bool bad;
    const char *key = gw__idempotency_key(r, &bad);
    if (bad)
        return bad_key(r);
    json_object *b;
    if (gw__body_object(r, &b) < 0)
        return;
    const char *sku = gw__jstr(b, "sku");
    int64_t qty;
    if (!gw__str_ok(sku, 127)) {
        gw__problem(r, 422, "validation", "Invalid field", "sku is required.");
    } else if (qty_field(r, b, 1, 1, &qty) == 0) {
        gw_shop g;
        int rc = gw__cart_do(r->srv, &r->who, NULL, GW_CART_ADD, sku, qty, key, &g);
        answer(r, &g, rc, 200);
        gw__shop_close(&g);
    }
    json_object_put(b);
}

void gw__h_cart_patch(gw_req *r)
{
    bool bad;
    const char *key = gw__idempotency_key(r, &bad);
    if (bad)
        return bad_key(r);
    json_object *b;
    if (gw__body_object(r, &b) < 0)
        return;
    int64_t qty;
    if (qty_field(r, b, -1, 0, &qty) == 0) {
        gw_shop g;
        int rc = gw__cart_do(r->srv, &r->who, NULL, GW_CART_SET, r->params[0], qty, key, &g);
        answer(r, &g, rc, 200);
        gw__shop_close(&g);
    }
    json_object_put(b);
}

void gw__h_cart_remove(gw_req *r)
{
    bool bad;
    const char *key = gw__idempotency_key(r, &bad);
    if (bad)
        return bad_key(r);
    gw_shop g;
    int rc = gw__cart_do(r->srv, &r->who, NULL, GW_CART_REMOVE, r->params[0], 0, key, &g);
    answer(r, &g, rc, 204);
    gw__shop_close(&g);
}

void gw__h_cart_clear(gw_req *r)
{
    bool bad;
    const char *key = gw__idempotency_key(r, &bad);
    if (bad)
        return bad_key(r);
    gw_shop g;
    int rc = gw__cart_do(r->srv, &r->who, NULL, GW_CART_CLEAR, NULL, 0, key, &g);
    answer(r, &g, rc, 204);
    gw__shop_close(&g);
}

/* Promotion codes live in the caller's session; the core decides whether
 * a code is valid for this cart and never drops a valid one for a bad. */
static void promo_answer(gw_req *r, gw_shop *g, int rc)
{
    if (rc == 0 && g->r.status != ENG_SHOP_OK)
        gw__shop_problem(r, &g->r, "That code is not applied");
    else if (rc < 0)
        gw__problem_retry(r, 503, "store-unavailable", "Store unavailable", 1, NULL);
    else
        gw__json(r, 200, json_object_get(g->r.cart));
}

void gw__h_promo_apply(gw_req *r)
{
    json_object *b;
    if (gw__body_object(r, &b) < 0)
        return;
    const char *code = gw__jstr(b, "code");
    if (!gw__str_ok(code, 32)) {
        gw__problem(r, 422, "validation", "Invalid field", "code is required (2 to 32 characters).");
    } else {
        gw_shop g;
        int rc = gw__cart_do(r->srv, &r->who, NULL, GW_CART_PROMO_APPLY, code, 0, NULL, &g);
        promo_answer(r, &g, rc);
        gw__shop_close(&g);
    }
    json_object_put(b);
}

void gw__h_promo_remove(gw_req *r)
{
    gw_shop g;
    int rc = gw__cart_do(r->srv, &r->who, NULL, GW_CART_PROMO_REMOVE, r->params[0], 0, NULL, &g);
    promo_answer(r, &g, rc);
    gw__shop_close(&g);
}
