/* tests/unit/test_security.c — issue #12 regressions below the gateway:
 * the admin role kept by the store (set only by the operator's command,
 * out of reach of the memory API), the search-text analyser on numbers
 * beyond long long (undefined behaviour before; the sanitizer build
 * catches a regression) and JWT signing of claims verify would refuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gateway/gw.h"
#include "gateway/gw_int.h"
#include "stores/store.h"
#include "stores/store_int.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static store *open_tmp(char *dir, size_t dn)
{
    char path[160];
    snprintf(dir, dn, "/tmp/aisle-sec-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/sec.db", dir);
    store_config cfg;
    store_config_init(&cfg);
    cfg.sqlite_path = path;
    cfg.redis_url = NULL;
    cfg.mongo_uri = NULL;
    cfg.documents = cfg.ephemeral = STORE_BACKEND_SQLITE;
    store *s = NULL;
    store_err err = {0};
    assert_int_equal(store_open(&cfg, &s, &err), 0);
    return s;
}

static void rm_tmp(const char *dir)
{
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_role_by_command_only(void **state)
{
    (void)state;
    char dir[64], role[16], *js = NULL;
    store *s = open_tmp(dir, sizeof dir);
    store_err err = {0};
    int64_t id = 0;
    assert_int_equal(store_user_create(s, "boss@example.com", "hash", "Boss", &id, &err), 0);
    /* a new account is a user, whatever its address */
    assert_int_equal(store_user_role_get(s, id, role, sizeof role, &err), 0);
    assert_string_equal(role, "user");
    assert_int_equal(store_user_role_set(s, id, "admin", &err), 0);
    assert_int_equal(store_user_role_get(s, id, role, sizeof role, &err), 0);
    assert_string_equal(role, "admin");
    /* nothing through the memory API sees or changes it */
    assert_int_equal(store_memory_list(s, id, NULL, &js, &err), 0);
    assert_null(strstr(js, "admin"));
    free(js);
    assert_int_equal(store_memory_put(s, -id, "aisle.role", "role", "\"user\"", &err), STORE_EINVAL);
    assert_int_equal(store_memory_delete(s, -id, "aisle.role", "role", &err), STORE_EINVAL);
    assert_int_equal(store_user_role_get(s, id, role, sizeof role, &err), 0);
    assert_string_equal(role, "admin");
    /* revoke; unknown accounts and roles are refused */
    assert_int_equal(store_user_role_set(s, id, "user", &err), 0);
    assert_int_equal(store_user_role_get(s, id, role, sizeof role, &err), 0);
    assert_string_equal(role, "user");
    assert_int_equal(store_user_role_set(s, id + 100, "admin", &err), STORE_ENOTFOUND);
    assert_int_equal(store_user_role_set(s, id, "root", &err), STORE_EINVAL);
    assert_int_equal(store_user_role_set(s, 0, "admin", &err), STORE_EINVAL);
    store_close(s);
    rm_tmp(dir);
}

static const char *norm(store__buf *b, const char *text, int for_index)
{
    store__buf_free(b);
    memset(b, 0, sizeof *b);
    assert_int_equal(store__normalize(text, for_index, b), 0);
    return b->p ? b->p : "";
}

static void test_search_text_huge_numbers(void **state)
{
    (void)state;
    store__buf b = {0};
    /* issue #12 item 9: converted to long long before the range check */
    const char *n = norm(&b, "5555)555555555555555555555555555555", 0);
    /* a whole number, printed whole (no "p" decimal mark, no garbage) */
    assert_int_equal(strncmp(n, "5555 5555555555555555", 21), 0);
    assert_null(strchr(n, 'p'));
    assert_int_equal(strlen(n), 5 + 30);
    norm(&b, "99999999999999999999 x 1e300 in", 1);
    norm(&b, "-99999999999999999999 and 1/0 and 0/0", 0);
    /* ordinary numbers keep their exact form */
    assert_string_equal(norm(&b, "2 in. x 4 in.", 0), "2in 2x4 4in");
    store__buf_free(&b);
}

static void test_jwt_sign_refuses_invalid_utf8(void **state)
{
    (void)state;
    static const unsigned char key[] = "unit-key-0123456789abcdef0123456789abcdef";
    json_object *c = json_object_new_object();
    json_object_object_add(c, "sid", json_object_new_string("caf\xff"));
    char *tok = (char *)1;
    assert_int_equal(gw_jwt_sign(key, sizeof key - 1, c, &tok), GW_EINVAL);
    assert_null(tok);
    json_object_object_add(c, "sid", json_object_new_string("caf\xc3\xa9"));
    assert_int_equal(gw_jwt_sign(key, sizeof key - 1, c, &tok), 0);
    json_object *back = NULL;
    assert_int_equal(gw_jwt_verify(key, sizeof key - 1, tok, 1700000000, &back), 0);
    json_object_put(back);
    free(tok);
    json_object_put(c);
}

/* The Connection header we write says what civetweb then does: with the
 * header, keep only when it lists keep-alive (whole tokens, any case; a
 * close option wins); without it, keep on HTTP/1.1 only. */
static void test_keep_alive_header(void **state)
{
    (void)state;
    assert_true(gw__http_keeps_alive(NULL, "1.1"));
    assert_false(gw__http_keeps_alive(NULL, "1.0"));
    assert_false(gw__http_keeps_alive(NULL, "0.9"));
    assert_false(gw__http_keeps_alive(NULL, NULL));
    assert_true(gw__http_keeps_alive("keep-alive", "1.0"));
    assert_true(gw__http_keeps_alive("Keep-Alive", "1.1"));
    assert_true(gw__http_keeps_alive("TE, keep-alive ", "1.1"));
    assert_false(gw__http_keeps_alive("close", "1.1"));
    assert_false(gw__http_keeps_alive("keep-alive, close", "1.1"));
    assert_false(gw__http_keeps_alive("Upgrade", "1.1"));
    assert_false(gw__http_keeps_alive("keep-alive-ish", "1.0"));
    assert_false(gw__http_keeps_alive("", "1.1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_role_by_command_only),
        cmocka_unit_test(test_search_text_huge_numbers),
        cmocka_unit_test(test_jwt_sign_refuses_invalid_utf8),
        cmocka_unit_test(test_keep_alive_header),
    };
    return cmocka_run_group_tests_name("security regressions (issue #12)", tests, NULL, NULL);
}
