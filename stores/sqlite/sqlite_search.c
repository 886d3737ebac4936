/* stores/sqlite/sqlite_search.c — catalog search on SQLite: turns shopper
 * text into a safe FTS5 expression (every word a quoted string, so FTS5
 * and SQL syntax in the text are just words), corrects spelling from the
 * catalog's own vocabulary, expands synonyms, then runs one statement with
 * filters, sort, pagination and a window count, plus facet queries. */
#include "stores/sqlite/sqlite_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXG 32
#define MAXP 64

/* ---------------- vocabulary ---------------- */

static int word_cmp(const void *a, const void *b)
{
    return strcmp(((const sq_word *)a)->w, ((const sq_word *)b)->w);
}

static void vocab_free(sq *b)
{
    for (size_t i = 0; i < b->n_vocab; i++)
        free(b->vocab[i].w);
    free(b->vocab);
    b->vocab = NULL;
    b->n_vocab = 0;
}

void sq__free_search_state(sq *b)
{
    vocab_free(b);
    for (size_t i = 0; i < b->n_syn; i++) {
        for (size_t j = 0; j < b->syn[i].n; j++)
            free(b->syn[i].members[j]);
        free(b->syn[i].members);
    }
    free(b->syn);
    b->syn = NULL;
    b->n_syn = 0;
}

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

/* Rebuild the word -> document frequency table from the catalog's short
 * fields (descriptions are long and full of words nobody searches). */
static int vocab_build(sq *b, sq_conn *c, int64_t gen)
{
    sqlite3_stmt *st;
    sq_word *v = NULL;
    size_t n = 0, cap = 0;
    int r;
    if (sqlite3_prepare_v2(c->db, "SELECT title, brand, category, tags FROM"
                                  " products_fts", -1, &st, NULL) != SQLITE_OK)
        return STORE_EIO;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        store__buf all = {0};
        char *stor, *tok[256];
        size_t k;
        for (int i = 0; i < 4; i++) {
            store__buf_adds(&all, " ");
            store__buf_adds(&all, (const char *)sqlite3_column_text(st, i));
        }
        k = store__tokens(all.p, &stor, tok, 256);
        for (size_t i = 0; i < k; i++) {
            int dup = 0;
            if (!isalpha((unsigned char)tok[i][0]))
                continue;
            for (size_t j = 0; j < i && !dup; j++)
                dup = !strcmp(tok[i], tok[j]);
            if (dup)
                continue;
            if (n == cap) {
                sq_word *nv;
                cap = cap ? cap * 2 : 4096;
                if (!(nv = realloc(v, cap * sizeof *v)))
                    break;
                v = nv;
            }
            v[n].len = (int)strlen(tok[i]);
            v[n].df = 1;
            v[n].w = strdup(tok[i]);
            n++;
        }
        free(stor);
        store__buf_free(&all);
    }
    sqlite3_finalize(st);
    if (n)
        qsort(v, n, sizeof *v, word_cmp);
    /* collapse duplicates into counts */
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (o && !strcmp(v[o - 1].w, v[i].w)) {
            v[o - 1].df++;
            free(v[i].w);
        } else {
            v[o++] = v[i];
        }
    }
    vocab_free(b);
    b->vocab = v;
    b->n_vocab = o;
    b->vocab_gen = gen;
    return 0;
}

