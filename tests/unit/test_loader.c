/* tests/unit/test_loader.c — the pipeline loader and linter.
 * Data-driven: every tests/unit/loader/NN-*.yaml is a broken file whose
 * first diagnostic must equal its line in loader/expected.txt exactly
 * (FILE:LINE:COL: error: MESSAGE). Plus valid files, warnings, several
 * errors in one run, and hostile input that must never crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/eng.h"
#include "engine/eng_int.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIR_ "tests/unit/loader"

static char *first_error(eng_diags *d)
{
    static char line[2048];
    line[0] = '\0';
    for (size_t i = 0; i < d->n; i++) {
        if (d->items[i].sev != ENG_DIAG_ERROR)
            continue;
        const eng_diag *g = &d->items[i];
        if (g->line)
            snprintf(line, sizeof line, "%s:%d:%d: error: %s", g->file, g->line, g->col, g->msg);
        else
            snprintf(line, sizeof line, "%s: error: %s", g->file, g->msg);
        break;
    }
    return line;
}

/* One broken file: state is the expected line. */
static void test_broken_file(void **state)
{
    const char *line = *state;
    char path[512];
    const char *tab = strchr(line, '\t');
    assert_non_null(tab);
    const char *expect = tab + 1;
    snprintf(path, sizeof path, DIR_ "/%.*s", (int)(tab - line), line);
    eng_diags d;
    eng_diags_init(&d);
    eng_pipeline *p = NULL;
    int rc = eng_pipeline_load(path, &p, &d);
    assert_int_equal(rc, ENG_ECONFIG);
    assert_null(p);
    assert_true(d.errors >= 1);
    char want[1024];
    snprintf(want, sizeof want, DIR_ "/%s", expect);
    if (strcmp(first_error(&d), want) != 0) {
        eng_diags_print(&d, stderr);
        fail_msg("expected: %s\n     got: %s", want, first_error(&d));
    }
    eng_diags_free(&d);
}

static void test_valid_faq(void **state)
{
    (void)state;
    eng_diags d;
    eng_diags_init(&d);
    eng_pipeline *p = NULL;
    int rc = eng_pipeline_load("examples/faq/faq.yaml", &p, &d);
    if (rc)
        eng_diags_print(&d, stderr);
    assert_int_equal(rc, 0);
    assert_int_equal(d.errors, 0);
    assert_int_equal(d.warnings, 0);
    assert_string_equal(eng_pipeline_name(p), "store-faq");
    assert_int_equal(eng_pipeline_version(p), 1);
    json_object *g = eng_pipeline_graph(p);
    assert_int_equal(json_object_array_length(json_object_object_get(g, "stages")), 6);
    assert_int_equal(json_object_array_length(json_object_object_get(g, "intents")), 8);
    json_object_put(g);
    eng_pipeline_release(p);
    eng_diags_free(&d);
}

static const char minimal[] =
    "pipeline: mini\n"
    "intents:\n"
    "  hello: [hi, hello, hey]\n"
    "  bye: [bye, goodbye, see you]\n"
    "stages:\n"
    "  - { id: nlu, type: classifier }\n"
    "  - { id: reply, type: formatter, templates: { hello: 'Hi!', bye: 'Bye!' } }\n";

static void test_defaults(void **state)
{
    (void)state;
    eng_pipeline *p = NULL;
    assert_int_equal(eng_pipeline_load_buffer("mini.yaml", minimal, strlen(minimal), ".", &p, NULL), 0);
    assert_int_equal(eng_pipeline_version(p), 1);
    json_object *g = eng_pipeline_graph(p);
    assert_int_equal(json_object_get_int(json_object_object_get(g, "deadlineMs")), 3000);
    json_object_put(g);
    eng_pipeline_release(p);
}

/* Warnings do not fail the load and are reported as warnings. */
static void test_warning_unreachable(void **state)
{
    (void)state;
    static const char y[] =
        "pipeline: w\n"
        "stages:\n"
        "  - { id: a, type: formatter, templates: { default: 'a' }, next: end }\n"
        "  - { id: orphan, type: formatter, templates: { default: 'b' } }\n";
    eng_diags d;
    eng_diags_init(&d);
    eng_pipeline *p = NULL;
    assert_int_equal(eng_pipeline_load_buffer("w.yaml", y, strlen(y), ".", &p, &d), 0);
    assert_non_null(p);
    assert_int_equal(d.errors, 0);
    assert_int_equal(d.warnings, 1);
    assert_string_equal(d.items[0].msg, "stage \"orphan\" is never reached (no route or \"next\" leads to it)");
    assert_int_equal(d.items[0].line, 4);
    assert_int_equal(d.items[0].col, 5);
    eng_pipeline_release(p);
    eng_diags_free(&d);
}

