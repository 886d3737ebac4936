/* stores/mongo/mongo_search.c — catalog search on MongoDB: the shared
 * analysis of the shopper's text (stores/search_query.c: spelling from
 * the catalog's vocabulary, synonyms, units, joined words) becomes the
 * words of one $text aggregation (filters, sort, pagination and facets
 * in a single $facet round trip); in relevance order the best
 * STORE__RERANK_POOL come back and the shared second stage
 * (stores/search_rerank.c) picks the page, as on SQLite.
 *
 * Limits: MongoDB's textScore is not aisle_rank (no coverage or
 * proximity bonus in the first stage); the vocabulary is rebuilt when the
 * product count or this process's own catalog writes change, so another
 * instance's in-place edits reach it only on the next count change or
 * restart. */
#include "mongo_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- what the shared analysis asks of the index ---------------- */

/* The vocabulary's generation: the product count beside this process's
 * catalog writes. */
static int64_t generation(mg_call *c)
{
    mongoc_collection_t *col = mg__coll(c, "products");
    int64_t n = mongoc_collection_estimated_document_count(col, NULL, NULL, NULL, NULL);
    int64_t w = __atomic_load_n(&c->b->writes, __ATOMIC_RELAXED);
    mongoc_collection_destroy(col);
    return (n < 0 ? 0 : n) * 1000003 + w;
}

static const char *field_text(const bson_t *d, const char *f)
{
    const char *s = mg__str(d, f);
    return s ? s : "";
}

/* Rebuild the shared vocabulary from the normalised short fields. */
static void vocab_refresh(mg *b)
{
    mg_call c;
    mongoc_collection_t *col;
    mongoc_cursor_t *cur;
    const bson_t *d;
    bson_t *q, *opts;
    store__vocab_builder vb = {0};
    int64_t gen;
    pthread_mutex_lock(&b->vmu);
    mg__begin(b, &c);
    gen = generation(&c);
    if (gen != store__lex_gen(&b->lex)) {
        q = bson_new();
        opts = BCON_NEW("projection", "{", "searchTitle", BCON_INT32(1),
                        "searchBrand", BCON_INT32(1), "searchCategory", BCON_INT32(1),
                        "searchTags", BCON_INT32(1), "}");
        col = mg__coll(&c, "products");
        cur = mongoc_collection_find_with_opts(col, q, opts, NULL);
        while (mongoc_cursor_next(cur, &d))
            store__vocab_add(&vb, field_text(d, "searchTitle"),
                             field_text(d, "searchBrand"),
                             field_text(d, "searchCategory"),
                             field_text(d, "searchTags"));
        if (!mongoc_cursor_error(cur, NULL))
            store__lex_set_vocab(&b->lex, &vb, gen);
        else
            store__lex_set_vocab(&b->lex, &vb, -1);   /* try again next time */
        mongoc_cursor_destroy(cur);
        mongoc_collection_destroy(col);
        bson_destroy(opts);
        bson_destroy(q);
    }
    mg__end(&c);
    pthread_mutex_unlock(&b->vmu);
}

/* Products (capped at 500) whose $text matches the words `search` and,
 * when `also` is set, whose short fields hold that word too.  -1 on
 * error.  Every word is [a-z0-9] only (normalised), so neither $text nor
 * the regular expression sees syntax. */
