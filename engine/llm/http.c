/* engine/llm/http.c — one HTTP attempt of an LLM call over libcurl: the
 * per-thread easy handle (so connections to the provider are reused), the
 * deadline turned into curl timeouts, and the response read as JSON or as
 * a server-sent-event stream, with every way it can go wrong classified. */
#include "llm_int.h"
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_key_t handle_key;
static _Thread_local CURL *tl_handle;
static _Thread_local bool tl_busy;

static void handle_destroy(void *h) { curl_easy_cleanup(h); }

static void init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_key_create(&handle_key, handle_destroy);
}

/* The thread's handle, or a fresh one when it is busy (an on_delta callback
 * that calls the client again): curl forbids re-entering a handle. */
static CURL *handle_get(bool *own)
{
    pthread_once(&once, init_once);
    *own = false;
    if (tl_busy) {
        *own = true;
        return curl_easy_init();
    }
    if (!tl_handle) {
        tl_handle = curl_easy_init();
        if (tl_handle)
            pthread_setspecific(handle_key, tl_handle);   /* freed at thread exit */
    } else {
        curl_easy_reset(tl_handle);   /* keeps the connection cache */
    }
    tl_busy = tl_handle != NULL;
    return tl_handle;
}

static void handle_put(CURL *h, bool own)
{
    if (own)
        curl_easy_cleanup(h);
    else
        tl_busy = false;
}

void eng__llm_try_init(llm_try *t)
{
    memset(t, 0, sizeof *t);
    t->retry_after_ms = -1;
    eng__buf_init(&t->answer);
    eng__buf_init(&t->msg);
}

void eng__llm_try_free(llm_try *t)
{
    json_object_put(t->json);
    t->json = NULL;
    eng__buf_free(&t->answer);
    eng__buf_free(&t->msg);
}

typedef struct xfer {
    const eng_llm *l;
    CURL *h;
    llm_try *t;
    bool stream, decided, sse_mode, done;
    int fail;               /* set by a callback that aborted the transfer */
    eng_buf raw;            /* a JSON body (answer or error) */
    eng_buf piece;          /* one delta or a streamed error message */
    json_object *acc;       /* a streamed tool step: calls, usage, stop */
    eng__sse sse;
    eng_llm_delta_fn fn;
    void *ud;
} xfer;

static int failf(xfer *x, int code, bool counts, const char *fmt, const char *arg)
{
    x->fail = code;
    x->t->counts = counts;
    eng__buf_reset(&x->t->msg);
    eng__buf_printf(&x->t->msg, fmt, arg);
    return code;
}

static int on_event(void *ud, const char *event, const char *data, size_t len)
{
    xfer *x = ud;
    if (x->done)
        return 0;   /* whatever follows the end marker is of no use */
    eng__buf_reset(&x->piece);
    llm_ev ev = x->acc ? x->l->wire->tool_event(event, data, len, x->acc, &x->piece)
                       : x->l->wire->event(event, data, len, &x->piece);
    if (x->piece.oom)
        return failf(x, ENG_ENOMEM, false, "%s", "out of memory reading the stream");
    switch (ev) {
    case LLM_EV_DELTA:
        if (x->t->answer.len + x->piece.len > LLM_MAX_ANSWER)
            return failf(x, ENG_EIO, true, "answer longer than %s", "256 KiB");
        eng__buf_add(&x->t->answer, x->piece.data, x->piece.len);
        x->t->delivered = true;
        if (x->fn)
            x->fn(x->ud, x->piece.data, x->piece.len);
        return 0;
    case LLM_EV_DONE:
        x->done = true;
        return 0;
    case LLM_EV_ERROR:
        return failf(x, ENG_EIO, true, "error event in the stream: %s", x->piece.data);
    case LLM_EV_BAD:
        return failf(x, ENG_EIO, true, "%s", "malformed event in the stream (not the expected JSON)");
    case LLM_EV_NONE:
        break;
    }
    return 0;
}

