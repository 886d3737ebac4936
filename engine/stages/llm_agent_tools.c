/* engine/stages/llm_agent_tools.c — the shop's tools (declared once in
 * engine/tools.c) as the assistant's own model calls them inside a turn.
 * Every change goes through the commerce core exactly as the chat's own
 * agents do: an action with the turn's idempotency key, carried out by
 * eng__shop_do (vetoes, stock, pricing, audit) and recorded on the turn by
 * eng__action_record; a hand-off is the support agent's support.handoff.  Product, review and policy text only ever leaves
 * here as data inside a tool result.  Nothing here can place an order:
 * request_checkout only marks that the core should ask the shopper. */
#include "llm_agent_int.h"
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_object *eng__agent_tool_error(const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_object *o = json_object_new_object();
    ENG_JADD(o, "error", json_object_new_string(code));
    ENG_JADD(o, "message", json_object_new_string(eng_utf8_valid(msg, strlen(msg)) ? msg : code));
    return o;
}

static double num(json_object *a, const char *k, double dflt)
{
    json_object *v;
    if (!json_object_object_get_ex(a, k, &v))
        return dflt;
    return json_object_is_type(v, json_type_int) ? (double)json_object_get_int64(v) : json_object_get_double(v);
}

static void done(agent_work *w, const char *fmt, ...) ENG_PRINTF(2, 3);
static void done(agent_work *w, const char *fmt, ...)
{
    char s[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s, sizeof s, fmt, ap);
    va_end(ap);
    if (w->done.len)
        eng__buf_adds(&w->done, " ");
    eng__buf_adds(&w->done, s);
}

static json_object *search(agent_work *w, json_object *a)
{
    store_search_query q;
    store_search_query_init(&q);
    q.text = eng__json_str(a, "query", "");
    q.category = eng__json_str(a, "category", NULL);
    q.price_min = num(a, "minPrice", -1);
    q.price_max = num(a, "maxPrice", -1);
    q.limit = (int)num(a, "limit", 10);
    store_search_result res = {0};
    store_err e = {0};
    if (store_search(eng__store(w->t), &q, &res, &e) < 0)
        return eng__agent_tool_error("store-unavailable", "The catalog is unavailable right now.");
    json_object *items = json_object_new_array();
    for (size_t i = 0; i < res.n_hits; i++)
        json_object_array_add(items, eng__card(&res.hits[i].product, false));
    eng__shop_price(w->t, items);
    /* what a hit shows the model: get_product has the rest */
    static const char *const drop[] = {"thumbnail", "appliedRules", "tags", NULL};
    json_object *cards = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(items); i++) {
        json_object *c = json_object_array_get_idx(items, i);
        json_object *copy = NULL;
        if (i < 5 && json_object_deep_copy(c, &copy, NULL) == 0)
            json_object_array_add(cards, copy);
        for (size_t k = 0; drop[k]; k++)
            json_object_object_del(c, drop[k]);
    }
    json_object_put(w->cards);
    w->cards = cards;
    json_object *out = json_object_new_object();
    ENG_JADD(out, "items", items);
    ENG_JADD(out, "total", json_object_new_int64(res.total));
    if (res.corrected)
        ENG_JADD(out, "corrected", json_object_new_string(res.corrected));
    done(w, "I found %" PRId64 " product%s for \"%.80s\".", res.total, res.total == 1 ? "" : "s", q.text);
    store_search_result_free(&res);
    return out;
}

static json_object *product(agent_work *w, json_object *a)
{
    const char *sku = eng__json_str(a, "sku", "");
    store_product p = {0};
    int rc = store_product_get(eng__store(w->t), sku, &p, NULL);
    if (rc == STORE_ENOTFOUND)
        return eng__agent_tool_error("not-found", "There is no product with SKU \"%.127s\"; search_products finds real ones.", sku);
    if (rc < 0)
        return eng__agent_tool_error("store-unavailable", "The catalog is unavailable right now.");
    json_object *arr = json_object_new_array(), *card = eng__card(&p, true);
    store_product_clear(&p);
    json_object_array_add(arr, card);
    eng__shop_price(w->t, arr);
    json_object_put(w->cards);
    w->cards = json_object_get(arr);
    json_object *out = json_object_get(card);
    json_object_put(arr);
    return out;
}

/* Two to four products side by side, priced for this shopper; an
 * invented SKU refuses the whole comparison (the model asks again). */
