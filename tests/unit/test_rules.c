/* tests/unit/test_rules.c — merchandisers' rules (engine/rules.c): a file
 * whose top level fails is refused at load with FILE:LINE; a failing veto
 * denies unless fail_open; every failure reaches vars.ruleErrors and the
 * eng_on_rule_error hook; default ids do not move when another rule goes;
 * vetoes see ctx.cart; buy_x_get_y's max is per promotion; the files of
 * one call fail one by one; prices and cart discounts are cached only
 * where nothing but their input decides them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/eng.h"
#include "engine/rules_int.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/aisle-rules-XXXXXX";

/* Write text to dir/name (name may hold one sub-folder); returns the
 * path (static buffer). */
static const char *put_file(const char *name, const char *text)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    mkdir(path, 0700);
    *slash = '/';
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* A rules file loaded on its own, with a turn frame to call it in. */
typedef struct fx {
    eng_turn t;
    eng_rules *r;
    eng_diags d;
    int rc;
} fx;

static void fx_load(fx *f, const char *name, const char *text)
{
    memset(f, 0, sizeof *f);
    eng_diags_init(&f->d);
    f->t.pool = eng__pool_new(0);
    assert_non_null(f->t.pool);
    f->t.ctx = json_object_new_object();
    json_object_object_add(f->t.ctx, "vars", json_object_new_object());
    f->t.deadline_us = eng_now_us() + 10 * 1000000LL;
    f->rc = eng__rules_load_file(f->t.pool, put_file(name, text), &f->r, &f->d);
}

static void fx_free(fx *f)
{
    json_object_put(f->t.ctx);
    eng__pool_free(f->t.pool);
    eng_diags_free(&f->d);
}

static const char *first_error(const eng_diags *d)
{
    static char buf[1024];
    for (size_t i = 0; i < d->n; i++)
        if (d->items[i].sev == ENG_DIAG_ERROR) {
            const char *f = strrchr(d->items[i].file, '/');
            snprintf(buf, sizeof buf, "%s:%d:%d: error: %s", f ? f + 1 : d->items[i].file, d->items[i].line,
                     d->items[i].col, d->items[i].msg);
            return buf;
        }
    return "";
}

/* ------------------------------------------------ the rule error hook */

static struct {
    int n;
    char id[128], file[256], hook[64], message[256];
    int line, denied;
} seen;

static void on_err(void *ud, const eng_rule_error *e)
{
    (void)ud;
    seen.n++;
    snprintf(seen.id, sizeof seen.id, "%s", e->rule_id);
    snprintf(seen.file, sizeof seen.file, "%s", e->file);
    snprintf(seen.hook, sizeof seen.hook, "%s", e->hook);
    snprintf(seen.message, sizeof seen.message, "%s", e->message);
    seen.line = e->line;
    seen.denied = e->denied;
}

static int reset_hook(void **state)
{
    (void)state;
    memset(&seen, 0, sizeof seen);
    eng_on_rule_error(on_err, NULL);
    return 0;
}

/* ------------------------------------------------------------- loading */

static void expect_refused(const char *name, const char *text, const char *want)
{
    fx f;
    fx_load(&f, name, text);
    assert_int_equal(f.rc, ENG_ECONFIG);
    assert_null(f.r);
    const char *got = first_error(&f.d);
    if (!strstr(got, want))
        fail_msg("expected \"%s\" in \"%s\"", want, got);
    fx_free(&f);
}

static void test_top_level_runtime_error(void **state)
{
    (void)state;
    expect_refused("top.lua", "version = 1\n\nlocal cfg = nil\nlocal limit = cfg.max\n",
                   "top.lua:4:1: error: Lua: attempt to index a nil value (local 'cfg')");
}

static void test_top_level_forbidden_global(void **state)
{
    (void)state;
    expect_refused("io.lua", "-- reads a file\nversion = 1\nlocal f = io.open('/etc/passwd')\n",
                   "io.lua:3:1: error: Lua: attempt to index a nil value (global 'io') (rules run sandboxed");
    expect_refused("os.lua", "version = 1\nlocal now = os.time()\n", "os.lua:2:1: error: Lua: attempt to index");
}

static void test_top_level_budget_and_memory(void **state)
{
    (void)state;
    expect_refused("loop.lua", "version = 1\nlocal n = 0\nwhile true do\n  n = n + 1\nend\n",
                   "error: Lua: instruction budget exceeded");
    expect_refused("mem.lua", "local s = 'x'\nfor i = 1, 40 do s = s .. s end\n", "error: Lua: memory limit exceeded");
}

