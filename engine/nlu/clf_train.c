/* engine/nlu/clf_train.c — training the built-in intent classifier
 * (clf.c): labels, the vocabulary of hashed features with their idf, SGD
 * with L2 and averaging over the last epochs, then quantising the weights
 * to int8 rows. Deterministic for a given seed. */
#include "clf_int.h"
#include <math.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

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
    /* load factor up to 3/4: linear probing still finds a key in about
     * two probes, mostly in the same cache line, and a smaller table
     * stays in cache */
    while (3 * size < 4 * seen) {
        size *= 2;
        bits++;
    }
    m->tab = eng__calloc(size, sizeof *m->tab);
    m->idf = eng__malloc((seen ? seen : 1) * sizeof *m->idf);
    if (!m->tab || !m->idf)
        return ENG_ENOMEM;
    m->tmask = (uint32_t)size - 1;
    m->tshift = 32 - bits;
    m->nrows = 0;
    for (size_t b = 0; b < nb; b++) {
        if (t->df[b] < min_df)
            continue;
        uint32_t i = eng__clf_slot_of(m, (uint32_t)b);
        while (m->tab[i].key)
            i = (i + 1) & m->tmask;
        m->idf[m->nrows] = logf((float)(n + 1) / (float)(t->df[b] + 1)) + 1.0f;
        m->tab[i] = (clf_slot){.key = (uint32_t)b + 1, .row = (int32_t)m->nrows++};
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
            eng__clf_score(m, x, k, s, g);
            eng__clf_softmax(g, c);
            g[t->y[i]] -= 1.0f;
            for (size_t j = c; j < st; j++)
                g[j] = 0;
            float lr = lr0 / (1.0f + lr0 * lambda * (float)step++);
            s *= 1.0f - lr * lambda;
            float a = -lr / s;
            for (size_t j = 0; j < k; j++)
                eng__clf_axpy(w + (size_t)x[j].row * st, g, a * x[j].val, st);
            eng__clf_axpy(bias, g, -lr, st);
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

/* quantise: the trained float weights become int8 rows with a scale
 * each (the largest magnitude maps to 127) and the row's idf; the float
 * weights and idf array are freed. */
static int quantise(eng_clf *m)
{
    size_t st = m->stride, nr = m->nrows;
    /* rows of stride + 8 bytes keep every 8-byte load aligned; the
     * bias, after the rows, starts on a cache line */
    size_t qb = st + 8, rows = (nr * qb + 63) & ~(size_t)63;
    float *base = alloc_floats(rows / sizeof(float) + st, &m->q_raw);
    if (!base)
        return ENG_ENOMEM;
    m->qbytes = qb;
    m->q = (int8_t *)base;
    m->bias = base + rows / sizeof(float);
    for (size_t r = 0; r < nr; r++) {
        const float *w = m->w + r * st;
        int8_t *q = m->q + r * qb;
        float mx = 0;
        for (size_t j = 0; j < st; j++)
            mx = fabsf(w[j]) > mx ? fabsf(w[j]) : mx;
        float sc = mx > 0 ? mx / 127.0f : 1.0f;
        for (size_t j = 0; j < st; j++)
            q[j] = (int8_t)lrintf(w[j] / sc);
        memcpy(q + st, &sc, sizeof sc);
        memcpy(q + st + 4, &m->idf[r], sizeof(float));
    }
    memcpy(m->bias, m->w + nr * st, st * sizeof(float));
    eng__free(m->w_raw);
    eng__free(m->idf);
    m->w_raw = NULL;
    m->w = NULL;
    m->idf = NULL;
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
    /* words get a little more than half the norm: on CLINC150 that
     * separates near-synonymous intents better, on Bitext it is neutral */
    m->word_share = 0.6f;
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
            size_t kept = eng__clf_weigh(m, t.feats + a, k);
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
    if ((rc = quantise(m)) < 0)
        goto oom;
    if (eng__clf_remember(m, texts, t.y, n) < 0)
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
