/* stores/sqlite/sqlite_docs.c — the small stores on SQLite: users, memory,
 * audit trail, sessions and cache (kv), conversation history, refresh
 * tokens, rate-limit buckets and counters.  Every write that reads first
 * runs in one BEGIN IMMEDIATE transaction so concurrent callers serialise. */
#include "sqlite_int.h"

#include <ctype.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Common shape of a call: borrow a connection, prepare, run, give back. */
#define WITH_CONN(b, c, err)                                               \
    sq_conn *c;                                                            \
    int rc_ = sq__acquire((b), &c, (err));                                 \
    if (rc_)                                                               \
        return rc_

/* st = the cached statement for sql with the arguments bound; when it
 * cannot be prepared, rc = the code and on to `out`. */
#define PREP(st, c, err, sql, ...)                                         \
    if (!((st) = SQ_PREP((c), (err), (sql), __VA_ARGS__))) {               \
        rc = (err) ? (err)->code : STORE_EIO;                              \
        goto out;                                                          \
    }

/* The end of a call that builds JSON: on success o as compact text in
 * *out; on failure (rc) o is dropped and rc returned. */
static int json_out(int rc, json_object *o, char **out, store_err *err)
{
    if (rc) {
        json_object_put(o);
        return rc;
    }
    *out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return *out ? 0 : store__fail(err, STORE_ENOMEM, "out of memory");
}

/* The first column of a one-row SELECT as a malloc'd string in *out;
 * STORE_ENOTFOUND, with no message yet, when there is no row. */
static int row_text(sq_conn *c, sqlite3_stmt *st, char **out, store_err *err,
                    const char *what)
{
    int r = sqlite3_step(st), rc;
    if (r == SQLITE_ROW)
        rc = (*out = sq__text_dup(st, 0)) ? 0 : store__fail(err, STORE_ENOMEM, "oom");
    else if (r == SQLITE_DONE)
        rc = STORE_ENOTFOUND;
    else
        rc = sq__err(c, r, err, what);
    sqlite3_reset(st);
    return rc;
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
    PREP(st, c, err, "INSERT INTO users(email, name, password_hash, created_at)"
                     " VALUES(?, ?, ?, ?)",
         SQ_T(low), SQ_T(name), SQ_T(hash), SQ_I(sq__now_ms(b)));
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
        PREP(st, c, err, "SELECT id, email, name, password_hash, created_at FROM"
                         " users WHERE email = lower(?)", SQ_T(email));
    } else {
        PREP(st, c, err, "SELECT id, email, name, password_hash, created_at FROM"
                         " users WHERE id = ?", SQ_I(id));
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
    int rc;
    if ((rc = store__check_json(json, "value", err)) != 0)
        return rc;
    WITH_CONN(b, c, err);
    rc = SQ_RUN(c, err, "memory put",
                "INSERT INTO memory(user_id, ns, key, value, updated_at)"
                " VALUES(?, ?, ?, ?, ?) ON CONFLICT(user_id, ns, key)"
                " DO UPDATE SET value = excluded.value,"
                " updated_at = excluded.updated_at",
                SQ_I(user), SQ_T(ns), SQ_T(key), SQ_T(json), SQ_I(sq__now_ms(b)));
    sq__release(b, c);
    return rc;
}

int sq__memory_get(void *vb, int64_t user, const char *ns, const char *key,
                   char **outp, store_err *err)
{
    sq *b = vb;
    sqlite3_stmt *st;
    int rc = 0;
    WITH_CONN(b, c, err);
    PREP(st, c, err, "SELECT value FROM memory WHERE user_id = ? AND ns = ?"
                     " AND key = ?", SQ_I(user), SQ_T(ns), SQ_T(key));
    if ((rc = row_text(c, st, outp, err, "memory get")) == STORE_ENOTFOUND)
        rc = store__fail(err, STORE_ENOTFOUND, "no memory %s/%s", ns, key);
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
    PREP(st, c, err, "SELECT ns, key, value FROM memory WHERE user_id = ?1"
                     " AND (?2 IS NULL OR ns = ?2) ORDER BY ns, key",
         SQ_I(user), SQ_T(ns));
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        const char *n = (const char *)sqlite3_column_text(st, 0);
        const char *k = (const char *)sqlite3_column_text(st, 1);
        json_object *v = store__json_or_string((const char *)sqlite3_column_text(st, 2));
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
    return json_out(rc, o, outp, err);
}

