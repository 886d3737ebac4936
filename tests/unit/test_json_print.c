/* tests/unit/test_json_print.c — eng__json_print (engine/json_print.c)
 * writes json-c's own text, byte for byte, for JSON_C_TO_STRING_PLAIN
 * with and without JSON_C_TO_STRING_NOSLASHESCAPE: random trees of every
 * kind of value (strings with every byte 1..255 and NULs inside, keys
 * that need escaping, the int64 and uint64 extremes, doubles with a text
 * of their own, tidied, and without: NaN, the infinities, -0.0,
 * exponents, subnormals), parsed texts, a session as a turn leaves it;
 * other flags copy json-c's text; out of memory gives NULL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/eng.h"
#include "engine/eng_int.h"
#include <json-c/json.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint64_t rnd64(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}
static unsigned rnd(unsigned n) { return (unsigned)(rnd64() % n); }

static void same(json_object *o, int flags)
{
    size_t n = 0, len = 0;
    const char *want = json_object_to_json_string_length(o, flags, &n);
    char *got = eng__json_print(o, flags, &len);
    assert_non_null(want);
    assert_non_null(got);
    if (len != n || memcmp(got, want, n) != 0 || got[len] != '\0')
        fail_msg("flags %d:\n json-c: %s\n    got: %s", flags, want, got);
    free(got);
}

static void same_all(json_object *o)
{
    same(o, JSON_C_TO_STRING_PLAIN);
    same(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

static void random_text(char *b, size_t *n)
{
    static const char *const pieces[] = {"/", "\"", "\\", "\n", "\t", "\r", "\b", "\f", "caf\xc3\xa9", "\x7f",
                                         "\x01", "\x1f", "http://x/y", "a", "plain text ", "\xe2\x82\xac", ""};
    size_t len = 0;
    unsigned parts = rnd(8) == 0 ? 10 + rnd(40) : rnd(6);
    for (unsigned i = 0; i < parts; i++) {
        if (rnd(4) == 0) {
            b[len++] = (char)(1 + rnd(255));   /* any byte but NUL */
        } else if (rnd(20) == 0) {
            b[len++] = '\0';                   /* inside a string value */
        } else {
            const char *p = pieces[rnd(sizeof pieces / sizeof pieces[0])];
            size_t l = strlen(p);
            memcpy(b + len, p, l);
            len += l;
        }
    }
    b[len] = '\0';
    *n = len;
}

static json_object *random_double(void)
{
    static const double special[] = {0.0, -0.0, 1.0, -1.0, 0.1, 22.99, 1e17, 1e16, 9.999999999999999e16, 1e-4,
                                     9.9e-5, 1e-5, 123456.789, 1e300, -1e-300, 5e-324, DBL_MAX, DBL_MIN, 0.5,
                                     1.0 / 3, 100.0, 2.5e-7};
    double d;
    switch (rnd(6)) {
    case 0: d = special[rnd(sizeof special / sizeof special[0])]; break;
    case 1: d = rnd(3) == 0 ? NAN : rnd(2) ? INFINITY : -INFINITY; break;
    case 2: {
        uint64_t bits = rnd64();
        memcpy(&d, &bits, sizeof d);
        break;
    }
    case 3: d = (double)rnd(100000) / 100.0; break;
    default: d = ((double)rnd64() / 18446744073709551616.0) * pow(10, (int)rnd(30) - 10); break;
    }
    json_object *v = json_object_new_double(d);
    unsigned k = rnd(3);
    if (k == 1)
        eng_json_tidy_doubles(v);   /* a text of its own, as replies and sessions have */
    else if (k == 2) {
        json_object_put(v);
        v = json_object_new_double_s(d, "12.50");   /* the parser's kind of text */
    }
    return v;
}

static json_object *random_value(int depth)
{
    unsigned r = rnd(depth > 5 ? 6 : 9);
    char b[256];
    size_t n;
    switch (r) {
    case 0: return NULL;
    case 1: return json_object_new_boolean((int)rnd(2));
    case 2: {
        static const int64_t ints[] = {0, 1, -1, 9, 10, -10, INT64_MAX, INT64_MIN, INT64_MAX - 1, INT64_MIN + 1,
                                       1234567890123, -42};
        if (rnd(5) == 0)
            return json_object_new_uint64(rnd(2) ? UINT64_MAX : (uint64_t)INT64_MAX + 1 + rnd(1000));
        if (rnd(3) == 0)
            return json_object_new_int64((int64_t)rnd64());
        return json_object_new_int64(ints[rnd(sizeof ints / sizeof ints[0])]);
    }
    case 3: return random_double();
    case 4:
    case 5:
        random_text(b, &n);
        return json_object_new_string_len(b, (int)n);
    case 6:
    case 7: {
        json_object *o = json_object_new_object();
        unsigned k = rnd(8);
        for (unsigned i = 0; i < k; i++) {
            random_text(b, &n);   /* a key stops at its first NUL, as json-c prints it */
            json_object_object_add(o, b, random_value(depth + 1));
        }
        return o;
    }
    default: {
        json_object *a = json_object_new_array();
        unsigned k = rnd(6);
        for (unsigned i = 0; i < k; i++)
            json_object_array_add(a, random_value(depth + 1));
        return a;
    }
    }
}

