/* tests/unit/test_store_json.c — the store's JSON check without json-c
 * (stores/json_check.c): what it recognises json-c reads (never a text
 * json-c would refuse, over a hundred thousand damaged texts), every text
 * json-c prints is recognised, and what it does not recognise is still
 * decided by json-c, so store__check_json and store__audit_check accept
 * and refuse what they did before. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "stores/store_int.h"

#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* json-c reads it (json_tokener_parse gives NULL for a text that is JSON
 * null, and the check lets "null" through on its own) */
static int json_c_reads(const char *t)
{
    json_object *o = json_tokener_parse(t);
    int ok = o != NULL;
    json_object_put(o);
    return ok;
}

static void test_recognised(void **state)
{
    (void)state;
    const char *good[] = {
        "{}", "[]", "[[]]", "{\"a\":{}}",
        "{\"a\":1,\"b\":-0.5e+10,\"c\":[true,false,null],\"d\":\"x\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\uD83D\\ude00\"}",
        "[0,-0,1E5,1e-400,1e400,18446744073709551616,-9223372036854775809,3.8599999999999999]",
        "[NaN,Infinity,-Infinity]",
        "{ \"a\" : [ 1 , 2 ] ,\n\t\"b\" :\r\"caf\xc3\xa9\" }",
        "[\"\xff\xfe raw bytes past ASCII\"]",
        "{\"\":\"\"}",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        if (!store__json_plain(good[i]))
            print_message("not recognised: %s\n", good[i]);
        assert_true(store__json_plain(good[i]));
        assert_true(json_c_reads(good[i]));
        assert_int_equal(store__check_json(good[i], "value", NULL), 0);
    }
}

/* Not recognised; store__check_json then answers as json-c does: some of
 * these it accepts (json-c is lenient), others it refuses. */
static void test_others_left_to_json_c(void **state)
{
    (void)state;
    const char *other[] = {
        " {}", "{} ", "{}x", "null", "1", "\"s\"", "true", "{'a':1}", "/*c*/{}", "[1,]", "{\"a\":1,}",
        "[01]", "[1.]", "[.5]", "[+1]", "[-]", "[1e]", "[\"\x01\"]", "[\"\\x\"]", "[\"\\u12\"]", "[\"\\u12g4\"]",
        "[nan]", "[infinity]", "[TRUE]", "[tru]", "{\"a\"}", "{\"a\":}", "{a:1}", "[1 2]", "{\"a\":1 \"b\":2}",
        "[", "{", "[\"abc", "{\"a\":[}", "[}", "{]", "]", "",
        "[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]",   /* 17 deep */
    };
    store_err e = {0};
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        if (store__json_plain(other[i]))
            print_message("recognised: %s\n", other[i]);
        assert_false(store__json_plain(other[i]));
        int want = strcmp(other[i], "null") == 0 || json_c_reads(other[i]) ? 0 : STORE_EINVAL;
        assert_int_equal(store__check_json(other[i], "value", &e), want);
    }
    assert_true(store__json_plain("[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]"));   /* 16 deep */
    /* an audit row's detail: the same rule */
    store_audit_rec a = {.actor = "session:s", .action = "cart.add", .detail_json = "{\"sku\":\"A\",\"qty\":1}"};
    assert_int_equal(store__audit_check(&a, &e), 0);
    a.detail_json = "{'sku':'A'}";   /* json-c's leniency, as before */
    assert_int_equal(store__audit_check(&a, &e), 0);
    a.detail_json = "{\"sku\":";
    assert_int_equal(store__audit_check(&a, &e), STORE_EINVAL);
}

/* json-c's own prints of random values are recognised */
static json_object *random_value(unsigned *seed, int depth)
{
    int k = rand_r(seed) % (depth < 6 ? 9 : 6);
    switch (k) {
    case 0: return json_object_new_int64((int64_t)rand_r(seed) * (rand_r(seed) % 2 ? -1 : 1) * 1000003);
    case 1: return json_object_new_double((double)rand_r(seed) / (rand_r(seed) + 1) * (rand_r(seed) % 2 ? -1e-3 : 1e5));
    case 2: {
        char b[24];
        for (int i = 0; i < 23; i++)
            b[i] = (char)(1 + rand_r(seed) % 255);
        b[23] = 0;
        return json_object_new_string(b);
    }
    case 3: return json_object_new_boolean(rand_r(seed) % 2);
    case 4: return NULL;
    case 5: return json_object_new_double(rand_r(seed) % 3 == 0 ? NAN : (rand_r(seed) % 2 ? INFINITY : -INFINITY));
    case 6:
    case 7: {
        json_object *o = json_object_new_object();
        int n = rand_r(seed) % 5;
        for (int i = 0; i < n; i++) {
            char key[24];
            snprintf(key, sizeof key, "k%d/\"%d", i, rand_r(seed) % 10);
            json_object_object_add(o, key, random_value(seed, depth + 1));
        }
        return o;
    }
    default: {
        json_object *a = json_object_new_array();
        int n = rand_r(seed) % 5;
        for (int i = 0; i < n; i++)
            json_object_array_add(a, random_value(seed, depth + 1));
        return a;
    }
    }
}

/* what json-c prints is recognised; no damaged text is recognised that
 * json-c refuses */
static void test_against_json_c(void **state)
{
    (void)state;
    unsigned seed = 13;
    const int flags[] = {JSON_C_TO_STRING_PLAIN, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
                         JSON_C_TO_STRING_SPACED, JSON_C_TO_STRING_PRETTY};
    long recognised_damaged = 0;
    for (int i = 0; i < 4000; i++) {
        json_object *o = rand_r(&seed) % 2 ? json_object_new_object() : json_object_new_array();
        for (int k = 0; k < 4; k++) {
            if (json_object_is_type(o, json_type_object))
                json_object_object_add(o, k % 2 ? "a" : "b", random_value(&seed, 1));
            else
                json_object_array_add(o, random_value(&seed, 1));
        }
        char *t = strdup(json_object_to_json_string_ext(o, flags[i % 4]));
        assert_true(store__json_plain(t));
        assert_true(json_c_reads(t));
        size_t n = strlen(t);
        for (int m = 0; m < 30 && n > 1; m++) {
            char *d = strdup(t);
            size_t at = (size_t)rand_r(&seed) % n;
            static const char pool[] = "{}[]\",:\\ -+.eE0123456789tfnulNaI\x01x'/";
            switch (rand_r(&seed) % 3) {
            case 0: d[at] = pool[rand_r(&seed) % (sizeof pool - 1)]; break;
            case 1: memmove(d + at, d + at + 1, n - at); break;
            default: d[at] = '\0'; break;
            }
            if (store__json_plain(d)) {
                recognised_damaged++;
                if (!json_c_reads(d))
                    print_message("recognised, json-c refuses: %s\n", d);
                assert_true(json_c_reads(d));
            }
            free(d);
        }
        free(t);
        json_object_put(o);
    }
    /* the damage left plenty of texts valid: the comparison above ran */
    assert_true(recognised_damaged > 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recognised),
        cmocka_unit_test(test_others_left_to_json_c),
        cmocka_unit_test(test_against_json_c),
    };
    return cmocka_run_group_tests_name("stores: the JSON check", tests, NULL, NULL);
}
