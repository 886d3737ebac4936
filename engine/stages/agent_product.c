/* engine/stages/agent_product.c — the product agent: search with the
 * message's entities as filters, follow-up refinements ("cheaper", "in
 * black", "only in stock", "more"), details of a shown product, and
 * comparisons of shown or named products, recommendations from the
 * catalog and the shopper's memory. Results are
 * re-ranked by the rules' boosts and priced by their price hooks. */
#define _GNU_SOURCE /* strcasestr */
#include "agent_int.h"
#include "engine/checkout_int.h"
#include "engine/knowledge_int.h"
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Words that carry no product meaning in a shopping request. */
static const char *const stop[] = {
    "a", "an", "the", "do", "does", "you", "your", "have", "has", "got", "any", "some", "show", "me",
    "find", "search", "looking", "look", "for", "i", "i'm", "im", "want", "wanna", "need", "buy", "get",
    "please", "can", "could", "would", "like", "to", "my", "is", "are", "there", "what", "which", "with",
    "of", "in", "on", "and", "or", "sell", "selling", "carry", "stock", "hi", "hello", "hey", "something",
    "anything", "under", "below", "over", "above", "less", "more", "than", "between", "cheap", "cheaper",
    "only", "available", "price", "priced", "around", "about", "also", "maybe", "good", "best", "nice",
    "decent", "excellent", "amazing", "awesome",
    "options", "option", "kind", "kinds", "type", "types", "them", "those", "these", "it", "one", "ones",
    "let", "see", "up", "at", "most", "least", "budget", "dollars", "dollar", "bucks", "usd", "eur",
    "euros", "gbp", "pounds", "we", "us", "our", "that", "this", "where", "how", "much", "many", "guys",
    "folks", "u", "ya", "they", "their", "its", "what's", "whats",
    /* asking for details is not part of a product's name */
    "tell", "details", "detail", "info", "information", "describe", "specs",
    /* chat filler */
    "pls", "plz", "yo", "ya", "u", "who", "likes", "loves", "really", "just", "im", "ive", "dont", "new",
    "sort", "sorted", "by", "now", "lowest", "highest", "from", "high", "low", "ok", "okay", "then",
    "actually", "instead", "i'd", "i'll", "we'd", "gimme", "but", "shopping", "budget's", "her", "his", "him",
    "she", "he", "their", "mine", "she's", "he's", "they're", "theyre", "into", "present", "presents",
    /* the shop's goods in general: "apple stuff" is Apple's products */
    "stuff", "things",
    /* "can you help me find": asking for help names nothing */
    "help", "helping",
    /* "do you have bananas too", "any kites either" */
    "too", "either", "as", "well",
    /* "take me back to the results" */
    "results", "result", "list",
    /* "those are all too expensive" ("way" stays: "3 way cap") */
    "all", NULL,
};

/* Words that order a list by price, lowest or highest first. */
static const char *const lowest[] = {"cheapest", "lowest price", "least expensive", "nothing too pricey",
                                     "nothing too expensive", "not too pricey", "not too expensive",
                                     "nothing expensive", "not expensive", "nothing pricey", "not so expensive",
                                     "low to high", "lowest to highest", NULL};
static const char *const highest[] = {"most expensive", "priciest", "highest price", "dearest", "high to low",
                                      "highest to lowest", NULL};

static bool is_stop(const char *w, size_t n)
{
    for (size_t i = 0; stop[i]; i++)
        if (strlen(stop[i]) == n && strncasecmp(stop[i], w, n) == 0)
            return true;
    return false;
}

/* The message without the spans of entities that became filters, and
 * without stop words and numbers. */
static void query_text(eng_turn *t, const char *text, char *out, size_t outn, bool keep_colors)
{
    size_t len = strlen(text);
    char *mask = eng__pool_alloc(t->pool, len + 1);
    if (!mask) {
        snprintf(out, outn, "%s", text);
        return;
    }
    memcpy(mask, text, len + 1);
    json_object *ents = eng__json_path(t->ctx, "entities");
    for (size_t i = 0; ents && i < json_object_array_length(ents); i++) {
        json_object *e = json_object_array_get_idx(ents, i);
        const char *type = eng__json_str(e, "type", "");
        /* brands, categories and colours stay in the text: they rank */
        /* a quantity in a search is a word of it: "45 fire pit", "48 bath
         * vanity", "35 frameless shower door" (a count of products to
         * show means nothing to a search; the engine ranks numbers that
         * no title has as it ranks any missing word) */
        static const char *const masked[] = {"money", "reference", "order_number", "email", "size", NULL};
        /* "not from apple": no word of what is not wanted is searched */
        bool m = (!keep_colors && strcmp(type, "color") == 0) || json_object_get_boolean(eng__json_path(e, "negated"));
        for (size_t k = 0; masked[k] && !m; k++)
            m = strcmp(type, masked[k]) == 0;
        if (!m)
            continue;
        int64_t s = json_object_get_int64(eng__json_path(e, "start"));
        int64_t en = json_object_get_int64(eng__json_path(e, "end"));
        if (s >= 0 && en > s && (size_t)en <= len)
            memset(mask + s, ' ', (size_t)(en - s));
    }
    size_t o = 0;
    const char *p = mask;
    while (*p && o + 2 < outn) {
        while (*p && !isalnum((unsigned char)*p) && (unsigned char)*p < 0x80)
            p++;
        const char *w = p;
        /* "3/8", "1-1/4", "2.5": a number's own slash and point stay in it */
        while (*p && (isalnum((unsigned char)*p) || *p == '\'' || *p == '-' || (unsigned char)*p >= 0x80 ||
                      ((*p == '/' || *p == '.') && p > w && isdigit((unsigned char)p[-1]) && isdigit((unsigned char)p[1]))))
            p++;
        size_t n = (size_t)(p - w);
        if (!n)
            continue;
        /* numbers stay: sizes ("1 1/4 finish nails", "16 x 26"), model
         * numbers ("xps 13 9300") and counts are words of the search;
         * prices, sizes and references were masked above */
        /* "can" after a product word is a can ("led can lighting", "trash
         * can liner"), not "can you" */
        bool can_noun = n == 3 && strncasecmp(w, "can", 3) == 0 && o && out[o - 1] != ' ' &&
                        !(*p == ' ' && (strncasecmp(p + 1, "i ", 2) == 0 || strncasecmp(p + 1, "you", 3) == 0 ||
                                        strncasecmp(p + 1, "u ", 2) == 0 || strncasecmp(p + 1, "we ", 3) == 0));
        if (is_stop(w, n) && !can_noun)
            continue;
        /* "for my son's first laptop": whose it is, not what */
        bool owner = n > 2 && w[n - 2] == '\'' && (w[n - 1] == 's' || w[n - 1] == 'S') && w - mask >= 3 &&
                     (strncasecmp(w - 3, "my ", 3) == 0 || (w - mask >= 4 && (strncasecmp(w - 4, "his ", 4) == 0 ||
                                                                                strncasecmp(w - 4, "her ", 4) == 0 ||
                                                                                strncasecmp(w - 4, "our ", 4) == 0)));
        /* "for my sister": the person, after a possessive */
        bool possessed = w - mask >= 3 && (strncasecmp(w - 3, "my ", 3) == 0 ||
                                           (w - mask >= 4 && (strncasecmp(w - 4, "his ", 4) == 0 ||
                                                              strncasecmp(w - 4, "her ", 4) == 0 ||
                                                              strncasecmp(w - 4, "our ", 4) == 0)));
        for (size_t k = 0; possessed && eng__agent_people[k] && !owner; k++)
            owner = strlen(eng__agent_people[k]) == n && strncasecmp(eng__agent_people[k], w, n) == 0;
        if (owner)
            continue;
        if (o + n + 2 >= outn)
            break;
        if (o)
            out[o++] = ' ';
        memcpy(out + o, w, n);
        o += n;
    }
    out[o] = '\0';
}

/* The value of the first entity of `type` that the message asks for
 * (`negated` false) or says it does not want (`negated` true). */
static const char *entity_of(eng_turn *t, const char *type, bool negated)
{
    json_object *ents = eng__json_path(t->ctx, "entities");
    for (size_t i = 0; ents && i < json_object_array_length(ents); i++) {
        json_object *e = json_object_array_get_idx(ents, i);
        if (strcmp(eng__json_str(e, "type", ""), type) == 0 &&
            json_object_get_boolean(eng__json_path(e, "negated")) == negated) {
            json_object *v = eng__json_path(e, "value");
            if (v && json_object_is_type(v, json_type_string))
                return json_object_get_string(v);
        }
        /* "any samsung ones", "the black ones" (several), or a brand no
         * product shown has: the brand asked for, not a pointer into the
         * list */
        if (!negated && strcmp(eng__json_str(e, "type", ""), "reference") == 0 &&
            strcmp(eng__json_str(e, "kind", ""), "attribute") == 0 &&
            (!json_object_get_boolean(eng__json_path(e, "resolved")) ||
             json_object_get_boolean(eng__json_path(e, "plural")))) {
            json_object *v = eng__json_path(eng__json_path(e, "attribute"), type);
            if (v && json_object_is_type(v, json_type_string))
                return json_object_get_string(v);
        }
    }
    return NULL;
}

/* What the message asks for of `type`, unless it also says it does not
 * want just that ("laptops from apple? no, not from apple"). */
static const char *entity_value(eng_turn *t, const char *type)
{
    const char *yes = entity_of(t, type, false), *no = yes ? entity_of(t, type, true) : NULL;
    return yes && no && strcasecmp(yes, no) == 0 ? NULL : yes;
}

static bool money_range(eng_turn *t, double *lo, double *hi)
{
    json_object *ents = eng__json_path(t->ctx, "entities");
    for (size_t i = 0; ents && i < json_object_array_length(ents); i++) {
        json_object *e = json_object_array_get_idx(ents, i);
        if (strcmp(eng__json_str(e, "type", ""), "money") != 0)
            continue;
        json_object *mn = eng__json_path(e, "value.min"), *mx = eng__json_path(e, "value.max");
        *lo = mn && !json_object_is_type(mn, json_type_null) ? json_object_get_double(mn) : -1;
        *hi = mx && !json_object_is_type(mx, json_type_null) ? json_object_get_double(mx) : -1;
        return *lo >= 0 || *hi >= 0;
    }
    return false;
}

/* shown products, kept small: what references and refinements need */
static void viewed(eng_turn *t, json_object *card);

json_object *eng__agent_shown_of(json_object *cards)
{
    json_object *a = json_object_new_array();
    static const char *const keep[] = {"sku", "title", "brand", "category", "price", "finalPrice", "rating", NULL};
    for (size_t i = 0; i < json_object_array_length(cards); i++) {
        json_object *c = json_object_array_get_idx(cards, i), *s = json_object_new_object(), *v;
        for (size_t k = 0; keep[k]; k++)
            if (json_object_object_get_ex(c, keep[k], &v))
                json_object_object_add(s, keep[k], json_object_get(v));
        json_object_array_add(a, s);
    }
    return a;
}

static void set_cards(eng_turn *t, json_object *cards)
{
    json_object_object_add(eng__json_path(t->ctx, "reply"), "cards", cards);
}

typedef struct query {
    char text[512];
    const char *category, *brand;
    const char *not_brand;   /* "laptops not from apple": left out */
    const char *not_word;    /* "a phone but not an iphone": titles without it */
    double lo, hi;
    int in_stock, offset;
    store_sort sort;
    int flags;     /* STORE_SEARCH_* beside FACETS */
} query;

/* The price bounds the message says ("under 50", "between 20 and 40")
 * set on q; whether it said any. */
static bool money_bounds(eng_turn *t, query *q)
{
    double lo, hi;
    if (!money_range(t, &lo, &hi))
        return false;
    if (lo >= 0)
        q->lo = lo;
    if (hi >= 0)
        q->hi = hi;
    return true;
}

/* What a reply can say that the cards do not: results.search.noun, the
 * kind of product found in the shopper's own word when the search kept
 * to that kind ("16 phones", "1 lipstick"; else "products"), and
 * results.search.order ("cheapest first"). */
/* Whether `type` is a word of `text` followed by another word that names
 * something ("tennis rackets", "phone case"): then it says what kind of
 * thing, not which thing, and "2 tennises" would be wrong. */
static bool type_modifies(const char *text, const char *type)
{
    static const char *const after[] = {"under", "below", "over", "above", "between", "for", "with", "from",
                                        "in", "on", "by", "that", "which", "please", "pls", "plz", "and", "or",
                                        "sorted", "sort", "less", "more", "than", "at", "to", "around", "up",
                                        "cheapest", "cheaper", "the", "a", "an", "of", "only", "too", NULL};
    size_t tl = strlen(type);
    for (const char *p = strcasestr(text, type); p && tl; p = strcasestr(p + 1, type)) {
        if ((p > text && isalnum((unsigned char)p[-1])) || isalpha((unsigned char)p[tl]))
            continue;
        const char *n = p + tl;
        while (*n && !isalnum((unsigned char)*n))
            n++;
        if (!isalpha((unsigned char)*n))
            return false;
        size_t k = 0;
        while (isalpha((unsigned char)n[k]))
            k++;
        for (size_t i = 0; after[i]; i++)
            if (strlen(after[i]) == k && strncasecmp(after[i], n, k) == 0)
                return false;
        return true;
    }
    return false;
}

static bool names_wanted(const char *text, const char *words);
/* "go back to the first page", "the previous ones" */
static const char *const first_page[] = {"first page", "first ones again", "start of the list",
                                         "beginning of the list", "back to the start", "back to the top",
                                         "previous page", "previous ones", "go back", "back a page",
                                         "back to the list", "back to the results", NULL};

static void describe(eng_turn *t, const query *q, int64_t total, json_object *cards, json_object *r)
{
    const char *type = eng__json_str(t->ctx, "understanding.productType", NULL);
    const char *cat = eng__json_str(t->ctx, "understanding.category", NULL);
    eng_buf b;
    eng__buf_init(&b);
    /* "kitchen" of kitchen-accessories, "skin" of skin-care name a
     * department, not the thing: "25 kitchens" would be wrong */
    size_t tl = type ? strlen(type) : 0;
    bool department = false;
    for (const char *p = cat; p && tl && *p && !department;) {
        size_t k = strcspn(p, "-");
        bool last = p[k] == '\0';
        static const char *const kinds[] = {"care", "accessories", "decoration", "supplies", "goods", NULL};
        bool kind = false;
        for (size_t i = 0; kinds[i] && !kind; i++)
            kind = strlen(kinds[i]) == k && strncasecmp(p, kinds[i], k) == 0;
        if (k == tl && strncasecmp(p, type, tl) == 0 && (!last || kind))
            department = true;
        p += k + !last;
        if (last)
            break;
    }
    eng_buf one;
    eng__buf_init(&one);
    if (type && cat && q->category && strcmp(cat, q->category) == 0 && tl < 40 && !department &&
        !type_modifies(eng__json_str(t->ctx, "message.text", ""), type))
        eng__singular(&one, type, strlen(type));
    /* "Laptops under $1500" starts a sentence: the reply's "I found 3
     * laptops" does not; a word with a capital inside ("iPhone", "TV")
     * keeps its letters */
    if (one.data && isupper((unsigned char)one.data[0])) {
        bool inner = false, shouted = one.len > 3;
        for (size_t i = 1; i < one.len; i++) {
            inner |= isupper((unsigned char)one.data[i]) != 0;
            shouted &= !islower((unsigned char)one.data[i]);
        }
        /* "SHOW ME PHONES" shouts a word that is not written so */
        for (size_t i = 0; i < one.len && shouted; i++)
            one.data[i] = (char)tolower((unsigned char)one.data[i]);
        if (!inner)
            one.data[0] = (char)tolower((unsigned char)one.data[0]);
    }
    /* only a word every card shown bears in its title or category: "2
     * lipsticks" must not name the red nail polish beside the lipstick */
    bool every = one.data != NULL;
    for (size_t i = 0; every && i < json_object_array_length(cards); i++) {
        json_object *c = json_object_array_get_idx(cards, i);
        every = (strcasestr(eng__json_str(c, "title", ""), one.data) ||
                 strcasestr(eng__json_str(c, "category", ""), one.data)) &&
                strcasecmp(eng__json_str(c, "brand", ""), one.data) != 0;   /* not "3 samsungs" */
    }
    /* "3 jewelleries", "2 furnitures": a word counted by its pieces */
    static const char *const uncountable[] = {"jewellery", "jewelry", "furniture", "clothing", "footwear",
                                              "luggage", "equipment", "skincare", "makeup", "cutlery",
                                              "kitchenware", "cookware", "bakeware", "eyewear", "golf",
                                              "decor", "software", "hardware", "stationery", NULL};
    for (size_t i = 0; every && uncountable[i]; i++)
        every = strcasecmp(one.data, uncountable[i]) != 0;
    if (every)
        eng__plural(&b, one.data, one.len, total == 1);
    else
        eng__plural(&b, "product", 7, total == 1);
    eng__buf_free(&one);
    if (b.data)
        ENG_JADD(r, "noun", json_object_new_string(b.data));
    eng__buf_free(&b);
    static const char *const order[] = {NULL, "cheapest first", "most expensive first", "best rated first"};
    if ((size_t)q->sort < sizeof order / sizeof *order && order[q->sort])
        ENG_JADD(r, "order", json_object_new_string(order[q->sort]));
}

static json_object *query_json(const query *q)
{
    json_object *o = json_object_new_object();
    ENG_JADD(o, "text", json_object_new_string(q->text));
    ENG_JADD(o, "category", q->category ? json_object_new_string(q->category) : NULL);
    ENG_JADD(o, "brand", q->brand ? json_object_new_string(q->brand) : NULL);
    if (q->not_brand)
        ENG_JADD(o, "notBrand", json_object_new_string(q->not_brand));
    if (q->not_word)
        ENG_JADD(o, "notWord", json_object_new_string(q->not_word));
    ENG_JADD(o, "priceMin", q->lo >= 0 ? json_object_new_double(q->lo) : NULL);
    ENG_JADD(o, "priceMax", q->hi >= 0 ? json_object_new_double(q->hi) : NULL);
    ENG_JADD(o, "inStock", json_object_new_boolean(q->in_stock));
    ENG_JADD(o, "sort", json_object_new_int(q->sort));
    ENG_JADD(o, "offset", json_object_new_int(q->offset));
    if (q->flags & STORE_SEARCH_ALL_WORDS)
        ENG_JADD(o, "allWords", json_object_new_boolean(1));
    return o;
}

/* Whether the title, brand or category of `p` names w[0..n)
 * (eng__agent_word_fits: "phone" names "iPhone"). */
static bool names_word(const store_product *p, const char *w, size_t n)
{
    return eng__agent_word_fits(w, n, p->title, true) || eng__agent_word_fits(w, n, p->brand, false) ||
           eng__agent_word_fits(w, n, p->category, true);
}

/* A small result set (all of it in hand) where some product names every
 * word of the query in its title, brand or category: the products that
 * name none of them there (matched only through their description:
 * "nail polish" finding shirts for "a polished look") are left out, and
 * the total with them. Returns how many were left out. */
/* The query's words that may name a product (three letters or more, no
 * stop words), at most `max` of them, into w/wn; returns how many. */
static size_t query_words(const char *text, const char **w, size_t *wn, size_t max)
{
    size_t nw = 0;
    for (const char *p = text; *p && nw < max;) {
        while (*p && !isalnum((unsigned char)*p))
            p++;
        const char *b = p;
        while (isalnum((unsigned char)*p))
            p++;
        if (p - b >= 3 && !is_stop(b, (size_t)(p - b)))
            w[nw] = b, wn[nw++] = (size_t)(p - b);
    }
    return nw;
}

static size_t drop_described_only(const char *text, store_search_result *res)
{
    if (!text || !*text || res->n_hits < 2 || res->total != (int64_t)res->n_hits)
        return 0;
    const char *w[8];
    size_t wn[8], nw = query_words(text, w, wn, 8);
    if (nw < 2)
        return 0;
    bool full = false;
    for (size_t i = 0; i < res->n_hits && !full; i++) {
        full = true;
        for (size_t k = 0; k < nw && full; k++)
            full = names_word(&res->hits[i].product, w[k], wn[k]);
    }
    if (!full)
        return 0;
    size_t keep = 0;
    for (size_t i = 0; i < res->n_hits; i++) {
        bool any = false;
        for (size_t k = 0; k < nw && !any; k++)
            any = names_word(&res->hits[i].product, w[k], wn[k]);
        if (any)
            res->hits[keep++] = res->hits[i];
        else
            store_product_clear(&res->hits[i].product);
    }
    size_t dropped = res->n_hits - keep;
    res->n_hits = keep;
    res->total = (int64_t)keep;
    return dropped;
}

/* A query of two words or more that matched more than one page, where
 * some product shown names its last word (the thing bought: "knife" of
 * "kitchen knife") in its title and others do not: those others matched
 * only the words around it. */
