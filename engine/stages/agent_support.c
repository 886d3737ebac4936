/* engine/stages/agent_support.c — the support agent: answers from the
 * shop's knowledge file (engine/knowledge.c) when the pipeline has one,
 * FAQ topics whose answers live in the formatter's templates, and
 * hand-off to a person, recorded as an event (an action and an audit
 * record) so the support team sees who asked and why. */
#define _GNU_SOURCE /* strcasestr */
#include "agent_int.h"
#include "engine/knowledge_int.h"
#include "engine/checkout_int.h"
#include <math.h>
#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

/* Intents that mean "let me talk to a person". */
static const char *const handoff[] = {"contact_human_agent", "complaint", NULL};

bool eng__agent_knowledge(eng_turn *t, const char *topic, bool strict)
{
    return eng__agent_knowledge_of(t, topic, strict, eng__json_str(t->ctx, "message.text", ""));
}

bool eng__agent_knowledge_of(eng_turn *t, const char *topic, bool strict, const char *text)
{
    const eng_kb *kb = t->p->knowledge;
    if (!kb)
        return false;
    eng_kb_hit hit;
    /* the intent names what was asked ("check_payment_methods"); the
     * catch-alls name nothing */
    bool named = strcmp(topic, "shop_question") != 0 && strcmp(topic, "out_of_scope") != 0;
    if (eng__kb_answers(kb, text, named ? topic : NULL, strict, &hit)) {
        json_object *k = json_object_new_object();
        ENG_JADD(k, "title", json_object_new_string(hit.title));
        ENG_JADD(k, "text", json_object_new_string(hit.text));
        ENG_JADD(k, "score", json_object_new_double((double)(int)(hit.score * 100) / 100));
        eng__set_var(t, "knowledge", k);
        eng__turn_note(t, "topic %s; knowledge \"%s\" (%.2f)", topic, hit.title, hit.score);
        return true;
    }
    eng__turn_note(t, "topic %s; no knowledge section fits (best %.2f)", topic, hit.title ? hit.score : 0.0);
    return false;
}

/* "do i get free delivery?" with goods in the cart: how far the cart is
 * from the cheapest option that becomes free (vars.freeDelivery: name,
 * and qualifies or the amount still needed), from the checkout's own
 * settings and the cart as priced. */
static void free_delivery(eng_turn *t)
{
    static const char *const asks[] = {"free delivery", "free shipping", "free postage", "delivery free",
                                       "shipping free", "free standard delivery", NULL};
    if (!eng__agent_has_word(eng__json_str(t->ctx, "message.text", ""), asks) || !eng__store(t))
        return;
    if (!eng__json_path(t->ctx, "cart.items") && eng__cart_refresh(t) < 0)
        return;
    if (json_object_get_int64(eng__json_path(t->ctx, "cart.count")) < 1)
        return;
    const eng_delivery_opt *best = eng__delivery_free_hint(t);   /* where the saved address is */
    if (!best)
        return;
    int64_t goods = llround(json_object_get_double(eng__json_path(t->ctx, "cart.total")) * 100);
    json_object *v = json_object_new_object();
    ENG_JADD(v, "name", json_object_new_string(best->name));
    if (eng__delivery_price(best, goods) == 0)
        ENG_JADD(v, "qualifies", json_object_new_boolean(1));
    else
        ENG_JADD(v, "needed", json_object_new_double((double)(best->free_over_cents - goods) / 100.0));
    eng__set_var(t, "freeDelivery", v);
}

static void knowledge(eng_turn *t, const char *intent)
{
    /* below the threshold the reply says it doesn't know and offers a
     * person; a message the classifier could not place answers only on
     * a strict match (eng__kb_answers) */
    bool strict = strcmp(intent, "out_of_scope") == 0;
    if (!eng__agent_knowledge(t, intent, strict) && !strict && t->p->knowledge)
        eng__set_var(t, "knowledgeMiss", json_object_new_boolean(1));
    free_delivery(t);
}

