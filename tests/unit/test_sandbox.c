/* tests/unit/test_sandbox.c — the Lua sandbox (engine/sandbox.c) and the
 * JSON <-> Lua conversion (engine/luaconv.c): compiling, conditions
 * against a context, script calls (one script, or several in one call),
 * every limit and escape route, and failures of the Nth allocation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/eng.h"
#include "engine/eng_int.h"
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *ctx_text =
    "{\"message\": {\"text\": \"red running shoes\"},"
    " \"intent\": {\"name\": \"search_product\", \"confidence\": 0.82},"
    " \"entities\": {\"color\": \"red\", \"sizes\": [40, 41], \"brand\": null},"
    " \"results\": [], \"vars\": {\"n\": 3, \"list\": [1, null, 3]}}";

typedef struct fixture {
    eng_pool *pool;
    eng_sandbox *sb;
    json_object *ctx;
} fixture;

static int setup_limits(void **state, size_t mem, uint64_t instructions)
{
    fixture *f = calloc(1, sizeof *f);
    f->pool = eng__pool_new(4096);
    eng_sandbox_limits lim = {.mem_bytes = mem, .instructions = instructions};
    f->sb = eng__sandbox_new(&lim);
    f->ctx = json_tokener_parse(ctx_text);
    if (!f->pool || !f->sb || !f->ctx)
        return -1;
    *state = f;
    return 0;
}

static int setup(void **state) { return setup_limits(state, 0, 0); }
/* small caps, so that limit tests finish fast */
static int setup_small(void **state) { return setup_limits(state, (size_t)8 << 20, 2000000); }
/* a budget big enough that memory runs out first */
static int setup_mem(void **state) { return setup_limits(state, (size_t)8 << 20, 500000000); }

static int teardown(void **state)
{
    fixture *f = *state;
    eng__sandbox_free(f->sb);
    eng__pool_free(f->pool);
    json_object_put(f->ctx);
    free(f);
    return 0;
}

static eng_chunk compile(fixture *f, const char *name, const char *src, bool is_expr)
{
    eng_chunk c;
    eng_err err = {0};
    int rc = eng__chunk_compile(f->pool, name, src, strlen(src), is_expr, &c, &err);
    if (rc != 0)
        fail_msg("compile %s: %d %s", src, rc, err.msg);
    return c;
}

/* Evaluate `src` as a condition; returns its truthiness, fails the test
 * on any error. */
static bool eval_ok(fixture *f, const char *src)
{
    eng_chunk c = compile(f, "pipeline.yaml", src, true);
    eng_err err = {0};
    bool yes = false;
    int rc = eng__sandbox_eval(f->sb, &c, f->ctx, 0, &yes, &err);
    if (rc != 0)
        fail_msg("eval %s: %d %s", src, rc, err.msg);
    return yes;
}

static int eval_err(fixture *f, const char *src, int line_base, eng_err *err)
{
    eng_chunk c = compile(f, "pipeline.yaml", src, true);
    c.line_base = line_base;
    bool yes = true;
    int rc = eng__sandbox_eval(f->sb, &c, f->ctx, 0, &yes, err);
    assert_false(yes);
    return rc;
}

static int call(fixture *f, const char *src, const char *fn, int64_t deadline,
                json_object **out, json_object **ret, eng_err *err)
{
    eng_chunk c = compile(f, "scripts/rules.lua", src, false);
    return eng__sandbox_call(f->sb, &c, fn, f->ctx, deadline, NULL, out, ret, err);
}

static void assert_prefix(const char *s, const char *prefix)
{
    if (strncmp(s, prefix, strlen(prefix)) != 0)
        fail_msg("\"%s\" does not start with \"%s\"", s, prefix);
}

static void assert_contains(const char *s, const char *part)
{
    if (!strstr(s, part))
        fail_msg("\"%s\" does not contain \"%s\"", s, part);
}

/* ------------------------------------------------------------ compiling */

static void test_compile(void **state)
{
    fixture *f = *state;
    eng_chunk a = compile(f, "x.lua", "function run(ctx) return 1 end", false);
    eng_chunk b = compile(f, "pipeline.yaml", "intent == 'x'", true);
    assert_non_null(a.bytecode);
    assert_true(a.len > 0);
    assert_string_equal(a.name, "x.lua");
    assert_false(a.is_expr);
    assert_true(b.is_expr);
    assert_true(b.id != a.id);
    assert_int_equal(b.line_base, 0);
    /* a trailing comment does not swallow the closing parenthesis */
    assert_true(eval_ok(f, "true -- always"));
}

static void test_compile_syntax_error(void **state)
{
    fixture *f = *state;
    eng_chunk c;
    eng_err err = {0};
    const char *src = "local x = 1\nlocal y = = 2\n";
    assert_int_equal(eng__chunk_compile(f->pool, "scripts/bad.lua", src, strlen(src), false, &c, &err), ENG_ELUA);
    assert_int_equal(err.line, 2);
    assert_string_equal(err.msg, "unexpected symbol near '='");
    assert_null(c.bytecode);

    memset(&err, 0, sizeof err);
    src = "intent == 'a' x";
    assert_int_equal(eng__chunk_compile(f->pool, "pipeline.yaml", src, strlen(src), true, &c, &err), ENG_ELUA);
    assert_int_equal(err.line, 1);
    assert_null(strstr(err.msg, "[string"));
    assert_null(strstr(err.msg, "pipeline.yaml"));
    assert_contains(err.msg, "near 'x'");

    /* an incomplete expression: the error is on src's only line, not on
     * the line of the ")" the compiler adds */
    memset(&err, 0, sizeof err);
    src = "confidence >";
    assert_int_equal(eng__chunk_compile(f->pool, "pipeline.yaml", src, strlen(src), true, &c, &err), ENG_ELUA);
    assert_int_equal(err.line, 1);

    /* a statement is not an expression */
    memset(&err, 0, sizeof err);
    src = "os.exit()) end (";
    assert_int_equal(eng__chunk_compile(f->pool, "p.yaml", src, strlen(src), true, &c, &err), ENG_ELUA);
}

