/* engine/load.c — reads a pipeline file with libyaml and turns it into
 * an eng_pipeline: top-level keys, intents, stages and their typed
 * options. Every problem becomes a FILE:LINE:COL diagnostic; loading goes
 * on after an error so that one run reports as many as it can. The graph
 * checks (targets, reachability, cycles) are in link.c. */
#include "pipe_int.h"
#include "rules_int.h"
#include "knowledge_int.h"
#include "checkout_int.h"
#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A document may not be larger than this; keeps lint fast and the
 * loader safe from giant inputs. */
#define MAX_FILE_BYTES (8u << 20)
#define MAX_NODES 200000




/* Duplicate keys are legal to libyaml but almost always a mistake: the
 * second silently wins in most loaders. Walk every mapping once. */
static void check_duplicate_keys(eng_build *b)
{
    yaml_document_t *d = b->doc;
    for (yaml_node_t *n = d->nodes.start; n < d->nodes.top; n++) {
        if (n->type != YAML_MAPPING_NODE)
            continue;
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
            const char *k = eng__yscalar(d, p->key);
            if (!k)
                continue;
            for (yaml_node_pair_t *q = n->data.mapping.pairs.start; q < p; q++) {
                const char *k2 = eng__yscalar(d, q->key);
                if (k2 && strcmp(k, k2) == 0) {
                    eng__build_error(b, p->key, "duplicate key \"%s\" (first at line %d)", k,
                                     eng__ynode_line(d, q->key));
                    break;
                }
            }
        }
    }
}


static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

static int parse_bool(const char *s, bool *out)
{
    static const char *yes[] = {"true", "yes", "on", NULL}, *no[] = {"false", "no", "off", NULL};
    for (int i = 0; yes[i]; i++)
        if (strcmp(s, yes[i]) == 0)
            return *out = true, 0;
    for (int i = 0; no[i]; i++)
        if (strcmp(s, no[i]) == 0)
            return *out = false, 0;
    return -1;
}


/* Set one typed option from YAML text or a node. */
static int set_field(eng_build *b, const eng_field *f, void *opts, int node, const char *text)
{
    char *slot = (char *)opts + f->offset;
    switch (f->kind) {
    case ENG_F_STR:
        if (!text) {
            eng__build_error(b, node, "\"%s\" must be a string, not %s", f->name, eng__ynode_kind(b->doc, node));
            return ENG_ECONFIG;
        }
        *(const char **)slot = eng__pool_strdup(b->p->pool, text);
        return 0;
    case ENG_F_INT: {
        long v;
        if (!text || eng__parse_long(text, &v) < 0) {
            eng__build_error(b, node, "\"%s\" must be a whole number", f->name);
            return ENG_ECONFIG;
        }
        if (f->min < f->max && (v < f->min || v > f->max)) {
            eng__build_error(b, node, "\"%s\" must be between %g and %g, not %ld", f->name, f->min,
                             f->max, v);
            return ENG_ECONFIG;
        }
        *(long *)slot = v;
        return 0;
    }
    case ENG_F_NUM: {
        double v;
        if (!text || parse_double(text, &v) < 0) {
            eng__build_error(b, node, "\"%s\" must be a number", f->name);
            return ENG_ECONFIG;
        }
        if (f->min < f->max && (v < f->min || v > f->max)) {
            eng__build_error(b, node, "\"%s\" must be between %g and %g, not %g", f->name, f->min,
                             f->max, v);
            return ENG_ECONFIG;
        }
        *(double *)slot = v;
        return 0;
    }
    case ENG_F_BOOL:
        if (!text || parse_bool(text, (bool *)slot) < 0) {
            eng__build_error(b, node, "\"%s\" must be true or false", f->name);
            return ENG_ECONFIG;
        }
        return 0;
    case ENG_F_STRLIST:
        return eng__yaml_strlist(b, node, (eng_strlist *)slot, f->name);
    case ENG_F_NODE:
        *(int *)slot = node;
        return 0;
    }
    return 0;
}

static const char *const common_stage_keys[] = {"id", "type", "next", "description", NULL};