static void test_top_level_error_thrown(void **state)
{
    (void)state;
    expect_refused("thrown.lua", "version = 1\nprice('a', function(p) end)\nerror('not configured')\n",
                   "thrown.lua:3:1: error: Lua: not configured");
}

static void test_bad_registration(void **state)
{
    (void)state;
    expect_refused("reg.lua", "version = 1\n\non('cart.add', 'deny everything')\n",
                   "reg.lua:3:1: error: Lua: on: expected a function, got string");
    expect_refused("reg2.lua", "on(nil, function() end)\n", "reg2.lua:1:1: error: Lua: on: the first argument");
    expect_refused("reg3.lua", "buy_x_get_y { buy = 2 }\n", "reg3.lua:1:1: error: Lua: buy_x_get_y: needs");
}

static void test_good_file_loads(void **state)
{
    (void)state;
    fx f;
    fx_load(&f, "good.lua", "version = 2\nlocal LIMIT = 3\non('cart.add', function(a) end)\n");
    assert_int_equal(f.rc, 0);
    assert_non_null(f.r);
    assert_int_equal(eng__rules_count(f.r), 1);
    fx_free(&f);
}

/* A hook nothing calls is a warning at its line; the file still loads. */
static void test_unknown_hook_warns(void **state)
{
    (void)state;
    fx f;
    fx_load(&f, "typo.lua", "version = 1\non('cart.ad', function(a) end)\nboost('search', function(p) end)\n");
    assert_int_equal(f.rc, 0);
    assert_int_equal(f.d.errors, 0);
    assert_int_equal(f.d.warnings, 1);
    assert_int_equal(f.d.items[0].line, 2);
    assert_non_null(strstr(f.d.items[0].msg, "on(\"cart.ad\"): nothing calls this hook"));
    fx_free(&f);
}

/* The shipped rules load as they are. */
static void test_shipped_scripts_load(void **state)
{
    (void)state;
    static const char *const files[] = {"scripts/cart_limits.lua", "scripts/promotions.lua",
                                        "scripts/ranking.lua", NULL};
    for (size_t i = 0; files[i]; i++) {
        eng_pool *p = eng__pool_new(0);
        eng_rules *r = NULL;
        eng_diags d;
        eng_diags_init(&d);
        int rc = eng__rules_load_file(p, files[i], &r, &d);
        if (rc != 0)
            fail_msg("%s: %s", files[i], first_error(&d));
        assert_int_equal(d.warnings, 0);
        eng_diags_free(&d);
        eng__pool_free(p);
    }
}

/* --------------------------------------------------------------- vetoes */

static json_object *action(const char *sku, int qty)
{
    json_object *a = json_object_new_object();
    json_object_object_add(a, "sku", json_object_new_string(sku));
    json_object_object_add(a, "qty", json_object_new_int(qty));
    json_object_object_add(a, "newQty", json_object_new_int(qty));
    return a;
}

static void test_erroring_veto_denies(void **state)
{
    (void)state;
    fx f;
    fx_load(&f, "veto.lua",
            "version = 4\n"
            "on('cart.add', function(a, ctx)\n"
            "  return a.nothing.here\n"
            "end)\n");
    assert_int_equal(f.rc, 0);
    json_object *a = action("X", 1);
    json_object *v = eng__rules_veto(f.r, &f.t, "cart.add", a);
    assert_non_null(v);
    assert_string_equal(eng__json_str(v, "id", ""), "veto.lua:on:cart.add");
    assert_non_null(strstr(eng__json_str(v, "deny", ""), "can't be done right now"));
    assert_true(json_object_get_boolean(eng__json_path(v, "failed")));
    /* the hook and the turn's vars saw it, with the line */
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.id, "veto.lua:on:cart.add");
    assert_int_equal(seen.line, 3);
    assert_int_equal(seen.denied, 1);
    assert_string_equal(seen.hook, "on:cart.add");
    assert_non_null(strstr(seen.message, "attempt to index a nil value"));
    json_object *errs = eng__json_path(f.t.ctx, "vars.ruleErrors");
    assert_int_equal(json_object_array_length(errs), 1);
    json_object *e = json_object_array_get_idx(errs, 0);
    assert_string_equal(eng__json_str(e, "id", ""), "veto.lua:on:cart.add");
    assert_int_equal(json_object_get_int(eng__json_path(e, "line")), 3);
    assert_true(json_object_get_boolean(eng__json_path(e, "denied")));
    /* another hook is not concerned */
    json_object *v2 = eng__rules_veto(f.r, &f.t, "cart.set", a);
    assert_null(v2);
    json_object_put(v);
    json_object_put(a);
    fx_free(&f);
}

