/* stores/sqlite/sqlite_catalog.c — products on SQLite: upsert by sku with
 * the full-text row rewritten from normalised text in the same
 * transaction, lookups, deletes and the full reindex used by migrations. */
#include "sqlite_int.h"

#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define TXT(st, i, s) sqlite3_bind_text((st), (i), (s), -1, SQLITE_TRANSIENT)

static char *arr_json(char **v, size_t n)
{
    json_object *a = json_object_new_array();
    char *s;
    for (size_t i = 0; i < n; i++)
        json_object_array_add(a, json_object_new_string(v[i] ? v[i] : ""));
    s = strdup(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN));
    json_object_put(a);
    return s;
}

/* The list arr_json wrote (strings only, escaped by json-c), read
 * without a parser: sets *out (NULL when empty) and *n and returns 1, or
 * returns 0 when the text holds anything else (a \u escape, a number,
 * nesting, a syntax error), which json-c then reads as it always did.
 * Every product a search or a lookup returns reads two of these. */
static int str_arr_fast(const char *t, char ***out, size_t *n)
{
    char **v = NULL;
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    while (*t == ' ')
        t++;
    if (*t++ != '[')
        return 0;
    while (*t == ' ')
        t++;
    if (*t == ']') {
        t++;
        goto end;
    }
    for (;;) {
        const char *e;
        size_t len = 0;
        char *d, *w;
        if (*t++ != '"')
            goto fail;
        for (e = t; *e && *e != '"'; e++, len++)
            if (*e == '\\') {
                if (!e[1] || !strchr("\"\\/bfnrt", e[1]))
                    goto fail;
                e++;
            }
        if (*e != '"')
            goto fail;
        if (*n == cap) {
            char **nv = realloc(v, (cap = cap ? 2 * cap : 4) * sizeof *nv);
            if (!nv)
                goto fail;
            v = nv;
        }
        if (!(w = d = malloc(len + 1)))
            goto fail;
        for (; t < e; t++) {
            if (*t != '\\') {
                *w++ = *t;
                continue;
            }
            switch (*++t) {
            case 'b': *w++ = '\b'; break;
            case 'f': *w++ = '\f'; break;
            case 'n': *w++ = '\n'; break;
            case 'r': *w++ = '\r'; break;
            case 't': *w++ = '\t'; break;
            default: *w++ = *t;   /* " \ / */
            }
        }
        *w = '\0';
        v[(*n)++] = d;
        t = e + 1;
        while (*t == ' ')
            t++;
        if (*t == ',') {
            t++;
            while (*t == ' ')
                t++;
            continue;
        }
        if (*t++ != ']')
            goto fail;
        break;
    }
end:
    while (*t == ' ')
        t++;
    if (*t)
        goto fail;
    *out = v;
    return 1;
fail:
    for (size_t i = 0; i < *n; i++)
        free(v[i]);
    free(v);
    *out = NULL;
    *n = 0;
    return 0;
}

static char **json_arr(const char *t, size_t *n)
{
    json_object *a;
    char **v = NULL;
    size_t len;
    *n = 0;
    if (!t)
        return NULL;
    if (str_arr_fast(t, &v, n))
        return v;
    a = json_tokener_parse(t);
    if (a && json_object_is_type(a, json_type_array) &&
        (len = json_object_array_length(a)) && (v = calloc(len, sizeof *v)))
        for (size_t i = 0; i < len; i++) {
            json_object *e = json_object_array_get_idx(a, i);
            v[(*n)++] = strdup(e ? json_object_get_string(e) : "");
        }
    json_object_put(a);
    return v;
}

/* Write the full-text row for product `id`.  Text goes through the shared
 * normaliser so measurements are indexed the way queries spell them. */