/* Parse one stage mapping: common keys, then the type's fields. */
static int load_stage(eng_build *b, int node, eng_stage *st)
{
    yaml_document_t *d = b->doc;
    yaml_node_t *n = eng__ynode(d, node);
    st->line = eng__ynode_line(d, node);
    st->col = eng__ynode_col(d, node);
    st->next = -1;
    st->pipe = b->p;
    b->node = node;
    b->stage = NULL;
    if (n->type != YAML_MAPPING_NODE) {
        eng__build_error(b, node, "a stage must be a mapping with \"id\" and \"type\", not %s",
                         eng__ynode_kind(d, node));
        return ENG_ECONFIG;
    }
    int idn = eng__ymap_get(d, node, "id"), typen = eng__ymap_get(d, node, "type");
    const char *id = eng__yscalar(d, idn), *type = eng__yscalar(d, typen);
    int rc = 0;
    if (!idn) {
        eng__build_error(b, node, "stage is missing \"id\"");
        rc = ENG_ECONFIG;
    } else if (!id || !*id) {
        eng__build_error(b, idn, "stage \"id\" must be a non-empty string");
        rc = ENG_ECONFIG;
    } else if (strcmp(id, "end") == 0) {
        eng__build_error(b, idn, "\"end\" is reserved and cannot be a stage id");
        rc = ENG_ECONFIG;
    }
    st->id = eng__pool_strdup(b->p->pool, id ? id : "?");
    if (!typen) {
        eng__build_error(b, node, "stage \"%s\" is missing \"type\"", st->id);
        return ENG_ECONFIG;
    }
    if (!type) {
        eng__build_error(b, typen, "stage \"type\" must be a string");
        return ENG_ECONFIG;
    }
    st->type = eng__stage_type(type);
    if (!st->type) {
        const eng_stage_type *const *all = eng__stage_types();
        const char *names[32];
        size_t k = 0;
        for (; all[k] && k < 31; k++)
            names[k] = all[k]->name;
        names[k] = NULL;
        char sb[96];
        eng__build_error(b, typen, "unknown stage type \"%s\"%s", type, eng__suggest(sb, sizeof sb, type, names));
        return ENG_ECONFIG;
    }
    b->stage = st;
    st->opts = eng__pool_alloc(b->p->pool, st->type->opts_size ? st->type->opts_size : 1);
    if (!st->opts)
        return ENG_ENOMEM;
    int nextn = eng__ymap_get(d, node, "next");
    if (nextn) {
        st->next_id = eng__pool_strdup(b->p->pool, eng__yscalar(d, nextn));
        st->next_line = eng__ynode_line(d, nextn);
        st->next_col = eng__ynode_col(d, nextn);
        if (!st->next_id) {
            eng__build_error(b, nextn, "\"next\" must be a stage id or \"end\"");
            rc = ENG_ECONFIG;
        }
    }
    /* unknown keys, with a suggestion from the type's own fields */
    size_t nf = 0;
    for (const eng_field *g = st->type->fields; g && g->name; g++)
        nf++;
    const char **names = eng__malloc((nf + sizeof common_stage_keys / sizeof *common_stage_keys) * sizeof *names);
    if (!names)
        return ENG_ENOMEM;
    size_t m = 0;
    for (const eng_field *g = st->type->fields; g && g->name; g++)
        names[m++] = g->name;
    for (int i = 0; common_stage_keys[i]; i++)
        names[m++] = common_stage_keys[i];
    names[m] = NULL;
    if (eng__build_check_keys(b, node, names, true, "key", " in %s stage \"%s\"", st->type->name, st->id) < 0)
        rc = ENG_ECONFIG;
    eng__free(names);
    /* typed fields: value from YAML or the default, in one place */
    for (const eng_field *f = st->type->fields; f && f->name; f++) {
        int vn = eng__ymap_get(d, node, f->name);
        if (!vn) {
            if (f->required) {
                eng__build_error(b, node, "%s stage \"%s\" needs \"%s\" (%s)", st->type->name, st->id,
                                 f->name, f->doc);
                rc = ENG_ECONFIG;
            } else if (f->dflt && f->kind != ENG_F_NODE) {
                set_field(b, f, st->opts, node, f->dflt);
            }
            continue;
        }
        int r = set_field(b, f, st->opts, vn, eng__yscalar(d, vn));
        if (r < 0)
            rc = r;
    }
    if (rc < 0)
        return rc;
    return st->type->create ? st->type->create(st, b) : 0;
}

