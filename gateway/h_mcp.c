/* gateway/h_mcp.c — the Model Context Protocol endpoint, so that other
 * people's AI agents can shop here: Streamable HTTP transport with plain
 * JSON answers (no SSE stream: GET /mcp is 405), one JSON-RPC message per
 * POST, sessions issued by initialize (Mcp-Session-Id, kept in the
 * ephemeral store so any instance serves them).  Tools and resources map
 * onto the same functions the REST handlers call (gw__cart_do,
 * gw__checkout, gw__product_*, eng_shop_*): pricing, stock, vetoes,
 * exactly-once and the audit trail are the commerce core's.  Bodies are
 * read and parsed by the REST helpers (gw__body_object: same limits, same
 * UTF-8 and JSON rules, 400/413 problem answers).
 *
 * A session id carries no authority (every call is authorised by its own
 * bearer token, as REST). confirm_checkout orders the confirmed quote or
 * nothing, on the account's saved address and card or not at all
 * (eng_shop_checkout_confirmed, the chat's own checkout). The shop_policy tool and the
 * shop://policies resource answer from the pipeline's knowledge file
 * (eng_pipeline_knowledge_ask).  An ACP agent partner connecting with
 * its ACP key gets ACP's MCP binding instead: the five checkout-session
 * tools over the same operations as /acp (acp_session.c). */
#include "gw_int.h"
#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* newest first; the first is answered to a client asking for one we lack */
static const char *const versions[] = {"2025-11-25", "2025-06-18", "2025-03-26"};
#define NVERSIONS (sizeof versions / sizeof *versions)
#define SESSION_TTL_S 86400
#define CONFIRM_TTL_S 900
#define PAGE 50

enum { JR_PARSE = -32700, JR_INVALID = -32600, JR_METHOD = -32601, JR_PARAMS = -32602, JR_INTERNAL = -32603,
       JR_NO_RESOURCE = -32002 };

static bool version_ok(const char *v)
{
    for (size_t i = 0; v && i < NVERSIONS; i++)
        if (strcmp(v, versions[i]) == 0)
            return true;
    return false;
}

/* ---------------------------------------------------------------------
 * Answers
 * ------------------------------------------------------------------ */
static void send_rpc(gw_req *r, int status, json_object *o, const char *headers)
{
    eng_json_tidy_doubles(o);
    const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    gw__reply(r, status, "application/json", s, strlen(s), headers);
    json_object_put(o);
}

static void rpc_result(gw_req *r, json_object *id, json_object *result, const char *headers)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "jsonrpc", json_object_new_string("2.0"));
    json_object_object_add(o, "id", json_object_get(id));
    json_object_object_add(o, "result", result);
    send_rpc(r, 200, o, headers);
}

static void rpc_error(gw_req *r, int http, json_object *id, int code, const char *fmt, ...) ENG_PRINTF(5, 6);
static void rpc_error(gw_req *r, int http, json_object *id, int code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!eng_utf8_valid(msg, strlen(msg)))
        snprintf(msg, sizeof msg, "invalid request");
    json_object *o = json_object_new_object(), *e = json_object_new_object();
    json_object_object_add(o, "jsonrpc", json_object_new_string("2.0"));
    json_object_object_add(o, "id", json_object_get(id));
    json_object_object_add(e, "code", json_object_new_int(code));
    json_object_object_add(e, "message", json_object_new_string(msg));
    json_object_object_add(o, "error", e);
    send_rpc(r, http, o, NULL);
}

/* a CallToolResult: `text` as its one text content, `data` (owned) as
 * structured content */
static json_object *tool_result(const char *text, json_object *data, bool is_error)
{
    json_object *res = json_object_new_object(), *content = json_object_new_array(), *t = json_object_new_object();
    json_object_object_add(t, "type", json_object_new_string("text"));
    json_object_object_add(t, "text", json_object_new_string(text));
    json_object_array_add(content, t);
    json_object_object_add(res, "content", content);
    json_object_object_add(res, "structuredContent", data);
    json_object_object_add(res, "isError", json_object_new_boolean(is_error));
    return res;
}

/* a tool's answer: the object as structured content and as JSON text */
static json_object *tool_ok(json_object *data)
{
    eng_json_tidy_doubles(data);
    return tool_result(json_object_to_json_string_ext(data, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
                       data, false);
}

/* a refusal the agent can read and act on: isError, with a stable code */
static json_object *tool_err(const char *code, const char *fmt, ...) ENG_PRINTF(2, 3);
static json_object *tool_err(const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!eng_utf8_valid(msg, strlen(msg)))
        snprintf(msg, sizeof msg, "refused (%s)", code);
    json_object *sc = json_object_new_object();
    json_object_object_add(sc, "error", json_object_new_string(code));
    json_object_object_add(sc, "message", json_object_new_string(msg));
    return tool_result(msg, sc, true);
}

/* the commerce core's refusal, in the words REST uses */
static json_object *shop_err(const eng_shop_result *res, const char *not_found)
{
    const char *why = res->reason[0] ? res->reason : NULL;
    switch (res->status) {
    case ENG_SHOP_NOT_FOUND:
        return tool_err("not-found", "%s", not_found);
    case ENG_SHOP_NOT_IN_CART:
        return tool_err("not-in-cart", "That product is not in the cart.");
    case ENG_SHOP_EMPTY:
        return tool_err("cart-empty", "The cart is empty: add products before checking out.");
    case ENG_SHOP_UNAVAILABLE:
        return tool_err("store-unavailable", "The shop's store is unavailable right now; try again in a moment.");
    default:
        return tool_err(eng_shop_status_name(res->status), "%s", why ? why : eng_shop_status_name(res->status));
    }
}

/* ---------------------------------------------------------------------
 * Tools: declared once in the engine (engine/tools.c: names, schemas,
 * who may call them, the argument check); this file maps each name to
 * what it does over HTTP.
 * ------------------------------------------------------------------ */
typedef json_object *(*tool_fn)(gw_req *r, json_object *args);

static const char *arg_str(json_object *a, const char *k) { return gw__jstr(a, k); }

static bool arg_num(json_object *a, const char *k, double *out)
{
    json_object *v;
    if (!json_object_object_get_ex(a, k, &v))
        return false;
    *out = json_object_is_type(v, json_type_int) ? (double)json_object_get_int64(v) : json_object_get_double(v);
    return true;
}

/* ---- catalog ---- */

/* what a search hit shows an agent; get_product has the rest */
static json_object *hit_json(json_object *p)
{
    static const char *const keep[] = {"sku", "title", "brand", "category", "price", "finalPrice",
                                       "rating", "stock", "inStock", NULL};
    json_object *o = json_object_new_object();
    for (size_t i = 0; keep[i]; i++) {
        json_object *v;
        if (json_object_object_get_ex(p, keep[i], &v))
            json_object_object_add(o, keep[i], json_object_get(v));
    }
    return o;
}

