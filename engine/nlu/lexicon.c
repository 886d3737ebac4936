/* engine/nlu/lexicon.c — the catalog as vocabulary: which category each
 * word of the catalog mostly names, a synonym lexicon on top ("perfume"
 * -> fragrances), and spelling correction towards catalog and shopping
 * words that never touches an English word (the word list, when there is
 * one). Everything is precomputed in eng__lex_finish; a turn hashes its
 * few words, and a misspelt word looks up its single-deletion variants
 * (SymSpell, distance 1 on both sides), never the whole vocabulary. */
#include "lexicon_int.h"
#include "entities_int.h"
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LW_CATALOG 1u   /* in a product's title, brand, category or tags */
#define LW_TAG 2u       /* in a tag or a category name: names a product type */
#define LW_SYN 4u       /* a synonym of the lexicon */
#define LW_SHOP 8u      /* a word spelling may correct to ("cheaper") */
#define LW_STOP 16u     /* a function word: never content, never corrected */
#define LW_CUE 32u      /* a shopping cue ("gift", "need") */
#define LW_BOUND 64u    /* starts a modifier ("for", "with", "under") */
#define LW_HEAD 128u    /* a lexicon head */
#define LW_BRAND 256u   /* in a product's brand */

#define WMAX 47         /* letters of a word we look at */

typedef struct lw {
    const char *key;    /* folded (plural-stripped) form: the table key */
    const char *surf;   /* the shortest surface form ("laptop") */
    const char *surf2;  /* the longest ("laptops"); spelling writes the closer */
    uint64_t h;
    uint32_t df, last;  /* products holding it; the last product counted */
    int32_t syn;        /* the head word's index (a synonym), else -1 */
    int32_t cat;        /* resolved category, else -1 */
    uint32_t flags;
} lw;

typedef struct pair { uint32_t w, c; } pair;
typedef struct dent { uint64_t h; uint32_t w; } dent;

struct eng__lex {
    eng_pool *pool;
    lw *w;
    size_t nw, capw;
    uint32_t *tab;      /* word index + 1; open addressing */
    size_t cap;
    const char **cats;
    size_t ncats, capc;
    pair *pairs;        /* (word, category) once per product, until finish */
    size_t npairs, cappairs;
    uint32_t nprod;
    dent *del;          /* spelling index: hashes of words and their deletions */
    size_t capdel;
    const uint64_t *dict; /* shared, immutable once loaded */
    size_t dictcap;
};

/* ------------------------------------------------------------ hashing */
static uint64_t hstr(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return eng__ent_mix(h, n) | 1;   /* never 0: 0 marks an empty slot */
}

/* the table key: ASCII lower case, plural folded ("watches" = "watche",
 * "berries" = "berry"); both sides of every lookup go through it */
static size_t fold(const char *s, size_t n, char *out)
{
    if (n > WMAX)
        n = WMAX;
    for (size_t i = 0; i < n; i++)
        out[i] = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] + 32) : s[i];
    if (n > 4 && memcmp(out + n - 3, "ies", 3) == 0) {
        out[n - 3] = 'y';
        n -= 2;
    } else if (n > 4 && (memcmp(out + n - 4, "ches", 4) == 0 || memcmp(out + n - 4, "shes", 4) == 0 ||
                         memcmp(out + n - 4, "sses", 4) == 0 || memcmp(out + n - 3, "xes", 3) == 0)) {
        n -= 2;   /* "watches" = "watch", "glasses" = "glass", "boxes" = "box" */
    } else if (n > 3 && out[n - 1] == 's' && out[n - 2] != 's' && out[n - 2] != 'u' &&
               (out[n - 2] != 'i' || n > 4))
        n--;   /* "kiwis" = "kiwi"; "this" and "iris" stay whole */
    out[n] = 0;
    return n;
}

/* ------------------------------------------------------------ the English word list */
/* One copy per path per process: about 100k hashes each, read once,
 * never freed, never changed after they are published (lexicons of
 * older catalog loads may still point at them). */
#define DICTS 4
static pthread_mutex_t dict_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char *path;
    uint64_t *set;
    size_t cap;
} dicts[DICTS];

static void dict_put(uint64_t *set, size_t cap, uint64_t h)
{
    for (size_t i = h & (cap - 1);; i = (i + 1) & (cap - 1))
        if (!set[i] || set[i] == h) {
            set[i] = h;
            return;
        }
}

static bool dict_has(const eng__lex *x, const char *w, size_t n)
{
    if (!x->dict)
        return false;
    uint64_t h = hstr(w, n);
    for (size_t i = h & (x->dictcap - 1);; i = (i + 1) & (x->dictcap - 1)) {
        if (!x->dict[i])
            return false;
        if (x->dict[i] == h)
            return true;
    }
}

static uint64_t *dict_read(const char *path, size_t *capp)
{
    size_t len = 0;
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    if (f && fseek(f, 0, SEEK_END) == 0) {
        long l = ftell(f);
        if (l > 0 && l < (64L << 20) && fseek(f, 0, SEEK_SET) == 0 && (text = malloc((size_t)l + 1)))
            len = fread(text, 1, (size_t)l, f), text[len] = 0;
    }
    if (f)
        fclose(f);
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    size_t cap = 1024;
    while (cap < lines * 2 + 2)
        cap *= 2;
    uint64_t *set = text && lines ? calloc(cap, sizeof *set) : NULL;
    for (char *p = text; set && p && *p;) {
        char *nl = strchr(p, '\n'), w[WMAX + 1];
        size_t n = nl ? (size_t)(nl - p) : strlen(p), k = 0;
        bool ok = n > 0 && n <= WMAX;
        for (size_t i = 0; ok && i < n; i++) {
            char c = p[i] >= 'A' && p[i] <= 'Z' ? (char)(p[i] + 32) : p[i];
            if (c == '\'')
                continue;   /* "women's" is "womens", as in messages */
            ok = c >= 'a' && c <= 'z';
            w[k++] = c;
        }
        if (ok && k)
            dict_put(set, cap, hstr(w, k));
        p = nl ? nl + 1 : NULL;
    }
    free(text);
    *capp = cap;
    return set;
}

