/* gateway/h_products.c — the catalog over REST: search with filters,
 * sort, pages and facets; product detail; admin writes (create, replace,
 * delete), each audited.  The priced search and detail are shared with
 * the MCP tools (gw__product_search, gw__product_get). */
#include "gw_int.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_object *product_json(const store_product *p)
{
    return store_product_to_object(p);
}

/* finalPrice and appliedRules as the chat shows them to this shopper:
 * the pipeline's price rules (the catalog's discountPercentage is the
 * supplier's figure, not a promotion) */
static void price(gw_server *s, const gw_principal *who, json_object *products)
{
    gw_shop g;
    gw__shop_open(s, who, &g);
    eng_shop_price(&g.w, products);
    gw__shop_close(&g);
}

int gw__product_search(gw_server *s, const gw_principal *who, const store_search_query *q,
                       store_search_result *res, json_object **items, store_err *e)
{
    *items = NULL;
    memset(res, 0, sizeof *res);
    if (store_search(s->st, q, res, e) < 0)
        return -1;
    json_object *a = json_object_new_array();
    for (size_t i = 0; i < res->n_hits; i++) {
        json_object *p = product_json(&res->hits[i].product);
        if (p)
            json_object_array_add(a, p);
    }
    price(s, who, a);
    *items = a;
    return 0;
}

json_object *gw__product_get(gw_server *s, const gw_principal *who, const char *sku, int *rc, store_err *e)
{
    store_product p = {0};
    *rc = store_product_get(s->st, sku, &p, e);
    json_object *o = *rc < 0 ? NULL : product_json(&p);
    store_product_clear(&p);
    if (*rc < 0)
        return NULL;
    if (!o)
        return NULL;   /* *rc is 0: the product would not convert */
    json_object *a = json_object_new_array();
    json_object_array_add(a, json_object_get(o));
    price(s, who, a);
    json_object_put(a);
    return o;
}

static json_object *facets_json(const store_facet *f, size_t n)
{
    json_object *a = json_object_new_array();
    for (size_t i = 0; i < n; i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "value", json_object_new_string(f[i].value ? f[i].value : ""));
        json_object_object_add(o, "count", json_object_new_int64(f[i].count));
        json_object_array_add(a, o);
    }
    return a;
}

/* a numeric query parameter: 1 set, 0 absent, -1 after a 400 */
static int num_param(gw_req *r, const char *name, double lo, double hi, double *out)
{
    char buf[64];
    if (!gw__query(r, name, buf, sizeof buf))
        return 0;
    char *end;
    double v = strtod(buf, &end);
    if (!*buf || *end || v != v || v < lo || v > hi) {
        gw__problem(r, 400, "invalid-parameter", "Invalid query parameter", "%s must be a number from %g to %g.",
                    name, lo, hi);
        return -1;
    }
    *out = v;
    return 1;
}

static int str_param(gw_req *r, const char *name, char *buf, size_t n)
{
    if (!gw__query(r, name, buf, n)) {
        /* mg_get_var says -2 when the value is longer than the buffer */
        if (r->ri->query_string && strstr(r->ri->query_string, name)) {
            char probe[8];
            if (mg_get_var(r->ri->query_string, strlen(r->ri->query_string), name, probe, sizeof probe) == -2) {
                gw__problem(r, 400, "invalid-parameter", "Invalid query parameter", "%s is too long.", name);
                return -1;
            }
        }
        buf[0] = 0;
        return 0;
    }
    if (!eng_utf8_valid(buf, strlen(buf))) {
        gw__problem(r, 400, "invalid-utf8", "Query is not valid UTF-8", "%s must be UTF-8.", name);
        return -1;
    }
    return 1;
}

