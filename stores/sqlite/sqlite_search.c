/* stores/sqlite/sqlite_search.c — catalog search on SQLite: turns the
 * shared analysis of the shopper's text (stores/search_query.c: spelling,
 * synonyms, units) into a safe FTS5 expression (every word a quoted
 * string, so FTS5 and SQL syntax in the text are just words), runs one
 * statement with filters, sort and pagination, hands the candidates to the
 * shared re-ranker (stores/search_rerank.c), and counts facets. */
#include "stores/sqlite/sqlite_int.h"
#include "stores/search_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- what the shared analysis asks of the index ---------------- */

static int64_t generation(sq_conn *c)
{
    sqlite3_stmt *st = sq__prep(c, "SELECT v FROM catalog_meta WHERE"
                                   " k = 'generation'", NULL);
    int64_t g = 0;
    if (st && sqlite3_step(st) == SQLITE_ROW)
        g = sqlite3_column_int64(st, 0);
    if (st)
        sqlite3_reset(st);
    return g;
}

/* Rebuild the shared vocabulary when the catalog changed, from the
 * catalog's short fields (descriptions are long and full of words nobody
 * searches).  vmu makes the turns that arrive meanwhile wait for it. */
static void vocab_refresh(sq *b, sq_conn *c)
{
    sqlite3_stmt *st;
    store__vocab_builder vb = {0};
    int64_t gen;
    pthread_mutex_lock(&b->vmu);
    gen = generation(c);
    if (gen != store__lex_gen(&b->lex) &&
        sqlite3_prepare_v2(c->db, "SELECT title, brand, category, tags FROM"
                                  " products_fts", -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW)
            store__vocab_add(&vb, (const char *)sqlite3_column_text(st, 0),
                             (const char *)sqlite3_column_text(st, 1),
                             (const char *)sqlite3_column_text(st, 2),
                             (const char *)sqlite3_column_text(st, 3));
        sqlite3_finalize(st);
        store__lex_set_vocab(&b->lex, &vb, gen);
    }
    pthread_mutex_unlock(&b->vmu);
}

/* Does the full-text index know this word (after stemming)?  Catches
 * inflections the raw vocabulary lacks ("brackets" vs "bracket"). */
static int fts_knows(sq_conn *c, const char *w)
{
    sqlite3_stmt *st = sq__prep(c, "SELECT 1 FROM products_fts WHERE"
                                   " products_fts MATCH ? LIMIT 1", NULL);
    char q[160];
    int r;
    if (!st || strlen(w) > 120)
        return 1;
    snprintf(q, sizeof q, "\"%s\"", w);   /* w is [a-z0-9] only */
    sqlite3_bind_text(st, 1, q, -1, SQLITE_TRANSIENT);
    r = sqlite3_step(st);
    sqlite3_reset(st);
    return r == SQLITE_ROW;
}

/* How many products hold `w` together with any of the context words,
 * counted by FTS5 and capped, since only the order between candidates
 * matters.  Every word is [a-z0-9] only (normalised), so quoting keeps it
 * a word. */
static int cooccur(sq_conn *c, const char *w, char **ctx, size_t nctx)
{
    sqlite3_stmt *st = sq__prep(c, "SELECT count(*) FROM (SELECT 1 FROM"
                                   " products_fts WHERE products_fts MATCH ?"
                                   " LIMIT 500)", NULL);
    store__buf m = {0};
    int n = 0, rc = 0;
    if (!st)
        return 0;
    rc |= store__buf_adds(&m, "\"");
    rc |= store__buf_adds(&m, w);
    rc |= store__buf_adds(&m, "\" AND (");
    for (size_t i = 0; i < nctx; i++) {
        rc |= store__buf_adds(&m, i ? " OR \"" : "\"");
        rc |= store__buf_adds(&m, ctx[i]);
        rc |= store__buf_adds(&m, "\"");
    }
    rc |= store__buf_adds(&m, ")");
    if (!rc) {
        sqlite3_bind_text(st, 1, m.p, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) == SQLITE_ROW)
            n = sqlite3_column_int(st, 0);
    }
    sqlite3_reset(st);
    store__buf_free(&m);
    return n;
}

/* The shared analysis (stores/search_query.c), with the two answers only
 * FTS5 has: inflections it knows are not misspellings, and candidates are
 * weighed by how often the catalog sells them beside the other words. */
