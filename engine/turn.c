/* engine/turn.c — a turn's life outside the stage graph: its pool and
 * starting context (eng__turn_new), the note and error a stage leaves for
 * the trace (eng__turn_note, eng__turn_fail), and what callers read and
 * free afterwards. The stage files and the executor (exec.c) depend on
 * this file; it depends on neither. */
#include "pipe_int.h"
#include <stdio.h>
#include <string.h>

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
    ENG_JADD(msg, "id", json_object_new_string(mid));
    ENG_JADD(msg, "text", json_object_new_string(text));
    ENG_JADD(ctx, "message", msg);
    ENG_JADD(ctx, "sessionId", json_object_new_string(sid));
    ENG_JADD(ctx, "session", o->session ? json_object_get(o->session) : json_object_new_object());
    json_object *user = NULL;
    if (o->user_id) {
        user = json_object_new_object();
        ENG_JADD(user, "id", json_object_new_string(o->user_id));
    }
    ENG_JADD(ctx, "user", user);
    ENG_JADD(ctx, "memory", json_object_new_object());
    ENG_JADD(ctx, "cart", NULL);
    json_object *intent = json_object_new_object();
    ENG_JADD(intent, "name", NULL);
    ENG_JADD(intent, "confidence", json_object_new_double(0));
    ENG_JADD(intent, "source", NULL);
    ENG_JADD(ctx, "intent", intent);
    ENG_JADD(ctx, "entities", json_object_new_array());
    ENG_JADD(ctx, "route", NULL);
    ENG_JADD(ctx, "actions", json_object_new_array());
    ENG_JADD(ctx, "results", json_object_new_object());
    ENG_JADD(ctx, "vars", json_object_new_object());
    json_object *reply = json_object_new_object();
    ENG_JADD(reply, "text", json_object_new_string(""));
    ENG_JADD(reply, "cards", json_object_new_array());
    ENG_JADD(reply, "suggestions", json_object_new_array());
    ENG_JADD(ctx, "reply", reply);
    ENG_JADD(ctx, "trace", json_object_new_array());
    json_object *pl = json_object_new_object();
    ENG_JADD(pl, "name", json_object_new_string(t->p->name));
    ENG_JADD(pl, "version", json_object_new_int64(t->p->version));
    ENG_JADD(ctx, "pipeline", pl);
    return ctx;
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
    t->claim = 0;
    t->cart_read = NULL;
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

json_object *eng_turn_context(const eng_turn *t) { return t->ctx; }

const char *eng_turn_reply(const eng_turn *t)
{
    return eng__json_str(t->ctx, "reply.text", "");
}

void eng_turn_free(eng_turn *t)
{
    if (t) {
        json_object_put(t->cart_read);
        eng__pool_free(t->pool);
    }
}
