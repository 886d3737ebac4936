/* engine/template.c — reply templates: {{ path | filter }}, #if/#unless/
 * #each blocks and comments, compiled once at pipeline load into a small
 * tree in the pipeline's pool and rendered per turn without any parsing. */
#include "eng_int.h"
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Blocks nest at most this deep, so rendering (which recurses once per
 * block level) and the render-time scope stack are bounded by compile. */
#define TMPL_MAX_DEPTH 32
/* eng__json_path copies each segment into a 128-byte buffer. */
#define TMPL_MAX_SEGMENT 127

enum node_kind { N_TEXT, N_VAR, N_IF, N_EACH };

enum path_kind {
    P_NAME,   /* resolved against the #each items, then the context */
    P_THIS,   /* the current item (the context outside #each) */
    P_THIS_SUB, /* this.x: only the current item */
    P_INDEX,
    P_NUMBER,
    P_LAST,
};

enum filter_op { F_UPPER, F_LOWER, F_TITLE, F_MONEY, F_ROUND, F_COUNT, F_DEFAULT, F_JOIN, F_PLURAL, F_POSSESSIVE };

typedef struct filter {
    enum filter_op op;
    const char *arg; /* default/join/plural: the unquoted argument */
    size_t arglen;
} filter;

typedef struct tpath {
    enum path_kind kind;
    const char *s; /* NUL-terminated dotted path for eng__json_path */
} tpath;

typedef struct node {
    enum node_kind kind;
    bool negate; /* #unless */
    struct node *next;
    const char *text; /* N_TEXT */
    size_t len;
    tpath path;          /* N_VAR, N_IF, N_EACH */
    const filter *filters; /* N_VAR */
    size_t nfilters;
    struct node *body, *alt; /* blocks: the part before and after {{else}} */
} node;

struct eng_tmpl {
    node *root;
};

/* ------------------------------------------------------------- compile */

static const struct {
    const char *name;
    enum filter_op op;
    bool needs_arg;
} filter_table[] = {
    {"upper", F_UPPER, false}, {"lower", F_LOWER, false}, {"title", F_TITLE, false},
    {"money", F_MONEY, false}, {"round", F_ROUND, false}, {"count", F_COUNT, false},
    {"default", F_DEFAULT, true}, {"join", F_JOIN, true}, {"plural", F_PLURAL, true},
    {"possessive", F_POSSESSIVE, false},
};

typedef struct open_block {
    node *blk;
    node **tail;      /* where the next child goes */
    const char *name; /* "if", "unless", "each"; NULL for the root */
    const char *tag;  /* where its "{{" stands, for "unclosed" errors */
    int line;
    bool in_else;
} open_block;

typedef struct parser {
    eng_pool *pool;
    const char *src;   /* the pool copy; text nodes point into it */
    int line0, col0;   /* where src starts in its file */
    /* a position cache so that locating many tags stays linear */
    const char *cur;
    int cur_line, cur_col;
    eng_err *err;
    open_block st[TMPL_MAX_DEPTH + 1];
    int depth;         /* st[0] is the top level */
    int each_depth;
} parser;

/* locate: the file position of `at`, advancing the cached cursor. */
static void locate(parser *ps, const char *at, int *line, int *col)
{
    if (at < ps->cur) {
        ps->cur = ps->src;
        ps->cur_line = ps->line0;
        ps->cur_col = ps->col0;
    }
    for (const char *p = ps->cur; p < at; p++) {
        if (*p == '\n') {
            ps->cur_line++;
            ps->cur_col = 1;
        } else {
            ps->cur_col++;
        }
    }
    ps->cur = at;
    *line = ps->cur_line;
    *col = ps->cur_col;
}

static int fail_at(parser *ps, const char *at, const char *fmt, ...) ENG_PRINTF(3, 4);

static int fail_at(parser *ps, const char *at, const char *fmt, ...)
{
    if (!ps->err)
        return ENG_EINVAL;
    int line, col;
    locate(ps, at, &line, &col);
    ps->err->code = ENG_EINVAL;
    ps->err->line = line;
    ps->err->col = col;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ps->err->msg, sizeof ps->err->msg, fmt, ap);
    va_end(ap);
    return ENG_EINVAL;
}

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static bool is_path_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '$';
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && is_ws(*p))
        p++;
    return p;
}

static node *new_node(parser *ps, enum node_kind kind)
{
    node *n = eng__pool_alloc(ps->pool, sizeof *n);
    if (n)
        n->kind = kind;
    return n;
}