/* ------------------------------------------------------------ conditions */

static void test_eval_context(void **state)
{
    fixture *f = *state;
    assert_true(eval_ok(f, "intent == 'search_product' and confidence > 0.5"));
    assert_false(eval_ok(f, "intent == 'search_product' and confidence > 0.9"));
    assert_false(eval_ok(f, "intent == 'greeting'"));
    assert_true(eval_ok(f, "entities.color == 'red'"));
    assert_true(eval_ok(f, "#entities.sizes == 2 and entities.sizes[1] == 40"));
    assert_true(eval_ok(f, "entities.brand == nil and entities.missing == nil"));
    assert_true(eval_ok(f, "ctx.message.text == text and ctx.intent.confidence == confidence"));
    assert_true(eval_ok(f, "text:find('shoes') ~= nil and string.upper(text) == 'RED RUNNING SHOES'"));
    assert_true(eval_ok(f, "nosuchname == nil"));
    assert_true(eval_ok(f, "vars.n + 1 == 4 and vars.list[2] == null and #vars.list == 3"));
    assert_true(eval_ok(f, "math.max(1, vars.n) == 3 and type(results) == 'table' and #results == 0"));
    assert_false(eval_ok(f, "nil"));
    assert_true(eval_ok(f, "0")); /* Lua truthiness: 0 is true */

    /* an expression cannot leave anything behind for the next one */
    assert_false(eval_ok(f, "rawset(_ENV, 'intent', 'hijacked') and false"));
    assert_true(eval_ok(f, "intent == 'search_product'"));
    assert_false(eval_ok(f, "rawset(_ENV, 'string', 1) == nil"));
    assert_true(eval_ok(f, "type(string) == 'table'"));

    /* without a context every context name is nil */
    eng_chunk c = compile(f, "p.yaml", "intent == nil and ctx == nil", true);
    bool yes = false;
    assert_int_equal(eng__sandbox_eval(f->sb, &c, NULL, 0, &yes, NULL), 0);
    assert_true(yes);

    /* a script chunk is not an expression */
    eng_chunk s = compile(f, "s.lua", "x = 1", false);
    assert_int_equal(eng__sandbox_eval(f->sb, &s, f->ctx, 0, &yes, NULL), ENG_EINVAL);
}

static void test_eval_many(void **state)
{
    fixture *f = *state;
    eng_chunk c = compile(f, "p.yaml", "intent == 'search_product' and confidence > 0.5", true);
    bool yes = false;
    int fails = 0;
    int64_t t0 = eng_now_us();
    for (int i = 0; i < 100000; i++) {
        yes = false;
        if (eng__sandbox_eval(f->sb, &c, f->ctx, 0, &yes, NULL) != 0 || !yes)
            fails++;
    }
    int64_t dt = eng_now_us() - t0;
    assert_int_equal(fails, 0);
    print_message("eval: %.3f us per call\n", (double)dt / 100000.0);
}

/* --------------------------------------------------------------- scripts */

static void test_call_reply(void **state)
{
    fixture *f = *state;
    const char *src =
        "function run(ctx)\n"
        "  ctx.reply = {text = 'hi'}\n"
        "  local touched = ctx.results\n"
        "  ctx.entities.sizes[3] = 42\n"
        "  ctx.vars.ratio = 0/0\n"
        "  ctx.vars.inf = math.huge\n"
        "  ctx.vars.tags = {'a', 'b'}\n"
        "  ctx.vars.map = {[1] = 'x', [3] = 'y'}\n"
        "  ctx.vars.f = function() end\n"
        "  return 'done'\n"
        "end\n";
    json_object *out = NULL, *ret = NULL;
    eng_err err = {0};
    assert_int_equal(call(f, src, "run", 0, &out, &ret, &err), 0);
    assert_non_null(out);
    assert_non_null(ret);
    assert_string_equal(json_object_get_string(ret), "done");
    assert_string_equal(eng__json_str(out, "reply.text", ""), "hi");
    json_object *sizes = eng__json_path(out, "entities.sizes");
    assert_true(json_object_is_type(sizes, json_type_array));
    assert_int_equal(json_object_array_length(sizes), 3);
    assert_int_equal(json_object_get_int(json_object_array_get_idx(sizes, 2)), 42);
    /* an empty JSON array comes back as an array, null elements stay */
    assert_true(json_object_is_type(eng__json_path(out, "results"), json_type_array));
    json_object *list = eng__json_path(out, "vars.list");
    assert_int_equal(json_object_array_length(list), 3);
    assert_null(json_object_array_get_idx(list, 1));
    /* NaN and infinity have no JSON form */
    json_object *v;
    assert_true(json_object_object_get_ex(eng__json_path(out, "vars"), "ratio", &v));
    assert_null(v);
    assert_true(json_object_object_get_ex(eng__json_path(out, "vars"), "inf", &v));
    assert_null(v);
    assert_true(json_object_is_type(eng__json_path(out, "vars.tags"), json_type_array));
    assert_string_equal(eng__json_str(out, "vars.map.3", ""), "y");
    assert_null(eng__json_path(out, "vars.f"));
    /* untouched fields are not converted back (they load on first use) */
    assert_null(eng__json_path(out, "intent"));
    /* members come out sorted */
    assert_string_equal(json_object_to_json_string_ext(eng__json_path(out, "reply"), JSON_C_TO_STRING_PLAIN),
                        "{\"text\":\"hi\"}");
    json_object_put(out);
    json_object_put(ret);
    /* the caller's context is untouched */
    assert_null(eng__json_path(f->ctx, "reply"));
}