static json_object *t_search(gw_req *r, json_object *a)
{
    store_search_query q;
    store_search_query_init(&q);
    double lim = 10, lo = -1, hi = -1;
    arg_num(a, "limit", &lim);
    arg_num(a, "minPrice", &lo);
    arg_num(a, "maxPrice", &hi);
    q.text = arg_str(a, "query");
    q.category = arg_str(a, "category");
    q.price_min = lo;
    q.price_max = hi;
    q.limit = (int)lim;
    store_search_result res;
    store_err e = {0};
    json_object *items;
    if (gw__product_search(r->srv, &r->who, &q, &res, &items, &e) < 0)
        return e.code == STORE_EINVAL ? tool_err("validation", "%s", e.msg)
                                      : tool_err("store-unavailable", "The catalog is unavailable right now; try again.");
    json_object *out = json_object_new_object(), *hits = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(items); i++)
        json_object_array_add(hits, hit_json(json_object_array_get_idx(items, i)));
    json_object_put(items);
    json_object_object_add(out, "items", hits);
    json_object_object_add(out, "total", json_object_new_int64(res.total));
    if (res.corrected)
        json_object_object_add(out, "corrected", json_object_new_string(res.corrected));
    store_search_result_free(&res);
    return tool_ok(out);
}

static json_object *t_product(gw_req *r, json_object *a)
{
    const char *sku = arg_str(a, "sku");
    int rc;
    store_err e = {0};
    json_object *p = gw__product_get(r->srv, &r->who, sku, &rc, &e);
    if (rc == STORE_ENOTFOUND)
        return tool_err("not-found", "There is no product with SKU \"%.127s\"; search_products finds real ones.", sku);
    if (!p)
        return tool_err("store-unavailable", "The catalog is unavailable right now; try again.");
    return tool_ok(p);
}

/* two to four products priced for this shopper, side by side; an
 * invented SKU refuses the whole comparison */
static json_object *t_compare(gw_req *r, json_object *a)
{
    json_object *skus = json_object_object_get(a, "skus"), *products = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(skus); i++) {
        const char *sku = json_object_get_string(json_object_array_get_idx(skus, i));
        int rc;
        store_err e = {0};
        json_object *p = gw__product_get(r->srv, &r->who, sku, &rc, &e);
        if (!p) {
            json_object_put(products);
            return rc == STORE_ENOTFOUND
                       ? tool_err("not-found", "There is no product with SKU \"%.127s\"; search_products finds real ones.",
                                  sku)
                       : tool_err("store-unavailable", "The catalog is unavailable right now; try again.");
        }
        json_object_array_add(products, p);
    }
    json_object *out = eng_tool_compare(products);
    json_object_put(products);
    return out ? tool_ok(out) : tool_err("store-unavailable", "The catalog is unavailable right now; try again.");
}

/* ---- cart ---- */

static json_object *t_cart(gw_req *r, json_object *a)
{
    (void)a;
    json_object *c = gw__cart_json(r->srv, &r->who);
    return c ? tool_ok(c) : tool_err("store-unavailable", "The cart is unavailable right now; try again.");
}

static json_object *cart_change(gw_req *r, enum gw_cart_op op, const char *arg, int64_t qty)
{
    gw_shop g;
    json_object *out;
    int rc = gw__cart_do(r->srv, &r->who, "mcp", op, arg, qty, NULL, &g);
    if (rc < 0)
        out = tool_err("store-unavailable", "The cart is unavailable right now; try again.");
    else if (g.r.status != ENG_SHOP_OK)
        out = op == GW_CART_PROMO_APPLY || op == GW_CART_PROMO_REMOVE
                  ? shop_err(&g.r, "That code is not applied.")
                  : shop_err(&g.r, "There is no product with that SKU; search_products finds real ones.");
    else
        out = tool_ok(json_object_get(g.r.cart));
    gw__shop_close(&g);
    return out;
}

static json_object *t_add(gw_req *r, json_object *a)
{
    double q = 1;
    arg_num(a, "quantity", &q);
    return cart_change(r, GW_CART_ADD, arg_str(a, "sku"), (int64_t)q);
}

static json_object *t_update(gw_req *r, json_object *a)
{
    double q = 0;
    arg_num(a, "quantity", &q);
    return cart_change(r, GW_CART_SET, arg_str(a, "sku"), (int64_t)q);
}

static json_object *t_remove(gw_req *r, json_object *a) { return cart_change(r, GW_CART_REMOVE, arg_str(a, "sku"), 0); }
static json_object *t_promo(gw_req *r, json_object *a)
{
    return cart_change(r, GW_CART_PROMO_APPLY, arg_str(a, "code"), 0);
}

/* ---- checkout in two steps ----
 * request_checkout asks the commerce core for the quote a checkout on the
 * account's saved facts would order (eng_shop_checkout_quote: the cart,
 * the delivery option and its price, the saved address and card, the
 * total charged, and what is missing).  Without a saved address and a
 * saved card there is nothing to confirm: the answer says what is
 * missing and where the shopper adds it (the chat hands over to the
 * checkout page the same way).  Otherwise it answers a confirmation id
 * that names that quote: "<expiry, hex>.<HMAC of expiry, cart id, lines,
 * totals, code, delivery, address and card>" under the server's key, so
 * it needs no storage and works on any instance.  confirm_checkout
 * recomputes it from the quote as it is now: any change refuses, and
 * the order is placed by the same core call as the chat's "yes"
 * (eng_shop_checkout_confirmed: the saved facts or no order, the saved
 * card charged once under the key). */
static void mac_str(crypto_auth_hmacsha256_state *st, const char *tag, json_object *v)
{
    const char *s = v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN) : "-";
    crypto_auth_hmacsha256_update(st, (const unsigned char *)tag, strlen(tag) + 1);
    crypto_auth_hmacsha256_update(st, (const unsigned char *)s, strlen(s) + 1);
}

static int fingerprint(gw_server *s, json_object *cart, json_object *quote, int64_t expiry, char *out, size_t n)
{
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    char line[512];
    crypto_auth_hmacsha256_init(&st, s->key, s->key_len);
    int k = snprintf(line, sizeof line, "aisle-mcp-confirm-2|%" PRId64 "|%s|", expiry,
                     gw__jstr(cart, "id") ? gw__jstr(cart, "id") : "");
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)line, (size_t)k);
    json_object *items = json_object_object_get(cart, "items");
    size_t ni = json_object_is_type(items, json_type_array) ? json_object_array_length(items) : 0;
    for (size_t i = 0; i < ni; i++) {
        json_object *it = json_object_array_get_idx(items, i);
        k = snprintf(line, sizeof line, "%s\x1f%" PRId64 "\x1f%.2f\x1e", gw__jstr(it, "sku") ? gw__jstr(it, "sku") : "",
                     json_object_get_int64(json_object_object_get(it, "qty")),
                     json_object_get_double(json_object_object_get(it, "lineTotal")));
        if (k > 0 && (size_t)k < sizeof line)
            crypto_auth_hmacsha256_update(&st, (const unsigned char *)line, (size_t)k);
    }
    const char *code = gw__jstr(cart, "promoCode");
    k = snprintf(line, sizeof line, "|%.2f|%.2f|%.64s|%.2f", json_object_get_double(json_object_object_get(cart, "total")),
                 json_object_get_double(json_object_object_get(cart, "discountTotal")), code ? code : "",
                 json_object_get_double(json_object_object_get(quote, "total")));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)line, (size_t)k);
    json_object *del = json_object_object_get(quote, "delivery");
    mac_str(&st, "delivery", json_object_object_get(del, "id"));
    mac_str(&st, "address", json_object_object_get(quote, "address"));
    mac_str(&st, "payment", json_object_object_get(quote, "payment"));
    crypto_auth_hmacsha256_final(&st, mac);
    char hex[2 * 16 + 1];
    sodium_bin2hex(hex, sizeof hex, mac, 16);
    return snprintf(out, n, "%" PRIx64 ".%s", expiry, hex) < (int)n ? 0 : -1;
}

