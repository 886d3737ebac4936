/* gateway/ws_uv.c — the WebSocket chat transport on a libuv event loop
 * (ws.listen): one loop thread owns every socket, so an open connection
 * costs memory (about 1 KB here plus the kernel's buffers), not a thread.
 * Turns run on libuv's worker pool (uv_queue_work), one at a time per
 * connection and never on the loop thread; channel writes from any thread
 * are queued under the connection's lock and flushed by the loop
 * (uv_async).
 *
 * Limits, all checked before anything is allocated for them: the upgrade
 * request (WSU_MAX_HEADER bytes, ws.handshake_timeout_ms), a frame's or
 * message's declared length (ws.max_frame_bytes: close 1009), the write
 * queue of a client that does not read (ws.max_queue_bytes: the connection
 * is dropped), complete messages waiting for a worker (WSU_MAX_PENDING:
 * reading pauses).  Connections are counted per client address from
 * accept, half-open ones included (http.max_conns_per_ip).  Idle sockets
 * are pinged, and closed after ws.idle_timeout_ms without a message.
 * Not done: permessage-deflate (refused by omission), subprotocols. */
#include "gw_int.h"
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <uv.h>

#define WSU_MAX_HEADER 8192      /* the whole upgrade request */
#define WSU_MAX_PENDING 8        /* complete messages queued per connection */
#define WSU_CLOSE_WAIT_MS 2000   /* after our close frame, for the peer's */
#define WSU_SWEEP_MS 250

enum { S_HANDSHAKE, S_OPENING, S_OPEN, S_CLOSING, S_GONE };

/* an outgoing buffer: the write request travels with its bytes */
typedef struct wsu_out {
    uv_write_t req;
    struct wsu_out *next;
    struct wsu_conn *c;
    int is_close;            /* our close frame: shut down after it */
    size_t len;
    char data[];
} wsu_out;

/* a complete incoming message, waiting for a worker */
typedef struct wsu_in {
    struct wsu_in *next;
    size_t len;
    char data[];
} wsu_in;

typedef struct wsu_conn {
    uv_tcp_t tcp;                /* first: the handle's address is the conn's */
    struct gw_wsuv *L;
    struct wsu_conn *prev, *next;  /* L->conns, loop thread only */
    int state;
    char ip[64];                 /* counted under this address */
    int counted;
    int64_t t_accept, last_rx, last_msg, ping_sent, closing_since;
    char *hdr;                   /* the upgrade request while it arrives */
    size_t hdr_len;
    char *token;                 /* from ?token=, until the channel opens */
    /* frame parser */
    unsigned char fh[14];
    size_t fh_len;
    int op, fin, masked_ok;
    uint64_t flen, fgot;
    unsigned char mask[4];
    int msg_op;                  /* 0: no message in progress */
    wsu_in *msg;                 /* the message being assembled */
    unsigned char ctl[125];      /* a control frame's payload */
    /* messages for the worker (loop thread) */
    wsu_in *in_head, *in_tail;
    wsu_in *cur;                 /* the message a worker is answering */
    int in_n;
    int busy;                    /* a work item is in flight */
    int paused;                  /* reading stopped (in queue full) */
    int opened;                  /* the open work item finished */
    gw_chan *chan;               /* written by the open work, read after it */
    uv_work_t work;
    int work_kind;
    /* outgoing, any thread, under omu */
    pthread_mutex_t omu;
    wsu_out *out_head, *out_tail;
    size_t out_bytes;            /* queued, not yet handed to libuv */
    size_t wq;                   /* libuv's write queue: what the kernel
                                    did not take yet (copied on the loop) */
    int sent_close, overflow, dead;
    int dirty;                   /* under L->mu */
    struct wsu_conn *dirty_next;
    struct wsu_conn *flush_next;   /* on_wake's own walk (loop thread only) */
} wsu_conn;

struct gw_wsuv {
    gw_server *s;
    uv_loop_t loop;
    uv_tcp_t listener;
    uv_async_t wake;
    uv_timer_t sweep;
    uv_thread_t thread;
    pthread_mutex_t mu;          /* dirty list, stop flag */
    wsu_conn *dirty;
    int stop, stopping, wake_closed;
    int64_t stop_at;
    wsu_conn *conns;
    char rbuf[65536];            /* every read lands here (loop thread) */
};

static int64_t now_ms(struct gw_wsuv *L) { return (int64_t)uv_now(&L->loop); }

/* ---- outgoing ---- */

