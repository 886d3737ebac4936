/* stores/store.c — the one entry point: reads the configuration, opens the
 * backend for each store family and forwards every call through its vtable,
 * so callers never learn which backend answers. */
#include "store_int.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/time.h>

const char *store_strerror(int code)
{
    static const char *const names[] = {
        "ok", "not found", "already exists", "invalid argument",
        "out of memory", "backend error", "busy", "out of stock",
        "wrong state", "cart is empty", "backend unavailable",
        "schema mismatch", "not supported by this backend", "token revoked",
        "token expired", "rate limited", "bad configuration",
    };
    int i = -code;
    if (i < 0 || (size_t)i >= sizeof names / sizeof names[0])
        return "unknown error";
    return names[i];
}

void store_config_init(store_config *cfg)
{
    const char *e;
    memset(cfg, 0, sizeof *cfg);
    cfg->sqlite_path = "var/aisle.db";
    cfg->history_window = 20;
    cfg->session_ttl_s = 86400;
    cfg->pool_size = 8;
    cfg->busy_timeout_ms = 5000;
    cfg->search_cache = 256;
    if ((e = getenv("AISLE_DB")) && *e)
        cfg->sqlite_path = e;
    if ((e = getenv("AISLE_REDIS_URL")) && *e) {
        cfg->redis_url = e;
        cfg->ephemeral = STORE_BACKEND_REDIS;
    }
    if ((e = getenv("AISLE_MONGO_URI")) && *e) {
        cfg->mongo_uri = e;
        cfg->documents = STORE_BACKEND_MONGO;
    }
    if ((e = getenv("AISLE_MEDIA_DIR")) && *e)
        cfg->media_dir = e;
    if ((e = getenv("AISLE_SEARCH_CACHE")) && *e)
        cfg->search_cache = (int)strtol(e, NULL, 10);
}

/* the media directory: the configured one, else "media" beside the
 * SQLite file (var/aisle.db: var/media) */
static store__media *media_open(const store_config *c)
{
    char dir[4096];
    if (c->media_dir && *c->media_dir) {
        snprintf(dir, sizeof dir, "%s", c->media_dir);
    } else {
        const char *db = c->sqlite_path ? c->sqlite_path : "var/aisle.db";
        const char *slash = strrchr(db, '/');
        if (slash)
            snprintf(dir, sizeof dir, "%.*s/media", (int)(slash - db), db);
        else
            snprintf(dir, sizeof dir, "media");
    }
    return store__media_new(dir);
}

/* Strong references (store__redis_ops, store__mongo_ops in store_int.h):
 * a weak one would not pull the backends' objects out of libaisle.a, and
 * every build links hiredis and libmongoc anyway. */
static const store__ops *pick_ops(store_backend b, store_err *err)
{
    switch (b) {
    case STORE_BACKEND_DEFAULT:
    case STORE_BACKEND_SQLITE:
        return &store__sqlite_ops;
    case STORE_BACKEND_REDIS:
        return &store__redis_ops;
    case STORE_BACKEND_MONGO:
        return &store__mongo_ops;
    }
    store__fail(err, STORE_ECONFIG, "unknown backend %d", (int)b);
    return NULL;
}

