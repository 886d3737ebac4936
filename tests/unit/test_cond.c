/* Route conditions answered in C (engine/cond.c) against the sandbox:
 * whenever the C side answers, Lua gives the same truth value and no
 * error, over random contexts; what is outside the subset is not
 * compiled; the names it resolves are the sandbox's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/cond_int.h"
#include "engine/eng.h"
#include "engine/eng_int.h"
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fixture {
    eng_pool *pool;
    eng_sandbox *sb;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->pool = eng__pool_new(4096);
    f->sb = eng__sandbox_new(NULL);
    if (!f->pool || !f->sb)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    eng__sandbox_free(f->sb);
    eng__pool_free(f->pool);
    free(f);
    return 0;
}

/* the Lua answer: 1 or 0, -1 for an error */
static int lua_answer(fixture *f, const eng_chunk *c, json_object *ctx)
{
    eng_err err = {0};
    bool yes = false;
    int rc = eng__sandbox_eval(f->sb, c, ctx, 0, &yes, &err);
    return rc < 0 ? -1 : yes ? 1 : 0;
}

static eng_chunk compile_lua(fixture *f, const char *src)
{
    eng_chunk c;
    eng_err err = {0};
    if (eng__chunk_compile(f->pool, "pipeline.yaml", src, strlen(src), true, &c, &err) != 0)
        fail_msg("compile %s: %s", src, err.msg);
    return c;
}

/* the conditions compared: the shipped pipeline's, and forms that reach
 * each rule of the evaluator */
static const char *const conds[] = {
    "slots.address ~= nil",
    "slots.orderNumber ~= nil and (intent == 'clarify' or intent == 'out_of_scope' or intent == 'search_product')",
    "intent == 'deny' and session.pending == nil and session.lastQuery ~= nil and (slots.maxPrice ~= nil or slots.minPrice ~= nil)",
    "intent == 'greeting' and confidence < 0.5 and session.lastQuery ~= nil",
    "intent == 'out_of_scope' and session.lastQuery ~= nil and (slots.maxPrice ~= nil or slots.minPrice ~= nil)",
    "slots.a == slots.b", "slots.a ~= slots.b", "slots.a < slots.b", "slots.a <= slots.b",
    "slots.a > slots.b", "slots.a >= slots.b", "slots.a == 3", "slots.a == 3.0", "slots.a == 0.5",
    "slots.a < 3", "slots.a >= 0.25", "slots.a == 'x'", "slots.a == \"x\"", "slots.a == true",
    "slots.a == false", "slots.a == nil", "slots.a", "not slots.a", "not not slots.a",
    "not slots.a == false", "(slots.a or 'd') == 'd'", "(slots.a and slots.b) == 3",
    "(slots.a or slots.b) < 3", "slots.a and slots.b", "slots.a or slots.b",
    "slots.a.b == nil", "slots.a.b.c ~= nil", "session.lastQuery == 'boots'",
    "session.n == slots.a", "session == nil", "session ~= nil", "slots == slots",
    "ctx.session.lastQuery ~= nil", "ctx.intent.name == intent", "text == 'hi'",
    "message.text == text", "confidence > 0.9 or confidence <= 0.1", "confidence == nil",
    "intent == nil or intent == ''", "entities.color == 'red'", "cart.count > 0",
    "user == nil", "memory.x == 1", "route == 'product'", "results.n == 1",
    "actions == nil", "reply.text ~= nil", "vars.upset", "1 == 1.0", "2 < 1", "nil == false", "'a' == 'a'",
    "(((slots.a)))", "slots.a == 9007199254740993", "slots.a < 9007199254740993",
};

