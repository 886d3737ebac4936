/* engine/cond_int.h — route conditions of a simple form answered in C.
 *
 * A router's `when` is a Lua expression run in the sandbox; most are
 * comparisons of context names with literals ("intent == 'deny' and
 * session.lastQuery ~= nil").  Those are also compiled here into a small
 * tree that is evaluated over the turn context with Lua's own rules, and
 * the sandbox runs only when the tree cannot answer exactly as Lua would:
 * a form outside the subset is never compiled, and an evaluation that
 * meets anything it does not model (a table compared, strings ordered, a
 * value Lua would fail to index or convert) says "undecided" and the
 * caller asks Lua.  So an answer from here is always Lua's answer. */
#ifndef AISLE_ENGINE_COND_INT_H
#define AISLE_ENGINE_COND_INT_H

#include "eng_int.h"

#include <json-c/json.h>

typedef struct eng_cond eng_cond;

/* The subset: `or`, `and`, `not`, parentheses, the comparisons == ~= < <=
 * > >=, the literals nil, true, false, 'text' or "text" without escapes,
 * decimal numbers (123, 0.5), and names with dotted fields whose first
 * name is one the sandbox resolves from the context (intent, confidence,
 * text, ctx, and the context's own keys listed in cond.c: slots, session,
 * entities, vars, ...). */

/* eng__cond_compile: the tree for src, allocated from pool (freed with
 * it); NULL when src is outside the subset or memory ran out: the caller
 * then has only the Lua chunk.  Does not block. */
eng_cond *eng__cond_compile(eng_pool *pool, const char *src);

/* eng__cond_eval: 1 (Lua's value would be truthy), 0 (falsy), or -1
 * (undecided: run the Lua chunk, which gives the answer or the error).
 * Reads ctx, changes nothing, allocates nothing.  The caller checks the
 * deadline first: Lua refuses to start past it. */
int eng__cond_eval(const eng_cond *c, json_object *ctx);

#endif