/* The word list at path (NULL when it cannot be read). */
static const uint64_t *dict_get(const char *path, size_t *cap)
{
    const uint64_t *set = NULL;
    pthread_mutex_lock(&dict_mu);
    size_t i = 0;
    while (i < DICTS && dicts[i].path && strcmp(dicts[i].path, path) != 0)
        i++;
    if (i < DICTS && !dicts[i].path && (dicts[i].path = strdup(path)))
        dicts[i].set = dict_read(path, &dicts[i].cap);
    if (i < DICTS && dicts[i].path)
        set = dicts[i].set, *cap = dicts[i].cap;
    pthread_mutex_unlock(&dict_mu);
    return set;
}

/* ------------------------------------------------------------ the word table */
static lw *find(const eng__lex *x, const char *key, size_t n)
{
    if (!x->cap)
        return NULL;
    uint64_t h = hstr(key, n);
    for (size_t i = h & (x->cap - 1);; i = (i + 1) & (x->cap - 1)) {
        uint32_t k = x->tab[i];
        if (!k)
            return NULL;
        lw *e = &x->w[k - 1];
        if (e->h == h && strlen(e->key) == n && memcmp(e->key, key, n) == 0)
            return e;
    }
}

static int grow(eng__lex *x)
{
    size_t cap = x->cap ? x->cap * 2 : 1024;
    uint32_t *tab = eng__calloc(cap, sizeof *tab);
    if (!tab)
        return ENG_ENOMEM;
    for (size_t k = 0; k < x->nw; k++)
        for (size_t i = x->w[k].h & (cap - 1);; i = (i + 1) & (cap - 1))
            if (!tab[i]) {
                tab[i] = (uint32_t)k + 1;
                break;
            }
    eng__free(x->tab);
    x->tab = tab, x->cap = cap;
    return 0;
}

/* The entry for the surface word s[0..n), added when missing. */
static lw *intern(eng__lex *x, const char *s, size_t n)
{
    char key[WMAX + 1];
    size_t kn = fold(s, n, key);
    if (!kn)
        return NULL;
    lw *e = find(x, key, kn);
    if (e && n > strlen(e->surf2)) {
        char *sf = eng__pool_strndup(x->pool, s, n > WMAX ? WMAX : n);
        if (!sf)
            return NULL;
        for (char *p = sf; *p; p++)
            *p = *p >= 'A' && *p <= 'Z' ? (char)(*p + 32) : *p;
        e->surf2 = sf;
    }
    if (e && n < strlen(e->surf)) {
        /* the shorter surface is what spelling writes: "laptop", not "laptops" */
        const char *sf = eng__pool_strndup(x->pool, s, n);
        if (!sf)
            return NULL;
        for (char *p = (char *)sf; *p; p++)
            *p = *p >= 'A' && *p <= 'Z' ? (char)(*p + 32) : *p;
        e->surf = sf;
    }
    if (e)
        return e;
    if ((x->nw + 1) * 2 > x->cap && grow(x) < 0)
        return NULL;
    if (x->nw == x->capw) {
        size_t c = x->capw ? x->capw * 2 : 512;
        lw *nwv = eng__realloc(x->w, c * sizeof *nwv);
        if (!nwv)
            return NULL;
        x->w = nwv, x->capw = c;
    }
    char surf[WMAX + 1];
    size_t sn = n > WMAX ? WMAX : n;
    for (size_t i = 0; i < sn; i++)
        surf[i] = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] + 32) : s[i];
    e = &x->w[x->nw];
    *e = (lw){eng__pool_strndup(x->pool, key, kn), eng__pool_strndup(x->pool, surf, sn), NULL, hstr(key, kn), 0, 0,
              -1, -1, 0};
    e->surf2 = e->surf;
    if (!e->key || !e->surf)
        return NULL;
    for (size_t i = e->h & (x->cap - 1);; i = (i + 1) & (x->cap - 1))
        if (!x->tab[i]) {
            x->tab[i] = (uint32_t)++x->nw;
            break;
        }
    return e;
}

/* Words of s: runs of ASCII letters and digits (and bytes >= 0x80);
 * apostrophes inside a word are dropped ("j'adore" = "jadore"). Calls
 * fn for each with the word copied into a buffer. */
typedef int (*word_fn)(void *ctx, const char *w, size_t n, size_t start, size_t end);

static bool wordch(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80; }

static int words(const char *s, size_t len, word_fn fn, void *ctx)
{
    for (size_t i = 0; i < len;) {
        if (!wordch((unsigned char)s[i])) {
            i++;
            continue;
        }
        char w[WMAX + 1];
        size_t n = 0, st = i;
        while (i < len && (wordch((unsigned char)s[i]) || (s[i] == '\'' && i + 1 < len && wordch((unsigned char)s[i + 1]) && i > st))) {
            if (s[i] != '\'' && n < WMAX)
                w[n++] = s[i];
            i++;
        }
        w[n] = 0;
        int rc = fn(ctx, w, n, st, i);
        if (rc)
            return rc;
    }
    return 0;
}

/* ------------------------------------------------------------ building */
static const char *const stopwords[] = {
    "a", "about", "all", "also", "am", "an", "and", "any", "anything", "are", "around", "as", "at", "be", "been",
    "but", "by", "can", "could", "did", "do", "does", "dont", "for", "from", "get", "give", "go", "got", "had",
    "has", "have", "he", "her", "hers", "hey", "hi", "him", "his", "how", "i", "id", "if", "ill", "im", "in",
    "into", "is", "it", "its", "ive", "just", "kind", "let", "lets", "me", "might", "my", "of", "on", "one",
    "ones", "or", "our", "out", "pls", "plz", "please", "really", "see", "she", "should", "show", "so", "some",
    "that", "the", "their", "them", "then", "there", "these", "they", "this", "those", "to", "too", "u", "up",
    "us", "very", "was", "we", "what", "whats", "when", "where", "which", "who", "whom", "why", "will", "with",
    "would", "ya", "yo", "you", "your", "youre", "find", "search", "look", "looking", "want", "wanna", "need",
    "buy", "like", "likes", "love", "loves", "sell", "carry", "stock", "something", "anything", "thing",
    "things", "stuff", "under", "below", "over", "above", "less", "more", "than", "between", "cheap", "cheaper",
    "cheapest", "expensive", "only", "available", "price", "prices", "priced", "budget", "dollars", "dollar",
    "bucks", "much", "many", "good", "best", "nice", "great", "new", "options", "option", "type", "types",
    "sort", "sorted", "order", "high", "low", "highest", "lowest", "top", "rated", "tell", "stuff", "yes", "no",
    "not", "ok", "okay", "thanks", "thank", "sure", "other", "others", "same", "own", "get", "help", "shop",
    "store", "every", "each", "big", "small", "now", "today", "soon", "somebody", "someone", "who", "whose",
    NULL,
};
/* words that say the message is about buying something */
static const char *const cues[] = {
    "gift", "gifts", "present", "presents", "buy", "buying", "shopping", "shop", "need", "needs", "looking",
    "want", "wanted", "something", "ideas", "idea", "birthday", "christmas", "anniversary", "recommend",
    "suggest", "get", "purchase", "stuff", "things", "items", "order", "cheap", "cheapest", "cheaper", "price", "under", NULL,
};
/* words that begin a modifier: the product type comes before them */
static const char *const bounds[] = {
    "for", "with", "under", "below", "over", "above", "between", "that", "who", "which", "to", "from",
    "than", "like", "likes", "love", "loves", "into", "around", "about", "in", "on", "at", "by", NULL,
};