static void test_fail_open_veto_allows(void **state)
{
    (void)state;
    fx f;
    fx_load(&f, "open.lua",
            "on('cart.add', function(a, ctx) error('stock service down') end, {id = 'stock-check', fail_open = true})\n"
            "on('cart.add', function(a, ctx) if a.qty > 5 then return deny('at most 5') end end, 'max-5')\n");
    assert_int_equal(f.rc, 0);
    json_object *a = action("X", 1);
    assert_null(eng__rules_veto(f.r, &f.t, "cart.add", a));
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.id, "stock-check");
    assert_int_equal(seen.denied, 0);
    assert_int_equal(seen.line, 1);
    /* the old (ev, f, id) form still names its rule */
    json_object *b = action("X", 6);
    json_object *v = eng__rules_veto(f.r, &f.t, "cart.add", b);
    assert_non_null(v);
    assert_string_equal(eng__json_str(v, "id", ""), "max-5");
    assert_string_equal(eng__json_str(v, "deny", ""), "at most 5");
    json_object_put(v);
    json_object_put(a);
    json_object_put(b);
    fx_free(&f);
}

/* A limit stops the whole call, not one hook: the veto still denies, and
 * the failure is blamed on the rule the loop is in. */
static void test_veto_over_budget_denies(void **state)
{
    (void)state;
    fx f;
    fx_load(&f, "spin.lua",
            "on('order.create', function(a, ctx) return nil end, 'first')\n"
            "\n"
            "on('order.create', function(a, ctx)\n"
            "  while true do end\n"
            "end)\n");
    assert_int_equal(f.rc, 0);
    json_object *a = action("X", 1);
    json_object *v = eng__rules_veto(f.r, &f.t, "order.create", a);
    assert_non_null(v);
    assert_string_equal(eng__json_str(v, "id", ""), "spin.lua:on:order.create");
    assert_true(json_object_get_boolean(eng__json_path(v, "failed")));
    assert_int_equal(seen.n, 1);
    assert_int_equal(seen.line, 4);
    assert_int_equal(seen.denied, 1);
    assert_non_null(strstr(seen.message, "instruction budget exceeded"));
    json_object_put(v);
    json_object_put(a);
    fx_free(&f);
}

/* "max 2 motorcycles per order": the veto counts the cart's lines. */
static void test_veto_sees_cart(void **state)
{
    (void)state;
    fx f;
    fx_load(&f, "moto.lua",
            "on('order.create', function(action, ctx)\n"
            "  local n = 0\n"
            "  for _, l in ipairs(ctx.cart.items) do\n"
            "    if l.category == 'motorcycle' then n = n + l.qty end\n"
            "  end\n"
            "  if n > 2 then return deny('at most 2 motorcycles per order') end\n"
            "end, 'max-2-motorcycles')\n");
    assert_int_equal(f.rc, 0);
    json_object *cart = json_tokener_parse(
        "{\"items\": [{\"sku\": \"MOT-1\", \"qty\": 3, \"category\": \"motorcycle\", \"finalPrice\": 9000},"
        " {\"sku\": \"HEL-1\", \"qty\": 1, \"category\": \"helmets\", \"finalPrice\": 90}],"
        " \"count\": 4, \"total\": 27090}");
    json_object_object_add(f.t.ctx, "cart", cart);
    json_object *a = json_object_new_object();
    json_object *v = eng__rules_veto(f.r, &f.t, "order.create", a);
    assert_non_null(v);
    assert_string_equal(eng__json_str(v, "deny", ""), "at most 2 motorcycles per order");
    assert_string_equal(eng__json_str(v, "id", ""), "max-2-motorcycles");
    json_object_put(v);
    /* two are fine */
    json_object_object_add(json_object_array_get_idx(eng__json_path(cart, "items"), 0), "qty", json_object_new_int(2));
    assert_null(eng__rules_veto(f.r, &f.t, "order.create", a));
    assert_int_equal(seen.n, 0);
    json_object_put(a);
    fx_free(&f);
}

/* ------------------------------------------------------------------ ids */

static const char *error_id(fx *f, size_t k)
{
    json_object *errs = eng__json_path(f->t.ctx, "vars.ruleErrors");
    return eng__json_str(json_object_array_get_idx(errs, k), "id", "");
}

/* Two editions of the same file: the second lost a rule. The ids of the
 * rules that stay do not move. */
