/* engine/address.c — a delivery address read from what a shopper types in
 * the chat ("Sam Lee, 4 Bay Road, Leeds LS1 4AP, UK", or one part per
 * message: "the city is Leeds").  It only proposes: the order agent shows
 * what was understood, the shopper corrects or agrees, and the address is
 * saved through eng_shop_address_set like the checkout page's.  Never
 * reads card numbers: a run of 12 or more digits is not a postal code. */
#define _GNU_SOURCE /* strcasestr */
#include "checkout_int.h"
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef struct country {
    const char *code;
    const char *names;   /* '|'-separated, lower case */
} country;

static const country countries[] = {
    {"US", "us|usa|u.s.|u.s.a.|united states|united states of america|america"},
    {"GB", "gb|uk|u.k.|united kingdom|great britain|england|scotland|wales|britain"},
    {"CA", "canada"},
    {"DE", "de|germany|deutschland"},
    {"FR", "fr|france"},
    {"NL", "nl|netherlands|the netherlands|holland"},
    {"BE", "belgium"},
    {"ES", "es|spain"},
    {"IT", "italy"},
    {"IE", "ie|ireland"},
    {"AT", "austria"},
    {"CH", "ch|switzerland"},
    {"SE", "se|sweden"},
    {"DK", "dk|denmark"},
    {"NO", "norway"},
    {"PL", "pl|poland"},
    {"PT", "pt|portugal"},
    {"AU", "au|australia"},
    {"NZ", "nz|new zealand"},
    {"JP", "jp|japan"},
    {NULL, NULL},
};

static const char *const street_words[] = {
    "street", "st", "st.", "road", "rd", "rd.", "avenue", "ave", "ave.", "lane", "ln", "drive", "dr", "dr.",
    "way", "boulevard", "blvd", "court", "ct", "place", "pl", "square", "sq", "terrace", "close", "crescent",
    "highway", "hwy", "parkway", "alley", "row", "strasse", "straße", "str.", "weg", "gasse", "platz", "rue",
    "via", "calle", "laan", "straat", "gracht", "apt", "suite", "rua", "avenida", "av.", "travessa", "largo",
    "praça", "praca", "estrada", "alameda", "viale", "piazza", "corso", "plaza", "paseo", "carrer", "ulica",
    "ul.", NULL};

/* the part's words, lower case, compared one by one */
static bool has_word(const char *s, const char *const *words)
{
    char w[48];
    while (*s) {
        while (*s && (isspace((unsigned char)*s) || *s == ','))
            s++;
        size_t n = 0;
        while (*s && !isspace((unsigned char)*s) && *s != ',' && n < sizeof w - 1)
            w[n++] = (char)tolower((unsigned char)*s++);
        while (*s && !isspace((unsigned char)*s) && *s != ',')
            s++;
        w[n] = 0;
        for (size_t i = 0; n && words[i]; i++)
            if (strcmp(w, words[i]) == 0)
                return true;
    }
    return false;
}

/* the country code a whole part names, or NULL */
static const char *country_of(const char *s)
{
    char low[64];
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof low)
        return NULL;
    for (size_t i = 0; i <= n; i++)
        low[i] = (char)tolower((unsigned char)s[i]);
    for (const country *c = countries; c->code; c++) {
        const char *p = c->names;
        while (*p) {
            const char *e = strchr(p, '|');
            size_t len = e ? (size_t)(e - p) : strlen(p);
            if (len == n && memcmp(p, low, n) == 0)
                return c->code;
            p += len + (e ? 1 : 0);
        }
    }
    return NULL;
}

static size_t digits_in(const char *s)
{
    size_t d = 0;
    for (; *s; s++)
        d += isdigit((unsigned char)*s) != 0;
    return d;
}

/* A postal code inside `s` (US 12345 or 12345-6789, UK "LS1 4AP",
 * Canada "K1A 0B1", 4-6 digits elsewhere): its span, else false. */
