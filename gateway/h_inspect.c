/* gateway/h_inspect.c — what the inspector reads: the loaded pipeline's
 * graph with its diagnostics and reload history, manual reload (admin),
 * and recent turn traces: from the ring in memory first (every turn's,
 * there the moment its reply is out), then the store cache (the copies
 * the trace writer made: a sample, and every failed turn; traces.c). */
#include "gw_int.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gw__h_pipelines(gw_req *r) { gw__json(r, 200, gw__pipelines_json(r->srv)); }

void gw__h_reload(gw_req *r)
{
    char actor[32];
    snprintf(actor, sizeof actor, "user:%lld", (long long)r->who.user_id);
    int rc = gw__reload(r->srv, "api", actor);
    json_object *o = gw__pipelines_json(r->srv);
    json_object_object_add(o, "reloaded", json_object_new_boolean(rc == 0));
    gw__audit(r->srv, &r->who, rc == 0 ? "pipeline.reload" : "pipeline.reload_failed", r->srv->rl.path, NULL);
    gw__json(r, rc == 0 ? 200 : 422, o);
}

void gw__h_traces(gw_req *r)
{
    char buf[16];
    int limit = 50;
    if (gw__query(r, "limit", buf, sizeof buf)) {
        char *end;
        long v = strtol(buf, &end, 10);
        if (*end || v < 1 || v > 1000) {
            gw__problem(r, 400, "invalid-parameter", "Invalid query parameter", "limit must be 1 to 1000.");
            return;
        }
        limit = (int)v;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "items", gw__traces_list(r->srv->traces, limit));
    gw__json(r, 200, o);
}

void gw__h_trace(gw_req *r)
{
    char *js = gw__traces_get(r->srv->traces, r->params[0]);
    if (!js) {
        char key[300];
        snprintf(key, sizeof key, "trace:%s", r->params[0]);
        store_cache_get(r->srv->st, key, &js, NULL);
    }
    if (!js) {
        /* the id may be a real turn's all the same: say every reason */
        gw__problem(r, 404, "not-found", "No such trace",
                    "No trace with this id is kept. Under load only turns.traces_rate turns a second "
                    "keep their trace (every failed turn does; the traces feed marks the others kept: "
                    "false); a kept one stays turns.traces_max_age_s in memory and, when it was also "
                    "stored (turns.trace_store_rate a second), turns.trace_ttl_s in the store.");
        return;
    }
    gw__reply(r, 200, "application/json", js, strlen(js), NULL);
    free(js);
}
