/* gateway/server.c — the server's lifetime: defaults and the refusal
 * rules for unsafe settings, civetweb's options (keep-alive, Nagle off,
 * no directory listing or CGI, timeouts, worker threads), start, and the
 * graceful stop that lets turns in flight finish. */
#include "gw_int.h"
#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void gw_config_init(gw_config *c)
{
    memset(c, 0, sizeof *c);
    c->listen = "127.0.0.1:8080";
    c->ui_dir = "ui/dist";
    c->access_ttl_s = 900;
    c->refresh_ttl_s = 30 * 86400;
    c->session_token_ttl_s = 7 * 86400;
    c->admin_emails = "";
    c->cors_origin = "";
    c->num_threads = 128;
    c->max_body_bytes = 65536;
    c->max_frame_bytes = 16384;
    c->max_message_bytes = 2000;
    c->request_timeout_ms = 10000;
    c->keep_alive_timeout_ms = 5000;
    c->ws_idle_timeout_ms = 120000;
    c->max_conns_per_ip = 64;
    c->max_idle_per_ip = 32;
    c->thread_reserve = 16;
    c->ip_rps = 20, c->ip_burst = 60;
    c->user_rps = 10, c->user_burst = 30;
    c->login_tries = 5;
    c->login_ip_tries = 20;
    c->login_max_backoff_s = 900;
    c->traces_keep = 200;
    c->traces_rate = 50;
    c->traces_max_bytes = 32L << 20;
    c->traces_max_age_s = 3600;
    c->trace_store_rate = 20;
    c->trace_queue = 256;
    c->trace_ttl_s = 900;
    c->watch = 1;
    c->reload_debounce_ms = 150;
    c->shutdown_grace_ms = 10000;
    c->access_log = 1;
    c->trusted_proxy = "";
    c->ws_listen = "auto";
    c->ws_handshake_timeout_ms = 5000;
    c->ws_max_queue_bytes = 1048576;
}

/* secrets that appear in samples and tutorials: never valid in production */
static const char *weak[] = {"secret", "changeme", "change-me", "CHANGE-ME", "dev", "development", "aisle",
                             "aisle-dev-secret", "jwt-secret", "your-256-bit-secret", "please-change-me",
                             "CHANGE-ME-to-32-or-more-random-bytes", NULL};

int gw_config_check(const gw_config *c, gw_err *err)
{
    const char *why = NULL;
    const char *k = c->jwt_secret;
    if (!c->pipeline_path || !*c->pipeline_path)
        why = "no pipeline file given (--pipeline or AISLE_PIPELINE)";
    else if (!c->dev) {
        if (!k || !*k)
            why = "AISLE_JWT_SECRET is not set; set it to at least 32 random bytes (e.g. `openssl rand -hex 32`), "
                  "or run with --dev / AISLE_DEV=1 on a development machine";
        else {
            for (int i = 0; weak[i] && !why; i++)
                if (strcmp(k, weak[i]) == 0)
                    why = "AISLE_JWT_SECRET is a well-known default; generate one with `openssl rand -hex 32`";
            if (!why && strlen(k) < 32)
                why = "AISLE_JWT_SECRET is shorter than 32 bytes; generate one with `openssl rand -hex 32`";
        }
    }
    if (!why && !c->dev && c->acp_api_key && *c->acp_api_key && strlen(c->acp_api_key) < 24)
        why = "AISLE_ACP_API_KEY is shorter than 24 bytes; generate one with `openssl rand -hex 24`";
    if (!why && c->public_url && *c->public_url && strncmp(c->public_url, "http://", 7) != 0 &&
        strncmp(c->public_url, "https://", 8) != 0)
        why = "public_url must start with http:// or https:// (e.g. https://shop.example.com)";
    if (!why && (c->max_body_bytes < 1024 || c->max_frame_bytes < 256 || c->max_message_bytes < 1 ||
                 c->num_threads < 4 || c->thread_reserve < 1 ||
                 c->max_idle_per_ip < 0 || c->access_ttl_s < 1 || c->refresh_ttl_s < 1 ||
                 c->ws_handshake_timeout_ms < 100 || c->ws_max_queue_bytes < 4 * c->max_frame_bytes))
        why = "a limit is out of range (max_body_bytes >= 1024, max_frame_bytes >= 256, num_threads >= 4, "
              "http.thread_reserve >= 1, TTLs >= 1, "
              "ws.handshake_timeout_ms >= 100, ws.max_queue_bytes >= 4 x max_frame_bytes)";
    if (why) {
        if (err) {
            err->code = GW_ECONFIG;
            snprintf(err->msg, sizeof err->msg, "%s", why);
        }
        return GW_ECONFIG;
    }
    return GW_OK;
}

