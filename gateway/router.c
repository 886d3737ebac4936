/* gateway/router.c — the route table and the one civetweb handler that
 * serves it: match method and path, authenticate, enforce the route's
 * auth level and the rate limits, call the handler, then count and log
 * the request.  Anything not in the table goes to the UI files. */
#include "gw_int.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define V1 "/api/v1"

const gw_route gw__routes[] = {
    {"POST", V1 "/auth/anonymous", gw__h_anonymous, GW_AUTH_NONE, 1},
    {"POST", V1 "/auth/register", gw__h_register, GW_AUTH_NONE, 1},
    {"POST", V1 "/auth/login", gw__h_login, GW_AUTH_NONE, 1},
    {"POST", V1 "/auth/refresh", gw__h_refresh, GW_AUTH_NONE, 1},
    {"POST", V1 "/auth/logout", gw__h_logout, GW_AUTH_NONE, 1},
    {"GET", V1 "/me", gw__h_me, GW_AUTH_USER, 1},
    {"GET", V1 "/me/memory", gw__h_memory, GW_AUTH_USER, 1},
    {"DELETE", V1 "/me/memory/{namespace}/{key}", gw__h_memory_delete, GW_AUTH_USER, 1},
    {"GET", V1 "/products", gw__h_products, GW_AUTH_NONE, 1},
    {"POST", V1 "/products", gw__h_product_create, GW_AUTH_ADMIN, 1},
    {"GET", V1 "/products/{sku}", gw__h_product, GW_AUTH_NONE, 1},
    {"PUT", V1 "/products/{sku}", gw__h_product_put, GW_AUTH_ADMIN, 1},
    {"DELETE", V1 "/products/{sku}", gw__h_product_delete, GW_AUTH_ADMIN, 1},
    {"GET", V1 "/cart", gw__h_cart, GW_AUTH_SESSION, 1},
    {"DELETE", V1 "/cart", gw__h_cart_clear, GW_AUTH_SESSION, 1},
    {"POST", V1 "/cart/items", gw__h_cart_add, GW_AUTH_SESSION, 1},
    {"PATCH", V1 "/cart/items/{sku}", gw__h_cart_patch, GW_AUTH_SESSION, 1},
    {"DELETE", V1 "/cart/items/{sku}", gw__h_cart_remove, GW_AUTH_SESSION, 1},
    {"POST", V1 "/cart/promotions", gw__h_promo_apply, GW_AUTH_SESSION, 1},
    {"DELETE", V1 "/cart/promotions/{code}", gw__h_promo_remove, GW_AUTH_SESSION, 1},
    {"GET", V1 "/cart/delivery-options", gw__h_delivery_options, GW_AUTH_SESSION, 1},
    {"GET", V1 "/me/address", gw__h_address_get, GW_AUTH_USER, 1},
    {"PUT", V1 "/me/address", gw__h_address_put, GW_AUTH_USER, 1},
    {"GET", V1 "/me/payment-method", gw__h_payment_get, GW_AUTH_USER, 1},
    {"PUT", V1 "/me/payment-method", gw__h_payment_put, GW_AUTH_USER, 1},
    {"DELETE", V1 "/me/payment-method", gw__h_payment_delete, GW_AUTH_USER, 1},
    {"POST", V1 "/orders", gw__h_orders_create, GW_AUTH_USER, 1},
    {"GET", V1 "/orders", gw__h_orders, GW_AUTH_USER, 1},
    {"GET", V1 "/orders/{id}", gw__h_order, GW_AUTH_USER, 1},
    {"POST", V1 "/orders/{id}/cancel", gw__h_order_cancel, GW_AUTH_USER, 1},
    {"POST", V1 "/chat", gw__h_chat, GW_AUTH_SESSION, 1},
    {"GET", V1 "/pipelines", gw__h_pipelines, GW_AUTH_INSPECT, 1},
    {"POST", V1 "/pipelines/reload", gw__h_reload, GW_AUTH_ADMIN, 1},
    {"GET", V1 "/traces", gw__h_traces, GW_AUTH_INSPECT, 1},
    {"GET", V1 "/traces/{id}", gw__h_trace, GW_AUTH_INSPECT, 1},
    {"POST", "/mcp", gw__h_mcp, GW_AUTH_NONE, 1},
    {"DELETE", "/mcp", gw__h_mcp_delete, GW_AUTH_NONE, 1},
    {"POST", "/acp/checkout_sessions", gw__h_acp_create, GW_AUTH_ACP, 1},
    {"POST", "/acp/checkout_sessions/{checkout_session_id}", gw__h_acp_update, GW_AUTH_ACP, 1},
    {"GET", "/acp/checkout_sessions/{checkout_session_id}", gw__h_acp_retrieve, GW_AUTH_ACP, 1},
    {"POST", "/acp/checkout_sessions/{checkout_session_id}/complete", gw__h_acp_complete, GW_AUTH_ACP, 1},
    {"POST", "/acp/checkout_sessions/{checkout_session_id}/cancel", gw__h_acp_cancel, GW_AUTH_ACP, 1},
    {"POST", "/acp/agentic_commerce/delegate_payment", gw__h_acp_delegate, GW_AUTH_ACP, 1},
    {"GET", "/acp/feeds/{id}", gw__h_acp_feed, GW_AUTH_ACP, 1},
    {"GET", "/acp/feeds/{id}/products", gw__h_acp_feed_products, GW_AUTH_ACP, 1},
    {"GET", "/.well-known/acp.json", gw__h_acp_discovery, GW_AUTH_NONE, 1},
    {"GET", "/healthz", gw__h_healthz, GW_AUTH_NONE, 0},
    {"GET", "/readyz", gw__h_readyz, GW_AUTH_NONE, 0},
    {"GET", "/metrics", gw__h_metrics, GW_AUTH_NONE, 0},
    {"GET", "/openapi.json", gw__h_openapi, GW_AUTH_NONE, 0},
    {"GET", "/docs", gw__h_docs, GW_AUTH_NONE, 0},
    {"GET", "/media/{name}", gw__h_media, GW_AUTH_NONE, 0},
};
const size_t gw__nroutes = sizeof gw__routes / sizeof *gw__routes;

