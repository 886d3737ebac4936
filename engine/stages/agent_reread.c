/* engine/stages/agent_reread.c — readings the message itself puts
 * right, before an agent answers. The classifier reads "nuke my
 * trolley" as a search and "how long does the battery hold up" as a
 * shop question; each entry of one table below names the readings it
 * corrects, how sure they may be, the test the message must pass, and
 * the reading and agent that answer instead. The agent stage (agent.c)
 * runs the table once per turn, first entry first, before the agent the
 * router chose. */
#define _GNU_SOURCE /* strcasestr */
#include "agent_int.h"
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* What a test sees: the turn, the message, the agent the router chose
 * and the reading's confidence. */
typedef struct reread_ctx {
    const agent_call *call;
    eng_turn *t;
    const char *said;
    const char *intent;
    agent_fn fn;
    double conf;
} reread_ctx;

enum {
    RR_STORE = 1,       /* needs a store */
    RR_SOURCE = 2,      /* the new reading's source is "reread" */
    RR_ASKED = 4,       /* a change it leads to is asked (vars.continued) */
};

/* One correction. `from` lists the readings it corrects (NULL: any but
 * those of `not_from`); only those less sure than `below`. `test` says
 * whether the message is what it corrects to; `act`, when set, answers
 * the turn itself instead (true when it did, *r its result). */
typedef struct reread {
    const char *const *from, *const *not_from;
    double below;
    bool (*test)(const reread_ctx *c);
    bool (*act)(const reread_ctx *c, eng_result *r);
    const char *as;      /* the reading it becomes (NULL: the test set it) */
    unsigned flags;
    const char *var;     /* a var set true beside it, or NULL */
    agent_fn to;         /* who answers (NULL: nobody, the reply says it) */
    const char *note;    /* for the trace */
} reread;

static const char *const not_confirm[] = {"confirm", NULL};
static bool listed(const char *const *list, const char *intent);

/* ---- the tests, in the table's order */

/* "what does express cost again" while the checkout waits: the cart's
 * total with that option, and the checkout's question asked again (a
 * question about an option is no choice of it) */
static bool delivery_cost(const reread_ctx *c)
{
    static const char *const costs[] = {"how much", "cost", "costs", "price", "what's", "whats", "what is",
                                        "what does", NULL};
    const char *ptype = eng__json_str(eng__json_path(c->t->ctx, "session.pending"), "type", "");
    return (strcmp(ptype, "checkout.address") == 0 || strcmp(ptype, "order.create") == 0) &&
           eng__agent_has_word(c->said, costs) && eng__delivery_named(c->t, c->said);
}

/* "no, the other one" right after an add: a swap, or which one */
static bool other_one(const reread_ctx *c, eng_result *r) { return eng__agent_other_one(c->call, r); }

/* "no, the fourth" while the add asked waits: that one asked instead */
static bool retargets(const reread_ctx *c, eng_result *r) { return eng__agent_cart_retarget(c->call, r); }

/* "sorry i meant the dell", "the fourth instead" right after an add,
 * however it was read: a swap, asked */
static bool corrects_add(const reread_ctx *c, eng_result *r)
{
    return eng__agent_says_instead(c->said) && eng__agent_cart_swap(c->call, false, r);
}

/* "undo that", "actually just one" right after a cart change or the
 * question about one, whichever agent the reading chose; "yes please,
 * two actually" right after an add, with no question waiting, too */
static bool takes_back(const reread_ctx *c, eng_result *r)
{
    if (strcmp(c->intent, "confirm") == 0 && eng__agent_pending_fresh(c->t))
        return false;   /* a yes to the question asked */
    return eng__agent_cart_takes_back(c->call, r);
}

/* "nuke the cart", "start over, empty everything": asked before it is done */
static bool clears(const reread_ctx *c) { return eng__agent_clears_cart(c->t, c->said); }

/* "are any of these cruelty-free": which of the list shown */
static bool picks_among(const reread_ctx *c)
{
    return c->fn != eng__agent_cart && eng__agent_picks_among_shown(c->t);
}

/* "something with good cushioning" after running shoes */
static bool narrows(const reread_ctx *c) { return eng__agent_narrows_list(c->t); }

/* "take me back to the start of the list", "next page" */
static bool pages(const reread_ctx *c)
{
    return (c->fn != eng__agent_cart || c->conf < 0.6) && eng__agent_turns_page(c->t);
}

/* "add 2 apples and a bottle of water" read as a search: it opens with
 * the verb of an add */
static bool opens_add(const reread_ctx *c)
{
    static const char *const verbs[] = {"add ", "put ", "please add ", "pls add ", "can you add ", "could you add ",
                                        "and add ", "also add ", NULL};
    bool opens = false;
    for (size_t i = 0; verbs[i] && !opens; i++)
        opens = strncasecmp(c->said, verbs[i], strlen(verbs[i])) == 0;
    return opens && !strstr(c->said, "add-on") && !strstr(c->said, "add on");
}

/* "does it come with ...", "is this one ...": a question opener with
 * "it", "this" or "they" right after it. */
static bool asks_of_it(const char *text)
{
    static const char *const opens[] = {"is", "does", "do", "can", "will", "has", "are", "would", "could", NULL};
    static const char *const it[] = {"it", "this", "they", NULL};
    char w[3][16] = {"", "", ""};
    const char *p = text;
    for (int k = 0; k < 3; k++) {
        while (*p && !isalnum((unsigned char)*p))
            p++;
        size_t n = 0;
        while (isalnum((unsigned char)p[n]))
            n++;
        snprintf(w[k], sizeof w[k], "%.*s", (int)(n < sizeof w[k] ? n : sizeof w[k] - 1), p);
        p += n;
    }
    return eng__agent_word_in(w[0], strlen(w[0]), opens) &&
           (eng__agent_word_in(w[1], strlen(w[1]), it) || eng__agent_word_in(w[2], strlen(w[2]), it));
}


/* "does it come with a charger", "will this fit a queen bed" read as a
 * search: a question about the product in focus, from its listing */
static bool about_it(const reread_ctx *c)
{
    char about[160];
    return c->fn == eng__agent_product && asks_of_it(c->said) &&
           eng__agent_asks_about_focus(c->t, about, sizeof about);
}

/* "please cancel the entire order", signed in: the order agent asks */
static bool cancels(const reread_ctx *c)
{
    /* "no, cancel that" to a question of ours answers it */
    if (!eng__user_id(c->t) || (strcmp(c->intent, "deny") == 0 && eng__json_path(c->t->ctx, "session.pending")))
        return false;
    if (eng__agent_cancel_request(c->said))
        return true;
    /* "pls cancel no. 1" (read as a no), "cancel the spatula" of an order */
    const char *asked = eng__agent_past_courtesy(c->said);
    static const char *const wants[] = {"i want to ", "i'd like to ", "id like to ", "i only want to ",
                                        "i just want to ", "can you ", "could you ", "please ", "pls ", NULL};
    for (size_t i = 0; wants[i]; i++)
        if (strncasecmp(asked, wants[i], strlen(wants[i])) == 0)
            asked += strlen(wants[i]);
    if (strncasecmp(asked, "cancel ", 7) == 0 && !eng__agent_is_question(c->said) &&
        (eng__agent_said_order_number(c->said) || eng__agent_names_ordered(c->t)))
        return true;
    /* "cancel the older one" right after orders were talked about */
    static const char *const order_talk[] = {"track_order", "order_history", "cancel_order", "confirm",
                                             "place_order", NULL};
    static const char *const places[] = {"older", "oldest", "newer", "newest", "first", "second", "last",
                                         "latest", "previous", "earlier", "earliest", "other", "1st", "2nd",
                                         "least recent", "most recent", "cheapest", "smallest", "biggest",
                                         "largest", "priciest", "dearest", "most expensive", "least expensive",
                                         NULL};
    /* "cancel the earliest": a superlative of time is an order's place alone */
    static const char *const alone[] = {"oldest", "earliest", "newest", "latest", "least recent", "most recent",
                                        NULL};
    if (strncasecmp(asked, "cancel ", 7) != 0 || eng__agent_is_question(c->said))
        return false;
    /* "cancel my older purchase", "cancel the 11.89 one": an order named
     * by its place or its total, whatever was talked about before */
    static const char *const orders[] = {"order", "orders", "purchase", "purchases", NULL};
    double v;
    bool total = eng__agent_said_total(asked, &v) != NULL;
    return total || eng__agent_has_word(c->said, alone) ||
           (eng__agent_has_word(c->said, places) &&
                     (eng__agent_has_word(c->said, orders) ||
                      listed(order_talk, eng__json_str(c->t->ctx, "session.lastIntent", ""))));
}

/* "i want to return one of them", "how do i send the dress back": the
 * shop's returns, never a change of the cart */
static bool sends_back(const reread_ctx *c)
{
    static const char *const returning[] = {"return", "send back", "send it back", "send them back",
                                            "send this back", "send that back", "take it back to you", NULL};
    static const char *const shop_verbs[] = {"add", "put", "buy", "cart", "basket", "policy", "policies", NULL};
    if (!eng__agent_has_word(c->said, returning) || eng__agent_has_word(c->said, shop_verbs))
        return false;
    eng__agent_read_as(c->t, eng__agent_is_question(c->said) ? "check_refund_policy" : "get_refund");
    return true;
}

/* "got any deals right now", "any discounts?", naming no product: the
 * shop's offers (its knowledge; the section on offers when the
 * shopper's own word is not the file's) */
static bool offers(const reread_ctx *c)
{
    return eng__agent_asks_offers(c->t) &&
           (eng__agent_knowledge(c->t, "apply_promo", false) ||
            eng__agent_knowledge_of(c->t, "apply_promo", false, "current offers deals promotions"));
}

