/* gateway/h_acp.c — the Agentic Commerce Protocol (ACP, API version
 * 2026-04-17) as a channel: what every ACP call shares (the partner's
 * Bearer API key, the API-Version header, ACP's flat error objects,
 * Idempotency-Key replay and conflicts), the stand-in delegate-payment
 * handler (a card becomes a one-time token of the shop's own payment
 * provider), the discovery document and the product feed.  The checkout
 * sessions themselves are in acp_session.c.  Mapping only: prices, stock,
 * vetoes, orders and payments are the commerce core's.
 *
 * Partners: each has its own key (acp_partner.c), rate bucket,
 * idempotency keys and checkout sessions; a `Timestamp` must be within the
 * shop's window.  Limits: the `Signature` header is not verified (the
 * 2026-04-17 specification leaves its algorithm and signed bytes to an
 * out-of-band agreement: docs/agents.md); a body read past max_body_bytes
 * without a Content-Length is refused in the gateway's problem format. */
#include "gw_int.h"
#include <inttypes.h>
#include <math.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define IDEM_TTL_S 86400      /* spec: keys answer for at least 24 hours */
#define IDEM_LEASE_MS 60000

/* an array's length; 0 for anything else (json-c asserts on a non-array) */
static size_t alen(json_object *a) { return json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0; }

/* ------------------------------------------------------------ errors */

void gw__acp_out_err(gw_acp_out *o, int status, const char *type, const char *code, const char *param,
                     const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_object_put(o->body);
    o->status = status;
    o->body = json_object_new_object();
    json_object_object_add(o->body, "type", json_object_new_string(type));
    json_object_object_add(o->body, "code", json_object_new_string(code));
    json_object_object_add(o->body, "message", json_object_new_string(msg));
    if (param)
        json_object_object_add(o->body, "param", json_object_new_string(param));
}

/* send o (consumed) with the headers every ACP answer carries */
static void send_out(gw_req *r, gw_acp_out *o, const char *key, bool replayed, int retry_after)
{
    char hdr[600] = "Cache-Control: no-store\r\n";
    size_t n = strlen(hdr);
    if (key)
        n += (size_t)snprintf(hdr + n, sizeof hdr - n, "Idempotency-Key: %s\r\n", key);
    if (replayed && n < sizeof hdr)
        n += (size_t)snprintf(hdr + n, sizeof hdr - n, "Idempotent-Replayed: true\r\n");
    if (retry_after > 0 && n < sizeof hdr)
        n += (size_t)snprintf(hdr + n, sizeof hdr - n, "Retry-After: %d\r\n", retry_after);
    const char *rid = mg_get_header(r->conn, "Request-Id");
    if (rid && n < sizeof hdr && gw__acp_token_ok(rid, 128))
        snprintf(hdr + n, sizeof hdr - n, "Request-Id: %s\r\n", rid);
    eng_json_tidy_doubles(o->body);
    const char *txt = json_object_to_json_string_ext(o->body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    gw__reply(r, o->status, "application/json", txt, strlen(txt), hdr);
    json_object_put(o->body);
    o->body = NULL;
}

static void send_err(gw_req *r, int status, const char *type, const char *code, const char *param, int retry,
                     const char *msg)
{
    gw_acp_out o = {0};
    gw__acp_out_err(&o, status, type, code, param, "%s", msg);
    if (strcmp(code, "missing_api_version") == 0 || strcmp(code, "unsupported_api_version") == 0) {
        json_object *v = json_object_new_array();
        json_object_array_add(v, json_object_new_string(GW_ACP_VERSION));
        json_object_object_add(o.body, "supported_versions", v);
    }
    send_out(r, &o, NULL, false, retry);
}

void gw__acp_refuse(gw_req *r, int status, const char *code, const char *message)
{
    char c[64];   /* the gateway's slugs in ACP's snake_case */
    size_t i = 0;
    for (; code[i] && i < sizeof c - 1; i++)
        c[i] = code[i] == '-' ? '_' : code[i];
    c[i] = 0;
    send_err(r, status, status >= 500 ? "service_unavailable" : "invalid_request", c, NULL, status == 503 ? 1 : 0,
             message);
}

bool gw__acp_token_ok(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= 32 || s[i] >= 127)
            return false;
    return true;
}

/* ------------------------------------------------------------ the gate */

void gw__acp_unrouted(gw_req *r, bool path_known)
{
    if (path_known)
        send_err(r, 405, "invalid_request", "method_not_allowed", NULL, 0,
                 "That method is not served on this ACP path.");
    else
        send_err(r, 404, "invalid_request", "not_found", NULL, 0, "No such ACP endpoint.");
}

