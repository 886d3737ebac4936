/* gateway/gw.h — the whole public API of aisle's network gateway: the
 * civetweb server that puts the engine and the stores on HTTP (REST under
 * /api/v1, WebSocket chat on /ws, health, metrics, OpenAPI, the UI files).
 *
 * Conventions: functions return 0 (GW_OK) or a negative gw_code and, when
 * `err` is not NULL, fill it with a message a person can act on.  The
 * gateway never owns the store or the LLM client it is given: the caller
 * opens them before gw_start and closes them after gw_stop. */
#ifndef AISLE_GW_H
#define AISLE_GW_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

struct store;
struct eng_llm;

/* Error codes. Only ever appended to. */
typedef enum gw_code {
    GW_OK = 0,
    GW_EINVAL = -1,    /* bad argument */
    GW_ENOMEM = -2,
    GW_ECONFIG = -3,   /* a setting is missing or unsafe (message says which) */
    GW_EIO = -4,       /* the listener or a file could not be opened */
    GW_EAUTH = -5,     /* a token is malformed, forged or of the wrong kind */
    GW_EEXPIRED = -6,  /* a token's exp has passed */
    GW_EPIPELINE = -7, /* the pipeline failed to load (diagnostics in the log) */
} gw_code;

typedef struct gw_err {
    int code;
    char msg[512];
} gw_err;

/* Every setting of the server.  Strings are borrowed until gw_start
 * returns (it copies them).  gw_config_init fills the defaults that the
 * comments name; docs/operations.md lists them with their YAML keys and
 * environment variables. */
typedef struct gw_config {
    const char *listen;          /* "127.0.0.1:8080"; "host:port" or "port" */
    const char *pipeline_path;   /* required */
    const char *ui_dir;          /* "ui/dist": the built chat page and inspector */
    const char *jwt_secret;      /* >= 32 bytes outside dev mode */
    int dev;                     /* 1: development mode (weak secret allowed,
                                    inspector endpoints open to everyone) */
    int access_ttl_s;            /* 900: access JWT lifetime */
    int refresh_ttl_s;           /* 2592000 (30 days): refresh token lifetime */
    int session_token_ttl_s;     /* 604800 (7 days): anonymous session token */
    const char *admin_emails;    /* ignored (it let anyone register into the
                                    admin role): `aisle admin grant EMAIL`
                                    gives the role; gw_start warns when set */
    const char *cors_origin;     /* "" = no CORS header; "*" or an origin */
    int num_threads;             /* 128: civetweb workers (one per connection,
                                    WebSockets included) */
    long max_body_bytes;         /* 65536: larger bodies get 413 */
    long max_frame_bytes;        /* 16384: larger WebSocket messages close 1009 */
    long max_message_bytes;      /* 2000: a chat message's text */
    int request_timeout_ms;      /* 10000: slow clients (headers and body) */
    int keep_alive_timeout_ms;   /* 5000: idle keep-alive connections */
    int ws_idle_timeout_ms;      /* 120000: idle WebSockets are closed */
    int max_conns_per_ip;        /* 64: concurrent connections from one IP */
    int max_idle_per_ip;         /* 32: half-open requests (no request
                                    answered yet) per peer address, counted
                                    from accept: past it the address's
                                    oldest (over 500 ms) is closed; also the
                                    civetweb WebSockets per client, past it
                                    429 (0: no cap) */
    int thread_reserve;          /* 16: civetweb workers that waits (half-
                                    open requests, keep-alive) and civetweb
                                    WebSockets never hold: past num_threads
                                    - reserve the oldest wait (over 500 ms)
                                    is closed; civetweb WebSockets stop at
                                    num_threads - 2 x reserve (503); at
                                    most num_threads / 4 is used */
    double ip_rps, ip_burst;     /* 20/s, 60: token bucket per client IP */
    double user_rps, user_burst; /* 10/s, 30: token bucket per user or session */
    int login_tries;             /* 5: wrong passwords for one account (from
                                    any number of addresses) before logins
                                    to it back off: 1 s, 2 s, 4 s ... */
    int login_ip_tries;          /* 20: the same for one client address,
                                    whatever accounts it tries */
    int login_max_backoff_s;     /* 900: the longest wait; a streak of
                                    failures is forgotten after an hour
                                    without one, and a success ends it */
    int traces_keep;             /* 200: turn contexts kept in memory for the
                                    inspector (the ring) */
    double traces_rate;          /* 50: turn contexts a second at most put
                                    into the ring (failed turns always; 0:
                                    every turn) */
    long traces_max_bytes;       /* 33554432: the ring's bytes at most */
    int traces_max_age_s;        /* 3600: the ring's oldest trace */
    double trace_store_rate;     /* 20: traces a second at most copied to
                                    the store cache (failed turns always),
                                    by a writer thread off the reply path */
    int trace_queue;             /* 256: traces waiting for that writer; when
                                    full the oldest is dropped (counted) */
    int trace_ttl_s;             /* 900: traces kept in the store cache */
    int watch;                   /* 1: reload the pipeline when files change */
    int reload_debounce_ms;      /* 150 */
    int turn_deadline_ms;        /* 0: the pipeline's deadline_ms */
    int shutdown_grace_ms;       /* 10000: how long SIGTERM waits for turns */
    int access_log;              /* 1: one JSON line per request on stdout */
    const char *trusted_proxy;   /* "" or the proxy's IP (e.g. 127.0.0.1):
                                    requests from it are attributed to the
                                    last X-Forwarded-For address */
    const char *ws_listen;       /* "auto" (default): /ws on its own
                                    event-loop listener (ws_uv.c, a worker
                                    pool) on the host of `listen`, its
                                    port + 1; "host:port": there; "" or
                                    "none": /ws on `listen` (civetweb, a
                                    thread per socket) */
    int ws_handshake_timeout_ms; /* 5000: time to complete the upgrade
                                    request (event-loop transport) */
    long ws_max_queue_bytes;     /* 1048576: frames queued for a client that
                                    does not read; past it, it is dropped */
    const char *acp_api_key;     /* the Bearer key the merchant gives its ACP
                                    agent partners (>= 24 bytes outside dev
                                    mode); NULL/"": the ACP endpoints refuse
                                    every call (503) outside dev mode, and
                                    take any Bearer token in dev mode */
    const char *acp_partners_file; /* JSON: one entry per ACP agent partner
                                    (id, its own key, webhook_url and secret,
                                    require_timestamp; docs/agents.md);
                                    NULL/"": acp_api_key alone */
    const char *public_url;      /* "https://shop.example.com": what ACP's
                                    discovery document and order links
                                    name; NULL/"": http://<Host header> */
} gw_config;

