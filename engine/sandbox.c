/* engine/sandbox.c — the sandboxed Lua runtime: compiles router
 * conditions and `lua` stage scripts once into bytecode, and runs them in
 * capped, allow-listed Lua states, lent to a thread for one call from a
 * small pool (eng__sandbox_acquire). One call may run a function of
 * several scripts in turn (eng__sandbox_call_each: the rules files of a
 * hook), each inside a protected call of its own with its own budget, so
 * that a limit stops that script alone, and their arguments converted
 * once.
 *
 * What a script can reach: base functions that cannot touch the outside
 * (no dofile, loadfile, require, collectgarbage; print is a no-op; load
 * takes source text only, at most LOAD_MAX bytes, and runs it in a fresh
 * sandboxed environment; pcall/xpcall cannot catch a limit error;
 * setmetatable refuses a metatable with __gc), and the string, table,
 * math and utf8 libraries behind read-only proxies (no string.dump;
 * getmetatable("") does not give the string table away). Each script
 * runs in its own environment, so it cannot change the globals another
 * script sees.
 *
 * Limits, per call unless noted:
 *   - instructions: a count hook every HOOK_EVERY VM instructions charges
 *     the budget (default 10,000,000; per script in a call_each) and
 *     checks the deadline;
 *   - pattern matching: string.find, match, gmatch and gsub are Lua's own
 *     matcher with its steps counted (engine/luapat.c): every step is
 *     charged to the same budget and every 1,024 steps the deadline is
 *     checked, so a backtracking pattern stops like a loop does (the
 *     count hook never fires inside a C function);
 *   - finalizers: Lua runs __gc with hooks off, so nothing could stop one
 *     that loops (not in a turn, not in lua_close when a worker exits);
 *     setmetatable therefore refuses any metatable that has a __gc field;
 *   - memory: the allocator refuses growth past mem_bytes (default 32 MiB,
 *     for the whole state); after a refusal a full GC makes the state
 *     usable again;
 *   - other C functions the hook cannot interrupt are guarded by size:
 *     string.rep results at most REP_MAX (1 MiB); string.find, match,
 *     gmatch and gsub take subjects of at most SUBJECT_MAX (256 KiB) and
 *     patterns of at most PATTERN_MAX (1 KiB); table.sort at most SORT_MAX
 *     (100,000) elements; table.move at most MOVE_MAX (1 Mi) elements.
 *     A refused call stops the chunk with ENG_ELIMIT, like the limits above.
 * What remains: other C calls still run to their end once started, so a
 * loop of cheap-looking calls doing O(n) work on big strings or tables
 * (s:upper(), table.insert(t, 1, x), table.concat) costs more time than
 * its instruction count says: each call is bounded by the size guards
 * and the memory cap, and the deadline, checked by the same hook between
 * instructions, is the backstop. Turns should always pass one.
 */
#include "eng_int.h"
#include "luaconv_int.h"
#include "luapat_int.h"
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_MEM ((size_t)32 << 20)
#define DEFAULT_INSTRUCTIONS 10000000ull
#define HOOK_EVERY 1000
#define CACHE_MAX 4096
#define REP_MAX ((size_t)1 << 20)
#define SUBJECT_MAX ((size_t)256 << 10)
#define PATTERN_MAX ((size_t)1 << 10)
#define SORT_MAX 100000
#define MOVE_MAX ((lua_Integer)1 << 20)
#define LOAD_MAX ((size_t)256 << 10)

/* Values kept for the state's whole life at the bottom of its main stack,
 * so that the hot path reaches them without a registry lookup. */
enum {
    SLOT_MSGH = 1,  /* message handler for every lua_pcall */
    SLOT_CACHE,     /* chunk id -> expression function or script env */
    SLOT_EXPR_ENV,  /* _ENV of every expression; emptied after each eval */
    SLOT_SCRIPT_MT, /* metatable of script environments */
    SLOT_ARRAYS,    /* weak set of tables converted from JSON arrays */
    NSLOT = SLOT_ARRAYS
};

/* Why a call was stopped. Kept apart from the Lua error value, which a
 * script's own handler could rewrite. */
typedef enum abort_reason { AB_NONE = 0, AB_BUDGET, AB_DEADLINE, AB_MEMORY, AB_GUARD } abort_reason;

struct eng_sandbox {
    lua_State *L;
    eng_sandbox_limits lim;
    size_t mem;            /* bytes the state holds, as Lua counts them */
    bool mem_hit;          /* the cap refused an allocation this call */
    abort_reason abort;
    int abort_line;        /* where a limit stopped the chunk; 0 = unknown */
    int err_line;          /* line of the last runtime error; 0 = unknown */
    char guard_msg[96];    /* what a size guard refused (AB_GUARD) */
    uint64_t used;         /* instructions charged this call */
    int64_t deadline;      /* eng_now_us() clock; 0 = none */
    const eng_chunk *cur;  /* the chunk this call runs */
    json_object *ctx;      /* context an expression resolves names in */
    unsigned cached;       /* entries in the chunk cache */
    bool each_live;        /* an eng__sandbox_call_each is running */
    const char *const *track; /* its ctx members to report reads of */
    uint32_t reads;        /* what it read of them; ENG_SANDBOX_RANDOM */
};

static _Atomic uint64_t next_chunk_id = 1;

static eng_sandbox *get_sb(lua_State *L) { return *(eng_sandbox **)lua_getextraspace(L); }

/* ------------------------------------------------------------ allocators */

/* Lua must be able to shrink a block; if the hook refuses a shrink (an
 * injected failure), the old block is still big enough. */
static void *plain_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)ud;
    if (nsize == 0) {
        eng__free(ptr);
        return NULL;
    }
    void *p = eng__realloc(ptr, nsize);
    return p || !ptr || nsize > osize ? p : ptr;
}

static void *capped_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    eng_sandbox *sb = ud;
    size_t old = ptr ? osize : 0; /* with ptr == NULL, osize is a type tag */
    if (nsize == 0) {
        eng__free(ptr);
        sb->mem -= old;
        return NULL;
    }
    if (nsize > old && sb->mem - old + nsize > sb->lim.mem_bytes) {
        sb->mem_hit = true;
        return NULL;
    }
    void *p = eng__realloc(ptr, nsize);
    if (!p) {
        if (ptr && nsize <= old)
            p = ptr;
        else
            return NULL;
    }
    sb->mem = sb->mem - old + nsize;
    return p;
}

/* ------------------------------------------------------------- compiling */

static int dump_writer(lua_State *L, const void *p, size_t sz, void *ud)
{
    (void)L;
    eng_buf *b = ud;
    eng__buf_add(b, p, sz);
    return b->oom;
}