static void mark_dirty(wsu_conn *c)
{
    struct gw_wsuv *L = c->L;
    pthread_mutex_lock(&L->mu);
    if (!c->dirty) {
        c->dirty = 1;
        c->dirty_next = L->dirty;
        L->dirty = c;
    }
    if (!L->wake_closed)
        uv_async_send(&L->wake);
    pthread_mutex_unlock(&L->mu);
}

/* queue raw bytes (hdr then body); -1 when the connection is gone or the
 * queue would pass ws.max_queue_bytes (then the loop drops it) */
static int enqueue(wsu_conn *c, const void *hdr, size_t hl, const void *body, size_t bl, int is_close)
{
    int rc = -1;
    pthread_mutex_lock(&c->omu);
    if (c->dead || c->sent_close || c->overflow)
        goto out;
    if (c->out_bytes + c->wq + hl + bl > (size_t)c->L->s->cfg.ws_max_queue_bytes) {
        c->overflow = 1;
        goto out;
    }
    wsu_out *b = malloc(sizeof *b + hl + bl);
    if (!b) {
        c->overflow = 1;
        goto out;
    }
    b->next = NULL, b->c = c, b->is_close = is_close, b->len = hl + bl;
    memcpy(b->data, hdr, hl);
    if (bl)
        memcpy(b->data + hl, body, bl);
    if (c->out_tail)
        c->out_tail->next = b;
    else
        c->out_head = b;
    c->out_tail = b;
    c->out_bytes += b->len;
    if (is_close)
        c->sent_close = 1;
    rc = 0;
out:
    pthread_mutex_unlock(&c->omu);
    mark_dirty(c);
    return rc;
}

