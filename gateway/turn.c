/* gateway/turn.c — one chat message through the engine, the same for the
 * REST and WebSocket channels: session state in and out of the store,
 * the reply object both channels send, the once-only answer to a resent
 * clientMsgId, and the ring of recent traces the inspector reads. */
#include "gw_int.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---------------------------------------------------------------------
 * The trace ring: the last N turn contexts, newest last.
 * ------------------------------------------------------------------ */
struct gw_traces {
    pthread_mutex_t mu;
    int keep, next, n;
    struct slot { char id[40]; json_object *summary; char *ctx; } *slots;
};

gw_traces *gw__traces_new(int keep)
{
    gw_traces *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->keep = keep > 0 ? keep : 1;
    t->slots = calloc((size_t)t->keep, sizeof *t->slots);
    if (!t->slots) {
        free(t);
        return NULL;
    }
    pthread_mutex_init(&t->mu, NULL);
    return t;
}

void gw__traces_free(gw_traces *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->keep; i++) {
        json_object_put(t->slots[i].summary);
        free(t->slots[i].ctx);
    }
    free(t->slots);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

void gw__traces_add(gw_traces *t, const char *id, json_object *summary, const char *ctx_json)
{
    char *copy = strdup(ctx_json);
    pthread_mutex_lock(&t->mu);
    struct slot *s = &t->slots[t->next];
    json_object_put(s->summary);
    free(s->ctx);
    snprintf(s->id, sizeof s->id, "%s", id);
    s->summary = json_object_get(summary);
    s->ctx = copy;
    t->next = (t->next + 1) % t->keep;
    if (t->n < t->keep)
        t->n++;
    pthread_mutex_unlock(&t->mu);
}

char *gw__traces_get(gw_traces *t, const char *id)
{
    char *out = NULL;
    pthread_mutex_lock(&t->mu);
    for (int i = 0; i < t->keep && !out; i++)
        if (t->slots[i].ctx && strcmp(t->slots[i].id, id) == 0)
            out = strdup(t->slots[i].ctx);
    pthread_mutex_unlock(&t->mu);
    return out;
}

json_object *gw__traces_list(gw_traces *t, int limit)
{
    json_object *a = json_object_new_array();
    pthread_mutex_lock(&t->mu);
    /* newest first */
    for (int k = 0; k < t->n && k < limit; k++) {
        int i = ((t->next - 1 - k) % t->keep + t->keep) % t->keep;
        json_object_array_add(a, json_object_get(t->slots[i].summary));
    }
    pthread_mutex_unlock(&t->mu);
    return a;
}

/* ---------------------------------------------------------------------
 * Turns
 * ------------------------------------------------------------------ */
static json_object *problem_obj(int status, const char *slug, const char *title, const char *detail)
{
    json_object *o = json_object_new_object();
    char type[96];
    snprintf(type, sizeof type, "urn:aisle:problem:%s", slug);
    json_object_object_add(o, "type", json_object_new_string(type));
    json_object_object_add(o, "title", json_object_new_string(title));
    json_object_object_add(o, "status", json_object_new_int(status));
    if (detail)
        json_object_object_add(o, "detail", json_object_new_string(detail));
    return o;
}

static json_object *path_get(json_object *o, const char *k1, const char *k2)
{
    json_object *v = NULL;
    if (!o || !json_object_object_get_ex(o, k1, &v))
        return NULL;
    if (k2 && (!json_object_is_type(v, json_type_object) || !json_object_object_get_ex(v, k2, &v)))
        return NULL;
    return v;
}

static json_object *copy_or(json_object *v, json_type want, json_object *def)
{
    if (v && json_object_is_type(v, want)) {
        json_object_put(def);
        return json_object_get(v);
    }
    return def;
}

