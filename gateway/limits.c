/* gateway/limits.c — abuse limits: token buckets per client IP and per
 * user (or anonymous session) through store_ratelimit_take, so that with
 * Redis they hold across instances; login backoff per account and per
 * address (same store, same reason); revoked refresh families; and the
 * cap on concurrent connections per IP, counted in this process (the
 * connections themselves and the worker budget are in conns.c). */
#include "gw_int.h"
#include <inttypes.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gw__client_ip(gw_server *s, const struct mg_connection *c, char *buf, size_t n)
{
    const struct mg_request_info *ri = mg_get_request_info(c);
    gw__client_ip_from(s, ri ? ri->remote_addr : "?", mg_get_header(c, "X-Forwarded-For"), buf, n);
}

void gw__client_ip_from(gw_server *s, const char *peer, const char *xff, char *buf, size_t n)
{
    snprintf(buf, n, "%s", peer);
    const char *tp = s->cfg.trusted_proxy;
    if (!tp || !*tp || strcmp(buf, tp) != 0)
        return;
    /* behind our own proxy the client is the last hop it appended */
    if (!xff)
        return;
    const char *last = strrchr(xff, ',');
    last = last ? last + 1 : xff;
    while (*last == ' ')
        last++;
    size_t len = strcspn(last, " ");
    bool ok = len > 0 && len < n;
    for (size_t i = 0; ok && i < len; i++)
        ok = strchr("0123456789abcdefABCDEF.:", last[i]) != NULL;
    if (ok) {
        memcpy(buf, last, len);
        buf[len] = 0;
    }
}

int gw__rate_take(gw_server *s, const char *ip, const gw_principal *who)
{
    char key[160];
    double retry = 0;
    int64_t now = store_now_ms(s->st);
    if (s->cfg.ip_rps > 0 && ip) {
        snprintf(key, sizeof key, "rl:ip:%s", ip);
        if (store_ratelimit_take(s->st, key, s->cfg.ip_rps, s->cfg.ip_burst, now, &retry, NULL) == STORE_ELIMITED) {
            gw__metrics_ratelimited(s->metrics, "ip");
            return retry < 1 ? 1 : (int)ceil(retry);
        }
    }
    if (s->cfg.user_rps > 0 && who && who->authenticated) {
        if (who->user_id)
            snprintf(key, sizeof key, "rl:user:%" PRId64, who->user_id);
        else
            snprintf(key, sizeof key, "rl:sid:%s", who->sid);
        if (store_ratelimit_take(s->st, key, s->cfg.user_rps, s->cfg.user_burst, now, &retry, NULL) ==
            STORE_ELIMITED) {
            gw__metrics_ratelimited(s->metrics, "user");
            return retry < 1 ? 1 : (int)ceil(retry);
        }
    }
    /* a store error lets the request through: limits protect the
     * service, they must not take it down with the store */
    return 0;
}

/* ---- login backoff ----
 * Each account (by a hash of its lower-cased e-mail, known or not) and
 * each client address has a failure streak (store_counter_add) and a
 * token bucket whose refill slows as the streak grows: `tries` attempts
 * at once, then one per 1 s, 2 s, 4 s ... up to login_max_backoff_s.
 * The account's bucket is taken before the password is checked,
 * atomically in the store, so parallel guesses from any number of
 * addresses or instances share it; an address's bucket only once that
 * address has failed (parallel guesses at a clean address are bounded by
 * the account buckets and the general per-IP limiter).  It is a backoff,
 * not a lock: a success ends the account's streak, and a streak with no
 * failure for an hour is forgotten. */

#define LOGIN_STREAK_TTL_S 3600

static void login_key(char *buf, size_t n, const char *kind, const char *ip, const char *account)
{
    if (ip) {
        snprintf(buf, n, "login:%s:ip:%s", kind, ip);
        return;
    }
    char low[256];
    size_t i = 0;
    for (; account[i] && i + 1 < sizeof low; i++)
        low[i] = (char)((account[i] >= 'A' && account[i] <= 'Z') ? account[i] + 32 : account[i]);
    low[i] = 0;
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)low, i);
    char hex[33];
    sodium_bin2hex(hex, sizeof hex, h, 16);
    snprintf(buf, n, "login:%s:acct:%s", kind, hex);
}

