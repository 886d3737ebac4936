/* cli/fetch_images.c — `aisle import --fetch-images`: the shop keeps its
 * own copy of every product image, so its pages never depend on a
 * third-party CDN.  Each distinct source URL is fetched once (a URL the
 * media index already has is not fetched again), a few at a time on one
 * curl multi handle, http and https only (redirects too, and at most a
 * few of them), with connect and whole-transfer timeouts.  A body is
 * collected as it streams and dropped the moment it passes the size limit:
 * nothing is allocated by what a server declares.  The Content-Type must
 * name an image type and the bytes must sniff as one (the stored type is
 * the sniffed one).  A failure is reported with its product and never
 * stops the run. */
#include "cli.h"

#include <curl/curl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { J_TODO, J_STORED, J_FETCHED, J_FAILED, J_LEFT };

typedef struct job {
    char *url;
    int state;
    char why[192];
} job;

typedef struct prod {
    char *sku, *title;
    size_t *jobs;            /* indexes into the job table */
    size_t n;
} prod;

/* a host that could not be reached this many times in a row is not tried
 * again in this run: offline, a catalog of one CDN fails in seconds, not
 * in (URLs / parallel) x the connect timeout */
#define HOST_GIVE_UP 3

typedef struct host {
    char name[256];
    int fails;               /* connection failures in a row */
} host;

typedef struct run {
    const cli_fetch_opts *o;
    host *hosts;
    size_t nhosts, hcap;
    store *st;
    job *jobs;
    size_t njobs, jcap;
    size_t *slots;           /* URL -> job index + 1, open addressing */
    size_t scap;
    prod *prods;
    size_t nprods, pcap;
    int oom;
} run;

typedef struct xfer {
    CURL *easy;
    size_t job;
    unsigned char *buf;
    size_t len, cap, max;
    int checked;             /* Content-Type looked at */
    char refused[160];       /* why the body was cut off, "" when it was not */
    char errbuf[CURL_ERROR_SIZE];
} xfer;