/* a random JSON value of every kind the rules distinguish */
static json_object *rand_value(unsigned *seed, int depth)
{
    static const char *const strs[] = {"", "x", "d", "hi", "boots", "red", "product", "deny", "a\0b"};
    switch (rand_r(seed) % (depth > 2 ? 10 : 12)) {
    case 0: return NULL;
    case 1: return json_object_new_boolean(rand_r(seed) & 1);
    case 2: return json_object_new_int64((int64_t)(rand_r(seed) % 7) - 2);
    case 3: {
        static const int64_t big[] = {9007199254740992LL, 9007199254740993LL, INT64_MAX, INT64_MIN, 3};
        return json_object_new_int64(big[rand_r(seed) % 5]);
    }
    case 4: {
        static const double ds[] = {0.5, 3.0, 0.25, -0.0, 0.1, 1e300, 9007199254740992.0, 9007199254740994.0, 2.5};
        return json_object_new_double(ds[rand_r(seed) % 9]);
    }
    case 5: return json_object_new_double(0.0 / 0.0);
    case 6:
    case 7: {
        const char *s = strs[rand_r(seed) % 9];
        return json_object_new_string_len(s, s[0] == 'a' ? 3 : (int)strlen(s));
    }
    case 8: return json_object_new_double((double)(rand_r(seed) % 5));
    case 9: return json_object_new_null();
    case 10: {
        json_object *o = json_object_new_object();
        static const char *const keys[] = {"a", "b", "c", "x"};
        for (int i = rand_r(seed) % 4; i > 0; i--)
            json_object_object_add(o, keys[rand_r(seed) % 4], rand_value(seed, depth + 1));
        return o;
    }
    default: {
        json_object *a = json_object_new_array();
        for (int i = rand_r(seed) % 3; i > 0; i--)
            json_object_array_add(a, rand_value(seed, depth + 1));
        return a;
    }
    }
}

static json_object *rand_ctx(unsigned *seed)
{
    static const char *const top[] = {"slots", "session", "intent", "message", "entities", "cart",
                                      "user", "memory", "route", "results", "actions", "reply", "vars"};
    static const char *const fields[] = {"a", "b", "address", "orderNumber", "maxPrice", "minPrice",
                                         "lastQuery", "pending", "n", "name", "confidence", "text",
                                         "color", "count", "x", "upset"};
    json_object *ctx = json_object_new_object();
    for (size_t i = 0; i < sizeof top / sizeof top[0]; i++) {
        int pick = rand_r(seed) % 6;
        if (pick == 0)
            continue;   /* absent */
        if (pick == 1) {
            json_object_object_add(ctx, top[i], rand_value(seed, 1));
            continue;
        }
        json_object *o = json_object_new_object();
        for (int k = rand_r(seed) % 6; k > 0; k--)
            json_object_object_add(o, fields[rand_r(seed) % 16], rand_value(seed, 1));
        if (strcmp(top[i], "intent") == 0 && rand_r(seed) % 2) {
            static const char *const names[] = {"deny", "greeting", "out_of_scope", "clarify", "search_product"};
            json_object_object_add(o, "name", json_object_new_string(names[rand_r(seed) % 5]));
            json_object_object_add(o, "confidence", json_object_new_double((rand_r(seed) % 100) / 100.0));
        }
        json_object_object_add(ctx, top[i], o);
    }
    return ctx;
}

static void test_same_as_lua(void **state)
{
    fixture *f = *state;
    size_t n = sizeof conds / sizeof conds[0];
    eng_chunk chunks[sizeof conds / sizeof conds[0]];
    eng_cond *cc[sizeof conds / sizeof conds[0]];
    for (size_t i = 0; i < n; i++) {
        chunks[i] = compile_lua(f, conds[i]);
        cc[i] = eng__cond_compile(f->pool, conds[i]);
        if (!cc[i])
            fail_msg("not compiled: %s", conds[i]);
    }
    unsigned seed = 1234;
    long decided = 0, total = 0, lua_errors = 0;
    for (int round = 0; round < 4000; round++) {
        json_object *ctx = rand_ctx(&seed);
        for (size_t i = 0; i < n; i++) {
            int c = eng__cond_eval(cc[i], ctx), l = lua_answer(f, &chunks[i], ctx);
            total++;
            lua_errors += l < 0;
            if (c < 0)
                continue;
            decided++;
            if (c != l)
                fail_msg("%s: C %d, Lua %d on %s", conds[i], c, l,
                         json_object_to_json_string_ext(ctx, JSON_C_TO_STRING_PLAIN));
        }
        json_object_put(ctx);
    }
    print_message("decided in C: %ld of %ld (Lua errors %ld)\n", decided, total, lua_errors);
    assert_true(decided > total / 2);
}