static const sq_word *vocab_find(const sq *b, const char *w)
{
    sq_word key = {(char *)w, 0, 0};
    if (!b->n_vocab)
        return NULL;
    return bsearch(&key, b->vocab, b->n_vocab, sizeof key, word_cmp);
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

/* Best correction within edit distance 1 (2 for long words).  Among the
 * closest candidates, the one the catalog most often sells beside the
 * query's other words wins ("wecker furniture" -> wicker, not the more
 * frequent decker); without context, or as a tie-break, the most
 * frequent.  Returns a vocabulary word or NULL. */
static const char *correct(const sq *b, sq_conn *c, const char *w,
                           char **ctx, size_t nctx)
{
    const sq_word *cand[32];
    size_t len = strlen(w), n = 0;
    int maxd = len >= 8 ? 2 : 1, bestd = maxd + 1, bestco = -1, bestdf = 0;
    const char *best = NULL;
    for (size_t i = 0; i < b->n_vocab; i++) {
        const sq_word *v = &b->vocab[i];
        int d;
        if ((size_t)abs(v->len - (int)len) > (size_t)maxd || v->len < 3)
            continue;
        d = store__edit_distance(w, len, v->w, (size_t)v->len, maxd);
        if (d > maxd || d > bestd)
            continue;
        if (d < bestd) {
            bestd = d;
            n = 0;
        }
        if (n < sizeof cand / sizeof cand[0])
            cand[n++] = v;
    }
    for (size_t i = 0; i < n; i++) {
        int co = nctx && n > 1 ? cooccur(c, cand[i]->w, ctx, nctx) : 0;
        if (co > bestco || (co == bestco && cand[i]->df > bestdf)) {
            bestco = co;
            bestdf = cand[i]->df;
            best = cand[i]->w;
        }
    }
    return best;
}

/* "deckover" -> "deck over" when both halves are catalog words. */
static int split_word(const sq *b, const char *w, char *out, size_t cap)
{
    size_t len = strlen(w);
    int best = 0;
    char left[64];
    if (len < 6 || len >= sizeof left)
        return 0;
    for (size_t i = 3; i + 3 <= len; i++) {
        const sq_word *l, *r;
        memcpy(left, w, i);
        left[i] = '\0';
        if ((l = vocab_find(b, left)) && (r = vocab_find(b, w + i))) {
            int m = l->df < r->df ? l->df : r->df;
            if (m > best) {
                best = m;
                snprintf(out, cap, "%s %s", left, w + i);
            }
        }
    }
    return best > 0;
}

/* ---------------- synonyms ---------------- */

int sq__load_synonyms(sq *b, const char *path, store_err *err)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    int lineno = 0;
    if (!f)
        return store__fail(err, STORE_ECONFIG, "cannot read synonyms %s", path);
    while (fgets(line, sizeof line, f)) {
        sq_syn s = {0};
        char *save = NULL, *m;
        lineno++;
        if (line[strspn(line, " \t")] == '#')
            continue;
        for (m = strtok_r(line, ",\n", &save); m; m = strtok_r(NULL, ",\n", &save)) {
            store__buf nb = {0};
            char **nm;
            if (store__normalize(m, 0, &nb) || !nb.p || !*nb.p) {
                store__buf_free(&nb);
                continue;
            }
            if (!(nm = realloc(s.members, (s.n + 1) * sizeof *nm))) {
                store__buf_free(&nb);
                break;
            }
            s.members = nm;
            s.members[s.n++] = nb.p;
        }
        if (s.n >= 2) {
            sq_syn *ns = realloc(b->syn, (b->n_syn + 1) * sizeof *ns);
            if (ns) {
                b->syn = ns;
                b->syn[b->n_syn++] = s;
                continue;
            }
        }
        for (size_t j = 0; j < s.n; j++)
            free(s.members[j]);
        free(s.members);
    }
    fclose(f);
    (void)lineno;
    return 0;
}

/* ---------------- query analysis ---------------- */

typedef struct phrase {
    char text[128];
    int group, flags;
} phrase;

typedef struct analysis {
    phrase p[MAXP];
    int n;
    int n_groups;
    char understood[512];
    int changed;
} analysis;

static void add_phrase(analysis *a, const char *t, int group, int flags)
{
    for (int i = 0; i < a->n; i++)
        if (a->p[i].group == group && !strcmp(a->p[i].text, t))
            return;
    if (a->n < MAXP && strlen(t) < sizeof a->p[0].text) {
        snprintf(a->p[a->n].text, sizeof a->p[0].text, "%s", t);
        a->p[a->n].group = group;
        a->p[a->n].flags = flags;
        a->n++;
    }
}

static void note(analysis *a, const char *w)
{
    size_t l = strlen(a->understood);
    snprintf(a->understood + l, sizeof a->understood - l, "%s%s", l ? " " : "", w);
}

/* The head of an English product query is its last content word before a
 * modifier clause ("drill bits for metal" -> bits): what the shopper wants
 * to buy, as opposed to what qualifies it.  Returns its index or -1. */