static int mark(eng__lex *x, const char *const *ws, uint32_t f)
{
    for (size_t i = 0; ws[i]; i++) {
        lw *e = intern(x, ws[i], strlen(ws[i]));
        if (!e)
            return ENG_ENOMEM;
        e->flags |= f;
    }
    return 0;
}

typedef struct synctx {
    eng__lex *x;
    int32_t head;
    uint32_t flags;
} synctx;

static int add_syn(void *c, const char *w, size_t n, size_t s, size_t e)
{
    synctx *k = c;
    (void)s, (void)e;
    lw *x = intern(k->x, w, n);
    if (!x)
        return ENG_ENOMEM;
    x->flags |= k->flags;
    if (k->head >= 0 && x->syn < 0 && (uint32_t)k->head != (uint32_t)(x - k->x->w))
        x->syn = k->head;
    return 0;
}

static int read_synonyms(eng__lex *x, const char *text)
{
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n'), *end = nl ? nl : p + strlen(p);
        const char *hash = memchr(p, '#', (size_t)(end - p));
        const char *stop = hash ? hash : end, *colon = memchr(p, ':', (size_t)(stop - p));
        if (colon) {
            const char *h = p;
            while (h < colon && (*h == ' ' || *h == '\t'))
                h++;
            size_t hn = (size_t)(colon - h);
            while (hn && (h[hn - 1] == ' ' || h[hn - 1] == '\t'))
                hn--;
            synctx k = {x, -1, LW_SHOP};
            if (!(hn == 5 && memcmp(h, "words", 5) == 0) && hn) {
                /* a head is a category name ("skin-care") or one catalog word */
                char hb[WMAX + 1];
                size_t m = 0;
                for (size_t i = 0; i < hn && m < WMAX; i++)
                    hb[m++] = h[i] == '-' || h[i] == ' ' ? '-' : h[i];
                lw *he = intern(x, hb, m);
                if (!he)
                    return ENG_ENOMEM;
                he->flags |= LW_HEAD;
                k.head = (int32_t)(he - x->w);
                k.flags = LW_SYN;
            }
            /* commas separate synonyms; a phrase counts by each of its words */
            int rc = words(colon + 1, (size_t)(stop - colon - 1), add_syn, &k);
            if (rc)
                return rc;
        }
        p = nl ? nl + 1 : NULL;
    }
    return 0;
}

int eng__lex_new(const char *synonyms, const char *dict, eng__lex **out)
{
    eng__lex *x = eng__calloc(1, sizeof *x);
    if (!x || !(x->pool = eng__pool_new(16384)))
        goto oom;
    if (mark(x, stopwords, LW_STOP) || mark(x, cues, LW_CUE) || mark(x, bounds, LW_BOUND | LW_STOP))
        goto oom;
    if (synonyms && read_synonyms(x, synonyms))
        goto oom;
    if (dict)
        x->dict = dict_get(dict, &x->dictcap);
    *out = x;
    return 0;
oom:
    eng__lex_free(x);
    return ENG_ENOMEM;
}

void eng__lex_free(eng__lex *x)
{
    if (!x)
        return;
    eng__free(x->w);
    eng__free(x->tab);
    eng__free(x->cats);
    eng__free(x->pairs);
    eng__free(x->del);
    eng__pool_free(x->pool);
    eng__free(x);
}

static int32_t cat_index(eng__lex *x, const char *c)
{
    for (size_t i = x->ncats; i-- > 0;)
        if (strcmp(x->cats[i], c) == 0)
            return (int32_t)i;
    if (x->ncats == x->capc) {
        size_t n = x->capc ? x->capc * 2 : 32;
        const char **nc = eng__realloc(x->cats, n * sizeof *nc);
        if (!nc)
            return -1;
        x->cats = nc, x->capc = n;
    }
    const char *d = eng__pool_strdup(x->pool, c);
    if (!d)
        return -1;
    x->cats[x->ncats] = d;
    return (int32_t)x->ncats++;
}

typedef struct prodctx {
    eng__lex *x;
    int32_t cat;
    uint32_t flags;
} prodctx;

static int add_word(void *c, const char *w, size_t n, size_t s, size_t e)
{
    prodctx *k = c;
    eng__lex *x = k->x;
    (void)s, (void)e;
    lw *l = intern(x, w, n);
    if (!l)
        return ENG_ENOMEM;
    l->flags |= LW_CATALOG | k->flags;
    if (l->last == x->nprod)
        return 0;   /* counted for this product already */
    l->last = x->nprod;
    l->df++;
    if (k->cat < 0)
        return 0;
    if (x->npairs == x->cappairs) {
        size_t cp = x->cappairs ? x->cappairs * 2 : 1024;
        pair *np = eng__realloc(x->pairs, cp * sizeof *np);
        if (!np)
            return ENG_ENOMEM;
        x->pairs = np, x->cappairs = cp;
    }
    x->pairs[x->npairs++] = (pair){(uint32_t)(l - x->w), (uint32_t)k->cat};
    return 0;
}