static double login_take(gw_server *s, const char *ip, const char *account, int tries)
{
    if (tries <= 0)
        return 0;
    char fk[160], bk[160];
    login_key(fk, sizeof fk, "fails", ip, account);
    login_key(bk, sizeof bk, "bucket", ip, account);
    int64_t n = 0;
    if (store_counter_add(s->st, fk, 0, &n, NULL) < 0)
        n = 0;
    /* an address with no failure takes nothing: many good logins share
     * one address behind a NAT or a proxy */
    if (ip && n <= 0)
        return 0;
    double rate = 1.0, burst = tries;
    if (n >= tries) {
        int cap = s->cfg.login_max_backoff_s > 0 ? s->cfg.login_max_backoff_s : 900;
        double d = n - tries >= 30 ? cap : fmin((double)(1LL << (n - tries)), cap);
        rate = 1.0 / d, burst = 1;
    }
    double retry = 0;
    if (store_ratelimit_take(s->st, bk, rate, burst, store_now_ms(s->st), &retry, NULL) == STORE_ELIMITED)
        return retry < 1 ? 1 : retry;
    return 0;
}

int gw__login_gate(gw_server *s, const char *ip, const char *account)
{
    double a = login_take(s, NULL, account, s->cfg.login_tries);
    double b = a > 0 ? 0 : login_take(s, ip, NULL, s->cfg.login_ip_tries);
    double w = fmax(a, b);
    if (w > 0)
        gw__metrics_ratelimited(s->metrics, "login");
    return w > 0 ? (int)ceil(w) : 0;
}

static void login_streak(gw_server *s, const char *ip, const char *account, bool ok)
{
    char fk[160], seen[160];
    login_key(fk, sizeof fk, "fails", ip, account);
    login_key(seen, sizeof seen, "seen", ip, account);
    int64_t n = 0;
    if (ok) {
        if (store_counter_add(s->st, fk, 0, &n, NULL) == 0 && n != 0)
            store_counter_add(s->st, fk, -n, NULL, NULL);
        return;
    }
    char *v = NULL;
    bool recent = store_cache_get(s->st, seen, &v, NULL) == 0;
    free(v);
    if (store_counter_add(s->st, fk, 1, &n, NULL) == 0 && !recent && n > 1)
        store_counter_add(s->st, fk, 1 - n, NULL, NULL);   /* an old streak: start again */
    store_cache_put(s->st, seen, "1", LOGIN_STREAK_TTL_S, NULL);
}

void gw__login_result(gw_server *s, const char *ip, const char *account, bool ok)
{
    login_streak(s, NULL, account, ok);
    /* an address's streak is not ended by one success: a guesser who
     * owns one account must not reset its count against the others */
    if (!ok)
        login_streak(s, ip, NULL, ok);
}

/* ---- revoked refresh families (logout, refresh-token reuse) ---- */

void gw__revoke_family(gw_server *s, const char *family)
{
    if (!family || !*family)
        return;
    char k[128];
    snprintf(k, sizeof k, "revoked:fam:%.80s", family);
    /* as long as an access token of the family may still live */
    store_cache_put(s->st, k, "1", s->cfg.access_ttl_s + 60, NULL);
}

bool gw__family_revoked(gw_server *s, const char *family)
{
    if (!family || !*family)
        return false;
    char k[128], *v = NULL;
    snprintf(k, sizeof k, "revoked:fam:%.80s", family);
    /* a store error lets the token through: the store being down must
     * not log everyone out; the exposure is one access-token lifetime */
    int rc = store_cache_get(s->st, k, &v, NULL);
    free(v);
    return rc == 0;
}

int gw__conn_enter(gw_server *s, const char *ip)
{
    int rc = 0;
    pthread_mutex_lock(&s->ip_mu);
    gw_ipcount *e = s->ips;
    while (e && strcmp(e->ip, ip) != 0)
        e = e->next;
    if (!e && (e = calloc(1, sizeof *e))) {
        snprintf(e->ip, sizeof e->ip, "%s", ip);
        e->next = s->ips;
        s->ips = e;
    }
    if (!e || (s->cfg.max_conns_per_ip > 0 && e->n >= s->cfg.max_conns_per_ip))
        rc = -1;
    else
        e->n++;
    pthread_mutex_unlock(&s->ip_mu);
    return rc;
}

void gw__conn_leave(gw_server *s, const char *ip)
{
    pthread_mutex_lock(&s->ip_mu);
    for (gw_ipcount **pp = &s->ips; *pp; pp = &(*pp)->next) {
        gw_ipcount *e = *pp;
        if (strcmp(e->ip, ip) == 0) {
            if (--e->n <= 0) {
                *pp = e->next;
                free(e);
            }
            break;
        }
    }
    pthread_mutex_unlock(&s->ip_mu);
}
