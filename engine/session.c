/* engine/session.c — the conversation driver: carries a conversation's
 * state between turns through the session store, answers a resent message
 * id once, and builds the reply object every channel sends.  The gateway
 * (REST and WebSocket chat) and the command line (`aisle chat`, `run`,
 * `test`) all call eng_converse, so a test runs what the server runs; the
 * engine itself keeps nothing between turns.
 *
 * Replays (docs/stores.md, "One write a chat turn"): a message id is
 * looked up (a read) before the turn; a kept answer is sent again, one in
 * flight is waited for.  The turn then runs without a reservation.  Its
 * changes to the shop belong to one attempt: before the first of them the
 * turn claims the id (store_once_begin), and a claim that finds the id
 * taken refuses them all and answers with the first attempt's reply.  A
 * turn that changed nothing keeps its answer with store_session_save_once,
 * the replay record, session and history in one write that only the first
 * answer makes.  A holder that dies leaves a lease that runs out, and then
 * a retry runs the message. */
#include "pipe_int.h"
#include "stores/store.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

/* The session `sid` from its stored text `js` (taken; NULL: none kept):
 * the memo's copy when js is the text this process saved last
 * (engine/session_memo.c), else parsed. */
static int session_parse(const char *sid, char *js, json_object **out, eng_err *err)
{
    if (!js) {
        *out = json_object_new_object();
        return *out ? 0 : eng_err_set(err, ENG_ENOMEM, "out of memory");
    }
    json_object *o = eng__session_memo_take(sid, js, strlen(js));
    if (!o)
        o = json_tokener_parse(js);
    free(js);
    if (!o || !json_object_is_type(o, json_type_object)) {
        /* a damaged session is a fresh start, not an outage */
        json_object_put(o);
        o = json_object_new_object();
    }
    *out = o;
    return o ? 0 : eng_err_set(err, ENG_ENOMEM, "out of memory");
}

int eng_session_load(struct store *s, const char *sid, json_object **out, eng_err *err)
{
    *out = NULL;
    char *js = NULL;
    store_err se = {0};
    int rc = store_session_get(s, sid, &js, &se);
    if (rc < 0 && rc != STORE_ENOTFOUND)
        return eng_err_set(err, ENG_EIO, "session store: %s", se.msg);
    return session_parse(sid, rc == 0 ? js : NULL, out, err);
}

/* Appends "what: message" to the result's list of failed store writes. */
static void store_failed(char *buf, size_t n, const char *what, const char *msg)
{
    size_t l = strlen(buf);
    if (l < n)
        snprintf(buf + l, n - l, "%s%s: %s", l ? "; " : "", what, msg && *msg ? msg : "failed");
}

/* The intent the turn was read as, for the next turn ("and one of the
 * first one too" goes on with an add), and the knowledge section that
 * answered it, if one did. */
static void remember_intent(json_object *ctx, json_object *sess)
{
    json_object *in = eng__json_path(ctx, "intent.name");
    if (in && json_object_is_type(in, json_type_string))
        ENG_JADD(sess, "lastIntent", json_object_get(in));
    else
        json_object_object_del(sess, "lastIntent");
    /* the section of the shop's text that answered, for "what about
     * canada?" right after "do you deliver to australia" */
    json_object *kb = eng__json_path(ctx, "vars.knowledge.title");
    if (kb && json_object_is_type(kb, json_type_string))
        ENG_JADD(sess, "lastKnowledge", json_object_get(kb));
    else
        json_object_object_del(sess, "lastKnowledge");
}

/* A turn's session and history entry, ready to write: save_prepare
 * counts the turn in the context's session (what the reply is built from
 * sees it) and prints both; save_write writes them, alone or with the
 * message's replay record. */
typedef struct {
    json_object *turn;           /* the history entry (owned; its text is written) */
    char *sess_js;               /* the session's text (malloc'd), NULL: none */
    int oom;                     /* a session, but no memory for its text */
    const char *sid;
    int ttl_s;
} pending_save;

static void save_prepare(const char *sid, const eng_turn *t, int ttl_s, const char *trace_id,
                         struct store *s, pending_save *ps)
{
    json_object *ctx = eng_turn_context(t);
    json_object *sess = eng__json_path(ctx, "session");
    json_object *turn = json_object_new_object();
    ENG_JADD(turn, "at", json_object_new_int64(store_now_ms(s)));
    ENG_JADD(turn, "messageId", json_object_get(eng__json_path(ctx, "message.id")));
    ENG_JADD(turn, "text", json_object_get(eng__json_path(ctx, "message.text")));
    ENG_JADD(turn, "intent", json_object_get(eng__json_path(ctx, "intent.name")));
    ENG_JADD(turn, "route", json_object_get(eng__json_path(ctx, "route")));
    ENG_JADD(turn, "reply", json_object_get(eng__json_path(ctx, "reply.text")));
    if (trace_id)
        ENG_JADD(turn, "traceId", json_object_new_string(trace_id));
    ps->turn = turn, ps->sid = sid, ps->ttl_s = ttl_s, ps->sess_js = NULL, ps->oom = 0;
    if (sess && json_object_is_type(sess, json_type_object)) {
        /* count turns: the order agent's confirmation guard reads it, and
         * derived message ids differ between turns */
        ENG_JADD(sess, "turns",
                               json_object_new_int64(json_object_get_int64(eng__json_path(sess, "turns")) + 1));
        remember_intent(ctx, sess);
        /* the session as the turn left it, whatever reads it next */
        size_t len = 0;
        char *js = eng__json_print(sess, JSON_C_TO_STRING_PLAIN, &len);
        ps->sess_js = js;
        ps->oom = !js;
        /* the next turn of this session reads this text back: it gets
         * the session as read from it without parsing it (a copy made
         * now, before the reply's tidying touches shared doubles) */
        if (js)
            eng__session_memo_put(sid, js, len, sess);
    }
}

/* Writes a prepared save (store_session_save: on SQLite one group commit,
 * shared with other turns' writes), and with key set the message's
 * replay record `result` in the same write (store_session_save_replay).
 * Returns only when written: the next message may land on another
 * instance.  Failures go to `failed`.  Releases ps. */