/* Lua prefixes messages with the chunk's short source: for "=name" the
 * first LUA_IDSIZE - 1 bytes of name. */
static size_t short_src_len(const char *name)
{
    size_t n = strlen(name);
    return n < LUA_IDSIZE - 1 ? n : LUA_IDSIZE - 1;
}

/* Split "NAME:LINE: text" (NAME the chunk's short source); returns the
 * line and points *rest at text, or returns 0 when msg has no such
 * prefix. */
static int split_pos(const char *msg, const char *name, const char **rest)
{
    size_t n = short_src_len(name);
    if (strncmp(msg, name, n) != 0 || msg[n] != ':' || msg[n + 1] < '0' || msg[n + 1] > '9')
        return 0;
    const char *p = msg + n + 1;
    long line = 0;
    while (*p >= '0' && *p <= '9' && line < 100000000)
        line = line * 10 + (*p++ - '0');
    if (*p != ':')
        return 0;
    p++;
    if (*p == ' ')
        p++;
    *rest = p;
    return (int)line;
}

int eng__chunk_compile(eng_pool *pool, const char *name, const char *src,
                       size_t len, bool is_expr, eng_chunk *c, eng_err *err)
{
    if (!pool || !name || !src || !c)
        return eng_err_set(err, ENG_EINVAL, "eng__chunk_compile: missing argument");
    memset(c, 0, sizeof *c);
    eng_buf text, chunkname, code;
    eng__buf_init(&text);
    eng__buf_init(&chunkname);
    eng__buf_init(&code);
    if (is_expr) {
        /* the newline keeps a trailing `-- comment` from eating the ")" */
        eng__buf_adds(&text, "return (");
        eng__buf_add(&text, src, len);
        eng__buf_adds(&text, "\n)");
    }
    /* "=name": messages and debug info say `name`, not [string "..."] */
    eng__buf_addc(&chunkname, '=');
    eng__buf_adds(&chunkname, name);
    int rc = 0;
    lua_State *L = NULL;
    if (text.oom || chunkname.oom || !(L = lua_newstate(plain_alloc, NULL))) {
        rc = eng_err_set(err, ENG_ENOMEM, "out of memory compiling %s", name);
        goto out;
    }
    int st = is_expr ? luaL_loadbufferx(L, text.data, text.len, chunkname.data, "t")
                     : luaL_loadbufferx(L, src, len, chunkname.data, "t");
    if (st == LUA_ERRSYNTAX) {
        const char *msg = lua_tostring(L, -1), *rest = msg;
        int line = split_pos(msg, name, &rest);
        if (is_expr && line > 1) {
            /* the closing ")" sits on a line of its own: clamp to src */
            int lines = 1;
            for (size_t i = 0; i < len; i++)
                lines += src[i] == '\n';
            if (line > lines)
                line = lines;
        }
        rc = eng_err_set(err, ENG_ELUA, "%s", rest);
        if (err) {
            err->line = line;
            err->col = 0;
            snprintf(err->file, sizeof err->file, "%s", name);
        }
        goto out;
    }
    if (st != LUA_OK || lua_dump(L, dump_writer, &code, 0) != 0 || code.oom) {
        rc = eng_err_set(err, ENG_ENOMEM, "out of memory compiling %s", name);
        goto out;
    }
    c->bytecode = eng__pool_alloc(pool, code.len);
    c->name = eng__pool_strdup(pool, name);
    if (!c->bytecode || !c->name) {
        memset(c, 0, sizeof *c);
        rc = eng_err_set(err, ENG_ENOMEM, "out of memory compiling %s", name);
        goto out;
    }
    memcpy(c->bytecode, code.data, code.len);
    c->len = code.len;
    c->is_expr = is_expr;
    c->line_base = 0;
    c->id = atomic_fetch_add(&next_chunk_id, 1);
out:
    if (L)
        lua_close(L);
    eng__buf_free(&text);
    eng__buf_free(&chunkname);
    eng__buf_free(&code);
    return rc;
}

/* ------------------------------------------------- hook, errors, limits */

/* The line, in the chunk's file, of the innermost frame running chunk c
 * (frames of text loaded with `load` are skipped); 0 when none. */
static int chunk_line(lua_State *L, const eng_chunk *c)
{
    lua_Debug ar;
    if (!c)
        return 0;
    for (int level = 0; level < 200 && lua_getstack(L, level, &ar); level++) {
        if (!lua_getinfo(L, "Sl", &ar) || ar.currentline <= 0)
            continue;
        if (ar.source[0] == '=' && strcmp(ar.source + 1, c->name) == 0)
            return ar.currentline + c->line_base;
    }
    return 0;
}

static const char *abort_text(abort_reason r)
{
    switch (r) {
    case AB_BUDGET: return "instruction budget exceeded";
    case AB_DEADLINE: return "deadline exceeded";
    case AB_MEMORY: return "memory limit exceeded";
    case AB_GUARD: return "size limit exceeded";
    default: return "stopped";
    }
}

/* Once a limit is hit the hook raises again every HOOK_EVERY
 * instructions, so that not even a __close or __gc handler keeps going. */
/* Work done inside a C function the hook cannot reach (the pattern
 * matcher of engine/luapat.c), charged like instructions. Raises the
 * limit error, which pcall cannot catch, once the budget or the deadline
 * is past. The count hook charges through it too. */
void eng__sandbox_charge(lua_State *L, unsigned n)
{
    eng_sandbox *sb = get_sb(L);
    if (sb->abort == AB_NONE) {
        sb->used += n;
        if (sb->used > sb->lim.instructions)
            sb->abort = AB_BUDGET;
        else if (sb->deadline && eng_now_us() > sb->deadline)
            sb->abort = AB_DEADLINE;
        else
            return;
        sb->abort_line = chunk_line(L, sb->cur);
    }
    luaL_error(L, "%s", abort_text(sb->abort));
}

static void count_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    eng__sandbox_charge(L, HOOK_EVERY);
}

/* Message handler: rewrite "NAME:LINE:" so LINE counts in the chunk's
 * file (plus line_base), or add the position when the error has none.
 * It never calls __tostring: no script code runs while handling. */
