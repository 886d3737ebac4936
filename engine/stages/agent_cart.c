/* engine/stages/agent_cart.c — the cart agent: add, remove, change the
 * quantity, show and empty the cart, by reference to what was shown
 * ("the second one", "those") or by name, and promotion codes. It only
 * decides: each change becomes an action (with its idempotency key) that
 * the rules may veto and the `action` stage carries out. */
#define _GNU_SOURCE /* strcasestr */
#include "agent_int.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The first count of the entities ("3", "two"), or -1. */
static int64_t entity_count(eng_turn *t)
{
    json_object *ents = eng__json_path(t->ctx, "entities");
    for (size_t i = 0; ents && i < json_object_array_length(ents); i++) {
        json_object *e = json_object_array_get_idx(ents, i);
        if (strcmp(eng__json_str(e, "type", ""), "quantity") == 0)
            return json_object_get_int64(eng__json_path(e, "value"));
    }
    return -1;
}

/* The count right after a verb of a cart change: "add 1000 lipsticks"
 * (too big for the entities stage, which reads numbers past 999 as model
 * numbers or prices: still the count asked for, never a silent 1), or
 * -1; *impossible is set for one no cart can hold ("add -3", "add 2.5"). */
static int64_t verb_count(const char *text, bool *impossible)
{
    static const char *const verbs[] = {"add", "buy", "put", "order", "get", "want", "need", "take", "make it",
                                        "change it to", "set it to", "make that", NULL};
    *impossible = false;
    for (size_t v = 0; verbs[v]; v++) {
        size_t n = strlen(verbs[v]);
        for (const char *p = strcasestr(text, verbs[v]); p; p = strcasestr(p + 1, verbs[v])) {
            if ((p > text && isalnum((unsigned char)p[-1])) || p[n] != ' ')
                continue;
            const char *d = p + n;
            while (*d == ' ')
                d++;
            const char *e = d;
            while (isdigit((unsigned char)*e))
                e++;
            if ((*d == '-' && isdigit((unsigned char)d[1])) ||
                (e > d && (*e == '.' || *e == ',') && isdigit((unsigned char)e[1])) ||
                (e > d && (*e == 'e' || *e == 'E') && isdigit((unsigned char)e[1]))) {
                *impossible = true;   /* "add -3", "add 2.5", "add 1e9" */
                return -1;
            }
            if (e == d || v >= 8)
                continue;   /* "make it 6": the entities stage reads it */
            if (e - d > 9 && (*e == ' ' || *e == '\0'))
                return 1000000000;   /* more digits than any stock: too many, said, never one */
            char *end;
            long long c = strtoll(d, &end, 10);
            if (c > 999 && (*end == ' ' || *end == '\0') && end - d <= 9)
                return (int64_t)c;
        }
    }
    return -1;
}

#define COUNT_IMPOSSIBLE 1000001 /* above every accepted count: refused as such */

static int64_t quantity(eng_turn *t, int64_t dflt)
{
    bool impossible;
    int64_t big = verb_count(eng__json_str(t->ctx, "message.text", ""), &impossible);
    if (impossible) {
        eng__set_var(t, "countImpossible", json_object_new_boolean(1));
        return COUNT_IMPOSSIBLE;
    }
    json_object *q = eng__slot(t, "quantity");
    if (q && (json_object_is_type(q, json_type_int) || json_object_is_type(q, json_type_double)))
        return json_object_get_int64(q);
    int64_t said = entity_count(t);
    if (said >= 0)
        return said;
    return big >= 0 ? big : dflt;
}

/* Propose a cart change: the rules may veto it; else it becomes an action. */
static eng_result propose(eng_turn *t, const char *type, const char *sku, int64_t qty)
{
    /* sku may point into the context (session.focus), which this function
     * replaces: keep a copy for the turn */
    if (sku && !(sku = eng__pool_strdup(t->pool, sku)))
        return eng__turn_fail(t, "out of memory");
    json_object *a = json_object_new_object();
    if (sku) {
        ENG_JADD(a, "sku", json_object_new_string(sku));
        store_product p = {0};
        if (eng__product_get(t, sku, &p, NULL) == 0) {
            ENG_JADD(a, "title", json_object_new_string(p.title));
            ENG_JADD(a, "price", json_object_new_double(p.price));
            ENG_JADD(a, "category", p.category ? json_object_new_string(p.category) : NULL);
            ENG_JADD(a, "brand", p.brand ? json_object_new_string(p.brand) : NULL);
            ENG_JADD(a, "stock", eng__stock_json(&p));
            store_product_clear(&p);
        } else {
            json_object_put(a);
            eng__set_var(t, "needProduct", json_object_new_boolean(1));
            eng__turn_note(t, "no product %s", sku);
            return ENG_R_OK;
        }
        /* the product just named is what "those" and "it" mean next
         * ("add one more of those"); one just removed means nothing */
        if (strcmp(type, "cart.remove") == 0)
            json_object_object_del(eng__session(t), "focus");
        else
            ENG_JADD(eng__session(t), "focus", json_object_new_string(sku));
        int64_t cur = eng__cart_line_qty(t, sku);
        ENG_JADD(a, "currentQty", json_object_new_int64(cur));
        int64_t nq = strcmp(type, "cart.add") == 0 ? cur + qty : strcmp(type, "cart.set") == 0 ? qty : 0;
        ENG_JADD(a, "qty", json_object_new_int64(qty));
        ENG_JADD(a, "newQty", json_object_new_int64(nq));
    }
    ENG_JADD(a, "type", json_object_new_string(type));
    /* the commerce core vetoes, with the cart in view, when the action
     * stage carries it out */
    eng__action_add(t, type, a);
    eng__turn_note(t, "%s %s x%lld", type, sku ? sku : "", (long long)qty);
    return ENG_R_OK;
}

/* "use welcome5", "redeem save10": a code typed in lower case right
 * after the verb that uses one (letters and at least one digit), upper
 * cased into code[0..n). "apply SAVE 10", "redeem welcome 5": a word of
 * letters then its digits said apart are one code as such codes are
 * written; after "use" only in capitals ("use the 2": no code). */
static bool verb_code(const char *text, char *code, size_t n)
{
    static const char *const verbs[] = {"use ", "apply ", "redeem ", "enter ", NULL};
    static const char *const not_code[] = {"the", "my", "your", "a", "an", "it", "its", "that", "this", "all",
                                           "any", "one", "only", "just", "code", "coupon", "promo", "voucher",
                                           NULL};
    for (size_t k = 0; verbs[k]; k++)
        for (const char *p = strcasestr(text, verbs[k]); p; p = strcasestr(p + 1, verbs[k])) {
            if (p > text && isalnum((unsigned char)p[-1]))
                continue;
            const char *w = p + strlen(verbs[k]), *e = w;
            int letters = 0, digits = 0, upper = 0;
            for (; isalnum((unsigned char)*e); e++) {
                letters += isalpha((unsigned char)*e) != 0;
                digits += isdigit((unsigned char)*e) != 0;
                upper += isupper((unsigned char)*e) != 0;
            }
            size_t len = (size_t)(e - w), dl = 0;
            const char *d = e;
            if (!digits && letters >= 3 && *d == ' ' && (k > 0 || upper == letters)) {
                while (*d == ' ')
                    d++;
                while (isdigit((unsigned char)d[dl]))
                    dl++;
                bool word = false;
                for (size_t i = 0; not_code[i] && !word; i++)
                    word = strlen(not_code[i]) == len && strncasecmp(w, not_code[i], len) == 0;
                if (dl < 1 || dl > 4 || isalnum((unsigned char)d[dl]) || word || len + dl >= n)
                    dl = 0;
            }
            if ((len >= 5 && len < n && letters >= 2 && digits >= 1 && isalpha((unsigned char)w[0])) || dl) {
                for (size_t i = 0; i < len; i++)
                    code[i] = (char)toupper((unsigned char)w[i]);
                memcpy(code + len, d, dl);
                code[len + dl] = '\0';
                return true;
            }
        }
    return false;
}

bool eng__agent_code_word(const char *text, const char *first, char *out, size_t n)
{
    for (const char *p = text; *p;) {
        while (*p && !isalnum((unsigned char)*p))
            p++;
        const char *w = p;
        bool alpha = false, digit = false;
        while (isalnum((unsigned char)*p)) {
            alpha |= isalpha((unsigned char)*p) != 0;
            digit |= isdigit((unsigned char)*p) != 0;
            p++;
        }
        size_t len = (size_t)(p - w);
        if (!alpha || !digit || len < 4 || len > 20 || len >= n)
            continue;
        for (size_t i = 0; i < len; i++)
            out[i] = (char)toupper((unsigned char)w[i]);
        out[len] = '\0';
        if (strcasecmp(out, first) != 0)
            return true;
    }
    return false;
}

static bool promo_code(const char *text, char *code, size_t n)
{
    static const char *const kw[] = {"code", "coupon", "promo", "voucher", NULL};
    for (size_t k = 0; kw[k]; k++) {
        const char *p = strcasestr(text, kw[k]);
        if (!p)
            continue;
        p += strlen(kw[k]);
        while (*p && (*p == ' ' || *p == ':' || *p == '"' || *p == '\''))
            p++;
        const char *w = p;
        while (*p && (isalnum((unsigned char)*p) || *p == '-' || *p == '_'))
            p++;
        size_t len = (size_t)(p - w);
        /* "drop my coupon please": the word after the keyword is chat,
         * not a code */
        static const char *const chat[] = {"please", "pls", "plz", "now", "off", "out", "thanks", "thank", "for",
                                           "that", "this", "from", "again", "too", "and", "then", "back", "here",
                                           "there", "you", "was", "were", "isnt", "doesnt", "didnt", "dont",
                                           "anymore", "instead", "as", "well", NULL};
        bool is_chat = false;
        for (size_t c = 0; chat[c] && !is_chat; c++)
            is_chat = strlen(chat[c]) == len && strncasecmp(w, chat[c], len) == 0;
        if (len >= 3 && len < n && strncasecmp(w, "code", 4) != 0 && !is_chat) {
            for (size_t i = 0; i < len; i++)
                code[i] = (char)toupper((unsigned char)w[i]);
            code[len] = '\0';
            /* "use code save 10": letters, then digits said apart, are one
             * code as such codes are written ("SAVE10") */
            bool letters = true;
            for (size_t i = 0; i < len; i++)
                letters &= isalpha((unsigned char)w[i]) != 0;
            const char *d = p;
            while (*d == ' ')
                d++;
            size_t dl = 0;
            while (isdigit((unsigned char)d[dl]))
                dl++;
            if (letters && d > p && dl >= 1 && dl <= 4 && !isalnum((unsigned char)d[dl]) && len + dl < n) {
                memcpy(code + len, d, dl);
                code[len + dl] = '\0';
            }
            return true;
        }
    }
    if (verb_code(text, code, n))
        return true;
    /* "remove the save10 code", "is the welcome5 coupon still on": the
     * word before the keyword, when it has letters and digits */
    for (size_t k = 0; kw[k]; k++) {
        for (const char *p = strcasestr(text, kw[k]); p; p = strcasestr(p + 1, kw[k])) {
            const char *e = p;
            while (e > text && e[-1] == ' ')
                e--;
            const char *b = e;
            while (b > text && (isalnum((unsigned char)b[-1]) || b[-1] == '-' || b[-1] == '_'))
                b--;
            size_t len = (size_t)(e - b);
            bool letter = false, digit = false;
            for (const char *c = b; c < e; c++)
                letter |= isalpha((unsigned char)*c) != 0, digit |= isdigit((unsigned char)*c) != 0;
            if (len >= 3 && len < n && letter && digit) {
                for (size_t i = 0; i < len; i++)
                    code[i] = (char)toupper((unsigned char)b[i]);
                code[len] = '\0';
                return true;
            }
        }
    }
    for (const char *p = text; *p;) {
        while (*p && !isalnum((unsigned char)*p))
            p++;
        const char *w = p;
        bool upper = true, digit = false;
        while (*p && isalnum((unsigned char)*p)) {
            upper &= !islower((unsigned char)*p);
            digit |= isdigit((unsigned char)*p) != 0;
            p++;
        }
        size_t len = (size_t)(p - w);
        if (len >= 4 && len < n && upper && digit && !isdigit((unsigned char)w[0])) {
            memcpy(code, w, len);
            code[len] = '\0';
            return true;
        }
    }
    return false;
}

bool eng__agent_another_code(const char *text, char *code, size_t n)
{
    static const char *const chat[] = {"and", "also", "plus", "too", "as", "well", "please", "pls", "the", "code",
                                       "try", "what", "about", "how", "then", "ok", "okay", "now", "instead", NULL};
    int found = 0;
    for (const char *p = text; *p;) {
        while (*p && !isalnum((unsigned char)*p))
            p++;
        const char *w = p;
        bool letter = false, digit = false;
        while (*p && (isalnum((unsigned char)*p) || *p == '-' || *p == '_')) {
            letter |= isalpha((unsigned char)*p) != 0;
            digit |= isdigit((unsigned char)*p) != 0;
            p++;
        }
        size_t len = (size_t)(p - w);
        if (!len)
            continue;
        bool is_chat = false;
        for (size_t c = 0; chat[c] && !is_chat; c++)
            is_chat = strlen(chat[c]) == len && strncasecmp(w, chat[c], len) == 0;
        if (is_chat)
            continue;
        if (!(letter && digit && len >= 4 && len < n && len <= 32 && isalpha((unsigned char)w[0])) || found++)
            return false;
        for (size_t i = 0; i < len; i++)
            code[i] = (char)toupper((unsigned char)w[i]);
        code[len] = '\0';
    }
    return found == 1;
}

/* "put one back", "put it back on the shelf": "put" and "back" within
 * three words, and not "back in" ("put it back in my cart" adds). */
/* "reduce it by two", "increase that by 3", "lower the kiwis by one": the
 * count a line changes by (and *dir -1 down, +1 up), or 0. */
