/* stores/search_text.c — query understanding shared by every backend:
 * text normalisation (case, measurements and dimensions made canonical),
 * tokenising, edit distance for spelling correction and a stopword list.
 * Index and query pass through the same code so both sides agree. */
#include "store_int.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int store__buf_add(store__buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        char *p;
        while (cap < b->len + n + 1)
            cap *= 2;
        if (!(p = realloc(b->p, cap)))
            return STORE_ENOMEM;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

int store__buf_adds(store__buf *b, const char *s)
{
    return store__buf_add(b, s, strlen(s));
}

void store__buf_free(store__buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* Units people write after a number, mapped to one spelling.  Only
 * recognised right after a quantity, so "in" the preposition survives. */
static const struct { const char *alias, *canon; } units[] = {
    {"in", "in"}, {"inch", "in"}, {"inches", "in"},
    {"ft", "ft"}, {"foot", "ft"}, {"feet", "ft"},
    {"yd", "yd"}, {"yard", "yd"}, {"yards", "yd"},
    {"mm", "mm"}, {"cm", "cm"}, {"meter", "m"}, {"meters", "m"},
    {"gal", "gal"}, {"gallon", "gal"}, {"gallons", "gal"},
    {"qt", "qt"}, {"quart", "qt"}, {"quarts", "qt"},
    {"pt", "pt"}, {"pint", "pt"}, {"pints", "pt"},
    {"oz", "oz"}, {"ounce", "oz"}, {"ounces", "oz"},
    {"lb", "lb"}, {"lbs", "lb"}, {"pound", "lb"}, {"pounds", "lb"},
    {"ml", "ml"}, {"l", "l"}, {"liter", "l"}, {"liters", "l"},
    {"litre", "l"}, {"kg", "kg"}, {"g", "g"}, {"gram", "g"}, {"grams", "g"},
    {"v", "v"}, {"volt", "v"}, {"volts", "v"},
    {"w", "w"}, {"watt", "w"}, {"watts", "w"}, {"kw", "kw"},
    {"amp", "amp"}, {"amps", "amp"}, {"ah", "ah"}, {"mah", "mah"},
    {"btu", "btu"}, {"btus", "btu"}, {"psi", "psi"}, {"gpm", "gpm"},
    {"cfm", "cfm"}, {"rpm", "rpm"}, {"hp", "hp"}, {"mil", "mil"},
    {"gauge", "ga"}, {"ga", "ga"}, {"awg", "ga"},
    {"pack", "pk"}, {"pk", "pk"}, {"piece", "pc"}, {"pieces", "pc"},
    {"pc", "pc"}, {"count", "ct"}, {"ct", "ct"},
    {"gb", "gb"}, {"tb", "tb"}, {"mp", "mp"}, {"hz", "hz"},
};

static const char *unit_canon(const char *w, size_t n)
{
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strlen(units[i].alias) == n && !memcmp(units[i].alias, w, n))
            return units[i].canon;
    return NULL;
}

/* Lexical items of a text after lower-casing. */
enum { IT_NUM, IT_WORD, IT_X, IT_SLASH, IT_DASH, IT_INCH, IT_FOOT };

typedef struct item {
    int type;
    double num;
    const char *w;      /* into the lower-cased copy */
    size_t wn;
} item;

static int is_word_byte(unsigned char c)
{
    return isalnum(c) || c >= 0x80;
}

