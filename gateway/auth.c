/* gateway/auth.c — who is calling: anonymous session tokens, accounts
 * (register, login with Argon2id), short-lived access JWTs and opaque
 * refresh tokens rotated through the store (reuse revokes the family),
 * plus the /me endpoints. */
#include "gw_int.h"
#include <ctype.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

void gw__cart_id(const gw_principal *p, char *buf, size_t n)
{
    if (p->user_id)
        snprintf(buf, n, "user:%" PRId64, p->user_id);
    else
        snprintf(buf, n, "anon:%s", p->sid);
}

static int64_t now_s(void) { return (int64_t)time(NULL); }

/* a token's claims into a principal; GW_EAUTH for a token of ours with
 * claims we never issue */
int gw__token_principal(gw_server *s, const char *token, gw_principal *who)
{
    memset(who, 0, sizeof *who);
    json_object *c = NULL;
    int rc = gw_jwt_verify(s->key, s->key_len, token, now_s(), &c);
    if (rc < 0)
        return rc;
    const char *typ = gw__jstr(c, "typ"), *sid = gw__jstr(c, "sid"), *sub = gw__jstr(c, "sub");
    const char *iss = gw__jstr(c, "iss"), *fam = gw__jstr(c, "fam");
    rc = GW_EAUTH;
    if (!typ || !sid || !iss || strcmp(iss, "aisle") != 0 || strlen(sid) >= sizeof who->sid)
        goto out;
    snprintf(who->sid, sizeof who->sid, "%s", sid);
    if (strcmp(typ, "session") == 0) {
        rc = 0;
    } else if (strcmp(typ, "access") == 0 && sub) {
        char *end;
        long long id = strtoll(sub, &end, 10);
        if (*end || id <= 0)
            goto out;
        /* logged out (or its refresh token reused): refused before expiry */
        if (fam && gw__family_revoked(s, fam))
            goto out;
        who->user_id = id;
        const char *role = gw__jstr(c, "role");
        snprintf(who->role, sizeof who->role, "%s", role && strcmp(role, "admin") == 0 ? "admin" : "user");
        rc = 0;
    }
out:
    json_object_put(c);
    if (rc == 0)
        who->authenticated = 1;
    else
        memset(who, 0, sizeof *who);
    return rc;
}

int gw__authenticate(gw_req *r)
{
    const char *h = mg_get_header(r->conn, "Authorization");
    if (!h)
        return 0;
    if (strncasecmp(h, "Bearer ", 7) != 0)
        return GW_EAUTH;
    return gw__token_principal(r->srv, h + 7, &r->who);
}

static char *sign(gw_server *s, json_object *claims)
{
    char *tok = NULL;
    gw_jwt_sign(s->key, s->key_len, claims, &tok);
    json_object_put(claims);
    return tok;
}

static json_object *base_claims(const char *typ, const char *sid, int ttl_s)
{
    json_object *c = json_object_new_object();
    int64_t now = now_s();
    char jti[33];
    gw__random_hex(jti, 16);
    json_object_object_add(c, "iss", json_object_new_string("aisle"));
    json_object_object_add(c, "typ", json_object_new_string(typ));
    json_object_object_add(c, "sid", json_object_new_string(sid));
    json_object_object_add(c, "iat", json_object_new_int64(now));
    json_object_object_add(c, "exp", json_object_new_int64(now + ttl_s));
    json_object_object_add(c, "jti", json_object_new_string(jti));
    return c;
}

char *gw__session_token(gw_server *s, gw_principal *who)
{
    memset(who, 0, sizeof *who);
    gw__random_hex(who->sid, 16);
    who->authenticated = 1;
    return sign(s, base_claims("session", who->sid, s->cfg.session_token_ttl_s));
}

/* the role the store keeps for `u` (set only by `aisle admin grant`);
 * "user" when the store cannot tell: never admin by default */
static const char *user_role(gw_server *s, const store_user *u, char role[16])
{
    if (store_user_role_get(s->st, u->id, role, 16, NULL) < 0)
        snprintf(role, 16, "user");
    return role;
}

