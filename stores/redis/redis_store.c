/* stores/redis/redis_store.c — the ephemeral family on Redis: sessions and
 * cache (SET PX), windowed history, token buckets, refresh tokens and
 * counters.  Every read-modify-write is one Lua script, so limits and
 * token rotation hold across any number of aisle instances. */
#include "redis_int.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Values carry their logical expiry ("<ms>\n<value>") besides the Redis
 * TTL: the store clock may be a test's fake clock that Redis cannot see. */

/* Expired refresh tokens stay this long so a late refresh hears "expired"
 * rather than "unknown". */
#define RD_TOKEN_GRACE_MS 60000

#define KEY(b, tag, k, buf, err)                                           \
    int buf##_n = rd__key((b), (tag), (k), buf, sizeof buf);               \
    if (buf##_n < 0)                                                       \
        return store__fail((err), STORE_EINVAL, "key too long")

static int64_t ttl_ms(const rd *b, int64_t expires_at)
{
    int64_t t = expires_at - store_now_ms(b->owner);
    return t > 0 ? t : 1;
}

static char *dupn(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* ---------------- sessions and cache ---------------- */

static const char *kv_tag(int kind)
{
    return kind == STORE__KV_SESSION ? "s:" : "c:";
}

static int rd_kv_put(void *vb, int kind, const char *key, const char *val,
                     int64_t expires_at, store_err *err)
{
    rd *b = vb;
    char k[512], *v;
    size_t vl = strlen(val);
    int hn, rc;
    KEY(b, kv_tag(kind), key, k, err);
    if (!(v = malloc(vl + 24)))
        return store__fail(err, STORE_ENOMEM, "out of memory");
    hn = snprintf(v, 24, "%lld\n", (long long)expires_at);
    memcpy(v + hn, val, vl);
    rc = rd__cmd(b, RD_IDEMPOTENT, NULL, err, "SET %b %b PX %lld", k, (size_t)k_n,
                 v, (size_t)hn + vl, (long long)ttl_ms(b, expires_at));
    free(v);
    return rc;
}

/* A kv value ("<expiry ms>\n<value>") read back: 0 with *out (malloc'd)
 * while its logical expiry is ahead, else STORE_ENOTFOUND. */
static int kv_text(const redisReply *r, int64_t now, char **out, store_err *err)
{
    if (r->type == REDIS_REPLY_STRING) {
        char *nl = memchr(r->str, '\n', r->len);
        long long exp = nl ? strtoll(r->str, NULL, 10) : 0;
        if (nl && exp > now) {
            size_t off = (size_t)(nl + 1 - r->str);
            return (*out = dupn(nl + 1, r->len - off)) ? 0 : store__fail(err, STORE_ENOMEM, "out of memory");
        }
    }
    return store__fail(err, STORE_ENOTFOUND, "no such key (or expired)");
}

static int rd_kv_get(void *vb, int kind, const char *key, int64_t now,
                     char **out, store_err *err)
{
    rd *b = vb;
    char k[512];
    redisReply *r;
    int rc;
    KEY(b, kv_tag(kind), key, k, err);
    if ((rc = rd__cmd(b, RD_IDEMPOTENT, &r, err, "GET %b", k, (size_t)k_n)) != 0)
        return rc;
    rc = kv_text(r, now, out, err);
    freeReplyObject(r);
    return rc;
}

static int rd_kv_delete(void *vb, int kind, const char *key, store_err *err)
{
    rd *b = vb;
    char k[512], h[512], hx[512];
    KEY(b, kv_tag(kind), key, k, err);
    if (kind != STORE__KV_SESSION)
        return rd__cmd(b, RD_IDEMPOTENT, NULL, err, "DEL %b", k, (size_t)k_n);
    {
        KEY(b, "h:", key, h, err);
        KEY(b, "hx:", key, hx, err);
        return rd__cmd(b, RD_IDEMPOTENT, NULL, err, "DEL %b %b %b", k, (size_t)k_n,
                       h, (size_t)h_n, hx, (size_t)hx_n);
    }
}

/* ---------------- history ---------------- */

static int rd_history_append(void *vb, const char *sid, const char *turn,
                             int window, int64_t expires_at, store_err *err)
{
    rd *b = vb;
    char h[512], hx[512], win[24], ttl[24], now[24], exp[24];
    int rc = store__check_json(turn, "turn", err);
    if (rc != 0)
        return rc;
    {
        KEY(b, "h:", sid, h, err);
        KEY(b, "hx:", sid, hx, err);
        snprintf(win, sizeof win, "%d", window);
        snprintf(ttl, sizeof ttl, "%lld", (long long)ttl_ms(b, expires_at));
        snprintf(now, sizeof now, "%lld", (long long)store_now_ms(b->owner));
        snprintf(exp, sizeof exp, "%lld", (long long)expires_at);
        const char *argv[] = {h, hx, turn, win, ttl, now, exp};
        /* RPUSH twice would duplicate the turn: never retried blindly */
        return rd__script(b, RD_S_HIST_APPEND, 0, NULL, err, 2, 7, argv, NULL);
    }
}

static int rd_history_get(void *vb, const char *sid, int64_t now, char **out,
                          store_err *err)
{
    rd *b = vb;
    char h[512], hx[512], nows[24];
    redisReply *r;
    json_object *a;
    int rc;
    KEY(b, "h:", sid, h, err);
    KEY(b, "hx:", sid, hx, err);
    snprintf(nows, sizeof nows, "%lld", (long long)now);
    const char *argv[] = {h, hx, nows};
    if ((rc = rd__script(b, RD_S_HIST_GET, RD_IDEMPOTENT, &r, err, 2, 3, argv, NULL)))
        return rc;
    a = json_object_new_array();
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        redisReply *e = r->element[i];
        json_object *v = e->type == REDIS_REPLY_STRING ? json_tokener_parse(e->str) : NULL;
        if (!v && e->type == REDIS_REPLY_STRING && strcmp(e->str, "null"))
            v = json_object_new_string(e->str);
        json_object_array_add(a, v);
    }
    freeReplyObject(r);
    *out = strdup(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN));
    json_object_put(a);
    return *out ? 0 : store__fail(err, STORE_ENOMEM, "out of memory");
}