static size_t on_write(char *p, size_t size, size_t nmemb, void *ud)
{
    xfer *x = ud;
    size_t n = size * nmemb;
    if (!x->decided) {
        /* only now do we know whether this is the stream or an error body */
        long status = 0;
        char *ct = NULL;
        curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(x->h, CURLINFO_CONTENT_TYPE, &ct);
        x->sse_mode = x->stream && status == 200 && ct && strstr(ct, "text/event-stream");
        x->decided = true;
    }
    if (x->sse_mode) {
        int rc = eng__sse_feed(&x->sse, p, n);
        if (rc == ENG_ELIMIT)
            failf(x, ENG_EIO, true, "%s", "stream event larger than 256 KiB");
        else if (rc == ENG_ENOMEM)
            failf(x, ENG_ENOMEM, false, "%s", "out of memory reading the stream");
        return rc ? 0 : n;
    }
    if (x->raw.len + n > LLM_MAX_BODY) {
        failf(x, ENG_EIO, true, "answer body larger than %s", "1 MiB");
        return 0;
    }
    eng__buf_add(&x->raw, p, n);
    return x->raw.oom ? 0 : n;
}

/* Retry-After is seconds (an HTTP date is rare from these APIs and is
 * ignored); retry-after-ms, sent by some OpenAI-compatible servers, wins. */
static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
    xfer *x = ud;
    size_t n = size * nmemb;
    if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) {
        x->t->retry_after_ms = -1;   /* a new response (after a 100) */
        return n;
    }
    static const char ms[] = "retry-after-ms:", s[] = "retry-after:";
    bool is_ms = n > sizeof ms - 1 && strncasecmp(p, ms, sizeof ms - 1) == 0;
    bool is_s = !is_ms && n > sizeof s - 1 && strncasecmp(p, s, sizeof s - 1) == 0;
    if (!is_ms && !is_s)
        return n;
    char v[32];
    size_t off = is_ms ? sizeof ms - 1 : sizeof s - 1, len = n - off;
    if (len >= sizeof v)
        return n;
    memcpy(v, p + off, len);
    v[len] = '\0';
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    while (*end && isspace((unsigned char)*end))
        end++;
    if (errno == 0 && *end == '\0' && end != v && d >= 0 && d < 86400.0 * 1000)
        x->t->retry_after_ms = (int64_t)(is_ms ? d : d * 1000.0);
    return n;
}

static bool is_connect_error(CURLcode c)
{
    return c == CURLE_COULDNT_CONNECT || c == CURLE_COULDNT_RESOLVE_HOST ||
           c == CURLE_COULDNT_RESOLVE_PROXY;
}

static bool is_transfer_error(CURLcode c)
{
    return c == CURLE_SEND_ERROR || c == CURLE_RECV_ERROR || c == CURLE_GOT_NOTHING ||
           c == CURLE_PARTIAL_FILE || c == CURLE_HTTP2 || c == CURLE_HTTP2_STREAM;
}

/* A finished 200 that was not a stream: the JSON answer. */
static void parse_answer(xfer *x)
{
    llm_try *t = x->t;
    json_object *root = NULL;
    if (x->raw.len)
        root = json_tokener_parse(x->raw.data);
    const char *why = "malformed JSON in the answer";
    if (t->want_json && root && json_object_is_type(root, json_type_object)) {
        t->json = root;   /* the caller reads the tool calls out of it */
        return;
    }
    if (root && json_object_is_type(root, json_type_object) &&
        x->l->wire->answer(root, &t->answer, &why)) {
        if (t->answer.len > LLM_MAX_ANSWER)
            failf(x, ENG_EIO, true, "answer longer than %s", "256 KiB");
        else if (t->answer.oom)
            failf(x, ENG_ENOMEM, false, "%s", "out of memory reading the answer");
        else if (x->stream && x->fn && t->answer.len) {
            /* a server that ignored stream:true still gets its text through */
            x->fn(x->ud, t->answer.data, t->answer.len);
            t->delivered = true;
        }
    } else {
        failf(x, ENG_EIO, true, "HTTP 200 but %s", why);
    }
    json_object_put(root);
}

static void http_error(xfer *x, long status)
{
    llm_try *t = x->t;
    t->code = ENG_EIO;
    t->retryable = status == 429 || status == 408 || status >= 500;
    /* a 4xx is our request's fault (bad key, bad model): the provider is
     * up, so it must not open the circuit for everyone */
    t->counts = status == 429 || status == 408 || status >= 500 || status < 400;
    eng__buf_printf(&t->msg, "HTTP %ld", status);
    eng_buf pm;
    eng__buf_init(&pm);
    if (eng__llm_error_text(x->raw.data, x->raw.len, &pm))
        eng__buf_printf(&t->msg, ": %s", pm.data);
    else if (x->raw.len)
        eng__buf_adds(&t->msg, " (no error message in the body)");
    eng__buf_free(&pm);
}

