/* gateway/acp_webhook.c — ACP order webhooks (Agentic Checkout Webhooks
 * API, 2026-04-17: openapi.agentic_checkout_webhook.yaml): order_create
 * when an ACP checkout session places its order, order_update when that
 * order's status changes afterwards (cancelled from the shop's page, the
 * chat or REST), POSTed to the partner's webhook_url as
 * {"type", "data": Order} and signed as the spec says:
 *   Merchant-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(t + "." + raw body, secret)>
 *
 * A durable outbox in the document store (memory namespace
 * "aisle.acp-outbox" of user 0), so a crash neither loses nor invents an
 * event:
 *   - before the core places the order, an intent is written (no intent,
 *     no order: the completion answers 503); after it, the event with the
 *     order.  A crash in between leaves the intent, and the sweeper finds
 *     the order by the session's idempotency key and makes the event.
 *   - every event has a fixed id (its outbox key: order_create:<session>,
 *     order_update:<order>:<n>), sent as Request-Id on every attempt, so a
 *     receiver can drop a repeat.  A delivery is claimed with a store lease
 *     (one sender across instances) and marked done (store_once_finish)
 *     before the entry goes: an event acknowledged and then re-read after
 *     a crash is not sent again; one sent but not acknowledged is sent
 *     again with the same id.
 *   - failures (no answer, not 2xx) retry with exponential backoff, 1 s to
 *     10 minutes, 12 tries; then the entry stays, state "dead", and a
 *     warning is logged.
 * Order statuses are watched by polling the orders of ACP sessions (every
 * 2 s, 30 days at most), so a change from any channel is seen. */
#include "gw_int.h"
#include <inttypes.h>
#include <math.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS "aisle.acp-outbox"
#define INTENT_GRACE_MS 5000              /* a completion in flight finishes first */
#define INTENT_GIVE_UP_MS (15 * 60 * 1000) /* no order by then: the completion failed */
#define WATCH_EVERY_MS 2000
#define WATCH_FOR_MS (30LL * 86400 * 1000)
#define MAX_TRIES 12
#define CLAIM_MS 60000

struct gw_acp_hooks {
    gw_ticker *t;
    gw_server *s;
    int64_t last_watch;
    int64_t base_ms;                      /* first retry delay (AISLE_TEST_HOOKS: AISLE_TEST_WEBHOOK_BACKOFF_MS) */
};

static atomic_ullong delivered, failed_tries, dead;

void gw__acp_webhook_stats(uint64_t *ok, uint64_t *failures, uint64_t *given_up)
{
    *ok = atomic_load(&delivered);
    *failures = atomic_load(&failed_tries);
    *given_up = atomic_load(&dead);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool wanted(const gw_server *s)
{
    for (size_t i = 0; i < s->n_acp_partners; i++)
        if (s->acp_partners[i].webhook_url)
            return true;
    return false;
}

static int put(gw_server *s, const char *key, json_object *e)
{
    store_err err = {0};
    return store_memory_put(s->st, 0, NS, key, json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN), &err);
}

static void drop(gw_server *s, const char *key)
{
    store_err err = {0};
    store_memory_delete(s->st, 0, NS, key, &err);
}

static void kick(gw_server *s)
{
    if (s->acp_hooks)
        gw__ticker_kick(s->acp_hooks->t);
}