static void test_random_trees(void **state)
{
    (void)state;
    for (int i = 0; i < 20000; i++) {
        json_object *o = random_value(0);
        same_all(o);
        /* the tree as the parser reads it back (texts kept on doubles) */
        const char *t = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        json_object *back = json_tokener_parse(t);
        if (back)
            same_all(back);
        json_object_put(back);
        json_object_put(o);
    }
}

static void test_fixed(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "{}", "[]", "null", "true", "false", "0", "-0", "1.0", "-0.0", "1e400", "[null,null]", "{\"\":null}",
        "{\"a\\/b\":\"c\\/d\",\"\\u0000x\":1}", "\"\\u0001\\u001f\\u007f\\ud83d\\ude00\"",
        "{\"session\":{\"turns\":41,\"last\":{\"shown\":[{\"sku\":\"SUN-1\",\"price\":22.989999999999998}]},"
        "\"pending\":null,\"cart\":{\"items\":[],\"total\":0.0}},\"n\":18446744073709551615}",
        "[1.5e300,2E-7,12345678901234567890,-9223372036854775808,9223372036854775807]",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        json_object *o = json_tokener_parse(texts[i]);
        same_all(o);
        json_object_put(o);
    }
    /* NULL is "null" */
    size_t len = 0;
    char *t = eng__json_print(NULL, JSON_C_TO_STRING_PLAIN, &len);
    assert_string_equal(t, "null");
    assert_int_equal(len, 4);
    free(t);
    /* other flags: json-c's text */
    json_object *o = json_tokener_parse("{\"a\":[1,{\"b\":\"x/y\"}],\"c\":2.5}");
    same(o, JSON_C_TO_STRING_SPACED);
    same(o, JSON_C_TO_STRING_PRETTY);
    same(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
    /* a long text grows the buffer past its first size */
    json_object *big = json_object_new_array();
    for (int i = 0; i < 3000; i++)
        json_object_array_add(big, json_object_get(o));
    same_all(big);
    json_object_put(big);
    json_object_put(o);
}

/* every byte json-c escapes (and some it does not) at every place of
 * strings up to 41 bytes, alone and in pairs: the eight-at-a-time scan
 * must find each of them wherever it falls */
static void test_escape_positions(void **state)
{
    (void)state;
    static const unsigned char cs[] = {0x01, 0x08, 0x0a, 0x1f, '"', '\\', '/', 0x7f, 0x80, 0xff, ' ', '!', '0',
                                       0x21, 0x5b, 0x5d, 0x2e, 0xa2, 0xdc, 0xaf, 0x00};
    char b[64];
    for (size_t n = 0; n <= 41; n++)
        for (size_t at = 0; at < n; at++)
            for (size_t ci = 0; ci < sizeof cs; ci++)
                for (size_t gap = 0; gap < 10; gap++) {
                    memset(b, 'x', n);
                    b[at] = (char)cs[ci];
                    if (gap && at + gap < n)
                        b[at + gap] = (char)cs[(ci + gap) % sizeof cs];
                    json_object *o = json_object_new_string_len(b, (int)n);
                    same_all(o);
                    json_object_put(o);
                }
}

static void test_out_of_memory(void **state)
{
    (void)state;
    json_object *o = json_object_new_array();
    for (int i = 0; i < 500; i++)
        json_object_array_add(o, json_object_new_string("a text long enough to need more than one block"));
    for (long n = 0; n < 4; n++) {
        eng_alloc_fail_after(n);
        char *t = eng__json_print(o, JSON_C_TO_STRING_PLAIN, NULL);
        eng_alloc_fail_after(-1);
        assert_null(t);
    }
    char *t = eng__json_print(o, JSON_C_TO_STRING_PLAIN, NULL);
    assert_non_null(t);
    free(t);
    json_object_put(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed),
        cmocka_unit_test(test_random_trees),
        cmocka_unit_test(test_escape_positions),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
