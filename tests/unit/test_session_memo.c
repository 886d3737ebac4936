/* tests/unit/test_session_memo.c — the session memo (engine/session_memo.c):
 * its copy is the object json_tokener builds from the printed text (the
 * doubles' texts included, which decide what eng_json_tidy_doubles and
 * the printer write), an entry answers only its own session and text, and
 * a conversation reads the same sessions and sends the same replies with
 * the memo as without it, parsing only what another writer changed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/eng_int.h"
#include "stores/store.h"
#include "sqlite_store.h"

#include <json-c/json.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *plain(json_object *o)
{
    return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
}

/* a session as a turn leaves it: doubles made this turn (no text of
 * their own), read from the store (their text), tidied; ints, a uint64,
 * strings that print escaped, nulls, nesting */
static json_object *sample_session(void)
{
    json_object *read = json_tokener_parse("{\"price\":22.989999999999998,\"rating\":3.8599999999999999,"
                                           "\"n\":30.0,\"big\":1e+20,\"keep\":[1,null,\"a\\/b\"]}");
    assert_non_null(read);
    json_object *s = json_object_new_object();
    json_object_object_add(s, "read", read);
    json_object *shown = json_object_new_array();
    double prices[] = {22.99, 24.99, 0.1, 1.0 / 3, 30.0, -0.0, 123456.789, 1e-7};
    for (size_t i = 0; i < sizeof prices / sizeof prices[0]; i++) {
        json_object *p = json_object_new_object();
        json_object_object_add(p, "sku", json_object_new_string("SUN-1"));
        json_object_object_add(p, "price", json_object_new_double(prices[i]));
        json_object_array_add(shown, p);
    }
    json_object_array_add(shown, NULL);
    json_object_object_add(s, "shown", shown);
    json_object *tidied = json_object_new_double(19.99);
    eng_json_tidy_doubles(tidied);
    json_object_object_add(s, "tidied", tidied);
    json_object_object_add(s, "nan", json_object_new_double(NAN));
    json_object_object_add(s, "turns", json_object_new_int64(41));
    json_object_object_add(s, "neg", json_object_new_int64(-7));
    json_object_object_add(s, "huge", json_object_new_uint64(UINT64_MAX));
    json_object_object_add(s, "yes", json_object_new_boolean(1));
    json_object_object_add(s, "none", NULL);
    static const char odd[] = "a \"q\" / \\ \n\t caf\xc3\xa9 \x01 nul\0!";
    json_object_object_add(s, "text", json_object_new_string_len(odd, (int)sizeof odd - 1));
    json_object_object_add(s, "empty", json_object_new_object());
    json_object_object_add(s, "list", json_object_new_array());
    return s;
}

/* The copy and the parse of the printed text are one object: equal, the
 * same text printed either way, and the same text again after tidying
 * (a double with no text of its own would be tidied to "22.99" where the
 * parsed one keeps "22.989999999999998"). */
static void test_copy_reads_as_parsed(void **state)
{
    (void)state;
    json_object *s = sample_session();
    char *text = strdup(plain(s));
    json_object *parsed = json_tokener_parse(text), *copy = eng__session_memo_copy(s);
    assert_non_null(parsed);
    assert_non_null(copy);
    assert_string_equal(plain(copy), text);
    assert_string_equal(plain(parsed), text);
    /* equal as values too (NaN equals nothing, itself included) */
    assert_true(isnan(json_object_get_double(json_object_object_get(copy, "nan"))));
    json_object *pn = json_object_get(json_object_object_get(parsed, "nan"));
    json_object *cn = json_object_get(json_object_object_get(copy, "nan"));
    json_object_object_del(parsed, "nan");
    json_object_object_del(copy, "nan");
    assert_true(json_object_equal(parsed, copy));
    json_object_object_add(parsed, "nan", pn);
    json_object_object_add(copy, "nan", cn);
    eng_json_tidy_doubles(parsed);
    eng_json_tidy_doubles(copy);
    int fl = JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE;
    char *pt = strdup(json_object_to_json_string_ext(parsed, fl));
    assert_string_equal(json_object_to_json_string_ext(copy, fl), pt);
    /* and a double of its own, no text, would not have been */
    json_object *bare = json_object_new_double(22.99), *read = json_tokener_parse("22.989999999999998");
    eng_json_tidy_doubles(bare);
    eng_json_tidy_doubles(read);
    assert_string_not_equal(plain(bare), plain(read));
    json_object_put(bare);
    json_object_put(read);
    /* the copy owns its own objects: changing the source changes nothing */
    free(text);
    text = strdup(plain(copy));
    json_object_object_add(s, "turns", json_object_new_int64(99));
    json_object_object_del(json_object_array_get_idx(json_object_object_get(s, "shown"), 0), "sku");
    assert_string_equal(plain(copy), text);
    free(pt);
    free(text);
    json_object_put(parsed);
    json_object_put(copy);
    json_object_put(s);
}