static void test_default_ids_stable(void **state)
{
    (void)state;
    static const char *const v1 =
        "price(function(p) end)\n"
        "on('cart.add', function(a) end)\n"
        "on('order.create', function(a) end)\n"
        "on('cart.add', function(a) if a.qty > 1 then return deny('one') end end)\n"
        "boost('search', function(p) error('x') end)\n";
    static const char *const v2 =
        "on('order.create', function(a) end)\n"
        "on('cart.add', function(a) end)\n"
        "on('cart.add', function(a) if a.qty > 1 then return deny('one') end end)\n"
        "boost('search', function(p) error('x') end)\n";
    fx f1, f2;
    fx_load(&f1, "a/limits.lua", v1);
    fx_load(&f2, "b/limits.lua", v2);
    assert_int_equal(f1.rc, 0);
    assert_int_equal(f2.rc, 0);
    json_object *a = action("X", 2);
    json_object *x1 = eng__rules_veto(f1.r, &f1.t, "cart.add", a);
    json_object *x2 = eng__rules_veto(f2.r, &f2.t, "cart.add", a);
    assert_string_equal(eng__json_str(x1, "id", ""), "limits.lua:on:cart.add#2");
    assert_string_equal(eng__json_str(x2, "id", ""), "limits.lua:on:cart.add#2");
    json_object *items = json_tokener_parse("[{\"sku\": \"S\", \"price\": 10}]");
    double m[1];
    eng__rules_boost(f1.r, &f1.t, "search", items, m);
    eng__rules_boost(f2.r, &f2.t, "search", items, m);
    assert_string_equal(error_id(&f1, 0), "limits.lua:boost:search");
    assert_string_equal(error_id(&f2, 0), "limits.lua:boost:search");
    json_object_put(items);
    json_object_put(x1);
    json_object_put(x2);
    json_object_put(a);
    fx_free(&f1);
    fx_free(&f2);
}

/* A price rule that errors is skipped (the others apply) and reported. */
static void test_price_error_skipped(void **state)
{
    (void)state;
    fx f;
    fx_load(&f, "prices.lua",
            "price('ten', function(p) return {percent = 10, reason = 'ten'} end)\n"
            "price(function(p) return {percent = p.nope.x} end)\n"
            "price('bad-shape', function(p) return {amount = 'lots'} end)\n");
    assert_int_equal(f.rc, 0);
    json_object *cards = json_tokener_parse("[{\"sku\": \"A\", \"price\": 100}, {\"sku\": \"B\", \"price\": 50}]");
    eng__rules_price(f.r, &f.t, cards);
    assert_true(json_object_get_double(eng__json_path(json_object_array_get_idx(cards, 0), "finalPrice")) == 90.0);
    assert_true(json_object_get_double(eng__json_path(json_object_array_get_idx(cards, 1), "finalPrice")) == 45.0);
    json_object *errs = eng__json_path(f.t.ctx, "vars.ruleErrors");
    assert_int_equal(json_object_array_length(errs), 2); /* once per rule and call, not per product */
    assert_string_equal(error_id(&f, 0), "prices.lua:price");
    assert_string_equal(error_id(&f, 1), "bad-shape");
    assert_int_equal(seen.n, 2);
    json_object_put(cards);
    fx_free(&f);
}

/* --------------------------------------------------------- buy_x_get_y */

static void test_buy_x_get_y_max_per_promotion(void **state)
{
    (void)state;
    fx f;
    fx_load(&f, "b3.lua", "buy_x_get_y { id = 'b3', category = 'beauty', buy = 2, get = 1, max = 2 }\n");
    assert_int_equal(f.rc, 0);
    /* two lines of six: two free sets each, four in all; max 2 for the
     * promotion gives the two cheapest */
    json_object *cart = json_tokener_parse(
        "{\"items\": [{\"sku\": \"A\", \"qty\": 6, \"category\": \"beauty\", \"unitPrice\": 10},"
        " {\"sku\": \"B\", \"qty\": 6, \"category\": \"beauty\", \"unitPrice\": 4},"
        " {\"sku\": \"C\", \"qty\": 9, \"category\": \"shoes\", \"unitPrice\": 1}],"
        " \"subtotal\": 93}");
    bool known;
    json_object *ds = eng__rules_cart(f.r, &f.t, cart, NULL, &known, NULL);
    assert_int_equal(json_object_array_length(ds), 1);
    json_object *d = json_object_array_get_idx(ds, 0);
    assert_string_equal(eng__json_str(d, "id", ""), "b3");
    assert_true(json_object_get_double(eng__json_path(d, "amount")) == 8.0);
    json_object_put(ds);
    /* without max: every set */
    fx g;
    fx_load(&g, "b3b.lua", "buy_x_get_y { category = 'beauty', buy = 2, get = 1 }\n");
    ds = eng__rules_cart(g.r, &g.t, cart, NULL, &known, NULL);
    d = json_object_array_get_idx(ds, 0);
    assert_string_equal(eng__json_str(d, "id", ""), "b3b.lua:buy_x_get_y");
    assert_true(json_object_get_double(eng__json_path(d, "amount")) == 28.0);
    json_object_put(ds);
    json_object_put(cart);
    fx_free(&f);
    fx_free(&g);
}

