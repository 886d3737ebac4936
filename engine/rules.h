/* engine/rules.h — merchandisers' Lua business rules as agents use them
 * (engine/rules.c). Internal to engine/. Loading runs each file's top
 * level once, so a file that fails there is refused (ENG_ECONFIG). Every
 * call makes at most one sandboxed Lua call per rules file (none when the
 * file has no hook for it); a failing rule is skipped — a failing veto
 * denies unless fail_open — and reported in the context's
 * vars.ruleErrors and to eng_on_rule_error, never failing the turn. */
#ifndef AISLE_RULES_H
#define AISLE_RULES_H

#include "pipe_int.h"

typedef struct eng_rules eng_rules;

/* eng__rules_load: compile the Lua files named by YAML node `node` (a path
 * or a list of paths) into *out (pipeline pool) and run each one's top
 * level once in a scratch sandbox. Diagnostics (a syntax error, a runtime
 * error or limit at the top level, a bad registration) go to b as
 * FILE:LINE:COL. */
int eng__rules_load(eng_build *b, int node, eng_rules **out);

/* eng__rules_load_file: compile one rules file outside a pipeline (the
 * dry-run) into *out, from `pool`. ENG_ECONFIG with the problem in diags
 * (FILE:LINE:COL), ENG_ENOMEM. */
int eng__rules_load_file(eng_pool *pool, const char *path, eng_rules **out, eng_diags *diags);

/* eng__rules_count: how many files (0 for NULL). */
size_t eng__rules_count(const eng_rules *r);

/* eng__rules_price: for each card of the array (needs "price"), set
 * "finalPrice" and append to "appliedRules" [{id, version, reason,
 * before, after}] what the price() hooks changed. */
int eng__rules_price(const eng_rules *r, eng_turn *t, json_object *cards);

/* eng__rules_boost: mult[i] = product of what boost(hook, ...) returned
 * for items[i] (1 when nothing applies). mult has one slot per item. */
int eng__rules_boost(const eng_rules *r, eng_turn *t, const char *hook, json_object *items, double *mult);

/* eng__rules_veto: the first on(hook, ...) that denies `action`, or that
 * fails without fail_open: a new {deny, id, version, file, failed?}
 * (caller puts it), or NULL. The handlers get (action, ctx) with ctx.cart
 * the turn context's "cart" (the commerce core refreshes it first). */
json_object *eng__rules_veto(const eng_rules *r, eng_turn *t, const char *hook, json_object *action);

/* eng__rules_cart: cart-level discounts [{id, version, reason, amount,
 * code?}] from cart_rule/buy_x_get_y hooks and, when promo_code is not
 * NULL, the promo() registered for it (*promo_known says whether any file
 * knows the code; *promo_denied a reason it refused, pool string). */
json_object *eng__rules_cart(const eng_rules *r, eng_turn *t, json_object *cart, const char *promo_code,
                             bool *promo_known, const char **promo_denied);

#endif
