/* stores/redis/redis_conn.c — the Redis backend's plumbing: URL parsing, a
 * small thread-safe pool of hiredis connections, and command execution that
 * survives a Redis restart (reconnect once, retry only what is idempotent). */
#include "redis_int.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- URL ---------------- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Copy [s, s+n) percent-decoded into out (passwords may hold '@' or ':'). */
static int decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
            hexval(s[i + 2]) >= 0) {
            c = hexval(s[i + 1]) * 16 + hexval(s[i + 2]);
            i += 2;
        }
        if (o + 1 >= cap)
            return -1;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return 0;
}

/* A bounded decimal: the whole [s, s+n) must be digits within [lo, hi]. */
static int parse_int(const char *s, size_t n, long lo, long hi, int *out)
{
    long v = 0;
    if (n == 0 || n > 9)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_opts(const char *q, rd_url *u, store_err *err)
{
    while (q && *q) {
        const char *amp = strchr(q, '&'), *eq = strchr(q, '=');
        size_t n = amp ? (size_t)(amp - q) : strlen(q);
        size_t kn, vn;
        const char *v;
        int bad = 0;
        if (!eq || eq > q + n)
            return store__fail(err, STORE_ECONFIG, "redis URL option without '=': %.*s",
                               (int)n, q);
        kn = (size_t)(eq - q);
        v = eq + 1;
        vn = n - kn - 1;
        if (kn == 2 && !strncmp(q, "db", 2))
            bad = parse_int(v, vn, 0, 100000, &u->db);
        else if (kn == 8 && !strncmp(q, "password", 8))
            bad = decode(v, vn, u->password, sizeof u->password);
        else if (kn == 6 && !strncmp(q, "prefix", 6))
            bad = decode(v, vn, u->prefix, sizeof u->prefix);
        else if (kn == 18 && !strncmp(q, "connect_timeout_ms", 18))
            bad = parse_int(v, vn, 1, 600000, &u->connect_timeout_ms);
        else if (kn == 10 && !strncmp(q, "timeout_ms", 10))
            bad = parse_int(v, vn, 1, 600000, &u->timeout_ms);
        else
            return store__fail(err, STORE_ECONFIG, "unknown redis URL option '%.*s'"
                               " (db, password, prefix, connect_timeout_ms,"
                               " timeout_ms)", (int)kn, q);
        if (bad)
            return store__fail(err, STORE_ECONFIG, "bad value for redis URL option"
                               " '%.*s'", (int)kn, q);
        q = amp ? amp + 1 : NULL;
    }
    return 0;
}

int rd__parse_url(const char *url, rd_url *u, store_err *err)
{
    const char *p, *end, *at, *q, *slash, *colon;
    memset(u, 0, sizeof *u);
    snprintf(u->prefix, sizeof u->prefix, "aisle:");
    u->port = 6379;
    u->connect_timeout_ms = 500;
    u->timeout_ms = 2000;
    if (!url || !*url)
        return store__fail(err, STORE_ECONFIG, "no Redis URL (set AISLE_REDIS_URL,"
                           " e.g. redis://127.0.0.1:6379/0)");
    q = strchr(url, '?');
    end = q ? q : url + strlen(url);
    if (!strncmp(url, "unix://", 7)) {
        p = url + 7;
        u->unix_socket = 1;
        u->port = 0;
        if (p == end || (size_t)(end - p) >= sizeof u->host)
            return store__fail(err, STORE_ECONFIG, "unix:// URL needs a socket path");
        memcpy(u->host, p, (size_t)(end - p));
        return parse_opts(q ? q + 1 : NULL, u, err);
    }
    if (!strncmp(url, "rediss://", 9))
        return store__fail(err, STORE_ECONFIG, "rediss:// (TLS) is not supported:"
                           " terminate TLS in front of Redis or use a private network");
    if (strncmp(url, "redis://", 8))
        return store__fail(err, STORE_ECONFIG, "Redis URL must start with redis://"
                           " or unix:// (got '%.40s')", url);
    p = url + 8;
    /* userinfo: the last '@' before the path, since passwords may hold '@' */
    slash = memchr(p, '/', (size_t)(end - p));
    at = NULL;
    for (const char *c = p; c < (slash ? slash : end); c++)
        if (*c == '@')
            at = c;
    if (at) {
        colon = memchr(p, ':', (size_t)(at - p));
        if (colon) {
            if (decode(p, (size_t)(colon - p), u->user, sizeof u->user) ||
                decode(colon + 1, (size_t)(at - colon - 1), u->password,
                       sizeof u->password))
                return store__fail(err, STORE_ECONFIG, "Redis URL credentials too long");
        } else if (decode(p, (size_t)(at - p), u->password, sizeof u->password)) {
            return store__fail(err, STORE_ECONFIG, "Redis URL password too long");
        }
        p = at + 1;
    }
    {
        const char *hend = slash ? slash : end, *pc;
        if (*p == '[') {                       /* [::1]:6379 */
            const char *rb = memchr(p, ']', (size_t)(hend - p));
            if (!rb)
                return store__fail(err, STORE_ECONFIG, "Redis URL: unclosed '['");
            if ((size_t)(rb - p - 1) >= sizeof u->host)
                return store__fail(err, STORE_ECONFIG, "Redis host too long");
            memcpy(u->host, p + 1, (size_t)(rb - p - 1));
            pc = rb + 1 < hend && rb[1] == ':' ? rb + 1 : NULL;
        } else {
            pc = memchr(p, ':', (size_t)(hend - p));
            size_t hn = (size_t)((pc ? pc : hend) - p);
            if (hn >= sizeof u->host)
                return store__fail(err, STORE_ECONFIG, "Redis host too long");
            memcpy(u->host, p, hn);
        }
        if (!u->host[0])
            snprintf(u->host, sizeof u->host, "127.0.0.1");
        if (pc && parse_int(pc + 1, (size_t)(hend - pc - 1), 1, 65535, &u->port))
            return store__fail(err, STORE_ECONFIG, "Redis URL: bad port");
    }
    if (slash && slash + 1 < end &&
        parse_int(slash + 1, (size_t)(end - slash - 1), 0, 100000, &u->db))
        return store__fail(err, STORE_ECONFIG, "Redis URL: database must be a number");
    return parse_opts(q ? q + 1 : NULL, u, err);
}

/* ---------------- connections ---------------- */

static struct timeval ms_tv(int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    return tv;
}

/* Hand-shake a new connection: AUTH and SELECT when configured. */
static int setup_conn(rd *b, redisContext *c, store_err *err)
{
    redisReply *r = NULL;
    if (b->url.password[0]) {
        if (b->url.user[0])
            r = redisCommand(c, "AUTH %s %s", b->url.user, b->url.password);
        else
            r = redisCommand(c, "AUTH %s", b->url.password);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            int rc = store__fail(err, r ? STORE_ECONFIG : STORE_EUNAVAIL,
                                 "Redis AUTH failed: %s", r ? r->str : c->errstr);
            if (r)
                freeReplyObject(r);
            return rc;
        }
        freeReplyObject(r);
    }
    if (b->url.db) {
        r = redisCommand(c, "SELECT %d", b->url.db);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            int rc = store__fail(err, r ? STORE_ECONFIG : STORE_EUNAVAIL,
                                 "Redis SELECT %d failed: %s", b->url.db,
                                 r ? r->str : c->errstr);
            if (r)
                freeReplyObject(r);
            return rc;
        }
        freeReplyObject(r);
    }
    return 0;
}