int eng__lex_add_product(eng__lex *x, const char *title, const char *brand, const char *category,
                         char *const *tags, size_t ntags)
{
    x->nprod++;
    prodctx k = {x, category && *category ? cat_index(x, category) : -1, 0};
    if (category && *category && k.cat < 0)
        return ENG_ENOMEM;
    int rc = 0;
    if (title)
        rc |= words(title, strlen(title), add_word, &k);
    if (brand) {
        k.flags = LW_BRAND;
        rc |= words(brand, strlen(brand), add_word, &k);
    }
    k.flags = LW_TAG;
    if (category)
        rc |= words(category, strlen(category), add_word, &k);
    for (size_t i = 0; i < ntags; i++)
        if (tags[i])
            rc |= words(tags[i], strlen(tags[i]), add_word, &k);
    if (category && *category) {
        /* the category's whole name as one key: "skin-care" */
        char cb[WMAX + 1];
        size_t m = 0;
        for (const char *p = category; *p && m < WMAX; p++)
            cb[m++] = *p == ' ' ? '-' : *p;
        lw *l = intern(x, cb, m);
        if (!l)
            return ENG_ENOMEM;
        l->cat = k.cat;
    }
    return rc ? ENG_ENOMEM : 0;
}

static int paircmp(const void *a, const void *b)
{
    const pair *p = a, *q = b;
    return p->w != q->w ? (p->w < q->w ? -1 : 1) : p->c != q->c ? (p->c < q->c ? -1 : 1) : 0;
}

static int del_put(eng__lex *x, const char *s, size_t n, uint32_t w)
{
    uint64_t h = hstr(s, n);
    for (size_t i = h & (x->capdel - 1);; i = (i + 1) & (x->capdel - 1)) {
        dent *d = &x->del[i];
        if (!d->h) {
            *d = (dent){h, w};
            return 0;
        }
        if (d->h == h && d->w == w)
            return 0;
    }
}

static bool alpha(const char *s)
{
    for (; *s; s++)
        if (*s < 'a' || *s > 'z')
            return false;
    return true;
}

int eng__lex_finish(eng__lex *x)
{
    /* a word names the category that holds most (60%) of its products;
     * a one-product word only when it is a tag (a product type) */
    if (x->npairs)
        qsort(x->pairs, x->npairs, sizeof *x->pairs, paircmp);
    for (size_t i = 0; i < x->npairs;) {
        size_t j = i;
        uint32_t w = x->pairs[i].w, best = 0, total = 0;
        int32_t bc = -1;
        while (j < x->npairs && x->pairs[j].w == w) {
            size_t k = j;
            while (k < x->npairs && x->pairs[k].w == w && x->pairs[k].c == x->pairs[j].c)
                k++;
            uint32_t cnt = (uint32_t)(k - j);
            total += cnt;
            if (cnt > best)
                best = cnt, bc = (int32_t)x->pairs[j].c;
            j = k;
        }
        lw *e = &x->w[w];
        if (e->cat < 0 && !(e->flags & LW_STOP) && best * 10 >= total * 6 && (best >= 2 || (e->flags & LW_TAG)))
            e->cat = bc;
        i = j;
    }
    eng__free(x->pairs);
    x->pairs = NULL, x->npairs = x->cappairs = 0;
    /* heads: a category's name, or a word with a category */
    for (size_t i = 0; i < x->nw; i++) {
        lw *e = &x->w[i];
        if (!(e->flags & LW_HEAD) || e->cat >= 0)
            continue;
        char name[WMAX + 2];
        for (size_t c = 0; c < x->ncats && e->cat < 0; c++) {
            size_t m = 0;
            for (const char *p = x->cats[c]; *p && m < WMAX; p++)
                name[m++] = *p == ' ' ? '-' : (*p >= 'A' && *p <= 'Z' ? (char)(*p + 32) : *p);
            name[m] = 0;
            char fk[WMAX + 1];
            fold(name, m, fk);
            if (strcmp(fk, e->key) == 0)
                e->cat = (int32_t)c;
        }
    }
    /* spelling targets: catalog, lexicon and shopping words */
    size_t want = 0;
    for (size_t i = 0; i < x->nw; i++)
        if (x->w[i].flags & (LW_CATALOG | LW_SYN | LW_SHOP | LW_HEAD))
            want += strlen(x->w[i].surf) + strlen(x->w[i].surf2) + 2;
    x->capdel = 1024;
    while (x->capdel < want * 2)
        x->capdel *= 2;
    if (!(x->del = eng__calloc(x->capdel, sizeof *x->del)))
        return ENG_ENOMEM;
    for (size_t i = 0; i < x->nw; i++)
        for (int v = 0; v < 2; v++) {
            const char *s = v ? x->w[i].surf2 : x->w[i].surf;
            size_t n = strlen(s);
            if (!(x->w[i].flags & (LW_CATALOG | LW_SYN | LW_SHOP | LW_HEAD)) || !alpha(s) || n < 3 ||
                (v && s == x->w[i].surf))
                continue;
            char b[WMAX + 1];
            del_put(x, s, n, (uint32_t)i);
            for (size_t k = 0; k < n; k++) {
                memcpy(b, s, k);
                memcpy(b + k, s + k + 1, n - k - 1);
                del_put(x, b, n - 1, (uint32_t)i);
            }
        }
    return 0;
}

/* ------------------------------------------------------------ queries */
static const lw *lookup(const eng__lex *x, const char *w, size_t n)
{
    char key[WMAX + 1];
    size_t kn = fold(w, n, key);
    return kn ? find(x, key, kn) : NULL;
}

const char *eng__lex_category_of(const eng__lex *x, const char *word)
{
    const lw *e = x ? lookup(x, word, strlen(word)) : NULL;
    if (!e)
        return NULL;
    if (e->syn >= 0 && x->w[e->syn].cat >= 0)
        return x->cats[x->w[e->syn].cat];
    return e->cat >= 0 ? x->cats[e->cat] : NULL;
}

bool eng__lex_names(const eng__lex *x, const char *word)
{
    const lw *e = x ? lookup(x, word, strlen(word)) : NULL;
    if (!e || (e->flags & (LW_STOP | LW_CUE | LW_BOUND)))
        return false;
    int32_t cat = e->syn >= 0 && x->w[e->syn].cat >= 0 ? x->w[e->syn].cat : e->cat;
    return (e->flags & (LW_CATALOG | LW_HEAD)) || cat >= 0;
}

