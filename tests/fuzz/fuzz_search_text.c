/* tests/fuzz/fuzz_search_text.c — the search-text analyser shared by
 * every backend (stores/search_text.c): what a shopper types in a search
 * box, normalised for the query and for the index, then split into
 * tokens and compared by edit distance as spelling correction does. */
#include "stores/store_int.h"
#include "fuzz_int.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;   /* queries are bounded long before this */
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    for (int for_index = 0; for_index < 2; for_index++) {
        store__buf out = {0};
        if (store__normalize(text, for_index, &out) == 0 && out.p) {
            char *storage = NULL, *tok[64];
            size_t n = store__tokens(out.p, &storage, tok, 64);
            for (size_t i = 0; i + 1 < n; i++) {
                store__is_stopword(tok[i]);
                store__edit_distance(tok[i], strlen(tok[i]), tok[i + 1], strlen(tok[i + 1]), 2);
            }
            free(storage);
        }
        store__buf_free(&out);
    }
    free(text);
    return 0;
}
