/* cli/cmd_import.c — `aisle import --catalog FILE [--db FILE] [--map a=b,..]
 * [--fetch-images ...]`: loads a product catalog from JSON (DummyJSON
 * shape: an array or {"products": [...]}) or CSV (header row, optional
 * column mapping), and reports rows loaded and rejected with reasons.
 * Re-import updates by sku.  --fetch-images then keeps the shop's own copy
 * of every product image (cli/fetch_images.c); it also runs without
 * --catalog, over the catalog already in the store. */
#include "cli.h"
#include "stores/store.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 1000
#define SHOW_REJECTS 10

static const char *const fields[] = {"sku", "title", "brand", "category",
                                     "description", "price", "rating",
                                     "stock", "thumbnail", "tags",
                                     "discountPercentage",
                                     /* the other facts (store_product.facts) */
                                     "warranty", "shipping", "returns",
                                     "weight", "width", "height", "depth",
                                     "minOrder"};
enum { F_FACTS = 11 };   /* fields[F_FACTS..] are the facts' columns */
#define NFIELDS (sizeof fields / sizeof fields[0])

typedef struct stats {
    long loaded, rejected;
} stats;

static void reject(stats *s, long row, const char *why)
{
    if (s->rejected++ < SHOW_REJECTS)
        fprintf(stderr, "  row %ld rejected: %s\n", row, why);
}

/* Upsert a batch; an invalid product is reported and dropped, the rest
 * retried, so one bad row never costs its neighbours. */
static int flush(store *st, store_product *p, long *rows, size_t *n, stats *s)
{
    while (*n) {
        store_err err = {0};
        size_t bad = 0;
        int rc = store_product_upsert_many(st, p, *n, &bad, &err);
        if (rc == 0) {
            s->loaded += (long)*n;
            break;
        }
        if (rc != STORE_EINVAL || bad >= *n) {
            fprintf(stderr, "aisle import: %s\n", err.msg);
            return rc;
        }
        reject(s, rows[bad], err.msg);
        store_product_clear(&p[bad]);
        memmove(&p[bad], &p[bad + 1], (*n - bad - 1) * sizeof *p);
        memmove(&rows[bad], &rows[bad + 1], (*n - bad - 1) * sizeof *rows);
        (*n)--;
    }
    for (size_t i = 0; i < *n; i++)
        store_product_clear(&p[i]);
    *n = 0;
    return 0;
}

static int import_json(store *st, const char *path, stats *s)
{
    json_object *root = json_object_from_file(path), *arr = root;
    store_product *p = calloc(BATCH, sizeof *p);
    long *rows = calloc(BATCH, sizeof *rows);
    size_t n = 0, len;
    int rc = 0;
    if (!root || !p || !rows) {
        fprintf(stderr, "aisle import: %s: not valid JSON (%s)\n", path,
                json_util_get_last_err() ? json_util_get_last_err() : "?");
        json_object_put(root);
        free(p);
        free(rows);
        return 1;
    }
    if (json_object_is_type(root, json_type_object))
        json_object_object_get_ex(root, "products", &arr);
    if (!arr || !json_object_is_type(arr, json_type_array)) {
        fprintf(stderr, "aisle import: %s: expected an array of products or"
                        " {\"products\": [...]}\n", path);
        json_object_put(root);
        free(p);
        free(rows);
        return 1;
    }
    len = json_object_array_length(arr);
    for (size_t i = 0; i < len && !rc; i++) {
        store_err err = {0};
        const char *txt = json_object_to_json_string_ext(
            json_object_array_get_idx(arr, i), JSON_C_TO_STRING_PLAIN);
        json_object *doc = json_object_array_get_idx(arr, i);
        if (store_product_from_json(txt, &p[n], &err) != 0) {
            reject(s, (long)i + 1, err.msg);
            continue;
        }
        /* a catalog that says nothing about stock does not say "none" */
        if (!json_object_is_type(doc, json_type_object) || !json_object_object_get_ex(doc, "stock", NULL))
            p[n].stock_untracked = 1;
        /* nor one without a price that it is free */
        if (!json_object_is_type(doc, json_type_object) || !json_object_object_get_ex(doc, "price", NULL))
            p[n].price_missing = 1;
        rows[n++] = (long)i + 1;
        if (n == BATCH)
            rc = flush(st, p, rows, &n, s);
    }
    if (!rc)
        rc = flush(st, p, rows, &n, s);
    json_object_put(root);
    free(p);
    free(rows);
    return rc ? 1 : 0;
}

