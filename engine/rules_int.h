/* engine/rules_int.h — merchandisers' Lua business rules as agents use them
 * (engine/rules.c). Internal to engine/. Loading runs each file's top
 * level once, so a file that fails there is refused (ENG_ECONFIG). Every
 * call of a hook makes ONE sandboxed Lua call for all the files of all
 * the rules sets given that have a rule for it (none when no file has),
 * with what the call is about converted once; a failing rule is skipped —
 * a failing veto denies unless fail_open — and a file that fails as a
 * whole (a limit) fails alone; both are reported in the context's
 * vars.ruleErrors and to eng_on_rule_error, never failing the turn.
 *
 * The _sets calls take every rules set of a pipeline at once (the
 * commerce core: engine/shop.c); the one-set calls are the same,
 * uncached, for the dry-run and the tests. With `cache`, prices and cart
 * discounts are kept per rules version and input (engine/rules.c,
 * "caches"). */
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

/* eng__rules_price_sets: for each card of the array (needs "price"), set
 * "finalPrice" and append to "appliedRules" [{id, version, reason,
 * before, after}] what the price() hooks of sets[0..n) changed (a set
 * may be NULL). With `cache`, a card the same rules priced before, with
 * the same content, takes what they gave it then, without Lua. */
int eng__rules_price_sets(const eng_rules *const *sets, size_t n, eng_turn *t, json_object *cards, bool cache);
int eng__rules_price(const eng_rules *r, eng_turn *t, json_object *cards);
/* eng__rules_price_kept: eng__rules_price_sets with `cache`, without a
 * turn, when it needs none: true when every card was priced (no price
 * rules, or each card's price kept from the same rules and the same card,
 * and those rules were never seen to read their ctx); false when a turn
 * is needed, the cards then holding only the defaults (finalPrice =
 * price, empty appliedRules) that eng__rules_price_sets adds itself. */
bool eng__rules_price_kept(const eng_rules *const *sets, size_t n, json_object *cards);

/* eng__rules_boost_sets: mult[i] = product of what boost(hook, ...)
 * returned for items[i] (1 when nothing applies). mult has one slot per
 * item. With `cache`, an item the same rules boosted before, with the
 * same content and the same parts of the turn they read, takes the same
 * product without Lua. */
int eng__rules_boost_sets(const eng_rules *const *sets, size_t n, eng_turn *t, const char *hook,
                          json_object *items, double *mult, bool cache);
int eng__rules_boost(const eng_rules *r, eng_turn *t, const char *hook, json_object *items, double *mult);

/* eng__rules_veto_sets: the first on(hook, ...) that denies `action`, or
 * that fails without fail_open: a new {deny, id, version, file, failed?}
 * (caller puts it), or NULL; the files after it do not run. The handlers
 * get (action, ctx) with ctx.cart the turn context's "cart" (the
 * commerce core refreshes it first). */
json_object *eng__rules_veto_sets(const eng_rules *const *sets, size_t n, eng_turn *t, const char *hook,
                                  json_object *action);
json_object *eng__rules_veto(const eng_rules *r, eng_turn *t, const char *hook, json_object *action);

/* eng__rules_cart_sets: cart-level discounts [{id, version, reason,
 * amount, code?}] from cart_rule/buy_x_get_y hooks and, when promo_code
 * is not NULL, the promo() registered for it (*promo_known says whether
 * any file knows the code; *promo_denied a reason it refused, pool
 * string: a set's last, the first set's that has one). With `cache`, the
 * same cart (priced lines, subtotal, id) and code under the same rules
 * take what they got before, without Lua. */
json_object *eng__rules_cart_sets(const eng_rules *const *sets, size_t n, eng_turn *t, json_object *cart,
                                  const char *promo_code, bool *promo_known, const char **promo_denied, bool cache);
json_object *eng__rules_cart(const eng_rules *r, eng_turn *t, json_object *cart, const char *promo_code,
                             bool *promo_known, const char **promo_denied);

/* eng__rules_cache_clear: forget every cached price and cart (tests). */
void eng__rules_cache_clear(void);

#endif