static int set_err(gw_err *err, int code, const char *msg)
{
    if (err) {
        err->code = code;
        snprintf(err->msg, sizeof err->msg, "%s", msg);
    }
    return code;
}

static char *own(gw_server *s, int i, const char *v)
{
    s->owned[i] = strdup(v ? v : "");
    return s->owned[i];
}

static int log_message(const struct mg_connection *conn, const char *msg)
{
    (void)conn;
    json_object *f = json_object_new_object();
    if (eng_utf8_valid(msg, strlen(msg)))
        json_object_object_add(f, "message", json_object_new_string(msg));
    gw__log("warn", "civetweb", f);
    return 1;
}

/* ---------------------------------------------------------------------
 * A fast stop.  civetweb 1.15 waits in poll() in quanta of two seconds
 * (SOCKET_TIMEOUT_QUANTUM) and reads its stop flag only between them:
 * its master thread waiting for connections, and each worker waiting for
 * the next request on a keep-alive connection, so mg_stop took up to two
 * seconds even when idle.  While mg_stop runs, a kicker thread signals
 * every civetweb thread that is not inside one of our handlers (a no-op
 * handler, no SA_RESTART): poll returns EINTR, the thread sees the flag
 * and ends.  A thread is signalled only while registered (init_thread to
 * exit_thread, under the lock), so never after it is gone.
 * ------------------------------------------------------------------ */
struct gw_mgthread {
    pthread_t tid;
    int live;
    atomic_int in_handler;
};

struct gw_mgthreads {
    pthread_mutex_t mu;
    int n, cap;
    struct gw_mgthread *t;
    atomic_int done;
};

static __thread struct gw_mgthread *tl_mgthread;

static void *thread_begin(const struct mg_context *ctx, int type)
{
    gw_server *s = mg_get_user_data(ctx);
    struct gw_mgthreads *m = s ? s->mgt : NULL;
    struct gw_mgthread *slot = NULL;
    if (!m || type > 2)
        return NULL;
    pthread_mutex_lock(&m->mu);
    if (m->n < m->cap) {
        slot = &m->t[m->n++];
        slot->tid = pthread_self();
        slot->live = 1;
    }
    pthread_mutex_unlock(&m->mu);
    tl_mgthread = slot;
    return slot;
}

static void thread_end(const struct mg_context *ctx, int type, void *ud)
{
    (void)type;   /* civetweb's signature: `ud` is NULL for the types thread_begin skips */
    gw_server *s = mg_get_user_data(ctx);
    struct gw_mgthread *slot = ud;
    if (!s || !s->mgt || !slot)
        return;
    pthread_mutex_lock(&s->mgt->mu);
    slot->live = 0;
    pthread_mutex_unlock(&s->mgt->mu);
}

static int dispatch(struct mg_connection *conn, void *ud)
{
    struct gw_mgthread *me = tl_mgthread;
    if (me)
        atomic_store(&me->in_handler, 1);
    int rc = gw__dispatch(conn, ud);
    if (me)
        atomic_store(&me->in_handler, 0);
    return rc;
}

static void on_kick(int sig) { (void)sig; }

static void *kicker(void *arg)
{
    struct gw_mgthreads *m = arg;
    struct timespec nap = {0, 2 * 1000000L};
    while (!atomic_load(&m->done)) {
        pthread_mutex_lock(&m->mu);
        for (int i = 0; i < m->n; i++)
            if (m->t[i].live && !atomic_load(&m->t[i].in_handler))
                pthread_kill(m->t[i].tid, SIGURG);
        pthread_mutex_unlock(&m->mu);
        nanosleep(&nap, NULL);
    }
    return NULL;
}