static void append(parser *ps, node *n)
{
    open_block *b = &ps->st[ps->depth];
    *b->tail = n;
    b->tail = &n->next;
}

static int add_text(parser *ps, const char *s, size_t len)
{
    if (!len)
        return 0;
    node *n = new_node(ps, N_TEXT);
    if (!n)
        return ENG_ENOMEM;
    n->text = s;
    n->len = len;
    append(ps, n);
    return 0;
}

/* parse_path: a path at *pp (within [*pp, end)); on success *pp moves past
 * it. `tag` is the tag's start, where "empty path" points. */
static int parse_path(parser *ps, const char **pp, const char *end, const char *tag, tpath *out)
{
    const char *p = *pp, *start = p;
    if (p < end && *p == '@') {
        p++;
        while (p < end && is_path_char(*p))
            p++;
        size_t n = (size_t)(p - start);
        if (n == 6 && !memcmp(start, "@index", 6))
            out->kind = P_INDEX;
        else if (n == 7 && !memcmp(start, "@number", 7))
            out->kind = P_NUMBER;
        else if (n == 5 && !memcmp(start, "@last", 5))
            out->kind = P_LAST;
        else
            return fail_at(ps, start, "unknown variable \"%.*s\" (use @index, @number or @last)",
                           (int)n, start);
        if (!ps->each_depth)
            return fail_at(ps, start, "\"%.*s\" outside \"{{#each\"", (int)n, start);
        *pp = p;
        return 0;
    }
    const char *seg = p;
    for (;;) {
        while (p < end && is_path_char(*p))
            p++;
        if (p == seg) {
            if (p == start && (p == end || is_ws(*p) || *p == '|'))
                return fail_at(ps, tag, "empty path");
            if (p == end)
                return fail_at(ps, p, "path ends with \".\"");
            return fail_at(ps, p, "unexpected \"%c\" in path", *p);
        }
        if (p - seg > TMPL_MAX_SEGMENT)
            return fail_at(ps, seg, "path segment longer than %d bytes", TMPL_MAX_SEGMENT);
        if (p < end && *p == '.') {
            seg = ++p;
            continue;
        }
        break;
    }
    size_t n = (size_t)(p - start);
    if (n == 4 && !memcmp(start, "this", 4)) {
        out->kind = P_THIS;
    } else if (n > 5 && !memcmp(start, "this.", 5)) {
        out->kind = P_THIS_SUB;
        start += 5;
        n -= 5;
    } else {
        out->kind = P_NAME;
    }
    if (out->kind != P_THIS) {
        out->s = eng__pool_strndup(ps->pool, start, n);
        if (!out->s)
            return ENG_ENOMEM;
    }
    *pp = p;
    return 0;
}

/* parse_string: a quoted filter argument ("..." or '...', with \-escapes
 * for the quote, backslash, \n and \t) into a pool string. */
static int parse_string(parser *ps, const char **pp, const char *end, filter *f)
{
    const char *p = *pp, *open = p;
    char q = *p++;
    size_t n = 0;
    for (const char *s = p; s < end && *s != q; s++, n++)
        if (*s == '\\' && s + 1 < end)
            s++;
    char *d = eng__pool_alloc(ps->pool, n + 1);
    if (!d)
        return ENG_ENOMEM;
    n = 0;
    while (p < end && *p != q) {
        char c = *p++;
        if (c == '\\' && p < end) {
            c = *p++;
            c = c == 'n' ? '\n' : c == 't' ? '\t' : c;
        }
        d[n++] = c;
    }
    if (p == end)
        return fail_at(ps, open, "unterminated string in filter argument");
    f->arg = d;
    f->arglen = n;
    *pp = p + 1;
    return 0;
}

