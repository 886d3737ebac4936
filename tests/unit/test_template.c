/* tests/unit/test_template.c — reply templates (engine/template.c):
 * rendering of values, filters and blocks against a fixed context, every
 * compile error with its file position, nesting limits and failures of
 * the Nth allocation; and the doubles of a reply as they are written
 * (eng_json_tidy_doubles). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/eng.h"
#include "engine/eng_int.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *ctx_json =
    "{\"user\": {\"name\": \"ada lovelace\", \"vip\": true, \"city\": \"Paris\"},"
    " \"cart\": {\"total\": 19.5, \"count\": 2, \"items\": ["
    "   {\"title\": \"usb cable\", \"price\": 4.5, \"qty\": 2, \"tags\": [\"x\", \"y\"]},"
    "   {\"title\": \"mouse\", \"price\": 15, \"qty\": 1, \"tags\": []}]},"
    " \"tags\": [\"red\", \"green\", \"blue\"], \"mixed\": [1, 2.5, true, \"s\", null, {\"a\": 1}, [3]],"
    " \"matrix\": [[1, 2], [3]],"
    " \"zero\": 0, \"zerod\": 0.0, \"empty\": \"\", \"none\": null, \"list\": [], \"obj\": {},"
    " \"f\": false, \"t\": true, \"n\": 42, \"big\": 20.0, \"third\": 0.3333, \"neg\": -3,"
    " \"negtiny\": -0.001, \"price_s\": \"7.256\", \"word\": \"caf\\u00e9s\", \"hex\": \"0x1A\","
    " \"shout\": \"MiXeD Case\", \"title\": \"outer title\", \"half\": 2.5,"
    " \"k1\": 1399.99, \"m1\": 1234567.5, \"k0\": 999.999, \"negk\": -2500}";

typedef struct fixture {
    eng_pool *pool;
    json_object *ctx;
    eng_buf out;
} fixture;

static int setup(void **state)
{
    static fixture f;
    f.pool = eng__pool_new(4096);
    f.ctx = json_tokener_parse(ctx_json);
    eng__buf_init(&f.out);
    if (!f.pool || !f.ctx)
        return -1;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    eng__pool_free(f->pool);
    json_object_put(f->ctx);
    eng__buf_free(&f->out);
    return 0;
}

/* render: compile `src` and render it against the fixture context. */
static const char *render(fixture *f, const char *src)
{
    eng_tmpl *t = NULL;
    eng_err err = {0};
    int rc = eng__tmpl_compile(f->pool, src, 1, 1, &t, &err);
    if (rc != 0)
        fail_msg("compile of '%s' failed: %d:%d: %s", src, err.line, err.col, err.msg);
    eng__buf_reset(&f->out);
    assert_int_equal(eng__tmpl_render(t, f->ctx, &f->out), 0);
    return f->out.data ? f->out.data : "";
}

#define R(src, want) assert_string_equal(render(f, src), want)

/* expect_err: compiling src placed at (line, col) fails with ENG_EINVAL
 * at (eline, ecol) with exactly `msg`. */
static void expect_err_at(fixture *f, const char *src, int line, int col, int eline, int ecol,
                          const char *msg)
{
    eng_tmpl *t = (eng_tmpl *)1;
    eng_err err = {0};
    int rc = eng__tmpl_compile(f->pool, src, line, col, &t, &err);
    if (rc != ENG_EINVAL || err.line != eline || err.col != ecol || strcmp(err.msg, msg))
        fail_msg("'%s': want %d %d:%d: %s\n got %d %d:%d: %s", src, ENG_EINVAL, eline, ecol, msg, rc,
                 err.line, err.col, err.msg);
    assert_null(t);
}

#define E(src, el, ec, msg) expect_err_at(f, src, 1, 1, el, ec, msg)

