/* gateway/gw_int.h — what the gateway's files share with each other and
 * nobody else: the server struct, the per-request struct, and the
 * internal functions (gw__ prefix).  Never included from outside gateway/. */
#ifndef AISLE_GW_INT_H
#define AISLE_GW_INT_H

#include "gw.h"
#include "engine/eng.h"
#include "stores/store.h"
#include <civetweb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#define GW_MAX_PARAMS 3

/* Who is calling: from a verified token, or nobody. */
typedef struct gw_principal {
    int authenticated;     /* a valid session or access token was presented */
    int64_t user_id;       /* 0: anonymous session */
    char sid[80];          /* the conversation/session id */
    char role[16];         /* "user", "admin" or "" (anonymous) */
} gw_principal;

/* Where a principal's cart lives: "user:ID" or "anon:SID" (as the engine). */
void gw__cart_id(const gw_principal *p, char *buf, size_t n);

/* ---------------------------------------------------------------------
 * Requests and routes
 * ------------------------------------------------------------------ */
typedef struct gw_req gw_req;
typedef void (*gw_handler)(gw_req *r);

enum gw_auth {
    GW_AUTH_NONE = 0,    /* anyone; a token is still read when present */
    GW_AUTH_SESSION,     /* an anonymous session or a user */
    GW_AUTH_USER,        /* a logged-in user */
    GW_AUTH_ADMIN,       /* a user with role admin */
    GW_AUTH_INSPECT,     /* admin, or anyone in dev mode */
    GW_AUTH_ACP,         /* an ACP agent partner: the configured Bearer
                            API key (h_acp.c answers refusals in ACP's
                            error format); never a shopper's token */
};

typedef struct gw_route {
    const char *method;
    const char *path;      /* OpenAPI form: /api/v1/products/{sku} */
    gw_handler fn;
    int auth;              /* enum gw_auth */
    int limited;           /* 1: counts against the rate limits */
} gw_route;

struct gw_req {
    gw_server *srv;
    struct mg_connection *conn;
    const struct mg_request_info *ri;
    const gw_route *route;
    int route_idx;                       /* -1: not a route (static, 404) */
    char params[GW_MAX_PARAMS][256];     /* {..} captures, URL-decoded */
    char *body;                          /* NUL-terminated, malloc'd */
    size_t body_len;
    gw_principal who;
    char ip[64];
    char rid[40];                        /* request id (X-Request-Id) */
    int status;                          /* what was sent */
    int64_t t0_us;
    size_t bytes_out;
    int close;                           /* 1: answer with Connection: close */
};

/* The route table (router.c). */
extern const gw_route gw__routes[];
extern const size_t gw__nroutes;

/* http.c: replies.  Each sends exactly one response. */
void gw__reply(gw_req *r, int status, const char *ctype, const char *body, size_t len,
               const char *extra_headers);
/* gw__reply_start: the status line and headers of a reply whose `len`
 * bytes of body the caller then writes itself (a file streamed in
 * pieces): the headers every reply carries (request id, nosniff, CORS,
 * no-store under /api/, Connection: close when draining) and the extra
 * lines ("Name: value\r\n"...), in one write. False when the request
 * was answered already, or when the head did not all go out (the client
 * left or stopped reading: write no body). */
bool gw__reply_start(gw_req *r, int status, const char *ctype, size_t len, const char *extra_headers);
/* gw__json: send `o` (consumed) as application/json. */
void gw__json(gw_req *r, int status, json_object *o);
/* gw__json_h: gw__json with extra header lines ("Name: value\r\n"...). */
void gw__json_h(gw_req *r, int status, json_object *o, const char *extra_headers);
/* gw__problem_obj: the one builder of RFC 9457 problem objects: a new
 * object (caller owns) with type "urn:aisle:problem:SLUG", title, status
 * and, when detail is not NULL, detail. The replies below add field,
 * instance and requestId to it; turns (gateway/turn.c) hand it to the
 * chat transports as it is. */
json_object *gw__problem_obj(int status, const char *slug, const char *title, const char *detail);
/* gw__problem_slug: the SLUG of a problem object's type
 * "urn:aisle:problem:SLUG" (borrowed from it); "internal" when it has none. */
const char *gw__problem_slug(json_object *problem);
/* gw__problem: RFC 9457 problem+json; `slug` names the stable type
 * (urn:aisle:problem:SLUG). */
void gw__problem(gw_req *r, int status, const char *slug, const char *title,
                 const char *fmt, ...) ENG_PRINTF(5, 6);
/* gw__problem_field: the same with a "field" member naming the part of
 * the request that is wrong ("address.postalCode", "payment.cardNumber");
 * field and detail may be NULL. */
void gw__problem_field(gw_req *r, int status, const char *slug, const char *title, const char *field,
                       const char *detail);
