/* engine/commerce.c — helpers the commerce agents share: the turn's
 * store, cart ids, product cards, the cart priced through the rules, and
 * actions whose idempotency keys come from the session and message id. */
#include "commerce_int.h"
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

store *eng__store(const eng_turn *t)
{
    return t->opts && t->opts->deps ? t->opts->deps->store : NULL;
}

int eng__turn_claim(eng_turn *t)
{
    if (!t->claim) {
        const eng_turn_opts *o = t->opts;
        t->claim = !o || !o->claim || o->claim(o->claim_ud) == 0 ? 1 : -1;
        if (t->claim < 0)
            eng__turn_note(t, "changes refused: another attempt at this message owns them");
    }
    return t->claim > 0 ? 0 : ENG_EIO;
}

int64_t eng__user_id(const eng_turn *t)
{
    const char *u = eng__json_str(t->ctx, "user.id", NULL);
    if (!u)
        return 0;
    char *end;
    long long v = strtoll(u, &end, 10);
    return *end || v <= 0 ? 0 : (int64_t)v;
}

void eng__cart_id(const eng_turn *t, char *buf, size_t n)
{
    int64_t uid = eng__user_id(t);
    const char *own = eng__json_str(t->ctx, "cartOverride", NULL);
    if (own)
        snprintf(buf, n, "%s", own);
    else if (uid)
        snprintf(buf, n, "user:%" PRId64, uid);
    else
        snprintf(buf, n, "anon:%s", eng__json_str(t->ctx, "sessionId", "local"));
}

static json_object *str_or_null(const char *s) { return s ? json_object_new_string(s) : NULL; }

/* money: rounded to cents; a price that is not a finite number shows as 0
 * rather than as garbage (the rules and the store refuse such prices) */
static json_object *money(double v) { return json_object_new_double(isfinite(v) ? round(v * 100) / 100 : 0); }

json_object *eng__stock_json(const store_product *p)
{
    return p->stock_untracked ? NULL : json_object_new_int64(p->stock);
}

json_object *eng__card(const store_product *p, bool with_detail)
{
    json_object *c = json_object_new_object();
    ENG_JADD(c, "sku", json_object_new_string(p->sku));
    ENG_JADD(c, "title", json_object_new_string(p->title));
    ENG_JADD(c, "brand", str_or_null(p->brand));
    ENG_JADD(c, "category", str_or_null(p->category));
    ENG_JADD(c, "price", money(p->price));
    ENG_JADD(c, "finalPrice", money(p->price));
    ENG_JADD(c, "rating", json_object_new_double(p->rating));
    ENG_JADD(c, "stock", eng__stock_json(p));
    ENG_JADD(c, "inStock", json_object_new_boolean(p->stock_untracked || p->stock > 0));
    if (p->price_missing)   /* shown without a price, and not sold */
        ENG_JADD(c, "priceMissing", json_object_new_boolean(1));
    /* the shop's own copy when it has one (aisle import --fetch-images) */
    ENG_JADD(c, "thumbnail", str_or_null(p->thumbnail_media ? p->thumbnail_media : p->thumbnail));
    ENG_JADD(c, "appliedRules", json_object_new_array());
    json_object *tags = json_object_new_array();
    for (size_t i = 0; i < p->n_tags; i++)
        json_object_array_add(tags, json_object_new_string(p->tags[i]));
    ENG_JADD(c, "tags", tags);
    if (with_detail) {
        ENG_JADD(c, "description", str_or_null(p->description));
        json_object *img = json_object_new_array();
        for (size_t i = 0; i < p->n_images; i++)
            json_object_array_add(img, json_object_new_string(p->images_media && p->images_media[i] ? p->images_media[i]
                                                                                                : p->images[i]));
        ENG_JADD(c, "images", img);
        /* warranty, dimensions, ...: what the listing says beyond its text */
        json_object *facts = p->facts ? json_tokener_parse(p->facts) : NULL;
        if (json_object_is_type(facts, json_type_object))
            ENG_JADD(c, "facts", facts);
        else
            json_object_put(facts);
    }
    return c;
}