static void test_call_state(void **state)
{
    fixture *f = *state;
    /* the top level runs once per sandbox; globals live on between calls
     * but belong to the script alone */
    const char *a = "count = 0\nfunction run() count = count + 1; return count end\n";
    const char *b = "function run() return count end\n";
    eng_chunk ca = compile(f, "a.lua", a, false), cb = compile(f, "b.lua", b, false);
    json_object *ret = NULL;
    for (int i = 1; i <= 3; i++) {
        assert_int_equal(eng__sandbox_call(f->sb, &ca, "run", f->ctx, 0, NULL, NULL, &ret, NULL), 0);
        assert_int_equal(json_object_get_int(ret), i);
        json_object_put(ret);
    }
    assert_int_equal(eng__sandbox_call(f->sb, &cb, "run", f->ctx, 0, NULL, NULL, &ret, NULL), 0);
    assert_null(ret);
    /* no result is fine */
    json_object *out = NULL;
    assert_int_equal(call(f, "function run(ctx) end", "run", 0, &out, &ret, NULL), 0);
    assert_null(ret);
    assert_non_null(out);
    json_object_put(out);
}

static void test_call_not_found(void **state)
{
    fixture *f = *state;
    json_object *out = (json_object *)1, *ret = (json_object *)1;
    eng_err err = {0};
    assert_int_equal(call(f, "function run(ctx) end\nlocal function hidden() end", "nope", 0, &out, &ret, &err),
                     ENG_ENOTFOUND);
    assert_null(out);
    assert_null(ret);
    assert_contains(err.msg, "nope");
    assert_int_equal(call(f, "local function hidden() end", "hidden", 0, NULL, NULL, NULL), ENG_ENOTFOUND);
    assert_int_equal(call(f, "run = 5", "run", 0, NULL, NULL, NULL), ENG_ENOTFOUND);
    assert_int_equal(call(f, "x = 1", "print", 0, NULL, NULL, NULL), ENG_ENOTFOUND); /* builtins are not the script's */
}

static void test_call_bad_result(void **state)
{
    fixture *f = *state;
    json_object *out = NULL, *ret = NULL;
    eng_err err = {0};
    assert_int_equal(call(f, "function run(ctx) ctx.vars.me = ctx end", "run", 0, &out, &ret, &err), ENG_ELUA);
    assert_null(out);
    assert_contains(err.msg, "cycle");
    memset(&err, 0, sizeof err);
    const char *deep = "function run() local t = {} for i = 1, 70 do t = {t} end return t end";
    assert_int_equal(call(f, deep, "run", 0, NULL, &ret, &err), ENG_ELUA);
    assert_null(ret);
    assert_contains(err.msg, "deeper");

    /* a context nested past the cap is refused, not walked */
    json_object *deepctx = json_object_new_object(), *cur = deepctx;
    for (int i = 0; i < 70; i++) {
        json_object *next = json_object_new_object();
        json_object_object_add(cur, "a", next);
        cur = next;
    }
    /* fields load on first use: reading ctx.a is what converts it */
    eng_chunk c = compile(f, "s.lua", "function run(ctx) return ctx.a ~= nil end", false);
    memset(&err, 0, sizeof err);
    assert_int_equal(eng__sandbox_call(f->sb, &c, "run", deepctx, 0, NULL, NULL, &ret, &err), ENG_ELUA);
    assert_contains(err.msg, "nested deeper");
    json_object_put(deepctx);
    assert_true(eval_ok(f, "true"));
}

/* ---------------------------------------------------------- runtime errors */