static int analyse(sq *b, sq_conn *c, const char *text, int flags,
                   store__query *q)
{
    int rc;
    if (!(flags & (STORE_SEARCH_NO_SPELL | STORE_SEARCH_PLAIN)))
        vocab_refresh(b, c);
    if ((rc = store__query_parse(&b->lex, text, flags, q)) != 0)
        return rc;
    for (size_t i = 0; i < q->k; i++)
        if (q->spell[i].check && fts_knows(c, q->tok[i]))
            q->spell[i].check = 0;
    if ((rc = store__query_suggest(&b->lex, q)) != 0)
        return rc;
    for (size_t i = 0; i < q->k; i++) {
        store__spell *s = &q->spell[i];
        if (s->n_cand > 1 && s->nctx)
            for (size_t j = 0; j < s->n_cand; j++)
                s->co[j] = cooccur(c, s->cand[j], s->ctx, s->nctx);
    }
    return store__query_finish(&b->lex, q);
}

/* One phrase of the MATCH expression, a double-quoted FTS5 string (inner
 * quotes doubled), and its "group:flags" in the ranker's spec. */
static int add_phrase(const store__phrase *p, int first, store__buf *m, store__buf *spec)
{
    char num[32];
    store__buf_add(m, "\"", 1);
    for (const char *c = p->text; *c; c++)
        if (store__buf_add(m, c, 1) || (*c == '"' && store__buf_add(m, c, 1)))
            return STORE_ENOMEM;
    store__buf_add(m, "\"", 1);
    snprintf(num, sizeof num, "%s%d:%d", first ? "" : " ", p->group, p->flags);
    return store__buf_adds(spec, num) ? STORE_ENOMEM : 0;
}

/* The MATCH expression: the phrases joined by OR; with `all`
 * (STORE_SEARCH_ALL_WORDS) each group (a word and its spellings and
 * synonyms) OR'ed inside parentheses and the groups AND'ed.  Nothing else
 * from the shopper's text reaches FTS5, so operators and '*' are only
 * ever words. */
static int build_match(const store__analysis *a, int all, store__buf *m, store__buf *spec)
{
    int emitted = 0;
    if (!all) {
        for (int i = 0; i < a->n; i++) {
            if ((i && store__buf_adds(m, " OR ")) || add_phrase(&a->p[i], i == 0, m, spec))
                return STORE_ENOMEM;
        }
        return 0;
    }
    for (int g = 0; g < a->n_groups || (g == 0 && a->n); g++) {
        int in = 0;
        for (int i = 0; i < a->n; i++) {
            if (a->p[i].group != g)
                continue;
            if (store__buf_adds(m, in ? " OR " : emitted ? " AND (" : "(") ||
                add_phrase(&a->p[i], emitted == 0 && in == 0, m, spec))
                return STORE_ENOMEM;
            in++;
        }
        if (in) {
            if (store__buf_adds(m, ")"))
                return STORE_ENOMEM;
            emitted++;
        }
    }
    /* phrases of no group (none expected): OR'ed onto the last group */
    for (int i = 0; i < a->n; i++)
        if (a->p[i].group < 0 || a->p[i].group >= (a->n_groups ? a->n_groups : 1)) {
            if (store__buf_adds(m, " OR ") || add_phrase(&a->p[i], 0, m, spec))
                return STORE_ENOMEM;
        }
    return 0;
}


/* ---------------- the statement ---------------- */

static void add_filters(store__buf *sql, const store_search_query *q)
{
    if (q->category && *q->category)
        store__buf_adds(sql, " AND p.category = :cat");
    if (q->brand && *q->brand)
        store__buf_adds(sql, " AND p.brand = :brand COLLATE NOCASE");
    if (q->not_brand && *q->not_brand)
        store__buf_adds(sql, " AND (p.brand IS NULL OR p.brand <> :nbrand COLLATE NOCASE)");
    if (q->price_min >= 0)
        store__buf_adds(sql, " AND p.price >= :pmin");
    if (q->price_max >= 0)
        store__buf_adds(sql, " AND p.price <= :pmax");
    if (q->in_stock)
        store__buf_adds(sql, " AND (p.stock > 0 OR p.stock_tracked = 0)");
    if (q->min_rating > 0)
        store__buf_adds(sql, " AND p.rating >= :rmin");
}

