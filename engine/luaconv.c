/* engine/luaconv.c — converts the turn context between json-c and Lua
 * values for the sandbox. The mapping and its edge cases (null, empty
 * tables, key order, depth) are described in engine/luaconv_int.h. */
#include "luaconv_int.h"
#include <lauxlib.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ JSON -> Lua */

static void push(lua_State *L, json_object *v, int arrays, int depth, bool in_array)
{
    if (depth > ENG_LUACONV_MAX_DEPTH)
        luaL_error(L, "context nested deeper than %d levels", ENG_LUACONV_MAX_DEPTH);
    luaL_checkstack(L, 4, "context nested too deep");
    switch (json_object_get_type(v)) {
    case json_type_null:
        if (in_array)
            lua_pushlightuserdata(L, NULL);
        else
            lua_pushnil(L);
        break;
    case json_type_boolean:
        lua_pushboolean(L, json_object_get_boolean(v));
        break;
    case json_type_double:
        lua_pushnumber(L, json_object_get_double(v));
        break;
    case json_type_int:
        lua_pushinteger(L, (lua_Integer)json_object_get_int64(v));
        break;
    case json_type_string:
        lua_pushlstring(L, json_object_get_string(v), (size_t)json_object_get_string_len(v));
        break;
    case json_type_object: {
        lua_createtable(L, 0, json_object_object_length(v));
        json_object_object_foreach(v, key, val) {
            if (!val)
                continue; /* null member: absent, i.e. nil */
            push(L, val, arrays, depth + 1, false);
            lua_setfield(L, -2, key);
        }
        break;
    }
    case json_type_array: {
        size_t n = json_object_array_length(v);
        lua_createtable(L, n > INT_MAX ? INT_MAX : (int)n, 0);
        for (size_t i = 0; i < n; i++) {
            push(L, json_object_array_get_idx(v, i), arrays, depth + 1, true);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        if (arrays) {
            /* remember it was an array, so that it goes back as [] even
             * when the script empties it */
            lua_pushvalue(L, -1);
            lua_pushboolean(L, 1);
            lua_rawset(L, arrays);
        }
        break;
    }
    }
}

void eng__lua_push_json(lua_State *L, json_object *v, int arrays)
{
    push(L, v, arrays, 1, false);
}

/* ------------------------------------------------------------ Lua -> JSON */

typedef struct conv {
    lua_State *L;
    int arrays;
    int depth;
    const void *path[ENG_LUACONV_MAX_DEPTH]; /* tables being converted, outermost first */
    char *msg;
    size_t msglen;
} conv;

/* A value with no JSON form (function, userdata): dropped from objects,
 * null in arrays. */
#define NOT_JSON 1

typedef struct member {
    const char *key;
    size_t klen;
    json_object *val;
    char num[32]; /* the key's text when the Lua key is a number */
} member;

static int value(conv *cv, int idx, json_object **out);

static int member_cmp(const void *a, const void *b)
{
    const member *x = a, *y = b;
    size_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = memcmp(x->key, y->key, n);
    if (c)
        return c;
    return x->klen < y->klen ? -1 : x->klen > y->klen;
}

static int array(conv *cv, int idx, lua_Integer n, json_object **out)
{
    lua_State *L = cv->L;
    json_object *a = json_object_new_array();
    if (!a)
        return ENG_ENOMEM;
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, i);
        json_object *e = NULL;
        int rc = value(cv, lua_gettop(L), &e);
        lua_pop(L, 1);
        if (rc < 0 || json_object_array_add(a, e) != 0) {
            json_object_put(e);
            json_object_put(a);
            return rc < 0 ? rc : ENG_ENOMEM;
        }
    }
    *out = a;
    return 0;
}