int store_open(const store_config *cfg_in, store **out, store_err *err)
{
    store_config def;
    store *s;
    int rc;

    if (!out)
        return store__fail(err, STORE_EINVAL, "store_open: out is NULL");
    *out = NULL;
    if (!cfg_in) {
        store_config_init(&def);
        cfg_in = &def;
    }
    if (!(s = calloc(1, sizeof *s)))
        return store__fail(err, STORE_ENOMEM, "out of memory");
    s->cfg = *cfg_in;
    /* own copies: the config's strings may be the caller's temporaries */
    s->sqlite_path = store__strdup(cfg_in->sqlite_path ? cfg_in->sqlite_path
                                                       : "var/aisle.db");
    s->redis_url = store__strdup(cfg_in->redis_url);
    s->mongo_uri = store__strdup(cfg_in->mongo_uri);
    s->synonyms_path = store__strdup(cfg_in->synonyms_path);
    s->cfg.sqlite_path = s->sqlite_path;
    s->cfg.redis_url = s->redis_url;
    s->cfg.mongo_uri = s->mongo_uri;
    s->cfg.synonyms_path = s->synonyms_path;
    if (s->cfg.history_window <= 0)
        s->cfg.history_window = 20;
    if (s->cfg.session_ttl_s <= 0)
        s->cfg.session_ttl_s = 86400;
    if (s->cfg.pool_size <= 0)
        s->cfg.pool_size = 8;
    if (s->cfg.busy_timeout_ms <= 0)
        s->cfg.busy_timeout_ms = 5000;
    if (!(s->media = media_open(&s->cfg))) {
        rc = store__fail(err, STORE_ENOMEM, "out of memory");
        goto fail;
    }
    s->cfg.media_dir = store__media_dir(s->media);

    if (!(s->doc_ops = pick_ops(s->cfg.documents, err)) ||
        !(s->eph_ops = pick_ops(s->cfg.ephemeral, err))) {
        rc = err ? err->code : STORE_ECONFIG;
        goto fail;
    }
    if ((rc = s->doc_ops->open(&s->cfg, s, &s->doc, err)) != 0)
        goto fail;
    if (s->eph_ops == s->doc_ops) {
        s->eph = s->doc;
    } else if ((rc = s->eph_ops->open(&s->cfg, s, &s->eph, err)) != 0) {
        goto fail;
    }
    *out = s;
    return 0;
fail:
    store_close(s);
    return rc;
}

void store_close(store *s)
{
    if (!s)
        return;
    if (s->eph && s->eph != s->doc)
        s->eph_ops->close(s->eph);
    if (s->doc)
        s->doc_ops->close(s->doc);
    free(s->sqlite_path);
    free(s->redis_url);
    free(s->mongo_uri);
    free(s->synonyms_path);
    store__media_free(s->media);
    free(s);
}

const char *store_backend_name(const store *s, int ephemeral)
{
    if (!s)
        return "none";
    return ephemeral ? s->eph_ops->name : s->doc_ops->name;
}

int store_ping(store *s, store_err *err)
{
    int rc;
    if (!s)
        return store__fail(err, STORE_EINVAL, "store is NULL");
    if (s->doc_ops->ping && (rc = s->doc_ops->ping(s->doc, err)) != 0)
        return rc;
    if (s->eph != s->doc && s->eph_ops->ping)
        return s->eph_ops->ping(s->eph, err);
    return 0;
}

/* Forwarders: check the handle, then call the family's op or say which
 * backend lacks it. */
#define DOC(op, ...)                                                       \
    do {                                                                   \
        if (!s)                                                            \
            return store__fail(err, STORE_EINVAL, "store is NULL");        \
        if (!s->doc_ops->op)                                               \
            return store__fail(err, STORE_ENOTSUP, "%s backend has no " #op, \
                               s->doc_ops->name);                          \
        return s->doc_ops->op(s->doc, __VA_ARGS__);                        \
    } while (0)
#define EPH(op, ...)                                                       \
    do {                                                                   \
        if (!s)                                                            \
            return store__fail(err, STORE_EINVAL, "store is NULL");        \
        if (!s->eph_ops->op)                                               \
            return store__fail(err, STORE_ENOTSUP, "%s backend has no " #op, \
                               s->eph_ops->name);                          \
        return s->eph_ops->op(s->eph, __VA_ARGS__);                        \
    } while (0)
#define NEED(cond, what)                                                   \
    do {                                                                   \
        if (!(cond))                                                       \
            return store__fail(err, STORE_EINVAL, "%s", what);             \
    } while (0)

int store_user_create(store *s, const char *email, const char *password_hash,
                      const char *name, int64_t *id_out, store_err *err)
{
    NEED(email && *email && strchr(email, '@'), "email must contain '@'");
    NEED(password_hash && *password_hash, "password hash is empty");
    NEED(strlen(email) < 256 && strlen(password_hash) < 256 &&
         (!name || strlen(name) < 128), "user field too long");
    DOC(user_create, email, password_hash, name ? name : "", id_out, err);
}

int store_user_get(store *s, int64_t id, store_user *out, store_err *err)
{
    NEED(out, "out is NULL");
    DOC(user_get, id, NULL, out, err);
}

