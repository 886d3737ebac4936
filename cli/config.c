/* cli/config.c — the settings table behind aisle.yaml and the AISLE_*
 * environment: one row per setting (YAML key, variable, type, where it
 * lands, meaning), so the file parser, the environment and the docs can
 * never disagree. */
#include "config_int.h"
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <yaml.h>

enum ty { T_STR, T_INT, T_LONG, T_DBL, T_BOOL, T_LIST };

typedef struct setting {
    const char *key, *env;
    enum ty ty;
    size_t off;
    const char *def, *help;
} setting;

#define G(f) offsetof(cli_config, gw.f)
#define S(f) offsetof(cli_config, store.f)

static const setting table[] = {
    {"listen", "AISLE_LISTEN", T_STR, G(listen), "127.0.0.1:8080", "address and port to listen on (`host:port`; plain HTTP: terminate TLS in front)"},
    {"pipeline", "AISLE_PIPELINE", T_STR, G(pipeline_path), "pipelines/commerce.yaml, else examples/faq/faq.yaml", "the pipeline file served (hot-reloaded)"},
    {"dev", "AISLE_DEV", T_BOOL, G(dev), "false", "development mode: a missing or weak JWT secret is allowed, the inspector endpoints need no admin"},
    {"ui_dir", "AISLE_UI_DIR", T_STR, G(ui_dir), "ui/dist", "the built chat page and inspector"},
    {"seed_catalog", "AISLE_SEED_CATALOG", T_STR, offsetof(cli_config, seed_catalog), "none", "catalog file imported at start when the catalog is empty"},
    {"shutdown_grace_ms", "AISLE_SHUTDOWN_GRACE_MS", T_INT, G(shutdown_grace_ms), "10000", "how long SIGTERM waits for turns in flight"},
    {"store.db", "AISLE_DB", T_STR, S(sqlite_path), "var/aisle.db", "SQLite file (the embedded default for every family)"},
    {"store.redis_url", "AISLE_REDIS_URL", T_STR, S(redis_url), "none", "Redis for sessions, cache, rate limits, refresh tokens (`redis://host:6379/0`)"},
    {"store.mongo_uri", "AISLE_MONGO_URI", T_STR, S(mongo_uri), "none", "MongoDB for users, catalog, carts, orders, memory, audit"},
    {"store.history_window", "AISLE_HISTORY_WINDOW", T_INT, S(history_window), "20", "turns kept per conversation"},
    {"store.session_ttl_s", "AISLE_SESSION_TTL_S", T_INT, S(session_ttl_s), "86400", "conversation state lifetime after the last message"},
    {"store.pool_size", "AISLE_STORE_POOL", T_INT, S(pool_size), "8", "connections per backend"},
    {"store.busy_timeout_ms", "AISLE_BUSY_TIMEOUT_MS", T_INT, S(busy_timeout_ms), "5000", "SQLite lock wait"},
    {"store.synonyms", "AISLE_SYNONYMS", T_STR, S(synonyms_path), "none", "search synonyms file"},
    {"store.search_cache", "AISLE_SEARCH_CACHE", T_INT, S(search_cache), "256",
     "search results kept until the catalog changes (0: none)"},
    {"store.media_dir", "AISLE_MEDIA_DIR", T_STR, S(media_dir), "media/ beside store.db (var/media)", "the shop's copies of product images (`aisle import --fetch-images`), served at /media/"},
    {"auth.jwt_secret", "AISLE_JWT_SECRET", T_STR, G(jwt_secret), "none (required outside dev)", "HS256 key, at least 32 bytes; prefer the environment to the file"},
    {"acp.api_key", "AISLE_ACP_API_KEY", T_STR, G(acp_api_key), "none (ACP refused outside dev)", "Bearer key of the merchant's ACP agent partners, at least 24 bytes; prefer the environment to the file"},
    {"acp.partners_file", "AISLE_ACP_PARTNERS_FILE", T_STR, G(acp_partners_file), "none", "JSON file of the ACP agent partners: each its own id, API key (or the variable holding it), webhook_url and webhook secret for order events, require_timestamp (docs/agents.md)"},
    {"public_url", "AISLE_PUBLIC_URL", T_STR, G(public_url), "none (http://<Host>)", "the shop's public base URL (https://shop.example.com), named in /.well-known/acp.json and ACP order links"},
    {"auth.access_ttl_s", "AISLE_ACCESS_TTL_S", T_INT, G(access_ttl_s), "900", "access token lifetime"},
    {"auth.refresh_ttl_s", "AISLE_REFRESH_TTL_S", T_INT, G(refresh_ttl_s), "2592000", "refresh token lifetime"},
    {"auth.session_token_ttl_s", "AISLE_SESSION_TOKEN_TTL_S", T_INT, G(session_token_ttl_s), "604800", "anonymous session token lifetime"},
    {"auth.admin_emails", "AISLE_ADMIN_EMAILS", T_LIST, G(admin_emails), "none", "ignored (it let anyone register into the admin role); use `aisle admin grant EMAIL`"},
    {"http.num_threads", "AISLE_THREADS", T_INT, G(num_threads), "128", "worker threads: one per open connection, WebSockets included"},
    {"http.cors_origin", "AISLE_CORS_ORIGIN", T_STR, G(cors_origin), "none", "Access-Control-Allow-Origin for the API (an origin, or `*`); none when the UI is served by aisle"},
    {"http.max_body_bytes", "AISLE_MAX_BODY_BYTES", T_LONG, G(max_body_bytes), "65536", "larger request bodies get 413"},
    {"http.request_timeout_ms", "AISLE_REQUEST_TIMEOUT_MS", T_INT, G(request_timeout_ms), "10000", "slow clients: time to send a request"},
    {"http.keep_alive_timeout_ms", "AISLE_KEEP_ALIVE_TIMEOUT_MS", T_INT, G(keep_alive_timeout_ms), "5000", "idle keep-alive connections are closed after this"},
    {"http.max_conns_per_ip", "AISLE_MAX_CONNS_PER_IP", T_INT, G(max_conns_per_ip), "64", "concurrent connections from one address (0: no cap)"},
    {"http.max_idle_per_ip", "AISLE_MAX_IDLE_PER_IP", T_INT, G(max_idle_per_ip), "32", "half-open requests (no request answered yet) per peer address, counted from accept: past it, the oldest over 500 ms is closed; also the civetweb WebSockets per client (429) (0: no cap)"},
    {"http.thread_reserve", "AISLE_THREAD_RESERVE", T_INT, G(thread_reserve), "16", "civetweb workers that waits (half-open requests, keep-alive) and civetweb WebSockets never hold, kept for requests being answered: past num_threads - reserve the oldest wait over 500 ms is closed; WebSocket upgrades past num_threads - 2 x reserve get 503 (at most num_threads / 4 is used)"},
    {"http.trusted_proxy", "AISLE_TRUSTED_PROXY", T_STR, G(trusted_proxy), "none", "the proxy's address; its X-Forwarded-For names the client for limits and logs"},
    {"http.access_log", "AISLE_ACCESS_LOG", T_BOOL, G(access_log), "true", "one JSON line per request on stdout"},
    {"ws.max_frame_bytes", "AISLE_MAX_FRAME_BYTES", T_LONG, G(max_frame_bytes), "16384", "larger WebSocket messages: error frame 413, close 1009"},
    {"ws.max_message_bytes", "AISLE_MAX_MESSAGE_BYTES", T_LONG, G(max_message_bytes), "2000", "a chat message's text, REST or WebSocket (413)"},
    {"ws.idle_timeout_ms", "AISLE_WS_IDLE_TIMEOUT_MS", T_INT, G(ws_idle_timeout_ms), "120000", "WebSockets without a message for this long are closed (event loop: pinged after a third of it, at most 30 s)"},
    {"ws.listen", "AISLE_WS_LISTEN", T_STR, G(ws_listen), "auto", "`host:port` of the event-loop WebSocket listener (/ws there; the page is told); auto: the host of `listen`, its port + 1; none: /ws on `listen`, a civetweb thread per socket"},
    {"ws.handshake_timeout_ms", "AISLE_WS_HANDSHAKE_TIMEOUT_MS", T_INT, G(ws_handshake_timeout_ms), "5000", "event-loop listener: time to send the whole upgrade request (8 KiB at most)"},
    {"ws.max_queue_bytes", "AISLE_WS_MAX_QUEUE_BYTES", T_LONG, G(ws_max_queue_bytes), "1048576", "event-loop listener: frames queued for a client that does not read; past it the connection is dropped"},
    {"limits.ip_rps", "AISLE_RATE_IP_RPS", T_DBL, G(ip_rps), "20", "token bucket per client address: requests per second (0: off)"},
    {"limits.ip_burst", "AISLE_RATE_IP_BURST", T_DBL, G(ip_burst), "60", "bucket size per address"},
    {"limits.user_rps", "AISLE_RATE_USER_RPS", T_DBL, G(user_rps), "10", "token bucket per user or anonymous session (0: off)"},
    {"limits.user_burst", "AISLE_RATE_USER_BURST", T_DBL, G(user_burst), "30", "bucket size per user"},
    {"limits.login_tries", "AISLE_LOGIN_TRIES", T_INT, G(login_tries), "5", "wrong passwords for one account, from any addresses, before its logins back off (1 s, 2 s, 4 s ...; 0: off)"},
    {"limits.login_ip_tries", "AISLE_LOGIN_IP_TRIES", T_INT, G(login_ip_tries), "20", "wrong passwords from one address, on any accounts, before its logins back off (0: off)"},
    {"limits.login_max_backoff_s", "AISLE_LOGIN_MAX_BACKOFF_S", T_INT, G(login_max_backoff_s), "900", "longest login backoff; a success or an hour without failures ends a streak"},
    {"turns.deadline_ms", "AISLE_TURN_DEADLINE_MS", T_INT, G(turn_deadline_ms), "0 (the pipeline's)", "per-turn deadline override"},
    {"turns.traces_keep", "AISLE_TRACES_KEEP", T_INT, G(traces_keep), "200", "recent turn traces kept in memory for the inspector (the ring)"},
    {"turns.traces_rate", "AISLE_TRACES_RATE", T_DBL, G(traces_rate), "50", "turn traces a second at most put into that ring (a failed turn's always; 0: every turn): over it a turn neither prints nor copies its context for the inspector"},
    {"turns.traces_max_bytes", "AISLE_TRACES_MAX_BYTES", T_LONG, G(traces_max_bytes), "33554432", "the ring's size in bytes at most (the oldest traces go first)"},
    {"turns.traces_max_age_s", "AISLE_TRACES_MAX_AGE_S", T_INT, G(traces_max_age_s), "3600", "traces older than this leave the ring"},
    {"turns.trace_store_rate", "AISLE_TRACE_STORE_RATE", T_DBL, G(trace_store_rate), "20", "traces a second at most copied to the store cache by a writer thread, off the reply path; a failed turn's always (0: only those)"},
    {"turns.trace_queue", "AISLE_TRACE_QUEUE", T_INT, G(trace_queue), "256", "traces waiting for that writer; when full the oldest is dropped (aisle_traces_dropped_total)"},
    {"turns.trace_ttl_s", "AISLE_TRACE_TTL_S", T_INT, G(trace_ttl_s), "900", "how long traces stay in the store cache"},
    {"reload.watch", "AISLE_WATCH", T_BOOL, G(watch), "true", "reload the pipeline when its files change"},
    {"reload.debounce_ms", "AISLE_RELOAD_DEBOUNCE_MS", T_INT, G(reload_debounce_ms), "150", "quiet time after a change before reloading"},
};
#define NSET (sizeof table / sizeof *table)