/* "yes pay with paypal", "i'll pay with my mastercard", "use my other
 * card" while "Shall I place the order?" waits: the chat pays only with
 * the card saved on the account; said, nothing placed, still asked */
static bool pays_otherwise(const reread_ctx *c, eng_result *r)
{
    json_object *p = eng__json_path(c->t->ctx, "session.pending");
    if (strcmp(eng__json_str(p, "type", ""), "order.create") != 0 || !eng__agent_names_other_payment(c->said) ||
        !eng__agent_pending_fresh(c->t))
        return false;
    eng__agent_read_as(c->t, "confirm");
    eng__set_var(c->t, "otherPayment", json_object_new_boolean(1));
    eng__set_var(c->t, "hesitant", json_object_new_boolean(1));
    eng__set_var(c->t, "notPlainYes", json_object_new_boolean(1));
    eng__agent_keep_pending(c->t);
    eng__turn_note(c->t, "another way to pay named at the summary: said, nothing placed");
    *r = ENG_R_OK;
    return true;
}

/* "is my discount still on", "did the code work": the cart, which says
 * whether the code on it applies */
static bool asks_own_code(const reread_ctx *c)
{
    static const char *const mine[] = {"my discount", "my code", "my coupon", "my promo", "my voucher",
                                       "the discount", "the code", "the coupon", "discount still", "code still",
                                       "code work", "discount work", "code applied", "discount applied", NULL};
    const char *code = eng__json_str(c->t->ctx, "session.promoCode", NULL);
    return code && *code && eng__agent_is_question(c->said) && eng__agent_has_word(c->said, mine);
}

/* "i'd like to return my order", "i'd like to check my order", "finish my
 * order later" read as the checkout: about an order, or not now; the
 * order's status or the shop's text, never a new order's question */
static bool not_checkout(const reread_ctx *c, eng_result *r)
{
    static const char *const status[] = {"check my order", "check on my order", "check the order", "check on",
                                         "track", "status", "where", "whereabouts", NULL};
    static const char *const other[] = {"return", "exchange", "change", "edit", "modify", "complain",
                                        "complaint", "later", "refund", "problem", "issue", "wrong", "damaged",
                                        "broken", "swap", "invoice", "receipt", NULL};
    bool st = eng__agent_has_word(c->said, status);
    if (!st && !eng__agent_has_word(c->said, other))
        return false;
    if (st && eng__user_id(c->t)) {
        eng__agent_read_as(c->t, "track_order");
        eng__turn_note(c->t, "asks about an order, read as the checkout: its status");
        *r = eng__agent_order(c->call);
        return true;
    }
    eng__agent_read_as(c->t, "shop_question");
    eng__turn_note(c->t, "about an order or not now, read as the checkout: the shop's text");
    *r = eng__agent_support(c->call);
    return true;
}

/* "checkout without the pan", "checkout but remove the pan first": the
 * named line out first (asked), the summary after; before, the summary
 * showed the pan and a yes ordered it */
static bool checkout_without(const reread_ctx *c)
{
    static const char *const out[] = {"without", "except", "but not", "minus", "leave out", "leave off",
                                      "remove", "take out", "drop", NULL};
    bool take = eng__agent_has_word(c->said, (const char *const[]){"take", NULL}) &&
                eng__agent_has_word(c->said, (const char *const[]){"out", "off", NULL});
    if (!take && !eng__agent_has_word(c->said, out))
        return false;
    if (!eng__json_path(c->t->ctx, "cart.items"))
        eng__cart_refresh(c->t);
    char words[160];
    eng__agent_name_words(c->t, words, sizeof words);
    json_object *items = eng__json_path(c->t->ctx, "cart.items");
    for (size_t i = 0; words[0] && items && i < json_object_array_length(items); i++)
        if (eng__agent_name_score(words, json_object_array_get_idx(items, i)) > 0)
            return true;
    return false;
}

/* "fine, yes with the saved card" read as a question of payment while
 * the order's question waits: a yes, nothing more (the order agent reads
 * what it says beside the yes) */
static bool plain_yes(const reread_ctx *c)
{
    static const char *const yes[] = {"yes", "yeah", "yep", "yup", "sure", "ok", "okay", "fine", "alright",
                                      "go ahead", NULL};
    json_object *p = eng__json_path(c->t->ctx, "session.pending");
    return strcmp(eng__json_str(p, "type", ""), "order.create") == 0 && eng__agent_has_word(c->said, yes) &&
           !eng__agent_is_question(c->said) && eng__agent_yes_and_more(c->said) == AGENT_YES_PLAIN &&
           eng__agent_pending_fresh(c->t) != NULL;
}

/* "scrap that", "ditch it", "forget it", "nevermind" to "Shall I place
 * the order?": the order is turned down, not the cart's last line */
static bool declines_order(const reread_ctx *c)
{
    static const char *const off[] = {"scrap that", "scrap it", "ditch it", "ditch that", "lose it", "forget it",
                                      "forget that", "nevermind", "never mind", "nvm", "drop it", "skip it",
                                      "not now", "noo", "nooo", "nope", "no thanks", "no thank you", NULL};
    static const char *const only[] = {"scrap", "that", "it", "ditch", "lose", "forget", "nevermind", "never",
                                       "mind", "nvm", "drop", "skip", "not", "now", "noo", "nooo", "nope", "no",
                                       "thanks", "thank", "you", "ok", "okay", "actually", "hmm", "please", "pls",
                                       "then", "eh", "ah", "oh", "uh", "um", "meh", "ugh", "nah", "just", "all",
                                       "of", NULL};
    json_object *p = eng__json_path(c->t->ctx, "session.pending");
    return strcmp(eng__json_str(p, "type", ""), "order.create") == 0 && eng__agent_has_word(c->said, off) &&
           eng__agent_only_words(c->said, only, NULL) && eng__agent_pending_fresh(c->t) != NULL;
}

/* "oops i meant 1" right after 2 were added: that line to 1, asked */
static bool meant_count(const reread_ctx *c, eng_result *r) { return eng__agent_meant_count(c->call, r); }

/* "hmm hang on", "wait a sec" while a question of ours waits, read as
 * anything but a yes or a no: a hesitation; the order agent keeps the
 * question and does nothing */
static bool hesitates(const reread_ctx *c)
{
    /* "hold on, redeem SAVE 10": a code to use, not a pause */
    if (eng__agent_hesitates(c->said) != 1 || eng__agent_is_question(c->said) ||
        !eng__json_path(c->t->ctx, "session.pending") || eng__agent_code_request(c->said))
        return false;
    int words = 0;
    for (const char *p = c->said; *p; p++)
        words += isalnum((unsigned char)*p) && (p == c->said || !isalnum((unsigned char)p[-1]));
    return words <= 7 && eng__agent_pending_fresh(c->t) != NULL;
}

/* "take 10% off", "can you knock $20 off it", "give me a discount":
 * a price cut asked of the shop, read as a change of the cart; the
 * shop's offers and codes answer, nothing changes */
static bool asks_price_cut(const reread_ctx *c)
{
    static const char *const cut[] = {"give me a discount", "give us a discount", "get a discount",
                                      "do me a deal", "cut me a deal", "lower the price",
                                      "reduce the price", "bring the price down", "cheaper price", NULL};
    const char *said = c->said, *off = NULL;
    bool priced = false;
    for (const char *p = said; (p = strcasestr(p, " off")) != NULL; p += 4)
        off = p;
    if (off) {
        const char *q = off;
        while (q > said && q[-1] == ' ')
            q--;
        priced = q > said && (q[-1] == '%' || isdigit((unsigned char)q[-1]));
        const char *d = q;
        while (d > said && (isdigit((unsigned char)d[-1]) || d[-1] == '.' || d[-1] == ','))
            d--;
        priced &= q[-1] == '%' || (d > said && (d[-1] == '$' || d[-1] == '\xa3'));
    }
    if (!priced && !eng__agent_has_word(said, cut))
        return false;
    if (!eng__agent_knowledge(c->t, "apply_promo", false) &&
        !eng__agent_knowledge_of(c->t, "apply_promo", false, "current offers deals promotions codes"))
        eng__set_var(c->t, "knowledgeMiss", json_object_new_boolean(1));
    return true;
}

/* "is there a discount code i can use", "do you have any promo codes"
 * read as a code to use: no code is said, the shop's offers and codes
 * answer */
static bool asks_codes(const reread_ctx *c)
{
    static const char *const exists[] = {"is there", "are there", "do you have", "do you do", "got any", "have any",
                                         "any", "can i get", "could i get", "where can i", "where do i",
                                         "how do i get", "how can i get", "know of", NULL};
    static const char *const codes[] = {"code", "codes", "coupon", "coupons", "voucher", "vouchers", "promo",
                                        "promos", NULL};
    const char *said = c->said;
    if (!eng__agent_has_word(said, exists) || !eng__agent_has_word(said, codes))
        return false;
    /* a code said ("is there a problem with save10") is the cart's */
    char code[32];
    if (eng__agent_code_word(said, "", code, sizeof code))
        return false;
    if (!eng__agent_knowledge(c->t, "apply_promo", false) &&
        !eng__agent_knowledge_of(c->t, "apply_promo", false, "current offers deals promotions codes"))
        return false;
    eng__agent_keep_pending(c->t);   /* asked at the checkout: the order still waits */
    return true;
}

/* "where is it now", "when will it get here" right after an order was
 * placed, tracked or listed: that order's status, not a product's */