static const char *auth_name(int a)
{
    static const char *n[] = {"none", "session", "user", "admin", "inspect", "acp-key"};
    return a >= 0 && a <= GW_AUTH_ACP ? n[a] : "?";
}

json_object *gw_routes_json(void)
{
    json_object *a = json_object_new_array();
    for (size_t i = 0; i < gw__nroutes; i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "method", json_object_new_string(gw__routes[i].method));
        json_object_object_add(o, "path", json_object_new_string(gw__routes[i].path));
        json_object_object_add(o, "auth", json_object_new_string(auth_name(gw__routes[i].auth)));
        json_object_array_add(a, o);
    }
    /* the WebSocket is served by civetweb's websocket handler, not the table */
    json_object *o = json_object_new_object();
    json_object_object_add(o, "method", json_object_new_string("GET"));
    json_object_object_add(o, "path", json_object_new_string("/ws"));
    json_object_object_add(o, "auth", json_object_new_string("session"));
    json_object_array_add(a, o);
    return a;
}

/* match `path` against a pattern; captures go to r->params (decoded) */
static bool match(const char *pat, const char *path, gw_req *r)
{
    int np = 0;
    while (*pat && *path) {
        if (*pat == '{') {
            const char *pe = strchr(pat, '}');
            size_t n = strcspn(path, "/");
            if (!pe || n == 0 || np >= GW_MAX_PARAMS || n >= sizeof r->params[0])
                return false;
            memcpy(r->params[np], path, n);
            r->params[np][n] = 0;
            np++;
            pat = pe + 1;
            path += n;
        } else if (*pat++ != *path++)
            return false;
    }
    return *pat == 0 && *path == 0;
}

