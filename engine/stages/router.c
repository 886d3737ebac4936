/* engine/stages/router.c — the `router` stage: ordered routes, the first
 * whose condition holds decides which stage runs next. A condition is an
 * intent list (a string compare) or a Lua expression over the turn
 * context, compiled once when the pipeline loads; one of a simple form
 * is answered in C with Lua's rules when it can be (engine/cond_int.h),
 * so that most turns route without the sandbox. */
#include "engine/cond_int.h"
#include "engine/pipe_int.h"
#include <stddef.h>
#include <string.h>

typedef struct opts {
    int routes;
} opts;

typedef enum { R_WHEN, R_INTENT, R_DEFAULT } route_kind;

typedef struct route {
    route_kind kind;
    eng_chunk chunk;       /* R_WHEN */
    eng_cond *cond;        /* R_WHEN in the subset cond.c answers, else NULL */
    const char *src;       /* the condition, for notes */
    eng_strlist intents;   /* R_INTENT */
    size_t edge;           /* index into the stage's edges */
} route;

typedef struct data {
    route *routes;
    size_t n;
} data;

static const eng_field fields[] = {
    {"routes", ENG_F_NODE, true, offsetof(opts, routes), NULL, 0, 0,
     "ordered list of {when|intent, to} and one {default}"},
    {NULL, 0, false, 0, NULL, 0, 0, NULL},
};

static const char *const route_keys[] = {"when", "intent", "to", "default", NULL};

static int parse_route(eng_build *b, int node, route *r, bool *seen_default)
{
    yaml_document_t *d = b->doc;
    yaml_node_t *n = eng__ynode(d, node);
    eng_pipeline *p = b->p;
    if (n->type != YAML_MAPPING_NODE) {
        eng__build_error(b, node, "a route must be a mapping like {when: \"...\", to: stage} or {default: stage}");
        return ENG_ECONFIG;
    }
    int rc = eng__build_check_keys(b, node, route_keys, false, "key", " in route (use when, intent, to or default)");
    int when = eng__ymap_get(d, node, "when"), intent = eng__ymap_get(d, node, "intent");
    int to = eng__ymap_get(d, node, "to"), dflt = eng__ymap_get(d, node, "default");
    if (dflt) {
        if (when || intent || to) {
            eng__build_error(b, node, "a default route has only \"default: STAGE\"");
            return ENG_ECONFIG;
        }
        if (*seen_default) {
            eng__build_error(b, node, "a router has at most one default route");
            return ENG_ECONFIG;
        }
        *seen_default = true;
        const char *target = eng__yscalar(d, dflt);
        if (!target) {
            eng__build_error(b, dflt, "\"default\" must name a stage");
            return ENG_ECONFIG;
        }
        r->kind = R_DEFAULT;
        r->edge = b->stage->nedges;
        return eng__build_edge(b, target, dflt) < 0 ? ENG_ENOMEM : rc;
    }
    if (*seen_default)
        eng__build_warn(b, node, "this route comes after the default route and is never tried");
    if (!to) {
        eng__build_error(b, node, "route needs \"to: STAGE\"");
        return ENG_ECONFIG;
    }
    if (!!when == !!intent) {
        eng__build_error(b, node, "route needs exactly one of \"when\" (a Lua condition) or \"intent\"");
        return ENG_ECONFIG;
    }
    const char *target = eng__yscalar(d, to);
    if (!target) {
        eng__build_error(b, to, "\"to\" must name a stage");
        return ENG_ECONFIG;
    }
    if (intent) {
        r->kind = R_INTENT;
        yaml_node_t *in = eng__ynode(d, intent);
        if (in->type == YAML_SCALAR_NODE) {
            r->intents.items = eng__pool_alloc(p->pool, sizeof(char *));
            if (!r->intents.items)
                return ENG_ENOMEM;
            r->intents.items[0] = eng__pool_strdup(p->pool, (const char *)in->data.scalar.value);
            r->intents.n = 1;
        } else if (in->type == YAML_SEQUENCE_NODE) {
            size_t cnt = (size_t)(in->data.sequence.items.top - in->data.sequence.items.start);
            r->intents.items = eng__pool_alloc(p->pool, (cnt ? cnt : 1) * sizeof(char *));
            if (!r->intents.items)
                return ENG_ENOMEM;
            for (yaml_node_item_t *it = in->data.sequence.items.start; it < in->data.sequence.items.top; it++) {
                const char *s = eng__yscalar(d, *it);
                if (!s) {
                    eng__build_error(b, *it, "\"intent\" must be a name or a list of names");
                    return ENG_ECONFIG;
                }
                r->intents.items[r->intents.n++] = eng__pool_strdup(p->pool, s);
            }
        } else {
            eng__build_error(b, intent, "\"intent\" must be a name or a list of names");
            return ENG_ECONFIG;
        }
        r->src = "intent";
    } else {
        const char *src = eng__yscalar(d, when);
        if (!src || !*src) {
            eng__build_error(b, when, "\"when\" must be a Lua condition such as \"intent == 'greeting'\"");
            return ENG_ECONFIG;
        }
        int line, col;
        eng__build_scalar_pos(b, when, &line, &col);
        eng_err err = {0};
        r->kind = R_WHEN;
        r->src = eng__pool_strdup(p->pool, src);
        int c = eng__chunk_compile(p->pool, b->file, src, strlen(src), true, &r->chunk, &err);
        if (c == ENG_ENOMEM)
            return c;
        if (c < 0) {
            /* point at the token Lua names ("near '='") when it is on the
             * expression's first line; else at the expression */
            int l = line + (err.line > 1 ? err.line - 1 : 0), cc = col;
            const char *near = strstr(err.msg, "near '");
            if (near && err.line <= 1) {
                near += 6;
                size_t tl = strcspn(near, "'");
                const char *hit = NULL;
                for (const char *q = src; tl && *q && *q != '\n' && !hit; q++)
                    if (strncmp(q, near, tl) == 0)
                        hit = q;
                if (hit)
                    cc = col + (int)(hit - src);
            }
            eng_diags_add(b->diags, ENG_DIAG_ERROR, b->file, l, cc, "bad Lua in route condition: %s%s", err.msg,
                          strstr(err.msg, "near '='") ? " (to compare, write ==)" : "");
            rc = ENG_ECONFIG;
        }
        r->chunk.line_base = line - 1;
        if (c == 0)
            r->cond = eng__cond_compile(p->pool, src);
    }
    r->edge = b->stage->nedges;
    if (eng__build_edge(b, target, to) < 0)
        return ENG_ENOMEM;
    return rc;
}