static bool asks_where(const reread_ctx *c)
{
    static const char *const where[] = {"where is it", "where's it", "wheres it", "where is that", "where are they",
                                        "where are those", "when will it", "when will they", "when does it",
                                        "when do they", "when's it", "whens it", "has it shipped",
                                        "has it been shipped", "have they shipped", "is it on its way",
                                        "are they on their way", "has it left", "did it ship", "has it gone out",
                                        "is it coming", "status of it", NULL};
    static const char *const orders[] = {"confirm", "track_order", "order_history", "cancel_order", NULL};
    const char *last = eng__json_str(eng__session(c->t), "lastIntent", "");
    bool in_orders = false;
    for (size_t i = 0; orders[i] && !in_orders; i++)
        in_orders = strcmp(orders[i], last) == 0;
    if (!in_orders || !eng__agent_has_word(c->said, where) || eng__user_id(c->t) <= 0)
        return false;
    char words[160];
    eng__agent_name_words(c->t, words, sizeof words);
    /* "where is the lipstick i ordered" names it: the agents' */
    static const char *const asking[] = {"where", "wheres", "when", "whens", "arrive", "arrives", "shipped",
                                         "way", "coming", "left", "status", "gone", "here", "come", "reach",
                                         "deliver", "delivered", "land", "show", "turn", NULL};
    return !words[0] || eng__agent_only_words(words, asking, NULL);
}

/* "grab me them all", "i'll have the lot" read otherwise: every product
 * of the list shown, an add, asked (the cart agent leaves out the ones
 * said not to be wanted) */
static bool takes_all(const reread_ctx *c)
{
    static const char *const all[] = {"them all", "em all", "all of them", "all of those", "all of these",
                                      "the lot", "the whole lot", "every one of them", NULL};
    static const char *const verbs[] = {"grab", "take", "get", "add", "buy", "have", "want", "order", "put",
                                        "chuck", "pop", "throw", "stick", NULL};
    json_object *shown = eng__json_path(c->t->ctx, "session.shown");
    return json_object_is_type(shown, json_type_array) && json_object_array_length(shown) >= 2 &&
           eng__agent_has_word(c->said, all) && eng__agent_has_word(c->said, verbs) &&
           !eng__agent_is_question(c->said);
}

/* "how come i only pay for 2", "why is it cheaper than listed", "why
 * didn't save10 work" with goods in the cart: a question about its
 * prices, never a change; the cart shows every price cut and its
 * reason */
static bool asks_why(const reread_ctx *c)
{
    static const char *const why[] = {"why", "how come", "howcome", "whys", "why's", NULL};
    static const char *const money[] = {"pay", "paying", "charge", "charged", "price", "prices", "priced",
                                        "cheaper", "cheap", "expensive", "cost", "costs", "total", "discount",
                                        "discounted", "code", "coupon", "voucher", "free", "off", "work",
                                        "apply", "applied", "only", "listed", "more", "less", NULL};
    const char *s = c->said;
    while (*s == ' ')
        s++;
    bool opens = false;
    for (size_t i = 0; why[i] && !opens; i++)
        opens = strncasecmp(s, why[i], strlen(why[i])) == 0;
    return opens && json_object_get_int64(eng__json_path(c->t->ctx, "cart.count")) > 0 &&
           eng__agent_has_word(s, money);
}

/* "actually i don't want it anymore", "changed my mind" right after an
 * order was placed (the cart now empty): the order, whose cancellation
 * is asked (a reading put right is never sure enough to cancel) */
static bool came_damaged(const reread_ctx *c);

static bool regrets_order(const reread_ctx *c)
{
    static const char *const regret[] = {"dont want it", "don't want it", "do not want it", "dont want them",
                                         "don't want them", "dont need it", "don't need it", "changed my mind",
                                         "change my mind", "no longer want", "not anymore", "don't want that",
                                         "dont want that", "didn't mean to", "didnt mean to", "by mistake",
                                         "my mistake", "undo that", "undo it", "take it back", "reverse that",
                                         "cancel that", "cancel it", "call it off", "ordered the wrong",
                                         "wrong thing", "wrong one", "wrong item", "money back", "my money",
                                         "refund me", "shouldn't have", "shouldnt have", "should not have",
                                         "didn't want", "didnt want", "meant to order", "oh no", NULL};
    json_object *lc = eng__json_path(eng__session(c->t), "lastConfirmed");
    if (!lc || json_object_get_int64(eng__json_path(c->t->ctx, "cart.count")) > 0 ||
        !eng__agent_has_word(c->said, regret) || eng__agent_is_question(c->said) ||
        came_damaged(c))   /* "i got the wrong item": the shop's text on it, not a change of mind */
        return false;
    int64_t at = json_object_get_int64(eng__json_path(lc, "turn"));
    int64_t now = json_object_get_int64(eng__json_path(eng__session(c->t), "turns"));
    return now == at + 1 || now == at;
}

/* "can i get it by 5pm tomorrow", "will it arrive before the 15th":
 * when a delivery comes, the shop's shipping text */
static bool asks_by_when(const reread_ctx *c)
{
    static const char *const by[] = {"get it by", "get them by", "get here by", "get there by", "arrive by",
                                     "arrive before", "have it by", "have them by", "there by", "here by",
                                     "delivered by", "deliver it by", "deliver by", "come by", "get it before",
                                     "here before", "there before", "in time for", "ship by", "shipped by",
                                     "receive it by", NULL};
    return eng__agent_has_word(c->said, by);
}

/* "ok the samsung then", "the iphone it is" right after a comparison:
 * the one compared that the words name, its details (and the product in
 * focus for "add it" next), not a search of the whole shop */
static bool picks_compared(const reread_ctx *c, eng_result *r)
{
    eng_turn *t = c->t;
    json_object *cmp = eng__json_path(t->ctx, "session.compared"), *shown = eng__json_path(t->ctx, "session.shown");
    if (strcmp(eng__json_str(t->ctx, "session.lastIntent", ""), "compare") != 0 ||
        !json_object_is_type(cmp, json_type_array) || json_object_array_length(cmp) < 2 ||
        !json_object_is_type(shown, json_type_array) || eng__agent_is_question(c->said))
        return false;
    char words[160];
    eng__agent_name_words(t, words, sizeof words);
    if (!words[0])
        return false;
    const char *pick = NULL;
    int fits = 0;
    for (size_t k = 0; k < json_object_array_length(shown); k++) {
        json_object *p = json_object_array_get_idx(shown, k);
        const char *sku = eng__json_str(p, "sku", "");
        bool compared = false;
        for (size_t i = 0; i < json_object_array_length(cmp) && !compared; i++)
            compared = strcmp(json_object_get_string(json_object_array_get_idx(cmp, i)), sku) == 0;
        if (compared && eng__agent_name_score(words, p) > 0)
            fits++, pick = sku;
    }
    if (fits != 1)
        return false;
    ENG_JADD(eng__session(t), "focus", json_object_new_string(pick));
    eng__set_var(t, "useFocus", json_object_new_boolean(1));
    eng__agent_read_as(t, "product_details");
    eng__turn_note(t, "one of the products just compared, named: its details");
    *r = eng__agent_product(c->call);
    return true;
}

/* "add a rolex" answered "Which one do you mean?", then "the
 * submariner" or "the second one": that one added, as many as were
 * asked for, not its details nor a search */
static const char *pick_by_number(eng_turn *t, const char *said, json_object *shown)
{
    size_t n = json_object_array_length(shown);
    const char *p = said;
    while (*p && !isdigit((unsigned char)*p))
        p++;
    if (!*p)
        return NULL;
    bool dollar = p > said && p[-1] == '$';
    double v = strtod(p, NULL);
    const char *q = p + strspn(p, "0123456789.");
    if (strpbrk(q, "0123456789"))
        return NULL;   /* two numbers: not one pick */
    /* a price: the one shown at (about) that price */
    const char *hit = NULL;
    int hits = 0;
    for (size_t k = 0; k < n; k++) {
        json_object *it = json_object_array_get_idx(shown, k);
        double a = json_object_get_double(eng__json_path(it, "price"));
        double b = json_object_get_double(eng__json_path(it, "finalPrice"));
        if ((dollar || v >= 20) && (fabs(a - v) < 1.0 || fabs(b - v) < 1.0))
            hit = eng__json_str(it, "sku", NULL), hits++;
    }
    if (hits == 1)
        return hit;
    if (dollar)
        return NULL;
    /* a model number a title says ("the 13": iPhone 13 Pro) */
    char num[16];
    snprintf(num, sizeof num, "%.*s", (int)(q - p), p);
    hits = 0;
    for (size_t k = 0; k < n; k++) {
        json_object *it = json_object_array_get_idx(shown, k);
        if (eng__agent_has_word(eng__json_str(it, "title", ""), (const char *const[]){num, NULL}))
            hit = eng__json_str(it, "sku", NULL), hits++;
    }
    if (hits == 1)
        return hit;
    /* a bare place in the list: "3" */
    int words = 0;
    for (const char *w = said; *w; w++)
        words += isalnum((unsigned char)*w) && (w == said || !isalnum((unsigned char)w[-1]));
    if (words == 1 && v >= 1 && v <= (double)n && v == (int)v)
        return eng__json_str(json_object_array_get_idx(shown, (size_t)v - 1), "sku", NULL);
    (void)t;
    return NULL;
}

