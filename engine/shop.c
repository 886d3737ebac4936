/* engine/shop.c — the commerce core: the one implementation of every
 * change to a cart, a promotion code or an order.  The chat's action
 * stage, the REST handlers and the CLI call it; none of them touches a
 * cart or an order in the store itself.
 *
 * Each change: validates its input, reads the product, puts the priced
 * cart in the turn context so that veto hooks see it, asks the vetoes of
 * every rules file of the pipeline (top level and agents'), then makes
 * the change in ONE store call that also reserves its idempotency key and
 * writes its audit row (store_cart_apply / store_order_place /
 * store_order_cancel_refund): a repeat of the key, concurrent or after a
 * crash, returns the first outcome and changes and audits nothing.  A
 * paid order's cancel writes the refund it owes in that same call, and
 * engine/refund.c gives it back exactly once.
 * Prices go through one path (eng__shop_price / eng__cart_refresh), so a
 * card, the cart and the order always agree.
 *
 * Outside a chat turn the public eng_shop_* calls build a turn frame
 * (pool and context, never run) as the rules need one. */
#include "commerce_int.h"
#include "checkout_int.h"
#include "engine/stages/agent_int.h"
#include <ctype.h>
#include <signal.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_LINE_QTY 999

/* ------------------------------------------------------------ rules
 * Every rules file of the pipeline: the top-level `rules:` first, then
 * each agent's own, in stage order. */
static void each_rules(const eng_pipeline *p, const eng_rules **out, size_t *n, size_t cap)
{
    *n = 0;
    if (!p)
        return;
    if (p->rules && *n < cap)
        out[(*n)++] = p->rules;
    for (size_t i = 0; i < p->nstages && *n < cap; i++) {
        const eng_stage *st = &p->stages[i];
        if (st->type == &eng__stage_agent) {
            const agent_opts *o = st->opts;
            if (o && o->rules)
                out[(*n)++] = o->rules;
        }
    }
}

#define RULESETS_MAX 64

int eng__shop_price(eng_turn *t, json_object *cards)
{
    const eng_rules *rs[RULESETS_MAX];
    size_t n;
    each_rules(t->p, rs, &n, RULESETS_MAX);
    return eng__rules_price_sets(rs, n, t, cards, true);
}

bool eng__shop_price_kept(const eng_pipeline *p, json_object *cards)
{
    const eng_rules *rs[RULESETS_MAX];
    size_t n;
    each_rules(p, rs, &n, RULESETS_MAX);
    return eng__rules_price_kept(rs, n, cards);
}

json_object *eng__shop_cart_act(const char *hook, const store_product *p, int64_t qty, int64_t cur, int64_t nq)
{
    /* the action as the rules see it: what, how many, and the product */
    json_object *act = json_object_new_object();
    ENG_JADD(act, "type", json_object_new_string(hook));
    ENG_JADD(act, "sku", json_object_new_string(p->sku));
    ENG_JADD(act, "title", json_object_new_string(p->title));
    ENG_JADD(act, "price", json_object_new_double(p->price));
    ENG_JADD(act, "category", p->category ? json_object_new_string(p->category) : NULL);
    ENG_JADD(act, "brand", p->brand ? json_object_new_string(p->brand) : NULL);
    ENG_JADD(act, "stock", eng__stock_json(p));
    ENG_JADD(act, "qty", json_object_new_int64(qty));
    ENG_JADD(act, "currentQty", json_object_new_int64(cur));
    ENG_JADD(act, "newQty", json_object_new_int64(nq));
    return act;
}

json_object *eng__shop_veto(eng_turn *t, const char *hook, json_object *action)
{
    const eng_rules *rs[RULESETS_MAX];
    size_t n;
    each_rules(t->p, rs, &n, RULESETS_MAX);
    /* the vetoes decide with the cart in view */
    if (!eng__json_path(t->ctx, "cart.items"))
        eng__cart_refresh(t);
    return eng__rules_veto_sets(rs, n, t, hook, action);
}

json_object *eng__shop_cart_rules(eng_turn *t, json_object *cart, const char *code, bool *known,
                                  const char **denied)
{
    const eng_rules *rs[RULESETS_MAX];
    size_t n;
    each_rules(t->p, rs, &n, RULESETS_MAX);
    return eng__rules_cart_sets(rs, n, t, cart, code, known, denied, true);
}

/* ------------------------------------------------------------ results */
void eng_shop_result_clear(eng_shop_result *r)
{
    if (!r)
        return;
    json_object_put(r->cart);
    json_object_put(r->order);
    json_object_put(r->veto);
    json_object_put(r->info);
    memset(r, 0, sizeof *r);
}

const char *eng_shop_status_name(eng_shop_status s)
{
    static const char *const names[] = {
        "ok", "rule-veto", "not-found", "not-in-cart", "insufficient-stock", "cart-empty",
        "order-not-cancellable", "validation", "promo-code-invalid", "login-required", "store-unavailable",
        "cart-changed", "payment-declined",
    };
    return (unsigned)s < sizeof names / sizeof *names ? names[s] : "unknown";
}

static int set(eng_shop_result *r, eng_shop_status s, const char *fmt, ...) ENG_PRINTF(3, 4);
static int set(eng_shop_result *r, eng_shop_status s, const char *fmt, ...)
{
    r->status = s;
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->reason, sizeof r->reason, fmt, ap);
        va_end(ap);
    }
    return 0;
}

static int from_store(eng_shop_result *r, int rc, const store_err *e)
{
    switch (rc) {
    case STORE_ENOTFOUND: return set(r, ENG_SHOP_NOT_FOUND, "not found");
    case STORE_ESTOCK: return set(r, ENG_SHOP_STOCK, "not enough stock");
    case STORE_EEMPTY: return set(r, ENG_SHOP_EMPTY, "your cart is empty");
    case STORE_ESTATE: return set(r, ENG_SHOP_STATE, "that order can no longer be cancelled");
    case STORE_EINVAL: return set(r, ENG_SHOP_INVALID, "%s", e && e->msg[0] ? e->msg : "invalid request");
    default: return set(r, ENG_SHOP_UNAVAILABLE, "the shop can't do that right now; please try again");
    }
}

/* ------------------------------------------------------------ helpers */
static void actor(eng_turn *t, char *buf, size_t n)
{
    int64_t uid = eng__user_id(t);
    if (uid)
        snprintf(buf, n, "user:%" PRId64, uid);
    else
        snprintf(buf, n, "session:%s", eng__json_str(t->ctx, "sessionId", "local"));
}

static const char *via(eng_turn *t) { return eng__json_str(t->ctx, "via", "chat"); }

static bool sku_ok(const char *sku)
{
    size_t n = sku ? strlen(sku) : 0;
    if (n == 0 || n > 127)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)sku[i] < 32)
            return false;
    return true;
}

/* Record a veto in the result and the audit trail. */
static int denied(eng_turn *t, eng_shop_result *r, const char *hook, const char *subject, json_object *veto)
{
    set(r, ENG_SHOP_DENIED, "%s", eng__json_str(veto, "deny", "not allowed"));
    snprintf(r->rule_id, sizeof r->rule_id, "%s", eng__json_str(veto, "id", ""));
    json_object *d = json_object_new_object();
    ENG_JADD(d, "hook", json_object_new_string(hook));
    ENG_JADD(d, "ruleId", json_object_get(eng__json_path(veto, "id")));
    ENG_JADD(d, "ruleVersion", json_object_get(eng__json_path(veto, "version")));
    ENG_JADD(d, "message", json_object_get(eng__json_path(veto, "deny")));
    ENG_JADD(d, "via", json_object_new_string(via(t)));
    eng__audit(t, "rule.veto", subject, d);
    json_object_put(d);
    r->veto = veto;
    return 0;
}

static void cart_after(eng_turn *t, eng_shop_result *r)
{
    json_object_object_del(t->ctx, "cart");
    if (eng__cart_refresh(t) == 0)
        r->cart = json_object_get(eng__json_path(t->ctx, "cart"));
}