static int64_t by_count(const char *text, int *dir)
{
    static const char *const down[] = {"reduce", "decrease", "lower", "cut", "drop", "take", "bring down",
                                       "knock", NULL};
    static const char *const up[] = {"increase", "raise", "up", "bump", "bring up", "add", "boost", NULL};
    const char *by = strcasestr(text, " by ");
    if (!by)
        return 0;
    const char *d = by + 4;
    while (*d == ' ')
        d++;
    static const char *const words[] = {"one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                                        "ten", NULL};
    int64_t n = 0;
    if (isdigit((unsigned char)*d)) {
        char *end;
        long long v = strtoll(d, &end, 10);
        n = v > 0 && v < 1000 ? (int64_t)v : 0;
    } else {
        for (size_t i = 0; words[i] && !n; i++)
            if (strncasecmp(d, words[i], strlen(words[i])) == 0 && !isalpha((unsigned char)d[strlen(words[i])]))
                n = (int64_t)i + 1;
    }
    if (!n)
        return 0;
    int dd = eng__agent_has_word(text, down) ? -1 : eng__agent_has_word(text, up) ? 1 : 0;
    if (!dd)
        return 0;
    if (dir)
        *dir = dd;
    return n;
}

bool eng__agent_changes_by(eng_turn *t, const char *text)
{
    if (by_count(text, NULL) <= 0)
        return false;
    if (!eng__json_path(t->ctx, "cart.items"))
        eng__cart_refresh(t);
    return json_object_get_int64(eng__json_path(t->ctx, "cart.count")) > 0;
}

/* "give me five in total", "make it 6 altogether": the count to have in
 * all, not to add. */
static bool in_total(const char *text)
{
    static const char *const all[] = {"in total", "altogether", "all together", "in all", NULL};
    return eng__agent_has_word(text, all);
}

/* "down to one", "up to 4", "to just 2": the count a line should have,
 * said as where it goes; a price ("up to $300") is no count. */
bool eng__agent_sets_count(const char *text)
{
    static const char *const to[] = {"down to", "up to", "to just", "to only", NULL};
    for (size_t i = 0; to[i]; i++) {
        const char *p = strcasestr(text, to[i]);
        if (!p || (p > text && isalnum((unsigned char)p[-1])))
            continue;
        p += strlen(to[i]);
        while (*p == ' ')
            p++;
        static const char *const nums[] = {"one", "two", "three", "four", "five", "six", "a couple", "a pair",
                                           NULL};
        if (isdigit((unsigned char)*p)) {
            while (isdigit((unsigned char)*p))
                p++;
            if (*p == '.' || *p == '$')
                return false;
            return true;
        }
        for (size_t k = 0; nums[k]; k++)
            if (strncasecmp(p, nums[k], strlen(nums[k])) == 0 && !isalnum((unsigned char)p[strlen(nums[k])]))
                return true;
    }
    return false;
}

static bool puts_back(const char *text)
{
    for (const char *p = strcasestr(text, "put"); p; p = strcasestr(p + 1, "put")) {
        if ((p > text && isalnum((unsigned char)p[-1])) || isalnum((unsigned char)p[3]))
            continue;
        const char *w = p + 3;
        for (int k = 0; k < 4 && *w; k++) {
            while (*w == ' ')
                w++;
            if (strncasecmp(w, "back", 4) == 0 && !isalnum((unsigned char)w[4])) {
                const char *n = w + 4;
                while (*n == ' ')
                    n++;
                return !((strncasecmp(n, "in", 2) == 0 && !isalpha((unsigned char)n[2])) ||
                         strncasecmp(n, "into", 4) == 0);
            }
            while (*w && *w != ' ')
                w++;
        }
    }
    return false;
}

/* "add it and the lipstick", "that one and the mascara too": a pointing
 * word beside a product named. */
static bool it_and(const char *text)
{
    static const char *const joined[] = {"it and", "that and", "this and", "that one and", "this one and",
                                         "and it", "and that one", "and this one", "it as well as",
                                         "it plus", "plus it", NULL};
    return eng__agent_has_word(text, joined);
}

/* "make the eggs 6", "set the milk 3": a number that ends the message
 * and is no word of the product's title (the entities stage reads a
 * number after a name as a model number: "iphone 6"); else -1. */
static int64_t trailing_count(const char *text, const char *title)
{
    size_t n = strlen(text);
    while (n > 0 && (text[n - 1] == ' ' || text[n - 1] == '.' || text[n - 1] == '!' || text[n - 1] == '?'))
        n--;
    size_t b = n;
    while (b > 0 && isdigit((unsigned char)text[b - 1]))
        b--;
    if (b == n || n - b > 3 || (b > 0 && text[b - 1] != ' '))
        return -1;
    char num[4];
    memcpy(num, text + b, n - b);
    num[n - b] = '\0';
    for (const char *p = title ? strstr(title, num) : NULL; p; p = strstr(p + 1, num))
        if ((p == title || !isalnum((unsigned char)p[-1])) && !isalnum((unsigned char)p[n - b]))
            return -1;   /* "the iphone 6": its name */
    return strtol(num, NULL, 10);
}

/* "make the chanel 2 as well", "set the milk 3 please": trailing_count
 * past the words of chat that end the message. */
static int64_t set_count(const char *text, const char *title)
{
    static const char *const tails[] = {" as well", " too", " also", " please", " pls", " thanks", " then",
                                        " aswell", NULL};
    char buf[256];
    snprintf(buf, sizeof buf, "%s", text);
    for (bool cut = true; cut;) {
        cut = false;
        size_t n = strlen(buf);
        while (n > 0 && strchr(" .!?,", buf[n - 1]))
            buf[--n] = '\0';
        for (size_t i = 0; tails[i] && !cut; i++) {
            size_t k = strlen(tails[i]);
            if (n > k && strcasecmp(buf + n - k, tails[i]) == 0)
                buf[n - k] = '\0', cut = true;
        }
    }
    return trailing_count(buf, title);
}

/* "2 lbs of chicken", "half a kilo of apples", "500g": a count of a
 * weight, where the catalog sells by the item. */
static bool by_weight(const char *text)
{
    static const char *const units[] = {"lb", "lbs", "pound", "pounds", "kg", "kgs", "kilo", "kilos", "kilogram",
                                        "kilograms", "g", "gram", "grams", "oz", "ounce", "ounces", NULL};
    for (const char *p = text; *p; p++) {
        if (!isdigit((unsigned char)*p) && strncasecmp(p, "half a ", 7) != 0 && strncasecmp(p, "a ", 2) != 0)
            continue;
        if ((p > text && isalnum((unsigned char)p[-1])))
            continue;
        const char *q = p;
        if (isdigit((unsigned char)*q)) {
            while (isdigit((unsigned char)*q) || *q == '.')
                q++;
        } else {
            q += strncasecmp(q, "half a ", 7) == 0 ? 7 : 2;
        }
        while (*q == ' ')
            q++;
        size_t n = 0;
        while (isalpha((unsigned char)q[n]))
            n++;
        if (n && eng__agent_word_in(q, n, units))
            return true;
    }
    return false;
}

/* "how much storage", "how many megapixels does it have": "how much" or
 * "how many" before a word that is no word of money, the cart or time. */
static bool asks_amount_of_thing(const char *text)
{
    static const char *const opens[] = {"how much ", "how many ", NULL};
    static const char *const not_thing[] = {
        "is", "are", "do", "does", "did", "will", "would", "can", "could", "in", "total", "money", "for", "to",
        "have", "has", "i", "it", "its", "it's", "they", "this", "that", "these", "those", "the", "my", "your",
        "shipping", "delivery", "postage", "tax", "taxes", "of", "more", "less", "longer", "time", "days", "cost",
        "costs", "left", "stock", "items", "things", "products", "altogether", "all", "we", "you", "should",
        "must", "was", "were", "dollars", "bucks", "extra", "off", "discount", "change", "then", "now", NULL};
    const char *p = eng__agent_past_courtesy(text);
    for (size_t i = 0; opens[i]; i++) {
        size_t n = strlen(opens[i]);
        if (strncasecmp(p, opens[i], n) != 0)
            continue;
        const char *w = p + n;
        size_t wn = 0;
        while (isalpha((unsigned char)w[wn]))
            wn++;
        return wn >= 2 && !eng__agent_word_in(w, wn, not_thing);
    }
    return false;
}

/* "double it", "triple that", "twice as many": the line's count times
 * 2 or 3; "halve it": -2 (half, rounded up); else 0. */
static int multiplier(const char *text)
{
    static const char *const two[] = {"double", "twice as many", "twice the", "x2", NULL};
    static const char *const three[] = {"triple", "three times as many", "x3", NULL};
    static const char *const half[] = {"halve", "half as many", "cut it in half", NULL};
    return eng__agent_has_word(text, two) ? 2 : eng__agent_has_word(text, three) ? 3
                                              : eng__agent_has_word(text, half)  ? -2 : 0;
}

/* "3 of those", "two of them please": a count of what was shown asks
 * for that many. */
static bool counts_of(const char *text)
{
    static const char *const nums[] = {"one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                                       "ten", "couple", "dozen", NULL};
    static const char *const ofs[] = {" of those", " of them", " of these", " of em", NULL};
    for (size_t i = 0; ofs[i]; i++)
        for (const char *p = strcasestr(text, ofs[i]); p; p = strcasestr(p + 1, ofs[i])) {
            if (isalnum((unsigned char)p[strlen(ofs[i])]))
                continue;
            const char *w = p;
            while (w > text && isalnum((unsigned char)w[-1]))
                w--;
            if (w == p)
                continue;
            if (isdigit((unsigned char)*w))
                return true;
            for (size_t k = 0; nums[k]; k++)
                if ((size_t)(p - w) == strlen(nums[k]) && strncasecmp(w, nums[k], (size_t)(p - w)) == 0)
                    return true;
        }
    return false;
}

/* Words that make a message a change of the cart. Without one, "the
 * second one" or "compare the first two" is a question about products,
 * whatever the classifier made of it. */
static bool asks_change(const char *text)
{
    static const char *const verbs[] = {
        "add", "put", "buy", "take", "get", "grab", "want", "need", "have", "order", "purchase", "cart",
        "basket", "bag", "trolley", "remove", "delete", "drop", "rid", "change", "set", "make", "update",
        "increase", "decrease", "reduce", "more", "another", "less", "fewer", "instead", "quantity", "qty",
        "empty", "clear", "throw", "ditch", "toss", "lose", "bin", "scrap", "nix", "axe", "include", "pick", "keep", "only", "just", "bump",
        "double", "go with", "i'll", "ill", "i'd like", "give me", "id like", "x", "cancel", "undo",
        /* what shoppers put things in a cart with (the classifier reads
         * them as "put": engine/nlu/features.c) */
        "pop", "chuck", "bung", "whack", "shove", "stick", "stuff", "slap", "plonk", "slip", "dump", NULL,
    };
    /* "tell me more about it" asks for more words, not more items */
    bool more_info = strcasestr(text, "more about") || strcasestr(text, "tell me more") ||
                     strcasestr(text, "more info") || strcasestr(text, "more detail");
    if (counts_of(text))
        return true;
    for (size_t i = 0; verbs[i]; i++) {
        size_t n = strlen(verbs[i]);
        if (more_info && strcmp(verbs[i], "more") == 0)
            continue;
        for (const char *p = strcasestr(text, verbs[i]); p; p = strcasestr(p + 1, verbs[i])) {
            bool left = p == text || !isalnum((unsigned char)p[-1]);
            bool right = !isalnum((unsigned char)p[n]);
            /* "3x", "x3" */
            if (n == 1 && !((p > text && isdigit((unsigned char)p[-1])) || isdigit((unsigned char)p[1])))
                continue;
            if ((left && right) || n == 1)
                return true;
        }
    }
    return false;
}

/* "sure, add it" right after "shall I add the dior?": the question's own
 * change, when the message names no other product. */
static bool answers_question(eng_turn *t, const char *type)
{
    json_object *p = eng__agent_pending_fresh(t);
    return p && strcmp(eng__json_str(p, "type", ""), type) == 0 && eng__json_str(p, "sku", NULL);
}

/* The message repeats the change we asked about: "sure, add it" to
 * "shall I add the X?" pointing at nothing of its own; or "yes remove
 * it", a yes that points at the very product asked about, with no word
 * that asks the opposite. It is the answer. */
static bool repeats_question(eng_turn *t, const char *type, const agent_target *tg)
{
    if (!answers_question(t, type))
        return false;
    if (tg->found != AGENT_ONE)
        return !tg->name[0];
    static const char *const yes[] = {"yes", "yeah", "yep", "yup", "sure", "ok", "okay", "please", NULL};
    const char *text = eng__json_str(t->ctx, "message.text", "");
    char first[16] = "";
    sscanf(text, " %15[A-Za-z]", first);
    bool affirms = false;
    for (size_t i = 0; yes[i] && !affirms; i++)
        affirms = strcasecmp(first, yes[i]) == 0;
    const char *asked = eng__json_str(eng__json_path(t->ctx, "session.pending"), "sku", "");
    return affirms && !eng__agent_contradicts(type, text) && tg->sku && strcmp(tg->sku, asked) == 0;
}

/* "is the watch still in my cart", "do i have the lipstick in my basket",
 * "did i add the shoes": a question about what the cart holds. */
static bool asks_if_in_cart(const char *text)
{
    static const char *const opens[] = {"is ", "are ", "do i ", "did i ", "have i ", "was ", "were ", NULL};
    static const char *const places[] = {"cart", "basket", "bag", "trolley", NULL};
    while (*text == ' ')
        text++;
    bool q = false, place = false;
    for (size_t i = 0; opens[i] && !q; i++)
        q = strncasecmp(text, opens[i], strlen(opens[i])) == 0;
    for (size_t i = 0; places[i] && !place; i++)
        place = strcasestr(text, places[i]) != NULL;
    /* "which one did i add first", "what have i put in so far" */
    static const char *const past[] = {"did i add", "have i added", "did i put", "have i put", "i've added",
                                       "ive added", "did i order", NULL};
    return (q && (place || strncasecmp(text, "did i add", 9) == 0)) ||
           (eng__agent_is_question(text) && eng__agent_has_word(text, past));
}

/* The shopper says what not to do: "i don't want the first one", "don't
 * add anything yet", "no need to change it". Never read as the change. */
static bool negated(const char *text)
{
    static const char *const neg[] = {"don't", "dont", "do not", "didn't", "didnt", "did not", "doesn't",
                                      "doesnt", "won't", "wont", "will not", "never", "no need", "not now",
                                      "not yet", "no longer", "rather not", NULL};
    /* "never mind the pan", "no need for the wok": what is dropped, not
     * a change said not to be made */
    static const char *const drops[] = {"never mind", "nevermind", "no need for", NULL};
    char buf[512];
    size_t n = strlen(text);
    if (n >= sizeof buf || !eng__agent_has_word(text, drops))
        return eng__agent_has_word(text, neg);
    memcpy(buf, text, n + 1);
    for (size_t i = 0; drops[i]; i++)
        for (char *p = strcasestr(buf, drops[i]); p; p = strcasestr(p + 1, drops[i]))
            memset(p, ' ', strlen(drops[i]));
    return eng__agent_has_word(buf, neg);
}

static json_object *cart_line(eng_turn *t, const char *sku)
{
    json_object *items = eng__json_path(t->ctx, "cart.items");
    for (size_t i = 0; sku && items && i < json_object_array_length(items); i++) {
        json_object *l = json_object_array_get_idx(items, i);
        if (strcmp(eng__json_str(l, "sku", ""), sku) == 0)
            return l;
    }
    return NULL;
}

/* "add a rolex" answered "Which one do you mean?": "the submariner" next
 * adds it (the reread table's picks_asked), as many as were asked for. */
static void remember_choosing(eng_turn *t)
{
    const char *in = eng__agent_intent(t);
    if (strcmp(in, "add_to_cart") != 0 && strcmp(in, "update_quantity") != 0)
        return;
    int64_t q = quantity(t, 1);
    json_object *ch = json_object_new_object();
    ENG_JADD(ch, "qty", json_object_new_int64(q > 0 && q <= 1000000 ? q : 1));
    eng__agent_remember(t, "choosing", ch);
}

/* The reply for a target that is not one product: which one, or none. */
static eng_result unclear(eng_turn *t, agent_target *tg, bool in_cart)
{
    json_object *text = tg->name[0] ? json_object_new_string(tg->name) : NULL;
    switch (tg->found) {
    case AGENT_MANY:
        eng__set_var(t, "whichOne", json_object_new_boolean(1));
        eng__set_var(t, "named", text);
        if (tg->candidates) {
            /* the candidates become what "the second one" means next */
            json_object *shown = json_object_new_array();
            for (size_t i = 0; i < json_object_array_length(tg->candidates) && i < 5; i++) {
                json_object *c = json_object_array_get_idx(tg->candidates, i), *s = json_object_new_object(), *v;
                static const char *const keep[] = {"sku", "title", "brand", "category", "price", "finalPrice",
                                                   "rating", NULL};
                for (size_t k = 0; keep[k]; k++)
                    if (json_object_object_get_ex(c, keep[k], &v))
                        json_object_object_add(s, keep[k], json_object_get(v));
                json_object_array_add(shown, s);
            }
            if (json_object_array_length(tg->candidates) > 5)
                json_object_array_del_idx(tg->candidates, 5, json_object_array_length(tg->candidates) - 5);
            if (tg->where != AGENT_AT_CART) {
                ENG_JADD(eng__session(t), "shown", shown);
                json_object_object_del(eng__session(t), "focus");
                remember_choosing(t);
            } else {
                json_object_put(shown);
            }
            json_object_object_add(eng__json_path(t->ctx, "reply"), "cards", tg->candidates);
            tg->candidates = NULL;
        } else if (tg->where == AGENT_AT_CART) {
            eng__set_var(t, "whichInCart", json_object_new_boolean(1));
        } else {
            remember_choosing(t);   /* "a couple of those" of the list shown */
        }
        eng__turn_note(t, "several products fit: asked which one");
        return ENG_R_OK;
    case AGENT_NO_MATCH:
        eng__set_var(t, "noMatch", text);
        eng__set_var(t, "needProduct", json_object_new_boolean(1));
        eng__turn_note(t, "no product is called \"%s\"", tg->name);
        return ENG_R_OK;
    default:
        json_object_put(text);
        eng__set_var(t, in_cart && eng__json_path(t->ctx, "cart.items") &&
                                json_object_array_length(eng__json_path(t->ctx, "cart.items")) == 0
                            ? "cartEmpty"
                            : "needProduct",
                     json_object_new_boolean(1));
        eng__turn_note(t, "which product?");
        return ENG_R_OK;
    }
}

/* A product named that the cart lacks: say so (and for a quantity, offer
 * to add it). */
static eng_result not_in_cart(eng_turn *t, agent_target *tg, int64_t qty, bool offer)
{
    json_object *v = json_object_new_object();
    ENG_JADD(v, "sku", json_object_new_string(tg->sku));
    ENG_JADD(v, "title", json_object_new_string(tg->title));
    /* "remove the phone": the shopper's word, not a catalog guess */
    if (!offer && tg->where == AGENT_AT_CATALOG && tg->name[0])
        ENG_JADD(v, "named", json_object_new_string(tg->name));
    eng__set_var(t, "notInCart", v);
    if (offer)
        eng__agent_ask(t, "cart.add", tg->sku, tg->title, qty);
    eng__turn_note(t, "%s is not in the cart", tg->sku);
    return ENG_R_OK;
}

/* The shopper hedges ("i guess the first one", "maybe two of those"):
 * however sure the reading, the change is asked, not done. */
static bool hedged(const char *text)
{
    static const char *const hedges[] = {"i guess", "maybe", "perhaps", "not sure", "i think", "might",
                                         "probably", "possibly", "dunno", "don't know", "dont know", NULL};
    return eng__agent_has_word(text, hedges);
}

/* A promotion code applied or taken off by the commerce core (the action
 * stage runs `type`); vars[var] names the code for the reply. */
static eng_result promo_action(eng_turn *t, const char *type, const char *code, const char *var)
{
    json_object *a = json_object_new_object();
    ENG_JADD(a, "code", json_object_new_string(code));
    eng__set_var(t, var, json_object_new_string(code));
    eng__action_add(t, type, a);
    eng__turn_note(t, "%s %s asked for", type, code);
    return ENG_R_OK;
}


/* "remove the code", "drop my coupon", "could you take my voucher off":
 * taking a code off, not using one ("the 10% off code" uses one). */
static bool takes_off(const char *text)
{
    static const char *const off[] = {"remove", "drop", "delete", "take off", "take it off", "cancel",
                                      "get rid", "without", "undo", NULL};
    if (eng__agent_has_word(text, off))
        return true;
    /* "... off", "... off please": the last word but courtesy */
    static const char *const tail[] = {"please", "pls", "plz", "thanks", "thank you", "now", NULL};
    size_t n = strlen(text);
    for (;;) {
        while (n > 0 && !isalnum((unsigned char)text[n - 1]))
            n--;
        size_t b = n;
        while (b > 0 && isalnum((unsigned char)text[b - 1]))
            b--;
        if (n - b == 3 && strncasecmp(text + b, "off", 3) == 0) {
            /* "a voucher for 10% off", "$5 off": what a code takes, not
             * taking it off */
            size_t e = b;
            while (e > 0 && text[e - 1] == ' ')
                e--;
            size_t w = e;
            while (w > 0 && (isalnum((unsigned char)text[w - 1]) || strchr("%$.", text[w - 1])))
                w--;
            bool amount = e > w && (isdigit((unsigned char)text[w]) || text[w] == '$' || text[e - 1] == '%' ||
                                    (e - w == 7 && strncasecmp(text + w, "percent", 7) == 0) ||
                                    (e - w == 5 && strncasecmp(text + w, "bucks", 5) == 0) ||
                                    (e - w == 7 && strncasecmp(text + w, "dollars", 7) == 0));
            return !amount;
        }
        bool courtesy = false;
        for (size_t i = 0; tail[i] && !courtesy; i++)
            courtesy = strlen(tail[i]) == n - b && strncasecmp(text + b, tail[i], n - b) == 0;
        if (!courtesy || b == 0)
            return false;
        n = b;
    }
}

bool eng__agent_code_request(const char *text)
{
    char code[64];
    return (eng__agent_names_code(text) && (takes_off(text) || promo_code(text, code, sizeof code))) ||
           verb_code(text, code, sizeof code);
}

/* A question about what there is ("any codes going?", "what promo codes
 * do you have"), not a request to use one. */
static bool asks_which(const char *text)
{
    static const char *const opens[] = {"are there", "is there", "any ", "what", "which", "do you", "got any",
                                        "have you got", NULL};
    while (*text == ' ')
        text++;
    for (size_t i = 0; opens[i]; i++)
        if (strncasecmp(text, opens[i], strlen(opens[i])) == 0)
            return true;
    return false;
}

static bool unsure(eng_turn *t, const agent_opts *o)
{
    double c = json_object_get_double(eng__json_path(t->ctx, "intent.confidence"));
    if (o->confirm_below > 0 && hedged(eng__json_str(t->ctx, "message.text", "")))
        return true;
    /* read as an add only because it goes on with the last one, or read
     * again without its product words (classifier's reread_intents):
     * asked whatever the stage's threshold */
    if (json_object_get_boolean(eng__json_path(t->ctx, "vars.continued")) ||
        strcmp(eng__json_str(t->ctx, "intent.source", ""), "reread") == 0 ||
        strcmp(eng__json_str(t->ctx, "intent.source", ""), "unsure") == 0)
        return true;
    return o->confirm_below > 0 && eng__json_path(t->ctx, "intent.confidence") && c < o->confirm_below;
}

/* The count this message says in words or digits ("just one", "3 of
 * them"), or -1: the entities' alone, never a slot kept from before. */
static int64_t said_count(eng_turn *t)
{
    int64_t said = entity_count(t);
    if (said >= 0)
        return said;
    /* "just the one": a count, not "the one" shown */
    static const char *const single[] = {"just the one", "only the one", "just the 1", NULL};
    return eng__agent_has_word(eng__json_str(t->ctx, "message.text", ""), single) ? 1 : -1;
}

eng_result eng__agent_cart_apply(eng_turn *t, json_object *pending)
{
    if (!eng__json_path(t->ctx, "cart.items"))
        eng__cart_refresh(t);
    const char *type = eng__pool_strdup(t->pool, eng__json_str(pending, "type", ""));

    const char *sku = eng__pool_strdup(t->pool, eng__json_str(pending, "sku", NULL));
    int64_t qty = json_object_get_int64(eng__json_path(pending, "qty"));
    /* "yes, just one" to "shall I add 2?": the count the answer says */
    int64_t said = said_count(t);
    if ((strcmp(type, "cart.add") == 0 || strcmp(type, "cart.set") == 0) && said > 0 && said <= 999 &&
        said != qty) {
        eng__turn_note(t, "the answer says %lld, not the %lld asked about", (long long)said, (long long)qty);
        qty = said;
    }
    /* a question about several products ("add the first and the
     * third?") names the others in `more` */
    json_object *more = eng__json_path(pending, "more");
    const char *others[AGENT_MAX_REFS];
    size_t n = 0;
    for (size_t i = 0; more && i < json_object_array_length(more) && n < AGENT_MAX_REFS; i++)
        if ((others[n] = eng__pool_strdup(t->pool, json_object_get_string(json_object_array_get_idx(more, i)))))
            n++;
    eng__set_var(t, "confirmedChange", json_object_new_boolean(1));
    json_object *qtys = eng__json_path(pending, "qtys");
    if (json_object_is_type(qtys, json_type_array) && json_object_array_length(qtys) == n + 1) {
        /* "3 eggs and 2 milks", asked: each its own count */
        eng_result r = propose(t, type, sku, json_object_get_int64(json_object_array_get_idx(qtys, 0)));
        for (size_t i = 0; i < n && r == ENG_R_OK; i++)
            r = propose(t, type, others[i], json_object_get_int64(json_object_array_get_idx(qtys, i + 1)));
        return r;
    }
    const char *was = eng__pool_strdup(t->pool, eng__json_str(pending, "replaces.sku", NULL));
    if (was && strcmp(type, "cart.add") == 0) {
        /* a swap: the new product first, the old line out only once the
         * add is done (the action stage keeps to that) */
        eng_result r = propose(t, "cart.add", sku, qty);
        if (r == ENG_R_OK && (r = propose(t, "cart.remove", was, 0)) == ENG_R_OK) {
            json_object *acts = eng__json_path(t->ctx, "actions");
            json_object *rm = json_object_array_get_idx(acts, json_object_array_length(acts) - 1);
            ENG_JADD(rm, "afterDone", json_object_new_boolean(1));
            ENG_JADD(eng__session(t), "focus", json_object_new_string(sku));
        }
        return r;
    }
    eng_result r = propose(t, type, sku, qty);
    for (size_t i = 0; i < n && r == ENG_R_OK; i++)
        r = propose(t, type, others[i], qty);
    return r;
}

bool eng__agent_contradicts(const char *type, const char *text)
{
    static const char *const less[] = {"out", "remove", "delete", "off", "less", "fewer", "minus", "drop",
                                       "rid", "cancel", "reduce", "decrease", NULL};
    static const char *const more[] = {"add", "more", "another", "extra", "plus", "increase", NULL};
    if (strcmp(type, "cart.add") == 0)
        return eng__agent_has_word(text, less);
    if (strcmp(type, "cart.remove") == 0)
        return eng__agent_has_word(text, more);
    return false;
}

/* "the cheaper one" means the cheaper of the products just compared;
 * said after a list of many, or after a comparison that did not happen,
 * it is a guess at which one: asked. */
static bool loose_comparative(eng_turn *t, const agent_target *tg)
{
    /* "the cheapest" of a list is well defined; "the cheaper" is not */
    static const char *const between[] = {"cheaper", "pricier", "dearer", "costlier", "better", "more expensive",
                                          "less expensive", NULL};
    if (!tg || !tg->comparative || !eng__agent_has_word(eng__json_str(t->ctx, "message.text", ""), between))
        return false;
    json_object *cmp = eng__json_path(t->ctx, "session.compared");
    for (size_t i = 0; cmp && i < json_object_array_length(cmp); i++)
        if (strcmp(json_object_get_string(json_object_array_get_idx(cmp, i)), tg->sku) == 0)
            return false;
    return true;
}

/* The product cannot be had in that number (out of stock, stock kept):
 * asking "shall I add it?" would only lead to a refusal. */
static bool cannot_add(eng_turn *t, const char *sku, int64_t qty)
{
    store_product p = {0};
    if (!sku || eng__product_get(t, sku, &p, NULL) < 0)
        return false;
    int64_t have = eng__cart_line_qty(t, sku);
    bool no = !p.stock_untracked && p.stock < have + (qty > 0 ? qty : 1);
    store_product_clear(&p);
    return no;
}

/* How many more of `sku` the cart can take from stock (the line's count
 * aside), or -1 when the catalog keeps no stock for it or the shop's
 * rules would refuse that many (the limit is then the rule's, said by
 * the refusal). */
/* Whether the shop's rules take an add of n more of `p` to a line of cur. */
static bool rules_take(eng_turn *t, const store_product *p, int64_t cur, int64_t n)
{
    json_object *act = eng__shop_cart_act("cart.add", p, n, cur, cur + n);
    json_object *veto = eng__shop_veto(t, "cart.add", act);
    bool ok = veto == NULL;
    json_object_put(veto);
    json_object_put(act);
    return ok;
}

static int64_t stock_left(eng_turn *t, const char *sku)
{
    store_product p = {0};
    if (!sku || eng__product_get(t, sku, &p, NULL) < 0)
        return -1;
    int64_t cur = eng__cart_line_qty(t, sku);
    int64_t left = p.stock_untracked ? -1 : p.stock - cur;
    if (left >= 1 && !rules_take(t, &p, cur, left))
        left = -1;
    store_product_clear(&p);
    return left;
}

/* "add the max": the most of `sku` the cart can take more of, by its
 * stock and the shop's rules (the largest count they take, assuming a
 * rule that takes n takes fewer too), from 0. */
static int64_t most_addable(eng_turn *t, const char *sku)
{
    store_product p = {0};
    if (!sku || eng__product_get(t, sku, &p, NULL) < 0)
        return 0;
    int64_t cur = eng__cart_line_qty(t, sku);
    int64_t hi = p.stock_untracked ? 999 - cur : p.stock - cur, lo = 0;
    if (hi > 999 - cur)
        hi = 999 - cur;
    while (lo < hi) {   /* the largest n in [lo, hi] the rules take */
        int64_t mid = lo + (hi - lo + 1) / 2;
        if (rules_take(t, &p, cur, mid))
            lo = mid;
        else
            hi = mid - 1;
    }
    store_product_clear(&p);
    return lo;
}

bool eng__agent_asks_most(const char *text)
{
    static const char *const most[] = {"the max", "the maximum", "max amount", "maximum amount", "as many as",
                                       "the most you", "the most i can", "the limit", "max allowed",
                                       "the most allowed", NULL};
    return eng__agent_has_word(text, most);
}

/* "add the first in medium", "the blue one in XL": a size or colour
 * asked for that the product's listing (title, description, tags) does
 * not hold. Sets vars.variantUnlisted {kind, value, title}; the add is
 * then asked, never made as if the size had been chosen. */
static bool variant_unlisted(eng_turn *t, const char *sku)
{
    json_object *ents = eng__json_path(t->ctx, "entities");
    store_product p = {0};
    bool unlisted = false;
    for (size_t i = 0; ents && i < json_object_array_length(ents) && !unlisted; i++) {
        json_object *e = json_object_array_get_idx(ents, i);
        const char *type = eng__json_str(e, "type", "");
        const char *said = eng__json_str(e, "text", NULL);
        if ((strcmp(type, "size") != 0 && strcmp(type, "color") != 0) || !said || !*said ||
            json_object_get_boolean(eng__json_path(e, "negated")))
            continue;
        if (!p.sku && eng__product_get(t, sku, &p, NULL) < 0)
            return false;
        const char *const one[] = {said, NULL};   /* whole words: "M" is not in "Man" */
        bool held = (p.title && eng__agent_has_word(p.title, one)) ||
                    (p.description && eng__agent_has_word(p.description, one));
        for (size_t k = 0; k < p.n_tags && !held; k++)
            held = eng__agent_has_word(p.tags[k], one);
        if (!held) {
            json_object *v = json_object_new_object();
            ENG_JADD(v, "kind", json_object_new_string(type));
            ENG_JADD(v, "value", json_object_new_string(said));
            ENG_JADD(v, "title", json_object_new_string(p.title ? p.title : sku));
            eng__set_var(t, "variantUnlisted", v);
            unlisted = true;
        }
    }
    store_product_clear(&p);
    return unlisted;
}

/* Propose `type`, or ask first when the reading is unsure. */
static eng_result change(eng_turn *t, const agent_opts *o, const char *type, agent_target *tg, int64_t qty)
{
    /* an add that cannot be had is refused at once ("it is out of
     * stock"), never asked first: nothing changes either way */
    if (strcmp(type, "cart.add") == 0 && tg && cannot_add(t, tg->sku, qty)) {
        /* "add 9 apples" with 8 left: the 8 offered, asked */
        int64_t left = qty <= 999 ? stock_left(t, tg->sku) : -1;
        if (left >= 1 && qty > left) {
            json_object *v = json_object_new_object();
            ENG_JADD(v, "available", json_object_new_int64(left));
            ENG_JADD(v, "asked", json_object_new_int64(qty));
            if (eng__cart_line_qty(t, tg->sku) > 0)
                ENG_JADD(v, "more", json_object_new_boolean(1));   /* beside the line's */
            eng__set_var(t, "onlyInStock", v);
            eng__set_var(t, "unsure", json_object_new_boolean(1));
            eng__agent_ask(t, type, tg->sku, tg->title, left);
            eng__turn_note(t, "%lld asked, %lld left: those offered", (long long)qty, (long long)left);
            return ENG_R_OK;
        }
        return propose(t, type, tg->sku, qty);
    }
    if (strcmp(type, "cart.add") == 0 && tg && tg->sku && variant_unlisted(t, tg->sku)) {
        eng__set_var(t, "unsure", json_object_new_boolean(1));
        eng__agent_ask(t, type, tg->sku, tg->title, qty);
        eng__turn_note(t, "a size or colour its listing does not hold: asked");
        return ENG_R_OK;
    }
    if (unsure(t, o) || eng__agent_contradicts(type, eng__json_str(t->ctx, "message.text", "")) || loose_comparative(t, tg)) {
        eng__set_var(t, "unsure", json_object_new_boolean(1));
        eng__agent_ask(t, type, tg ? tg->sku : NULL, tg ? tg->title : NULL, qty);
        return ENG_R_OK;
    }
    return propose(t, type, tg ? tg->sku : NULL, qty);
}

/* The counts the message says, one per product (n of them, in the order
 * said) into per[]; false unless there are exactly n, all from 1 to 999,
 * and not all the same. */
/* Where the message's parts start ("2 apples and a bottle of water": at
 * 0 and at " and "), into cut[0..max); how many parts. */
static size_t parts_of(const char *text, size_t *cut, size_t max)
{
    /* ", and " (the list's last comma) is one cut, not two */
    static const char *const joins[] = {", and ", ", & ", " and ", ", ", " & ", " plus ", NULL};
    size_t parts = 0, tl = strlen(text);
    cut[parts++] = 0;
    for (size_t i = 0; i < tl && parts < max; i++)
        for (size_t j = 0; joins[j]; j++)
            if (strncasecmp(text + i, joins[j], strlen(joins[j])) == 0) {
                cut[parts++] = i;
                i += strlen(joins[j]) - 1;
                break;
            }
    return parts;
}

/* The count each part says (its quantity entity), into per[] (`dflt`
 * where it says none); *any when some part says one. False when a part
 * says two, or a count is not from 1 to 999. */
static bool counts_by_part(eng_turn *t, const size_t *cut, size_t parts, int64_t *per, int64_t dflt, bool *any)
{
    json_object *ents = eng__json_path(t->ctx, "entities");
    *any = false;
    for (size_t i = 0; i < parts; i++)
        per[i] = dflt;
    for (size_t i = 0; ents && i < json_object_array_length(ents); i++) {
        json_object *e = json_object_array_get_idx(ents, i);
        if (strcmp(eng__json_str(e, "type", ""), "quantity") != 0)
            continue;
        int64_t v = json_object_get_int64(eng__json_path(e, "value"));
        size_t at = (size_t)json_object_get_int64(eng__json_path(e, "start"));
        size_t part = 0;
        while (part + 1 < parts && cut[part + 1] <= at)
            part++;
        if (v < 1 || v > 999 || per[part] != dflt)
            return false;   /* two counts in one part: not sure which */
        per[part] = v;
        *any = true;
    }
    return true;
}

static bool counts_each(eng_turn *t, int64_t *per, size_t n)
{
    json_object *ents = eng__json_path(t->ctx, "entities");
    /* "2 apples and a bottle of water": a count for some, said in their
     * own part of the message; one for the others */
    size_t cut[AGENT_MAX_REFS + 1];
    size_t parts = parts_of(eng__json_str(t->ctx, "message.text", ""), cut, AGENT_MAX_REFS + 1);
    bool any = false;
    if (parts == n && n > 1 && n <= AGENT_MAX_REFS) {
        if (!counts_by_part(t, cut, parts, per, 1, &any))
            return false;   /* two counts in one part: not sure which */
        bool differ2 = false;
        for (size_t i = 1; i < n; i++)
            differ2 |= per[i] != per[0];
        if (any && differ2)
            return true;
    }
    size_t k = 0;
    bool differ = false;
    for (size_t i = 0; ents && i < json_object_array_length(ents); i++) {
        json_object *e = json_object_array_get_idx(ents, i);
        if (strcmp(eng__json_str(e, "type", ""), "quantity") != 0)
            continue;
        int64_t v = json_object_get_int64(eng__json_path(e, "value"));
        if (k >= n || v < 1 || v > 999)
            return false;
        per[k] = v;
        differ |= k > 0 && v != per[0];
        k++;
    }
    return k == n && n > 1 && differ;
}

/* "remove the lemon and one apple": the count said in each part of a
 * removal of n products (-1: the whole line), into per[]; true when some
 * part says one. The message's parts are cut as counts_each cuts them. */
static bool removal_counts(eng_turn *t, int64_t *per, size_t n)
{
    size_t cut[AGENT_MAX_REFS + 1];
    size_t parts = parts_of(eng__json_str(t->ctx, "message.text", ""), cut, AGENT_MAX_REFS + 1);
    bool any = false;
    return parts == n && n >= 2 && n <= AGENT_MAX_REFS && counts_by_part(t, cut, parts, per, -1, &any) && any;
}

/* "make the kiwis 5 and the lipstick 1": the number said in each part of
 * the message (digits, or "one" to "ten"), into per[] (-1: none); true
 * when there are n parts and every one says exactly one. */
static bool part_numbers(const char *text, int64_t *per, size_t n)
{
    static const char *const words[] = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                                        "nine", "ten", NULL};
    static const char *const joins[] = {" and ", ", ", " & ", NULL};
    size_t part = 0;
    for (size_t i = 0; i < n; i++)
        per[i] = -1;
    for (const char *p = text; *p;) {
        for (size_t j = 0; joins[j]; j++)
            if (strncasecmp(p, joins[j], strlen(joins[j])) == 0) {
                if (++part >= n)
                    return false;
                p += strlen(joins[j]);
                break;
            }
        if (!isalnum((unsigned char)*p)) {
            p++;
            continue;
        }
        const char *w = p;
        while (isalnum((unsigned char)*p))
            p++;
        size_t wn = (size_t)(p - w);
        int64_t v = -1;
        if (wn <= 3 && strspn(w, "0123456789") >= wn)
            v = strtoll(w, NULL, 10);
        for (size_t k = 0; words[k] && v < 0; k++)
            if (strlen(words[k]) == wn && strncasecmp(words[k], w, wn) == 0)
                v = (int64_t)k;
        if (v < 0)
            continue;
        if (per[part] >= 0)
            return false;   /* two numbers in one part */
        per[part] = v;
    }
    if (part + 1 != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (per[i] < 0)
            return false;
    return true;
}

/* "add the first and the third", "remove the first two": one change per
 * product, all asked together when the reading is unsure. `type` is
 * cart.add or cart.remove; a removal leaves out what is not in the cart
 * and says so when none is. */
/* One question for several lines, each with its own count: `type` for
 * all, skus[0..m) with qtys[], `names` the question's words for them.
 * `each` says the names carry the counts ("the Lemon out, the Apple
 * down to 2": vars.setEach, pending.each). Always asked. */
static eng_result ask_each(eng_turn *t, const char *type, const char **skus, const int64_t *qtys, size_t m,
                           const char *names, bool each)
{
    eng__set_var(t, "unsure", json_object_new_boolean(1));
    if (each)
        eng__set_var(t, "setEach", json_object_new_boolean(1));
    eng__agent_ask(t, type, skus[0], names, each ? qtys[0] : 1);
    json_object *more = json_object_new_array(), *q = json_object_new_array();
    for (size_t i = 1; i < m; i++)
        json_object_array_add(more, json_object_new_string(skus[i]));
    for (size_t i = 0; i < m; i++)
        json_object_array_add(q, json_object_new_int64(qtys[i]));
    json_object *pend = eng__json_path(t->ctx, "session.pending");
    json_object_object_add(pend, "more", more);
    json_object_object_add(pend, "qtys", q);
    if (each)
        json_object_object_add(pend, "each", json_object_new_boolean(1));   /* the title says the counts */
    return ENG_R_OK;
}

static eng_result several(eng_turn *t, const agent_opts *o, const char *type,
                          const char **skus, const char **titles, size_t n, int64_t qty)
{
    bool removing = strcmp(type, "cart.remove") == 0;
    /* "3 eggs and 2 milks": one count per product named, in the order
     * said; every product gets its own */
    int64_t per[AGENT_MAX_REFS];
    if (removing && removal_counts(t, per, n)) {
        /* "remove the lemon and one apple": each line to what is left
         * (the lemon out, the apples 3 -> 2), one question for all */
        const char *ss[AGENT_MAX_REFS];
        int64_t left[AGENT_MAX_REFS];
        char names[480];
        size_t m = 0, w = 0;
        for (size_t i = 0; i < n; i++) {
            int64_t cur = eng__cart_line_qty(t, skus[i]);
            if (cur < 1)
                continue;
            ss[m] = skus[i];
            left[m] = per[i] > 0 && per[i] < cur ? cur - per[i] : 0;
            int k = left[m] ? snprintf(names + w, sizeof names - w, "%sthe %s down to %lld", m ? ", " : "", titles[i],
                                       (long long)left[m])
                            : snprintf(names + w, sizeof names - w, "%sthe %s out", m ? ", " : "", titles[i]);
            if (k < 0 || (size_t)k >= sizeof names - w)
                break;
            w += (size_t)k;
            m++;
        }
        if (m == 0) {
            agent_target tg = {.found = AGENT_ONE, .where = AGENT_AT_SHOWN, .sku = skus[0], .title = titles[0]};
            return not_in_cart(t, &tg, 0, false);
        }
        eng__turn_note(t, "a removal with counts of its own: each line to what is left, asked");
        return ask_each(t, "cart.set", ss, left, m, names, true);
    }
    bool counts = !removing && counts_each(t, per, n);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!removing || cart_line(t, skus[i]))
            per[m] = counts ? per[i] : qty, skus[m] = skus[i], titles[m] = titles[i], m++;
    if (counts && m > 1) {
        char names[480];
        size_t w = 0;
        for (size_t i = 0; i < m && w < sizeof names; i++) {
            int k = snprintf(names + w, sizeof names - w, "%s%s (%lld)", i == 0 ? "" : i + 1 == m ? " and the " : ", the ",
                             titles[i], (long long)per[i]);
            if (k < 0)
                break;
            w += (size_t)k;
        }
        /* each count its own: always asked, the counts named */
        return ask_each(t, type, skus, per, m, names, false);
    }
    if (m == 0) {
        agent_target tg = {.found = AGENT_ONE, .where = AGENT_AT_SHOWN, .sku = skus[0], .title = titles[0]};
        return not_in_cart(t, &tg, 0, false);
    }
    if (m == 1) {
        agent_target tg = {.found = AGENT_ONE, .where = AGENT_AT_SHOWN, .sku = skus[0], .title = titles[0]};
        return change(t, o, type, &tg, qty);
    }
    if (unsure(t, o) || eng__agent_contradicts(type, eng__json_str(t->ctx, "message.text", "")) || qty > 1) {
        /* one question for all of them: "the Kiwi, the Apple and the Lemon" */
        char names[480];
        size_t w = 0;
        for (size_t i = 0; i < m && w < sizeof names; i++) {
            int k = snprintf(names + w, sizeof names - w, "%s%s", i == 0 ? "" : i + 1 == m ? " and the " : ", the ",
                             titles[i]);
            if (k < 0)
                break;
            w += (size_t)k;
        }
        eng__set_var(t, "unsure", json_object_new_boolean(1));
        eng__agent_ask(t, type, skus[0], names, qty);
        json_object *more = json_object_new_array();
        for (size_t i = 1; i < m; i++)
            json_object_array_add(more, json_object_new_string(skus[i]));
        json_object_object_add(eng__json_path(t->ctx, "session.pending"), "more", more);
        return ENG_R_OK;
    }
    for (size_t i = 0; i < m; i++) {
        eng_result r = propose(t, type, skus[i], qty);
        if (r != ENG_R_OK)
            return r;
    }
    return ENG_R_OK;
}

/* "everything but the perfume", "all except the apples": the words after
 * the cue, or NULL. */
static const char *except_words(const char *text)
{
    static const char *const cues[] = {" but the ", " but my ", " except the ", " except for the ", " except ",
                                       " apart from the ", " apart from ", " other than the ", " other than ",
                                       " besides the ", " but ", NULL};
    for (size_t i = 0; cues[i]; i++) {
        const char *p = strcasestr(text, cues[i]);
        if (p && p[strlen(cues[i])])
            return p + strlen(cues[i]);
    }
    return NULL;
}

/* "empty everything but the perfume": every line the words do not name
 * comes out, asked; when the named one is all there is, nothing does. */
static eng_result all_but(eng_turn *t, const agent_opts *o, const char *words)
{
    json_object *items = eng__json_path(t->ctx, "cart.items");
    const char *skus[AGENT_MAX_REFS], *titles[AGENT_MAX_REFS], *keep = NULL;
    size_t m = 0, n = items ? json_object_array_length(items) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *line = json_object_array_get_idx(items, i);
        if (eng__agent_name_score(words, line) > 0) {
            keep = eng__json_str(line, "title", "");
            continue;
        }
        if (m == AGENT_MAX_REFS)
            return unclear(t, &(agent_target){.found = AGENT_MANY, .where = AGENT_AT_CART}, true);
        skus[m] = eng__json_str(line, "sku", "");
        titles[m] = eng__json_str(line, "title", skus[m]);
        m++;
    }
    eng__agent_read_as(t, "remove_from_cart");
    if (!keep) {
        /* the words name nothing in the cart: which one is meant is unclear */
        json_object *v = json_object_new_object();
        json_object_object_add(v, "named", json_object_new_string(words));
        eng__set_var(t, "notInCart", v);
        eng__turn_note(t, "\"everything but %s\": nothing in the cart is called that", words);
        return ENG_R_OK;
    }
    if (m == 0) {
        eng__set_var(t, "onlyKept", json_object_new_string(keep));
        eng__turn_note(t, "everything but the one line there is: nothing to take out");
        return ENG_R_OK;
    }
    /* a change made of what is left over is asked, however sure */
    json_object_object_add(eng__json_path(t->ctx, "intent"), "source", json_object_new_string("reread"));
    return several(t, o, "cart.remove", skus, titles, m, 0);
}

