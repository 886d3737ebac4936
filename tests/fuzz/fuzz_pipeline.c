/* tests/fuzz/fuzz_pipeline.c — the YAML pipeline loader and validator
 * (eng_pipeline_load_buffer): an input is a pipeline file, its relative
 * paths resolved in pipelines/ (run from the repository root) so that the
 * shipped templates and rules load too.  Inputs naming device or proc
 * files are skipped: reading /dev/zero is not a parser bug. */
#include "engine/eng.h"
#include "fuzz_int.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 32768)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    if (strstr(text, "/dev") || strstr(text, "/proc") || strstr(text, "/sys")) {
        free(text);
        return 0;
    }
    eng_diags d;
    eng_diags_init(&d);
    eng_pipeline *p = NULL;
    if (eng_pipeline_load_buffer("fuzz.yaml", text, size, "pipelines", &p, &d) == 0 && p)
        eng_pipeline_release(p);
    eng_diags_free(&d);
    free(text);
    return 0;
}