static int msgh(lua_State *L)
{
    eng_sandbox *sb = get_sb(L);
    const eng_chunk *c = sb->cur;
    const char *m = lua_type(L, 1) == LUA_TSTRING || lua_type(L, 1) == LUA_TNUMBER ? lua_tostring(L, 1) : NULL;
    if (!m)
        m = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    if (!c)
        return 1;
    const char *rest;
    int line = split_pos(m, c->name, &rest);
    if (line > 0) {
        line += c->line_base;
    } else {
        rest = m;
        line = chunk_line(L, c);
    }
    sb->err_line = line;
    if (line > 0)
        lua_pushfstring(L, "%s:%d: %s", c->name, line, rest);
    else
        lua_pushfstring(L, "%s: %s", c->name, rest);
    return 1;
}

/* pcall and xpcall that let limit errors through: otherwise a script
 * could catch "instruction budget exceeded" in a loop and run forever. */
static int rethrow_if_limit(lua_State *L, int st)
{
    eng_sandbox *sb = get_sb(L);
    if (st == LUA_ERRMEM && sb->mem_hit && sb->abort == AB_NONE)
        sb->abort = AB_MEMORY;
    if (sb->abort != AB_NONE || st == LUA_ERRMEM)
        return lua_error(L);
    return 0;
}

static int sb_pcall(lua_State *L)
{
    luaL_checkany(L, 1);
    int st = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
    rethrow_if_limit(L, st);
    lua_pushboolean(L, st == LUA_OK);
    lua_insert(L, 1);
    return lua_gettop(L);
}

static int sb_xpcall(lua_State *L)
{
    int n = lua_gettop(L);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_pushvalue(L, 1); /* f, h, args..., f  ->  h, f, args... */
    lua_copy(L, 2, 1);
    lua_replace(L, 2);
    int st = lua_pcall(L, n - 2, LUA_MULTRET, 1);
    rethrow_if_limit(L, st);
    lua_pushboolean(L, st == LUA_OK);
    lua_replace(L, 1);
    return lua_gettop(L);
}

/* ------------------------------------------------ the sandbox's builtins */

static int sb_print(lua_State *L)
{
    (void)L; /* scripts have no console; the trace carries what matters */
    return 0;
}

/* load(text [, chunkname [, mode [, env]]]): text only, always mode "t";
 * without env the chunk gets a fresh environment over the safe globals.
 * Upvalue 1: the script-environment metatable. */
static int sb_load(lua_State *L)
{
    size_t len;
    if (lua_type(L, 1) != LUA_TSTRING) {
        lua_pushnil(L);
        lua_pushliteral(L, "load: only source text (a string) can be loaded in the sandbox");
        return 2;
    }
    const char *s = lua_tolstring(L, 1, &len);
    if (len > LOAD_MAX) {
        lua_pushnil(L);
        lua_pushfstring(L, "load: source longer than %d KiB", (int)(LOAD_MAX >> 10));
        return 2;
    }
    const char *name = luaL_optstring(L, 2, "=(load)");
    int st = luaL_loadbufferx(L, s, len, name, "t");
    if (st == LUA_ERRMEM)
        return rethrow_if_limit(L, st);
    if (st != LUA_OK) {
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    if (!lua_isnone(L, 4)) {
        lua_pushvalue(L, 4);
    } else {
        lua_createtable(L, 0, 1);
        lua_pushvalue(L, lua_upvalueindex(1));
        lua_setmetatable(L, -2);
        lua_pushvalue(L, -1);
        lua_setfield(L, -2, "_G");
    }
    lua_setupvalue(L, -2, 1); /* a main chunk's first upvalue is _ENV */
    return 1;
}

/* rawset that refuses the shared read-only tables. Upvalue 1: their set. */
static int sb_rawset(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checkany(L, 2);
    luaL_checkany(L, 3);
    lua_settop(L, 3);
    lua_pushvalue(L, 1);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL)
        return luaL_error(L, "attempt to modify a read-only table");
    lua_pop(L, 1);
    lua_rawset(L, 1);
    return 1;
}

static int ro_newindex(lua_State *L)
{
    return luaL_error(L, "attempt to modify read-only table '%s'", lua_tostring(L, lua_upvalueindex(1)));
}

/* __pairs of a proxy: iterate the real library. Upvalues: next, lib. */
static int ro_pairs(lua_State *L)
{
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_pushnil(L);
    return 3;
}

/* Calls upvalue 1 (the original function) with this call's arguments. */
static int call_original(lua_State *L)
{
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

/* A size guard refused a call: a limit like the others, so pcall
 * cannot catch it and the caller gets ENG_ELIMIT. */
static int guard_fail(lua_State *L, const char *fmt, ...) ENG_PRINTF(2, 3);
static int guard_fail(lua_State *L, const char *fmt, ...)
{
    eng_sandbox *sb = get_sb(L);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sb->guard_msg, sizeof sb->guard_msg, fmt, ap);
    va_end(ap);
    if (sb->abort == AB_NONE) {
        sb->abort = AB_GUARD;
        sb->abort_line = chunk_line(L, sb->cur);
    }
    return luaL_error(L, "%s", sb->guard_msg);
}

static int guard_rep(lua_State *L)
{
    size_t l, lsep;
    luaL_checklstring(L, 1, &l);
    lua_Integer n = luaL_checkinteger(L, 2);
    luaL_optlstring(L, 3, "", &lsep);
    if (n > 0 && (double)l * (double)n + (double)lsep * (double)(n - 1) > (double)REP_MAX)
        return guard_fail(L, "string.rep: result longer than %d KiB", (int)(REP_MAX >> 10));
    return call_original(L);
}

/* find, match, gmatch, gsub. Upvalue 2: the function's name. */
static int guard_pattern(lua_State *L)
{
    size_t sl = 0, pl = 0;
    if (lua_type(L, 1) == LUA_TSTRING)
        lua_tolstring(L, 1, &sl);
    if (lua_type(L, 2) == LUA_TSTRING)
        lua_tolstring(L, 2, &pl);
    if (sl > SUBJECT_MAX)
        return guard_fail(L, "string.%s: subject longer than %d KiB", lua_tostring(L, lua_upvalueindex(2)),
                          (int)(SUBJECT_MAX >> 10));
    if (pl > PATTERN_MAX)
        return guard_fail(L, "string.%s: pattern longer than %d bytes", lua_tostring(L, lua_upvalueindex(2)),
                          (int)PATTERN_MAX);
    return call_original(L);
}

/* setmetatable that refuses a metatable with __gc. Lua runs finalizers
 * with hooks off (lgc.c GCTM), so neither the budget nor the deadline
 * could stop one that loops, in a turn or in lua_close at thread exit.
 * Only the metatable given here marks a table for finalization: a __gc
 * added to it later is never called. Upvalue 1: the original. */
