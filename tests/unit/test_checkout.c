/* tests/unit/test_checkout.c — the checkout's facts (engine/checkout.c,
 * engine/pay.c, shop.c's checkout) on a real SQLite store with a payment
 * provider that counts what it is asked: the settings refused loudly,
 * the address validated and saved, a decline that orders nothing and
 * lets the same key try another card, a key repeated 20 times at once
 * that charges once, two keys racing for one cart that leave one charge
 * standing, a stock failure that refunds, and totals with discounts,
 * delivery and its free threshold, in the order and its e-mail text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/eng.h"
#include "stores/store.h"
#include "shop_fixture.h"

static eng_pipeline *pipe_;

/* ------------------------------------------------ a counting provider */
static atomic_int charges, approved, refunds;

static int count_charge(const eng_pay_provider *p, const eng_pay_req *req, eng_pay_result *out)
{
    (void)p;
    memset(out, 0, sizeof *out);
    atomic_fetch_add(&charges, 1);
    struct timespec ts = {0, 20 * 1000 * 1000}; /* widen the race windows */
    nanosleep(&ts, NULL);
    snprintf(out->reference, sizeof out->reference, "cnt_%d", atomic_load(&charges));
    if (strcmp(req->card_number, "4000000000000002") == 0) {
        snprintf(out->reason, sizeof out->reason, "the card was declined");
        return 0;
    }
    assert_true(req->amount_cents > 0);
    assert_non_null(strstr(req->idempotency_key, "checkout:"));
    atomic_fetch_add(&approved, 1);
    out->approved = 1;
    return 0;
}

static int count_refund(const eng_pay_provider *p, const char *ref, int64_t amount)
{
    (void)p, (void)ref, (void)amount;
    atomic_fetch_add(&refunds, 1);
    return 0;
}

static const eng_pay_provider counting = {"counting", count_charge, count_refund, NULL, NULL};

static const char rules_lua[] =
    "price('half-lamps', function(p, ctx)\n"
    "  if p.category == 'lighting' then return {percent = 50, reason = 'half price lamps'} end\n"
    "end)\n"
    "buy_x_get_y { id = 'mugs-3for2', category = 'kitchen', buy = 2, get = 1, max = 1, reason = 'mugs: 3 for 2' }\n";

static const char pipeline_head[] =
    "pipeline: shop\n"
    "rules: [rules.lua]\n"
    "intents:\n"
    "  view_cart: [show my cart, what is in my cart]\n"
    "stages:\n"
    "  - { id: nlu, type: classifier }\n"
    "  - { id: reply, type: formatter, templates: { view_cart: 'ok' } }\n";

static const char checkout_yaml[] =
    "checkout:\n"
    "  payment: counting\n"
    "  delivery:\n"
    "    - { id: standard, name: Standard, days: 3-5 days, price: 4.90, free_over: 50 }\n"
    "    - { id: express, name: Express, days: 1 day, price: 9.90 }\n"
    "  confirmation_email: \"{{#each discounts}}{{this.reason}}; {{/each}}{{delivery.name}} {{delivery.price | money}}; "
    "total {{total | money}}; card {{payment.last4}}; to {{address.locality}}, {{address.countryName}}\"\n";

/* load `head` + `tail`; returns the rc, the diagnostics in msgs */
static int load(const char *tail, eng_pipeline **out, char *msgs, size_t n)
{
    char y[4096];
    snprintf(y, sizeof y, "%s%s", pipeline_head, tail);
    return fixture_load(y, out, msgs, n);
}