int store_user_get_by_email(store *s, const char *email, store_user *out,
                            store_err *err)
{
    NEED(out && email, "email/out is NULL");
    DOC(user_get, 0, email, out, err);
}

/* roles live under owner -id, namespace "aisle.role": the memory calls
 * take only ids >= 0, so neither /me/memory nor the turn context sees or
 * changes them */
#define ROLE_NS "aisle.role"

int store_user_role_set(store *s, int64_t id, const char *role,
                        store_err *err)
{
    NEED(id > 0, "user id must be positive");
    NEED(role && (strcmp(role, "user") == 0 || strcmp(role, "admin") == 0),
         "role must be \"user\" or \"admin\"");
    store_user u;
    int rc = store_user_get(s, id, &u, err);
    if (rc < 0)
        return rc;
    if (strcmp(role, "user") == 0) {
        DOC(memory_delete, -id, ROLE_NS, "role", err);
    }
    char js[32];
    snprintf(js, sizeof js, "\"%s\"", role);
    DOC(memory_put, -id, ROLE_NS, "role", js, err);
}

int store_user_role_get(store *s, int64_t id, char *role, size_t cap,
                        store_err *err)
{
    NEED(id > 0 && role && cap >= 8, "user id and role buffer required");
    snprintf(role, cap, "user");
    if (!s)
        return store__fail(err, STORE_EINVAL, "store is NULL");
    if (!s->doc_ops->memory_get)
        return 0;
    char *js = NULL;
    int rc = s->doc_ops->memory_get(s->doc, -id, ROLE_NS, "role", &js, err);
    if (rc == STORE_ENOTFOUND)
        return 0;
    if (rc < 0)
        return rc;
    if (js && strcmp(js, "\"admin\"") == 0)
        snprintf(role, cap, "admin");
    free(js);
    return 0;
}

/* account records live beside the role: owner -id, their own namespace */
#define ACCOUNT_NS "aisle.account"

static bool account_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
              name[i] == '_' || name[i] == '.' || name[i] == '-'))
            return false;
    return true;
}

int store_account_put(store *s, int64_t user_id, const char *name,
                      const char *json, store_err *err)
{
    NEED(user_id > 0 && account_name_ok(name), "user id and account record name required");
    NEED(json && strlen(json) <= 8192, "account record: JSON of at most 8 KiB required");
    store_user u;
    int rc = store_user_get(s, user_id, &u, err);
    if (rc < 0)
        return rc;
    DOC(memory_put, -user_id, ACCOUNT_NS, name, json, err);
}

int store_account_get(store *s, int64_t user_id, const char *name,
                      char **json_out, store_err *err)
{
    NEED(user_id > 0 && account_name_ok(name) && json_out, "user id, name and out required");
    *json_out = NULL;
    DOC(memory_get, -user_id, ACCOUNT_NS, name, json_out, err);
}

static int64_t expiry(const store *s, int ttl_s)
{
    if (ttl_s <= 0)
        ttl_s = s->cfg.session_ttl_s;
    return store_now_ms(s) + (int64_t)ttl_s * 1000;
}

int store_session_put(store *s, const char *sid, const char *json, int ttl_s,
                      store_err *err)
{
    NEED(sid && *sid && json, "session id and json are required");
    NEED(json[strspn(json, " \t\r\n")] == '{', "session must be a JSON object");
    EPH(kv_put, STORE__KV_SESSION, sid, json, expiry(s, ttl_s), err);
}

int store_session_get(store *s, const char *sid, char **json_out,
                      store_err *err)
{
    NEED(sid && json_out, "session id/out is NULL");
    EPH(kv_get, STORE__KV_SESSION, sid, store_now_ms(s), json_out, err);
}

int store_session_delete(store *s, const char *sid, store_err *err)
{
    NEED(sid, "session id is NULL");
    EPH(kv_delete, STORE__KV_SESSION, sid, err);
}

int store_session_append_turn(store *s, const char *sid, const char *turn_json,
                              store_err *err)
{
    NEED(sid && *sid && turn_json && *turn_json, "session id and turn required");
    EPH(history_append, sid, turn_json, s->cfg.history_window,
        expiry(s, 0), err);
}

