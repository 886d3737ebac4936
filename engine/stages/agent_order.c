/* engine/stages/agent_order.c — the order agent: checkout from the cart
 * (after the shopper confirms: it costs money), order status, history
 * and cancellation. Everything here needs a logged-in user and says so
 * otherwise. The order itself is placed by the `action` stage, with an
 * idempotency key tied to the confirmation, so a confirmation sent twice
 * places one order. */
#define _GNU_SOURCE /* strcasestr */
#include "agent_int.h"
#include "engine/checkout_int.h"
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* orders look the same in the chat as over REST: the core's JSON */
static json_object *order_json(const store_order *o) { return eng__order_json(o); }

/* An order number in the message ("#1024", "order 1024"), or 0. */
/* "cancel order 1", "where is order 2 please", "cancel #1", "cancel no.
 * 1", "track order one", "cancel 1": a short number right after "order",
 * "#", "no.", "number" or the verb, that ends the request (the entities
 * stage takes only long ones or "order #1": "order 2 lipsticks" is a
 * count). 0 when none. */
int64_t eng__agent_said_order_number(const char *text)
{
    static const char *const ends[] = {"please", "pls", "plz", "instead", "now", "thanks", "thank", "too",
                                       "as", "and", "is", "was", "for", "then", "asap", "right", "again", "one",
                                       "not", "but", "rather", "shipped", "yet", "arrived", "delivered",
                                       "still", "sent", "status", "coming", "placed", "cancelled", "canceled",
                                       "going", "been", "gone", "ok", "okay", "already", NULL};
    static const char *const anchors[] = {"order number", "order no.", "order no", "order #", "orders #", "order",
                                          "orders", "number", "no.", "#", "cancel", "track", NULL};
    static const char *const words[] = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                                        "nine", "ten", NULL};
    for (size_t a = 0; anchors[a]; a++) {
        size_t al = strlen(anchors[a]);
        for (const char *p = strcasestr(text, anchors[a]); p; p = strcasestr(p + 1, anchors[a])) {
            if ((p > text && isalnum((unsigned char)p[-1])) ||
                (anchors[a][al - 1] != '#' && isalnum((unsigned char)p[al])))
                continue;
            const char *q = p + al;
            while (*q == ' ')
                q++;
            int64_t n = 0;
            size_t d = strspn(q, "0123456789");
            if (d > 0 && d <= 6) {
                n = strtoll(q, NULL, 10);
            } else {
                for (size_t w = 1; words[w] && !n; w++)
                    if (strncasecmp(q, words[w], strlen(words[w])) == 0 && !isalnum((unsigned char)q[strlen(words[w])]))
                        n = (int64_t)w, d = strlen(words[w]);
            }
            if (n <= 0)
                continue;
            const char *r = q + d;
            if (*r && !strchr(" ,.!?;", *r))
                continue;
            while (*r && strchr(" ,.!?;", *r))
                r++;
            bool ok = !*r;
            for (size_t i = 0; ends[i] && !ok; i++) {
                size_t k = strlen(ends[i]);
                ok = strncasecmp(r, ends[i], k) == 0 && !isalnum((unsigned char)r[k]);
            }
            if (ok)
                return n;
        }
    }
    return 0;
}

/* The part of a message that says which order is meant: what comes
 * before "not", "rather than", "instead of" ("cancel #1 not #2", "my
 * previous order, not the newest one"), into buf; its length. */
static size_t meant_part(const char *text, char *buf, size_t n)
{
    static const char *const nots[] = {" not ", ",not ", " rather than ", " instead of ", " and keep ",
                                       " but keep ", " keep ", " leave ", NULL};
    size_t len = strlen(text);
    for (size_t i = 0; nots[i]; i++) {
        const char *at = strcasestr(text, nots[i]);
        /* "not" opening the words ("i do not want order 2") is no cut */
        if (at && at > text && (size_t)(at - text) < len &&
            !eng__agent_has_word(text, (const char *const[]){"do not", "don't", "dont", "did not", NULL}))
            len = (size_t)(at - text);
    }
    if (len >= n)
        len = n - 1;
    memcpy(buf, text, len);
    buf[len] = '\0';
    return len;
}

static int64_t order_number(eng_turn *t)
{
    char meant[320];
    size_t cut = meant_part(eng__json_str(t->ctx, "message.text", ""), meant, sizeof meant);
    json_object *ents = eng__json_path(t->ctx, "entities");
    for (size_t i = 0; ents && i < json_object_array_length(ents); i++) {
        json_object *e = json_object_array_get_idx(ents, i);
        if (strcmp(eng__json_str(e, "type", ""), "order_number") != 0 ||
            (size_t)json_object_get_int64(eng__json_path(e, "start")) >= cut)
            continue;
        const char *v = json_object_get_string(eng__json_path(e, "value"));
        while (v && *v && !isdigit((unsigned char)*v))
            v++;
        if (v && *v)
            return strtoll(v, NULL, 10);
    }
    return eng__agent_said_order_number(meant);
}

static int named_order(eng_turn *t, store_order *list, size_t n, bool *several);

bool eng__agent_names_ordered(eng_turn *t)
{
    if (!eng__user_id(t) || !eng__store(t))
        return false;
    store_order *list = NULL;
    size_t n = 0;
    if (store_order_list(eng__store(t), eng__user_id(t), 20, &list, &n, NULL) < 0)
        return false;
    bool several = false;
    int at = n > 0 ? named_order(t, list, n, &several) : -1;
    store_order_list_free(list, n);
    return at >= 0 || several;
}

/* "cancel the pan order", "where's the order with the wok": the one of
 * the n orders (newest first) whose lines the message's words name; -1
 * when none or several do (*several set). */
static int named_order(eng_turn *t, store_order *list, size_t n, bool *several)
{
    char words[160], meant[320];
    *several = false;
    /* "the pan order but keep the wok": the words before the cut only */
    size_t cut = meant_part(eng__json_str(t->ctx, "message.text", ""), meant, sizeof meant);
    eng__agent_span_words(t, 0, cut, words, sizeof words, false);
    if (!words[0])
        return -1;
    int at = -1, best = 0;
    for (size_t i = 0; i < n; i++) {
        store_order o = {0};
        if (store_order_get(eng__store(t), list[i].id, &o, NULL) != 0)
            continue;
        int fit = 0;
        for (size_t k = 0; k < o.n_lines; k++) {
            int f = eng__agent_title_fits(words, o.lines[k].title);
            fit = f > fit ? f : fit;
        }
        store_order_clear(&o);
        if (fit > best)
            best = fit, at = (int)i, *several = false;
        else if (fit && fit == best)
            *several = true;
    }
    return *several ? -1 : at;
}

/* Which of n orders (newest first) the message names by its place:
 * "my first order", "the oldest one" (n-1), "the second order" (n-2),
 * "my latest order" (0), "the previous order", "the other one" (1, a
 * guess: *guess set); -1 when it names none. */
static int said_order_index(const char *text, size_t n, bool *guess)
{
    static const struct {
        const char *word;
        int from_oldest; /* 1-based place from the oldest, 0: from the newest */
        int newest;      /* place from the newest, when from_oldest is 0 */
        bool guess;
    } places[] = {
        /* "the order before the last one": before "last" is read */
        {"before the last", 0, 1, true}, {"before last", 0, 1, true}, {"before this", 0, 1, true},
        {"before that", 0, 1, true}, {"before the latest", 0, 1, true}, {"before the newest", 0, 1, true},
        {"first", 1, 0, false},     {"1st", 1, 0, false},      {"earliest", 1, 0, false},
        {"oldest", 1, 0, false},    {"original", 1, 0, false}, {"second", 2, 0, false},
        {"2nd", 2, 0, false},       {"third", 3, 0, false},    {"3rd", 3, 0, false},
        {"least recent", 1, 0, false},
        {"latest", 0, 0, false},    {"last", 0, 0, false},     {"newest", 0, 0, false},
        {"most recent", 0, 0, false}, {"recent", 0, 0, false}, {"previous", 0, 1, true},
        {"earlier", 0, 1, true},    {"older", 0, 1, true},     {"other", 0, 1, true},
    };
    static const char *const orders[] = {"order", "orders", "purchase", "one", "ones", NULL};
    /* "cancel the oldest": a superlative is an order's place alone */
    static const char *const alone[] = {"oldest", "earliest", "newest", "latest", "least recent", "most recent",
                                        NULL};
    *guess = false;
    if (n < 2 || (!eng__agent_has_word(text, orders) && !eng__agent_has_word(text, alone)))
        return -1;
    for (size_t i = 0; i < sizeof places / sizeof places[0]; i++) {
        if (!eng__agent_has_word(text, (const char *const[]){places[i].word, NULL}))
            continue;
        int at = places[i].from_oldest ? (int)n - places[i].from_oldest : places[i].newest;
        if (at < 0 || at >= (int)n)
            return -1;
        *guess = places[i].guess;
        return at;
    }
    return -1;
}

