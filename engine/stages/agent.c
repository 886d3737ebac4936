/* engine/stages/agent.c — the `agent` stage: one of the four commerce
 * agents (product, cart, order, support) chosen by `agent:`, with the
 * pipeline's business rules plus the agent's own `rules:`. Each agent
 * reads the intent, entities and session, asks the stores, and writes
 * results, cards and actions; the `action` stage then carries actions
 * out exactly once. */
#define _GNU_SOURCE /* strcasestr */
#include "agent_int.h"
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>


static const eng_field fields[] = {
    {"agent", ENG_F_STR, true, offsetof(agent_opts, agent), NULL, 0, 0, "product, cart, order or support"},
    {"rules", ENG_F_NODE, false, offsetof(agent_opts, rules_node), NULL, 0, 0,
     "Lua rules files: their price, promotion and veto hooks apply wherever the shop prices or changes a cart or order (after the pipeline's)"},
    {"page_size", ENG_F_INT, false, offsetof(agent_opts, page_size), "5", 1, 50, "product cards per answer"},
    {"confirm_orders", ENG_F_BOOL, false, offsetof(agent_opts, confirm_orders), "true", 0, 0,
     "ask the shopper to confirm before placing an order"},
    {"confirm_cancels", ENG_F_BOOL, false, offsetof(agent_opts, confirm_cancels), "true", 0, 0,
     "ask the shopper to confirm before cancelling an order (a cancellation refunds money)"},
    {"confirm_below", ENG_F_NUM, false, offsetof(agent_opts, confirm_below), "0", 0, 1,
     "a cart change (cart agent) or an order cancellation (order agent) understood with less confidence than "
     "this is asked, not done"},
    {NULL, 0, false, 0, NULL, 0, 0, NULL},
};

static const struct {
    const char *name;
    agent_fn fn;
} agents[] = {
    {"product", eng__agent_product},
    {"cart", eng__agent_cart},
    {"order", eng__agent_order},
    {"support", eng__agent_support},
};

static int create(eng_stage *st, eng_build *b)
{
    agent_opts *o = st->opts;
    for (size_t i = 0; i < sizeof agents / sizeof *agents; i++)
        if (strcmp(o->agent, agents[i].name) == 0) {
            st->data = (void *)agents[i].fn;
            return o->rules_node ? eng__rules_load(b, o->rules_node, &o->rules) : 0;
        }
    eng__build_error(b, eng__build_key_node(b, "agent"),
                     "unknown agent \"%s\" (use product, cart, order or support)", o->agent);
    return ENG_ECONFIG;
}

static bool from_last_turn(eng_turn *t, json_object *o);
static void merge_adds(eng_turn *t, json_object *old);
static bool adds_asked_product(eng_turn *t, json_object *asked);

static eng_result run(const eng_stage *st, eng_turn *t)
{
    agent_fn fn = (agent_fn)st->data;
    /* a question is answered by the very next message or not at all:
     * anything else the shopper says drops it (asking to check out again
     * keeps the order's own question) */
    const char *intent = eng__pool_strdup(t->pool, eng__agent_intent(t));
    json_object *pend = eng__json_path(t->ctx, "session.pending");
    /* a copy: the reread table may drop a stale question (and free it) */
    const char *ptype = eng__pool_strdup(t->pool, eng__json_str(pend, "type", ""));
    if (strcmp(ptype, "order.cancel") == 0 && intent && strcmp(intent, "confirm") != 0 &&
        strcmp(intent, "deny") != 0 && fn != eng__agent_order) {
        const char *said = eng__json_str(t->ctx, "message.text", "");
        while (*said == ' ')
            said++;
        size_t w = 0;
        while (isalpha((unsigned char)said[w]))
            w++;
        if (said[w] && eng__agent_word_in(said, w, (const char *const[]){"no", "nope", "nah", "naw", NULL})) {
            /* "nope, the other one" to "Shall I cancel order #1?": a no,
             * for the order agent (which asks about the order named) */
            intent = eng__pool_strdup(t->pool, eng__agent_read_as(t, "deny"));
            fn = eng__agent_order;
            eng__turn_note(t, "opens with a no while a cancel is asked: the order agent's no");
        } else if (eng__agent_names_ordered(t)) {
            /* "actually the wok one" to "Shall I cancel order #1?": the
             * order that holds the wok is asked about instead */
            intent = eng__pool_strdup(t->pool, eng__agent_read_as(t, "cancel_order"));
            fn = eng__agent_order;
            eng__turn_note(t, "names what another order holds while a cancel is asked: that order, asked");
        }
    }
    if (strcmp(ptype, "checkout.address") == 0 && intent && strcmp(intent, "confirm") != 0 &&
        eng__agent_keeps_saved_address(eng__json_str(t->ctx, "message.text", ""))) {
        /* "no, use my normal address" while a new one is asked: the
         * order agent's no, back to the saved address */
        intent = eng__pool_strdup(t->pool, eng__agent_read_as(t, "deny"));
        fn = eng__agent_order;
        eng__turn_note(t, "the saved address asked for while a new one waits: read as no");
    }
    bool to_checkout = intent && (strcmp(intent, "checkout") == 0 || strcmp(intent, "place_order") == 0);
    /* the delivery address the chat checkout asked for: its parts
     * (slots.address) or asking to check out again keep the question */
    bool address_kept = (strcmp(ptype, "checkout.address") == 0 &&
                         (to_checkout || eng__json_path(t->ctx, "slots.address"))) ||
                        /* another address said at the summary */
                        (strcmp(ptype, "order.create") == 0 && eng__json_path(t->ctx, "slots.newAddress"));
    bool drop = intent && pend && strcmp(intent, "confirm") != 0 && strcmp(intent, "deny") != 0 &&
                !(to_checkout && strcmp(ptype, "order.create") == 0) && !address_kept &&
                strcmp(eng__json_str(pend, "id", ""), eng__json_str(t->ctx, "message.id", "")) != 0;
    /* ...except an answer of the agent's own that keeps it
     * (eng__agent_keep_pending: "what does delivery cost?" first) */
    bool may_keep = fn == eng__agent_support || (intent && strcmp(intent, "product_details") == 0) ||
                    /* "how much is express again" while the address waits */
                    (intent && strcmp(intent, "view_cart") == 0) ||
                    /* "checkout" with nothing in the cart but an add asked */
                    (to_checkout && strncmp(ptype, "cart.", 5) == 0) ||
                    /* "sure, add it" answers "shall I add the dior?" */
                    (intent && strcmp(intent, "add_to_cart") == 0 && strcmp(ptype, "cart.add") == 0) ||
                    (intent && strcmp(intent, "remove_from_cart") == 0 && strcmp(ptype, "cart.remove") == 0) ||
                    /* "wait, use WELCOME5" at the summary: asked again
                     * if the code changes nothing (the action stage drops
                     * it when the code changes the total) */
                    (strcmp(ptype, "order.create") == 0 &&
                     ((intent && strcmp(intent, "apply_promo") == 0) ||
                      eng__agent_code_request(eng__json_str(t->ctx, "message.text", ""))));
    const agent_call call = {t, st->opts};
    eng_result r;
    /* a reading the message itself puts right ("nuke my trolley" read as
     * a search): agent_reread.c, one table */
    if (eng__agent_reread(&call, fn, &r))
        return r;
    if (eng__json_path(t->ctx, "session.pending") != pend) {
        /* dropped as stale while the message was read again */
        pend = eng__json_path(t->ctx, "session.pending");
        ptype = eng__pool_strdup(t->pool, eng__json_str(pend, "type", ""));
        drop = drop && pend;
    }
    /* the order's question or the address asked for, held while another
     * agent answers: a question the shop's text answers ("yes but gift
     * wrapped", "do you gift wrap") keeps it asked, whoever read it first */
    bool checkout_q = strcmp(ptype, "order.create") == 0 || strcmp(ptype, "checkout.address") == 0;
    json_object *held = drop && checkout_q ? json_object_get(pend) : NULL;
    /* an add asked and not answered, then another add: both asked */
    json_object *asked_add = pend && strcmp(ptype, "cart.add") == 0 && from_last_turn(t, pend) &&
                                     !eng__json_path(pend, "replaces")
                                 ? json_object_get(pend)
                                 : NULL;
    if (drop && !may_keep) {
        /* the summary asked about no longer holds once the cart changes:
         * the reply says so (formatter, vars.checkoutDropped) */
        if (strcmp(ptype, "order.create") == 0)
            eng__set_var(t, "orderQuestionDropped", json_object_new_boolean(1));
        eng__set_var(t, "questionDroppedType", json_object_new_string(ptype));
        json_object_object_del(eng__session(t), "pending");
        eng__set_var(t, "questionDropped", json_object_new_boolean(1));
    }
    r = fn(&call);
    if (asked_add) {
        merge_adds(t, asked_add);
        /* "add 5 plates" done while "the Fork and the Spoon?" waits: that
         * question is asked again, not dropped without a word */
        if (eng__json_path(t->ctx, "session.pending") == asked_add && !eng__json_path(t->ctx, "vars.stillPending") &&
            strcmp(eng__agent_intent(t), "add_to_cart") == 0) {
            /* "add 2 of it" to "shall I add the rolex?": that add is the
             * answer, made as said; the question is not asked again (a
             * yes to it would add the rolex a second time) */
            if (adds_asked_product(t, asked_add)) {
                json_object_object_del(eng__session(t), "pending");
                eng__turn_note(t, "the product asked about added as said: the question answered");
            } else {
                eng__agent_keep_pending(t);
            }
        }
        json_object_put(asked_add);
    }
    json_object *now = eng__json_path(t->ctx, "session.pending");
    json_object *acts = eng__json_path(t->ctx, "actions");
    if (held && eng__json_path(t->ctx, "vars.topic") && (!now || now == pend) &&
        !eng__json_path(t->ctx, "vars.stillPending") && !(acts && json_object_array_length(acts) > 0) &&
        strcmp(eng__agent_intent(t), "out_of_scope") != 0) {
        if (!now)
            json_object_object_add(eng__session(t), "pending", json_object_get(held));
        json_object_object_del(eng__json_path(t->ctx, "vars"), "orderQuestionDropped");
        json_object_object_del(eng__json_path(t->ctx, "vars"), "questionDropped");
        eng__agent_keep_pending(t);
    }
    json_object_put(held);
    if (drop && may_keep && !eng__json_path(t->ctx, "vars.stillPending") &&
        eng__json_path(t->ctx, "session.pending") == pend) {
        json_object_object_del(eng__session(t), "pending");
        eng__set_var(t, "questionDropped", json_object_new_boolean(1));
    }
    return r;
}

const char *eng__agent_intent(eng_turn *t) { return eng__json_str(t->ctx, "intent.name", ""); }

const char *eng__agent_read_as(eng_turn *t, const char *name)
{
    json_object *in = eng__json_path(t->ctx, "intent");
    if (!in)
        return "";
    /* copied before the name it may point at is replaced */
    if (!eng__json_path(in, "classified"))
        ENG_JADD(in, "classified", json_object_new_string(eng__agent_intent(t)));
    ENG_JADD(in, "name", json_object_new_string(name));
    return eng__agent_intent(t);
}


const char *eng__agent_past_verb(const char *text, const char *const *verbs)
{
    const char *s = eng__agent_past_courtesy(text);
    for (size_t i = 0; verbs[i]; i++)
        if (strncasecmp(s, verbs[i], strlen(verbs[i])) == 0)
            return s + strlen(verbs[i]);
    return NULL;
}

bool eng__agent_says_idiom(const char *text)
{
    static const char *const idioms[] = {"drop me", "drop by", "drop in on", "drop a line", "remove any doubt",
                                         "remove all doubt", "take it easy", "take care", "take your time",
                                         "clear something up", "clear up", "clear things up", "clear this up",
                                         "clear that up", "clear my schedule", "clear my head", "double check",
                                         "double-check", "empty promises", "empty handed", "empty-handed",
                                         "add to that", "to add to", "put simply", "put it simply",
                                         "put another way", "take it from here", "take it from there",
                                         "take it up with", NULL};
    return eng__agent_has_word(text, idioms);
}

const char *eng__agent_past_courtesy(const char *s)
{
    static const char *const lead[] = {"can you ", "could you ", "would you ", "will you ", "can u ", "could u ",
                                       "pls ", "plz ", "please ", "ok ", "okay ", "and ", "also ", "now ", "just ",
                                       "oh ", "hmm ", "actually ", "so ", "right ", "kindly ", "ideally ",
                                       "preferably ", "maybe ", "perhaps ", "but ", "really ", NULL};
    for (bool again = true; again;) {
        again = false;
        for (size_t i = 0; lead[i] && !again; i++)
            if (strncasecmp(s, lead[i], strlen(lead[i])) == 0)
                s += strlen(lead[i]), again = true;
        while (*s == ' ' || *s == ',')
            s++;
    }
    return s;
}

/* Whether an offer word of `text` ("discounts") is said of a kind of
 * offer the words before it narrow ("student discounts", "bulk deals"):
 * the word before it is none of the words that only ask. */
