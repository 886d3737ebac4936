/* gateway/limits.c — abuse limits: token buckets per client IP and per
 * user (or anonymous session) through store_ratelimit_take, so that with
 * Redis they hold across instances; and the cap on concurrent
 * connections per IP, counted in this process. */
#include "gw_int.h"
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gw__client_ip(gw_server *s, const struct mg_connection *c, char *buf, size_t n)
{
    const struct mg_request_info *ri = mg_get_request_info(c);
    snprintf(buf, n, "%s", ri ? ri->remote_addr : "?");
    const char *tp = s->cfg.trusted_proxy;
    if (!tp || !*tp || strcmp(buf, tp) != 0)
        return;
    /* behind our own proxy the client is the last hop it appended */
    const char *xff = mg_get_header(c, "X-Forwarded-For");
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
    if (s->cfg.ip_rps > 0) {
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

/* Per-connection state civetweb keeps for us (init_connection): the IP
 * the connection was counted under, so connection_close can uncount it. */
typedef struct gw_conn {
    char ip[64];
    int counted;   /* 1: counted in s->ips; -1: refused (over the cap) */
    void *ws;      /* the WebSocket transport's state (ws.c) */
} gw_conn;

void **gw__conn_slot(const struct mg_connection *c)
{
    gw_conn *g = mg_get_user_connection_data(c);
    return g ? &g->ws : NULL;
}

int gw__conn_init(const struct mg_connection *c, void **data)
{
    (void)c;
    *data = calloc(1, sizeof(gw_conn));
    return 0;
}

void gw__conn_close(gw_server *s, const struct mg_connection *c)
{
    gw_conn *g = mg_get_user_connection_data(c);
    if (!g)
        return;
    if (g->counted == 1)
        gw__conn_leave(s, g->ip);
    mg_set_user_connection_data(c, NULL);
    free(g);
}

int gw__conn_admit(gw_server *s, const struct mg_connection *c, const char *ip)
{
    gw_conn *g = mg_get_user_connection_data(c);
    if (!g)
        return 0;
    if (g->counted == 0) {
        snprintf(g->ip, sizeof g->ip, "%s", ip);
        g->counted = gw__conn_enter(s, ip) == 0 ? 1 : -1;
    }
    return g->counted == 1 ? 0 : -1;
}