/* ------------------------------------------------------------ cart */
static int cart_change(eng_turn *t, store_cart_op op, const char *sku, int64_t qty, const char *key,
                       eng_shop_result *r)
{
    static const char *const hooks[] = {NULL, "cart.add", "cart.set", "cart.remove", "cart.clear"};
    const char *hook = hooks[op];
    store *s = eng__store(t);
    char cid[160], who[200];
    eng__cart_id(t, cid, sizeof cid);
    actor(t, who, sizeof who);
    if (op != STORE_CART_CLEAR && !sku_ok(sku))
        return set(r, ENG_SHOP_INVALID, "which product? (a sku is required)");
    if (op == STORE_CART_ADD && (qty < 1 || qty > MAX_LINE_QTY))
        return set(r, ENG_SHOP_INVALID, "the quantity must be from 1 to %d", MAX_LINE_QTY);
    if (op == STORE_CART_SET && (qty < 0 || qty > MAX_LINE_QTY))
        return set(r, ENG_SHOP_INVALID, "the quantity must be from 0 to %d", MAX_LINE_QTY);
    if (op == STORE_CART_SET && qty == 0)
        op = STORE_CART_REMOVE;
    /* the vetoes see the priced cart: the one this turn read (the context
     * stage's, or the last change's own read) while nothing else changed
     * it since, else read now.  Either way the store checks stock and caps
     * again inside the change's transaction. */
    json_object *have = eng__json_path(t->ctx, "cart");
    if (!have || have != t->cart_read || strcmp(eng__json_str(have, "id", ""), cid) != 0) {
        json_object_object_del(t->ctx, "cart");
        if (eng__cart_refresh(t) < 0)
            return set(r, ENG_SHOP_UNAVAILABLE, "the cart is not available right now");
    }

    json_object *act = json_object_new_object();
    ENG_JADD(act, "type", json_object_new_string(hook));
    if (op != STORE_CART_CLEAR) {
        int64_t cur = eng__cart_line_qty(t, sku);
        if ((op == STORE_CART_SET || op == STORE_CART_REMOVE) && cur == 0) {
            json_object_put(act);
            r->cart = json_object_get(eng__json_path(t->ctx, "cart"));
            return set(r, ENG_SHOP_NOT_IN_CART, "that product is not in your cart");
        }
        store_product p = {0};
        store_err e = {0};
        int rc = eng__product_get(t, sku, &p, &e);
        if (rc < 0) {
            json_object_put(act);
            store_product_clear(&p);
            if (rc == STORE_ENOTFOUND && op != STORE_CART_REMOVE)
                return set(r, ENG_SHOP_NOT_FOUND, "there is no such product");
            if (rc != STORE_ENOTFOUND)
                return from_store(r, rc, &e);
            act = json_object_new_object();
            ENG_JADD(act, "type", json_object_new_string(hook));
            ENG_JADD(act, "sku", json_object_new_string(sku));
        } else {
            int64_t nq = op == STORE_CART_ADD ? cur + qty : op == STORE_CART_SET ? qty : 0;
            if (p.price_missing && nq > 0) {
                json_object_put(act);
                set(r, ENG_SHOP_INVALID, "%s has no price yet, so it can't be ordered; ask us for a quote", p.title);
                store_product_clear(&p);
                return 0;
            }
            if (nq > MAX_LINE_QTY) {
                json_object_put(act);
                store_product_clear(&p);
                return set(r, ENG_SHOP_INVALID, "at most %d of one product", MAX_LINE_QTY);
            }
            json_object_put(act);
            act = eng__shop_cart_act(hook, &p, op == STORE_CART_REMOVE ? cur : qty, cur, nq);
            store_product_clear(&p);
        }
    }
    json_object *veto = eng__shop_veto(t, hook, act);
    if (veto) {
        json_object_put(act);
        r->cart = json_object_get(eng__json_path(t->ctx, "cart"));
        return denied(t, r, hook, sku ? sku : cid, veto);
    }
    ENG_JADD(act, "cartId", json_object_new_string(cid));
    ENG_JADD(act, "via", json_object_new_string(via(t)));
    if (key)
        ENG_JADD(act, "key", json_object_new_string(key));
    /* a key is the caller's within its own cart: another shopper's
     * request can never replay (or block) this one */
    char full[320];
    if (key)
        snprintf(full, sizeof full, "%s|%s", cid, key);
    /* the product's name, for a refusal the shopper can read ("the
     * Samsung Galaxy S7 is out of stock") */
    char title[160] = "";
    snprintf(title, sizeof title, "%s", eng__json_str(act, "title", ""));
    char *act_js = eng__json_print(act, JSON_C_TO_STRING_PLAIN, NULL);
    store_audit_rec au = {who, hook, cid, act_js};
    store_cart now = {0};
    store_cart_change ch = {cid, op, sku, qty, MAX_LINE_QTY, key ? full : NULL, &au, &now};
    store_cart_outcome out = {0};
    store_err e = {0};
    int rc = store_cart_apply(s, &ch, &out, &e);
    free(act_js);
    json_object_put(act);
    if (rc == 0 && out.cart_read) {
        /* the change read the cart it left: no second read */
        eng__cart_set(t, &now);
        store_cart_clear_struct(&now);
        r->replayed = out.replayed;
        r->qty = out.qty;
        r->cart = json_object_get(eng__json_path(t->ctx, "cart"));
        return set(r, ENG_SHOP_OK, NULL);
    }
    store_cart_clear_struct(&now);
    if (rc == STORE_ESTOCK) {
        cart_after(t, r);
        if (out.stock <= 0)
            return title[0] ? set(r, ENG_SHOP_STOCK, "the %s is out of stock", title)
                            : set(r, ENG_SHOP_STOCK, "it is out of stock");
        return title[0] ? set(r, ENG_SHOP_STOCK, "only %" PRId64 " of the %s in stock", out.stock, title)
                        : set(r, ENG_SHOP_STOCK, "only %" PRId64 " in stock", out.stock);
    }
    if (rc == STORE_ENOTFOUND) {
        cart_after(t, r);
        return set(r, op == STORE_CART_REMOVE ? ENG_SHOP_NOT_IN_CART : ENG_SHOP_NOT_FOUND,
                   op == STORE_CART_REMOVE ? "that product is not in your cart" : "there is no such product");
    }
    if (rc < 0) {
        eng__cart_stale(t);
        return from_store(r, rc, &e);
    }
    r->replayed = out.replayed;
    r->qty = out.qty;
    cart_after(t, r);
    return set(r, ENG_SHOP_OK, NULL);
}

/* ------------------------------------------------------------ promo */
static bool code_ok(const char *code)
{
    size_t n = code ? strlen(code) : 0;
    if (n < 2 || n > 32)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)code[i]) && code[i] != '-' && code[i] != '_')
            return false;
    return true;
}

/* One code at a time (the shop's promotions do not stack): a valid new
 * code replaces the one before; an unknown or refused code changes
 * nothing. */
static int promo_apply(eng_turn *t, const char *code_in, eng_shop_result *r)
{
    if (!code_ok(code_in))
        return set(r, ENG_SHOP_INVALID, "a promotion code is 2 to 32 letters, digits, '-' or '_'");
    char code[40];
    size_t n = strlen(code_in);
    for (size_t i = 0; i <= n; i++)
        code[i] = (char)toupper((unsigned char)code_in[i]);
    json_object *sess = eng__session(t);
    json_object *prev = json_object_get(eng__json_path(sess, "promoCode"));
    ENG_JADD(sess, "promoCode", json_object_new_string(code));
    json_object_object_del(t->ctx, "cart");
    if (eng__cart_refresh(t) < 0) {
        ENG_JADD(sess, "promoCode", prev);
        return set(r, ENG_SHOP_UNAVAILABLE, "the cart is not available right now");
    }
    bool valid = json_object_get_boolean(eng__json_path(t->ctx, "cart.promoValid"));
    const char *why = eng__json_str(t->ctx, "cart.promoDenied", NULL);
    char reason[256];
    if (why)
        snprintf(reason, sizeof reason, "%s", why);
    else
        snprintf(reason, sizeof reason, "no promotion has the code %s", code);
    if (!valid) {
        /* the code that was there stays */
        if (prev)
            ENG_JADD(sess, "promoCode", prev);
        else
            json_object_object_del(sess, "promoCode");
        cart_after(t, r);
        eng__audit(t, "promo.rejected", code, NULL);
        if (why)   /* a rule knows the code and declined this cart */
            snprintf(r->rule_id, sizeof r->rule_id, "%s", code);
        return set(r, ENG_SHOP_CODE_INVALID, "%s", reason);
    }
    json_object_put(prev);
    r->cart = json_object_get(eng__json_path(t->ctx, "cart"));
    eng__audit(t, "promo.applied", code, NULL);
    return set(r, ENG_SHOP_OK, NULL);
}