static bool needs_every_word(const query *q, const store_search_result *res)
{
    if ((q->flags & STORE_SEARCH_ALL_WORDS) || q->offset || res->n_hits < 2 ||
        res->total <= (int64_t)res->n_hits)
        return false;
    const char *w[16];
    size_t wn[16], words = query_words(q->text, w, wn, 16);
    const char *last = words ? w[words - 1] : NULL;
    size_t ln = words ? wn[words - 1] : 0;
    if (words < 2 || !last)
        return false;
    size_t naming = 0;
    for (size_t i = 0; i < res->n_hits; i++)
        naming += eng__agent_word_fits(last, ln, res->hits[i].product.title, false);
    return naming > 0 && naming < res->n_hits;
}

/* "the cheapest laptop", "your best rated blender", "most expensive
 * watch": one product asked for by an order, its kind said in the
 * singular; the list's first is that product. */
/* Whether every word of the query fits `title` (whole words, plural or not). */
static bool title_holds_all(const char *words, const char *title)
{
    int n = 0;
    const char *w;
    size_t wn;
    for (const char *p = words; (p = eng__agent_each_word(p, &w, &wn));)
        n++;
    return n > 0 && eng__agent_title_fits(words, title) == n;
}

/* "show me the apple watch": "the" and query words that the first
 * product's title holds, all of them, and no other product's shown:
 * the one asked for, what "it" means next. */
static bool names_first(eng_turn *t, const query *q, json_object *cards)
{
    const char *text = eng__json_str(t->ctx, "message.text", "");
    if (!q->text[0] || !eng__agent_has_word(text, (const char *const[]){"the", NULL}) ||
        !title_holds_all(q->text, eng__json_str(json_object_array_get_idx(cards, 0), "title", "")))
        return false;
    for (size_t i = 1; i < json_object_array_length(cards); i++)
        if (title_holds_all(q->text, eng__json_str(json_object_array_get_idx(cards, i), "title", "")))
            return false;
    return true;
}

static bool asks_for_one(eng_turn *t)
{
    static const char *const best[] = {"cheapest", "most expensive", "priciest", "dearest", "best rated",
                                       "highest rated", "top rated", "best", NULL};
    const char *text = eng__json_str(t->ctx, "message.text", "");
    if (!eng__agent_has_word(text, best))
        return false;
    /* the word after the order: the kind as the shopper wrote it,
     * singular ("laptop", "watch"; not "laptops", "stuff") */
    for (size_t i = 0; best[i]; i++) {
        size_t bl = strlen(best[i]);
        for (const char *p = strcasestr(text, best[i]); p; p = strcasestr(p + 1, best[i])) {
            if ((p > text && isalnum((unsigned char)p[-1])) || isalnum((unsigned char)p[bl]))
                continue;
            const char *w = p + bl;
            while (*w == ' ')
                w++;
            size_t n = 0;
            while (isalpha((unsigned char)w[n]))
                n++;
            if (n == 5 && strncasecmp(w, "rated", 5) == 0)
                continue;   /* "best rated" is found as its own */
            static const char *const mass[] = {"stuff", "gear", "kit", "clothing", "clothes", "items", "things",
                                               "products", "ones", NULL};
            bool many = n < 3 || (w[n - 1] == 's' && !(n > 3 && w[n - 2] == 's'));
            for (size_t k = 0; mass[k] && !many; k++)
                many = strlen(mass[k]) == n && strncasecmp(mass[k], w, n) == 0;
            return !many;
        }
    }
    return false;
}

/* The message is a few words at most ("2", "3 please", "just 2 pls"). */
static bool short_message(eng_turn *t)
{
    const char *text = eng__json_str(t->ctx, "message.text", "");
    int words = 0;
    for (const char *p = text; *p; p++)
        words += isalnum((unsigned char)*p) && (p == text || !isalnum((unsigned char)p[-1]));
    return words <= 3;
}

/* keep_on_empty: a refinement that finds nothing leaves what the shopper
 * saw (and the query it came from) in the session, so that "the second
 * one" or the next refinement still mean the last list shown. */
static int run_search(eng_turn *t, const agent_opts *o, query *q, const char *hook, bool keep_on_empty)
{
    store *s = eng__store(t);
    store_search_query sq;
    store_search_query_init(&sq);
    sq.text = q->text;
    sq.category = q->category;
    sq.brand = q->brand;
    sq.not_brand = q->not_brand;
    sq.not_word = q->not_word;
    sq.price_min = q->lo;
    sq.price_max = q->hi;
    sq.in_stock = q->in_stock;
    sq.sort = q->sort;
    sq.offset = q->offset;
    sq.limit = (int)o->page_size * 3;
    /* no facets: no reply reads them (the catalog page asks for its own
     * over REST); each was a query over every match */
    sq.flags = q->flags;
    store_search_result res = {0};
    store_err err = {0};
    if (store_search(s, &sq, &res, &err) < 0) {
        eng__turn_note(t, "search failed: %s", err.msg);
        return -1;
    }
    if (needs_every_word(q, &res)) {
        /* "kitchen knives": 30 kitchen things, a knife among them; the
         * thing named last is what is bought, so every word must match */
        store_search_result all = {0};
        sq.flags |= STORE_SEARCH_ALL_WORDS;
        if (store_search(s, &sq, &all, NULL) == 0 && all.total > 0) {
            store_search_result_free(&res);
            res = all;
            q->flags |= STORE_SEARCH_ALL_WORDS;   /* kept for "cheaper ones" and the next page */
            eng__turn_note(t, "\"%s\": every word must match", q->text);
        } else {
            store_search_result_free(&all);
        }
    }
    size_t dropped = q->sort == STORE_SORT_RELEVANCE && !sq.offset ? drop_described_only(q->text, &res) : 0;
    if (dropped)
        eng__turn_note(t, "%zu matched only by their description: left out", dropped);
    json_object *cards = json_object_new_array();
    double *score = eng__pool_alloc(t->pool, (res.n_hits + 1) * sizeof *score);
    /* recommendations come by rating: the boosts then weigh the rating */
    bool by_rating = strcmp(hook, "recommend") == 0 && q->sort == STORE_SORT_RATING;
    for (size_t i = 0; i < res.n_hits; i++) {
        json_object_array_add(cards, eng__card(&res.hits[i].product, false));
        if (score)
            score[i] = by_rating ? res.hits[i].product.rating : res.hits[i].score;
    }
    /* rules' boosts re-rank within what the catalog found */
    double *mult = eng__pool_alloc(t->pool, (res.n_hits + 1) * sizeof *mult);
    if (mult && score && res.n_hits > 1 && (t->p->rules || o->rules)) {
        const eng_rules *sets[2] = {t->p->rules, o->rules};
        eng__rules_boost_sets(sets, 2, t, hook, cards, mult, true);
        /* scores are "higher is better"; for price/rating sorts the order
         * is the shopper's choice and boosts do not override it */
        if (q->sort == STORE_SORT_RELEVANCE || by_rating) {
            size_t n = res.n_hits;
            /* insertion sort: n is small (3 pages at most) and stable */
            for (size_t i = 1; i < n; i++)
                for (size_t j = i; j > 0; j--) {
                    double a = score[j - 1] * mult[j - 1], b2 = score[j] * mult[j];
                    if (!(b2 > a))
                        break;
                    double ts = score[j];
                    score[j] = score[j - 1];
                    score[j - 1] = ts;
                    double tm = mult[j];
                    mult[j] = mult[j - 1];
                    mult[j - 1] = tm;
                    json_object *cj = json_object_get(json_object_array_get_idx(cards, j));
                    json_object *ci = json_object_get(json_object_array_get_idx(cards, j - 1));
                    json_object_array_put_idx(cards, j, ci);
                    json_object_array_put_idx(cards, j - 1, cj);
                }
        }
        for (size_t i = 0; i < res.n_hits; i++)
            if (mult[i] != 1.0)
                json_object_object_add(json_object_array_get_idx(cards, i), "boost", json_object_new_double(mult[i]));
    }
    if (json_object_array_length(cards) > (size_t)o->page_size)
        json_object_array_del_idx(cards, (size_t)o->page_size, json_object_array_length(cards) - (size_t)o->page_size);
    eng__shop_price(t, cards);
    json_object *r = json_object_new_object();
    ENG_JADD(r, "query", query_json(q));
    ENG_JADD(r, "total", json_object_new_int64(res.total));
    ENG_JADD(r, "count", json_object_new_int64((int64_t)json_object_array_length(cards)));
    ENG_JADD(r, "more", json_object_new_boolean(res.total > q->offset + (int64_t)json_object_array_length(cards)));
    if (res.corrected)
        ENG_JADD(r, "corrected", json_object_new_string(res.corrected));
    describe(t, q, res.total, cards, r);
    json_object_object_add(eng__json_path(t->ctx, "results"), "search", r);
    json_object *sess = eng__session(t);
    /* nothing found: what was shown before is still what "the first
     * one" and "cheaper ones" mean */
    if (res.total == 0 && (keep_on_empty || eng__json_path(sess, "lastQuery"))) {
        set_cards(t, cards);
        eng__set_var(t, "noResults", json_object_new_boolean(1));
        eng__turn_note(t, "\"%s\": nothing found; the last list stays", q->text);
        store_search_result_free(&res);
        return 0;
    }
    if (res.total > 0 && q->offset > 0 && json_object_array_length(cards) == 0) {
        /* "show me more" past the last page: all of them were shown, and
         * the list shown stays what "the first one" means */
        set_cards(t, cards);
        eng__set_var(t, "noMore", json_object_new_boolean(1));
        eng__turn_note(t, "\"%s\": no more beyond %d; the last list stays", q->text, q->offset);
        store_search_result_free(&res);
        return 0;
    }
    ENG_JADD(sess, "shown", eng__agent_shown_of(cards));
    json_object_object_del(sess, "compared");   /* a new list: nothing compared in it */
    ENG_JADD(sess, "lastQuery", query_json(q));
    /* a new list replaces what "it" means: its only product, the one
     * asked for ("the cheapest laptop": the first of them), or none */
    if (json_object_array_length(cards) == 1)
        viewed(t, json_object_array_get_idx(cards, 0));
    if (json_object_array_length(cards) == 1 ||
        (json_object_array_length(cards) > 1 && q->offset == 0 && (asks_for_one(t) || names_first(t, q, cards)))) {
        json_object *first = json_object_array_get_idx(cards, 0);
        ENG_JADD(sess, "focus", json_object_get(eng__json_path(first, "sku")));
        if (json_object_array_length(cards) > 1 && asks_for_one(t)) {
            /* "the most expensive thing you sell": the one asked for is
             * named, so "add it" next adds what the reply said */
            json_object *f = json_object_new_object();
            ENG_JADD(f, "title", json_object_get(eng__json_path(first, "title")));
            ENG_JADD(f, "price", json_object_get(eng__json_path(first, "finalPrice")));
            eng__set_var(t, "focusFirst", f);
        }
    } else {
        json_object_object_del(sess, "focus");
    }
    set_cards(t, cards);
    if (res.total == 0)
        eng__set_var(t, "noResults", json_object_new_boolean(1));
    eng__turn_note(t, "\"%s\": %lld found, %zu shown", q->text, (long long)res.total,
                   json_object_array_length(cards));
    store_search_result_free(&res);
    return 0;
}

static void query_from_session(eng_turn *t, query *q)
{
    json_object *lq = eng__json_path(t->ctx, "session.lastQuery");
    snprintf(q->text, sizeof q->text, "%s", eng__json_str(lq, "text", ""));
    q->category = eng__json_str(lq, "category", NULL);
    q->brand = eng__json_str(lq, "brand", NULL);
    q->not_brand = eng__json_str(lq, "notBrand", NULL);
    q->not_word = eng__json_str(lq, "notWord", NULL);
    json_object *v;
    q->lo = (v = eng__json_path(lq, "priceMin")) ? json_object_get_double(v) : -1;
    q->hi = (v = eng__json_path(lq, "priceMax")) ? json_object_get_double(v) : -1;
    q->in_stock = json_object_get_boolean(eng__json_path(lq, "inStock"));
    q->sort = (store_sort)json_object_get_int(eng__json_path(lq, "sort"));
    q->offset = 0;
    /* a list narrowed by added words stays narrowed ("cheaper ones" of
     * the red shoes) */
    if (json_object_get_boolean(eng__json_path(lq, "allWords")))
        q->flags |= STORE_SEARCH_ALL_WORDS;
}

/* The cards of category `cat` first, in their order, then the others;
 * what "the second one" means follows. */
static void type_first(eng_turn *t, const char *cat)
{
    json_object *cards = eng__json_path(t->ctx, "reply.cards");
    size_t n = cards ? json_object_array_length(cards) : 0;
    if (n < 2)
        return;
    json_object *sorted = json_object_new_array();
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n; i++) {
            json_object *c = json_object_array_get_idx(cards, i);
            if ((strcmp(eng__json_str(c, "category", ""), cat) == 0) == (pass == 0))
                json_object_array_add(sorted, json_object_get(c));
        }
    set_cards(t, sorted);
    ENG_JADD(eng__session(t), "shown", eng__agent_shown_of(sorted));
}

/* A shopping need the catalog has nothing for ("something for my new
 * flat"): ask what kind of product, with the shop's biggest categories
 * as suggestions, instead of "nothing found". */
/* "which brands do you carry": how many brands and the biggest ten, one
 * suggestion each (vars.overviewBrands {total, names}). */
static void brands_overview(eng_turn *t)
{
    store_search_query sq;
    store_search_query_init(&sq);
    sq.limit = 1;
    sq.flags = STORE_SEARCH_FACETS;
    store_search_result res = {0};
    json_object *names = json_object_new_array(), *sugg = json_object_new_array();
    size_t total = 0;
    if (store_search(eng__store(t), &sq, &res, NULL) == 0) {
        total = res.n_brands;
        for (size_t i = 0; i < res.n_brands && i < 10; i++) {
            char line[128];
            json_object_array_add(names, json_object_new_string(res.brands[i].value));
            if (i < 4) {
                snprintf(line, sizeof line, "Show me %s", res.brands[i].value);
                json_object_array_add(sugg, json_object_new_string(line));
            }
        }
    }
    store_search_result_free(&res);
    json_object *v = json_object_new_object();
    ENG_JADD(v, "total", json_object_new_int64((int64_t)total));
    ENG_JADD(v, "names", names);
    eng__set_var(t, "overviewBrands", v);
    ENG_JADD(eng__json_path(t->ctx, "reply"), "suggestions", sugg);
    json_object_object_add(eng__json_path(t->ctx, "intent"), "name", json_object_new_string("clarify"));
    eng__set_var(t, "clarify", json_object_new_boolean(1));
    eng__turn_note(t, "which brands the shop carries: %zu", total);
}

static void clarify_as(eng_turn *t, bool overview)
{
    store_search_query sq;
    store_search_query_init(&sq);
    sq.limit = 1;
    sq.flags = STORE_SEARCH_CATEGORY_FACET;
    store_search_result res = {0};
    json_object *sugg = json_object_new_array(), *cats = json_object_new_array();
    eng_buf b;
    eng__buf_init(&b);
    eng__buf_adds(&b, "I'd like to help you find the right thing. What kind of product are you looking for");
    size_t shown = overview ? 8 : 4;
    if (store_search(eng__store(t), &sq, &res, NULL) == 0 && res.n_categories) {
        eng__buf_adds(&b, "? For example: ");
        if (overview) {
            /* "what do you sell": how much, and the biggest kinds */
            json_object *v = json_object_new_object();
            ENG_JADD(v, "total", json_object_new_int64(res.total));
            ENG_JADD(v, "kinds", json_object_new_int64((int64_t)res.n_categories));
            eng__set_var(t, "overview", v);
        }
        for (size_t i = 0; i < res.n_categories && i < shown; i++) {
            char name[96], line[128];
            snprintf(name, sizeof name, "%s", res.categories[i].value);
            for (char *p = name; *p; p++)
                if (*p == '-')
                    *p = ' ';
            eng__buf_printf(&b, "%s%s", i ? ", " : "", name);
            snprintf(line, sizeof line, "Show me %s", name);
            json_object_array_add(sugg, json_object_new_string(line));
            json_object_array_add(cats, json_object_new_string(name));
        }
        eng__buf_adds(&b, ".");
    } else
        eng__buf_adds(&b, "?");
    store_search_result_free(&res);
    json_object *reply = eng__json_path(t->ctx, "reply");
    ENG_JADD(reply, "text", json_object_new_string(b.data ? b.data : ""));
    ENG_JADD(reply, "suggestions", sugg);
    eng__buf_free(&b);
    /* a `clarify` template words it (vars.clarifyCategories); without
     * one the formatter keeps this reply */
    eng__set_var(t, "clarifyCategories", cats);
    json_object_object_add(eng__json_path(t->ctx, "intent"), "name", json_object_new_string("clarify"));
    json_object_object_del(eng__json_path(t->ctx, "vars"), "noResults");
    eng__set_var(t, "clarify", json_object_new_boolean(1));
    eng__turn_note(t, overview ? "what the shop sells: its biggest kinds of product"
                               : "a need the catalog cannot place: asked what kind of product");
}

static void clarify(eng_turn *t) { clarify_as(t, false); }

bool eng__agent_shop_overview(const agent_call *c, eng_result *r)
{
    eng_turn *t = c->t;
    static const char *const asks[] = {"what do you sell", "what do you have", "what have you got",
                                       "what do you stock", "what do you carry", "what sort of stuff",
                                       "what sort of things", "what kind of stuff", "what kind of things",
                                       "what kind of products", "what products do you", "show me everything",
                                       "everything you have", "everything you sell", "show me what you have",
                                       "show me what you sell", "what can i buy", "what's for sale",
                                       "whats for sale", "what do you guys sell", "what do u sell",
                                       "what do you offer", "what sort of products", NULL};
    /* "so what kinda stuff do you sell": a what, a verb of selling, and
     * words for goods in general */
    static const char *const what[] = {"what", "wat", "which", NULL};
    static const char *const sell[] = {"sell", "stock", "carry", "offer", "have", "got", NULL};
    static const char *const goods[] = {"stuff", "things", "products", "kind", "kinda", "sort", "sorta", "type",
                                        "types", "items", "range", NULL};
    const char *text = eng__json_str(t->ctx, "message.text", "");
    static const char *const brands[] = {"brands", "brand", "makes", "labels", "designers", NULL};
    if (eng__store(t) && eng__agent_has_word(text, brands) && eng__agent_has_word(text, sell) &&
        !eng__agent_names_brand_or_kind(t) && json_object_get_int(eng__json_path(t->ctx, "understanding.known")) == 0) {
        brands_overview(t);
        *r = ENG_R_OK;
        return true;
    }
    bool asked = eng__agent_has_word(text, asks) ||
                 (eng__agent_has_word(text, what) && eng__agent_has_word(text, sell) &&
                  eng__agent_has_word(text, goods));
    if (!eng__store(t) || !asked || eng__agent_names_brand_or_kind(t) ||
        json_object_get_int(eng__json_path(t->ctx, "understanding.known")) > 0)
        return false;   /* "what kind of knives have you got" names what */
    clarify_as(t, true);
    *r = ENG_R_OK;
    return true;
}

/* Words that only change how the last list is cut or ordered. */
static const char *const refine_words[] = {"cheaper", "expensive", "pricier", "premium", "rated", "reviewed", "next",
                                           "others", "page", "lower", "higher", "end", "cheapest", "instead", "just",
                                           "show", "sort", "sorted", "by", "high", "low", "highest", "lowest",
                                           "ascending", "descending", "order", "rating", "ratings", "first", "from",
                                           "to", "top", "bottom", "reverse", "again", "what", "about", "how",
                                           "pricey", "priciest", "dearest", "dearer", "costliest", "nothing", "too", "not", "alternatives", "alternative", "options", "less", "affordable",
                                           "costly", "than", "that", "back", "previous", "start", "beginning", "go", "list",
                                           "upmarket", "upscale", "fancier", "posher", "luxury", NULL};

/* Words around refine words that say nothing of their own ("high to
 * low pls", "hmm got anything a bit cheaper"). */
static const char *const fillers[] = {"pls", "plz", "please", "now", "from", "only", "stock", "available", "most",
                                      "least", "price", "prices", "priced", "ones", "items", "products", "least",
                                      "best", "top", "thanks", "ok", "okay", "then", "hmm", "hm", "got", "bit",
                                      "little", "slightly", "though", "tho", "ideally", "maybe", "really", "actually",
                                      "similar", "alike", "comparable", "take", "bring", "can", "you",
                                      "pair", "pairs",
                                      /* "that's too expensive", "they're way too pricey" of a list */
                                      "that's", "thats", "it's", "its", "they're", "theyre", "those", "these",
                                      "them", "way", "lot", "much", "money",
                                      /* "i'd love the fourth but it's too expensive" */
                                      "love", "like", "i'd", "id", "but",
                                      /* "yes, show me cheaper ones" to a question */
                                      "yes", "yeah", "yep", "sure", "alright", "no", "nope", "nah", NULL};