static int send_frame(wsu_conn *c, int op, const char *p, size_t len)
{
    unsigned char h[10];
    size_t hl = 2;
    h[0] = (unsigned char)(0x80 | op);
    if (len < 126)
        h[1] = (unsigned char)len;
    else if (len < 65536) {
        h[1] = 126, h[2] = (unsigned char)(len >> 8), h[3] = (unsigned char)len;
        hl = 4;
    } else {
        h[1] = 127;
        for (int i = 0; i < 8; i++)
            h[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
        hl = 10;
    }
    return enqueue(c, h, hl, p, len, op == 8);
}

static void send_close(wsu_conn *c, int code, const char *reason)
{
    char b[125];
    send_frame(c, 8, b, gw__ws_close_payload(b, code, reason));
}

/* the channel's ops: any thread */
static int op_send(void *tctx, const char *frame, size_t len) { return send_frame(tctx, 1, frame, len); }
static void op_close(void *tctx, int code, const char *reason) { send_close(tctx, code, reason); }
static const gw_transport_ops ops = {op_send, op_close};

static void send_http(wsu_conn *c, const char *status, const char *extra)
{
    char b[512];
    int n = snprintf(b, sizeof b, "HTTP/1.1 %s\r\nContent-Length: 0\r\nConnection: close\r\n%s\r\n", status,
                     extra ? extra : "");
    if (n > 0 && (size_t)n < sizeof b)
        enqueue(c, b, (size_t)n, NULL, 0, 1);
}

/* an HTTP refusal of the upgrade (loop thread): then wait for EOF */
static void refuse(wsu_conn *c, const char *status, const char *extra)
{
    send_http(c, status, extra);
    c->state = S_CLOSING;
    c->closing_since = (int64_t)uv_now(c->tcp.loop);
}

/* ---- connection lifetime (loop thread) ---- */

static void conn_free(wsu_conn *c)
{
    struct gw_wsuv *L = c->L;
    if (c->chan)
        gw__chan_closed(c->chan);   /* no ops call on c after this returns */
    pthread_mutex_lock(&L->mu);
    for (wsu_conn **pp = &L->dirty; *pp; pp = &(*pp)->dirty_next)
        if (*pp == c) {
            *pp = c->dirty_next;
            break;
        }
    pthread_mutex_unlock(&L->mu);
    while (c->out_head) {
        wsu_out *n = c->out_head->next;
        free(c->out_head);
        c->out_head = n;
    }
    while (c->in_head) {
        wsu_in *n = c->in_head->next;
        free(c->in_head);
        c->in_head = n;
    }
    if (c->counted)
        gw__conn_leave(L->s, c->ip);
    free(c->msg);
    free(c->cur);
    free(c->hdr);
    free(c->token);
    pthread_mutex_destroy(&c->omu);
    free(c);
}

static void on_handle_closed(uv_handle_t *h)
{
    wsu_conn *c = (wsu_conn *)h;
    c->state = S_GONE;
    if (!c->busy)
        conn_free(c);   /* else after_work frees it */
}

static void conn_drop(wsu_conn *c)
{
    if (c->state == S_GONE || uv_is_closing((uv_handle_t *)&c->tcp))
        return;
    pthread_mutex_lock(&c->omu);
    c->dead = 1;
    pthread_mutex_unlock(&c->omu);
    struct gw_wsuv *L = c->L;
    if (c->prev)
        c->prev->next = c->next;
    else
        L->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

static void fail(wsu_conn *c, int code, const char *reason)
{
    if (!c->opened) {
        /* the 101 is not out yet: a close frame cannot go before it */
        conn_drop(c);
        return;
    }
    send_close(c, code, reason);
    if (c->state != S_CLOSING) {
        c->state = S_CLOSING;
        c->closing_since = now_ms(c->L);
    }
}

static void on_shutdown(uv_shutdown_t *r, int status)
{
    (void)status;   /* libuv's signature: the request is freed whether or not the half-close went out */
    free(r);
}

static void on_write(uv_write_t *req, int status)
{
    wsu_out *b = (wsu_out *)req;
    wsu_conn *c = b->c;
    pthread_mutex_lock(&c->omu);
    c->wq = c->tcp.write_queue_size;
    pthread_mutex_unlock(&c->omu);
    if (status == 0 && b->is_close && !uv_is_closing((uv_handle_t *)&c->tcp)) {
        /* our close frame (or refusal) is out: half-close and wait for EOF */
        uv_shutdown_t *sr = malloc(sizeof *sr);
        if (!sr || uv_shutdown(sr, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
            free(sr);
            conn_drop(c);
        }
        if (c->state != S_CLOSING) {
            c->state = S_CLOSING;
            c->closing_since = now_ms(c->L);
        }
    } else if (status < 0 && status != UV_ECANCELED)
        conn_drop(c);
    free(b);
}

static void flush(wsu_conn *c)
{
    pthread_mutex_lock(&c->omu);
    wsu_out *list = c->out_head;
    c->out_head = c->out_tail = NULL;
    c->out_bytes = 0;
    int over = c->overflow;
    pthread_mutex_unlock(&c->omu);
    if (uv_is_closing((uv_handle_t *)&c->tcp)) {
        while (list) {
            wsu_out *n = list->next;
            free(list);
            list = n;
        }
        return;
    }
    /* libuv writes at once what the kernel takes; the rest waits in its
     * write queue, which counts against ws.max_queue_bytes */
    while (list) {
        wsu_out *n = list->next;
        uv_buf_t ub = uv_buf_init(list->data, (unsigned)list->len);
        if (uv_write(&list->req, (uv_stream_t *)&c->tcp, &ub, 1, on_write) != 0) {
            free(list);
            over = 1;
        }
        list = n;
    }
    pthread_mutex_lock(&c->omu);
    c->wq = c->tcp.write_queue_size;
    over |= c->overflow;
    pthread_mutex_unlock(&c->omu);
    if (over) {
        /* the client does not read: its queue is full, drop it */
        json_object *f = json_object_new_object();
        json_object_object_add(f, "ip", json_object_new_string(c->ip));
        gw__log("warn", "ws_backpressure_close", f);
        conn_drop(c);
    }
}

static void on_sweep(uv_timer_t *t);

static void on_wake(uv_async_t *a)
{
    struct gw_wsuv *L = a->data;
    pthread_mutex_lock(&L->mu);
    wsu_conn *list = L->dirty;
    L->dirty = NULL;
    /* the walk below follows flush_next, set here under the lock: once
     * dirty is 0 a worker may mark the connection again and rewrite its
     * dirty_next, which would send the walk down the new list and leave
     * the rest of this one unflushed (a reply that never went out) */
    for (wsu_conn *c = list; c; c = c->dirty_next) {
        c->dirty = 0;
        c->flush_next = c->dirty_next;
    }
    int stop = L->stop;
    pthread_mutex_unlock(&L->mu);
    while (list) {
        wsu_conn *n = list->flush_next;
        flush(list);
        list = n;
    }
    if (stop && !L->stopping) {
        L->stopping = 1;
        L->stop_at = now_ms(L) + 300;   /* let the 1001 frames go out */
        uv_close((uv_handle_t *)&L->listener, NULL);
        /* look every few milliseconds: a connection goes as soon as its
         * goodbye is out, the loop as soon as none is left (not on the
         * next 250 ms sweep after the 300 ms: half a second idle) */
        uv_timer_start(&L->sweep, on_sweep, 0, 5);
    }
}

/* ---- work: the channel, on the worker pool ---- */

enum { W_OPEN, W_MSG };

static void work_run(uv_work_t *w)
{
    wsu_conn *c = w->data;
    gw_server *s = c->L->s;
    if (c->work_kind == W_OPEN) {
        int retry = atomic_load(&s->draining) ? -1 : gw__rate_take(s, c->ip, NULL);
        if (retry != 0) {
            char ra[40];
            snprintf(ra, sizeof ra, "Retry-After: %d\r\n", retry > 0 ? retry : 1);
            send_http(c, retry > 0 ? "429 Too Many Requests" : "503 Service Unavailable", ra);
            return;
        }
        /* the 101 goes out first: the channel's frames queue behind it */
        enqueue(c, c->hdr, c->hdr_len, NULL, 0, 0);
        c->chan = gw__chan_open(s, &ops, c, c->ip, c->token);
        return;
    }
    if (c->chan)
        gw__chan_message(c->chan, c->cur->data, c->cur->len);
}

static void work_next(wsu_conn *c);

static void work_done(uv_work_t *w, int status)
{
    (void)status;   /* libuv's signature: UV_ECANCELED comes only after uv_cancel, never called here */
    wsu_conn *c = w->data;
    c->busy = 0;
    if (c->work_kind == W_OPEN) {
        free(c->hdr), c->hdr = NULL, c->hdr_len = 0;
        free(c->token), c->token = NULL;
        c->opened = 1;
        if (c->state == S_OPENING)
            c->state = c->chan ? S_OPEN : S_CLOSING;
        c->closing_since = now_ms(c->L);
    } else {
        free(c->cur);
        c->cur = NULL;
    }
    if (c->state == S_GONE) {
        conn_free(c);
        return;
    }
    work_next(c);
}

static void on_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b);
static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b);

static void work_next(wsu_conn *c)
{
    if (c->busy || c->state == S_GONE)
        return;
    if (!c->opened) {
        c->work_kind = W_OPEN;
    } else if (c->in_head && c->chan && c->state == S_OPEN) {
        /* popped here, on the loop thread: the worker sees only c->cur */
        c->work_kind = W_MSG;
        c->cur = c->in_head;
        c->in_head = c->cur->next;
        if (!c->in_head)
            c->in_tail = NULL;
        c->in_n--;
    } else {
        if (c->paused && c->in_n < WSU_MAX_PENDING && !uv_is_closing((uv_handle_t *)&c->tcp)) {
            c->paused = 0;
            uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
        }
        return;
    }
    c->work.data = c;
    if (uv_queue_work(&c->L->loop, &c->work, work_run, work_done) == 0)
        c->busy = 1;
    else
        conn_drop(c);
}

/* ---- the upgrade request ---- */

/* a header's value in the request (case-insensitive name), copied into
 * buf; 0 when absent or too long */
static int header(const char *req, const char *name, char *buf, size_t n)
{
    size_t nl = strlen(name);
    for (const char *p = strstr(req, "\r\n"); p && p[2] != '\r'; p = strstr(p + 2, "\r\n")) {
        const char *l = p + 2;
        if (strncasecmp(l, name, nl) == 0 && l[nl] == ':') {
            const char *v = l + nl + 1, *e = strstr(v, "\r\n");
            while (*v == ' ' || *v == '\t')
                v++;
            size_t len = (size_t)(e - v);
            while (len && (v[len - 1] == ' ' || v[len - 1] == '\t'))
                len--;
            if (len >= n)
                return 0;
            memcpy(buf, v, len);
            buf[len] = 0;
            return 1;
        }
    }
    return 0;
}

static int has_token(const char *list, const char *tok)
{
    size_t tl = strlen(tok);
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t l = strcspn(p, ",");
        size_t k = l;
        while (k && p[k - 1] == ' ')
            k--;
        if (k == tl && strncasecmp(p, tok, tl) == 0)
            return 1;
        p += l;
    }
    return 0;
}

