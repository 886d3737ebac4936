/* stores/mongo/mongo_catalog.c — the catalog on MongoDB: upserts by sku,
 * reads, counts and walks (search is in mongo_search.c). */
#include "mongo_int.h"

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
    mg__catalog_written(vb);
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
    mg__catalog_written(vb);
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
