/* engine/stages/classifier.c — the `classifier` stage: names the
 * shopper's intent with the built-in model, trained when the pipeline
 * loads from the intents' examples. Below `threshold` the turn gets
 * `fallback_intent` instead (out-of-scope detection). Before that, the
 * message's misspellings are corrected from the catalog's vocabulary
 * (engine/nlu/lexicon.c); after it, a message the model cannot place
 * but that names what the shop sells (or asks for something to buy) is
 * a `catalog_intent` (search) instead of out of scope. */
#define _GNU_SOURCE /* strcasestr */
#include "engine/llmstage_int.h"
#include "engine/catcache_int.h"
#include "engine/knowledge_int.h"
#include "engine/nlu/lexicon_int.h"
#include "engine/nlu/ent_int.h"
#include "engine/nlu/clf_int.h"
#include "stores/store.h"
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

typedef struct opts {
    const char *model;
    double threshold;
    const char *fallback_intent;
    long alternatives;
    long llm_timeout_ms;
    const char *lexicon, *dictionary, *catalog_intent, *knowledge_intent, *answer_intents, *reread_intents;
    const char *unsure_intents;
    double unsure_floor;
    bool use_catalog;
} opts;

typedef struct data {
    eng_clf *model;
    const char *prompt;     /* the LLM's instructions, listing the intents */
    char *syn;              /* the lexicon file's text, or NULL */
    const opts *o;
    eng__lex *base;         /* lexicon and word list only: no catalog (yet) */
    eng__catcache *cat;     /* base + the catalog's words (an eng__lex) */
} data;

#define LEX_MAX_PRODUCTS 1000000   /* products read into the vocabulary */

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
    {"lexicon", ENG_F_STR, false, offsetof(opts, lexicon), NULL, 0, 0,
     "a synonym file of \"HEAD: word, word\" lines (HEAD a category or catalog word) for catalog understanding"},
    {"dictionary", ENG_F_STR, false, offsetof(opts, dictionary), "/usr/share/dict/words", 0, 0,
     "an English word list: its words are never spelling-corrected (absent: only long words are corrected)"},
    {"use_catalog", ENG_F_BOOL, false, offsetof(opts, use_catalog), "true", 0, 0,
     "correct spelling and recognise products from the store's catalog"},
    {"catalog_intent", ENG_F_STR, false, offsetof(opts, catalog_intent), "search_product", 0, 0,
     "the intent of a message the model cannot place that names what the shop sells"},
    {"knowledge_intent", ENG_F_STR, false, offsetof(opts, knowledge_intent), "shop_question", 0, 0,
     "questions the knowledge file answers: one it has no answer for that names what the shop sells "
     "(\"do you have X\") is a catalog_intent instead"},
    {"answer_intents", ENG_F_STR, false, offsetof(opts, answer_intents), "confirm deny", 0, 0,
     "intents that answer a question (space-separated): with no question pending, one that names what the "
     "shop sells (\"no dig fence\") is a catalog_intent instead"},
    {"reread_intents", ENG_F_STR, false, offsetof(opts, reread_intents), "", 0, 0,
     "intents (space-separated) that a message is read again for without its catalog words, when the model "
     "made it a weak catalog_intent (\"delete the perfume\"); a reading found so has intent.source \"reread\" "
     "and the agents ask before acting on it"},
    {"unsure_intents", ENG_F_STR, false, offsetof(opts, unsure_intents), "", 0, 0,
     "intents (space-separated) kept below the threshold when the model's best reading is one of them, at "
     "least unsure_floor and clearly ahead of the next (\"ok chuck it in the basket\"), and nothing in the "
     "catalog explains the message; such a reading has intent.source \"unsure\": the cart agent asks before "
     "any change, agents that only read answer as usual, instead of answering out of scope"},
    {"unsure_floor", ENG_F_NUM, false, offsetof(opts, unsure_floor), "0.15", 0, 1,
     "with unsure_intents: the least confidence a reading below the threshold is kept at"},
    {NULL, 0, false, 0, NULL, 0, 0, NULL},
};