int store_session_save(store *s, const char *sid, const char *json, int ttl_s,
                       const char *turn_json, store_err *err)
{
    NEED(s && sid && *sid && json, "session id and json are required");
    NEED(json[strspn(json, " \t\r\n")] == '{', "session must be a JSON object");
    if (!turn_json)
        return store_session_put(s, sid, json, ttl_s, err);
    NEED(*turn_json, "turn is empty");
    if (!s->eph_ops->session_save) {
        int rc = store_session_put(s, sid, json, ttl_s, err);
        return rc < 0 ? rc : store_session_append_turn(s, sid, turn_json, err);
    }
    return s->eph_ops->session_save(s->eph, sid, json, expiry(s, ttl_s), turn_json,
                                    s->cfg.history_window, expiry(s, 0), err);
}

int store_session_history(store *s, const char *sid, char **json_out,
                          store_err *err)
{
    NEED(sid && json_out, "session id/out is NULL");
    EPH(history_get, sid, store_now_ms(s), json_out, err);
}

int store_cache_put(store *s, const char *key, const char *value, int ttl_s,
                    store_err *err)
{
    NEED(key && value, "key/value is NULL");
    EPH(kv_put, STORE__KV_CACHE, key, value, expiry(s, ttl_s), err);
}

int store_cache_get(store *s, const char *key, char **value_out,
                    store_err *err)
{
    NEED(key && value_out, "key/out is NULL");
    EPH(kv_get, STORE__KV_CACHE, key, store_now_ms(s), value_out, err);
}

int store_product_upsert(store *s, const store_product *p, store_err *err)
{
    NEED(p, "product is NULL");
    int rc = store__facts_check(p, err);
    if (rc)
        return rc;
    DOC(product_upsert_many, p, 1, NULL, err);
}

int store_product_upsert_many(store *s, const store_product *p, size_t n,
                              size_t *failed_index, store_err *err)
{
    NEED(p || n == 0, "products are NULL");
    /* as the backends do: an invalid product writes nothing */
    for (size_t i = 0; i < n; i++) {
        int rc = store__facts_check(&p[i], err);
        if (rc) {
            if (failed_index)
                *failed_index = i;
            return rc;
        }
    }
    DOC(product_upsert_many, p, n, failed_index, err);
}

static int product_get_raw(store *s, const char *sku, store_product *out,
                           store_err *err)
{
    DOC(product_get, sku, out, err);
}

int store_product_get(store *s, const char *sku, store_product *out,
                      store_err *err)
{
    NEED(sku && out, "sku/out is NULL");
    int rc = product_get_raw(s, sku, out, err);
    if (rc == 0)
        store__media_fill(s->media, out);
    return rc;
}

const char *store_media_dir(const store *s)
{
    return s ? store__media_dir(s->media) : NULL;
}

int store_media_put(store *s, const char *url, const void *bytes, size_t len,
                    const char *sha256_hex, char *name_out, store_err *err)
{
    NEED(s, "store is NULL");
    return store__media_put(s->media, url, bytes, len, sha256_hex, name_out, err);
}

int store_media_lookup(store *s, const char *url, char *name, store_err *err)
{
    NEED(s && url && name, "store/url/name is NULL");
    return store__media_lookup(s->media, url, name, err);
}

int store_media_read(store *s, const char *name, char **bytes, size_t *len,
                     const char **content_type, store_err *err)
{
    NEED(s && name && bytes && len, "store/name/out is NULL");
    return store__media_read(s->media, name, bytes, len, content_type, err);
}

int store_media_open(store *s, const char *name, int *fd, size_t *len,
                     const char **content_type, store_err *err)
{
    NEED(s && name && fd && len, "store/name/out is NULL");
    return store__media_open(s->media, name, fd, len, content_type, err);
}

int store_product_delete(store *s, const char *sku, store_err *err)
{
    NEED(sku, "sku is NULL");
    DOC(product_delete, sku, err);
}

int store_product_count(store *s, int64_t *n_out, store_err *err)
{
    NEED(n_out, "out is NULL");
    DOC(product_count, n_out, err);
}

int store_product_each(store *s, store_product_fn fn, void *ud, store_err *err)
{
    NEED(fn, "fn is NULL");
    DOC(product_each, fn, ud, err);
}