bool eng__agent_money_taken(const char *text)
{
    /* said as done to the shopper: "when is my card charged" asks */
    static const char *const charged[] = {"was charged", "were charged", "been charged", "got charged", "charged me",
                                          "charged twice", "charged two", "charged double", "double charged",
                                          "double charge", "two charges", "was billed", "been billed", "got billed",
                                          "billed me", "billed twice", "billed two", "took my money",
                                          "taken my money", "took the money", "taken the money", "money was taken",
                                          "money left", "was debited", "been debited", "debited twice", NULL};
    return eng__agent_has_word(text, charged);
}

/* "what about canada?", "and for express?", "same for gift cards?": a
 * short question that goes on from the last one. */
static bool follows_on(const char *text)
{
    static const char *const opens[] = {"what about ", "how about ", "and ", "what if ", "same for ", "and what about ",
                                        "also for ", "and for ", "what of ", NULL};
    while (*text == ' ')
        text++;
    size_t words = 0;
    for (const char *p = text; *p; p++)
        words += !isspace((unsigned char)*p) && (p == text || isspace((unsigned char)p[-1]));
    for (size_t i = 0; opens[i]; i++)
        if (strncasecmp(text, opens[i], strlen(opens[i])) == 0 && words <= 6)
            return true;
    return false;
}

bool eng__agent_kb_follow_on(eng_turn *t)
{
    const char *last_kb = eng__json_str(t->ctx, "session.lastKnowledge", NULL);
    const char *text = eng__json_str(t->ctx, "message.text", "");
    if (!last_kb || !follows_on(text))
        return false;
    /* the same section, asked of the new words */
    char q[600];
    snprintf(q, sizeof q, "%s %s", last_kb, text);
    if (!eng__agent_knowledge_of(t, "shop_question", false, q))
        return false;
    eng__agent_read_as(t, "shop_question");
    eng__turn_note(t, "follows on from \"%s\"", last_kb);
    return true;
}

/* Whether a word of `s` reads as a plural ("bananas too", not "glass"
 * or "this"): 4 letters or more ending in "s" after a letter other than
 * "s", "u" or "i". */
static bool names_plural(const char *s)
{
    for (const char *p = s; *p;) {
        while (*p && !isalpha((unsigned char)*p))
            p++;
        const char *w = p;
        while (isalpha((unsigned char)*p))
            p++;
        size_t n = (size_t)(p - w);
        if (n >= 4 && tolower((unsigned char)w[n - 1]) == 's') {
            char b = (char)tolower((unsigned char)w[n - 2]);
            if (b != 's' && b != 'u' && b != 'i')
                return true;
        }
    }
    return false;
}

/* "do you sell keyboards", "do you guys stock tents", "does your shop
 * carry hammocks": the words after the selling verb, or NULL when the
 * message does not ask whether the shop sells something, or asks where
 * or how it sells ("a store in london", "internationally"). "have" and
 * "got" ask after services too ("do you have an app"): with them only
 * goods browsed for count: things named in the plural or after "any"
 * ("do you have bananas", "have you got any kites"), or words the
 * catalog knows (`names_catalog`: "do you have shop stool"). */
static const char *sold_thing(const char *text, bool names_catalog)
{
    static const char *const verbs[] = {" sell ", " stock ", " carry ", " have ", " got ", NULL};
    static const char *const who[] = {"you", "u", "ya", "shop", "store", NULL};
    static const char *const how[] = {"store in", "shop in", "stores in", "shops in", "near me", "location",
                                      "locations", "branch", "branches", "office", "internationally", "abroad",
                                      "worldwide", "overseas", "online", "in person", "wholesale", "in bulk",
                                      "outlet", "showroom", NULL};
    if (eng__agent_has_word(text, how))
        return NULL;
    for (size_t i = 0; verbs[i]; i++) {
        const char *v = strcasestr(text, verbs[i]);
        if (!v)
            continue;
        /* "you" (or the shop) within the three words before the verb */
        char before[96];
        size_t from = (size_t)(v - text) > 40 ? (size_t)(v - text) - 40 : 0;
        snprintf(before, sizeof before, "%.*s", (int)((size_t)(v - text) - from), text + from);
        const char *rest = v + strlen(verbs[i]);
        while (*rest == ' ')
            rest++;
        if (!eng__agent_has_word(before, who) || !*rest || strncasecmp(rest, "out ", 4) == 0)
            continue;   /* not "do you carry out repairs" */
        if (i >= 3 && strncasecmp(rest, "any ", 4) != 0 && !names_plural(rest) && !names_catalog)
            continue;   /* "do you have a loyalty scheme" */
        return rest;
    }
    return NULL;
}