int rd__connect(rd *b, redisContext **out, store_err *err)
{
    redisContext *c;
    int rc;
    struct timeval ct = ms_tv(b->url.connect_timeout_ms);
    c = b->url.unix_socket ? redisConnectUnixWithTimeout(b->url.host, ct)
                           : redisConnectWithTimeout(b->url.host, b->url.port, ct);
    if (!c)
        return store__fail(err, STORE_ENOMEM, "out of memory for a Redis connection");
    if (c->err) {
        if (b->url.unix_socket)
            rc = store__fail(err, STORE_EUNAVAIL, "Redis at unix:%s unreachable: %s",
                             b->url.host, c->errstr);
        else
            rc = store__fail(err, STORE_EUNAVAIL, "Redis at %s:%d unreachable: %s",
                             b->url.host, b->url.port, c->errstr);
        redisFree(c);
        return rc;
    }
    /* a command timeout turns a hung server into an error, not a hang */
    redisSetTimeout(c, ms_tv(b->url.timeout_ms));
    if (!b->url.unix_socket)
        redisEnableKeepAlive(c);
    if ((rc = setup_conn(b, c, err)) != 0) {
        redisFree(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* A pooled connection whose peer went away (Redis restarted) reads as
 * ready: end-of-file or an error.  In RESP2 request/reply use nothing else
 * can be pending, so readable means dead — checked before sending, so
 * that even a non-idempotent command is never lost to a stale socket. */
static int looks_dead(redisContext *c)
{
    struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
    if (c->err)
        return 1;
    return poll(&pfd, 1, 0) != 0;
}

static rd_conn *borrow(rd *b)
{
    rd_conn *got = NULL;
    pthread_mutex_lock(&b->mu);
    for (;;) {
        /* prefer a connected slot; take an empty one only if none is */
        for (int i = 0; i < b->n_conns; i++)
            if (!b->conns[i].in_use && (!got || (!got->ctx && b->conns[i].ctx)))
                got = &b->conns[i];
        if (got)
            break;
        pthread_cond_wait(&b->cv, &b->mu);
    }
    got->in_use = 1;
    pthread_mutex_unlock(&b->mu);
    return got;
}

static void give_back(rd *b, rd_conn *c)
{
    pthread_mutex_lock(&b->mu);
    c->in_use = 0;
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

static void drop(rd_conn *c)
{
    if (c->ctx)
        redisFree(c->ctx);
    c->ctx = NULL;
}

/* Send one formatted command and read its reply.  *lost is set when the
 * command went out but no reply came back (it may have run). */
static redisReply *send_recv(rd_conn *c, const char *cmd, size_t len, int *lost)
{
    void *r = NULL;
    *lost = 0;
    if (redisAppendFormattedCommand(c->ctx, cmd, len) != REDIS_OK)
        return NULL;
    if (redisGetReply(c->ctx, &r) != REDIS_OK) {
        *lost = 1;
        return NULL;
    }
    return r;
}

static int exec_on(rd *b, rd_conn *c, int flags, const char *cmd, size_t len,
                   redisReply **out, store_err *err)
{
    redisReply *r = NULL;
    int rc, lost = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (c->ctx && looks_dead(c->ctx))
            drop(c);
        if (!c->ctx && (rc = rd__connect(b, &c->ctx, err)) != 0)
            return rc;
        if ((r = send_recv(c, cmd, len, &lost)) != NULL)
            break;
        store__fail(err, STORE_EUNAVAIL, "Redis connection failed: %s",
                    c->ctx->errstr[0] ? c->ctx->errstr : "no reply");
        drop(c);
        /* a command that may have run is only sent again if running it
         * twice is harmless */
        if (lost && !(flags & RD_IDEMPOTENT))
            return STORE_EUNAVAIL;
    }
    if (!r)
        return err ? err->code : STORE_EUNAVAIL;
    *out = r;
    return 0;
}

static int finish(redisReply *r, redisReply **reply, store_err *err)
{
    if (r->type == REDIS_REPLY_ERROR) {
        int rc = store__fail(err, STORE_EIO, "Redis: %s", r->str);
        freeReplyObject(r);
        return rc;
    }
    if (reply)
        *reply = r;
    else
        freeReplyObject(r);
    return 0;
}

int rd__cmd(rd *b, int flags, redisReply **reply, store_err *err,
            const char *fmt, ...)
{
    char *cmd = NULL;
    va_list ap;
    int len, rc;
    redisReply *r = NULL;
    rd_conn *c;
    if (reply)
        *reply = NULL;
    va_start(ap, fmt);
    len = redisvFormatCommand(&cmd, fmt, ap);
    va_end(ap);
    if (len < 0)
        return store__fail(err, STORE_ENOMEM, "out of memory formatting a Redis command");
    c = borrow(b);
    rc = exec_on(b, c, flags, cmd, (size_t)len, &r, err);
    give_back(b, c);
    redisFreeCommand(cmd);
    return rc ? rc : finish(r, reply, err);
}

int rd__script(rd *b, int id, int flags, redisReply **reply, store_err *err,
               int nkeys, int argc, const char **argv, const size_t *lens)
{
    const char *av[24];
    size_t al[24];
    char nk[16], *cmd = NULL;
    int len, rc;
    redisReply *r = NULL;
    rd_conn *c;
    if (reply)
        *reply = NULL;
    if (argc + 3 > 24)
        return store__fail(err, STORE_EINVAL, "too many script arguments");
    snprintf(nk, sizeof nk, "%d", nkeys);
    av[0] = "EVALSHA";
    av[1] = b->sha[id];
    av[2] = nk;
    for (int i = 0; i < argc; i++) {
        av[i + 3] = argv[i];
        al[i + 3] = lens ? lens[i] : strlen(argv[i]);
    }
    for (int i = 0; i < 3; i++)
        al[i] = strlen(av[i]);
    c = borrow(b);
    for (int pass = 0; pass < 2; pass++) {
        if ((len = redisFormatCommandArgv(&cmd, argc + 3, av, al)) < 0) {
            rc = store__fail(err, STORE_ENOMEM, "out of memory formatting a script call");
            break;
        }
        rc = exec_on(b, c, flags, cmd, (size_t)len, &r, err);
        redisFreeCommand(cmd);
        cmd = NULL;
        /* a restarted Redis has an empty script cache; NOSCRIPT means the
         * script did not run, so sending its source is always safe */
        if (rc || pass || r->type != REDIS_REPLY_ERROR || strncmp(r->str, "NOSCRIPT", 8))
            break;
        freeReplyObject(r);
        r = NULL;
        av[0] = "EVAL";
        av[1] = rd__script_src(id);
        al[0] = 4;
        al[1] = strlen(av[1]);
    }
    give_back(b, c);
    return rc ? rc : finish(r, reply, err);
}

/* ---------------- pool ---------------- */

int rd__pool_open(rd *b, int size, store_err *err)
{
    redisReply *r;
    int rc;
    if (!(b->conns = calloc((size_t)size, sizeof *b->conns)))
        return store__fail(err, STORE_ENOMEM, "out of memory");
    b->n_conns = size;
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    /* one connection up front so a wrong URL or a down server is reported
     * at start; the others connect on first use */
    for (int i = 0; i < RD_S_COUNT; i++) {
        if ((rc = rd__cmd(b, RD_IDEMPOTENT, &r, err, "SCRIPT LOAD %s",
                          rd__script_src(i))) != 0)
            return rc;
        if (r->type != REDIS_REPLY_STRING || r->len != 40) {
            freeReplyObject(r);
            return store__fail(err, STORE_EIO, "Redis SCRIPT LOAD gave no SHA1");
        }
        memcpy(b->sha[i], r->str, 40);
        b->sha[i][40] = '\0';
        freeReplyObject(r);
    }
    return 0;
}

void rd__pool_close(rd *b)
{
    if (!b->conns)
        return;
    for (int i = 0; i < b->n_conns; i++)
        drop(&b->conns[i]);
    free(b->conns);
    b->conns = NULL;
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv);
}

int rd__key(const rd *b, const char *tag, const char *k, char *buf, size_t n)
{
    int len = snprintf(buf, n, "%s%s%s", b->url.prefix, tag, k);
    return len < 0 || (size_t)len >= n ? -1 : len;
}