static int promo_remove(eng_turn *t, const char *code, eng_shop_result *r)
{
    json_object *sess = eng__session(t);
    const char *have = eng__json_str(sess, "promoCode", NULL);
    if (!have || (code && *code && strcasecmp(have, code) != 0)) {
        cart_after(t, r);
        return set(r, ENG_SHOP_NOT_FOUND, "that code is not applied");
    }
    eng__audit(t, "promo.removed", have, NULL);
    json_object_object_del(sess, "promoCode");
    cart_after(t, r);
    return set(r, ENG_SHOP_OK, NULL);
}

/* ------------------------------------------------------------ orders */
static json_object *money(double v)
{
    if (!isfinite(v))
        v = 0;
    return json_object_new_double(round(v * 100) / 100);
}

json_object *eng__order_json(const store_order *o)
{
    json_object *j = json_object_new_object(), *lines = json_object_new_array();
    ENG_JADD(j, "id", json_object_new_int64(o->id));
    ENG_JADD(j, "status", json_object_new_string(o->status));
    ENG_JADD(j, "total", money(o->total));
    ENG_JADD(j, "createdAt", json_object_new_int64(o->created_at));
    ENG_JADD(j, "idempotencyKey", json_object_new_string(o->idempotency_key));
    int64_t count = 0;
    for (size_t i = 0; i < o->n_lines; i++) {
        json_object *l = json_object_new_object();
        ENG_JADD(l, "sku", json_object_new_string(o->lines[i].sku));
        ENG_JADD(l, "title", json_object_new_string(o->lines[i].title));
        ENG_JADD(l, "qty", json_object_new_int64(o->lines[i].qty));
        ENG_JADD(l, "unitPrice", money(o->lines[i].unit_price));
        json_object_array_add(lines, l);
        count += o->lines[i].qty;
    }
    ENG_JADD(j, "lines", lines);
    ENG_JADD(j, "count", json_object_new_int64(count));
    /* what the shopper agreed to: line prices with their rule ids, discounts */
    json_object *pr = o->pricing_json ? json_tokener_parse(o->pricing_json) : NULL;
    if (pr) {
        ENG_JADD(j, "subtotal", json_object_get(json_object_object_get(pr, "subtotal")));
        ENG_JADD(j, "discounts", json_object_get(json_object_object_get(pr, "discounts")));
        static const char *const facts_kept[] = {"discountTotal", "goodsTotal", "currency", "delivery", "address",
                                                 "payment", "emailText", NULL};
        for (size_t i = 0; facts_kept[i]; i++) {
            json_object *v = json_object_object_get(pr, facts_kept[i]);
            if (v)
                json_object_object_add(j, facts_kept[i], json_object_get(v));
        }
        json_object *items = json_object_object_get(pr, "items");
        for (size_t i = 0; items && i < json_object_array_length(items); i++) {
            json_object *it = json_object_array_get_idx(items, i);
            const char *sku = json_object_get_string(json_object_object_get(it, "sku"));
            for (size_t k = 0; sku && k < json_object_array_length(lines); k++) {
                json_object *l = json_object_array_get_idx(lines, k);
                if (strcmp(json_object_get_string(json_object_object_get(l, "sku")), sku) == 0)
                    ENG_JADD(l, "appliedRules",
                                           json_object_get(json_object_object_get(it, "appliedRules")));
            }
        }
        json_object_put(pr);
    }
    /* what a cancel gave back, or still owes: {status, amount, reference, at} */
    json_object *rf = o->refund_json ? json_tokener_parse(o->refund_json) : NULL;
    if (rf && json_object_is_type(rf, json_type_object)) {
        json_object *shown = json_object_new_object();
        static const char *const refund_kept[] = {"status", "amount", "currency", "reference", "brand", "last4", "at",
                                                  NULL};
        for (size_t i = 0; refund_kept[i]; i++) {
            json_object *v = json_object_object_get(rf, refund_kept[i]);
            if (v)
                json_object_object_add(shown, refund_kept[i], json_object_get(v));
        }
        ENG_JADD(j, "refund", shown);
    }
    json_object_put(rf);
    return j;
}

static bool key_ok(const char *key)
{
    size_t n = key ? strlen(key) : 0;
    if (n == 0 || n > 127)
        return false;
    for (size_t i = 0; i < n; i++)
        if (key[i] <= 32 || key[i] >= 127)
            return false;
    return true;
}

/* The cart priced now is the one the shopper confirmed: the same lines
 * (SKU, quantity, final price to the cent) and the same total. */
static bool same_priced_cart(json_object *now, json_object *confirmed)
{
    json_object *a = eng__json_path(now, "items"), *b = eng__json_path(confirmed, "items");
    size_t n = a ? json_object_array_length(a) : 0;
    if (!b || json_object_array_length(b) != n)
        return false;
    if (llround(json_object_get_double(eng__json_path(now, "total")) * 100) !=
        llround(json_object_get_double(eng__json_path(confirmed, "total")) * 100))
        return false;
    for (size_t i = 0; i < n; i++) {
        json_object *x = json_object_array_get_idx(a, i);
        bool found = false;
        for (size_t k = 0; k < n && !found; k++) {
            json_object *y = json_object_array_get_idx(b, k);
            found = strcmp(eng__json_str(x, "sku", ""), eng__json_str(y, "sku", "\1")) == 0 &&
                    json_object_get_int64(eng__json_path(x, "qty")) == json_object_get_int64(eng__json_path(y, "qty")) &&
                    llround(json_object_get_double(eng__json_path(x, "finalPrice")) * 100) ==
                        llround(json_object_get_double(eng__json_path(y, "finalPrice")) * 100);
        }
        if (!found)
            return false;
    }
    return true;
}

/* the account's saved address, or NULL */
static json_object *saved_address(eng_turn *t)
{
    char *js = NULL;
    store_err e = {0};
    if (store_account_get(eng__store(t), eng__user_id(t), "address", &js, &e) < 0)
        return NULL;
    json_object *a = js ? json_tokener_parse(js) : NULL;
    free(js);
    if (a && !json_object_is_type(a, json_type_object)) {
        json_object_put(a);
        a = NULL;
    }
    return a;
}

/* Reserve the checkout's key before any money moves: 0 reserved,
 * STORE_EEXIST when an earlier request with the key finished (its order
 * stands: nothing is charged again), another code when the store failed.
 * A concurrent duplicate waits for the first (at most ~10 s). */
