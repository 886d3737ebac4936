/* engine/cond.c — route conditions of a simple form answered in C, with
 * Lua's rules (cond_int.h).  What the sandbox does that is modelled here:
 * a name is looked up as sandbox.c's resolve() does and converted as
 * luaconv.c converts it (a null member is nil; the conversion fails past
 * ENG_LUACONV_MAX_DEPTH levels, so a value nested deeper is undecided);
 * `a.b` indexes a converted object; == and ~= are Lua's raw equality
 * (an integer equals a float only when the float is that integer); < and
 * <= compare numbers.  Everything else is undecided. */
#include "cond_int.h"
#include "luaconv_int.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    C_NIL, C_TRUE, C_FALSE, C_INT, C_FLT, C_STR, C_NAME,
    C_AND, C_OR, C_NOT, C_EQ, C_NE, C_LT, C_LE, C_GT, C_GE
} ckind;

typedef enum { A_NONE, A_INTENT, A_CONFIDENCE, A_TEXT, A_CTX } calias;

typedef struct node node;
struct node {
    ckind k;
    const node *a, *b;      /* operands */
    int64_t i;              /* C_INT */
    double d;               /* C_FLT */
    const char *s;          /* C_STR: bytes; C_NAME: the first name */
    size_t n;               /* C_STR: length; C_NAME: fields after the first */
    const char **fields;    /* C_NAME */
    calias alias;           /* C_NAME */
};

struct eng_cond {
    const node *root;
};

/* The first names answered here besides the aliases: keys of the turn
 * context that are no global of the sandbox's expressions (its globals
 * come before the context: a context key "type" is never read by name).
 * tests/unit/test_cond.c checks each against the sandbox. */
static const char *const ctx_names[] = {
    "slots", "session", "entities", "user", "memory", "cart", "message",
    "route", "actions", "results", "reply", "vars", NULL,
};

/* ------------------------------------------------------------ parsing */

typedef enum {
    T_END, T_BAD, T_NAME, T_STR, T_INT, T_FLT, T_EQ, T_NE, T_LT, T_LE, T_GT, T_GE,
    T_LP, T_RP, T_DOT, T_AND, T_OR, T_NOT, T_NIL, T_TRUE, T_FALSE
} tkind;

typedef struct parser {
    eng_pool *pool;
    const char *p;          /* next byte */
    tkind t;                /* the current token */
    const char *ts;         /* its text */
    size_t tn;
    int64_t ti;
    double td;
    int depth;
    int nodes;
    bool bad;
} parser;

/* a longer condition stays Lua's: the tree is evaluated recursively, and
 * a chain of thousands of `and`s that Lua compiles would be as deep */
#define COND_NODES_MAX 256

static bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

static const char *const lua_keywords[] = {
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in",
    "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while", NULL,
};

static void next(parser *ps)
{
    const char *p = ps->p;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    ps->ts = p;
    ps->tn = 0;
    if (!*p) {
        ps->t = T_END;
        ps->p = p;
        return;
    }
    ps->t = T_BAD;
    if (is_name_start(*p)) {
        const char *e = p;
        while (is_name_char(*e))
            e++;
        ps->tn = (size_t)(e - p);
        ps->t = T_NAME;
        static const struct { const char *w; tkind t; } kw[] = {
            {"and", T_AND}, {"or", T_OR}, {"not", T_NOT}, {"nil", T_NIL}, {"true", T_TRUE}, {"false", T_FALSE},
        };
        for (size_t i = 0; i < sizeof kw / sizeof kw[0]; i++)
            if (strlen(kw[i].w) == ps->tn && memcmp(kw[i].w, p, ps->tn) == 0)
                ps->t = kw[i].t;
        if (ps->t == T_NAME)
            for (const char *const *k = lua_keywords; *k; k++)
                if (strlen(*k) == ps->tn && memcmp(*k, p, ps->tn) == 0)
                    ps->t = T_BAD;   /* another keyword: not the subset */
        ps->p = e;
        return;
    }
    if (*p >= '0' && *p <= '9') {
        const char *e = p;
        while (*e >= '0' && *e <= '9')
            e++;
        bool flt = false;
        if (*e == '.' && e[1] >= '0' && e[1] <= '9') {
            flt = true;
            e++;
            while (*e >= '0' && *e <= '9')
                e++;
        }
        /* hex, exponents, "3." and a number run into a name are Lua's */
        if (is_name_char(*e) || *e == '.' || (size_t)(e - p) > 18) {
            ps->p = e;
            return;
        }
        char buf[24];
        memcpy(buf, p, (size_t)(e - p));
        buf[e - p] = '\0';
        char *end;
        if (flt) {
            ps->td = strtod(buf, &end);
            ps->t = *end ? T_BAD : T_FLT;   /* a locale's decimal comma */
        } else {
            ps->ti = strtoll(buf, &end, 10);
            ps->t = *end ? T_BAD : T_INT;
        }
        ps->p = e;
        return;
    }
    if (*p == '\'' || *p == '"') {
        const char *e = p + 1;
        while (*e && *e != *p && *e != '\\' && *e != '\n' && *e != '\r')
            e++;
        if (*e != *p) {     /* an escape, a line break or no end */
            ps->p = e;
            return;
        }
        ps->ts = p + 1;
        ps->tn = (size_t)(e - p - 1);
        ps->t = T_STR;
        ps->p = e + 1;
        return;
    }
    ps->p = p + 1;
    switch (*p) {
    case '(': ps->t = T_LP; break;
    case ')': ps->t = T_RP; break;
    case '.': ps->t = p[1] == '.' || (p[1] >= '0' && p[1] <= '9') ? T_BAD : T_DOT; break;
    case '=': if (p[1] == '=') { ps->t = T_EQ; ps->p++; } break;
    case '~': if (p[1] == '=') { ps->t = T_NE; ps->p++; } break;
    case '<':
        if (p[1] == '=') { ps->t = T_LE; ps->p++; }
        else if (p[1] != '<') ps->t = T_LT;
        break;
    case '>':
        if (p[1] == '=') { ps->t = T_GE; ps->p++; }
        else if (p[1] != '>') ps->t = T_GT;
        break;
    default: break;
    }
}

