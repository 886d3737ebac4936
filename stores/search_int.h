/* stores/search_int.h — catalog search understanding that every backend
 * shares: the lexicon (the catalog's vocabulary and the synonyms file),
 * query analysis (units, head word, spelling, joined words, synonyms) and
 * the second-stage re-ranker.  A backend keeps only what its engine does:
 * the index, the statement, filters and facets.  Never included from
 * outside stores/.
 *
 * Analysis needs two answers only the backend's index can give (does the
 * stemmed index know this word; how often does a candidate appear beside
 * the query's other words).  Rather than calling back into the backend,
 * analysis runs in three steps and the backend fills those answers in
 * between (see store__query_parse). */
#ifndef AISLE_SEARCH_INT_H
#define AISLE_SEARCH_INT_H

#include "store_int.h"

#include <pthread.h>

#define STORE__MAXG 32          /* query words looked at */
#define STORE__MAXP 64          /* phrases (words and their alternatives) */
#define STORE__MAXC 32          /* spelling candidates per word */

/* Second stage: the best RERANK_POOL first-stage candidates are re-scored;
 * a page that ends deeper than RERANK_MAX keeps the first-stage order. */
#define STORE__RERANK_POOL 200
#define STORE__RERANK_MAX 200

/* Phrase flags.  An SQLite spec string carries them to aisle_rank, so
 * their values are fixed. */
enum {
    STORE__PH_STOP = 1,         /* a stopword of a query that has others */
    STORE__PH_ALT = 2,          /* an alternative: correction, synonym, bare number */
    STORE__PH_HEAD = 8,         /* the query's head word (the thing bought) */
    STORE__PH_JOIN = 16         /* this word and the next written as one */
};

/* One phrase of the query: a word or one of its alternatives.  Phrases of
 * one query word share a group; a group counts once however many of its
 * phrases match. */
typedef struct store__phrase {
    char text[128];             /* normalized; a split holds a space */
    int group, flags;
} store__phrase;

typedef struct store__analysis {
    store__phrase p[STORE__MAXP];
    int n;
    int n_groups;
    char understood[512];       /* the query as corrected */
    int changed;                /* a correction or split was made */
} store__analysis;

/* ---------------- lexicon ---------------- */

typedef struct store__word {
    char *w;
    int len;
    int df;                     /* products whose short fields hold it */
} store__word;

typedef struct store__syn {
    char **members;             /* normalized; multi-word members hold spaces */
    size_t n;
} store__syn;

/* The catalog's vocabulary (title, brand, category and tag words with
 * their document frequency, sorted) and the synonym groups.  Guarded by
 * mu; the backend decides when to rebuild (store__lex_gen). */
typedef struct store__lexicon {
    pthread_mutex_t mu;
    store__word *vocab;
    size_t n_vocab;
    int64_t gen;                /* catalog generation the vocabulary reflects; -1 none */
    store__syn *syn;
    size_t n_syn;
    /* the second stage's title views, by the title, brand and category
     * they were made from (search_rerank.c); under vmu, made on first use */
    pthread_mutex_t vmu;
    struct store__view **views;
} store__lexicon;

void store__lex_init(store__lexicon *l);
void store__lex_free(store__lexicon *l);

/* store__lex_load_synonyms: one group a line, members separated by
 * commas, '#' starts a comment line.  STORE_ECONFIG when the file cannot
 * be read. */
int store__lex_load_synonyms(store__lexicon *l, const char *path,
                             store_err *err);

/* store__lex_gen: the generation of the vocabulary held. */
int64_t store__lex_gen(store__lexicon *l);

/* Building a vocabulary: add each product's short fields as its index
 * holds them (store__normalize(..., 1, ...) text; any may be NULL), then store__lex_set_vocab swaps it in and frees the builder's
 * state.  Out of memory drops words, never fails the search. */
typedef struct store__vocab_builder {
    store__word *v;
    size_t n, cap;
} store__vocab_builder;
void store__vocab_add(store__vocab_builder *vb, const char *title,
                      const char *brand, const char *category,
                      const char *tags);
void store__lex_set_vocab(store__lexicon *l, store__vocab_builder *vb,
                          int64_t gen);

/* ---------------- query analysis ---------------- */

/* Spelling state of one query word, between the steps. */
typedef struct store__spell {
    int check;                  /* parse: the vocabulary lacks it; the
                                 * backend clears it when its index knows
                                 * the word all the same (an inflection) */
    size_t n_cand;              /* suggest: the closest catalog words */
    char *cand[STORE__MAXC];
    int df[STORE__MAXC];
    int co[STORE__MAXC];        /* backend: products holding the candidate
                                 * beside a context word (0 = unknown) */
    char *ctx[STORE__MAXG];     /* the query's other words the catalog knows
                                 * (pointers into tok) */
    size_t nctx;
} store__spell;

typedef struct store__query {
    int flags;                  /* STORE_SEARCH_* */
    int plain;                  /* analysis done in parse (PLAIN) */
    size_t k;                   /* words */
    char *tok[STORE__MAXG];     /* normalized words */
    const char *bare[STORE__MAXG];  /* bare number of a word with a unit */
    int head, all_stop;
    store__spell spell[STORE__MAXG];
    char *stor, *stor2;         /* storage of tok and bare */
    store__analysis a;
} store__query;

/* The steps, on a zeroed or fresh store__query (parse zeroes it):
 *
 *   store__query_parse(l, text, flags, q);
 *   for each i < q->k with q->spell[i].check:
 *       q->spell[i].check = !index_knows(q->tok[i]);     (optional)
 *   store__query_suggest(l, q);
 *   for each i with q->spell[i].n_cand > 1 and q->spell[i].nctx > 0:
 *       q->spell[i].co[j] = cooccurrences(cand[j], ctx);  (optional)
 *   store__query_finish(l, q);     -> q->a
 *   ...
 *   store__query_free(q);
 *
 * Each returns 0 or STORE_ENOMEM and takes the lexicon's lock itself; a
 * backend that skips the optional steps gets corrections chosen by
 * document frequency alone. */
int store__query_parse(store__lexicon *l, const char *text, int flags,
                       store__query *q);
int store__query_suggest(store__lexicon *l, store__query *q);
int store__query_finish(store__lexicon *l, store__query *q);
void store__query_free(store__query *q);

/* ---------------- second stage ---------------- */

/* store__rerank: re-score out->hits (first-stage scores, best first)
 * on their titles as the shopper sees them, sort, keep [offset,
 * offset+limit) and free the rest.  0 or STORE_ENOMEM (hits untouched).
 * Each title's words are kept in l (NULL: none kept), a bounded table
 * keyed by the title, brand and category themselves, so a changed
 * product is never read from an old entry; blocks briefly on l's lock. */
int store__rerank(store__lexicon *l, const store__analysis *a, store_search_result *out,
                  size_t offset, size_t limit);

/* store__views_free: drop the kept title views (store__lex_free does). */
void store__views_free(store__lexicon *l);

#endif
