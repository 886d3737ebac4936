/* engine/nlu/entities_vocab.c — the words the entity extractor knows: the
 * built-in table of cue words ("under", "dozen", "cheapest", number words,
 * currencies) and the hashed phrase table compiled from a pipeline's
 * colours, brands, categories and aliases plus the built-in colour and
 * size words. */
#include "entities_int.h"
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ cue words */
/* Sorted by strcmp (eng__ent_selfcheck verifies); apostrophes are dropped
 * before lookup, so "i'll" is "ill" and "men's" is "mens". */
static const ent_cue lex[] = {
    {"a", L_A, 0}, {"about", L_VERB, 0}, {"above", L_OVER, 0}, {"add", L_VERB, 0},
    {"also", L_CLAUSE, 0}, {"am", L_UNIT, 0}, {"an", L_A, 0}, {"and", L_AND, 0},
    {"another", L_DET, 0}, {"any", L_DET, 0}, {"at", L_AT, 0}, {"below", L_UNDER, 0},
    {"best", L_BEST, 0}, {"better", L_BEST, 0}, {"between", L_BETWEEN, 0}, {"buck", L_CUR, 1},
    {"bucks", L_CUR, 1}, {"budget", L_BUDGET, 0}, {"but", L_CLAUSE, 0}, {"buy", L_VERB, 0},
    {"cancel", L_VERB, 0}, {"cheaper", L_CHEAPER, 0}, {"cheapest", L_CHEAPEST, 0},
    {"choice", L_NOUN, 0}, {"choose", L_VERB, 0}, {"cm", L_UNIT, 0}, {"compare", L_VERB, 0},
    {"couple", L_COUPLE, 0}, {"day", L_UNIT, 0}, {"days", L_UNIT, 0}, {"dearest", L_PRICIEST, 0},
    {"delete", L_VERB, 0},
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
    {"inches", L_UNIT, 0}, {"instead", L_CLAUSE, 0}, {"into", L_CLAUSE, 0}, {"is", L_VERB, 0},
    {"it", L_IT, 0},
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
    {"sort", L_CLAUSE, 0}, {"sorted", L_CLAUSE, 0},
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

int eng__ent_selfcheck(void)
{
    for (size_t i = 1; i < NLEX; i++)
        if (strcmp(lex[i - 1].w, lex[i].w) >= 0)
            return -1;
    return 0;
}

static int cuecmp(const void *k, const void *e) { return strcmp(k, ((const ent_cue *)e)->w); }

const ent_cue *eng__ent_cue(const char *w, size_t n)
{
    /* w is NUL-terminated at n; no cue word is that long */
    return n < 16 ? bsearch(w, lex, NLEX, sizeof lex[0], cuecmp) : NULL;
}

/* ------------------------------------------------------------ phrases */
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

bool eng__ent_is_colour(const char *w, size_t n)
{
    for (size_t i = 0; i < sizeof builtin_colors / sizeof builtin_colors[0]; i++)
        if (strlen(builtin_colors[i][0]) == n && strncasecmp(builtin_colors[i][0], w, n) == 0)
            return true;
    return false;
}

static const char *const builtin_sizes[][2] = {
    {"xxs", "XXS"}, {"xs", "XS"}, {"extra small", "XS"}, {"x small", "XS"}, {"small", "S"},
    {"medium", "M"}, {"large", "L"}, {"xl", "XL"}, {"extra large", "XL"}, {"x large", "XL"},
    {"xxl", "XXL"}, {"xx large", "XXL"}, {"2xl", "XXL"}, {"xxxl", "XXXL"}, {"3xl", "XXXL"},
};

/* Normalise a phrase into `norm` (pool) and its hash; 0 words = skip. */
static int phrase(eng_pool *pool, const char *s, const char **norm, uint64_t *h)
{
    ent_tok t[ENT_MAXTOK + 1];
    size_t len = strlen(s), k = 0;
    size_t n = eng__ent_tokenize((const unsigned char *)s, len, t, ENT_MAXTOK + 1);
    char buf[ENT_NORM_MAX];
    size_t bl = 0;
    *h = 0;
    for (size_t i = 0; i < n && i <= ENT_MAXTOK; i++) {
        if (t[i].kind == TK_SYM)
            continue;
        if (++k > ENT_MAXTOK)
            return 0;
        bl = eng__ent_join(buf, bl, (const unsigned char *)s, &t[i]);
        *h = eng__ent_mix(*h, t[i].h);
    }
    if (!k || n > ENT_MAXTOK)
        return 0;
    *norm = eng__pool_strndup(pool, buf, bl);
    return *norm ? (int)k : -1;
}

ent_phrase *eng__ent_vfind(const eng__ent_vocab *v, uint64_t h, const char *norm)
{
    for (size_t i = h & (v->cap - 1);; i = (i + 1) & (v->cap - 1)) {
        ent_phrase *e = &v->tab[i];
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
    ent_phrase *e = eng__ent_vfind(v, h, norm);
    if (e->norm && !replace)
        return 0;
    const char *c = eng__pool_strdup(v->pool, canon);
    if (!c)
        return -1;
    *e = (ent_phrase){h, norm, c, (uint8_t)k, (uint8_t)type};
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
            ent_phrase *e = eng__ent_vfind(v, h, norm);
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
