/* engine/exec.c — runs one turn through a loaded pipeline's stage graph.
 * A turn owns one pool (freed by eng_turn_free) and one JSON context that
 * every stage reads and writes (both made in turn.c); each stage's run is
 * timed into the trace. The engine keeps nothing between turns. */
#include "pipe_int.h"
#include <time.h>

static void set_reply_text(eng_turn *t, const char *text)
{
    json_object *reply = eng__json_path(t->ctx, "reply");
    if (reply)
        ENG_JADD(reply, "text", json_object_new_string(text));
}

static void trace_add(eng_turn *t, const eng_stage *st, eng_result r, int64_t us, const char *note)
{
    json_object *tr = eng__json_path(t->ctx, "trace");
    json_object *e = json_object_new_object();
    ENG_JADD(e, "stage", json_object_new_string(st ? st->id : "engine"));
    ENG_JADD(e, "type", json_object_new_string(st ? st->type->name : "engine"));
    ENG_JADD(e, "us", json_object_new_int64(us));
    ENG_JADD(e, "result", json_object_new_string(eng__result_name(r)));
    if (note && *note)
        ENG_JADD(e, "note", json_object_new_string(note));
    json_object_array_add(tr, e);
}

static void fail_turn(eng_turn *t, const char *stage, const char *kind, const char *msg, const char *reply)
{
    json_object *e = json_object_new_object();
    ENG_JADD(e, "stage", stage ? json_object_new_string(stage) : NULL);
    ENG_JADD(e, "kind", json_object_new_string(kind));
    ENG_JADD(e, "message", json_object_new_string(msg));
    ENG_JADD(t->ctx, "error", e);
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
            ENG_JADD(t->ctx, "timedOut", json_object_new_boolean(1));
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
            ENG_JADD(e, "polls", json_object_new_int64(polls));
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
        ENG_JADD(t->ctx, "timedOut", json_object_new_boolean(1));
    }
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
    ENG_JADD(t->ctx, "elapsedUs", json_object_new_int64(eng_now_us() - start));
    eng_pipeline_release(p);
    return 0;
}
