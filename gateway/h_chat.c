/* gateway/h_chat.c — the one-shot REST chat channel: one message in, the
 * same reply object the WebSocket sends out (sessionId, intent, reply,
 * cart, actions, traceId). */
#include "gw_int.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gw__h_chat(gw_req *r)
{
    json_object *b;
    if (gw__body_object(r, &b) < 0)
        return;
    json_object *tv;
    const char *text = gw__jstr(b, "text"), *sid = gw__jstr(b, "sessionId");
    const char *cmid = gw__jstr(b, "clientMsgId");
    if (!text) {
        gw__problem(r, 422, "validation", "Invalid field", "text (a string) is required.");
    } else if (json_object_object_get_ex(b, "sessionId", &tv) && (!sid || strcmp(sid, r->who.sid) != 0)) {
        /* a session is only ever reachable through its own token */
        gw__problem(r, 404, "session-not-found", "No such session", "sessionId must be your token's session.");
    } else {
        json_object *out = NULL;
        char *js = NULL;
        int replayed = 0;
        int st = gw__turn(r->srv, &r->who, text, cmid, NULL, NULL, &out, &js, &replayed);
        if (st == 0 && js) {
            /* the reply object as its replay record keeps it: not printed twice */
            gw__reply(r, 200, "application/json", js, strlen(js), NULL);
            json_object_put(out);
        } else if (st == 0) {
            gw__json(r, 200, out);
        } else {
            const char *slug = gw__problem_slug(out), *title = gw__jstr(out, "title"), *d = gw__jstr(out, "detail");
            if (st == 503)
                gw__problem_retry(r, st, slug, title ? title : "Unavailable", 1, d);
            else
                gw__problem(r, st, slug, title ? title : "Error", "%s", d ? d : "");
            json_object_put(out);
        }
        free(js);
    }
    json_object_put(b);
}
