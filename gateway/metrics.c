/* gateway/metrics.c — counters and histograms for /metrics in the
 * Prometheus text format: requests by route, method and status; turn
 * latency per stage (from each turn's trace); LLM calls and fallbacks;
 * rate-limit rejections; open WebSockets; rule failures by rule id; the
 * llm_agent's turns, tool calls and tokens (from each turn's ctx.agent). */
#include "gw_int.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REQ 512
#define MAX_STAGES 64
#define MAX_RULES 256 /* distinct rule ids counted; the rest under "other" */
static const double bounds_s[] = {0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
#define NB (sizeof bounds_s / sizeof *bounds_s)

/* the llm_agent's turns, by what one turn used: tool calls, tokens */
static const double agcalls_le[] = {0, 1, 2, 3, 4, 6, 8, 16, 32};
#define NAC (sizeof agcalls_le / sizeof *agcalls_le)
static const double agtok_le[] = {500, 1000, 2000, 4000, 8000, 16000, 32000, 64000};
#define NAT (sizeof agtok_le / sizeof *agtok_le)

typedef struct hist {
    char name[64];
    uint64_t buckets[NB + 1];   /* last: +Inf */
    uint64_t count;
    double sum;
} hist;

struct gw_metrics {
    pthread_mutex_t mu;
    struct { const char *route; char method[8]; int status; uint64_t n; } req[MAX_REQ];
    int nreq;
    hist turn;
    hist stages[MAX_STAGES];
    int nstages;
    uint64_t turns, turn_errors, rl_ip, rl_user;
    int64_t ws;
    /* fallbacks the turns recorded (ctx.fallbacks), by stage: these also
     * count answers the LLM gave that were unusable */
    struct { char stage[64]; uint64_t n; } fb[MAX_STAGES];
    int nfb;
    /* rule failures by rule id (eng_on_rule_error) */
    struct { char rule[128]; uint64_t n; } rules[MAX_RULES];
    int nrules;
    /* the llm_agent stage: turns the model answered / handed to the
     * built-in pipeline, tool calls (refused ones apart), tokens */
    uint64_t ag_llm, ag_builtin, ag_calls, ag_refused, ag_in, ag_out;
    /* per turn the model answered: tool calls and tokens (last: +Inf) */
    uint64_t ag_calls_b[NAC + 1], ag_tok_b[NAT + 1], ag_tok_sum, ag_calls_sum;
};

gw_metrics *gw__metrics_new(void)
{
    gw_metrics *m = calloc(1, sizeof *m);
    if (m)
        pthread_mutex_init(&m->mu, NULL);
    return m;
}

void gw__metrics_free(gw_metrics *m)
{
    if (!m)
        return;
    pthread_mutex_destroy(&m->mu);
    free(m);
}

void gw__metrics_request(gw_metrics *m, const char *route, const char *method, int status)
{
    /* label values come from our table or a fixed list, never the client */
    static const char *known[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
    const char *meth = "OTHER";
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (strcmp(method, known[i]) == 0)
            meth = known[i];
    pthread_mutex_lock(&m->mu);
    int i = 0;
    for (; i < m->nreq; i++)
        if (m->req[i].status == status && strcmp(m->req[i].route, route) == 0 && strcmp(m->req[i].method, meth) == 0)
            break;
    if (i == m->nreq && m->nreq < MAX_REQ) {
        m->req[i].route = route;   /* static strings: route paths or literals */
        snprintf(m->req[i].method, sizeof m->req[i].method, "%s", meth);
        m->req[i].status = status;
        m->nreq++;
    }
    if (i < m->nreq)
        m->req[i].n++;
    pthread_mutex_unlock(&m->mu);
}

static void observe(hist *h, double s)
{
    size_t b = 0;
    while (b < NB && s > bounds_s[b])
        b++;
    h->buckets[b]++;
    h->count++;
    h->sum += s;
}

static void observe_n(uint64_t *buckets, const double *le, size_t n, double v)
{
    size_t b = 0;
    while (b < n && v > le[b])
        b++;
    buckets[b]++;
}

void gw__metrics_turn(gw_metrics *m, json_object *ctx, int64_t total_us)
{
    pthread_mutex_lock(&m->mu);
    m->turns++;
    json_object *v;
    if (json_object_object_get_ex(ctx, "error", &v) && !json_object_is_type(v, json_type_null))
        m->turn_errors++;
    snprintf(m->turn.name, sizeof m->turn.name, "turn");
    observe(&m->turn, (double)total_us / 1e6);
    json_object *ag;
    if (json_object_object_get_ex(ctx, "agent", &ag) && json_object_is_type(ag, json_type_object)) {
        const char *mode = gw__jstr(ag, "mode");
        bool llm = mode && strcmp(mode, "llm") == 0;
        m->ag_llm += llm;
        m->ag_builtin += !llm;
        int64_t calls = json_object_get_int64(json_object_object_get(ag, "toolCalls"));
        m->ag_calls += (uint64_t)calls;
        m->ag_refused += (uint64_t)json_object_get_int64(json_object_object_get(ag, "toolErrors"));
        json_object *tok = json_object_object_get(ag, "tokens");
        int64_t in = json_object_get_int64(json_object_object_get(tok, "input"));
        int64_t out = json_object_get_int64(json_object_object_get(tok, "output"));
        m->ag_in += (uint64_t)in;
        m->ag_out += (uint64_t)out;
        if (llm) {
            observe_n(m->ag_calls_b, agcalls_le, NAC, (double)calls);
            observe_n(m->ag_tok_b, agtok_le, NAT, (double)(in + out));
            m->ag_calls_sum += (uint64_t)calls;
            m->ag_tok_sum += (uint64_t)(in + out);
        }
    }
    json_object *fbs;
    if (json_object_object_get_ex(ctx, "fallbacks", &fbs) && json_object_is_type(fbs, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(fbs); i++) {
            const char *st = gw__jstr(json_object_array_get_idx(fbs, i), "stage");
            int k = 0;
            while (st && k < m->nfb && strcmp(m->fb[k].stage, st) != 0)
                k++;
            if (!st || (k == m->nfb && m->nfb == MAX_STAGES))
                continue;
            if (k == m->nfb)
                snprintf(m->fb[m->nfb++].stage, sizeof m->fb[0].stage, "%s", st);
            m->fb[k].n++;
        }
    }
    json_object *tr;
    if (json_object_object_get_ex(ctx, "trace", &tr) && json_object_is_type(tr, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(tr); i++) {
            json_object *e = json_object_array_get_idx(tr, i);
            const char *st = gw__jstr(e, "stage");
            json_object *us;
            if (!st || !json_object_object_get_ex(e, "us", &us))
                continue;
            int k = 0;
            while (k < m->nstages && strcmp(m->stages[k].name, st) != 0)
                k++;
            if (k == m->nstages) {
                if (m->nstages == MAX_STAGES)
                    continue;
                snprintf(m->stages[k].name, sizeof m->stages[k].name, "%s", st);
                m->nstages++;
            }
            observe(&m->stages[k], json_object_get_double(us) / 1e6);
        }
    }
    pthread_mutex_unlock(&m->mu);
}

void gw__metrics_ratelimited(gw_metrics *m, const char *scope)
{
    pthread_mutex_lock(&m->mu);
    if (strcmp(scope, "ip") == 0)
        m->rl_ip++;
    else
        m->rl_user++;
    pthread_mutex_unlock(&m->mu);
}

void gw__metrics_ws(gw_metrics *m, int delta)
{
    pthread_mutex_lock(&m->mu);
    m->ws += delta;
    pthread_mutex_unlock(&m->mu);
}

void gw__metrics_rule_error(void *ud, const eng_rule_error *e)
{
    gw_metrics *m = ud;
    const char *id = e->rule_id ? e->rule_id : "?";
    json_object *f = json_object_new_object();
    json_object_object_add(f, "rule", json_object_new_string(id));
    json_object_object_add(f, "file", json_object_new_string(e->file ? e->file : "?"));
    json_object_object_add(f, "line", json_object_new_int(e->line));
    char where[600];
    snprintf(where, sizeof where, "%s:%d", e->file ? e->file : "?", e->line);
    json_object_object_add(f, "where", json_object_new_string(where));
    json_object_object_add(f, "hook", json_object_new_string(e->hook ? e->hook : "?"));
    json_object_object_add(f, "message", json_object_new_string(e->message ? e->message : "?"));
    json_object_object_add(f, "denied", json_object_new_boolean(e->denied != 0));
    gw__log("error", "rule_error", f);
    if (!m)
        return;
    char key[sizeof m->rules[0].rule];
    snprintf(key, sizeof key, "%s", id);
    pthread_mutex_lock(&m->mu);
    int k = 0;
    while (k < m->nrules && strcmp(m->rules[k].rule, key) != 0)
        k++;
    /* ids come from the pipeline's rules files, but bound them anyway: the
     * last slot counts every id that finds no room */
    if (k == m->nrules && m->nrules >= MAX_RULES - 1) {
        snprintf(key, sizeof key, "other");
        for (k = 0; k < m->nrules && strcmp(m->rules[k].rule, key) != 0; k++)
            ;
    }
    if (k == m->nrules && m->nrules < MAX_RULES)
        snprintf(m->rules[m->nrules++].rule, sizeof m->rules[0].rule, "%s", key);
    m->rules[k].n++;
    pthread_mutex_unlock(&m->mu);
}

typedef struct sbuf { char *p; size_t n, cap; } sbuf;

static void put(sbuf *b, const char *fmt, ...) ENG_PRINTF(2, 3);
static void put(sbuf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0)
            return;
        if (b->p && b->n + (size_t)k < b->cap) {
            b->n += (size_t)k;
            return;
        }
        size_t nc = (b->cap ? b->cap * 2 : 8192) + (size_t)k;
        char *np = realloc(b->p, nc);
        if (!np)
            return;
        b->p = np, b->cap = nc;
    }
}

