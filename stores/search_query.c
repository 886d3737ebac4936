/* stores/search_query.c — what a shopper's search text means, whichever
 * backend indexes the catalog: the catalog's vocabulary, spelling
 * corrections chosen from it, words the catalog writes as one or as two,
 * synonyms, the bare number of a measurement and the query's head word.
 * Its output, a list of phrases in groups (store__analysis), is what a
 * backend turns into its own query and what the re-ranker reads.  It
 * never touches an index: the two answers only an index has come in
 * between the steps (see stores/search_int.h). */
#include "search_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXG STORE__MAXG
/* a known word also looks for its two-word spelling when each half is
 * this many times as common (see store__query_finish) */
#define SPLIT_RATIO 5

/* ---------------- lexicon ---------------- */

static int word_cmp(const void *a, const void *b)
{
    return strcmp(((const store__word *)a)->w, ((const store__word *)b)->w);
}

static void words_free(store__word *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].w);
    free(v);
}

void store__lex_init(store__lexicon *l)
{
    memset(l, 0, sizeof *l);
    pthread_mutex_init(&l->mu, NULL);
    pthread_mutex_init(&l->vmu, NULL);
    l->gen = -1;
}

void store__lex_free(store__lexicon *l)
{
    words_free(l->vocab, l->n_vocab);
    for (size_t i = 0; i < l->n_syn; i++) {
        for (size_t j = 0; j < l->syn[i].n; j++)
            free(l->syn[i].members[j]);
        free(l->syn[i].members);
    }
    free(l->syn);
    store__views_free(l);
    pthread_mutex_destroy(&l->vmu);
    pthread_mutex_destroy(&l->mu);
    memset(l, 0, sizeof *l);
}

int64_t store__lex_gen(store__lexicon *l)
{
    int64_t g;
    pthread_mutex_lock(&l->mu);
    g = l->gen;
    pthread_mutex_unlock(&l->mu);
    return g;
}

/* Each distinct letter-led word of one product counts once. */
void store__vocab_add(store__vocab_builder *vb, const char *title,
                      const char *brand, const char *category,
                      const char *tags)
{
    const char *f[4] = {title, brand, category, tags};
    store__buf all = {0};
    char *stor = NULL, *tok[256];
    size_t k;
    for (int i = 0; i < 4; i++) {
        store__buf_adds(&all, " ");
        store__buf_adds(&all, f[i] ? f[i] : "");
    }
    k = all.p ? store__tokens(all.p, &stor, tok, 256) : 0;
    for (size_t i = 0; i < k; i++) {
        int dup = 0;
        if (!isalpha((unsigned char)tok[i][0]))
            continue;
        for (size_t j = 0; j < i && !dup; j++)
            dup = !strcmp(tok[i], tok[j]);
        if (dup)
            continue;
        if (vb->n == vb->cap) {
            store__word *nv;
            size_t cap = vb->cap ? vb->cap * 2 : 4096;
            if (!(nv = realloc(vb->v, cap * sizeof *nv)))
                break;
            vb->v = nv;
            vb->cap = cap;
        }
        vb->v[vb->n].len = (int)strlen(tok[i]);
        vb->v[vb->n].df = 1;
        vb->v[vb->n].w = strdup(tok[i]);
        vb->n++;
    }
    free(stor);
    store__buf_free(&all);
}

void store__lex_set_vocab(store__lexicon *l, store__vocab_builder *vb,
                          int64_t gen)
{
    store__word *v = vb->v, *old;
    size_t n = vb->n, o = 0, n_old;
    if (n)
        qsort(v, n, sizeof *v, word_cmp);
    /* collapse duplicates into counts */
    for (size_t i = 0; i < n; i++) {
        if (o && !strcmp(v[o - 1].w, v[i].w)) {
            v[o - 1].df++;
            free(v[i].w);
        } else {
            v[o++] = v[i];
        }
    }
    pthread_mutex_lock(&l->mu);
    old = l->vocab;
    n_old = l->n_vocab;
    l->vocab = v;
    l->n_vocab = o;
    l->gen = gen;
    pthread_mutex_unlock(&l->mu);
    words_free(old, n_old);
    memset(vb, 0, sizeof *vb);
}

static const store__word *vocab_find(const store__lexicon *l, const char *w)
{
    store__word key = {(char *)w, 0, 0};
    if (!l->n_vocab)
        return NULL;
    return bsearch(&key, l->vocab, l->n_vocab, sizeof key, word_cmp);
}

int store__lex_load_synonyms(store__lexicon *l, const char *path,
                             store_err *err)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    if (!f)
        return store__fail(err, STORE_ECONFIG, "cannot read synonyms %s", path);
    pthread_mutex_lock(&l->mu);
    while (fgets(line, sizeof line, f)) {
        store__syn s = {0};
        char *save = NULL, *m;
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
            store__syn *ns = realloc(l->syn, (l->n_syn + 1) * sizeof *ns);
            if (ns) {
                l->syn = ns;
                l->syn[l->n_syn++] = s;
                continue;
            }
        }
        for (size_t j = 0; j < s.n; j++)
            free(s.members[j]);
        free(s.members);
    }
    pthread_mutex_unlock(&l->mu);
    fclose(f);
    return 0;
}

