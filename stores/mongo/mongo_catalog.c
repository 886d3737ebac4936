/* stores/mongo/mongo_catalog.c — the catalog on MongoDB: upserts by sku and
 * search through one aggregation ($text on the shared normaliser's tokens,
 * filters, sort, pagination and facets in a single $facet round trip). */
#include "stores/mongo/mongo_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_product(const store_product *p, store_err *err)
{
    if (!p->sku || !*p->sku || !p->title || !*p->title)
        return store__fail(err, STORE_EINVAL, "product needs a sku and a title");
    if (p->price < 0 || p->stock < 0)
        return store__fail(err, STORE_EINVAL, "product %s: negative price or stock",
                           p->sku);
    return 0;
}

int mg__product_upsert_many(void *vb, const store_product *p, size_t n,
                            size_t *failed, store_err *err)
{
    mg_call c;
    mongoc_collection_t *col;
    mongoc_bulk_operation_t *bulk;
    bson_error_t e;
    bson_t reply, *opts;
    int rc = 0;
    /* validate everything first so an invalid product writes nothing */
    for (size_t i = 0; i < n; i++)
        if ((rc = check_product(&p[i], err)) != 0) {
            if (failed)
                *failed = i;
            return rc;
        }
    if (n == 0)
        return 0;
    mg__begin(vb, &c);
    col = mg__coll(&c, "products");
    opts = BCON_NEW("ordered", BCON_BOOL(false));
    bulk = mongoc_collection_create_bulk_operation_with_opts(col, opts);
    for (size_t i = 0; i < n && !rc; i++) {
        bson_t doc = BSON_INITIALIZER, *sel = BCON_NEW("_id", BCON_UTF8(p[i].sku));
        bson_t *up = BCON_NEW("upsert", BCON_BOOL(true));
        if ((rc = mg__product_doc(&p[i], &doc, err)) == 0 &&
            !mongoc_bulk_operation_replace_one_with_opts(bulk, sel, &doc, up, &e))
            rc = mg__err(&e, err, "product upsert");
        bson_destroy(&doc);
        bson_destroy(sel);
        bson_destroy(up);
    }
    if (!rc && !mongoc_bulk_operation_execute(bulk, &reply, &e))
        rc = mg__err(&e, err, "product upsert");
    if (!rc)
        bson_destroy(&reply);
    mongoc_bulk_operation_destroy(bulk);
    bson_destroy(opts);
    mongoc_collection_destroy(col);
    mg__end(&c);
    return rc;
}

int mg__product_get(void *vb, const char *sku, store_product *out,
                    store_err *err)
{
    mg_call c;
    mongoc_collection_t *col;
    mongoc_cursor_t *cur;
    const bson_t *d;
    bson_error_t e;
    bson_t *q = BCON_NEW("_id", BCON_UTF8(sku));
    int rc;
    mg__begin(vb, &c);
    col = mg__coll(&c, "products");
    cur = mongoc_collection_find_with_opts(col, q, NULL, NULL);
    if (mongoc_cursor_next(cur, &d)) {
        mg__doc_to_product(d, out);
        rc = 0;
    } else if (mongoc_cursor_error(cur, &e)) {
        rc = mg__err(&e, err, "product get");
    } else {
        rc = store__fail(err, STORE_ENOTFOUND, "no product with sku %s", sku);
    }
    mongoc_cursor_destroy(cur);
    mongoc_collection_destroy(col);
    mg__end(&c);
    bson_destroy(q);
    return rc;
}

int mg__product_delete(void *vb, const char *sku, store_err *err)
{
    mg_call c;
    mongoc_collection_t *col;
    bson_error_t e;
    bson_t reply, *q = BCON_NEW("_id", BCON_UTF8(sku));
    int rc = 0;
    mg__begin(vb, &c);
    col = mg__coll(&c, "products");
    if (!mongoc_collection_delete_one(col, q, NULL, &reply, &e))
        rc = mg__err(&e, err, "product delete");
    else if (mg__reply_int(&reply, "deletedCount") == 0)
        rc = store__fail(err, STORE_ENOTFOUND, "no product with sku %s", sku);
    bson_destroy(&reply);
    mongoc_collection_destroy(col);
    mg__end(&c);
    bson_destroy(q);
    return rc;
}