const char *eng__agent_said_total(const char *text, double *v)
{
    for (const char *q = text; *q; q++) {
        if (!isdigit((unsigned char)*q) || (q > text && (isalnum((unsigned char)q[-1]) || q[-1] == '.')))
            continue;
        char *end;
        double d = strtod(q, &end);
        size_t span = (size_t)(end - q);
        if (span >= 4 && end[-3] == '.' && isdigit((unsigned char)end[-1]) && !isalnum((unsigned char)*end)) {
            *v = d;
            return q;
        }
        q += span ? span - 1 : 0;
    }
    return NULL;
}

/* The one of n orders whose total is v; -1 when none or several are. */
static int order_of_total(const store_order *list, size_t n, double v)
{
    int hit = -1, hits = 0;
    for (size_t k = 0; k < n; k++)
        if (fabs(list[k].total - v) < 0.005)
            hit = (int)k, hits++;
    return hits == 1 ? hit : -1;
}

/* "the cheapest order", "my biggest order": the one of n orders with
 * the lowest or highest total; -1 when none is said or two share it. */
static int order_by_total(const char *text, const store_order *list, size_t n)
{
    /* a comparative only of the order ("it was cheaper elsewhere" is a reason) */
    static const char *const low[] = {"cheapest", "least expensive", "smallest", "lowest", "cheaper one",
                                      "cheaper order", "smaller one", "smaller order", NULL};
    static const char *const high[] = {"most expensive", "priciest", "dearest", "biggest", "largest", "highest",
                                       "pricier one", "pricier order", "bigger one", "bigger order",
                                       "larger one", "larger order", "more expensive one",
                                       "more expensive order", NULL};
    bool lo = eng__agent_has_word(text, low), hi = eng__agent_has_word(text, high);
    if (n < 2 || lo == hi)
        return -1;
    int at = 0;
    for (size_t k = 1; k < n; k++)
        if (lo ? list[k].total < list[at].total : list[k].total > list[at].total)
            at = (int)k;
    for (size_t k = 0; k < n; k++)
        if ((int)k != at && fabs(list[k].total - list[at].total) < 0.005)
            return -1;
    return at;
}

/* "cancel the 24.99 one": the one of n orders with a line at that unit
 * price, when no total is; -1 when none or several. */
static int order_of_line_price(eng_turn *t, const store_order *list, size_t n, double v)
{
    int hit = -1, hits = 0;
    for (size_t i = 0; i < n; i++) {
        store_order o = {0};
        if (store_order_get(eng__store(t), list[i].id, &o, NULL) != 0)
            continue;
        bool has = false;
        for (size_t k = 0; k < o.n_lines && !has; k++)
            has = fabs(o.lines[k].unit_price - v) < 0.005;
        store_order_clear(&o);
        if (has)
            hit = (int)i, hits++;
    }
    return hits == 1 ? hit : -1;
}

/* The order the shopper means: the number given, the one named by its
 * place ("my first order"), else the newest one (the newest still
 * "placed" when `placed_only`). *guessed (may be NULL) is set when the
 * order is a guess: "the previous one", or the newest of several placed
 * ones with none named. 0 when none. */
static int find_order(eng_turn *t, bool placed_only, store_order *out, bool *guessed)
{
    store *s = eng__store(t);
    int64_t uid = eng__user_id(t), id = order_number(t);
    bool guess = false;
    if (guessed)
        *guessed = false;
    if (id) {
        /* someone else's order looks exactly like a missing one */
        if (store_order_get(s, id, out, NULL) == 0 && out->user_id == uid)
            return 1;
        store_order_clear(out);
        return 0;
    }
    store_order *list = NULL;
    size_t n = 0;
    if (store_order_list(s, uid, 20, &list, &n, NULL) < 0)
        return 0;
    int found = 0;
    char meant[320];
    size_t cut = meant_part(eng__json_str(t->ctx, "message.text", ""), meant, sizeof meant);
    int at = said_order_index(meant, n, &guess);
    /* "cancel the $29.89 one": the order of that total */
    json_object *ents = eng__json_path(t->ctx, "entities");
    for (size_t i = 0; at < 0 && ents && i < json_object_array_length(ents); i++) {
        json_object *e = json_object_array_get_idx(ents, i);
        if (strcmp(eng__json_str(e, "type", ""), "money") != 0 ||
            (size_t)json_object_get_int64(eng__json_path(e, "start")) >= cut)
            continue;
        json_object *amount = eng__json_path(e, "value.amount");
        if (!amount)
            continue;
        double v = json_object_get_double(amount);
        if ((at = order_of_total(list, n, v)) >= 0 || (at = order_of_line_price(t, list, n, v)) >= 0)
            guess = true;
    }
    /* "cancel the 29.89 one": a price said without its sign, cents and
     * all, that is one order's total */
    double said;
    for (const char *q = meant; at < 0 && (q = eng__agent_said_total(q, &said)) != NULL; q += strspn(q, "0123456789."))
        if ((at = order_of_total(list, n, said)) >= 0 || (at = order_of_line_price(t, list, n, said)) >= 0)
            guess = true;
    if (at < 0 && (at = order_by_total(meant, list, n)) >= 0)
        guess = true;
    bool several = false;
    int named = at < 0 && n > 1 ? named_order(t, list, n, &several) : -1;
    if (named >= 0) {
        /* "cancel the pan order": the order that holds it, asked */
        found = store_order_get(s, list[named].id, out, NULL) == 0;
        guess = true;
    } else if (at >= 0) {
        /* "cancel my first order": that one, whatever its status (the
         * agent says when it can no longer be cancelled) */
        found = store_order_get(s, list[at].id, out, NULL) == 0;
    } else {
        size_t placed = 0;
        for (size_t i = 0; i < n; i++)
            placed += strcmp(list[i].status, "placed") == 0;
        guess = placed_only && placed > 1;
        for (size_t i = 0; i < n && !found; i++)
            if (!placed_only || strcmp(list[i].status, "placed") == 0)
                found = store_order_get(s, list[i].id, out, NULL) == 0;
    }
    store_order_list_free(list, n);
    if (guessed)
        *guessed = found && guess;
    return found;
}

/* No order number asked about, and the account has no order at all:
 * "where's my stuff" gets "you have no orders yet", not "that order". */
static bool no_orders_yet(eng_turn *t)
{
    if (order_number(t))
        return false;
    store_order *list = NULL;
    size_t n = 0;
    if (store_order_list(eng__store(t), eng__user_id(t), 1, &list, &n, NULL) < 0)
        return false;
    store_order_list_free(list, n);
    return n == 0;
}

/* The priced cart as a confirmation question shows it: its lines (SKU,
 * quantity, final price) and total. */
static json_object *shown_cart(eng_turn *t)
{
    json_object *shown = json_object_new_object(), *lines = json_object_new_array();
    json_object *items = eng__json_path(t->ctx, "cart.items");
    for (size_t i = 0; items && i < json_object_array_length(items); i++) {
        json_object *it = json_object_array_get_idx(items, i), *l = json_object_new_object();
        static const char *const keep[] = {"sku", "qty", "finalPrice", NULL};
        for (size_t k = 0; keep[k]; k++)
            json_object_object_add(l, keep[k], json_object_get(eng__json_path(it, keep[k])));
        json_object_array_add(lines, l);
    }
    ENG_JADD(shown, "items", lines);
    ENG_JADD(shown, "total", json_object_get(eng__json_path(t->ctx, "cart.total")));
    return shown;
}

/* confirmed: the priced cart the shopper said yes to (NULL when no
 * question was asked): the order is that cart or nothing */