static const char *keep(cli_config *c, const char *v)
{
    if ((size_t)c->nowned >= sizeof c->owned / sizeof *c->owned)
        return NULL;
    char *d = strdup(v);
    if (d)
        c->owned[c->nowned++] = d;
    return d;
}

static int apply(cli_config *c, const setting *s, const char *v, char *err, size_t errn)
{
    char *p = (char *)c + s->off, *end = NULL;
    errno = 0;
    switch (s->ty) {
    case T_STR:
    case T_LIST:
        *(const char **)p = *v ? keep(c, v) : (s->ty == T_LIST ? "" : NULL);
        if (s->off == G(cors_origin) || s->off == G(trusted_proxy) || s->off == G(ui_dir) || s->off == G(ws_listen))
            if (!*(const char **)p)
                *(const char **)p = "";
        /* a URL picks its backend for its family, whichever layer (file,
         * environment, --set) gave it; an empty value goes back to SQLite */
        if (s->off == S(redis_url))
            c->store.ephemeral = *v ? STORE_BACKEND_REDIS : STORE_BACKEND_DEFAULT;
        if (s->off == S(mongo_uri))
            c->store.documents = *v ? STORE_BACKEND_MONGO : STORE_BACKEND_DEFAULT;
        return 0;
    case T_INT:
    case T_LONG: {
        long long x = strtoll(v, &end, 10);
        if (!*v || *end || errno || x < 0 || x > 2147483647) {
            snprintf(err, errn, "%s: \"%s\" is not a whole number from 0 to 2147483647", s->key, v);
            return -1;
        }
        if (s->ty == T_INT)
            *(int *)p = (int)x;
        else
            *(long *)p = (long)x;
        return 0;
    }
    case T_DBL: {
        double x = strtod(v, &end);
        if (!*v || *end || errno || x < 0 || x != x) {
            snprintf(err, errn, "%s: \"%s\" is not a number >= 0", s->key, v);
            return -1;
        }
        *(double *)p = x;
        return 0;
    }
    case T_BOOL:
        if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on") || !strcmp(v, "1"))
            *(int *)p = 1;
        else if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcasecmp(v, "off") || !strcmp(v, "0") || !*v)
            *(int *)p = 0;
        else {
            snprintf(err, errn, "%s: \"%s\" is not true or false", s->key, v);
            return -1;
        }
        return 0;
    }
    return -1;
}