static void bind_all(sqlite3_stmt *st, const store_search_query *q,
                     const char *match, const char *spec)
{
    int i;
    if ((i = sqlite3_bind_parameter_index(st, ":match")))
        sqlite3_bind_text(st, i, match, -1, SQLITE_TRANSIENT);
    if ((i = sqlite3_bind_parameter_index(st, ":spec")))
        sqlite3_bind_text(st, i, spec, -1, SQLITE_TRANSIENT);
    if ((i = sqlite3_bind_parameter_index(st, ":cat")))
        sqlite3_bind_text(st, i, q->category, -1, SQLITE_TRANSIENT);
    if ((i = sqlite3_bind_parameter_index(st, ":brand")))
        sqlite3_bind_text(st, i, q->brand, -1, SQLITE_TRANSIENT);
    if ((i = sqlite3_bind_parameter_index(st, ":nbrand")))
        sqlite3_bind_text(st, i, q->not_brand, -1, SQLITE_TRANSIENT);
    if ((i = sqlite3_bind_parameter_index(st, ":pmin")))
        sqlite3_bind_double(st, i, q->price_min);
    if ((i = sqlite3_bind_parameter_index(st, ":pmax")))
        sqlite3_bind_double(st, i, q->price_max);
    if ((i = sqlite3_bind_parameter_index(st, ":rmin")))
        sqlite3_bind_double(st, i, q->min_rating);
    if ((i = sqlite3_bind_parameter_index(st, ":lim")))
        sqlite3_bind_int(st, i, q->limit ? q->limit : 20);
    if ((i = sqlite3_bind_parameter_index(st, ":off")))
        sqlite3_bind_int(st, i, q->offset);
}

/* order: the ORDER BY of the groups (NULL: most products first) */
static int facet(sq_conn *c, const char *from, const char *expr, const char *order,
                 const store_search_query *q, const char *match,
                 store_facet **out, size_t *n, store_err *err)
{
    store__buf sql = {0};
    sqlite3_stmt *st;
    size_t cap = 0;
    int r, rc = 0;
    store__buf_adds(&sql, "SELECT ");
    store__buf_adds(&sql, expr);
    store__buf_adds(&sql, " AS v, count(*) FROM ");
    store__buf_adds(&sql, from);
    add_filters(&sql, q);
    store__buf_adds(&sql, " GROUP BY v HAVING v IS NOT NULL AND v != ''");
    store__buf_adds(&sql, order ? order : " ORDER BY 2 DESC, 1");
    store__buf_adds(&sql, " LIMIT 50");
    if (!(st = sq__prep(c, sql.p, err))) {
        store__buf_free(&sql);
        return err ? err->code : STORE_EIO;
    }
    store__buf_free(&sql);
    bind_all(st, q, match, NULL);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            store_facet *nf;
            cap = cap ? cap * 2 : 16;
            if (!(nf = realloc(*out, cap * sizeof *nf)))
                break;
            *out = nf;
        }
        (*out)[*n].value = sq__text_dup(st, 0);
        (*out)[*n].count = sqlite3_column_int64(st, 1);
        (*n)++;
    }
    if (r != SQLITE_DONE && r != SQLITE_ROW)
        rc = sq__err(c, r, err, "facets");
    sqlite3_reset(st);
    return rc;
}

/* Price ranges, shown cheapest first; a product without a price is in
 * none of them. */
static const char price_bucket[] =
    "CASE WHEN p.price_known = 0 THEN NULL"
    " WHEN p.price < 25 THEN '0-25' WHEN p.price < 50 THEN '25-50'"
    " WHEN p.price < 100 THEN '50-100' WHEN p.price < 250 THEN '100-250'"
    " WHEN p.price < 500 THEN '250-500' WHEN p.price < 1000 THEN '500-1000'"
    " ELSE '1000+' END";

