/* gateway/ws.c — the WebSocket transport on civetweb (ws.listen: none):
 * one worker thread per connection (civetweb's model).  It checks the
 * connection limits (and the worker budget, conns.c), reassembles
 * fragments within max_frame_bytes, and hands whole text messages to the
 * transport-independent channel (chat.c).  civetweb 1.15's own frame loop
 * allocates whatever length a frame header declares (up to 2 GiB) and
 * reads it all before calling us, and never closes an idle socket (its
 * websocket_timeout_ms only paces pings): so after the upgrade the frames
 * are read here, from the connection's socket, with the declared length
 * checked before anything is read or allocated; civetweb's loop is left
 * only to notice the end.  Writes stay civetweb's (mg_websocket_write
 * under its connection lock). */
#include "gw_int.h"
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

typedef struct ws_conn {
    struct mg_connection *conn;
    gw_server *s;
    gw_chan *chan;
    char *buf;         /* fragments of the message being received */
    size_t len;
    int closing;
    int done;          /* our reader has ended: civetweb's loop stops */
} ws_conn;

static void read_frames(struct mg_connection *conn, ws_conn *w, int fd);

static int ws_send(void *tctx, const char *frame, size_t len)
{
    ws_conn *w = tctx;
    mg_lock_connection(w->conn);
    int rc = w->closing ? -1 : mg_websocket_write(w->conn, MG_WEBSOCKET_OPCODE_TEXT, frame, len);
    mg_unlock_connection(w->conn);
    return rc > 0 ? 0 : -1;
}

static void ws_close(void *tctx, int code, const char *reason)
{
    ws_conn *w = tctx;
    char b[125];
    size_t bl = gw__ws_close_payload(b, code, reason);
    mg_lock_connection(w->conn);
    if (!w->closing)
        mg_websocket_write(w->conn, MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE, b, bl);
    w->closing = 1;
    mg_unlock_connection(w->conn);
}

static const gw_transport_ops ops = {ws_send, ws_close};

static int on_connect(const struct mg_connection *conn, void *cbdata)
{
    gw_server *s = cbdata;
    char ip[64];
    gw__client_ip(s, conn, ip, sizeof ip);
    if (atomic_load(&s->draining) || gw__conn_admit(s, conn, ip) < 0)
        return 1;   /* refuse the upgrade: civetweb closes the connection */
    if (gw__rate_take(s, ip, NULL) > 0)
        return 1;
    /* each socket holds a worker for as long as it is open: a reserve of
     * workers stays for REST and /healthz (conns.c); and without its
     * socket (not found: another civetweb version) frames could only be
     * read by civetweb's loop, which buffers what a header declares */
    int st = gw__conn_fd(conn) < 0 ? 503 : gw__conn_ws_admit(s, conn);
    if (st) {
        /* civetweb passes its connection const here, yet it is the one
         * being upgraded: answering on it is what the handler is for
         * (a whole answer of our own: civetweb's error page is not sent
         * from this handler) */
        char body[200], head[300];
        int bl = snprintf(body, sizeof body,
                          "{\"type\":\"about:blank\",\"title\":\"%s\",\"status\":%d,\"code\":\"%s\"}",
                          st == 503 ? "Too many WebSockets on this server" : "Too many WebSockets from this address", st,
                          st == 503 ? "ws-capacity" : "too-many-connections");
        int hl = snprintf(head, sizeof head,
                          "HTTP/1.1 %d %s\r\nContent-Type: application/problem+json\r\nContent-Length: %d\r\n"
                          "Retry-After: 5\r\nConnection: close\r\n\r\n",
                          st, st == 503 ? "Service Unavailable" : "Too Many Requests", bl);
        struct mg_connection *w = (struct mg_connection *)conn;
        mg_write(w, head, (size_t)hl);
        mg_write(w, body, (size_t)bl);
        return 1;
    }
    return 0;
}

static void on_ready(struct mg_connection *conn, void *cbdata)
{
    gw_server *s = cbdata;
    void **slot = gw__conn_slot(conn);
    ws_conn *w = calloc(1, sizeof *w);
    if (!slot || !w) {
        free(w);
        return;
    }
    w->conn = conn, w->s = s;
    *slot = w;
    char ip[64], token[2048] = "";
    gw__client_ip(s, conn, ip, sizeof ip);
    const char *q = mg_get_request_info(conn)->query_string;
    if (q)
        mg_get_var(q, strlen(q), "token", token, sizeof token);
    w->chan = gw__chan_open(s, &ops, w, ip, token);
    int fd = gw__conn_fd(conn);
    if (fd >= 0 && w->chan) {
        read_frames(conn, w, fd);
        w->done = 1;
        shutdown(fd, SHUT_RD);   /* civetweb's read loop sees the end at once */
    }
}