static eng_result place(eng_turn *t, const char *pending_id, json_object *confirmed, const char *delivery)
{
    json_object *cart = eng__json_path(t->ctx, "cart");
    json_object *a = json_object_new_object();
    ENG_JADD(a, "cartId", json_object_get(eng__json_path(cart, "id")));
    ENG_JADD(a, "total", json_object_get(eng__json_path(cart, "total")));
    ENG_JADD(a, "subtotal", json_object_get(eng__json_path(cart, "subtotal")));
    ENG_JADD(a, "discounts", json_object_get(eng__json_path(cart, "discounts")));
    ENG_JADD(a, "items", json_object_get(eng__json_path(cart, "items")));
    ENG_JADD(a, "type", json_object_new_string("order.create"));
    /* the saved address and card or no order (checked again in the core) */
    ENG_JADD(a, "savedFacts", json_object_new_boolean(1));
    if (confirmed)
        ENG_JADD(a, "confirmed", json_object_get(confirmed));
    if (delivery)   /* the option the question showed */
        ENG_JADD(a, "delivery", json_object_new_string(delivery));
    /* the commerce core vetoes (with the cart in view) when the action
     * stage places it */
    json_object *act = eng__action_add(t, "order.create", a);
    /* the key comes from the confirmation, so "yes" sent twice (or
     * replayed after a reconnect) places one order */
    char key[256];
    snprintf(key, sizeof key, "order:%s:%s", eng__json_str(t->ctx, "sessionId", "local"), pending_id);
    ENG_JADD(act, "key", json_object_new_string(key));
    return ENG_R_OK;
}


/* ------------------------------------------------------------ the facts
 * The chat asks "shall I place the order?" only with a saved delivery
 * address and a saved card.  The address it collects in conversation
 * (session.checkoutDraft.address), shows back, and saves through
 * eng_shop_address_set, the call the checkout page's form makes, once the
 * shopper says yes.  A card it never takes: card digits typed here would
 * stay in the history and the traces, so without a saved card the reply
 * hands over to the checkout page (ui.actions open_checkout). */

/* the draft kept between the turns of a chat checkout (created) */
static json_object *draft(eng_turn *t)
{
    json_object *sess = eng__session(t), *d = eng__json_path(sess, "checkoutDraft");
    if (!d || !json_object_is_type(d, json_type_object)) {
        d = json_object_new_object();
        ENG_JADD(sess, "checkoutDraft", d);
    }
    return d;
}

static eng_shopper shopper_of(eng_turn *t)
{
    /* the address and card calls need no pipeline */
    eng_shopper w = {.store = eng__store(t), .user_id = eng__user_id(t),
                     .session_id = eng__json_str(t->ctx, "sessionId", NULL), .via = "chat"};
    return w;
}

static bool has_saved(eng_turn *t, bool card)
{
    eng_shopper w = shopper_of(t);
    eng_shop_result r;
    if ((card ? eng_shop_payment_get(&w, &r) : eng_shop_address_get(&w, &r)) < 0)
        return false;
    bool ok = r.status == ENG_SHOP_OK;
    eng_shop_result_clear(&r);
    return ok;
}

/* The parts of address `a` understood so far, on one line as that
 * country's envelopes order them: "8 Orchard Lane, Eugene, OR 97401,
 * United States"; "4 Bay Road, Leeds, LS1 4AP, United Kingdom"; "12 Rue
 * Cler, 75007 Paris, France". */
static void address_line(json_object *a, char *text, size_t cap)
{
    static const char *const names[][2] = {
        {"US", "United States"}, {"CA", "Canada"},  {"GB", "United Kingdom"}, {"UK", "United Kingdom"},
        {"IE", "Ireland"},       {"DE", "Germany"}, {"FR", "France"},         {"IT", "Italy"},
        {"ES", "Spain"},         {"NL", "Netherlands"}, {"BE", "Belgium"},    {"AT", "Austria"},
        {"PT", "Portugal"},      {"AU", "Australia"},
    };
#define PART(k) json_object_get_string(json_object_object_get(a, k))
    const char *country = PART("country"), *zip = PART("postalCode"), *city = PART("city"), *region = PART("region");
    const char *cname = country;
    for (size_t i = 0; country && i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(country, names[i][0]) == 0)
            cname = names[i][1];
    bool north_america = country && (strcasecmp(country, "US") == 0 || strcasecmp(country, "CA") == 0);
    bool british = country && (strcasecmp(country, "GB") == 0 || strcasecmp(country, "UK") == 0 ||
                               strcasecmp(country, "IE") == 0);
    char place[256] = "";
    if (north_america)   /* "Eugene, OR 97401" */
        snprintf(place, sizeof place, "%s%s%s%s%s", city ? city : "", city && (region || zip) ? ", " : "",
                 region ? region : "", region && zip ? " " : "", zip ? zip : "");
    else if (british)    /* "Leeds, LS1 4AP" */
        snprintf(place, sizeof place, "%s%s%s", city ? city : "", city && zip ? ", " : "", zip ? zip : "");
    else                 /* "75007 Paris" */
        snprintf(place, sizeof place, "%s%s%s%s%s", zip ? zip : "", zip && city ? " " : "", city ? city : "",
                 region && (zip || city) ? ", " : "", region ? region : "");
    const char *parts[] = {PART("name"), PART("line1"), PART("line2"), place, cname, PART("phone")};
#undef PART
    size_t used = 0;
    text[0] = '\0';
    for (size_t i = 0; i < sizeof parts / sizeof parts[0] && used < cap; i++)
        if (parts[i] && *parts[i])
            used += (size_t)snprintf(text + used, cap - used, "%s%s", used ? ", " : "", parts[i]);
}

/* the question about the address: what is missing, or "is this right?" */
static eng_result ask_address(eng_turn *t)
{
    json_object *sess = eng__session(t), *d = draft(t);
    json_object *a = eng__json_path(d, "address");
    if (!a) {
        a = json_object_new_object();
        ENG_JADD(d, "address", a);
    }
    /* a country no delivery option goes to is refused as soon as it is
     * said: the address is dropped, nothing is saved or charged */
    const eng_delivery_opt *o;
    char field[64], why[300];
    const char *cc = eng__json_str(a, "country", NULL);
    if (cc && eng__delivery_choose(eng__checkout_cfg(t->p), cc, NULL, &o, field, sizeof field, why, sizeof why) < 0) {
        json_object *pr = json_object_new_object();
        ENG_JADD(pr, "field", json_object_new_string(field));
        ENG_JADD(pr, "reason", json_object_new_string(why));
        eng__set_var(t, "addressProblem", pr);
        eng__turn_note(t, "no delivery option goes to %s: the address is dropped", cc);
        a = json_object_new_object();
        ENG_JADD(d, "address", a);
    } else if (eng__address_refused(eng__checkout_cfg(t->p), a, field, sizeof field, why, sizeof why)) {
        /* "PO Box 123", "Unit 5, APO AE 09012": the street asked again */
        json_object *pr = json_object_new_object();
        ENG_JADD(pr, "field", json_object_new_string(field));
        ENG_JADD(pr, "reason", json_object_new_string(why));
        eng__set_var(t, "addressProblem", pr);
        eng__turn_note(t, "a PO box or military address: the street asked again");
        json_object_object_del(a, "line1");
        json_object_object_del(a, "line2");
    }
    const char *missing = eng__address_missing(a);
    json_object *p = json_object_new_object();
    ENG_JADD(p, "type", json_object_new_string("checkout.address"));
    ENG_JADD(p, "id", json_object_new_string(eng__json_str(t->ctx, "message.id", "m")));
    ENG_JADD(p, "turn", json_object_new_int64(json_object_get_int64(eng__json_path(sess, "turns"))));
    if (missing)
        ENG_JADD(p, "wanted", json_object_new_string(missing));
    ENG_JADD(sess, "pending", p);
    json_object *shown = NULL;
    json_object_deep_copy(a, &shown, NULL);
    eng__set_var(t, "address", shown);
    char text[600];
    address_line(a, text, sizeof text);
    eng__set_var(t, "addressText", json_object_new_string(text));
    if (missing) {
        eng__set_var(t, "needAddress", json_object_new_boolean(1));
        eng__set_var(t, "addressStarted", json_object_new_boolean(json_object_object_length(a) > 0));
        static const char *const said[][2] = {{"name", "the recipient's name"}, {"line1", "the street and number"},
                                              {"city", "the city"}, {"postalCode", "the postal code"},
                                              {"country", "the country"}};
        char want[160] = "";
        size_t wl = 0;
        for (size_t i = 0; i < sizeof said / sizeof said[0] && wl < sizeof want; i++)
            if (!json_object_object_get(a, said[i][0]))
                wl += (size_t)snprintf(want + wl, sizeof want - wl, "%s%s", wl ? ", " : "", said[i][1]);
        eng__set_var(t, "addressMissing", json_object_new_string(want));
        ENG_JADD(p, "missing", json_object_new_string(want));   /* for a reminder */
        eng__turn_note(t, "asked for the delivery address (%s missing)", missing);
    } else {
        eng__set_var(t, "confirmAddress", json_object_new_boolean(1));
        eng__turn_note(t, "asked to confirm the delivery address");
    }
    return ENG_R_OK;
}