static bool picks_asked(const reread_ctx *c, eng_result *r)
{
    static const char *const other[] = {"tell", "show", "more", "about", "detail", "details", "compare",
                                        "difference", "cheaper", "cheapest", "other", "others", "else",
                                        "different", "any", "none", "neither", "see", "look", "nevermind",
                                        "never mind", "not", "don't", "dont", NULL};
    eng_turn *t = c->t;
    json_object *ch = eng__agent_remembered(t, "choosing"), *shown = eng__json_path(t->ctx, "session.shown");
    if (!ch || !json_object_is_type(shown, json_type_array) || eng__agent_is_question(c->said) ||
        strchr(c->said, '?') || eng__agent_has_word(c->said, other))
        return false;
    int words = 0;
    for (const char *p = c->said; *p; p++)
        words += isalnum((unsigned char)*p) && (p == c->said || !isalnum((unsigned char)p[-1]));
    if (words > 6)
        return false;
    bool picked = eng__reference_sku(t) != NULL;
    char name[160];
    eng__agent_name_words(t, name, sizeof name);
    for (size_t k = 0; !picked && name[0] && k < json_object_array_length(shown); k++)
        picked = eng__agent_name_score(name, json_object_array_get_idx(shown, k)) > 0;
    /* "3", "the 13", "the $119 one": a place, a model number or a price
     * of one of the products asked about; that one in focus */
    const char *one = picked ? NULL : pick_by_number(t, c->said, shown);
    if (one) {
        ENG_JADD(eng__session(t), "focus", json_object_new_string(one));
        json_object *ents = eng__json_path(t->ctx, "entities");
        for (size_t i = ents ? json_object_array_length(ents) : 0; i-- > 0;)
            if (strcmp(eng__json_str(json_object_array_get_idx(ents, i), "type", ""), "quantity") == 0 ||
                strcmp(eng__json_str(json_object_array_get_idx(ents, i), "type", ""), "money") == 0)
                json_object_array_del_idx(ents, i, 1);
        picked = true;
    }
    if (!picked)
        return false;
    json_object *slots = eng__json_path(t->ctx, "slots");
    if (!json_object_is_type(slots, json_type_object)) {
        slots = json_object_new_object();
        json_object_object_add(t->ctx, "slots", slots);
    }
    /* "the green oval ones x2": the pick's own count, else the add's */
    int64_t own = -1;
    json_object *ents = eng__json_path(t->ctx, "entities");
    for (size_t i = 0; !one && ents && i < json_object_array_length(ents); i++) {
        json_object *e = json_object_array_get_idx(ents, i);
        /* "the s10 one": which, not how many */
        if (strcmp(eng__json_str(e, "type", ""), "quantity") == 0 &&
            strcasecmp(eng__json_str(e, "text", ""), "one") != 0)
            own = json_object_get_int64(eng__json_path(e, "value"));
    }
    json_object_object_add(slots, "quantity",
                           json_object_new_int64(own > 0 ? own : json_object_get_int64(eng__json_path(ch, "qty"))));
    eng__agent_read_as(t, "add_to_cart");
    eng__set_var(t, "picked", json_object_new_boolean(1));   /* the add was asked for: no verb needed */
    eng__turn_note(t, "picks one of the products asked about for an add: that one added");
    *r = eng__agent_cart(c->call);
    return true;
}

/* "my watch arrived with a cracked screen", "my order arrived damaged":
 * what came, not a search nor the order's status; the shop's text on
 * damaged deliveries answers */
static bool came_damaged(const reread_ctx *c)
{
    static const char *const harm[] = {"broken", "cracked", "smashed", "damaged", "dented", "shattered",
                                       "scratched", "faulty", "defective", "leaking", "leaked", "torn",
                                       "wrong size", "wrong colour", "wrong color", "wrong item", "wrong thing",
                                       "wrong product", "wrong parcel", "wrong package", "not what i ordered",
                                       "missing", NULL};
    static const char *const came[] = {"arrived", "came", "received", "delivered", "got it", "showed up",
                                       "turned up", "in the box", "sent me", "i ordered", "ordered", "i got",
                                       "you sent", "ive got", "i've got", NULL};
    return eng__agent_has_word(c->said, harm) && eng__agent_has_word(c->said, came);
}

/* ...answered from the section on damaged or wrong items, asked for in
 * its own words: "the order i received was damaged" names the refunds'
 * "arrived damaged" as much */
static bool answers_damage(const reread_ctx *c, eng_result *r)
{
    /* "it came broken, cancel it": the cancel asked for */
    if (!came_damaged(c) || eng__agent_has_word(c->said, (const char *const[]){"cancel", NULL}) ||
        !eng__agent_knowledge_of(c->t, "shop_question", false, "item arrives broken damaged wrong not ordered"))
        return false;
    eng__agent_read_as(c->t, "shop_question");
    eng__turn_note(c->t, "something delivered came damaged or wrong: the shop's text on it");
    *r = ENG_R_OK;
    return true;
}

/* "which ones are in stock", "which of these are available" read as a
 * comparison: the list shown, in stock only */
static bool asks_in_stock(const reread_ctx *c)
{
    static const char *const stock[] = {"in stock", "available", "can i get", "can i buy", "not sold out", NULL};
    static const char *const which[] = {"which", "what", "any of", "are any", NULL};
    static const char *const variant[] = {"size", "sizes", "colour", "colours", "color", "colors", "in red",
                                          "in black", "in blue", "in white", NULL};
    return eng__json_path(c->t->ctx, "session.lastQuery") && eng__agent_has_word(c->said, stock) &&
           eng__agent_has_word(c->said, which) && !eng__agent_has_word(c->said, variant) &&
           !eng__agent_points_at_shown(c->t);
}

/* "buy 3", "buy it", "buy the mascara" read as a checkout: an add of
 * what it names, asked ("buy now", "buy what's in my cart" stay the
 * checkout) */
static bool buys_thing(const reread_ctx *c)
{
    static const char *const verbs[] = {"buy ", "purchase ", "i'll buy ", "ill buy ", "i want to buy ",
                                        "let me buy ", NULL};
    static const char *const objects[] = {"it", "this", "that", "these", "those", "them", "the", "a", "an", "one",
                                          "two", "three", "four", "five", "another", NULL};
    static const char *const whole[] = {"now", "cart", "basket", "everything", "order", "it all", NULL};
    const char *p = eng__agent_past_courtesy(c->said);
    for (size_t i = 0; verbs[i]; i++) {
        size_t n = strlen(verbs[i]);
        if (strncasecmp(p, verbs[i], n) != 0)
            continue;
        const char *w = p + n;
        size_t wn = 0;
        while (isalnum((unsigned char)w[wn]))
            wn++;
        bool object = wn && isdigit((unsigned char)*w);
        for (size_t k = 0; objects[k] && !object; k++)
            object = strlen(objects[k]) == wn && strncasecmp(objects[k], w, wn) == 0;
        return object && !eng__agent_has_word(c->said, whole);
    }
    return false;
}

/* "checkout with next day delivery" read as a shipping question: it
 * opens with the checkout, which shows the options there are */
static bool opens_checkout(const reread_ctx *c)
{
    static const char *const opens[] = {"checkout", "check out", "check me out", "proceed to checkout",
                                        "go to checkout", "take me to checkout", NULL};
    const char *p = eng__agent_past_courtesy(c->said);
    for (size_t i = 0; opens[i]; i++) {
        size_t n = strlen(opens[i]);
        if (strncasecmp(p, opens[i], n) == 0 && !isalnum((unsigned char)p[n]))
            return !eng__agent_is_question(c->said);
    }
    return false;
}

/* "can i pick it up in store instead", "whats the cheapest shipping"
 * while "Shall I place the order?" waits, read as out of scope or a
 * request to clarify: a question the shop's text answers, and the order
 * question stays asked */
static bool at_checkout(const reread_ctx *c)
{
    /* read as a search ("whats the cheapest postage"): only when it
     * names delivery and nothing the catalog knows */
    static const char *const delivery[] = {"shipping", "postage", "delivery", "deliver", "ship", "courier",
                                           "pick up", "pickup", "collect", "collection", "store", "stores",
                                           "faster", "quicker", "sooner", "quickly", "speed up", "rush", "cancel",
                                           "later", "change", NULL};
    if (strcmp(c->intent, "search_product") == 0 &&
        (!eng__agent_has_word(c->said, delivery) ||
         json_object_get_int(eng__json_path(c->t->ctx, "understanding.known")) > 0))
        return false;
    json_object *p = eng__agent_pending_fresh(c->t);
    const char *type = eng__json_str(p, "type", "");
    return p && (strcmp(type, "order.create") == 0 || strcmp(type, "checkout.address") == 0) &&
           !eng__json_path(c->t->ctx, "slots.address");
}

/* "what colours does it come in", "which sizes are there" read as a
 * shop question: the listing's variants (eng__agent_sizes_question) */
static bool asks_variants(const reread_ctx *c, eng_result *r) { return eng__agent_sizes_question(c->call, r); }

/* "i bought a phone last week and it doesn't turn on", "the blender i
 * ordered stopped working": a fault after delivery, not a search; the
 * shop's warranty text answers */
static bool answers_fault(const reread_ctx *c, eng_result *r)
{
    static const char *const fault[] = {"doesn't work", "doesnt work", "does not work", "doesn't turn on",
                                        "doesnt turn on", "won't turn on", "wont turn on", "will not turn on",
                                        "stopped working", "not working", "won't charge", "wont charge",
                                        "doesn't charge", "doesnt charge", "keeps crashing", "dead on arrival",
                                        "broke down", "has broken", "it broke", "fell apart", "no longer works",
                                        NULL};
    static const char *const owned[] = {"bought", "ordered", "purchased", "i got", "received", "arrived", "got it",
                                        "my order", "from you", NULL};
    if (!eng__agent_has_word(c->said, fault) || !eng__agent_has_word(c->said, owned) ||
        !eng__agent_knowledge_of(c->t, "shop_question", false, "product fails stops working warranty replace"))
        return false;
    eng__agent_read_as(c->t, "shop_question");
    eng__turn_note(c->t, "something bought stopped working: the shop's warranty text");
    *r = ENG_R_OK;
    return true;
}

/* "what's the difference between it and the dell", "how does it stack
 * up against the oppo" read as out of scope: a comparison of what it
 * names, the product in focus among them */
