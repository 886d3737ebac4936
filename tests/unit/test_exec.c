/* tests/unit/test_exec.c — the executor: routes, jumps and joins, the
 * deadline, failing stages, the trace, DONE, stateless turns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/eng.h"
#include "stores/store.h"
#include "sqlite_store.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static eng_pipeline *load(const char *y)
{
    eng_diags d;
    eng_diags_init(&d);
    eng_pipeline *p = NULL;
    int rc = eng_pipeline_load_buffer("t.yaml", y, strlen(y), "tests/unit/exec", &p, &d);
    if (rc)
        eng_diags_print(&d, stderr);
    eng_diags_free(&d);
    assert_int_equal(rc, 0);
    return p;
}

static const char *str(json_object *ctx, const char *a, const char *b)
{
    json_object *o = json_object_object_get(ctx, a);
    if (b)
        o = json_object_object_get(o, b);
    return json_object_get_string(o);
}

static json_object *trace_entry(json_object *ctx, const char *stage)
{
    json_object *tr = json_object_object_get(ctx, "trace");
    for (size_t i = 0; i < json_object_array_length(tr); i++) {
        json_object *e = json_object_array_get_idx(tr, i);
        if (strcmp(str(e, "stage", NULL), stage) == 0)
            return e;
    }
    return NULL;
}

static const char shop[] =
    "pipeline: shop\n"
    "intents:\n"
    "  greet: [hi, hello, hey there, good morning]\n"
    "  search: [show me shoes, do you have boots, find a red dress, looking for jeans]\n"
    "  bye: [bye, goodbye, see you later, thanks bye]\n"
    "stages:\n"
    "  - { id: nlu, type: classifier, threshold: 0.2 }\n"
    "  - { id: tag, type: lua, script: rules.lua, function: tag }\n"
    "  - id: route\n"
    "    type: router\n"
    "    routes:\n"
    "      - { when: \"intent == 'search' and vars.tagged == 'yes'\", to: product }\n"
    "      - { intent: [greet], to: hello }\n"
    "      - { default: other }\n"
    "  - { id: product, type: formatter, templates: { default: 'Searching for: {{message.text}}' } }\n"
    "  - { id: hello, type: formatter, templates: { default: 'Hello!' } }\n"
    "  - { id: other, type: formatter, templates: { default: 'Other: {{intent.name}}' } }\n"
    "  - id: sign\n"
    "    type: formatter\n"
    "    key: route\n"
    "    templates:\n"
    "      product: '{{reply.text}} (via product)'\n"
    "      hello: '{{reply.text}} (via hello)'\n"
    "      other: '{{reply.text}} (via other)'\n";

static void test_routes_and_join(void **state)
{
    (void)state;
    eng_pipeline *p = load(shop);
    struct { const char *msg, *reply, *route; } cases[] = {
        {"show me shoes", "Searching for: show me shoes (via product)", "product"},
        {"hello", "Hello! (via hello)", "hello"},
        {"goodbye", "Other: bye (via other)", "other"},
    };
    for (size_t i = 0; i < 3; i++) {
        eng_turn *t = NULL;
        assert_int_equal(eng_run(p, cases[i].msg, NULL, &t, NULL), 0);
        json_object *ctx = eng_turn_context(t);
        assert_string_equal(eng_turn_reply(t), cases[i].reply);
        assert_string_equal(str(ctx, "route", NULL), cases[i].route);
        assert_string_equal(str(ctx, "vars", "tagged"), "yes");
        /* the branch rejoins at `sign`; the other branches never ran */
        assert_non_null(trace_entry(ctx, "sign"));
        int ran = !!trace_entry(ctx, "product") + !!trace_entry(ctx, "hello") + !!trace_entry(ctx, "other");
        assert_int_equal(ran, 1);
        eng_turn_free(t);
    }
    eng_pipeline_release(p);
}