/* "empty the lot apart from the kiwi": a word that clears, a cue of
 * exception, and a cart line the words after it name. */
static bool keeps_only(eng_turn *t, const char *text)
{
    static const char *const clearing[] = {"all", "everything", "lot", "rest", "whole", "empty", "clear", NULL};
    const char *kept = except_words(text);
    if (!kept || !eng__agent_has_word(text, clearing))
        return false;
    json_object *items = eng__json_path(t->ctx, "cart.items");
    for (size_t i = 0; items && i < json_object_array_length(items); i++)
        if (eng__agent_name_score(kept, json_object_array_get_idx(items, i)) > 0)
            return true;
    return false;
}

int eng__agent_buys_now(eng_turn *t, const char *text)
{
    static const char *const buy[] = {"buy it", "buy them", "buy these", "buy those", "buy now", "buy everything",
                                      "buy the lot", "pay for it", "pay for them", "pay for everything",
                                      "purchase it", "purchase them", "order it", "order them", "get it ordered",
                                      NULL};
    /* "purchase", "pay now", "buy": the word alone is the checkout */
    static const char *const alone[] = {"purchase", "buy", "pay", "now", "please", "pls", "ok", "okay", "then",
                                        "i'll", "ill", "i", "want", "to", "let", "me", "lets", "let's", NULL};
    static const char *const verbs[] = {"purchase", "buy", "pay", NULL};
    bool bare = eng__agent_has_word(text, verbs) && eng__agent_only_words(text, alone, NULL);
    json_object *named = eng__json_path(t->ctx, "understanding.named");
    if ((!bare && !eng__agent_has_word(text, buy)) ||
        (json_object_is_type(named, json_type_array) && json_object_array_length(named) > 0))
        return 0;
    if (!eng__json_path(t->ctx, "cart.items"))
        eng__cart_refresh(t);
    const char *focus = eng__json_str(t->ctx, "session.focus", NULL);
    bool it = eng__agent_has_word(text, (const char *const[]){"it", NULL});
    if (it && focus && eng__cart_line_qty(t, focus) == 0)
        return 2;   /* "buy it" of a product not in the cart yet */
    return json_object_get_int64(eng__json_path(t->ctx, "cart.count")) > 0 ? 1 : 0;
}