static void test_runtime_error_position(void **state)
{
    fixture *f = *state;
    eng_err err = {0};
    const char *src = "\n\nfunction run(ctx)\n  local x = nil\n  return x.y\nend\n";
    assert_int_equal(call(f, src, "run", 0, NULL, NULL, &err), ENG_ELUA);
    assert_prefix(err.msg, "scripts/rules.lua:5: attempt to index a nil value");
    assert_int_equal(err.line, 5);

    memset(&err, 0, sizeof err);
    assert_int_equal(call(f, "function run()\n  error('boom')\nend", "run", 0, NULL, NULL, &err), ENG_ELUA);
    assert_string_equal(err.msg, "scripts/rules.lua:2: boom");
    memset(&err, 0, sizeof err);
    assert_int_equal(call(f, "function run()\n\n  error({})\nend", "run", 0, NULL, NULL, &err), ENG_ELUA);
    assert_string_equal(err.msg, "scripts/rules.lua:3: (error object is a table value)");
    memset(&err, 0, sizeof err);
    assert_int_equal(call(f, "function run()\n  error('no position', 0)\nend", "run", 0, NULL, NULL, &err), ENG_ELUA);
    assert_string_equal(err.msg, "scripts/rules.lua:2: no position");
    /* a top level that fails */
    memset(&err, 0, sizeof err);
    assert_int_equal(call(f, "local a = 1\nlocal b = a .. {}\n", "run", 0, NULL, NULL, &err), ENG_ELUA);
    assert_prefix(err.msg, "scripts/rules.lua:2: attempt to concatenate");

    /* an inline condition on line 10 of the pipeline file */
    memset(&err, 0, sizeof err);
    assert_int_equal(eval_err(f, "nosuch.field == 1", 9, &err), ENG_ELUA);
    assert_prefix(err.msg, "pipeline.yaml:10: attempt to index a nil value");
    assert_int_equal(err.line, 10);
    memset(&err, 0, sizeof err);
    assert_int_equal(eval_err(f, "confidence > 'x'", 9, &err), ENG_ELUA);
    assert_prefix(err.msg, "pipeline.yaml:10: attempt to compare");
    /* still usable */
    assert_true(eval_ok(f, "confidence > 0.5"));
}

/* ---------------------------------------------------------------- limits */

static void test_infinite_loop(void **state)
{
    fixture *f = *state;
    eng_err err = {0};
    assert_int_equal(call(f, "function run()\n  while true do end\nend", "run", 0, NULL, NULL, &err), ENG_ELIMIT);
    assert_string_equal(err.msg, "scripts/rules.lua:2: instruction budget exceeded (2000000 instructions)");
    /* pcall cannot swallow the limit */
    memset(&err, 0, sizeof err);
    const char *sly = "function run()\n while true do pcall(function() while true do end end) end\nend";
    assert_int_equal(call(f, sly, "run", 0, NULL, NULL, &err), ENG_ELIMIT);
    assert_contains(err.msg, "instruction budget exceeded");
    memset(&err, 0, sizeof err);
    const char *xsly = "function run()\n while true do xpcall(function() while true do end end, "
                       "function(e) return 'caught' end) end\nend";
    assert_int_equal(call(f, xsly, "run", 0, NULL, NULL, &err), ENG_ELIMIT);
    /* in a condition too */
    memset(&err, 0, sizeof err);
    assert_int_equal(eval_err(f, "(function() while true do end end)()", 0, &err), ENG_ELIMIT);
    assert_contains(err.msg, "instruction budget exceeded");
    /* the budget resets per call: the state is usable */
    assert_true(eval_ok(f, "intent == 'search_product'"));
    json_object *ret = NULL;
    const char *loop = "function run() local s = 0 for i = 1, 100000 do s = s + i end return s end";
    assert_int_equal(call(f, loop, "run", 0, NULL, &ret, NULL), 0);
    assert_int_equal(json_object_get_int64(ret), 5000050000LL);
    json_object_put(ret);
}

static void test_memory_bomb(void **state)
{
    fixture *f = *state;
    eng_err err = {0};
    const char *bombs[] = {
        "function run() local t = {} for i = 1, 1e8 do t[i] = i end end",
        "function run() local s = 'x' while true do s = s .. s end end",
        "function run() local t = {} while true do t[#t + 1] = {} end end",
        "function run() local t = {} for i = 1, 1e8 do pcall(function() t[i] = ('x'):rep(1000) .. i end) end end",
        NULL,
    };
    for (int i = 0; bombs[i]; i++) {
        memset(&err, 0, sizeof err);
        assert_int_equal(call(f, bombs[i], "run", 0, NULL, NULL, &err), ENG_ELIMIT);
        assert_contains(err.msg, "memory limit exceeded");
        /* usable afterwards, with room to work */
        json_object *ret = NULL;
        const char *work = "function run() local t = {} for i = 1, 10000 do t[i] = 'v' .. i end return #t end";
        assert_int_equal(call(f, work, "run", 0, NULL, &ret, NULL), 0);
        assert_int_equal(json_object_get_int(ret), 10000);
        json_object_put(ret);
        assert_true(eval_ok(f, "intent == 'search_product'"));
    }
}

static void test_size_guards(void **state)
{
    fixture *f = *state;
    eng_err err = {0};
    assert_int_equal(call(f, "function run()\n return string.rep('x', 1e9)\nend", "run", 0, NULL, NULL, &err),
                     ENG_ELIMIT);
    assert_string_equal(err.msg, "scripts/rules.lua:2: string.rep: result longer than 1024 KiB");
    memset(&err, 0, sizeof err);
    assert_int_equal(call(f, "function run() return ('x'):rep(1e9) end", "run", 0, NULL, NULL, &err), ENG_ELIMIT);
    memset(&err, 0, sizeof err);
    const char *find = "function run() local s = ('a'):rep(300000) return pcall(s.find, s, 'a.-a.-a.-b') end";
    assert_int_equal(call(f, find, "run", 0, NULL, NULL, &err), ENG_ELIMIT);
    assert_contains(err.msg, "string.find: subject longer than 256 KiB");
    memset(&err, 0, sizeof err);
    assert_int_equal(call(f, "function run() return ('a'):match(('.'):rep(2000)) end", "run", 0, NULL, NULL, &err),
                     ENG_ELIMIT);
    assert_contains(err.msg, "pattern longer than");
    memset(&err, 0, sizeof err);
    assert_int_equal(call(f, "function run() return table.move({}, 1, 1e9, 2) end", "run", 0, NULL, NULL, &err),
                     ENG_ELIMIT);
    /* within the caps they work */
    json_object *ret = NULL;
    const char *ok = "function run() local s = ('ab'):rep(3, ',') local t = {3, 1, 2} table.sort(t)"
                     " return s:gsub('a', 'c') .. t[1] .. select(2, s:find('b')) end";
    assert_int_equal(call(f, ok, "run", 0, NULL, &ret, &err), 0);
    assert_string_equal(json_object_get_string(ret), "cb,cb,cb12");
    json_object_put(ret);
}