static void test_trace(void **state)
{
    (void)state;
    eng_pipeline *p = load(shop);
    eng_turn *t = NULL;
    assert_int_equal(eng_run(p, "do you have boots", NULL, &t, NULL), 0);
    json_object *ctx = eng_turn_context(t);
    json_object *tr = json_object_object_get(ctx, "trace");
    assert_int_equal(json_object_array_length(tr), 5);
    const char *order[] = {"nlu", "tag", "route", "product", "sign"};
    for (size_t i = 0; i < 5; i++) {
        json_object *e = json_object_array_get_idx(tr, i);
        assert_string_equal(str(e, "stage", NULL), order[i]);
        assert_string_equal(str(e, "result", NULL), "ok");
        assert_true(json_object_get_int64(json_object_object_get(e, "us")) >= 0);
    }
    assert_non_null(strstr(str(trace_entry(ctx, "route"), "note", NULL), "-> product"));
    assert_non_null(strstr(str(trace_entry(ctx, "nlu"), "note", NULL), "search"));
    assert_string_equal(str(ctx, "intent", "source"), "builtin");
    eng_turn_free(t);
    eng_pipeline_release(p);
}

static void test_failing_stage(void **state)
{
    (void)state;
    static const char y[] =
        "pipeline: f\n"
        "error_reply: Something broke, sorry.\n"
        "stages:\n"
        "  - { id: rule, type: lua, script: rules.lua, function: boom, on_error: fail }\n"
        "  - { id: reply, type: formatter, templates: { default: 'never' } }\n";
    eng_pipeline *p = load(y);
    eng_turn *t = NULL;
    assert_int_equal(eng_run(p, "anything", NULL, &t, NULL), 0);
    json_object *ctx = eng_turn_context(t);
    assert_string_equal(eng_turn_reply(t), "Something broke, sorry.");
    assert_string_equal(str(ctx, "error", "stage"), "rule");
    const char *msg = str(ctx, "error", "message");
    assert_non_null(strstr(msg, "rules.lua:9:"));
    json_object *e = trace_entry(ctx, "rule");
    assert_string_equal(str(e, "result", NULL), "error");
    assert_null(trace_entry(ctx, "reply"));
    eng_turn_free(t);
    eng_pipeline_release(p);
}

static void test_failing_rule_skipped(void **state)
{
    (void)state;
    static const char y[] =
        "pipeline: f\n"
        "stages:\n"
        "  - { id: rule, type: lua, script: rules.lua, function: boom }\n"
        "  - { id: reply, type: formatter, templates: { default: 'still here' } }\n";
    eng_pipeline *p = load(y);
    eng_turn *t = NULL;
    assert_int_equal(eng_run(p, "anything", NULL, &t, NULL), 0);
    assert_string_equal(eng_turn_reply(t), "still here");
    json_object *e = trace_entry(eng_turn_context(t), "rule");
    assert_string_equal(str(e, "result", NULL), "declined");
    assert_non_null(strstr(str(e, "note", NULL), "skipped"));
    eng_turn_free(t);
    eng_pipeline_release(p);
}

static void test_deadline(void **state)
{
    (void)state;
    static const char y[] =
        "pipeline: slow\n"
        "deadline_ms: 8\n"
        "timeout_reply: Too slow, sorry.\n"
        "stages:\n"
        "  - { id: rule, type: lua, script: rules.lua, function: spin }\n"
        "  - { id: reply, type: formatter, templates: { default: 'never' } }\n";
    eng_pipeline *p = load(y);
    eng_turn *t = NULL;
    int64_t t0 = eng_now_us();
    assert_int_equal(eng_run(p, "anything", NULL, &t, NULL), 0);
    int64_t took = eng_now_us() - t0;
    json_object *ctx = eng_turn_context(t);
    assert_string_equal(eng_turn_reply(t), "Too slow, sorry.");
    assert_true(json_object_get_boolean(json_object_object_get(ctx, "timedOut")));
    assert_true(took < 1000000); /* stopped near the deadline, not at the instruction cap */
    assert_string_equal(str(ctx, "error", "kind"), "timeout");
    eng_turn_free(t);
    /* the caller's deadline wins over the pipeline's */
    eng_turn_opts o = {.deadline_ms = 5};
    assert_int_equal(eng_run(p, "anything", &o, &t, NULL), 0);
    assert_string_equal(eng_turn_reply(t), "Too slow, sorry.");
    eng_turn_free(t);
    eng_pipeline_release(p);
}

