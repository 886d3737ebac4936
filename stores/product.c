/* stores/product.c — the product document at the boundary: camelCase JSON
 * (DummyJSON's shape) mapped field by field to the snake_case struct, the
 * one place that knows both spellings. */
#include "store_int.h"

#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void store_product_clear(store_product *p)
{
    if (!p)
        return;
    free(p->sku);
    free(p->title);
    free(p->brand);
    free(p->category);
    free(p->description);
    free(p->thumbnail);
    for (size_t i = 0; i < p->n_images; i++)
        free(p->images[i]);
    free(p->images);
    for (size_t i = 0; i < p->n_tags; i++)
        free(p->tags[i]);
    free(p->tags);
    free(p->thumbnail_media);
    for (size_t i = 0; p->images_media && i < p->n_images; i++)
        free(p->images_media[i]);
    free(p->images_media);
    free(p->facts);
    memset(p, 0, sizeof *p);
}

/* a copy of s, or NULL for NULL; *ok = 0 when out of memory */
static char *dup_or_null(const char *s, int *ok)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *ok = 0;
    return d;
}

/* n copies of src's strings (each may be NULL), or NULL for a NULL src */
static char **dup_list(char *const *src, size_t n, int *ok)
{
    if (!src)
        return NULL;
    char **d = calloc(n ? n : 1, sizeof *d);
    if (!d) {
        *ok = 0;
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        d[i] = dup_or_null(src[i], ok);
    return d;
}

static void free_list(char **l, size_t n)
{
    for (size_t i = 0; l && i < n; i++)
        free(l[i]);
    free(l);
}

int store_product_copy(store_product *dst, const store_product *src)
{
    int ok = 1;
    /* the numbers and flags as they are, then every pointer copied */
    *dst = *src;
    dst->sku = dup_or_null(src->sku, &ok);
    dst->title = dup_or_null(src->title, &ok);
    dst->brand = dup_or_null(src->brand, &ok);
    dst->category = dup_or_null(src->category, &ok);
    dst->description = dup_or_null(src->description, &ok);
    dst->thumbnail = dup_or_null(src->thumbnail, &ok);
    dst->images = dup_list(src->images, src->n_images, &ok);
    dst->tags = dup_list(src->tags, src->n_tags, &ok);
    dst->thumbnail_media = dup_or_null(src->thumbnail_media, &ok);
    dst->images_media = dup_list(src->images_media, src->n_images, &ok);
    dst->facts = dup_or_null(src->facts, &ok);
    if (!ok) {
        /* a list may be missing while another of the same length is
         * there: each freed by its own length, not store_product_clear */
        free_list(dst->images, dst->images ? src->n_images : 0);
        free_list(dst->images_media, dst->images_media ? src->n_images : 0);
        free_list(dst->tags, dst->tags ? src->n_tags : 0);
        dst->images = dst->images_media = dst->tags = NULL;
        dst->n_images = dst->n_tags = 0;
        store_product_clear(dst);
        return STORE_ENOMEM;
    }
    return 0;
}

static void put_str(json_object *o, const char *k, const char *v)
{
    if (v)
        json_object_object_add(o, k, json_object_new_string(v));
}

static json_object *str_array(char **v, size_t n)
{
    json_object *a = json_object_new_array();
    for (size_t i = 0; i < n; i++)
        json_object_array_add(a, json_object_new_string(v[i] ? v[i] : ""));
    return a;
}

struct json_object *store_product_to_object(const store_product *p)
{
    json_object *o;
    if (!p || !(o = json_object_new_object()))
        return NULL;
    put_str(o, "sku", p->sku);
    put_str(o, "title", p->title);
    put_str(o, "brand", p->brand);
    put_str(o, "category", p->category);
    /* null: the catalog gives no price (shown, not sold) */
    json_object_object_add(o, "price", p->price_missing ? NULL : json_object_new_double(p->price));
    json_object_object_add(o, "discountPercentage",
                           json_object_new_double(p->discount_pct));
    json_object_object_add(o, "rating", json_object_new_double(p->rating));
    /* null: the catalog keeps no stock for it (always available) */
    json_object_object_add(o, "stock", p->stock_untracked ? NULL : json_object_new_int64(p->stock));
    put_str(o, "description", p->description);
    /* the shop's own copies where it has them, the sources beside */
    put_str(o, "thumbnail", p->thumbnail_media ? p->thumbnail_media : p->thumbnail);
    if (p->images_media) {
        json_object *a = json_object_new_array();
        for (size_t i = 0; i < p->n_images; i++) {
            const char *u = p->images_media[i] ? p->images_media[i] : p->images[i];
            json_object_array_add(a, json_object_new_string(u ? u : ""));
        }
        json_object_object_add(o, "images", a);
    } else {
        json_object_object_add(o, "images", str_array(p->images, p->n_images));
    }
    if (p->thumbnail_media)
        put_str(o, "originalThumbnail", p->thumbnail);
    if (p->images_media)
        json_object_object_add(o, "originalImages", str_array(p->images, p->n_images));
    json_object_object_add(o, "tags", str_array(p->tags, p->n_tags));
    /* the other facts, as an object (never a string); text that is not
     * one (a damaged row) is left out rather than shown */
    if (p->facts) {
        json_object *f = json_tokener_parse(p->facts);
        if (f && json_object_is_type(f, json_type_object))
            json_object_object_add(o, "facts", f);
        else
            json_object_put(f);
    }
    return o;
}

int store__facts_check(const store_product *p, store_err *err)
{
    json_object *f;
    int ok;
    if (!p->facts)
        return 0;
    if (strlen(p->facts) > STORE_PRODUCT_FACTS_MAX)
        return store__fail(err, STORE_EINVAL, "product %s: facts longer than %d bytes",
                           p->sku ? p->sku : "?", STORE_PRODUCT_FACTS_MAX);
    f = json_tokener_parse(p->facts);
    ok = f && json_object_is_type(f, json_type_object);
    json_object_put(f);
    return ok ? 0 : store__fail(err, STORE_EINVAL, "product %s: facts is not a JSON object",
                                p->sku ? p->sku : "?");
}

/* ---- facts: the keys a catalog may spell two ways, bounded ---- */

enum { F_WARRANTY, F_SHIPPING, F_RETURNS, F_WEIGHT, F_DIMENSIONS, F_MINORDER, F_N };
static const char *const facts_keys[F_N] = {"warranty", "shipping", "returns",
                                            "weight", "dimensions", "minOrder"};
static const char *const dummyjson_keys[F_N] = {"warrantyInformation", "shippingInformation",
                                                "returnPolicy", "weight", "dimensions",
                                                "minimumOrderQuantity"};
#define FACT_NUM_MAX 1e9

/* a finite number from 0 to FACT_NUM_MAX (a JSON number, not a string) */
static json_object *fact_num(json_object *v)
{
    double d;
    if (!v || !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
        return NULL;
    d = json_object_get_double(v);
    if (!isfinite(d) || d < 0 || d > FACT_NUM_MAX)
        return NULL;
    /* the catalog's own spelling of the number is kept (json-c remembers
     * it), unless it is long ("1.000...0"): then the shortest one */
    if (strlen(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN)) > 24) {
        char txt[32];
        snprintf(txt, sizeof txt, "%.15g", d);
        return json_object_new_double_s(d, txt);
    }
    return json_object_get(v);
}

/* a string cut to at most `cut` bytes, never inside a UTF-8 sequence;
 * NULL when empty or not a string */
static json_object *fact_str(json_object *v, size_t cut)
{
    const char *t;
    size_t n;
    if (!v || !json_object_is_type(v, json_type_string))
        return NULL;
    t = json_object_get_string(v);
    n = strlen(t);   /* an embedded NUL ends it */
    if (n > cut) {
        n = cut;
        while (n > 0 && ((unsigned char)t[n] & 0xC0) == 0x80)
            n--;
    }
    while (n > 0 && (t[n - 1] == ' ' || t[n - 1] == '\t' || t[n - 1] == '\n' || t[n - 1] == '\r'))
        n--;
    while (n > 0 && (*t == ' ' || *t == '\t' || *t == '\n' || *t == '\r'))
        t++, n--;
    return n ? json_object_new_string_len(t, (int)n) : NULL;
}

/* The facts of `src` read under `keys` (facts_keys or dummyjson_keys) as
 * a malloc'd JSON object text in facts_keys, or NULL when it has none.
 * Wrong types are skipped; strings are cut to `cut` bytes. */
static char *facts_build_cut(json_object *src, const char *const keys[F_N], size_t cut)
{
    json_object *f = json_object_new_object(), *v, *x;
    char *out = NULL;
    if (!f)
        return NULL;
    for (int i = F_WARRANTY; i <= F_RETURNS; i++)
        if (json_object_object_get_ex(src, keys[i], &v) && (x = fact_str(v, cut)))
            json_object_object_add(f, facts_keys[i], x);
    if (json_object_object_get_ex(src, keys[F_WEIGHT], &v) && (x = fact_num(v)))
        json_object_object_add(f, facts_keys[F_WEIGHT], x);
    if (json_object_object_get_ex(src, keys[F_DIMENSIONS], &v) &&
        json_object_is_type(v, json_type_object)) {
        static const char *const dims[] = {"width", "height", "depth"};
        json_object *d = json_object_new_object(), *dv;
        for (size_t i = 0; d && i < 3; i++)
            if (json_object_object_get_ex(v, dims[i], &dv) && (x = fact_num(dv)))
                json_object_object_add(d, dims[i], x);
        if (d && json_object_object_length(d) > 0)
            json_object_object_add(f, facts_keys[F_DIMENSIONS], d);
        else
            json_object_put(d);
    }
    if (json_object_object_get_ex(src, keys[F_MINORDER], &v) && (x = fact_num(v))) {
        double d = json_object_get_double(x);
        json_object_put(x);
        if (d == floor(d))
            json_object_object_add(f, facts_keys[F_MINORDER], json_object_new_int64((int64_t)d));
    }
    if (json_object_object_length(f) > 0)
        out = strdup(json_object_to_json_string_ext(f, JSON_C_TO_STRING_PLAIN));
    json_object_put(f);
    return out;
}

/* facts_build_cut within STORE_PRODUCT_FACTS_MAX: strings escape to at
 * most six bytes a byte, so three of 128 bytes always fit */
static char *facts_build(json_object *src, const char *const keys[F_N])
{
    char *out = facts_build_cut(src, keys, 512);
    if (out && strlen(out) > STORE_PRODUCT_FACTS_MAX) {
        free(out);
        out = facts_build_cut(src, keys, 128);
    }
    if (out && strlen(out) > STORE_PRODUCT_FACTS_MAX) {   /* cannot happen: never refused */
        free(out);
        out = NULL;
    }
    return out;
}

int store_product_to_json(const store_product *p, char **json_out,
                          store_err *err)
{
    json_object *o;
    if (!p || !json_out)
        return store__fail(err, STORE_EINVAL, "product/out is NULL");
    if (!(o = store_product_to_object(p)))
        return store__fail(err, STORE_ENOMEM, "out of memory");
    *json_out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return *json_out ? 0 : store__fail(err, STORE_ENOMEM, "out of memory");
}

/* Text fields may arrive as numbers in loosely typed feeds: take both. */
static char *get_str(json_object *o, const char *k)
{
    json_object *v;
    if (!json_object_object_get_ex(o, k, &v) || json_object_is_type(v, json_type_null))
        return NULL;
    if (json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array))
        return NULL;
    return strdup(json_object_get_string(v));
}