static void handshake(wsu_conn *c, size_t end)
{
    struct gw_wsuv *L = c->L;
    char *req = c->hdr;
    req[end] = 0;
    for (size_t i = 0; i < end; i++)
        if ((unsigned char)req[i] < 0x09 || (unsigned char)req[i] >= 0x7f) {
            refuse(c, "400 Bad Request", NULL);
            return;
        }
    char path[4096], upg[64], conn[256], key[64], ver[16], xff[512] = "";
    size_t ll = strcspn(req, "\r");
    if (ll < 4 + 1 + 9 || ll - 13 >= sizeof path || strncmp(req, "GET ", 4) != 0 ||
        strncmp(req + ll - 9, " HTTP/1.1", 9) != 0) {
        refuse(c, "400 Bad Request", NULL);
        return;
    }
    memcpy(path, req + 4, ll - 13);
    path[ll - 13] = 0;
    char *q = strchr(path, '?');
    if (q)
        *q++ = 0;
    if (strcmp(path, "/ws") != 0) {
        refuse(c, "404 Not Found", NULL);
        return;
    }
    if (!header(req, "Upgrade", upg, sizeof upg) || !has_token(upg, "websocket") ||
        !header(req, "Connection", conn, sizeof conn) || !has_token(conn, "upgrade") ||
        !header(req, "Sec-WebSocket-Key", key, sizeof key) || strlen(key) != 24) {
        refuse(c, "400 Bad Request", NULL);
        return;
    }
    if (!header(req, "Sec-WebSocket-Version", ver, sizeof ver) || strcmp(ver, "13") != 0) {
        refuse(c, "426 Upgrade Required", "Sec-WebSocket-Version: 13\r\n");
        return;
    }
    /* behind the trusted proxy the client is its last X-Forwarded-For hop:
     * move the count from the proxy's address to the client's */
    header(req, "X-Forwarded-For", xff, sizeof xff);
    char ip[64];
    gw__client_ip_from(L->s, c->ip, *xff ? xff : NULL, ip, sizeof ip);
    if (strcmp(ip, c->ip) != 0) {
        gw__conn_leave(L->s, c->ip);
        c->counted = 0;
        snprintf(c->ip, sizeof c->ip, "%s", ip);
        if (gw__conn_enter(L->s, c->ip) < 0) {
            refuse(c, "429 Too Many Requests", "Retry-After: 1\r\n");
            return;
        }
        c->counted = 1;
    }
    char tok[2048] = "";
    if (q && mg_get_var(q, strlen(q), "token", tok, sizeof tok) < 0 && strstr(q, "token=")) {
        refuse(c, "414 URI Too Long", NULL);
        return;
    }
    c->token = strdup(tok);
    /* Sec-WebSocket-Accept: base64(SHA-1(key + GUID)) */
    char cat[128];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdl = 0;
    int cl = snprintf(cat, sizeof cat, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
    unsigned char acc[64];
    if (!c->token || EVP_Digest(cat, (size_t)cl, md, &mdl, EVP_sha1(), NULL) != 1) {
        refuse(c, "500 Internal Server Error", NULL);
        return;
    }
    EVP_EncodeBlock(acc, md, (int)mdl);
    /* keep the 101 in hdr: the open work queues it before the channel's frames */
    int n = snprintf(c->hdr, WSU_MAX_HEADER,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\n\r\n",
                     (char *)acc);
    c->hdr_len = (size_t)n;
    c->state = S_OPENING;
    c->last_rx = c->last_msg = now_ms(L);
    work_next(c);
}

/* ---- frames ---- */

static void queue_message(wsu_conn *c)
{
    wsu_in *m = c->msg;
    c->msg = NULL;
    int op = c->msg_op;
    c->msg_op = 0;
    if (!m && !(m = calloc(1, sizeof *m + 1))) {
        fail(c, 1011, "out of memory");
        return;
    }
    c->last_msg = now_ms(c->L);
    if (op == 2) {   /* as the civetweb transport: an error frame, stay open */
        free(m);
        if (c->opened && c->chan)
            gw__chan_error(c->chan, 400, "binary-frame", "Send JSON text frames.");
        return;
    }
    m->data[m->len] = 0;
    m->next = NULL;
    if (c->in_tail)
        c->in_tail->next = m;
    else
        c->in_head = m;
    c->in_tail = m;
    c->in_n++;
    if (c->in_n >= WSU_MAX_PENDING && !c->paused) {
        c->paused = 1;
        uv_read_stop((uv_stream_t *)&c->tcp);
    }
    work_next(c);
}

static void control_done(wsu_conn *c)
{
    size_t len = (size_t)c->flen;
    if (c->op == 9) {
        /* written now: a burst of pings cannot pile pongs up in the queue */
        send_frame(c, 10, (const char *)c->ctl, len);
        flush(c);
    }
    else if (c->op == 10)
        c->ping_sent = 0;
    else if (c->op == 8) {
        if (c->sent_close || c->state == S_CLOSING) {
            conn_drop(c);   /* the close handshake is complete */
            return;
        }
        int code = 1000;
        if (len == 1) {
            fail(c, 1002, "bad close frame");
            return;
        }
        if (len >= 2) {
            code = c->ctl[0] << 8 | c->ctl[1];
            bool valid = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
                         (code >= 3000 && code <= 4999);
            if (!valid) {
                fail(c, 1002, "bad close code");
                return;
            }
            if (!eng_utf8_valid((const char *)c->ctl + 2, len - 2)) {
                fail(c, 1007, "invalid UTF-8");
                return;
            }
        }
        fail(c, code, "");
    }
}

/* the header is complete in c->fh: check it before anything is allocated */
static int frame_begin(wsu_conn *c)
{
    gw_server *s = c->L->s;
    int op = c->fh[0] & 0x0f;
    c->fin = c->fh[0] & 0x80;
    c->op = op;
    if (c->fh[0] & 0x70) {
        fail(c, 1002, "reserved bits set");
        return -1;
    }
    if (op >= 8) {
        if (op > 10 || !c->fin || c->flen > 125) {
            fail(c, 1002, "bad control frame");
            return -1;
        }
        return 0;
    }
    if (op > 2 || (op == 0 && !c->msg_op) || (op != 0 && c->msg_op)) {
        fail(c, 1002, "bad fragmentation");
        return -1;
    }
    size_t have = c->msg ? c->msg->len : 0;
    if (c->flen > (uint64_t)s->cfg.max_frame_bytes || have + c->flen > (size_t)s->cfg.max_frame_bytes) {
        if (c->opened && c->chan)
            gw__chan_error(c->chan, 413, "frame-too-large", "The message is over the frame size limit.");
        fail(c, 1009, "message too big");
        return -1;
    }
    if (op != 0)
        c->msg_op = op;
    if (c->flen) {
        wsu_in *m = realloc(c->msg, sizeof *m + have + c->flen + 1);
        if (!m) {
            fail(c, 1011, "out of memory");
            return -1;
        }
        if (!c->msg)
            m->len = 0;
        c->msg = m;
    }
    return 0;
}

static void frame_end(wsu_conn *c)
{
    c->fh_len = 0;
    if (c->op >= 8)
        control_done(c);
    else if (c->fin)
        queue_message(c);
}

/* feed bytes of an open connection; stops at the first protocol error */
static void feed(wsu_conn *c, const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n && c->state != S_CLOSING && c->state != S_GONE && !uv_is_closing((uv_handle_t *)&c->tcp)) {
        /* header bytes: 2, then 0/2/8 length bytes, then 4 mask bytes */
        size_t need = 2;
        if (c->fh_len >= 2) {
            if (!(c->fh[1] & 0x80)) {
                fail(c, 1002, "frames from a client must be masked");
                return;
            }
            int l7 = c->fh[1] & 0x7f;
            need = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + 4;
        }
        if (c->fh_len < need) {
            c->fh[c->fh_len++] = p[i++];
            if (c->fh_len < need || need == 2)
                continue;
            int l7 = c->fh[1] & 0x7f;
            size_t at = 2;
            if (l7 == 126)
                c->flen = (uint64_t)c->fh[2] << 8 | c->fh[3], at = 4;
            else if (l7 == 127) {
                c->flen = 0;
                for (int k = 0; k < 8; k++)
                    c->flen = c->flen << 8 | c->fh[2 + k];
                at = 10;
                if (c->flen >> 63) {
                    fail(c, 1002, "bad length");
                    return;
                }
            } else
                c->flen = (uint64_t)l7;
            memcpy(c->mask, c->fh + at, 4);
            c->fgot = 0;
            if (frame_begin(c) < 0)
                return;
            if (c->flen == 0)
                frame_end(c);
            continue;
        }
        /* payload */
        size_t take = n - i;
        if (take > c->flen - c->fgot)
            take = (size_t)(c->flen - c->fgot);
        unsigned char *dst = c->op >= 8 ? c->ctl + c->fgot : (unsigned char *)c->msg->data + c->msg->len;
        for (size_t k = 0; k < take; k++)
            dst[k] = p[i + k] ^ c->mask[(c->fgot + k) & 3];
        if (c->op < 8)
            c->msg->len += take;
        c->fgot += take;
        i += take;
        if (c->fgot == c->flen)
            frame_end(c);
    }
}

