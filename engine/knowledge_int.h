/* engine/knowledge_int.h — the shop's knowledge file (engine/knowledge.c):
 * markdown sections ("## Returns", "## Shipping", ...) loaded and linted
 * with the pipeline, and a small BM25 index over the sections and their
 * sentences that answers support questions with the shop's own words.
 * Internal to engine/. */
#ifndef AISLE_KNOWLEDGE_INT_H
#define AISLE_KNOWLEDGE_INT_H

#include "pipe_int.h"

typedef struct eng_kb eng_kb;

/* eng__kb_load: read the file named by the scalar at YAML node `node`
 * (relative to the pipeline's folder, as rules files are), lint it and
 * index it, all in the pipeline's pool (freed with the pipeline).
 * Problems go to b->diags: a missing file at the YAML value, an empty
 * section, a duplicate heading or a file without sections at
 * FILE:LINE:COL of the markdown file. Returns 0, ENG_ECONFIG or
 * ENG_ENOMEM; *out is set only on 0. Does not block beyond reading the
 * file. */
int eng__kb_load(eng_build *b, int node, eng_kb **out);

/* eng__kb_path: the resolved path of the loaded file (pool string). */
const char *eng__kb_path(const eng_kb *kb);

/* A retrieval answer: the best section's title and its most relevant
 * sentences, quoted verbatim in the file's order. Pointers are into the
 * knowledge base or `text`. */
typedef struct eng_kb_hit {
    const char *title;
    int line;            /* the section's heading line */
    double score;        /* BM25 of the section; compare with threshold */
    int matched;         /* distinct query words the section holds */
    int words;           /* distinct query words (stop words left out) */
    bool named;          /* a matched word is in the section's heading or "### " lines */
    char text[1200];
} eng_kb_hit;

/* eng__kb_ask: answer `query` from the knowledge base. Returns 1 and
 * fills *hit when some section shares a word with the query (the caller
 * compares hit->score with its threshold), 0 when none does. `topic`
 * (an intent name such as "check_payment_methods", or NULL) adds its
 * words at a lower weight: they break ties between sections, never make
 * a match on their own. Pure: safe from many threads at once. */
int eng__kb_ask(const eng_kb *kb, const char *query, const char *topic, eng_kb_hit *hit);

/* eng__kb_answers: whether the knowledge base answers `query` well
 * enough to quote: the best section scores at least the answer threshold
 * and holds a query word; `strict` (a message nobody could place) also
 * wants at least two of its words and half of them, so "what is the
 * capital of france" never quotes the shipping regions.  Fills *hit
 * either way (hit->title NULL when no section shares a word).  The one
 * test the support agent answers by and the classifier routes by. */
bool eng__kb_answers(const eng_kb *kb, const char *query, const char *topic, bool strict, eng_kb_hit *hit);

#endif