/* gw__problem_retry: the same with a Retry-After header (429, 503). */
void gw__problem_retry(gw_req *r, int status, const char *slug, const char *title,
                       int retry_after_s, const char *detail);
/* gw__read_body: read the whole body within max_body_bytes.  0, or -1
 * after sending 413/400. */
int gw__read_body(gw_req *r);
/* gw__body_object: the body as a JSON object (0), or -1 after a 400. */
int gw__body_object(gw_req *r, json_object **out);
/* gw__query: a query-string variable into buf; 1 found, 0 absent. */
int gw__query(const gw_req *r, const char *name, char *buf, size_t n);
/* gw__random_hex: 2*nbytes hex characters of CSPRNG output plus NUL. */
void gw__random_hex(char *buf, size_t nbytes);
/* gw__log: one JSON line on stderr: {"ts","level","event",...fields}.
 * `fields` (consumed, may be NULL) adds keys. */
void gw__log(const char *level, const char *event, json_object *fields);
/* gw__str_ok: `s` is valid UTF-8, non-empty and at most max bytes. */
bool gw__str_ok(const char *s, size_t max);
/* gw__jstr: a string member of o, or NULL. */
const char *gw__jstr(json_object *o, const char *key);

/* ---------------------------------------------------------------------
 * Auth (auth.c, jwt.c)
 * ------------------------------------------------------------------ */
/* gw__authenticate: read a bearer token (header, or `token` query for
 * WebSockets) into r->who.  0 when absent or valid; GW_EAUTH/GW_EEXPIRED. */
int gw__token_principal(gw_server *s, const char *token, gw_principal *who);
int gw__authenticate(gw_req *r);
/* gw__session_token: a new anonymous session (sid filled) and its token. */
char *gw__session_token(gw_server *s, gw_principal *who);

/* rate limiting and connection caps (limits.c) */
/* gw__rate_take: take one token from the IP bucket and the principal's
 * bucket.  0 allowed; >0 the Retry-After seconds. */
int gw__rate_take(gw_server *s, const char *ip, const gw_principal *who);
/* gw__framing_ok (http.c): 0 when the request's framing is ambiguous
 * (several Content-Length headers, or one with Transfer-Encoding). */
int gw__framing_ok(const gw_req *r);
/* gw__login_gate: before a password is checked for `account` (an e-mail)
 * from `ip`: takes one attempt from each one's backoff bucket, atomically
 * in the store (so parallel guesses and many instances share it).
 * Returns 0 to go on, else the seconds to wait (429 Retry-After).  A
 * store error lets the attempt through. */
int gw__login_gate(gw_server *s, const char *ip, const char *account);
/* gw__login_result: after the check: a failure lengthens both backoffs,
 * a success ends the account's streak. */
void gw__login_result(gw_server *s, const char *ip, const char *account, bool ok);
/* gw__revoke_family / gw__family_revoked: access tokens carry their
 * refresh family ("fam"); logout and refresh-token reuse mark the family
 * revoked in the ephemeral store for as long as an access token lives. */
void gw__revoke_family(gw_server *s, const char *family);
bool gw__family_revoked(gw_server *s, const char *family);
/* gw__conn_enter / gw__conn_leave: count a connection of `ip`; enter
 * returns 0, or -1 when the IP is at its cap (nothing counted). */
int gw__conn_enter(gw_server *s, const char *ip);
void gw__conn_leave(gw_server *s, const char *ip);
/* gw__conn_init / gw__conn_close: civetweb's init_connection and
 * connection_close callbacks (conns.c): a connection is a wait from
 * accept until its request's headers are in, and again after each answer
 * (keep-alive); waits are kept to http.max_idle_per_ip per peer address
 * and, with civetweb WebSockets, to num_threads - http.thread_reserve in
 * all, by closing the oldest wait.  gw__conn_begin / gw__conn_end: the
 * begin_request and end_request callbacks.  gw__conn_admit counts the
 * connection under `ip` on its first request: 0, or -1 when that IP is
 * over its cap. */
int gw__conn_init(const struct mg_connection *c, void **data);
void gw__conn_close(gw_server *s, const struct mg_connection *c);
int gw__conn_begin(struct mg_connection *c);
void gw__conn_end(const struct mg_connection *c);
int gw__conn_admit(gw_server *s, const struct mg_connection *c, const char *ip);
/* gw__conn_ws_admit: a civetweb WebSocket upgrade (after gw__conn_admit):
 * 0 (it now counts as a WebSocket), 503 when civetweb WebSockets are at
 * num_threads - 2 x reserve, 429 when its client has max_idle_per_ip. */
