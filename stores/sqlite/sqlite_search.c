/* stores/sqlite/sqlite_search.c — catalog search on SQLite: turns the
 * shared analysis of the shopper's text (stores/search_query.c: spelling,
 * synonyms, units) into a safe FTS5 expression (every word a quoted
 * string, so FTS5 and SQL syntax in the text are just words), runs one
 * statement with filters, sort and pagination, hands the candidates to the
 * shared re-ranker (stores/search_rerank.c), and counts facets. */
#include "sqlite_int.h"
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
    if (q->not_word && *q->not_word)
        store__buf_adds(sql, " AND instr(lower(p.title), lower(:nword)) = 0");
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
    if ((i = sqlite3_bind_parameter_index(st, ":nword")))
        sqlite3_bind_text(st, i, q->not_word, -1, SQLITE_TRANSIENT);
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

/* ---------------- a text search in one pass ----------------
 *
 * A text search reads its matches once: one statement, without ORDER BY
 * or LIMIT, yields each match's id, score, sort key and (when asked) its
 * category, brand and price; here they are counted (the total), tallied
 * (the facets) and the best `want` kept in a bounded heap; then only the
 * kept rows are read whole, by id.  It used to be five passes over every
 * match (the ranked page, whose sorter held every matching row in full,
 * the count and three GROUP BY facets), each re-running the MATCH.  The
 * numbers are the same: the total is exact, the facets are counted over
 * the same filtered matches, ordered as the GROUP BYs ordered them. */

typedef struct cand {
    int64_t id;
    double score, key;      /* key: price or rating when the sort names one */
} cand;

/* Does a rank before b in `sort`'s order?  The ORDER BYs of the SQL
 * path: the sort key, then score descending, then id. */
static int before(const cand *a, const cand *b, store_sort sort)
{
    if (sort == STORE_SORT_PRICE_ASC && a->key != b->key)
        return a->key < b->key;
    if ((sort == STORE_SORT_PRICE_DESC || sort == STORE_SORT_RATING) && a->key != b->key)
        return a->key > b->key;
    if (a->score != b->score)
        return a->score > b->score;
    return a->id < b->id;
}

/* The heap keeps the worst kept candidate at its root. */
static void sift_down(cand *h, size_t n, size_t i, store_sort sort)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && before(&h[w], &h[l], sort))
            w = l;
        if (r < n && before(&h[w], &h[r], sort))
            w = r;
        if (w == i)
            return;
        cand t = h[i];
        h[i] = h[w];
        h[w] = t;
        i = w;
    }
}

static void sift_up(cand *h, size_t i, store_sort sort)
{
    while (i) {
        size_t up = (i - 1) / 2;
        if (!before(&h[up], &h[i], sort))
            return;
        cand t = h[i];
        h[i] = h[up];
        h[up] = t;
        i = up;
    }
}

/* One facet's tally: distinct values (bytes kept in `text`) and counts,
 * in an open-addressed table. */
typedef struct tally_slot {
    uint64_t hash;
    size_t off, len;
    int64_t count;          /* 0: empty slot */
    const char *v;          /* text.p + off, once the tally is done */
} tally_slot;

typedef struct tally {
    tally_slot *slot;
    size_t cap, n;
    store__buf text;
} tally;

static uint64_t fnv1a(const unsigned char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 1099511628211ull;
    return h;
}

static int tally_add(tally *t, const unsigned char *v, size_t len)
{
    uint64_t h = fnv1a(v, len);
    size_t i;
    if (2 * (t->n + 1) > t->cap) {
        size_t ncap = t->cap ? 2 * t->cap : 64;
        tally_slot *ns = calloc(ncap, sizeof *ns);
        if (!ns)
            return STORE_ENOMEM;
        for (size_t k = 0; k < t->cap; k++)
            if (t->slot[k].count) {
                for (i = t->slot[k].hash & (ncap - 1); ns[i].count; i = (i + 1) & (ncap - 1))
                    ;
                ns[i] = t->slot[k];
            }
        free(t->slot);
        t->slot = ns;
        t->cap = ncap;
    }
    for (i = h & (t->cap - 1); t->slot[i].count; i = (i + 1) & (t->cap - 1)) {
        tally_slot *s = &t->slot[i];
        if (s->hash == h && s->len == len && memcmp(t->text.p + s->off, v, len) == 0) {
            s->count++;
            return 0;
        }
    }
    t->slot[i] = (tally_slot){h, t->text.len, len, 1, NULL};
    t->n++;
    return store__buf_add(&t->text, (const char *)v, len) ? STORE_ENOMEM : 0;
}

