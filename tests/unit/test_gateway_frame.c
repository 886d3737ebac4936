/* tests/unit/test_gateway_frame.c — the WebSocket reply frame cut from
 * the answer's text (gateway/frame.c) is byte for byte the frame built
 * and printed from the answer object: for made-up answers (missing
 * members, nulls, a reply that is no object, escapes, nesting) and for
 * every answer of the commerce mix, fresh and replayed; a text that is
 * not json-c's plain print is refused, not cut wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gateway/gw_int.h"
#include "engine/eng.h"
#include "stores/store.h"
#include "sqlite_store.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* the frame both ways, for each client id and replayed flag */
static void same_frame(json_object *answer)
{
    const char *ids[] = {NULL, "m-1", "q\"uo\\te/slash"};
    char *rec = strdup(json_object_to_json_string_ext(answer, FLAGS));
    for (size_t i = 0; i < 3; i++)
        for (int rp = 0; rp < 2; rp++) {
            json_object *f = gw__reply_frame_obj(answer, ids[i], rp);
            size_t n = 0;
            char *cut = gw__reply_frame_text(rec, strlen(rec), ids[i], rp, &n);
            assert_non_null(cut);
            const char *want = json_object_to_json_string_ext(f, FLAGS);
            assert_string_equal(cut, want);
            assert_int_equal(n, strlen(want));
            free(cut);
            json_object_put(f);
        }
    free(rec);
}

static void test_made_up_answers(void **state)
{
    (void)state;
    const char *answers[] = {
        "{}",
        "{\"sessionId\":\"s\"}",
        "{\"reply\":null,\"cart\":null,\"actions\":[]}",
        "{\"reply\":\"not an object\",\"traceId\":\"t\"}",
        "{\"reply\":{},\"intent\":{\"name\":\"x\",\"confidence\":0.5}}",
        "{\"sessionId\":\"s\",\"intent\":{\"name\":\"search\",\"confidence\":0.93},"
        "\"reply\":{\"text\":\"a \\\"b\\\" / c\\n\\u0001 caf\\u00e9 {[,]}\",\"cards\":[{\"t\":\"x}\",\"p\":22.99,"
        "\"n\":[1,2,{\"d\":[]}]},{}],\"suggestions\":[\"a\",\"b\"],\"needsLogin\":false,\"confirmation\":null,"
        "\"uiActions\":[{\"type\":\"show_cart\"}],\"extra\":1},\"cart\":{\"items\":[],\"total\":0.0},"
        "\"actions\":[{\"type\":\"cart.add\",\"qty\":-1,\"big\":1e+20}],\"traceId\":\"abc\",\"more\":true}",
        /* members in another order than the frame's */
        "{\"traceId\":\"t\",\"actions\":[],\"reply\":{\"uiActions\":[],\"text\":\"x\"},\"cart\":{}}",
    };
    for (size_t i = 0; i < sizeof answers / sizeof answers[0]; i++) {
        json_object *a = json_tokener_parse(answers[i]);
        assert_non_null(a);
        same_frame(a);
        json_object_put(a);
    }
}

/* not json-c's plain print (white space, a name twice, cut short, not an
 * object): no frame cut from it */
static void test_refuses_other_texts(void **state)
{
    (void)state;
    const char *bad[] = {
        "{ \"traceId\":\"t\"}",
        "{\"traceId\": \"t\"}",
        "{\"reply\":{\"text\":\"x\", \"cards\":[]}}",
        "{\"cards\":[1, 2]}",
        "{\"traceId\":\"t\",\"traceId\":\"u\"}",
        "{\"traceId\":\"t\"",
        "{\"traceId\":\"t}",
        "{\"traceId\":\"t\"}x",
        "[1]",
        "",
        "{\"a\":}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *f = gw__reply_frame_text(bad[i], strlen(bad[i]), "m", 0, NULL);
        if (f)
            print_message("cut from %s: %s\n", bad[i], f);
        assert_null(f);
    }
}

/* the commerce mix: each answer as the driver printed it, and as a
 * resent id gets it back (the record's text, parsed and tidied) */
static void test_commerce_answers(void **state)
{
    (void)state;
    char dir[64], path[128], cmd[128];
    snprintf(dir, sizeof dir, "/tmp/aisle-frame-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/aisle.db", dir);
    store *st = test_sqlite_store(path);
    test_import_catalog(st, "examples/catalog/products.json");
    eng_pipeline *p = NULL;
    eng_diags d;
    eng_diags_init(&d);
    assert_int_equal(eng_pipeline_load("pipelines/commerce.yaml", &p, &d), 0);
    eng_diags_free(&d);
    const char *mix[] = {"show me sunglasses", "tell me more about the first one", "add it to my cart",
                         "whats in my cart?", "only the ones under 30 dollars", "remove it from my cart",
                         "add 2 of the first one and 1 of the second", "checkout"};
    for (int round = 0; round < 2; round++)
        for (size_t i = 0; i < sizeof mix / sizeof mix[0]; i++) {
            char mid[16];
            snprintf(mid, sizeof mid, "m%zu", i);
            eng_deps deps = {.store = st};
            eng_converse_opts o = {.text = mix[i], .session_id = "frame", .message_id = mid, .deps = &deps};
            eng_converse_result r = {0};
            eng_err e = {0};
            assert_int_equal(eng_converse(p, &o, &r, &e), 0);
            assert_int_equal(r.replayed, round);   /* the second round resends every id */
            assert_non_null(r.reply_text);
            for (int rp = 0; rp < 2; rp++) {
                json_object *f = gw__reply_frame_obj(r.reply, mid, rp);
                char *cut = gw__reply_frame_text(r.reply_text, strlen(r.reply_text), mid, rp, NULL);
                assert_non_null(cut);
                assert_string_equal(cut, json_object_to_json_string_ext(f, FLAGS));
                free(cut);
                json_object_put(f);
            }
            eng_converse_result_clear(&r);
        }
    eng_pipeline_release(p);
    store_close(st);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_made_up_answers),
        cmocka_unit_test(test_refuses_other_texts),
        cmocka_unit_test(test_commerce_answers),
    };
    return cmocka_run_group_tests_name("gateway: the reply frame", tests, NULL, NULL);
}