static int parse_filters(parser *ps, const char *p, const char *end, node *n)
{
    size_t count = 0;
    for (const char *s = p; s < end; s++)
        if (*s == '|')
            count++; /* an upper bound: a '|' inside an argument counts too */
    filter *fs = NULL;
    if (count && !(fs = eng__pool_alloc(ps->pool, count * sizeof *fs)))
        return ENG_ENOMEM;
    size_t nf = 0;
    for (;;) {
        p = skip_ws(p, end);
        if (p == end)
            break;
        if (*p != '|')
            return fail_at(ps, p, "unexpected \"%c\" after the path (filters go after \"|\")", *p);
        p = skip_ws(p + 1, end);
        const char *name = p;
        while (p < end && (isalnum((unsigned char)*p) || *p == '_'))
            p++;
        size_t len = (size_t)(p - name);
        if (!len)
            return fail_at(ps, name, "missing filter name after \"|\"");
        size_t i;
        for (i = 0; i < sizeof filter_table / sizeof filter_table[0]; i++)
            if (strlen(filter_table[i].name) == len && !memcmp(filter_table[i].name, name, len))
                break;
        if (i == sizeof filter_table / sizeof filter_table[0])
            return fail_at(ps, name, "unknown filter \"%.*s\"", (int)len, name);
        filter *f = &fs[nf++];
        f->op = filter_table[i].op;
        const char *q = skip_ws(p, end);
        if (q < end && *q == ':') {
            if (!filter_table[i].needs_arg)
                return fail_at(ps, q, "filter \"%s\" takes no argument", filter_table[i].name);
            q = skip_ws(q + 1, end);
            if (q == end || (*q != '"' && *q != '\''))
                return fail_at(ps, q, "the argument of \"%s\" must be a quoted string, as in %s:\"%s\"",
                               filter_table[i].name, filter_table[i].name,
                               f->op == F_JOIN ? ", " : f->op == F_PLURAL ? "item" : "text");
            int rc = parse_string(ps, &q, end, f);
            if (rc)
                return rc;
            p = q;
        } else if (filter_table[i].needs_arg) {
            return fail_at(ps, name, "filter \"%s\" needs an argument, as in %s:\"%s\"",
                           filter_table[i].name, filter_table[i].name,
                           f->op == F_JOIN ? ", " : f->op == F_PLURAL ? "item" : "text");
        }
    }
    n->filters = fs;
    n->nfilters = nf;
    return 0;
}

static bool word_is(const char *p, const char *end, const char *w, const char **after)
{
    size_t n = strlen(w);
    if ((size_t)(end - p) < n || memcmp(p, w, n) || (p + n < end && is_path_char(p[n])))
        return false;
    *after = p + n;
    return true;
}

static int open_block_tag(parser *ps, const char *tag, const char *p, const char *end)
{
    const char *after, *name;
    enum node_kind kind;
    bool negate = false;
    if (word_is(p, end, "if", &after)) {
        kind = N_IF, name = "if";
    } else if (word_is(p, end, "unless", &after)) {
        kind = N_IF, name = "unless", negate = true;
    } else if (word_is(p, end, "each", &after)) {
        kind = N_EACH, name = "each";
    } else {
        const char *e = p;
        while (e < end && !is_ws(*e))
            e++;
        return fail_at(ps, tag, "unknown block \"{{#%.*s\" (use #if, #unless or #each)", (int)(e - p), p);
    }
    if (ps->depth == TMPL_MAX_DEPTH)
        return fail_at(ps, tag, "blocks nested deeper than %d", TMPL_MAX_DEPTH);
    node *n = new_node(ps, kind);
    if (!n)
        return ENG_ENOMEM;
    n->negate = negate;
    p = skip_ws(after, end);
    int rc = parse_path(ps, &p, end, tag, &n->path);
    if (rc)
        return rc;
    p = skip_ws(p, end);
    if (p < end)
        return fail_at(ps, p, "unexpected \"%c\" after the path of \"{{#%s\" (filters are not allowed here)",
                       *p, name);
    append(ps, n);
    int line, col;
    locate(ps, tag, &line, &col);
    open_block *b = &ps->st[++ps->depth];
    b->blk = n;
    b->tail = &n->body;
    b->name = name;
    b->tag = tag;
    b->line = line;
    b->in_else = false;
    if (kind == N_EACH)
        ps->each_depth++;
    return 0;
}

static int close_block_tag(parser *ps, const char *tag, const char *p, const char *end)
{
    const char *e = p;
    while (e < end && is_path_char(*e))
        e++;
    int len = (int)(e - p);
    if (skip_ws(e, end) != end)
        return fail_at(ps, skip_ws(e, end), "unexpected \"%c\" in \"{{/%.*s}}\"", *skip_ws(e, end), len, p);
    if (!(len == 2 && !memcmp(p, "if", 2)) && !(len == 6 && !memcmp(p, "unless", 6)) &&
        !(len == 4 && !memcmp(p, "each", 4)))
        return fail_at(ps, tag, "unknown block \"{{/%.*s}}\" (use /if, /unless or /each)", len, p);
    if (!ps->depth)
        return fail_at(ps, tag, "\"{{/%.*s}}\" without an open \"{{#%.*s\"", len, p, len, p);
    open_block *b = &ps->st[ps->depth];
    if ((int)strlen(b->name) != len || memcmp(b->name, p, (size_t)len))
        return fail_at(ps, tag, "\"{{/%.*s}}\" closes \"{{#%s\" opened at line %d", len, p, b->name,
                       b->line);
    if (b->blk->kind == N_EACH)
        ps->each_depth--;
    ps->depth--;
    return 0;
}