int gw__conn_ws_admit(gw_server *s, const struct mg_connection *c);
/* gw__conns_start / gw__conns_stop: the sweeper thread that applies the
 * budgets every 100 ms (start: 0 or -1; stop waits for it). */
int gw__conns_start(gw_server *s);
void gw__conns_stop(gw_server *s);
/* gw__conn_fd: the connection's socket (-1: not found); not to be closed. */
int gw__conn_fd(const struct mg_connection *c);
/* gw__conn_counts: waits and civetweb WebSockets now, waits closed so far. */
void gw__conn_counts(gw_server *s, int *waiting, int *ws, long *evicted);
/* gw__conn_slot: a pointer the WebSocket transport may use per connection. */
void **gw__conn_slot(const struct mg_connection *c);
void gw__client_ip(gw_server *s, const struct mg_connection *c, char *buf, size_t n);
/* gw__client_ip_from: the same from a peer address and the request's
 * X-Forwarded-For (NULL when absent), for transports without civetweb. */
void gw__client_ip_from(gw_server *s, const char *peer, const char *xff, char *buf, size_t n);

/* ---------------------------------------------------------------------
 * Handlers, one file per resource
 * ------------------------------------------------------------------ */
void gw__h_anonymous(gw_req *r);
void gw__h_register(gw_req *r);
void gw__h_login(gw_req *r);
void gw__h_refresh(gw_req *r);
void gw__h_logout(gw_req *r);
void gw__h_me(gw_req *r);
void gw__h_memory(gw_req *r);
void gw__h_memory_delete(gw_req *r);
void gw__h_products(gw_req *r);
void gw__h_product(gw_req *r);
void gw__h_product_create(gw_req *r);
void gw__h_product_put(gw_req *r);
void gw__h_product_delete(gw_req *r);
void gw__h_cart(gw_req *r);
void gw__h_cart_add(gw_req *r);
void gw__h_cart_patch(gw_req *r);
void gw__h_cart_remove(gw_req *r);
void gw__h_cart_clear(gw_req *r);
void gw__h_promo_apply(gw_req *r);
void gw__h_promo_remove(gw_req *r);
void gw__h_orders_create(gw_req *r);
void gw__h_orders(gw_req *r);
void gw__h_order(gw_req *r);
void gw__h_order_cancel(gw_req *r);
void gw__h_chat(gw_req *r);
void gw__h_pipelines(gw_req *r);
void gw__h_reload(gw_req *r);
void gw__h_traces(gw_req *r);
void gw__h_trace(gw_req *r);
void gw__h_healthz(gw_req *r);
void gw__h_readyz(gw_req *r);
void gw__h_metrics(gw_req *r);
void gw__h_openapi(gw_req *r);
void gw__h_docs(gw_req *r);
/* h_media.c: GET /media/{name}, the shop's copies of product images */
void gw__h_media(gw_req *r);
/* static.c: the UI (ui_dir) with SPA fallback; not in the route table */
void gw__h_static(gw_req *r);

/* cart JSON shared by REST and chat: {id, items, count, subtotal, total}.
 * NULL when the store fails. */
/* gw__cart_json: the principal's cart priced exactly as the chat prices
 * it (the pipeline's rules, cart rules, the session's promo code). New
 * object, NULL when the store is unavailable. */
json_object *gw__cart_json(gw_server *s, const gw_principal *who);


/* The commerce core as the caller of a request (h_cart.c): gw__shop_open
 * takes the pipeline and the caller's session, fills g->w for the
 * eng_shop_* calls (result in g->r); gw__shop_save stores the session
 * back (promotion codes live there; failures are logged, -1);
 * gw__shop_close releases all of it. */
typedef struct gw_shop {
    eng_shopper w;
    eng_shop_result r;
    eng_pipeline *pipe;
    json_object *session;
} gw_shop;
void gw__shop_open(gw_server *s, const gw_principal *who, gw_shop *g);
int gw__shop_save(gw_server *s, const gw_principal *who, gw_shop *g);
void gw__shop_close(gw_shop *g);
/* gw__shop_problem: the problem+json answer for a result that is not OK
 * (404 with not_found_title for a missing product or order). */
void gw__shop_problem(gw_req *r, const eng_shop_result *res, const char *not_found_title);
/* gw__idempotency_key: the request's Idempotency-Key header, NULL when
 * absent or invalid (*bad tells which). Borrowed from the connection. */
const char *gw__idempotency_key(gw_req *r, bool *bad);
/* gw__cart_do: one change to the caller's cart or promotion codes through
 * the commerce core, for every channel that maps requests onto it (REST,
 * MCP): opens *g (the caller closes it with gw__shop_close, whatever the
 * result), runs the change (arg: the sku, or the code for promotions; key
 * may be NULL), saves the session after a promotion change and pushes the
 * change to the cart's channels.  `via` names the channel in the audit
 * trail (NULL: "rest").  Returns 0 when the core ran (see g->r.status),
 * -1 when the session store failed (answer 503).  Blocks on the store. */
