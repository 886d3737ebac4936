/* gateway/jwt.c — JSON Web Tokens, HS256 only.  The algorithm is pinned:
 * a header naming anything else (none, RS256, HS512) is refused before
 * the signature is looked at, and signatures are compared with
 * CRYPTO_memcmp so timing tells an attacker nothing. */
#include "gw_int.h"
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* unpadded base64url of n bytes into out (needs 4*ceil(n/3)+1) */
static size_t b64_encode(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64url[v >> 18 & 63], out[o++] = b64url[v >> 12 & 63];
        out[o++] = b64url[v >> 6 & 63], out[o++] = b64url[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = b64url[v >> 18 & 63], out[o++] = b64url[v >> 12 & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = b64url[v >> 18 & 63], out[o++] = b64url[v >> 12 & 63];
        out[o++] = b64url[v >> 6 & 63];
    }
    out[o] = 0;
    return o;
}

static int b64_val(char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

/* strict unpadded base64url decode; -1 on any stray character or a
 * length no encoder produces (n % 4 == 1) */
static long b64_decode(const char *in, size_t n, unsigned char *out)
{
    if (n % 4 == 1)
        return -1;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64_val(in[i]);
        if (v < 0)
            return -1;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits & 0xff);
        }
    }
    /* leftover bits must be zero: otherwise two strings decode the same */
    if (bits && (acc & ((1u << bits) - 1)))
        return -1;
    return (long)o;
}

static int hmac(const unsigned char *key, size_t key_len, const char *data, size_t n, unsigned char mac[32])
{
    unsigned int len = 0;
    if (!HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)data, n, mac, &len) || len != 32)
        return -1;
    return 0;
}

int gw_jwt_sign(const unsigned char *key, size_t key_len, json_object *claims, char **out)
{
    *out = NULL;
    if (!key || !key_len || !claims || !json_object_is_type(claims, json_type_object))
        return GW_EINVAL;
    static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    const char *payload = json_object_to_json_string_ext(claims, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    size_t hl = sizeof header - 1, pl = strlen(payload);
    /* json-c keeps invalid UTF-8 as it came; verify would refuse such a
     * token forever, so never sign one (found by tests/fuzz) */
    if (!eng_utf8_valid(payload, pl))
        return GW_EINVAL;
    size_t cap = (hl + 2) / 3 * 4 + (pl + 2) / 3 * 4 + 48 + 4;
    char *tok = malloc(cap);
    if (!tok)
        return GW_ENOMEM;
    size_t n = b64_encode((const unsigned char *)header, hl, tok);
    tok[n++] = '.';
    n += b64_encode((const unsigned char *)payload, pl, tok + n);
    unsigned char mac[32];
    if (hmac(key, key_len, tok, n, mac) < 0) {
        free(tok);
        return GW_ENOMEM;
    }
    tok[n++] = '.';
    b64_encode(mac, 32, tok + n);
    *out = tok;
    return GW_OK;
}

static json_object *parse_obj(const char *b64, size_t n)
{
    if (n == 0 || n > 8192)
        return NULL;
    unsigned char *raw = malloc(n);
    if (!raw)
        return NULL;
    long m = b64_decode(b64, n, raw);
    json_object *o = NULL;
    if (m > 0 && eng_utf8_valid((const char *)raw, (size_t)m)) {
        json_tokener *t = json_tokener_new_ex(16);
        if (t) {
            o = json_tokener_parse_ex(t, (const char *)raw, (int)m);
            if (json_tokener_get_error(t) != json_tokener_success || json_tokener_get_parse_end(t) != (size_t)m) {
                json_object_put(o);
                o = NULL;
            }
            json_tokener_free(t);
        }
    }
    free(raw);
    if (o && !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        o = NULL;
    }
    return o;
}

/* a numeric claim, or def when absent; -1 when present but not a number */
static int64_t num_claim(json_object *c, const char *k, int64_t def)
{
    json_object *v;
    if (!json_object_object_get_ex(c, k, &v))
        return def;
    if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
        return -1;
    return json_object_get_int64(v);
}

int gw_jwt_verify(const unsigned char *key, size_t key_len, const char *token, int64_t now_s,
                  json_object **claims)
{
    if (claims)
        *claims = NULL;
    if (!key || !key_len || !token)
        return GW_EAUTH;
    size_t len = strlen(token);
    if (len > 16384)
        return GW_EAUTH;
    const char *d1 = strchr(token, '.');
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d1 || !d2 || strchr(d2 + 1, '.'))
        return GW_EAUTH;
    /* header first: the alg is pinned before any crypto runs */
    json_object *h = parse_obj(token, (size_t)(d1 - token));
    if (!h)
        return GW_EAUTH;
    const char *alg = gw__jstr(h, "alg"), *typ = gw__jstr(h, "typ");
    json_object *tv;
    int ok = alg && strcmp(alg, "HS256") == 0 && (!json_object_object_get_ex(h, "typ", &tv) ||
                                                   (typ && strcmp(typ, "JWT") == 0)) &&
             !json_object_object_get_ex(h, "crit", &tv);
    json_object_put(h);
    if (!ok)
        return GW_EAUTH;
    unsigned char mac[32], got[48];
    size_t sl = len - (size_t)(d2 + 1 - token);
    if (sl != 43 || b64_decode(d2 + 1, sl, got) != 32)
        return GW_EAUTH;
    if (hmac(key, key_len, token, (size_t)(d2 - token), mac) < 0)
        return GW_EAUTH;
    if (CRYPTO_memcmp(mac, got, 32) != 0)
        return GW_EAUTH;
    json_object *c = parse_obj(d1 + 1, (size_t)(d2 - d1 - 1));
    if (!c)
        return GW_EAUTH;
    int64_t exp = num_claim(c, "exp", INT64_MAX), nbf = num_claim(c, "nbf", 0);
    if (exp < 0 || nbf < 0) {
        json_object_put(c);
        return GW_EAUTH;
    }
    if (now_s >= exp) {
        json_object_put(c);
        return GW_EEXPIRED;
    }
    if (nbf > now_s + 60) {
        json_object_put(c);
        return GW_EAUTH;
    }
    if (claims)
        *claims = c;
    else
        json_object_put(c);
    return GW_OK;
}
