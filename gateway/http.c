/* gateway/http.c — request and response plumbing shared by every
 * handler: bounded body reading, JSON and RFC 9457 problem replies,
 * query variables, request ids and the JSON log line writer. */
#include "gw_int.h"
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

void gw__log(const char *level, const char *event, json_object *fields)
{
    json_object *o = json_object_new_object();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char t[40], day[32];
    /* strftime for the date (any year fits), then the milliseconds */
    if (!strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm))
        day[0] = '\0';
    snprintf(t, sizeof t, "%s.%03uZ", day, (unsigned)(ts.tv_nsec / 1000000) % 1000u);
    json_object_object_add(o, "ts", json_object_new_string(t));
    json_object_object_add(o, "level", json_object_new_string(level));
    json_object_object_add(o, "event", json_object_new_string(event));
    if (fields) {
        json_object_object_foreach(fields, k, v) json_object_object_add(o, k, json_object_get(v));
        json_object_put(fields);
    }
    /* access lines go to stdout, everything else to stderr: operators
     * usually ship them to different places */
    FILE *out = strcmp(event, "access") == 0 ? stdout : stderr;
    pthread_mutex_lock(&log_mu);
    fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE), out);
    fputc('\n', out);
    fflush(out);
    pthread_mutex_unlock(&log_mu);
    json_object_put(o);
}

void gw__random_hex(char *buf, size_t nbytes)
{
    unsigned char raw[64];
    if (nbytes > sizeof raw)
        nbytes = sizeof raw;
    randombytes_buf(raw, nbytes);
    sodium_bin2hex(buf, nbytes * 2 + 1, raw, nbytes);
}

bool gw__str_ok(const char *s, size_t max)
{
    if (!s)
        return false;
    size_t n = strlen(s);
    return n > 0 && n <= max && eng_utf8_valid(s, n);
}

const char *gw__jstr(json_object *o, const char *key)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* A reply being put together: head and (small) body, one write. */
typedef struct rbuf {
    char *p;
    size_t len, cap;
    bool oom;
} rbuf;

static void rb_add(rbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void rb_adds(rbuf *b, const char *s) { rb_add(b, s, strlen(s)); }

static void rb_printf(rbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rb_printf(rbuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = true;
        return;
    }
    if ((size_t)n < sizeof tmp) {
        rb_add(b, tmp, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);   /* a long configured origin */
    if (!big) {
        b->oom = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    rb_add(b, big, (size_t)n);
    free(big);
}

/* The Date header's value, made once a second per thread. */
static const char *http_date(void)
{
    static __thread time_t at = -1;
    static __thread char buf[40];
    time_t now = time(NULL);
    if (now != at) {
        struct tm tm;
        gmtime_r(&now, &tm);
        if (!strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm))
            buf[0] = '\0';
        at = now;
    }
    return buf;
}

/* Does one of the lines ("Name: value\r\n"...) name this header? */
static bool has_header(const char *lines, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = lines; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncasecmp(p, name, n) == 0 && p[n] == ':')
            return true;
    return false;
}

/* Whether the connection stays open after this reply, said in its own
 * Connection header.  It must say what civetweb 1.15 then does (its
 * should_keep_alive): with a Connection header, keep only when the
 * header lists the keep-alive option, on HTTP/1.0 and 1.1 alike (so
 * "Connection: Upgrade" on a request that is not upgraded closes); with
 * none, keep on HTTP/1.1 and close on anything else (1.0's default).
 * The options are comma-separated tokens, matched whole and without
 * regard to case ("keep-alive-x" is no keep-alive); a close option wins
 * over keep-alive, as RFC 9112 (9.6) has it: the client that sent it
 * closes after this reply whatever civetweb does, so the header says
 * close.  Before, any header text containing "keep-alive" counted, and
 * a request without the header kept alive on every version but 1.0. */
bool gw__http_keeps_alive(const char *connection, const char *version)
{
    if (!version)
        return false;
    if (!connection)
        return strcmp(version, "1.1") == 0;
    bool keep = false;
    for (const char *p = connection; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        size_t n = (size_t)(e - p);
        while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n == 10 && strncasecmp(p, "keep-alive", 10) == 0)
            keep = true;
        else if (n == 5 && strncasecmp(p, "close", 5) == 0)
            return false;
        p = e;
    }
    return keep;
}

