/* engine/stages/formatter.c — the `formatter` stage: writes the reply
 * from templates chosen by intent (then `default`), inline or from a
 * YAML file. An entry is a template, a list of variants (one is picked
 * per message, stably), or {text, suggestions}. */
#include "engine/llmstage_int.h"
#include "engine/commerce_int.h"
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <libgen.h>
#include <stddef.h>
#include <string.h>

typedef struct opts {
    int templates;
    const char *key;
    bool llm;
    long llm_timeout_ms;
    const char *llm_instructions;
} opts;

typedef struct entry {
    const char *name;
    eng_tmpl **variants;
    size_t nvariants;
    eng_strlist suggestions;
    /* each suggestion compiled when it holds "{{" (NULL: plain text):
     * "{{#if reply.cards}}Show me cheaper ones{{/if}}" is offered only
     * beside cards; one that renders empty is left out */
    eng_tmpl **sugg_tmpl;
} entry;

typedef struct data {
    entry *entries;
    size_t n;
    const entry *dflt;
    const entry *reminder;   /* "pending_reminder": appended while a
                                question waits (vars.stillPending) */
} data;

static const eng_field fields[] = {
    {"templates", ENG_F_NODE, true, offsetof(opts, templates), NULL, 0, 0,
     "map of intent -> template, or a YAML file holding that map"},
    {"key", ENG_F_STR, false, offsetof(opts, key), "intent.name", 0, 0,
     "context path whose value picks the template"},
    {"llm", ENG_F_BOOL, false, offsetof(opts, llm), "false", 0, 0,
     "let the configured LLM rephrase the rendered template (streamed); the template is the fallback"},
    {"llm_timeout_ms", ENG_F_INT, false, offsetof(opts, llm_timeout_ms), "2000", 50, 60000,
     "the longest the LLM may take before the template answers"},
    {"llm_instructions", ENG_F_STR, false, offsetof(opts, llm_instructions),
     "You are the friendly assistant of an online shop. Rewrite the draft reply so it reads naturally "
     "and answers the shopper. Keep every fact, number, price, product name and order number exactly "
     "as in the draft; add no offers, products or promises. Plain text, at most four sentences.",
     0, 0, "the LLM's instructions for phrasing"},
    {NULL, 0, false, 0, NULL, 0, 0, NULL},
};

static int compile_one(eng_build *b, int node, eng_tmpl **out)
{
    const char *src = eng__yscalar(b->doc, node);
    if (!src) {
        eng__build_error(b, node, "a template must be a string");
        return ENG_ECONFIG;
    }
    int line, col;
    eng__build_scalar_pos(b, node, &line, &col);
    eng_err err = {0};
    int rc = eng__tmpl_compile(b->p->pool, src, line, col, out, &err);
    if (rc == ENG_ENOMEM)
        return rc;
    if (rc < 0) {
        /* a | or > block lost its indentation to YAML: put it back on the
         * lines after the first, so columns point into the file */
        yaml_node_t *n = eng__ynode(b->doc, node);
        yaml_scalar_style_t style = n->data.scalar.style;
        if ((style == YAML_LITERAL_SCALAR_STYLE || style == YAML_FOLDED_SCALAR_STYLE) && err.line > line)
            err.col += col - 1;
        eng_diags_add(b->diags, ENG_DIAG_ERROR, b->file, err.line ? err.line : line, err.line ? err.col : col,
                      "template: %s", err.msg);
        return ENG_ECONFIG;
    }
    return 0;
}

static int compile_variants(eng_build *b, int node, entry *e)
{
    yaml_node_t *n = eng__ynode(b->doc, node);
    if (n->type == YAML_SEQUENCE_NODE) {
        size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
        if (!cnt) {
            eng__build_error(b, node, "template \"%s\" has no variants", e->name);
            return ENG_ECONFIG;
        }
        e->variants = eng__pool_alloc(b->p->pool, cnt * sizeof *e->variants);
        if (!e->variants)
            return ENG_ENOMEM;
        int rc = 0;
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
            int r = compile_one(b, *it, &e->variants[e->nvariants]);
            if (r == ENG_ENOMEM)
                return r;
            if (r < 0)
                rc = r;
            else
                e->nvariants++;
        }
        return rc;
    }
    e->variants = eng__pool_alloc(b->p->pool, sizeof *e->variants);
    if (!e->variants)
        return ENG_ENOMEM;
    int rc = compile_one(b, node, &e->variants[0]);
    if (rc == 0)
        e->nvariants = 1;
    return rc;
}