/* the quote of a checkout on the saved facts, for the caller; the result
 * in g (close it) */
static void quote_open(gw_req *r, gw_shop *g)
{
    gw__shop_open(r->srv, &r->who, g);
    g->w.via = "mcp";
    eng_shop_checkout_quote(&g->w, NULL, &g->r);
}

/* No saved address, or no saved card: nothing can be confirmed.  What is
 * missing, and where the shopper adds it: the shop's page (sign in, cart,
 * Checkout), as the chat hands over.  `quote` may be NULL. */
static json_object *incomplete(gw_req *r, json_object *missing, json_object *cart, json_object *quote)
{
    bool addr = false, pay = false;
    for (size_t i = 0; missing && i < json_object_array_length(missing); i++) {
        const char *m = json_object_get_string(json_object_array_get_idx(missing, i));
        addr |= strcmp(m, "address") == 0;
        pay |= strcmp(m, "payment") == 0;
    }
    char base[300], url[320], msg[700];
    gw__acp_base(r, base, sizeof base);
    snprintf(url, sizeof url, "%s/", base);
    snprintf(msg, sizeof msg,
             "Nothing was ordered or charged: this shopper has no %s on their account yet. The shopper adds %s "
             "on the shop's checkout page: %s (signed in, open the cart and choose Checkout; card details are "
             "entered there, never through an agent), or finishes the order there. Then call request_checkout "
             "again and confirm the new summary.",
             addr && pay ? "delivery address and no payment card" : addr ? "delivery address" : "payment card",
             addr && pay ? "them" : "it", url);
    json_object *sc = json_object_new_object();
    json_object_object_add(sc, "error", json_object_new_string("checkout-incomplete"));
    json_object_object_add(sc, "message", json_object_new_string(msg));
    json_object_object_add(sc, "missing", json_object_get(missing));
    json_object_object_add(sc, "checkoutUrl", json_object_new_string(url));
    if (quote) {
        json_object_object_add(sc, "total", json_object_get(json_object_object_get(quote, "total")));
        json_object_object_add(sc, "delivery", json_object_get(json_object_object_get(quote, "delivery")));
    }
    if (cart)
        json_object_object_add(sc, "cart", json_object_get(cart));
    eng_json_tidy_doubles(sc);
    return tool_result(msg, sc, true);
}

static json_object *quote_missing(json_object *quote)
{
    json_object *m = json_object_object_get(quote, "missing");
    return json_object_is_type(m, json_type_array) && json_object_array_length(m) > 0 ? m : NULL;
}

static json_object *t_request_checkout(gw_req *r, json_object *a)
{
    (void)a;
    gw_shop g;
    quote_open(r, &g);
    json_object *out, *q = g.r.info;
    if (g.r.status == ENG_SHOP_EMPTY) {
        out = tool_err("cart-empty", "The cart is empty: add products before checking out.");
    } else if (g.r.status != ENG_SHOP_OK) {
        out = shop_err(&g.r, "There is no such order.");
    } else if (quote_missing(q)) {
        out = incomplete(r, quote_missing(q), g.r.cart, q);
    } else {
        int64_t exp = (int64_t)time(NULL) + CONFIRM_TTL_S;
        char id[80];
        fingerprint(r->srv, g.r.cart, q, exp, id, sizeof id);
        out = json_object_new_object();
        json_object_object_add(out, "confirmationId", json_object_new_string(id));
        char ts[32];
        time_t t = (time_t)exp;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
        json_object_object_add(out, "expiresAt", json_object_new_string(ts));
        static const char *const keep[] = {"total", "goodsTotal", "currency", "delivery", "address", "payment", NULL};
        for (size_t i = 0; keep[i]; i++)
            json_object_object_add(out, keep[i], json_object_get(json_object_object_get(q, keep[i])));
        json_object_object_add(out, "cart", json_object_get(g.r.cart));
        json_object_object_add(out, "next", json_object_new_string(
            "Show this summary to the shopper: the items, the delivery, the address, the card and the total "
            "that will be charged. Only after they agree, call confirm_checkout with this confirmationId; if "
            "anything changes first, call request_checkout again."));
        out = tool_ok(out);
    }
    gw__shop_close(&g);
    return out;
}

/* an order of the caller placed under `key` (a confirmation retried after
 * its answer was lost: the cart is empty by now), or NULL */
static json_object *order_by_key(gw_server *s, const gw_principal *who, const char *key)
{
    gw_shop g;
    gw__shop_open(s, who, &g);
    json_object *found = NULL;
    if (eng_shop_orders(&g.w, 100, &g.r) == 0 && g.r.status == ENG_SHOP_OK) {
        json_object *items = json_object_object_get(g.r.order, "items");
        for (size_t i = 0; !found && items && i < json_object_array_length(items); i++) {
            const char *k = gw__jstr(json_object_array_get_idx(items, i), "idempotencyKey");
            if (k && strcmp(k, key) == 0)
                found = json_object_get(json_object_array_get_idx(items, i));
        }
    }
    gw__shop_close(&g);
    return found;
}

static json_object *placed(json_object *order, bool replayed)
{
    json_object *out = json_object_new_object();
    json_object_object_add(out, "order", order);
    json_object_object_add(out, "replayed", json_object_new_boolean(replayed));
    return tool_ok(out);
}