eng_result eng__agent_support(const agent_call *c)
{
    eng_turn *t = c->t;
    if (!eng__agent_hop(t))
        return ENG_R_OK;
    const char *intent = eng__agent_intent(t);
    eng__set_var(t, "topic", json_object_new_string(intent));
    /* "i was charged twice", "you took the money but there's no order":
     * money taken wrongly is for a person, with a reference, not advice
     * about card details */
    eng_result claimed;
    if ((strcmp(intent, "complaint") == 0 || strcmp(intent, "contact_human_agent") == 0) &&
        json_object_get_double(eng__json_path(t->ctx, "intent.confidence")) < 0.5 &&
        eng__agent_cart_claims(c, &claimed))
        return claimed;   /* "same again" read weakly as a complaint: an add, asked */
    bool money_taken = (strcmp(intent, "payment_issue") == 0 || strcmp(intent, "out_of_scope") == 0 ||
                        strcmp(intent, "shop_question") == 0 || strcmp(intent, "complaint") == 0) &&
                       eng__agent_money_taken(eng__json_str(t->ctx, "message.text", ""));
    if (money_taken && strcmp(intent, "payment_issue") != 0) {
        eng__agent_read_as(t, "payment_issue");   /* "i think i've been charged twice", read weakly */
        intent = "payment_issue";
    }
    for (size_t i = 0; handoff[i] || money_taken; i++) {
        if (!money_taken && strcmp(intent, handoff[i]) != 0)
            continue;
        if (!eng__store(t)) {
            /* no store to record the hand-off in: said, not failed */
            eng__set_var(t, "noCatalog", json_object_new_boolean(1));
            eng__turn_note(t, "a hand-off needs a store: none here");
            return ENG_R_OK;
        }
        json_object *a = json_object_new_object();
        ENG_JADD(a, "reason", json_object_new_string(intent));
        ENG_JADD(a, "text", json_object_new_string(eng__json_str(t->ctx, "message.text", "")));
        json_object *act = eng__action_add(t, "support.handoff", a);
        eng__set_var(t, "handoff", json_object_new_boolean(1));
        eng__set_var(t, "ticket", json_object_get(eng__json_path(act, "key")));
        eng__turn_note(t, "hand-off to a person (%s)", intent);
        return ENG_R_OK;
    }
    if ((strcmp(intent, "out_of_scope") == 0 || strcmp(intent, "shop_question") == 0 ||
         strcmp(intent, "clarify") == 0 ||
         json_object_get_double(eng__json_path(t->ctx, "intent.confidence")) < 0.8) &&
        eng__agent_shop_by_budget(c, &claimed))
        return claimed;   /* "something around 30 bucks" */
    if (strcmp(intent, "out_of_scope") == 0 || strcmp(intent, "shop_question") == 0 ||
        strcmp(intent, "delivery_options") == 0) {
        if (eng__agent_picks_delivery(t))
            return eng__agent_delivery_pick(c);   /* "standard is fine" after the summary */
    }
    if (eng__agent_asks_fact(eng__json_str(t->ctx, "message.text", ""))) {
        /* "what's the warranty on the sofa", "can I return it": one
         * product named, or the one in focus: its listing answers, the
         * shop's policy beside it when the listing says nothing */
        agent_target tg;
        eng__agent_target(t, false, &tg);
        json_object_put(tg.candidates);
        /* "how big is it", "could i send it back if i change my mind":
         * the words around "it" name no product; "it" is the focus */
        /* "how big is the bottle": "the" and words that name nothing
         * the shop sells (ctx.understanding.named empty) are a part of
         * it too; "your returns policy" is the shop's */
        static const char *const pointing[] = {"it", "its", "it's", "this", "this one", "that one", NULL};
        static const char *const the[] = {"the", NULL};
        static const char *const shop[] = {"you", "your", "you're", "general", "shop", "store", "usual", NULL};
        const char *text = eng__json_str(t->ctx, "message.text", "");
        json_object *named = eng__json_path(t->ctx, "understanding.named");
        bool part_of_it = eng__agent_has_word(text, the) && !eng__agent_has_word(text, shop) &&
                          json_object_is_type(named, json_type_array) && json_object_array_length(named) == 0;
        bool at_focus = tg.found != AGENT_ONE && tg.found != AGENT_MANY &&
                        eng__json_str(t->ctx, "session.focus", NULL) &&
                        (eng__agent_has_word(text, pointing) || part_of_it);
        if (at_focus)
            eng__set_var(t, "useFocus", json_object_new_boolean(1));
        if (tg.found == AGENT_ONE || at_focus) {
            eng__agent_read_as(t, "product_details");
            eng__turn_note(t, "asks a fact of one product: its listing");
            return eng__agent_product(c);
        }
    }
    static const char *const selling[] = {"stock", "sell", "carry", "have", "got", "stocked", NULL};
    if ((strcmp(intent, "out_of_scope") == 0 || strcmp(intent, "shop_question") == 0) &&
        json_object_get_double(eng__json_path(t->ctx, "intent.confidence")) < 0.5 &&
        eng__agent_names_brand_or_kind(t) &&
        eng__agent_has_word(eng__json_str(t->ctx, "message.text", ""), selling)) {
        /* "do you stock samsung stuff": a brand or a kind of product the
         * shop sells, asked after; not the stock policy */
        eng__agent_read_as(t, "search_product");
        eng__turn_note(t, "a weak question that names a brand or a kind the shop sells: a search");
        return eng__agent_product(c);
    }
    if ((strcmp(intent, "out_of_scope") == 0 || strcmp(intent, "shop_question") == 0) &&
        eng__agent_one_more(t, eng__json_str(t->ctx, "message.text", ""))) {
        /* "can i get another bottle" of the product in focus: an add, asked */
        eng__agent_read_as(t, "add_to_cart");
        eng__set_var(t, "continued", json_object_new_boolean(1));
        eng__turn_note(t, "another of the product in focus: an add, asked");
        return eng__agent_cart(c);
    }
    if ((strcmp(intent, "out_of_scope") == 0 || strcmp(intent, "shop_question") == 0) &&
        eng__agent_product_question(eng__json_str(t->ctx, "message.text", ""))) {
        /* "is the chanel long lasting", "what's the screen size on the
         * asus": one product shown, named; its listing answers */
        agent_target named;
        eng__agent_target(t, false, &named);
        json_object_put(named.candidates);
        if (named.found != AGENT_ONE) {
            /* "long lasting" names nothing: the words that name something
             * of the catalog alone ("chanel") */
            json_object *cw = eng__json_path(t->ctx, "understanding.named");
            char only[160] = "";
            size_t o = 0;
            for (size_t i = 0; json_object_is_type(cw, json_type_array) && i < json_object_array_length(cw); i++) {
                const char *w = json_object_get_string(json_object_array_get_idx(cw, i));
                if (w && o + strlen(w) + 2 < sizeof only)
                    o += (size_t)snprintf(only + o, sizeof only - o, "%s%s", o ? " " : "", w);
            }
            if (only[0]) {
                eng__agent_named(t, only, &named);
                json_object_put(named.candidates);
            }
        }
        if (named.found == AGENT_ONE) {
            ENG_JADD(eng__session(t), "focus", json_object_new_string(named.sku));
            eng__set_var(t, "useFocus", json_object_new_boolean(1));
            eng__agent_read_as(t, "product_details");
            eng__turn_note(t, "a question about one product shown, by its name: its listing");
            return eng__agent_product(c);
        }
    }
    /* "what's it made of" with several shown and none in focus: which
     * one, not out of scope */
    static const char *const it_words[] = {"it", "it's", "its", "this one", "that one", NULL};
    json_object *shown_now = eng__json_path(t->ctx, "session.shown");
    if (strcmp(intent, "out_of_scope") == 0 && !eng__json_str(t->ctx, "session.focus", NULL) &&
        json_object_is_type(shown_now, json_type_array) && json_object_array_length(shown_now) >= 2 &&
        (eng__agent_is_question(eng__json_str(t->ctx, "message.text", "")) ||
         eng__agent_has_word(eng__json_str(t->ctx, "message.text", ""),
                             (const char *const[]){"whats", "what's", "hows", "how's", NULL})) &&
        eng__agent_has_word(eng__json_str(t->ctx, "message.text", ""), it_words)) {
        eng__agent_read_as(t, "product_details");
        eng__set_var(t, "needProduct", json_object_new_boolean(1));
        eng__turn_note(t, "a question about \"it\" with several shown: which one");
        return ENG_R_OK;
    }
    static const char *const these[] = {"are these", "are they", "are those", "do these", "do they", "do those",
                                        "will these", "will they", "would these", "would they", NULL};
    const char *said = eng__json_str(t->ctx, "message.text", "");
    json_object *shown = eng__json_path(t->ctx, "session.shown");
    eng_kb_hit these_hit;
    if ((strcmp(intent, "out_of_scope") == 0 || strcmp(intent, "shop_question") == 0) &&
        json_object_is_type(shown, json_type_array) && json_object_array_length(shown) >= 2 &&
        eng__agent_has_word(said, these) && !eng__agent_asks_opinion(t) && !eng__agent_asks_variant(t) &&
        !eng__agent_asks_list_variant(t) &&
        !eng__kb_answers(t->p->knowledge, said, NULL, true, &these_hit)) {
        /* "are these polarized" of the list shown: what their listings say */
        eng__agent_read_as(t, "compare");
        eng__turn_note(t, "a question about the products shown: their listings");
        return eng__agent_product(c);
    }
    static const char *const savings[] = {"discount", "discounts", "code", "codes", "coupon", "coupons",
                                          "savings", "saving", "promo", "promos", "voucher", "money off", NULL};
    static const char *const mine[] = {"do i have", "have i got", "i have", "applied", "am i getting",
                                       "i'm getting", "im getting", "on my cart", "on my order", "on my basket",
                                       "did i get", "got applied", NULL};
    if ((strcmp(intent, "out_of_scope") == 0 || strcmp(intent, "shop_question") == 0) &&
        eng__agent_has_word(said, savings) && eng__agent_has_word(said, mine) &&
        (eng__json_path(t->ctx, "cart.items") || eng__cart_refresh(t) == 0) &&
        json_object_get_int64(eng__json_path(t->ctx, "cart.count")) > 0) {
        /* "what discounts do i have": the cart, with every price cut and
         * its reason */
        eng__agent_read_as(t, "view_cart");
        eng__turn_note(t, "asks which discounts the cart has: the cart");
        return eng__agent_cart(c);
    }
    static const char *const what_about[] = {"what about ", "how about ", "and what about ", "and how about ",
                                             "what about some ", "and any ", NULL};
    bool another = false;
    for (size_t i = 0; what_about[i] && !another; i++)
        another = strncasecmp(said, what_about[i], strlen(what_about[i])) == 0;
    if (strcmp(intent, "out_of_scope") == 0 && another && eng__json_path(t->ctx, "session.lastQuery")) {
        /* "and what about herbal tea" after a search: another search (the
         * product agent says so when the shop has none) */
        eng__agent_read_as(t, "search_product");
        eng__turn_note(t, "what about another thing, after a search: a search");
        return eng__agent_product(c);
    }
    /* "do you sell keyboards", "do you folks stock tents": a thing asked
     * after that the shop's text does not answer is a search (which says
     * so when the catalog has none) */
    /* catalog words count for "have" and "got" when the reading was unsure:
     * "do you have a phone number i can call" is a sure question */
    const char *sold = sold_thing(eng__json_str(t->ctx, "message.text", ""),
                                  json_object_get_int(eng__json_path(t->ctx, "understanding.known")) > 0 &&
                                      json_object_get_double(eng__json_path(t->ctx, "intent.confidence")) < 0.5);
    eng_kb_hit sold_hit;
    if ((strcmp(intent, "out_of_scope") == 0 || strcmp(intent, "shop_question") == 0) && sold &&
        !eng__kb_answers(t->p->knowledge, sold, NULL, true, &sold_hit) &&
        !eng__kb_answers(t->p->knowledge, eng__json_str(t->ctx, "message.text", ""), NULL, true, &sold_hit)) {
        eng__agent_read_as(t, "search_product");
        eng__turn_note(t, "asks whether the shop sells a thing its text does not answer: a search");
        return eng__agent_product(c);
    }
    static const char *const other_price[] = {"cheaper", "less expensive", "more affordable", "lower price",
                                              "pricier", "more expensive", "higher end", "fancier",
                                              /* "that's too much money": a cheaper one */
                                              "too much", "too expensive", "too pricey", "too dear",
                                              "out of my budget", "over my budget", "can't afford", "cant afford",
                                              NULL};
    static const char *const matching[] = {"match", "matching", "beat", "price promise", NULL};
    if ((strcmp(intent, "out_of_scope") == 0 || strcmp(intent, "shop_question") == 0 ||
         strcmp(intent, "clarify") == 0) &&
        eng__json_path(t->ctx, "session.lastQuery") &&
        eng__agent_has_word(eng__json_str(t->ctx, "message.text", ""), other_price) &&
        !eng__agent_has_word(eng__json_str(t->ctx, "message.text", ""), matching)) {
        /* "is there a cheaper version?" after a list or a product of it:
         * the list again below (or above) it, not the shop's policies */
        eng__agent_read_as(t, "refine_search");
        eng__turn_note(t, "a cheaper or dearer one of what was shown: a refinement");
        return eng__agent_product(c);
    }
    if (strcmp(intent, "out_of_scope") == 0 && eng__agent_likes_shown(c, &claimed))
        return claimed;   /* "the gucci one sounds lovely" */
    if ((strcmp(intent, "out_of_scope") == 0 || strcmp(intent, "shop_question") == 0 ||
         strcmp(intent, "clarify") == 0) &&
        eng__agent_shop_overview(c, &claimed))
        return claimed;   /* "what do you sell" */
    if ((strcmp(intent, "out_of_scope") == 0 || strcmp(intent, "shop_question") == 0) &&
        eng__agent_shop_by_price(c, &claimed))
        return claimed;   /* "the most expensive item in the shop" */
    if ((strcmp(intent, "out_of_scope") == 0 || strcmp(intent, "shop_question") == 0) &&
        eng__agent_shown_question(c, &claimed))
        return claimed;   /* "what does it cost for three" of the product in focus */
    if ((strcmp(intent, "out_of_scope") == 0 || strcmp(intent, "shop_question") == 0) &&
        eng__agent_cart_claims(c, &claimed))
        return claimed;   /* "here's my voucher: WELCOME5", "a dozen please" */
    static const char *const stock[] = {"how many are left", "how many left", "any left", "how many do you have",
                                        "how many in stock", "how many have you got", "still available",
                                        "still in stock", NULL};
    if ((strcmp(intent, "out_of_scope") == 0 || strcmp(intent, "shop_question") == 0) &&
        eng__json_str(t->ctx, "session.focus", NULL) &&
        eng__agent_has_word(eng__json_str(t->ctx, "message.text", ""), stock)) {
        /* "how many are left" about the product in focus: its stock */
        eng__set_var(t, "useFocus", json_object_new_boolean(1));
        eng__agent_read_as(t, "product_details");
        eng__turn_note(t, "asks the stock of the product in focus: its details");
        return eng__agent_product(c);
    }
    if ((strcmp(intent, "out_of_scope") == 0 || strcmp(intent, "shop_question") == 0) &&
        eng__agent_asks_opinion(t)) {
        /* "is it any good": the product in focus, rated, not out of scope */
        eng__agent_read_as(t, "product_details");
        eng__turn_note(t, "asks what the product in focus is worth: its details");
        return eng__agent_product(c);
    }
    if ((strcmp(intent, "out_of_scope") == 0 || strcmp(intent, "shop_question") == 0) &&
        eng__agent_asks_variant(t)) {
        /* "is it available in red": the product in focus, not the gift cards */
        eng__agent_read_as(t, "product_details");
        return eng__agent_product(c);
    }
    if ((strcmp(intent, "out_of_scope") == 0 || strcmp(intent, "shop_question") == 0) &&
        !eng__agent_asks_variant(t) && eng__agent_asks_list_variant(t)) {
        /* "do they come in size 10" after a list: that list, refined */
        eng__agent_read_as(t, "refine_search");
        eng__set_var(t, "listVariant", json_object_new_boolean(1));
        eng__turn_note(t, "asks for a colour or size of the list shown: refines it");
        return eng__agent_product(c);
    }
    if (strcmp(intent, "out_of_scope") == 0 && eng__json_str(t->ctx, "session.focus", NULL) &&
        eng__agent_asks_similar(eng__json_str(t->ctx, "message.text", ""))) {
        /* "what else is similar but in stock" about the product in focus */
        eng__agent_read_as(t, "recommend");
        eng__turn_note(t, "asks for products like the one in focus: recommend");
        return eng__agent_product(c);
    }
    if ((strcmp(intent, "out_of_scope") == 0 || strcmp(intent, "shop_question") == 0) &&
        eng__agent_sizes_question(c, &claimed))
        return claimed;   /* "what sizes do they come in" */
    static const char *const not_to[] = {"don't add", "dont add", "do not add", "don't put", "dont put",
                                         "don't remove", "dont remove", "do not remove", "don't buy", "dont buy",
                                         "don't change", "dont change", NULL};
    if (strcmp(intent, "out_of_scope") == 0 && eng__agent_has_word(eng__json_str(t->ctx, "message.text", ""), not_to)) {
        /* "please dont add anything yet, i'm just browsing": the cart
         * agent says it left the cart as it is */
        eng__agent_read_as(t, strstr(eng__json_str(t->ctx, "message.text", ""), "remov") ? "remove_from_cart"
                                                                                            : "add_to_cart");
        eng__turn_note(t, "a cart change the shopper says not to make: the cart agent");
        return eng__agent_cart(c);
    }
    char about[160];
    eng_kb_hit kh;
    if ((strcmp(intent, "out_of_scope") == 0 || strcmp(intent, "shop_question") == 0) &&
        eng__agent_asks_about_focus(t, about, sizeof about) &&
        (json_object_get_boolean(eng__json_path(t->ctx, "vars.aboutPart")) ||
         !eng__kb_answers(t->p->knowledge, eng__json_str(t->ctx, "message.text", ""), NULL,
                          strcmp(intent, "out_of_scope") == 0, &kh))) {
        /* "is it machine washable": the focus product's listing answers,
         * or the reply says it does not */
        json_object *a = json_object_new_object();
        ENG_JADD(a, "words", json_object_new_string(about));
        eng__set_var(t, "askedAbout", a);
        eng__agent_read_as(t, "product_details");
        eng__turn_note(t, "a question about the product in focus: its listing");
        return eng__agent_product(c);
    }
    if (strcmp(intent, "out_of_scope") == 0 && eng__agent_only_refines(t)) {
        /* "and the most expensive?" after a list: that list, reordered */
        eng__agent_read_as(t, "refine_search");
        eng__turn_note(t, "only orders or cuts the last list: refines it");
        return eng__agent_product(c);
    }
    if (strcmp(intent, "out_of_scope") == 0 && eng__agent_points_at_shown(t)) {
        /* "the second ones look nice": about a product shown, not off topic */
        eng__agent_read_as(t, "product_details");
        eng__turn_note(t, "points at a product shown: its details");
        return eng__agent_product(c);
    }
    if (strcmp(intent, "payment_issue") == 0 && eng__agent_is_question(eng__json_str(t->ctx, "message.text", "")) &&
        eng__kb_answers(t->p->knowledge, eng__json_str(t->ctx, "message.text", ""), NULL, true, &kh)) {
        /* "when is my card charged": a question the shop's text answers,
         * not trouble with a payment */
        eng__agent_read_as(t, "shop_question");
        intent = "shop_question";
        eng__turn_note(t, "a question about payments the shop's knowledge answers");
    }
    if ((strcmp(intent, "out_of_scope") == 0 || strcmp(intent, "shop_question") == 0) && eng__agent_kb_follow_on(t))
        return ENG_R_OK;   /* "what about canada?" right after the shipping regions */
    eng__turn_note(t, "topic %s", intent);
    knowledge(t, intent);
    /* "do you have lettuce": the shop's text has nothing on it, and the
     * question asks for a thing to buy: the catalog says whether it is
     * carried ("we don't seem to carry that"), not a person */
    static const char *const stocks[] = {"do you have", "do you sell", "do you carry", "do you stock", "have you got",
                                         "got any", "do you do", "you guys have", "you guys sell", NULL};
    /* ...a thing, not a service of the shop's ("a loyalty program",
     * "student discounts", "do you sell internationally") */
    static const char *const services[] = {
        "program", "programme", "scheme", "discount", "discounts", "deal", "deals", "policy", "service", "services",
        "app", "account", "membership", "rewards", "points", "plan", "plans", "club", "newsletter", "subscription",
        "internationally", "abroad", "overseas", "worldwide", "support", "chat", "phone number", "email", "store",
        "stores", "office", "warehouse", "hours", "sale", "sales", "offer", "offers", "coupon", "coupons", "code",
        "codes", "voucher", "vouchers", "refund", "refunds", "return", "returns", "exchange", "exchanges",
        "financing", "instalments", "installments", "student", "military", "senior", "price match", "wrapping",
        "gift wrap", "delivery", "shipping", "pickup", "collection", "insurance", "warranty", "guarantee",
        "trade in", "trade-in", "layaway", "catalogue", "catalog", "website", "site", NULL};
    const char *asked = eng__json_str(t->ctx, "message.text", "");
    if (strcmp(intent, "shop_question") == 0 && json_object_get_boolean(eng__json_path(t->ctx, "vars.knowledgeMiss")) &&
        eng__agent_has_word(asked, stocks) && !eng__agent_has_word(asked, services) && eng__store(t)) {
        json_object_object_del(eng__json_path(t->ctx, "vars"), "knowledgeMiss");
        eng__agent_read_as(t, "search_product");
        eng__turn_note(t, "asks whether a thing is sold, and the shop's text has nothing on it: the catalog");
        return eng__agent_product(c);
    }
    /* "what does delivery cost?" between the order question and the
     * answer to it: the question is still open */
    /* the delivery address the checkout asked for stays asked across a
     * message nobody could place ("regular delivery is fine") */
    if (strcmp(intent, "out_of_scope") != 0 ||
        strcmp(eng__json_str(t->ctx, "session.pending.type", ""), "checkout.address") == 0)
        eng__agent_keep_pending(t);
    return ENG_R_OK;
}
