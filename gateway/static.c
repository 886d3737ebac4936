/* gateway/static.c — the built UI (ui_dir, normally ui/dist): files as
 * they are, and index.html for any other GET path that is not a file
 * (the SPA's client-side routes: /, /inspector, /orders/12).  When the UI
 * has not been built, a plain page says so instead of a bare 404. */
#include "gw_int.h"
#include <stdio.h>
#include <stdlib.h>
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

/* index.html telling the page the event-loop WebSocket port (ws.listen):
 * <meta name="aisle-ws-port"> before </head>.  Not for requests through
 * the trusted proxy, which maps /ws itself.  0 sent, -1 not done. */
static int send_index_ws(gw_req *r, const char *path)
{
    const char *tp = r->srv->cfg.trusted_proxy;
    if (tp && *tp && strcmp(r->ri->remote_addr, tp) == 0)
        return -1;
    /* on the heap: civetweb's worker stacks are small */
    enum { MAX = 65536 };
    FILE *f = fopen(path, "rb");
    char *buf = f ? malloc(MAX) : NULL;
    size_t n = buf ? fread(buf, 1, MAX - 1, f) : 0;
    int big = f && !feof(f);
    if (f)
        fclose(f);
    if (!buf)
        return -1;
    buf[n] = 0;
    char meta[64], *head = big ? NULL : strstr(buf, "</head>");
    char *out = head ? malloc(n + sizeof meta) : NULL;
    if (!out) {
        free(buf);
        return -1;
    }
    int ml = snprintf(meta, sizeof meta, "<meta name=\"aisle-ws-port\" content=\"%d\">", r->srv->ws_port);
    size_t pre = (size_t)(head - buf);
    memcpy(out, buf, pre);
    memcpy(out + pre, meta, (size_t)ml);
    memcpy(out + pre + ml, head, n - pre);
    gw__reply(r, 200, "text/html; charset=utf-8", out, n + (size_t)ml, "Cache-Control: no-cache\r\n");
    free(out);
    free(buf);
    return 0;
}

void gw__h_static(gw_req *r)
{
    const char *uri = r->ri->local_uri;
    const char *dir = r->srv->cfg.ui_dir;
    /* no dot segments or hidden files: nothing outside ui_dir, ever; and
     * /media/ is the shop's images (h_media.c), never a page */
    if (strstr(uri, "/.") || strstr(uri, "\\") || uri[0] != '/' || strncmp(uri, "/media/", 7) == 0) {
        gw__problem(r, 404, "not-found", "Not found", NULL);
        return;
    }
    char path[2048];
    if (dir && *dir && strcmp(uri, "/") != 0 && strcmp(uri, "/index.html") != 0) {
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
    if (last && strchr(last, '.') && strcmp(uri, "/index.html") != 0) {
        gw__problem(r, 404, "not-found", "Not found", NULL);
        return;
    }
    snprintf(path, sizeof path, "%s/index.html", dir ? dir : "");
    if (dir && *dir && is_file(path) && r->srv->ws_port && send_index_ws(r, path) == 0)
        return;
    if (dir && *dir && is_file(path)) {
        r->status = 200;
        mg_send_mime_file2(r->conn, path, "text/html; charset=utf-8", "Cache-Control: no-cache\r\n");
        return;
    }
    gw__reply(r, 200, "text/html; charset=utf-8", not_built, sizeof not_built - 1, "Cache-Control: no-cache\r\n");
}