int sq__memory_delete(void *vb, int64_t user, const char *ns, const char *key,
                      store_err *err)
{
    sq *b = vb;
    int rc;
    WITH_CONN(b, c, err);
    rc = SQ_RUN(c, err, "memory delete",
                "DELETE FROM memory WHERE user_id = ? AND ns = ? AND key = ?",
                SQ_I(user), SQ_T(ns), SQ_T(key));
    sq__release(b, c);
    return rc;
}

/* ---------------- audit ---------------- */

int sq__audit_append(void *vb, const char *actor, const char *action,
                     const char *subject, const char *detail, int64_t now,
                     store_err *err)
{
    sq *b = vb;
    int rc = 0;
    if (detail && (rc = store__check_json(detail, "value", err)) != 0)
        return rc;
    WITH_CONN(b, c, err);
    rc = SQ_RUN(c, err, "audit append",
                "INSERT INTO audit(at, actor, action, subject, detail)"
                " VALUES(?, ?, ?, ?, ?)",
                SQ_I(now), SQ_T(actor), SQ_T(action), SQ_T(subject), SQ_T(detail));
    sq__release(b, c);
    return rc;
}

int sq__audit_write(sq_conn *c, const store_audit_rec *a, const char *detail,
                    int64_t now, store_err *err)
{
    return SQ_RUN(c, err, "audit append",
                  "INSERT INTO audit(at, actor, action, subject, detail)"
                  " VALUES(?, ?, ?, ?, ?)",
                  SQ_I(now), SQ_T(a->actor), SQ_T(a->action),
                  SQ_T(a->subject ? a->subject : ""),
                  SQ_T(detail ? detail : a->detail_json));
}

int sq__audit_list(void *vb, const char *actor, const char *subject, int limit,
                   char **outp, store_err *err)
{
    sq *b = vb;
    sqlite3_stmt *st;
    json_object *a = json_object_new_array();
    int rc = 0, r;
    WITH_CONN(b, c, err);
    PREP(st, c, err, "SELECT id, at, actor, action, subject, detail FROM audit"
                     " WHERE (?1 IS NULL OR actor = ?1) AND (?2 IS NULL OR"
                     " subject = ?2) ORDER BY id DESC LIMIT ?3",
         SQ_T(actor), SQ_T(subject), SQ_I(limit));
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        json_object *e = json_object_new_object();
        json_object_object_add(e, "id", json_object_new_int64(sqlite3_column_int64(st, 0)));
        json_object_object_add(e, "time", json_object_new_int64(sqlite3_column_int64(st, 1)));
        json_object_object_add(e, "actor", json_object_new_string((const char *)sqlite3_column_text(st, 2)));
        json_object_object_add(e, "action", json_object_new_string((const char *)sqlite3_column_text(st, 3)));
        json_object_object_add(e, "subject", json_object_new_string((const char *)sqlite3_column_text(st, 4)));
        json_object_object_add(e, "detail", store__json_or_string((const char *)sqlite3_column_text(st, 5)));
        json_object_array_add(a, e);
    }
    if (r != SQLITE_DONE)
        rc = sq__err(c, r, err, "audit list");
    sqlite3_reset(st);
out:
    sq__release(b, c);
    return json_out(rc, a, outp, err);
}

/* ---------------- sessions, cache ---------------- */

