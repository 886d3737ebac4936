/* engine/catcache.c — values built from the catalog, shared by turns and
 * rebuilt when the catalog changes (see catcache_int.h). */
#include "catcache_int.h"
#include "eng_int.h"
#include "pipe_int.h"
#include "stores/store.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK_US (1000000LL)            /* generation read at most this often */
#define MAX_AGE_US (300 * 1000000LL)    /* stores without a generation */
#define RETRY_US (30 * 1000000LL)       /* after a failed build */

struct eng__catcache {
    eng__cc_build_fn build;
    eng__cc_free_fn free_fn;
    const void *ud;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    eng__ccref *cur;            /* NULL until built */
    struct store *cur_store;    /* the store cur was built from */
    int64_t cur_gen;            /* its generation; -1: the store keeps none */
    int64_t built_at, checked_at, retry_at;
    bool building;
};

static bool background;

void eng_catalog_refresh_background(bool on) { background = on; }

eng__catcache *eng__cc_new(eng__cc_build_fn build, eng__cc_free_fn free_fn, const void *ud)
{
    eng__catcache *c = eng__calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->build = build, c->free_fn = free_fn, c->ud = ud;
    if (pthread_mutex_init(&c->mu, NULL) != 0) {
        eng__free(c);
        return NULL;
    }
    if (pthread_cond_init(&c->cv, NULL) != 0) {
        pthread_mutex_destroy(&c->mu);
        eng__free(c);
        return NULL;
    }
    return c;
}

static void unref(eng__catcache *c, eng__ccref *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&c->mu);
    bool last = --r->refs == 0;
    pthread_mutex_unlock(&c->mu);
    if (last) {
        c->free_fn(r->v);
        eng__free(r);
    }
}

void eng__cc_release(eng__catcache *c, eng__ccref *r) { unref(c, r); }

void eng__cc_free(eng__catcache *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    while (c->building)
        pthread_cond_wait(&c->cv, &c->mu);
    eng__ccref *r = c->cur;
    c->cur = NULL;
    pthread_mutex_unlock(&c->mu);
    unref(c, r);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    eng__free(c);
}

static int64_t generation(struct store *s)
{
    int64_t g = -1;
    store_err err = {0};
    if (store_catalog_generation(s, &g, &err) != 0)
        g = -1;
    return g;
}

/* Build for s (c->building is ours) and publish the result. */
static void build_now(eng__catcache *c, struct store *s, char *note, size_t cap)
{
    int64_t gen = generation(s);   /* before the scan: a write during it triggers another */
    void *v = c->build(c->ud, s, note, cap);
    eng__ccref *nv = v ? eng__calloc(1, sizeof *nv) : NULL, *old = NULL;
    if (v && !nv)
        c->free_fn(v);
    int64_t now = eng_now_us();
    pthread_mutex_lock(&c->mu);
    if (nv) {
        nv->v = v;
        nv->refs = 1;   /* the cache's */
        old = c->cur;
        c->cur = nv;
        c->cur_store = s, c->cur_gen = gen, c->built_at = c->checked_at = now;
    } else {
        c->retry_at = now + RETRY_US;
        if (c->cur_store != s) {
            old = c->cur;   /* never answer with another store's words */
            c->cur = NULL, c->cur_store = s;
        }
    }
    /* the old value's reference is dropped under the lock: once building
     * is false, eng__cc_free may free c (a background build must not
     * touch it after the broadcast) */
    bool last = old && --old->refs == 0;
    eng__cc_free_fn free_fn = c->free_fn;
    c->building = false;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    if (last) {
        free_fn(old->v);
        eng__free(old);
    }
}

typedef struct job {
    eng__catcache *c;
    struct store *s;
} job;

static void *build_thread(void *arg)
{
    job j = *(job *)arg;
    char note[200] = "";
    eng__free(arg);
    build_now(j.c, j.s, note, sizeof note);
    return NULL;
}

/* Whether the value for s must be (re)built; under c->mu. `check` is set
 * when the generation must be read first (outside the lock). */
static bool needs_build(eng__catcache *c, struct store *s, int64_t now, bool *check)
{
    *check = false;
    if (!c->cur || c->cur_store != s)
        return c->cur_store != s || now >= c->retry_at;
    if (now - c->checked_at < CHECK_US)
        return false;
    c->checked_at = now;
    if (c->cur_gen < 0)
        return now - c->built_at >= MAX_AGE_US;
    *check = true;
    return false;
}

/* Decide and claim a build for s: true when the caller must build. */
static bool claim(eng__catcache *c, struct store *s)
{
    int64_t now = eng_now_us();
    bool check = false;
    pthread_mutex_lock(&c->mu);
    bool need = !c->building && needs_build(c, s, now, &check);
    int64_t have = c->cur_gen;
    pthread_mutex_unlock(&c->mu);
    if (check)
        need = generation(s) != have;
    if (!need)
        return false;
    pthread_mutex_lock(&c->mu);
    need = !c->building;
    c->building = true;
    pthread_mutex_unlock(&c->mu);
    return need;
}

eng__ccref *eng__cc_acquire(eng__catcache *c, struct store *s, char *note, size_t cap)
{
    if (!c || !s)
        return NULL;
    if (claim(c, s)) {
        job *j = background ? eng__calloc(1, sizeof *j) : NULL;
        pthread_t th;
        pthread_attr_t at;
        bool started = false;
        if (j && pthread_attr_init(&at) == 0) {
            j->c = c, j->s = s;
            pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
            started = pthread_create(&th, &at, build_thread, j) == 0;
            pthread_attr_destroy(&at);
        }
        if (started) {
            snprintf(note, cap, "; catalog vocabulary being rebuilt in the background");
        } else {
            eng__free(j);
            build_now(c, s, note, cap);
        }
    }
    pthread_mutex_lock(&c->mu);
    eng__ccref *r = c->cur && c->cur_store == s ? c->cur : NULL;
    if (r)
        r->refs++;
    pthread_mutex_unlock(&c->mu);
    return r;
}

int eng__cc_warm(eng__catcache *c, struct store *s, char *note, size_t cap)
{
    if (!c || !s)
        return 0;
    pthread_mutex_lock(&c->mu);
    while (c->building)
        pthread_cond_wait(&c->cv, &c->mu);
    bool have = c->cur && c->cur_store == s;
    int64_t gen = c->cur_gen;
    c->building = true;
    pthread_mutex_unlock(&c->mu);
    if (have && gen >= 0 && generation(s) == gen) {
        pthread_mutex_lock(&c->mu);
        c->building = false;
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
        return 0;
    }
    build_now(c, s, note, cap);
    pthread_mutex_lock(&c->mu);
    bool ok = c->cur && c->cur_store == s;
    pthread_mutex_unlock(&c->mu);
    return ok ? 0 : -1;
}

int eng_pipeline_warm(eng_pipeline *p, struct store *s, char *note, size_t cap)
{
    int rc = 0;
    if (note && cap)
        note[0] = 0;
    for (size_t i = 0; p && s && i < p->nstages; i++) {
        const eng_stage *st = &p->stages[i];
        char one[200] = "";
        if (st->type->warm && st->type->warm(st, s, one, sizeof one) < 0) {
            rc = -1;
            if (note && cap && !note[0])
                snprintf(note, cap, "stage \"%s\"%s", st->id, one);
        }
    }
    return rc;
}
