/* engine/stages/entities.c — the `entities` stage: typed spans of the
 * message (engine/nlu/entities.c) into `entities`, the first of each kind
 * into `slots`, and references ("the second one") resolved against the
 * products shown last turn (`session.shown`). Brands and categories come
 * from the options, a vocabulary file and, when the turn has a store, the
 * catalog's facets (loaded on first use, refreshed every few minutes). */
#define _GNU_SOURCE /* strcasestr */
#include "engine/pipe_int.h"
#include "engine/catcache_int.h"
#include "engine/checkout_int.h"
#include "engine/nlu/ent_int.h"
#include "agent_int.h"   /* eng__agent_has_word */
#include "stores/store.h"
#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

typedef struct opts {
    eng_strlist colors, brands, categories;
    int aliases;
    const char *vocabulary;
    bool use_catalog;
    long max_entities;
} opts;

static const eng_field fields[] = {
    {"colors", ENG_F_STRLIST, false, offsetof(opts, colors), NULL, 0, 0, "colour names beside the built-in ones"},
    {"brands", ENG_F_STRLIST, false, offsetof(opts, brands), NULL, 0, 0, "brand names to recognise"},
    {"categories", ENG_F_STRLIST, false, offsetof(opts, categories), NULL, 0, 0, "category names to recognise"},
    {"aliases", ENG_F_NODE, false, offsetof(opts, aliases), NULL, 0, 0,
     "synonym -> brand, category, colour or size name"},
    {"vocabulary", ENG_F_STR, false, offsetof(opts, vocabulary), NULL, 0, 0,
     "a file of \"brand: X\", \"category: X\", \"color: X\", \"alias: X = Y\" lines"},
    {"use_catalog", ENG_F_BOOL, false, offsetof(opts, use_catalog), "true", 0, 0,
     "also learn brands and categories from the store's catalog"},
    {"max_entities", ENG_F_INT, false, offsetof(opts, max_entities), "32", 1, 256,
     "at most this many entities per message"},
    {NULL, 0, false, 0, NULL, 0, 0, NULL},
};

#define MAX_ENTS 256

typedef struct list {
    const char **items;
    size_t n, cap;
} list;

typedef struct data {
    list colors, brands, cats, from, to;
    eng__ent_vocab *vocab;         /* options and file only */
    eng__catcache *cat;            /* options + the catalog's names (an eng__ent_vocab) */
} data;

static void *load_catalog(const void *ud, struct store *s, char *note, size_t cap);
static void vocab_free(void *v) { eng__ent_vocab_free(v); }

static int push(eng_pool *pool, list *l, const char *s)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        const char **n = eng__pool_alloc(pool, cap * sizeof *n);
        if (!n)
            return ENG_ENOMEM;
        if (l->n)
            memcpy(n, l->items, l->n * sizeof *n);
        l->items = n, l->cap = cap;
    }
    l->items[l->n++] = s;
    return 0;
}

static int push_all(eng_pool *pool, list *l, const eng_strlist *s)
{
    for (size_t i = 0; i < s->n; i++)
        if (push(pool, l, s->items[i]) < 0)
            return ENG_ENOMEM;
    return 0;
}

static char *trim(char *s, char *e)
{
    while (s < e && (*s == ' ' || *s == '\t'))
        s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        e--;
    *e = 0;
    return s;
}

/* The vocabulary file: one "kind: name" per line, # comments. */
static int read_vocabulary(eng_build *b, data *d, const char *rel)
{
    eng_pool *pool = b->p->pool;
    const char *path = eng__build_path(b, rel);
    size_t len;
    char *text = path ? eng__read_file(path, &len) : NULL;
    if (!text) {
        eng__build_error(b, eng__build_key_node(b, "vocabulary"), "cannot read vocabulary file \"%s\"", rel);
        return ENG_ECONFIG;
    }
    int rc = 0, oom = 0, line = 0;
    for (char *p = text, *nl; p && *p; p = nl ? nl + 1 : NULL) {
        nl = strchr(p, '\n');
        char *end = nl ? nl : p + strlen(p), *hash = memchr(p, '#', (size_t)(end - p));
        line++;
        char *s = trim(p, hash ? hash : end);
        if (!*s)
            continue;
        int col = (int)(s - p) + 1;
        char *colon = strchr(s, ':');
        char *kind = colon ? trim(s, colon) : s, *name = colon ? trim(colon + 1, colon + 1 + strlen(colon + 1)) : "";
        list *l = strcmp(kind, "brand") == 0 ? &d->brands : strcmp(kind, "category") == 0 ? &d->cats
                  : strcmp(kind, "color") == 0 || strcmp(kind, "colour") == 0 ? &d->colors : NULL;
        if (!colon || (!l && strcmp(kind, "alias") != 0)) {
            eng_diags_add(b->diags, ENG_DIAG_ERROR, path, line, col,
                          "expected \"brand: NAME\", \"category: NAME\", \"color: NAME\" or \"alias: SYNONYM = NAME\"");
            rc = ENG_ECONFIG;
            continue;
        }
        char *eq = l ? NULL : strchr(name, '=');
        if (!*name || (!l && (!eq || eq == name || !eq[1]))) {
            eng_diags_add(b->diags, ENG_DIAG_ERROR, path, line, (int)(name - p) + 1,
                          l ? "\"%s:\" needs a name" : "\"%s:\" needs \"SYNONYM = NAME\"", kind);
            rc = ENG_ECONFIG;
            continue;
        }
        if (l) {
            oom |= push(pool, l, eng__pool_strdup(pool, name));
        } else {
            char *to = trim(eq + 1, eq + 1 + strlen(eq + 1));
            oom |= push(pool, &d->from, eng__pool_strdup(pool, trim(name, eq)));
            oom |= push(pool, &d->to, eng__pool_strdup(pool, to));
        }
    }
    eng__free(text);
    return oom ? ENG_ENOMEM : rc;
}