static json_object *compare(agent_work *w, json_object *a)
{
    json_object *skus = json_object_object_get(a, "skus"), *cards = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(skus); i++) {
        const char *sku = json_object_get_string(json_object_array_get_idx(skus, i));
        store_product p = {0};
        int rc = store_product_get(eng__store(w->t), sku, &p, NULL);
        if (rc < 0) {
            json_object_put(cards);
            return rc == STORE_ENOTFOUND
                       ? eng__agent_tool_error("not-found", "There is no product with SKU \"%.127s\"; search_products "
                                               "finds real ones.", sku)
                       : eng__agent_tool_error("store-unavailable", "The catalog is unavailable right now.");
        }
        json_object_array_add(cards, eng__card(&p, false));
        store_product_clear(&p);
    }
    eng__shop_price(w->t, cards);
    json_object *out = eng_tool_compare(cards);
    if (!out) {
        json_object_put(cards);
        return eng__agent_tool_error("store-unavailable", "Out of memory comparing the products.");
    }
    /* the shopper sees the compared products; "the second one" means them */
    json_object_put(w->cards);
    w->cards = cards;
    done(w, "I compared %zu products: the cheapest is %.127s.", json_object_array_length(cards),
         eng__json_str(out, "cheapest", ""));
    return out;
}

static json_object *cart(agent_work *w)
{
    if (eng__cart_refresh(w->t) < 0)
        return eng__agent_tool_error("store-unavailable", "The cart is unavailable right now.");
    return json_object_get(eng__json_path(w->t->ctx, "cart"));
}

/* the title of the cart's line for sku (the SKU itself when absent) */
static const char *line_title(json_object *cart, const char *sku)
{
    json_object *items = json_object_object_get(cart, "items");
    for (size_t i = 0; sku && i < json_object_array_length(items); i++) {
        json_object *it = json_object_array_get_idx(items, i);
        if (strcmp(eng__json_str(it, "sku", ""), sku) == 0)
            return eng__json_str(it, "title", sku);
    }
    return sku ? sku : "";
}

/* A cart or promotion change the shopper asked for, as the chat's own
 * agents make it: an action on the turn, carried out by the core now. */
static json_object *change(agent_work *w, const char *type, json_object *args)
{
    const char *sku = eng__json_str(args, "sku", NULL);
    json_object *p = json_object_new_object();
    if (sku)
        ENG_JADD(p, "sku", json_object_new_string(sku));
    if (json_object_object_get_ex(args, "quantity", NULL))
        ENG_JADD(p, "qty", json_object_new_int64((int64_t)num(args, "quantity", 0)));
    if (json_object_object_get_ex(args, "code", NULL))
        ENG_JADD(p, "code", json_object_new_string(eng__json_str(args, "code", "")));
    ENG_JADD(p, "type", json_object_new_string(type));
    json_object *act = eng__action_add(w->t, type, p);
    eng_shop_result r;
    bool changed = false;
    /* the audit trail says the change came through the assistant's model */
    json_object *ctx = w->t->ctx, *was = json_object_get(json_object_object_get(ctx, "via"));
    ENG_JADD(ctx, "via", json_object_new_string("llm_agent"));
    eng__shop_do(w->t, act, &r);
    if (was)
        ENG_JADD(ctx, "via", was);
    else
        json_object_object_del(ctx, "via");
    eng__action_record(w->t, act, &r, &changed);
    json_object *out;
    if (r.status == ENG_SHOP_OK) {
        w->cart_changes++;
        out = json_object_new_object();
        ENG_JADD(out, "ok", json_object_new_boolean(1));
        if (r.replayed)
            ENG_JADD(out, "replayed", json_object_new_boolean(1));
        ENG_JADD(out, "cart", json_object_get(r.cart ? r.cart : eng__json_path(w->t->ctx, "cart")));
        if (strcmp(type, "cart.add") == 0)
            done(w, "I added %" PRId64 " of the %.127s to your cart (now %" PRId64 ").",
                 (int64_t)num(args, "quantity", 0), line_title(r.cart, sku), r.qty);
        else if (strcmp(type, "promo.apply") == 0)
            done(w, "I applied the code %.32s.", eng__json_str(args, "code", ""));
        else
            done(w, "I updated your cart.");
    } else if (r.status == ENG_SHOP_NOT_FOUND) {
        out = strcmp(type, "promo.apply") == 0
                  ? eng__agent_tool_error("not-found", "%s", r.reason)
                  : eng__agent_tool_error("not-found", "There is no product with SKU \"%.127s\"; search_products finds real ones.",
                                          sku ? sku : "");
    } else {
        out = eng__agent_tool_error(eng_shop_status_name(r.status), "%s",
                                    r.reason[0] ? r.reason : eng_shop_status_name(r.status));
    }
    eng_shop_result_clear(&r);
    return out;
}