static int compile_entry(eng_build *b, const char *name, int node, entry *e)
{
    yaml_document_t *d = b->doc;
    e->name = eng__pool_strdup(b->p->pool, name);
    yaml_node_t *n = eng__ynode(d, node);
    if (n->type != YAML_MAPPING_NODE)
        return compile_variants(b, node, e);
    static const char *const keys[] = {"text", "suggestions", NULL};
    int rc = eng__build_check_keys(b, node, keys, false, "key", " in template \"%s\" (use text, suggestions)", name);
    int text = eng__ymap_get(d, node, "text"), sugg = eng__ymap_get(d, node, "suggestions");
    if (!text) {
        eng__build_error(b, node, "template \"%s\" needs \"text\"", name);
        return ENG_ECONFIG;
    }
    int r = compile_variants(b, text, e);
    if (r < 0)
        return r;
    if (sugg) {
        yaml_node_t *s = eng__ynode(d, sugg);
        if (s->type != YAML_SEQUENCE_NODE) {
            eng__build_error(b, sugg, "\"suggestions\" must be a list of strings");
            return ENG_ECONFIG;
        }
        size_t cnt = (size_t)(s->data.sequence.items.top - s->data.sequence.items.start);
        e->suggestions.items = eng__pool_alloc(b->p->pool, (cnt ? cnt : 1) * sizeof(char *));
        e->sugg_tmpl = eng__pool_alloc(b->p->pool, (cnt ? cnt : 1) * sizeof *e->sugg_tmpl);
        if (!e->suggestions.items || !e->sugg_tmpl)
            return ENG_ENOMEM;
        for (yaml_node_item_t *it = s->data.sequence.items.start; it < s->data.sequence.items.top; it++) {
            const char *v = eng__yscalar(d, *it);
            if (!v) {
                eng__build_error(b, *it, "\"suggestions\" must be a list of strings");
                return ENG_ECONFIG;
            }
            e->sugg_tmpl[e->suggestions.n] = NULL;
            if (strstr(v, "{{")) {
                int line, col;
                eng__build_scalar_pos(b, *it, &line, &col);
                eng_err err = {0};
                int tr = eng__tmpl_compile(b->p->pool, v, line, col, &e->sugg_tmpl[e->suggestions.n], &err);
                if (tr == ENG_ENOMEM)
                    return tr;
                if (tr < 0) {
                    eng_diags_add(b->diags, ENG_DIAG_ERROR, b->file, err.line ? err.line : line,
                                  err.line ? err.col : col, "suggestion of template \"%s\": %s", name, err.msg);
                    rc = ENG_ECONFIG;
                }
            }
            e->suggestions.items[e->suggestions.n++] = eng__pool_strdup(b->p->pool, v);
        }
    }
    return rc;
}

static int compile_map(eng_build *b, int node, data *dt)
{
    yaml_node_t *n = eng__ynode(b->doc, node);
    if (n->type != YAML_MAPPING_NODE) {
        eng__build_error(b, node, "\"templates\" must map intent names to templates, not be %s",
                         n->type == YAML_SEQUENCE_NODE ? "a list" : "empty");
        return ENG_ECONFIG;
    }
    size_t cnt = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    dt->entries = eng__pool_alloc(b->p->pool, (cnt ? cnt : 1) * sizeof *dt->entries);
    if (!dt->entries)
        return ENG_ENOMEM;
    int rc = 0;
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        const char *k = eng__yscalar(b->doc, pr->key);
        if (!k) {
            eng__build_error(b, pr->key, "template names must be strings");
            rc = ENG_ECONFIG;
            continue;
        }
        entry *e = &dt->entries[dt->n];
        int r = compile_entry(b, k, pr->value, e);
        if (r == ENG_ENOMEM)
            return r;
        if (r < 0) {
            rc = r;
            continue;
        }
        if (strcmp(k, "default") == 0)
            dt->dflt = e;
        if (strcmp(k, "pending_reminder") == 0)
            dt->reminder = e;
        dt->n++;
    }
    return rc;
}