static void test_done_stops(void **state)
{
    (void)state;
    static const char y[] =
        "pipeline: d\n"
        "stages:\n"
        "  - { id: rule, type: lua, script: rules.lua, function: finish }\n"
        "  - { id: reply, type: formatter, templates: { default: 'never' } }\n";
    eng_pipeline *p = load(y);
    eng_turn *t = NULL;
    assert_int_equal(eng_run(p, "x", NULL, &t, NULL), 0);
    assert_string_equal(eng_turn_reply(t), "finished by Lua");
    assert_null(trace_entry(eng_turn_context(t), "reply"));
    assert_string_equal(str(trace_entry(eng_turn_context(t), "rule"), "result", NULL), "done");
    eng_turn_free(t);
    eng_pipeline_release(p);
}

static void test_bad_input(void **state)
{
    (void)state;
    eng_pipeline *p = load(shop);
    eng_turn *t = NULL;
    eng_err err = {0};
    assert_int_equal(eng_run(p, "caf\xc3", NULL, &t, &err), ENG_EINVAL);
    assert_string_equal(err.msg, "message is not valid UTF-8");
    assert_null(t);
    assert_int_equal(eng_run(p, NULL, NULL, &t, &err), ENG_EINVAL);
    /* empty and huge messages still answer */
    assert_int_equal(eng_run(p, "", NULL, &t, NULL), 0);
    eng_turn_free(t);
    static char big[200000];
    memset(big, 'a', sizeof big - 1);
    assert_int_equal(eng_run(p, big, NULL, &t, NULL), 0);
    eng_turn_free(t);
    eng_pipeline_release(p);
}

/* No state between turns: the same message gives the same answer, and
 * the message id is derived from the session and text when not given. */
static void test_stateless(void **state)
{
    (void)state;
    eng_pipeline *p = load(shop);
    eng_turn *a = NULL, *b = NULL;
    eng_turn_opts o = {.session_id = "s1", .message_id = "m-7"};
    assert_int_equal(eng_run(p, "hello", &o, &a, NULL), 0);
    assert_int_equal(eng_run(p, "hello", &o, &b, NULL), 0);
    assert_string_equal(eng_turn_reply(a), eng_turn_reply(b));
    assert_string_equal(str(eng_turn_context(a), "message", "id"), "m-7");
    assert_string_equal(str(eng_turn_context(a), "sessionId", NULL), "s1");
    eng_turn_free(a);
    eng_turn_free(b);
    eng_pipeline_release(p);
}

static void *worker(void *arg)
{
    eng_pipeline *p = arg;
    for (int i = 0; i < 300; i++) {
        eng_turn *t = NULL;
        if (eng_run(p, i % 2 ? "show me shoes" : "hello", NULL, &t, NULL) != 0)
            return (void *)1;
        const char *want = i % 2 ? "Searching for: show me shoes (via product)" : "Hello! (via hello)";
        int bad = strcmp(eng_turn_reply(t), want) != 0;
        eng_turn_free(t);
        if (bad)
            return (void *)1;
    }
    return NULL;
}

/* One pipeline, several threads, each with its own Lua state. */
static void test_threads(void **state)
{
    (void)state;
    eng_pipeline *p = load(shop);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, worker, p);
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(th[i], &r);
        assert_null(r);
    }
    eng_pipeline_release(p);
}

/* The pipeline outlives a release while a turn holds it. */
static void test_refcount(void **state)
{
    (void)state;
    eng_pipeline *p = load(shop);
    eng_pipeline_retain(p);
    eng_pipeline_release(p);
    eng_turn *t = NULL;
    assert_int_equal(eng_run(p, "hello", NULL, &t, NULL), 0);
    eng_pipeline_release(p);
    assert_string_equal(eng_turn_reply(t), "Hello! (via hello)");
    eng_turn_free(t);
}

/* ---- out of memory, every allocation of a commerce turn ----
 * As SQLite's test_malloc: for N = 0, 1, 2, ... the Nth allocation of the
 * engine fails -- once (the run goes on after it), then from there on --
 * until a run completes without reaching N: every allocation site of the
 * turn has failed once. Each run either replies or returns ENG_ENOMEM, and
 * frees what it took (make check runs this under ASan, which reports a
 * leak or a bad access as a failure). The turn is a shopper's "I'll take
 * the second one" after a search on the shipped commerce pipeline: the
 * classifier, entities, context, router, the cart agent with its Lua
 * rules, the commerce core's cart add on a SQLite store, the formatter.
 * json-c's and libyaml's allocations do not go through the engine's hook
 * (engine/alloc.c): those stay unfailed. */