static int reserve(store *s, const char *okey)
{
    for (int i = 0; i < 200; i++) {
        char *res = NULL;
        store_err e = {0};
        int rc = store_once_begin(s, okey, 30000, &res, &e);
        free(res);
        if (rc != STORE_EBUSY)
            return rc;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return STORE_EBUSY;
}

/* What checkout() needs besides the cart: the facts resolved and checked. */
typedef struct facts {
    json_object *address;           /* owned; NULL: none */
    const eng_delivery_opt *opt;    /* NULL: the shop has no options */
    bool pay;
    bool saved;                     /* pay with the saved card's token */
    char token[64];
    eng_card card;                  /* brand, last4 (and the number when typed) */
} facts;

/* the saved card into f (false when there is none) */
static bool use_saved_card(eng_turn *t, facts *f)
{
    json_object *sv = eng__payment_saved(eng__store(t), eng__user_id(t));
    if (!sv)
        return false;
    f->pay = f->saved = true;
    snprintf(f->token, sizeof f->token, "%s", eng__json_str(sv, "token", ""));
    snprintf(f->card.brand, sizeof f->card.brand, "%s", eng__json_str(sv, "brand", "card"));
    snprintf(f->card.last4, sizeof f->card.last4, "%s", eng__json_str(sv, "last4", ""));
    json_object_put(sv);
    return true;
}

/* The facts a checkout on the account's saved ones still lacks: a new
 * array of "address" and "payment" (empty when it can order). */
static json_object *saved_missing(eng_turn *t)
{
    json_object *miss = json_object_new_array();
    json_object *a = saved_address(t), *card = eng__payment_saved(eng__store(t), eng__user_id(t));
    if (!a || eng__address_missing(a))
        json_object_array_add(miss, json_object_new_string("address"));
    if (!card)
        json_object_array_add(miss, json_object_new_string("payment"));
    json_object_put(a);
    json_object_put(card);
    return miss;
}

/* the reason a checkout on saved facts is refused, naming what is missing */
static void missing_reason(json_object *miss, eng_shop_result *r)
{
    size_t n = json_object_array_length(miss);
    bool addr = false, pay = false;
    for (size_t i = 0; i < n; i++) {
        const char *m = json_object_get_string(json_object_array_get_idx(miss, i));
        addr |= strcmp(m, "address") == 0;
        pay |= strcmp(m, "payment") == 0;
    }
    snprintf(r->field, sizeof r->field, "%s", addr ? "address" : "payment");
    set(r, ENG_SHOP_INVALID, "%s: nothing was ordered or charged. Add %s on the checkout page, then check out again",
        addr && pay ? "a delivery address and a payment card are needed"
        : addr      ? "a delivery address is needed"
                    : "a payment card is needed",
        addr && pay ? "them" : "it");
    json_object_put(r->info);
    r->info = json_object_new_object();
    ENG_JADD(r->info, "missing", json_object_get(miss));
}

static bool saved_facts(const eng_checkout *co)
{
    return !co->address && co->payment && json_object_get_boolean(json_object_object_get(co->payment, "saved"));
}

static int resolve_facts(eng_turn *t, const eng_checkout *co, facts *f, eng_shop_result *r)
{
    const eng_checkout_cfg *cfg = eng__checkout_cfg(t->p);
    memset(f, 0, sizeof *f);
    if (saved_facts(co)) {
        /* the chat's and MCP's checkout: both facts on the account, or no
         * order -- every missing one named, before anything is charged */
        json_object *miss = saved_missing(t);
        bool ok = json_object_array_length(miss) == 0;
        if (!ok)
            missing_reason(miss, r);
        json_object_put(miss);
        if (!ok)
            return -1;
    }
    if (co->address) {
        f->address = eng__address_clean(co->address, r->field, sizeof r->field, r->reason, sizeof r->reason);
        if (!f->address)
            return set(r, ENG_SHOP_INVALID, NULL), -1;
    } else {
        f->address = saved_address(t);
    }
    if (!f->address) {
        snprintf(r->field, sizeof r->field, "address");
        return set(r, ENG_SHOP_INVALID, "a delivery address is needed (name, line1, city, postalCode, country)"), -1;
    }
    /* the option asked for, or the first, and only one that delivers
     * where the address is: never another option's price */
    if (eng__delivery_choose(cfg, eng__json_str(f->address, "country", NULL), co->delivery, &f->opt, r->field,
                             sizeof r->field, r->reason, sizeof r->reason) < 0) {
        set(r, ENG_SHOP_INVALID, NULL);
        goto bad;
    }
    f->pay = co->payment || co->require_payment;
    bool want_saved = json_object_get_boolean(json_object_object_get(co->payment, "saved"));
    json_object *tok = json_object_object_get(co->payment, "token");
    if (tok) {
        /* a token the provider made for a delegated card: the provider
         * knows whether it is good; brand and last 4 are for the order */
        const char *ts = json_object_is_type(tok, json_type_string) ? json_object_get_string(tok) : "";
        if (!*ts || strlen(ts) >= sizeof f->token) {
            snprintf(r->field, sizeof r->field, "payment.token");
            set(r, ENG_SHOP_INVALID, "the payment token is not valid");
            goto bad;
        }
        f->pay = f->saved = true;
        snprintf(f->token, sizeof f->token, "%s", ts);
        snprintf(f->card.brand, sizeof f->card.brand, "%s", eng__json_str(co->payment, "brand", "card"));
        snprintf(f->card.last4, sizeof f->card.last4, "%s", eng__json_str(co->payment, "last4", ""));
    } else if (want_saved) {
        if (!use_saved_card(t, f)) {
            snprintf(r->field, sizeof r->field, "payment");
            set(r, ENG_SHOP_INVALID, "no card is saved: please enter one");
            goto bad;
        }
    } else if (f->pay && eng__card_check(co->payment, (int64_t)time(NULL), &f->card, r->field, sizeof r->field,
                                         r->reason, sizeof r->reason) < 0) {
        set(r, ENG_SHOP_INVALID, NULL);
        goto bad;
    }
    return 0;
bad:
    json_object_put(f->address);
    f->address = NULL;
    return -1;
}

static json_object *cents_json(int64_t c) { return json_object_new_double((double)c / 100.0); }

/* the first number of an option's days ("1-2 business days": 1); a
 * large one when it says none */
static long days_of(const eng_delivery_opt *o)
{
    const char *d = o->days ? o->days : "";
    while (*d && !isdigit((unsigned char)*d))
        d++;
    return *d ? strtol(d, NULL, 10) : 1000;
}

/* "fastest shipping please", "upgrade the delivery", "can you rush it":
 * the quickest option (fewest days; the dearer of a tie); "the cheapest
 * shipping", "regular delivery is fine": the cheapest. NULL when the
 * words name no speed, or no shipping beside a superlative. */
static const char *delivery_by_speed(eng_turn *t, const eng_checkout_cfg *cfg, const char *text)
{
    static const char *const shipping[] = {"shipping", "delivery", "postage", "ship", "deliver", "arrive",
                                           "get it", "get them", "have it", "send it", NULL};
    static const char *const fast[] = {"fastest", "quickest", "faster", "quicker", "speedier", "sooner",
                                       "earliest", NULL};
    static const char *const rush[] = {"upgrade shipping", "upgrade the shipping", "upgrade delivery",
                                       "upgrade the delivery", "upgrade my shipping", "upgrade my delivery",
                                       "expedite", "expedited", "rush it", "rush delivery", "rush shipping",
                                       "speed it up", "speed up", NULL};
    static const char *const slow[] = {"cheapest shipping", "cheapest delivery", "cheaper shipping",
                                       "cheaper delivery", "slowest", "regular shipping", "regular delivery",
                                       "normal shipping", "normal delivery", "slower shipping", NULL};
    int want = eng__agent_has_word(text, rush) || (eng__agent_has_word(text, fast) && eng__agent_has_word(text, shipping))
                   ? 1
               : eng__agent_has_word(text, slow) ? -1
                                                 : 0;   /* 1: fastest, -1: cheapest */
    if (!want || cfg->nopts < 2)
        return NULL;
    /* among the options that go where the saved address is (all of them
     * when none is saved) */
    json_object *a = eng__user_id(t) && eng__store(t) ? saved_address(t) : NULL;
    const eng_delivery_opt *there[32];
    size_t n = eng__delivery_for(cfg, eng__json_str(a, "country", NULL), there, sizeof there / sizeof *there);
    json_object_put(a);
    const eng_delivery_opt *best = NULL;
    for (size_t i = 0; i < n; i++) {
        const eng_delivery_opt *o = there[i];
        if (!best || (want > 0 ? days_of(o) < days_of(best) ||
                                     (days_of(o) == days_of(best) && o->price_cents > best->price_cents)
                               : o->price_cents < best->price_cents))
            best = o;
    }
    return best ? best->id : NULL;
}

const char *eng__delivery_named(eng_turn *t, const char *text)
{
    const eng_checkout_cfg *cfg = eng__checkout_cfg(t->p);
    for (size_t i = 0; text && i < cfg->nopts; i++) {
        const char *id = cfg->opts[i].id;
        size_t n = strlen(id);
        for (const char *p = text; *p; p++) {
            bool starts = p == text || !isalnum((unsigned char)p[-1]);
            if (starts && strncasecmp(p, id, n) == 0 && !isalnum((unsigned char)p[n]))
                return id;
        }
    }
    return text ? delivery_by_speed(t, cfg, text) : NULL;
}

json_object *eng__checkout_quote(eng_turn *t, const char *delivery)
{
    const eng_checkout_cfg *cfg = eng__checkout_cfg(t->p);
    int64_t goods = llround(json_object_get_double(eng__json_path(t->ctx, "cart.total")) * 100);
    json_object *q = json_object_new_object();
    json_object *a = eng__user_id(t) && eng__store(t) ? saved_address(t) : NULL;
    const char *cc = eng__json_str(a, "country", NULL);
    /* the option asked for where it delivers to the saved address; else
     * the reason, and the first one that does (what "yes" would order:
     * the chat asks with the option it shows) */
    const eng_delivery_opt *opt = NULL;
    char field[64], why[300];
    if (eng__delivery_choose(cfg, cc, delivery, &opt, field, sizeof field, why, sizeof why) < 0) {
        ENG_JADD(q, "deliveryProblem", json_object_new_string(why));
        if (strcmp(field, "delivery") == 0)
            eng__delivery_choose(cfg, cc, NULL, &opt, field, sizeof field, why, sizeof why);
    }
    if (opt)
        ENG_JADD(q, "delivery", eng__delivery_json(opt, goods));
    if (a)
        ENG_JADD(q, "address", a);
    json_object *card = eng__store(t) ? eng__payment_saved(eng__store(t), eng__user_id(t)) : NULL;
    if (card) {
        json_object *shown = json_object_new_object();
        ENG_JADD(shown, "brand", json_object_get(json_object_object_get(card, "brand")));
        ENG_JADD(shown, "last4", json_object_get(json_object_object_get(card, "last4")));
        ENG_JADD(q, "payment", shown);
        json_object_put(card);
    }
    ENG_JADD(q, "goodsTotal", cents_json(goods));
    ENG_JADD(q, "total", cents_json(goods + (opt ? eng__delivery_price(opt, goods) : 0)));
    /* the other options that deliver there, so the question can say how
     * to choose one */
    const eng_delivery_opt *there[32];
    size_t n = eng__delivery_for(cfg, cc, there, sizeof there / sizeof *there);
    json_object *others = json_object_new_array();
    for (size_t i = 0; i < n; i++)
        if (there[i] != opt)
            json_object_array_add(others, eng__delivery_json(there[i], goods));
    ENG_JADD(q, "otherDelivery", others);
    return q;
}

const struct eng_delivery_opt *eng__delivery_free_hint(eng_turn *t)
{
    const eng_checkout_cfg *cfg = eng__checkout_cfg(t->p);
    json_object *a = eng__user_id(t) && eng__store(t) ? saved_address(t) : NULL;
    const eng_delivery_opt *there[32], *best = NULL;
    size_t n = eng__delivery_for(cfg, eng__json_str(a, "country", NULL), there, sizeof there / sizeof *there);
    json_object_put(a);
    for (size_t i = 0; i < n; i++)
        if (there[i]->free_over_cents >= 0 && (!best || there[i]->free_over_cents < best->free_over_cents))
            best = there[i];
    return best;
}

/* The reference of the charge an order was paid with ("" when none). */
static void order_payment_ref(const store_order *o, char *buf, size_t n)
{
    buf[0] = 0;
    json_object *pr = o->pricing_json ? json_tokener_parse(o->pricing_json) : NULL;
    snprintf(buf, n, "%s", eng__json_str(pr, "payment.reference", ""));
    json_object_put(pr);
}

/* co: the facts (never NULL: a checkout on the saved facts passes
 * {payment: {saved: true}}, see saved_checkout) */
static int checkout(eng_turn *t, const char *key, json_object *confirmed, const eng_checkout *co,
                    eng_shop_result *r)
{
    store *s = eng__store(t);
    int64_t uid = eng__user_id(t);
    if (!uid)
        return set(r, ENG_SHOP_LOGIN, "please sign in to place an order");
    if (!key_ok(key))
        return set(r, ENG_SHOP_INVALID, "an idempotency key (1-127 printable characters) is required");
    char cid[160], who[200];
    eng__cart_id(t, cid, sizeof cid);
    actor(t, who, sizeof who);
    json_object_object_del(t->ctx, "cart");
    if (eng__cart_refresh(t) < 0)
        return set(r, ENG_SHOP_UNAVAILABLE, "the cart is not available right now");
    json_object *cart = eng__json_path(t->ctx, "cart");
    if (confirmed && !same_priced_cart(cart, confirmed)) {
        r->cart = json_object_get(cart);
        return set(r, ENG_SHOP_CHANGED, "the cart changed since it was confirmed; nothing was ordered. "
                                      "Please review it and confirm again");
    }
    facts f;
    if (resolve_facts(t, co, &f, r) < 0) {
        r->cart = json_object_get(cart);
        return 0;
    }
    const eng_checkout_cfg *cfg = eng__checkout_cfg(t->p);
    json_object *pricing = NULL;
    int64_t total_cents = 0;
    if (json_object_array_length(eng__json_path(cart, "items")) > 0) {
        /* the prices the chat and the cart show, promotions and all, are
         * what the order charges; the rules may refuse it */
        pricing = json_object_new_object();
        static const char *const keep[] = {"total", "subtotal", "discounts", "discountTotal", "items", NULL};
        for (size_t i = 0; keep[i]; i++)
            json_object_object_add(pricing, keep[i], json_object_get(eng__json_path(cart, keep[i])));
        int64_t goods = llround(json_object_get_double(eng__json_path(cart, "total")) * 100);
        int64_t ship = f.opt ? eng__delivery_price(f.opt, goods) : 0;
        total_cents = goods + ship;
        ENG_JADD(pricing, "goodsTotal", cents_json(goods));
        ENG_JADD(pricing, "total", cents_json(total_cents));
        ENG_JADD(pricing, "currency", json_object_new_string(cfg->currency));
        if (f.opt)
            ENG_JADD(pricing, "delivery", eng__delivery_json(f.opt, goods));
        if (f.address)
            ENG_JADD(pricing, "address", json_object_get(f.address));
        json_object *act = json_object_get(pricing);
        ENG_JADD(act, "type", json_object_new_string("order.create"));
        ENG_JADD(act, "cartId", json_object_new_string(cid));
        ENG_JADD(act, "count", json_object_get(eng__json_path(cart, "count")));
        json_object *veto = eng__shop_veto(t, "order.create", act);
        json_object_object_del(act, "type");
        json_object_object_del(act, "cartId");
        json_object_object_del(act, "count");
        json_object_put(act);
        if (veto) {
            json_object_put(pricing);
            json_object_put(f.address);
            r->cart = json_object_get(cart);
            return denied(t, r, "order.create", "order.create", veto);
        }
    }
    /* The payment: the key is reserved first, so a duplicate (concurrent
     * or a retry) never reaches the provider again; the provider is asked
     * under the same key, so even a charge whose answer was lost in a
     * crash is the same charge the next time. An empty cart charges
     * nothing: the store replays the key's order or says it is empty. */
    const eng_pay_provider *prov = NULL;
    eng_pay_result paid = {0};
    char okey[300];
    bool reserved = false, charged = false;
    snprintf(okey, sizeof okey, "checkout:%" PRId64 ":%s", uid, key);
    if (f.pay && pricing) {
        int orc = reserve(s, okey);
        if (orc == 0) {
            reserved = true;
        } else if (orc != STORE_EEXIST) {
            json_object_put(pricing);
            json_object_put(f.address);
            r->cart = json_object_get(cart);
            return set(r, ENG_SHOP_UNAVAILABLE, "the checkout could not start right now; nothing was charged. "
                                                "Please try again");
        }
        if (reserved) {
            prov = eng_pay_find(cfg->payment);
            eng_pay_req pq = {okey, total_cents, cfg->currency, f.saved ? NULL : f.card.number, f.card.exp_month,
                              f.card.exp_year, f.card.cvc, f.saved ? f.token : NULL};
            int prc = prov ? prov->charge(prov, &pq, &paid) : ENG_EINVAL;
            eng__pay_count(prc < 0 ? ENG__PAY_ERROR : paid.approved ? ENG__PAY_APPROVED : ENG__PAY_DECLINED);
            if (prc < 0 || !paid.approved) {
                store_err e = {0};
                store_once_abort(s, okey, &e);
                json_object_put(pricing);
                json_object_put(f.address);
                r->cart = json_object_get(cart);
                if (prc < 0)
                    return set(r, ENG_SHOP_UNAVAILABLE, "the payment service did not answer; nothing was "
                                                        "charged or ordered. Please try again");
                snprintf(r->field, sizeof r->field, "payment");
                return set(r, ENG_SHOP_PAYMENT, "payment declined: %s. Nothing was charged or ordered; "
                                                "please try another card", paid.reason[0] ? paid.reason : "the card was declined");
            }
            charged = true;
        }
        json_object *pj = json_object_new_object();
        ENG_JADD(pj, "provider", json_object_new_string(cfg->payment));
        ENG_JADD(pj, "brand", json_object_new_string(f.card.brand));
        ENG_JADD(pj, "last4", json_object_new_string(f.card.last4));
        ENG_JADD(pj, "reference", json_object_new_string(paid.reference));
        ENG_JADD(pj, "amount", cents_json(total_cents));
        ENG_JADD(pj, "status", json_object_new_string("paid"));
        if (f.saved)
            ENG_JADD(pj, "saved", json_object_new_boolean(1));
        ENG_JADD(pricing, "payment", pj);
    }
    if (pricing) {
        char *mail = eng__checkout_email(cfg, pricing);
        if (mail)
            ENG_JADD(pricing, "emailText", json_object_new_string(mail));
        eng__free(mail);
    }
    /* the audit detail: what was charged and which rules priced it */
    json_object *d = json_object_new_object();
    ENG_JADD(d, "total", pricing ? json_object_get(eng__json_path(pricing, "total"))
                                               : json_object_get(eng__json_path(cart, "total")));
    ENG_JADD(d, "discounts", json_object_get(eng__json_path(cart, "discounts")));
    json_object *rules = json_object_new_array();
    json_object *items = eng__json_path(cart, "items");
    for (size_t i = 0; items && i < json_object_array_length(items); i++) {
        json_object *ap = eng__json_path(json_object_array_get_idx(items, i), "appliedRules");
        for (size_t k = 0; ap && k < json_object_array_length(ap); k++)
            json_object_array_add(rules, json_object_get(json_object_array_get_idx(ap, k)));
    }
    ENG_JADD(d, "appliedRules", rules);
    ENG_JADD(d, "via", json_object_new_string(via(t)));
    ENG_JADD(d, "key", json_object_new_string(key));
    if (f.opt)
        ENG_JADD(d, "delivery", json_object_new_string(f.opt->id));
    if (charged)
        ENG_JADD(d, "payment", json_object_new_string(paid.reference));
    store_audit_rec au = {who, "order.create", NULL, json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN)};
    store_order_req req = {uid, cid, key,
                           pricing ? json_object_to_json_string_ext(pricing, JSON_C_TO_STRING_PLAIN) : NULL, &au};
    store_order o = {0};
    store_err e = {0};
    int rc = store_order_place(s, &req, &o, &e);
    eng__products_forget(t);   /* stock changed: the turn's copies are old */
    json_object_put(pricing);
    json_object_put(d);
    if (rc < 0) {
        /* nothing was ordered: the charge goes back, the key is free again */
        if (charged)
            eng__pay_refund(prov, paid.reference, total_cents);
        if (reserved) {
            store_err ae = {0};
            store_once_abort(s, okey, &ae);
        }
        json_object_put(f.address);
        store_order_clear(&o);
        r->cart = json_object_get(cart);
        if (rc == STORE_ESTOCK)
            return set(r, ENG_SHOP_STOCK, "%s", e.msg[0] ? e.msg : "not enough stock for an item in the cart");
        if (rc == STORE_ESTATE)   /* another request changed the cart while this one priced it */
            return set(r, ENG_SHOP_CHANGED, "your cart changed while the order was being placed; nothing was "
                                          "charged. Please check your cart and confirm again");
        return from_store(r, rc, &e);
    }
    if (charged && o.replayed) {
        /* the key's order was placed by another request: keep its charge */
        char ref[64];
        order_payment_ref(&o, ref, sizeof ref);
        if (strcmp(ref, paid.reference) != 0)
            eng__pay_refund(prov, paid.reference, total_cents);
    }
    if (reserved) {
        char res[32];
        store_err fe = {0};
        snprintf(res, sizeof res, "%" PRId64, o.id);
        store_once_finish(s, okey, res, 7 * 24 * 3600, &fe);
    }
    if (co && co->save_payment && charged && !f.saved && !o.replayed) {
        /* the shopper asked to keep the card: with the provider, never here */
        eng_pay_result kept;
        eng__payment_keep(s, uid, cfg, &f.card, &kept);
    }
    if (co && co->save_address && co->address && f.address && !o.replayed) {
        store_err ae = {0};
        store_account_put(s, uid, "address", json_object_to_json_string_ext(f.address, JSON_C_TO_STRING_PLAIN), &ae);
    }
    json_object_put(f.address);
    r->replayed = o.replayed;
    r->order = eng__order_json(&o);
    store_order_clear(&o);
    /* the code was used by this order: the next cart starts without it
     * (a welcome code does not discount every later order unasked) */
    json_object_object_del(eng__session(t), "promoCode");
    cart_after(t, r);
    return set(r, ENG_SHOP_OK, NULL);
}