/* ---------------- group commit ----------------
 *
 * Session, history and cache writes are many, small and independent, and
 * each used to be a transaction of its own: BEGIN IMMEDIATE, a few pages
 * written to the WAL, COMMIT, and every other writer waiting on the lock
 * (in SQLite's busy handler, which sleeps) meanwhile.  Here they queue; the
 * first caller that finds no commit running becomes the leader, takes
 * every write queued so far and commits them in one transaction, each in
 * a savepoint of its own (one write's failure is that write's alone),
 * while the writes that arrive meanwhile form the next batch.  Every
 * caller still returns only after its write committed: the guarantees
 * are those of a transaction of its own (durable on return as far as
 * synchronous=NORMAL makes any commit durable: a process crash loses
 * nothing committed, a power failure may lose the last commits), and the
 * next read, on any connection or process, sees it.  Replay keys
 * (once_begin, once_finish) go through the queue too: each is one
 * statement under the batch's write lock, so of concurrent callers of one
 * key exactly one takes it, as in a transaction of its own, and the
 * caller returns only once it has committed.  Carts and orders keep their
 * own transactions. */

static int kv_put_on(sq_conn *c, int kind, const char *key, const char *val,
                     int64_t expires_at, store_err *err)
{
    return SQ_RUN(c, err, "put",
                  "INSERT INTO kv(kind, key, value, expires_at) VALUES(?,?,?,?)"
                  " ON CONFLICT(kind, key) DO UPDATE SET value = excluded.value,"
                  " expires_at = excluded.expires_at",
                  SQ_I(kind), SQ_T(key), SQ_T(val), SQ_I(expires_at));
}

/* A conversation's history expires as a whole: its newest row's
 * expires_at says when (each append sets it; the rows before keep the
 * expiry they were written with, where every row used to be rewritten
 * with the new one, every page of the conversation's turns written to
 * the WAL again at each turn).  The window is trimmed every
 * SQ_HISTORY_SLACK appends, not at each (the oldest row lies on another
 * page than the newest); sq__history_get reads only the newest `window`
 * rows. */
#define SQ_HISTORY_SLACK 8