/* ---------------- refresh tokens ---------------- */

static int rd_token_put(void *vb, const char *hash, const char *family,
                        int64_t user, int64_t expires_at, store_err *err)
{
    rd *b = vb;
    char t[512], f[512], us[24], xs[24], ttl[24];
    redisReply *r;
    int rc;
    KEY(b, "t:", hash, t, err);
    KEY(b, "f:", family, f, err);
    snprintf(us, sizeof us, "%lld", (long long)user);
    snprintf(xs, sizeof xs, "%lld", (long long)expires_at);
    snprintf(ttl, sizeof ttl, "%lld", (long long)(ttl_ms(b, expires_at) + RD_TOKEN_GRACE_MS));
    const char *argv[] = {t, f, family, us, xs, ttl};
    if ((rc = rd__script(b, RD_S_TOKEN_PUT, 0, &r, err, 2, 6, argv, NULL)) != 0)
        return rc;
    rc = r->type == REDIS_REPLY_INTEGER && r->integer == -2
             ? store__fail(err, STORE_EEXIST, "token hash already stored") : 0;
    freeReplyObject(r);
    return rc;
}

static int rd_token_rotate(void *vb, const char *old_hash, const char *new_hash,
                           int64_t new_expires, int64_t now, store_token *out,
                           store_err *err)
{
    rd *b = vb;
    char o[512], n[512], xs[24], nows[24], ttl[24];
    redisReply *r;
    int rc;
    long long code;
    KEY(b, "t:", old_hash, o, err);
    KEY(b, "t:", new_hash, n, err);
    snprintf(xs, sizeof xs, "%lld", (long long)new_expires);
    snprintf(nows, sizeof nows, "%lld", (long long)now);
    snprintf(ttl, sizeof ttl, "%lld", (long long)(ttl_ms(b, new_expires) + RD_TOKEN_GRACE_MS));
    const char *argv[] = {o, n, xs, nows, ttl, b->url.prefix};
    /* a lost reply must not be retried: the retry would see the token as
     * used and revoke a family whose rotation in fact succeeded */
    if ((rc = rd__script(b, RD_S_TOKEN_ROTATE, 0, &r, err, 2, 6, argv, NULL)) != 0)
        return rc;
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
        r->element[0]->type != REDIS_REPLY_INTEGER) {
        freeReplyObject(r);
        return store__fail(err, STORE_EIO, "unexpected reply from rotate script");
    }
    code = r->element[0]->integer;
    if ((code == 0 || code == -13) && out && r->elements >= 3 &&
        r->element[1]->type == REDIS_REPLY_STRING && r->element[2]->type == REDIS_REPLY_STRING) {
        /* a revoked or reused token still tells whose family it was, so
         * the caller can end that family's access tokens too */
        memset(out, 0, sizeof *out);
        snprintf(out->family, sizeof out->family, "%s", r->element[1]->str);
        out->user_id = strtoll(r->element[2]->str, NULL, 10);
        if (code == 0)
            out->expires_at = new_expires;
    }
    if (code == 0 && r->elements >= 3)
        rc = 0;
    else if (code == -1)
        rc = store__fail(err, STORE_ENOTFOUND, "unknown refresh token");
    else if (code == -2)
        rc = store__fail(err, STORE_EEXIST, "new token hash already stored");
    else if (code == -14)
        rc = store__fail(err, STORE_EEXPIRED, "refresh token expired");
    else if (r->elements >= 4 && r->element[3]->type == REDIS_REPLY_STRING && r->element[3]->str[0] == '1')
        rc = store__fail(err, STORE_EREVOKED, "refresh token reused; family revoked");
    else
        rc = store__fail(err, STORE_EREVOKED, "refresh token family revoked");
    freeReplyObject(r);
    return rc;
}