static void test_deadline(void **state)
{
    fixture *f = *state;
    eng_err err = {0};
    eng_chunk c = compile(f, "p.yaml", "true", true);
    bool yes = true;
    assert_int_equal(eng__sandbox_eval(f->sb, &c, f->ctx, eng_now_us() - 1, &yes, &err), ENG_ELIMIT);
    assert_false(yes);
    assert_contains(err.msg, "deadline exceeded");
    memset(&err, 0, sizeof err);
    assert_int_equal(call(f, "function run() end", "run", eng_now_us() - 1000, NULL, NULL, &err), ENG_ELIMIT);
    assert_contains(err.msg, "deadline exceeded");
    assert_true(eval_ok(f, "true"));
}

static void test_deadline_in_loop(void **state)
{
    fixture *f = *state; /* default 10M budget, so the deadline comes first */
    eng_err err = {0};
    const char *src = "function run()\n local n = 0\n while true do n = n + 1 end\nend";
    int64_t t0 = eng_now_us();
    assert_int_equal(call(f, src, "run", t0 + 2000, NULL, NULL, &err), ENG_ELIMIT);
    assert_string_equal(err.msg, "scripts/rules.lua:3: deadline exceeded");
    assert_true(eng_now_us() - t0 < 1000000);
}

/* Issue 12, item 8: work the count hook cannot see. Lua runs __gc with
 * hooks off and the matcher inside one C call; both once ran past the
 * budget, the deadline and SIGTERM. */
static void test_finalizers_refused(void **state)
{
    fixture *f = *state;
    eng_err err = {0};
    int64_t t0 = eng_now_us();
    const char *gc = "function run()\n for i = 1, 100 do\n"
                     "  setmetatable({}, {__gc = function() while true do end end})\n end\nend";
    assert_int_equal(call(f, gc, "run", 0, NULL, NULL, &err), ENG_ELUA);
    assert_string_equal(err.msg, "scripts/rules.lua:3: setmetatable: __gc finalizers are not allowed in the sandbox");
    /* caught by pcall, the table simply gets no finalizer */
    memset(&err, 0, sizeof err);
    json_object *ret = NULL;
    const char *caught = "function run() local t = {} local ok = pcall(setmetatable, t, {__gc = print})"
                         " return tostring(ok) .. tostring(getmetatable(t)) end";
    assert_int_equal(call(f, caught, "run", 0, NULL, &ret, &err), 0);
    assert_string_equal(json_object_get_string(ret), "falsenil");
    json_object_put(ret);
    /* a __gc added after setmetatable is never called (Lua marks objects
     * for finalization only in setmetatable): garbage piles up, a full
     * cycle passes, and the call still ends */
    const char *late = "function run()\n local mt = {}\n for i = 1, 20000 do setmetatable({}, mt) end\n"
                       " mt.__gc = function() while true do end end\n"
                       " for i = 1, 20000 do local x = {i} end\n return 1\nend";
    assert_int_equal(call(f, late, "run", 0, NULL, &ret, &err), 0);
    json_object_put(ret);
    /* in a condition, and through load */
    memset(&err, 0, sizeof err);
    assert_int_equal(eval_err(f, "setmetatable({}, {__gc = function() end}) ~= nil", 0, &err), ENG_ELUA);
    assert_contains(err.msg, "__gc finalizers are not allowed");
    memset(&err, 0, sizeof err);
    const char *viaload = "function run() return load('return setmetatable({}, {__gc = function() end})')() end";
    assert_int_equal(call(f, viaload, "run", 0, NULL, NULL, &err), ENG_ELUA);
    assert_contains(err.msg, "__gc finalizers are not allowed");
    /* other metatables still work */
    assert_true(eval_ok(f, "setmetatable({}, {__index = function() return 7 end}).x == 7"));
    assert_true(eng_now_us() - t0 < 2000000);
}