/* ---------------- spelling ---------------- */

/* Candidates within edit distance 1 (2 for long words): every vocabulary
 * word at the smallest distance found, at most STORE__MAXC. */
static int candidates(const store__lexicon *l, const char *w, store__spell *s)
{
    size_t len = strlen(w);
    int maxd = len >= 8 ? 2 : 1, bestd = maxd + 1;
    const store__word *cand[STORE__MAXC];
    size_t n = 0;
    for (size_t i = 0; i < l->n_vocab; i++) {
        const store__word *v = &l->vocab[i];
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
        if (n < STORE__MAXC)
            cand[n++] = v;
    }
    for (size_t i = 0; i < n; i++) {
        if (!(s->cand[i] = strdup(cand[i]->w)))
            return STORE_ENOMEM;
        s->df[i] = cand[i]->df;
        s->co[i] = 0;
        s->n_cand = i + 1;
    }
    return 0;
}

/* Among the closest candidates, the one the catalog most often sells
 * beside the query's other words wins ("wecker furniture" -> wicker, not
 * the more frequent decker); without context, or as a tie-break, the
 * most frequent. */
static const char *pick(const store__spell *s)
{
    int bestco = -1, bestdf = 0;
    const char *best = NULL;
    for (size_t i = 0; i < s->n_cand; i++) {
        int co = s->nctx && s->n_cand > 1 ? s->co[i] : 0;
        if (co > bestco || (co == bestco && s->df[i] > bestdf)) {
            bestco = co;
            bestdf = s->df[i];
            best = s->cand[i];
        }
    }
    return best;
}

/* "deckover" -> "deck over" when both halves are catalog words. */
static int split_word(const store__lexicon *l, const char *w, char *out,
                      size_t cap)
{
    size_t len = strlen(w);
    int best = 0;
    char left[64];
    if (len < 6 || len >= sizeof left)
        return 0;
    for (size_t i = 3; i + 3 <= len; i++) {
        const store__word *lw, *rw;
        memcpy(left, w, i);
        left[i] = '\0';
        if ((lw = vocab_find(l, left)) && (rw = vocab_find(l, w + i))) {
            int m = lw->df < rw->df ? lw->df : rw->df;
            if (m > best) {
                best = m;
                snprintf(out, cap, "%s %s", left, w + i);
            }
        }
    }
    return best > 0;
}

/* The smaller document frequency of the two words of a split ("lawn
 * mowers"), 0 when the vocabulary lacks either. */
static int split_df(const store__lexicon *l, const char *split)
{
    char buf[160], *sp;
    const store__word *x, *y;
    snprintf(buf, sizeof buf, "%s", split);
    if (!(sp = strchr(buf, ' ')))
        return 0;
    *sp = '\0';
    if (!(x = vocab_find(l, buf)) || !(y = vocab_find(l, sp + 1)))
        return 0;
    return x->df < y->df ? x->df : y->df;
}

/* ---------------- query analysis ---------------- */

static void add_phrase(store__analysis *a, const char *t, int group, int flags)
{
    for (int i = 0; i < a->n; i++)
        if (a->p[i].group == group && !strcmp(a->p[i].text, t))
            return;
    if (a->n < STORE__MAXP && strlen(t) < sizeof a->p[0].text) {
        snprintf(a->p[a->n].text, sizeof a->p[0].text, "%s", t);
        a->p[a->n].group = group;
        a->p[a->n].flags = flags;
        a->n++;
    }
}

static void note(store__analysis *a, const char *w)
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

static int is_alpha_word(const char *w)
{
    for (; *w; w++)
        if (!isalpha((unsigned char)*w))
            return 0;
    return 1;
}

static int is_stop(const store__query *q, size_t i)
{
    return !q->all_stop && store__is_stopword(q->tok[i]);
}

int store__query_parse(store__lexicon *l, const char *text, int flags,
                       store__query *q)
{
    store__buf nb = {0};

    memset(q, 0, sizeof *q);
    q->flags = flags;
    q->head = -1;
    if (flags & STORE_SEARCH_PLAIN) {
        /* the baseline: words as typed, no unit rules */
        char *t = strdup(text), *save = NULL, *w;
        if (!t)
            return STORE_ENOMEM;
        for (char *c = t; *c; c++)
            *c = isalnum((unsigned char)*c) || (unsigned char)*c >= 0x80
                     ? (char)tolower((unsigned char)*c) : ' ';
        for (w = strtok_r(t, " ", &save); w && q->a.n_groups < MAXG;
             w = strtok_r(NULL, " ", &save))
            add_phrase(&q->a, w, q->a.n_groups++, 0);
        free(t);
        q->plain = 1;
        return 0;
    }
    if (store__normalize(text, 0, &nb))
        return STORE_ENOMEM;
    q->k = store__tokens(nb.p, &q->stor, q->tok, MAXG);
    store__buf_free(&nb);
    q->all_stop = 1;
    for (size_t i = 0; i < q->k; i++)
        if (!store__is_stopword(q->tok[i]))
            q->all_stop = 0;
    q->head = find_head(q->tok, q->k);
    bare_numbers(text, q->tok, q->k, &q->stor2, q->bare);
    if (flags & STORE_SEARCH_NO_SPELL)
        return 0;
    /* spelling: only for plain words the catalog does not know */
    pthread_mutex_lock(&l->mu);
    for (size_t i = 0; i < q->k; i++)
        q->spell[i].check = !is_stop(q, i) && is_alpha_word(q->tok[i]) &&
                            strlen(q->tok[i]) >= 4 && l->n_vocab &&
                            !vocab_find(l, q->tok[i]);
    pthread_mutex_unlock(&l->mu);
    return 0;
}