void cli_fetch_opts_init(cli_fetch_opts *o)
{
    o->parallel = 4;
    o->connect_timeout_s = 5;
    o->timeout_s = 20;
    o->max_redirects = 3;
    o->max_bytes = STORE_MEDIA_MAX_BYTES;
    o->max_images = 10000;
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* the job of url, added when new; (size_t)-1 when out of memory */
static size_t job_of(run *r, const char *url)
{
    if ((r->njobs + 1) * 2 > r->scap) {
        size_t nc = r->scap ? r->scap * 2 : 256;
        size_t *ns = calloc(nc, sizeof *ns);
        if (!ns)
            return (size_t)-1;
        for (size_t i = 0; i < r->njobs; i++) {
            size_t k = (size_t)hash_str(r->jobs[i].url) & (nc - 1);
            while (ns[k])
                k = (k + 1) & (nc - 1);
            ns[k] = i + 1;
        }
        free(r->slots);
        r->slots = ns;
        r->scap = nc;
    }
    size_t k = (size_t)hash_str(url) & (r->scap - 1);
    while (r->slots[k]) {
        if (!strcmp(r->jobs[r->slots[k] - 1].url, url))
            return r->slots[k] - 1;
        k = (k + 1) & (r->scap - 1);
    }
    if (r->njobs == r->jcap) {
        size_t nc = r->jcap ? r->jcap * 2 : 256;
        job *nj = realloc(r->jobs, nc * sizeof *nj);
        if (!nj)
            return (size_t)-1;
        r->jobs = nj;
        r->jcap = nc;
    }
    job *j = &r->jobs[r->njobs];
    memset(j, 0, sizeof *j);
    if (!(j->url = strdup(url)))
        return (size_t)-1;
    r->slots[k] = ++r->njobs;
    return r->njobs - 1;
}

static void add_url(run *r, prod *p, const char *url)
{
    if (!url || !*url || r->oom)
        return;
    size_t j = job_of(r, url);
    if (j == (size_t)-1) {
        r->oom = 1;
        return;
    }
    for (size_t i = 0; i < p->n; i++)
        if (p->jobs[i] == j)
            return;   /* the thumbnail is often images[0] too */
    size_t *nj = realloc(p->jobs, (p->n + 1) * sizeof *nj);
    if (!nj) {
        r->oom = 1;
        return;
    }
    p->jobs = nj;
    p->jobs[p->n++] = j;
}

static int on_product(void *ud, const store_product *sp)
{
    run *r = ud;
    if (!sp->thumbnail && !sp->n_images)
        return 0;
    if (r->nprods == r->pcap) {
        size_t nc = r->pcap ? r->pcap * 2 : 256;
        prod *np = realloc(r->prods, nc * sizeof *np);
        if (!np)
            return r->oom = 1;
        r->prods = np;
        r->pcap = nc;
    }
    prod *p = &r->prods[r->nprods++];
    memset(p, 0, sizeof *p);
    p->sku = strdup(sp->sku);
    p->title = strdup(sp->title ? sp->title : "");
    add_url(r, p, sp->thumbnail);
    for (size_t i = 0; i < sp->n_images; i++)
        add_url(r, p, sp->images[i]);
    return r->oom || !p->sku || !p->title;
}

static const char *const image_types[] = {"image/jpeg", "image/png", "image/webp", "image/gif", "image/avif", NULL};

/* the declared type's media type (before ';', trimmed), when an image */
static int type_allowed(const char *ct)
{
    if (!ct)
        return 0;
    while (*ct == ' ')
        ct++;
    size_t n = strcspn(ct, "; \t");
    for (size_t i = 0; image_types[i]; i++)
        if (n == strlen(image_types[i]) && !strncasecmp(ct, image_types[i], n))
            return 1;
    return 0;
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *ud)
{
    xfer *x = ud;
    size_t n = size * nmemb;
    if (!x->checked) {
        /* the first bytes of the final answer (redirects are behind us):
         * no image type, no body */
        char *ct = NULL;
        x->checked = 1;
        curl_easy_getinfo(x->easy, CURLINFO_CONTENT_TYPE, &ct);
        if (!type_allowed(ct)) {
            snprintf(x->refused, sizeof x->refused, "not an image: Content-Type %.100s", ct ? ct : "(none)");
            return 0;
        }
    }
    if (n > x->max - x->len) {
        snprintf(x->refused, sizeof x->refused, "too large: more than %zu bytes arrived (cut off)", x->max);
        return 0;
    }
    if (x->len + n > x->cap) {
        /* grown by what arrived, never by a declared Content-Length */
        size_t nc = x->cap ? x->cap : 64 * 1024;
        while (nc < x->len + n)
            nc *= 2;
        if (nc > x->max)
            nc = x->max;
        unsigned char *nb = realloc(x->buf, nc);
        if (!nb) {
            snprintf(x->refused, sizeof x->refused, "out of memory");
            return 0;
        }
        x->buf = nb;
        x->cap = nc;
    }
    memcpy(x->buf + x->len, data, n);
    x->len += n;
    return n;
}

/* the host[:port] of an http(s) URL (store_media_url_valid), lower-cased */
static host *host_of(run *r, const char *url)
{
    char name[256];
    const char *h = strstr(url, "://");
    h = h ? h + 3 : url;
    size_t n = strcspn(h, "/?#");
    const char *at = memchr(h, '@', n);   /* user:pass@ is not the host */
    if (at) {
        n -= (size_t)(at + 1 - h);
        h = at + 1;
    }
    if (n >= sizeof name)
        n = sizeof name - 1;
    for (size_t i = 0; i < n; i++)
        name[i] = (char)(h[i] >= 'A' && h[i] <= 'Z' ? h[i] + 32 : h[i]);
    name[n] = 0;
    for (size_t i = 0; i < r->nhosts; i++)
        if (!strcmp(r->hosts[i].name, name))
            return &r->hosts[i];
    if (r->nhosts == r->hcap) {
        size_t nc = r->hcap ? r->hcap * 2 : 16;
        host *nh = realloc(r->hosts, nc * sizeof *nh);
        if (!nh)
            return NULL;
        r->hosts = nh;
        r->hcap = nc;
    }
    host *e = &r->hosts[r->nhosts++];
    memcpy(e->name, name, n + 1);
    e->fails = 0;
    return e;
}

static CURL *easy_for(run *r, xfer *x, size_t j, struct curl_slist *hdrs)
{
    const cli_fetch_opts *o = r->o;
    CURL *e = curl_easy_init();
    if (!e)
        return NULL;
    memset(x, 0, sizeof *x);
    x->easy = e;
    x->job = j;
    x->max = (size_t)o->max_bytes;
    curl_easy_setopt(e, CURLOPT_URL, r->jobs[j].url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long)o->max_redirects);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)o->connect_timeout_s * 1000L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)o->timeout_s * 1000L);
    curl_easy_setopt(e, CURLOPT_FAILONERROR, 1L);
    /* an early refusal when the server declares too much; the write
     * callback enforces the limit whatever it declares */
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_bytes);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "aisle-import/1 (fetch-images)");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    return e;
}