static json_object *t_confirm_checkout(gw_req *r, json_object *a)
{
    const char *cid = arg_str(a, "confirmationId"), *ikey = arg_str(a, "idempotencyKey");
    char key[128];
    /* without a key of the agent's own, the confirmation is the key: the
     * same confirmation places one order however often it is sent */
    snprintf(key, sizeof key, "%s%s", ikey ? "" : "mcp-", ikey ? ikey : cid);
    char *end;
    unsigned long long exp = strtoull(cid, &end, 16);
    if (end == cid || *end != '.' || strlen(end + 1) != 32)
        return tool_err("confirmation-invalid",
                        "That is not a confirmation id from request_checkout; call request_checkout first.");
    gw_shop g;
    quote_open(r, &g);
    json_object *out = NULL, *confirmed = NULL, *o;
    char now_id[80];
    if (g.r.status != ENG_SHOP_OK && g.r.status != ENG_SHOP_EMPTY) {
        out = shop_err(&g.r, "There is no such order.");
    } else if (g.r.status == ENG_SHOP_EMPTY ||
               fingerprint(r->srv, g.r.cart, g.r.info, (int64_t)exp, now_id, sizeof now_id) < 0 ||
               strlen(now_id) != strlen(cid) || sodium_memcmp(now_id, cid, strlen(cid)) != 0) {
        /* not this quote: a retry of a placed order, facts gone, or a
         * changed cart (or a forged id) */
        if ((o = order_by_key(r->srv, &r->who, key)))
            out = placed(o, true);
        else if (g.r.status == ENG_SHOP_OK && quote_missing(g.r.info))
            out = incomplete(r, quote_missing(g.r.info), g.r.cart, g.r.info);
        else
            out = tool_err("confirmation-stale",
                           "The cart, the delivery, the address or the card changed since request_checkout (or the "
                           "confirmation id is not this cart's): nothing was ordered. Call request_checkout again "
                           "and confirm the new summary.");
    } else if ((int64_t)exp < (int64_t)time(NULL)) {
        out = tool_err("confirmation-expired",
                       "That confirmation expired: nothing was ordered. Call request_checkout again.");
    } else {
        /* the order must be this very cart: the engine compares it with
         * the one it prices at checkout, the store with the one in the
         * order's transaction */
        confirmed = json_object_get(g.r.cart);
    }
    gw__shop_close(&g);
    if (out)
        return out;
    gw__checkout(r->srv, &r->who, "mcp", key, confirmed, &g);
    json_object_put(confirmed);
    json_object *first = NULL, *missing = g.r.info ? json_object_object_get(g.r.info, "missing") : NULL;
    if ((g.r.status == ENG_SHOP_CHANGED || g.r.status == ENG_SHOP_INVALID) &&
        (first = order_by_key(r->srv, &r->who, key)))
        out = placed(first, true);   /* a parallel call with this key placed it and emptied the cart */
    else if (g.r.status == ENG_SHOP_INVALID && missing)
        out = incomplete(r, missing, g.r.cart, NULL);   /* the card went between the two calls */
    else if (g.r.status != ENG_SHOP_OK)
        out = shop_err(&g.r, "There is no such order.");
    else
        out = placed(json_object_get(g.r.order), g.r.replayed);
    gw__shop_close(&g);
    return out;
}

static json_object *t_order(gw_req *r, json_object *a)
{
    double id = 0;
    arg_num(a, "orderId", &id);
    gw_shop g;
    gw__shop_open(r->srv, &r->who, &g);
    eng_shop_order(&g.w, (int64_t)id, &g.r);
    json_object *out = g.r.status == ENG_SHOP_OK ? tool_ok(json_object_get(g.r.order))
                                                 : shop_err(&g.r, "You have no order with that id.");
    gw__shop_close(&g);
    return out;
}

/* A person from the shop's support team takes over: a ticket in the
 * audit trail (support.handoff, as the chat's support agent records),
 * which the support team reads. */
static json_object *t_handoff(gw_req *r, json_object *a)
{
    unsigned char raw[8];
    char ticket[40], hex[2 * sizeof raw + 1];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
    snprintf(ticket, sizeof ticket, "mcp:%s", hex);
    json_object *d = json_object_new_object();
    json_object_object_add(d, "type", json_object_new_string("support.handoff"));
    json_object_object_add(d, "key", json_object_new_string(ticket));
    json_object_object_add(d, "reason", json_object_new_string(arg_str(a, "reason")));
    json_object_object_add(d, "via", json_object_new_string("mcp"));
    gw__audit(r->srv, &r->who, "support.handoff", ticket, d);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "ticket", json_object_new_string(ticket));
    json_object_object_add(o, "next", json_object_new_string("The shop's support team has the ticket and gets back to "
                                                             "the shopper; no time or outcome is promised."));
    return tool_ok(o);
}

/* The shop's own answer to a policy question, quoted from its knowledge
 * file (the same retrieval the chat's support agent answers by). */
static json_object *t_policy(gw_req *r, json_object *a)
{
    const char *q = arg_str(a, "question");
    eng_pipeline *p = gw__pipeline(r->srv);
    char *title = NULL, *text = NULL;
    int rc = p ? eng_pipeline_knowledge_ask(p, q, &title, &text) : 0;
    if (p)
        eng_pipeline_release(p);
    json_object *out;
    if (rc == 1) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "section", json_object_new_string(title));
        json_object_object_add(o, "answer", json_object_new_string(text));
        out = tool_ok(o);
    } else if (rc < 0) {
        out = tool_err("unavailable", "The shop's information is unavailable right now; try again.");
    } else {
        out = tool_err("no-answer", "The shop's policies do not answer that. Read shop://policies, or the shopper can "
                                    "ask the shop's staff.");
    }
    free(title);
    free(text);
    return out;
}

static const struct {
    const char *name;
    tool_fn fn;
} impls[] = {
    {"search_products", t_search}, {"get_product", t_product}, {"compare_products", t_compare}, {"view_cart", t_cart},
    {"add_to_cart", t_add}, {"update_cart_item", t_update}, {"remove_from_cart", t_remove},
    {"apply_promo_code", t_promo}, {"request_checkout", t_request_checkout},
    {"confirm_checkout", t_confirm_checkout}, {"order_status", t_order}, {"request_handoff", t_handoff},
    {"shop_policy", t_policy},
};

static tool_fn impl(const char *name)
{
    for (size_t i = 0; i < sizeof impls / sizeof *impls; i++)
        if (strcmp(impls[i].name, name) == 0)
            return impls[i].fn;
    return NULL;
}

/* ---------------------------------------------------------------------
 * ACP's MCP binding (the spec's mcp-binding.md, API version 2026-04-17):
 * the five checkout-session tools, for an agent partner connected with
 * its ACP key.  Arguments {meta, id?, payload?}: meta carries what REST
 * sends as headers (api_version required, idempotency_key, timestamp,
 * ...), payload is the REST body; both run through the same operations
 * (acp_session.c) and idempotency keys (gw__acp_idempotent, scoped to the
 * REST path) as /acp.  A 2xx answer is the JSON-RPC result as-is (the
 * CheckoutSession, with a text content beside it for generic MCP
 * clients); an ACP error is JSON-RPC error -32000 with the Error in data.
 * ------------------------------------------------------------------ */
static const struct {
    const char *name, *title, *desc;
} acp_tools[] = {
    {"create_checkout_session", "Create checkout session",
     "ACP: create a checkout session (POST /checkout_sessions). payload: CheckoutSessionCreateRequest."},
    {"get_checkout_session", "Get checkout session",
     "ACP: the current state of a checkout session (GET /checkout_sessions/{id}). id: the session's id."},
    {"update_checkout_session", "Update checkout session",
     "ACP: change items, buyer, fulfillment details or the selected option (POST /checkout_sessions/{id}). "
     "payload: CheckoutSessionUpdateRequest."},
    {"complete_checkout_session", "Complete checkout session",
     "ACP: pay with a delegated payment token and place the order (POST /checkout_sessions/{id}/complete). "
     "payload: CheckoutSessionCompleteRequest."},
    {"cancel_checkout_session", "Cancel checkout session",
     "ACP: cancel a session that is not completed (POST /checkout_sessions/{id}/cancel). payload (optional): "
     "CancelSessionRequest."},
};
#define NACP (sizeof acp_tools / sizeof *acp_tools)

static bool is_partner(const gw_req *r) { return strncmp(r->who.sid, "acp:", 4) == 0; }

