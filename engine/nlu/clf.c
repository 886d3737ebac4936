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
    eng__free(m);
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