static void access_log(gw_req *r)
{
    if (!r->srv->cfg.access_log)
        return;
    json_object *f = json_object_new_object();
    json_object_object_add(f, "requestId", json_object_new_string(r->rid));
    json_object_object_add(f, "method", json_object_new_string(r->ri->request_method));
    /* the path only: query strings may carry tokens (WebSocket ?token=) */
    if (eng_utf8_valid(r->ri->local_uri, strlen(r->ri->local_uri)))
        json_object_object_add(f, "path", json_object_new_string(r->ri->local_uri));
    json_object_object_add(f, "route", json_object_new_string(r->route ? r->route->path : "static"));
    json_object_object_add(f, "status", json_object_new_int(r->status));
    json_object_object_add(f, "bytes", json_object_new_int64((int64_t)r->bytes_out));
    json_object_object_add(f, "us", json_object_new_int64(eng_now_us() - r->t0_us));
    json_object_object_add(f, "ip", json_object_new_string(r->ip));
    if (r->who.user_id)
        json_object_object_add(f, "userId", json_object_new_int64(r->who.user_id));
    gw__log("info", "access", f);
}

static void preflight(gw_req *r)
{
    const char *origin = r->srv->cfg.cors_origin;
    if (!origin || !*origin) {
        gw__reply(r, 204, "text/plain", "", 0, "Allow: GET, POST, PUT, PATCH, DELETE, OPTIONS\r\n");
        return;
    }
    gw__reply(r, 204, "text/plain", "", 0,
              "Access-Control-Allow-Methods: GET, POST, PUT, PATCH, DELETE, OPTIONS\r\n"
              "Access-Control-Allow-Headers: Authorization, Content-Type, Idempotency-Key, X-Request-Id\r\n"
              "Access-Control-Max-Age: 600\r\n");
}

static void route(gw_req *r)
{
    const char *path = r->ri->local_uri, *method = r->ri->request_method;
    bool path_known = false;
    for (size_t i = 0; i < gw__nroutes; i++) {
        if (!match(gw__routes[i].path, path, r))
            continue;
        path_known = true;
        if (strcmp(gw__routes[i].method, method) == 0 ||
            (strcmp(method, "HEAD") == 0 && strcmp(gw__routes[i].method, "GET") == 0)) {
            r->route = &gw__routes[i];
            r->route_idx = (int)i;
            break;
        }
    }
    if (!r->route) {
        if (path_known && strcmp(method, "OPTIONS") == 0)
            preflight(r);
        else if (strncmp(path, "/acp/", 5) == 0)
            gw__acp_unrouted(r, path_known);
        else if (path_known)
            gw__problem(r, 405, "method-not-allowed", "Method not allowed", "%s is not served on this path.", method);
        else if (strncmp(path, "/api/", 5) == 0)
            gw__problem(r, 404, "not-found", "No such endpoint", NULL);
        else if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)
            gw__h_static(r);
        else
            gw__problem(r, 405, "method-not-allowed", "Method not allowed", NULL);
        return;
    }
    if (r->route->auth == GW_AUTH_ACP) {
        gw__acp_serve(r);   /* the partner's key, not a shopper's token */
        if (!r->status)
            gw__problem(r, 500, "internal", "Internal error", "The handler sent no answer.");
        return;
    }
    /* the address's bucket first: a flood of bad tokens is limited too */
    int retry = r->route->limited ? gw__rate_take(r->srv, r->ip, NULL) : 0;
    if (retry > 0) {
        gw__problem_retry(r, 429, "rate-limited", "Too many requests", retry,
                          "Slow down; try again after Retry-After seconds.");
        return;
    }
    /* /mcp also serves ACP's MCP binding: an agent partner's ACP key is
     * its Bearer token there, as on /acp */
    bool partner = strcmp(r->route->path, "/mcp") == 0 && gw__acp_mcp_partner(r);
    int rc = partner ? 0 : gw__authenticate(r);
    if (rc < 0) {
        gw__problem(r, 401, rc == GW_EEXPIRED ? "token-expired" : "invalid-token",
                    rc == GW_EEXPIRED ? "Token expired" : "Invalid token",
                    rc == GW_EEXPIRED ? "Refresh the access token (POST /api/v1/auth/refresh)." : NULL);
        return;
    }
    if (r->route->limited && r->who.authenticated) {
        retry = gw__rate_take(r->srv, NULL, &r->who);
        if (retry > 0) {
            gw__problem_retry(r, 429, "rate-limited", "Too many requests", retry,
                              "Slow down; try again after Retry-After seconds.");
            return;
        }
    }
    int need = r->route->auth;
    if (need == GW_AUTH_INSPECT)
        need = r->srv->cfg.dev ? GW_AUTH_NONE : GW_AUTH_ADMIN;
    if (need == GW_AUTH_SESSION && !r->who.authenticated) {
        gw__problem(r, 401, "session-required", "Session required",
                    "Start a session with POST /api/v1/auth/anonymous or log in.");
        return;
    }
    if ((need == GW_AUTH_USER || need == GW_AUTH_ADMIN) && !r->who.user_id) {
        gw__problem(r, 401, "login-required", "Login required", "This needs a logged-in user.");
        return;
    }
    if (need == GW_AUTH_ADMIN && strcmp(r->who.role, "admin") != 0) {
        gw__problem(r, 403, "forbidden", "Admin role required", NULL);
        return;
    }
    r->route->fn(r);
    if (!r->status)
        gw__problem(r, 500, "internal", "Internal error", "The handler sent no answer.");
}