bool eng__agent_clears_cart(eng_turn *t, const char *text)
{
    /* a verb that clears a container, with the cart or all of it named */
    static const char *const clears[] = {"empty", "clear", "wipe", "nuke", "dump", "scrap", "bin", "ditch", "trash",
                                         "reset", "start over", "start again", "start fresh", "begin again", NULL};
    static const char *const holder[] = {"cart", "basket", "trolley", "my bag", NULL};
    /* a verb that takes a line out, with all of it named ("remove it
     * from my cart" is the one in focus) */
    static const char *const takes[] = {"remove", "delete", "take out", "get rid", NULL};
    static const char *const whole[] = {"everything", "it all", "all of it", "the lot", "whole", "entire", NULL};
    json_object *named = eng__json_path(t->ctx, "understanding.named");
    if (json_object_is_type(named, json_type_array) && json_object_array_length(named) > 0)
        return false;
    bool taking = eng__agent_has_word(text, takes) ||
                  (eng__agent_has_word(text, (const char *const[]){"take", NULL}) &&
                   eng__agent_has_word(text, (const char *const[]){"out", NULL}));
    bool clearing = eng__agent_has_word(text, clears);
    if (!(clearing && (eng__agent_has_word(text, holder) || eng__agent_has_word(text, whole))) &&
        !(taking && eng__agent_has_word(text, whole)))
        return false;
    if (!eng__json_path(t->ctx, "cart.items"))
        eng__cart_refresh(t);
    return json_object_get_int64(eng__json_path(t->ctx, "cart.count")) > 0;
}

/* "how many items have i got", "how many are in my basket": what the
 * cart holds, not a search or a stock question. */
static bool asks_count_held(const char *text)
{
    static const char *const held[] = {"have i got", "i have got", "ive got", "i've got", "i got", "do i have",
                                       "have i", "in my cart", "in my basket", "in my bag", "in my trolley",
                                       "in there", "in the cart", "in the basket", NULL};
    while (*text == ' ')
        text++;
    return strncasecmp(text, "how many", 8) == 0 && eng__agent_has_word(text + 8, held);
}

/* "i want 2 more of the lipstick", "another one of the watch": more of
 * a product the cart holds, named; an add, asked (the model often
 * reads it as a search). */
static bool more_of_held(eng_turn *t, const char *text)
{
    static const char *const more[] = {"more of", "another of", "another one of", "extra of", NULL};
    if (!eng__agent_has_word(text, more) || json_object_get_int64(eng__json_path(t->ctx, "cart.count")) < 1)
        return false;
    const char *p = NULL;
    for (size_t i = 0; more[i] && !p; i++)
        p = strcasestr(text, more[i]);
    if (!p)
        return false;
    json_object *items = eng__json_path(t->ctx, "cart.items");
    for (size_t i = 0; items && i < json_object_array_length(items); i++) {
        const char *title = eng__json_str(json_object_array_get_idx(items, i), "title", "");
        /* a word after "more of" that the line's title holds ("watches"
         * for "Rolex Watch": its plural ending aside) */
        char words[160];
        snprintf(words, sizeof words, "%s", p);
        for (char *q = words; *q;) {
            while (*q && !isalnum((unsigned char)*q))
                q++;
            char *w = q;
            while (*q && isalnum((unsigned char)*q))
                q++;
            if (*q)
                *q++ = '\0';
            size_t n = strlen(w);
            if (n > 5 && w[n - 1] == 's')
                w[n - (w[n - 2] == 'e' ? 2 : 1)] = '\0';
            if (strlen(w) >= 4 && strcasestr(title, w))
                return true;
        }
    }
    return false;
}

/* "another", "same again", "one more please": more of the product in
 * focus, said with nothing else; an add, asked. */
bool eng__agent_one_more(eng_turn *t, const char *text)
{
    static const char *const words[] = {"another", "one", "more", "1", "please", "pls", "plz", "same", "again",
                                        "of", "those", "that", "it", "them", "the", "just", "ok", "okay", "can",
                                        "could", "i", "get", "have", "take", "i'll", "ill", "a", "an", "extra",
                                        "bottle", "jar", "tube", "tin", "packet", "pair", "unit", "piece",
                                        /* "and another one for my sister" */
                                        "and", "also", "plus", "too", "for", "my", "her", "his", "our", "their",
                                        "whole", "all", NULL};
    static const char *const cue[] = {"another", "more", "again", NULL};
    if (!eng__json_str(t->ctx, "session.focus", NULL) || !eng__agent_has_word(text, cue))
        return false;
    return eng__agent_only_words(text, words, eng__agent_people);
}

/* Whether the words the message names (if any) are the product of
 * `change` ("undo the nail polish"): another product is another request. */
static bool names_only(eng_turn *t, json_object *change)
{
    char words[160];
    eng__agent_name_words(t, words, sizeof words);
    if (!words[0] || eng__agent_name_score(words, change) > 0)
        return true;
    /* "ugh", "argh": words that name nothing the shop has */
    agent_target tg;
    eng__agent_named(t, words, &tg);
    json_object_put(tg.candidates);
    return tg.found == AGENT_NO_MATCH;
}

/* "undo that", "oops, didn't mean that", "put it back" right after a
 * change of one line: the line back to its count before, asked. */
static bool takes_back(eng_turn *t, const char *text, json_object *last)
{
    static const char *const undo[] = {"undo", "take that back", "take it back", "scratch that", "cancel that",
                                       "reverse that", "revert", "didn't mean", "didnt mean", "did not mean",
                                       "my mistake", "by mistake", "by accident", "accidentally", "misclick",
                                       "oops", "whoops", "the way it was", "as it was", "changed my mind",
                                       "change my mind", "change of heart", "on second thought",
                                       "on second thoughts", "second thoughts", "rethinking", NULL};
    /* after a removal, "put it back" is into the cart; after an add,
     * back on the shelf (puts_back) or out again */
    static const char *const restore[] = {"put it back", "put that back", "put them back", "bring it back",
                                          "bring that back", "add it back", "add that back", "want it back",
                                          "need it back", "back in", "i want it", "i need it", "i still want",
                                          "i still need", "didn't want it removed", NULL};
    /* "no wait, keep them" right after the removal; after an add ("never
     * mind, don't remove the wok"), the add stands */
    static const char *const keep[] = {"keep them", "keep it", "keep that", "keep those", "keep the",
                                       "don't remove", "dont remove", "do not remove", "leave them",
                                       "leave it in", NULL};
    static const char *const unadd[] = {"cancel", "remove", "take it out", "take that out", "don't", "dont",
                                        "do not", "no wait", "wait no", "stop", "didn't want", "didnt want",
                                        NULL};
    static const char *const bare_no[] = {"no", "nope", "nah", "naw", "noo", "nooo", "wait", "hmm", "uh", NULL};
    const char *type = eng__json_str(last, "type", "");
    /* "remove it" said plainly is a removal of its own; after a "no"
     * ("no, take it out") it takes the add back; so does a bare "no"
     * right after the add, nothing else asked */
    bool no = strcmp(eng__agent_intent(t), "deny") == 0;
    bool kept = eng__agent_has_word(text, keep);
    bool said = eng__agent_has_word(text, undo) || eng__agent_bare_cancel(text) ||
                (strcmp(type, "cart.remove") == 0 ? eng__agent_has_word(text, restore) || kept
                                                  : strcmp(type, "cart.add") == 0 && no && !kept &&
                                                        (eng__agent_has_word(text, unadd) || puts_back(text) ||
                                                         eng__agent_only_words(text, bare_no, NULL)));
    return said && said_count(t) < 0 && names_only(t, last);
}

/* "actually just one", "make that 3", "only two sorry" right after an
 * add: the count that add should have had. */
static bool corrects_count(eng_turn *t, const char *text, json_object *change)
{
    static const char *const cue[] = {"just", "only", "actually", "make that", "make it", "instead", "sorry",
                                      "wait", "no", "nope", "oops", "meant", "i said", "rather", "not", NULL};
    return said_count(t) > 0 && eng__agent_has_word(text, cue) && names_only(t, change) &&
           !eng__agent_has_word(text, (const char *const[]){"more", "another", "extra", "else", NULL});
}

/* "undo" right after one message added several new lines: those lines
 * out again, asked (one question for all); false when the words are no
 * taking back or a line has changed since. */
static bool takes_back_adds(const agent_call *c, const char *text, json_object *lines, eng_result *r)
{
    eng_turn *t = c->t;
    static const char *const undo[] = {"undo", "undo that", "take that back", "take those back", "take them back",
                                       "scratch that", "cancel that", "reverse that", "revert", "didn't mean",
                                       "didnt mean", "did not mean", "my mistake", "by mistake", "by accident",
                                       "accidentally", "misclick", "oops", "whoops", NULL};
    static const char *const bare_no[] = {"no", "nope", "nah", "naw", "noo", "nooo", "wait", "hmm", "uh", NULL};
    size_t n = json_object_array_length(lines);
    bool no = strcmp(eng__agent_intent(t), "deny") == 0 && eng__agent_only_words(text, bare_no, NULL);
    if (n < 2 || n > AGENT_MAX_REFS || !(no || eng__agent_has_word(text, undo) || eng__agent_bare_cancel(text)) ||
        said_count(t) >= 0)
        return false;
    char words[160];
    eng__agent_name_words(t, words, sizeof words);
    if (words[0])
        return false;   /* "oops, the kiwi": that product's own */
    const char *skus[AGENT_MAX_REFS], *titles[AGENT_MAX_REFS];
    for (size_t i = 0; i < n; i++) {
        json_object *l = json_object_array_get_idx(lines, i);
        skus[i] = eng__json_str(l, "sku", "");
        titles[i] = eng__json_str(l, "title", skus[i]);
        if (eng__cart_line_qty(t, skus[i]) != json_object_get_int64(eng__json_path(l, "qty")))
            return false;   /* changed since: not the change to take back */
    }
    eng__agent_read_as(t, "remove_from_cart");
    eng__set_var(t, "continued", json_object_new_boolean(1));   /* asked */
    eng__turn_note(t, "the %zu lines just added taken back: asked", n);
    *r = several(t, c->o, "cart.remove", skus, titles, n, 0);
    return true;
}

/* "undo that", "put everything back", "no wait keep the wok" right after
 * the cart was emptied: those lines (the ones named, or all) added back
 * in their counts, asked. */
static bool puts_back_cleared(const agent_call *c, const char *text, json_object *cleared, eng_result *r)
{
    static const char *const back[] = {"undo", "take that back", "scratch that", "cancel that", "reverse that",
                                       "revert", "didn't mean", "didnt mean", "did not mean", "my mistake",
                                       "by mistake", "by accident", "accidentally", "oops", "whoops", "the way it was",
                                       "as it was", "changed my mind", "put it back", "put them back",
                                       "put everything back", "put it all back", "put that back", "bring it back",
                                       "bring them back", "back in", "want it back", "want them back", "keep",
                                       "no wait", "wait no", "i want it", "i need it", "restore", NULL};
    eng_turn *t = c->t;
    if (!(eng__agent_has_word(text, back) || eng__agent_bare_cancel(text)) || said_count(t) >= 0)
        return false;
    char words[160];
    eng__agent_name_words(t, words, sizeof words);
    const char *skus[AGENT_MAX_REFS];
    int64_t qtys[AGENT_MAX_REFS];
    char names[480];
    size_t m = 0, w = 0, n = json_object_array_length(cleared);
    for (int pass = 0; pass < 2 && m == 0; pass++)
        for (size_t i = 0; i < n && m < AGENT_MAX_REFS; i++) {
            json_object *l = json_object_array_get_idx(cleared, i);
            const char *title = eng__json_str(l, "title", "");
            /* the ones named ("keep the wok"), else every line */
            if (pass == 0 && (!words[0] || eng__agent_title_fits(words, title) == 0))
                continue;
            int64_t q = json_object_get_int64(eng__json_path(l, "qty"));
            int k = snprintf(names + w, sizeof names - w, "%s%s%s", m ? " and the " : "", title,
                             q > 1 ? "" : "");
            if (k < 0 || (size_t)k >= sizeof names - w)
                break;
            w += (size_t)k;
            if (q > 1) {
                k = snprintf(names + w, sizeof names - w, " (%lld)", (long long)q);
                if (k > 0 && (size_t)k < sizeof names - w)
                    w += (size_t)k;
            }
            skus[m] = eng__pool_strdup(t->pool, eng__json_str(l, "sku", ""));
            qtys[m++] = q > 0 ? q : 1;
        }
    if (m == 0)
        return false;
    eng__agent_read_as(t, "add_to_cart");
    eng__turn_note(t, "the cart just emptied: %zu lines put back, asked", m);
    *r = ask_each(t, "cart.add", skus, qtys, m, eng__pool_strdup(t->pool, names), false);
    return true;
}

static int named_several(eng_turn *t, bool in_cart, const char **skus, const char **titles, int max);

/* The add asked about (`pending`, a cart.add of one product) asked again
 * with count q; false when q is over 999. */
static bool ask_add_again(eng_turn *t, json_object *pending, int64_t q, const char *why, eng_result *r)
{
    if (q > 999)
        return false;
    const char *sku = eng__pool_strdup(t->pool, eng__json_str(pending, "sku", ""));
    const char *title = eng__pool_strdup(t->pool, eng__json_str(pending, "title", ""));
    eng__agent_read_as(t, "add_to_cart");
    eng__set_var(t, "unsure", json_object_new_boolean(1));
    eng__agent_ask(t, "cart.add", sku, title, q);
    eng__turn_note(t, "%s: asked again with %lld", why, (long long)q);
    *r = ENG_R_OK;
    return true;
}

bool eng__agent_cart_takes_back(const agent_call *c, eng_result *r)
{
    eng_turn *t = c->t;
    const char *text = eng__json_str(t->ctx, "message.text", "");
    json_object *pending = eng__agent_pending_fresh(t);
    const char *ns[AGENT_MAX_REFS], *nt[AGENT_MAX_REFS];
    if (pending && strcmp(eng__json_str(pending, "type", ""), "cart.add") == 0 &&
        eng__json_str(pending, "sku", NULL) && !eng__json_path(pending, "more") &&
        !eng__json_path(pending, "replaces") && corrects_count(t, text, pending) &&
        named_several(t, false, ns, nt, AGENT_MAX_REFS) >= 2) {
        /* "no, 2 kiwi and 1 lemon" to "shall I add 2 kiwis?": the add
         * asked again as said, every product with its count */
        eng__agent_read_as(t, "add_to_cart");
        eng__set_var(t, "continued", json_object_new_boolean(1));
        eng__turn_note(t, "the add asked about, said again with more: asked as said");
        *r = eng__agent_cart(c);
        return true;
    }
    if (pending && strcmp(eng__json_str(pending, "type", ""), "cart.add") == 0 &&
        eng__json_str(pending, "sku", NULL) && !eng__json_path(pending, "more") &&
        !eng__json_path(pending, "replaces") &&
        corrects_count(t, text, pending)) {
        /* "only one" to "shall I add 2?": the same question with that count */
        return ask_add_again(t, pending, said_count(t), "another count for the add just asked about", r);
    }
    if (pending && strcmp(eng__json_str(pending, "type", ""), "cart.add") == 0 &&
        eng__json_str(pending, "sku", NULL) && !eng__json_path(pending, "more") &&
        !eng__json_path(pending, "replaces") &&
        eng__agent_has_word(text, (const char *const[]){"one more", "another", "another one", "1 more", NULL}) &&
        !eng__agent_is_question(text) && names_only(t, pending)) {
        /* "ok add one more" to "shall I add 2?": those and one more, asked */
        int64_t q = json_object_get_int64(eng__json_path(pending, "qty")) + (said_count(t) > 1 ? said_count(t) : 1);
        return ask_add_again(t, pending, q, "one more than the add asked about", r);
    }
    json_object *cleared = eng__agent_last_cleared(t);
    if (cleared && !pending)
        return puts_back_cleared(c, text, cleared, r);
    json_object *lines = eng__agent_last_adds(t);
    if (lines && !pending) {
        if (!eng__json_path(t->ctx, "cart.items"))
            eng__cart_refresh(t);
        return takes_back_adds(c, text, lines, r);
    }
    json_object *last = eng__agent_last_change(t);
    if (!last || pending)
        return false;   /* a question waiting is answered first */
    if (!eng__json_path(t->ctx, "cart.items"))
        eng__cart_refresh(t);
    const char *sku = eng__pool_strdup(t->pool, eng__json_str(last, "sku", ""));
    const char *title = eng__pool_strdup(t->pool, eng__json_str(last, "title", ""));
    int64_t before = json_object_get_int64(eng__json_path(last, "before"));
    int64_t after = json_object_get_int64(eng__json_path(last, "after"));
    if (eng__cart_line_qty(t, sku) != after)
        return false;   /* changed since, elsewhere: not the change to take back */
    json_object *was = eng__json_path(last, "replaced");
    if (was) {
        /* "undo that" after a swap: the swap back, asked */
        const char *wsku = eng__pool_strdup(t->pool, eng__json_str(was, "sku", ""));
        const char *wtitle = eng__pool_strdup(t->pool, eng__json_str(was, "title", ""));
        int64_t wq = json_object_get_int64(eng__json_path(was, "qty"));
        if (!wsku || !wtitle || wq < 1 || eng__cart_line_qty(t, wsku) != 0 || !takes_back(t, text, last))
            return false;
        eng__agent_read_as(t, "add_to_cart");
        eng__set_var(t, "unsure", json_object_new_boolean(1));
        eng__agent_ask(t, "cart.add", wsku, wtitle, wq);
        json_object *rep = json_object_new_object();
        ENG_JADD(rep, "sku", json_object_new_string(sku));
        ENG_JADD(rep, "title", json_object_new_string(title));
        json_object_object_add(eng__json_path(t->ctx, "vars.ask"), "replaces", json_object_get(rep));
        json_object_object_add(eng__json_path(t->ctx, "session.pending"), "replaces", rep);
        eng__turn_note(t, "the swap just made taken back: asked");
        *r = ENG_R_OK;
        return true;
    }
    /* "no not that one, the pan" right after "remove the wok": the wok
     * back in and the pan out, asked (a swap the other way round) */
    if (strcmp(eng__json_str(last, "type", ""), "cart.remove") == 0 && after == 0 && before > 0 &&
        eng__agent_has_word(text, (const char *const[]){"not that one", "wrong one", "i meant", "meant the",
                                                         "not the", "the other one", "other one", NULL})) {
        char words[160];
        eng__agent_name_words(t, words, sizeof words);
        json_object *items = eng__json_path(t->ctx, "cart.items");
        json_object *pick = NULL;
        int fits = 0;
        for (size_t i = 0; items && i < json_object_array_length(items); i++) {
            json_object *l = json_object_array_get_idx(items, i);
            bool other_one = !words[0] && json_object_array_length(items) == 1;
            if (other_one || (words[0] && eng__agent_title_fits(words, eng__json_str(l, "title", "")) > 0))
                pick = l, fits++;
        }
        if (fits == 1) {
            eng__agent_read_as(t, "add_to_cart");
            eng__set_var(t, "unsure", json_object_new_boolean(1));
            eng__agent_ask(t, "cart.add", sku, title, before);
            json_object *rep = json_object_new_object();
            ENG_JADD(rep, "sku", json_object_get(eng__json_path(pick, "sku")));
            ENG_JADD(rep, "title", json_object_get(eng__json_path(pick, "title")));
            json_object_object_add(eng__json_path(t->ctx, "vars.ask"), "replaces", json_object_get(rep));
            json_object_object_add(eng__json_path(t->ctx, "vars.ask"), "putBack", json_object_new_boolean(1));
            json_object_object_add(eng__json_path(t->ctx, "session.pending"), "replaces", rep);
            eng__turn_note(t, "the wrong line was removed: %s back, the one named out, asked", sku);
            *r = ENG_R_OK;
            return true;
        }
    }
    int64_t to;
    /* read as a quantity change, the count is that change's own (done
     * when the reading is sure) */
    if (strcmp(eng__json_str(last, "type", ""), "cart.add") == 0 &&
        strcmp(eng__agent_intent(t), "update_quantity") != 0 && corrects_count(t, text, last)) {
        to = before + said_count(t);
        eng__turn_note(t, "another count for the add just made: %lld asked", (long long)to);
    } else if (takes_back(t, text, last)) {
        to = before;
        eng__turn_note(t, "the change just made taken back: %lld asked", (long long)to);
    } else {
        return false;
    }
    if (to == after || to < 0 || to > 999)
        return false;
    const char *type = to == 0 ? "cart.remove" : after == 0 ? "cart.add" : "cart.set";
    eng__agent_read_as(t, to == 0 ? "remove_from_cart" : after == 0 ? "add_to_cart" : "update_quantity");
    eng__set_var(t, "unsure", json_object_new_boolean(1));
    eng__agent_ask(t, type, sku, title, to);
    *r = ENG_R_OK;
    return true;
}

/* "get rid of the whisk", "bin the milk": a word that takes off and a
 * line of the cart named, however weakly the model read it. */
static bool removes_held(eng_turn *t, const char *text)
{
    static const char *const off[] = {"remove", "delete", "get rid", "take out", "take the", "ditch", "bin",
                                      "lose the", "scrap", "drop", "don't want the", "dont want the", NULL};
    if (!eng__agent_has_word(text, off) || json_object_get_int64(eng__json_path(t->ctx, "cart.count")) < 1)
        return false;
    char words[160];
    eng__agent_name_words(t, words, sizeof words);
    json_object *items = eng__json_path(t->ctx, "cart.items");
    for (size_t i = 0; words[0] && items && i < json_object_array_length(items); i++)
        if (eng__agent_name_score(words, json_object_array_get_idx(items, i)) > 0)
            return true;
    return false;
}

