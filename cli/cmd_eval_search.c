/* cli/cmd_eval_search.c — `aisle eval search --db FILE --judgments FILE.csv`:
 * runs every judged query against the catalog and prints NDCG@10,
 * Recall@10 and MRR@10 (relevant = relevance >= 2.5; unjudged results count
 * as not relevant; averages over queries with at least one relevant
 * product) and queries per second, for the whole set and for its two
 * halves (queries split by a hash of their text) so ranking can be tuned
 * on one half and checked on the other.  Judgement CSV columns:
 * product_uid, search_term, relevance (Home Depot layout). */
#include "cli.h"
#include "stores/store.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define K 10
#define RELEVANT 2.5

typedef struct judgement {
    char *query, *sku;
    double rel;
    size_t order;
} judgement;

/* The fields of one line of CSV (the engine's RFC 4180 reader), at most
 * max, unquoted in place. */
static size_t split_csv(char *line, char **f, size_t max)
{
    char *p = line, *end = line + strlen(line);
    size_t n = 0;
    int eor = 0;
    while (n < max && !eor)
        f[n++] = eng_csv_field(&p, end, &eor);
    return n;
}

static int by_query(const void *a, const void *b)
{
    const judgement *x = a, *y = b;
    int c = strcmp(x->query, y->query);
    return c ? c : (x->order > y->order) - (x->order < y->order);
}

static int by_rel_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* Latin-1 bytes become UTF-8 so the query matches the imported titles. */
static char *latin1(const char *s)
{
    size_t n = strlen(s), o = 0;
    int ascii = 1;
    char *r;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80)
            ascii = 0;
    if (ascii)
        return strdup(s);
    if (!(r = malloc(2 * n + 1)))
        return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80)
            r[o++] = (char)c;
        else {
            r[o++] = (char)(0xC0 | (c >> 6));
            r[o++] = (char)(0x80 | (c & 0x3F));
        }
    }
    r[o] = '\0';
    return r;
}

/* FNV-1a of the query text: a stable split that does not depend on row
 * order or ids, so both halves stay the same across runs and files. */