/* The shopper's own order; someone else's looks exactly like a missing one. */
static int own_order(eng_turn *t, int64_t id, store_order *o, eng_shop_result *r)
{
    store_err e = {0};
    int rc = id > 0 ? store_order_get(eng__store(t), id, o, &e) : STORE_ENOTFOUND;
    if (rc == 0 && o->user_id != eng__user_id(t))
        rc = STORE_ENOTFOUND;
    if (rc < 0) {
        store_order_clear(o);
        if (rc == STORE_ENOTFOUND)
            return set(r, ENG_SHOP_NOT_FOUND, "there is no such order"), -1;
        return from_store(r, rc, &e), -1;
    }
    return 0;
}

/* A cancelled order's refund still pending, settled now (a crash, a
 * provider that failed, a concurrent cancel that won); a refund another
 * caller is settling is waited for, at most ~5 s. */
static void settle_owed(store *s, int64_t id)
{
    for (int i = 0; i < 100; i++) {
        store_order o = {0};
        store_err e = {0};
        if (store_order_get(s, id, &o, &e) < 0)
            return;
        json_object *rf = o.refund_json ? json_tokener_parse(o.refund_json) : NULL;
        bool owed = strcmp(eng__json_str(rf, "status", ""), "pending") == 0;
        json_object_put(rf);
        store_order_clear(&o);
        if (!owed || eng__refund_settle(s, id) != 1)
            return;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* AISLE_TEST_HOOKS=1 AISLE_TEST_CRASH_BEFORE_REFUND=1: the process is
 * killed (SIGKILL) right after the cancel committed, before the refund:
 * the restart must give it back, once. */
static void crash_point(void)
{
    const char *th = getenv("AISLE_TEST_HOOKS"), *c = getenv("AISLE_TEST_CRASH_BEFORE_REFUND");
    if (th && strcmp(th, "1") == 0 && c && strcmp(c, "1") == 0)
        raise(SIGKILL);
}

static int cancel(eng_turn *t, int64_t id, eng_shop_result *r)
{
    int64_t uid = eng__user_id(t);
    if (!uid)
        return set(r, ENG_SHOP_LOGIN, "please sign in to manage your orders");
    store_order o = {0};
    if (own_order(t, id, &o, r) < 0)
        return 0;
    json_object *act = json_object_new_object();
    ENG_JADD(act, "type", json_object_new_string("order.cancel"));
    ENG_JADD(act, "orderId", json_object_new_int64(id));
    ENG_JADD(act, "order", eng__order_json(&o));
    /* what the cancel owes back: written with the cancel, or not at all */
    json_object *owed = eng__refund_owed(&o);
    store_order_clear(&o);
    char subj[48], who[200];
    snprintf(subj, sizeof subj, "order:%" PRId64, id);
    json_object *veto = eng__shop_veto(t, "order.cancel", act);
    json_object_put(act);
    if (veto) {
        json_object_put(owed);
        return denied(t, r, "order.cancel", subj, veto);
    }
    actor(t, who, sizeof who);
    json_object *d = json_object_new_object();
    ENG_JADD(d, "via", json_object_new_string(via(t)));
    if (owed) {
        ENG_JADD(d, "refund", json_object_get(json_object_object_get(owed, "amount")));
        ENG_JADD(d, "payment", json_object_get(json_object_object_get(owed, "reference")));
    }
    store_audit_rec au = {who, "order.cancel", subj, json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN)};
    store_err e = {0};
    int rc = store_order_cancel_refund(eng__store(t), uid, id, &au,
                                       owed ? json_object_to_json_string_ext(owed, JSON_C_TO_STRING_PLAIN) : NULL, &e);
    eng__products_forget(t);   /* stock given back: the turn's copies are old */
    json_object_put(d);
    json_object_put(owed);
    if (rc == STORE_ENOTFOUND)
        return set(r, ENG_SHOP_NOT_FOUND, "there is no such order");
    if (rc == STORE_ESTATE)   /* cancelled before: a refund it still owes is given back, once */
        settle_owed(eng__store(t), id);
    if (rc < 0)
        return from_store(r, rc, &e);
    if (owed) {
        crash_point();
        settle_owed(eng__store(t), id);
    }
    if (own_order(t, id, &o, r) == 0) {
        r->order = eng__order_json(&o);
        store_order_clear(&o);
    }
    return set(r, ENG_SHOP_OK, NULL);
}

/* The checkout without facts in the request -- the chat's "yes", MCP's
 * confirm_checkout, eng_shop_checkout: the account's saved address and
 * saved card, both required (INVALID, r->info.missing, nothing charged
 * or ordered otherwise), exactly as the checkout page's "use saved".
 * `delivery`: an option id, NULL for the first. */
static int saved_checkout(eng_turn *t, const char *key, json_object *confirmed, const char *delivery,
                          eng_shop_result *r)
{
    json_object *saved = json_object_new_object();
    ENG_JADD(saved, "saved", json_object_new_boolean(1));
    eng_checkout co = {.delivery = delivery, .payment = saved, .require_payment = true};
    int rc = checkout(t, key, confirmed, &co, r);
    json_object_put(saved);
    return rc;
}

/* ------------------------------------------------------------ dispatch */
int eng__shop_do(eng_turn *t, json_object *a, eng_shop_result *r)
{
    memset(r, 0, sizeof *r);
    if (!eng__store(t))
        return set(r, ENG_SHOP_UNAVAILABLE, "the shop has no store configured");
    /* the message's changes belong to one attempt at it (eng_converse) */
    if (eng__turn_claim(t) != 0)
        return set(r, ENG_SHOP_UNAVAILABLE, "this message is being answered by another request");
    const char *type = eng__json_str(a, "type", "");
    const char *sku = eng__json_str(a, "sku", NULL);
    const char *key = eng__json_str(a, "key", NULL);
    int64_t qty = json_object_get_int64(eng__json_path(a, "qty"));
    /* an order, a cancel, a code: the cart this turn read may be stale
     * after them; a cart change keeps it current itself (cart_change) */
    if (strncmp(type, "cart.", 5) != 0)
        eng__cart_stale(t);
    if (strcmp(type, "cart.add") == 0)
        return cart_change(t, STORE_CART_ADD, sku, qty, key, r);
    if (strcmp(type, "cart.set") == 0)
        return cart_change(t, STORE_CART_SET, sku, qty, key, r);
    if (strcmp(type, "cart.remove") == 0)
        return cart_change(t, STORE_CART_REMOVE, sku, 0, key, r);
    if (strcmp(type, "cart.clear") == 0)
        return cart_change(t, STORE_CART_CLEAR, NULL, 0, key, r);
    if (strcmp(type, "promo.apply") == 0)
        return promo_apply(t, eng__json_str(a, "code", NULL), r);
    if (strcmp(type, "promo.remove") == 0)
        return promo_remove(t, eng__json_str(a, "code", NULL), r);
    if (strcmp(type, "order.create") == 0)   /* the chat's order ("savedFacts": always so now) */
        return saved_checkout(t, key, eng__json_path(a, "confirmed"), eng__json_str(a, "delivery", NULL), r);
    if (strcmp(type, "order.cancel") == 0)
        return cancel(t, json_object_get_int64(eng__json_path(a, "orderId")), r);
    return set(r, ENG_SHOP_INVALID, "unknown action %s", type);
}

/* ------------------------------------------------------------ public API
 * A turn frame for the shopper: the rules need one to run. */
typedef struct frame {
    eng_turn_opts o;
    eng_deps deps;
    char uid[32];
    eng_turn *t;
} frame;

static int frame_open_as(const eng_shopper *w, frame *f, eng_shop_result *r, bool need_shopper)
{
    memset(f, 0, sizeof *f);
    memset(r, 0, sizeof *r);
    if (!w || !w->store || !w->pipe || (need_shopper && !w->user_id && !w->session_id))
        return ENG_EINVAL;
    f->deps.store = w->store;
    if (w->user_id)
        snprintf(f->uid, sizeof f->uid, "%" PRId64, w->user_id);
    f->o.session_id = w->session_id;
    f->o.user_id = w->user_id ? f->uid : NULL;
    f->o.session = w->session;
    f->o.deps = &f->deps;
    int rc = eng__turn_new(w->pipe, "", &f->o, &f->t, NULL);
    if (rc < 0)
        return rc;
    ENG_JADD(f->t->ctx, "via", json_object_new_string(w->via ? w->via : "api"));
    if (w->cart_id)
        ENG_JADD(f->t->ctx, "cartOverride", json_object_new_string(w->cart_id));
    return 0;
}

/* A frame for a call that reads or changes the shopper's cart: it needs
 * a user or a session to name the cart. */
static int frame_open(const eng_shopper *w, frame *f, eng_shop_result *r) { return frame_open_as(w, f, r, true); }

static int frame_do(const eng_shopper *w, json_object *a, eng_shop_result *r)
{
    frame f;
    int rc = frame_open(w, &f, r);
    if (rc < 0) {
        json_object_put(a);
        return rc;
    }
    eng__shop_do(f.t, a, r);
    json_object_put(a);
    eng_turn_free(f.t);
    return 0;
}

static json_object *action(const char *type, const char *sku, int64_t qty, const char *key)
{
    json_object *a = json_object_new_object();
    ENG_JADD(a, "type", json_object_new_string(type));
    if (sku)
        ENG_JADD(a, "sku", json_object_new_string(sku));
    ENG_JADD(a, "qty", json_object_new_int64(qty));
    if (key)
        ENG_JADD(a, "key", json_object_new_string(key));
    return a;
}

int eng_shop_cart_add(const eng_shopper *w, const char *sku, int64_t qty, const char *key, eng_shop_result *r)
{
    return frame_do(w, action("cart.add", sku, qty, key), r);
}

int eng_shop_cart_set(const eng_shopper *w, const char *sku, int64_t qty, const char *key, eng_shop_result *r)
{
    return frame_do(w, action("cart.set", sku, qty, key), r);
}

int eng_shop_cart_remove(const eng_shopper *w, const char *sku, const char *key, eng_shop_result *r)
{
    return frame_do(w, action("cart.remove", sku, 0, key), r);
}

int eng_shop_cart_clear(const eng_shopper *w, const char *key, eng_shop_result *r)
{
    return frame_do(w, action("cart.clear", NULL, 0, key), r);
}

int eng_shop_checkout(const eng_shopper *w, const char *key, eng_shop_result *r)
{
    return frame_do(w, action("order.create", NULL, 0, key), r);
}

int eng_shop_checkout_confirmed(const eng_shopper *w, const char *key, json_object *confirmed,
                                eng_shop_result *r)
{
    json_object *a = action("order.create", NULL, 0, key);
    if (confirmed)
        ENG_JADD(a, "confirmed", json_object_get(confirmed));
    return frame_do(w, a, r);
}

int eng_shop_checkout_with(const eng_shopper *w, const char *key, json_object *confirmed,
                           const eng_checkout *co, eng_shop_result *r)
{
    frame f;
    int rc = frame_open(w, &f, r);
    if (rc < 0)
        return rc;
    if (!eng__store(f.t))
        set(r, ENG_SHOP_UNAVAILABLE, "the shop has no store configured");
    else if (co)
        checkout(f.t, key, confirmed, co, r);
    else
        saved_checkout(f.t, key, confirmed, NULL, r);
    eng_turn_free(f.t);
    return 0;
}

int eng_shop_checkout_quote(const eng_shopper *w, const char *delivery, eng_shop_result *r)
{
    frame f;
    int rc = frame_open(w, &f, r);
    if (rc < 0)
        return rc;
    if (!eng__store(f.t)) {
        set(r, ENG_SHOP_UNAVAILABLE, "the shop has no store configured");
    } else if (!eng__user_id(f.t)) {
        set(r, ENG_SHOP_LOGIN, "please sign in to place an order");
    } else if (eng__cart_refresh(f.t) < 0) {
        set(r, ENG_SHOP_UNAVAILABLE, "the cart is not available right now");
    } else {
        json_object *cart = eng__json_path(f.t->ctx, "cart");
        r->cart = json_object_get(cart);
        const eng_checkout_cfg *cfg = eng__checkout_cfg(f.t->p);
        if (delivery && !eng__delivery_find(cfg, delivery)) {
            snprintf(r->field, sizeof r->field, "delivery");
            set(r, ENG_SHOP_INVALID, "there is no delivery option \"%.40s\"", delivery);
        } else if (json_object_get_int64(eng__json_path(cart, "count")) <= 0) {
            set(r, ENG_SHOP_EMPTY, "the cart is empty");
        } else {
            r->info = eng__checkout_quote(f.t, delivery);
            ENG_JADD(r->info, "currency", json_object_new_string(cfg->currency));
            ENG_JADD(r->info, "missing", saved_missing(f.t));
            set(r, ENG_SHOP_OK, NULL);
        }
    }
    eng_turn_free(f.t);
    return 0;
}

int eng_shop_cancel(const eng_shopper *w, int64_t order_id, eng_shop_result *r)
{
    json_object *a = action("order.cancel", NULL, 0, NULL);
    ENG_JADD(a, "orderId", json_object_new_int64(order_id));
    return frame_do(w, a, r);
}

int eng_shop_promo_apply(const eng_shopper *w, const char *code, eng_shop_result *r)
{
    json_object *a = action("promo.apply", NULL, 0, NULL);
    ENG_JADD(a, "code", code ? json_object_new_string(code) : NULL);
    return frame_do(w, a, r);
}

int eng_shop_promo_remove(const eng_shopper *w, const char *code, eng_shop_result *r)
{
    json_object *a = action("promo.remove", NULL, 0, NULL);
    ENG_JADD(a, "code", code ? json_object_new_string(code) : NULL);
    return frame_do(w, a, r);
}

int eng_shop_price(const eng_shopper *w, json_object *products)
{
    frame f;
    eng_shop_result r;
    if (w && w->store && w->pipe && json_object_is_type(products, json_type_array) &&
        eng__shop_price_kept(w->pipe, products))
        return 0;
    int rc = frame_open_as(w, &f, &r, false);
    if (rc < 0)
        return rc;
    eng__shop_price(f.t, products);
    eng_turn_free(f.t);
    return 0;
}

int eng_shop_cart(const eng_shopper *w, eng_shop_result *r)
{
    frame f;
    int rc = frame_open(w, &f, r);
    if (rc < 0)
        return rc;
    if (eng__cart_refresh(f.t) == 0) {
        r->cart = json_object_get(eng__json_path(f.t->ctx, "cart"));
        set(r, ENG_SHOP_OK, NULL);
    } else {
        set(r, ENG_SHOP_UNAVAILABLE, "the cart is not available right now");
    }
    eng_turn_free(f.t);
    return 0;
}

int eng_shop_cart_merge(const eng_shopper *w, const char *anon_session_id, eng_shop_result *r)
{
    frame f;
    int rc = frame_open(w, &f, r);
    if (rc < 0)
        return rc;
    if (!w->user_id || !anon_session_id || !*anon_session_id) {
        eng_turn_free(f.t);
        return ENG_EINVAL;
    }
    char from[160], into[160];
    snprintf(from, sizeof from, "anon:%s", anon_session_id);
    eng__cart_id(f.t, into, sizeof into);
    store_err e = {0};
    rc = store_cart_merge(w->store, from, into, &e);
    if (rc < 0) {
        from_store(r, rc, &e);
    } else {
        json_object *d = json_object_new_object();
        ENG_JADD(d, "from", json_object_new_string(from));
        ENG_JADD(d, "via", json_object_new_string(w->via ? w->via : "api"));
        eng__audit(f.t, "cart.merge", into, d);
        json_object_put(d);
        cart_after(f.t, r);
        set(r, ENG_SHOP_OK, NULL);
    }
    eng_turn_free(f.t);
    return 0;
}

int eng_shop_order(const eng_shopper *w, int64_t order_id, eng_shop_result *r)
{
    frame f;
    int rc = frame_open(w, &f, r);
    if (rc < 0)
        return rc;
    store_order o = {0};
    if (!w->user_id) {
        set(r, ENG_SHOP_LOGIN, "please sign in to see your orders");
    } else if (own_order(f.t, order_id, &o, r) == 0) {
        r->order = eng__order_json(&o);
        store_order_clear(&o);
        set(r, ENG_SHOP_OK, NULL);
    }
    eng_turn_free(f.t);
    return 0;
}

int eng_shop_orders(const eng_shopper *w, int limit, eng_shop_result *r)
{
    memset(r, 0, sizeof *r);
    if (!w || !w->store)
        return ENG_EINVAL;
    if (!w->user_id)
        return set(r, ENG_SHOP_LOGIN, "please sign in to see your orders");
    store_order *list = NULL;
    size_t n = 0;
    store_err e = {0};
    int rc = store_order_list(w->store, w->user_id, limit > 0 ? limit : 50, &list, &n, &e);
    if (rc < 0)
        return from_store(r, rc, &e);
    json_object *items = json_object_new_array();
    for (size_t i = 0; i < n; i++)
        json_object_array_add(items, eng__order_json(&list[i]));
    store_order_list_free(list, n);
    r->order = json_object_new_object();
    ENG_JADD(r->order, "items", items);
    return set(r, ENG_SHOP_OK, NULL);
}
