/* tests/unit/test_json_path.c — eng__json_path (engine/jsonutil.c) against
 * the implementation it replaced (each part copied and hashed, kept here
 * as the model): the same borrowed pointer for every path, over random
 * trees whose objects are below and above the size that is scanned,
 * with keys that share first bytes, prefixes of each other, digits, dots,
 * the empty key and keys of 127, 128 and 200 bytes; paths with empty
 * parts, leading and trailing dots, indexes strtol reads or refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/eng_int.h"
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the model: eng__json_path before session 29 */
static json_object *old_path(json_object *root, const char *path)
{
    json_object *cur = root;
    const char *p = path;
    char key[128];
    while (cur && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n == 0 || n >= sizeof key)
            return NULL;
        memcpy(key, p, n);
        key[n] = '\0';
        if (json_object_is_type(cur, json_type_object)) {
            if (!json_object_object_get_ex(cur, key, &cur))
                return NULL;
        } else if (json_object_is_type(cur, json_type_array)) {
            char *end;
            long i = strtol(key, &end, 10);
            if (*end || i < 0 || (size_t)i >= json_object_array_length(cur))
                return NULL;
            cur = json_object_array_get_idx(cur, (size_t)i);
        } else {
            return NULL;
        }
        p += n;
        if (*p == '.')
            p++;
    }
    return cur;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

static char long127[128], long128[129], long200[201];

/* keys and path parts: short ones that share first bytes and are
 * prefixes of each other, digits, a key with a dot, long ones */
static const char *word(void)
{
    static const char *const w[] = {"a", "ab", "abc", "b", "ba", "session", "sessions", "s", "slots", "vars",
                                    "0", "1", "2", "01", "-1", "+1", " 1", "1 ", "x.y", "", "k", "ka", "kb",
                                    "99999999999999999999", "-99999999999999999999", "abd", "sku", "sk"};
    unsigned r = rnd(40);
    if (r == 0)
        return long127;
    if (r == 1)
        return long128;
    if (r == 2)
        return long200;
    return w[r % (sizeof w / sizeof w[0])];
}

static json_object *tree(int depth)
{
    unsigned r = rnd(depth > 3 ? 3 : 8);
    if (r == 0)
        return NULL;
    if (r == 1)
        return json_object_new_string("leaf");
    if (r == 2)
        return json_object_new_int(7);
    if (r <= 5) {
        json_object *o = json_object_new_object();
        /* sizes below and above PATH_SCAN_MAX (24); generated keys make
         * the large ones large */
        unsigned n = rnd(4) == 0 ? 20 + rnd(20) : rnd(8);
        for (unsigned i = 0; i < n; i++) {
            char gen[16];
            const char *k = word();
            if (rnd(3) == 0) {
                snprintf(gen, sizeof gen, "g%u", rnd(60));
                k = gen;
            }
            json_object_object_add(o, k, tree(depth + 1));
        }
        /* some deleted keys, so that the list and the hash have holes */
        if (rnd(3) == 0)
            json_object_object_del(o, word());
        return o;
    }
    json_object *a = json_object_new_array();
    unsigned n = rnd(5);
    for (unsigned i = 0; i < n; i++)
        json_object_array_add(a, tree(depth + 1));
    return a;
}

static void random_path(char *b, size_t cap)
{
    size_t len = 0;
    unsigned parts = rnd(5);
    b[0] = '\0';
    if (rnd(10) == 0)
        b[len++] = '.';
    for (unsigned i = 0; i < parts; i++) {
        const char *w = word();
        if (rnd(6) == 0) {
            char gen[16];
            snprintf(gen, sizeof gen, "g%u", rnd(60));
            w = gen;
            len += (size_t)snprintf(b + len, cap - len, "%s", w);
        } else {
            len += (size_t)snprintf(b + len, cap - len, "%s", w);
        }
        if (i + 1 < parts || rnd(8) == 0)
            b[len++] = '.';
        if (rnd(20) == 0)
            b[len++] = '.';
        b[len] = '\0';
    }
}