static bool asks_difference(const reread_ctx *c)
{
    static const char *const against[] = {"difference between", "differences between", "the difference",
                                          "compare", "compared to", "compared with", "versus", "vs", "stack up",
                                          "better than", NULL};
    return eng__agent_has_word(c->said, against) &&
           (eng__json_str(c->t->ctx, "session.focus", NULL) || eng__json_path(c->t->ctx, "session.shown"));
}

/* "and one fewer kiwi please" read as an add: a count taken away */
static bool fewer(const reread_ctx *c)
{
    static const char *const less[] = {"one less", "one fewer", "1 less", "1 fewer", "two less", "two fewer",
                                       "2 less", "2 fewer", "fewer", "a few less", NULL};
    /* "one less expensive", "fewer than 3 stars": an order or a bound */
    static const char *const bound[] = {"expensive", "pricey", "costly", "dear", "than", "money", "cash", NULL};
    return eng__json_path(c->t->ctx, "cart.items") && eng__agent_has_word(c->said, less) &&
           !eng__agent_has_word(c->said, bound) && !eng__agent_is_question(c->said);
}

/* "what do i owe", "what's my bill": the cart and its total */
static bool owes(const reread_ctx *c)
{
    static const char *const owing[] = {"what do i owe", "what do we owe", "how much do i owe", "how much i owe",
                                        "what i owe", "whats my bill", "what's my bill", "my bill", "the bill",
                                        "what's the damage", "whats the damage", NULL};
    return eng__agent_has_word(c->said, owing);
}

/* "2 red lipsticks please", "i'll take 3 kiwis", "can i get two bottles
 * of water": a count from 2 to 12 at the message's start (after a verb
 * of having), and a courtesy or such a verb: asked for, not browsed
 * ("i need 600 connectors" is a search: "need" and "want" browse too). */
bool eng__agent_counted_request(eng_turn *t, const char *text)
{
    static const char *const having[] = {"i'll take ", "ill take ", "i'll have ", "ill have ", "i'd like ",
                                         "id like ", "can i get ", "can i have ", "could i get ", "could i have ",
                                         "give me ", "gimme ", "get me ", NULL};
    static const char *const polite[] = {"please", "pls", "plz", "thanks", "thank you", "cheers", NULL};
    const char *p = eng__agent_past_courtesy(text);
    bool verb = false;
    for (size_t i = 0; having[i] && !verb; i++)
        if (strncasecmp(p, having[i], strlen(having[i])) == 0)
            p += strlen(having[i]), verb = true;
    if (!verb && !eng__agent_has_word(text, polite))
        return false;
    size_t at = (size_t)(p - text);
    json_object *ents = eng__json_path(t->ctx, "entities");
    for (size_t i = 0; ents && i < json_object_array_length(ents); i++) {
        json_object *e = json_object_array_get_idx(ents, i);
        if (strcmp(eng__json_str(e, "type", ""), "quantity") == 0 &&
            json_object_get_int64(eng__json_path(e, "start")) == (int64_t)at &&
            json_object_get_int64(eng__json_path(e, "value")) >= 2 &&
            /* "i'd like 35 frameless shower doors" is a size more often */
            json_object_get_int64(eng__json_path(e, "value")) <= 12)
            return true;
    }
    return false;
}

static bool counted(const reread_ctx *c) { return eng__agent_counted_request(c->t, c->said); }

/* "what's new", "any new arrivals": the shop's suggestions (the catalog
 * keeps no dates) */
static bool asks_new(const reread_ctx *c)
{
    static const char *const newest[] = {"whats new", "what's new", "what is new", "anything new", "new arrivals",
                                         "latest arrivals", "newest products", "new in", "just arrived",
                                         "latest products", "newest arrivals", NULL};
    return eng__agent_has_word(c->said, newest);
}

/* "lower it by one" read as a cheaper list: the line's count */
static bool changes_by(const reread_ctx *c) { return eng__agent_changes_by(c->t, c->said); }

/* "take one of the first ones out", "take the red one off my cart":
 * "take" or "pull", a few words, then "out" or "off" closing the
 * request (or before "of my cart" and the like). Not a price cut
 * ("take 10% off", "take $5 off"). */
static bool takes_thing_out(const char *asked)
{
    static const char *const tails[] = {"", "of my cart", "of the cart", "of my basket", "of the basket",
                                        "of my bag", "of the bag", "of my trolley", "of my order", "my cart",
                                        "the cart", "my basket", "my bag", "my order", "the order", "please",
                                        "pls", "for me", "again", NULL};
    if (strncasecmp(asked, "take ", 5) != 0 && strncasecmp(asked, "pull ", 5) != 0)
        return false;
    if (strpbrk(asked, "%$"))
        return false;
    const char *p = asked + 5;
    for (int words = 0; *p && words < 8; words++) {
        size_t n = strcspn(p, " ,.!?");
        if (words > 0 && ((n == 3 && strncasecmp(p, "out", 3) == 0) || (n == 3 && strncasecmp(p, "off", 3) == 0))) {
            const char *rest = p + n;
            rest += strspn(rest, " ,.!?");
            char tail[64];
            size_t k = strcspn(rest, ".!?");
            if (k >= sizeof tail)
                return false;
            memcpy(tail, rest, k);
            while (k && tail[k - 1] == ' ')
                k--;
            tail[k] = '\0';
            for (size_t i = 0; tails[i]; i++)
                if (strcasecmp(tail, tails[i]) == 0)
                    return true;
            return false;
        }
        p += n;
        p += strspn(p, " ,.!?");
    }
    return false;
}

/* "forget the rolex", "scratch the second", "could you take out
 * whatever i just put in", "take off the milk": a removal in words the
 * model reads otherwise. The verbs that only take out of a cart count
 * with the cart empty too (the cart agent then says the product is not
 * in it); a cart cleared or kept but for a line is the cart agent's. */
static bool drops(const reread_ctx *c)
{
    static const char *const drop_verbs[] = {"forget the ", "forget about the ", "scratch the ", "skip the ",
                                             "nix the ", "never mind the ", "nevermind the ", "no more ",
                                             "actually forget the ", "ok forget the ", "drop the ", "drop my ",
                                             "drop that ", "drop those ", "ditch the ", "bin the ", "lose the ",
                                             "nvm the ", "nvm about the ", "never mind about the ",
                                             "nevermind about the ", "no need for the ", NULL};
    static const char *const out_verbs[] = {"take out ", "take off ", "pull out ", "take away ", "get rid of ",
                                            NULL};
    static const char *const whole[] = {"all", "everything", "except", "apart from", "other than", "but", "whole",
                                        "lot", NULL};
    const char *asked = eng__agent_past_courtesy(c->said);
    bool opens_drop = eng__agent_past_verb(c->said, drop_verbs) != NULL;
    bool opens_out = eng__agent_past_verb(c->said, out_verbs) != NULL;
    opens_out |= takes_thing_out(asked);
    /* "could you remove whatever i added last" */
    opens_out |= (strncasecmp(asked, "remove ", 7) == 0 || strncasecmp(asked, "delete ", 7) == 0) &&
                 eng__agent_names_last_added(asked);
    if (!(opens_drop || opens_out) || eng__agent_names_code(c->said) || eng__agent_clears_cart(c->t, c->said) ||
        eng__agent_has_word(c->said, whole))
        return false;
    if (!eng__json_path(c->t->ctx, "cart.items"))
        eng__cart_refresh(c->t);
    return opens_out || json_object_get_int64(eng__json_path(c->t->ctx, "cart.count")) > 0;
}

/* "and welcome5 as well" right after a code was used: that code */
static bool another_code(const reread_ctx *c)
{
    char code[64];
    return strcmp(eng__json_str(c->t->ctx, "session.lastIntent", ""), "apply_promo") == 0 &&
           eng__agent_another_code(c->said, code, sizeof code);
}

/* "just buy it for me" with goods in the cart: the checkout, which asks
 * before placing anything; "buy it" of a product not in the cart: the
 * add, asked */
static bool buys(const reread_ctx *c, eng_result *r)
{
    /* "ok purchase" read as a yes with no question asked */
    if (strcmp(c->intent, "confirm") == 0 && eng__json_path(c->t->ctx, "session.pending"))
        return false;
    int b = eng__agent_buys_now(c->t, c->said);
    if (b == 1) {
        eng__agent_read_as(c->t, "checkout");
        eng__turn_note(c->t, "asks to buy what the cart holds: the checkout");
        *r = eng__agent_order(c->call);
        return true;
    }
    if (b == 2) {
        eng__agent_read_as(c->t, "add_to_cart");
        eng__set_var(c->t, "continued", json_object_new_boolean(1));
        eng__turn_note(c->t, "asks to buy the product in focus: an add, asked");
        *r = eng__agent_cart(c->call);
        return true;
    }
    return false;
}

/* "actually make it standard", "no, switch it to express" right after
 * the checkout's summary chooses the delivery, however read (a quantity
 * change, a search, a no) */
static bool picks_delivery(const reread_ctx *c, eng_result *r)
{
    if (!(c->fn == eng__agent_cart || c->fn == eng__agent_product ||
          (c->fn == eng__agent_order && strcmp(c->intent, "deny") == 0)) ||
        !eng__agent_picks_delivery(c->t))
        return false;
    *r = eng__agent_delivery_pick(c->call);
    return true;
}

/* "delete my account", "please close my account": no sign-up; the
 * shop's text on an account's data */
static bool ends_account(const reread_ctx *c)
{
    static const char *const ending[] = {"delete", "close", "remove", "cancel", "deactivate", "erase", "terminate",
                                         "get rid of", "shut down", NULL};
    /* asked in the words of the shop's own text ("close" is its hours) */
    if (!eng__agent_has_word(c->said, ending))
        return false;
    if (!eng__agent_knowledge_of(c->t, "shop_question", false, "delete account data"))
        eng__set_var(c->t, "knowledgeMiss", json_object_new_boolean(1));
    return true;
}

