/* engine/nlu/entities.c — finds quantities, money and price ranges, sizes,
 * colours, brands, categories, order numbers, e-mail addresses and
 * references to shown products in a shopper's message. A hand-written
 * tokenizer with byte offsets, a small sorted table of cue words and a
 * hashed phrase table: no regex engine, no allocation for usual texts. */
#include "entities.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ cue words */
enum {
    L_NONE = 0, L_A, L_VERB, L_OVER, L_CLAUSE, L_UNIT, L_AND, L_DET, L_AT, L_UNDER, L_BEST,
    L_BETWEEN, L_CUR, L_BUDGET, L_CHEAPER, L_CHEAPEST, L_NOUN, L_NOUNS, L_COUPLE, L_DOZEN, L_NUM,
    L_ORD, L_TENS, L_SYS, L_EXPENSIVE, L_FROM, L_HALF, L_MORE, L_HUNDRED, L_NUMBER, L_IT, L_LEAST,
    L_LESS, L_MAX, L_MIN, L_MOST, L_NO, L_OF, L_ONE, L_ONES, L_OR, L_ORDER, L_PCS, L_PLUS,
    L_PRICIER, L_PRICIEST, L_QTY, L_RATED, L_SIZE, L_STARTING, L_THAN, L_THIS, L_THE, L_THEM,
    L_THESE, L_THOUSAND, L_TO, L_UP, L_WITHIN,
};

typedef struct lexw {
    const char *w;
    unsigned char id;
    signed char val;
} lexw;

/* Sorted by strcmp (eng__ent_selfcheck verifies); apostrophes are dropped
 * before lookup, so "i'll" is "ill" and "men's" is "mens". */
static const lexw lex[] = {
    {"a", L_A, 0}, {"about", L_VERB, 0}, {"above", L_OVER, 0}, {"add", L_VERB, 0},
    {"also", L_CLAUSE, 0}, {"am", L_UNIT, 0}, {"an", L_A, 0}, {"and", L_AND, 0},
    {"another", L_DET, 0}, {"any", L_DET, 0}, {"at", L_AT, 0}, {"below", L_UNDER, 0},
    {"best", L_BEST, 0}, {"better", L_BEST, 0}, {"between", L_BETWEEN, 0}, {"buck", L_CUR, 1},
    {"bucks", L_CUR, 1}, {"budget", L_BUDGET, 0}, {"but", L_CLAUSE, 0}, {"buy", L_VERB, 0},
    {"cancel", L_VERB, 0}, {"cheaper", L_CHEAPER, 0}, {"cheapest", L_CHEAPEST, 0},
    {"choice", L_NOUN, 0}, {"choose", L_VERB, 0}, {"cm", L_UNIT, 0}, {"compare", L_VERB, 0},
    {"couple", L_COUPLE, 0}, {"day", L_UNIT, 0}, {"days", L_UNIT, 0}, {"delete", L_VERB, 0},
    {"does", L_VERB, 0}, {"dollar", L_CUR, 1}, {"dollars", L_CUR, 1}, {"dozen", L_DOZEN, 0},
    {"each", L_DET, 0}, {"eight", L_NUM, 8}, {"eighteen", L_NUM, 18}, {"eighth", L_ORD, 7},
    {"eighty", L_TENS, 80}, {"eleven", L_NUM, 11}, {"eu", L_SYS, 1}, {"eur", L_CUR, 2},
    {"euro", L_CUR, 2}, {"euros", L_CUR, 2}, {"every", L_DET, 0}, {"exchange", L_VERB, 0},
    {"expensive", L_EXPENSIVE, 0}, {"fifteen", L_NUM, 15}, {"fifth", L_ORD, 4},
    {"fifty", L_TENS, 50}, {"first", L_ORD, 0}, {"five", L_NUM, 5}, {"for", L_CLAUSE, 0},
    {"forty", L_TENS, 40}, {"four", L_NUM, 4}, {"fourteen", L_NUM, 14}, {"fourth", L_ORD, 3},
    {"from", L_FROM, 0}, {"ft", L_UNIT, 0}, {"g", L_UNIT, 0}, {"gb", L_UNIT, 0},
    {"gbp", L_CUR, 3}, {"get", L_VERB, 0}, {"grab", L_VERB, 0}, {"gram", L_UNIT, 0},
    {"grams", L_UNIT, 0}, {"half", L_HALF, 0}, {"has", L_VERB, 0}, {"have", L_VERB, 0},
    {"higher", L_MORE, 0}, {"highest", L_BEST, 0}, {"hour", L_UNIT, 0}, {"hours", L_UNIT, 0},
    {"hr", L_UNIT, 0}, {"hrs", L_UNIT, 0}, {"hundred", L_HUNDRED, 0}, {"hz", L_UNIT, 0},
    {"id", L_NUMBER, 0}, {"if", L_CLAUSE, 0}, {"in", L_CLAUSE, 0}, {"inch", L_UNIT, 0},
    {"inches", L_UNIT, 0}, {"instead", L_CLAUSE, 0}, {"is", L_VERB, 0}, {"it", L_IT, 0},
    {"item", L_NOUN, 0}, {"items", L_NOUNS, 0}, {"keep", L_VERB, 0}, {"kg", L_UNIT, 0},
    {"km", L_UNIT, 0}, {"last", L_ORD, -1}, {"lb", L_UNIT, 0}, {"lbs", L_UNIT, 0},
    {"least", L_LEAST, 0}, {"less", L_LESS, 0}, {"like", L_VERB, 0}, {"love", L_VERB, 0},
    {"lower", L_LESS, 0}, {"mah", L_UNIT, 0}, {"max", L_MAX, 0}, {"maximum", L_MAX, 0},
    {"mb", L_UNIT, 0}, {"min", L_MIN, 0}, {"minimum", L_MIN, 0}, {"mins", L_UNIT, 0},
    {"minute", L_UNIT, 0}, {"minutes", L_UNIT, 0}, {"ml", L_UNIT, 0}, {"mm", L_UNIT, 0},
    {"model", L_NOUN, 0}, {"month", L_UNIT, 0}, {"months", L_UNIT, 0}, {"more", L_MORE, 0},
    {"most", L_MOST, 0}, {"need", L_VERB, 0}, {"nine", L_NUM, 9}, {"nineteen", L_NUM, 19},
    {"ninety", L_TENS, 90}, {"ninth", L_ORD, 8}, {"no", L_NO, 0}, {"not", L_NO, 0},
    {"now", L_CLAUSE, 0}, {"nr", L_NUMBER, 0}, {"num", L_NUMBER, 0}, {"number", L_NUMBER, 0},
    {"of", L_OF, 0}, {"on", L_CLAUSE, 0}, {"one", L_ONE, 1}, {"ones", L_ONES, 0},
    {"option", L_NOUN, 0}, {"options", L_NOUNS, 0}, {"or", L_OR, 0}, {"order", L_ORDER, 0},
    {"orders", L_ORDER, 0}, {"over", L_OVER, 0}, {"oz", L_UNIT, 0}, {"pair", L_NOUN, 0},
    {"pairs", L_NOUNS, 0}, {"pc", L_PCS, 0}, {"pcs", L_PCS, 0}, {"penultimate", L_ORD, -2},
    {"people", L_UNIT, 0}, {"percent", L_UNIT, 0}, {"pick", L_VERB, 0}, {"piece", L_PCS, 0},
    {"pieces", L_PCS, 0}, {"please", L_CLAUSE, 0}, {"plus", L_PLUS, 0}, {"plz", L_CLAUSE, 0},
    {"pm", L_UNIT, 0}, {"pound", L_CUR, 3}, {"pounds", L_CUR, 3}, {"prefer", L_VERB, 0},
    {"pricier", L_PRICIER, 0}, {"priciest", L_PRICIEST, 0}, {"product", L_NOUN, 0},
    {"products", L_NOUNS, 0}, {"put", L_VERB, 0}, {"qty", L_QTY, 0}, {"quantity", L_QTY, 0},
    {"quid", L_CUR, 3}, {"rated", L_RATED, 0}, {"remove", L_VERB, 0}, {"result", L_NOUN, 0},
    {"results", L_NOUNS, 0}, {"return", L_VERB, 0}, {"second", L_ORD, 1}, {"see", L_VERB, 0},
    {"send", L_VERB, 0}, {"seven", L_NUM, 7}, {"seventeen", L_NUM, 17}, {"seventh", L_ORD, 6},
    {"seventy", L_TENS, 70}, {"show", L_VERB, 0}, {"six", L_NUM, 6}, {"sixteen", L_NUM, 16},
    {"sixth", L_ORD, 5}, {"sixty", L_TENS, 60}, {"size", L_SIZE, 0}, {"sizes", L_SIZE, 0},
    {"star", L_UNIT, 0}, {"stars", L_UNIT, 0}, {"starting", L_STARTING, 0}, {"sz", L_SIZE, 0},
    {"take", L_VERB, 0}, {"tb", L_UNIT, 0}, {"ten", L_NUM, 10}, {"tenth", L_ORD, 9},
    {"than", L_THAN, 0}, {"thanks", L_CLAUSE, 0}, {"that", L_THIS, 0}, {"the", L_THE, 0},
    {"them", L_THEM, 0}, {"then", L_CLAUSE, 0}, {"these", L_THESE, 0}, {"thing", L_NOUN, 0},
    {"things", L_NOUNS, 0}, {"third", L_ORD, 2}, {"thirteen", L_NUM, 13}, {"thirty", L_TENS, 30},
    {"this", L_THIS, 0}, {"those", L_THESE, 0}, {"thousand", L_THOUSAND, 0}, {"three", L_NUM, 3},
    {"times", L_UNIT, 0}, {"to", L_TO, 0}, {"too", L_CLAUSE, 0}, {"top", L_BEST, 0},
    {"tops", L_MAX, 0}, {"try", L_VERB, 0}, {"twelve", L_NUM, 12}, {"twenty", L_TENS, 20},
    {"two", L_NUM, 2}, {"uk", L_SYS, 3}, {"under", L_UNDER, 0}, {"unit", L_PCS, 0},
    {"units", L_PCS, 0}, {"up", L_UP, 0}, {"us", L_SYS, 2}, {"usd", L_CUR, 1},
    {"version", L_NOUN, 0}, {"w", L_UNIT, 0}, {"want", L_VERB, 0}, {"watt", L_UNIT, 0},
    {"week", L_UNIT, 0}, {"weeks", L_UNIT, 0}, {"which", L_DET, 0}, {"with", L_CLAUSE, 0},
    {"within", L_WITHIN, 0}, {"year", L_UNIT, 0}, {"years", L_UNIT, 0}, {"yr", L_UNIT, 0},
    {"yrs", L_UNIT, 0}, {"zero", L_NUM, 0},
};
#define NLEX (sizeof lex / sizeof lex[0])