static void test_pattern_budget(void **state)
{
    fixture *f = *state; /* setup_small: a 2M budget */
    eng_err err = {0};
    /* the attack run's pattern: exponential backtracking in one call */
    int64_t t0 = eng_now_us();
    const char *bomb = "function run()\n local s = ('a'):rep(5000)\n"
                       " return string.find(s, ('a*'):rep(12) .. 'b')\nend";
    assert_int_equal(call(f, bomb, "run", 0, NULL, NULL, &err), ENG_ELIMIT);
    assert_string_equal(err.msg, "scripts/rules.lua:3: instruction budget exceeded (2000000 instructions)");
    assert_true(eng_now_us() - t0 < 2000000);
    /* every pattern function, and pcall cannot swallow it */
    static const char *const bombs[] = {
        "function run() local s = ('a'):rep(5000) return s:match(('a*'):rep(12) .. 'b') end",
        "function run() local s = ('a'):rep(5000) for m in s:gmatch(('a-'):rep(8) .. 'b') do end end",
        "function run() local s = ('a'):rep(5000) return (s:gsub(('a*'):rep(12) .. 'b', 'x')) end",
        "function run() local s = ('a'):rep(5000) while true do pcall(s.find, s, ('.-'):rep(6) .. 'b') end end",
        "function run() local s = ('a'):rep(200000) for i = 1, 1e6 do s:find(('a'):rep(900) .. 'b', 1, true) end end",
        NULL,
    };
    for (int i = 0; bombs[i]; i++) {
        memset(&err, 0, sizeof err);
        t0 = eng_now_us();
        assert_int_equal(call(f, bombs[i], "run", 0, NULL, NULL, &err), ENG_ELIMIT);
        assert_contains(err.msg, "instruction budget exceeded");
        assert_true(eng_now_us() - t0 < 2000000);
    }
    /* the deadline too, with a budget too big to come first */
    eng_sandbox_limits lim = {.instructions = 100000000000ull};
    eng_sandbox *big = eng__sandbox_new(&lim);
    assert_non_null(big);
    eng_chunk c = compile(f, "scripts/rules.lua", bomb, false);
    memset(&err, 0, sizeof err);
    t0 = eng_now_us();
    assert_int_equal(eng__sandbox_call(big, &c, "run", f->ctx, t0 + 50000, NULL, NULL, NULL, &err), ENG_ELIMIT);
    assert_string_equal(err.msg, "scripts/rules.lua:3: deadline exceeded");
    assert_true(eng_now_us() - t0 < 1000000);
    eng__sandbox_free(big);
    /* ordinary patterns keep Lua's results */
    json_object *ret = NULL;
    const char *ok = "function run() local s = 'key = value; n=42 (a(b)c)'\n"
                     " local k, v = s:match('^(%w+)%s*=%s*(%w+)')\n"
                     " local t = {} for w in s:gmatch('%a+') do t[#t + 1] = w end\n"
                     " local g, n = s:gsub('%s', '_')\n"
                     " return table.concat({k, v, #t, g, n, s:find('%b()'), s:find('n=', 1, true),"
                     " s:match('()=')}, '|') end";
    assert_int_equal(call(f, ok, "run", 0, NULL, &ret, &err), 0);
    assert_string_equal(json_object_get_string(ret), "key|value|6|key_=_value;_n=42_(a(b)c)|4|19|14|5");
    json_object_put(ret);
}

/* ---------------------------------------------------------------- escapes */

static void test_no_escape(void **state)
{
    fixture *f = *state;
    assert_true(eval_ok(f, "io == nil and os == nil and package == nil and debug == nil and require == nil"));
    assert_true(eval_ok(f, "dofile == nil and loadfile == nil and collectgarbage == nil and string.dump == nil"));
    assert_true(eval_ok(f, "coroutine == nil and _G == nil and getmetatable('') == false"));
    assert_true(eval_ok(f, "('x').dump == nil"));
    eng_err err = {0};
    const char *src =
        "function run()\n"
        "  assert(io == nil and os == nil and debug == nil and require == nil)\n"
        "  assert(_G == _ENV and getmetatable(_ENV) == false)\n"
        "  assert(not pcall(setmetatable, _ENV, nil))\n"
        "  assert(not pcall(function() string.upper = nil end))\n"
        "  assert(not pcall(rawset, string, 'upper', 1))\n"
        "  assert(not pcall(rawset, math, 'pi', 3))\n"
        "  assert(getmetatable(string) == false)\n"
        "  local n = 0 for k in pairs(string) do n = n + 1 end\n"
        "  assert(n > 10)\n"
        "  print('nowhere')\n"
        "  return 'ok'\n"
        "end\n";
    json_object *ret = NULL;
    assert_int_equal(call(f, src, "run", 0, NULL, &ret, &err), 0);
    assert_string_equal(json_object_get_string(ret), "ok");
    json_object_put(ret);
    /* another script still sees the real library */
    assert_true(eval_ok(f, "string.upper('a') == 'A' and math.pi > 3.14"));
    assert_int_equal(call(f, "function run() os.execute('true') end", "run", 0, NULL, NULL, &err), ENG_ELUA);
    assert_contains(err.msg, "os");
    assert_int_equal(call(f, "function run() io.open('/etc/passwd') end", "run", 0, NULL, NULL, &err), ENG_ELUA);
    assert_int_equal(call(f, "function run() require('io') end", "run", 0, NULL, NULL, &err), ENG_ELUA);
    assert_int_equal(call(f, "function run() dofile('/etc/passwd') end", "run", 0, NULL, NULL, &err), ENG_ELUA);
    assert_int_equal(call(f, "function run() debug.getinfo(1) end", "run", 0, NULL, NULL, &err), ENG_ELUA);
    assert_int_equal(call(f, "function run() string.dump(run) end", "run", 0, NULL, NULL, &err), ENG_ELUA);
}

