/* engine/session.c — the conversation driver: carries a conversation's
 * state between turns through the session store, answers a resent message
 * id once, and builds the reply object every channel sends.  The gateway
 * (REST and WebSocket chat) and the command line (`aisle chat`, `run`,
 * `test`) all call eng_converse, so a test runs what the server runs; the
 * engine itself keeps nothing between turns.
 *
 * Replays: a message id is reserved with store_once_begin before the turn
 * and finished with the reply after it, so of any number of concurrent
 * sends of one id exactly one runs; the others poll the reservation and
 * answer with its result.  A holder that dies leaves a lease that runs
 * out, and then a retry runs the message. */
#include "pipe_int.h"
#include "stores/store.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

int eng_session_load(struct store *s, const char *sid, json_object **out, eng_err *err)
{
    *out = NULL;
    char *js = NULL;
    store_err se = {0};
    int rc = store_session_get(s, sid, &js, &se);
    if (rc == STORE_ENOTFOUND || (rc == 0 && !js)) {
        *out = json_object_new_object();
        return *out ? 0 : eng_err_set(err, ENG_ENOMEM, "out of memory");
    }
    if (rc < 0)
        return eng_err_set(err, ENG_EIO, "session store: %s", se.msg);
    json_object *o = json_tokener_parse(js);
    free(js);
    if (!o || !json_object_is_type(o, json_type_object)) {
        /* a damaged session is a fresh start, not an outage */
        json_object_put(o);
        o = json_object_new_object();
    }
    *out = o;
    return o ? 0 : eng_err_set(err, ENG_ENOMEM, "out of memory");
}

/* Appends "what: message" to the result's list of failed store writes. */
static void store_failed(char *buf, size_t n, const char *what, const char *msg)
{
    size_t l = strlen(buf);
    if (l < n)
        snprintf(buf + l, n - l, "%s%s: %s", l ? "; " : "", what, msg && *msg ? msg : "failed");
}

/* Saves the turn's session (counting the turn) and appends its summary to
 * the history.  Failures go to `failed` (both writes are tried). */
static void save_turn(struct store *s, const char *sid, const eng_turn *t, int ttl_s, const char *trace_id,
                      char *failed, size_t nfailed)
{
    json_object *ctx = eng_turn_context(t);
    json_object *sess = eng__json_path(ctx, "session");
    store_err se = {0};
    if (sess && json_object_is_type(sess, json_type_object)) {
        /* count turns: the order agent's confirmation guard reads it, and
         * derived message ids differ between turns */
        json_object_object_add(sess, "turns",
                               json_object_new_int64(json_object_get_int64(eng__json_path(sess, "turns")) + 1));
        if (store_session_put(s, sid, json_object_to_json_string_ext(sess, JSON_C_TO_STRING_PLAIN), ttl_s, &se) < 0)
            store_failed(failed, nfailed, "session not saved", se.msg);
    }
    json_object *turn = json_object_new_object();
    json_object_object_add(turn, "at", json_object_new_int64(store_now_ms(s)));
    json_object_object_add(turn, "messageId", json_object_get(eng__json_path(ctx, "message.id")));
    json_object_object_add(turn, "text", json_object_get(eng__json_path(ctx, "message.text")));
    json_object_object_add(turn, "intent", json_object_get(eng__json_path(ctx, "intent.name")));
    json_object_object_add(turn, "route", json_object_get(eng__json_path(ctx, "route")));
    json_object_object_add(turn, "reply", json_object_get(eng__json_path(ctx, "reply.text")));
    if (trace_id)
        json_object_object_add(turn, "traceId", json_object_new_string(trace_id));
    se.msg[0] = '\0';
    if (store_session_append_turn(s, sid, json_object_to_json_string_ext(turn, JSON_C_TO_STRING_PLAIN), &se) < 0)
        store_failed(failed, nfailed, "history not appended", se.msg);
    json_object_put(turn);
}