int sq__search(void *vb, const store_search_query *q, store_search_result *out,
               store_err *err)
{
    sq *b = vb;
    sq_conn *c;
    store__query *qa = calloc(1, sizeof *qa);
    store__buf match = {0}, spec = {0}, sql = {0};
    sqlite3_stmt *st;
    const char *from, *order;
    int text, rc, r, two;
    size_t cap = 0, want;
    store_search_query pq;

    if (!qa)
        return store__fail(err, STORE_ENOMEM, "out of memory");
    if ((rc = sq__acquire(b, &c, err)) != 0) {
        free(qa);
        return rc;
    }
    if ((rc = analyse(b, c, q->text ? q->text : "", q->flags, qa)) != 0 ||
        (rc = build_match(&qa->a, (q->flags & STORE_SEARCH_ALL_WORDS) != 0, &match, &spec)) != 0) {
        rc = store__fail(err, STORE_ENOMEM, "out of memory");
        goto out;
    }
    store__buf_add(&match, "", 0);
    store__buf_add(&spec, "", 0);
    text = qa->a.n > 0;
    if (text && qa->a.changed)
        out->corrected = strdup(qa->a.understood);
    from = text ? "products_fts JOIN products p ON p.id = products_fts.rowid"
                  " WHERE products_fts MATCH :match"
                : "products p WHERE 1";
    store__buf_adds(&sql, "SELECT p.sku, p.title, p.brand, p.category,"
                          " p.description, p.thumbnail, p.images, p.tags,"
                          " p.price, p.discount_pct, p.rating, p.stock,"
                          " p.stock_tracked, p.price_known, ");
    store__buf_adds(&sql, !text ? "0.0"
                          : (q->flags & STORE_SEARCH_PLAIN)
                              ? "-bm25(products_fts, 10.0, 5.0, 5.0, 1.0, 3.0)"
                              : "aisle_rank(products_fts, :spec)");
    store__buf_adds(&sql, " AS score FROM ");
    store__buf_adds(&sql, from);
    add_filters(&sql, q);
    switch (q->sort) {
    case STORE_SORT_PRICE_ASC: order = " ORDER BY p.price ASC, score DESC, p.id"; break;
    case STORE_SORT_PRICE_DESC: order = " ORDER BY p.price DESC, score DESC, p.id"; break;
    case STORE_SORT_RATING: order = " ORDER BY p.rating DESC, score DESC, p.id"; break;
    default:
        order = text ? " ORDER BY score DESC, p.id" : " ORDER BY p.rating DESC, p.sku";
    }
    store__buf_adds(&sql, order);
    if (store__buf_adds(&sql, " LIMIT :lim OFFSET :off")) {
        rc = store__fail(err, STORE_ENOMEM, "out of memory");
        goto out;
    }
    if (!(st = sq__prep(c, sql.p, err))) {
        rc = err ? err->code : STORE_EIO;
        goto out;
    }
    /* relevance order over text: fetch a pool from offset 0 and let the
     * second stage pick the page */
    want = (size_t)q->offset + (size_t)(q->limit ? q->limit : 20);
    two = text && !(q->flags & STORE_SEARCH_PLAIN) &&
          q->sort == STORE_SORT_RELEVANCE && want <= STORE__RERANK_MAX;
    pq = *q;
    if (two) {
        pq.offset = 0;
        pq.limit = (int)(want > STORE__RERANK_POOL ? want : STORE__RERANK_POOL);
    }
    bind_all(st, &pq, match.p, spec.p);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (out->n_hits == cap) {
            store_search_hit *nh;
            cap = cap ? cap * 2 : 16;
            if (!(nh = realloc(out->hits, cap * sizeof *nh))) {
                r = SQLITE_NOMEM;
                break;
            }
            out->hits = nh;
        }
        sq__row_to_product(st, 0, &out->hits[out->n_hits].product);
        out->hits[out->n_hits].score = sqlite3_column_double(st, 14);
        out->n_hits++;
    }
    sqlite3_reset(st);
    if (r != SQLITE_DONE) {
        rc = sq__err(c, r, err, "search");
        goto out;
    }
    /* a short page tells the total without counting; a full one (or an
     * empty page past the end) needs the count.  (A window count in the
     * main statement would stop FTS5 from running aisle_rank.) */
    out->total = (int64_t)pq.offset + (int64_t)out->n_hits;
    if (out->n_hits == (size_t)(pq.limit ? pq.limit : 20) ||
        (out->n_hits == 0 && pq.offset > 0)) {
        store__buf cnt = {0};
        store__buf_adds(&cnt, "SELECT count(*) FROM ");
        store__buf_adds(&cnt, from);
        add_filters(&cnt, q);
        if ((st = sq__prep(c, cnt.p, err))) {
            bind_all(st, q, match.p, NULL);
            if (sqlite3_step(st) == SQLITE_ROW)
                out->total = sqlite3_column_int64(st, 0);
            sqlite3_reset(st);
        }
        store__buf_free(&cnt);
    }
    if (two && (rc = store__rerank(&qa->a, out, (size_t)q->offset,
                            (size_t)(q->limit ? q->limit : 20))) != 0) {
        rc = store__fail(err, rc, "out of memory");
        goto out;
    }
    if (q->flags & (STORE_SEARCH_FACETS | STORE_SEARCH_CATEGORY_FACET)) {
        if ((rc = facet(c, from, "p.category", NULL, q, match.p, &out->categories,
                        &out->n_categories, err)) != 0)
            goto out;
    }
    if (q->flags & STORE_SEARCH_FACETS) {
        if ((rc = facet(c, from, "p.brand", NULL, q, match.p, &out->brands,
                        &out->n_brands, err)) != 0 ||
            (rc = facet(c, from, price_bucket, " ORDER BY min(p.price)", q, match.p, &out->prices,
                        &out->n_prices, err)) != 0)
            goto out;
    }
out:
    if (rc)
        store_search_result_free(out);
    store__buf_free(&match);
    store__buf_free(&spec);
    store__buf_free(&sql);
    sq__release(b, c);
    store__query_free(qa);
    free(qa);
    return rc;
}
