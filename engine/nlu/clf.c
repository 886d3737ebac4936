/* engine/nlu/clf.c — the built-in intent classifier: multinomial logistic
 * regression over TF-IDF weighted, L2-normalised hashed n-grams
 * (features.c). This file holds the model's lifetime and prediction; the
 * kernels (weighing, the SIMD scoring, softmax) are in clf_kernels.c and
 * training (SGD with L2 and averaging over the last epochs) in
 * clf_train.c. Prediction allocates nothing and only reads the model:
 * thread-safe.
 */
#include "clf_int.h"
#include <math.h>
#include <stdalign.h>
#include <string.h>

void eng_clf_opts_default(eng_clf_opts *o)
{
    memset(o, 0, sizeof *o);
    o->epochs = 30;
    o->l2 = 0; /* 0 = chosen by eng_clf_train */
    o->word_ngrams = 2;
    /* 3- and 4-grams: as accurate as 2..5 on Bitext and CLINC150 (2-grams
     * say little, 5-grams mostly repeat the word features) with 40% fewer
     * features a message, and every stage of prediction scales with that */
    o->char_min = 3;
    o->char_max = 4;
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
    eng__free(m->idf);
    eng__free(m->w_raw);
    eng__free(m->q_raw);
    eng__free(m->mem_key);
    eng__free(m->mem_label);
    eng__free(m);
}

/* ------------------------------------------------------ example memory */

uint64_t eng__clf_text_key(const char *text)
{
    char norm[CLF_MAX_TEXT + 2];
    size_t len = eng__clf_normalise(text, norm, sizeof norm);
    if (len == 0 || len >= CLF_MAX_TEXT)
        return 0;
    uint64_t h = 0xcbf29ce484222325ull;   /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)norm[i]) * 0x100000001b3ull;
    return h ? h : 1;
}

int eng__clf_remember(eng_clf *m, const char *const *texts, const uint16_t *y, size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n)
        cap <<= 1;
    m->mem_key = eng__calloc(cap, sizeof *m->mem_key);
    m->mem_label = eng__calloc(cap, sizeof *m->mem_label);
    if (!m->mem_key || !m->mem_label)
        return ENG_ENOMEM;
    m->mem_mask = cap - 1;
    for (size_t i = 0; i < n; i++) {
        uint64_t k = eng__clf_text_key(texts[i]);
        if (!k)
            continue;
        size_t s = (size_t)k & m->mem_mask;
        while (m->mem_key[s] && m->mem_key[s] != k)
            s = (s + 1) & m->mem_mask;
        if (!m->mem_key[s]) {
            m->mem_key[s] = k;
            m->mem_label[s] = y[i];
        } else if (m->mem_label[s] != y[i]) {
            m->mem_label[s] = CLF_MEM_MIXED;
        }
    }
    return 0;
}

int eng__clf_recall(const eng_clf *m, const char *text)
{
    if (!m->mem_key)
        return -1;
    uint64_t k = eng__clf_text_key(text);
    if (!k)
        return -1;
    for (size_t s = (size_t)k & m->mem_mask; m->mem_key[s]; s = (s + 1) & m->mem_mask)
        if (m->mem_key[s] == k)
            return m->mem_label[s] >= 0 ? m->mem_label[s] : -1;
    return -1;
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
    size_t nx = eng__clf_weigh(m, f, n);
    eng__clf_score_q(m, (const clf_x *)f, nx, p);
    size_t c = m->nlabels;
    eng__clf_softmax(p, c);
    /* a message that repeats a training example word for word is that
     * example: the model, which generalises over thousands of lines,
     * can still place a short one elsewhere ("hiya" among the shopper
     * queries); the others keep their proportions */
    int r = eng__clf_recall(m, text);
    if (r >= 0 && p[r] < CLF_MEM_CONFIDENCE) {
        float rest = 1.0f - p[r], scale = rest > 0 ? (1.0f - CLF_MEM_CONFIDENCE) / rest : 0;
        for (size_t j = 0; j < c; j++)
            p[j] = (int)j == r ? CLF_MEM_CONFIDENCE : p[j] * scale;
    }

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