/* The next space-separated word of *p into w (NUL-terminated when it
 * fits in cap), *p moved past it; returns its length (>= cap: too long,
 * w unset), 0 at the end. */
static size_t space_word(const char **p, char *w, size_t cap)
{
    while (**p == ' ')
        (*p)++;
    size_t n = 0;
    while ((*p)[n] && (*p)[n] != ' ')
        n++;
    if (n && n < cap) {
        memcpy(w, *p, n);
        w[n] = '\0';
    }
    *p += n;
    return n;
}

/* `text` (query words) holds nothing but refine words and fillers: "high
 * to low pls", "now from most expensive", "in stock only". */
static bool only_refine_words(const char *text, bool stops_too)
{
    char w[64];
    bool any = false;
    size_t n;
    for (const char *p = text; (n = space_word(&p, w, sizeof w));) {
        if (n >= sizeof w)
            return false;
        bool known = false, refines = false;
        for (size_t i = 0; refine_words[i] && !known; i++)
            known = refines = strcasecmp(w, refine_words[i]) == 0;
        for (size_t i = 0; fillers[i] && !known; i++)
            known = strcasecmp(w, fillers[i]) == 0;
        if (!known && stops_too) /* "the cheapest one for my dad": who it is for is no search word */
            known = is_stop(w, n) || eng__agent_word_in(w, n, eng__agent_people);
        if (!known)
            return false;
        any |= stops_too ? refines : true;
    }
    return any;
}

/* Whether some product's title holds `word` (case aside). */
static bool in_some_title(eng_turn *t, const char *word)
{
    store_search_query sq;
    store_search_query_init(&sq);
    sq.text = word;
    sq.limit = 5;
    sq.flags = STORE_SEARCH_NO_SPELL;
    store_search_result res = {0};
    bool found = false;
    if (eng__store(t) && store_search(eng__store(t), &sq, &res, NULL) == 0)
        for (size_t i = 0; i < res.n_hits && !found; i++)
            found = res.hits[i].product.title && strcasestr(res.hits[i].product.title, word);
    store_search_result_free(&res);
    return found;
}

/* The last of two or more query words (the thing bought), of letters
 * only, that nothing in the catalog holds (no spelling correction),
 * after only colours ("green tea", "red wine": the colour alone finds
 * green peppers). */
static bool head_unknown(eng_turn *t, const char *words)
{
    const char *last = strrchr(words, ' ');
    if (!last || !eng__store(t))
        return false;
    last++;
    /* every word before it a colour the entities stage found */
    json_object *ents = eng__json_path(t->ctx, "entities");
    for (const char *p = words; p < last - 1;) {
        size_t k = strcspn(p, " ");
        bool colour = false;
        for (size_t i = 0; ents && i < json_object_array_length(ents) && !colour; i++) {
            json_object *e = json_object_array_get_idx(ents, i);
            const char *v = eng__json_str(e, "text", "");
            colour = strcmp(eng__json_str(e, "type", ""), "color") == 0 && strlen(v) == k && strncasecmp(v, p, k) == 0;
        }
        if (!colour)
            return false;
        p += k + 1;
    }
    size_t n = strlen(last);
    if (n < 3)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalpha((unsigned char)last[i]))
            return false;
    store_search_query sq;
    store_search_query_init(&sq);
    sq.text = last;
    sq.limit = 1;
    sq.flags = STORE_SEARCH_NO_SPELL;
    store_search_result res = {0};
    bool none = store_search(eng__store(t), &sq, &res, NULL) == 0 && res.total == 0;
    store_search_result_free(&res);
    return none;
}

/* A word the message says it does not want ("but not an iphone",
 * "anything except a macbook"): the first content word after a
 * negation, that no negated entity (a brand, colour or category the
 * entities stage marked) already covers; copied to out, and the negation
 * and the word blanked in `text` (offsets kept). */
static void refused_word(eng_turn *t, char *text, char *out, size_t cap)
{
    static const char *const cues[] = {"but not", "not", "except", "except for", "other than", "anything but",
                                       "apart from", NULL};
    static const char *const skip[] = {"a", "an", "any", "the", "some", "from", "by", "made", NULL};
    out[0] = '\0';
    json_object *ents = eng__json_path(t->ctx, "entities");
    for (size_t i = 0; ents && i < json_object_array_length(ents); i++)
        if (json_object_get_boolean(eng__json_path(json_object_array_get_idx(ents, i), "negated")))
            return;   /* the entities stage has it */
    for (size_t c = 0; cues[c]; c++) {
        size_t cl = strlen(cues[c]);
        for (char *p = strcasestr(text, cues[c]); p; p = strcasestr(p + 1, cues[c])) {
            if ((p > text && isalnum((unsigned char)p[-1])) || isalnum((unsigned char)p[cl]))
                continue;
            char *w = p + cl;
            for (;;) {
                while (*w == ' ')
                    w++;
                size_t n = 0;
                while (isalnum((unsigned char)w[n]) || w[n] == '-')
                    n++;
                bool skipped = false;
                for (size_t k = 0; skip[k] && !skipped; k++)
                    skipped = strlen(skip[k]) == n && strncasecmp(w, skip[k], n) == 0;
                if (skipped) {
                    w += n;
                    continue;
                }
                /* a word, not a number, a stop word or a price bound */
                if (n < 3 || n >= cap || isdigit((unsigned char)*w) || is_stop(w, n) ||
                    strncasecmp(w, "more", 4) == 0 || strncasecmp(w, "less", 4) == 0)
                    break;
                snprintf(out, cap, "%.*s", (int)n, w);
                /* "iphones": the title says "iPhone" */
                size_t ol = strlen(out);
                if (ol > 4 && (out[ol - 1] == 's' || out[ol - 1] == 'S') && out[ol - 2] != 's')
                    out[ol - 1] = '\0';
                /* only a word some title holds: "not right now" refuses
                 * nothing */
                if (!in_some_title(t, out)) {
                    out[0] = '\0';
                    break;
                }
                memset(p, ' ', (size_t)(w + n - p));
                return;
            }
        }
    }
}

bool eng__agent_only_refines(eng_turn *t)
{
    const char *text = eng__json_str(t->ctx, "message.text", "");
    char plain[256];
    if (!eng__json_path(t->ctx, "session.lastQuery") || strlen(text) >= sizeof plain)
        return false;
    /* words only: "and the priciest?" */
    size_t i = 0;
    for (; text[i]; i++)
        plain[i] = isalnum((unsigned char)text[i]) || text[i] == '\'' ? text[i] : ' ';
    plain[i] = '\0';
    return only_refine_words(plain, true);
}

/* Whether an entity points at a product shown ("an apple one" when one
 * Apple laptop is shown): that product, not another kind. */
static bool resolved_reference(eng_turn *t)
{
    json_object *ents = eng__json_path(t->ctx, "entities");
    for (size_t i = 0; ents && i < json_object_array_length(ents); i++)
        if (eng__json_str(json_object_array_get_idx(ents, i), "sku", NULL))
            return true;
    return false;
}

/* Whether the message holds a reference of any kind ("the second", "it",
 * "the cheaper one"), resolved or not. */
static bool has_reference(eng_turn *t)
{
    json_object *ents = eng__json_path(t->ctx, "entities");
    for (size_t i = 0; ents && i < json_object_array_length(ents); i++)
        if (strcmp(eng__json_str(json_object_array_get_idx(ents, i), "type", ""), "reference") == 0)
            return true;
    return false;
}

/* "how about a gaming one", "what about an electric one": another kind
 * of what was shown, named by its words before "one"; those words, or
 * NULL. */
static bool indefinite_one(const char *text, char *words, size_t cap)
{
    char w[64], got[160] = "";
    size_t n, nw = 0;
    bool after_a = false;
    for (const char *p = text; (n = space_word(&p, w, sizeof w));) {
        if (n >= sizeof w)
            return false;
        if (strcasecmp(w, "a") == 0 || strcasecmp(w, "an") == 0 || strcasecmp(w, "some") == 0) {
            after_a = true, nw = 0, got[0] = '\0';
            continue;
        }
        if (after_a && (strcasecmp(w, "one") == 0 || strcasecmp(w, "ones") == 0)) {
            /* the words must end the message: "a gaming one?" */
            while (*p == ' ' || *p == '?' || *p == '!' || *p == '.')
                p++;
            if (*p || !nw || nw > 2)
                return false;
            snprintf(words, cap, "%s", got);
            return true;
        }
        if (after_a) {
            size_t l = strlen(got);
            snprintf(got + l, sizeof got - l, "%s%s", l ? " " : "", w);
            nw++;
        }
    }
    return false;
}

/* How many of the words of `text` the title of the first card holds. */
static int top_fit(eng_turn *t, const char *text)
{
    const char *title = eng__json_str(t->ctx, "reply.cards.0.title", NULL);
    if (!title)
        return -1;
    int fit = 0;
    char w[64];
    size_t n;
    for (const char *p = text; (n = space_word(&p, w, sizeof w));)
        if (n < sizeof w)
            fit += strcasestr(title, w) != NULL;
    return fit;
}

/* Words that keep the last search's price bounds for a new one. */
static const char *const same_budget[] = {"that range", "same range", "that price range", "same price range",
                                          "same budget", "that budget", "same price", "similar price",
                                          "that price", NULL};

/* The price of the product whose details the last turn showed (what
 * "cheaper than that" is measured against), as shown; -1 when the last
 * turn showed a list or nothing. */
static double focus_price(eng_turn *t)
{
    /* "anything cheaper than the second", "the fourth is too expensive":
     * the product pointed at */
    json_object *ents = eng__json_path(t->ctx, "entities");
    for (size_t i = 0; ents && i < json_object_array_length(ents); i++) {
        json_object *e = json_object_array_get_idx(ents, i);
        json_object *fp = eng__json_path(e, "product.finalPrice");
        if (strcmp(eng__json_str(e, "type", ""), "reference") == 0 && fp)
            return json_object_get_double(fp);
    }
    const char *focus = eng__json_str(t->ctx, "session.focus", NULL);
    if (!focus || strcmp(eng__json_str(t->ctx, "session.lastIntent", ""), "product_details") != 0)
        return -1;
    json_object *shown = eng__json_path(t->ctx, "session.shown");
    for (size_t i = 0; shown && i < json_object_array_length(shown); i++) {
        json_object *it = json_object_array_get_idx(shown, i);
        if (strcmp(eng__json_str(it, "sku", ""), focus) == 0)
            return json_object_get_double(eng__json_path(it, "finalPrice"));
    }
    return -1;
}

/* A search or, with `refine`, a change of the last one. `again` is the
 * search of its own that a refinement finding nothing becomes: it is
 * never made a refinement again. */
static eng_result recommend(eng_turn *t, const agent_opts *o);

/* "laptops under 1000" when the cheapest costs 1,099.99: nothing found
 * under the cap, so the cheapest there is above it, priced as the shop
 * prices it (vars.nearest {title, price}); the list shown stays. */
static void nearest_above(eng_turn *t, const query *q)
{
    if (q->hi < 0 || !json_object_get_boolean(eng__json_path(t->ctx, "vars.noResults")) ||
        eng__json_path(t->ctx, "vars.beyondShown") || (!q->category && !q->text[0] && !q->brand))
        return;
    store_search_query sq;
    store_search_query_init(&sq);
    sq.text = q->text;
    sq.category = q->category;
    sq.brand = q->brand;
    sq.price_min = q->hi;
    sq.sort = STORE_SORT_PRICE_ASC;
    sq.limit = 1;
    sq.flags = q->flags;
    store_search_result res = {0};
    if (store_search(eng__store(t), &sq, &res, NULL) == 0 && res.n_hits == 1) {
        json_object *cards = json_object_new_array();
        json_object_array_add(cards, eng__card(&res.hits[0].product, false));
        eng__shop_price(t, cards);
        json_object *c = json_object_array_get_idx(cards, 0);
        json_object *v = json_object_new_object();
        ENG_JADD(v, "title", json_object_new_string(eng__json_str(c, "title", "")));
        ENG_JADD(v, "price", json_object_get(eng__json_path(c, "finalPrice")));
        eng__set_var(t, "nearest", v);
        json_object_put(cards);
    }
    store_search_result_free(&res);
}