int store__query_suggest(store__lexicon *l, store__query *q)
{
    int rc = 0;
    pthread_mutex_lock(&l->mu);
    for (size_t i = 0; i < q->k && !rc; i++) {
        store__spell *s = &q->spell[i];
        if (!s->check)
            continue;
        /* the query's other words the catalog knows: the context that
         * picks between equally close corrections */
        for (size_t j = 0; j < q->k; j++)
            if (j != i && isalpha((unsigned char)q->tok[j][0]) &&
                strlen(q->tok[j]) >= 2 && !store__is_stopword(q->tok[j]) &&
                vocab_find(l, q->tok[j]))
                s->ctx[s->nctx++] = q->tok[j];
        rc = candidates(l, q->tok[i], s);
    }
    pthread_mutex_unlock(&l->mu);
    return rc;
}

int store__query_finish(store__lexicon *l, store__query *q)
{
    store__analysis *a = &q->a;
    int spell = !(q->flags & STORE_SEARCH_NO_SPELL);
    if (q->plain)
        return 0;
    pthread_mutex_lock(&l->mu);
    for (size_t i = 0; i < q->k; i++) {
        int g = a->n_groups++;
        const char *w = q->tok[i];
        int base = is_stop(q, i) | ((int)i == q->head ? STORE__PH_HEAD : 0);
        int alpha = is_alpha_word(w);
        add_phrase(a, w, g, base);
        if (q->bare[i])
            add_phrase(a, q->bare[i], g, base | STORE__PH_ALT);
        if (q->spell[i].check) {
            char split[160];
            const char *fix = pick(&q->spell[i]);
            if (fix) {
                add_phrase(a, fix, g, base | STORE__PH_ALT);
                note(a, fix);
                a->changed = 1;
                continue;
            }
            if (split_word(l, w, split, sizeof split)) {
                add_phrase(a, split, g, base | STORE__PH_ALT);
                note(a, split);
                a->changed = 1;
                continue;
            }
        }
        /* a known word the catalog mostly writes as two: "lawnmowers"
         * also looks for "lawn mowers" when both halves are each more
         * than SPLIT_RATIO times as common as the one-word form (the
         * one-word form stays, at full weight) */
        if (spell && alpha && l->n_vocab) {
            char split[160];
            const store__word *ww = vocab_find(l, w);
            if (ww && split_word(l, w, split, sizeof split) &&
                split_df(l, split) > SPLIT_RATIO * ww->df)
                add_phrase(a, split, g, base | STORE__PH_ALT);
        }
        /* two words the catalog writes as one ("deck over" / "deckover");
         * a plural pair may be written only in the singular ("car ports"
         * / "carport") */
        if (spell && alpha && i + 1 < q->k &&
            isalpha((unsigned char)q->tok[i + 1][0]) && l->n_vocab) {
            char joined[160];
            const store__word *jw;
            size_t jl = (size_t)snprintf(joined, sizeof joined, "%s%s", w, q->tok[i + 1]);
            jw = vocab_find(l, joined);
            if (!jw && jl > 5 && jl < sizeof joined && joined[jl - 1] == 's' &&
                joined[jl - 2] != 's') {
                joined[jl - 1] = '\0';
                jw = vocab_find(l, joined);
            }
            if (jw && jw->df >= 2)
                add_phrase(a, joined, g, base | STORE__PH_ALT | STORE__PH_JOIN);
        }
        for (size_t s = 0; s < l->n_syn; s++)
            for (size_t m = 0; m < l->syn[s].n; m++)
                if (!strcmp(l->syn[s].members[m], w)) {
                    for (size_t o = 0; o < l->syn[s].n; o++)
                        if (o != m)
                            add_phrase(a, l->syn[s].members[o], g,
                                       base | STORE__PH_ALT);
                    break;
                }
        note(a, w);
    }
    pthread_mutex_unlock(&l->mu);
    return 0;
}

void store__query_free(store__query *q)
{
    for (size_t i = 0; i < STORE__MAXG; i++)
        for (size_t j = 0; j < q->spell[i].n_cand; j++)
            free(q->spell[i].cand[j]);
    free(q->stor);
    free(q->stor2);
    q->stor = q->stor2 = NULL;
    memset(q->spell, 0, sizeof q->spell);
}