static void on_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
    (void)sz;   /* libuv's signature: its suggested size; the loop's one read buffer is used */
    wsu_conn *c = (wsu_conn *)h;
    *b = uv_buf_init(c->L->rbuf, sizeof c->L->rbuf);
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    wsu_conn *c = (wsu_conn *)st;
    if (n < 0) {
        conn_drop(c);
        return;
    }
    if (n == 0)
        return;
    c->last_rx = now_ms(c->L);
    c->ping_sent = 0;
    const char *p = b->base;
    size_t len = (size_t)n;
    if (c->state == S_HANDSHAKE) {
        if (!c->hdr && !(c->hdr = malloc(WSU_MAX_HEADER + 1))) {
            conn_drop(c);
            return;
        }
        size_t room = WSU_MAX_HEADER - c->hdr_len, take = len < room ? len : room;
        size_t from = c->hdr_len > 3 ? c->hdr_len - 3 : 0;
        memcpy(c->hdr + c->hdr_len, p, take);
        c->hdr_len += take;
        c->hdr[c->hdr_len] = 0;
        char *e = strstr(c->hdr + from, "\r\n\r\n");
        if (!e) {
            if (c->hdr_len >= WSU_MAX_HEADER)
                refuse(c, "431 Request Header Fields Too Large", NULL);
            return;
        }
        size_t end = (size_t)(e - c->hdr) + 4, rest_off = end - (c->hdr_len - take);
        handshake(c, end);
        if (c->state == S_OPENING && rest_off < len)
            feed(c, (const unsigned char *)p + rest_off, len - rest_off);
        return;
    }
    if (c->state == S_OPENING || c->state == S_OPEN)
        feed(c, (const unsigned char *)p, len);
    /* S_CLOSING: what the peer still sends is dropped unread */
}

