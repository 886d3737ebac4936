/* engine/nlu/clf_int.h — internals of the built-in intent classifier,
 * shared between features.c (text -> hashed n-grams), clf.c (the linear
 * model, its kernels and prediction) and clf_train.c (training). Never included from outside engine/nlu/ and its tests.
 */
#ifndef AISLE_CLF_INT_H
#define AISLE_CLF_INT_H

#include "engine/eng_int.h"
#include <math.h>
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

/* GCC/Clang vector extension: 4 floats, plain SSE2 on x86-64, NEON on
 * arm64, so the [feature][class] row updates vectorise without -march. */
typedef float v4f __attribute__((vector_size(16)));

/* One seen bucket. The table is open-addressed and sized to what training
 * saw (not 2^hash_bits), so it stays in cache: 8 bytes a slot, 256 KB for
 * CLINC150's 22k features. */
typedef struct clf_slot {
    uint32_t key;      /* bucket + 1; 0 = empty */
    int32_t row;
} clf_slot;

/* A weighted feature: row in the weight matrix, value. The top bit of
 * `row` holds the block only while weighing. */
typedef struct clf_x {
    int32_t row;
    float val;
} clf_x;

_Static_assert(sizeof(clf_x) == sizeof(clf_feat), "in-place weighing needs equal sizes");

/* Training works on float weights; the trained model keeps them as int8
 * with one scale per row: a quarter of the memory (CLINC150's 151-class
 * model is 3.5 MB instead of 13.5) and of the bytes each message reads.
 * The rounding error, under 0.4% of a row's largest weight, left accuracy
 * on Bitext and CLINC150 unchanged. */
struct eng_clf {
    size_t nlabels;
    size_t stride;     /* nlabels rounded up to 8: whole 8-float vectors */
    char **labels;
    clf_fx fx;
    float word_share;  /* share of the squared norm given to word features */
    clf_slot *tab;     /* bucket -> row */
    uint32_t tmask;    /* table size - 1 */
    int tshift;        /* 32 - log2(table size) */
    size_t nrows;      /* one row per feature kept */
    float *idf;        /* per row, while training; then in the rows */
    float idf_unseen;  /* a bucket training never saw: rarer than any seen */
    float *w;          /* training only: (nrows + 1) * stride floats, 64-byte
                          aligned, row nrows the bias; NULL once quantised */
    void *w_raw;       /* what was allocated for w */
    int8_t *q;         /* nrows rows of qbytes: stride int8, then the row's
                          scale and idf as floats (the idf sits in the row
                          because score() reads that line anyway) */
    float *bias;       /* stride floats, in the same allocation as q */
    void *q_raw;
    size_t qbytes;
    /* The examples themselves: the normalised text's hash of each
     * training example -> its label, or CLF_MEM_MIXED when examples of that
     * text carry different labels. A message that is an example word for
     * word gets that example's label (eng__clf_recall). */
    uint64_t *mem_key;  /* 0 = empty slot */
    int32_t *mem_label;
    size_t mem_mask;    /* slots - 1 */
};

#define CLF_MEM_MIXED (-1)
/* the least confidence a message gets for the label of the training
 * example it repeats word for word */
#define CLF_MEM_CONFIDENCE 0.9f

/* eng__clf_text_key: a 64-bit hash of text's normalised form (never 0),
 * or 0 for a text that normalises to nothing or past CLF_MAX_TEXT. */
uint64_t eng__clf_text_key(const char *text);
/* eng__clf_remember: build m's example memory from texts[i] -> y[i].
 * Returns 0 or ENG_ENOMEM. */
int eng__clf_remember(eng_clf *m, const char *const *texts, const uint16_t *y, size_t n);
/* eng__clf_recall: the label index of the training example that `text`
 * repeats (after normalisation), or -1: none, or examples disagree. */
int eng__clf_recall(const eng_clf *m, const char *text);

static inline uint32_t eng__clf_slot_of(const eng_clf *m, uint32_t bucket)
{
    return (bucket * 0x9e3779b1u) >> m->tshift;
}

/* y[0..stride) += a * r[0..stride); both 16-byte aligned, stride % 8 == 0 */
static inline void eng__clf_axpy(float *restrict y, const float *restrict r, float a, size_t stride)
{
    v4f *vy = (v4f *)y;
    const v4f *vr = (const v4f *)r;
    for (size_t j = 0; j < stride / 4; j += 2) {
        vy[j] += a * vr[j];
        vy[j + 1] += a * vr[j + 1];
    }
}

/* eng__clf_weigh: turn features f[0..n) (in place) into (row, value)
 * pairs (clf_x): tf * idf, each block L2-normalised to its share of a unit
 * vector; buckets without a row still count in the norm. Returns the
 * pairs kept. */
size_t eng__clf_weigh(const eng_clf *m, clf_feat *f, size_t n);
/* eng__clf_score: scores from the float weights while training: bias +
 * the sum of x's rows scaled by their values, times `s`, into out (room
 * for the stride). */
void eng__clf_score(const eng_clf *m, const clf_x *x, size_t k, float s, float *out);
/* eng__clf_score_q: scores from the quantised (int8) rows of a trained
 * model: bias + the sum of x's rows scaled by their values, into out
 * (room for the stride). */
void eng__clf_score_q(const eng_clf *m, const clf_x *x, size_t k, float *out);
/* eng__clf_softmax: softmax over the first c scores, in place; p has room
 * for c rounded up to 8 and what lies past c is clobbered. */
void eng__clf_softmax(float *p, size_t c);

#endif