void gw__h_products(gw_req *r)
{
    char q[512], cat[128], brand[128], sort[32], stock[16];
    double minp = -1, maxp = -1, minr = 0, page = 1, size = 20;
    if (str_param(r, "q", q, sizeof q) < 0 || str_param(r, "category", cat, sizeof cat) < 0 ||
        str_param(r, "brand", brand, sizeof brand) < 0 || str_param(r, "sort", sort, sizeof sort) < 0 ||
        str_param(r, "inStock", stock, sizeof stock) < 0 || num_param(r, "minPrice", 0, 1e12, &minp) < 0 ||
        num_param(r, "maxPrice", 0, 1e12, &maxp) < 0 || num_param(r, "minRating", 0, 5, &minr) < 0 ||
        num_param(r, "page", 1, 100000, &page) < 0 || num_param(r, "pageSize", 1, 100, &size) < 0)
        return;
    store_search_query sq;
    store_search_query_init(&sq);
    sq.text = q;
    sq.category = *cat ? cat : NULL;
    sq.brand = *brand ? brand : NULL;
    sq.price_min = minp;
    sq.price_max = maxp;
    sq.min_rating = minr;
    sq.in_stock = strcmp(stock, "true") == 0 || strcmp(stock, "1") == 0;
    if (*stock && !sq.in_stock && strcmp(stock, "false") != 0 && strcmp(stock, "0") != 0) {
        gw__problem(r, 400, "invalid-parameter", "Invalid query parameter", "inStock must be true or false.");
        return;
    }
    static const struct { const char *name; store_sort v; } sorts[] = {
        {"", STORE_SORT_RELEVANCE}, {"relevance", STORE_SORT_RELEVANCE}, {"price-asc", STORE_SORT_PRICE_ASC},
        {"price-desc", STORE_SORT_PRICE_DESC}, {"rating", STORE_SORT_RATING}};
    size_t si = 0;
    while (si < sizeof sorts / sizeof *sorts && strcmp(sorts[si].name, sort) != 0)
        si++;
    if (si == sizeof sorts / sizeof *sorts) {
        gw__problem(r, 400, "invalid-parameter", "Invalid query parameter",
                    "sort must be relevance, price-asc, price-desc or rating.");
        return;
    }
    sq.sort = sorts[si].v;
    sq.limit = (int)size;
    sq.offset = (int)((page - 1) * size);
    sq.flags = STORE_SEARCH_FACETS;
    store_search_result res;
    store_err e = {0};
    json_object *items;
    if (gw__product_search(r->srv, &r->who, &sq, &res, &items, &e) < 0) {
        gw__problem(r, e.code == STORE_EINVAL ? 400 : 503, e.code == STORE_EINVAL ? "invalid-parameter" : "store-unavailable",
                    "Search failed", "%s", e.msg);
        return;
    }
    json_object *o = json_object_new_object(), *f = json_object_new_object();
    json_object_object_add(o, "items", items);
    json_object_object_add(o, "total", json_object_new_int64(res.total));
    json_object_object_add(o, "page", json_object_new_int((int)page));
    json_object_object_add(o, "pageSize", json_object_new_int((int)size));
    json_object_object_add(f, "categories", facets_json(res.categories, res.n_categories));
    json_object_object_add(f, "brands", facets_json(res.brands, res.n_brands));
    json_object_object_add(f, "prices", facets_json(res.prices, res.n_prices));
    json_object_object_add(o, "facets", f);
    if (res.corrected)
        json_object_object_add(o, "corrected", json_object_new_string(res.corrected));
    store_search_result_free(&res);
    gw__json(r, 200, o);
}

void gw__h_product(gw_req *r)
{
    store_err e = {0};
    int rc;
    json_object *o = gw__product_get(r->srv, &r->who, r->params[0], &rc, &e);
    if (rc == STORE_ENOTFOUND)
        gw__problem(r, 404, "not-found", "No such product", NULL);
    else if (rc < 0)
        gw__problem(r, 503, "store-unavailable", "Store unavailable", "%s", e.msg);
    else if (!o)
        gw__problem(r, 500, "internal", "Internal error", NULL);
    else
        gw__json(r, 200, o);
}

/* ---- admin write validation ----
 * The store takes what its importer takes (DummyJSON's loose shapes);
 * the admin API is stricter: typed fields, ranges, a sku charset that
 * can name no path, and money within what the order arithmetic holds. */

#define GW_MAX_PRICE 1e9   /* no catalog sells one item for a billion */
#define GW_MAX_STOCK 1000000000LL

static bool sku_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64 || s[0] == '.' || s[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '_' || c == '.'))
            return false;
    }
    return true;
}

/* a number member in [lo, hi]; absent is fine unless required */
static const char *num_field(json_object *b, const char *k, double lo, double hi, bool required, bool integer)
{
    json_object *v;
    if (!json_object_object_get_ex(b, k, &v) || json_object_is_type(v, json_type_null))
        return required ? "is required" : NULL;
    if (integer && !json_object_is_type(v, json_type_int))
        return "must be an integer";
    if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
        return "must be a number";
    double d = json_object_get_double(v);
    if (json_object_is_type(v, json_type_int))
        d = (double)json_object_get_int64(v);
    if (!isfinite(d) || d < lo || d > hi)
        return "is out of range";
    return NULL;
}

static const char *str_field(json_object *b, const char *k, size_t max)
{
    json_object *v;
    if (!json_object_object_get_ex(b, k, &v) || json_object_is_type(v, json_type_null))
        return NULL;
    if (!json_object_is_type(v, json_type_string))
        return "must be a string";
    const char *s = json_object_get_string(v);
    if ((size_t)json_object_get_string_len(v) != strlen(s))
        return "must not contain NUL";
    return strlen(s) > max ? "is too long" : NULL;
}