static bool keeps_alive(const gw_req *r)
{
    return gw__http_keeps_alive(mg_get_header(r->conn, "Connection"), r->ri->http_version);
}

/* The status line and headers, into b.  civetweb's own header calls sent
 * each line with a send() of its own (ten a reply, each a packet with
 * TCP_NODELAY): the head is now written with the body, in one. */
static int reply_head(gw_req *r, int status, const char *ctype, size_t len, const char *extra, rbuf *b)
{
    const char *txt = mg_get_response_code_text(r->conn, status);
    rb_printf(b, "HTTP/%s %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nX-Request-Id: %s\r\n"
                       "X-Content-Type-Options: nosniff\r\n",
                    r->ri->http_version ? r->ri->http_version : "1.1", status, txt ? txt : "", ctype, len, r->rid);
    if (strncmp(r->ri->local_uri, "/api/", 5) == 0)
        rb_adds(b, "Cache-Control: no-store\r\n");
    const char *origin = r->srv->cfg.cors_origin;
    if (origin && *origin)
        rb_printf(b, "Access-Control-Allow-Origin: %s\r\nVary: Origin\r\n", origin);
    bool closing = r->close || atomic_load(&r->srv->draining);
    if (closing)
        rb_adds(b, "Connection: close\r\n");
    if (extra && *extra) {
        size_t n = strlen(extra);
        rb_add(b, extra, n);
        if (extra[n - 1] != '\n')
            rb_adds(b, "\r\n");
    }
    if (!has_header(extra, "Date"))
        rb_printf(b, "Date: %s\r\n", http_date());
    if (!closing && !has_header(extra, "Connection"))
        rb_printf(b, "Connection: %s\r\n", keeps_alive(r) ? "keep-alive" : "close");
    rb_add(b, "\r\n", 2);
    return b->oom ? -1 : 0;
}

/* All n bytes at p onto the connection, or false.  mg_write itself
 * loops over short sends and waits (up to request_timeout_ms) while the
 * socket would block, but returns what it managed when the client stops
 * reading or leaves: a short count here is a dead connection, and what
 * follows must not go out as if the reply were whole. */
static bool write_all(struct mg_connection *c, const char *p, size_t n)
{
    while (n > 0) {
        size_t chunk = n < ((size_t)1 << 30) ? n : ((size_t)1 << 30);   /* mg_write returns an int */
        int k = mg_write(c, p, chunk);
        if (k <= 0)
            return false;
        p += k;
        n -= (size_t)k;
    }
    return true;
}

/* The head as civetweb's header calls send it (a line a send): only when
 * there was no memory for the one-write head, so an answer still goes out. */
static void reply_head_lines(gw_req *r, int status, const char *ctype, size_t len, const char *extra)
{
    struct mg_connection *c = r->conn;
    char n[32];
    mg_response_header_start(c, status);
    mg_response_header_add(c, "Content-Type", ctype, -1);
    snprintf(n, sizeof n, "%zu", len);
    mg_response_header_add(c, "Content-Length", n, -1);
    mg_response_header_add(c, "X-Request-Id", r->rid, -1);
    mg_response_header_add(c, "X-Content-Type-Options", "nosniff", -1);
    if (strncmp(r->ri->local_uri, "/api/", 5) == 0)
        mg_response_header_add(c, "Cache-Control", "no-store", -1);
    const char *origin = r->srv->cfg.cors_origin;
    if (origin && *origin) {
        mg_response_header_add(c, "Access-Control-Allow-Origin", origin, -1);
        mg_response_header_add(c, "Vary", "Origin", -1);
    }
    if (r->close || atomic_load(&r->srv->draining))
        mg_response_header_add(c, "Connection", "close", -1);
    if (extra && *extra)
        mg_response_header_add_lines(c, extra);
    mg_response_header_send(c);
}

/* The head, then the body (NULL: the caller writes it), in one write when
 * the body is small.  Returns whether the request was answered here (false:
 * answered before); *written whether all of it went out (false: the
 * client left or stopped reading, and nothing more is written to it). */
static bool reply_send(gw_req *r, int status, const char *ctype, const char *body, size_t len,
                       const char *extra, bool *written)
{
    *written = false;
    if (r->status)
        return false;   /* one response per request */
    r->status = status;
    rbuf b = {0};
    bool inline_body = body && len && len <= 65536;
    if (reply_head(r, status, ctype, len, extra, &b) == 0 && inline_body)
        rb_add(&b, body, len);
    if (!b.oom) {
        *written = write_all(r->conn, b.p, b.len);
    } else {
        reply_head_lines(r, status, ctype, len, extra);
        *written = true;
        inline_body = false;
    }
    if (*written && body && len && !inline_body)
        *written = write_all(r->conn, body, len);
    free(b.p);
    return true;
}

