/* engine/training.c — the pipeline file's `training:` list: CSV files
 * whose rows become intent examples (engine/csv.c reads them), loaded by
 * the loader (load.c) before the classifier trains. */
#include "pipe_int.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ training
 * `training:` a list of CSV files whose rows become intent examples:
 *   - { file: data/x.csv, text: utterance, label: intent,
 *       intents: [track_order, ...], max_per_intent: 60 }
 * Labels become intents (created when the YAML does not declare them). */

static eng_intent *find_or_add_intent(eng_build *b, const char *name, size_t *cap)
{
    eng_pipeline *p = b->p;
    for (size_t i = 0; i < p->nintents; i++)
        if (strcmp(p->intents[i].name, name) == 0)
            return &p->intents[i];
    if (p->nintents == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        eng_intent *in = eng__pool_alloc(p->pool, nc * sizeof *in);
        if (!in)
            return NULL;
        if (p->nintents)
            memcpy(in, p->intents, p->nintents * sizeof *in);
        p->intents = in;
        *cap = nc;
    }
    eng_intent *in = &p->intents[p->nintents++];
    memset(in, 0, sizeof *in);
    in->name = eng__pool_strdup(p->pool, name);
    return in->name ? in : NULL;
}

static int add_example(eng_build *b, eng_intent *in, const char *text)
{
    /* grow by doubling; pool memory is not freed until the pipeline goes */
    size_t n = in->examples.n;
    if ((n & (n - 1)) == 0) {
        size_t nc = n ? n * 2 : 8;
        const char **it = eng__pool_alloc(b->p->pool, nc * sizeof *it);
        if (!it)
            return ENG_ENOMEM;
        if (n)
            memcpy(it, in->examples.items, n * sizeof *it);
        in->examples.items = it;
    }
    in->examples.items[in->examples.n++] = eng__pool_strdup(b->p->pool, text);
    return 0;
}

static int col_of(char **names, int n, const char *want, const char *alt)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], want) == 0 || (alt && strcmp(names[i], alt) == 0))
            return i;
    return -1;
}

static int load_training_file(eng_build *b, int node, size_t *cap)
{
    yaml_document_t *d = b->doc;
    static const char *const keys[] = {"file", "text", "label", "intents", "max_per_intent", NULL};
    yaml_node_t *n = eng__ynode(d, node);
    if (n->type != YAML_MAPPING_NODE) {
        eng__build_error(b, node, "a training entry is a mapping like {file: data/x.csv, text: utterance, label: intent}");
        return ENG_ECONFIG;
    }
    int rc = 0;
    if (eng__build_check_keys(b, node, keys, true, "key", " in training entry") < 0)
        rc = ENG_ECONFIG;
    int fn = eng__ymap_get(d, node, "file");
    const char *rel = eng__yscalar(d, fn);
    if (!rel) {
        eng__build_error(b, fn ? fn : node, "training entry needs \"file: PATH\" (a CSV file)");
        return ENG_ECONFIG;
    }
    const char *tcol = eng__yscalar(d, eng__ymap_get(d, node, "text"));
    const char *lcol = eng__yscalar(d, eng__ymap_get(d, node, "label"));
    long maxper = 0;
    int mn = eng__ymap_get(d, node, "max_per_intent");
    if (mn && (!eng__yscalar(d, mn) || eng__parse_long(eng__yscalar(d, mn), &maxper) < 0 || maxper < 0)) {
        eng__build_error(b, mn, "\"max_per_intent\" must be a whole number >= 0");
        rc = ENG_ECONFIG;
    }
    eng_strlist only = {0};
    int on = eng__ymap_get(d, node, "intents");
    if (on && eng__yaml_strlist(b, on, &only, "\"intents\"") < 0)
        rc = ENG_ECONFIG;
    if (rc < 0)
        return rc;
    const char *path = eng__build_path(b, rel);
    size_t len;
    char *buf = eng__read_file(path, &len);
    if (!buf) {
        eng__build_error(b, fn, "cannot read training file \"%s\": %s", rel, strerror(errno));
        return ENG_ECONFIG;
    }
    if (!eng_utf8_valid(buf, len)) {
        eng_diags_add(b->diags, ENG_DIAG_ERROR, path, 0, 0, "file is not valid UTF-8");
        eng__free(buf);
        return ENG_ECONFIG;
    }
    char *p = buf, *end = buf + len, *names[64];
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    int ncol = 0, eor = 0;
    while (!eor && p < end && ncol < 64)
        names[ncol++] = eng_csv_field(&p, end, &eor);
    int tc = col_of(names, ncol, tcol ? tcol : "utterance", tcol ? NULL : "text");
    int lc = col_of(names, ncol, lcol ? lcol : "intent", lcol ? NULL : "label");
    if (tc < 0 || lc < 0) {
        eng_diags_add(b->diags, ENG_DIAG_ERROR, path, 1, 1, "no %s column \"%s\" in the header",
                      tc < 0 ? "text" : "label", tc < 0 ? (tcol ? tcol : "utterance") : (lcol ? lcol : "intent"));
        eng__free(buf);
        return ENG_ECONFIG;
    }
    const int cols[2] = {tc, lc};
    while (p < end && rc == 0) {
        const char *got[2];
        eng_csv_row(&p, end, cols, got, 2);
        const char *t = got[0], *l = got[1];
        if (!t || !l || !*t || !*l)
            continue;
        bool want = only.n == 0;
        for (size_t i = 0; !want && i < only.n; i++)
            want = strcmp(only.items[i], l) == 0;
        if (!want)
            continue;
        eng_intent *in = find_or_add_intent(b, l, cap);
        if (!in) {
            rc = ENG_ENOMEM;
            break;
        }
        if (maxper && in->examples.n >= (size_t)maxper)
            continue;
        if (!in->line) {
            in->line = eng__ynode_line(d, fn);
            in->col = eng__ynode_col(d, fn);
        }
        rc = add_example(b, in, t);
    }
    eng__free(buf);
    return rc;
}

int eng__load_training(eng_build *b, int node)
{
    yaml_document_t *d = b->doc;
    yaml_node_t *n = eng__ynode(d, node);
    if (n->type != YAML_SEQUENCE_NODE) {
        eng__build_error(b, node, "\"training\" must be a list of {file, text, label} entries");
        return ENG_ECONFIG;
    }
    /* the intents array may be shared with YAML-declared ones: copy it so
     * it can grow, and copy each example list so it can grow too */
    eng_pipeline *p = b->p;
    size_t cap = p->nintents;
    for (size_t i = 0; i < p->nintents; i++) {
        eng_intent *in = &p->intents[i];
        size_t n2 = 8;
        while (n2 < in->examples.n)
            n2 *= 2;
        const char **it = eng__pool_alloc(p->pool, n2 * sizeof *it);
        if (!it)
            return ENG_ENOMEM;
        if (in->examples.n)
            memcpy(it, in->examples.items, in->examples.n * sizeof *it);
        in->examples.items = it;
    }
    int rc = 0;
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
        int r = load_training_file(b, *it, &cap);
        if (r == ENG_ENOMEM)
            return r;
        if (r < 0)
            rc = r;
    }
    return rc;
}
