/* engine/stages/agent_int.h — the `agent` stage's options and the four
 * agents it dispatches to (agent_product.c, agent_cart.c, agent_order.c,
 * agent_support.c). Internal to engine/stages/. */
#ifndef AISLE_AGENT_H
#define AISLE_AGENT_H

#include "engine/commerce_int.h"

typedef struct agent_opts {
    const char *agent;
    int rules_node;
    long page_size;
    bool confirm_orders;
    bool confirm_cancels;  /* ask "Shall I cancel order #N?" every time */
    double confirm_below;  /* a change read with less confidence is asked */
    eng_rules *rules;      /* the agent's own rules, after the pipeline's */
} agent_opts;

/* One call of an agent: the turn it answers and the stage's options.
 * The four agents share this one signature (the stage dispatches through
 * a table, agent.c); each takes from it what it needs. */
typedef struct agent_call {
    eng_turn *t;
    const agent_opts *o;
} agent_call;

typedef eng_result (*agent_fn)(const agent_call *c);

/* The four agents: each answers the turn (vars, actions, the trace) and
 * returns the stage's result. */
eng_result eng__agent_product(const agent_call *c);
eng_result eng__agent_cart(const agent_call *c);
eng_result eng__agent_order(const agent_call *c);
eng_result eng__agent_support(const agent_call *c);
/* eng__agent_asks_offers: the message asks what is on offer ("got any
 * deals", "anything on sale", "any discounts?") and names nothing the
 * shop sells (no brand, kind or catalog word). */
bool eng__agent_asks_offers(eng_turn *t);

/* eng__agent_names_brand_or_kind: the message names a brand or a
 * category of the catalog (entities, not negated) or a product type the
 * classifier stage resolved (ctx.understanding.category). */
bool eng__agent_names_brand_or_kind(eng_turn *t);

/* eng__agent_only_words: every word of `text` (letters and digits) is
 * one of `allowed` or of `also` (either may be NULL), case aside. */
bool eng__agent_only_words(const char *text, const char *const *allowed, const char *const *also);

/* eng__agent_spell_flags: the store search flags a lookup by the
 * shopper's own words takes. With an English word list the classifier
 * corrected the message's spelling already, and the store must not
 * "correct" an English word again ("throw in a bunch" is not a lunch
 * box): STORE_SEARCH_NO_SPELL then, 0 otherwise. */
int eng__agent_spell_flags(eng_turn *t);

/* eng__agent_past_courtesy: `s` past the courtesy and hedges a request
 * opens with ("could you", "ok please", "ideally", "hmm maybe"). */
const char *eng__agent_past_courtesy(const char *s);
/* eng__agent_past_verb: `text` past its courtesy and the verb of `verbs`
 * it opens with (each written with its trailing space: "take out "), or
 * NULL when it opens with none. */
const char *eng__agent_past_verb(const char *text, const char *const *verbs);

/* eng__agent_names_part_of_focus: a question about "the <word>" with a
 * product in focus, where the words the catalog knows name no other
 * product shown and no kind of product ("how long does the battery
 * last", "is the screen big"): about a part of the focus product. */
bool eng__agent_names_part_of_focus(eng_turn *t);

/* eng__agent_reread: run the table of readings the message puts right
 * (agent_reread.c) for the turn of `call`, the router having chosen
 * `fn`: true when an entry answered the turn (its result in *r), false
 * when the reading stands and `fn` answers. */
bool eng__agent_reread(const agent_call *call, agent_fn fn, eng_result *r);
/* eng__agent_word_in: whether w[0..n) is one of `list` (NULL-ended),
 * case aside. */
bool eng__agent_word_in(const char *w, size_t n, const char *const *list);
/* eng__agent_names_last_added: "the last thing i added", "what i just
 * put in": a word of recency and one of adding or of the cart. */
bool eng__agent_names_last_added(const char *text);

/* eng__agent_asks_most: "add the max", "as many as you'll let me have":
 * the most of a product allowed is asked for. */
bool eng__agent_asks_most(const char *text);

/* eng__agent_says_idiom: the words of a cart change in an idiom ("remove
 * any doubt", "drop me an email", "clear something up", "double check"):
 * no change of the cart is asked for. */
bool eng__agent_says_idiom(const char *text);

/* eng__agent_has_word: whether `text` holds one of the NULL-ended
 * `words` (or phrases) as whole words, case-insensitive. */
bool eng__agent_has_word(const char *text, const char *const *words);
/* eng__agent_names_code: whether `text` speaks of a promotion code
 * ("code", "coupon", "voucher", "promo"), not of a product. */
