/* engine/llm/llm.c — the LLM client's public face: configuration (from a
 * struct or the environment), the retry loop inside the caller's deadline,
 * the circuit breaker shared by all threads, counters, and logging that
 * never shows the API key. Wire formats live in openai.c and anthropic.c. */
#include "llm_int.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Backoff between attempts: 100 ms doubled each time, capped at 2 s, with
 * "equal jitter" (half fixed, half random) so that threads that failed
 * together do not retry together. A retry only happens when this wait
 * plus LLM_MIN_ATTEMPT_MS still fits before the deadline. */
#define LLM_BACKOFF_MS 100
#define LLM_BACKOFF_MAX_MS 2000
#define LLM_MIN_ATTEMPT_MS 200

/* ------------------------------------------------------------- helpers */

json_object *eng__llm_json_messages(const char *system, const eng_llm_msg *m, size_t n)
{
    json_object *a = json_object_new_array();
    if (!a)
        return NULL;
    for (size_t i = 0; i < n + (system != NULL); i++) {
        json_object *o = json_object_new_object();
        bool sys = system && i == 0;
        const eng_llm_msg *mi = sys ? NULL : &m[i - (system != NULL)];
        if (!o || json_object_array_add(a, o) != 0) {
            json_object_put(o);
            json_object_put(a);
            return NULL;
        }
        json_object_object_add(o, "role", json_object_new_string(sys ? "system" : mi->role));
        json_object_object_add(o, "content",
                               json_object_new_string(sys ? system : mi->content));
    }
    return a;
}

void eng__llm_call_args(json_object *call, const char *raw)
{
    json_object *args = *raw ? json_tokener_parse(raw) : json_object_new_object();
    if (args && json_object_is_type(args, json_type_object)) {
        json_object_object_add(call, "arguments", args);
    } else {
        json_object_put(args);
        json_object_object_add(call, "raw", json_object_new_string(raw));
    }
}

json_object *eng__llm_stream_call(json_object *acc, size_t i)
{
    json_object *calls = json_object_object_get(acc, "calls");
    while (calls && json_object_array_length(calls) <= i && i < 128) {
        json_object *c = json_object_new_object();
        json_object_object_add(c, "id", json_object_new_string(""));
        json_object_object_add(c, "name", json_object_new_string(""));
        json_object_object_add(c, "partial", json_object_new_string(""));
        json_object_array_add(calls, c);
    }
    return calls ? json_object_array_get_idx(calls, i) : NULL;
}

void eng__llm_append(json_object *o, const char *key, const char *s)
{
    eng_buf b;
    eng__buf_init(&b);
    eng__buf_adds(&b, eng__json_str(o, key, ""));
    eng__buf_adds(&b, s);
    json_object_object_add(o, key, json_object_new_string(b.data ? b.data : ""));
    eng__buf_free(&b);
}

/* A streamed tool step, gathered by the wire's tool_event, made into the
 * normalised answer: arguments parsed, usage and stop in place. */
static json_object *tool_finish(json_object *acc, const char *text)
{
    json_object *out = json_object_new_object(), *calls = json_object_new_array();
    json_object_object_add(out, "text", json_object_new_string(text ? text : ""));
    json_object *in = json_object_object_get(acc, "calls");
    for (size_t i = 0; i < json_object_array_length(in); i++) {
        json_object *c = json_object_array_get_idx(in, i), *n = json_object_new_object();
        json_object_object_add(n, "id", json_object_new_string(eng__json_str(c, "id", "")));
        json_object_object_add(n, "name", json_object_new_string(eng__json_str(c, "name", "")));
        eng__llm_call_args(n, eng__json_str(c, "partial", ""));
        json_object_array_add(calls, n);
    }
    json_object_object_add(out, "calls", calls);
    json_object *u = json_object_new_object(), *usage = json_object_object_get(acc, "usage");
    json_object_object_add(u, "input", json_object_new_int64(json_object_get_int64(json_object_object_get(usage, "input"))));
    json_object_object_add(u, "output", json_object_new_int64(json_object_get_int64(json_object_object_get(usage, "output"))));
    json_object_object_add(out, "usage", u);
    json_object_object_add(out, "stop", json_object_new_string(eng__json_str(acc, "stop", "")));
    return out;
}