int eng_session_save(struct store *s, const char *sid, const eng_turn *t, int ttl_s, eng_err *err)
{
    char failed[512] = "";
    save_turn(s, sid, t, ttl_s, NULL, failed, sizeof failed);
    return failed[0] ? eng_err_set(err, ENG_EIO, "session store: %s", failed) : 0;
}

/* ---------------------------------------------------------------------
 * The reply object
 * ------------------------------------------------------------------ */
static json_object *copy_or(json_object *v, json_type want, json_object *def)
{
    if (v && json_object_is_type(v, want)) {
        json_object_put(def);
        return json_object_get(v);
    }
    return def;
}

/* What every channel sends, from the turn context; the cart is the
 * turn's when it carries one, else the shopper's cart priced as the chat
 * prices it (with the session after the turn). */
static json_object *reply_object(eng_pipeline *p, const eng_converse_opts *o, json_object *ctx,
                                 json_object *session, const char *trace_id)
{
    json_object *out = json_object_new_object();
    json_object_object_add(out, "sessionId", json_object_new_string(o->session_id));
    json_object *in = json_object_new_object();
    const char *iname = eng__json_str(ctx, "intent.name", NULL);
    json_object_object_add(in, "name", json_object_new_string(iname ? iname : "unknown"));
    json_object_object_add(in, "confidence",
                           json_object_new_double(json_object_get_double(eng__json_path(ctx, "intent.confidence"))));
    json_object_object_add(out, "intent", in);
    json_object *rep = json_object_new_object();
    json_object_object_add(rep, "text", json_object_new_string(eng__json_str(ctx, "reply.text", "")));
    json_object_object_add(rep, "cards",
                           copy_or(eng__json_path(ctx, "reply.cards"), json_type_array, json_object_new_array()));
    json_object_object_add(rep, "suggestions",
                           copy_or(eng__json_path(ctx, "reply.suggestions"), json_type_array, json_object_new_array()));
    json_object_object_add(out, "reply", rep);
    json_object *cart = eng__json_path(ctx, "cart");
    if (cart && json_object_is_type(cart, json_type_object) && eng__json_path(cart, "items")) {
        json_object_object_add(out, "cart", json_object_get(cart));
    } else {
        json_object *priced = NULL;
        if (o->deps && o->deps->store) {
            /* the commerce core's cart, as REST shows it */
            eng_shopper w = {.pipe = p, .store = o->deps->store, .session_id = o->session_id,
                             .session = session, .via = "chat",
                             .user_id = o->user_id ? strtoll(o->user_id, NULL, 10) : 0};
            eng_shop_result sr;
            if (eng_shop_cart(&w, &sr) == 0 && sr.status == ENG_SHOP_OK)
                priced = json_object_get(sr.cart);
            eng_shop_result_clear(&sr);
        }
        json_object_object_add(out, "cart", priced);   /* null without a store */
    }
    json_object_object_add(out, "actions",
                           copy_or(eng__json_path(ctx, "actions"), json_type_array, json_object_new_array()));
    json_object_object_add(out, "traceId", json_object_new_string(trace_id));
    eng_json_tidy_doubles(out);
    return out;
}

/* ---------------------------------------------------------------------
 * Doubles as short as they can be and still read back exactly
 * ------------------------------------------------------------------ */
void eng_json_tidy_doubles(json_object *o)
{
    switch (json_object_get_type(o)) {
    case json_type_double: {
        double d = json_object_get_double(o);
        if (!isfinite(d))
            break;   /* json-c's own NaN / Infinity */
        char b[48];
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(b, sizeof b, "%.*g", prec, d);
            if (strtod(b, NULL) == d)
                break;
        }
        size_t l = strlen(b);
        if (!strpbrk(b, ".e"))
            snprintf(b + l, sizeof b - l, ".0");   /* stays a double when read back, as json-c writes it */
        /* the text as json_object_new_double_s keeps it: a copy json-c
         * frees, and json_object_deep_copy knows how to copy */
        char *text = strdup(b);
        if (text)
            json_object_set_serializer(o, json_object_userdata_to_json_string, text, json_object_free_userdata);
        break;
    }
    case json_type_object: {
        json_object_object_foreach(o, k, v)
        {
            (void)k;
            eng_json_tidy_doubles(v);
        }
        break;
    }
    case json_type_array:
        for (size_t i = 0; i < json_object_array_length(o); i++)
            eng_json_tidy_doubles(json_object_array_get_idx(o, i));
        break;
    default:
        break;
    }
}

