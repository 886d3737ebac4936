/* engine/luapat_int.h — Lua's pattern functions with their work charged to
 * the sandbox (engine/luapat.c); internal to the engine. */
#ifndef ENG_LUAPAT_H
#define ENG_LUAPAT_H
#include <lua.h>

/* Set find, match, gmatch and gsub in the table at the top of L's stack
 * to the counting versions. Every call charges its work through
 * eng__sandbox_charge. */
void eng__luapat_install(lua_State *L);

/* Defined by engine/sandbox.c: add n steps to the running call's
 * instruction count and check its deadline; raises the limit error
 * (never returns) when either is past. */
void eng__sandbox_charge(lua_State *L, unsigned n);

#endif