static int load_intents(eng_build *b, int node)
{
    yaml_document_t *d = b->doc;
    yaml_node_t *n = eng__ynode(d, node);
    eng_pipeline *p = b->p;
    if (n->type != YAML_MAPPING_NODE) {
        eng__build_error(b, node, "\"intents\" must be a mapping of intent names, not %s", eng__ynode_kind(d, node));
        return ENG_ECONFIG;
    }
    size_t cnt = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    p->intents = eng__pool_alloc(p->pool, (cnt ? cnt : 1) * sizeof *p->intents);
    if (!p->intents)
        return ENG_ENOMEM;
    int rc = 0;
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        const char *name = eng__yscalar(d, pr->key);
        if (!name || !*name) {
            eng__build_error(b, pr->key, "intent names must be non-empty strings");
            rc = ENG_ECONFIG;
            continue;
        }
        eng_intent *in = &p->intents[p->nintents];
        in->name = eng__pool_strdup(p->pool, name);
        in->line = eng__ynode_line(d, pr->key);
        in->col = eng__ynode_col(d, pr->key);
        yaml_node_t *v = eng__ynode(d, pr->value);
        int ex = pr->value;
        if (v->type == YAML_MAPPING_NODE) {
            static const char *const keys[] = {"examples", "description", NULL};
            if (eng__build_check_keys(b, pr->value, keys, true, "key", " in intent \"%s\"", name) < 0)
                rc = ENG_ECONFIG;
            int dn = eng__ymap_get(d, pr->value, "description");
            if (dn)
                in->description = eng__pool_strdup(p->pool, eng__yscalar(d, dn));
            ex = eng__ymap_get(d, pr->value, "examples");
            if (!ex) {
                eng__build_error(b, pr->value, "intent \"%s\" has no \"examples\"", name);
                rc = ENG_ECONFIG;
                p->nintents++;
                continue;
            }
        }
        int r = eng__yaml_strlist(b, ex, &in->examples, "\"examples\"");
        if (r < 0) {
            rc = r;
        } else if (in->examples.n == 0) {
            eng__build_error(b, ex, "intent \"%s\" needs at least one example", name);
            rc = ENG_ECONFIG;
        }
        p->nintents++;
    }
    return rc;
}


static const char *const top_keys[] = {"pipeline", "version", "description", "deadline_ms",
                                       "error_reply", "timeout_reply", "intents", "training",
                                       "rules", "knowledge", "checkout", "stages", NULL};