int store_catalog_generation(store *s, int64_t *gen_out, store_err *err)
{
    NEED(gen_out, "out is NULL");
    DOC(catalog_generation, gen_out, err);
}

void store_search_query_init(store_search_query *q)
{
    memset(q, 0, sizeof *q);
    q->price_min = -1;
    q->price_max = -1;
    q->limit = 20;
}

static int search_raw(store *s, const store_search_query *q,
                      store_search_result *out, store_err *err)
{
    DOC(search, q, out, err);
}

int store_search(store *s, const store_search_query *q,
                 store_search_result *out, store_err *err)
{
    NEED(q && out, "query/out is NULL");
    memset(out, 0, sizeof *out);
    NEED(q->offset >= 0 && q->limit >= 0 && q->limit <= 200,
         "limit must be 1..200 and offset >= 0");
    int rc = search_raw(s, q, out, err);
    for (size_t i = 0; rc == 0 && i < out->n_hits; i++)
        store__media_fill(s->media, &out->hits[i].product);
    return rc;
}

int store_cart_get(store *s, const char *cart_id, store_cart *out,
                   store_err *err)
{
    NEED(cart_id && out, "cart id/out is NULL");
    memset(out, 0, sizeof *out);
    DOC(cart_get, cart_id, out, err);
}

int store_cart_set_qty(store *s, const char *cart_id, const char *sku,
                       int64_t qty, store_err *err)
{
    NEED(cart_id && *cart_id && sku && *sku, "cart id and sku are required");
    NEED(qty >= 0 && qty <= 1000000, "quantity must be 0..1000000");
    DOC(cart_set_qty, cart_id, sku, qty, err);
}

int store_cart_remove(store *s, const char *cart_id, const char *sku,
                      store_err *err)
{
    NEED(cart_id && sku, "cart id and sku are required");
    DOC(cart_set_qty, cart_id, sku, -1, err);   /* -1: remove, no lookup */
}

int store_cart_clear(store *s, const char *cart_id, store_err *err)
{
    NEED(cart_id, "cart id is NULL");
    DOC(cart_clear, cart_id, err);
}

int store_cart_merge(store *s, const char *from, const char *into,
                     store_err *err)
{
    NEED(from && into && strcmp(from, into) != 0, "two different carts needed");
    DOC(cart_merge, from, into, err);
}

int store_order_create(store *s, int64_t user_id, const char *cart_id,
                       const char *idempotency_key, store_order *out,
                       store_err *err)
{
    NEED(cart_id && idempotency_key && *idempotency_key &&
         strlen(idempotency_key) < 128, "cart id and idempotency key (<128) required");
    NEED(out, "out is NULL");
    memset(out, 0, sizeof *out);
    DOC(order_create, user_id, cart_id, idempotency_key, NULL, out, err);
}

int store_order_create_priced(store *s, int64_t user_id, const char *cart_id,
                              const char *idempotency_key, const char *pricing_json,
                              store_order *out, store_err *err)
{
    NEED(cart_id && idempotency_key && *idempotency_key &&
         strlen(idempotency_key) < 128, "cart id and idempotency key (<128) required");
    NEED(out, "out is NULL");
    NEED(pricing_json, "pricing_json is NULL (use store_order_create)");
    memset(out, 0, sizeof *out);
    DOC(order_create, user_id, cart_id, idempotency_key, pricing_json, out, err);
}

int store_order_get(store *s, int64_t order_id, store_order *out,
                    store_err *err)
{
    NEED(out, "out is NULL");
    memset(out, 0, sizeof *out);
    DOC(order_get, order_id, out, err);
}

int store_order_list(store *s, int64_t user_id, int limit, store_order **out,
                     size_t *n, store_err *err)
{
    NEED(out && n, "out is NULL");
    *out = NULL;
    *n = 0;
    DOC(order_list, user_id, limit > 0 ? limit : 50, out, n, err);
}

int store_order_cancel(store *s, int64_t user_id, int64_t order_id,
                       store_err *err)
{
    DOC(order_cancel, user_id, order_id, err);
}

/* ---------------- exactly-once effects ---------------- */

#define KEY_OK(k, max) (!(k) || (*(k) && strlen(k) < (max)))

