/* engine/tools.c — the shop's tools, declared once: name, description,
 * the JSON Schema of the arguments, who may call them, and the one check
 * of arguments against that schema.  The MCP endpoint (gateway/h_mcp.c)
 * lists and checks its tools from this table, and the assistant's own
 * model (the llm_agent stage) is offered the ones marked `agent`, so the
 * two cannot drift apart.  What each tool does is the caller's: the
 * gateway maps to its REST helpers, the agent to the turn's commerce
 * core; both end in eng_shop_* / eng__shop_do. */
#include "eng_int.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

#define SKU_ARG(d) {"sku", ENG_TOOL_STR, true, 1, 127, false, d}

static const eng_tool tools[] = {
    {"search_products", "Search products",
     "Full-text search of the catalog with optional price and category filters. Prices are what this shopper "
     "pays (finalPrice, after the shop's rules). Use get_product for details.",
     ENG_TOOL_ANYONE, true, false, true, true,
     {{"query", ENG_TOOL_STR, true, 1, 200, false, "What the shopper is looking for, in their words"},
      {"minPrice", ENG_TOOL_NUM, false, 0, 1e9, false, "Lowest price"},
      {"maxPrice", ENG_TOOL_NUM, false, 0, 1e9, false, "Highest price"},
      {"category", ENG_TOOL_STR, false, 1, 120, false, "Exact category name, e.g. \"smartphones\""},
      {"limit", ENG_TOOL_INT, false, 1, 50, false, "How many results (default 10)"}}},
    {"get_product", "Product details", "One product by SKU: description, price, final price, stock, rating.",
     ENG_TOOL_ANYONE, true, false, true, true, {SKU_ARG("The product's SKU, from search_products")}},
    {"compare_products", "Compare products",
     "Two to four products side by side: price, final price, rating and stock of each, and which one is the "
     "cheapest and which the best rated. Use the SKUs search_products returned.",
     ENG_TOOL_ANYONE, true, false, true, true,
     {{"skus", ENG_TOOL_STRS, true, 2, 4, false, "The SKUs to compare, 2 to 4 different ones"}}},
    {"view_cart", "View cart", "The shopper's cart, priced: lines, discounts, promotion code, total.",
     ENG_TOOL_SESSION, true, false, true, true, {{0}}},
    {"add_to_cart", "Add to cart", "Add a quantity of a product to the shopper's cart (stock and shop rules apply).",
     ENG_TOOL_SESSION, false, false, false, true,
     {SKU_ARG("The product's SKU"), {"quantity", ENG_TOOL_INT, true, 1, 999, false, "How many to add"}}},
    {"update_cart_item", "Change quantity", "Set the quantity of a cart line; 0 removes it.",
     ENG_TOOL_SESSION, false, true, true, true,
     {SKU_ARG("The SKU of a line in the cart"), {"quantity", ENG_TOOL_INT, true, 0, 999, false, "The new quantity"}}},
    {"remove_from_cart", "Remove from cart", "Remove a line from the cart.",
     ENG_TOOL_SESSION, false, true, true, true, {SKU_ARG("The SKU of a line in the cart")}},
    {"apply_promo_code", "Apply promotion code", "Apply a promotion code to the cart; a refused code changes nothing.",
     ENG_TOOL_SESSION, false, false, true, true, {{"code", ENG_TOOL_STR, true, 1, 32, false, "The promotion code"}}},
    {"request_checkout", "Request checkout",
     "Price the signed-in shopper's cart for checkout and return its summary (items, delivery, the saved "
     "address and card, the total charged) and a confirmationId. Places no order: show the summary to the "
     "shopper and call confirm_checkout only after they agree. Without a delivery address and a card saved on "
     "the account it returns checkout-incomplete: what is missing and the checkout page where the shopper adds it.",
     ENG_TOOL_USER, true, false, false, true, {{0}}},
    /* the assistant's own model never confirms: the shopper's "yes" to
     * the question the core asks does (money rule) */
    {"confirm_checkout", "Confirm checkout",
     "Place the order that request_checkout summarised, paid with the shopper's saved card (exactly once per "
     "confirmationId, or per idempotencyKey when given). Refused when anything changed since: request checkout "
     "again. Never orders without a saved delivery address and card (checkout-incomplete).",
     ENG_TOOL_USER, false, false, true, false,
     {{"confirmationId", ENG_TOOL_STR, true, 1, 80, true, "The confirmationId request_checkout returned"},
      {"idempotencyKey", ENG_TOOL_STR, false, 1, 99, true, "Your own key for retries: the same key places one order"}}},
    {"request_handoff", "Hand off to a person",
     "Ask a person from the shop's support team to take over: a complaint, a problem the other tools cannot "
     "solve, or when the shopper asks for a human. Records a ticket the support team sees; tell the shopper a "
     "person will get back to them.",
     ENG_TOOL_SESSION, false, false, false, true,
     {{"reason", ENG_TOOL_STR, true, 1, 300, false, "Why the shopper needs a person, in one sentence"}}},
    {"order_status", "Order status", "One of the signed-in shopper's orders: status, lines, total.",
     ENG_TOOL_USER, true, false, true, true,
     {{"orderId", ENG_TOOL_INT, true, 1, 9007199254740991.0, false, "The order's id"}}},
    {"shop_policy", "Shop policy",
     "Answer a question about the shop (returns, refunds, shipping times and regions, payment methods, "
     "warranty, contact, opening hours) with the shop's own text, quoted from its policies.",
     ENG_TOOL_ANYONE, true, false, true, true,
     {{"question", ENG_TOOL_STR, true, 1, 500, false, "The shopper's question, in their words"}}},
};
#define NTOOLS (sizeof tools / sizeof *tools)