static const char *const currencies[] = {NULL, "USD", "EUR", "GBP"};
static const char *const systems[] = {NULL, "EU", "US", "UK"};

int eng__ent_selfcheck(void)
{
    for (size_t i = 1; i < NLEX; i++)
        if (strcmp(lex[i - 1].w, lex[i].w) >= 0)
            return -1;
    return 0;
}

/* ------------------------------------------------------------ tokenizer */
enum { TK_WORD = 1, TK_NUM, TK_SYM };

typedef struct tok {
    uint32_t s, e;        /* bytes of the token */
    uint32_t ne;          /* TK_NUM: end of the numeric part; a suffix ("x", "nd", "eu") follows */
    uint8_t kind, lx, used, dec;  /* dec: the number has a decimal point */
    signed char val;      /* the cue word's value */
    char ch;              /* TK_SYM: ASCII char; 'E' euro, 'P' pound sign */
    double num;
    uint64_t h;           /* hash of the folded word */
} tok;

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }
static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_alnum(int c) { return is_alpha(c) || is_digit(c); }

/* Multi-byte characters with an ASCII meaning: returns their length and
 * sets *ch (' ' space, '-' dash, 'E' euro, 'P' pound, '\'' apostrophe). */
static size_t special(const unsigned char *s, size_t len, size_t i, char *ch)
{
    if (i + 1 < len && s[i] == 0xC2 && (s[i + 1] == 0xA0 || s[i + 1] == 0xA3))
        return *ch = s[i + 1] == 0xA0 ? ' ' : 'P', 2;
    if (i + 2 < len && s[i] == 0xE2 && s[i + 1] == 0x82 && s[i + 2] == 0xAC)
        return *ch = 'E', 3;
    if (i + 2 < len && s[i] == 0xE2 && s[i + 1] == 0x80) {
        unsigned char c = s[i + 2];
        if (c == 0x93 || c == 0x94)
            return *ch = '-', 3;
        if (c == 0x98 || c == 0x99)
            return *ch = '\'', 3;
        if (c == 0x9C || c == 0x9D)
            return *ch = '"', 3;
    }
    return 0;
}

/* Word bytes: ASCII letters and digits, and any non-ASCII byte that is not
 * part of a special character; an apostrophe between letters stays inside. */
static size_t word_end(const unsigned char *s, size_t len, size_t i)
{
    while (i < len) {
        char ch;
        size_t sl = s[i] >= 0x80 ? special(s, len, i, &ch) : 0;
        if (sl) {
            if (ch == '\'' && i > 0 && is_alpha(s[i - 1]) && i + sl < len && is_alpha(s[i + sl])) {
                i += sl;
                continue;
            }
            break;
        }
        if (s[i] == '\'' && i > 0 && is_alpha(s[i - 1]) && i + 1 < len && is_alpha(s[i + 1])) {
            i++;
            continue;
        }
        if (!is_alnum(s[i]) && s[i] < 0x80)
            break;
        i++;
    }
    return i;
}