static eng_result search_as(eng_turn *t, const agent_opts *o, bool refine, bool again)
{
    query q = {.lo = -1, .hi = -1};
    const char *text = eng__json_str(t->ctx, "message.text", "");
    /* "nothing too pricey" is a cheaper list: read before the word
     * "pricey" can make it a pricier one */
    static const char *const cheaper[] = {"cheaper", "less expensive", "lower price", "cheapest", "cheap",
                                          "budget options", "budget ones", "budget friendly", "budget-friendly",
                                          "on a budget", "something budget", "more budget",
                                          "less pricey", "less costly", "lower priced", "more affordable",
                                          "affordable", "nothing too pricey", "nothing too expensive",
                                          "not too pricey", "not too expensive", "nothing expensive",
                                          "not expensive", "nothing pricey", "not so expensive",
                                          /* "that's too much money" of what was shown */
                                          "too much", "too expensive", "too pricey", "too dear",
                                          "out of my budget", "over my budget", "can't afford", "cant afford",
                                          NULL};
    static const char *const pricier[] = {"more expensive", "pricier", "premium", "higher end", "most expensive",
                                          "priciest", "pricey", "more costly", "upmarket", "more upscale",
                                          "upscale", "fancier", "high end", "high-end", "higher-end", "posher",
                                          "more luxurious", "luxury", NULL};
    static const char *const instock[] = {"in stock", "available", "in-stock", NULL};
    static const char *const more[] = {"more", "next", "others", "other ones", "next page", NULL};
    static const char *const rated[] = {"best rated", "top rated", "highest rated", "better rated", "best reviewed",
                                        "the best", "your best", "whats the best", "what's the best",
                                        "good reviews", "great reviews", "good ratings", "highly rated",
                                        "well rated", "well reviewed", "best reviews", NULL};
    bool has_last = eng__json_path(t->ctx, "session.lastQuery") != NULL, added_words = false;
    char added[160] = "";   /* the words a refinement added to the last query */
    int beyond = 0;   /* "cheaper" (-1) or "pricier" (1) than what was shown */
    double beyond_price = 0;
    /* the words that only carry the last bounds over are no search words;
     * blanked in place, so entity offsets still fit */
    char *qtext = eng__pool_strdup(t->pool, text);
    if (!qtext)
        return eng__turn_fail(t, "out of memory");
    for (size_t i = 0; same_budget[i]; i++) {
        size_t n = strlen(same_budget[i]);
        for (char *p = strcasestr(qtext, same_budget[i]); p; p = strcasestr(p + n, same_budget[i]))
            if ((p == qtext || !isalnum((unsigned char)p[-1])) && !isalnum((unsigned char)p[n]))
                memset(p, ' ', n);
    }
    /* "nothing too expensive", "not too pricey": an order said in words,
     * no search words ("a new phone, nothing too expensive" searched for
     * "nothing too expensive") */
    static const char *const said_order[] = {"nothing too expensive", "nothing too pricey", "not too expensive",
                                             "not too pricey", "nothing expensive", "nothing fancy", NULL};
    for (size_t i = 0; said_order[i]; i++) {
        size_t n = strlen(said_order[i]);
        for (char *p = strcasestr(qtext, said_order[i]); p; p = strcasestr(p + n, said_order[i]))
            if ((p == qtext || !isalnum((unsigned char)p[-1])) && !isalnum((unsigned char)p[n]))
                memset(p, ' ', n);
    }
    /* "do they come in size 10" of a list: only the colour or size is
     * searched within it, never "they come" (vars.listVariant) */
    bool list_variant = refine && has_last && json_object_get_boolean(eng__json_path(t->ctx, "vars.listVariant"));
    if (list_variant) {
        json_object *ents = eng__json_path(t->ctx, "entities");
        char *keep = eng__pool_alloc(t->pool, strlen(text) + 1);
        if (!keep)
            return eng__turn_fail(t, "out of memory");
        memset(keep, ' ', strlen(text));
        keep[strlen(text)] = '\0';
        for (size_t i = 0; ents && i < json_object_array_length(ents); i++) {
            json_object *e = json_object_array_get_idx(ents, i);
            const char *type = eng__json_str(e, "type", "");
            int64_t s0 = json_object_get_int64(eng__json_path(e, "start")), e0 = json_object_get_int64(eng__json_path(e, "end"));
            if ((strcmp(type, "color") == 0 || strcmp(type, "size") == 0) && s0 >= 0 && e0 > s0 &&
                (size_t)e0 <= strlen(text))
                memcpy(keep + s0, text + s0, (size_t)(e0 - s0));
        }
        qtext = keep;
    }
    /* "a phone but not an iphone": the word not wanted leaves the search
     * words and the titles that hold it leave the list */
    char not_word[64] = "";
    refused_word(t, qtext, not_word, sizeof not_word);
    char fresh[512];
    query_text(t, qtext, fresh, sizeof fresh, true);
    if (list_variant && !fresh[0]) {
        /* a size the catalog's text cannot hold: said, not pretended */
        json_object *ents = eng__json_path(t->ctx, "entities");
        for (size_t i = 0; ents && i < json_object_array_length(ents); i++) {
            json_object *e = json_object_array_get_idx(ents, i);
            const char *type = eng__json_str(e, "type", "");
            if (strcmp(type, "color") != 0 && strcmp(type, "size") != 0)
                continue;
            json_object *v = json_object_new_object();
            ENG_JADD(v, "kind", json_object_new_string(type));
            ENG_JADD(v, "value", json_object_new_string(eng__json_str(e, "text", "")));
            eng__set_var(t, "variantUnlisted", v);
            break;
        }
    }
    /* "under 50", "what about under 1200": nothing to look for but a
     * bound or an order narrows what was shown */
    double blo, bhi;
    if (!again && !refine && has_last && !fresh[0] && !entity_value(t, "category") && !entity_value(t, "brand") &&
        !eng__json_str(t->ctx, "understanding.category", NULL) && money_range(t, &blo, &bhi))
        refine = true;
    /* "for an iphone", "with a strap" right after a list: what the list
     * is for or has, a narrower list */
    static const char *const opens[] = {"for a ", "for an ", "for the ", "for my ", "with a ", "with an ",
                                        "with ", "without ", "in a ", NULL};
    size_t nwords = 0;
    for (const char *p = text; *p; p++)
        nwords += !isspace((unsigned char)*p) && (p == text || isspace((unsigned char)p[-1]));
    for (size_t i = 0; opens[i] && !again && !refine && has_last && nwords <= 5 && !entity_value(t, "category");
         i++)
        if (strncasecmp(text, opens[i], strlen(opens[i])) == 0)
            refine = true;
    /* "just the watches", "only the black ones": a part of the list */
    static const char *const part[] = {"just the ", "only the ", "just ", "only ", NULL};
    for (size_t i = 0; part[i] && !again && !refine && has_last && nwords <= 4; i++)
        if (strncasecmp(text, part[i], strlen(part[i])) == 0)
            refine = true;
    /* "high to low pls" read as a search: it orders what was shown */
    if (!again && !refine && has_last && (only_refine_words(fresh, false) || (!fresh[0] && only_refine_words(text, true))) &&
        !entity_value(t, "category") && !entity_value(t, "brand"))
        refine = true;
    /* "and for my girlfriend?": the last list for the other wearer (the
     * classifier stage found the catalog's category for them) */
    const char *wearer = !again && has_last && !entity_value(t, "category")
                             ? eng__json_str(t->ctx, "understanding.otherWearer", NULL) : NULL;
    bool swap = wearer != NULL;
    if (swap)
        refine = true;
    if (refine && has_last) {
        query_from_session(t, &q);
        if (swap)
            q.category = wearer;
        json_object *shown = eng__json_path(t->ctx, "session.shown");
        if (eng__agent_has_word(text, lowest)) {
            q.sort = STORE_SORT_PRICE_ASC;   /* "cheapest first": an order, not a bound */
        } else if (eng__agent_has_word(text, highest)) {
            q.sort = STORE_SORT_PRICE_DESC;
        } else if (eng__agent_has_word(text, cheaper)) {
            /* cheaper than the product just looked at ("got anything
             * cheaper than that?" after its details), else than all shown */
            double anchor = focus_price(t), min = anchor;
            for (size_t i = 0; anchor < 0 && shown && i < json_object_array_length(shown); i++) {
                double p = json_object_get_double(eng__json_path(json_object_array_get_idx(shown, i), "finalPrice"));
                if (min < 0 || p < min)
                    min = p;
            }
            if (min > 0)
                q.hi = min - 0.01, beyond = -1, beyond_price = min;
            if (min > 0 && q.lo >= min)
                q.lo = -1;   /* "cheaper ones" of "over 100": below the floor said before */
            q.sort = STORE_SORT_PRICE_ASC;
        } else if (eng__agent_has_word(text, pricier)) {
            double anchor = focus_price(t), max = anchor;
            for (size_t i = 0; anchor < 0 && shown && i < json_object_array_length(shown); i++) {
                double p = json_object_get_double(eng__json_path(json_object_array_get_idx(shown, i), "finalPrice"));
                if (p > max)
                    max = p;
            }
            if (max > 0)
                q.lo = max + 0.01, beyond = 1, beyond_price = max;
            if (max > 0 && q.hi >= 0 && q.hi <= max + 0.01)
                q.hi = -1;   /* "more expensive options" of "under 30": above the cap said before */
            q.sort = STORE_SORT_PRICE_DESC;
        }
        if (eng__agent_has_word(text, instock))
            q.in_stock = 1;
        if (eng__agent_has_word(text, rated))
            q.sort = STORE_SORT_RATING;

        if (eng__agent_has_word(text, more) && !eng__agent_has_word(text, cheaper) && !eng__agent_has_word(text, pricier) &&
            !eng__agent_has_word(text, (const char *const[]){"more than", "no more", NULL})) {   /* a bound */
            q.offset = json_object_get_int(eng__json_path(t->ctx, "session.lastQuery.offset")) + (int)o->page_size;
        } else if (eng__agent_has_word(text, first_page)) {
            /* "go back to the first page", "the previous ones" */
            int at = json_object_get_int(eng__json_path(t->ctx, "session.lastQuery.offset"));
            bool previous = strcasestr(text, "previous") || strcasestr(text, "back a page");
            q.offset = previous && at >= (int)o->page_size ? at - (int)o->page_size : 0;
        }
        /* new words ("in black", "leather") narrow the previous query;
         * so does "the red ones", a reference to the shown by colour */
        char extra[512];
        query_text(t, qtext, extra, sizeof extra, true);
        json_object *ents = eng__json_path(t->ctx, "entities");
        for (size_t i = 0; ents && i < json_object_array_length(ents); i++) {
            json_object *e = json_object_array_get_idx(ents, i), *attr = eng__json_path(e, "attribute");
            if (strcmp(eng__json_str(e, "kind", ""), "attribute") != 0 || !json_object_get_boolean(eng__json_path(e, "plural")) ||
                !json_object_is_type(attr, json_type_object))
                continue;
            json_object_object_foreach(attr, k, v) {
                (void)k;
                const char *val = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
                size_t l = strlen(extra);
                if (val && !strcasestr(extra, val) && l + strlen(val) + 2 < sizeof extra)
                    snprintf(extra + l, sizeof extra - l, "%s%s", l ? " " : "", val);
            }
        }
        /* a bounded split, not strtok: turns run on many threads */
        for (char *p = extra; *p;) {
            while (*p == ' ')
                p++;
            char *w = p;
            while (*p && *p != ' ')
                p++;
            if (p == w)
                continue;
            if (*p)
                *p++ = '\0';
            bool skip = false;
            for (size_t i = 0; refine_words[i] && !skip; i++)
                skip = strcasecmp(w, refine_words[i]) == 0;
            for (size_t i = 0; fillers[i] && !skip; i++)
                skip = strcasecmp(w, fillers[i]) == 0;
            size_t l = strlen(q.text), wl = strlen(w);
            if (!skip && !swap && !strcasestr(q.text, w) && l + wl + 2 < sizeof q.text) {
                size_t al = strlen(added);
                if (al + wl + 2 < sizeof added) {
                    if (al)
                        added[al++] = ' ';
                    memcpy(added + al, w, wl + 1);
                }
                added_words = true;   /* room for a space, the word and its NUL */
                /* "shoes", then "in red": red shoes, not red things */
                q.flags |= STORE_SEARCH_ALL_WORDS;
                if (l)
                    q.text[l++] = ' ';
                memcpy(q.text + l, w, wl + 1);
            }
        }
        /* "something more personal": new words narrow the list from its
         * start; only "more" alone turns the page */
        if (added_words)
            q.offset = 0;
    } else {
        snprintf(q.text, sizeof q.text, "%s", fresh);
    }
    const char *cat = entity_value(t, "category"), *brand = entity_value(t, "brand");
    /* a product type the catalog knows ("phone" -> smartphones) filters
     * first; the classifier stage put it in ctx.understanding. Where the
     * two differ, the type read from the sentence wins: "a charger for
     * my laptop" is a charger (the entities name every category word) */
    const char *understood = eng__json_str(t->ctx, "understanding.category", NULL);
    if (cat && understood && strcasecmp(cat, understood) != 0 && !refine)
        cat = NULL;
    /* "any with a good camera" narrowing the phones shown: "camera"
     * names a kind elsewhere, here a feature of the list */
    bool narrowing = refine && has_last && json_object_get_boolean(eng__json_path(t->ctx, "vars.narrowsList"));
    const char *typed = cat || narrowing ? NULL : understood;
    if (cat)
        q.category = cat;
    else if (typed)
        q.category = typed;
    /* a synonym searches as its head too: "earbuds" finds "earphones" */
    char words[512];
    snprintf(words, sizeof words, "%s", q.text);
    const char *head = typed ? eng__json_str(t->ctx, "understanding.typeHead", NULL) : NULL;
    if (head && !strcasestr(q.text, head) && strlen(q.text) + strlen(head) + 2 < sizeof q.text) {
        size_t l = strlen(q.text);
        snprintf(q.text + l, sizeof q.text - l, "%s%s", l ? " " : "", head);
    }
    if (brand)
        q.brand = brand;
    const char *refused = entity_of(t, "brand", true);
    if (refused)
        q.not_brand = refused;
    if (not_word[0])
        q.not_word = not_word;
    q.flags |= eng__agent_spell_flags(t);
    if (money_bounds(t, &q)) {
        beyond = 0;   /* "a budget of 800" is that bound, not "cheaper than shown" */
    } else if (has_last && eng__agent_has_word(text, same_budget)) {
        /* "what about laptops in that range": the last search's bounds */
        json_object *lq = eng__json_path(t->ctx, "session.lastQuery");
        json_object *pmin = eng__json_path(lq, "priceMin"), *pmax = eng__json_path(lq, "priceMax");
        if (pmin && !json_object_is_type(pmin, json_type_null))
            q.lo = json_object_get_double(pmin);
        if (pmax && !json_object_is_type(pmax, json_type_null))
            q.hi = json_object_get_double(pmax);
    }
    /* a "refinement" with nothing to refine is a fresh search */
    bool fresh_search = !(refine && has_last);
    if (fresh_search && eng__agent_has_word(text, instock))
        q.in_stock = 1;
    /* "budget about 50", "my budget is 80": a bound, not an order; "budget
     * laptops" alone asks for cheap ones */
    bool budget_bound = (eng__slot(t, "maxPrice") || eng__slot(t, "price")) &&
                        eng__agent_has_word(text, (const char *const[]){"budget", NULL});
    if (fresh_search && (eng__agent_has_word(text, cheaper) ||
                         (!budget_bound && eng__agent_has_word(text, (const char *const[]){"budget", NULL}))))
        q.sort = STORE_SORT_PRICE_ASC;
    else if (fresh_search && eng__agent_has_word(text, pricier))
        q.sort = STORE_SORT_PRICE_DESC;
    if (fresh_search && eng__agent_has_word(text, rated))
        q.sort = STORE_SORT_RATING;
    static const char *const desc[] = {"high to low", "highest to lowest", "highest first", "descending", "highest price",
                                       "most expensive first", "priciest first", NULL};
    static const char *const asc[] = {"low to high", "lowest to highest", "lowest first", "ascending", "lowest price",
                                      "cheapest first", NULL};
    static const char *const by_price[] = {"sort by price", "sorted by price", "order by price", "by price", NULL};
    static const char *const by_rating[] = {"sort by rating", "sorted by rating", "by rating", "by ratings",
                                            "by reviews", NULL};
    if (eng__agent_has_word(text, desc))
        q.sort = STORE_SORT_PRICE_DESC;
    else if (eng__agent_has_word(text, asc) || (eng__agent_has_word(text, by_price) && q.sort != STORE_SORT_PRICE_DESC))
        q.sort = STORE_SORT_PRICE_ASC;
    else if (eng__agent_has_word(text, by_rating))
        q.sort = STORE_SORT_RATING;
    /* "can you help me find a present for my mum": nothing to search for
     * and nothing to filter on; the whole catalog in its first order
     * would be a guess, so it is asked what kind of thing */
    if (fresh_search && !q.text[0] && !q.category && !q.brand && q.lo < 0 && q.hi < 0 && !q.in_stock &&
        q.sort == STORE_SORT_RELEVANCE && !eng__agent_has_word(text, (const char *const[]){"everything", "all", NULL})) {
        eng__turn_note(t, "nothing to search for: asked what kind of product");
        clarify(t);
        return ENG_R_OK;
    }
    /* "green tea": the thing bought is a word nothing of the catalog
     * holds, after words it does hold ("green" things): not carried,
     * rather than a list of green things */
    if (fresh_search && !q.category && !q.brand && !typed &&
        json_object_get_boolean(eng__json_path(t->ctx, "understanding.dictionary")) && head_unknown(t, q.text)) {
        clarify(t);
        eng__set_var(t, "notCarried", json_object_new_string(q.text));
        eng__turn_note(t, "\"%s\": the catalog has no word for the thing bought", q.text);
        return ENG_R_OK;
    }
    if (run_search(t, o, &q, "search", refine && has_last) < 0)
        return eng__turn_fail(t, "the catalog is not available right now");
    if (beyond && !added_words && json_object_get_int64(eng__json_path(t->ctx, "results.search.total")) == 0) {
        /* "cheaper ones" of the cheapest there are: say so */
        json_object *b = json_object_new_object();
        json_object_object_add(b, beyond < 0 ? "cheaper" : "pricier", json_object_new_boolean(1));
        ENG_JADD(b, "price", json_object_new_double(beyond_price));
        eng__set_var(t, "beyondShown", b);
    }
    /* "most expensive watch" after phones: a refinement whose new words
     * the last search cannot hold is a search of its own */
    if (refine && has_last && added_words &&
        (json_object_get_boolean(eng__json_path(t->ctx, "vars.narrowsList")) || list_variant) &&
        json_object_get_int64(eng__json_path(t->ctx, "results.search.total")) == 0) {
        /* "anything with a touchscreen" of the laptops shown: none says
         * so; the list stays, and the shop is not searched for the word
         * alone (touchscreen phones are no laptops) */
        json_object_object_del(eng__json_path(t->ctx, "vars"), "noResults");
        eng__set_var(t, "noneWith", json_object_new_string(added));
        eng__turn_note(t, "none of the list with \"%s\": the list stays", added);
        return ENG_R_OK;
    }
    if (refine && has_last && added_words && !list_variant && !eng__json_path(t->ctx, "vars.kindOf") &&
        json_object_get_int64(eng__json_path(t->ctx, "results.search.total")) == 0) {
        json_object_object_del(eng__json_path(t->ctx, "vars"), "noResults");
        eng__turn_note(t, "the refinement's new words found nothing there: a new search");
        return search_as(t, o, false, true);
    }
    /* the type's category holds nothing for these words: the category
     * alone, then the words alone */
    for (int pass = 0; typed && pass < 2 && json_object_get_int64(eng__json_path(t->ctx, "results.search.total")) == 0;
         pass++) {
        json_object_object_del(eng__json_path(t->ctx, "vars"), "noResults");
        if (pass == 0) {
            if (!q.text[0])
                continue;
            q.text[0] = '\0';
        } else {
            snprintf(q.text, sizeof q.text, "%s", words);
            q.category = NULL;
        }
        if (run_search(t, o, &q, "search", refine && has_last) < 0)
            return eng__turn_fail(t, "the catalog is not available right now");
    }
    /* a model the words name outside the guessed type wins: "iphone 13
     * pro" is the phone, not a laptop because most "pro"s are laptops */
    if (typed && q.category && strchr(words, ' ') && q.offset == 0) {
        int fit = top_fit(t, words), all = 1;
        for (const char *p = words; *p; p++)
            all += *p == ' ';
        if (fit < all) {
            query wide = q;
            wide.category = NULL;
            snprintf(wide.text, sizeof wide.text, "%s", words);
            if (run_search(t, o, &wide, "search", refine && has_last) < 0)
                return eng__turn_fail(t, "the catalog is not available right now");
            if (top_fit(t, words) == all) {   /* a title that holds every word */
                q = wide;
                typed = NULL;
            } else {
                json_object_object_del(eng__json_path(t->ctx, "vars"), "noResults");
                if (run_search(t, o, &q, "search", refine && has_last) < 0)
                    return eng__turn_fail(t, "the catalog is not available right now");
            }
        }
    }
    /* one product of the type: show it first, then what else the words
     * find ("nail polish" is one product; its neighbours help), but not
     * what only shares its colour ("red nail polish" lists no red onions) */
    if (typed && q.category && q.text[0] && q.offset == 0 &&
        json_object_get_int64(eng__json_path(t->ctx, "results.search.total")) == 1) {
        char plain[512];
        query_text(t, qtext, plain, sizeof plain, false);
        if (plain[0] && !(refine && has_last)) {
            q.category = NULL;
            snprintf(q.text, sizeof q.text, "%s", plain);
            if (run_search(t, o, &q, "search", refine && has_last) < 0)
                return eng__turn_fail(t, "the catalog is not available right now");
            type_first(t, typed);
        }
    }
    /* a need the catalog has nothing for, or a search none of whose
     * words the catalog knows ("stuff for a camping trip"), gets a
     * question, not "nothing found" */
    json_object *known = eng__json_path(t->ctx, "understanding.known");
    if ((json_object_get_boolean(eng__json_path(t->ctx, "understanding.vague")) ||
         (!(refine && has_last) && known && json_object_get_int64(known) == 0 && !cat && !brand)) &&
        json_object_get_int64(eng__json_path(t->ctx, "results.search.total")) == 0) {
        /* "got any discount codes?": no product, but a question the
         * shop's knowledge answers */
        if (!(refine && has_last) && eng__agent_knowledge(t, "shop_question", true)) {
            json_object_object_add(eng__json_path(t->ctx, "intent"), "name", json_object_new_string("shop_question"));
            json_object_object_del(eng__json_path(t->ctx, "vars"), "noResults");
            return ENG_R_OK;
        }
        /* "a gift under 25 for a coworker": no kind of product, but a
         * present and a budget: the best rated within it */
        static const char *const gift[] = {"gift", "gifts", "present", "presents", "something nice", NULL};
        double glo, ghi;
        if (!(refine && has_last) && eng__agent_has_word(text, gift) && money_range(t, &glo, &ghi)) {
            json_object_object_del(eng__json_path(t->ctx, "vars"), "noResults");
            json_object_object_add(eng__json_path(t->ctx, "intent"), "name", json_object_new_string("recommend"));
            eng__turn_note(t, "a present with a budget and no kind of product: the best rated within it");
            return recommend(t, o);
        }
        clarify(t);
        /* "any tents", "i need a printer": a thing named plainly that the
         * shop does not sell is said so, not asked again */
        size_t said = 0;
        for (const char *p = q.text; *p; p++)
            said += *p != ' ' && (p == q.text || p[-1] == ' ');
        /* "stuff for a camping trip", "something for my new flat": a need,
         * not a thing named; asked what kind of thing */
        static const char *const need[] = {"something", "stuff", "things", "anything", "ideas", "idea", "gift",
                                           "gifts", "present", "presents", "suggestions", NULL};
        if (!json_object_get_boolean(eng__json_path(t->ctx, "understanding.vague")) && q.text[0] &&
            !(refine && has_last) && said <= 3 && !eng__agent_has_word(text, need) && names_wanted(text, q.text)) {
            eng__set_var(t, "notCarried", json_object_new_string(q.text));
            eng__turn_note(t, "\"%s\": nothing of the kind in the catalog", q.text);
        }
    }
    nearest_above(t, &q);
    return ENG_R_OK;
}

/* "any tents", "i need a printer", "do you sell keyboards", "search
 * mouse": the words searched for come right after words that ask for a
 * thing (an article between), or are the whole message; "just buy it for
 * me right away" and "wait, add a second bottle" name nothing wanted. */
static bool names_wanted(const char *text, const char *words)
{
    static const char *const asks[] = {"any", "got", "sell", "stock", "carry", "need", "want", "looking for",
                                       "look for", "after", "show me", "search", "search for", "find",
                                       "find me", "get me", "buy", "like", "have", "where are", "where is",
                                       "a", "an", "some", "about", NULL};
    char first[48];
    size_t n = strcspn(words, " ");
    if (n == 0 || n >= sizeof first)
        return false;
    snprintf(first, sizeof first, "%.*s", (int)n, words);
    const char *at = NULL;
    for (const char *p = strcasestr(text, first); p && !at; p = strcasestr(p + 1, first))
        if ((p == text || !isalnum((unsigned char)p[-1])) && !isalnum((unsigned char)p[n]))
            at = p;
    if (!at)
        return false;
    /* the word before the searched words */
    const char *e = at;
    while (e > text && !isalnum((unsigned char)e[-1]))
        e--;
    if (e == text) {
        /* "hammocks?", "mouse pads": the words are the whole message */
        const char *r = at + strlen(words);
        while (*r && !isalnum((unsigned char)*r))
            r++;
        /* ...and read as words, not keyboard mashing ("asdfghjkl") */
        int run = 0, worst = 0;
        for (const char *c = words; *c; c++) {
            bool consonant = isalpha((unsigned char)*c) && !strchr("aeiouyAEIOUY", *c);
            run = consonant ? run + 1 : 0;
            worst = run > worst ? run : worst;
        }
        return strncasecmp(at, words, strlen(words)) == 0 && !*r && worst < 5;
    }
    const char *b = e;
    while (b > text && isalnum((unsigned char)b[-1]))
        b--;
    for (size_t i = 0; asks[i]; i++) {
        size_t k = strlen(asks[i]);
        const char *sp = strchr(asks[i], ' ');
        const char *from = sp ? e - k : b;
        if (from >= text && (size_t)(e - from) == k && strncasecmp(from, asks[i], k) == 0 &&
            (from == text || !isalnum((unsigned char)from[-1])))
            return true;
    }
    return false;
}

/* "go back to the first page", "the previous ones", "next page": a page
 * of the list shown, asked for. */
bool eng__agent_narrows_list(eng_turn *t)
{
    static const char *const opens[] = {"something with ", "something that ", "one with ", "ones with ",
                                        "one that ", "ones that ", "anything with ", "anything that ", "any with ",
                                        "any that ", "in a ", "with a ", "with an ", "with more ", "with better ",
                                        "that has ", "that have ", "those with ", "the ones with ", "only ones with ",
                                        "preferably with ", "ideally with ", "maybe something with ",
                                        "i'd prefer one with ", "id prefer one with ", NULL};
    const char *text = eng__json_str(t->ctx, "message.text", "");
    text = eng__agent_past_courtesy(text);   /* "ideally something with ..." */
    if (!eng__json_path(t->ctx, "session.lastQuery"))
        return false;
    /* what follows "with" is a feature of the list, even a word that
     * names a kind elsewhere ("any with a good camera" of phones) */
    for (size_t i = 0; opens[i]; i++)
        if (strncasecmp(text, opens[i], strlen(opens[i])) == 0)
            return true;
    if (eng__json_path(t->ctx, "understanding.category"))
        return false;
    /* "anything leather?", "something waterproof": one or two words the
     * catalog knows, no kind of product, after a list */
    static const char *const bare[] = {"anything ", "something ", "any ", NULL};
    static const char *const not_narrow[] = {"else", "more", "new", "cheaper", "pricier", "similar", "different",
                                             "other", "nice", "good", "for", "from", "by", "at", NULL};
    for (size_t i = 0; bare[i]; i++) {
        size_t bl = strlen(bare[i]);
        if (strncasecmp(text, bare[i], bl) != 0)
            continue;
        int words = 0;
        for (const char *p = text + bl; *p; p++)
            words += isalnum((unsigned char)*p) && (p == text + bl || !isalnum((unsigned char)p[-1]));
        if (words >= 1 && words <= 2 && json_object_get_int(eng__json_path(t->ctx, "understanding.known")) >= 1 &&
            !eng__agent_has_word(text + bl, not_narrow) && !eng__agent_names_brand_or_kind(t))
            return true;
    }
    /* "any leather ones", "only the black ones": "ones" of the list */
    static const char *const any[] = {"any ", "only ", "just ", "got any ", "do you have any ", "the ", NULL};
    for (size_t i = 0; any[i]; i++)
        if (strncasecmp(text, any[i], strlen(any[i])) == 0 &&
            eng__agent_has_word(text, (const char *const[]){"ones", NULL}) && !eng__agent_points_at_shown(t))
            return true;
    /* "anything for men?" after fragrances: the fragrances for men */
    static const char *const for_whom[] = {"anything for ", "something for ", "any for ", "ones for ", "one for ",
                                           "any of them for ", "and for ", "for ", NULL};
    if (eng__json_path(t->ctx, "understanding.forWhom") && eng__json_path(t->ctx, "session.lastQuery.category"))
        for (size_t i = 0; for_whom[i]; i++)
            if (strncasecmp(text, for_whom[i], strlen(for_whom[i])) == 0)
                return true;
    return false;
}

