/* tests/fuzz/fuzz_checkout.c — the checkout's facts as a client sends
 * them in POST /orders and PUT /me/address: any JSON object goes through
 * the address check (bounds, UTF-8, control characters, the postal code
 * and country shapes) and the card check (digits, Luhn, expiry, CVC), as
 * engine/checkout.c runs them before anything is charged.  Whatever
 * passes must hold what the checks promise. */
#include "engine/checkout_int.h"
#include "fuzz_int.h"
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536 || !eng_utf8_valid((const char *)data, size) || memchr(data, 0, size))
        return 0;   /* refused before parsing, as gw__body_object does */
    json_tokener *tok = json_tokener_new_ex(32);
    if (!tok)
        return 0;
    json_object *o = json_tokener_parse_ex(tok, (const char *)data, (int)size);
    json_tokener_free(tok);
    if (!o)
        return 0;
    char field[32], why[256];
    json_object *a = eng__address_clean(o, field, sizeof field, why, sizeof why);
    if (a) {
        /* required members present, every member bounded */
        static const char *const req[] = {"name", "line1", "city", "postalCode", "country", NULL};
        for (size_t i = 0; req[i]; i++)
            if (!json_object_object_get(a, req[i]))
                abort();
        json_object_object_foreach(a, k, v) {
            (void)k;
            if (json_object_get_string_len(v) > 120)
                abort();
        }
        json_object_put(a);
    } else if (!why[0]) {
        abort();    /* a refusal always says why */
    }
    /* the card: the object itself, or its "payment" member */
    json_object *p = json_object_object_get(o, "payment");
    eng_card c;
    if (eng__card_check(p ? p : o, 1796000000, &c, field, sizeof field, why, sizeof why) == 0) {
        size_t n = strlen(c.number);
        if (n < 12 || n > 19 || !eng_pay_luhn_ok(c.number) || strlen(c.last4) != 4 ||
            c.exp_month < 1 || c.exp_month > 12 || strlen(c.cvc) < 3)
            abort();
    } else if (!why[0] || !field[0]) {
        abort();
    }
    json_object_put(o);
    return 0;
}