const char *eng__lex_category(const eng__lex *x, const char *name)
{
    for (size_t i = 0; x && name && i < x->ncats; i++)
        if (strcmp(x->cats[i], name) == 0)
            return x->cats[i];
    return NULL;
}

size_t eng__lex_words(const eng__lex *x) { return x ? x->nw : 0; }
bool eng__lex_has_dict(const eng__lex *x) { return x && x->dict; }

/* Optimal string alignment distance, stopping past `max`. */
static int osa(const char *a, size_t n, const char *b, size_t m, int max)
{
    if ((n > m ? n - m : m - n) > (size_t)max)
        return max + 1;
    int d[WMAX + 2][WMAX + 2];
    for (size_t i = 0; i <= n; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= n; i++) {
        int row = max + 1;
        for (size_t j = 1; j <= m; j++) {
            int c = a[i - 1] != b[j - 1];
            int v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + c < v)
                v = d[i - 1][j - 1] + c;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
            if (v < row)
                row = v;
        }
        if (row > max)
            return max + 1;
    }
    return d[n][m];
}

static bool known(const eng__lex *x, const char *w, size_t n)
{
    const lw *e = lookup(x, w, n);
    if (e && (e->flags & (LW_CATALOG | LW_SYN | LW_SHOP | LW_STOP | LW_CUE | LW_HEAD)))
        return true;
    char key[WMAX + 1];
    size_t kn = fold(w, n, key);
    if (dict_has(x, w, n) || (kn != n && dict_has(x, key, kn)))
        return true;
    if (eng__ent_cue(key, kn))
        return true;
    return false;
}

/* The best correction of w (lower case, letters), or NULL. */
static const char *suggest(const eng__lex *x, const char *w, size_t n)
{
    int max = n >= 8 ? 2 : 1, bd = max + 1;
    const lw *best = NULL;
    const char *bs_ = NULL;
    char b[WMAX + 1];
    for (size_t k = 0; k <= n; k++) {
        /* k == n: the word itself; else the word less its k-th letter */
        size_t m = k == n ? n : n - 1;
        if (k < n) {
            memcpy(b, w, k);
            memcpy(b + k, w + k + 1, n - k - 1);
        } else
            memcpy(b, w, n);
        uint64_t h = hstr(b, m);
        for (size_t i = h & (x->capdel - 1); x->del[i].h; i = (i + 1) & (x->capdel - 1)) {
            if (x->del[i].h != h)
                continue;
            const lw *c = &x->w[x->del[i].w];
            const char *cw = c->surf;
            int d = osa(w, n, c->surf, strlen(c->surf), max);
            if (c->surf2 != c->surf) {
                int d2 = osa(w, n, c->surf2, strlen(c->surf2), max);
                if (d2 < d)
                    d = d2, cw = c->surf2;
            }
            if (d > max)
                continue;
            /* closer first; then the word more products use; shopping
             * words count as common */
            uint32_t cs = c->df + ((c->flags & (LW_SHOP | LW_SYN | LW_HEAD)) ? 1000u : 0u);
            uint32_t bs = best ? best->df + ((best->flags & (LW_SHOP | LW_SYN | LW_HEAD)) ? 1000u : 0u) : 0;
            if (d < bd || (d == bd && (cs > bs || (cs == bs && strcmp(cw, bs_) < 0))))
                best = c, bd = d, bs_ = cw;
        }
    }
    return bs_;
}

typedef struct corrctx {
    const eng__lex *x;
    const char *text;
    char *out;
    size_t cap, o, pos;
    char *fixes;
    size_t fcap, fo;
    int changed;
} corrctx;

static void emit(corrctx *c, const char *s, size_t n)
{
    if (c->o + n >= c->cap)
        n = c->o + 1 < c->cap ? c->cap - c->o - 1 : 0;
    memcpy(c->out + c->o, s, n);
    c->o += n;
}

/* "rainbird" -> "rain bird", "doorguard" -> "door guard": an unknown
 * word that is two catalog words written as one, each at least 3
 * letters; of several cuts the most even wins. */
static bool split_compound(const eng__lex *x, const char *w, size_t n, char *out, size_t cap)
{
    size_t best = 0, best_min = 0;
    for (size_t i = 3; i + 3 <= n; i++) {
        const lw *a = lookup(x, w, i), *b = lookup(x, w + i, n - i);
        if (!a || !b || !(a->flags & LW_CATALOG) || !(b->flags & LW_CATALOG))
            continue;
        size_t m = i < n - i ? i : n - i;
        if (m > best_min)
            best_min = m, best = i;
    }
    if (!best || n + 2 > cap)
        return false;
    snprintf(out, cap, "%.*s %.*s", (int)best, w, (int)(n - best), w + best);
    return true;
}

/* Whether the word of `text` that ends before offset s (past spaces) is
 * one of `list`, case aside. */
static bool word_before_in(const char *text, size_t s, const char *const *list)
{
    size_t b = s;
    while (b > 0 && text[b - 1] == ' ')
        b--;
    size_t a = b;
    while (a > 0 && isalpha((unsigned char)text[a - 1]))
        a--;
    for (size_t i = 0; list[i]; i++)
        if (strlen(list[i]) == b - a && strncasecmp(text + a, list[i], b - a) == 0)
            return true;
    return false;
}

/* "looking 4 a hoodie", "something 4 my mum": the digit 4 written for
 * "for" after a word that asks for something and before a word, never a
 * count or a model number ("series 4", "4 pack", "size 4"). */
static bool text_speak_for(const char *text, size_t s, size_t e)
{
    static const char *const before[] = {"looking", "shopping", "searching", "something", "anything", "smth",
                                          "sth", "gift", "gifts", "present", "presents", "ideas", "stuff", NULL};
    bool asks = word_before_in(text, s, before);
    size_t f = e;
    while (text[f] == ' ')
        f++;
    return asks && f > e && isalpha((unsigned char)text[f]);
}

/* The word of `text` that starts at or after i (letters and digits),
 * its length into *n; NULL at the end. */
static const char *word_after(const char *text, size_t i, size_t *n)
{
    while (text[i] && !isalnum((unsigned char)text[i]))
        i++;
    size_t k = 0;
    while (isalnum((unsigned char)text[i + k]))
        k++;
    *n = k;
    return k ? text + i : NULL;
}