static void on_accept(uv_stream_t *ls, int status)
{
    struct gw_wsuv *L = ls->data;
    if (status < 0)
        return;
    wsu_conn *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->L = L;
    pthread_mutex_init(&c->omu, NULL);
    uv_tcp_init(&L->loop, &c->tcp);
    if (uv_accept(ls, (uv_stream_t *)&c->tcp) != 0) {
        c->state = S_HANDSHAKE;
        uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
        return;
    }
    c->next = L->conns;
    if (L->conns)
        L->conns->prev = c;
    L->conns = c;
    c->t_accept = c->last_rx = now_ms(L);
    struct sockaddr_storage sa;
    int sl = sizeof sa;
    snprintf(c->ip, sizeof c->ip, "?");
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&sa, &sl) == 0) {
        if (sa.ss_family == AF_INET)
            uv_ip4_name((struct sockaddr_in *)&sa, c->ip, sizeof c->ip);
        else
            uv_ip6_name((struct sockaddr_in6 *)&sa, c->ip, sizeof c->ip);
    }
    /* counted from accept: half-open upgrade requests hold a slot too */
    if (atomic_load(&L->s->draining) || gw__conn_enter(L->s, c->ip) < 0) {
        conn_drop(c);
        return;
    }
    c->counted = 1;
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

