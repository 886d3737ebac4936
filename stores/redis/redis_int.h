/* stores/redis/redis_int.h — what the Redis backend's files share: the
 * parsed URL, the connection pool and the command helpers that reconnect
 * and retry.  Private to stores/redis/. */
#ifndef AISLE_REDIS_INT_H
#define AISLE_REDIS_INT_H

#include "stores/store_int.h"

#include <hiredis.h>
#include <pthread.h>

/* Parsed redis://[user:password@]host[:port][/db][?opts] or unix://PATH[?opts]. */
typedef struct rd_url {
    char host[256];            /* host name/address, or the socket path */
    int port;                  /* 0 for a unix socket */
    int unix_socket;
    char user[128];            /* Redis 6 ACL user; empty: none */
    char password[256];        /* empty: no AUTH */
    int db;
    char prefix[64];           /* key prefix, default "aisle:" */
    int connect_timeout_ms;    /* default 500 */
    int timeout_ms;            /* per command, default 2000 */
} rd_url;

/* rd__parse_url: fill *u from `url`.  0 or STORE_ECONFIG with the reason. */
int rd__parse_url(const char *url, rd_url *u, store_err *err);

typedef struct rd_conn {
    redisContext *ctx;         /* NULL until connected, or after a failure */
    int in_use;
} rd_conn;

/* Lua scripts, loaded once at open (SCRIPT LOAD) and run by SHA; after a
 * Redis restart empties the script cache, NOSCRIPT falls back to EVAL. */
enum { RD_S_HIST_APPEND, RD_S_HIST_GET, RD_S_BUCKET, RD_S_TOKEN_PUT,
       RD_S_TOKEN_ROTATE, RD_S_TOKEN_REVOKE, RD_S_ONCE_BEGIN, RD_S_ONCE_FINISH,
       RD_S_ONCE_ABORT, RD_S_SAVE_ONCE, RD_S_SESSION_PEEK, RD_S_COUNT };

typedef struct rd {
    rd_url url;
    const store *owner;        /* for the store clock */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    rd_conn *conns;
    int n_conns;
    char sha[RD_S_COUNT][41];
} rd;

/* Flags of a command: may it be sent again when the first try's reply was
 * lost (the command may or may not have run)? */
#define RD_IDEMPOTENT 0x1

/* rd__cmd: run one command given in hiredis format (%s, %b, %lld only —
 * arguments never become command text).  On success *reply (may be NULL
 * to discard) owns the reply (freeReplyObject).  A Redis error reply gives
 * STORE_EIO with its words; a transport failure reconnects once and, for
 * RD_IDEMPOTENT commands, retries, else STORE_EUNAVAIL.  Blocks at most
 * about connect_timeout + 2 * timeout. */
int rd__cmd(rd *b, int flags, redisReply **reply, store_err *err,
            const char *fmt, ...);

/* rd__script: run script `id` with argv (nkeys keys first, then args), by
 * EVALSHA, falling back to EVAL on NOSCRIPT.  Same contract as rd__cmd. */
int rd__script(rd *b, int id, int flags, redisReply **reply, store_err *err,
               int nkeys, int argc, const char **argv, const size_t *lens);

/* rd__connect: a new connection of its own (not from the pool), with
 * the command timeout set and AUTH/SELECT done.  0, STORE_EUNAVAIL,
 * STORE_ECONFIG, STORE_ENOMEM. */
int rd__connect(rd *b, redisContext **out, store_err *err);

/* Events (redis_events.c): PUBLISH on a pooled connection; a subscriber
 * thread with a connection of its own. */
int rd__event_publish(void *vb, const char *channel, const char *msg,
                      size_t len, store_err *err);
int rd__event_subscribe(void *vb, const char *channel, store_event_fn fn,
                        void *ud, store_sub **out, store_err *err);
void rd__event_unsubscribe(store_sub *sub);

/* Pool lifetime (redis_conn.c). */
int rd__pool_open(rd *b, int size, store_err *err);
void rd__pool_close(rd *b);
const char *rd__script_src(int id);

/* rd__key: prefix + tag + k into buf; returns its length or -1 when long. */
int rd__key(const rd *b, const char *tag, const char *k, char *buf, size_t n);

#endif