/* Short words too short for spelling correction that shoppers mistype
 * in a cart request: "ad" before what it adds ("ad it", "ad 3 kiwis",
 * "ad the lemon"), "crt" / "cartt" after "my", "the" or "to". */
static const char *short_typo(const char *text, const char *w, size_t n, size_t s, size_t e)
{
    static const char *const objects[] = {"it", "this", "that", "them", "these", "those", "the", "a", "an",
                                          "one", "two", "three", "another", "more", "some", "to", NULL};
    if (n == 2 && strncasecmp(w, "ad", 2) == 0) {
        size_t nn;
        const char *next = word_after(text, e, &nn);
        bool object = next && isdigit((unsigned char)*next);
        for (size_t i = 0; objects[i] && next && !object; i++)
            object = strlen(objects[i]) == nn && strncasecmp(objects[i], next, nn) == 0;
        return object ? "add" : NULL;
    }
    static const char *const before[] = {"my", "the", "to", "your", "in", NULL};
    if (((n == 3 && strncasecmp(w, "crt", 3) == 0) || (n == 5 && strncasecmp(w, "cartt", 5) == 0)) &&
        word_before_in(text, s, before))
        return "cart";
    return NULL;
}

static int fix_word(void *ctx, const char *w, size_t n, size_t s, size_t e)
{
    corrctx *c = ctx;
    const eng__lex *x = c->x;
    char lw_[WMAX + 1];
    bool letters = n >= (x->dict ? 4u : 6u) && n < WMAX;
    for (size_t i = 0; letters && i < n; i++) {
        lw_[i] = w[i] >= 'A' && w[i] <= 'Z' ? (char)(w[i] + 32) : w[i];
        letters = lw_[i] >= 'a' && lw_[i] <= 'z';
    }
    const char *fix = NULL;
    char split[WMAX + 2];
    if (n == 1 && w[0] == '4' && text_speak_for(c->text, s, e))
        fix = "for";   /* "looking 4 a hoodie" */
    if (!fix)
        fix = short_typo(c->text, w, n, s, e);   /* "ad it to my crt" */
    /* a lexicon synonym of a word the catalog's titles use, that the
     * catalog itself does not use: "knives" is written "knife" ("a line
     * HEAD: synonyms" whose head is a title word, not a category) */
    const lw *syn = !fix && n < WMAX ? lookup(x, w, n) : NULL;
    if (syn && (syn->flags & LW_SYN) && !(syn->flags & LW_CATALOG) && syn->syn >= 0 &&
        (x->w[syn->syn].flags & LW_CATALOG) && x->w[syn->syn].cat < 0 && x->w[syn->syn].surf)
        fix = x->w[syn->syn].surf;
    if (!fix && letters && !known(x, lw_, n)) {
        fix = suggest(x, lw_, n);
        if (!fix && n >= 7 && split_compound(x, lw_, n, split, sizeof split))
            fix = split;
    }
    if (!fix)
        return 0;
    emit(c, c->text + c->pos, s - c->pos);
    emit(c, fix, strlen(fix));
    c->pos = e;
    c->changed++;
    if (c->fixes && c->fo + n + strlen(fix) + 3 < c->fcap)
        c->fo += (size_t)snprintf(c->fixes + c->fo, c->fcap - c->fo, "%s%.*s>%s", c->fo ? " " : "", (int)n, lw_, fix);
    return 0;
}

int eng__lex_correct(const eng__lex *x, const char *text, char *out, size_t cap, char *fixes, size_t fcap)
{
    size_t len = strlen(text);
    corrctx c = {x, text, out, cap, 0, 0, fixes, fcap, 0, 0};
    if (fixes && fcap)
        fixes[0] = 0;
    if (!cap)
        return 0;
    if (x && x->del)
        words(text, len, fix_word, &c);
    emit(&c, text + c.pos, len - c.pos);
    out[c.o] = 0;
    return c.changed;
}

/* ------------------------------------------------------------ units
 * "two bags of those", "3 packs of them", "a bottle of the gucci": a
 * container said between a count and what it counts is no product. */

static bool word_is(const char *w, size_t n, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (strlen(list[i]) == n && strncasecmp(w, list[i], n) == 0)
            return true;
    return false;
}

/* the word at s (letters, digits, apostrophes) and its length */
static size_t word_at(const char *s)
{
    size_t n = 0;
    while (isalnum((unsigned char)s[n]) || s[n] == '\'')
        n++;
    return n;
}