/* ---- CSV (RFC 4180 quoting; Latin-1 re-encoded as UTF-8) ---- */

/* A number cell: the whole cell a finite number, else not one. */
static json_object *csv_num(const char *v)
{
    char *end;
    double d;
    if (!v || !*v)
        return NULL;
    d = strtod(v, &end);
    while (*end == ' ')
        end++;
    if (end == v || *end || d != d || d > 1e300 || d < -1e300)
        return NULL;
    /* as the catalog gives it: 2 stays 2, not 2.0 */
    if (d == (double)(long long)d && d > -1e15 && d < 1e15)
        return json_object_new_int64((int64_t)d);
    char txt[32];   /* written as JSON spells it (".5" is not JSON), shortest first */
    snprintf(txt, sizeof txt, "%.15g", d);
    return json_object_new_double_s(d, txt);
}

/* The facts of one CSV row (v[F_FACTS..]: warranty, shipping, returns,
 * weight, width, height, depth, minOrder) as store_product.facts, or
 * NULL when it has none.  The cells are handed to the store's own reader
 * of product documents, so a CSV's facts are bounded and typed exactly as
 * a JSON catalog's (long text cut, bad numbers skipped). */
static char *csv_facts(const char *const *v)
{
    static const char *const dims[] = {"width", "height", "depth"};
    json_object *doc = json_object_new_object(), *f = json_object_new_object(), *d = json_object_new_object(), *x;
    store_product q;
    store_err err = {0};
    char *out = NULL;
    if (!doc || !f || !d)
        goto out;
    for (int i = 0; i < 3; i++)
        if (v[F_FACTS + i] && *v[F_FACTS + i])
            json_object_object_add(f, fields[F_FACTS + i], json_object_new_string(v[F_FACTS + i]));
    if ((x = csv_num(v[F_FACTS + 3])))
        json_object_object_add(f, "weight", x);
    for (int i = 0; i < 3; i++)
        if ((x = csv_num(v[F_FACTS + 4 + i])))
            json_object_object_add(d, dims[i], x);
    if ((x = csv_num(v[F_FACTS + 7])))
        json_object_object_add(f, "minOrder", x);
    if (json_object_object_length(d)) {
        json_object_object_add(f, "dimensions", d);
        d = NULL;
    }
    if (!json_object_object_length(f))
        goto out;
    json_object_object_add(doc, "sku", json_object_new_string("csv"));
    json_object_object_add(doc, "title", json_object_new_string("csv"));
    json_object_object_add(doc, "facts", f);
    f = NULL;
    if (store_product_from_json(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN), &q, &err) == 0) {
        out = q.facts;
        q.facts = NULL;
        store_product_clear(&q);
    }
out:
    json_object_put(doc);
    json_object_put(f);
    json_object_put(d);
    return out;
}

static int valid_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        int k = s[i] < 0x80 ? 0 : (s[i] & 0xE0) == 0xC0 ? 1
              : (s[i] & 0xF0) == 0xE0 ? 2 : (s[i] & 0xF8) == 0xF0 ? 3 : -1;
        if (k < 0 || i + (size_t)k >= n + (k ? 0 : 1))
            return 0;
        for (int j = 1; j <= k; j++)
            if (i + (size_t)j >= n || (s[i + j] & 0xC0) != 0x80)
                return 0;
        i += (size_t)k + 1;
    }
    return 1;
}