/* {{else}} also works in #each (rendered when there is nothing to
 * iterate), as in Handlebars: "no results" replies need it. */
static int else_tag(parser *ps, const char *tag, const char *p, const char *end)
{
    if (p < end)
        return fail_at(ps, p, "unexpected \"%c\" after \"{{else\"", *p);
    if (!ps->depth)
        return fail_at(ps, tag, "\"{{else}}\" without an open \"{{#if\", \"{{#unless\" or \"{{#each\"");
    open_block *b = &ps->st[ps->depth];
    if (b->in_else)
        return fail_at(ps, tag, "second \"{{else}}\" in \"{{#%s\" opened at line %d", b->name, b->line);
    b->in_else = true;
    b->tail = &b->blk->alt;
    return 0;
}

/* tag_end: the "}}" closing the tag whose content starts at p, skipping
 * quoted filter arguments (join:"}}" is legal). A "{{" before it means
 * this tag was never closed. If quotes never balance, fall back to the
 * first "}}" so that the filter parser can say which string is
 * unterminated rather than calling the whole tag unclosed. */
static const char *tag_end(const char *p, bool comment)
{
    if (comment)
        return strstr(p, "}}");
    char q = 0;
    const char *s;
    for (s = p; *s; s++) {
        if (q) {
            if (*s == '\\' && s[1])
                s++;
            else if (*s == q)
                q = 0;
        } else if (*s == '"' || *s == '\'') {
            q = *s;
        } else if (s[0] == '{' && s[1] == '{') {
            return NULL;
        } else if (s[0] == '}' && s[1] == '}') {
            return s;
        }
    }
    for (s = p; *s; s++) {
        if (s[0] == '{' && s[1] == '{')
            return NULL;
        if (s[0] == '}' && s[1] == '}')
            return s;
    }
    return NULL;
}

static int parse(parser *ps)
{
    const char *p = ps->src;
    bool trim_next = false; /* the previous tag ended with ~}} */
    for (;;) {
        /* the text up to the next tag; \{{ is a literal {{ */
        const char *t = p, *open;
        for (;;) {
            open = strstr(t, "{{");
            if (open && open > p && open[-1] == '\\') {
                if (trim_next)
                    p = skip_ws(p, open - 1);
                trim_next = false;
                int rc = add_text(ps, p, (size_t)(open - 1 - p));
                if (rc)
                    return rc;
                p = open; /* the {{ starts the next text */
                t = open + 2;
                continue;
            }
            break;
        }
        const char *text_end = open ? open : p + strlen(p);
        if (trim_next)
            p = skip_ws(p, text_end);
        trim_next = false;
        const char *te = text_end;
        if (open && open[2] == '~')
            while (te > p && is_ws(te[-1]))
                te--;
        int rc = add_text(ps, p, (size_t)(te - p));
        if (rc)
            return rc;
        if (!open)
            break;

        const char *c = open + 2;
        if (*c == '~')
            c++;
        const char *cs = c;
        while (is_ws(*cs))
            cs++;
        bool comment = *cs == '!';
        const char *close;
        if (comment && cs[1] == '-' && cs[2] == '-') {
            /* {{!-- ... --}} may hold "}}" */
            close = strstr(cs + 3, "--}}");
            if (close)
                close += 2;
        } else {
            close = tag_end(c, comment);
        }
        if (!close)
            return fail_at(ps, open, "unclosed \"{{\"");
        const char *ce = close;
        if (ce > c && ce[-1] == '~') {
            ce--;
            trim_next = true;
        }
        p = close + 2;
        if (comment)
            continue;
        while (ce > cs && is_ws(ce[-1]))
            ce--;
        if (cs < ce && *cs == '#') {
            rc = open_block_tag(ps, open, cs + 1, ce);
        } else if (cs < ce && *cs == '/') {
            rc = close_block_tag(ps, open, cs + 1, ce);
        } else if (word_is(cs, ce, "else", &t)) {
            rc = else_tag(ps, open, skip_ws(t, ce), ce);
        } else {
            node *n = new_node(ps, N_VAR);
            if (!n)
                return ENG_ENOMEM;
            const char *q = cs;
            rc = parse_path(ps, &q, ce, open, &n->path);
            if (!rc)
                rc = parse_filters(ps, q, ce, n);
            if (!rc)
                append(ps, n);
        }
        if (rc)
            return rc;
    }
    if (ps->depth) {
        open_block *b = &ps->st[ps->depth];
        return fail_at(ps, b->tag, "unclosed \"{{#%s\": no \"{{/%s}}\" before the end of the template",
                       b->name, b->name);
    }
    return 0;
}

