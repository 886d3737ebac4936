/* stores/sqlite/sqlite_rank.c — aisle_rank(), an FTS5 auxiliary function
 * that scores one matching row: BM25 with column weights (title above
 * brand and category above description), alternatives of one query word
 * (corrections, synonyms) counted once, a bonus for covering more of the
 * query's informative words and for query words found next to each other.
 *
 * Call: aisle_rank(products_fts, spec), spec = one "group:flags" per
 * phrase of the MATCH expression, in order (flags: 1 stopword, 2 an
 * alternative spelling, 8 the query's head word, read by the second
 * stage in stores/search_rerank.c, 16 the catalog's one-word spelling of this
 * query word and the next).  Higher is better.
 *
 * A row's length (its tokens over all columns) comes from the rows kept
 * in memory per catalog generation (sqlite_rows.c) when the search set
 * them on its connection; FTS5's xColumnSize reads the row's %_docsize
 * entry with a statement of its own, and that was three quarters of the
 * ranker's cost per match.  The numbers are the same: the same varints of
 * the same table, read at the search's own snapshot. */
#include "sqlite_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAXP 64
#define MAXG 32
#define NCOL SQ_FTS_COLUMNS

static const double col_weight[NCOL] = {10.0, 5.0, 5.0, 1.0, 3.0};
static const double k1 = 1.2, bb = 0.75;
/* Relative size of the coverage and proximity bonuses; global constants
 * set on the Home Depot dev judgements, not per query. */
#ifndef RANK_COVER
#define RANK_COVER 1.0
#endif
#ifndef RANK_PROX
#define RANK_PROX 0.5
#endif
static const double w_cover = RANK_COVER, w_prox = RANK_PROX;

typedef struct rank_ctx {
    int n_phrase, n_group;
    int group[MAXP], flags[MAXP];
    double idf[MAXP];
    double gidf[MAXG];           /* best idf among a group's phrases */
    int gstop[MAXG];
    double avgdl;
    double info_total;           /* sum of gidf over non-stop groups */
} rank_ctx;

static int count_cb(const Fts5ExtensionApi *api, Fts5Context *fts, void *ud)
{
    (void)api;
    (void)fts;
    (*(sqlite3_int64 *)ud)++;
    return SQLITE_OK;
}

static rank_ctx *ctx_make(const Fts5ExtensionApi *api, Fts5Context *fts,
                          const char *spec, int *rc)
{
    rank_ctx *r = calloc(1, sizeof *r);
    sqlite3_int64 n_row = 0, n_tok = 0;
    const char *p = spec ? spec : "";
    if (!r) {
        *rc = SQLITE_NOMEM;
        return NULL;
    }
    r->n_phrase = api->xPhraseCount(fts);
    if (r->n_phrase > MAXP)
        r->n_phrase = MAXP;
    for (int i = 0; i < r->n_phrase; i++) {
        char *end;
        long g = strtol(p, &end, 10), f = 0;
        if (end == p)
            g = i;   /* no spec: each phrase its own group */
        else if (*end == ':')
            f = strtol(end + 1, &end, 10);
        p = end;
        while (*p == ' ')
            p++;
        if (g < 0 || g >= MAXG)
            g = MAXG - 1;
        r->group[i] = (int)g;
        r->flags[i] = (int)f;
        if (g + 1 > r->n_group)
            r->n_group = (int)g + 1;
    }
    *rc = api->xRowCount(fts, &n_row);
    if (*rc == SQLITE_OK)
        *rc = api->xColumnTotalSize(fts, -1, &n_tok);
    r->avgdl = n_row ? (double)n_tok / (double)n_row : 1.0;
    if (r->avgdl <= 0)
        r->avgdl = 1.0;
    for (int i = 0; i < r->n_phrase && *rc == SQLITE_OK; i++) {
        sqlite3_int64 hits = 0;
        double idf;
        *rc = api->xQueryPhrase(fts, i, &hits, count_cb);
        idf = log((n_row - hits + 0.5) / (hits + 0.5));
        r->idf[i] = idf <= 1e-6 ? 1e-6 : idf;
        if (r->idf[i] > r->gidf[r->group[i]])
            r->gidf[r->group[i]] = r->idf[i];
        if (r->flags[i] & 1)
            r->gstop[r->group[i]] = 1;
    }
    for (int g = 0; g < r->n_group; g++)
        if (!r->gstop[g])
            r->info_total += r->gidf[g];
    if (*rc != SQLITE_OK) {
        free(r);
        return NULL;
    }
    return r;
}

