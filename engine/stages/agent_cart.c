/* engine/stages/agent_cart.c — the cart agent: add, remove, change the
 * quantity, show and empty the cart, by reference to what was shown
 * ("the second one", "those") or by name, and promotion codes. It only
 * decides: each change becomes an action (with its idempotency key) that
 * the rules may veto and the `action` stage carries out. */
#define _GNU_SOURCE /* strcasestr */
#include "agent.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* How many words of `title` (4+ letters) appear in `text`. */
static int overlap(const char *text, const char *title)
{
    int n = 0;
    const char *p = title;
    while (*p) {
        while (*p && !isalnum((unsigned char)*p))
            p++;
        const char *w = p;
        while (*p && isalnum((unsigned char)*p))
            p++;
        size_t len = (size_t)(p - w);
        if (len >= 4) {
            char word[64];
            snprintf(word, sizeof word, "%.*s", (int)(len < 63 ? len : 63), w);
            if (strcasestr(text, word))
                n++;
        }
    }
    return n;
}

/* The index of the item of `list` whose title the message names best. */
static int by_name(const char *text, json_object *list)
{
    int best = -1, bn = 0;
    for (size_t i = 0; list && i < json_object_array_length(list); i++) {
        int n = overlap(text, eng__json_str(json_object_array_get_idx(list, i), "title", ""));
        if (n > bn) {
            bn = n;
            best = (int)i;
        }
    }
    return best;
}

static int64_t quantity(eng_turn *t, int64_t dflt)
{
    json_object *q = eng__slot(t, "quantity");
    if (q && (json_object_is_type(q, json_type_int) || json_object_is_type(q, json_type_double)))
        return json_object_get_int64(q);
    json_object *ents = eng__json_path(t->ctx, "entities");
    for (size_t i = 0; ents && i < json_object_array_length(ents); i++) {
        json_object *e = json_object_array_get_idx(ents, i);
        if (strcmp(eng__json_str(e, "type", ""), "quantity") == 0)
            return json_object_get_int64(eng__json_path(e, "value"));
    }
    return dflt;
}

/* What the message points at, among shown products or cart lines. */
static const char *target_sku(eng_turn *t, bool in_cart)
{
    const char *text = eng__json_str(t->ctx, "message.text", "");
    json_object *items = eng__json_path(t->ctx, "cart.items");
    if (in_cart) {
        int i = by_name(text, items);
        if (i >= 0)
            return eng__json_str(json_object_array_get_idx(items, (size_t)i), "sku", NULL);
    }
    const char *sku = eng__reference_sku(t);
    if (sku)
        return sku;
    json_object *shown = eng__json_path(t->ctx, "session.shown");
    int i = by_name(text, shown);
    if (i >= 0)
        return eng__json_str(json_object_array_get_idx(shown, (size_t)i), "sku", NULL);
    if (shown && json_object_array_length(shown) == 1)
        return eng__json_str(json_object_array_get_idx(shown, 0), "sku", NULL);
    if (in_cart && items && json_object_array_length(items) == 1)
        return eng__json_str(json_object_array_get_idx(items, 0), "sku", NULL);
    return NULL;
}

static int64_t qty_in_cart(eng_turn *t, const char *sku)
{
    json_object *items = eng__json_path(t->ctx, "cart.items");
    for (size_t i = 0; items && i < json_object_array_length(items); i++) {
        json_object *l = json_object_array_get_idx(items, i);
        if (strcmp(eng__json_str(l, "sku", ""), sku) == 0)
            return json_object_get_int64(eng__json_path(l, "qty"));
    }
    return 0;
}

/* Propose a cart change: the rules may veto it; else it becomes an action. */
static eng_result propose(const eng_stage *st, eng_turn *t, const agent_opts *o, const char *type,
                          const char *sku, int64_t qty)
{
    /* sku may point into the context (session.focus), which this function
     * replaces: keep a copy for the turn */
    if (sku && !(sku = eng__pool_strdup(t->pool, sku)))
        return eng__turn_fail(t, "out of memory");
    json_object *a = json_object_new_object();
    if (sku) {
        json_object_object_add(a, "sku", json_object_new_string(sku));
        store_product p = {0};
        if (store_product_get(eng__store(t), sku, &p, NULL) == 0) {
            json_object_object_add(a, "title", json_object_new_string(p.title));
            json_object_object_add(a, "price", json_object_new_double(p.price));
            json_object_object_add(a, "category", p.category ? json_object_new_string(p.category) : NULL);
            json_object_object_add(a, "brand", p.brand ? json_object_new_string(p.brand) : NULL);
            json_object_object_add(a, "stock", json_object_new_int64(p.stock));
            store_product_clear(&p);
        } else {
            json_object_put(a);
            eng__set_var(t, "needProduct", json_object_new_boolean(1));
            eng__turn_note(t, "no product %s", sku);
            return ENG_R_OK;
        }
        /* the product just named is what "those" and "it" mean next
         * ("add one more of those") */
        json_object_object_add(eng__session(t), "focus", json_object_new_string(sku));
        int64_t cur = qty_in_cart(t, sku);
        json_object_object_add(a, "currentQty", json_object_new_int64(cur));
        int64_t nq = strcmp(type, "cart.add") == 0 ? cur + qty : strcmp(type, "cart.set") == 0 ? qty : 0;
        json_object_object_add(a, "qty", json_object_new_int64(qty));
        json_object_object_add(a, "newQty", json_object_new_int64(nq));
    }
    json_object_object_add(a, "type", json_object_new_string(type));
    json_object *veto = eng__agent_veto(st, t, o, type, a);
    json_object *act = eng__action_add(t, type, a);
    if (veto) {
        json_object_object_add(act, "status", json_object_new_string("denied"));
        json_object_object_add(act, "message", json_object_get(eng__json_path(veto, "deny")));
        json_object_object_add(act, "ruleId", json_object_get(eng__json_path(veto, "id")));
        json_object_object_add(act, "ruleVersion", json_object_get(eng__json_path(veto, "version")));
        eng__set_var(t, "denied", json_object_get(eng__json_path(veto, "deny")));
        eng__audit(t, "rule.veto", sku ? sku : type, veto);
        eng__turn_note(t, "%s vetoed by %s", type, eng__json_str(veto, "id", "a rule"));
        json_object_put(veto);
        return ENG_R_OK;
    }
    eng__turn_note(t, "%s %s x%lld", type, sku ? sku : "", (long long)qty);
    return ENG_R_OK;
}

