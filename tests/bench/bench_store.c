/* tests/bench/bench_store.c — store figures as one JSON object: catalog
 * search p50/p99 on the 20k Flipkart products (SQLite), and session get/put
 * per second on SQLite and Redis.  Every figure is a median of several runs
 * next to a reference taken in the same run (bare FTS5 BM25 on the same
 * index; raw sqlite3 statements; redis-benchmark on the same server), so the
 * ratios mean something on a noisy shared machine.  Not a timed test. */
#include "stores/store.h"
#include "tests/redis_server.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DATA "../shared/data/flipkart-products-20k"
#define RUNS 5

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
    qsort(v, n, sizeof *v, cmp_d);
    return n ? v[(size_t)(p * (double)(n - 1) + 0.5)] : 0;
}

static double median(double *v, size_t n)
{
    return pct(v, n, 0.5);
}

/* One CSV record (RFC 4180 quotes) into at most max malloc'd fields. */
static int csv_row(FILE *f, char **fld, int max)
{
    int n = 0, c, q = 0;
    size_t len = 0, cap = 64;
    char *b = malloc(cap);
    if ((c = fgetc(f)) == EOF) {
        free(b);
        return -1;
    }
    for (;; c = fgetc(f)) {
        if (c == EOF || (!q && (c == ',' || c == '\n'))) {
            b[len] = '\0';
            if (n < max)
                fld[n++] = strdup(b);
            len = 0;
            if (c != ',')
                break;
            continue;
        }
        if (c == '"') {
            int d = q ? fgetc(f) : 0;
            if (q && d == '"') {
                c = '"';
            } else {
                if (q && d != EOF)
                    ungetc(d, f);
                q = !q;
                continue;
            }
        }
        if (c == '\r' && !q)
            continue;
        if (len + 2 > cap)
            b = realloc(b, cap *= 2);
        b[len++] = (char)c;
    }
    free(b);
    return n;
}

static void free_fields(char **f, int n)
{
    for (int i = 0; i < n; i++)
        free(f[i]);
}

/* Load both column subsets, joined row by row (same uniq_id order). */
static size_t load_products(store *s, char ***titles_out)
{
    FILE *a = fopen(DATA "/sonalkulk/flipkart_com-ecommerce_sample.csv", "r");
    FILE *b = fopen(DATA "/SolBarker/flipkart_com-ecommerce_sample.csv", "r");
    store_product *p = calloc(20100, sizeof *p);
    char **titles = calloc(20100, sizeof *titles);
    char *fa[12], *fb[4];
    int na, nb;
    size_t n = 0, failed = 0;
    store_err err = {0};
    if (!a || !b)
        return 0;
    na = csv_row(a, fa, 12);           /* header */
    free_fields(fa, na);
    while (n < 20100 && (na = csv_row(a, fa, 12)) > 0) {
        nb = csv_row(b, fb, 4);
        if (na >= 9 && fa[0][0] && fa[1][0]) {
            char *cat = NULL;
            if (nb >= 3) {                 /* ["Clothing >> Women's ..."] */
                char *s0 = fb[2] + strspn(fb[2], "[\" "), *e = strstr(s0, " >>");
                if (!e)
                    e = s0 + strcspn(s0, "\"]");
                cat = strndup(s0, (size_t)(e - s0));
            }
            p[n].sku = strdup(fa[0]);
            p[n].title = strdup(fa[1]);
            p[n].brand = fa[8][0] ? strdup(fa[8]) : NULL;
            p[n].category = cat;
            p[n].price = fa[4][0] ? strtod(fa[4], NULL) : strtod(fa[3], NULL);
            p[n].rating = strtod(fa[6], NULL);   /* "No rating available" -> 0 */
            p[n].stock = 10;
            titles[n] = strdup(fa[1]);
            n++;
        }
        free_fields(fa, na);
        if (nb > 0)
            free_fields(fb, nb);
    }
    fclose(a);
    fclose(b);
    if (store_product_upsert_many(s, p, n, &failed, &err) != 0) {
        fprintf(stderr, "import failed at %zu: %s\n", failed, err.msg);
        n = 0;
    }
    for (size_t i = 0; i < 20100; i++)
        store_product_clear(&p[i]);
    free(p);
    *titles_out = titles;
    return n;
}

/* Realistic queries: the WANDS shopper queries, and two-word queries made
 * of product titles' words (what a shopper types after seeing a product). */
