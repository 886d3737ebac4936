/* engine/stages/classifier.c — the `classifier` stage: names the
 * shopper's intent with the built-in model, trained when the pipeline
 * loads from the intents' examples. Below `threshold` the turn gets
 * `fallback_intent` instead (out-of-scope detection). */
#include "../llmstage.h"
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

typedef struct opts {
    const char *model;
    double threshold;
    const char *fallback_intent;
    long alternatives;
    long llm_timeout_ms;
} opts;

typedef struct data {
    eng_clf *model;
    const char *prompt;     /* the LLM's instructions, listing the intents */
} data;

static const eng_field fields[] = {
    {"model", ENG_F_STR, false, offsetof(opts, model), "builtin", 0, 0,
     "builtin, or llm (the configured LLM picks; the built-in model is the fallback)"},
    {"threshold", ENG_F_NUM, false, offsetof(opts, threshold), "0.45", 0, 1,
     "below this confidence the fallback intent is used"},
    {"fallback_intent", ENG_F_STR, false, offsetof(opts, fallback_intent), "out_of_scope", 0, 0,
     "intent used when confidence is below the threshold"},
    {"alternatives", ENG_F_INT, false, offsetof(opts, alternatives), "3", 0, 16,
     "how many runner-up intents to record"},
    {"llm_timeout_ms", ENG_F_INT, false, offsetof(opts, llm_timeout_ms), "1500", 50, 60000,
     "with model: llm, the longest the LLM may take before the built-in model answers"},
    {NULL, 0, false, 0, NULL, 0, 0, NULL},
};