static void *load_catalog(const void *ud, struct store *s, char *note, size_t cap);
static void lex_free(void *v) { eng__lex_free(v); }

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
    memset(dt, 0, sizeof *dt);
    dt->model = m;
    st->data = dt;
    if (o->lexicon) {
        const char *path = eng__build_path(b, o->lexicon);
        size_t len;
        if (!path || !(dt->syn = eng__read_file(path, &len))) {
            eng__build_error(b, eng__build_key_node(b, "lexicon"), "cannot read lexicon file \"%s\"", o->lexicon);
            return ENG_ECONFIG;
        }
    }
    dt->o = o;
    if (eng__lex_new(dt->syn, o->dictionary && *o->dictionary ? o->dictionary : NULL, &dt->base) < 0 ||
        eng__lex_finish(dt->base) < 0)
        return ENG_ENOMEM;
    if (o->use_catalog && !(dt->cat = eng__cc_new(load_catalog, lex_free, dt)))
        return ENG_ENOMEM;
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
    ENG_JADD(intent, "name", json_object_new_string(name));
    ENG_JADD(intent, "confidence", json_object_new_double(conf));
    ENG_JADD(intent, "source", json_object_new_string("llm"));
    ENG_JADD(intent, "alternatives", json_object_new_array());
    ENG_JADD(t->ctx, "intent", intent);
    json_object *slots = eng__json_path(j, "slots");
    if (slots && json_object_is_type(slots, json_type_object)) {
        json_object *dst = eng__json_path(t->ctx, "slots");
        if (!dst) {
            dst = json_object_new_object();
            ENG_JADD(t->ctx, "slots", dst);
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

/* ------------------------------------------------------------ catalog vocabulary */
typedef struct walk {
    eng__lex *x;
    size_t n;
} walk;

static int add_one(void *ud, const store_product *p)
{
    walk *w = ud;
    if (w->n >= LEX_MAX_PRODUCTS)
        return 1;
    w->n++;
    return eng__lex_add_product(w->x, p->title, p->brand, p->category, p->tags, p->n_tags) ? -1 : 0;
}

/* Every product's title, brand, category and tags in one walk. */
static void *load_catalog(const void *ud, struct store *s, char *note, size_t cap)
{
    const data *dt = ud;
    const opts *o = dt->o;
    walk w = {0};
    int64_t t0 = eng_now_us();
    if (eng__lex_new(dt->syn, o->dictionary && *o->dictionary ? o->dictionary : NULL, &w.x) < 0)
        return NULL;
    store_err err = {0};
    int rc = store_product_each(s, add_one, &w, &err);
    if (rc < 0 || eng__lex_finish(w.x) < 0) {
        snprintf(note, cap, "; catalog vocabulary unavailable: %.100s", rc < 0 && err.msg[0] ? err.msg : "out of memory");
        eng__lex_free(w.x);
        return NULL;
    }
    snprintf(note, cap, "; catalog vocabulary: %zu products, %zu words in %.0f ms", w.n, eng__lex_words(w.x),
             (double)(eng_now_us() - t0) / 1000.0);
    return w.x;
}

/* Spelling first: the model and the later stages read the corrected
 * text; the shopper's own words stay in message.original. */
static void correct(eng_turn *t, const eng__lex *x, char *note, size_t cap)
{
    const char *text = eng__json_str(t->ctx, "message.text", "");
    size_t len = strlen(text);
    if (!len || len > 2000)
        return;
    char *out = eng__pool_alloc(t->pool, len * 2 + 64), *unit = eng__pool_alloc(t->pool, len + 1), fixes[200];
    if (!out || !unit)
        return;
    /* "two bags of those" is two of those: the container is no product */
    int units = eng__lex_units(text, unit, len + 1);
    int fixed = eng__lex_correct(x, units ? unit : text, out, len * 2 + 64, fixes, sizeof fixes);
    if (units <= 0 && fixed <= 0)
        return;
    json_object *m = eng__json_path(t->ctx, "message");
    ENG_JADD(m, "original", json_object_new_string(text));
    ENG_JADD(m, "text", json_object_new_string(fixed > 0 ? out : unit));
    snprintf(note, cap, "; corrected %s%s", units > 0 ? "units " : "", fixed > 0 ? fixes : "");
}

/* Whether `name` is a word of the space- or comma-separated `list`. */
static bool in_list(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t k = strcspn(p, " ,");
        if (k == n && k && strncmp(p, name, n) == 0)
            return true;
        p += k;
    }
    return false;
}

static bool has_intent(const eng_pipeline *p, const char *name)
{
    for (size_t i = 0; name && i < p->nintents; i++)
        if (strcmp(p->intents[i].name, name) == 0)
            return true;
    return false;
}

/* `text` without the words that name catalog things (eng__lex_names:
 * title words, brands, product types and their synonyms), into out[0..cap) (cap > strlen(text));
 * *masked and *kept count the words left out and kept. */
static void strip_catalog_words(const eng__lex *x, const char *text, char *out, size_t cap, int *masked, int *kept)
{
    char w[64];
    size_t n = 0;
    *masked = *kept = 0;
    for (const char *p = text; *p && n + 1 < cap;) {
        if (!isalnum((unsigned char)*p) && *p != '\'') {
            out[n++] = *p++;
            continue;
        }
        const char *b = p;
        while (*p && (isalnum((unsigned char)*p) || *p == '\''))
            p++;
        size_t k = (size_t)(p - b);
        bool product = false;
        if (k < sizeof w) {
            for (size_t i = 0; i < k; i++)
                w[i] = (char)tolower((unsigned char)b[i]);
            w[k] = 0;
            product = !isdigit((unsigned char)w[0]) && eng__lex_names(x, w);
        }
        if (product) {
            (*masked)++;
            continue;
        }
        if (n + k + 1 > cap)
            break;
        memcpy(out + n, b, k);
        n += k;
        (*kept)++;
    }
    out[n] = 0;
}

/* After the model: what the message names in the catalog, into
 * ctx.understanding; a message the model left out of scope that names
 * catalog things, or asks for something to buy, becomes a search. */
static void understand(const eng_stage *st, eng_turn *t, const opts *o, const eng__lex *x, char *note, size_t cap)
{
    eng__lex_info in;
    eng__lex_analyse(x, eng__json_str(t->ctx, "message.text", ""), &in);
    json_object *u = json_object_new_object();
    ENG_JADD(u, "content", json_object_new_int(in.content));
    ENG_JADD(u, "known", json_object_new_int(in.known));
    ENG_JADD(u, "cues", json_object_new_int(in.cues));
    ENG_JADD(u, "dictionary", json_object_new_boolean(eng__lex_has_dict(x)));
    /* the message's words that name catalog things: what an agent may
     * keep of "the whisk looks handy" when it looks for the product */
    json_object *named = json_object_new_array();
    const char *msg = eng__json_str(t->ctx, "message.text", "");
    for (const char *p = msg; *p && json_object_array_length(named) < 16;) {
        while (*p && !isalnum((unsigned char)*p))
            p++;
        const char *b = p;
        while (isalnum((unsigned char)*p))
            p++;
        size_t k = (size_t)(p - b);
        char w[64];
        if (!k || k >= sizeof w || isdigit((unsigned char)*b))
            continue;
        for (size_t i = 0; i < k; i++)
            w[i] = (char)tolower((unsigned char)b[i]);
        w[k] = 0;
        if (eng__lex_names(x, w))
            json_object_array_add(named, json_object_new_string(w));
    }
    ENG_JADD(u, "named", named);
    if (in.category) {
        ENG_JADD(u, "category", json_object_new_string(in.category));
        ENG_JADD(u, "productType", json_object_new_string(in.type));
        ENG_JADD(u, "typeLiteral", json_object_new_boolean(in.type_literal));
        if (in.head[0])
            ENG_JADD(u, "typeHead", json_object_new_string(in.head));
    }
    if (in.for_whom) {
        ENG_JADD(u, "forWhom", json_object_new_string(in.for_whom == 1 ? "men" : "women"));
        /* "and for my girlfriend?" after "watches for a guy": the last
         * list's category for the other wearer, when the catalog has it */
        const char *last = eng__json_str(t->ctx, "session.lastQuery.category", NULL);
        const char *rest = NULL;
        if (!in.category && last && in.for_whom == 1 && strncmp(last, "womens-", 7) == 0)
            rest = last + 7;
        else if (!in.category && last && in.for_whom == 2 && strncmp(last, "mens-", 5) == 0)
            rest = last + 5;
        /* "any for women" after "watches" (no category: both men's and
         * women's hold watches): the women's category of the kind
         * searched for, when the catalog has one; never every women's
         * thing (a handbag was then the cheapest "watch") */
        const char *said = eng__json_str(t->ctx, "session.lastQuery.text", NULL);
        if (!in.category && !last && !rest && said && *said && !strchr(said, ' '))
            rest = said;
        char other[96];
        const char *cat = NULL;
        if (rest && snprintf(other, sizeof other, "%s%s", in.for_whom == 1 ? "mens-" : "womens-", rest) <
                        (int)sizeof other)
            cat = eng__lex_category(x, other);
        if (cat)
            ENG_JADD(u, "otherWearer", json_object_new_string(cat));
    }
    ENG_JADD(t->ctx, "understanding", u);
    json_object *intent = eng__json_path(t->ctx, "intent");
    const char *name = eng__json_str(intent, "name", "");
    /* "do you have oscillating multi tools" reads like "do you have
     * physical stores": a question the shop's knowledge has no answer for
     * that names catalog things is a search */
    bool question = o->knowledge_intent && *o->knowledge_intent && strcmp(name, o->knowledge_intent) == 0 &&
                    t->p->knowledge;
    /* "no dig fence", "shop vac no wheels": a yes or no with nothing
     * asked is a product named with "no" in it */
    bool answer = in_list(o->answer_intents, name) && !eng__json_path(t->ctx, "session.pending");
    if ((strcmp(name, o->fallback_intent) != 0 && !question && !answer) ||
        !has_intent(st->pipe, o->catalog_intent) || !in.content)
        return;
    /* "no not those, i meant tablets": a correction that names what the
     * shop sells, one word is enough */
    static const char *const corrects[] = {"i meant", "i mean", "i wanted", "i asked for", "instead", "rather",
                                           NULL};
    bool correction = false;
    for (size_t i = 0; corrects[i] && !correction; i++)
        correction = strcasestr(eng__json_str(t->ctx, "message.text", ""), corrects[i]) != NULL;
    /* "phones no more than 300": a thing the shop sells and a number */
    for (const char *p = eng__json_str(t->ctx, "message.text", ""); *p && !correction; p++)
        correction = *p >= '0' && *p <= '9';
    if (answer && in.known < (correction ? 1 : 2))
        return;
    bool names = in.known > 0 && in.known * 2 >= in.content;
    /* "a couch for the living room": a type named first is the request;
     * "who won the football game" names one only in passing */
    bool typed = in.category && (in.known * 2 >= in.content || in.cues || in.type_part == 0);
    bool vague = !names && !typed && in.cues > 0;
    if (!names && !typed && !vague)
        return;
    eng_kb_hit hit;
    if (question && vague)
        return;
    if (vague && !question && o->knowledge_intent && *o->knowledge_intent && t->p->knowledge) {
        /* "any chance it'd get here by tuesday": no product named, the
         * model's best (if unsure) guess a question of the shop's, and the
         * shop's knowledge answers it: a question, not a vague need */
        json_object *alts = eng__json_path(intent, "alternatives");
        json_object *a0 = alts && json_object_array_length(alts) ? json_object_array_get_idx(alts, 0) : NULL;
        /* or a close second (within a fifth of the best): a coin flip
         * between a search that names nothing and a question */
        json_object *a1 = alts && json_object_array_length(alts) > 1 ? json_object_array_get_idx(alts, 1) : NULL;
        if (a0 && strcmp(eng__json_str(a0, "name", ""), o->knowledge_intent) != 0 && a1 &&
            strcmp(eng__json_str(a1, "name", ""), o->knowledge_intent) == 0 &&
            json_object_get_double(eng__json_path(a1, "confidence")) >=
                0.8 * json_object_get_double(eng__json_path(a0, "confidence")))
            a0 = a1;
        const char *text = eng__json_str(t->ctx, "message.text", "");
        bool guessed = a0 && strcmp(eng__json_str(a0, "name", ""), o->knowledge_intent) == 0;
        /* or the shop's text answers it strictly ("got any good deals":
         * the one word asked is a section's topic) */
        if ((guessed && eng__kb_answers(t->p->knowledge, text, NULL, false, &hit)) ||
            (!guessed && eng__kb_answers(t->p->knowledge, text, NULL, true, &hit))) {
            ENG_JADD(intent, "name", json_object_new_string(o->knowledge_intent));
            ENG_JADD(intent, "source", json_object_new_string("knowledge"));
            snprintf(note, cap, "; %s: the shop's knowledge answers it (\"%s\")", o->knowledge_intent, hit.title);
            return;
        }
    }
    if (question) {
        /* the knowledge must answer the words around the products: "can
         * i get a watch" is no warranty question because the warranty
         * section names watches */
        const char *text = eng__json_str(t->ctx, "message.text", "");
        char rest[512];
        int masked = 0, kept = 0;
        if (strlen(text) < sizeof rest)
            strip_catalog_words(x, text, rest, sizeof rest, &masked, &kept);
        else {   /* a long message: its first bytes are enough to judge */
            memcpy(rest, text, sizeof rest - 1);
            rest[sizeof rest - 1] = '\0';
        }
        /* and the whole message must be answered too, as the support
         * agent will read it: "do you have shop stool" is no question
         * about the shop because "shop" alone finds a section */
        if (eng__kb_answers(t->p->knowledge, rest, NULL, false, &hit) &&
            eng__kb_answers(t->p->knowledge, text, NULL, false, &hit))
            return;
    }
    if (vague)
        ENG_JADD(u, "vague", json_object_new_boolean(1));
    ENG_JADD(intent, "name", json_object_new_string(o->catalog_intent));
    ENG_JADD(intent, "source", json_object_new_string("catalog"));
    snprintf(note, cap, "; %s by the catalog (%d of %d words known%s%s)", o->catalog_intent, in.known, in.content,
             in.category ? ", a " : "", in.category ? in.category : "");
}

/* A weak catalog reading read again without the catalog's words: a
 * command about products ("delete the perfume", "add a lipstick") looks
 * like a search to a model that met product words mostly in searches.
 * When the words around them clearly ask for one of `reread_intents`,
 * that becomes the intent, marked source "reread" (a guess the agents
 * confirm with the shopper before changing anything). */
#define REREAD_BELOW 0.6    /* a catalog reading this sure stays */
#define REREAD_AT_LEAST 0.6 /* the reading without catalog words must be this sure */
static void reread(const eng_stage *st, eng_turn *t, const opts *o, const data *dt, const eng__lex *x, char *note,
                   size_t cap)
{
    json_object *intent = eng__json_path(t->ctx, "intent");
    const char *name = eng__json_str(intent, "name", "");
    if (!o->reread_intents || !*o->reread_intents || !x ||
        (strcmp(name, o->catalog_intent) != 0 && strcmp(name, o->fallback_intent) != 0) ||
        json_object_get_double(eng__json_path(intent, "confidence")) >= REREAD_BELOW)
        return;
    const char *text = eng__json_str(t->ctx, "message.text", "");
    size_t len = strlen(text);
    if (!len || len > 500)
        return;
    char out[512];
    int masked = 0, kept = 0;
    strip_catalog_words(x, text, out, sizeof out, &masked, &kept);
    /* one word left ("only nike") says too little to act on */
    if (!masked || kept < 2)
        return;
    eng_clf_pred top[1];
    if (eng_clf_predict(dt->model, out, top, 1) < 1 || top[0].confidence < REREAD_AT_LEAST ||
        !in_list(o->reread_intents, top[0].label) || !has_intent(st->pipe, top[0].label))
        return;
    ENG_JADD(intent, "classified", json_object_new_string(name));
    ENG_JADD(intent, "name", json_object_new_string(top[0].label));
    ENG_JADD(intent, "source", json_object_new_string("reread"));
    snprintf(note, cap, "; read again without %d catalog word%s: %s %.2f", masked, masked == 1 ? "" : "s",
             top[0].label, top[0].confidence);
}

#define REREAD_REFS_BELOW 0.8 /* a reading this sure stays */

/* "i don't want", "no longer need": the shopper does not want what the
 * message points at (read on the model's normalised text, so "do not"
 * and "don't" are one). */
static bool unwanted(const char *text)
{
    char n[512];
    if (strlen(text) >= sizeof n)
        return false;
    eng__clf_normalise(text, n, sizeof n);
    static const char *const neg[] = {"dont want", "dont need", "no longer want", "no longer need", "didnt want",
                                      "wont need", "do without", NULL};
    for (size_t i = 0; neg[i]; i++) {
        size_t k = strlen(neg[i]);
        for (const char *p = strstr(n, neg[i]); p; p = strstr(p + 1, neg[i]))
            if ((p == n || p[-1] == ' ') && (p[k] == ' ' || p[k] == '\0'))
                return true;
    }
    return false;
}
/* The cart change the words left around a reference ask for, by their
 * verb ("drop", "get me", "i'll have"), or NULL. On normalised text:
 * "pop it in", "bin it" arrive as "put", "remove". */
static const char *cart_verb(const char *rest)
{
    static const char *const adds[] = {"add", "put", "buy", "grab", "get me", "ill take", "ill have", "i will take",
                                       "i will have", "gimme", "give me", NULL};
    static const char *const removes[] = {"remove", "drop", "delete", "take out", "take off", "get rid",
                                          "lose", NULL};
    char n[512];
    if (strlen(rest) >= sizeof n)
        return NULL;
    eng__clf_normalise(rest, n, sizeof n);
    const char *p = n;
    /* "actually", "ok", "then" before the verb */
    static const char *const lead[] = {"actually ", "ok ", "okay ", "then ", "and ", "so ", "right ", "please ",
                                       "just ", "um ", "hmm ", NULL};
    for (bool again = true; again;) {
        again = false;
        for (size_t i = 0; lead[i]; i++)
            if (strncmp(p, lead[i], strlen(lead[i])) == 0) {
                p += strlen(lead[i]);
                again = true;
            }
    }
    for (int pass = 0; pass < 2; pass++) {
        const char *const *v = pass ? removes : adds;
        for (size_t i = 0; v[i]; i++) {
            size_t k = strlen(v[i]);
            if (strncmp(p, v[i], k) == 0 && (p[k] == ' ' || p[k] == '\0'))
                return pass ? "remove_from_cart" : "add_to_cart";
        }
    }
    /* no verb, but where it goes: "the first one please, into the basket" */
    static const char *const into[] = {"into the", "into my", "in my", "in the", "to my", "to the", NULL};
    static const char *const holder[] = {"cart", "basket", "trolley", "bag", NULL};
    for (size_t i = 0; into[i]; i++)
        for (const char *q = strstr(n, into[i]); q; q = strstr(q + 1, into[i])) {
            if (q > n && q[-1] != ' ')
                continue;
            const char *h = q + strlen(into[i]);
            while (*h == ' ')
                h++;
            for (size_t k = 0; holder[k]; k++) {
                size_t hl = strlen(holder[k]);
                if (strncmp(h, holder[k], hl) == 0 && (h[hl] == ' ' || h[hl] == '\0') && !strstr(n, "from "))
                    return "add_to_cart";
            }
        }
    return NULL;
}

/* Whether what is left around the references is only "and", "please"
 * and the like, with a "please" ("the first and the third please"). */
static bool only_please(const char *rest)
{
    static const char *const ok[] = {"and", "please", "pls", "plz", "the", "one", "ones", "too", "also", "thanks",
                                     "both", NULL};
    bool please = false;
    for (const char *p = rest; *p;) {
        while (*p && !isalpha((unsigned char)*p))
            p++;
        const char *w = p;
        while (isalpha((unsigned char)*p))
            p++;
        size_t n = (size_t)(p - w);
        if (!n)
            break;
        bool known = false;
        for (size_t i = 0; ok[i] && !known; i++)
            known = strlen(ok[i]) == n && strncasecmp(ok[i], w, n) == 0;
        if (!known)
            return false;
        please |= (n == 6 && strncasecmp(w, "please", 6) == 0) || (n == 3 && (strncasecmp(w, "pls", 3) == 0 ||
                                                                             strncasecmp(w, "plz", 3) == 0));
    }
    return please;
}

/* A reading as a question about products only because the message
 * points at products ("remove the first and the second", "i'd like the
 * third one" read as product_details), or no reading at all: read again
 * with the references left out. When the rest clearly asks for one of
 * `reread_intents`, that becomes the intent, source "reread" (asked
 * before anything changes); a message that does not want what it points
 * at becomes remove_from_cart, asked too. */
static void reread_refs(const eng_stage *st, eng_turn *t, const opts *o, const data *dt, char *note, size_t cap)
{
    json_object *intent = eng__json_path(t->ctx, "intent");
    const char *name = eng__json_str(intent, "name", "");
    const char *source = eng__json_str(intent, "source", "");
    bool catalog = strcmp(source, "catalog") == 0;   /* a search or a question only the catalog found */
    if (!o->reread_intents || !*o->reread_intents ||
        (!catalog && strcmp(name, "product_details") != 0 && strcmp(name, "compare") != 0 &&
         strcmp(name, o->fallback_intent) != 0) ||
        (!catalog && strcmp(source, "builtin") != 0) ||
        json_object_get_double(eng__json_path(intent, "confidence")) >= REREAD_REFS_BELOW)
        return;
    const char *text = eng__json_str(t->ctx, "message.text", "");
    size_t len = strlen(text);
    char out[512];
    if (!len || len >= sizeof out)
        return;
    eng__ent ents[16];
    int n = eng__ent_extract(NULL, text, len, ents, 16), refs = 0;
    memcpy(out, text, len + 1);
    for (int i = 0; i < n; i++)
        if (ents[i].type == ENG_ENT_REFERENCE && (ents[i].ref == ENG_REF_ORDINAL || ents[i].ref == ENG_REF_COMPARATIVE)) {
            memset(out + ents[i].start, ' ', ents[i].end - ents[i].start);
            refs++;
        }
    int words = 0;
    for (const char *p = out; *p; p++)
        words += isalpha((unsigned char)*p) && (p == out || !isalpha((unsigned char)p[-1]));
    if (!refs || !words)
        return;
    eng_clf_pred top[1];
    const char *label = NULL;
    if (eng_clf_predict(dt->model, out, top, 1) == 1 && top[0].confidence >= REREAD_AT_LEAST &&
        in_list(o->reread_intents, top[0].label) && has_intent(st->pipe, top[0].label))
        label = top[0].label;
    else if (unwanted(text) && in_list(o->reread_intents, "remove_from_cart") &&
             has_intent(st->pipe, "remove_from_cart"))
        label = "remove_from_cart";   /* "i don't want the third one after all": the cart agent asks */
    else if ((label = cart_verb(out)) && (!in_list(o->reread_intents, label) || !has_intent(st->pipe, label)))
        label = NULL;   /* "actually drop the third", "get me the cheaper of the two": asked */
    else if (!label && refs >= 2 && only_please(out) && in_list(o->reread_intents, "add_to_cart") &&
             has_intent(st->pipe, "add_to_cart"))
        label = "add_to_cart";   /* "the first and the third please": wanted, asked */
    if (!label)
        return;
    ENG_JADD(intent, "classified", json_object_new_string(name));
    ENG_JADD(intent, "name", json_object_new_string(label));
    ENG_JADD(intent, "source", json_object_new_string("reread"));
    snprintf(note, cap, "; read again without its reference%s: %s", refs == 1 ? "" : "s", label);
}

/* Below the threshold, a best reading that is one of `unsure_intents`,
 * clearly ahead of the next, is kept as a guess (source "unsure") rather
 * than answered out of scope: "ok chuck it in the basket" is asked
 * ("Do you want me to add ...?"), never done, and never refused. */
#define UNSURE_LEAD 0.05 /* how far ahead of the runner-up the guess must be */
static void keep_unsure(const eng_stage *st, eng_turn *t, const opts *o, const eng_clf_pred *top, int n,
                        char *note, size_t cap)
{
    json_object *intent = eng__json_path(t->ctx, "intent");
    if (!o->unsure_intents || !*o->unsure_intents || n < 1 ||
        strcmp(eng__json_str(intent, "name", ""), o->fallback_intent) != 0 ||
        eng__json_path(intent, "source") == NULL ||
        strcmp(eng__json_str(intent, "source", ""), "builtin") != 0 || top[0].confidence < o->unsure_floor ||
        (n > 1 && top[0].confidence - top[1].confidence < UNSURE_LEAD) ||
        !in_list(o->unsure_intents, top[0].label) || !has_intent(st->pipe, top[0].label))
        return;
    ENG_JADD(intent, "classified", json_object_new_string(o->fallback_intent));
    ENG_JADD(intent, "name", json_object_new_string(top[0].label));
    ENG_JADD(intent, "source", json_object_new_string("unsure"));
    snprintf(note, cap, "; kept as an unsure %s (%.2f, below the threshold)", top[0].label, top[0].confidence);
}

/* Just below the threshold (within a fifth of it), a best reading that
 * is the knowledge intent is kept when the message names nothing the
 * shop sells and the shop's knowledge answers it: "when do you actually
 * charge me?" is the payments section, not out of scope. Runs after
 * understand() (understanding.known). */
static void keep_question(const eng_stage *st, eng_turn *t, const opts *o, const eng_clf_pred *top, int n,
                          char *note, size_t cap)
{
    json_object *intent = eng__json_path(t->ctx, "intent");
    eng_kb_hit hit;
    if (!o->knowledge_intent || !*o->knowledge_intent || !t->p->knowledge || n < 1 ||
        strcmp(eng__json_str(intent, "name", ""), o->fallback_intent) != 0 ||
        strcmp(eng__json_str(intent, "source", ""), "builtin") != 0 ||
        strcmp(top[0].label, o->knowledge_intent) != 0 || top[0].confidence < 0.8 * o->threshold ||
        json_object_get_int(eng__json_path(t->ctx, "understanding.known")) > 0 ||
        eng__json_path(t->ctx, "understanding.category") || !has_intent(st->pipe, top[0].label) ||
        !eng__kb_answers(t->p->knowledge, eng__json_str(t->ctx, "message.text", ""), NULL, false, &hit))
        return;
    ENG_JADD(intent, "classified", json_object_new_string(o->fallback_intent));
    ENG_JADD(intent, "name", json_object_new_string(top[0].label));
    ENG_JADD(intent, "source", json_object_new_string("knowledge"));
    snprintf(note, cap, "; %s just below the threshold (%.2f), and the shop's knowledge answers it (\"%s\")",
             top[0].label, top[0].confidence, hit.title);
}

static eng_result run(const eng_stage *st, eng_turn *t)
{
    const opts *o = st->opts;
    data *dt = st->data;
    /* why holds an LLM error message whole; cnote "; corrected units " and fixes[200] */
    char why[sizeof (eng_err){0}.msg] = "", lnote[160] = "", cnote[20 + 200] = "", unote[160] = "";
    struct store *s = t->opts && t->opts->deps ? t->opts->deps->store : NULL;
    eng__ccref *lx = eng__cc_acquire(dt->cat, s, lnote, sizeof lnote);
    const eng__lex *x = lx ? lx->v : dt->base;
    correct(t, x, cnote, sizeof cnote);
    if (dt->prompt && ask_llm(st, t, o, dt, why, sizeof why)) {
        understand(st, t, o, x, unote, sizeof unote);
        eng__cc_release(dt->cat, lx);
        return ENG_R_OK;
    }
    eng_clf_pred top[17];
    size_t k = (size_t)o->alternatives + 1;
    const char *text = eng__json_str(t->ctx, "message.text", "");
    int n = eng_clf_predict(dt->model, text, top, k);
    if (n < 1) {
        eng__cc_release(dt->cat, lx);
        return eng__turn_fail(t, "intent model failed: %s", eng_strerror(n));
    }
    json_object *intent = json_object_new_object();
    bool below = top[0].confidence < o->threshold;
    ENG_JADD(intent, "name", json_object_new_string(below ? o->fallback_intent : top[0].label));
    ENG_JADD(intent, "confidence", json_object_new_double(top[0].confidence));
    ENG_JADD(intent, "source", json_object_new_string("builtin"));
    json_object *alts = json_object_new_array();
    for (int i = below ? 0 : 1; i < n; i++) {
        json_object *a = json_object_new_object();
        ENG_JADD(a, "name", json_object_new_string(top[i].label));
        ENG_JADD(a, "confidence", json_object_new_double(top[i].confidence));
        json_object_array_add(alts, a);
    }
    ENG_JADD(intent, "alternatives", alts);
    ENG_JADD(t->ctx, "intent", intent);
    char rnote[120] = "";
    if (below)
        keep_unsure(st, t, o, top, n, rnote, sizeof rnote);
    understand(st, t, o, x, unote, sizeof unote);
    if (below && !rnote[0])
        keep_question(st, t, o, top, n, rnote, sizeof rnote);
    reread(st, t, o, dt, lx ? x : NULL, rnote, sizeof rnote);
    reread_refs(st, t, o, dt, rnote, sizeof rnote);
    eng__cc_release(dt->cat, lx);
    if (rnote[0])
        snprintf(unote + strlen(unote), sizeof unote - strlen(unote), "%s", rnote);
    if (why[0]) {
        /* the LLM was asked and failed: the built-in model answered */
        ENG_JADD(intent, "fallback", json_object_new_string(why));
        eng__fallback(t, st->id, why);
        eng__turn_note(t, "llm fallback (%s): %s %.2f%s%s%s", why, below ? o->fallback_intent : top[0].label,
                       top[0].confidence, cnote, unote, lnote);
    } else if (below)
        eng__turn_note(t, "%s: best was %s at %.2f, below threshold %.2f%s%s%s", o->fallback_intent, top[0].label,
                       top[0].confidence, o->threshold, cnote, unote, lnote);
    else
        eng__turn_note(t, "%s %.2f%s%s%s", top[0].label, top[0].confidence, cnote, unote, lnote);
    return ENG_R_OK;
}

static void destroy(eng_stage *st)
{
    data *dt = st->data;
    if (!dt)
        return;
    eng_clf_free(dt->model);
    eng__cc_free(dt->cat);
    eng__lex_free(dt->base);
    eng__free(dt->syn);
}

static int warm(const eng_stage *st, struct store *s, char *note, size_t cap)
{
    const data *dt = st->data;
    return dt ? eng__cc_warm(dt->cat, s, note, cap) : 0;
}

const eng_stage_type eng__stage_classifier = {
    .name = "classifier",
    .doc = "names the intent with the built-in model trained from the intents' examples",
    .fields = fields,
    .opts_size = sizeof(opts),
    .create = create,
    .run = run,
    .destroy = destroy,
    .warm = warm,
};
