/* engine/stages/classifier.c — the `classifier` stage: names the
 * shopper's intent with the built-in model, trained when the pipeline
 * loads from the intents' examples. Below `threshold` the turn gets
 * `fallback_intent` instead (out-of-scope detection). */
#include "../pipe_int.h"
#include <stddef.h>
#include <string.h>

typedef struct opts {
    const char *model;
    double threshold;
    const char *fallback_intent;
    long alternatives;
} opts;

static const eng_field fields[] = {
    {"model", ENG_F_STR, false, offsetof(opts, model), "builtin", 0, 0, "which model: builtin"},
    {"threshold", ENG_F_NUM, false, offsetof(opts, threshold), "0.45", 0, 1,
     "below this confidence the fallback intent is used"},
    {"fallback_intent", ENG_F_STR, false, offsetof(opts, fallback_intent), "out_of_scope", 0, 0,
     "intent used when confidence is below the threshold"},
    {"alternatives", ENG_F_INT, false, offsetof(opts, alternatives), "3", 0, 16,
     "how many runner-up intents to record"},
    {NULL, 0, false, 0, NULL, 0, 0, NULL},
};

static int create(eng_stage *st, eng_build *b)
{
    opts *o = st->opts;
    eng_pipeline *p = b->p;
    if (strcmp(o->model, "builtin") != 0) {
        eng__build_error(b, eng__build_key_node(b, "model"), "unknown classifier model \"%s\" (use \"builtin\")",
                         o->model);
        return ENG_ECONFIG;
    }
    size_t n = 0;
    for (size_t i = 0; i < p->nintents; i++)
        n += p->intents[i].examples.n;
    if (p->nintents < 1 || n == 0) {
        eng__build_error(b, 0, "classifier stage \"%s\" needs \"intents\" with examples to learn from", st->id);
        return ENG_ECONFIG;
    }
    const char **texts = eng__pool_alloc(p->pool, n * sizeof *texts);
    const char **labels = eng__pool_alloc(p->pool, n * sizeof *labels);
    if (!texts || !labels)
        return ENG_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < p->nintents; i++)
        for (size_t j = 0; j < p->intents[i].examples.n; j++) {
            texts[k] = p->intents[i].examples.items[j];
            labels[k++] = p->intents[i].name;
        }
    eng_err err = {0};
    eng_clf *m = NULL;
    int rc = eng_clf_train(texts, labels, n, NULL, &m, &err);
    if (rc < 0) {
        eng__build_error(b, 0, "cannot train the intent model: %s", err.msg);
        return rc;
    }
    st->data = m;
    return 0;
}

static eng_result run(const eng_stage *st, eng_turn *t)
{
    const opts *o = st->opts;
    eng_clf_pred top[17];
    size_t k = (size_t)o->alternatives + 1;
    const char *text = eng__json_str(t->ctx, "message.text", "");
    int n = eng_clf_predict(st->data, text, top, k);
    if (n < 1)
        return eng__turn_fail(t, "intent model failed: %s", eng_strerror(n));
    json_object *intent = json_object_new_object();
    bool below = top[0].confidence < o->threshold;
    json_object_object_add(intent, "name", json_object_new_string(below ? o->fallback_intent : top[0].label));
    json_object_object_add(intent, "confidence", json_object_new_double(top[0].confidence));
    json_object_object_add(intent, "source", json_object_new_string("builtin"));
    json_object *alts = json_object_new_array();
    for (int i = below ? 0 : 1; i < n; i++) {
        json_object *a = json_object_new_object();
        json_object_object_add(a, "name", json_object_new_string(top[i].label));
        json_object_object_add(a, "confidence", json_object_new_double(top[i].confidence));
        json_object_array_add(alts, a);
    }
    json_object_object_add(intent, "alternatives", alts);
    json_object_object_add(t->ctx, "intent", intent);
    if (below)
        eng__turn_note(t, "%s: best was %s at %.2f, below threshold %.2f", o->fallback_intent, top[0].label,
                       top[0].confidence, o->threshold);
    else
        eng__turn_note(t, "%s %.2f", top[0].label, top[0].confidence);
    return ENG_R_OK;
}

static void destroy(eng_stage *st) { eng_clf_free(st->data); }

const eng_stage_type eng__stage_classifier = {
    .name = "classifier",
    .doc = "names the intent with the built-in model trained from the intents' examples",
    .fields = fields,
    .opts_size = sizeof(opts),
    .create = create,
    .run = run,
    .destroy = destroy,
};