int gw__acp_event_intent(gw_server *s, const char *partner, const char *session_id, int64_t user_id,
                         const char *base)
{
    const gw_acp_partner *p = gw__acp_partner(s, partner);
    if (!p || !p->webhook_url)
        return 0;
    char key[96];
    snprintf(key, sizeof key, "order_create:%s", session_id);
    char *old = NULL;
    store_err err = {0};
    if (store_memory_get(s->st, 0, NS, key, &old, &err) == 0) {
        free(old);   /* an intent or an event already: a retry of the completion */
        return 0;
    }
    json_object *e = json_object_new_object();
    json_object_object_add(e, "kind", json_object_new_string("create"));
    json_object_object_add(e, "state", json_object_new_string("intent"));
    json_object_object_add(e, "partner", json_object_new_string(partner));
    json_object_object_add(e, "session", json_object_new_string(session_id));
    json_object_object_add(e, "user", json_object_new_int64(user_id));
    json_object_object_add(e, "base", json_object_new_string(base));
    json_object_object_add(e, "at", json_object_new_int64(now_ms()));
    int rc = put(s, key, e);
    json_object_put(e);
    return rc < 0 ? -1 : 0;
}

/* the order as ACP's Order (the webhook's data) */
static json_object *order_data(const store_order *o, const char *session, const char *base)
{
    json_object *d = json_object_new_object();
    char id[32], url[400];
    snprintf(id, sizeof id, "%" PRId64, o->id);
    snprintf(url, sizeof url, "%s/api/v1/orders/%" PRId64, base, o->id);
    const char *st = strcmp(o->status, "placed") == 0      ? "created"
                     : strcmp(o->status, "cancelled") == 0 ? "canceled"
                                                          : o->status;
    json_object_object_add(d, "type", json_object_new_string("order"));
    json_object_object_add(d, "id", json_object_new_string(id));
    json_object_object_add(d, "checkout_session_id", json_object_new_string(session));
    json_object_object_add(d, "order_number", json_object_new_string(id));
    json_object_object_add(d, "permalink_url", json_object_new_string(url));
    json_object_object_add(d, "status", json_object_new_string(st));
    json_object *lines = json_object_new_array();
    bool cancelled = strcmp(o->status, "cancelled") == 0;
    for (size_t i = 0; i < o->n_lines; i++) {
        json_object *l = json_object_new_object(), *q = json_object_new_object();
        json_object_object_add(l, "id", json_object_new_string(o->lines[i].sku));
        json_object_object_add(l, "title", json_object_new_string(o->lines[i].title[0] ? o->lines[i].title : o->lines[i].sku));
        json_object_object_add(q, "ordered", json_object_new_int64(o->lines[i].qty));
        json_object_object_add(q, "current", json_object_new_int64(cancelled ? 0 : o->lines[i].qty));
        json_object_object_add(q, "fulfilled", json_object_new_int64(0));
        json_object_object_add(l, "quantity", q);
        json_object_object_add(l, "unit_price", json_object_new_int64(llround(o->lines[i].unit_price * 100)));
        json_object_array_add(lines, l);
    }
    json_object_object_add(d, "line_items", lines);
    json_object *totals = json_object_new_array(), *t = json_object_new_object();
    json_object_object_add(t, "type", json_object_new_string("total"));
    json_object_object_add(t, "display_text", json_object_new_string("Total"));
    json_object_object_add(t, "amount", json_object_new_int64(llround(o->total * 100)));
    json_object_array_add(totals, t);
    json_object_object_add(d, "totals", totals);
    return d;
}

/* entry e (kind create or update) becomes ready to send with the event
 * {type, data: the order}; saved under key */
static int make_ready(gw_server *s, const char *key, json_object *e, const char *type, const store_order *o)
{
    json_object *ev = json_object_new_object();
    json_object_object_add(ev, "type", json_object_new_string(type));
    json_object_object_add(ev, "data", order_data(o, gw__jstr(e, "session"), gw__jstr(e, "base") ? gw__jstr(e, "base") : ""));
    json_object_object_add(e, "state", json_object_new_string("ready"));
    json_object_object_add(e, "order", json_object_new_int64(o->id));
    json_object_object_add(e, "body", json_object_new_string(json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN)));
    json_object_object_add(e, "attempts", json_object_new_int(0));
    json_object_object_add(e, "next", json_object_new_int64(now_ms()));
    json_object_put(ev);
    return put(s, key, e);
}