static void hash_token(const char *tok, char out[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)tok, strlen(tok));
    sodium_bin2hex(out, 65, h, sizeof h);
}

static json_object *user_json(gw_server *s, const store_user *u)
{
    char role[16];
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(u->id));
    json_object_object_add(o, "email", json_object_new_string(u->email));
    json_object_object_add(o, "name", json_object_new_string(u->name));
    json_object_object_add(o, "role", json_object_new_string(user_role(s, u, role)));
    json_object_object_add(o, "createdAt", json_object_new_int64(u->created_at));
    return o;
}

/* ------------------------------------------------------------------
 * The refresh token as a cookie (browsers): HttpOnly, so no script of the
 * page can read it; Secure and SameSite=Strict; sent only to the refresh
 * endpoint.  A client asks for it with "refreshCookie": true (login,
 * register); the answer then carries no refreshToken.  A refresh that
 * came by cookie is answered by cookie. */
#define REFRESH_COOKIE "aisle_refresh"
#define REFRESH_PATH "/api/v1/auth/refresh"

/* the Set-Cookie line for `raw` (NULL: clear it) */
static void refresh_cookie(gw_server *s, const char *raw, char *buf, size_t n)
{
    snprintf(buf, n, "Set-Cookie: " REFRESH_COOKIE "=%s; Path=" REFRESH_PATH "; Max-Age=%d; HttpOnly; Secure; "
             "SameSite=Strict\r\nCache-Control: no-store\r\n", raw ? raw : "", raw ? s->cfg.refresh_ttl_s : 0);
}

/* the refresh token of the request's Cookie header into out (false when
 * none, or not one of ours in shape: 64 hex digits) */
static bool cookie_token(gw_req *r, char out[65])
{
    const char *h = mg_get_header(r->conn, "Cookie");
    size_t nl = strlen(REFRESH_COOKIE);
    for (const char *p = h; p && *p;) {
        while (*p == ' ' || *p == ';')
            p++;
        if (strncmp(p, REFRESH_COOKIE, nl) == 0 && p[nl] == '=') {
            const char *v = p + nl + 1;
            size_t k = 0;
            while (k < 64 && isxdigit((unsigned char)v[k]))
                k++;
            if (k != 64 || (v[k] && v[k] != ';' && v[k] != ' '))
                return false;
            memcpy(out, v, 64);
            out[64] = 0;
            return true;
        }
        p = strchr(p, ';');
    }
    return false;
}

/* the body asked for the cookie ("refreshCookie": true) */
static bool wants_cookie(gw_req *r)
{
    /* the handlers have read the body by now */
    json_object *b = r->body && r->body_len ? json_tokener_parse(r->body) : NULL;
    bool yes = json_object_get_boolean(json_object_object_get(b, "refreshCookie"));
    json_object_put(b);
    return yes;
}

/* access + refresh tokens for `u` in session `sid`; the refresh token
 * `refresh` of family `fam` is already stored.  The access token names
 * the family so that logging out revokes it too. */
static json_object *token_answer(gw_server *s, const store_user *u, const char *sid, const char *fam,
                                 const char *refresh, bool cookie)
{
    json_object *c = base_claims("access", sid, s->cfg.access_ttl_s);
    char sub[32], role[16];
    snprintf(sub, sizeof sub, "%" PRId64, u->id);
    json_object_object_add(c, "sub", json_object_new_string(sub));
    json_object_object_add(c, "fam", json_object_new_string(fam));
    json_object_object_add(c, "role", json_object_new_string(user_role(s, u, role)));
    char *access = sign(s, c);
    if (!access)
        return NULL;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "accessToken", json_object_new_string(access));
    json_object_object_add(o, "tokenType", json_object_new_string("Bearer"));
    json_object_object_add(o, "expiresIn", json_object_new_int(s->cfg.access_ttl_s));
    if (!cookie)
        json_object_object_add(o, "refreshToken", json_object_new_string(refresh));
    json_object_object_add(o, "refreshExpiresIn", json_object_new_int(s->cfg.refresh_ttl_s));
    json_object_object_add(o, "sessionId", json_object_new_string(sid));
    json_object_object_add(o, "user", user_json(s, u));
    free(access);
    return o;
}

