/* cli/cmd_rules.c — `aisle rules dry-run FILE.lua`: what a rules file
 * would change (prices, ranking, cart discounts, vetoes) over a catalog
 * and sample carts, printed for a merchandiser before the file goes live.
 * The work is eng_rules_dry_run; this file wires stores and prints. */
#include "cli.h"
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char help[] =
    "usage: aisle rules dry-run FILE.lua [--db DB] [--catalog products.json]\n"
    "                           [--carts carts.json] [--query TEXT]... [--memory JSON] [--json]\n\n"
    "Runs a Lua rules file over the whole catalog and sample carts and prints\n"
    "what it would change, without saving anything:\n"
    "  prices    every product whose price changes: before -> after, rule id, reason\n"
    "  ranking   top 10 before/after the boosts for sample queries, and multipliers\n"
    "  carts     each sample cart's discounts and total\n"
    "  vetoes    which sample actions the on() hooks deny (e.g. cart.add of 11)\n"
    "Syntax errors are printed as FILE:LINE:COL and exit 1.\n"
    "  --db DB          read this store's catalog (default: a temporary store\n"
    "                   seeded from --catalog)\n"
    "  --catalog FILE   catalog to seed from (default examples/catalog/products.json)\n"
    "  --carts FILE     sample carts (default examples/catalog/carts.json when present)\n"
    "  --query TEXT     a sample search query (repeatable; default a few)\n"
    "  --memory JSON    the shopper memory rules see, e.g. '{\"preferences\":{\"brand\":\"Nike\"}}'\n"
    "  --json           print the whole report as JSON\n";

static const char *js(json_object *o, const char *k)
{
    json_object *v;
    return json_object_object_get_ex(o, k, &v) && v ? json_object_get_string(v) : "";
}

static double jd(json_object *o, const char *k) { return json_object_get_double(json_object_object_get(o, k)); }

static void print_report(json_object *r)
{
    json_object *prices = json_object_object_get(r, "prices");
    size_t np = json_object_array_length(prices);
    printf("%s over %lld products\n\nprices: %zu change%s\n", js(r, "file"),
           (long long)json_object_get_int64(json_object_object_get(r, "products")), np, np == 1 ? "" : "s");
    for (size_t i = 0; i < np; i++) {
        json_object *p = json_object_array_get_idx(prices, i);
        printf("  %-18s %-34.34s %9.2f -> %9.2f", js(p, "sku"), js(p, "title"), jd(p, "before"), jd(p, "after"));
        json_object *rules = json_object_object_get(p, "rules");
        for (size_t k = 0; k < json_object_array_length(rules); k++) {
            json_object *x = json_object_array_get_idx(rules, k);
            printf("  %s v%s: %s", js(x, "id"), js(x, "version"), js(x, "reason"));
        }
        printf("\n");
    }
    json_object *rank = json_object_object_get(r, "ranking");
    printf("\nranking:\n");
    for (size_t i = 0; i < json_object_array_length(rank); i++) {
        json_object *q = json_object_array_get_idx(rank, i);
        json_object *b = json_object_object_get(q, "before"), *a = json_object_object_get(q, "after");
        json_object *boosts = json_object_object_get(q, "boosts");
        bool same = json_object_equal(a, b);
        printf("  %s \"%s\": %zu boosted%s\n", js(q, "hook"), js(q, "query"), json_object_array_length(boosts),
               same ? ", top 10 unchanged" : "");
        if (!same)
            for (size_t k = 0; k < json_object_array_length(a); k++)
                printf("    %2zu. %-18s (was %s)\n", k + 1, json_object_get_string(json_object_array_get_idx(a, k)),
                       k < json_object_array_length(b) ? json_object_get_string(json_object_array_get_idx(b, k)) : "-");
        for (size_t k = 0; k < json_object_array_length(boosts) && k < 10; k++) {
            json_object *x = json_object_array_get_idx(boosts, k);
            printf("    x%.2f %s\n", jd(x, "multiplier"), js(x, "sku"));
        }
    }
    json_object *carts = json_object_object_get(r, "carts");
    printf("\ncarts: %zu sample%s\n", json_object_array_length(carts), json_object_array_length(carts) == 1 ? "" : "s");
    for (size_t i = 0; i < json_object_array_length(carts); i++) {
        json_object *c = json_object_array_get_idx(carts, i);
        printf("  cart %-4s %3lld items  %10.2f -> %10.2f", js(c, "id"),
               (long long)json_object_get_int64(json_object_object_get(c, "count")), jd(c, "before"), jd(c, "total"));
        json_object *ds = json_object_object_get(c, "discounts");
        for (size_t k = 0; k < json_object_array_length(ds); k++) {
            json_object *d = json_object_array_get_idx(ds, k);
            printf("  -%.2f %s (%s)", jd(d, "amount"), js(d, "id"), js(d, "reason"));
        }
        if (json_object_object_get(c, "promoDenied"))
            printf("  code refused: %s", js(c, "promoDenied"));
        printf("\n");
    }
    json_object *v = json_object_object_get(r, "vetoes");
    size_t denied = 0;
    for (size_t i = 0; i < json_object_array_length(v); i++)
        denied += json_object_object_get(json_object_array_get_idx(v, i), "denied") != NULL;
    printf("\nvetoes: %zu of %zu sample actions denied\n", denied, json_object_array_length(v));
    for (size_t i = 0; i < json_object_array_length(v); i++) {
        json_object *e = json_object_array_get_idx(v, i), *a = json_object_object_get(e, "action");
        if (!json_object_object_get(e, "denied"))
            continue;
        if (strcmp(js(a, "type"), "order.create") == 0)
            printf("  order.create cart %s ($%.2f)", js(a, "cartId"), jd(a, "total"));
        else
            printf("  %s %s x%s", js(a, "type"), js(a, "sku"), js(a, "qty"));
        printf(": %s [%s]%s\n", js(e, "denied"), js(e, "ruleId"),
               json_object_object_get(e, "ruleFailed") ? " (the rule failed: a failing veto denies)" : "");
    }
    json_object *errs = json_object_object_get(r, "ruleErrors");
    if (json_object_array_length(errs)) {
        printf("\nrule errors (a failing rule is skipped; a failing veto denies its action):\n");
        for (size_t i = 0; i < json_object_array_length(errs); i++) {
            json_object *e = json_object_array_get_idx(errs, i);
            printf("  %s: %s\n", js(e, "id")[0] ? js(e, "id") : js(e, "file"), js(e, "error"));
        }
    }
}