static int load_top(eng_build *b, int root)
{
    yaml_document_t *d = b->doc;
    eng_pipeline *p = b->p;
    yaml_node_t *n = eng__ynode(d, root);
    if (!n) {
        eng_diags_add(b->diags, ENG_DIAG_ERROR, b->file, 1, 1, "the file is empty; a pipeline needs "
                      "\"pipeline\", \"intents\" and \"stages\"");
        return ENG_ECONFIG;
    }
    if (n->type != YAML_MAPPING_NODE) {
        eng__build_error(b, root, "a pipeline file must be a mapping, not %s", eng__ynode_kind(d, root));
        return ENG_ECONFIG;
    }
    b->node = root;
    int rc = 0;
    if (eng__build_check_keys(b, root, top_keys, true, "top-level key", "%s", "") < 0)
        rc = ENG_ECONFIG;
    static const eng_field fields[] = {
        {"pipeline", ENG_F_STR, true, offsetof(eng_pipeline, name), NULL, 0, 0, "the pipeline's name"},
        {"version", ENG_F_INT, false, offsetof(eng_pipeline, version), "1", 1, 1e9, "version number"},
        {"description", ENG_F_STR, false, offsetof(eng_pipeline, description), NULL, 0, 0, "what it is for"},
        {"deadline_ms", ENG_F_INT, false, offsetof(eng_pipeline, deadline_ms), "3000", 1, 600000,
         "per-turn deadline"},
        {"error_reply", ENG_F_STR, false, offsetof(eng_pipeline, error_reply),
         "Sorry, something went wrong on our side. Please try again.", 0, 0, "reply when a stage fails"},
        {"timeout_reply", ENG_F_STR, false, offsetof(eng_pipeline, timeout_reply),
         "Sorry, that took too long. Please try again.", 0, 0, "reply when the deadline passes"},
        {NULL, 0, false, 0, NULL, 0, 0, NULL},
    };
    for (const eng_field *f = fields; f->name; f++) {
        int vn = eng__ymap_get(d, root, f->name);
        if (!vn) {
            if (f->required) {
                eng__build_error(b, root, "missing \"%s\" (%s)", f->name, f->doc);
                rc = ENG_ECONFIG;
            } else if (f->dflt) {
                set_field(b, f, p, root, f->dflt);
            }
            continue;
        }
        if (set_field(b, f, p, vn, eng__yscalar(d, vn)) < 0)
            rc = ENG_ECONFIG;
    }
    if (!p->name)
        p->name = "unnamed";
    int in = eng__ymap_get(d, root, "intents");
    if (in && load_intents(b, in) < 0)
        rc = ENG_ECONFIG;
    int tn = eng__ymap_get(d, root, "training");
    if (tn) {
        int r = eng__load_training(b, tn);
        if (r == ENG_ENOMEM)
            return r;
        if (r < 0)
            rc = ENG_ECONFIG;
    }
    int rn = eng__ymap_get(d, root, "rules");
    if (rn) {
        int r = eng__rules_load(b, rn, &p->rules);
        if (r == ENG_ENOMEM)
            return r;
        if (r < 0)
            rc = ENG_ECONFIG;
    }
    int kn = eng__ymap_get(d, root, "knowledge");
    if (kn) {
        int r = eng__kb_load(b, kn, &p->knowledge);
        if (r == ENG_ENOMEM)
            return r;
        if (r < 0)
            rc = ENG_ECONFIG;
    }
    int con = eng__ymap_get(d, root, "checkout");
    if (con) {
        int r = eng__checkout_load(b, con, &p->checkout);
        if (r == ENG_ENOMEM)
            return r;
        if (r < 0)
            rc = ENG_ECONFIG;
    }
    int sn = eng__ymap_get(d, root, "stages");
    yaml_node_t *s = eng__ynode(d, sn);
    if (!sn) {
        eng__build_error(b, root, "missing \"stages\" (the list of stages a message runs through)");
        return ENG_ECONFIG;
    }
    if (s->type != YAML_SEQUENCE_NODE || s->data.sequence.items.top == s->data.sequence.items.start) {
        eng__build_error(b, sn, "\"stages\" must be a non-empty list");
        return ENG_ECONFIG;
    }
    size_t cnt = (size_t)(s->data.sequence.items.top - s->data.sequence.items.start);
    p->stages = eng__pool_alloc(p->pool, cnt * sizeof *p->stages);
    if (!p->stages)
        return ENG_ENOMEM;
    for (yaml_node_item_t *it = s->data.sequence.items.start; it < s->data.sequence.items.top; it++) {
        eng_stage *st = &p->stages[p->nstages];
        st->index = (int)p->nstages;
        p->nstages++;
        int r = load_stage(b, *it, st);
        if (r == ENG_ENOMEM)
            return r;
        if (r < 0)
            rc = ENG_ECONFIG;
    }
    return rc;
}

static void yaml_error(eng_build *b, yaml_parser_t *ps)
{
    int line = (int)ps->problem_mark.line + 1, col = (int)ps->problem_mark.column + 1;
    if (ps->error == YAML_MEMORY_ERROR) {
        eng_diags_add(b->diags, ENG_DIAG_ERROR, b->file, 0, 0, "out of memory while parsing");
        return;
    }
    const char *problem = ps->problem ? ps->problem : "malformed YAML";
    if (ps->context)
        eng_diags_add(b->diags, ENG_DIAG_ERROR, b->file, line, col, "YAML syntax: %s %s (line %d)",
                      problem, ps->context, (int)ps->context_mark.line + 1);
    else
        eng_diags_add(b->diags, ENG_DIAG_ERROR, b->file, line, col, "YAML syntax: %s", problem);
}