/* templates: FILE — a YAML file whose top level is the same map. */
static int compile_file(eng_build *b, int node, data *dt)
{
    const char *rel = eng__yscalar(b->doc, node);
    const char *path = eng__build_path(b, rel);
    size_t len;
    char *text = eng__read_file(path, &len);
    if (!text) {
        eng__build_error(b, node, "cannot read templates file \"%s\": %s", rel, strerror(errno));
        return ENG_ECONFIG;
    }
    yaml_parser_t ps;
    yaml_document_t doc;
    int rc = 0;
    if (!yaml_parser_initialize(&ps)) {
        eng__free(text);
        return ENG_ENOMEM;
    }
    yaml_parser_set_input_string(&ps, (const unsigned char *)text, len);
    if (!eng_utf8_valid(text, len)) {
        eng_diags_add(b->diags, ENG_DIAG_ERROR, path, 0, 0, "file is not valid UTF-8");
        rc = ENG_ECONFIG;
    } else if (!yaml_parser_load(&ps, &doc)) {
        eng_diags_add(b->diags, ENG_DIAG_ERROR, path, (int)ps.problem_mark.line + 1,
                      (int)ps.problem_mark.column + 1, "YAML syntax: %s",
                      ps.problem ? ps.problem : "malformed YAML");
        rc = ENG_ECONFIG;
    } else {
        eng_build sub = *b;
        sub.doc = &doc;
        sub.file = eng__pool_strdup(b->p->pool, path);
        sub.text = text;
        sub.len = len;
        sub.node = 1;
        if (!eng__ynode(&doc, 1)) {
            eng_diags_add(b->diags, ENG_DIAG_ERROR, path, 1, 1, "templates file is empty");
            rc = ENG_ECONFIG;
        } else {
            rc = compile_map(&sub, 1, dt);
        }
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&ps);
    eng__free(text);
    return rc;
}

static int create(eng_stage *st, eng_build *b)
{
    const opts *o = st->opts;
    data *dt = eng__pool_alloc(b->p->pool, sizeof *dt);
    if (!dt)
        return ENG_ENOMEM;
    st->data = dt;
    int rc = eng__yscalar(b->doc, o->templates) ? compile_file(b, o->templates, dt)
                                                  : compile_map(b, o->templates, dt);
    if (rc < 0)
        return rc;
    return 0;
}

static uint64_t hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

/* Let the LLM phrase the draft, streaming to the channel. On any failure
 * the draft (the template's text) stays the reply; the trace says why. */
static void phrase(const eng_stage *st, eng_turn *t, const opts *o, json_object *reply, const char *draft)
{
    eng_llm *llm = eng__turn_llm(t);
    const char *why = NULL;
    char buf[sizeof (eng_err){0}.msg];   /* an LLM error message, whole */
    if (!llm) {
        why = "no LLM configured";
    } else {
        char *user = NULL;
        size_t ulen = 0;
        FILE *f = open_memstream(&user, &ulen);
        if (!f) {
            why = "out of memory";
        } else {
            fprintf(f, "Shopper: %s\n\nDraft reply: %s", eng__json_str(t->ctx, "message.text", ""), draft);
            fclose(f);
            eng_llm_msg msg = {"user", user};
            char *answer = NULL;
            eng_err err = {0};
            int rc = eng_llm_chat(llm, o->llm_instructions, &msg, 1, eng__llm_deadline(t, o->llm_timeout_ms, 50),
                                  t->opts ? t->opts->on_delta : NULL, t->opts ? t->opts->delta_ud : NULL,
                                  &answer, &err);
            free(user);
            if (rc == 0 && answer && *answer && eng_utf8_valid(answer, strlen(answer))) {
                ENG_JADD(reply, "draft", json_object_new_string(draft));
                ENG_JADD(reply, "text", json_object_new_string(answer));
                ENG_JADD(reply, "source", json_object_new_string("llm"));
                free(answer);
                return;
            }
            free(answer);
            snprintf(buf, sizeof buf, "%s", rc < 0 ? (err.msg[0] ? err.msg : eng_strerror(rc)) : "empty answer");
            why = buf;
        }
    }
    ENG_JADD(reply, "source", json_object_new_string("template"));
    ENG_JADD(reply, "fallback", json_object_new_string(why));
    eng__fallback(t, st->id, why);
}