static void test_variables(void **state)
{
    fixture *f = *state;
    R("", "");
    R("plain text, no tags", "plain text, no tags");
    R("Hi {{user.name}}!", "Hi ada lovelace!");
    R("Hi {{ user.name }}!", "Hi ada lovelace!");
    R("{{\n  user.city\n}}", "Paris");
    R("{{n}} {{neg}} {{zero}}", "42 -3 0");
    R("{{cart.total}} {{big}} {{third}} {{half}} {{zerod}} {{negtiny}}", "19.5 20 0.33 2.5 0 0");
    R("{{t}}/{{f}}", "true/false");
    R("[{{tags}}]", "[red, green, blue]");
    /* only scalars are joined; null, objects and nested arrays are skipped */
    R("[{{mixed}}]", "[1, 2.5, true, s]");
    R("[{{user}}]", "[]");
    R("[{{obj}}][{{list}}]", "[][]");
    R("{{this.user.city}}", "Paris");
}

/* plural: the count and the word in the right number, so no reply reads
 * "1 items"; "a,b" names an irregular plural. */
static void test_plural(void **state)
{
    fixture *f = *state;
    R("{{cart.items.1.qty | plural:\"item\"}}", "1 item");
    R("{{cart.count | plural:\"item\"}}", "2 items");
    R("{{zero | plural:\"product\"}}", "0 products");
    R("{{none | plural:\"order\"}}|{{missing | plural:'order'}}", "0 orders|0 orders");
    R("{{n | plural:\"category\"}} {{n | plural:\"box\"}} {{n | plural:\"match\"}} {{n | plural:\"day\"}}",
      "42 categories 42 boxes 42 matches 42 days");
    R("{{cart.items.1.qty | plural:\"person,people\"}} / {{n | plural:\"person,people\"}}", "1 person / 42 people");
    R("{{half | plural:\"kg\"}} {{neg | plural:\"degree\"}}", "2.5 kgs -3 degrees");
    R("{{price_s | plural:\"unit\"}}", "7.26 units");    /* a number in a string counts */
    R("{{list | count | plural:\"tag\"}} {{tags | count | plural:\"tag\"}}", "0 tags 3 tags");
    R("{{word | plural:\"item\"}}|{{t | plural:\"item\"}}", "caf\xc3\xa9s|true"); /* not a number: as it is */
    R("{{#each cart.items}}{{qty | plural:\"piece\"}};{{/each}}", "2 pieces;1 piece;");
    /* possessive: "the Watch's listing", "the Eggs' listing"; nothing for
     * a value that is not there */
    R("{{this.user.city | possessive}}|{{word | possessive}}|{{price_s | possessive}}|{{missing | possessive}}|", "Paris'|caf\xc3\xa9s'|7.256's||");
    E("{{n | plural}}", 1, 7, "filter \"plural\" needs an argument, as in plural:\"item\"");
    E("{{n | plural:item}}", 1, 14, "the argument of \"plural\" must be a quoted string, as in plural:\"item\"");
}

static void test_paths(void **state)
{
    fixture *f = *state;
    R("{{cart.items.0.title}}", "usb cable");
    R("{{cart.items.1.price}}", "15");
    R("{{tags.2}}", "blue");
    R("{{matrix.0.1}}", "2");
    R("{{cart_id}}-{{cart.nope}}-{{tags.9}}-{{tags.x}}-{{user.name.first}}", "----");
    R("[{{none}}][{{empty}}]", "[][]");
    R("{{$odd-key_1}}", "");
}

