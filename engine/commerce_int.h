/* engine/commerce_int.h — what the commerce agents share (engine/commerce.c):
 * the store of the turn, cart ids, product cards, the priced cart, and
 * actions with idempotency keys. Internal to engine/. */
#ifndef AISLE_COMMERCE_H
#define AISLE_COMMERCE_H

#include "pipe_int.h"
#include "rules_int.h"
#include "stores/store.h"

/* eng__store: the turn's store, or NULL when the caller gave none. */
store *eng__store(const eng_turn *t);

/* eng__turn_claim: may the turn change the shop now?  Asks the turn's
 * claim (eng_turn_opts.claim) the first time; 0 when granted or when
 * there is none, ENG_EIO when another attempt at the same message owns
 * its changes (then for the rest of the turn). */
int eng__turn_claim(eng_turn *t);

/* eng__user_id: the logged-in user's numeric id, 0 when anonymous. */
int64_t eng__user_id(const eng_turn *t);

/* eng__cart_id: "user:<id>" when logged in, else "anon:<sessionId>". */
void eng__cart_id(const eng_turn *t, char *buf, size_t n);

/* eng__card: a product card {sku, title, brand, category, price,
 * finalPrice, rating, stock, thumbnail, appliedRules} (new object);
 * with_detail adds description, images and tags. */
json_object *eng__card(const store_product *p, bool with_detail);
/* eng__product_get: store_product_get(eng__store(t), sku, out, err) for
 * the turn: a product the turn found before comes from the turn's own
 * copy (engine/turn_products.c), no store read. Same return codes; *out
 * is the caller's to clear (store_product_clear). Blocks on the store
 * only when it reads. */
int eng__product_get(eng_turn *t, const char *sku, store_product *out, store_err *err);
/* eng__products_forget: drop the turn's copies of products; after a
 * write of the turn that changes products (an order placed or
 * cancelled: stock). */
void eng__products_forget(eng_turn *t);
/* eng__stock_json: a product's stock as rules, templates and clients see
 * it: the count, or null when the catalog keeps none (always available). */
json_object *eng__stock_json(const store_product *p);

/* eng__cart_refresh: load the cart from the store, price each line
 * through every rules file of the pipeline (eng__shop_price), apply cart
 * rules and the session's promo code, and set ctx.cart = {id, items:[{sku,
 * title,qty,unitPrice,finalPrice,lineTotal,appliedRules}], subtotal,
 * discounts, total, count}.  Returns 0 or a negative code (note set). */
int eng__cart_refresh(eng_turn *t);

/* eng__cart_set: as eng__cart_refresh, from lines the caller already read
 * (a cart change's own read, store_cart_change.cart_after); `c` stays the
 * caller's.  Replaces ctx.cart; returns 0. */
int eng__cart_set(eng_turn *t, const store_cart *c);

/* eng__cart_stale: the store's cart may have changed since ctx.cart was
 * built (an order, a cancel, a failed change): the next cart change reads
 * it again instead of showing its vetoes ctx.cart.  Drops the turn's
 * reference (eng_turn.cart_read). */
void eng__cart_stale(eng_turn *t);

/* eng__cart_line_qty: the quantity of `sku` in ctx.cart (0 when absent). */
int64_t eng__cart_line_qty(eng_turn *t, const char *sku);

/* ------------------------------------------------ the commerce core
 * (engine/shop.c; the public face is eng_shop_* in eng.h) */

/* eng__shop_price: price cards through the price() hooks of every rules
 * file of the pipeline (top level, then each agent's): the one pricing
 * path of cards, carts and orders. */
int eng__shop_price(eng_turn *t, json_object *cards);
/* eng__shop_price_kept: the same without a turn, when none is needed
 * (eng__rules_price_kept): true when the cards are priced. */
bool eng__shop_price_kept(const eng_pipeline *p, json_object *cards);
/* eng__shop_cart_act: a cart action {type: hook, sku, title, price,
 * category, brand, stock, qty, currentQty, newQty} as the rules' veto
 * hooks see it, for product `p` (a new object). */
json_object *eng__shop_cart_act(const char *hook, const store_product *p, int64_t qty, int64_t cur, int64_t nq);
/* eng__shop_veto: the first on(hook) of any rules file that denies
 * `action`, with ctx.cart loaded first so the rule sees the cart; a new
 * {deny, id, version, file} or NULL. */
