/* tests/fuzz/fuzz_template.c — reply templates (engine/template.c): an
 * input is a template source, compiled and rendered against a fixed turn
 * context with every kind of value the formatter meets. */
#include "engine/eng.h"
#include "engine/eng_int.h"
#include "fuzz_int.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *ctx_json =
    "{\"user\": {\"name\": \"ada\", \"vip\": true}, \"cart\": {\"total\": 19.5, \"count\": 2,"
    " \"items\": [{\"title\": \"usb cable\", \"price\": 4.5, \"qty\": 2, \"tags\": [\"x\"]},"
    " {\"title\": \"mouse\", \"price\": 1e308, \"qty\": -1, \"tags\": []}]},"
    " \"tags\": [\"red\", \"green\"], \"mixed\": [1, 2.5, true, \"s\", null, {\"a\": 1}, [3]],"
    " \"n\": 42, \"neg\": -3, \"big\": 1e300, \"nan_s\": \"NaN\", \"empty\": \"\", \"none\": null,"
    " \"word\": \"caf\\u00e9\", \"results\": {\"products\": [{\"title\": \"boot\", \"price\": 99.99}]}}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static json_object *ctx;
    if (!ctx)
        ctx = json_tokener_parse(ctx_json);
    if (size > 8192)
        return 0;
    char *src = malloc(size + 1);
    if (!src)
        return 0;
    memcpy(src, data, size);
    src[size] = 0;
    eng_pool *pool = eng__pool_new(4096);
    eng_tmpl *t = NULL;
    eng_err err = {0};
    if (pool && eng__tmpl_compile(pool, src, 1, 1, &t, &err) == 0 && t) {
        eng_buf out;
        eng__buf_init(&out);
        eng__tmpl_render(t, ctx, &out);
        eng__buf_free(&out);
    }
    eng__pool_free(pool);
    free(src);
    return 0;
}