int eng__tmpl_compile(eng_pool *pool, const char *src, int line, int col, eng_tmpl **out,
                      eng_err *err)
{
    *out = NULL;
    if (!src)
        return eng_err_set(err, ENG_EINVAL, "no template");
    eng_tmpl *t = eng__pool_alloc(pool, sizeof *t);
    char *copy = t ? eng__pool_strdup(pool, src) : NULL;
    if (!copy)
        return eng_err_set(err, ENG_ENOMEM, "out of memory");
    /* the parser's open-block stack is ~1 KB: fine on the stack */
    parser ps = {
        .pool = pool,
        .src = copy,
        .line0 = line > 0 ? line : 1,
        .col0 = col > 0 ? col : 1,
        .err = err,
    };
    ps.cur = copy;
    ps.cur_line = ps.line0;
    ps.cur_col = ps.col0;
    ps.st[0].tail = &t->root;
    int rc = parse(&ps);
    if (rc == ENG_ENOMEM)
        return eng_err_set(err, ENG_ENOMEM, "out of memory");
    if (rc)
        return rc;
    *out = t;
    return 0;
}

/* -------------------------------------------------------------- render */

typedef struct scope {
    json_object *item;
    size_t index, count;
} scope;

typedef struct rctx {
    json_object *root;
    eng_buf *out;
    scope sc[TMPL_MAX_DEPTH];
    int depth;
} rctx;

/* A value flowing through a filter chain. V_OUT means it has already
 * been written to out at [start, out->len): string filters then work in
 * place, so a render allocates nothing beyond the output buffer. */
enum vkind { V_NONE, V_BOOL, V_INT, V_DBL, V_STR, V_ARR, V_OBJ, V_OUT };

typedef struct val {
    enum vkind k;
    bool b;
    int64_t i;
    double d;
    const char *s;
    size_t n;
    json_object *j;
} val;

static json_object *resolve(const rctx *r, const tpath *p)
{
    switch (p->kind) {
    case P_THIS:
        return r->depth ? r->sc[r->depth - 1].item : r->root;
    case P_THIS_SUB:
        return eng__json_path(r->depth ? r->sc[r->depth - 1].item : r->root, p->s);
    case P_NAME:
        for (int i = r->depth - 1; i >= 0; i--) {
            json_object *it = r->sc[i].item;
            if (json_object_is_type(it, json_type_object)) {
                json_object *v = eng__json_path(it, p->s);
                if (v)
                    return v;
            }
        }
        return eng__json_path(r->root, p->s);
    default:
        return NULL; /* @-variables are handled by lookup */
    }
}

static val from_json(json_object *j)
{
    val v = {.k = V_NONE};
    switch (json_object_get_type(j)) {
    case json_type_boolean:
        v.k = V_BOOL;
        v.b = json_object_get_boolean(j);
        break;
    case json_type_int:
        v.k = V_INT;
        v.i = json_object_get_int64(j);
        break;
    case json_type_double:
        v.k = V_DBL;
        v.d = json_object_get_double(j);
        break;
    case json_type_string:
        v.k = V_STR;
        v.s = json_object_get_string(j);
        v.n = (size_t)json_object_get_string_len(j);
        break;
    case json_type_array:
        v.k = V_ARR;
        v.j = j;
        break;
    case json_type_object:
        v.k = V_OBJ;
        v.j = j;
        break;
    default:
        break;
    }
    return v;
}