/* ui.actions: what the page may offer beside the text (gateway: the
 * reply's uiActions) */
static json_object *ui_action(eng_turn *t, const char *type, const char *label)
{
    json_object *ui = eng__json_path(t->ctx, "ui");
    if (!ui) {
        ui = json_object_new_object();
        ENG_JADD(t->ctx, "ui", ui);
    }
    json_object *acts = eng__json_path(ui, "actions");
    if (!acts) {
        acts = json_object_new_array();
        ENG_JADD(ui, "actions", acts);
    }
    json_object *a = json_object_new_object();
    ENG_JADD(a, "type", json_object_new_string(type));
    ENG_JADD(a, "label", json_object_new_string(label));
    json_object_array_add(acts, a);
    return a;
}

/* The checkout page offered, with the delivery option chosen here and the
 * address collected here (when it is not on the account). */
static void offer_checkout(eng_turn *t, const char *label)
{
    json_object *d = draft(t);
    json_object *a = ui_action(t, "open_checkout", label);
    const char *del = eng__json_str(d, "delivery", NULL);
    if (del)
        ENG_JADD(a, "delivery", json_object_new_string(del));
    json_object *addr = eng__json_path(d, "address");
    if (addr && json_object_object_length(addr) > 0)
        ENG_JADD(a, "address", json_object_get(addr));
}

/* No saved card: the checkout page takes it, with the cart, the address
 * and the delivery option chosen. */
static eng_result hand_over(eng_turn *t)
{
    /* the account's address stands: an older draft must not cover it */
    json_object_object_del(draft(t), "address");
    offer_checkout(t, "Pay on the checkout page");
    const char *del = eng__json_str(draft(t), "delivery", NULL);
    eng__set_var(t, "checkout", eng__checkout_quote(t, del));
    eng__set_var(t, "needCard", json_object_new_boolean(1));
    eng__turn_note(t, "no saved card: handed over to the checkout page");
    return ENG_R_OK;
}

/* The delivery option chosen in the chat (the draft's) where it does not
 * go to the saved address's country: said (vars.deliveryProblem) and
 * dropped, so the question, the checkout page and the order all use the
 * first option that does (eng__delivery_choose decides, as the order).
 * True when no option goes to the saved address at all (one saved before
 * the shop stopped delivering there): it becomes the draft, which
 * ask_address refuses, and another is asked for. */
static bool delivery_check(eng_turn *t)
{
    json_object *d = draft(t);
    const char *asked = eng__json_str(d, "delivery", NULL);
    eng_shopper w = shopper_of(t);
    eng_shop_result r;
    if (eng_shop_address_get(&w, &r) < 0)
        return false;
    const eng_delivery_opt *o;
    char field[64], why[300];
    bool unserved = false;
    if (r.status == ENG_SHOP_OK &&
        eng__delivery_choose(eng__checkout_cfg(t->p), eng__json_str(r.info, "country", NULL), asked, &o, field,
                             sizeof field, why, sizeof why) < 0) {
        if (strcmp(field, "delivery") == 0) {
            eng__set_var(t, "deliveryProblem", json_object_new_string(why));
            eng__turn_note(t, "delivery option %s does not go to the saved address: dropped", asked);
            json_object_object_del(d, "delivery");
        } else {
            ENG_JADD(d, "address", json_object_get(r.info));
            unserved = true;
        }
    }
    eng_shop_result_clear(&r);
    return unserved;
}

/* The parts of the address the message gave (slots.address), over the
 * draft's. */
static void address_merge(eng_turn *t, json_object *given)
{
    json_object *d = draft(t);
    json_object *a = eng__json_path(d, "address");
    if (!a) {
        a = json_object_new_object();
        ENG_JADD(d, "address", a);
    }
    json_object_object_foreach(given, k, v) json_object_object_add(a, k, json_object_get(v));
    eng__address_apply_number(a);   /* "the house number is 15" */
    json_object_object_del(d, "refused");   /* put right: asked again, a yes saves it */
}

/* A turn that answers the checkout's address question is a checkout
 * turn, whatever the classifier read (kept as intent.read): the reply
 * is the checkout's. */
static void checkout_turn(eng_turn *t)
{
    json_object *in = eng__json_path(t->ctx, "intent");
    if (!in || strcmp(eng__json_str(in, "name", ""), "checkout") == 0)
        return;
    ENG_JADD(in, "read", json_object_get(json_object_object_get(in, "name")));
    ENG_JADD(in, "name", json_object_new_string("checkout"));
    ENG_JADD(in, "source", json_object_new_string("context"));
}

bool eng__agent_keeps_saved_address(const char *text)
{
    static const char *const keep[] = {"use", "keep", "stick with", "go with", "stay with", "same", "ship to",
                                       "send to", "deliver to", "just", NULL};
    static const char *const saved[] = {"saved address", "old address", "usual address", "normal address",
                                        "current address", "existing address", "original address",
                                        "address on file", "address on my account", "my address",
                                        "the address i have", "home address", "same address", "regular address",
                                        "previous address", "first address", "other address", NULL};
    static const char *const elsewhere[] = {"work", "office", "mom", "mum", "dad", "parents", "parent's",
                                            "friend", "sister", "brother", "new", "different", "another",
                                            "business", "company", "son", "daughter", "wife", "husband", NULL};
    if (!eng__agent_has_word(text, keep) || eng__agent_has_word(text, elsewhere) || strpbrk(text, "0123456789"))
        return false;
    /* "keep my austin address": the account's, named by its city */
    return eng__agent_has_word(text, saved) ||
           (eng__agent_has_word(text, (const char *const[]){"address", NULL}) &&
            eng__agent_has_word(text, (const char *const[]){"my", "the old", "the one i have", NULL}));
}

/* "yes" to the address shown: save it to the account, as the checkout
 * page does; "no": keep nothing on the account and say how to go on. */
static eng_result answer_address(eng_turn *t, bool yes)
{
    json_object *a = eng__json_path(draft(t), "address");
    json_object *given = eng__json_path(t->ctx, "slots.address");
    if (!yes && given && a) {
        /* "no, the zip is 97205": the field put right, the address shown
         * again and asked */
        address_merge(t, given);
        eng__turn_note(t, "no, with a part of the address put right: shown again, asked");
        return ask_address(t);
    }
    if (!yes && eng__agent_keeps_saved_address(eng__json_str(t->ctx, "message.text", "")) && has_saved(t, false)) {
        /* "no, keep my old address": the draft dropped, back to the
         * summary with the saved one */
        json_object_object_del(draft(t), "address");
        json_object_object_del(eng__session(t), "pending");
        eng__set_var(t, "addressKeptSaved", json_object_new_boolean(1));
        eng__turn_note(t, "the new address refused for the saved one: the summary with it");
        return ENG_R_OK;
    }
    if (yes && json_object_get_boolean(eng__json_path(draft(t), "refused"))) {
        /* a "yes" after the shopper said no to this address saves
         * nothing: what to correct is asked again */
        ask_address(t);
        json_object_object_del(eng__json_path(t->ctx, "vars"), "confirmAddress");
        eng__set_var(t, "addressNotSaved", json_object_new_boolean(1));
        eng__set_var(t, "addressRefused", json_object_new_boolean(1));
        eng__turn_note(t, "yes to an address the shopper refused: nothing saved, asked what to correct");
        return ENG_R_OK;
    }
    if (!yes) {
        /* nothing saved; corrections are still heard next turn, and the
         * checkout page can take the address as it stands; a later bare
         * "yes" does not save it (draft.refused, cleared by a correction) */
        if (a)
            ENG_JADD(draft(t), "refused", json_object_new_boolean(1));
        if (has_saved(t, false))
            eng__set_var(t, "hasSavedAddress", json_object_new_boolean(1));
        ask_address(t);
        json_object_object_del(eng__json_path(t->ctx, "vars"), "confirmAddress");
        eng__set_var(t, "addressNotSaved", json_object_new_boolean(1));
        offer_checkout(t, "Finish on the checkout page");
        return ENG_R_OK;
    }
    if (!a || eng__address_missing(a))
        return ask_address(t);
    eng_shopper w = shopper_of(t);
    eng_shop_result r;
    if (eng_shop_address_set(&w, a, &r) < 0 || r.status != ENG_SHOP_OK) {
        json_object *why = json_object_new_object();
        ENG_JADD(why, "field", json_object_new_string(r.field));
        ENG_JADD(why, "reason", json_object_new_string(r.reason));
        eng__set_var(t, "addressProblem", why);
        /* the field named is asked again */
        const char *f = strncmp(r.field, "address.", 8) == 0 ? r.field + 8 : NULL;
        if (f && r.status == ENG_SHOP_INVALID)
            json_object_object_del(a, f);
        eng_shop_result_clear(&r);
        return ask_address(t);
    }
    eng_shop_result_clear(&r);
    json_object_object_del(eng__session(t), "pending");
    json_object_object_del(draft(t), "address");
    eng__set_var(t, "addressSaved", json_object_new_boolean(1));
    eng__turn_note(t, "the delivery address is saved to the account");
    return ENG_R_OK;
}