enum gw_cart_op {
    GW_CART_ADD, GW_CART_SET, GW_CART_REMOVE, GW_CART_CLEAR, GW_CART_PROMO_APPLY, GW_CART_PROMO_REMOVE
};
int gw__cart_do(gw_server *s, const gw_principal *who, const char *via, enum gw_cart_op op,
                const char *arg, int64_t qty, const char *key, gw_shop *g);
/* gw__checkout (h_orders.c): the caller's cart becomes an order exactly
 * once per `key` (eng_shop_checkout_confirmed: only when it is still the
 * priced cart `confirmed`, when not NULL) and the cart's channels hear
 * of it; opens *g (close it with gw__shop_close); result in g->r. */
void gw__checkout(gw_server *s, const gw_principal *who, const char *via, const char *key, json_object *confirmed,
                  gw_shop *g);
/* Checkout facts over REST (h_orders.c): the signed-in user's saved
 * delivery address (GET/PUT /me/address) and the shop's delivery options
 * priced for the caller's cart (GET /cart/delivery-options). */
void gw__h_address_get(gw_req *r);
void gw__h_address_put(gw_req *r);
/* the saved card (GET/PUT/DELETE /me/payment-method): kept by the
 * payment provider; the shop keeps brand, last 4 and the token */
void gw__h_payment_get(gw_req *r);
void gw__h_payment_put(gw_req *r);
void gw__h_payment_delete(gw_req *r);
void gw__h_delivery_options(gw_req *r);
/* gw__product_search (h_products.c): run `q` and price its hits for
 * `who` as the chat would; *items (new array) and *res (free with
 * store_search_result_free) on 0, -1 with *e filled. */
int gw__product_search(gw_server *s, const gw_principal *who, const store_search_query *q,
                       store_search_result *res, json_object **items, store_err *e);
/* gw__product_get: one product priced for `who` (new object); NULL with
 * *rc < 0 (STORE_ENOTFOUND, store errors in *e), or NULL with *rc == 0
 * when it would not convert. */
json_object *gw__product_get(gw_server *s, const gw_principal *who, const char *sku, int *rc, store_err *e);
/* gw__http_keeps_alive: whether a reply to a request with this
 * Connection header (NULL: none) and HTTP version ("1.1", "1.0"; NULL:
 * unknown) keeps the connection open, as civetweb then does (http.c). */
bool gw__http_keeps_alive(const char *connection, const char *version);

/* gw__chan_tracing: whether a turn's trace summary has anyone to go to
 * (a channel of this instance subscribed to traces, or other instances
 * through the store's events).  Takes chan_mu briefly. */
bool gw__chan_tracing(gw_server *s);
/* gw__cart_changed: push {type:"cart"} to every channel of that cart, on
 * this instance and, with a shared Redis, on every other one.  `priced`:
 * the cart as the change left it, priced for the shopper who made it (a
 * chat turn's reply has it; borrowed, not kept), or NULL to price it here
 * when a channel of this instance wants it (store reads and Lua). */
void gw__cart_changed(gw_server *s, const char *cart_id, json_object *priced);
/* gw__events_start / gw__events_stop: the subscription to the other
 * instances' cart and trace events (store_event_subscribe; nothing
 * without a backend that has events). start: 0 or a store error. */
int gw__events_start(gw_server *s);
void gw__events_stop(gw_server *s);
/* gw__audit: append an audit record; failures are logged, never fatal. */
void gw__audit(gw_server *s, const gw_principal *who, const char *action,
               const char *subject, json_object *detail);

/* ---------------------------------------------------------------------
 * Turns (turn.c) and the chat channel (chat.c, ws.c)
 * ------------------------------------------------------------------ */
typedef void (*gw_delta_fn)(void *ud, const char *text, size_t len);
/* gw__turn: run one message for `who` through the engine's conversation
 * driver (eng_converse).  *reply gets the reply object (sessionId,
 * intent, reply, cart, actions, traceId), owned by the caller; with
 * reply_text non-NULL, *reply_text gets that object's JSON text as its
 * replay record keeps it (malloc'd; NULL when none was kept: no
 * client_msg_id), for a channel that sends the object unchanged.  A
 * resent client_msg_id -- even one sent concurrently -- is answered with
 * the first answer and *replayed = 1.  Store writes that failed after the
 * turn are logged (session_save_failed).  Returns 0, or an HTTP status
 * (400, 413, 422, 503) with *reply = a problem object. */
int gw__turn(gw_server *s, const gw_principal *who, const char *text,
             const char *client_msg_id, gw_delta_fn on_delta, void *ud,
             json_object **reply, char **reply_text, int *replayed);