/* "could i get 5 lemons", "i'd like 3 honey jars": a count, a verb of
 * having and one product named; "i'll go with the lenovo": a choice and
 * one product named: an add, asked (the model reads many of them as
 * searches). */
static int named_several(eng_turn *t, bool in_cart, const char **skus, const char **titles, int max);

static bool counted_add(eng_turn *t, const char *text)
{
    static const char *const having[] = {"get", "buy", "take", "order", "want", "need", "i'd like", "id like",
                                         "i would like", "i'll have", "ill have", "grab", "purchase", "gimme",
                                         "give me", NULL};
    static const char *const looking[] = {"show", "see", "find", "list", "search", "look", "browse", "any",
                                          "cheap", "cheapest", "best", "under", "below", "over", NULL};
    /* "i'll go with the lenovo": a choice said, any count */
    static const char *const choosing[] = {"go with", "going with", "i'll take", "ill take", "i'll have",
                                           "ill have", "i'll get", "ill get", "i choose", "i'll choose",
                                           "i pick", "i'll pick", "i'll go for", "ill go for", NULL};
    bool chose = eng__agent_has_word(text, choosing);
    if ((!chose && (said_count(t) < 2 || !eng__agent_has_word(text, having))) || eng__agent_has_word(text, looking))
        return false;
    json_object *ents = eng__json_path(t->ctx, "entities");
    for (size_t i = 0; ents && i < json_object_array_length(ents); i++)
        if (strcmp(eng__json_str(json_object_array_get_idx(ents, i), "type", ""), "money") == 0)
            return false;
    char words[160];
    eng__agent_name_words(t, words, sizeof words);
    if (!words[0])
        return false;
    agent_target tg;
    eng__agent_named(t, words, &tg);
    json_object_put(tg.candidates);
    if (tg.found == AGENT_ONE)
        return true;
    /* "4 lemons and 2 kiwis": each part one product */
    const char *skus[AGENT_MAX_REFS], *titles[AGENT_MAX_REFS];
    return named_several(t, false, skus, titles, AGENT_MAX_REFS) >= 2;
}

/* "double everything", "halve all of it": every line of the cart scaled
 * by `times` (2, 3, or -2 for half, at least 1 left), one question for
 * all. False when the cart is empty or nothing would change. */
static bool scale_all(eng_turn *t, int times, eng_result *r)
{
    json_object *items = eng__json_path(t->ctx, "cart.items");
    size_t n = json_object_is_type(items, json_type_array) ? json_object_array_length(items) : 0;
    const char *skus[AGENT_MAX_REFS];
    int64_t to[AGENT_MAX_REFS];
    char names[480];
    size_t m = 0, w = 0;
    for (size_t i = 0; i < n && m < AGENT_MAX_REFS; i++) {
        json_object *l = json_object_array_get_idx(items, i);
        int64_t q = json_object_get_int64(eng__json_path(l, "qty"));
        int64_t nq = times > 0 ? q * times : (q / 2 > 0 ? q / 2 : 1);
        if (nq == q || nq > 999)
            continue;
        int k = snprintf(names + w, sizeof names - w, "%sthe %s to %lld", m ? ", " : "",
                         eng__json_str(l, "title", ""), (long long)nq);
        if (k < 0 || (size_t)k >= sizeof names - w)
            break;
        w += (size_t)k;
        skus[m] = eng__json_str(l, "sku", "");
        to[m++] = nq;
    }
    if (m == 0)
        return false;
    eng__agent_read_as(t, "update_quantity");
    eng__turn_note(t, "every line scaled: asked");
    *r = ask_each(t, "cart.set", skus, to, m, names, true);
    return true;
}

/* "i'll take it", "perfect, i'll get it" right after the product was
 * added: the same choice said again, not a second one. Said so
 * (vars.alreadyAdded), nothing changed; a count or a word of more
 * ("another", "one more", "again", "too") is an add as before. */
static bool already_added(eng_turn *t, const char *text, const agent_target *tg)
{
    static const char *const more[] = {"another", "more", "again", "extra", "second", "too", "also", "as well",
                                       "plus", "additional", "double", NULL};
    /* "i'll take both", "ok i'll get those" of what the cart holds: a
     * choice said of lines already there (any time), not a second one */
    static const char *const choosing[] = {"i'll take", "ill take", "i will take", "i'll get", "ill get",
                                           "i will get", "i'll have", "ill have", "i'll go with", "ill go with",
                                           "i'll buy", "ill buy", NULL};
    json_object *last = eng__agent_last_change(t);
    bool just = last && strcmp(eng__json_str(last, "type", ""), "cart.add") == 0 && tg->sku &&
                strcmp(eng__json_str(last, "sku", ""), tg->sku) == 0;
    if (!tg->sku || (!just && !eng__agent_has_word(text, choosing)) || said_count(t) >= 0 ||
        eng__agent_has_word(text, more) || eng__cart_line_qty(t, tg->sku) < 1 ||
        (!just && eng__agent_has_word(text, (const char *const[]){"instead", NULL})))
        return false;
    json_object *v = json_object_new_object();
    ENG_JADD(v, "title", json_object_new_string(tg->title ? tg->title : ""));
    ENG_JADD(v, "qty", json_object_new_int64(eng__cart_line_qty(t, tg->sku)));
    eng__set_var(t, "alreadyAdded", v);
    eng__turn_note(t, "%s was just added: the same choice said again, nothing changed", tg->sku);
    return true;
}

/* "add it instead", "i'll take those instead" of a product like one the
 * cart holds (the one line of its category), whenever that line was
 * added: a swap, asked (it was added beside the old one). */
static bool instead_of_line(eng_turn *t, const char *text, const agent_target *tg)
{
    if (!tg->sku || !eng__agent_has_word(text, (const char *const[]){"instead", "rather than", NULL}) ||
        eng__cart_line_qty(t, tg->sku) > 0 || !eng__store(t))
        return false;
    store_product p = {0};
    if (eng__product_get(t, tg->sku, &p, NULL) < 0)
        return false;
    json_object *items = eng__json_path(t->ctx, "cart.items"), *old = NULL;
    int same = 0;
    for (size_t i = 0; items && i < json_object_array_length(items); i++) {
        json_object *l = json_object_array_get_idx(items, i);
        if (strcmp(eng__json_str(l, "category", ""), p.category ? p.category : "") == 0)
            old = l, same++;
    }
    store_product_clear(&p);
    if (same != 1)
        return false;
    int64_t qty = json_object_get_int64(eng__json_path(old, "qty"));
    eng__set_var(t, "unsure", json_object_new_boolean(1));
    eng__agent_ask(t, "cart.add", tg->sku, tg->title, qty > 0 ? qty : 1);
    json_object *was = json_object_new_object();
    ENG_JADD(was, "sku", json_object_new_string(eng__json_str(old, "sku", "")));
    ENG_JADD(was, "title", json_object_new_string(eng__json_str(old, "title", "")));
    json_object_object_add(eng__json_path(t->ctx, "vars.ask"), "replaces", json_object_get(was));
    json_object_object_add(eng__json_path(t->ctx, "session.pending"), "replaces", was);
    eng__turn_note(t, "instead of the cart's one %s line: a swap, asked", eng__json_str(old, "category", ""));
    return true;
}

/* "take out a lemon", "remove an apple", "drop one kiwi": a verb that
 * takes out, then "a", "an" or "one" and a word (not "a few", "a couple",
 * "a lot"): one of the line. */
static bool one_taken(const char *text)
{
    static const char *const verbs[] = {"remove ", "take out ", "drop ", "delete ", "take ", "get rid of ",
                                        "ditch ", "lose ", NULL};
    static const char *const many[] = {"few", "couple", "lot", "bunch", "handful", "pair", NULL};
    const char *w = eng__agent_past_verb(text, verbs);
    if (!w)
        return false;
    size_t a = strncasecmp(w, "a ", 2) == 0 ? 2 : strncasecmp(w, "an ", 3) == 0 ? 3
                                            : strncasecmp(w, "one ", 4) == 0  ? 4 : 0;
    return a && !eng__agent_has_word(w + a, many);
}

/* "make it 2 of each", "2 of both please" with several lines: every
 * line set to that count, one question (it set one line, at once). */
static bool each_to(eng_turn *t, const char *text, eng_result *r)
{
    static const char *const each[] = {"of each", "each", "of both", "both of them", "all of them", "apiece",
                                       "for each", "every one", NULL};
    int64_t n = said_count(t);
    if (n < 1 || n > 999 || !eng__agent_has_word(text, each) || !eng__store(t))
        return false;
    if (!eng__json_path(t->ctx, "cart.items"))
        eng__cart_refresh(t);
    json_object *items = eng__json_path(t->ctx, "cart.items");
    size_t lines = json_object_is_type(items, json_type_array) ? json_object_array_length(items) : 0;
    if (lines < 2 || lines > AGENT_MAX_REFS)
        return false;
    /* "2 of each of those" after a list shown is of the list: not here */
    char words[160];
    eng__agent_name_words(t, words, sizeof words);
    static const char *const own[] = {"each", "both", "all", "every", "them", "one", "apiece", "make", "set",
                                      "please", "pls", NULL};
    if (words[0] && !eng__agent_only_words(words, own, NULL))
        return false;
    const char *skus[AGENT_MAX_REFS];
    int64_t to[AGENT_MAX_REFS];
    char names[480];
    size_t m = 0, w = 0;
    for (size_t i = 0; i < lines; i++) {
        json_object *l = json_object_array_get_idx(items, i);
        int k = snprintf(names + w, sizeof names - w, "%sthe %s to %lld", m ? ", " : "", eng__json_str(l, "title", ""),
                         (long long)n);
        if (k < 0 || (size_t)k >= sizeof names - w)
            return false;
        w += (size_t)k;
        skus[m] = eng__json_str(l, "sku", "");
        to[m++] = n;
    }
    eng__agent_read_as(t, "update_quantity");
    eng__turn_note(t, "every line to %lld: asked", (long long)n);
    *r = ask_each(t, "cart.set", skus, to, m, names, true);
    return true;
}

/* "double everything", "triple all of them": scale_all, whatever the
 * model read ("double everything" was read as emptying the cart) */
static bool scales_all(eng_turn *t, const char *text, eng_result *r)
{
    static const char *const all_of[] = {"everything", "all of it", "all of them", "it all", "them all", "the lot",
                                         "each item", "every item", "each one", "all items", "all my items", NULL};
    if (!multiplier(text) || !eng__agent_has_word(text, all_of) || !eng__store(t))
        return false;
    if (!eng__json_path(t->ctx, "cart.items"))
        eng__cart_refresh(t);
    return scale_all(t, multiplier(text), r);
}

bool eng__agent_cart_claims(const agent_call *c, eng_result *r)
{
    if (eng__agent_says_idiom(eng__json_str(c->t->ctx, "message.text", "")))
        return false;   /* "remove any doubt, is it vegan" */
    if (eng__store(c->t) && !eng__json_path(c->t->ctx, "cart.items"))
        eng__cart_refresh(c->t);
    if (eng__agent_cart_swap(c, false, r))
        return true;

    eng_turn *t = c->t;
    const char *text = eng__json_str(t->ctx, "message.text", "");
    json_object *ents = eng__json_path(t->ctx, "entities");
    bool names_product = false;
    for (size_t i = 0; ents && i < json_object_array_length(ents) && !names_product; i++) {
        json_object *e = json_object_array_get_idx(ents, i);
        const char *type = eng__json_str(e, "type", "");
        names_product = (strcmp(type, "brand") == 0 || strcmp(type, "category") == 0) &&
                        !json_object_get_boolean(eng__json_path(e, "negated"));
    }
    const char *as = NULL, *why = NULL;
    if (scales_all(t, text, r))
        return true;
    if (!names_product && eng__agent_code_request(text)) {
        as = "apply_promo", why = "a promotion code to use or take off";
    } else if (asks_count_held(text)) {
        as = "view_cart", why = "how many the cart holds";
    } else {
        if (eng__store(t) && !eng__json_path(t->ctx, "cart.items"))
            eng__cart_refresh(t);
        if (keeps_only(t, text))
            as = "empty_cart", why = "everything but a product in the cart";
        else if (eng__agent_has_word(text, (const char *const[]){"knock", NULL}) &&
                 eng__agent_has_word(text, (const char *const[]){"off", NULL}) && said_count(t) > 0 &&
                 json_object_get_int64(eng__json_path(t->ctx, "cart.count")) > 0)
            as = "update_quantity", why = "a count knocked off a line: asked";
        else if (eng__agent_bare_count(t))
            as = "add_to_cart", why = "a count alone with products in view: an add, asked";
        else if (more_of_held(t, text))
            as = "add_to_cart", why = "more of a product in the cart: an add, asked";
        else if (eng__agent_one_more(t, text))
            as = "add_to_cart", why = "another of the product in focus: an add, asked";
        else if (multiplier(text) && eng__json_str(t->ctx, "session.focus", NULL) &&
                 eng__cart_line_qty(t, eng__json_str(t->ctx, "session.focus", "")) > 0)
            as = "update_quantity", why = "a line's count doubled or halved: asked";
        else if (removes_held(t, text))
            as = "remove_from_cart", why = "a line of the cart named with a word that takes off: asked";
        else if (counted_add(t, text))
            as = "add_to_cart", why = "one product chosen, or a count of it with a verb of having: an add, asked";
    }
    if (!as)
        return false;
    eng__agent_read_as(t, as);
    if (strcmp(as, "add_to_cart") == 0 || strcmp(as, "remove_from_cart") == 0 || strcmp(as, "update_quantity") == 0) {
        json_object_object_add(eng__json_path(t->ctx, "intent"), "source", json_object_new_string("reread"));
        eng__set_var(t, "continued", json_object_new_boolean(1));   /* a change with no verb: asked */
    }
    eng__turn_note(t, "%s: for the cart agent", why);
    *r = eng__agent_cart(c);
    return true;
}

/* "the second one", "compare the first two": asked under a cart intent,
 * still a question about products. */
static eng_result about_products(const agent_call *c)
{
    eng_turn *t = c->t;
    const char *text = eng__json_str(t->ctx, "message.text", "");
    bool cmp = strcasestr(text, "compar") || strcasestr(text, "differen") || strcasestr(text, " vs") ||
               strcasestr(text, "versus") || strcasestr(text, "better");
    eng__agent_read_as(t, cmp ? "compare" : "product_details");
    eng__turn_note(t, "no change was asked: read as %s", cmp ? "compare" : "product_details");
    return eng__agent_product(c);
}

/* The first place `w` stands as a whole word in `text`, or NULL. */
static const char *word_at(const char *text, const char *w)
{
    size_t n = strlen(w);
    for (const char *p = strcasestr(text, w); p; p = strcasestr(p + 1, w))
        if ((p == text || !isalnum((unsigned char)p[-1])) && !isalnum((unsigned char)p[n]))
            return p;
    return NULL;
}

bool eng__agent_says_instead(const char *text)
{
    static const char *const wrong[] = {"wrong one", "not that one", "not this one", "a different one",
                                        "different one", NULL};
    if (word_at(text, "instead") || eng__agent_has_word(text, wrong))
        return true;
    const char *m = word_at(text, "meant");
    if (!m)
        m = word_at(text, "mean");
    if (!m)
        return false;
    const char *after = m + (strncasecmp(m, "meant", 5) == 0 ? 5 : 4);
    while (*after == ' ' || *after == ',')
        after++;
    return strncasecmp(after, "to ", 3) != 0 && strncasecmp(after, "it", 2) != 0 && *after;
}

/* Where a swap's two sides are in the message, as offsets: "swap A for
 * B", "replace A with B", "B instead of A", "instead of A, B". */
typedef struct swap_spans {
    size_t old_from, old_to, new_from, new_to;
} swap_spans;

static bool swap_spans_of(const char *text, swap_spans *sp)
{
    size_t len = strlen(text);
    const char *io = word_at(text, "instead of");
    if (io) {
        const char *o = io + strlen("instead of"), *comma = strchr(o, ',');
        sp->old_from = (size_t)(o - text);
        sp->old_to = comma ? (size_t)(comma - text) : len;
        sp->new_from = comma ? (size_t)(comma + 1 - text) : 0;
        sp->new_to = comma ? len : (size_t)(io - text);
        return true;
    }
    static const char *const verbs[] = {"swap", "switch", "exchange", "replace", "trade", "change", "substitute",
                                        "swop", NULL};
    static const char *const seps[] = {"for", "with", "to", "by", "into", NULL};
    for (size_t v = 0; verbs[v]; v++) {
        const char *at = word_at(text, verbs[v]);
        if (!at)
            continue;
        const char *after = at + strlen(verbs[v]), *sep = NULL;
        size_t seplen = 0;
        for (size_t k = 0; seps[k]; k++) {
            const char *q = word_at(after, seps[k]);
            if (q && (!sep || q < sep))
                sep = q, seplen = strlen(seps[k]);
        }
        if (!sep)
            continue;
        sp->old_from = (size_t)(after - text);
        sp->old_to = (size_t)(sep - text);
        sp->new_from = (size_t)(sep + seplen - text);
        sp->new_to = len;
        return true;
    }
    return false;
}

/* The cart line a swap gives up: the one the words name, or with no
 * words ("swap it for ...") the line just changed, the product in focus
 * or the only line. Pool strings; false when none is sure. */
static bool swap_old(eng_turn *t, const swap_spans *sp, const char **sku, const char **title)
{
    char words[160];
    eng__agent_span_words(t, sp->old_from, sp->old_to, words, sizeof words, false);
    json_object *items = eng__json_path(t->ctx, "cart.items"), *best = NULL;
    size_t n = items ? json_object_array_length(items) : 0;
    if (!words[0]) {
        json_object *last = eng__agent_last_change(t);
        const char *want = last ? eng__json_str(last, "sku", NULL) : eng__json_str(t->ctx, "session.focus", NULL);
        for (size_t i = 0; i < n && !best; i++)
            if (want && strcmp(eng__json_str(json_object_array_get_idx(items, i), "sku", ""), want) == 0)
                best = json_object_array_get_idx(items, i);
        if (!best && n == 1)
            best = json_object_array_get_idx(items, 0);
    } else {
        int top = 0;
        bool tie = false;
        for (size_t i = 0; i < n; i++) {
            int sc = eng__agent_name_score(words, json_object_array_get_idx(items, i));
            if (sc > top)
                top = sc, best = json_object_array_get_idx(items, i), tie = false;
            else if (sc == top && sc > 0)
                tie = true;
        }
        if (tie)
            best = NULL;
    }
    if (!best)
        return false;
    *sku = eng__pool_strdup(t->pool, eng__json_str(best, "sku", ""));
    *title = eng__pool_strdup(t->pool, eng__json_str(best, "title", ""));
    return *sku && *title;
}

/* The product a swap takes instead: a reference inside its side ("the
 * second one", "the most expensive one") or the words there. */
static void swap_new(eng_turn *t, const swap_spans *sp, agent_target *tg)
{
    json_object *ents = eng__json_path(t->ctx, "entities");
    for (size_t i = 0; ents && i < json_object_array_length(ents); i++) {
        json_object *e = json_object_array_get_idx(ents, i);
        int64_t at = json_object_get_int64(eng__json_path(e, "start"));
        if (strcmp(eng__json_str(e, "type", ""), "reference") != 0 || at < (int64_t)sp->new_from ||
            at >= (int64_t)sp->new_to || !eng__json_str(e, "sku", NULL))
            continue;
        memset(tg, 0, sizeof *tg);
        tg->found = AGENT_ONE;
        tg->where = AGENT_AT_SHOWN;
        tg->sku = eng__pool_strdup(t->pool, eng__json_str(e, "sku", ""));
        tg->title = eng__pool_strdup(t->pool, eng__json_str(e, "product.title", tg->sku));
        return;
    }
    char words[160];
    eng__agent_span_words(t, sp->new_from, sp->new_to, words, sizeof words, false);
    eng__agent_named(t, words, tg);
}

/* "swap the lipstick for the mascara", "replace the shirt with the
 * second one", "the red one instead of the blue", and right after an add
 * "get the most expensive one instead": one cart line given up for
 * another product, in the line's count, asked (a yes adds the new one
 * and then takes the old one out, only once the add is done). */
bool eng__agent_cart_swap(const agent_call *c, bool asked_change, eng_result *r)
{
    eng_turn *t = c->t;
    const char *text = eng__json_str(t->ctx, "message.text", "");
    /* "remove the pan instead of the wok": which line goes out, not a
     * swap (the cart agent's removal, with what is kept left out) */
    static const char *const out[] = {"remove ", "delete ", "take out ", "take off ", "drop ", "get rid of ",
                                      "ditch ", "lose ", NULL};
    const char *asked = eng__agent_past_courtesy(text);
    for (size_t i = 0; out[i]; i++)
        if (strncasecmp(asked, out[i], strlen(out[i])) == 0)
            return false;
    swap_spans sp;
    bool spans = swap_spans_of(text, &sp);
    if (!spans) {
        json_object *last = eng__agent_last_change(t);
        if (!eng__agent_says_instead(text) || !last || strcmp(eng__json_str(last, "type", ""), "cart.add") != 0)
            return false;
        sp = (swap_spans){0, 0, 0, strlen(text)};
    }
    if (said_count(t) > 0 || eng__json_path(t->ctx, "cart.count") == NULL ||
        json_object_get_int64(eng__json_path(t->ctx, "cart.count")) < 1)
        return false;
    const char *old_sku, *old_title;
    if (!swap_old(t, &sp, &old_sku, &old_title))
        return false;
    agent_target tg;
    swap_new(t, &sp, &tg);
    if (tg.found != AGENT_ONE) {
        if (!spans || !asked_change || tg.found == AGENT_NOTHING) {
            json_object_put(tg.candidates);
            return false;
        }
        eng__agent_read_as(t, "add_to_cart");
        *r = unclear(t, &tg, false);
        json_object_put(tg.candidates);
        return true;
    }
    json_object_put(tg.candidates);
    if (strcmp(tg.sku, old_sku) == 0)
        return false;
    int64_t qty = eng__cart_line_qty(t, old_sku);
    eng__agent_read_as(t, "add_to_cart");
    eng__set_var(t, "unsure", json_object_new_boolean(1));
    eng__agent_ask(t, "cart.add", tg.sku, tg.title, qty > 0 ? qty : 1);
    json_object *was = json_object_new_object();
    ENG_JADD(was, "sku", json_object_new_string(old_sku));
    ENG_JADD(was, "title", json_object_new_string(old_title));
    json_object_object_add(eng__json_path(t->ctx, "vars.ask"), "replaces", json_object_get(was));
    json_object_object_add(eng__json_path(t->ctx, "session.pending"), "replaces", was);
    eng__turn_note(t, "a swap of %s for %s: asked", old_sku, tg.sku);
    *r = ENG_R_OK;
    return true;
}