static void test_filters(void **state)
{
    fixture *f = *state;
    R("{{user.name | upper}}", "ADA LOVELACE");
    R("{{shout|lower}}", "mixed case");
    R("{{user.name | title}}", "Ada Lovelace");
    R("{{shout | title}}", "MiXeD Case");
    R("{{word | upper}}", "CAF\xc3\xa9S"); /* ASCII only: é is left alone */
    R("{{cart.total | money}} {{n | money}} {{price_s | money}} {{negtiny | money}}",
      "19.50 42.00 7.26 0.00");
    R("{{user.name | money}}|{{none | money}}|{{t | money}}|{{hex | money}}", "ada lovelace||true|0x1A");
    /* thousands grouped, as a shopper reads a price; a rounding that
     * reaches the next thousand is grouped too */
    R("{{k1 | money}} {{m1 | money}} {{k0 | money}} {{negk | money}}", "1,399.99 1,234,567.50 1,000.00 -2,500.00");
    R("{{half | round}} {{third | round}} {{price_s | round}} {{n | round}} {{neg | round}}", "3 0 7 42 -3");
    R("{{tags | count}} {{list | count}} {{word | count}} {{none | count}} {{user | count}} {{n | count}}",
      "3 0 5 0 3 42");
    R("{{tags | join:\" / \"}}", "red / green / blue");
    R("{{tags | join:''}}", "redgreenblue");
    R("{{tags | join:\"}}\"}}", "red}}green}}blue");
    R("{{tags | join:\"\\n\"}}", "red\ngreen\nblue");
    R("{{user.name | join:\"-\"}}", "ada lovelace");
    R("{{missing | default:\"n/a\"}}", "n/a");
    R("{{none | default: \"n/a\"}}|{{empty | default:'-'}}|{{f | default:'no'}}|{{list | default:'[]'}}",
      "n/a|-|no|[]");
    R("{{zero | default:\"x\"}}|{{user.name | default:\"x\"}}", "0|ada lovelace");
    R("{{missing | default:\"say \\\"hi\\\"\"}}", "say \"hi\"");
    /* chains run left to right */
    R("{{missing | default:\"none yet\" | upper}}", "NONE YET");
    R("{{list | join:\", \" | default:\"nothing\"}}", "nothing");
    R("{{cart.items | count | money}}", "2.00");
    R("{{tags | join:\"+\" | upper | count}}", "14");
    R("{{price_s | money | round}}", "7");
    R("{{ n|money|default:'x' }}", "42.00");
}

static void test_if_unless(void **state)
{
    fixture *f = *state;
    R("{{#if user.vip}}VIP{{/if}}", "VIP");
    R("{{#if f}}yes{{else}}no{{/if}}", "no");
    R("{{#if missing}}yes{{else}}no{{/if}}", "no");
    /* every falsy kind */
    R("{{#if none}}1{{/if}}{{#if f}}2{{/if}}{{#if zero}}3{{/if}}{{#if zerod}}4{{/if}}"
      "{{#if empty}}5{{/if}}{{#if list}}6{{/if}}{{#if obj}}7{{/if}}",
      "");
    R("{{#if t}}1{{/if}}{{#if n}}2{{/if}}{{#if user.name}}3{{/if}}{{#if tags}}4{{/if}}{{#if user}}5{{/if}}"
      "{{#if neg}}6{{/if}}{{#if third}}7{{/if}}",
      "1234567");
    R("{{#unless f}}shown{{/unless}}{{#unless t}}hidden{{/unless}}", "shown");
    R("{{#unless list}}empty{{else}}full{{/unless}}", "empty");
    R("{{#if user}}{{#if user.vip}}{{#unless f}}deep {{user.city}}{{/unless}}{{/if}}{{/if}}", "deep Paris");
    R("{{#if t}}a{{else}}b{{/if}}{{#if f}}c{{else}}d{{/if}}", "ad");
}

static void test_each(void **state)
{
    fixture *f = *state;
    R("{{#each tags}}{{this}}{{#unless @last}}, {{/unless}}{{/each}}", "red, green, blue");
    R("{{#each tags}}{{@index}}={{this}} {{/each}}", "0=red 1=green 2=blue ");
    R("{{#each tags}}{{@number}}.{{this | upper}}{{#if @last}}!{{/if}} {{/each}}", "1.RED 2.GREEN 3.BLUE! ");
    R("{{#each cart.items}}{{qty}}x {{title | title}} @ {{price | money}}; {{/each}}",
      "2x Usb Cable @ 4.50; 1x Mouse @ 15.00; ");
    /* outer names still resolve; the item's own keys win */
    R("{{#each cart.items}}{{title}} for {{user.name}} in {{user.city}}|{{/each}}",
      "usb cable for ada lovelace in Paris|mouse for ada lovelace in Paris|");
    R("{{#each cart.items}}{{this.title}}/{{this.user.city}}/{{this.n}}/{{n}}|{{/each}}",
      "usb cable///42|mouse///42|");
    /* nested: @index and this refer to the innermost loop, names search outwards */
    R("{{#each cart.items}}{{title}}:{{#each tags}}{{this}}{{@index}}{{qty}}{{/each}};{{/each}}",
      "usb cable:x02y12;mouse:;");
    R("{{#each matrix}}[{{#each this}}{{this}}{{#unless @last}},{{/unless}}{{/each}}]{{/each}}", "[1,2][3]");
    R("{{#each list}}x{{else}}no items{{/each}}", "no items");
    R("{{#each missing}}x{{else}}none{{/each}}|{{#each user}}x{{/each}}|{{#each n}}x{{/each}}", "none||");
    R("{{#each tags}}{{#if @index}}, {{/if}}{{this}}{{/each}}", "red, green, blue");
    R("{{#each mixed}}<{{this}}>{{/each}}", "<1><2.5><true><s><><><3>");
    R("{{#each cart.items}}{{tags | count}}{{/each}}", "20");
}