/* ------------------------------------------- one call, several files */

static double final_price(json_object *cards, size_t k)
{
    return json_object_get_double(eng__json_path(json_object_array_get_idx(cards, k), "finalPrice"));
}

static const char *applied_id(json_object *cards, size_t k, size_t j)
{
    json_object *ap = eng__json_path(json_object_array_get_idx(cards, k), "appliedRules");
    return eng__json_str(json_object_array_get_idx(ap, j), "id", "");
}

/* One rule of several fails in the same hook, across the files of one
 * call: the rule is skipped and reported with its id and file:line, a
 * file that runs out of budget fails alone (blamed on its rule), and the
 * files after both still price, each from the price the one before left. */
static void test_several_files_one_fails(void **state)
{
    (void)state;
    fx a, b, c, d;
    fx_load(&a, "one/a.lua", "price('a10', function(p) return {percent = 10, reason = 'a'} end)\n");
    fx_load(&b, "two/b.lua",
            "price('b-ok', function(p) return {amount = 1, reason = 'b'} end)\n"
            "price('b-bad', function(p)\n"
            "  return {amount = p.nope.x}\n"
            "end)\n");
    fx_load(&c, "three/c.lua",
            "price('c-spin', function(p)\n"
            "  while true do end\n"
            "end)\n");
    fx_load(&d, "four/d.lua",
            "price('d2', function(p, ctx)\n"
            "  assert(p.finalPrice == p.price * 0.9 - 1, 'd sees what a and b left')\n"
            "  return {amount = 2, reason = 'd'}\n"
            "end)\n");
    assert_int_equal(a.rc + b.rc + c.rc + d.rc, 0);
    const eng_rules *sets[] = {a.r, b.r, c.r, d.r};
    json_object *cards = json_tokener_parse("[{\"sku\": \"A\", \"price\": 100}, {\"sku\": \"B\", \"price\": 50}]");
    assert_int_equal(eng__rules_price_sets(sets, 4, &a.t, cards, false), 0);
    assert_true(final_price(cards, 0) == 87.0);
    assert_true(final_price(cards, 1) == 42.0);
    assert_string_equal(applied_id(cards, 0, 0), "a10");
    assert_string_equal(applied_id(cards, 0, 1), "b-ok");
    assert_string_equal(applied_id(cards, 0, 2), "d2");
    assert_int_equal(json_object_array_length(eng__json_path(json_object_array_get_idx(cards, 1), "appliedRules")), 3);
    json_object *errs = eng__json_path(a.t.ctx, "vars.ruleErrors");
    assert_int_equal(json_object_array_length(errs), 2);
    json_object *e0 = json_object_array_get_idx(errs, 0), *e1 = json_object_array_get_idx(errs, 1);
    assert_string_equal(eng__json_str(e0, "id", ""), "b-bad");
    assert_string_equal(eng__json_str(e0, "file", ""), "b.lua");
    assert_int_equal(json_object_get_int(eng__json_path(e0, "line")), 3);
    assert_non_null(strstr(eng__json_str(e0, "message", ""), "attempt to index a nil value"));
    assert_string_equal(eng__json_str(e1, "id", ""), "c-spin");
    assert_string_equal(eng__json_str(e1, "file", ""), "c.lua");
    assert_int_equal(json_object_get_int(eng__json_path(e1, "line")), 2);
    assert_non_null(strstr(eng__json_str(e1, "message", ""), "instruction budget exceeded"));
    assert_int_equal(seen.n, 2);
    json_object_put(cards);
    fx_free(&a);
    fx_free(&b);
    fx_free(&c);
    fx_free(&d);
}

/* Vetoes of several files in one call: a fail_open rule that errors
 * allows, the first file that denies decides, and the files after it do
 * not run (their failing rule is never reported). */