static node *mk(parser *ps, ckind k, const node *a, const node *b)
{
    node *n = ++ps->nodes > COND_NODES_MAX ? NULL : eng__pool_alloc(ps->pool, sizeof *n);
    if (!n) {
        ps->bad = true;
        return NULL;
    }
    n->k = k;
    n->a = a;
    n->b = b;
    return n;
}

static char *dup_n(parser *ps, const char *s, size_t n)
{
    char *d = eng__pool_alloc(ps->pool, n + 1);
    if (!d) {
        ps->bad = true;
        return NULL;
    }
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static const node *expr(parser *ps);

static const node *name(parser *ps)
{
    node *n = mk(ps, C_NAME, NULL, NULL);
    if (!n || !(n->s = dup_n(ps, ps->ts, ps->tn)))
        return NULL;
    static const struct { const char *w; calias a; } al[] = {
        {"intent", A_INTENT}, {"confidence", A_CONFIDENCE}, {"text", A_TEXT}, {"ctx", A_CTX},
    };
    for (size_t i = 0; i < sizeof al / sizeof al[0]; i++)
        if (strcmp(n->s, al[i].w) == 0)
            n->alias = al[i].a;
    bool known = n->alias != A_NONE;
    for (const char *const *c = ctx_names; *c && !known; c++)
        known = strcmp(*c, n->s) == 0;
    if (!known) {
        ps->bad = true;     /* a global, or a name the context may lack */
        return NULL;
    }
    next(ps);
    const char *fields[16];
    while (ps->t == T_DOT) {
        next(ps);
        if (ps->t != T_NAME || n->n == sizeof fields / sizeof fields[0]) {
            ps->bad = true;
            return NULL;
        }
        if (!(fields[n->n++] = dup_n(ps, ps->ts, ps->tn)))
            return NULL;
        next(ps);
    }
    if (n->n) {
        n->fields = eng__pool_alloc(ps->pool, n->n * sizeof *n->fields);
        if (!n->fields) {
            ps->bad = true;
            return NULL;
        }
        memcpy(n->fields, fields, n->n * sizeof *n->fields);
    }
    return n;
}

static const node *primary(parser *ps)
{
    node *n = NULL;
    switch (ps->t) {
    case T_LP: {
        next(ps);
        const node *e = expr(ps);
        if (!e || ps->t != T_RP) {
            ps->bad = true;
            return NULL;
        }
        next(ps);
        return e;
    }
    case T_NAME:
        return name(ps);
    case T_NIL: n = mk(ps, C_NIL, NULL, NULL); break;
    case T_TRUE: n = mk(ps, C_TRUE, NULL, NULL); break;
    case T_FALSE: n = mk(ps, C_FALSE, NULL, NULL); break;
    case T_INT:
        if ((n = mk(ps, C_INT, NULL, NULL)))
            n->i = ps->ti;
        break;
    case T_FLT:
        if ((n = mk(ps, C_FLT, NULL, NULL)))
            n->d = ps->td;
        break;
    case T_STR:
        if ((n = mk(ps, C_STR, NULL, NULL))) {
            n->s = dup_n(ps, ps->ts, ps->tn);
            n->n = ps->tn;
        }
        break;
    default:
        ps->bad = true;
        return NULL;
    }
    next(ps);
    return n;
}

static const node *unary(parser *ps)
{
    if (ps->t != T_NOT)
        return primary(ps);
    next(ps);
    const node *a = unary(ps);
    return a ? mk(ps, C_NOT, a, NULL) : NULL;
}

static const node *cmp(parser *ps)
{
    const node *a = unary(ps);
    for (;;) {
        ckind k;
        switch (ps->t) {
        case T_EQ: k = C_EQ; break;
        case T_NE: k = C_NE; break;
        case T_LT: k = C_LT; break;
        case T_LE: k = C_LE; break;
        case T_GT: k = C_GT; break;
        case T_GE: k = C_GE; break;
        default: return a;
        }
        if (!a)
            return NULL;
        next(ps);
        const node *b = unary(ps);
        if (!b)
            return NULL;
        a = mk(ps, k, a, b);
    }
}

static const node *andexp(parser *ps)
{
    const node *a = cmp(ps);
    while (a && ps->t == T_AND) {
        next(ps);
        const node *b = cmp(ps);
        a = b ? mk(ps, C_AND, a, b) : NULL;
    }
    return a;
}

static const node *expr(parser *ps)
{
    if (++ps->depth > 32) {
        ps->bad = true;
        return NULL;
    }
    const node *a = andexp(ps);
    while (a && ps->t == T_OR) {
        next(ps);
        const node *b = andexp(ps);
        a = b ? mk(ps, C_OR, a, b) : NULL;
    }
    ps->depth--;
    return a;
}

eng_cond *eng__cond_compile(eng_pool *pool, const char *src)
{
    if (!pool || !src)
        return NULL;
    parser ps = {.pool = pool, .p = src};
    next(&ps);
    const node *root = expr(&ps);
    if (!root || ps.bad || ps.t != T_END)
        return NULL;    /* what the pool got stays until the pipeline goes */
    eng_cond *c = eng__pool_alloc(pool, sizeof *c);
    if (c)
        c->root = root;
    return c;
}

/* ------------------------------------------------------------ evaluation */

typedef enum { V_NIL, V_BOOL, V_INT, V_FLT, V_STR, V_TABLE } vkind;

typedef struct val {
    vkind k;
    bool b;
    int64_t i;
    double d;
    const char *s;
    size_t n;
} val;

/* Would luaconv.c's push() convert v without error (depth) and well
 * inside the sandbox's memory cap?  Mirrors its walk: a null object
 * member is skipped, an array's every element counts. */
#define WALK_NODES_MAX 20000
#define WALK_BYTES_MAX ((size_t)1 << 20)

static bool walk(json_object *v, int depth, size_t *nodes, size_t *bytes)
{
    if (depth > ENG_LUACONV_MAX_DEPTH || ++*nodes > WALK_NODES_MAX)
        return false;
    switch (json_object_get_type(v)) {
    case json_type_string:
        *bytes += (size_t)json_object_get_string_len(v);
        return *bytes <= WALK_BYTES_MAX;
    case json_type_object: {
        json_object_object_foreach(v, key, m) {
            *bytes += strlen(key);
            if (m && !walk(m, depth + 1, nodes, bytes))
                return false;
        }
        return *bytes <= WALK_BYTES_MAX;
    }
    case json_type_array: {
        size_t n = json_object_array_length(v);
        for (size_t i = 0; i < n; i++)
            if (!walk(json_object_array_get_idx(v, i), depth + 1, nodes, bytes))
                return false;
        return true;
    }
    default:
        return true;
    }
}

static void to_val(json_object *v, val *out)
{
    memset(out, 0, sizeof *out);
    switch (json_object_get_type(v)) {
    case json_type_null: out->k = V_NIL; break;
    case json_type_boolean: out->k = V_BOOL; out->b = json_object_get_boolean(v); break;
    case json_type_int: out->k = V_INT; out->i = json_object_get_int64(v); break;
    case json_type_double: out->k = V_FLT; out->d = json_object_get_double(v); break;
    case json_type_string:
        out->k = V_STR;
        out->s = json_object_get_string(v);
        out->n = (size_t)json_object_get_string_len(v);
        break;
    case json_type_object:
    case json_type_array: out->k = V_TABLE; break;
    }
}

/* 0 with *out, or -1: undecided */
static int name_val(const node *n, json_object *ctx, val *out)
{
    json_object *v = NULL;
    switch (n->alias) {
    case A_INTENT: v = eng__json_path(ctx, "intent.name"); break;
    case A_CONFIDENCE: v = eng__json_path(ctx, "intent.confidence"); break;
    case A_TEXT: v = eng__json_path(ctx, "message.text"); break;
    case A_CTX: v = ctx; break;
    case A_NONE:
        if (!json_object_object_get_ex(ctx, n->s, &v))
            v = NULL;   /* resolve() finds nothing: nil */
        break;
    }
    /* the sandbox converts the whole value before the fields are read */
    size_t nodes = 0, bytes = 0;
    if ((json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array)) &&
        !walk(v, 1, &nodes, &bytes))
        return -1;
    for (size_t i = 0; i < n->n; i++) {
        if (json_object_is_type(v, json_type_object)) {
            json_object *m;
            v = json_object_object_get_ex(v, n->fields[i], &m) ? m : NULL;
        } else if (json_object_is_type(v, json_type_array))
            v = NULL;   /* a name is no key of a converted array */
        else
            return -1;  /* nil, a number or a boolean: an error; a string: its methods */
    }
    to_val(v, out);
    return 0;
}