static val lookup(const rctx *r, const tpath *p)
{
    val v = {.k = V_NONE};
    const scope *s = r->depth ? &r->sc[r->depth - 1] : NULL;
    if (!s && p->kind >= P_INDEX)
        return v; /* cannot happen: compile rejects @-names outside #each */
    switch (p->kind) {
    case P_INDEX:
        v.k = V_INT;
        v.i = (int64_t)s->index;
        return v;
    case P_NUMBER:
        v.k = V_INT;
        v.i = (int64_t)s->index + 1;
        return v;
    case P_LAST:
        v.k = V_BOOL;
        v.b = s->index + 1 == s->count;
        return v;
    default:
        return from_json(resolve(r, p));
    }
}

static void add_int(eng_buf *b, int64_t i)
{
    char tmp[24], *e = tmp + sizeof tmp, *p = e;
    uint64_t u = i < 0 ? (uint64_t)0 - (uint64_t)i : (uint64_t)i;
    do
        *--p = (char)('0' + u % 10);
    while (u /= 10);
    if (i < 0)
        *--p = '-';
    eng__buf_add(b, p, (size_t)(e - p));
}

/* add_fixed: d with 2 decimals; `trim` drops trailing zeros (19.50 ->
 * 19.5, 20.00 -> 20) for plain numbers, money keeps them. */
static void add_fixed(eng_buf *b, double d, bool trim);

/* money: two decimals, thousands grouped ("1,399.99"), as shoppers read
 * prices */
static void add_money(eng_buf *b, double d)
{
    eng_buf t;
    eng__buf_init(&t);
    add_fixed(&t, d, false);
    if (!t.data || t.oom) {
        eng__buf_free(&t);
        return;
    }
    const char *s = t.data;
    size_t n = strlen(s), digits = 0, at = 0;
    if (*s == '-')
        eng__buf_add(b, s, 1), at = 1;
    while (at + digits < n && isdigit((unsigned char)s[at + digits]))
        digits++;
    for (size_t i = 0; i < digits; i++) {
        if (i && (digits - i) % 3 == 0)
            eng__buf_add(b, ",", 1);
        eng__buf_add(b, s + at + i, 1);
    }
    eng__buf_add(b, s + at + digits, n - at - digits);
    eng__buf_free(&t);
}

static void add_fixed(eng_buf *b, double d, bool trim)
{
    if (!isfinite(d))
        return;
    char tmp[400]; /* %.2f of DBL_MAX is 313 bytes */
    int n = snprintf(tmp, sizeof tmp, "%.2f", d);
    if (n <= 0 || (size_t)n >= sizeof tmp)
        return;
    if (trim) {
        while (tmp[n - 1] == '0')
            n--;
        if (tmp[n - 1] == '.')
            n--;
    }
    /* -0.001 rounds to "-0.00": a minus on zero reads as a bug */
    const char *s = tmp;
    if (tmp[0] == '-') {
        int i = 1;
        while (i < n && (tmp[i] == '0' || tmp[i] == '.'))
            i++;
        if (i == n)
            s++, n--;
    }
    eng__buf_add(b, s, (size_t)n);
}

static void emit(eng_buf *b, const val *v);

static void add_join(eng_buf *b, json_object *arr, const char *sep, size_t seplen)
{
    size_t n = json_object_array_length(arr);
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        val e = from_json(json_object_array_get_idx(arr, i));
        /* only scalars: nested lists and objects have no sensible text */
        if (e.k == V_NONE || e.k == V_ARR || e.k == V_OBJ)
            continue;
        if (!first)
            eng__buf_add(b, sep, seplen);
        first = false;
        emit(b, &e);
    }
}

static void emit(eng_buf *b, const val *v)
{
    switch (v->k) {
    case V_BOOL:
        if (v->b)
            eng__buf_add(b, "true", 4);
        else
            eng__buf_add(b, "false", 5);
        break;
    case V_INT:
        add_int(b, v->i);
        break;
    case V_DBL:
        add_fixed(b, v->d, true);
        break;
    case V_STR:
        eng__buf_add(b, v->s, v->n);
        break;
    case V_ARR:
        add_join(b, v->j, ", ", 2);
        break;
    default: /* none, objects, and V_OUT which is already written */
        break;
    }
}

static bool truthy(const val *v)
{
    switch (v->k) {
    case V_BOOL: return v->b;
    case V_INT: return v->i != 0;
    case V_DBL: return v->d != 0;
    case V_STR: return v->n != 0;
    case V_ARR: return json_object_array_length(v->j) != 0;
    case V_OBJ: return json_object_object_length(v->j) != 0;
    default: return false;
    }
}