bool eng__agent_names_code(const char *text);
/* eng__agent_points_at_shown: whether the message points at a product
 * shown by its place in the list ("the 3rd pair") and that resolved. */
bool eng__agent_points_at_shown(eng_turn *t);
/* eng__agent_asks_variant: "does it come in grey?", "is it available in
 * XL": a colour or size asked of the product in focus. */
bool eng__agent_asks_variant(eng_turn *t);
/* eng__agent_asks_list_variant: a list was shown and the message asks
 * whether its products come in a colour or size, naming no product
 * ("do they come in size 10", "any in black?"): the last search refined
 * by it, not a new search for everything black, nor the shop's gift
 * cards because "10" appears there. */
bool eng__agent_asks_list_variant(eng_turn *t);
/* eng__agent_picks_delivery: right after a checkout or cart turn, a short
 * message that names one of the shop's delivery options ("express
 * please", "standard is fine"): the checkout with that option, not a
 * search for "express". */
bool eng__agent_picks_delivery(eng_turn *t);
/* eng__agent_only_refines: a search was shown and the message only
 * orders or cuts it ("and the most expensive?", "cheapest first pls"):
 * a refinement, whatever the model read. */
bool eng__agent_only_refines(eng_turn *t);
/* eng__agent_asks_similar: "more like the second one", "anything similar
 * but in stock": products like one shown or in focus. */
bool eng__agent_asks_similar(const char *text);
/* eng__agent_asks_about_focus: a product is in focus and the message is
 * a yes/no question about it ("is it machine washable", "does this one
 * fold flat"): true, with the words asked about in words[0..cap). */
bool eng__agent_asks_about_focus(eng_turn *t, char *words, size_t cap);
/* eng__agent_sizes_question: "what sizes do they come in", "any other
 * sizes for it": the catalog keeps no sizes, so the reply says so about
 * the product in focus or the list shown, in *r; false when the message
 * asks no such thing (or it was answered already this turn). */
bool eng__agent_sizes_question(const agent_call *c, eng_result *r);
/* eng__agent_money_taken: `text` says money was taken wrongly ("i was
 * charged twice", "you took my money", "billed for nothing"): a payment
 * problem for a person, whatever else it reads as. */
bool eng__agent_money_taken(const char *text);
/* eng__agent_shop_overview: "what do you sell", "show me everything",
 * naming no kind of product: how many products the shop has and its
 * biggest kinds, with one suggestion each (read as clarify; sets
 * vars.overview {total, kinds} and vars.clarifyCategories). Sets *r and
 * returns true when it did. */
bool eng__agent_shop_overview(const agent_call *c, eng_result *r);

/* eng__agent_likes_shown: "the gucci one sounds lovely", "i like the
 * prada one": a product shown, named beside words of liking: its details
 * (read as product_details). Sets *r and returns true when it did. */
bool eng__agent_likes_shown(const agent_call *c, eng_result *r);

/* eng__agent_shop_by_budget: "something around 30 bucks", "what can i
 * get for 15 dollars": a budget and no product, no money owed or paid:
 * the best rated products within it (read as recommend). Sets *r and
 * returns true when it did. */
bool eng__agent_shop_by_budget(const agent_call *c, eng_result *r);

/* eng__agent_shop_by_price: "what's the cheapest thing you sell", "the
 * most expensive item in the shop", "everything by price": no product
 * named, the whole catalog ordered by price (a recommendation, vars.
 * shopOrder "asc" or "desc"), answered in *r. False otherwise. */
bool eng__agent_shop_by_price(const agent_call *c, eng_result *r);
/* eng__agent_shown_question: "how much are they", "what do these
 * cost", "how much for 3 of them", "how many reviews does it have": the
 * price or rating of what was just shown, not the cart (no cart,
 * delivery or order words).
 * The product in focus (times the count said) or, with a list shown and
 * no focus, the list side by side; the answer in *r. False when the
 * message asks no such thing. */
bool eng__agent_shown_question(const agent_call *c, eng_result *r);
/* eng__agent_asks_fact: the message asks one of the facts a product's
 * listing may hold: its warranty, return policy, weight, dimensions or
 * when it ships ("what's the warranty on the sofa", "how heavy is it"). */
bool eng__agent_asks_fact(const char *text);
/* eng__agent_hesitates: an answer to "shall I ...?" that is no yes yet:
 * 1 for a hesitation ("hmm not sure", "ok hold on", "hmm ok wait", "ok
 * so", "let me think"), 2 for a no said as a yes ("yeah nah"), 0
 * otherwise. */