#define STEM_MAX 48

/* Fold a word for matching: ASCII lower case, apostrophes dropped, then a
 * light plural strip so that "boots" finds "boot" and "men's" "mens". */
static size_t fold(const unsigned char *s, size_t n, char *out, bool stem)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k < STEM_MAX - 1; i++) {
        char ch;
        size_t sl = s[i] >= 0x80 ? special(s, n, i, &ch) : 0;
        if (s[i] == '\'' || (sl && ch == '\'')) {
            i += sl ? sl - 1 : 0;
            continue;
        }
        out[k++] = (char)lower(s[i]);
    }
    out[k] = 0;
    if (!stem || k < 4)
        return k;
#define ENDS(x) (k >= sizeof(x) - 1 && memcmp(out + k - (sizeof(x) - 1), x, sizeof(x) - 1) == 0)
    if (k > 4 && ENDS("ies"))
        out[k - 3] = 'y', k -= 2;
    else if (k > 4 && (ENDS("sses") || ENDS("xes") || ENDS("ches") || ENDS("shes")))
        k -= 2;
    else if (ENDS("s") && !ENDS("ss") && !ENDS("us") && !ENDS("is"))
        k -= 1;
#undef ENDS
    out[k] = 0;
    return k;
}

static uint64_t fnv(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    return h;
}