static int sb_setmetatable(lua_State *L)
{
    bool gc = false;
    if (lua_type(L, 2) == LUA_TTABLE) {
        lua_pushliteral(L, "__gc");
        gc = lua_rawget(L, 2) != LUA_TNIL;
        lua_pop(L, 1);
    }
    if (gc)
        return luaL_error(L, "setmetatable: __gc finalizers are not allowed in the sandbox");
    return call_original(L);
}

static int guard_sort(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    if (lua_rawlen(L, 1) > SORT_MAX)
        return guard_fail(L, "table.sort: more than %d elements", SORT_MAX);
    return call_original(L);
}

static int guard_move(lua_State *L)
{
    lua_Integer f = luaL_checkinteger(L, 2), e = luaL_checkinteger(L, 3);
    if (e >= f && (lua_Unsigned)e - (lua_Unsigned)f >= (lua_Unsigned)MOVE_MAX) /* unsigned: no overflow */
        return guard_fail(L, "table.move: more than %d elements", (int)MOVE_MAX);
    return call_original(L);
}

/* math.random: a call that draws one cannot be cached by what it was
 * given (eng__sandbox_call_each's *reads). */
static int guard_random(lua_State *L)
{
    get_sb(L)->reads |= ENG_SANDBOX_RANDOM;
    return call_original(L);
}

/* Replace lib[name] (lib at the top of the stack) by fn closed over the
 * original and the name. */
static void wrap(lua_State *L, const char *name, lua_CFunction fn)
{
    lua_getfield(L, -1, name);
    lua_pushstring(L, name);
    lua_pushcclosure(L, fn, 2);
    lua_setfield(L, -2, name);
}

/* Push a read-only proxy of the library at the top of the stack (which
 * it replaces) and add it to the read-only set at index ro. */
static void make_proxy(lua_State *L, const char *name, int ro)
{
    int lib = lua_gettop(L);
    lua_newtable(L); /* proxy */
    lua_createtable(L, 0, 4);
    lua_pushvalue(L, lib);
    lua_setfield(L, -2, "__index");
    lua_pushstring(L, name);
    lua_pushcclosure(L, ro_newindex, 1);
    lua_setfield(L, -2, "__newindex");
    lua_getglobal(L, "next");
    lua_pushvalue(L, lib);
    lua_pushcclosure(L, ro_pairs, 2);
    lua_setfield(L, -2, "__pairs");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_pushboolean(L, 1);
    lua_rawset(L, ro);
    lua_replace(L, lib);
}

/* __index of the expression globals: names of the turn context.
 * Upvalue 1: the expression env, where a found value is cached for the
 * rest of the call so that `entities` is converted once per eval. */
static int resolve(lua_State *L)
{
    eng_sandbox *sb = get_sb(L);
    if (!sb->ctx || lua_type(L, 2) != LUA_TSTRING)
        return 0;
    const char *k = lua_tostring(L, 2);
    json_object *v = NULL;
    if (strcmp(k, "intent") == 0)
        v = eng__json_path(sb->ctx, "intent.name");
    else if (strcmp(k, "confidence") == 0)
        v = eng__json_path(sb->ctx, "intent.confidence");
    else if (strcmp(k, "text") == 0)
        v = eng__json_path(sb->ctx, "message.text");
    else if (strcmp(k, "ctx") == 0)
        v = sb->ctx;
    else if (!json_object_object_get_ex(sb->ctx, k, &v))
        return 0;
    eng__lua_push_json(L, v, 0);
    if (!lua_isnil(L, -1)) {
        lua_pushvalue(L, 2);
        lua_pushvalue(L, -2);
        lua_rawset(L, lua_upvalueindex(1));
    }
    return 1;
}

static const char *const safe_base[] = {
    "assert", "error", "getmetatable", "ipairs", "next", "pairs", "rawequal", "rawget", "rawlen",
    "select", "setmetatable", "tonumber", "tostring", "type", "_VERSION", NULL,
};

/* Builds the state under lua_pcall (so running out of memory here is an
 * error, not a panic) and returns the NSLOT permanent values. */
static int setup(lua_State *L)
{
    static const luaL_Reg libs[] = {
        {LUA_GNAME, luaopen_base},         {LUA_STRLIBNAME, luaopen_string},
        {LUA_TABLIBNAME, luaopen_table},   {LUA_MATHLIBNAME, luaopen_math},
        {LUA_UTF8LIBNAME, luaopen_utf8},   {NULL, NULL},
    };
    for (const luaL_Reg *l = libs; l->name; l++) {
        luaL_requiref(L, l->name, l->func, 1);
        lua_pop(L, 1);
    }
    luaL_checkstack(L, 16, NULL);

    /* patch the real string table in place: string methods on values
     * ("x"):rep() reach it through the string metatable */
    lua_getglobal(L, LUA_STRLIBNAME);
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    eng__luapat_install(L); /* the matcher that charges its work */
    wrap(L, "rep", guard_rep);
    wrap(L, "find", guard_pattern);
    wrap(L, "match", guard_pattern);
    wrap(L, "gmatch", guard_pattern);
    wrap(L, "gsub", guard_pattern);
    lua_pop(L, 1);
    lua_getglobal(L, LUA_TABLIBNAME);
    wrap(L, "sort", guard_sort);
    wrap(L, "move", guard_move);
    lua_pop(L, 1);
    lua_getglobal(L, LUA_MATHLIBNAME);
    wrap(L, "random", guard_random);
    lua_pop(L, 1);
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable"); /* getmetatable("") -> false */
    lua_pop(L, 2);

    lua_newtable(L); /* ro: the set of shared read-only tables */
    int ro = lua_gettop(L);
    lua_newtable(L); /* gro: the safe globals, from an allow-list */
    int gro = lua_gettop(L);
    for (const char *const *n = safe_base; *n; n++) {
        lua_getglobal(L, *n);
        lua_setfield(L, gro, *n);
    }
    lua_getglobal(L, "setmetatable");
    lua_pushcclosure(L, sb_setmetatable, 1);
    lua_setfield(L, gro, "setmetatable");
    static const char *const libnames[] = {LUA_STRLIBNAME, LUA_TABLIBNAME, LUA_MATHLIBNAME, LUA_UTF8LIBNAME, NULL};
    for (const char *const *n = libnames; *n; n++) {
        lua_getglobal(L, *n);
        make_proxy(L, *n, ro);
        lua_setfield(L, gro, *n);
    }
    lua_pushlightuserdata(L, NULL);
    lua_setfield(L, gro, "null");
    lua_pushcfunction(L, sb_print);
    lua_setfield(L, gro, "print");
    lua_pushcfunction(L, sb_pcall);
    lua_setfield(L, gro, "pcall");
    lua_pushcfunction(L, sb_xpcall);
    lua_setfield(L, gro, "xpcall");
    lua_pushvalue(L, ro);
    lua_pushcclosure(L, sb_rawset, 1);
    lua_setfield(L, gro, "rawset");

    lua_createtable(L, 0, 2); /* script_mt */
    int script_mt = lua_gettop(L);
    lua_pushvalue(L, gro);
    lua_setfield(L, script_mt, "__index");
    lua_pushboolean(L, 0);
    lua_setfield(L, script_mt, "__metatable");
    lua_pushvalue(L, script_mt);
    lua_pushcclosure(L, sb_load, 1);
    lua_setfield(L, gro, "load");

    /* expressions: expr_env (cleared after each eval) -> expr_globals (a
     * copy of the safe globals, so they resolve without a C call) ->
     * resolve() for the names of the context */
    lua_newtable(L);
    int expr_env = lua_gettop(L);
    lua_newtable(L);
    int expr_globals = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, gro)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, expr_globals);
    }
    lua_createtable(L, 0, 2);
    lua_pushvalue(L, expr_env);
    lua_pushcclosure(L, resolve, 1);
    lua_setfield(L, -2, "__index");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, expr_globals);
    lua_createtable(L, 0, 2);
    lua_pushvalue(L, expr_globals);
    lua_setfield(L, -2, "__index");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, expr_env);
    lua_pushvalue(L, gro);
    lua_pushboolean(L, 1);
    lua_rawset(L, ro);
    lua_pushvalue(L, expr_globals);
    lua_pushboolean(L, 1);
    lua_rawset(L, ro);

    /* the real globals table is never any chunk's _ENV; still, leave
     * nothing there that reaches files */
    static const char *const unsafe[] = {"dofile", "loadfile", "load", "collectgarbage", "require", "print", NULL};
    for (const char *const *n = unsafe; *n; n++) {
        lua_pushnil(L);
        lua_setglobal(L, *n);
    }

    /* the permanent slots, in order */
    lua_pushcfunction(L, msgh);
    lua_newtable(L);                    /* SLOT_CACHE */
    lua_pushvalue(L, expr_env);         /* SLOT_EXPR_ENV */
    lua_pushvalue(L, script_mt);        /* SLOT_SCRIPT_MT */
    lua_newtable(L);                    /* SLOT_ARRAYS */
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    return NSLOT;
}