static bool find_postal(const char *s, size_t *at, size_t *len)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++) {
        if (i && isalnum((unsigned char)s[i - 1]))
            continue;
        /* digits: 4 to 6, or 5-4 */
        size_t k = i;
        while (k < n && isdigit((unsigned char)s[k]))
            k++;
        size_t nd = k - i;
        /* "1100-048" (Portugal), "00-950" (Poland), "100-0001" (Japan) */
        size_t m = k + 1, md = 0;
        while (m < n && isdigit((unsigned char)s[m]))
            m++, md++;
        if (k < n && s[k] == '-' && (m == n || !isalnum((unsigned char)s[m])) &&
            ((nd == 4 && md == 3) || (nd == 2 && md == 3) || (nd == 3 && md == 4))) {
            *at = i;
            *len = m - i;
            return true;
        }
        if (nd >= 4 && nd <= 6 && (k == n || !isalnum((unsigned char)s[k]))) {
            if (nd == 5 && k + 5 <= n && s[k] == '-' && isdigit((unsigned char)s[k + 1]) &&
                isdigit((unsigned char)s[k + 4]) && (k + 5 == n || !isalnum((unsigned char)s[k + 5])))
                k += 5;
            *at = i;
            *len = k - i;
            return true;
        }
        /* letters and digits: an outward code with a digit, a space, an
         * inward code of digit + two letters (UK) or letter digit (CA) */
        k = i;
        size_t letters = 0, digs = 0;
        while (k < n && isalnum((unsigned char)s[k]) && k - i < 4) {
            letters += isalpha((unsigned char)s[k]) != 0;
            digs += isdigit((unsigned char)s[k]) != 0;
            k++;
        }
        if (k - i >= 2 && letters && digs && isalpha((unsigned char)s[i]) && k + 4 <= n && s[k] == ' ' &&
            isalnum((unsigned char)s[k + 1]) && isalnum((unsigned char)s[k + 2]) && isalnum((unsigned char)s[k + 3]) &&
            (k + 4 == n || !isalnum((unsigned char)s[k + 4])) &&
            (isdigit((unsigned char)s[k + 1]) || isdigit((unsigned char)s[k + 2]))) {
            *at = i;
            *len = k + 4 - i;
            return true;
        }
    }
    return false;
}

static void trim(char *s)
{
    size_t n = strlen(s), b = 0;
    while (b < n && (isspace((unsigned char)s[b]) || s[b] == ',' || s[b] == '.' || s[b] == ':'))
        b++;
    while (n > b && (isspace((unsigned char)s[n - 1]) || s[n - 1] == ',' || s[n - 1] == '.' || s[n - 1] == '!'))
        n--;
    memmove(s, s + b, n - b);
    s[n - b] = 0;
}

/* case-insensitive prefix: the rest of s after it, or NULL */
static const char *after(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncasecmp(s, prefix, n) == 0 ? s + n : NULL;
}

static void put(json_object *o, const char *k, const char *v)
{
    char b[128];
    snprintf(b, sizeof b, "%s", v);
    trim(b);
    if (*b)
        json_object_object_add(o, k, json_object_new_string(b));
}

/* labels a shopper may put before a part ("city: Leeds", "the zip is ...") */
typedef struct label {
    const char *word;
    const char *field;
} label;

static const label labels[] = {
    {"my name is", "name"}, {"name is", "name"}, {"name", "name"}, {"recipient", "name"},
    /* "the house number is 15": the number of the street already given
     * (eng__address_apply_number) */
    {"house number", "houseNumber"}, {"street number", "houseNumber"}, {"building number", "houseNumber"},
    {"house no", "houseNumber"}, {"street is", "line1"}, {"street", "line1"}, {"address line 1", "line1"}, {"line 1", "line1"},
    {"line1", "line1"}, {"address line 2", "line2"}, {"line 2", "line2"}, {"line2", "line2"},
    {"city is", "city"}, {"city", "city"}, {"town is", "city"}, {"town", "city"},
    {"state is", "region"}, {"state", "region"}, {"region", "region"}, {"county", "region"},
    {"postal code is", "postalCode"}, {"postal code", "postalCode"}, {"postcode is", "postalCode"},
    {"postcode", "postalCode"}, {"post code", "postalCode"}, {"zip code is", "postalCode"},
    {"zip code", "postalCode"}, {"zip is", "postalCode"}, {"zip", "postalCode"},
    {"country is", "country"}, {"country", "country"},
    {"phone number is", "phone"}, {"phone is", "phone"}, {"phone", "phone"},
    {NULL, NULL},
};