static int find_head(char **tok, size_t k)
{
    int head = -1;
    for (size_t i = 0; i < k; i++) {
        const char *w = tok[i];
        if (i > 0 && head >= 0 && (!strcmp(w, "for") || !strcmp(w, "with") ||
                                   !strcmp(w, "without")))
            break;
        if (isalpha((unsigned char)w[0]) && strlen(w) >= 2 &&
            !store__is_stopword(w))
            head = (int)i;
    }
    return head;
}

/* The bare number of each query token that carries a unit ("0p5in" ->
 * "0p5"), so "1/2 in." also finds titles that write "1/2" alone.  The
 * index form of the same text writes it right after the token, so walking
 * both forms side by side finds it without a second unit table.  bare[i]
 * points into *stor2 (the caller frees it) or is NULL. */
static void bare_numbers(const char *text, char **tok, size_t k,
                         char **stor2, const char **bare)
{
    store__buf ib = {0};
    char *it[MAXG * 3];
    size_t n, j = 0;
    for (size_t i = 0; i < k; i++)
        bare[i] = NULL;
    *stor2 = NULL;
    if (store__normalize(text, 1, &ib) || !ib.p) {
        store__buf_free(&ib);
        return;
    }
    n = store__tokens(ib.p, stor2, it, MAXG * 3);
    store__buf_free(&ib);
    for (size_t i = 0; i < k && j < n; i++) {
        size_t tl = strlen(tok[i]), bl;
        while (j < n && strcmp(it[j], tok[i]))
            j++;
        if (j++ >= n)
            break;
        /* "0p5in" then "0p5": a number, then letters that are its unit;
         * not a dimension ("2x4" is followed by "4") */
        if (j < n && isdigit((unsigned char)tok[i][0]) &&
            (bl = strlen(it[j])) < tl && !strncmp(it[j], tok[i], bl) &&
            strspn(it[j], "0123456789p") == bl &&
            isalpha((unsigned char)tok[i][bl]) && !strchr(tok[i] + bl, 'x'))
            bare[i] = it[j];
    }
}

