/* engine/nlu/clf_kernels.c — the classifier's arithmetic: weighing a
 * message's features (TF-IDF, per-block L2), scoring them against the
 * float weights (training) or the int8 rows (prediction) with portable
 * vector code or AVX2 where the CPU has it, and softmax. Shared by
 * prediction (clf.c) and training (clf_train.c). */
#include "clf_int.h"
#include <math.h>
#include <stdalign.h>
#include <string.h>

#if defined(__x86_64__) && !defined(CLF_PORTABLE) /* CLF_PORTABLE: test the fallback */
#define CLF_X86 1
#include <immintrin.h>
#endif

/* 8 floats and 8 int8 (v4f, 4 floats, is in clf_int.h) */
typedef float v8f __attribute__((vector_size(32)));
typedef int8_t v8i8_u __attribute__((vector_size(8), aligned(1)));

/* ------------------------------------------------------------ weighing */

static inline float tf_weight(unsigned count)
{
    /* sublinear tf: a word said three times is not three times the evidence */
    return count <= 1 ? 1.0f : 1.0f + logf((float)count);
}


/* the row of a bucket, or -1 */
static inline int32_t lookup(const eng_clf *m, uint32_t bucket)
{
    uint32_t i = eng__clf_slot_of(m, bucket);
    for (;;) {
        const clf_slot *e = &m->tab[i];
        if (e->key == bucket + 1)
            return e->row;
        if (e->key == 0)
            return -1;
        i = (i + 1) & m->tmask;
    }
}

/* the float at byte offset `off` of a quantised row: its scale at
 * stride, its idf at stride + 4 */
static inline float row_float(const int8_t *r, size_t off)
{
    float v;
    memcpy(&v, r + off, sizeof v);
    return v;
}

/* weigh: turn features (in place) into (row, value) pairs: tf * idf, each
 * block L2-normalised to its share of a unit vector. Buckets without a row
 * still count in the norm, so a message made mostly of unknown words gets
 * small scores and therefore low confidence. Returns the pairs kept. */
size_t eng__clf_weigh(const eng_clf *m, clf_feat *f, size_t n)
{
    clf_x *x = (clf_x *)f;
    float ss[2] = {0, 0};
    size_t k = 0;
    /* no software prefetch of slots or rows: measured, it only added
     * work; out-of-order execution already overlaps these misses */
    for (size_t i = 0; i < n; i++) {
        uint32_t bucket = f[i].bucket;
        unsigned count = f[i].count, block = f[i].block;
        int32_t row = lookup(m, bucket);
        float idf = m->idf_unseen;
        if (row >= 0)
            idf = m->q ? row_float(m->q + (size_t)row * m->qbytes, m->stride + 4) : m->idf[row];
        float v = tf_weight(count) * idf;
        ss[block] += v * v;
        if (row >= 0)
            x[k++] = (clf_x){.row = row | (int32_t)((uint32_t)block << 31), .val = v};
    }
    float sc[2];
    if (ss[0] > 0 && ss[1] > 0) {
        sc[0] = sqrtf(m->word_share / ss[0]);
        sc[1] = sqrtf((1.0f - m->word_share) / ss[1]);
    } else {
        sc[0] = ss[0] > 0 ? 1.0f / sqrtf(ss[0]) : 0;
        sc[1] = ss[1] > 0 ? 1.0f / sqrtf(ss[1]) : 0;
    }
    for (size_t i = 0; i < k; i++) {
        uint32_t r = (uint32_t)x[i].row;
        x[i].val *= sc[r >> 31];
        x[i].row = (int32_t)(r & 0x7fffffffu);
    }
    return k;
}


/* Columns [c0, c0 + 8*NV) of the scores, accumulated in registers: with
 * the sum kept in memory each feature would wait on the previous store.
 * This portable form is the fallback; x86-64 with AVX2 takes the kernels
 * below, since GCC keeps these acc[] arrays on the stack. */
#define SCORE_BLOCK(NV, ROW, LOADV, SCALE)                                       \
    do {                                                                         \
        v8f acc[NV];                                                             \
        for (int q = 0; q < NV; q++)                                             \
            acc[q] = *(const v8f *)(bias + c0 + 8 * q);                          \
        for (size_t i = 0; i < k; i++) {                                         \
            ROW;                                                                 \
            float a = s * x[i].val * (SCALE);                                    \
            for (int q = 0; q < NV; q++)                                         \
                acc[q] += a * (LOADV);                                           \
        }                                                                        \
        for (int q = 0; q < NV; q++)                                             \
            *(v8f *)(out + c0 + 8 * q) = acc[q];                                 \
    } while (0)

#define SCORE_ALL(ROW, LOADV, SCALE)                                             \
    do {                                                                         \
        size_t c0 = 0;                                                           \
        for (; c0 + 32 <= st; c0 += 32)                                          \
            SCORE_BLOCK(4, ROW, LOADV, SCALE);                                   \
        switch ((st - c0) / 8) {                                                 \
        case 3: SCORE_BLOCK(3, ROW, LOADV, SCALE); break;                        \
        case 2: SCORE_BLOCK(2, ROW, LOADV, SCALE); break;                        \
        case 1: SCORE_BLOCK(1, ROW, LOADV, SCALE); break;                        \
        default: break;                                                          \
        }                                                                        \
    } while (0)