eng_sandbox *eng__sandbox_new(const eng_sandbox_limits *lim)
{
    eng_sandbox *sb = eng__calloc(1, sizeof *sb);
    if (!sb)
        return NULL;
    sb->lim.mem_bytes = lim && lim->mem_bytes ? lim->mem_bytes : DEFAULT_MEM;
    sb->lim.instructions = lim && lim->instructions ? lim->instructions : DEFAULT_INSTRUCTIONS;
    sb->L = lua_newstate(capped_alloc, sb);
    if (!sb->L) {
        eng__free(sb);
        return NULL;
    }
    *(eng_sandbox **)lua_getextraspace(sb->L) = sb;
    lua_pushcfunction(sb->L, setup);
    if (lua_pcall(sb->L, 0, NSLOT, 0) != LUA_OK) {
        lua_close(sb->L);
        eng__free(sb);
        return NULL;
    }
    lua_sethook(sb->L, count_hook, LUA_MASKCOUNT, HOOK_EVERY);
    return sb;
}

void eng__sandbox_free(eng_sandbox *sb)
{
    if (!sb)
        return;
    /* finalizers a script left behind run in lua_close; with the budget
     * spent the hook stops any that loop */
    sb->abort = AB_BUDGET;
    sb->cur = NULL;
    sb->ctx = NULL;
    lua_close(sb->L);
    eng__free(sb);
}

/* ------------------------------------------------------------ the pool */

/* Sandboxes are lent per call, not owned per thread: a server has many
 * threads (128 civetweb workers, the event loop's pool) but only a few
 * run Lua at any moment, and a sandbox with its compiled rules costs
 * 0.4-0.55 MB. Owned per thread they grew RSS with every thread that
 * ever ran a turn; lent from here their number follows the calls that run
 * at once. Idle ones are kept up to POOL_KEEP (most recently used first,
 * so their caches stay warm); beyond that a returned one is freed. A
 * thread that already holds one (a call inside a call) gets the same. */
#define POOL_KEEP 16

static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static eng_sandbox *pool_idle[POOL_KEEP];
static int pool_n;
static _Thread_local eng_sandbox *tls_sb;
static _Thread_local int tls_depth;

eng_sandbox *eng__sandbox_acquire(void)
{
    if (tls_depth > 0) {
        tls_depth++;
        return tls_sb;
    }
    eng_sandbox *sb = NULL;
    pthread_mutex_lock(&pool_mu);
    if (pool_n > 0)
        sb = pool_idle[--pool_n];
    pthread_mutex_unlock(&pool_mu);
    if (!sb && !(sb = eng__sandbox_new(NULL)))
        return NULL;
    tls_sb = sb;
    tls_depth = 1;
    return sb;
}

void eng__sandbox_release(eng_sandbox *sb)
{
    if (!sb || sb != tls_sb || tls_depth <= 0 || --tls_depth > 0)
        return;
    tls_sb = NULL;
    pthread_mutex_lock(&pool_mu);
    if (pool_n < POOL_KEEP) {
        pool_idle[pool_n++] = sb;
        sb = NULL;
    }
    pthread_mutex_unlock(&pool_mu);
    eng__sandbox_free(sb);
}

int eng__sandbox_pool_idle(void)
{
    pthread_mutex_lock(&pool_mu);
    int n = pool_n;
    pthread_mutex_unlock(&pool_mu);
    return n;
}

/* ------------------------------------------------------------------ calls */

/* Remove every key of the table at idx. Assigning nil to existing fields
 * allocates nothing, so this is safe outside protected mode. */
static void clear_table(lua_State *L, int idx)
{
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_pushnil(L);
        lua_rawset(L, idx);
    }
}

static int begin(eng_sandbox *sb, const eng_chunk *c, bool want_expr, int64_t deadline, eng_err *err)
{
    if (!sb || !c || !c->bytecode || !c->name || c->is_expr != want_expr)
        return eng_err_set(err, ENG_EINVAL, "%s: not a compiled %s", c && c->name ? c->name : "chunk",
                           want_expr ? "expression" : "script");
    lua_settop(sb->L, NSLOT);
    sb->cur = c;
    sb->used = 0;
    sb->abort = AB_NONE;
    sb->abort_line = 0;
    sb->err_line = 0;
    sb->mem_hit = false;
    sb->deadline = deadline;
    if (deadline && eng_now_us() >= deadline) {
        if (err)
            snprintf(err->file, sizeof err->file, "%s", c->name);
        return eng_err_set(err, ENG_ELIMIT, "%s: deadline exceeded before the chunk started", c->name);
    }
    /* resetting the hook also restarts its countdown */
    lua_sethook(sb->L, count_hook, LUA_MASKCOUNT, HOOK_EVERY);
    return 0;
}