static bool offer_narrowed(const char *text, const char *const *offers)
{
    static const char *const asking[] = {"any", "some", "the", "your", "got", "on", "what", "which", "are",
                                         "is", "there", "have", "you", "current", "latest", "special", "good",
                                         "big", "great", "best", "todays", "today's", "weekly", "new", "of",
                                         "for", "ur", "u", "get", NULL};
    char prev[32] = "";
    for (const char *p = text; *p;) {
        while (*p && !isalnum((unsigned char)*p) && *p != '\'')
            p++;
        const char *w = p;
        while (*p && (isalnum((unsigned char)*p) || *p == '\''))
            p++;
        size_t n = (size_t)(p - w);
        if (!n)
            continue;
        if (eng__agent_word_in(w, n, offers) && prev[0] && !eng__agent_word_in(prev, strlen(prev), asking))
            return true;
        snprintf(prev, sizeof prev, "%.*s", (int)(n < sizeof prev ? n : sizeof prev - 1), w);
    }
    return false;
}

bool eng__agent_asks_offers(eng_turn *t)
{
    static const char *const offers[] = {"deals", "deal", "offers", "discounts", "specials", "bargains",
                                         "promotions", "promos", "on sale", "sales", "special offers", "reduced",
                                         "clearance", "markdowns", NULL};
    static const char *const one_word[] = {"deals", "deal", "offers", "discounts", "discount", "specials",
                                           "bargains", "promotions", "promos", "sales", NULL};
    /* "which discounts have i got" asks after the cart's own */
    static const char *const mine[] = {"have i got", "do i have", "did i get", "am i getting", "i've got",
                                       "ive got", "my", "applied", NULL};
    const char *text = eng__json_str(t->ctx, "message.text", "");
    return eng__agent_has_word(text, offers) && !eng__agent_has_word(text, mine) &&
           !offer_narrowed(text, one_word) &&
           json_object_get_int(eng__json_path(t->ctx, "understanding.known")) == 0 &&
           !eng__agent_names_brand_or_kind(t);
}

bool eng__agent_names_brand_or_kind(eng_turn *t)
{
    json_object *ents = eng__json_path(t->ctx, "entities");
    for (size_t i = 0; ents && i < json_object_array_length(ents); i++) {
        json_object *e = json_object_array_get_idx(ents, i);
        const char *type = eng__json_str(e, "type", "");
        if ((strcmp(type, "brand") == 0 || strcmp(type, "category") == 0) &&
            !json_object_get_boolean(eng__json_path(e, "negated")))
            return true;
    }
    return eng__json_str(t->ctx, "understanding.category", NULL) != NULL;
}

bool eng__agent_only_words(const char *text, const char *const *allowed, const char *const *also)
{
    for (const char *p = text; *p;) {
        while (*p && !isalnum((unsigned char)*p))
            p++;
        const char *w = p;
        while (*p && isalnum((unsigned char)*p))
            p++;
        size_t n = (size_t)(p - w);
        if (!n)
            break;
        bool known = false;
        for (const char *const *l = allowed; l && *l && !known; l++)
            known = strlen(*l) == n && strncasecmp(*l, w, n) == 0;
        for (const char *const *l = also; l && *l && !known; l++)
            known = strlen(*l) == n && strncasecmp(*l, w, n) == 0;
        if (!known)
            return false;
    }
    return true;
}

/* The agents ask of one message a few hundred times per turn whether it
 * holds a word of some list (eng__agent_has_word). A match starts where
 * a word of the message starts, so the message's word starts are
 * indexed once (the first two characters of each, case aside) and a
 * listed word whose first two cannot start any of them is passed over
 * without a scan. One index per thread, kept while the message is the
 * same text. */
#define HW_MAX 512
#define HW_SYM 37   /* a-z, 0-9, anything else */
typedef struct hw_index {
    size_t len;
    char text[HW_MAX];
    uint8_t first[(HW_SYM + 7) / 8];
    uint8_t pair[(HW_SYM * HW_SYM + 7) / 8];
} hw_index;

static int hw_sym(unsigned char c)
{
    c = (unsigned char)tolower(c);
    return c >= 'a' && c <= 'z' ? c - 'a' : c >= '0' && c <= '9' ? 26 + (c - '0') : 36;
}

static const hw_index *hw_index_of(const char *text, size_t len)
{
    static __thread hw_index ix;
    if (ix.len == len && memcmp(ix.text, text, len) == 0)
        return &ix;
    memset(&ix, 0, sizeof ix);
    memcpy(ix.text, text, len);
    ix.len = len;
    for (size_t i = 0; i < len; i++) {
        if (!isalnum((unsigned char)text[i]) || (i > 0 && isalnum((unsigned char)text[i - 1])))
            continue;
        int a = hw_sym((unsigned char)text[i]), b = hw_sym((unsigned char)text[i + 1]);
        ix.first[a / 8] |= (uint8_t)(1u << (a % 8));
        ix.pair[(a * HW_SYM + b) / 8] |= (uint8_t)(1u << ((a * HW_SYM + b) % 8));
    }
    return &ix;
}

/* Whether `w` may start at a word start of the message indexed. */
static bool hw_may_start(const hw_index *ix, const char *w)
{
    if (!isalnum((unsigned char)w[0]))
        return true;   /* "'em", "$": no index of such starts */
    int a = hw_sym((unsigned char)w[0]);
    if (!(ix->first[a / 8] & (1u << (a % 8))))
        return false;
    if (!w[1])
        return true;
    int b = hw_sym((unsigned char)w[1]);
    return (ix->pair[(a * HW_SYM + b) / 8] & (1u << ((a * HW_SYM + b) % 8))) != 0;
}

bool eng__agent_has_word(const char *text, const char *const *words)
{
    size_t len = strlen(text);
    const hw_index *ix = len < HW_MAX ? hw_index_of(text, len) : NULL;
    for (size_t i = 0; words[i]; i++) {
        if (ix && !hw_may_start(ix, words[i]))
            continue;
        size_t n = strlen(words[i]);
        for (const char *p = strcasestr(text, words[i]); p; p = strcasestr(p + 1, words[i]))
            if ((p == text || !isalnum((unsigned char)p[-1])) && !isalnum((unsigned char)p[n]))
                return true;
    }
    return false;
}

bool eng__agent_points_at_shown(eng_turn *t)
{
    json_object *ents = eng__json_path(t->ctx, "entities");
    for (size_t i = 0; ents && i < json_object_array_length(ents); i++) {
        json_object *e = json_object_array_get_idx(ents, i);
        if (strcmp(eng__json_str(e, "type", ""), "reference") == 0 &&
            strcmp(eng__json_str(e, "kind", ""), "ordinal") == 0 && json_object_get_boolean(eng__json_path(e, "resolved")))
            return true;
    }
    return false;
}

bool eng__agent_bare_count(eng_turn *t)
{
    json_object *ents = eng__json_path(t->ctx, "entities");
    bool count = false;
    for (size_t i = 0; ents && i < json_object_array_length(ents); i++) {
        const char *type = eng__json_str(json_object_array_get_idx(ents, i), "type", "");
        if (strcmp(type, "quantity") != 0)
            return false;
        count = true;
    }
    json_object *shown = eng__json_path(t->ctx, "session.shown");
    bool any_shown = json_object_is_type(shown, json_type_array) && json_object_array_length(shown) > 0;
    if (!count || (!eng__json_path(t->ctx, "session.focus") && !any_shown))
        return false;
    char words[160];
    eng__agent_name_words(t, words, sizeof words);
    return words[0] == '\0';
}

/* Whether the entities hold a colour or a size and no product words
 * (category, brand, product type). */
static bool only_variant_named(eng_turn *t)
{
    json_object *ents = eng__json_path(t->ctx, "entities");
    bool variant = false;
    for (size_t i = 0; ents && i < json_object_array_length(ents); i++) {
        const char *type = eng__json_str(json_object_array_get_idx(ents, i), "type", "");
        if (strcmp(type, "color") == 0 || strcmp(type, "size") == 0)
            variant = true;
        else if (strcmp(type, "category") == 0 || strcmp(type, "brand") == 0 || strcmp(type, "product") == 0)
            return false;
    }
    return variant;
}

/* Whether some reference of the message points at a product shown. */
static bool resolved_ref(eng_turn *t)
{
    json_object *ents = eng__json_path(t->ctx, "entities");
    for (size_t i = 0; ents && i < json_object_array_length(ents); i++) {
        json_object *e = json_object_array_get_idx(ents, i);
        if (strcmp(eng__json_str(e, "type", ""), "reference") == 0 && eng__json_str(e, "sku", NULL))
            return true;
    }
    return false;
}

bool eng__agent_asks_variant(eng_turn *t)
{
    static const char *const cues[] = {"come in", "comes in", "available in", "have it in", "get it in",
                                       "have this in", "have that in", "one in", NULL};
    if (!(eng__json_str(t->ctx, "session.focus", NULL) || eng__agent_points_at_shown(t) || resolved_ref(t)) ||
        !eng__agent_has_word(eng__json_str(t->ctx, "message.text", ""), cues))
        return false;
    return only_variant_named(t);
}

bool eng__agent_asks_list_variant(eng_turn *t)
{
    static const char *const cues[] = {"come in", "comes in", "available in", "any in", "have them in",
                                       "got them in", "have those in", "have these in", "get them in",
                                       "any of them in", "any of those in", "any of these in", "ones in",
                                       "in a size", "in size",
                                       /* "do you have it in pink" of a list, no one product in focus */
                                       "have it in", "got it in", "get it in", "do it in", NULL};
    json_object *shown = eng__json_path(t->ctx, "session.shown");
    const char *text = eng__json_str(t->ctx, "message.text", "");
    while (*text == ' ')
        text++;
    /* "in medium?", "and in blue": the list in that size or colour */
    bool bare = strncasecmp(text, "in ", 3) == 0 || strncasecmp(text, "and in ", 7) == 0 ||
                strncasecmp(text, "what about in ", 14) == 0 || strncasecmp(text, "how about in ", 13) == 0;
    return eng__json_path(t->ctx, "session.lastQuery") && shown && json_object_array_length(shown) > 0 &&
           (bare || eng__agent_has_word(text, cues)) && only_variant_named(t) &&
           !eng__agent_points_at_shown(t);   /* "is the fourth available in medium": that one */
}

bool eng__agent_asks_opinion(eng_turn *t)
{
    static const char *const cues[] = {"any good", "worth it", "worth the money", "worth buying", "reviews",
                                       "review", "rating", "ratings", "rated", "decent", "good quality",
                                       "reliable", "people think", "people say", "people like", NULL};
    static const char *const points[] = {"it", "its", "it's", "that", "this", "they", "them", "those", "these",
                                         "one", NULL};
    const char *text = eng__json_str(t->ctx, "message.text", "");
    return eng__json_str(t->ctx, "session.focus", NULL) && eng__agent_has_word(text, cues) &&
           eng__agent_has_word(text, points);
}

static bool from_last_turn(eng_turn *t, json_object *o);

bool eng__agent_picks_delivery(eng_turn *t)
{
    const char *last = eng__json_str(t->ctx, "session.lastIntent", "");
    const char *text = eng__json_str(t->ctx, "message.text", "");
    /* right after the summary, or while its question still waits past a
     * question of the shopper's ("whats the cheapest shipping") */
    json_object *pend = eng__json_path(eng__session(t), "pending");
    bool asked = pend && strcmp(eng__json_str(pend, "type", ""), "order.create") == 0 && from_last_turn(t, pend);
    if (!asked && strcmp(last, "checkout") != 0 && strcmp(last, "place_order") != 0 && strcmp(last, "view_cart") != 0)
        return false;
    /* the last clause: "hmm that's a lot, go back to standard" */
    const char *clause = text;
    for (const char *p = text; *p; p++)
        if ((*p == ',' || *p == ';' || *p == '.' || *p == '!') && p[1 + strspn(p + 1, " .!")])
            clause = p + 1;
    int words = 0;
    for (const char *p = clause; *p; p++)
        words += isalpha((unsigned char)*p) && (p == clause || !isalpha((unsigned char)p[-1]));
    return (words <= 5 || (words <= 8 && !eng__agent_is_question(clause))) && eng__delivery_named(t, clause) != NULL;
}

static bool is_filler(const char *w, size_t n);