/* The one number a short correction says ("i meant 1", "sorry, two"),
 * digits or a word up to twelve, or -1 (none, or more than one). */
static int64_t plain_number(const char *text)
{
    static const char *const words[] = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                                        "nine", "ten", "eleven", "twelve", NULL};
    int64_t found = -1;
    int seen = 0;
    const char *prev = NULL;
    size_t pn = 0;
    for (const char *p = text; *p; prev = p - pn) {
        while (*p && !isalnum((unsigned char)*p))
            p++;
        const char *w = p;
        while (isalnum((unsigned char)*p))
            p++;
        size_t n = (size_t)(p - w);
        bool named = prev && ((pn == 3 && strncasecmp(prev, "the", 3) == 0) ||
                              (pn == 4 && strncasecmp(prev, "this", 4) == 0) ||
                              (pn == 4 && strncasecmp(prev, "that", 4) == 0));
        pn = n;
        if (!n)
            continue;
        if (named)
            return -1;   /* "no wait the 6": a model named, not a count */
        if (strspn(w, "0123456789") == n && n <= 3) {
            found = strtoll(w, NULL, 10), seen++;
            continue;
        }
        for (size_t i = 0; words[i]; i++)
            if (strlen(words[i]) == n && strncasecmp(words[i], w, n) == 0)
                found = (int64_t)i, seen++;
    }
    return seen == 1 ? found : -1;
}

bool eng__agent_meant_count(const agent_call *c, eng_result *r)
{
    static const char *const cues[] = {"i meant", "i mean", "meant", "i said", "i wanted", "i asked for",
                                       "make that", "sorry", "oops", "whoops", "my bad", "typo", "no", "nope",
                                       "only wanted", "just wanted", "only want", "just want", "only need",
                                       "just need", "too many", "too much", "is enough", "are enough",
                                       "is plenty", "are plenty", "will do", "would do", "is fine", "are fine",
                                       "is ok", "is okay", "is good", "actually", NULL};
    eng_turn *t = c->t;
    const char *text = eng__json_str(t->ctx, "message.text", "");
    /* "no, the cheapest one instead": another product, not a count */
    if (!eng__agent_has_word(text, cues) || eng__agent_is_question(text) ||
        eng__agent_has_word(text, (const char *const[]){"instead", "rather", NULL}))
        return false;
    json_object *ents = eng__json_path(t->ctx, "entities");
    for (size_t i = 0; ents && i < json_object_array_length(ents); i++)
        if (strcmp(eng__json_str(json_object_array_get_idx(ents, i), "type", ""), "reference") == 0)
            return false;
    /* "no, 2 kiwi and 1 lemon": several products, not one count */
    const char *ns[AGENT_MAX_REFS], *nt[AGENT_MAX_REFS];
    if (named_several(t, false, ns, nt, AGENT_MAX_REFS) >= 2)
        return false;
    json_object *last = eng__agent_last_change(t), *asked = eng__agent_pending_fresh(t);
    const char *type = eng__json_str(last, "type", "");
    const char *atype = eng__json_str(asked, "type", "");
    bool to_ask = asked && (strcmp(atype, "cart.add") == 0 || strcmp(atype, "cart.set") == 0) &&
                  !eng__json_path(asked, "more");
    if (!to_ask && (!last || (strcmp(type, "cart.add") != 0 && strcmp(type, "cart.set") != 0)))
        return false;
    json_object *of = to_ask ? asked : last;
    int64_t n = said_count(t);
    if (n < 0)
        n = plain_number(text);
    int64_t was = json_object_get_int64(eng__json_path(of, to_ask ? "qty" : "after"));
    const char *sku = eng__json_str(of, "sku", NULL), *title = eng__json_str(of, "title", "");
    if (n < 1 || n > 999 || n == was || !sku)
        return false;
    /* "i meant 2 kiwis" of the kiwis: no other product named */
    char words[160];
    eng__agent_name_words(t, words, sizeof words);
    if (words[0]) {
        agent_target other;
        eng__agent_named(t, words, &other);
        json_object_put(other.candidates);
        if (other.found == AGENT_ONE && strcmp(other.sku, sku) != 0)
            return false;
    }
    if (to_ask) {
        /* "add 3 nail polish" asked, "sorry i meant 2": asked with 2 (the
         * question asked is replaced: its words copied first) */
        atype = eng__pool_strdup(t->pool, atype);
        sku = eng__pool_strdup(t->pool, sku);
        title = eng__pool_strdup(t->pool, title);
        eng__agent_read_as(t, strcmp(atype, "cart.add") == 0 ? "add_to_cart" : "update_quantity");
        eng__set_var(t, "unsure", json_object_new_boolean(1));
        eng__agent_ask(t, atype, sku, title, n);
        eng__turn_note(t, "a count put right while the change is asked: %s x%lld, asked", sku, (long long)n);
        *r = ENG_R_OK;
        return true;
    }
    if (!eng__json_path(t->ctx, "cart.items"))
        eng__cart_refresh(t);
    if (eng__cart_line_qty(t, sku) < 1)
        return false;
    eng__agent_read_as(t, "update_quantity");
    eng__set_var(t, "unsure", json_object_new_boolean(1));
    eng__agent_ask(t, "cart.set", sku, title, n);
    eng__turn_note(t, "a count put right after the change just made: %s to %lld, asked", sku, (long long)n);
    *r = ENG_R_OK;
    return true;
}

bool eng__agent_cart_retarget(const agent_call *c, eng_result *r)
{
    eng_turn *t = c->t;
    const char *text = eng__json_str(t->ctx, "message.text", "");
    json_object *p = eng__agent_pending_fresh(t);
    if (!p || strcmp(eng__json_str(p, "type", ""), "cart.add") != 0 || eng__json_path(p, "replaces") ||
        !eng__json_str(p, "sku", NULL))
        return false;
    /* "no, the fourth", "nope the lenovo one": a short no that names
     * another product; or words that put it right at any length */
    size_t words = 0;
    for (const char *q = text; *q; q++)
        words += isalnum((unsigned char)*q) && (q == text || !isalnum((unsigned char)q[-1]));
    static const char *const no[] = {"no", "nope", "nah", "naw", NULL};
    const char *w = text;
    while (*w && !isalnum((unsigned char)*w))
        w++;
    size_t wn = 0;
    while (isalnum((unsigned char)w[wn]))
        wn++;
    if (!eng__agent_says_instead(text) && !(words <= 5 && eng__agent_word_in(w, wn, no)))
        return false;
    agent_target tg;
    eng__agent_target(t, false, &tg);
    json_object_put(tg.candidates);
    const char *was = eng__json_str(p, "sku", "");
    if (tg.found != AGENT_ONE || strcmp(tg.sku, was) == 0)
        return false;
    int64_t qty = json_object_get_int64(eng__json_path(p, "qty"));
    eng__turn_note(t, "the add asked of %s put right: %s asked instead", was, tg.sku);
    eng__agent_read_as(t, "add_to_cart");
    eng__agent_ask(t, "cart.add", tg.sku, tg.title, qty > 0 ? qty : 1);
    *r = ENG_R_OK;
    return true;
}

bool eng__agent_other_one(const agent_call *c, eng_result *r)
{
    eng_turn *t = c->t;
    static const char *const other[] = {"the other one", "other one", "the other", "a different one",
                                        "different one", "wrong one", "not that one", "not this one", NULL};
    const char *text = eng__json_str(t->ctx, "message.text", "");
    json_object *last = eng__agent_last_change(t);
    if (!last || strcmp(eng__json_str(last, "type", ""), "cart.add") != 0 || !eng__agent_has_word(text, other))
        return false;
    if (eng__agent_cart_swap(c, false, r))
        return true;    /* "wrong one, the chanel": that one instead */
    if (eng__agent_points_at_shown(t))
        return false;
    if (!eng__json_path(t->ctx, "cart.items"))
        eng__cart_refresh(t);
    const char *old_sku = eng__pool_strdup(t->pool, eng__json_str(last, "sku", ""));
    const char *old_title = eng__pool_strdup(t->pool, eng__json_str(last, "title", ""));
    int64_t qty = eng__cart_line_qty(t, old_sku);
    if (!old_sku || !old_title || qty != json_object_get_int64(eng__json_path(last, "after")))
        return false;
    json_object *shown = eng__json_path(t->ctx, "session.shown");
    size_t n = json_object_is_type(shown, json_type_array) ? json_object_array_length(shown) : 0;
    eng__agent_read_as(t, "add_to_cart");
    if (n == 2) {
        /* two shown: "the other one" is the one not added; a swap, asked */
        json_object *p = json_object_array_get_idx(shown, 0);
        if (strcmp(eng__json_str(p, "sku", ""), old_sku) == 0)
            p = json_object_array_get_idx(shown, 1);
        const char *sku = eng__pool_strdup(t->pool, eng__json_str(p, "sku", ""));
        const char *title = eng__pool_strdup(t->pool, eng__json_str(p, "title", sku));
        if (!sku || strcmp(sku, old_sku) == 0)
            return false;
        eng__set_var(t, "unsure", json_object_new_boolean(1));
        eng__agent_ask(t, "cart.add", sku, title, qty > 0 ? qty : 1);
        json_object *was = json_object_new_object();
        ENG_JADD(was, "sku", json_object_new_string(old_sku));
        ENG_JADD(was, "title", json_object_new_string(old_title));
        json_object_object_add(eng__json_path(t->ctx, "vars.ask"), "replaces", json_object_get(was));
        json_object_object_add(eng__json_path(t->ctx, "session.pending"), "replaces", was);
        eng__turn_note(t, "the other one of two: a swap of %s for %s, asked", old_sku, sku);
    } else {
        /* several shown: which one, instead of the one just added */
        eng__set_var(t, "whichInstead", json_object_new_string(old_title));
        /* the add stays what "the third one instead" swaps next */
        json_object *sess = eng__session(t);
        ENG_JADD(last, "turn", json_object_new_int64(json_object_get_int64(eng__json_path(sess, "turns"))));
        ENG_JADD(last, "id", json_object_new_string(eng__json_str(t->ctx, "message.id", "m")));
        eng__turn_note(t, "another one than the %s just added: asked which", old_sku);
    }
    *r = ENG_R_OK;
    return true;
}

/* What "it" or "that one" points at: the reference the entities stage
 * resolved, else the product in focus, else the one product shown; or
 * NULL. */
static const char *pointed_at(eng_turn *t)
{
    json_object *ents = eng__json_path(t->ctx, "entities");
    for (size_t i = 0; ents && i < json_object_array_length(ents); i++) {
        json_object *e = json_object_array_get_idx(ents, i);
        if (strcmp(eng__json_str(e, "type", ""), "reference") == 0 &&
            json_object_get_boolean(eng__json_path(e, "resolved")) && eng__json_str(e, "sku", NULL))
            return eng__json_str(e, "sku", NULL);
    }
    const char *it = eng__json_str(t->ctx, "session.focus", NULL);
    json_object *shown = eng__json_path(t->ctx, "session.shown");
    if (!it && json_object_is_type(shown, json_type_array) && json_object_array_length(shown) == 1)
        it = eng__json_str(json_object_array_get_idx(shown, 0), "sku", NULL);
    return it;
}

/* "add it and the mascara": both, the product "it" points at and the
 * one named; with nothing sure for "it" (several shown, none in focus)
 * asked instead of half done. Returns false when the message names
 * nothing beside "it" (a plain add of `tg`). Puts tg->candidates. */
static bool it_and_named(eng_turn *t, const agent_opts *o, agent_target *tg, eng_result *r)
{
    char words[160];
    eng__agent_name_words(t, words, sizeof words);
    if (!words[0])
        return false;
    agent_target other;
    eng__agent_named(t, words, &other);
    const char *it = pointed_at(t);
    json_object *named = eng__json_path(t->ctx, "understanding.named");
    if (other.found == AGENT_NO_MATCH && json_object_is_type(named, json_type_array) &&
        json_object_array_length(named) == 0) {
        json_object_put(other.candidates);
        return false;   /* "add it and wrap it nicely": no second product */
    }
    if (other.found != AGENT_ONE) {
        json_object_put(tg->candidates);
        *r = unclear(t, &other, false);
        return true;
    }
    json_object_put(other.candidates);
    if (it && strcmp(it, other.sku) == 0)
        return false;
    json_object_put(tg->candidates);
    tg->candidates = NULL;
    if (!it) {
        eng__set_var(t, "needProduct", json_object_new_boolean(1));
        eng__turn_note(t, "\"it\" beside %s points at nothing sure: asked", other.sku);
        *r = ENG_R_OK;
        return true;
    }
    store_product p = {0};
    const char *skus[2] = {eng__pool_strdup(t->pool, it), other.sku}, *titles[2] = {NULL, other.title};
    if (eng__product_get(t, it, &p, NULL) == 0)
        titles[0] = eng__pool_strdup(t->pool, p.title);
    store_product_clear(&p);
    if (!skus[0] || !titles[0]) {
        *r = unclear(t, &(agent_target){.found = AGENT_NOTHING}, false);
        return true;
    }
    *r = several(t, o, "cart.add", skus, titles, 2, quantity(t, 1));
    return true;
}

/* "the Dior perfume and the red lipstick": products named one by one,
 * joined by "and" (eng__agent_name_parts); each must name one product
 * (for a removal, one in the cart), else 0: the single-target path asks.
 * Returns how many, their skus and titles in pool strings. */
/* The words of a removal that say what stays: after "keep", "leave",
 * "i (still) want", "but not", ", not the" ("remove the pan, keep the
 * wok", "delete wok (keep pan)", "remove the wok, not the pan"), or the
 * clause before "stays", "can stay", "are enough" ("ditch the wok, the
 * pan stays"); NULL when none.  The words come back in `buf`, their
 * punctuation made spaces, so that each word can be fitted to a title. */
static const char *kept_part(const char *text, char *buf, size_t n)
{
    static const char *const keeps[] = {" keep ", " leave ", " i want ", " i need ", " i'd like ",
                                        " i still want ", " still want ", " but not ", " not the ",
                                        " hang on to ", " hold on to ", " hold onto ", " hang onto ",
                                        /* "take out the wok rather than the pan" */
                                        " rather than ", " instead of ", NULL};
    static const char *const stays[] = {" stays", " can stay", " stay", " is fine", " are fine", " r fine",
                                        " is enough", " are enough", " will stay", NULL};
    /* the message with its brackets and commas made spaces, led by one */
    char flat[320];
    size_t m = 0;
    flat[m++] = ' ';
    for (const char *q = text; *q && m + 1 < sizeof flat; q++)
        flat[m++] = strchr("()[]{},;:!?\"", *q) ? ' ' : *q;
    flat[m] = '\0';
    const char *from = NULL, *upto = NULL;
    for (size_t i = 0; keeps[i] && !from; i++)
        from = strcasestr(flat, keeps[i]);
    if (from) {
        /* to the end of its clause: "i'll keep the pan, ditch the wok" */
        size_t start = (size_t)(from - flat), end = m;
        for (size_t q = start + 1; q < m && end == m; q++) {
            char ch = text[q - 1];
            if (strchr(",;.!?)", ch) || strncasecmp(text + q - 1, " but ", 5) == 0)
                end = q;
        }
        upto = flat + end;
    } else {
        for (size_t i = 0; stays[i] && !upto; i++)
            upto = strcasestr(flat, stays[i]);
        if (!upto)
            return NULL;
        /* the clause that ends at "stays": after the last comma or "."
         * of the message as said */
        size_t at = (size_t)(upto - flat) - 1, start = 0;
        for (size_t q = 0; q < at && text[q]; q++)
            if (text[q] == ',' || text[q] == '.' || text[q] == ';')
                start = q + 1;
        from = flat + 1 + start;
    }
    snprintf(buf, n, "%.*s", (int)(upto - from), from);
    return buf;
}

/* "remove the pan, keep the wok", "take out the lemon but leave the
 * kiwi": the products named as staying are left out of skus[0..n); the
 * others are kept in order, and their number returned. */
static int leave_kept(eng_turn *t, const char *text, const char **skus, const char **titles, int n)
{
    char buf[160];
    const char *at = kept_part(text, buf, sizeof buf);
    if (!at)
        return n;
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (eng__agent_title_fits(at, titles[i]) > 0) {
            eng__turn_note(t, "%s is to be kept: left in the cart", skus[i]);
            continue;
        }
        skus[m] = skus[i], titles[m] = titles[i], m++;
    }
    return m;
}

/* "remove the wok but not the pan" read as one target that is the one
 * to keep: the other cart line the message names, when there is one */
static bool other_than_kept(eng_turn *t, const char *text, agent_target *tg)
{
    char buf[160];
    const char *kept = kept_part(text, buf, sizeof buf);
    /* one line that is the one to keep, or several that the words fit
     * ("bin the spatula (keep the pot)" fits both) */
    if (!kept || (tg->found != AGENT_ONE && tg->found != AGENT_MANY) ||
        (tg->found == AGENT_ONE && (!tg->title || eng__agent_title_fits(kept, tg->title) == 0)))
        return false;
    char words[160];
    eng__agent_name_words(t, words, sizeof words);
    json_object *items = eng__json_path(t->ctx, "cart.items"), *pick = NULL;
    int fits = 0;
    for (size_t i = 0; words[0] && items && i < json_object_array_length(items); i++) {
        json_object *l = json_object_array_get_idx(items, i);
        const char *title = eng__json_str(l, "title", "");
        if (eng__agent_title_fits(words, title) > 0 && eng__agent_title_fits(kept, title) == 0)
            pick = l, fits++;
    }
    if (fits != 1)
        return false;
    json_object_put(tg->candidates);
    tg->candidates = NULL;
    tg->found = AGENT_ONE, tg->where = AGENT_AT_CART;
    tg->sku = eng__pool_strdup(t->pool, eng__json_str(pick, "sku", ""));
    tg->title = eng__pool_strdup(t->pool, eng__json_str(pick, "title", ""));
    eng__turn_note(t, "the line named to keep left; %s is the one to remove", tg->sku);
    return true;
}

static int named_several(eng_turn *t, bool in_cart, const char **skus, const char **titles, int max)
{
    char parts[320];
    eng__agent_name_parts(t, parts, sizeof parts, true);
    if (!strchr(parts, '|'))
        return 0;
    int n = 0;
    const char *missing = NULL;
    for (char *p = parts; *p;) {
        char *w = p;
        while (*p && *p != '|')
            p++;
        if (*p)
            *p++ = '\0';
        agent_target tg;
        int one = eng__agent_named(t, w, &tg);
        json_object_put(tg.candidates);
        if (tg.found == AGENT_NO_MATCH && *w && !in_cart) {
            /* "add 2 kiwis and a mango" with no mango: said, and nothing
             * added (the kiwis alone were added before) */
            missing = missing ? missing : eng__pool_strdup(t->pool, w);
            continue;
        }
        if (one != 1 || tg.found != AGENT_ONE || n >= max || (in_cart && !cart_line(t, tg.sku)))
            return 0;
        bool dup = false;
        for (int i = 0; i < n && !dup; i++)
            dup = strcmp(skus[i], tg.sku) == 0;
        if (!dup) {
            skus[n] = eng__pool_strdup(t->pool, tg.sku);
            titles[n] = eng__pool_strdup(t->pool, tg.title ? tg.title : tg.sku);
            n++;
        }
    }
    if (missing && n >= 1) {
        eng__set_var(t, "noMatch", json_object_new_string(missing));
        eng__turn_note(t, "\"%s\" names nothing of the catalog: nothing changed", missing);
        return -1;
    }
    return missing ? 0 : n;
}

/* "i'll take 2 of those plus a spatula", "add the first one and a wok":
 * one product pointed at (a resolved reference) and others named, in
 * parts of their own. Into skus/titles in the order said; their number
 * (2 or more), else 0: the single target's path reads it. */