static void save_write(struct store *s, pending_save *ps, const char *key, const char *result, int once_ttl_s,
                       char *failed, size_t nfailed)
{
    store_err se = {0}, oe = {0};
    char *turn_js = eng__json_print(ps->turn, JSON_C_TO_STRING_PLAIN, NULL);
    if (ps->oom || !turn_js) {
        store_failed(failed, nfailed, "session and history not saved", "out of memory");
        if (key && store_once_finish(s, key, result, once_ttl_s, &oe) < 0)
            store_failed(failed, nfailed, "replay record not kept", oe.msg);
    } else if (ps->sess_js) {
        const char *sess_js = ps->sess_js;
        int orc = 0;
        int rc = key ? store_session_save_replay(s, ps->sid, sess_js, ps->ttl_s, turn_js, key, result, once_ttl_s,
                                                 &orc, &oe, &se)
                     : store_session_save(s, ps->sid, sess_js, ps->ttl_s, turn_js, &se);
        if (rc < 0)
            store_failed(failed, nfailed, "session and history not saved", se.msg);
        if (orc < 0)
            store_failed(failed, nfailed, "replay record not kept", oe.msg);
    } else {
        if (store_session_append_turn(s, ps->sid, turn_js, &se) < 0)
            store_failed(failed, nfailed, "history not appended", se.msg);
        if (key && store_once_finish(s, key, result, once_ttl_s, &oe) < 0)
            store_failed(failed, nfailed, "replay record not kept", oe.msg);
    }
    free(turn_js);
    json_object_put(ps->turn);
    free(ps->sess_js);
    memset(ps, 0, sizeof *ps);
}

/* Writes a prepared save as the message's first answer
 * (store_session_save_once: record, session and history in one write, or
 * none of them).  Returns 0 (written, or failed: in `failed`),
 * STORE_EEXIST with *first the kept answer, STORE_EBUSY (another attempt
 * holds the id).  Releases ps. */
static int save_write_once(struct store *s, pending_save *ps, const char *key, const char *result,
                           int once_ttl_s, char **first, char *failed, size_t nfailed)
{
    store_err se = {0};
    char *turn_js = eng__json_print(ps->turn, JSON_C_TO_STRING_PLAIN, NULL);
    int rc = 0;
    if (ps->oom || !turn_js || !ps->sess_js)
        store_failed(failed, nfailed, "session, history and replay record not saved", "out of memory");
    else if ((rc = store_session_save_once(s, ps->sid, ps->sess_js, ps->ttl_s, turn_js, key, result, once_ttl_s,
                                           first, &se)) < 0 &&
             rc != STORE_EEXIST && rc != STORE_EBUSY) {
        store_failed(failed, nfailed, "session, history and replay record not saved", se.msg);
        rc = 0;
    }
    free(turn_js);
    json_object_put(ps->turn);
    free(ps->sess_js);
    memset(ps, 0, sizeof *ps);
    return rc;
}

/* Saves the turn's session (counting the turn) and appends its summary to
 * the history, as one store write.  A failure goes to `failed`. */
