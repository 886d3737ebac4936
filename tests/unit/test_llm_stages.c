/* tests/unit/test_llm_stages.c — the LLM options of the classifier
 * (model: llm) and the formatter (llm: true) against the loopback fake
 * provider, for both wire formats: a normal and a streamed answer, and
 * every way the LLM can fail (429, 500, malformed JSON, an intent that
 * does not exist, a stall past the deadline, a provider that is down, no
 * LLM at all). In every case the turn answers before its deadline, the
 * fallback (built-in model, template) answers, and the trace says so. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/eng.h"
#include "fake_llm.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define DEADLINE_MS 2500

static const char pipeline_yaml[] =
    "pipeline: llm\n"
    "deadline_ms: 2500\n"
    "intents:\n"
    "  hello: [hi, hello, hey there, good morning, howdy]\n"
    "  bye: [bye, goodbye, see you, farewell, see you later]\n"
    "  search_product: [show me shoes, do you have boots, find a dress, looking for jeans]\n"
    "stages:\n"
    "  - { id: nlu, type: classifier, model: llm, llm_timeout_ms: 500, threshold: 0 }\n"
    "  - { id: reply, type: formatter, llm: true, llm_timeout_ms: 700,\n"
    "      templates: { default: 'You asked about {{intent.name}}.' } }\n";

static eng_pipeline *pipe_;

static eng_llm *client(eng_llm_provider p, int port)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1", port);
    eng_llm_config c = {.provider = p, .base_url = url, .api_key = "sk-test", .model = "test-model",
                        .max_retries = 0, .breaker_failures = 1000};
    return eng_llm_new(&c);
}

typedef struct deltas {
    char text[4096];
    int n;
} deltas;

static void on_delta(void *ud, const char *t, size_t n)
{
    deltas *d = ud;
    size_t l = strlen(d->text);
    if (l + n < sizeof d->text) {
        memcpy(d->text + l, t, n);
        d->text[l + n] = '\0';
    }
    d->n++;
}

/* One turn; returns its context (caller frees the turn via *out). */
static json_object *turn(eng_llm *llm, const char *text, deltas *d, eng_turn **out, int64_t *took_ms)
{
    eng_deps deps = {.llm = llm};
    eng_turn_opts o = {.deps = &deps, .on_delta = d ? on_delta : NULL, .delta_ud = d};
    int64_t t0 = eng_now_us();
    assert_int_equal(eng_run(pipe_, text, &o, out, NULL), 0);
    *took_ms = (eng_now_us() - t0) / 1000;
    return eng_turn_context(*out);
}

static const char *str(json_object *o, const char *a, const char *b)
{
    json_object *v = json_object_object_get(o, a);
    return json_object_get_string(b ? json_object_object_get(v, b) : v);
}

static bool has_fallback(json_object *ctx, const char *stage, const char *reason_part)
{
    json_object *fb = json_object_object_get(ctx, "fallbacks");
    for (size_t i = 0; fb && i < json_object_array_length(fb); i++) {
        json_object *e = json_object_array_get_idx(fb, i);
        if (strcmp(str(e, "stage", NULL), stage) == 0 && (!reason_part || strstr(str(e, "reason", NULL), reason_part)))
            return true;
    }
    return false;
}

static void test_llm_answers(void **state)
{
    (void)state;
    NEED_FAKE();
    eng_llm_provider ps[] = {ENG_LLM_OPENAI, ENG_LLM_ANTHROPIC};
    for (int i = 0; i < 2; i++) {
        eng_llm *llm = client(ps[i], fake_port);
        eng_turn *t;
        int64_t ms;
        deltas d = {0};
        json_object *ctx = turn(llm, "[intent:bye] I should go now", &d, &t, &ms);
        assert_string_equal(str(ctx, "intent", "name"), "bye");
        assert_string_equal(str(ctx, "intent", "source"), "llm");
        /* the phrasing streamed in several pieces that add up to the reply */
        assert_true(d.n > 1);
        assert_string_equal(d.text, eng_turn_reply(t));
        assert_non_null(strstr(eng_turn_reply(t), "Happy to help"));
        assert_string_equal(str(ctx, "reply", "source"), "llm");
        assert_string_equal(str(ctx, "reply", "draft"), "You asked about bye.");
        assert_null(json_object_object_get(ctx, "fallbacks"));
        eng_turn_free(t);
        eng_llm_free(llm);
    }
}