static int create(eng_stage *st, eng_build *b)
{
    const opts *o = st->opts;
    yaml_node_t *n = eng__ynode(b->doc, o->routes);
    if (n->type != YAML_SEQUENCE_NODE || n->data.sequence.items.top == n->data.sequence.items.start) {
        eng__build_error(b, o->routes, "\"routes\" must be a non-empty list");
        return ENG_ECONFIG;
    }
    size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    data *dt = eng__pool_alloc(b->p->pool, sizeof *dt);
    if (!dt || !(dt->routes = eng__pool_alloc(b->p->pool, cnt * sizeof *dt->routes)))
        return ENG_ENOMEM;
    bool seen_default = false;
    int rc = 0;
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
        int r = parse_route(b, *it, &dt->routes[dt->n], &seen_default);
        if (r == ENG_ENOMEM)
            return r;
        if (r < 0)
            rc = r;
        else
            dt->n++;
    }
    st->data = dt;
    return rc;
}

static eng_result take(const eng_stage *st, eng_turn *t, const route *r, size_t i)
{
    const eng_edge *e = &st->edges[r->edge];
    t->jump = e->to;
    ENG_JADD(t->ctx, "route", json_object_new_string(e->to_id));
    eng__turn_note(t, "-> %s (route %zu%s%s)", e->to_id, i + 1, r->kind == R_DEFAULT ? ", default" : ": ",
                   r->kind == R_DEFAULT ? "" : r->src);
    return ENG_R_OK;
}

static eng_result run(const eng_stage *st, eng_turn *t)
{
    const data *dt = st->data;
    const char *intent = eng__json_str(t->ctx, "intent.name", "");
    char failed[40 + sizeof (eng_err){0}.msg] = "";   /* "route N skipped: " and the error */
    for (size_t i = 0; i < dt->n; i++) {
        const route *r = &dt->routes[i];
        switch (r->kind) {
        case R_DEFAULT:
            return take(st, t, r, i);
        case R_INTENT:
            for (size_t k = 0; k < r->intents.n; k++)
                if (strcmp(intent, r->intents.items[k]) == 0)
                    return take(st, t, r, i);
            break;
        case R_WHEN: {
            /* past the deadline the sandbox refuses to start: it says so */
            int v = r->cond && !(t->deadline_us && eng_now_us() >= t->deadline_us)
                        ? eng__cond_eval(r->cond, t->ctx) : -1;
            if (v > 0)
                return take(st, t, r, i);
            if (v == 0)
                break;
            eng_sandbox *sb = eng__sandbox_acquire();
            bool yes = false;
            eng_err err = {0};
            if (!sb)
                return eng__turn_fail(t, "out of memory creating the Lua sandbox");
            int erc = eng__sandbox_eval(sb, &r->chunk, t->ctx, t->deadline_us, &yes, &err);
            eng__sandbox_release(sb);
            if (erc < 0) {
                /* a broken condition is skipped, never fatal; the trace says why */
                if (!failed[0])
                    snprintf(failed, sizeof failed, "route %zu skipped: %s", i + 1, err.msg);
                continue;
            }
            if (yes)
                return take(st, t, r, i);
            break;
        }
        }
    }
    eng__turn_note(t, "no route matched%s%s", failed[0] ? "; " : "", failed);
    return ENG_R_DECLINED;
}

const eng_stage_type eng__stage_router = {
    .name = "router",
    .doc = "chooses the next stage from ordered conditions",
    .fields = fields,
    .opts_size = sizeof(opts),
    .create = create,
    .run = run,
};
