/* stores/sqlite/sqlite_docs.c — the small stores on SQLite: users, memory,
 * audit trail, sessions and cache (kv), conversation history, refresh
 * tokens, rate-limit buckets and counters.  Every write that reads first
 * runs in one BEGIN IMMEDIATE transaction so concurrent callers serialise. */
#include "stores/sqlite/sqlite_int.h"

#include <ctype.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static int64_t now_ms(const sq *b)
{
    struct timeval tv;
    if (b->cfg.clock)
        return b->cfg.clock(b->cfg.clock_ud);
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Common shape of a call: borrow a connection, prepare, run, give back. */
#define WITH_CONN(b, c, err)                                               \
    sq_conn *c;                                                            \
    int rc_ = sq__acquire((b), &c, (err));                                 \
    if (rc_)                                                               \
        return rc_

#define PREP(st, c, sql, err, out)                                         \
    if (!((st) = sq__prep((c), (sql), (err)))) {                           \
        rc = (err) ? (err)->code : STORE_EIO;                              \
        goto out;                                                          \
    }

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

static int json_out(json_object *o, char **out, store_err *err)
{
    *out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return *out ? 0 : store__fail(err, STORE_ENOMEM, "out of memory");
}

/* JSON text stored as a value; parse back so lists hold real values. */
static json_object *parse_or_string(const char *t)
{
    json_object *v = t ? json_tokener_parse(t) : NULL;
    if (!v && t && strcmp(t, "null") != 0)
        v = json_object_new_string(t);
    return v;
}

static int check_json(const char *json, store_err *err)
{
    json_object *v;
    if (!strcmp(json, "null"))
        return 0;
    if (!(v = json_tokener_parse(json)))
        return store__fail(err, STORE_EINVAL, "value is not valid JSON");
    json_object_put(v);
    return 0;
}

/* ---------------- users ---------------- */

int sq__user_create(void *vb, const char *email, const char *hash,
                    const char *name, int64_t *id, store_err *err)
{
    sq *b = vb;
    sqlite3_stmt *st;
    char low[256];
    int rc = 0, r;
    size_t i;
    WITH_CONN(b, c, err);
    for (i = 0; email[i] && i + 1 < sizeof low; i++)
        low[i] = (char)tolower((unsigned char)email[i]);
    low[i] = '\0';
    PREP(st, c, "INSERT INTO users(email, name, password_hash, created_at)"
                " VALUES(?, ?, ?, ?)", err, out);
    bind_text(st, 1, low);
    bind_text(st, 2, name);
    bind_text(st, 3, hash);
    sqlite3_bind_int64(st, 4, now_ms(b));
    r = sqlite3_step(st);
    if (r == SQLITE_CONSTRAINT)
        rc = store__fail(err, STORE_EEXIST, "a user with e-mail %s exists", low);
    else if (r != SQLITE_DONE)
        rc = sq__err(c, r, err, "create user");
    else if (id)
        *id = sqlite3_last_insert_rowid(c->db);
    sqlite3_reset(st);
out:
    sq__release(b, c);
    return rc;
}

int sq__user_get(void *vb, int64_t id, const char *email, store_user *u,
                 store_err *err)
{
    sq *b = vb;
    sqlite3_stmt *st;
    int rc = 0, r;
    WITH_CONN(b, c, err);
    if (email) {
        PREP(st, c, "SELECT id, email, name, password_hash, created_at FROM"
                    " users WHERE email = lower(?)", err, out);
        bind_text(st, 1, email);
    } else {
        PREP(st, c, "SELECT id, email, name, password_hash, created_at FROM"
                    " users WHERE id = ?", err, out);
        sqlite3_bind_int64(st, 1, id);
    }
    r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        memset(u, 0, sizeof *u);
        u->id = sqlite3_column_int64(st, 0);
        snprintf(u->email, sizeof u->email, "%s", sqlite3_column_text(st, 1));
        snprintf(u->name, sizeof u->name, "%s", sqlite3_column_text(st, 2));
        snprintf(u->password_hash, sizeof u->password_hash, "%s",
                 sqlite3_column_text(st, 3));
        u->created_at = sqlite3_column_int64(st, 4);
    } else if (r == SQLITE_DONE) {
        rc = store__fail(err, STORE_ENOTFOUND, "no such user");
    } else {
        rc = sq__err(c, r, err, "get user");
    }
    sqlite3_reset(st);
out:
    sq__release(b, c);
    return rc;
}