static int analyse(sq *b, sq_conn *c, const char *text, int flags, analysis *a)
{
    store__buf nb = {0};
    char *stor = NULL, *stor2 = NULL, *tok[MAXG];
    const char *bare[MAXG];
    size_t k;
    int all_stop = 1, head;

    memset(a, 0, sizeof *a);
    if (flags & STORE_SEARCH_PLAIN) {
        /* the baseline: words as typed, no unit rules */
        char *t = strdup(text), *save = NULL, *w;
        if (!t)
            return STORE_ENOMEM;
        for (char *q = t; *q; q++)
            *q = isalnum((unsigned char)*q) || (unsigned char)*q >= 0x80
                     ? (char)tolower((unsigned char)*q) : ' ';
        for (w = strtok_r(t, " ", &save); w && a->n_groups < MAXG;
             w = strtok_r(NULL, " ", &save))
            add_phrase(a, w, a->n_groups++, 0);
        free(t);
        return 0;
    }
    if (store__normalize(text, 0, &nb))
        return STORE_ENOMEM;
    k = store__tokens(nb.p, &stor, tok, MAXG);
    for (size_t i = 0; i < k; i++)
        if (!store__is_stopword(tok[i]))
            all_stop = 0;
    head = find_head(tok, k);
    bare_numbers(text, tok, k, &stor2, bare);
    pthread_mutex_lock(&b->vmu);
    if (!(flags & STORE_SEARCH_NO_SPELL)) {
        int64_t gen = generation(c);
        if (gen != b->vocab_gen)
            vocab_build(b, c, gen);
    }
    for (size_t i = 0; i < k; i++) {
        int g = a->n_groups++;
        int stop = !all_stop && store__is_stopword(tok[i]);
        const char *w = tok[i];
        int base = stop | ((int)i == head ? 8 : 0);
        size_t len = strlen(w);
        int alpha = 1;
        for (size_t j = 0; j < len; j++)
            if (!isalpha((unsigned char)w[j]))
                alpha = 0;
        add_phrase(a, w, g, base);
        if (bare[i])
            add_phrase(a, bare[i], g, base | 2);
        /* spelling: only for plain words the catalog does not know */
        if (!(flags & STORE_SEARCH_NO_SPELL) && !stop && alpha && len >= 4 &&
            b->n_vocab && !vocab_find(b, w) && !fts_knows(c, w)) {
            char split[160], *ctx[MAXG];
            size_t nctx = 0;
            const char *fix;
            /* the query's other words the catalog knows: the context
             * that picks between equally close corrections */
            for (size_t j = 0; j < k; j++)
                if (j != i && isalpha((unsigned char)tok[j][0]) &&
                    strlen(tok[j]) >= 2 && !store__is_stopword(tok[j]) &&
                    vocab_find(b, tok[j]))
                    ctx[nctx++] = tok[j];
            fix = correct(b, c, w, ctx, nctx);
            if (fix) {
                add_phrase(a, fix, g, base | 2);
                note(a, fix);
                a->changed = 1;
                continue;
            }
            if (split_word(b, w, split, sizeof split)) {
                add_phrase(a, split, g, base | 2);
                note(a, split);
                a->changed = 1;
                continue;
            }
        }
        /* two words the catalog writes as one ("deck over" / "deckover") */
        if (!(flags & STORE_SEARCH_NO_SPELL) && alpha && i + 1 < k &&
            isalpha((unsigned char)tok[i + 1][0]) && b->n_vocab) {
            char joined[160];
            const sq_word *jw;
            snprintf(joined, sizeof joined, "%s%s", w, tok[i + 1]);
            if ((jw = vocab_find(b, joined)) && jw->df >= 2)
                add_phrase(a, joined, g, base | 2 | 16);
        }
        for (size_t s = 0; s < b->n_syn; s++)
            for (size_t m = 0; m < b->syn[s].n; m++)
                if (!strcmp(b->syn[s].members[m], w)) {
                    for (size_t o = 0; o < b->syn[s].n; o++)
                        if (o != m)
                            add_phrase(a, b->syn[s].members[o], g, base | 2);
                    break;
                }
        note(a, w);
    }
    pthread_mutex_unlock(&b->vmu);
    free(stor);
    free(stor2);
    store__buf_free(&nb);
    return 0;
}

/* The MATCH expression: each phrase a double-quoted FTS5 string (inner
 * quotes doubled), joined by OR.  Nothing else from the shopper's text
 * reaches FTS5, so operators and '*' are only ever words. */
static int build_match(const analysis *a, store__buf *m, store__buf *spec)
{
    char num[32];
    for (int i = 0; i < a->n; i++) {
        if (i && store__buf_adds(m, " OR "))
            return STORE_ENOMEM;
        store__buf_add(m, "\"", 1);
        for (const char *p = a->p[i].text; *p; p++)
            if (store__buf_add(m, p, 1) || (*p == '"' && store__buf_add(m, p, 1)))
                return STORE_ENOMEM;
        store__buf_add(m, "\"", 1);
        snprintf(num, sizeof num, "%s%d:%d", i ? " " : "", a->p[i].group,
                 a->p[i].flags);
        if (store__buf_adds(spec, num))
            return STORE_ENOMEM;
    }
    return 0;
}


/* ---------------- second stage: re-ranking the best candidates ----------------
 *
 * FTS5 scores every row that matches any query word; the best RERANK_POOL
 * of them are then re-scored here on their title as the shopper sees it:
 * how many of the query's content words the title spells out, whether it
 * names the query's head word (the thing being bought) and whether that
 * word is also the title's own head, and whether query words that are
 * next to each other are next to each other in the title.  These are
 * properties of English product text, not of one catalog. */

#define RERANK_POOL 200
#define RERANK_MAX 200          /* deeper pages keep the first-stage order */
#define MAXT 96                 /* title tokens looked at */

/* Weights of the second stage, as fractions of the best first-stage
 * score: covering the query's words dominates (a title that names all of
 * them beats one that repeats a rare one), the head word and adjacency
 * break ties.  Global constants, set on one half of the Home Depot dev
 * judgements and checked on the other; none is tuned to a query. */