static void test_load(void **state)
{
    fixture *f = *state;
    const char *src =
        "function run(ctx)\n"
        "  local f, e = load('\\27LuaT\\0\\25\\147\\r\\n\\26\\n\\4\\8\\8xV')\n"
        "  assert(f == nil and e:find('binary', 1, true), e)\n"
        "  f, e = load(function() return nil end)\n"
        "  assert(f == nil and e)\n"
        "  local g = assert(load('x = 1; return io, os, require, string.upper(\"a\")'))\n"
        "  local a, b, c, d = g()\n"
        "  assert(a == nil and b == nil and c == nil and d == 'A')\n"
        "  assert(x == nil)\n"
        "  local env = {}\n"
        "  assert(load('y = 2', 'chunk', 'b', env))()\n"
        "  assert(env.y == 2)\n"
        "  assert(load('return 1 +', '=mine') == nil)\n"
        "  assert(not pcall(load('while true do end')))\n"
        "  return load('return 1 + 1')()\n"
        "end\n";
    json_object *ret = NULL;
    eng_err err = {0};
    int rc = call(f, src, "run", 0, NULL, &ret, &err);
    /* the last pcall runs into the budget, which it may not swallow */
    assert_int_equal(rc, ENG_ELIMIT);
    assert_null(ret);
    src = "function run() return load('return 1 + 1')() end";
    assert_int_equal(call(f, src, "run", 0, NULL, &ret, &err), 0);
    assert_int_equal(json_object_get_int(ret), 2);
    json_object_put(ret);
    /* errors inside loaded text point at the script's line too */
    memset(&err, 0, sizeof err);
    assert_int_equal(call(f, "function run()\n  load('error(\"deep\")')()\nend", "run", 0, NULL, NULL, &err),
                     ENG_ELUA);
    assert_prefix(err.msg, "scripts/rules.lua:2: ");
    assert_contains(err.msg, "deep");
}

/* ---------------------------------------------------- allocation failures */

static void test_alloc_failures(void **state)
{
    (void)state;
    int nulls = 0;
    for (long n = 0; n < 100000; n++) {
        eng_alloc_fail_after(n);
        eng_sandbox *sb = eng__sandbox_new(NULL);
        eng_alloc_fail_after(-1);
        if (sb) {
            eng__sandbox_free(sb);
            break;
        }
        nulls++;
    }
    assert_true(nulls > 10);

    /* compiling and calling under failures: a clean error or success */
    eng_pool *pool = eng__pool_new(4096);
    eng_sandbox *sb = eng__sandbox_new(NULL);
    json_object *ctx = json_tokener_parse(ctx_text);
    const char *src = "function run(ctx) ctx.reply = {text = ctx.message.text} return 'done' end";
    for (long n = 0; n < 100000; n++) {
        eng_chunk c;
        eng_err err = {0};
        json_object *out = NULL, *ret = NULL;
        eng_alloc_fail_after(n);
        int rc = eng__chunk_compile(pool, "x.lua", src, strlen(src), false, &c, &err);
        if (rc == 0)
            rc = eng__sandbox_call(sb, &c, "run", ctx, 0, NULL, &out, &ret, &err);
        eng_alloc_fail_after(-1);
        json_object_put(out);
        json_object_put(ret);
        if (rc == 0)
            break;
        assert_true(rc == ENG_ENOMEM || rc == ENG_ELUA);
    }
    /* and the sandbox still works */
    eng_chunk c;
    assert_int_equal(eng__chunk_compile(pool, "p.yaml", "intent ~= nil", 13, true, &c, NULL), 0);
    bool yes = false;
    assert_int_equal(eng__sandbox_eval(sb, &c, ctx, 0, &yes, NULL), 0);
    assert_true(yes);
    json_object_put(ctx);
    eng__sandbox_free(sb);
    eng__pool_free(pool);
}

/* ------------------------------------------------------ cache and threads */

static void test_cache_bound(void **state)
{
    fixture *f = *state;
    /* more chunks than the cache keeps (as hot reloads make): all work */
    char src[64];
    for (int i = 0; i < 5000; i++) {
        snprintf(src, sizeof src, "vars.n + %d == %d", i, i + 3);
        assert_true(eval_ok(f, src));
    }
}

static void *thread_main(void *arg)
{
    eng_sandbox **out = arg;
    out[0] = eng__sandbox_acquire();
    eng__sandbox_release(out[0]);
    return NULL;
}

/* holds a sandbox until every thread holds one */
static void *hold_main(void *arg)
{
    eng_sandbox *sb = eng__sandbox_acquire();
    pthread_barrier_wait(arg);
    eng__sandbox_release(sb);
    return sb;
}

/* Sandboxes are lent per call: nested calls on a thread share one; a
 * released one is lent to the next caller, on any thread; many threads
 * one after another need only one, and the idle ones are capped. */
