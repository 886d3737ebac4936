/* tests/unit/test_shop.c — the commerce core (engine/shop.c) on a real
 * SQLite store with real rules files: one price for cards, carts and
 * orders (top-level and agent rules alike), typed results with reasons,
 * vetoes that see the cart, promotion codes that never drop a valid code
 * for a bad one, no order without a saved address and card, and
 * exactly-once changes under 50 concurrent callers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/eng.h"
#include "stores/store.h"
#include "shop_fixture.h"

static eng_pipeline *pipe_;

static const char rules_top[] =
    "price('half-lamps', function(p, ctx)\n"
    "  if p.category == 'lighting' then return {percent = 50, reason = 'half price lamps'} end\n"
    "end)\n"
    "promo('SAVE10', function(cart, ctx) return {percent = 10, reason = '10% off'} end)\n"
    "promo('FIFTY', function(cart, ctx) return {amount = 50, reason = '$50 off'} end)\n"
    "promo('BIG', function(cart, ctx)\n"
    "  if cart.subtotal < 1000 then return deny('only for orders over $1000') end\n"
    "  return {amount = 100}\n"
    "end)\n"
    "on('order.create', function(action, ctx)\n"
    "  local n = 0\n"
    "  for _, l in ipairs(ctx.cart and ctx.cart.items or {}) do\n"
    "    if l.category == 'motorcycle' then n = n + l.qty end\n"
    "  end\n"
    "  if n > 2 then return deny('at most 2 motorcycles per order') end\n"
    "end)\n"
    "on('cart.add', function(action, ctx)\n"
    "  if action.newQty > 60 then return deny('at most 60 of one product') end\n"
    "end)\n";

/* an agent's own rules price the cart and the order too */
static const char rules_agent[] =
    "price('mug-promo', function(p, ctx)\n"
    "  if p.category == 'kitchen' then return {amount = 1, reason = 'mug promo'} end\n"
    "end)\n";

static const char pipeline_yaml[] =
    "pipeline: shop\n"
    "rules: [top.lua]\n"
    "intents:\n"
    "  add_to_cart: [add it, add this to my cart]\n"
    "  view_cart: [show my cart, what is in my cart]\n"
    "stages:\n"
    "  - { id: nlu, type: classifier }\n"
    "  - { id: cart, type: agent, agent: cart, rules: [agent.lua] }\n"
    "  - { id: reply, type: formatter, templates: { add_to_cart: 'ok', view_cart: 'ok' } }\n";