/* stopping: nothing more of this connection to write or wait for */
static int settled(wsu_conn *c)
{
    if (c->busy)
        return 0;
    pthread_mutex_lock(&c->omu);
    int empty = !c->out_head && c->wq == 0, closed = c->sent_close;
    pthread_mutex_unlock(&c->omu);
    return empty && (closed || !c->opened);
}

static void on_sweep(uv_timer_t *t)
{
    struct gw_wsuv *L = t->data;
    gw_server *s = L->s;
    int64_t now = now_ms(L);
    int64_t hs = s->cfg.ws_handshake_timeout_ms, idle = s->cfg.ws_idle_timeout_ms;
    int64_t ping = idle / 3 < 30000 ? idle / 3 : 30000;
    for (wsu_conn *c = L->conns, *n; c; c = n) {
        n = c->next;
        if (L->stopping && (now >= L->stop_at || settled(c)))
            conn_drop(c);
        else if (c->state == S_HANDSHAKE && now - c->t_accept > hs)
            conn_drop(c);   /* slowloris: no complete upgrade in time */
        else if (c->state == S_CLOSING && now - c->closing_since > WSU_CLOSE_WAIT_MS)
            conn_drop(c);
        else if (c->state == S_OPEN && !c->busy && !c->in_head && idle > 0) {
            if (now - c->last_msg > idle)
                fail(c, 1001, "idle timeout");
            else if (c->ping_sent && now - c->ping_sent > ping)
                fail(c, 1001, "no pong");
            else if (!c->ping_sent && now - c->last_rx > ping) {
                send_frame(c, 9, "", 0);
                c->ping_sent = now;
            }
        }
    }
    if (L->stopping && (now >= L->stop_at || !L->conns)) {
        uv_timer_stop(&L->sweep);
        uv_close((uv_handle_t *)&L->sweep, NULL);
        pthread_mutex_lock(&L->mu);
        L->wake_closed = 1;
        pthread_mutex_unlock(&L->mu);
        uv_close((uv_handle_t *)&L->wake, NULL);
    }
}

static void loop_main(void *arg)
{
    struct gw_wsuv *L = arg;
    uv_run(&L->loop, UV_RUN_DEFAULT);
}

