/* engine/eng_int.h — internals shared between the engine's own files.
 * Never included from outside engine/ (tests/unit may, to test internals).
 * Symbols here carry the eng__ prefix.
 */
#ifndef AISLE_ENG_INT_H
#define AISLE_ENG_INT_H

#include "eng.h"
#include <stdbool.h>
#include <stdarg.h>

/* ---------------------------------------------------------------- alloc
 * The one allocator hook (engine/alloc.c). All return NULL on failure,
 * including failures injected by eng_alloc_fail_after. */
void *eng__malloc(size_t n);
void *eng__calloc(size_t n, size_t size);
void *eng__realloc(void *p, size_t n);
void eng__free(void *p);
char *eng__strdup(const char *s);
char *eng__strndup(const char *s, size_t n);

/* ----------------------------------------------------------------- pool
 * An arena (engine/pool.c): many allocations, one free. Used for a turn
 * and for a loaded pipeline. Cleanups run in reverse order of
 * registration when the pool is freed. Not thread-safe. */
typedef struct eng_pool eng_pool;

eng_pool *eng__pool_new(size_t block_size);           /* NULL on OOM */
void *eng__pool_alloc(eng_pool *p, size_t n);          /* 16-byte aligned, zeroed */
char *eng__pool_strdup(eng_pool *p, const char *s);    /* NULL in, NULL out */
char *eng__pool_strndup(eng_pool *p, const char *s, size_t n);
char *eng__pool_printf(eng_pool *p, const char *fmt, ...) ENG_PRINTF(2, 3);
int eng__pool_cleanup(eng_pool *p, void (*fn)(void *), void *arg); /* 0 / ENG_ENOMEM */
size_t eng__pool_used(const eng_pool *p);
void eng__pool_free(eng_pool *p);                      /* NULL is fine */

/* ------------------------------------------------------------------ buf
 * A growable byte buffer (engine/buf.c), always NUL-terminated. After an
 * allocation failure `oom` is set and further appends are ignored. */
typedef struct eng_buf {
    char *data;
    size_t len, cap;
    bool oom;
} eng_buf;

void eng__buf_init(eng_buf *b);
void eng__buf_free(eng_buf *b);
void eng__buf_reset(eng_buf *b);                        /* len = 0, keeps memory */
void eng__buf_add(eng_buf *b, const char *s, size_t n);
void eng__buf_adds(eng_buf *b, const char *s);
void eng__buf_addc(eng_buf *b, char c);
void eng__buf_printf(eng_buf *b, const char *fmt, ...) ENG_PRINTF(2, 3);
void eng__buf_vprintf(eng_buf *b, const char *fmt, va_list ap);

/* eng__random_hex: 2 * nbytes (at most 32) random hex digits and a NUL
 * into out (getrandom; a clock-seeded sequence when it fails)
 * (engine/session.c). */
void eng__random_hex(char *out, size_t nbytes);

/* ---------------------------------------------------------- session memo
 * The session as json-c reads it, kept from this process's last save of
 * it (engine/session_memo.c): a memo of parse(text) keyed by session id
 * and checked against the whole text, never state.  Thread-safe. */

/* eng__session_memo_put: keep a copy of `sess` (not taken; an object)
 * built as json_tokener would build it from `text` (len bytes, the text
 * sess was just printed as with JSON_C_TO_STRING_PLAIN) for session
 * `sid`, replacing what the slot held.  Does nothing when the copy cannot
 * be made (out of memory, nested too deep), the text is over 8 KiB or the
 * memo holds 4 MiB of texts already. */
void eng__session_memo_put(const char *sid, const char *text, size_t len, json_object *sess);
/* eng__session_memo_take: the kept session of `sid` if it was made from
 * exactly `text` (len bytes), moved to the caller (who puts it); NULL
 * otherwise.  Either way the slot's entry for sid is gone. */