/* "yes" / "no" to a question about the cart: no login needed. */
/* The count a yes says: its quantity entity, or a number standing
 * alone ("yes 5 please", "sure, four"); 0 when none or more than one. */
static int64_t yes_count(eng_turn *t)
{
    json_object *ents = eng__json_path(t->ctx, "entities");
    int64_t q = 0;
    int n = 0;
    for (size_t i = 0; ents && i < json_object_array_length(ents); i++) {
        json_object *e = json_object_array_get_idx(ents, i);
        if (strcmp(eng__json_str(e, "type", ""), "quantity") == 0)
            q = json_object_get_int64(eng__json_path(e, "value")), n++;
    }
    if (n)
        return n == 1 && q >= 1 && q <= 999 ? q : 0;
    static const char *const words[] = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                                        "nine", "ten", NULL};
    const char *text = eng__json_str(t->ctx, "message.text", "");
    for (const char *p = text; *p; p++) {
        if (p > text && isalnum((unsigned char)p[-1]))
            continue;
        size_t d = strspn(p, "0123456789");
        int64_t v = 0;
        if (d > 0 && d <= 3 && !isalnum((unsigned char)p[d]) && p[d] != '.' && p[d] != '$')
            v = strtoll(p, NULL, 10);
        for (size_t w = 1; !d && words[w] && !v; w++) {
            size_t k = strlen(words[w]);
            if (strncasecmp(p, words[w], k) == 0 && !isalnum((unsigned char)p[k]))
                v = (int64_t)w;
        }
        if (v > 0) {
            if (q)
                return 0;   /* two numbers: not sure which */
            q = v;
        }
        if (d)
            p += d - 1;
    }
    /* "one" alone is a word of many a yes ("yes that one") */
    return q > 1 || (q == 1 && strpbrk(text, "1")) ? q : 0;
}

static eng_result answer_cart(eng_turn *t, json_object *pending, bool yes)
{
    /* "yes but the iphone x instead", "yes but in pink", "yes but keep
     * the pan too": a yes to something else than what was asked */
    static const char *const but[] = {"but", "instead", "rather", "except", "not the", "other than", NULL};
    bool counted = false;   /* "ok but just 2": the yes with its own count */
    json_object *ents = eng__json_path(t->ctx, "entities");
    for (size_t i = 0; ents && i < json_object_array_length(ents); i++)
        counted |= strcmp(eng__json_str(json_object_array_get_idx(ents, i), "type", ""), "quantity") == 0;
    if (yes && !counted && eng__agent_has_word(eng__json_str(t->ctx, "message.text", ""), but)) {
        eng__set_var(t, "mixedAnswer", json_object_new_boolean(1));
        eng__agent_keep_pending(t);
        eng__turn_note(t, "a yes with a but: nothing changed, asked again");
        return ENG_R_OK;
    }
    if (yes && eng__agent_contradicts(eng__json_str(pending, "type", ""), eng__json_str(t->ctx, "message.text", ""))) {
        /* "yes, take it out" to "shall I add it?": no answer either way;
         * nothing changes and the question is asked again */
        eng__set_var(t, "mixedAnswer", json_object_new_boolean(1));
        eng__agent_keep_pending(t);
        eng__turn_note(t, "a yes with words of the opposite change: nothing changed, asked again");
        return ENG_R_OK;
    }
    int64_t q = yes ? yes_count(t) : 0, asked = json_object_get_int64(eng__json_path(pending, "qty"));
    if (q > 0 && strcmp(eng__json_str(pending, "type", ""), "cart.add") == 0 && eng__json_str(pending, "sku", NULL) &&
        !eng__json_path(pending, "more") && !eng__json_path(pending, "replaces") && q != (asked > 0 ? asked : 1)) {
        /* "yes 5 please" to "add 2 of the Kiwi?": that many, as "ok but
         * just 2" is */
        json_object_object_add(pending, "qty", json_object_new_int64(q));
        eng__turn_note(t, "a yes with a count of its own: %lld", (long long)q);
    }
    json_object *p = json_object_get(pending);
    json_object_object_del(eng__session(t), "pending");
    eng_result r = ENG_R_OK;
    if (yes) {
        r = eng__agent_cart_apply(t, p);
    } else {
        eng__set_var(t, "changeDropped", json_object_new_boolean(1));
        eng__turn_note(t, "the shopper said no: the cart stays");
    }
    json_object_put(p);
    return r;
}

/* The cancellation of order `ord` (cleared here) proposed to the action
 * stage, which runs it through the commerce core. */
static eng_result propose_cancel(eng_turn *t, store_order *ord)
{
    json_object *a = json_object_new_object();
    ENG_JADD(a, "orderId", json_object_new_int64(ord->id));
    ENG_JADD(a, "type", json_object_new_string("order.cancel"));
    json_object_object_add(eng__json_path(t->ctx, "results"), "order", order_json(ord));
    store_order_clear(ord);
    eng__action_add(t, "order.cancel", a);
    return ENG_R_OK;
}

/* Whether a cancel_order reading is too unsure to act on: below the
 * stage's confirm_below, or a guess of the classifier's (reread,
 * unsure). */
static bool cancel_unsure(eng_turn *t, const agent_opts *o)
{
    const char *src = eng__json_str(t->ctx, "intent.source", "");
    double conf = json_object_get_double(eng__json_path(t->ctx, "intent.confidence"));
    /* "can i cancel my order?" asks whether it can be done: asked back */
    return strcmp(src, "reread") == 0 || strcmp(src, "unsure") == 0 || strcmp(src, "catalog") == 0 ||
           (o->confirm_below > 0 && conf < o->confirm_below) ||
           (o->confirm_below > 0 && eng__agent_is_question(eng__json_str(t->ctx, "message.text", "")));
}

/* "cancel just the wok" of an order of two lines: the whole order is
 * what can be cancelled, said (vars.partialCancel: the title named);
 * "cancel orders 1 and 2", "cancel both orders": one at a time, said
 * (vars.oneOrderAtATime). */
/* "cancel order 1 and 2", "#3, #4", "orders 5 & 6": two order numbers
 * joined by "and", "&", "+" or a comma. */
static bool two_numbers(const char *text)
{
    const char *prev = NULL;
    for (const char *p = text; *p;) {
        while (*p && !isdigit((unsigned char)*p))
            p++;
        if (!*p)
            break;
        const char *d = p;
        while (isdigit((unsigned char)*p))
            p++;
        /* a whole number of its own, not a price or a part of a word */
        if ((d > text && (isalnum((unsigned char)d[-1]) || d[-1] == '$' || d[-1] == '.')) || *p == '.' ||
            isalpha((unsigned char)*p)) {
            prev = NULL;
            continue;
        }
        if (prev) {
            char gap[16];
            size_t g = 0;
            for (const char *q = prev; q < d && g + 1 < sizeof gap; q++)
                if (!strchr(" #", *q))
                    gap[g++] = (char)tolower((unsigned char)*q);
            gap[g] = '\0';
            if (!strcmp(gap, "and") || !strcmp(gap, "&") || !strcmp(gap, "+") || !strcmp(gap, ",") ||
                !strcmp(gap, ",and") || !strcmp(gap, "andorder") || !strcmp(gap, "andalso"))
                return true;
        }
        prev = p;
    }
    return false;
}