/* mg_stop, with the kicker running meanwhile */
static void mg_stop_fast(gw_server *s)
{
    struct gw_mgthreads *m = s->mgt;
    pthread_t kt;
    int kicking = 0;
    if (m) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_kick;   /* no SA_RESTART: poll() returns EINTR */
        sigemptyset(&sa.sa_mask);
        kicking = sigaction(SIGURG, &sa, NULL) == 0 && pthread_create(&kt, NULL, kicker, m) == 0;
    }
    mg_stop(s->mg);   /* waits for every worker: open requests finish */
    if (kicking) {
        atomic_store(&m->done, 1);
        pthread_join(kt, NULL);
    }
}

static void mgthreads_free(struct gw_mgthreads *m)
{
    if (!m)
        return;
    pthread_mutex_destroy(&m->mu);
    free(m->t);
    free(m);
}

static void conn_close(const struct mg_connection *c)
{
    gw__conn_close(mg_get_user_data(mg_get_context(c)), c);
}

static void conn_end(const struct mg_connection *c, int status)
{
    (void)status;
    gw__conn_end(c);
}

/* only options this libcivetweb knows: an unknown one fails mg_start */
static bool known_option(const char *name)
{
    for (const struct mg_option *o = mg_get_valid_options(); o && o->name; o++)
        if (strcmp(o->name, name) == 0)
            return true;
    return false;
}

static void server_free(gw_server *s)
{
    gw__acp_partners_free(s);
    eng_on_rule_error(NULL, NULL); /* the hook's ud is our metrics */
    gw__traces_free(s->traces);
    gw__metrics_free(s->metrics);
    mgthreads_free(s->mgt);
    if (s->rl.pl)
        eng_pipeline_release(s->rl.pl);
    json_object_put(s->rl.history);
    json_object_put(s->rl.diags);
    while (s->ips) {
        gw_ipcount *n = s->ips->next;
        free(s->ips);
        s->ips = n;
    }
    for (size_t i = 0; i < sizeof s->owned / sizeof *s->owned; i++)
        free(s->owned[i]);
    pthread_mutex_destroy(&s->rl.mu);
    pthread_mutex_destroy(&s->ip_mu);
    pthread_mutex_destroy(&s->conn_mu);
    pthread_cond_destroy(&s->sweep_cv);
    pthread_mutex_destroy(&s->turn_mu);
    pthread_cond_destroy(&s->turn_cv);
    pthread_mutex_destroy(&s->chan_mu);
    sodium_memzero(s->key, sizeof s->key);
    free(s);
}

/* The event-loop listener's address for ws_listen: "" (the chat on
 * civetweb) for "" or "none"; for "auto", the HTTP listener's host and
 * port + 1 ("127.0.0.1:8080" -> "127.0.0.1:8081", "8080" -> "8081", an
 * ephemeral port 0 -> 0); else as given. */
static const char *ws_address(const char *listen, const char *ws, char *buf, size_t n)
{
    if (!ws || !*ws || strcmp(ws, "none") == 0)
        return "";
    if (strcmp(ws, "auto") != 0)
        return ws;
    const char *colon = listen ? strrchr(listen, ':') : NULL;
    const char *port = colon ? colon + 1 : listen ? listen : "";
    char *end;
    long p = strtol(port, &end, 10);
    if (!*port || *end || p < 0 || p > 65534)
        return ws;   /* not host:port: refused by the event loop's parser */
    snprintf(buf, n, "%.*s%ld", colon ? (int)(colon - listen + 1) : 0, colon ? listen : "", p ? p + 1 : 0);
    return buf;
}