int cli_config_set(cli_config *c, const char *key, const char *value, char *err, size_t errn)
{
    for (size_t i = 0; i < NSET; i++)
        if (strcmp(table[i].key, key) == 0)
            return apply(c, &table[i], value, err, errn);
    snprintf(err, errn, "unknown setting \"%s\"", key);
    return -1;
}

static bool exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

void cli_config_init(cli_config *c)
{
    memset(c, 0, sizeof *c);
    gw_config_init(&c->gw);
    /* the store's own defaults, without its environment: ours is applied
     * by cli_config_apply_env so the precedence stays file < env < flags */
    c->store.sqlite_path = "var/aisle.db";
    c->store.history_window = 20;
    c->store.session_ttl_s = 86400;
    c->store.pool_size = 8;
    c->store.busy_timeout_ms = 5000;
    c->store.search_cache = 256;
    c->gw.pipeline_path = exists("pipelines/commerce.yaml") ? "pipelines/commerce.yaml" : "examples/faq/faq.yaml";
}

int cli_config_apply_env(cli_config *c, char *err, size_t errn)
{
    for (size_t i = 0; i < NSET; i++) {
        const char *v = getenv(table[i].env);
        if (v && apply(c, &table[i], v, err, errn) < 0) {
            char tmp[400];
            snprintf(tmp, sizeof tmp, "%s (from %s)", err, table[i].env);
            snprintf(err, errn, "%s", tmp);
            return -1;
        }
    }
    return 0;
}