/* Turn a failed lua_pcall (error value on top) into an eng_code and
 * message; leaves the stack at `top` and the state ready for the next
 * call. */
static int fail_to(eng_sandbox *sb, int st, eng_err *err, int top)
{
    lua_State *L = sb->L;
    const eng_chunk *c = sb->cur;
    abort_reason ab = sb->abort;
    if (ab == AB_NONE && st == LUA_ERRMEM && sb->mem_hit)
        ab = AB_MEMORY;
    int rc, line = 0;
    if (ab == AB_MEMORY) {
        rc = eng_err_set(err, ENG_ELIMIT, "%s: memory limit exceeded (%zu KiB)", c->name, sb->lim.mem_bytes >> 10);
    } else if (ab == AB_GUARD) {
        line = sb->abort_line;
        if (line)
            rc = eng_err_set(err, ENG_ELIMIT, "%s:%d: %s", c->name, line, sb->guard_msg);
        else
            rc = eng_err_set(err, ENG_ELIMIT, "%s: %s", c->name, sb->guard_msg);
    } else if (ab != AB_NONE) {
        line = sb->abort_line;
        if (ab == AB_BUDGET && line)
            rc = eng_err_set(err, ENG_ELIMIT, "%s:%d: instruction budget exceeded (%llu instructions)", c->name,
                             line, (unsigned long long)sb->lim.instructions);
        else if (ab == AB_BUDGET)
            rc = eng_err_set(err, ENG_ELIMIT, "%s: instruction budget exceeded (%llu instructions)", c->name,
                             (unsigned long long)sb->lim.instructions);
        else if (line)
            rc = eng_err_set(err, ENG_ELIMIT, "%s:%d: deadline exceeded", c->name, line);
        else
            rc = eng_err_set(err, ENG_ELIMIT, "%s: deadline exceeded", c->name);
    } else if (st == LUA_ERRMEM) {
        rc = eng_err_set(err, ENG_ENOMEM, "%s: out of memory", c->name);
    } else {
        /* msgh made it a string; anything else (LUA_ERRERR) is not
         * converted here, outside protected mode */
        const char *m = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        line = sb->err_line;
        rc = eng_err_set(err, ENG_ELUA, "%s", m ? m : "unknown Lua error");
    }
    if (err) {
        err->line = line;
        snprintf(err->file, sizeof err->file, "%s", c->name);
    }
    lua_settop(L, top);
    if (st == LUA_ERRMEM || sb->mem_hit)
        lua_gc(L, LUA_GCCOLLECT); /* give back what the failed call held */
    return rc;
}

static int fail(eng_sandbox *sb, int st, eng_err *err) { return fail_to(sb, st, err, NSLOT); }

/* __linedefined(f): the line a Lua function's definition starts on, so
 * that the rules prelude can say where a rule is (only that number; the
 * debug library stays out). A script's top level finds it in its
 * environment; the rules prelude takes it and removes it. */
static int sb_linedefined(lua_State *L)
{
    lua_Debug ar;
    if (lua_type(L, 1) != LUA_TFUNCTION)
        return 0;
    lua_pushvalue(L, 1);
    if (!lua_getinfo(L, ">S", &ar))
        return 0;
    lua_pushinteger(L, ar.linedefined > 0 ? ar.linedefined : 0);
    return 1;
}

/* Protected: load chunk sb->cur and cache what the cache keeps for it
 * (the expression function, or the env its top level ran in). Args:
 * cache, expr env, script metatable. Returns that value. */
static int load_chunk(lua_State *L)
{
    eng_sandbox *sb = get_sb(L);
    const eng_chunk *c = sb->cur;
    if (luaL_loadbufferx(L, c->bytecode, c->len, c->name, "b") != LUA_OK)
        return lua_error(L);
    if (c->is_expr) {
        lua_pushvalue(L, 2);
        lua_setupvalue(L, -2, 1);
    } else {
        lua_createtable(L, 0, 8);
        lua_pushvalue(L, 3);
        lua_setmetatable(L, -2);
        lua_pushvalue(L, -1);
        lua_setfield(L, -2, "_G");
        lua_pushcfunction(L, sb_linedefined);
        lua_setfield(L, -2, "__linedefined");
        lua_pushvalue(L, -1);
        lua_setupvalue(L, -3, 1);
        lua_insert(L, -2);
        lua_call(L, 0, 0); /* the top level, once per state */
    }
    lua_pushvalue(L, -1);
    lua_rawseti(L, 1, (lua_Integer)c->id);
    return 1;
}

/* The cached value for sb->cur pushed, loading it first if needed.
 * Returns a lua_pcall status; on failure the error value is on top. */
static int fetch(eng_sandbox *sb)
{
    lua_State *L = sb->L;
    const eng_chunk *c = sb->cur;
    if (lua_rawgeti(L, SLOT_CACHE, (lua_Integer)c->id) != LUA_TNIL)
        return LUA_OK;
    lua_pop(L, 1);
    if (sb->cached >= CACHE_MAX) {
        /* hot reloads make new ids; old entries would pile up */
        clear_table(L, SLOT_CACHE);
        sb->cached = 0;
    }
    lua_pushcfunction(L, load_chunk);
    lua_pushvalue(L, SLOT_CACHE);
    lua_pushvalue(L, SLOT_EXPR_ENV);
    lua_pushvalue(L, SLOT_SCRIPT_MT);
    int st = lua_pcall(L, 3, 1, SLOT_MSGH);
    if (st == LUA_OK)
        sb->cached++;
    return st;
}

int eng__sandbox_eval(eng_sandbox *sb, const eng_chunk *c, json_object *ctx,
                      int64_t deadline_us, bool *truthy, eng_err *err)
{
    if (truthy)
        *truthy = false;
    int rc = begin(sb, c, true, deadline_us, err);
    if (rc < 0)
        return rc;
    lua_State *L = sb->L;
    sb->ctx = ctx;
    int st = fetch(sb);
    if (st == LUA_OK)
        st = lua_pcall(L, 0, 1, SLOT_MSGH);
    if (st == LUA_OK && truthy)
        *truthy = lua_toboolean(L, -1);
    sb->ctx = NULL;
    /* names resolved this call were cached in the env; drop them, and
     * anything the expression rawset there */
    lua_pushnil(L);
    if (lua_next(L, SLOT_EXPR_ENV)) {
        lua_pop(L, 2);
        clear_table(L, SLOT_EXPR_ENV);
    }
    if (st != LUA_OK)
        return fail(sb, st, err);
    lua_settop(L, NSLOT);
    return 0;
}