/* The words of a correction at the start of a part, taken off in
 * place, as often as they follow each other: "thats wrong", "no",
 * "it's", "should be", "i meant" ("wrong street" and "wrong" too, the
 * rest being the right one). */
static void strip_correction(char *part)
{
    static const char *const leads[] = {"thats wrong", "that's wrong", "that is wrong", "thats not right",
                                        "that's not right", "that is not right", "not right", "thats incorrect",
                                        "that's incorrect", "wrong street", "wrong address", "wrong zip",
                                        "wrong city", "wrong number", "wrong", "incorrect", "no", "nope", "nah",
                                        "sorry", "oops", "actually", "i meant", "i mean", "it should be",
                                        "should be", "it's", "its", "it is", "make it", "change it to", NULL};
    for (bool again = true; again;) {
        again = false;
        for (size_t i = 0; leads[i]; i++) {
            const char *r = after(part, leads[i]);
            if (!r || isalnum((unsigned char)*r) || *r == '\'')
                continue;
            memmove(part, r, strlen(r) + 1);
            trim(part);
            again = true;
            break;
        }
    }
}

/* "the city is Leeds", "zip: 97201": the field and where its value starts */
static const char *labelled(const char *part, const char **value)
{
    const char *s = part;
    const char *r;
    /* "actually the zip is 78704", "sorry, the street is ..." */
    static const char *const lead[] = {"actually ", "sorry ", "oops ", "oh ", "wait ", "no ", "and ", NULL};
    for (size_t i = 0; lead[i]; i++)
        if ((r = after(s, lead[i])) != NULL) {
            s = r;
            break;
        }
    if ((r = after(s, "the ")) != NULL)
        s = r;
    else if ((r = after(s, "and the ")) != NULL)
        s = r;
    else if ((r = after(s, "my ")) != NULL && strncasecmp(part, "my name", 7) != 0)
        s = r;
    for (const label *l = labels; l->word; l++) {
        const char *v = after(s, l->word);
        if (!v || isalnum((unsigned char)*v))
            continue;
        while (*v == ' ' || *v == ':' || *v == '=' || *v == '-')
            v++;
        if ((r = after(v, "is ")) != NULL)
            v = r;
        if ((r = after(v, "should be ")) != NULL)
            v = r;
        if (*v) {
            *value = v;
            return l->field;
        }
    }
    return NULL;
}

static void set_country(json_object *o, const char *v)
{
    char b[64];
    snprintf(b, sizeof b, "%s", v);
    trim(b);
    const char *c = country_of(b);
    if (c)
        ENG_JADD(o, "country", json_object_new_string(c));
    else if (strlen(b) == 2 && isalpha((unsigned char)b[0]) && isalpha((unsigned char)b[1]))
        put(o, "country", b);
}

/* A part with a postal code: the code, and around it a city and maybe a
 * region ("Portland, OR 97201", "97201 Portland", "Leeds LS1 4AP"). */
static void postal_part(json_object *o, const char *part, size_t at, size_t len, bool have_city)
{
    char code[32], before[128], rest[128];
    snprintf(code, sizeof code, "%.*s", (int)len, part + at);
    for (char *c = code; *c; c++)
        *c = (char)toupper((unsigned char)*c);
    put(o, "postalCode", code);
    snprintf(before, sizeof before, "%.*s", (int)at, part);
    snprintf(rest, sizeof rest, "%s", part + at + len);
    trim(before);
    trim(rest);
    /* a two-letter region in front of a US ZIP: "OR 97201" */
    if (strlen(before) == 2 && isupper((unsigned char)before[0]) && isupper((unsigned char)before[1])) {
        put(o, "region", before);
        before[0] = 0;
    } else {
        char *sp = strrchr(before, ' ');
        if (sp && strlen(sp + 1) == 2 && isupper((unsigned char)sp[1]) && isupper((unsigned char)sp[2]) &&
            !country_of(sp + 1)) {
            put(o, "region", sp + 1);
            *sp = 0;
        }
    }
    if (*rest && country_of(rest)) {
        set_country(o, rest);
        rest[0] = 0;
    }
    const char *city = *before ? before : rest;
    if (*city && !have_city && digits_in(city) == 0)
        put(o, "city", city);
}