/* a macro, not a function: returning a 32-byte vector from a function
 * built without AVX is an ABI hazard GCC warns about */
#define LOAD_I8_SSE(p) __builtin_convertvector(*(const v8i8_u *)(p), v8f)

static void score_f32_sse(const float *w, const float *bias, size_t st, const clf_x *x,
                          size_t k, float s, float *out)
{
    SCORE_ALL(const float *r = w + (size_t)x[i].row * st + c0, *(const v8f *)(r + 8 * q), 1.0f);
}

static void score_i8_sse(const int8_t *w, size_t qb, const float *bias, size_t st,
                         const clf_x *x, size_t k, float *out)
{
    const float s = 1.0f;
    SCORE_ALL(const int8_t *r = w + (size_t)x[i].row * qb, LOAD_I8_SSE(r + c0 + 8 * q),
              row_float(r, st));
}

#ifdef CLF_X86
/* One pass keeps up to 12 vectors of 8 columns in named registers (a
 * switch that falls through picks how many): 12 accumulators, the
 * broadcast value and a temporary fit the 16 ymm registers, and as many
 * independent FMA chains hide the FMA latency. Wider models take several
 * passes over the features, split evenly (151 classes: 10 + 9 vectors). */
#define K_ROWS(LOAD)                                                             \
    switch (nv) {                                                                \
    case 12: a11 = _mm256_fmadd_ps(av, LOAD(11), a11); /* fall through */        \
    case 11: a10 = _mm256_fmadd_ps(av, LOAD(10), a10); /* fall through */        \
    case 10: a9 = _mm256_fmadd_ps(av, LOAD(9), a9); /* fall through */           \
    case 9: a8 = _mm256_fmadd_ps(av, LOAD(8), a8); /* fall through */            \
    case 8: a7 = _mm256_fmadd_ps(av, LOAD(7), a7); /* fall through */            \
    case 7: a6 = _mm256_fmadd_ps(av, LOAD(6), a6); /* fall through */            \
    case 6: a5 = _mm256_fmadd_ps(av, LOAD(5), a5); /* fall through */            \
    case 5: a4 = _mm256_fmadd_ps(av, LOAD(4), a4); /* fall through */            \
    case 4: a3 = _mm256_fmadd_ps(av, LOAD(3), a3); /* fall through */            \
    case 3: a2 = _mm256_fmadd_ps(av, LOAD(2), a2); /* fall through */            \
    case 2: a1 = _mm256_fmadd_ps(av, LOAD(1), a1); /* fall through */            \
    default: a0 = _mm256_fmadd_ps(av, LOAD(0), a0);                              \
    }

#define K_ST(q, a) _mm256_storeu_ps(o + 8 * (q), _mm256_add_ps(a, _mm256_loadu_ps(b + 8 * (q))))
#define K_STORE                                                                  \
    switch (nv) {                                                                \
    case 12: K_ST(11, a11); /* fall through */                                   \
    case 11: K_ST(10, a10); /* fall through */                                   \
    case 10: K_ST(9, a9); /* fall through */                                     \
    case 9: K_ST(8, a8); /* fall through */                                      \
    case 8: K_ST(7, a7); /* fall through */                                      \
    case 7: K_ST(6, a6); /* fall through */                                      \
    case 6: K_ST(5, a5); /* fall through */                                      \
    case 5: K_ST(4, a4); /* fall through */                                      \
    case 4: K_ST(3, a3); /* fall through */                                      \
    case 3: K_ST(2, a2); /* fall through */                                      \
    case 2: K_ST(1, a1); /* fall through */                                      \
    default: _mm256_storeu_ps(o, a0);                                            \
    }

#define K_PASSES(ROW, LOAD, SCALE)                                               \
    do {                                                                         \
        size_t tot = st / 8, passes = (tot + 11) / 12, done = 0;                 \
        for (size_t ps = 0; ps < passes; ps++) {                                 \
            size_t nv = (tot - done + (passes - ps) - 1) / (passes - ps);        \
            size_t c0 = done * 8;                                                \
            const float *b = bias + c0;                                          \
            float *o = out + c0;                                                 \
            __m256 z = _mm256_setzero_ps();                                      \
            __m256 a0 = _mm256_loadu_ps(b), a1 = z, a2 = z, a3 = z, a4 = z,      \
                   a5 = z, a6 = z, a7 = z, a8 = z, a9 = z, a10 = z, a11 = z;     \
            for (size_t i = 0; i < k; i++) {                                     \
                ROW;                                                             \
                __m256 av = _mm256_set1_ps(s * x[i].val * (SCALE));              \
                K_ROWS(LOAD)                                                     \
            }                                                                    \
            K_STORE                                                              \
            done += nv;                                                          \
        }                                                                        \
    } while (0)

#define LOAD_F32(q) _mm256_loadu_ps(r + 8 * (q))
#define LOAD_I8(q) \
    _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(r + 8 * (q)))))