bool eng__agent_names_part_of_focus(eng_turn *t)
{
    const char *text = eng__json_str(t->ctx, "message.text", "");
    const char *focus = eng__json_str(t->ctx, "session.focus", NULL);
    json_object *named = eng__json_path(t->ctx, "understanding.named");
    if (!focus || !json_object_is_type(named, json_type_array) || json_object_array_length(named) == 0 ||
        eng__json_path(t->ctx, "understanding.category") || eng__agent_names_brand_or_kind(t) ||
        !eng__agent_is_question(text) ||
        !eng__agent_has_word(text, (const char *const[]){"the", "its", "it's", NULL}) ||
        eng__agent_has_word(text, (const char *const[]){"you", "your", "delivery", "shipping", "order", "refund",
                                                         "return", "warranty", "cart", "basket", NULL}) ||
        /* "what about the whisk", "how about the silver pot": another
         * product, not a part of this one */
        eng__agent_past_verb(text, (const char *const[]){"what about ", "how about ", "what abt ", "and what about ",
                                                         "and how about ", NULL}))
        return false;
    /* a word that some other product shown is named by points at that
     * one ("is the charger any good" with a charger listed) */
    json_object *shown = eng__json_path(t->ctx, "session.shown");
    for (size_t i = 0; i < json_object_array_length(named); i++) {
        const char *w = json_object_get_string(json_object_array_get_idx(named, i));
        for (size_t k = 0; w && json_object_is_type(shown, json_type_array) && k < json_object_array_length(shown);
             k++) {
            json_object *e = json_object_array_get_idx(shown, k);
            if (strcmp(eng__json_str(e, "sku", ""), focus) != 0 &&
                eng__agent_word_fits(w, strlen(w), eng__json_str(e, "title", ""), false))
                return false;
        }
    }
    return true;
}

bool eng__agent_asks_about_focus(eng_turn *t, char *words, size_t cap)
{
    static const char *const opens[] = {"is", "does", "do", "can", "will", "has", "are", "would", "could",
                                        "what's", "whats", "what", "how", NULL};
    static const char *const points[] = {"it", "this", "that", "they", "them", "these", "those", "one", NULL};
    const char *text = eng__json_str(t->ctx, "message.text", "");
    if (!eng__json_str(t->ctx, "session.focus", NULL))
        return false;
    /* "how much is it", "how many are left": the price and the stock,
     * answered elsewhere */
    static const char *const counted[] = {"how much", "how many", "what price", "what's the price", NULL};
    if (eng__agent_has_word(text, counted))
        return false;
    /* "how long does the battery last": "the" and words that name nothing
     * the shop sells are a part of it */
    json_object *named = eng__json_path(t->ctx, "understanding.named");
    bool part = (eng__agent_has_word(text, (const char *const[]){"the", NULL}) &&
                 json_object_is_type(named, json_type_array) && json_object_array_length(named) == 0 &&
                 !eng__agent_has_word(text, (const char *const[]){"you", "your", "delivery", "shipping", "order",
                                                                   "refund", "return", "warranty", NULL})) ||
                /* "how long does the battery last" with a battery pack sold */
                eng__agent_names_part_of_focus(t);
    char w[32];
    int k = 0, pointed = 0;
    size_t o = 0;
    words[0] = '\0';
    for (const char *p = text; *p && k < 24;) {
        while (*p && !isalnum((unsigned char)*p))
            p++;
        size_t n = 0;
        while (p[n] && (isalnum((unsigned char)p[n]) || p[n] == '\''))
            n++;
        if (!n)
            break;
        snprintf(w, sizeof w, "%.*s", (int)(n < sizeof w ? n : sizeof w - 1), p);
        bool open = false, point = false;
        for (size_t i = 0; opens[i] && !open; i++)
            open = strcasecmp(w, opens[i]) == 0;
        for (size_t i = 0; points[i] && !point; i++)
            point = strcasecmp(w, points[i]) == 0;
        if (k == 0 && !open)
            return false;
        if (point && k <= 2)
            pointed = 1;
        else if (k > 0 && !open && !point && !is_filler(w, strlen(w)) && o + n + 2 < cap &&
                 !(k == 1 && strcasecmp(w, "long") == 0)) {   /* "how long does it last" */
            o += (size_t)snprintf(words + o, cap - o, "%s%s", o ? " " : "", w);
        }
        p += n;
        k++;
    }
    if (!pointed && part && o > 0)
        eng__set_var(t, "aboutPart", json_object_new_boolean(1));   /* the kb's words may not answer it */
    return (pointed || part) && o > 0;
}

bool eng__agent_is_question(const char *text)
{
    static const char *const asks[] = {"can", "could", "how", "what", "is", "do", "does", "will", "would", "when",
                                       "why", "if", "may", "should", "which", "did", "was", "were", "are", "where",
                                       NULL};
    if (strchr(text, '?'))
        return true;
    while (*text == ' ')
        text++;
    for (size_t i = 0; asks[i]; i++) {
        size_t n = strlen(asks[i]);
        if (strncasecmp(text, asks[i], n) == 0 && !isalpha((unsigned char)text[n]))
            return true;
    }
    return false;
}

int eng__agent_hesitates(const char *text)
{
    static const char *const nah[] = {"yeah nah", "yea nah", "yeah no", "ya nah", "yes no", NULL};
    static const char *const wait[] = {"not sure", "unsure", "hold on", "hang on", "wait", "one sec", "a sec",
                                       "one second", "a second", "one moment", "a moment", "let me think",
                                       "think about it", "thinking", "maybe", "perhaps", "dunno", "don't know",
                                       "dont know", "idk", "not yet", "not now", "later", "i guess", "let me check",
                                       "let me see", "give me a", "undecided", "on the fence", NULL};
    static const char *const hums[] = {"hmm", "hmmm", "hmmmm", "hmmmmm", "hm", "umm", "ummm", "um", "uh", "uhh",
                                       "err", "erm", NULL};
    static const char *const sure[] = {"yes", "yeah", "yep", "yup", "sure", "go ahead", "do it", "place",
                                       "confirm", "definitely", "absolutely", "of course", "please", NULL};
    static const char *const open_end[] = {"so", "but", "and", "or", "um", "uh", "hmm", NULL};
    if (eng__agent_has_word(text, nah))
        return 2;
    if (eng__agent_has_word(text, wait))
        return 1;
    /* "hmm", "hmm ok", "umm well": a sound of doubt and nothing else
     * ("hmm only 3 actually" says a count) */
    static const char *const filler[] = {"ok", "okay", "well", "so", "right", "alright", "fine", "k", NULL};
    if (eng__agent_has_word(text, hums) && !eng__agent_has_word(text, sure) &&
        eng__agent_only_words(text, hums, filler))
        return 1;
    /* "ok so", "yes but": a sentence not finished */
    const char *end = text + strlen(text);
    while (end > text && (end[-1] == ' ' || end[-1] == '.' || end[-1] == ','))
        end--;
    const char *w = end;
    while (w > text && isalpha((unsigned char)w[-1]))
        w--;
    bool trailing_dots = strstr(text, "...") != NULL && end < text + strlen(text);
    for (size_t i = 0; open_end[i] && w > text; i++)
        if ((size_t)(end - w) == strlen(open_end[i]) && strncasecmp(w, open_end[i], (size_t)(end - w)) == 0)
            return 1;
    return trailing_dots ? 1 : 0;
}

int eng__agent_yes_and_more(const char *text)
{
    static const char *const plain[] = {
        "yes", "yeah", "yea", "yep", "yup", "ya", "y", "sure", "ok", "okay", "k", "alright", "right", "please",
        "pls", "plz", "thanks", "thank", "thx", "ty", "you", "go", "ahead", "place", "it", "the", "order",
        "do", "confirm", "confirmed", "that's", "thats", "that", "correct", "perfect", "great", "fine", "good",
        "sounds", "looks", "lets", "let's", "proceed", "buy", "absolutely", "definitely", "of", "course",
        "and", "now", "i", "would", "like", "to", "is", "all", "cool", "awesome", "sweet", "nice", "lovely",
        "ahead", "for", "me", "a", "go", "on", "then", "indeed", "certainly", "totally", "very", "much", "much.",
        "done", "deal", "yess", "yesss", "yas", "yessir", "affirmative", "im", "i'm", "ready", "want", "just",
        "so", "well", "oh", "ah", "pay", "purchase", "complete", "finish", "submit", "send", "through", "with",
        "card", "my", "saved", "visa", "same", "address", "as", "shown", "above", "is", "exactly", "it's",
        "its", "we", "good.", "love", "cheers", "mate", "one", "this", "s", "m", "ll", "d", "re", NULL};
    static const char *const takes[] = {"without", "remove", "take out", "take off", "minus", "drop", "except",
                                        "leave out", "leave off", "get rid", "but not", "not the", "no more",
                                        NULL};
    static const char *const adds[] = {"add", "also", "plus", "too", "as well", "and a", "and an", "and some",
                                       "throw in", "include", NULL};
    if (eng__agent_only_words(text, plain, NULL))
        return AGENT_YES_PLAIN;
    if (eng__agent_has_word(text, takes))
        return AGENT_YES_REMOVE;
    if (eng__agent_has_word(text, adds))
        return AGENT_YES_ADD;
    return AGENT_YES_OTHER;
}

bool eng__agent_names_other_payment(const char *text)
{
    static const char *const pays[] = {"paypal", "apple pay", "google pay", "cash", "mastercard", "amex",
                                       "american express", "other card", "different card", "another card",
                                       "new card", "debit card", "credit card", "bank transfer", "klarna",
                                       "afterpay", "crypto", "bitcoin", "gift card", "card ending", "wrong card",
                                       "husband's card", "husbands card", "wife's card", "wifes card",
                                       "partner's card", "two cards", "split it", "split the payment",
                                       "bill my", "bill me", "bill the", "bill it", "invoice", "invoice me",
                                       "company account", "business account", "company card", "corporate card",
                                       "business card", "work card", "purchase order", "pay later", "on delivery",
                                       "cod", "cheque", "venmo", "zelle", "installments", "instalments",
                                       "store credit", NULL};
    return eng__agent_has_word(text, pays);
}

bool eng__agent_bare_cancel(const char *text)
{
    /* no order, no number, a few words: "ugh cancel", "oh no cancel it" */
    static const char *const orders[] = {"order", "orders", "purchase", "purchases", "subscription", "account",
                                         "delivery", "shipment", "payment", NULL};
    size_t words = 0;
    for (const char *p = text; *p; p++)
        words += isalpha((unsigned char)*p) && (p == text || !isalpha((unsigned char)p[-1]));
    return words <= 5 && eng__agent_has_word(text, (const char *const[]){"cancel", NULL}) &&
           !eng__agent_has_word(text, orders) && !strpbrk(text, "#0123456789") && !eng__agent_is_question(text);
}

bool eng__agent_cancel_request(const char *text)
{
    static const char *const cancel[] = {"cancel it", "cancel that", "cancel my order", "cancel the order",
                                         "cancel this order", "cancel that order", "cancel my last order", NULL};
    static const char *const whole[] = {"order", "purchase", NULL};
    /* "actually cancel the whole order", "please cancel my entire purchase" */
    bool said = eng__agent_has_word(text, cancel) ||
                (eng__agent_has_word(text, (const char *const[]){"cancel", NULL}) &&
                 eng__agent_has_word(text, whole) &&
                 !eng__agent_has_word(text, (const char *const[]){"don't", "dont", "do not", "not", NULL}));
    return said && !eng__agent_is_question(text);
}

bool eng__agent_hop(eng_turn *t)
{
    /* the agents hand a message to each other when another reading fits
     * better; a turn never needs more than a few such hand-overs, so a
     * cycle between two of them (a bug) ends here instead of looping */
    int64_t hops = json_object_get_int64(eng__json_path(t->ctx, "vars.agentHops")) + 1;
    eng__set_var(t, "agentHops", json_object_new_int64(hops));
    if (hops <= 8)
        return true;
    eng__turn_note(t, "agents handed the message over %lld times: stopped", (long long)hops);
    return false;
}

eng_result eng__agent_delivery_pick(const agent_call *c)
{
    eng_turn *t = c->t;
    /* "go with standard then" while the checkout still waits for the
     * address or the order's yes: the checkout's choice, even after the
     * cart was shown in between */
    const char *ptype = eng__json_str(eng__json_path(t->ctx, "session.pending"), "type", "");
    bool in_checkout = strcmp(ptype, "checkout.address") == 0 || strcmp(ptype, "order.create") == 0;
    if (!in_checkout && strcmp(eng__json_str(t->ctx, "session.lastIntent", ""), "view_cart") == 0) {
        /* "and with express?" after the cart: its total with that option */
        eng__agent_read_as(t, "view_cart");
        eng__turn_note(t, "names a delivery option right after the cart: the cart with it");
        return eng__agent_cart(c);
    }
    eng__agent_read_as(t, "checkout");
    eng__turn_note(t, "names a delivery option right after the checkout: read as checkout");
    return eng__agent_order(c);
}

bool eng__agent_names_code(const char *text)
{
    static const char *const words[] = {"code", "codes", "coupon", "coupons", "voucher", "vouchers", "promo",
                                        "promo code", "discount code", NULL};
    return eng__agent_has_word(text, words);
}

/* ------------------------------------------------------------ targets
 * What the shopper points at. Nothing here guesses: a name that fits
 * several products, or nothing at all, comes back as such and the agent
 * asks. */

