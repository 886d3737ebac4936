/* gateway/refunds.c — the sweeper that gives back what cancelled orders
 * still owe: at startup (a crash between a cancel and its refund) and
 * every few seconds (a provider that did not answer).  Mapping only: the
 * commerce core's eng_shop_refunds_settle holds the lease and decides;
 * every instance may run it, the store lease lets one at a time refund. */
#include "gw_int.h"
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EVERY_MS 5000

struct gw_refunds {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    long every_ms;              /* AISLE_TEST_HOOKS: AISLE_TEST_REFUND_SWEEP_MS */
};

static void sweep(gw_server *s)
{
    size_t done = 0, left = 0;
    if (eng_shop_refunds_settle(s->st, &done, &left) < 0) {
        gw__log("warn", "refunds_unavailable", NULL);
        return;
    }
    if (done || left) {
        json_object *f = json_object_new_object();
        json_object_object_add(f, "refunded", json_object_new_int64((int64_t)done));
        json_object_object_add(f, "pending", json_object_new_int64((int64_t)left));
        gw__log(left ? "warn" : "info", "refunds_settled", f);
        json_object_put(f);
    }
}

static void *run(void *arg)
{
    gw_server *s = arg;
    struct gw_refunds *h = s->refunds;
    for (;;) {
        sweep(s);
        pthread_mutex_lock(&h->mu);
        if (!h->stop) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += h->every_ms / 1000;
            ts.tv_nsec += (h->every_ms % 1000) * 1000000L;
            if (ts.tv_nsec >= 1000000000L)
                ts.tv_sec++, ts.tv_nsec -= 1000000000L;
            pthread_cond_timedwait(&h->cv, &h->mu, &ts);
        }
        bool stop = h->stop;
        pthread_mutex_unlock(&h->mu);
        if (stop)
            break;
    }
    return NULL;
}

int gw__refunds_start(gw_server *s)
{
    if (!s->st)
        return 0;
    struct gw_refunds *h = calloc(1, sizeof *h);
    if (!h)
        return -1;
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    h->every_ms = EVERY_MS;
    const char *th = getenv("AISLE_TEST_HOOKS"), *e = getenv("AISLE_TEST_REFUND_SWEEP_MS");
    if (th && strcmp(th, "1") == 0 && e && strtol(e, NULL, 10) > 0)
        h->every_ms = strtol(e, NULL, 10);
    s->refunds = h;
    if (pthread_create(&h->th, NULL, run, s) != 0) {
        s->refunds = NULL;
        pthread_cond_destroy(&h->cv);
        pthread_mutex_destroy(&h->mu);
        free(h);
        return -1;
    }
    return 0;
}

void gw__refunds_stop(gw_server *s)
{
    struct gw_refunds *h = s->refunds;
    if (!h)
        return;
    pthread_mutex_lock(&h->mu);
    h->stop = true;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->th, NULL);
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    free(h);
    s->refunds = NULL;
}