static bool truthy(const val *v) { return v->k == V_NIL ? false : v->k == V_BOOL ? v->b : true; }

static bool is_num(const val *v) { return v->k == V_INT || v->k == V_FLT; }

/* the float as an integer when it is one exactly (Lua's F2Ieq) */
static bool flt_int(double d, int64_t *i)
{
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || floor(d) != d)
        return false;
    *i = (int64_t)d;
    return true;
}

/* 1 equal, 0 not, -1 undecided */
static int equal(const val *a, const val *b)
{
    if (is_num(a) && is_num(b)) {
        if (a->k == V_INT && b->k == V_INT)
            return a->i == b->i;
        if (a->k == V_FLT && b->k == V_FLT)
            return a->d == b->d;
        int64_t i;
        const val *f = a->k == V_FLT ? a : b, *n = a->k == V_INT ? a : b;
        return flt_int(f->d, &i) && i == n->i;
    }
    if (a->k != b->k)
        return 0;
    switch (a->k) {
    case V_NIL: return 1;
    case V_BOOL: return a->b == b->b;
    case V_STR: return a->n == b->n && memcmp(a->s, b->s, a->n) == 0;
    default: return -1;     /* two tables: identity */
    }
}

#define EXACT_INT ((int64_t)1 << 53)

/* a < b (or a <= b with le): 1, 0, or -1 undecided (not two numbers, or
 * an integer a double cannot hold) */
