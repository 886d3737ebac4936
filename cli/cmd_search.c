/* cli/cmd_search.c — `aisle search --db FILE QUERY` prints ranked products;
 * `--queries FILE --limit N --json` runs one query per line and prints one
 * JSON line each: {"query", "corrected", "total", "results":[{sku, title,
 * score}]}.  Filters: --category --brand --min-price --max-price
 * --in-stock --min-rating --sort relevance|price-asc|price-desc|rating. */
#include "cli.h"
#include "stores/store.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(void)
{
    fprintf(stderr,
            "usage: aisle search [--db FILE] [--limit N] [--json] [--facets]\n"
            "                    [--category C] [--brand B] [--min-price X]"
            " [--max-price X]\n"
            "                    [--in-stock] [--min-rating R] [--sort S]"
            " [--synonyms FILE] [--plain]\n"
            "                    QUERY | --queries FILE\n");
}

static int one(store *st, store_search_query *q, int json)
{
    store_search_result r;
    store_err err = {0};
    int rc = store_search(st, q, &r, &err);
    if (rc) {
        fprintf(stderr, "aisle search: %s\n", err.msg);
        return 1;
    }
    if (json) {
        json_object *o = json_object_new_object(), *a = json_object_new_array();
        json_object_object_add(o, "query", json_object_new_string(q->text ? q->text : ""));
        if (r.corrected)
            json_object_object_add(o, "corrected", json_object_new_string(r.corrected));
        json_object_object_add(o, "total", json_object_new_int64(r.total));
        for (size_t i = 0; i < r.n_hits; i++) {
            json_object *h = json_object_new_object();
            json_object_object_add(h, "sku", json_object_new_string(r.hits[i].product.sku));
            json_object_object_add(h, "title", json_object_new_string(r.hits[i].product.title));
            json_object_object_add(h, "score", json_object_new_double(r.hits[i].score));
            json_object_array_add(a, h);
        }
        json_object_object_add(o, "results", a);
        if (r.n_categories || r.n_brands || r.n_prices) {
            json_object *f = json_object_new_object();
            struct { const char *k; store_facet *v; size_t n; } fs[] = {
                {"category", r.categories, r.n_categories},
                {"brand", r.brands, r.n_brands}, {"price", r.prices, r.n_prices}};
            for (int k = 0; k < 3; k++) {
                json_object *fo = json_object_new_object();
                for (size_t i = 0; i < fs[k].n; i++)
                    json_object_object_add(fo, fs[k].v[i].value,
                                           json_object_new_int64(fs[k].v[i].count));
                json_object_object_add(f, fs[k].k, fo);
            }
            json_object_object_add(o, "facets", f);
        }
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
    } else {
        if (r.corrected)
            printf("showing results for: %s\n", r.corrected);
        printf("%lld matches\n", (long long)r.total);
        for (size_t i = 0; i < r.n_hits; i++) {
            const store_product *p = &r.hits[i].product;
            char price[32];
            /* as the shop shows them: no price is "on request", stock
             * that is not kept is never "out of stock" */
            if (p->price_missing)
                snprintf(price, sizeof price, "%s", "on request");
            else
                snprintf(price, sizeof price, "%.2f", p->price);
            printf("%3zu. %-16s %10s  %-60.60s %s%s\n", q->offset + i + 1,
                   p->sku, price, p->title, p->brand ? p->brand : "",
                   p->stock_untracked || p->stock > 0 ? "" : " (out of stock)");
        }
        for (size_t i = 0; i < r.n_categories; i++)
            printf("%s category %s (%lld)", i ? "" : "facets:\n", r.categories[i].value,
                   (long long)r.categories[i].count);
        if (r.n_categories)
            printf("\n");
    }
    store_search_result_free(&r);
    return 0;
}

int cli_search(int argc, char **argv)
{
    const char *db = NULL, *queries = NULL, *text = NULL, *syn = NULL;
    store_search_query q;
    store_config cfg;
    store *st;
    int json = 0, rc = 0;

    store_search_query_init(&q);
    q.limit = 10;
    if (cli_wants_help(argc, argv)) {
        usage();
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--db") && v) db = argv[++i];
        else if (!strcmp(a, "--queries") && v) queries = argv[++i];
        else if (!strcmp(a, "--limit") && v) q.limit = (int)strtol(argv[++i], NULL, 10);
        else if (!strcmp(a, "--offset") && v) q.offset = (int)strtol(argv[++i], NULL, 10);
        else if (!strcmp(a, "--category") && v) q.category = argv[++i];
        else if (!strcmp(a, "--brand") && v) q.brand = argv[++i];
        else if (!strcmp(a, "--min-price") && v) q.price_min = strtod(argv[++i], NULL);
        else if (!strcmp(a, "--max-price") && v) q.price_max = strtod(argv[++i], NULL);
        else if (!strcmp(a, "--min-rating") && v) q.min_rating = strtod(argv[++i], NULL);
        else if (!strcmp(a, "--synonyms") && v) syn = argv[++i];
        else if (!strcmp(a, "--in-stock")) q.in_stock = 1;
        else if (!strcmp(a, "--json")) json = 1;
        else if (!strcmp(a, "--facets")) q.flags |= STORE_SEARCH_FACETS;
        else if (!strcmp(a, "--plain")) q.flags |= STORE_SEARCH_PLAIN;
        else if (!strcmp(a, "--sort") && v) {
            v = argv[++i];
            q.sort = !strcmp(v, "price-asc") ? STORE_SORT_PRICE_ASC
                   : !strcmp(v, "price-desc") ? STORE_SORT_PRICE_DESC
                   : !strcmp(v, "rating") ? STORE_SORT_RATING : STORE_SORT_RELEVANCE;
        } else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "aisle search: unknown option %s\n", a);
            usage();
            return 2;
        } else if (!text) text = a;
        else {
            usage();
            return 2;
        }
    }
    if ((!text && !queries) || q.limit < 1 || q.limit > 200) {
        usage();
        return 2;
    }
    cli_store_config(&cfg, db);
    cfg.synonyms_path = syn;
    if (cli_store_open("aisle search", &cfg, &st))
        return 1;
    if (queries) {
        FILE *f = fopen(queries, "r");
        char line[4096];
        if (!f) {
            fprintf(stderr, "aisle search: cannot read %s\n", queries);
            store_close(st);
            return 1;
        }
        while (fgets(line, sizeof line, f) && !rc) {
            line[strcspn(line, "\r\n")] = '\0';
            if (!*line)
                continue;
            q.text = line;
            rc = one(st, &q, json);
        }
        fclose(f);
    } else {
        q.text = text;
        rc = one(st, &q, json);
    }
    store_close(st);
    return rc;
}
