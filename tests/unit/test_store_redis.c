/* tests/unit/test_store_redis.c — what only the Redis backend must show,
 * against a real redis-server this test starts on a free loopback port:
 * restart mid-test, real TTL expiry, token buckets and refresh-token reuse
 * under concurrency, URL parsing, key prefixes and unix sockets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "stores/store.h"
#include "tests/redis_server.h"

#include <hiredis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static redis_server srv;
static char db_path[200];
static char skip_why[sizeof "Redis tests skipped: " + sizeof srv.why];   /* "" while it runs */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int group_setup(void **state)
{
    (void)state;
    if (redis_server_open(&srv, "aisle-redis-test", 1) != 0) {
        snprintf(skip_why, sizeof skip_why, "Redis tests skipped: %s", srv.why);
        return 0;
    }
    snprintf(db_path, sizeof db_path, "%s/aisle.db", srv.dir);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    return redis_server_close(&srv);
}

/* A store whose ephemeral family is on the test server, documents on a
 * SQLite file beside it.  Each test passes its own prefix. */
static store *open_store(const char *url_tail, int *rc_out)
{
    store_config cfg;
    store_err err = {0};
    store *s = NULL;
    char url[512];
    if (skip_why[0]) {
        print_message("[  SKIP    ] %s\n", skip_why);
        skip();
    }
    snprintf(url, sizeof url, "redis://127.0.0.1:%d%s", srv.port, url_tail);
    store_config_init(&cfg);
    cfg.sqlite_path = db_path;
    cfg.documents = STORE_BACKEND_SQLITE;
    cfg.ephemeral = STORE_BACKEND_REDIS;
    cfg.redis_url = url;
    cfg.mongo_uri = NULL;
    cfg.pool_size = 4;
    *rc_out = store_open(&cfg, &s, &err);
    if (*rc_out)
        print_message("store_open: %s\n", err.msg);
    return s;
}

static void test_restart_mid_test(void **state)
{
    store_err err = {0};
    char *j = NULL;
    int rc;
    int64_t t0, v = 0;
    double retry;
    store *s = open_store("/0?prefix=restart:&connect_timeout_ms=300&timeout_ms=1000", &rc);
    (void)state;
    assert_int_equal(rc, 0);
    assert_int_equal(store_session_put(s, "s1", "{\"a\":1}", 60, &err), 0);
    assert_int_equal(store_ratelimit_take(s, "ip", 1, 5, 1000, &retry, &err), 0);
    redis_server_kill(&srv, SIGKILL);
    /* down: a clear error, quickly, for reads and for non-idempotent writes */
    t0 = mono_ms();
    assert_int_equal(store_session_get(s, "s1", &j, &err), STORE_EUNAVAIL);
    assert_non_null(strstr(err.msg, "Redis"));
    assert_int_equal(store_counter_add(s, "n", 1, &v, &err), STORE_EUNAVAIL);
    assert_int_equal(store_ping(s, &err), STORE_EUNAVAIL);
    assert_true(mono_ms() - t0 < 1500);
    assert_int_equal(redis_server_start(&srv), 0);
    /* back on the same port (empty: no persistence): the pooled
     * connections reconnect, and the script cache is refilled by EVAL */
    assert_int_equal(store_session_get(s, "s1", &j, &err), STORE_ENOTFOUND);
    assert_int_equal(store_session_put(s, "s1", "{\"a\":2}", 60, &err), 0);
    assert_int_equal(store_session_get(s, "s1", &j, &err), 0);
    assert_string_equal(j, "{\"a\":2}");
    free(j);
    assert_int_equal(store_ratelimit_take(s, "ip", 1, 5, 1000, &retry, &err), 0);
    assert_int_equal(store_counter_add(s, "n", 2, &v, &err), 0);
    assert_int_equal(v, 2);
    store_close(s);
}

static void test_open_while_down(void **state)
{
    store_config cfg;
    store_err err = {0};
    store *s = NULL;
    char url[128];
    int64_t t0 = mono_ms();
    (void)state;
    if (skip_why[0])
        skip();
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/0?connect_timeout_ms=300", redis_free_port());
    store_config_init(&cfg);
    cfg.sqlite_path = db_path;
    cfg.documents = STORE_BACKEND_SQLITE;
    cfg.ephemeral = STORE_BACKEND_REDIS;
    cfg.redis_url = url;
    assert_int_equal(store_open(&cfg, &s, &err), STORE_EUNAVAIL);
    assert_null(s);
    assert_non_null(strstr(err.msg, "unreachable"));
    assert_true(mono_ms() - t0 < 1500);
}

static void test_real_ttl(void **state)
{
    store_err err = {0};
    char *j = NULL;
    int rc;
    redisContext *c;
    redisReply *r;
    store *s = open_store("/0?prefix=ttl:", &rc);
    (void)state;
    assert_int_equal(rc, 0);
    assert_int_equal(store_session_put(s, "short", "{}", 1, &err), 0);
    assert_int_equal(store_cache_put(s, "k", "v", 1, &err), 0);
    assert_int_equal(store_session_append_turn(s, "short", "{\"t\":1}", &err), 0);
    assert_int_equal(store_session_get(s, "short", &j, &err), 0);
    free(j);
    /* Redis holds the TTL itself, so memory stays bounded */
    c = redisConnect("127.0.0.1", srv.port);
    r = redisCommand(c, "PTTL %s", "ttl:s:short");
    assert_true(r->integer > 0 && r->integer <= 1000);
    freeReplyObject(r);
    sleep_ms(1100);
    assert_int_equal(store_session_get(s, "short", &j, &err), STORE_ENOTFOUND);
    assert_int_equal(store_cache_get(s, "k", &j, &err), STORE_ENOTFOUND);
    r = redisCommand(c, "EXISTS %s", "ttl:s:short");
    assert_int_equal(r->integer, 0);
    freeReplyObject(r);
    redisFree(c);
    store_close(s);
}