const char *gw__acp_partner_id(const gw_req *r)
{
    return strncmp(r->who.sid, "acp:", 4) == 0 ? r->who.sid + 4 : "";
}

int gw__acp_timestamp_ok(const gw_server *s, const gw_acp_partner *p, const char *ts, char *why, size_t n)
{
    if (!ts) {
        if (!p || !p->require_timestamp)
            return 0;
        snprintf(why, n, "Send the Timestamp header (RFC 3339): this shop requires it from you.");
        return -1;
    }
    int64_t t, now = (int64_t)time(NULL), tol = s->acp_ts_tolerance_s;
    if (gw__acp_parse_time(ts, &t) < 0) {
        snprintf(why, n, "Timestamp must be an RFC 3339 date-time, e.g. 2026-04-17T10:30:00Z.");
        return -1;
    }
    if (t < now - tol || t > now + tol) {
        snprintf(why, n, "Timestamp outside the allowed window (%" PRId64 " seconds of the shop's clock).", tol);
        return -1;
    }
    return 0;
}

/* The request's Timestamp: 0, or -1 when refused (answered 401) */
static int timestamp_check(gw_req *r, const gw_acp_partner *p)
{
    char why[200];
    if (gw__acp_timestamp_ok(r->srv, p, mg_get_header(r->conn, "Timestamp"), why, sizeof why) == 0)
        return 0;
    send_err(r, 401, "invalid_request", "invalid_signature", NULL, 0, why);
    return -1;
}

void gw__acp_serve(gw_req *r)
{
    gw_server *s = r->srv;
    int retry = r->route->limited ? gw__rate_take(s, r->ip, NULL) : 0;
    if (retry > 0) {
        send_err(r, 429, "invalid_request", "rate_limit_exceeded", NULL, retry,
                 "Too many requests from this address; retry after Retry-After seconds.");
        return;
    }
    if (!s->cfg.dev && s->n_acp_partners == 0) {
        send_err(r, 503, "service_unavailable", "acp_not_configured", NULL, 0,
                 "ACP is not enabled on this shop: its operator sets acp.api_key (AISLE_ACP_API_KEY) or "
                 "acp.partners_file.");
        return;
    }
    const char *auth = mg_get_header(r->conn, "Authorization");
    const char *tok = auth && strncasecmp(auth, "Bearer ", 7) == 0 ? auth + 7 : NULL;
    if (!tok || !*tok) {
        send_err(r, 401, "invalid_request", "unauthorized", NULL, 0,
                 "Send the API key this shop gave you as Authorization: Bearer <key>.");
        return;
    }
    /* each partner its own key; in dev mode without any, every token is
     * partner "dev" */
    const gw_acp_partner *p = gw__acp_partner_by_key(s, tok);
    if (!p && s->n_acp_partners > 0) {
        send_err(r, 401, "invalid_request", "invalid_api_key", NULL, 0, "That API key is not valid here.");
        return;
    }
    if (timestamp_check(r, p) < 0)
        return;
    /* each partner its own rate bucket, idempotency keys and sessions */
    gw_principal partner = {.authenticated = 1};
    snprintf(partner.sid, sizeof partner.sid, "acp:%s", p ? p->id : "dev");
    r->who = partner;
    retry = r->route->limited ? gw__rate_take(s, NULL, &partner) : 0;
    if (retry > 0) {
        send_err(r, 429, "invalid_request", "rate_limit_exceeded", NULL, retry,
                 "Too many requests from this partner; retry after Retry-After seconds.");
        return;
    }
    /* the feed API has no version header; checkout and delegation do */
    if (strncmp(r->route->path, "/acp/feeds", 10) != 0) {
        const char *v = mg_get_header(r->conn, "API-Version");
        if (!v || !*v) {
            send_err(r, 400, "invalid_request", "missing_api_version", NULL, 0,
                     "Send the API-Version header (this shop speaks " GW_ACP_VERSION ").");
            return;
        }
        if (strcmp(v, GW_ACP_VERSION) != 0) {
            send_err(r, 400, "invalid_request", "unsupported_api_version", NULL, 0,
                     "This shop speaks ACP API version " GW_ACP_VERSION " only.");
            return;
        }
    }
    r->route->fn(r);
}

/* ------------------------------------------------------------ idempotency */

typedef struct sbuf {
    char *p;
    size_t n, cap;
    bool oom;
} sbuf;