/* the shipped conditions on a plain turn: all answered in C */
static void test_shipped_decided(void **state)
{
    fixture *f = *state;
    json_object *ctx = json_tokener_parse(
        "{\"message\": {\"text\": \"show me sunglasses\"}, \"intent\": {\"name\": \"search_product\","
        " \"confidence\": 0.9}, \"slots\": {\"category\": \"sunglasses\"}, \"session\": {\"lastQuery\":"
        " \"sunglasses\", \"shown\": [{\"sku\": \"A1\", \"price\": 22.99}]}}");
    for (size_t i = 0; i < 5; i++) {
        eng_cond *c = eng__cond_compile(f->pool, conds[i]);
        eng_chunk ch = compile_lua(f, conds[i]);
        assert_non_null(c);
        int v = eng__cond_eval(c, ctx);
        assert_true(v >= 0);
        assert_int_equal(v, lua_answer(f, &ch, ctx));
    }
    json_object_put(ctx);
}

static void test_outside_subset(void **state)
{
    fixture *f = *state;
    static const char *const outside[] = {
        "type(slots) == 'table'", "#slots > 0", "slots.a .. 'x' == 'x'", "-1 < confidence",
        "slots['a'] == 1", "string.len(text) > 0", "math.huge > 1", "foo == 1", "error == nil",
        "slots.a == 1 -- note", "slots.a == 'a\\n'", "slots.a == 1e3", "slots.a == 0x10",
        "slots.a == 3.", "slots.a == .5", "slots.a = 1", "slots.a ~= nil and", "slots.a ~ 1",
        "slots.a << 1", "slots.a:len() > 0", "slots.function == 1", "slots.a == 1 + 1", "",
        "(slots.a", "slots.a)", "slots.a == 12345678901234567890", "type == nil", "_ENV == nil",
        "slots.a == 'x\ny'",
    };
    for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++)
        if (eng__cond_compile(f->pool, outside[i]))
            fail_msg("compiled, but outside the subset: %s", outside[i]);
    /* a long chain stays Lua's (the tree is walked recursively) */
    char chain[8192] = "slots.a == 1";
    size_t len = strlen(chain);
    for (int i = 0; i < 300; i++)
        len += (size_t)snprintf(chain + len, sizeof chain - len, " and slots.a == 1");
    assert_null(eng__cond_compile(f->pool, chain));
    assert_non_null(eng__cond_compile(f->pool, "slots.a == 1 and slots.b == 2 and slots.c == 3"));
}

/* every first name the C side resolves is the sandbox's context name, not
 * one of its globals */
static void test_names_are_the_sandbox_s(void **state)
{
    fixture *f = *state;
    static const char *const names[] = {"slots", "session", "entities", "user", "memory", "cart",
                                        "message", "route", "actions", "results", "reply", "vars"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char src[64];
        snprintf(src, sizeof src, "%s == 'v'", names[i]);
        eng_chunk ch = compile_lua(f, src);
        eng_cond *c = eng__cond_compile(f->pool, src);
        assert_non_null(c);
        json_object *ctx = json_object_new_object();
        assert_int_equal(lua_answer(f, &ch, ctx), 0);
        assert_int_equal(eng__cond_eval(c, ctx), 0);
        json_object_object_add(ctx, names[i], json_object_new_string("v"));
        assert_int_equal(lua_answer(f, &ch, ctx), 1);
        assert_int_equal(eng__cond_eval(c, ctx), 1);
        json_object_put(ctx);
    }
}

/* a value the sandbox cannot convert (nested past its limit) is Lua's to
 * refuse: undecided here */
static void test_deep_value_undecided(void **state)
{
    fixture *f = *state;
    json_object *ctx = json_object_new_object(), *o = json_object_new_object();
    json_object_object_add(ctx, "slots", o);
    for (int i = 0; i < 80; i++) {
        json_object *in = json_object_new_object();
        json_object_object_add(o, "x", in);
        o = in;
    }
    const char *src = "slots.a == nil";
    eng_chunk ch = compile_lua(f, src);
    eng_cond *c = eng__cond_compile(f->pool, src);
    assert_int_equal(lua_answer(f, &ch, ctx), -1);
    assert_int_equal(eng__cond_eval(c, ctx), -1);
    json_object_put(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_same_as_lua, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shipped_decided, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outside_subset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names_are_the_sandbox_s, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deep_value_undecided, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