int eng__agent_hesitates(const char *text);
/* eng__agent_said_order_number: the order number a message names in a
 * shopper's words ("cancel order 1", "where's #1", "cancel no. 1", "track
 * order one", "cancel 2"), or 0. */
int64_t eng__agent_said_order_number(const char *text);
/* eng__agent_names_ordered: the message's words name a product in one of
 * the signed-in shopper's orders ("cancel the spatula"). */
bool eng__agent_names_ordered(eng_turn *t);
/* eng__agent_yes_and_more: what a "yes" to the order's question says
 * beside the yes: AGENT_YES_PLAIN ("yes please go ahead", "yep place
 * it, thanks"), AGENT_YES_REMOVE ("yes without the spatula"),
 * AGENT_YES_ADD ("yes please, and add a wok too") or AGENT_YES_OTHER
 * (words of its own: "yes but to my office"). */
enum { AGENT_YES_PLAIN, AGENT_YES_REMOVE, AGENT_YES_ADD, AGENT_YES_OTHER };
int eng__agent_yes_and_more(const char *text);
/* eng__agent_is_question: `text` asks rather than tells: a question
 * mark, or it opens like a question ("can i cancel my order", "how do
 * i ..."). */
bool eng__agent_is_question(const char *text);
/* eng__agent_cancel_request: `text` tells the shop to cancel an order
 * ("cancel it", "i changed my mind, cancel that order"), not a question
 * about cancelling. */
bool eng__agent_cancel_request(const char *text);
/* eng__agent_bare_cancel: "cancel", "nah cancel that", "oh cancel it":
 * the word cancel with nothing named beside it (no order, no product),
 * not a question; what it cancels is what was just asked or done. */
bool eng__agent_bare_cancel(const char *text);
/* eng__agent_said_total: the first price in `text` said without its sign,
 * cents and all ("cancel the 29.89 one"), into *v; where it starts, or
 * NULL when there is none. */
const char *eng__agent_said_total(const char *text, double *v);
/* eng__agent_names_other_payment: "pay with paypal", "bill my company",
 * "cash on delivery": a way to pay other than the card saved on the
 * account (the only one the chat takes). */
bool eng__agent_names_other_payment(const char *text);
/* eng__agent_keeps_saved_address: "no, use my saved address", "keep my
 * usual address": the address on the account, not the one just given. */
bool eng__agent_keeps_saved_address(const char *text);
/* eng__agent_sets_count: `text` says the count a cart line should go to
 * ("drop it down to one", "bring it up to 4"); a price ("up to $300") is
 * none. */
bool eng__agent_sets_count(const char *text);
/* eng__agent_hop: count one more entry into an agent this turn; false
 * past 8 (the agents handing a message to each other in a cycle): the
 * agent then answers with nothing changed. */
bool eng__agent_hop(eng_turn *t);
/* eng__agent_delivery_pick: a message eng__agent_picks_delivery found:
 * after the cart, the cart with that option's price; after the checkout,
 * the checkout with that option. */
eng_result eng__agent_delivery_pick(const agent_call *c);
/* eng__agent_asks_opinion: a product is in focus and the message asks
 * what it is worth, pointing at it ("is it any good", "what are the
 * reviews like for that one"): its details (rating, stock), not the
 * shop's policies. */
bool eng__agent_asks_opinion(eng_turn *t);
/* eng__agent_bare_count: the message is a count and nothing else ("a
 * dozen please", "3 pls") while products are in view (the focus, or
 * the last list): how many of which, an add to ask (or "which one?"). */
bool eng__agent_bare_count(eng_turn *t);
/* eng__agent_buys_now: `text` asks to buy what was chosen ("just buy it
 * for me", "pay for everything now") naming nothing of the catalog: 1
 * when the cart holds goods (a checkout), 2 when "it" is a product in
 * focus that the cart does not hold (an add first), else 0. */
int eng__agent_buys_now(eng_turn *t, const char *text);

/* eng__agent_picks_among_shown: "which" (or "any of these") said of the
 * two or more products shown, none picked out by an ordinal ("of these
 * which one is the most lightweight", "are any of these cruelty-free"). */
bool eng__agent_picks_among_shown(eng_turn *t);
/* eng__agent_narrows_list: right after a list, a message that asks for
 * the ones of it with something ("something with good cushioning", "ones
 * that are more breathable", "in a wider fit") and names no other kind. */
