/* engine/nlu/entities.c — finds quantities, money and price ranges, sizes,
 * colours, brands, categories, order numbers, e-mail addresses and
 * references to shown products in a shopper's message. A hand-written
 * tokenizer with byte offsets, a small sorted table of cue words and a
 * hashed phrase table (both in entities_vocab.c): no regex engine, no
 * allocation for usual texts. */
#include "entities_int.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const currencies[] = {NULL, "USD", "EUR", "GBP"};
static const char *const systems[] = {NULL, "EU", "US", "UK"};

/* ------------------------------------------------------------ tokenizer */
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

/* Fold a word for matching: ASCII lower case, apostrophes dropped, then a
 * light plural strip so that "boots" finds "boot" and "men's" "mens". */
static size_t fold(const unsigned char *s, size_t n, char *out, bool stem)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k < ENT_STEM_MAX - 1; i++) {
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

static void classify(const unsigned char *s, ent_tok *t)
{
    char buf[ENT_STEM_MAX];
    size_t n = fold(s + t->s, t->e - t->s, buf, false);
    const ent_cue *w = eng__ent_cue(buf, n);
    /* "budget's about 800": the word before its "'s" */
    if (!w && t->e - t->s > 2 && s[t->e - 1] == 's' && s[t->e - 2] == '\'' && n > 1) {
        buf[n - 1] = '\0';   /* eng__ent_cue reads a NUL-terminated word */
        w = eng__ent_cue(buf, n - 1);
    }
    if (w)
        t->lx = w->id, t->val = w->val;
    n = fold(s + t->s, t->e - t->s, buf, true);
    t->h = fnv(buf, n);
}

size_t eng__ent_tokenize(const unsigned char *s, size_t len, ent_tok *out, size_t max)
{
    size_t n = 0, i = 0;
    while (i < len) {
        ent_tok t = {0};
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

size_t eng__ent_join(char *norm, size_t bl, const unsigned char *s, const ent_tok *t)
{
    char w[ENT_STEM_MAX];
    size_t wl = fold(s + t->s, t->e - t->s, w, true);
    if (bl)
        norm[bl++] = ' ';
    memcpy(norm + bl, w, wl);
    return bl + wl;
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
    ent_tok *t;
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
static bool word_in(const X *x, size_t i, const char *const *ws);

/* "twice", "thrice", "3 times": how many times a product is wanted. */
static bool times_said(const X *x, size_t j)
{
    static const char *const times[] = {"twice", "thrice", NULL};
    static const char *const word[] = {"times", NULL};
    return (word_in(x, j, times) && !word_in(x, j + 1, (const char *const[]){"as", NULL})) ||
           (j + 1 < x->n && (x->t[j].kind == TK_NUM || is(x, j, L_NUM) || is(x, j, L_ONE)) && word_in(x, j + 1, word));
}

static bool clause_end(const X *x, size_t j)
{
    if (j >= x->n)
        return true;
    /* "add the cheapest twice", "the second one 3 times" */
    if (times_said(x, j))
        return true;
    const ent_tok *t = &x->t[j];
    if (t->kind == TK_SYM)
        return strchr(",.!?;:)\"", t->ch) != NULL;
    /* "phones under 400 pls", "laptops under 1500 thx": courtesy ends it */
    if (word_in(x, j, (const char *const[]){"pls", "plz", "please", "thx", "thanks", "ty", "cheers", "mate",
                                            "lol", "asap", NULL}))
        return true;
    /* an order or a comparison starts a phrase of its own: "under 120
     * cheapest first", "below 500 best rated" */
    return t->kind == TK_WORD && (t->lx == L_CLAUSE || t->lx == L_AND || t->lx == L_OR || t->lx == L_SIZE ||
                                  t->lx == L_CHEAPEST || t->lx == L_CHEAPER || t->lx == L_EXPENSIVE ||
                                  t->lx == L_BEST || t->lx == L_MOST || t->lx == L_PRICIEST || t->lx == L_PRICIER ||
                                  t->lx == L_RATED);
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
        const ent_tok *t = &x->t[i];
        if (sym(x, i, '#') && t->e < x->len && is_alnum(x->s[t->e])) {
            size_t e = id_end(x, t->e, &d);
            /* the shop's own numbers start at #1: "order #7" is one,
             * a bare "#7" only from three characters on */
            bool after_order = (i >= 1 && is(x, i - 1, L_ORDER)) || (i >= 2 && is(x, i - 2, L_ORDER));
            if (d && (e - t->e >= 3 || (after_order && d == e - t->e))) {
                eng__ent *en = emit_bytes(x, ENG_ENT_ORDER, t->s, e);
                if (en)
                    en->vs = t->e;
            }
        } else if (is(x, i, L_ORDER)) {
            /* "order 123456789", "order number: A-1234", "my order is 123456" */
            for (size_t j = i + 1; j < x->n && j <= i + 4; j++) {
                const ent_tok *u = &x->t[j];
                if (u->used || (u->kind == TK_WORD && u->lx != L_NUMBER && u->lx != L_NO && u->lx != L_VERB &&
                                !(u->e - u->s > 1 && id_end(x, u->s, &d) >= u->e && d >= 3)))
                    break;
                if (u->kind == TK_SYM && u->ch == '#')
                    break;   /* the '#' rule takes it */
                if (u->kind == TK_SYM)
                    continue;
                size_t e = id_end(x, u->s, &d);
                /* "order number 7", "order no. 12": said to be a number */
                bool said = j >= 2 && (x->t[j - 1].lx == L_NUMBER || x->t[j - 1].lx == L_NO ||
                                       (x->t[j - 1].kind == TK_SYM && j >= 3 &&
                                        (x->t[j - 2].lx == L_NUMBER || x->t[j - 2].lx == L_NO)));
                if ((d >= 3 && e - u->s >= 4) || (said && d && d == e - u->s)) {
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
static bool numword(const X *x, size_t i, double *v, size_t *k);
static bool word_in(const X *x, size_t i, const char *const *ws);

static size_t amount(const X *x, size_t i, amt *a)
{
    size_t j = i;
    a->cur = cur_sym(x, j);
    if (a->cur)
        j++;
    else if (is(x, j, L_CUR) && x->t[j].e - x->t[j].s == 3 && num(x, j + 1))
        a->cur = currencies[x->t[j++].val];
    /* "under fifty", "less than a grand": an amount in words */
    static const char *const grand[] = {"grand", NULL};
    static const char *const a_[] = {"a", NULL};
    double wv;
    size_t wk;
    if (!a->cur && word_in(x, j, a_) && word_in(x, j + 1, grand)) {
        a->v = 1000;
        j += 2;
        if (cur_sym(x, j))
            a->cur = cur_sym(x, j++);
        else if (is(x, j, L_CUR))
            a->cur = currencies[x->t[j++].val];
        return j;
    }
    if (!a->cur && !num(x, j) && numword(x, j, &wv, &wk) && wv >= 10) {
        a->v = wv;
        j = wk;
        if (cur_sym(x, j))
            a->cur = cur_sym(x, j++);
        else if (is(x, j, L_CUR))
            a->cur = currencies[x->t[j++].val];
        return j;
    }
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


/* "nothing over 300", "not anything above 50", "don't show me anything
 * over 400": a negation among the four words before a lower bound (no
 * comma or "but" between) makes it the upper one. */
static bool negated_before(const X *x, size_t i)
{
    static const char *const no[] = {"nothing", "not", "none", "never", "dont", "nothin", "don't", "t", NULL};
    static const char *const turn[] = {"but", "and", "or", "then", NULL};
    for (size_t k = 1; k <= 4 && k <= i; k++) {
        if (x->t[i - k].kind != TK_WORD) {
            if (sym(x, i - k, '\''))
                continue;   /* "don ' t" */
            return false;
        }
        if (word_in(x, i - k, turn))
            return false;
        if (word_in(x, i - k, no))
            return true;
    }
    return false;
}

static void find_money(X *x)
{
    for (size_t i = 0; i < x->n; i++) {
        if (!free_tok(x, i))
            continue;
        int l = x->t[i].kind == TK_WORD ? x->t[i].lx : 0, bound = 0; /* 1 max, 2 min */
        size_t j = i + 1;
        bool weak = false;  /* a cue that often counts things, not money */
        /* a cue glued to a word by a hyphen is part of a name: "Z-MAX 4
         * in.", "hi-low", "x-over 2" */
        if (l && i >= 2 && sym(x, i - 1, '-') && x->t[i - 1].e == x->t[i].s && x->t[i - 2].e == x->t[i - 1].s &&
            x->t[i - 2].kind == TK_WORD)
            continue;
        if (l == L_BETWEEN || l == L_FROM) {
            if (range(x, i, i + 1, true))
                continue;
            bound = l == L_FROM ? 2 : 0;
        } else if (l == L_UNDER || l == L_WITHIN || l == L_MAX || l == L_BUDGET) {
            bound = 1;
            j += is(x, j, L_OF) || is(x, j, L_VERB);
            /* "budget's about 800", "budget is around 800", "a budget of
             * roughly 800": the budget is still the most to spend */
            static const char *const approx[] = {"s", "around", "roughly", "approximately", "about", "is", "of",
                                                 "max", "maximum", "say", NULL};
            while (l == L_BUDGET && j < x->n && (sym(x, j, '\'') || word_in(x, j, approx) || is(x, j, L_VERB)))
                j++;
        } else if ((l == L_LESS || l == L_CHEAPER) && is(x, i + 1, L_THAN)) {
            bound = 1, j = i + 2;
        } else if (l == L_AT && (is(x, i + 1, L_MOST) || is(x, i + 1, L_LEAST))) {
            bound = is(x, i + 1, L_MOST) ? 1 : 2, j = i + 2, weak = true;
        } else if (l == L_UP && is(x, i + 1, L_TO)) {
            bound = 1, j = i + 2, weak = true;
        } else if (l == L_NO && is(x, i + 1, L_MORE) && is(x, i + 2, L_THAN)) {
            bound = 1, j = i + 3, weak = true;
        } else if (l == L_OVER || l == L_MIN) {
            bound = negated_before(x, i) ? 1 : 2;   /* "nothing over 300" is at most 300 */
        } else if (l == L_MORE && is(x, i + 1, L_THAN)) {
            bound = negated_before(x, i) ? 1 : 2, j = i + 2, weak = true;
        } else if (l == L_STARTING && (is(x, i + 1, L_AT) || is(x, i + 1, L_FROM))) {
            bound = 2, j = i + 2;
        } else if (sym(x, i, '<') || sym(x, i, '>')) {
            bound = sym(x, i, '<') ? 1 : 2;
            j += sym(x, j, '=');
        } else if (word_in(x, i, (const char *const[]){"around", "about", "roughly", "approximately",
                                                        "approx", "circa", NULL})) {
            /* "laptops around 1500": a fifth either side */
            amt a;
            size_t k = amount(x, j, &a);
            if (k > j && a.v >= 10 && (a.cur || clause_end(x, k))) {
                money(x, i, k, a.v * 0.8, a.v * 1.2, NAN, a.cur);
                i = k - 1;
            }
            continue;
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
static const ent_phrase *vmatch(const X *x, size_t i, size_t *end)
{
    if (!x->v || !free_tok(x, i) || x->t[i].kind == TK_SYM)
        return NULL;
    uint64_t h[ENT_MAXTOK + 1];
    size_t idx[ENT_MAXTOK], k = 0;
    h[0] = 0;
    for (size_t j = i; j < x->n && k < (size_t)x->v->maxtok; j = next_word(x, j), k++)
        idx[k] = j, h[k + 1] = eng__ent_mix(h[k], x->t[j].h);
    for (; k > 0; k--) {
        char norm[ENT_NORM_MAX];
        size_t bl = 0;
        for (size_t m = 0; m < k; m++)
            bl = eng__ent_join(norm, bl, x->s, &x->t[idx[m]]);
        norm[bl] = 0;
        const ent_phrase *e = eng__ent_vfind(x->v, h[k], norm);
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
            const ent_phrase *ve;
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
    /* "the top one", "the bottom item" of a list: its first and last
     * ("top rated", "the top 3 cheapest" are rankings) */
    static const char *const ones[] = {"one", "item", "line", "product", "thing", "entry", NULL};
    if (word_in(x, j, (const char *const[]){"top", "bottom", "topmost", "bottommost", NULL}) &&
        word_in(x, j + 1, ones)) {
        *idx = word_in(x, j, (const char *const[]){"top", "topmost", NULL}) ? 0 : -1, *k = j + 1;
        return true;
    }
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

static size_t negation_before(const X *x, size_t i);
static bool word_is(const X *x, size_t i, const char *w);

static eng__ent *ref(X *x, eng__ref_kind kind, size_t i, size_t k, bool plural)
{
    eng__ent *e = emit(x, ENG_ENT_REFERENCE, i, k);
    e->ref = kind, e->plural = plural;
    /* "the second and third but not the fourth", "all except the
     * cheapest": left out, not pointed at ("no the fourth" answers a
     * question: "no" and "nothing" are no cue here) */
    size_t cue = negation_before(x, i);
    if (cue < i && !word_is(x, cue, "no") && !word_is(x, cue, "nothing"))
        e->negated = true;
    return e;
}

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

/* After an ordinal reference ends at `p`: the ordinals a list adds to
 * it ("the first and third", "the 1st, 3rd and 5th ones"), each a
 * reference of its own; returns where the list ends. */
static size_t more_ordinals(X *x, size_t p)
{
    for (;;) {
        size_t q = p;
        if (!(is(x, q, L_AND) || sym(x, q, ',') || sym(x, q, '&')))
            return p;
        q++;
        q += is(x, q, L_AND);
        q += is(x, q, L_THE);
        int idx;
        size_t k;
        bool pl;
        if (!ordinal(x, q, &idx, &k))
            return p;
        bool noun = nounish(x, k, &pl);
        if (!noun && !clause_end(x, k) && !is(x, k, L_TO))
            return p;
        ref(x, ENG_REF_ORDINAL, q, k + noun, false)->index = idx;
        p = k + noun;
    }
}

/* "the first two", "the first 3 ones": one ordinal reference a product,
 * all on the same words; returns the end, or 0 when it is no range. */
static size_t first_n(X *x, size_t i, size_t j)
{
    double n;
    size_t k;
    if (!is(x, j, L_ORD) || x->t[j].val != 0)
        return 0;
    if (plain_int(x, j + 1))
        n = x->t[j + 1].num, k = j + 2;
    else if (!numword(x, j + 1, &n, &k))
        return 0;
    bool pl;
    bool noun = nounish(x, k, &pl);
    if (n < 2 || n > 10 || n != floor(n) || (!noun && !clause_end(x, k) && !is(x, k, L_TO)))
        return 0;
    for (int m = 0; m < (int)n; m++)
        ref(x, ENG_REF_ORDINAL, i, k + noun, true)->index = m;
    return k + noun;
}

/* "the two cheapest", "the 3 best rated ones": as many comparative
 * references, ranked (index 0 the cheapest, 1 the next, ...), all on the
 * same words; returns the end, or 0 when it is no such phrase. */
static size_t top_n(X *x, size_t i, size_t j)
{
    double n;
    size_t k, end;
    if (plain_int(x, j))
        n = x->t[j].num, k = j + 1;
    else if (!numword(x, j, &n, &k))
        return 0;
    eng__ref_cmp c = ENG_CMP_CHEAPEST;
    if (n < 2 || n > 10 || n != floor(n) || !comparative(x, k, &c, &end))
        return 0;
    bool pl;
    bool noun = nounish(x, end, &pl);
    if (!noun && !clause_end(x, end) && !is(x, end, L_TO))
        return 0;
    for (int m = 0; m < (int)n; m++) {
        eng__ent *e = ref(x, ENG_REF_COMPARATIVE, i, end + noun, true);
        e->cmp = c, e->index = m;
    }
    return end + noun;
}

/* A word that says how a product is after "is the third": "available",
 * "any good", "still in stock", "worth it". */
static bool state_word(const X *x, size_t i)
{
    static const char *const states[] = {"available", "any", "still", "worth", "good", "okay", "ok", "decent",
                                         "waterproof", "returnable", "new", "big", "small", "heavy", "light",
                                         NULL};
    return free_tok(x, i) && word_in(x, i, states);
}

/* A word that makes a phrase with an ordinal before it ("first aid",
 * "first time", "second hand"): the ordinal is not a place in a list. */
static bool ordinal_phrase(const X *x, size_t i)
{
    static const char *const w[] = {"aid", "time", "times", "class", "hand", "party", "edition", "place",
                                    "person", "day", "half", "rate", "floor", "grade", "generation", "gen",
                                    "season", "date", "impression", "prize", "choice", "look", "thought",
                                    "round", "step", "world", NULL};
    return word_in(x, i, w);
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
        const ent_phrase *ve;
        size_t k2;
        if ((k = first_n(x, i, j)) != 0 || (the && (k = top_n(x, i, j)) != 0)) {
            i = k - 1;
        } else if ((the || verb) && ordinal(x, j, &idx, &k) && idx >= 0 && idx < 10 &&
                   comparative(x, k, &c, &k2)) {
            /* "the second cheapest", "the 3rd best rated one": the place
             * in that order, not in the list */
            bool noun = nounish(x, k2, &pl);
            eng__ent *e = ref(x, ENG_REF_COMPARATIVE, i, k2 + noun, pl);
            e->cmp = c, e->index = idx;
            i = k2 + noun - 1;
        } else if (ordinal(x, j, &idx, &k) || comparative(x, j, &c, &k)) {
            bool ord = ordinal(x, j, &idx, &k);
            bool noun = nounish(x, k, &pl);
            /* "the cheapest of those", "the second of them": the list
             * named after "of" is the one shown */
            if (!noun && the && is(x, k, L_OF) && (is(x, k + 1, L_THESE) || is(x, k + 1, L_THEM)))
                k += 2;
            /* "the cheaper of the two": the two just compared, never a
             * quantity of two */
            else if (!noun && the && is(x, k, L_OF) && is(x, k + 1, L_THE) && is(x, k + 2, L_NUM) &&
                     clause_end(x, k + 3))
                k += 3;
            /* "add the second to my cart", "the cheapest to the basket"
             * (not "the second to last") */
            bool to_place = the && is(x, k, L_TO) && !is(x, k + 1, L_ORD);
            /* "the second watch", "the third pair of shoes": a kind the
             * catalog names after it (not "the first aid kit"); "is the
             * third available", "is the fourth any good": a state */
            size_t kind_end = 0;
            /* (ordinals only: "the cheapest samsung" is a search by brand) */
            const ent_phrase *kp = the && ord && !noun ? vmatch(x, k, &kind_end) : NULL;
            bool kind = kp && (kp->type == ENG_ENT_CATEGORY || kp->type == ENG_ENT_BRAND);
            /* "the fourth is too expensive", "the second looks nice": a
             * verb of being after the place in the list */
            bool state = the && ord && !noun &&
                         (state_word(x, k) || word_in(x, k, (const char *const[]){"is", "was", "looks", "seems",
                                                                                     "sounds", "costs", NULL}));
            /* "the second watch": a word of no cue after it is what the
             * list holds, unless the two are a phrase of their own ("the
             * first aid kit", "the first time") */
            if (!kind && !state && the && !noun && ord && free_tok(x, k) && x->t[k].kind == TK_WORD &&
                x->t[k].lx == 0 && !ordinal_phrase(x, k) && clause_end(x, k + 1))
                noun = true, pl = false;
            if (kind) {
                noun = true, pl = false;
                k = kind_end - 1;   /* the span ends after the kind's words */
            }
            if (noun || (the && clause_end(x, k)) || to_place || state) {
                eng__ent *e = ref(x, ord ? ENG_REF_ORDINAL : ENG_REF_COMPARATIVE, i, k + noun, pl);
                e->index = ord ? idx : 0, e->cmp = ord ? 0 : c;
                i = (ord ? more_ordinals(x, k + noun) : k + noun) - 1;
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
        } else if ((is(x, i, L_THIS) && (verb || prev == L_OF) && (clause_end(x, i + 1) || is(x, i + 1, L_PLUS))) ||
                   (is(x, i, L_IT) && verb)) {
            /* "take that", "3 of that plus a spatula" */
            ref(x, ENG_REF_DEMONSTRATIVE, i, i + 1, false);
        } else if ((is(x, i, L_THESE) || is(x, i, L_THEM)) && (verb || prev == L_OF)) {
            ref(x, ENG_REF_DEMONSTRATIVE, i, i + 1, true);
        }
    }
}

/* --- quantities */

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
        else if (num(x, i) && !sfx_len(x, i) && (prev == L_THE || prev == L_THIS) &&
                 !(i >= 2 && word_in(x, i - 2, (const char *const[]){"make", "change", "set", NULL})) &&
                 (clause_end(x, i + 1) ||
                  word_in(x, i + 1, (const char *const[]){"is", "one", "model", "instead", "not", "then", "please",
                                                           "pls", "version", "plus", "pro", "max", "mini", "would",
                                                           "will", "looks", "seems", "was", "or", "and", NULL})))
            continue;   /* "no wait the 6", "the 7 is cheaper": a model named, not a count */
        else if (is(x, i, L_ONE) && i > 0 &&
                 word_in(x, i - 1, (const char *const[]){"wrong", "other", "different", "right", "same", NULL}))
            continue;   /* "wrong one, the chanel": which, not how many */
        else if (times_said(x, i) && x->t[i].kind == TK_WORD && !is(x, i, L_NUM) && !is(x, i, L_ONE))
            v = lower(x->s[x->t[i].s]) == 't' && x->t[i].e - x->t[i].s == 5 ? 2 : 3;   /* "twice", "thrice" */
        else if (numword(x, i, &v, &k))
            ;
        else if (num(x, i) && !x->t[i].dec && (!sfx_len(x, i) || sfx(x, i, "x") || sfx(x, i, "pcs")) &&
                 !sym(x, i + 1, '%') && !(sym(x, i + 1, ':') && x->t[i + 1].s == x->t[i].e) &&
                 !(i > 0 && x->t[i - 1].kind == TK_SYM && x->t[i - 1].e == x->t[i].s && strchr(":.,/", x->t[i - 1].ch)))
            v = x->t[i].num;
        else if (free_tok(x, i) && x->t[i].kind == TK_WORD && lower(x->s[x->t[i].s]) == 'x' &&
                 x->t[i].e - x->t[i].s >= 2 && x->t[i].e - x->t[i].s <= 4 && prev != L_THE && prev != L_THIS) {
            v = 0;   /* x3 */
            for (size_t p = x->t[i].s + 1; p < x->t[i].e && v >= 0; p++)
                v = is_digit(x->s[p]) ? v * 10 + (x->s[p] - '0') : -1;
        }
        if (v < 0 || (is(x, k, L_UNIT) && !word_in(x, k, (const char *const[]){"times", NULL})) || is(x, k, L_CUR))
            continue;
        if (is(x, k, L_DOZEN))
            v *= 12, k++;
        if (v > 999)
            continue;
        k += is(x, k, L_PCS);
        if (is(x, k - 1, L_COUPLE) && is(x, k, L_OF))
            k++;
        k += word_in(x, k, (const char *const[]){"times", NULL});   /* "3 times" */
        emit(x, ENG_ENT_QUANTITY, i, k)->num = v;
        i = k - 1;
    }
}

/* "add 2 kiwis, sorry, 3", "three lemons no wait four": a count said
 * again after a word that corrects it is the count meant; the earlier
 * one is marked negated (left out). Not "3 eggs and 2 milks" (no
 * correction between), "2 kiwis, actually 3 lemons too" (an add) nor
 * "two, actually, one is for my sister" (a subject). */
static void fix_counts(X *x)
{
    static const char *const marks[] = {"wait", "sorry", "oops", "whoops", "mean", "meant", "rather", "actually",
                                        "correction", "no", "nope", "nah", "scratch", NULL};
    static const char *const more[] = {"too", "also", "aswell", "plus", "extra", "more", "another", NULL};
    eng__ent *q = NULL;
    for (size_t e = 0; e < x->cnt; e++) {
        eng__ent *b = &x->out[e];
        if (b->type != ENG_ENT_QUANTITY)
            continue;
        bool fixed = false, added = false;
        for (size_t i = 0; q && i < x->n; i++) {
            if (x->t[i].s >= q->end && x->t[i].e <= b->start)
                fixed |= word_in(x, i, marks) ||
                         (word_in(x, i, (const char *const[]){"make", NULL}) &&
                          word_in(x, i + 1, (const char *const[]){"that", "it", NULL}));
            if (x->t[i].s >= b->end)
                added |= word_in(x, i, more) ||
                         (word_in(x, i, (const char *const[]){"as", NULL}) &&
                          word_in(x, i + 1, (const char *const[]){"well", NULL}));
        }
        /* "make it two actually, one is for my sister": a subject, no count */
        for (size_t i = 0; fixed && i + 1 < x->n; i++)
            if (x->t[i].e == b->end)
                fixed = !word_in(x, i + 1, (const char *const[]){"is", "was", "will", "would", "goes", "gets", "can",
                                                                 "could", "should", "for", NULL});
        if (fixed && !added)
            q->negated = true;
        q = b;
    }
}

/* The word token i is w (ASCII, case-insensitive). */
static bool word_is(const X *x, size_t i, const char *w)
{
    size_t n = strlen(w);
    if (!free_tok(x, i) || x->t[i].kind != TK_WORD || x->t[i].e - x->t[i].s != n)
        return false;
    for (size_t k = 0; k < n; k++)
        if (lower(x->s[x->t[i].s + k]) != w[k])
            return false;
    return true;
}

static bool touching(const X *x, size_t a, size_t b) { return b < x->n && x->t[a].e == x->t[b].s; }

/* The word token i (ASCII, case-insensitive) is one of `ws`. */
static bool word_in(const X *x, size_t i, const char *const *ws)
{
    for (; *ws; ws++)
        if (i < x->n && x->t[i].kind == TK_WORD && x->t[i].e - x->t[i].s == strlen(*ws)) {
            size_t k = 0;
            while (k < x->t[i].e - x->t[i].s && lower(x->s[x->t[i].s + k]) == (*ws)[k])
                k++;
            if (k == x->t[i].e - x->t[i].s)
                return true;
        }
    return false;
}

/* A one-word brand matched through the plural fold: "apples" found the
 * brand "Apple" itself (not an alias such as "hokas", not "levis" for
 * "Levi's", whose words are written so). */
static bool plural_of_brand(const X *x, size_t j, const ent_phrase *e)
{
    if (e->ntok != 1 || !e->canon)
        return false;
    char a[ENT_STEM_MAX], c[ENT_STEM_MAX], cs[ENT_STEM_MAX];
    const ent_tok *t = &x->t[j];
    size_t an = fold(x->s + t->s, t->e - t->s, a, false);
    size_t cl = strlen(e->canon);
    size_t cn = fold((const unsigned char *)e->canon, cl, c, false);
    size_t csn = fold((const unsigned char *)e->canon, cl, cs, true);
    /* an alias: the phrase is not the brand's own name */
    if (strlen(e->norm) != csn || memcmp(e->norm, cs, csn) != 0)
        return false;
    return an != cn || memcmp(a, c, an) != 0;
}

/* The token where a negation before token i starts ("not", "no",
 * "except", "excluding", "without", "non", "other than", "anything but",
 * "but not"), over "from", "by", "the", "any", "made": "laptops not from
 * apple", "phones except samsung", "anything but red"; i when none. */
static size_t negation_before(const X *x, size_t i)
{
    static const char *const over[] = {"from", "by", "the", "any", "made", "a", "an", NULL};
    static const char *const cue[] = {"not", "no", "except", "excluding", "without", "non", "nothing", NULL};
    size_t j = i;
    while (j > 0 && i - j < 3 && word_in(x, j - 1, over))
        j--;
    if (j == 0)
        return i;
    if (word_in(x, j - 1, cue))
        return j - 1;
    /* "that aren't made by apple", "isnt from nike" */
    static const char *const nt[] = {"arent", "isnt", "aint", "wasnt", "werent", "aren't", "isn't", "ain't",
                                     "wasn't", "weren't", NULL};
    if (word_in(x, j - 1, nt))
        return j - 1;
    if (j >= 2 && word_is(x, j - 1, "than") && (word_is(x, j - 2, "other") || word_is(x, j - 2, "rather")))
        return j - 2;
    static const char *const all[] = {"anything", "everything", "all", NULL};
    if (j >= 2 && word_is(x, j - 1, "but") && word_in(x, j - 2, all))
        return j - 2;
    return i;
}

static void find_vocab(X *x, int min_words)
{
    for (size_t i = 0; i < x->n; i++) {
        size_t k;
        const ent_phrase *e = vmatch(x, i, &k);
        /* a brand is a name, not a thing there are several of: "apples"
         * are fruit, not the Apple brand */
        if (e && e->type == ENG_ENT_BRAND && plural_of_brand(x, k - 1, e))
            e = NULL;
        if (e && e->ntok >= min_words) {
            size_t cue = negation_before(x, i);
            eng__ent *ent = emit(x, e->type, i, k);
            ent->str = e->canon;
            if (cue < i && (e->type == ENG_ENT_BRAND || e->type == ENG_ENT_COLOR || e->type == ENG_ENT_CATEGORY)) {
                ent->negated = true;
                ent->start = x->t[cue].s;
            }
            i = k - 1;
        }
    }
}

/* --- dimensions and model numbers */
/* "60 x 32 x 72", "2 by 4", "3-1/2", "1/2": sizes of the product, not
 * prices or counts. Their tokens are claimed without an entity, so the
 * numbers stay words of the search. */
static void find_dims(X *x)
{
    for (size_t i = 0; i < x->n; i++) {
        if (!num(x, i))
            continue;
        size_t k = i + 1;
        /* NUM x NUM [x NUM]... */
        while ((word_is(x, k, "x") || word_is(x, k, "by") || sym(x, k, '*')) && num(x, k + 1))
            k += 2;
        /* NUM-NUM/NUM and NUM/NUM: a mixed number or a fraction */
        if (k == i + 1 && sym(x, k, '-') && touching(x, i, k) && num(x, k + 1) && touching(x, k, k + 1) &&
            sym(x, k + 2, '/') && touching(x, k + 1, k + 2) && num(x, k + 3) && touching(x, k + 2, k + 3))
            k += 4;
        else if (k == i + 1 && sym(x, k, '/') && touching(x, i, k) && num(x, k + 1) && touching(x, k, k + 1))
            k += 2;
        /* "a 12 in pan", "8 in knife": inches, when a product word
         * follows ("put 2 in my cart" is a count) */
        static const char *const not_product[] = {"my", "the", "your", "our", "stock", "it", "there", "cart",
                                                  "basket", "bag", "total", "a", "an", "one", NULL};
        if (k == i + 1 && plain_int(x, i) && (i == 0 || is(x, i - 1, L_A)) && word_is(x, k, "in") &&
            k + 1 < x->n && x->t[k + 1].kind == TK_WORD && x->t[k + 1].lx == L_NONE && !word_in(x, k + 1, not_product))
            k += 1;
        if (k == i + 1)
            continue;
        for (size_t m = i; m < k; m++)
            x->t[m].used = 1;
        i = k - 1;
    }
}

/* "iphone 6", "dell xps 13 9300", "vivo x21", "model 42-A": a number
 * right after a product word (a word that is no cue: not "add", "under",
 * "it", "of"...) names the model, not a count or a price. Its tokens are
 * claimed without an entity, so they stay words of the search. Runs after
 * prices and sizes ("phones 200-300", "size 10") have taken theirs. */
static void find_models(X *x)
{
    static const char *const not_names[] = {"me", "i", "im", "us", "we", "you", "u", "just", "only", "like",
                                            "have", "got", "those", "these", "them", "that", "ones", "another",
                                            "qty", "x", "pls", "please", "plz", "and", "or", "with", "for",
                                            "in", "on", "at", "all", "any", "some", "out", "off", "up",
                                            "down", "away", "back",
                                            /* "add 4 kiwis oops 2": a count corrected */
                                            "oops", "whoops", "sorry", "wait", "nope", "nah", "actually",
                                            "mean", "meant", "rather", NULL};
    for (size_t i = 1; i < x->n; i++) {
        const ent_tok *pv = &x->t[i - 1];
        if (pv->kind != TK_WORD || pv->lx != L_NONE || word_in(x, i - 1, not_names))
            continue;
        bool model_num = plain_int(x, i);
        /* "x21": a letter and two digits or more after a name */
        bool model_word = false;
        if (free_tok(x, i) && x->t[i].kind == TK_WORD && lower(x->s[x->t[i].s]) == 'x' &&
            x->t[i].e - x->t[i].s >= 3) {
            model_word = true;
            for (size_t p = x->t[i].s + 1; p < x->t[i].e; p++)
                model_word = model_word && is_digit(x->s[p]);
        }
        if (!model_num && !model_word)
            continue;
        if (model_num && (is(x, i + 1, L_UNIT) || is(x, i + 1, L_CUR) || is(x, i + 1, L_PCS) || is(x, i + 1, L_NOUNS) ||
                          is(x, i + 1, L_OF)))
            continue;   /* "apples 3 pcs", "shoes 50 dollars": counts and prices */
        size_t k = i + 1;
        /* "42-A": a dash and a letter or digits touching the number */
        if (sym(x, k, '-') && touching(x, i, k) && k + 1 < x->n && touching(x, k, k + 1) && free_tok(x, k + 1) &&
            x->t[k + 1].kind != TK_SYM)
            k += 2;
        for (size_t m = i; m < k; m++)
            x->t[m].used = 1;
        i = k - 1;
    }
}

int eng__ent_extract(const eng__ent_vocab *v, const char *text, size_t len, eng__ent *out, size_t max)
{
    ent_tok stack[512];
    X x = {.s = (const unsigned char *)text, .len = text ? len : 0, .t = stack, .v = v, .out = out, .max = max};
    if (len > UINT32_MAX - 1)
        x.len = UINT32_MAX - 1;   /* offsets are 32-bit; nobody sends 4 GiB */
    x.n = eng__ent_tokenize(x.s, x.len, stack, 512);
    if (x.n > 512) {
        if (!(x.t = eng__malloc(x.n * sizeof *x.t)))
            return ENG_ENOMEM;
        eng__ent_tokenize(x.s, x.len, x.t, x.n);
    }
    /* most specific first: each claims its tokens before looser rules look */
    find_emails(&x);
    find_orders(&x);
    find_dims(&x);
    find_money(&x);
    find_sizes(&x);
    find_refs(&x);
    find_models(&x);
    find_vocab(&x, 2);   /* "Hoka One One" before "one" counts */
    find_quantities(&x);
    find_vocab(&x, 1);
    for (size_t i = 1; i < x.cnt; i++)
        for (size_t j = i; j > 0 && out[j - 1].start > out[j].start; j--) {
            eng__ent tmp = out[j];
            out[j] = out[j - 1], out[j - 1] = tmp;
        }
    fix_counts(&x);
    if (x.t != stack)
        eng__free(x.t);
    return (int)x.cnt;
}