/* log `u` in within session `sid`: a new refresh family, merge the
 * anonymous cart, audit.  Sends the reply. */
static void login_reply(gw_req *r, const store_user *u, int status, const char *how)
{
    gw_server *s = r->srv;
    char sid[80];
    /* keep the conversation when an anonymous session logs in */
    if (r->who.authenticated && !r->who.user_id)
        snprintf(sid, sizeof sid, "%s", r->who.sid);
    else
        gw__random_hex(sid, 16);
    char raw[65], hash[65], fam[64], suffix[9];
    gw__random_hex(raw, 32);
    hash_token(raw, hash);
    gw__random_hex(suffix, 4);
    snprintf(fam, sizeof fam, "%.40s.%s", sid, suffix);
    store_err e = {0};
    if (store_token_put(s->st, hash, fam, u->id, store_now_ms(s->st) + (int64_t)s->cfg.refresh_ttl_s * 1000, &e) < 0) {
        gw__problem(r, 503, "store-unavailable", "Store unavailable", "%s", e.msg);
        return;
    }
    gw_principal who = {.authenticated = 1, .user_id = u->id};
    snprintf(who.sid, sizeof who.sid, "%s", sid);
    if (r->who.authenticated && !r->who.user_id && r->who.sid[0]) {
        /* the anonymous cart joins the user's, through the commerce core */
        char from[128], into[128];
        gw__cart_id(&r->who, from, sizeof from);
        gw__cart_id(&who, into, sizeof into);
        gw_shop g;
        gw__shop_open(s, &who, &g);
        if (eng_shop_cart_merge(&g.w, r->who.sid, &g.r) == 0 && g.r.status == ENG_SHOP_OK) {
            gw__cart_changed(s, from, NULL);
            gw__cart_changed(s, into, NULL);
        }
        gw__shop_close(&g);
    }
    json_object *d = json_object_new_object();
    json_object_object_add(d, "ip", json_object_new_string(r->ip));
    json_object_object_add(d, "how", json_object_new_string(how));
    gw__audit(s, &who, strcmp(how, "register") == 0 ? "auth.register" : "auth.login", u->email, d);
    bool cookie = wants_cookie(r);
    json_object *o = token_answer(s, u, sid, fam, raw, cookie);
    char set[256] = "";
    if (cookie)
        refresh_cookie(s, raw, set, sizeof set);
    if (!o)
        gw__problem(r, 503, "unavailable", "Server busy", "Could not sign the token.");
    else
        gw__json_h(r, status, o, set);
}

void gw__h_anonymous(gw_req *r)
{
    gw_principal who;
    char *tok = gw__session_token(r->srv, &who);
    if (!tok) {
        gw__problem(r, 503, "unavailable", "Server busy", "Could not sign the token.");
        return;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "sessionId", json_object_new_string(who.sid));
    json_object_object_add(o, "sessionToken", json_object_new_string(tok));
    json_object_object_add(o, "expiresIn", json_object_new_int(r->srv->cfg.session_token_ttl_s));
    free(tok);
    gw__json(r, 201, o);
}

/* a string member whole: NULL when absent, not a string, or holding a
 * NUL (json-c keeps "\u0000"; C would silently cut the value there) */
static const char *jstr_whole(json_object *o, const char *key)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    const char *p = json_object_get_string(v);
    return strlen(p) == (size_t)json_object_get_string_len(v) ? p : NULL;
}

static bool has_nul(json_object *o, const char *key)
{
    return gw__jstr(o, key) && !jstr_whole(o, key);
}

static bool email_ok(const char *e)
{
    if (!gw__str_ok(e, 254))
        return false;
    const char *at = strchr(e, '@');
    return at && at > e && at[1] && !strchr(at + 1, '@') && !strpbrk(e, " \t\r\n<>\"");
}

