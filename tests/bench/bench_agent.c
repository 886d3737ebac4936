/* tests/bench/bench_agent.c — what the llm_agent machinery adds to a
 * turn, the model excluded: the shipped commerce pipeline with the
 * llm_agent stage, against the loopback fake provider scripted to search,
 * read the details and add to the cart (3 tool calls, 4 model steps),
 * in both wire formats.  Per turn: the stage's time minus the time spent
 * waiting on the provider (the request's encoding and the answer's
 * parsing stay in: they are ours), divided by the tool calls; and each
 * tool call's own time (schema check, then the commerce core and the
 * SQLite store).  p50 and p99 as JSON.  Not a timed test. */
#include "bench_catalog.h"
#include "tests/unit/fake_llm.h"

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
    if (!n)
        return 0;
    qsort(v, n, sizeof *v, cmp);
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

static eng_pipeline *agentic(void)
{
    size_t len;
    FILE *f = fopen("pipelines/commerce.yaml", "rb");
    if (!f)
        return NULL;
    char *src = malloc(1 << 20);
    len = fread(src, 1, (1 << 20) - 1, f);
    fclose(f);
    src[len] = 0;
    const char *line = "  - { id: ctx, type: context }\n";
    char *at = strstr(src, line);
    if (!at)
        return NULL;
    at += strlen(line);
    const char *stage = "  - { id: assistant, type: llm_agent, checkout: order }\n";
    char *text = malloc(len + strlen(stage) + 1);
    size_t head = (size_t)(at - src);
    memcpy(text, src, head);
    memcpy(text + head, stage, strlen(stage));
    memcpy(text + head + strlen(stage), at, len - head + 1);
    eng_pipeline *p = NULL;
    eng_diags d = {0};
    int rc = eng_pipeline_load_buffer("agentic.yaml", text, strlen(text), "pipelines", &p, &d);
    free(src);
    free(text);
    return rc == 0 ? p : NULL;
}

int main(int argc, char **argv)
{
    long turns = argc > 1 ? strtol(argv[1], NULL, 10) : 300;
    setenv("AISLE_LLM_LOG", "off", 1);
    start_fake(NULL);
    if (!fake_port) {
        printf("{\"bench\":\"agent\",\"skipped\":\"node or tests/fake_llm/server.js unavailable\"}\n");
        return 0;
    }
    char dbpath[256] = "";
    eng_deps deps = {.store = bench_open_store("examples/catalog/products.json", dbpath, sizeof dbpath)};
    eng_pipeline *p = agentic();
    char wnote[256];
    if (!p || eng_pipeline_warm(p, deps.store, wnote, sizeof wnote) < 0) {
        fprintf(stderr, "bench: the agentic pipeline did not load\n");
        return 1;
    }
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d/v1", fake_port);
    printf("{\"bench\":\"agent\",\"turns\":%ld,\"plan\":\"search_products, get_product, add_to_cart\",\"providers\":{",
           turns);
    for (int pv = ENG_LLM_OPENAI; pv <= ENG_LLM_ANTHROPIC; pv++) {
        eng_llm_config c = {.provider = (eng_llm_provider)pv, .base_url = base, .api_key = "k", .model = "m",
                            .max_retries = 0};
        deps.llm = eng_llm_new(&c);
        double *per_call = calloc((size_t)turns, sizeof *per_call), *stage = calloc((size_t)turns, sizeof *stage);
        double *model = calloc((size_t)turns, sizeof *model), *calls = calloc((size_t)turns * 8, sizeof *calls);
        size_t ncalls = 0, ok = 0;
        for (long i = -20; i < turns; i++) {   /* 20 warm-up turns */
            char sid[64];
            snprintf(sid, sizeof sid, "bench-%d-%ld", pv, i);
            eng_turn_opts o = {.session_id = sid, .deps = &deps, .deadline_ms = 10000};
            eng_turn *t = NULL;
            if (eng_run(p, "find me mascara and add it [agent:multistep]", &o, &t, NULL) != 0)
                return 1;
            json_object *ctx = eng_turn_context(t), *ag = json_object_object_get(ctx, "agent");
            json_object *tr = json_object_object_get(ctx, "trace");
            int64_t st_us = -1;
            for (size_t k = 0; k < json_object_array_length(tr); k++) {
                json_object *e = json_object_array_get_idx(tr, k);
                if (strcmp(json_object_get_string(json_object_object_get(e, "stage")), "assistant") == 0)
                    st_us = json_object_get_int64(json_object_object_get(e, "us"));
            }
            int n = json_object_get_int(json_object_object_get(ag, "toolCalls"));
            if (i >= 0 && st_us >= 0 && n == 3 &&
                strcmp(json_object_get_string(json_object_object_get(ag, "mode")), "llm") == 0) {
                int64_t m_us = json_object_get_int64(json_object_object_get(ag, "modelUs"));
                stage[ok] = (double)st_us;
                model[ok] = (double)m_us;
                per_call[ok++] = (double)(st_us - m_us) / n;
                json_object *cl = json_object_object_get(ag, "calls");
                for (size_t k = 0; k < json_object_array_length(cl) && ncalls < (size_t)turns * 8; k++)
                    calls[ncalls++] = (double)json_object_get_int64(
                        json_object_object_get(json_object_array_get_idx(cl, k), "us"));
            }
            eng_turn_free(t);
        }
        printf("%s\"%s\":{\"turnsMeasured\":%zu,\"machineryPerToolCallUs\":{\"p50\":%.0f,\"p99\":%.0f},"
               "\"toolCallUs\":{\"p50\":%.0f,\"p99\":%.0f},\"stageUs\":{\"p50\":%.0f,\"p99\":%.0f},"
               "\"providerWaitUs\":{\"p50\":%.0f,\"p99\":%.0f}}",
               pv == ENG_LLM_OPENAI ? "" : ",", pv == ENG_LLM_OPENAI ? "openai" : "anthropic", ok,
               pct(per_call, ok, 0.5), pct(per_call, ok, 0.99), pct(calls, ncalls, 0.5), pct(calls, ncalls, 0.99),
               pct(stage, ok, 0.5), pct(stage, ok, 0.99), pct(model, ok, 0.5), pct(model, ok, 0.99));
        free(per_call);
        free(stage);
        free(model);
        free(calls);
        eng_llm_free(deps.llm);
        deps.llm = NULL;
    }
    printf("}}\n");
    eng_pipeline_release(p);
    store_close(deps.store);
    if (dbpath[0])
        unlink(dbpath);
    stop_fake(NULL);
    return 0;
}