static int setup(void **state)
{
    (void)state;
    fixture_open("shop");
    product("LAMP", "lighting", 40, 100);
    product("MUG", "kitchen", 10, 1000);
    product("MOTO", "motorcycle", 5000, 10);
    product("LAST", "misc", 20, 1);
    write_file("top.lua", rules_top);
    write_file("agent.lua", rules_agent);
    char msgs[2048];
    int rc = fixture_load(pipeline_yaml, &pipe_, msgs, sizeof msgs);
    if (rc != 0)
        fprintf(stderr, "%s", msgs);
    assert_int_equal(rc, 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    eng_pipeline_release(pipe_);
    return fixture_close();
}

static eng_shopper shopper(int64_t uid, const char *sid, json_object *session)
{
    return (eng_shopper){.pipe = pipe_, .store = st, .user_id = uid, .session_id = sid, .session = session,
                         .via = "test"};
}

/* A signed-in buyer with a delivery address and a card saved on the
 * account: a checkout without facts in the request (eng_shop_checkout)
 * orders on those, and refuses without them. */
static int64_t buyer(const char *email)
{
    int64_t id = 0;
    assert_int_equal(store_user_create(st, email, "x", NULL, &id, NULL), 0);
    eng_shopper w = {.pipe = pipe_, .store = st, .user_id = id, .session_id = email, .via = "test"};
    eng_shop_result r;
    json_object *a = json_tokener_parse("{\"name\":\"Ann\",\"line1\":\"1 Main St\",\"city\":\"Springfield\","
                                        "\"postalCode\":\"62701\",\"country\":\"US\"}");
    json_object *c = json_tokener_parse("{\"cardNumber\":\"4242424242424242\",\"expiry\":\"12/40\",\"cvc\":\"123\"}");
    assert_int_equal(eng_shop_address_set(&w, a, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_OK);
    eng_shop_result_clear(&r);
    assert_int_equal(eng_shop_payment_save(&w, c, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_OK);
    eng_shop_result_clear(&r);
    json_object_put(a);
    json_object_put(c);
    return id;
}

static double num(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) ? json_object_get_double(v) : -1;
}

static void test_one_price(void **state)
{
    (void)state;
    eng_shopper w = shopper(buyer("price@example.com"), "s-price", NULL);
    eng_shop_result r;
    assert_int_equal(eng_shop_cart_add(&w, "LAMP", 1, NULL, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_OK);
    eng_shop_result_clear(&r);
    assert_int_equal(eng_shop_cart_add(&w, "MUG", 2, NULL, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_OK);
    assert_int_equal(r.qty, 2);
    /* 40 at half price + 2 x (10 - 1): the agent's rule prices the cart */
    assert_true(num(r.cart, "total") == 38.0);
    eng_shop_result_clear(&r);
    /* a card shows the same price */
    json_object *cards = json_tokener_parse("[{\"sku\":\"LAMP\",\"price\":40,\"category\":\"lighting\"},"
                                            "{\"sku\":\"MUG\",\"price\":10,\"category\":\"kitchen\"}]");
    assert_int_equal(eng_shop_price(&w, cards), 0);
    assert_true(num(json_object_array_get_idx(cards, 0), "finalPrice") == 20.0);
    assert_true(num(json_object_array_get_idx(cards, 1), "finalPrice") == 9.0);
    json_object_put(cards);
    /* a visitor without a session sees the same card prices */
    eng_shopper anon = shopper(0, NULL, NULL);
    cards = json_tokener_parse("[{\"sku\":\"LAMP\",\"price\":40,\"category\":\"lighting\"}]");
    assert_int_equal(eng_shop_price(&anon, cards), 0);
    assert_true(num(json_object_array_get_idx(cards, 0), "finalPrice") == 20.0);
    json_object_put(cards);
    /* and the order charges it */
    assert_int_equal(eng_shop_checkout(&w, "price-1", &r), 0);
    assert_int_equal(r.status, ENG_SHOP_OK);
    assert_true(num(r.order, "total") == 38.0);
    eng_shop_result_clear(&r);
}

static void test_typed_results(void **state)
{
    (void)state;
    eng_shopper w = shopper(0, "s-typed", NULL);
    eng_shop_result r;
    eng_shop_cart_add(&w, "NOPE", 1, NULL, &r);
    assert_int_equal(r.status, ENG_SHOP_NOT_FOUND);
    assert_true(r.reason[0]);
    eng_shop_result_clear(&r);
    eng_shop_cart_set(&w, "MUG", 3, NULL, &r);
    assert_int_equal(r.status, ENG_SHOP_NOT_IN_CART);
    eng_shop_result_clear(&r);
    eng_shop_cart_remove(&w, "MUG", NULL, &r);
    assert_int_equal(r.status, ENG_SHOP_NOT_IN_CART);
    eng_shop_result_clear(&r);
    eng_shop_cart_add(&w, "MUG", 0, NULL, &r);
    assert_int_equal(r.status, ENG_SHOP_INVALID);
    eng_shop_result_clear(&r);
    eng_shop_cart_add(&w, "LAST", 2, NULL, &r);
    assert_int_equal(r.status, ENG_SHOP_STOCK);
    assert_string_equal(r.reason, "only 1 of the LAST in stock");   /* the product named */
    eng_shop_result_clear(&r);
    eng_shop_cart_add(&w, "MUG", 61, NULL, &r);
    assert_int_equal(r.status, ENG_SHOP_DENIED);
    assert_string_equal(r.reason, "at most 60 of one product");
    eng_shop_result_clear(&r);
    /* a key makes a change once: the repeat changes nothing */
    eng_shop_cart_add(&w, "MUG", 2, "k1", &r);
    assert_int_equal(r.status, ENG_SHOP_OK);
    assert_int_equal(r.qty, 2);
    assert_false(r.replayed);
    eng_shop_result_clear(&r);
    eng_shop_cart_add(&w, "MUG", 2, "k1", &r);
    assert_int_equal(r.status, ENG_SHOP_OK);
    assert_true(r.replayed);
    assert_int_equal(r.qty, 2);
    assert_int_equal(json_object_get_int64(json_object_object_get(r.cart, "count")), 2);
    eng_shop_result_clear(&r);
    /* set, then remove */
    eng_shop_cart_set(&w, "MUG", 5, NULL, &r);
    assert_int_equal(r.qty, 5);
    eng_shop_result_clear(&r);
    eng_shop_cart_set(&w, "MUG", 0, NULL, &r);
    assert_int_equal(r.status, ENG_SHOP_OK);
    assert_int_equal(json_object_get_int64(json_object_object_get(r.cart, "count")), 0);
    eng_shop_result_clear(&r);
    /* orders need a user */
    eng_shop_checkout(&w, "anon-1", &r);
    assert_int_equal(r.status, ENG_SHOP_LOGIN);
    eng_shop_result_clear(&r);
}

static void test_promo_codes(void **state)
{
    (void)state;
    json_object *sess = json_object_new_object();
    eng_shopper w = shopper(0, "s-promo", sess);
    eng_shop_result r;
    eng_shop_cart_add(&w, "MUG", 10, NULL, &r);
    eng_shop_result_clear(&r);
    eng_shop_promo_apply(&w, "save10", &r);
    assert_int_equal(r.status, ENG_SHOP_OK);
    assert_true(num(r.cart, "discountTotal") == 9.0);
    eng_shop_result_clear(&r);
    /* an unknown code, then one a rule refuses: SAVE10 stays */
    eng_shop_promo_apply(&w, "BOGUS99", &r);
    assert_int_equal(r.status, ENG_SHOP_CODE_INVALID);
    assert_non_null(strstr(r.reason, "BOGUS99"));
    assert_true(num(r.cart, "discountTotal") == 9.0);
    eng_shop_result_clear(&r);
    eng_shop_promo_apply(&w, "BIG", &r);
    assert_int_equal(r.status, ENG_SHOP_CODE_INVALID);
    assert_string_equal(r.reason, "only for orders over $1000");
    eng_shop_result_clear(&r);
    assert_string_equal(json_object_get_string(json_object_object_get(sess, "promoCode")), "SAVE10");
    eng_shop_promo_apply(&w, "bad code!", &r);
    assert_int_equal(r.status, ENG_SHOP_INVALID);
    eng_shop_result_clear(&r);
    eng_shop_promo_remove(&w, "SAVE10", &r);
    assert_int_equal(r.status, ENG_SHOP_OK);
    assert_true(num(r.cart, "discountTotal") == 0.0);
    eng_shop_result_clear(&r);
    json_object_put(sess);
}

/* A discount never takes more than the goods cost, and its line says
 * what it really took: the lines add up to discountTotal. */
static double lines_off(json_object *cart)
{
    json_object *ds = json_object_object_get(cart, "discounts");
    double off = 0;
    for (size_t i = 0; ds && i < json_object_array_length(ds); i++)
        off += num(json_object_array_get_idx(ds, i), "amount");
    return off;
}

static void test_discount_capped(void **state)
{
    (void)state;
    json_object *sess = json_object_new_object();
    eng_shopper w = shopper(0, "s-capped", sess);
    eng_shop_result r;
    /* on an empty cart the code is kept and takes nothing yet */
    eng_shop_promo_apply(&w, "FIFTY", &r);
    assert_int_equal(r.status, ENG_SHOP_OK);
    assert_true(num(r.cart, "discountTotal") == 0.0);
    assert_int_equal(json_object_array_length(json_object_object_get(r.cart, "discounts")), 0);
    eng_shop_result_clear(&r);
    /* $50 off a $9 cart: -$9.00, total 0, and the line says 9 */
    eng_shop_cart_add(&w, "MUG", 1, NULL, &r);
    assert_int_equal(r.status, ENG_SHOP_OK);
    assert_true(num(r.cart, "subtotal") == 9.0);
    assert_true(num(r.cart, "discountTotal") == 9.0);
    assert_true(num(r.cart, "total") == 0.0);
    assert_true(lines_off(r.cart) == 9.0);
    eng_shop_result_clear(&r);
    /* more goods than the code: the whole $50 */
    eng_shop_cart_add(&w, "MUG", 9, NULL, &r);
    assert_true(num(r.cart, "discountTotal") == 50.0);
    assert_true(lines_off(r.cart) == 50.0);
    assert_true(num(r.cart, "total") == 40.0);
    eng_shop_result_clear(&r);
    json_object_put(sess);
}

static void test_veto_sees_cart(void **state)
{
    (void)state;
    eng_shopper w = shopper(buyer("moto@example.com"), "s-moto", NULL);
    eng_shop_result r;
    eng_shop_cart_add(&w, "MOTO", 3, NULL, &r);
    assert_int_equal(r.status, ENG_SHOP_OK);
    eng_shop_result_clear(&r);
    int64_t before = stock_of("MOTO");
    eng_shop_checkout(&w, "moto-1", &r);
    assert_int_equal(r.status, ENG_SHOP_DENIED);
    assert_string_equal(r.reason, "at most 2 motorcycles per order");
    assert_null(r.order);
    eng_shop_result_clear(&r);
    assert_int_equal(stock_of("MOTO"), before);
    eng_shop_cart_set(&w, "MOTO", 2, NULL, &r);
    eng_shop_result_clear(&r);
    eng_shop_checkout(&w, "moto-2", &r);
    assert_int_equal(r.status, ENG_SHOP_OK);
    eng_shop_result_clear(&r);
    assert_int_equal(stock_of("MOTO"), before - 2);
}

/* A checkout the shopper confirmed on a summary orders that summary's
 * cart or nothing: a cart changed since (another tab, an agent) is
 * refused with the cart as it is now, and no stock is taken. */
static void test_confirmed_checkout(void **state)
{
    (void)state;
    eng_shopper w = shopper(buyer("confirm@example.com"), "s-confirm", NULL);
    eng_shop_result r;
    eng_shop_cart_add(&w, "LAMP", 1, NULL, &r);
    eng_shop_result_clear(&r);
    assert_int_equal(eng_shop_cart(&w, &r), 0);
    json_object *summary = json_object_get(r.cart);
    eng_shop_result_clear(&r);
    eng_shop_cart_add(&w, "MUG", 1, NULL, &r);   /* after the summary was shown */
    eng_shop_result_clear(&r);
    int64_t lamps = stock_of("LAMP");
    assert_int_equal(eng_shop_checkout_confirmed(&w, "conf-1", summary, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_CHANGED);
    assert_null(r.order);
    assert_int_equal(json_object_array_length(json_object_object_get(r.cart, "items")), 2);
    assert_int_equal(stock_of("LAMP"), lamps);
    eng_shop_result_clear(&r);
    /* confirmed on the cart as it is: ordered */
    json_object_put(summary);
    assert_int_equal(eng_shop_cart(&w, &r), 0);
    summary = json_object_get(r.cart);
    eng_shop_result_clear(&r);
    assert_int_equal(eng_shop_checkout_confirmed(&w, "conf-2", summary, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_OK);
    assert_true(num(r.order, "total") == num(summary, "total"));
    assert_int_equal(stock_of("LAMP"), lamps - 1);
    eng_shop_result_clear(&r);
    json_object_put(summary);
}

/* No checkout without an address and a payment: a signed-in shopper
 * with neither saved, then with the address only, gets INVALID naming
 * what is missing; no order, no stock taken.  The quote says the same. */
static void test_no_facts_no_order(void **state)
{
    (void)state;
    int64_t id = 0;
    assert_int_equal(store_user_create(st, "nofacts@example.com", "x", NULL, &id, NULL), 0);
    eng_shopper w = shopper(id, "s-nofacts", NULL);
    eng_shop_result r;
    eng_shop_cart_add(&w, "LAMP", 1, NULL, &r);
    eng_shop_result_clear(&r);
    int64_t lamps = stock_of("LAMP");
    assert_int_equal(eng_shop_checkout_quote(&w, NULL, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_OK);
    assert_string_equal(json_object_to_json_string(json_object_object_get(r.info, "missing")),
                        "[ \"address\", \"payment\" ]");
    eng_shop_result_clear(&r);
    assert_int_equal(eng_shop_checkout(&w, "nofacts-1", &r), 0);
    assert_int_equal(r.status, ENG_SHOP_INVALID);
    assert_string_equal(r.field, "address");
    assert_non_null(strstr(r.reason, "address and a payment card"));
    assert_int_equal(json_object_array_length(json_object_object_get(r.info, "missing")), 2);
    assert_null(r.order);
    eng_shop_result_clear(&r);
    json_object *a = json_tokener_parse("{\"name\":\"Bo\",\"line1\":\"2 Main St\",\"city\":\"Springfield\","
                                        "\"postalCode\":\"62701\",\"country\":\"US\"}");
    assert_int_equal(eng_shop_address_set(&w, a, &r), 0);
    eng_shop_result_clear(&r);
    json_object_put(a);
    assert_int_equal(eng_shop_cart(&w, &r), 0);
    json_object *summary = json_object_get(r.cart);
    eng_shop_result_clear(&r);
    assert_int_equal(eng_shop_checkout_confirmed(&w, "nofacts-2", summary, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_INVALID);
    assert_string_equal(r.field, "payment");
    assert_string_equal(json_object_to_json_string(json_object_object_get(r.info, "missing")), "[ \"payment\" ]");
    eng_shop_result_clear(&r);
    json_object_put(summary);
    eng_shop_orders(&w, 0, &r);
    assert_int_equal(json_object_array_length(json_object_object_get(r.order, "items")), 0);
    eng_shop_result_clear(&r);
    assert_int_equal(stock_of("LAMP"), lamps);
    /* with a card: the quote is complete, and the order is paid */
    json_object *c = json_tokener_parse("{\"cardNumber\":\"4242424242424242\",\"expiry\":\"12/40\",\"cvc\":\"123\"}");
    assert_int_equal(eng_shop_payment_save(&w, c, &r), 0);
    eng_shop_result_clear(&r);
    json_object_put(c);
    assert_int_equal(eng_shop_checkout_quote(&w, NULL, &r), 0);
    assert_int_equal(json_object_array_length(json_object_object_get(r.info, "missing")), 0);
    assert_string_equal(json_object_get_string(json_object_object_get(json_object_object_get(r.info, "payment"),
                                                                      "last4")), "4242");
    eng_shop_result_clear(&r);
    eng_pay_stats before, after;
    eng_pay_stats_get(&before);
    assert_int_equal(eng_shop_checkout(&w, "nofacts-3", &r), 0);
    assert_int_equal(r.status, ENG_SHOP_OK);
    json_object *pay = json_object_object_get(r.order, "payment");
    assert_string_equal(json_object_get_string(json_object_object_get(pay, "status")), "paid");
    eng_shop_result_clear(&r);
    eng_pay_stats_get(&after);
    assert_int_equal(after.approved - before.approved, 1);
    assert_int_equal(stock_of("LAMP"), lamps - 1);
}

static void test_cancel(void **state)
{
    (void)state;
    eng_shopper w = shopper(buyer("cancel@example.com"), "s-cancel", NULL),
                other = shopper(buyer("other@example.com"), "s-other", NULL);
    eng_shop_result r;
    eng_shop_cart_add(&w, "LAMP", 1, NULL, &r);
    eng_shop_result_clear(&r);
    eng_shop_checkout(&w, "c-1", &r);
    assert_int_equal(r.status, ENG_SHOP_OK);
    int64_t id = json_object_get_int64(json_object_object_get(r.order, "id"));
    eng_shop_result_clear(&r);
    eng_shop_cancel(&other, id, &r);
    assert_int_equal(r.status, ENG_SHOP_NOT_FOUND);
    eng_shop_result_clear(&r);
    eng_shop_cancel(&w, id, &r);
    assert_int_equal(r.status, ENG_SHOP_OK);
    assert_string_equal(json_object_get_string(json_object_object_get(r.order, "status")), "cancelled");
    eng_shop_result_clear(&r);
    eng_shop_cancel(&w, id, &r);
    assert_int_equal(r.status, ENG_SHOP_STATE);
    eng_shop_result_clear(&r);
}

/* ---------------------------------------------------------------- refunds */
static const char *jpath(json_object *o, const char *a, const char *b)
{
    return json_object_get_string(json_object_object_get(json_object_object_get(o, a), b));
}

/* a paid order of a new buyer: its id, total and charge reference */
static int64_t paid_order(const char *email, eng_shopper *w, double *total, char *ref, size_t n)
{
    *w = shopper(buyer(email), email, NULL);
    eng_shop_result r;
    eng_shop_cart_add(w, "LAMP", 2, NULL, &r);
    eng_shop_result_clear(&r);
    assert_int_equal(eng_shop_checkout(w, "paid-1", &r), 0);
    assert_int_equal(r.status, ENG_SHOP_OK);
    assert_string_equal(jpath(r.order, "payment", "status"), "paid");
    int64_t id = json_object_get_int64(json_object_object_get(r.order, "id"));
    *total = json_object_get_double(json_object_object_get(r.order, "total"));
    snprintf(ref, n, "%s", jpath(r.order, "payment", "reference"));
    eng_shop_result_clear(&r);
    return id;
}

/* A cancelled paid order is refunded through its provider, once: the
 * order says so (status, amount, the charge's reference, when), and a
 * repeat of the cancel refunds nothing. */
static void test_cancel_refunds(void **state)
{
    (void)state;
    eng_shopper w;
    double total;
    char ref[64];
    int64_t id = paid_order("refund@example.com", &w, &total, ref, sizeof ref);
    eng_pay_stats a, b, c;
    eng_pay_stats_get(&a);
    eng_shop_result r;
    eng_shop_cancel(&w, id, &r);
    assert_int_equal(r.status, ENG_SHOP_OK);
    json_object *rf = json_object_object_get(r.order, "refund");
    assert_non_null(rf);
    assert_string_equal(jpath(r.order, "refund", "status"), "refunded");
    assert_true(json_object_get_double(json_object_object_get(rf, "amount")) == total);
    assert_string_equal(jpath(r.order, "refund", "reference"), ref);
    assert_string_equal(jpath(r.order, "refund", "last4"), "4242");
    assert_true(json_object_get_int64(json_object_object_get(rf, "at")) > 0);
    eng_shop_result_clear(&r);
    eng_pay_stats_get(&b);
    assert_int_equal(b.cancel_refunds - a.cancel_refunds, 1);
    assert_int_equal(b.refunds - a.refunds, 1);
    eng_shop_cancel(&w, id, &r);
    assert_int_equal(r.status, ENG_SHOP_STATE);
    eng_shop_result_clear(&r);
    eng_shop_order(&w, id, &r);
    assert_string_equal(jpath(r.order, "refund", "status"), "refunded");
    eng_shop_result_clear(&r);
    size_t done = 9, left = 9;
    assert_int_equal(eng_shop_refunds_settle(st, &done, &left), 0);
    assert_int_equal(done + left, 0);
    eng_pay_stats_get(&c);
    assert_int_equal(c.refunds, b.refunds);
    /* the audit row of the cancel names the refund */
    char *js = NULL, subj[32];
    snprintf(subj, sizeof subj, "order:%lld", (long long)id);
    assert_int_equal(store_audit_list(st, NULL, subj, 10, &js, NULL), 0);
    assert_non_null(strstr(js, "order.cancel"));
    assert_non_null(strstr(js, ref));
    free(js);
}

typedef struct cancel_race {
    eng_shopper w;
    int64_t id;
    eng_shop_result r;
} cancel_race;

static void *canceller(void *arg)
{
    cancel_race *x = arg;
    eng_shop_cancel(&x->w, x->id, &x->r);
    return NULL;
}

/* 20 cancels of one paid order at once: one cancels, one refund */
static void test_concurrent_cancel_one_refund(void **state)
{
    (void)state;
    eng_shopper w;
    double total;
    char ref[64];
    int64_t id = paid_order("refund-race@example.com", &w, &total, ref, sizeof ref);
    eng_pay_stats a, b;
    eng_pay_stats_get(&a);
    cancel_race xs[20];
    pthread_t th[20];
    for (int i = 0; i < 20; i++) {
        xs[i] = (cancel_race){.w = w, .id = id};
        assert_int_equal(pthread_create(&th[i], NULL, canceller, &xs[i]), 0);
    }
    int ok = 0;
    for (int i = 0; i < 20; i++) {
        pthread_join(th[i], NULL);
        ok += xs[i].r.status == ENG_SHOP_OK;
        assert_true(xs[i].r.status == ENG_SHOP_OK || xs[i].r.status == ENG_SHOP_STATE);
        eng_shop_result_clear(&xs[i].r);
    }
    assert_int_equal(ok, 1);
    eng_pay_stats_get(&b);
    assert_int_equal(b.cancel_refunds - a.cancel_refunds, 1);
    assert_int_equal(b.refunds - a.refunds, 1);
}

/* a provider that fails its first refunds: the debt stays, then is paid once */
static int flaky_fails;
static int flaky_calls;
static int flaky_charge(const eng_pay_provider *p, const eng_pay_req *q, eng_pay_result *out)
{
    (void)p;
    (void)q;
    memset(out, 0, sizeof *out);
    out->approved = 1;
    return 0;
}
static int flaky_refund(const eng_pay_provider *p, const char *ref, int64_t cents)
{
    (void)p;
    (void)ref;
    (void)cents;
    flaky_calls++;
    return flaky_fails-- > 0 ? ENG_EIO : 0;
}
static const eng_pay_provider flaky = {"flaky", flaky_charge, flaky_refund, NULL, NULL};

/* A crash between the cancel and the refund (the cancel's transaction
 * wrote the debt, no refund was asked) and a provider that fails: the
 * sweeper (what `aisle serve` runs at startup) and the next cancel
 * request give it back, once. */
static void test_refund_owed_is_settled_once(void **state)
{
    (void)state;
    assert_int_equal(eng_pay_register(&flaky), 0);
    eng_shopper w;
    double total;
    char ref[64];
    int64_t id = paid_order("refund-crash@example.com", &w, &total, ref, sizeof ref);
    /* as the cancel writes it, with the provider that will fail twice */
    char owed[256];
    snprintf(owed, sizeof owed, "{\"status\":\"pending\",\"amount\":%.2f,\"reference\":\"%s\","
             "\"provider\":\"flaky\",\"last4\":\"4242\"}", total, ref);
    assert_int_equal(store_order_cancel_refund(st, w.user_id, id, NULL, owed, NULL), 0);
    flaky_fails = 2;
    flaky_calls = 0;
    size_t done = 0, left = 0;
    assert_int_equal(eng_shop_refunds_settle(st, &done, &left), 0);
    assert_int_equal(done, 0);
    assert_int_equal(left, 1);
    eng_shop_result r;
    eng_shop_order(&w, id, &r);
    assert_string_equal(jpath(r.order, "refund", "status"), "pending");
    assert_null(json_object_object_get(json_object_object_get(r.order, "refund"), "at"));
    eng_shop_result_clear(&r);
    /* the next cancel request tries again (the provider fails once more) */
    eng_shop_cancel(&w, id, &r);
    assert_int_equal(r.status, ENG_SHOP_STATE);
    eng_shop_result_clear(&r);
    assert_int_equal(flaky_calls, 2);
    eng_pay_stats a, b;
    eng_pay_stats_get(&a);
    assert_int_equal(eng_shop_refunds_settle(st, &done, &left), 0);
    assert_int_equal(done, 1);
    assert_int_equal(left, 0);
    assert_int_equal(flaky_calls, 3);
    eng_shop_order(&w, id, &r);
    assert_string_equal(jpath(r.order, "refund", "status"), "refunded");
    eng_shop_result_clear(&r);
    /* settled: the sweeper, a cancel, a settle of the order ask nothing more */
    assert_int_equal(eng_shop_refunds_settle(st, &done, &left), 0);
    assert_int_equal(done + left, 0);
    eng_shop_cancel(&w, id, &r);
    eng_shop_result_clear(&r);
    assert_int_equal(flaky_calls, 3);
    eng_pay_stats_get(&b);
    assert_int_equal(b.cancel_refunds - a.cancel_refunds, 1);
}

/* an order placed without payment owes nothing when cancelled */
static void test_unpaid_cancel_owes_nothing(void **state)
{
    (void)state;
    eng_shopper w = shopper(buyer("unpaid@example.com"), "s-unpaid", NULL);
    eng_shop_result r;
    eng_shop_cart_add(&w, "MUG", 1, NULL, &r);
    eng_shop_result_clear(&r);
    store_order o;
    char cid[64];
    snprintf(cid, sizeof cid, "user:%lld", (long long)w.user_id);
    assert_int_equal(store_order_create(st, w.user_id, cid, "unpaid-1", &o, NULL), 0);
    eng_pay_stats a, b;
    eng_pay_stats_get(&a);
    eng_shop_cancel(&w, o.id, &r);
    assert_int_equal(r.status, ENG_SHOP_OK);
    assert_null(json_object_object_get(r.order, "refund"));
    eng_shop_result_clear(&r);
    eng_pay_stats_get(&b);
    assert_int_equal(b.refunds, a.refunds);
    store_order_clear(&o);
}

/* ---------------------------------------------------------------- races */
typedef struct race {
    int kind;              /* 0: add 1 without a key; 1: checkout with one key; 2: add with one key */
    int64_t uid;
    const char *sid;
    eng_shop_result r;
} race;

static void *racer(void *arg)
{
    race *x = arg;
    eng_shopper w = shopper(x->uid, x->sid, NULL);
    if (x->kind == 0)
        eng_shop_cart_add(&w, "MUG", 1, NULL, &x->r);
    else if (x->kind == 1)
        eng_shop_checkout(&w, "race-key", &x->r);
    else
        eng_shop_cart_add(&w, "MUG", 1, "same-key", &x->r);
    return NULL;
}

static void run_race(int kind, int64_t uid, const char *sid, race *xs, int n)
{
    pthread_t th[64];
    for (int i = 0; i < n; i++) {
        xs[i] = (race){.kind = kind, .uid = uid, .sid = sid};
        assert_int_equal(pthread_create(&th[i], NULL, racer, &xs[i]), 0);
    }
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
}

static int64_t line(int64_t uid, const char *sid, const char *sku)
{
    eng_shopper w = shopper(uid, sid, NULL);
    eng_shop_result r;
    eng_shop_cart(&w, &r);
    int64_t q = 0;
    json_object *items = json_object_object_get(r.cart, "items");
    for (size_t i = 0; items && i < json_object_array_length(items); i++) {
        json_object *l = json_object_array_get_idx(items, i);
        if (strcmp(json_object_get_string(json_object_object_get(l, "sku")), sku) == 0)
            q = json_object_get_int64(json_object_object_get(l, "qty"));
    }
    eng_shop_result_clear(&r);
    return q;
}

static void test_concurrent_adds(void **state)
{
    (void)state;
    race xs[50];
    run_race(0, 0, "s-race-add", xs, 50);
    for (int i = 0; i < 50; i++) {
        assert_int_equal(xs[i].r.status, ENG_SHOP_OK);
        eng_shop_result_clear(&xs[i].r);
    }
    assert_int_equal(line(0, "s-race-add", "MUG"), 50);
    /* one key, 50 callers: one change */
    run_race(2, 0, "s-race-key", xs, 50);
    int fresh = 0;
    for (int i = 0; i < 50; i++) {
        assert_int_equal(xs[i].r.status, ENG_SHOP_OK);
        fresh += !xs[i].r.replayed;
        eng_shop_result_clear(&xs[i].r);
    }
    assert_int_equal(fresh, 1);
    assert_int_equal(line(0, "s-race-key", "MUG"), 1);
}

static void test_concurrent_checkout(void **state)
{
    (void)state;
    int64_t uid = buyer("race@example.com");
    eng_shopper w = shopper(uid, "s-race-order", NULL);
    eng_shop_result r;
    eng_shop_cart_add(&w, "LAMP", 2, NULL, &r);
    eng_shop_result_clear(&r);
    int64_t before = stock_of("LAMP");
    race xs[50];
    run_race(1, uid, "s-race-order", xs, 50);
    int fresh = 0;
    int64_t id = 0;
    for (int i = 0; i < 50; i++) {
        assert_int_equal(xs[i].r.status, ENG_SHOP_OK);
        int64_t oid = json_object_get_int64(json_object_object_get(xs[i].r.order, "id"));
        if (!id)
            id = oid;
        assert_int_equal(oid, id);
        fresh += !xs[i].r.replayed;
        eng_shop_result_clear(&xs[i].r);
    }
    assert_int_equal(fresh, 1);
    assert_int_equal(stock_of("LAMP"), before - 2);
    eng_shop_orders(&w, 0, &r);
    assert_int_equal(json_object_array_length(json_object_object_get(r.order, "items")), 1);
    eng_shop_result_clear(&r);
    /* one audit entry for the order */
    char *js = NULL, actor[32];
    snprintf(actor, sizeof actor, "user:%lld", (long long)uid);
    assert_int_equal(store_audit_list(st, actor, NULL, 500, &js, NULL), 0);
    json_object *a = json_tokener_parse(js);
    free(js);
    int orders = 0;
    for (size_t i = 0; i < json_object_array_length(a); i++)
        orders += strcmp(json_object_get_string(json_object_object_get(json_object_array_get_idx(a, i), "action")),
                         "order.create") == 0;
    json_object_put(a);
    assert_int_equal(orders, 1);
}

/* The price a shopper sees and pays follows the product and the rules at
 * once, whatever the engine keeps between calls: after a product write,
 * an order that takes stock (a write the catalog generation does not
 * count) and a rules reload, the next cart read and the next chat turn
 * show the new price. */
static const char fresh_yaml[] =
    "pipeline: fresh\n"
    "rules: [prices.lua]\n"
    "intents:\n"
    "  view_cart: [show my cart, what is in my cart, my cart please]\n"
    "  greeting: [hi, hello, good morning]\n"
    "stages:\n"
    "  - { id: nlu, type: classifier }\n"
    "  - { id: ctx, type: context }\n"
    "  - { id: reply, type: formatter, templates: { default: 'ok' } }\n";

static eng_pipeline *load_fresh(void)
{
    eng_pipeline *p = NULL;
    eng_diags d;
    eng_diags_init(&d);
    int rc = eng_pipeline_load_buffer("fresh.yaml", fresh_yaml, strlen(fresh_yaml), dir, &p, &d);
    if (rc != 0)
        eng_diags_print(&d, stderr);
    eng_diags_free(&d);
    assert_int_equal(rc, 0);
    return p;
}

/* the cart total a REST read (eng_shop_cart) gives, and the one a chat
 * turn's context stage puts in ctx.cart */
static double cart_total(eng_pipeline *p, const char *sid)
{
    eng_shopper w = {.pipe = p, .store = st, .session_id = sid, .via = "test"};
    eng_shop_result r;
    assert_int_equal(eng_shop_cart(&w, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_OK);
    double rest = num(r.cart, "total");
    eng_shop_result_clear(&r);
    eng_deps deps = {.store = st};
    eng_turn_opts o = {.session_id = sid, .deps = &deps};
    eng_turn *t = NULL;
    assert_int_equal(eng_run(p, "what is in my cart", &o, &t, NULL), 0);
    json_object *cart;
    assert_true(json_object_object_get_ex(eng_turn_context(t), "cart", &cart));
    double turn = num(cart, "total");
    eng_turn_free(t);
    assert_true(rest == turn);
    return rest;
}

static void test_price_follows_product_and_rules(void **state)
{
    (void)state;
    product("HOSE", "garden", 30, 50);
    write_file("prices.lua",
               "price('garden-10', function(p) if p.category == 'garden' then return {percent = 10, reason = 'v1'} end end)\n"
               "price('scarce', function(p) if p.stock and p.stock < 45 then return {amount = 1, reason = 'scarce'} end end)\n");
    eng_pipeline *p1 = load_fresh();
    eng_shopper w = {.pipe = p1, .store = st, .session_id = "s-fresh", .via = "test"};
    eng_shop_result r;
    assert_int_equal(eng_shop_cart_add(&w, "HOSE", 2, NULL, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_OK);
    eng_shop_result_clear(&r);
    assert_true(cart_total(p1, "s-fresh") == 54.0);
    assert_true(cart_total(p1, "s-fresh") == 54.0);
    /* an admin PUT (or an import) writes the product */
    product("HOSE", "garden", 40, 50);
    assert_true(cart_total(p1, "s-fresh") == 72.0);
    /* another shopper's order takes 10 from stock: 40 left, scarce */
    eng_shopper b = {.pipe = p1, .store = st, .user_id = buyer("fresh-b@example.com"), .via = "test"};
    assert_int_equal(eng_shop_cart_add(&b, "HOSE", 10, NULL, &r), 0);
    eng_shop_result_clear(&r);
    assert_int_equal(eng_shop_checkout(&b, "fresh-1", &r), 0);
    assert_int_equal(r.status, ENG_SHOP_OK);
    eng_shop_result_clear(&r);
    assert_int_equal(stock_of("HOSE"), 40);
    assert_true(cart_total(p1, "s-fresh") == 70.0);
    /* the rules file changes and the pipeline is loaded again (what a
     * hot reload does): the new pipeline prices with the new rules */
    write_file("prices.lua",
               "price('garden-50', function(p) if p.category == 'garden' then return {percent = 50, reason = 'v2'} end end)\n");
    eng_pipeline *p2 = load_fresh();
    assert_true(cart_total(p2, "s-fresh") == 40.0);
    assert_true(cart_total(p2, "s-fresh") == 40.0);
    product("HOSE", "garden", 20, 40);
    assert_true(cart_total(p2, "s-fresh") == 20.0);
    eng_pipeline_release(p1);
    eng_pipeline_release(p2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_price),        cmocka_unit_test(test_typed_results),
        cmocka_unit_test(test_promo_codes),      cmocka_unit_test(test_veto_sees_cart),
        cmocka_unit_test(test_discount_capped),
        cmocka_unit_test(test_cancel),           cmocka_unit_test(test_concurrent_adds),
        cmocka_unit_test(test_cancel_refunds),   cmocka_unit_test(test_concurrent_cancel_one_refund),
        cmocka_unit_test(test_refund_owed_is_settled_once), cmocka_unit_test(test_unpaid_cancel_owes_nothing),
        cmocka_unit_test(test_confirmed_checkout), cmocka_unit_test(test_no_facts_no_order),
        cmocka_unit_test(test_concurrent_checkout),
        cmocka_unit_test(test_price_follows_product_and_rules),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
