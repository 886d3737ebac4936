/* stores/mongo/mongo_conn.c — what every part of the MongoDB backend
 * uses: a call's client and collections, errors, reading fields of a
 * reply, counters for ids, and a product as a document and back. It calls
 * nothing of the files that use it: mongo_store.c opens the backend and
 * holds its vtable. */
#include "mongo_int.h"

#include <stdlib.h>
#include <string.h>

void mg__begin(mg *b, mg_call *c)
{
    c->b = b;
    c->client = mongoc_client_pool_pop(b->pool);
}

void mg__end(mg_call *c)
{
    if (c->client)
        mongoc_client_pool_push(c->b->pool, c->client);
    c->client = NULL;
}

mongoc_collection_t *mg__coll(mg_call *c, const char *name)
{
    return mongoc_client_get_collection(c->client, c->b->db, name);
}

int mg__is_dup(const bson_error_t *e)
{
    return e->code == 11000 || e->code == 11001;
}

int mg__err(const bson_error_t *e, store_err *err, const char *what)
{
    if (mg__is_dup(e))
        return store__fail(err, STORE_EEXIST, "%s: duplicate key", what);
    if (e->domain == MONGOC_ERROR_SERVER_SELECTION || e->domain == MONGOC_ERROR_STREAM)
        return store__fail(err, STORE_EUNAVAIL, "MongoDB unreachable (%s): %s",
                           what, e->message);
    return store__fail(err, STORE_EIO, "MongoDB %s: %s", what, e->message);
}

int64_t mg__reply_int(const bson_t *reply, const char *field)
{
    bson_iter_t it;
    if (reply && bson_iter_init_find(&it, reply, field) &&
        BSON_ITER_HOLDS_NUMBER(&it))
        return bson_iter_as_int64(&it);
    return 0;
}

const char *mg__str(const bson_t *doc, const char *field)
{
    bson_iter_t it;
    if (bson_iter_init_find(&it, doc, field) && BSON_ITER_HOLDS_UTF8(&it))
        return bson_iter_utf8(&it, NULL);
    return NULL;
}

double mg__num(const bson_t *doc, const char *field)
{
    bson_iter_t it;
    if (bson_iter_init_find(&it, doc, field) && BSON_ITER_HOLDS_NUMBER(&it))
        return bson_iter_as_double(&it);
    return 0;
}

int mg__next_id(mg_call *c, const char *name, int64_t *id, store_err *err)
{
    mongoc_collection_t *col = mg__coll(c, "counters");
    mongoc_find_and_modify_opts_t *o = mongoc_find_and_modify_opts_new();
    bson_t *q = BCON_NEW("_id", BCON_UTF8(name));
    bson_t *u = BCON_NEW("$inc", "{", "seq", BCON_INT64(1), "}");
    bson_t reply;
    bson_error_t e;
    bson_iter_t it;
    int rc = 0;
    mongoc_find_and_modify_opts_set_update(o, u);
    mongoc_find_and_modify_opts_set_flags(o, MONGOC_FIND_AND_MODIFY_UPSERT |
                                             MONGOC_FIND_AND_MODIFY_RETURN_NEW);
    if (!mongoc_collection_find_and_modify_with_opts(col, q, o, &reply, &e))
        rc = mg__err(&e, err, "sequence");
    else if (bson_iter_init(&it, &reply) && bson_iter_find_descendant(&it, "value.seq", &it))
        *id = bson_iter_as_int64(&it);
    else
        rc = store__fail(err, STORE_EIO, "MongoDB sequence %s: no value", name);
    bson_destroy(&reply);
    bson_destroy(q);
    bson_destroy(u);
    mongoc_find_and_modify_opts_destroy(o);
    mongoc_collection_destroy(col);
    return rc;
}

static void append_strs(bson_t *doc, const char *key, char **v, size_t n)
{
    bson_t arr;
    char idx[16];
    const char *ik;
    BSON_APPEND_ARRAY_BEGIN(doc, key, &arr);
    for (size_t i = 0; i < n; i++) {
        bson_uint32_to_string((uint32_t)i, &ik, idx, sizeof idx);
        bson_append_utf8(&arr, ik, -1, v[i] ? v[i] : "", -1);
    }
    bson_append_array_end(doc, &arr);
}

void mg__append_opt(bson_t *doc, const char *key, const char *v)
{
    if (v)
        BSON_APPEND_UTF8(doc, key, v);
    else
        BSON_APPEND_NULL(doc, key);
}

/* The search fields hold the shared normaliser's tokens, so units and
 * numbers match exactly as they do on SQLite. */
static int append_norm(bson_t *doc, const char *key, const char *text)
{
    store__buf nb = {0};
    if (store__normalize(text ? text : "", 1, &nb) != 0)
        return -1;
    BSON_APPEND_UTF8(doc, key, nb.p ? nb.p : "");
    store__buf_free(&nb);
    return 0;
}