/* Split an alnum run that starts with digits: "2x4", "20v", "1.5". */
static size_t lex_run(const char *r, size_t n, item *it, size_t cap)
{
    size_t k = 0, i = 0;
    while (i < n && k < cap) {
        if (isdigit((unsigned char)r[i])) {
            size_t j = i;
            char tmp[32];
            while (j < n && (isdigit((unsigned char)r[j]) ||
                             (r[j] == '.' && j + 1 < n &&
                              isdigit((unsigned char)r[j + 1]))))
                j++;
            /* digits glued to letters that are not a unit or 'x': keep
             * the whole run as one word ("3m", "r13", "4k") */
            if (j < n && !(r[j] == 'x' && j + 1 < n &&
                           isdigit((unsigned char)r[j + 1]))) {
                size_t e = j;
                while (e < n && !isdigit((unsigned char)r[e]))
                    e++;
                if (e != n || !unit_canon(r + j, n - j)) {
                    it[k++] = (item){IT_WORD, 0, r + i, n - i};
                    return k;
                }
            }
            if (j - i >= sizeof tmp) {
                it[k++] = (item){IT_WORD, 0, r + i, j - i};
            } else {
                memcpy(tmp, r + i, j - i);
                tmp[j - i] = '\0';
                it[k++] = (item){IT_NUM, strtod(tmp, NULL), r + i, j - i};
            }
            i = j;
            if (i < n && r[i] == 'x' && k < cap) {
                it[k++] = (item){IT_X, 0, r + i, 1};
                i++;
            }
        } else {
            if (n - i == 1 && r[i] == 'x')
                it[k++] = (item){IT_X, 0, r + i, 1};
            else
                it[k++] = (item){IT_WORD, 0, r + i, n - i};
            return k;
        }
    }
    return k;
}

static size_t lex(char *t, item *it, size_t cap)
{
    size_t k = 0, i = 0, n = strlen(t);
    for (size_t j = 0; j < n; j++)
        t[j] = (char)tolower((unsigned char)t[j]);
    while (i < n && k < cap) {
        unsigned char c = (unsigned char)t[i];
        if (is_word_byte(c)) {
            size_t j = i;
            /* a run: alnum, a '.' between digits, an apostrophe between
             * letters (men's -> mens) squeezed out in place */
            char *w = t + i;
            size_t wn = 0;
            while (j < n) {
                unsigned char d = (unsigned char)t[j];
                if (is_word_byte(d)) {
                    w[wn++] = (char)d;
                    j++;
                } else if (d == '.' && wn && isdigit((unsigned char)w[wn - 1]) &&
                           j + 1 < n && isdigit((unsigned char)t[j + 1])) {
                    w[wn++] = '.';
                    j++;
                } else if (d == '\'' && wn && isalpha((unsigned char)w[wn - 1]) &&
                           j + 1 < n && isalpha((unsigned char)t[j + 1])) {
                    j++;
                } else {
                    break;
                }
            }
            if (isdigit((unsigned char)w[0])) {
                k += lex_run(w, wn, it + k, cap - k);
            } else if (w[0] == 'x' && wn > 1 && isdigit((unsigned char)w[1]) &&
                       k + 1 < cap && k &&
                       (it[k - 1].type == IT_NUM || it[k - 1].type == IT_INCH ||
                        it[k - 1].type == IT_FOOT ||
                        (it[k - 1].type == IT_WORD &&
                         unit_canon(it[k - 1].w, it[k - 1].wn)))) {
                /* "6 x6", "36 in. x18 ft.": the 'x' of a dimension typed
                 * against its second number (after a quantity only, so
                 * model names such as "X5" stay words) */
                it[k++] = (item){IT_X, 0, w, 1};
                k += lex_run(w + 1, wn - 1, it + k, cap - k);
            } else if (wn == 1 && w[0] == 'x') {
                it[k++] = (item){IT_X, 0, w, 1};
            } else {
                it[k++] = (item){IT_WORD, 0, w, wn};
            }
            i = j;
            continue;
        }
        if (c == '/')
            it[k++] = (item){IT_SLASH, 0, t + i, 1};
        else if (c == '-')
            it[k++] = (item){IT_DASH, 0, t + i, 1};
        else if (c == '"')
            it[k++] = (item){IT_INCH, 0, t + i, 1};
        else if (c == '\'')
            it[k++] = (item){IT_FOOT, 0, t + i, 1};
        else if (c == '*' && k && it[k - 1].type == IT_NUM)
            it[k++] = (item){IT_X, 0, t + i, 1};   /* "2*4" */
        i++;
    }
    return k;
}

