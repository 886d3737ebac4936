/* gateway/chat.c — the chat channel, independent of the transport that
 * carries it (ws.c on civetweb today): JSON frames in (message, ping,
 * subscribe), frames out (session, delta, reply, cart, trace, error),
 * and the registry of open channels that cart and trace events fan out
 * to.  Events reach channels of this process only; across instances
 * they would go through Redis pub/sub (docs/operations.md).
 *
 * Locking: chan_mu guards the registry (the list, and each channel's
 * cart id and trace flag) and nothing else; a publisher takes references
 * to the channels it wants under it and prices carts and writes frames
 * after letting go.  Each channel's own send_mu orders its writes against
 * its close, so no frame goes to a transport that has closed. */
#include "gw_int.h"
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>

struct gw_chan {
    gw_chan *next;
    atomic_int refs;       /* the registry's (or the transport's) + publishers' */
    pthread_mutex_t send_mu;
    int closed;            /* under send_mu: the transport is gone */
    gw_server *s;
    const gw_transport_ops *ops;
    void *tctx;
    gw_principal who;
    char cart_id[128];
    char ip[64];
    int traces;            /* subscribed to {type:"trace"} */
    const char *cur_cmid;  /* the message being answered (for deltas) */
};

static void chan_unref(gw_chan *c)
{
    if (atomic_fetch_sub(&c->refs, 1) == 1) {
        pthread_mutex_destroy(&c->send_mu);
        free(c);
    }
}

/* one frame to one channel, unless its transport has closed */
static void send_text(gw_chan *c, const char *s)
{
    pthread_mutex_lock(&c->send_mu);
    if (!c->closed)
        c->ops->send(c->tctx, s, strlen(s));
    pthread_mutex_unlock(&c->send_mu);
}

static void send_obj(gw_chan *c, json_object *o)
{
    eng_json_tidy_doubles(o);
    send_text(c, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
}

/* References to the registered channels that match (cart_id, or
 * subscribed to traces when cart_id is NULL), taken under chan_mu.
 * *out is malloc'd (free it after unref'ing each); returns the count. */
static size_t chans_take(gw_server *s, const char *cart_id, int all, gw_chan ***out)
{
    *out = NULL;
    pthread_mutex_lock(&s->chan_mu);
    size_t n = 0, k = 0;
    for (gw_chan *c = s->chans; c; c = c->next)
        n++;
    gw_chan **v = n ? malloc(n * sizeof *v) : NULL;
    for (gw_chan *c = s->chans; v && c; c = c->next) {
        if (!all && (cart_id ? strcmp(c->cart_id, cart_id) != 0 : !c->traces))
            continue;
        atomic_fetch_add(&c->refs, 1);
        v[k++] = c;
    }
    pthread_mutex_unlock(&s->chan_mu);
    *out = v;
    return k;
}

static void send_error(gw_chan *c, int status, const char *slug, const char *title, const char *detail,
                       const char *cmid, int retry_after)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "type", json_object_new_string("error"));
    json_object_object_add(o, "status", json_object_new_int(status));
    json_object_object_add(o, "code", json_object_new_string(slug));
    json_object_object_add(o, "title", json_object_new_string(title ? title : slug));
    if (detail && *detail)
        json_object_object_add(o, "detail", json_object_new_string(detail));
    if (cmid)
        json_object_object_add(o, "clientMsgId", json_object_new_string(cmid));
    if (retry_after > 0)
        json_object_object_add(o, "retryAfter", json_object_new_int(retry_after));
    send_obj(c, o);
}

void gw__chan_error(gw_chan *c, int status, const char *slug, const char *detail)
{
    send_error(c, status, slug, NULL, detail, NULL, 0);
}