static void save_turn(struct store *s, const char *sid, const eng_turn *t, int ttl_s, const char *trace_id,
                      char *failed, size_t nfailed)
{
    pending_save ps;
    save_prepare(sid, t, ttl_s, trace_id, s, &ps);
    save_write(s, &ps, NULL, NULL, 0, failed, nfailed);
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

/* What the page may do beside the text, so that no channel reads it out
 * of the words: needsLogin (the turn needs a signed-in shopper),
 * confirmation {kind, question} (a question this turn asked, answered by
 * yes or no next turn: kind is the pending action's type), uiActions
 * [{type, label, ...}] (open_checkout with delivery? and address?,
 * sign_in, show_cart). */
static void reply_ui(json_object *ctx, json_object *session, json_object *rep)
{
    bool login = json_object_get_boolean(eng__json_path(ctx, "vars.needLogin"));
    ENG_JADD(rep, "needsLogin", json_object_new_boolean(login));
    json_object *p = eng__json_path(session, "pending");
    json_object *conf = NULL;
    const char *mid = eng__json_str(ctx, "message.id", NULL);
    /* asked by this very message: a new question ("id"), or the same
     * one asked again ("asked"); one that waits for a missing fact
     * ("wanted": the address's city ...) is not a yes/no question */
    if (p && mid && !eng__json_path(p, "wanted") &&
        strcmp(eng__json_str(p, "asked", eng__json_str(p, "id", "")), mid) == 0) {
        conf = json_object_new_object();
        ENG_JADD(conf, "kind", json_object_new_string(eng__json_str(p, "type", "")));
        ENG_JADD(conf, "question", json_object_new_string(eng__json_str(ctx, "reply.text", "")));
    }
    ENG_JADD(rep, "confirmation", conf);
    json_object *acts = copy_or(eng__json_path(ctx, "ui.actions"), json_type_array, json_object_new_array());
    if (login) {
        json_object *a = json_object_new_object();
        ENG_JADD(a, "type", json_object_new_string("sign_in"));
        ENG_JADD(a, "label", json_object_new_string("Sign in"));
        json_object_array_add(acts, a);
    }
    ENG_JADD(rep, "uiActions", acts);
}

/* What every channel sends, from the turn context; the cart is the
 * turn's when it carries one, else the shopper's cart priced as the chat
 * prices it (with the session after the turn). */
static json_object *reply_object(eng_pipeline *p, const eng_converse_opts *o, json_object *ctx,
                                 json_object *session, const char *trace_id)
{
    json_object *out = json_object_new_object();
    ENG_JADD(out, "sessionId", json_object_new_string(o->session_id));
    json_object *in = json_object_new_object();
    const char *iname = eng__json_str(ctx, "intent.name", NULL);
    ENG_JADD(in, "name", json_object_new_string(iname ? iname : "unknown"));
    ENG_JADD(in, "confidence",
                           json_object_new_double(json_object_get_double(eng__json_path(ctx, "intent.confidence"))));
    ENG_JADD(out, "intent", in);
    json_object *rep = json_object_new_object();
    ENG_JADD(rep, "text", json_object_new_string(eng__json_str(ctx, "reply.text", "")));
    ENG_JADD(rep, "cards",
                           copy_or(eng__json_path(ctx, "reply.cards"), json_type_array, json_object_new_array()));
    ENG_JADD(rep, "suggestions",
                           copy_or(eng__json_path(ctx, "reply.suggestions"), json_type_array, json_object_new_array()));
    reply_ui(ctx, session, rep);
    ENG_JADD(out, "reply", rep);
    json_object *cart = eng__json_path(ctx, "cart");
    if (cart && json_object_is_type(cart, json_type_object) && eng__json_path(cart, "items")) {
        ENG_JADD(out, "cart", json_object_get(cart));
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
        ENG_JADD(out, "cart", priced);   /* null without a store */
    }
    ENG_JADD(out, "actions",
                           copy_or(eng__json_path(ctx, "actions"), json_type_array, json_object_new_array()));
    ENG_JADD(out, "traceId", json_object_new_string(trace_id));
    eng_json_tidy_doubles(out);
    return out;
}

/* ---------------------------------------------------------------------
 * Doubles as short as they can be and still read back exactly
 * ------------------------------------------------------------------ */

/* A whole number of cents below 1e12 (prices, ratings, percentages:
 * nearly every double a reply holds, a hundred in a page of products)
 * written without printf.  d is then the double nearest to c/100, which
 * has at most 14 significant digits, so "%.15g" below prints exactly
 * those digits and reads back as d: the same text.  False for any other
 * double. */
static bool cents_text(double d, char *b, size_t n)
{
    if (d == 0) {
        snprintf(b, n, "%s", signbit(d) ? "-0.0" : "0.0");
        return true;
    }
    if (!(fabs(d) < 1e12))
        return false;
    long long c = llround(d * 100);
    if ((double)c / 100 != d)
        return false;
    unsigned long long u = c < 0 ? (unsigned long long)-c : (unsigned long long)c;
    char tmp[32];
    size_t k = sizeof tmp;
    unsigned f = (unsigned)(u % 100);
    /* the fraction: ".0", one digit, or two */
    if (f == 0) {
        tmp[--k] = '0';
    } else if (f % 10 == 0) {
        tmp[--k] = (char)('0' + f / 10);
    } else {
        tmp[--k] = (char)('0' + f % 10);
        tmp[--k] = (char)('0' + f / 10);
    }
    tmp[--k] = '.';
    u /= 100;
    do {
        tmp[--k] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (c < 0)
        tmp[--k] = '-';
    if (sizeof tmp - k >= n)
        return false;
    memcpy(b, tmp + k, sizeof tmp - k);
    b[sizeof tmp - k] = '\0';
    return true;
}

void eng_json_tidy_doubles(json_object *o)
{
    switch (json_object_get_type(o)) {
    case json_type_double: {
        /* a text of its own already: tidied before, or the number as it
         * was read (json-c's parser keeps it); either reads back exactly */
        if (json_object_get_userdata(o))
            break;
        double d = json_object_get_double(o);
        if (!isfinite(d))
            break;   /* json-c's own NaN / Infinity */
        char b[48];
        if (!cents_text(d, b, sizeof b))
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
void eng__random_hex(char *out, size_t nbytes)
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

/* Answers from the message's first result `first` (taken). */
static int answer_first(char *first, eng_converse_result *r, eng_err *err)
{
    json_object *o = first ? json_tokener_parse(first) : NULL;
    if (!o || !json_object_is_type(o, json_type_object)) {
        free(first);
        json_object_put(o);
        return fail(r, ENG_CONV_FAILED, err, ENG_EIO, "the first answer to this message is unreadable");
    }
    free(r->reply_text);
    r->reply_text = first;
    eng_json_tidy_doubles(o);
    /* an attempt that lost the message to another is dropped whole */
    eng_turn_free(r->turn);
    json_object_put(r->session);
    json_object_put(r->reply);
    r->turn = NULL;
    r->session = NULL;
    r->store_error[0] = '\0';
    r->reply = o;
    r->replayed = 1;
    snprintf(r->trace_id, sizeof r->trace_id, "%s", eng__json_str(o, "traceId", ""));
    return 0;
}

/* Looks the message id up (reads only): 0 with *done = 0 when nothing is
 * kept for it (run it: *sess_js is the session read with it, malloc'd
 * or NULL for none); 0 with *done = 1 and r->reply set when answered
 * (replayed); waits until `until_us` while another attempt holds it; or
 * an error. */
static int await_first(struct store *s, const char *key, const char *sid, int64_t until_us,
                       eng_converse_result *r, int *done, char **sess_js, eng_err *err)
{
    *done = 0;
    *sess_js = NULL;
    long nap = 2;
    for (;;) {
        char *first = NULL;
        store_err se = {0};
        int rc = store_session_get_replay(s, sid, key, sess_js, &first, &se);
        if (rc == 0)
            return 0;
        if (rc == STORE_EEXIST) {
            *done = 1;
            return answer_first(first, r, err);
        }
        free(first);
        if (rc != STORE_EBUSY) {
            r->status = ENG_CONV_FAILED;
            return eng_err_set(err, ENG_EIO, "replay store: %s", se.msg[0] ? se.msg : "failed");
        }
        /* the same message is being answered now: wait for its result */
        if (eng_now_us() >= until_us)
            return fail(r, ENG_CONV_BUSY, err, ENG_ETIMEDOUT,
                        "This message is still being answered; send it again in a moment.");
        sleep_ms(nap);
        if (nap < 50)
            nap *= 2;
    }
}

/* The claim of one attempt at a message: the id reserved
 * (store_once_begin) before its first change to the shop, so that the
 * changes of one message come from one attempt. */
typedef struct claim {
    struct store *s;
    const char *key;
    long lease_ms;
    int state;        /* CLAIM_* */
    int rc;           /* store_once_begin's code when lost */
    char *first;      /* STORE_EEXIST: the first answer (malloc'd) */
    char msg[256];    /* the store's error when lost to one */
} claim;
enum { CLAIM_NONE, CLAIM_HELD, CLAIM_LOST };

static int claim_take(void *ud)
{
    claim *c = ud;
    if (c->state != CLAIM_NONE)
        return c->state == CLAIM_HELD ? 0 : -1;
    store_err se = {0};
    c->rc = store_once_begin(c->s, c->key, (int)c->lease_ms, &c->first, &se);
    c->state = c->rc == 0 ? CLAIM_HELD : CLAIM_LOST;
    if (c->rc < 0)
        snprintf(c->msg, sizeof c->msg, "%s", se.msg[0] ? se.msg : "failed");
    return c->rc == 0 ? 0 : -1;
}

/* After an attempt lost its claim: 0 with *again set (wait for the other
 * attempt and answer with its result), 0 with the first answer, or the
 * store's error. */
static int claim_lost(claim *c, eng_converse_result *r, int *again, eng_err *err)
{
    if (c->rc == STORE_EEXIST) {
        char *first = c->first;
        c->first = NULL;
        return answer_first(first, r, err);
    }
    if (c->rc == STORE_EBUSY) {
        *again = 1;
        return 0;
    }
    r->status = ENG_CONV_FAILED;
    return eng_err_set(err, ENG_EIO, "replay store: %s", c->msg);
}

/* ---------------------------------------------------------------------
 * Several requests in one message
 *
 * "add the first one and show me my cart", "add it and checkout": the
 * message is cut where a connective ("and", "then", "but", ", ", "&") is
 * followed by the verb of a request, and each part runs as a turn of its
 * own, in order, with the state the part before left.  A cut is made only
 * when every part, run alone without a store (so without effects), is a
 * request the pipeline knows and not two searches ("show me black and
 * white shoes" stays one), and a later part runs only when the one
 * before it asked no question and changed nothing it was unsure of:
 * "add it" that must ask which one stops there.
 * ------------------------------------------------------------------ */
#define MAX_PARTS 3

static const char *const connectives[] = {
    ", and then ", " and then ", ", then ", " then ", " and also ", ", and ", " and ", " & ", " + ", "; ",
    /* "add another kiwi but remove the lipstick" */
    ", but ", " but ", ", ",
};

/* Verbs (and question openings) that start a request of their own. */
static const char *const request_starts[] = {
    "show", "tell", "add", "put", "throw", "toss", "pop", "chuck", "stick", "bung", "shove", "grab", "take",
    "remove", "delete", "drop", "empty", "clear",
    "checkout", "check out", "buy", "order", "place", "apply", "use code", "use promo", "whats in", "what's in",
    "what is in", "where is", "where's", "wheres", "how much", "how long", "how do", "how can", "give me",
    "find", "search", "look for", "list", "compare", "sort", "go to", "proceed", "cancel", "track", "view",
    "open my", "see my", "let me see", "get me", "pay", "do you", "can i", "can you", "what about", "whats your",
    "what's your", "what is your", "make the", "make my", "set the", "change the",
};

static int word_at(const char *s, const char *w)
{
    size_t n = strlen(w);
    if (strncasecmp(s, w, n) != 0)
        return 0;
    return s[n] == '\0' || s[n] == ' ' || s[n] == ',' || s[n] == '.' || s[n] == '!' || s[n] == '?';
}

static int starts_request(const char *s)
{
    while (*s == ' ')
        s++;
    for (const char *skip[] = {"please ", "pls ", "plz ", "also ", "then ", "and ", "now ", "just ", NULL}, **k = skip;
         *k; k++)
        if (strncasecmp(s, *k, strlen(*k)) == 0) {
            s += strlen(*k);
            k = skip - 1;   /* "then please show" */
        }
    for (size_t i = 0; i < sizeof request_starts / sizeof *request_starts; i++)
        if (word_at(s, request_starts[i]))
            return 1;
    return 0;
}

/* The intent `text` gets on its own, run without a store or an LLM (no
 * effects, nothing saved); "" when it cannot tell. */
static void preview_intent(eng_pipeline *p, const char *text, char *out, size_t n)
{
    out[0] = '\0';
    eng_turn *t = NULL;
    eng_err e = {0};
    eng_deps none = {0};
    eng_turn_opts to = {.session_id = "preview", .message_id = "preview", .deps = &none};
    if (eng_run(p, text, &to, &t, &e) == 0 && t)
        snprintf(out, n, "%s", eng__json_str(eng_turn_context(t), "intent.name", ""));
    eng_turn_free(t);
}

/* An intent about products or the cart (not a question the shop's text
 * or the order desk answers). */
/* Whether `intent` is one of the NULL-ended `kinds`. */
static bool intent_in(const char *intent, const char *const *kinds)
{
    for (size_t i = 0; kinds[i]; i++)
        if (strcmp(intent, kinds[i]) == 0)
            return true;
    return false;
}

static bool commerce_intent(const char *intent)
{
    static const char *const kinds[] = {"search_product", "refine_search", "product_details", "compare",
                                        "recommend", "add_to_cart", "remove_from_cart", "update_quantity",
                                        "view_cart", "empty_cart", "apply_promo", NULL};
    return intent_in(intent, kinds);
}

/* `s` past a word of chat it opens with ("ok add it", "right, add it"). */
static const char *past_chat(const char *s)
{
    static const char *const chat[] = {"ok ", "okay ", "ok, ", "okay, ", "right ", "right, ", "great ", "great, ",
                                       "cool ", "cool, ", "perfect ", "perfect, ", "nice ", "nice, ", "alright ",
                                       "alright, ", "sure ", "sure, ", NULL};
    for (size_t i = 0; chat[i]; i++)
        if (strncasecmp(s, chat[i], strlen(chat[i])) == 0)
            return s + strlen(chat[i]);
    return s;
}

/* An intent that changes the cart. */
static bool is_change(const char *intent)
{
    static const char *const kinds[] = {"add_to_cart", "remove_from_cart", "update_quantity", "empty_cart",
                                        "apply_promo", NULL};
    return intent_in(intent, kinds);
}

static int is_search(const char *intent)
{
    return strcmp(intent, "search_product") == 0 || strcmp(intent, "refine_search") == 0 ||
           strcmp(intent, "recommend") == 0;
}

/* Is a model planning this pipeline's turns (an llm_agent stage and a
 * configured LLM)? */
static bool agent_mode(const eng_pipeline *p, const eng_converse_opts *o)
{
    if (!o->deps || !o->deps->llm)
        return false;
    for (size_t i = 0; i < p->nstages; i++)
        if (p->stages[i].type == &eng__stage_llm_agent)
            return true;
    return false;
}

/* The answer to a question that `s` opens with ("yes", "nope", "ok"):
 * its length, or 0. */
static size_t answer_word(const char *s)
{
    static const char *const answers[] = {"yes", "yeah", "yep", "yup", "sure", "ok", "okay", "no", "nope", "nah",
                                          NULL};
    for (size_t i = 0; answers[i]; i++)
        if (word_at(s, answers[i]))
            return strlen(answers[i]);
    return 0;
}

/* "ok", "sure": a yes only before a checkout ("ok now checkout" right
 * after "shall I remove the chanel?"); before anything else ("ok show me
 * sunglasses") it may be chat, and the question is left to the agents. */
static bool weak_answer(const char *s, const char *rest)
{
    static const char *const weak[] = {"ok", "okay", "sure", NULL};
    static const char *const checkout[] = {"checkout", "check out", "pay", NULL};
    bool is_weak = false, to_checkout = false;
    for (size_t i = 0; weak[i]; i++)
        is_weak |= word_at(s, weak[i]) != 0;
    for (size_t i = 0; checkout[i]; i++)
        to_checkout |= word_at(rest, checkout[i]) != 0;
    return is_weak && !to_checkout;
}

/* "yes and then checkout", "ok now checkout", "no, show me my cart":
 * an answer to the question asked, then a request of its own. The
 * offset where the request starts (after the answer and a connective
 * word), or 0. */
static size_t after_answer(const char *text)
{
    size_t n = answer_word(text);
    if (!n)
        return 0;
    const char *s = text + n;
    static const char *const joins[] = {" and then ", " then ", " and ", " now ", " so ", ", ", " ", NULL};
    while (*s == ',' || *s == '.' || *s == '!')
        s++;
    for (size_t i = 0; joins[i]; i++)
        if (strncasecmp(s, joins[i], strlen(joins[i])) == 0) {
            s += strlen(joins[i]);
            break;
        }
    return starts_request(s) ? (size_t)(s - text) : 0;
}

/* "yes", "yeah", "ok": an answer that agrees. */
static bool agrees(const char *s)
{
    static const char *const no[] = {"no", "nope", "nah", NULL};
    for (size_t i = 0; no[i]; i++)
        if (word_at(s, no[i]))
            return false;
    return answer_word(s) > 0;
}

/* An intent of looking, not of doing: "yes, show me cheaper ones" after
 * "shall I add the laptop?" is still looking, and its "yes" no add. */
static bool browsing(const char *intent)
{
    static const char *const kinds[] = {"search_product", "refine_search", "recommend", "compare",
                                        "product_details", NULL};
    return intent_in(intent, kinds);
}

/* After a "yes": words that say the yes again ("yes place the order",
 * "yes, go ahead"), not a request of their own. */
static bool restates(const char *s)
{
    static const char *const again[] = {"place", "confirm", "go ahead", "do it", "buy", "proceed", "please",
                                        NULL};
    for (size_t i = 0; again[i]; i++)
        if (word_at(s, again[i]))
            return true;
    return false;
}

/* Greetings said before a request ("hello, ...", "good evening. ..."). */
static const char *const greetings[] = {"hello", "hi", "hey", "hiya", "heya", "hi there", "hello there",
                                        "hey there", "good morning", "good afternoon", "good evening", "morning",
                                        "evening", "howdy", "greetings", "yo", NULL};

/* Cuts `text` into parts (copies in parts[], freed by the caller);
 * returns how many (1: not cut, parts[0] NULL, or the request past a
 * greeting in parts[0]). *answer is set when the
 * first part is an answer to the question asked before ("yes"), which
 * only the session can tell is one. */
static size_t split_requests(eng_pipeline *p, const char *text, char **parts, bool *answer)
{
    parts[0] = NULL;
    *answer = false;
    size_t tl = strlen(text);
    if (tl > 300)
        return 1;
    /* "good evening, i would like to purchase two bottles of ...": a
     * greeting and its punctuation before the request are left out */
    for (size_t g = 0; greetings[g]; g++) {
        size_t gl = strlen(greetings[g]);
        if (strncasecmp(text, greetings[g], gl) != 0 || !text[gl])
            continue;
        /* "good morning i need 2 lemons": a space will do before a request
         * said in the first person or with a verb of the shop */
        bool spaced = text[gl] == ' ' && (strncasecmp(text + gl + 1, "i ", 2) == 0 ||
                                          strncasecmp(text + gl + 1, "i'", 2) == 0 ||
                                          starts_request(text + gl + 1));
        if (strchr(",.!", text[gl]) || spaced) {
            const char *rest = text + gl;
            rest += strspn(rest, ",.! ");
            if (strlen(rest) >= 8 && !strchr(rest, ',')) {
                parts[0] = strdup(rest);
                return 1;
            }
        }
    }
    size_t cuts[MAX_PARTS], clen[MAX_PARTS], nc = 0;
    bool loose[MAX_PARTS] = {false};
    bool but_cut = false;   /* the first cut is a "but": "yes but show me cheaper ones" */
    size_t lead = after_answer(text);
    if (lead && (restates(text + lead) || weak_answer(text, text + lead)))
        lead = 0;   /* "yes place the order": one answer */
    /* "no cancel", "nah cancel it": one answer, not a no and then a
     * cancellation of some placed order */
    static const char *const bare_cancel[] = {"cancel", "cancel it", "cancel that", "cancel pls", "cancel please",
                                              "cancel this", NULL};
    for (size_t i = 0; lead && bare_cancel[i]; i++)
        if (strcasecmp(text + lead, bare_cancel[i]) == 0)
            lead = 0;
    /* "yes pay with paypal", "yes use my other card", "yes ship it to my
     * office": words about how the order is paid or sent qualify the
     * yes; the agents read it whole (it is no plain yes) */
    static const char *const how[] = {"pay", "paying", "card", "paypal", "apple pay", "google pay", "cash",
                                      "mastercard", "amex", "visa", "ship", "send", "deliver", "delivery",
                                      "shipping", "address", "express", "standard", NULL};
    for (size_t i = 0; lead && how[i]; i++)
        for (const char *q = text + lead; *q; q++)
            if (word_at(q, how[i]) && (q == text + lead || q[-1] == ' ')) {
                lead = 0;
                break;
            }
    if (lead) {
        /* "sure, add it", "yes, take it out": the answer's own change said
         * again, or its opposite; one request, as the agents read it */
        char rest[64];
        preview_intent(p, text + lead, rest, sizeof rest);
        if (is_change(rest) || (agrees(text) && browsing(rest)))
            lead = 0;
    }
    if (lead) {
        /* "ok now checkout": the answer, then the request */
        cuts[nc] = answer_word(text);
        clen[nc++] = lead - answer_word(text);
    }
    for (size_t i = lead; i < tl && nc < MAX_PARTS - 1; i++) {
        for (size_t c = 0; c < sizeof connectives / sizeof *connectives; c++) {
            size_t cl = strlen(connectives[c]);
            if (strncasecmp(text + i, connectives[c], cl) != 0 || i == 0)
                continue;
            /* "ok add it and gift wrap if possible": after a request that
             * opens the message, "and" may bring a question of its own
             * (checked below: one the shop answers, not a product) */
            bool after_request = starts_request(text + i + cl);
            bool question = !after_request && nc == 0 && strcmp(connectives[c], " and ") == 0 &&
                            starts_request(past_chat(text));
            if (after_request || question) {
                loose[nc + 1] = question;
                but_cut |= nc == 0 && strstr(connectives[c], "but") != NULL;
                cuts[nc] = i;
                clen[nc++] = cl;
                i += cl - 1;
                break;
            }
        }
    }
    if (!nc)
        return 1;
    size_t n = 0, from = 0;
    for (size_t k = 0; k <= nc; k++) {
        size_t to = k < nc ? cuts[k] : tl;
        const char *a = text + from;
        size_t len = to - from;
        while (len && (*a == ' ' || *a == ',')) {
            a++;
            len--;
        }
        while (len && (a[len - 1] == ' ' || a[len - 1] == ',' || a[len - 1] == '.'))
            len--;
        if (len)
            parts[n++] = strndup(a, len);
        if (k < nc)
            from = cuts[k] + clen[k];
    }
    /* every part a request of its own, and not all searches; "right,
     * drop the third" is one request after a word of chat */
    static const char *const chat[] = {"right", "ok", "okay", "alright", "all right", "well", "so", "hmm", "um",
                                       "uh", "oh", "actually", "wait", "sorry", "oops", "cool", "great", "fine",
                                       "perfect", "nice", "hey", "hi", "hello", "please", "thanks", "cheers",
                                       "start over", "let's start over", "lets start over", "start again",
                                       "changed my mind", "i changed my mind", "never mind", "nevermind",
                                       "scratch that", "actually wait", "oh wait", "no wait", "wait a sec",
                                       "wait a second", "hold on", "hang on", "one sec", NULL};
    char intents[MAX_PARTS][64];
    int ok = n > 1, searches = 0;
    /* "yes" then a request: the answer runs first, whatever it answers */
    *answer = ok && parts[0] && parts[1] && answer_word(parts[0]) == strlen(parts[0]) &&
              !weak_answer(parts[0], parts[1]);
    /* "hello, can you add a pan for me": the greeting said first is no
     * request; the request alone is read (it was greeted, and nothing
     * done) */
    for (size_t g = 0; n == 2 && parts[0] && parts[1] && greetings[g]; g++)
        if (strcasecmp(parts[0], greetings[g]) == 0) {
            free(parts[0]);
            parts[0] = parts[1];
            parts[1] = NULL;
            *answer = false;
            return 1;
        }
    for (size_t k = *answer ? 1 : 0; ok && k < n; k++) {
        if (!parts[k]) {
            ok = 0;
            break;
        }
        for (size_t c = 0; chat[c] && ok; c++)
            if (strcasecmp(parts[k], chat[c]) == 0)
                ok = 0;
        /* "no sorry, order 2": an order named, the answer's own words */
        const char *on = parts[k];
        if (strncasecmp(on, "order ", 6) == 0 || *on == '#') {
            on += *on == '#' ? 1 : 6;
            on += strspn(on, " #");
            ok &= !(isdigit((unsigned char)*on) && on[strspn(on, "0123456789")] == '\0');
        }
        if (!ok)
            break;
        preview_intent(p, parts[k], intents[k], sizeof intents[k]);
        /* "drop the pan but add a spatula": a part opened by a verb that
         * takes out is a removal, whatever the model makes of it alone */
        static const char *const takes[] = {"drop", "remove", "delete", "take out", "take off", "get rid of",
                                            "ditch", NULL};
        bool taking = word_at(parts[k], "take") && (strstr(parts[k], " out") || strstr(parts[k], " off"));
        for (size_t v = 0; takes[v] && !taking; v++)
            taking = word_at(parts[k], takes[v]) != 0;
        if (taking && strcmp(intents[k], "empty_cart") != 0)
            snprintf(intents[k], sizeof intents[k], "%s", "remove_from_cart");
        if (*answer && k == 1 &&
            (is_change(intents[k]) || restates(parts[k]) || (agrees(parts[0]) && (browsing(intents[k]) || but_cut))))
            ok = 0;   /* "yes, and add it" after "shall I add it?"; "yes but show me cheaper ones" */
        /* "checkout but remove the pan first": the change before the
         * checkout, as the agents read the whole message */
        if (k > 0 && strcmp(intents[0], "checkout") == 0 &&
            (strcmp(intents[k], "remove_from_cart") == 0 || strcmp(intents[k], "empty_cart") == 0))
            ok = 0;
        if (!intents[k][0] || strcmp(intents[k], "out_of_scope") == 0 || strcmp(intents[k], "clarify") == 0 ||
            strcmp(intents[k], "confirm") == 0 || strcmp(intents[k], "deny") == 0)
            ok = 0;
        if (ok && loose[k] && commerce_intent(intents[k]))
            ok = 0;   /* "add the salt and pepper grinder" is one product */
        searches += is_search(intents[k]);
    }
    if (ok && searches > 1)
        ok = 0;
    if (!ok) {
        *answer = false;
        for (size_t k = 0; k < n; k++)
            free(parts[k]);
        parts[0] = NULL;
        return 1;
    }
    return n;
}

/* A part that asked something or could not tell what was meant ends the
 * message there: the shopper answers before anything else is done. */
/* Whether any of the n paths of ctx holds a value that counts as set:
 * present, not null, not false. */
static bool any_set(json_object *ctx, const char *const *paths, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_object *v = eng__json_path(ctx, paths[i]);
        if (v && !json_object_is_type(v, json_type_null) &&
            !(json_object_is_type(v, json_type_boolean) && !json_object_get_boolean(v)))
            return true;
    }
    return false;
}

static int part_stops(json_object *ctx)
{
    static const char *const asks[] = {"vars.ask", "vars.whichOne", "vars.needProduct", "vars.noMatch",
                                       "vars.clarify", "vars.badQuantity", "vars.denied", "vars.needLogin",
                                       "vars.notInCart", "vars.cartEmpty", "vars.needTwo", "vars.confirmOrder",
                                       "vars.whichInCart", "vars.unsure", "vars.needCode", "vars.noOrder",
                                       "vars.missingInCart", "error", "timedOut", "session.pending"};
    if (any_set(ctx, asks, sizeof asks / sizeof *asks))
        return 1;
    json_object *la = eng__json_path(ctx, "vars.lastAction.message");
    if (la && json_object_get_string_len(la))
        return 1;
    return 0;
}

/* Whether the turn of a leading "yes" or "no" answered a question: it
 * made or dropped the change asked, or placed or dropped the order. */
static bool answered(json_object *ctx)
{
    static const char *const did[] = {"vars.confirmedChange", "vars.changeDropped", "vars.pendingCancelled",
                                       "vars.lastAction", "vars.mixedAnswer"};
    if (any_set(ctx, did, sizeof did / sizeof *did))
        return true;
    json_object *a = eng__json_path(ctx, "actions");
    return a && json_object_is_type(a, json_type_array) && json_object_array_length(a) > 0;
}

/* Folds the reply of a later part into the one before: texts in order,
 * the last cards that were shown, every action; the rest is the later
 * part's (its intent, cart and suggestions). */
static json_object *merge_replies(json_object *first, json_object *next)
{
    if (!first)
        return next;
    const char *t1 = eng__json_str(first, "reply.text", "");
    const char *t2 = eng__json_str(next, "reply.text", "");
    json_object *rep = eng__json_path(next, "reply");
    if (rep) {
        size_t n = strlen(t1) + strlen(t2) + 3;
        char *both = malloc(n);
        if (both) {
            snprintf(both, n, "%s%s%s", t1, *t1 && *t2 ? "\n\n" : "", t2);
            ENG_JADD(rep, "text", json_object_new_string(both));
            free(both);
        }
        json_object *c2 = eng__json_path(rep, "cards");
        json_object *c1 = eng__json_path(first, "reply.cards");
        if ((!c2 || !json_object_array_length(c2)) && c1 && json_object_array_length(c1))
            ENG_JADD(rep, "cards", json_object_get(c1));
        /* the page's flags: either part's login need and offers; the
         * question open is the last part's */
        if (json_object_get_boolean(eng__json_path(first, "reply.needsLogin")))
            ENG_JADD(rep, "needsLogin", json_object_new_boolean(1));
        json_object *u1 = eng__json_path(first, "reply.uiActions"), *u2 = eng__json_path(rep, "uiActions");
        if (u1 && u2 && json_object_array_length(u1)) {
            json_object *all = json_object_new_array();
            json_object *lists[2] = {u1, u2};
            for (size_t k = 0; k < 2; k++)
                for (size_t i = 0; i < json_object_array_length(lists[k]); i++) {
                    json_object *a = json_object_array_get_idx(lists[k], i);
                    bool seen = false;   /* one offer of a kind: the later part's */
                    for (size_t j = 0; k == 0 && j < json_object_array_length(u2) && !seen; j++)
                        seen = strcmp(eng__json_str(json_object_array_get_idx(u2, j), "type", ""),
                                      eng__json_str(a, "type", "")) == 0;
                    if (!seen)
                        json_object_array_add(all, json_object_get(a));
                }
            ENG_JADD(rep, "uiActions", all);
        }
    }
    json_object *a1 = eng__json_path(first, "actions"), *a2 = eng__json_path(next, "actions");
    if (a1 && a2 && json_object_array_length(a1)) {
        json_object *all = json_object_new_array();
        for (size_t i = 0; i < json_object_array_length(a1); i++)
            json_object_array_add(all, json_object_get(json_object_array_get_idx(a1, i)));
        for (size_t i = 0; i < json_object_array_length(a2); i++)
            json_object_array_add(all, json_object_get(json_object_array_get_idx(a2, i)));
        ENG_JADD(next, "actions", all);
    }
    json_object_put(first);
    return next;
}

/* A message cut into requests that stopped at a question or a failure
 * says which requests it has not carried out ("remove the phone and add
 * the charger": the charger is not added while the phone is unclear),
 * so nothing asked for is dropped without a word. */
static void say_not_done(json_object *reply, char *const *rest, size_t n)
{
    json_object *rep = eng__json_path(reply, "reply");
    if (!rep)
        return;
    const char *t = eng__json_str(rep, "text", "");
    size_t len = strlen(t) + 96;
    for (size_t i = 0; i < n; i++)
        len += strlen(rest[i]) + 8;
    char *b = malloc(len);
    if (!b)
        return;
    size_t w = (size_t)snprintf(b, len, "%s%sI haven't done the rest yet: ", t, *t ? "\n\n" : "");
    for (size_t i = 0; i < n && w < len; i++)
        w += (size_t)snprintf(b + w, len - w, "%s\"%s\"", i == 0 ? "" : i + 1 == n ? " and " : ", ", rest[i]);
    if (w < len)
        snprintf(b + w, len - w, ". Ask again once this is settled.");
    ENG_JADD(rep, "text", json_object_new_string(b));
    free(b);
}

/* The session as read with the message id before the turn, for its
 * first part: have = 1 and js its text (NULL: none kept). */
typedef struct preread {
    int have;
    char *js;
} preread;

/* Runs one message (or one part of one) as a turn: session in, turn,
 * session out.  `carry` is the session the part before left (no store).
 * With a store the session to save is left in *ps (and *saving set), for
 * the caller to write before the next part reads it, or with the
 * message's replay record after the last. */
static int run_part(eng_pipeline *p, const eng_converse_opts *o, const char *text, const char *mid,
                    json_object *carry, claim *cl, preread *pre, eng_converse_result *r, pending_save *ps,
                    int *saving, eng_err *err)
{
    struct store *st = o->deps ? o->deps->store : NULL;
    json_object *sess = NULL;
    int rc;
    if (st) {
        if (pre->have) {
            /* read with the message id (store_session_get_replay) */
            pre->have = 0;
            rc = session_parse(o->session_id, pre->js, &sess, err);
            pre->js = NULL;
        } else {
            rc = eng_session_load(st, o->session_id, &sess, err);
        }
        if (rc < 0) {
            r->status = ENG_CONV_FAILED;
            return rc;
        }
    } else {
        json_object *from = carry ? carry : o->session;
        sess = from ? json_object_get(from) : json_object_new_object();
    }
    eng_turn_opts to = {
        .session_id = o->session_id, .message_id = mid, .user_id = o->user_id,
        .session = sess, .deadline_ms = o->deadline_ms, .deps = o->deps,
        .on_delta = o->on_delta, .delta_ud = o->delta_ud,
        .claim = cl ? claim_take : NULL, .claim_ud = cl,
    };
    int64_t t0 = eng_now_us();
    rc = eng_run(p, text, &to, &r->turn, err);
    r->elapsed_us += eng_now_us() - t0;
    json_object_put(sess);
    if (rc < 0) {
        r->status = rc == ENG_EINVAL ? ENG_CONV_REFUSED : ENG_CONV_FAILED;
        return rc;
    }
    json_object *ctx = eng_turn_context(r->turn);
    /* session state goes back before the reply leaves (the next message
     * may land on another instance): eng_converse writes it */
    if (st) {
        save_prepare(o->session_id, r->turn, o->session_ttl_s, r->trace_id, st, ps);
        *saving = 1;
    } else {
        json_object *ns = eng__json_path(ctx, "session");
        if (ns && json_object_is_type(ns, json_type_object)) {
            ENG_JADD(ns, "turns",
                                   json_object_new_int64(json_object_get_int64(eng__json_path(ns, "turns")) + 1));
            remember_intent(ctx, ns);
        }
    }
    json_object *ns = eng__json_path(ctx, "session");
    json_object_put(r->session);
    r->session = ns && json_object_is_type(ns, json_type_object) ? json_object_get(ns) : NULL;
    return 0;
}

/* One attempt at a message (eng_converse's loop): its parts run, then
 * the save.  *again is set when another attempt at the same id owns it
 * and has not answered yet: r is then to be cleared and the id waited
 * for. */
static int attempt(eng_pipeline *p, const eng_converse_opts *o, const char *key, long dl, preread *pre,
                   eng_converse_result *r, int *again, eng_err *err)
{
    struct store *st = o->deps ? o->deps->store : NULL;
    /* a duplicate waits as long as a turn may take, plus its saves */
    claim cl = {.s = st, .key = key, .lease_ms = 2 * dl + 5000};
    claim *clp = key[0] ? &cl : NULL;
    char *parts[MAX_PARTS] = {0};
    pending_save ps = {0};
    int saving = 0, rc = 0;
    /* with agent mode on, the model plans a compound request itself
     * ("find running shoes under 100 and add the best rated one") */
    bool answer = false;
    size_t nparts = agent_mode(p, o) ? 1 : split_requests(p, o->text, parts, &answer);
    /* parts save their sessions one by one: such a message claims its id
     * before the first runs */
    if (clp && nparts > 1 && claim_take(clp) != 0) {
        rc = claim_lost(clp, r, again, err);
        goto done;
    }
    json_object *merged = NULL;
    for (size_t k = 0; k < nparts; k++) {
        const char *text = parts[k] ? parts[k] : o->text;   /* one part: the request past a greeting */
        /* each part has its own message id, so its actions have their
         * own idempotency keys; the replay record is the whole message's */
        char mid[96];
        const char *id = o->message_id;
        if (nparts > 1 && o->message_id) {
            snprintf(mid, sizeof mid, "%s.%zu", o->message_id, k + 1);
            id = mid;
        }
        if (k > 0) {
            eng_turn_free(r->turn);
            r->turn = NULL;
        }
        if (saving) {
            /* the part before's session, before this part reads it */
            save_write(st, &ps, NULL, NULL, 0, r->store_error, sizeof r->store_error);
            saving = 0;
        }
        json_object *carry = r->session ? json_object_get(r->session) : NULL;
        rc = run_part(p, o, text, id, carry, clp, pre, r, &ps, &saving, err);
        json_object_put(carry);
        if (rc < 0) {
            json_object_put(merged);
            goto abort;
        }
        if (clp && cl.state == CLAIM_LOST) {
            /* its changes were refused: the other attempt's answer is
             * the message's, this one is dropped unsaved */
            json_object_put(merged);
            json_object_put(ps.turn);
            free(ps.sess_js);
            rc = claim_lost(clp, r, again, err);
            goto done;
        }
        json_object *one = reply_object(p, o, eng_turn_context(r->turn), r->session, r->trace_id);
        if (!one) {
            json_object_put(merged);
            rc = eng_err_set(err, ENG_ENOMEM, "out of memory");
            r->status = ENG_CONV_FAILED;
            goto abort;
        }
        if (k == 0 && answer && !answered(eng_turn_context(r->turn)))
            json_object_put(one);   /* "ok now checkout" with nothing asked: the "ok" was chat */
        else
            merged = merge_replies(merged, one);
        if (part_stops(eng_turn_context(r->turn))) {
            if (k + 1 < nparts)
                say_not_done(merged, parts + k + 1, nparts - k - 1);
            break;
        }
    }
    r->reply = merged;
    {
        /* the last part's session and the replay record: one write (on
         * SQLite one transaction), so a resent id finds the session its
         * first answer left */
        int ttl = o->replay_ttl_s > 0 ? o->replay_ttl_s : 86400;
        const char *js = NULL;
        if (key[0]) {
            /* the record is the text a channel sends (reply_text) */
            eng_json_tidy_doubles(r->reply);
            r->reply_text = eng__json_print(r->reply, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, NULL);
            js = r->reply_text;
        }
        /* no text for the record (out of memory): the session is still
         * saved, a reservation runs out with its lease */
        const char *rk = key[0] && js ? key : NULL;
        if (key[0] && !js)
            store_failed(r->store_error, sizeof r->store_error, "replay record not kept", "out of memory");
        if (saving && rk && cl.state == CLAIM_NONE) {
            /* nothing changed: the first answer to reach the store is the
             * message's (the one write of the turn) */
            char *first = NULL;
            int src = save_write_once(st, &ps, rk, js, ttl, &first, r->store_error, sizeof r->store_error);
            if (src == STORE_EEXIST) {
                rc = answer_first(first, r, err);
                goto done;
            }
            if (src == STORE_EBUSY) {
                *again = 1;
                goto done;
            }
        } else if (saving) {
            save_write(st, &ps, rk, js, ttl, r->store_error, sizeof r->store_error);
        } else if (rk) {
            store_err se = {0};
            if (store_once_finish(st, key, js, ttl, &se) < 0)
                store_failed(r->store_error, sizeof r->store_error, "replay record not kept", se.msg);
        }
    }
    r->status = ENG_CONV_OK;
    goto done;

abort:
    if (saving)   /* what the parts before this one did stays */
        save_write(st, &ps, NULL, NULL, 0, r->store_error, sizeof r->store_error);
    if (cl.state == CLAIM_HELD)
        store_once_abort(st, key, NULL);
done:
    for (size_t k = 0; k < nparts; k++)
        free(parts[k]);
    free(cl.first);
    return rc;
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
    char trace_id[sizeof r->trace_id];
    if (o->trace_id)
        snprintf(trace_id, sizeof trace_id, "%s", o->trace_id);
    else
        eng__random_hex(trace_id, 16);

    char key[256] = "";
    if (st && o->message_id)
        snprintf(key, sizeof key, "cmsg:%s:%s", o->session_id, o->message_id);
    /* a duplicate waits as long as a turn may take, plus its saves */
    int64_t until = eng_now_us() + (int64_t)(dl + 2000) * 1000;
    for (int n = 0;; n++) {
        int64_t spent = r->elapsed_us;
        eng_converse_result_clear(r);
        r->elapsed_us = spent;
        snprintf(r->trace_id, sizeof r->trace_id, "%s", trace_id);
        preread pre = {0};
        if (key[0]) {
            int done = 0;
            rc = await_first(st, key, o->session_id, until, r, &done, &pre.js, err);
            if (rc < 0 || done)
                return rc;
            pre.have = 1;
        }
        int again = 0;
        rc = attempt(p, o, key, dl, &pre, r, &again, err);
        free(pre.js);   /* not taken when the attempt stopped first */
        if (!again)
            return rc;
        /* another attempt owns the message: wait for its answer (and run
         * again if it gave up without one) */
        if (n == 2 || eng_now_us() >= until) {
            eng_converse_result_clear(r);
            return fail(r, ENG_CONV_BUSY, err, ENG_ETIMEDOUT,
                        "This message is still being answered; send it again in a moment.");
        }
    }
}

void eng_converse_result_clear(eng_converse_result *r)
{
    if (!r)
        return;
    eng_turn_free(r->turn);
    json_object_put(r->reply);
    json_object_put(r->session);
    free(r->reply_text);
    memset(r, 0, sizeof *r);
}