static void fmt_num(double v, char *out, size_t cap)
{
    char *p;
    /* the range first: converting a double outside long long's range is
     * undefined behaviour (issue #12, found by fuzzing) */
    if (v > -1e15 && v < 1e15 && v == (double)(long long)v) {
        snprintf(out, cap, "%lld", (long long)v);
        return;
    }
    if (isfinite(v) && v == floor(v)) {   /* a whole number too big for the above */
        snprintf(out, cap, "%.0f", v);
        return;
    }
    snprintf(out, cap, "%.3f", v);
    p = out + strlen(out) - 1;
    while (*p == '0')
        *p-- = '\0';
    if ((p = strchr(out, '.')))
        *p = 'p';
}

/* Parse a quantity at it[*i]: number, fraction or mixed number, then an
 * optional unit.  Returns 1 and advances *i, or 0. */
static int quantity(const item *it, size_t n, size_t *i, double *v,
                    const char **unit)
{
    size_t k = *i;
    if (k >= n || it[k].type != IT_NUM)
        return 0;
    *v = it[k].num;
    *unit = NULL;
    k++;
    if (k + 1 < n && it[k].type == IT_SLASH && it[k + 1].type == IT_NUM &&
        it[k + 1].num > 0) {
        *v = *v / it[k + 1].num;
        k += 2;
    } else if (k + 2 < n && it[k].type == IT_NUM && it[k + 1].type == IT_SLASH &&
               it[k + 2].type == IT_NUM && it[k + 2].num > it[k].num) {
        *v += it[k].num / it[k + 2].num;       /* "1 1/2" */
        k += 3;
    } else if (k + 3 < n && it[k].type == IT_DASH && it[k + 1].type == IT_NUM &&
               it[k + 2].type == IT_SLASH && it[k + 3].type == IT_NUM &&
               it[k + 3].num > it[k + 1].num) {
        *v += it[k + 1].num / it[k + 3].num;   /* "1-1/2" */
        k += 4;
    }
    if (k < n && it[k].type == IT_INCH) {
        *unit = "in";
        k++;
    } else if (k < n && it[k].type == IT_FOOT) {
        *unit = "ft";
        k++;
    } else {
        size_t u = k;
        if (u < n && it[u].type == IT_DASH)
            u++;
        if (u + 1 < n && it[u].type == IT_WORD && it[u].wn == 2 &&
            (!memcmp(it[u].w, "sq", 2) || !memcmp(it[u].w, "cu", 2)) &&
            it[u + 1].type == IT_WORD && unit_canon(it[u + 1].w, it[u + 1].wn) &&
            !strcmp(unit_canon(it[u + 1].w, it[u + 1].wn), "ft")) {
            *unit = it[u].w[0] == 's' ? "sqft" : "cuft";
            k = u + 2;
        } else if (u < n && it[u].type == IT_WORD &&
                   (*unit = unit_canon(it[u].w, it[u].wn))) {
            k = u + 1;
        }
    }
    *i = k;
    return 1;
}

static int emit(store__buf *out, const char *s, size_t n)
{
    if (out->len && out->p[out->len - 1] != ' ' && store__buf_add(out, " ", 1))
        return STORE_ENOMEM;
    return store__buf_add(out, s, n);
}