static uint64_t mix(uint64_t h, uint64_t t)
{
    uint64_t z = h ^ t;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int lexcmp(const void *k, const void *e) { return strcmp(k, ((const lexw *)e)->w); }

static void classify(const unsigned char *s, tok *t)
{
    char buf[STEM_MAX];
    size_t n = fold(s + t->s, t->e - t->s, buf, false);
    const lexw *w = n < 16 ? bsearch(buf, lex, NLEX, sizeof lex[0], lexcmp) : NULL;
    if (w)
        t->lx = w->id, t->val = w->val;
    n = fold(s + t->s, t->e - t->s, buf, true);
    t->h = fnv(buf, n);
}

/* Split s into tokens; writes at most max, returns how many there are. */
static size_t tokenize(const unsigned char *s, size_t len, tok *out, size_t max)
{
    size_t n = 0, i = 0;
    while (i < len) {
        tok t = {0};
        char ch = 0;
        size_t sl = s[i] >= 0x80 ? special(s, len, i, &ch) : 0;
        unsigned char c = s[i];
        if (c <= ' ' || c == 0x7f || (sl && ch == ' ')) {
            i += sl ? sl : 1;
            continue;
        }
        t.s = (uint32_t)i;
        if (sl || (c < 0x80 && !is_alnum(c))) {
            t.kind = TK_SYM;
            t.ch = sl ? ch : (char)c;
            i += sl ? sl : 1;
        } else if (is_digit(c)) {
            double v = 0;
            while (i < len && is_digit(s[i]))
                v = v * 10 + (s[i++] - '0');
            /* thousands: a comma and exactly three digits */
            while (i + 3 < len && s[i] == ',' && is_digit(s[i + 1]) && is_digit(s[i + 2]) && is_digit(s[i + 3]) &&
                   (i + 4 >= len || !is_digit(s[i + 4]))) {
                v = v * 1000 + (s[i + 1] - '0') * 100 + (s[i + 2] - '0') * 10 + (s[i + 3] - '0');
                i += 4;
            }
            if (i + 1 < len && s[i] == '.' && is_digit(s[i + 1])) {
                double f = 0.1;
                t.dec = 1;
                for (i++; i < len && is_digit(s[i]); i++, f /= 10)
                    v += (s[i] - '0') * f;
            }
            t.kind = TK_NUM;
            t.num = v;
            t.ne = (uint32_t)i;
            i = word_end(s, len, i);
        } else {
            t.kind = TK_WORD;
            i = word_end(s, len, i);
        }
        t.e = (uint32_t)i;
        if (t.kind != TK_SYM)
            classify(s, &t);
        if (n < max)
            out[n] = t;
        n++;
    }
    return n;
}

/* ----------------------------------------------------------- vocabulary */
typedef struct ventry {
    uint64_t h;
    const char *norm;     /* folded words joined by single spaces */
    const char *canon;
    uint8_t ntok, type;
} ventry;

struct eng__ent_vocab {
    eng_pool *pool;
    ventry *tab;
    size_t cap;
    int maxtok;
    size_t count[ENG_ENT_NTYPES];
};

#define MAXTOK 8

static const char *const builtin_colors[][2] = {
    {"black", "black"}, {"white", "white"}, {"red", "red"}, {"blue", "blue"}, {"green", "green"},
    {"yellow", "yellow"}, {"orange", "orange"}, {"purple", "purple"}, {"pink", "pink"},
    {"brown", "brown"}, {"gray", "gray"}, {"grey", "gray"}, {"beige", "beige"}, {"navy", "navy"},
    {"navy blue", "navy"}, {"teal", "teal"}, {"turquoise", "turquoise"}, {"maroon", "maroon"},
    {"burgundy", "burgundy"}, {"olive", "olive"}, {"khaki", "khaki"}, {"ivory", "ivory"},
    {"gold", "gold"}, {"silver", "silver"}, {"bronze", "bronze"}, {"charcoal", "charcoal"},
    {"coral", "coral"}, {"lavender", "lavender"}, {"lilac", "lilac"}, {"magenta", "magenta"},
    {"cyan", "cyan"}, {"light blue", "light blue"}, {"dark blue", "dark blue"}, {"sky blue", "sky blue"},
    {"royal blue", "royal blue"}, {"light green", "light green"}, {"dark green", "dark green"},
    {"light gray", "light gray"}, {"light grey", "light gray"}, {"dark gray", "dark gray"},
    {"dark grey", "dark gray"}, {"rose gold", "rose gold"}, {"off white", "off-white"},
    {"multicolor", "multicolor"}, {"multicolour", "multicolor"},
};

static const char *const builtin_sizes[][2] = {
    {"xxs", "XXS"}, {"xs", "XS"}, {"extra small", "XS"}, {"x small", "XS"}, {"small", "S"},
    {"medium", "M"}, {"large", "L"}, {"xl", "XL"}, {"extra large", "XL"}, {"x large", "XL"},
    {"xxl", "XXL"}, {"xx large", "XXL"}, {"2xl", "XXL"}, {"xxxl", "XXXL"}, {"3xl", "XXXL"},
};

/* Normalise a phrase into `norm` (pool) and its hash; 0 words = skip. */
static int phrase(eng_pool *pool, const char *s, const char **norm, uint64_t *h)
{
    tok t[MAXTOK + 1];
    size_t len = strlen(s), n = tokenize((const unsigned char *)s, len, t, MAXTOK + 1), k = 0;
    char buf[MAXTOK * STEM_MAX + MAXTOK], w[STEM_MAX];
    size_t bl = 0;
    *h = 0;
    for (size_t i = 0; i < n && i <= MAXTOK; i++) {
        if (t[i].kind == TK_SYM)
            continue;
        if (++k > MAXTOK)
            return 0;
        size_t wl = fold((const unsigned char *)s + t[i].s, t[i].e - t[i].s, w, true);
        if (bl)
            buf[bl++] = ' ';
        memcpy(buf + bl, w, wl);
        bl += wl;
        *h = mix(*h, t[i].h);
    }
    if (!k || n > MAXTOK)
        return 0;
    *norm = eng__pool_strndup(pool, buf, bl);
    return *norm ? (int)k : -1;
}

static ventry *vfind(const eng__ent_vocab *v, uint64_t h, const char *norm)
{
    for (size_t i = h & (v->cap - 1);; i = (i + 1) & (v->cap - 1)) {
        ventry *e = &v->tab[i];
        if (!e->norm)
            return e;
        if (e->h == h && strcmp(e->norm, norm) == 0)
            return e;
    }
}

/* Add one phrase; an existing entry is kept unless `replace`. */
static int vadd(eng__ent_vocab *v, const char *name, const char *canon, int type, bool replace)
{
    const char *norm;
    uint64_t h;
    if (!name)
        return 0;
    int k = phrase(v->pool, name, &norm, &h);
    if (k <= 0)
        return k;
    ventry *e = vfind(v, h, norm);
    if (e->norm && !replace)
        return 0;
    const char *c = eng__pool_strdup(v->pool, canon);
    if (!c)
        return -1;
    *e = (ventry){h, norm, c, (uint8_t)k, (uint8_t)type};
    if (k > v->maxtok)
        v->maxtok = k;
    return 0;
}

int eng__ent_vocab_new(const eng__ent_lists *l, eng__ent_vocab **out)
{
    static const eng__ent_lists none;
    if (!l)
        l = &none;
    size_t want = sizeof builtin_colors / sizeof builtin_colors[0] + sizeof builtin_sizes / sizeof builtin_sizes[0] +
                  l->ncolors + l->nbrands + l->ncategories + l->naliases;
    eng__ent_vocab *v = eng__calloc(1, sizeof *v);
    if (!v)
        return ENG_ENOMEM;
    v->cap = 64;
    while (v->cap < want * 2)
        v->cap *= 2;
    if (!(v->pool = eng__pool_new(16384)) || !(v->tab = eng__pool_alloc(v->pool, v->cap * sizeof *v->tab)))
        goto oom;
    int rc = 0;
    /* first one in wins: the pipeline's own lists, then the built-ins */
    for (size_t i = 0; i < l->nbrands; i++)
        rc |= vadd(v, l->brands[i], l->brands[i], ENG_ENT_BRAND, false);
    for (size_t i = 0; i < l->ncategories; i++)
        rc |= vadd(v, l->categories[i], l->categories[i], ENG_ENT_CATEGORY, false);
    for (size_t i = 0; i < l->ncolors; i++)
        rc |= vadd(v, l->colors[i], l->colors[i], ENG_ENT_COLOR, false);
    for (size_t i = 0; i < sizeof builtin_colors / sizeof builtin_colors[0]; i++)
        rc |= vadd(v, builtin_colors[i][0], builtin_colors[i][1], ENG_ENT_COLOR, false);
    for (size_t i = 0; i < sizeof builtin_sizes / sizeof builtin_sizes[0]; i++)
        rc |= vadd(v, builtin_sizes[i][0], builtin_sizes[i][1], ENG_ENT_SIZE, false);
    /* aliases resolve against everything above and override it */
    for (size_t i = 0; i < l->naliases; i++) {
        const char *norm;
        uint64_t h;
        bool ok = false;
        if (l->alias_to[i] && phrase(v->pool, l->alias_to[i], &norm, &h) > 0) {
            ventry *e = vfind(v, h, norm);
            if (e->norm) {
                rc |= vadd(v, l->alias_from[i], e->canon, e->type, true);
                ok = true;
            }
        }
        if (l->alias_resolved)
            l->alias_resolved[i] = ok;
    }
    if (rc)
        goto oom;
    for (size_t i = 0; i < v->cap; i++)
        if (v->tab[i].norm)
            v->count[v->tab[i].type]++;
    *out = v;
    return 0;
oom:
    eng__ent_vocab_free(v);
    return ENG_ENOMEM;
}

void eng__ent_vocab_free(eng__ent_vocab *v)
{
    if (!v)
        return;
    eng__pool_free(v->pool);
    eng__free(v);
}

size_t eng__ent_vocab_count(const eng__ent_vocab *v, eng__ent_type type)
{
    return v && type < ENG_ENT_NTYPES ? v->count[type] : 0;
}

const char *eng__ent_type_name(eng__ent_type t)
{
    static const char *const names[] = {"quantity", "money",        "color", "size",     "brand",
                                        "category", "order_number", "email", "reference"};
    return t < ENG_ENT_NTYPES ? names[t] : "?";
}

/* ------------------------------------------------------------ extraction */
typedef struct X {
    const unsigned char *s;
    size_t len, n, cnt, max;
    tok *t;
    const eng__ent_vocab *v;
    eng__ent *out;
} X;

static bool free_tok(const X *x, size_t i) { return i < x->n && !x->t[i].used; }
static bool is(const X *x, size_t i, int l) { return free_tok(x, i) && x->t[i].lx == l && x->t[i].kind == TK_WORD; }
static bool sym(const X *x, size_t i, char c) { return free_tok(x, i) && x->t[i].kind == TK_SYM && x->t[i].ch == c; }
static bool num(const X *x, size_t i) { return free_tok(x, i) && x->t[i].kind == TK_NUM; }
static size_t sfx_len(const X *x, size_t i) { return x->t[i].e - x->t[i].ne; }

/* The number's suffix equals w (ASCII, case-insensitive). */
static bool sfx(const X *x, size_t i, const char *w)
{
    size_t n = sfx_len(x, i);
    if (n != strlen(w))
        return false;
    for (size_t k = 0; k < n; k++)
        if (lower(x->s[x->t[i].ne + k]) != w[k])
            return false;
    return true;
}

static bool plain_int(const X *x, size_t i) { return num(x, i) && !sfx_len(x, i) && !x->t[i].dec; }

/* Nothing more belongs to the phrase at token j: the end, punctuation, a
 * conjunction or a small word that starts something else. */
static bool clause_end(const X *x, size_t j)
{
    if (j >= x->n)
        return true;
    const tok *t = &x->t[j];
    if (t->kind == TK_SYM)
        return strchr(",.!?;:)\"", t->ch) != NULL;
    return t->kind == TK_WORD && (t->lx == L_CLAUSE || t->lx == L_AND || t->lx == L_OR || t->lx == L_SIZE);
}

static eng__ent *emit(X *x, eng__ent_type type, size_t i, size_t k)
{
    static eng__ent sink;
    for (size_t m = i; m < k && m < x->n; m++)
        x->t[m].used = 1;
    eng__ent *e = x->cnt < x->max ? &x->out[x->cnt++] : &sink;
    *e = (eng__ent){.type = type, .start = x->t[i].s, .end = x->t[k - 1].e, .num = NAN, .min = NAN, .max = NAN};
    return e;
}

/* Claim the tokens under bytes [s, e) for a span found byte by byte. */
static eng__ent *emit_bytes(X *x, eng__ent_type type, size_t s, size_t e)
{
    size_t i = 0, k;
    while (i < x->n && x->t[i].e <= s)
        i++;
    for (k = i; k < x->n && x->t[k].s < e; k++)
        ;
    for (size_t m = i; m < k; m++)
        if (x->t[m].used)
            return NULL;
    if (k == i)
        return NULL;
    eng__ent *en = emit(x, type, i, k);
    en->start = (uint32_t)s, en->end = (uint32_t)e, en->vs = (uint32_t)s, en->ve = (uint32_t)e;
    return en;
}

static bool email_local(int c) { return is_alnum(c) || (c && strchr("._%+-", c)); }

static void find_emails(X *x)
{
    for (size_t at = 1; at + 1 < x->len; at++) {
        if (x->s[at] != '@')
            continue;
        size_t a = at, b = at + 1, dot = 0;
        while (a > 0 && email_local(x->s[a - 1]))
            a--;
        while (a < at && x->s[a] == '.')
            a++;
        while (b < x->len && (is_alnum(x->s[b]) || x->s[b] == '-' || x->s[b] == '.'))
            b++;
        while (b > at + 1 && (x->s[b - 1] == '.' || x->s[b - 1] == '-'))
            b--;
        for (size_t k = at + 1; k < b; k++)
            if (x->s[k] == '.')
                dot = k;
        bool tld = dot && b - dot > 2;
        for (size_t k = dot + 1; tld && k < b; k++)
            tld = is_alpha(x->s[k]);
        if (a < at && tld && dot > at + 1 && x->s[at + 1] != '.')
            emit_bytes(x, ENG_ENT_EMAIL, a, b);
        at = b;
    }
}

/* An id: [A-Za-z0-9]+ ( - [A-Za-z0-9]+ )*; counts its digits. */
static size_t id_end(const X *x, size_t p, size_t *digits)
{
    size_t e = p;
    *digits = 0;
    while (e < x->len && (is_alnum(x->s[e]) || (x->s[e] == '-' && e > p && e + 1 < x->len && is_alnum(x->s[e + 1])))) {
        *digits += is_digit(x->s[e]);
        e++;
    }
    return e;
}

static void find_orders(X *x)
{
    size_t d;
    for (size_t i = 0; i < x->n; i++) {
        const tok *t = &x->t[i];
        if (sym(x, i, '#') && t->e < x->len && is_alnum(x->s[t->e])) {
            size_t e = id_end(x, t->e, &d);
            if (d && e - t->e >= 3) {
                eng__ent *en = emit_bytes(x, ENG_ENT_ORDER, t->s, e);
                if (en)
                    en->vs = t->e;
            }
        } else if (is(x, i, L_ORDER)) {
            /* "order 123456789", "order number: A-1234", "my order is 123456" */
            for (size_t j = i + 1; j < x->n && j <= i + 4; j++) {
                const tok *u = &x->t[j];
                if (u->used || (u->kind == TK_WORD && u->lx != L_NUMBER && u->lx != L_NO && u->lx != L_VERB &&
                                !(u->e - u->s > 1 && id_end(x, u->s, &d) >= u->e && d >= 3)))
                    break;
                if (u->kind == TK_SYM && u->ch == '#')
                    break;   /* the '#' rule takes it */
                if (u->kind == TK_SYM)
                    continue;
                size_t e = id_end(x, u->s, &d);
                if (d >= 3 && e - u->s >= 4) {
                    emit_bytes(x, ENG_ENT_ORDER, u->s, e);
                    break;
                }
            }
        }
    }
}

/* --- money */
typedef struct amt {
    double v;
    const char *cur;
} amt;

static const char *cur_sym(const X *x, size_t i)
{
    if (!free_tok(x, i) || x->t[i].kind != TK_SYM)
        return NULL;
    char c = x->t[i].ch;
    return c == '$' ? "USD" : c == 'E' ? "EUR" : c == 'P' ? "GBP" : NULL;
}

/* [$€£|USD] NUM[k] [$€£|dollars|bucks|euros|...]: returns the end token, i when none. */
static size_t amount(const X *x, size_t i, amt *a)
{
    size_t j = i;
    a->cur = cur_sym(x, j);
    if (a->cur)
        j++;
    else if (is(x, j, L_CUR) && x->t[j].e - x->t[j].s == 3 && num(x, j + 1))
        a->cur = currencies[x->t[j++].val];
    if (!num(x, j) || x->t[j].num > 1e12)
        return i;
    a->v = x->t[j].num;
    if (sfx(x, j, "k"))
        a->v *= 1000;
    else if (sfx(x, j, "usd") || sfx(x, j, "eur") || sfx(x, j, "gbp"))
        a->cur = sfx(x, j, "usd") ? "USD" : sfx(x, j, "eur") ? "EUR" : "GBP";
    else if (sfx_len(x, j))
        return i;
    j++;
    if (!a->cur && cur_sym(x, j))
        a->cur = cur_sym(x, j++);
    else if (!a->cur && is(x, j, L_CUR))
        a->cur = currencies[x->t[j++].val];
    return j;
}

static void money(X *x, size_t i, size_t k, double mn, double mx, double exact, const char *cur)
{
    eng__ent *e = emit(x, ENG_ENT_MONEY, i, k);
    e->min = mn, e->max = mx, e->num = exact, e->currency = cur;
}

/* "20-40", "$20 to $40", "20 and 40" starting at token j (cue at i). */
static size_t range(X *x, size_t i, size_t j, bool cue)
{
    amt a, b;
    size_t k = amount(x, j, &a);
    if (k == j || !(sym(x, k, '-') || is(x, k, L_TO) || (cue && is(x, k, L_AND))))
        return 0;
    size_t m = amount(x, k + 1, &b);
    if (m == k + 1)
        return 0;
    bool dash = sym(x, k, '-') && x->t[k].s == x->t[k - 1].e;
    bool size_cue = i > 0 && x->t[i - 1].lx == L_SIZE;
    if (!a.cur && !b.cur && !(cue || dash) )
        return 0;
    if (!a.cur && !b.cur && (size_cue || is(x, m, L_UNIT) || is(x, m, L_PCS)))
        return 0;
    double lo = fmin(a.v, b.v), hi = fmax(a.v, b.v);
    money(x, i, m, lo, hi, NAN, a.cur ? a.cur : b.cur);
    return m;
}

static void find_money(X *x)
{
    for (size_t i = 0; i < x->n; i++) {
        if (!free_tok(x, i))
            continue;
        int l = x->t[i].kind == TK_WORD ? x->t[i].lx : 0, bound = 0; /* 1 max, 2 min */
        size_t j = i + 1;
        bool weak = false;  /* a cue that often counts things, not money */
        if (l == L_BETWEEN || l == L_FROM) {
            if (range(x, i, i + 1, true))
                continue;
            bound = l == L_FROM ? 2 : 0;
        } else if (l == L_UNDER || l == L_WITHIN || l == L_MAX || l == L_BUDGET) {
            bound = 1;
            j += is(x, j, L_OF) || is(x, j, L_VERB);
        } else if ((l == L_LESS || l == L_CHEAPER) && is(x, i + 1, L_THAN)) {
            bound = 1, j = i + 2;
        } else if (l == L_AT && (is(x, i + 1, L_MOST) || is(x, i + 1, L_LEAST))) {
            bound = is(x, i + 1, L_MOST) ? 1 : 2, j = i + 2, weak = true;
        } else if (l == L_UP && is(x, i + 1, L_TO)) {
            bound = 1, j = i + 2, weak = true;
        } else if (l == L_NO && is(x, i + 1, L_MORE) && is(x, i + 2, L_THAN)) {
            bound = 1, j = i + 3, weak = true;
        } else if (l == L_OVER || l == L_MIN) {
            bound = 2;
        } else if (l == L_MORE && is(x, i + 1, L_THAN)) {
            bound = 2, j = i + 2, weak = true;
        } else if (l == L_STARTING && (is(x, i + 1, L_AT) || is(x, i + 1, L_FROM))) {
            bound = 2, j = i + 2;
        } else if (sym(x, i, '<') || sym(x, i, '>')) {
            bound = sym(x, i, '<') ? 1 : 2;
            j += sym(x, j, '=');
        }
        if (bound) {
            amt a;
            size_t k = amount(x, j, &a);
            /* a bare number after a cue is a price when nothing counts it */
            bool ok = k > j && (a.cur || (l != L_FROM && clause_end(x, k) && !(weak && a.v < 10)));
            if (ok) {
                money(x, i, k, bound == 2 ? a.v : NAN, bound == 1 ? a.v : NAN, NAN, a.cur);
                i = k - 1;
            }
            continue;
        }
        size_t k = range(x, i, i, false);
        if (k) {
            i = k - 1;
            continue;
        }
        amt a;
        k = amount(x, i, &a);
        if (k == i || !a.cur)
            continue;
        if (is(x, k, L_OR) && (is(x, k + 1, L_LESS) || is(x, k + 1, L_UNDER)))
            money(x, i, k + 2, NAN, a.v, NAN, a.cur);
        else if (is(x, k, L_OR) && (is(x, k + 1, L_MORE) || is(x, k + 1, L_OVER)))
            money(x, i, k + 2, a.v, NAN, NAN, a.cur);
        else if (is(x, k, L_MAX))
            money(x, i, k + 1, NAN, a.v, NAN, a.cur);
        else if (sym(x, k, '+') || is(x, k, L_PLUS))
            money(x, i, k + 1, a.v, NAN, NAN, a.cur);
        else
            money(x, i, k, NAN, NAN, a.v, a.cur);
        i = x->n ? k - 1 : k;
    }
}

/* --- vocabulary phrases */
/* The word token after a that continues a name ("north face", "t-shirt",
 * "dr. martens"), or x->n. */
static size_t next_word(const X *x, size_t a)
{
    size_t b = a + 1;
    while (b < x->n && x->t[b].kind == TK_SYM)
        b++;
    if (b >= x->n || x->t[b].used || x->t[b].s - x->t[a].e > 3)
        return x->n;
    for (size_t p = x->t[a].e; p < x->t[b].s; p++)
        if (!x->s[p] || !strchr(" \t-'&./+", x->s[p]))
            return x->n;
    return b;
}

/* The longest vocabulary phrase at token i: its entry and end token. */
static const ventry *vmatch(const X *x, size_t i, size_t *end)
{
    if (!x->v || !free_tok(x, i) || x->t[i].kind == TK_SYM)
        return NULL;
    uint64_t h[MAXTOK + 1];
    size_t idx[MAXTOK], k = 0;
    h[0] = 0;
    for (size_t j = i; j < x->n && k < (size_t)x->v->maxtok; j = next_word(x, j), k++)
        idx[k] = j, h[k + 1] = mix(h[k], x->t[j].h);
    for (; k > 0; k--) {
        char norm[MAXTOK * STEM_MAX + MAXTOK], w[STEM_MAX];
        size_t bl = 0;
        for (size_t m = 0; m < k; m++) {
            const tok *t = &x->t[idx[m]];
            size_t wl = fold(x->s + t->s, t->e - t->s, w, true);
            if (bl)
                norm[bl++] = ' ';
            memcpy(norm + bl, w, wl);
            bl += wl;
        }
        norm[bl] = 0;
        const ventry *e = vfind(x->v, h[k], norm);
        if (e->norm && e->ntok == k) {
            *end = idx[k - 1] + 1;
            return e;
        }
    }
    return NULL;
}

/* --- sizes */
static eng__ent *size_num(X *x, size_t i, size_t k, size_t nt, const char *system)
{
    eng__ent *e = emit(x, ENG_ENT_SIZE, i, k);
    e->vs = x->t[nt].s, e->ve = x->t[nt].ne, e->system = system;
    return e;
}

static const char *sys_at(const X *x, size_t i, bool cued)
{
    if (!is(x, i, L_SYS))
        return NULL;
    /* "us" is a pronoun unless written "US" or after "size" */
    if (x->t[i].val == 2 && !cued && !(x->s[x->t[i].s] == 'U' && x->s[x->t[i].s + 1] == 'S'))
        return NULL;
    return systems[x->t[i].val];
}

static const char *sys_sfx(const X *x, size_t i)
{
    return sfx(x, i, "eu") ? "EU" : sfx(x, i, "us") ? "US" : sfx(x, i, "uk") ? "UK" : NULL;
}

static void find_sizes(X *x)
{
    for (size_t i = 0; i < x->n; i++) {
        if (!free_tok(x, i))
            continue;
        const char *sy;
        size_t k, j = i + 1;
        if (is(x, i, L_SIZE)) {
            j += sym(x, j, ':') || is(x, j, L_OF);
            const ventry *ve;
            if ((sy = sys_at(x, j, true)) && num(x, j + 1) && !sfx_len(x, j + 1)) {
                size_num(x, i, j + 2, j + 1, sy);
            } else if (num(x, j) && (!sfx_len(x, j) || sys_sfx(x, j))) {
                sy = sys_sfx(x, j);
                if (!sy && (sy = sys_at(x, j + 1, true))) {
                    size_num(x, i, j + 2, j, sy);
                } else if (!sy && sym(x, j + 1, '-') && num(x, j + 2) && !sfx_len(x, j + 2)) {
                    size_num(x, i, j + 3, j, NULL)->ve = x->t[j + 2].ne;   /* "size 8-10" */
                } else {
                    size_num(x, i, j + 1, j, sy);
                }
            } else if (free_tok(x, j) && x->t[j].kind == TK_WORD && x->t[j].e - x->t[j].s == 1 &&
                       strchr("smlSML", x->s[x->t[j].s])) {
                emit(x, ENG_ENT_SIZE, i, j + 1)->str = lower(x->s[x->t[j].s]) == 's' ? "S" :
                                                     lower(x->s[x->t[j].s]) == 'm' ? "M" : "L";
            } else if ((ve = vmatch(x, j, &k)) && ve->type == ENG_ENT_SIZE) {
                emit(x, ENG_ENT_SIZE, i, k)->str = ve->canon;
            }
        } else if ((sy = sys_at(x, i, false)) && num(x, j) && !sfx_len(x, j)) {
            size_num(x, i, j + 1, j, sy);
        } else if (num(x, i) && (sy = sys_sfx(x, i))) {
            size_num(x, i, j, i, sy);
        } else if (num(x, i) && !sfx_len(x, i) && (sy = sys_at(x, j, false))) {
            size_num(x, i, j + 1, i, sy);
        } else if (num(x, i) && x->t[i].dec && !sfx_len(x, i) && x->t[i].num >= 1 && x->t[i].num <= 60 &&
                   fabs(x->t[i].num - floor(x->t[i].num) - 0.5) < 1e-9 && !cur_sym(x, i - 1)) {
            size_num(x, i, j, i, NULL);   /* shoe sizes: 10.5 */
        } else if (num(x, i) && !x->t[i].dec && x->t[i].num >= 20 && x->t[i].num <= 60 && sfx_len(x, i) == 3 &&
                   lower(x->s[x->t[i].ne]) == 'x' && is_digit(x->s[x->t[i].ne + 1]) && is_digit(x->s[x->t[i].ne + 2])) {
            eng__ent *e = emit(x, ENG_ENT_SIZE, i, j);   /* waist x length: 32x34 */
            e->vs = x->t[i].s, e->ve = x->t[i].e;
        }
    }
}

/* --- references */
static bool nounish(const X *x, size_t i, bool *plural)
{
    if (!free_tok(x, i) || x->t[i].kind != TK_WORD)
        return false;
    int l = x->t[i].lx;
    *plural = l == L_ONES || l == L_NOUNS;
    return l == L_ONE || l == L_ONES || l == L_NOUN || l == L_NOUNS;
}

static bool ordinal(const X *x, size_t j, int *idx, size_t *k)
{
    if (is(x, j, L_ORD)) {
        *idx = x->t[j].val, *k = j + 1;
        if (*idx == 1 && is(x, j + 1, L_TO) && is(x, j + 2, L_ORD) && x->t[j + 2].val == -1)
            *idx = -2, *k = j + 3;   /* second to last */
        else if (*idx == 1 && is(x, j + 1, L_ORD) && x->t[j + 1].val == -1)
            *idx = -2, *k = j + 2;
        return true;
    }
    if (num(x, j) && !x->t[j].dec && x->t[j].num >= 1 && x->t[j].num <= 99 &&
        (sfx(x, j, "st") || sfx(x, j, "nd") || sfx(x, j, "rd") || sfx(x, j, "th"))) {
        *idx = (int)x->t[j].num - 1, *k = j + 1;
        return true;
    }
    return false;
}

static bool comparative(const X *x, size_t j, eng__ref_cmp *c, size_t *k)
{
    *k = j + 1;
    if (is(x, j, L_CHEAPER) || is(x, j, L_CHEAPEST))
        return *c = ENG_CMP_CHEAPEST, true;
    if (is(x, j, L_PRICIER) || is(x, j, L_PRICIEST) || is(x, j, L_EXPENSIVE))
        return *c = ENG_CMP_PRICIEST, true;
    *k = j + 2;
    if ((is(x, j, L_MORE) || is(x, j, L_MOST)) && is(x, j + 1, L_EXPENSIVE))
        return *c = ENG_CMP_PRICIEST, true;
    if ((is(x, j, L_LESS) || is(x, j, L_LEAST)) && is(x, j + 1, L_EXPENSIVE))
        return *c = ENG_CMP_CHEAPEST, true;
    if (is(x, j, L_BEST))
        return *k = j + 1 + is(x, j + 1, L_RATED), *c = ENG_CMP_BEST_RATED, true;
    return false;
}

static eng__ent *ref(X *x, eng__ref_kind kind, size_t i, size_t k, bool plural)
{
    eng__ent *e = emit(x, ENG_ENT_REFERENCE, i, k);
    e->ref = kind, e->plural = plural;
    return e;
}

static void find_refs(X *x)
{
    for (size_t i = 0; i < x->n; i++) {
        if (!free_tok(x, i) || (x->t[i].kind == TK_SYM && x->t[i].ch != '#'))
            continue;
        bool the = is(x, i, L_THE), pl = false;
        size_t j = i + the, k;
        int idx, prev = i > 0 && x->t[i - 1].kind == TK_WORD ? x->t[i - 1].lx : 0;
        bool verb = prev == L_VERB || prev == L_ORDER;
        eng__ref_cmp c = ENG_CMP_CHEAPEST;
        const ventry *ve;
        if (ordinal(x, j, &idx, &k) || comparative(x, j, &c, &k)) {
            bool ord = ordinal(x, j, &idx, &k);
            bool noun = nounish(x, k, &pl);
            if (noun || (the && clause_end(x, k))) {
                eng__ent *e = ref(x, ord ? ENG_REF_ORDINAL : ENG_REF_COMPARATIVE, i, k + noun, pl);
                e->index = ord ? idx : 0, e->cmp = ord ? 0 : c;
                i = k + noun - 1;
            }
        } else if (((is(x, j, L_NUMBER) || is(x, j, L_NOUN) || sym(x, j, '#')) && plain_int(x, j + 1) &&
                    x->t[j + 1].num >= 1 && x->t[j + 1].num <= 50)) {
            ref(x, ENG_REF_ORDINAL, i, j + 2, false)->index = (int)x->t[j + 1].num - 1;  /* "option 2" */
        } else if ((ve = vmatch(x, j, &k)) && (ve->type == ENG_ENT_COLOR || ve->type == ENG_ENT_BRAND ||
                                               ve->type == ENG_ENT_SIZE) && nounish(x, k, &pl)) {
            eng__ent *e = ref(x, ENG_REF_ATTRIBUTE, i, k + 1, pl);
            e->attr_type = ve->type, e->str = ve->canon;
        } else if (the && is(x, j, L_ONE) && clause_end(x, j + 1)) {
            ref(x, ENG_REF_DEMONSTRATIVE, i, j + 1, false);
        } else if (the) {
            continue;
        } else if ((is(x, i, L_THIS) || is(x, i, L_THESE)) && nounish(x, i + 1, &pl)) {
            ref(x, ENG_REF_DEMONSTRATIVE, i, i + 2, pl || is(x, i, L_THESE));
        } else if ((is(x, i, L_THIS) && verb && clause_end(x, i + 1)) || (is(x, i, L_IT) && verb)) {
            ref(x, ENG_REF_DEMONSTRATIVE, i, i + 1, false);
        } else if ((is(x, i, L_THESE) || is(x, i, L_THEM)) && (verb || prev == L_OF)) {
            ref(x, ENG_REF_DEMONSTRATIVE, i, i + 1, true);
        }
    }
}

/* --- quantities */
static bool numword(const X *x, size_t i, double *v, size_t *k)
{
    size_t j = i;
    double n = 0;
    if (is(x, j, L_TENS)) {
        n = x->t[j++].val;
        size_t u = j + sym(x, j, '-');
        if ((is(x, u, L_NUM) || is(x, u, L_ONE)) && x->t[u].val < 10)
            n += x->t[u].val, j = u + 1;
    } else if (is(x, j, L_NUM) || is(x, j, L_ONE)) {
        n = x->t[j++].val;
    } else {
        return false;
    }
    if (is(x, j, L_HUNDRED))
        n *= 100, j++;
    *v = n, *k = j;
    return true;
}

static void find_quantities(X *x)
{
    for (size_t i = 0; i < x->n; i++) {
        if (!free_tok(x, i))
            continue;
        double v = -1;
        size_t k = i + 1, q = i;
        int prev = i > 0 && x->t[i - 1].kind == TK_WORD ? x->t[i - 1].lx : 0;
        if (is(x, i, L_HALF) && (is(x, i + 1, L_DOZEN) || (is(x, i + 1, L_A) && is(x, i + 2, L_DOZEN))))
            v = 6, k = i + 2 + is(x, i + 1, L_A);
        else if (is(x, i, L_A) && is(x, i + 1, L_DOZEN))
            v = 12, k = i + 2;
        else if ((is(x, i, L_A) && is(x, i + 1, L_COUPLE)) || (is(x, i, L_COUPLE) && is(x, i + 1, L_OF)))
            v = 2, k = i + 2;
        else if (is(x, i, L_QTY) && plain_int(x, i + 1 + sym(x, i + 1, ':')))
            q = i + 1 + sym(x, i + 1, ':'), v = x->t[q].num, k = q + 1;
        else if (is(x, i, L_ONE) && (prev == L_THE || prev == L_THIS || prev == L_DET || prev == L_NO))
            continue;   /* "which one", "no one": not a count */
        else if (numword(x, i, &v, &k))
            ;
        else if (num(x, i) && !x->t[i].dec && (!sfx_len(x, i) || sfx(x, i, "x") || sfx(x, i, "pcs")) &&
                 !sym(x, i + 1, '%') && !(sym(x, i + 1, ':') && x->t[i + 1].s == x->t[i].e) &&
                 !(i > 0 && x->t[i - 1].kind == TK_SYM && x->t[i - 1].e == x->t[i].s && strchr(":.,/", x->t[i - 1].ch)))
            v = x->t[i].num;
        else if (free_tok(x, i) && x->t[i].kind == TK_WORD && lower(x->s[x->t[i].s]) == 'x' &&
                 x->t[i].e - x->t[i].s >= 2 && x->t[i].e - x->t[i].s <= 4) {
            v = 0;   /* x3 */
            for (size_t p = x->t[i].s + 1; p < x->t[i].e && v >= 0; p++)
                v = is_digit(x->s[p]) ? v * 10 + (x->s[p] - '0') : -1;
        }
        if (v < 0 || is(x, k, L_UNIT) || is(x, k, L_CUR))
            continue;
        if (is(x, k, L_DOZEN))
            v *= 12, k++;
        if (v > 999)
            continue;
        k += is(x, k, L_PCS);
        if (is(x, k - 1, L_COUPLE) && is(x, k, L_OF))
            k++;
        emit(x, ENG_ENT_QUANTITY, i, k)->num = v;
        i = k - 1;
    }
}

static void find_vocab(X *x, int min_words)
{
    for (size_t i = 0; i < x->n; i++) {
        size_t k;
        const ventry *e = vmatch(x, i, &k);
        if (e && e->ntok >= min_words) {
            emit(x, e->type, i, k)->str = e->canon;
            i = k - 1;
        }
    }
}

int eng__ent_extract(const eng__ent_vocab *v, const char *text, size_t len, eng__ent *out, size_t max)
{
    tok stack[512];
    X x = {.s = (const unsigned char *)text, .len = text ? len : 0, .t = stack, .v = v, .out = out, .max = max};
    if (len > UINT32_MAX - 1)
        x.len = UINT32_MAX - 1;   /* offsets are 32-bit; nobody sends 4 GiB */
    x.n = tokenize(x.s, x.len, stack, 512);
    if (x.n > 512) {
        if (!(x.t = eng__malloc(x.n * sizeof *x.t)))
            return ENG_ENOMEM;
        tokenize(x.s, x.len, x.t, x.n);
    }
    /* most specific first: each claims its tokens before looser rules look */
    find_emails(&x);
    find_orders(&x);
    find_money(&x);
    find_sizes(&x);
    find_refs(&x);
    find_vocab(&x, 2);   /* "Hoka One One" before "one" counts */
    find_quantities(&x);
    find_vocab(&x, 1);
    if (x.t != stack)
        eng__free(x.t);
    for (size_t i = 1; i < x.cnt; i++)
        for (size_t j = i; j > 0 && out[j - 1].start > out[j].start; j--) {
            eng__ent tmp = out[j];
            out[j] = out[j - 1], out[j - 1] = tmp;
        }
    return (int)x.cnt;
}