static void test_whitespace_and_comments(void **state)
{
    fixture *f = *state;
    R("a  {{~ n ~}}  \n b", "a42b");
    R("a {{~n}} b", "a42 b");
    R("a {{n~}} b", "a 42b");
    R("Items:\n  {{~#each tags~}}\n  - {{this}}\n{{~/each}}\nend", "Items:- red- green- blue\nend");
    R("{{#each tags}}\n- {{this}}\n{{~/each}}", "\n- red\n- green\n- blue");
    R("Hi{{! a note for translators }} there", "Hi there");
    R("Hi{{!-- may hold }} and {{ tags }} --}} there", "Hi there");
    R("a {{~! trimmed comment ~}} b", "ab");
    R("{{! don't }}ok", "ok");
    R("literal \\{{ braces }} and {{n}}", "literal {{ braces }} and 42");
    R("}} alone is text", "}} alone is text");
}

static void test_compile_errors(void **state)
{
    fixture *f = *state;
    E("Hello {{ name", 1, 7, "unclosed \"{{\"");
    E("{{", 1, 1, "unclosed \"{{\"");
    E("ab {{ x {{ y }}", 1, 4, "unclosed \"{{\"");
    E("{{! never ends", 1, 1, "unclosed \"{{\"");
    E("x {{ total | uper }}", 1, 14, "unknown filter \"uper\"");
    E("{{ a | upper | }}", 1, 15, "missing filter name after \"|\"");
    E("{{ a upper }}", 1, 6, "unexpected \"u\" after the path (filters go after \"|\")");
    E("{{}}", 1, 1, "empty path");
    E("ok {{  }}", 1, 4, "empty path");
    E("{{ | upper }}", 1, 1, "empty path");
    E("{{#if}}x{{/if}}", 1, 1, "empty path");
    E("{{ a..b }}", 1, 6, "unexpected \".\" in path");
    E("{{ .a }}", 1, 4, "unexpected \".\" in path");
    E("{{ a. }}", 1, 6, "path ends with \".\"");
    E("{{ \"x\" }}", 1, 4, "unexpected \"\"\" in path");
    E("{{ @index }}", 1, 4, "\"@index\" outside \"{{#each\"");
    E("{{#each a}}{{ @foo }}{{/each}}", 1, 15, "unknown variable \"@foo\" (use @index, @number or @last)");
    E("{{ a | default }}", 1, 8, "filter \"default\" needs an argument, as in default:\"text\"");
    E("{{ a | join }}", 1, 8, "filter \"join\" needs an argument, as in join:\", \"");
    E("{{ a | default:x }}", 1, 16, "the argument of \"default\" must be a quoted string, as in default:\"text\"");
    E("{{ a | upper:\"x\" }}", 1, 13, "filter \"upper\" takes no argument");
    E("{{ a | default:\"x }}", 1, 16, "unterminated string in filter argument");
    E("x\n  {{#if a}}\n", 2, 3, "unclosed \"{{#if\": no \"{{/if}}\" before the end of the template");
    E("{{#each a}}{{#if b}}{{/if}}", 1, 1, "unclosed \"{{#each\": no \"{{/each}}\" before the end of the template");
    E("{{#if a}}x{{/each}}", 1, 11, "\"{{/each}}\" closes \"{{#if\" opened at line 1");
    E("{{#each a}}\n{{#unless b}}{{/if}}", 2, 14, "\"{{/if}}\" closes \"{{#unless\" opened at line 2");
    E("x{{/if}}", 1, 2, "\"{{/if}}\" without an open \"{{#if\"");
    E("{{/wat}}", 1, 1, "unknown block \"{{/wat}}\" (use /if, /unless or /each)");
    E("{{#with a}}", 1, 1, "unknown block \"{{#with\" (use #if, #unless or #each)");
    E("{{else}}", 1, 1, "\"{{else}}\" without an open \"{{#if\", \"{{#unless\" or \"{{#each\"");
    E("{{#if a}}{{else}}{{else}}{{/if}}", 1, 18, "second \"{{else}}\" in \"{{#if\" opened at line 1");
    E("{{#if a}}{{else if b}}{{/if}}", 1, 17, "unexpected \"i\" after \"{{else\"");
    E("{{#if a | count}}{{/if}}", 1, 9,
      "unexpected \"|\" after the path of \"{{#if\" (filters are not allowed here)");
    E("{{/if x}}", 1, 7, "unexpected \"x\" in \"{{/if}}\"");
    /* a template at line 10 column 7 of its file: the first line's
     * columns are offset, later lines start at column 1 */
    expect_err_at(f, "Hi {{ a }}\nyour {{ b | monye }}", 10, 7, 11, 13, "unknown filter \"monye\"");
    expect_err_at(f, "Hi {{ a", 10, 7, 10, 10, "unclosed \"{{\"");
    expect_err_at(f, "Hi\n\n  {{#each x}}\n", 10, 7, 12, 3, "unclosed \"{{#each\": no \"{{/each}}\" before the end of the template");
    expect_err_at(f, "a\r\n{{ | x }}", 4, 2, 5, 1, "empty path");
    /* columns are bytes, UTF-8 included */
    expect_err_at(f, "caf\xc3\xa9 {{ x | nope }}", 1, 1, 1, 14, "unknown filter \"nope\"");
}

