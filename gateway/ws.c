/* gateway/ws.c — the WebSocket transport on civetweb: one worker thread
 * per connection (civetweb's model).  It checks the connection limits,
 * reassembles fragments within max_frame_bytes, and hands whole text
 * messages to the transport-independent channel (chat.c).  An event-loop
 * transport would implement the same gw_transport_ops. */
#include "gw_int.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ws_conn {
    struct mg_connection *conn;
    gw_server *s;
    gw_chan *chan;
    char *buf;         /* fragments of the message being received */
    size_t len;
    int closing;
} ws_conn;

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
    if (!w || !w->chan)
        return 0;    /* refused at open (bad token): drop the connection */
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

int gw__ws_install(gw_server *s)
{
    mg_set_websocket_handler(s->mg, "/ws$", on_connect, on_ready, on_data, on_close, s);
    return 0;
}