/* the order's status is watched for order_update events */
static void watch(gw_server *s, json_object *e, const store_order *o)
{
    char key[64];
    snprintf(key, sizeof key, "watch:%" PRId64, o->id);
    json_object *w = json_object_new_object();
    json_object_object_add(w, "kind", json_object_new_string("watch"));
    static const char *const keep[] = {"partner", "session", "user", "base", NULL};
    for (size_t i = 0; keep[i]; i++)
        json_object_object_add(w, keep[i], json_object_get(json_object_object_get(e, keep[i])));
    json_object_object_add(w, "order", json_object_new_int64(o->id));
    json_object_object_add(w, "status", json_object_new_string(o->status));
    json_object_object_add(w, "seq", json_object_new_int(0));
    json_object_object_add(w, "at", json_object_new_int64(now_ms()));
    put(s, key, w);
    json_object_put(w);
}

/* the intent of `session` and its order: the event, ready; the watch */
static void placed(gw_server *s, const char *key, json_object *e, int64_t order_id)
{
    store_order o = {0};
    store_err err = {0};
    if (store_order_get(s->st, order_id, &o, &err) == 0) {
        if (make_ready(s, key, e, "order_create", &o) == 0)
            watch(s, e, &o);
    }
    store_order_clear(&o);
}

void gw__acp_event_placed(gw_server *s, const char *session_id, int64_t order_id)
{
    /* AISLE_TEST_HOOKS=1 AISLE_TEST_ACP_DROP_EVENT=1: as if the process
     * died between the order and its event (the sweeper must recover) */
    const char *th = getenv("AISLE_TEST_HOOKS"), *drop_ev = getenv("AISLE_TEST_ACP_DROP_EVENT");
    if (th && strcmp(th, "1") == 0 && drop_ev && strcmp(drop_ev, "1") == 0)
        return;
    char key[96], *js = NULL;
    snprintf(key, sizeof key, "order_create:%s", session_id);
    store_err err = {0};
    if (store_memory_get(s->st, 0, NS, key, &js, &err) < 0)
        return;   /* no webhooks for this partner, or the store failed: the sweeper recovers */
    json_object *e = json_tokener_parse(js);
    free(js);
    if (e && strcmp(gw__jstr(e, "state") ? gw__jstr(e, "state") : "", "intent") == 0) {
        placed(s, key, e, order_id);
        kick(s);
    }
    json_object_put(e);
}

void gw__acp_event_abandon(gw_server *s, const char *session_id)
{
    char key[96], *js = NULL;
    snprintf(key, sizeof key, "order_create:%s", session_id);
    store_err err = {0};
    if (store_memory_get(s->st, 0, NS, key, &js, &err) < 0)
        return;
    json_object *e = json_tokener_parse(js);
    free(js);
    if (e && strcmp(gw__jstr(e, "state") ? gw__jstr(e, "state") : "", "intent") == 0)
        drop(s, key);
    json_object_put(e);
}

/* ------------------------------------------------------------ delivery */

/* POST body to the partner, signed: the HTTP status, or -1 when none came */
static long post(const gw_acp_partner *p, const char *event_id, const char *body)
{
    char ts[24], sig_hdr[160], rid[160], when[40], tsh[64];
    int64_t t = (int64_t)time(NULL);
    snprintf(ts, sizeof ts, "%" PRId64, t);
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)p->webhook_secret, strlen(p->webhook_secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, strlen(ts));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, strlen(body));
    crypto_auth_hmacsha256_final(&st, mac);
    char hex[2 * sizeof mac + 1];
    sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
    snprintf(sig_hdr, sizeof sig_hdr, "Merchant-Signature: t=%s,v1=%s", ts, hex);
    snprintf(rid, sizeof rid, "Request-Id: %s", event_id);
    gw__acp_time(t, when, sizeof when);
    snprintf(tsh, sizeof tsh, "Timestamp: %s", when);
    const char *const hd[] = {"Content-Type: application/json", sig_hdr, rid, tsh,
                              "User-Agent: aisle-acp-webhooks/" AISLE_VERSION, NULL};
    long code = -1;
    eng_http_post(p->webhook_url, hd, body, 10000, &code);
    return code;
}