bool gw__reply_start(gw_req *r, int status, const char *ctype, size_t len, const char *extra_headers)
{
    bool written;
    return reply_send(r, status, ctype, NULL, len, extra_headers, &written) && written;
}

void gw__reply(gw_req *r, int status, const char *ctype, const char *body, size_t len,
               const char *extra_headers)
{
    bool head = strcmp(r->ri->request_method, "HEAD") == 0, written;
    if (reply_send(r, status, ctype, head ? NULL : body, len, extra_headers, &written) && written)
        r->bytes_out = len;
}

void gw__json_h(gw_req *r, int status, json_object *o, const char *extra_headers)
{
    eng_json_tidy_doubles(o);   /* 9.99, not 9.9900000000000002 */
    const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    gw__reply(r, status, "application/json", s, strlen(s), extra_headers);
    json_object_put(o);
}

void gw__json(gw_req *r, int status, json_object *o) { gw__json_h(r, status, o, NULL); }

#define PROBLEM_URN "urn:aisle:problem:"

json_object *gw__problem_obj(int status, const char *slug, const char *title, const char *detail)
{
    json_object *o = json_object_new_object();
    char type[128];
    snprintf(type, sizeof type, PROBLEM_URN "%s", slug);
    json_object_object_add(o, "type", json_object_new_string(type));
    json_object_object_add(o, "title", json_object_new_string(title));
    json_object_object_add(o, "status", json_object_new_int(status));
    if (detail)
        json_object_object_add(o, "detail", json_object_new_string(detail));
    return o;
}

const char *gw__problem_slug(json_object *problem)
{
    const char *t = gw__jstr(problem, "type");
    return t && strncmp(t, PROBLEM_URN, sizeof PROBLEM_URN - 1) == 0 ? t + sizeof PROBLEM_URN - 1 : "internal";
}

static void problem_with(gw_req *r, int status, const char *slug, const char *title, const char *detail,
                         const char *headers, const char *field)
{
    json_object *o = gw__problem_obj(status, slug, title, detail && *detail ? detail : NULL);
    if (field && *field)
        json_object_object_add(o, "field", json_object_new_string(field));
    json_object_object_add(o, "instance", json_object_new_string(r->ri->local_uri));
    json_object_object_add(o, "requestId", json_object_new_string(r->rid));
    const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    gw__reply(r, status, "application/problem+json", s, strlen(s), headers);
    json_object_put(o);
}

static void problem(gw_req *r, int status, const char *slug, const char *title, const char *detail,
                    const char *headers)
{
    problem_with(r, status, slug, title, detail, headers, NULL);
}

void gw__problem_field(gw_req *r, int status, const char *slug, const char *title, const char *field,
                       const char *detail)
{
    bool ok = (!detail || eng_utf8_valid(detail, strlen(detail))) && (!field || eng_utf8_valid(field, strlen(field)));
    problem_with(r, status, slug, title, ok ? detail : NULL, NULL, ok ? field : NULL);
}

void gw__problem(gw_req *r, int status, const char *slug, const char *title, const char *fmt, ...)
{
    char detail[512] = "";
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(detail, sizeof detail, fmt, ap);
        va_end(ap);
    }
    /* a detail may quote client input: keep the reply valid UTF-8 */
    if (!eng_utf8_valid(detail, strlen(detail)))
        detail[0] = 0;
    problem(r, status, slug, title, detail, NULL);
}

void gw__problem_retry(gw_req *r, int status, const char *slug, const char *title, int retry_after_s,
                       const char *detail)
{
    char h[64];
    snprintf(h, sizeof h, "Retry-After: %d\r\n", retry_after_s < 1 ? 1 : retry_after_s);
    problem(r, status, slug, title, detail, h);
}

/* read and drop what the client is still sending (up to 1 MiB) so that
 * it can read our 413 instead of failing on a reset connection */
static void drain(gw_req *r)
{
    char buf[8192];
    size_t total = 0;
    int k;
    while (total < (1u << 20) && (k = mg_read(r->conn, buf, sizeof buf)) > 0)
        total += (size_t)k;
}