bool eng__agent_narrows_list(eng_turn *t);
/* eng__agent_turns_page: a page of the list shown asked for ("next
 * page", "take me back to the start of the list"), naming nothing of the
 * catalog; false without a list. */
bool eng__agent_turns_page(eng_turn *t);

/* eng__agent_another_code: `text` is one promotion code said alone, chat
 * aside ("and welcome5 as well", "try save10 instead"): letters and
 * digits, upper-cased into code (n bytes). */
bool eng__agent_another_code(const char *text, char *code, size_t n);

/* eng__agent_other_one: right after an add, "no, the other one" (or "a
 * different one", "wrong one"): with two products shown, a swap for the
 * other one, asked; with more, the question which one instead
 * (vars.whichInstead, the title added). False when the message is no
 * such answer. */
bool eng__agent_other_one(const agent_call *c, eng_result *r);

/* eng__agent_changes_by: `text` changes a line by a count ("lower it by
 * one", "increase the kiwis by 2") and the cart holds goods. */
bool eng__agent_changes_by(eng_turn *t, const char *text);

/* eng__agent_product_question: `text` asks about one product by name
 * ("is the chanel long lasting", "what's the screen size on the asus",
 * "how much is the dior"). */
bool eng__agent_product_question(const char *text);

/* eng__agent_one_more: `text` asks for another of the product in focus
 * and says nothing else ("another one please", "can i get another
 * bottle"); false without a product in focus. */
bool eng__agent_one_more(eng_turn *t, const char *text);

/* eng__agent_clears_cart: `text` asks to empty the whole cart ("nuke the
 * cart", "start over, empty everything", "take it all out"): a clearing
 * verb, a word for all of it, nothing of the catalog named, and a cart
 * that holds something. */
bool eng__agent_clears_cart(eng_turn *t, const char *text);

/* eng__agent_code_request: whether `text` asks to use a promotion code it
 * holds ("my voucher is WELCOME5") or to take the code off ("could you
 * take my voucher off"): the cart agent's, whatever the model read. */
bool eng__agent_code_request(const char *text);
/* eng__agent_cart_takes_back: the message takes back or corrects the
 * one cart change the message before made or asked about ("undo that",
 * "put it back" after a removal, "actually just one" after an add of 2
 * or the question about it): the line's count before, or the count now
 * said, asked, never done. Sets *r and returns true when it did. */
bool eng__agent_cart_takes_back(const agent_call *c, eng_result *r);

/* eng__agent_cart_retarget: while the add asked in the turn before
 * waits, "no, the fourth", "i meant the lenovo", "the fourth instead":
 * the same question (same count) of the product now named, asked; never
 * an add. Sets *r and returns true when it did. */
bool eng__agent_cart_retarget(const agent_call *c, eng_result *r);

/* eng__agent_code_word: a word of `text` that looks like a promotion
 * code (letters and digits, 4 to 20 long: "SAVE10", "welcome5") other
 * than `first` (may be ""), upper-cased into out (n bytes); false when
 * there is none ("use welcome5 and save10" has SAVE10 beside WELCOME5). */
bool eng__agent_code_word(const char *text, const char *first, char *out, size_t n);

/* eng__agent_counted_request: `text` asks for a count of something
 * ("2 red lipsticks please", "i'll take 3 kiwis", "two of the honey
 * please"): a count from 2 to 12 at the message's start (after a verb of
 * having) with a courtesy or such a verb; "i need 600 connectors" is no
 * such request. */
bool eng__agent_counted_request(eng_turn *t, const char *text);

/* eng__agent_says_instead: `text` puts right what was just added:
 * "instead", "i meant the fourth", "sorry, meant the blue one", "wrong
 * one, the chanel" (never "i meant to ask"). */
bool eng__agent_says_instead(const char *text);

/* eng__agent_cart_swap: "swap the lipstick for the mascara", "the red
 * one instead of the blue", "get the second one instead" right after an
 * add: a cart line given up for another product in its count, asked; a
 * yes adds the new one and takes the old line out only once the add is
 * done. With `asked_change` (the message was read as a cart change) a
 * new product that is not sure is asked about; else the message is left
 * to its reading. Sets *r and returns true when it did. */
bool eng__agent_cart_swap(const agent_call *c, bool asked_change, eng_result *r);