int store_cart_apply(store *s, const store_cart_change *c,
                     store_cart_outcome *out, store_err *err)
{
    int rc;
    NEED(c && out, "change/out is NULL");
    memset(out, 0, sizeof *out);
    if (c->cart_after)
        memset(c->cart_after, 0, sizeof *c->cart_after);
    NEED(c->cart_id && *c->cart_id, "cart id is required");
    NEED(c->op >= STORE_CART_ADD && c->op <= STORE_CART_CLEAR, "unknown cart op");
    NEED(c->op == STORE_CART_CLEAR ||
         (c->sku && *c->sku && strlen(c->sku) < 128), "sku (<128) is required");
    NEED(c->op != STORE_CART_ADD || (c->qty >= 1 && c->qty <= 1000000),
         "quantity to add must be 1..1000000");
    NEED(c->op != STORE_CART_SET || (c->qty >= 0 && c->qty <= 1000000),
         "quantity must be 0..1000000");
    NEED(KEY_OK(c->idempotency_key, 512), "idempotency key must be 1..511 bytes");
    if ((rc = store__audit_check(c->audit, err)) != 0)
        return rc;
    DOC(cart_apply, c, store_now_ms(s), out, err);
}

int store_order_place(store *s, const store_order_req *req, store_order *out,
                      store_err *err)
{
    int rc;
    NEED(req && out, "request/out is NULL");
    memset(out, 0, sizeof *out);
    NEED(req->cart_id && req->idempotency_key && *req->idempotency_key &&
         strlen(req->idempotency_key) < 128,
         "cart id and idempotency key (<128) required");
    if ((rc = store__audit_check(req->audit, err)) != 0)
        return rc;
    DOC(order_place, req, store_now_ms(s), out, err);
}

int store_order_cancel_audited(store *s, int64_t user_id, int64_t order_id,
                               const store_audit_rec *audit, store_err *err)
{
    int rc;
    if ((rc = store__audit_check(audit, err)) != 0)
        return rc;
    DOC(order_cancel_audited, user_id, order_id, audit, NULL, store_now_ms(s), err);
}

/* a refund record: a JSON object, as every backend keeps it */
static int refund_check(const char *json, store_err *err)
{
    struct json_object *j = json ? json_tokener_parse(json) : NULL;
    int ok = j && json_object_is_type(j, json_type_object);
    json_object_put(j);
    return ok ? 0 : store__fail(err, STORE_EINVAL, "the refund record is not a JSON object");
}

int store_order_cancel_refund(store *s, int64_t user_id, int64_t order_id,
                              const store_audit_rec *audit,
                              const char *refund_json, store_err *err)
{
    int rc;
    if ((rc = store__audit_check(audit, err)) != 0)
        return rc;
    if (refund_json && (rc = refund_check(refund_json, err)) != 0)
        return rc;
    DOC(order_cancel_audited, user_id, order_id, audit, refund_json, store_now_ms(s), err);
}

int store_order_refund_set(store *s, int64_t order_id, const char *refund_json,
                           store_err *err)
{
    int rc;
    if ((rc = refund_check(refund_json, err)) != 0)
        return rc;
    DOC(order_refund_set, order_id, refund_json, err);
}

int store_order_refunds_pending(store *s, int limit, int64_t **ids, size_t *n,
                                store_err *err)
{
    NEED(ids && n, "ids/n is NULL");
    *ids = NULL;
    *n = 0;
    DOC(order_refunds_pending, limit > 0 ? limit : 100, ids, n, err);
}

int store_once_begin(store *s, const char *key, int lease_ms,
                     char **result_out, store_err *err)
{
    int64_t now;
    NEED(result_out, "result out is NULL");
    *result_out = NULL;
    NEED(KEY_OK(key, 256) && key, "key must be 1..255 bytes");
    NEED(lease_ms > 0, "lease must be > 0 ms");
    if (!s)
        return store__fail(err, STORE_EINVAL, "store is NULL");
    now = store_now_ms(s);
    EPH(once_begin, key, now, now + lease_ms, lease_ms, result_out, err);
}