static void test_nesting_limit(void **state)
{
    fixture *f = *state;
    char src[2048];
    size_t n = 0;
    for (int i = 0; i < 32; i++)
        n += (size_t)snprintf(src + n, sizeof src - n, "{{#if t}}");
    n += (size_t)snprintf(src + n, sizeof src - n, "deep");
    for (int i = 0; i < 32; i++)
        n += (size_t)snprintf(src + n, sizeof src - n, "{{/if}}");
    R(src, "deep");

    /* 32 nested #each, each over a one-item list holding the next */
    json_object *o = json_object_new_string("leaf");
    for (int i = 0; i < 32; i++) {
        json_object *a = json_object_new_array();
        json_object_array_add(a, o);
        o = a;
    }
    json_object *ctx = json_object_new_object();
    json_object_object_add(ctx, "d", o);
    n = (size_t)snprintf(src, sizeof src, "{{#each d}}");
    for (int i = 1; i < 32; i++)
        n += (size_t)snprintf(src + n, sizeof src - n, "{{#each this}}");
    n += (size_t)snprintf(src + n, sizeof src - n, "{{this}}{{@number}}");
    for (int i = 0; i < 32; i++)
        n += (size_t)snprintf(src + n, sizeof src - n, "{{/each}}");
    eng_tmpl *t;
    assert_int_equal(eng__tmpl_compile(f->pool, src, 1, 1, &t, NULL), 0);
    eng__buf_reset(&f->out);
    assert_int_equal(eng__tmpl_render(t, ctx, &f->out), 0);
    assert_string_equal(f->out.data, "leaf1");
    json_object_put(ctx);

    n = 0;
    for (int i = 0; i < 33; i++)
        n += (size_t)snprintf(src + n, sizeof src - n, "{{#if t}}");
    /* the 33rd opening tag starts at byte 32 * 9 */
    expect_err_at(f, src, 1, 1, 1, 32 * 9 + 1, "blocks nested deeper than 32");

    /* a hostile template far deeper than the limit fails the same way */
    static char huge[100000];
    n = 0;
    while (n + 12 < sizeof huge)
        n += (size_t)snprintf(huge + n, sizeof huge - n, "{{#each x}}");
    eng_err err = {0};
    assert_int_equal(eng__tmpl_compile(f->pool, huge, 1, 1, &t, &err), ENG_EINVAL);
    assert_string_equal(err.msg, "blocks nested deeper than 32");
}

