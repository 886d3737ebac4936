/* tests/unit/test_router.c — the router stage: intent lists, Lua
 * conditions over the context (compiled once, evaluated per turn), the
 * default, no match, a condition that fails at run time, and the
 * condition seeing what earlier stages wrote. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/eng.h"
#include <string.h>

static const char pipe_y[] =
    "pipeline: r\n"
    "intents:\n"
    "  search: [show me shoes, do you have boots, find jeans, looking for a dress]\n"
    "  cart: [add it to my cart, put two in my basket, add this one, I'll take it]\n"
    "  hello: [hi, hello, hey, good morning]\n"
    "stages:\n"
    "  - { id: nlu, type: classifier, threshold: 0 }\n"
    "  - id: route\n"
    "    type: router\n"
    "    routes:\n"
    "      - { when: \"text:find('vip', 1, true) ~= nil\", to: vip }\n"
    "      - { when: \"user ~= nil and intent == 'cart'\", to: member_cart }\n"
    "      - { when: \"session.broken.field == 1\", to: vip }\n"
    "      - { intent: [cart], to: guest_cart }\n"
    "      - { when: \"confidence >= 0 and intent == 'search'\", to: search }\n"
    "  - { id: vip, type: formatter, next: end, templates: { default: vip } }\n"
    "  - { id: member_cart, type: formatter, next: end, templates: { default: 'member {{user.id}}' } }\n"
    "  - { id: guest_cart, type: formatter, next: end, templates: { default: guest } }\n"
    "  - { id: search, type: formatter, next: end, templates: { default: search } }\n"
    "  - { id: fallback, type: formatter, templates: { default: 'no route: {{intent.name}}' } }\n";

static eng_pipeline *load(const char *y)
{
    eng_diags d;
    eng_diags_init(&d);
    eng_pipeline *p = NULL;
    int rc = eng_pipeline_load_buffer("r.yaml", y, strlen(y), ".", &p, &d);
    if (rc)
        eng_diags_print(&d, stderr);
    eng_diags_free(&d);
    assert_int_equal(rc, 0);
    return p;
}

static void expect(eng_pipeline *p, const char *msg, const char *user, const char *reply)
{
    eng_turn_opts o = {.user_id = user};
    eng_turn *t = NULL;
    assert_int_equal(eng_run(p, msg, &o, &t, NULL), 0);
    if (strcmp(eng_turn_reply(t), reply) != 0)
        fail_msg("%s: got \"%s\", want \"%s\"", msg, eng_turn_reply(t), reply);
    eng_turn_free(t);
}

static void test_conditions_in_order(void **state)
{
    (void)state;
    eng_pipeline *p = load(pipe_y);
    expect(p, "vip: show me shoes", NULL, "vip");               /* first route wins */
    expect(p, "add it to my cart", "u42", "member u42");        /* user present */
    expect(p, "add it to my cart", NULL, "guest");              /* intent list */
    expect(p, "do you have boots", NULL, "search");             /* Lua + confidence */
    expect(p, "hello", NULL, "no route: hello");                /* nothing matched: declines */
    eng_pipeline_release(p);
}

/* `session.broken.field` indexes nil: that route is skipped and says so. */
static void test_runtime_error_skips_route(void **state)
{
    (void)state;
    eng_pipeline *p = load(pipe_y);
    eng_turn *t = NULL;
    assert_int_equal(eng_run(p, "hello", NULL, &t, NULL), 0);
    json_object *tr = json_object_object_get(eng_turn_context(t), "trace");
    json_object *route = json_object_array_get_idx(tr, 1);
    const char *note = json_object_get_string(json_object_object_get(route, "note"));
    assert_non_null(strstr(note, "no route matched"));
    assert_non_null(strstr(note, "route 3 skipped"));
    assert_non_null(strstr(note, "r.yaml:13:"));
    assert_string_equal(json_object_get_string(json_object_object_get(route, "result")), "declined");
    assert_null(json_object_object_get(eng_turn_context(t), "route"));
    eng_turn_free(t);
    eng_pipeline_release(p);
}

/* route is recorded in the context for later stages and the trace */
static void test_route_recorded(void **state)
{
    (void)state;
    eng_pipeline *p = load(pipe_y);
    eng_turn *t = NULL;
    assert_int_equal(eng_run(p, "find jeans", NULL, &t, NULL), 0);
    json_object *ctx = eng_turn_context(t);
    assert_string_equal(json_object_get_string(json_object_object_get(ctx, "route")), "search");
    json_object *route = json_object_array_get_idx(json_object_object_get(ctx, "trace"), 1);
    assert_non_null(strstr(json_object_get_string(json_object_object_get(route, "note")), "-> search (route 5"));
    eng_turn_free(t);
    eng_pipeline_release(p);
}

/* A condition that runs forever is stopped by the budget and skipped. */
static void test_runaway_condition(void **state)
{
    (void)state;
    static const char y[] =
        "pipeline: loop\n"
        "stages:\n"
        "  - id: route\n"
        "    type: router\n"
        "    routes:\n"
        "      - { when: \"(function() while true do end end)()\", to: a }\n"
        "      - { default: b }\n"
        "  - { id: a, type: formatter, next: end, templates: { default: a } }\n"
        "  - { id: b, type: formatter, templates: { default: b } }\n";
    eng_pipeline *p = load(y);
    expect(p, "x", NULL, "b");
    eng_pipeline_release(p);
}

/* The sandbox in conditions: no io/os. */
static void test_condition_sandboxed(void **state)
{
    (void)state;
    static const char y[] =
        "pipeline: sb\n"
        "stages:\n"
        "  - id: route\n"
        "    type: router\n"
        "    routes:\n"
        "      - { when: \"io ~= nil or os ~= nil or require ~= nil\", to: a }\n"
        "      - { when: \"os.execute('touch /tmp/aisle-pwned')\", to: a }\n"
        "      - { default: b }\n"
        "  - { id: a, type: formatter, next: end, templates: { default: a } }\n"
        "  - { id: b, type: formatter, templates: { default: b } }\n";
    eng_pipeline *p = load(y);
    expect(p, "x", NULL, "b");
    eng_pipeline_release(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conditions_in_order),
        cmocka_unit_test(test_runtime_error_skips_route),
        cmocka_unit_test(test_route_recorded),
        cmocka_unit_test(test_runaway_condition),
        cmocka_unit_test(test_condition_sandboxed),
    };
    return cmocka_run_group_tests_name("router", tests, NULL, NULL);
}
