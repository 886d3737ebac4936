/* engine/pipeline.c — a loaded pipeline's lifetime and what callers read
 * of it: the reference count (retain, release, destroy), its name, file,
 * training examples and the graph description for the inspector. Loading
 * is load.c, running a turn exec.c; both depend on this file, not on each
 * other. */
#include "pipe_int.h"
#include <stdlib.h>

void eng__pipeline_destroy(eng_pipeline *p)
{
    for (size_t i = 0; i < p->nstages; i++) {
        eng_stage *st = &p->stages[i];
        if (st->type && st->type->destroy && st->data)
            st->type->destroy(st);
    }
    eng__pool_free(p->pool);
}

void eng_pipeline_retain(eng_pipeline *p) { atomic_fetch_add(&p->refs, 1); }

void eng_pipeline_release(eng_pipeline *p)
{
    if (p && atomic_fetch_sub(&p->refs, 1) == 1)
        eng__pipeline_destroy(p);
}

const char *eng_pipeline_name(const eng_pipeline *p) { return p->name; }
int eng_pipeline_version(const eng_pipeline *p) { return (int)p->version; }
const char *eng_pipeline_file(const eng_pipeline *p) { return p->file; }

int eng_pipeline_examples(const eng_pipeline *p, const char ***texts, const char ***labels, size_t *n)
{
    size_t k = 0;
    for (size_t i = 0; i < p->nintents; i++)
        k += p->intents[i].examples.n;
    const char **t = malloc((k ? k : 1) * sizeof *t), **l = malloc((k ? k : 1) * sizeof *l);
    if (!t || !l) {
        free(t);
        free(l);
        return ENG_ENOMEM;
    }
    k = 0;
    for (size_t i = 0; i < p->nintents; i++)
        for (size_t j = 0; j < p->intents[i].examples.n; j++) {
            t[k] = p->intents[i].examples.items[j];
            l[k++] = p->intents[i].name;
        }
    *texts = t;
    *labels = l;
    *n = k;
    return 0;
}

json_object *eng_pipeline_graph(const eng_pipeline *p)
{
    json_object *g = json_object_new_object();
    ENG_JADD(g, "name", json_object_new_string(p->name));
    ENG_JADD(g, "version", json_object_new_int64(p->version));
    ENG_JADD(g, "file", json_object_new_string(p->file));
    ENG_JADD(g, "deadlineMs", json_object_new_int64(p->deadline_ms));
    json_object *in = json_object_new_array();
    for (size_t i = 0; i < p->nintents; i++) {
        json_object *o = json_object_new_object();
        ENG_JADD(o, "name", json_object_new_string(p->intents[i].name));
        ENG_JADD(o, "examples", json_object_new_int64((int64_t)p->intents[i].examples.n));
        json_object_array_add(in, o);
    }
    ENG_JADD(g, "intents", in);
    json_object *stages = json_object_new_array(), *edges = json_object_new_array();
    for (size_t i = 0; i < p->nstages; i++) {
        const eng_stage *st = &p->stages[i];
        json_object *s = json_object_new_object();
        ENG_JADD(s, "id", json_object_new_string(st->id));
        ENG_JADD(s, "type", json_object_new_string(st->type->name));
        ENG_JADD(s, "line", json_object_new_int(st->line));
        json_object_array_add(stages, s);
        const char *to = st->next >= 0 ? p->stages[st->next].id : "end";
        json_object *e = json_object_new_object();
        ENG_JADD(e, "from", json_object_new_string(st->id));
        ENG_JADD(e, "to", json_object_new_string(to));
        ENG_JADD(e, "kind", json_object_new_string("next"));
        json_object_array_add(edges, e);
        for (size_t k = 0; k < st->nedges; k++) {
            e = json_object_new_object();
            ENG_JADD(e, "from", json_object_new_string(st->id));
            ENG_JADD(e, "to", json_object_new_string(st->edges[k].to >= 0
                                       ? p->stages[st->edges[k].to].id : "end"));
            ENG_JADD(e, "kind", json_object_new_string("route"));
            json_object_array_add(edges, e);
        }
    }
    ENG_JADD(g, "stages", stages);
    ENG_JADD(g, "edges", edges);
    return g;
}