json_object *eng__session_memo_take(const char *sid, const char *text, size_t len);
/* eng__session_memo_copy: the copy eng__session_memo_put keeps (new
 * reference; NULL on failure or for JSON null), for tests. */
json_object *eng__session_memo_copy(json_object *src);
/* eng__session_memo_double_text: the text json-c's default serializer
 * gives `d` ("%.17g", ".0" added to an integer), written into b (at
 * least 32 bytes) without snprintf; 1 when written, 0 (b undefined) for
 * the numbers it leaves to json-c: NaN, infinities, subnormals and any
 * that "%.17g" writes with an exponent (|d| under 1e-4 or, rounded, from
 * 1e17).  Pure, thread-safe. */
int eng__session_memo_double_text(double d, char *b);
/* eng__session_memo_set: 0 turns the memo off and empties it (every read
 * parses), 1 turns it on; for tests and measurements. */
void eng__session_memo_set(int on);
/* eng__session_memo_held: bytes of text the memo holds (at most 4 MiB;
 * a text over 8 KiB is never kept). */
size_t eng__session_memo_held(void);
/* eng__session_memo_stats: counts since the start (any may be NULL). */
void eng__session_memo_stats(unsigned long long *hits, unsigned long long *misses, unsigned long long *puts);

/* ------------------------------------------------------------- json util
 * (engine/jsonutil.c) */

/* eng__json_path: look up a dotted path ("intent.name", "results.0.title")
 * in `root`. Borrowed result, NULL when absent, when a member on the way
 * is JSON null or neither an object nor an array, and when a part is
 * empty ("a..b", ".a") or 128 bytes or longer; "" is `root` itself and
 * one trailing dot is ignored ("a." is "a"). A part indexes an array as
 * strtol reads it in full (" 1" and "+1" are 1; "1 " and "-1" find
 * nothing); on an object every part is a key, digits too. */
json_object *eng__json_path(json_object *root, const char *path);
/* eng__json_print: `o`'s text (NULL: "null") byte for byte as
 * json_object_to_json_string_length(o, flags, len) writes it, in a
 * NUL-terminated copy the caller frees (free or eng__free); *len (may be
 * NULL) its length. JSON_C_TO_STRING_PLAIN with or without
 * JSON_C_TO_STRING_NOSLASHESCAPE is written here, without json-c's
 * printer (engine/json_print.c); other flags are json-c's text copied.
 * Assumes json-c's own serializers, and json_object_userdata_to_json_string
 * on doubles only (the parser's texts, eng_json_tidy_doubles). NULL out of
 * memory (eng__realloc). Does not block. */
char *eng__json_print(json_object *o, int flags, size_t *len);
/* eng__json_str: the string at `path`, or `dflt`. Borrowed. */
const char *eng__json_str(json_object *root, const char *path, const char *dflt);
/* eng__json_set: set root[key] = val (takes ownership of val). */
void eng__json_set(json_object *root, const char *key, json_object *val);
/* ENG_JADD: json_object_object_add for a key written as a string literal
 * (takes ownership of v; returns 0 or -1 as json-c does).  json-c keeps
 * the literal's address instead of a malloc'd copy of the key: one
 * allocation and one free less per member, and a turn's context, cards
 * and trace add hundreds of members.  Only a literal compiles ("" k ""),
 * so no key that could be freed before the object is ever kept. */
#define ENG_JADD(o, k, v) json_object_object_add_ex((o), "" k "", (v), JSON_C_OBJECT_ADD_CONSTANT_KEY)

/* ----------------------------------------------------------- Lua chunks
 * A chunk is Lua source compiled once at pipeline load into bytecode that
 * each worker thread's sandbox loads on first use (engine/sandbox.c).
 * Users can never load bytecode themselves: only the engine does, from
 * what it compiled. */