/* a card number somewhere in `s`: 12 or more digits in a run that only
 * spaces and dashes break ("4242 4242 4242 4242") */
static bool card_like(const char *s)
{
    size_t run = 0;
    for (; *s; s++) {
        if (isdigit((unsigned char)*s)) {
            if (++run >= 12)
                return true;
        } else if (!((*s == ' ' || *s == '-') && run && isdigit((unsigned char)s[1]))) {
            run = 0;
        }
    }
    return false;
}

/* "Gartenstrasse 12", "Kalverstraat 5a": words, then a house number */
static bool number_last(const char *s)
{
    const char *sp = strrchr(s, ' ');
    if (!sp || sp == s || !isalpha((unsigned char)s[0]))
        return false;
    const char *n = sp + 1;
    size_t d = 0;
    while (isdigit((unsigned char)n[d]))
        d++;
    return d >= 1 && d <= 4 && (n[d] == 0 || (isalpha((unsigned char)n[d]) && n[d + 1] == 0)) && digits_in(s) == d;
}

/* A recipient's name: one to six words of letters (and - ' .), none of
 * them a word of chat ("standard is fine", "yes that's right" answer
 * something else). */
static bool name_like(const char *s)
{
    static const char *const chat[] = {
        "is", "are", "am", "was", "be", "fine", "ok", "okay", "yes", "yeah", "yep", "no", "nope", "thanks",
        "thank", "please", "pls", "standard", "express", "delivery", "shipping", "the", "a", "an", "it", "its",
        "it's", "that", "thats", "that's", "this", "i", "im", "i'm", "me", "my", "you", "your", "what", "how",
        "why", "when", "where", "which", "who", "do", "does", "did", "can", "could", "would", "will", "should",
        "right", "correct", "good", "great", "sure", "and", "or", "but", "not", "don't", "dont", "want", "need",
        "cart", "order", "checkout", "pay", "card", "address", "cancel", "stop", "wait", "hi", "hello", "hey",
        "same", "as", "before", "usual", "one", "option", "cheapest", "fastest", "free", "actually", "add",
        "remove", "change", "hold", "hang", "sorry", "oops", "undo", "forget", "nevermind", "never", "mind", NULL};
    int words = 0;
    for (const char *p = s; *p;) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        char w[32];
        size_t n = 0;
        while (*p && *p != ' ') {
            unsigned char c = (unsigned char)*p;
            if (!isalpha(c) && c != '-' && c != '\'' && c != '.' && c < 0x80)
                return false;
            if (n < sizeof w - 1)
                w[n++] = (char)tolower(c);
            p++;
        }
        w[n] = 0;
        for (size_t i = 0; chat[i]; i++)
            if (strcmp(w, chat[i]) == 0)
                return false;
        words++;
    }
    return words >= 1 && words <= 6;
}

/* US states (and DC): a two-letter region before a ZIP names the country */
static bool us_state(const char *r)
{
    static const char states[] = "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO "
                                 "MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY ";
    if (!r || strlen(r) != 2)
        return false;
    for (const char *p = states; *p; p += 3)
        if (p[0] == toupper((unsigned char)r[0]) && p[1] == toupper((unsigned char)r[1]))
            return true;
    return false;
}

/* "Springfield, IL 62704" says the country: a US state and a ZIP code
 * (five digits, or ZIP+4), when no country was given */
static void infer_country(json_object *o)
{
    if (json_object_object_get(o, "country"))
        return;
    const char *region = json_object_get_string(json_object_object_get(o, "region"));
    const char *zip = json_object_get_string(json_object_object_get(o, "postalCode"));
    if (!us_state(region) || !zip)
        return;
    size_t d = 0;
    while (isdigit((unsigned char)zip[d]))
        d++;
    bool plus4 = zip[d] == '-' && strlen(zip + d + 1) == 4 && strspn(zip + d + 1, "0123456789") == 4;
    if (d == 5 && (zip[d] == 0 || plus4))
        ENG_JADD(o, "country", json_object_new_string("US"));
}

/* The street part past the request said before it: "can you ship it to
 * 8 Elm Street" is "8 Elm Street", "my new address is 40 Oak Street" is
 * "40 Oak Street"; a unit word before the number stays ("deliver to apt
 * 4" is "apt 4"). Words before the number that are no request ("Flat
 * 3 Rose House") are kept. */