int64_t eng__cart_line_qty(eng_turn *t, const char *sku)
{
    json_object *items = eng__json_path(t->ctx, "cart.items");
    for (size_t i = 0; items && i < json_object_array_length(items); i++) {
        json_object *l = json_object_array_get_idx(items, i);
        if (strcmp(eng__json_str(l, "sku", ""), sku) == 0)
            return json_object_get_int64(eng__json_path(l, "qty"));
    }
    return 0;
}

json_object *eng__session(eng_turn *t)
{
    json_object *s = eng__json_path(t->ctx, "session");
    if (!s || !json_object_is_type(s, json_type_object)) {
        s = json_object_new_object();
        ENG_JADD(t->ctx, "session", s);
    }
    return s;
}

json_object *eng__slot(eng_turn *t, const char *name)
{
    json_object *slots = eng__json_path(t->ctx, "slots");
    json_object *v;
    return slots && json_object_object_get_ex(slots, name, &v) ? v : NULL;
}

const char *eng__reference_sku(eng_turn *t)
{
    json_object *ents = eng__json_path(t->ctx, "entities");
    for (size_t i = 0; ents && i < json_object_array_length(ents); i++) {
        json_object *e = json_object_array_get_idx(ents, i);
        if (strcmp(eng__json_str(e, "type", ""), "reference") == 0) {
            const char *sku = eng__json_str(e, "sku", NULL);
            if (!sku)
                sku = eng__json_str(e, "value.sku", NULL);
            if (sku)
                return sku;
        }
    }
    return eng__json_str(t->ctx, "session.focus", NULL);
}

void eng__set_var(eng_turn *t, const char *name, json_object *v)
{
    json_object *vars = eng__json_path(t->ctx, "vars");
    if (!vars) {
        vars = json_object_new_object();
        ENG_JADD(t->ctx, "vars", vars);
    }
    json_object_object_add(vars, name, v);
}

void eng__audit(eng_turn *t, const char *action, const char *subject, json_object *detail)
{
    store *s = eng__store(t);
    if (!s || eng__turn_claim(t) != 0)
        return;
    char actor[160];
    int64_t uid = eng__user_id(t);
    if (uid)
        snprintf(actor, sizeof actor, "user:%" PRId64, uid);
    else
        snprintf(actor, sizeof actor, "session:%s", eng__json_str(t->ctx, "sessionId", "local"));
    store_audit_append(s, actor, action, subject, detail ? json_object_to_json_string(detail) : NULL, NULL);
}

json_object *eng__action_add(eng_turn *t, const char *type, json_object *params)
{
    json_object *acts = eng__json_path(t->ctx, "actions");
    if (!acts) {
        acts = json_object_new_array();
        ENG_JADD(t->ctx, "actions", acts);
    }
    json_object *a = params ? params : json_object_new_object();
    char key[256];
    snprintf(key, sizeof key, "%s:%s:%zu", eng__json_str(t->ctx, "sessionId", "local"),
             eng__json_str(t->ctx, "message.id", "m"), json_object_array_length(acts));
    ENG_JADD(a, "type", json_object_new_string(type));
    ENG_JADD(a, "key", json_object_new_string(key));
    ENG_JADD(a, "status", json_object_new_string("pending"));
    json_object_array_add(acts, a);
    return a;
}

int eng__cart_refresh(eng_turn *t)
{
    store *s = eng__store(t);
    if (!s)
        return ENG_ENOTFOUND;
    char cid[160];
    eng__cart_id(t, cid, sizeof cid);
    store_cart c = {0};
    store_err err = {0};
    if (store_cart_get(s, cid, &c, &err) < 0) {
        eng__turn_note(t, "cart unavailable: %s", err.msg);
        return ENG_EIO;
    }
    int rc = eng__cart_set(t, &c);
    store_cart_clear_struct(&c);
    return rc;
}

