/* stores/redis/redis_events.c — events between instances over Redis
 * pub/sub: PUBLISH on a pooled connection, and one subscriber thread per
 * subscription with a connection of its own that blocks in SUBSCRIBE.
 * Channels live under the key prefix ("aisle:ev:cart"), so instances of
 * different shops on one Redis do not hear each other.  The subscriber
 * reconnects after an outage (0.1 s, doubling up to 2 s); what was
 * published while it was away is not replayed (pub/sub keeps nothing).
 * Stopping shuts the socket down under the lock, which wakes the blocked
 * read, then joins the thread. */
#include "redis_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

struct store_sub {
    rd *b;
    char channel[200];
    store_event_fn fn;
    void *ud;
    pthread_t th;
    pthread_mutex_t mu;        /* guards ctx (shut down from another thread) and stop */
    pthread_cond_t cv;         /* wakes the reconnect wait at stop */
    redisContext *ctx;
    int stop;
};

int rd__event_publish(void *vb, const char *channel, const char *msg,
                      size_t len, store_err *err)
{
    rd *b = vb;
    char ch[200];
    if (rd__key(b, "ev:", channel, ch, sizeof ch) < 0)
        return store__fail(err, STORE_EINVAL, "channel name too long");
    /* not idempotent: a lost reply is not sent twice (a duplicate event
     * would refresh a cart twice, harmless, but the rule is the rule) */
    return rd__cmd(b, 0, NULL, err, "PUBLISH %s %b", ch, msg ? msg : "", len);
}

/* Waits ms, or less when the subscription is stopped; 1 when stopped. */
static int wait_or_stop(store_sub *s, int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    while (!s->stop && pthread_cond_timedwait(&s->cv, &s->mu, &ts) != ETIMEDOUT)
        ;
    int stop = s->stop;
    pthread_mutex_unlock(&s->mu);
    return stop;
}

/* A message frame of RESP2 pub/sub: ["message", channel, payload]. */
static void deliver(store_sub *s, redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 || r->element[0]->type != REDIS_REPLY_STRING ||
        strcmp(r->element[0]->str, "message") != 0 || r->element[2]->type != REDIS_REPLY_STRING)
        return;   /* the subscribe confirmation, or anything else */
    s->fn(s->ud, r->element[2]->str, r->element[2]->len);
}

static void *sub_main(void *arg)
{
    store_sub *s = arg;
    int backoff = 100;
    while (!wait_or_stop(s, 0)) {
        redisContext *c = NULL;
        if (rd__connect(s->b, &c, NULL) != 0) {
            if (wait_or_stop(s, backoff))
                break;
            backoff = backoff < 1000 ? backoff * 2 : 2000;
            continue;
        }
        /* no command timeout: the connection waits for messages */
        redisSetTimeout(c, (struct timeval){0, 0});
        pthread_mutex_lock(&s->mu);
        int stop = s->stop;
        if (!stop)
            s->ctx = c;
        pthread_mutex_unlock(&s->mu);
        if (stop) {
            redisFree(c);
            break;
        }
        redisReply *r = redisCommand(c, "SUBSCRIBE %s", s->channel);
        if (r) {
            freeReplyObject(r);
            backoff = 100;
            void *m = NULL;
            while (redisGetReply(c, &m) == REDIS_OK && m) {
                deliver(s, m);
                freeReplyObject(m);
                m = NULL;
            }
        }
        pthread_mutex_lock(&s->mu);
        s->ctx = NULL;
        pthread_mutex_unlock(&s->mu);
        redisFree(c);
        if (wait_or_stop(s, backoff))
            break;
        backoff = backoff < 1000 ? backoff * 2 : 2000;
    }
    return NULL;
}

int rd__event_subscribe(void *vb, const char *channel, store_event_fn fn,
                        void *ud, store_sub **out, store_err *err)
{
    rd *b = vb;
    store_sub *s = calloc(1, sizeof *s);
    if (!s)
        return store__fail(err, STORE_ENOMEM, "out of memory");
    if (rd__key(b, "ev:", channel, s->channel, sizeof s->channel) < 0) {
        free(s);
        return store__fail(err, STORE_EINVAL, "channel name too long");
    }
    s->b = b, s->fn = fn, s->ud = ud;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (pthread_create(&s->th, NULL, sub_main, s) != 0) {
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cv);
        free(s);
        return store__fail(err, STORE_ENOMEM, "cannot start the subscriber thread");
    }
    *out = s;
    return 0;
}

void rd__event_unsubscribe(store_sub *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    if (s->ctx)
        shutdown(s->ctx->fd, SHUT_RDWR);   /* wakes the blocked read */
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->th, NULL);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}