static int object(conv *cv, int idx, lua_Integer n, json_object **out)
{
    lua_State *L = cv->L;
    member *m = n ? eng__calloc((size_t)n, sizeof *m) : NULL;
    if (n && !m)
        return ENG_ENOMEM;
    size_t k = 0;
    int rc = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        member *it = &m[k];
        int kt = lua_type(L, -2);
        if (kt == LUA_TSTRING) {
            it->key = lua_tolstring(L, -2, &it->klen); /* a string: no conversion in place */
        } else if (kt == LUA_TNUMBER) {
            /* lua_tolstring would turn the key into a string in place and
             * break lua_next, so format it ourselves */
            int w = lua_isinteger(L, -2)
                        ? snprintf(it->num, sizeof it->num, "%lld", (long long)lua_tointeger(L, -2))
                        : snprintf(it->num, sizeof it->num, "%.17g", (double)lua_tonumber(L, -2));
            it->key = it->num;
            it->klen = w > 0 && (size_t)w < sizeof it->num ? (size_t)w : strlen(it->num);
        } else {
            lua_pop(L, 1);
            continue;
        }
        rc = value(cv, lua_gettop(L), &it->val);
        lua_pop(L, 1);
        if (rc < 0) {
            lua_pop(L, 1); /* the key: traversal stops here */
            break;
        }
        if (rc == NOT_JSON)
            continue;
        k++;
    }
    json_object *o = rc < 0 ? NULL : json_object_new_object();
    if (o) {
        /* sorted, so that output does not depend on Lua's seeded hashing */
        if (k)
            qsort(m, k, sizeof *m, member_cmp);
        for (size_t i = 0; i < k; i++) {
            /* json-c keys are C strings; Lua strings always end in NUL */
            if (json_object_object_add(o, m[i].key, m[i].val) != 0) {
                rc = ENG_ENOMEM;
                break;
            }
            m[i].val = NULL;
        }
    } else if (rc == 0) {
        rc = ENG_ENOMEM;
    }
    for (size_t i = 0; i < k; i++)
        json_object_put(m[i].val);
    eng__free(m);
    if (rc < 0) {
        json_object_put(o);
        return rc;
    }
    *out = o;
    return 0;
}

static int table(conv *cv, int idx, json_object **out)
{
    lua_State *L = cv->L;
    const void *self = lua_topointer(L, idx);
    for (int i = 0; i < cv->depth; i++)
        if (cv->path[i] == self) {
            snprintf(cv->msg, cv->msglen, "table contains itself (a cycle), cannot convert to JSON");
            return ENG_EINVAL;
        }
    if (cv->depth >= ENG_LUACONV_MAX_DEPTH) {
        snprintf(cv->msg, cv->msglen, "tables nested deeper than %d levels, cannot convert to JSON",
                 ENG_LUACONV_MAX_DEPTH);
        return ENG_EINVAL;
    }
    if (!lua_checkstack(L, 4))
        return ENG_ENOMEM;

    /* one pass to tell a sequence 1..n from anything else */
    lua_Integer n = 0, maxk = 0;
    bool seq = true;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        n++;
        if (seq && lua_isinteger(L, -2)) {
            lua_Integer key = lua_tointeger(L, -2);
            if (key < 1)
                seq = false;
            else if (key > maxk)
                maxk = key;
        } else {
            seq = false;
        }
        lua_pop(L, 1);
    }
    bool is_array = seq && n > 0 && maxk == n;
    if (n == 0 && cv->arrays) {
        lua_pushvalue(L, idx);
        is_array = lua_rawget(L, cv->arrays) != LUA_TNIL;
        lua_pop(L, 1);
    }
    cv->path[cv->depth++] = self;
    int rc = is_array ? array(cv, idx, n, out) : object(cv, idx, n, out);
    cv->depth--;
    return rc;
}

static int value(conv *cv, int idx, json_object **out)
{
    lua_State *L = cv->L;
    *out = NULL;
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        return 0;
    case LUA_TBOOLEAN:
        *out = json_object_new_boolean(lua_toboolean(L, idx));
        break;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            *out = json_object_new_int64((int64_t)lua_tointeger(L, idx));
        } else {
            double d = (double)lua_tonumber(L, idx);
            if (!isfinite(d))
                return 0; /* JSON has no NaN or infinity: null */
            *out = json_object_new_double(d);
        }
        break;
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        if (len > INT_MAX)
            return ENG_ENOMEM;
        *out = json_object_new_string_len(s, (int)len);
        break;
    }
    case LUA_TLIGHTUSERDATA:
        return lua_touserdata(L, idx) == NULL ? 0 : NOT_JSON; /* the null sentinel */
    case LUA_TTABLE:
        return table(cv, idx, out);
    default:
        return NOT_JSON;
    }
    return *out ? 0 : ENG_ENOMEM;
}

int eng__lua_to_json(lua_State *L, int idx, int arrays, json_object **out,
                     char *msg, size_t msglen)
{
    conv cv = {.L = L, .arrays = arrays, .msg = msg, .msglen = msglen};
    *out = NULL;
    if (msglen)
        msg[0] = '\0';
    int top = lua_gettop(L);
    int rc = value(&cv, lua_absindex(L, idx), out);
    lua_settop(L, top);
    if (rc == ENG_ENOMEM && msglen)
        snprintf(msg, msglen, "out of memory converting to JSON");
    return rc < 0 ? rc : 0;
}