/* "how many can i order", "how many am i allowed to buy" of the
 * product in focus: its details, with the stock */
static bool how_many_allowed(const reread_ctx *c)
{
    static const char *const allowed[] = {"how many can i", "how many could i", "how many may i",
                                          "how many am i allowed", "how many are you allowed", "how many can we",
                                          "how many can you sell", "how many do you allow", NULL};
    if (!eng__json_str(c->t->ctx, "session.focus", NULL) || !eng__agent_has_word(c->said, allowed))
        return false;
    eng__set_var(c->t, "useFocus", json_object_new_boolean(1));
    return true;
}

/* "give me the maximum" of the product in focus, read as anything: the
 * most allowed, asked */
static bool wants_most(const reread_ctx *c)
{
    return eng__json_str(c->t->ctx, "session.focus", NULL) && eng__agent_asks_most(c->said);
}

/* "how much with express shipping", "what does delivery cost" read as a
 * search: the cart agent answers (the cart's total with it, or the
 * shop's delivery text when the cart names nothing) */
static bool delivery_price(const reread_ctx *c)
{
    static const char *const price[] = {"how much", "cost", "costs", "price", "charge", "fee", NULL};
    static const char *const delivery[] = {"shipping", "delivery", "postage", "ship", "deliver", NULL};
    return eng__agent_has_word(c->said, price) &&
           (eng__agent_has_word(c->said, delivery) || eng__delivery_named(c->t, c->said));
}

/* "go for it", "sounds good, do it" to a question asked: a yes (the
 * message says nothing but agreeing) */
static bool agrees(const reread_ctx *c)
{
    static const char *const cue[] = {"go for it", "go ahead", "do it", "sounds good", "sure thing", "absolutely",
                                      "definitely", "place it", "proceed", "deal", "perfect", "confirm",
                                      "that works", "works for me", "why not", "go on", "carry on", "crack on",
                                      "do that", "please do", "fine by me", "thats fine", "that's fine", NULL};
    static const char *const words[] = {"go", "for", "it", "ahead", "do", "sounds", "good", "great", "sure",
                                        "thing", "absolutely", "definitely", "yes", "yep", "yeah", "ok", "okay",
                                        "please", "lets", "let's", "place", "that", "perfect", "fine", "alright",
                                        "cool", "deal", "confirm", "proceed", "now", "then", "works", "for",
                                        "me", "why", "not", "oh", "well", "right", "on", "carry", "crack",
                                        "by", "thats", "that's", NULL};
    return eng__agent_has_word(c->said, cue) && eng__agent_only_words(c->said, words, NULL) &&
           eng__agent_pending_fresh(c->t);
}

/* "add it", "ok put them in", "just add both" while "Shall I add the
 * rolex?" waits: the add asked about, in its own words: the yes (never a
 * second add beside the one asked) */
static bool adds_asked(const reread_ctx *c)
{
    static const char *const verbs[] = {"add", "put", "pop", "stick", "chuck", "throw", "grab", "get", "take",
                                        "buy", NULL};
    static const char *const them[] = {"it", "them", "em", "those", "these", "that", "this", "both", NULL};
    static const char *const words[] = {"add", "put", "pop", "stick", "chuck", "throw", "grab", "get", "take",
                                        "buy", "it", "them", "em", "those", "these", "that", "this", "both",
                                        "in", "into", "on", "to", "my", "the", "cart", "basket", "bag",
                                        "trolley", "please", "pls", "plz", "ok", "okay", "sure", "yes", "yeah",
                                        "yep", "then", "go", "ahead", "and", "just", "do", "can", "you",
                                        "could", "would", "i'll", "ill", "i", "will", "one", "ones", "all", "of",
                                        "in", "there", "now", "thanks", "ta", NULL};
    json_object *p = eng__agent_pending_fresh(c->t);
    return p && strcmp(eng__json_str(p, "type", ""), "cart.add") == 0 && eng__agent_has_word(c->said, verbs) &&
           eng__agent_has_word(c->said, them) && eng__agent_only_words(c->said, words, NULL);
}

/* "what orders am i still able to cancel?": the orders and their status
 * (the order agent lists them), however it was read */
static bool asks_cancellable(const reread_ctx *c)
{
    static const char *const which[] = {"which orders", "what orders", "which of my orders", "which order",
                                        NULL};
    return eng__user_id(c->t) && eng__agent_is_question(c->said) && eng__agent_has_word(c->said, which) &&
           eng__agent_has_word(c->said, (const char *const[]){"cancel", "cancelled", "canceled", NULL});
}

/* "take me back to the list" read as a return: the list's first page */
static bool back_to_list(const reread_ctx *c)
{
    static const char *const list[] = {"the list", "the results", "previous page", "last page", NULL};
    return eng__agent_has_word(c->said, list) && eng__agent_turns_page(c->t);
}

/* words of a cart change in an idiom (eng__agent_says_idiom): the rest
 * of the message is the question */
static bool idiom(const reread_ctx *c) { return eng__agent_says_idiom(c->said); }

/* "get me a person", "put me through to support": a person of the
 * shop's team, however read */
static bool wants_person(const reread_ctx *c)
{
    static const char *const person[] = {"a person", "a human", "a real person", "someone real", "an agent",
                                         "a real human", "put me through", "a manager", "customer service",
                                         "a rep", "a representative", "live agent", "live chat", NULL};
    static const char *const ask[] = {"get me", "put me", "talk to", "speak to", "speak with", "talk with",
                                      "connect me", "transfer me", "i want", "i need", "i'd like", "can i",
                                      "let me", NULL};
    return eng__agent_has_word(c->said, person) && eng__agent_has_word(c->said, ask);
}

/* "ok i see", "fair enough", "makes sense", "got it": an
 * acknowledgement, nothing asked and nothing waiting for an answer */
static bool acknowledges(const reread_ctx *c)
{
    static const char *const words[] = {"ok", "okay", "k", "i", "see", "fair", "enough", "makes", "sense",
                                        "got", "it", "get", "understood", "noted", "right", "alright", "cool",
                                        "gotcha", "oh", "ah", "hmm", "sure", "fine", "that", "thats", "that's",
                                        "good", "to", "know", "interesting", "nice", "great", NULL};
    static const char *const cue[] = {"i see", "fair enough", "makes sense", "got it", "i get it", "understood",
                                      "noted", "gotcha", "good to know", "interesting", "that makes sense", NULL};
    return eng__agent_has_word(c->said, cue) && eng__agent_only_words(c->said, words, NULL) &&
           !eng__json_path(c->t->ctx, "session.pending");
}

/* "actually just keep the lemons", however read: the cart agent asks
 * to take the other lines out */
static bool keeps_some(const reread_ctx *c)
{
    static const char *const keep[] = {"keep only", "only keep", "just keep", "keep just", NULL};
    if (!eng__agent_has_word(c->said, keep))
        return false;
    if (!eng__json_path(c->t->ctx, "cart.items"))
        eng__cart_refresh(c->t);
    return json_object_get_int64(eng__json_path(c->t->ctx, "cart.count")) > 0;
}

/* "make the kiwis 5 and the lipstick 1" read as a search: several lines
 * of the cart, a verb that sets and counts */
static bool sets_several(const reread_ctx *c)
{
    static const char *const set[] = {"make ", "set ", "change ", "update ", "put ", NULL};
    const char *p = eng__agent_past_courtesy(c->said);
    bool opens = false;
    for (size_t i = 0; set[i] && !opens; i++)
        opens = strncasecmp(p, set[i], strlen(set[i])) == 0;
    if (!opens || !strstr(c->said, " and "))
        return false;
    if (!eng__json_path(c->t->ctx, "cart.items"))
        eng__cart_refresh(c->t);
    return json_object_get_int64(eng__json_path(c->t->ctx, "cart.count")) > 0 &&
           eng__agent_has_word(c->said, (const char *const[]){"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10",
                                                              "one", "two", "three", "four", "five", "six", "seven",
                                                              "eight", "nine", "ten", NULL});
}

/* "remove my card", "add a gift message", "put my name on the order":
 * the account's or the order's details, no product */
static bool account_thing(const reread_ctx *c)
{
    static const char *const things[] = {"my card", "my credit card", "my debit card", "my address", "my email",
                                         "my e-mail", "my password", "my account", "my details", "my name",
                                         "my phone number", "note to my order", "note on my order", "gift message",
                                         "gift note", "delivery instructions", "payment method", NULL};
    return eng__agent_has_word(c->said, things);
}

/* "oh no i forgot to add the lipstick", "i also wanted the kiwi": an
 * add said as something missed, asked */
static bool forgot(const reread_ctx *c)
{
    static const char *const missed[] = {"forgot to add", "forgot the", "forgot about the", "forgot to get",
                                         "forgot to put", "also wanted the", "also wanted a", "meant to add",
                                         "meant to get", "should have added", NULL};
    return eng__agent_has_word(c->said, missed) && !eng__agent_is_question(c->said);
}

/* "and the gucci as well", "maybe the chanel too" with goods in the
 * cart: one more product named beside them, not in the cart yet, an
 * add, asked */