static void commerce_oom(int once, long *sites)
{
    char dir[64], path[128];
    snprintf(dir, sizeof dir, "/tmp/aisle-oom-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/shop.db", dir);
    store *s = test_sqlite_store(path);
    test_import_catalog(s, "examples/catalog/products.json");

    eng_diags d;
    eng_diags_init(&d);
    eng_pipeline *p = NULL;
    int rc = eng_pipeline_load("pipelines/commerce.yaml", &p, &d);
    if (rc)
        eng_diags_print(&d, stderr);
    eng_diags_free(&d);
    assert_int_equal(rc, 0);

    /* the search the turn refers back to, run once without injection */
    eng_deps deps = {.store = s};
    eng_converse_opts co = {.text = "show me the cheapest sunglasses", .session_id = "oom-search",
                            .deps = &deps};
    eng_converse_result cr = {0};
    eng_err err = {0};
    assert_int_equal(eng_converse(p, &co, &cr, &err), 0);
    json_object *session = cr.session;
    cr.session = NULL;
    eng_converse_result_clear(&cr);
    assert_non_null(session);
    /* the turn once unharmed, so that what the pipeline builds on first use
     * (caches of the catalog) is there before the walk: each run of the
     * walk then allocates the same */
    eng_turn_opts warm = {.session_id = "oom-warm", .session = session, .deps = &deps};
    eng_turn *t = NULL;
    assert_int_equal(eng_run(p, "I'll take the second one", &warm, &t, &err), 0);
    eng_turn_free(t);

    long n;
    for (n = 0; n < 1000000; n++) {
        char sid[32], mid[32];
        snprintf(sid, sizeof sid, "oom-%d-%ld", once, n);   /* a fresh cart each run */
        snprintf(mid, sizeof mid, "m-%d-%ld", once, n);
        eng_turn_opts o = {.session_id = sid, .message_id = mid, .session = session, .deps = &deps};
        t = NULL;
        if (once)
            eng_alloc_fail_once(n);
        else
            eng_alloc_fail_after(n);
        rc = eng_run(p, "I'll take the second one", &o, &t, &err);
        eng_alloc_fail_after(-1);
        long hit = eng_alloc_failed();
        if (rc == 0) {
            assert_non_null(t);
            assert_non_null(eng_turn_reply(t));
        } else {
            assert_int_equal(rc, ENG_ENOMEM);
            assert_null(t);
            assert_true(hit > 0);
        }
        if (!hit) {
            /* the run that reached no failure is the whole turn, unharmed */
            json_object *acts = json_object_object_get(eng_turn_context(t), "actions");
            assert_int_equal(json_object_array_length(acts), 1);
            assert_string_equal(str(json_object_array_get_idx(acts, 0), "status", NULL), "done");
            eng_turn_free(t);
            break;
        }
        eng_turn_free(t);
    }
    assert_true(n > 0 && n < 1000000);
    *sites = n;
    json_object_put(session);
    eng_pipeline_release(p);
    store_close(s);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_commerce_turn_oom(void **state)
{
    (void)state;
    long once = 0, after = 0;
    commerce_oom(1, &once);
    commerce_oom(0, &after);
    /* Lua's collector runs when it likes, so the two walks need not count
     * the same: each is a whole turn */
    print_message("eng_run out of memory: failed each of the %ld allocations of a commerce turn "
                  "once, and each of %ld from there on; every run recovered\n", once, after);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes_and_join),
        cmocka_unit_test(test_trace),
        cmocka_unit_test(test_failing_stage),
        cmocka_unit_test(test_failing_rule_skipped),
        cmocka_unit_test(test_deadline),
        cmocka_unit_test(test_done_stops),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_stateless),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_refcount),
        cmocka_unit_test(test_commerce_turn_oom),
    };
    return cmocka_run_group_tests_name("exec", tests, NULL, NULL);
}
