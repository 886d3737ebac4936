/* stores/sqlite/sqlite_conn.c — the connection plumbing every part of
 * the SQLite backend uses: errors, prepared statements (cached per
 * connection), transactions, the clock, and the pool that lends one
 * connection per calling thread. It calls nothing of the files that use
 * it: sqlite_store.c opens the backend and holds its vtable. */
#include "sqlite_int.h"

#include <errno.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static bool ck_enter(sq *b);
static void ck_work(sq *b, sqlite3 *db);

/* the connection whose commit found the checkpointer behind and asks
 * its own thread to copy too (set by wal_hook, used by sq__commit) */
static _Thread_local sqlite3 *help_db;

int sq__err(sq_conn *c, int rc, store_err *err, const char *what)
{
    int code = STORE_EIO;
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
        code = STORE_EBUSY;
    else if (rc == SQLITE_NOMEM)
        code = STORE_ENOMEM;
    else if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB)
        code = STORE_ESCHEMA;
    return store__fail(err, code, "%s: %s", what,
                       c && c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
}

/* The statement cache.  A served turn asks for about 34 statements;
 * the linear scan with a strcmp per entry it replaces cost 17 to 22
 * strcmps a look-up (about 19,000 instructions a served turn).  Now a literal is found by
 * its address in one probe and one strcmp (the confirmation: a buffer
 * reused for another text has the same address), any other text by a
 * hash of its bytes.  What is kept and evicted is as before: entries in
 * the first free slot, else round-robin. */
#define SQ_INDEX_MASK (SQ_STMT_INDEX - 1)

static size_t addr_slot(const char *p)
{
    return (size_t)(((uint64_t)(uintptr_t)p * 0x9E3779B97F4A7C15ull) >> (64 - SQ_STMT_INDEX_BITS));
}

static uint64_t text_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;   /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h ^ (h >> 32);
}

/* The entry holding `sql` (hash h), or -1. */
static int find_text(const sq_conn *c, const char *sql, uint64_t h)
{
    for (size_t k = h & SQ_INDEX_MASK;; k = (k + 1) & SQ_INDEX_MASK) {
        int e = c->by_text[k] - 1;
        if (e < 0)
            return -1;   /* at most SQ_STMT_CACHE of SQ_STMT_INDEX used: one is empty */
        if (c->cache[e].hash == h && c->cache[e].sql && !strcmp(c->cache[e].sql, sql))
            return e;
    }
}

static void index_text(sq_conn *c, int e)
{
    size_t k = c->cache[e].hash & SQ_INDEX_MASK;
    while (c->by_text[k])
        k = (k + 1) & SQ_INDEX_MASK;
    c->by_text[k] = (unsigned char)(e + 1);
}

/* by_text again from the entries (after one left: cheaper than a
 * deletion's shifting, and rare: only when a full cache evicts) */
static void reindex_text(sq_conn *c)
{
    memset(c->by_text, 0, sizeof c->by_text);
    for (int e = 0; e < SQ_STMT_CACHE; e++)
        if (c->cache[e].sql)
            index_text(c, e);
}

sqlite3_stmt *sq__prep(sq_conn *c, const char *sql, store_err *err)
{
    int i, rc;
    sqlite3_stmt *st;
    size_t a = addr_slot(sql);
    i = c->by_addr[a].ent - 1;
    if (i < 0 || c->by_addr[a].addr != sql || !c->cache[i].sql || strcmp(c->cache[i].sql, sql)) {
        uint64_t h = text_hash(sql);
        i = find_text(c, sql, h);
        if (i < 0) {
            rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
            if (rc != SQLITE_OK) {
                sq__err(c, rc, err, "prepare");
                return NULL;
            }
            for (i = 0; i < SQ_STMT_CACHE && c->cache[i].sql; i++)
                ;
            if (i == SQ_STMT_CACHE) {
                /* evict round-robin: the cache only avoids re-parsing hot SQL */
                i = c->next_evict;
                c->next_evict = (c->next_evict + 1) % SQ_STMT_CACHE;
                sqlite3_finalize(c->cache[i].st);
                free(c->cache[i].sql);
                c->cache[i].sql = NULL;
                reindex_text(c);
            }
            c->cache[i].sql = strdup(sql);
            c->cache[i].st = st;
            c->cache[i].hash = h;
            if (!c->cache[i].sql) {
                sqlite3_finalize(st);
                c->cache[i].st = NULL;
                store__fail(err, STORE_ENOMEM, "out of memory");
                return NULL;
            }
            index_text(c, i);
            c->by_addr[a].addr = sql;
            c->by_addr[a].ent = i + 1;
            return st;
        }
        c->by_addr[a].addr = sql;
        c->by_addr[a].ent = i + 1;
    }
    sqlite3_reset(c->cache[i].st);
    sqlite3_clear_bindings(c->cache[i].st);
    return c->cache[i].st;
}

