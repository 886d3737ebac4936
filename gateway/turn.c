/* gateway/turn.c — one chat message through the engine's conversation
 * driver (eng_converse: session, replay of a resent clientMsgId, history,
 * the reply object), the same for the REST and WebSocket channels; here
 * only what the server adds: draining, problem objects, metrics, the
 * turn's trace (into the ring the inspector reads, traces.c: the store
 * copy is written by a thread of its own, never on the reply path), and
 * cart/trace events. */
#include "gw_int.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---------------------------------------------------------------------
 * Turns
 * ------------------------------------------------------------------ */
static json_object *path_get(json_object *o, const char *k1, const char *k2)
{
    json_object *v = NULL;
    if (!o || !json_object_object_get_ex(o, k1, &v))
        return NULL;
    if (k2 && (!json_object_is_type(v, json_type_object) || !json_object_object_get_ex(v, k2, &v)))
        return NULL;
    return v;
}

static json_object *trace_summary(json_object *ctx, const char *id, const gw_principal *who, const char *text)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(id));
    json_object_object_add(o, "at", json_object_new_int64((int64_t)time(NULL) * 1000));
    json_object_object_add(o, "sessionId", json_object_new_string(who->sid));
    if (who->user_id)
        json_object_object_add(o, "userId", json_object_new_int64(who->user_id));
    char t[201];
    snprintf(t, sizeof t, "%s", text);
    /* do not cut a UTF-8 sequence in half */
    size_t l = strlen(t);
    while (l && !eng_utf8_valid(t, l))
        t[--l] = 0;
    json_object_object_add(o, "text", json_object_new_string(t));
    json_object *v;
    if ((v = path_get(ctx, "intent", NULL)))
        json_object_object_add(o, "intent", json_object_get(v));
    if ((v = path_get(ctx, "route", NULL)))
        json_object_object_add(o, "route", json_object_get(v));
    if ((v = path_get(ctx, "pipeline", NULL)))
        json_object_object_add(o, "pipeline", json_object_get(v));
    if ((v = path_get(ctx, "elapsedUs", NULL)))
        json_object_object_add(o, "elapsedUs", json_object_get(v));
    if ((v = path_get(ctx, "trace", NULL)))
        json_object_object_add(o, "stages", json_object_get(v));
    if ((v = path_get(ctx, "error", NULL)))
        json_object_object_add(o, "error", json_object_get(v));
    /* what went wrong without failing the turn, so the inspector's list
     * shows it without fetching each context: the rules that failed and
     * were skipped (or denied, for a veto) and the LLM fallbacks taken */
    if ((v = path_get(ctx, "vars", "ruleErrors")) && json_object_is_type(v, json_type_array) &&
        json_object_array_length(v) > 0)
        json_object_object_add(o, "ruleErrors", json_object_get(v));
    if ((v = path_get(ctx, "fallbacks", NULL)) && json_object_is_type(v, json_type_array) &&
        json_object_array_length(v) > 0)
        json_object_object_add(o, "fallbacks", json_object_get(v));
    if ((v = path_get(ctx, "timedOut", NULL)) && json_object_get_boolean(v))
        json_object_object_add(o, "timedOut", json_object_new_boolean(1));
    return o;
}

static void leave(gw_server *s)
{
    pthread_mutex_lock(&s->turn_mu);
    s->inflight--;
    pthread_cond_broadcast(&s->turn_cv);
    pthread_mutex_unlock(&s->turn_mu);
}

/* the problem each refusal of the conversation driver maps to */
static int refusal(const eng_converse_result *cr, const eng_err *err, json_object **reply)
{
    switch (cr->status) {
    case ENG_CONV_INVALID_UTF8:
        *reply = gw__problem_obj(400, "invalid-utf8", "Message is not valid UTF-8", NULL);
        return 400;
    case ENG_CONV_EMPTY:
        *reply = gw__problem_obj(422, "validation", "Empty message", "text must not be empty.");
        return 422;
    case ENG_CONV_TOO_LONG:
        *reply = gw__problem_obj(413, "message-too-long", "Message too long", "The message is over the size limit.");
        return 413;
    case ENG_CONV_BAD_ID:
        *reply = gw__problem_obj(422, "validation", "Invalid clientMsgId", "1-64 printable ASCII characters.");
        return 422;
    case ENG_CONV_REFUSED:
        *reply = gw__problem_obj(400, "invalid-message", "Message refused", err->msg);
        return 400;
    case ENG_CONV_BUSY:
        /* a transient state: the client retries after Retry-After */
        *reply = gw__problem_obj(503, "unavailable", "Message still being answered", err->msg);
        return 503;
    case ENG_CONV_OK:
    case ENG_CONV_FAILED:
    default:
        break;
    }
    json_object *f = json_object_new_object();
    json_object_object_add(f, "error", json_object_new_string(err->msg));
    gw__log("error", "turn_failed", f);
    *reply = gw__problem_obj(503, "turn-failed", "The assistant is unavailable", NULL);
    return 503;
}