static void rank_fn(const Fts5ExtensionApi *api, Fts5Context *fts,
                    sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    rank_ctx *r = api->xGetAuxdata(fts, 0);
    double freq[MAXP] = {0}, gscore[MAXG] = {0};
    /* first title position of each group, for adjacency */
    int gpos[MAXG][4];
    int n_inst = 0, rc = SQLITE_OK, n_pairs = 0, prev = -1;
    double dl, score = 0, covered = 0, prox = 0;
    int tok = 0;

    if (!r) {
        r = ctx_make(api, fts, argc > 0 ? (const char *)sqlite3_value_text(argv[0])
                                        : NULL, &rc);
        if (!r || (rc = api->xSetAuxdata(fts, r, free)) != SQLITE_OK) {
            sqlite3_result_error_code(ctx, rc ? rc : SQLITE_NOMEM);
            return;
        }
    }
    memset(gpos, -1, sizeof gpos);
    if ((rc = api->xInstCount(fts, &n_inst)) == SQLITE_OK) {
        const sq_conn *c = api->xUserData(fts);
        const sq_row *kept = c ? sq__row(c->rows, api->xRowid(fts)) : NULL;
        if (kept && kept->len >= 0)
            tok = kept->len;
        else
            rc = api->xColumnSize(fts, -1, &tok);
    }
    for (int i = 0; i < n_inst && rc == SQLITE_OK; i++) {
        int ph, col, off;
        if ((rc = api->xInst(fts, i, &ph, &col, &off)) != SQLITE_OK)
            break;
        if (ph >= r->n_phrase || col >= NCOL)
            continue;
        freq[ph] += col_weight[col];
        if (col == 0) {
            int g = r->group[ph];
            for (int k = 0; k < 4; k++)
                if (gpos[g][k] < 0) {
                    gpos[g][k] = off;
                    break;
                }
        }
    }
    if (rc != SQLITE_OK) {
        sqlite3_result_error_code(ctx, rc);
        return;
    }
    dl = tok > 0 ? tok : 1;
    for (int i = 0; i < r->n_phrase; i++) {
        double s;
        if (freq[i] <= 0)
            continue;
        s = r->idf[i] * freq[i] * (k1 + 1.0) /
            (freq[i] + k1 * (1.0 - bb + bb * dl / r->avgdl));
        if (r->flags[i] & 2)
            s *= 0.8;   /* a guessed spelling counts a little less */
        if (s > gscore[r->group[i]])
            gscore[r->group[i]] = s;
        /* the catalog's one-word spelling of this word and the next
         * ("screw driver" -> "screwdriver") stands for both */
        if ((r->flags[i] & 16) && r->group[i] + 1 < r->n_group &&
            s > gscore[r->group[i] + 1])
            gscore[r->group[i] + 1] = s;
    }
    for (int g = 0; g < r->n_group; g++) {
        score += gscore[g];
        if (gscore[g] > 0 && !r->gstop[g])
            covered += r->gidf[g];
        if (r->gstop[g])
            continue;
        /* adjacency between consecutive informative query words, in order */
        if (prev >= 0) {
            double best = 0;
            n_pairs++;
            for (int a = 0; a < 4 && gpos[prev][a] >= 0; a++)
                for (int c = 0; c < 4 && gpos[g][c] >= 0; c++) {
                    int d = gpos[g][c] - gpos[prev][a];
                    if (d == 1)
                        best = 1.0;
                    else if (d > 1 && d <= 3 && best < 0.5)
                        best = 0.5;
                    else if (d < 0 && d >= -2 && best < 0.25)
                        best = 0.25;
                }
            prox += best;
        }
        prev = g;
    }
    if (r->info_total > 0) {
        double cov = covered / r->info_total;
        double mean_idf = r->info_total / (r->n_group ? r->n_group : 1);
        score += w_cover * cov * cov * mean_idf * 2.0;
        if (n_pairs)
            score += w_prox * (prox / n_pairs) * mean_idf;
    }
    sqlite3_result_double(ctx, score);
}

int sq__register_rank(sq_conn *c)
{
    sqlite3 *db = c->db;
    fts5_api *api = NULL;
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return rc;
    sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr", NULL);
    sqlite3_step(st);
    sqlite3_finalize(st);
    if (!api)
        return SQLITE_ERROR;
    return api->xCreateFunction(api, "aisle_rank", c, rank_fn, NULL);
}