static int index_row(sq_conn *c, int64_t id, const char *title,
                     const char *brand, const char *category,
                     const char *desc, const char *tags_text, store_err *err)
{
    const char *src[5] = {title, brand, category, desc, tags_text};
    store__buf nb[5] = {{0}};
    sqlite3_stmt *st;
    int rc = 0, r;

    for (int i = 0; i < 5 && !rc; i++)
        rc = store__normalize(src[i] ? src[i] : "", 1, &nb[i]);
    if (rc) {
        rc = store__fail(err, STORE_ENOMEM, "out of memory");
        goto out;
    }
    if (!(st = sq__prep(c, "DELETE FROM products_fts WHERE rowid = ?", err))) {
        rc = err ? err->code : STORE_EIO;
        goto out;
    }
    sqlite3_bind_int64(st, 1, id);
    r = sqlite3_step(st);
    sqlite3_reset(st);
    if (r != SQLITE_DONE) {
        rc = sq__err(c, r, err, "index");
        goto out;
    }
    if (!(st = sq__prep(c, "INSERT INTO products_fts(rowid, title, brand,"
                           " category, description, tags) VALUES(?,?,?,?,?,?)",
                        err))) {
        rc = err ? err->code : STORE_EIO;
        goto out;
    }
    sqlite3_bind_int64(st, 1, id);
    for (int i = 0; i < 5; i++)
        TXT(st, i + 2, nb[i].p);
    r = sqlite3_step(st);
    sqlite3_reset(st);
    if (r != SQLITE_DONE)
        rc = sq__err(c, r, err, "index");
out:
    for (int i = 0; i < 5; i++)
        store__buf_free(&nb[i]);
    return rc;
}

static char *join_tags(char **v, size_t n)
{
    store__buf b = {0};
    store__buf_add(&b, "", 0);
    for (size_t i = 0; i < n; i++) {
        if (i)
            store__buf_add(&b, " ", 1);
        store__buf_adds(&b, v[i] ? v[i] : "");
    }
    return b.p;
}

int sq__bump_generation(sq_conn *c, store_err *err)
{
    return sq__exec(c, "UPDATE catalog_meta SET v = v + 1 WHERE k = 'generation'",
                    err);
}

int sq__reindex_all(sq_conn *c, store_err *err)
{
    sqlite3_stmt *st;
    int rc, r;
    if ((rc = sq__exec(c, "DELETE FROM products_fts", err)) != 0)
        return rc;
    /* not cached: a long-lived cursor while index_row uses the cache */
    if ((r = sqlite3_prepare_v2(c->db, "SELECT id, title, brand, category,"
                                       " description, tags FROM products", -1,
                                &st, NULL)) != SQLITE_OK)
        return sq__err(c, r, err, "reindex");
    while ((r = sqlite3_step(st)) == SQLITE_ROW && !rc) {
        size_t n;
        char **tags = json_arr((const char *)sqlite3_column_text(st, 5), &n);
        char *tt = join_tags(tags, n);
        rc = index_row(c, sqlite3_column_int64(st, 0),
                       (const char *)sqlite3_column_text(st, 1),
                       (const char *)sqlite3_column_text(st, 2),
                       (const char *)sqlite3_column_text(st, 3),
                       (const char *)sqlite3_column_text(st, 4), tt, err);
        free(tt);
        for (size_t i = 0; i < n; i++)
            free(tags[i]);
        free(tags);
    }
    if (!rc && r != SQLITE_DONE)
        rc = sq__err(c, r, err, "reindex");
    sqlite3_finalize(st);
    return rc ? rc : sq__bump_generation(c, err);
}

static int valid(const store_product *p, store_err *err)
{
    if (!p->sku || !*p->sku || strlen(p->sku) >= 128)
        return store__fail(err, STORE_EINVAL, "sku missing or longer than 127");
    if (!p->title || !*p->title)
        return store__fail(err, STORE_EINVAL, "product %s: title missing", p->sku);
    if (!isfinite(p->price) || p->price < 0)
        return store__fail(err, STORE_EINVAL, "product %s: price must be >= 0",
                           p->sku);
    if (p->stock < 0)
        return store__fail(err, STORE_EINVAL, "product %s: stock must be >= 0",
                           p->sku);
    if (!isfinite(p->rating) || p->rating < 0 || p->rating > 5)
        return store__fail(err, STORE_EINVAL, "product %s: rating must be 0..5",
                           p->sku);
    return 0;
}