static unsigned query_half(const char *q)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)q; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h & 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int cli_eval_search(int argc, char **argv)
{
    const char *db = NULL, *jpath = NULL, *syn = NULL;
    int flags = 0, verbose = 0, only = -1;
    store_config cfg;
    store_err err = {0};
    store *st;
    FILE *f;
    char line[8192], *hdr[16];
    judgement *j = NULL;
    size_t nj = 0, cap = 0, nq = 0, nscored[2] = {0};
    int c_uid = -1, c_q = -1, c_rel = -1;
    double sum_ndcg[2] = {0}, sum_rec[2] = {0}, sum_mrr[2] = {0}, elapsed;

    if (cli_wants_help(argc, argv)) {
        fprintf(stderr, "usage: aisle eval search --db FILE --judgments FILE.csv"
                        " [--synonyms FILE] [--plain] [--no-spell] [--verbose]\n"
                        "       [--half even|odd]   only one half of the queries\n");
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--db") && i + 1 < argc) db = argv[++i];
        else if (!strcmp(argv[i], "--judgments") && i + 1 < argc) jpath = argv[++i];
        else if (!strcmp(argv[i], "--synonyms") && i + 1 < argc) syn = argv[++i];
        else if (!strcmp(argv[i], "--plain")) flags |= STORE_SEARCH_PLAIN;
        else if (!strcmp(argv[i], "--no-spell")) flags |= STORE_SEARCH_NO_SPELL;
        else if (!strcmp(argv[i], "--verbose")) verbose = 1;
        else if (!strcmp(argv[i], "--half") && i + 1 < argc) {
            i++;
            if (!strcmp(argv[i], "even")) only = 0;
            else if (!strcmp(argv[i], "odd")) only = 1;
            else {
                fprintf(stderr, "aisle eval search: --half takes even or odd\n");
                return 2;
            }
        }
        else {
            fprintf(stderr, "aisle eval search: unexpected argument %s\n", argv[i]);
            return 2;
        }
    }
    if (!jpath) {
        fprintf(stderr, "aisle eval search: --judgments FILE.csv is required\n");
        return 2;
    }
    if (!(f = fopen(jpath, "rb"))) {
        fprintf(stderr, "aisle eval search: cannot read %s\n", jpath);
        return 1;
    }
    if (fgets(line, sizeof line, f)) {
        size_t n;
        line[strcspn(line, "\r\n")] = '\0';
        n = split_csv(line, hdr, 16);
        for (size_t i = 0; i < n; i++) {
            if (!strcmp(hdr[i], "product_uid") || !strcmp(hdr[i], "sku")) c_uid = (int)i;
            if (!strcmp(hdr[i], "search_term") || !strcmp(hdr[i], "query")) c_q = (int)i;
            if (!strcmp(hdr[i], "relevance")) c_rel = (int)i;
        }
    }
    if (c_uid < 0 || c_q < 0 || c_rel < 0) {
        fprintf(stderr, "aisle eval search: %s needs columns product_uid (or sku),"
                        " search_term (or query), relevance\n", jpath);
        fclose(f);
        return 2;
    }
    while (fgets(line, sizeof line, f)) {
        char *fl[16];
        size_t n;
        line[strcspn(line, "\r\n")] = '\0';
        n = split_csv(line, fl, 16);
        if (n <= (size_t)c_uid || n <= (size_t)c_q || n <= (size_t)c_rel)
            continue;
        if (nj == cap) {
            size_t ncap = cap ? cap * 2 : 1024;
            void *nj_ = realloc(j, ncap * sizeof *j);
            if (!nj_) {
                fprintf(stderr, "aisle eval search: out of memory reading %s\n", jpath);
                for (size_t i = 0; i < nj; i++) {
                    free(j[i].query);
                    free(j[i].sku);
                }
                free(j);
                fclose(f);
                return 1;
            }
            j = nj_, cap = ncap;
        }
        j[nj].query = latin1(fl[c_q]);
        j[nj].sku = strdup(fl[c_uid]);
        j[nj].rel = strtod(fl[c_rel], NULL);
        j[nj].order = nj;
        nj++;
    }
    fclose(f);
    qsort(j, nj, sizeof *j, by_query);

    cli_store_config(&cfg, db);
    cfg.synonyms_path = syn;
    if (cli_store_open("aisle eval search", &cfg, &st))
        return 1;
    elapsed = 0;
    for (size_t a = 0; a < nj;) {
        size_t b = a, n_rel = 0, hits = 0;
        unsigned half;
        double rels[K], ideal_all[256], dcg = 0, idcg = 0, rr = 0;
        store_search_query q;
        store_search_result r;
        size_t nideal = 0;
        double ts;
        while (b < nj && !strcmp(j[a].query, j[b].query))
            b++;
        half = query_half(j[a].query);
        if (only >= 0 && half != (unsigned)only) {
            a = b;
            continue;
        }
        for (size_t i = a; i < b; i++) {
            if (j[i].rel >= RELEVANT)
                n_rel++;
            if (nideal < 256)
                ideal_all[nideal++] = j[i].rel;
        }
        nq++;
        store_search_query_init(&q);
        q.text = j[a].query;
        q.limit = K;
        q.flags = flags;
        ts = now_s();
        if (store_search(st, &q, &r, &err) != 0) {
            fprintf(stderr, "aisle eval search: %s: %s\n", q.text, err.msg);
            memset(&r, 0, sizeof r);
        }
        elapsed += now_s() - ts;
        for (size_t i = 0; i < K; i++)
            rels[i] = 0;
        for (size_t i = 0; i < r.n_hits && i < K; i++)
            for (size_t k = a; k < b; k++)
                if (!strcmp(j[k].sku, r.hits[i].product.sku)) {
                    rels[i] = j[k].rel;
                    break;
                }
        for (size_t i = 0; i < K; i++) {
            dcg += rels[i] / log2((double)i + 2.0);
            if (rels[i] >= RELEVANT) {
                hits++;
                if (rr == 0)
                    rr = 1.0 / (double)(i + 1);
            }
        }
        qsort(ideal_all, nideal, sizeof *ideal_all, by_rel_desc);
        for (size_t i = 0; i < nideal && i < K; i++)
            idcg += ideal_all[i] / log2((double)i + 2.0);
        if (n_rel) {
            nscored[half]++;
            sum_ndcg[half] += idcg > 0 ? dcg / idcg : 0;
            sum_rec[half] += (double)hits / (double)n_rel;
            sum_mrr[half] += rr;
        }
        if (verbose)
            printf("%s\t%zu/%zu\t%.3f%s%s\n", j[a].query, hits, n_rel, rr,
                   r.corrected ? "\t-> " : "", r.corrected ? r.corrected : "");
        store_search_result_free(&r);
        a = b;
    }
    store_close(st);
    {
        size_t ns = nscored[0] + nscored[1];
        double nd = sum_ndcg[0] + sum_ndcg[1], re = sum_rec[0] + sum_rec[1],
               mr = sum_mrr[0] + sum_mrr[1];
        printf("queries %zu (scored: %zu with a relevant product)\n", nq, ns);
        printf("NDCG@10   %.4f\nRecall@10 %.4f\nMRR@10    %.4f\n",
               ns ? nd / ns : 0, ns ? re / ns : 0, ns ? mr / ns : 0);
        for (int h = 0; h < 2; h++)
            if (nscored[h])
                printf("%s half (%zu scored): NDCG@10 %.4f  Recall@10 %.4f"
                       "  MRR@10 %.4f\n", h ? "odd " : "even", nscored[h],
                       sum_ndcg[h] / nscored[h], sum_rec[h] / nscored[h],
                       sum_mrr[h] / nscored[h]);
    }
    printf("queries/s %.1f\n", elapsed > 0 ? (double)nq / elapsed : 0);
    for (size_t i = 0; i < nj; i++) {
        free(j[i].query);
        free(j[i].sku);
    }
    free(j);
    return 0;
}