static size_t load_queries(char **titles, size_t nt, char **q, size_t max)
{
    FILE *f = fopen("../shared/data/wands-queries/query.csv", "r");
    char line[512];
    size_t n = 0;
    if (f) {
        if (fgets(line, sizeof line, f)) {
            while (n < max / 2 && fgets(line, sizeof line, f)) {
                char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
                if (t2)
                    q[n++] = strndup(t1 + 1, (size_t)(t2 - t1 - 1));
            }
        }
        fclose(f);
    }
    srand(42);
    while (n < max && nt) {
        char *t = titles[(size_t)rand() % nt], w1[64] = "", w2[64] = "", buf[140];
        if (sscanf(t, "%63s %63s", w1, w2) == 2) {
            snprintf(buf, sizeof buf, "%s %s", w1, w2);
            q[n++] = strdup(buf);
        }
    }
    return n;
}

/* The reference: bare FTS5 BM25, words OR'ed, on aisle's own index. */
static double fts_ref_once(sqlite3 *db, char **q, size_t nq)
{
    sqlite3_stmt *st;
    double t0 = now_s();
    sqlite3_prepare_v2(db, "SELECT rowid FROM products_fts WHERE products_fts MATCH ?"
                           " ORDER BY bm25(products_fts) LIMIT 10", -1, &st, NULL);
    for (size_t i = 0; i < nq; i++) {
        char m[600] = "", w[128];
        const char *p = q[i];
        int off = 0, len = 0;
        while (sscanf(p, "%127s%n", w, &len) == 1) {
            char *c, clean[128];
            size_t k = 0;
            for (c = w; *c && k < sizeof clean - 1; c++)
                if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9'))
                    clean[k++] = *c;
            clean[k] = '\0';
            if (k)
                off += snprintf(m + off, sizeof m - (size_t)off, "%s\"%s\"", off ? " OR " : "", clean);
            p += len;
            if (off >= (int)sizeof m - 140)
                break;
        }
        if (!off)
            continue;
        sqlite3_bind_text(st, 1, m, -1, SQLITE_TRANSIENT);
        while (sqlite3_step(st) == SQLITE_ROW)
            ;
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return (now_s() - t0) / (double)nq;
}

static void bench_search(const char *dir)
{
    char path[300], *q[960], **titles = NULL;
    store *s = NULL;
    store_config cfg;
    store_err err = {0};
    size_t np, nq;
    double p50[RUNS], p99[RUNS], ref[RUNS], lat[960], t_import;
    sqlite3 *db;
    if (access(DATA "/sonalkulk/flipkart_com-ecommerce_sample.csv", R_OK) != 0) {
        printf("\"search\": {\"skipped\": \"%s not found (run from the repo root)\"},\n", DATA);
        return;
    }
    snprintf(path, sizeof path, "%s/search.db", dir);
    store_config_init(&cfg);
    cfg.sqlite_path = path;
    cfg.documents = cfg.ephemeral = STORE_BACKEND_SQLITE;
    cfg.redis_url = cfg.mongo_uri = NULL;
    if (store_open(&cfg, &s, &err) != 0) {
        fprintf(stderr, "open: %s\n", err.msg);
        exit(1);
    }
    t_import = now_s();
    np = load_products(s, &titles);
    t_import = now_s() - t_import;
    nq = load_queries(titles, np, q, 960);
    sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
    for (int r = 0; r < RUNS; r++) {
        for (size_t i = 0; i < nq; i++) {
            store_search_query sq;
            store_search_result res;
            double t0 = now_s();
            store_search_query_init(&sq);
            sq.text = q[i];
            sq.limit = 10;
            sq.flags = STORE_SEARCH_FACETS;
            if (store_search(s, &sq, &res, &err) != 0) {
                fprintf(stderr, "search '%s': %s\n", q[i], err.msg);
                exit(1);
            }
            lat[i] = (now_s() - t0) * 1e3;
            store_search_result_free(&res);
        }
        p50[r] = pct(lat, nq, 0.5);
        p99[r] = pct(lat, nq, 0.99);
        ref[r] = fts_ref_once(db, q, nq) * 1e3;
    }
    sqlite3_close(db);
    {
        double m50 = median(p50, RUNS), m99 = median(p99, RUNS), mref = median(ref, RUNS);
        printf("\"search\": {\"backend\": \"sqlite\", \"products\": %zu, \"importSeconds\": %.2f,"
               " \"queries\": %zu, \"runs\": %d, \"limit\": 10, \"facets\": true,"
               " \"p50Ms\": %.3f, \"p99Ms\": %.3f,"
               " \"reference\": \"bare FTS5 bm25, words OR'ed, LIMIT 10, same index: mean ms\","
               " \"referenceMeanMs\": %.3f, \"p50OverReference\": %.2f},\n",
               np, t_import, nq, RUNS, m50, m99, mref, mref > 0 ? m50 / mref : 0);
    }
    for (size_t i = 0; i < nq; i++)
        free(q[i]);
    for (size_t i = 0; i < np; i++)
        free(titles[i]);
    free(titles);
    store_close(s);
}

/* ---------------- sessions ---------------- */

#define SESSION_JSON "{\"userId\":42,\"cartId\":\"user:42\",\"lastIntent\":\"search_product\"," \
    "\"shown\":[\"SKU-1\",\"SKU-2\",\"SKU-3\",\"SKU-4\",\"SKU-5\"],\"locale\":\"en-US\"," \
    "\"filters\":{\"category\":\"shoes\",\"priceMax\":120,\"brand\":null},\"turns\":7}"
#define NSESS 1000

/* ops/s of `n` puts then `n` gets over NSESS session ids */
static void session_ops(store *s, int n, double *put_ops, double *get_ops)
{
    store_err err = {0};
    char sid[32], *j;
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        snprintf(sid, sizeof sid, "bench-%d", i % NSESS);
        if (store_session_put(s, sid, SESSION_JSON, 600, &err) != 0) {
            fprintf(stderr, "put: %s\n", err.msg);
            exit(1);
        }
    }
    *put_ops = n / (now_s() - t0);
    t0 = now_s();
    for (int i = 0; i < n; i++) {
        snprintf(sid, sizeof sid, "bench-%d", i % NSESS);
        if (store_session_get(s, sid, &j, &err) != 0) {
            fprintf(stderr, "get: %s\n", err.msg);
            exit(1);
        }
        free(j);
    }
    *get_ops = n / (now_s() - t0);
}