int mg__product_doc(const store_product *p, bson_t *doc, store_err *err)
{
    store__buf tags = {0};
    char low[256];
    int bad = 0;
    for (size_t i = 0; i < p->n_tags; i++)
        if (store__buf_adds(&tags, p->tags[i] ? p->tags[i] : "") ||
            store__buf_adds(&tags, " "))
            bad = 1;
    snprintf(low, sizeof low, "%s", p->brand ? p->brand : "");
    for (char *c = low; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char)(*c - 'A' + 'a');
    BSON_APPEND_UTF8(doc, "_id", p->sku);
    BSON_APPEND_UTF8(doc, "sku", p->sku);
    BSON_APPEND_UTF8(doc, "title", p->title);
    mg__append_opt(doc, "brand", p->brand);
    BSON_APPEND_UTF8(doc, "brandLower", low);
    mg__append_opt(doc, "category", p->category);
    mg__append_opt(doc, "description", p->description);
    mg__append_opt(doc, "thumbnail", p->thumbnail);
    append_strs(doc, "images", p->images, p->n_images);
    append_strs(doc, "tags", p->tags, p->n_tags);
    BSON_APPEND_DOUBLE(doc, "price", p->price);
    BSON_APPEND_DOUBLE(doc, "discountPercentage", p->discount_pct);
    BSON_APPEND_DOUBLE(doc, "rating", p->rating);
    BSON_APPEND_INT64(doc, "stock", p->stock_untracked ? 0 : p->stock);
    BSON_APPEND_BOOL(doc, "stockTracked", !p->stock_untracked);
    BSON_APPEND_BOOL(doc, "priceKnown", !p->price_missing);
    /* the other facts as an embedded document (null: none), so MongoDB
     * queries can reach them; the store checked they are a JSON object */
    if (p->facts) {
        bson_t facts;
        bson_error_t je;
        if (!bson_init_from_json(&facts, p->facts, -1, &je)) {
            store__buf_free(&tags);
            return store__fail(err, STORE_EINVAL, "product %s: facts: %s", p->sku, je.message);
        }
        BSON_APPEND_DOCUMENT(doc, "facts", &facts);
        bson_destroy(&facts);
    } else {
        BSON_APPEND_NULL(doc, "facts");
    }
    bad |= append_norm(doc, "searchTitle", p->title) ||
           append_norm(doc, "searchBrand", p->brand) ||
           append_norm(doc, "searchCategory", p->category) ||
           append_norm(doc, "searchTags", tags.p) ||
           append_norm(doc, "searchDescription", p->description);
    store__buf_free(&tags);
    return bad ? store__fail(err, STORE_ENOMEM, "out of memory") : 0;
}

static char **strs_of(const bson_t *doc, const char *field, size_t *n)
{
    bson_iter_t it, a;
    char **v = NULL;
    size_t cap = 0;
    *n = 0;
    if (!bson_iter_init_find(&it, doc, field) || !BSON_ITER_HOLDS_ARRAY(&it) ||
        !bson_iter_recurse(&it, &a))
        return NULL;
    while (bson_iter_next(&a)) {
        if (!BSON_ITER_HOLDS_UTF8(&a))
            continue;
        if (*n == cap) {
            char **nv = realloc(v, (cap = cap ? cap * 2 : 4) * sizeof *nv);
            if (!nv)
                break;
            v = nv;
        }
        v[(*n)++] = strdup(bson_iter_utf8(&a, NULL));
    }
    return v;
}

void mg__doc_to_product(const bson_t *doc, store_product *p)
{
    memset(p, 0, sizeof *p);
    p->sku = store__strdup(mg__str(doc, "sku"));
    p->title = store__strdup(mg__str(doc, "title"));
    p->brand = store__strdup(mg__str(doc, "brand"));
    p->category = store__strdup(mg__str(doc, "category"));
    p->description = store__strdup(mg__str(doc, "description"));
    p->thumbnail = store__strdup(mg__str(doc, "thumbnail"));
    p->images = strs_of(doc, "images", &p->n_images);
    p->tags = strs_of(doc, "tags", &p->n_tags);
    p->price = mg__num(doc, "price");
    p->discount_pct = mg__num(doc, "discountPercentage");
    p->rating = mg__num(doc, "rating");
    bson_iter_t it;
    p->stock_untracked = bson_iter_init_find(&it, doc, "stockTracked") && BSON_ITER_HOLDS_BOOL(&it) &&
                         !bson_iter_bool(&it);
    p->stock = p->stock_untracked ? 0 : (int64_t)mg__num(doc, "stock");
    p->price_missing = bson_iter_init_find(&it, doc, "priceKnown") && BSON_ITER_HOLDS_BOOL(&it) &&
                       !bson_iter_bool(&it);
    /* back to JSON text: relaxed extended JSON writes numbers as numbers */
    if (bson_iter_init_find(&it, doc, "facts") && BSON_ITER_HOLDS_DOCUMENT(&it)) {
        const uint8_t *data;
        uint32_t len;
        bson_t facts;
        bson_iter_document(&it, &len, &data);
        if (bson_init_static(&facts, data, len)) {
            char *j = bson_as_relaxed_extended_json(&facts, NULL);
            p->facts = store__strdup(j);
            bson_free(j);
        }
    }
}

/* ---------------- open / close ---------------- */