static char *past_request(char *part)
{
    static const char *const request[] = {"to", "at", "is", "it", "my", "ship", "send", "deliver", "address",
                                          "instead", "new", "yes", "yeah", "but", "please", "can", "could",
                                          "you", "now", "the", "our", "office", "home", "work", "use", "go",
                                          "goes", "going", "this", "one", "actually", "ok", "okay", NULL};
    static const char *const unit[] = {"apt", "apt.", "apartment", "suite", "unit", "flat", "#", "no", "no.",
                                       NULL};
    char *w = part, *prev = NULL;
    bool asked = false;
    while (*w) {
        while (*w == ' ')
            w++;
        if (!*w || isdigit((unsigned char)*w))
            break;
        char *e = w + strcspn(w, " ");
        for (size_t i = 0; request[i] && !asked; i++)
            asked = strlen(request[i]) == (size_t)(e - w) && strncasecmp(request[i], w, (size_t)(e - w)) == 0;
        prev = w;
        w = e;
    }
    if (!asked || !*w)
        return part;
    /* "send it to PO Box 77": the box is the line */
    static const char *const boxes[] = {"p.o. box", "po box", "p o box", "p.o.box", "post office box", "pobox",
                                        NULL};
    for (size_t i = 0; boxes[i]; i++) {
        char *b = strcasestr(part, boxes[i]);
        if (b && b < w)
            return b;
    }
    if (prev) {
        size_t n = strcspn(prev, " ");
        for (size_t i = 0; unit[i]; i++)
            if (strlen(unit[i]) == n && strncasecmp(unit[i], prev, n) == 0)
                return prev;
    }
    return w;
}