static int rd_token_revoke_family(void *vb, const char *family, store_err *err)
{
    rd *b = vb;
    char f[512], fr[512];
    KEY(b, "f:", family, f, err);
    KEY(b, "fr:", family, fr, err);
    const char *argv[] = {f, fr};
    return rd__script(b, RD_S_TOKEN_REVOKE, RD_IDEMPOTENT, NULL, err, 2, 2, argv, NULL);
}

/* ---------------- counters ---------------- */

static int rd_ratelimit_take(void *vb, const char *key, double rate,
                             double burst, int64_t now, double *retry_after,
                             store_err *err)
{
    rd *b = vb;
    char k[512], rs[40], bs[40], ns[24];
    redisReply *r;
    int rc;
    double retry = 0;
    KEY(b, "rl:", key, k, err);
    snprintf(rs, sizeof rs, "%.17g", rate);
    snprintf(bs, sizeof bs, "%.17g", burst);
    snprintf(ns, sizeof ns, "%lld", (long long)now);
    const char *argv[] = {k, rs, bs, ns};
    if ((rc = rd__script(b, RD_S_BUCKET, 0, &r, err, 1, 4, argv, NULL)) != 0)
        return rc;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_INTEGER ||
        r->element[1]->type != REDIS_REPLY_STRING) {
        freeReplyObject(r);
        return store__fail(err, STORE_EIO, "unexpected reply from bucket script");
    }
    rc = r->element[0]->integer ? 0 : STORE_ELIMITED;
    retry = strtod(r->element[1]->str, NULL);
    freeReplyObject(r);
    if (retry_after)
        *retry_after = rc ? retry : 0;
    if (rc)
        store__fail(err, STORE_ELIMITED, "rate limited; retry in %.2f s", retry);
    return rc;
}