/* most products first, then the value's bytes (SQLite's BINARY) */
static int tally_cmp(const void *pa, const void *pb)
{
    const tally_slot *a = pa, *b = pb;
    int c;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    c = memcmp(a->v, b->v, a->len < b->len ? a->len : b->len);
    return c ? c : (a->len > b->len) - (a->len < b->len);
}

/* The tally as facets, as the GROUP BY gave them: most products first,
 * then by value; at most 50. */
static int tally_out(tally *t, store_facet **out, size_t *n)
{
    size_t k = 0, keep;
    if (!t->n)
        return 0;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slot[i].count) {
            t->slot[k] = t->slot[i];
            t->slot[k++].v = t->text.p + t->slot[i].off;
        }
    qsort(t->slot, k, sizeof *t->slot, tally_cmp);
    keep = k < 50 ? k : 50;
    if (!(*out = calloc(keep, sizeof **out)))
        return STORE_ENOMEM;
    for (*n = 0; *n < keep; (*n)++) {
        tally_slot *s = &t->slot[*n];
        if (!((*out)[*n].value = strndup(t->text.p + s->off, s->len)))
            return STORE_ENOMEM;
        (*out)[*n].count = s->count;
    }
    return 0;
}

static void tally_free(tally *t)
{
    free(t->slot);
    store__buf_free(&t->text);
}

/* The price ranges of price_bucket below, cheapest first. */
static const char *const bucket_name[] = {"0-25", "25-50", "50-100", "100-250",
                                          "250-500", "500-1000", "1000+"};
static const double bucket_top[] = {25, 50, 100, 250, 500, 1000};

static int bucket_of(double price)
{
    int i = 0;
    while (i < 6 && !(price < bucket_top[i]))
        i++;
    return i;
}

/* by id, for read_kept's search of a row's rank */
static int by_id(const void *pa, const void *pb)
{
    const cand *a = pa, *b = pb;
    return (a->id > b->id) - (a->id < b->id);
}

/* The columns of a hit read whole (sq__row_to_product's), and of a hit
 * of the second stage's pool: the sku and what the re-ranker reads. */
#define WHOLE_COLS "sku, title, brand, category, description, thumbnail, images, tags, price," \
                   " discount_pct, rating, stock, stock_tracked, price_known"

/* The kept candidates k[0..n-1], best first, read into out->hits in that
 * order: whole, or (`pool`) only their sku, title, brand and category,
 * for the second stage, whose page is then read whole (read_page).  One
 * statement for them all (a statement per row cost more in its reset
 * than in its lookup).  A row deleted since is left out. */
static int read_kept(sq_conn *c, const cand *k, size_t n, int pool, store_search_result *out,
                     store_err *err)
{
    store__buf ids = {0};
    cand *sorted = malloc(n * sizeof *sorted);
    char num[32];
    sqlite3_stmt *st = NULL;
    size_t at = 0;
    int r, rc = 0;
    if (!sorted || !(out->hits = calloc(n, sizeof *out->hits))) {
        rc = store__fail(err, STORE_ENOMEM, "out of memory");
        goto out;
    }
    /* sorted[i].key: the rank of the candidate with that id */
    for (size_t i = 0; i < n; i++) {
        sorted[i] = k[i];
        sorted[i].key = (double)i;
        snprintf(num, sizeof num, "%s%lld", i ? "," : "[", (long long)k[i].id);
        rc |= store__buf_adds(&ids, num);
    }
    rc |= store__buf_add(&ids, "]", 2);
    if (rc) {
        rc = store__fail(err, STORE_ENOMEM, "out of memory");
        goto out;
    }
    qsort(sorted, n, sizeof *sorted, by_id);
    if (!(st = sq__prep(c, pool ? "SELECT sku, title, brand, category, id FROM products"
                                  " WHERE id IN (SELECT value FROM json_each(?))"
                                : "SELECT " WHOLE_COLS ", id FROM products"
                                  " WHERE id IN (SELECT value FROM json_each(?))", err))) {
        rc = err ? err->code : STORE_EIO;
        goto out;
    }
    sqlite3_bind_text(st, 1, ids.p, -1, SQLITE_STATIC);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        cand key = {.id = sqlite3_column_int64(st, pool ? 4 : 14)};
        const cand *f = bsearch(&key, sorted, n, sizeof *sorted, by_id);
        store_search_hit *hit;
        if (!f)
            continue;
        hit = &out->hits[(size_t)f->key];
        if (hit->product.sku)
            continue;
        if (pool) {
            hit->product.sku = sq__text_dup(st, 0);
            hit->product.title = sq__text_dup(st, 1);
            hit->product.brand = sq__text_dup(st, 2);
            hit->product.category = sq__text_dup(st, 3);
        } else {
            sq__row_to_product(st, 0, &hit->product);
        }
        hit->score = f->score;
    }
    sqlite3_reset(st);
    if (r != SQLITE_DONE) {
        rc = sq__err(c, r, err, "search");
        goto out;
    }
    for (size_t i = 0; i < n; i++)      /* rank order, holes closed */
        if (out->hits[i].product.sku)
            out->hits[at++] = out->hits[i];
    out->n_hits = at;
