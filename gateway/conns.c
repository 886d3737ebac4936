/* gateway/conns.c — civetweb's connections and the budget of its worker
 * threads.  civetweb gives every connection a worker from accept to close,
 * including while it waits for a request's headers (a half-open request,
 * slowloris), for the next request on a keep-alive connection, or for the
 * next frame of a WebSocket it carries (ws.listen: none).  Those waits are
 * counted here from init_connection, under the peer address (no header is
 * read yet, so no X-Forwarded-For), and kept to two budgets:
 *   - per peer address, at most http.max_idle_per_ip half-open requests
 *     (connections that have not had a request answered yet): past it
 *     the address's oldest is closed;
 *   - in all, waits (half-open or keep-alive) + civetweb WebSockets stay
 *     under num_threads - reserve (http.thread_reserve): past it the
 *     oldest wait anywhere is closed.
 * Only waits older than WAIT_GRACE_MS are closed, on each new wait and by
 * a sweeper thread every WAIT_SWEEP_MS.  A request whose headers arrive
 * in time is never the oldest wait, so a slowloris pays with its own
 * connections, and `reserve` workers are left for requests being
 * answered (/healthz, REST).  civetweb has no way to
 * close a connection from init_connection (its return is ignored) and
 * does not expose the socket, so the socket is found once by its
 * addresses (getpeername/getsockname over our descriptors) and closed
 * with shutdown(2): the worker's read ends at once and civetweb closes
 * the connection itself; the descriptor is never closed here, and
 * connection_close (which runs before civetweb closes it) takes the entry
 * out under the same lock, so a shutdown never reaches a reused number.
 * What stays unprotected: a request in a handler holds its worker (turns
 * have their own deadline), and a request's body is bounded by
 * http.request_timeout_ms as before. */
#include "gw_int.h"
#include <arpa/inet.h>
#include <netdb.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

enum { C_WAIT, C_BUSY, C_WS };

/* Per-connection state civetweb keeps for us (init_connection). */
typedef struct gw_conn {
    struct gw_conn *prev, *next;   /* s->conns, under s->conn_mu */
    gw_server *s;
    char peer[48];   /* the socket's peer address */
    char ip[64];     /* the client it was counted under (gw__conn_admit) */
    int counted;     /* 1: counted in s->ips; -1: refused (over the cap) */
    int rport, lport;   /* the peer's port and ours: how its socket is found */
    int fd;          /* the socket: FD_UNKNOWN until needed, FD_NONE when not found */
    int state;       /* C_WAIT, C_BUSY, C_WS */
    int evicted;     /* shut down by the budget: no longer counted */
    int served;      /* a request of it has been answered (keep-alive) */
    int64_t since;   /* when its current wait began (ms, monotonic) */
    void *ws;        /* the WebSocket transport's state (ws.c) */
} gw_conn;

#define FD_UNKNOWN -1   /* not looked for yet: only evictions and civetweb /ws need it */
#define FD_NONE -2

static int64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* an address as civetweb writes it (getnameinfo, NI_NUMERICHOST: an IPv6
 * scope included), and its port */
static int addr_str(const struct sockaddr_storage *a, socklen_t al, char *buf, size_t n, int *port)
{
    if (a->ss_family == AF_INET)
        *port = ntohs(((const struct sockaddr_in *)(const void *)a)->sin_port);
    else if (a->ss_family == AF_INET6)
        *port = ntohs(((const struct sockaddr_in6 *)(const void *)a)->sin6_port);
    else
        return -1;
    return getnameinfo((const struct sockaddr *)a, al, buf, (socklen_t)n, NULL, 0, NI_NUMERICHOST) == 0 ? 0 : -1;
}

/* The descriptor of the accepted socket whose peer is `peer`:`rport` and
 * whose local port is `lport`; -1 if none.  accept hands out the lowest
 * free number, so the scan is about as long as the number of open
 * descriptors (the event loop's sockets too): it runs only when a
 * connection must be closed or carries civetweb's /ws, never per
 * request; it stops after a long run of unused numbers. */
static int find_fd(const char *peer, int rport, int lport)
{
    int gap = 0;
    for (int fd = 0; fd < 1 << 20 && gap < 1024; fd++) {
        struct sockaddr_storage a;
        socklen_t al = sizeof a;
        if (getpeername(fd, (struct sockaddr *)&a, &al) != 0) {
            gap = errno == EBADF ? gap + 1 : 0;
            continue;
        }
        gap = 0;
        char host[NI_MAXHOST];
        int port = -1;
        if (a.ss_family != AF_INET && a.ss_family != AF_INET6)
            continue;
        port = ntohs(a.ss_family == AF_INET ? ((struct sockaddr_in *)(void *)&a)->sin_port
                                            : ((struct sockaddr_in6 *)(void *)&a)->sin6_port);
        if (port != rport || addr_str(&a, al, host, sizeof host, &port) < 0 || strcmp(host, peer) != 0)
            continue;
        al = sizeof a;
        int here = -1;
        if (getsockname(fd, (struct sockaddr *)&a, &al) == 0 && addr_str(&a, al, host, sizeof host, &here) == 0 &&
            here == lport)
            return fd;
    }
    return -1;
}

