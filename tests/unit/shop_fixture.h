/* tests/unit/shop_fixture.h — what the commerce tests share: a temporary
 * folder with a real SQLite store (both families), files written into it
 * (rules, pipelines), products, and stock read back.  Include once, in
 * a test file that uses `dir` and `st`. */
#ifndef AISLE_TEST_SHOP_FIXTURE_H
#define AISLE_TEST_SHOP_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/eng.h"
#include "stores/store.h"

static char dir[64];
static store *st;

/* a fresh folder /tmp/aisle-<tag>-XXXXXX with <tag>.db open in st */
static void fixture_open(const char *tag)
{
    snprintf(dir, sizeof dir, "/tmp/aisle-%s-XXXXXX", tag);
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/%s.db", dir, tag);
    store_config cfg;
    store_config_init(&cfg);
    cfg.sqlite_path = path;
    cfg.redis_url = NULL, cfg.mongo_uri = NULL;
    cfg.documents = cfg.ephemeral = STORE_BACKEND_SQLITE;
    store_err err = {0};
    assert_int_equal(store_open(&cfg, &st, &err), 0);
}

/* close the store and remove the folder: 0 or -1 (a teardown's answer) */
static int fixture_close(void)
{
    store_close(st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *name, const char *text)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void product(const char *sku, const char *cat, double price, int64_t stock)
{
    store_product p = {.sku = (char *)sku, .title = (char *)sku, .category = (char *)cat, .price = price,
                       .stock = stock};
    store_err e = {0};
    assert_int_equal(store_product_upsert(st, &p, &e), 0);
}

static int64_t stock_of(const char *sku)
{
    store_product p = {0};
    assert_int_equal(store_product_get(st, sku, &p, NULL), 0);
    int64_t n = p.stock;
    store_product_clear(&p);
    return n;
}

/* Load the pipeline `yaml` (named shop.yaml, files from `dir`) into
 * *out; returns the loader's rc, its diagnostics in msgs[0..n). */
static int fixture_load(const char *yaml, eng_pipeline **out, char *msgs, size_t n)
{
    eng_diags d;
    eng_diags_init(&d);
    int rc = eng_pipeline_load_buffer("shop.yaml", yaml, strlen(yaml), dir, out, &d);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f) {
        eng_diags_print(&d, f);
        fclose(f);
    }
    snprintf(msgs, n, "%s", buf ? buf : "");
    free(buf);
    eng_diags_free(&d);
    return rc;
}

#endif