static int get_num(json_object *o, const char *k, double *out)
{
    json_object *v;
    if (!json_object_object_get_ex(o, k, &v) || json_object_is_type(v, json_type_null))
        return 0;
    if (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)) {
        *out = json_object_get_double(v);
        return 1;
    }
    if (json_object_is_type(v, json_type_string)) {
        char *end;
        const char *sv = json_object_get_string(v);
        *out = strtod(sv, &end);
        return end != sv && *end == '\0' ? 1 : -1;
    }
    return -1;
}

static char **get_str_array(json_object *o, const char *k, size_t *n)
{
    json_object *v;
    char **a;
    size_t len;
    *n = 0;
    if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_array))
        return NULL;
    len = json_object_array_length(v);
    if (!len || !(a = calloc(len, sizeof *a)))
        return NULL;
    for (size_t i = 0; i < len; i++) {
        json_object *e = json_object_array_get_idx(v, i);
        if (e && json_object_is_type(e, json_type_string))
            a[(*n)++] = strdup(json_object_get_string(e));
    }
    return a;
}

static int product_from_object(json_object *o, store_product *p,
                               store_err *err)
{
    double d;
    int r;

    memset(p, 0, sizeof *p);
    if (!json_object_is_type(o, json_type_object))
        return store__fail(err, STORE_EINVAL, "product is not a JSON object");
    p->sku = get_str(o, "sku");
    if (!p->sku || !*p->sku) {
        /* DummyJSON rows always have an id; feeds without sku use it */
        free(p->sku);
        p->sku = get_str(o, "id");
    }
    p->title = get_str(o, "title");
    p->brand = get_str(o, "brand");
    p->category = get_str(o, "category");
    p->description = get_str(o, "description");
    /* a document this module wrote with the shop's copies: the sources
     * are what the product keeps */
    p->thumbnail = get_str(o, "originalThumbnail");
    if (!p->thumbnail)
        p->thumbnail = get_str(o, "thumbnail");
    json_object *oi;
    p->images = get_str_array(o, json_object_object_get_ex(o, "originalImages", &oi) &&
                                     json_object_is_type(oi, json_type_array) ? "originalImages" : "images",
                              &p->n_images);
    p->tags = get_str_array(o, "tags", &p->n_tags);
    /* the product's other facts: a document this module wrote has them as
     * "facts"; DummyJSON's keys are read otherwise */
    json_object *fo;
    if (json_object_object_get_ex(o, "facts", &fo) && json_object_is_type(fo, json_type_object))
        p->facts = facts_build(fo, facts_keys);
    else
        p->facts = facts_build(o, dummyjson_keys);
    if (!p->sku || !*p->sku) {
        store_product_clear(p);
        return store__fail(err, STORE_EINVAL, "missing sku (and id)");
    }
    if (!p->title || !*p->title) {
        store_product_clear(p);
        return store__fail(err, STORE_EINVAL, "missing title");
    }
    /* every number is range-checked before it is converted or stored: a
     * price of 1e308 or a stock of 1e19 is refused, never wrapped */
#define NUM(key, field, cast, lo, hi)                                        \
    if ((r = get_num(o, key, &d)) < 0 || (r && !isfinite(d))) {              \
        store_product_clear(p);                                              \
        return store__fail(err, STORE_EINVAL, "%s is not a number", key);    \
    } else if (r && (d < (lo) || d > (hi))) {                                \
        store_product_clear(p);                                              \
        return store__fail(err, STORE_EINVAL, "%s must be from %g to %g",    \
                           key, (double)(lo), (double)(hi));                 \
    } else if (r) {                                                          \
        p->field = (cast)d;                                                  \
    }
    NUM("price", price, double, 0, 1e9)
    NUM("discountPercentage", discount_pct, double, 0, 100)
    NUM("rating", rating, double, 0, 5)
    NUM("stock", stock, int64_t, 0, 1e12)
#undef NUM
    json_object *sv;
    if (json_object_object_get_ex(o, "stock", &sv) && json_object_is_type(sv, json_type_null))
        p->stock_untracked = 1;   /* "stock": null — not kept */
    if (json_object_object_get_ex(o, "price", &sv) && json_object_is_type(sv, json_type_null))
        p->price_missing = 1;     /* "price": null — not given */
    return 0;
}

int store_product_from_json(const char *json, store_product *out,
                            store_err *err)
{
    json_object *o;
    int rc;
    if (!json || !out)
        return store__fail(err, STORE_EINVAL, "json/out is NULL");
    if (!(o = json_tokener_parse(json)))
        return store__fail(err, STORE_EINVAL, "product is not valid JSON");
    rc = product_from_object(o, out, err);
    json_object_put(o);
    return rc;
}

void store_search_result_free(store_search_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_hits; i++)
        store_product_clear(&r->hits[i].product);
    free(r->hits);
    for (size_t i = 0; i < r->n_categories; i++)
        free(r->categories[i].value);
    for (size_t i = 0; i < r->n_brands; i++)
        free(r->brands[i].value);
    for (size_t i = 0; i < r->n_prices; i++)
        free(r->prices[i].value);
    free(r->categories);
    free(r->brands);
    free(r->prices);
    free(r->corrected);
    memset(r, 0, sizeof *r);
}
