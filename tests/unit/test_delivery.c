/* tests/unit/test_delivery.c — where the delivery options go (issue #11,
 * money): the settings' `countries` checked at load with file:line:column,
 * the one choice every channel makes (eng__delivery_choose: the option
 * asked for where it goes, never another one's price; a country no option
 * goes to refused with its name), and the shop calls on a real SQLite
 * store: the address refused before it is saved, the options listed for a
 * country, and orders abroad charged the international price or refused
 * with nothing ordered.  Also: the shipped commerce.yaml states what
 * knowledge/shop.md does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/checkout_int.h"
#include "stores/store.h"
#include "shop_fixture.h"

static eng_pipeline *pipe_;

static const char head[] =
    "pipeline: shop\n"
    "intents:\n"
    "  view_cart: [show my cart, what is in my cart]\n"
    "stages:\n"
    "  - { id: nlu, type: classifier }\n"
    "  - { id: reply, type: formatter, templates: { view_cart: 'ok' } }\n";

/* as the shipped settings, shorter: the US at home, three countries abroad */
static const char settings[] =
    "checkout:\n"
    "  delivery:\n"
    "    - { id: standard, name: Standard delivery, days: 3-5 days, price: 4.90, free_over: 50, countries: [US] }\n"
    "    - { id: express, name: Express delivery, days: 1-2 days, price: 9.90, countries: [US] }\n"
    "    - { id: international, name: International delivery, days: 7-14 days, price: 19.90, free_over: 150,\n"
    "        countries: [CA, GB, PT] }\n";

static int load(const char *tail, eng_pipeline **out, char *msgs, size_t n)
{
    char y[4096];
    snprintf(y, sizeof y, "%s%s", head, tail);
    return fixture_load(y, out, msgs, n);
}