json_object *eng__address_parse(const char *text, const char *wanted)
{
    json_object *o = json_object_new_object();
    /* a message with a card number in it is not read at all: nothing of
     * it is shown back or kept */
    if (!text || card_like(text))
        return o;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", text);
    /* lead-ins that are not part of the address */
    static const char *const leads[] = {"my address is", "the address is", "address is", "address:", "address",
                                        "deliver it to", "deliver to", "send it to", "ship it to", "ship to",
                                        "please deliver to", "it's", "it is", "sure,", "ok,", "okay,", NULL};
    char *s = buf;
    while (isspace((unsigned char)*s))
        s++;
    for (size_t i = 0; leads[i]; i++) {
        const char *r = after(s, leads[i]);
        if (r && !isalnum((unsigned char)*r)) {
            s = (char *)r;
            while (isspace((unsigned char)*s) || *s == ':')
                s++;
            break;
        }
    }
    /* parts: commas, semicolons, new lines */
    char *parts[12];
    size_t np = 0;
    for (char *tok = s; tok && np < 12;) {
        char *e = tok + strcspn(tok, ",;\n");
        char sep = *e;
        *e = 0;
        trim(tok);
        if (*tok)
            parts[np++] = tok;
        tok = sep ? e + 1 : NULL;
    }
    /* "thats wrong, it's 7 Pine St", "wrong street, should be 44 Oak
     * Lane": the words that say a correction are no part of the address;
     * a part made only of them is dropped */
    for (size_t i = 0; i < np;) {
        strip_correction(parts[i]);
        if (*parts[i]) {
            i++;
            continue;
        }
        memmove(&parts[i], &parts[i + 1], (np - i - 1) * sizeof *parts);
        np--;
    }
    /* "2 Lake Rd Chicago IL 60601" said without commas: the street ends
     * at its street word when a number comes before it and words after */
    for (size_t i = 0; i < np && np < 12; i++) {
        if (!isdigit((unsigned char)*past_request(parts[i])))
            continue;
        char *w = past_request(parts[i]);
        while (*w && *w != ' ')
            w++;
        for (char *e = w; *e;) {
            while (*e == ' ')
                e++;
            char *we = e + strcspn(e, " ");
            /* the words that end a street's name (not "Rua", "Via" that
             * begin one, nor "apt", "suite" that begin a unit) */
            static const char *const ends[] = {"street", "st", "st.", "road", "rd", "rd.", "avenue", "ave",
                                               "ave.", "lane", "ln", "drive", "dr", "dr.", "way", "boulevard",
                                               "blvd", "court", "ct", "place", "pl", "square", "sq", "terrace",
                                               "crescent", "highway", "hwy", "parkway", "pkwy", "alley", NULL};
            bool street_word = false;
            for (size_t k = 0; ends[k] && !street_word; k++)
                street_word = strlen(ends[k]) == (size_t)(we - e) && strncasecmp(ends[k], e, (size_t)(we - e)) == 0;
            /* "12 Main St NW", "45 Church Street Apt 3": the rest is
             * still the street */
            static const char *const still[] = {"n", "s", "e", "w", "ne", "nw", "se", "sw", "north", "south",
                                                "east", "west", "apt", "apt.", "apartment", "suite", "ste",
                                                "unit", "flat", "#", "floor", "fl", NULL};
            const char *nx = we + strspn(we, " ");
            size_t nl = strcspn(nx, " ");
            bool more_street = *nx == '#';
            for (size_t k = 0; still[k] && !more_street; k++)
                more_street = strlen(still[k]) == nl && strncasecmp(still[k], nx, nl) == 0;
            if (street_word && !more_street && *we == ' ' && we[1]) {
                *we = 0;
                memmove(&parts[i + 2], &parts[i + 1], (np - i - 1) * sizeof *parts);
                parts[i + 1] = we + 1;
                trim(parts[i + 1]);
                np++;
                break;
            }
            e = we;
        }
    }
    bool used[12] = {0};
    /* labelled parts first, and runs of 12+ digits never count */
    for (size_t i = 0; i < np; i++) {
        if (digits_in(parts[i]) >= 12) {
            used[i] = true;
            continue;
        }
        const char *v = NULL;
        const char *f = labelled(parts[i], &v);
        if (!f)
            continue;
        if (strcmp(f, "country") == 0)
            set_country(o, v);
        else if (strcmp(f, "postalCode") == 0) {
            char code[32];
            snprintf(code, sizeof code, "%s", v);
            trim(code);
            for (char *c = code; *c; c++)
                *c = (char)toupper((unsigned char)*c);
            put(o, f, code);
        } else
            put(o, f, v);
        used[i] = true;
    }
    /* the country: a part that is one (the last one, usually) */
    for (size_t i = np; i-- > 0;)
        if (!used[i] && country_of(parts[i]) && !json_object_object_get(o, "country")) {
            /* "CA" alone after a city is California, not Canada, when a
             * ZIP follows elsewhere: a two-letter part before the last
             * one is a region */
            if (strlen(parts[i]) == 2 && i + 1 < np) {
                put(o, "region", parts[i]);
            } else {
                set_country(o, parts[i]);
            }
            used[i] = true;
        }
    /* a unit ("apt 4", "suite 200", "flat 3") is the second line beside
     * a street said apart from it: "apt 4, 10 Main St" */
    static const char *const units[] = {"apt", "apt.", "apartment", "suite", "ste", "unit", "flat", "#", NULL};
    int unit = -1;
    for (size_t i = 0; i < np && unit < 0; i++)
        if (!used[i] && digits_in(parts[i]) > 0 && has_word(parts[i], units) &&
            strlen(parts[i]) <= 16)
            unit = (int)i;
    /* the street: a number and a street word, or a number then words */
    int street = -1;
    for (size_t i = 0; i < np && street < 0; i++) {
        if (used[i] || (int)i == unit)
            continue;
        size_t at, len;
        bool postal_only = find_postal(parts[i], &at, &len) && len >= strlen(parts[i]) - 1;
        if (has_word(parts[i], street_words) || number_last(parts[i]) ||
            (isdigit((unsigned char)parts[i][0]) && digits_in(parts[i]) < 6 && !postal_only &&
             strchr(parts[i], ' ') && isalpha((unsigned char)parts[i][strlen(parts[i]) - 1]) &&
             !find_postal(parts[i], &at, &len))) {
            street = (int)i;
            put(o, "line1", past_request(parts[i]));
            used[i] = true;
        }
    }
    if (unit >= 0) {
        if (street >= 0) {
            put(o, "line2", past_request(parts[unit]));
        } else {
            street = unit;
            put(o, "line1", past_request(parts[unit]));
        }
        used[unit] = true;
    }
    /* the postal code, with the city around it */
    for (size_t i = 0; i < np; i++) {
        size_t at, len;
        if (used[i] || json_object_object_get(o, "postalCode") || !find_postal(parts[i], &at, &len))
            continue;
        postal_part(o, parts[i], at, len, json_object_object_get(o, "city") != NULL);
        used[i] = true;
    }
    /* what is left: a name before the street, a city after it */
    for (size_t i = 0; i < np; i++) {
        if (used[i] || digits_in(parts[i]) > 0)
            continue;
        if (street >= 0 && (int)i < street && !json_object_object_get(o, "name")) {
            put(o, "name", parts[i]);
            used[i] = true;
        } else if ((street >= 0 || json_object_object_get(o, "postalCode")) && (int)i > street &&
                   !json_object_object_get(o, "city")) {
            put(o, "city", parts[i]);
            used[i] = true;
        } else if (street < 0 && np > 1 && i == 0 && !json_object_object_get(o, "name") && name_like(parts[i])) {
            /* "Ann Lee, 10115 Berlin"; not "actually wait, add one more" */
            put(o, "name", parts[i]);
            used[i] = true;
        }
    }
    /* one bare answer to the one thing asked: "Leeds" after "which city?" */
    if (np == 1 && !used[0] && wanted && json_object_object_length(o) == 0 && digits_in(parts[0]) < 12 &&
        strlen(parts[0]) <= 100) {
        if (strcmp(wanted, "country") == 0)
            set_country(o, parts[0]);
        else if (strcmp(wanted, "postalCode") == 0) {
            size_t at, len;
            if (find_postal(parts[0], &at, &len))
                postal_part(o, parts[0], at, len, true);
        } else if (strcmp(wanted, "name") == 0) {
            if (name_like(parts[0]))
                put(o, wanted, parts[0]);
        } else if (strcmp(wanted, "city") == 0) {
            if (digits_in(parts[0]) == 0)
                put(o, wanted, parts[0]);
        } else {
            put(o, wanted, parts[0]);
        }
    }
    infer_country(o);
    return o;
}