static json_object *acp_schema(bool needs_id, int payload)
{
    json_object *s = json_object_new_object(), *props = json_object_new_object(), *req = json_object_new_array();
    json_object *meta = json_object_new_object(), *mp = json_object_new_object(), *mreq = json_object_new_array();
    json_object_object_add(s, "type", json_object_new_string("object"));
    json_object_object_add(meta, "type", json_object_new_string("object"));
    json_object_object_add(meta, "description", json_object_new_string(
        "Protocol metadata, the REST binding's headers: api_version (required), idempotency_key, request_id, "
        "user_agent, accept_language, signature, timestamp (RFC 3339)"));
    static const char *const mk[] = {"api_version", "idempotency_key", "request_id", "user_agent", "accept_language",
                                     "signature", "timestamp", NULL};
    for (size_t i = 0; mk[i]; i++) {
        json_object *f = json_object_new_object();
        json_object_object_add(f, "type", json_object_new_string("string"));
        if (i == 0)
            json_object_object_add(f, "const", json_object_new_string(GW_ACP_VERSION));
        json_object_object_add(mp, mk[i], f);
    }
    json_object_array_add(mreq, json_object_new_string("api_version"));
    json_object_object_add(meta, "properties", mp);
    json_object_object_add(meta, "required", mreq);
    json_object_object_add(meta, "additionalProperties", json_object_new_boolean(1));
    json_object_object_add(props, "meta", meta);
    json_object_array_add(req, json_object_new_string("meta"));
    if (needs_id) {
        json_object *id = json_object_new_object();
        json_object_object_add(id, "type", json_object_new_string("string"));
        json_object_object_add(id, "description", json_object_new_string("The checkout session's id"));
        json_object_object_add(props, "id", id);
        json_object_array_add(req, json_object_new_string("id"));
    }
    if (payload) {
        json_object *pl = json_object_new_object();
        json_object_object_add(pl, "type", json_object_new_string("object"));
        json_object_object_add(pl, "description", json_object_new_string(
            "The REST request body, as ACP's JSON Schemas define it; checked as the REST endpoint checks it"));
        json_object_object_add(props, "payload", pl);
        if (payload == 2)
            json_object_array_add(req, json_object_new_string("payload"));
    }
    json_object_object_add(s, "properties", props);
    json_object_object_add(s, "required", req);
    json_object_object_add(s, "additionalProperties", json_object_new_boolean(0));
    return s;
}

static void acp_tools_add(json_object *a)
{
    for (size_t i = 0; i < NACP; i++) {
        bool needs_id;
        int payload;
        const char *suffix;
        gw__acp_session_op(acp_tools[i].name, &needs_id, &payload, &suffix);
        json_object *o = json_object_new_object(), *ann = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(acp_tools[i].name));
        json_object_object_add(o, "title", json_object_new_string(acp_tools[i].title));
        json_object_object_add(o, "description", json_object_new_string(acp_tools[i].desc));
        json_object_object_add(o, "inputSchema", acp_schema(needs_id, payload));
        bool ro = strcmp(acp_tools[i].name, "get_checkout_session") == 0;
        json_object_object_add(ann, "readOnlyHint", json_object_new_boolean(ro));
        json_object_object_add(ann, "destructiveHint", json_object_new_boolean(strcmp(acp_tools[i].name,
                                                                                       "cancel_checkout_session") == 0));
        json_object_object_add(ann, "idempotentHint", json_object_new_boolean(ro));
        json_object_object_add(ann, "openWorldHint", json_object_new_boolean(0));
        json_object_object_add(o, "annotations", ann);
        json_object_array_add(a, o);
    }
}

/* an ACP error as the binding carries it: -32000, the Error in data */
static void acp_rpc_error(gw_req *r, json_object *id, json_object *err)
{
    json_object *o = json_object_new_object(), *e = json_object_new_object();
    json_object_object_add(o, "jsonrpc", json_object_new_string("2.0"));
    json_object_object_add(o, "id", json_object_get(id));
    json_object_object_add(e, "code", json_object_new_int(-32000));
    const char *m = gw__jstr(err, "message");
    json_object_object_add(e, "message", json_object_new_string(m ? m : "ACP error"));
    json_object_object_add(e, "data", err);
    json_object_object_add(o, "error", e);
    send_rpc(r, 200, o, NULL);
}

static void acp_refuse(gw_req *r, json_object *id, const char *code, const char *fmt, ...) ENG_PRINTF(4, 5);
static void acp_refuse(gw_req *r, json_object *id, const char *code, const char *fmt, ...)
{
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    gw_acp_out o = {0};
    gw__acp_out_err(&o, 400, "invalid_request", code, NULL, "%s", msg);
    if (strcmp(code, "unsupported_api_version") == 0) {
        json_object *v = json_object_new_array();
        json_object_array_add(v, json_object_new_string(GW_ACP_VERSION));
        json_object_object_add(o.body, "supported_versions", v);
    }
    acp_rpc_error(r, id, o.body);
}

static void acp_call(gw_req *r, json_object *id, const char *name, json_object *args)
{
    bool needs_id;
    int payload_kind;
    const char *suffix;
    gw_acp_op op = gw__acp_session_op(name, &needs_id, &payload_kind, &suffix);
    if (!is_partner(r))
        return acp_refuse(r, id, "unauthorized",
                          "%s is ACP's: connect to /mcp with the API key this shop gave you as Authorization: Bearer "
                          "<key>.", name);
    json_object *meta = json_object_object_get(args, "meta"), *payload = json_object_object_get(args, "payload");
    json_object *sid = json_object_object_get(args, "id");
    json_object_object_foreach(args, k, v) {
        (void)v;
        if (strcmp(k, "meta") != 0 && strcmp(k, "id") != 0 && strcmp(k, "payload") != 0)
            return rpc_error(r, 200, id, JR_PARAMS, "Invalid params: unknown argument \"%.40s\" (meta, id, payload)", k);
    }
    if (!json_object_is_type(meta, json_type_object) || !gw__jstr(meta, "api_version"))
        return rpc_error(r, 200, id, JR_PARAMS, "Invalid params: meta.api_version is required (\"" GW_ACP_VERSION "\")");
    if (needs_id && (!json_object_is_type(sid, json_type_string) || json_object_get_string_len(sid) < 1 ||
                     json_object_get_string_len(sid) > 200))
        return rpc_error(r, 200, id, JR_PARAMS, "Invalid params: id (the checkout session's id) is required");
    if (!needs_id && sid)
        return rpc_error(r, 200, id, JR_PARAMS, "Invalid params: %s takes no id", name);
    if (payload && !json_object_is_type(payload, json_type_object))
        return rpc_error(r, 200, id, JR_PARAMS, "Invalid params: payload must be an object");
    if ((payload_kind == 2 && !payload) || (payload_kind == 0 && payload))
        return rpc_error(r, 200, id, JR_PARAMS, "Invalid params: %s %s a payload", name,
                         payload_kind ? "needs" : "takes no");
    if (strcmp(gw__jstr(meta, "api_version"), GW_ACP_VERSION) != 0)
        return acp_refuse(r, id, "unsupported_api_version", "This shop speaks ACP API version " GW_ACP_VERSION " only.");
    json_object *mts = json_object_object_get(meta, "timestamp"), *mkey = json_object_object_get(meta, "idempotency_key");
    char why[200];
    if (gw__acp_timestamp_ok(r->srv, gw__acp_partner(r->srv, gw__acp_partner_id(r)),
                             json_object_is_type(mts, json_type_string) ? json_object_get_string(mts) : NULL, why,
                             sizeof why) < 0 ||
        (mts && !json_object_is_type(mts, json_type_string)))
        return acp_refuse(r, id, "invalid_signature", "%s", mts && !json_object_is_type(mts, json_type_string)
                                                                 ? "meta.timestamp must be an RFC 3339 string" : why);
    const char *key = json_object_is_type(mkey, json_type_string) ? json_object_get_string(mkey) : NULL;
    if ((mkey && !key) || (key && !gw__acp_token_ok(key, 255)))
        return acp_refuse(r, id, "invalid", "meta.idempotency_key is 1-255 printable ASCII characters without spaces.");
    /* the path parameter, as the REST route would capture it */
    snprintf(r->params[0], sizeof r->params[0], "%s", needs_id ? json_object_get_string(sid) : "");
    char path[400];
    snprintf(path, sizeof path, "/acp/checkout_sessions%s%s%s", needs_id ? "/" : "", r->params[0], suffix);
    gw_acp_out o = {0};
    bool replayed = false;
    int retry = 0;
    if (payload_kind == 0) {
        op(r, NULL, &o);
        if (!o.body)
            gw__acp_out_err(&o, 500, "processing_error", "internal", NULL, "The request produced no answer.");
    } else {
        json_object *body = payload ? json_object_get(payload) : json_object_new_object();
        gw__acp_idempotent(r, path, key, body, op, &o, &replayed, &retry);
        json_object_put(body);
    }
    eng_json_tidy_doubles(o.body);
    if (o.status >= 200 && o.status < 300) {
        /* the CheckoutSession as the result, as the binding says; a text
         * content beside it for MCP clients that read only content */
        json_object *res = json_object_get(o.body), *content = json_object_new_array(), *t = json_object_new_object();
        json_object_object_add(t, "type", json_object_new_string("text"));
        json_object_object_add(t, "text", json_object_new_string(
            json_object_to_json_string_ext(o.body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)));
        json_object_array_add(content, t);
        json_object_object_add(res, "content", content);
        json_object_put(o.body);
        rpc_result(r, id, res, NULL);
    } else {
        acp_rpc_error(r, id, o.body);
    }
}