int gw_start(const gw_config *c, store *st, eng_llm *llm, gw_server **out, gw_err *err)
{
    *out = NULL;
    if (!c || !st)
        return set_err(err, GW_EINVAL, "gw_start needs a config and a store");
    int rc = gw_config_check(c, err);
    if (rc < 0)
        return rc;
    /* no process-wide json-c double format (it would also cut the digits
     * of every double the engine stores): what goes out is tidied per
     * object, eng_json_tidy_doubles */
    if (sodium_init() < 0)
        return set_err(err, GW_ENOMEM, "libsodium failed to initialise");
    gw_server *s = calloc(1, sizeof *s);
    if (!s)
        return set_err(err, GW_ENOMEM, "out of memory");
    s->cfg = *c;
    s->cfg.listen = own(s, 0, c->listen);
    s->cfg.pipeline_path = own(s, 1, c->pipeline_path);
    s->cfg.ui_dir = own(s, 2, c->ui_dir);
    s->cfg.admin_emails = own(s, 3, c->admin_emails);
    if (s->cfg.admin_emails && *s->cfg.admin_emails) {
        /* it once granted the role to whoever registered a listed address */
        json_object *d = json_object_new_object();
        json_object_object_add(d, "setting", json_object_new_string("auth.admin_emails"));
        json_object_object_add(d, "detail", json_object_new_string(
            "ignored: grant the admin role with `aisle admin grant EMAIL --db FILE`"));
        gw__log("warn", "config_ignored", d);
    }
    s->cfg.cors_origin = own(s, 4, c->cors_origin);
    s->cfg.trusted_proxy = own(s, 5, c->trusted_proxy);
    s->cfg.ws_listen = own(s, 6, ws_address(c->listen, c->ws_listen, s->ws_auto, sizeof s->ws_auto));
    s->cfg.acp_api_key = own(s, 7, c->acp_api_key);
    s->cfg.public_url = own(s, 8, c->public_url);
    s->cfg.acp_partners_file = own(s, 9, c->acp_partners_file);
    char pwhy[300];
    if (gw__acp_partners_load(s, c, pwhy, sizeof pwhy) < 0) {
        server_free(s);
        return set_err(err, GW_ECONFIG, pwhy);
    }
    if (s->cfg.acp_api_key && !s->cfg.acp_api_key[0] && s->n_acp_partners == 0) {
        /* ACP is for agent partners the merchant chose: no key, no calls */
        json_object *d = json_object_new_object();
        json_object_object_add(d, "setting", json_object_new_string("acp.api_key (AISLE_ACP_API_KEY)"));
        json_object_object_add(d, "detail", json_object_new_string(
            c->dev ? "dev mode: the ACP endpoints take any Bearer token"
                   : "not set: the ACP checkout endpoints answer 503 until it is"));
        gw__log("warn", "acp_key_missing", d);
    } else if (s->cfg.acp_api_key && s->cfg.public_url && !s->cfg.public_url[0]) {
        /* discovery (publicly cacheable) would name whatever Host a client sent */
        json_object *d = json_object_new_object();
        json_object_object_add(d, "setting", json_object_new_string("public_url (AISLE_PUBLIC_URL)"));
        json_object_object_add(d, "detail", json_object_new_string(
            "not set: /.well-known/acp.json and ACP order links name the request's Host"));
        gw__log("warn", "public_url_missing", d);
    }
    s->cfg.jwt_secret = NULL;   /* only the key bytes are kept */
    s->st = st, s->llm = llm;
    pthread_mutex_init(&s->rl.mu, NULL);
    pthread_mutex_init(&s->ip_mu, NULL);
    pthread_mutex_init(&s->conn_mu, NULL);
    pthread_cond_init(&s->sweep_cv, NULL);
    pthread_mutex_init(&s->turn_mu, NULL);
    pthread_cond_init(&s->turn_cv, NULL);
    pthread_mutex_init(&s->chan_mu, NULL);
    s->rl.history = json_object_new_array();
    s->rl.diags = json_object_new_array();
    s->started_ms = (int64_t)time(NULL) * 1000;
    if (c->jwt_secret && *c->jwt_secret) {
        s->key_len = strlen(c->jwt_secret) < sizeof s->key ? strlen(c->jwt_secret) : sizeof s->key;
        memcpy(s->key, c->jwt_secret, s->key_len);
    } else {
        /* dev mode without a secret: tokens die with the process */
        randombytes_buf(s->key, 32);
        s->key_len = 32;
        gw__log("warn", "jwt_secret_random", NULL);
    }
    const char *th = getenv("AISLE_TEST_HOOKS"), *td = getenv("AISLE_TEST_TURN_DELAY_MS");
    if (th && strcmp(th, "1") == 0 && td)
        s->test_delay_ms = (int)strtol(td, NULL, 10);
    s->traces = gw__traces_new(c, st);
    s->metrics = gw__metrics_new();
    s->mgt = calloc(1, sizeof *s->mgt);
    if (s->mgt) {
        s->mgt->cap = c->num_threads + 8;   /* workers, master, timer */
        s->mgt->t = calloc((size_t)s->mgt->cap, sizeof *s->mgt->t);
        pthread_mutex_init(&s->mgt->mu, NULL);
        if (!s->mgt->t) {
            mgthreads_free(s->mgt);
            s->mgt = NULL;
        }
    }
    if (!s->traces || !s->metrics || !s->mgt || !s->owned[5] || !s->owned[6] || !s->owned[7] || !s->owned[8]) {
        server_free(s);
        return set_err(err, GW_ENOMEM, "out of memory");
    }
    /* rule failures, in turns and on REST paths alike: a log line and a
     * counter (before the first load, whose rules may run) */
    eng_on_rule_error(gw__metrics_rule_error, s->metrics);
    snprintf(s->rl.path, sizeof s->rl.path, "%s", c->pipeline_path);
    if (gw__reload(s, "startup", NULL) < 0) {
        char msg[sizeof (gw_err){0}.msg];   /* what set_err keeps */
        json_object *d = json_object_array_length(s->rl.diags) ? json_object_array_get_idx(s->rl.diags, 0) : NULL;
        snprintf(msg, sizeof msg, "pipeline %s did not load%s%s%s%s", c->pipeline_path, d ? ": " : "",
                 d ? gw__jstr(d, "where") : "", d ? ": " : "", d ? gw__jstr(d, "message") : "");
        server_free(s);
        return set_err(err, GW_EPIPELINE, msg);
    }
    char nt[16], rt[16], kt[16], wt[16];
    snprintf(nt, sizeof nt, "%d", c->num_threads);
    snprintf(rt, sizeof rt, "%d", c->request_timeout_ms);
    snprintf(kt, sizeof kt, "%d", c->keep_alive_timeout_ms);
    snprintf(wt, sizeof wt, "%d", c->ws_idle_timeout_ms);
    const char *want[][2] = {
        {"listening_ports", s->cfg.listen},
        {"num_threads", nt},
        {"enable_keep_alive", "yes"},
        {"keep_alive_timeout_ms", kt},
        {"request_timeout_ms", rt},
        {"websocket_timeout_ms", wt},
        {"tcp_nodelay", "1"},
        {"enable_directory_listing", "no"},
        {"access_control_allow_origin", s->cfg.cors_origin},
        {"cgi_pattern", "**.aisle-cgi-disabled$"},   /* no document_root either: civetweb serves no files itself */
        {"ssi_pattern", "**.aisle-ssi-disabled$"},
        {"listen_backlog", "1024"},
    };
    const char *opts[2 * (sizeof want / sizeof *want) + 1];
    size_t n = 0;
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (known_option(want[i][0]))
            opts[n++] = want[i][0], opts[n++] = want[i][1];
    opts[n] = NULL;
    mg_init_library(MG_FEATURES_WEBSOCKET);
    /* conns.c reads a new connection's peer the way civetweb 1.15 allows;
     * another version gets no budget for waits until that is checked */
    s->civet_peek = strcmp(mg_version(), "1.15") == 0;
    if (!s->civet_peek) {
        json_object *d = json_object_new_object();
        json_object_object_add(d, "civetweb", json_object_new_string(mg_version()));
        json_object_object_add(d, "detail", json_object_new_string(
            "http.max_idle_per_ip and http.thread_reserve do not apply to half-open requests, and with "
            "ws.listen none every /ws upgrade gets 503"));
        gw__log("warn", "conn_budget_unavailable", d);
    }
    struct mg_callbacks cb = {0};
    cb.init_connection = gw__conn_init;
    cb.connection_close = conn_close;
    cb.begin_request = gw__conn_begin;
    cb.end_request = conn_end;
    cb.log_message = log_message;
    cb.init_thread = thread_begin;
    cb.exit_thread = thread_end;
    struct mg_init_data init = {.callbacks = &cb, .user_data = s, .configuration_options = opts};
    struct mg_error_data ed = {0};
    char ebuf[256] = "";
    ed.text = ebuf;
    ed.text_buffer_size = sizeof ebuf;
    s->mg = mg_start2(&init, &ed);
    if (!s->mg) {
        char msg[400];
        snprintf(msg, sizeof msg, "cannot listen on %s: %s", c->listen, *ebuf ? ebuf : "address in use?");
        server_free(s);
        mg_exit_library();
        return set_err(err, GW_EIO, msg);
    }
    struct mg_server_port ports[4];
    int np = mg_get_server_ports(s->mg, 4, ports);
    s->port = np > 0 ? ports[0].port : 0;
    mg_set_request_handler(s->mg, "/", dispatch, s);
    if (s->civet_peek && gw__conns_start(s) < 0)
        gw__log("warn", "conn_sweeper_unavailable", NULL);   /* budgets apply on each new connection only */
    if (*s->cfg.ws_listen) {
        /* /ws on its own event loop; civetweb keeps REST and files */
        rc = gw__wsuv_start(s, err);
        if (rc < 0) {
            gw__conns_stop(s);
            mg_stop(s->mg);
            mg_exit_library();
            server_free(s);
            return rc;
        }
    } else
        gw__ws_install(s);
    if (c->watch && gw__watch_start(s) < 0)
        gw__log("warn", "watch_unavailable", NULL);
    if (gw__events_start(s) < 0)
        gw__log("warn", "events_unavailable", NULL);   /* cart updates stay on this instance */
    if (gw__acp_webhooks_start(s) < 0)
        gw__log("warn", "acp_webhooks_unavailable", NULL);   /* the outbox keeps the events for a restart */
    if (gw__refunds_start(s) < 0)
        gw__log("warn", "refunds_unavailable", NULL);   /* owed refunds wait for a cancel request or a restart */
    json_object *f = json_object_new_object();
    json_object_object_add(f, "listen", json_object_new_string(s->cfg.listen));
    json_object_object_add(f, "port", json_object_new_int(s->port));
    if (s->ws_port)
        json_object_object_add(f, "wsPort", json_object_new_int(s->ws_port));
    json_object_object_add(f, "pipeline", json_object_new_string(s->rl.path));
    json_object_object_add(f, "dev", json_object_new_boolean(c->dev));
    json_object_object_add(f, "documents", json_object_new_string(store_backend_name(st, 0)));
    json_object_object_add(f, "ephemeral", json_object_new_string(store_backend_name(st, 1)));
    gw__log("info", "listening", f);
    *out = s;
    return GW_OK;
}