void gw__h_register(gw_req *r)
{
    json_object *b;
    if (gw__body_object(r, &b) < 0)
        return;
    const char *email = jstr_whole(b, "email"), *pw = jstr_whole(b, "password"), *name = jstr_whole(b, "name");
    if (has_nul(b, "email") || has_nul(b, "password") || has_nul(b, "name")) {
        gw__problem(r, 422, "validation", "Invalid field", "email, password and name must not contain NUL.");
    } else if (!email_ok(email)) {
        gw__problem(r, 422, "validation", "Invalid field", "email: a valid e-mail address is required.");
    } else if (!pw || strlen(pw) < 8 || strlen(pw) > 1024) {
        gw__problem(r, 422, "validation", "Invalid field", "password: 8 to 1024 bytes.");
    } else if (name && strlen(name) > 120) {
        gw__problem(r, 422, "validation", "Invalid field", "name: at most 120 bytes.");
    } else {
        char hash[crypto_pwhash_STRBYTES];
        if (crypto_pwhash_str(hash, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
            gw__problem(r, 503, "unavailable", "Server busy", "Out of memory while hashing.");
        } else {
            store_err e = {0};
            int64_t id = 0;
            int rc = store_user_create(r->srv->st, email, hash, name ? name : "", &id, &e);
            store_user u = {0};
            if (rc == STORE_EEXIST)
                gw__problem(r, 409, "email-taken", "E-mail already registered",
                            "An account with this e-mail exists; log in instead.");
            else if (rc < 0 || store_user_get(r->srv->st, id, &u, &e) < 0)
                gw__problem(r, 503, "store-unavailable", "Store unavailable", "%s", e.msg);
            else
                login_reply(r, &u, 201, "register");
        }
    }
    json_object_put(b);
}

/* a real Argon2id hash to verify against when the e-mail is unknown, so
 * that the answer takes as long as for a known one */
static char dummy_hash[crypto_pwhash_STRBYTES];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static void make_dummy(void)
{
    if (crypto_pwhash_str(dummy_hash, "not-a-password", 14, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        dummy_hash[0] = 0;   /* out of memory: verification then fails fast */
}

void gw__h_login(gw_req *r)
{
    json_object *b;
    if (gw__body_object(r, &b) < 0)
        return;
    const char *email = jstr_whole(b, "email"), *pw = jstr_whole(b, "password");
    if (!gw__str_ok(email, 254) || !pw || strlen(pw) > 1024) {
        gw__problem(r, 422, "validation", "Invalid field",
                    has_nul(b, "email") || has_nul(b, "password") ? "email and password must not contain NUL."
                                                                   : "email and password are required.");
        json_object_put(b);
        return;
    }
    /* throttled before any hash is computed: per account, whatever the
     * source address, and per address, whatever the account */
    int wait = gw__login_gate(r->srv, r->ip, email);
    if (wait > 0) {
        json_object *d = json_object_new_object();
        json_object_object_add(d, "ip", json_object_new_string(r->ip));
        json_object_object_add(d, "retryAfter", json_object_new_int(wait));
        gw__log("warn", "login_throttled", d);
        gw__problem_retry(r, 429, "login-throttled", "Too many login attempts", wait,
                          "Too many failed logins for this account or from this address; "
                          "try again after Retry-After seconds.");
        json_object_put(b);
        return;
    }
    store_user u = {0};
    store_err e = {0};
    int rc = store_user_get_by_email(r->srv->st, email, &u, &e);
    if (rc == STORE_ENOTFOUND) {
        pthread_once(&dummy_once, make_dummy);
        if (crypto_pwhash_str_verify(dummy_hash, pw, strlen(pw)) == 0) { /* never: the timing is the point */ }
    }
    if (rc < 0 && rc != STORE_ENOTFOUND)
        gw__problem(r, 503, "store-unavailable", "Store unavailable", "%s", e.msg);
    else if (rc < 0 || crypto_pwhash_str_verify(u.password_hash, pw, strlen(pw)) != 0) {
        json_object *d = json_object_new_object();
        json_object_object_add(d, "ip", json_object_new_string(r->ip));
        gw__audit(r->srv, &r->who, "auth.login_failed", email, d);
        gw__login_result(r->srv, r->ip, email, false);
        gw__problem(r, 401, "invalid-credentials", "Wrong e-mail or password", NULL);
    } else {
        gw__login_result(r->srv, r->ip, email, true);
        login_reply(r, &u, 200, "password");
    }
    json_object_put(b);
}

/* Reads a refresh or logout body: oh gets the hash of its refreshToken
 * (else of the refresh cookie's, *by_cookie set), raw a fresh token to
 * rotate to and nh that one's hash.  -1 when the body was bad and the
 * reply has been sent. */
static int rotation_tokens(gw_req *r, char oh[65], char raw[65], char nh[65], bool *by_cookie)
{
    json_object *b;
    *by_cookie = false;
    if (!r->body && gw__read_body(r) < 0)
        return -1;
    if (r->body_len == 0) {
        b = json_object_new_object();   /* a cookie needs no body */
    } else if (gw__body_object(r, &b) < 0) {
        return -1;
    }
    const char *old = gw__jstr(b, "refreshToken");
    char from_cookie[65];
    if (!old && cookie_token(r, from_cookie)) {
        old = from_cookie;
        *by_cookie = true;
    }
    if (!gw__str_ok(old, 256)) {
        gw__problem(r, 422, "validation", "Invalid field", "refreshToken is required.");
        json_object_put(b);
        return -1;
    }
    hash_token(old, oh);
    json_object_put(b);
    gw__random_hex(raw, 32);
    hash_token(raw, nh);
    return 0;
}

void gw__h_refresh(gw_req *r)
{
    gw_server *s = r->srv;
    char oh[65], raw[65], nh[65];
    bool cookie;
    if (rotation_tokens(r, oh, raw, nh, &cookie) < 0)
        return;
    store_token t = {0};
    store_err e = {0};
    int rc = store_token_rotate(s->st, oh, nh, store_now_ms(s->st) + (int64_t)s->cfg.refresh_ttl_s * 1000, &t, &e);
    if (rc == STORE_EREVOKED) {
        json_object *d = json_object_new_object();
        json_object_object_add(d, "ip", json_object_new_string(r->ip));
        json_object_object_add(d, "family", json_object_new_string(t.family));
        gw_principal who = {.user_id = t.user_id};
        gw__revoke_family(s, t.family);   /* its access tokens too */
        gw__log("warn", "refresh_reuse", json_object_get(d));
        gw__audit(s, &who, "auth.refresh_reuse", "refresh-token", d);   /* consumes d */
        gw__problem(r, 401, "refresh-token-reused",
                    "Refresh token already used",
                    "This refresh token was used before; every session of its family is now logged out.");
        return;
    }
    if (rc == STORE_EEXPIRED || rc == STORE_ENOTFOUND) {
        gw__problem(r, 401, rc == STORE_EEXPIRED ? "token-expired" : "invalid-token",
                    rc == STORE_EEXPIRED ? "Refresh token expired" : "Unknown refresh token", "Log in again.");
        return;
    }
    cookie = cookie || wants_cookie(r);
    store_user u = {0};
    if (rc < 0 || store_user_get(s->st, t.user_id, &u, &e) < 0) {
        gw__problem(r, 503, "store-unavailable", "Store unavailable", "%s", e.msg);
        return;
    }
    char sid[80];
    snprintf(sid, sizeof sid, "%s", t.family);
    sid[strcspn(sid, ".")] = 0;
    json_object *o = token_answer(s, &u, sid, t.family, raw, cookie);
    char set[256] = "";
    if (cookie)
        refresh_cookie(s, raw, set, sizeof set);
    if (!o)
        gw__problem(r, 503, "unavailable", "Server busy", "Could not sign the token.");
    else
        gw__json_h(r, 200, o, set);
}

/* the refresh family an access token names (false when the request has
 * none, or an invalid one) */
static bool access_family(gw_req *r, char *fam, size_t n)
{
    const char *h = mg_get_header(r->conn, "Authorization");
    json_object *c = NULL;
    if (!h || strncasecmp(h, "Bearer ", 7) != 0 ||
        gw_jwt_verify(r->srv->key, r->srv->key_len, h + 7, now_s(), &c) < 0)
        return false;
    const char *f = gw__jstr(c, "fam"), *typ = gw__jstr(c, "typ");
    bool ok = f && typ && strcmp(typ, "access") == 0 && strlen(f) < n;
    if (ok)
        snprintf(fam, n, "%s", f);
    json_object_put(c);
    return ok;
}

void gw__h_logout(gw_req *r)
{
    gw_server *s = r->srv;
    char oh[65], raw[65], nh[65];
    char set[256];
    refresh_cookie(s, NULL, set, sizeof set);   /* a browser's cookie goes too */
    /* a browser keeps its refresh token in a cookie only the refresh
     * endpoint gets: it logs out with its access token, whose family is
     * revoked */
    char fam[64];
    if (!r->body && gw__read_body(r) < 0)
        return;
    if (r->body_len == 0 && access_family(r, fam, sizeof fam)) {
        store_token_revoke_family(s->st, fam, NULL);
        gw__revoke_family(s, fam);
        gw__audit(s, &r->who, "auth.logout", "access-token", NULL);
        gw__reply(r, 204, "text/plain", "", 0, set);
        return;
    }
    /* the store finds a family only through a rotation: rotate to a
     * throwaway hash, then revoke the family it names */
    bool by_cookie;
    if (rotation_tokens(r, oh, raw, nh, &by_cookie) < 0)
        return;
    store_token t = {0};
    if (store_token_rotate(s->st, oh, nh, store_now_ms(s->st) + 1000, &t, NULL) == 0) {
        store_token_revoke_family(s->st, t.family, NULL);
        gw__revoke_family(s, t.family);   /* and its access tokens, before they expire */
        gw_principal who = {.user_id = t.user_id};
        gw__audit(s, &who, "auth.logout", "refresh-token", NULL);
    }
    gw__reply(r, 204, "text/plain", "", 0, set);
}

void gw__h_me(gw_req *r)
{
    store_user u = {0};
    store_err e = {0};
    int rc = store_user_get(r->srv->st, r->who.user_id, &u, &e);
    if (rc == STORE_ENOTFOUND)
        gw__problem(r, 401, "unauthorized", "Account no longer exists", NULL);
    else if (rc < 0)
        gw__problem(r, 503, "store-unavailable", "Store unavailable", "%s", e.msg);
    else {
        json_object *o = user_json(r->srv, &u);
        json_object_object_add(o, "sessionId", json_object_new_string(r->who.sid));
        gw__json(r, 200, o);
    }
}

void gw__h_memory(gw_req *r)
{
    char *js = NULL;
    store_err e = {0};
    if (store_memory_list(r->srv->st, r->who.user_id, NULL, &js, &e) < 0) {
        gw__problem(r, 503, "store-unavailable", "Store unavailable", "%s", e.msg);
        return;
    }
    json_object *m = json_tokener_parse(js);
    free(js);
    gw__json(r, 200, m ? m : json_object_new_object());
}

void gw__h_memory_delete(gw_req *r)
{
    store_err e = {0};
    int rc = store_memory_delete(r->srv->st, r->who.user_id, r->params[0], r->params[1], &e);
    if (rc == STORE_ENOTFOUND)
        gw__problem(r, 404, "not-found", "No such memory entry", NULL);
    else if (rc < 0)
        gw__problem(r, 503, "store-unavailable", "Store unavailable", "%s", e.msg);
    else {
        gw__audit(r->srv, &r->who, "memory.delete", r->params[0], NULL);
        gw__reply(r, 204, "text/plain", "", 0, NULL);
    }
}