/* The turn traces (traces.c): a ring bounded by count, bytes and age,
 * and a writer thread that copies some to the store cache off the reply
 * path.  gw__traces_new starts the writer when st is given;
 * gw__traces_stop asks it to flush what is queued (GW_TRACE_FLUSH_MS at
 * most, the rest dropped and counted) and returns at once; gw__traces_free
 * waits for it and frees all. */
typedef struct gw_traces gw_traces;
typedef struct gw_trace_stats {
    uint64_t written, failed;    /* store writes */
    uint64_t dropped;            /* queued for the store, never written */
    uint64_t sampled_out;        /* over turns.trace_store_rate */
    uint64_t not_kept;           /* over turns.traces_rate: not in the ring */
    uint64_t queued;             /* waiting for the writer now */
    uint64_t ring, ring_bytes;   /* in memory now */
} gw_trace_stats;
gw_traces *gw__traces_new(const gw_config *c, store *st);
void gw__traces_stop(gw_traces *t);
void gw__traces_free(gw_traces *t);
/* gw__traces_wanted: whether the ring is to have this turn's trace:
 * always a failed one (failed != 0), else while turns come at most
 * turns.traces_rate a second (0: always); counts the ones it turns away.
 * Takes the ring's lock briefly; never blocks on the store. */
bool gw__traces_wanted(gw_traces *t, int failed);
/* gw__traces_add: into the ring (a copy of summary and of the len bytes
 * of ctx_json), and to the writer's queue when the store is to have it
 * (failed: always); never blocks on the store. */
void gw__traces_add(gw_traces *t, const char *id, json_object *summary, const char *ctx_json, size_t len,
                    int failed);
/* gw__traces_get: the turn context JSON (malloc'd) or NULL. */
char *gw__traces_get(gw_traces *t, const char *id);
/* gw__traces_list: the newest `limit` summaries (copies), newest first. */
json_object *gw__traces_list(gw_traces *t, int limit);
void gw__traces_stats(gw_traces *t, gw_trace_stats *out);

/* The chat transport interface: a transport (ws.c on civetweb, ws_uv.c on
 * libuv's event loop) owns the socket and calls gw__chan_*; the channel
 * answers through the ops it was given.  send/close may be called from
 * any thread (cart and trace events); the transport serialises writes. */
typedef struct gw_transport_ops {
    int (*send)(void *tctx, const char *frame, size_t len);
    void (*close)(void *tctx, int code, const char *reason);
} gw_transport_ops;
typedef struct gw_chan gw_chan;
/* gw__reply_frame_obj: the WebSocket reply frame {type:"reply",
 * clientMsgId?, the members of answer.reply (text, cards, suggestions,
 * needsLogin, confirmation, uiActions), answer's actions, cart, traceId,
 * intent, sessionId, replayed?: true} built from the chat answer object
 * (borrowed; the frame takes references to its members). cmid may be
 * NULL. A new object (frame.c). */
json_object *gw__reply_frame_obj(json_object *answer, const char *cmid, int replayed);
/* gw__reply_frame_text: the same frame's text (json-c's plain print,
 * slashes not escaped), cut from `rec` (len bytes), the answer as the
 * conversation driver printed it (eng_converse_result.reply_text),
 * without printing the answer again; *out_len (may be NULL) gets its
 * length.  malloc'd; NULL when rec is not json-c's plain print of an
 * object (then use gw__reply_frame_obj) or on out of memory. */
char *gw__reply_frame_text(const char *rec, size_t len, const char *cmid, int replayed, size_t *out_len);
/* gw__chan_open: accept a connection; `token` may be NULL (a new
 * anonymous session is issued in a {type:"session"} frame).  NULL after
 * the transport was told to close (bad token). */
gw_chan *gw__chan_open(gw_server *s, const gw_transport_ops *ops, void *tctx,
                       const char *ip, const char *token);
/* gw__chan_message: one complete text message from the client. */
void gw__chan_message(gw_chan *c, const char *data, size_t len);
/* gw__chan_error: tell the client about a transport-level problem. */
void gw__chan_error(gw_chan *c, int status, const char *slug, const char *detail);
/* gw__chan_closed: the connection is gone; frees the channel. */
void gw__chan_closed(gw_chan *c);
/* gw__chan_close_all: say goodbye (1001) to every channel (shutdown). */
void gw__chan_close_all(gw_server *s);
/* gw__chan_publish_trace: push {type:"trace"} to subscribed inspectors,
 * here and (shared Redis) on the other instances. */
void gw__chan_publish_trace(gw_server *s, json_object *summary);
/* gw__ws_close_payload: a close frame's payload (RFC 6455 5.5.1: the code,
 * big-endian, then the reason cut to fit a control frame) into b, which
 * holds at least 125 bytes; returns its length. Both transports send it. */