/* w_prec: the share of the title's own words that the query names, so
 * that a title which is mostly the query beats a long one that merely
 * contains it. (Weighting coverage by word rarity was tried and lost.) */
static const double w_cover2 = 2.0, w_head_in = 0.1, w_head_eq = 0.1,
                    w_adjacent = 0.1, w_prec = 0.4;

/* Light English plural folding ("sheets" -> "sheet", "batteries" ->
 * "battery", "boxes" -> "box") so both sides compare on one form; the
 * porter stemmer inside FTS5 is not reachable from here. */
static void fold(const char *w, char *out, size_t cap)
{
    size_t n = strlen(w);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, w, n);
    out[n] = '\0';
    if (!isalpha((unsigned char)out[0]) || n < 4)
        return;
    if (n > 4 && !strcmp(out + n - 3, "ies")) {
        out[n - 3] = 'y';
        out[n - 2] = '\0';
    } else if (n > 4 && (!strcmp(out + n - 4, "sses") || !strcmp(out + n - 4, "ches") ||
                         !strcmp(out + n - 4, "shes") || !strcmp(out + n - 3, "xes") ||
                         !strcmp(out + n - 3, "zes"))) {
        out[n - 2] = '\0';
    } else if (out[n - 1] == 's' && out[n - 2] != 's' && out[n - 2] != 'u' &&
               out[n - 2] != 'i') {
        out[n - 1] = '\0';
    }
}

typedef struct title_view {
    char w[MAXT][48];
    int n;
    int n_title;        /* w[0..n_title) is the title; then "|", brand, "|", category */
    char head[48];
} title_view;

/* The title's head: its last content word before what qualifies it ("in
 * White", "with Remote", "for Metal", "(2-Pack)", ", Energy Star"). */
static void title_head(const char *title, char *out, size_t cap)
{
    static const char *const cuts[] = {"(", " with ", " in ", " for ", " - ", ","};
    size_t n = strlen(title), cut = n;
    char *low = malloc(n + 1), *stor = NULL, *tok[MAXT];
    store__buf nb = {0};
    size_t k;
    out[0] = '\0';
    if (!low)
        return;
    for (size_t i = 0; i <= n; i++)
        low[i] = (char)tolower((unsigned char)title[i]);
    for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
        char *p = strstr(low, cuts[c]);
        if (p && (size_t)(p - low) < cut && p > low)
            cut = (size_t)(p - low);
    }
    for (int pass = 0; pass < 2 && !out[0]; pass++) {
        low[pass ? n : cut] = '\0';
        if (pass)
            for (size_t i = 0; i < n; i++)
                low[i] = low[i] ? low[i] : ' ';
        nb.len = 0;
        if (store__normalize(low, 0, &nb) || !nb.p)
            break;
        k = store__tokens(nb.p, &stor, tok, MAXT);
        while (k > 0) {
            const char *w = tok[--k];
            if (isalpha((unsigned char)w[0]) && strlen(w) >= 2 &&
                !store__is_stopword(w)) {
                fold(w, out, cap);
                break;
            }
        }
        free(stor);
        stor = NULL;
    }
    store__buf_free(&nb);
    free(low);
}

/* Words of one field, folded, appended to the view. */
static void view_add(title_view *t, const char *text)
{
    store__buf nb = {0};
    char *stor = NULL, *tok[MAXT];
    size_t k = 0;
    if (!store__normalize(text ? text : "", 1, &nb) && nb.p)
        k = store__tokens(nb.p, &stor, tok, MAXT);
    for (size_t i = 0; i < k && t->n < MAXT; i++)
        fold(tok[i], t->w[t->n++], sizeof t->w[0]);
    free(stor);
    store__buf_free(&nb);
}

/* The title, then the brand and the category behind a "|" each (so no
 * phrase spans two fields): many catalogs name the kind of product only
 * in its category ("Nike Air Jordan 1" in mens-shoes). */
static void title_load(const store_product *p, title_view *t)
{
    t->n = 0;
    view_add(t, p->title);
    t->n_title = t->n;
    if (p->brand && t->n < MAXT) {
        snprintf(t->w[t->n++], sizeof t->w[0], "|");
        view_add(t, p->brand);
    }
    if (p->category && t->n < MAXT) {
        snprintf(t->w[t->n++], sizeof t->w[0], "|");
        view_add(t, p->category);
    }
    title_head(p->title ? p->title : "", t->head, sizeof t->head);
}

