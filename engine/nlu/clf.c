/* engine/nlu/clf.c — the built-in intent classifier: multinomial logistic
 * regression over TF-IDF weighted, L2-normalised hashed n-grams
 * (features.c), trained by SGD with L2 and averaging over the last epochs.
 * Prediction allocates nothing and only reads the model: thread-safe.
 */
#include "clf_int.h"
#include <math.h>
#include <stdalign.h>
#include <string.h>

/* GCC/Clang vector extension: 4 floats, plain SSE2 on x86-64, NEON on
 * arm64, so the [feature][class] row updates vectorise without -march. */
typedef float v4f __attribute__((vector_size(16)));
typedef float v8f __attribute__((vector_size(32)));

/* One seen bucket. The table is open-addressed and sized to what training
 * saw (not 2^hash_bits), so it stays in cache: 16k rows are 384 KB. */
typedef struct clf_slot {
    uint32_t key;      /* bucket + 1; 0 = empty */
    int32_t row;
    float idf;
} clf_slot;

/* A weighted feature: row in the weight matrix, value. The top bit of
 * `row` holds the block only while weighing. */
typedef struct clf_x {
    int32_t row;
    float val;
} clf_x;

_Static_assert(sizeof(clf_x) == sizeof(clf_feat), "in-place weighing needs equal sizes");

struct eng_clf {
    size_t nlabels;
    size_t stride;     /* nlabels rounded up to 8: rows stay 32-byte aligned */
    char **labels;
    clf_fx fx;
    float word_share;  /* share of the squared norm given to word features */
    clf_slot *tab;     /* bucket -> row and idf */
    uint32_t tmask;    /* table size - 1 */
    int tshift;        /* 32 - log2(table size) */
    size_t nrows;      /* rows of w; row nrows is the bias */
    float idf_unseen;  /* a bucket training never saw: rarer than any seen */
    float *w;          /* (nrows + 1) * stride floats, 64-byte aligned */
    void *w_raw;       /* what was allocated for w */
};

void eng_clf_opts_default(eng_clf_opts *o)
{
    memset(o, 0, sizeof *o);
    o->epochs = 30;
    o->l2 = 0; /* 0 = chosen by eng_clf_train */
    o->word_ngrams = 2;
    o->char_min = 2;
    o->char_max = 5;
    o->hash_bits = 20;
    o->seed = 1;
}

size_t eng_clf_nlabels(const eng_clf *m) { return m ? m->nlabels : 0; }

const char *eng_clf_label(const eng_clf *m, size_t i)
{
    return m && i < m->nlabels ? m->labels[i] : NULL;
}

void eng_clf_free(eng_clf *m)
{
    if (!m)
        return;
    if (m->labels)
        for (size_t i = 0; i < m->nlabels; i++)
            eng__free(m->labels[i]);
    eng__free(m->labels);
    eng__free(m->tab);
    eng__free(m->w_raw);
    eng__free(m);
}

/* ------------------------------------------------------------ weighing */

static inline float tf_weight(unsigned count)
{
    /* sublinear tf: a word said three times is not three times the evidence */
    return count <= 1 ? 1.0f : 1.0f + logf((float)count);
}

static inline const clf_slot *lookup(const eng_clf *m, uint32_t bucket)
{
    uint32_t i = (bucket * 0x9e3779b1u) >> m->tshift;
    for (;;) {
        const clf_slot *e = &m->tab[i];
        if (e->key == bucket + 1)
            return e;
        if (e->key == 0)
            return NULL;
        i = (i + 1) & m->tmask;
    }
}

/* weigh: turn features (in place) into (row, value) pairs: tf * idf, each
 * block L2-normalised to its share of a unit vector. Buckets without a row
 * still count in the norm, so a message made mostly of unknown words gets
 * small scores and therefore low confidence. Returns the pairs kept. */
