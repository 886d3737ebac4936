/* stores/search_rerank.c — the second stage of catalog search, the same
 * for every backend.
 *
 * The first stage (FTS5, MongoDB $text) scores every product that matches
 * any query word; the best STORE__RERANK_POOL of them are then re-scored
 * here on their title as the shopper sees it: how many of the query's
 * content words the title spells out, whether it names the query's head
 * word (the thing being bought) and whether that word is also the title's
 * own head, and whether query words that are next to each other are next
 * to each other in the title.  These are properties of English product
 * text, not of one catalog. */
#include "search_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXG STORE__MAXG
#define MAXP STORE__MAXP
#define MAXT 96                 /* title tokens looked at */

/* Weights of the second stage, as fractions of the best first-stage
 * score: covering the query's words dominates (a title that names all of
 * them beats one that repeats a rare one), the head word and adjacency
 * break ties.  Global constants, set on one half of the Home Depot dev
 * judgements and checked on the other; none is tuned to a query. */
/* w_prec: the share of the title's own words that the query names, so
 * that a title which is mostly the query beats a long one that merely
 * contains it. (Weighting coverage by word rarity was tried and lost.) */
/* w_conflict: the share of the query's content words that are a
 * measurement the title contradicts (same unit, another number), taken
 * off: a title that states another size than the one asked for is less
 * likely the product than one that states none. */
/* w_tail: the share of the query's content words the title names only
 * after "for", "compatible with" or "fits", taken off: "Blade for 62 in.
 * Zero-Turn Riding Mower" is a blade, and a query for riding mowers
 * wants the mower.  Half a word's worth, so such an accessory still
 * beats a title that misses the word altogether. */
static const double w_cover2 = 2.0, w_head_in = 0.1, w_head_eq = 0.1,
                    w_adjacent = 0.1, w_prec = 0.4, w_conflict = 0.25,
                    w_tail = 0.5;

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
    int n_for;          /* w[0..n_for) comes before the title's "for ..." tail */
    char head[48];
} title_view;

/* How many index tokens the first cut bytes of low (lower-cased) make. */
static int prefix_tokens(char *low, size_t cut)
{
    store__buf nb = {0};
    char *stor = NULL, *tok[MAXT], save = low[cut];
    int n = MAXT;
    low[cut] = '\0';
    if (!store__normalize(low, 1, &nb) && nb.p) {
        n = (int)store__tokens(nb.p, &stor, tok, MAXT);
        free(stor);
    }
    low[cut] = save;
    store__buf_free(&nb);
    return n;
}

/* The title's head: its last content word before what qualifies it ("in
 * White", "with Remote", "for Metal", "(2-Pack)", ", Energy Star").  And
 * *n_for: the title's tokens before the tail that names what the product
 * goes with ("for ...", "compatible with ...", "fits ..."); MAXT when it
 * has none. */