/* Deeper than the memo copies: left to the parser (which refuses texts
 * past its own depth), never kept. */
static void test_too_deep_not_kept(void **state)
{
    (void)state;
    json_object *root = json_object_new_object(), *o = root;
    for (int i = 0; i < 40; i++) {
        json_object *in = json_object_new_object();
        json_object_object_add(o, "in", in);
        o = in;
    }
    assert_null(eng__session_memo_copy(root));
    const char *t = plain(root);
    eng__session_memo_put("deep", t, strlen(t), root);
    assert_null(eng__session_memo_take("deep", t, strlen(t)));
    json_object_put(root);
}

/* An entry answers its own session and exactly its own text, once. */
static void test_take_own_text_once(void **state)
{
    (void)state;
    json_object *s = sample_session();
    char *text = strdup(plain(s));
    size_t n = strlen(text);
    unsigned long long h0, m0, h1, m1;
    eng__session_memo_stats(&h0, &m0, NULL);
    eng__session_memo_put("memo-a", text, n, s);
    assert_null(eng__session_memo_take("memo-b", text, n));       /* another session */
    json_object *o = eng__session_memo_take("memo-a", text, n);
    assert_non_null(o);
    assert_string_equal(plain(o), text);
    assert_true(o != s);
    json_object_put(o);
    assert_null(eng__session_memo_take("memo-a", text, n));       /* moved out */
    /* a text written by someone else: a miss, and the entry is gone */
    eng__session_memo_put("memo-a", text, n, s);
    text[n - 2] = text[n - 2] == '1' ? '2' : '1';
    assert_null(eng__session_memo_take("memo-a", text, n));
    text[n - 2] = text[n - 2] == '1' ? '2' : '1';
    assert_null(eng__session_memo_take("memo-a", text, n));
    assert_null(eng__session_memo_take("memo-a", text, n - 1));
    /* off: nothing kept */
    eng__session_memo_set(0);
    eng__session_memo_put("memo-a", text, n, s);
    assert_null(eng__session_memo_take("memo-a", text, n));
    eng__session_memo_set(1);
    eng__session_memo_stats(&h1, &m1, NULL);
    assert_int_equal(h1 - h0, 1);
    assert_true(m1 - m0 >= 4);
    free(text);
    json_object_put(s);
}

/* Bounded: a text over 8 KiB is not kept, nor anything once the kept
 * texts reach 4 MiB; what is taken or replaced no longer counts. */
static void test_bounded(void **state)
{
    (void)state;
    eng__session_memo_set(0);
    eng__session_memo_set(1);
    assert_int_equal(eng__session_memo_held(), 0);
    json_object *big = json_object_new_object();
    char *pad = malloc(9000);
    memset(pad, 'x', 8999);
    pad[8999] = '\0';
    json_object_object_add(big, "pad", json_object_new_string(pad));
    const char *t = plain(big);
    eng__session_memo_put("memo-big", t, strlen(t), big);
    assert_null(eng__session_memo_take("memo-big", t, strlen(t)));
    json_object_put(big);
    /* 1 KiB sessions: one entry a slot, 1,024 at most */
    json_object *s = json_object_new_object();
    pad[1000] = '\0';
    json_object_object_add(s, "pad", json_object_new_string(pad));
    t = plain(s);
    size_t n = strlen(t);
    char sid[32];
    for (int i = 0; i < 3000; i++) {
        snprintf(sid, sizeof sid, "memo-b%d", i);
        eng__session_memo_put(sid, t, n, s);
    }
    size_t h = eng__session_memo_held();
    assert_true(h > 0 && h <= 1024 * n);   /* one entry a slot at most */
    assert_true(h <= 4 * 1024 * 1024);
    eng__session_memo_set(0);
    assert_int_equal(eng__session_memo_held(), 0);
    eng__session_memo_set(1);
    json_object_put(s);
    free(pad);
}

/* Threads putting and taking the same few sessions: every object taken
 * prints as the text it was taken with (run under the sanitizers). */
typedef struct churn {
    int id;
    int bad;
} churn;