/* the reply object both channels send, from the turn context */
static json_object *reply_object(gw_server *s, const gw_principal *who, json_object *ctx, const char *trace_id)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "sessionId", json_object_new_string(who->sid));
    json_object *in = json_object_new_object();
    json_object *n = path_get(ctx, "intent", "name"), *c = path_get(ctx, "intent", "confidence");
    json_object_object_add(in, "name", json_object_new_string(n ? json_object_get_string(n) : "unknown"));
    json_object_object_add(in, "confidence", json_object_new_double(c ? json_object_get_double(c) : 0));
    json_object_object_add(o, "intent", in);
    json_object *rep = json_object_new_object();
    json_object *t = path_get(ctx, "reply", "text");
    json_object_object_add(rep, "text", json_object_new_string(t ? json_object_get_string(t) : ""));
    json_object_object_add(rep, "cards", copy_or(path_get(ctx, "reply", "cards"), json_type_array, json_object_new_array()));
    json_object_object_add(rep, "suggestions",
                           copy_or(path_get(ctx, "reply", "suggestions"), json_type_array, json_object_new_array()));
    json_object_object_add(o, "reply", rep);
    json_object *cart = path_get(ctx, "cart", NULL);
    if (cart && json_object_is_type(cart, json_type_object) && path_get(cart, "items", NULL))
        json_object_object_add(o, "cart", json_object_get(cart));
    else {
        json_object *cj = gw__cart_json(s, who);
        json_object_object_add(o, "cart", cj ? cj : json_object_new_null());
    }
    json_object_object_add(o, "actions", copy_or(path_get(ctx, "actions", NULL), json_type_array, json_object_new_array()));
    json_object_object_add(o, "traceId", json_object_new_string(trace_id));
    return o;
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
    return o;
}

static void leave(gw_server *s)
{
    pthread_mutex_lock(&s->turn_mu);
    s->inflight--;
    pthread_cond_broadcast(&s->turn_cv);
    pthread_mutex_unlock(&s->turn_mu);
}