/* as_number: the number a value holds, or that a string spells. */
static bool as_number(const val *v, const eng_buf *b, size_t start, double *d)
{
    const char *s;
    switch (v->k) {
    case V_INT: *d = (double)v->i; return true;
    case V_DBL: *d = v->d; return true;
    case V_STR: s = v->s; break;
    case V_OUT: s = b->data ? b->data + start : ""; break;
    default: return false;
    }
    /* reject what strtod would take but is no price: hex, inf, nan */
    const char *p = s;
    while (is_ws(*p))
        p++;
    if (*p == '-' || *p == '+')
        p++;
    if (!isdigit((unsigned char)*p) && !(*p == '.' && isdigit((unsigned char)p[1])))
        return false;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        return false;
    char *end;
    double x = strtod(s, &end);
    while (is_ws(*end))
        end++;
    if (*end || !isfinite(x))
        return false;
    *d = x;
    return true;
}

static void truncate_to(eng_buf *b, size_t start)
{
    if (b->len > start) {
        b->len = start;
        b->data[start] = '\0';
    }
}

static size_t utf8_len(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

/* case_map: ASCII only, so multi-byte UTF-8 passes through untouched.
 * title capitalises the first letter of each word and leaves the rest,
 * keeping "USB" and "iPhone" as written. */
static void case_map(char *s, size_t n, enum filter_op op)
{
    char prev = ' ';
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (op == F_UPPER) {
            if (c >= 'a' && c <= 'z')
                s[i] = (char)(c - 32);
        } else if (op == F_LOWER) {
            if (c >= 'A' && c <= 'Z')
                s[i] = (char)(c + 32);
        } else if (c >= 'a' && c <= 'z' && (is_ws(prev) || memchr("-/(\"", prev, 4))) {
            s[i] = (char)(c - 32);
        }
        prev = c;
    }
}

void eng__plural(eng_buf *b, const char *w, size_t n, bool one)
{
    const char *bar = memchr(w, ',', n);
    if (bar) {
        if (one)
            eng__buf_add(b, w, (size_t)(bar - w));
        else
            eng__buf_add(b, bar + 1, n - (size_t)(bar + 1 - w));
        return;
    }
    if (one || !n) {
        eng__buf_add(b, w, n);
        return;
    }
    char last = (char)tolower((unsigned char)w[n - 1]), prev = n > 1 ? (char)tolower((unsigned char)w[n - 2]) : 0;
    if (last == 'y' && prev && !strchr("aeiou", prev)) {
        eng__buf_add(b, w, n - 1);
        eng__buf_adds(b, "ies");
    } else if (last == 's' || last == 'x' || last == 'z' || ((last == 'h') && (prev == 'c' || prev == 's'))) {
        eng__buf_add(b, w, n);
        eng__buf_adds(b, "es");
    } else {
        eng__buf_add(b, w, n);
        eng__buf_addc(b, 's');
    }
}

void eng__singular(eng_buf *b, const char *w, size_t n)
{
    char l1 = n > 0 ? (char)tolower((unsigned char)w[n - 1]) : 0, l2 = n > 1 ? (char)tolower((unsigned char)w[n - 2]) : 0,
         l3 = n > 2 ? (char)tolower((unsigned char)w[n - 3]) : 0, l4 = n > 3 ? (char)tolower((unsigned char)w[n - 4]) : 0;
    if (n > 3 && l1 == 's' && l2 == 'e' && l3 == 'i')
        eng__buf_add(b, w, n - 3), eng__buf_addc(b, 'y');   /* categories */
    else if (n > 3 && l1 == 's' && l2 == 'e' && (l3 == 'x' || l3 == 'z' || (l3 == 's' && l4 == 's') ||
                                                  (l3 == 'h' && (l4 == 'c' || l4 == 's'))))
        eng__buf_add(b, w, n - 2);                          /* boxes, glasses, watches */
    else if (n > 2 && l1 == 's' && l2 != 's' && l2 != 'u' && l2 != 'i')
        eng__buf_add(b, w, n - 1);                          /* phones; not glass, bus, iris */
    else
        eng__buf_add(b, w, n);
}

