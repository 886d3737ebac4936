/* gateway/acp_session.c — ACP checkout sessions (create, update,
 * retrieve, complete, cancel) mapped onto the commerce core.  A session
 * is a small JSON record in the store's cache ("acp:cs:<id>", 7 days)
 * and a cart of its own ("anon:acp_<id>") that the core fills, prices
 * and vetoes exactly as any shopper's; its answer is rebuilt from the
 * core on every call until it is completed or canceled, and kept as it
 * was from then on.  Completion places a real order of the shop account
 * whose e-mail is the buyer's (the core refuses anonymous orders: a buyer
 * without an account gets a requires_sign_in message), paid with the
 * token the stand-in delegate-payment handler made (h_acp.c), exactly
 * once per session (the core's key "acp-<id>").  Changes to one session
 * are serialised by a store lease ("acp:lock:<id>"), so parallel calls
 * on any number of instances see each other's results. */
#include "gw_int.h"
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SESSION_TTL_S (7 * 86400)
#define MAX_LINES 50
#define HANDLER_ID "card_tokenized"

#define ERR(o, st, code, param, ...) gw__acp_out_err(o, st, "invalid_request", code, param, __VA_ARGS__)
#define UNAVAILABLE(o) gw__acp_out_err(o, 503, "service_unavailable", "unavailable", NULL, "The store is not available; retry.")

/* an array's length; 0 for anything else (json-c asserts on a non-array) */
static size_t alen(json_object *a) { return json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0; }

static int64_t cents(json_object *v) { return v ? llround(json_object_get_double(v) * 100) : 0; }

/* ------------------------------------------------------------ the record */