int gw_port(const gw_server *s) { return s ? s->port : 0; }

int gw_ws_port(const gw_server *s) { return s ? s->ws_port : 0; }

const char *gw_ws_address(const gw_server *s) { return s && s->ws_port ? s->cfg.ws_listen : ""; }

void gw_stop(gw_server *s)
{
    if (!s)
        return;
    atomic_store(&s->draining, 1);
    gw__log("info", "draining", NULL);
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += s->cfg.shutdown_grace_ms / 1000;
    dl.tv_nsec += (long)(s->cfg.shutdown_grace_ms % 1000) * 1000000L;
    if (dl.tv_nsec >= 1000000000L)
        dl.tv_sec++, dl.tv_nsec -= 1000000000L;
    pthread_mutex_lock(&s->turn_mu);
    while (s->inflight > 0 || s->busy > 0)
        if (pthread_cond_timedwait(&s->turn_cv, &s->turn_mu, &dl) == ETIMEDOUT)
            break;
    int left = s->inflight;
    pthread_mutex_unlock(&s->turn_mu);
    /* the trace writer flushes its queue while the rest closes */
    gw__traces_stop(s->traces);
    if (left) {
        json_object *f = json_object_new_object();
        json_object_object_add(f, "turns", json_object_new_int(left));
        gw__log("warn", "shutdown_grace_expired", f);
    }
    gw__events_stop(s);   /* no fan-out from other instances while closing */
    gw__acp_webhooks_stop(s);
    gw__refunds_stop(s);
    gw__chan_close_all(s);
    gw__wsuv_stop(s);
    gw__watch_stop(s);
    gw__conns_stop(s);
    mg_stop_fast(s);
    mg_exit_library();
    gw__log("info", "stopped", NULL);
    server_free(s);
}