static size_t weigh(const eng_clf *m, clf_feat *f, size_t n)
{
    clf_x *x = (clf_x *)f;
    float ss[2] = {0, 0};
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t bucket = f[i].bucket;
        unsigned count = f[i].count, block = f[i].block;
        const clf_slot *e = lookup(m, bucket);
        float v = tf_weight(count) * (e ? e->idf : m->idf_unseen);
        ss[block] += v * v;
        if (e)
            x[k++] = (clf_x){.row = e->row | (int32_t)((uint32_t)block << 31), .val = v};
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

/* y[0..stride) += a * r[0..stride); both 16-byte aligned, stride % 8 == 0 */
static inline void axpy(float *restrict y, const float *restrict r, float a, size_t stride)
{
    v4f *vy = (v4f *)y;
    const v4f *vr = (const v4f *)r;
    for (size_t j = 0; j < stride / 4; j += 2) {
        vy[j] += a * vr[j];
        vy[j + 1] += a * vr[j + 1];
    }
}

/* Columns [c0, c0 + 4*NV) of the scores, accumulated in registers: with
 * the sum kept in memory each feature would wait on the previous store. */
#define SCORE_BLOCK(NV)                                                          \
    do {                                                                         \
        v8f acc[NV];                                                             \
        for (int q = 0; q < NV; q++)                                             \
            acc[q] = *(const v8f *)(bias + c0 + 8 * q);                          \
        for (size_t i = 0; i < k; i++) {                                         \
            const v8f *r = (const v8f *)(w + (size_t)x[i].row * st + c0);        \
            float a = s * x[i].val;                                              \
            for (int q = 0; q < NV; q++)                                         \
                acc[q] += a * r[q];                                              \
        }                                                                        \
        for (int q = 0; q < NV; q++)                                             \
            *(v8f *)(out + c0 + 8 * q) = acc[q];                                 \
    } while (0)

/* scores: bias + sum of rows scaled by the feature values (times `s`, the
 * training-time weight scale; 1 at prediction). The AVX2 clone is picked
 * at load time where the CPU has it; the default one is plain SSE2. */
__attribute__((target_clones("avx2", "default")))
static void score(const eng_clf *m, const clf_x *x, size_t k, float s, float *out)
{
    const float *w = m->w, *bias = m->w + m->nrows * m->stride;
    size_t st = m->stride, c0 = 0;
    for (; c0 + 32 <= st; c0 += 32)
        SCORE_BLOCK(4);
    switch ((st - c0) / 8) {
    case 3: SCORE_BLOCK(3); break;
    case 2: SCORE_BLOCK(2); break;
    case 1: SCORE_BLOCK(1); break;
    default: break;
    }
}

/* softmax over the first c scores, in place */
static void softmax(float *p, size_t c)
{
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

/* ---------------------------------------------------------- prediction */

int eng_clf_predict(const eng_clf *m, const char *text, eng_clf_pred *top, size_t k)
{
    if (!m || (!top && k > 0))
        return ENG_EINVAL;
    if (k == 0)
        return 0;
    /* scratch lives on the stack: about 20 KB here and 26 KB inside
     * eng__clf_extract; scores are capped at CLF_MAX_LABELS classes */
    clf_feat f[CLF_MAX_FEATS];
    alignas(64) float p[CLF_MAX_LABELS];
    size_t n = eng__clf_extract(&m->fx, text, f);
    size_t nx = weigh(m, f, n);
    score(m, (const clf_x *)f, nx, 1.0f, p);
    size_t c = m->nlabels;
    softmax(p, c);

    /* top-k by insertion: k is small in practice (1..5) */
    size_t filled = 0, want = k < c ? k : c;
    for (size_t j = 0; j < c; j++) {
        if (filled == want && p[j] <= top[filled - 1].confidence)
            continue;
        size_t pos = filled < want ? filled++ : filled - 1;
        while (pos > 0 && top[pos - 1].confidence < p[j]) {
            top[pos] = top[pos - 1];
            pos--;
        }
        top[pos].label = m->labels[j];
        top[pos].confidence = p[j];
    }
    return (int)filled;
}

/* ------------------------------------------------------------ training */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint32_t str_hash(const char *s)
{
    uint32_t h = 0x811c9dc5u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x01000193u;
    return h;
}

/* 64-byte aligned zeroed floats from the hook; *raw gets what to free */
static float *alloc_floats(size_t n, void **raw)
{
    *raw = eng__calloc(n * sizeof(float) + 64, 1);
    if (!*raw)
        return NULL;
    uintptr_t a = ((uintptr_t)*raw + 63) & ~(uintptr_t)63;
    return (float *)a;
}

/* Everything training needs besides the model; freed in one place. */
typedef struct train_tmp {
    uint16_t *y;
    size_t *off;
    clf_feat *feats;
    uint32_t *df;
    size_t *order;
    void *avg_raw;
} train_tmp;

static void tmp_free(train_tmp *t)
{
    eng__free(t->y);
    eng__free(t->off);
    eng__free(t->feats);
    eng__free(t->df);
    eng__free(t->order);
    eng__free(t->avg_raw);
}

/* assign class ids in first-seen order */
static int collect_labels(eng_clf *m, const char *const *labels, size_t n, uint16_t *y,
                          eng_err *err)
{
    int16_t tab[2 * CLF_MAX_LABELS];
    memset(tab, 0xff, sizeof tab);
    m->labels = eng__calloc(CLF_MAX_LABELS, sizeof *m->labels);
    if (!m->labels)
        return eng_err_set(err, ENG_ENOMEM, "out of memory training the classifier");
    for (size_t i = 0; i < n; i++) {
        uint32_t slot = str_hash(labels[i]) & (2 * CLF_MAX_LABELS - 1);
        while (tab[slot] >= 0 && strcmp(m->labels[tab[slot]], labels[i]) != 0)
            slot = (slot + 1) & (2 * CLF_MAX_LABELS - 1);
        if (tab[slot] < 0) {
            if (m->nlabels == CLF_MAX_LABELS)
                return eng_err_set(err, ENG_EINVAL, "more than %d distinct labels",
                                   CLF_MAX_LABELS);
            m->labels[m->nlabels] = eng__strdup(labels[i]);
            if (!m->labels[m->nlabels])
                return eng_err_set(err, ENG_ENOMEM, "out of memory training the classifier");
            tab[slot] = (int16_t)m->nlabels++;
        }
        y[i] = (uint16_t)tab[slot];
    }
    return 0;
}

/* pass 1: features of every example, document frequencies, the bucket ->
 * row map and idf. Leaves t->feats/t->off holding the raw features. */
static int build_vocab(eng_clf *m, const char *const *texts, size_t n, train_tmp *t)
{
    size_t nb = (size_t)1 << m->fx.hash_bits, cap = 4096, len = 0;
    clf_feat buf[CLF_MAX_FEATS];
    t->off = eng__malloc((n + 1) * sizeof *t->off);
    t->df = eng__calloc(nb, sizeof *t->df);
    t->feats = eng__malloc(cap * sizeof *t->feats); /* never NULL below, even for "" */
    if (!t->off || !t->df || !t->feats)
        return ENG_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        size_t k = eng__clf_extract(&m->fx, texts[i], buf);
        if (len + k > cap) {
            size_t ncap = cap * 2;
            while (ncap < len + k)
                ncap *= 2;
            clf_feat *nf = eng__realloc(t->feats, ncap * sizeof *nf);
            if (!nf)
                return ENG_ENOMEM;
            t->feats = nf;
            cap = ncap;
        }
        t->off[i] = len;
        memcpy(t->feats + len, buf, k * sizeof *buf);
        len += k;
        for (size_t j = 0; j < k; j++)
            t->df[buf[j].bucket]++;
    }
    t->off[n] = len;
    /* with 1000+ examples, a bucket seen in one example only is mostly a
     * typo or an order-specific detail: dropping those halves the model
     * (and its cache footprint) at no cost in accuracy on Bitext/CLINC */
    uint32_t min_df = n >= 1000 ? 2 : 1;
    size_t seen = 0, size = 64;
    int bits = 6;
    for (size_t b = 0; b < nb; b++)
        seen += t->df[b] >= min_df;
    while (size < 2 * seen) {
        size *= 2;
        bits++;
    }
    m->tab = eng__calloc(size, sizeof *m->tab);
    if (!m->tab)
        return ENG_ENOMEM;
    m->tmask = (uint32_t)size - 1;
    m->tshift = 32 - bits;
    m->nrows = 0;
    for (size_t b = 0; b < nb; b++) {
        if (t->df[b] < min_df)
            continue;
        uint32_t i = ((uint32_t)b * 0x9e3779b1u) >> m->tshift;
        while (m->tab[i].key)
            i = (i + 1) & m->tmask;
        m->tab[i] = (clf_slot){.key = (uint32_t)b + 1, .row = (int32_t)m->nrows++,
                               .idf = logf((float)(n + 1) / (float)(t->df[b] + 1)) + 1.0f};
    }
    m->idf_unseen = logf((float)(n + 1)) + 1.0f;
    eng__free(t->df);
    t->df = NULL;
    return 0;
}

/* SGD on the softmax loss with L2. The weights are kept as s * V so that
 * the L2 shrink of every weight is one multiply of s per step (Bottou's
 * trick); the rate decays as lr0 / (1 + lr0 * l2 * t). The returned model
 * averages the weights after each epoch of the second half, which gives
 * most of averaged SGD's stability for an O(weights) cost per epoch. */
static int sgd(eng_clf *m, size_t n, int epochs, double l2, uint64_t seed, train_tmp *t)
{
    size_t st = m->stride, c = m->nlabels, nw = m->nrows * st;
    clf_x *xs = (clf_x *)t->feats;
    alignas(64) float g[CLF_MAX_LABELS];
    float *avg = alloc_floats(nw + st, &t->avg_raw);
    t->order = eng__malloc(n * sizeof *t->order);
    if (!avg || !t->order)
        return ENG_ENOMEM;
    for (size_t i = 0; i < n; i++)
        t->order[i] = i;

    float *w = m->w, *bias = m->w + nw;
    const float lr0 = 0.5f, lambda = (float)l2;
    float s = 1.0f;
    uint64_t rng = seed, step = 0;
    int avg_from = epochs / 2, navg = 0;
    for (int ep = 0; ep < epochs; ep++) {
        for (size_t i = n; i > 1; i--) {
            size_t j = (size_t)(splitmix64(&rng) % i);
            size_t tmp = t->order[i - 1];
            t->order[i - 1] = t->order[j];
            t->order[j] = tmp;
        }
        for (size_t ii = 0; ii < n; ii++) {
            size_t i = t->order[ii];
            const clf_x *x = xs + t->off[i];
            size_t k = t->off[i + 1] - t->off[i];
            score(m, x, k, s, g);
            softmax(g, c);
            g[t->y[i]] -= 1.0f;
            for (size_t j = c; j < st; j++)
                g[j] = 0;
            float lr = lr0 / (1.0f + lr0 * lambda * (float)step++);
            s *= 1.0f - lr * lambda;
            float a = -lr / s;
            for (size_t j = 0; j < k; j++)
                axpy(w + (size_t)x[j].row * st, g, a * x[j].val, st);
            axpy(bias, g, -lr, st);
            if (s < 1e-4f) {
                for (size_t j = 0; j < nw; j++)
                    w[j] *= s;
                s = 1.0f;
            }
        }
        if (ep >= avg_from) {
            for (size_t j = 0; j < nw; j++)
                avg[j] += s * w[j];
            for (size_t j = 0; j < st; j++)
                avg[nw + j] += bias[j];
            navg++;
        }
    }
    float inv = 1.0f / (float)(navg ? navg : 1);
    for (size_t j = 0; j < nw + st; j++)
        w[j] = navg ? avg[j] * inv : (j < nw ? s * w[j] : w[j]);
    return 0;
}

int eng_clf_train(const char *const *texts, const char *const *labels, size_t n,
                  const eng_clf_opts *o, eng_clf **out, eng_err *err)
{
    if (!out)
        return eng_err_set(err, ENG_EINVAL, "eng_clf_train: out is NULL");
    *out = NULL;
    if (n == 0 || !texts || !labels)
        return eng_err_set(err, ENG_EINVAL, "eng_clf_train: no training examples");
    for (size_t i = 0; i < n; i++)
        if (!texts[i] || !labels[i])
            return eng_err_set(err, ENG_EINVAL, "eng_clf_train: example %zu has no %s", i,
                               texts[i] ? "label" : "text");
    eng_clf_opts d;
    eng_clf_opts_default(&d);
    if (o) {
        d = *o;
        if (d.epochs <= 0)
            d.epochs = 30;
        if (d.word_ngrams < 1 || d.word_ngrams > 2)
            d.word_ngrams = 2;
        if (d.hash_bits < 12 || d.hash_bits > 24)
            d.hash_bits = 20;
        if (d.char_min < 0 || d.char_min > 8)
            d.char_min = 0;
        if (d.char_max < d.char_min || d.char_max > 8)
            d.char_max = d.char_min;
    }
    /* the L2 strength that did best on Bitext and CLINC150 dev splits */
    double l2 = d.l2 > 0 ? d.l2 : 3e-6;

    int rc;
    train_tmp t = {0};
    eng_clf *m = eng__calloc(1, sizeof *m);
    if (!m)
        return eng_err_set(err, ENG_ENOMEM, "out of memory training the classifier");
    m->fx = (clf_fx){.word_ngrams = d.word_ngrams, .char_min = d.char_min,
                     .char_max = d.char_max, .hash_bits = d.hash_bits};
    m->word_share = 0.5f;
    t.y = eng__malloc(n * sizeof *t.y);
    if (!t.y) {
        rc = eng_err_set(err, ENG_ENOMEM, "out of memory training the classifier");
        goto fail;
    }
    if ((rc = collect_labels(m, labels, n, t.y, err)) < 0)
        goto fail;
    m->stride = (m->nlabels + 7) & ~(size_t)7;
    if ((rc = build_vocab(m, texts, n, &t)) < 0)
        goto oom;
    /* weigh every example in place; offsets are rewritten as rows drop
     * out (buckets below min_df have no row) */
    {
        size_t w = 0;
        for (size_t i = 0; i < n; i++) {
            size_t a = t.off[i], k = t.off[i + 1] - a;
            size_t kept = weigh(m, t.feats + a, k);
            memmove((clf_x *)t.feats + w, (clf_x *)t.feats + a, kept * sizeof(clf_x));
            t.off[i] = w;
            w += kept;
        }
        t.off[n] = w;
    }
    m->w = alloc_floats((m->nrows + 1) * m->stride, &m->w_raw);
    if (!m->w)
        goto oom;
    if ((rc = sgd(m, n, d.epochs, l2, d.seed, &t)) < 0)
        goto oom;
    tmp_free(&t);
    *out = m;
    return 0;
oom:
    rc = eng_err_set(err, ENG_ENOMEM, "out of memory training the classifier");
fail:
    tmp_free(&t);
    eng_clf_free(m);
    return rc;
}