static int on_data(struct mg_connection *conn, int flags, char *data, size_t len, void *cbdata)
{
    gw_server *s = cbdata;
    void **slot = gw__conn_slot(conn);
    ws_conn *w = slot ? *slot : NULL;
    int op = flags & 0x0f, fin = flags & 0x80;
    if (op == MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE)
        return 0;
    if (op == MG_WEBSOCKET_OPCODE_PING) {
        mg_lock_connection(conn);
        mg_websocket_write(conn, MG_WEBSOCKET_OPCODE_PONG, data, len);
        mg_unlock_connection(conn);
        return 1;
    }
    if (op == MG_WEBSOCKET_OPCODE_PONG)
        return 1;
    if (!w || !w->chan || w->done)
        return 0;    /* refused at open (bad token), or our reader ended */
    if (w->len + len > (size_t)s->cfg.max_frame_bytes) {
        gw__chan_error(w->chan, 413, "frame-too-large", "The message is over the frame size limit.");
        ws_close(w, 1009, "message too big");
        free(w->buf);
        w->buf = NULL, w->len = 0;
        return 0;
    }
    if (op == MG_WEBSOCKET_OPCODE_BINARY) {
        gw__chan_error(w->chan, 400, "binary-frame", "Send JSON text frames.");
        return 1;
    }
    if (fin && w->len == 0) {
        gw__chan_message(w->chan, data, len);
    } else {
        char *nb = realloc(w->buf, w->len + len + 1);
        if (!nb)
            return 0;
        memcpy(nb + w->len, data, len);
        w->buf = nb, w->len += len;
        if (fin) {
            gw__chan_message(w->chan, w->buf, w->len);
            free(w->buf);
            w->buf = NULL, w->len = 0;
        }
    }
    return w->closing ? 0 : 1;
}

static void on_close(const struct mg_connection *conn, void *cbdata)
{
    (void)cbdata;
    void **slot = gw__conn_slot(conn);
    ws_conn *w = slot ? *slot : NULL;
    if (!w)
        return;
    /* take it out of the registry before civetweb frees the connection */
    gw__chan_closed(w->chan);
    free(w->buf);
    free(w);
    *slot = NULL;
}

/* ---- frames read from the socket ---- */

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* n bytes, waiting in slices so that a close from another thread or a
 * shutdown is noticed; 0, or -1 at the end of the socket, an error, a
 * close, or when no message has come for ws.idle_timeout_ms
 * (*idle = 1). */
static int read_exact(ws_conn *w, int fd, unsigned char *buf, size_t n, int64_t last_msg, int *idle)
{
    size_t got = 0;
    while (got < n) {
        if (w->closing || atomic_load(&w->s->draining))
            return -1;
        int64_t left = last_msg + w->s->cfg.ws_idle_timeout_ms - now_ms();
        if (left <= 0) {
            *idle = 1;
            return -1;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int pr = poll(&p, 1, left < 500 ? (int)left : 500);
        if (pr < 0 && errno != EINTR)
            return -1;
        if (pr <= 0)
            continue;
        ssize_t r = recv(fd, buf + got, n - got, 0);
        if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK))
            return -1;
        if (r > 0)
            got += (size_t)r;
    }
    return 0;
}

static void read_frames(struct mg_connection *conn, ws_conn *w, int fd)
{
    gw_server *s = w->s;
    int64_t last_msg = now_ms();
    int idle = 0;
    unsigned char h[14];
    while (!w->closing) {
        if (read_exact(w, fd, h, 2, last_msg, &idle) < 0)
            break;
        int fin = h[0] & 0x80, op = h[0] & 0x0f, masked = h[1] & 0x80;
        uint64_t len = h[1] & 0x7f;
        size_t ext = len == 126 ? 2 : len == 127 ? 8 : 0;
        if (read_exact(w, fd, h + 2, ext + 4 * !!masked, last_msg, &idle) < 0)
            break;
        if (ext) {
            len = 0;
            for (size_t i = 0; i < ext; i++)
                len = len << 8 | h[2 + i];
        }
        bool control = op & 0x08;
        if (!masked || (h[0] & 0x70) || (control && (!fin || len > 125)) || (op > 2 && op < 8) || op > 10) {
            ws_close(w, 1002, "protocol error");
            break;
        }
        /* the declared length, before a byte of the payload is read */
        if (!control && (len > (uint64_t)s->cfg.max_frame_bytes || w->len + len > (uint64_t)s->cfg.max_frame_bytes)) {
            gw__chan_error(w->chan, 413, "frame-too-large", "The message is over the frame size limit.");
            ws_close(w, 1009, "message too big");
            break;
        }
        unsigned char small[126], *data = len <= 125 ? small : malloc((size_t)len + 1);
        if (!data)
            break;
        const unsigned char *mask = h + 2 + ext;
        int rc = read_exact(w, fd, data, (size_t)len, last_msg, &idle);
        if (rc == 0) {
            for (size_t i = 0; i < (size_t)len; i++)
                data[i] ^= mask[i & 3];
            if (!control)
                last_msg = now_ms();
            rc = on_data(conn, (fin ? 0x80 : 0) | op, (char *)data, (size_t)len, s) ? 0 : -1;
            if (op == MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE)
                ws_close(w, 1000, "");
        }
        if (data != small)
            free(data);
        if (rc < 0)
            break;
    }
    if (idle)
        ws_close(w, 1001, "idle");
    /* what the client still sends is read and dropped for a moment (at
     * most 2 s, in a small buffer): a socket closed with unread bytes
     * sends a reset, and the client may lose the close frame with it */
    unsigned char sink[4096];
    int64_t until = now_ms() + 2000;
    for (int64_t left; (left = until - now_ms()) > 0;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, left < 200 ? (int)left : 200) <= 0) {
            if (atomic_load(&s->draining))
                break;
            continue;
        }
        ssize_t r = recv(fd, sink, sizeof sink, 0);
        if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK))
            break;
    }
}

int gw__ws_install(gw_server *s)
{
    mg_set_websocket_handler(s->mg, "/ws$", on_connect, on_ready, on_data, on_close, s);
    return 0;
}