bool eng__agent_turns_page(eng_turn *t)
{
    static const char *const next[] = {"next page", "next ones", "next few", "more of those", "more of them",
                                       "more of these", "the rest of them", "the others", NULL};
    const char *text = eng__json_str(t->ctx, "message.text", "");
    json_object *named = eng__json_path(t->ctx, "understanding.named");
    return eng__json_path(t->ctx, "session.lastQuery") &&
           (eng__agent_has_word(text, first_page) || eng__agent_has_word(text, next)) &&
           !(json_object_is_type(named, json_type_array) && json_object_array_length(named) > 0);
}

/* "the second one" that points at nothing shown: asking back beats
 * guessing from the other words of the message. */
static bool unresolved_ordinal(eng_turn *t)
{
    json_object *ents = eng__json_path(t->ctx, "entities");
    for (size_t i = 0; ents && i < json_object_array_length(ents); i++) {
        json_object *e = json_object_array_get_idx(ents, i);
        if (strcmp(eng__json_str(e, "type", ""), "reference") == 0 &&
            strcmp(eng__json_str(e, "kind", ""), "ordinal") == 0 && !eng__json_str(e, "sku", NULL) &&
            !eng__json_str(e, "value.sku", NULL))
            return true;
    }
    return false;
}

/* Several products fit what the shopper named: show them and ask. */
static void which_one(eng_turn *t, agent_target *tg)
{
    eng__set_var(t, "whichOne", json_object_new_boolean(1));
    if (tg->name[0])
        eng__set_var(t, "named", json_object_new_string(tg->name));
    if (!tg->candidates)
        return;
    if (json_object_array_length(tg->candidates) > 5)
        json_object_array_del_idx(tg->candidates, 5, json_object_array_length(tg->candidates) - 5);
    ENG_JADD(eng__session(t), "shown", eng__agent_shown_of(tg->candidates));
    json_object_object_del(eng__session(t), "focus");
    set_cards(t, tg->candidates);
    tg->candidates = NULL;
}

/* "how much would 3 of these cost": a count of two or more with a price
 * question gets the sum at the product's price now (cart discounts come
 * when it is in the cart): vars.quote {qty, total}. */
static void quote(eng_turn *t, json_object *card)
{
    static const char *const asks[] = {"how much", "cost", "price", "come to", "total", NULL};
    const char *text = eng__json_str(t->ctx, "message.text", "");
    json_object *q = eng__slot(t, "quantity");
    int64_t n = q ? json_object_get_int64(q) : 0;
    bool asked = false;
    for (size_t i = 0; asks[i] && !asked; i++)
        asked = strcasestr(text, asks[i]) != NULL;
    json_object *fp = eng__json_path(card, "finalPrice");
    if (!asked || n < 2 || n > 1000000 || !fp || json_object_get_boolean(eng__json_path(card, "priceMissing")))
        return;
    int64_t cents = (int64_t)llround(json_object_get_double(fp) * 100.0);
    json_object *v = json_object_new_object();
    ENG_JADD(v, "qty", json_object_new_int64(n));
    ENG_JADD(v, "total", json_object_new_double((double)(cents * n) / 100.0));
    eng__set_var(t, "quote", v);
    /* "put them both in" next: that many of it (eng__agent_last_quote) */
    json_object *qd = json_object_new_object();
    ENG_JADD(qd, "sku", json_object_new_string(eng__json_str(card, "sku", "")));
    ENG_JADD(qd, "qty", json_object_new_int64(n));
    eng__agent_remember(t, "quoted", qd);
}

/* The details of product p (cleared here): its priced card, the focus. */
/* "is it machine washable" about the product in focus (vars.askedAbout,
 * set by the support agent): the listing's sentence that holds the words
 * asked about, or that it has none (vars.askedAbout.sentence unset). */
static void from_listing(eng_turn *t, json_object *card)
{
    json_object *asked = eng__json_path(t->ctx, "vars.askedAbout");
    const char *words = eng__json_str(asked, "words", NULL);
    const char *desc = eng__json_str(card, "description", NULL);
    if (!asked || !words || !desc)
        return;
    const char *best = NULL;
    size_t best_len = 0;
    int best_hits = 0;
    for (const char *s = desc; *s;) {
        const char *e = s;
        while (*e && !(*e == '.' && (e[1] == ' ' || e[1] == '\0')))
            e++;
        int hits = 0;
        char w[64];
        for (const char *p = words; *p;) {
            size_t n = strcspn(p, " ");
            /* a model word is short: "m1", "5g", "4k" */
            bool digit = false;
            for (size_t k = 0; k < n; k++)
                digit |= isdigit((unsigned char)p[k]) != 0;
            if ((n >= 4 || (digit && n >= 2)) && n < sizeof w) {
                memcpy(w, p, n);
                w[n] = '\0';
                /* the word's stem within the sentence: "washable" in "wash" */
                if (n > 6)
                    w[n - 2] = '\0';
                for (const char *q = s; q < e; q++)
                    if (strncasecmp(q, w, strlen(w)) == 0 && (n >= 4 || q == s || !isalnum((unsigned char)q[-1]))) {
                        hits++;
                        break;
                    }
            }
            p += n;
            while (*p == ' ')
                p++;
        }
        if (hits > best_hits)
            best = s, best_len = (size_t)(e - s) + (*e ? 1 : 0), best_hits = hits;
        s = *e ? e + 1 : e;
        while (*s == ' ')
            s++;
    }
    if (best)
        ENG_JADD(asked, "sentence", json_object_new_string_len(best, (int)best_len));
}

/* The facts a shopper asks of one product, their key in the product's
 * `facts` (stores/store.h) and how the reply names them. */
typedef struct fact_ask {
    const char *key, *label;
} fact_ask;

static const fact_ask *asked_fact(const char *text)
{
    static const char *const warranty[] = {"warranty", "warranties", "guarantee", "guaranteed", NULL};
    static const char *const returns[] = {"return", "returns", "returnable", "refundable", "refund it", "get a refund", "send it back", "send back", NULL};
    static const char *const weight[] = {"weigh", "weighs", "weight", "heavy", "how light", NULL};
    static const char *const dims[] = {"dimensions", "dimension", "how big", "how large", "how wide", "how tall",
                                       "how high", "how deep", "measurements", "measure", "size of", NULL};
    static const char *const ships[] = {"ship", "ships", "shipped", "dispatch", "dispatched", "deliver",
                                        "delivered", "delivery", "arrive", "arrives", "arriving", "get here",
                                        "be here", NULL};
    static const char *const when[] = {"when", "how long", "how soon", "how fast", "how quickly", NULL};
    static const fact_ask facts[] = {{"warranty", "warranty"}, {"returns", "return policy"}, {"weight", "weight"},
                                     {"dimensions", "dimensions"}, {"shipping", "shipping time"}};
    if (eng__agent_has_word(text, warranty))
        return &facts[0];
    if (eng__agent_has_word(text, returns))
        return &facts[1];
    if (eng__agent_has_word(text, weight))
        return &facts[2];
    if (eng__agent_has_word(text, dims))
        return &facts[3];
    if (eng__agent_has_word(text, ships) && eng__agent_has_word(text, when))
        return &facts[4];
    return NULL;
}

bool eng__agent_asks_fact(const char *text) { return asked_fact(text) != NULL; }

/* "what's the warranty on the sofa", "how heavy is it": the fact from
 * the product's own listing (vars.fact {name, label, value}); without
 * one, vars.fact has no value and the shop's own policy, when its
 * knowledge has one, is quoted beside (vars.knowledge). */
static void answer_fact(eng_turn *t, const store_product *p)
{
    const fact_ask *f = asked_fact(eng__json_str(t->ctx, "message.text", ""));
    if (!f)
        return;
    json_object *v = json_object_new_object();
    ENG_JADD(v, "name", json_object_new_string(f->key));
    ENG_JADD(v, "label", json_object_new_string(f->label));
    json_object *facts = p->facts ? json_tokener_parse(p->facts) : NULL;
    json_object *val = NULL;
    char buf[256] = "";
    if (facts && json_object_object_get_ex(facts, f->key, &val)) {
        if (json_object_is_type(val, json_type_string))
            snprintf(buf, sizeof buf, "%s", json_object_get_string(val));
        else if (json_object_is_type(val, json_type_double) || json_object_is_type(val, json_type_int))
            snprintf(buf, sizeof buf, "%g", json_object_get_double(val));
        else if (json_object_is_type(val, json_type_object)) {
            /* dimensions: width x height x depth, as listed */
            static const char *const sides[] = {"width", "height", "depth"};
            size_t o = 0;
            for (size_t i = 0; i < 3; i++) {
                json_object *d = NULL;
                if (json_object_object_get_ex(val, sides[i], &d) && o < sizeof buf)
                    o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s %g", o ? ", " : "", sides[i],
                                          json_object_get_double(d));
            }
        }
    }
    json_object_put(facts);
    if (buf[0])
        ENG_JADD(v, "value", json_object_new_string(buf));
    eng__set_var(t, "fact", v);
    /* the listing says nothing: the shop's own words on it, if any; a
     * return window as listed comes with the shop's conditions too (what
     * may not be sent back once opened) */
    if ((!buf[0] || strcmp(f->key, "returns") == 0) && strcmp(f->key, "weight") != 0 &&
        strcmp(f->key, "dimensions") != 0)
        eng__agent_knowledge(t, strcmp(f->key, "returns") == 0 ? "check_refund_policy" : "shop_question", false);
    eng__turn_note(t, "asked the %s: %s", f->label, buf[0] ? "from the listing" : "the listing has none");
}

/* "how much is it in euros": the shop prices in one currency (the
 * checkout's); said so, never a converted guess (vars.currencyAsked) */
static void currency_asked(eng_turn *t)
{
    static const char *const other[] = {"euro", "euros", "eur", "pound", "pounds", "gbp", "sterling", "yen",
                                        "jpy", "cad", "aud", "rupees", "inr", "pesos", "francs", "chf", "kronor",
                                        "zloty", "reais", "yuan", NULL};
    const char *text = eng__json_str(t->ctx, "message.text", "");
    if (!eng__agent_has_word(text, other) && !strstr(text, "\xe2\x82\xac") && !strstr(text, "\xc2\xa3"))
        return;
    const eng_checkout_cfg *cfg = eng__checkout_cfg(t->p);
    eng__set_var(t, "currencyAsked", json_object_new_string(cfg && cfg->currency ? cfg->currency : "USD"));
}

static void asked_of_named(eng_turn *t, const store_product *p);

/* The last two products looked at one at a time (session.viewed, oldest
 * first): "the cheaper of the two" after the Datejust's details and the
 * Submariner's is one of those two. */
static void viewed(eng_turn *t, json_object *card)
{
    json_object *one = json_object_new_array();
    json_object_array_add(one, json_object_get(card));
    json_object *entry = eng__agent_shown_of(one);
    json_object_put(one);
    json_object *e = entry && json_object_array_length(entry) ? json_object_get(json_object_array_get_idx(entry, 0)) : NULL;
    json_object_put(entry);
    if (!e)
        return;
    json_object *was = eng__json_path(eng__session(t), "viewed"), *now = json_object_new_array();
    const char *sku = eng__json_str(e, "sku", "");
    for (size_t i = 0; was && i < json_object_array_length(was); i++) {
        json_object *w = json_object_array_get_idx(was, i);
        if (strcmp(eng__json_str(w, "sku", ""), sku) != 0)
            json_object_array_add(now, json_object_get(w));
    }
    json_object_array_add(now, e);
    while (json_object_array_length(now) > 2)
        json_object_array_del_idx(now, 0, 1);
    ENG_JADD(eng__session(t), "viewed", now);
}

static eng_result show_details(eng_turn *t, store_product *p)
{
    answer_fact(t, p);
    asked_of_named(t, p);
    currency_asked(t);
    json_object *card = eng__card(p, true);
    store_product_clear(p);
    json_object *cards = json_object_new_array();
    json_object_array_add(cards, card);
    eng__shop_price(t, cards);
    json_object_object_add(eng__json_path(t->ctx, "results"), "product", json_object_get(card));
    ENG_JADD(eng__session(t), "focus", json_object_new_string(eng__json_str(card, "sku", "")));
    viewed(t, card);
    set_cards(t, cards);
    quote(t, card);
    from_listing(t, card);
    eng__agent_keep_pending(t);
    eng__turn_note(t, "details of %s", eng__json_str(card, "sku", ""));
    return ENG_R_OK;
}

static eng_result details(eng_turn *t)
{
    store *s = eng__store(t);
    agent_target tg;
    const char *focus = eng__json_str(t->ctx, "session.focus", NULL);
    if (focus && (eng__json_path(t->ctx, "vars.askedAbout") || eng__json_path(t->ctx, "vars.useFocus"))) {
        /* "is it machine washable": the product in focus, whatever its
         * words might name ("machine") */
        memset(&tg, 0, sizeof tg);
        tg.found = AGENT_ONE, tg.where = AGENT_AT_FOCUS;
        tg.sku = eng__pool_strdup(t->pool, focus);
    } else {
        eng__agent_target(t, false, &tg);
    }
    const char *sku = tg.found == AGENT_ONE ? tg.sku : NULL;
    store_product p = {0};
    if (tg.found == AGENT_MANY) {
        which_one(t, &tg);
        eng__turn_note(t, "several products fit: asked which one");
        return ENG_R_OK;
    }
    if (tg.found == AGENT_BAD_REF || (tg.found == AGENT_NOTHING && unresolved_ordinal(t))) {
        eng__set_var(t, "needProduct", json_object_new_boolean(1));
        eng__turn_note(t, "the reference points at nothing shown");
        return ENG_R_OK;
    }
    if (!sku || eng__product_get(t, sku, &p, NULL) < 0) {
        /* "tell me about the essence mascara": the best match by name */
        query q = {.lo = -1, .hi = -1};
        query_text(t, eng__json_str(t->ctx, "message.text", ""), q.text, sizeof q.text, true);
        store_search_query sq;
        store_search_query_init(&sq);
        sq.text = q.text;
        sq.limit = 1;
        sq.flags |= eng__agent_spell_flags(t);
        store_search_result res = {0};
        if (!q.text[0] || store_search(s, &sq, &res, NULL) < 0 || res.n_hits == 0) {
            store_search_result_free(&res);
            eng__set_var(t, "needProduct", json_object_new_boolean(1));
            eng__turn_note(t, "no product to describe");
            return ENG_R_OK;
        }
        sku = eng__pool_strdup(t->pool, res.hits[0].product.sku);
        store_search_result_free(&res);
        if (eng__product_get(t, sku, &p, NULL) < 0)
            return eng__turn_fail(t, "product %s vanished", sku);
    }
    return show_details(t, &p);
}

/* "does it come in grey?", "is it available in XL" with a product in
 * focus: that product, and whether its listing names the colour or size
 * (vars.variant {value, listed}); false when the message is no such
 * question. */
static bool variant_question(eng_turn *t, eng_result *r)
{
    const char *focus = eng__json_str(t->ctx, "session.focus", NULL);
    if (!eng__agent_asks_variant(t))
        return false;
    const char *value = NULL, *said = NULL;   /* canonical ("gray") and as typed ("grey") */
    json_object *ents = eng__json_path(t->ctx, "entities");
    /* "is the fourth available in medium": the product pointed at */
    for (size_t i = 0; ents && i < json_object_array_length(ents); i++) {
        json_object *e = json_object_array_get_idx(ents, i);
        if (strcmp(eng__json_str(e, "type", ""), "reference") == 0 && eng__json_str(e, "sku", NULL) &&
            (strcmp(eng__json_str(e, "kind", ""), "ordinal") == 0 ||
             strcmp(eng__json_str(e, "kind", ""), "attribute") == 0))
            focus = eng__json_str(e, "sku", NULL);
    }
    if (!focus)
        return false;
    for (size_t i = 0; ents && i < json_object_array_length(ents) && !value; i++) {
        json_object *e = json_object_array_get_idx(ents, i);
        const char *type = eng__json_str(e, "type", "");
        if (strcmp(type, "color") != 0 && strcmp(type, "size") != 0)
            continue;
        said = eng__json_str(e, "text", NULL);
        value = json_object_is_type(eng__json_path(e, "value"), json_type_string)
                    ? json_object_get_string(eng__json_path(e, "value")) : said;
    }
    store_product p = {0};
    if (!value || !said || eng__product_get(t, focus, &p, NULL) < 0)
        return false;
    bool listed = false;
    const char *words[2] = {value, said};
    for (size_t w = 0; w < 2 && !listed; w++) {
        /* whole words: the size "M" is not the "M" of "Man" */
        const char *const one[] = {words[w], NULL};
        listed = (p.title && eng__agent_has_word(p.title, one)) ||
                 (p.description && eng__agent_has_word(p.description, one));
        for (size_t i = 0; !listed && i < p.n_tags; i++)
            listed = eng__agent_has_word(p.tags[i], one);
    }
    value = said;
    json_object *v = json_object_new_object();
    ENG_JADD(v, "value", json_object_new_string(value));
    ENG_JADD(v, "listed", json_object_new_boolean(listed));
    eng__set_var(t, "variant", v);
    eng__agent_read_as(t, "product_details");
    *r = show_details(t, &p);
    return true;
}

/* "the first two", "top 3", "last two": how many from which end; 0 when
 * the message says no such thing. */
static int first_n(const char *text, bool *from_end)
{
    static const char *const nums[] = {"two", "three", "four", "five", NULL};
    static const char *const ends[] = {"first", "top", "last", NULL};
    for (size_t e = 0; ends[e]; e++) {
        const char *p = strcasestr(text, ends[e]);
        if (!p)
            continue;
        p += strlen(ends[e]);
        while (*p == ' ')
            p++;
        int n = 0;
        if (isdigit((unsigned char)*p))
            n = (int)strtol(p, NULL, 10);
        for (size_t k = 0; nums[k] && !n; k++)
            if (strncasecmp(p, nums[k], strlen(nums[k])) == 0)
                n = (int)k + 2;
        if (n >= 2 && n <= 5) {
            *from_end = e == 2;
            return n;
        }
    }
    return 0;
}

/* "the two cheapest", "the 3 best rated", "two most expensive": how many
 * of the list shown, and by what (-1 price up, 1 price down, 2 rating
 * down); 0 when the message picks none that way. */
static int n_ranked(const char *text, int *by)
{
    static const char *const nums[] = {"two", "three", "four", "five", NULL};
    static const struct {
        const char *w;
        int by;
    } ranks[] = {{"cheapest", -1}, {"least expensive", -1}, {"lowest priced", -1}, {"most affordable", -1},
                 {"most expensive", 1}, {"priciest", 1}, {"dearest", 1}, {"best rated", 2}, {"top rated", 2},
                 {"highest rated", 2}, {"best reviewed", 2}};
    for (const char *p = text; *p; p++) {
        if (p != text && isalnum((unsigned char)p[-1]))
            continue;
        int n = 0;
        const char *q = p;
        if (isdigit((unsigned char)*q) && !isdigit((unsigned char)q[1])) {
            n = *q - '0';
            q++;
        }
        for (size_t k = 0; nums[k] && !n; k++)
            if (strncasecmp(q, nums[k], strlen(nums[k])) == 0)
                n = (int)k + 2, q += strlen(nums[k]);
        if (n < 2 || n > 5 || (*q && *q != ' '))
            continue;
        while (*q == ' ')
            q++;
        for (size_t k = 0; k < sizeof ranks / sizeof ranks[0]; k++)
            if (strncasecmp(q, ranks[k].w, strlen(ranks[k].w)) == 0) {
                *by = ranks[k].by;
                return n;
            }
    }
    return 0;
}

/* The value a list entry is ranked by (n_ranked's `by`). */
static double rank_value(json_object *e, int by)
{
    if (by == 2)
        return json_object_get_double(eng__json_path(e, "rating"));
    json_object *f = eng__json_path(e, "finalPrice");
    return json_object_get_double(f ? f : eng__json_path(e, "price"));
}

/* "how much are the first three together", "what would the first two
 * come to": a price asked of several at once. */
static bool asks_sum(const char *text)
{
    static const char *const price[] = {"how much", "cost", "costs", "price", "come to", "comes to", "add up",
                                        "total", NULL};
    static const char *const sum[] = {"together", "altogether", "all together", "combined", "in total", "total",
                                      "come to", "comes to", "add up", "adds up", "for both", "for all", NULL};
    return eng__agent_has_word(text, price) && eng__agent_has_word(text, sum);
}

static bool add_sku(json_object *skus, const char *sku)
{
    for (size_t i = 0; i < json_object_array_length(skus); i++)
        if (strcmp(json_object_get_string(json_object_array_get_idx(skus, i)), sku) == 0)
            return false;
    json_object_array_add(skus, json_object_new_string(sku));
    return true;
}

