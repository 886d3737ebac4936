/* gateway/traces.c — the turn traces the inspector reads: a ring in
 * memory, bounded by count (turns.traces_keep), bytes
 * (turns.traces_max_bytes) and age (turns.traces_max_age_s), that every
 * turn's context goes into on the reply path (a pointer swap under a lock:
 * the inspector finds a trace the moment its reply is out), and a writer
 * thread that copies some of them to the store cache off that path.
 *
 * What reaches the ring: every turn's context while turns come at most
 * turns.traces_rate a second (a token bucket, a second's burst), and
 * every turn that failed; over that rate the rest are not kept, counted
 * (aisle_traces_not_kept_total), so that a turn under load does not print
 * and copy its whole context for a ring that keeps it a fraction of a
 * second (200 traces at 2,000 turns a second).  gw__traces_wanted says
 * before the context is printed.
 *
 * What reaches the store: at most turns.trace_store_rate traces a second
 * (a token bucket: the rest are sampled out, counted), and every turn
 * that failed.  The writer's queue holds turns.trace_queue traces; when it
 * is full the oldest queued trace is dropped and counted
 * (aisle_traces_dropped_total): a reply never waits for the store.
 * On stop the writer has GW_TRACE_FLUSH_MS to write what is queued; what
 * is left then is dropped, counted and logged (the ring and the inspector
 * go with the process anyway). */
#include "gw_int.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GW_TRACE_FLUSH_MS 100

/* one serialised turn context, shared by the ring and the writer's queue */
typedef struct tblob {
    atomic_int refs;
    size_t len;
    char data[];
} tblob;

static tblob *blob_new(const char *s, size_t len)
{
    tblob *b = malloc(sizeof *b + len + 1);
    if (!b)
        return NULL;
    atomic_init(&b->refs, 1);
    b->len = len;
    memcpy(b->data, s, len);
    b->data[len] = '\0';
    return b;
}

static void blob_put(tblob *b)
{
    if (b && atomic_fetch_sub(&b->refs, 1) == 1)
        free(b);
}

struct slot {
    char id[40];
    int64_t at_ms;
    json_object *summary;
    tblob *ctx;
};

struct qitem {
    char id[40];
    tblob *ctx;
};

/* a token bucket: rate a second, a second's burst at most */
struct bucket {
    double rate, tokens;
    int64_t at_ms;
};

static void bucket_init(struct bucket *k, double rate, int64_t now)
{
    k->rate = rate;
    k->tokens = rate;   /* a second's worth to start with */
    k->at_ms = now;
}

/* takes a token if there is one (rate <= 0: none ever) */
static bool bucket_take(struct bucket *k, int64_t now)
{
    if (k->rate <= 0)
        return false;
    if (now > k->at_ms) {
        k->tokens += (double)(now - k->at_ms) / 1000.0 * k->rate;
        if (k->tokens > k->rate)
            k->tokens = k->rate;
        k->at_ms = now;
    }
    if (k->tokens < 1.0)
        return false;
    k->tokens -= 1.0;
    return true;
}

