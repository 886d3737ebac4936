/* engine/yamlutil.c — small helpers over libyaml's document API, the
 * build-context diagnostics, edges and paths the stage types report and
 * resolve through, and reading a whole file.  The typed option parser
 * that maps a stage's YAML keys onto its options struct is in load.c
 * (set_field). */
#include "pipe_int.h"
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

yaml_node_t *eng__ynode(yaml_document_t *d, int i)
{
    return i > 0 ? yaml_document_get_node(d, i) : NULL;
}

const char *eng__yscalar(yaml_document_t *d, int i)
{
    yaml_node_t *n = eng__ynode(d, i);
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

int eng__ymap_get(yaml_document_t *d, int map, const char *key)
{
    yaml_node_t *m = eng__ynode(d, map);
    if (!m || m->type != YAML_MAPPING_NODE)
        return 0;
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        const char *k = eng__yscalar(d, p->key);
        if (k && strcmp(k, key) == 0)
            return p->value;
    }
    return 0;
}

static void build_diag(eng_build *b, eng_severity sev, int node, const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    yaml_node_t *n = eng__ynode(b->doc, node ? node : b->node);
    int line = n ? (int)n->start_mark.line + 1 : 0;
    int col = n ? (int)n->start_mark.column + 1 : 0;
    eng_diags_add(b->diags, sev, b->file, line, col, "%s", msg);
}

void eng__build_error(eng_build *b, int node, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    build_diag(b, ENG_DIAG_ERROR, node, fmt, ap);
    va_end(ap);
}

void eng__build_warn(eng_build *b, int node, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    build_diag(b, ENG_DIAG_WARNING, node, fmt, ap);
    va_end(ap);
}

static int edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 32 || lb > 32)
        return 99;
    int d[33][33];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            int c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < c)
                c = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < c)
                c = d[i][j - 1] + 1;
            d[i][j] = c;
        }
    return d[la][lb];
}

const char *eng__suggest(char *buf, size_t n, const char *word, const char *const *names)
{
    const char *best = NULL;
    size_t wl = strlen(word);
    int bd = wl <= 4 ? 2 : 3;
    for (size_t i = 0; names[i]; i++) {
        size_t nl = strlen(names[i]);
        int dd = edit_distance(word, names[i]);
        if (wl >= 4 && nl > wl && strncmp(word, names[i], wl) == 0)
            dd = 1;
        if (dd < bd) {
            bd = dd;
            best = names[i];
        }
    }
    if (!best)
        return "";
    snprintf(buf, n, " (did you mean \"%s\"?)", best);
    return buf;
}

int eng__build_check_keys(eng_build *b, int node, const char *const *keys, bool suggest,
                          const char *what, const char *where_fmt, ...)
{
    yaml_node_t *n = eng__ynode(b->doc, node);
    if (!n || n->type != YAML_MAPPING_NODE)
        return 0;
    char where[512];
    va_list ap;
    va_start(ap, where_fmt);
    vsnprintf(where, sizeof where, where_fmt, ap);
    va_end(ap);
    int rc = 0;
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        const char *k = eng__yscalar(b->doc, pr->key);
        if (!k) {
            eng__build_error(b, pr->key, "keys must be strings");
            rc = ENG_ECONFIG;
            continue;
        }
        bool known = false;
        for (size_t i = 0; keys[i] && !known; i++)
            known = strcmp(k, keys[i]) == 0;
        if (known)
            continue;
        char sb[96];
        eng__build_error(b, pr->key, "unknown %s \"%s\"%s%s", what, k, where,
                         suggest ? eng__suggest(sb, sizeof sb, k, keys) : "");
        rc = ENG_ECONFIG;
    }
    return rc;
}

int eng__build_key_node(eng_build *b, const char *key) { return eng__ymap_get(b->doc, b->node, key); }

int eng__build_edge(eng_build *b, const char *to_id, int node)
{
    eng_stage *st = b->stage;
    if (st->nedges == st->edges_cap) {
        size_t cap = st->edges_cap ? st->edges_cap * 2 : 4;
        eng_edge *e = eng__pool_alloc(b->p->pool, cap * sizeof *e);
        if (!e)
            return ENG_ENOMEM;
        if (st->nedges)
            memcpy(e, st->edges, st->nedges * sizeof *e);
        st->edges = e;
        st->edges_cap = cap;
    }
    yaml_node_t *n = eng__ynode(b->doc, node);
    eng_edge *e = &st->edges[st->nedges++];
    e->to_id = eng__pool_strdup(b->p->pool, to_id);
    e->to = -1;
    e->line = n ? (int)n->start_mark.line + 1 : st->line;
    e->col = n ? (int)n->start_mark.column + 1 : st->col;
    return e->to_id ? 0 : ENG_ENOMEM;
}