static void test_edge_cases(void **state)
{
    (void)state;
    json_object *o = json_tokener_parse("{\"a\":{\"b\":[10,{\"c\":null},\"s\"],\"\":1,\"0\":\"zero\",\"x.y\":2},"
                                        "\"n\":null,\"ab\":3,\"abc\":4}");
    assert_non_null(o);
    json_object *big = json_object_new_object();
    char k[16];
    for (int i = 0; i < 40; i++) {
        snprintf(k, sizeof k, "k%d", i);
        json_object_object_add(big, k, json_object_new_int(i));
    }
    json_object_object_add(big, long127, json_object_new_int(127));
    json_object_object_add(big, long128, json_object_new_int(128));
    json_object_object_add(o, "big", big);
    json_object *small = json_object_new_object();
    json_object_object_add(small, long127, json_object_new_int(127));
    json_object_object_add(small, long128, json_object_new_int(128));
    json_object_object_add(o, "small", small);
    static const char *const paths[] = {
        "", ".", "..", "a", "a.", "a..", ".a", "a..b", "a.b", "a.b.", "a.b.0", "a.b.1.c", "a.b.1.c.d", "a.b.2",
        "a.b.3", "a.b.-1", "a.b.+1", "a.b. 1", "a.b.1 ", "a.b.01", "a.b.99999999999999999999", "a.b.x",
        "a.0", "a.x.y", "a.x", "n", "n.x", "ab", "abc", "abd", "a.b.0.x", "big.k0", "big.k39", "big.k40",
        "big.k3.", "big..k3", "missing", "missing.x",
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        assert_ptr_equal(eng__json_path(o, paths[i]), old_path(o, paths[i]));
    assert_ptr_equal(eng__json_path(o, ""), o);
    assert_null(eng__json_path(NULL, ""));
    assert_null(eng__json_path(NULL, "a"));
    assert_int_equal(json_object_get_int(eng__json_path(o, "a.b.0")), 10);
    assert_int_equal(json_object_get_int(eng__json_path(o, "ab")), 3);
    assert_string_equal(json_object_get_string(eng__json_path(o, "a.0")), "zero");
    assert_null(eng__json_path(o, "a.x.y")); /* a key's dot is a separator */
    /* parts of 127 bytes are looked up, of 128 or more never */
    char p[300];
    snprintf(p, sizeof p, "big.%s", long127);
    assert_int_equal(json_object_get_int(eng__json_path(o, p)), 127);
    snprintf(p, sizeof p, "small.%s", long127);
    assert_int_equal(json_object_get_int(eng__json_path(o, p)), 127);
    snprintf(p, sizeof p, "big.%s", long128);
    assert_null(eng__json_path(o, p));
    snprintf(p, sizeof p, "small.%s", long128);
    assert_null(eng__json_path(o, p));
    assert_null(old_path(o, p));
    json_object_put(o);
}

static void test_same_as_model(void **state)
{
    (void)state;
    unsigned long found = 0, total = 0;
    for (int t = 0; t < 3000; t++) {
        json_object *root = json_object_new_object();
        unsigned n = rnd(4) == 0 ? 26 + rnd(10) : 1 + rnd(18);
        for (unsigned i = 0; i < n; i++) {
            char gen[16];
            const char *k = word();
            if (rnd(3) == 0) {
                snprintf(gen, sizeof gen, "g%u", rnd(60));
                k = gen;
            }
            json_object_object_add(root, k, tree(1));
        }
        for (int q = 0; q < 200; q++) {
            char path[1200];
            random_path(path, sizeof path);
            json_object *a = eng__json_path(root, path), *b = old_path(root, path);
            if (a != b)
                fail_msg("path \"%s\": %p, the model %p", path, (void *)a, (void *)b);
            found += b != NULL;
            total++;
        }
        json_object_put(root);
    }
    /* the random paths reach into the trees, not only miss */
    assert_true(found * 10 > total);
    printf("# %lu of %lu paths found\n", found, total);
}

int main(void)
{
    memset(long127, 'q', 127);
    memset(long128, 'q', 128);
    memset(long200, 'q', 200);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edge_cases),
        cmocka_unit_test(test_same_as_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