static int less(const val *a, const val *b, bool le)
{
    if (!is_num(a) || !is_num(b))
        return -1;
    if (a->k == V_INT && b->k == V_INT)
        return le ? a->i <= b->i : a->i < b->i;
    if ((a->k == V_INT && (a->i > EXACT_INT || a->i < -EXACT_INT)) ||
        (b->k == V_INT && (b->i > EXACT_INT || b->i < -EXACT_INT)))
        return -1;
    double x = a->k == V_INT ? (double)a->i : a->d, y = b->k == V_INT ? (double)b->i : b->d;
    return le ? x <= y : x < y;
}

static int eval(const node *n, json_object *ctx, val *out)
{
    val a, b;
    int r;
    memset(out, 0, sizeof *out);
    switch (n->k) {
    case C_NIL: out->k = V_NIL; return 0;
    case C_TRUE: out->k = V_BOOL; out->b = true; return 0;
    case C_FALSE: out->k = V_BOOL; out->b = false; return 0;
    case C_INT: out->k = V_INT; out->i = n->i; return 0;
    case C_FLT: out->k = V_FLT; out->d = n->d; return 0;
    case C_STR: out->k = V_STR; out->s = n->s; out->n = n->n; return 0;
    case C_NAME: return name_val(n, ctx, out);
    case C_AND:
    case C_OR:
        /* Lua's value: the first operand when it decides, else the second */
        if (eval(n->a, ctx, &a) < 0)
            return -1;
        if (truthy(&a) == (n->k == C_OR)) {
            *out = a;
            return 0;
        }
        return eval(n->b, ctx, out);
    case C_NOT:
        if (eval(n->a, ctx, &a) < 0)
            return -1;
        out->k = V_BOOL;
        out->b = !truthy(&a);
        return 0;
    default:
        break;
    }
    if (eval(n->a, ctx, &a) < 0 || eval(n->b, ctx, &b) < 0)
        return -1;
    switch (n->k) {
    case C_EQ: r = equal(&a, &b); break;
    case C_NE: r = equal(&a, &b); r = r < 0 ? r : !r; break;
    case C_LT: r = less(&a, &b, false); break;
    case C_LE: r = less(&a, &b, true); break;
    case C_GT: r = less(&b, &a, false); break;
    case C_GE: r = less(&b, &a, true); break;
    default: r = -1; break;
    }
    if (r < 0)
        return -1;
    out->k = V_BOOL;
    out->b = r != 0;
    return 0;
}

int eng__cond_eval(const eng_cond *c, json_object *ctx)
{
    val v;
    if (!c || !ctx || eval(c->root, ctx, &v) < 0)
        return -1;
    return truthy(&v) ? 1 : 0;
}