static int rd_counter_add(void *vb, const char *key, int64_t delta,
                          int64_t *value, store_err *err)
{
    rd *b = vb;
    char k[512];
    redisReply *r;
    int rc;
    KEY(b, "n:", key, k, err);
    if ((rc = rd__cmd(b, 0, &r, err, "INCRBY %b %lld", k, (size_t)k_n,
                      (long long)delta)) != 0)
        return rc;
    if (value)
        *value = r->integer;
    freeReplyObject(r);
    return 0;
}

/* ---------------- request replay keys ---------------- */

/* A replay-key script's answer {code, result?}: 0 (taken or written),
 * 2 (STORE_EBUSY: a holder), 1 (STORE_EEXIST with *result, malloc'd). */
static int once_answer(const redisReply *r, char **result, store_err *err)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 || r->element[0]->type != REDIS_REPLY_INTEGER)
        return store__fail(err, STORE_EIO, "unexpected reply from once script");
    if (r->element[0]->integer == 0)
        return 0;
    if (r->element[0]->integer == 2)
        return store__fail(err, STORE_EBUSY, "in progress elsewhere; try again");
    if (r->elements < 2 || r->element[1]->type != REDIS_REPLY_STRING)
        return store__fail(err, STORE_EIO, "once key has no result");
    if (!(*result = dupn(r->element[1]->str, r->element[1]->len)))
        return store__fail(err, STORE_ENOMEM, "out of memory");
    return store__fail(err, STORE_EEXIST, "already done: its result is kept");
}

static int rd_once_begin(void *vb, const char *key, int64_t now,
                         int64_t lease_until, int lease_ms, char **result,
                         store_err *err)
{
    rd *b = vb;
    char k[512], ns[24], xs[24], px[24];
    redisReply *r;
    int rc;
    KEY(b, "o:", key, k, err);
    snprintf(ns, sizeof ns, "%lld", (long long)now);
    snprintf(xs, sizeof xs, "%lld", (long long)lease_until);
    snprintf(px, sizeof px, "%d", lease_ms);
    const char *argv[] = {k, ns, xs, px};
    /* not retried: a retry after a lost reply would find our own
     * reservation and answer "busy" until the lease ran out */
    if ((rc = rd__script(b, RD_S_ONCE_BEGIN, 0, &r, err, 1, 4, argv, NULL)) != 0)
        return rc;
    rc = once_answer(r, result, err);
    freeReplyObject(r);
    return rc;
}

static int rd_once_finish(void *vb, const char *key, const char *result,
                          int64_t now, int64_t expires_at, store_err *err)
{
    rd *b = vb;
    char k[512], ns[24], xs[24], px[24];
    redisReply *r;
    int rc;
    KEY(b, "o:", key, k, err);
    snprintf(ns, sizeof ns, "%lld", (long long)now);
    snprintf(xs, sizeof xs, "%lld", (long long)expires_at);
    snprintf(px, sizeof px, "%lld", (long long)ttl_ms(b, expires_at));
    const char *argv[] = {k, result, ns, xs, px};
    if ((rc = rd__script(b, RD_S_ONCE_FINISH, 0, &r, err, 1, 5, argv, NULL)) != 0)
        return rc;
    if (r->type == REDIS_REPLY_INTEGER && r->integer == 1)
        rc = store__fail(err, STORE_EEXIST, "key already has a result; the first is kept");
    freeReplyObject(r);
    return rc;
}

/* A turn's save as one script (RD_S_SAVE_ONCE): first = 1 writes only
 * onto a key with no live record (STORE_EEXIST with *kept, STORE_EBUSY);
 * first = 0 is the holder's (*once_rc STORE_EEXIST when a result was
 * there already; the session written either way). */
