/* tests/fuzz/fuzz_jwt_utf8.c — the gateway's token check and the UTF-8
 * check every request string passes: an input is (1) a bearer token for
 * gw_jwt_verify, (2) when it is a JSON object, claims that must survive
 * sign-then-verify, and (3) bytes whose UTF-8 verdict must agree with an
 * independent implementation of Unicode's table of well-formed byte
 * sequences (Table 3-7). */
#include "engine/eng.h"
#include "gateway/gw.h"
#include "fuzz_int.h"
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char key[] = "fuzz-key-0123456789abcdef0123456789abcdef";

/* Unicode 15, Table 3-7, row by row */
static int utf8_reference(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t a = s[i];
        size_t need;
        uint8_t lo = 0x80, hi = 0xBF;
        if (a <= 0x7F) { i++; continue; }
        else if (a >= 0xC2 && a <= 0xDF) need = 1;
        else if (a == 0xE0) { need = 2; lo = 0xA0; }
        else if ((a >= 0xE1 && a <= 0xEC) || a == 0xEE || a == 0xEF) need = 2;
        else if (a == 0xED) { need = 2; hi = 0x9F; }
        else if (a == 0xF0) { need = 3; lo = 0x90; }
        else if (a >= 0xF1 && a <= 0xF3) need = 3;
        else if (a == 0xF4) { need = 3; hi = 0x8F; }
        else return 0;
        if (i + need >= n)
            return 0;   /* truncated */
        if (s[i + 1] < lo || s[i + 1] > hi)
            return 0;
        for (size_t k = 2; k <= need; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF)
                return 0;
        i += need + 1;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192)
        return 0;
    if (!eng_utf8_valid((const char *)data, size) != !utf8_reference(data, size))
        abort();   /* the two disagree: one of them is wrong */
    char *tok = malloc(size + 1);
    if (!tok)
        return 0;
    memcpy(tok, data, size);
    tok[size] = 0;
    json_object *claims = NULL;
    if (gw_jwt_verify(key, sizeof key - 1, tok, 1700000000, &claims) == 0 && !claims)
        abort();   /* success promises claims */
    json_object_put(claims);
    /* a JSON object as claims: what we sign we must accept */
    /* within what verify reads: 8 KiB of base64, nesting depth 16 */
    size_t nest = 0;
    for (size_t i = 0; i < size; i++)
        nest += data[i] == '{' || data[i] == '[';
    json_object *o = size < 4096 && nest <= 12 ? json_tokener_parse(tok) : NULL;
    if (o && json_object_is_type(o, json_type_object) && !json_object_object_get_ex(o, "exp", NULL) &&
        !json_object_object_get_ex(o, "nbf", NULL)) {
        char *signed_tok = NULL;
        if (gw_jwt_sign(key, sizeof key - 1, o, &signed_tok) == 0) {
            json_object *back = NULL;
            if (gw_jwt_verify(key, sizeof key - 1, signed_tok, 1700000000, &back) != 0)
                abort();
            json_object_put(back);
            /* a changed first character of the signature must be refused */
            char *sig = strrchr(signed_tok, '.');
            if (sig && sig[1]) {
                sig[1] = sig[1] == 'A' ? 'B' : 'A';
                json_object *bad = NULL;
                if (gw_jwt_verify(key, sizeof key - 1, signed_tok, 1700000000, &bad) == 0)
                    abort();
                json_object_put(bad);
            }
            free(signed_tok);
        }
    }
    json_object_put(o);
    free(tok);
    return 0;
}
