/* tests/unit/sqlite_store.h — what unit tests that need a real store
 * share: a private SQLite store (whatever the environment says about
 * Redis or MongoDB) and the sample catalog imported into it.  Include
 * after <cmocka.h>, "stores/store.h" and <json-c/json.h>. */
#ifndef AISLE_TEST_SQLITE_STORE_H
#define AISLE_TEST_SQLITE_STORE_H

/* a store in the SQLite file at path, both families; asserts it opens */
static inline store *test_sqlite_store(const char *path)
{
    store_config cfg;
    store_config_init(&cfg);
    cfg.sqlite_path = path;
    cfg.redis_url = NULL, cfg.mongo_uri = NULL;
    cfg.documents = cfg.ephemeral = STORE_BACKEND_SQLITE;
    store *s = NULL;
    store_err err = {0};
    assert_int_equal(store_open(&cfg, &s, &err), 0);
    return s;
}

/* every product of a catalog in DummyJSON's shape (a JSON array, such as
 * the repository's examples/catalog/products.json, read from the root
 * where the tests run) into s; asserts each one loads */
static inline void test_import_catalog(store *s, const char *file)
{
    store_err err = {0};
    json_object *arr = json_object_from_file(file);
    assert_non_null(arr);
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        store_product p;
        const char *t = json_object_to_json_string(json_object_array_get_idx(arr, i));
        assert_int_equal(store_product_from_json(t, &p, &err), 0);
        assert_int_equal(store_product_upsert(s, &p, &err), 0);
        store_product_clear(&p);
    }
    json_object_put(arr);
}

#endif