out:
    free(sorted);
    store__buf_free(&ids);
    return rc;
}

/* The second stage's page, read whole by sku: at most a page of lookups
 * (the pool was read with only what the re-ranker reads).  The search's
 * read transaction holds, so every row is still there; one that is not is
 * left out. */
static int read_page(sq_conn *c, store_search_result *out, store_err *err)
{
    sqlite3_stmt *st = sq__prep(c, "SELECT " WHOLE_COLS " FROM products WHERE sku = ?", err);
    size_t at = 0;
    if (!st)
        return err ? err->code : STORE_EIO;
    for (size_t i = 0; i < out->n_hits; i++) {
        store_search_hit *h = &out->hits[i];
        int r;
        sqlite3_bind_text(st, 1, h->product.sku, -1, SQLITE_STATIC);
        r = sqlite3_step(st);
        if (r == SQLITE_ROW) {
            store_product p;
            sq__row_to_product(st, 0, &p);
            store_product_clear(&h->product);
            h->product = p;
            out->hits[at++] = *h;
        } else {
            store_product_clear(&h->product);
        }
        sqlite3_reset(st);
        if (r != SQLITE_ROW && r != SQLITE_DONE) {
            for (size_t j = i + 1; j < out->n_hits; j++)
                store_product_clear(&out->hits[j].product);
            out->n_hits = at;
            return sq__err(c, r, err, "search");
        }
    }
    out->n_hits = at;
    return 0;
}

/* Count, tally and keep the best `want` (from the first) of the text
 * search's matches; then read the kept rows `from` onwards into out
 * (`pool`: only what the second stage reads, see read_kept). */