/* gw_config_init: fill `c` with the defaults above (pipeline_path and
 * jwt_secret NULL). */
void gw_config_init(gw_config *c);

/* gw_config_check: the refusal rules applied by gw_start, callable alone
 * (e.g. `aisle serve --check`): outside dev mode the JWT secret must be
 * set, at least 32 bytes and not a known default.  Returns 0 or
 * GW_ECONFIG with the reason in err. */
int gw_config_check(const gw_config *c, gw_err *err);

typedef struct gw_server gw_server;

/* gw_start: load the pipeline, start the watcher (when c->watch) and the
 * HTTP listener.  `st` is required; `llm` may be NULL.  Both are borrowed
 * and must outlive the server.  On success *out owns the server; stop it
 * with gw_stop.  Returns GW_ECONFIG (unsafe settings), GW_EPIPELINE, GW_EIO
 * (address in use...), GW_ENOMEM.  Blocks until the socket listens. */
int gw_start(const gw_config *c, struct store *st, struct eng_llm *llm,
             gw_server **out, gw_err *err);

/* gw_port: the TCP port the server listens on (useful with port 0). */
int gw_port(const gw_server *s);

/* gw_ws_port: the port of the event-loop WebSocket listener (ws_listen),
 * 0 when the chat WebSocket is on the HTTP port. */
int gw_ws_port(const gw_server *s);

/* gw_ws_address: the event-loop WebSocket listener's address as
 * configured and resolved ("127.0.0.1:8081" for ws_listen "auto" beside
 * 127.0.0.1:8080), "" when the chat WebSocket is on the HTTP port. */
const char *gw_ws_address(const gw_server *s);

/* gw_stop: graceful shutdown: refuse new requests (503), wait up to
 * shutdown_grace_ms for turns in flight, close WebSockets (1001), stop
 * the listener and the watcher, free everything.  NULL is a no-op.
 * Blocks; call it from one thread only (typically after sigwait). */
void gw_stop(gw_server *s);

/* gw_routes_json: the router's table as a JSON array of {method, path,
 * auth} (path in OpenAPI form, /api/v1/products/{sku}).  The caller owns
 * the result.  Used by `aisle serve --routes` and the OpenAPI test. */
json_object *gw_routes_json(void);

/* gw_openapi: the embedded OpenAPI 3.1 document (NUL-terminated, static). */
const char *gw_openapi(void);

/* ---------------------------------------------------------------------
 * JWT (HS256 only; the header's alg is pinned and anything else is
 * refused).  Exposed for unit tests and tooling.
 * ------------------------------------------------------------------ */

/* gw_jwt_sign: sign `claims` (borrowed; any JSON object) with `key`.
 * *out is a malloc'd token the caller frees.  0, GW_EINVAL, GW_ENOMEM. */
int gw_jwt_sign(const unsigned char *key, size_t key_len, json_object *claims,
                char **out);

/* gw_jwt_verify: check the token's shape, header ({"alg":"HS256"}, typ
 * JWT or absent), signature (constant-time compare) and, when the claims
 * have them, exp and nbf against now_s (60 s leeway for nbf only).  On
 * success *claims (may be NULL) gets a new object the caller puts.
 * Returns 0, GW_EAUTH (malformed, wrong alg, bad signature), GW_EEXPIRED. */
int gw_jwt_verify(const unsigned char *key, size_t key_len, const char *token,
                  int64_t now_s, json_object **claims);

#endif