static void test_error_without_err(void **state)
{
    fixture *f = *state;
    eng_tmpl *t;
    assert_int_equal(eng__tmpl_compile(f->pool, "{{#if a}}", 1, 1, &t, NULL), ENG_EINVAL);
    assert_null(t);
    assert_int_equal(eng__tmpl_compile(f->pool, NULL, 1, 1, &t, NULL), ENG_EINVAL);
}

static const char *oom_src =
    "Hello {{ user.name | title }}!\n"
    "{{#each cart.items}}{{@number}}. {{title | upper}} {{price | money}}{{#unless @last}}, {{/unless}}"
    "{{else}}empty{{/each}}\n"
    "{{#if user.vip}}VIP{{else}}{{missing | default:\"guest\"}}{{/if}} {{tags | join:\" & \"}}";

static const char *oom_want = "Hello Ada Lovelace!\n1. USB CABLE 4.50, 2. MOUSE 15.00\nVIP red & green & blue";

static void test_alloc_failures(void **state)
{
    fixture *f = *state;
    int failures = 0;
    for (long n = 0;; n++) {
        eng_pool *pool = eng__pool_new(256); /* small blocks: many allocations */
        assert_non_null(pool);
        eng_tmpl *t = (eng_tmpl *)1;
        eng_err err = {0};
        eng_alloc_fail_after(n);
        int rc = eng__tmpl_compile(pool, oom_src, 1, 1, &t, &err);
        eng_alloc_fail_after(-1);
        if (rc == 0) {
            eng__buf_reset(&f->out);
            assert_int_equal(eng__tmpl_render(t, f->ctx, &f->out), 0);
            assert_string_equal(f->out.data, oom_want);
            eng__pool_free(pool);
            break;
        }
        assert_int_equal(rc, ENG_ENOMEM);
        assert_null(t);
        failures++;
        eng__pool_free(pool); /* the leak checker in `make check` sees the rest */
        assert_true(n < 10000);
    }
    assert_true(failures > 0);

    /* rendering into a buffer that cannot grow */
    eng_tmpl *t;
    assert_int_equal(eng__tmpl_compile(f->pool, oom_src, 1, 1, &t, NULL), 0);
    for (long n = 0; n < 8; n++) {
        eng_buf b;
        eng__buf_init(&b);
        eng_alloc_fail_after(n);
        int rc = eng__tmpl_render(t, f->ctx, &b);
        eng_alloc_fail_after(-1);
        if (rc == 0) {
            assert_string_equal(b.data, oom_want);
            eng__buf_free(&b);
            break;
        }
        assert_int_equal(rc, ENG_ENOMEM);
        eng__buf_free(&b);
    }
}

/* A rough guard against per-render parsing or allocation: a 200-byte
 * reply with 3 variables renders in well under 2 us even unoptimised. */
static void test_render_speed(void **state)
{
    fixture *f = *state;
    const char *src = "Hello {{ user.name | title }}, thanks for shopping with us today. Your cart "
                      "holds {{ cart.count }} items for a total of ${{ cart.total | money }}. Shipping "
                      "is free over $50, and returns are free within 30 days of delivery.";
    eng_tmpl *t;
    assert_int_equal(eng__tmpl_compile(f->pool, src, 1, 1, &t, NULL), 0);
    eng_buf b;
    eng__buf_init(&b);
    const int iters = 200000;
    struct timespec a, z;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < iters; i++) {
        eng__buf_reset(&b);
        eng__tmpl_render(t, f->ctx, &b);
    }
    clock_gettime(CLOCK_MONOTONIC, &z);
    double ns = ((double)(z.tv_sec - a.tv_sec) * 1e9 + (double)(z.tv_nsec - a.tv_nsec)) / iters;
    print_message("render: %zu bytes in %.0f ns\n", b.len, ns);
    assert_true(strstr(b.data, "Ada Lovelace") && strstr(b.data, "$19.50"));
    eng__buf_free(&b);
    /* sanitizer builds are ~5x slower, valgrind ~50x: the bound only
     * catches gross regressions, and is not checked under valgrind */
    const char *pre = getenv("LD_PRELOAD");
    if (!pre || !strstr(pre, "valgrind"))
        assert_true(ns < 20000);
}