typedef struct taker {
    store *s;
    int n, ok, other;
} taker;

static void *take_many(void *arg)
{
    taker *t = arg;
    store_err err = {0};
    for (int i = 0; i < t->n; i++) {
        int rc = store_ratelimit_take(t->s, "shared", 0.001, 100, 5000, NULL, &err);
        if (rc == 0)
            t->ok++;
        else if (rc != STORE_ELIMITED)
            t->other++;
    }
    return NULL;
}

static void test_bucket_concurrent(void **state)
{
    int rc, ok = 0;
    pthread_t th[8];
    taker t[8];
    /* two handles stand for two aisle instances sharing one Redis */
    store *a = open_store("/0?prefix=bucket:", &rc), *b;
    (void)state;
    assert_int_equal(rc, 0);
    b = open_store("/0?prefix=bucket:", &rc);
    assert_int_equal(rc, 0);
    for (int i = 0; i < 8; i++) {
        t[i] = (taker){i % 2 ? a : b, 40, 0, 0};
        pthread_create(&th[i], NULL, take_many, &t[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        ok += t[i].ok;
        assert_int_equal(t[i].other, 0);
    }
    assert_int_equal(ok, 100);   /* 320 takes, burst 100, no refill */
    store_close(a);
    store_close(b);
}

typedef struct rotator {
    store *s;
    const char *old;
    char new_hash[32];
    int rc;
} rotator;

static void *rotate(void *arg)
{
    rotator *r = arg;
    store_err err = {0};
    store_token t;
    r->rc = store_token_rotate(r->s, r->old, r->new_hash, store_now_ms(r->s) + 60000,
                               &t, &err);
    return NULL;
}

static void test_token_reuse_race(void **state)
{
    store_err err = {0};
    int rc;
    store *s = open_store("/0?prefix=tokrace:", &rc);
    (void)state;
    assert_int_equal(rc, 0);
    for (int round = 0; round < 20; round++) {
        char old[32], fam[32];
        pthread_t th[2];
        rotator r[2];
        int wins = 0;
        store_token t;
        snprintf(old, sizeof old, "old%d", round);
        snprintf(fam, sizeof fam, "fam%d", round);
        assert_int_equal(store_token_put(s, old, fam, 7, store_now_ms(s) + 60000, &err), 0);
        for (int i = 0; i < 2; i++) {
            r[i] = (rotator){.s = s, .old = old, .rc = -99};
            snprintf(r[i].new_hash, sizeof r[i].new_hash, "new%d.%d", round, i);
            pthread_create(&th[i], NULL, rotate, &r[i]);
        }
        for (int i = 0; i < 2; i++) {
            pthread_join(th[i], NULL);
            if (r[i].rc == 0)
                wins++;
            else
                assert_int_equal(r[i].rc, STORE_EREVOKED);
        }
        assert_int_equal(wins, 1);
        /* the loser's reuse revoked the family: the winner's token is dead too */
        for (int i = 0; i < 2; i++)
            if (r[i].rc == 0)
                assert_int_equal(store_token_rotate(s, r[i].new_hash, "x", store_now_ms(s) + 1000,
                                                    &t, &err), STORE_EREVOKED);
    }
    store_close(s);
}

static void test_prefix_unix_and_urls(void **state)
{
    static const char *const bad[] = {
        "http://127.0.0.1:6379", "redis://127.0.0.1:99999", "redis://127.0.0.1:6379/abc",
        "rediss://127.0.0.1:6379", "redis://127.0.0.1:6379/0?nope=1", "unix://",
        "redis://127.0.0.1:6379/0?db=x",
    };
    store_err err = {0};
    store_config cfg;
    char *j = NULL, url[300];
    int rc;
    store *a = open_store("/0?prefix=one:", &rc), *b, *u;
    (void)state;
    assert_int_equal(rc, 0);
    b = open_store("/0?prefix=two:", &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(store_session_put(a, "same", "{\"who\":\"a\"}", 60, &err), 0);
    assert_int_equal(store_session_get(b, "same", &j, &err), STORE_ENOTFOUND);
    assert_string_equal(store_backend_name(a, 1), "redis");
    /* the same data through the unix socket, same prefix and db */
    snprintf(url, sizeof url, "unix://%s?db=0&prefix=one:", srv.sock);
    store_config_init(&cfg);
    cfg.sqlite_path = db_path;
    cfg.documents = STORE_BACKEND_SQLITE;
    cfg.ephemeral = STORE_BACKEND_REDIS;
    cfg.redis_url = url;
    assert_int_equal(store_open(&cfg, &u, &err), 0);
    assert_int_equal(store_session_get(u, "same", &j, &err), 0);
    assert_string_equal(j, "{\"who\":\"a\"}");
    free(j);
    store_close(u);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cfg.redis_url = bad[i];
        u = NULL;
        assert_int_equal(store_open(&cfg, &u, &err), STORE_ECONFIG);
        assert_null(u);
    }
    store_close(a);
    store_close(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefix_unix_and_urls),
        cmocka_unit_test(test_bucket_concurrent),
        cmocka_unit_test(test_token_reuse_race),
        cmocka_unit_test(test_real_ttl),
        cmocka_unit_test(test_open_while_down),
        cmocka_unit_test(test_restart_mid_test),
    };
    return cmocka_run_group_tests_name("store redis", tests, group_setup, group_teardown);
}