int mg__product_count(void *vb, int64_t *n, store_err *err)
{
    mg_call c;
    mongoc_collection_t *col;
    bson_error_t e;
    bson_t *q = bson_new();
    int64_t r;
    int rc = 0;
    mg__begin(vb, &c);
    col = mg__coll(&c, "products");
    if ((r = mongoc_collection_count_documents(col, q, NULL, NULL, NULL, &e)) < 0)
        rc = mg__err(&e, err, "product count");
    else
        *n = r;
    mongoc_collection_destroy(col);
    mg__end(&c);
    bson_destroy(q);
    return rc;
}

/* A cursor over the whole collection; the driver fetches in batches. */
int mg__product_each(void *vb, store_product_fn fn, void *ud, store_err *err)
{
    mg_call c;
    mongoc_collection_t *col;
    mongoc_cursor_t *cur;
    const bson_t *d;
    bson_error_t e;
    bson_t *q = bson_new();
    int rc = 0;
    mg__begin(vb, &c);
    col = mg__coll(&c, "products");
    cur = mongoc_collection_find_with_opts(col, q, NULL, NULL);
    while (!rc && mongoc_cursor_next(cur, &d)) {
        store_product p;
        memset(&p, 0, sizeof p);
        mg__doc_to_product(d, &p);
        rc = p.sku && p.title ? fn(ud, &p) : 0;
        store_product_clear(&p);
    }
    if (!rc && mongoc_cursor_error(cur, &e))
        rc = mg__err(&e, err, "product walk");
    mongoc_cursor_destroy(cur);
    mongoc_collection_destroy(col);
    mg__end(&c);
    bson_destroy(q);
    return rc;
}

/* ---------------- search ---------------- */

/* The $match stage: $text over normalised tokens ([a-z0-9] only, so a
 * shopper's quotes or '-' never become $text syntax) plus filters.
 * Returns 1 when the query has text. */
static int build_match(const store_search_query *q, bson_t *m, int *no_words)
{
    store__buf nb = {0};
    int text = 0;
    *no_words = 0;
    if (q->text && *q->text) {
        if (store__normalize(q->text, 0, &nb) == 0 && nb.p && nb.p[0] &&
            strspn(nb.p, " ") < nb.len) {
            bson_t t;
            BSON_APPEND_DOCUMENT_BEGIN(m, "$text", &t);
            BSON_APPEND_UTF8(&t, "$search", nb.p);
            bson_append_document_end(m, &t);
            text = 1;
        } else {
            *no_words = 1;      /* only punctuation: nothing can match */
        }
        store__buf_free(&nb);
    }
    if (q->category && *q->category)
        BSON_APPEND_UTF8(m, "category", q->category);
    if (q->brand && *q->brand) {
        char low[256];
        snprintf(low, sizeof low, "%s", q->brand);
        for (char *c = low; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c - 'A' + 'a');
        BSON_APPEND_UTF8(m, "brandLower", low);
    }
    if (q->price_min >= 0 || q->price_max >= 0) {
        bson_t r;
        BSON_APPEND_DOCUMENT_BEGIN(m, "price", &r);
        if (q->price_min >= 0)
            BSON_APPEND_DOUBLE(&r, "$gte", q->price_min);
        if (q->price_max >= 0)
            BSON_APPEND_DOUBLE(&r, "$lte", q->price_max);
        bson_append_document_end(m, &r);
    }
    if (q->min_rating > 0) {
        bson_t r;
        BSON_APPEND_DOCUMENT_BEGIN(m, "rating", &r);
        BSON_APPEND_DOUBLE(&r, "$gte", q->min_rating);
        bson_append_document_end(m, &r);
    }
    if (q->in_stock) {
        /* not (stock <= 0 and tracked): untracked stock is always available */
        bson_t *nor = BCON_NEW("$nor", "[", "{", "stock", "{", "$lte", BCON_INT32(0), "}", "stockTracked", "{",
                               "$ne", BCON_BOOL(false), "}", "}", "]");
        bson_concat(m, nor);
        bson_destroy(nor);
    }
    return text;
}

static void facet_group(bson_t *facets, const char *name, const char *field)
{
    bson_t *stages = BCON_NEW(
        "0", "{", "$match", "{", field + 1, "{", "$nin", "[", BCON_NULL, BCON_UTF8(""),
            "]", "}", "}", "}",
        "1", "{", "$group", "{", "_id", BCON_UTF8(field), "n", "{", "$sum", BCON_INT32(1),
            "}", "}", "}",
        "2", "{", "$sort", "{", "n", BCON_INT32(-1), "_id", BCON_INT32(1), "}", "}",
        "3", "{", "$limit", BCON_INT32(50), "}");
    BSON_APPEND_ARRAY(facets, name, stages);
    bson_destroy(stages);
}