gw_chan *gw__chan_open(gw_server *s, const gw_transport_ops *ops, void *tctx, const char *ip, const char *token)
{
    gw_chan *c = calloc(1, sizeof *c);
    if (!c) {
        ops->close(tctx, 1011, "out of memory");
        return NULL;
    }
    c->s = s, c->ops = ops, c->tctx = tctx;
    atomic_init(&c->refs, 1);
    pthread_mutex_init(&c->send_mu, NULL);
    snprintf(c->ip, sizeof c->ip, "%s", ip);
    if (token && *token) {
        int rc = gw__token_principal(s, token, &c->who);
        if (rc < 0) {
            send_error(c, 401, rc == GW_EEXPIRED ? "token-expired" : "invalid-token",
                       rc == GW_EEXPIRED ? "Token expired" : "Invalid token", NULL, NULL, 0);
            ops->close(tctx, 4401, "unauthorized");
            chan_unref(c);
            return NULL;
        }
    } else {
        char *tok = gw__session_token(s, &c->who);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "type", json_object_new_string("session"));
        json_object_object_add(o, "sessionId", json_object_new_string(c->who.sid));
        json_object_object_add(o, "sessionToken", json_object_new_string(tok ? tok : ""));
        free(tok);
        send_obj(c, o);
    }
    gw__cart_id(&c->who, c->cart_id, sizeof c->cart_id);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "type", json_object_new_string("hello"));
    json_object_object_add(o, "sessionId", json_object_new_string(c->who.sid));
    json_object_object_add(o, "userId", c->who.user_id ? json_object_new_int64(c->who.user_id) : NULL);
    json_object_object_add(o, "maxFrameBytes", json_object_new_int64(s->cfg.max_frame_bytes));
    send_obj(c, o);
    pthread_mutex_lock(&s->chan_mu);
    c->next = s->chans;
    s->chans = c;
    pthread_mutex_unlock(&s->chan_mu);
    gw__metrics_ws(s->metrics, 1);
    return c;
}