static int setup(void **state)
{
    (void)state;
    fixture_open("delivery");
    product("MUG", "kitchen", 10, 1000);
    product("SOFA", "furniture", 200, 10);
    char msgs[2048];
    int rc = load(settings, &pipe_, msgs, sizeof msgs);
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

static json_object *address_in(const char *country)
{
    json_object *a = json_tokener_parse("{\"name\":\"Ana Silva\",\"line1\":\"12 Rua Augusta\",\"city\":\"Lisboa\","
                                        "\"postalCode\":\"1100-048\"}");
    json_object_object_add(a, "country", json_object_new_string(country));
    return a;
}

static json_object *card(void)
{
    return json_tokener_parse("{\"cardNumber\":\"4242 4242 4242 4242\",\"expiry\":\"12/40\",\"cvc\":\"123\"}");
}

static void add(eng_shopper *w, const char *sku, int64_t qty)
{
    eng_shop_result r;
    assert_int_equal(eng_shop_cart_add(w, sku, qty, NULL, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_OK);
    eng_shop_result_clear(&r);
}

static long cents(json_object *o, const char *key)
{
    json_object *v = json_object_object_get(o, key);
    return v ? lround(json_object_get_double(v) * 100) : -1;
}

static size_t orders_of(eng_shopper *w)
{
    eng_shop_result r;
    eng_shop_orders(w, 0, &r);
    size_t n = json_object_array_length(json_object_object_get(r.order, "items"));
    eng_shop_result_clear(&r);
    return n;
}

/* ---------------------------------------------------------------- tests */
static void test_settings_refused(void **state)
{
    (void)state;
    static const struct {
        const char *yaml, *want;
    } bad[] = {
        /* the position of the code itself: line 9 (after 6 head lines), its column */
        {"checkout:\n  delivery:\n    - { id: a, name: A, price: 1, countries: [US, XX] }\n",
         "shop.yaml:9:51: error: \"XX\" is not a country code"},
        {"checkout:\n  delivery:\n    - { id: a, name: A, price: 1, countries: [pt] }\n", "\"pt\" is not a country code"},
        {"checkout:\n  delivery:\n    - { id: a, name: A, price: 1, countries: [UK] }\n", "the United Kingdom is GB"},
        {"checkout:\n  delivery:\n    - { id: a, name: A, price: 1, countries: [PRT] }\n", "\"PRT\" is not a country code"},
        {"checkout:\n  delivery:\n    - { id: a, name: A, price: 1, countries: [US, US] }\n", "country US is listed twice"},
        {"checkout:\n  delivery:\n    - { id: a, name: A, price: 1, countries: [] }\n", "leave it out"},
        {"checkout:\n  delivery:\n    - { id: a, name: A, price: 1, countries: US }\n", "must be a list"},
        {"checkout:\n  delivery:\n    - { id: a, name: A, price: 1, regions: [US] }\n",
         "unknown delivery option key \"regions\""},
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

/* choose `id` for `country`: the option's id, or "!field: reason" */
static const char *choose(const char *country, const char *id, char *buf, size_t n)
{
    const eng_delivery_opt *o = NULL;
    char field[64], why[300];
    if (eng__delivery_choose(eng__checkout_cfg(pipe_), country, id, &o, field, sizeof field, why, sizeof why) < 0) {
        assert_null(o);
        snprintf(buf, n, "!%s: %s", field, why);
    } else {
        snprintf(buf, n, "%s", o ? o->id : "(none)");
    }
    return buf;
}

static void test_choose(void **state)
{
    (void)state;
    char b[400];
    assert_string_equal(choose("US", NULL, b, sizeof b), "standard");
    assert_string_equal(choose("us", "express", b, sizeof b), "express");
    assert_string_equal(choose("PT", NULL, b, sizeof b), "international");
    assert_string_equal(choose("GB", NULL, b, sizeof b), "international");
    assert_string_equal(choose("UK", NULL, b, sizeof b), "international");   /* as people write it */
    assert_string_equal(choose(NULL, NULL, b, sizeof b), "standard");        /* not known yet */
    assert_string_equal(choose("PT", "international", b, sizeof b), "international");
    /* never another option's price */
    assert_string_equal(choose("PT", "express", b, sizeof b),
                        "!delivery: Express delivery does not deliver to Portugal (International delivery does)");
    assert_string_equal(choose("US", "international", b, sizeof b),
                        "!delivery: International delivery does not deliver to the United States "
                        "(Standard delivery and Express delivery do)");
    assert_string_equal(choose("AU", NULL, b, sizeof b),
                        "!address.country: we can't deliver to Australia yet (we deliver to the United States, "
                        "Canada, the United Kingdom and Portugal)");
    char b2[400];
    assert_string_equal(choose("AU", "standard", b, sizeof b), choose("AU", NULL, b2, sizeof b2));
    assert_non_null(strstr(choose("XX", NULL, b, sizeof b), "!address.country: we can't deliver to \"XX\""));
    assert_string_equal(choose("PT", "teleport", b, sizeof b),
                        "!delivery: there is no delivery option \"teleport\"; choose one of: international");
    /* the options there */
    const eng_delivery_opt *there[8];
    const eng_checkout_cfg *c = eng__checkout_cfg(pipe_);
    assert_int_equal(eng__delivery_for(c, "US", there, 8), 2);
    assert_int_equal(eng__delivery_for(c, "PT", there, 8), 1);
    assert_string_equal(there[0]->id, "international");
    assert_int_equal(eng__delivery_for(c, "AU", there, 8), 0);
    assert_int_equal(eng__delivery_for(c, NULL, there, 8), 3);
    /* a shop without options delivers anywhere, at no price */
    const eng_delivery_opt *o = (const eng_delivery_opt *)1;
    char f[64], w[300];
    assert_int_equal(eng__delivery_choose(eng__checkout_cfg(NULL), "AU", NULL, &o, f, sizeof f, w, sizeof w), 0);
    assert_null(o);
    assert_int_equal(eng__delivery_choose(eng__checkout_cfg(NULL), "AU", "express", &o, f, sizeof f, w, sizeof w), -1);
    assert_string_equal(f, "delivery");
}

static void test_country_names(void **state)
{
    (void)state;
    char c[3];
    assert_true(eng__country_norm("pt", c));
    assert_string_equal(c, "PT");
    assert_true(eng__country_norm("uk", c));
    assert_string_equal(c, "GB");
    assert_false(eng__country_norm("XX", c));
    assert_false(eng__country_norm("USA", c));
    assert_false(eng__country_norm("", c));
    assert_false(eng__country_norm(NULL, c));
    assert_string_equal(eng__country_name("AU"), "Australia");
    assert_string_equal(eng__country_name("gb"), "the United Kingdom");
    assert_string_equal(eng__country_name("DE"), "Germany");
    assert_null(eng__country_name("ZZ"));
    assert_true(eng__country_in_eu("PT"));
    assert_false(eng__country_in_eu("GB"));
    assert_int_equal(eng__country_eu_count(), 27);
}

static void test_address_refused(void **state)
{
    (void)state;
    eng_shopper w = shopper("mia@example.com");
    eng_shop_result r;
    json_object *a = address_in("AU");
    assert_int_equal(eng_shop_address_set(&w, a, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_INVALID);
    assert_string_equal(r.field, "address.country");
    assert_non_null(strstr(r.reason, "we can't deliver to Australia yet"));
    eng_shop_result_clear(&r);
    json_object_put(a);
    assert_int_equal(eng_shop_address_get(&w, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_NOT_FOUND);   /* nothing saved */
    eng_shop_result_clear(&r);
    a = address_in("pt");
    assert_int_equal(eng_shop_address_set(&w, a, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_OK);
    eng_shop_result_clear(&r);
    json_object_put(a);
}

static void test_options_listed(void **state)
{
    (void)state;
    eng_shopper w = shopper("list@example.com");
    add(&w, "MUG", 2);   /* 20 */
    eng_shop_result r;
    assert_int_equal(eng_shop_delivery_to(&w, "pt", NULL, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_OK);
    json_object *items = json_object_object_get(r.info, "items");
    assert_int_equal(json_object_array_length(items), 1);
    json_object *intl = json_object_array_get_idx(items, 0);
    assert_string_equal(json_object_get_string(json_object_object_get(intl, "id")), "international");
    assert_int_equal(cents(intl, "price"), 1990);
    assert_int_equal(json_object_array_length(json_object_object_get(intl, "countries")), 3);
    assert_string_equal(json_object_get_string(json_object_object_get(r.info, "country")), "PT");
    assert_int_equal(cents(json_object_object_get(r.info, "chosen"), "price"), 1990);
    eng_shop_result_clear(&r);
    /* express to Portugal: refused, never priced as another option */
    assert_int_equal(eng_shop_delivery_to(&w, "PT", "express", &r), 0);
    assert_null(json_object_object_get(r.info, "chosen"));
    assert_string_equal(json_object_get_string(json_object_object_get(json_object_object_get(r.info, "refused"),
                                                                      "field")), "delivery");
    eng_shop_result_clear(&r);
    assert_int_equal(eng_shop_delivery_to(&w, "AU", NULL, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_OK);
    assert_int_equal(json_object_array_length(json_object_object_get(r.info, "items")), 0);
    assert_null(json_object_object_get(r.info, "chosen"));
    assert_string_equal(json_object_get_string(json_object_object_get(json_object_object_get(r.info, "refused"),
                                                                      "field")), "address.country");
    eng_shop_result_clear(&r);
    /* without a country: all of them, each with where it goes */
    assert_int_equal(eng_shop_delivery_options(&w, &r), 0);
    items = json_object_object_get(r.info, "items");
    assert_int_equal(json_object_array_length(items), 3);
    assert_int_equal(json_object_array_length(json_object_object_get(json_object_array_get_idx(items, 0), "countries")), 1);
    eng_shop_result_clear(&r);
}

static void test_orders_abroad(void **state)
{
    (void)state;
    eng_shopper w = shopper("ana@example.com");
    add(&w, "MUG", 2);   /* 20 */
    json_object *c = card(), *pt = address_in("PT"), *au = address_in("AU");
    eng_shop_result r;
    /* Australia: refused, nothing ordered or charged */
    eng_checkout co = {.address = au, .payment = c, .require_payment = true};
    assert_int_equal(eng_shop_checkout_with(&w, "k-au", NULL, &co, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_INVALID);
    assert_string_equal(r.field, "address.country");
    assert_non_null(strstr(r.reason, "we can't deliver to Australia yet"));
    eng_shop_result_clear(&r);
    /* express to Portugal: refused, not charged at express's price nor another's */
    co.address = pt;
    co.delivery = "express";
    assert_int_equal(eng_shop_checkout_with(&w, "k-pt-express", NULL, &co, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_INVALID);
    assert_string_equal(r.field, "delivery");
    assert_string_equal(r.reason, "Express delivery does not deliver to Portugal (International delivery does)");
    eng_shop_result_clear(&r);
    assert_int_equal(orders_of(&w), 0);
    /* Portugal, no option named: international at its own price */
    co.delivery = NULL;
    assert_int_equal(eng_shop_checkout_with(&w, "k-pt", NULL, &co, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_OK);
    json_object *d = json_object_object_get(r.order, "delivery");
    assert_string_equal(json_object_get_string(json_object_object_get(d, "id")), "international");
    assert_int_equal(cents(d, "price"), 1990);
    assert_int_equal(cents(r.order, "total"), 2000 + 1990);
    eng_shop_result_clear(&r);
    /* free from its own threshold (150), not standard's (50) */
    add(&w, "MUG", 6);   /* 60: standard would be free, international is not */
    assert_int_equal(eng_shop_checkout_with(&w, "k-pt-60", NULL, &co, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_OK);
    assert_int_equal(cents(json_object_object_get(r.order, "delivery"), "price"), 1990);
    eng_shop_result_clear(&r);
    add(&w, "SOFA", 1);  /* 200 */
    assert_int_equal(eng_shop_checkout_with(&w, "k-pt-200", NULL, &co, &r), 0);
    assert_int_equal(r.status, ENG_SHOP_OK);
    assert_int_equal(cents(json_object_object_get(r.order, "delivery"), "price"), 0);
    assert_int_equal(cents(r.order, "total"), 20000);
    eng_shop_result_clear(&r);
    assert_int_equal(orders_of(&w), 3);
    json_object_put(c), json_object_put(pt), json_object_put(au);
}

/* The shipped settings say what knowledge/shop.md says ("Shipping options"
 * and "Shipping regions"): a change to one without the other fails here. */
static void test_shipped_settings(void **state)
{
    (void)state;
    eng_pipeline *p = NULL;
    eng_diags d;
    eng_diags_init(&d);
    int rc = eng_pipeline_load("pipelines/commerce.yaml", &p, &d);
    if (rc != 0)
        eng_diags_print(&d, stderr);
    eng_diags_free(&d);
    assert_int_equal(rc, 0);
    const eng_checkout_cfg *c = eng__checkout_cfg(p);
    const eng_delivery_opt *o = NULL;
    char f[64], w[300];
    static const struct {
        const char *country, *id;
        long price, free_over;
        const char *days;
    } want[] = {
        {"US", "standard", 490, 5000, "3-5 business days"},
        {"CA", "international", 1990, 15000, "7-14 business days"},
        {"GB", "international", 1990, 15000, "7-14 business days"},
        {"DE", "international", 1990, 15000, "7-14 business days"},
        {"FR", "international", 1990, 15000, "7-14 business days"},
        {"IT", "international", 1990, 15000, "7-14 business days"},
        {"ES", "international", 1990, 15000, "7-14 business days"},
        {"PT", "international", 1990, 15000, "7-14 business days"},
        {"IE", "international", 1990, 15000, "7-14 business days"},
        {"NL", "international", 1990, 15000, "7-14 business days"},
        {"PL", "international", 1990, 15000, "7-14 business days"},
        {"SE", "international", 1990, 15000, "7-14 business days"},
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        assert_int_equal(eng__delivery_choose(c, want[i].country, NULL, &o, f, sizeof f, w, sizeof w), 0);
        assert_string_equal(o->id, want[i].id);
        assert_int_equal(o->price_cents, want[i].price);
        assert_int_equal(o->free_over_cents, want[i].free_over);
        assert_string_equal(o->days, want[i].days);
    }
    assert_int_equal(eng__delivery_choose(c, "US", "express", &o, f, sizeof f, w, sizeof w), 0);
    assert_int_equal(o->price_cents, 990);
    assert_string_equal(o->days, "1-2 business days");
    /* every EU member, and nothing else abroad but Canada and the UK */
    const eng_delivery_opt *there[8];
    size_t served = 0;
    for (char a = 'A'; a <= 'Z'; a++)
        for (char b = 'A'; b <= 'Z'; b++) {
            char cc[3] = {a, b, 0};
            if (strcmp(cc, "UK") == 0 || !eng__country_name(cc) || eng__delivery_for(c, cc, there, 8) == 0)
                continue;
            served++;
            assert_true(strcmp(cc, "US") == 0 || strcmp(cc, "CA") == 0 || strcmp(cc, "GB") == 0 ||
                        eng__country_in_eu(cc));
        }
    assert_int_equal(served, 3 + eng__country_eu_count());
    /* "we cannot send parcels to Australia, Asia, Africa or South America" */
    static const char *const not_served[] = {"AU", "NZ", "JP", "CN", "IN", "BR", "AR", "ZA", "NG", "MX", "CH", "NO"};
    for (size_t i = 0; i < sizeof not_served / sizeof *not_served; i++) {
        assert_int_equal(eng__delivery_choose(c, not_served[i], NULL, &o, f, sizeof f, w, sizeof w), -1);
        assert_string_equal(f, "address.country");
    }
    assert_non_null(strstr(w, "(we deliver to the United States, Canada, the United Kingdom and the European Union)"));
    eng_pipeline_release(p);
}

int main(void)
{
    (void)write_file, (void)stock_of;   /* the fixture's, unused here */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_settings_refused), cmocka_unit_test(test_choose),
        cmocka_unit_test(test_country_names),    cmocka_unit_test(test_address_refused),
        cmocka_unit_test(test_options_listed),   cmocka_unit_test(test_orders_abroad),
        cmocka_unit_test(test_shipped_settings),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