bool eng__address_po_box(json_object *a)
{
    static const char *const po[] = {"po box", "p.o. box", "p.o.box", "p o box", "pobox", "post office box",
                                     "p.o box", "po. box", NULL};
    static const char *const military[] = {"apo", "fpo", "dpo", NULL};
    static const char *const lines[] = {"line1", "line2", "city", NULL};
    for (size_t l = 0; lines[l]; l++) {
        const char *v = json_object_get_string(json_object_object_get(a, lines[l]));
        if (!v)
            continue;
        for (size_t i = 0; po[i]; i++)
            if (strcasestr(v, po[i]))
                return true;
        if (has_word(v, military))
            return true;
    }
    return false;
}

static const char *const required[] = {"name", "line1", "city", "postalCode", "country", NULL};

const char *eng__address_missing(json_object *a)
{
    for (size_t i = 0; required[i]; i++) {
        const char *v = json_object_get_string(json_object_object_get(a, required[i]));
        if (!v || !*v)
            return required[i];
    }
    return NULL;
}

void eng__address_apply_number(json_object *a)
{
    json_object *num = json_object_object_get(a, "houseNumber");
    if (!num)
        return;
    char n[16];
    snprintf(n, sizeof n, "%s", json_object_get_string(num));
    trim(n);
    const char *line1 = json_object_get_string(json_object_object_get(a, "line1"));
    bool plain = *n && strlen(n) <= 6 && isdigit((unsigned char)n[0]) && strspn(n, "0123456789") >= strlen(n) - 1;
    if (plain && line1 && isdigit((unsigned char)*line1)) {
        /* "15" over "5 Pine St": "15 Pine St" */
        const char *rest = line1 + strspn(line1, "0123456789");
        while (isalpha((unsigned char)*rest) && !isalpha((unsigned char)rest[1]))
            rest++;   /* "221B" */
        char b[160];
        snprintf(b, sizeof b, "%s%s", n, rest);
        json_object_object_add(a, "line1", json_object_new_string(b));
    }
    json_object_object_del(a, "houseNumber");
}
