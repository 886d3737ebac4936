/* gateway/h_media.c — GET /media/{name}: the shop's own copies of product
 * images (aisle import --fetch-images), so its pages never wait on a
 * third-party CDN.  The name is the content's SHA-256 and its type
 * (<64 hex>.jpg|png|webp|gif|avif) and nothing else: no path, so nothing
 * outside the media directory is ever read.  A copy never changes, so it
 * is cacheable forever and its hash is its ETag. */
#include "gw_int.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    char *bytes = NULL;
    size_t len = 0;
    const char *type = NULL;
    store_err e = {0};
    int rc = store_media_read(r->srv->st, name, &bytes, &len, &type, &e);
    if (rc == STORE_ENOTFOUND || rc == STORE_EINVAL) {
        gw__problem(r, 404, "not-found", "No such image", "The shop keeps no copy named %s.", name);
        return;
    }
    if (rc < 0) {
        gw__problem(r, 503, "store-unavailable", "Store unavailable", "%s", e.msg);
        return;
    }
    char hdr[256];
    snprintf(hdr, sizeof hdr,
             "ETag: %s\r\nCache-Control: " MEDIA_CACHE "\r\nContent-Security-Policy: default-src 'none'\r\n", etag);
    gw__reply(r, 200, type, bytes, len, hdr);
    free(bytes);
}