int eng__cart_set(eng_turn *t, const store_cart *cl)
{
    const store_cart c = *cl;
    char cid[160];
    eng__cart_id(t, cid, sizeof cid);
    json_object *items = json_object_new_array();
    int64_t count = 0;
    for (size_t i = 0; i < c.n_items; i++) {
        store_product p = {0};
        json_object *line;
        if (eng__product_get(t, c.items[i].sku, &p, NULL) == 0) {
            line = eng__card(&p, false);
            store_product_clear(&p);
        } else {
            line = json_object_new_object();
            ENG_JADD(line, "sku", json_object_new_string(c.items[i].sku));
            ENG_JADD(line, "title", json_object_new_string(c.items[i].title));
            ENG_JADD(line, "price", money(c.items[i].unit_price));
        }
        ENG_JADD(line, "qty", json_object_new_int64(c.items[i].qty));
        ENG_JADD(line, "unitPrice", money(c.items[i].unit_price));
        json_object_array_add(items, line);
        count += c.items[i].qty;
    }
    const char *code = eng__json_str(t->ctx, "session.promoCode", NULL);
    json_object *cart = json_object_new_object();
    ENG_JADD(cart, "id", json_object_new_string(cid));
    ENG_JADD(cart, "items", items);
    ENG_JADD(cart, "count", json_object_new_int64(count));
    if (json_object_array_length(items) == 0 && !code) {
        /* nothing to price and no code to judge: the rules have nothing
         * to say (most turns of a conversation start with an empty cart) */
        ENG_JADD(cart, "subtotal", money(0));
        ENG_JADD(cart, "discounts", json_object_new_array());
        ENG_JADD(cart, "discountTotal", money(0));
        ENG_JADD(cart, "total", money(0));
        ENG_JADD(t->ctx, "cart", cart);
        eng__cart_stale(t);
        t->cart_read = json_object_get(cart);
        return 0;
    }
    eng__shop_price(t, items);
    double subtotal = 0;
    for (size_t i = 0; i < json_object_array_length(items); i++) {
        json_object *l = json_object_array_get_idx(items, i);
        double fp = json_object_get_double(eng__json_path(l, "finalPrice"));
        int64_t q = json_object_get_int64(eng__json_path(l, "qty"));
        ENG_JADD(l, "lineTotal", money(fp * (double)q));
        subtotal += fp * (double)q;
    }
    ENG_JADD(cart, "subtotal", money(subtotal));
    bool known = false;
    const char *denied = NULL;
    json_object *ds = eng__shop_cart_rules(t, cart, code, &known, &denied);
    double off = 0;
    for (size_t i = 0; i < json_object_array_length(ds); i++)
        off += json_object_get_double(eng__json_path(json_object_array_get_idx(ds, i), "amount"));
    if (off > subtotal) {
        /* discounts never take more than the goods cost, and the lines
         * say what each one really took: the later lines give way ($5 off
         * a $3 cart is -$3.00; on an empty cart a code takes nothing yet) */
        double left = subtotal;
        json_object *kept = json_object_new_array();
        for (size_t i = 0; i < json_object_array_length(ds); i++) {
            json_object *d = json_object_array_get_idx(ds, i);
            double a = json_object_get_double(eng__json_path(d, "amount"));
            if (a > left)
                a = left;
            if (a <= 0)
                continue;
            left -= a;
            ENG_JADD(d, "amount", money(a));
            json_object_array_add(kept, json_object_get(d));
        }
        json_object_put(ds);
        ds = kept;
        off = subtotal;
    }
    ENG_JADD(cart, "discounts", ds);
    ENG_JADD(cart, "discountTotal", money(off));
    ENG_JADD(cart, "total", money(subtotal - off));
    if (code) {
        ENG_JADD(cart, "promoCode", json_object_new_string(code));
        ENG_JADD(cart, "promoValid", json_object_new_boolean(known && !denied));
        if (denied)
            ENG_JADD(cart, "promoDenied", json_object_new_string(denied));
    }
    ENG_JADD(t->ctx, "cart", cart);
    eng__cart_stale(t);
    t->cart_read = json_object_get(cart);
    return 0;
}

void eng__cart_stale(eng_turn *t)
{
    json_object_put(t->cart_read);
    t->cart_read = NULL;
}