void eng__llm_attempt(const eng_llm *l, const char *body, size_t body_len,
                      struct curl_slist *headers, int64_t deadline_us,
                      eng_llm_delta_fn on_delta, void *ud, llm_try *t)
{
    int64_t left_ms = (deadline_us - eng_now_us()) / 1000;
    if (left_ms < 1) {
        t->code = ENG_ETIMEDOUT;
        eng__buf_adds(&t->msg, "deadline passed");
        return;
    }
    bool own;
    CURL *h = handle_get(&own);
    if (!h) {
        t->code = ENG_ENOMEM;
        eng__buf_adds(&t->msg, "could not create a curl handle");
        return;
    }
    xfer x = {.l = l, .h = h, .t = t, .stream = on_delta != NULL, .fn = on_delta, .ud = ud};
    eng__buf_init(&x.raw);
    eng__buf_init(&x.piece);
    eng__sse_init(&x.sse, LLM_MAX_SSE_LINE, on_event, &x);
    if (t->want_json && on_delta) {
        x.acc = json_object_new_object();
        if (x.acc)
            json_object_object_add(x.acc, "calls", json_object_new_array());
    }
    char ebuf[CURL_ERROR_SIZE] = "";

    curl_easy_setopt(h, CURLOPT_URL, l->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);            /* threads: no SIGALRM */
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "aisle/" AISLE_VERSION);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(l->connect_timeout_ms < left_ms ? l->connect_timeout_ms : left_ms));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)left_ms);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);

    CURLcode c = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    t->status = status;

    if (x.fail) {
        t->code = x.fail;   /* a callback stopped it; msg and counts are set */
    } else if (c == CURLE_OPERATION_TIMEDOUT) {
        if (eng_now_us() >= deadline_us - 5000) {
            t->code = ENG_ETIMEDOUT;
            t->counts = true;
            eng__buf_adds(&t->msg, status ? "answer not complete by the deadline"
                                          : "no answer by the deadline");
        } else {
            /* the connect timeout, shorter than the deadline: a dead host */
            t->code = ENG_EIO;
            t->counts = t->retryable = true;
            eng__buf_printf(&t->msg, "could not connect within %ld ms", l->connect_timeout_ms);
        }
    } else if (c != CURLE_OK) {
        t->code = ENG_EIO;
        t->counts = c != CURLE_URL_MALFORMAT && c != CURLE_UNSUPPORTED_PROTOCOL;
        t->retryable = is_connect_error(c) || is_transfer_error(c);
        eng__buf_printf(&t->msg, "%s%s%s", is_connect_error(c) ? "provider unreachable: " : "",
                        ebuf[0] ? ebuf : curl_easy_strerror(c),
                        status ? "" : " (no HTTP response)");
    } else if (status != 200) {
        http_error(&x, status);
    } else if (x.sse_mode) {
        int rc = eng__sse_finish(&x.sse);
        if (rc == 0 && !x.fail && !x.done)
            failf(&x, ENG_EIO, true, "%s", "stream ended early (no end marker)");
        if (x.fail)
            t->code = x.fail;
        if (!x.fail && x.acc) {
            /* the tool step as it was gathered: the caller completes it */
            json_object_object_add(x.acc, "streamed", json_object_new_boolean(1));
            t->json = x.acc;
            x.acc = NULL;
        }
    } else {
        parse_answer(&x);
        if (x.fail)
            t->code = x.fail;
    }
    if (t->answer.oom || t->msg.oom) {
        t->code = ENG_ENOMEM;
        t->counts = t->retryable = false;
    }
    if (t->code == 0 && t->status == 0)
        t->status = 200;
    eng__sse_free(&x.sse);
    json_object_put(x.acc);
    eng__buf_free(&x.raw);
    eng__buf_free(&x.piece);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);   /* ebuf dies with this frame */
    handle_put(h, own);
}