/* listen address: "host:port", "[v6]:port" or "port" (all interfaces) */
static int parse_listen(const char *a, struct sockaddr_storage *sa)
{
    char host[128] = "0.0.0.0";
    const char *colon = strrchr(a, ':');
    const char *port = colon ? colon + 1 : a;
    if (colon) {
        size_t hl = (size_t)(colon - a);
        if (hl >= 2 && a[0] == '[' && a[hl - 1] == ']')
            a++, hl -= 2;
        if (hl == 0 || hl >= sizeof host)
            return -1;
        memcpy(host, a, hl);
        host[hl] = 0;
    }
    char *end;
    long p = strtol(port, &end, 10);
    if (!*port || *end || p < 0 || p > 65535)
        return -1;
    if (uv_ip4_addr(host, (int)p, (struct sockaddr_in *)sa) == 0)
        return 0;
    return uv_ip6_addr(host, (int)p, (struct sockaddr_in6 *)sa) == 0 ? 0 : -1;
}

int gw__wsuv_start(gw_server *s, gw_err *err)
{
    /* the worker pool: about one per core, at least 4 (a turn waiting on
     * a duplicate's reply holds one); UV_THREADPOOL_SIZE wins when set */
    if (!getenv("UV_THREADPOOL_SIZE")) {
        long nc = sysconf(_SC_NPROCESSORS_ONLN);
        char v[16];
        snprintf(v, sizeof v, "%ld", nc < 4 ? 4 : nc > 64 ? 64 : nc);
        setenv("UV_THREADPOOL_SIZE", v, 0);
    }
    struct gw_wsuv *L = calloc(1, sizeof *L);
    struct sockaddr_storage sa;
    const char *why = NULL;
    if (!L)
        why = "out of memory";
    else if (parse_listen(s->cfg.ws_listen, &sa) < 0)
        why = "ws.listen is not host:port";
    if (why) {
        free(L);
        if (err) {
            err->code = GW_ECONFIG;
            snprintf(err->msg, sizeof err->msg, "%s", why);
        }
        return GW_ECONFIG;
    }
    L->s = s;
    pthread_mutex_init(&L->mu, NULL);
    uv_loop_init(&L->loop);
    uv_tcp_init(&L->loop, &L->listener);
    L->listener.data = L;
    int rc = uv_tcp_bind(&L->listener, (struct sockaddr *)&sa, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&L->listener, 1024, on_accept);
    if (rc != 0) {
        if (err) {
            err->code = GW_EIO;
            snprintf(err->msg, sizeof err->msg, "cannot listen on %s (ws.listen%s): %s%s", s->cfg.ws_listen,
                     s->ws_auto[0] ? " auto: the HTTP port + 1" : "", uv_strerror(rc),
                     s->ws_auto[0] ? "; set ws.listen to a free host:port, or none for /ws on the HTTP port" : "");
        }
        uv_close((uv_handle_t *)&L->listener, NULL);
        uv_run(&L->loop, UV_RUN_DEFAULT);
        uv_loop_close(&L->loop);
        pthread_mutex_destroy(&L->mu);
        free(L);
        return GW_EIO;
    }
    struct sockaddr_storage bound;
    int bl = sizeof bound;
    uv_tcp_getsockname(&L->listener, (struct sockaddr *)&bound, &bl);
    s->ws_port = ntohs(bound.ss_family == AF_INET ? ((struct sockaddr_in *)&bound)->sin_port
                                                  : ((struct sockaddr_in6 *)&bound)->sin6_port);
    uv_async_init(&L->loop, &L->wake, on_wake);
    L->wake.data = L;
    uv_timer_init(&L->loop, &L->sweep);
    L->sweep.data = L;
    uv_timer_start(&L->sweep, on_sweep, WSU_SWEEP_MS, WSU_SWEEP_MS);
    if (uv_thread_create(&L->thread, loop_main, L) != 0) {
        uv_close((uv_handle_t *)&L->listener, NULL);
        uv_close((uv_handle_t *)&L->wake, NULL);
        uv_close((uv_handle_t *)&L->sweep, NULL);
        uv_run(&L->loop, UV_RUN_DEFAULT);
        uv_loop_close(&L->loop);
        free(L);
        return GW_ENOMEM;
    }
    s->wsuv = L;
    return GW_OK;
}

/* after gw__chan_close_all: flush the goodbyes, close every socket, wait
 * for work in flight, end the loop thread */
void gw__wsuv_stop(gw_server *s)
{
    struct gw_wsuv *L = s->wsuv;
    if (!L)
        return;
    pthread_mutex_lock(&L->mu);
    L->stop = 1;
    pthread_mutex_unlock(&L->mu);
    uv_async_send(&L->wake);
    uv_thread_join(&L->thread);
    uv_loop_close(&L->loop);
    pthread_mutex_destroy(&L->mu);
    free(L);
    s->wsuv = NULL;
}