static int history_on(sq *b, sq_conn *c, const char *sid, const char *turn,
                      int window, int64_t expires_at, store_err *err)
{
    int rc, r;
    /* the conversation's newest row: its number and when it expires (one
     * read; the statements below need no subquery of their own) */
    sqlite3_stmt *st = SQ_PREP(c, err, "SELECT seq, expires_at FROM history WHERE sid = ?"
                                       " ORDER BY seq DESC LIMIT 1", SQ_T(sid));
    if (!st)
        return err ? err->code : STORE_EIO;
    int64_t seq = 0, until = 0;
    if ((r = sqlite3_step(st)) == SQLITE_ROW) {
        seq = sqlite3_column_int64(st, 0);
        until = sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        return sq__err(c, r, err, "history");
    /* an expired history starts over rather than resurrecting old turns */
    if (seq && until <= sq__now_ms(b)) {
        if ((rc = SQ_RUN(c, err, "history", "DELETE FROM history WHERE sid = ?", SQ_T(sid))) != 0)
            return rc;
        seq = 0;
    }
    seq++;
    if ((rc = SQ_RUN(c, err, "history append",
                     "INSERT INTO history(sid, seq, turn, expires_at) VALUES(?, ?, ?, ?)",
                     SQ_T(sid), SQ_I(seq), SQ_T(turn), SQ_I(expires_at))) != 0)
        return rc;
    if (seq % SQ_HISTORY_SLACK != 0 || seq <= window)
        return 0;
    return SQ_RUN(c, err, "history window", "DELETE FROM history WHERE sid = ? AND seq <= ?",
                  SQ_T(sid), SQ_I(seq - window));
}

/* A key's live state: 0 (none), STORE_EEXIST with its result (*result),
 * or STORE_EBUSY (a holder). */
static int once_state_on(sq_conn *c, const char *key, int64_t now, char **result, store_err *err)
{
    sqlite3_stmt *st;
    int rc = 0, r;
    PREP(st, c, err, "SELECT state, result FROM once_keys WHERE key = ? AND expires_at > ?", SQ_T(key),
         SQ_I(now));
    r = sqlite3_step(st);
    if (r == SQLITE_ROW && sqlite3_column_int(st, 0) == 1)
        rc = (*result = sq__text_dup(st, 1)) ? store__fail(err, STORE_EEXIST, "already done: its result is kept")
                                             : store__fail(err, STORE_ENOMEM, "out of memory");
    else if (r == SQLITE_ROW)
        rc = store__fail(err, STORE_EBUSY, "in progress elsewhere; try again");
    else if (r != SQLITE_DONE)
        rc = sq__err(c, r, err, "once state");
    sqlite3_reset(st);
out:
    return rc;
}

/* compaction, best effort, as for kv: a few expired keys go with each
 * key taken.  Most turns find none: the look through the expiry index
 * first spares the DELETE's list of rowids (a temporary b-tree opened,
 * created and closed, with a statement journal: about 30,000
 * instructions) when there is nothing to delete. */
static void once_compact(sq_conn *c, int64_t now)
{
    if (SQ_EXISTS(c, NULL, "compact", "SELECT 1 FROM once_keys WHERE expires_at < ? LIMIT 1",
                  SQ_I(now)) == 1)
        (void)SQ_RUN(c, NULL, "compact", "DELETE FROM once_keys WHERE rowid IN"
                     " (SELECT rowid FROM once_keys WHERE expires_at < ? LIMIT 16)",
                     SQ_I(now));
}

/* A reservation is a row in state 0 whose lease runs to expires_at; a
 * result is a row in state 1 kept to expires_at.  An expired row of either
 * kind counts as absent, so a crashed holder's key frees itself.  Both run
 * inside the group's write transaction (commit_batch). */
static int once_begin_on(sq_conn *c, const char *key, int64_t now, int64_t lease_until, char **result,
                         store_err *err)
{
    int rc;
    /* take the key when absent or expired; one statement under the write
     * lock, so exactly one of any number of callers gets it */
    if ((rc = SQ_RUN(c, err, "once begin",
                     "INSERT INTO once_keys(key, state, result, expires_at)"
                     " VALUES(?1, 0, NULL, ?2) ON CONFLICT(key) DO UPDATE SET"
                     " state = 0, result = NULL, expires_at = excluded.expires_at"
                     " WHERE once_keys.expires_at <= ?3",
                     SQ_T(key), SQ_I(lease_until), SQ_I(now))) != 0)
        return rc;
    if (sqlite3_changes(c->db) == 0)
        return once_state_on(c, key, now, result, err);
    once_compact(c, now);
    return 0;
}

static int once_finish_on(sq_conn *c, const char *key, const char *result, int64_t now,
                          int64_t expires_at, store_err *err)
{
    /* a live result is never overwritten: the first one stays the answer */
    int rc = SQ_RUN(c, err, "once finish",
                    "INSERT INTO once_keys(key, state, result, expires_at)"
                    " VALUES(?1, 1, ?2, ?3) ON CONFLICT(key) DO UPDATE SET"
                    " state = 1, result = excluded.result, expires_at = excluded.expires_at"
                    " WHERE once_keys.state = 0 OR once_keys.expires_at <= ?4",
                    SQ_T(key), SQ_T(result), SQ_I(expires_at), SQ_I(now));
    if (!rc && sqlite3_changes(c->db) == 0)
        rc = store__fail(err, STORE_EEXIST, "key already has a result; the first is kept");
    return rc;
}

/* The first answer to a message: the record goes in only when the key
 * has no live row (a live reservation is another caller's: STORE_EBUSY;
 * a live result the first answer: STORE_EEXIST), and then the session
 * and its history entry; the caller's savepoint rolls all of it back on
 * any failure. */
static int save_once_on(sq *b, sq_conn *c, sq_gop *o)
{
    int rc = SQ_RUN(c, &o->err, "once record",
                    "INSERT INTO once_keys(key, state, result, expires_at)"
                    " VALUES(?1, 1, ?2, ?3) ON CONFLICT(key) DO UPDATE SET"
                    " state = 1, result = excluded.result, expires_at = excluded.expires_at"
                    " WHERE once_keys.expires_at <= ?4",
                    SQ_T(o->okey), SQ_T(o->oval), SQ_I(o->oexpires_at), SQ_I(o->now));
    if (rc)
        return rc;
    if (sqlite3_changes(c->db) == 0)
        return once_state_on(c, o->okey, o->now, o->result, &o->err);
    once_compact(c, o->now);
    if ((rc = kv_put_on(c, STORE__KV_SESSION, o->key, o->val, o->expires_at, &o->err)) != 0)
        return rc;
    return history_on(b, c, o->key, o->turn, o->window, o->turn_expires_at, &o->err);
}

static int stmt_run(sq_conn *c, const char *sql)
{
    sqlite3_stmt *st = sq__prep(c, sql, NULL);
    if (!st)
        return STORE_EIO;
    int r = sqlite3_step(st);
    sqlite3_reset(st);
    return r == SQLITE_DONE ? 0 : STORE_EIO;
}

/* The leader's part: one transaction for the batch; rc and err of each
 * write filled in. */
static void commit_batch(sq *b, sq_gop *batch)
{
    sq_conn *c = NULL;
    store_err e = {0};
    int rc = sq__acquire(b, &c, &e), nkv = 0;
    if (!rc) {
        if ((rc = sq__begin(c, &e)) == 0) {
            for (sq_gop *o = batch; o; o = o->next) {
                /* an I/O, full-disk or memory error rolls the whole
                 * transaction back: SAVEPOINT would then open one of its
                 * own that RELEASE commits, writing what its caller is
                 * told failed (a replay key reserved for nobody) */
                if (sqlite3_get_autocommit(c->db)) {
                    o->rc = store__fail(&o->err, STORE_EIO, "%s: write batch rolled back by an earlier error",
                                        b->path);
                    continue;
                }
                if (stmt_run(c, "SAVEPOINT w") != 0) {
                    o->rc = sq__err(c, sqlite3_errcode(c->db), &o->err, "savepoint");
                    continue;
                }
                if (o->type == SQ_G_HISTORY)
                    o->rc = history_on(b, c, o->key, o->val, o->window, o->expires_at, &o->err);
                else if (o->type == SQ_G_ONCE_BEGIN)
                    o->rc = once_begin_on(c, o->key, o->now, o->expires_at, o->result, &o->err);
                else if (o->type == SQ_G_ONCE_FINISH)
                    o->rc = once_finish_on(c, o->key, o->val, o->now, o->expires_at, &o->err);
                else if (o->type == SQ_G_SAVE_ONCE) {
                    o->rc = save_once_on(b, c, o);
                    nkv++;
                } else {
                    o->rc = kv_put_on(c, o->kind, o->key, o->val, o->expires_at, &o->err);
                    nkv++;
                }
                if (!o->rc && o->type == SQ_G_SESSION)
                    o->rc = history_on(b, c, o->key, o->turn, o->window, o->turn_expires_at, &o->err);
                if (o->rc)
                    (void)stmt_run(c, "ROLLBACK TO w");
                (void)stmt_run(c, "RELEASE w");
            }
            /* compaction, best effort: a few expired rows go with every
             * write, so the table stays bounded without a sweeper thread
             * (looked for first, as in once_compact) */
            int64_t now = nkv ? sq__now_ms(b) : 0;
            if (nkv && SQ_EXISTS(c, NULL, "compact", "SELECT 1 FROM kv WHERE expires_at < ? LIMIT 1",
                                 SQ_I(now)) == 1)
                (void)SQ_RUN(c, NULL, "compact", "DELETE FROM kv WHERE rowid IN (SELECT rowid"
                             " FROM kv WHERE expires_at < ? LIMIT ?)", SQ_I(now), SQ_I(16 * nkv));
            rc = sq__commit(c, &e);
        }
        sq__release(b, c);   /* rolls back what did not commit */
    }
    for (sq_gop *o = batch; o; o = o->next)
        if (rc && !o->rc) {
            /* the transaction failed: none of the batch is written */
            o->rc = rc;
            o->err = e;
        }
}

/* Queue n writes (ops[0..n-1], one caller's) and return when they have
 * committed, in one batch (as leader or not): they are queued together,
 * and a leader takes the whole queue.  Each caller sleeps on its own
 * condition: the leader wakes the callers it committed, then the first of
 * the next batch to lead it.  Each op's rc and err say how it went. */
static void group_write_n(sq *b, sq_gop *ops, int n)
{
    pthread_cond_t *cv = &ops[0].cv;
    pthread_cond_init(cv, NULL);
    for (int i = 0; i < n; i++) {
        ops[i].cvp = cv;
        ops[i].next = i + 1 < n ? &ops[i + 1] : NULL;
    }
    sq_gop *last = &ops[n - 1];
    pthread_mutex_lock(&b->gmu);
    if (b->gtail)
        b->gtail->next = ops;
    else
        b->ghead = ops;
    b->gtail = last;
    while (!last->done) {
        if (b->gleader) {
            pthread_cond_wait(cv, &b->gmu);
            continue;
        }
        b->gleader = 1;
        sq_gop *batch = b->ghead;
        b->ghead = b->gtail = NULL;
        pthread_mutex_unlock(&b->gmu);
        commit_batch(b, batch);
        pthread_mutex_lock(&b->gmu);
        b->gcommits++;
        for (sq_gop *o = batch, *nx; o; o = nx) {
            nx = o->next;   /* o may be gone once done is seen */
            pthread_cond_t *ocv = o->cvp;
            b->gwrites++;
            o->done = 1;
            if (ocv != cv && (!nx || nx->cvp != ocv))
                pthread_cond_signal(ocv);   /* after its caller's last op */
        }
        b->gleader = 0;
        if (b->ghead)
            pthread_cond_signal(b->ghead->cvp);
    }
    pthread_mutex_unlock(&b->gmu);
    pthread_cond_destroy(cv);
}

static int group_write(sq *b, sq_gop *op, store_err *err)
{
    group_write_n(b, op, 1);
    if (op->rc && err)
        *err = op->err;
    return op->rc;
}

int sq__kv_put(void *vb, int kind, const char *key, const char *val,
               int64_t expires_at, store_err *err)
{
    sq_gop op = {.type = SQ_G_KV, .kind = kind, .key = key, .val = val,
                 .expires_at = expires_at};
    return group_write(vb, &op, err);
}

int sq__kv_get(void *vb, int kind, const char *key, int64_t now, char **outp,
               store_err *err)
{
    sq *b = vb;
    sqlite3_stmt *st;
    int rc = 0;
    WITH_CONN(b, c, err);
    PREP(st, c, err, "SELECT value FROM kv WHERE kind = ? AND key = ?"
                     " AND expires_at > ?", SQ_I(kind), SQ_T(key), SQ_I(now));
    if ((rc = row_text(c, st, outp, err, "get")) == STORE_ENOTFOUND)
        rc = store__fail(err, STORE_ENOTFOUND, "no such key (or expired)");
out:
    sq__release(b, c);
    return rc;
}

int sq__kv_delete(void *vb, int kind, const char *key, store_err *err)
{
    sq *b = vb;
    int rc;
    WITH_CONN(b, c, err);
    rc = SQ_RUN(c, err, "delete", "DELETE FROM kv WHERE kind = ? AND key = ?",
                SQ_I(kind), SQ_T(key));
    /* a session's history goes with it, best effort */
    if (!rc && kind == STORE__KV_SESSION)
        (void)SQ_RUN(c, NULL, "delete history", "DELETE FROM history WHERE sid = ?",
                     SQ_T(key));
    sq__release(b, c);
    return rc;
}

/* ---------------- request replay keys ---------------- */

/* A reservation is a row in state 0 whose lease runs to expires_at; a
 * result is a row in state 1 kept to expires_at.  An expired row of either
 * kind counts as absent, so a crashed holder's key frees itself. */
int sq__once_begin(void *vb, const char *key, int64_t now, int64_t lease_until,
                   int lease_ms, char **result, store_err *err)
{
    (void)lease_ms;
    sq_gop op = {.type = SQ_G_ONCE_BEGIN, .key = key, .now = now, .expires_at = lease_until,
                 .result = result};
    return group_write(vb, &op, err);
}

int sq__once_finish(void *vb, const char *key, const char *result, int64_t now,
                    int64_t expires_at, store_err *err)
{
    sq_gop op = {.type = SQ_G_ONCE_FINISH, .key = key, .val = result, .now = now,
                 .expires_at = expires_at};
    return group_write(vb, &op, err);
}

int sq__once_abort(void *vb, const char *key, store_err *err)
{
    sq *b = vb;
    int rc;
    WITH_CONN(b, c, err);
    rc = SQ_RUN(c, err, "once abort", "DELETE FROM once_keys WHERE key = ? AND state = 0",
                SQ_T(key));
    sq__release(b, c);
    return rc;
}

int sq__history_append(void *vb, const char *sid, const char *turn, int window,
                       int64_t expires_at, store_err *err)
{
    int rc;
    if ((rc = store__check_json(turn, "value", err)) != 0)
        return rc;
    sq_gop op = {.type = SQ_G_HISTORY, .key = sid, .val = turn, .window = window,
                 .expires_at = expires_at};
    return group_write(vb, &op, err);
}

int sq__session_save(void *vb, const char *sid, const char *json,
                     int64_t expires_at, const char *turn, int window,
                     int64_t history_expires_at, store_err *err)
{
    int rc;
    if ((rc = store__check_json(turn, "value", err)) != 0)
        return rc;
    sq_gop op = {.type = SQ_G_SESSION, .kind = STORE__KV_SESSION, .key = sid, .val = json,
                 .expires_at = expires_at, .turn = turn, .window = window,
                 .turn_expires_at = history_expires_at};
    return group_write(vb, &op, err);
}

int sq__session_save_replay(void *vb, const char *sid, const char *json, int64_t expires_at,
                            const char *turn, int window, int64_t history_expires_at,
                            const char *key, const char *result, int64_t now,
                            int64_t once_expires_at, int *once_rc, store_err *once_err,
                            store_err *err)
{
    int rc;
    if ((rc = store__check_json(turn, "value", err)) != 0) {
        *once_rc = rc;
        return rc;
    }
    sq_gop ops[2] = {
        {.type = SQ_G_SESSION, .kind = STORE__KV_SESSION, .key = sid, .val = json,
         .expires_at = expires_at, .turn = turn, .window = window,
         .turn_expires_at = history_expires_at},
        {.type = SQ_G_ONCE_FINISH, .key = key, .val = result, .now = now,
         .expires_at = once_expires_at},
    };
    group_write_n(vb, ops, 2);
    *once_rc = ops[1].rc;
    if (ops[1].rc && once_err)
        *once_err = ops[1].err;
    if (ops[0].rc && err)
        *err = ops[0].err;
    return ops[0].rc;
}

int sq__session_save_once(void *vb, const char *sid, const char *json, int64_t expires_at,
                          const char *turn, int window, int64_t history_expires_at,
                          const char *key, const char *result, int64_t now,
                          int64_t once_expires_at, char **first, store_err *err)
{
    int rc;
    if ((rc = store__check_json(turn, "value", err)) != 0)
        return rc;
    sq_gop op = {.type = SQ_G_SAVE_ONCE, .key = sid, .val = json, .expires_at = expires_at,
                 .turn = turn, .window = window, .turn_expires_at = history_expires_at,
                 .okey = key, .oval = result, .oexpires_at = once_expires_at, .now = now,
                 .result = first};
    return group_write(vb, &op, err);
}

int sq__once_peek(void *vb, const char *key, int64_t now, char **result, store_err *err)
{
    sq *b = vb;
    WITH_CONN(b, c, err);
    int rc = once_state_on(c, key, now, result, err);
    sq__release(b, c);
    return rc;
}

int sq__session_get_replay(void *vb, const char *sid, const char *key, int64_t now, char **json,
                           char **result, store_err *err)
{
    sq *b = vb;
    sqlite3_stmt *st;
    WITH_CONN(b, c, err);
    /* one read transaction for both (one set of read locks, not two) */
    int rc = stmt_run(c, "BEGIN") == 0 ? 0 : sq__err(c, sqlite3_errcode(c->db), err, "begin");
    if (!rc && (rc = once_state_on(c, key, now, result, err)) == 0) {
        PREP(st, c, err, "SELECT value FROM kv WHERE kind = ? AND key = ? AND expires_at > ?",
             SQ_I(STORE__KV_SESSION), SQ_T(sid), SQ_I(now));
        if ((rc = row_text(c, st, json, err, "session")) == STORE_ENOTFOUND)
            rc = 0;
    }
out:
    if (!sqlite3_get_autocommit(c->db))
        (void)stmt_run(c, "COMMIT");
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
    /* the newest `window` rows (up to SQ_HISTORY_SLACK older ones wait
     * for their trim), while the newest row's expiry is ahead */
    PREP(st, c, err, "SELECT turn FROM history WHERE sid = ?1 AND seq > (SELECT max(seq) FROM history"
                     " WHERE sid = ?1) - ?3 AND (SELECT expires_at FROM history WHERE sid = ?1"
                     " ORDER BY seq DESC LIMIT 1) > ?2 ORDER BY seq",
         SQ_T(sid), SQ_I(now), SQ_I(b->cfg.history_window > 0 ? b->cfg.history_window : 20));
    while ((r = sqlite3_step(st)) == SQLITE_ROW)
        json_object_array_add(a, store__json_or_string((const char *)sqlite3_column_text(st, 0)));
    if (r != SQLITE_DONE)
        rc = sq__err(c, r, err, "history");
    sqlite3_reset(st);
out:
    sq__release(b, c);
    return json_out(rc, a, outp, err);
}

/* ---------------- refresh tokens ---------------- */

int sq__token_put(void *vb, const char *hash, const char *family, int64_t user,
                  int64_t expires_at, store_err *err)
{
    sq *b = vb;
    sqlite3_stmt *st;
    int rc = 0, r;
    WITH_CONN(b, c, err);
    PREP(st, c, err, "INSERT INTO tokens(hash, family, user_id, expires_at)"
                     " VALUES(?, ?, ?, ?)",
         SQ_T(hash), SQ_T(family), SQ_I(user), SQ_I(expires_at));
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
    return SQ_RUN(c, err, "revoke", "UPDATE tokens SET revoked = 1 WHERE family = ?",
                  SQ_T(family));
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
    PREP(st, c, err, "SELECT family, user_id, expires_at, used, revoked FROM tokens"
                     " WHERE hash = ?", SQ_T(old_hash));
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
    /* a revoked or reused token still tells whose family it was, so the
     * caller can end that family's access tokens too */
    if ((revoked || used) && tok)
        *tok = t;
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
    if ((rc = SQ_RUN(c, err, "rotate", "UPDATE tokens SET used = 1 WHERE hash = ?",
                     SQ_T(old_hash))) != 0 ||
        (rc = SQ_RUN(c, err, "rotate insert",
                     "INSERT INTO tokens(hash, family, user_id, expires_at)"
                     " VALUES(?, ?, ?, ?)",
                     SQ_T(new_hash), SQ_T(t.family), SQ_I(t.user_id),
                     SQ_I(new_expires))) != 0)
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
    PREP(st, c, err, "SELECT tokens, updated_ms FROM buckets WHERE key = ?", SQ_T(key));
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
    if ((r = SQ_RUN(c, err, "bucket",
                    "INSERT INTO buckets(key, tokens, updated_ms) VALUES(?,?,?)"
                    " ON CONFLICT(key) DO UPDATE SET tokens = excluded.tokens,"
                    " updated_ms = excluded.updated_ms",
                    SQ_T(key), SQ_D(tokens), SQ_I(now))) != 0) {
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
    PREP(st, c, err, "INSERT INTO counters(key, value) VALUES(?1, ?2) ON"
                     " CONFLICT(key) DO UPDATE SET value = value + ?2"
                     " RETURNING value", SQ_T(key), SQ_I(delta));
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