/* __index of a script's context table: converts a top-level field of
 * the turn context on first use and keeps it in the table, so that a
 * script pays only for what it reads, its changes stick, and only the
 * fields it touched go back. Upvalue 1: the arrays weak set. */
static int ctx_index(lua_State *L)
{
    eng_sandbox *sb = get_sb(L);
    json_object *v;
    if (!sb->ctx || lua_type(L, 2) != LUA_TSTRING || !json_object_object_get_ex(sb->ctx, lua_tostring(L, 2), &v))
        return 0;
    eng__lua_push_json(L, v, lua_upvalueindex(1));
    lua_pushvalue(L, 2);
    lua_pushvalue(L, -2);
    lua_rawset(L, 1);
    return 1;
}

/* Protected: args env, fn name (light userdata), ctx (light userdata),
 * the arrays weak set. Returns found (a boolean), then the context table
 * and the function's first result. */
static int do_call(lua_State *L)
{
    const char *fn = lua_touserdata(L, 2);
    json_object *ctx = lua_touserdata(L, 3);
    lua_settop(L, 4);
    lua_pushstring(L, fn);
    if (lua_rawget(L, 1) != LUA_TFUNCTION) { /* 5: the function */
        lua_pushboolean(L, 0);
        return 1;
    }
    lua_pushboolean(L, 1); /* 6 */
    lua_newtable(L);       /* 7: the context, filled lazily */
    if (ctx) {
        lua_createtable(L, 0, 1);
        lua_pushvalue(L, 4);
        lua_pushcclosure(L, ctx_index, 1);
        lua_setfield(L, -2, "__index");
        lua_setmetatable(L, 7);
    }
    lua_pushvalue(L, 5);
    lua_pushvalue(L, 7);
    lua_call(L, 1, 1); /* 8 */
    /* the script may have kept the table: it must not reach the turn's
     * context after this call */
    lua_pushnil(L);
    lua_setmetatable(L, 7);
    return 3;
}

/* The fields of the script's context table named in `keys`, converted
 * back; walking with lua_next allocates nothing outside protected mode. */
static int take_keys(lua_State *L, int idx, const char *const *keys, json_object **out, char *msg,
                     size_t msglen)
{
    json_object *o = json_object_new_object();
    if (!o)
        return ENG_ENOMEM;
    int rc = 0;
    if (lua_type(L, idx) == LUA_TTABLE) {
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            if (lua_type(L, -2) == LUA_TSTRING) {
                const char *k = lua_tostring(L, -2);
                for (size_t i = 0; keys[i]; i++) {
                    if (strcmp(k, keys[i]) != 0)
                        continue;
                    json_object *v = NULL;
                    rc = eng__lua_to_json(L, lua_gettop(L), SLOT_ARRAYS, &v, msg, msglen);
                    if (rc == 0 && json_object_object_add(o, k, v) != 0) {
                        json_object_put(v);
                        rc = ENG_ENOMEM;
                    }
                    break;
                }
            }
            lua_pop(L, 1);
            if (rc < 0) {
                lua_pop(L, 1);
                break;
            }
        }
    }
    if (rc < 0) {
        json_object_put(o);
        return rc;
    }
    *out = o;
    return 0;
}

int eng__sandbox_call(eng_sandbox *sb, const eng_chunk *c, const char *fn,
                      json_object *ctx, int64_t deadline_us, const char *const *keys,
                      json_object **ctx_out, json_object **ret, eng_err *err)
{
    if (ctx_out)
        *ctx_out = NULL;
    if (ret)
        *ret = NULL;
    if (!fn)
        return eng_err_set(err, ENG_EINVAL, "no function name given");
    int rc = begin(sb, c, false, deadline_us, err);
    if (rc < 0)
        return rc;
    lua_State *L = sb->L;
    int st = fetch(sb);
    if (st == LUA_OK) {
        int env = lua_gettop(L);
        /* only pushes that allocate nothing: a failure here would be
         * outside protected mode */
        lua_pushcfunction(L, do_call);
        lua_pushvalue(L, env);
        lua_pushlightuserdata(L, (void *)fn);
        lua_pushlightuserdata(L, ctx);
        lua_pushvalue(L, SLOT_ARRAYS);
        sb->ctx = ctx;
        st = lua_pcall(L, 4, 3, SLOT_MSGH);
        sb->ctx = NULL;
    }
    if (st != LUA_OK)
        return fail(sb, st, err);
    int base = lua_gettop(L) - 3;
    if (!lua_toboolean(L, base + 1)) {
        lua_settop(L, NSLOT);
        return eng_err_set(err, ENG_ENOTFOUND, "%s: the script defines no function '%s'", c->name, fn);
    }
    char msg[200];
    if (ctx_out && keys)
        rc = take_keys(L, base + 2, keys, ctx_out, msg, sizeof msg);
    else if (ctx_out)
        rc = eng__lua_to_json(L, base + 2, SLOT_ARRAYS, ctx_out, msg, sizeof msg);
    if (rc == 0 && ret)
        rc = eng__lua_to_json(L, base + 3, SLOT_ARRAYS, ret, msg, sizeof msg);
    lua_settop(L, NSLOT);
    if (rc < 0) {
        if (ctx_out) {
            json_object_put(*ctx_out);
            *ctx_out = NULL;
        }
        if (rc == ENG_ENOMEM)
            return eng_err_set(err, ENG_ENOMEM, "%s: %s", c->name, msg);
        return eng_err_set(err, ENG_ELUA, "%s: %s: %s", c->name, fn, msg);
    }
    return 0;
}

/* ------------------------------------------------- many chunks, one call */

/* What one eng__sandbox_call_each is doing, for do_each. */
typedef struct each_run {
    eng_sandbox *sb;
    const eng_sandbox_each *e;
    int *rc;
    eng_err *errs;
    json_object **rets;
    size_t ran; /* chunks whose outcome is set */
} each_run;

/* __index of the ctx table every chunk of an eng__sandbox_call_each
 * shares: the member of sb->ctx converted on first read, else own's; kept
 * in the table so that it is converted once for all the chunks. A read of
 * a tracked member is noted (sb->reads), present or not. Upvalues: the
 * arrays weak set, own. */
