/* tests/unit/test_turn_products.c — the products a turn has read
 * (engine/turn_products.c) and store_product_copy (stores/product.c): a
 * copy owns every field; within one turn a product found comes back as
 * it was first read, the caller's copy is its own, a failed read is not
 * kept, eng__products_forget reads the store again, and the next turn
 * always reads the store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/commerce_int.h"
#include "shop_fixture.h"

static eng_pipeline *pipe_;
static eng_deps deps;

static const char pipeline_yaml[] =
    "pipeline: products\n"
    "intents:\n"
    "  hello: [hi, hello]\n"
    "stages:\n"
    "  - { id: nlu, type: classifier }\n"
    "  - { id: reply, type: formatter, templates: { hello: 'hi' } }\n";

static int setup(void **state)
{
    (void)state;
    fixture_open("tprod");
    char msgs[2048];
    int rc = fixture_load(pipeline_yaml, &pipe_, msgs, sizeof msgs);
    if (rc != 0)
        fprintf(stderr, "%s", msgs);
    deps.store = st;
    return rc;
}

static int teardown(void **state)
{
    (void)state;
    eng_pipeline_release(pipe_);
    return fixture_close();
}

static eng_turn *new_turn(void)
{
    static eng_turn_opts o;
    o = (eng_turn_opts){.session_id = "s1", .deps = &deps};
    eng_turn *t = NULL;
    assert_int_equal(eng__turn_new(pipe_, "hi", &o, &t, NULL), 0);
    return t;
}

static char *json_of(const store_product *p)
{
    char *js = NULL;
    assert_int_equal(store_product_to_json(p, &js, NULL), 0);
    return js;
}

static void test_copy_owns_every_field(void **state)
{
    (void)state;
    char *images[] = {"https://x/1.jpg", "https://x/2.jpg", "https://x/3.jpg"};
    char *media[] = {"/media/a.jpg", NULL, "/media/c.jpg"};
    char *tags[] = {"red", "wool"};
    store_product src = {.sku = "SKU-1", .title = "A scarf", .brand = "Knits", .category = "scarves",
                         .description = "Warm.", .thumbnail = "https://x/t.jpg", .images = images,
                         .n_images = 3, .tags = tags, .n_tags = 2, .price = 19.99, .discount_pct = 5,
                         .rating = 4.5, .stock = 7, .stock_untracked = 0, .price_missing = 0,
                         .thumbnail_media = "/media/t.jpg", .images_media = media,
                         .facts = "{\"warranty\":\"1 year\"}"};
    store_product d;
    assert_int_equal(store_product_copy(&d, &src), 0);
    char *a = json_of(&src), *b = json_of(&d);
    assert_string_equal(a, b);
    free(a);
    free(b);
    assert_ptr_not_equal(d.sku, src.sku);
    assert_ptr_not_equal(d.images, src.images);
    assert_ptr_not_equal(d.images[1], src.images[1]);
    assert_string_equal(d.thumbnail_media, "/media/t.jpg");
    assert_string_equal(d.images_media[0], "/media/a.jpg");
    assert_null(d.images_media[1]);
    assert_string_equal(d.images_media[2], "/media/c.jpg");
    assert_true(d.price == 19.99 && d.stock == 7 && d.n_tags == 2);
    store_product_clear(&d);   /* frees only the copy's (ASan: no double free) */
    /* NULL fields and lists stay NULL */
    store_product bare = {.sku = "B", .title = "Bare"}, bd;
    assert_int_equal(store_product_copy(&bd, &bare), 0);
    assert_null(bd.brand);
    assert_null(bd.images);
    assert_null(bd.images_media);
    assert_null(bd.facts);
    store_product_clear(&bd);
}

static void test_read_once_a_turn(void **state)
{
    (void)state;
    product("KEEP", "misc", 10, 5);
    eng_turn *t = new_turn();
    store_product p = {0};
    assert_int_equal(eng__product_get(t, "KEEP", &p, NULL), 0);
    assert_int_equal(p.stock, 5);
    /* the caller's copy is its own: changed and cleared, the kept one is not */
    free(p.title);
    p.title = strdup("changed");
    store_product_clear(&p);
    /* another writer changes it: this turn keeps what it read */
    product("KEEP", "misc", 12, 3);
    assert_int_equal(stock_of("KEEP"), 3);
    assert_int_equal(eng__product_get(t, "KEEP", &p, NULL), 0);
    assert_int_equal(p.stock, 5);
    assert_string_equal(p.title, "KEEP");
    assert_true(p.price == 10);
    store_product_clear(&p);
    /* after a write of its own that changes products, it reads again */
    eng__products_forget(t);
    assert_int_equal(eng__product_get(t, "KEEP", &p, NULL), 0);
    assert_int_equal(p.stock, 3);
    store_product_clear(&p);
    eng_turn_free(t);
    /* the next turn reads the store */
    product("KEEP", "misc", 12, 2);
    t = new_turn();
    assert_int_equal(eng__product_get(t, "KEEP", &p, NULL), 0);
    assert_int_equal(p.stock, 2);
    store_product_clear(&p);
    eng_turn_free(t);
}

static void test_missing_not_kept_and_many(void **state)
{
    (void)state;
    eng_turn *t = new_turn();
    store_product p = {0};
    store_err e = {0};
    assert_int_equal(eng__product_get(t, "LATER", &p, &e), STORE_ENOTFOUND);
    product("LATER", "misc", 1, 1);
    assert_int_equal(eng__product_get(t, "LATER", &p, NULL), 0);
    store_product_clear(&p);
    /* more products than are kept: each still right, read or kept */
    char sku[32];
    for (int i = 0; i < 12; i++) {
        snprintf(sku, sizeof sku, "MANY-%d", i);
        product(sku, "misc", i, i + 1);
    }
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 12; i++) {
            snprintf(sku, sizeof sku, "MANY-%d", i);
            assert_int_equal(eng__product_get(t, sku, &p, NULL), 0);
            assert_string_equal(p.sku, sku);
            assert_int_equal(p.stock, i + 1);
            store_product_clear(&p);
        }
    eng_turn_free(t);
}

int main(void)
{
    (void)write_file;   /* the fixture's, not needed here */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_owns_every_field),
        cmocka_unit_test(test_read_once_a_turn),
        cmocka_unit_test(test_missing_not_kept_and_many),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