static void *churn_run(void *arg)
{
    churn *c = arg;
    char sid[16], text[64];
    for (int i = 0; i < 2000; i++) {
        snprintf(sid, sizeof sid, "ch-%d", i % 3);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "who", json_object_new_int(c->id));
        json_object_object_add(o, "i", json_object_new_int(i));
        json_object_object_add(o, "d", json_object_new_double(i / 7.0));
        snprintf(text, sizeof text, "%s", plain(o));
        eng__session_memo_put(sid, text, strlen(text), o);
        json_object_put(o);
        json_object *t = eng__session_memo_take(sid, text, strlen(text));
        if (t && strcmp(plain(t), text) != 0)
            c->bad++;
        json_object_put(t);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    pthread_t th[6];
    churn c[6];
    for (int i = 0; i < 6; i++) {
        c[i] = (churn){.id = i};
        assert_int_equal(pthread_create(&th[i], NULL, churn_run, &c[i]), 0);
    }
    for (int i = 0; i < 6; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(c[i].bad, 0);
    }
}

/* ------------------------- a conversation, with and without the memo */

static eng_pipeline *commerce;
static store *st;
static char dir[64];

static const char *const mix[] = {"show me sunglasses", "tell me more about the first one", "add it to my cart",
                                  "whats in my cart?", "only the ones under 30 dollars", "remove it from my cart"};
#define NMIX (sizeof mix / sizeof mix[0])

/* the mix twice on session sid; each reply's text as a channel sends it
 * (trace ids fixed) into out[], the session's stored text into *sess */
static void converse_mix(const char *sid, char **out, char **sess)
{
    for (size_t i = 0; i < 2 * NMIX; i++) {
        char mid[16];
        snprintf(mid, sizeof mid, "m%zu", i);
        eng_deps deps = {.store = st};
        eng_converse_opts o = {
            .text = mix[i % NMIX], .session_id = sid, .message_id = mid, .trace_id = "t", .deps = &deps,
        };
        eng_converse_result r = {0};
        eng_err e = {0};
        assert_int_equal(eng_converse(commerce, &o, &r, &e), 0);
        assert_non_null(r.reply_text);
        /* the cart's id names the session: the same words otherwise */
        char *t = strdup(r.reply_text), *p;
        while ((p = strstr(t, sid)))
            memset(p, '_', strlen(sid));
        out[i] = t;
        eng_converse_result_clear(&r);
    }
    store_err se = {0};
    assert_int_equal(store_session_get(st, sid, sess, &se), 0);
}

static void test_converse_same_with_memo(void **state)
{
    (void)state;
    char *off[2 * NMIX], *on[2 * NMIX], *s_off, *s_on;
    unsigned long long h0, h1, m0, m1;
    eng__session_memo_set(0);
    converse_mix("conv-off", off, &s_off);
    eng__session_memo_set(1);
    eng__session_memo_stats(&h0, &m0, NULL);
    converse_mix("conv-onn", on, &s_on);
    eng__session_memo_stats(&h1, &m1, NULL);
    for (size_t i = 0; i < 2 * NMIX; i++) {
        assert_string_equal(on[i], off[i]);
        free(on[i]);
        free(off[i]);
    }
    assert_string_equal(s_on, s_off);
    free(s_on);
    free(s_off);
    /* every turn after the first read the session it had saved */
    assert_int_equal(h1 - h0, 2 * NMIX - 1);
    assert_int_equal(m1 - m0, 0);
}

/* A session written by another writer (another instance, an operator)
 * after this process saved it: read from the store, not the memo. */
static void test_converse_reads_other_writer(void **state)
{
    (void)state;
    eng_deps deps = {.store = st};
    eng_converse_opts o = {.text = "show me sunglasses", .session_id = "conv-other", .message_id = "x1", .deps = &deps};
    eng_converse_result r = {0};
    eng_err e = {0};
    assert_int_equal(eng_converse(commerce, &o, &r, &e), 0);
    eng_converse_result_clear(&r);
    store_err se = {0};
    assert_int_equal(store_session_save(st, "conv-other", "{\"turns\":41}", 0, "{\"at\":1}", &se), 0);
    unsigned long long m0, m1;
    eng__session_memo_stats(NULL, &m0, NULL);
    o.message_id = "x2";
    assert_int_equal(eng_converse(commerce, &o, &r, &e), 0);
    eng__session_memo_stats(NULL, &m1, NULL);
    assert_int_equal(m1 - m0, 1);
    json_object *t = NULL;
    assert_true(json_object_object_get_ex(r.session, "turns", &t));
    assert_int_equal(json_object_get_int64(t), 42);
    eng_converse_result_clear(&r);
}

static int conv_setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/aisle-memo-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/aisle.db", dir);
    st = test_sqlite_store(path);
    test_import_catalog(st, "examples/catalog/products.json");
    eng_diags d;
    eng_diags_init(&d);
    int rc = eng_pipeline_load("pipelines/commerce.yaml", &commerce, &d);
    if (rc != 0)
        eng_diags_print(&d, stderr);
    eng_diags_free(&d);
    return rc;
}