/* Words that never name a product in a cart or details request. */
static const char *const filler[] = {
    "a", "an", "the", "and", "or", "to", "of", "in", "into", "on", "from", "for", "with", "out", "off",
    "at", "by", "my", "your", "our", "me", "i", "im", "ll", "ve", "d", "m", "s", "t", "re", "it", "its",
    "that", "this", "these", "those", "them", "they", "one", "ones", "other", "another", "item", "items",
    "product", "products", "thing", "things", "piece", "pieces", "pcs", "unit", "units", "pair", "pairs",
    "bottle", "bottles", "jar", "jars", "tube", "tubes", "tin", "tins", "packet", "packets", "pack", "packs", "hold", "hang",
    "em", "'em", "total", "altogether", "overall", "lower", "raise", "boost",
    "wait", "before",
    "add", "added", "adding", "put", "buy", "take", "get", "grab", "want", "wanna", "need", "have", "having",
    "like", "would", "will", "could", "can", "should", "shall", "please", "pls", "plz", "thanks", "thank",
    "remove", "removing", "delete", "drop", "rid", "discard", "dont", "don", "do", "does", "did", "not",
    "no", "anymore", "any", "more", "less", "instead", "also", "too", "just", "only", "actually", "really",
    "change", "set", "make", "update", "modify", "adjust", "increase", "decrease", "reduce", "bump",
    "quantity", "qty", "amount", "number", "count", "cart", "basket", "trolley", "order", "ok",
    "okay", "alright", "allright", "right", "cool", "great", "fine", "perfect", "yes", "yeah", "yep", "sure", "hi", "hey", "hello", "is", "are", "was", "be", "am", "what", "whats",
    "which", "how", "about", "tell", "show", "see", "give", "describe", "details", "detail", "info",
    "information", "specs", "more", "much", "price", "cost", "costs", "rating", "rated", "review",
    "reviews", "stock", "available", "good", "nice", "compare", "comparison", "versus", "vs", "between",
    "difference", "better", "best", "cheaper", "cheapest", "first", "second", "third", "fourth", "fifth",
    "last", "next", "previous", "there", "here", "now", "then", "so", "all", "both", "some", "again",
    "let", "lets", "us", "we", "you", "he", "she", "him", "her", "same", "x", "times", "copies", "copy",
    "up", "down", "either", "neither", "well", "oh", "um", "uh", "hmm", "anything", "something", "kindly",
    "think", "guess", "maybe", "perhaps", "wait", "oops", "sorry", "mind", "keep", "leave", "lose",
    "winner", /* "add the winner" after a comparison: the one it picked */
    "lightest", "heaviest", "lighter", "heavier", /* "add the lightest one": the pick, in focus */
    "delivery", "shipping", "postage", /* "put it in with express delivery" */
    "forgot", "meant", "wanted", /* "oh no i forgot to add the lipstick" */
    "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "single", "dozen", "couple",
    /* the verbs shoppers put things in a cart with */
    "chuck", "pop", "stick", "throw", "toss", "stuff", "shove", "bung", "slap", "whack", "include", "purchase",
    "gimme", "lemme", "snag", "nab", "pick", "wanna", "gonna", "ill", "id", "as",
    /* chat around the request */
    "cheers", "mate", "ta", "lovely", "go", "would", "ya", "pal", "buddy", "honestly",
    "tbh", "tho", "though", "lol", "imo", "ngl", "btw", "haha", "hehe", "lmao", "tbf", "fewer",
    "few", "several", "handful", /* "add a few": a count not said, asked */
    /* and take them out with */
    "back", "away", "bin", "ditch", "scrap", "nix", "axe", "cancel", "undo", "scratch", "meant", "mean",
    "nah", "nope", "naw", "nvm", "whoops", "but", "yes", "yeah", "yep", "yup", "sure", "ok", "okay", "didn", "didnt", "mistake", "accident", "accidentally", "misclick",
    "double", "triple", "halve", "twice", "knock", "mine", "stack", "against", "compares", "compared",
    "revert", "reverse", "meant",
    /* what a product is worth: "is it worth the money", "any good?" */
    "worth", "money", "decent", "quality", "reliable", "people", "say", "opinion", "opinions",
    /* the facts of a listing asked about: "the warranty on the sofa" */
    "warranty", "guarantee", "policy", "return", "returns", "returnable", "refundable", "weigh", "weighs", "weight", "heavy",
    "dimensions", "dimension", "measurements", "ship", "ships", "shipping", "dispatch", "when", "soon", "quickly",
    /* "add it anyway" */
    "anyway", "anyways", "regardless",
    /* "what sizes does it come in" */
    "size", "sizes", "sizing", "come", "comes",
    /* "bring it up to 2" */
    "bring", "raise",
    /* the facts of a listing asked about: "the warranty on the sofa" */
    "warranty", "guarantee", "policy", "return", "returns", "returnable", "refundable", "weigh", "weighs", "weight", "heavy",
    "dimensions", "dimension", "measurements", "ship", "ships", "shipping", "dispatch", "when", "soon", "quickly",
    /* "on second thought scrap it", "changed my mind" */
    "thought", "thoughts", "changed", "reflection",
    NULL,
};

static bool is_filler(const char *w, size_t n)
{
    for (size_t i = 0; filler[i]; i++)
        if (strlen(filler[i]) == n && strncasecmp(filler[i], w, n) == 0)
            return true;
    return false;
}

const char *const eng__agent_people[] = {
    "sister", "brother", "mum", "mom", "mother", "dad", "father", "wife", "husband", "son", "daughter",
    "girlfriend", "boyfriend", "partner", "friend", "bestie", "grandma", "grandpa", "granny", "grandad", "nan",
    "aunt", "auntie", "uncle", "niece", "nephew", "cousin", "boss", "coworker", "colleague", "teacher", "kids",
    "children", "parents", "sis", "bro", "fiance", "fiancee", "family", "household", "everyone", "everybody",
    "friends", "guests", NULL,
};

/* Whether the word w (n bytes) is one of `list`, case aside. */
bool eng__agent_word_in(const char *w, size_t n, const char *const *list)
{
    for (size_t k = 0; list[k]; k++)
        if (strlen(list[k]) == n && strncasecmp(list[k], w, n) == 0)
            return true;
    return false;
}

/* After "for": "the whole family", "all the kids", "everyone": the bytes
 * of who it is for (determiners and a person of eng__agent_people), or 0
 * when the words are no person ("for the kitchen"). */
static size_t for_whom(const char *p)
{
    static const char *const dets[] = {"the", "whole", "all", "of", "us", "you", NULL};
    const char *q = p;
    for (int k = 0; k < 4; k++) {
        while (*q && !isalnum((unsigned char)*q))
            q++;
        const char *w = q;
        while (*q && isalnum((unsigned char)*q))
            q++;
        size_t wn = (size_t)(q - w);
        if (!wn)
            return 0;
        if (eng__agent_word_in(w, wn, eng__agent_people))
            return (size_t)(q - p);
        if (!eng__agent_word_in(w, wn, dets))
            return 0;
    }
    return 0;
}

void eng__agent_name_words(eng_turn *t, char *out, size_t n) { eng__agent_name_parts(t, out, n, false); }

void eng__agent_name_parts(eng_turn *t, char *out, size_t n, bool split)
{
    eng__agent_span_words(t, 0, SIZE_MAX, out, n, split);
}

/* Whether the word w (n bytes) of `buf` names a delivery option of the
 * shop said as one: after "with", "by", "via" or "for", or before
 * "shipping", "delivery", "post" or "postage". */
static bool delivery_word(eng_turn *t, const char *buf, const char *w, size_t n)
{
    char one[32];
    if (n >= sizeof one)
        return false;
    memcpy(one, w, n);
    one[n] = '\0';
    if (!eng__delivery_named(t, one))
        return false;
    const char *b = w;
    while (b > buf && b[-1] == ' ')
        b--;
    const char *a = b;
    while (a > buf && isalpha((unsigned char)a[-1]))
        a--;
    static const char *const before[] = {"with", "by", "via", "for", "use", "choose", "pick", NULL};
    static const char *const after[] = {"shipping", "delivery", "post", "postage", "please", NULL};
    if (b > a && eng__agent_word_in(a, (size_t)(b - a), before))
        return true;
    const char *c = w + n;
    while (*c == ' ')
        c++;
    size_t cn = 0;
    while (isalpha((unsigned char)c[cn]))
        cn++;
    return cn && eng__agent_word_in(c, cn, after);
}

static const char *first_word(const char *s)
{
    while (*s && !isalnum((unsigned char)*s))
        s++;
    return s;
}

/* "add a wok, oops i mean a spatula": where the words after the
 * message's last correction start (0: none). */
static size_t corrected_from(const char *text)
{
    static const char *const marks[] = {"oops i mean", "oops i meant", "sorry i mean", "sorry i meant", "i mean",
                                        "i meant", "no wait", "wait no", "scratch that", "make that", "oops",
                                        "sorry", "or rather", NULL};
    size_t at = 0;
    for (size_t i = 0; marks[i]; i++) {
        size_t k = strlen(marks[i]);
        for (const char *p = strcasestr(text, marks[i]); p; p = strcasestr(p + 1, marks[i]))
            if (p > text && !isalnum((unsigned char)p[-1]) && !isalnum((unsigned char)p[k]) &&
                (size_t)(p - text) + k > at)
                at = (size_t)(p - text) + k;
    }
    return at;
}

void eng__agent_span_words(eng_turn *t, size_t from, size_t to, char *out, size_t n, bool split)
{
    const char *text = eng__json_str(t->ctx, "message.text", "");
    size_t len = strlen(text);
    /* "add a wok, oops i mean a spatula": only what is named after the
     * correction, when it names something */
    size_t fixed = from == 0 && to == SIZE_MAX ? corrected_from(text) : 0;
    if (fixed > 0 && fixed < len) {
        eng__agent_span_words(t, fixed, to, out, n, split);
        if (n && out[0] && out[0] != '|')
            return;
    }
    char buf[512];
    if (len >= sizeof buf)
        len = sizeof buf - 1;
    memcpy(buf, text, len);
    buf[len] = '\0';
    /* only the words of [from, to) */
    if (from > len)
        from = len;
    memset(buf, ' ', from);
    if (to < len)
        buf[to] = '\0';
    /* quantities, references, prices and order numbers are not names */
    json_object *ents = eng__json_path(t->ctx, "entities");
    for (size_t i = 0; ents && i < json_object_array_length(ents); i++) {
        json_object *e = json_object_array_get_idx(ents, i);
        static const char *const masked[] = {"quantity", "reference", "excluded_reference", "corrected_quantity",
                                             "money", "order_number", "email", NULL};
        const char *type = eng__json_str(e, "type", "");
        bool m = false;
        for (size_t k = 0; masked[k] && !m; k++)
            m = strcmp(type, masked[k]) == 0;
        int64_t s = json_object_get_int64(eng__json_path(e, "start"));
        int64_t en = json_object_get_int64(eng__json_path(e, "end"));
        /* "add it in large", "the shirt in medium": the size asked for, no
         * word of the product's name (a colour may be: "Red Lipstick") */
        if (!m && strcmp(type, "size") == 0 && s >= 3 && (size_t)s <= len &&
            strncasecmp(text + s - 3, "in ", 3) == 0 && (s == 3 || !isalnum((unsigned char)text[s - 4])))
            m = true;
        if (m && s >= 0 && en > s && (size_t)en <= len)
            memset(buf + s, ' ', (size_t)(en - s));
    }
    size_t o = 0;
    const char *p = buf;
    const char *prev = NULL;
    size_t prevn = 0;
    if (n)
        out[0] = '\0';
    while (*p) {
        bool comma = false;
        while (*p && !isalnum((unsigned char)*p))
            comma |= *p++ == ',';
        /* "the kiwi, the lemon and 3 apples": a comma joins too */
        if (comma && split && o && out[o - 1] != '|' && o + 2 < n) {
            out[o++] = '|';
            out[o] = '\0';
        }
        const char *w = p;
        bool letter = false, digit = false;
        while (*p && isalnum((unsigned char)*p)) {
            letter |= isalpha((unsigned char)*p) != 0;
            digit |= isdigit((unsigned char)*p) != 0;
            p++;
        }
        size_t wn = (size_t)(p - w);
        if (!wn)
            continue;
        /* "one for my brother", "for her mum": who it is for, not what */
        static const char *const owners[] = {"my", "his", "her", "our", "their", "your", NULL};
        bool owner = false;
        for (size_t k = 0; owners[k] && !owner; k++)
            owner = strlen(owners[k]) == wn && strncasecmp(owners[k], w, wn) == 0;
        if (owner && prev && prevn == 3 && strncasecmp(prev, "for", 3) == 0) {
            prev = w, prevn = wn;
            while (*p && !isalnum((unsigned char)*p))
                p++;
            while (*p && isalnum((unsigned char)*p))
                p++;   /* the person: "brother", "mum" */
            continue;
        }
        /* "three for the whole family", "one for everyone" */
        size_t whom = prev && prevn == 3 && strncasecmp(prev, "for", 3) == 0 ? for_whom(w) : 0;
        if (whom) {
            p = w + whom;
            prev = NULL, prevn = 0;
            continue;
        }
        /* "my bag" is the cart; "the leather bag" a product */
        bool cartword = wn == 3 && strncasecmp(w, "bag", 3) == 0 && prev &&
                        ((prevn == 2 && strncasecmp(prev, "my", 2) == 0) ||
                         (prevn == 4 && strncasecmp(prev, "your", 4) == 0) ||
                         (prevn == 3 && strncasecmp(prev, "the", 3) == 0 && !*p));
        prev = w, prevn = wn;
        static const char *const joins[] = {"and", "or", "vs", "versus", "with", "to", "than", NULL};
        bool join = false;
        for (size_t k = 0; split && joins[k] && !join; k++)
            join = strlen(joins[k]) == wn && strncasecmp(joins[k], w, wn) == 0;
        /* "the wok plus a spatula" (not the Echo Plus): "plus" before
         * an article or a count joins too, and names nothing */
        if (!join && wn == 4 && strncasecmp(w, "plus", 4) == 0) {
            const char *nx = p;
            while (*nx == ' ')
                nx++;
            size_t nn = 0;
            while (isalnum((unsigned char)nx[nn]))
                nn++;
            static const char *const leads[] = {"a", "an", "the", "some", "one", "two", "three", "four", "five",
                                                "another", "also", NULL};
            if (nn && (isdigit((unsigned char)*nx) || eng__agent_word_in(nx, nn, leads))) {
                if (split && o && out[o - 1] != '|' && o + 2 < n) {
                    out[o++] = '|';
                    out[o] = '\0';
                }
                continue;
            }
        }
        if (join && o && out[o - 1] != '|' && o + 2 < n) {
            out[o++] = '|';
            out[o] = '\0';
            continue;
        }
        /* a model number right after a name: "the iphone 6", "galaxy s8" */
        bool model = !letter && digit && o && out[o - 1] != '|' && w > buf && w[-1] == ' ' && w - buf >= 2 &&
                     isalpha((unsigned char)w[-2]);
        /* a model letter right after a name: "the iphone x" (not "a",
         * "i", "u" or a size: "the shoes in m") */
        const char *next = p;
        while (*next == ' ')
            next++;
        bool model_letter = wn == 1 && letter && o && out[o - 1] != '|' && w > buf && w[-1] == ' ' &&
                            !strchr("aiusmltdAIUSMLTD", w[0]) &&
                            !isdigit((unsigned char)*next);   /* "lipstick x 2": times */
        if ((!letter && !model) || (wn == 1 && !digit && !model_letter) || cartword ||
            (!model_letter && is_filler(w, wn)))
            continue;
        /* "add it with express", "express shipping please": a delivery
         * option of the shop, no product's name (Fashion Express) */
        if (delivery_word(t, buf, w, wn))
            continue;
        /* "plus another one for my mum": opening a message, "plus" joins
         * it to the last (the Echo Plus is named after another word) */
        if (wn == 4 && strncasecmp(w, "plus", 4) == 0 && w == first_word(buf))
            continue;
        if (o + wn + 2 >= n)
            break;
        if (o && out[o - 1] != '|')
            out[o++] = ' ';
        for (size_t i = 0; i < wn; i++)
            out[o++] = (char)tolower((unsigned char)w[i]);
        out[o] = '\0';
    }
}

