/* tests/unit/test_sqlite_stmt_cache.c — the SQLite backend's statement
 * cache (sq__prep, stores/sqlite/sqlite_conn.c): found by address or by
 * text, it keeps and evicts exactly what the linear scan it replaced did
 * (checked against that scan as a model over random sequences of texts,
 * literals and reused buffers), hands a statement back reset and
 * unbound, and leaves the cache as it was when a text does not prepare. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "stores/sqlite/sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void conn_open(sq_conn *c)
{
    memset(c, 0, sizeof *c);
    assert_int_equal(sqlite3_open(":memory:", &c->db), SQLITE_OK);
}

/* The cache as the linear scan kept it: texts by slot, round-robin. */
typedef struct model {
    char *sql[SQ_STMT_CACHE];
    sqlite3_stmt *st[SQ_STMT_CACHE];
    int next_evict;
} model;

/* What sq__prep must do for `sql`: returns the slot, *hit whether it was
 * kept already (then its statement is the one handed out before). */
static int model_prep(model *m, const char *sql, int *hit)
{
    int i;
    for (i = 0; i < SQ_STMT_CACHE; i++)
        if (m->sql[i] && !strcmp(m->sql[i], sql)) {
            *hit = 1;
            return i;
        }
    *hit = 0;
    for (i = 0; i < SQ_STMT_CACHE && m->sql[i]; i++)
        ;
    if (i == SQ_STMT_CACHE) {
        i = m->next_evict;
        m->next_evict = (m->next_evict + 1) % SQ_STMT_CACHE;
        free(m->sql[i]);
    }
    m->sql[i] = strdup(sql);
    return i;
}

static void check_same(const sq_conn *c, const model *m)
{
    for (int i = 0; i < SQ_STMT_CACHE; i++) {
        if (!m->sql[i]) {
            assert_null(c->cache[i].sql);
            continue;
        }
        assert_non_null(c->cache[i].sql);
        assert_string_equal(c->cache[i].sql, m->sql[i]);
    }
    assert_int_equal(c->next_evict, m->next_evict);
}

static void model_free(model *m)
{
    for (int i = 0; i < SQ_STMT_CACHE; i++)
        free(m->sql[i]);
}

/* the same text at two addresses, and one buffer holding two texts */
static void test_addresses(void **state)
{
    (void)state;
    sq_conn c;
    conn_open(&c);
    char a[64], b[64];
    snprintf(a, sizeof a, "SELECT 1 + 1");
    snprintf(b, sizeof b, "SELECT 1 + 1");
    sqlite3_stmt *s1 = sq__prep(&c, a, NULL);
    assert_non_null(s1);
    assert_ptr_equal(sq__prep(&c, b, NULL), s1);
    assert_ptr_equal(sq__prep(&c, "SELECT 1 + 1", NULL), s1);
    assert_ptr_equal(sq__prep(&c, a, NULL), s1);
    /* the buffer at a's address now holds another text */
    snprintf(a, sizeof a, "SELECT 2 + 2");
    sqlite3_stmt *s2 = sq__prep(&c, a, NULL);
    assert_non_null(s2);
    assert_ptr_not_equal(s2, s1);
    assert_string_equal(sqlite3_sql(s2), "SELECT 2 + 2");
    assert_ptr_equal(sq__prep(&c, b, NULL), s1);
    assert_int_equal(sqlite3_step(s2), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(s2, 0), 4);
    sq__conn_close(&c);
}

/* handed back reset and with its parameters NULL again */
static void test_reset_and_unbound(void **state)
{
    (void)state;
    sq_conn c;
    conn_open(&c);
    const char *sql = "SELECT ?1";
    sqlite3_stmt *st = sq__prep(&c, sql, NULL);
    assert_non_null(st);
    sqlite3_bind_int(st, 1, 5);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 5);
    /* asked again mid-row, by another copy of the text */
    char copy[16];
    snprintf(copy, sizeof copy, "%s", sql);
    assert_ptr_equal(sq__prep(&c, copy, NULL), st);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_type(st, 0), SQLITE_NULL);
    sq__conn_close(&c);
}

/* a text that does not prepare: NULL, the error said, nothing kept */
static void test_bad_sql(void **state)
{
    (void)state;
    sq_conn c;
    conn_open(&c);
    store_err err = {0};
    sqlite3_stmt *ok = sq__prep(&c, "SELECT 7", NULL);
    assert_non_null(ok);
    assert_null(sq__prep(&c, "SELEC nothing", &err));
    assert_int_not_equal(err.code, 0);
    assert_non_null(strstr(err.msg, "prepare"));
    int kept = 0;
    for (int i = 0; i < SQ_STMT_CACHE; i++)
        kept += c.cache[i].sql != NULL;
    assert_int_equal(kept, 1);
    assert_ptr_equal(sq__prep(&c, "SELECT 7", NULL), ok);
    sq__conn_close(&c);
}

/* Many texts, more than the cache holds, asked in a random order from
 * literals (fixed addresses) and from one reused buffer: every answer is
 * a statement of that text; a kept one is the statement handed out
 * before; the slots and the eviction cursor are the linear scan's. */
static void test_against_scan(void **state)
{
    (void)state;
    enum { N = 150 };
    static char texts[N][48];
    for (int i = 0; i < N; i++)
        snprintf(texts[i], sizeof texts[i], "SELECT %d AS n, 'x%d'", i, i * 7);
    for (int round = 0; round < 3; round++) {
        sq_conn c;
        model m = {0};
        conn_open(&c);
        unsigned x = 12345u + (unsigned)round;
        /* round 0: 40 texts (never evicts); 1: 64 exactly; 2: all 150 */
        int span = round == 0 ? 40 : round == 1 ? SQ_STMT_CACHE : N;
        char buf[48];
        for (int step = 0; step < 20000; step++) {
            x = x * 1103515245u + 12345u;
            int t = (int)((x >> 8) % (unsigned)span);
            /* hot texts: half the asks go to the first eight */
            if ((x >> 24) & 1)
                t %= 8;
            const char *sql = texts[t];
            if ((x >> 25) & 1) {
                snprintf(buf, sizeof buf, "%s", texts[t]);
                sql = buf;
            }
            int hit;
            int slot = model_prep(&m, sql, &hit);
            sqlite3_stmt *st = sq__prep(&c, sql, NULL);
            assert_non_null(st);
            assert_string_equal(sqlite3_sql(st), texts[t]);
            if (hit)
                assert_ptr_equal(st, m.st[slot]);
            m.st[slot] = st;
            assert_ptr_equal(c.cache[slot].st, st);
            if (step % 97 == 0)
                check_same(&c, &m);
        }
        check_same(&c, &m);
        if (round == 2) {
            /* a full cache whose texts came and went: each kept text is
             * found once, and its statement still runs */
            for (int i = 0; i < SQ_STMT_CACHE; i++) {
                assert_non_null(c.cache[i].sql);
                assert_ptr_equal(sq__prep(&c, m.sql[i], NULL), m.st[i]);
                assert_int_equal(sqlite3_step(m.st[i]), SQLITE_ROW);
            }
        }
        model_free(&m);
        sq__conn_close(&c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addresses),
        cmocka_unit_test(test_reset_and_unbound),
        cmocka_unit_test(test_bad_sql),
        cmocka_unit_test(test_against_scan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