/* Price buckets as SQLite names them, cheapest first; products without a
 * price (priceKnown false) are in none. */
static void facet_prices(bson_t *facets)
{
    static const struct { double lt; const char *name; } b[] = {
        {25, "0-25"}, {50, "25-50"}, {100, "50-100"}, {250, "100-250"},
        {500, "250-500"}, {1000, "500-1000"},
    };
    bson_t arr, st, grp, id, sw, br, def;
    char k[16];
    const char *ik;
    BSON_APPEND_ARRAY_BEGIN(facets, "prices", &arr);
    {
        bson_t *m = BCON_NEW("$match", "{", "priceKnown", "{", "$ne", BCON_BOOL(false), "}", "}");
        BSON_APPEND_DOCUMENT(&arr, "0", m);
        bson_destroy(m);
    }
    BSON_APPEND_DOCUMENT_BEGIN(&arr, "1", &st);
    BSON_APPEND_DOCUMENT_BEGIN(&st, "$group", &grp);
    BSON_APPEND_DOCUMENT_BEGIN(&grp, "_id", &id);
    BSON_APPEND_DOCUMENT_BEGIN(&id, "$switch", &sw);
    BSON_APPEND_ARRAY_BEGIN(&sw, "branches", &br);
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) {
        bson_t *one = BCON_NEW("case", "{", "$lt", "[", BCON_UTF8("$price"),
                               BCON_DOUBLE(b[i].lt), "]", "}", "then", BCON_UTF8(b[i].name));
        bson_uint32_to_string((uint32_t)i, &ik, k, sizeof k);
        BSON_APPEND_DOCUMENT(&br, ik, one);
        bson_destroy(one);
    }
    bson_append_array_end(&sw, &br);
    BSON_APPEND_UTF8(&sw, "default", "1000+");
    bson_append_document_end(&id, &sw);
    bson_append_document_end(&grp, &id);
    BSON_APPEND_DOCUMENT_BEGIN(&grp, "n", &def);
    BSON_APPEND_INT32(&def, "$sum", 1);
    bson_append_document_end(&grp, &def);
    {
        bson_t lo;
        BSON_APPEND_DOCUMENT_BEGIN(&grp, "lo", &lo);
        BSON_APPEND_UTF8(&lo, "$min", "$price");
        bson_append_document_end(&grp, &lo);
    }
    bson_append_document_end(&st, &grp);
    bson_append_document_end(&arr, &st);
    {
        bson_t *s = BCON_NEW("$sort", "{", "lo", BCON_INT32(1), "}");
        BSON_APPEND_DOCUMENT(&arr, "2", s);
        bson_destroy(s);
    }
    bson_append_array_end(facets, &arr);
}

static void sort_spec(const store_search_query *q, int text, bson_t *s)
{
    switch (q->sort) {
    case STORE_SORT_PRICE_ASC: BSON_APPEND_INT32(s, "price", 1); break;
    case STORE_SORT_PRICE_DESC: BSON_APPEND_INT32(s, "price", -1); break;
    case STORE_SORT_RATING: BSON_APPEND_INT32(s, "rating", -1); break;
    default:
        if (!text)
            BSON_APPEND_INT32(s, "rating", -1);
        break;
    }
    if (text)
        BSON_APPEND_INT32(s, "_score", -1);
    BSON_APPEND_INT32(s, "_id", 1);
}

static int read_facets(const bson_t *d, const char *name, store_facet **out,
                       size_t *n)
{
    bson_iter_t it, a, e;
    size_t cap = 0;
    if (!bson_iter_init_find(&it, d, name) || !bson_iter_recurse(&it, &a))
        return 0;
    while (bson_iter_next(&a)) {
        bson_t one;
        const uint8_t *data;
        uint32_t len;
        if (!BSON_ITER_HOLDS_DOCUMENT(&a))
            continue;
        bson_iter_document(&a, &len, &data);
        if (!bson_init_static(&one, data, len) || !mg__str(&one, "_id"))
            continue;
        if (*n == cap) {
            store_facet *nf = realloc(*out, (cap = cap ? cap * 2 : 8) * sizeof *nf);
            if (!nf)
                return -1;
            *out = nf;
        }
        (*out)[*n].value = strdup(mg__str(&one, "_id"));
        (*out)[*n].count = bson_iter_init_find(&e, &one, "n") ? bson_iter_as_int64(&e) : 0;
        (*n)++;
    }
    return 0;
}