/* walk a mapping, composing dotted keys; sequences of scalars become
 * comma-joined lists */
static int walk(cli_config *c, yaml_document_t *d, yaml_node_t *n, const char *prefix, const char *file, char *err,
                size_t errn)
{
    if (n->type != YAML_MAPPING_NODE) {
        snprintf(err, errn, "%s:%zu:%zu: expected a mapping", file, n->start_mark.line + 1, n->start_mark.column + 1);
        return -1;
    }
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(d, p->key), *v = yaml_document_get_node(d, p->value);
        if (!k || !v || k->type != YAML_SCALAR_NODE) {
            snprintf(err, errn, "%s: malformed key", file);
            return -1;
        }
        char key[128];
        snprintf(key, sizeof key, "%s%s%s", prefix, *prefix ? "." : "", (const char *)k->data.scalar.value);
        const setting *s = NULL;
        bool section = false;
        for (size_t i = 0; i < NSET; i++) {
            if (strcmp(table[i].key, key) == 0)
                s = &table[i];
            size_t kl = strlen(key);
            if (strncmp(table[i].key, key, kl) == 0 && table[i].key[kl] == '.')
                section = true;
        }
        if (section && v->type == YAML_MAPPING_NODE) {
            if (walk(c, d, v, key, file, err, errn) < 0)
                return -1;
            continue;
        }
        if (!s) {
            snprintf(err, errn, "%s:%zu:%zu: unknown setting \"%s\" (docs/operations.md lists them)", file,
                     k->start_mark.line + 1, k->start_mark.column + 1, key);
            return -1;
        }
        char val[4096] = "";
        if (v->type == YAML_SCALAR_NODE) {
            /* a bare ~ or null means "not set" */
            const char *t = (const char *)v->data.scalar.value;
            if (v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && (!strcmp(t, "~") || !strcmp(t, "null")))
                t = "";
            snprintf(val, sizeof val, "%s", t);
        } else if (v->type == YAML_SEQUENCE_NODE && s->ty == T_LIST) {
            size_t o = 0;
            for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
                yaml_node_t *e = yaml_document_get_node(d, *it);
                if (!e || e->type != YAML_SCALAR_NODE)
                    continue;
                o += (size_t)snprintf(val + o, o < sizeof val ? sizeof val - o : 0, "%s%s", o ? "," : "",
                                      (const char *)e->data.scalar.value);
                if (o >= sizeof val)
                    break;
            }
        } else {
            snprintf(err, errn, "%s:%zu:%zu: %s needs a single value", file, v->start_mark.line + 1,
                     v->start_mark.column + 1, key);
            return -1;
        }
        char e2[300];
        if (apply(c, s, val, e2, sizeof e2) < 0) {
            snprintf(err, errn, "%s:%zu:%zu: %s", file, v->start_mark.line + 1, v->start_mark.column + 1, e2);
            return -1;
        }
    }
    return 0;
}

