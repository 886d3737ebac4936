/* stores/mongo/mongo_store.c — the document family on MongoDB: opening the
 * client pool and creating indexes, users, long-term memory and the audit
 * trail, and the helpers the catalog and commerce files share.  Persisted
 * documents are camelCase; every field is mapped by hand, never by name. */
#include "mongo_int.h"

#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- helpers ---------------- */

static int create_indexes(mg_call *c, const char *coll, bson_t *indexes,
                          store_err *err)
{
    mongoc_database_t *db = mongoc_client_get_database(c->client, c->b->db);
    bson_t cmd = BSON_INITIALIZER;
    bson_error_t e;
    int rc = 0;
    BSON_APPEND_UTF8(&cmd, "createIndexes", coll);
    BSON_APPEND_ARRAY(&cmd, "indexes", indexes);
    if (!mongoc_database_write_command_with_opts(db, &cmd, NULL, NULL, &e))
        rc = mg__err(&e, err, "create indexes");
    bson_destroy(&cmd);
    bson_destroy(indexes);
    mongoc_database_destroy(db);
    return rc;
}

/* Indexes are created at every start: createIndexes is a no-op for an
 * index that already exists with the same definition. */
static int ensure_indexes(mg_call *c, store_err *err)
{
    int rc;
    if ((rc = create_indexes(c, "users", BCON_NEW(
            "0", "{", "key", "{", "email", BCON_INT32(1), "}", "name", "email_unique",
            "unique", BCON_BOOL(true), "}"), err)) ||
        (rc = create_indexes(c, "products", BCON_NEW(
            "0", "{", "key", "{", "searchTitle", "text", "searchBrand", "text",
                "searchCategory", "text", "searchTags", "text",
                "searchDescription", "text", "}",
             "name", "search_text", "default_language", "english",
             "weights", "{", "searchTitle", BCON_INT32(10), "searchBrand", BCON_INT32(5),
                "searchCategory", BCON_INT32(5), "searchTags", BCON_INT32(3),
                "searchDescription", BCON_INT32(1), "}", "}",
            "1", "{", "key", "{", "category", BCON_INT32(1), "price", BCON_INT32(1), "}",
                "name", "category_price", "}",
            "2", "{", "key", "{", "brandLower", BCON_INT32(1), "}", "name", "brand", "}",
            "3", "{", "key", "{", "price", BCON_INT32(1), "}", "name", "price", "}",
            "4", "{", "key", "{", "rating", BCON_INT32(-1), "sku", BCON_INT32(1), "}",
                "name", "rating", "}"), err)) ||
        (rc = create_indexes(c, "orders", BCON_NEW(
            "0", "{", "key", "{", "userId", BCON_INT32(1), "idempotencyKey", BCON_INT32(1),
                "}", "name", "user_idempotency", "unique", BCON_BOOL(true), "}",
            "1", "{", "key", "{", "userId", BCON_INT32(1), "_id", BCON_INT32(-1), "}",
                "name", "user_newest", "}",
            /* the refunds cancelled orders still owe (sparse: most have none) */
            "2", "{", "key", "{", "refundStatus", BCON_INT32(1), "}",
                "name", "refund_status", "sparse", BCON_BOOL(true), "}"), err)) ||
        (rc = create_indexes(c, "memory", BCON_NEW(
            "0", "{", "key", "{", "userId", BCON_INT32(1), "ns", BCON_INT32(1),
                "key", BCON_INT32(1), "}", "name", "user_ns_key", "unique",
                BCON_BOOL(true), "}"), err)) ||
        (rc = create_indexes(c, "audit", BCON_NEW(
            "0", "{", "key", "{", "time", BCON_INT32(-1), "}", "name", "time", "}",
            "1", "{", "key", "{", "actor", BCON_INT32(1), "time", BCON_INT32(-1), "}",
                "name", "actor_time", "}",
            "2", "{", "key", "{", "subject", BCON_INT32(1), "time", BCON_INT32(-1), "}",
                "name", "subject_time", "}"), err)))
        return rc;
    return 0;
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static void driver_init(void)
{
    mongoc_init();
}

static void mg_close(void *vb)
{
    mg *b = vb;
    if (!b)
        return;
    if (b->pool)
        mongoc_client_pool_destroy(b->pool);
    if (b->uri)
        mongoc_uri_destroy(b->uri);
    store__lex_free(&b->lex);
    pthread_mutex_destroy(&b->vmu);
    free(b);
}

static int mg_open(const store_config *cfg, const store *owner, void **out,
                   store_err *err)
{
    mg *b;
    mg_call c;
    bson_error_t e;
    bson_t reply, *cmd;
    bson_iter_t it;
    const char *dbn;
    int rc;
    pthread_once(&init_once, driver_init);
    if (!cfg->mongo_uri || !*cfg->mongo_uri)
        return store__fail(err, STORE_ECONFIG, "no MongoDB URI (set AISLE_MONGO_URI,"
                           " e.g. mongodb://127.0.0.1:27017/aisle)");
    if (!(b = calloc(1, sizeof *b)))
        return store__fail(err, STORE_ENOMEM, "out of memory");
    pthread_mutex_init(&b->vmu, NULL);
    store__lex_init(&b->lex);
    b->owner = owner;
    if (!(b->uri = mongoc_uri_new_with_error(cfg->mongo_uri, &e))) {
        mg_close(b);
        return store__fail(err, STORE_ECONFIG, "bad MongoDB URI: %s", e.message);
    }
    /* a down server must fail a call in seconds, not the 30 s default */
    if (!mongoc_uri_has_option(b->uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS))
        mongoc_uri_set_option_as_int32(b->uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, 3000);
    dbn = mongoc_uri_get_database(b->uri);
    snprintf(b->db, sizeof b->db, "%s", dbn && *dbn ? dbn : "aisle");
    if (!(b->pool = mongoc_client_pool_new(b->uri))) {
        mg_close(b);
        return store__fail(err, STORE_ECONFIG, "MongoDB client pool could not start");
    }
    mongoc_client_pool_set_error_api(b->pool, MONGOC_ERROR_API_VERSION_2);
    mongoc_client_pool_set_appname(b->pool, "aisle");
    mongoc_client_pool_max_size(b->pool, (uint32_t)(cfg->pool_size > 0 ? cfg->pool_size : 8));
    mg__begin(b, &c);
    cmd = BCON_NEW("hello", BCON_INT32(1));
    if (!mongoc_client_command_simple(c.client, "admin", cmd, NULL, &reply, &e)) {
        rc = mg__err(&e, err, "hello");
    } else {
        /* transactions need a replica set or a sharded cluster */
        b->txn = bson_iter_init_find(&it, &reply, "setName") ||
                 (mg__str(&reply, "msg") && !strcmp(mg__str(&reply, "msg"), "isdbgrid"));
        rc = ensure_indexes(&c, err);
    }
    bson_destroy(&reply);
    bson_destroy(cmd);
    mg__end(&c);
    if (rc == 0 && cfg->synonyms_path)
        rc = store__lex_load_synonyms(&b->lex, cfg->synonyms_path, err);
    if (rc) {
        mg_close(b);
        return rc;
    }
    *out = b;
    return 0;
}

static int mg_ping(void *vb, store_err *err)
{
    mg_call c;
    bson_error_t e;
    bson_t *cmd = BCON_NEW("ping", BCON_INT32(1));
    int rc = 0;
    mg__begin(vb, &c);
    if (!mongoc_client_command_simple(c.client, "admin", cmd, NULL, NULL, &e))
        rc = mg__err(&e, err, "ping");
    mg__end(&c);
    bson_destroy(cmd);
    return rc;
}

/* ---------------- users ---------------- */

static int mg_user_create(void *vb, const char *email, const char *hash,
                          const char *name, int64_t *id, store_err *err)
{
    mg_call c;
    mongoc_collection_t *col;
    char low[256];
    int64_t uid = 0;
    bson_error_t e;
    bson_t *doc;
    int rc;
    snprintf(low, sizeof low, "%s", email);
    for (char *p = low; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    mg__begin(vb, &c);
    if ((rc = mg__next_id(&c, "users", &uid, err)) != 0) {
        mg__end(&c);
        return rc;
    }
    col = mg__coll(&c, "users");
    doc = BCON_NEW("_id", BCON_INT64(uid), "email", BCON_UTF8(low), "name", BCON_UTF8(name),
                   "passwordHash", BCON_UTF8(hash),
                   "createdAt", BCON_INT64(store_now_ms(((mg *)vb)->owner)));
    if (!mongoc_collection_insert_one(col, doc, NULL, NULL, &e))
        rc = mg__is_dup(&e) ? store__fail(err, STORE_EEXIST, "email already registered")
                            : mg__err(&e, err, "user create");
    else if (id)
        *id = uid;
    bson_destroy(doc);
    mongoc_collection_destroy(col);
    mg__end(&c);
    return rc;
}

static int mg_user_get(void *vb, int64_t id, const char *email, store_user *out,
                       store_err *err)
{
    mg_call c;
    mongoc_collection_t *col;
    mongoc_cursor_t *cur;
    const bson_t *d;
    bson_error_t e;
    bson_t *q;
    char low[256];
    int rc;
    if (email) {
        snprintf(low, sizeof low, "%s", email);
        for (char *p = low; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
        q = BCON_NEW("email", BCON_UTF8(low));
    } else {
        q = BCON_NEW("_id", BCON_INT64(id));
    }
    mg__begin(vb, &c);
    col = mg__coll(&c, "users");
    cur = mongoc_collection_find_with_opts(col, q, NULL, NULL);
    if (mongoc_cursor_next(cur, &d)) {
        memset(out, 0, sizeof *out);
        out->id = (int64_t)mg__num(d, "_id");
        snprintf(out->email, sizeof out->email, "%s", mg__str(d, "email") ? mg__str(d, "email") : "");
        snprintf(out->name, sizeof out->name, "%s", mg__str(d, "name") ? mg__str(d, "name") : "");
        snprintf(out->password_hash, sizeof out->password_hash, "%s",
                 mg__str(d, "passwordHash") ? mg__str(d, "passwordHash") : "");
        out->created_at = (int64_t)mg__num(d, "createdAt");
        rc = 0;
    } else if (mongoc_cursor_error(cur, &e)) {
        rc = mg__err(&e, err, "user get");
    } else {
        rc = store__fail(err, STORE_ENOTFOUND, "no such user");
    }
    mongoc_cursor_destroy(cur);
    mongoc_collection_destroy(col);
    mg__end(&c);
    bson_destroy(q);
    return rc;
}

/* ---------------- memory ---------------- */

/* Run one write on a collection: op 'u' update_one (upsert when up), 'd'
 * delete_one/many.  *n gets matched/deleted count when not NULL. */
static int write_one(mg *b, const char *coll, char op, bson_t *q, bson_t *u,
                     int up, int64_t *n, store_err *err, const char *what)
{
    mg_call c;
    mongoc_collection_t *col;
    bson_error_t e;
    bson_t reply, *opts = up ? BCON_NEW("upsert", BCON_BOOL(true)) : NULL;
    bool ok;
    int rc = 0;
    mg__begin(b, &c);
    col = mg__coll(&c, coll);
    ok = op == 'u' ? mongoc_collection_update_one(col, q, u, opts, &reply, &e)
                   : mongoc_collection_delete_many(col, q, NULL, &reply, &e);
    if (!ok)
        rc = mg__err(&e, err, what);
    else if (n)
        *n = mg__reply_int(&reply, op == 'u' ? "matchedCount" : "deletedCount");
    bson_destroy(&reply);
    mongoc_collection_destroy(col);
    mg__end(&c);
    if (opts)
        bson_destroy(opts);
    bson_destroy(q);
    if (u)
        bson_destroy(u);
    return rc;
}

static int mg_memory_put(void *vb, int64_t user, const char *ns, const char *key,
                         const char *json, store_err *err)
{
    int rc = store__check_json(json, "value", err);
    if (rc)
        return rc;
    return write_one(vb, "memory", 'u',
                     BCON_NEW("userId", BCON_INT64(user), "ns", BCON_UTF8(ns),
                              "key", BCON_UTF8(key)),
                     BCON_NEW("$set", "{", "value", BCON_UTF8(json), "updatedAt",
                              BCON_INT64(store_now_ms(((mg *)vb)->owner)), "}"),
                     1, NULL, err, "memory put");
}

static int mg_memory_delete(void *vb, int64_t user, const char *ns,
                            const char *key, store_err *err)
{
    return write_one(vb, "memory", 'd',
                     BCON_NEW("userId", BCON_INT64(user), "ns", BCON_UTF8(ns),
                              "key", BCON_UTF8(key)),
                     NULL, 0, NULL, err, "memory delete");
}

/* Shared by memory get (one key) and list (a namespace or all). */
static int memory_find(mg *b, int64_t user, const char *ns, const char *key,
                       char **out, store_err *err)
{
    mg_call c;
    mongoc_collection_t *col;
    mongoc_cursor_t *cur;
    const bson_t *d;
    bson_error_t e;
    bson_t *q = BCON_NEW("userId", BCON_INT64(user));
    bson_t *opts = BCON_NEW("sort", "{", "ns", BCON_INT32(1), "key", BCON_INT32(1), "}");
    json_object *all = json_object_new_object();
    int rc = 0, found = 0;
    if (ns)
        BSON_APPEND_UTF8(q, "ns", ns);
    if (key)
        BSON_APPEND_UTF8(q, "key", key);
    mg__begin(b, &c);
    col = mg__coll(&c, "memory");
    cur = mongoc_collection_find_with_opts(col, q, opts, NULL);
    while (mongoc_cursor_next(cur, &d)) {
        const char *dns = mg__str(d, "ns"), *dk = mg__str(d, "key");
        const char *v = mg__str(d, "value");
        json_object *nso;
        found = 1;
        if (key) {
            *out = strdup(v ? v : "null");
            break;
        }
        if (ns) {
            json_object_object_add(all, dk ? dk : "", store__json_or_string(v));
            continue;
        }
        if (!json_object_object_get_ex(all, dns ? dns : "", &nso)) {
            nso = json_object_new_object();
            json_object_object_add(all, dns ? dns : "", nso);
        }
        json_object_object_add(nso, dk ? dk : "", store__json_or_string(v));
    }
    if (mongoc_cursor_error(cur, &e))
        rc = mg__err(&e, err, "memory");
    mongoc_cursor_destroy(cur);
    mongoc_collection_destroy(col);
    mg__end(&c);
    bson_destroy(q);
    bson_destroy(opts);
    if (!rc && key && !found)
        rc = store__fail(err, STORE_ENOTFOUND, "no such memory key");
    if (!rc && !key)
        *out = strdup(json_object_to_json_string_ext(all, JSON_C_TO_STRING_PLAIN));
    json_object_put(all);
    if (!rc && !*out)
        rc = store__fail(err, STORE_ENOMEM, "out of memory");
    return rc;
}

static int mg_memory_get(void *vb, int64_t user, const char *ns, const char *key,
                         char **out, store_err *err)
{
    *out = NULL;
    return memory_find(vb, user, ns, key, out, err);
}

static int mg_memory_list(void *vb, int64_t user, const char *ns, char **out,
                          store_err *err)
{
    *out = NULL;
    return memory_find(vb, user, ns, NULL, out, err);
}

/* ---------------- audit ---------------- */

static int mg_audit_append(void *vb, const char *actor, const char *action,
                           const char *subject, const char *detail, int64_t now,
                           store_err *err)
{
    mg_call c;
    mongoc_collection_t *col;
    bson_error_t e;
    bson_t *doc = BCON_NEW("time", BCON_INT64(now), "actor", BCON_UTF8(actor),
                           "action", BCON_UTF8(action), "subject", BCON_UTF8(subject));
    int rc = 0;
    mg__append_opt(doc, "detail", detail);
    mg__begin(vb, &c);
    col = mg__coll(&c, "audit");
    if (!mongoc_collection_insert_one(col, doc, NULL, NULL, &e))
        rc = mg__err(&e, err, "audit append");
    mongoc_collection_destroy(col);
    mg__end(&c);
    bson_destroy(doc);
    return rc;
}

static int mg_audit_list(void *vb, const char *actor, const char *subject,
                         int limit, char **out, store_err *err)
{
    mg_call c;
    mongoc_collection_t *col;
    mongoc_cursor_t *cur;
    const bson_t *d;
    bson_error_t e;
    bson_t *q = bson_new();
    bson_t *opts = BCON_NEW("sort", "{", "time", BCON_INT32(-1), "_id", BCON_INT32(-1), "}",
                            "limit", BCON_INT64(limit));
    json_object *a = json_object_new_array();
    int rc = 0;
    if (actor)
        BSON_APPEND_UTF8(q, "actor", actor);
    if (subject)
        BSON_APPEND_UTF8(q, "subject", subject);
    mg__begin(vb, &c);
    col = mg__coll(&c, "audit");
    cur = mongoc_collection_find_with_opts(col, q, opts, NULL);
    while (mongoc_cursor_next(cur, &d)) {
        json_object *ev = json_object_new_object();
        bson_iter_t it;
        char oid[25] = "";
        if (bson_iter_init_find(&it, d, "_id") && BSON_ITER_HOLDS_OID(&it))
            bson_oid_to_string(bson_iter_oid(&it), oid);
        json_object_object_add(ev, "id", json_object_new_string(oid));
        json_object_object_add(ev, "time", json_object_new_int64((int64_t)mg__num(d, "time")));
        json_object_object_add(ev, "actor", json_object_new_string(mg__str(d, "actor") ? mg__str(d, "actor") : ""));
        json_object_object_add(ev, "action", json_object_new_string(mg__str(d, "action") ? mg__str(d, "action") : ""));
        json_object_object_add(ev, "subject", json_object_new_string(mg__str(d, "subject") ? mg__str(d, "subject") : ""));
        json_object_object_add(ev, "detail", store__json_or_string(mg__str(d, "detail")));
        json_object_array_add(a, ev);
    }
    if (mongoc_cursor_error(cur, &e))
        rc = mg__err(&e, err, "audit list");
    mongoc_cursor_destroy(cur);
    mongoc_collection_destroy(col);
    mg__end(&c);
    bson_destroy(q);
    bson_destroy(opts);
    if (!rc && !(*out = strdup(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN))))
        rc = store__fail(err, STORE_ENOMEM, "out of memory");
    json_object_put(a);
    return rc;
}

const store__ops store__mongo_ops = {
    .name = "mongo",
    .open = mg_open,
    .close = mg_close,
    .ping = mg_ping,
    .user_create = mg_user_create,
    .user_get = mg_user_get,
    .product_upsert_many = mg__product_upsert_many,
    .product_get = mg__product_get,
    .product_delete = mg__product_delete,
    .product_count = mg__product_count,
    .product_each = mg__product_each,
    .search = mg__search,
    .cart_get = mg__cart_get,
    .cart_set_qty = mg__cart_set_qty,
    .cart_clear = mg__cart_clear,
    .cart_merge = mg__cart_merge,
    .order_create = mg__order_create,
    .order_get = mg__order_get,
    .order_list = mg__order_list,
    .order_cancel = mg__order_cancel,
    .order_set_status = mg__order_set_status,
    .cart_apply = mg__cart_apply,
    .order_place = mg__order_place,
    .order_cancel_audited = mg__order_cancel_audited,
    .order_refund_set = mg__order_refund_set,
    .order_refunds_pending = mg__order_refunds_pending,
    .memory_put = mg_memory_put,
    .memory_get = mg_memory_get,
    .memory_list = mg_memory_list,
    .memory_delete = mg_memory_delete,
    .audit_append = mg_audit_append,
    .audit_list = mg_audit_list,
};