int eng_pipeline_load_buffer(const char *name, const char *text, size_t len, const char *base_dir,
                             eng_pipeline **out, eng_diags *diags)
{
    eng_diags local;
    if (!diags) {
        eng_diags_init(&local);
        diags = &local;
    }
    *out = NULL;
    name = name ? name : "<input>";
    int rc;
    if (len > MAX_FILE_BYTES) {
        eng_diags_add(diags, ENG_DIAG_ERROR, name, 0, 0, "file is larger than %u bytes", MAX_FILE_BYTES);
        rc = ENG_ECONFIG;
        goto out;
    }
    if (!eng_utf8_valid(text, len)) {
        eng_diags_add(diags, ENG_DIAG_ERROR, name, 0, 0, "file is not valid UTF-8");
        rc = ENG_ECONFIG;
        goto out;
    }
    eng_pool *pool = eng__pool_new(16384);
    eng_pipeline *p = pool ? eng__pool_alloc(pool, sizeof *p) : NULL;
    if (!p) {
        eng__pool_free(pool);
        rc = ENG_ENOMEM;
        goto out;
    }
    p->pool = pool;
    atomic_store(&p->refs, 1);
    p->file = eng__pool_strdup(pool, name);
    p->base_dir = eng__pool_strdup(pool, base_dir ? base_dir : ".");
    eng_build b = {.p = p, .diags = diags, .file = p->file, .text = text, .len = len};
    int errors_before = diags->errors;

    yaml_parser_t ps;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&ps)) {
        eng__pipeline_destroy(p);
        rc = ENG_ENOMEM;
        goto out;
    }
    yaml_parser_set_input_string(&ps, (const unsigned char *)text, len);
    if (!yaml_parser_load(&ps, &doc)) {
        yaml_error(&b, &ps);
        /* read the error kind before the parser is gone */
        rc = ps.error == YAML_MEMORY_ERROR ? ENG_ENOMEM : ENG_ECONFIG;
        yaml_parser_delete(&ps);
        eng__pipeline_destroy(p);
        goto out;
    }
    /* a second document in the same file is almost always a mistake */
    yaml_document_t extra;
    if (yaml_parser_load(&ps, &extra)) {
        if (yaml_document_get_root_node(&extra))
            eng_diags_add(diags, ENG_DIAG_WARNING, name, (int)extra.start_mark.line + 1,
                          (int)extra.start_mark.column + 1, "only the first YAML document is read");
        yaml_document_delete(&extra);
    }
    yaml_parser_delete(&ps);
    b.doc = &doc;
    if (doc.nodes.top - doc.nodes.start > MAX_NODES) {
        eng_diags_add(diags, ENG_DIAG_ERROR, name, 0, 0, "file has more than %d YAML nodes", MAX_NODES);
        rc = ENG_ECONFIG;
    } else {
        check_duplicate_keys(&b);
        rc = load_top(&b, 1);
        b.stage = NULL;
        b.node = 1;
        if (rc != ENG_ENOMEM && p->nstages && eng__link(&b) < 0 && rc == 0)
            rc = ENG_ECONFIG;
    }
    yaml_document_delete(&doc);
    if (rc == 0 && diags->errors > errors_before)
        rc = ENG_ECONFIG;
    if (rc < 0) {
        eng__pipeline_destroy(p);
        goto out;
    }
    *out = p;
out:
    if (diags == &local)
        eng_diags_free(&local);
    return rc;
}

int eng_pipeline_load(const char *path, eng_pipeline **out, eng_diags *diags)
{
    size_t len;
    *out = NULL;
    char *text = eng__read_file(path, &len);
    if (!text) {
        eng_diags_add(diags, ENG_DIAG_ERROR, path, 0, 0, "cannot read file: %s", strerror(errno));
        return ENG_EIO;
    }
    char *dcopy = eng__strdup(path);
    if (!dcopy) {
        eng__free(text);
        return ENG_ENOMEM;
    }
    int rc = eng_pipeline_load_buffer(path, text, len, dirname(dcopy), out, diags);
    eng__free(dcopy);
    eng__free(text);
    return rc;
}
