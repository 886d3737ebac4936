/* gateway/h_cart.c — the caller's own cart over REST (anonymous session
 * or user: the cart id comes from the token, never from the request, so
 * nobody can name another's cart), and the audit helper every handler
 * uses.  Every change is audited and pushed to the cart's WebSockets. */
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

void gw__shopper(gw_server *s, const gw_principal *who, eng_turn_opts *o, eng_deps *deps, char uid[32],
                 json_object **session)
{
    memset(o, 0, sizeof *o);
    memset(deps, 0, sizeof *deps);
    deps->store = s->st;
    uid[0] = '\0';
    if (who->user_id)
        snprintf(uid, 32, "%" PRId64, who->user_id);
    *session = NULL;
    if (who->sid[0] && eng_session_load(s->st, who->sid, session, NULL) < 0)
        *session = NULL;
    o->session_id = who->sid[0] ? who->sid : NULL;
    o->user_id = uid[0] ? uid : NULL;
    o->session = *session;
    o->deps = deps;
}

json_object *gw__cart_json(gw_server *s, const gw_principal *who)
{
    eng_turn_opts o;
    eng_deps deps;
    char uid[32];
    json_object *sess, *cart = NULL;
    gw__shopper(s, who, &o, &deps, uid, &sess);
    eng_pipeline *p = gw__pipeline(s);
    eng_err err = {0};
    if (eng_cart_priced(p, &o, &cart, &err) < 0)
        cart = NULL;
    eng_pipeline_release(p);
    json_object_put(sess);
    return cart;
}

bool gw__veto(gw_req *r, const char *hook, json_object *action)
{
    eng_turn_opts o;
    eng_deps deps;
    char uid[32];
    json_object *sess, *veto = NULL;
    gw__shopper(r->srv, &r->who, &o, &deps, uid, &sess);
    eng_pipeline *p = gw__pipeline(r->srv);
    eng_rules_veto(p, &o, hook, action, &veto, NULL);
    eng_pipeline_release(p);
    json_object_put(sess);
    if (!veto)
        return false;
    gw__problem(r, 409, "rule-veto", "Refused by a rule", "%s", gw__jstr(veto, "deny") ? gw__jstr(veto, "deny") : "not allowed");
    json_object *d = json_object_new_object();
    json_object_object_add(d, "hook", json_object_new_string(hook));
    json_object_object_add(d, "ruleId", json_object_get(json_object_object_get(veto, "id")));
    json_object_object_add(d, "ruleVersion", json_object_get(json_object_object_get(veto, "version")));
    json_object_object_add(d, "message", json_object_get(json_object_object_get(veto, "deny")));
    json_object_object_add(d, "via", json_object_new_string("rest"));
    gw__audit(r->srv, &r->who, "rule.veto", hook, d);
    json_object_put(veto);
    return true;
}

static void send_cart(gw_req *r, int status)
{
    json_object *o = gw__cart_json(r->srv, &r->who);
    if (o)
        gw__json(r, status, o);
    else
        gw__problem(r, 503, "store-unavailable", "Store unavailable", NULL);
}

void gw__h_cart(gw_req *r) { send_cart(r, 200); }

/* the line's current quantity, 0 when absent, -1 on a store error */
static int64_t line_qty(gw_server *s, const char *cid, const char *sku)
{
    store_cart c = {0};
    if (store_cart_get(s->st, cid, &c, NULL) < 0)
        return -1;
    int64_t q = 0;
    for (size_t i = 0; i < c.n_items; i++)
        if (strcmp(c.items[i].sku, sku) == 0)
            q = c.items[i].qty;
    store_cart_clear_struct(&c);
    return q;
}