static int upsert_one(sq_conn *c, const store_product *p, int64_t now,
                      store_err *err)
{
    sqlite3_stmt *st;
    char *images = arr_json(p->images, p->n_images);
    char *tags = arr_json(p->tags, p->n_tags);
    char *tt = join_tags(p->tags, p->n_tags);
    int64_t id = 0;
    int rc = 0, r;

    if (!images || !tags || !tt) {
        rc = store__fail(err, STORE_ENOMEM, "out of memory");
        goto out;
    }
    if (!(st = sq__prep(c, "INSERT INTO products(sku, title, brand, category,"
                           " description, thumbnail, images, tags, price,"
                           " discount_pct, rating, stock, updated_at, stock_tracked, price_known,"
                           " facts) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
                           " ON CONFLICT(sku) DO UPDATE SET title=excluded.title,"
                           " brand=excluded.brand, category=excluded.category,"
                           " description=excluded.description,"
                           " thumbnail=excluded.thumbnail, images=excluded.images,"
                           " tags=excluded.tags, price=excluded.price,"
                           " discount_pct=excluded.discount_pct,"
                           " rating=excluded.rating, stock=excluded.stock,"
                           " stock_tracked=excluded.stock_tracked,"
                           " price_known=excluded.price_known, facts=excluded.facts,"
                           " updated_at=excluded.updated_at RETURNING id", err))) {
        rc = err ? err->code : STORE_EIO;
        goto out;
    }
    TXT(st, 1, p->sku);
    TXT(st, 2, p->title);
    TXT(st, 3, p->brand);
    TXT(st, 4, p->category);
    TXT(st, 5, p->description);
    TXT(st, 6, p->thumbnail);
    TXT(st, 7, images);
    TXT(st, 8, tags);
    sqlite3_bind_double(st, 9, p->price);
    sqlite3_bind_double(st, 10, p->discount_pct);
    sqlite3_bind_double(st, 11, p->rating);
    sqlite3_bind_int64(st, 12, p->stock_untracked ? 0 : p->stock);
    sqlite3_bind_int64(st, 13, now);
    sqlite3_bind_int(st, 14, !p->stock_untracked);
    sqlite3_bind_int(st, 15, !p->price_missing);
    TXT(st, 16, p->facts);   /* NULL: none, as the other optional fields */
    if ((r = sqlite3_step(st)) == SQLITE_ROW)
        id = sqlite3_column_int64(st, 0);
    else
        rc = sq__err(c, r, err, "upsert");
    sqlite3_step(st);   /* finish RETURNING */
    sqlite3_reset(st);
    if (!rc)
        rc = index_row(c, id, p->title, p->brand, p->category, p->description,
                       tt, err);
out:
    free(images);
    free(tags);
    free(tt);
    return rc;
}

int sq__product_upsert_many(void *vb, const store_product *p, size_t n,
                            size_t *failed, store_err *err)
{
    sq *b = vb;
    sq_conn *c;
    struct timeval tv;
    int64_t now;
    int rc;

    for (size_t i = 0; i < n; i++)
        if ((rc = valid(&p[i], err)) != 0) {
            if (failed)
                *failed = i;
            return rc;
        }
    if (n == 0)
        return 0;
    gettimeofday(&tv, NULL);
    now = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
    if ((rc = sq__acquire(b, &c, err)) != 0)
        return rc;
    if ((rc = sq__begin(c, err)) != 0)
        goto out;
    for (size_t i = 0; i < n && !rc; i++)
        if ((rc = upsert_one(c, &p[i], now, err)) != 0 && failed)
            *failed = i;
    if (!rc && !(rc = sq__bump_generation(c, err)))
        rc = sq__commit(c, err);
out:
    sq__rollback(c);
    sq__release(b, c);
    return rc;
}

void sq__row_to_product(sqlite3_stmt *st, int col0, store_product *p)
{
    memset(p, 0, sizeof *p);
    p->sku = sq__text_dup(st, col0 + 0);
    p->title = sq__text_dup(st, col0 + 1);
    p->brand = sq__text_dup(st, col0 + 2);
    p->category = sq__text_dup(st, col0 + 3);
    p->description = sq__text_dup(st, col0 + 4);
    p->thumbnail = sq__text_dup(st, col0 + 5);
    p->images = json_arr((const char *)sqlite3_column_text(st, col0 + 6),
                         &p->n_images);
    p->tags = json_arr((const char *)sqlite3_column_text(st, col0 + 7), &p->n_tags);
    p->price = sqlite3_column_double(st, col0 + 8);
    p->discount_pct = sqlite3_column_double(st, col0 + 9);
    p->rating = sqlite3_column_double(st, col0 + 10);
    p->stock = sqlite3_column_int64(st, col0 + 11);
    p->stock_untracked = sqlite3_column_int(st, col0 + 12) == 0;
    p->price_missing = sqlite3_column_int(st, col0 + 13) == 0;
}

int sq__product_get(void *vb, const char *sku, store_product *out,
                    store_err *err)
{
    sq *b = vb;
    sq_conn *c;
    sqlite3_stmt *st;
    int rc = sq__acquire(b, &c, err), r;
    if (rc)
        return rc;
    if (!(st = sq__prep(c, "SELECT sku, title, brand, category, description,"
                           " thumbnail, images, tags, price, discount_pct,"
                           " rating, stock, stock_tracked, price_known, facts"
                           " FROM products WHERE sku = ?", err))) {
        rc = err ? err->code : STORE_EIO;
        goto out;
    }
    TXT(st, 1, sku);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        sq__row_to_product(st, 0, out);
        out->facts = sq__text_dup(st, 14);
    } else if (r == SQLITE_DONE)
        rc = store__fail(err, STORE_ENOTFOUND, "no product with sku %s", sku);
    else
        rc = sq__err(c, r, err, "product");
    sqlite3_reset(st);
