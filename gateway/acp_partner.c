/* gateway/acp_partner.c — who may call the ACP endpoints: one set of
 * credentials per agent partner (acp.partners_file), each with its own
 * Bearer key, its own webhook receiver and webhook secret, and whether
 * it must send a fresh `Timestamp`.  The shared acp.api_key, when set,
 * is one more partner, "default", without webhooks.
 *
 * The file is JSON, read once at start (a bad file refuses the start):
 *   {"timestamp_tolerance_s": 300,
 *    "partners": [{"id": "openai", "api_key_env": "ACP_KEY_OPENAI",
 *                  "webhook_url": "https://…/agentic_checkout/webhooks/order_events",
 *                  "webhook_secret_env": "ACP_WEBHOOK_SECRET_OPENAI",
 *                  "require_timestamp": true}]}
 * Secrets may also be given inline ("api_key", "webhook_secret"); the
 * environment keeps them out of a file that is easy to copy. */
#include "gw_int.h"
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_PARTNERS 64
#define MAX_FILE (256 * 1024)

static bool id_ok(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n >= sizeof ((gw_acp_partner *)0)->id)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9') || id[i] == '-' || id[i] == '_'))
            return false;
    return true;
}

/* member `k`, or the environment variable named by member `k`_env */
static const char *secret(json_object *p, const char *k, char *why, size_t n, const char *pid, bool *bad)
{
    char ek[64];
    snprintf(ek, sizeof ek, "%s_env", k);
    const char *v = gw__jstr(p, k), *env = gw__jstr(p, ek);
    if (v && env) {
        snprintf(why, n, "partner %s: give %s or %s, not both", pid, k, ek);
        *bad = true;
        return NULL;
    }
    if (env) {
        v = getenv(env);
        if (!v || !*v) {
            snprintf(why, n, "partner %s: %s names %s, which is not set", pid, ek, env);
            *bad = true;
            return NULL;
        }
    }
    return v;
}

static int add(gw_server *s, const char *id, const char *key, const char *url, const char *wsecret, bool need_ts,
               char *why, size_t n)
{
    if (s->n_acp_partners >= MAX_PARTNERS) {
        snprintf(why, n, "at most %d ACP partners", MAX_PARTNERS);
        return -1;
    }
    for (size_t i = 0; i < s->n_acp_partners; i++)
        if (strcmp(s->acp_partners[i].id, id) == 0) {
            snprintf(why, n, "two ACP partners are named %s", id);
            return -1;
        }
    gw_acp_partner *p = &s->acp_partners[s->n_acp_partners];
    memset(p, 0, sizeof *p);
    snprintf(p->id, sizeof p->id, "%s", id);
    p->key = strdup(key);
    p->webhook_url = url ? strdup(url) : NULL;
    p->webhook_secret = wsecret ? strdup(wsecret) : NULL;
    p->require_timestamp = need_ts;
    if (!p->key || (url && !p->webhook_url) || (wsecret && !p->webhook_secret)) {
        free(p->key), free(p->webhook_url), free(p->webhook_secret);
        snprintf(why, n, "out of memory");
        return -1;
    }
    s->n_acp_partners++;
    return 0;
}

int gw__acp_partners_load(gw_server *s, const gw_config *c, char *why, size_t n)
{
    s->acp_partners = calloc(MAX_PARTNERS, sizeof *s->acp_partners);
    s->acp_ts_tolerance_s = 300;
    if (!s->acp_partners) {
        snprintf(why, n, "out of memory");
        return -1;
    }
    if (c->acp_api_key && *c->acp_api_key && add(s, "default", c->acp_api_key, NULL, NULL, false, why, n) < 0)
        return -1;
    const char *path = c->acp_partners_file;
    if (!path || !*path)
        return 0;
    FILE *f = fopen(path, "rb");
    char *buf = f ? malloc(MAX_FILE + 1) : NULL;
    size_t len = buf ? fread(buf, 1, MAX_FILE + 1, f) : 0;
    if (f)
        fclose(f);
    if (!buf || len > MAX_FILE) {
        free(buf);
        snprintf(why, n, "acp.partners_file %s: %s", path, !f ? "cannot be read" : "larger than 256 KiB");
        return -1;
    }
    buf[len] = 0;
    json_tokener *tk = json_tokener_new_ex(16);
    json_object *doc = tk ? json_tokener_parse_ex(tk, buf, (int)len) : NULL;
    bool whole = tk && json_tokener_get_error(tk) == json_tokener_success;
    json_tokener_free(tk);
    free(buf);
    int rc = -1;
    json_object *list = json_object_object_get(doc, "partners"), *tol = json_object_object_get(doc, "timestamp_tolerance_s");
    if (!whole || !json_object_is_type(doc, json_type_object)) {
        snprintf(why, n, "acp.partners_file %s: not a JSON object", path);
        goto out;
    }
    json_object_object_foreach(doc, k, v) {
        (void)v;
        if (strcmp(k, "partners") != 0 && strcmp(k, "timestamp_tolerance_s") != 0) {
            snprintf(why, n, "acp.partners_file %s: unknown member \"%.40s\" (partners, timestamp_tolerance_s)", path, k);
            goto out;
        }
    }
    if (tol) {
        int64_t t = json_object_is_type(tol, json_type_int) ? json_object_get_int64(tol) : -1;
        if (t < 1 || t > 3600) {
            snprintf(why, n, "acp.partners_file %s: timestamp_tolerance_s is a whole number of seconds, 1 to 3600", path);
            goto out;
        }
        s->acp_ts_tolerance_s = (int)t;
    }
    if (!json_object_is_type(list, json_type_array)) {
        snprintf(why, n, "acp.partners_file %s: \"partners\" must be an array", path);
        goto out;
    }
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *p = json_object_array_get_idx(list, i);
        static const char *const known[] = {"id", "api_key", "api_key_env", "webhook_url", "webhook_secret",
                                            "webhook_secret_env", "require_timestamp", NULL};
        const char *pid = gw__jstr(p, "id");
        if (!json_object_is_type(p, json_type_object) || !id_ok(pid)) {
            snprintf(why, n, "acp.partners_file %s: partners[%zu] needs an id (1-40 of a-z, 0-9, - and _)", path, i);
            goto out;
        }
        json_object_object_foreach(p, pk, pv) {
            (void)pv;
            bool ok = false;
            for (size_t j = 0; known[j]; j++)
                ok |= strcmp(known[j], pk) == 0;
            if (!ok) {
                snprintf(why, n, "acp.partners_file %s: partner %s: unknown member \"%.40s\"", path, pid, pk);
                goto out;
            }
        }
        bool bad = false;
        const char *key = secret(p, "api_key", why, n, pid, &bad);
        const char *wsec = bad ? NULL : secret(p, "webhook_secret", why, n, pid, &bad);
        const char *url = gw__jstr(p, "webhook_url");
        json_object *rt = json_object_object_get(p, "require_timestamp");
        if (bad)
            goto out;
        if (!key || (!c->dev && strlen(key) < 24)) {
            snprintf(why, n, "partner %s: api_key (or api_key_env) is required, at least 24 bytes", pid);
            goto out;
        }
        if (url && strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0) {
            snprintf(why, n, "partner %s: webhook_url must start with https:// (or http:// on a private network)", pid);
            goto out;
        }
        if (url && (!wsec || strlen(wsec) < 16)) {
            snprintf(why, n, "partner %s: a webhook_url needs webhook_secret (or webhook_secret_env), at least 16 bytes",
                     pid);
            goto out;
        }
        if (rt && !json_object_is_type(rt, json_type_boolean)) {
            snprintf(why, n, "partner %s: require_timestamp is true or false", pid);
            goto out;
        }
        if (add(s, pid, key, url, url ? wsec : NULL, rt && json_object_get_boolean(rt), why, n) < 0)
            goto out;
    }
    rc = 0;