static json_object *tools_list(const gw_req *r)
{
    json_object *a = json_object_new_array();
    size_t n;
    const eng_tool *tools = eng_tools(&n);
    bool partner = is_partner(r);
    if (partner)
        acp_tools_add(a);
    for (size_t i = 0; i < n; i++) {
        const eng_tool *t = &tools[i];
        if (!impl(t->name) || (partner && t->auth != ENG_TOOL_ANYONE))
            continue;
        json_object *o = json_object_new_object(), *ann = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(t->name));
        json_object_object_add(o, "title", json_object_new_string(t->title));
        char d[600];
        snprintf(d, sizeof d, "%s%s", t->desc,
                 t->auth == ENG_TOOL_USER      ? " Needs a signed-in shopper's bearer token."
                 : t->auth == ENG_TOOL_SESSION ? " Needs a shopper bearer token (anonymous session or signed in)."
                                              : "");
        json_object_object_add(o, "description", json_object_new_string(d));
        json_object_object_add(o, "inputSchema", eng_tool_schema(t));
        json_object_object_add(ann, "title", json_object_new_string(t->title));
        json_object_object_add(ann, "readOnlyHint", json_object_new_boolean(t->read_only));
        json_object_object_add(ann, "destructiveHint", json_object_new_boolean(t->destructive));
        json_object_object_add(ann, "idempotentHint", json_object_new_boolean(t->idempotent));
        json_object_object_add(ann, "openWorldHint", json_object_new_boolean(0));
        json_object_object_add(o, "annotations", ann);
        json_object_array_add(a, o);
    }
    json_object *res = json_object_new_object();
    json_object_object_add(res, "tools", a);
    return res;
}

static void tools_call(gw_req *r, json_object *id, json_object *params)
{
    const char *name = gw__jstr(params, "name");
    json_object *args = NULL;
    if (!name)
        return rpc_error(r, 200, id, JR_PARAMS, "tools/call needs params.name (a string)");
    const eng_tool *t = eng_tool_find(name);
    tool_fn fn = t ? impl(t->name) : NULL;
    bool nid;
    int pk;
    const char *sfx;
    bool acp = !fn && gw__acp_session_op(name, &nid, &pk, &sfx) != NULL;
    if (!fn && !acp)
        return rpc_error(r, 200, id, JR_PARAMS, "Unknown tool: %.64s (tools/list names them)", name);
    if (json_object_object_get_ex(params, "arguments", &args) && !json_object_is_type(args, json_type_object) &&
        !json_object_is_type(args, json_type_null))
        return rpc_error(r, 200, id, JR_PARAMS, "params.arguments must be an object");
    if (acp) {
        json_object *none = json_object_new_object();
        acp_call(r, id, name, args && json_object_is_type(args, json_type_object) ? args : none);
        json_object_put(none);
        return;
    }
    if (is_partner(r) && t->auth != ENG_TOOL_ANYONE)
        return rpc_result(r, id, tool_err("session-required", "%s acts for a shopper: an ACP partner's key checks "
                                          "buyers out with the checkout-session tools instead.", t->name), NULL);
    json_object *empty = NULL;
    if (!args || json_object_is_type(args, json_type_null))
        args = empty = json_object_new_object();
    char why[256];
    json_object *res;
    if (eng_tool_check_args(t, args, why, sizeof why))
        res = tool_err("invalid-arguments", "Invalid arguments for %s: %s.", t->name, why);
    else if (t->auth == ENG_TOOL_SESSION && !r->who.authenticated)
        res = tool_err("session-required",
                       "%s needs a shopper token: send Authorization: Bearer <token> (POST /api/v1/auth/anonymous "
                       "starts an anonymous session; POST /api/v1/auth/login signs in).", t->name);
    else if (t->auth == ENG_TOOL_USER && !r->who.user_id)
        res = tool_err("login-required",
                       "%s needs a signed-in shopper: send Authorization: Bearer <accessToken> from "
                       "POST /api/v1/auth/login.", t->name);
    else
        res = fn(r, args);
    json_object_put(empty);
    rpc_result(r, id, res, NULL);
}

/* ---------------------------------------------------------------------
 * Resources: product://{sku} for each product, 50 a page
 * ------------------------------------------------------------------ */
static void product_uri(const char *sku, char *buf, size_t n)
{
    char enc[400];
    mg_url_encode(sku, enc, sizeof enc);
    snprintf(buf, n, "product://%s", enc);
}