/* A person takes over: the support agent's hand-off (a support.handoff
 * action and its audit entry, which the support team reads), recorded
 * now because the model's turn ends without the action stage. */
static json_object *handoff(agent_work *w, json_object *a)
{
    eng_turn *t = w->t;
    json_object *p = json_object_new_object();
    ENG_JADD(p, "reason", json_object_new_string(eng__json_str(a, "reason", "")));
    ENG_JADD(p, "text", json_object_new_string(eng__json_str(t->ctx, "message.text", "")));
    ENG_JADD(p, "via", json_object_new_string("llm_agent"));
    json_object *act = eng__action_add(t, "support.handoff", p);
    ENG_JADD(act, "status", json_object_new_string("done"));
    const char *key = eng__json_str(act, "key", "");
    eng__audit(t, "support.handoff", key, act);
    eng__set_var(t, "handoff", json_object_new_boolean(1));
    eng__set_var(t, "ticket", json_object_new_string(key));
    done(w, "I asked a person from our support team to get back to you.");
    json_object *out = json_object_new_object();
    ENG_JADD(out, "ticket", json_object_new_string(key));
    ENG_JADD(out, "next", json_object_new_string("The support team has the ticket. Tell the shopper a person will get "
                                                 "back to them; do not promise a time or an outcome."));
    return out;
}

static json_object *order_status(agent_work *w, json_object *a)
{
    int64_t id = (int64_t)num(a, "orderId", 0);
    store_order o = {0};
    /* someone else's order looks exactly like a missing one */
    if (store_order_get(eng__store(w->t), id, &o, NULL) < 0 || o.user_id != eng__user_id(w->t)) {
        store_order_clear(&o);
        return eng__agent_tool_error("not-found", "The shopper has no order %" PRId64 ".", id);
    }
    json_object *out = eng__order_json(&o);
    store_order_clear(&o);
    return out;
}

static json_object *policy(agent_work *w, json_object *a)
{
    char *title = NULL, *text = NULL;
    int rc = eng_pipeline_knowledge_ask(w->t->p, eng__json_str(a, "question", ""), &title, &text);
    json_object *out;
    if (rc == 1) {
        out = json_object_new_object();
        ENG_JADD(out, "section", json_object_new_string(title));
        ENG_JADD(out, "answer", json_object_new_string(text));
    } else {
        out = eng__agent_tool_error("no-answer", "The shop's policies do not answer that; the shopper can ask the staff.");
    }
    free(title);
    free(text);
    return out;
}

json_object *eng__agent_tool_run(agent_work *w, const eng_tool *tool, json_object *args, bool *error)
{
    const char *n = tool->name;
    json_object *out;
    *error = false;
    if (!eng__store(w->t))
        out = eng__agent_tool_error("store-unavailable", "The shop has no catalog configured.");
    else if (tool->auth == ENG_TOOL_USER && !eng__user_id(w->t))
        out = eng__agent_tool_error("login-required", "%s needs a signed-in shopper: ask them to sign in first.", n);
    else if (strcmp(n, "search_products") == 0)
        out = search(w, args);
    else if (strcmp(n, "get_product") == 0)
        out = product(w, args);
    else if (strcmp(n, "compare_products") == 0)
        out = compare(w, args);
    else if (strcmp(n, "view_cart") == 0)
        out = cart(w);
    else if (strcmp(n, "add_to_cart") == 0)
        out = change(w, "cart.add", args);
    else if (strcmp(n, "update_cart_item") == 0)
        out = change(w, "cart.set", args);
    else if (strcmp(n, "remove_from_cart") == 0)
        out = change(w, "cart.remove", args);
    else if (strcmp(n, "apply_promo_code") == 0)
        out = change(w, "promo.apply", args);
    else if (strcmp(n, "order_status") == 0)
        out = order_status(w, args);
    else if (strcmp(n, "request_handoff") == 0)
        out = handoff(w, args);
    else if (strcmp(n, "shop_policy") == 0)
        out = policy(w, args);
    else if (strcmp(n, "request_checkout") == 0) {
        /* the core asks the shopper; only their own "yes" orders */
        w->checkout = true;
        out = json_object_new_object();
        ENG_JADD(out, "requested", json_object_new_boolean(1));
        ENG_JADD(out, "next", json_object_new_string(
            "The shop now shows the shopper the order summary and asks them to confirm. No order is placed "
            "until the shopper answers yes. Do not call more tools."));
    } else
        out = eng__agent_tool_error("unknown-tool", "The assistant cannot call %s.", n);
    *error = out && json_object_object_get_ex(out, "error", NULL);
    return out;
}