out:
    json_object_put(doc);
    return rc;
}

void gw__acp_partners_free(gw_server *s)
{
    for (size_t i = 0; s->acp_partners && i < s->n_acp_partners; i++) {
        gw_acp_partner *p = &s->acp_partners[i];
        if (p->key)
            sodium_memzero(p->key, strlen(p->key));
        if (p->webhook_secret)
            sodium_memzero(p->webhook_secret, strlen(p->webhook_secret));
        free(p->key), free(p->webhook_url), free(p->webhook_secret);
    }
    free(s->acp_partners);
    s->acp_partners = NULL;
    s->n_acp_partners = 0;
}

const gw_acp_partner *gw__acp_partner_by_key(const gw_server *s, const char *token)
{
    /* every key compared (as SHA-256, constant time): the time taken says
     * nothing about which partner, or how much of a key, matched */
    unsigned char got[crypto_hash_sha256_BYTES], want[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(got, (const unsigned char *)token, strlen(token));
    const gw_acp_partner *found = NULL;
    for (size_t i = 0; i < s->n_acp_partners; i++) {
        crypto_hash_sha256(want, (const unsigned char *)s->acp_partners[i].key, strlen(s->acp_partners[i].key));
        if (sodium_memcmp(got, want, sizeof got) == 0 && !found)
            found = &s->acp_partners[i];
    }
    return found;
}

const gw_acp_partner *gw__acp_partner(const gw_server *s, const char *id)
{
    for (size_t i = 0; id && i < s->n_acp_partners; i++)
        if (strcmp(s->acp_partners[i].id, id) == 0)
            return &s->acp_partners[i];
    return NULL;
}

/* RFC 3339: 2026-04-17T10:30:00Z, fractions and ±hh:mm offsets allowed */
int gw__acp_parse_time(const char *t, int64_t *out)
{
    int Y, M, D, h, m, sec, n = 0;
    if (!t || sscanf(t, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &Y, &M, &D, &h, &m, &sec, &n) != 6 || n != 19)
        return -1;
    const char *p = t + n;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return -1;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    int off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om, k = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &k) != 2 || k != 5 || oh > 23 || om > 59)
            return -1;
        off = (*p == '+' ? 1 : -1) * (oh * 3600 + om * 60);
        p += 6;
    } else {
        return -1;
    }
    if (*p || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
        return -1;
    /* days from the civil date (Howard Hinnant's algorithm) */
    int y = Y - (M <= 2);
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (M + (M > 2 ? -3 : 9)) + 2) / 5 + D - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = (int64_t)era * 146097 + doe - 719468;
    *out = days * 86400 + h * 3600 + m * 60 + sec - off;
    return 0;
}

bool gw__acp_mcp_partner(gw_req *r)
{
    const char *auth = mg_get_header(r->conn, "Authorization");
    const char *tok = auth && strncasecmp(auth, "Bearer ", 7) == 0 ? auth + 7 : NULL;
    const gw_acp_partner *p = tok && *tok ? gw__acp_partner_by_key(r->srv, tok) : NULL;
    if (!p)
        return false;
    gw_principal partner = {.authenticated = 1};
    snprintf(partner.sid, sizeof partner.sid, "acp:%s", p->id);
    r->who = partner;
    return true;
}