int store_once_finish(store *s, const char *key, const char *result,
                      int ttl_s, store_err *err)
{
    NEED(KEY_OK(key, 256) && key && result, "key (1..255 bytes) and result required");
    if (!s)
        return store__fail(err, STORE_EINVAL, "store is NULL");
    EPH(once_finish, key, result, store_now_ms(s), expiry(s, ttl_s), err);
}

int store_session_save_replay(store *s, const char *sid, const char *json, int ttl_s,
                              const char *turn_json, const char *key, const char *result,
                              int once_ttl_s, int *once_rc, store_err *once_err, store_err *err)
{
    NEED(once_rc, "once_rc is NULL");
    *once_rc = STORE_EINVAL;
    NEED(s && sid && *sid && json && turn_json && *turn_json, "session id, json and turn are required");
    NEED(json[strspn(json, " \t\r\n")] == '{', "session must be a JSON object");
    NEED(KEY_OK(key, 256) && key && result, "key (1..255 bytes) and result required");
    if (!s->eph_ops->session_save_replay) {
        int rc = store_session_save(s, sid, json, ttl_s, turn_json, err);
        *once_rc = store_once_finish(s, key, result, once_ttl_s, once_err);
        return rc;
    }
    return s->eph_ops->session_save_replay(s->eph, sid, json, expiry(s, ttl_s), turn_json,
                                           s->cfg.history_window, expiry(s, 0), key, result,
                                           store_now_ms(s), expiry(s, once_ttl_s), once_rc,
                                           once_err, err);
}

int store_session_save_once(store *s, const char *sid, const char *json, int ttl_s,
                            const char *turn_json, const char *key, const char *result,
                            int once_ttl_s, char **first_out, store_err *err)
{
    NEED(first_out, "first_out is NULL");
    *first_out = NULL;
    NEED(s && sid && *sid && json && turn_json && *turn_json, "session id, json and turn are required");
    NEED(json[strspn(json, " \t\r\n")] == '{', "session must be a JSON object");
    NEED(KEY_OK(key, 256) && key && result, "key (1..255 bytes) and result required");
    if (!s->eph_ops->session_save_once) {
        /* two writes, the same outcome: the key taken first, so that no
         * other caller's answer can land between the check and the save */
        int rc = store_once_begin(s, key, 60000, first_out, err);
        if (rc < 0)
            return rc;
        int orc = 0;
        store_err oe = {0};
        rc = store_session_save_replay(s, sid, json, ttl_s, turn_json, key, result, once_ttl_s, &orc, &oe,
                                       err);
        if (rc < 0 || orc < 0) {
            if (orc < 0 && !rc && err)
                *err = oe;
            (void)store_once_abort(s, key, NULL);   /* a record not kept frees the key */
            return rc < 0 ? rc : orc;
        }
        return 0;
    }
    return s->eph_ops->session_save_once(s->eph, sid, json, expiry(s, ttl_s), turn_json,
                                         s->cfg.history_window, expiry(s, 0), key, result,
                                         store_now_ms(s), expiry(s, once_ttl_s), first_out, err);
}

int store_once_peek(store *s, const char *key, char **result_out, store_err *err)
{
    NEED(result_out, "result out is NULL");
    *result_out = NULL;
    NEED(KEY_OK(key, 256) && key, "key must be 1..255 bytes");
    EPH(once_peek, key, store_now_ms(s), result_out, err);
}

int store_session_get_replay(store *s, const char *sid, const char *key, char **json_out,
                             char **result_out, store_err *err)
{
    NEED(json_out && result_out, "outs are NULL");
    *json_out = *result_out = NULL;
    NEED(sid && KEY_OK(key, 256) && key, "session id and key (1..255 bytes) required");
    if (s && !s->eph_ops->session_get_replay) {
        int rc = store_once_peek(s, key, result_out, err);
        if (rc != 0)
            return rc;
        rc = store_session_get(s, sid, json_out, err);
        return rc == STORE_ENOTFOUND ? 0 : rc;
    }
    EPH(session_get_replay, sid, key, store_now_ms(s), json_out, result_out, err);
}

int store_once_abort(store *s, const char *key, store_err *err)
{
    NEED(KEY_OK(key, 256) && key, "key must be 1..255 bytes");
    EPH(once_abort, key, err);
}