static int save_script(rd *b, int first, const char *sid, const char *json, int64_t expires_at,
                       const char *turn, int window, int64_t history_expires_at, const char *key,
                       const char *result, int64_t now, int64_t once_expires_at, char **kept,
                       int *once_rc, store_err *err)
{
    char o[512], sk[512], h[512], hx[512], ns[24], ox[24], opx[24], spx[24], win[24], hpx[24], hexp[24];
    char *v;
    size_t vl = strlen(json);
    redisReply *r;
    int rc = store__check_json(turn, "turn", err);
    if (rc != 0)
        return rc;
    {
        KEY(b, "o:", key, o, err);
        KEY(b, "s:", sid, sk, err);
        KEY(b, "h:", sid, h, err);
        KEY(b, "hx:", sid, hx, err);
    }
    if (!(v = malloc(vl + 24)))
        return store__fail(err, STORE_ENOMEM, "out of memory");
    int hn = snprintf(v, 24, "%lld\n", (long long)expires_at);
    memcpy(v + hn, json, vl + 1);
    snprintf(ns, sizeof ns, "%lld", (long long)now);
    snprintf(ox, sizeof ox, "%lld", (long long)once_expires_at);
    snprintf(opx, sizeof opx, "%lld", (long long)ttl_ms(b, once_expires_at));
    snprintf(spx, sizeof spx, "%lld", (long long)ttl_ms(b, expires_at));
    snprintf(win, sizeof win, "%d", window);
    snprintf(hpx, sizeof hpx, "%lld", (long long)ttl_ms(b, history_expires_at));
    snprintf(hexp, sizeof hexp, "%lld", (long long)history_expires_at);
    const char *argv[] = {o, sk, h, hx, first ? "1" : "0", ns, result, ox, opx, v, spx, turn, win, hpx, hexp};
    /* RPUSH twice would duplicate the turn: never retried blindly */
    rc = rd__script(b, RD_S_SAVE_ONCE, 0, &r, err, 4, 15, argv, NULL);
    free(v);
    if (rc != 0)
        return rc;
    if (!first && r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
        r->element[0]->type == REDIS_REPLY_INTEGER && r->element[0]->integer == 1)
        *once_rc = STORE_EEXIST;   /* the session is saved; the first result stays */
    else
        rc = once_answer(r, kept, err);
    freeReplyObject(r);
    return rc;
}

static int rd_session_save_once(void *vb, const char *sid, const char *json, int64_t expires_at,
                                const char *turn, int window, int64_t history_expires_at,
                                const char *key, const char *result, int64_t now,
                                int64_t once_expires_at, char **first, store_err *err)
{
    int orc = 0;
    return save_script(vb, 1, sid, json, expires_at, turn, window, history_expires_at, key, result, now,
                       once_expires_at, first, &orc, err);
}

static int rd_session_save_replay(void *vb, const char *sid, const char *json, int64_t expires_at,
                                  const char *turn, int window, int64_t history_expires_at,
                                  const char *key, const char *result, int64_t now,
                                  int64_t once_expires_at, int *once_rc, store_err *once_err,
                                  store_err *err)
{
    *once_rc = 0;
    int rc = save_script(vb, 0, sid, json, expires_at, turn, window, history_expires_at, key, result, now,
                         once_expires_at, NULL, once_rc, err);
    if (rc < 0)
        *once_rc = rc;   /* nothing written: neither is kept */
    if (rc < 0 && once_err && err)
        *once_err = *err;
    if (*once_rc == STORE_EEXIST)
        store__fail(once_err, STORE_EEXIST, "key already has a result; the first is kept");
    return rc;
}

/* A replay key's fields (s, x, r; a missing one nil or "") read back:
 * 0 (none, or expired), STORE_EBUSY, or STORE_EEXIST with *result. */
static int once_state(redisReply **f, int64_t now, char **result, store_err *err)
{
    if (f[0]->type != REDIS_REPLY_STRING || !f[0]->len || f[1]->type != REDIS_REPLY_STRING ||
        strtoll(f[1]->str, NULL, 10) <= now)
        return 0;
    if (f[0]->str[0] != 'd')
        return store__fail(err, STORE_EBUSY, "in progress elsewhere; try again");
    if (f[2]->type != REDIS_REPLY_STRING)
        return store__fail(err, STORE_EIO, "once key has no result");
    if (!(*result = dupn(f[2]->str, f[2]->len)))
        return store__fail(err, STORE_ENOMEM, "out of memory");
    return store__fail(err, STORE_EEXIST, "already done: its result is kept");
}