/* set the line to qty after checking product and stock; sends the reply */
static void set_line(gw_req *r, const char *sku, int64_t qty, const char *action)
{
    gw_server *s = r->srv;
    char cid[128];
    gw__cart_id(&r->who, cid, sizeof cid);
    store_product p = {0};
    store_err e = {0};
    int rc = store_product_get(s->st, sku, &p, &e);
    int64_t stock = p.stock;
    if (rc < 0)
        store_product_clear(&p);
    if (rc == STORE_ENOTFOUND) {
        gw__problem(r, 404, "not-found", "No such product", NULL);
        return;
    }
    if (rc < 0) {
        gw__problem(r, 503, "store-unavailable", "Store unavailable", "%s", e.msg);
        return;
    }
    if (qty > stock) {
        gw__problem(r, 409, "insufficient-stock", "Not enough stock", "Only %" PRId64 " in stock.", stock);
        store_product_clear(&p);
        return;
    }
    /* the same rules as in the chat: cart limits, vetoes */
    json_object *act = json_object_new_object();
    json_object_object_add(act, "type", json_object_new_string(action));
    json_object_object_add(act, "sku", json_object_new_string(sku));
    json_object_object_add(act, "title", json_object_new_string(p.title ? p.title : ""));
    json_object_object_add(act, "price", json_object_new_double(p.price));
    json_object_object_add(act, "category", p.category ? json_object_new_string(p.category) : NULL);
    json_object_object_add(act, "brand", p.brand ? json_object_new_string(p.brand) : NULL);
    json_object_object_add(act, "stock", json_object_new_int64(stock));
    json_object_object_add(act, "currentQty", json_object_new_int64(line_qty(s, cid, sku)));
    json_object_object_add(act, "newQty", json_object_new_int64(qty));
    store_product_clear(&p);
    bool vetoed = gw__veto(r, action, act);
    json_object_put(act);
    if (vetoed)
        return;
    if (store_cart_set_qty(s->st, cid, sku, qty, &e) < 0) {
        gw__problem(r, 503, "store-unavailable", "Store unavailable", "%s", e.msg);
        return;
    }
    json_object *d = json_object_new_object();
    json_object_object_add(d, "sku", json_object_new_string(sku));
    json_object_object_add(d, "qty", json_object_new_int64(qty));
    json_object_object_add(d, "via", json_object_new_string("rest"));
    gw__audit(s, &r->who, action, cid, d);
    gw__cart_changed(s, cid);
    send_cart(r, 200);
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
    json_object *b;
    if (gw__body_object(r, &b) < 0)
        return;
    const char *sku = gw__jstr(b, "sku");
    int64_t qty;
    if (!gw__str_ok(sku, 127))
        gw__problem(r, 422, "validation", "Invalid field", "sku is required.");
    else if (qty_field(r, b, 1, 1, &qty) == 0) {
        char cid[128];
        gw__cart_id(&r->who, cid, sizeof cid);
        int64_t have = line_qty(r->srv, cid, sku);
        if (have < 0)
            gw__problem(r, 503, "store-unavailable", "Store unavailable", NULL);
        else if (have + qty > 999)
            gw__problem(r, 422, "validation", "Invalid field", "At most 999 of one product.");
        else
            set_line(r, sku, have + qty, "cart.add");
    }
    json_object_put(b);
}

void gw__h_cart_patch(gw_req *r)
{
    json_object *b;
    if (gw__body_object(r, &b) < 0)
        return;
    int64_t qty;
    char cid[128];
    gw__cart_id(&r->who, cid, sizeof cid);
    if (qty_field(r, b, -1, 0, &qty) == 0) {
        int64_t have = line_qty(r->srv, cid, r->params[0]);
        if (have < 0)
            gw__problem(r, 503, "store-unavailable", "Store unavailable", NULL);
        else if (have == 0)
            gw__problem(r, 404, "not-found", "Not in the cart", NULL);
        else
            set_line(r, r->params[0], qty, "cart.set");
    }
    json_object_put(b);
}

void gw__h_cart_remove(gw_req *r)
{
    char cid[128];
    gw__cart_id(&r->who, cid, sizeof cid);
    int64_t have = line_qty(r->srv, cid, r->params[0]);
    if (have < 0) {
        gw__problem(r, 503, "store-unavailable", "Store unavailable", NULL);
        return;
    }
    if (have == 0) {
        gw__problem(r, 404, "not-found", "Not in the cart", NULL);
        return;
    }
    store_cart_remove(r->srv->st, cid, r->params[0], NULL);
    json_object *d = json_object_new_object();
    json_object_object_add(d, "sku", json_object_new_string(r->params[0]));
    gw__audit(r->srv, &r->who, "cart.remove", cid, d);
    gw__cart_changed(r->srv, cid);
    gw__reply(r, 204, "text/plain", "", 0, NULL);
}

void gw__h_cart_clear(gw_req *r)
{
    char cid[128];
    gw__cart_id(&r->who, cid, sizeof cid);
    store_err e = {0};
    if (store_cart_clear(r->srv->st, cid, &e) < 0) {
        gw__problem(r, 503, "store-unavailable", "Store unavailable", "%s", e.msg);
        return;
    }
    gw__audit(r->srv, &r->who, "cart.clear", cid, NULL);
    gw__cart_changed(r->srv, cid);
    gw__reply(r, 204, "text/plain", "", 0, NULL);
}