static int title_has(const title_view *t, const char *w)
{
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->w[i], w))
            return i;
    return -1;
}

/* Does the title contain every word of phrase p (already folded, spaces
 * between words)?  Returns the position of its first word, or -1. */
static int phrase_at(const title_view *t, const char *p, int *last)
{
    char buf[128], *save = NULL, *w;
    int first = -1, pos;
    snprintf(buf, sizeof buf, "%s", p);
    for (w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        if ((pos = title_has(t, w)) < 0)
            return -1;
        if (first < 0)
            first = pos;
        *last = pos;
    }
    return first;
}

typedef struct rr_query {
    char fp[MAXP][128];          /* each phrase, every word folded */
    int head_group;
    int n_info;                  /* content groups */
} rr_query;

static void rr_prepare(const analysis *a, rr_query *rq)
{
    int seen[MAXG] = {0};
    rq->head_group = -1;
    rq->n_info = 0;
    for (int i = 0; i < a->n; i++) {
        char buf[128], *save = NULL, *w, f[48];
        size_t o = 0;
        snprintf(buf, sizeof buf, "%s", a->p[i].text);
        rq->fp[i][0] = '\0';
        for (w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
            fold(w, f, sizeof f);
            o += (size_t)snprintf(rq->fp[i] + o, o < 128 ? 128 - o : 0, "%s%s",
                                  o ? " " : "", f);
            if (o >= 128)
                break;
        }
        if (a->p[i].flags & 8)
            rq->head_group = a->p[i].group;
        if (!(a->p[i].flags & 1) && a->p[i].group < MAXG && !seen[a->p[i].group]) {
            seen[a->p[i].group] = 1;
            rq->n_info++;
        }
    }
}

/* The bonus of one candidate, as a fraction of the best first-stage
 * score (so it scales with whatever BM25 gives on this catalog). */
static double rr_bonus(const analysis *a, const rr_query *rq, const title_view *t)
{
    int gfirst[MAXG], glast[MAXG], prev = -1, pairs = 0, adj = 0, covered = 0;
    int head_in = 0, head_eq = 0;
    for (int g = 0; g < MAXG; g++)
        gfirst[g] = glast[g] = -1;
    for (int i = 0; i < a->n; i++) {
        int g = a->p[i].group, last = -1, first;
        if (g >= MAXG || (a->p[i].flags & 1))
            continue;
        if ((first = phrase_at(t, rq->fp[i], &last)) < 0)
            continue;
        if (gfirst[g] < 0)
            covered++;
        if (gfirst[g] < 0 || first < gfirst[g]) {
            gfirst[g] = first;
            glast[g] = last;
        }
        if (g == rq->head_group) {
            head_in = 1;
            if (!strchr(rq->fp[i], ' ') && !strcmp(rq->fp[i], t->head))
                head_eq = 1;
        }
    }
    for (int g = 0; g < a->n_groups && g < MAXG; g++) {
        int stop = 0;
        for (int i = 0; i < a->n; i++)
            if (a->p[i].group == g && (a->p[i].flags & 1))
                stop = 1;
        if (stop)
            continue;
        if (prev >= 0) {
            pairs++;
            if (glast[prev] >= 0 && gfirst[g] == glast[prev] + 1)
                adj++;
        }
        prev = g;
    }
    /* the share of the title's own content words the query names */
    int tw = 0, tq = 0;
    for (int j = 0; j < t->n_title; j++) {
        if (!isalpha((unsigned char)t->w[j][0]) || store__is_stopword(t->w[j]))
            continue;
        tw++;
        for (int i = 0; i < a->n; i++) {
            const char *f = rq->fp[i], *hit = strstr(f, t->w[j]);
            size_t l = strlen(t->w[j]);
            while (hit && !((hit == f || hit[-1] == ' ') && (hit[l] == '\0' || hit[l] == ' ')))
                hit = strstr(hit + 1, t->w[j]);
            if (hit) {
                tq++;
                break;
            }
        }
    }
    double prec = tw ? (double)tq / tw : 0;
    double share = rq->n_info ? (double)covered / rq->n_info : 0;
    return w_cover2 * share + w_prec * prec +
           w_head_in * head_in + w_head_eq * head_eq +
           w_adjacent * (pairs ? (double)adj / pairs : 0);
}