static eng_result run(const eng_stage *st, eng_turn *t)
{
    const opts *o = st->opts;
    const data *dt = st->data;
    const char *key = eng__json_str(t->ctx, o->key, "");
    const entry *e = NULL;
    for (size_t i = 0; i < dt->n && !e; i++)
        if (strcmp(dt->entries[i].name, key) == 0)
            e = &dt->entries[i];
    if (!e) {
        if (*eng__json_str(t->ctx, "reply.text", "")) {
            eng__turn_note(t, "no template for \"%s\"; kept the reply already made", key);
            return ENG_R_DECLINED;
        }
        e = dt->dflt;
    }
    if (!e)
        return eng__turn_fail(t, "no template for \"%s\" and no \"default\" template", key);
    /* an agent that had no store to ask (vars.noCatalog): the templates'
     * "no_store" answer, whatever was asked, not a reply built on
     * nothing ("Order # is cancelled") */
    if (json_object_get_boolean(eng__json_path(t->ctx, "vars.noCatalog")))
        for (size_t i = 0; i < dt->n; i++)
            if (strcmp(dt->entries[i].name, "no_store") == 0)
                e = &dt->entries[i];
    size_t v = e->nvariants > 1 ? hash(eng__json_str(t->ctx, "message.id", "")) % e->nvariants : 0;
    eng_buf out;
    eng__buf_init(&out);
    if (eng__tmpl_render(e->variants[v], t->ctx, &out) < 0) {
        eng__buf_free(&out);
        return eng__turn_fail(t, "out of memory rendering the reply");
    }
    /* a question still waits for its answer (the shopper asked something
     * else first): the answer ends by asking it again */
    /* the order asked about was dropped by a cart change that was made
     * ("actually make it 2 lipsticks" at the summary): said, so a "yes"
     * next is not taken for an order */
    if (json_object_get_boolean(eng__json_path(t->ctx, "vars.orderQuestionDropped"))) {
        json_object *acts = eng__json_path(t->ctx, "actions");
        for (size_t i = 0; acts && i < json_object_array_length(acts); i++) {
            json_object *a = json_object_array_get_idx(acts, i);
            const char *type = eng__json_str(a, "type", "");
            /* a code applied or taken off changes the total asked about too */
            if ((strncmp(type, "cart.", 5) == 0 || strncmp(type, "promo.", 6) == 0) &&
                strcmp(eng__json_str(a, "status", ""), "done") == 0) {
                eng__set_var(t, "checkoutDropped", json_object_new_boolean(1));
                break;
            }
        }
    }
    /* a code applied in place of another that took more off ("apply
     * welcome5 too" with save10 on): said, with the way back */
    json_object *was = eng__json_path(t->ctx, "vars.totalBefore");
    if (was && json_object_get_double(eng__json_path(t->ctx, "cart.total")) > json_object_get_double(was) + 0.005) {
        eng__set_var(t, "savesLess", json_object_new_boolean(1));
        eng__buf_free(&out);
        eng__buf_init(&out);
        if (eng__tmpl_render(e->variants[v], t->ctx, &out) < 0) {
            eng__buf_free(&out);
            return eng__turn_fail(t, "out of memory rendering the reply");
        }
    }
    if (dt->reminder && e != dt->reminder &&
        (eng__json_path(t->ctx, "vars.stillPending") || eng__json_path(t->ctx, "vars.checkoutDropped"))) {
        size_t before = out.len;
        eng__buf_adds(&out, "\n");
        if (eng__tmpl_render(dt->reminder->variants[0], t->ctx, &out) < 0) {
            eng__buf_free(&out);
            return eng__turn_fail(t, "out of memory rendering the reply");
        }
        if (out.len == before + 1)
            out.data[out.len = before] = '\0';   /* the reminder said nothing */
    }
    json_object *reply = eng__json_path(t->ctx, "reply");
    ENG_JADD(reply, "text", json_object_new_string(out.data ? out.data : ""));
    eng__buf_free(&out);
    if (e->suggestions.n) {
        json_object *s = json_object_new_array();
        for (size_t i = 0; i < e->suggestions.n; i++) {
            if (!e->sugg_tmpl || !e->sugg_tmpl[i]) {
                json_object_array_add(s, json_object_new_string(e->suggestions.items[i]));
                continue;
            }
            eng_buf sb;
            eng__buf_init(&sb);
            if (eng__tmpl_render(e->sugg_tmpl[i], t->ctx, &sb) < 0 || sb.oom) {
                eng__buf_free(&sb);
                json_object_put(s);
                return eng__turn_fail(t, "out of memory rendering the suggestions");
            }
            const char *sv = sb.data ? sb.data : "";
            size_t a = 0, z = strlen(sv);
            while (a < z && isspace((unsigned char)sv[a]))
                a++;
            while (z > a && isspace((unsigned char)sv[z - 1]))
                z--;
            if (z > a)
                json_object_array_add(s, json_object_new_string_len(sv + a, (int)(z - a)));
            eng__buf_free(&sb);
        }
        if (json_object_array_length(s))
            ENG_JADD(reply, "suggestions", s);
        else
            json_object_put(s);
    }
    ENG_JADD(reply, "template", json_object_new_string(e->name));
    if (o->llm) {
        phrase(st, t, o, reply, eng__json_str(reply, "text", ""));
        const char *fb = eng__json_str(reply, "fallback", NULL);
        eng__turn_note(t, "template %s, %s%s", e->name, fb ? "llm fallback: " : "phrased by the llm", fb ? fb : "");
        return ENG_R_OK;
    }
    eng__turn_note(t, "template %s%s", e->name, e->nvariants > 1 ? " (variant)" : "");
    return ENG_R_OK;
}

const eng_stage_type eng__stage_formatter = {
    .name = "formatter",
    .doc = "writes the reply from templates chosen by intent",
    .fields = fields,
    .opts_size = sizeof(opts),
    .create = create,
    .run = run,
};