/* a histogram of counts (no labels): buckets cumulated, +Inf last */
static void put_counts(sbuf *b, const char *metric, const double *le, size_t n, const uint64_t *buckets,
                       uint64_t sum)
{
    uint64_t cum = 0;
    for (size_t i = 0; i <= n; i++) {
        cum += buckets[i];
        if (i < n)
            put(b, "%s_bucket{le=\"%g\"} %llu\n", metric, le[i], (unsigned long long)cum);
        else
            put(b, "%s_bucket{le=\"+Inf\"} %llu\n", metric, (unsigned long long)cum);
    }
    put(b, "%s_sum %llu\n%s_count %llu\n", metric, (unsigned long long)sum, metric, (unsigned long long)cum);
}

/* label values: our stage ids are [a-z0-9_-], but escape anyway */
static void put_hist(sbuf *b, const char *metric, const char *label, const hist *h)
{
    uint64_t cum = 0;
    for (size_t i = 0; i <= NB; i++) {
        cum += h->buckets[i];
        char le[32];
        if (i < NB)
            snprintf(le, sizeof le, "%g", bounds_s[i]);
        else
            snprintf(le, sizeof le, "+Inf");
        put(b, "%s_bucket{%s%sle=\"%s\"} %llu\n", metric, label, *label ? "," : "", le, (unsigned long long)cum);
    }
    const char *o = *label ? "{" : "", *c = *label ? "}" : "";
    put(b, "%s_sum%s%s%s %.6f\n%s_count%s%s%s %llu\n", metric, o, label, c, h->sum, metric, o, label, c,
        (unsigned long long)h->count);
}