/* "which of these is waterproof", "which one has the best battery": a
 * question that picks among the products shown by something only their
 * listings can say. */
static bool asks_which_of_shown(const char *text)
{
    static const char *const which[] = {"which one", "which of", "which is", "which has", "which are",
                                        "which would", "which will", "which ones", "any of these", "any of them",
                                        "any of those", "are these", "are they", "are those", "do these",
                                        "do they", "do those", NULL};
    return eng__agent_has_word(text, which);
}

/* "of these which one is the most lightweight", "which ones have a
 * floral note": "which" said of the list shown (two or more, none picked
 * out by an ordinal), read by the model as a search or a product's
 * details. */
bool eng__agent_picks_among_shown(eng_turn *t)
{
    static const char *const which[] = {"which one", "which ones", "which of", "out of these", "of these which",
                                        "of them which", "of those which", "are any of these", "are any of them",
                                        "are any of those", "is any of these", "is any of them", "do any of these",
                                        "do any of them", "does any of these", "does any of them",
                                        /* "which is the most popular", "which is best" */
                                        "which is", "which are", "which has", "which would", NULL};
    json_object *shown = eng__json_path(t->ctx, "session.shown");
    const char *text = eng__json_str(t->ctx, "message.text", "");
    return json_object_is_type(shown, json_type_array) && json_object_array_length(shown) >= 2 &&
           eng__agent_has_word(text, which) &&
           !eng__agent_points_at_shown(t);
}

/* The word such a question asks about, into out (empty when there is
 * none): what is left of the message without question words, words of
 * comparison and words that name the products themselves. */
static void feature_word(const char *text, json_object *cards, char *out, size_t cap)
{
    static const char *const skip[] = {
        "which", "one", "ones", "of", "these", "those", "them", "they", "is", "are", "has", "have", "had", "the",
        "a", "an", "best", "better", "most", "more", "good", "great", "really", "very", "would", "will", "be",
        "for", "any", "do", "does", "with", "got", "comes", "come", "it", "in", "on", "and", "or", "me", "you",
        "i", "to", "out", "there", "here", "that", "this", "here's", "actually", "really", "so", "then", "now",
        "please", "pls", "tell", "know", "say", "can", "could", "should", "buy", "get", "pick", "choose",
        "go", "recommend", "suggest", "option", "choice", "think", "we", "my", "your", "our", "all", "rated",
        "rating", "ratings", "review", "reviews", "reviewed", "popular", "stars", "cheap", "cheaper", "cheapest",
        "price", "priced", "prices", "cost", "costs", "expensive", "value", "deal", "money", "smells", "smell",
        "highest", "lowest", "top", "higher", "lower", "stock", "available", "instock", "these", "sale",
        "looks", "look", "feels", "feel", "sounds", "fits", "fit", "works", "work", "lasts", "last",
        /* "the longest battery life", "the biggest screen": the thing, not how much */
        "longest", "longer", "biggest", "bigger", "largest", "larger", "fastest", "faster", "strongest",
        "stronger", "brightest", "brighter", "smallest", "smaller", "greatest", "nicest", "decent",
        /* "how much are they": the prices, no thing of the listings */
        "how", "much", "many", "what", "whats", "what's", "going", "selling", "sold", "sell", "retail",
        "retailing", "worth", NULL};
    out[0] = '\0';
    int words = 0;
    for (const char *p = text; *p;) {
        while (*p && !isalnum((unsigned char)*p))
            p++;
        const char *w = p;
        while (*p && (isalnum((unsigned char)*p) || *p == '\''))
            p++;
        size_t n = (size_t)(p - w);
        if (n < 3 || n >= cap)
            continue;
        /* "fragrance free", "water resistant", "dishwasher safe": one
         * thing asked about, whatever the first word names */
        static const char *const suffixes[] = {"free", "resistant", "proof", "safe", "friendly", NULL};
        const char *nx = p;
        while (*nx == ' ' || *nx == '-')
            nx++;
        size_t nn = 0;
        while (isalnum((unsigned char)nx[nn]))
            nn++;
        bool pair = false;
        for (size_t k = 0; suffixes[k] && !pair; k++)
            pair = nn == strlen(suffixes[k]) && strncasecmp(nx, suffixes[k], nn) == 0;
        if (pair && n + nn + 2 < cap) {
            snprintf(out, cap, "%.*s %.*s", (int)n, w, (int)nn, nx);
            for (char *c = out; *c; c++)
                *c = (char)tolower((unsigned char)*c);
            return;
        }
        bool known = false;
        for (size_t k = 0; skip[k] && !known; k++)
            known = strlen(skip[k]) == n && strncasecmp(skip[k], w, n) == 0;
        for (size_t i = 0; !known && cards && i < json_object_array_length(cards); i++) {
            json_object *c = json_object_array_get_idx(cards, i);
            known = eng__agent_word_fits(w, n, eng__json_str(c, "category", ""), true) ||
                    eng__agent_word_fits(w, n, eng__json_str(c, "brand", ""), false);
        }
        if (known)
            continue;
        /* up to two words, space separated: "a floral scent" */
        size_t o = strlen(out);
        if (o + n + 2 >= cap)
            return (void)(out[0] = '\0');
        if (o)
            out[o++] = ' ';
        for (size_t i = 0; i < n; i++)
            out[o++] = (char)tolower((unsigned char)w[i]);
        out[o] = '\0';
        words++;
    }
    if (words > 2)   /* a sentence of its own, not one thing asked about */
        out[0] = '\0';
}


/* Does the product's listing (title, description, tags) hold the word? */
static bool listing_holds(const store_product *p, const char *w)
{
    size_t n = strlen(w);
    const char *sp = strchr(w, ' ');
    if (sp) {
        /* "fragrance free": as two words or hyphenated */
        char hy[64];
        snprintf(hy, sizeof hy, "%.*s-%s", (int)(sp - w), w, sp + 1);
        bool in = strcasestr(p->title, w) || strcasestr(p->title, hy) ||
                  (p->description && (strcasestr(p->description, w) || strcasestr(p->description, hy)));
        for (size_t i = 0; !in && i < p->n_tags; i++)
            in = strcasestr(p->tags[i], w) || strcasestr(p->tags[i], hy);
        return in;
    }
    if (eng__agent_word_fits(w, n, p->title, false) || eng__agent_word_fits(w, n, p->description, false))
        return true;
    for (size_t i = 0; i < p->n_tags; i++)
        if (eng__agent_word_fits(w, n, p->tags[i], false))
            return true;
    return false;
}