static void put(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = (b->n + n + 1) * 2;
        char *q = realloc(b->p, cap);
        if (!q) {
            b->oom = true;
            return;
        }
        b->p = q, b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* RFC 8785-like canonical text: sorted keys, 1.0 == 1; the parser's depth
 * limit bounds the recursion, the body's size bounds the output */
static void canon(sbuf *b, json_object *v)
{
    char num[64];
    switch (json_object_get_type(v)) {
    case json_type_object: {
        size_t n = (size_t)json_object_object_length(v), i = 0;
        const char **keys = n ? malloc(n * sizeof *keys) : NULL;
        if (n && !keys) {
            b->oom = true;
            return;
        }
        json_object_object_foreach(v, k, val) {
            (void)val;
            keys[i++] = k;
        }
        if (n > 1)
            qsort(keys, n, sizeof *keys, cmp_str);
        put(b, "{", 1);
        for (i = 0; i < n; i++) {
            json_object *ks = json_object_new_string(keys[i]);
            const char *kt = json_object_to_json_string_ext(ks, JSON_C_TO_STRING_PLAIN);
            put(b, i ? "," : "", i ? 1 : 0);
            put(b, kt, strlen(kt));
            put(b, ":", 1);
            json_object_put(ks);
            canon(b, json_object_object_get(v, keys[i]));
        }
        put(b, "}", 1);
        free(keys);
        return;
    }
    case json_type_array:
        put(b, "[", 1);
        for (size_t i = 0; i < alen(v); i++) {
            put(b, i ? "," : "", i ? 1 : 0);
            canon(b, json_object_array_get_idx(v, i));
        }
        put(b, "]", 1);
        return;
    case json_type_double: {
        double d = json_object_get_double(v);
        if (d == (double)(long long)d && d > -9e15 && d < 9e15)
            snprintf(num, sizeof num, "%lld", (long long)d);
        else
            snprintf(num, sizeof num, "%.17g", d);
        put(b, num, strlen(num));
        return;
    }
    case json_type_int:
        snprintf(num, sizeof num, "%lld", (long long)json_object_get_int64(v));
        put(b, num, strlen(num));
        return;
    default: {
        const char *t = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
        put(b, t, strlen(t));
        return;
    }
    }
}

static void sha_hex(const void *data, size_t n, char out[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, data, n);
    sodium_bin2hex(out, 65, h, sizeof h);
}

void gw__acp_post(gw_req *r, gw_acp_op op, bool body_optional)
{
    gw_server *s = r->srv;
    const char *key = mg_get_header(r->conn, "Idempotency-Key");
    if (!key) {
        send_err(r, 400, "invalid_request", "idempotency_key_required", NULL, 0,
                 "Idempotency-Key header is required on all POST requests.");
        return;
    }
    if (!gw__acp_token_ok(key, 255)) {
        send_err(r, 400, "invalid_request", "invalid", NULL, 0,
                 "The Idempotency-Key is 1-255 printable ASCII characters without spaces.");
        return;
    }
    if (r->ri->content_length > s->cfg.max_body_bytes) {
        r->close = 1;
        send_err(r, 413, "invalid_request", "request_too_large", NULL, 0, "The request body is too large.");
        return;
    }
    if (gw__read_body(r) < 0)
        return;
    json_object *body = NULL;
    if (r->body_len == 0 && body_optional) {
        body = json_object_new_object();
    } else {
        /* one object, the parser's depth limit, nothing after it */
        json_tokener *tok = json_tokener_new_ex(32);
        body = tok ? json_tokener_parse_ex(tok, r->body, (int)r->body_len) : NULL;
        bool whole = tok && json_tokener_get_error(tok) == json_tokener_success;
        for (size_t i = whole ? json_tokener_get_parse_end(tok) : 0; whole && i < r->body_len; i++)
            whole = strchr(" \t\r\n", r->body[i]) != NULL;
        if (tok)
            json_tokener_free(tok);
        if (!whole || !body || !json_object_is_type(body, json_type_object)) {
            json_object_put(body);
            send_err(r, 400, "invalid_request", "invalid_json", "$", 0, "The body must be a JSON object (UTF-8).");
            return;
        }
    }
    gw_acp_out o = {0};
    bool replayed = false;
    int retry = 0;
    gw__acp_idempotent(r, r->ri->local_uri, key, body, op, &o, &replayed, &retry);
    json_object_put(body);
    send_out(r, &o, key, replayed, retry);
}

void gw__acp_idempotent(gw_req *r, const char *path, const char *key, json_object *body, gw_acp_op op,
                        gw_acp_out *out, bool *replayed, int *retry)
{
    gw_server *s = r->srv;
    *replayed = false;
    *retry = 0;
    memset(out, 0, sizeof *out);
    if (!key) {   /* no key (the MCP binding's is optional): no replay protection */
        op(r, body, out);
        if (!out->body)
            gw__acp_out_err(out, 500, "processing_error", "internal", NULL, "The request produced no answer.");
        return;
    }
    /* the key belongs to the partner and the endpoint (its path) */
    char scope[600], idem[80], fp[65];
    snprintf(scope, sizeof scope, "%s\n%s\n%s", r->who.sid, path, key);
    sha_hex(scope, strlen(scope), fp);
    snprintf(idem, sizeof idem, "acp:idem:%s", fp);
    sbuf cb = {0};
    canon(&cb, body);
    if (cb.oom) {
        free(cb.p);
        gw__acp_out_err(out, 503, "service_unavailable", "unavailable", NULL, "Out of memory; retry.");
        *retry = 1;
        return;
    }
    sha_hex(cb.p ? cb.p : "", cb.n, fp);
    free(cb.p);

    char *prev = NULL;
    store_err e = {0};
    int rc = store_once_begin(s->st, idem, IDEM_LEASE_MS, &prev, &e);
    if (rc == STORE_EEXIST) {
        json_object *rec = prev ? json_tokener_parse(prev) : NULL;
        free(prev);
        const char *pfp = gw__jstr(rec, "fp");
        if (pfp && strcmp(pfp, fp) == 0) {
            out->status = json_object_get_int(json_object_object_get(rec, "status"));
            out->body = json_object_get(json_object_object_get(rec, "body"));
            json_object_put(rec);
            if (out->body && out->status >= 200 && out->status < 500) {
                *replayed = true;
                return;
            }
            gw__acp_out_err(out, 500, "processing_error", "replay_unreadable", NULL, "The first answer could not be read.");
            return;
        }
        json_object_put(rec);
        gw__acp_out_err(out, 422, "invalid_request", "idempotency_conflict", NULL,
                        "Idempotency-Key has already been used with a different request body.");
        return;
    }
    free(prev);
    if (rc == STORE_EBUSY) {
        gw__acp_out_err(out, 409, "invalid_request", "idempotency_in_flight", NULL,
                        "A request with this Idempotency-Key is currently being processed.");
        *retry = 1;
        return;
    }
    if (rc < 0) {
        gw__acp_out_err(out, 503, "service_unavailable", "store_unavailable", NULL, "The store is not available; retry.");
        *retry = 1;
        return;
    }
    op(r, body, out);
    if (!out->body)
        gw__acp_out_err(out, 500, "processing_error", "internal", NULL, "The request produced no answer.");
    if (out->status >= 500) {
        /* a server error is never kept against the key (spec 6.5) */
        store_once_abort(s->st, idem, NULL);
    } else {
        json_object *rec = json_object_new_object();
        json_object_object_add(rec, "fp", json_object_new_string(fp));
        json_object_object_add(rec, "status", json_object_new_int(out->status));
        json_object_object_add(rec, "body", json_object_get(out->body));
        eng_json_tidy_doubles(rec);
        if (store_once_finish(s->st, idem, json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PLAIN), IDEM_TTL_S,
                              &e) < 0 &&
            e.code != STORE_EEXIST) {
            json_object *f = json_object_new_object();
            json_object_object_add(f, "error", json_object_new_string(e.msg));
            gw__log("error", "acp_idempotency_save_failed", f);
        }
        json_object_put(rec);
    }
}