/* a word without a plural ending: "lemons" -> "lemon", "glasses" -> "glass" */
static size_t stem(const char *w, size_t n)
{
    if (n > 4 && (strncasecmp(w + n - 3, "ses", 3) == 0 || strncasecmp(w + n - 3, "xes", 3) == 0 ||
                  strncasecmp(w + n - 3, "hes", 3) == 0))
        return n - 2;
    if (n > 3 && (w[n - 1] == 's' || w[n - 1] == 'S') && w[n - 2] != 's')
        return n - 1;
    return n;
}

/* Does the word w (n bytes) name something in `field`? Whole words, plural
 * or not; a longer word of a title or category may start with it
 * ("sunglass"), a category may contain it ("phone" in "smartphones"). */
bool eng__agent_word_fits(const char *w, size_t n, const char *field, bool category)
{
    size_t sn = stem(w, n);
    for (const char *p = field; p && *p;) {
        while (*p && !isalnum((unsigned char)*p))
            p++;
        const char *f = p;
        while (*p && isalnum((unsigned char)*p))
            p++;
        size_t fn = (size_t)(p - f);
        if (!fn)
            continue;
        size_t fs = stem(f, fn);
        if (fs == sn && strncasecmp(f, w, sn) == 0)
            return true;
        /* "strawberries" is a "Strawberry", "chilies" a "Chili" */
        if (n > 4 && strncasecmp(w + n - 3, "ies", 3) == 0 && fn == n - 2 &&
            ((f[fn - 1] | 0x20) == 'y' || (f[fn - 1] | 0x20) == 'i') && strncasecmp(f, w, n - 3) == 0)
            return true;
        /* "cases" lost its "es" as "glasses" does: "case" still fits */
        if (fs == fn && fn == sn + 1 && (f[fn - 1] | 0x20) == 'e' && strncasecmp(f, w, sn) == 0)
            return true;
        if (sn >= 4 && fn > sn && strncasecmp(f, w, sn) == 0)
            return true;
        if (category && sn >= 4 && fn > sn) {
            for (size_t i = 1; i + sn <= fn; i++)
                if (strncasecmp(f + i, w, sn) == 0)
                    return true;
        }
    }
    return false;
}

const char *eng__agent_each_word(const char *p, const char **w, size_t *n)
{
    while (*p == ' ')
        p++;
    if (!*p)
        return NULL;
    *w = p;
    while (*p && *p != ' ')
        p++;
    *n = (size_t)(p - *w);
    return p;
}

int eng__agent_title_fits(const char *words, const char *title)
{
    int fit = 0;
    const char *w;
    size_t n;
    for (const char *p = words; (p = eng__agent_each_word(p, &w, &n));)
        fit += eng__agent_word_fits(w, n, title, false);
    return fit;
}

int eng__agent_name_score(const char *words, json_object *product)
{
    const char *title = eng__json_str(product, "title", "");
    const char *brand = eng__json_str(product, "brand", "");
    const char *cat = eng__json_str(product, "category", "");
    json_object *tags = eng__json_path(product, "tags");
    int score = 0;
    const char *w;
    size_t n;
    for (const char *p = words; (p = eng__agent_each_word(p, &w, &n));) {
        bool fit = eng__agent_word_fits(w, n, title, false) || eng__agent_word_fits(w, n, brand, false) || eng__agent_word_fits(w, n, cat, true);
        for (size_t i = 0; !fit && tags && i < json_object_array_length(tags); i++)
            fit = eng__agent_word_fits(w, n, json_object_get_string(json_object_array_get_idx(tags, i)), true);
        score += fit;
    }
    return score;
}

static int count_words(const char *words)
{
    int n = 0;
    for (const char *p = words; *p; p++)
        n += *p != ' ' && (p == words || p[-1] == ' ');
    return n;
}

/* How many words of the title the shopper did not say: among products
 * that fit equally, "the rolex datejust" means the one called just that. */
static int extra_words(const char *words, json_object *product)
{
    const char *title = eng__json_str(product, "title", "");
    int n = 0;
    for (const char *p = title; *p;) {
        while (*p && !isalnum((unsigned char)*p))
            p++;
        const char *w = p;
        while (*p && isalnum((unsigned char)*p))
            p++;
        if (p > w)
            n++;
    }
    return n - eng__agent_name_score(words, product);
}

/* The item of `list` the words name best: its index when one stands out,
 * -2 when several tie, -1 when none names at least `need` of the words.
 * `ties` collects the tied indexes (up to 8). */
static int best_named(const char *words, json_object *list, int need, int *ties, int *nties)
{
    int best = 0, bi = -1;
    *nties = 0;
    for (size_t i = 0; list && i < json_object_array_length(list) && i < 64; i++) {
        int sc = eng__agent_name_score(words, json_object_array_get_idx(list, i));
        if (sc <= 0 || sc < need)
            continue;
        if (sc > best) {
            best = sc, bi = (int)i, *nties = 0;
            ties[(*nties)++] = (int)i;
        } else if (sc == best && *nties < 8) {
            ties[(*nties)++] = (int)i;
        }
    }
    if (bi < 0)
        return -1;
    if (*nties == 1)
        return bi;
    int least = 1 << 20, li = -1, nl = 0;
    for (int k = 0; k < *nties; k++) {
        int x = extra_words(words, json_object_array_get_idx(list, (size_t)ties[k]));
        if (x < least)
            least = x, li = ties[k], nl = 1;
        else if (x == least)
            nl++;
    }
    return nl == 1 && least == 0 ? li : -2;
}

/* The cart's lines with what names need (brand, category, tags). */
static json_object *cart_products(eng_turn *t)
{
    json_object *items = eng__json_path(t->ctx, "cart.items"), *out = json_object_new_array();
    store *s = eng__store(t);
    for (size_t i = 0; items && i < json_object_array_length(items); i++) {
        json_object *l = json_object_array_get_idx(items, i);
        store_product p = {0};
        const char *sku = eng__json_str(l, "sku", "");
        if (s && eng__product_get(t, sku, &p, NULL) == 0) {
            json_object_array_add(out, eng__card(&p, true));
            store_product_clear(&p);
        } else {
            json_object_array_add(out, json_object_get(l));
        }
    }
    return out;
}

static void one(eng_turn *t, agent_target *o, agent_where where, json_object *item)
{
    o->found = AGENT_ONE;
    o->where = where;
    o->sku = eng__pool_strdup(t->pool, eng__json_str(item, "sku", ""));
    o->title = eng__pool_strdup(t->pool, eng__json_str(item, "title", o->sku));
}

static json_object *pick(json_object *list, const int *ties, int n)
{
    json_object *a = json_object_new_array();
    for (int i = 0; i < n; i++)
        json_object_array_add(a, json_object_get(json_object_array_get_idx(list, (size_t)ties[i])));
    return a;
}

static bool named_in(eng_turn *t, agent_target *o, json_object *list, agent_where where, bool strict)
{
    int ties[8], nt = 0;
    int want = count_words(o->name);
    int i = best_named(o->name, list, strict ? want : (want + 1) / 2, ties, &nt);
    if (i >= 0) {
        one(t, o, where, json_object_array_get_idx(list, (size_t)i));
        return true;
    }
    if (i == -2) {
        o->found = AGENT_MANY;
        o->where = where;
        o->candidates = pick(list, ties, nt);
        return true;
    }
    return false;
}

/* "the phone": the text search knows "phone", not "smartphones"; the
 * products of a category the word names are candidates too. */
static void add_by_category(store *s, const char *words, json_object *cards)
{
    store_search_query sq;
    store_search_query_init(&sq);
    sq.text = "";
    sq.limit = 1;
    sq.flags = STORE_SEARCH_CATEGORY_FACET;
    store_search_result facets = {0};
    if (store_search(s, &sq, &facets, NULL) < 0) {
        store_search_result_free(&facets);
        return;
    }
    for (size_t c = 0; c < facets.n_categories && json_object_array_length(cards) < 64; c++) {
        const char *cat = facets.categories[c].value;
        bool named = false;
        for (const char *p = words; *p && !named;) {
            while (*p == ' ')
                p++;
            const char *w = p;
            while (*p && *p != ' ')
                p++;
            named = p > w && eng__agent_word_fits(w, (size_t)(p - w), cat, true);
        }
        if (!named)
            continue;
        store_search_query cq;
        store_search_query_init(&cq);
        cq.text = "";
        cq.category = cat;
        cq.limit = 24;
        store_search_result res = {0};
        if (store_search(s, &cq, &res, NULL) == 0)
            for (size_t i = 0; i < res.n_hits; i++) {
                bool dup = false;
                for (size_t k = 0; k < json_object_array_length(cards) && !dup; k++)
                    dup = strcmp(eng__json_str(json_object_array_get_idx(cards, k), "sku", ""),
                                 res.hits[i].product.sku) == 0;
                if (!dup)
                    json_object_array_add(cards, eng__card(&res.hits[i].product, true));
            }
        store_search_result_free(&res);
    }
    store_search_result_free(&facets);
}

int eng__agent_spell_flags(eng_turn *t)
{
    return json_object_get_boolean(eng__json_path(t->ctx, "understanding.dictionary")) ? STORE_SEARCH_NO_SPELL : 0;
}

/* Names the catalog knows: the hits whose title, brand or category the
 * words name; one clear winner or several candidates. */
static bool named_in_catalog(eng_turn *t, agent_target *o, bool strict)
{
    store *s = eng__store(t);
    if (!s)
        return false;
    store_search_query sq;
    store_search_query_init(&sq);
    sq.text = o->name;
    sq.limit = 24;
    sq.flags |= eng__agent_spell_flags(t);
    store_search_result res = {0};
    if (store_search(s, &sq, &res, NULL) < 0) {
        store_search_result_free(&res);
        return false;
    }
    json_object *cards = json_object_new_array();
    for (size_t i = 0; i < res.n_hits; i++)
        json_object_array_add(cards, eng__card(&res.hits[i].product, true));
    add_by_category(s, o->name, cards);
    /* "scootr": the words as the catalog corrected them */
    char words[160];
    snprintf(words, sizeof words, "%s", o->name);
    if (res.corrected) {
        for (size_t i = 0; res.corrected[i] && i < sizeof words - 1; i++)
            words[i] = (char)tolower((unsigned char)res.corrected[i]), words[i + 1] = '\0';
    }
    store_search_result_free(&res);
    char keep[160];
    snprintf(keep, sizeof keep, "%s", o->name);
    snprintf(o->name, sizeof o->name, "%s", words);
    bool ok = named_in(t, o, cards, AGENT_AT_CATALOG, strict);
    snprintf(o->name, sizeof o->name, "%s", keep);
    json_object_put(cards);
    return ok;
}