/* "use code SAVE10", "apply coupon welcome5": the token after the
 * keyword, or an upper-case token with a digit. */
static bool promo_code(const char *text, char *code, size_t n)
{
    static const char *const kw[] = {"code", "coupon", "promo", "voucher", NULL};
    for (size_t k = 0; kw[k]; k++) {
        const char *p = strcasestr(text, kw[k]);
        if (!p)
            continue;
        p += strlen(kw[k]);
        while (*p && (*p == ' ' || *p == ':' || *p == '"' || *p == '\''))
            p++;
        const char *w = p;
        while (*p && (isalnum((unsigned char)*p) || *p == '-' || *p == '_'))
            p++;
        size_t len = (size_t)(p - w);
        if (len >= 3 && len < n && strncasecmp(w, "code", 4) != 0) {
            for (size_t i = 0; i < len; i++)
                code[i] = (char)toupper((unsigned char)w[i]);
            code[len] = '\0';
            return true;
        }
    }
    for (const char *p = text; *p;) {
        while (*p && !isalnum((unsigned char)*p))
            p++;
        const char *w = p;
        bool upper = true, digit = false;
        while (*p && isalnum((unsigned char)*p)) {
            upper &= !islower((unsigned char)*p);
            digit |= isdigit((unsigned char)*p) != 0;
            p++;
        }
        size_t len = (size_t)(p - w);
        if (len >= 4 && len < n && upper && digit && !isdigit((unsigned char)w[0])) {
            memcpy(code, w, len);
            code[len] = '\0';
            return true;
        }
    }
    return false;
}

eng_result eng__agent_cart(const eng_stage *st, eng_turn *t, const agent_opts *o)
{
    if (!eng__store(t)) {
        eng__set_var(t, "noCatalog", json_object_new_boolean(1));
        eng__turn_note(t, "no store: the cart agent needs one");
        return ENG_R_DECLINED;
    }
    if (!eng__json_path(t->ctx, "cart.items"))
        eng__agent_cart_refresh(st, t);
    const char *intent = eng__agent_intent(t);
    const char *text = eng__json_str(t->ctx, "message.text", "");
    if (strcmp(intent, "add_to_cart") == 0) {
        const char *sku = target_sku(t, false);
        if (!sku) {
            eng__set_var(t, "needProduct", json_object_new_boolean(1));
            eng__turn_note(t, "which product?");
            return ENG_R_OK;
        }
        int64_t q = quantity(t, 1);
        if (q < 1 || q > 1000000) {
            eng__set_var(t, "badQuantity", json_object_new_boolean(1));
            return ENG_R_OK;
        }
        return propose(st, t, o, "cart.add", sku, q);
    }
    if (strcmp(intent, "remove_from_cart") == 0) {
        const char *sku = target_sku(t, true);
        if (!sku) {
            eng__set_var(t, "needProduct", json_object_new_boolean(1));
            return ENG_R_OK;
        }
        return propose(st, t, o, "cart.remove", sku, 0);
    }
    if (strcmp(intent, "update_quantity") == 0) {
        const char *sku = target_sku(t, true);
        int64_t q = quantity(t, -1);
        if (!sku || q < 0 || q > 1000000) {
            eng__set_var(t, sku ? "badQuantity" : "needProduct", json_object_new_boolean(1));
            return ENG_R_OK;
        }
        return propose(st, t, o, q == 0 ? "cart.remove" : "cart.set", sku, q);
    }
    if (strcmp(intent, "empty_cart") == 0)
        return propose(st, t, o, "cart.clear", NULL, 0);
    if (strcmp(intent, "apply_promo") == 0) {
        char code[64];
        if (!promo_code(text, code, sizeof code)) {
            eng__set_var(t, "needCode", json_object_new_boolean(1));
            return ENG_R_OK;
        }
        json_object_object_add(eng__session(t), "promoCode", json_object_new_string(code));
        eng__agent_cart_refresh(st, t);
        bool valid = json_object_get_boolean(eng__json_path(t->ctx, "cart.promoValid"));
        eng__set_var(t, "promoCode", json_object_new_string(code));
        eng__set_var(t, "promoValid", json_object_new_boolean(valid));
        if (!valid)
            json_object_object_del(eng__session(t), "promoCode");
        eng__audit(t, valid ? "promo.applied" : "promo.rejected", code, NULL);
        eng__turn_note(t, "promo %s %s", code, valid ? "applied" : "not valid");
        return ENG_R_OK;
    }
    /* view_cart and anything else: the cart as it is */
    eng__turn_note(t, "cart shown");
    return ENG_R_OK;
}