static int rd_once_peek(void *vb, const char *key, int64_t now, char **result, store_err *err)
{
    rd *b = vb;
    char k[512];
    redisReply *r;
    int rc;
    KEY(b, "o:", key, k, err);
    if ((rc = rd__cmd(b, RD_IDEMPOTENT, &r, err, "HMGET %b s x r", k, (size_t)k_n)) != 0)
        return rc;
    rc = r->type == REDIS_REPLY_ARRAY && r->elements == 3 ? once_state(r->element, now, result, err)
                                                          : store__fail(err, STORE_EIO, "unexpected reply from HMGET");
    freeReplyObject(r);
    return rc;
}

static int rd_session_get_replay(void *vb, const char *sid, const char *key, int64_t now, char **json,
                                 char **result, store_err *err)
{
    rd *b = vb;
    char k[512], sk[512];
    redisReply *r;
    int rc;
    KEY(b, "o:", key, k, err);
    KEY(b, "s:", sid, sk, err);
    const char *argv[] = {k, sk};
    if ((rc = rd__script(b, RD_S_SESSION_PEEK, RD_IDEMPOTENT, &r, err, 2, 2, argv, NULL)) != 0)
        return rc;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 4)
        rc = store__fail(err, STORE_EIO, "unexpected reply from session script");
    else if ((rc = once_state(r->element, now, result, err)) == 0 &&
             (rc = kv_text(r->element[3], now, json, err)) == STORE_ENOTFOUND)
        rc = 0;
    freeReplyObject(r);
    return rc;
}

static int rd_once_abort(void *vb, const char *key, store_err *err)
{
    rd *b = vb;
    char k[512];
    KEY(b, "o:", key, k, err);
    const char *argv[] = {k};
    return rd__script(b, RD_S_ONCE_ABORT, RD_IDEMPOTENT, NULL, err, 1, 1, argv, NULL);
}

/* ---------------- lifetime ---------------- */

static void rd_close(void *vb)
{
    rd *b = vb;
    if (!b)
        return;
    rd__pool_close(b);
    free(b);
}

static int rd_open(const store_config *cfg, const store *owner, void **out,
                   store_err *err)
{
    rd *b = calloc(1, sizeof *b);
    int rc;
    if (!b)
        return store__fail(err, STORE_ENOMEM, "out of memory");
    b->owner = owner;
    if ((rc = rd__parse_url(cfg->redis_url, &b->url, err)) != 0 ||
        (rc = rd__pool_open(b, cfg->pool_size > 0 ? cfg->pool_size : 8, err)) != 0) {
        rd_close(b);
        return rc;
    }
    *out = b;
    return 0;
}

static int rd_ping(void *vb, store_err *err)
{
    return rd__cmd(vb, RD_IDEMPOTENT, NULL, err, "PING");
}

const store__ops store__redis_ops = {
    .name = "redis",
    .open = rd_open,
    .close = rd_close,
    .ping = rd_ping,
    .kv_put = rd_kv_put,
    .kv_get = rd_kv_get,
    .kv_delete = rd_kv_delete,
    .history_append = rd_history_append,
    .history_get = rd_history_get,
    .token_put = rd_token_put,
    .token_rotate = rd_token_rotate,
    .token_revoke_family = rd_token_revoke_family,
    .ratelimit_take = rd_ratelimit_take,
    .counter_add = rd_counter_add,
    .once_begin = rd_once_begin,
    .once_finish = rd_once_finish,
    .once_abort = rd_once_abort,
    .once_peek = rd_once_peek,
    .session_get_replay = rd_session_get_replay,
    .session_save_once = rd_session_save_once,
    .session_save_replay = rd_session_save_replay,
    .event_publish = rd__event_publish,
    .event_subscribe = rd__event_subscribe,
    .event_unsubscribe = rd__event_unsubscribe,
};