int store__normalize(const char *text, int for_index, store__buf *out)
{
    size_t n = strlen(text ? text : ""), cnt, i = 0;
    char *t = malloc(n + 1);
    item *it = malloc((n + 1) * sizeof *it);
    int rc = 0;

    if (!t || !it) {
        free(t);
        free(it);
        return STORE_ENOMEM;
    }
    memcpy(t, text ? text : "", n + 1);
    cnt = lex(t, it, n + 1);
    if (!out->p)
        rc = store__buf_add(out, "", 0);
    while (i < cnt && !rc) {
        double v, v2;
        const char *u, *u2;
        char a[48], b[48], tok[112];
        if (quantity(it, cnt, &i, &v, &u)) {
            fmt_num(v, a, sizeof a);
            if (u) {
                snprintf(tok, sizeof tok, "%s%s", a, u);
                rc = emit(out, tok, strlen(tok));
            }
            if (!u || for_index)
                rc = rc ? rc : emit(out, a, strlen(a));
            /* dimensions: "2 x 4", "2x4", "2 in. x 4 in." -> "2x4" */
            while (!rc && i + 1 < cnt && it[i].type == IT_X) {
                size_t j = i + 1;
                if (!quantity(it, cnt, &j, &v2, &u2))
                    break;
                fmt_num(v2, b, sizeof b);
                snprintf(tok, sizeof tok, "%sx%s", a, b);
                rc = emit(out, tok, strlen(tok));
                if (!rc && u2) {
                    snprintf(tok, sizeof tok, "%s%s", b, u2);
                    rc = emit(out, tok, strlen(tok));
                }
                if (!rc && (!u2 || for_index))
                    rc = emit(out, b, strlen(b));
                memcpy(a, b, sizeof a);
                i = j;
            }
            continue;
        }
        /* a lone "x" after a name is a model ("iphone x"), not "times" */
        int model_x = it[i].type == IT_X && it[i].w && (it[i].w[0] | 0x20) == 'x' && i > 0 &&
                       it[i - 1].type == IT_WORD && (i + 1 == cnt || it[i + 1].type == IT_WORD);
        if (it[i].type == IT_WORD || (it[i].type == IT_X && (for_index || model_x)))
            rc = emit(out, it[i].w, it[i].wn);
        i++;
    }
    free(t);
    free(it);
    return rc;
}

size_t store__tokens(const char *norm, char **storage, char **tok, size_t max)
{
    size_t k = 0;
    char *save = NULL, *w;
    *storage = strdup(norm ? norm : "");
    if (!*storage)
        return 0;
    for (w = strtok_r(*storage, " ", &save); w && k < max;
         w = strtok_r(NULL, " ", &save))
        tok[k++] = w;
    return k;
}

int store__edit_distance(const char *a, size_t la, const char *b, size_t lb,
                         int max)
{
    int d[3][64];
    int *pp = d[0], *p = d[1], *c = d[2];
    if (la >= 63 || lb >= 63)
        return max + 1;
    if ((la > lb ? la - lb : lb - la) > (size_t)max)
        return max + 1;
    for (size_t j = 0; j <= lb; j++)
        p[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int best = c[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int cost = a[i - 1] != b[j - 1], v = p[j - 1] + cost;
            if (p[j] + 1 < v)
                v = p[j] + 1;
            if (c[j - 1] + 1 < v)
                v = c[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                pp[j - 2] + 1 < v)
                v = pp[j - 2] + 1;   /* transposition */
            c[j] = v;
            if (v < best)
                best = v;
        }
        if (best > max)
            return max + 1;
        int *tmp = pp;
        pp = p;
        p = c;
        c = tmp;
    }
    return p[lb];
}

int store__is_stopword(const char *w)
{
    static const char *const sw[] = {
        "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in",
        "into", "is", "it", "of", "on", "or", "that", "the", "to", "with",
        "without", "w", "me", "my", "i", "show", "find", "need", "want",
        "some", "any", "looking",
    };
    /* called for every word of every candidate the re-ranker reads: the
     * first letter rules out most of the list before any strcmp */
    for (size_t i = 0; i < sizeof sw / sizeof sw[0]; i++)
        if (sw[i][0] == w[0] && !strcmp(sw[i], w))
            return 1;
    return 0;
}