static bool id_ok(const char *id)
{
    if (strncmp(id, "cs_", 3) != 0 || strlen(id) != 35)
        return false;
    for (const char *p = id + 3; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

/* the session record; NULL with o set (404, 503) */
static json_object *load(gw_req *r, gw_acp_out *o)
{
    const char *id = r->params[0];
    if (!id_ok(id)) {
        ERR(o, 404, "not_found", "$.checkout_session_id", "No such checkout session.");
        return NULL;
    }
    char key[sizeof "acp:cs:" + sizeof r->params[0]], *js = NULL;   /* any parameter fits */
    snprintf(key, sizeof key, "acp:cs:%s", id);
    store_err e = {0};
    int rc = store_cache_get(r->srv->st, key, &js, &e);
    if (rc == STORE_ENOTFOUND) {
        ERR(o, 404, "not_found", "$.checkout_session_id", "No such checkout session (or it expired).");
        return NULL;
    }
    json_object *st = rc == 0 ? json_tokener_parse(js) : NULL;
    free(js);
    if (!st) {
        UNAVAILABLE(o);
        return NULL;
    }
    /* a session is its partner's: another partner's looks like none */
    const char *owner = gw__jstr(st, "partner");
    if (owner && strcmp(owner, gw__acp_partner_id(r)) != 0) {
        json_object_put(st);
        ERR(o, 404, "not_found", "$.checkout_session_id", "No such checkout session.");
        return NULL;
    }
    return st;
}

static int save(gw_req *r, json_object *st)
{
    char key[64], t[40];
    snprintf(key, sizeof key, "acp:cs:%s", gw__jstr(st, "id"));
    gw__acp_time((int64_t)time(NULL), t, sizeof t);
    json_object_object_add(st, "updated_at", json_object_new_string(t));
    eng_json_tidy_doubles(st);
    store_err e = {0};
    return store_cache_put(r->srv->st, key, json_object_to_json_string_ext(st, JSON_C_TO_STRING_PLAIN), SESSION_TTL_S,
                           &e);
}

/* one change at a time per session, across instances: a store lease */
static int lock(gw_req *r, const char *id, char *lk, size_t n)
{
    snprintf(lk, n, "acp:lock:%s", id);
    int64_t until = eng_now_us() + 10 * 1000000LL;
    for (;;) {
        char *res = NULL;
        store_err e = {0};
        int rc = store_once_begin(r->srv->st, lk, 20000, &res, &e);
        free(res);
        if (rc == 0)
            return 0;
        if (rc != STORE_EBUSY || eng_now_us() > until)
            return -1;
        usleep(5000);
    }
}

static void unlock(gw_req *r, const char *lk) { store_once_abort(r->srv->st, lk, NULL); }

/* the session of the path, locked for a change (unlock(lk) after); NULL
 * with o set and nothing held */
static json_object *load(gw_req *r, gw_acp_out *o);
static json_object *change_begin(gw_req *r, gw_acp_out *o, char *lk, size_t n)
{
    if (!id_ok(r->params[0])) {
        ERR(o, 404, "not_found", "$.checkout_session_id", "No such checkout session.");
        return NULL;
    }
    if (lock(r, r->params[0], lk, n) < 0) {
        gw__acp_out_err(o, 503, "service_unavailable", "busy", NULL, "The session is busy; retry.");
        return NULL;
    }
    json_object *st = load(r, o);
    if (!st)
        unlock(r, lk);
    return st;
}

/* ------------------------------------------------------------ the shopper */

typedef struct sess_shop {
    gw_shop g;
    char sid[48], cid[64];
} sess_shop;

/* the account whose e-mail the buyer gave, 0 when none */
static int64_t buyer_account(gw_req *r, json_object *st)
{
    const char *email = gw__jstr(json_object_object_get(st, "buyer"), "email");
    char low[257];
    size_t i = 0;
    for (; email && email[i] && i < sizeof low - 1; i++)   /* accounts keep e-mails lower-cased */
        low[i] = (char)(email[i] >= 'A' && email[i] <= 'Z' ? email[i] + 32 : email[i]);
    low[i] = 0;
    store_user u;
    store_err e = {0};
    return email && store_user_get_by_email(r->srv->st, low, &u, &e) == 0 ? u.id : 0;
}

static void shop_open(gw_req *r, json_object *st, sess_shop *ss)
{
    memset(ss, 0, sizeof *ss);
    gw_principal nobody = {0};
    gw__shop_open(r->srv, &nobody, &ss->g);
    snprintf(ss->sid, sizeof ss->sid, "acp_%s", gw__jstr(st, "id"));
    snprintf(ss->cid, sizeof ss->cid, "anon:%s", ss->sid);
    ss->g.w.session_id = ss->sid;
    ss->g.w.cart_id = ss->cid;
    ss->g.w.user_id = buyer_account(r, st);
    ss->g.w.via = "acp";
    /* the core keeps the promotion code in the shopper's session state:
     * here, a member of the record (saved with it) */
    json_object *core = json_object_object_get(st, "shop");
    if (!core) {
        core = json_object_new_object();
        json_object_object_add(st, "shop", core);
    }
    ss->g.w.session = core;
}

/* ------------------------------------------------------------ request shapes */

static bool only_known(json_object *body, const char *const *known, gw_acp_out *o)
{
    json_object_object_foreach(body, k, v) {
        (void)v;
        bool ok = false;
        for (size_t i = 0; known[i]; i++)
            ok |= strcmp(k, known[i]) == 0;
        if (!ok) {
            char p[80];
            snprintf(p, sizeof p, "$.%.60s", k);
            ERR(o, 400, "invalid", p, "Unknown member \"%.60s\".", k);
            return false;
        }
    }
    return true;
}

/* every member of a flat object is a string of at most max bytes */
static bool flat_strings(json_object *v, const char *path, const char *const *known, size_t max, gw_acp_out *o)
{
    if (!json_object_is_type(v, json_type_object)) {
        ERR(o, 400, "invalid", path, "%s must be an object.", path);
        return false;
    }
    json_object_object_foreach(v, k, x) {
        bool ok = false;
        for (size_t i = 0; known[i]; i++)
            ok |= strcmp(k, known[i]) == 0;
        char p[120];
        snprintf(p, sizeof p, "%s.%.60s", path, k);
        if (!ok) {
            ERR(o, 400, "invalid", p, "Unknown member \"%.60s\".", k);
            return false;
        }
        if (!json_object_is_type(x, json_type_string) || !eng_utf8_valid(json_object_get_string(x), (size_t)json_object_get_string_len(x)) ||
            (size_t)json_object_get_string_len(x) > max) {
            ERR(o, 400, "invalid", p, "%s must be a string of at most %zu bytes.", p, max);
            return false;
        }
    }
    return true;
}

static bool buyer_ok(json_object *b, gw_acp_out *o)
{
    static const char *const known[] = {"first_name", "last_name", "full_name", "email", "phone_number",
                                        "customer_id", "account_type", "authentication_status", NULL};
    if (!flat_strings(b, "$.buyer", known, 256, o))
        return false;
    const char *email = gw__jstr(b, "email");
    if (!email || !strchr(email, '@') || strlen(email) < 3) {
        ERR(o, 400, "invalid", "$.buyer.email", "The buyer's e-mail address is required and must be valid.");
        return false;
    }
    return true;
}

static bool fulfillment_ok(json_object *f, gw_acp_out *o)
{
    static const char *const known[] = {"name", "phone_number", "email", NULL};
    static const char *const addr[] = {"name", "line_one", "line_two", "city", "state", "country", "postal_code",
                                       "company", NULL};
    if (!json_object_is_type(f, json_type_object)) {
        ERR(o, 400, "invalid", "$.fulfillment_details", "fulfillment_details must be an object.");
        return false;
    }
    json_object *a = json_object_object_get(f, "address");
    json_object *rest = json_object_new_object();
    json_object_object_foreach(f, k, v) {
        if (strcmp(k, "address") != 0)
            json_object_object_add(rest, k, json_object_get(v));
    }
    bool ok = flat_strings(rest, "$.fulfillment_details", known, 256, o) &&
              (!a || flat_strings(a, "$.fulfillment_details.address", addr, 256, o));
    json_object_put(rest);
    return ok;
}

/* ------------------------------------------------------------ messages */

static json_object *message(const char *type, const char *code, const char *param, const char *fmt, ...)
    ENG_PRINTF(4, 5);
static json_object *message(const char *type, const char *code, const char *param, const char *fmt, ...)
{
    char text[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    json_object *m = json_object_new_object();
    json_object_object_add(m, "type", json_object_new_string(type));
    if (code)
        json_object_object_add(m, "code", json_object_new_string(code));
    if (strcmp(type, "error") == 0)   /* only the buyer can sign up; the agent can fix the rest */
        json_object_object_add(m, "resolution", json_object_new_string(code && strcmp(code, "requires_sign_in") == 0
                                                                           ? "requires_buyer_input" : "recoverable"));
    if (param)
        json_object_object_add(m, "param", json_object_new_string(param));
    json_object_object_add(m, "content_type", json_object_new_string("plain"));
    json_object_object_add(m, "content", json_object_new_string(text));
    return m;
}

/* the core's address field ("address.postalCode") as ACP's JSONPath */
static void address_param(const char *field, char *buf, size_t n)
{
    static const char *const map[][2] = {{"address.line1", "line_one"}, {"address.line2", "line_two"},
                                         {"address.postalCode", "postal_code"}, {"address.region", "state"},
                                         {"address.city", "city"}, {"address.country", "country"},
                                         {"address.name", "name"}};
    if (strcmp(field, "address.phone") == 0) {
        snprintf(buf, n, "$.fulfillment_details.phone_number");
        return;
    }
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (strcmp(field, map[i][0]) == 0) {
            snprintf(buf, n, "$.fulfillment_details.address.%s", map[i][1]);
            return;
        }
    snprintf(buf, n, "$.fulfillment_details.address");
}

/* ACP's address (with the contact's phone) in the core's shape; NULL
 * when the session has none */
static json_object *core_address(json_object *st)
{
    json_object *f = json_object_object_get(st, "fulfillment_details"), *a = json_object_object_get(f, "address");
    if (!a)
        return NULL;
    static const char *const map[][2] = {{"name", "name"}, {"line_one", "line1"}, {"line_two", "line2"},
                                         {"city", "city"}, {"state", "region"}, {"postal_code", "postalCode"},
                                         {"country", "country"}};
    json_object *c = json_object_new_object();
    for (size_t i = 0; i < sizeof map / sizeof *map; i++) {
        const char *v = gw__jstr(a, map[i][0]);
        if (v && *v)
            json_object_object_add(c, map[i][1], json_object_new_string(v));
    }
    const char *ph = gw__jstr(f, "phone_number");
    if (ph && *ph)
        json_object_object_add(c, "phone", json_object_new_string(ph));
    return c;
}

/* ------------------------------------------------------------ the answer */

static json_object *total(const char *type, const char *text, int64_t amount)
{
    json_object *t = json_object_new_object();
    json_object_object_add(t, "type", json_object_new_string(type));
    json_object_object_add(t, "display_text", json_object_new_string(text));
    json_object_object_add(t, "amount", json_object_new_int64(amount));
    return t;
}

static json_object *capabilities(const char *psp)
{
    json_object *h = json_object_new_object();
    json_object_object_add(h, "id", json_object_new_string(HANDLER_ID));
    json_object_object_add(h, "name", json_object_new_string("dev.acp.tokenized.card"));
    json_object_object_add(h, "display_name", json_object_new_string("Card"));
    json_object_object_add(h, "version", json_object_new_string("2026-01-22"));
    json_object_object_add(h, "spec", json_object_new_string("https://acp.dev/handlers/tokenized.card"));
    json_object_object_add(h, "requires_delegate_payment", json_object_new_boolean(1));
    json_object_object_add(h, "requires_pci_compliance", json_object_new_boolean(0));
    json_object_object_add(h, "psp", json_object_new_string(psp));
    json_object_object_add(h, "config_schema",
                           json_object_new_string("https://acp.dev/schemas/handlers/tokenized.card/config.json"));
    json_object *is = json_object_new_array();
    json_object_array_add(is, json_object_new_string("https://acp.dev/schemas/handlers/tokenized.card/instrument.json"));
    json_object_object_add(h, "instrument_schemas", is);
    json_object *cfg = json_object_new_object(), *br = json_object_new_array();
    static const char *const brands[] = {"visa", "mastercard", "amex", "discover"};
    for (size_t i = 0; i < 4; i++)
        json_object_array_add(br, json_object_new_string(brands[i]));
    json_object_object_add(cfg, "accepted_brands", br);
    json_object_object_add(cfg, "supports_3ds", json_object_new_boolean(0));
    json_object_object_add(cfg, "environment", json_object_new_string(strcmp(psp, "test") == 0 ? "test" : "production"));
    json_object_object_add(h, "config", cfg);
    json_object *hs = json_object_new_array(), *pay = json_object_new_object(), *c = json_object_new_object();
    json_object_array_add(hs, h);
    json_object_object_add(pay, "handlers", hs);
    json_object_object_add(c, "payment", pay);
    json_object *ext = json_object_new_array(), *dx = json_object_new_object(), *ex = json_object_new_array();
    json_object_object_add(dx, "name", json_object_new_string("discount"));
    json_object_array_add(ex, json_object_new_string("$.CheckoutSession.discounts"));
    json_object_array_add(ex, json_object_new_string("$.CheckoutSessionCreateRequest.discounts"));
    json_object_array_add(ex, json_object_new_string("$.CheckoutSessionUpdateRequest.discounts"));
    json_object_object_add(dx, "extends", ex);
    json_object_array_add(ext, dx);
    json_object_object_add(c, "extensions", ext);
    return c;
}

/* the session as ACP shows it, priced by the core now.  *cart_out (may be
 * NULL) gets the priced cart; *ready whether it can be completed. */
static json_object *build(gw_req *r, json_object *st, json_object **cart_out, bool *ready, gw_acp_out *o)
{
    sess_shop ss;
    shop_open(r, st, &ss);
    /* the options that deliver to the session's address (all of them
     * until it has one) and the one the order would use: the core's */
    json_object *where = core_address(st);
    eng_shop_delivery_to(&ss.g.w, gw__jstr(where, "country"), gw__jstr(st, "delivery"), &ss.g.r);
    json_object_put(where);
    if (ss.g.r.status != ENG_SHOP_OK || !ss.g.r.cart) {
        gw__shop_close(&ss.g);
        UNAVAILABLE(o);
        return NULL;
    }
    json_object *cart = ss.g.r.cart, *opts = json_object_object_get(ss.g.r.info, "items");
    const char *cur = gw__jstr(ss.g.r.info, "currency");
    char lc[4] = "usd";
    for (size_t i = 0; cur && cur[i] && i < 3; i++)
        lc[i] = (char)(cur[i] >= 'A' && cur[i] <= 'Z' ? cur[i] + 32 : cur[i]);
    json_object *v = json_object_new_object(), *msgs = json_object_new_array();
    json_object_object_add(v, "id", json_object_new_string(gw__jstr(st, "id")));
    json_object *proto = json_object_new_object();
    json_object_object_add(proto, "version", json_object_new_string(GW_ACP_VERSION));
    json_object_object_add(v, "protocol", proto);
    json_object_object_add(v, "capabilities", capabilities(ss.g.pipe ? eng_pipeline_payment(ss.g.pipe) : "test"));
    if (json_object_object_get(st, "buyer"))
        json_object_object_add(v, "buyer", json_object_get(json_object_object_get(st, "buyer")));
    json_object_object_add(v, "status", json_object_new_string("not_ready_for_payment"));
    json_object_object_add(v, "currency", json_object_new_string(lc));

    /* lines: the catalog's price, the rules' price, each rule's reason */
    json_object *lines = json_object_new_array(), *items = json_object_object_get(cart, "items"), *ids = json_object_new_array();
    int64_t base = 0, after = 0;
    for (size_t i = 0; i < alen(items); i++) {
        json_object *it = json_object_array_get_idx(items, i), *li = json_object_new_object(), *ref = json_object_new_object();
        const char *sku = gw__jstr(it, "sku");
        int64_t qty = json_object_get_int64(json_object_object_get(it, "qty"));
        int64_t unit = cents(json_object_object_get(it, "unitPrice"));
        int64_t line = cents(json_object_object_get(it, "lineTotal"));
        char lid[160];
        snprintf(lid, sizeof lid, "li_%s", sku ? sku : "");
        json_object_object_add(li, "id", json_object_new_string(lid));
        json_object_object_add(ref, "id", json_object_new_string(sku ? sku : ""));
        json_object_object_add(li, "item", ref);
        json_object_array_add(ids, json_object_new_string(sku ? sku : ""));
        json_object_object_add(li, "quantity", json_object_new_int64(qty));
        json_object_object_add(li, "name", json_object_new_string(gw__jstr(it, "title") ? gw__jstr(it, "title") : ""));
        json_object_object_add(li, "unit_amount", json_object_new_int64(unit));
        json_object_object_add(li, "sku", json_object_new_string(sku ? sku : ""));
        json_object *dd = json_object_new_array(), *rules = json_object_object_get(it, "appliedRules");
        for (size_t k = 0; k < alen(rules); k++) {
            json_object *ru = json_object_array_get_idx(rules, k);
            int64_t off = (cents(json_object_object_get(ru, "before")) - cents(json_object_object_get(ru, "after"))) * qty;
            if (off <= 0)
                continue;
            json_object *d = json_object_new_object();
            json_object_object_add(d, "type", json_object_new_string("fixed"));
            json_object_object_add(d, "amount", json_object_new_int64(off));
            const char *why = gw__jstr(ru, "reason");
            json_object_object_add(d, "description", json_object_new_string(why && *why ? why : "price rule"));
            json_object_object_add(d, "source", json_object_new_string("automatic"));
            json_object_array_add(dd, d);
        }
        if (alen(dd) > 0)
            json_object_object_add(li, "discount_details", dd);
        else
            json_object_put(dd);
        json_object *lt = json_object_new_array();
        json_object_array_add(lt, total("items_base_amount", "Base amount", unit * qty));
        json_object_array_add(lt, total("discount", "Discount", unit * qty - line));
        json_object_array_add(lt, total("subtotal", "Subtotal", line));
        json_object_array_add(lt, total("total", "Total", line));
        json_object_object_add(li, "totals", lt);
        json_object_array_add(lines, li);
        base += unit * qty;
        after += line;
    }
    json_object_object_add(v, "line_items", lines);
    if (json_object_object_get(st, "fulfillment_details"))
        json_object_object_add(v, "fulfillment_details", json_object_get(json_object_object_get(st, "fulfillment_details")));

    /* the shop's delivery options (checkout: settings), priced for this cart */
    const char *sel = gw__jstr(json_object_object_get(ss.g.r.info, "chosen"), "id");
    json_object *fo = json_object_new_array(), *chosen = NULL;
    time_t now = time(NULL);
    for (size_t i = 0; i < alen(opts); i++) {
        json_object *op = json_object_array_get_idx(opts, i), *f = json_object_new_object(), *ft = json_object_new_array();
        const char *id = gw__jstr(op, "id"), *name = gw__jstr(op, "name"), *days = gw__jstr(op, "days");
        json_object_object_add(f, "type", json_object_new_string("shipping"));
        json_object_object_add(f, "id", json_object_new_string(id ? id : ""));
        json_object_object_add(f, "title", json_object_new_string(name ? name : (id ? id : "")));
        if (days && *days) {
            char d[200];
            snprintf(d, sizeof d, "Arrives in %s", days);
            json_object_object_add(f, "description", json_object_new_string(d));
            long lo = 0, hi = 0;
            char *end;
            lo = strtol(days, &end, 10);
            hi = *end == '-' ? strtol(end + 1, NULL, 10) : lo;
            if (lo > 0 && hi >= lo && hi < 366) {
                char t1[40], t2[40];
                gw__acp_time((int64_t)now + lo * 86400, t1, sizeof t1);
                gw__acp_time((int64_t)now + hi * 86400, t2, sizeof t2);
                json_object_object_add(f, "earliest_delivery_time", json_object_new_string(t1));
                json_object_object_add(f, "latest_delivery_time", json_object_new_string(t2));
            }
        }
        json_object_array_add(ft, total("total", name ? name : "Delivery", cents(json_object_object_get(op, "price"))));
        json_object_object_add(f, "totals", ft);
        json_object_array_add(fo, f);
        if (!chosen && id && sel && strcmp(sel, id) == 0)
            chosen = op;
    }
    json_object_object_add(v, "fulfillment_options", fo);
    int64_t ship = chosen ? cents(json_object_object_get(chosen, "price")) : 0;
    if (chosen) {
        json_object *s = json_object_new_array(), *so = json_object_new_object();
        json_object_object_add(so, "type", json_object_new_string("shipping"));
        json_object_object_add(so, "option_id", json_object_new_string(gw__jstr(chosen, "id")));
        json_object_object_add(so, "item_ids", json_object_get(ids));
        json_object_array_add(s, so);
        json_object_object_add(v, "selected_fulfillment_options", s);
    }
    json_object_put(ids);

    /* totals: the rules' discounts on lines and on the cart, each named */
    int64_t cart_off = cents(json_object_object_get(cart, "discountTotal"));
    int64_t goods = cents(json_object_object_get(cart, "total"));
    json_object *tt = json_object_new_array();
    json_object_array_add(tt, total("items_base_amount", "Item(s) total", base));
    json_object_array_add(tt, total("items_discount", "Item discounts", base - after));
    json_object_array_add(tt, total("subtotal", "Subtotal", after));
    json_object_array_add(tt, total("discount", "Discounts", cart_off));
    json_object_array_add(tt, total("fulfillment", "Delivery", ship));
    json_object_array_add(tt, total("total", "Total", goods + ship));
    json_object_object_add(v, "totals", tt);
    json_object *disc = json_object_object_get(cart, "discounts"), *codes = json_object_object_get(st, "codes");
    const char *active = gw__jstr(json_object_object_get(st, "shop"), "promoCode");
    if (alen(disc) > 0 || codes) {
        json_object *dr = json_object_new_object(), *ap = json_object_new_array(), *rj = json_object_new_array();
        if (codes)
            json_object_object_add(dr, "codes", json_object_get(codes));
        json_object *kept = json_object_object_get(st, "rejected");
        for (size_t i = 0; i < alen(kept); i++)
            json_object_array_add(rj, json_object_get(json_object_array_get_idx(kept, i)));
        if (active && json_object_object_get(cart, "promoValid") && !json_object_get_boolean(json_object_object_get(cart, "promoValid"))) {
            /* applied once, refused by the cart as it is now */
            json_object *x = json_object_new_object();
            const char *why = gw__jstr(cart, "promoDenied");
            json_object_object_add(x, "code", json_object_new_string(active));
            json_object_object_add(x, "reason", json_object_new_string("discount_code_minimum_not_met"));
            json_object_object_add(x, "message", json_object_new_string(why ? why : "the code does not apply to this cart"));
            json_object_array_add(rj, x);
        }
        for (size_t i = 0; i < alen(rj); i++) {
            json_object *x = json_object_array_get_idx(rj, i);
            json_object_array_add(msgs, message("warning", gw__jstr(x, "reason"), "$.discounts.codes",
                                                "The code %.64s was not applied: %s.", gw__jstr(x, "code"),
                                                gw__jstr(x, "message") ? gw__jstr(x, "message") : "refused"));
        }
        json_object_object_add(dr, "rejected", rj);
        for (size_t i = 0; i < alen(disc); i++) {
            json_object *d = json_object_array_get_idx(disc, i), *a = json_object_new_object(), *c = json_object_new_object();
            const char *rid = gw__jstr(d, "id"), *why = gw__jstr(d, "reason");
            json_object_object_add(a, "id", json_object_new_string(rid ? rid : "rule"));
            json_object_object_add(c, "id", json_object_new_string(rid ? rid : "rule"));
            json_object_object_add(c, "name", json_object_new_string(why && *why ? why : "discount"));
            json_object_object_add(a, "coupon", c);
            int64_t amt = cents(json_object_object_get(d, "amount"));
            json_object_object_add(a, "amount", json_object_new_int64(amt < 0 ? -amt : amt));
            bool by_code = active && rid && strstr(rid, active);   /* the core upper-cases codes */
            if (by_code)
                json_object_object_add(a, "code", json_object_new_string(active));
            json_object_object_add(a, "automatic", json_object_new_boolean(!by_code));
            json_object_array_add(ap, a);
        }
        json_object_object_add(dr, "applied", ap);
        json_object_object_add(v, "discounts", dr);
    }

    /* what stands between the buyer and the order */
    json_object *probs = json_object_object_get(st, "problems");
    for (size_t i = 0; i < alen(probs); i++)
        json_object_array_add(msgs, json_object_get(json_object_array_get_idx(probs, i)));
    if (alen(items) == 0)
        json_object_array_add(msgs, message("error", "missing", "$.line_items", "The checkout has no items yet."));
    json_object *addr = core_address(st);
    bool addr_ok = false;
    if (!addr) {
        json_object_array_add(msgs, message("error", "missing", "$.fulfillment_details.address",
                                            "A delivery address is needed."));
    } else {
        eng_shop_result ar;
        eng_shop_address_check(addr, &ar);
        addr_ok = ar.status == ENG_SHOP_OK;
        if (ar.status != ENG_SHOP_OK) {
            char p[120];
            address_param(ar.field, p, sizeof p);
            json_object_array_add(msgs, message("error", "invalid", p, "The delivery address: %s.", ar.reason));
        }
        eng_shop_result_clear(&ar);
        json_object_put(addr);
    }
    /* no option goes to the address's country, or the one selected
     * does not: nothing is charged for delivery, and no order */
    json_object *refused = json_object_object_get(ss.g.r.info, "refused");
    if (refused && strcmp(gw__jstr(refused, "field"), "address.country") == 0) {
        if (addr_ok)   /* a country that is no code is said above */
            json_object_array_add(msgs, message("error", "region_restricted", "$.fulfillment_details.address.country",
                                                "The delivery address: %s.", gw__jstr(refused, "reason")));
    } else if (refused) {
        json_object_array_add(msgs, message("error", "invalid", "$.selected_fulfillment_options[0].option_id",
                                            "The fulfillment option: %s.", gw__jstr(refused, "reason")));
    }
    const char *email = gw__jstr(json_object_object_get(st, "buyer"), "email");
    if (!email)
        json_object_array_add(msgs, message("error", "missing", "$.buyer.email",
                                            "The buyer's e-mail is needed: orders belong to a shop account."));
    else if (!ss.g.w.user_id)
        json_object_array_add(msgs, message("error", "requires_sign_in", "$.buyer.email",
                                            "This shop has no account for that e-mail: the buyer signs up at the "
                                            "shop first, then the order is placed in that account."));
    bool ok = true;
    for (size_t i = 0; i < alen(msgs); i++)
        ok &= strcmp(gw__jstr(json_object_array_get_idx(msgs, i), "type"), "error") != 0;
    json_object_object_add(v, "status", json_object_new_string(ok ? "ready_for_payment" : "not_ready_for_payment"));
    json_object_object_add(v, "messages", msgs);
    json_object_object_add(v, "links", json_object_new_array());
    const char *ca = gw__jstr(st, "created_at");
    if (ca)
        json_object_object_add(v, "created_at", json_object_new_string(ca));
    if (ready)
        *ready = ok;
    if (cart_out)
        *cart_out = json_object_get(cart);
    gw__shop_close(&ss.g);
    return v;
}

/* ------------------------------------------------------------ changes */

/* the cart becomes exactly `items` (each {id, quantity?}; a repeated id
 * adds up); what the core refuses becomes a message; 0, or -1 with o set */
static int set_items(gw_req *r, json_object *st, json_object *items, bool allow_empty, gw_acp_out *o)
{
    size_t n = json_object_is_type(items, json_type_array) ? alen(items) : 0;
    if (!json_object_is_type(items, json_type_array) || n > MAX_LINES || (n == 0 && !allow_empty)) {
        ERR(o, 400, "invalid", "$.line_items", "line_items is a list of 1 to %d items.", MAX_LINES);
        return -1;
    }
    static const char *const known[] = {"id", "name", "unit_amount", "quantity", NULL};
    for (size_t i = 0; i < n; i++) {
        json_object *it = json_object_array_get_idx(items, i);
        char p[64];
        snprintf(p, sizeof p, "$.line_items[%zu]", i);
        bool bad = false;
        if (!json_object_is_type(it, json_type_object)) {
            ERR(o, 400, "invalid", p, "Each line item is an object {id, quantity?}.");
            return -1;
        }
        if (!only_known(it, known, o))
            return -1;
        const char *id = gw__acp_str(it, "id", 128, &bad);
        json_object *q = json_object_object_get(it, "quantity");
        if (!id || bad) {
            snprintf(p, sizeof p, "$.line_items[%zu].id", i);
            ERR(o, 400, "invalid", p, "Each line item needs its id (the product's SKU).");
            return -1;
        }
        if (q && (!json_object_is_type(q, json_type_int) || json_object_get_int64(q) < 1 ||
                  json_object_get_int64(q) > 999)) {
            snprintf(p, sizeof p, "$.line_items[%zu].quantity", i);
            ERR(o, 400, "invalid", p, "A quantity is a whole number from 1 to 999.");
            return -1;
        }
    }
    sess_shop ss;
    shop_open(r, st, &ss);
    eng_shop_cart_clear(&ss.g.w, NULL, &ss.g.r);
    if (ss.g.r.status != ENG_SHOP_OK) {
        gw__shop_close(&ss.g);
        UNAVAILABLE(o);
        return -1;
    }
    json_object *probs = json_object_new_array();
    for (size_t i = 0; i < n; i++) {
        json_object *it = json_object_array_get_idx(items, i), *q = json_object_object_get(it, "quantity");
        const char *sku = gw__jstr(it, "id");
        char p[64];
        snprintf(p, sizeof p, "$.line_items[%zu]", i);
        eng_shop_result_clear(&ss.g.r);
        eng_shop_cart_add(&ss.g.w, sku, q ? json_object_get_int64(q) : 1, NULL, &ss.g.r);
        switch (ss.g.r.status) {
        case ENG_SHOP_OK:
            break;
        case ENG_SHOP_NOT_FOUND:
            json_object_array_add(probs, message("error", "not_found", p, "There is no product \"%.80s\" in this shop.", sku));
            break;
        case ENG_SHOP_STOCK:
            json_object_array_add(probs, message("error", "out_of_stock", p, "\"%.80s\": %s.", sku, ss.g.r.reason));
            break;
        case ENG_SHOP_UNAVAILABLE:
            json_object_put(probs);
            gw__shop_close(&ss.g);
            UNAVAILABLE(o);
            return -1;
        default:
            json_object_array_add(probs, message("error", "invalid", p, "\"%.80s\": %s.", sku, ss.g.r.reason));
            break;
        }
    }
    gw__shop_close(&ss.g);
    json_object_object_add(st, "problems", probs);
    return 0;
}

/* discounts.codes (the discount extension): the shop's promotions do not
 * stack, so the first code is applied through the core and any other is
 * rejected; [] removes the code. 0, or -1 with o set */
static int set_codes(gw_req *r, json_object *st, json_object *body, gw_acp_out *o)
{
    json_object *d;
    if (!json_object_object_get_ex(body, "discounts", &d))
        return 0;
    static const char *const known[] = {"codes", NULL};
    json_object *codes = json_object_object_get(d, "codes");
    size_t n = json_object_is_type(codes, json_type_array) ? alen(codes) : 0;
    if (d && (!json_object_is_type(d, json_type_object) || !only_known(d, known, o) ||
              !json_object_is_type(codes, json_type_array) || n > 10)) {
        if (!o->body)
            ERR(o, 400, "invalid", "$.discounts.codes", "discounts.codes is a list of at most 10 codes.");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        json_object *c = json_object_array_get_idx(codes, i);
        if (!json_object_is_type(c, json_type_string) || !gw__acp_token_ok(json_object_get_string(c), 64)) {
            char p[64];
            snprintf(p, sizeof p, "$.discounts.codes[%zu]", i);
            ERR(o, 400, "invalid", p, "A discount code is 1-64 printable characters.");
            return -1;
        }
    }
    sess_shop ss;
    shop_open(r, st, &ss);
    json_object *rejected = json_object_new_array();
    if (gw__jstr(ss.g.w.session, "promoCode"))
        eng_shop_promo_remove(&ss.g.w, NULL, &ss.g.r);
    for (size_t i = 0; i < n; i++) {
        const char *code = json_object_get_string(json_object_array_get_idx(codes, i));
        json_object *rj = json_object_new_object();
        json_object_object_add(rj, "code", json_object_new_string(code));
        if (i > 0) {
            json_object_object_add(rj, "reason", json_object_new_string("discount_code_combination_disallowed"));
            json_object_object_add(rj, "message", json_object_new_string("this shop applies one code per order"));
            json_object_array_add(rejected, rj);
            continue;
        }
        eng_shop_result_clear(&ss.g.r);
        eng_shop_promo_apply(&ss.g.w, code, &ss.g.r);
        if (ss.g.r.status == ENG_SHOP_OK) {
            json_object_put(rj);
            continue;
        }
        if (ss.g.r.status == ENG_SHOP_UNAVAILABLE) {
            json_object_put(rj);
            json_object_put(rejected);
            gw__shop_close(&ss.g);
            UNAVAILABLE(o);
            return -1;
        }
        json_object_object_add(rj, "reason", json_object_new_string("discount_code_invalid"));
        json_object_object_add(rj, "message", json_object_new_string(ss.g.r.reason));
        json_object_array_add(rejected, rj);
    }
    gw__shop_close(&ss.g);
    json_object_object_add(st, "codes", d ? json_object_get(codes) : json_object_new_array());
    json_object_object_add(st, "rejected", rejected);
    return 0;
}

/* member k of the body, checked, into the record (null: removed; absent:
 * unchanged, as the spec's null-versus-absent rule says); 0 or -1 */
static int keep(json_object *st, json_object *body, const char *k, bool (*ok)(json_object *, gw_acp_out *),
                gw_acp_out *o)
{
    json_object *v;
    if (!json_object_object_get_ex(body, k, &v))
        return 0;
    if (!v) {
        json_object_object_del(st, k);
        return 0;
    }
    if (!ok(v, o))
        return -1;
    json_object_object_add(st, k, json_object_get(v));
    return 0;
}

/* buyer, fulfillment_details, selected option: checked, then kept */
static int set_facts(json_object *st, json_object *body, gw_acp_out *o)
{
    json_object *sel;
    if (keep(st, body, "buyer", buyer_ok, o) < 0 || keep(st, body, "fulfillment_details", fulfillment_ok, o) < 0)
        return -1;
    if (json_object_object_get_ex(body, "selected_fulfillment_options", &sel)) {
        if (!sel) {
            json_object_object_del(st, "delivery");
            return 0;
        }
        json_object *first = json_object_is_type(sel, json_type_array) && alen(sel) == 1
                                 ? json_object_array_get_idx(sel, 0) : NULL;
        bool bad = false;
        const char *id = first ? gw__acp_str(first, "option_id", 64, &bad) : NULL;
        if (!id || bad) {
            ERR(o, 400, "invalid", "$.selected_fulfillment_options",
                "Select one fulfillment option: [{type, option_id, item_ids}] (every item ships together).");
            return -1;
        }
        json_object_object_add(st, "delivery", json_object_new_string(id));
    }
    return 0;
}

/* the option the session selected must be one the shop offers */
static bool delivery_known(json_object *view, json_object *st, gw_acp_out *o)
{
    const char *sel = gw__jstr(st, "delivery");
    if (!sel)
        return true;
    json_object *fo = json_object_object_get(view, "fulfillment_options");
    for (size_t i = 0; i < alen(fo); i++)
        if (strcmp(gw__jstr(json_object_array_get_idx(fo, i), "id"), sel) == 0)
            return true;
    /* the core's reason: no such option, or not to this address */
    json_object *msgs = json_object_object_get(view, "messages");
    for (size_t i = 0; i < alen(msgs); i++) {
        json_object *m = json_object_array_get_idx(msgs, i);
        const char *pm = gw__jstr(m, "param");
        if (pm && strcmp(pm, "$.selected_fulfillment_options[0].option_id") == 0) {
            ERR(o, 400, "invalid", pm, "%s", gw__jstr(m, "content"));
            return false;
        }
    }
    ERR(o, 400, "invalid", "$.selected_fulfillment_options[0].option_id",
        "There is no fulfillment option \"%.64s\": choose one of fulfillment_options.", sel);
    return false;
}

static void audit(gw_req *r, const char *action, json_object *st, json_object *detail)
{
    if (!detail)
        detail = json_object_new_object();
    json_object_object_add(detail, "status", json_object_new_string(gw__jstr(st, "status") ? gw__jstr(st, "status") : ""));
    char subj[64];
    snprintf(subj, sizeof subj, "acp:%s", gw__jstr(st, "id"));
    gw__audit(r->srv, &r->who, action, subj, detail);
}

/* ------------------------------------------------------------ operations */

static void create(gw_req *r, json_object *body, gw_acp_out *o)
{
    static const char *const known[] = {"buyer", "line_items", "currency", "fulfillment_details", "capabilities",
                                        "fulfillment_groups", "affiliate_attribution", "locale", "timezone",
                                        "metadata", "order_notes", "quote_id", "discounts", NULL};
    if (!only_known(body, known, o))
        return;
    json_object *cur = json_object_object_get(body, "currency");
    eng_pipeline *p = gw__pipeline(r->srv);
    const char *shop = p ? eng_pipeline_currency(p) : "USD";
    bool cur_ok = !cur || (json_object_is_type(cur, json_type_string) && strcasecmp(json_object_get_string(cur), shop) == 0);
    char shop_cur[8];
    snprintf(shop_cur, sizeof shop_cur, "%s", shop);
    eng_pipeline_release(p);
    if (!cur_ok) {
        ERR(o, 400, "invalid", "$.currency", "This shop sells in %s only.", shop_cur);
        return;
    }
    if (!json_object_object_get(body, "line_items")) {
        ERR(o, 400, "missing", "$.line_items", "line_items is required (the products, by SKU).");
        return;
    }
    json_object *st = json_object_new_object();
    char id[40], hex[33], t[40];
    gw__random_hex(hex, 16);
    snprintf(id, sizeof id, "cs_%s", hex);
    gw__acp_time((int64_t)time(NULL), t, sizeof t);
    json_object_object_add(st, "id", json_object_new_string(id));
    json_object_object_add(st, "partner", json_object_new_string(gw__acp_partner_id(r)));
    json_object_object_add(st, "status", json_object_new_string("open"));
    json_object_object_add(st, "created_at", json_object_new_string(t));
    json_object *view = NULL;
    if (set_facts(st, body, o) == 0 && set_items(r, st, json_object_object_get(body, "line_items"), false, o) == 0 &&
        set_codes(r, st, body, o) == 0 && (view = build(r, st, NULL, NULL, o)) != NULL) {
        if (save(r, st) < 0) {
            UNAVAILABLE(o);
        } else {
            o->status = 201;
            o->body = view;
            view = NULL;
            audit(r, "acp.session.create", st, NULL);
        }
    }
    json_object_put(view);
    json_object_put(st);
}

static bool closed(json_object *st) { return json_object_object_get(st, "view") != NULL; }

static void update(gw_req *r, json_object *body, gw_acp_out *o)
{
    static const char *const known[] = {"buyer", "line_items", "fulfillment_details", "fulfillment_groups",
                                        "selected_fulfillment_options", "order_notes", "discounts", NULL};
    if (!only_known(body, known, o))
        return;
    char lk[64];
    json_object *st = change_begin(r, o, lk, sizeof lk), *view = NULL;
    if (!st)
        return;
    if (closed(st)) {
        ERR(o, 400, "session_closed", NULL, "This checkout session is %s: it can no longer change.",
            gw__jstr(st, "status"));
        goto out;
    }
    json_object *items = json_object_object_get(body, "line_items");
    if (set_facts(st, body, o) < 0 || (items && set_items(r, st, items, true, o) < 0) ||
        set_codes(r, st, body, o) < 0)
        goto out;
    if (!(view = build(r, st, NULL, NULL, o)) || !delivery_known(view, st, o))
        goto out;
    if (save(r, st) < 0) {
        UNAVAILABLE(o);
        goto out;
    }
    o->status = 200;
    o->body = view;
    view = NULL;
    audit(r, "acp.session.update", st, NULL);
out:
    json_object_put(view);
    json_object_put(st);
    unlock(r, lk);
}

static void retrieve(gw_req *r, json_object *body, gw_acp_out *o)
{
    (void)body;
    json_object *st = load(r, o);
    if (!st)
        return;
    if (closed(st)) {
        o->status = 200;
        o->body = json_object_get(json_object_object_get(st, "view"));
    } else if ((o->body = build(r, st, NULL, NULL, o)) != NULL) {
        o->status = 200;
    }
    json_object_put(st);
}

/* the delegated token: {token, brand, last4, maxAmount, checkoutSessionId,
 * expiresAt}; NULL with o set */
static json_object *vault(gw_req *r, json_object *body, gw_acp_out *o)
{
    static const char *const known[] = {"buyer", "payment_data", "authentication_result", "affiliate_attribution",
                                        "risk_signals", "marketing_consents", "order_notes", NULL};
    if (!only_known(body, known, o))
        return NULL;
    json_object *pd = json_object_object_get(body, "payment_data");
    json_object *ins = json_object_object_get(pd, "instrument"), *cr = json_object_object_get(ins, "credential");
    bool bad = false;
    const char *hid = gw__acp_str(pd, "handler_id", 64, &bad), *tok = gw__acp_str(cr, "token", 64, &bad);
    if (!json_object_is_type(pd, json_type_object)) {
        ERR(o, 400, "missing", "$.payment_data", "payment_data is required.");
        return NULL;
    }
    if (!hid || strcmp(hid, HANDLER_ID) != 0) {
        ERR(o, 400, "invalid", "$.payment_data.handler_id", "Pay with the handler \"" HANDLER_ID "\".");
        return NULL;
    }
    if (!tok || bad || !gw__acp_token_ok(tok, 64)) {
        ERR(o, 400, "invalid", "$.payment_data.instrument.credential.token",
            "The delegated payment token (from POST /acp/agentic_commerce/delegate_payment) is required.");
        return NULL;
    }
    char key[100], *js = NULL;
    snprintf(key, sizeof key, "acp:vt:%s", tok);
    store_err e = {0};
    int rc = store_cache_get(r->srv->st, key, &js, &e);
    if (rc < 0 && rc != STORE_ENOTFOUND) {
        UNAVAILABLE(o);
        return NULL;
    }
    json_object *vt = js ? json_tokener_parse(js) : NULL;
    free(js);
    const char *sid = gw__jstr(vt, "checkoutSessionId");
    if (!vt || !sid || strcmp(sid, r->params[0]) != 0) {
        json_object_put(vt);
        ERR(o, 400, "invalid", "$.payment_data.instrument.credential.token",
            "That payment token is unknown, expired, or was delegated for another checkout session.");
        return NULL;
    }
    if (json_object_get_int64(json_object_object_get(vt, "expiresAt")) <= (int64_t)time(NULL)) {
        json_object_put(vt);
        ERR(o, 400, "expired", "$.payment_data.instrument.credential.token", "That payment token has expired.");
        return NULL;
    }
    return vt;
}

static void complete(gw_req *r, json_object *body, gw_acp_out *o)
{
    char lk[64];
    json_object *vt = NULL, *st = change_begin(r, o, lk, sizeof lk), *view = NULL, *cart = NULL;
    if (!st)
        return;
    if (strcmp(gw__jstr(st, "status"), "completed") == 0) {
        /* completed before (a retry under another key): the same order */
        o->status = 200;
        o->body = json_object_get(json_object_object_get(st, "view"));
        goto out;
    }
    if (closed(st)) {
        ERR(o, 400, "session_closed", NULL, "This checkout session was canceled: nothing can be ordered from it.");
        goto out;
    }
    json_object *b = json_object_object_get(body, "buyer");
    if (b) {
        if (!buyer_ok(b, o))
            goto out;
        json_object_object_add(st, "buyer", json_object_get(b));
    }
    if (!(vt = vault(r, body, o)))
        goto out;
    bool ready = false;
    if (!(view = build(r, st, &cart, &ready, o)))
        goto out;
    if (!ready) {
        json_object *m = json_object_array_get_idx(json_object_object_get(view, "messages"), 0);
        for (size_t i = 0; i < alen(json_object_object_get(view, "messages")); i++) {
            m = json_object_array_get_idx(json_object_object_get(view, "messages"), i);
            if (strcmp(gw__jstr(m, "type"), "error") == 0)
                break;
        }
        ERR(o, 400, gw__jstr(m, "code") ? gw__jstr(m, "code") : "invalid", gw__jstr(m, "param"),
            "The session is not ready for payment: %s", gw__jstr(m, "content") ? gw__jstr(m, "content") : "");
        goto out;
    }
    json_object *tt = json_object_object_get(view, "totals");
    int64_t due = json_object_get_int64(json_object_object_get(json_object_array_get_idx(tt, alen(tt) - 1), "amount"));
    if (due > json_object_get_int64(json_object_object_get(vt, "maxAmount"))) {
        json_object_array_add(json_object_object_get(view, "messages"),
                              message("error", "payment_declined", "$.payment_data",
                                      "The delegated allowance (%" PRId64 ") is less than the total (%" PRId64 ").",
                                      json_object_get_int64(json_object_object_get(vt, "maxAmount")), due));
        o->status = 200;
        o->body = view;
        view = NULL;
        goto out;
    }

    /* the order: the core's checkout, exactly once per session */
    sess_shop ss;
    shop_open(r, st, &ss);
    /* the order_create webhook's intent first: a crash after the order
     * cannot lose its event (acp_webhook.c) */
    char base[300];
    gw__acp_base(r, base, sizeof base);
    if (gw__acp_event_intent(r->srv, gw__acp_partner_id(r), gw__jstr(st, "id"), ss.g.w.user_id, base) < 0) {
        gw__shop_close(&ss.g);
        UNAVAILABLE(o);
        goto out;
    }
    eng_checkout co = {0};
    json_object *addr = core_address(st), *pay = json_object_new_object();
    json_object_object_add(pay, "token", json_object_get(json_object_object_get(vt, "token")));
    json_object_object_add(pay, "brand", json_object_get(json_object_object_get(vt, "brand")));
    json_object_object_add(pay, "last4", json_object_get(json_object_object_get(vt, "last4")));
    co.address = addr;
    co.delivery = gw__jstr(st, "delivery");
    co.payment = pay;
    co.require_payment = true;
    char key[64];
    snprintf(key, sizeof key, "acp-%s", gw__jstr(st, "id"));
    eng_shop_checkout_with(&ss.g.w, key, cart, &co, &ss.g.r);
    json_object_put(addr);
    json_object_put(pay);
    eng_shop_status stt = ss.g.r.status;
    json_object *msgs = json_object_object_get(view, "messages");
    if (stt == ENG_SHOP_OK) {
        int64_t oid = json_object_get_int64(json_object_object_get(ss.g.r.order, "id"));
        char url[400], ids[32];
        gw__acp_event_placed(r->srv, gw__jstr(st, "id"), oid);
        snprintf(ids, sizeof ids, "%" PRId64, oid);
        snprintf(url, sizeof url, "%s/api/v1/orders/%" PRId64, base, oid);
        json_object *ord = json_object_new_object();
        json_object_object_add(ord, "type", json_object_new_string("order"));
        json_object_object_add(ord, "id", json_object_new_string(ids));
        json_object_object_add(ord, "checkout_session_id", json_object_new_string(gw__jstr(st, "id")));
        json_object_object_add(ord, "order_number", json_object_new_string(ids));
        json_object_object_add(ord, "permalink_url", json_object_new_string(url));
        const char *os = gw__jstr(ss.g.r.order, "status");
        json_object_object_add(ord, "status", json_object_new_string(os ? os : "placed"));
        json_object_object_add(view, "order", ord);
        json_object_object_add(view, "status", json_object_new_string("completed"));
        json_object_object_add(st, "status", json_object_new_string("completed"));
        json_object_object_add(st, "view", json_object_get(view));
        gw__shop_close(&ss.g);
        if (save(r, st) < 0) {
            /* the order stands; a retry finds it again through the core's key */
            UNAVAILABLE(o);
            goto out;
        }
        json_object *d = json_object_new_object();
        json_object_object_add(d, "orderId", json_object_new_int64(oid));
        audit(r, "acp.session.complete", st, d);
        o->status = 200;
        o->body = view;
        view = NULL;
        goto out;
    }
    if (stt != ENG_SHOP_UNAVAILABLE)
        gw__acp_event_abandon(r->srv, gw__jstr(st, "id"));   /* nothing was ordered */
    switch (stt) {
    case ENG_SHOP_PAYMENT:
        json_object_array_add(msgs, message("error", "payment_declined", "$.payment_data", "The payment was declined: %s.",
                                            ss.g.r.reason));
        break;
    case ENG_SHOP_STOCK:
        json_object_array_add(msgs, message("error", "out_of_stock", "$.line_items", "%s.", ss.g.r.reason));
        break;
    case ENG_SHOP_CHANGED:
        json_object_array_add(msgs, message("warning", "price_change", "$.line_items",
                                            "The prices changed since the session was priced; review and complete again."));
        break;
    case ENG_SHOP_UNAVAILABLE:
        gw__shop_close(&ss.g);
        UNAVAILABLE(o);
        goto out;
    default: {
        char p[120] = "$";
        if (ss.g.r.field[0])
            address_param(ss.g.r.field, p, sizeof p);
        json_object_array_add(msgs, message("error", "invalid", strncmp(ss.g.r.field, "address", 7) == 0 ? p : NULL,
                                            "%s.", ss.g.r.reason[0] ? ss.g.r.reason : "the order was refused"));
        break;
    }
    }
    gw__shop_close(&ss.g);
    /* the session stays open: the agent may fix it and complete again
     * (with the buyer this call named) */
    json_object_object_add(view, "status", json_object_new_string(stt == ENG_SHOP_PAYMENT || stt == ENG_SHOP_CHANGED
                                                                      ? "ready_for_payment" : "not_ready_for_payment"));
    if (b && save(r, st) < 0) {
        UNAVAILABLE(o);
        goto out;
    }
    o->status = 200;
    o->body = view;
    view = NULL;
out:
    json_object_put(vt);
    json_object_put(cart);
    json_object_put(view);
    json_object_put(st);
    unlock(r, lk);
}

static void cancel(gw_req *r, json_object *body, gw_acp_out *o)
{
    static const char *const known[] = {"intent_trace", NULL};
    if (!only_known(body, known, o))
        return;
    json_object *it = json_object_object_get(body, "intent_trace");
    bool bad = false;
    const char *why = it ? gw__acp_str(it, "reason_code", 40, &bad) : NULL;
    if (it && (!json_object_is_type(it, json_type_object) || !why || bad)) {
        ERR(o, 400, "invalid", "$.intent_trace", "intent_trace is an object with a reason_code.");
        return;
    }
    char lk[64];
    json_object *st = change_begin(r, o, lk, sizeof lk), *view = NULL;
    if (!st)
        return;
    if (closed(st)) {
        ERR(o, 405, "session_closed", NULL, "This checkout session is already %s.", gw__jstr(st, "status"));
        goto out;
    }
    if (!(view = build(r, st, NULL, NULL, o)))
        goto out;
    sess_shop ss;
    shop_open(r, st, &ss);
    eng_shop_cart_clear(&ss.g.w, NULL, &ss.g.r);
    gw__shop_close(&ss.g);
    json_object *msgs = json_object_new_array();
    json_object_array_add(msgs, message("info", NULL, NULL, "The checkout was canceled; nothing was ordered or charged."));
    json_object_object_add(view, "messages", msgs);
    json_object_object_add(view, "status", json_object_new_string("canceled"));
    json_object_object_add(st, "status", json_object_new_string("canceled"));
    json_object_object_add(st, "view", json_object_get(view));
    if (save(r, st) < 0) {
        UNAVAILABLE(o);
        goto out;
    }
    json_object *d = json_object_new_object();
    if (why)
        json_object_object_add(d, "reason", json_object_new_string(why));
    audit(r, "acp.session.cancel", st, d);
    o->status = 200;
    o->body = view;
    view = NULL;
out:
    json_object_put(view);
    json_object_put(st);
    unlock(r, lk);
}

void gw__h_acp_create(gw_req *r) { gw__acp_post(r, create, false); }
void gw__h_acp_update(gw_req *r) { gw__acp_post(r, update, false); }
void gw__h_acp_retrieve(gw_req *r) { gw__acp_get(r, retrieve); }
void gw__h_acp_complete(gw_req *r) { gw__acp_post(r, complete, false); }
void gw__h_acp_cancel(gw_req *r) { gw__acp_post(r, cancel, true); }

gw_acp_op gw__acp_session_op(const char *tool, bool *needs_id, int *payload, const char **suffix)
{
    static const struct {
        const char *name;
        gw_acp_op op;
        bool id;
        int payload;
        const char *suffix;
    } ops[] = {
        {"create_checkout_session", create, false, 2, ""},
        {"get_checkout_session", retrieve, true, 0, ""},
        {"update_checkout_session", update, true, 2, ""},
        {"complete_checkout_session", complete, true, 2, "/complete"},
        {"cancel_checkout_session", cancel, true, 1, "/cancel"},
    };
    for (size_t i = 0; tool && i < sizeof ops / sizeof *ops; i++)
        if (strcmp(ops[i].name, tool) == 0) {
            *needs_id = ops[i].id, *payload = ops[i].payload, *suffix = ops[i].suffix;
            return ops[i].op;
        }
    return NULL;
}