out:
    sq__release(b, c);
    return rc;
}

int sq__product_delete(void *vb, const char *sku, store_err *err)
{
    sq *b = vb;
    sq_conn *c;
    sqlite3_stmt *st;
    int64_t id = 0;
    int rc = sq__acquire(b, &c, err), r;
    if (rc)
        return rc;
    if ((rc = sq__begin(c, err)) != 0)
        goto out;
    if (!(st = sq__prep(c, "DELETE FROM products WHERE sku = ? RETURNING id",
                        err))) {
        rc = err ? err->code : STORE_EIO;
        goto out;
    }
    TXT(st, 1, sku);
    if ((r = sqlite3_step(st)) == SQLITE_ROW)
        id = sqlite3_column_int64(st, 0);
    else if (r != SQLITE_DONE)
        rc = sq__err(c, r, err, "delete");
    sqlite3_step(st);
    sqlite3_reset(st);
    if (!rc && !id)
        rc = store__fail(err, STORE_ENOTFOUND, "no product with sku %s", sku);
    if (!rc && (st = sq__prep(c, "DELETE FROM products_fts WHERE rowid = ?",
                              err))) {
        sqlite3_bind_int64(st, 1, id);
        r = sqlite3_step(st);
        sqlite3_reset(st);
        if (r != SQLITE_DONE)
            rc = sq__err(c, r, err, "delete");
    }
    if (!rc && !(rc = sq__bump_generation(c, err)))
        rc = sq__commit(c, err);
out:
    sq__rollback(c);
    sq__release(b, c);
    return rc;
}

int sq__product_count(void *vb, int64_t *n, store_err *err)
{
    sq *b = vb;
    sq_conn *c;
    sqlite3_stmt *st;
    int rc = sq__acquire(b, &c, err);
    if (rc)
        return rc;
    if (!(st = sq__prep(c, "SELECT count(*) FROM products", err)))
        rc = err ? err->code : STORE_EIO;
    else if (sqlite3_step(st) == SQLITE_ROW)
        *n = sqlite3_column_int64(st, 0);
    else
        rc = sq__err(c, SQLITE_ERROR, err, "count");
    if (st)
        sqlite3_reset(st);
    sq__release(b, c);
    return rc;
}

/* One read statement over the table in rowid order: WAL readers do not
 * block writers, and nothing is held beyond the current row. */
int sq__product_each(void *vb, store_product_fn fn, void *ud, store_err *err)
{
    sq *b = vb;
    sq_conn *c;
    sqlite3_stmt *st;
    int rc = sq__acquire(b, &c, err), r;
    if (rc)
        return rc;
    if (!(st = sq__prep(c, "SELECT sku, title, brand, category, description,"
                           " thumbnail, images, tags, price, discount_pct,"
                           " rating, stock, stock_tracked, price_known FROM products ORDER BY id", err))) {
        rc = err ? err->code : STORE_EIO;
        goto out;
    }
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        store_product p;
        memset(&p, 0, sizeof p);
        sq__row_to_product(st, 0, &p);
        rc = p.sku && p.title ? fn(ud, &p) : 0;
        store_product_clear(&p);
        if (rc)
            break;
    }
    if (!rc && r != SQLITE_DONE)
        rc = sq__err(c, r, err, "product walk");
    sqlite3_reset(st);
out:
    sq__release(b, c);
    return rc;
}

int sq__catalog_generation(void *vb, int64_t *gen, store_err *err)
{
    sq *b = vb;
    sq_conn *c;
    sqlite3_stmt *st;
    int rc = sq__acquire(b, &c, err);
    if (rc)
        return rc;
    if (!(st = sq__prep(c, "SELECT v FROM catalog_meta WHERE k = 'generation'", err)))
        rc = err ? err->code : STORE_EIO;
    else if (sqlite3_step(st) == SQLITE_ROW)
        *gen = sqlite3_column_int64(st, 0);
    else
        rc = sq__err(c, SQLITE_ERROR, err, "catalog generation");
    if (st)
        sqlite3_reset(st);
    sq__release(b, c);
    return rc;
}