static void test_veto_across_files(void **state)
{
    (void)state;
    fx a, b, c;
    fx_load(&a, "va.lua", "on('cart.add', function(x) error('stock service down') end, {id = 'stock', fail_open = true})\n");
    fx_load(&b, "vb.lua", "on('cart.add', function(x) if x.qty > 5 then return deny('at most 5') end end, 'max-5')\n");
    fx_load(&c, "vc.lua", "on('cart.add', function(x) if x.qty > 5 then error('must not run') end end, 'after')\n");
    const eng_rules *sets[] = {a.r, b.r, c.r};
    json_object *six = action("X", 6), *one = action("X", 1);
    json_object *v = eng__rules_veto_sets(sets, 3, &a.t, "cart.add", six);
    assert_non_null(v);
    assert_string_equal(eng__json_str(v, "id", ""), "max-5");
    assert_string_equal(eng__json_str(v, "file", ""), "vb.lua");
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.id, "stock");
    json_object_put(v);
    assert_null(eng__rules_veto_sets(sets, 3, &a.t, "cart.add", one));
    assert_int_equal(seen.n, 2);
    json_object_put(six);
    json_object_put(one);
    fx_free(&a);
    fx_free(&b);
    fx_free(&c);
}

/* Boosts multiply across files; one that errors counts as 1. */
static void test_boost_across_files(void **state)
{
    (void)state;
    fx a, b;
    fx_load(&a, "ba.lua", "boost('search', function(p) error('ranking service unavailable') end)\n");
    fx_load(&b, "bb.lua", "boost('search', function(p) return p.sku == 'S' and 2 or 3 end)\n"
                          "boost('search', function(p) return 1.5 end)\n");
    const eng_rules *sets[] = {a.r, NULL, b.r};
    json_object *items = json_tokener_parse("[{\"sku\": \"S\", \"price\": 10}, {\"sku\": \"T\", \"price\": 10}]");
    double m[2];
    eng__rules_boost_sets(sets, 3, &a.t, "search", items, m, false);
    assert_true(m[0] == 3.0);
    assert_true(m[1] == 4.5);
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.id, "ba.lua:boost:search");
    json_object_put(items);
    fx_free(&a);
    fx_free(&b);
}

/* ------------------------------------------------------------- caches */

static double price_once(const eng_rules *r, eng_turn *t, const char *cards_json)
{
    json_object *cards = json_tokener_parse(cards_json);
    assert_int_equal(eng__rules_price_sets(&r, 1, t, cards, true), 0);
    double fp = final_price(cards, 0);
    json_object_put(cards);
    return fp;
}

/* A price the same rules gave the same card is kept: the rule (which
 * counts its calls, something rules must not do) is not called again.
 * Another card content, another rules version or another value of a part
 * of the turn the rule reads (ctx.user) is another entry; a rule that
 * draws a random number and a call that failed are not kept. */
static void test_price_cache(void **state)
{
    (void)state;
    eng__rules_cache_clear();
    static const char *const lamp = "[{\"sku\": \"L\", \"price\": 100, \"category\": \"lighting\"}]";
    static const char *const lamp2 = "[{\"sku\": \"L\", \"price\": 200, \"category\": \"lighting\"}]";
    static const char counting[] = "local n = 0\nprice('n', function(p) n = n + 1 return {amount = n, reason = 'n'} end)\n";
    fx f;
    fx_load(&f, "count.lua", counting);
    assert_true(price_once(f.r, &f.t, lamp) == 99.0);
    assert_true(price_once(f.r, &f.t, lamp) == 99.0);  /* cached */
    assert_true(price_once(f.r, &f.t, lamp2) == 198.0); /* the product changed */
    assert_true(price_once(f.r, &f.t, lamp) == 99.0);
    /* the cached card gets its appliedRules too */
    json_object *cards = json_tokener_parse(lamp);
    eng__rules_price_sets((const eng_rules *const *)&f.r, 1, &f.t, cards, true);
    assert_string_equal(applied_id(cards, 0, 0), "n");
    assert_true(json_object_get_double(eng__json_path(json_object_array_get_idx(cards, 0), "appliedRules.0.after")) == 99.0);
    json_object_put(cards);
    /* the same text loaded again is a new version: priced afresh */
    fx g;
    fx_load(&g, "count.lua", "local n = 10\nprice('n', function(p) n = n + 1 return {amount = n, reason = 'n'} end)\n");
    assert_true(price_once(g.r, &g.t, lamp) == 89.0);
    assert_true(price_once(g.r, &g.t, lamp) == 89.0);
    fx_free(&g);
    /* a rule that reads ctx.user: kept per shopper */
    fx_load(&g, "member.lua",
            "local n = 0\nprice('member', function(p, ctx) n = n + 1 if ctx.user then return {amount = n} end end)\n");
    assert_true(price_once(g.r, &g.t, lamp) == 100.0);
    json_object_object_add(g.t.ctx, "user", json_tokener_parse("{\"id\": \"7\"}"));
    assert_true(price_once(g.r, &g.t, lamp) == 98.0);
    assert_true(price_once(g.r, &g.t, lamp) == 98.0); /* the same shopper: cached */
    json_object_object_add(g.t.ctx, "user", json_tokener_parse("{\"id\": \"8\"}"));
    assert_true(price_once(g.r, &g.t, lamp) == 97.0);
    json_object_object_del(g.t.ctx, "user");
    assert_true(price_once(g.r, &g.t, lamp) == 100.0);
    fx_free(&g);
    /* a random number: never cached */
    fx_load(&g, "rnd.lua", "local n = 0\nprice(function(p) n = n + 1 if math.random() < 2 then return {amount = n} end end)\n");
    assert_true(price_once(g.r, &g.t, lamp) == 99.0);
    assert_true(price_once(g.r, &g.t, lamp) == 98.0);
    fx_free(&g);
    /* a card too long for a key (a whole description) is priced every time */
    fx_load(&g, "big.lua", counting);
    for (int i = 1; i <= 2; i++) {
        json_object *big = json_tokener_parse(lamp);
        char desc[5001];
        memset(desc, 'x', sizeof desc - 1);
        desc[sizeof desc - 1] = '\0';
        json_object_object_add(json_object_array_get_idx(big, 0), "description", json_object_new_string(desc));
        eng__rules_price_sets((const eng_rules *const *)&g.r, 1, &g.t, big, true);
        assert_true(final_price(big, 0) == 100.0 - i);
        json_object_put(big);
    }
    fx_free(&g);
    /* a call with a failure is not kept: the next reports (or prices) again */
    fx_load(&g, "flaky.lua", "local n = 0\nprice('flaky', function(p) n = n + 1 if n == 1 then error('first') end return {amount = n} end)\n");
    assert_true(price_once(g.r, &g.t, lamp) == 100.0);
    assert_int_equal(seen.n, 1);
    assert_true(price_once(g.r, &g.t, lamp) == 98.0);
    fx_free(&g);
    fx_free(&f);
}