/* ---------------- memory ---------------- */

int sq__memory_put(void *vb, int64_t user, const char *ns, const char *key,
                   const char *json, store_err *err)
{
    sq *b = vb;
    sqlite3_stmt *st;
    int rc, r;
    if ((rc = check_json(json, err)) != 0)
        return rc;
    WITH_CONN(b, c, err);
    PREP(st, c, "INSERT INTO memory(user_id, ns, key, value, updated_at)"
                " VALUES(?, ?, ?, ?, ?) ON CONFLICT(user_id, ns, key)"
                " DO UPDATE SET value = excluded.value,"
                " updated_at = excluded.updated_at", err, out);
    sqlite3_bind_int64(st, 1, user);
    bind_text(st, 2, ns);
    bind_text(st, 3, key);
    bind_text(st, 4, json);
    sqlite3_bind_int64(st, 5, now_ms(b));
    if ((r = sqlite3_step(st)) != SQLITE_DONE)
        rc = sq__err(c, r, err, "memory put");
    sqlite3_reset(st);
out:
    sq__release(b, c);
    return rc;
}

int sq__memory_get(void *vb, int64_t user, const char *ns, const char *key,
                   char **outp, store_err *err)
{
    sq *b = vb;
    sqlite3_stmt *st;
    int rc = 0, r;
    WITH_CONN(b, c, err);
    PREP(st, c, "SELECT value FROM memory WHERE user_id = ? AND ns = ?"
                " AND key = ?", err, out);
    sqlite3_bind_int64(st, 1, user);
    bind_text(st, 2, ns);
    bind_text(st, 3, key);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        rc = (*outp = sq__text_dup(st, 0)) ? 0 : store__fail(err, STORE_ENOMEM, "oom");
    else if (r == SQLITE_DONE)
        rc = store__fail(err, STORE_ENOTFOUND, "no memory %s/%s", ns, key);
    else
        rc = sq__err(c, r, err, "memory get");
    sqlite3_reset(st);
out:
    sq__release(b, c);
    return rc;
}

int sq__memory_list(void *vb, int64_t user, const char *ns, char **outp,
                    store_err *err)
{
    sq *b = vb;
    sqlite3_stmt *st;
    json_object *o = json_object_new_object();
    int rc = 0, r;
    WITH_CONN(b, c, err);
    PREP(st, c, "SELECT ns, key, value FROM memory WHERE user_id = ?1"
                " AND (?2 IS NULL OR ns = ?2) ORDER BY ns, key", err, out);
    sqlite3_bind_int64(st, 1, user);
    bind_text(st, 2, ns);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        const char *n = (const char *)sqlite3_column_text(st, 0);
        const char *k = (const char *)sqlite3_column_text(st, 1);
        json_object *v = parse_or_string((const char *)sqlite3_column_text(st, 2));
        json_object *dst = o;
        if (!ns && !json_object_object_get_ex(o, n, &dst)) {
            dst = json_object_new_object();
            json_object_object_add(o, n, dst);
        }
        json_object_object_add(dst, k, v);
    }
    if (r != SQLITE_DONE)
        rc = sq__err(c, r, err, "memory list");
    sqlite3_reset(st);
out:
    sq__release(b, c);
    if (rc) {
        json_object_put(o);
        return rc;
    }
    return json_out(o, outp, err);
}

int sq__memory_delete(void *vb, int64_t user, const char *ns, const char *key,
                      store_err *err)
{
    sq *b = vb;
    sqlite3_stmt *st;
    int rc = 0, r;
    WITH_CONN(b, c, err);
    PREP(st, c, "DELETE FROM memory WHERE user_id = ? AND ns = ? AND key = ?",
         err, out);
    sqlite3_bind_int64(st, 1, user);
    bind_text(st, 2, ns);
    bind_text(st, 3, key);
    if ((r = sqlite3_step(st)) != SQLITE_DONE)
        rc = sq__err(c, r, err, "memory delete");
    sqlite3_reset(st);
out:
    sq__release(b, c);
    return rc;
}