static const char *str_array_field(json_object *b, const char *k)
{
    json_object *v;
    if (!json_object_object_get_ex(b, k, &v) || json_object_is_type(v, json_type_null))
        return NULL;
    if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) > 100)
        return "must be an array of at most 100 strings";
    for (size_t i = 0; i < json_object_array_length(v); i++) {
        json_object *e = json_object_array_get_idx(v, i);
        if (!json_object_is_type(e, json_type_string) || json_object_get_string_len(e) > 2048 ||
            (size_t)json_object_get_string_len(e) != strlen(json_object_get_string(e)))
            return "must be an array of strings (at most 2048 bytes, no NUL)";
    }
    return NULL;
}

/* 0, or -1 with the 422 sent */
static int validate_product(gw_req *r, json_object *b)
{
    static const struct {
        const char *key;
        size_t max;
    } strs[] = {{"sku", 64}, {"title", 300}, {"brand", 120}, {"category", 120},
                {"description", 10000}, {"thumbnail", 2048}, {"originalThumbnail", 2048}};
    const char *why = NULL, *key = NULL;
    for (size_t i = 0; !why && i < sizeof strs / sizeof *strs; i++)
        if ((why = str_field(b, strs[i].key, strs[i].max)))
            key = strs[i].key;
    const char *sku = why ? NULL : gw__jstr(b, "sku");
    if (!why && (!sku || !sku_ok(sku)))
        key = "sku", why = "must be 1 to 64 of A-Z a-z 0-9 . _ - (not starting with . or -)";
    if (!why && (why = num_field(b, "price", 0, GW_MAX_PRICE, true, false)))
        key = "price";
    if (!why && (why = num_field(b, "discountPercentage", 0, 100, false, false)))
        key = "discountPercentage";
    if (!why && (why = num_field(b, "rating", 0, 5, false, false)))
        key = "rating";
    if (!why && (why = num_field(b, "stock", 0, (double)GW_MAX_STOCK, false, true)))
        key = "stock";
    if (!why && (why = str_array_field(b, "images")))
        key = "images";
    if (!why && (why = str_array_field(b, "tags")))
        key = "tags";
    /* a product read back names the shop's image copies and keeps the
     * sources here: written back, the sources are what is kept */
    if (!why && (why = str_array_field(b, "originalImages")))
        key = "originalImages";
    if (!why)
        return 0;
    gw__problem(r, 422, "validation", "Invalid product", "%s %s.", key, why);
    return -1;
}

/* parse and store a product body; path_sku (may be NULL) must agree */
static void write_product(gw_req *r, const char *path_sku, int create)
{
    if (!r->body && gw__read_body(r) < 0)
        return;
    json_object *b;
    if (gw__body_object(r, &b) < 0)
        return;
    if (path_sku && !json_object_object_get_ex(b, "sku", NULL))
        json_object_object_add(b, "sku", json_object_new_string(path_sku));
    if (validate_product(r, b) < 0) {
        json_object_put(b);
        return;
    }
    store_product p = {0};
    store_err e = {0};
    const char *js = json_object_to_json_string(b);
    if (store_product_from_json(js, &p, &e) < 0) {
        gw__problem(r, 422, "validation", "Invalid product", "%s", e.msg);
    } else if (path_sku && strcmp(p.sku, path_sku) != 0) {
        gw__problem(r, 422, "validation", "Invalid product", "sku in the body differs from the path.");
    } else {
        store_product old = {0};
        int exists = store_product_get(r->srv->st, p.sku, &old, NULL) == 0;
        store_product_clear(&old);
        if (create && exists) {
            gw__problem(r, 409, "conflict", "Product exists", "Use PUT /api/v1/products/{sku} to replace it.");
        } else if (store_product_upsert(r->srv->st, &p, &e) < 0) {
            gw__problem(r, e.code == STORE_EINVAL ? 422 : 503, e.code == STORE_EINVAL ? "validation" : "store-unavailable",
                        "Product not saved", "%s", e.msg);
        } else {
            gw__audit(r->srv, &r->who, exists ? "product.update" : "product.create", p.sku, NULL);
            json_object *o = product_json(&p);
            gw__json(r, exists ? 200 : 201, o ? o : json_object_new_object());
        }
    }
    store_product_clear(&p);
    json_object_put(b);
}

void gw__h_product_create(gw_req *r) { write_product(r, NULL, 1); }
void gw__h_product_put(gw_req *r) { write_product(r, r->params[0], 0); }

void gw__h_product_delete(gw_req *r)
{
    store_err e = {0};
    int rc = store_product_delete(r->srv->st, r->params[0], &e);
    if (rc == STORE_ENOTFOUND)
        gw__problem(r, 404, "not-found", "No such product", NULL);
    else if (rc < 0)
        gw__problem(r, 503, "store-unavailable", "Store unavailable", "%s", e.msg);
    else {
        gw__audit(r->srv, &r->who, "product.delete", r->params[0], NULL);
        gw__reply(r, 204, "text/plain", "", 0, NULL);
    }
}