static bool adds_too(const reread_ctx *c)
{
    static const char *const too[] = {"too", "as well", "also", "aswell", NULL};
    /* "make the chanel 2 as well" sets a count: the cart agent's */
    static const char *const sets[] = {"make", "set", "change", "update", "bump", NULL};
    if (json_object_get_int64(eng__json_path(c->t->ctx, "cart.count")) < 1 || !eng__agent_has_word(c->said, too) ||
        eng__agent_is_question(c->said) || eng__agent_has_word(c->said, sets))
        return false;
    /* "now the others as well": the rest of the list shown */
    static const char *const rest[] = {"the rest", "rest of them", "the others", "the other ones", NULL};
    json_object *shown = eng__json_path(c->t->ctx, "session.shown");
    if (eng__agent_has_word(c->said, rest))
        return json_object_is_type(shown, json_type_array) && json_object_array_length(shown) >= 2;
    char words[160];
    eng__agent_name_words(c->t, words, sizeof words);
    if (!words[0])
        return false;
    agent_target tg;
    eng__agent_named(c->t, words, &tg);
    json_object_put(tg.candidates);
    return tg.found == AGENT_ONE && eng__cart_line_qty(c->t, tg.sku) == 0;
}

/* "hmm those are all too expensive for me", "out of my budget" after a
 * list: the list again, cheaper */
static bool too_dear(const reread_ctx *c)
{
    static const char *const dear[] = {"too expensive", "too pricey", "too much", "too dear", "out of my budget",
                                       "over my budget", "can't afford", "cant afford", NULL};
    static const char *const matching[] = {"match", "matching", "beat", "price promise", "shipping", "delivery",
                                           NULL};
    return eng__json_path(c->t->ctx, "session.lastQuery") && eng__agent_has_word(c->said, dear) &&
           !eng__agent_has_word(c->said, matching);
}

/* ---- the table */

static const char *const may_clear[] = {"search_product", "out_of_scope", "clarify", "view_cart", "remove_from_cart",
                                        NULL};
static const char *const may_list[] = {"search_product", "refine_search", "product_details", "out_of_scope",
                                       "clarify", "shop_question", "add_to_cart", NULL};
static const char *const may_narrow[] = {"search_product", "refine_search", "product_details", "out_of_scope",
                                         "clarify", "shop_question", "greeting", "recommend", NULL};
static const char *const search_or_clarify[] = {"search_product", "clarify", NULL};
static const char *const denies[] = {"deny", NULL};
static const char *const unplaced_or_add[] = {"out_of_scope", "shop_question", "search_product", "clarify",
                                              "add_to_cart", NULL};
static const char *const not_cart_change[] = {"add_to_cart", "remove_from_cart", "update_quantity", "empty_cart",
                                              "confirm", NULL};
static const char *const changes_or_search[] = {"add_to_cart", "remove_from_cart", "update_quantity", "empty_cart",
                                                "search_product", NULL};
static const char *const changes[] = {"add_to_cart", "remove_from_cart", "update_quantity", "empty_cart", NULL};
static const char *const refunds[] = {"check_refund_policy", "get_refund", "track_refund", NULL};
static const char *const search[] = {"search_product", NULL};
static const char *const promo[] = {"apply_promo", NULL};
static const char *const compares[] = {"compare", "refine_search", "search_product", "product_details",
                                       "out_of_scope", "clarify", "shop_question", NULL};
static const char *const checkouts[] = {"checkout", "place_order", NULL};
static const char *const unplaced_oos[] = {"out_of_scope", "clarify", "search_product", NULL};
static const char *const damage_from[] = {"search_product", "product_details", "track_order", "order_history",
                                          "add_to_cart", "update_quantity", "remove_from_cart", "out_of_scope",
                                          "shop_question", "clarify", "get_refund", "check_refund_policy",
                                          "cancel_order", NULL};
static const char *const own_code_from[] = {"shop_question", "out_of_scope", "clarify", "apply_promo",
                                             "search_product", NULL};
static const char *const yes_from[] = {"shop_question", "check_payment_methods", "payment_issue", "out_of_scope",
                                       "clarify", "thanks", NULL};
static const char *const cancel_from[] = {"out_of_scope", "shop_question", "search_product", "clarify",
                                          "product_details", "deny", "update_quantity", NULL};
static const char *const meant_from[] = {"add_to_cart", "remove_from_cart", "product_details",
                                         "search_product", "out_of_scope", "clarify", "deny", "shop_question",
                                         "thanks", NULL};
static const char *const hesitation_from[] = {"clarify", "out_of_scope", "greeting", "thanks", "shop_question",
                                              "search_product", NULL};
static const char *const price_cut_from[] = {"add_to_cart", "remove_from_cart", "update_quantity", "empty_cart",
                                             "search_product", "refine_search", NULL};
static const char *const picks_from_asked[] = {"search_product", "refine_search", "product_details", "out_of_scope",
                                               "update_quantity",
                                               "clarify", "add_to_cart", NULL};
static const char *const picks_from[] = {"search_product", "refine_search", "out_of_scope", "clarify",
                                         "shop_question", NULL};
static const char *const not_cancel[] = {"remove_from_cart", "update_quantity", "empty_cart", "deny", "out_of_scope",
                                         "clarify", "add_to_cart", "get_refund", "check_refund_policy",
                                         "shop_question", "complaint", "search_product", "product_details",
                                         "track_refund", NULL};
static const char *const why_about[] = {"add_to_cart", "remove_from_cart", "update_quantity", "out_of_scope",
                                        "clarify", "shop_question", "apply_promo", "search_product",
                                        "product_details", NULL};
static const char *const takes_away[] = {"update_quantity", "remove_from_cart", "empty_cart", "confirm", "deny",
                                         NULL};
static const char *const not_order[] = {"deny", "product_details", "shop_question", "out_of_scope", "clarify",
                                        "search_product", "delivery_period", NULL};
static const char *const search_or_details[] = {"search_product", "product_details", NULL};
static const char *const unplaced[] = {"out_of_scope", "shop_question", "search_product", "clarify", NULL};
static const char *const cart_or_search[] = {"add_to_cart", "update_quantity", "remove_from_cart", "search_product",
                                             NULL};
static const char *const may_new[] = {"view_cart", "out_of_scope", "clarify", "greeting", "shop_question",
                                      "search_product", "refine_search", NULL};
static const char *const not_counted[] = {"update_quantity", "confirm", NULL};
static const char *const not_removal[] = {"remove_from_cart", "confirm", "apply_promo", "empty_cart",
                                          "update_quantity", NULL};
static const char *const not_code[] = {"apply_promo", "confirm", NULL};
static const char *const account[] = {"create_account", NULL};
static const char *const unplaced_or_list[] = {"out_of_scope", "shop_question", "search_product", "clarify",
                                               "refine_search", "view_cart", NULL};
static const char *const may_buy[] = {"search_product", "out_of_scope", "clarify", "product_details",
                                      "shop_question", "change_order", "confirm", NULL};

#define ANY 2.0