static char *to_utf8(const char *s)
{
    size_t n = strlen(s), o = 0;
    char *r;
    if (valid_utf8((const unsigned char *)s, n))
        return strdup(s);
    if (!(r = malloc(2 * n + 1)))
        return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            r[o++] = (char)c;
        } else {
            r[o++] = (char)(0xC0 | (c >> 6));
            r[o++] = (char)(0x80 | (c & 0x3F));
        }
    }
    r[o] = '\0';
    return r;
}

/* Read one record from the file's text at *p (before end) with the
 * engine's RFC 4180 field reader; each field re-encoded as UTF-8
 * (malloc'd) into *out. Returns the number of fields, 0 at the end. */
static size_t csv_record(char **p, char *end, char ***out, size_t *cap)
{
    size_t nf = 0;
    int eor = 0;
    if (*p >= end)
        return 0;
    while (!eor) {
        char *f = eng_csv_field(p, end, &eor);
        if (nf == *cap) {
            size_t ncap = *cap ? *cap * 2 : 16;
            char **nout = realloc(*out, ncap * sizeof *nout);
            if (!nout)
                goto oom;
            *out = nout, *cap = ncap;
        }
        if (!((*out)[nf] = to_utf8(f)))
            goto oom;
        nf++;
    }
    return nf;
oom:
    /* out of memory: nothing of this record is kept (it reads as the end) */
    fprintf(stderr, "aisle import: out of memory reading a record\n");
    for (size_t i = 0; i < nf; i++)
        free((*out)[i]);
    *p = end;
    return 0;
}

static void free_rec(char **r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(r[i]);
}