static void cancel_notes(eng_turn *t, const store_order *ord)
{
    const char *text = eng__json_str(t->ctx, "message.text", "");
    static const char *const several[] = {"both orders", "all orders", "all my orders", "every order", "orders",
                                          "all of them", "both of them", NULL};
    if (eng__agent_has_word(text, several) || two_numbers(text))
        eng__set_var(t, "oneOrderAtATime", json_object_new_boolean(1));
    if (ord->n_lines < 2)
        return;
    char words[160];
    eng__agent_name_words(t, words, sizeof words);
    if (!words[0])
        return;
    int fits = 0;
    const char *named = NULL;
    for (size_t k = 0; k < ord->n_lines; k++)
        if (eng__agent_title_fits(words, ord->lines[k].title) > 0)
            fits++, named = ord->lines[k].title;
    if (fits >= 1 && (size_t)fits < ord->n_lines)
        eng__set_var(t, "partialCancel", json_object_new_string(named));
}

/* "Shall I cancel order #N (1 item, $X)?": the question kept in the
 * session for the next message's answer; `ord` is cleared. */
static eng_result ask_cancel(eng_turn *t, store_order *ord)
{
    cancel_notes(t, ord);
    json_object *sess = eng__session(t), *p = json_object_new_object();
    ENG_JADD(p, "type", json_object_new_string("order.cancel"));
    ENG_JADD(p, "id", json_object_new_string(eng__json_str(t->ctx, "message.id", "m")));
    ENG_JADD(p, "turn", json_object_new_int64(json_object_get_int64(eng__json_path(sess, "turns"))));
    ENG_JADD(p, "orderId", json_object_new_int64(ord->id));
    ENG_JADD(sess, "pending", p);
    json_object_object_add(eng__json_path(t->ctx, "results"), "order", order_json(ord));
    eng__set_var(t, "confirmCancel", json_object_new_boolean(1));
    store_order_clear(ord);
    return ENG_R_OK;
}

/* "no, the wok order", "no the other one" to "Shall I cancel order
 * #id?": the order whose lines the words name, or the one other order
 * still placed; 0 when the words name no other. */
static int64_t other_order_named(eng_turn *t, int64_t id)
{
    store_order *list = NULL;
    size_t n = 0;
    if (store_order_list(eng__store(t), eng__user_id(t), 20, &list, &n, NULL) < 0)
        return 0;
    bool several = false;
    int at = n > 1 ? named_order(t, list, n, &several) : -1;
    int64_t other = at >= 0 && list[at].id != id ? list[at].id : 0;
    if (!other && at < 0 && !several &&
        eng__agent_has_word(eng__json_str(t->ctx, "message.text", ""),
                            (const char *const[]){"other", "other one", "another", "different", "wrong one", NULL})) {
        int placed = 0;
        for (size_t i = 0; i < n; i++)
            if (list[i].id != id && strcmp(list[i].status, "placed") == 0)
                other = list[i].id, placed++;
        if (placed != 1)
            other = 0;
    }
    store_order_list_free(list, n);
    return other;
}

/* The answer to "Shall I cancel order #N?": yes cancels that order (the
 * one asked about, whatever is newest now), no leaves it. */
static eng_result answer_cancel(eng_turn *t, json_object *pending, bool yes)
{
    int64_t id = json_object_get_int64(eng__json_path(pending, "orderId"));
    json_object_object_del(eng__session(t), "pending");
    eng__agent_read_as(t, "cancel_order");
    int64_t other = order_number(t);
    if (!yes && !other)
        other = other_order_named(t, id);
    if (!yes && other && other != id) {
        /* "no wait, order 2" to "Shall I cancel order #1?": that one,
         * asked */
        store_order ord = {0};
        if (store_order_get(eng__store(t), other, &ord, NULL) == 0 && ord.user_id == eng__user_id(t) &&
            strcmp(ord.status, "placed") == 0) {
            eng__turn_note(t, "no, another order named: asked whether to cancel order %" PRId64, ord.id);
            return ask_cancel(t, &ord);
        }
        store_order_clear(&ord);
    }
    if (!yes) {
        eng__set_var(t, "cancelDropped", json_object_new_int64(id));
        eng__turn_note(t, "the shopper said no: order %" PRId64 " stays", id);
        return ENG_R_OK;
    }
    store_order ord = {0};
    if (store_order_get(eng__store(t), id, &ord, NULL) < 0 || ord.user_id != eng__user_id(t) ||
        strcmp(ord.status, "placed") != 0) {
        store_order_clear(&ord);
        eng__set_var(t, "noOrder", json_object_new_boolean(1));
        return ENG_R_OK;
    }
    return propose_cancel(t, &ord);
}

/* Nothing is waiting: say so, with where the newest order stands. A
 * "yes" that itself asks to put something in the cart ("yes please add
 * it") is that request, for the cart agent. */
static eng_result nothing_to_confirm(const agent_call *c)
{
    eng_turn *t = c->t;
    static const char *const adding[] = {"add", "put", "grab", "include", "throw", "toss", "chuck", "pop",
                                         "go with", "i'll take", "ill take", "i'll have", "ill have", "i'll get",
                                         "take the", NULL};
    /* "ok get 2", "sure, buy one": a verb of having with a count */
    static const char *const having[] = {"get", "buy", "order", "take", NULL};
    const char *said = eng__json_str(t->ctx, "message.text", "");
    bool counted = eng__agent_has_word(said, having) && eng__slot(t, "quantity") &&
                   (eng__json_str(t->ctx, "session.focus", NULL) || eng__json_path(t->ctx, "session.shown"));
    if (eng__agent_has_word(said, adding) || counted) {
        if (counted)
            json_object_object_add(eng__json_path(t->ctx, "intent"), "source", json_object_new_string("reread"));
        eng__agent_read_as(t, "add_to_cart");
        eng__turn_note(t, "nothing to confirm, and an add is asked: read as add_to_cart");
        return eng__agent_cart(c);
    }
    if (eng__agent_cancel_request(eng__json_str(t->ctx, "message.text", "")) && eng__user_id(t)) {
        /* "ok cancel that order": a cancellation, asked first */
        eng__agent_read_as(t, "cancel_order");
        json_object_object_add(eng__json_path(t->ctx, "intent"), "source", json_object_new_string("reread"));
        eng__turn_note(t, "nothing to confirm, and a cancellation is asked: read as cancel_order");
        return eng__agent_order(c);
    }
    /* "ok lets pay", "yep checkout time" with goods in the cart: the
     * checkout, which asks what it needs before any order ("yes place
     * the order" again after it was placed is still nothing to confirm) */
    static const char *const paying[] = {"pay", "checkout", "check out", "place the order", "place my order",
                                         "order it", "buy it", "buy them", NULL};
    if (eng__agent_has_word(eng__json_str(t->ctx, "message.text", ""), paying) && eng__store(t) &&
        (eng__json_path(t->ctx, "cart.items") || eng__cart_refresh(t) == 0) &&
        json_object_get_int64(eng__json_path(t->ctx, "cart.count")) > 0) {
        eng__agent_read_as(t, "checkout");
        eng__turn_note(t, "nothing to confirm, and the checkout is asked: read as checkout");
        return eng__agent_order(c);
    }
    eng__set_var(t, "nothingToConfirm", json_object_new_boolean(1));
    store_order ord = {0};
    if (eng__user_id(t) && eng__json_path(eng__session(t), "lastConfirmed") && find_order(t, false, &ord, NULL)) {
        json_object_object_add(eng__json_path(t->ctx, "results"), "order", order_json(&ord));
        store_order_clear(&ord);
    }
    eng__turn_note(t, "nothing waits for a confirmation: nothing changes");
    return ENG_R_OK;
}