int gw__turn(gw_server *s, const gw_principal *who, const char *text, const char *client_msg_id,
             gw_delta_fn on_delta, void *ud, json_object **reply, char **reply_text, int *replayed)
{
    *reply = NULL;
    if (reply_text)
        *reply_text = NULL;
    *replayed = 0;
    pthread_mutex_lock(&s->turn_mu);
    if (atomic_load(&s->draining)) {
        pthread_mutex_unlock(&s->turn_mu);
        *reply = gw__problem_obj(503, "shutting-down", "Server shutting down", "Retry on another instance.");
        return 503;
    }
    s->inflight++;
    pthread_mutex_unlock(&s->turn_mu);

    if (s->test_delay_ms > 0) {
        struct timespec ts = {s->test_delay_ms / 1000, (long)(s->test_delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    char uid[32] = "", tid[33];
    gw__random_hex(tid, 16);
    if (who->user_id)
        snprintf(uid, sizeof uid, "%" PRId64, who->user_id);
    eng_deps deps = {.store = s->st, .llm = s->llm};
    eng_converse_opts o = {
        .text = text ? text : "", .session_id = who->sid, .user_id = uid[0] ? uid : NULL,
        .message_id = client_msg_id, .trace_id = tid, .deps = &deps,
        .deadline_ms = s->cfg.turn_deadline_ms,
        .max_message_bytes = s->cfg.max_message_bytes > 0 ? (size_t)s->cfg.max_message_bytes : 0,
        .on_delta = on_delta, .delta_ud = ud,
    };
    eng_converse_result cr = {.status = ENG_CONV_FAILED};
    eng_err err = {0};
    eng_pipeline *p = gw__pipeline(s);
    int rc = ENG_ENOTFOUND;
    if (p) {
        rc = eng_converse(p, &o, &cr, &err);
        eng_pipeline_release(p);
    } else
        eng_err_set(&err, rc, "no pipeline loaded");
    if (rc < 0) {
        int st = refusal(&cr, &err, reply);
        eng_converse_result_clear(&cr);
        leave(s);
        return st;
    }
    if (cr.store_error[0]) {
        /* the reply stands (the turn ran); the operator must hear of it */
        json_object *f = json_object_new_object();
        json_object_object_add(f, "sessionId", json_object_new_string(who->sid));
        json_object_object_add(f, "traceId", json_object_new_string(cr.trace_id));
        json_object_object_add(f, "error", json_object_new_string(cr.store_error));
        gw__log("error", "session_save_failed", f);
    }
    if (reply_text) {
        *reply_text = cr.reply_text;
        cr.reply_text = NULL;
    }
    if (cr.replayed) {
        *replayed = 1;
        *reply = json_object_get(cr.reply);
        eng_converse_result_clear(&cr);
        leave(s);
        return 0;
    }
    json_object *ctx = eng_turn_context(cr.turn);
    /* the trace: printed and copied only when the ring is to keep it or
     * someone is watching (under load the ring samples, traces.c) */
    int failed = path_get(ctx, "error", NULL) != NULL;
    bool keep = gw__traces_wanted(s->traces, failed), live = gw__chan_tracing(s);
    if (keep || live) {
        json_object *sum = trace_summary(ctx, cr.trace_id, who, o.text);
        /* the feed sends every turn's summary, kept or not: one whose
         * context was not kept says so, so that the inspector does not
         * ask GET /traces/{id} for what it cannot have */
        json_object_object_add(sum, "kept", json_object_new_boolean(keep));
        eng_json_tidy_doubles(sum);   /* before other threads can see it */
        if (keep) {
            size_t ctx_len = 0;
            const char *ctx_js = json_object_to_json_string_length(
                ctx, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &ctx_len);
            gw__traces_add(s->traces, cr.trace_id, sum, ctx_js, ctx_len, failed);
        }
        if (live)
            gw__chan_publish_trace(s, sum);
        json_object_put(sum);
    }
    gw__metrics_turn(s->metrics, ctx, cr.elapsed_us);
    /* the commerce core audited every change in its transaction; the
     * channels of this cart only need to hear of it */
    json_object *acts = path_get(ctx, "actions", NULL);
    if (acts && json_object_is_type(acts, json_type_array) && json_object_array_length(acts) > 0) {
        char cid[128];
        gw__cart_id(who, cid, sizeof cid);
        json_object *cart = path_get(cr.reply, "cart", NULL);
        gw__cart_changed(s, cid, cart && json_object_is_type(cart, json_type_object) ? cart : NULL);
    }
    *reply = json_object_get(cr.reply);
    eng_converse_result_clear(&cr);
    leave(s);
    return 0;
}