const char *eng__build_path(eng_build *b, const char *rel)
{
    if (rel[0] == '/')
        return eng__pool_strdup(b->p->pool, rel);
    const char *dir = b->p->base_dir ? b->p->base_dir : ".";
    char *path = eng__pool_printf(b->p->pool, "%s/%s", dir, rel);
    if (path && access(path, F_OK) == 0)
        return path;
    /* pipelines/x.yaml naming scripts/y.lua: try the project root too */
    char *up = eng__pool_printf(b->p->pool, "%s/../%s", dir, rel);
    if (up && access(up, F_OK) == 0)
        return up;
    return path;
}

char *eng__read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    eng_buf b;
    eng__buf_init(&b);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        eng__buf_add(&b, chunk, n);
    int bad = ferror(f) || b.oom;
    fclose(f);
    if (bad) {
        eng__buf_free(&b);
        return NULL;
    }
    if (!b.data)
        eng__buf_add(&b, "", 0);
    if (!b.data) {
        /* an empty file still yields an empty string */
        b.data = eng__calloc(1, 1);
        if (!b.data)
            return NULL;
    }
    if (len)
        *len = b.len;
    return b.data;
}

void eng__build_scalar_pos(eng_build *b, int node, int *line, int *col)
{
    yaml_node_t *n = eng__ynode(b->doc, node);
    *line = n ? (int)n->start_mark.line + 1 : 0;
    *col = n ? (int)n->start_mark.column + 1 : 0;
    if (!n || n->type != YAML_SCALAR_NODE)
        return;
    yaml_scalar_style_t st = n->data.scalar.style;
    if (st == YAML_SINGLE_QUOTED_SCALAR_STYLE || st == YAML_DOUBLE_QUOTED_SCALAR_STYLE) {
        (*col)++;
    } else if ((st == YAML_LITERAL_SCALAR_STYLE || st == YAML_FOLDED_SCALAR_STYLE) && b->text) {
        /* content starts on the next line, at that line's indentation */
        size_t off = n->start_mark.index;
        while (off < b->len && b->text[off] != '\n')
            off++;
        if (off < b->len)
            off++;
        int ind = 1;
        while (off < b->len && b->text[off] == ' ') {
            off++;
            ind++;
        }
        (*line)++;
        *col = ind;
    }
}

int eng__ynode_line(yaml_document_t *d, int i)
{
    yaml_node_t *n = eng__ynode(d, i);
    return n ? (int)n->start_mark.line + 1 : 0;
}

int eng__ynode_col(yaml_document_t *d, int i)
{
    yaml_node_t *n = eng__ynode(d, i);
    return n ? (int)n->start_mark.column + 1 : 0;
}

const char *eng__ynode_kind(yaml_document_t *d, int i)
{
    yaml_node_t *n = eng__ynode(d, i);
    if (!n)
        return "nothing";
    switch (n->type) {
    case YAML_SCALAR_NODE: return "a scalar";
    case YAML_SEQUENCE_NODE: return "a list";
    case YAML_MAPPING_NODE: return "a mapping";
    default: return "nothing";
    }
}

int eng__parse_long(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

/* Parse a list of scalars (or a single scalar) into an eng_strlist. */
int eng__yaml_strlist(eng_build *b, int node, eng_strlist *out, const char *what)
{
    yaml_document_t *d = b->doc;
    yaml_node_t *n = eng__ynode(d, node);
    if (n->type == YAML_SCALAR_NODE) {
        out->items = eng__pool_alloc(b->p->pool, sizeof *out->items);
        if (!out->items)
            return ENG_ENOMEM;
        out->items[0] = eng__pool_strdup(b->p->pool, (const char *)n->data.scalar.value);
        out->n = 1;
        return 0;
    }
    if (n->type != YAML_SEQUENCE_NODE) {
        eng__build_error(b, node, "%s must be a list of strings, not %s", what, eng__ynode_kind(d, node));
        return ENG_ECONFIG;
    }
    size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    out->items = eng__pool_alloc(b->p->pool, (cnt ? cnt : 1) * sizeof *out->items);
    if (!out->items)
        return ENG_ENOMEM;
    out->n = 0;
    int rc = 0;
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
        const char *s = eng__yscalar(d, *it);
        if (!s) {
            eng__build_error(b, *it, "%s must be a list of strings; this item is %s", what,
                             eng__ynode_kind(d, *it));
            rc = ENG_ECONFIG;
            continue;
        }
        out->items[out->n++] = eng__pool_strdup(b->p->pool, s);
    }
    return rc;
}