/* The product's weight as its listing gives it, or a negative number. */
static double listed_weight(const store_product *p)
{
    json_object *facts = p->facts ? json_tokener_parse(p->facts) : NULL, *v = NULL;
    double w = -1;
    if (facts && json_object_object_get_ex(facts, "weight", &v) &&
        (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
        w = json_object_get_double(v);
    json_object_put(facts);
    return w;
}

/* "compare the first two", "the oppo or the realme?", "compare them":
 * the products side by side; nothing in the session changes but focus. */
static eng_result compare(eng_turn *t)
{
    const char *text = eng__json_str(t->ctx, "message.text", "");
    json_object *shown = eng__json_path(t->ctx, "session.shown");
    size_t nshown = shown ? json_object_array_length(shown) : 0;
    json_object *skus = json_object_new_array();
    bool from_end = false;
    int n = first_n(text, &from_end);
    for (int i = 0; i < n && (size_t)i < nshown; i++) {
        size_t k = from_end ? nshown - (size_t)n + (size_t)i : (size_t)i;
        if (k < nshown)
            add_sku(skus, eng__json_str(json_object_array_get_idx(shown, k), "sku", ""));
    }
    /* "compare the two cheapest": the n of the list first by that order */
    int by = 0, ranked = n ? 0 : n_ranked(text, &by);
    for (int i = 0; i < ranked && (size_t)i < nshown; i++) {
        json_object *best = NULL;
        for (size_t k = 0; k < nshown; k++) {
            json_object *e = json_object_array_get_idx(shown, k);
            bool taken = false;
            for (size_t j = 0; j < json_object_array_length(skus) && !taken; j++)
                taken = strcmp(json_object_get_string(json_object_array_get_idx(skus, j)),
                               eng__json_str(e, "sku", "")) == 0;
            if (taken)
                continue;
            double v = rank_value(e, by);
            if (!best || (by < 0 ? v < rank_value(best, by) : v > rank_value(best, by)))
                best = e;
        }
        if (best)
            add_sku(skus, eng__json_str(best, "sku", ""));
    }
    if (ranked) {
        n = ranked;   /* the ones picked, not every one shown */
        eng__turn_note(t, "the %d %s of the list", ranked, by < 0 ? "cheapest" : by == 1 ? "dearest" : "best rated");
    }
    json_object *ents = eng__json_path(t->ctx, "entities");
    for (size_t i = 0; !n && ents && i < json_object_array_length(ents); i++) {
        json_object *e = json_object_array_get_idx(ents, i);
        const char *sku = eng__json_str(e, "sku", NULL);
        if (strcmp(eng__json_str(e, "type", ""), "reference") == 0 && sku)
            add_sku(skus, sku);
    }
    /* "the 1st and 2nd", "first or fourth": ordinal words the reference
     * finder left alone (it wants "one" or a noun after them) */
    if (!n && json_object_array_length(skus) < 2) {
        static const char *const ord[] = {"first", "second", "third", "fourth", "fifth", "1st", "2nd", "3rd",
                                          "4th", "5th", NULL};
        for (const char *p = text; *p;) {
            while (*p && !isalnum((unsigned char)*p))
                p++;
            const char *w = p;
            while (*p && isalnum((unsigned char)*p))
                p++;
            size_t wn = (size_t)(p - w);
            for (size_t k = 0; ord[k] && wn; k++)
                if (strlen(ord[k]) == wn && strncasecmp(ord[k], w, wn) == 0 && k % 5 < nshown)
                    add_sku(skus, eng__json_str(json_object_array_get_idx(shown, k % 5), "sku", ""));
            if (wn == 4 && strncasecmp(w, "last", 4) == 0 && nshown)
                add_sku(skus, eng__json_str(json_object_array_get_idx(shown, nshown - 1), "sku", ""));
        }
    }
    /* named products, one per part: "the oppo and the realme" */
    char parts[320];
    eng__agent_name_parts(t, parts, sizeof parts, true);
    for (char *p = parts; *p && json_object_array_length(skus) < 4;) {
        char *w = p;
        while (*p && *p != '|')
            p++;
        if (*p)
            *p++ = '\0';
        agent_target tg;
        if (eng__agent_named(t, w, &tg) && !(nshown >= 2 && asks_which_of_shown(text) && tg.where != AGENT_AT_SHOWN))
            add_sku(skus, tg.sku);
        json_object_put(tg.candidates);
    }
    /* "which of these is rated best?", "which one is cheapest?": a
     * question about the list shown, named or not */
    static const char *const rate_cue[] = {"best rat", "highest rat", "top rat", "best review", "better rat",
                                           "rated best", "rated highest", "most popular", "best one", "the best",
                                           "is best", "better one", "is better", "better review", "better reviews",
                                           "better rated", "higher rated", NULL};
    static const char *const price_cue[] = {"cheapest", "least expensive", "lowest price", "cheaper",
                                            "most affordable", "costs less", "costs least", NULL};
    const char *asked = NULL;
    for (size_t k = 0; !asked && rate_cue[k]; k++)
        if (strcasestr(text, rate_cue[k]))
            asked = "rating";
    for (size_t k = 0; !asked && price_cue[k]; k++)
        if (strcasestr(text, price_cue[k]))
            asked = "price";
    /* "which one is lightest", "which is the heaviest": the weights listed */
    static const char *const light_cue[] = {"lightest", "lighter", "lightweight", "weighs less", "weighs least",
                                            "weighs the least", "least heavy", "least weight", "lowest weight",
                                            "weigh less", "weigh the least", NULL};
    static const char *const heavy_cue[] = {"heaviest", "heavier", "weighs more", "weighs the most", "weigh more",
                                            "weigh the most", "most weight", "highest weight", NULL};
    if (eng__agent_has_word(text, light_cue))
        asked = "light";
    else if (eng__agent_has_word(text, heavy_cue))
        asked = "heavy";
    /* "which of these is waterproof", "which has the best battery": the
     * word the listings are searched for ("the best battery" is not the
     * best rated) */
    char feature[48] = "";
    static const char *const rated[] = {"rated", "rating", "ratings", "review", "reviews", "reviewed", "popular",
                                        "stars", NULL};
    if ((!asked || (strcmp(asked, "rating") == 0 && !eng__agent_has_word(text, rated))) && nshown >= 2 &&
        asks_which_of_shown(text)) {
        feature_word(text, shown, feature, sizeof feature);
        if (feature[0])
            asked = "feature";
    }
    static const char *const all[] = {"them", "they", "these", "those", "both", "all", "each", "prices", "the two", NULL};
    /* right after a comparison, "which has better reviews" is of the
     * products just compared, not of the whole list */
    json_object *before = eng__json_path(t->ctx, "session.compared");
    if (json_object_array_length(skus) < 2 && asked && json_object_is_type(before, json_type_array) &&
        json_object_array_length(before) >= 2 &&
        strcmp(eng__json_str(t->ctx, "session.lastIntent", ""), "compare") == 0)
        for (size_t i = 0; i < json_object_array_length(before); i++)
            add_sku(skus, json_object_get_string(json_object_array_get_idx(before, i)));
    /* "which one smells the nicest": which of the list, whatever is
     * asked of it, compares the list (what the listings say of it) */
    if (json_object_array_length(skus) < 2 &&
        (asked || eng__agent_has_word(text, all) || (nshown >= 2 && asks_which_of_shown(text))))
        for (size_t i = 0; i < nshown && i < 5; i++)
            add_sku(skus, eng__json_str(json_object_array_get_idx(shown, i), "sku", ""));
    /* "compare it with the realme": the product in focus joins */
    const char *focus = eng__json_str(t->ctx, "session.focus", NULL);
    if (json_object_array_length(skus) == 1 && focus)
        add_sku(skus, focus);
    /* one product shown, and which is best asked: that one, said so */
    if (json_object_array_length(skus) < 2 && !(asked && json_object_array_length(skus) == 1)) {
        json_object_put(skus);
        eng__set_var(t, "needTwo", json_object_new_boolean(1));
        eng__turn_note(t, "compare: fewer than two products");
        return ENG_R_OK;
    }
    json_object *cards = json_object_new_array(), *having = json_object_new_array();
    bool held[2][8] = {{false}};
    /* "fragrance free" is one thing asked about, not two words */
    const char *second = strchr(feature, ' ');
    bool phrase = second && (strcmp(second + 1, "free") == 0 || strcmp(second + 1, "resistant") == 0 ||
                             strcmp(second + 1, "proof") == 0 || strcmp(second + 1, "safe") == 0 ||
                             strcmp(second + 1, "friendly") == 0);
    const char *titles[8];
    size_t nheld = 0;
    json_object *lightest = NULL, *heaviest = NULL;
    double wmin = 0, wmax = 0;
    size_t weighed = 0;
    for (size_t i = 0; i < json_object_array_length(skus); i++) {
        store_product p = {0};
        if (eng__product_get(t, json_object_get_string(json_object_array_get_idx(skus, i)), &p, NULL) == 0) {
            json_object *card = eng__card(&p, false);
            json_object_array_add(cards, card);
            double w = listed_weight(&p);
            if (w > 0) {
                if (!weighed || w < wmin)
                    wmin = w, lightest = card;
                if (!weighed || w > wmax)
                    wmax = w, heaviest = card;
                weighed++;
            }
            if (feature[0] && nheld < 8) {
                char w2[sizeof feature];
                snprintf(w2, sizeof w2, "%s", feature);
                char *sp = phrase ? NULL : strchr(w2, ' ');
                if (sp)
                    *sp = '\0';
                held[0][nheld] = listing_holds(&p, w2);
                held[1][nheld] = sp && listing_holds(&p, sp + 1);
                titles[nheld++] = json_object_get_string(eng__json_path(card, "title"));
            }
            store_product_clear(&p);
        }
    }
    json_object_put(skus);
    if (feature[0]) {
        /* of two words, the one the fewest listings hold but some do
         * ("floral" rather than "scent", which every perfume has) */
        char *sp = phrase ? NULL : strchr(feature, ' ');
        size_t c[2] = {0, 0};
        for (size_t i = 0; i < nheld; i++)
            c[0] += held[0][i], c[1] += held[1][i];
        int k = !sp || (c[0] && (!c[1] || c[0] < c[1])) ? 0 : 1;
        if (sp && !c[0] && !c[1])
            k = 0;   /* neither held: said as asked, "battery life" */
        else if (sp && k == 0)
            *sp = '\0';
        else if (sp)
            memmove(feature, sp + 1, strlen(sp + 1) + 1);
        for (size_t i = 0; i < nheld; i++)
            if (held[k][i])
                json_object_array_add(having, json_object_new_string(titles[i]));
    }
    eng__shop_price(t, cards);
    json_object *cheap = NULL, *best = NULL;
    for (size_t i = 0; i < json_object_array_length(cards); i++) {
        json_object *c = json_object_array_get_idx(cards, i);
        if (!cheap || json_object_get_double(eng__json_path(c, "finalPrice")) <
                          json_object_get_double(eng__json_path(cheap, "finalPrice")))
            cheap = c;
        if (!best || json_object_get_double(eng__json_path(c, "rating")) >
                         json_object_get_double(eng__json_path(best, "rating")))
            best = c;
    }
    json_object *r = json_object_new_object();
    ENG_JADD(r, "count", json_object_new_int64((int64_t)json_object_array_length(cards)));
    if (cheap)
        ENG_JADD(r, "cheapest", json_object_new_string(eng__json_str(cheap, "title", "")));
    if (best)
        ENG_JADD(r, "bestRated", json_object_new_string(eng__json_str(best, "title", "")));
    ENG_JADD(r, "same", json_object_new_boolean(cheap == best));
    if (asks_sum(text) && json_object_array_length(cards) >= 2) {
        /* "how much are the first three together": their sum, one of each */
        int64_t cents = 0;
        for (size_t i = 0; i < json_object_array_length(cards); i++)
            cents += llround(json_object_get_double(eng__json_path(json_object_array_get_idx(cards, i), "finalPrice")) *
                             100);
        ENG_JADD(r, "together", json_object_new_double((double)cents / 100.0));
    }
    /* the answer comes first, and it is what "it" means next ("add it") */
    json_object *pick = !asked                         ? NULL
                        : strcmp(asked, "rating") == 0 ? best
                        : strcmp(asked, "price") == 0  ? cheap
                        : strcmp(asked, "light") == 0  ? (weighed >= 2 ? lightest : NULL)
                        : strcmp(asked, "heavy") == 0  ? (weighed >= 2 ? heaviest : NULL)
                                                       : NULL;
    if (json_object_array_length(cards) == 1)
        ENG_JADD(r, "only", json_object_new_boolean(1));
    if (asked && (strcmp(asked, "light") == 0 || strcmp(asked, "heavy") == 0) && !pick)
        ENG_JADD(r, "noWeights", json_object_new_boolean(1));   /* the listings do not say */
    if (feature[0]) {
        json_object *f = json_object_new_object();
        ENG_JADD(f, "word", json_object_new_string(feature));
        ENG_JADD(f, "listed", json_object_get(having));
        ENG_JADD(r, "feature", f);
        if (json_object_array_length(having) == 1) {
            /* the one whose listing says so is what "it" means next */
            for (size_t i = 0; i < json_object_array_length(cards); i++)
                if (strcmp(eng__json_str(json_object_array_get_idx(cards, i), "title", ""),
                           json_object_get_string(json_object_array_get_idx(having, 0))) == 0)
                    ENG_JADD(eng__session(t), "focus",
                             json_object_new_string(eng__json_str(json_object_array_get_idx(cards, i), "sku", "")));
        }
    }
    json_object_put(having);
    if (pick) {
        const char *key = strcmp(asked, "rating") == 0  ? "askedRating"
                          : strcmp(asked, "price") == 0 ? "askedPrice"
                          : strcmp(asked, "light") == 0 ? "askedLight"
                                                        : "askedHeavy";
        json_object_object_add(r, key, json_object_new_boolean(1));
        if (strcmp(asked, "light") == 0 || strcmp(asked, "heavy") == 0)
            ENG_JADD(r, "weight", json_object_new_double(strcmp(asked, "light") == 0 ? wmin : wmax));
        ENG_JADD(r, "answer", json_object_get(pick));
        ENG_JADD(eng__session(t), "focus", json_object_new_string(eng__json_str(pick, "sku", "")));
    }
    json_object_object_add(eng__json_path(t->ctx, "results"), "compare", r);
    /* what "the cheaper one" may mean next (the cart agent asks otherwise) */
    json_object *compared = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(cards); i++)
        json_object_array_add(compared,
                              json_object_new_string(eng__json_str(json_object_array_get_idx(cards, i), "sku", "")));
    ENG_JADD(eng__session(t), "compared", compared);
    set_cards(t, cards);
    eng__turn_note(t, "compared %zu products", json_object_array_length(cards));
    return ENG_R_OK;
}

static eng_result recommend(eng_turn *t, const agent_opts *o)
{
    query q = {.lo = -1, .hi = -1, .sort = STORE_SORT_RATING};
    const char *order = eng__json_str(t->ctx, "vars.shopOrder", NULL);
    if (order)   /* "the cheapest thing you have": the whole shop by price */
        q.sort = strcmp(order, "desc") == 0 ? STORE_SORT_PRICE_DESC : STORE_SORT_PRICE_ASC;
    store_product p = {0};
    /* a copy: the list shown below replaces the session's focus */
    const char *focus = eng__pool_strdup(t->pool, eng__json_str(t->ctx, "session.focus", NULL));
    if (focus && eng__product_get(t, focus, &p, NULL) == 0 && p.category) {
        q.category = eng__pool_strdup(t->pool, p.category);
    } else {
        /* long-term memory: a favourite brand or category */
        q.category = eng__json_str(t->ctx, "memory.preferences.category", NULL);
        q.brand = eng__json_str(t->ctx, "memory.preferences.brand", NULL);
    }
    store_product_clear(&p);
    const char *cat = entity_value(t, "category");
    if (!cat)
        cat = eng__json_str(t->ctx, "understanding.category", NULL);   /* "recommend a moisturiser" */
    if (cat)
        q.category = cat;
    /* "something similar but in stock" */
    static const char *const instock[] = {"in stock", "available", "in-stock", NULL};
    if (eng__agent_has_word(eng__json_str(t->ctx, "message.text", ""), instock))
        q.in_stock = 1;
    money_bounds(t, &q);   /* "a gift under 25": the budget bounds the suggestions */
    /* "what do you recommend for a 5 year old": a need named that no
     * category holds; the shop's best rated overall would be a guess
     * (a watch for a child), so it is asked what kind of thing */
    static const char *const young[] = {"year old", "years old", "yr old", "kid", "kids", "child", "children",
                                        "toddler", "baby", "babies", "teen", "teens", "teenage", "teenager",
                                        "teenagers", "newborn", NULL};
    /* "what do you recommend for someone who runs marathons": no kind of
     * product, but words of a need; those words are searched (the shop's
     * best rated overall would be a Rolex for a runner) */
    char need[512];
    query_text(t, eng__json_str(t->ctx, "message.text", ""), need, sizeof need, true);
    static const char *const asking[] = {"recommend", "recommendation", "recommendations", "suggest", "suggestion",
                                         "suggestions", "someone", "somebody", "who", "whats", "good", "best",
                                         "would", "should", "get", "buy", "ideas", "idea", "gift", "present",
                                         "what", "you", "me", NULL};
    bool words = !eng__agent_only_words(need, asking, NULL);
    /* ...only words the catalog or its lexicon knows ("marathons", "golf");
     * "what's popular at the moment" or "i can afford 10 bucks" name none */
    if (json_object_get_int(eng__json_path(t->ctx, "understanding.known")) <= 0)
        words = false;
    if (!q.category && !q.brand && !order && !(focus && *focus) && words &&
        !eng__agent_has_word(eng__json_str(t->ctx, "message.text", ""), young) &&
        !eng__json_path(t->ctx, "vars.needSearched")) {
        /* once: the search may come back here ("a gift under 50") */
        eng__set_var(t, "needSearched", json_object_new_boolean(1));
        eng__agent_read_as(t, "search_product");
        eng__turn_note(t, "suggestions for a need its words name: searched");
        return search_as(t, o, false, false);
    }
    if (!q.category && !q.brand && !order &&
        eng__agent_has_word(eng__json_str(t->ctx, "message.text", ""), young)) {
        eng__turn_note(t, "suggestions for someone the catalog has no kind of product for: asked");
        clarify(t);
        return ENG_R_OK;
    }
    if (run_search(t, o, &q, "recommend", false) < 0)
        return eng__turn_fail(t, "the catalog is not available right now");
    /* never recommend the product the shopper is looking at; the counts
     * the reply shows must not include it either */
    json_object *cards = eng__json_path(t->ctx, "reply.cards");
    json_object *found = eng__json_path(t->ctx, "results.search");
    for (size_t i = 0; focus && cards && i < json_object_array_length(cards); i++)
        if (strcmp(eng__json_str(json_object_array_get_idx(cards, i), "sku", ""), focus) == 0) {
            json_object_array_del_idx(cards, i, 1);
            ENG_JADD(found, "count", json_object_new_int64((int64_t)json_object_array_length(cards)));
            int64_t total = json_object_get_int64(eng__json_path(found, "total"));
            ENG_JADD(found, "total", json_object_new_int64(total > 0 ? total - 1 : 0));
            ENG_JADD(eng__session(t), "shown", eng__agent_shown_of(cards));
            break;
        }
    eng__set_var(t, "recommended", json_object_new_boolean(1));
    return ENG_R_OK;
}

/* The message asks about a product's fields: price, stock, rating,
 * maker ("how much is the ...", "is the ... in stock"). */
static bool product_question(const char *text)
{
    static const char *const opens[] = {"how much is the ", "how much are the ", "how much does the ",
                                        "how much for the ", "hw much is the ", "is the ", "are the ", "does the ",
                                        "who makes the ", "who made the ", "whats the price of the ",
                                        "what's the price of the ", "what is the price of the ",
                                        "whats the rating of the ", "what's the rating of the ",
                                        "what is the rating of the ", "whats the price on the ",
                                        "how is the ", "price of the ", "rating of the ", "do the ",
                                        "can the ", "will the ", "has the ", NULL};
    while (*text == ' ')
        text++;
    for (size_t i = 0; opens[i]; i++)
        if (strncasecmp(text, opens[i], strlen(opens[i])) == 0)
            return true;
    /* "how many eggs are in a pack", "how many pods come in a box" */
    if (strncasecmp(text, "how many ", 9) == 0 &&
        (strstr(text, " in a ") || strstr(text, " in one ") || strstr(text, " in each ") || strstr(text, " per ")))
        return true;
    /* "how much ram does the dell have", "what sensor is the canon using" */
    static const char *const asks[] = {"how much ", "how many ", "what ", "which ", NULL};
    static const char *const of_the[] = {" does the ", " do the ", " is the ", " has the ", " are the ", NULL};
    for (size_t i = 0; asks[i]; i++)
        if (strncasecmp(text, asks[i], strlen(asks[i])) == 0)
            for (size_t k = 0; of_the[k]; k++)
                if (strcasestr(text, of_the[k]))
                    return true;
    /* "whats the battery life on the dell": a field of the one named */
    static const char *const of[] = {"whats the ", "what's the ", "what is the ", "hows the ", "how's the ", NULL};
    for (size_t i = 0; of[i]; i++)
        if (strncasecmp(text, of[i], strlen(of[i])) == 0 && (strstr(text, " on the ") || strstr(text, " of the ")))
            return true;
    return false;
}

bool eng__agent_product_question(const char *text) { return product_question(text); }

/* "does the macbook have a touch bar", "is the chanel long lasting": a
 * question about one product named, with words besides its name; those
 * words become vars.askedAbout, and its listing answers them. */
static void asked_of_named(eng_turn *t, const store_product *p)
{
    static const char *const opens[] = {"is", "does", "do", "can", "will", "has", "are", "would", "how", "what",
                                        "whats", "what's", "hows", "how's", NULL};
    static const char *const not_about[] = {"price", "cost", "rating", "rated", "stock", "available", "brand",
                                            "brands", "maker", "manufacturer", "made by",
                                            "makes", "made", "warranty", "return", "returns", "ship", "weigh",
                                            "weight", "big", "size", "good", "any", NULL};
    const char *text = eng__json_str(t->ctx, "message.text", "");
    while (*text == ' ')
        text++;
    size_t fw = 0;
    while (text[fw] && (isalpha((unsigned char)text[fw]) || text[fw] == '\''))
        fw++;
    bool asks = false;   /* the first word opens a question */
    for (size_t i = 0; opens[i] && !asks; i++)
        asks = strlen(opens[i]) == fw && strncasecmp(opens[i], text, fw) == 0;
    /* "how much is the dell" asks its price; "how much ram does the dell
     * have" a thing of its listing */
    static const char *const priced[] = {"how much is", "how much are", "how much does", "how much do",
                                         "how much for", "how much would", "how much will", "how much was",
                                         "how much did", "how much it", "how much they", "how much the", NULL};
    if (eng__json_path(t->ctx, "vars.askedAbout") || eng__json_path(t->ctx, "vars.variant") || !asks ||
        eng__agent_has_word(text, not_about) ||
        eng__agent_has_word(text, priced) || eng__agent_asks_fact(text))
        return;
    char words[160];
    eng__agent_name_words(t, words, sizeof words);
    char left[160] = "";
    size_t o = 0;
    for (char *w = words; *w;) {
        while (*w == ' ')
            w++;
        char *b = w;
        while (*w && *w != ' ')
            w++;
        size_t n = (size_t)(w - b);
        if (!n || eng__agent_word_fits(b, n, p->title, true) || eng__agent_word_fits(b, n, p->brand, false) ||
            eng__agent_word_fits(b, n, p->category, true) || is_stop(b, n))
            continue;
        if (o + n + 2 < sizeof left)
            o += (size_t)snprintf(left + o, sizeof left - o, "%s%.*s", o ? " " : "", (int)n, b);
    }
    if (!left[0])
        return;
    json_object *a = json_object_new_object();
    ENG_JADD(a, "words", json_object_new_string(left));
    eng__set_var(t, "askedAbout", a);
}

static bool asks_similar(const char *text);
bool eng__agent_asks_similar(const char *text) { return asks_similar(text); }

/* "more like the second one", "anything similar to it", "alternatives
 * to the first one". */
static bool asks_similar(const char *text)
{
    static const char *const cues[] = {"more like", "similar", "others like", "alternative", "something like",
                                       "anything like", "ones like", NULL};
    for (size_t i = 0; cues[i]; i++)
        if (strcasestr(text, cues[i]))
            return true;
    return false;
}

/* The message goes on with the last turn's add: it opens with "and",
 * "also" or "plus", or ends with "too" or "as well", right after an
 * add_to_cart, and points at a product ("the first one", "those") or
 * says a count. */
static const char *continues_change(eng_turn *t)
{
    /* right after a change of the cart: "ok and 2 of the second" after
     * "i only need one" goes on with it too */
    const char *last = eng__json_str(t->ctx, "session.lastIntent", "");
    if (strcmp(last, "add_to_cart") != 0 && strcmp(last, "update_quantity") != 0 &&
        strcmp(last, "remove_from_cart") != 0)
        return NULL;
    const char *text = eng__json_str(t->ctx, "message.text", "");
    while (*text == ' ')
        text++;
    size_t n = strlen(text);
    while (n && (text[n - 1] == ' ' || text[n - 1] == '.' || text[n - 1] == '!'))
        n--;
    static const char *const opens[] = {"and ", "also ", "plus ", "oh and ", "ok and ", NULL};
    static const char *const ends[] = {" too", " as well", " also", NULL};
    bool cont = false;
    for (size_t i = 0; opens[i] && !cont; i++)
        cont = strncasecmp(text, opens[i], strlen(opens[i])) == 0;
    for (size_t i = 0; ends[i] && !cont; i++) {
        size_t k = strlen(ends[i]);
        cont = n > k && strncasecmp(text + n - k, ends[i], k) == 0;
    }
    if (!cont || strchr(text, '?'))
        return NULL;
    json_object *ents = eng__json_path(t->ctx, "entities");
    for (size_t i = 0; ents && i < json_object_array_length(ents); i++) {
        json_object *e = json_object_array_get_idx(ents, i);
        const char *type = eng__json_str(e, "type", "");
        if ((strcmp(type, "reference") == 0 && eng__json_str(e, "sku", NULL)) || strcmp(type, "quantity") == 0)
            return "add_to_cart";
    }
    /* "and the mascara too": one product named, asked as another add;
     * "and the wok too" right after a removal, of a line the cart still
     * holds: another removal, asked */
    agent_target tg;
    eng__agent_target(t, false, &tg);
    json_object_put(tg.candidates);
    if (tg.found != AGENT_ONE)
        return NULL;
    if (strcmp(last, "remove_from_cart") == 0 && eng__cart_line_qty(t, tg.sku) > 0)
        return "remove_from_cart";
    return "add_to_cart";
}

#define WEAK_SEARCH 0.6 /* a search reading below this that points at a product shown is about it */

/* "the mascara looks good", "i like the look of the green ones": a
 * word of liking and words that name one product of the list shown, no
 * other (a search would find others). */
static bool appraises_shown(eng_turn *t);

bool eng__agent_likes_shown(const agent_call *c, eng_result *r)
{
    if (!appraises_shown(c->t))
        return false;
    eng__agent_read_as(c->t, "product_details");
    eng__turn_note(c->t, "likes a product shown: its details");
    *r = eng__agent_product(c);
    return true;
}

/* Where words of liking start in `text` ("looks great", "sounds
 * gorgeous", "i like the"), their length in *len and whether the product
 * is named before them in *before; NULL when there are none. */
static const char *liking_at(const char *text, size_t *len, bool *before)
{
    static const char *const after[] = {"i like the", "i love the", "like the look of", "love the look of",
                                        "i really like the", "i quite like the", NULL};
    static const char *const verbs[] = {"looks", "look", "sounds", "seems", "is", "looking", NULL};
    static const char *const fine[] = {"good", "nice", "great", "lovely", "cool", "interesting", "perfect",
                                       "amazing", "gorgeous", "beautiful", "cute", "pretty", "stunning", "fab",
                                       "fabulous", "awesome", "brilliant", "handy", "useful", "ideal", "sweet",
                                       "excellent", "right", NULL};
    static const char *const eye[] = {"caught my eye", "catches my eye", NULL};
    for (size_t i = 0; after[i]; i++) {
        const char *p = strcasestr(text, after[i]);
        if (p && (p == text || !isalnum((unsigned char)p[-1]))) {
            *len = strlen(after[i]), *before = false;
            return p;
        }
    }
    for (size_t i = 0; eye[i]; i++) {
        const char *p = strcasestr(text, eye[i]);
        if (p) {
            *len = strlen(eye[i]), *before = true;
            return p;
        }
    }
    for (size_t v = 0; verbs[v]; v++) {
        size_t vn = strlen(verbs[v]);
        for (const char *p = strcasestr(text, verbs[v]); p; p = strcasestr(p + 1, verbs[v])) {
            if ((p > text && isalnum((unsigned char)p[-1])) || p[vn] != ' ')
                continue;
            const char *a = p + vn;
            while (*a == ' ')
                a++;
            /* "looks really nice", "sounds so lovely" */
            static const char *const so[] = {"really ", "so ", "very ", "super ", "quite ", "pretty ", NULL};
            for (size_t k = 0; so[k]; k++)
                if (strncasecmp(a, so[k], strlen(so[k])) == 0)
                    a += strlen(so[k]);
            for (size_t k = 0; fine[k]; k++) {
                size_t fn = strlen(fine[k]);
                if (strncasecmp(a, fine[k], fn) == 0 && !isalnum((unsigned char)a[fn])) {
                    *len = (size_t)(a + fn - p), *before = true;
                    return p;
                }
            }
        }
    }
    return NULL;
}

static bool appraises_shown(eng_turn *t)
{
    const char *text = eng__json_str(t->ctx, "message.text", "");
    size_t cl = 0;
    bool before = false;
    const char *cue = liking_at(text, &cl, &before);
    if (!cue || !eng__json_path(t->ctx, "session.shown"))
        return false;
    /* the product's words: before "looks good", after "i like the" */
    char words[200];
    if (before)
        snprintf(words, sizeof words, "%.*s", (int)(cue - text), text);
    else
        snprintf(words, sizeof words, "%s", cue + cl);
    /* chat around it: "ooh the", "wow that" */
    static const char *const chat[] = {"ooh", "oh", "wow", "hmm", "the", "that", "this", "those", "these", "i", "think",
                                       "really", "so", "one", "ones", NULL};
    char kept[200];
    size_t o = 0;
    for (char *p = words; *p;) {
        while (*p && !isalnum((unsigned char)*p))
            p++;
        char *w = p;
        while (*p && (isalnum((unsigned char)*p) || *p == '\''))
            p++;
        size_t n = (size_t)(p - w);
        bool drop = n == 0;
        for (size_t k = 0; chat[k] && !drop; k++)
            drop = strlen(chat[k]) == n && strncasecmp(chat[k], w, n) == 0;
        if (drop || o + n + 2 >= sizeof kept)
            continue;
        if (o)
            kept[o++] = ' ';
        memcpy(kept + o, w, n);
        o += n;
    }
    kept[o] = '\0';
    agent_target tg;
    bool one = o > 0 && eng__agent_named(t, kept, &tg);
    json_object_put(o > 0 ? tg.candidates : NULL);
    return one && tg.where == AGENT_AT_SHOWN;
}

/* The message names no catalog word, brand, category or product type. */
static bool names_nothing(eng_turn *t)
{
    return json_object_get_int(eng__json_path(t->ctx, "understanding.known")) == 0 &&
           !eng__json_path(t->ctx, "understanding.category") && !entity_value(t, "category") &&
           !entity_value(t, "brand");
}

/* A search reading below WEAK_SEARCH, of the model's own, that names
 * nothing the shop sells. */
static bool weak_search(eng_turn *t)
{
    return strcmp(eng__json_str(t->ctx, "intent.source", ""), "builtin") == 0 &&
           json_object_get_double(eng__json_path(t->ctx, "intent.confidence")) < WEAK_SEARCH && names_nothing(t);
}

/* A weak search (above) that the shop's knowledge answers strictly
 * (most of its words matched). */
static bool weak_question(eng_turn *t)
{
    if (!t->p->knowledge || !weak_search(t))
        return false;
    eng_kb_hit hit;
    return eng__kb_answers(t->p->knowledge, eng__json_str(t->ctx, "message.text", ""), NULL, true, &hit);
}

bool eng__agent_sizes_question(const agent_call *c, eng_result *r)
{
    eng_turn *t = c->t;
    static const char *const sizes[] = {"what size", "what sizes", "which size", "which sizes", "sizes available",
                                        "available sizes", "size options", "size range", "sizing", "other sizes",
                                        "any sizes", NULL};
    /* "what colours does it come in": the same, of colours */
    static const char *const colours[] = {"what colour", "what colours", "what color", "what colors", "which colour",
                                          "which colours", "which color", "which colors", "colour options",
                                          "color options", "other colours", "other colors", "any colours",
                                          "any colors", "colours available", "colors available",
                                          "available colours", "available colors", NULL};
    const char *text = eng__json_str(t->ctx, "message.text", "");
    bool colour = eng__agent_has_word(text, colours);
    if (eng__json_path(t->ctx, "vars.variant") || eng__json_path(t->ctx, "vars.variantUnlisted") ||
        (!colour && !eng__agent_has_word(text, sizes)) ||
        !(eng__json_str(t->ctx, "session.focus", NULL) || eng__json_path(t->ctx, "session.lastQuery")))
        return false;
    /* "what sizes do they come in": the catalog lists none; said so
     * about the product in focus, or the list shown */
    json_object *v = json_object_new_object();
    if (eng__json_str(t->ctx, "session.focus", NULL)) {
        ENG_JADD(v, "value", json_object_new_string(colour ? "other colours" : "other sizes"));
        ENG_JADD(v, "listed", json_object_new_boolean(0));
        eng__set_var(t, "variant", v);
        eng__agent_read_as(t, "product_details");
    } else {
        ENG_JADD(v, "kind", json_object_new_string(colour ? "colour" : "size"));
        ENG_JADD(v, "value", json_object_new_string(colour ? "a colour" : "a size"));
        eng__set_var(t, "variantUnlisted", v);
        eng__set_var(t, "listVariant", json_object_new_boolean(1));
        eng__agent_read_as(t, "refine_search");
    }
    eng__turn_note(t, "asks which %s: the catalog lists none", colour ? "colours" : "sizes");
    *r = eng__agent_product(c);
    return true;
}

/* Whether every word of the message that may name a product is a stop
 * word or one of `allowed`. */
static bool only_words(eng_turn *t, const char *const *allowed)
{
    char words[160];
    eng__agent_name_words(t, words, sizeof words);
    return eng__agent_only_words(words, allowed, stop);
}

bool eng__agent_shop_by_price(const agent_call *c, eng_result *r)
{
    eng_turn *t = c->t;
    const char *text = eng__json_str(t->ctx, "message.text", "");
    static const char *const by_price[] = {"by price", "price order", NULL};
    bool low = eng__agent_has_word(text, lowest), high = eng__agent_has_word(text, highest);
    if (eng__json_path(t->ctx, "vars.shopOrder") || (!low && !high && !eng__agent_has_word(text, by_price)))
        return false;
    /* the whole shop named ("thing", "you sell"): "now the cheapest
     * first" orders the list shown instead */
    static const char *const shop[] = {"thing", "things", "item", "items", "product", "products", "stuff",
                                       "everything", "anything", "shop", "store", "site", "you sell", "you have",
                                       "you got", "you carry", "you stock", NULL};
    if (!eng__agent_has_word(text, shop))
        return false;
    /* only words for "anything in the shop": a product word is a search */
    static const char *const whole[] = {"thing", "things", "item", "items", "product", "products", "stuff",
                                        "everything", "shop", "store", "site", "sell", "sells", "carry", "in",
                                        "the", "on", "whats", "what's", "least", "expensive", "priciest", "dearest",
                                        "cheapest", "prices", "high", "low", "to", "highest", "lowest", "order",
                                        "ever", "here", "stocked", NULL};
    if (!only_words(t, whole))
        return false;
    if (entity_value(t, "category") || entity_value(t, "brand"))
        return false;
    eng__set_var(t, "shopOrder", json_object_new_string(high ? "desc" : "asc"));
    eng__agent_read_as(t, "recommend");
    eng__turn_note(t, "the whole shop by price, %s first", high ? "dearest" : "cheapest");
    *r = eng__agent_product(c);
    return true;
}

bool eng__agent_shop_by_budget(const agent_call *c, eng_result *r)
{
    eng_turn *t = c->t;
    double lo, hi;
    json_object *money = NULL, *ents = eng__json_path(t->ctx, "entities");
    for (size_t i = 0; ents && i < json_object_array_length(ents) && !money; i++)
        if (strcmp(eng__json_str(json_object_array_get_idx(ents, i), "type", ""), "money") == 0)
            money = json_object_array_get_idx(ents, i);
    double amount = json_object_get_double(eng__json_path(money, "value.amount"));
    bool bare = money && !money_range(t, &lo, &hi) && amount > 0;
    if ((!bare && !money_range(t, &lo, &hi)) || entity_value(t, "category") || entity_value(t, "brand") ||
        entity_value(t, "order_number"))
        return false;
    /* only words for "something in the shop" and for a budget: a product
     * word is a search, a word of money owed or paid is support's */
    static const char *const generic[] = {"something", "anything", "stuff", "thing", "things", "idea", "ideas",
                                          "option", "options", "suggestion", "suggestions", "what", "whats",
                                          "what's", "can", "could", "get", "buy", "afford", "spend", "spending",
                                          "for", "around", "about", "roughly", "under", "below", "less", "than",
                                          "max", "maximum", "within", "budget", "got", "have", "any", "show",
                                          "me", "i", "my", "is", "with", "recommend", "there", "you", "do",
                                          "bucks", "dollars", "dollar", "quid", "usd", "up", "to", "or", "so",
                                          "cheap", "nice", "good", "some", "would", "like", "want", "need", NULL};
    if (!only_words(t, generic))
        return false;
    static const char *const owed[] = {"refund", "return", "back", "charged", "charge", "order", "cart", "basket",
                                       "total", "shipping", "delivery", "postage", "fee", "paid", "pay", NULL};
    if (eng__agent_has_word(eng__json_str(t->ctx, "message.text", ""), owed))
        return false;
    if (bare) {
        /* "around 30 bucks": a quarter either side; "for 15 dollars": at
         * most that */
        static const char *const near[] = {"around", "about", "roughly", "approximately", "ish", "or so", NULL};
        bool around = eng__agent_has_word(eng__json_str(t->ctx, "message.text", ""), near);
        json_object *v = eng__json_path(money, "value");
        json_object_object_add(v, "min", around ? json_object_new_double(amount * 0.75) : NULL);
        json_object_object_add(v, "max", json_object_new_double(around ? amount * 1.25 : amount));
    }
    eng__agent_read_as(t, "recommend");
    eng__turn_note(t, "a budget and nothing else: the best rated within it");
    *r = eng__agent_product(c);
    return true;
}

bool eng__agent_shown_question(const agent_call *c, eng_result *r)
{
    eng_turn *t = c->t;
    const char *text = eng__json_str(t->ctx, "message.text", "");
    static const char *const asks[] = {"how much", "cost", "costs", "price", "prices", "pricing", "what do they go for",
                                       "review", "reviews", "rating", "ratings", "rated", "stars", NULL};
    static const char *const other[] = {"cart", "basket", "trolley", "bag", "total", "altogether", "owe", "order",
                                        "orders", "together", "shipping", "delivery", "postage", "ship", "deliver", "express",
                                        "match", "refund", "return", "returns", "drop", "range", "cheaper", "cheapest",
                                        "under", "below", "over", "between", "budget", "wrap", "wrapping",
                                        /* "best rated first" orders the list */
                                        "first", "sort", "sorted", "best", "top", "highest", "lowest", "most",
                                        "least", NULL};
    static const char *const many[] = {"they", "them", "these", "those", "each", "prices", "all", NULL};
    if (eng__json_path(t->ctx, "vars.pricesAsked") || !eng__agent_has_word(text, asks) ||
        eng__agent_has_word(text, other))
        return false;   /* once a turn: the product agent is called again below */
    /* "how much is the second one": a reference the product agent reads;
     * "what does all that come to" with no count: the cart's total */
    static const char *const sums[] = {"come to", "comes to", "add up", "adds up", "all that", "all of that",
                                       "all this", "the lot", "everything", NULL};
    if (eng__agent_has_word(text, sums) && !eng__slot(t, "quantity"))
        return false;
    json_object *ents = eng__json_path(t->ctx, "entities");
    for (size_t i = 0; ents && i < json_object_array_length(ents); i++) {
        json_object *e = json_object_array_get_idx(ents, i);
        if (strcmp(eng__json_str(e, "type", ""), "reference") == 0 &&
            strcmp(eng__json_str(e, "kind", ""), "demonstrative") != 0)
            return false;
    }
    char words[160];
    eng__agent_name_words(t, words, sizeof words);
    static const char *const plain[] = {"how", "much", "cost", "costs", "price", "prices", "pricing", "review",
                                        "reviews", "rating", "ratings", "rated", "stars", "many", "have", "has",
                                        "got", "get", "did", "like", "what", "do",
                                        "does", "is", "are", "they", "them", "these", "those", "it", "that", "this",
                                        "one", "ones", "each", "for", "of", "would", "be", "will", "the", "all",
                                        "go", "s", "whats", "what's", "their", "its", "and", NULL};
    /* any other word may name a product: the product agent reads it */
    if (!eng__agent_only_words(words, plain, NULL))
        return false;
    json_object *shown = eng__json_path(t->ctx, "session.shown");
    size_t nshown = json_object_is_type(shown, json_type_array) ? json_object_array_length(shown) : 0;
    bool focus = eng__json_str(t->ctx, "session.focus", NULL) != NULL;
    bool plural = eng__agent_has_word(text, many);
    bool counted = eng__slot(t, "quantity") != NULL;
    eng__set_var(t, "pricesAsked", json_object_new_boolean(1));
    if (focus && (counted || !plural || nshown < 2)) {
        eng__set_var(t, "useFocus", json_object_new_boolean(1));
        eng__agent_read_as(t, "product_details");
        eng__turn_note(t, "asks the price or rating of the product in focus");
    } else if (nshown >= 2 && !counted) {
        eng__agent_read_as(t, "compare");
        eng__turn_note(t, "asks the prices or ratings of the list shown: side by side");
    } else {
        return false;
    }
    *r = eng__agent_product(c);
    return true;
}

eng_result eng__agent_product(const agent_call *c)
{
    eng_turn *t = c->t;
    if (!eng__agent_hop(t))
        return ENG_R_OK;
    const agent_opts *o = c->o;
    if (!eng__store(t)) {
        eng__turn_note(t, "no store: the product agent needs a catalog");
        eng__set_var(t, "noCatalog", json_object_new_boolean(1));
        return ENG_R_DECLINED;
    }
    /* a copy: the intent's name is replaced below, which frees the original */
    const char *intent = eng__pool_strdup(t->pool, eng__agent_intent(t));
    if (strcmp(intent, "greeting") == 0) {
        /* a weak greeting after a search that narrowed nothing (the agent
         * stage tried): a greeting still */
        eng__turn_note(t, "a greeting");
        return ENG_R_OK;
    }
    if (!intent)
        return eng__turn_fail(t, "out of memory");
    if ((strcmp(intent, "search_product") == 0 || strcmp(intent, "refine_search") == 0) &&
        eng__agent_picks_delivery(t))
        return eng__agent_delivery_pick(c);   /* "express please" after the summary */
    if ((strcmp(intent, "product_details") == 0 || strcmp(intent, "search_product") == 0) &&
        eng__agent_sets_count(eng__json_str(t->ctx, "message.text", "")) &&
        (eng__json_path(t->ctx, "cart.items") || eng__cart_refresh(t) == 0) &&
        json_object_get_int64(eng__json_path(t->ctx, "cart.count")) > 0) {
        /* "bring it up to 2 please" with goods in the cart: a quantity
         * change, asked (it showed a laptop named like "2") */
        eng__agent_read_as(t, "update_quantity");
        json_object_object_add(eng__json_path(t->ctx, "intent"), "source", json_object_new_string("reread"));
        eng__set_var(t, "continued", json_object_new_boolean(1));   /* a change, asked */
        eng__turn_note(t, "a count to go down or up to: read as a quantity change");
        return eng__agent_cart(c);
    }
    const char *goes_on = strcmp(intent, "product_details") == 0 || strcmp(intent, "search_product") == 0
                              ? continues_change(t) : NULL;
    if (goes_on) {
        /* "and one of the first one too" right after an add: another add;
         * "and the wok too" right after a removal: another removal; asked
         * first (a reading the classifier did not make) */
        eng__agent_read_as(t, goes_on);
        eng__set_var(t, "continued", json_object_new_boolean(1));
        eng__turn_note(t, "goes on with the last turn's change: read as %s", goes_on);
        return eng__agent_cart(c);
    }
    /* "i really don't want the first one" is about the cart, whichever
     * product reading the model made: the cart agent never makes the
     * change it was told not to make, and asks when the cart holds it */
    static const char *const unwanted[] = {"don't want", "dont want", "do not want", "no longer want",
                                           "don't need", "dont need", "do not need", NULL};
    if (strcmp(intent, "product_details") == 0 &&
        eng__agent_has_word(eng__json_str(t->ctx, "message.text", ""), unwanted)) {
        eng__agent_read_as(t, "add_to_cart");
        eng__turn_note(t, "not wanted: read by the cart agent");
        return eng__agent_cart(c);
    }
    if ((strcmp(intent, "search_product") == 0 || strcmp(intent, "refine_search") == 0) && names_nothing(t) &&
        eng__agent_kb_follow_on(t))
        return ENG_R_OK;   /* "and germany?" right after the shipping regions */
    eng_result liked;
    if (strcmp(intent, "search_product") == 0 && eng__agent_likes_shown(c, &liked))
        return liked;   /* "the mascara looks good" */
    if ((strcmp(intent, "search_product") == 0 || strcmp(intent, "recommend") == 0) &&
        eng__agent_shop_overview(c, &liked))
        return liked;   /* "what sort of stuff do you sell" */
    static const char *const against[] = {"compare", "compares", "compared", "comparison", "vs", "versus",
                                          "stack up", "against", NULL};
    if (strcmp(intent, "search_product") == 0 && eng__json_str(t->ctx, "session.focus", NULL) &&
        eng__agent_has_word(eng__json_str(t->ctx, "message.text", ""), against)) {
        /* "how does it compare to the galaxy s10": the product in focus
         * beside the one named */
        eng__agent_read_as(t, "compare");
        eng__turn_note(t, "the product in focus set against another: a comparison");
        return eng__agent_product(c);
    }
    if (strcmp(intent, "search_product") == 0 && names_nothing(t) &&
        eng__agent_money_taken(eng__json_str(t->ctx, "message.text", ""))) {
        /* "why was i billed two times": no product named, money taken */
        eng__agent_read_as(t, "payment_issue");
        eng__turn_note(t, "a weak search that names nothing the shop sells and says money was taken: a payment issue");
        return eng__agent_support(c);
    }
    if (strcmp(intent, "search_product") == 0 && weak_question(t)) {
        /* "any idea when it'll be back in stock?": no product named, read
         * weakly as a search, and the shop's own text answers it */
        eng__agent_read_as(t, "shop_question");
        eng__turn_note(t, "a weak search that names nothing the shop sells and its knowledge answers: a question");
        return eng__agent_support(c);
    }
    eng_result claimed;
    if ((strcmp(intent, "compare") == 0 || strcmp(intent, "product_details") == 0 ||
         strcmp(intent, "recommend") == 0) &&
        eng__agent_cart_swap(c, false, &claimed))
        return claimed;   /* "replace the tablet with the second one" */
    if ((strcmp(intent, "search_product") == 0 || strcmp(intent, "refine_search") == 0 ||
         strcmp(intent, "compare") == 0 || strcmp(intent, "product_details") == 0) &&
        eng__agent_sizes_question(c, &claimed))
        return claimed;   /* "which sizes do these come in" */
    static const char *const more[] = {"more", "another", "extra", NULL};
    if ((strcmp(intent, "search_product") == 0 || strcmp(intent, "refine_search") == 0 ||
         (strcmp(intent, "product_details") == 0 &&
          (eng__agent_has_word(eng__json_str(t->ctx, "message.text", ""), more) ||
           (eng__agent_bare_count(t) && short_message(t))))) &&   /* "2" after "How many would you like?" */
        eng__agent_cart_claims(c, &claimed))
        return claimed;   /* "a dozen please", "redeem welcome5", "all but the kiwi" */
    if ((strcmp(intent, "search_product") == 0 || strcmp(intent, "recommend") == 0 ||
         (strcmp(intent, "refine_search") == 0 && !eng__json_path(t->ctx, "session.lastQuery"))) &&
        eng__agent_shop_by_price(c, &claimed))
        return claimed;   /* "what's the cheapest thing you sell" */
    if ((strcmp(intent, "search_product") == 0 || strcmp(intent, "refine_search") == 0 ||
         strcmp(intent, "product_details") == 0 || strcmp(intent, "recommend") == 0) &&
        eng__agent_shown_question(c, &claimed))
        return claimed;   /* "how much are they", "what would 3 of them cost" */
    if ((strcmp(intent, "search_product") == 0 || strcmp(intent, "refine_search") == 0 ||
         strcmp(intent, "product_details") == 0) && variant_question(t, &claimed))
        return claimed;   /* "does it come in grey?" about the product in focus */
    json_object *shown = eng__json_path(t->ctx, "session.shown");
    if (strcmp(intent, "search_product") == 0 &&
        (!eng__json_str(t->ctx, "session.focus", NULL) ||
         (json_object_is_type(shown, json_type_array) && json_object_array_length(shown) == 1)) &&
        eng__agent_asks_list_variant(t)) {
        /* "any in size 10?" after a list of shoes (or the one pair found):
         * those shoes, refined */
        eng__agent_read_as(t, "refine_search");
        eng__set_var(t, "listVariant", json_object_new_boolean(1));
        eng__turn_note(t, "asks for a colour or size of the list shown: refines it");
        intent = "refine_search";
    }
    /* "ooh the 3rd pair looks cool" read weakly as a search: it points at
     * a product shown, so it is about that one */
    if (strcmp(intent, "search_product") == 0 && eng__agent_points_at_shown(t) && !entity_value(t, "category") &&
        !entity_value(t, "brand") && !asks_similar(eng__json_str(t->ctx, "message.text", "")) &&
        json_object_get_double(eng__json_path(t->ctx, "intent.confidence")) < WEAK_SEARCH) {
        eng__agent_read_as(t, "product_details");
        eng__turn_note(t, "a weak search that points at a product shown: its details");
        intent = "product_details";
    }
    static const char *const versus[] = {"vs", "versus", "compare", "comparison", "difference", NULL};
    bool from_end = false;
    if ((strcmp(intent, "product_details") == 0 || strcmp(intent, "search_product") == 0 ||
         strcmp(intent, "view_cart") == 0) &&
        asks_sum(eng__json_str(t->ctx, "message.text", "")) &&
        first_n(eng__json_str(t->ctx, "message.text", ""), &from_end) >= 2 && eng__json_path(t->ctx, "session.shown")) {
        /* "how much are the first three together": those, summed */
        json_object_object_add(eng__json_path(t->ctx, "intent"), "name", json_object_new_string("compare"));
        eng__turn_note(t, "the price of several of the list together");
        return compare(t);
    }
    if (strcmp(intent, "product_details") == 0 &&
        eng__agent_has_word(eng__json_str(t->ctx, "message.text", ""), versus)) {
        json_object_object_add(eng__json_path(t->ctx, "intent"), "name", json_object_new_string("compare"));
        return compare(t);
    }
    if (strcmp(intent, "product_details") == 0 && asks_similar(eng__json_str(t->ctx, "message.text", ""))) {
        /* "show me more like the second one": what it points at becomes
         * the focus the recommendation starts from */
        agent_target tg;
        eng__agent_target(t, false, &tg);
        json_object_put(tg.candidates);
        if (tg.found == AGENT_ONE) {
            ENG_JADD(eng__session(t), "focus", json_object_new_string(tg.sku));
            json_object_object_add(eng__json_path(t->ctx, "intent"), "name", json_object_new_string("recommend"));
            eng__turn_note(t, "more like %s: read as recommend", tg.sku);
            return recommend(t, o);
        }
    }
    char kind[160];
    if (strcmp(intent, "product_details") == 0 && eng__json_path(t->ctx, "session.lastQuery") &&
        !resolved_reference(t) && indefinite_one(eng__json_str(t->ctx, "message.text", ""), kind, sizeof kind)) {
        /* "how about a gaming one" after laptops: gaming laptops, not the
         * product whose description mentions games */
        eng__agent_read_as(t, "refine_search");
        eng__set_var(t, "kindOf", json_object_new_string(kind));
        eng__turn_note(t, "another kind of what was shown (\"%s\"): refines the last search", kind);
        return search_as(t, o, true, false);
    }
    if (strcmp(intent, "product_details") == 0) {
        eng_result r = details(t);
        char words[512];
        query_text(t, eng__json_str(t->ctx, "message.text", ""), words, sizeof words, true);
        if (r != ENG_R_OK || !eng__json_path(t->ctx, "vars.needProduct") || !words[0] || has_reference(t))
            return r;
        /* "what about tea" after the coffee: words that name no one
         * product, and no place in a list: searched (and said so when
         * the shop has none) */
        json_object_object_del(eng__json_path(t->ctx, "vars"), "needProduct");
        eng__agent_read_as(t, "search_product");
        eng__turn_note(t, "no one product named: searched instead");
        return search_as(t, o, false, false);
    }
    /* "is the kawasaki z800 in stock", "who makes the airpods max": a
     * question about one named product is answered from its fields; a
     * name that fits nothing is searched as before */
    if (strcmp(intent, "search_product") == 0 && product_question(eng__json_str(t->ctx, "message.text", ""))) {
        json_object *in = eng__json_path(t->ctx, "intent");
        ENG_JADD(in, "name", json_object_new_string("product_details"));
        eng_result r = details(t);
        json_object *vars = eng__json_path(t->ctx, "vars");
        if (r != ENG_R_OK || !eng__json_path(t->ctx, "vars.needProduct"))
            return r;
        json_object_object_del(vars, "needProduct");
        ENG_JADD(in, "name", json_object_new_string(intent));
        eng__turn_note(t, "no one product named: searched instead");
    }
    /* "got a voucher for 10% off?": a question about codes the shop's
     * knowledge answers, not a search for "off" */
    if ((strcmp(intent, "search_product") == 0 || strcmp(intent, "refine_search") == 0) &&
        eng__agent_names_code(eng__json_str(t->ctx, "message.text", "")) && !entity_value(t, "category") &&
        !entity_value(t, "brand") && eng__agent_knowledge(t, "apply_promo", false)) {
        eng__agent_read_as(t, "shop_question");
        return ENG_R_OK;
    }
    if (strcmp(intent, "compare") == 0)
        return compare(t);
    if (strcmp(intent, "recommend") == 0)
        return recommend(t, o);
    if (strcmp(intent, "search_product") != 0 && strcmp(intent, "refine_search") != 0 &&
        eng__json_path(t->ctx, "session.lastQuery")) {
        /* routed here by a condition ("under 1500" the model could not
         * place): it refines the last search, and its reply says so */
        json_object_object_add(eng__json_path(t->ctx, "intent"), "name", json_object_new_string("refine_search"));
        eng__turn_note(t, "%s routed here: refines the last search", intent);
        return search_as(t, o, true, false);
    }
    return search_as(t, o, strcmp(intent, "refine_search") == 0, false);
}