static int setup(void **state)
{
    (void)state;
    fixture_open("checkout");
    product("LAMP", "lighting", 40, 100);
    product("MUG", "kitchen", 10, 1000);
    product("LAST", "misc", 20, 1);
    write_file("rules.lua", rules_lua);
    assert_int_equal(eng_pay_register(&counting), 0);
    char msgs[2048];
    int rc = load(checkout_yaml, &pipe_, msgs, sizeof msgs);
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

/* a signed-in shopper (users are created on first use) */
static eng_shopper shopper(const char *email)
{
    store_user u = {0};
    int64_t id = 0;
    if (store_user_get_by_email(st, email, &u, NULL) == 0)
        id = u.id;
    else
        assert_int_equal(store_user_create(st, email, "x", NULL, &id, NULL), 0);
    return (eng_shopper){.pipe = pipe_, .store = st, .user_id = id, .session_id = email, .via = "test"};
}

static json_object *address(void)
{
    return json_tokener_parse("{\"name\":\"Ann\",\"line1\":\"1 Main St\",\"city\":\"Springfield\","
                              "\"postalCode\":\"62701\",\"country\":\"US\"}");
}

static json_object *card(const char *number)
{
    json_object *c = json_object_new_object();
    json_object_object_add(c, "cardNumber", json_object_new_string(number));
    json_object_object_add(c, "expiry", json_object_new_string("12/40"));
    json_object_object_add(c, "cvc", json_object_new_string("123"));
    return c;
}

static void add(eng_shopper *w, const char *sku, int64_t qty)
{
    eng_shop_result r;
    assert_int_equal(eng_shop_cart_add(w, sku, qty, NULL, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_OK);
    eng_shop_result_clear(&r);
}

static size_t orders_of(eng_shopper *w)
{
    eng_shop_result r;
    eng_shop_orders(w, 0, &r);
    size_t n = json_object_array_length(json_object_object_get(r.order, "items"));
    eng_shop_result_clear(&r);
    return n;
}

static long cents(json_object *o, const char *path)
{
    json_object *v = o;
    const char *dot = strchr(path, '.');
    if (dot) {   /* one level: "delivery.price" */
        char head[64];
        snprintf(head, sizeof head, "%.*s", (int)(dot - path), path);
        v = json_object_object_get(v, head);
        path = dot + 1;
    }
    v = v ? json_object_object_get(v, path) : NULL;
    return v ? lround(json_object_get_double(v) * 100) : -1;
}

/* ---------------------------------------------------------------- tests */
static void test_cards(void **state)
{
    (void)state;
    assert_true(eng_pay_luhn_ok("4242424242424242"));
    assert_true(eng_pay_luhn_ok("4000000000000002"));
    assert_false(eng_pay_luhn_ok("4242424242424241"));
    assert_false(eng_pay_luhn_ok("42x2"));
    assert_string_equal(eng_pay_card_brand("4242424242424242"), "visa");
    assert_string_equal(eng_pay_card_brand("5555555555554444"), "mastercard");
    assert_string_equal(eng_pay_card_brand("378282246310005"), "amex");
    /* the test provider: approved, declined, and the same key gives the same charge */
    const eng_pay_provider *t = eng_pay_find("test");
    assert_non_null(t);
    eng_pay_req q = {"k1", 1000, "USD", "4242424242424242", 12, 2040, "123", NULL};
    eng_pay_result a, b;
    assert_int_equal(t->charge(t, &q, &a), 0);
    assert_true(a.approved);
    assert_int_equal(t->charge(t, &q, &b), 0);
    assert_string_equal(a.reference, b.reference);
    q.card_number = "4000000000000002";
    assert_int_equal(t->charge(t, &q, &b), 0);
    assert_false(b.approved);
    assert_non_null(strstr(b.reason, "declined"));
    assert_null(eng_pay_find("nope"));
}

static void test_settings_refused(void **state)
{
    (void)state;
    static const struct {
        const char *yaml, *want;
    } bad[] = {
        {"checkout:\n  delivery:\n    - { id: std, name: Std, price: -1 }\n", "shop.yaml:10:"},
        {"checkout:\n  delivery:\n    - { id: std, name: Std, price: 4.999 }\n", "at most two decimals"},
        {"checkout:\n  delivery:\n    - { id: std, name: Std }\n", "missing \"price\""},
        {"checkout:\n  delivery:\n    - { id: std, name: A, price: 1 }\n    - { id: std, name: B, price: 2 }\n",
         "listed twice"},
        {"checkout:\n  delivery:\n    - { id: Std!, name: A, price: 1 }\n", "a-z, 0-9"},
        {"checkout:\n  delivery:\n    - { id: std, name: A, price: 1, cost: 2 }\n", "unknown delivery option key"},
        {"checkout:\n  payment: stripe\n", "no payment provider \"stripe\""},
        {"checkout:\n  currency: dollars\n", "three-letter code"},
        {"checkout:\n  shipping: []\n", "unknown checkout key \"shipping\""},
        {"checkout:\n  delivery: []\n", "1 to 32 options"},
        {"checkout:\n  confirmation_email: \"{{#if x}}open\"\n", "confirmation_email:"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        eng_pipeline *p = NULL;
        char msgs[2048];
        int rc = load(bad[i].yaml, &p, msgs, sizeof msgs);
        if (rc == 0 || !strstr(msgs, bad[i].want))
            fprintf(stderr, "case %zu: rc %d, diagnostics:\n%s", i, rc, msgs);
        assert_int_equal(rc, ENG_ECONFIG);
        assert_non_null(strstr(msgs, bad[i].want));
        eng_pipeline_release(p);
    }
}

static void test_address(void **state)
{
    (void)state;
    eng_shopper w = shopper("addr@example.com");
    eng_shop_result r;
    assert_int_equal(eng_shop_address_get(&w, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_NOT_FOUND);
    eng_shop_result_clear(&r);
    static const struct {
        const char *json, *field;
    } bad[] = {
        {"{\"line1\":\"1 Main\",\"city\":\"X\",\"postalCode\":\"1\",\"country\":\"US\"}", "address.name"},
        {"{\"name\":\"A\",\"line1\":\"1 Main\",\"city\":\"X\",\"postalCode\":\"1\",\"country\":\"USA\"}", "address.country"},
        {"{\"name\":\"A\",\"line1\":\"1 Main\",\"city\":\"X\",\"postalCode\":\"1$\",\"country\":\"US\"}", "address.postalCode"},
        {"{\"name\":\"A\\u0001\",\"line1\":\"1 Main\",\"city\":\"X\",\"postalCode\":\"1\",\"country\":\"US\"}", "address.name"},
        {"{\"name\":\"A\",\"line1\":7,\"city\":\"X\",\"postalCode\":\"1\",\"country\":\"US\"}", "address.line1"},
        {"{\"name\":\"A\",\"line1\":\"1\",\"city\":\"X\",\"postalCode\":\"1\",\"country\":\"US\",\"x\":1}", "address"},
        {"[1]", "address"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_object *a = json_tokener_parse(bad[i].json);
        assert_int_equal(eng_shop_address_set(&w, a, &r), 0);
        assert_int_equal(r.status, ENG_SHOP_INVALID);
        assert_string_equal(r.field, bad[i].field);
        assert_true(strlen(r.reason) > 5);
        eng_shop_result_clear(&r);
        json_object_put(a);
    }
    /* a name of 101 bytes is one too many */
    json_object *a = address();
    char longname[102];
    memset(longname, 'n', 101);
    longname[101] = 0;
    json_object_object_add(a, "name", json_object_new_string(longname));
    assert_int_equal(eng_shop_address_set(&w, a, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_INVALID);
    assert_non_null(strstr(r.reason, "at most 100"));
    eng_shop_result_clear(&r);
    json_object_put(a);
    a = address();
    assert_int_equal(eng_shop_address_set(&w, a, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_OK);
    eng_shop_result_clear(&r);
    json_object_put(a);
    assert_int_equal(eng_shop_address_get(&w, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_OK);
    assert_string_equal(json_object_get_string(json_object_object_get(r.info, "city")), "Springfield");
    eng_shop_result_clear(&r);
    eng_shopper anon = {.pipe = pipe_, .store = st, .session_id = "anon-1"};
    assert_int_equal(eng_shop_address_get(&anon, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_LOGIN);
    eng_shop_result_clear(&r);
}

static void test_decline_then_retry(void **state)
{
    (void)state;
    eng_shopper w = shopper("decline@example.com");
    add(&w, "LAMP", 2);  /* 2 x 40, half price: 40 */
    int64_t before = stock_of("LAMP");
    int c0 = atomic_load(&charges), a0 = atomic_load(&approved);
    json_object *addr = address(), *bad = card("4000 0000 0000 0002"), *good = card("4242 4242 4242 4242");
    eng_checkout co = {.address = addr, .delivery = "express", .payment = bad, .require_payment = true};
    eng_shop_result r;
    assert_int_equal(eng_shop_checkout_with(&w, "k-decline", NULL, &co, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_PAYMENT);
    assert_non_null(strstr(r.reason, "declined"));
    assert_null(r.order);
    eng_shop_result_clear(&r);
    assert_int_equal(orders_of(&w), 0);
    assert_int_equal(stock_of("LAMP"), before);
    assert_int_equal(atomic_load(&approved), a0);
    /* bad facts never reach the provider */
    json_object *luhn = card("4242 4242 4242 4241");
    eng_checkout co_bad = {.address = addr, .payment = luhn, .require_payment = true};
    assert_int_equal(eng_shop_checkout_with(&w, "k-decline", NULL, &co_bad, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_INVALID);
    assert_string_equal(r.field, "payment.cardNumber");
    eng_shop_result_clear(&r);
    co_bad.payment = good;
    co_bad.delivery = "drone";
    assert_int_equal(eng_shop_checkout_with(&w, "k-decline", NULL, &co_bad, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_INVALID);
    assert_string_equal(r.field, "delivery");
    assert_non_null(strstr(r.reason, "standard, express"));
    eng_shop_result_clear(&r);
    co_bad.delivery = NULL;
    co_bad.address = NULL;  /* none saved for this shopper */
    assert_int_equal(eng_shop_checkout_with(&w, "k-decline", NULL, &co_bad, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_INVALID);
    assert_string_equal(r.field, "address");
    eng_shop_result_clear(&r);
    assert_int_equal(atomic_load(&charges), c0 + 1);
    /* the same key, another card: ordered once */
    co.payment = good;
    assert_int_equal(eng_shop_checkout_with(&w, "k-decline", NULL, &co, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_OK);
    assert_false(r.replayed);
    assert_int_equal(cents(r.order, "total"), 4000 + 990);
    assert_string_equal(json_object_get_string(json_object_object_get(json_object_object_get(r.order, "payment"),
                                                                      "last4")), "4242");
    int64_t id = json_object_get_int64(json_object_object_get(r.order, "id"));
    eng_shop_result_clear(&r);
    assert_int_equal(atomic_load(&approved), a0 + 1);
    /* and again: the first order, no charge */
    assert_int_equal(eng_shop_checkout_with(&w, "k-decline", NULL, &co, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_OK);
    assert_true(r.replayed);
    assert_int_equal(json_object_get_int64(json_object_object_get(r.order, "id")), id);
    eng_shop_result_clear(&r);
    assert_int_equal(atomic_load(&charges), c0 + 2);
    assert_int_equal(orders_of(&w), 1);
    assert_int_equal(stock_of("LAMP"), before - 2);
    json_object_put(addr), json_object_put(bad), json_object_put(good), json_object_put(luhn);
}

typedef struct racer_arg {
    eng_shopper w;
    const char *key;
    eng_shop_result r;
} racer_arg;

static void *racer(void *arg)
{
    racer_arg *x = arg;
    json_object *addr = address(), *c = card("4242424242424242");
    eng_checkout co = {.address = addr, .payment = c, .require_payment = true};
    eng_shop_checkout_with(&x->w, x->key, NULL, &co, &x->r);
    json_object_put(addr), json_object_put(c);
    return NULL;
}

static void race(racer_arg *xs, int n)
{
    pthread_t th[32];
    for (int i = 0; i < n; i++)
        assert_int_equal(pthread_create(&th[i], NULL, racer, &xs[i]), 0);
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
}

static void test_one_key_at_once(void **state)
{
    (void)state;
    eng_shopper w = shopper("samekey@example.com");
    add(&w, "MUG", 2);
    int a0 = atomic_load(&approved), r0 = atomic_load(&refunds);
    racer_arg xs[20];
    for (int i = 0; i < 20; i++)
        xs[i] = (racer_arg){.w = w, .key = "k-same"};
    race(xs, 20);
    int fresh = 0;
    for (int i = 0; i < 20; i++) {
        assert_int_equal(xs[i].r.status, ENG_SHOP_OK);
        fresh += !xs[i].r.replayed;
        eng_shop_result_clear(&xs[i].r);
    }
    assert_int_equal(fresh, 1);
    assert_int_equal(orders_of(&w), 1);
    assert_int_equal(atomic_load(&approved) - a0, 1);  /* charged once */
    assert_int_equal(atomic_load(&refunds) - r0, 0);
}

static void test_one_cart_two_keys(void **state)
{
    (void)state;
    eng_shopper w = shopper("twokeys@example.com");
    add(&w, "MUG", 1);
    int64_t before = stock_of("MUG");
    int a0 = atomic_load(&approved), r0 = atomic_load(&refunds);
    racer_arg xs[4];
    static const char *const keys[] = {"k-a", "k-b", "k-c", "k-d"};
    for (int i = 0; i < 4; i++)
        xs[i] = (racer_arg){.w = w, .key = keys[i]};
    race(xs, 4);
    int ok = 0;
    for (int i = 0; i < 4; i++) {
        if (xs[i].r.status == ENG_SHOP_OK)
            ok++;
        else
            assert_true(xs[i].r.status == ENG_SHOP_EMPTY || xs[i].r.status == ENG_SHOP_CHANGED);
        eng_shop_result_clear(&xs[i].r);
    }
    assert_int_equal(ok, 1);
    assert_int_equal(orders_of(&w), 1);
    assert_int_equal(stock_of("MUG"), before - 1);
    /* every charge but the order's was given back */
    assert_int_equal((atomic_load(&approved) - a0) - (atomic_load(&refunds) - r0), 1);
}

static void test_stock_refunds(void **state)
{
    (void)state;
    eng_shopper w1 = shopper("last1@example.com"), w2 = shopper("last2@example.com");
    add(&w1, "LAST", 1);
    add(&w2, "LAST", 1);
    json_object *addr = address(), *c = card("4242424242424242");
    eng_checkout co = {.address = addr, .payment = c, .require_payment = true};
    eng_shop_result r;
    assert_int_equal(eng_shop_checkout_with(&w1, "k-last", NULL, &co, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_OK);
    eng_shop_result_clear(&r);
    int r0 = atomic_load(&refunds);
    assert_int_equal(eng_shop_checkout_with(&w2, "k-last", NULL, &co, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_STOCK);
    eng_shop_result_clear(&r);
    assert_int_equal(atomic_load(&refunds) - r0, 1);
    assert_int_equal(orders_of(&w2), 0);
    json_object_put(addr), json_object_put(c);
}

static void test_totals(void **state)
{
    (void)state;
    eng_shopper w = shopper("totals@example.com");
    add(&w, "MUG", 3);  /* 30, one free: 20 < 50: standard costs 4.90 */
    json_object *addr = address(), *c = card("4242424242424242");
    eng_shop_result r;
    assert_int_equal(eng_shop_delivery_options(&w, &r), 0);
    json_object *std = json_object_array_get_idx(json_object_object_get(r.info, "items"), 0);
    assert_int_equal(cents(std, "price"), 490);
    assert_int_equal(cents(std, "freeOver"), 5000);
    eng_shop_result_clear(&r);
    eng_checkout co = {.address = addr, .save_address = true, .payment = c, .require_payment = true};
    assert_int_equal(eng_shop_checkout_with(&w, "k-totals", NULL, &co, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_OK);
    assert_int_equal(cents(r.order, "subtotal"), 3000);
    assert_int_equal(cents(r.order, "discountTotal"), 1000);
    assert_int_equal(cents(r.order, "delivery.price"), 490);
    assert_int_equal(cents(r.order, "total"), 2490);
    json_object *d = json_object_array_get_idx(json_object_object_get(r.order, "discounts"), 0);
    assert_string_equal(json_object_get_string(json_object_object_get(d, "reason")), "mugs: 3 for 2");
    const char *mail = json_object_get_string(json_object_object_get(r.order, "emailText"));
    assert_non_null(mail);
    assert_string_equal(mail, "mugs: 3 for 2; Standard 4.90; total 24.90; card 4242; to Springfield 62701, United States");
    /* the e-mail's address lines are not kept in the order's address */
    assert_null(json_object_object_get(json_object_object_get(r.order, "address"), "locality"));
    assert_null(strstr(json_object_to_json_string(r.order), "4242424242424242"));
    eng_shop_result_clear(&r);
    /* saveAddress kept it; the next checkout uses it, and is free from 50 */
    add(&w, "MUG", 8);  /* 80, one free: 70 */
    co.address = NULL;
    assert_int_equal(eng_shop_checkout_with(&w, "k-totals-2", NULL, &co, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_OK);
    assert_int_equal(cents(r.order, "delivery.price"), 0);
    assert_int_equal(cents(r.order, "total"), 7000);
    assert_string_equal(json_object_get_string(json_object_object_get(json_object_object_get(r.order, "address"),
                                                                      "name")), "Ann");
    eng_shop_result_clear(&r);
    json_object_put(addr), json_object_put(c);
}

/* the saved card with the built-in test provider: kept by the provider,
 * shown as brand and last 4, paid with by a typed checkout and by the
 * chat's (no facts), forgotten */
static void test_saved_card(void **state)
{
    (void)state;
    eng_pipeline *p = NULL;
    char msgs[2048];
    assert_int_equal(load("checkout:\n  payment: test\n  delivery:\n    - { id: std, name: Std, price: 2 }\n", &p,
                          msgs, sizeof msgs), 0);
    eng_shopper w = shopper("saved@example.com");
    w.pipe = p;
    eng_shop_result r;
    assert_int_equal(eng_shop_payment_get(&w, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_NOT_FOUND);
    eng_shop_result_clear(&r);
    json_object *bad = card("4242 4242 4242 4241"), *declined = card("4000 0000 0000 0002"), *good = card("4242424242424242");
    assert_int_equal(eng_shop_payment_save(&w, bad, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_INVALID);
    assert_string_equal(r.field, "payment.cardNumber");
    eng_shop_result_clear(&r);
    assert_int_equal(eng_shop_payment_save(&w, declined, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_PAYMENT);
    eng_shop_result_clear(&r);
    assert_int_equal(eng_shop_payment_save(&w, good, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_OK);
    eng_shop_result_clear(&r);
    assert_int_equal(eng_shop_payment_get(&w, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_OK);
    assert_string_equal(json_object_get_string(json_object_object_get(r.info, "last4")), "4242");
    assert_null(json_object_object_get(r.info, "token"));
    eng_shop_result_clear(&r);
    char *kept = NULL;
    assert_int_equal(store_account_get(st, w.user_id, "payment", &kept, NULL), 0);
    assert_null(strstr(kept, "4242424242424242"));
    free(kept);
    /* a typed checkout with {"saved": true} */
    add(&w, "MUG", 1);
    json_object *addr = address(), *use_saved = json_tokener_parse("{\"saved\": true}");
    eng_checkout co = {.address = addr, .save_address = true, .payment = use_saved, .require_payment = true};
    assert_int_equal(eng_shop_checkout_with(&w, "k-saved-1", NULL, &co, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_OK);
    json_object *pay = json_object_object_get(r.order, "payment");
    assert_true(json_object_get_boolean(json_object_object_get(pay, "saved")));
    assert_int_equal(cents(r.order, "total"), 1000 + 200);
    eng_shop_result_clear(&r);
    /* a checkout without facts (the chat's "yes", MCP): the saved address and card */
    add(&w, "MUG", 1);
    assert_int_equal(eng_shop_checkout(&w, "k-saved-2", &r), 0);
    assert_int_equal(r.status, ENG_SHOP_OK);
    pay = json_object_object_get(r.order, "payment");
    assert_string_equal(json_object_get_string(json_object_object_get(pay, "status")), "paid");
    assert_string_equal(json_object_get_string(json_object_object_get(json_object_object_get(r.order, "address"),
                                                                      "name")), "Ann");
    eng_shop_result_clear(&r);
    assert_int_equal(eng_shop_payment_forget(&w, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_OK);
    eng_shop_result_clear(&r);
    assert_int_equal(eng_shop_payment_get(&w, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_NOT_FOUND);
    eng_shop_result_clear(&r);
    /* without a saved card an order without facts is refused: nothing
     * ordered, nothing taken from stock (no order ever goes unpaid) */
    add(&w, "MUG", 1);
    size_t before = orders_of(&w);
    int64_t mugs = stock_of("MUG");
    assert_int_equal(eng_shop_checkout(&w, "k-saved-3", &r), 0);
    assert_int_equal(r.status, ENG_SHOP_INVALID);
    assert_string_equal(r.field, "payment");
    assert_null(r.order);
    eng_shop_result_clear(&r);
    assert_int_equal(orders_of(&w), before);
    assert_int_equal(stock_of("MUG"), mugs);
    json_object_put(bad), json_object_put(declined), json_object_put(good), json_object_put(addr);
    json_object_put(use_saved);
    eng_pipeline_release(p);
}

/* A channel's own cart (ACP's checkout sessions): filled, priced and
 * ordered as the user's without touching the user's cart, paid with a
 * token the provider made for a delegated card; the address checked
 * before any order. */
static void test_channel_cart_and_token(void **state)
{
    (void)state;
    eng_pipeline *p = NULL;
    char msgs[2048];
    assert_int_equal(load("checkout:\n  payment: test\n  delivery:\n    - { id: std, name: Std, price: 3 }\n", &p,
                          msgs, sizeof msgs), 0);
    eng_shopper own = shopper("channel@example.com");
    own.pipe = p;
    add(&own, "LAMP", 1);
    eng_shopper w = own;
    w.cart_id = "anon:acp_session1";
    w.via = "acp";
    add(&w, "MUG", 3);
    eng_shop_result r;
    assert_int_equal(eng_shop_cart(&w, &r), 0);
    /* the kitchen rule sees this cart: 3 mugs for the price of 2 */
    assert_int_equal(cents(r.cart, "total"), 2000);
    assert_int_equal(json_object_array_length(json_object_object_get(r.cart, "items")), 1);
    eng_shop_result_clear(&r);
    size_t before = orders_of(&own);
    json_object *addr = address(), *forged = json_tokener_parse("{\"token\": \"tok_not_from_the_provider\"}");
    json_object *typed = json_tokener_parse("{\"token\": 42}");
    eng_checkout co = {.address = addr, .payment = typed, .require_payment = true};
    assert_int_equal(eng_shop_checkout_with(&w, "acp-s1", NULL, &co, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_INVALID);
    assert_string_equal(r.field, "payment.token");
    eng_shop_result_clear(&r);
    co.payment = forged;
    assert_int_equal(eng_shop_checkout_with(&w, "acp-s1", NULL, &co, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_PAYMENT);
    eng_shop_result_clear(&r);
    /* a token the provider made (its save), as the delegate handler keeps it */
    const eng_pay_provider *prov = eng_pay_find("test");
    eng_pay_req pr = {.idempotency_key = "s1", .currency = "USD", .card_number = "4242424242424242",
                      .exp_month = 12, .exp_year = 2040, .cvc = "123"};
    eng_pay_result saved = {0};
    assert_int_equal(prov->save(prov, &pr, &saved), 0);
    assert_true(saved.approved);
    json_object *tok = json_object_new_object();
    json_object_object_add(tok, "token", json_object_new_string(saved.token));
    json_object_object_add(tok, "brand", json_object_new_string("visa"));
    json_object_object_add(tok, "last4", json_object_new_string("4242"));
    co.payment = tok;
    assert_int_equal(eng_shop_checkout_with(&w, "acp-s1", NULL, &co, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_OK);
    assert_int_equal(cents(r.order, "total"), 2000 + 300);
    json_object *pay = json_object_object_get(r.order, "payment");
    assert_string_equal(json_object_get_string(json_object_object_get(pay, "last4")), "4242");
    eng_shop_result_clear(&r);
    /* the order is the user's; the user's own cart still holds its lamp */
    assert_int_equal(orders_of(&own), before + 1);
    assert_int_equal(eng_shop_cart(&own, &r), 0);
    json_object *items = json_object_object_get(r.cart, "items");
    assert_int_equal(json_object_array_length(items), 1);
    assert_string_equal(json_object_get_string(json_object_object_get(json_object_array_get_idx(items, 0), "sku")), "LAMP");
    eng_shop_result_clear(&r);
    assert_int_equal(eng_shop_cart(&w, &r), 0);
    assert_int_equal(json_object_array_length(json_object_object_get(r.cart, "items")), 0);
    eng_shop_result_clear(&r);
    /* the address, checked as a checkout checks it, nothing saved */
    assert_int_equal(eng_shop_address_check(addr, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_OK);
    assert_string_equal(json_object_get_string(json_object_object_get(r.info, "postalCode")), "62701");
    eng_shop_result_clear(&r);
    json_object_object_add(addr, "country", json_object_new_string("USA"));
    assert_int_equal(eng_shop_address_check(addr, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_INVALID);
    assert_string_equal(r.field, "address.country");
    assert_true(strlen(r.reason) > 5);
    eng_shop_result_clear(&r);
    assert_int_equal(eng_shop_address_get(&own, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_NOT_FOUND);
    eng_shop_result_clear(&r);
    assert_string_equal(eng_pipeline_currency(p), "USD");
    assert_string_equal(eng_pipeline_payment(p), "test");
    json_object_put(addr), json_object_put(forged), json_object_put(typed), json_object_put(tok);
    eng_pipeline_release(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cards),           cmocka_unit_test(test_settings_refused),
        cmocka_unit_test(test_address),         cmocka_unit_test(test_decline_then_retry),
        cmocka_unit_test(test_one_key_at_once), cmocka_unit_test(test_one_cart_two_keys),
        cmocka_unit_test(test_stock_refunds),   cmocka_unit_test(test_totals),
        cmocka_unit_test(test_saved_card),      cmocka_unit_test(test_channel_cart_and_token),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