static void deliver(gw_server *s, const char *key, json_object *e, int64_t now)
{
    const gw_acp_partner *p = gw__acp_partner(s, gw__jstr(e, "partner"));
    char once[160], *res = NULL;
    snprintf(once, sizeof once, "acp-webhook:%s", key);
    store_err err = {0};
    int rc = store_once_begin(s->st, once, CLAIM_MS, &res, &err);
    free(res);
    if (rc == STORE_EEXIST) {   /* sent and acknowledged before a crash */
        drop(s, key);
        return;
    }
    if (rc != 0)
        return;   /* another instance is sending it, or the store failed */
    const char *body = gw__jstr(e, "body");
    long code = p && p->webhook_url && body ? post(p, key, body) : -1;
    if (code >= 200 && code < 300) {
        store_once_finish(s->st, once, "delivered", 30 * 86400, &err);
        drop(s, key);
        atomic_fetch_add(&delivered, 1);
        return;
    }
    store_once_abort(s->st, once, &err);
    atomic_fetch_add(&failed_tries, 1);
    int tries = json_object_get_int(json_object_object_get(e, "attempts")) + 1;
    json_object_object_add(e, "attempts", json_object_new_int(tries));
    json_object_object_add(e, "lastStatus", json_object_new_int64(code));
    json_object *f = json_object_new_object();
    json_object_object_add(f, "event", json_object_new_string(key));
    json_object_object_add(f, "partner", json_object_new_string(p ? p->id : "?"));
    json_object_object_add(f, "status", json_object_new_int64(code));
    json_object_object_add(f, "attempts", json_object_new_int(tries));
    if (tries >= MAX_TRIES || !p || !p->webhook_url) {
        json_object_object_add(e, "state", json_object_new_string("dead"));
        atomic_fetch_add(&dead, 1);
        gw__log("warn", "acp_webhook_gave_up", f);
    } else {
        int64_t base = s->acp_hooks ? s->acp_hooks->base_ms : 1000, delay = base;
        for (int i = 1; i < tries && delay < 600000; i++)
            delay *= 2;
        json_object_object_add(e, "next", json_object_new_int64(now + (delay < 600000 ? delay : 600000)));
        gw__log("info", "acp_webhook_retry", f);
    }
    put(s, key, e);
}

/* an order of user `uid` placed under the session's key, or 0 */
static int64_t order_of_session(gw_server *s, int64_t uid, const char *session)
{
    char want[64];
    snprintf(want, sizeof want, "acp-%s", session);
    store_order *list = NULL;
    size_t n = 0;
    int64_t id = 0;
    if (uid > 0 && store_order_list(s->st, uid, 100, &list, &n, NULL) == 0)
        for (size_t i = 0; i < n && !id; i++)
            if (strcmp(list[i].idempotency_key, want) == 0)
                id = list[i].id;
    store_order_list_free(list, n);
    return id;
}