int sq__exec(sq_conn *c, const char *sql, store_err *err)
{
    char *msg = NULL;
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        int code = sq__err(c, rc, err, "exec");
        if (err && msg)
            snprintf(err->msg, sizeof err->msg, "%s", msg);
        sqlite3_free(msg);
        return code;
    }
    return 0;
}

sqlite3_stmt *sq__prep_args(sq_conn *c, const char *sql, const sq_arg *args,
                           size_t n, store_err *err)
{
    sqlite3_stmt *st = sq__prep(c, sql, err);
    for (size_t i = 0; st && i < n; i++) {
        int at = (int)i + 1;
        if (args[i].type == 'd')
            sqlite3_bind_double(st, at, args[i].v.d);
        else if (args[i].type == 'i')
            sqlite3_bind_int64(st, at, args[i].v.i);
        else if (args[i].v.t)
            sqlite3_bind_text(st, at, args[i].v.t, -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_null(st, at);
    }
    return st;
}

/* One statement stepped once and reset: SQLite's step result, or -1
 * (err set) when it could not be prepared. */
static int step_once(sq_conn *c, const char *sql, const sq_arg *args, size_t n, store_err *err)
{
    sqlite3_stmt *st = sq__prep_args(c, sql, args, n, err);
    if (!st)
        return -1;
    int r = sqlite3_step(st);
    sqlite3_reset(st);
    return r;
}

int sq__run(sq_conn *c, const char *what, const char *sql, const sq_arg *args,
            size_t n, store_err *err)
{
    int r = step_once(c, sql, args, n, err);
    if (r < 0)
        return err ? err->code : STORE_EIO;
    return r == SQLITE_DONE || r == SQLITE_ROW ? 0 : sq__err(c, r, err, what);
}

int sq__exists(sq_conn *c, const char *what, const char *sql, const sq_arg *args,
               size_t n, store_err *err)
{
    int r = step_once(c, sql, args, n, err);
    if (r < 0)
        return err ? err->code : STORE_EIO;
    return r == SQLITE_ROW ? 1 : r == SQLITE_DONE ? 0 : sq__err(c, r, err, what);
}

int64_t sq__now_ms(const sq *b)
{
    struct timeval tv;
    if (b->cfg.clock)
        return b->cfg.clock(b->cfg.clock_ud);
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* One statement without parameters or rows, prepared once per
 * connection (sq__exec parses its text at every call: BEGIN and COMMIT
 * twice a turn and more). */
static int run_cached(sq_conn *c, const char *sql, store_err *err)
{
    sqlite3_stmt *st = sq__prep(c, sql, err);
    if (!st)
        return err ? err->code : STORE_EIO;
    int r = sqlite3_step(st);
    sqlite3_reset(st);
    return r == SQLITE_DONE || r == SQLITE_ROW ? 0 : sq__err(c, r, err, sql);
}

/* Gives the writer lock back, when this connection holds it. */
static void writer_unlock(sq_conn *c)
{
    if (c->wheld) {
        c->wheld = 0;
        pthread_mutex_unlock(&c->owner->wmu);
    }
}

/* Takes the pool's writer lock, waiting at most the busy timeout: never
 * forever (a thread that held it and wanted a second connection inside
 * its transaction would otherwise wait on the ones queued behind it,
 * holding theirs); after that SQLite's own lock decides, as without this
 * lock.  Returns whether it was taken. */
static bool writer_lock(sq *b)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int ms = b->cfg.busy_timeout_ms > 0 ? b->cfg.busy_timeout_ms : 5000;
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return pthread_mutex_timedlock(&b->wmu, &ts) == 0;
}

int sq__begin(sq_conn *c, store_err *err)
{
    if (c->owner && !c->wheld)
        c->wheld = writer_lock(c->owner);
    int rc = run_cached(c, "BEGIN IMMEDIATE", err);
    if (rc)
        writer_unlock(c);
    return rc;
}

int sq__commit(sq_conn *c, store_err *err)
{
    help_db = NULL;
    int rc = run_cached(c, "COMMIT", err);
    if (rc)
        sq__rollback(c);
    writer_unlock(c);
    if (help_db == c->db && c->owner && ck_enter(c->owner))
        ck_work(c->owner, c->db);
    help_db = NULL;
    return rc;
}

void sq__rollback(sq_conn *c)
{
    if (!sqlite3_get_autocommit(c->db))
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    writer_unlock(c);
}

char *sq__text_dup(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? strdup((const char *)t) : NULL;
}

void sq__conn_close(sq_conn *c)
{
    for (int i = 0; i < SQ_STMT_CACHE; i++) {
        sqlite3_finalize(c->cache[i].st);
        free(c->cache[i].sql);
    }
    sqlite3_close(c->db);
    memset(c, 0, sizeof *c);
}

/* The WAL under load. SQLite's own automatic checkpoint (PASSIVE, at
 * 1,000 pages) copies what it can but never restarts the log while a
 * reader holds a snapshot, and a serving pool always has one: the file
 * grew to 2.7 GB over 103k turns, checkpointed only at shutdown. The
 * hook below, run after every commit with the log's size in pages, asks
 * for a PASSIVE checkpoint from SQ_WAL_PASSIVE pages (3,000, where
 * SQLite's own is at 1,000: the chat rewrites the same session, history
 * and replay-key pages turn after turn, so a longer log copies each of
 * them once for more turns, and a checkpoint's fsyncs come a third as
 * often); from SQ_WAL_RESTART pages (16 MiB) the log is restarted: a
 * RESTART checkpoint waits (busy timeout) for the readers of older
 * snapshots to finish — turns read briefly — and the next writer starts
 * the log again from its beginning, over the same file (TRUNCATE, used
 * before, also cut the file, which the writers after it then grew again
 * block by block). journal_size_limit bounds the file.
 *
 * The checkpoints run on a thread of their own (the checkpointer, with a
 * connection of its own), not in the commit that crossed the line: there
 * they held up every caller of a group commit for the copy and its two
 * fsyncs (the disk's write-back: milliseconds). It copies beside the
 * writers (PASSIVE); to restart the log it takes the pool's writer lock,
 * copies the little committed since, and waits for the readers (RESTART):
 * this process's writers queue on the lock meanwhile (other processes'
 * on SQLite's). When the log is past that line by SQ_WAL_STEP pages all
 * the same (the thread gets little CPU beside dozens of busy ones), a
 * commit does that work itself after giving the writer lock back, when
 * no other checkpoint runs (ck_enter); one that still leaves SQ_WAL_HARD
 * pages restarts the log itself, inside sq__commit, as every commit
 * over the line did before (or leaves it to the checkpoint running);
 * and without the thread every commit over SQ_WAL_PASSIVE checkpoints. */
#define SQ_WAL_PASSIVE 3000
#define SQ_WAL_RESTART 4096    /* 16 MiB at 4 KiB pages */
#define SQ_WAL_HARD 6144       /* 24 MiB */
#define SQ_WAL_STEP 512

/* One checkpoint at a time in this process.  A second one finds SQLite's
 * checkpoint lock taken and gives up at once (SQLITE_BUSY, no busy
 * handler for that lock): under the REST bench the commits' own copying
 * kept the RESTART failing and the log grew to 57 MB.  Whoever enters
 * copies (PASSIVE) and, with the log at SQ_WAL_RESTART pages or more,
 * restarts it under the writer lock; the others go on. */
static bool ck_enter(sq *b)
{
    int idle = 0;
    return atomic_compare_exchange_strong(&b->ck_busy, &idle, 1);
}

/* The restart's wait for the readers, in steps of 100 us up to 20 ms:
 * SQLite's own busy handler sleeps 1, 2, 5, 10 ms ... between looks, and
 * every writer of the process waits on the writer lock meanwhile, while
 * a turn's read is over in well under a millisecond.  Not restarted in
 * 20 ms: the next checkpoint tries again (SQ_WAL_HARD bounds the log). */
static int ck_busy_wait(void *ud, int n)
{
    (void)ud;
    if (n >= 200)
        return 0;
    struct timespec ts = {0, 100000};
    nanosleep(&ts, NULL);
    return 1;
}

static void ck_work(sq *b, sqlite3 *db)
{
    int log = 0;
    sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_PASSIVE, &log, NULL);
    if (log >= SQ_WAL_RESTART && writer_lock(b)) {
        sqlite3_busy_handler(db, ck_busy_wait, NULL);
        sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_RESTART, NULL, NULL);
        sqlite3_busy_timeout(db, b->cfg.busy_timeout_ms);
        pthread_mutex_unlock(&b->wmu);
    }
    atomic_store(&b->ck_busy, 0);
}