/* ---------------------------------------------------------------------
 * The driver
 * ------------------------------------------------------------------ */
static void random_hex(char *out, size_t nbytes)
{
    unsigned char b[32];
    if (nbytes > sizeof b)
        nbytes = sizeof b;
    size_t got = 0;
    while (got < nbytes) {
        ssize_t n = getrandom(b + got, nbytes - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got < nbytes) {
        /* no entropy source: unique enough for a trace id */
        static _Atomic unsigned long seq;
        uint64_t h = (uint64_t)eng_now_us() ^ ((uint64_t)++seq << 40);
        for (size_t i = got; i < nbytes; i++, h = h * 6364136223846793005ULL + 1442695040888963407ULL)
            b[i] = (unsigned char)(h >> 56);
    }
    for (size_t i = 0; i < nbytes; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static int fail(eng_converse_result *r, eng_converse_status st, eng_err *err, int code, const char *msg)
{
    r->status = st;
    return eng_err_set(err, code, "%s", msg);
}

static int check_message(const eng_converse_opts *o, eng_converse_result *r, eng_err *err)
{
    size_t tl = strlen(o->text);
    if (!eng_utf8_valid(o->text, tl))
        return fail(r, ENG_CONV_INVALID_UTF8, err, ENG_EINVAL, "The message is not valid UTF-8.");
    if (tl == 0 || strspn(o->text, " \t\r\n") == tl)
        return fail(r, ENG_CONV_EMPTY, err, ENG_EINVAL, "text must not be empty.");
    if (o->max_message_bytes && tl > o->max_message_bytes)
        return fail(r, ENG_CONV_TOO_LONG, err, ENG_EINVAL, "The message is over the size limit.");
    if (o->message_id) {
        size_t cl = strlen(o->message_id);
        int ok = cl > 0 && cl <= 64;
        for (size_t i = 0; ok && i < cl; i++)
            ok = o->message_id[i] > 32 && o->message_id[i] < 127;
        if (!ok)
            return fail(r, ENG_CONV_BAD_ID, err, ENG_EINVAL, "A message id is 1-64 printable ASCII characters.");
    }
    return 0;
}

/* Reserves the message id, or answers from its first result.  Returns 0
 * with *reserved = 1 (run it), 0 with r->reply set (replayed), or an
 * error. */
static int reserve(struct store *s, const char *key, long wait_ms, long lease_ms, eng_converse_result *r,
                   int *reserved, eng_err *err)
{
    *reserved = 0;
    int64_t until = eng_now_us() + (int64_t)wait_ms * 1000;
    long nap = 2;
    for (;;) {
        char *first = NULL;
        store_err se = {0};
        int rc = store_once_begin(s, key, (int)lease_ms, &first, &se);
        if (rc == 0) {
            *reserved = 1;
            return 0;
        }
        if (rc == STORE_EEXIST) {
            json_object *o = first ? json_tokener_parse(first) : NULL;
            free(first);
            if (!o || !json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return fail(r, ENG_CONV_FAILED, err, ENG_EIO, "the first answer to this message is unreadable");
            }
            eng_json_tidy_doubles(o);
            r->reply = o;
            r->replayed = 1;
            snprintf(r->trace_id, sizeof r->trace_id, "%s", eng__json_str(o, "traceId", ""));
            return 0;
        }
        free(first);
        if (rc != STORE_EBUSY) {
            r->status = ENG_CONV_FAILED;
            return eng_err_set(err, ENG_EIO, "replay store: %s", se.msg[0] ? se.msg : "failed");
        }
        /* the same message is being answered now: wait for its result */
        if (eng_now_us() >= until)
            return fail(r, ENG_CONV_BUSY, err, ENG_ETIMEDOUT,
                        "This message is still being answered; send it again in a moment.");
        sleep_ms(nap);
        if (nap < 50)
            nap *= 2;
    }
}

int eng_converse(eng_pipeline *p, const eng_converse_opts *o, eng_converse_result *r, eng_err *err)
{
    memset(r, 0, sizeof *r);
    if (!p || !o || !o->text || !o->session_id)
        return fail(r, ENG_CONV_FAILED, err, ENG_EINVAL, "eng_converse needs a pipeline, a text and a session id");
    int rc = check_message(o, r, err);
    if (rc < 0)
        return rc;
    struct store *st = o->deps ? o->deps->store : NULL;
    long dl = o->deadline_ms > 0 ? (long)o->deadline_ms : p->deadline_ms;
    if (o->trace_id)
        snprintf(r->trace_id, sizeof r->trace_id, "%s", o->trace_id);
    else
        random_hex(r->trace_id, 16);

    char key[256] = "";
    if (st && o->message_id) {
        snprintf(key, sizeof key, "cmsg:%s:%s", o->session_id, o->message_id);
        int reserved = 0;
        /* a duplicate waits as long as a turn may take, plus its saves */
        rc = reserve(st, key, dl + 2000, 2 * dl + 5000, r, &reserved, err);
        if (rc < 0 || !reserved)
            return rc;
    }

    json_object *sess = NULL;
    if (st) {
        rc = eng_session_load(st, o->session_id, &sess, err);
        if (rc < 0) {
            r->status = ENG_CONV_FAILED;
            goto abort;
        }
    } else {
        sess = o->session ? json_object_get(o->session) : json_object_new_object();
    }
    eng_turn_opts to = {
        .session_id = o->session_id, .message_id = o->message_id, .user_id = o->user_id,
        .session = sess, .deadline_ms = o->deadline_ms, .deps = o->deps,
        .on_delta = o->on_delta, .delta_ud = o->delta_ud,
    };
    int64_t t0 = eng_now_us();
    rc = eng_run(p, o->text, &to, &r->turn, err);
    r->elapsed_us = eng_now_us() - t0;
    json_object_put(sess);
    if (rc < 0) {
        r->status = rc == ENG_EINVAL ? ENG_CONV_REFUSED : ENG_CONV_FAILED;
        goto abort;
    }
    json_object *ctx = eng_turn_context(r->turn);
    /* session state goes back before the reply leaves: the next message
     * may land on another instance */
    if (st) {
        save_turn(st, o->session_id, r->turn, o->session_ttl_s, r->trace_id, r->store_error,
                  sizeof r->store_error);
    } else {
        json_object *ns = eng__json_path(ctx, "session");
        if (ns && json_object_is_type(ns, json_type_object))
            json_object_object_add(ns, "turns",
                                   json_object_new_int64(json_object_get_int64(eng__json_path(ns, "turns")) + 1));
    }
    json_object *ns = eng__json_path(ctx, "session");
    r->session = ns && json_object_is_type(ns, json_type_object) ? json_object_get(ns) : NULL;
    r->reply = reply_object(p, o, ctx, r->session, r->trace_id);
    if (!r->reply) {
        rc = eng_err_set(err, ENG_ENOMEM, "out of memory");
        r->status = ENG_CONV_FAILED;
        goto abort;
    }
    if (key[0]) {
        store_err se = {0};
        const char *js = json_object_to_json_string_ext(r->reply, JSON_C_TO_STRING_PLAIN);
        if (store_once_finish(st, key, js, o->replay_ttl_s > 0 ? o->replay_ttl_s : 86400, &se) < 0)
            store_failed(r->store_error, sizeof r->store_error, "replay record not kept", se.msg);
    }
    r->status = ENG_CONV_OK;
    return 0;

abort:
    if (key[0])
        store_once_abort(st, key, NULL);
    return rc;
}

void eng_converse_result_clear(eng_converse_result *r)
{
    if (!r)
        return;
    eng_turn_free(r->turn);
    json_object_put(r->reply);
    json_object_put(r->session);
    memset(r, 0, sizeof *r);
}