static int64_t text_count(mg_call *c, const char *search, const char *also)
{
    mongoc_collection_t *col = mg__coll(c, "products");
    bson_t *q = BCON_NEW("$text", "{", "$search", BCON_UTF8(search), "}");
    bson_t *opts = BCON_NEW("limit", BCON_INT64(500));
    int64_t n;
    if (also) {
        char re[160];
        bson_t or, one;
        static const char *const f[] = {"searchTitle", "searchBrand",
                                        "searchCategory", "searchTags"};
        snprintf(re, sizeof re, "(^| )%s( |$)", also);
        BSON_APPEND_ARRAY_BEGIN(q, "$or", &or);
        for (uint32_t i = 0; i < 4; i++) {
            char buf[16];
            const char *k;   /* an array's keys: "0", "1", ... (libbson's own) */
            bson_uint32_to_string(i, &k, buf, sizeof buf);
            BSON_APPEND_DOCUMENT_BEGIN(&or, k, &one);
            BSON_APPEND_REGEX(&one, f[i], re, "");
            bson_append_document_end(&or, &one);
        }
        bson_append_array_end(q, &or);
    }
    n = mongoc_collection_count_documents(col, q, opts, NULL, NULL, NULL);
    mongoc_collection_destroy(col);
    bson_destroy(opts);
    bson_destroy(q);
    return n;
}

/* The shared analysis, with the two answers the text index gives: a word
 * its stemmer knows ("brackets") is not a misspelling, and of equally
 * close corrections the one sold beside the query's other words wins. */
static int analyse(mg *b, const store_search_query *sq, store__query *q)
{
    mg_call c;
    int rc;
    if (!(sq->flags & (STORE_SEARCH_NO_SPELL | STORE_SEARCH_PLAIN)))
        vocab_refresh(b);
    if ((rc = store__query_parse(&b->lex, sq->text ? sq->text : "", sq->flags, q)) != 0)
        return rc;
    mg__begin(b, &c);
    for (size_t i = 0; i < q->k; i++)
        if (q->spell[i].check && text_count(&c, q->tok[i], NULL) > 0)
            q->spell[i].check = 0;
    if ((rc = store__query_suggest(&b->lex, q)) == 0)
        for (size_t i = 0; i < q->k; i++) {
            store__spell *s = &q->spell[i];
            store__buf ctx = {0};
            if (s->n_cand < 2 || !s->nctx)
                continue;
            for (size_t j = 0; j < s->nctx; j++) {
                store__buf_adds(&ctx, j ? " " : "");
                store__buf_adds(&ctx, s->ctx[j]);
            }
            for (size_t j = 0; j < s->n_cand && ctx.p; j++) {
                int64_t n = text_count(&c, ctx.p, s->cand[j]);
                s->co[j] = n > 0 ? (int)n : 0;
            }
            store__buf_free(&ctx);
        }
    mg__end(&c);
    return rc ? rc : store__query_finish(&b->lex, q);
}

/* ---------------- search ---------------- */

/* The $match stage: $text over the analysis' words (normalised, [a-z0-9]
 * only, so a shopper's quotes or '-' never become $text syntax; each word
 * and its alternatives OR'ed as $text does, or required with
 * STORE_SEARCH_ALL_WORDS) plus filters.  Returns 1 when
 * the query has text. */