void gw__acp_get(gw_req *r, gw_acp_op op)
{
    gw_acp_out o = {0};
    op(r, NULL, &o);
    if (!o.body)
        gw__acp_out_err(&o, 500, "processing_error", "internal", NULL, "The request produced no answer.");
    send_out(r, &o, NULL, false, 0);
}

/* ------------------------------------------------------------ helpers */

void gw__acp_base(gw_req *r, char *buf, size_t n)
{
    const char *pub = r->srv->cfg.public_url;
    if (pub && *pub) {
        snprintf(buf, n, "%s", pub);
    } else {
        const char *h = mg_get_header(r->conn, "Host");
        bool ok = h && *h && strlen(h) < 200;
        for (size_t i = 0; ok && h[i]; i++)
            ok = (h[i] >= 'a' && h[i] <= 'z') || (h[i] >= 'A' && h[i] <= 'Z') || (h[i] >= '0' && h[i] <= '9') ||
                 strchr(".-:[]", h[i]);
        snprintf(buf, n, "http://%s", ok ? h : "localhost");
    }
    size_t l = strlen(buf);
    while (l > 0 && buf[l - 1] == '/')
        buf[--l] = 0;
}

void gw__acp_time(int64_t epoch_s, char *buf, size_t n)
{
    time_t t = (time_t)epoch_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* an RFC 3339 time (Z or an offset; fractions ignored) as epoch seconds;
 * -1 when it is not one */
static int64_t parse_time(const char *s)
{
    int Y, M, D, h, m, sec, used = 0;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &Y, &M, &D, &h, &m, &sec, &used) != 6 || used != 19)
        return -1;
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60 || Y < 1970 || Y > 9999)
        return -1;
    const char *p = s + 19;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            ;
    int off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
        int oh = (p[1] - '0') * 10 + (p[2] - '0'), om = (p[4] - '0') * 10 + (p[5] - '0');
        off = (oh * 60 + om) * 60 * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return -1;
    }
    if (*p)
        return -1;
    struct tm tm = {.tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D, .tm_hour = h, .tm_min = m, .tm_sec = sec};
    return (int64_t)timegm(&tm) - off;
}