int store_order_set_status(store *s, int64_t order_id, const char *status,
                           store_err *err)
{
    NEED(status && (!strcmp(status, "placed") || !strcmp(status, "shipped") ||
                    !strcmp(status, "delivered") || !strcmp(status, "cancelled")),
         "status must be placed, shipped, delivered or cancelled");
    DOC(order_set_status, order_id, status, err);
}

int store_memory_put(store *s, int64_t user_id, const char *ns,
                     const char *key, const char *json, store_err *err)
{
    NEED(user_id >= 0, "user id must not be negative");
    NEED(ns && *ns && key && *key && json, "namespace, key and json required");
    DOC(memory_put, user_id, ns, key, json, err);
}

int store_memory_get(store *s, int64_t user_id, const char *ns,
                     const char *key, char **json_out, store_err *err)
{
    NEED(user_id >= 0, "user id must not be negative");
    NEED(ns && key && json_out, "namespace, key and out required");
    DOC(memory_get, user_id, ns, key, json_out, err);
}

int store_memory_list(store *s, int64_t user_id, const char *ns,
                      char **json_out, store_err *err)
{
    NEED(user_id >= 0, "user id must not be negative");
    NEED(json_out, "out is NULL");
    DOC(memory_list, user_id, ns, json_out, err);
}

int store_memory_delete(store *s, int64_t user_id, const char *ns,
                        const char *key, store_err *err)
{
    NEED(user_id >= 0, "user id must not be negative");
    NEED(ns && key, "namespace and key required");
    DOC(memory_delete, user_id, ns, key, err);
}

int store_audit_append(store *s, const char *actor, const char *action,
                       const char *subject, const char *detail_json,
                       store_err *err)
{
    NEED(actor && action, "actor and action required");
    DOC(audit_append, actor, action, subject ? subject : "", detail_json,
        store_now_ms(s), err);
}

int store_audit_list(store *s, const char *actor, const char *subject,
                     int limit, char **json_out, store_err *err)
{
    NEED(json_out, "out is NULL");
    DOC(audit_list, actor, subject, limit > 0 ? limit : 100, json_out, err);
}

int store_token_put(store *s, const char *token_hash, const char *family,
                    int64_t user_id, int64_t expires_at, store_err *err)
{
    NEED(token_hash && *token_hash && family && *family && strlen(family) < 64,
         "token hash and family (<64) required");
    EPH(token_put, token_hash, family, user_id, expires_at, err);
}

int store_token_rotate(store *s, const char *old_hash, const char *new_hash,
                       int64_t new_expires_at, store_token *out,
                       store_err *err)
{
    NEED(old_hash && new_hash && *new_hash && strcmp(old_hash, new_hash),
         "two different token hashes required");
    EPH(token_rotate, old_hash, new_hash, new_expires_at, store_now_ms(s), out,
        err);
}

int store_token_revoke_family(store *s, const char *family, store_err *err)
{
    NEED(family, "family is NULL");
    EPH(token_revoke_family, family, err);
}

int store_ratelimit_take(store *s, const char *key, double rate, double burst,
                         int64_t now_ms, double *retry_after_s,
                         store_err *err)
{
    NEED(key && rate > 0 && burst >= 1, "key, rate > 0 and burst >= 1 required");
    EPH(ratelimit_take, key, rate, burst, now_ms, retry_after_s, err);
}

int store_event_publish(store *s, const char *channel, const char *msg,
                        size_t len, store_err *err)
{
    NEED(channel && *channel && (msg || !len), "channel and message required");
    EPH(event_publish, channel, msg, len, err);
}

int store_event_subscribe(store *s, const char *channel, store_event_fn fn,
                          void *ud, store_sub **out, store_err *err)
{
    NEED(channel && *channel && fn && out, "channel, fn and out required");
    *out = NULL;
    EPH(event_subscribe, channel, fn, ud, out, err);
}

void store_event_unsubscribe(store *s, store_sub *sub)
{
    if (s && sub && s->eph_ops->event_unsubscribe)
        s->eph_ops->event_unsubscribe(sub);
}

int store_counter_add(store *s, const char *key, int64_t delta,
                      int64_t *value_out, store_err *err)
{
    NEED(key, "key is NULL");
    EPH(counter_add, key, delta, value_out, err);
}