/* Each failure: the built-in model and the template answer in time. */
static void check_fallback(eng_llm *llm, const char *text, const char *want_reason)
{
    eng_turn *t;
    int64_t ms;
    json_object *ctx = turn(llm, text, NULL, &t, &ms);
    if (!has_fallback(ctx, "nlu", want_reason))
        fail_msg("%s: no classifier fallback mentioning \"%s\" in %s", text, want_reason,
                 json_object_to_json_string(json_object_object_get(ctx, "fallbacks")));
    assert_string_equal(str(ctx, "intent", "source"), "builtin");
    assert_string_equal(str(ctx, "intent", "name"), "hello");
    assert_true(has_fallback(ctx, "reply", NULL));
    assert_string_equal(eng_turn_reply(t), "You asked about hello.");
    assert_string_equal(str(ctx, "reply", "source"), "template");
    /* the trace names the fallback */
    json_object *tr = json_object_array_get_idx(json_object_object_get(ctx, "trace"), 0);
    assert_non_null(strstr(str(tr, "note", NULL), "llm fallback"));
    assert_true(ms < DEADLINE_MS);
    assert_null(json_object_object_get(ctx, "timedOut"));
    eng_turn_free(t);
}

static void test_http_errors(void **state)
{
    (void)state;
    NEED_FAKE();
    eng_llm_provider ps[] = {ENG_LLM_OPENAI, ENG_LLM_ANTHROPIC};
    for (int i = 0; i < 2; i++) {
        eng_llm *llm = client(ps[i], fake_port);
        check_fallback(llm, "[429] hello there", "429");
        check_fallback(llm, "[500] hello there", "500");
        check_fallback(llm, "[malformed] hello there", "");
        eng_llm_free(llm);
    }
}

static void test_bad_intent(void **state)
{
    (void)state;
    NEED_FAKE();
    eng_llm *llm = client(ENG_LLM_OPENAI, fake_port);
    eng_turn *t;
    int64_t ms;
    json_object *ctx = turn(llm, "[badintent] hello there", NULL, &t, &ms);
    assert_true(has_fallback(ctx, "nlu", "does not have"));
    assert_string_equal(str(ctx, "intent", "name"), "hello");
    assert_string_equal(str(ctx, "intent", "source"), "builtin");
    /* the formatter's phrasing still worked */
    assert_string_equal(str(ctx, "reply", "source"), "llm");
    eng_turn_free(t);
    eng_llm_free(llm);
}

static void test_stall(void **state)
{
    (void)state;
    NEED_FAKE();
    eng_llm_provider ps[] = {ENG_LLM_OPENAI, ENG_LLM_ANTHROPIC};
    for (int i = 0; i < 2; i++) {
        eng_llm *llm = client(ps[i], fake_port);
        eng_turn *t;
        int64_t ms;
        json_object *ctx = turn(llm, "[stall] hello there", NULL, &t, &ms);
        assert_true(has_fallback(ctx, "nlu", NULL));
        assert_true(has_fallback(ctx, "reply", NULL));
        assert_string_equal(eng_turn_reply(t), "You asked about hello.");
        /* 500 ms for the classifier + 700 ms for the phrasing, well inside 2.5 s */
        assert_true(ms >= 1100 && ms < 1600);
        eng_turn_free(t);
        eng_llm_free(llm);
    }
}

static void test_provider_down(void **state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    int port = ntohs(a.sin_port);
    close(fd); /* nothing listens there now */
    eng_llm *llm = client(ENG_LLM_ANTHROPIC, port);
    eng_turn *t;
    int64_t ms;
    json_object *ctx = turn(llm, "hello there", NULL, &t, &ms);
    assert_true(has_fallback(ctx, "nlu", NULL));
    assert_string_equal(str(ctx, "intent", "name"), "hello");
    assert_string_equal(eng_turn_reply(t), "You asked about hello.");
    assert_true(ms < 500);
    eng_turn_free(t);
    eng_llm_free(llm);
}

static void test_no_llm(void **state)
{
    (void)state;
    eng_turn *t;
    int64_t ms;
    json_object *ctx = turn(NULL, "goodbye", NULL, &t, &ms);
    assert_true(has_fallback(ctx, "nlu", "no LLM configured"));
    assert_string_equal(str(ctx, "intent", "name"), "bye");
    assert_string_equal(eng_turn_reply(t), "You asked about bye.");
    eng_turn_free(t);
}

static int setup(void **state)
{
    start_fake(state);
    eng_diags d;
    eng_diags_init(&d);
    int rc = eng_pipeline_load_buffer("llm.yaml", pipeline_yaml, strlen(pipeline_yaml), ".", &pipe_, &d);
    if (rc)
        eng_diags_print(&d, stderr);
    eng_diags_free(&d);
    return rc;
}

static int teardown(void **state)
{
    eng_pipeline_release(pipe_);
    return stop_fake(state);
}

int main(void)
{
    setenv("AISLE_LLM_LOG", "off", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_llm_answers),
        cmocka_unit_test(test_http_errors),
        cmocka_unit_test(test_bad_intent),
        cmocka_unit_test(test_stall),
        cmocka_unit_test(test_provider_down),
        cmocka_unit_test(test_no_llm),
    };
    return cmocka_run_group_tests_name("llm stages", tests, setup, teardown);
}