int eng__lex_units(const char *text, char *out, size_t cap)
{
    static const char *const units[] = {
        "bag", "bags", "box", "boxes", "pack", "packs", "packet", "packets", "bottle", "bottles", "can", "cans",
        "jar", "jars", "tin", "tins", "tube", "tubes", "carton", "cartons", "tub", "tubs", "punnet", "punnets",
        "crate", "crates", "sachet", "sachets", "pot", "pots", "bunch", "bunches", NULL};
    static const char *const counts[] = {"one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                                         "ten", "eleven", "twelve", "couple", "few", "dozen", NULL};
    static const char *const pointers[] = {"those", "these", "them", "em", "'em", "it", "that", "this", "the",
                                           NULL};
    if (!cap)
        return 0;
    size_t o = 0, len = strlen(text);
    int changed = 0;
    size_t prev = (size_t)-1, prevn = 0, prevo = 0; /* the word before, and where out has it */
    size_t pprev = (size_t)-1, pprevn = 0;           /* and the one before that */
    for (size_t i = 0; i < len;) {
        size_t n = word_at(text + i);
        if (!n) {
            if (o + 1 < cap)
                out[o++] = text[i];
            i++;
            continue;
        }
        bool drop = false, one = false;
        if (word_is(text + i, n, units) && prev != (size_t)-1) {
            const char *pw = text + prev;
            bool digits = true;
            for (size_t k = 0; k < prevn && digits; k++)
                digits = isdigit((unsigned char)pw[k]);
            bool article = word_is(pw, prevn, (const char *const[]){"a", "an", NULL});
            /* "a couple of tubes of it", "a few packs of those" */
            bool of_count = pprev != (size_t)-1 && word_is(pw, prevn, (const char *const[]){"of", NULL}) &&
                            word_is(text + pprev, pprevn, (const char *const[]){"couple", "few", NULL});
            bool counted = digits || article || of_count || word_is(pw, prevn, counts);
            size_t j = i + n;
            while (text[j] == ' ')
                j++;
            size_t ofn = word_at(text + j);
            if (counted && ofn == 2 && strncasecmp(text + j, "of", 2) == 0) {
                size_t k = j + 2;
                while (text[k] == ' ')
                    k++;
                drop = word_is(text + k, word_at(text + k), pointers);
                one = drop && article;
                if (drop && of_count)
                    o = prevo;  /* "a couple of tubes of it" -> "a couple of it" */
            }
        }
        if (drop) {
            if (one) { /* "a bottle of it" -> "one of it" */
                o = prevo;
                for (const char *w = "one "; *w && o + 1 < cap; w++)
                    out[o++] = *w;
            }
            i += n; /* "two bags of those" -> "two of those" */
            while (text[i] == ' ')
                i++;
            changed++;
            prev = pprev = (size_t)-1;
            continue;
        }
        prevo = o;
        for (size_t k = 0; k < n && o + 1 < cap; k++)
            out[o++] = text[i + k];
        pprev = prev;
        pprevn = prevn;
        prev = i;
        prevn = n;
        i += n;
    }
    out[o < cap ? o : cap - 1] = 0;
    return changed;
}

typedef struct anctx {
    const eng__lex *x;
    eng__lex_info *in;
    int seg, best_seg;
    int after; /* content words after the type in its part: 0 none, 1 one product noun, 2 more */
    const char *text; /* the message, and where the word before ended: a comma between starts a part */
    size_t prev_end;
    bool owner;      /* the word before was "my", "our", ... */
    bool owned;      /* the type is a thing the shopper has ("my phone keeps dying") */
    int wanted;      /* after an owned type: 1 a verb of wanting seen, 2 and a thing after it */
} anctx;

/* "my", "our", ...: what follows is had, not bought */
static bool owner_word(const char *w, size_t n)
{
    static const char *const own[] = {"my", "our", "his", "her", "their", NULL};
    for (size_t i = 0; own[i]; i++)
        if (strlen(own[i]) == n && strncasecmp(own[i], w, n) == 0)
            return true;
    return false;
}

/* After an owned type: "need a power bank" (a thing wanted) against "want a
 * new one" (the same kind again). */
static void owned_want(anctx *a, const char *w, size_t n)
{
    static const char *const want[] = {"need", "want", "buy", "looking", "get", "after", NULL};
    static const char *const same[] = {"a", "an", "new", "one", "another", "replacement", "better", "good",
                                       "something", "it", "for", "some", "the", "to", "me", "i", "cheap",
                                       "cheaper", "decent", NULL};
    if (!a->owned)
        return;
    bool is_want = false, is_same = false;
    for (size_t i = 0; want[i] && !is_want; i++)
        is_want = strlen(want[i]) == n && strncasecmp(want[i], w, n) == 0;
    for (size_t i = 0; same[i] && !is_same; i++)
        is_same = strlen(same[i]) == n && strncasecmp(same[i], w, n) == 0;
    if (is_want)
        a->wanted = a->wanted ? a->wanted : 1;
    else if (a->wanted == 1 && !is_same && n >= 3)
        a->wanted = 2;
}


/* Could w name a thing bought after a type word ("computer mouse")? Not
 * a colour, an adverb or a word about shopping itself ("phone deals",
 * "laptop recommendations", "phone today"). */
static bool thing_word(const char *w, size_t n)
{
    static const char *const meta[] = {
        "deal", "deals", "offer", "offers", "option", "options", "recommendation", "recommendations",
        "suggestion", "suggestions", "idea", "ideas", "price", "prices", "pricing", "review", "reviews", "sale",
        "sales", "discount", "discounts", "model", "models", "brand", "brands", "stuff", "thing", "things",
        "today", "tonight", "tomorrow", "now", "asap", "online", "shopping", "shop", "store", "range", "ranges",
        "selection", "choice", "choices", "collection", "type", "types", "kind", "kinds", "style", "styles",
        "size", "sizes", "colour", "colours", "color", "colors", "version", "versions", "comparison",
        "alternatives", "alternative", "please", "thanks", "urgently", "quickly", "cheap", "cheaper", "new",
        "used", "refurbished", "second", "hand", "bundle", "bundles", "set", "sets", "pack", "packs", "pair",
        "pairs", NULL};
    if (eng__ent_is_colour(w, n) || (n > 4 && (w[n - 1] | 0x20) == 'y' && (w[n - 2] | 0x20) == 'l'))
        return false;
    for (size_t i = 0; meta[i]; i++)
        if (strlen(meta[i]) == n && strncasecmp(meta[i], w, n) == 0)
            return false;
    return true;
}

static int see(void *ctx, const char *w, size_t n, size_t s, size_t e)
{
    anctx *a = ctx;
    const eng__lex *x = a->x;
    /* "a new phone, nothing too expensive, good camera": a comma ends a
     * part as "for" or "with" does (the camera is the phone's) */
    bool comma = false;
    for (size_t i = a->prev_end; a->text && i < s && !comma; i++)
        comma = a->text[i] == ',' || a->text[i] == ';';
    a->prev_end = e;
    bool owned_now = a->owner;
    a->owner = owner_word(w, n);
    owned_want(a, w, n);
    if (comma && a->in->content > 0) {
        if (a->in->category && a->best_seg == a->seg && a->after == 0)
            a->after = 2;
        a->seg++;
    }
    const lw *l = lookup(x, w, n);
    uint32_t f = l ? l->flags : 0;
    if (f & LW_CUE)
        a->in->cues++;
    /* only a noun right next to the type makes a compound ("phone
     * case"; not "a phone, but not an iphone") */
    /* "computer mouse": an English word the catalog does not hold,
     * right after the type, is the thing bought, and the shop has none */
    if (a->in->category && a->best_seg == a->seg && a->after == 0 && !l && n >= 3 && dict_has(x, w, n) &&
        thing_word(w, n))
        a->after = 3;
    else if (a->in->category && a->best_seg == a->seg && (a->after == 0 || a->after == 3) &&
             (!l || (f & (LW_STOP | LW_BOUND)) || (w[0] >= '0' && w[0] <= '9')))
        a->after = a->after == 3 && (f & LW_BOUND) ? 3 : 2;
    if (f & LW_BOUND) {
        a->seg++;
        return 0;
    }
    if ((f & LW_STOP) || (w[0] >= '0' && w[0] <= '9'))
        return 0;
    a->in->content++;
    if (!l)
        return 0;
    int32_t cat = l->syn >= 0 && x->w[l->syn].cat >= 0 ? x->w[l->syn].cat : l->cat;
    if (f & (LW_CATALOG | LW_HEAD) || cat >= 0)
        a->in->known++;
    /* "phone case", "watch strap": a product noun of the catalog right
     * after the type, ending its part, is the thing bought; the type
     * word only says what it is for */
    if (a->best_seg == a->seg && cat < 0 && a->in->category && a->after != 3)
        a->after = a->after == 0 && (f & LW_CATALOG) && !(f & LW_BRAND) && !eng__ent_is_colour(w, n) ? 1 : 2;
    /* the last typed word of the first part that names one wins:
     * "phone case" is a case, "perfume for women" a perfume */
    /* "charger for my laptop": a type the shopper has never replaces one
     * wanted; one wanted replaces a type had */
    if (cat >= 0 && n >= 3 && owned_now && a->in->category && !a->owned)
        return 0;
    if (cat >= 0 && n >= 3 && (a->best_seg < 0 || a->best_seg == a->seg || (a->owned && !owned_now))) {
        a->owned = owned_now;
        a->wanted = 0;
        a->best_seg = a->seg;
        a->after = 0;
        a->in->type_part = a->seg;
        a->in->category = x->cats[cat];
        snprintf(a->in->type, sizeof a->in->type, "%.*s", (int)n, w);
        a->in->type_literal = (f & LW_CATALOG) != 0;
        a->in->head[0] = 0;
        /* a head that is the category's own name adds nothing to the words */
        char ck[WMAX + 1];
        const char *cn = x->cats[cat];
        size_t cl = strlen(cn) > WMAX ? WMAX : strlen(cn);
        fold(cn, cl, ck);
        for (char *p = ck; *p; p++)
            *p = *p == ' ' ? '-' : *p;
        if (l->syn >= 0 && x->w[l->syn].cat >= 0 && strcmp(x->w[l->syn].key, ck) != 0) {
            /* the head as words: "skin-care" -> "skin care" */
            snprintf(a->in->head, sizeof a->in->head, "%s", x->w[l->syn].surf);
            for (char *p = a->in->head; *p; p++)
                if (*p == '-')
                    *p = ' ';
        }
    }
    return 0;
}

/* ------------------------------------------------------------ who it is for
 * "watches for men", "a watch for my husband", "shoes for ladies": a
 * catalog that splits a kind of product by who wears it ("mens-watches",
 * "womens-shoes") gets the category the two words name together. */
#define GENDER_WORDS 32
typedef struct genctx {
    int who;                      /* 1 men, 2 women, 3 both */
    size_t n;
    char w[GENDER_WORDS][WMAX + 1]; /* the message's words, folded */
} genctx;

static int gender_of(const char *k)
{
    static const char *const men[] = {"men", "man", "mens", "male", "guy", "gentlemen", "gentleman", "husband",
                                      "boyfriend", "dad", "father", "son", "brother", "him", "his", "boy",
                                      "grandpa", "grandfather", "uncle", "hubby", NULL};
    static const char *const women[] = {"women", "woman", "womens", "lady", "ladie", "female", "girl", "wife",
                                        "girlfriend", "mum", "mom", "mother", "daughter", "sister", "her",
                                        "grandma", "grandmother", "aunt", "auntie", NULL};
    for (size_t i = 0; men[i]; i++)
        if (strcmp(k, men[i]) == 0)
            return 1;
    for (size_t i = 0; women[i]; i++)
        if (strcmp(k, women[i]) == 0)
            return 2;
    return 0;
}

static int gen_word(void *ctx, const char *w, size_t n, size_t s, size_t e)
{
    genctx *g = ctx;
    (void)s, (void)e;
    char k[WMAX + 1];
    fold(w, n, k);
    /* "men's" is "men" */
    size_t kl = strlen(k);
    if (kl > 2 && k[kl - 1] == 's' && k[kl - 2] == '\'')
        k[kl - 2] = 0;
    g->who |= gender_of(k);
    if (g->n < GENDER_WORDS)
        snprintf(g->w[g->n++], sizeof g->w[0], "%s", k);
    return 0;
}

static void for_whom(const eng__lex *x, const char *text, eng__lex_info *in)
{
    genctx g = {0};
    words(text, strlen(text), gen_word, &g);
    if (g.who != 1 && g.who != 2)
        return;
    in->for_whom = g.who;
    static const char *const pre[3][4] = {{NULL}, {"mens-", "men-", "man-", NULL},
                                          {"womens-", "women-", "woman-", "ladies-"}};
    for (size_t c = 0; c < x->ncats; c++) {
        const char *cn = x->cats[c], *rest = NULL;
        for (size_t p = 0; p < 4 && pre[g.who][p] && !rest; p++)
            if (strncasecmp(cn, pre[g.who][p], strlen(pre[g.who][p])) == 0)
                rest = cn + strlen(pre[g.who][p]);
        if (!rest || !*rest || strchr(rest, '-'))
            continue;
        char rk[WMAX + 1];
        fold(rest, strlen(rest) > WMAX ? WMAX : strlen(rest), rk);
        for (size_t i = 0; i < g.n; i++)
            if (strcmp(g.w[i], rk) == 0) {
                in->category = cn;
                snprintf(in->type, sizeof in->type, "%s", rest);
                in->type_literal = true;
                in->type_part = 0;
                in->head[0] = 0;
                return;
            }
    }
}

void eng__lex_analyse(const eng__lex *x, const char *text, eng__lex_info *out)
{
    memset(out, 0, sizeof *out);
    if (!x)
        return;
    anctx a = {x, out, 0, -1, 0, text, 0, false, false, 0};
    words(text, strlen(text), see, &a);
    /* "phone cases": cases, whatever their category; "my phone keeps
     * dying, need a power bank": a power bank, not a phone */
    if (a.after == 1 || a.after == 3 || (a.owned && a.wanted == 2)) {
        out->category = NULL;
        out->type[0] = out->head[0] = 0;
        out->type_literal = false;
    }
    for_whom(x, text, out);
}
