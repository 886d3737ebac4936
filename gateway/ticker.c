/* gateway/ticker.c — a background job run on a thread of its own: at
 * start, then every `every_ms`, and at once when kicked; stopped by
 * gw__ticker_stop, which waits for the run in progress. The webhook
 * sender (acp_webhook.c) and the refund sweeper (refunds.c) use it. */
#include "gw_int.h"
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

struct gw_ticker {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop, kick;
    long every_ms;
    void (*fn)(void *);
    void *arg;
};

static void *run(void *arg)
{
    gw_ticker *t = arg;
    for (;;) {
        t->fn(t->arg);
        pthread_mutex_lock(&t->mu);
        if (!t->stop && !t->kick) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += t->every_ms / 1000;
            ts.tv_nsec += (t->every_ms % 1000) * 1000000L;
            if (ts.tv_nsec >= 1000000000L)
                ts.tv_sec++, ts.tv_nsec -= 1000000000L;
            pthread_cond_timedwait(&t->cv, &t->mu, &ts);
        }
        bool stop = t->stop;
        t->kick = false;
        pthread_mutex_unlock(&t->mu);
        if (stop)
            return NULL;
    }
}

gw_ticker *gw__ticker_start(void (*fn)(void *), void *arg, long every_ms)
{
    gw_ticker *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    t->fn = fn, t->arg = arg, t->every_ms = every_ms > 0 ? every_ms : 1000;
    if (pthread_create(&t->th, NULL, run, t) != 0) {
        pthread_cond_destroy(&t->cv);
        pthread_mutex_destroy(&t->mu);
        free(t);
        return NULL;
    }
    return t;
}

void gw__ticker_kick(gw_ticker *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->mu);
    t->kick = true;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

void gw__ticker_stop(gw_ticker *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->mu);
    t->stop = true;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->th, NULL);
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    free(t);
}