/* Some cards of a call cached, some not: the rules run on those it does
 * not know, and a rule that reads ctx.items still sees every card. */
static void test_price_cache_partial(void **state)
{
    (void)state;
    eng__rules_cache_clear();
    fx f;
    fx_load(&f, "part.lua", "price('ten', function(p) return {percent = 10, reason = 'ten'} end)\n");
    assert_true(price_once(f.r, &f.t, "[{\"sku\": \"A\", \"price\": 100}]") == 90.0);
    json_object *cards = json_tokener_parse("[{\"sku\": \"A\", \"price\": 100}, {\"sku\": \"B\", \"price\": 50}]");
    eng__rules_price_sets((const eng_rules *const *)&f.r, 1, &f.t, cards, true);
    assert_true(final_price(cards, 0) == 90.0);
    assert_true(final_price(cards, 1) == 45.0);
    assert_string_equal(applied_id(cards, 0, 0), "ten");
    assert_string_equal(applied_id(cards, 1, 0), "ten");
    json_object_put(cards);
    fx_free(&f);
    fx g;
    fx_load(&g, "many.lua", "price('many', function(p, ctx) if p.sku == 'B' then return {amount = #ctx.items} end end)\n");
    assert_true(price_once(g.r, &g.t, "[{\"sku\": \"A\", \"price\": 100}]") == 100.0);
    cards = json_tokener_parse("[{\"sku\": \"A\", \"price\": 100}, {\"sku\": \"B\", \"price\": 50}]");
    eng__rules_price_sets((const eng_rules *const *)&g.r, 1, &g.t, cards, true);
    assert_true(final_price(cards, 1) == 48.0);
    json_object_put(cards);
    fx_free(&g);
}

/* Boosts: kept per card and per the parts of the turn the rules read
 * (ctx.memory, absent or not). */
static void test_boost_cache(void **state)
{
    (void)state;
    eng__rules_cache_clear();
    fx f;
    fx_load(&f, "rank.lua",
            "local n = 0\n"
            "boost('search', function(p, ctx)\n"
            "  n = n + 1\n"
            "  local fav = ctx.memory and ctx.memory.brand\n"
            "  if fav == p.brand then return 2 * n end\n"
            "  return n\n"
            "end)\n");
    json_object *items = json_tokener_parse("[{\"sku\": \"S\", \"brand\": \"Acme\"}, {\"sku\": \"T\", \"brand\": \"Zeta\"}]");
    double m[2];
    eng__rules_boost_sets((const eng_rules *const *)&f.r, 1, &f.t, "search", items, m, true);
    assert_true(m[0] == 1.0 && m[1] == 2.0);
    eng__rules_boost_sets((const eng_rules *const *)&f.r, 1, &f.t, "search", items, m, true);
    assert_true(m[0] == 1.0 && m[1] == 2.0); /* cached */
    eng__rules_boost_sets((const eng_rules *const *)&f.r, 1, &f.t, "recommend", items, m, true);
    assert_true(m[0] == 1.0 && m[1] == 1.0); /* another hook: no rule */
    json_object_object_add(f.t.ctx, "memory", json_tokener_parse("{\"brand\": \"Acme\"}"));
    eng__rules_boost_sets((const eng_rules *const *)&f.r, 1, &f.t, "search", items, m, true);
    assert_true(m[0] == 6.0 && m[1] == 4.0); /* another memory */
    json_object_put(items);
    fx_free(&f);
}