/* One run reports several independent errors. */
static void test_several_errors(void **state)
{
    (void)state;
    static const char y[] =
        "pipeline: s\n"
        "colour: blue\n"
        "stages:\n"
        "  - { id: a, type: formater }\n"
        "  - { id: b, type: formatter, templates: { default: 'b' }, extra: 1 }\n"
        "  - { id: c, type: router, routes: [ { when: 'x ==', to: zz } ] }\n";
    eng_diags d;
    eng_diags_init(&d);
    eng_pipeline *p = NULL;
    assert_int_equal(eng_pipeline_load_buffer("s.yaml", y, strlen(y), ".", &p, &d), ENG_ECONFIG);
    assert_true(d.errors >= 4);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    eng_diags_print(&d, f);
    fclose(f);
    assert_non_null(strstr(out, "s.yaml:2:1: error: unknown top-level key \"colour\""));
    assert_non_null(strstr(out, "s.yaml:4:20: error: unknown stage type \"formater\" (did you mean \"formatter\"?)"));
    assert_non_null(strstr(out, "s.yaml:5:60: error: unknown key \"extra\" in formatter stage \"b\"\n"));
    assert_non_null(strstr(out, "s.yaml:6:47: error: bad Lua in route condition"));
    free(out);
    eng_diags_free(&d);
}

/* A route target problem is reported even when other errors exist. */
static void test_unknown_target_position(void **state)
{
    (void)state;
    static const char y[] =
        "pipeline: s\n"
        "stages:\n"
        "  - id: r\n"
        "    type: router\n"
        "    routes:\n"
        "      - intent: hello\n"
        "        to: nowhere\n"
        "  - { id: b, type: formatter, templates: { default: 'b' } }\n";
    eng_diags d;
    eng_diags_init(&d);
    eng_pipeline *p = NULL;
    assert_int_equal(eng_pipeline_load_buffer("t.yaml", y, strlen(y), ".", &p, &d), ENG_ECONFIG);
    assert_string_equal(first_error(&d), "t.yaml:7:13: error: route target \"nowhere\" is not a stage id");
    eng_diags_free(&d);
}

/* Inputs that have broken YAML loaders elsewhere: none may crash. */
static void test_hostile_inputs(void **state)
{
    (void)state;
    static const char *const inputs[] = {
        "",
        "\n\n\n",
        "---\n...\n",
        ":",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[",
        "pipeline: &a [*a]\n",
        "a: &x {b: *x}\n",
        "pipeline: x\nstages: *nope\n",
        "pipeline: x\nstages:\n  - &s {id: a, type: formatter, templates: {default: x}}\n  - *s\n",
        "pipeline: x\nstages: {a: 1}\n",
        "pipeline: x\nstages: [1, 2, 3]\n",
        "pipeline: x\nstages: [{id: [1], type: {a: b}}]\n",
        "pipeline: x\nintents: {a: {examples: [[1]]}}\nstages: [{id: n, type: classifier}]\n",
        "pipeline: x\nstages: [{id: r, type: router, routes: 5}]\n",
        "pipeline: x\nstages: [{id: r, type: router, routes: [[], {}, 3]}]\n",
        "pipeline: x\nstages: [{id: f, type: formatter, templates: [1]}]\n",
        "pipeline: x\nstages: [{id: f, type: formatter, templates: {a: {text: {b: c}}}}]\n",
        "pipeline: x\nstages: [{id: f, type: formatter, templates: {default: '{{'}}]\n",
        "pipeline: x\nstages: [{id: l, type: lua, script: /dev/null}]\n",
        "pipeline: x\nstages: [{id: l, type: lua, script: /}]\n",
        "\xef\xbb\xbfpipeline: bom\nstages: [{id: f, type: formatter, templates: {default: x}}]\n",
        "pipeline: x\r\nstages: [{id: f, type: formatter, templates: {default: x}}]\r\n",
        "pipeline: \"\\ud800\"\n",
        "pipeline: x\nversion: 99999999999999999999999\nstages: []\n",
        "pipeline: x\ndeadline_ms: 1e400\n",
        "? [a, b]\n: c\n",
        "!!binary pipeline: x\n",
        "%YAML 9.9\n---\na: b\n",
    };
    for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) {
        eng_diags d;
        eng_diags_init(&d);
        eng_pipeline *p = NULL;
        int rc = eng_pipeline_load_buffer("h.yaml", inputs[i], strlen(inputs[i]), ".", &p, &d);
        if (rc == 0)
            eng_pipeline_release(p);
        else
            assert_true(d.errors > 0);
        eng_diags_free(&d);
    }
    /* invalid UTF-8 and embedded NULs */
    static const char bad[] = "pipeline: \xff\xfe\n";
    eng_diags d;
    eng_diags_init(&d);
    eng_pipeline *p = NULL;
    assert_int_equal(eng_pipeline_load_buffer("u.yaml", bad, sizeof bad - 1, ".", &p, &d), ENG_ECONFIG);
    assert_string_equal(d.items[0].msg, "file is not valid UTF-8");
    eng_diags_free(&d);
    static const char nul[] = "pipeline: a\0b\nstages: []\n";
    eng_diags_init(&d);
    assert_int_equal(eng_pipeline_load_buffer("n.yaml", nul, sizeof nul - 1, ".", &p, &d), ENG_ECONFIG);
    eng_diags_free(&d);
}