static int import_csv(store *st, const char *path, const char *map, stats *s)
{
    size_t len = 0;
    char *text = cli_read_file("aisle import", path, &len), *at = text, *text_end = text + len;
    char **hdr = NULL, **rec = NULL;
    size_t hcap = 0, rcap = 0, nh, nr, n = 0;
    int col[NFIELDS], rc = 0;
    long row = 1;
    store_product *p = calloc(BATCH, sizeof *p);
    long *rows = calloc(BATCH, sizeof *rows);

    if (!text || !p || !rows) {
        if (text)
            fprintf(stderr, "aisle import: out of memory reading %s\n", path);
        free(text);
        free(p);
        free(rows);
        return 1;
    }
    nh = csv_record(&at, text_end, &hdr, &hcap);
    for (size_t i = 0; i < NFIELDS; i++) {
        const char *want = fields[i];
        char name[128];
        /* --map field=column; unmapped fields use a column of that name */
        if (map) {
            const char *m = map;
            size_t fl = strlen(fields[i]);
            while ((m = strstr(m, fields[i]))) {
                if ((m == map || m[-1] == ',') && m[fl] == '=') {
                    size_t l = strcspn(m + fl + 1, ",");
                    if (l >= sizeof name)
                        l = sizeof name - 1;
                    memcpy(name, m + fl + 1, l);
                    name[l] = '\0';
                    want = name;
                    break;
                }
                m += fl;
            }
        }
        col[i] = -1;
        for (size_t j = 0; j < nh; j++)
            if (!strcmp(hdr[j], want))
                col[i] = (int)j;
        if (want != fields[i] && col[i] < 0) {
            fprintf(stderr, "aisle import: --map %s=%s: no column %s in %s\n",
                    fields[i], want, want, path);
            rc = 2;
        }
    }
    if (!rc && (col[0] < 0 || col[1] < 0)) {
        fprintf(stderr, "aisle import: %s needs sku and title columns (use"
                        " --map sku=COLUMN,title=COLUMN)\n", path);
        rc = 2;
    }
    while (!rc && (nr = csv_record(&at, text_end, &rec, &rcap)) > 0) {
        store_product *q = &p[n];
        const char *v[NFIELDS];
        char *end;
        row++;
        if (nr == 1 && !*rec[0]) {
            free_rec(rec, nr);
            continue;
        }
        for (size_t i = 0; i < NFIELDS; i++)
            v[i] = col[i] >= 0 && (size_t)col[i] < nr ? rec[col[i]] : NULL;
        memset(q, 0, sizeof *q);
        q->sku = v[0] && *v[0] ? strdup(v[0]) : NULL;
        q->title = v[1] && *v[1] ? strdup(v[1]) : NULL;
        q->brand = v[2] && *v[2] ? strdup(v[2]) : NULL;
        q->category = v[3] && *v[3] ? strdup(v[3]) : NULL;
        q->description = v[4] && *v[4] ? strdup(v[4]) : NULL;
        q->thumbnail = v[8] && *v[8] ? strdup(v[8]) : NULL;
        if (v[5] && *v[5] && ((q->price = strtod(v[5], &end)), *end)) {
            reject(s, row, "price is not a number");
            store_product_clear(q);
            free_rec(rec, nr);
            continue;
        }
        if (!v[5] || !*v[5])
            q->price_missing = 1;   /* no price column, or an empty cell: not for sale */
        if (v[6] && *v[6])
            q->rating = strtod(v[6], NULL);
        if (v[7] && *v[7])
            q->stock = strtoll(v[7], NULL, 10);
        else
            q->stock_untracked = 1;   /* no stock column, or an empty cell: not kept */
        if (v[10] && *v[10])
            q->discount_pct = strtod(v[10], NULL);
        q->facts = csv_facts(v);
        if (v[9] && *v[9]) {
            char *t = strdup(v[9]), *save = NULL, *w;
            for (w = strtok_r(t, "|;,", &save); w; w = strtok_r(NULL, "|;,", &save)) {
                char **nt = realloc(q->tags, (q->n_tags + 1) * sizeof *nt);
                if (!nt)
                    break;
                q->tags = nt;
                q->tags[q->n_tags++] = strdup(w);
            }
            free(t);
        }
        rows[n++] = row;
        free_rec(rec, nr);
        if (n == BATCH && (rc = flush(st, p, rows, &n, s)) != 0)
            rc = 1;
    }
    if (!rc && flush(st, p, rows, &n, s))
        rc = 1;
    for (size_t i = 0; i < n; i++)
        store_product_clear(&p[i]);
    free_rec(hdr, nh);
    free(hdr);
    free(rec);
    free(p);
    free(rows);
    free(text);
    return rc;
}

static void usage(void)
{
    fprintf(stderr, "usage: aisle import --catalog FILE.json|FILE.csv [--db FILE]"
                    " [--map field=column,...]\n"
                    "       aisle import [--catalog FILE] [--db FILE] --fetch-images [--media-dir DIR]\n"
                    "                    [--fetch-parallel N] [--fetch-timeout S] [--fetch-max N]\n"
                    "  fields: sku title brand category description price rating"
                    " stock thumbnail tags discountPercentage\n"
                    "          warranty shipping returns weight width height depth minOrder\n"
                    "    (the product's other facts; JSON catalogs give them as DummyJSON does:\n"
                    "    warrantyInformation, shippingInformation, returnPolicy, weight, dimensions,\n"
                    "    minimumOrderQuantity)\n"
                    "  --fetch-images: keep the shop's own copy of each product image (once per URL;\n"
                    "    at most 5 MB, JPEG/PNG/WebP/GIF/AVIF, http/https) under --media-dir\n"
                    "    (default: AISLE_MEDIA_DIR, else media/ beside the database); the shop\n"
                    "    serves them at /media/<sha256>.<ext>.  --fetch-parallel transfers at once\n"
                    "    (1-16, 4), --fetch-timeout seconds per image (1-300, 20), --fetch-max\n"
                    "    images fetched in this run (10000; run again for the rest)\n");
}