/* ---------------- audit ---------------- */

int sq__audit_append(void *vb, const char *actor, const char *action,
                     const char *subject, const char *detail, int64_t now,
                     store_err *err)
{
    sq *b = vb;
    sqlite3_stmt *st;
    int rc = 0, r;
    if (detail && (rc = check_json(detail, err)) != 0)
        return rc;
    WITH_CONN(b, c, err);
    PREP(st, c, "INSERT INTO audit(at, actor, action, subject, detail)"
                " VALUES(?, ?, ?, ?, ?)", err, out);
    sqlite3_bind_int64(st, 1, now);
    bind_text(st, 2, actor);
    bind_text(st, 3, action);
    bind_text(st, 4, subject);
    bind_text(st, 5, detail);
    if ((r = sqlite3_step(st)) != SQLITE_DONE)
        rc = sq__err(c, r, err, "audit append");
    sqlite3_reset(st);
out:
    sq__release(b, c);
    return rc;
}

int sq__audit_list(void *vb, const char *actor, const char *subject, int limit,
                   char **outp, store_err *err)
{
    sq *b = vb;
    sqlite3_stmt *st;
    json_object *a = json_object_new_array();
    int rc = 0, r;
    WITH_CONN(b, c, err);
    PREP(st, c, "SELECT id, at, actor, action, subject, detail FROM audit"
                " WHERE (?1 IS NULL OR actor = ?1) AND (?2 IS NULL OR"
                " subject = ?2) ORDER BY id DESC LIMIT ?3", err, out);
    bind_text(st, 1, actor);
    bind_text(st, 2, subject);
    sqlite3_bind_int(st, 3, limit);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        json_object *e = json_object_new_object();
        json_object_object_add(e, "id", json_object_new_int64(sqlite3_column_int64(st, 0)));
        json_object_object_add(e, "time", json_object_new_int64(sqlite3_column_int64(st, 1)));
        json_object_object_add(e, "actor", json_object_new_string((const char *)sqlite3_column_text(st, 2)));
        json_object_object_add(e, "action", json_object_new_string((const char *)sqlite3_column_text(st, 3)));
        json_object_object_add(e, "subject", json_object_new_string((const char *)sqlite3_column_text(st, 4)));
        json_object_object_add(e, "detail", parse_or_string((const char *)sqlite3_column_text(st, 5)));
        json_object_array_add(a, e);
    }
    if (r != SQLITE_DONE)
        rc = sq__err(c, r, err, "audit list");
    sqlite3_reset(st);
out:
    sq__release(b, c);
    if (rc) {
        json_object_put(a);
        return rc;
    }
    return json_out(a, outp, err);
}

/* ---------------- sessions, cache ---------------- */

int sq__kv_put(void *vb, int kind, const char *key, const char *val,
               int64_t expires_at, store_err *err)
{
    sq *b = vb;
    sqlite3_stmt *st;
    int rc = 0, r;
    WITH_CONN(b, c, err);
    /* the write and its compaction share one commit */
    if ((rc = sq__begin(c, err)) != 0)
        goto out;
    PREP(st, c, "INSERT INTO kv(kind, key, value, expires_at) VALUES(?,?,?,?)"
                " ON CONFLICT(kind, key) DO UPDATE SET value = excluded.value,"
                " expires_at = excluded.expires_at", err, out);
    sqlite3_bind_int(st, 1, kind);
    bind_text(st, 2, key);
    bind_text(st, 3, val);
    sqlite3_bind_int64(st, 4, expires_at);
    if ((r = sqlite3_step(st)) != SQLITE_DONE)
        rc = sq__err(c, r, err, "put");
    sqlite3_reset(st);
    /* compaction: a few expired rows go with every write, so the table
     * stays bounded without a sweeper thread */
    if (!rc && (st = sq__prep(c, "DELETE FROM kv WHERE rowid IN (SELECT rowid"
                                 " FROM kv WHERE expires_at < ? LIMIT 16)", NULL))) {
        sqlite3_bind_int64(st, 1, now_ms(b));
        sqlite3_step(st);
        sqlite3_reset(st);
    }
    if (!rc)
        rc = sq__commit(c, err);
out:
    sq__rollback(c); /* a no-op after the commit; undoes a half-done put */
    sq__release(b, c);
    return rc;
}