/* ------------------------------------------------------------ discovery */

void gw__h_acp_discovery(gw_req *r)
{
    char base[300];
    gw__acp_base(r, base, sizeof base);
    eng_pipeline *p = gw__pipeline(r->srv);
    char cur[8] = "usd";
    const char *c = p ? eng_pipeline_currency(p) : "USD";
    for (size_t i = 0; c[i] && i < 3; i++)
        cur[i] = (char)(c[i] >= 'A' && c[i] <= 'Z' ? c[i] + 32 : c[i]);
    eng_pipeline_release(p);
    json_object *d = json_object_new_object(), *pr = json_object_new_object(), *v = json_object_new_array();
    json_object_object_add(pr, "name", json_object_new_string("acp"));
    json_object_object_add(pr, "version", json_object_new_string(GW_ACP_VERSION));
    json_object_array_add(v, json_object_new_string(GW_ACP_VERSION));
    json_object_object_add(pr, "supported_versions", v);
    char url[400];
    snprintf(url, sizeof url, "%s/docs", base);
    json_object_object_add(pr, "documentation_url", json_object_new_string(url));
    json_object_object_add(d, "protocol", pr);
    snprintf(url, sizeof url, "%s/acp", base);
    json_object_object_add(d, "api_base_url", json_object_new_string(url));
    /* /mcp speaks the shop's own tools, not ACP's MCP binding: REST only */
    json_object *t = json_object_new_array();
    json_object_array_add(t, json_object_new_string("rest"));
    json_object_array_add(t, json_object_new_string("mcp"));   /* POST /mcp: the MCP binding's five tools */
    json_object_object_add(d, "transports", t);
    json_object *caps = json_object_new_object(), *sv = json_object_new_array(), *cu = json_object_new_array();
    json_object_array_add(sv, json_object_new_string("checkout"));
    json_object_array_add(sv, json_object_new_string("delegate_payment"));
    json_object_object_add(caps, "services", sv);
    json_object_array_add(cu, json_object_new_string(cur));
    json_object_object_add(caps, "supported_currencies", cu);
    json_object *lo = json_object_new_array();
    json_object_array_add(lo, json_object_new_string("en-US"));
    json_object_object_add(caps, "supported_locales", lo);
    json_object_object_add(d, "capabilities", caps);
    const char *txt = json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    gw__reply(r, 200, "application/json", txt, strlen(txt), "Cache-Control: public, max-age=3600\r\n");
    json_object_put(d);
}

/* ------------------------------------------------------------ delegate payment */

/* a string member of at most max bytes, or NULL (*bad when present but not one) */
const char *gw__acp_str(json_object *o, const char *k, size_t max, bool *bad)
{
    json_object *v = json_object_object_get(o, k);
    if (!v)
        return NULL;
    const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
    if (!s || !gw__str_ok(s, max)) {
        *bad = true;
        return NULL;
    }
    return s;
}