__attribute__((target("avx2,fma")))
static void score_f32_avx2(const float *w, const float *bias, size_t st, const clf_x *x,
                           size_t k, float s, float *out)
{
    K_PASSES(const float *r = w + (size_t)x[i].row * st + c0, LOAD_F32, 1.0f);
}

__attribute__((target("avx2,fma")))
static void score_i8_avx2(const int8_t *w, size_t qb, const float *bias, size_t st,
                          const clf_x *x, size_t k, float *out)
{
    const float s = 1.0f;
    K_PASSES(const int8_t *rb = w + (size_t)x[i].row * qb; const int8_t *r = rb + c0, LOAD_I8,
             row_float(rb, st));
}

static int have_avx2(void)
{
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#endif

/* scores from the float weights while training: bias + the sum of the
 * rows scaled by the feature values, times `s`, the weight scale */
void eng__clf_score(const eng_clf *m, const clf_x *x, size_t k, float s, float *out)
{
    const float *bias = m->w + m->nrows * m->stride;
#ifdef CLF_X86
    if (have_avx2()) {
        score_f32_avx2(m->w, bias, m->stride, x, k, s, out);
        return;
    }
#endif
    score_f32_sse(m->w, bias, m->stride, x, k, s, out);
}

/* the same from the quantised rows, for prediction */
void eng__clf_score_q(const eng_clf *m, const clf_x *x, size_t k, float *out)
{
#ifdef CLF_X86
    if (have_avx2()) {
        score_i8_avx2(m->q, m->qbytes, m->bias, m->stride, x, k, out);
        return;
    }
#endif
    score_i8_sse(m->q, m->qbytes, m->bias, m->stride, x, k, out);
}

#ifdef CLF_X86
/* e^x for 8 lanes, x <= 0 (Cephes' expf: 2^n times a degree-6
 * polynomial on [-ln2/2, ln2/2], relative error about 2e-7). Lanes below
 * -87.3 give exactly 0, which is what softmax wants for -inf padding.
 * libm's expf, one lane at a time, cost as much as all the scoring. */
__attribute__((target("avx2,fma")))
static inline __m256 exp8(__m256 x)
{
    __m256 lo = _mm256_set1_ps(-87.3f);
    __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
    x = _mm256_max_ps(x, lo);
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 y = _mm256_set1_ps(1.9875691500e-4f);
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.3981999507e-3f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(8.3334519073e-3f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(4.1665795894e-2f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.6666665459e-1f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(5.0000001201e-1f));
    y = _mm256_fmadd_ps(y, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_andnot_ps(under, _mm256_mul_ps(y, _mm256_castsi256_ps(e)));
}

/* p has room for c rounded up to 8; the lanes past c are set to -inf
 * here so they come out 0 */
__attribute__((target("avx2,fma")))
static void softmax_avx2(float *p, size_t c)
{
    size_t nv = (c + 7) / 8;
    for (size_t j = c; j < nv * 8; j++)
        p[j] = -INFINITY;
    __m256 mx = _mm256_loadu_ps(p);
    for (size_t v = 1; v < nv; v++)
        mx = _mm256_max_ps(mx, _mm256_loadu_ps(p + 8 * v));
    mx = _mm256_max_ps(mx, _mm256_permute2f128_ps(mx, mx, 1));
    mx = _mm256_max_ps(mx, _mm256_shuffle_ps(mx, mx, 0x4e));
    mx = _mm256_max_ps(mx, _mm256_shuffle_ps(mx, mx, 0xb1));
    __m256 sum = _mm256_setzero_ps();
    for (size_t v = 0; v < nv; v++) {
        __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(p + 8 * v), mx));
        _mm256_storeu_ps(p + 8 * v, e);
        sum = _mm256_add_ps(sum, e);
    }
    sum = _mm256_add_ps(sum, _mm256_permute2f128_ps(sum, sum, 1));
    sum = _mm256_add_ps(sum, _mm256_shuffle_ps(sum, sum, 0x4e));
    sum = _mm256_add_ps(sum, _mm256_shuffle_ps(sum, sum, 0xb1));
    __m256 inv = _mm256_div_ps(_mm256_set1_ps(1.0f), sum);
    for (size_t v = 0; v < nv; v++)
        _mm256_storeu_ps(p + 8 * v, _mm256_mul_ps(_mm256_loadu_ps(p + 8 * v), inv));
}
#endif

/* softmax over the first c scores, in place; p has room for c rounded
 * up to 8 and what lies past c is clobbered */
void eng__clf_softmax(float *p, size_t c)
{
#ifdef CLF_X86
    if (have_avx2()) {
        softmax_avx2(p, c);
        return;
    }
#endif
    float mx = p[0], sum = 0;
    for (size_t j = 1; j < c; j++)
        if (p[j] > mx)
            mx = p[j];
    for (size_t j = 0; j < c; j++) {
        p[j] = expf(p[j] - mx);
        sum += p[j];
    }
    float inv = 1.0f / sum;
    for (size_t j = 0; j < c; j++)
        p[j] *= inv;
}