static int read_aliases(eng_build *b, data *d, int node)
{
    yaml_document_t *doc = b->doc;
    yaml_node_t *n = eng__ynode(doc, node);
    if (n->type != YAML_MAPPING_NODE) {
        eng__build_error(b, node, "\"aliases\" must be a mapping of synonym: name, like { sneakers: shoes }");
        return ENG_ECONFIG;
    }
    int rc = 0;
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        const char *k = eng__yscalar(doc, pr->key), *v = eng__yscalar(doc, pr->value);
        if (!v || !*v || !k || !*k) {
            eng__build_error(b, v && *v ? pr->key : pr->value,
                             "alias \"%s\" must map to one brand, category, colour or size name", k ? k : "?");
            rc = ENG_ECONFIG;
            continue;
        }
        if (push(b->p->pool, &d->from, eng__pool_strdup(b->p->pool, k)) < 0 ||
            push(b->p->pool, &d->to, eng__pool_strdup(b->p->pool, v)) < 0)
            return ENG_ENOMEM;
    }
    return rc;
}

static void lists_of(const data *d, const list *brands, const list *cats, eng__ent_lists *l, bool *resolved)
{
    *l = (eng__ent_lists){d->colors.items, d->colors.n, brands->items, brands->n, cats->items, cats->n,
                          d->from.items, d->to.items, d->from.n, resolved};
}