/* Every word named, in the last results, the cart, the catalog; then
 * the same with half the words (a name said loosely). */
/* The words of `name` that some product shown or in the cart holds, or
 * that name something of the catalog (`named`: ctx.understanding.named),
 * into out; true when that leaves some out but not all. */
static bool words_in_view(const char *name, json_object *shown, json_object *cart, json_object *named, char *out,
                          size_t cap)
{
    size_t o = 0, kept = 0, all = 0;
    out[0] = '\0';
    for (const char *p = name; *p;) {
        while (*p == ' ')
            p++;
        const char *w = p;
        while (*p && *p != ' ')
            p++;
        size_t n = (size_t)(p - w);
        if (!n || n >= 64)
            continue;
        char one[64];
        memcpy(one, w, n);
        one[n] = '\0';
        all++;
        bool fits = false;
        for (size_t i = 0; json_object_is_type(named, json_type_array) && i < json_object_array_length(named) && !fits;
             i++)
            fits = strcasecmp(json_object_get_string(json_object_array_get_idx(named, i)), one) == 0;
        json_object *lists[2] = {shown, cart};
        for (size_t l = 0; l < 2 && !fits; l++)
            for (size_t i = 0; json_object_is_type(lists[l], json_type_array) &&
                               i < json_object_array_length(lists[l]) && !fits;
                 i++)
                fits = eng__agent_name_score(one, json_object_array_get_idx(lists[l], i)) > 0;
        if (fits && o + n + 2 < cap) {
            o += (size_t)snprintf(out + o, cap - o, "%s%s", o ? " " : "", one);
            kept++;
        }
    }
    return kept > 0 && kept < all;
}

static bool named_everywhere(eng_turn *t, agent_target *o, json_object *shown, json_object *cart, bool cart_first)
{
    for (int strict = 1; strict >= 0; strict--) {
        bool done = cart_first ? named_in(t, o, cart, AGENT_AT_CART, strict) ||
                                     named_in(t, o, shown, AGENT_AT_SHOWN, strict)
                               : named_in(t, o, shown, AGENT_AT_SHOWN, strict) ||
                                     named_in(t, o, cart, AGENT_AT_CART, strict);
        if (done || named_in_catalog(t, o, strict))
            return true;
    }
    return false;
}

/* The product in focus into o (found ONE, at the focus); false when
 * there is none or it is gone from the catalog. */
bool eng__agent_focus(eng_turn *t, agent_target *o)
{
    const char *focus = eng__json_str(t->ctx, "session.focus", NULL);
    store_product p = {0};
    if (!focus || !eng__store(t) || eng__product_get(t, focus, &p, NULL) < 0)
        return false;
    o->found = AGENT_ONE, o->where = AGENT_AT_FOCUS;
    o->sku = eng__pool_strdup(t->pool, p.sku);
    o->title = eng__pool_strdup(t->pool, p.title);
    store_product_clear(&p);
    return true;
}

/* "add it, and gift wrap it please": "it" said, a product in focus, and
 * none of the other words names anything of the catalog
 * (ctx.understanding.named is empty). */
static bool points_at_focus(eng_turn *t)
{
    static const char *const it[] = {"it", "this", "that", "this one", "that one", NULL};
    json_object *named = eng__json_path(t->ctx, "understanding.named");
    if (!eng__json_str(t->ctx, "session.focus", NULL) || !json_object_is_type(named, json_type_array) ||
        !eng__agent_has_word(eng__json_str(t->ctx, "message.text", ""), it))
        return false;
    /* words of chat the catalog happens to hold ("fine, add it") name nothing */
    for (size_t i = 0; i < json_object_array_length(named); i++) {
        const char *w = json_object_get_string(json_object_array_get_idx(named, i));
        if (w && !is_filler(w, strlen(w)))
            return false;
    }
    return true;
}

/* "the gucci one" when no Gucci is shown: the brand a reference names,
 * when the catalog has one product of it (o filled, where CATALOG). */
static bool attribute_named(eng_turn *t, agent_target *o)
{
    json_object *ents = eng__json_path(t->ctx, "entities");
    for (size_t i = 0; ents && i < json_object_array_length(ents); i++) {
        json_object *e = json_object_array_get_idx(ents, i);
        if (strcmp(eng__json_str(e, "type", ""), "reference") != 0 ||
            strcmp(eng__json_str(e, "kind", ""), "attribute") != 0 || eng__json_str(e, "sku", NULL))
            continue;
        const char *brand = eng__json_str(eng__json_path(e, "attribute"), "brand", NULL);
        if (!brand)
            continue;
        agent_target b;
        int nb = eng__agent_named(t, brand, &b);
        if (nb == 1 && b.found == AGENT_ONE) {
            json_object_put(b.candidates);
            char name[sizeof o->name];
            snprintf(name, sizeof name, "%s", o->name);
            *o = b;
            snprintf(o->name, sizeof o->name, "%s", name);
            o->candidates = NULL;
            return true;
        }
        if (nb == 0 && b.found == AGENT_MANY && b.candidates) {
            /* "add the nike ones" with two Nike products, none shown:
             * which one, those listed */
            char name[sizeof o->name];
            snprintf(name, sizeof name, "%s", o->name[0] ? o->name : brand);
            *o = b;
            snprintf(o->name, sizeof o->name, "%s", name);
            return true;
        }
        json_object_put(b.candidates);
    }
    return false;
}

/* "remove the last thing i added", "take out what i just put in", "the
 * most recent item in my basket": a word of recency and one of adding
 * (or of the cart). */
bool eng__agent_names_last_added(const char *text)
{
    static const char *const recent[] = {"last", "latest", "just", "most recent", "recently", "newest", NULL};
    static const char *const added[] = {"added", "put in", "threw in", "chucked in", "popped in", "stuck in",
                                        "addition", "in my cart", "in my basket", "in my bag", "in my trolley",
                                        "in the cart", "in the basket", "from my cart", "from my basket",
                                        "from the cart", "from the basket", "from my bag", NULL};
    return eng__agent_has_word(text, recent) && eng__agent_has_word(text, added);
}

/* The cart line added last: the line the last turn's change added to,
 * or the last of the cart's lines (they keep the order of addition). */
static bool last_added(eng_turn *t, agent_target *o)
{
    json_object *items = eng__json_path(t->ctx, "cart.items");
    size_t n = json_object_is_type(items, json_type_array) ? json_object_array_length(items) : 0;
    if (!n)
        return false;
    json_object *last = eng__agent_last_change(t);
    const char *want = last && strcmp(eng__json_str(last, "type", ""), "cart.add") == 0
                           ? eng__json_str(last, "sku", NULL) : NULL;
    for (size_t i = 0; want && i < n; i++)
        if (strcmp(eng__json_str(json_object_array_get_idx(items, i), "sku", ""), want) == 0) {
            one(t, o, AGENT_AT_CART, json_object_array_get_idx(items, i));
            return true;
        }
    one(t, o, AGENT_AT_CART, json_object_array_get_idx(items, n - 1));
    return true;
}

/* "the $20 one", "the one that costs 64.99", "the one under 30": a
 * price said of the list shown points at the products it fits (each
 * price within 3%, at least 50 cents, of an amount said; within a
 * bound said). True when it fits one (o set) or several (o AGENT_MANY). */
static bool priced_shown(eng_turn *t, json_object *shown, agent_target *o)
{
    json_object *ents = eng__json_path(t->ctx, "entities"), *money = NULL;
    for (size_t i = 0; ents && i < json_object_array_length(ents) && !money; i++)
        if (strcmp(eng__json_str(json_object_array_get_idx(ents, i), "type", ""), "money") == 0)
            money = json_object_array_get_idx(ents, i);
    size_t n = json_object_is_type(shown, json_type_array) ? json_object_array_length(shown) : 0;
    if (!money || n < 2)
        return false;
    json_object *a = eng__json_path(money, "value.amount"), *lo = eng__json_path(money, "value.min"),
                *hi = eng__json_path(money, "value.max");
    double amt = a ? json_object_get_double(a) : -1, min = lo ? json_object_get_double(lo) : -1,
           max = hi ? json_object_get_double(hi) : -1;
    if (amt <= 0 && min < 0 && max <= 0)
        return false;
    size_t fits = 0, at = 0;
    for (size_t k = 0; k < n; k++) {
        json_object *p = json_object_array_get_idx(shown, k);
        json_object *fp = eng__json_path(p, "finalPrice");
        double price = json_object_get_double(fp ? fp : eng__json_path(p, "price"));
        bool fit;
        if (amt > 0) {
            double tol = amt * 0.03 > 0.5 ? amt * 0.03 : 0.5;
            fit = price >= amt - tol && price <= amt + tol;
        } else {
            fit = (min < 0 || price >= min) && (max <= 0 || price <= max);
        }
        if (fit && !fits++)
            at = k;
    }
    if (fits == 1) {
        one(t, o, AGENT_AT_SHOWN, json_object_array_get_idx(shown, at));
        eng__turn_note(t, "the price said fits one product shown: %s", o->sku);
        return true;
    }
    if (fits > 1 && fits < n) {
        o->found = AGENT_MANY, o->where = AGENT_AT_SHOWN;
        eng__turn_note(t, "the price said fits %zu products shown: which one", fits);
        return true;
    }
    return false;
}

/* "remove the most expensive thing", "take out the cheaper perfume": a
 * comparative said of a change to the cart ranks the cart's lines (those
 * the words name, when they name some), not the list shown last. True
 * when it picked one (o set). */
static bool compared_in_cart(eng_turn *t, agent_target *o)
{
    json_object *ents = eng__json_path(t->ctx, "entities"), *cmp = NULL;
    for (size_t i = 0; ents && i < json_object_array_length(ents) && !cmp; i++) {
        json_object *e = json_object_array_get_idx(ents, i);
        if (strcmp(eng__json_str(e, "type", ""), "reference") == 0 &&
            strcmp(eng__json_str(e, "kind", ""), "comparative") == 0)
            cmp = e;
    }
    /* "the cheaper perfume": a comparative before a kind is no reference
     * of the entities stage (there, a search); said to the cart, it is */
    static const char *const low[] = {"cheapest", "cheaper", "least expensive", "less expensive", NULL};
    static const char *const top[] = {"most expensive", "more expensive", "priciest", "pricier", "dearest",
                                      "dearer", NULL};
    const char *text = eng__json_str(t->ctx, "message.text", "");
    const char *which = cmp ? eng__json_str(cmp, "which", "cheapest")
                            : eng__agent_has_word(text, low) ? "cheapest"
                            : eng__agent_has_word(text, top) ? "most_expensive" : NULL;
    if (!which)
        return false;
    if (!eng__json_path(t->ctx, "cart.items"))
        eng__cart_refresh(t);
    json_object *items = eng__json_path(t->ctx, "cart.items");
    size_t n = items ? json_object_array_length(items) : 0;
    if (n == 0)
        return false;
    char words[160];
    eng__agent_name_words(t, words, sizeof words);
    bool named = false;   /* "the cheaper perfume": among the lines the words name */
    for (size_t i = 0; words[0] && i < n && !named; i++)
        named = eng__agent_name_score(words, json_object_array_get_idx(items, i)) > 0;
    bool rating = strcmp(which, "best_rated") == 0, high = rating || strcmp(which, "most_expensive") == 0;
    json_object *best = NULL;
    double bv = 0;
    for (size_t i = 0; i < n; i++) {
        json_object *line = json_object_array_get_idx(items, i);
        if (named && eng__agent_name_score(words, line) <= 0)
            continue;
        json_object *f = eng__json_path(line, rating ? "rating" : "finalPrice");
        double v = json_object_get_double(f ? f : eng__json_path(line, "price"));
        if (!best || (high ? v > bv : v < bv))
            best = line, bv = v;
    }
    if (!best)
        return false;
    one(t, o, AGENT_AT_CART, best);
    o->comparative = true;
    eng__turn_note(t, "the %s line of the cart: %s", which, o->sku);
    return true;
}

/* "the black ones", "the green one" of a list where more than one
 * product is so (the entities stage's `several`): those products, to be
 * asked which (o: AGENT_MANY at the shown list). */
static bool attribute_ties(eng_turn *t, json_object *ref, json_object *shown, agent_target *o)
{
    json_object *attr = eng__json_path(ref, "attribute");
    const char *value = NULL;
    json_object_object_foreach(attr, k, v)
    {
        (void)k;
        value = json_object_get_string(v);
    }
    if (!value || !json_object_is_type(shown, json_type_array))
        return false;
    json_object *ties = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(shown); i++) {
        json_object *p = json_object_array_get_idx(shown, i);
        if (eng__agent_name_score(value, p) > 0)
            json_object_array_add(ties, json_object_get(p));
    }
    if (json_object_array_length(ties) < 2) {
        json_object_put(ties);
        return false;
    }
    o->found = AGENT_MANY, o->where = AGENT_AT_SHOWN, o->candidates = ties;
    snprintf(o->name, sizeof o->name, "%s", value);
    eng__turn_note(t, "%zu products shown are %s: which one", json_object_array_length(ties), value);
    return true;
}