int sq__kv_get(void *vb, int kind, const char *key, int64_t now, char **outp,
               store_err *err)
{
    sq *b = vb;
    sqlite3_stmt *st;
    int rc = 0, r;
    WITH_CONN(b, c, err);
    PREP(st, c, "SELECT value FROM kv WHERE kind = ? AND key = ?"
                " AND expires_at > ?", err, out);
    sqlite3_bind_int(st, 1, kind);
    bind_text(st, 2, key);
    sqlite3_bind_int64(st, 3, now);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        rc = (*outp = sq__text_dup(st, 0)) ? 0 : store__fail(err, STORE_ENOMEM, "oom");
    else if (r == SQLITE_DONE)
        rc = store__fail(err, STORE_ENOTFOUND, "no such key (or expired)");
    else
        rc = sq__err(c, r, err, "get");
    sqlite3_reset(st);
out:
    sq__release(b, c);
    return rc;
}

int sq__kv_delete(void *vb, int kind, const char *key, store_err *err)
{
    sq *b = vb;
    sqlite3_stmt *st;
    int rc = 0, r;
    WITH_CONN(b, c, err);
    PREP(st, c, "DELETE FROM kv WHERE kind = ? AND key = ?", err, out);
    sqlite3_bind_int(st, 1, kind);
    bind_text(st, 2, key);
    if ((r = sqlite3_step(st)) != SQLITE_DONE)
        rc = sq__err(c, r, err, "delete");
    sqlite3_reset(st);
    if (!rc && kind == STORE__KV_SESSION &&
        (st = sq__prep(c, "DELETE FROM history WHERE sid = ?", err))) {
        bind_text(st, 1, key);
        sqlite3_step(st);
        sqlite3_reset(st);
    }
out:
    sq__release(b, c);
    return rc;
}

static int step_done(sq_conn *c, sqlite3_stmt *st, store_err *err,
                     const char *what)
{
    int r = sqlite3_step(st);
    sqlite3_reset(st);
    return r == SQLITE_DONE || r == SQLITE_ROW ? 0 : sq__err(c, r, err, what);
}

int sq__history_append(void *vb, const char *sid, const char *turn, int window,
                       int64_t expires_at, store_err *err)
{
    sq *b = vb;
    sqlite3_stmt *st;
    int rc;
    if ((rc = check_json(turn, err)) != 0)
        return rc;
    WITH_CONN(b, c, err);
    if ((rc = sq__begin(c, err)) != 0)
        goto out;
    /* an expired history starts over rather than resurrecting old turns */
    PREP(st, c, "DELETE FROM history WHERE sid = ? AND expires_at <= ?", err, out);
    bind_text(st, 1, sid);
    sqlite3_bind_int64(st, 2, now_ms(b));
    if ((rc = step_done(c, st, err, "history")) != 0)
        goto out;
    PREP(st, c, "INSERT INTO history(sid, seq, turn, expires_at) VALUES(?1,"
                " (SELECT coalesce(max(seq), 0) + 1 FROM history WHERE sid = ?1),"
                " ?2, ?3)", err, out);
    bind_text(st, 1, sid);
    bind_text(st, 2, turn);
    sqlite3_bind_int64(st, 3, expires_at);
    if ((rc = step_done(c, st, err, "history append")) != 0)
        goto out;
    PREP(st, c, "DELETE FROM history WHERE sid = ?1 AND seq <= (SELECT"
                " max(seq) FROM history WHERE sid = ?1) - ?2", err, out);
    bind_text(st, 1, sid);
    sqlite3_bind_int(st, 2, window);
    if ((rc = step_done(c, st, err, "history window")) != 0)
        goto out;
    PREP(st, c, "UPDATE history SET expires_at = ?2 WHERE sid = ?1", err, out);
    bind_text(st, 1, sid);
    sqlite3_bind_int64(st, 2, expires_at);
    if ((rc = step_done(c, st, err, "history ttl")) != 0)
        goto out;
    rc = sq__commit(c, err);
out:
    sq__rollback(c);
    sq__release(b, c);
    return rc;
}