int gw__framing_ok(const gw_req *r)
{
    /* more than one Content-Length (civetweb reads the first), or one
     * beside Transfer-Encoding, is how requests get smuggled past a
     * proxy that reads them another way: refuse, never guess */
    const char *cl = NULL, *te = NULL;
    for (int i = 0; i < r->ri->num_headers; i++) {
        const char *n = r->ri->http_headers[i].name, *v = r->ri->http_headers[i].value;
        if (!n || !v)
            continue;
        if (strcasecmp(n, "Content-Length") == 0) {
            if (cl)
                return 0;
            cl = v;
        } else if (strcasecmp(n, "Transfer-Encoding") == 0)
            te = v;
    }
    return !(cl && te);
}

/* a refused body in the format of the endpoint: ACP's error objects
 * under /acp/, problem+json elsewhere */
static void refuse_body(gw_req *r, int status, const char *slug, const char *title, const char *fmt, ...)
    ENG_PRINTF(5, 6);
static void refuse_body(gw_req *r, int status, const char *slug, const char *title, const char *fmt, ...)
{
    char detail[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    if (strncmp(r->ri->local_uri, "/acp/", 5) == 0)
        gw__acp_refuse(r, status, slug, detail);
    else
        gw__problem(r, status, slug, title, "%s", detail);
}

int gw__read_body(gw_req *r)
{
    long max = r->srv->cfg.max_body_bytes;
    long long cl = r->ri->content_length;
    if (cl > max) {
        if (cl <= (1 << 20))
            drain(r);
        refuse_body(r, 413, "payload-too-large", "Request body too large",
                    "The body has %lld bytes; the limit is %ld.", cl, max);
        return -1;
    }
    size_t cap = cl >= 0 ? (size_t)cl + 1 : 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        refuse_body(r, 503, "unavailable", "Server busy", "Out of memory.");
        return -1;
    }
    for (;;) {
        if (n + 1 >= cap) {
            if ((long)cap > max + 1) {
                free(buf);
                drain(r);
                refuse_body(r, 413, "payload-too-large", "Request body too large",
                            "The limit is %ld bytes.", max);
                return -1;
            }
            size_t nc = cap * 2;
            char *nb = realloc(buf, nc);
            if (!nb) {
                free(buf);
                refuse_body(r, 503, "unavailable", "Server busy", "Out of memory.");
                return -1;
            }
            buf = nb, cap = nc;
        }
        int k = mg_read(r->conn, buf + n, cap - 1 - n);
        if (k <= 0)
            break;
        n += (size_t)k;
        if ((long)n > max) {
            free(buf);
            drain(r);
            refuse_body(r, 413, "payload-too-large", "Request body too large", "The limit is %ld bytes.", max);
            return -1;
        }
    }
    buf[n] = 0;
    if (!eng_utf8_valid(buf, n) || memchr(buf, 0, n)) {
        free(buf);
        refuse_body(r, 400, "invalid-utf8", "Body is not valid UTF-8",
                    "Every request body must be UTF-8 text without NUL bytes.");
        return -1;
    }
    r->body = buf;
    r->body_len = n;
    return 0;
}

int gw__body_object(gw_req *r, json_object **out)
{
    *out = NULL;
    if (!r->body && gw__read_body(r) < 0)
        return -1;
    json_tokener *tok = json_tokener_new_ex(32);
    json_object *o = tok ? json_tokener_parse_ex(tok, r->body, (int)r->body_len) : NULL;
    int ok = tok && json_tokener_get_error(tok) == json_tokener_success;
    for (size_t i = ok ? json_tokener_get_parse_end(tok) : 0; ok && i < r->body_len; i++)
        if (!strchr(" \t\r\n", r->body[i]))
            ok = 0;   /* trailing garbage after the object */
    if (tok)
        json_tokener_free(tok);
    if (!ok || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        gw__problem(r, 400, "invalid-json", "Malformed JSON",
                    r->body_len ? "The body must be one JSON object." : "A JSON body is required.");
        return -1;
    }
    *out = o;
    return 0;
}

int gw__query(const gw_req *r, const char *name, char *buf, size_t n)
{
    const char *q = r->ri->query_string;
    if (!q)
        return 0;
    int k = mg_get_var(q, strlen(q), name, buf, n);
    return k >= 0;
}