size_t gw__ws_close_payload(char *b, int code, const char *reason);
int gw__ws_install(gw_server *s);
/* gw__wsuv_start / gw__wsuv_stop: the event-loop WebSocket transport
 * (ws_uv.c) on cfg.ws_listen: start binds and listens before it returns
 * (0, GW_ECONFIG, GW_EIO, GW_ENOMEM; s->ws_port set); stop, after
 * gw__chan_close_all, flushes the goodbyes, closes every socket, waits
 * for work in flight and joins the loop thread. */
struct gw_wsuv;
int gw__wsuv_start(gw_server *s, gw_err *err);
void gw__wsuv_stop(gw_server *s);

/* ---------------------------------------------------------------------
 * MCP (h_mcp.c): the Model Context Protocol endpoint for outside agents
 * (Streamable HTTP, JSON responses only): POST /mcp carries one JSON-RPC
 * message, DELETE /mcp ends a session; GET is answered 405 (no stream).
 * ------------------------------------------------------------------ */
void gw__h_mcp(gw_req *r);
void gw__h_mcp_delete(gw_req *r);

/* ---------------------------------------------------------------------
 * ACP (h_acp.c, acp_session.c): the Agentic Commerce Protocol for outside
 * agents, under /acp (checkout sessions, delegate payment, product feed)
 * and /.well-known/acp.json.  Routes of auth level GW_AUTH_ACP go through
 * gw__acp_serve (limits, partner key, API-Version) instead of the usual
 * checks; every refusal is an ACP error object {type, code, message,
 * param?}.
 * ------------------------------------------------------------------ */
#define GW_ACP_VERSION "2026-04-17"
/* An ACP answer being built: status and body (owned). */
typedef struct gw_acp_out {
    int status;
    json_object *body;
} gw_acp_out;
/* an operation: body is the request's JSON object (NULL for GET) */
typedef void (*gw_acp_op)(gw_req *r, json_object *body, gw_acp_out *o);
void gw__acp_serve(gw_req *r);
/* gw__acp_unrouted: the 404/405 of an unknown /acp path or method */
void gw__acp_unrouted(gw_req *r, bool path_known);
/* gw__acp_post: a POST under the spec's idempotency rules (a required
 * Idempotency-Key, scoped to the partner and the path; the same body
 * replays the first answer with Idempotent-Replayed: true, another body
 * is 422 idempotency_conflict, one still running 409 idempotency_in_flight;
 * 5xx answers are not kept), then op. */
void gw__acp_post(gw_req *r, gw_acp_op op, bool body_optional);
/* gw__acp_idempotent: run op on body under Idempotency-Key `key` (NULL:
 * no replay protection) scoped to the caller's partner and `path` (the
 * REST path, so the REST and MCP bindings share keys); the answer in out
 * (*replayed when it is the first one again; *retry seconds for a
 * Retry-After).  Blocks on the store. */
void gw__acp_idempotent(gw_req *r, const char *path, const char *key, json_object *body, gw_acp_op op,
                        gw_acp_out *out, bool *replayed, int *retry);
void gw__acp_get(gw_req *r, gw_acp_op op);
/* gw__acp_out_err: make o an ACP error (replaces any body) */
void gw__acp_out_err(gw_acp_out *o, int status, const char *type, const char *code, const char *param,
                     const char *fmt, ...) ENG_PRINTF(6, 7);
/* gw__acp_refuse: answer an ACP error now (invalid_request below 500,
 * service_unavailable from it); for the gateway's shared checks */
void gw__acp_refuse(gw_req *r, int status, const char *code, const char *message);
/* gw__acp_token_ok: 1..max printable ASCII characters, no spaces */
bool gw__acp_token_ok(const char *s, size_t max);
/* gw__acp_str: the string member k of o (valid UTF-8, 1..max bytes), NULL
 * when absent; *bad set when present but not such a string */
const char *gw__acp_str(json_object *o, const char *k, size_t max, bool *bad);
/* gw__acp_base: the shop's public base URL (public_url, else http://Host) */
void gw__acp_base(gw_req *r, char *buf, size_t n);
/* gw__acp_time: epoch seconds as RFC 3339 (UTC) */
void gw__acp_time(int64_t epoch_s, char *buf, size_t n);

/* ACP partners (acp_partner.c): one set of credentials per agent partner
 * (acp.partners_file, plus acp.api_key as partner "default"). */
typedef struct gw_acp_partner {
    char id[41];
    char *key;                /* its Bearer API key */
    char *webhook_url;        /* where its order events go; NULL: none */
    char *webhook_secret;     /* the HMAC key of Merchant-Signature */
    bool require_timestamp;   /* a request without Timestamp is refused */
} gw_acp_partner;
/* gw__acp_partners_load: read c->acp_partners_file (JSON, see the file's
 * comment) and c->acp_api_key into s; 0, or -1 with the reason in why
 * (the start is refused).  gw__acp_partners_free releases them. */