static int conv_teardown(void **state)
{
    (void)state;
    char cmd[128];
    eng_pipeline_release(commerce);
    store_close(st);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    eng__session_memo_set(0);   /* nothing left for the leak checker */
    return system(cmd) == 0 ? 0 : -1;
}

/* The memo's own text for a double with none (no snprintf) is json-c's,
 * byte for byte, wherever it gives one; it gives one for every number
 * "%.17g" writes without an exponent, and none where json-c writes an
 * exponent, NaN or Infinity. */
static int check_double(double d)
{
    char b[32];
    json_object *o = json_object_new_double(d);
    const char *want = plain(o);
    int got = eng__session_memo_double_text(d, b);
    if (got) {
        if (strcmp(b, want) != 0)
            fail_msg("%.17g: memo \"%s\", json-c \"%s\"", d, b, want);
    } else if (!strpbrk(want, "eNI") && fpclassify(d) != FP_SUBNORMAL) {
        fail_msg("%.17g: left to json-c (\"%s\")", d, want);
    }
    json_object_put(o);
    return got;
}

static uint64_t rnd(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void test_double_text(void **state)
{
    (void)state;
    uint64_t x = 88172645463325252ull;
    long written = 0;
    /* every bit pattern */
    for (int i = 0; i < 200000; i++) {
        uint64_t bits = rnd(&x);
        double d;
        memcpy(&d, &bits, sizeof d);
        written += check_double(d);
    }
    /* magnitudes from 1e-6 to 1e18, both signs */
    for (int i = 0; i < 300000; i++) {
        double d = pow(10.0, -6.0 + 24.0 * (double)(rnd(&x) >> 11) / 9007199254740992.0);
        written += check_double((rnd(&x) & 1) ? -d : d);
    }
    /* prices and ratings: cents, and sums and products of them */
    for (int c = 0; c < 200000; c++) {
        written += check_double(c / 100.0);
        written += check_double((double)(rnd(&x) % 100000) / 100.0 * (double)(1 + rnd(&x) % 9));
        written += check_double((double)(rnd(&x) % 100000) / 100.0 + (double)(rnd(&x) % 100000) / 100.0);
    }
    /* exact halves after 17 digits (ties: to even, as glibc rounds) */
    for (int k = 0; k <= 8; k++)
        for (int i = 0; i < 20000; i++) {
            uint64_t m = (1ull << 52) | (rnd(&x) & ((1ull << 52) - 1)) | 1;
            written += check_double(ldexp((double)m, -k - 1));
            written += check_double(ldexp((double)m, -k - 2));
        }
    /* at and beside the powers of ten, and at the ends of the range */
    for (int n = -8; n <= 19; n++) {
        double p = pow(10.0, n);
        for (double d = p, i = 0; i < 40; i++, d = nextafter(d, 0))
            check_double(d);
        for (double d = p, i = 0; i < 40; i++, d = nextafter(d, INFINITY))
            check_double(d);
    }
    double special[] = {0.0, -0.0, 1.0, -1.0, 0.5, 1e-4, 9.9999999999999991e-5, 1e17, 99999999999999984.0,
                        99999999999999999.0, 4503599627370496.0, 9007199254740993.0, 22.99, 0.1, 1.0 / 3,
                        123456.789, 1e-7, NAN, INFINITY, -INFINITY, 4.9406564584124654e-324, DBL_MAX};
    for (size_t i = 0; i < sizeof special / sizeof *special; i++)
        check_double(special[i]);
    char b[32];
    assert_true(eng__session_memo_double_text(-0.0, b));
    assert_string_equal(b, "-0.0");
    assert_true(eng__session_memo_double_text(30.0, b));
    assert_string_equal(b, "30.0");
    assert_true(eng__session_memo_double_text(22.99, b));
    assert_string_equal(b, "22.989999999999998");
    assert_false(eng__session_memo_double_text(1e-7, b));
    assert_false(eng__session_memo_double_text(1e20, b));
    /* the common numbers are written here, not left to json-c */
    assert_true(written > 800000);
}

int main(void)
{
    const struct CMUnitTest unit[] = {
        cmocka_unit_test(test_copy_reads_as_parsed),
        cmocka_unit_test(test_double_text),
        cmocka_unit_test(test_too_deep_not_kept),
        cmocka_unit_test(test_take_own_text_once),
        cmocka_unit_test(test_bounded),
        cmocka_unit_test(test_threads),
    };
    const struct CMUnitTest conv[] = {
        cmocka_unit_test(test_converse_same_with_memo),
        cmocka_unit_test(test_converse_reads_other_writer),
    };
    int failed = cmocka_run_group_tests_name("session memo", unit, NULL, NULL);
    failed += cmocka_run_group_tests_name("session memo, conversations", conv, conv_setup, conv_teardown);
    eng__session_memo_set(0);
    return failed;
}