static void resources_list(gw_req *r, json_object *id, json_object *params)
{
    const char *cursor = gw__jstr(params, "cursor");
    long off = 0;
    if (cursor) {
        char *end;
        off = strtol(cursor, &end, 10);
        if (!*cursor || *end || off < 0 || off > 100000000)
            return rpc_error(r, 200, id, JR_PARAMS, "Invalid cursor: pass nextCursor back as it came");
    }
    store_search_query q;
    store_search_query_init(&q);
    q.limit = PAGE;
    q.offset = (int)off;
    store_search_result res;
    store_err e = {0};
    json_object *items;
    if (gw__product_search(r->srv, &r->who, &q, &res, &items, &e) < 0)
        return rpc_error(r, 200, id, JR_INTERNAL, "The catalog is unavailable right now; try again");
    json_object *a = json_object_new_array();
    eng_pipeline *pl = off == 0 ? gw__pipeline(r->srv) : NULL;
    if (pl && eng_pipeline_knowledge_file(pl)) {   /* the shop's policies first */
        json_object *o = json_object_new_object();
        json_object_object_add(o, "uri", json_object_new_string("shop://policies"));
        json_object_object_add(o, "name", json_object_new_string("policies"));
        json_object_object_add(o, "title", json_object_new_string("The shop's policies: returns, shipping, payment, "
                                                                  "warranty, contact, hours"));
        json_object_object_add(o, "mimeType", json_object_new_string("text/markdown"));
        json_object_array_add(a, o);
    }
    if (pl)
        eng_pipeline_release(pl);
    size_t n = json_object_array_length(items);
    for (size_t i = 0; i < n; i++) {
        json_object *p = json_object_array_get_idx(items, i), *o = json_object_new_object();
        const char *sku = gw__jstr(p, "sku"), *title = gw__jstr(p, "title");
        char uri[512];
        product_uri(sku ? sku : "", uri, sizeof uri);
        json_object_object_add(o, "uri", json_object_new_string(uri));
        json_object_object_add(o, "name", json_object_new_string(sku ? sku : ""));
        json_object_object_add(o, "title", json_object_new_string(title ? title : ""));
        json_object_object_add(o, "mimeType", json_object_new_string("application/json"));
        json_object_array_add(a, o);
    }
    json_object_put(items);
    json_object *out = json_object_new_object();
    json_object_object_add(out, "resources", a);
    if ((int64_t)off + (int64_t)n < res.total && n > 0) {
        char next[32];
        snprintf(next, sizeof next, "%ld", off + (long)n);
        json_object_object_add(out, "nextCursor", json_object_new_string(next));
    }
    store_search_result_free(&res);
    rpc_result(r, id, out, NULL);
}

/* shop://policies: the knowledge file as the product team wrote it */
static void read_policies(gw_req *r, json_object *id, const char *uri)
{
    eng_pipeline *pl = gw__pipeline(r->srv);
    const char *path = pl ? eng_pipeline_knowledge_file(pl) : NULL;
    FILE *f = path ? fopen(path, "rb") : NULL;
    enum { MAX = 1 << 20 };
    char *buf = f ? malloc(MAX + 1) : NULL;
    size_t n = buf ? fread(buf, 1, MAX, f) : 0;
    bool whole = f && feof(f);
    if (f)
        fclose(f);
    if (pl)
        eng_pipeline_release(pl);
    if (!path) {
        free(buf);
        return rpc_error(r, 200, id, JR_NO_RESOURCE, "Resource not found: %.400s (this shop has no policies file)", uri);
    }
    if (!buf || !whole) {
        free(buf);
        return rpc_error(r, 200, id, JR_INTERNAL, "The shop's policies cannot be read right now");
    }
    buf[n] = 0;
    json_object *c = json_object_new_object(), *a = json_object_new_array(), *out = json_object_new_object();
    json_object_object_add(c, "uri", json_object_new_string(uri));
    json_object_object_add(c, "mimeType", json_object_new_string("text/markdown"));
    json_object_object_add(c, "text", json_object_new_string_len(buf, (int)n));
    json_object_array_add(a, c);
    json_object_object_add(out, "contents", a);
    free(buf);
    rpc_result(r, id, out, NULL);
}

static void resources_read(gw_req *r, json_object *id, json_object *params)
{
    const char *uri = gw__jstr(params, "uri");
    if (uri && strcmp(uri, "shop://policies") == 0)
        return read_policies(r, id, uri);
    if (!uri || strncmp(uri, "product://", 10) != 0 || strlen(uri) > 400)
        return rpc_error(r, 200, id, JR_PARAMS, "params.uri must be a product://{sku} URI from resources/list");
    char sku[400];
    int k = mg_url_decode(uri + 10, (int)strlen(uri + 10), sku, sizeof sku, 0);
    if (k <= 0 || !gw__str_ok(sku, 127))
        return rpc_error(r, 200, id, JR_NO_RESOURCE, "Resource not found: %.400s", uri);
    int rc;
    store_err e = {0};
    json_object *p = gw__product_get(r->srv, &r->who, sku, &rc, &e);
    if (rc == STORE_ENOTFOUND)
        return rpc_error(r, 200, id, JR_NO_RESOURCE, "Resource not found: %.400s", uri);
    if (!p)
        return rpc_error(r, 200, id, JR_INTERNAL, "The catalog is unavailable right now; try again");
    eng_json_tidy_doubles(p);
    json_object *c = json_object_new_object(), *a = json_object_new_array(), *out = json_object_new_object();
    json_object_object_add(c, "uri", json_object_new_string(uri));
    json_object_object_add(c, "mimeType", json_object_new_string("application/json"));
    json_object_object_add(c, "text", json_object_new_string(
        json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)));
    json_object_array_add(a, c);
    json_object_object_add(out, "contents", a);
    json_object_put(p);
    rpc_result(r, id, out, NULL);
}

static json_object *resource_templates(void)
{
    json_object *t = json_object_new_object(), *a = json_object_new_array(), *out = json_object_new_object();
    json_object_object_add(t, "uriTemplate", json_object_new_string("product://{sku}"));
    json_object_object_add(t, "name", json_object_new_string("product"));
    json_object_object_add(t, "title", json_object_new_string("A product of the catalog"));
    json_object_object_add(t, "mimeType", json_object_new_string("application/json"));
    json_object_array_add(a, t);
    json_object_object_add(out, "resourceTemplates", a);
    return out;
}

/* ---------------------------------------------------------------------
 * Sessions and the transport
 * ------------------------------------------------------------------ */
static const char instructions[] =
    "This is the aisle shop. Find products with search_products and get_product (or the product:// resources), "
    "and put two to four side by side with compare_products. "
    "Cart tools act on the cart of the bearer token you connect with (an anonymous session token from "
    "POST /api/v1/auth/anonymous, or a signed-in shopper's access token). Ordering takes two steps and a "
    "signed-in shopper with a delivery address and a card saved on their account: request_checkout returns the "
    "priced summary (items, delivery, address, card, total) and a confirmationId; show it to the shopper, and only "
    "after they agree call confirm_checkout with that id. A changed cart needs a new request_checkout. Without a "
    "saved address or card nothing can be ordered here: request_checkout says what is missing and gives the shop's "
    "checkout page, where the shopper adds it (card details never pass through an agent). When the shopper needs a "
    "person, request_handoff gives the shop's support team a ticket.";

static void session_key(const char *sid, char *buf, size_t n) { snprintf(buf, n, "mcp-session:%s", sid); }

