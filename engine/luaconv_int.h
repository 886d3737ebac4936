/* engine/luaconv_int.h — JSON <-> Lua value conversion for the sandbox
 * (engine/sandbox.c). Private to engine/: no other folder includes it.
 *
 * Mapping:
 *   object -> table with string keys; a member whose value is null is
 *             left out (nil), so `ctx.x == nil` works as scripts expect
 *   array  -> sequence 1..n; a null element becomes the `null` sentinel
 *             (a light userdata, exposed to scripts as the global `null`)
 *             so that indices keep their places
 *   string, boolean, integer, double -> the same Lua type
 * and back:
 *   table with keys exactly 1..n (n >= 1) -> array; any other table ->
 *   object (integer keys become decimal strings, other non-string keys
 *   are dropped); an empty table -> [] when it came from a JSON array
 *   (marked in the `arrays` weak set), else {}; object members come out
 *   sorted by key so the output does not depend on Lua's hash order;
 *   NaN and +-inf -> null; functions and other userdata -> dropped from
 *   objects, null in arrays; the null sentinel -> null.
 * Both directions stop at ENG_LUACONV_MAX_DEPTH levels of nesting; Lua ->
 * JSON also names a cycle as such. */
#ifndef AISLE_LUACONV_H
#define AISLE_LUACONV_H

#include "eng_int.h"
#include <lua.h>

/* json-c parses at most 32 levels, and the context nests parsed values
 * (the session) a level or two down: leave room for that */
#define ENG_LUACONV_MAX_DEPTH 64

/* eng__lua_push_json: push `v` converted to Lua (nil for NULL and for
 * JSON null). `arrays` is the absolute stack index of a weak-keyed table
 * in which converted arrays are marked, or 0 not to mark them.
 * Allocates from the Lua state and so may raise a memory error; raises
 * an error past the depth cap. Call it in protected mode only. */
void eng__lua_push_json(lua_State *L, json_object *v, int arrays);

/* eng__lua_to_json: convert the value at stack index `idx` to JSON.
 * *out gets a new object the caller owns (NULL for nil and null).
 * Returns 0; ENG_EINVAL with `msg` filled when the value nests too deep
 * or has a cycle; ENG_ENOMEM. Never raises and never allocates from the
 * Lua state (it runs no Lua code and ignores metatables), so it may be
 * called outside protected mode. The stack is left as found. */
int eng__lua_to_json(lua_State *L, int idx, int arrays, json_object **out,
                     char *msg, size_t msglen);

#endif