static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
    sq *b = arg;
    if (pages < SQ_WAL_PASSIVE)
        return SQLITE_OK;
    if (!b->ck_running) {
        sqlite3_wal_checkpoint_v2(db, name, pages >= SQ_WAL_RESTART ? SQLITE_CHECKPOINT_RESTART
                                                                    : SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        return SQLITE_OK;   /* the commit itself succeeded either way */
    }
    if (pages >= SQ_WAL_HARD) {
        /* inside sq__commit this thread holds the writer lock already;
         * when another checkpoint runs, that one restarts the log */
        if (ck_enter(b)) {
            sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
            atomic_store(&b->ck_busy, 0);
        }
        return SQLITE_OK;
    }
    /* past the restart line by a step: the checkpointer is behind (under
     * load a thread among dozens gets little CPU), so the committing
     * thread copies too, once it has given the writer lock back
     * (sq__commit): writers that make the log pay for it, as every
     * commit over the line did before, without holding the others */
    if (pages >= SQ_WAL_RESTART + SQ_WAL_STEP)
        help_db = db;
    /* asked again only once the log has grown by SQ_WAL_STEP pages since
     * the last ask, or started over: while readers keep the log from
     * starting over it stays long, and every commit waking the thread
     * for a checkpoint with next to nothing to copy cost more than the
     * copying (two racing commits may both ask: harmless) */
    int last = atomic_load_explicit(&b->ck_asked, memory_order_relaxed);
    if (last && pages >= last && pages < last + SQ_WAL_STEP && !(pages >= SQ_WAL_RESTART && last < SQ_WAL_RESTART))
        return SQLITE_OK;
    atomic_store_explicit(&b->ck_asked, pages, memory_order_relaxed);
    pthread_mutex_lock(&b->ckmu);
    b->ck_want = 1;
    pthread_cond_signal(&b->ckcv);
    pthread_mutex_unlock(&b->ckmu);
    return SQLITE_OK;
}