int gw__acp_partners_load(gw_server *s, const gw_config *c, char *why, size_t n);
void gw__acp_partners_free(gw_server *s);
/* gw__acp_partner_by_key: the partner whose key is `token` (every key
 * compared in constant time), or NULL; gw__acp_partner: by id. */
const gw_acp_partner *gw__acp_partner_by_key(const gw_server *s, const char *token);
const gw_acp_partner *gw__acp_partner(const gw_server *s, const char *id);
/* gw__acp_parse_time: RFC 3339 date-time -> epoch seconds; 0 or -1. */
int gw__acp_parse_time(const char *t, int64_t *out);
/* gw__acp_timestamp_ok: a request's Timestamp (NULL: none sent) against
 * the window and partner p's require_timestamp; 0, or -1 with why. */
int gw__acp_timestamp_ok(const gw_server *s, const gw_acp_partner *p, const char *ts, char *why, size_t n);
/* gw__acp_mcp_partner: /mcp with an ACP partner's key as its Bearer
 * token: r->who becomes that partner (as gw__acp_serve makes it); true
 * when it was one. */
bool gw__acp_mcp_partner(gw_req *r);
/* gw__acp_session_op: the operation behind an ACP MCP binding tool
 * ("create_checkout_session" ...): its op, whether it names a session
 * (`id`), whether a payload is required (2), optional (1) or absent (0),
 * and the REST path suffix after /acp/checkout_sessions[/id] ("",
 * "/complete", "/cancel"); NULL for another name. */
gw_acp_op gw__acp_session_op(const char *tool, bool *needs_id, int *payload, const char **suffix);
/* gw__acp_partner_id: the calling partner's id (r->who), "" when none */
const char *gw__acp_partner_id(const gw_req *r);

/* ACP order webhooks (acp_webhook.c): a durable outbox in the store and a
 * sender thread.  gw__acp_event_intent: before a session's order is
 * placed, the intent of its order_create event (partners with a
 * webhook_url only); 0, or -1 when the store failed (place no order
 * then).  gw__acp_event_placed: after it, the event with the order, and
 * the order watched for order_update events.  Both block on the store. */
int gw__acp_event_intent(gw_server *s, const char *partner, const char *session_id, int64_t user_id,
                         const char *base);
void gw__acp_event_placed(gw_server *s, const char *session_id, int64_t order_id);
/* gw__acp_event_abandon: the core refused the order (declined, no stock,
 * changed): the session's intent goes (an event already made stays) */
void gw__acp_event_abandon(gw_server *s, const char *session_id);
/* start / stop the sender (nothing starts when no partner has a
 * webhook_url); start: 0 or -1 */
int gw__acp_webhooks_start(gw_server *s);
void gw__acp_webhooks_stop(gw_server *s);
/* gw_ticker (gateway/ticker.c): a background job on a thread of its own.
 * gw__ticker_start runs fn(arg) at once, then every every_ms and at once
 * after gw__ticker_kick; NULL when no thread could be started.
 * gw__ticker_stop stops it, waiting for the run in progress (NULL is
 * fine). Thread-safe. */
typedef struct gw_ticker gw_ticker;
gw_ticker *gw__ticker_start(void (*fn)(void *arg), void *arg, long every_ms);
void gw__ticker_kick(gw_ticker *t);
void gw__ticker_stop(gw_ticker *t);

/* gw__refunds_start / stop (gateway/refunds.c): the sweeper that gives
 * back refunds cancelled orders still owe, at startup and every 5 s;
 * start: 0 or -1 */
int gw__refunds_start(gw_server *s);
void gw__refunds_stop(gw_server *s);
/* gw__acp_webhook_stats: events delivered, failed attempts, given up */
void gw__acp_webhook_stats(uint64_t *ok, uint64_t *failures, uint64_t *given_up);
void gw__h_acp_discovery(gw_req *r);
void gw__h_acp_delegate(gw_req *r);
void gw__h_acp_feed(gw_req *r);
void gw__h_acp_feed_products(gw_req *r);
void gw__h_acp_create(gw_req *r);
void gw__h_acp_update(gw_req *r);
void gw__h_acp_retrieve(gw_req *r);
void gw__h_acp_complete(gw_req *r);
void gw__h_acp_cancel(gw_req *r);

/* ---------------------------------------------------------------------
 * Metrics (metrics.c)
 * ------------------------------------------------------------------ */
