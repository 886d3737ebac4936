/* gateway/h_media.c — GET /media/{name}: the shop's own copies of product
 * images (aisle import --fetch-images), so its pages never wait on a
 * third-party CDN.  The name is the content's SHA-256 and its type
 * (<64 hex>.jpg|png|webp|gif|avif) and nothing else: no path, so nothing
 * outside the media directory is ever read.  A copy never changes, so it
 * is cacheable forever and its hash is its ETag. */
#include "gw_int.h"
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MEDIA_CACHE "public, max-age=31536000, immutable"

void gw__h_media(gw_req *r)
{
    const char *name = r->params[0];
    if (!store_media_name_valid(name)) {
        gw__problem(r, 404, "not-found", "No such image",
                    "Media names are a SHA-256 and an image type: <64 hex digits>.jpg, png, webp, gif or avif.");
        return;
    }
    char etag[80];
    snprintf(etag, sizeof etag, "\"%.64s\"", name);
    const char *inm = mg_get_header(r->conn, "If-None-Match");
    if (inm && (strstr(inm, etag) || strcmp(inm, "*") == 0)) {
        /* the same bytes as the client holds: they never change */
        r->status = 304;
        mg_response_header_start(r->conn, 304);
        mg_response_header_add(r->conn, "ETag", etag, -1);
        mg_response_header_add(r->conn, "Cache-Control", MEDIA_CACHE, -1);
        mg_response_header_add(r->conn, "X-Request-Id", r->rid, -1);
        mg_response_header_send(r->conn);
        return;
    }
    int fd = -1;
    size_t len = 0;
    const char *type = NULL;
    store_err e = {0};
    int rc = store_media_open(r->srv->st, name, &fd, &len, &type, &e);
    if (rc == STORE_ENOTFOUND || rc == STORE_EINVAL) {
        gw__problem(r, 404, "not-found", "No such image", "The shop keeps no copy named %s.", name);
        return;
    }
    if (rc < 0) {
        gw__problem(r, 503, "store-unavailable", "Store unavailable", "%s", e.msg);
        return;
    }
    /* streamed in pieces: a request holds 64 KiB, never a whole copy */
    struct mg_connection *c = r->conn;
    char extra[256];
    snprintf(extra, sizeof extra, "ETag: %s\r\nCache-Control: %s\r\nContent-Security-Policy: default-src 'none'\r\n",
             etag, MEDIA_CACHE);
    if (!gw__reply_start(r, 200, type, len, extra)) {
        close(fd);
        return;
    }
    char *buf = strcmp(r->ri->request_method, "HEAD") != 0 ? malloc(64 * 1024) : NULL;
    size_t sent = 0;
    while (buf && sent < len) {
        ssize_t got = read(fd, buf, 64 * 1024);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0 || mg_write(c, buf, (size_t)got) != (int)got)
            break;   /* the file is not what it was, or the client left */
        sent += (size_t)got;
    }
    free(buf);
    close(fd);
    r->bytes_out = sent;
}