static void check_watch(gw_server *s, const char *key, json_object *w, int64_t now)
{
    store_order o = {0};
    store_err err = {0};
    int64_t oid = json_object_get_int64(json_object_object_get(w, "order"));
    int rc = store_order_get(s->st, oid, &o, &err);
    if (rc == STORE_ENOTFOUND || now - json_object_get_int64(json_object_object_get(w, "at")) > WATCH_FOR_MS) {
        drop(s, key);
    } else if (rc == 0 && strcmp(o.status, gw__jstr(w, "status") ? gw__jstr(w, "status") : "") != 0) {
        int seq = json_object_get_int(json_object_object_get(w, "seq")) + 1;
        char ek[96];
        snprintf(ek, sizeof ek, "order_update:%" PRId64 ":%d", oid, seq);
        json_object *e = json_object_new_object();
        json_object_object_add(e, "kind", json_object_new_string("update"));
        static const char *const keep[] = {"partner", "session", "user", "base", NULL};
        for (size_t i = 0; keep[i]; i++)
            json_object_object_add(e, keep[i], json_object_get(json_object_object_get(w, keep[i])));
        /* the event first, then the watch: a crash between makes the same
         * event (same key) again, never a second one */
        if (make_ready(s, ek, e, "order_update", &o) == 0) {
            if (strcmp(o.status, "cancelled") == 0) {
                drop(s, key);   /* nothing follows a cancellation */
            } else {
                json_object_object_add(w, "status", json_object_new_string(o.status));
                json_object_object_add(w, "seq", json_object_new_int(seq));
                put(s, key, w);
            }
        }
        json_object_put(e);
    }
    store_order_clear(&o);
}

static void sweep(gw_server *s, bool watches)
{
    char *js = NULL;
    store_err err = {0};
    if (store_memory_list(s->st, 0, NS, &js, &err) < 0)
        return;
    json_object *all = js ? json_tokener_parse(js) : NULL;
    free(js);
    int64_t now = now_ms();
    json_object_object_foreach(all, key, e) {
        const char *kind = gw__jstr(e, "kind"), *state = gw__jstr(e, "state");
        if (!kind)
            continue;
        if (strcmp(kind, "watch") == 0) {
            if (watches)
                check_watch(s, key, e, now);
        } else if (state && strcmp(state, "intent") == 0 && watches) {
            int64_t at = json_object_get_int64(json_object_object_get(e, "at"));
            if (now - at < INTENT_GRACE_MS)
                continue;
            int64_t oid = order_of_session(s, json_object_get_int64(json_object_object_get(e, "user")),
                                           gw__jstr(e, "session") ? gw__jstr(e, "session") : "");
            if (oid)
                placed(s, key, e, oid);   /* the order was placed; its event was not written (a crash) */
            else if (now - at > INTENT_GIVE_UP_MS)
                drop(s, key);
        } else if (state && strcmp(state, "ready") == 0 &&
                   json_object_get_int64(json_object_object_get(e, "next")) <= now) {
            deliver(s, key, e, now);
        }
    }
    json_object_put(all);
}

/* one round, every 250 ms or when kicked: deliveries due, and the
 * watches every WATCH_EVERY_MS */
static void tick(void *arg)
{
    struct gw_acp_hooks *h = arg;
    gw_server *s = h->s;
    int64_t now = now_ms();
    bool watches = now - h->last_watch >= WATCH_EVERY_MS;
    if (watches)
        h->last_watch = now;
    sweep(s, watches);
}

int gw__acp_webhooks_start(gw_server *s)
{
    if (!wanted(s))
        return 0;
    struct gw_acp_hooks *h = calloc(1, sizeof *h);
    if (!h)
        return -1;
    h->base_ms = 1000;
    const char *th = getenv("AISLE_TEST_HOOKS"), *b = getenv("AISLE_TEST_WEBHOOK_BACKOFF_MS");
    if (th && strcmp(th, "1") == 0 && b && strtol(b, NULL, 10) > 0)
        h->base_ms = strtol(b, NULL, 10);
    h->s = s;
    s->acp_hooks = h;   /* deliveries read its backoff from the first tick */
    if (!(h->t = gw__ticker_start(tick, h, 250))) {
        s->acp_hooks = NULL;
        free(h);
        return -1;
    }
    return 0;
}

void gw__acp_webhooks_stop(gw_server *s)
{
    struct gw_acp_hooks *h = s->acp_hooks;
    if (!h)
        return;
    gw__ticker_stop(h->t);
    free(h);
    s->acp_hooks = NULL;
}
