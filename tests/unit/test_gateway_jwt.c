/* tests/unit/test_gateway_jwt.c — JWT sign/verify edge cases: round trip,
 * pinned alg (none, HS512, RS256 refused), wrong key, edited payload or
 * header, expiry and nbf, malformed tokens and non-canonical base64. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gateway/gw.h"

static const unsigned char key[] = "0123456789abcdef0123456789abcdef";
#define KL (sizeof key - 1)

static char *sign_claims(const char *json)
{
    json_object *c = json_tokener_parse(json);
    char *tok = NULL;
    assert_int_equal(gw_jwt_sign(key, KL, c, &tok), GW_OK);
    json_object_put(c);
    return tok;
}

static void b64url(const unsigned char *in, size_t n, char *out)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
        out[o++] = t[v >> 18 & 63], out[o++] = t[v >> 12 & 63];
        if (i + 1 < n) out[o++] = t[v >> 6 & 63];
        if (i + 2 < n) out[o++] = t[v & 63];
    }
    out[o] = 0;
}

/* a token from raw header and payload text, signed with k (or unsigned) */
static char *make(const char *header, const char *payload, const unsigned char *k, size_t kl)
{
    char *tok = malloc(4096), h[1024], p[2048], s[64] = "";
    b64url((const unsigned char *)header, strlen(header), h);
    b64url((const unsigned char *)payload, strlen(payload), p);
    snprintf(tok, 4096, "%s.%s", h, p);
    if (k) {
        unsigned char mac[32];
        unsigned int ml = 0;
        HMAC(EVP_sha256(), k, (int)kl, (unsigned char *)tok, strlen(tok), mac, &ml);
        b64url(mac, 32, s);
    }
    size_t n = strlen(tok);
    snprintf(tok + n, 4096 - n, ".%s", s);   /* unsigned: an empty signature */
    return tok;
}

static void round_trip(void **st)
{
    (void)st;
    char *t = sign_claims("{\"sub\":\"42\",\"exp\":2000000000,\"name\":\"é\"}");
    json_object *c = NULL;
    assert_int_equal(gw_jwt_verify(key, KL, t, 1700000000, &c), GW_OK);
    assert_string_equal(json_object_get_string(json_object_object_get(c, "sub")), "42");
    assert_string_equal(json_object_get_string(json_object_object_get(c, "name")), "é");
    json_object_put(c);
    assert_int_equal(gw_jwt_verify(key, KL, t, 1700000000, NULL), GW_OK);
    free(t);
}

static void expiry_and_nbf(void **st)
{
    (void)st;
    char *t = sign_claims("{\"exp\":1000}");
    assert_int_equal(gw_jwt_verify(key, KL, t, 999, NULL), GW_OK);
    assert_int_equal(gw_jwt_verify(key, KL, t, 1000, NULL), GW_EEXPIRED);
    free(t);
    t = sign_claims("{\"nbf\":5000}");
    assert_int_equal(gw_jwt_verify(key, KL, t, 4950, NULL), GW_OK);   /* 60 s leeway */
    assert_int_equal(gw_jwt_verify(key, KL, t, 4000, NULL), GW_EAUTH);
    free(t);
    t = sign_claims("{\"exp\":\"soon\"}");
    assert_int_equal(gw_jwt_verify(key, KL, t, 1, NULL), GW_EAUTH);
    free(t);
}

static void pinned_alg(void **st)
{
    (void)st;
    const char *pl = "{\"sub\":\"1\"}";
    char *t = make("{\"alg\":\"none\",\"typ\":\"JWT\"}", pl, NULL, 0);
    assert_int_equal(gw_jwt_verify(key, KL, t, 1, NULL), GW_EAUTH);
    free(t);
    t = make("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", pl, key, KL);
    assert_int_equal(gw_jwt_verify(key, KL, t, 1, NULL), GW_EAUTH);
    free(t);
    t = make("{\"alg\":\"RS256\"}", pl, key, KL);
    assert_int_equal(gw_jwt_verify(key, KL, t, 1, NULL), GW_EAUTH);
    free(t);
    t = make("{\"typ\":\"JWT\"}", pl, key, KL);
    assert_int_equal(gw_jwt_verify(key, KL, t, 1, NULL), GW_EAUTH);
    free(t);
    t = make("{\"alg\":\"HS256\",\"crit\":[\"x\"]}", pl, key, KL);
    assert_int_equal(gw_jwt_verify(key, KL, t, 1, NULL), GW_EAUTH);
    free(t);
    t = make("{\"alg\":\"HS256\"}", pl, key, KL);   /* typ may be absent */
    assert_int_equal(gw_jwt_verify(key, KL, t, 1, NULL), GW_OK);
    free(t);
}

static void tampering(void **st)
{
    (void)st;
    char *t = sign_claims("{\"sub\":\"1\"}");
    const unsigned char other[] = "ffffffffffffffffffffffffffffffff";
    assert_int_equal(gw_jwt_verify(other, sizeof other - 1, t, 1, NULL), GW_EAUTH);
    /* edited payload, original signature */
    char *e = make("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", "{\"sub\":\"2\"}", NULL, 0);
    char forged[4096];
    snprintf(forged, sizeof forged, "%.*s%s", (int)(strlen(e) - 1), e, strrchr(t, '.'));
    assert_int_equal(gw_jwt_verify(key, KL, forged, 1, NULL), GW_EAUTH);
    free(e);
    /* a flipped signature character */
    size_t n = strlen(t);
    t[n - 2] = t[n - 2] == 'A' ? 'B' : 'A';
    assert_int_equal(gw_jwt_verify(key, KL, t, 1, NULL), GW_EAUTH);
    /* non-canonical last character (extra low bits) must not verify */
    t[n - 2] = t[n - 2] == 'B' ? 'A' : 'B';
    free(t);
}

static void malformed(void **st)
{
    (void)st;
    const char *bad[] = {"", ".", "..", "a.b", "a.b.c.d", "abc.def.ghi", "e30.e30.", "e30.e30.!!!!",
                         "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                         "eyJhbGciOiJIUzI1NiJ9..AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(gw_jwt_verify(key, KL, bad[i], 1, NULL), GW_EAUTH);
    assert_int_equal(gw_jwt_verify(key, KL, NULL, 1, NULL), GW_EAUTH);
    assert_int_equal(gw_jwt_verify(NULL, 0, "a.b.c", 1, NULL), GW_EAUTH);
    /* a payload that is JSON but not an object */
    char *t = make("{\"alg\":\"HS256\"}", "[1,2]", key, KL);
    assert_int_equal(gw_jwt_verify(key, KL, t, 1, NULL), GW_EAUTH);
    free(t);
    /* huge tokens are refused before any work */
    char *big = malloc(20000);
    memset(big, 'a', 19999);
    big[19999] = 0;
    big[100] = '.', big[200] = '.';
    assert_int_equal(gw_jwt_verify(key, KL, big, 1, NULL), GW_EAUTH);
    free(big);
    char *out = NULL;
    assert_int_equal(gw_jwt_sign(key, KL, NULL, &out), GW_EINVAL);
    assert_null(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip), cmocka_unit_test(expiry_and_nbf), cmocka_unit_test(pinned_alg),
        cmocka_unit_test(tampering), cmocka_unit_test(malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