static int create(eng_stage *st, eng_build *b)
{
    opts *o = st->opts;
    eng_pipeline *p = b->p;
    if (strcmp(o->model, "builtin") != 0 && strcmp(o->model, "llm") != 0) {
        eng__build_error(b, eng__build_key_node(b, "model"),
                         "unknown classifier model \"%s\" (use \"builtin\" or \"llm\")", o->model);
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
    data *dt = eng__pool_alloc(p->pool, sizeof *dt);
    if (!dt) {
        eng_clf_free(m);
        return ENG_ENOMEM;
    }
    dt->model = m;
    st->data = dt;
    if (strcmp(o->model, "llm") == 0) {
        eng_buf pr;
        eng__buf_init(&pr);
        eng__buf_adds(&pr, "You classify a shopper's message to an online store. Answer with JSON only, "
                           "like {\"intent\": \"NAME\", \"confidence\": 0.9, \"slots\": {}}. NAME is one of:\n");
        for (size_t i = 0; i < p->nintents; i++) {
            const eng_intent *in = &p->intents[i];
            eng__buf_printf(&pr, "- %s", in->name);
            if (in->description)
                eng__buf_printf(&pr, ": %s", in->description);
            for (size_t e = 0; e < in->examples.n && e < 2; e++)
                eng__buf_printf(&pr, "%s\"%s\"", e ? ", " : " (e.g. ", in->examples.items[e]);
            eng__buf_adds(&pr, in->examples.n ? ")\n" : "\n");
        }
        eng__buf_printf(&pr, "If none fits, use \"%s\". Put what the message names (quantity, "
                             "product, colour, size, price range, order number) in slots.", o->fallback_intent);
        dt->prompt = pr.oom ? NULL : eng__pool_strdup(p->pool, pr.data);
        eng__buf_free(&pr);
        if (!dt->prompt)
            return ENG_ENOMEM;
    }
    return 0;
}

static bool known_intent(const eng_pipeline *p, const char *name, const char *fallback)
{
    if (strcmp(name, fallback) == 0)
        return true;
    for (size_t i = 0; i < p->nintents; i++)
        if (strcmp(p->intents[i].name, name) == 0)
            return true;
    return false;
}

/* Ask the LLM; on success set ctx.intent (source llm) and merge its
 * slots. Returns false with `why` filled when the built-in model must
 * answer instead. */
static bool ask_llm(const eng_stage *st, eng_turn *t, const opts *o, const data *dt, char *why, size_t n)
{
    eng_llm *llm = eng__turn_llm(t);
    if (!llm) {
        snprintf(why, n, "no LLM configured");
        return false;
    }
    eng_llm_msg msg = {"user", eng__json_str(t->ctx, "message.text", "")};
    char *answer = NULL;
    eng_err err = {0};
    int rc = eng_llm_chat(llm, dt->prompt, &msg, 1, eng__llm_deadline(t, o->llm_timeout_ms, 300), NULL, NULL,
                          &answer, &err);
    if (rc < 0) {
        snprintf(why, n, "%s", err.msg[0] ? err.msg : eng_strerror(rc));
        return false;
    }
    json_object *j = eng__json_in_text(answer);
    free(answer);
    const char *name = eng__json_str(j, "intent", NULL);
    if (!j || !name) {
        snprintf(why, n, "the LLM's answer is not {\"intent\": ...} JSON");
        json_object_put(j);
        return false;
    }
    if (!known_intent(st->pipe, name, o->fallback_intent)) {
        snprintf(why, n, "the LLM named an intent this pipeline does not have: \"%.60s\"", name);
        json_object_put(j);
        return false;
    }
    json_object *c = eng__json_path(j, "confidence");
    double conf = c && (json_object_is_type(c, json_type_double) || json_object_is_type(c, json_type_int))
                      ? json_object_get_double(c) : 0.9;
    if (!(conf >= 0 && conf <= 1))
        conf = 0.9;
    json_object *intent = json_object_new_object();
    json_object_object_add(intent, "name", json_object_new_string(name));
    json_object_object_add(intent, "confidence", json_object_new_double(conf));
    json_object_object_add(intent, "source", json_object_new_string("llm"));
    json_object_object_add(intent, "alternatives", json_object_new_array());
    json_object_object_add(t->ctx, "intent", intent);
    json_object *slots = eng__json_path(j, "slots");
    if (slots && json_object_is_type(slots, json_type_object)) {
        json_object *dst = eng__json_path(t->ctx, "slots");
        if (!dst) {
            dst = json_object_new_object();
            json_object_object_add(t->ctx, "slots", dst);
        }
        json_object_object_foreach(slots, k, v) {
            if (!json_object_object_get_ex(dst, k, NULL))
                json_object_object_add(dst, k, json_object_get(v));
        }
    }
    eng__turn_note(t, "%s %.2f (llm)", name, conf);
    json_object_put(j);
    return true;
}

static eng_result run(const eng_stage *st, eng_turn *t)
{
    const opts *o = st->opts;
    const data *dt = st->data;
    char why[300] = "";
    if (dt->prompt && ask_llm(st, t, o, dt, why, sizeof why))
        return ENG_R_OK;
    eng_clf_pred top[17];
    size_t k = (size_t)o->alternatives + 1;
    const char *text = eng__json_str(t->ctx, "message.text", "");
    int n = eng_clf_predict(dt->model, text, top, k);
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
    if (why[0]) {
        /* the LLM was asked and failed: the built-in model answered */
        json_object_object_add(intent, "fallback", json_object_new_string(why));
        eng__fallback(t, st->id, why);
        eng__turn_note(t, "llm fallback (%s): %s %.2f", why, below ? o->fallback_intent : top[0].label,
                       top[0].confidence);
    } else if (below)
        eng__turn_note(t, "%s: best was %s at %.2f, below threshold %.2f", o->fallback_intent, top[0].label,
                       top[0].confidence, o->threshold);
    else
        eng__turn_note(t, "%s %.2f", top[0].label, top[0].confidence);
    return ENG_R_OK;
}

static void destroy(eng_stage *st)
{
    data *dt = st->data;
    eng_clf_free(dt->model);
}

const eng_stage_type eng__stage_classifier = {
    .name = "classifier",
    .doc = "names the intent with the built-in model trained from the intents' examples",
    .fields = fields,
    .opts_size = sizeof(opts),
    .create = create,
    .run = run,
    .destroy = destroy,
};