struct gw_traces {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* the ring: n slots from the oldest, (next - n) mod keep */
    int keep, next, n;
    size_t bytes, max_bytes;
    int64_t max_age_ms;
    struct slot *slots;
    struct bucket kept;        /* turns.traces_rate (rate 0: every turn) */
    /* the writer */
    store *st;
    int ttl_s;
    struct bucket stored;      /* turns.trace_store_rate */
    struct qitem *q;
    int qcap, qhead, qn;
    int stop, started;
    int64_t stop_by_ms;
    pthread_t thread;
    gw_trace_stats st_;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* under mu: free the oldest slot of the ring */
static void evict_oldest(gw_traces *t)
{
    int i = ((t->next - t->n) % t->keep + t->keep) % t->keep;
    struct slot *s = &t->slots[i];
    if (s->ctx)
        t->bytes -= s->ctx->len;
    json_object_put(s->summary);
    blob_put(s->ctx);
    memset(s, 0, sizeof *s);
    t->n--;
}

/* under mu: what the age limit retires */
static void evict_aged(gw_traces *t, int64_t now)
{
    while (t->n > 0) {
        int i = ((t->next - t->n) % t->keep + t->keep) % t->keep;
        if (now - t->slots[i].at_ms <= t->max_age_ms)
            break;
        evict_oldest(t);
    }
}

static void *writer(void *arg)
{
    gw_traces *t = arg;
    struct qitem batch[32];
    pthread_mutex_lock(&t->mu);
    for (;;) {
        if (t->stop && (t->qn == 0 || now_ms() >= t->stop_by_ms))
            break;
        if (t->qn == 0) {
            /* idle: retire aged traces once a second */
            struct timespec dl;
            clock_gettime(CLOCK_REALTIME, &dl);
            dl.tv_sec += 1;
            pthread_cond_timedwait(&t->cv, &t->mu, &dl);
            evict_aged(t, now_ms());
            continue;
        }
        int n = 0;
        while (t->qn > 0 && n < (int)(sizeof batch / sizeof *batch)) {
            batch[n++] = t->q[t->qhead];
            t->q[t->qhead].ctx = NULL;
            t->qhead = (t->qhead + 1) % t->qcap;
            t->qn--;
        }
        t->st_.queued = (uint64_t)t->qn;
        pthread_mutex_unlock(&t->mu);
        uint64_t ok = 0, bad = 0;
        for (int i = 0; i < n; i++) {
            char key[64];
            snprintf(key, sizeof key, "trace:%.39s", batch[i].id);
            if (store_cache_put(t->st, key, batch[i].ctx->data, t->ttl_s, NULL) == 0)
                ok++;
            else
                bad++;
            blob_put(batch[i].ctx);
        }
        pthread_mutex_lock(&t->mu);
        t->st_.written += ok;
        t->st_.failed += bad;
    }
    /* stopping: what the flush time did not cover is dropped */
    uint64_t left = (uint64_t)t->qn;
    while (t->qn > 0) {
        blob_put(t->q[t->qhead].ctx);
        t->q[t->qhead].ctx = NULL;
        t->qhead = (t->qhead + 1) % t->qcap;
        t->qn--;
    }
    t->st_.dropped += left;
    t->st_.queued = 0;
    pthread_mutex_unlock(&t->mu);
    if (left) {
        json_object *f = json_object_new_object();
        json_object_object_add(f, "dropped", json_object_new_int64((int64_t)left));
        json_object_object_add(f, "flushMs", json_object_new_int(GW_TRACE_FLUSH_MS));
        gw__log("warn", "traces_dropped_at_stop", f);
    }
    return NULL;
}

gw_traces *gw__traces_new(const gw_config *c, store *st)
{
    gw_traces *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->keep = c->traces_keep > 0 ? c->traces_keep : 1;
    t->max_bytes = c->traces_max_bytes > 0 ? (size_t)c->traces_max_bytes : (size_t)32 << 20;
    t->max_age_ms = (int64_t)(c->traces_max_age_s > 0 ? c->traces_max_age_s : 3600) * 1000;
    t->slots = calloc((size_t)t->keep, sizeof *t->slots);
    t->qcap = c->trace_queue > 0 ? c->trace_queue : 256;
    t->q = calloc((size_t)t->qcap, sizeof *t->q);
    if (!t->slots || !t->q) {
        free(t->slots);
        free(t->q);
        free(t);
        return NULL;
    }
    t->st = st;
    t->ttl_s = c->trace_ttl_s;
    bucket_init(&t->stored, c->trace_store_rate, now_ms());
    bucket_init(&t->kept, c->traces_rate, now_ms());
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    if (st && pthread_create(&t->thread, NULL, writer, t) == 0)
        t->started = 1;
    return t;
}

void gw__traces_stop(gw_traces *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->mu);
    if (!t->stop) {
        t->stop = 1;
        t->stop_by_ms = now_ms() + GW_TRACE_FLUSH_MS;
    }
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

void gw__traces_free(gw_traces *t)
{
    if (!t)
        return;
    gw__traces_stop(t);
    if (t->started)
        pthread_join(t->thread, NULL);
    while (t->n > 0)
        evict_oldest(t);
    for (int i = 0; i < t->qcap; i++)
        blob_put(t->q[i].ctx);
    free(t->q);
    free(t->slots);
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

/* under mu: may this trace go to the store? (the token bucket; a failed
 * turn always may) */
static bool store_wanted(gw_traces *t, int failed, int64_t now)
{
    if (!t->started || t->stop)
        return false;
    if (failed)
        return true;
    return bucket_take(&t->stored, now);
}

bool gw__traces_wanted(gw_traces *t, int failed)
{
    if (failed || t->kept.rate <= 0)
        return true;
    pthread_mutex_lock(&t->mu);
    bool take = bucket_take(&t->kept, now_ms());
    if (!take)
        t->st_.not_kept++;
    pthread_mutex_unlock(&t->mu);
    return take;
}

void gw__traces_add(gw_traces *t, const char *id, json_object *summary, const char *ctx_json, size_t len,
                    int failed)
{
    tblob *b = blob_new(ctx_json, len);
    /* a summary of its own: the turn's context, whose parts it names, is
     * freed by the turn's thread, and json-c's counts are not atomic */
    json_object *own = NULL;
    if (!b || json_object_deep_copy(summary, &own, NULL) != 0) {
        blob_put(b);
        json_object_put(own);
        return;
    }
    int64_t now = now_ms();
    pthread_mutex_lock(&t->mu);
    evict_aged(t, now);
    if (t->n == t->keep)
        evict_oldest(t);
    while (t->n > 0 && t->bytes + len > t->max_bytes)
        evict_oldest(t);
    struct slot *s = &t->slots[t->next];
    snprintf(s->id, sizeof s->id, "%s", id);
    s->at_ms = now;
    s->summary = own;
    s->ctx = b;
    t->bytes += len;
    t->next = (t->next + 1) % t->keep;
    t->n++;
    if (store_wanted(t, failed, now)) {
        if (t->qn == t->qcap) {
            /* full: the oldest queued trace makes room (the ring still
             * has it while it lasts there) */
            blob_put(t->q[t->qhead].ctx);
            t->q[t->qhead].ctx = NULL;
            t->qhead = (t->qhead + 1) % t->qcap;
            t->qn--;
            t->st_.dropped++;
        }
        struct qitem *q = &t->q[(t->qhead + t->qn) % t->qcap];
        snprintf(q->id, sizeof q->id, "%s", id);
        atomic_fetch_add(&b->refs, 1);
        q->ctx = b;
        t->qn++;
        t->st_.queued = (uint64_t)t->qn;
        pthread_cond_signal(&t->cv);
    } else if (t->started)
        t->st_.sampled_out++;
    pthread_mutex_unlock(&t->mu);
}

char *gw__traces_get(gw_traces *t, const char *id)
{
    tblob *b = NULL;
    int64_t now = now_ms();
    pthread_mutex_lock(&t->mu);
    for (int k = 0; k < t->n && !b; k++) {
        struct slot *s = &t->slots[((t->next - 1 - k) % t->keep + t->keep) % t->keep];
        if (strcmp(s->id, id) == 0 && now - s->at_ms <= t->max_age_ms) {
            b = s->ctx;
            atomic_fetch_add(&b->refs, 1);
        }
    }
    pthread_mutex_unlock(&t->mu);
    if (!b)
        return NULL;
    /* copied outside the lock: a turn never waits on an inspector read */
    char *out = strdup(b->data);
    blob_put(b);
    return out;
}

json_object *gw__traces_list(gw_traces *t, int limit)
{
    json_object *a = json_object_new_array();
    int64_t now = now_ms();
    pthread_mutex_lock(&t->mu);
    /* newest first */
    for (int k = 0; k < t->n && k < limit; k++) {
        struct slot *s = &t->slots[((t->next - 1 - k) % t->keep + t->keep) % t->keep];
        if (now - s->at_ms > t->max_age_ms)
            break;
        json_object *copy = NULL;
        if (json_object_deep_copy(s->summary, &copy, NULL) == 0)
            json_object_array_add(a, copy);
    }
    pthread_mutex_unlock(&t->mu);
    return a;
}

void gw__traces_stats(gw_traces *t, gw_trace_stats *out)
{
    pthread_mutex_lock(&t->mu);
    *out = t->st_;
    out->ring = (uint64_t)t->n;
    out->ring_bytes = (uint64_t)t->bytes;
    pthread_mutex_unlock(&t->mu);
}