int gw__dispatch(struct mg_connection *conn, void *cbdata)
{
    gw_server *s = cbdata;
    gw_req r = {.srv = s, .conn = conn, .ri = mg_get_request_info(conn), .route_idx = -1};
    r.t0_us = eng_now_us();
    gw__client_ip(s, conn, r.ip, sizeof r.ip);
    const char *rid = mg_get_header(conn, "X-Request-Id");
    /* a proxy's id is kept when it is short and printable */
    size_t rl = rid ? strlen(rid) : 0;
    bool ok = rl > 0 && rl < sizeof r.rid;
    for (size_t i = 0; ok && i < rl; i++)
        ok = (rid[i] >= '0' && rid[i] <= '9') || (rid[i] >= 'a' && rid[i] <= 'z') ||
             (rid[i] >= 'A' && rid[i] <= 'Z') || rid[i] == '-' || rid[i] == '_';
    if (ok)
        memcpy(r.rid, rid, rl + 1);
    else
        gw__random_hex(r.rid, 16);
    if (gw__conn_admit(s, conn, r.ip) < 0 && (r.close = 1))
        gw__problem_retry(&r, 429, "too-many-connections", "Too many connections", 1,
                          "This address has too many open connections.");
    else if (atomic_load(&s->draining))
        gw__problem_retry(&r, 503, "shutting-down", "Server shutting down", 1, "Retry on another instance.");
    else if (!gw__framing_ok(&r) && (r.close = 1))
        gw__problem(&r, 400, "bad-request", "Ambiguous request framing",
                    "Send exactly one Content-Length, or Transfer-Encoding alone.");
    else if (!eng_utf8_valid(r.ri->local_uri, strlen(r.ri->local_uri)))
        gw__problem(&r, 400, "invalid-utf8", "Path is not valid UTF-8", NULL);
    else {
        /* counted as busy until the answer is written: civetweb drops
         * writes once mg_stop has begun, so shutdown waits for these */
        pthread_mutex_lock(&s->turn_mu);
        s->busy++;
        pthread_mutex_unlock(&s->turn_mu);
        route(&r);
        pthread_mutex_lock(&s->turn_mu);
        s->busy--;
        pthread_cond_broadcast(&s->turn_cv);
        pthread_mutex_unlock(&s->turn_mu);
    }
    gw__metrics_request(s->metrics, r.route ? r.route->path : (r.status == 404 ? "unmatched" : "static"),
                        r.ri->request_method, r.status);
    access_log(&r);
    free(r.body);
    return r.status ? r.status : 500;
}
