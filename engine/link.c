/* engine/link.c — turns stage ids into a graph and checks it: every
 * `next` and route target names a stage, every stage can be reached from
 * the first, and no path loops. Also decides where a branch rejoins: a
 * stage reached through a router goes on, unless it says `next:`, to the
 * first stage after the router that is not one of the router's targets;
 * so does the router itself when none of its routes matches. */
#include "pipe_int.h"
#include <string.h>

static int find_stage(const eng_pipeline *p, const char *id)
{
    if (strcmp(id, "end") == 0)
        return -1;
    for (size_t i = 0; i < p->nstages; i++)
        if (p->stages[i].id && strcmp(p->stages[i].id, id) == 0)
            return (int)i;
    return -2;
}

static bool targets_of(const eng_stage *r, int idx)
{
    for (size_t e = 0; e < r->nedges; e++)
        if (r->edges[e].to == idx)
            return true;
    return false;
}

/* Depth-first search for a cycle; colour 0 white, 1 grey, 2 black. */
static int dfs(eng_build *b, int i, char *colour, int *from)
{
    eng_pipeline *p = b->p;
    colour[i] = 1;
    const eng_stage *st = &p->stages[i];
    int succ[64 + 1];
    size_t ns = 0;
    if (st->next >= 0)
        succ[ns++] = st->next;
    for (size_t e = 0; e < st->nedges && ns < 64; e++)
        if (st->edges[e].to >= 0)
            succ[ns++] = st->edges[e].to;
    for (size_t k = 0; k < ns; k++) {
        int j = succ[k];
        if (colour[j] == 1) {
            /* name the loop: j -> ... -> i -> j */
            char path[512] = "";
            size_t len = 0;
            int chain[256], n = 0;
            for (int c = i; c >= 0 && n < 255; c = (c == j) ? -1 : from[c])
                chain[n++] = c;
            for (int c = n - 1; c >= 0 && len < sizeof path - 64; c--)
                len += (size_t)snprintf(path + len, sizeof path - len, "%s -> ", p->stages[chain[c]].id);
            snprintf(path + len, sizeof path - len, "%s", p->stages[j].id);
            int line = st->next == j && st->next_id ? st->next_line : st->line;
            int col = st->next == j && st->next_id ? st->next_col : st->col;
            for (size_t e = 0; e < st->nedges; e++)
                if (st->edges[e].to == j && !(st->next == j && st->next_id)) {
                    line = st->edges[e].line;
                    col = st->edges[e].col;
                }
            eng_diags_add(b->diags, ENG_DIAG_ERROR, b->file, line, col,
                          "stages form a cycle: %s (a turn must always reach the end)", path);
            return -1;
        }
        if (colour[j] == 0) {
            from[j] = i;
            if (dfs(b, j, colour, from) < 0)
                return -1;
        }
    }
    colour[i] = 2;
    return 0;
}

int eng__link(eng_build *b)
{
    eng_pipeline *p = b->p;
    int n = (int)p->nstages, rc = 0;
    /* ids: unique */
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            if (p->stages[i].id && p->stages[j].id && strcmp(p->stages[i].id, "?") != 0 &&
                strcmp(p->stages[i].id, p->stages[j].id) == 0) {
                eng_diags_add(b->diags, ENG_DIAG_ERROR, b->file, p->stages[i].line, p->stages[i].col,
                              "duplicate stage id \"%s\" (first at line %d)", p->stages[i].id,
                              p->stages[j].line);
                rc = -1;
                break;
            }
    /* resolve route targets */
    for (int i = 0; i < n; i++) {
        eng_stage *st = &p->stages[i];
        for (size_t e = 0; e < st->nedges; e++) {
            int t = find_stage(p, st->edges[e].to_id);
            if (t == -2) {
                eng_diags_add(b->diags, ENG_DIAG_ERROR, b->file, st->edges[e].line, st->edges[e].col,
                              "route target \"%s\" is not a stage id", st->edges[e].to_id);
                rc = -1;
                t = -1;
            } else if (t == i) {
                eng_diags_add(b->diags, ENG_DIAG_ERROR, b->file, st->edges[e].line, st->edges[e].col,
                              "stage \"%s\" routes to itself", st->id);
                rc = -1;
                t = -1;
            }
            st->edges[e].to = t;
        }
    }
    /* default next: the following stage, or for a router's targets the
     * join point after the router's block of targets */
    for (int i = 0; i < n; i++)
        p->stages[i].next = i + 1 < n ? i + 1 : -1;
    for (int r = 0; r < n; r++) {
        const eng_stage *rt = &p->stages[r];
        if (!rt->nedges)
            continue;
        int join = r + 1;
        while (join < n && targets_of(rt, join))
            join++;
        for (size_t e = 0; e < rt->nedges; e++) {
            int t = rt->edges[e].to;
            if (t > r)
                p->stages[t].next = join < n ? join : -1;
        }
        /* when no route matches, the router itself goes on at the join */
        p->stages[r].next = join < n ? join : -1;
    }
    for (int i = 0; i < n; i++) {
        eng_stage *st = &p->stages[i];
        if (!st->next_id)
            continue;
        int t = find_stage(p, st->next_id);
        if (t == -2) {
            eng_diags_add(b->diags, ENG_DIAG_ERROR, b->file, st->next_line, st->next_col,
                          "\"next\" names \"%s\", which is not a stage id (use \"end\" to stop)", st->next_id);
            rc = -1;
            t = -1;
        }
        st->next = t;
    }
    if (rc < 0 || n <= 0)
        return rc;
    /* cycles, then reachability from the first stage */
    char *colour = eng__calloc((size_t)n * 2, 1);
    int *from = eng__calloc((size_t)n, sizeof *from);
    if (!colour || !from) {
        eng__free(colour);
        eng__free(from);
        return ENG_ENOMEM;
    }
    char *reached = colour + n;
    for (int i = 0; i < n; i++)
        from[i] = -1;
    rc = dfs(b, 0, colour, from);
    memcpy(reached, colour, (size_t)n);
    for (int i = 0; i < n && rc == 0; i++)
        if (!reached[i]) {
            eng_diags_add(b->diags, ENG_DIAG_WARNING, b->file, p->stages[i].line, p->stages[i].col,
                          "stage \"%s\" is never reached (no route or \"next\" leads to it)", p->stages[i].id);
            /* still check its own outgoing paths for loops */
            if (colour[i] == 0 && dfs(b, i, colour, from) < 0)
                rc = -1;
        }
    eng__free(colour);
    eng__free(from);
    return rc;
}