typedef struct rr_item {
    double score;
    size_t idx;
} rr_item;

static int rr_cmp(const void *x, const void *y)
{
    const rr_item *p = x, *q = y;
    if (p->score != q->score)
        return p->score < q->score ? 1 : -1;
    return (p->idx > q->idx) - (p->idx < q->idx);
}

/* Re-score out->hits in place, sort them and keep [offset, offset+limit). */
static int rerank(const analysis *a, store_search_result *out, size_t offset,
                  size_t limit)
{
    rr_query *rq = malloc(sizeof *rq);
    title_view *t = malloc(sizeof *t);
    rr_item *it = malloc((out->n_hits + 1) * sizeof *it);
    store_search_hit *sorted = malloc((out->n_hits + 1) * sizeof *sorted);
    double top = 0;
    size_t keep = 0;
    if (!rq || !t || !it || !sorted) {
        free(rq);
        free(t);
        free(it);
        free(sorted);
        return STORE_ENOMEM;
    }
    rr_prepare(a, rq);
    for (size_t i = 0; i < out->n_hits; i++)
        if (out->hits[i].score > top)
            top = out->hits[i].score;
    for (size_t i = 0; i < out->n_hits; i++) {
        title_load(&out->hits[i].product, t);
        it[i].idx = i;
        it[i].score = out->hits[i].score + top * rr_bonus(a, rq, t);
    }
    qsort(it, out->n_hits, sizeof *it, rr_cmp);
    for (size_t i = 0; i < out->n_hits; i++) {
        store_search_hit *h = &out->hits[it[i].idx];
        if (i >= offset && keep < limit) {
            sorted[keep] = *h;
            sorted[keep++].score = it[i].score;
        } else {
            store_product_clear(&h->product);
        }
    }
    if (keep)
        memcpy(out->hits, sorted, keep * sizeof *sorted);
    out->n_hits = keep;
    free(rq);
    free(t);
    free(it);
    free(sorted);
    return 0;
}

/* ---------------- the statement ---------------- */

static void add_filters(store__buf *sql, const store_search_query *q)
{
    if (q->category && *q->category)
        store__buf_adds(sql, " AND p.category = :cat");
    if (q->brand && *q->brand)
        store__buf_adds(sql, " AND p.brand = :brand COLLATE NOCASE");
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
    analysis a;
    store__buf match = {0}, spec = {0}, sql = {0};
    sqlite3_stmt *st;
    const char *from, *order;
    int text, rc, r, two;
    size_t cap = 0, want;
    store_search_query pq;

    if ((rc = sq__acquire(b, &c, err)) != 0)
        return rc;
    if ((rc = analyse(b, c, q->text ? q->text : "", q->flags, &a)) != 0 ||
        (rc = build_match(&a, &match, &spec)) != 0) {
        rc = store__fail(err, STORE_ENOMEM, "out of memory");
        goto out;
    }
    store__buf_add(&match, "", 0);
    store__buf_add(&spec, "", 0);
    text = a.n > 0;
    if (text && a.changed)
        out->corrected = strdup(a.understood);
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
          q->sort == STORE_SORT_RELEVANCE && want <= RERANK_MAX;
    pq = *q;
    if (two) {
        pq.offset = 0;
        pq.limit = (int)(want > RERANK_POOL ? want : RERANK_POOL);
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
    if (two && (rc = rerank(&a, out, (size_t)q->offset,
                            (size_t)(q->limit ? q->limit : 20))) != 0) {
        rc = store__fail(err, rc, "out of memory");
        goto out;
    }
    if (q->flags & STORE_SEARCH_FACETS) {
        if ((rc = facet(c, from, "p.category", NULL, q, match.p, &out->categories,
                        &out->n_categories, err)) != 0 ||
            (rc = facet(c, from, "p.brand", NULL, q, match.p, &out->brands,
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
    return rc;
}