typedef struct eng_chunk {
    uint64_t id;          /* unique in the process; keys the per-state cache */
    const char *name;     /* chunk name for messages, e.g. "scripts/x.lua" */
    bool is_expr;         /* an expression (router condition) or a script */
    int line_base;        /* added to Lua line numbers in messages (YAML line
                             of an inline expression minus 1; 0 for files) */
    char *bytecode;       /* owned by whoever owns the chunk (a pipeline pool) */
    size_t len;
} eng_chunk;

typedef struct eng_sandbox eng_sandbox;

typedef struct eng_sandbox_limits {
    size_t mem_bytes;        /* cap on the state's total memory; default 32 MiB */
    uint64_t instructions;   /* VM instructions per call; default 10,000,000 */
} eng_sandbox_limits;

/* eng__chunk_compile: compile `src` (an expression when is_expr: compiled
 * as `return (src)`) in a scratch state; on success fill c->bytecode from
 * `pool`, give c a fresh id and return 0.  On a syntax error return
 * ENG_ELUA with err->line set to the line inside src (1-based; 0 if
 * unknown) and err->msg the message without Lua's "[string]:N:" prefix. */
int eng__chunk_compile(eng_pool *pool, const char *name, const char *src,
                       size_t len, bool is_expr, eng_chunk *c, eng_err *err);

/* eng__sandbox_new: a fresh sandboxed Lua state: only base functions that
 * cannot reach the outside (no io, os, package, debug, require, dofile,
 * loadfile, collectgarbage, string.dump; `load` accepts text only and
 * runs in the sandbox), string/table/math/utf8, a memory cap and a
 * per-call instruction budget. `lim` may be NULL for defaults.
 * NULL on OOM. */
eng_sandbox *eng__sandbox_new(const eng_sandbox_limits *lim);
void eng__sandbox_free(eng_sandbox *sb);

/* eng__sandbox_acquire: a sandbox lent to the calling thread for one
 * call (engine/sandbox.c's pool: taken from the idle ones, made when none
 * is idle); a thread that already holds one gets the same one again.
 * NULL on OOM. Give it back with eng__sandbox_release on the same thread. */
eng_sandbox *eng__sandbox_acquire(void);
/* eng__sandbox_release: return what eng__sandbox_acquire lent (NULL is a
 * no-op); the last release of a thread puts it back among the idle ones,
 * or frees it when enough are idle. */
void eng__sandbox_release(eng_sandbox *sb);
/* eng__sandbox_pool_idle: how many sandboxes wait idle in the pool. */
int eng__sandbox_pool_idle(void);

/* eng__sandbox_eval: evaluate a compiled expression chunk against the
 * turn context. Inside the expression, names resolve to: the safe globals;
 * `intent` (context intent.name), `confidence` (intent.confidence),
 * `text` (message.text), `ctx` (the whole context as a table); any other
 * name to that top-level key of the context converted to Lua (nil when
 * absent). *truthy gets the Lua truthiness of the result. Stops with
 * ENG_ELIMIT when the instruction budget, the memory cap or `deadline_us`
 * (eng_now_us() clock, 0 = none) is passed; ENG_ELUA on a runtime error,
 * the message naming chunk name and line. The state stays usable after
 * any failure. */
int eng__sandbox_eval(eng_sandbox *sb, const eng_chunk *c, json_object *ctx,
                      int64_t deadline_us, bool *truthy, eng_err *err);

/* eng__sandbox_call: run a script chunk's function `fn` (a global the
 * script defines; the script's top level runs once per sandbox, in its
 * own environment) with one argument: the context converted to a table.
 * On return, *ctx_out (when not NULL) gets that table converted back to
 * JSON (new object, caller owns) so the caller can take the fields the
 * script may change — only the fields named in `keys` (NULL-terminated)
 * when `keys` is not NULL, which saves converting the rest — and *ret (when not NULL) the function's first return
 * value as JSON (NULL for nil). Errors and limits as in eng__sandbox_eval;
 * ENG_ENOTFOUND when the script defines no such function. */