static void *checkpointer(void *arg)
{
    sq *b = arg;
    sqlite3 *db = NULL;
    pthread_mutex_lock(&b->ckmu);
    for (;;) {
        while (!b->ck_stop && !b->ck_want)
            pthread_cond_wait(&b->ckcv, &b->ckmu);
        if (b->ck_stop)
            break;
        b->ck_want = 0;
        pthread_mutex_unlock(&b->ckmu);
        /* a connection checkpoints the log only once it has read in WAL
         * mode (before that: "not in WAL mode", nothing done) */
        if (!db && (sqlite3_open_v2(b->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
                    sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK)) {
            sqlite3_close(db);
            db = NULL;
        }
        if (db && ck_enter(b)) {
            sqlite3_busy_timeout(db, b->cfg.busy_timeout_ms);
            ck_work(b, db);
        }
        pthread_mutex_lock(&b->ckmu);
    }
    pthread_mutex_unlock(&b->ckmu);
    sqlite3_close(db);
    return NULL;
}

void sq__checkpointer_start(sq *b)
{
    pthread_mutex_init(&b->ckmu, NULL);
    pthread_cond_init(&b->ckcv, NULL);
    b->ck_running = pthread_create(&b->ck_thread, NULL, checkpointer, b) == 0;
}

void sq__checkpointer_stop(sq *b)
{
    if (b->ck_running) {
        pthread_mutex_lock(&b->ckmu);
        b->ck_stop = 1;
        pthread_cond_signal(&b->ckcv);
        pthread_mutex_unlock(&b->ckmu);
        pthread_join(b->ck_thread, NULL);
        b->ck_running = 0;
    }
    pthread_mutex_destroy(&b->ckmu);
    pthread_cond_destroy(&b->ckcv);
}

static int conn_open(sq *b, sq_conn *c, store_err *err)
{
    c->owner = b;
    int rc = sqlite3_open_v2(b->path, &c->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                 SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        rc = store__fail(err, STORE_EIO, "cannot open %s: %s", b->path,
                         c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        sqlite3_close(c->db);
        c->db = NULL;
        return rc;
    }
    sqlite3_busy_timeout(c->db, b->cfg.busy_timeout_ms);
    sqlite3_extended_result_codes(c->db, 0);
    if ((rc = sq__exec(c, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                          " PRAGMA foreign_keys=ON; PRAGMA journal_size_limit=67108864;", err)) != 0 ||
        (rc = sq__register_rank(c)) != 0) {
        if (rc > 0)
            rc = store__fail(err, STORE_EIO, "%s: cannot register ranking",
                             b->path);
        sq__conn_close(c);
        return rc;
    }
    sqlite3_wal_hook(c->db, wal_hook, b);
    return 0;
}

/* Borrowing is first come, first served: a thread that finds every
 * connection in use queues, and a connection given back goes straight to
 * the longest waiting one (with a shared condition variable the one woken
 * was any of them: under 64 concurrent searches on a pool of 8, some
 * waited many turns, the p99 four times the mean). */
int sq__acquire(sq *b, sq_conn **out, store_err *err)
{
    sq_conn *c = NULL;
    int rc = 0;
    pthread_mutex_lock(&b->mu);
    for (int i = 0; i < b->n_conns; i++)
        if (!b->conns[i].in_use && b->conns[i].db) {
            c = &b->conns[i];
            break;
        }
    if (!c)
        for (int i = 0; i < b->n_conns; i++)
            if (!b->conns[i].in_use) {
                c = &b->conns[i];
                break;
            }
    if (c) {
        c->in_use = 1;
    } else {
        sq_waiter w = {0};
        pthread_cond_init(&w.cv, NULL);
        if (b->wtail)
            b->wtail->next = &w;
        else
            b->whead = &w;
        b->wtail = &w;
        while (!w.got)
            pthread_cond_wait(&w.cv, &b->mu);
        pthread_cond_destroy(&w.cv);
        c = w.got;   /* handed over in use */
    }
    pthread_mutex_unlock(&b->mu);
    /* opening happens outside the lock: it touches the disk */
    if (!c->db && (rc = conn_open(b, c, err)) != 0) {
        sq__release(b, c);
        return rc;
    }
    *out = c;
    return 0;
}

void sq__release(sq *b, sq_conn *c)
{
    if (c->db)
        sq__rollback(c);   /* never hand on an open transaction */
    pthread_mutex_lock(&b->mu);
    sq_waiter *w = b->whead;
    if (w) {
        b->whead = w->next;
        if (!b->whead)
            b->wtail = NULL;
        w->got = c;   /* stays in use: now the waiter's */
        pthread_cond_signal(&w->cv);
    } else {
        c->in_use = 0;
    }
    pthread_mutex_unlock(&b->mu);
}