static int dry_run(int argc, char **argv)
{
    const char *file = NULL, *db = NULL, *catalog = "examples/catalog/products.json", *carts = NULL,
               *memory = NULL;
    const char *queries[32];
    size_t nq = 0;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--db") == 0 && i + 1 < argc)
            db = argv[++i];
        else if (strcmp(a, "--catalog") == 0 && i + 1 < argc)
            catalog = argv[++i];
        else if (strcmp(a, "--carts") == 0 && i + 1 < argc)
            carts = argv[++i];
        else if (strcmp(a, "--query") == 0 && i + 1 < argc && nq < 32)
            queries[nq++] = argv[++i];
        else if (strcmp(a, "--memory") == 0 && i + 1 < argc)
            memory = argv[++i];
        else if (strcmp(a, "--json") == 0)
            json = 1;
        else if (a[0] == '-' || file) {
            fprintf(stderr, "aisle rules dry-run: unexpected argument \"%s\"\n\n%s", a, help);
            return 2;
        } else
            file = a;
    }
    if (!file) {
        fputs(help, stderr);
        return 2;
    }
    if (!carts && access("examples/catalog/carts.json", R_OK) == 0)
        carts = "examples/catalog/carts.json";
    char *carts_json = NULL;
    if (carts && !(carts_json = cli_read_file("aisle rules dry-run", carts, NULL)))
        return 1;
    /* a temporary store unless --db: the dry-run never writes to a live one */
    char tmpdir[PATH_MAX] = "", path[PATH_MAX];
    if (!db) {
        const char *t = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/aisle-dryrun-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(tmpdir)) {
            fprintf(stderr, "aisle rules dry-run: cannot make a temporary folder: %s\n", strerror(errno));
            free(carts_json);
            return 1;
        }
        if (snprintf(path, sizeof path, "%s/catalog.db", tmpdir) >= (int)sizeof path) {
            fprintf(stderr, "aisle rules dry-run: the temporary folder's path is too long: %s\n", tmpdir);
            rmdir(tmpdir);
            free(carts_json);
            return 1;
        }
        db = path;
    }
    store_config cfg;
    cli_store_config(&cfg, db);
    if (tmpdir[0]) {
        cfg.redis_url = NULL;
        cfg.mongo_uri = NULL;
        cfg.ephemeral = STORE_BACKEND_SQLITE;
    }
    store *s = NULL;
    int rc = 1;
    if (cli_store_open("aisle rules dry-run", &cfg, &s))
        goto out;
    if (tmpdir[0]) {
        long loaded = 0, rejected = 0;
        if (cli_import_catalog(s, catalog, NULL, &loaded, &rejected) < 0 || loaded == 0) {
            fprintf(stderr, "aisle rules dry-run: could not import the catalog %s\n", catalog);
            goto out;
        }
    }
    eng_dry_run_opts o = {.carts_json = carts_json, .queries = nq ? queries : NULL, .n_queries = nq,
                          .memory_json = memory};
    eng_diags d;
    eng_diags_init(&d);
    json_object *report = NULL;
    int er = eng_rules_dry_run(file, s, &o, &report, &d);
    if (d.n)
        eng_diags_print(&d, stderr);
    eng_diags_free(&d);
    if (er == 0) {
        if (json)
            printf("%s\n", json_object_to_json_string_ext(report, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        else
            print_report(report);
        json_object_put(report);
        rc = 0;
    } else if (er != ENG_ECONFIG && er != ENG_EINVAL) {
        fprintf(stderr, "aisle rules dry-run: %s\n", eng_strerror(er));
    }
out:
    store_close(s);
    if (tmpdir[0]) {
        cli_remove_sqlite(path);
        rmdir(tmpdir);
    }
    free(carts_json);
    return rc;
}

int cli_rules(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(help, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "dry-run") == 0)
        return cli_wants_help(argc - 1, argv + 1) ? (fputs(help, stdout), 0) : dry_run(argc - 1, argv + 1);
    fprintf(stderr, "aisle rules: unknown subcommand \"%s\" (try dry-run)\n\n%s", argv[1], help);
    return 2;
}