/* singular and plural of the nouns replies name ("16 phones") */
static void number_is(const char *w, bool one, const char *want, bool singular)
{
    eng_buf b;
    eng__buf_init(&b);
    if (singular)
        eng__singular(&b, w, strlen(w));
    else
        eng__plural(&b, w, strlen(w), one);
    if (!b.data || strcmp(b.data, want) != 0)
        fail_msg("%s of \"%s\": expected \"%s\", got \"%s\"", singular ? "singular" : "plural", w, want,
                 b.data ? b.data : "(null)");
    eng__buf_free(&b);
}

static void test_nouns(void **state)
{
    (void)state;
    number_is("phones", false, "phone", true);
    number_is("categories", false, "category", true);
    number_is("watches", false, "watch", true);
    number_is("boxes", false, "box", true);
    number_is("glasses", false, "glass", true);
    number_is("glass", false, "glass", true);
    number_is("lipstick", false, "lipstick", true);
    number_is("phone", false, "phones", false);
    number_is("phone", true, "phone", false);
    number_is("category", false, "categories", false);
    number_is("watch", false, "watches", false);
    number_is("person,people", false, "people", false);
}

/* eng_json_tidy_doubles writes whole cents without printf: the same text
 * as the shortest "%.15g".."%.17g" that reads back (the general path),
 * for cents, near-cents and the edges. */
static void tidy_reference(double d, char *b, size_t n)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(b, n, "%.*g", prec, d);
        if (strtod(b, NULL) == d)
            break;
    }
    size_t l = strlen(b);
    if (!strpbrk(b, ".e"))
        snprintf(b + l, n - l, ".0");
}

static void tidy_check(double d)
{
    char want[64];
    json_object *o = json_object_new_double(d);
    tidy_reference(d, want, sizeof want);
    eng_json_tidy_doubles(o);
    const char *got = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    if (strcmp(got, want) != 0)
        fail_msg("%.17g: tidied to %s, the general path gives %s", d, got, want);
    json_object_put(o);
}

static void test_tidy_doubles_cents(void **state)
{
    (void)state;
    static const double edge[] = {0.0, -0.0, 0.01, -0.01, 0.1, 0.05, 1, 9.99, 19.95, 214, 1e11 + 0.99, 999999999999.99,
                                  1e12, 1e12 + 0.5, 5e-5, 1e-7, 0.125, 3.14159, 1.0 / 3, 4.35, 1e15, 1e21, -1234.5};
    for (size_t i = 0; i < sizeof edge / sizeof *edge; i++)
        tidy_check(edge[i]);
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        long long c = (long long)(x % 100000000000000ull) - 50000000000000ll;   /* cents, |d| < 5e11 */
        int scale = (int)(x >> 60) % 4;
        double d = scale == 0 ? (double)c / 100 : scale == 1 ? (double)(c % 100000) / 100
                 : scale == 2 ? (double)(c % 1000) / 10 : (double)c / 100 + 0.001;
        tidy_check(d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_variables),
        cmocka_unit_test(test_tidy_doubles_cents),
        cmocka_unit_test(test_nouns),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_if_unless),
        cmocka_unit_test(test_each),
        cmocka_unit_test(test_whitespace_and_comments),
        cmocka_unit_test(test_plural),
        cmocka_unit_test(test_compile_errors),
        cmocka_unit_test(test_nesting_limit),
        cmocka_unit_test(test_error_without_err),
        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_render_speed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