/* a whole number from lo to hi for a flag; -1 after printing why */
static long flag_num(const char *flag, const char *v, long lo, long hi)
{
    char *end;
    long x = strtol(v, &end, 10);
    if (!*v || *end || x < lo || x > hi) {
        fprintf(stderr, "aisle import: %s must be a whole number from %ld to %ld, not \"%s\"\n", flag, lo, hi, v);
        return -1;
    }
    return x;
}

int cli_import_catalog(store *st, const char *path, const char *map, long *loaded, long *rejected)
{
    stats s = {0, 0};
    const char *dot = strrchr(path, '.');
    int rc = dot && !strcasecmp(dot, ".csv") ? import_csv(st, path, map, &s) : import_json(st, path, &s);
    if (loaded)
        *loaded = s.loaded;
    if (rejected)
        *rejected = s.rejected;
    return rc;
}

int cli_import(int argc, char **argv)
{
    const char *catalog = NULL, *db = NULL, *map = NULL, *dot, *media_dir = NULL;
    store_config cfg;
    store *st;
    stats s = {0, 0};
    int rc = 0, fetch = 0;
    cli_fetch_opts fo;
    long v;

    cli_fetch_opts_init(&fo);

    if (cli_wants_help(argc, argv)) {
        usage();
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--catalog") && i + 1 < argc)
            catalog = argv[++i];
        else if (!strcmp(argv[i], "--db") && i + 1 < argc)
            db = argv[++i];
        else if (!strcmp(argv[i], "--map") && i + 1 < argc)
            map = argv[++i];
        else if (!strcmp(argv[i], "--fetch-images"))
            fetch = 1;
        else if (!strcmp(argv[i], "--media-dir") && i + 1 < argc)
            media_dir = argv[++i];
        else if (!strcmp(argv[i], "--fetch-parallel") && i + 1 < argc) {
            if ((v = flag_num(argv[i], argv[i + 1], 1, 16)) < 0)
                return 2;
            fo.parallel = (int)v;
            i++;
        } else if (!strcmp(argv[i], "--fetch-timeout") && i + 1 < argc) {
            if ((v = flag_num(argv[i], argv[i + 1], 1, 300)) < 0)
                return 2;
            fo.timeout_s = (int)v;
            if (fo.connect_timeout_s > fo.timeout_s)
                fo.connect_timeout_s = fo.timeout_s;
            i++;
        } else if (!strcmp(argv[i], "--fetch-max") && i + 1 < argc) {
            if ((v = flag_num(argv[i], argv[i + 1], 0, 10000000)) < 0)
                return 2;
            fo.max_images = (int)v;
            i++;
        } else {
            fprintf(stderr, "aisle import: unexpected argument %s\n", argv[i]);
            usage();
            return 2;
        }
    }
    if (!catalog && !fetch) {
        usage();
        return 2;
    }
    cli_store_config(&cfg, db);
    cfg.pool_size = 1;
    if (media_dir)
        cfg.media_dir = media_dir;
    if (cli_store_open("aisle import", &cfg, &st))
        return 1;
    if (catalog) {
        dot = strrchr(catalog, '.');
        if (dot && !strcasecmp(dot, ".csv"))
            rc = import_csv(st, catalog, map, &s);
        else
            rc = import_json(st, catalog, &s);
        printf("%s: %ld loaded, %ld rejected\n", catalog, s.loaded, s.rejected);
        fflush(stdout);
    }
    if (fetch && !rc) {
        /* a failed image is reported with its product and never stops
         * the import: the products are in already */
        cli_fetch_stats fs;
        if (cli_fetch_images(st, &fo, &fs) != 0)
            rc = 1;
        printf("images: %ld fetched, %ld already stored, %ld failed (%ld products), %ld left for the next run;"
               " in %s\n",
               fs.fetched, fs.stored, fs.failed, fs.failed_products, fs.left, store_media_dir(st));
        if (fs.failed)
            s.rejected++;   /* the exit status says some work failed */
    }
    store_close(st);
    if (rc)
        return rc;
    return s.rejected ? 1 : 0;
}