static int read_result(const bson_t *d, store_search_result *out)
{
    bson_iter_t it, a, e;
    size_t cap = 0;
    if (bson_iter_init(&it, d) && bson_iter_find_descendant(&it, "total.0.n", &e))
        out->total = bson_iter_as_int64(&e);
    if (bson_iter_init_find(&it, d, "hits") && bson_iter_recurse(&it, &a)) {
        while (bson_iter_next(&a)) {
            bson_t one;
            const uint8_t *data;
            uint32_t len;
            bson_iter_document(&a, &len, &data);
            if (!bson_init_static(&one, data, len))
                continue;
            if (out->n_hits == cap) {
                store_search_hit *nh = realloc(out->hits, (cap = cap ? cap * 2 : 16) * sizeof *nh);
                if (!nh)
                    return -1;
                out->hits = nh;
            }
            mg__doc_to_product(&one, &out->hits[out->n_hits].product);
            out->hits[out->n_hits].score = mg__num(&one, "_score");
            out->n_hits++;
        }
    }
    if (read_facets(d, "categories", &out->categories, &out->n_categories) ||
        read_facets(d, "brands", &out->brands, &out->n_brands) ||
        read_facets(d, "prices", &out->prices, &out->n_prices))
        return -1;
    return 0;
}

int mg__search(void *vb, const store_search_query *q, store_search_result *out,
               store_err *err)
{
    mg_call c;
    mongoc_collection_t *col;
    mongoc_cursor_t *cur;
    const bson_t *d;
    bson_error_t e;
    bson_t pipe = BSON_INITIALIZER, st, m, facets, hits, s, tmp;
    int text, no_words, rc = 0, limit = q->limit > 0 ? q->limit : 20;

    BSON_APPEND_DOCUMENT_BEGIN(&pipe, "0", &st);
    BSON_APPEND_DOCUMENT_BEGIN(&st, "$match", &m);
    text = build_match(q, &m, &no_words);
    bson_append_document_end(&st, &m);
    bson_append_document_end(&pipe, &st);
    if (no_words) {
        bson_destroy(&pipe);
        return 0;
    }
    if (text) {
        bson_t *af = BCON_NEW("$addFields", "{", "_score", "{", "$meta",
                              BCON_UTF8("textScore"), "}", "}");
        BSON_APPEND_DOCUMENT(&pipe, "1", af);
        bson_destroy(af);
    }
    BSON_APPEND_DOCUMENT_BEGIN(&pipe, text ? "2" : "1", &st);
    BSON_APPEND_DOCUMENT_BEGIN(&st, "$facet", &facets);
    BSON_APPEND_ARRAY_BEGIN(&facets, "hits", &hits);
    BSON_APPEND_DOCUMENT_BEGIN(&hits, "0", &tmp);
    BSON_APPEND_DOCUMENT_BEGIN(&tmp, "$sort", &s);
    sort_spec(q, text, &s);
    bson_append_document_end(&tmp, &s);
    bson_append_document_end(&hits, &tmp);
    BSON_APPEND_DOCUMENT_BEGIN(&hits, "1", &tmp);
    BSON_APPEND_INT64(&tmp, "$skip", q->offset);
    bson_append_document_end(&hits, &tmp);
    BSON_APPEND_DOCUMENT_BEGIN(&hits, "2", &tmp);
    BSON_APPEND_INT64(&tmp, "$limit", limit);
    bson_append_document_end(&hits, &tmp);
    bson_append_array_end(&facets, &hits);
    {
        bson_t *cnt = BCON_NEW("0", "{", "$count", BCON_UTF8("n"), "}");
        BSON_APPEND_ARRAY(&facets, "total", cnt);
        bson_destroy(cnt);
    }
    if (q->flags & STORE_SEARCH_FACETS) {
        facet_group(&facets, "categories", "$category");
        facet_group(&facets, "brands", "$brand");
        facet_prices(&facets);
    }
    bson_append_document_end(&st, &facets);
    bson_append_document_end(&pipe, &st);

    mg__begin(vb, &c);
    col = mg__coll(&c, "products");
    cur = mongoc_collection_aggregate(col, MONGOC_QUERY_NONE, &pipe, NULL, NULL);
    if (mongoc_cursor_next(cur, &d)) {
        if (read_result(d, out) != 0)
            rc = store__fail(err, STORE_ENOMEM, "out of memory");
    } else if (mongoc_cursor_error(cur, &e)) {
        rc = mg__err(&e, err, "search");
    }
    mongoc_cursor_destroy(cur);
    mongoc_collection_destroy(col);
    mg__end(&c);
    bson_destroy(&pipe);
    if (rc)
        store_search_result_free(out);
    return rc;
}