static bool digits(const char *s, size_t lo, size_t hi)
{
    size_t n = s ? strlen(s) : 0;
    if (n < lo || n > hi)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static void delegate(gw_req *r, json_object *body, gw_acp_out *o)
{
#define BAD(param, ...) do { gw__acp_out_err(o, 400, "invalid_request", "invalid_card", param, __VA_ARGS__); return; } while (0)
    static const char *const known[] = {"payment_method", "allowance", "billing_address", "risk_signals", "metadata",
                                        NULL};
    json_object_object_foreach(body, k, v0) {
        (void)v0;
        bool ok = false;
        for (size_t i = 0; known[i]; i++)
            ok |= strcmp(k, known[i]) == 0;
        if (!ok)
            BAD("$", "unknown member \"%.40s\"", k);
    }
    json_object *pm = json_object_object_get(body, "payment_method"), *al = json_object_object_get(body, "allowance");
    json_object *md = json_object_object_get(body, "metadata");
    if (!json_object_is_type(pm, json_type_object))
        BAD("$.payment_method", "payment_method (an object) is required");
    if (!json_object_is_type(al, json_type_object))
        BAD("$.allowance", "allowance (an object) is required");
    if (md && !json_object_is_type(md, json_type_object))
        BAD("$.metadata", "metadata is an object of strings");
    if (md) {   /* json-c's foreach needs an object */
        json_object_object_foreach(md, mk, mv) {
            (void)mk;
            if (!json_object_is_type(mv, json_type_string) || json_object_get_string_len(mv) > 500)
                BAD("$.metadata", "metadata values are strings of at most 500 bytes");
        }
    }
    bool bad = false;
    const char *type = gw__acp_str(pm, "type", 16, &bad), *num = gw__acp_str(pm, "number", 19, &bad);
    const char *em = gw__acp_str(pm, "exp_month", 2, &bad), *ey = gw__acp_str(pm, "exp_year", 4, &bad);
    const char *cvc = gw__acp_str(pm, "cvc", 4, &bad);
    if (!type || strcmp(type, "card") != 0)
        BAD("$.payment_method.type", "payment_method.type must be \"card\"");
    if (!digits(num, 12, 19) || !eng_pay_luhn_ok(num))
        BAD("$.payment_method.number", "the card number is not valid (12-19 digits passing the Luhn check)");
    if (!digits(em, 1, 2) || strtol(em, NULL, 10) < 1 || strtol(em, NULL, 10) > 12)
        BAD("$.payment_method.exp_month", "exp_month is \"1\" to \"12\"");
    if (!digits(ey, 4, 4))
        BAD("$.payment_method.exp_year", "exp_year is four digits");
    if (cvc && !digits(cvc, 3, 4))
        BAD("$.payment_method.cvc", "cvc is 3 or 4 digits");
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    int month = (int)strtol(em, NULL, 10), year = (int)strtol(ey, NULL, 10);
    if (year < tm.tm_year + 1900 || (year == tm.tm_year + 1900 && month < tm.tm_mon + 1))
        BAD("$.payment_method.exp_year", "the card has expired");
    const char *reason = gw__acp_str(al, "reason", 16, &bad), *cur = gw__acp_str(al, "currency", 3, &bad);
    const char *csid = gw__acp_str(al, "checkout_session_id", 64, &bad), *exp = gw__acp_str(al, "expires_at", 40, &bad);
    json_object *max = json_object_object_get(al, "max_amount");
    if (!reason || strcmp(reason, "one_time") != 0)
        BAD("$.allowance.reason", "allowance.reason must be \"one_time\"");
    if (!json_object_is_type(max, json_type_int) || json_object_get_int64(max) < 0 ||
        json_object_get_int64(max) > 100000000000LL)
        BAD("$.allowance.max_amount", "allowance.max_amount is an integer amount in minor units");
    if (!cur || strlen(cur) != 3)
        BAD("$.allowance.currency", "allowance.currency is a three-letter ISO 4217 code");
    if (!csid || !gw__acp_token_ok(csid, 64))
        BAD("$.allowance.checkout_session_id", "allowance.checkout_session_id names the checkout session");
    int64_t until = parse_time(exp);
    if (until < 0)
        BAD("$.allowance.expires_at", "allowance.expires_at is an RFC 3339 time");
    if (until <= (int64_t)now)
        BAD("$.allowance.expires_at", "the allowance has already expired");
    if (bad)
        BAD("$.payment_method", "a member has the wrong type or is too long");

    eng_pipeline *p = gw__pipeline(r->srv);
    const eng_pay_provider *prov = eng_pay_find(p ? eng_pipeline_payment(p) : "test");
    eng_pipeline_release(p);
    if (!prov || !prov->save)
        {
        gw__acp_out_err(o, 503, "service_unavailable", "unavailable", NULL,
                               "The shop's payment provider keeps no cards.");
        return;
    }
    eng_pay_req pr = {.idempotency_key = csid, .currency = cur, .card_number = num, .exp_month = month,
                      .exp_year = year, .cvc = cvc ? cvc : ""};
    eng_pay_result res = {0};
    if (prov->save(prov, &pr, &res) < 0)
        {
        gw__acp_out_err(o, 503, "service_unavailable", "unavailable", NULL,
                               "The payment provider could not be reached; retry.");
        return;
    }
    if (!res.approved)
        BAD("$.payment_method", "the card was refused: %s", res.reason);
    char id[40], hex[33], ckey[64], created[40];
    gw__random_hex(hex, 16);
    snprintf(id, sizeof id, "vt_%s", hex);
    snprintf(ckey, sizeof ckey, "acp:vt:%s", id);
    json_object *vt = json_object_new_object();
    json_object_object_add(vt, "token", json_object_new_string(res.token));
    json_object_object_add(vt, "brand", json_object_new_string(eng_pay_card_brand(num)));
    json_object_object_add(vt, "last4", json_object_new_string(num + strlen(num) - 4));
    json_object_object_add(vt, "maxAmount", json_object_new_int64(json_object_get_int64(max)));
    json_object_object_add(vt, "currency", json_object_new_string(cur));
    json_object_object_add(vt, "checkoutSessionId", json_object_new_string(csid));
    json_object_object_add(vt, "expiresAt", json_object_new_int64(until));
    int64_t ttl = until - (int64_t)now;
    store_err e = {0};
    int rc = store_cache_put(r->srv->st, ckey, json_object_to_json_string_ext(vt, JSON_C_TO_STRING_PLAIN),
                             (int)(ttl > 7 * 86400 ? 7 * 86400 : ttl), &e);
    json_object_put(vt);
    if (rc < 0)
        {
        gw__acp_out_err(o, 503, "service_unavailable", "unavailable", NULL, "The store is not available; retry.");
        return;
    }
    o->status = 201;
    o->body = json_object_new_object();
    json_object_object_add(o->body, "id", json_object_new_string(id));
    gw__acp_time((int64_t)now, created, sizeof created);
    json_object_object_add(o->body, "created", json_object_new_string(created));
    json_object_object_add(o->body, "metadata", md ? json_object_get(md) : json_object_new_object());
    json_object *ad = json_object_new_object();
    json_object_object_add(ad, "checkoutSessionId", json_object_new_string(csid));
    json_object_object_add(ad, "token", json_object_new_string(id));
    gw__audit(r->srv, &r->who, "acp.payment.delegate", csid, ad);
#undef BAD
}

void gw__h_acp_delegate(gw_req *r) { gw__acp_post(r, delegate, false); }

/* ------------------------------------------------------------ product feed */

#define FEED_ID "catalog"
#define FEED_MAX 20000   /* products in one answer */

typedef struct feed_walk {
    json_object *items;
    int n;
} feed_walk;

static int feed_one(void *ud, const store_product *p)
{
    feed_walk *w = ud;
    char *js = NULL;
    store_err e = {0};
    if (w->n >= FEED_MAX)
        return 1;
    if (store_product_to_json(p, &js, &e) == 0) {
        json_object *o = json_tokener_parse(js);
        if (o) {
            /* what the feed needs beyond the document */
            json_object_object_add(o, "priceMissing", json_object_new_boolean(p->price_missing));
            json_object_object_add(o, "stockUntracked", json_object_new_boolean(p->stock_untracked));
            json_object_array_add(w->items, o);
            w->n++;
        }
    }
    free(js);
    return 0;
}

static bool feed_id_ok(gw_req *r, gw_acp_out *o)
{
    if (strcmp(r->params[0], FEED_ID) == 0)
        return true;
    gw__acp_out_err(o, 404, "invalid_request", "feed_not_found", "id",
                    "This shop has one feed, \"" FEED_ID "\" (its whole catalog).");
    return false;
}

static void feed_meta(gw_req *r, json_object *body, gw_acp_out *o)
{
    (void)body;
    if (!feed_id_ok(r, o))
        return;
    char t[40];
    gw__acp_time((int64_t)time(NULL), t, sizeof t);
    o->status = 200;
    o->body = json_object_new_object();
    json_object_object_add(o->body, "id", json_object_new_string(FEED_ID));
    json_object_object_add(o->body, "updated_at", json_object_new_string(t));
}

static json_object *money(double v, const char *cur)
{
    json_object *m = json_object_new_object();
    json_object_object_add(m, "amount", json_object_new_int64(llround(v * 100)));
    json_object_object_add(m, "currency", json_object_new_string(cur));
    return m;
}

static void feed_products(gw_req *r, json_object *body, gw_acp_out *o)
{
    (void)body;
    if (!feed_id_ok(r, o))
        return;
    feed_walk w = {json_object_new_array(), 0};
    store_err e = {0};
    if (store_product_each(r->srv->st, feed_one, &w, &e) < 0) {
        json_object_put(w.items);
        {
        gw__acp_out_err(o, 503, "service_unavailable", "unavailable", NULL, "The catalog is not available.");
        return;
    }
    }
    /* the prices the shop charges: its rules, for an anonymous shopper */
    gw_shop g;
    gw_principal nobody = {0};
    gw__shop_open(r->srv, &nobody, &g);
    eng_shop_price(&g.w, w.items);
    char cur[8];
    snprintf(cur, sizeof cur, "%s", g.pipe ? eng_pipeline_currency(g.pipe) : "USD");
    gw__shop_close(&g);
    char base[300], url[700];
    gw__acp_base(r, base, sizeof base);
    json_object *out = json_object_new_array();
    for (size_t i = 0; i < alen(w.items); i++) {
        json_object *p = json_object_array_get_idx(w.items, i), *pr = json_object_new_object();
        json_object *va = json_object_new_object(), *vs = json_object_new_array();
        const char *sku = gw__jstr(p, "sku"), *title = gw__jstr(p, "title"), *desc = gw__jstr(p, "description");
        if (!sku || !title) {
            json_object_put(pr);
            json_object_put(va);
            json_object_put(vs);
            continue;
        }
        json_object_object_add(pr, "id", json_object_new_string(sku));
        json_object_object_add(pr, "title", json_object_new_string(title));
        if (desc && *desc) {
            json_object *d = json_object_new_object();
            json_object_object_add(d, "plain", json_object_new_string(desc));
            json_object_object_add(pr, "description", d);
        }
        json_object *media = json_object_new_array(), *imgs = json_object_object_get(p, "images");
        for (size_t k = 0; k < alen(imgs); k++) {
            const char *u = json_object_get_string(json_object_array_get_idx(imgs, k));
            if (u && (strncmp(u, "https://", 8) == 0 || strncmp(u, "http://", 7) == 0)) {
                json_object *m = json_object_new_object();
                json_object_object_add(m, "type", json_object_new_string("image"));
                json_object_object_add(m, "url", json_object_new_string(u));
                json_object_array_add(media, m);
            }
        }
        json_object_object_add(va, "id", json_object_new_string(sku));
        json_object_object_add(va, "title", json_object_new_string(title));
        snprintf(url, sizeof url, "%s/api/v1/products/%s", base, sku);
        json_object_object_add(va, "url", json_object_new_string(url));
        if (!json_object_get_boolean(json_object_object_get(p, "priceMissing"))) {
            double list = json_object_get_double(json_object_object_get(p, "price"));
            json_object *fp = json_object_object_get(p, "finalPrice");
            double fin = fp ? json_object_get_double(fp) : list;
            json_object_object_add(va, "price", money(fin, cur));
            if (llround(fin * 100) != llround(list * 100))
                json_object_object_add(va, "list_price", money(list, cur));
        }
        bool untracked = json_object_get_boolean(json_object_object_get(p, "stockUntracked"));
        int64_t stock = json_object_get_int64(json_object_object_get(p, "stock"));
        json_object *av = json_object_new_object();
        json_object_object_add(av, "available", json_object_new_boolean(untracked || stock > 0));
        json_object_object_add(av, "status", json_object_new_string(untracked || stock > 0 ? "in_stock" : "out_of_stock"));
        json_object_object_add(va, "availability", av);
        const char *cat = gw__jstr(p, "category"), *brand = gw__jstr(p, "brand");
        if (cat && *cat) {
            json_object *cs = json_object_new_array(), *c = json_object_new_object();
            json_object_object_add(c, "value", json_object_new_string(cat));
            json_object_object_add(c, "taxonomy", json_object_new_string("merchant"));
            json_object_array_add(cs, c);
            json_object_object_add(va, "categories", cs);
        }
        if (brand && *brand) {
            json_object *vo = json_object_new_array(), *b = json_object_new_object();
            json_object_object_add(b, "name", json_object_new_string("Brand"));
            json_object_object_add(b, "value", json_object_new_string(brand));
            json_object_array_add(vo, b);
            json_object_object_add(va, "variant_options", vo);
        }
        if (alen(media) > 0)
            json_object_object_add(va, "media", json_object_get(media));
        json_object_array_add(vs, va);
        if (alen(media) > 0)
            json_object_object_add(pr, "media", media);
        else
            json_object_put(media);
        json_object_object_add(pr, "variants", vs);
        json_object_array_add(out, pr);
    }
    json_object_put(w.items);
    o->status = 200;
    o->body = json_object_new_object();
    json_object_object_add(o->body, "products", out);
}

void gw__h_acp_feed(gw_req *r) { gw__acp_get(r, feed_meta); }
void gw__h_acp_feed_products(gw_req *r) { gw__acp_get(r, feed_products); }