/* The cart was the last thing shown or changed: places said next are
 * its lines. */
static bool after_cart(eng_turn *t)
{
    static const char *const cart_shown[] = {"view_cart", "remove_from_cart", "update_quantity", NULL};
    const char *last_intent = eng__json_str(t->ctx, "session.lastIntent", "");
    for (size_t i = 0; cart_shown[i]; i++)
        if (strcmp(last_intent, cart_shown[i]) == 0)
            return true;
    return false;
}

/* "remove the 3rd and 4th items" right after the cart was shown: the
 * cart lines at the places said, into skus/titles; how many, -1 when a
 * place is past the cart's end, 0 when fewer than two are said. */
static int cart_lines_at(eng_turn *t, const char **skus, const char **titles, int max)
{
    json_object *ents = eng__json_path(t->ctx, "entities");
    if (!eng__json_path(t->ctx, "cart.items"))
        eng__cart_refresh(t);
    json_object *items = eng__json_path(t->ctx, "cart.items");
    int lines = items ? (int)json_object_array_length(items) : 0, n = 0;
    for (size_t i = 0; ents && i < json_object_array_length(ents); i++) {
        json_object *e = json_object_array_get_idx(ents, i), *place = eng__json_path(e, "place");
        if (strcmp(eng__json_str(e, "type", ""), "reference") != 0 || !place)
            continue;
        int at = json_object_get_int(place);
        at += at < 0 ? lines : 0;
        if (at < 0 || at >= lines)
            return -1;
        if (n == max)
            return 0;
        json_object *l = json_object_array_get_idx(items, (size_t)at);
        skus[n] = eng__json_str(l, "sku", "");
        titles[n] = eng__json_str(l, "title", skus[n]);
        n++;
    }
    return n >= 2 ? n : 0;
}

/* The cart line an ordinal reference names ("the second item", "the
 * last one"); true when it picked one (o set). */
static bool cart_line_at(eng_turn *t, json_object *ents, agent_target *o)
{
    for (size_t i = 0; ents && i < json_object_array_length(ents); i++) {
        json_object *e = json_object_array_get_idx(ents, i);
        if (strcmp(eng__json_str(e, "type", ""), "reference") != 0 ||
            strcmp(eng__json_str(e, "kind", ""), "ordinal") != 0)
            continue;
        if (!eng__json_path(t->ctx, "cart.items"))
            eng__cart_refresh(t);
        json_object *items = eng__json_path(t->ctx, "cart.items");
        int n = items ? (int)json_object_array_length(items) : 0;
        /* the index the entities stage read ("the last": -1); resolved
         * against the list shown it is that list's, so read it again */
        json_object *place = eng__json_path(e, "place");
        if (!place)
            return false;
        int at = json_object_get_int(place);
        if (at < 0)
            at += n;
        if (at < 0 || at >= n)
            return false;
        one(t, o, AGENT_AT_CART, json_object_array_get_idx(items, (size_t)at));
        eng__turn_note(t, "line %d of the cart shown last: %s", at + 1, o->sku);
        return true;
    }
    return false;
}

void eng__agent_target(eng_turn *t, bool cart_first, agent_target *o)
{
    memset(o, 0, sizeof *o);
    if (cart_first && compared_in_cart(t, o))
        return;
    /* 0. "the last thing i added", of a change to the cart */
    if (cart_first && eng__agent_names_last_added(eng__json_str(t->ctx, "message.text", ""))) {
        if (!eng__json_path(t->ctx, "cart.items"))
            eng__cart_refresh(t);
        if (last_added(t, o)) {
            eng__set_var(t, "continued", json_object_new_boolean(1));   /* a guess by recency: asked */
            eng__turn_note(t, "the line added last: %s", o->sku);
            return;
        }
    }
    json_object *shown = eng__json_path(t->ctx, "session.shown");
    /* 1. a reference to what was shown */
    json_object *ents = eng__json_path(t->ctx, "entities");
    /* "remove the second item" right after the cart was shown: its
     * lines, in the order the reply listed them */
    if (cart_first && (after_cart(t) || !json_object_is_type(shown, json_type_array)) && cart_line_at(t, ents, o))
        return;
    bool bad_ref = false, bad_place = false;
    for (size_t i = 0; ents && i < json_object_array_length(ents); i++) {
        json_object *e = json_object_array_get_idx(ents, i);
        if (strcmp(eng__json_str(e, "type", ""), "reference") != 0)
            continue;
        const char *sku = eng__json_str(e, "sku", NULL);
        const char *kind = eng__json_str(e, "kind", "");
        /* "remove the last one" when the last one shown is not in the
         * cart: the cart's last line */
        if (sku && cart_first && strcmp(kind, "ordinal") == 0) {
            if (!eng__json_path(t->ctx, "cart.items"))
                eng__cart_refresh(t);
            if (eng__cart_line_qty(t, sku) < 1 && cart_line_at(t, ents, o)) {
                eng__set_var(t, "continued", json_object_new_boolean(1));   /* a guess: asked */
                return;
            }
        }
        if (sku && json_object_get_boolean(eng__json_path(e, "several")) && attribute_ties(t, e, shown, o))
            return;   /* "the black ones" of two black products: which one */
        if (sku) {
            for (size_t k = 0; shown && k < json_object_array_length(shown); k++)
                if (strcmp(eng__json_str(json_object_array_get_idx(shown, k), "sku", ""), sku) == 0) {
                    one(t, o, AGENT_AT_SHOWN, json_object_array_get_idx(shown, k));
                    o->comparative = strcmp(kind, "comparative") == 0;
                    const char *within = eng__json_str(e, "within", NULL);
                    if (within) {
                        /* "the cheapest" of four iPhones and a charger:
                         * the cheapest iPhone, a reading that is asked */
                        eng__set_var(t, "continued", json_object_new_boolean(1));
                        eng__turn_note(t, "ranked among the list's %s: %s", within, o->sku);
                    }
                    return;
                }
            o->found = AGENT_ONE, o->where = AGENT_AT_SHOWN;
            o->sku = o->title = eng__pool_strdup(t->pool, sku);
            /* one of the two looked at ("the cheaper of the two"): its title */
            json_object *seen = eng__json_path(t->ctx, "session.viewed");
            for (size_t k = 0; seen && k < json_object_array_length(seen); k++)
                if (strcmp(eng__json_str(json_object_array_get_idx(seen, k), "sku", ""), sku) == 0)
                    o->title = eng__pool_strdup(t->pool, eng__json_str(json_object_array_get_idx(seen, k), "title", sku));
            return;
        }
        if (strcmp(kind, "ordinal") == 0 || strcmp(kind, "comparative") == 0)
            bad_ref = true;
        bad_place |= strcmp(kind, "ordinal") == 0;
    }
    /* "add the second one to my cart" with nothing shown: the place in a
     * list points at nothing, and no word around it may stand in for it
     * ("crat" read as "cat" found the Cat Food) */
    if (bad_place) {
        o->found = AGENT_BAD_REF;
        return;
    }
    /* 2. a product named: the last results, the cart, the catalog */
    eng__agent_name_words(t, o->name, sizeof o->name);
    if (o->name[0]) {
        json_object *cart = cart_products(t);
        bool done = named_everywhere(t, o, shown, cart, cart_first);
        /* "add the one for men" of perfumes shown, none of them called
         * so: "the one" points into the list, never at the rest of the
         * catalog (a shirt for men); which one of the list, asked */
        if (done && o->where == AGENT_AT_CATALOG && json_object_is_type(shown, json_type_array) &&
            json_object_array_length(shown) >= 2 &&
            eng__agent_has_word(eng__json_str(t->ctx, "message.text", ""),
                                (const char *const[]){"the one", "the ones", NULL})) {
            json_object_put(o->candidates);
            json_object_put(cart);
            o->candidates = NULL;
            o->sku = o->title = NULL;
            o->found = AGENT_MANY, o->where = AGENT_AT_SHOWN;
            eng__turn_note(t, "\"the one %s\" names none of the list shown: which one of it", o->name);
            return;
        }
        char fit[sizeof o->name];
        /* a catalog word that nothing in view holds counts only in a
         * change of the cart ("is water damage covered" is no question
         * about the Water) */
        const char *in = eng__agent_intent(t);
        bool changing = strcmp(in, "add_to_cart") == 0 || strcmp(in, "remove_from_cart") == 0 ||
                        strcmp(in, "update_quantity") == 0;
        json_object *named = changing ? eng__json_path(t->ctx, "understanding.named") : NULL;
        if (!done && words_in_view(o->name, shown, cart, named, fit, sizeof fit)) {
            /* "the whisk looks handy": the words a product in view holds */
            char said[sizeof o->name];
            snprintf(said, sizeof said, "%s", o->name);
            snprintf(o->name, sizeof o->name, "%s", fit);
            done = named_everywhere(t, o, shown, cart, cart_first);
            if (!done)
                snprintf(o->name, sizeof o->name, "%s", said);
        }
        json_object_put(cart);
        if (done && o->where == AGENT_AT_CATALOG && strcmp(in, "product_details") == 0 &&
            eng__agent_names_part_of_focus(t)) {
            /* "is the screen big" of the phone in focus: its screen, not
             * the laptop whose title says "Screen" */
            json_object_put(o->candidates);
            char said[sizeof o->name];
            snprintf(said, sizeof said, "%s", o->name);
            memset(o, 0, sizeof *o);
            snprintf(o->name, sizeof o->name, "%s", said);
            if (eng__agent_focus(t, o)) {
                /* the words the catalog knows: "screen", not "screen big" */
                json_object *known = eng__json_path(t->ctx, "understanding.named");
                char part[sizeof o->name] = "";
                for (size_t i = 0, w = 0; i < json_object_array_length(known) && w < sizeof part; i++)
                    w += (size_t)snprintf(part + w, sizeof part - w, "%s%s", w ? " " : "",
                                          json_object_get_string(json_object_array_get_idx(known, i)));
                json_object *a = json_object_new_object();
                ENG_JADD(a, "words", json_object_new_string(part[0] ? part : said));
                eng__set_var(t, "askedAbout", a);   /* what its listing says of it */
                return;
            }
        }
        if (!done && attribute_named(t, o))
            return;   /* "is the gucci one vegan" with no Gucci shown */
        if (!done && points_at_focus(t)) {
            /* "add it, and gift wrap it please": words that name nothing
             * the shop sells beside "it" */
            eng__agent_focus(t, o);
            return;
        }
        if (!done)
            o->found = AGENT_NO_MATCH;
        return;
    }
    if (bad_ref) {
        o->found = AGENT_BAD_REF;
        return;
    }
    if (attribute_named(t, o))
        return;
    if (priced_shown(t, shown, o))
        return;
    /* 3. "it", "one more", "make it 3": the product in focus, the only line */
    if (eng__agent_focus(t, o))
        return;
    json_object *items = eng__json_path(t->ctx, "cart.items");
    if (cart_first && items && json_object_array_length(items) == 1) {
        one(t, o, AGENT_AT_CART, json_object_array_get_idx(items, 0));
        return;
    }
    if (cart_first && items && json_object_array_length(items) > 1) {
        o->found = AGENT_MANY, o->where = AGENT_AT_CART;
        return;
    }
    if (shown && json_object_array_length(shown) == 1) {
        one(t, o, AGENT_AT_SHOWN, json_object_array_get_idx(shown, 0));
        return;
    }
    if (shown && json_object_array_length(shown) > 1) {
        o->found = AGENT_MANY, o->where = AGENT_AT_SHOWN;
        return;
    }
    o->found = AGENT_NOTHING;
}

int eng__agent_refs(eng_turn *t, const char **skus, const char **titles, int max)
{
    if (strcmp(eng__agent_intent(t), "remove_from_cart") == 0 && after_cart(t)) {
        int c = cart_lines_at(t, skus, titles, max);
        if (c != 0)
            return c;
    }
    json_object *shown = eng__json_path(t->ctx, "session.shown");
    json_object *ents = eng__json_path(t->ctx, "entities");
    int n = 0, compared = 0;
    bool bad = false;
    for (size_t i = 0; ents && i < json_object_array_length(ents); i++) {
        json_object *e = json_object_array_get_idx(ents, i);
        const char *kind = eng__json_str(e, "kind", "");
        /* "the cheapest and the dearest": comparatives count among
         * several (one alone is the single target's, below) */
        bool cmp = strcmp(kind, "comparative") == 0 && eng__json_str(e, "sku", NULL);
        if (strcmp(eng__json_str(e, "type", ""), "reference") != 0 || (strcmp(kind, "ordinal") != 0 && !cmp))
            continue;
        compared += cmp;
        const char *sku = eng__json_str(e, "sku", NULL);
        if (!sku) {
            bad = true;   /* "the first and the ninth" of five */
            continue;
        }
        bool seen = false;
        for (int k = 0; k < n && !seen; k++)
            seen = strcmp(skus[k], sku) == 0;
        if (seen)
            continue;
        if (n == max)
            return 0;
        json_object *item = NULL;
        for (size_t k = 0; shown && k < json_object_array_length(shown) && !item; k++)
            if (strcmp(eng__json_str(json_object_array_get_idx(shown, k), "sku", ""), sku) == 0)
                item = json_object_array_get_idx(shown, k);
        skus[n] = eng__pool_strdup(t->pool, sku);
        titles[n] = eng__pool_strdup(t->pool, item ? eng__json_str(item, "title", sku) : sku);
        if (!skus[n] || !titles[n])
            return 0;
        n++;
    }
    if (n == 1 && compared == 1)
        return 0;   /* "add the cheapest": one target, read as such */
    return bad && n > 0 ? -1 : n;
}