int sq__history_get(void *vb, const char *sid, int64_t now, char **outp,
                    store_err *err)
{
    sq *b = vb;
    sqlite3_stmt *st;
    json_object *a = json_object_new_array();
    int rc = 0, r;
    WITH_CONN(b, c, err);
    PREP(st, c, "SELECT turn FROM history WHERE sid = ? AND expires_at > ?"
                " ORDER BY seq", err, out);
    bind_text(st, 1, sid);
    sqlite3_bind_int64(st, 2, now);
    while ((r = sqlite3_step(st)) == SQLITE_ROW)
        json_object_array_add(a, parse_or_string((const char *)sqlite3_column_text(st, 0)));
    if (r != SQLITE_DONE)
        rc = sq__err(c, r, err, "history");
    sqlite3_reset(st);
out:
    sq__release(b, c);
    if (rc) {
        json_object_put(a);
        return rc;
    }
    return json_out(a, outp, err);
}

/* ---------------- refresh tokens ---------------- */

int sq__token_put(void *vb, const char *hash, const char *family, int64_t user,
                  int64_t expires_at, store_err *err)
{
    sq *b = vb;
    sqlite3_stmt *st;
    int rc = 0, r;
    WITH_CONN(b, c, err);
    PREP(st, c, "INSERT INTO tokens(hash, family, user_id, expires_at)"
                " VALUES(?, ?, ?, ?)", err, out);
    bind_text(st, 1, hash);
    bind_text(st, 2, family);
    sqlite3_bind_int64(st, 3, user);
    sqlite3_bind_int64(st, 4, expires_at);
    r = sqlite3_step(st);
    if (r == SQLITE_CONSTRAINT)
        rc = store__fail(err, STORE_EEXIST, "token hash already stored");
    else if (r != SQLITE_DONE)
        rc = sq__err(c, r, err, "token put");
    sqlite3_reset(st);
out:
    sq__release(b, c);
    return rc;
}

static int revoke(sq_conn *c, const char *family, store_err *err)
{
    sqlite3_stmt *st = sq__prep(c, "UPDATE tokens SET revoked = 1 WHERE"
                                   " family = ?", err);
    if (!st)
        return err ? err->code : STORE_EIO;
    bind_text(st, 1, family);
    return step_done(c, st, err, "revoke");
}

int sq__token_rotate(void *vb, const char *old_hash, const char *new_hash,
                     int64_t new_expires, int64_t now, store_token *tok,
                     store_err *err)
{
    sq *b = vb;
    sqlite3_stmt *st;
    store_token t;
    int rc, r, used, revoked;
    WITH_CONN(b, c, err);
    if ((rc = sq__begin(c, err)) != 0)
        goto out;
    PREP(st, c, "SELECT family, user_id, expires_at, used, revoked FROM tokens"
                " WHERE hash = ?", err, out);
    bind_text(st, 1, old_hash);
    r = sqlite3_step(st);
    if (r != SQLITE_ROW) {
        rc = r == SQLITE_DONE ? store__fail(err, STORE_ENOTFOUND, "unknown refresh token")
                              : sq__err(c, r, err, "token");
        sqlite3_reset(st);
        goto out;
    }
    memset(&t, 0, sizeof t);
    snprintf(t.family, sizeof t.family, "%s", sqlite3_column_text(st, 0));
    t.user_id = sqlite3_column_int64(st, 1);
    t.expires_at = sqlite3_column_int64(st, 2);
    used = sqlite3_column_int(st, 3);
    revoked = sqlite3_column_int(st, 4);
    sqlite3_reset(st);
    if (revoked) {
        rc = store__fail(err, STORE_EREVOKED, "refresh token family revoked");
        goto out;
    }
    if (used) {
        /* reuse of a rotated token means it leaked: end the whole family */
        if ((rc = revoke(c, t.family, err)) == 0 && (rc = sq__commit(c, err)) == 0)
            rc = store__fail(err, STORE_EREVOKED,
                             "refresh token reused; family revoked");
        goto out;
    }
    if (t.expires_at <= now) {
        rc = store__fail(err, STORE_EEXPIRED, "refresh token expired");
        goto out;
    }
    PREP(st, c, "UPDATE tokens SET used = 1 WHERE hash = ?", err, out);
    bind_text(st, 1, old_hash);
    if ((rc = step_done(c, st, err, "rotate")) != 0)
        goto out;
    PREP(st, c, "INSERT INTO tokens(hash, family, user_id, expires_at)"
                " VALUES(?, ?, ?, ?)", err, out);
    bind_text(st, 1, new_hash);
    bind_text(st, 2, t.family);
    sqlite3_bind_int64(st, 3, t.user_id);
    sqlite3_bind_int64(st, 4, new_expires);
    if ((rc = step_done(c, st, err, "rotate insert")) != 0)
        goto out;
    if ((rc = sq__commit(c, err)) == 0 && tok) {
        t.expires_at = new_expires;
        *tok = t;
    }
out:
    sq__rollback(c);
    sq__release(b, c);
    return rc;
}