static int create(eng_stage *st, eng_build *b)
{
    opts *o = st->opts;
    eng_pool *pool = b->p->pool;
    data *d = eng__pool_alloc(pool, sizeof *d);
    if (!d)
        return ENG_ENOMEM;
    int rc = 0;
    if (push_all(pool, &d->colors, &o->colors) || push_all(pool, &d->brands, &o->brands) ||
        push_all(pool, &d->cats, &o->categories))
        return ENG_ENOMEM;
    const char *what[] = {"colors", "brands", "categories"};
    const eng_strlist *ls[] = {&o->colors, &o->brands, &o->categories};
    for (int i = 0; i < 3; i++) {
        int kn = eng__build_key_node(b, what[i]);
        yaml_node_t *seq = ls[i]->n ? eng__ynode(b->doc, kn) : NULL;
        for (size_t k = 0; k < ls[i]->n; k++)
            if (!ls[i]->items[k][0]) {
                /* point at the item itself when the list is a YAML sequence */
                bool in_seq = seq && seq->type == YAML_SEQUENCE_NODE &&
                              k < (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
                eng__build_error(b, in_seq ? seq->data.sequence.items.start[k] : kn, "\"%s\" has an empty name",
                                 what[i]);
                rc = ENG_ECONFIG;
            }
    }
    int ra = o->aliases ? read_aliases(b, d, o->aliases) : 0;
    int rv = o->vocabulary ? read_vocabulary(b, d, o->vocabulary) : 0;
    if (ra == ENG_ENOMEM || rv == ENG_ENOMEM)
        return ENG_ENOMEM;
    if (rc || ra || rv)
        return ENG_ECONFIG;
    bool *ok = eng__pool_alloc(pool, d->from.n + 1);
    eng__ent_lists l;
    lists_of(d, &d->brands, &d->cats, &l, ok);
    if (!ok || eng__ent_vocab_new(&l, &d->vocab) < 0)
        return ENG_ENOMEM;
    /* with the catalog an unknown target may still turn up at run time */
    for (size_t i = 0; i < d->from.n && !o->use_catalog; i++)
        if (!ok[i])
            eng__build_warn(b, o->aliases ? o->aliases : eng__build_key_node(b, "vocabulary"),
                            "alias \"%s\" names \"%s\", which is not a known brand, category, colour or size",
                            d->from.items[i], d->to.items[i]);
    st->data = d;
    if (o->use_catalog && !(d->cat = eng__cc_new(load_catalog, vocab_free, d)))
        return ENG_ENOMEM;
    return 0;
}

static void destroy(eng_stage *st)
{
    data *d = st->data;
    if (!d)
        return;
    eng__cc_free(d->cat);
    eng__ent_vocab_free(d->vocab);
}

static int warm(const eng_stage *st, struct store *s, char *note, size_t cap)
{
    const data *d = st->data;
    return d ? eng__cc_warm(d->cat, s, note, cap) : 0;
}

/* ------------------------------------------------------------- catalog */
/* The options' names plus the catalog's brands and categories (facets). */
static void *load_catalog(const void *ud, struct store *s, char *note, size_t cap)
{
    const data *d = ud;
    store_search_query q;
    store_search_query_init(&q);
    q.limit = 1;
    q.flags = STORE_SEARCH_FACETS;
    store_search_result r;
    store_err err = {0};
    memset(&r, 0, sizeof r);
    if (store_search(s, &q, &r, &err) < 0) {
        snprintf(note, cap, "; catalog vocabulary unavailable: %.100s", err.msg);
        return NULL;
    }
    list brands = {0}, cats = {0};
    eng__ent_vocab *v = NULL;
    brands.items = eng__calloc(d->brands.n + r.n_brands + 1, sizeof(char *));
    cats.items = eng__calloc(d->cats.n + r.n_categories + 1, sizeof(char *));
    if (brands.items && cats.items) {
        if (d->brands.n)
            memcpy(brands.items, d->brands.items, d->brands.n * sizeof(char *));
        if (d->cats.n)
            memcpy(cats.items, d->cats.items, d->cats.n * sizeof(char *));
        brands.n = d->brands.n, cats.n = d->cats.n;
        for (size_t i = 0; i < r.n_brands; i++)
            brands.items[brands.n++] = r.brands[i].value;
        for (size_t i = 0; i < r.n_categories; i++)
            cats.items[cats.n++] = r.categories[i].value;
        eng__ent_lists l;
        lists_of(d, &brands, &cats, &l, NULL);
        if (eng__ent_vocab_new(&l, &v) == 0)
            snprintf(note, cap, "; catalog vocabulary loaded: %zu brands, %zu categories", r.n_brands,
                     r.n_categories);
    }
    eng__free(brands.items);
    eng__free(cats.items);
    store_search_result_free(&r);
    return v;
}

/* ----------------------------------------------------------- references */
static bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* `w` occurs in `hay` as a whole word, ignoring ASCII case. */
static bool word_in(const char *hay, const char *w)
{
    size_t n = strlen(w);
    for (const char *p = hay; p && n && *p; p++)
        if (strncasecmp(p, w, n) == 0 && (p == hay || !is_letter(p[-1])) && !is_letter(p[n]))
            return true;
    return false;
}

static bool has_attr(json_object *prod, const char *field, const char *plural, const char *want)
{
    json_object *v = json_object_object_get(prod, field);
    if (json_object_is_type(v, json_type_string))
        return strcasecmp(json_object_get_string(v), want) == 0;
    json_object *a = json_object_object_get(prod, plural);
    for (size_t i = 0; json_object_is_type(a, json_type_array) && i < json_object_array_length(a); i++)
        if (strcasecmp(json_object_get_string(json_object_array_get_idx(a, i)), want) == 0)
            return true;
    return word_in(json_object_get_string(json_object_object_get(prod, "title")), want);
}

/* The category that more than half of a list of three or more shares,
 * or NULL: "iphones" shows four phones and a charger. */
static const char *main_category(json_object *shown, int n)
{
    if (n < 3)
        return NULL;
    for (int i = 0; i <= n / 2; i++) {
        const char *c = json_object_get_string(
            json_object_object_get(json_object_array_get_idx(shown, i), "category"));
        if (!c || !*c)
            continue;
        int same = 0;
        for (int k = 0; k < n; k++) {
            const char *o = json_object_get_string(
                json_object_object_get(json_object_array_get_idx(shown, k), "category"));
            same += o && strcmp(o, c) == 0;
        }
        if (2 * same > n)
            return c;
    }
    return NULL;
}

/* The index-th of the list in the comparative's order ("the two
 * cheapest": 0 and 1), among the products of category `kind` when not
 * NULL; a product already ranked above is passed over. -1 if none. */
static int ranked(const eng__ent *e, json_object *shown, int n, const char *kind)
{
    int taken[16], nt = 0, best = -1;
    const char *field = e->cmp == ENG_CMP_BEST_RATED ? "rating" : "price";
    for (int r = 0; r <= e->index && r < 16; r++) {
        double bv = 0;
        best = -1;
        for (int i = 0; i < n; i++) {
            bool used = false;
            for (int u = 0; u < nt && !used; u++)
                used = taken[u] == i;
            json_object *p = json_object_array_get_idx(shown, i);
            json_object *f = json_object_object_get(p, field);
            const char *c = json_object_get_string(json_object_object_get(p, "category"));
            if (used || (!json_object_is_type(f, json_type_double) && !json_object_is_type(f, json_type_int)) ||
                (kind && (!c || strcmp(c, kind) != 0)))
                continue;
            double v = json_object_get_double(f);
            if (best < 0 || (e->cmp == ENG_CMP_CHEAPEST ? v < bv : v > bv))
                best = i, bv = v;
        }
        if (best < 0)
            return -1;
        taken[nt++] = best;
    }
    return best;
}

/* Which shown product the reference means: its index, or -1. A
 * comparative of a list that is mostly one kind ranks that kind: "the
 * cheapest" of four iPhones and a charger is the cheapest iPhone, and
 * `*within` says so (the cart agent then asks). */
static int resolve(const eng__ent *e, json_object *shown, const char **within)
{
    int n = json_object_is_type(shown, json_type_array) ? (int)json_object_array_length(shown) : 0;
    *within = NULL;
    switch (e->ref) {
    case ENG_REF_ORDINAL: {
        int i = e->index < 0 ? n + e->index : e->index;
        return i >= 0 && i < n ? i : -1;
    }
    case ENG_REF_DEMONSTRATIVE:
        return n == 1 ? 0 : -1;
    case ENG_REF_COMPARATIVE: {
        const char *kind = main_category(shown, n);
        int whole = ranked(e, shown, n, NULL), pick = kind ? ranked(e, shown, n, kind) : -1;
        if (pick < 0 || pick == whole)
            return whole;
        *within = kind;
        return pick;
    }
    case ENG_REF_ATTRIBUTE: {
        /* "the black ones" of "Black Sun Glasses" and "Green and Black
         * Glasses": the first, and `*within` "several" says it is one of
         * more (the agents ask which) */
        int first = -1, count = 0;
        for (int i = 0; i < n; i++) {
            json_object *p = json_object_array_get_idx(shown, i);
            bool m = e->attr_type == ENG_ENT_COLOR   ? has_attr(p, "color", "colors", e->str)
                     : e->attr_type == ENG_ENT_BRAND ? has_attr(p, "brand", "brands", e->str)
                                                     : has_attr(p, "size", "sizes", e->str);
            if (m && first < 0)
                first = i;
            count += m;
        }
        if (count > 1)
            *within = "several";
        return first;
    }
    }
    return -1;
}

/* -------------------------------------------------------------- output */
static json_object *jnum(double v)
{
    if (isnan(v))
        return NULL;
    if (fabs(v) < 1e15 && v == floor(v))
        return json_object_new_int64((int64_t)v);
    return json_object_new_double(v);
}

static json_object *jspan(const char *text, uint32_t s, uint32_t e, bool low)
{
    char buf[320];
    if (!low || e - s >= sizeof buf)
        return json_object_new_string_len(text + s, (int)(e - s));
    for (uint32_t i = s; i < e; i++)
        buf[i - s] = text[i] >= 'A' && text[i] <= 'Z' ? (char)(text[i] + 32) : text[i];
    return json_object_new_string_len(buf, (int)(e - s));
}

static const char *const ref_kinds[] = {"ordinal", "demonstrative", "comparative", "attribute"};
static const char *const cmp_names[] = {"cheapest", "most_expensive", "best_rated"};

static void slot(json_object *slots, const char *key, json_object *v)
{
    if (!v)
        return;
    if (json_object_object_get_ex(slots, key, NULL))
        json_object_put(v);
    else
        json_object_object_add(slots, key, v);
}

static json_object *entity(const eng__ent *e, const char *text, json_object *shown, json_object *slots)
{
    json_object *o = json_object_new_object(), *v = NULL;
    /* a reference left out ("but not the fourth") points at nothing:
     * its own type, so no reader takes it for one that does */
    /* a count said again after a correction ("2 kiwis, sorry, 3"): the
     * first is its own type too, and fills no slot */
    ENG_JADD(o, "type", json_object_new_string(e->type == ENG_ENT_REFERENCE && e->negated ? "excluded_reference"
                                               : e->type == ENG_ENT_QUANTITY && e->negated ? "corrected_quantity"
                                               : eng__ent_type_name(e->type)));
    switch (e->type) {
    case ENG_ENT_QUANTITY:
        v = jnum(e->num);
        if (!e->negated)
            slot(slots, "quantity", jnum(e->num));
        break;
    case ENG_ENT_MONEY:
        v = json_object_new_object();
        ENG_JADD(v, "amount", jnum(e->num));
        ENG_JADD(v, "min", jnum(e->min));
        ENG_JADD(v, "max", jnum(e->max));
        ENG_JADD(v, "currency", e->currency ? json_object_new_string(e->currency) : NULL);
        slot(slots, "price", jnum(e->num));
        slot(slots, "minPrice", jnum(e->min));
        slot(slots, "maxPrice", jnum(e->max));
        slot(slots, "currency", e->currency ? json_object_new_string(e->currency) : NULL);
        break;
    case ENG_ENT_SIZE:
        v = e->str ? json_object_new_string(e->str) : jspan(text, e->vs, e->ve, false);
        slot(slots, "size", json_object_get(v));
        if (e->system) {
            ENG_JADD(o, "system", json_object_new_string(e->system));
            slot(slots, "sizeSystem", json_object_new_string(e->system));
        }
        break;
    case ENG_ENT_COLOR: case ENG_ENT_BRAND: case ENG_ENT_CATEGORY:
        v = json_object_new_string(e->str);
        if (e->negated) {
            /* "not from apple": a filter that leaves it out, never the
             * slot that asks for it */
            ENG_JADD(o, "negated", json_object_new_boolean(1));
            break;
        }
        slot(slots, eng__ent_type_name(e->type), json_object_get(v));
        break;
    case ENG_ENT_ORDER: case ENG_ENT_EMAIL:
        v = jspan(text, e->vs, e->ve, e->type == ENG_ENT_EMAIL);
        slot(slots, e->type == ENG_ENT_ORDER ? "orderNumber" : "email", json_object_get(v));
        break;
    case ENG_ENT_REFERENCE: {
        const char *within = NULL;
        int i = resolve(e, shown, &within);
        json_object *p = i >= 0 ? json_object_array_get_idx(shown, i) : NULL;
        json_object *sku = json_object_is_type(p, json_type_string) ? p : json_object_object_get(p, "sku");
        v = sku ? json_object_get(sku) : NULL;
        ENG_JADD(o, "kind", json_object_new_string(ref_kinds[e->ref]));
        ENG_JADD(o, "index", i >= 0 ? json_object_new_int(i)
                                           : e->ref == ENG_REF_ORDINAL ? json_object_new_int(e->index) : NULL);
        ENG_JADD(o, "resolved", json_object_new_boolean(i >= 0));
        if (e->ref == ENG_REF_ORDINAL)   /* the place said ("the last": -1), whatever list it points into */
            ENG_JADD(o, "place", json_object_new_int(e->index));
        if (sku)
            ENG_JADD(o, "sku", json_object_get(sku));
        if (e->plural)
            ENG_JADD(o, "plural", json_object_new_boolean(1));
        if (e->ref == ENG_REF_COMPARATIVE)
            ENG_JADD(o, "which", json_object_new_string(cmp_names[e->cmp]));
        if (within && strcmp(within, "several") == 0)
            ENG_JADD(o, "several", json_object_new_boolean(1));
        else if (within)
            ENG_JADD(o, "within", json_object_new_string(within));
        if (e->ref == ENG_REF_ATTRIBUTE) {
            json_object *a = json_object_new_object();
            json_object_object_add(a, eng__ent_type_name(e->attr_type), json_object_new_string(e->str));
            ENG_JADD(o, "attribute", a);
        }
        if (p && !json_object_is_type(p, json_type_string))
            ENG_JADD(o, "product", json_object_get(p));
        if (!e->negated) {
            slot(slots, "reference", json_object_get(o));
            slot(slots, "sku", sku ? json_object_get(sku) : NULL);
        }
        break;
    }
    default:
        break;
    }
    ENG_JADD(o, "value", v);
    ENG_JADD(o, "text", jspan(text, e->start, e->end, false));
    ENG_JADD(o, "start", json_object_new_int64(e->start));
    ENG_JADD(o, "end", json_object_new_int64(e->end));
    return o;
}

/* Whether `name` reads as a recipient's name, not the request around an
 * address ("can you send it to my office instead"): at most four words,
 * none of them a word of such a request. */
static bool plausible_name(const char *name)
{
    static const char *const request[] = {"can", "could", "you", "send", "it", "to", "my", "the", "please", "deliver",
                                          "ship", "instead", "office", "home", "work", "address", "new", "is",
                                          "this", "that", "actually", "use", "i", "want", "would", "like", "change",
                                          "a", "an", "and", "there", "here", "put", "post", "mail", "make", "yes",
                                          "yeah", "yep", "ok", "okay", "sure", "but", "no", "not", "place",
                                          "order", "thanks", "thank", "go", "ahead", NULL};
    size_t words = 0;
    for (const char *p = name; *p;) {
        while (*p && !isalnum((unsigned char)*p))
            p++;
        const char *w = p;
        while (isalnum((unsigned char)*p) || *p == '\'' || *p == '-')
            p++;
        size_t n = (size_t)(p - w);
        if (!n)
            break;
        words++;
        for (size_t i = 0; request[i]; i++)
            if (strlen(request[i]) == n && strncasecmp(request[i], w, n) == 0)
                return false;
    }
    return words >= 1 && words <= 4;
}

/* The address past the words that introduce it: "it's for me, jane
 * doe", "the name is Sam Lee", "send it to 4 Bay Road". */
static const char *past_preamble(const char *s)
{
    static const char *const pre[] = {"it's for me", "its for me", "it is for me", "it's for", "its for",
                                      "it is for", "for me", "the name is", "my name is", "name is", "name:",
                                      "my address is", "the address is", "address is", "address:",
                                      "send it to", "deliver it to", "deliver to", "ship it to", "ship to",
                                      "it's going to", "its going to", "it goes to", NULL};
    for (int round = 0; round < 2; round++) {
        while (*s == ' ' || *s == ',')
            s++;
        for (size_t i = 0; pre[i]; i++) {
            size_t n = strlen(pre[i]);
            if (strncasecmp(s, pre[i], n) == 0 && (!isalnum((unsigned char)s[n]) || pre[i][n - 1] == ':')) {
                s += n;
                break;
            }
        }
    }
    while (*s == ' ' || *s == ',' || *s == ':' || *s == '-')
        s++;
    return s;
}

/* While the chat checkout waits for a delivery address (the order agent
 * asked last turn: session.pending.type "checkout.address"), the parts the
 * message states go to slots.address, so a router can send them to the
 * order agent.  A bare word answers the one field asked only when the
 * classifier placed the message nowhere else with confidence; a message
 * with a price is a search, never an address. */
static void address_slot(eng_turn *t, const char *text, json_object *slots)
{
    json_object *p = eng__json_path(t->ctx, "session.pending");
    /* at the summary ("Shall I place the order?"), a street address said
     * whole ("send it to my office instead, 5 Market St, Austin 78702")
     * is a new delivery address, never a count */
    bool summary = strcmp(eng__json_str(p, "type", ""), "order.create") == 0;
    if (summary) {
        int64_t at = json_object_get_int64(eng__json_path(p, "turn"));
        int64_t now = json_object_get_int64(eng__json_path(t->ctx, "session.turns"));
        if (now != at + 1 && now != at)
            return;
        json_object *a = eng__address_parse(eng__json_str(t->ctx, "message.original", text), NULL);
        json_object *nm = json_object_object_get(a, "name");
        if (nm) {
            /* "deliver this one to Maria Ruiz": the name after the last "to" */
            const char *name = json_object_get_string(nm), *to = NULL;
            for (const char *q = strcasestr(name, " to "); q; q = strcasestr(q + 1, " to "))
                to = q + 4;
            if (to && plausible_name(to))
                json_object_object_add(a, "name", json_object_new_string(to));
            else if (!plausible_name(name))
                json_object_object_del(a, "name");
        }
        /* a street with its number: "yes please place it, thanks" names
         * a "place" and a "city" but no house */
        const char *line1 = json_object_get_string(json_object_object_get(a, "line1"));
        /* "actually the zip is 78704", "the street should be 4 Elm St": a
         * field of the address put right (the rest is the saved one's) */
        static const char *const labels[] = {"zip", "zip code", "postcode", "post code", "postal code", "street",
                                             "city", "town", "house number", "apartment", "apt", "flat number",
                                             "state", NULL};
        /* "change the address", "send it somewhere else": another
         * address, asked for part by part */
        static const char *const change[] = {"change the address", "change my address", "change the delivery address",
                                             "change the shipping address", "different address", "another address",
                                             "new address", "other address", "somewhere else", "a different place",
                                             "wrong address", "not that address", "update the address",
                                             "update my address", "edit the address", "not my address",
                                             "old address", "don't live", "dont live", "moved house",
                                             "i've moved", "ive moved", "i moved", "my office", "my work",
                                             "to work", NULL};
        const char *said = eng__json_str(t->ctx, "message.text", text);
        bool whole = line1 && strpbrk(line1, "0123456789") &&
                     (json_object_object_get(a, "postalCode") || json_object_object_get(a, "city"));
        /* a postal code is its token of digits ("zip code is wrong its
         * 78702": 78702), or a UK or Canadian code whole ("SW1A 2AA",
         * "M5H 2N2": both its halves have digits); a street needs its
         * number */
        const char *pc = json_object_get_string(json_object_object_get(a, "postalCode"));
        if (pc && strchr(pc, ' ')) {
            const char *tok = NULL;
            size_t with_digits = 0, halves = 0;
            for (const char *q = pc; *q; q++) {
                if (q != pc && q[-1] != ' ')
                    continue;
                size_t len = strcspn(q, " ");
                halves++;
                bool has = strpbrk(q, "0123456789") && strpbrk(q, "0123456789") < q + len;
                with_digits += has;
                if (has && strspn(q, "0123456789") == len)
                    tok = q;   /* all digits: the ZIP said after words */
            }
            if (!tok && halves == 2 && with_digits == 2)
                tok = pc;   /* outward and inward code: the whole */
            if (!tok && with_digits == 1)
                for (const char *q = pc; *q; q++)
                    if ((q == pc || q[-1] == ' ') && strpbrk(q, "0123456789") &&
                        strpbrk(q, "0123456789") < q + strcspn(q, " "))
                        tok = q;
            if (tok) {
                char keep[32];
                snprintf(keep, sizeof keep, "%.*s", (int)(tok == pc ? strlen(pc) : strcspn(tok, " ")), tok);
                json_object_object_add(a, "postalCode", json_object_new_string(keep));
            } else {
                json_object_object_del(a, "postalCode");
            }
        }
        if (!whole && line1 && !strpbrk(line1, "0123456789"))
            json_object_object_del(a, "line1");
        bool fix = !whole && json_object_object_length(a) > 0 && eng__agent_has_word(said, labels) &&
                   !json_object_object_get(a, "name");
        /* "ship it to my sister in Chicago", "send it to my parents'
         * place": someone else's address, not given yet */
        static const char *const sends[] = {"ship", "send", "deliver", "mail", "post", "go to", "goes to",
                                            "delivered", "shipped", "sent", NULL};
        static const char *const someone[] = {"sister", "brother", "mom", "mum", "mother", "dad", "father",
                                              "parents", "parent's", "parents'", "friend", "friend's", "son",
                                              "daughter", "wife", "husband", "grandma", "grandmother",
                                              "grandpa", "grandfather", "aunt", "uncle", "cousin", "boyfriend",
                                              "girlfriend", "partner", "neighbor", "neighbour", "colleague",
                                              "boss", "office", "workplace", "school", "college", "dorm",
                                              "hotel", "cabin", "vacation", "holiday home", "other house",
                                              "place instead", NULL};
        bool for_someone = eng__agent_has_word(said, sends) && eng__agent_has_word(said, someone);
        bool other = !whole && !fix && (eng__agent_has_word(said, change) || for_someone);
        /* another person's: their name is asked too, not the account's */
        static const char *const places[] = {"office", "workplace", "school", "college", "dorm", "hotel", "cabin",
                                             "vacation", "holiday home", "other house", "place instead", NULL};
        if (other && for_someone && !json_object_object_get(a, "name")) {
            bool place_only = true;
            for (size_t i = 0; someone[i] && place_only; i++)
                if (eng__agent_has_word(said, (const char *const[]){someone[i], NULL}) &&
                    !eng__agent_has_word(someone[i], places))
                    place_only = false;
            if (!place_only)
                json_object_object_add(slots, "addressOther", json_object_new_boolean(1));
        }
        if (whole || fix || other) {
            json_object_object_del(slots, "price");
            json_object_object_del(slots, "minPrice");
            json_object_object_del(slots, "maxPrice");
            json_object_object_del(slots, "quantity");
            if (other) {
                json_object_put(a);
                a = json_object_new_object();
            }
            ENG_JADD(slots, "address", a);
            ENG_JADD(slots, "newAddress", json_object_new_boolean(1));
            if (fix)
                ENG_JADD(slots, "addressFix", json_object_new_boolean(1));
        } else {
            json_object_put(a);
        }
        return;
    }
    if (strcmp(eng__json_str(p, "type", ""), "checkout.address") != 0)
        return;
    int64_t at = json_object_get_int64(eng__json_path(p, "turn"));
    int64_t now = json_object_get_int64(eng__json_path(t->ctx, "session.turns"));
    if (now != at + 1 && now != at)
        return;
    const char *intent = eng__json_str(t->ctx, "intent.name", "");
    double conf = json_object_get_double(eng__json_path(t->ctx, "intent.confidence"));
    /* "it's for me, jane doe": the words after the ones that introduce it */
    text = past_preamble(text);
    size_t words = 0;
    for (const char *c = text; *c; c++)
        words += *c != ' ' && (c == text || c[-1] == ' ');
    bool bare = words <= 4 && conf < 0.6 && strcmp(intent, "confirm") != 0 && strcmp(intent, "deny") != 0 &&
                strcmp(intent, "checkout") != 0;
    /* a price ("laptops under $1500", "below 200") asks for products: an
     * address has none, and its number is no postal code, nor its words a
     * city */
    bool priced = json_object_object_get(slots, "price") || json_object_object_get(slots, "minPrice") ||
                  json_object_object_get(slots, "maxPrice");
    /* the shopper's own words: a name is not a typo to correct */
    const char *own = past_preamble(eng__json_str(t->ctx, "message.original", text));
    json_object *a = eng__address_parse(own, bare && !priced ? eng__json_str(p, "wanted", NULL) : NULL);
    /* ...unless it is a whole address: a street and a postal code
     * ("12 Rua Augusta, 1100-048 Lisboa" is no price range) */
    if (priced && !(json_object_object_get(a, "line1") && json_object_object_get(a, "postalCode"))) {
        json_object_put(a);
        return;
    }
    if (priced) {
        json_object_object_del(slots, "price");
        json_object_object_del(slots, "minPrice");
        json_object_object_del(slots, "maxPrice");
    }
    if (json_object_object_length(a) > 0)
        ENG_JADD(slots, "address", a);
    else
        json_object_put(a);
}

static eng_result run(const eng_stage *st, eng_turn *t)
{
    const opts *o = st->opts;
    data *d = st->data;
    const char *text = eng__json_str(t->ctx, "message.text", "");
    char cnote[160] = "";
    struct store *s = t->opts && t->opts->deps ? t->opts->deps->store : NULL;
    eng__ccref *sh = eng__cc_acquire(d->cat, s, cnote, sizeof cnote);
    eng__ent ents[MAX_ENTS];
    int n = eng__ent_extract(sh ? sh->v : d->vocab, text, strlen(text), ents, MAX_ENTS);
    eng__cc_release(d->cat, sh);
    if (n < 0)
        return eng__turn_fail(t, "entity extraction failed: %s", eng_strerror(n));
    if (n > o->max_entities)
        n = (int)o->max_entities;
    json_object *arr = json_object_new_array(), *slots = json_object_new_object();
    json_object *shown = eng__json_path(t->ctx, "session.shown");
    /* right after a comparison, "the cheaper one" is the cheaper of the
     * products compared, not of the whole list shown before */
    json_object *compared = NULL, *cmp = eng__json_path(t->ctx, "session.compared");
    /* "the cheaper of the two" right after two products were looked at
     * one at a time: those two */
    json_object *seen = eng__json_path(t->ctx, "session.viewed");
    const char *last = eng__json_str(t->ctx, "session.lastIntent", "");
    if (json_object_is_type(seen, json_type_array) && json_object_array_length(seen) == 2 &&
        (strcmp(last, "product_details") == 0 || strcmp(last, "search_product") == 0) &&
        eng__agent_has_word(text, (const char *const[]){"of the two", "of both", "of those two", "of these two",
                                                        "between the two", "of them both", NULL}))
        compared = json_object_get(seen);
    else if (cmp && shown && strcmp(eng__json_str(t->ctx, "session.lastIntent", ""), "compare") == 0) {
        compared = json_object_new_array();
        for (size_t k = 0; k < json_object_array_length(shown); k++) {
            json_object *p = json_object_array_get_idx(shown, k);
            const char *sku = json_object_is_type(p, json_type_string) ? json_object_get_string(p)
                                                                        : eng__json_str(p, "sku", "");
            for (size_t c = 0; c < json_object_array_length(cmp); c++)
                if (strcmp(json_object_get_string(json_object_array_get_idx(cmp, c)), sku) == 0)
                    json_object_array_add(compared, json_object_get(p));
        }
    }
    char kinds[120] = "";
    size_t kl = 0;
    for (int i = 0; i < n; i++) {
        bool among = compared && ents[i].type == ENG_ENT_REFERENCE && ents[i].ref == ENG_REF_COMPARATIVE &&
                     json_object_array_length(compared) > 0;
        json_object_array_add(arr, entity(&ents[i], text, among ? compared : shown, slots));
        if (kl < sizeof kinds - 1)
            kl += (size_t)snprintf(kinds + kl, sizeof kinds - kl, "%s%s", i ? ", " : ": ",
                                   eng__ent_type_name(ents[i].type));
    }
    json_object_put(compared);
    ENG_JADD(t->ctx, "entities", arr);
    ENG_JADD(t->ctx, "slots", slots);
    address_slot(t, text, slots);
    eng__turn_note(t, "%d entit%s%s%s", n, n == 1 ? "y" : "ies", kinds, cnote);
    return ENG_R_OK;
}

const eng_stage_type eng__stage_entities = {
    .name = "entities",
    .doc = "finds quantities, prices, sizes, colours, brands, categories, order numbers, e-mails and references",
    .fields = fields,
    .opts_size = sizeof(opts),
    .create = create,
    .run = run,
    .destroy = destroy,
    .warm = warm,
};