/* The SQLite reference: the same work as raw prepared statements on a
 * table of the same shape, same pragmas, same disk. */
static void sqlite_ref(const char *dir, int n, double *put_ops, double *get_ops)
{
    char path[300], sid[32];
    sqlite3 *db;
    sqlite3_stmt *put, *get;
    double t0;
    snprintf(path, sizeof path, "%s/ref.db", dir);
    sqlite3_open(path, &db);
    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                     "CREATE TABLE IF NOT EXISTS kv(kind INTEGER, key TEXT, value TEXT,"
                     " expires_at INTEGER, PRIMARY KEY(kind, key))", NULL, NULL, NULL);
    sqlite3_prepare_v2(db, "INSERT INTO kv VALUES(1,?,?,?) ON CONFLICT(kind,key) DO UPDATE"
                           " SET value=excluded.value, expires_at=excluded.expires_at",
                       -1, &put, NULL);
    sqlite3_prepare_v2(db, "SELECT value FROM kv WHERE kind=1 AND key=? AND expires_at>?",
                       -1, &get, NULL);
    t0 = now_s();
    for (int i = 0; i < n; i++) {
        snprintf(sid, sizeof sid, "bench-%d", i % NSESS);
        sqlite3_bind_text(put, 1, sid, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(put, 2, SESSION_JSON, -1, SQLITE_STATIC);
        sqlite3_bind_int64(put, 3, (sqlite3_int64)time(NULL) * 1000 + 600000);
        sqlite3_step(put);
        sqlite3_reset(put);
    }
    *put_ops = n / (now_s() - t0);
    t0 = now_s();
    for (int i = 0; i < n; i++) {
        snprintf(sid, sizeof sid, "bench-%d", i % NSESS);
        sqlite3_bind_text(get, 1, sid, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(get, 2, (sqlite3_int64)time(NULL) * 1000);
        if (sqlite3_step(get) == SQLITE_ROW) {
            char *v = strdup((const char *)sqlite3_column_text(get, 0));
            free(v);
        }
        sqlite3_reset(get);
    }
    *get_ops = n / (now_s() - t0);
    sqlite3_finalize(put);
    sqlite3_finalize(get);
    sqlite3_close(db);
}

static void bench_sessions_sqlite(const char *dir)
{
    char path[300];
    store *s = NULL;
    store_config cfg;
    store_err err = {0};
    double put[RUNS], get[RUNS], rput[RUNS], rget[RUNS];
    const int n = 20000;
    snprintf(path, sizeof path, "%s/sessions.db", dir);
    store_config_init(&cfg);
    cfg.sqlite_path = path;
    cfg.documents = cfg.ephemeral = STORE_BACKEND_SQLITE;
    cfg.redis_url = cfg.mongo_uri = NULL;
    if (store_open(&cfg, &s, &err) != 0)
        exit(1);
    for (int r = 0; r < RUNS; r++) {
        session_ops(s, n, &put[r], &get[r]);
        sqlite_ref(dir, n, &rput[r], &rget[r]);
    }
    store_close(s);
    {
        double mp = median(put, RUNS), mg = median(get, RUNS);
        double rp = median(rput, RUNS), rg = median(rget, RUNS);
        printf("\"sessionsSqlite\": {\"ops\": %d, \"runs\": %d, \"threads\": 1,"
               " \"putPerSec\": %.0f, \"getPerSec\": %.0f,"
               " \"reference\": \"raw sqlite3 prepared upsert/select, same table shape and pragmas\","
               " \"refPutPerSec\": %.0f, \"refGetPerSec\": %.0f,"
               " \"putRatio\": %.2f, \"getRatio\": %.2f},\n",
               n, RUNS, mp, mg, rp, rg, mp / rp, mg / rg);
    }
}

/* redis-benchmark's SET and GET requests per second, one client, no
 * pipelining: the same round trips aisle's synchronous calls make. */
static int redis_ref(int port, int n, double *set_ops, double *get_ops)
{
    char cmd[256], line[512];
    FILE *p;
    *set_ops = *get_ops = 0;
    snprintf(cmd, sizeof cmd, "redis-benchmark -h 127.0.0.1 -p %d -t set,get -n %d -c 1"
             " -d 260 -q 2>/dev/null", port, n);
    fflush(NULL);
    if (!(p = popen(cmd, "r")))
        return -1;
    while (fgets(line, sizeof line, p)) {
        /* progress lines end in '\r'; the result is after the last one */
        char *l = strrchr(line, '\r') ? strrchr(line, '\r') + 1 : line;
        sscanf(l, "SET: %lf", set_ops);
        sscanf(l, "GET: %lf", get_ops);
    }
    return pclose(p) == 0 && *set_ops > 0 ? 0 : -1;
}

static void bench_sessions_redis(const char *dir)
{
    char url[128], path[300];
    redis_server srv;
    store *s = NULL;
    store_config cfg;
    store_err err = {0};
    double put[RUNS], get[RUNS], rset[RUNS], rget[RUNS];
    const int n = 20000;
    if (system("command -v redis-server >/dev/null 2>&1 && command -v redis-benchmark"
               " >/dev/null 2>&1") != 0) {
        printf("\"sessionsRedis\": {\"skipped\": \"redis-server or redis-benchmark not installed\"}\n");
        return;
    }
    if (redis_server_open(&srv, "aisle-bench-redis", 0) != 0) {
        printf("\"sessionsRedis\": {\"skipped\": \"redis-server did not start: %s\"}\n", srv.why);
        redis_server_close(&srv);
        return;
    }
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", srv.port);
    snprintf(path, sizeof path, "%s/redis-docs.db", dir);
    store_config_init(&cfg);
    cfg.sqlite_path = path;
    cfg.documents = STORE_BACKEND_SQLITE;
    cfg.ephemeral = STORE_BACKEND_REDIS;
    cfg.redis_url = url;
    cfg.mongo_uri = NULL;
    if (store_open(&cfg, &s, &err) != 0) {
        printf("\"sessionsRedis\": {\"skipped\": \"store_open failed: %s\"}\n", err.msg);
        redis_server_close(&srv);
        return;
    }
    for (int r = 0; r < RUNS; r++) {
        session_ops(s, n, &put[r], &get[r]);
        if (redis_ref(srv.port, n, &rset[r], &rget[r]) != 0)
            rset[r] = rget[r] = 0;
    }
    store_close(s);
    redis_server_close(&srv);
    {
        double mp = median(put, RUNS), mg = median(get, RUNS);
        double rs = median(rset, RUNS), rg = median(rget, RUNS);
        printf("\"sessionsRedis\": {\"ops\": %d, \"runs\": %d, \"threads\": 1,"
               " \"putPerSec\": %.0f, \"getPerSec\": %.0f,"
               " \"reference\": \"redis-benchmark -t set,get -c 1 -d 260 on the same server\","
               " \"refSetPerSec\": %.0f, \"refGetPerSec\": %.0f,"
               " \"putRatio\": %.2f, \"getRatio\": %.2f}\n",
               n, RUNS, mp, mg, rs, rg, rs > 0 ? mp / rs : 0, rg > 0 ? mg / rg : 0);
    }
}

int main(void)
{
    char dir[] = "/tmp/aisle-bench-store-XXXXXX", cmd[128];
    if (!mkdtemp(dir))
        return 1;
    printf("{\"bench\": \"store\",\n");
    bench_search(dir);
    bench_sessions_sqlite(dir);
    bench_sessions_redis(dir);
    printf("}\n");
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) != 0;
}