static void apply(val *v, const filter *f, eng_buf *b, size_t start)
{
    double d;
    if (b->oom)
        return;
    switch (f->op) {
    case F_UPPER:
    case F_LOWER:
    case F_TITLE:
        if (v->k == V_NONE)
            return;
        if (v->k != V_OUT) {
            emit(b, v);
            v->k = V_OUT;
        }
        if (!b->oom && b->data && b->len > start)
            case_map(b->data + start, b->len - start, f->op);
        return;
    case F_MONEY:
        if (!as_number(v, b, start, &d))
            return;
        truncate_to(b, start);
        add_money(b, d);
        v->k = V_OUT;
        return;
    case F_ROUND:
        if (!as_number(v, b, start, &d))
            return;
        truncate_to(b, start);
        d = round(d);
        if (d > -9.2e18 && d < 9.2e18) {
            v->k = V_INT;
            v->i = (int64_t)d;
        } else {
            v->k = V_DBL;
            v->d = d;
        }
        return;
    case F_COUNT: {
        size_t c;
        switch (v->k) {
        case V_NONE: c = 0; break;
        case V_STR: c = utf8_len(v->s, v->n); break;
        case V_OUT: c = b->data ? utf8_len(b->data + start, b->len - start) : 0; break;
        case V_ARR: c = json_object_array_length(v->j); break;
        case V_OBJ: c = (size_t)json_object_object_length(v->j); break;
        default: return; /* a number or boolean has no length */
        }
        truncate_to(b, start);
        v->k = V_INT;
        v->i = (int64_t)c;
        return;
    }
    case F_DEFAULT:
        /* 0 is a real value ("0 items"); missing, false and empty are not */
        if (v->k == V_INT || v->k == V_DBL)
            return;
        if (v->k == V_OUT ? b->len > start : truthy(v))
            return;
        truncate_to(b, start);
        v->k = V_STR;
        v->s = f->arg;
        v->n = f->arglen;
        return;
    case F_JOIN:
        if (v->k != V_ARR)
            return;
        add_join(b, v->j, f->arg, f->arglen);
        v->k = V_OUT;
        return;
    case F_POSSESSIVE:
        /* "Rolex Submariner Watch" -> "...Watch's"; "Eggs" -> "Eggs'" */
        if (v->k == V_NONE)
            return;
        if (v->k != V_OUT) {
            emit(b, v);
            v->k = V_OUT;
        }
        if (!b->oom && b->data && b->len > start) {
            char last = b->data[b->len - 1];
            eng__buf_adds(b, last == 's' || last == 'S' ? "'" : "'s");
        }
        return;
    case F_PLURAL:
        /* n | plural:"item" -> "1 item", "2 items"; "person,people"
         * names the plural; missing counts as 0 ("0 items") */
        if (v->k == V_NONE) {
            v->k = V_INT;
            v->i = 0;
        }
        if (!as_number(v, b, start, &d))
            return;
        truncate_to(b, start);
        if (v->k == V_INT)
            add_int(b, v->i);
        else
            add_fixed(b, d, true);
        eng__buf_addc(b, ' ');
        eng__plural(b, f->arg, f->arglen, d == 1.0 || d == -1.0);
        v->k = V_OUT;
        return;
    }
}

static void render_list(const node *n, rctx *r)
{
    for (; n; n = n->next) {
        switch (n->kind) {
        case N_TEXT:
            eng__buf_add(r->out, n->text, n->len);
            break;
        case N_VAR: {
            val v = lookup(r, &n->path);
            size_t start = r->out->len;
            for (size_t i = 0; i < n->nfilters; i++)
                apply(&v, &n->filters[i], r->out, start);
            emit(r->out, &v);
            break;
        }
        case N_IF: {
            val v = lookup(r, &n->path);
            render_list(truthy(&v) != n->negate ? n->body : n->alt, r);
            break;
        }
        case N_EACH: {
            json_object *arr = resolve(r, &n->path);
            size_t cnt = json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
            if (!cnt) {
                render_list(n->alt, r);
                break;
            }
            /* compile bounds #each nesting by TMPL_MAX_DEPTH */
            scope *s = &r->sc[r->depth++];
            s->count = cnt;
            for (size_t i = 0; i < cnt && !r->out->oom; i++) {
                s->item = json_object_array_get_idx(arr, i);
                s->index = i;
                render_list(n->body, r);
            }
            r->depth--;
            break;
        }
        }
        if (r->out->oom)
            return;
    }
}

int eng__tmpl_render(const eng_tmpl *t, json_object *ctx, eng_buf *out)
{
    rctx r;
    r.root = ctx;
    r.out = out;
    r.depth = 0;
    if (!out->oom)
        render_list(t->root, &r);
    return out->oom ? ENG_ENOMEM : 0;
}