static int one_pass(sq_conn *c, const char *from, const char *score,
                    const store_search_query *q, const char *match,
                    const char *spec, size_t want, size_t from_rank, int pool,
                    store_search_result *out, store_err *err)
{
    store__buf sql = {0}, filters = {0};
    const sq_rows *rows = c->rows;
    int narrow;
    sqlite3_stmt *st;
    cand *h = NULL;
    size_t n = 0, cap = 0;
    int64_t total = 0, prices[7] = {0};
    tally cats = {0}, brands = {0};
    int cat = (q->flags & (STORE_SEARCH_FACETS | STORE_SEARCH_CATEGORY_FACET)) != 0;
    int all = (q->flags & STORE_SEARCH_FACETS) != 0;
    int r, rc = 0;
    store_sort sort = q->sort;

    /* with the rows kept and nothing to filter on, the matches alone:
     * each one's price, rating, category and brand come from the rows */
    add_filters(&filters, q);
    narrow = rows && filters.len == 0;
    store__buf_free(&filters);
    if (narrow) {
        store__buf_adds(&sql, "SELECT products_fts.rowid, ");
        store__buf_adds(&sql, score);
        store__buf_adds(&sql, " FROM products_fts WHERE products_fts MATCH :match");
    } else {
        store__buf_adds(&sql, "SELECT p.id, ");
        store__buf_adds(&sql, score);
        store__buf_adds(&sql, ", p.price, p.rating, p.price_known");
        if (cat)
            store__buf_adds(&sql, ", p.category");
        if (all)
            store__buf_adds(&sql, ", p.brand");
        store__buf_adds(&sql, " FROM ");
        store__buf_adds(&sql, from);
        add_filters(&sql, q);
    }
    if (store__buf_add(&sql, "", 0)) {
        store__buf_free(&sql);
        return store__fail(err, STORE_ENOMEM, "out of memory");
    }
    st = sq__prep(c, sql.p, err);
    store__buf_free(&sql);
    if (!st)
        return err ? err->code : STORE_EIO;
    bind_all(st, q, match, spec);
    while (!rc && (r = sqlite3_step(st)) == SQLITE_ROW) {
        cand x = {sqlite3_column_int64(st, 0), sqlite3_column_double(st, 1), 0};
        sq_row m;           /* this match's row, kept or read */
        const char *text;
        if (narrow) {
            const sq_row *w = sq__row(rows, x.id);
            if (!w)
                continue;   /* no such product: the join would drop it */
            m = *w;
            text = rows->text;
        } else {
            m.price = sqlite3_column_double(st, 2);
            m.rating = sqlite3_column_double(st, 3);
            m.price_known = sqlite3_column_int(st, 4) != 0;
            m.cat_len = m.brand_len = -1;
            m.cat = m.brand = 0;
            text = NULL;
        }
        if (sort == STORE_SORT_PRICE_ASC || sort == STORE_SORT_PRICE_DESC)
            x.key = m.price;
        else if (sort == STORE_SORT_RATING)
            x.key = m.rating;
        total++;
        if (all && m.price_known)
            prices[bucket_of(m.price)]++;
        if (cat) {
            const unsigned char *v = narrow ? (const unsigned char *)text + m.cat : NULL;
            int len = m.cat_len;
            if (!narrow && sqlite3_column_type(st, 5) != SQLITE_NULL) {
                v = sqlite3_column_text(st, 5);
                len = sqlite3_column_bytes(st, 5);
            }
            if (v && len > 0)
                rc = tally_add(&cats, v, (size_t)len);
        }
        if (!rc && all) {
            const unsigned char *v = narrow ? (const unsigned char *)text + m.brand : NULL;
            int len = m.brand_len;
            if (!narrow && sqlite3_column_type(st, 6) != SQLITE_NULL) {
                v = sqlite3_column_text(st, 6);
                len = sqlite3_column_bytes(st, 6);
            }
            if (v && len > 0)
                rc = tally_add(&brands, v, (size_t)len);
        }
        if (rc || !want)
            continue;
        if (n < want) {
            if (n == cap) {
                cand *nh;
                cap = cap ? 2 * cap : 64;
                if (cap > want)
                    cap = want;
                if (!(nh = realloc(h, cap * sizeof *nh))) {
                    rc = STORE_ENOMEM;
                    continue;
                }
                h = nh;
            }
            h[n] = x;
            sift_up(h, n++, sort);
        } else if (before(&x, &h[0], sort)) {
            h[0] = x;
            sift_down(h, n, 0, sort);
        }
    }
    sqlite3_reset(st);
    if (rc) {
        rc = store__fail(err, rc, "out of memory");
        goto out;
    }
    if (r != SQLITE_DONE) {
        rc = sq__err(c, r, err, "search");
        goto out;
    }
    out->total = total;
    /* the heap in order, best first (heapsort: the worst goes last) */
    for (size_t k = n; k > 1; k--) {
        cand t = h[0];
        h[0] = h[k - 1];
        h[k - 1] = t;
        sift_down(h, k - 1, 0, sort);
    }
    if (n > from_rank && (rc = read_kept(c, h + from_rank, n - from_rank, pool, out, err)) != 0)
        goto out;
    if ((rc = tally_out(&cats, &out->categories, &out->n_categories)) != 0 ||
        (rc = tally_out(&brands, &out->brands, &out->n_brands)) != 0) {
        rc = store__fail(err, rc, "out of memory");
        goto out;
    }
    for (int i = 0; all && i < 7; i++) {
        if (!prices[i])
            continue;
        if (!out->prices && !(out->prices = calloc(7, sizeof *out->prices))) {
            rc = store__fail(err, STORE_ENOMEM, "out of memory");
            goto out;
        }
        if (!(out->prices[out->n_prices].value = strdup(bucket_name[i]))) {
            rc = store__fail(err, STORE_ENOMEM, "out of memory");
            goto out;
        }
        out->prices[out->n_prices++].count = prices[i];
    }
out:
    free(h);
    tally_free(&cats);
    tally_free(&brands);
    return rc;
}

