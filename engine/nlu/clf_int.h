/* engine/nlu/clf_int.h — internals of the built-in intent classifier,
 * shared between features.c (text -> hashed n-grams) and clf.c (the
 * linear model). Never included from outside engine/nlu/ and its tests.
 */
#ifndef AISLE_CLF_INT_H
#define AISLE_CLF_INT_H

#include "../eng_int.h"
#include <stdint.h>

/* Prediction runs on the stack only, so everything is capped. Text past
 * CLF_MAX_TEXT normalised bytes is ignored: an intent is stated early and
 * the cap keeps the scratch space (about 40 KB) fixed. */
#define CLF_MAX_TEXT 1024
#define CLF_MAX_TOKENS 256
#define CLF_MAX_FEATS 2048
#define CLF_MAX_LABELS 1024

/* Feature blocks: words and characters are normalised separately so that
 * the many character n-grams do not drown the few word n-grams. */
enum { CLF_BLOCK_WORD = 0, CLF_BLOCK_CHAR = 1 };

typedef struct clf_feat {
    uint32_t bucket;   /* hash & (2^hash_bits - 1) */
    uint16_t count;    /* occurrences in the text */
    uint8_t block;     /* CLF_BLOCK_* */
} clf_feat;

typedef struct clf_fx {
    int word_ngrams;   /* 1 or 2 */
    int char_min, char_max;
    int hash_bits;
} clf_fx;

/* eng__clf_extract: normalise `text` (NULL is treated as "") and write its
 * distinct hashed features, with counts, to out[0..CLF_MAX_FEATS). Returns
 * how many. Stack only; thread-safe. */
size_t eng__clf_extract(const clf_fx *fx, const char *text, clf_feat *out);

/* eng__clf_normalise: the normalised text (tokens separated by one space)
 * into out[0..cap), NUL-terminated; returns its length. Exposed for tests. */
size_t eng__clf_normalise(const char *text, char *out, size_t cap);

#endif
