/* stores/sqlite/sqlite_scache.c — search results kept for the next shopper
 * who asks the same: a few hundred results, each under the whole query
 * (text, filters, sort, page, flags) and the catalog's generation, least
 * recently used out; a result of more than SQ_SCACHE_MAX_BYTES is not
 * kept, which bounds their memory.  Every product write bumps the generation in the
 * database (sq__bump_generation), in this process or another sharing the
 * file, so a kept result is never older than the catalog's words, prices
 * and categories.  Stock is the exception: an order takes it without a
 * new generation.  So a kept result's stock is read afresh for its hits
 * when it is handed out, and a search filtered on stock is never kept
 * (which products it holds depends on stock). */
#include "sqlite_int.h"

#include <stdlib.h>
#include <string.h>

#define SQ_SCACHE_MAX_BYTES (64 * 1024)

struct sq_scache {
    char *key;
    size_t key_len;
    int64_t gen;
    uint64_t used;           /* b->stick when last handed out; 0: free */
    store_search_result r;
};

/* The query as bytes: every field, strings with their length first (a
 * field added to store_search_query must be added here too). */
static int make_key(const store_search_query *q, store__buf *k)
{
    const char *s[5] = {q->text, q->category, q->brand, q->not_brand, q->not_word};
    double d[3] = {q->price_min, q->price_max, q->min_rating};
    int i[5] = {q->flags, (int)q->sort, q->limit, q->offset, q->in_stock};
    int rc = 0;
    for (int n = 0; n < 5; n++) {
        size_t len = s[n] ? strlen(s[n]) + 1 : 0;   /* NULL and "" differ */
        rc |= store__buf_add(k, (const char *)&len, sizeof len);
        if (len)
            rc |= store__buf_add(k, s[n], len);
    }
    rc |= store__buf_add(k, (const char *)d, sizeof d);
    rc |= store__buf_add(k, (const char *)i, sizeof i);
    return rc;
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static char **dup_list(char **v, size_t n, int keep_nulls)
{
    char **o;
    if (!v || !n || !(o = calloc(n, sizeof *o)))
        return NULL;
    for (size_t i = 0; i < n; i++)
        o[i] = keep_nulls ? dup_or_null(v[i]) : strdup(v[i] ? v[i] : "");
    return o;
}

static void product_copy(store_product *d, const store_product *s)
{
    *d = *s;
    d->sku = dup_or_null(s->sku);
    d->title = dup_or_null(s->title);
    d->brand = dup_or_null(s->brand);
    d->category = dup_or_null(s->category);
    d->description = dup_or_null(s->description);
    d->thumbnail = dup_or_null(s->thumbnail);
    d->thumbnail_media = dup_or_null(s->thumbnail_media);
    d->images = dup_list(s->images, s->n_images, 0);
    d->n_images = d->images ? s->n_images : 0;
    d->images_media = d->images ? dup_list(s->images_media, s->n_images, 1) : NULL;
    d->tags = dup_list(s->tags, s->n_tags, 0);
    d->n_tags = d->tags ? s->n_tags : 0;
}

static store_facet *facets_copy(const store_facet *f, size_t n, size_t *n_out)
{
    store_facet *o;
    *n_out = 0;
    if (!f || !n || !(o = calloc(n, sizeof *o)))
        return NULL;
    for (size_t i = 0; i < n; i++) {
        o[i].value = dup_or_null(f[i].value);
        o[i].count = f[i].count;
    }
    *n_out = n;
    return o;
}

/* A deep copy of s into d (zeroed first).  A copy cut short by memory
 * holds fewer hits or facets; the caller treats it as a miss. */
static int result_copy(store_search_result *d, const store_search_result *s)
{
    memset(d, 0, sizeof *d);
    d->total = s->total;
    d->corrected = dup_or_null(s->corrected);
    if (s->n_hits) {
        if (!(d->hits = calloc(s->n_hits, sizeof *d->hits)))
            return -1;
        for (size_t i = 0; i < s->n_hits; i++) {
            product_copy(&d->hits[i].product, &s->hits[i].product);
            d->hits[i].score = s->hits[i].score;
        }
        d->n_hits = s->n_hits;
    }
    d->categories = facets_copy(s->categories, s->n_categories, &d->n_categories);
    d->brands = facets_copy(s->brands, s->n_brands, &d->n_brands);
    d->prices = facets_copy(s->prices, s->n_prices, &d->n_prices);
    if ((s->corrected && !d->corrected) || d->n_categories != s->n_categories ||
        d->n_brands != s->n_brands || d->n_prices != s->n_prices)
        return -1;
    for (size_t i = 0; i < d->n_hits; i++)
        if (!d->hits[i].product.sku)
            return -1;
    return 0;
}

/* Each hit's stock as the database holds it now. */
static void fresh_stock(sq_conn *c, store_search_result *r)
{
    sqlite3_stmt *st;
    for (size_t i = 0; i < r->n_hits; i++) {
        store_product *p = &r->hits[i].product;
        if (!(st = sq__prep(c, "SELECT stock, stock_tracked FROM products WHERE sku = ?", NULL)))
            return;
        sqlite3_bind_text(st, 1, p->sku, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            p->stock = sqlite3_column_int64(st, 0);
            p->stock_untracked = sqlite3_column_int(st, 1) == 0;
        }
        sqlite3_reset(st);
    }
}

/* About how many bytes a kept copy of r holds. */
static size_t result_bytes(const store_search_result *r)
{
    size_t n = sizeof *r + r->n_hits * sizeof *r->hits;
    for (size_t i = 0; i < r->n_hits; i++) {
        const store_product *p = &r->hits[i].product;
        const char *f[] = {p->sku, p->title, p->brand, p->category, p->description,
                           p->thumbnail, p->thumbnail_media};
        for (size_t k = 0; k < sizeof f / sizeof *f; k++)
            n += f[k] ? strlen(f[k]) + 1 : 0;
        for (size_t k = 0; k < p->n_images; k++)
            n += (p->images[k] ? strlen(p->images[k]) : 0) +
                 (p->images_media && p->images_media[k] ? strlen(p->images_media[k]) : 0) + 16;
        for (size_t k = 0; k < p->n_tags; k++)
            n += strlen(p->tags[k]) + 9;
    }
    n += (r->n_categories + r->n_brands + r->n_prices) * (sizeof(store_facet) + 24);
    return n;
}

static int cacheable(const sq *b, const store_search_query *q)
{
    return b->cfg.search_cache > 0 && !q->in_stock;
}

int sq__scache_get(sq *b, sq_conn *c, int64_t gen, const store_search_query *q,
                   store_search_result *out)
{
    store__buf k = {0};
    int hit = 0;
    if (!cacheable(b, q) || make_key(q, &k)) {
        store__buf_free(&k);
        return 0;
    }
    pthread_mutex_lock(&b->smu);
    for (int i = 0; b->scache && i < b->cfg.search_cache; i++) {
        struct sq_scache *e = &b->scache[i];
        if (e->used && e->gen == gen && e->key_len == k.len && memcmp(e->key, k.p, k.len) == 0) {
            e->used = ++b->stick;
            if (result_copy(out, &e->r) == 0)
                hit = 1;
            else
                store_search_result_free(out);
            break;
        }
    }
    pthread_mutex_unlock(&b->smu);
    store__buf_free(&k);
    if (hit)
        fresh_stock(c, out);
    return hit;
}

void sq__scache_put(sq *b, int64_t gen, const store_search_query *q,
                    const store_search_result *r)
{
    store__buf k = {0};
    struct sq_scache *slot = NULL;
    store_search_result copy;
    /* a result of more than SQ_SCACHE_MAX_BYTES (long descriptions, a
     * page of 100) is not kept: at most search_cache of those in memory */
    if (!cacheable(b, q) || r->n_hits > 200 || result_bytes(r) > SQ_SCACHE_MAX_BYTES ||
        make_key(q, &k)) {
        store__buf_free(&k);
        return;
    }
    if (result_copy(&copy, r) != 0) {
        store_search_result_free(&copy);
        store__buf_free(&k);
        return;
    }
    pthread_mutex_lock(&b->smu);
    if (!b->scache)
        b->scache = calloc((size_t)b->cfg.search_cache, sizeof *b->scache);
    for (int i = 0; b->scache && i < b->cfg.search_cache; i++) {
        struct sq_scache *e = &b->scache[i];
        if (!slot || e->used < slot->used)   /* a free slot (0) or the least recent */
            slot = e;
        if (e->used && e->key_len == k.len && memcmp(e->key, k.p, k.len) == 0) {
            slot = e;                          /* the same query, another generation */
            break;
        }
    }
    if (slot) {
        free(slot->key);
        store_search_result_free(&slot->r);
        slot->key = k.p;
        slot->key_len = k.len;
        slot->gen = gen;
        slot->used = ++b->stick;
        slot->r = copy;
        k.p = NULL;
    } else {
        store_search_result_free(&copy);
    }
    pthread_mutex_unlock(&b->smu);
    store__buf_free(&k);
}

void sq__scache_free(sq *b)
{
    for (int i = 0; b->scache && i < b->cfg.search_cache; i++) {
        free(b->scache[i].key);
        store_search_result_free(&b->scache[i].r);
    }
    free(b->scache);
    b->scache = NULL;
}