int sq__search(void *vb, const store_search_query *q, store_search_result *out,
               store_err *err)
{
    sq *b = vb;
    sq_conn *c;
    store__query *qa;
    store__buf match = {0}, spec = {0}, sql = {0};
    sqlite3_stmt *st;
    const char *from, *order, *score;
    int64_t gen;
    int text, rc, r, two, tx;
    size_t cap = 0, want;

    if ((rc = sq__acquire(b, &c, err)) != 0)
        return rc;
    /* one read transaction: the generation, the rows kept for it
     * (sqlite_rows.c) and the matches are of the same snapshot */
    tx = sq__exec(c, "BEGIN", NULL) == 0;
    gen = generation(c);
    if (sq__scache_get(b, c, gen, q, out)) {
        sq__release(b, c);
        return 0;
    }
    /* the query's analysis (35 KB, zeroed) only for a search that
     * runs: most of a chat's searches are answered from the kept results */
    if (!(qa = calloc(1, sizeof *qa))) {
        sq__release(b, c);
        return store__fail(err, STORE_ENOMEM, "out of memory");
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
    /* CROSS JOIN: the matches first, each product found by its id.  Left
     * to itself, with a filter on an indexed column (category, brand,
     * price) and no ORDER BY, the planner walks that index and runs the
     * MATCH once per product, and aisle_rank's statistics with it */
    from = text ? "products_fts CROSS JOIN products p ON p.id = products_fts.rowid"
                  " WHERE products_fts MATCH :match"
                : "products p WHERE 1";
    score = !text ? "0.0"
            : (q->flags & STORE_SEARCH_PLAIN) ? "-bm25(products_fts, 10.0, 5.0, 5.0, 1.0, 3.0)"
                                              : "aisle_rank(products_fts, :spec)";
    /* relevance order over text: a pool from the first match, and the
     * second stage picks the page */
    want = (size_t)q->offset + (size_t)(q->limit ? q->limit : 20);
    two = text && !(q->flags & STORE_SEARCH_PLAIN) &&
          q->sort == STORE_SORT_RELEVANCE && want <= STORE__RERANK_MAX;
    if (text) {
        sq_rows *rows = tx ? sq__rows_get(b, c, gen) : NULL;
        c->rows = rows;
        rc = one_pass(c, from, score, q, match.p, spec.p,
                      two && want < STORE__RERANK_POOL ? STORE__RERANK_POOL : want,
                      two ? 0 : (size_t)q->offset, two, out, err);
        c->rows = NULL;
        sq__rows_put(b, rows);
        if (rc)
            goto out;
        if (two && (rc = store__rerank(&b->lex, &qa->a, out, (size_t)q->offset,
                                       (size_t)(q->limit ? q->limit : 20))) != 0)
            rc = store__fail(err, rc, "out of memory");
        else if (two)
            rc = read_page(c, out, err);
        goto out;
    }
    /* no text: the catalog in rating order, a page of it by SQL */
    store__buf_adds(&sql, "SELECT p.sku, p.title, p.brand, p.category,"
                          " p.description, p.thumbnail, p.images, p.tags,"
                          " p.price, p.discount_pct, p.rating, p.stock,"
                          " p.stock_tracked, p.price_known, ");
    store__buf_adds(&sql, score);
    store__buf_adds(&sql, " AS score FROM ");
    store__buf_adds(&sql, from);
    add_filters(&sql, q);
    switch (q->sort) {
    case STORE_SORT_PRICE_ASC: order = " ORDER BY p.price ASC, score DESC, p.id"; break;
    case STORE_SORT_PRICE_DESC: order = " ORDER BY p.price DESC, score DESC, p.id"; break;
    case STORE_SORT_RATING: order = " ORDER BY p.rating DESC, score DESC, p.id"; break;
    default: order = " ORDER BY p.rating DESC, p.sku";
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
    bind_all(st, q, match.p, spec.p);
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
     * empty page past the end) needs the count */
    out->total = (int64_t)q->offset + (int64_t)out->n_hits;
    if (out->n_hits == (size_t)(q->limit ? q->limit : 20) ||
        (out->n_hits == 0 && q->offset > 0)) {
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
    else
        sq__scache_put(b, gen, q, out);
    store__buf_free(&match);
    store__buf_free(&spec);
    store__buf_free(&sql);
    sq__release(b, c);
    store__query_free(qa);
    free(qa);
    return rc;
}