int eng__agent_named(eng_turn *t, const char *words, agent_target *o)
{
    memset(o, 0, sizeof *o);
    snprintf(o->name, sizeof o->name, "%s", words);
    if (!o->name[0])
        return 0;
    json_object *cart = cart_products(t);
    bool done = named_everywhere(t, o, eng__json_path(t->ctx, "session.shown"), cart, false);
    json_object_put(cart);
    if (!done)
        o->found = AGENT_NO_MATCH;
    return o->found == AGENT_ONE;
}

/* ---------------------------------------------------------- questions
 * A change the shopper did not clearly ask for becomes a question kept in
 * the session; only the next message may answer it. */

/* Whether `o` (with its "turn" and message "id") was left by the
 * message just before this one. */
static bool from_last_turn(eng_turn *t, json_object *o)
{
    int64_t at = json_object_get_int64(eng__json_path(o, "turn"));
    int64_t now = json_object_get_int64(eng__json_path(eng__session(t), "turns"));
    const char *asked = eng__json_str(o, "id", "");
    const char *mid = eng__json_str(t->ctx, "message.id", "");
    /* the turn counter moves once per message; where a channel does not
     * count (at == now) the message's id still tells them apart */
    return (now == at + 1 || now == at) && strcmp(asked, mid) != 0;
}

json_object *eng__agent_last_quote(eng_turn *t) { return eng__agent_remembered(t, "quoted"); }

/* The skus and counts of an add asked (`sku` then `more`, `qtys` or
 * `qty` for each) appended to skus/qtys from *n; false when full. */
static bool add_lines(json_object *p, json_object *skus, json_object *qtys)
{
    json_object *more = eng__json_path(p, "more"), *q = eng__json_path(p, "qtys");
    size_t n = 1 + (more ? json_object_array_length(more) : 0);
    for (size_t i = 0; i < n; i++) {
        json_object *sku = i == 0 ? eng__json_path(p, "sku") : json_object_array_get_idx(more, i - 1);
        if (!sku)
            return false;
        json_object_array_add(skus, json_object_get(sku));
        json_object *c = q && json_object_array_length(q) == n ? json_object_array_get_idx(q, i) : eng__json_path(p, "qty");
        json_object_array_add(qtys, json_object_new_int64(json_object_get_int64(c) > 0 ? json_object_get_int64(c) : 1));
    }
    return true;
}

/* The turn's actions add a product the add question `asked` named (its
 * sku or one of its `more`). */
static bool adds_asked_product(eng_turn *t, json_object *asked)
{
    json_object *acts = eng__json_path(t->ctx, "actions"), *more = eng__json_path(asked, "more");
    for (size_t i = 0; acts && i < json_object_array_length(acts); i++) {
        json_object *a = json_object_array_get_idx(acts, i);
        const char *sku = eng__json_str(a, "sku", "");
        if (strcmp(eng__json_str(a, "type", ""), "cart.add") != 0)
            continue;
        if (strcmp(sku, eng__json_str(asked, "sku", "")) == 0)
            return true;
        for (size_t k = 0; more && k < json_object_array_length(more); k++)
            if (strcmp(sku, json_object_get_string(json_object_array_get_idx(more, k))) == 0)
                return true;
    }
    return false;
}

static void merge_adds(eng_turn *t, json_object *old)
{
    json_object *now = eng__json_path(t->ctx, "session.pending");
    static const char *const fixing[] = {"no", "not", "instead", "meant", "sorry", "rather", "wrong", "actually",
                                         "only", "just", NULL};
    if (!now || now == old || strcmp(eng__json_str(now, "type", ""), "cart.add") != 0 ||
        eng__json_path(now, "replaces") || eng__agent_has_word(eng__json_str(t->ctx, "message.text", ""), fixing))
        return;
    json_object *skus = json_object_new_array(), *qtys = json_object_new_array();
    bool ok = add_lines(old, skus, qtys) && add_lines(now, skus, qtys);
    size_t n = json_object_array_length(skus);
    for (size_t i = 0; ok && i < n; i++)
        for (size_t k = i + 1; k < n; k++)
            ok &= strcmp(json_object_get_string(json_object_array_get_idx(skus, i)),
                         json_object_get_string(json_object_array_get_idx(skus, k))) != 0;
    if (!ok || n > AGENT_MAX_REFS) {
        json_object_put(skus);
        json_object_put(qtys);
        return;
    }
    /* "the Beef Steak (2), the Chicken (2) and the Soft Drinks (6)" */
    char names[480];
    size_t w = 0;
    const char *parts[2] = {eng__json_str(old, "title", ""), eng__json_str(now, "title", "")};
    json_object *ps[2] = {old, now};
    for (int k = 0; k < 2; k++) {
        int64_t q = json_object_get_int64(eng__json_path(ps[k], "qty"));
        bool counted = !eng__json_path(ps[k], "qtys") && q > 1;
        int c = snprintf(names + w, sizeof names - w, counted ? "%s%s (%lld)" : "%s%s", k ? " and the " : "",
                         parts[k], (long long)q);
        if (c < 0 || (size_t)c >= sizeof names - w)
            break;
        w += (size_t)c;
    }
    json_object *p = json_object_new_object();
    ENG_JADD(p, "type", json_object_new_string("cart.add"));
    ENG_JADD(p, "id", json_object_new_string(eng__json_str(now, "id", "m")));
    ENG_JADD(p, "turn", json_object_get(eng__json_path(now, "turn")));
    ENG_JADD(p, "sku", json_object_get(json_object_array_get_idx(skus, 0)));
    ENG_JADD(p, "title", json_object_new_string(names));
    ENG_JADD(p, "qty", json_object_get(json_object_array_get_idx(qtys, 0)));
    json_object_array_del_idx(skus, 0, 1);
    ENG_JADD(p, "more", skus);
    ENG_JADD(p, "qtys", qtys);
    ENG_JADD(eng__session(t), "pending", p);
    json_object *v = json_object_new_object();
    ENG_JADD(v, "title", json_object_new_string(names));
    ENG_JADD(v, "qty", json_object_new_int64(1));
    ENG_JADD(v, "several", json_object_new_boolean(0));
    eng__set_var(t, "ask", v);
    eng__turn_note(t, "another add while one was asked: both asked (%zu products)", n);
}

void eng__agent_remember(eng_turn *t, const char *name, json_object *v)
{
    json_object *sess = eng__session(t);
    ENG_JADD(v, "turn", json_object_new_int64(json_object_get_int64(eng__json_path(sess, "turns"))));
    ENG_JADD(v, "id", json_object_new_string(eng__json_str(t->ctx, "message.id", "m")));
    json_object_object_add(sess, name, v);
}

json_object *eng__agent_remembered(eng_turn *t, const char *name)
{
    json_object *q = json_object_object_get(eng__session(t), name);
    return q && from_last_turn(t, q) ? q : NULL;
}

json_object *eng__agent_last_change(eng_turn *t)
{
    json_object *c = eng__json_path(eng__session(t), "lastChange");
    return c && !eng__json_path(c, "lines") && !eng__json_path(c, "cleared") && from_last_turn(t, c) ? c : NULL;
}

json_object *eng__agent_last_cleared(eng_turn *t)
{
    json_object *c = eng__json_path(eng__session(t), "lastChange");
    return c && from_last_turn(t, c) ? eng__json_path(c, "cleared") : NULL;
}

json_object *eng__agent_last_adds(eng_turn *t)
{
    json_object *c = eng__json_path(eng__session(t), "lastChange");
    return c && from_last_turn(t, c) ? eng__json_path(c, "lines") : NULL;
}

json_object *eng__agent_pending_fresh(eng_turn *t)
{
    json_object *sess = eng__session(t);
    json_object *p = eng__json_path(sess, "pending");
    if (!p)
        return NULL;
    int64_t at = json_object_get_int64(eng__json_path(p, "turn"));
    int64_t now = json_object_get_int64(eng__json_path(sess, "turns"));
    if (from_last_turn(t, p))
        return p;
    eng__turn_note(t, "a stale question (turn %lld, now %lld) dropped", (long long)at, (long long)now);
    json_object_object_del(sess, "pending");
    return NULL;
}

void eng__agent_keep_pending(eng_turn *t)
{
    json_object *sess = eng__session(t);
    json_object *p = eng__json_path(sess, "pending");
    if (!p)
        return;
    int64_t at = json_object_get_int64(eng__json_path(p, "turn"));
    int64_t now = json_object_get_int64(eng__json_path(sess, "turns"));
    int64_t kept = json_object_get_int64(eng__json_path(p, "kept"));
    /* fresh, and not kept past two answers already: a question asked
     * long ago is not a question any more */
    if (now != at + 1 || kept >= 2 || strcmp(eng__json_str(p, "id", ""), eng__json_str(t->ctx, "message.id", "")) == 0)
        return;
    ENG_JADD(p, "turn", json_object_new_int64(now));
    ENG_JADD(p, "kept", json_object_new_int64(kept + 1));
    json_object *v = NULL;
    json_object_deep_copy(p, &v, NULL);
    /* "Shall I still add 3 of the sofa?": the count asked, said again */
    if (v && json_object_get_int64(eng__json_path(p, "qty")) > 1 && !eng__json_path(p, "qtys"))
        json_object_object_add(v, "several", json_object_new_boolean(1));
    static const char *const kinds[][2] = {{"order.create", "order"}, {"cart.add", "add"}, {"cart.set", "set"},
                                           {"cart.remove", "remove"}, {"cart.clear", "clear"},
                                           {"checkout.address", "address"}};
    for (size_t i = 0; v && i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(eng__json_str(p, "type", ""), kinds[i][0]) == 0)
            json_object_object_add(v, kinds[i][1], json_object_new_boolean(1));
    /* the order asked again says what "yes" charges: its delivery and
     * total (a reply in between may have priced another option) */
    if (v && strcmp(eng__json_str(p, "type", ""), "order.create") == 0 && eng__store(t)) {
        if (!eng__json_path(t->ctx, "cart.items"))
            eng__cart_refresh(t);
        json_object_object_add(v, "quote", eng__checkout_quote(t, eng__json_str(p, "delivery", NULL)));
    }
    eng__set_var(t, "stillPending", v);
    eng__turn_note(t, "a question still waits (%s): kept and asked again", eng__json_str(p, "type", "?"));
}

void eng__agent_ask(eng_turn *t, const char *type, const char *sku, const char *title, int64_t qty)
{
    json_object *sess = eng__session(t);
    json_object *p = json_object_new_object();
    ENG_JADD(p, "type", json_object_new_string(type));
    ENG_JADD(p, "id", json_object_new_string(eng__json_str(t->ctx, "message.id", "m")));
    ENG_JADD(p, "turn", json_object_new_int64(json_object_get_int64(eng__json_path(sess, "turns"))));
    if (sku)
        ENG_JADD(p, "sku", json_object_new_string(sku));
    if (title)
        ENG_JADD(p, "title", json_object_new_string(title));
    ENG_JADD(p, "qty", json_object_new_int64(qty));
    json_object *ask = json_object_get(p);
    ENG_JADD(sess, "pending", p);
    /* the product asked about is what "it" means next ("add it in
     * large" after "shall I add the shirt?") */
    if (sku && *sku && strcmp(type, "cart.add") == 0)
        ENG_JADD(sess, "focus", json_object_new_string(sku));
    json_object *v = NULL;
    json_object_deep_copy(ask, &v, NULL);
    json_object_put(ask);
    if (v)
        ENG_JADD(v, "several", json_object_new_boolean(qty > 1));
    eng__set_var(t, "ask", v);
    const char *flag = strcmp(type, "cart.add") == 0   ? "askAdd"
                       : strcmp(type, "cart.set") == 0 ? "askSet"
                       : strcmp(type, "cart.remove") == 0 ? "askRemove"
                       : strcmp(type, "cart.clear") == 0 ? "askClear" : "askOther";
    eng__set_var(t, flag, json_object_new_boolean(1));
    eng__turn_note(t, "asked: %s %s x%lld", type, sku ? sku : "", (long long)qty);
}

const eng_stage_type eng__stage_agent = {
    .name = "agent",
    .doc = "a commerce agent: product, cart, order or support",
    .fields = fields,
    .opts_size = sizeof(agent_opts),
    .create = create,
    .run = run,
};
