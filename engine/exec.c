/* engine/exec.c — runs one turn through a loaded pipeline's stage graph.
 * A turn owns one pool (freed by eng_turn_free) and one JSON context that
 * every stage reads and writes; each stage's run is timed into the trace.
 * The engine keeps nothing between turns. */
#include "pipe_int.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *eng__result_name(eng_result r)
{
    switch (r) {
    case ENG_R_OK: return "ok";
    case ENG_R_DECLINED: return "declined";
    case ENG_R_AGAIN: return "again";
    case ENG_R_DONE: return "done";
    case ENG_R_ERROR: return "error";
    }
    return "?";
}

void eng__turn_note(eng_turn *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->note, sizeof t->note, fmt, ap);
    va_end(ap);
}

eng_result eng__turn_fail(eng_turn *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->errmsg, sizeof t->errmsg, fmt, ap);
    va_end(ap);
    return ENG_R_ERROR;
}

static void put_json(void *o) { json_object_put(o); }

/* FNV-1a, to derive a stable message id when the caller gives none. */
static uint64_t fnv1a(uint64_t h, const char *s)
{
    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

static json_object *new_context(eng_turn *t, const char *text, const eng_turn_opts *o)
{
    json_object *ctx = json_object_new_object();
    if (!ctx)
        return NULL;
    const char *sid = o->session_id ? o->session_id : "local";
    char mid[40];
    if (o->message_id) {
        snprintf(mid, sizeof mid, "%.39s", o->message_id);
    } else {
        json_object *turns = o->session ? eng__json_path(o->session, "turns") : NULL;
        uint64_t h = fnv1a(fnv1a(0xcbf29ce484222325ULL, sid), text);
        h = (h ^ (uint64_t)(turns ? json_object_get_int64(turns) : 0)) * 0x100000001b3ULL;
        snprintf(mid, sizeof mid, "m-%016llx", (unsigned long long)h);
    }
    json_object *msg = json_object_new_object();
    json_object_object_add(msg, "id", json_object_new_string(mid));
    json_object_object_add(msg, "text", json_object_new_string(text));
    json_object_object_add(ctx, "message", msg);
    json_object_object_add(ctx, "sessionId", json_object_new_string(sid));
    json_object_object_add(ctx, "session", o->session ? json_object_get(o->session) : json_object_new_object());
    json_object *user = NULL;
    if (o->user_id) {
        user = json_object_new_object();
        json_object_object_add(user, "id", json_object_new_string(o->user_id));
    }
    json_object_object_add(ctx, "user", user);
    json_object_object_add(ctx, "memory", json_object_new_object());
    json_object_object_add(ctx, "cart", NULL);
    json_object *intent = json_object_new_object();
    json_object_object_add(intent, "name", NULL);
    json_object_object_add(intent, "confidence", json_object_new_double(0));
    json_object_object_add(intent, "source", NULL);
    json_object_object_add(ctx, "intent", intent);
    json_object_object_add(ctx, "entities", json_object_new_array());
    json_object_object_add(ctx, "route", NULL);
    json_object_object_add(ctx, "actions", json_object_new_array());
    json_object_object_add(ctx, "results", json_object_new_object());
    json_object_object_add(ctx, "vars", json_object_new_object());
    json_object *reply = json_object_new_object();
    json_object_object_add(reply, "text", json_object_new_string(""));
    json_object_object_add(reply, "cards", json_object_new_array());
    json_object_object_add(reply, "suggestions", json_object_new_array());
    json_object_object_add(ctx, "reply", reply);
    json_object_object_add(ctx, "trace", json_object_new_array());
    json_object *pl = json_object_new_object();
    json_object_object_add(pl, "name", json_object_new_string(t->p->name));
    json_object_object_add(pl, "version", json_object_new_int64(t->p->version));
    json_object_object_add(ctx, "pipeline", pl);
    return ctx;
}

static void set_reply_text(eng_turn *t, const char *text)
{
    json_object *reply = eng__json_path(t->ctx, "reply");
    if (reply)
        json_object_object_add(reply, "text", json_object_new_string(text));
}

static void trace_add(eng_turn *t, const eng_stage *st, eng_result r, int64_t us, const char *note)
{
    json_object *tr = eng__json_path(t->ctx, "trace");
    json_object *e = json_object_new_object();
    json_object_object_add(e, "stage", json_object_new_string(st ? st->id : "engine"));
    json_object_object_add(e, "type", json_object_new_string(st ? st->type->name : "engine"));
    json_object_object_add(e, "us", json_object_new_int64(us));
    json_object_object_add(e, "result", json_object_new_string(eng__result_name(r)));
    if (note && *note)
        json_object_object_add(e, "note", json_object_new_string(note));
    json_object_array_add(tr, e);
}

static void fail_turn(eng_turn *t, const char *stage, const char *kind, const char *msg, const char *reply)
{
    json_object *e = json_object_new_object();
    json_object_object_add(e, "stage", stage ? json_object_new_string(stage) : NULL);
    json_object_object_add(e, "kind", json_object_new_string(kind));
    json_object_object_add(e, "message", json_object_new_string(msg));
    json_object_object_add(t->ctx, "error", e);
    set_reply_text(t, reply);
}

/* Safety net beyond the static cycle check: a turn never takes more steps
 * than this many times the number of stages. */
#define MAX_VISITS 8

static void run_graph(eng_turn *t)
{
    const eng_pipeline *p = t->p;
    int i = 0;
    size_t steps = 0, max_steps = p->nstages * MAX_VISITS;
    /* a stage that answers AGAIN is polled until it finishes: its polls
     * are one step (the loop guard counts stage visits, not waiting) and
     * one trace entry, timed from its first poll */
    int64_t started = 0;
    long polls = 0;
    while (i >= 0) {
        const eng_stage *st = &p->stages[i];
        int64_t now = eng_now_us();
        if (now >= t->deadline_us) {
            trace_add(t, st, ENG_R_ERROR, polls ? now - started : 0,
                      polls ? "deadline exceeded while waiting on this stage" : "deadline exceeded before this stage");
            json_object_object_add(t->ctx, "timedOut", json_object_new_boolean(1));
            fail_turn(t, st->id, "timeout", "deadline exceeded", p->timeout_reply);
            return;
        }
        if (!polls) {
            started = now;
            if (++steps > max_steps) {
                fail_turn(t, st->id, "loop", "too many stage steps", p->error_reply);
                return;
            }
        }
        t->jump = -2;
        t->note[0] = t->errmsg[0] = '\0';
        t->stage = st->id;
        eng_result r = st->type->run(st, t);
        t->stage = NULL;
        if (r == ENG_R_AGAIN) {
            /* the stage is waiting on I/O it started; poll it again soon */
            polls++;
            struct timespec ts = {0, 500000};
            nanosleep(&ts, NULL);
            continue;
        }
        int64_t us = eng_now_us() - started;
        trace_add(t, st, r, us, r == ENG_R_ERROR ? t->errmsg : t->note);
        if (polls) {
            json_object *tr = eng__json_path(t->ctx, "trace");
            json_object *e = json_object_array_get_idx(tr, json_object_array_length(tr) - 1);
            json_object_object_add(e, "polls", json_object_new_int64(polls));
            polls = 0;
        }
        switch (r) {
        case ENG_R_OK:
        case ENG_R_DECLINED:
            i = t->jump >= -1 ? t->jump : st->next;
            break;
        case ENG_R_DONE:
            return;
        case ENG_R_ERROR:
        default:
            fail_turn(t, st->id, "stage", t->errmsg[0] ? t->errmsg : "stage failed", p->error_reply);
            return;
        case ENG_R_AGAIN:
            break;
        }
    }
    if (eng_now_us() > t->deadline_us) {
        /* the last stage ran past the deadline: the reply stands, say so */
        json_object_object_add(t->ctx, "timedOut", json_object_new_boolean(1));
    }
}

int eng__turn_new(eng_pipeline *p, const char *text, const eng_turn_opts *o, eng_turn **out, eng_err *err)
{
    static const eng_turn_opts no_opts;
    *out = NULL;
    if (!p || !text)
        return eng_err_set(err, ENG_EINVAL, "a pipeline and a text are required");
    size_t len = strlen(text);
    if (!eng_utf8_valid(text, len))
        return eng_err_set(err, ENG_EINVAL, "message is not valid UTF-8");
    if (!o)
        o = &no_opts;
    eng_pool *pool = eng__pool_new(8192);
    eng_turn *t = pool ? eng__pool_alloc(pool, sizeof *t) : NULL;
    if (!t) {
        eng__pool_free(pool);
        return eng_err_set(err, ENG_ENOMEM, "out of memory starting a turn");
    }
    t->pool = pool;
    t->p = p;
    t->opts = o;
    t->stage = NULL;
    long dl = o->deadline_ms > 0 ? (long)o->deadline_ms : p->deadline_ms;
    t->deadline_us = eng_now_us() + (int64_t)dl * 1000;
    t->ctx = new_context(t, text, o);
    if (!t->ctx || eng__pool_cleanup(pool, put_json, t->ctx) < 0) {
        json_object_put(t->ctx);
        eng__pool_free(pool);
        return eng_err_set(err, ENG_ENOMEM, "out of memory starting a turn");
    }
    *out = t;
    return 0;
}

int eng_run(eng_pipeline *p, const char *text, const eng_turn_opts *o, eng_turn **out, eng_err *err)
{
    int64_t start = eng_now_us();
    int rc = eng__turn_new(p, text, o, out, err);
    if (rc < 0)
        return rc;
    eng_turn *t = *out;
    eng_pipeline_retain(p);
    run_graph(t);
    json_object_object_add(t->ctx, "elapsedUs", json_object_new_int64(eng_now_us() - start));
    eng_pipeline_release(p);
    return 0;
}

json_object *eng_turn_context(const eng_turn *t) { return t->ctx; }

const char *eng_turn_reply(const eng_turn *t)
{
    return eng__json_str(t->ctx, "reply.text", "");
}

void eng_turn_free(eng_turn *t)
{
    if (t)
        eng__pool_free(t->pool);
}

json_object *eng_pipeline_graph(const eng_pipeline *p)
{
    json_object *g = json_object_new_object();
    json_object_object_add(g, "name", json_object_new_string(p->name));
    json_object_object_add(g, "version", json_object_new_int64(p->version));
    json_object_object_add(g, "file", json_object_new_string(p->file));
    json_object_object_add(g, "deadlineMs", json_object_new_int64(p->deadline_ms));
    json_object *in = json_object_new_array();
    for (size_t i = 0; i < p->nintents; i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(p->intents[i].name));
        json_object_object_add(o, "examples", json_object_new_int64((int64_t)p->intents[i].examples.n));
        json_object_array_add(in, o);
    }
    json_object_object_add(g, "intents", in);
    json_object *stages = json_object_new_array(), *edges = json_object_new_array();
    for (size_t i = 0; i < p->nstages; i++) {
        const eng_stage *st = &p->stages[i];
        json_object *s = json_object_new_object();
        json_object_object_add(s, "id", json_object_new_string(st->id));
        json_object_object_add(s, "type", json_object_new_string(st->type->name));
        json_object_object_add(s, "line", json_object_new_int(st->line));
        json_object_array_add(stages, s);
        const char *to = st->next >= 0 ? p->stages[st->next].id : "end";
        json_object *e = json_object_new_object();
        json_object_object_add(e, "from", json_object_new_string(st->id));
        json_object_object_add(e, "to", json_object_new_string(to));
        json_object_object_add(e, "kind", json_object_new_string("next"));
        json_object_array_add(edges, e);
        for (size_t k = 0; k < st->nedges; k++) {
            e = json_object_new_object();
            json_object_object_add(e, "from", json_object_new_string(st->id));
            json_object_object_add(e, "to", json_object_new_string(st->edges[k].to >= 0
                                       ? p->stages[st->edges[k].to].id : "end"));
            json_object_object_add(e, "kind", json_object_new_string("route"));
            json_object_array_add(edges, e);
        }
    }
    json_object_object_add(g, "stages", stages);
    json_object_object_add(g, "edges", edges);
    return g;
}