eng_result eng__agent_order(const agent_call *c)
{
    eng_turn *t = c->t;
    if (!eng__agent_hop(t))
        return ENG_R_OK;
    const agent_opts *o = c->o;
    const char *intent = eng__agent_intent(t);
    if (!eng__store(t)) {
        eng__set_var(t, "noCatalog", json_object_new_boolean(1));
        return ENG_R_DECLINED;
    }
    /* routed here for the order number it names ("what's happening with
     * order #1") under a reading that is no order intent: its status */
    static const char *const own[] = {"confirm", "deny", "checkout", "place_order", "order_history",
                                      "track_order", "cancel_order", NULL};
    bool known = false;
    for (size_t i = 0; own[i] && !known; i++)
        known = strcmp(intent, own[i]) == 0;
    if (!known && order_number(t)) {
        intent = eng__agent_read_as(t, "track_order");
        eng__turn_note(t, "an order number: read as track_order");
    }
    bool yes = strcmp(intent, "confirm") == 0, no = strcmp(intent, "deny") == 0;
    if (yes || no) {
        /* only the question just asked can be answered */
        json_object *fresh = eng__agent_pending_fresh(t);
        int doubt = yes && fresh ? eng__agent_hesitates(eng__json_str(t->ctx, "message.text", "")) : 0;
        if (doubt == 1) {
            /* "hmm not sure", "ok hold on": no yes yet; nothing is done
             * and the question waits */
            eng__set_var(t, "hesitant", json_object_new_boolean(1));
            eng__agent_keep_pending(t);
            eng__turn_note(t, "a hesitation, not a yes: nothing done, asked again");
            return ENG_R_OK;
        }
        if (doubt == 2) {
            /* "yeah nah": a no */
            intent = eng__agent_read_as(t, "deny");
            yes = false, no = true;
            eng__turn_note(t, "a no said as \"yeah nah\"");
        }
        if (yes && fresh && strcmp(eng__json_str(fresh, "type", ""), "order.create") == 0) {
            /* a yes to the order that says more: the order as shown is
             * not what was asked for, so nothing is placed */
            const char *said = eng__json_str(t->ctx, "message.text", "");
            const char *dl = eng__delivery_named(t, said), *pdel = eng__json_str(fresh, "delivery", NULL);
            int more = eng__agent_yes_and_more(said);
            if (dl && (!pdel || strcmp(dl, pdel) != 0)) {
                /* "yes but with express": the summary again, with it */
                intent = eng__agent_read_as(t, "checkout");
                yes = false;
                eng__turn_note(t, "a yes naming another delivery: the summary again with it");
            } else if (more == AGENT_YES_REMOVE || more == AGENT_YES_ADD) {
                /* "yes without the spatula", "yes, and add a wok too": the
                 * change first (asked or made), the order not placed */
                json_object_object_del(eng__session(t), "pending");
                eng__set_var(t, "orderQuestionDropped", json_object_new_boolean(1));
                eng__agent_read_as(t, more == AGENT_YES_REMOVE ? "remove_from_cart" : "add_to_cart");
                eng__set_var(t, "continued", json_object_new_boolean(1));
                eng__turn_note(t, "a yes to the order with a change of the cart: the change, asked; no order");
                return eng__agent_cart(c);
            } else if (more == AGENT_YES_OTHER) {
                if (eng__agent_names_other_payment(said))
                    eng__set_var(t, "otherPayment", json_object_new_boolean(1));
                eng__set_var(t, "hesitant", json_object_new_boolean(1));
                eng__set_var(t, "notPlainYes", json_object_new_boolean(1));
                eng__agent_keep_pending(t);
                eng__turn_note(t, "a yes with words of its own: nothing placed, asked again");
                return ENG_R_OK;
            }
        }
        if (fresh && strncmp(eng__json_str(fresh, "type", ""), "cart.", 5) == 0)
            return answer_cart(t, fresh, yes);
        if (fresh && strcmp(eng__json_str(fresh, "type", ""), "order.cancel") == 0 && eng__user_id(t))
            return answer_cancel(t, fresh, yes);
        if (fresh && strcmp(eng__json_str(fresh, "type", ""), "checkout.address") == 0 && eng__user_id(t)) {
            if (!eng__json_path(t->ctx, "cart.items"))
                eng__cart_refresh(t);
            checkout_turn(t);
            eng_result r = answer_address(t, yes);
            if (!json_object_get_boolean(eng__json_path(t->ctx, "vars.addressSaved")) &&
                !json_object_get_boolean(eng__json_path(t->ctx, "vars.addressKeptSaved")))
                return r;
            /* saved: on to the payment, as if asked to check out again */
            intent = "checkout";
        }
        /* a signed-out "yes" to nothing is not a reason to sign in */
        if (!fresh && !eng__user_id(t)) {
            if (yes)
                return nothing_to_confirm(c);
            return ENG_R_OK;
        }
    }
    if (!eng__user_id(t)) {
        eng__set_var(t, "needLogin", json_object_new_boolean(1));
        eng__turn_note(t, "%s needs a logged-in user", intent);
        return ENG_R_OK;
    }
    if (!eng__json_path(t->ctx, "cart.items"))
        eng__cart_refresh(t);
    json_object *sess = eng__session(t);
    json_object *pending = eng__json_path(sess, "pending");
    json_object *given = eng__json_path(t->ctx, "slots.address");
    bool address_turn = given && strcmp(eng__json_str(pending, "type", ""), "checkout.address") == 0;
    /* another address said at the summary: a new draft, the saved
     * recipient and country kept where the message names none, asked
     * ("Is that right?") before anything is saved or ordered */
    bool new_address = given && json_object_get_boolean(eng__json_path(t->ctx, "slots.newAddress")) &&
                       strcmp(eng__json_str(pending, "type", ""), "order.create") == 0;
    if (new_address) {
        json_object *a = json_object_new_object();
        eng_shopper w = shopper_of(t);
        eng_shop_result r = {0};
        /* a field put right ("actually the zip is 78704"): the saved
         * address with it; another address: the saved name and country */
        bool fix = json_object_get_boolean(eng__json_path(t->ctx, "slots.addressFix"));
        /* "send it to my brother": his name is asked, not the account's */
        bool someone = json_object_get_boolean(eng__json_path(t->ctx, "slots.addressOther"));
        static const char *const kept[] = {"name", "country", "line1", "line2", "city", "region", "postalCode", NULL};
        if (eng_shop_address_get(&w, &r) == 0 && r.status == ENG_SHOP_OK && r.info)
            for (size_t i = someone ? 1 : 0; kept[i] && (fix || i < 2); i++) {
                json_object *v = json_object_object_get(r.info, kept[i]);
                if (v && !json_object_object_get(given, kept[i]))
                    json_object_object_add(a, kept[i], json_object_get(v));
            }
        eng_shop_result_clear(&r);
        ENG_JADD(draft(t), "address", a);
        json_object_object_del(sess, "pending");
        eng__turn_note(t, "another delivery address at the summary: a new draft, asked");
        address_turn = true;
    }
    if (address_turn) {
        checkout_turn(t);   /* the parts of the address asked for */
        intent = "checkout";
    }
    if (strcmp(intent, "checkout") == 0 || strcmp(intent, "place_order") == 0) {
        if (json_object_get_int64(eng__json_path(t->ctx, "cart.count")) == 0) {
            eng__set_var(t, "cartEmpty", json_object_new_boolean(1));
            /* "add an apple watch" asked, then "checkout": the add is
             * still asked ("Shall I still add ...?"), not forgotten */
            if (strcmp(eng__json_str(eng__json_path(t->ctx, "session.pending"), "type", ""), "cart.add") == 0)
                eng__agent_keep_pending(t);
            return ENG_R_OK;
        }
        eng__set_var(t, "checkoutTurn", json_object_new_boolean(1));
        /* "add an apple watch" asked, then "checkout": the summary says
         * the watch is not in the order, so a yes does not buy less
         * than the shopper thinks */
        json_object *asked = eng__json_path(t->ctx, "session.pending");
        const char *atype = eng__json_str(asked, "type", "");
        if (strncmp(atype, "cart.", 5) == 0 && eng__json_str(asked, "title", NULL)) {
            /* a removal or a count asked and not answered too: the
             * summary says the cart is as it was */
            json_object *v = json_object_new_object();
            ENG_JADD(v, "title", json_object_new_string(eng__json_str(asked, "title", "")));
            const char *kind = strcmp(atype, "cart.add") == 0 ? "add" : strcmp(atype, "cart.remove") == 0 ? "remove" : "set";
            json_object_object_add(v, kind, json_object_new_boolean(1));
            eng__set_var(t, "addNotMade", v);
        }
        const char *chosen = eng__delivery_named(t, eng__json_str(t->ctx, "message.text", NULL));
        if (chosen)
            ENG_JADD(draft(t), "delivery", json_object_new_string(chosen));
        /* "checkout with next day delivery": a speed the shop has no
         * option for is said, and the summary shows the ones there are */
        static const char *const speeds[] = {"next day", "next-day", "overnight", "same day", "same-day",
                                             "two day", "2 day", "2-day", "priority", NULL};
        const char *said = eng__json_str(t->ctx, "message.text", "");
        for (size_t i = 0; !chosen && speeds[i]; i++)
            if (eng__agent_has_word(said, (const char *const[]){speeds[i], NULL}))
                eng__set_var(t, "deliveryNotOffered", json_object_new_string(speeds[i]));
        if (address_turn) {
            address_merge(t, given);
            return ask_address(t);
        }
        /* no order without a delivery address and a card on the account */
        if (!has_saved(t, false))
            return ask_address(t);
        if (delivery_check(t))
            return ask_address(t);
        if (!eng__json_str(draft(t), "delivery", NULL))
            chosen = NULL;
        if (!has_saved(t, true)) {
            if (strcmp(eng__json_str(pending, "type", ""), "order.create") == 0)
                json_object_object_del(sess, "pending");
            return hand_over(t);
        }
        pending = eng__json_path(sess, "pending");
        if (strcmp(eng__json_str(pending, "type", ""), "order.create") != 0)
            pending = NULL;
        /* a pending confirmation for the same cart is kept, so asking
         * twice still leads to one order; naming another delivery option
         * ("checkout with express delivery") asks again */
        const char *pid = eng__json_str(pending, "id", NULL);
        double ptotal = json_object_get_double(eng__json_path(pending, "total"));
        double total = json_object_get_double(eng__json_path(t->ctx, "cart.total"));
        const char *named = chosen ? chosen : eng__json_str(draft(t), "delivery", NULL);
        const char *pdel = eng__json_str(pending, "delivery", NULL);
        bool same_delivery = named ? (pdel && strcmp(pdel, named) == 0) : true;
        if (pid && ptotal == total && same_delivery) {
            /* asked again: the same question, asked now */
            ENG_JADD(pending, "turn",
                                   json_object_new_int64(json_object_get_int64(eng__json_path(sess, "turns"))));
            ENG_JADD(pending, "asked", json_object_new_string(eng__json_str(t->ctx, "message.id", "m")));
        } else {
            json_object *p = json_object_new_object();
            ENG_JADD(p, "type", json_object_new_string("order.create"));
            ENG_JADD(p, "id", json_object_new_string(eng__json_str(t->ctx, "message.id", "m")));
            ENG_JADD(p, "total", json_object_new_double(total));
            ENG_JADD(p, "turn", json_object_new_int64(json_object_get_int64(eng__json_path(sess, "turns"))));
            if (named || pdel)
                ENG_JADD(p, "delivery", json_object_new_string(named ? named : pdel));
            ENG_JADD(sess, "pending", p);
            pid = eng__json_str(p, "id", "m");
        }
        /* what the question shows: "yes" orders this cart or nothing */
        json_object_object_add(eng__json_path(sess, "pending"), "cart", shown_cart(t));
        if (!o->confirm_orders)
            return place(t, pid, NULL, eng__json_str(eng__json_path(sess, "pending"), "delivery", NULL));
        /* the question shows what "yes" charges: delivery and address too */
        eng__set_var(t, "checkout",
                     eng__checkout_quote(t, eng__json_str(eng__json_path(sess, "pending"), "delivery", NULL)));
        eng__set_var(t, "confirmOrder", json_object_new_boolean(1));
        eng__turn_note(t, "asked to confirm order of %.2f", total);
        return ENG_R_OK;
    }
    if (yes) {
        const char *pid = eng__json_str(pending, "id", NULL);
        if (!pid || strcmp(eng__json_str(pending, "type", ""), "order.create") != 0) {
            /* "yes" with nothing to confirm. Only a replay of the very
             * message that confirmed (a retry, a reconnect) gets the first
             * outcome again, through the same key; any other "yes" is not
             * about that order (it may be cancelled by now) and changes
             * nothing. */
            json_object *lc = eng__json_path(sess, "lastConfirmed");
            const char *done = eng__json_str(lc, "pending", NULL);
            const char *mid = eng__json_str(t->ctx, "message.id", "");
            if (done && strcmp(eng__json_str(lc, "message", ""), mid) == 0)
                return place(t, eng__pool_strdup(t->pool, done), NULL,
                             eng__pool_strdup(t->pool, eng__json_str(lc, "delivery", NULL)));
            return nothing_to_confirm(c);
        }
        char *id = eng__pool_strdup(t->pool, pid);
        json_object *lc = json_object_new_object();
        ENG_JADD(lc, "pending", json_object_new_string(id));
        ENG_JADD(lc, "message", json_object_new_string(eng__json_str(t->ctx, "message.id", "")));
        ENG_JADD(lc, "turn", json_object_new_int64(json_object_get_int64(eng__json_path(sess, "turns"))));
        const char *delivery = eng__pool_strdup(t->pool, eng__json_str(pending, "delivery", NULL));
        if (delivery)
            ENG_JADD(lc, "delivery", json_object_new_string(delivery));
        ENG_JADD(sess, "lastConfirmed", lc);
        json_object *shown = json_object_get(eng__json_path(pending, "cart"));
        json_object_object_del(sess, "pending");
        json_object_object_del(sess, "checkoutDraft");
        eng_result res = place(t, id, shown, delivery);
        json_object_put(shown);
        return res;
    }
    if (no) {
        if (pending) {
            json_object_object_del(sess, "pending");
            eng__set_var(t, "pendingCancelled", json_object_new_boolean(1));
        }
        return ENG_R_OK;
    }
    if (strcmp(intent, "order_history") == 0) {
        store_order *list = NULL;
        size_t n = 0;
        if (store_order_list(eng__store(t), eng__user_id(t), 10, &list, &n, NULL) < 0)
            return eng__turn_fail(t, "orders are not available right now");
        json_object *arr = json_object_new_array();
        for (size_t i = 0; i < n; i++)
            json_object_array_add(arr, order_json(&list[i]));
        store_order_list_free(list, n);
        json_object_object_add(eng__json_path(t->ctx, "results"), "orders", arr);
        return ENG_R_OK;
    }
    if (strcmp(intent, "cancel_order") == 0 &&
        json_object_get_boolean(eng__json_path(t->ctx, "vars.orderQuestionDropped")) && !order_number(t) &&
        !eng__agent_names_ordered(t)) {
        /* "cancel", "cancel it", "no cancel" to "Shall I place the
         * order?": this order is not placed; no placed one is touched */
        json_object_object_del(eng__json_path(t->ctx, "vars"), "orderQuestionDropped");
        eng__agent_read_as(t, "deny");
        eng__set_var(t, "pendingCancelled", json_object_new_boolean(1));
        eng__turn_note(t, "cancel said to the order's question: the order not placed, no other cancelled");
        return ENG_R_OK;
    }
    if (strcmp(intent, "cancel_order") == 0 && eng__agent_bare_cancel(eng__json_str(t->ctx, "message.text", "")) &&
        !eng__agent_names_ordered(t)) {
        /* "cancel", "nah cancel it" while a change of the cart or a choice
         * of products was asked, or right after the cart changed: that
         * question or change is what it cancels, never a placed order */
        const char *dropped = eng__json_str(t->ctx, "vars.questionDroppedType", "");
        if (strncmp(dropped, "cart.", 5) == 0 || eng__agent_remembered(t, "choosing")) {
            json_object_object_del(sess, "choosing");
            eng__agent_read_as(t, "deny");
            eng__set_var(t, "changeDropped", json_object_new_boolean(1));
            eng__turn_note(t, "cancel said to a question about the cart: nothing changed, no order touched");
            return ENG_R_OK;
        }
        eng_result back;
        if (eng__agent_cart_takes_back(c, &back)) {
            eng__turn_note(t, "cancel said right after a change of the cart: that change taken back, asked");
            return back;
        }
    }
    if (strcmp(intent, "cancel_order") == 0) {
        /* after a cancel, a "yes" must find nothing to replay */
        json_object_object_del(sess, "lastConfirmed");
        json_object_object_del(sess, "pending");
        store_order ord = {0};
        bool guessed = false;
        if (!find_order(t, true, &ord, &guessed)) {
            eng__set_var(t, no_orders_yet(t) ? "noOrders" : "noOrder", json_object_new_boolean(1));
            return ENG_R_OK;
        }
        /* "cancel my order" with several placed and none named, or "the
         * previous one": which one is a guess, so it is asked, named */
        if (c->o->confirm_cancels || cancel_unsure(t, c->o) || guessed) {
            /* "actually i changed my mind, cancel it" read weakly: a
             * cancellation moves money back, so it is asked first */
            eng__turn_note(t, "cancel asked first: order %" PRId64, ord.id);
            return ask_cancel(t, &ord);
        }
        return propose_cancel(t, &ord);
    }
    /* track_order and the rest: the status of the order meant */
    store_order ord = {0};
    if (!find_order(t, false, &ord, NULL)) {
        eng__set_var(t, no_orders_yet(t) ? "noOrders" : "noOrder", json_object_new_boolean(1));
        return ENG_R_OK;
    }
    json_object_object_add(eng__json_path(t->ctx, "results"), "order", order_json(&ord));
    eng__turn_note(t, "order %" PRId64 " is %s", ord.id, ord.status);
    store_order_clear(&ord);
    return ENG_R_OK;
}