/* what became of one transfer: the job's state and reason */
static void finish(run *r, xfer *x, CURLcode rc)
{
    job *j = &r->jobs[x->job];
    long status = 0;
    char *ct = NULL;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(x->easy, CURLINFO_CONTENT_TYPE, &ct);
    j->state = J_FAILED;
    /* could the host be reached at all?  (a timeout before any connection
     * counts; one after it, a slow server, does not) */
    host *h = host_of(r, j->url);
    curl_off_t connected = 0;
    curl_easy_getinfo(x->easy, CURLINFO_CONNECT_TIME_T, &connected);
    if (h)
        h->fails = rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY || rc == CURLE_COULDNT_CONNECT ||
                           (rc == CURLE_OPERATION_TIMEDOUT && connected == 0 && status == 0)
                       ? h->fails + 1
                       : 0;
    if (rc == CURLE_WRITE_ERROR && x->refused[0]) {
        snprintf(j->why, sizeof j->why, "%s", x->refused);
    } else if (rc == CURLE_FILESIZE_EXCEEDED) {
        snprintf(j->why, sizeof j->why, "too large: the server declares more than %zu bytes", x->max);
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
        snprintf(j->why, sizeof j->why, "timed out (%.150s)", x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
    } else if (rc == CURLE_TOO_MANY_REDIRECTS) {
        snprintf(j->why, sizeof j->why, "more than %d redirects", r->o->max_redirects);
    } else if (rc == CURLE_HTTP_RETURNED_ERROR) {
        snprintf(j->why, sizeof j->why, "HTTP %ld", status);
    } else if (rc == CURLE_UNSUPPORTED_PROTOCOL) {
        snprintf(j->why, sizeof j->why, "only http and https are fetched (%.150s)", x->errbuf);
    } else if (rc != CURLE_OK) {
        snprintf(j->why, sizeof j->why, "%.180s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
    } else if (status != 200) {
        snprintf(j->why, sizeof j->why, "HTTP %ld (expected 200)", status);
    } else if (!type_allowed(ct)) {
        snprintf(j->why, sizeof j->why, "not an image: Content-Type %.100s", ct ? ct : "(none)");
    } else if (!store_media_sniff(x->buf, x->len, NULL)) {
        snprintf(j->why, sizeof j->why, "not an image: the content is not JPEG, PNG, WebP, GIF or AVIF "
                                        "(Content-Type said %.60s)", ct);
    } else {
        unsigned char digest[crypto_hash_sha256_BYTES];
        char hex[2 * crypto_hash_sha256_BYTES + 1];
        store_err e = {0};
        crypto_hash_sha256(digest, x->buf, x->len);
        sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
        if (store_media_put(r->st, j->url, x->buf, x->len, hex, NULL, &e) == 0)
            j->state = J_FETCHED;
        else
            snprintf(j->why, sizeof j->why, "not stored: %.170s", e.msg);
    }
}

static void transfer_all(run *r, size_t *todo, size_t ntodo)
{
    CURLM *m = curl_multi_init();
    int par = r->o->parallel;
    xfer *xs = calloc((size_t)par, sizeof *xs);
    int *busy = calloc((size_t)par, sizeof *busy);
    struct curl_slist *hdrs = curl_slist_append(NULL, "Accept: image/avif,image/webp,image/png,image/jpeg,image/gif");
    size_t next = 0;
    int active = 0;
    if (!m || !xs || !busy || !hdrs) {
        for (size_t i = 0; i < ntodo; i++) {
            r->jobs[todo[i]].state = J_FAILED;
            snprintf(r->jobs[todo[i]].why, sizeof r->jobs[todo[i]].why, "out of memory");
        }
        goto out;
    }
    while (next < ntodo || active) {
        for (int s = 0; s < par && next < ntodo; s++) {
            if (busy[s])
                continue;
            host *h = host_of(r, r->jobs[todo[next]].url);
            if (h && h->fails >= HOST_GIVE_UP) {
                job *j = &r->jobs[todo[next]];
                j->state = J_FAILED;
                snprintf(j->why, sizeof j->why, "not tried: %.120s could not be reached (%d tries in a row failed)",
                         h->name, h->fails);
                next++;
                s--;   /* the slot is still free */
                continue;
            }
            CURL *e = easy_for(r, &xs[s], todo[next], hdrs);
            if (!e || curl_multi_add_handle(m, e) != CURLM_OK) {
                job *j = &r->jobs[todo[next]];
                j->state = J_FAILED;
                snprintf(j->why, sizeof j->why, "could not start the transfer");
                if (e)
                    curl_easy_cleanup(e);
                next++;
                continue;
            }
            busy[s] = 1;
            active++;
            next++;
        }
        int running = 0;
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            xfer *x = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            finish(r, x, msg->data.result);
            curl_multi_remove_handle(m, msg->easy_handle);
            curl_easy_cleanup(msg->easy_handle);
            free(x->buf);
            busy[x - xs] = 0;
            active--;
        }
        if (active)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
out:
    curl_slist_free_all(hdrs);
    free(busy);
    free(xs);
    if (m)
        curl_multi_cleanup(m);
}

int cli_fetch_images(store *st, const cli_fetch_opts *o, cli_fetch_stats *stats)
{
    run r = {.o = o, .st = st};
    store_err e = {0};
    int rc = 0;
    memset(stats, 0, sizeof *stats);
    if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "aisle import: the HTTP client could not start\n");
        return 1;
    }
    if (store_product_each(st, on_product, &r, &e) != 0 || r.oom) {
        fprintf(stderr, "aisle import: reading the catalog: %s\n", r.oom ? "out of memory" : e.msg);
        rc = 1;
        goto out;
    }
    /* what is already stored is not fetched again; a bad URL is not tried */
    size_t *todo = calloc(r.njobs + 1, sizeof *todo), ntodo = 0;
    if (!todo) {
        rc = 1;
        goto out;
    }
    for (size_t i = 0; i < r.njobs; i++) {
        char name[STORE_MEDIA_NAME_MAX];
        job *j = &r.jobs[i];
        if (!store_media_url_valid(j->url)) {
            j->state = J_FAILED;
            snprintf(j->why, sizeof j->why, "not fetched: only http:// and https:// URLs of at most %d bytes",
                     STORE_MEDIA_URL_MAX);
        } else if (store_media_lookup(st, j->url, name, NULL) == 0) {
            j->state = J_STORED;
        } else if (ntodo < (size_t)o->max_images) {
            todo[ntodo++] = i;
        } else {
            j->state = J_LEFT;
        }
    }
    transfer_all(&r, todo, ntodo);
    free(todo);
    /* the report: one line per product with a failure */
    for (size_t i = 0; i < r.njobs; i++) {
        switch (r.jobs[i].state) {
        case J_FETCHED: stats->fetched++; break;
        case J_STORED: stats->stored++; break;
        case J_FAILED: stats->failed++; break;
        case J_LEFT: stats->left++; break;
        default: break;
        }
    }
    stats->products = (long)r.nprods;
    for (size_t i = 0; i < r.nprods; i++) {
        prod *p = &r.prods[i];
        int bad = 0;
        for (size_t k = 0; k < p->n; k++)
            bad |= r.jobs[p->jobs[k]].state == J_FAILED;
        if (!bad)
            continue;
        if (stats->failed_products++ >= 100)
            continue;
        for (size_t k = 0; k < p->n; k++) {
            job *j = &r.jobs[p->jobs[k]];
            if (j->state == J_FAILED)
                fprintf(stderr, "  product %s (%.60s): %.300s: %s\n", p->sku, p->title, j->url, j->why);
        }
    }
    if (stats->failed_products > 100)
        fprintf(stderr, "  ... and %ld more products with images that could not be fetched\n",
                stats->failed_products - 100);
out:
    for (size_t i = 0; i < r.njobs; i++)
        free(r.jobs[i].url);
    for (size_t i = 0; i < r.nprods; i++) {
        free(r.prods[i].sku);
        free(r.prods[i].title);
        free(r.prods[i].jobs);
    }
    free(r.jobs);
    free(r.hosts);
    free(r.slots);
    free(r.prods);
    curl_global_cleanup();
    return rc;
}