typedef struct gw_metrics gw_metrics;
gw_metrics *gw__metrics_new(void);
void gw__metrics_free(gw_metrics *m);
void gw__metrics_request(gw_metrics *m, const char *route, const char *method, int status);
void gw__metrics_turn(gw_metrics *m, json_object *ctx, int64_t total_us);
void gw__metrics_ratelimited(gw_metrics *m, const char *scope);
void gw__metrics_ws(gw_metrics *m, int delta);
/* gw__metrics_rule_error: the eng_on_rule_error hook (ud: the gw_metrics,
 * or NULL to only log): one JSON log line "rule_error" and a count in
 * aisle_rule_errors_total{rule}. Any thread. */
void gw__metrics_rule_error(void *ud, const eng_rule_error *e);
/* gw__metrics_text: Prometheus exposition text (malloc'd). */
char *gw__metrics_text(gw_server *s);

/* ---------------------------------------------------------------------
 * Pipeline holder and watcher (reload.c)
 * ------------------------------------------------------------------ */
/* gw__pipeline: the current pipeline with one reference for the caller
 * (release it with eng_pipeline_release). */
eng_pipeline *gw__pipeline(gw_server *s);
/* gw__reload: load the file again; on success swap it in.  `why` is
 * "startup", "api" or "watch".  0 or GW_EPIPELINE (old one kept). */
int gw__reload(gw_server *s, const char *why, const char *actor);
/* gw__pipelines_json: graph, current diagnostics, reload history. */
json_object *gw__pipelines_json(gw_server *s);
int gw__watch_start(gw_server *s);
void gw__watch_stop(gw_server *s);

/* ---------------------------------------------------------------------
 * The server
 * ------------------------------------------------------------------ */
typedef struct gw_ipcount {
    struct gw_ipcount *next;
    char ip[64];
    int n;
} gw_ipcount;

typedef struct gw_reload_state {
    pthread_mutex_t mu;
    eng_pipeline *pl;
    json_object *history;     /* newest last, at most 50 */
    json_object *diags;       /* diagnostics of the last load (array) */
    char path[1024];
} gw_reload_state;

struct gw_watch;

struct gw_server {
    gw_config cfg;
    char *owned[10];          /* copies of the config strings */
    store *st;
    struct eng_llm *llm;
    struct mg_context *mg;
    int port;
    unsigned char key[512];
    size_t key_len;
    gw_reload_state rl;
    struct gw_watch *watch;
    pthread_mutex_t ip_mu;
    gw_ipcount *ips;
    pthread_mutex_t conn_mu;  /* civetweb's connections (conns.c) */
    struct gw_conn *conns;
    int n_wait, n_ws;         /* waits counted, civetweb WebSockets */
    long n_evicted;           /* waits closed by the budget */
    int civet_peek;           /* civetweb 1.15: the peer is read in init_connection */
    pthread_t sweep_tid;      /* closes waits past the budgets (conns.c) */
    pthread_cond_t sweep_cv;
    int sweeping, sweep_stop;
    pthread_mutex_t turn_mu;
    pthread_cond_t turn_cv;
    int inflight;
    int busy;                 /* requests and WebSocket frames being handled */
    atomic_int draining;
    pthread_mutex_t chan_mu;
    gw_chan *chans;
    atomic_int trace_subs;       /* channels subscribed to traces (changed under chan_mu;
                                    read without it by every turn) */
    gw_traces *traces;
    gw_metrics *metrics;
    int test_delay_ms;        /* AISLE_TEST_HOOKS=1 + AISLE_TEST_TURN_DELAY_MS */
    int64_t started_ms;
    struct store_sub *ev_sub; /* other instances' events (shared Redis), or NULL:
                                 the server's thread only (events start, stop) */
    atomic_bool ev_shared;    /* ev_sub is set: what turns and requests read
                                 (cleared before the stop unsubscribes, while
                                 turns past the grace time may still run) */
    char instance[17];        /* this process's id in those events */
    struct gw_wsuv *wsuv;     /* the event-loop WebSocket transport, or NULL */
    struct gw_mgthreads *mgt; /* civetweb's threads, for a fast stop */
    int ws_port;              /* its port (0: /ws is on civetweb) */
    char ws_auto[300];        /* ws_listen "auto" resolved (else ""):
                                 the HTTP host, port + 1 */
    gw_acp_partner *acp_partners; /* ACP agent partners (acp_partner.c) */
    size_t n_acp_partners;
    int acp_ts_tolerance_s;   /* how far a request's Timestamp may be from now */
    struct gw_acp_hooks *acp_hooks; /* the webhook sender, or NULL */
    gw_ticker *refunds;             /* the refund sweeper, or NULL */
};

/* gw__dispatch: civetweb's request handler for everything but /ws. */
int gw__dispatch(struct mg_connection *conn, void *cbdata);

#endif