/* The cart's discounts: kept per cart content and promotion code. */
static void test_cart_cache(void **state)
{
    (void)state;
    eng__rules_cache_clear();
    fx f;
    fx_load(&f, "cartc.lua",
            "local n = 0\n"
            "cart_rule('n', function(cart) n = n + 1 return {amount = n, reason = 'n'} end)\n"
            "promo('CODE', function(cart) return {amount = 10} end)\n");
    json_object *cart = json_tokener_parse("{\"id\": \"c1\", \"items\": [{\"sku\": \"A\", \"qty\": 1, \"finalPrice\": 20}],"
                                           " \"subtotal\": 20}");
    bool known = true;
    const char *denied = "x";
    json_object *ds = eng__rules_cart_sets((const eng_rules *const *)&f.r, 1, &f.t, cart, NULL, &known, &denied, true);
    assert_true(json_object_get_double(eng__json_path(ds, "0.amount")) == 1.0);
    assert_false(known);
    assert_null(denied);
    json_object_put(ds);
    ds = eng__rules_cart_sets((const eng_rules *const *)&f.r, 1, &f.t, cart, NULL, &known, &denied, true);
    assert_true(json_object_get_double(eng__json_path(ds, "0.amount")) == 1.0); /* cached */
    json_object_put(ds);
    ds = eng__rules_cart_sets((const eng_rules *const *)&f.r, 1, &f.t, cart, "CODE", &known, &denied, true);
    assert_int_equal(json_object_array_length(ds), 2);
    assert_true(json_object_get_double(eng__json_path(ds, "0.amount")) == 2.0); /* another code */
    assert_true(known);
    json_object_put(ds);
    json_object_object_add(cart, "subtotal", json_object_new_double(40));
    ds = eng__rules_cart_sets((const eng_rules *const *)&f.r, 1, &f.t, cart, NULL, &known, &denied, true);
    assert_true(json_object_get_double(eng__json_path(ds, "0.amount")) == 3.0); /* another cart */
    json_object_put(ds);
    json_object_put(cart);
    fx_free(&f);
}

static void rm_tree(void)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_top_level_runtime_error, reset_hook),
        cmocka_unit_test_setup(test_top_level_forbidden_global, reset_hook),
        cmocka_unit_test_setup(test_top_level_budget_and_memory, reset_hook),
        cmocka_unit_test_setup(test_top_level_error_thrown, reset_hook),
        cmocka_unit_test_setup(test_bad_registration, reset_hook),
        cmocka_unit_test_setup(test_good_file_loads, reset_hook),
        cmocka_unit_test_setup(test_unknown_hook_warns, reset_hook),
        cmocka_unit_test_setup(test_shipped_scripts_load, reset_hook),
        cmocka_unit_test_setup(test_erroring_veto_denies, reset_hook),
        cmocka_unit_test_setup(test_fail_open_veto_allows, reset_hook),
        cmocka_unit_test_setup(test_veto_over_budget_denies, reset_hook),
        cmocka_unit_test_setup(test_veto_sees_cart, reset_hook),
        cmocka_unit_test_setup(test_default_ids_stable, reset_hook),
        cmocka_unit_test_setup(test_price_error_skipped, reset_hook),
        cmocka_unit_test_setup(test_buy_x_get_y_max_per_promotion, reset_hook),
        cmocka_unit_test_setup(test_several_files_one_fails, reset_hook),
        cmocka_unit_test_setup(test_veto_across_files, reset_hook),
        cmocka_unit_test_setup(test_boost_across_files, reset_hook),
        cmocka_unit_test_setup(test_price_cache, reset_hook),
        cmocka_unit_test_setup(test_price_cache_partial, reset_hook),
        cmocka_unit_test_setup(test_boost_cache, reset_hook),
        cmocka_unit_test_setup(test_cart_cache, reset_hook),
    };
    int rc = cmocka_run_group_tests_name("rules", tests, NULL, NULL);
    eng_on_rule_error(NULL, NULL);
    rm_tree();
    return rc;
}