static int reserve_of(const gw_server *s)
{
    int r = s->cfg.thread_reserve, most = s->cfg.num_threads / 4;
    if (r > most)
        r = most;
    return r < 1 ? 1 : r;
}

/* state changes keep s->n_wait and s->n_ws; under conn_mu */
static void set_state(gw_conn *g, int state)
{
    gw_server *s = g->s;
    if (g->state == C_WAIT && !g->evicted)
        s->n_wait--;
    else if (g->state == C_WS)
        s->n_ws--;
    g->state = state;
    if (state == C_WAIT && !g->evicted)
        s->n_wait++, g->since = mono_ms();
    else if (state == C_WS)
        s->n_ws++;
}

/* A wait younger than this is never closed: a burst of parallel requests
 * from one client (or many) is over a budget for the few milliseconds
 * its headers take to arrive, a slowloris for seconds.  It is also the
 * longest a burst of half-open connections can hold every worker: the
 * sweeper (every WAIT_SWEEP_MS) closes the oldest once they are older. */
#define WAIT_GRACE_MS 500
#define WAIT_SWEEP_MS 100

/* Close the oldest wait older than the grace (of `peer` and not yet
 * served, or anywhere when NULL): true if one was closed.  Under conn_mu. */
/* g's socket, looked for the first time it is needed; -1 if not found.
 * Under conn_mu (the close callback takes it before civetweb closes). */
static int conn_fd(gw_conn *g)
{
    if (g->fd == FD_UNKNOWN) {
        int fd = g->peer[0] ? find_fd(g->peer, g->rport, g->lport) : -1;
        g->fd = fd >= 0 ? fd : FD_NONE;
    }
    return g->fd >= 0 ? g->fd : -1;
}

static bool evict_oldest(gw_server *s, const char *peer, int64_t now)
{
    gw_conn *old;
    do {
        old = NULL;
        for (gw_conn *g = s->conns; g; g = g->next)
            if (g->state == C_WAIT && !g->evicted && g->fd != FD_NONE && now - g->since >= WAIT_GRACE_MS &&
                (!peer || (!g->served && strcmp(g->peer, peer) == 0)) && (!old || g->since < old->since))
                old = g;
        if (!old)
            return false;
    } while (conn_fd(old) < 0);
    shutdown(old->fd, SHUT_RDWR);
    old->evicted = 1;
    s->n_wait--;
    s->n_evicted++;
    return true;
}

/* half-open requests of `peer`; under conn_mu */
static int half_open(gw_server *s, const char *peer)
{
    int n = 0;
    for (gw_conn *e = s->conns; e; e = e->next)
        n += e->state == C_WAIT && !e->evicted && !e->served && strcmp(e->peer, peer) == 0;
    return n;
}

/* the two budgets, for `g` (a new wait) or, with NULL, every address.
 * Under conn_mu. */
static void enforce(gw_server *s, gw_conn *g)
{
    int64_t now = mono_ms();
    int cap = s->cfg.max_idle_per_ip;
    if (cap > 0 && g && g->state == C_WAIT && !g->evicted && !g->served) {
        for (int n = half_open(s, g->peer); n > cap && evict_oldest(s, g->peer, now); n--)
            ;
    } else if (cap > 0 && !g) {
        for (gw_conn *e = s->conns; e; e = e->next)
            if (e->state == C_WAIT && !e->evicted && !e->served && now - e->since >= WAIT_GRACE_MS)
                for (int n = half_open(s, e->peer); n > cap && evict_oldest(s, e->peer, now); n--)
                    ;
    }
    int room = s->cfg.num_threads - reserve_of(s);
    while (s->n_wait + s->n_ws > room && evict_oldest(s, NULL, now))
        ;
}

static void *sweeper(void *arg)
{
    gw_server *s = arg;
    pthread_mutex_lock(&s->conn_mu);
    while (!s->sweep_stop) {
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_nsec += WAIT_SWEEP_MS * 1000000L;
        if (dl.tv_nsec >= 1000000000L)
            dl.tv_sec++, dl.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&s->sweep_cv, &s->conn_mu, &dl);
        if (!s->sweep_stop)
            enforce(s, NULL);
    }
    pthread_mutex_unlock(&s->conn_mu);
    return NULL;
}

int gw__conns_start(gw_server *s)
{
    if (pthread_create(&s->sweep_tid, NULL, sweeper, s) != 0)
        return -1;
    s->sweeping = 1;
    return 0;
}

void gw__conns_stop(gw_server *s)
{
    if (!s->sweeping)
        return;
    pthread_mutex_lock(&s->conn_mu);
    s->sweep_stop = 1;
    pthread_cond_signal(&s->sweep_cv);
    pthread_mutex_unlock(&s->conn_mu);
    pthread_join(s->sweep_tid, NULL);
    s->sweeping = 0;
}