bool eng__llm_body_finish(const eng_llm *l, json_object *root, bool stream, eng_buf *out)
{
    json_object_object_add(root, "temperature", json_object_new_double(l->temperature));
    json_object_object_add(root, "max_tokens", json_object_new_int(l->max_tokens));
    json_object_object_add(root, "stream", json_object_new_boolean(stream));
    eng__buf_adds(out, json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(root);
    return !out->oom;
}

bool eng__llm_error_text(const char *body, size_t len, eng_buf *out)
{
    if (!body || !len)
        return false;
    json_object *root = json_tokener_parse(body), *e;
    bool ok = false;
    if (root && json_object_object_get_ex(root, "error", &e)) {
        /* {"error":{"type","message"}}, or a bare string from some proxies */
        const char *msg = json_object_is_type(e, json_type_string)
                              ? json_object_get_string(e)
                              : eng__json_str(e, "message", NULL);
        const char *type = json_object_is_type(e, json_type_object)
                               ? eng__json_str(e, "type", NULL) : NULL;
        if (msg || type) {
            /* bounded, one line: it ends up in err->msg and in logs */
            size_t start = out->len;
            if (type && msg)
                eng__buf_printf(out, "%.40s: %.300s", type, msg);
            else
                eng__buf_printf(out, "%.300s", msg ? msg : type);
            for (size_t i = start; i < out->len; i++)
                if ((unsigned char)out->data[i] < 0x20)
                    out->data[i] = ' ';
            ok = !out->oom;
        }
    }
    json_object_put(root);
    return ok;
}

/* Replace every occurrence of the key by "[redacted]": a provider's error
 * text (or a proxy's) may quote what it was sent. */
static void scrub(const eng_llm *l, const char *in, char *out, size_t cap)
{
    const char *k = l->api_key;
    size_t kl = k ? strlen(k) : 0, o = 0;
    for (const char *p = in; *p && o + 1 < cap;) {
        if (kl >= 4 && strncmp(p, k, kl) == 0) {
            static const char r[] = "[redacted]";
            for (size_t i = 0; r[i] && o + 1 < cap; i++)
                out[o++] = r[i];
            p += kl;
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
}

static void llm_log(const eng_llm *l, int level, const char *fmt, ...) ENG_PRINTF(3, 4);
static void llm_log(const eng_llm *l, int level, const char *fmt, ...)
{
    if (level > l->log_level)
        return;
    char raw[768], clean[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    scrub(l, raw, clean, sizeof clean);
    json_object *m = json_object_new_string(clean);
    /* one JSON line, like the rest of the operator-facing logs */
    fprintf(stderr, "{\"level\":\"%s\",\"component\":\"llm\",\"provider\":\"%s\",\"msg\":%s}\n",
            level <= 1 ? "warn" : "debug", l->wire->name,
            m ? json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN) : "\"\"");
    json_object_put(m);
}

static uint64_t jitter_rand(void)
{
    static _Thread_local uint64_t s;
    if (!s)
        s = (uint64_t)eng_now_us() ^ (uint64_t)(uintptr_t)&s ^ 0x9e3779b97f4a7c15ull;
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
}

static int64_t backoff_ms(int attempt)
{
    int64_t b = LLM_BACKOFF_MS << (attempt < 5 ? attempt : 5);
    if (b > LLM_BACKOFF_MAX_MS)
        b = LLM_BACKOFF_MAX_MS;
    return b / 2 + (int64_t)(jitter_rand() % (uint64_t)(b / 2 + 1));
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* -------------------------------------------------------------- config */

static bool is_off(const char *v)
{
    return !strcasecmp(v, "off") || !strcasecmp(v, "0") || !strcasecmp(v, "false") ||
           !strcasecmp(v, "no");
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

int eng_llm_config_from_env(eng_llm_config *c, eng_err *err)
{
    if (!c)
        return eng_err_set(err, ENG_EINVAL, "eng_llm_config_from_env: no config");
    memset(c, 0, sizeof *c);
    c->connect_timeout_ms = 1000;
    c->max_retries = 2;
    c->breaker_failures = 5;
    c->breaker_cooldown_ms = 30000;
    c->temperature = 0;
    c->max_tokens = 512;
    c->base_url = env("AISLE_LLM_BASE_URL");
    c->api_key = env("AISLE_LLM_API_KEY");
    c->model = env("AISLE_LLM_MODEL");

    const char *sw = env("AISLE_LLM"), *p = env("AISLE_LLM_PROVIDER");
    if (sw && is_off(sw)) {
        c->provider = ENG_LLM_OFF;
        return 0;
    }
    if (sw && strcasecmp(sw, "on") && strcasecmp(sw, "1") && strcasecmp(sw, "true") &&
        strcasecmp(sw, "yes"))
        return eng_err_set(err, ENG_EINVAL, "AISLE_LLM is \"%.64s\": use on or off", sw);
    if (!p) {
        /* no provider named: a key or a URL alone means an OpenAI-compatible
         * server; nothing at all means no LLM (the engine works without) */
        c->provider = c->api_key || c->base_url ? ENG_LLM_OPENAI : ENG_LLM_OFF;
    } else if (!strcasecmp(p, "openai")) {
        c->provider = ENG_LLM_OPENAI;
    } else if (!strcasecmp(p, "anthropic")) {
        c->provider = ENG_LLM_ANTHROPIC;
    } else if (is_off(p) || !strcasecmp(p, "none")) {
        c->provider = ENG_LLM_OFF;
    } else {
        return eng_err_set(err, ENG_EINVAL,
                           "AISLE_LLM_PROVIDER is \"%.64s\": use openai, anthropic or off", p);
    }
    const llm_wire *w = c->provider == ENG_LLM_ANTHROPIC ? &eng__llm_anthropic : &eng__llm_openai;
    if (c->provider != ENG_LLM_OFF && !c->base_url)
        c->base_url = w->default_base;
    if (c->provider != ENG_LLM_OFF && !c->model)
        c->model = w->default_model;
    return 0;
}

eng_llm *eng_llm_new(const eng_llm_config *c)
{
    if (!c)
        return NULL;
    eng_llm *l = eng__calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->provider = c->provider;
    l->wire = c->provider == ENG_LLM_ANTHROPIC ? &eng__llm_anthropic : &eng__llm_openai;
    const char *base = c->base_url ? c->base_url : l->wire->default_base;
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')   /* "…/v1/" and "…/v1" mean the same */
        bl--;
    l->base_url = eng__strndup(base, bl);
    l->api_key = eng__strdup(c->api_key ? c->api_key : "");
    l->model = eng__strdup(c->model ? c->model : l->wire->default_model);
    eng_buf u;
    eng__buf_init(&u);
    eng__buf_add(&u, base, bl);
    eng__buf_adds(&u, l->wire->path);
    l->url = u.oom ? NULL : u.data;
    if (!l->url)
        eng__buf_free(&u);
    /* zero means "default" where zero would make no sense */
    l->connect_timeout_ms = c->connect_timeout_ms > 0 ? c->connect_timeout_ms : 1000;
    l->max_retries = c->max_retries >= 0 ? c->max_retries : 2;
    l->breaker_failures = c->breaker_failures > 0 ? c->breaker_failures : 5;
    l->breaker_cooldown_ms = c->breaker_cooldown_ms > 0 ? c->breaker_cooldown_ms : 30000;
    l->temperature = c->temperature;
    l->max_tokens = c->max_tokens > 0 ? c->max_tokens : 512;
    const char *lv = getenv("AISLE_LLM_LOG");
    l->log_level = !lv ? 1 : !strcasecmp(lv, "debug") ? 2 : is_off(lv) ? 0 : 1;
    if (!l->base_url || !l->api_key || !l->model || !l->url ||
        pthread_mutex_init(&l->mu, NULL) != 0) {
        eng__free(l->base_url);
        eng__free(l->api_key);
        eng__free(l->model);
        eng__free(l->url);
        eng__free(l);
        return NULL;
    }
    return l;
}

void eng_llm_free(eng_llm *l)
{
    if (!l)
        return;
    pthread_mutex_destroy(&l->mu);
    if (l->api_key)
        memset(l->api_key, 0, strlen(l->api_key));
    eng__free(l->base_url);
    eng__free(l->api_key);
    eng__free(l->model);
    eng__free(l->url);
    eng__free(l);
}

void eng_llm_stats_get(const eng_llm *l, eng_llm_stats *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (!l)
        return;
    out->calls = atomic_load(&l->calls);
    out->failures = atomic_load(&l->failures);
    out->retries = atomic_load(&l->retries);
    out->timeouts = atomic_load(&l->timeouts);
    out->breaker_rejections = atomic_load(&l->rejections);
}

/* ------------------------------------------------------------- breaker */

/* May this call go out? Closed: yes. Open: no until the cooldown ends, then
 * exactly one trial call (half-open) while the others keep being refused. */
static bool breaker_enter(eng_llm *l, bool *trial, int64_t *wait_ms)
{
    pthread_mutex_lock(&l->mu);
    int64_t now = eng_now_us();
    bool ok = true;
    *trial = false;
    if (l->open_until_us) {
        if (now < l->open_until_us || l->trial) {
            ok = false;
            *wait_ms = now < l->open_until_us ? (l->open_until_us - now + 999) / 1000 : 0;
        } else {
            l->trial = *trial = true;
        }
    }
    pthread_mutex_unlock(&l->mu);
    return ok;
}

/* outcome: 1 success, -1 a failure that counts, 0 neither (4xx, OOM) */
static void breaker_leave(eng_llm *l, bool trial, int outcome)
{
    pthread_mutex_lock(&l->mu);
    bool was_open = l->open_until_us != 0, opened = false;
    if (outcome > 0) {
        l->consecutive = 0;
        l->open_until_us = 0;
    } else if (outcome < 0) {
        l->consecutive++;
        if (trial || l->consecutive >= l->breaker_failures) {
            l->open_until_us = eng_now_us() + (int64_t)l->breaker_cooldown_ms * 1000;
            opened = true;
        }
    }
    if (trial)
        l->trial = false;
    int n = l->consecutive;
    pthread_mutex_unlock(&l->mu);
    if (opened)
        llm_log(l, 1, "circuit %s after %d consecutive failures: calls refused for %ld ms",
                trial ? "reopened" : "opened", n, l->breaker_cooldown_ms);
    else if (was_open && outcome > 0)
        llm_log(l, 1, "circuit closed: the provider answered again");
}

/* ---------------------------------------------------------------- chat */

/* How a call's request body is made: eng_llm_chat's text messages or
 * eng_llm_tool_chat's neutral conversation with tools. */
typedef struct body_req {
    const char *system;
    const eng_llm_msg *msgs;     /* text chat */
    size_t n;
    json_object *conv, *tools;   /* tool chat (conv != NULL) */
    bool no_tools, stream;
} body_req;

/* One call: breaker, request, attempts with retries inside the deadline.
 * want_json keeps the answer's JSON root in *json instead of its text. */
static int call(eng_llm *l, const body_req *q, int64_t deadline_us, eng_llm_delta_fn on_delta, void *ud,
                char **out, json_object **json, int64_t *build_us, eng_err *err)
{
    atomic_fetch_add(&l->calls, 1);
    const char *name = l->wire->name;
    if (deadline_us - eng_now_us() < 1000) {
        atomic_fetch_add(&l->timeouts, 1);
        atomic_fetch_add(&l->failures, 1);
        return eng_err_set(err, ENG_ETIMEDOUT, "%s: deadline already passed, not called", name);
    }
    bool trial;
    int64_t wait_ms = 0;
    if (!breaker_enter(l, &trial, &wait_ms)) {
        atomic_fetch_add(&l->rejections, 1);
        return eng_err_set(err, ENG_ELIMIT,
                           "%s: circuit open after repeated failures; not called "
                           "(next trial in %lld ms)", name, (long long)wait_ms);
    }

    eng_buf body;
    eng__buf_init(&body);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    if (h)   /* no "Expect: 100-continue": it costs a round trip or a 1 s wait */
        h = curl_slist_append(h, "Expect:");
    if (h && on_delta)
        h = curl_slist_append(h, "Accept: text/event-stream");
    int64_t b0 = eng_now_us();
    struct curl_slist *all = h ? l->wire->headers(l, h) : NULL;
    bool built = all && (q->conv ? l->wire->tool_body(l, q->system, q->conv, q->tools, q->no_tools, q->stream, &body)
                                 : l->wire->body(l, q->system, q->msgs, q->n, on_delta != NULL, &body));
    if (build_us)
        *build_us = eng_now_us() - b0;
    if (!built) {
        curl_slist_free_all(all ? all : h);
        eng__buf_free(&body);
        breaker_leave(l, trial, 0);
        atomic_fetch_add(&l->failures, 1);
        return eng_err_set(err, ENG_ENOMEM, "%s: out of memory building the request", name);
    }

    /* a trial call in half-open state is one probe, not a burst */
    int max_attempts = trial ? 1 : 1 + l->max_retries, attempt = 0;
    char note[96] = "";
    llm_try t;
    for (;;) {
        eng__llm_try_init(&t);
        t.want_json = json != NULL;
        eng__llm_attempt(l, body.data, body.len, all, deadline_us, on_delta, ud, &t);
        attempt++;
        if (t.code == 0)
            break;
        llm_log(l, 2, "attempt %d failed: %s", attempt, t.msg.data ? t.msg.data : "");
        if (!t.retryable || t.delivered || attempt >= max_attempts)
            break;
        int64_t wait = backoff_ms(attempt - 1);
        if (t.retry_after_ms > wait)
            wait = t.retry_after_ms;
        int64_t left_ms = (deadline_us - eng_now_us()) / 1000;
        if (wait + LLM_MIN_ATTEMPT_MS > left_ms) {
            snprintf(note, sizeof note, "; no retry: a %lld ms wait does not fit the %lld ms left",
                     (long long)wait, (long long)left_ms);
            break;
        }
        sleep_ms(wait);
        atomic_fetch_add(&l->retries, 1);
        eng__llm_try_free(&t);
    }
    curl_slist_free_all(all);
    eng__buf_free(&body);

    int rc = t.code;
    breaker_leave(l, trial, rc == 0 ? 1 : t.counts ? -1 : 0);
    if (rc == 0 && json) {
        *json = t.json;
        t.json = NULL;
        if (json_object_get_boolean(json_object_object_get(*json, "streamed")))
            json_object_object_add(*json, "streamedText",
                                   json_object_new_string(t.answer.data ? t.answer.data : ""));
        eng__llm_try_free(&t);
        return 0;
    }
    if (rc == 0) {
        /* hand the eng__malloc'd text over: eng__free is free() */
        *out = t.answer.data ? t.answer.data : eng__strdup("");
        t.answer.data = NULL;
        eng__llm_try_free(&t);
        if (!*out) {
            atomic_fetch_add(&l->failures, 1);
            return eng_err_set(err, ENG_ENOMEM, "%s: out of memory", name);
        }
        return 0;
    }
    atomic_fetch_add(&l->failures, 1);
    if (rc == ENG_ETIMEDOUT)
        atomic_fetch_add(&l->timeouts, 1);
    char raw[512], clean[sizeof ((eng_err *)0)->msg];
    snprintf(raw, sizeof raw, "%s: %s (%d attempt%s%s)", name,
             t.msg.data ? t.msg.data : eng_strerror(rc), attempt, attempt == 1 ? "" : "s", note);
    scrub(l, raw, clean, sizeof clean);
    eng__llm_try_free(&t);
    llm_log(l, 2, "call failed: %s", clean);
    return eng_err_set(err, rc, "%s", clean);
}

int eng_llm_chat(eng_llm *l, const char *system, const eng_llm_msg *msgs, size_t n,
                 int64_t deadline_us, eng_llm_delta_fn on_delta, void *ud, char **out,
                 eng_err *err)
{
    if (out)
        *out = NULL;
    if (!l || !out || (n && !msgs))
        return eng_err_set(err, ENG_EINVAL, "eng_llm_chat: client, messages and out are required");
    if (l->provider == ENG_LLM_OFF)
        return eng_err_set(err, ENG_EINVAL, "the LLM is off (AISLE_LLM_PROVIDER/AISLE_LLM)");
    for (size_t i = 0; i < n; i++)
        if (!msgs[i].role || !msgs[i].content)
            return eng_err_set(err, ENG_EINVAL, "eng_llm_chat: message %zu lacks role or content", i);
    body_req q = {.system = system, .msgs = msgs, .n = n};
    return call(l, &q, deadline_us, on_delta, ud, out, NULL, NULL, err);
}

int eng_llm_tool_chat(eng_llm *l, const char *system, json_object *msgs, json_object *tools, bool no_tools,
                      int64_t deadline_us, eng_llm_delta_fn on_delta, void *ud, json_object **out, eng_err *err)
{
    if (out)
        *out = NULL;
    if (!l || !out || !json_object_is_type(msgs, json_type_array) || json_object_array_length(msgs) == 0 ||
        (tools && !json_object_is_type(tools, json_type_array)))
        return eng_err_set(err, ENG_EINVAL, "eng_llm_tool_chat: client, messages (an array) and out are required");
    if (l->provider == ENG_LLM_OFF)
        return eng_err_set(err, ENG_EINVAL, "the LLM is off (AISLE_LLM_PROVIDER/AISLE_LLM)");
    body_req q = {.system = system, .conv = msgs, .tools = tools, .no_tools = no_tools, .stream = on_delta != NULL};
    json_object *root = NULL;
    int64_t build_us = 0;
    int rc = call(l, &q, deadline_us, on_delta, ud, NULL, &root, &build_us, err);
    if (rc < 0)
        return rc;
    int64_t p0 = eng_now_us();
    const char *why = "unexpected shape";
    bool streamed = json_object_get_boolean(json_object_object_get(root, "streamed"));
    json_object *norm = streamed ? tool_finish(root, eng__json_str(root, "streamedText", ""))
                                 : json_object_new_object();
    if (!norm || (!streamed && !l->wire->tool_answer(root, norm, &why))) {
        json_object_put(root);
        json_object_put(norm);
        atomic_fetch_add(&l->failures, 1);
        return eng_err_set(err, norm ? ENG_EIO : ENG_ENOMEM, "%s: HTTP 200 but %s", l->wire->name, why);
    }
    json_object_put(root);
    json_object_object_add(norm, "clientUs", json_object_new_int64(build_us + eng_now_us() - p0));
    *out = norm;
    return 0;
}
