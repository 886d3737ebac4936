/* gateway/static.c — the built UI (ui_dir, normally ui/dist): files as
 * they are, and index.html for any other GET path that is not a file
 * (the SPA's client-side routes: /, /inspector, /orders/12).  When the UI
 * has not been built, a plain page says so instead of a bare 404. */
#include "gw_int.h"
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const char not_built[] =
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>aisle</title></head>"
    "<body style=\"font-family:system-ui,sans-serif;max-width:40em;margin:4em auto\">"
    "<h1>aisle is running</h1><p>The web UI is not built, so there is no chat page or inspector here yet. "
    "Build it with <code>make ui</code> (it lands in <code>ui/dist</code>).</p>"
    "<p>The API is up: <a href=\"/docs\">API docs</a>, <a href=\"/openapi.json\">openapi.json</a>, "
    "<a href=\"/healthz\">/healthz</a>, <a href=\"/metrics\">/metrics</a>.</p></body></html>\n";

static bool is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

void gw__h_static(gw_req *r)
{
    const char *uri = r->ri->local_uri;
    const char *dir = r->srv->cfg.ui_dir;
    /* no dot segments or hidden files: nothing outside ui_dir, ever */
    if (strstr(uri, "/.") || strstr(uri, "\\") || uri[0] != '/') {
        gw__problem(r, 404, "not-found", "Not found", NULL);
        return;
    }
    char path[2048];
    if (dir && *dir && strcmp(uri, "/") != 0) {
        snprintf(path, sizeof path, "%s%s", dir, uri);
        if (is_file(path)) {
            r->status = 200;
            /* hashed asset names never change; index.html must not be cached */
            const char *cc = strncmp(uri, "/assets/", 8) == 0 ? "Cache-Control: public, max-age=31536000, immutable\r\n"
                                                              : "Cache-Control: no-cache\r\n";
            char hdr[160];
            snprintf(hdr, sizeof hdr, "%sX-Content-Type-Options: nosniff\r\n", cc);
            mg_send_mime_file2(r->conn, path, NULL, hdr);
            return;
        }
    }
    /* a path with an extension that is not there is a real 404 */
    const char *last = strrchr(uri, '/');
    if (last && strchr(last, '.')) {
        gw__problem(r, 404, "not-found", "Not found", NULL);
        return;
    }
    snprintf(path, sizeof path, "%s/index.html", dir ? dir : "");
    if (dir && *dir && is_file(path)) {
        r->status = 200;
        mg_send_mime_file2(r->conn, path, "text/html; charset=utf-8", "Cache-Control: no-cache\r\n");
        return;
    }
    gw__reply(r, 200, "text/html; charset=utf-8", not_built, sizeof not_built - 1, "Cache-Control: no-cache\r\n");
}