int cli_config_load_file(cli_config *c, const char *path, char *err, size_t errn)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errn, "%s: %s", path, strerror(errno));
        return -1;
    }
    yaml_parser_t p;
    yaml_document_t d;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_file(&p, f);
    int rc = -1;
    if (!yaml_parser_load(&p, &d)) {
        snprintf(err, errn, "%s:%zu:%zu: %s", path, p.problem_mark.line + 1, p.problem_mark.column + 1,
                 p.problem ? p.problem : "YAML syntax error");
    } else {
        yaml_node_t *root = yaml_document_get_root_node(&d);
        rc = root ? walk(c, &d, root, "", path, err, errn) : 0;   /* an empty file sets nothing */
        yaml_document_delete(&d);
    }
    yaml_parser_delete(&p);
    fclose(f);
    return rc;
}

void cli_config_print_table(FILE *out)
{
    fprintf(out, "| key | environment | default | meaning |\n| --- | --- | --- | --- |\n");
    for (size_t i = 0; i < NSET; i++)
        fprintf(out, "| `%s` | `%s` | %s | %s |\n", table[i].key, table[i].env, table[i].def, table[i].help);
}

void cli_config_free(cli_config *c)
{
    for (int i = 0; i < c->nowned; i++)
        free(c->owned[i]);
    c->nowned = 0;
}