static void test_thread_sandbox(void **state)
{
    fixture *f = *state;
    eng_sandbox *a = eng__sandbox_acquire();
    assert_non_null(a);
    assert_ptr_equal(a, eng__sandbox_acquire());   /* a call inside a call */
    eng__sandbox_release(a);
    eng_chunk c = compile(f, "p.yaml", "intent == 'search_product'", true);
    bool yes = false;
    assert_int_equal(eng__sandbox_eval(a, &c, f->ctx, 0, &yes, NULL), 0);
    assert_true(yes);
    int idle = eng__sandbox_pool_idle();
    eng__sandbox_release(a);
    assert_int_equal(eng__sandbox_pool_idle(), idle + 1);
    for (int i = 0; i < 64; i++) {   /* 64 threads in turn: the same one each time */
        eng_sandbox *other[1] = {NULL};
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, thread_main, other), 0);
        assert_int_equal(pthread_join(th, NULL), 0);
        assert_ptr_equal(other[0], a);
    }
    assert_int_equal(eng__sandbox_pool_idle(), idle + 1);
    /* 40 held at once, on 40 threads: all lent, then at most 16 kept */
    enum { N = 40 };
    pthread_t ths[N];
    pthread_barrier_t bar;
    assert_int_equal(pthread_barrier_init(&bar, NULL, N), 0);
    for (int i = 0; i < N; i++)
        assert_int_equal(pthread_create(&ths[i], NULL, hold_main, &bar), 0);
    for (int i = 0; i < N; i++) {
        void *got = NULL;
        assert_int_equal(pthread_join(ths[i], &got), 0);
        assert_non_null(got);
    }
    pthread_barrier_destroy(&bar);
    assert_int_equal(eng__sandbox_pool_idle(), 16);
}

/* One call, several scripts: the arguments converted once and shared
 * (ctx members read lazily, own's reachable through ctx too), each script
 * on its own budget (one that loops stops alone, the next runs), a
 * missing function that script's failure alone, the reads of tracked
 * members and of math.random reported; `after` may end the loop. */
static bool stop_first(void *ud, size_t i, int rc, const eng_err *err, json_object *ret)
{
    (void)ud, (void)rc, (void)err, (void)ret;
    return i == 0;
}

static void test_call_each(void **state)
{
    fixture *f = *state;
    eng_chunk a = compile(f, "a.lua",
                          "function f(ctx, own)\n"
                          "  own.items[1] = 10\n"
                          "  return {n = #own.items, same = ctx.items == own.items, u = ctx.user and ctx.user.id}\n"
                          "end\n", false);
    eng_chunk b = compile(f, "b.lua", "function f(ctx, own)\n  while true do end\nend\n", false);
    eng_chunk c = compile(f, "c.lua", "function g() end\n", false);
    eng_chunk d = compile(f, "d.lua", "function f(ctx, own) return {first = own.items[1], r = math.random() < 2} end\n", false);
    const eng_chunk *chunks[] = {&a, &b, &c, &d};
    json_object *ctx = json_tokener_parse("{\"user\": {\"id\": \"7\"}, \"memory\": {}}");
    json_object *own = json_tokener_parse("{\"items\": [1, 2, 3]}");
    static const char *const track[] = {"memory", "user", "items", NULL};
    eng_sandbox_each e = {.chunks = chunks, .n = 4, .fn = "f", .ctx = ctx, .own = own, .track = track,
                          .deadline_us = eng_now_us() + 10000000};
    int rc[4];
    eng_err errs[4];
    json_object *rets[4];
    uint32_t reads = 0;
    assert_int_equal(eng__sandbox_call_each(f->sb, &e, rc, errs, rets, &reads), 4);
    assert_int_equal(rc[0], 0);
    assert_int_equal(json_object_get_int(eng__json_path(rets[0], "n")), 3);
    assert_true(json_object_get_boolean(eng__json_path(rets[0], "same")));
    assert_string_equal(eng__json_str(rets[0], "u", ""), "7");
    assert_int_equal(rc[1], ENG_ELIMIT);
    assert_contains(errs[1].msg, "b.lua:2: instruction budget exceeded");
    assert_int_equal(rc[2], ENG_ENOTFOUND);
    assert_int_equal(rc[3], 0);
    assert_int_equal(json_object_get_int(eng__json_path(rets[3], "first")), 10); /* the same batch */
    assert_true(json_object_get_boolean(eng__json_path(rets[3], "r")));
    assert_int_equal(reads, (1u << 1) | (1u << 2) | ENG_SANDBOX_RANDOM); /* user and items, not memory */
    for (int i = 0; i < 4; i++)
        json_object_put(rets[i]);
    /* stopped after the first: the others did not run */
    e.after = stop_first;
    assert_int_equal(eng__sandbox_call_each(f->sb, &e, rc, errs, rets, &reads), 1);
    assert_int_equal(rc[0], 0);
    assert_int_equal(rc[1], 1);
    assert_int_equal(rc[3], 1);
    assert_null(rets[3]);
    json_object_put(rets[0]);
    json_object_put(ctx);
    json_object_put(own);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_compile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compile_syntax_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eval_context, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eval_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_call_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_call_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_call_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_call_bad_result, setup, teardown),
        cmocka_unit_test_setup_teardown(test_runtime_error_position, setup, teardown),
        cmocka_unit_test_setup_teardown(test_infinite_loop, setup_small, teardown),
        cmocka_unit_test_setup_teardown(test_memory_bomb, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_size_guards, setup_small, teardown),
        cmocka_unit_test_setup_teardown(test_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadline_in_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_finalizers_refused, setup_small, teardown),
        cmocka_unit_test_setup_teardown(test_pattern_budget, setup_small, teardown),
        cmocka_unit_test_setup_teardown(test_no_escape, setup_small, teardown),
        cmocka_unit_test_setup_teardown(test_load, setup_small, teardown),
        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test_setup_teardown(test_cache_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thread_sandbox, setup, teardown),
        cmocka_unit_test_setup_teardown(test_call_each, setup_small, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
