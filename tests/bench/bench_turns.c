/* tests/bench/bench_turns.c — in-process turns per second of a pipeline
 * (default: the FAQ example) on 1 and 2 threads, as JSON. Each figure is
 * the median of several runs, beside a reference measured in the same
 * run (json-c parsing and printing the turn's own context), so that the
 * ratio means something on a shared, noisy machine. Not a timed test.
 * BENCH_CART=N (with a catalog) first puts N products of it in the cart
 * the bench's turns share, so that every turn's context stage prices a
 * cart (by default it is empty, as at the start of most conversations). */
#include "engine/eng.h"
#include "stores/store.h"
#include "bench_catalog.h"
#include <pthread.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pick {
    char sku[8][128];
    int n, want;
} pick;

static int pick_one(void *ud, const store_product *p)
{
    pick *k = ud;
    if (p->price > 0 && !p->price_missing && (p->stock_untracked || p->stock > 10) &&
        (!p->category || strcmp(p->category, "motorcycle") != 0))
        snprintf(k->sku[k->n++], sizeof k->sku[0], "%s", p->sku);
    return k->n >= k->want;
}

/* N products of the catalog into the cart of session "local" (the
 * bench's turns name no session); returns how many went in */
static int fill_cart(eng_pipeline *p, store *s, int n)
{
    pick k = {.want = n > 8 ? 8 : n};
    if (k.want <= 0 || store_product_each(s, pick_one, &k, NULL) < 0)
        return 0;
    eng_shopper w = {.pipe = p, .store = s, .session_id = "local", .via = "bench"};
    int in = 0;
    for (int i = 0; i < k.n; i++) {
        eng_shop_result r;
        if (eng_shop_cart_add(&w, k.sku[i], 1, NULL, &r) == 0 && r.status == ENG_SHOP_OK)
            in++;
        eng_shop_result_clear(&r);
    }
    return in;
}

static const char *const messages[] = {
    "how long does shipping take?", "can I pay with paypal", "hello", "what time do you open",
    "I want to return my shoes", "is there a phone number", "tell me a joke", "bye",
    "show me sunglasses", "do you have men's shoes under 120?", "what's in my cart", "any perfumes?",
};
#define NMSG (sizeof messages / sizeof *messages)

typedef struct job {
    eng_pipeline *p;
    long turns;
    int64_t us;
} job;

static eng_deps deps;

static void *worker(void *arg)
{
    job *j = arg;
    int64_t t0 = eng_now_us();
    for (long i = 0; i < j->turns; i++) {
        eng_turn *t = NULL;
        eng_turn_opts o = {.deps = &deps};
        if (eng_run(j->p, messages[i % NMSG], &o, &t, NULL) != 0) {
            fprintf(stderr, "turn failed\n");
            exit(1);
        }
        eng_turn_free(t);
    }
    j->us = eng_now_us() - t0;
    return NULL;
}

/* turns per second with `threads` threads, each running `turns` turns */
static double run_threads(eng_pipeline *p, int threads, long turns)
{
    pthread_t th[8];
    job jobs[8];
    int64_t t0 = eng_now_us();
    for (int i = 0; i < threads; i++) {
        jobs[i] = (job){p, turns, 0};
        pthread_create(&th[i], NULL, worker, &jobs[i]);
    }
    for (int i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    int64_t us = eng_now_us() - t0;
    return (double)threads * (double)turns * 1e6 / (double)us;
}

/* the reference: parse and print the JSON of a turn context */
static double run_reference(const char *json, long n)
{
    int64_t t0 = eng_now_us();
    size_t sink = 0;
    for (long i = 0; i < n; i++) {
        json_object *o = json_tokener_parse(json);
        sink += strlen(json_object_to_json_string(o));
        json_object_put(o);
    }
    int64_t us = eng_now_us() - t0;
    if (!sink)
        abort();
    return (double)n * 1e6 / (double)us;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    const char *file = argc > 1 ? argv[1] : "examples/faq/faq.yaml";
    const char *catalog = argc > 3 ? argv[3] : NULL;
    char dbpath[128] = "";
    if (catalog)
        deps.store = bench_open_store(catalog, dbpath, sizeof dbpath);
    const int runs = 5;
    const long turns = argc > 2 ? strtol(argv[2], NULL, 10) : 20000;
    eng_diags d;
    eng_diags_init(&d);
    eng_pipeline *p = NULL;
    if (eng_pipeline_load(file, &p, &d) != 0) {
        eng_diags_print(&d, stderr);
        return 1;
    }
    eng_diags_free(&d);
    char wnote[240];
    if (deps.store && eng_pipeline_warm(p, deps.store, wnote, sizeof wnote) < 0)
        fprintf(stderr, "bench: catalog vocabulary: %s\n", wnote);
    const char *cart_env = getenv("BENCH_CART");
    int in_cart = deps.store && cart_env ? fill_cart(p, deps.store, (int)strtol(cart_env, NULL, 10)) : 0;
    eng_turn *t = NULL;
    eng_turn_opts o0 = {.deps = &deps};
    eng_run(p, messages[0], &o0, &t, NULL);
    char *ctx = strdup(json_object_to_json_string(eng_turn_context(t)));
    eng_turn_free(t);
    run_threads(p, 1, turns / 10); /* warm up: Lua states, caches */
    double one[9], two[9], ref[9];
    for (int r = 0; r < runs; r++) {
        ref[r] = run_reference(ctx, turns);
        one[r] = run_threads(p, 1, turns);
        two[r] = run_threads(p, 2, turns);
    }
    double m1 = median(one, runs), m2 = median(two, runs), mr = median(ref, runs);
    printf("{\"bench\":\"turns\",\"catalog\":\"%s\",\"store\":%s,\"pipeline\":\"%s\",\"cartLines\":%d,\"runs\":%d,\"turnsPerRun\":%ld,"
           "\"turnsPerSec1Thread\":%.0f,\"turnsPerSec2Threads\":%.0f,\"usPerTurn1Thread\":%.2f,"
           "\"reference\":\"json-c parse+print of the turn context (%zu bytes)\",\"referencePerSec\":%.0f,"
           "\"turnCostInReferenceUnits\":%.2f,\"scaling2Threads\":%.2f}\n",
           catalog ? catalog : "", catalog ? "\"sqlite\"" : "null", file, in_cart, runs, turns, m1, m2, 1e6 / m1, strlen(ctx), mr, mr / m1, m2 / m1);
    free(ctx);
    eng_pipeline_release(p);
    if (deps.store) {
        store_close(deps.store);
        if (dbpath[0])
            unlink(dbpath);
    }
    return 0;
}