int sq__token_revoke_family(void *vb, const char *family, store_err *err)
{
    sq *b = vb;
    int rc;
    WITH_CONN(b, c, err);
    rc = revoke(c, family, err);
    sq__release(b, c);
    return rc;
}

/* ---------------- counters ---------------- */

int sq__ratelimit_take(void *vb, const char *key, double rate, double burst,
                       int64_t now, double *retry_after, store_err *err)
{
    sq *b = vb;
    sqlite3_stmt *st;
    double tokens = burst;
    int64_t last = now;
    int rc, r;
    WITH_CONN(b, c, err);
    if ((rc = sq__begin(c, err)) != 0)
        goto out;
    PREP(st, c, "SELECT tokens, updated_ms FROM buckets WHERE key = ?", err, out);
    bind_text(st, 1, key);
    if ((r = sqlite3_step(st)) == SQLITE_ROW) {
        tokens = sqlite3_column_double(st, 0);
        last = sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    if (now > last)
        tokens = fmin(burst, tokens + (double)(now - last) / 1000.0 * rate);
    else
        now = last;   /* clocks of several callers may disagree slightly */
    if (tokens >= 1.0) {
        tokens -= 1.0;
        if (retry_after)
            *retry_after = 0;
    } else {
        if (retry_after)
            *retry_after = (1.0 - tokens) / rate;
        rc = STORE_ELIMITED;
    }
    PREP(st, c, "INSERT INTO buckets(key, tokens, updated_ms) VALUES(?,?,?)"
                " ON CONFLICT(key) DO UPDATE SET tokens = excluded.tokens,"
                " updated_ms = excluded.updated_ms", err, out);
    bind_text(st, 1, key);
    sqlite3_bind_double(st, 2, tokens);
    sqlite3_bind_int64(st, 3, now);
    if ((r = step_done(c, st, err, "bucket")) != 0) {
        rc = r;
        goto out;
    }
    if ((r = sq__commit(c, err)) != 0)
        rc = r;
    else if (rc == STORE_ELIMITED)
        store__fail(err, STORE_ELIMITED, "rate limited; retry in %.2f s",
                    retry_after ? *retry_after : 0.0);
out:
    sq__rollback(c);
    sq__release(b, c);
    return rc;
}

int sq__counter_add(void *vb, const char *key, int64_t delta, int64_t *value,
                    store_err *err)
{
    sq *b = vb;
    sqlite3_stmt *st;
    int rc = 0, r;
    WITH_CONN(b, c, err);
    PREP(st, c, "INSERT INTO counters(key, value) VALUES(?1, ?2) ON"
                " CONFLICT(key) DO UPDATE SET value = value + ?2"
                " RETURNING value", err, out);
    bind_text(st, 1, key);
    sqlite3_bind_int64(st, 2, delta);
    if ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (value)
            *value = sqlite3_column_int64(st, 0);
    } else {
        rc = sq__err(c, r, err, "counter");
    }
    sqlite3_reset(st);
out:
    sq__release(b, c);
    return rc;
}
