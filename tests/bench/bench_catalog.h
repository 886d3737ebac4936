/* tests/bench/bench_catalog.h — what the in-process benchmarks share: a
 * store holding a catalog, so that the agents really search. */
#ifndef AISLE_BENCH_CATALOG_H
#define AISLE_BENCH_CATALOG_H

#include "engine/eng.h"
#include "stores/store.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A temporary SQLite store with the catalog, so that agents really search. */
/* CATALOG.json is imported into a temporary file; CATALOG.db is an
 * existing SQLite store used as it is (a large imported catalog). */
static store *bench_open_store(const char *catalog, char *path, size_t n)
{
    store_config cfg;
    store_config_init(&cfg);
    store *s = NULL;
    store_err err = {0};
    size_t cl = strlen(catalog);
    if (cl > 3 && strcmp(catalog + cl - 3, ".db") == 0) {
        cfg.sqlite_path = catalog;
        if (store_open(&cfg, &s, &err) < 0) {
            fprintf(stderr, "bench: cannot open %s: %s\n", catalog, err.msg);
            exit(1);
        }
        return s;   /* path stays "": nothing to remove */
    }
    snprintf(path, n, "/tmp/aisle-bench-%d.db", (int)getpid());
    cfg.sqlite_path = path;
    json_object *root = json_object_from_file(catalog), *list;
    if (!root || store_open(&cfg, &s, &err) < 0) {
        fprintf(stderr, "bench: cannot open a store with %s: %s\n", catalog, err.msg);
        exit(1);
    }
    list = json_object_is_type(root, json_type_array) ? root : json_object_object_get(root, "products");
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        store_product p = {0};
        if (store_product_from_json(json_object_to_json_string(json_object_array_get_idx(list, i)), &p, NULL) == 0)
            store_product_upsert(s, &p, NULL);
        store_product_clear(&p);
    }
    json_object_put(root);
    return s;
}

#endif