static int each_index(lua_State *L)
{
    eng_sandbox *sb = get_sb(L);
    json_object *v;
    if (!sb->each_live || lua_type(L, 2) != LUA_TSTRING)
        return 0;
    const char *k = lua_tostring(L, 2);
    for (int i = 0; sb->track && sb->track[i] && i < 31; i++)
        if (strcmp(sb->track[i], k) == 0) {
            sb->reads |= 1u << i;
            break;
        }
    if (sb->ctx && json_object_object_get_ex(sb->ctx, k, &v)) {
        eng__lua_push_json(L, v, lua_upvalueindex(1));
    } else {
        lua_pushvalue(L, 2);
        if (lua_rawget(L, lua_upvalueindex(2)) == LUA_TNIL)
            return 1;
    }
    lua_pushvalue(L, 2);
    lua_pushvalue(L, -2);
    lua_rawset(L, 1);
    return 1;
}

/* Protected. Args: copies of the NSLOT permanent slots (so that fetch and
 * fail_to find them at the same indices), then the each_run. Converts own,
 * makes the shared ctx table, then runs each chunk's function in a
 * lua_pcall of its own: what stops one chunk (a limit too) stops only it. */
static int do_each(lua_State *L)
{
    each_run *er = lua_touserdata(L, NSLOT + 1);
    eng_sandbox *sb = er->sb;
    const eng_sandbox_each *e = er->e;
    lua_settop(L, NSLOT);
    if (e->own)
        eng__lua_push_json(L, e->own, SLOT_ARRAYS);
    else
        lua_pushnil(L);
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        lua_newtable(L);
    }
    int own = NSLOT + 1;
    lua_newtable(L);
    int x = NSLOT + 2;
    lua_createtable(L, 0, 1);
    lua_pushvalue(L, SLOT_ARRAYS);
    lua_pushvalue(L, own);
    lua_pushcclosure(L, each_index, 2);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, x);
    int base = lua_gettop(L);
    bool stop = false;
    for (size_t i = 0; i < e->n && !stop; i++) {
        const eng_chunk *c = e->chunks[i];
        eng_err *err = &er->errs[i];
        json_object *ret = NULL;
        int rc = 0;
        sb->cur = c;
        sb->used = 0;
        sb->abort = AB_NONE;
        sb->abort_line = 0;
        sb->err_line = 0;
        sb->mem_hit = false;
        if (!c || !c->bytecode || !c->name || c->is_expr) {
            sb->cur = e->chunks[0];
            rc = eng_err_set(err, ENG_EINVAL, "%s: not a compiled script", c && c->name ? c->name : "chunk");
        } else if (e->deadline_us && eng_now_us() >= e->deadline_us) {
            rc = eng_err_set(err, ENG_ELIMIT, "%s: deadline exceeded before the chunk started", c->name);
            snprintf(err->file, sizeof err->file, "%s", c->name);
        } else {
            /* resetting the hook also restarts its countdown */
            lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_EVERY);
            int st = fetch(sb);
            if (st == LUA_OK) {
                lua_pushstring(L, e->fn);
                if (lua_rawget(L, -2) != LUA_TFUNCTION) {
                    rc = eng_err_set(err, ENG_ENOTFOUND, "%s: the script defines no function '%s'", c->name, e->fn);
                } else {
                    lua_pushvalue(L, x);
                    lua_pushvalue(L, own);
                    st = lua_pcall(L, 2, 1, SLOT_MSGH);
                }
            }
            if (st != LUA_OK) {
                rc = fail_to(sb, st, err, base);
            } else if (rc == 0) {
                char msg[200];
                int cr = eng__lua_to_json(L, lua_gettop(L), SLOT_ARRAYS, &ret, msg, sizeof msg);
                if (cr == ENG_ENOMEM)
                    rc = eng_err_set(err, ENG_ENOMEM, "%s: %s", c->name, msg);
                else if (cr < 0)
                    rc = eng_err_set(err, ENG_ELUA, "%s: %s: %s", c->name, e->fn, msg);
            }
            lua_settop(L, base);
        }
        er->rc[i] = rc;
        er->rets[i] = ret;
        er->ran = i + 1;
        if (e->after && e->after(e->ud, i, rc, err, ret))
            stop = true;
    }
    /* a chunk may have kept the table: it must not reach the turn's
     * context after this call */
    lua_pushnil(L);
    lua_setmetatable(L, x);
    return 0;
}

size_t eng__sandbox_call_each(eng_sandbox *sb, const eng_sandbox_each *e, int *rc, eng_err *errs,
                              json_object **rets, uint32_t *reads)
{
    if (reads)
        *reads = 0;
    for (size_t i = 0; i < e->n; i++) {
        rc[i] = 1;
        rets[i] = NULL;
        memset(&errs[i], 0, sizeof errs[i]);
    }
    if (!e->n)
        return 0;
    if (!sb || !e->fn) {
        for (size_t i = 0; i < e->n; i++)
            rc[i] = eng_err_set(&errs[i], ENG_EINVAL, "no sandbox or no function name given");
        return e->n;
    }
    lua_State *L = sb->L;
    lua_settop(L, NSLOT);
    each_run er = {.sb = sb, .e = e, .rc = rc, .errs = errs, .rets = rets};
    sb->cur = e->chunks[0];
    sb->reads = 0;
    sb->track = e->track;
    sb->ctx = e->ctx;
    sb->each_live = true;
    sb->used = 0;
    sb->abort = AB_NONE;
    sb->mem_hit = false;
    sb->deadline = e->deadline_us;
    /* only pushes that allocate nothing: a failure here would be
     * outside protected mode */
    lua_pushcfunction(L, do_each);
    for (int i = 1; i <= NSLOT; i++)
        lua_pushvalue(L, i);
    lua_pushlightuserdata(L, &er);
    int st = lua_pcall(L, NSLOT + 1, 0, SLOT_MSGH);
    sb->each_live = false;
    sb->track = NULL;
    sb->ctx = NULL;
    size_t ran = er.ran;
    if (st != LUA_OK) {
        /* outside every chunk's own call (converting the arguments, say):
         * the chunk it was at and those after it fail alike */
        eng_err oe = {0};
        int orc = fail(sb, st, &oe);
        for (size_t i = ran; i < e->n; i++) {
            rc[i] = orc;
            errs[i] = oe;
        }
        ran = e->n;
    }
    lua_settop(L, NSLOT);
    if (reads)
        *reads = sb->reads;
    return ran;
}