static int pointed_and_named(eng_turn *t, const char **skus, const char **titles, int max)
{
    const char *text = eng__json_str(t->ctx, "message.text", "");
    size_t cut[AGENT_MAX_REFS + 1];
    size_t parts = parts_of(text, cut, AGENT_MAX_REFS + 1);
    if (parts < 2 || max < 2)
        return 0;
    json_object *ents = eng__json_path(t->ctx, "entities"), *ref = NULL;
    for (size_t i = 0; ents && i < json_object_array_length(ents); i++) {
        json_object *e = json_object_array_get_idx(ents, i);
        if (strcmp(eng__json_str(e, "type", ""), "reference") != 0)
            continue;
        if (ref)
            return 0;   /* two pointed at */
        ref = e;
    }
    /* "3 of that" with several shown: the product in focus, if any */
    agent_target focus = {0};
    if (!ref || (!eng__json_str(ref, "sku", NULL) &&
                 (strcmp(eng__json_str(ref, "kind", ""), "demonstrative") != 0 || !eng__agent_focus(t, &focus))))
        return 0;
    const char *rsku = focus.sku ? focus.sku : eng__json_str(ref, "sku", "");
    size_t at = (size_t)json_object_get_int64(eng__json_path(ref, "start")), rpart = 0;
    while (rpart + 1 < parts && cut[rpart + 1] <= at)
        rpart++;
    char names[320];
    eng__agent_name_parts(t, names, sizeof names, true);
    const char *os[AGENT_MAX_REFS], *ot[AGENT_MAX_REFS];
    int n = 0;
    for (char *p = names; *p;) {
        char *w = p;
        while (*p && *p != '|')
            p++;
        if (*p)
            *p++ = '\0';
        if (!*w)
            continue;
        agent_target tg;
        int one = eng__agent_named(t, w, &tg);
        json_object_put(tg.candidates);
        if (tg.found == AGENT_NO_MATCH)
            continue;   /* "i'll take" around the pointing */
        if (one != 1 || tg.found != AGENT_ONE || n + 1 >= max || strcmp(tg.sku, rsku) == 0)
            return 0;   /* a part that names several, or the one pointed at: not sure */
        os[n] = eng__pool_strdup(t->pool, tg.sku);
        ot[n] = eng__pool_strdup(t->pool, tg.title ? tg.title : tg.sku);
        n++;
    }
    if (n == 0 || (size_t)n + 1 != parts)
        return 0;
    json_object *prod = eng__json_path(ref, "product");
    int m = 0;
    for (int i = 0; i <= n; i++) {
        if ((size_t)i == rpart) {
            skus[m] = eng__pool_strdup(t->pool, rsku);
            titles[m] = focus.title ? focus.title : eng__pool_strdup(t->pool, eng__json_str(prod, "title", rsku));
            m++;
        }
        if (i < n)
            skus[m] = os[i], titles[m] = ot[i], m++;
    }
    for (int i = 0; i < m; i++)
        if (!skus[i] || !titles[i])
            return 0;
    eng__turn_note(t, "one product pointed at and %d named: asked together", n);
    return m;
}

/* Whether the shown product p (sku) is left out by the message: a
 * reference said after "except" or "not" ("all of them except the
 * cheapest"), or a brand said so ("all but the dell"). */
static bool left_out(eng_turn *t, json_object *p, const char *sku)
{
    json_object *ents = eng__json_path(t->ctx, "entities");
    for (size_t i = 0; ents && i < json_object_array_length(ents); i++) {
        json_object *e = json_object_array_get_idx(ents, i);
        const char *type = eng__json_str(e, "type", "");
        if (strcmp(type, "excluded_reference") == 0 && strcmp(eng__json_str(e, "sku", ""), sku) == 0)
            return true;
        if (strcmp(type, "brand") == 0 && json_object_get_boolean(eng__json_path(e, "negated")) &&
            json_object_is_type(p, json_type_object) &&
            strcasecmp(eng__json_str(p, "brand", ""), eng__json_str(e, "value", "-")) == 0)
            return true;
    }
    return false;
}

/* "add all of them", "i'll take the lot", "both please", "all three of
 * those": every product of the list shown, when there are two or more
 * and a count said ("all three") is theirs. Returns how many (skus and
 * titles in pool strings), 0, or -1 when "all" comes with a count the
 * list does not have. An add of several is always asked. */