/* eng__agent_cart_claims: a message another agent got that is the cart's
 * whatever the model read: a promotion code to use or take off ("here's
 * my voucher, WELCOME5", "redeem welcome5"), everything but a product in
 * the cart ("empty the lot apart from the kiwi"), a count alone with
 * products in view ("half a dozen please", asked). Runs the cart agent
 * on it (*r its result) and returns true; false when none of these. */
bool eng__agent_cart_claims(const agent_call *c, eng_result *r);
/* eng__agent_knowledge: answer the message from the shop's knowledge
 * file, when the pipeline has one and a section fits (only a close fit
 * when `strict`): sets vars.knowledge and notes the topic in the trace.
 * Returns whether it answered. */
bool eng__agent_knowledge(eng_turn *t, const char *topic, bool strict);
/* eng__agent_kb_follow_on: "what about canada?", "and for gift cards?"
 * right after an answer from the shop's knowledge (session.
 * lastKnowledge): that section asked again with the new words; sets
 * vars.knowledge, reads the turn as shop_question and returns true, or
 * false when the message is no such follow-on or nothing fits. */
bool eng__agent_kb_follow_on(eng_turn *t);
/* eng__agent_knowledge_of: the same, for the words `text` instead of the
 * message's. */
bool eng__agent_knowledge_of(eng_turn *t, const char *topic, bool strict, const char *text);

/* eng__agent_shown_of: what the session keeps of the cards a reply shows
 * (sku, title, brand, category, prices, rating), for "the second one" in
 * a later message (a new array). */
json_object *eng__agent_shown_of(json_object *cards);
/* eng__agent_intent: the turn's intent name ("" when none). */
const char *eng__agent_intent(eng_turn *t);
/* eng__agent_read_as: the turn is read as intent `name` from here on;
 * the classifier's own reading stays in intent.classified (the first one
 * kept when the turn is read again) for the trace and the tests. Returns
 * the new name (owned by the context). */
const char *eng__agent_read_as(eng_turn *t, const char *name);

/* What a message points at (agent.c). The order: a reference to what was
 * shown ("the second one", "the cheaper one"), else product names in the
 * message ("the scooter", "the oppo") matched against the last results,
 * the cart and then the catalog, else the product in focus ("it", "one
 * more"), else the only cart line (`cart_first`). With `cart_first`
 * (removals, quantity changes) names match the cart before the results. */
typedef enum agent_found {
    AGENT_NOTHING = 0,  /* nothing points anywhere */
    AGENT_ONE,          /* sku/title */
    AGENT_MANY,         /* several fit: candidates (or the shown list) */
    AGENT_NO_MATCH,     /* a name that nothing matched: name */
    AGENT_BAD_REF       /* "the sixth one" of five, or of nothing shown */
} agent_found;

typedef enum agent_where { AGENT_AT_SHOWN = 1, AGENT_AT_CART, AGENT_AT_CATALOG, AGENT_AT_FOCUS } agent_where;

typedef struct agent_target {
    agent_found found;
    agent_where where;
    const char *sku, *title;   /* pool strings (AGENT_ONE) */
    json_object *candidates;   /* AGENT_MANY from the cart or the catalog:
                                  a new array of cards (caller puts it) */
    char name[160];            /* the product words of the message */
    bool comparative;          /* found by "the cheaper one", "the better one" */
} agent_target;

/* eng__agent_focus: the product in focus (session.focus) into *o, found
 * AGENT_ONE at AGENT_AT_FOCUS with pool strings; false when there is none
 * or it is gone from the catalog. */
bool eng__agent_focus(eng_turn *t, agent_target *o);

void eng__agent_target(eng_turn *t, bool cart_first, agent_target *out);
/* eng__agent_people: the people a purchase is for ("for my sister",
 * "for the whole family"): who it is for, never what (NULL-ended). */
extern const char *const eng__agent_people[];
/* eng__agent_name_words: the words of the message that may name a
 * product (no verbs of the cart, references, quantities or filler). */
void eng__agent_name_words(eng_turn *t, char *out, size_t n);
/* eng__agent_name_parts: the same, with '|' between the products that
 * "and", "or", "vs", "with" join when `split` ("the oppo or the realme"). */
void eng__agent_name_parts(eng_turn *t, char *out, size_t n, bool split);
/* eng__agent_span_words: eng__agent_name_parts of the bytes [from, to) of
 * the message alone ("swap the lipstick for the mascara": each side). */
