/* stores/sqlite/sqlite_rows.c — the catalog's rows as a text search reads
 * them, kept in memory per catalog generation: each product's row length
 * in the full-text index (for aisle_rank) and its price, rating, category
 * and brand (for the one pass over the matches: sort keys and facets).
 * Reading them from SQLite cost, per match, a %_docsize statement inside
 * FTS5's xColumnSize and a B-tree seek into products.
 *
 * They are read on the searching connection inside its read transaction,
 * so they are of the same snapshot as the generation they are kept for.
 * Every product write bumps the generation in the same transaction
 * (sq__bump_generation), in any process; what changes without a bump is
 * stock, which is not kept here.  An older snapshot than the kept rows
 * gets none (its search asks SQLite, as before), and so do ids too
 * sparse to index by (more than 8 per product, or past SQ_ROWS_MAX). */
#include "sqlite_int.h"

#include <stdlib.h>
#include <string.h>

/* An SQLite varint (FTS5 writes %_docsize with them): bytes read, 0 when
 * it runs past n. */
static int get_varint(const unsigned char *p, int n, uint64_t *v)
{
    uint64_t x = 0;
    for (int i = 0; i < 9 && i < n; i++) {
        if (i == 8) {
            *v = (x << 8) | p[i];
            return 9;
        }
        x = (x << 7) | (p[i] & 0x7f);
        if (!(p[i] & 0x80)) {
            *v = x;
            return i + 1;
        }
    }
    return 0;
}

/* A row's length as xColumnSize(-1) gives it: the sum of its columns'
 * sizes; -1 when the entry is not what FTS5 itself would accept. */
static int32_t row_length(const unsigned char *p, int n)
{
    int64_t sum = 0;
    int off = 0;
    for (int i = 0; i < SQ_FTS_COLUMNS; i++) {
        uint64_t v;
        int k = off < n ? get_varint(p + off, n - off, &v) : 0;
        if (!k || v > (1u << 24))
            return -1;
        off += k;
        sum += (int64_t)v;
    }
    return off == n ? (int32_t)sum : -1;
}

static void rows_free(sq_rows *r)
{
    if (r) {
        free(r->row);
        free(r->text);
        free(r);
    }
}

/* A text column into r's text: its offset and length, -1 for NULL, as
 * sqlite3_column_text gives it (the pass over the matches read the same). */
static int keep_text(sqlite3_stmt *st, int col, store__buf *text, uint32_t *off, int32_t *len)
{
    const unsigned char *v;
    int n;
    *len = -1;
    *off = 0;
    if (sqlite3_column_type(st, col) == SQLITE_NULL || !(v = sqlite3_column_text(st, col)))
        return 0;
    n = sqlite3_column_bytes(st, col);
    if (text->len > UINT32_MAX - (size_t)n)
        return STORE_ENOMEM;
    *off = (uint32_t)text->len;
    *len = n;
    return store__buf_add(text, (const char *)v, (size_t)n) ? STORE_ENOMEM : 0;
}

static sq_rows *rows_read(sq_conn *c, int64_t gen)
{
    sqlite3_stmt *st;
    sq_rows *r;
    store__buf text = {0};
    int64_t max = -1, count = 0;
    int rc = 0, s;
    if (sqlite3_prepare_v2(c->db, "SELECT max(id), count(*) FROM products", -1, &st, NULL) != SQLITE_OK)
        return NULL;
    if (sqlite3_step(st) == SQLITE_ROW) {
        max = sqlite3_column_type(st, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 0);
        count = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    if (max < 0 || max >= SQ_ROWS_MAX || max > 8 * count + 1024)
        return NULL;
    if (!(r = calloc(1, sizeof *r)) || !(r->row = calloc((size_t)max + 1, sizeof *r->row))) {
        free(r);
        return NULL;
    }
    r->gen = gen;
    r->n = max + 1;
    if (sqlite3_prepare_v2(c->db, "SELECT id, price, rating, price_known, category, brand FROM products", -1,
                           &st, NULL) != SQLITE_OK) {
        rows_free(r);
        return NULL;
    }
    while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        sq_row *w;
        if (id < 0 || id >= r->n)
            continue;
        w = &r->row[id];
        w->present = 1;
        w->len = -1;
        w->price = sqlite3_column_double(st, 1);
        w->rating = sqlite3_column_double(st, 2);
        w->price_known = sqlite3_column_int(st, 3) != 0;
        rc = keep_text(st, 4, &text, &w->cat, &w->cat_len);
        if (!rc)
            rc = keep_text(st, 5, &text, &w->brand, &w->brand_len);
    }
    sqlite3_finalize(st);
    if (!rc && s != SQLITE_DONE)
        rc = STORE_EIO;
    /* the lengths; a row FTS5 has no entry for keeps -1 (FTS5 is asked) */
    if (!rc && sqlite3_prepare_v2(c->db, "SELECT id, sz FROM products_fts_docsize", -1, &st, NULL) == SQLITE_OK) {
        while ((s = sqlite3_step(st)) == SQLITE_ROW) {
            int64_t id = sqlite3_column_int64(st, 0);
            const unsigned char *sz = sqlite3_column_blob(st, 1);
            if (id >= 0 && id < r->n && sz)
                r->row[id].len = row_length(sz, sqlite3_column_bytes(st, 1));
        }
        sqlite3_finalize(st);
        if (s != SQLITE_DONE)
            rc = STORE_EIO;
    }
    if (rc) {
        store__buf_free(&text);
        rows_free(r);
        return NULL;
    }
    r->text = text.p;   /* NULL when no product has a category or brand */
    return r;
}

static void rows_unref(sq_rows *r)
{
    if (r && --r->refs == 0)
        rows_free(r);
}

sq_rows *sq__rows_get(sq *b, sq_conn *c, int64_t gen)
{
    sq_rows *r = NULL;
    pthread_mutex_lock(&b->dmu);
    if (!b->rows || b->rows->gen < gen) {
        sq_rows *nr = rows_read(c, gen);
        if (nr) {
            nr->refs = 1;   /* the backend's own reference */
            rows_unref(b->rows);
            b->rows = nr;
        }
    }
    if (b->rows && b->rows->gen == gen) {
        r = b->rows;
        r->refs++;
    }
    pthread_mutex_unlock(&b->dmu);
    return r;
}

void sq__rows_put(sq *b, sq_rows *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&b->dmu);
    rows_unref(r);
    pthread_mutex_unlock(&b->dmu);
}

void sq__rows_free(sq *b)
{
    rows_unref(b->rows);
    b->rows = NULL;
}