static int all_shown(eng_turn *t, const char *text, const char **skus, const char **titles, int max)
{
    static const char *const whole[] = {"all of them", "all of these", "all of those", "all of em", "the lot",
                                        "the whole lot", "all them", "all those", "all these", "every one of them",
                                        "each of them", "each one", "both", "all the ones", "everything you showed",
                                        "everything shown", "one of each", "of each", "each of those",
                                        "each of these", "them all", "em all", "all of it", NULL};
    /* "add the rest of them": the ones shown the cart lacks */
    static const char *const rest[] = {"the rest", "rest of them", "rest of those", "the others", "the other ones",
                                       NULL};
    static const char *const counted[] = {"two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                                          NULL};
    json_object *shown = eng__json_path(t->ctx, "session.shown");
    /* right after a comparison, "add all three" is of the ones compared */
    json_object *compared = eng__json_path(t->ctx, "session.compared");
    json_object *picked = NULL;
    if (strcmp(eng__json_str(t->ctx, "session.lastIntent", ""), "compare") == 0 &&
        json_object_is_type(compared, json_type_array) && json_object_array_length(compared) >= 2) {
        picked = json_object_new_array();
        for (size_t i = 0; i < json_object_array_length(compared); i++) {
            const char *sku = json_object_get_string(json_object_array_get_idx(compared, i));
            json_object *e = NULL;
            for (size_t k = 0; !e && json_object_is_type(shown, json_type_array) && k < json_object_array_length(shown);
                 k++)
                if (strcmp(eng__json_str(json_object_array_get_idx(shown, k), "sku", ""), sku ? sku : "") == 0)
                    e = json_object_get(json_object_array_get_idx(shown, k));
            json_object_array_add(picked, e ? e : json_object_new_string(sku ? sku : ""));
        }
        json_object_object_add(eng__json_path(t->ctx, "vars"), "comparedList", picked);   /* owned by the turn */
        shown = picked;
    }
    int n = json_object_is_type(shown, json_type_array) ? (int)json_object_array_length(shown) : 0;
    if (n < 1 || n > max)
        return 0;
    bool remaining = eng__agent_has_word(text, rest);
    bool said = remaining || eng__agent_has_word(text, whole);
    /* "add them" with two shown, or right after two were compared */
    /* ("a couple of those" is a count of one of them, asked which) */
    if (!said && n == 2 && said_count(t) < 0 &&
        eng__agent_has_word(text, (const char *const[]){"them", "those", "these", "em", NULL}))
        said = true;
    /* "all three of those", "all 5": the count must be the list's */
    const char *all = strcasestr(text, "all ");
    if (!said && all) {
        const char *w = all + 4;
        int k = -1;
        if (isdigit((unsigned char)*w)) {
            char *end;
            long v = strtol(w, &end, 10);
            k = (v > 0 && v < 1000 && !isalpha((unsigned char)*end)) ? (int)v : -1;
        }
        for (int i = 0; counted[i] && k < 0; i++)
            if (strncasecmp(w, counted[i], strlen(counted[i])) == 0 && !isalpha((unsigned char)w[strlen(counted[i])]))
                k = i + 2;
        if (k > 0) {
            if (k != n)
                return -1;   /* "all five" of a list of one: asked, whatever it means */
            said = true;
            eng__set_var(t, "listCounted", json_object_new_boolean(1));   /* "three" counts the list */
        }
    }
    if (!said || n < 2 || (strcasestr(text, "both") && !strcasestr(text, "all") && n != 2))
        return 0;
    int m = 0;
    for (int i = 0; i < n; i++) {
        json_object *p = json_object_array_get_idx(shown, i);
        const char *sku = json_object_is_type(p, json_type_string) ? json_object_get_string(p)
                                                                    : eng__json_str(p, "sku", NULL);
        if (!sku)
            return 0;
        /* "all of them except the cheapest", "the rest": not those */
        if (left_out(t, p, sku) || (remaining && cart_line(t, sku)))
            continue;
        skus[m] = eng__pool_strdup(t->pool, sku);
        titles[m] = eng__pool_strdup(t->pool, json_object_is_type(p, json_type_object) ? eng__json_str(p, "title", sku)
                                                                                       : sku);
        if (!skus[m] || !titles[m])
            return 0;
        m++;
    }
    return m;
}

/* "the first and the third please": two or more products shown, said
 * with a please and read again as an add (the classifier's reread): a
 * want, asked, not a request for their details. */
static bool wanted_refs(eng_turn *t, const char *text)
{
    if (strcmp(eng__json_str(t->ctx, "intent.source", ""), "reread") != 0 ||
        !eng__agent_has_word(text, (const char *const[]){"please", "pls", "plz", NULL}))
        return false;
    json_object *ents = eng__json_path(t->ctx, "entities");
    int refs = 0;
    for (size_t i = 0; ents && i < json_object_array_length(ents); i++) {
        json_object *e = json_object_array_get_idx(ents, i);
        refs += strcmp(eng__json_str(e, "type", ""), "reference") == 0 &&
                strcmp(eng__json_str(e, "kind", ""), "ordinal") == 0;
    }
    return refs >= 2;
}

eng_result eng__agent_cart(const agent_call *c)
{
    eng_turn *t = c->t;
    if (!eng__agent_hop(t))
        return ENG_R_OK;
    const agent_opts *o = c->o;
    if (!eng__store(t)) {
        eng__set_var(t, "noCatalog", json_object_new_boolean(1));
        eng__turn_note(t, "no store: the cart agent needs one");
        return ENG_R_DECLINED;
    }
    if (!eng__json_path(t->ctx, "cart.items"))
        eng__cart_refresh(t);
    const char *intent = eng__agent_intent(t);
    const char *text = eng__json_str(t->ctx, "message.text", "");
    eng_result scaled;
    if (strcmp(intent, "view_cart") != 0 && (scales_all(t, text, &scaled) ||
                                             (strcmp(intent, "update_quantity") == 0 && each_to(t, text, &scaled))))
        return scaled;
    if ((strcmp(intent, "add_to_cart") == 0 || strcmp(intent, "remove_from_cart") == 0) && multiplier(text) &&
        json_object_get_int64(eng__json_path(t->ctx, "cart.count")) > 0) {
        /* "double the lemons", "halve the kiwis": a line's count scaled,
         * whichever change the model read; asked */
        eng__agent_read_as(t, "update_quantity");
        json_object_object_add(eng__json_path(t->ctx, "intent"), "source", json_object_new_string("reread"));
        eng__set_var(t, "continued", json_object_new_boolean(1));
        eng__turn_note(t, "a line's count doubled or halved, read as %s: a quantity change, asked", intent);
        return eng__agent_cart(c);
    }
    bool mutating = strcmp(intent, "add_to_cart") == 0 || strcmp(intent, "remove_from_cart") == 0 ||
                    strcmp(intent, "update_quantity") == 0;
    if ((mutating || strcmp(intent, "empty_cart") == 0) && asks_if_in_cart(text)) {
        /* "is the watch still in my cart?" asks, it changes nothing */
        json_object_object_add(eng__json_path(t->ctx, "intent"), "name", json_object_new_string("view_cart"));
        eng__turn_note(t, "a question about the cart: shown");
        return ENG_R_OK;
    }
    eng_result back;
    if (mutating && eng__agent_cart_swap(c, true, &back))
        return back;   /* "swap it for the blue one" */
    /* "put a pin in the second", "save the first for later", "my friends
     * have the third": kept in mind or owned, not bought */
    static const char *const later[] = {"put a pin in", "pin the", "bookmark", "for later", "keep in mind",
                                        "wishlist", "wish list", "save the", "remember the",
                                        /* "i'll take a look at the second": looking, not buying */
                                        "take a look", "have a look", "a closer look", "a quick look", "look at",
                                        "looking at", "get back to you", "more info", "more information",
                                        "info on", "on hold", "into account", "pull up", "peek", "glance",
                                        "think about", NULL};
    static const char *const buying[] = {"add", "cart", "basket", "trolley", "buy", "purchase", "order", NULL};
    static const char *const owns[] = {" have the ", " has the ", " had the ", " own the ", " owns the ",
                                       " bought the ", NULL};
    static const char *const asking[] = {"can i", "could i", "may i", "i'll", "ill", "i'd", "id", "let me",
                                         "i will", "i would", "i want", "i wanna", "i need", "please", NULL};
    bool owned = false;
    for (size_t i = 0; owns[i] && !owned; i++)
        owned = strcasestr(text, owns[i]) != NULL;
    if (strcmp(intent, "add_to_cart") == 0 &&
        ((eng__agent_has_word(text, later) && !eng__agent_has_word(text, buying)) ||
         (owned && !eng__agent_has_word(text, asking)))) {
        eng__agent_read_as(t, "product_details");
        eng__turn_note(t, "kept for later or owned, not an add: the product's details");
        return eng__agent_product(c);
    }
    /* "i want to keep only the kiwis", "just keep the lemon": every
     * other line out, asked (as "everything but the kiwis") */
    static const char *const keep_cues[] = {"keep only ", "only keep ", "just keep ", "keep just ", NULL};
    for (size_t i = 0; (mutating || strcmp(intent, "empty_cart") == 0) && keep_cues[i]; i++) {
        const char *k = strcasestr(text, keep_cues[i]);
        if (!k || json_object_get_int64(eng__json_path(t->ctx, "cart.count")) < 1)
            continue;
        const char *kept = k + strlen(keep_cues[i]);
        json_object *items = eng__json_path(t->ctx, "cart.items");
        bool named = false;
        for (size_t j = 0; items && j < json_object_array_length(items) && !named; j++)
            named = eng__agent_name_score(kept, json_object_array_get_idx(items, j)) > 0;
        if (named) {
            eng__agent_read_as(t, "remove_from_cart");
            eng__turn_note(t, "keeps only some lines: the others out, asked");
            return all_but(t, o, kept);
        }
    }
    static const char *const doubts[] = {"do i need", "do i really need", "should i get", "should i buy",
                                         "should i add", "is it worth", "are they worth", "do you think i",
                                         "would you get", "would you buy", NULL};
    if (mutating && eng__agent_is_question(text) && eng__agent_has_word(text, doubts)) {
        /* "do i really need two lipsticks": a doubt, asked of the shop; no
         * change to offer */
        eng__agent_read_as(t, "product_details");
        eng__turn_note(t, "a doubt about buying, not a change: the product's details");
        return eng__agent_product(c);
    }
    static const char *const takes_out[] = {"remove", "delete", "drop the", "drop my", "drop it", "drop that",
                                         "drop those", "drop one", "drop 1", "drop a", "drop an", "drop two",
                                         "drop 2", "take out", "take off", "get rid", "ditch the", "bin the",
                                         "lose the", "one away", "it away", "them away", "that away", "1 away",
                                         "throw away", "dump the", "dump it", "scrap the",
                                         "chuck the", "nix the", "axe the", "bin it", NULL};
    static const char *const adding[] = {"add", "put", "buy", "get me", "give me", "want", "need", "instead",
                                         "swap", "replace", "for the", NULL};
    if (strcmp(intent, "add_to_cart") == 0 && eng__agent_has_word(text, takes_out) && !eng__agent_has_word(text, adding) &&
        !eng__agent_names_code(text)) {
        /* "and drop the mascara" read as an add: a removal, asked */
        eng__agent_read_as(t, "remove_from_cart");
        json_object_object_add(eng__json_path(t->ctx, "intent"), "source", json_object_new_string("reread"));
        eng__set_var(t, "continued", json_object_new_boolean(1));
        eng__turn_note(t, "a verb that takes out, read as an add: a removal, asked");
        return eng__agent_cart(c);
    }
    bool continued = json_object_get_boolean(eng__json_path(t->ctx, "vars.continued"));
    if (mutating && !continued && !asks_change(text) && eng__agent_counted_request(t, text)) {
        /* "two of the honey please": a count asked for politely, asked */
        eng__set_var(t, "continued", json_object_new_boolean(1));
        continued = true;
    }
    if (mutating && !continued && !asks_change(text) && !wanted_refs(t, text) &&
        !json_object_get_boolean(eng__json_path(t->ctx, "vars.picked")))
        return about_products(c);
    agent_target tg;
    /* "i don't want the shoes anymore" asks to remove them; "don't
     * remove the watch", "i don't want the first one" (not in the cart),
     * "don't empty my cart" change nothing */
    bool wanting = strcasestr(text, "want") || strcasestr(text, "need");
    bool is_add = strcmp(intent, "add_to_cart") == 0, is_remove = strcmp(intent, "remove_from_cart") == 0;
    if ((mutating || strcmp(intent, "empty_cart") == 0) && negated(text) && !(is_remove && wanting)) {
        eng__agent_target(t, is_add, &tg);
        if (is_add && wanting && tg.found == AGENT_ONE && cart_line(t, tg.sku)) {
            /* on this reading a removal is asked, never done */
            json_object_put(tg.candidates);
            json_object_object_add(eng__json_path(t->ctx, "intent"), "name", json_object_new_string("remove_from_cart"));
            eng__set_var(t, "unsure", json_object_new_boolean(1));
            eng__agent_ask(t, "cart.remove", tg.sku, tg.title, 0);
            eng__turn_note(t, "not wanted, and in the cart: asked whether to remove %s", tg.sku);
            return ENG_R_OK;
        }
        if (tg.found == AGENT_ONE)
            eng__set_var(t, "notChangedTitle", json_object_new_string(tg.title));
        json_object_put(tg.candidates);
        eng__set_var(t, "notChanged", json_object_new_boolean(1));
        eng__turn_note(t, "a change the shopper said not to make: nothing changed");
        return ENG_R_OK;
    }
    const char *skus[AGENT_MAX_REFS], *titles[AGENT_MAX_REFS];
    int nref = is_add || is_remove ? eng__agent_refs(t, skus, titles, AGENT_MAX_REFS) : 0;
    if (nref < 0) {
        agent_target bad = {.found = AGENT_BAD_REF};
        return unclear(t, &bad, is_remove);
    }
    if (nref == 0 && (is_add || is_remove)) {
        nref = named_several(t, is_remove, skus, titles, AGENT_MAX_REFS);
        if (nref < 0)
            return ENG_R_OK;   /* one of the products named is not sold: said */
    }
    if (nref <= 1 && is_add) {
        int both = pointed_and_named(t, skus, titles, AGENT_MAX_REFS);
        if (both >= 2)
            nref = both;   /* done as a list named is: asked when unsure */
    }
    if (is_remove && nref > 0) {
        int before = nref;
        nref = leave_kept(t, text, skus, titles, nref);
        if (nref == 1 && before > 1) {
            agent_target one = {.found = AGENT_ONE, .where = AGENT_AT_CART, .sku = skus[0], .title = titles[0]};
            return change(t, o, "cart.remove", &one, 0);
        }
    }
    if (nref == 0 && is_remove && eng__agent_has_word(text, (const char *const[]){"both", "the two", "the pair of them", NULL})) {
        /* "remove both", "take the two of them out": with two lines in
         * the cart, those two, asked */
        json_object *items = eng__json_path(t->ctx, "cart.items");
        if (json_object_is_type(items, json_type_array) && json_object_array_length(items) == 2) {
            for (size_t i = 0; i < 2; i++) {
                json_object *line = json_object_array_get_idx(items, i);
                skus[i] = eng__json_str(line, "sku", "");
                titles[i] = eng__json_str(line, "title", skus[i]);
            }
            nref = 2;
            eng__set_var(t, "continued", json_object_new_boolean(1));   /* asked */
            eng__turn_note(t, "both lines of the cart: asked");
        }
    }
    if (nref == 0 && is_add) {
        nref = all_shown(t, text, skus, titles, AGENT_MAX_REFS);
        if (nref != 0)
            eng__set_var(t, "continued", json_object_new_boolean(1));   /* several at once: asked */
        if (nref >= 2)
            eng__turn_note(t, "every product shown (%d): asked", nref);
        else if (nref < 0)
            eng__turn_note(t, "\"all\" with a count that is not the list's: asked");
        if (nref < 0)
            nref = 0;
        if (nref == 1) {
            /* "both but the dell", "the rest" with one left: that one, asked */
            agent_target one = {.found = AGENT_ONE, .where = AGENT_AT_SHOWN, .sku = skus[0], .title = titles[0]};
            return change(t, o, "cart.add", &one, quantity(t, 1));
        }
    }
    if (nref >= 2)
        return several(t, o, is_add ? "cart.add" : "cart.remove", skus, titles, (size_t)nref,
                       !is_add                                                            ? 0
                       : json_object_get_boolean(eng__json_path(t->ctx, "vars.listCounted")) ? 1
                                                                                          : quantity(t, 1));
    if ((is_add || is_remove || strcmp(intent, "view_cart") == 0) &&
        (by_count(text, NULL) || (in_total(text) && said_count(t) > 0))) {
        /* "reduce it by two", "give me five in total": the line's new
         * count, asked (a yes to "add 2?" would have added two) */
        eng__agent_read_as(t, "update_quantity");
        json_object_object_add(eng__json_path(t->ctx, "intent"), "source", json_object_new_string("reread"));
        eng__turn_note(t, "a count to change the line by, or to have in all: a quantity change");
        return eng__agent_cart(c);
    }
    if ((is_add || is_remove) && eng__agent_sets_count(text)) {
        /* "drop it down to one", "bring it up to 4": the line's new
         * count, asked (a yes to "add it?" would have added one more) */
        eng__agent_read_as(t, "update_quantity");
        json_object_object_add(eng__json_path(t->ctx, "intent"), "source", json_object_new_string("reread"));
        eng__turn_note(t, "a count to go down or up to: read as a quantity change");
        return eng__agent_cart(c);
    }
    if (strcmp(intent, "add_to_cart") == 0 && puts_back(text)) {
        /* "put one back": back on the shelf, a removal, asked */
        eng__agent_read_as(t, "remove_from_cart");
        json_object_object_add(eng__json_path(t->ctx, "intent"), "source", json_object_new_string("reread"));
        eng__turn_note(t, "put back: read as a removal");
        return eng__agent_cart(c);
    }
    if (strcmp(intent, "add_to_cart") == 0 && eng__agent_asks_most(text)) {
        /* "add the max" of the product in focus (or the one shown): the
         * most the stock and the rules allow, asked; "max" names no
         * product here */
        const char *sku = eng__json_str(t->ctx, "session.focus", NULL);
        json_object *shown = eng__json_path(t->ctx, "session.shown");
        if (!sku && json_object_is_type(shown, json_type_array) && json_object_array_length(shown) == 1)
            sku = eng__json_str(json_object_array_get_idx(shown, 0), "sku", NULL);
        store_product p = {0};
        if (!sku || eng__product_get(t, sku, &p, NULL) < 0) {
            store_product_clear(&p);
            eng__set_var(t, "needProduct", json_object_new_boolean(1));
            eng__turn_note(t, "the most of what? no product in focus");
            return ENG_R_OK;
        }
        agent_target most = {.found = AGENT_ONE, .where = AGENT_AT_FOCUS};
        most.sku = eng__pool_strdup(t->pool, p.sku);
        most.title = eng__pool_strdup(t->pool, p.title);
        store_product_clear(&p);
        int64_t n = most_addable(t, most.sku);
        if (n < 1)
            return propose(t, "cart.add", most.sku, 1);   /* refused, with the reason */
        eng__set_var(t, "mostAllowed", json_object_new_int64(n));
        eng__set_var(t, "unsure", json_object_new_boolean(1));
        eng__agent_ask(t, "cart.add", most.sku, most.title, n);
        eng__turn_note(t, "the most allowed: %lld, asked", (long long)n);
        return ENG_R_OK;
    }
    if (strcmp(intent, "add_to_cart") == 0) {
        eng__agent_target(t, false, &tg);
        if (repeats_question(t, "cart.add", &tg)) {
            json_object_put(tg.candidates);
            return eng__agent_cart_apply(t, eng__json_path(t->ctx, "session.pending"));
        }
        if (tg.found != AGENT_ONE)
            return unclear(t, &tg, false);
        if (it_and(text)) {
            eng_result r;
            if (it_and_named(t, o, &tg, &r))
                return r;
        }
        if (instead_of_line(t, text, &tg)) {
            json_object_put(tg.candidates);
            return ENG_R_OK;
        }
        if (already_added(t, text, &tg)) {
            json_object_put(tg.candidates);
            /* "buy it" right after it was added: the checkout, which asks */
            if (eng__agent_has_word(text, (const char *const[]){"buy", "purchase", "pay for", "order it", NULL})) {
                json_object_object_del(eng__json_path(t->ctx, "vars"), "alreadyAdded");
                eng__agent_read_as(t, "checkout");
                eng__turn_note(t, "buying what was just added: the checkout");
                return eng__agent_order(c);
            }
            return ENG_R_OK;
        }
        int64_t q = quantity(t, 1);
        /* "add a few", "several please": a count not said; asked */
        static const char *const vague[] = {"a few", "several", "a bunch", "a handful", "some more", "a couple more",
                                            NULL};
        if (said_count(t) < 0 && eng__agent_has_word(text, vague) &&
            !eng__agent_has_word(text, (const char *const[]){"a couple more", NULL})) {
            eng__set_var(t, "badQuantity", json_object_new_boolean(1));
            eng__turn_note(t, "a vague count: how many, asked");
            return ENG_R_OK;
        }
        /* "add 2 lbs of chicken": a weight, and the shop sells by the
         * item; how many is asked, never one nor two guessed */
        if (by_weight(text)) {
            eng__set_var(t, "byWeight", json_object_new_string(tg.title));
            eng__set_var(t, "badQuantity", json_object_new_boolean(1));
            eng__turn_note(t, "a weight said of %s, sold by the item: how many, asked", tg.sku);
            return ENG_R_OK;
        }
        /* "make the chanel 2 as well" of a product not in the cart yet:
         * that count (the entities stage reads "chanel 2" as a model) */
        static const char *const sets[] = {"make ", "set ", "and make ", "can you make ", NULL};
        const char *from = eng__agent_past_courtesy(text);
        for (size_t i = 0; sets[i] && said_count(t) < 0; i++)
            if (strncasecmp(from, sets[i], strlen(sets[i])) == 0) {
                int64_t n = set_count(text, tg.title);
                if (n > 0)
                    q = n;
                break;
            }
        /* "put them both in" right after "2 of the first would come to
         * $2,799.98": the count quoted, not one */
        json_object *quoted = eng__agent_last_quote(t);
        if (quoted && said_count(t) < 0 && !eng__slot(t, "quantity") &&
            strcmp(eng__json_str(quoted, "sku", ""), tg.sku) == 0 &&
            eng__agent_has_word(text, (const char *const[]){"them", "both", "those", "these", "all", NULL})) {
            q = json_object_get_int64(eng__json_path(quoted, "qty"));
            eng__turn_note(t, "the %lld just priced", (long long)q);
        }
        if (q < 1 || q > 1000000) {
            if (q > 1000000 && q != COUNT_IMPOSSIBLE)
                eng__set_var(t, "countTooMany", json_object_new_boolean(1));
            eng__set_var(t, "badQuantity", json_object_new_boolean(1));
            return ENG_R_OK;
        }
        /* "i'll take 2 of the pan" with a pan in the cart already: two in
         * all or two more is not sure; the line's new count, asked */
        int64_t held = eng__cart_line_qty(t, tg.sku);
        if (held > 0 && said_count(t) > 1 && q > held &&
            !eng__agent_has_word(text, (const char *const[]){"add", "more", "another", "extra", "additional",
                                                             "plus", "also", "too", "as well", "again", NULL}) &&
            eng__agent_has_word(text, (const char *const[]){"take", "want", "need", "get", "have", "buy", "i'll",
                                                             "ill", "i'd like", "gimme", "give me", NULL})) {
            eng__agent_read_as(t, "update_quantity");
            eng__set_var(t, "continued", json_object_new_boolean(1));
            eng__turn_note(t, "a count of a line the cart holds, said without more: the line to %lld, asked",
                           (long long)q);
            return change(t, o, "cart.set", &tg, q);
        }
        return change(t, o, "cart.add", &tg, q);
    }
    /* "remove the discount", "take off the save10": the code on the cart */
    const char *held_code = eng__json_str(t->ctx, "session.promoCode", NULL);
    bool names_held = held_code && *held_code &&
                      (strcasestr(text, held_code) ||
                       eng__agent_has_word(text, (const char *const[]){"discount", "discounts", NULL}));
    if ((strcmp(intent, "remove_from_cart") == 0 || (strcmp(intent, "apply_promo") == 0 && takes_off(text))) &&
        (eng__agent_names_code(text) || names_held)) {
        /* "remove the code", "drop my coupon": the promotion code, not a
         * product; the commerce core takes it off and prices again */
        const char *have = eng__json_str(t->ctx, "session.promoCode", NULL);
        eng__agent_read_as(t, "apply_promo");
        if (!have || !*have) {
            eng__set_var(t, "noCode", json_object_new_boolean(1));
            eng__turn_note(t, "no code on the cart to remove");
            return ENG_R_OK;
        }
        /* "remove the save10 code" names the code to take off: when
         * another is applied, the core says that one is not */
        char named[64];
        const char *which = promo_code(text, named, sizeof named) && strcasecmp(named, have) != 0 ? named : have;
        return promo_action(t, "promo.remove", which, "promoRemoved");
    }
    if (strcmp(intent, "remove_from_cart") == 0) {
        eng__agent_target(t, true, &tg);
        other_than_kept(t, text, &tg);
        if (repeats_question(t, "cart.remove", &tg)) {
            json_object_put(tg.candidates);
            return eng__agent_cart_apply(t, eng__json_path(t->ctx, "session.pending"));
        }
        if (tg.name[0] && (tg.found == AGENT_NO_MATCH || (tg.found == AGENT_MANY && tg.where != AGENT_AT_CART))) {
            /* "remove the phone" with no phone in the cart */
            json_object_put(tg.candidates);
            json_object *v = json_object_new_object();
            ENG_JADD(v, "named", json_object_new_string(tg.name));
            eng__set_var(t, "notInCart", v);
            eng__turn_note(t, "nothing in the cart is called \"%s\"", tg.name);
            return ENG_R_OK;
        }
        if (tg.found != AGENT_ONE)
            return unclear(t, &tg, true);
        if (!cart_line(t, tg.sku) && negated(text) && wanting) {
            /* "i don't want the first one" of a list: nothing to take out */
            eng__set_var(t, "notChangedTitle", json_object_new_string(tg.title));
            eng__set_var(t, "notChanged", json_object_new_boolean(1));
            eng__turn_note(t, "not wanted, and not in the cart: nothing changed");
            return ENG_R_OK;
        }
        if (!cart_line(t, tg.sku))
            return not_in_cart(t, &tg, 0, false);
        /* "take one out" of a line of three leaves two: a count below the
         * line's quantity takes that many away, not the whole line */
        int64_t q = quantity(t, 0), cur = eng__cart_line_qty(t, tg.sku);
        if (q <= 0 && one_taken(text))
            q = 1;   /* "take out a lemon", "remove a kiwi" */
        if (q > 0 && q < cur)
            return change(t, o, "cart.set", &tg, cur - q);
        return change(t, o, "cart.remove", &tg, 0);
    }
    if (strcmp(intent, "update_quantity") == 0) {
        /* "make the kiwis 5 and the lipstick 1": each line to its count,
         * one question */
        const char *us[AGENT_MAX_REFS], *ut[AGENT_MAX_REFS];
        int64_t to[AGENT_MAX_REFS];
        int nu = named_several(t, true, us, ut, AGENT_MAX_REFS);
        bool each = nu >= 2 && (removal_counts(t, to, (size_t)nu) || part_numbers(text, to, (size_t)nu));
        for (int i = 0; each && i < nu; i++)
            each = to[i] >= 0 && eng__cart_line_qty(t, us[i]) > 0;
        if (nu >= 2 && !each) {
            /* several lines named, the counts not clear for each: which */
            eng__set_var(t, "whichInCart", json_object_new_boolean(1));
            eng__set_var(t, "whichOne", json_object_new_boolean(1));
            eng__turn_note(t, "several lines named, counts unclear: asked which");
            return ENG_R_OK;
        }
        if (each) {
            char names[480];
            size_t w = 0;
            for (int i = 0; i < nu; i++) {
                int k = snprintf(names + w, sizeof names - w, "%sthe %s to %lld", i ? ", " : "", ut[i], (long long)to[i]);
                if (k < 0 || (size_t)k >= sizeof names - w)
                    break;
                w += (size_t)k;
            }
            eng__turn_note(t, "several lines, each with its count: asked");
            return ask_each(t, "cart.set", us, to, (size_t)nu, names, true);
        }
        eng__agent_target(t, true, &tg);
        int64_t q = quantity(t, -1);
        if (q < 0 && tg.found == AGENT_ONE)
            q = set_count(text, tg.title);   /* "make the chanel 2 as well" */
        if (tg.found == AGENT_MANY && tg.where != AGENT_AT_CART && tg.name[0])
            eng__set_var(t, "missingInCart", json_object_new_string(tg.name));
        if (tg.found != AGENT_ONE)
            return unclear(t, &tg, true);
        if (q < 0 && tg.where == AGENT_AT_SHOWN && !cart_line(t, tg.sku)) {
            /* "actually make it the third instead" after an add that was
             * refused: a product chosen, not a count; an add, asked */
            eng__agent_read_as(t, "add_to_cart");
            eng__set_var(t, "continued", json_object_new_boolean(1));
            eng__turn_note(t, "a product shown and not in the cart, no count: an add, asked");
            return change(t, o, "cart.add", &tg, 1);
        }
        int dir = 0;
        int64_t by = by_count(text, &dir);
        if (by > 0 && cart_line(t, tg.sku)) {
            /* "reduce it by two", "up it by 3": from the line's count */
            int64_t cur = eng__cart_line_qty(t, tg.sku);
            q = dir < 0 ? (cur - by > 0 ? cur - by : 0) : cur + by;
        }
        if (q < 0)
            q = trailing_count(text, tg.title);   /* "make the eggs 6" */
        int times = q < 0 ? multiplier(text) : 0;
        if (times && cart_line(t, tg.sku))
            q = times > 0 ? eng__cart_line_qty(t, tg.sku) * times
                          : (eng__cart_line_qty(t, tg.sku) + 1) / 2;   /* "halve it": never below one */
        if (q < 0 || q > 1000000) {
            if (q > 1000000 && q != COUNT_IMPOSSIBLE)
                eng__set_var(t, "countTooMany", json_object_new_boolean(1));
            eng__set_var(t, "badQuantity", json_object_new_boolean(1));
            return ENG_R_OK;
        }
        /* "take one of them out", "one less": a count taken away, not
         * the count to keep */
        static const char *const taking[] = {"out", "less", "fewer", "minus", "remove", "knock", "off", NULL};
        /* "one less kiwi" with no kiwi in the cart: nothing to take
         * away, and nothing to offer to add */
        if (!cart_line(t, tg.sku))
            return q == 0 || dir < 0 || eng__agent_has_word(text, taking) ? not_in_cart(t, &tg, 0, false)
                                                                          : not_in_cart(t, &tg, q, true);
        int64_t cur = eng__cart_line_qty(t, tg.sku);
        /* "knock it down to 2": where the line goes, not how many off */
        if (q > 0 && eng__agent_has_word(text, taking) && !eng__agent_sets_count(text))
            return q < cur ? change(t, o, "cart.set", &tg, cur - q) : change(t, o, "cart.remove", &tg, 0);
        return change(t, o, q == 0 ? "cart.remove" : "cart.set", &tg, q);
    }
    if (strcmp(intent, "empty_cart") == 0) {
        /* emptying takes a word that clears: "cart" or "the basket"
         * alone asks to see it, however the model read it */
        static const char *const clearing[] = {"empty", "clear", "wipe", "everything", "all", "whole", "reset",
                                               "over", "scrap", "nothing", "cancel", "emptied", "fresh", "nuke",
                                               "dump", "bin", "ditch", "trash", "remove", "delete", "rid", NULL};
        if (!eng__agent_has_word(text, clearing)) {
            eng__agent_read_as(t, "view_cart");
            eng__turn_note(t, "no word that clears: the cart shown");
            return ENG_R_OK;
        }
        if (json_object_get_int64(eng__json_path(t->ctx, "cart.count")) == 0) {
            eng__set_var(t, "cartEmpty", json_object_new_boolean(1));
            return ENG_R_OK;
        }
        const char *kept = except_words(text);
        if (kept)
            return all_but(t, o, kept);
        /* "clear my cart of lemons", "empty the pan out": those lines, not
         * the whole cart; asked */
        char words[160];
        eng__agent_name_words(t, words, sizeof words);
        json_object *items = eng__json_path(t->ctx, "cart.items");
        const char *ls[AGENT_MAX_REFS], *lt[AGENT_MAX_REFS];
        int nl = 0, all = items ? (int)json_object_array_length(items) : 0;
        for (int i = 0; words[0] && i < all && nl < AGENT_MAX_REFS; i++) {
            json_object *l = json_object_array_get_idx(items, (size_t)i);
            if (eng__agent_name_score(words, l) > 0)
                ls[nl] = eng__json_str(l, "sku", ""), lt[nl++] = eng__json_str(l, "title", "");
        }
        if (nl > 0 && nl < all) {
            eng__agent_read_as(t, "remove_from_cart");
            eng__set_var(t, "continued", json_object_new_boolean(1));
            eng__turn_note(t, "clearing named lines of the cart: a removal of %d, asked", nl);
            if (nl == 1) {
                agent_target one = {.found = AGENT_ONE, .where = AGENT_AT_CART, .sku = ls[0], .title = lt[0]};
                return change(t, o, "cart.remove", &one, 0);
            }
            return several(t, o, "cart.remove", ls, lt, (size_t)nl, 0);
        }
        return change(t, o, "cart.clear", NULL, 0);
    }
    if (strcmp(intent, "apply_promo") == 0) {
        char code[64];
        if (!promo_code(text, code, sizeof code) && !eng__agent_another_code(text, code, sizeof code)) {
            /* "are there any discount codes?" asks which codes there are:
             * the shop's knowledge says, when it does */
            if (asks_which(text) && eng__agent_knowledge(t, "apply_promo", false)) {
                json_object_object_add(eng__json_path(t->ctx, "intent"), "name",
                                       json_object_new_string("shop_question"));
                return ENG_R_OK;
            }
            eng__set_var(t, "needCode", json_object_new_boolean(1));
            return ENG_R_OK;
        }
        /* the commerce core applies it (and keeps the codes already
         * valid when this one is not); one code at a time, so a code
         * already applied is named as the one it replaces */
        const char *before = eng__json_str(t->ctx, "session.promoCode", NULL);
        if (before && *before && strcasecmp(before, code) != 0) {
            eng__set_var(t, "promoBefore", json_object_new_string(before));
            /* "apply welcome5 too" with save10 on: one code an order; the
             * reply compares the totals, so a code that saves less is
             * said, with the way back */
            eng__set_var(t, "totalBefore", json_object_new_double(json_object_get_double(eng__json_path(t->ctx, "cart.total"))));
        }
        /* "use welcome5 and save10": one code an order, the second said
         * as not applied rather than dropped without a word */
        char other[64];
        if (eng__agent_code_word(text, code, other, sizeof other))
            eng__set_var(t, "promoIgnored", json_object_new_string(other));
        /* a code said while the order's question waits: still asked if
         * the code is refused (the action stage drops the question when
         * the code changes the total) */
        if (strcmp(eng__json_str(eng__json_path(t->ctx, "session.pending"), "type", ""), "order.create") == 0)
            eng__agent_keep_pending(t);
        return promo_action(t, "promo.apply", code, "promoCode");
    }
    eng_result priced;
    if (strcmp(intent, "view_cart") == 0 && eng__agent_shown_question(c, &priced))
        return priced;   /* "how much are they" of a list just shown: not the cart */
    static const char *const mine[] = {"cart", "basket", "bag", "trolley", "total", "my", "i", "owe", NULL};
    if (strcmp(intent, "view_cart") == 0 && json_object_get_double(eng__json_path(t->ctx, "intent.confidence")) < 0.5 &&
        !eng__agent_has_word(text, mine) && eng__agent_product_question(text)) {
        /* "how much ram does the dell have" of a laptop shown: its
         * listing, not the cart */
        eng__agent_target(t, false, &tg);
        json_object_put(tg.candidates);
        if (tg.found == AGENT_ONE && (tg.where == AGENT_AT_SHOWN || tg.where == AGENT_AT_FOCUS)) {
            eng__agent_read_as(t, "shop_question");
            eng__turn_note(t, "a question about a product shown, read weakly as the cart: its listing");
            return eng__agent_support(c);
        }
    }
    /* "how much storage", "how many megapixels" with a product in
     * focus: a fact of its listing, not the cart's total (which holds
     * nothing of the kind) */
    if (strcmp(intent, "view_cart") == 0 && eng__json_str(t->ctx, "session.focus", NULL) &&
        !eng__agent_has_word(text, mine) && asks_amount_of_thing(text)) {
        eng__agent_read_as(t, "product_details");
        eng__set_var(t, "useFocus", json_object_new_boolean(1));
        eng__turn_note(t, "how much of a thing, with a product in focus: its listing");
        return eng__agent_product(c);
    }
    /* "how much is shipping for that": a delivery question that only
     * sounded like the cart's total; "my total with delivery" stays one */
    static const char *const shipping[] = {"shipping", "delivery", "postage", "ship", "deliver", NULL};
    static const char *const cart_words[] = {"cart", "basket", "bag", "trolley", "total", "altogether", "all together",
                                             "owe", NULL};
    if (strcmp(intent, "view_cart") == 0 && eng__agent_has_word(text, shipping) &&
        !eng__agent_has_word(text, cart_words) && !eng__agent_picks_delivery(t)) {
        eng__agent_read_as(t, "shop_question");
        eng__turn_note(t, "a delivery question, not the cart: for the support agent");
        return eng__agent_support(c);
    }
    if (strcmp(intent, "view_cart") == 0 && (eng__agent_has_word(text, shipping) || eng__delivery_named(t, text)) &&
        json_object_get_int64(eng__json_path(t->ctx, "cart.count")) > 0) {
        /* "what's the total with delivery", "and with express?": the
         * total with that option's price as the checkout will charge it */
        json_object *qte = eng__checkout_quote(t, eng__delivery_named(t, text));
        json_object *d = eng__json_path(qte, "delivery");
        if (d) {
            json_object *w = json_object_new_object();
            ENG_JADD(w, "name", json_object_get(eng__json_path(d, "name")));
            ENG_JADD(w, "price", json_object_get(eng__json_path(d, "price")));
            ENG_JADD(w, "total", json_object_get(eng__json_path(qte, "total")));
            eng__set_var(t, "withDelivery", w);
        }
        json_object_put(qte);
    }
    /* view_cart and anything else: the cart as it is; a question of ours
     * still waiting is asked again after it (it changes nothing) */
    if (strcmp(intent, "view_cart") == 0)
        eng__agent_keep_pending(t);
    eng__turn_note(t, "cart shown");
    return ENG_R_OK;
}