void eng__agent_span_words(eng_turn *t, size_t from, size_t to, char *out, size_t n, bool split);
/* eng__agent_refs: the products the message's ordinal references point
 * at ("the first and the third", "the first two"), each once, in the
 * order said: their SKUs and titles (pool strings) in skus[] and
 * titles[]. Returns how many (0 when there is none, or more than `max`),
 * or -1 when some point at products and another at nothing shown ("the
 * first and the ninth" of five). */
#define AGENT_MAX_REFS 10
int eng__agent_refs(eng_turn *t, const char **skus, const char **titles, int max);
/* eng__agent_named: resolve `words` alone (shown, cart, catalog); 1 when
 * one product fits (o->sku). */
int eng__agent_named(eng_turn *t, const char *words, agent_target *o);
/* eng__agent_word_fits: whether w[0..n) is a word of `field` (its
 * plural ending aside: "polishes" fits "Polish"; a stem of four letters
 * or more also starts a longer word), or with `inside` sits inside one
 * ("phone" in "smartphones", "iPhone"). */
bool eng__agent_word_fits(const char *w, size_t n, const char *field, bool inside);
/* eng__agent_each_word: the next space-separated word of `p` at *w (*n
 * bytes); where to go on from, or NULL when no word is left. */
const char *eng__agent_each_word(const char *p, const char **w, size_t *n);
/* eng__agent_title_fits: how many of `words` (space separated) fit
 * `title` (eng__agent_word_fits, whole words, plural or not). */
int eng__agent_title_fits(const char *words, const char *title);
/* eng__agent_name_score: how many of `words` (space separated) the
 * product (title, brand, category, tags) names. */
int eng__agent_name_score(const char *words, json_object *product);
/* eng__agent_last_quote: the price of several of one product the message
 * before this one quoted (session.quoted: sku, qty, turn, id), or NULL
 * when that message quoted none or came earlier. */
json_object *eng__agent_last_quote(eng_turn *t);
/* eng__agent_remember: keep `v` (an object, taken) as session[name] for
 * the next message only: the turn and the message id are added to it. */
void eng__agent_remember(eng_turn *t, const char *name, json_object *v);
/* eng__agent_remembered: session[name] if this turn's message is the one
 * right after the turn that remembered it, else NULL. */
json_object *eng__agent_remembered(eng_turn *t, const char *name);
/* eng__agent_meant_count: "oops i meant 1", "sorry, 3" right after a
 * change of one line (session.lastChange, an add or a set) that left it
 * at another count: that line set to the count said, asked. Sets *r and
 * returns true when it did. */
bool eng__agent_meant_count(const agent_call *c, eng_result *r);
/* eng__agent_last_cleared: the lines the message before this one emptied
 * the cart of (session.lastChange.cleared: [{sku, title, qty}]), or NULL. */
json_object *eng__agent_last_cleared(eng_turn *t);
/* eng__agent_last_change: the one cart line the message before this one
 * changed (session.lastChange: type, sku, title, before, after), or NULL
 * when that message changed none, several, or came earlier. */
json_object *eng__agent_last_change(eng_turn *t);
/* eng__agent_last_adds: the new lines the message before this one added
 * when it added several (session.lastChange.lines: [{sku, title, qty}]),
 * or NULL. */
json_object *eng__agent_last_adds(eng_turn *t);

/* eng__agent_pending_fresh: the session's pending question, if it was
 * asked by the turn just before this one; else NULL (and a stale one is
 * dropped). Borrowed. */
json_object *eng__agent_pending_fresh(eng_turn *t);
/* eng__agent_contradicts: whether `text` holds a word that asks the
 * opposite of the cart change `type` ("cart.add" or "cart.remove"): "take
 * one of them out" read as an add, "yes, take it out" to "shall I add
 * it?". Such a reading is asked, never done. */
bool eng__agent_contradicts(const char *type, const char *text);

/* eng__agent_keep_pending: a turn that answers a question of its own
 * (a policy, a product's details) while the session's question waits
 * keeps that question for the next message (at most twice) and sets
 * vars.stillPending (with `order`, `add`, `set`, `remove` or `clear` by
 * the question's kind) so the reply asks it again (the formatter's pending_reminder template). */
void eng__agent_keep_pending(eng_turn *t);
/* eng__agent_ask: store {type, sku, title, qty} as the pending question
 * and set vars.ask (and vars.ask<Type>) for the reply. */
void eng__agent_ask(eng_turn *t, const char *type, const char *sku, const char *title, int64_t qty);
/* eng__agent_cart_apply: carry out a confirmed cart question (agent_cart.c). */
eng_result eng__agent_cart_apply(eng_turn *t, json_object *pending);

#endif