int eng__sandbox_call(eng_sandbox *sb, const eng_chunk *c, const char *fn,
                      json_object *ctx, int64_t deadline_us, const char *const *keys,
                      json_object **ctx_out, json_object **ret, eng_err *err);

/* eng__sandbox_call_each: ONE protected Lua call that runs function `fn`
 * (a global each script defines) of every script chunk chunks[0..n), in
 * order, as n eng__sandbox_call would, but with the arguments converted
 * once for all of them: each fn is called with (ctx, own), `own` the JSON object
 * `e->own` converted up front and `ctx` one table shared by all, filled
 * lazily from `e->ctx` on first read of a member (a member `e->ctx` lacks
 * reads `own`'s). Each chunk is still on its own: its instruction budget
 * starts afresh, and a limit, an error or a missing function that stops
 * it is that chunk's failure (rc[i] < 0, errs[i] as eng__sandbox_call
 * would give), after which the next chunk runs. rets[i] gets fn's first
 * result as JSON (caller puts; NULL for nil or on failure). After each
 * chunk, e->after (when set) sees its outcome and may end the loop (true):
 * the chunks left have rc[i] = 1 (not run). *reads (may be NULL) says
 * what the results may depend on besides `own`: bit i when some fn read
 * member e->track[i] of ctx (at most 31 names, NULL-terminated; a read of
 * a member not named there is not reported), ENG_SANDBOX_RANDOM when one
 * drew a random number. Returns how many chunks ran. */
#define ENG_SANDBOX_RANDOM (1u << 31)
typedef struct eng_sandbox_each {
    const eng_chunk *const *chunks;
    size_t n;
    const char *fn;
    json_object *ctx; /* may be NULL */
    json_object *own; /* may be NULL */
    const char *const *track; /* may be NULL */
    int64_t deadline_us;
    bool (*after)(void *ud, size_t i, int rc, const eng_err *err, json_object *ret);
    void *ud;
} eng_sandbox_each;
size_t eng__sandbox_call_each(eng_sandbox *sb, const eng_sandbox_each *e, int *rc, eng_err *errs,
                              json_object **rets, uint32_t *reads);

/* ------------------------------------------------------------ templates
 * Reply templates (engine/template.c). Syntax:
 *   {{ path }}                 value at a dotted path of the context
 *   {{ path | filter ... }}    filters: upper, lower, title, money (2 dp),
 *                              round, count (length of array/string),
 *                              default:"text", join:", "
 *   {{#if path}}..{{else}}..{{/if}}, {{#unless path}}..{{/unless}}
 *   {{#each path}}..{{/each}}  inside: {{this}}, {{this.x}}, {{@index}} (0-based),
 *                              {{@number}} (1-based), {{@last}}; outer names
 *                              still resolve
 *   {{! comment }}
 * Missing values render as nothing. */
typedef struct eng_tmpl eng_tmpl;

/* eng__tmpl_compile: parse `src` into a template allocated from `pool`.
 * `line`/`col` are where src starts in its file, so that an error's
 * err->line/err->col point into the file. ENG_EINVAL on a syntax error. */
int eng__tmpl_compile(eng_pool *pool, const char *src, int line, int col,
                      eng_tmpl **out, eng_err *err);

/* eng__tmpl_render: append the rendering to `out`. 0, or ENG_ENOMEM. */
int eng__tmpl_render(const eng_tmpl *t, json_object *ctx, eng_buf *out);
/* eng__plural: append the word w[0..n) as one (`one`) or several: "a,b"
 * names both forms, else English's regular endings (box -> boxes,
 * category -> categories); the template filter `plural` uses it. */
void eng__plural(eng_buf *b, const char *w, size_t n, bool one);
/* eng__singular: append the singular of the English plural w[0..n)
 * (phones -> phone, boxes -> box, categories -> category, glass -> glass). */
void eng__singular(eng_buf *b, const char *w, size_t n);

#endif