void **gw__conn_slot(const struct mg_connection *c)
{
    gw_conn *g = mg_get_user_connection_data(c);
    return g ? &g->ws : NULL;
}

int gw__conn_init(const struct mg_connection *c, void **data)
{
    gw_server *s = mg_get_user_data(mg_get_context(c));
    const struct mg_request_info *ri = mg_get_request_info(c);
    if (!ri && s && s->civet_peek) {
        /* civetweb 1.15 has filled in the peer's address and port before
         * this callback, but answers NULL until connection_type (the
         * struct's first member) says "request" (1), which it sets right
         * after the callback returns: say it a moment early, ask, and put
         * it back.  Only on the version this was read in (gw_start). */
        int *type = (int *)(void *)c;
        if (*type == 0) {
            *type = 1;
            ri = mg_get_request_info(c);
            *type = 0;
        }
    }
    gw_conn *g = calloc(1, sizeof *g);
    *data = g;
    if (!g || !s)
        return 0;
    g->s = s;
    g->state = C_BUSY;
    g->fd = FD_UNKNOWN;
    if (ri) {
        snprintf(g->peer, sizeof g->peer, "%s", ri->remote_addr);
        g->rport = ri->remote_port, g->lport = ri->server_port;
    }
    pthread_mutex_lock(&s->conn_mu);
    g->next = s->conns;
    if (s->conns)
        s->conns->prev = g;
    s->conns = g;
    set_state(g, C_WAIT);
    enforce(s, g);
    pthread_mutex_unlock(&s->conn_mu);
    return 0;
}

void gw__conn_close(gw_server *s, const struct mg_connection *c)
{
    gw_conn *g = mg_get_user_connection_data(c);
    if (!g)
        return;
    if (g->s) {
        pthread_mutex_lock(&s->conn_mu);
        set_state(g, C_BUSY);
        if (g->prev)
            g->prev->next = g->next;
        else
            s->conns = g->next;
        if (g->next)
            g->next->prev = g->prev;
        pthread_mutex_unlock(&s->conn_mu);
    }
    if (g->counted == 1)
        gw__conn_leave(s, g->ip);
    mg_set_user_connection_data(c, NULL);
    free(g);
}

int gw__conn_begin(struct mg_connection *c)
{
    gw_conn *g = mg_get_user_connection_data(c);
    if (g && g->s) {
        pthread_mutex_lock(&g->s->conn_mu);
        set_state(g, C_BUSY);
        pthread_mutex_unlock(&g->s->conn_mu);
    }
    return 0;   /* civetweb goes on to our handlers */
}

void gw__conn_end(const struct mg_connection *c)
{
    gw_conn *g = mg_get_user_connection_data(c);
    if (g && g->s) {
        pthread_mutex_lock(&g->s->conn_mu);
        g->served = 1;
        set_state(g, C_WAIT);
        enforce(g->s, g);
        pthread_mutex_unlock(&g->s->conn_mu);
    }
}

int gw__conn_ws_admit(gw_server *s, const struct mg_connection *c)
{
    gw_conn *g = mg_get_user_connection_data(c);
    if (!g || !g->s)
        return 503;
    int rc = 0;
    pthread_mutex_lock(&s->conn_mu);
    if (s->n_ws >= s->cfg.num_threads - 2 * reserve_of(s))
        rc = 503;
    else if (s->cfg.max_idle_per_ip > 0) {
        int n = 0;
        for (gw_conn *e = s->conns; e; e = e->next)
            n += e->state == C_WS && strcmp(e->ip, g->ip) == 0;
        if (n >= s->cfg.max_idle_per_ip)
            rc = 429;
    }
    if (!rc) {
        set_state(g, C_WS);
        enforce(s, g);
    }
    pthread_mutex_unlock(&s->conn_mu);
    return rc;
}

int gw__conn_fd(const struct mg_connection *c)
{
    gw_conn *g = mg_get_user_connection_data(c);
    if (!g || !g->s)
        return -1;
    pthread_mutex_lock(&g->s->conn_mu);
    int fd = conn_fd(g);
    pthread_mutex_unlock(&g->s->conn_mu);
    return fd;
}

void gw__conn_counts(gw_server *s, int *waiting, int *ws, long *evicted)
{
    pthread_mutex_lock(&s->conn_mu);
    *waiting = s->n_wait, *ws = s->n_ws, *evicted = s->n_evicted;
    pthread_mutex_unlock(&s->conn_mu);
}

int gw__conn_admit(gw_server *s, const struct mg_connection *c, const char *ip)
{
    gw_conn *g = mg_get_user_connection_data(c);
    if (!g)
        return 0;
    if (g->counted == 0) {
        pthread_mutex_lock(&s->conn_mu);   /* gw__conn_ws_admit reads it */
        snprintf(g->ip, sizeof g->ip, "%s", ip);
        pthread_mutex_unlock(&s->conn_mu);
        g->counted = gw__conn_enter(s, ip) == 0 ? 1 : -1;
    }
    return g->counted == 1 ? 0 : -1;
}