const eng_tool *eng_tools(size_t *n)
{
    if (n)
        *n = NTOOLS;
    return tools;
}

const eng_tool *eng_tool_find(const char *name)
{
    for (size_t i = 0; name && i < NTOOLS; i++)
        if (strcmp(tools[i].name, name) == 0)
            return &tools[i];
    return NULL;
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

const char *eng_tool_check_args(const eng_tool *t, json_object *args, char *buf, size_t n)
{
    if (!t || !buf || !n)
        return "no tool";
    if (!json_object_is_type(args, json_type_object)) {
        snprintf(buf, n, "the arguments must be a JSON object");
        return buf;
    }
    json_object_object_foreach(args, key, val) {
        (void)val;
        const eng_tool_arg *a = t->args;
        while (a->name && strcmp(a->name, key) != 0)
            a++;
        if (!a->name) {
            snprintf(buf, n, "unknown argument \"%.64s\" (%s takes only the arguments its inputSchema lists)", key,
                     t->name);
            return buf;
        }
    }
    for (const eng_tool_arg *a = t->args; a->name; a++) {
        json_object *v;
        if (!json_object_object_get_ex(args, a->name, &v)) {
            if (a->required) {
                snprintf(buf, n, "%s is required", a->name);
                return buf;
            }
            continue;
        }
        if (a->type == ENG_TOOL_STRS) {
            size_t nv = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;
            if (!json_object_is_type(v, json_type_array) || nv < (size_t)a->lo || nv > (size_t)a->hi) {
                snprintf(buf, n, "%s must be a list of %g to %g strings", a->name, a->lo, a->hi);
                return buf;
            }
            for (size_t i = 0; i < nv; i++) {
                json_object *e = json_object_array_get_idx(v, i);
                const char *s = json_object_is_type(e, json_type_string) ? json_object_get_string(e) : NULL;
                size_t len = s ? utf8_chars(s) : 0;
                if (!s || (size_t)json_object_get_string_len(e) != strlen(s) || len < 1 || len > 127) {
                    snprintf(buf, n, "%s[%zu] must be a string of 1 to 127 characters", a->name, i);
                    return buf;
                }
                for (size_t j = 0; j < i; j++)
                    if (strcmp(s, json_object_get_string(json_object_array_get_idx(v, j))) == 0) {
                        snprintf(buf, n, "%s[%zu] repeats \"%.64s\": name each product once", a->name, i, s);
                        return buf;
                    }
            }
        } else if (a->type == ENG_TOOL_STR) {
            const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
            if (!s || (size_t)json_object_get_string_len(v) != strlen(s)) {
                snprintf(buf, n, "%s must be a string", a->name);
                return buf;
            }
            size_t len = utf8_chars(s);
            bool ok = len >= (size_t)a->lo && len <= (size_t)a->hi;
            for (const char *p = s; ok && a->printable && *p; p++)
                ok = *p > 32 && *p < 127;
            if (!ok) {
                snprintf(buf, n, "%s must be %g to %g %scharacters", a->name, a->lo, a->hi,
                         a->printable ? "printable ASCII " : "");
                return buf;
            }
        } else {
            bool isint = json_object_is_type(v, json_type_int);
            bool isnum = isint || json_object_is_type(v, json_type_double);
            double d = isint ? (double)json_object_get_int64(v) : isnum ? json_object_get_double(v) : 0;
            if (!isnum || !isfinite(d) || (a->type == ENG_TOOL_INT && d != floor(d))) {
                snprintf(buf, n, "%s must be %s", a->name, a->type == ENG_TOOL_INT ? "an integer" : "a number");
                return buf;
            }
            if (d < a->lo || d > a->hi) {
                snprintf(buf, n, "%s must be from %g to %g", a->name, a->lo, a->hi);
                return buf;
            }
        }
    }
    return NULL;
}

json_object *eng_tool_schema(const eng_tool *t)
{
    json_object *s = json_object_new_object(), *props = json_object_new_object(), *req = json_object_new_array();
    if (!s || !props || !req) {
        json_object_put(s);
        json_object_put(props);
        json_object_put(req);
        return NULL;
    }
    ENG_JADD(s, "type", json_object_new_string("object"));
    for (const eng_tool_arg *a = t->args; a->name; a++) {
        json_object *p = json_object_new_object();
        static const char *const tn[] = {"string", "integer", "number", "array"};
        ENG_JADD(p, "type", json_object_new_string(tn[a->type]));
        ENG_JADD(p, "description", json_object_new_string(a->desc));
        if (a->type == ENG_TOOL_STRS) {
            json_object *it = json_object_new_object();
            ENG_JADD(it, "type", json_object_new_string("string"));
            ENG_JADD(it, "minLength", json_object_new_int(1));
            ENG_JADD(it, "maxLength", json_object_new_int(127));
            ENG_JADD(p, "items", it);
            ENG_JADD(p, "minItems", json_object_new_int((int)a->lo));
            ENG_JADD(p, "maxItems", json_object_new_int((int)a->hi));
            ENG_JADD(p, "uniqueItems", json_object_new_boolean(1));
        } else if (a->type == ENG_TOOL_STR) {
            ENG_JADD(p, "minLength", json_object_new_int((int)a->lo));
            ENG_JADD(p, "maxLength", json_object_new_int((int)a->hi));
            if (a->printable)
                ENG_JADD(p, "pattern", json_object_new_string("^[!-~]+$"));
        } else if (a->type == ENG_TOOL_INT) {
            ENG_JADD(p, "minimum", json_object_new_int64((int64_t)a->lo));
            ENG_JADD(p, "maximum", json_object_new_int64((int64_t)a->hi));
        } else {
            ENG_JADD(p, "minimum", json_object_new_double(a->lo));
            ENG_JADD(p, "maximum", json_object_new_double(a->hi));
        }
        json_object_object_add(props, a->name, p);
        if (a->required)
            json_object_array_add(req, json_object_new_string(a->name));
    }
    ENG_JADD(s, "properties", props);
    ENG_JADD(s, "required", req);
    ENG_JADD(s, "additionalProperties", json_object_new_boolean(0));
    return s;
}

/* what the shopper pays: the rules' final price, else the list price */
static double price_of(json_object *p)
{
    json_object *v;
    if (!json_object_object_get_ex(p, "finalPrice", &v))
        v = json_object_object_get(p, "price");
    return json_object_get_double(v);
}

json_object *eng_tool_compare(json_object *products)
{
    static const char *const keep[] = {"sku", "title", "brand", "category", "price", "finalPrice", "rating",
                                       "stock", NULL};
    json_object *out = json_object_new_object(), *items = json_object_new_array();
    if (!out || !items) {
        json_object_put(out);
        json_object_put(items);
        return NULL;
    }
    json_object *cheap = NULL, *best = NULL;
    for (size_t i = 0; i < json_object_array_length(products); i++) {
        json_object *p = json_object_array_get_idx(products, i), *o = json_object_new_object(), *v;
        for (size_t k = 0; keep[k]; k++)
            if (json_object_object_get_ex(p, keep[k], &v))
                json_object_object_add(o, keep[k], json_object_get(v));
        json_object_array_add(items, o);
        if (!cheap || price_of(p) < price_of(cheap))
            cheap = p;
        if (!best || json_object_get_double(json_object_object_get(p, "rating")) >
                         json_object_get_double(json_object_object_get(best, "rating")))
            best = p;
    }
    ENG_JADD(out, "items", items);
    if (cheap)
        ENG_JADD(out, "cheapest", json_object_new_string(eng__json_str(cheap, "sku", "")));
    if (best)
        ENG_JADD(out, "bestRated", json_object_new_string(eng__json_str(best, "sku", "")));
    ENG_JADD(out, "sameProduct", json_object_new_boolean(cheap && cheap == best));
    return out;
}