/* Deep nesting must not overflow the stack. */
static void test_deep_nesting(void **state)
{
    (void)state;
    size_t depth = 50000;
    char *y = malloc(depth * 2 + 64);
    size_t n = (size_t)snprintf(y, 64, "pipeline: x\nstages: ");
    for (size_t i = 0; i < depth; i++)
        y[n++] = '[';
    for (size_t i = 0; i < depth; i++)
        y[n++] = ']';
    y[n] = '\0';
    eng_diags d;
    eng_diags_init(&d);
    eng_pipeline *p = NULL;
    int rc = eng_pipeline_load_buffer("deep.yaml", y, n, ".", &p, &d);
    assert_int_not_equal(rc, 0);
    eng_diags_free(&d);
    free(y);
}

/* Every allocation failure during a load is a clean ENG_ENOMEM (or a
 * diagnostic), never a crash or a leak (ASan checks the leak part). */
static void test_load_oom(void **state)
{
    (void)state;
    for (long n = 0; n < 100000; n++) {
        eng_alloc_fail_after(n);
        eng_pipeline *p = NULL;
        eng_diags d;
        eng_diags_init(&d);
        int rc = eng_pipeline_load_buffer("mini.yaml", minimal, strlen(minimal), ".", &p, &d);
        eng_alloc_fail_after(-1);
        eng_diags_free(&d);
        if (rc == 0) {
            eng_pipeline_release(p);
            return;
        }
        assert_true(rc == ENG_ENOMEM || rc == ENG_ECONFIG);
    }
    fail_msg("load never succeeded");
}

static void test_missing_file(void **state)
{
    (void)state;
    eng_diags d;
    eng_diags_init(&d);
    eng_pipeline *p = NULL;
    assert_int_equal(eng_pipeline_load("tests/unit/loader/does-not-exist.yaml", &p, &d), ENG_EIO);
    assert_string_equal(first_error(&d),
                        "tests/unit/loader/does-not-exist.yaml: error: cannot read file: No such file or directory");
    eng_diags_free(&d);
}

/* eng_csv_row, the record reader of training files (and aisle eval):
 * picked fields in any order, quotes, a blank line, a short record and a
 * last record without its newline */
static void test_csv_row(void **state)
{
    (void)state;
    char text[] = "a,\"b,\"\"c\"\"\",d\r\n\nx\n\"\"\nlast,one";
    char *p = text, *end = text + strlen(text);
    const int cols[2] = {2, 1};
    const char *got[2];
    assert_int_equal(eng_csv_row(&p, end, cols, got, 2), 3);
    assert_string_equal(got[0], "d");
    assert_string_equal(got[1], "b,\"c\"");
    assert_int_equal(eng_csv_row(&p, end, cols, got, 2), 0);
    assert_int_equal(eng_csv_row(&p, end, cols, got, 2), 1);
    assert_null(got[0]);
    assert_null(got[1]);
    assert_int_equal(eng_csv_row(&p, end, cols, got, 2), 0);   /* "" alone is blank too */
    const int first[1] = {0};
    assert_int_equal(eng_csv_row(&p, end, first, got, 1), 2);
    assert_string_equal(got[0], "last");
    assert_ptr_equal(p, end);
}

int main(void)
{
    FILE *f = fopen(DIR_ "/expected.txt", "r");
    if (!f) {
        fprintf(stderr, "cannot open " DIR_ "/expected.txt (run from the repository root)\n");
        return 1;
    }
    static struct CMUnitTest tests[128];
    static char lines[128][1024];
    static char names[128][128];
    size_t n = 0;
    while (n < 100 && fgets(lines[n], sizeof lines[n], f)) {
        lines[n][strcspn(lines[n], "\n")] = '\0';
        if (!lines[n][0] || lines[n][0] == '#')
            continue;
        snprintf(names[n], sizeof names[n], "broken %.*s", (int)strcspn(lines[n], "\t"), lines[n]);
        tests[n] = (struct CMUnitTest){names[n], test_broken_file, NULL, NULL, lines[n]};
        n++;
    }
    fclose(f);
    /* every broken file has an expectation and vice versa */
    DIR *dir = opendir(DIR_);
    size_t files = 0;
    for (struct dirent *e; dir && (e = readdir(dir));)
        if (strstr(e->d_name, ".yaml"))
            files++;
    if (dir)
        closedir(dir);
    if (files != n) {
        fprintf(stderr, "%zu broken files but %zu expectations in expected.txt\n", files, n);
        return 1;
    }
    const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_valid_faq),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_warning_unreachable),
        cmocka_unit_test(test_several_errors),
        cmocka_unit_test(test_unknown_target_position),
        cmocka_unit_test(test_hostile_inputs),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_load_oom),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_csv_row),
    };
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        tests[n++] = fixed[i];
    /* the rest of tests[] stays zero: cmocka passes over unnamed entries */
    return cmocka_run_group_tests_name("loader", tests, NULL, NULL);
}