static void esc(char *out, size_t n, const char *in)
{
    size_t o = 0;
    for (; *in && o + 3 < n; in++) {
        if (*in == '"' || *in == '\\')
            out[o++] = '\\', out[o++] = *in;
        else if (*in == '\n')
            out[o++] = '\\', out[o++] = 'n';
        else
            out[o++] = *in;
    }
    out[o] = 0;
}

char *gw__metrics_text(gw_server *s)
{
    gw_metrics *m = s->metrics;
    sbuf b = {0};
    pthread_mutex_lock(&m->mu);
    put(&b, "# HELP aisle_http_requests_total HTTP requests by route, method and status.\n"
            "# TYPE aisle_http_requests_total counter\n");
    for (int i = 0; i < m->nreq; i++)
        put(&b, "aisle_http_requests_total{route=\"%s\",method=\"%s\",status=\"%d\"} %llu\n", m->req[i].route,
            m->req[i].method, m->req[i].status, (unsigned long long)m->req[i].n);
    put(&b, "# HELP aisle_turns_total Chat turns run.\n# TYPE aisle_turns_total counter\naisle_turns_total %llu\n",
        (unsigned long long)m->turns);
    put(&b, "# HELP aisle_turn_errors_total Turns that ended with a stage error.\n"
            "# TYPE aisle_turn_errors_total counter\naisle_turn_errors_total %llu\n",
        (unsigned long long)m->turn_errors);
    put(&b, "# HELP aisle_turn_duration_seconds Whole-turn latency.\n# TYPE aisle_turn_duration_seconds histogram\n");
    put_hist(&b, "aisle_turn_duration_seconds", "", &m->turn);
    put(&b, "# HELP aisle_stage_duration_seconds Latency per pipeline stage, from each turn's trace.\n"
            "# TYPE aisle_stage_duration_seconds histogram\n");
    for (int i = 0; i < m->nstages; i++) {
        char e[80], lab[100];
        esc(e, sizeof e, m->stages[i].name);
        snprintf(lab, sizeof lab, "stage=\"%s\"", e);
        put_hist(&b, "aisle_stage_duration_seconds", lab, &m->stages[i]);
    }
    put(&b, "# HELP aisle_ratelimit_rejections_total Requests refused by a token bucket.\n"
            "# TYPE aisle_ratelimit_rejections_total counter\n"
            "aisle_ratelimit_rejections_total{scope=\"ip\"} %llu\n"
            "aisle_ratelimit_rejections_total{scope=\"user\"} %llu\n",
        (unsigned long long)m->rl_ip, (unsigned long long)m->rl_user);
    put(&b, "# HELP aisle_stage_fallbacks_total Turns in which a stage's LLM option fell back to the built-in "
            "model or the template, by stage.\n# TYPE aisle_stage_fallbacks_total counter\n");
    for (int i = 0; i < m->nfb; i++) {
        char e[80];
        esc(e, sizeof e, m->fb[i].stage);
        put(&b, "aisle_stage_fallbacks_total{stage=\"%s\"} %llu\n", e, (unsigned long long)m->fb[i].n);
    }
    put(&b, "# HELP aisle_rule_errors_total Merchandiser rule failures (errors, limits), by rule id.\n"
            "# TYPE aisle_rule_errors_total counter\n");
    for (int i = 0; i < m->nrules; i++) {
        char e[300];
        esc(e, sizeof e, m->rules[i].rule);
        put(&b, "aisle_rule_errors_total{rule=\"%s\"} %llu\n", e, (unsigned long long)m->rules[i].n);
    }
    put(&b, "# HELP aisle_agent_turns_total Turns the llm_agent stage saw: answered by the model (answer=\"llm\") "
            "or handed to the built-in pipeline (provider failure, timeout, open circuit, token budget).\n"
            "# TYPE aisle_agent_turns_total counter\n"
            "aisle_agent_turns_total{answer=\"llm\"} %llu\naisle_agent_turns_total{answer=\"builtin\"} %llu\n",
        (unsigned long long)m->ag_llm, (unsigned long long)m->ag_builtin);
    put(&b, "# HELP aisle_agent_tool_calls_total Tool calls the model made (refused ones included).\n"
            "# TYPE aisle_agent_tool_calls_total counter\naisle_agent_tool_calls_total %llu\n"
            "# HELP aisle_agent_tool_errors_total Tool calls answered with a tool error (bad arguments, unknown "
            "tool or SKU, a rule's refusal).\n# TYPE aisle_agent_tool_errors_total counter\n"
            "aisle_agent_tool_errors_total %llu\n",
        (unsigned long long)m->ag_calls, (unsigned long long)m->ag_refused);
    put(&b, "# HELP aisle_agent_tokens_total Tokens the provider reported for agent turns.\n"
            "# TYPE aisle_agent_tokens_total counter\n"
            "aisle_agent_tokens_total{kind=\"input\"} %llu\naisle_agent_tokens_total{kind=\"output\"} %llu\n",
        (unsigned long long)m->ag_in, (unsigned long long)m->ag_out);
    put(&b, "# HELP aisle_agent_turn_tool_calls Tool calls in one turn the model answered (refused ones included).\n"
            "# TYPE aisle_agent_turn_tool_calls histogram\n");
    put_counts(&b, "aisle_agent_turn_tool_calls", agcalls_le, NAC, m->ag_calls_b, m->ag_calls_sum);
    put(&b, "# HELP aisle_agent_turn_tokens Tokens (input + output) the provider reported for one turn the model "
            "answered.\n# TYPE aisle_agent_turn_tokens histogram\n");
    put_counts(&b, "aisle_agent_turn_tokens", agtok_le, NAT, m->ag_tok_b, m->ag_tok_sum);
    eng_pay_stats ps;
    eng_pay_stats_get(&ps);
    put(&b, "# HELP aisle_payment_charges_total Charges the checkouts asked of the payment provider, by its answer.\n"
            "# TYPE aisle_payment_charges_total counter\n"
            "aisle_payment_charges_total{result=\"approved\"} %llu\naisle_payment_charges_total{result=\"declined\"} %llu\n"
            "aisle_payment_charges_total{result=\"error\"} %llu\n"
            "# HELP aisle_payment_refunds_total Charges given back (the order could not be placed, another "
            "request with the same key placed it, or the order was cancelled).\n"
            "# TYPE aisle_payment_refunds_total counter\n"
            "aisle_payment_refunds_total %llu\n"
            "# HELP aisle_payment_cancel_refunds_total Cancelled orders' charges the provider gave back.\n"
            "# TYPE aisle_payment_cancel_refunds_total counter\n"
            "aisle_payment_cancel_refunds_total %llu\n",
        (unsigned long long)ps.approved, (unsigned long long)ps.declined, (unsigned long long)ps.errors,
        (unsigned long long)ps.refunds, (unsigned long long)ps.cancel_refunds);
    uint64_t wok, wfail, wdead;
    gw__acp_webhook_stats(&wok, &wfail, &wdead);
    put(&b, "# HELP aisle_acp_webhook_events_total ACP order events: delivered (a 2xx answer), failed attempts "
            "(retried with backoff), given up after the last try.\n# TYPE aisle_acp_webhook_events_total counter\n"
            "aisle_acp_webhook_events_total{result=\"delivered\"} %llu\n"
            "aisle_acp_webhook_events_total{result=\"failed_attempt\"} %llu\n"
            "aisle_acp_webhook_events_total{result=\"given_up\"} %llu\n",
        (unsigned long long)wok, (unsigned long long)wfail, (unsigned long long)wdead);
    put(&b, "# HELP aisle_websocket_sessions Open WebSocket chat sessions.\n# TYPE aisle_websocket_sessions gauge\n"
            "aisle_websocket_sessions %lld\n", (long long)m->ws);
    pthread_mutex_unlock(&m->mu);
    eng_llm_stats ls = {0};
    if (s->llm)
        eng_llm_stats_get(s->llm, &ls);
    put(&b, "# HELP aisle_llm_calls_total LLM requests made.\n# TYPE aisle_llm_calls_total counter\n"
            "aisle_llm_calls_total %llu\n", (unsigned long long)ls.calls);
    put(&b, "# HELP aisle_llm_fallbacks_total LLM calls that failed, timed out or were refused by the circuit "
            "breaker (the built-in model or template answered).\n# TYPE aisle_llm_fallbacks_total counter\n"
            "aisle_llm_fallbacks_total{reason=\"failure\"} %llu\n"
            "aisle_llm_fallbacks_total{reason=\"timeout\"} %llu\n"
            "aisle_llm_fallbacks_total{reason=\"breaker\"} %llu\n",
        (unsigned long long)ls.failures, (unsigned long long)ls.timeouts, (unsigned long long)ls.breaker_rejections);
    put(&b, "# HELP aisle_llm_retries_total LLM retries.\n# TYPE aisle_llm_retries_total counter\n"
            "aisle_llm_retries_total %llu\n", (unsigned long long)ls.retries);
    pthread_mutex_lock(&s->turn_mu);
    int inflight = s->inflight;
    pthread_mutex_unlock(&s->turn_mu);
    put(&b, "# HELP aisle_turns_in_flight Turns running now.\n# TYPE aisle_turns_in_flight gauge\n"
            "aisle_turns_in_flight %d\n", inflight);
    int waiting = 0, cws = 0;
    long evicted = 0;
    gw__conn_counts(s, &waiting, &cws, &evicted);
    put(&b, "# HELP aisle_http_waiting_connections civetweb connections holding a worker while they wait for a "
            "request (half-open or keep-alive).\n# TYPE aisle_http_waiting_connections gauge\n"
            "aisle_http_waiting_connections %d\n"
            "# HELP aisle_http_civetweb_websockets WebSockets carried by civetweb workers (ws.listen: none).\n"
            "# TYPE aisle_http_civetweb_websockets gauge\naisle_http_civetweb_websockets %d\n"
            "# HELP aisle_http_waits_closed_total Waiting connections closed by the worker budget "
            "(http.max_idle_per_ip, http.thread_reserve).\n# TYPE aisle_http_waits_closed_total counter\n"
            "aisle_http_waits_closed_total %ld\n", waiting, cws, evicted);
    gw_trace_stats ts;
    gw__traces_stats(s->traces, &ts);
    put(&b, "# HELP aisle_traces_written_total Turn traces the writer thread copied to the store cache.\n"
            "# TYPE aisle_traces_written_total counter\naisle_traces_written_total %llu\n"
            "# HELP aisle_traces_write_errors_total Turn traces the store refused.\n"
            "# TYPE aisle_traces_write_errors_total counter\naisle_traces_write_errors_total %llu\n"
            "# HELP aisle_traces_dropped_total Turn traces queued for the store and dropped: the queue was full "
            "(the oldest goes) or the stop's flush time ran out.\n"
            "# TYPE aisle_traces_dropped_total counter\naisle_traces_dropped_total %llu\n"
            "# HELP aisle_traces_sampled_out_total Turn traces kept in memory only (over turns.trace_store_rate).\n"
            "# TYPE aisle_traces_sampled_out_total counter\naisle_traces_sampled_out_total %llu\n"
            "# HELP aisle_traces_not_kept_total Turn traces not kept at all (over turns.traces_rate).\n"
            "# TYPE aisle_traces_not_kept_total counter\naisle_traces_not_kept_total %llu\n"
            "# HELP aisle_trace_queue Turn traces waiting for the writer thread.\n"
            "# TYPE aisle_trace_queue gauge\naisle_trace_queue %llu\n"
            "# HELP aisle_trace_ring Turn traces in memory for the inspector, and their bytes.\n"
            "# TYPE aisle_trace_ring gauge\naisle_trace_ring %llu\n"
            "# TYPE aisle_trace_ring_bytes gauge\naisle_trace_ring_bytes %llu\n",
        (unsigned long long)ts.written, (unsigned long long)ts.failed, (unsigned long long)ts.dropped,
        (unsigned long long)ts.sampled_out, (unsigned long long)ts.not_kept, (unsigned long long)ts.queued, (unsigned long long)ts.ring,
        (unsigned long long)ts.ring_bytes);
    return b.p;
}
