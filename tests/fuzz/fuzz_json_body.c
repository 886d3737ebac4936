/* tests/fuzz/fuzz_json_body.c — JSON request bodies: the gateway's body
 * rules (UTF-8 without NUL, one object, depth 32, nothing after it; as
 * gw__body_object) and then the product document an admin write sends
 * (store_product_from_json, and back with store_product_to_json). */
#include "engine/eng.h"
#include "stores/store.h"
#include "fuzz_int.h"
#include <json-c/json.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536 || !eng_utf8_valid((const char *)data, size) || memchr(data, 0, size))
        return 0;   /* refused before parsing */
    json_tokener *tok = json_tokener_new_ex(32);
    if (!tok)
        return 0;
    json_object *o = json_tokener_parse_ex(tok, (const char *)data, (int)size);
    int ok = json_tokener_get_error(tok) == json_tokener_success;
    for (size_t i = ok ? json_tokener_get_parse_end(tok) : 0; ok && i < size; i++)
        if (!strchr(" \t\r\n", data[i]))
            ok = 0;
    json_tokener_free(tok);
    if (ok && json_object_is_type(o, json_type_object)) {
        const char *js = json_object_to_json_string(o);
        store_product p = {0};
        store_err e = {0};
        if (store_product_from_json(js, &p, &e) == 0) {
            char *back = NULL;
            if (store_product_to_json(&p, &back, &e) == 0) {
                store_product q = {0};
                /* what we wrote we must read back */
                if (store_product_from_json(back, &q, &e) != 0)
                    abort();
                store_product_clear(&q);
            }
            free(back);
        }
        store_product_clear(&p);
    }
    json_object_put(o);
    return 0;
}