int gw__turn(gw_server *s, const gw_principal *who, const char *text, const char *client_msg_id,
             gw_delta_fn on_delta, void *ud, json_object **reply, int *replayed)
{
    *reply = NULL;
    *replayed = 0;
    size_t tl = text ? strlen(text) : 0;
    if (!text || !eng_utf8_valid(text, tl)) {
        *reply = problem_obj(400, "invalid-utf8", "Message is not valid UTF-8", NULL);
        return 400;
    }
    if (tl == 0 || strspn(text, " \t\r\n") == tl) {
        *reply = problem_obj(422, "validation", "Empty message", "text must not be empty.");
        return 422;
    }
    if ((long)tl > s->cfg.max_message_bytes) {
        *reply = problem_obj(413, "message-too-long", "Message too long", "The message is over the size limit.");
        return 413;
    }
    char key[200] = "";
    if (client_msg_id) {
        size_t cl = strlen(client_msg_id);
        bool ok = cl > 0 && cl <= 64;
        for (size_t i = 0; ok && i < cl; i++)
            ok = client_msg_id[i] > 32 && client_msg_id[i] < 127;
        if (!ok) {
            *reply = problem_obj(422, "validation", "Invalid clientMsgId", "1-64 printable ASCII characters.");
            return 422;
        }
        snprintf(key, sizeof key, "cmsg:%s:%s", who->sid, client_msg_id);
        char *cached = NULL;
        if (store_cache_get(s->st, key, &cached, NULL) == 0) {
            json_object *o = json_tokener_parse(cached);
            free(cached);
            if (o) {
                *reply = o;
                *replayed = 1;
                return 0;
            }
        }
    }
    pthread_mutex_lock(&s->turn_mu);
    if (atomic_load(&s->draining)) {
        pthread_mutex_unlock(&s->turn_mu);
        *reply = problem_obj(503, "shutting-down", "Server shutting down", "Retry on another instance.");
        return 503;
    }
    s->inflight++;
    pthread_mutex_unlock(&s->turn_mu);

    if (s->test_delay_ms > 0) {
        struct timespec ts = {s->test_delay_ms / 1000, (long)(s->test_delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    char *sess_js = NULL;
    json_object *sess = NULL;
    if (store_session_get(s->st, who->sid, &sess_js, NULL) == 0) {
        sess = json_tokener_parse(sess_js);
        free(sess_js);
    }
    char mid[80], tid[33], uid[32];
    gw__random_hex(tid, 16);
    if (client_msg_id)
        snprintf(mid, sizeof mid, "%s", client_msg_id);
    else
        snprintf(mid, sizeof mid, "%s", tid);
    snprintf(uid, sizeof uid, "%" PRId64, who->user_id);
    eng_deps deps = {.store = s->st, .llm = s->llm};
    eng_turn_opts o = {
        .session_id = who->sid, .message_id = mid, .user_id = who->user_id ? uid : NULL,
        .session = sess, .deadline_ms = s->cfg.turn_deadline_ms, .deps = &deps,
        .on_delta = on_delta, .delta_ud = ud,
    };
    eng_pipeline *p = gw__pipeline(s);
    eng_turn *t = NULL;
    eng_err err = {0};
    int64_t t0 = eng_now_us();
    int rc = p ? eng_run(p, text, &o, &t, &err) : ENG_ENOTFOUND;
    int64_t us = eng_now_us() - t0;
    if (p)
        eng_pipeline_release(p);
    json_object_put(sess);
    if (rc < 0) {
        leave(s);
        if (rc == ENG_EINVAL) {
            *reply = problem_obj(400, "invalid-message", "Message refused", err.msg);
            return 400;
        }
        json_object *f = json_object_new_object();
        json_object_object_add(f, "error", json_object_new_string(err.msg));
        gw__log("error", "turn_failed", f);
        *reply = problem_obj(503, "turn-failed", "The assistant is unavailable", NULL);
        return 503;
    }
    json_object *ctx = eng_turn_context(t);
    /* session state goes back before the reply leaves: the next message
     * may land on another instance */
    json_object *ns = path_get(ctx, "session", NULL);
    if (ns && json_object_is_type(ns, json_type_object))
        store_session_put(s->st, who->sid, json_object_to_json_string(ns), 0, NULL);
    json_object *hist = json_object_new_object();
    json_object_object_add(hist, "at", json_object_new_int64(store_now_ms(s->st)));
    json_object_object_add(hist, "messageId", json_object_new_string(mid));
    json_object_object_add(hist, "text", json_object_new_string(text));
    json_object_object_add(hist, "reply", json_object_new_string(eng_turn_reply(t)));
    json_object *iname = path_get(ctx, "intent", "name");
    if (iname)
        json_object_object_add(hist, "intent", json_object_get(iname));
    json_object_object_add(hist, "traceId", json_object_new_string(tid));
    store_session_append_turn(s->st, who->sid, json_object_to_json_string(hist), NULL);
    json_object_put(hist);

    json_object *out = reply_object(s, who, ctx, tid);
    json_object *sum = trace_summary(ctx, tid, who, text);
    const char *ctx_js = json_object_to_json_string_ext(ctx, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    gw__traces_add(s->traces, tid, sum, ctx_js);
    char tkey[64];
    snprintf(tkey, sizeof tkey, "trace:%s", tid);
    store_cache_put(s->st, tkey, ctx_js, s->cfg.trace_ttl_s, NULL);
    gw__chan_publish_trace(s, sum);
    json_object_put(sum);
    gw__metrics_turn(s->metrics, ctx, us);
    json_object *acts = path_get(ctx, "actions", NULL);
    if (acts && json_object_is_type(acts, json_type_array) && json_object_array_length(acts) > 0) {
        char cid[128];
        gw__cart_id(who, cid, sizeof cid);
        /* the engine audits orders and vetoes; chat cart changes are ours */
        for (size_t i = 0; i < json_object_array_length(acts); i++) {
            json_object *a = json_object_array_get_idx(acts, i);
            const char *type = gw__jstr(a, "type"), *st = gw__jstr(a, "status");
            if (type && st && strncmp(type, "cart.", 5) == 0 && strcmp(st, "done") == 0) {
                json_object *d = json_object_new_object();
                const char *sku = gw__jstr(a, "sku"), *k = gw__jstr(a, "key");
                if (sku)
                    json_object_object_add(d, "sku", json_object_new_string(sku));
                if (k)
                    json_object_object_add(d, "key", json_object_new_string(k));
                json_object_object_add(d, "via", json_object_new_string("chat"));
                gw__audit(s, who, type, cid, d);
            }
        }
        gw__cart_changed(s, cid);
    }
    eng_turn_free(t);
    if (*key)
        store_cache_put(s->st, key, json_object_to_json_string(out), 86400, NULL);
    leave(s);
    *reply = out;
    return 0;
}