static int build_match(const store_search_query *q, const store__analysis *a,
                       bson_t *m, int *no_words)
{
    store__buf words = {0};
    int text = 0;
    *no_words = 0;
    if (q->text && *q->text) {
        for (int i = 0; i < a->n; i++) {
            /* STORE_SEARCH_ALL_WORDS: a word with no alternative is a
             * quoted $text phrase, which every match must hold; a group
             * with spellings or synonyms stays OR'ed (unverified: no
             * MongoDB server where this was written) */
            int alone = 1;
            for (int j = 0; j < a->n; j++)
                if (j != i && a->p[j].group == a->p[i].group)
                    alone = 0;
            int quote = (q->flags & STORE_SEARCH_ALL_WORDS) && alone;
            store__buf_adds(&words, words.len ? " " : "");
            if (quote)
                store__buf_adds(&words, "\"");
            store__buf_adds(&words, a->p[i].text);
            if (quote)
                store__buf_adds(&words, "\"");
        }
        if (words.p && words.len && strspn(words.p, " ") < words.len) {
            bson_t t;
            BSON_APPEND_DOCUMENT_BEGIN(m, "$text", &t);
            BSON_APPEND_UTF8(&t, "$search", words.p);
            bson_append_document_end(m, &t);
            text = 1;
        } else {
            *no_words = 1;      /* only punctuation: nothing can match */
        }
        store__buf_free(&words);
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
    if (q->not_brand && *q->not_brand) {
        char low[256];
        snprintf(low, sizeof low, "%s", q->not_brand);
        for (char *c = low; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c - 'A' + 'a');
        bson_t ne;
        BSON_APPEND_DOCUMENT_BEGIN(m, "brandLower", &ne);
        BSON_APPEND_UTF8(&ne, "$ne", low);
        bson_append_document_end(m, &ne);
    }
    if (q->not_word && *q->not_word) {
        /* the title without the word, case-insensitive; the word as a
         * literal (its regex metacharacters escaped) */
        char re[512];
        size_t o = 0;
        for (const char *c = q->not_word; *c && o + 3 < sizeof re; c++) {
            if (strchr("\\^$.|?*+()[]{}", *c))
                re[o++] = '\\';
            re[o++] = *c;
        }
        re[o] = '\0';
        bson_t nt;
        BSON_APPEND_DOCUMENT_BEGIN(m, "title", &nt);
        bson_t rx;
        BSON_APPEND_DOCUMENT_BEGIN(&nt, "$not", &rx);
        BSON_APPEND_UTF8(&rx, "$regex", re);
        BSON_APPEND_UTF8(&rx, "$options", "i");
        bson_append_document_end(&nt, &rx);
        bson_append_document_end(m, &nt);
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
    mg *b = vb;
    mg_call c;
    mongoc_collection_t *col;
    mongoc_cursor_t *cur;
    const bson_t *d;
    bson_error_t e;
    bson_t pipe = BSON_INITIALIZER, st, m, facets, hits, s, tmp;
    int text, no_words, two, rc = 0, limit = q->limit > 0 ? q->limit : 20;
    int64_t skip = q->offset, want = (int64_t)q->offset + limit;
    store__query *qa = calloc(1, sizeof *qa);

    if (!qa)
        return store__fail(err, STORE_ENOMEM, "out of memory");
    if ((rc = analyse(vb, q, qa)) != 0) {
        store__query_free(qa);
        free(qa);
        bson_destroy(&pipe);
        return store__fail(err, rc, "out of memory");
    }
    BSON_APPEND_DOCUMENT_BEGIN(&pipe, "0", &st);
    BSON_APPEND_DOCUMENT_BEGIN(&st, "$match", &m);
    text = build_match(q, &qa->a, &m, &no_words);
    bson_append_document_end(&st, &m);
    bson_append_document_end(&pipe, &st);
    if (no_words) {
        store__query_free(qa);
        free(qa);
        bson_destroy(&pipe);
        return 0;
    }
    if (text && qa->a.changed && !(out->corrected = strdup(qa->a.understood))) {
        store__query_free(qa);
        free(qa);
        bson_destroy(&pipe);
        return store__fail(err, STORE_ENOMEM, "out of memory");
    }
    /* relevance order over text: fetch a pool from offset 0 and let the
     * second stage pick the page */
    two = text && !(q->flags & STORE_SEARCH_PLAIN) &&
          q->sort == STORE_SORT_RELEVANCE && want <= STORE__RERANK_MAX;
    if (two) {
        skip = 0;
        limit = (int)(want > STORE__RERANK_POOL ? want : STORE__RERANK_POOL);
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
    BSON_APPEND_INT64(&tmp, "$skip", skip);
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
    if (q->flags & (STORE_SEARCH_FACETS | STORE_SEARCH_CATEGORY_FACET))
        facet_group(&facets, "categories", "$category");
    if (q->flags & STORE_SEARCH_FACETS) {
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
    if (!rc && two && store__rerank(&b->lex, &qa->a, out, (size_t)q->offset,
                                    (size_t)(q->limit > 0 ? q->limit : 20)) != 0)
        rc = store__fail(err, STORE_ENOMEM, "out of memory");
    store__query_free(qa);
    free(qa);
    if (rc)
        store_search_result_free(out);
    return rc;
}