static void title_head(const char *title, char *out, size_t cap, int *n_for)
{
    static const char *const tails[] = {" for ", " compatible with ", " fits "};
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
    {
        size_t fc = n;
        for (size_t c = 0; c < sizeof tails / sizeof tails[0]; c++) {
            char *p = strstr(low, tails[c]);
            if (p && (size_t)(p - low) < fc && p > low)
                fc = (size_t)(p - low);
        }
        *n_for = fc < n ? prefix_tokens(low, fc) : MAXT;
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

/* ---------------- title views kept ----------------
 *
 * A view is a pure function of the title, brand and category, and making
 * one (normalising three fields and the title's head) was three quarters
 * of the second stage.  Views are kept packed (the words, NUL-separated,
 * then the head) in a direct-mapped table keyed by those three strings,
 * compared whole: no generation to follow, a product written since simply
 * misses.  At most VIEW_SLOTS entries of at most VIEW_BYTES each (8 MB),
 * in sets of VIEW_WAYS (a page's pool of 200 from a few queries filled a
 * direct-mapped table unevenly: a third of the views were pushed out);
 * a full set loses a way picked by the newcomer's hash. */
#define VIEW_SLOTS 16384
#define VIEW_WAYS 4
#define VIEW_BYTES 512

typedef struct store__view {
    uint64_t hash;
    unsigned short key_len, body_len;   /* key: the three fields; body: the view */
    unsigned char n, n_title, n_for;
    char data[];                        /* key bytes, then body bytes */
} store__view;

/* The three fields as one key: each with a presence byte, so a missing
 * brand and an empty one differ as title_load tells them apart. */
static int view_key(const store_product *p, store__buf *k)
{
    const char *f[3] = {p->title, p->brand, p->category};
    int rc = 0;
    for (int i = 0; i < 3; i++) {
        rc |= store__buf_add(k, f[i] ? "\1" : "\0", 1);
        if (f[i])
            rc |= store__buf_add(k, f[i], strlen(f[i]) + 1);
    }
    return rc;
}

static uint64_t view_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

/* 1 and t filled when the view is kept */
static int view_get(store__lexicon *l, const store__buf *k, uint64_t h, title_view *t)
{
    int hit = 0;
    pthread_mutex_lock(&l->vmu);
    const store__view *v = NULL;
    for (size_t w = 0; l->views && !v && w < VIEW_WAYS; w++) {
        const store__view *e = l->views[(h & (VIEW_SLOTS / VIEW_WAYS - 1)) * VIEW_WAYS + w];
        if (e && e->hash == h && e->key_len == k->len && !memcmp(e->data, k->p, k->len))
            v = e;
    }
    if (v) {
        const char *b = v->data + v->key_len;
        t->n = v->n;
        t->n_title = v->n_title;
        t->n_for = v->n_for;
        for (int i = 0; i < t->n; i++) {
            size_t len = strlen(b);
            memcpy(t->w[i], b, len + 1);
            b += len + 1;
        }
        memcpy(t->head, b, strlen(b) + 1);
        hit = 1;
    }
    pthread_mutex_unlock(&l->vmu);
    return hit;
}

static void view_put(store__lexicon *l, const store__buf *k, uint64_t h, const title_view *t)
{
    size_t body = strlen(t->head) + 1;
    store__view *v, **slot;
    for (int i = 0; i < t->n; i++)
        body += strlen(t->w[i]) + 1;
    if (k->len + body > VIEW_BYTES || !(v = malloc(sizeof *v + k->len + body)))
        return;
    v->hash = h;
    v->key_len = (unsigned short)k->len;
    v->body_len = (unsigned short)body;
    v->n = (unsigned char)t->n;
    v->n_title = (unsigned char)t->n_title;
    v->n_for = (unsigned char)t->n_for;
    memcpy(v->data, k->p, k->len);
    char *b = v->data + k->len;
    for (int i = 0; i < t->n; i++) {
        size_t len = strlen(t->w[i]);
        memcpy(b, t->w[i], len + 1);
        b += len + 1;
    }
    memcpy(b, t->head, strlen(t->head) + 1);
    pthread_mutex_lock(&l->vmu);
    if (!l->views)
        l->views = calloc(VIEW_SLOTS, sizeof *l->views);
    if (l->views) {
        store__view **set = &l->views[(h & (VIEW_SLOTS / VIEW_WAYS - 1)) * VIEW_WAYS];
        slot = &set[(h >> 32) % VIEW_WAYS];
        for (size_t w = 0; w < VIEW_WAYS; w++)
            if (!set[w]) {
                slot = &set[w];
                break;
            }
        free(*slot);
        *slot = v;
        v = NULL;
    }
    pthread_mutex_unlock(&l->vmu);
    free(v);
}

void store__views_free(store__lexicon *l)
{
    if (l->views)
        for (size_t i = 0; i < VIEW_SLOTS; i++)
            free(l->views[i]);
    free(l->views);
    l->views = NULL;
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
static void title_make(const store_product *p, title_view *t)
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
    title_head(p->title ? p->title : "", t->head, sizeof t->head, &t->n_for);
    if (t->n_for > t->n_title)
        t->n_for = t->n_title;
}

/* The view of p, kept in l or made (and kept). */
static void title_load(store__lexicon *l, const store_product *p, title_view *t, store__buf *k)
{
    uint64_t h;
    k->len = 0;
    if (!l || view_key(p, k)) {
        title_make(p, t);
        return;
    }
    h = view_hash(k->p, k->len);
    if (view_get(l, k, h, t))
        return;
    title_make(p, t);
    view_put(l, k, h, t);
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

static void rr_prepare(const store__analysis *a, rr_query *rq)
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
        if (a->p[i].flags & STORE__PH_HEAD)
            rq->head_group = a->p[i].group;
        if (!(a->p[i].flags & STORE__PH_STOP) && a->p[i].group < MAXG && !seen[a->p[i].group]) {
            seen[a->p[i].group] = 1;
            rq->n_info++;
        }
    }
}

/* The unit of a normalized measurement ("0p5in" -> "in", "3ft" -> "ft"),
 * or NULL for a word, a bare number or a dimension ("2x4"). */
static const char *unit_of(const char *w)
{
    const char *u = w;
    if (!isdigit((unsigned char)*w))
        return NULL;
    while (*u && (isdigit((unsigned char)*u) || *u == 'p'))
        u++;
    if (!*u || !isalpha((unsigned char)*u) || strchr(u, 'x') || strlen(u) > 6)
        return NULL;
    return u;
}

/* The bonus of one candidate, as a fraction of the best first-stage
 * score (so it scales with whatever BM25 gives on this catalog). */
static double rr_bonus(const store__analysis *a, const rr_query *rq, const title_view *t)
{
    int gfirst[MAXG], glast[MAXG], prev = -1, pairs = 0, adj = 0, covered = 0;
    int head_in = 0, head_eq = 0, tail_only = 0;
    for (int g = 0; g < MAXG; g++)
        gfirst[g] = glast[g] = -1;
    for (int i = 0; i < a->n; i++) {
        int g = a->p[i].group, last = -1, first;
        if (g >= MAXG || (a->p[i].flags & STORE__PH_STOP))
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
            if (a->p[i].group == g && (a->p[i].flags & STORE__PH_STOP))
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
    /* query words the title names only in its "for ..." tail (its first
     * mention is there; the brand and category behind it do not count) */
    for (int g = 0; g < MAXG; g++)
        if (gfirst[g] >= t->n_for && gfirst[g] < t->n_title)
            tail_only++;
    double share = rq->n_info ? (double)covered / rq->n_info : 0;
    /* a measurement the query asks for that the title contradicts: the
     * same unit with another number ("42in" asked, "46in" shown) */
    int conflict = 0, seen[MAXG] = {0};
    for (int i = 0; i < a->n; i++) {
        int g = a->p[i].group;
        const char *u;
        if (g >= MAXG || gfirst[g] >= 0 || seen[g] || (a->p[i].flags & STORE__PH_STOP) ||
            strchr(rq->fp[i], ' ') || !(u = unit_of(rq->fp[i])))
            continue;
        seen[g] = 1;
        for (int j = 0; j < t->n_title; j++) {
            const char *tu = unit_of(t->w[j]);
            if (tu && !strcmp(tu, u)) {
                conflict++;
                break;
            }
        }
    }
    return w_cover2 * share + w_prec * prec +
           w_head_in * head_in + w_head_eq * head_eq +
           w_adjacent * (pairs ? (double)adj / pairs : 0) -
           w_conflict * (rq->n_info ? (double)conflict / rq->n_info : 0) -
           w_tail * (rq->n_info ? (double)tail_only / rq->n_info : 0);
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

int store__rerank(store__lexicon *l, const store__analysis *a, store_search_result *out,
                  size_t offset, size_t limit)
{
    store__buf key = {0};
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
        title_load(l, &out->hits[i].product, t, &key);
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
    store__buf_free(&key);
    return 0;
}