void gw__chan_closed(gw_chan *c)
{
    if (!c)
        return;
    gw_server *s = c->s;
    pthread_mutex_lock(&s->chan_mu);
    for (gw_chan **pp = &s->chans; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    if (c->traces)
        atomic_fetch_sub(&s->trace_subs, 1);
    pthread_mutex_unlock(&s->chan_mu);
    /* waits for a publisher's write in progress; none starts after */
    pthread_mutex_lock(&c->send_mu);
    c->closed = 1;
    pthread_mutex_unlock(&c->send_mu);
    gw__metrics_ws(s->metrics, -1);
    chan_unref(c);
}

void gw__chan_close_all(gw_server *s)
{
    gw_chan **v;
    size_t n = chans_take(s, NULL, 1, &v);
    for (size_t i = 0; i < n; i++) {
        pthread_mutex_lock(&v[i]->send_mu);
        if (!v[i]->closed)
            v[i]->ops->close(v[i]->tctx, 1001, "server shutting down");
        pthread_mutex_unlock(&v[i]->send_mu);
        chan_unref(v[i]);
    }
    free(v);
}

/* ---- events between instances ----
 * With a shared Redis every instance subscribes to one channel, "gw"; a
 * cart change or a turn's trace is fanned out here at once and published
 * as "INSTANCE cart CART_ID" or "INSTANCE trace JSON"; each instance
 * fans out what other instances published (its own messages come back
 * too and are skipped by the instance id). */
static void cart_local(gw_server *s, const char *cart_id, json_object *priced);
static void trace_local(gw_server *s, json_object *summary);

static void publish(gw_server *s, const char *kind, const char *body)
{
    if (!atomic_load(&s->ev_shared))
        return;
    size_t n = strlen(s->instance) + strlen(kind) + strlen(body) + 3;
    char *m = malloc(n);
    if (!m)
        return;
    snprintf(m, n, "%s %s %s", s->instance, kind, body);
    store_err e = {0};
    if (store_event_publish(s->st, "gw", m, strlen(m), &e) < 0) {
        json_object *f = json_object_new_object();
        json_object_object_add(f, "error", json_object_new_string(e.msg));
        gw__log("warn", "event_publish_failed", f);
    }
    free(m);
}

static void on_event(void *ud, const char *msg, size_t len)
{
    gw_server *s = ud;
    size_t il = strlen(s->instance);
    if (len > il && memcmp(msg, s->instance, il) == 0 && msg[il] == ' ')
        return;   /* ours: already delivered here */
    const char *sp = memchr(msg, ' ', len);
    if (!sp)
        return;
    const char *kind = sp + 1, *end = msg + len;
    if (end - kind > 5 && memcmp(kind, "cart ", 5) == 0) {
        char cid[256];
        size_t cl = (size_t)(end - kind - 5);
        if (cl == 0 || cl >= sizeof cid)
            return;
        memcpy(cid, kind + 5, cl);
        cid[cl] = '\0';
        cart_local(s, cid, NULL);
    } else if (end - kind > 6 && memcmp(kind, "trace ", 6) == 0) {
        json_tokener *tk = json_tokener_new();
        json_object *o = tk ? json_tokener_parse_ex(tk, kind + 6, (int)(end - kind - 6)) : NULL;
        if (tk)
            json_tokener_free(tk);
        if (o && json_object_is_type(o, json_type_object))
            trace_local(s, o);
        json_object_put(o);
    }
}

int gw__events_start(gw_server *s)
{
    gw__random_hex(s->instance, 8);
    store_err e = {0};
    int rc = store_event_subscribe(s->st, "gw", on_event, s, &s->ev_sub, &e);
    if (rc == STORE_ENOTSUP)
        return 0;   /* one instance: nothing to share */
    if (rc >= 0 && s->ev_sub)
        atomic_store(&s->ev_shared, true);
    return rc < 0 ? rc : 0;
}

void gw__events_stop(gw_server *s)
{
    atomic_store(&s->ev_shared, false);
    store_event_unsubscribe(s->st, s->ev_sub);
    s->ev_sub = NULL;
}

void gw__cart_changed(gw_server *s, const char *cart_id, json_object *priced)
{
    cart_local(s, cart_id, priced);
    publish(s, "cart", cart_id);
}

static void cart_local(gw_server *s, const char *cart_id, json_object *priced)
{
    gw_chan **v;
    size_t n = chans_take(s, cart_id, 0, &v);
    json_object *frame = NULL;
    if (n) {
        /* the turn's own cart when it has one (priced a moment ago for
         * the shopper who changed it); else priced as the chat prices
         * it, with the first channel's session (store I/O and Lua: never
         * under chan_mu) */
        json_object *cart = priced ? json_object_get(priced) : gw__cart_json(s, &v[0]->who);
        if (cart) {
            frame = json_object_new_object();
            json_object_object_add(frame, "type", json_object_new_string("cart"));
            json_object_object_add(frame, "cart", cart);
            eng_json_tidy_doubles(frame);
        }
    }
    const char *text = frame ? json_object_to_json_string_ext(frame, JSON_C_TO_STRING_PLAIN |
                                                                      JSON_C_TO_STRING_NOSLASHESCAPE)
                             : NULL;
    for (size_t i = 0; i < n; i++) {
        if (text)
            send_text(v[i], text);
        chan_unref(v[i]);
    }
    free(v);
    json_object_put(frame);
}

bool gw__chan_tracing(gw_server *s)
{
    /* both atomic: every turn asks, and used to take chan_mu for it (and
     * read ev_sub unlocked while the stop cleared it) */
    return atomic_load(&s->ev_shared) || atomic_load(&s->trace_subs) > 0;
}

void gw__chan_publish_trace(gw_server *s, json_object *summary)
{
    trace_local(s, summary);
    if (atomic_load(&s->ev_shared))
        publish(s, "trace", json_object_to_json_string_ext(summary, JSON_C_TO_STRING_PLAIN |
                                                                       JSON_C_TO_STRING_NOSLASHESCAPE));
}

static void trace_local(gw_server *s, json_object *summary)
{
    gw_chan **v;
    size_t n = chans_take(s, NULL, 0, &v);
    if (!n) {
        free(v);
        return;
    }
    json_object *frame = json_object_new_object();
    json_object_object_add(frame, "type", json_object_new_string("trace"));
    /* the summary is shared with the trace ring (read by other threads):
     * turn.c tidied it before sharing it, nothing writes it here */
    json_object_object_add(frame, "trace", json_object_get(summary));
    const char *text = json_object_to_json_string_ext(frame, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    for (size_t i = 0; i < n; i++) {
        send_text(v[i], text);
        chan_unref(v[i]);
    }
    free(v);
    json_object_put(frame);
}

static void on_delta(void *ud, const char *text, size_t len)
{
    gw_chan *c = ud;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "type", json_object_new_string("delta"));
    json_object_object_add(o, "text", json_object_new_string_len(text, (int)len));
    if (c->cur_cmid)
        json_object_object_add(o, "clientMsgId", json_object_new_string(c->cur_cmid));
    send_obj(c, o);
}

static void on_message(gw_chan *c, json_object *m)
{
    gw_server *s = c->s;
    const char *text = gw__jstr(m, "text"), *cmid = gw__jstr(m, "clientMsgId");
    if (!text) {
        send_error(c, 422, "validation", "Invalid field", "text (a string) is required.", cmid, 0);
        return;
    }
    int retry = gw__rate_take(s, c->ip, &c->who);
    if (retry > 0) {
        send_error(c, 429, "rate-limited", "Too many messages", NULL, cmid, retry);
        return;
    }
    c->cur_cmid = cmid;
    json_object *out = NULL;
    char *rec = NULL;
    int replayed = 0;
    int st = gw__turn(s, &c->who, text, cmid, on_delta, c, &out, &rec, &replayed);
    c->cur_cmid = NULL;
    if (st != 0) {
        send_error(c, st, gw__problem_slug(out), gw__jstr(out, "title"), gw__jstr(out, "detail"), cmid, st == 503 ? 1 : 0);
        json_object_put(out);
        free(rec);
        return;
    }
    /* the WebSocket reply flattens the REST answer's reply object: cut
     * from the answer's text when the driver printed it (frame.c) */
    char *ft = rec ? gw__reply_frame_text(rec, strlen(rec), cmid, replayed, NULL) : NULL;
    free(rec);
    if (ft) {
        send_text(c, ft);
        free(ft);
        json_object_put(out);
        return;
    }
    json_object *f = gw__reply_frame_obj(out, cmid, replayed);
    json_object_put(out);
    send_obj(c, f);
}

static void handle(gw_chan *c, const char *data, size_t len);

/* counted as busy so that shutdown waits until the reply frame is out */
void gw__chan_message(gw_chan *c, const char *data, size_t len)
{
    gw_server *s = c->s;
    pthread_mutex_lock(&s->turn_mu);
    s->busy++;
    pthread_mutex_unlock(&s->turn_mu);
    handle(c, data, len);
    pthread_mutex_lock(&s->turn_mu);
    s->busy--;
    pthread_cond_broadcast(&s->turn_cv);
    pthread_mutex_unlock(&s->turn_mu);
}

static void handle(gw_chan *c, const char *data, size_t len)
{
    if (!eng_utf8_valid(data, len) || memchr(data, 0, len)) {
        send_error(c, 400, "invalid-utf8", "Frame is not valid UTF-8", NULL, NULL, 0);
        c->ops->close(c->tctx, 1007, "invalid UTF-8");
        return;
    }
    json_tokener *tok = json_tokener_new_ex(16);
    json_object *m = tok ? json_tokener_parse_ex(tok, data, (int)len) : NULL;
    bool ok = tok && json_tokener_get_error(tok) == json_tokener_success && json_object_is_type(m, json_type_object);
    if (tok)
        json_tokener_free(tok);
    const char *type = ok ? gw__jstr(m, "type") : NULL;
    if (!ok)
        send_error(c, 400, "invalid-json", "Malformed frame", "Each frame is one JSON object.", NULL, 0);
    else if (!type)
        send_error(c, 400, "unknown-frame", "Frame without a type", NULL, NULL, 0);
    else if (strcmp(type, "message") == 0)
        on_message(c, m);
    else if (strcmp(type, "ping") == 0) {
        json_object *o = json_object_new_object(), *v;
        json_object_object_add(o, "type", json_object_new_string("pong"));
        if (json_object_object_get_ex(m, "id", &v))
            json_object_object_add(o, "id", json_object_get(v));
        send_obj(c, o);
    } else if (strcmp(type, "subscribe") == 0 || strcmp(type, "unsubscribe") == 0) {
        const char *topic = gw__jstr(m, "topic");
        bool sub = type[0] == 's';
        if (!topic || strcmp(topic, "traces") != 0)
            send_error(c, 400, "unknown-topic", "Unknown topic", "The topic is traces.", NULL, 0);
        else if (sub && !c->s->cfg.dev && strcmp(c->who.role, "admin") != 0)
            send_error(c, 403, "forbidden", "Admin role required", NULL, NULL, 0);
        else {
            pthread_mutex_lock(&c->s->chan_mu);
            atomic_fetch_add(&c->s->trace_subs, (sub ? 1 : 0) - (c->traces ? 1 : 0));
            c->traces = sub;
            pthread_mutex_unlock(&c->s->chan_mu);
            json_object *o = json_object_new_object();
            json_object_object_add(o, "type", json_object_new_string(sub ? "subscribed" : "unsubscribed"));
            json_object_object_add(o, "topic", json_object_new_string(topic));
            send_obj(c, o);
        }
    } else
        send_error(c, 400, "unknown-frame", "Unknown frame type", "Frames are message, ping, subscribe.", NULL, 0);
    json_object_put(m);
}

size_t gw__ws_close_payload(char *b, int code, const char *reason)
{
    size_t rl = reason ? strlen(reason) : 0;
    if (rl > 123)
        rl = 123;
    b[0] = (char)(code >> 8 & 0xff), b[1] = (char)(code & 0xff);
    if (rl)
        memcpy(b + 2, reason, rl);
    return rl + 2;
}