static void initialize(gw_req *r, json_object *id, json_object *params)
{
    const char *asked = gw__jstr(params, "protocolVersion");
    const char *v = version_ok(asked) ? asked : versions[0];
    char sid[33], key[64];
    gw__random_hex(sid, 16);
    session_key(sid, key, sizeof key);
    json_object *doc = json_object_new_object(), *ci = json_object_object_get(params, "clientInfo");
    json_object_object_add(doc, "protocolVersion", json_object_new_string(v));
    if (gw__jstr(ci, "name") && gw__str_ok(gw__jstr(ci, "name"), 200))
        json_object_object_add(doc, "client", json_object_new_string(gw__jstr(ci, "name")));
    store_err e = {0};
    int rc = store_cache_put(r->srv->st, key, json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN),
                             SESSION_TTL_S, &e);
    json_object_put(doc);
    if (rc < 0) {
        gw__problem_retry(r, 503, "store-unavailable", "Store unavailable", 1, NULL);
        return;
    }
    json_object *res = json_object_new_object(), *caps = json_object_new_object();
    json_object *tc = json_object_new_object(), *rcaps = json_object_new_object(), *info = json_object_new_object();
    json_object_object_add(res, "protocolVersion", json_object_new_string(v));
    json_object_object_add(tc, "listChanged", json_object_new_boolean(0));
    json_object_object_add(rcaps, "subscribe", json_object_new_boolean(0));
    json_object_object_add(rcaps, "listChanged", json_object_new_boolean(0));
    json_object_object_add(caps, "tools", tc);
    json_object_object_add(caps, "resources", rcaps);
    json_object_object_add(res, "capabilities", caps);
    json_object_object_add(info, "name", json_object_new_string("aisle"));
    json_object_object_add(info, "title", json_object_new_string("aisle shop"));
    json_object_object_add(info, "version", json_object_new_string(AISLE_VERSION));
    json_object_object_add(res, "serverInfo", info);
    json_object_object_add(res, "instructions", json_object_new_string(instructions));
    char hdr[96];
    snprintf(hdr, sizeof hdr, "Mcp-Session-Id: %s\r\n", sid);
    rpc_result(r, id, res, hdr);
}

/* the request's session: 0 known, else the problem was sent */
static int session_check(gw_req *r)
{
    const char *sid = mg_get_header(r->conn, "Mcp-Session-Id");
    if (!sid) {
        gw__problem(r, 400, "mcp-session-required", "Mcp-Session-Id required",
                    "Send initialize first, then the Mcp-Session-Id header it answered with on every request.");
        return -1;
    }
    size_t n = strlen(sid);
    bool ok = n == 32;
    for (size_t i = 0; ok && i < n; i++)
        ok = (sid[i] >= '0' && sid[i] <= '9') || (sid[i] >= 'a' && sid[i] <= 'f');
    char key[64], *doc = NULL;
    store_err e = {0};
    int rc = STORE_ENOTFOUND;
    if (ok) {
        session_key(sid, key, sizeof key);
        rc = store_cache_get(r->srv->st, key, &doc, &e);
    }
    bool live = rc == 0 && doc && strstr(doc, "protocolVersion");
    free(doc);
    if (rc < 0 && rc != STORE_ENOTFOUND) {
        gw__problem_retry(r, 503, "store-unavailable", "Store unavailable", 1, NULL);
        return -1;
    }
    if (!live) {
        gw__problem(r, 404, "mcp-session-not-found", "No such MCP session",
                    "The session ended or never existed: send initialize again.");
        return -1;
    }
    return 0;
}

/* Origin: agents are not browsers and send none.  A browser page may only
 * reach /mcp from the origin the server allows for CORS (cors_origin);
 * without one, no browser origin at all (DNS rebinding). */
static int origin_check(gw_req *r)
{
    const char *o = mg_get_header(r->conn, "Origin"), *allow = r->srv->cfg.cors_origin;
    if (!o || (allow && (strcmp(allow, "*") == 0 || strcmp(allow, o) == 0)))
        return 0;
    gw__problem(r, 403, "origin-forbidden", "Origin not allowed",
                "Browsers may call /mcp only from the origin set as the server's CORS origin.");
    return -1;
}

static int version_check(gw_req *r)
{
    const char *v = mg_get_header(r->conn, "MCP-Protocol-Version");
    if (!v || version_ok(v))
        return 0;
    gw__problem(r, 400, "mcp-protocol-version", "Unsupported MCP-Protocol-Version",
                "This server speaks MCP 2025-11-25, 2025-06-18 and 2025-03-26.");
    return -1;
}

void gw__h_mcp(gw_req *r)
{
    if (origin_check(r) < 0 || version_check(r) < 0)
        return;
    json_object *b;
    if (gw__body_object(r, &b) < 0)
        return;
    json_object *id = NULL, *params = NULL;
    bool has_id = json_object_object_get_ex(b, "id", &id);
    const char *method = gw__jstr(b, "method"), *jr = gw__jstr(b, "jsonrpc");
    json_object_object_get_ex(b, "params", &params);
    bool is_response = !method && (json_object_object_get_ex(b, "result", NULL) ||
                                   json_object_object_get_ex(b, "error", NULL));
    if (has_id && !json_object_is_type(id, json_type_string) && !json_object_is_type(id, json_type_int))
        id = NULL, has_id = false, jr = NULL;   /* ids are strings or integers (MCP: never null) */
    if (!jr || strcmp(jr, "2.0") != 0 || (!method && !is_response) ||
        (params && !json_object_is_type(params, json_type_object))) {
        rpc_error(r, 400, id, JR_INVALID, "Invalid Request: one JSON-RPC 2.0 message (jsonrpc, method, "
                                          "params as an object, id a string or an integer)");
    } else if (method && strcmp(method, "initialize") == 0) {
        if (!has_id)
            rpc_error(r, 400, NULL, JR_INVALID, "initialize is a request: it needs an id");
        else
            initialize(r, id, params);
    } else if (session_check(r) < 0) {
        /* answered */
    } else if (is_response || !has_id) {
        /* notifications (initialized, cancelled...) and answers to requests
         * we never send: accepted, nothing to say */
        gw__reply(r, 202, "text/plain", "", 0, NULL);
    } else if (strcmp(method, "ping") == 0) {
        rpc_result(r, id, json_object_new_object(), NULL);
    } else if (strcmp(method, "tools/list") == 0) {
        rpc_result(r, id, tools_list(r), NULL);
    } else if (strcmp(method, "tools/call") == 0) {
        tools_call(r, id, params);
    } else if (strcmp(method, "resources/list") == 0) {
        resources_list(r, id, params);
    } else if (strcmp(method, "resources/templates/list") == 0) {
        rpc_result(r, id, resource_templates(), NULL);
    } else if (strcmp(method, "resources/read") == 0) {
        resources_read(r, id, params);
    } else {
        rpc_error(r, 200, id, JR_METHOD, "Method not found: %.64s", method);
    }
    json_object_put(b);
}

void gw__h_mcp_delete(gw_req *r)
{
    if (origin_check(r) < 0 || session_check(r) < 0)
        return;
    char key[64];
    session_key(mg_get_header(r->conn, "Mcp-Session-Id"), key, sizeof key);
    /* the cache has no delete: a tombstone for a second, then nothing */
    store_cache_put(r->srv->st, key, "{}", 1, NULL);
    gw__reply(r, 204, "text/plain", "", 0, NULL);
}