json_object *eng__shop_veto(eng_turn *t, const char *hook, json_object *action);
/* eng__shop_cart_rules: cart-level discounts of every rules file (see
 * eng__rules_cart); a new array. */
json_object *eng__shop_cart_rules(eng_turn *t, json_object *cart, const char *code, bool *known,
                                  const char **denied);
/* eng__shop_do: carry out one action {type, sku?, qty?, key?, code?,
 * orderId?, delivery? (order.create: an option id), savedFacts?
 * (order.create: true requires the account's saved address and saved
 * card, INVALID with r->field "address" or "payment" otherwise; the
 * chat's orders set it)} (types cart.add, cart.set, cart.remove, cart.clear,
 * promo.apply, promo.remove, order.create, order.cancel) for the turn's
 * shopper; fills *r (eng_shop_result_clear it). Always returns 0. */
int eng__shop_do(eng_turn *t, json_object *action, eng_shop_result *r);
/* eng__checkout_quote: what a checkout without facts (the chat, MCP)
 * charges for ctx.cart: {delivery (option `delivery`, else the first,
 * priced; only one that delivers to the saved address's country),
 * deliveryProblem? (why `delivery` cannot be used there, or that nothing
 * delivers there: then no delivery), otherDelivery (the rest that deliver
 * there, priced), address (the saved one, when there is one), goodsTotal,
 * total} (new object). */
json_object *eng__checkout_quote(eng_turn *t, const char *delivery);
/* eng__delivery_free_hint: the option that becomes free soonest among
 * those that deliver to the shopper's saved address (every option when
 * none is saved), for "do I get free delivery?"; NULL when none does. */
const struct eng_delivery_opt *eng__delivery_free_hint(eng_turn *t);
/* eng__delivery_named: the id of the shop's delivery option that `text`
 * names as a word ("express"), or asks for by its speed ("fastest
 * shipping", "upgrade the delivery": the one with the fewest days;
 * "cheapest shipping", "regular delivery": the cheapest; options for
 * some countries only are not counted), or NULL. Borrowed from the
 * pipeline. */
const char *eng__delivery_named(eng_turn *t, const char *text);
/* eng__order_json: an order as every channel shows it (new object). */
json_object *eng__order_json(const store_order *o);
/* eng__refund_owed (engine/refund.c): the refund record a cancel of o
 * owes, {"status": "pending", amount, currency, reference (the charge's),
 * provider, brand, last4, owedAt} (new object), or NULL when o was not
 * paid. */
json_object *eng__refund_owed(const store_order *o);
/* eng__refund_settle: give back the refund order_id owes, exactly once
 * (store lease "refund:<id>", record re-read under it, marked "refunded"
 * only while pending).  0: settled (now or before, or nothing owed); 1:
 * another caller holds the lease; a negative code: still pending (the
 * provider or the store failed).  Blocks on the store and the provider. */
int eng__refund_settle(store *s, int64_t order_id);

/* eng__action_add: append {type, key, status:"pending", ...params} to
 * ctx.actions; the key is derived from the session, the message id and
 * the action's index, so the same message run twice yields the same key.
 * Takes ownership of params (an object, may be NULL). Returns the action
 * (borrowed). */
json_object *eng__action_add(eng_turn *t, const char *type, json_object *params);

/* eng__action_record: the core's result `r` onto action `a` (status done,
 * denied or failed, with the reason the reply and templates read), the
 * turn's vars (denied, promoCode...) and ctx.cart; *cart_changed is set
 * when the cart changed.  The action stage and the llm_agent's tools. */
void eng__action_record(eng_turn *t, json_object *a, const eng_shop_result *r, bool *cart_changed);

/* eng__session: ctx.session (created when absent). Borrowed. */
json_object *eng__session(eng_turn *t);

/* eng__slot: ctx.slots.<name> (borrowed) or NULL. */
json_object *eng__slot(eng_turn *t, const char *name);

/* eng__reference_sku: the sku the message points at: a resolved
 * reference entity, else the session's focus; NULL when none. */
const char *eng__reference_sku(eng_turn *t);

/* eng__set_var: ctx.vars.<name> = v (takes ownership). */
void eng__set_var(eng_turn *t, const char *name, json_object *v);

/* eng__audit: record an audit event (actor: user or session) through
 * the store; detail may be NULL (borrowed). */
void eng__audit(eng_turn *t, const char *action, const char *subject, json_object *detail);

#endif