static const reread table[] = {
    {picks_from_asked, NULL, ANY, NULL, picks_asked, NULL, RR_STORE, NULL, NULL, NULL},
    /* a why is a question before anything else: never a change */
    {why_about, NULL, ANY, asks_why, NULL, "view_cart", RR_STORE, NULL, eng__agent_cart,
     "a why about the cart's prices: the cart with its price cuts"},
    {NULL, not_confirm, ANY, declines_order, NULL, "deny", 0, NULL, eng__agent_order,
     "turns the order down in other words: a no"},
    {NULL, not_confirm, ANY, adds_asked, NULL, "confirm", 0, NULL, eng__agent_order,
     "adds what the add question asked about, in its own words: the yes"},
    {NULL, NULL, ANY, NULL, pays_otherwise, NULL, 0, NULL, NULL, NULL},
    {checkouts, NULL, ANY, NULL, not_checkout, NULL, RR_STORE, NULL, NULL, NULL},
    {checkouts, NULL, ANY, checkout_without, NULL, "remove_from_cart", RR_STORE | RR_SOURCE | RR_ASKED, NULL,
     eng__agent_cart, "a checkout without a line of the cart: that line out first, asked"},
    {own_code_from, NULL, ANY, asks_own_code, NULL, "view_cart", RR_STORE, NULL, eng__agent_cart,
     "asks whether the code on the cart applies: the cart, which says"},
    {yes_from, NULL, ANY, plain_yes, NULL, "confirm", 0, NULL, eng__agent_order,
     "a plain yes read as a question while the order's question waits: the yes"},
    {meant_from, NULL, ANY, NULL, meant_count, NULL, RR_STORE, NULL, NULL, NULL},
    {hesitation_from, NULL, ANY, hesitates, NULL, "confirm", 0, NULL, eng__agent_order,
     "a hesitation while a question waits: nothing done, asked again"},
    {price_cut_from, NULL, ANY, asks_price_cut, NULL, "shop_question", 0, NULL, NULL,
     "asks for a price cut, read as a change: the shop's offers and codes, nothing changed"},
    {compares, NULL, ANY, asks_in_stock, NULL, "refine_search", RR_STORE, NULL, eng__agent_product,
     "which of the list is in stock: the list, in stock only"},
    {NULL, NULL, 0.8, acknowledges, NULL, "thanks", 0, NULL, NULL, "an acknowledgement: nothing to do"},
    {unplaced_or_add, NULL, 0.6, wants_person, NULL, "contact_human_agent", 0, NULL, eng__agent_support,
     "asks for a person of the team"},
    {search, NULL, 0.7, sets_several, NULL, "update_quantity", RR_STORE | RR_SOURCE, NULL, eng__agent_cart,
     "several lines set to counts, read as a search: the cart agent"},
    {unplaced, NULL, ANY, too_dear, NULL, "refine_search", RR_STORE, NULL, eng__agent_product,
     "too dear, of a list: the list again, cheaper"},
    {NULL, not_cart_change, 0.8, adds_too, NULL, "add_to_cart", RR_STORE | RR_SOURCE | RR_ASKED, NULL,
     eng__agent_cart, "another product named beside the cart's: an add, asked"},
    {NULL, not_cart_change, 0.8, forgot, NULL, "add_to_cart", RR_STORE | RR_SOURCE | RR_ASKED, NULL,
     eng__agent_cart, "a product missed: an add, asked"},
    {NULL, not_confirm, ANY, keeps_some, NULL, "remove_from_cart", RR_STORE | RR_SOURCE, NULL, eng__agent_cart,
     "keeps only some lines: the cart agent"},
    {changes, NULL, ANY, idiom, NULL, "shop_question", 0, NULL, eng__agent_support,
     "words of a cart change in an idiom: the question it asks"},
    {NULL, not_confirm, 0.6, agrees, NULL, "confirm", 0, NULL, eng__agent_order,
     "agrees to the question asked: a yes"},
    {NULL, NULL, ANY, delivery_cost, NULL, "view_cart", RR_STORE, NULL, eng__agent_cart,
     "asks what a delivery option costs while the checkout waits: the cart with it"},
    {changes_or_search, NULL, ANY, account_thing, NULL, "shop_question", 0, NULL, eng__agent_support,
     "the account's or the order's details, no product: the shop's text"},
    {NULL, not_confirm, ANY, NULL, retargets, NULL, RR_STORE, NULL, NULL, NULL},
    {NULL, not_confirm, ANY, NULL, other_one, NULL, RR_STORE, NULL, NULL, NULL},
    {NULL, not_confirm, ANY, NULL, corrects_add, NULL, RR_STORE, NULL, NULL, NULL},
    {NULL, NULL, ANY, NULL, takes_back, NULL, RR_STORE, NULL, NULL, NULL},
    {may_clear, NULL, ANY, clears, NULL, "empty_cart", RR_STORE | RR_SOURCE, NULL, eng__agent_cart,
     "clears the whole cart: read as emptying it, asked"},
    {may_list, NULL, ANY, picks_among, NULL, "compare", RR_STORE, NULL, eng__agent_product,
     "which of the products shown: a comparison"},
    {may_narrow, NULL, ANY, narrows, NULL, "refine_search", RR_STORE, "narrowsList", eng__agent_product,
     "the ones of the list with something: a refinement"},
    {may_list, NULL, ANY, pages, NULL, "refine_search", RR_STORE, NULL, eng__agent_product,
     "a page of the list shown: a refinement"},
    {refunds, NULL, ANY, back_to_list, NULL, "refine_search", RR_STORE, NULL, eng__agent_product,
     "back to the list, read as a return: a refinement"},
    {search_or_clarify, NULL, 0.7, opens_add, NULL, "add_to_cart", RR_STORE | RR_SOURCE, NULL, eng__agent_cart,
     "opens with the verb of an add: an add, asked"},
    {denies, NULL, ANY, opens_add, NULL, "add_to_cart", RR_STORE | RR_SOURCE, NULL, eng__agent_cart,
     "opens with the verb of an add, read as a no (\"add 2 kiwis, no wait, 3\"): an add, asked"},
    {search, NULL, 0.6, about_it, NULL, "shop_question", 0, NULL, eng__agent_support,
     "a question about \"it\", the product in focus: not a search"},
    {NULL, NULL, ANY, asks_cancellable, NULL, "order_history", 0, NULL, eng__agent_order,
     "asks which orders can still be cancelled: the orders and their status"},
    {cancel_from, NULL, 0.6, cancels, NULL, "cancel_order", RR_SOURCE, NULL, eng__agent_order,
     "asks to cancel: the order agent asks first"},
    {cart_or_search, NULL, 0.6, sends_back, NULL, NULL, 0, NULL, eng__agent_support,
     "sends something back: the shop's returns, not the cart"},
    {not_order, NULL, ANY, asks_where, NULL, "track_order", RR_SOURCE, NULL, eng__agent_order,
     "where or when, right after an order: that order's status"},
    {unplaced_or_list, NULL, 0.8, takes_all, NULL, "add_to_cart", RR_STORE | RR_SOURCE | RR_ASKED, NULL,
     eng__agent_cart, "every product of the list: an add, asked"},
    {not_cancel, NULL, ANY, regrets_order, NULL, "cancel_order", RR_STORE | RR_SOURCE, NULL, eng__agent_order,
     "right after an order, a change of mind: its cancellation, asked"},
    {unplaced, NULL, 0.6, asks_by_when, NULL, "delivery_period", 0, NULL, eng__agent_support,
     "asks by when a delivery comes: the shop's shipping text"},
    {picks_from, NULL, 0.7, NULL, picks_compared, NULL, RR_STORE, NULL, NULL, NULL},
    {damage_from, NULL, ANY, NULL, answers_damage, NULL, 0, NULL, NULL, NULL},
    {damage_from, NULL, ANY, NULL, answers_fault, NULL, 0, NULL, NULL, NULL},
    {checkouts, NULL, 0.6, buys_thing, NULL, "add_to_cart", RR_STORE | RR_SOURCE | RR_ASKED, NULL,
     eng__agent_cart, "buying a thing named, read as a checkout: an add, asked"},
    {unplaced, NULL, 0.6, opens_checkout, NULL, "checkout", RR_SOURCE, NULL, eng__agent_order,
     "opens with the checkout: the checkout"},
    {unplaced_oos, NULL, ANY, at_checkout, NULL, "shop_question", 0, NULL, eng__agent_support,
     "a question while the checkout waits: the shop's text, the order still asked"},
    {unplaced, NULL, ANY, NULL, asks_variants, NULL, RR_STORE, NULL, NULL, NULL},
    {unplaced, NULL, 0.6, asks_difference, NULL, "compare", RR_STORE, NULL, eng__agent_product,
     "asks what sets products apart: a comparison"},
    {NULL, takes_away, 0.8, fewer, NULL, "update_quantity", RR_STORE | RR_SOURCE | RR_ASKED, NULL, eng__agent_cart,
     "a count taken away, read as an add: a change of the line, asked"},
    {promo, NULL, ANY, asks_codes, NULL, "shop_question", 0, NULL, NULL,
     "asks whether there is a code, saying none: the shop's offers and codes"},
    {unplaced, NULL, ANY, offers, NULL, "shop_question", 0, NULL, NULL,
     "asks what is on offer, naming no product: the shop's promotions"},
    {unplaced, NULL, ANY, owes, NULL, "view_cart", RR_STORE, NULL, eng__agent_cart,
     "asks what is owed: the cart and its total"},
    {search_or_details, NULL, 0.7, counted, NULL, "add_to_cart", RR_STORE | RR_SOURCE | RR_ASKED, NULL, eng__agent_cart,
     "a count of a product, asked for: an add, asked"},
    {may_new, NULL, ANY, asks_new, NULL, "recommend", RR_STORE, NULL, eng__agent_product,
     "asks what is new: the shop's suggestions"},
    {NULL, not_counted, 0.8, changes_by, NULL, "update_quantity", RR_STORE | RR_SOURCE | RR_ASKED, NULL,
     eng__agent_cart, "a line changed by a count: a quantity change, asked"},
    {NULL, not_removal, 0.8, drops, NULL, "remove_from_cart", RR_STORE | RR_SOURCE | RR_ASKED, NULL, eng__agent_cart,
     "opens with a verb that drops something: a removal, asked"},
    {NULL, not_code, ANY, another_code, NULL, "apply_promo", RR_STORE, NULL, eng__agent_cart,
     "another code right after one: apply_promo"},
    {may_buy, NULL, ANY, NULL, buys, NULL, RR_STORE, NULL, NULL, NULL},
    {NULL, NULL, ANY, NULL, picks_delivery, NULL, 0, NULL, NULL, NULL},
    {search, NULL, 0.6, delivery_price, NULL, "view_cart", RR_STORE, NULL, eng__agent_cart,
     "asks what delivery costs, read as a search: the cart agent"},
    {unplaced_or_list, NULL, ANY, wants_most, NULL, "add_to_cart", RR_STORE | RR_SOURCE, NULL, eng__agent_cart,
     "the most allowed of the product in focus: an add, asked"},
    {unplaced_or_list, NULL, ANY, how_many_allowed, NULL, "product_details", RR_STORE, NULL, eng__agent_product,
     "how many may be had of the product in focus: its details and stock"},
    {account, NULL, ANY, ends_account, NULL, "shop_question", 0, NULL, NULL,
     "ends an account, not a sign-up: the shop's text"},
};

static bool listed(const char *const *list, const char *intent)
{
    for (size_t i = 0; list && list[i]; i++)
        if (strcmp(list[i], intent) == 0)
            return true;
    return false;
}

bool eng__agent_reread(const agent_call *call, agent_fn fn, eng_result *r)
{
    eng_turn *t = call->t;
    const char *intent = eng__agent_intent(t);
    if (!intent || !*intent)
        return false;
    intent = eng__pool_strdup(t->pool, intent);   /* a reading replaced frees the name */
    reread_ctx c = {call, t, eng__json_str(t->ctx, "message.text", ""), intent, fn,
                    json_object_get_double(eng__json_path(t->ctx, "intent.confidence"))};
    bool has_store = eng__store(t) != NULL;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const reread *e = &table[i];
        if ((e->from && !listed(e->from, intent)) || (e->not_from && listed(e->not_from, intent)) ||
            c.conf >= e->below || ((e->flags & RR_STORE) && !has_store))
            continue;
        if (e->act) {
            if (e->act(&c, r))
                return true;
            continue;
        }
        if (!e->test(&c))
            continue;
        if (e->as)
            eng__agent_read_as(t, e->as);
        if (e->flags & RR_SOURCE)
            json_object_object_add(eng__json_path(t->ctx, "intent"), "source", json_object_new_string("reread"));
        if (e->flags & RR_ASKED)
            eng__set_var(t, "continued", json_object_new_boolean(1));
        if (e->var)
            eng__set_var(t, e->var, json_object_new_boolean(1));
        eng__turn_note(t, "%s", e->note);
        *r = e->to ? e->to(call) : ENG_R_OK;
        return true;
    }
    return false;
}
