/* stores/media.c — the shop's own copies of product images (fetched by
 * `aisle import --fetch-images`): one file per distinct content under
 * media_dir, named by its SHA-256 and its sniffed type
 * (<64 hex>.jpg|png|webp|gif|avif), and an append-only index
 * media_dir/index.tsv of "name<TAB>url" lines that says which source URL
 * each copy came from (a later line for the same URL wins).
 *
 * Files, not backend rows: the same directory serves whichever backend
 * holds the documents (SQLite, MongoDB), a copy is written once and never
 * changes (so the gateway can mark it immutable), and instances that
 * share the directory (a shared volume) share the copies.  Writers append
 * to the index under flock(2); readers keep the parsed index in memory and
 * parse it again only when its size, inode or mtime changed. */
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct media_ent {
    char *url;
    char name[STORE_MEDIA_NAME_MAX];
} media_ent;

struct store__media {
    char *dir;
    pthread_mutex_t mu;
    /* the parsed index: open addressing by URL; the signature of the
     * file it was read from */
    media_ent *tab;
    size_t cap, n;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    int loaded;
};

static const struct {
    const char *ext, *type;
} kinds[] = {
    {"jpg", "image/jpeg"}, {"png", "image/png"}, {"webp", "image/webp"},
    {"gif", "image/gif"},  {"avif", "image/avif"},
};
#define NKINDS (sizeof kinds / sizeof *kinds)

const char *store_media_sniff(const void *bytes, size_t len, const char **ext)
{
    const unsigned char *b = bytes;
    int k = -1;
    if (!b)
        len = 0;
    if (len >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF)
        k = 0;
    else if (len >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8))
        k = 1;
    else if (len >= 12 && !memcmp(b, "RIFF", 4) && !memcmp(b + 8, "WEBP", 4))
        k = 2;
    else if (len >= 6 && (!memcmp(b, "GIF87a", 6) || !memcmp(b, "GIF89a", 6)))
        k = 3;
    else if (len >= 16 && !memcmp(b + 4, "ftyp", 4)) {
        /* ISO BMFF: the major brand, then the compatible brands, up to
         * the end of the ftyp box */
        size_t box = (size_t)b[0] << 24 | (size_t)b[1] << 16 | (size_t)b[2] << 8 | b[3];
        if (box > len)
            box = len;
        for (size_t off = 8; off + 4 <= box && k < 0; off += off == 8 ? 8 : 4)
            if (!memcmp(b + off, "avif", 4) || !memcmp(b + off, "avis", 4))
                k = 4;
    }
    if (ext)
        *ext = k < 0 ? NULL : kinds[k].ext;
    return k < 0 ? NULL : kinds[k].type;
}

/* the type of a stored name's extension; NULL when the name is not one
 * this module writes (64 lower-case hex digits, a dot, a known ext) */
static const char *name_type(const char *name)
{
    size_t i;
    for (i = 0; i < 64; i++)
        if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
            return NULL;
    if (name[64] != '.')
        return NULL;
    for (size_t k = 0; k < NKINDS; k++)
        if (!strcmp(name + 65, kinds[k].ext))
            return kinds[k].type;
    return NULL;
}

int store_media_name_valid(const char *name)
{
    return name && strlen(name) < STORE_MEDIA_NAME_MAX && name_type(name) != NULL;
}

int store_media_url_valid(const char *url)
{
    size_t n;
    if (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)))
        return 0;
    n = strlen(url);
    if (n > STORE_MEDIA_URL_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)url[i] < 0x20 || url[i] == 0x7f)
            return 0;
    return 1;
}

store__media *store__media_new(const char *dir)
{
    store__media *m = calloc(1, sizeof *m);
    if (!m || !(m->dir = strdup(dir))) {
        free(m);
        return NULL;
    }
    pthread_mutex_init(&m->mu, NULL);
    return m;
}

static void tab_free(store__media *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->tab[i].url);
    free(m->tab);
    m->tab = NULL;
    m->cap = m->n = 0;
}

void store__media_free(store__media *m)
{
    if (!m)
        return;
    tab_free(m);
    pthread_mutex_destroy(&m->mu);
    free(m->dir);
    free(m);
}

const char *store__media_dir(const store__media *m)
{
    return m ? m->dir : NULL;
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;   /* FNV-1a: lookups only, never trust */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static media_ent *tab_slot(media_ent *tab, size_t cap, const char *url)
{
    size_t i = (size_t)hash_str(url) & (cap - 1);
    while (tab[i].url && strcmp(tab[i].url, url))
        i = (i + 1) & (cap - 1);
    return &tab[i];
}

static int tab_put(store__media *m, const char *url, size_t ulen, const char *name)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 64;
        media_ent *nt = calloc(nc, sizeof *nt);
        if (!nt)
            return -1;
        for (size_t i = 0; i < m->cap; i++)
            if (m->tab[i].url)
                *tab_slot(nt, nc, m->tab[i].url) = m->tab[i];
        free(m->tab);
        m->tab = nt;
        m->cap = nc;
    }
    char *u = strndup(url, ulen);
    if (!u)
        return -1;
    media_ent *e = tab_slot(m->tab, m->cap, u);
    if (e->url) {
        free(u);
    } else {
        e->url = u;
        m->n++;
    }
    snprintf(e->name, sizeof e->name, "%s", name);
    return 0;
}

/* parse index.tsv again when it changed since it was read; m->mu held */
static void refresh(store__media *m)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/index.tsv", m->dir);
    if (stat(path, &st) != 0) {
        tab_free(m);
        m->loaded = 0;
        return;
    }
    if (m->loaded && st.st_dev == m->dev && st.st_ino == m->ino && st.st_size == m->size &&
        st.st_mtim.tv_sec == m->mtime.tv_sec && st.st_mtim.tv_nsec == m->mtime.tv_nsec)
        return;
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    tab_free(m);
    char *line = NULL;
    size_t lcap = 0;
    ssize_t n;
    while ((n = getline(&line, &lcap, f)) > 0) {
        /* a line being appended right now has no newline yet: not read */
        if (line[n - 1] != '\n')
            break;
        line[--n] = 0;
        char *tab = strchr(line, '\t');
        if (!tab)
            continue;
        *tab = 0;
        if (!store_media_name_valid(line) || !store_media_url_valid(tab + 1))
            continue;
        tab_put(m, tab + 1, strlen(tab + 1), line);
    }
    free(line);
    fclose(f);
    m->dev = st.st_dev;
    m->ino = st.st_ino;
    m->size = st.st_size;
    m->mtime = st.st_mtim;
    m->loaded = 1;
}

static const char *find(store__media *m, const char *url);

int store__media_lookup(store__media *m, const char *url, char *name, store_err *err)
{
    int rc = STORE_ENOTFOUND;
    if (!m || !url)
        return store__fail(err, STORE_EINVAL, "url is NULL");
    pthread_mutex_lock(&m->mu);
    refresh(m);
    const char *have = find(m, url);
    if (have) {
        snprintf(name, STORE_MEDIA_NAME_MAX, "%s", have);
        rc = 0;
    }
    pthread_mutex_unlock(&m->mu);
    return rc == 0 ? 0 : store__fail(err, rc, "no stored copy of %s", url);
}

/* the stored name of url, NULL when none; m->mu held */
static const char *find(store__media *m, const char *url)
{
    if (!url || !m->cap)
        return NULL;
    media_ent *e = tab_slot(m->tab, m->cap, url);
    return e->url ? e->name : NULL;
}

static char *media_path(const char *name)
{
    char path[sizeof STORE_MEDIA_PATH + STORE_MEDIA_NAME_MAX];
    snprintf(path, sizeof path, STORE_MEDIA_PATH "%s", name);
    return strdup(path);
}

/* the stored copies of p's images, as the gateway serves them */
void store__media_fill(store__media *m, store_product *p)
{
    const char *name;
    if (!m || !p)
        return;
    pthread_mutex_lock(&m->mu);
    refresh(m);
    if (!p->thumbnail_media && (name = find(m, p->thumbnail)))
        p->thumbnail_media = media_path(name);
    for (size_t i = 0; i < p->n_images && !p->images_media; i++)
        if (find(m, p->images[i]))
            p->images_media = calloc(p->n_images, sizeof *p->images_media);
    for (size_t i = 0; p->images_media && i < p->n_images; i++)
        if ((name = find(m, p->images[i])))
            p->images_media[i] = media_path(name);
    pthread_mutex_unlock(&m->mu);
}

static int mkdir_p(const char *dir)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *s = buf + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return -1;
            *s = '/';
        }
    return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* write bytes to path through a temporary file and a rename, so a reader
 * never sees half a copy */
static int write_once(const char *path, const void *bytes, size_t len, store_err *err)
{
    char tmp[4200];
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size == len)
        return 0;   /* the same content is there already */
    snprintf(tmp, sizeof tmp, "%.4096s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return store__fail(err, STORE_EIO, "cannot write %s: %s", tmp, strerror(errno));
    const char *p = bytes;
    size_t left = len;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return store__fail(err, STORE_EIO, "cannot write %s: %s", tmp, strerror(e));
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return store__fail(err, STORE_EIO, "cannot store %s: %s", path, strerror(e));
    }
    return 0;
}

int store__media_put(store__media *m, const char *url, const void *bytes, size_t len,
                     const char *sha256_hex, char *name_out, store_err *err)
{
    const char *ext;
    char name[STORE_MEDIA_NAME_MAX], path[4200], line[STORE_MEDIA_URL_MAX + STORE_MEDIA_NAME_MAX + 4];
    if (!m || !bytes || !sha256_hex)
        return store__fail(err, STORE_EINVAL, "url/bytes/hash is NULL");
    if (!store_media_url_valid(url))
        return store__fail(err, STORE_EINVAL, "not an http(s) URL of at most %d bytes without control characters",
                           STORE_MEDIA_URL_MAX);
    if (len == 0 || len > STORE_MEDIA_MAX_BYTES)
        return store__fail(err, STORE_EINVAL, "an image is 1 to %d bytes, not %zu", STORE_MEDIA_MAX_BYTES, len);
    if (!store_media_sniff(bytes, len, &ext))
        return store__fail(err, STORE_EINVAL, "the content is not a JPEG, PNG, WebP, GIF or AVIF image");
    snprintf(name, sizeof name, "%.64s.%s", sha256_hex, ext);
    if (strlen(sha256_hex) != 64 || !store_media_name_valid(name))
        return store__fail(err, STORE_EINVAL, "the hash is not 64 lower-case hex digits");
    if (mkdir_p(m->dir) != 0)
        return store__fail(err, STORE_EIO, "cannot create %s: %s", m->dir, strerror(errno));
    snprintf(path, sizeof path, "%s/%s", m->dir, name);
    int rc = write_once(path, bytes, len, err);
    if (rc)
        return rc;
    /* link the URL to it: one line appended under the lock, unless the
     * index already says so */
    char have[STORE_MEDIA_NAME_MAX];
    if (store__media_lookup(m, url, have, NULL) == 0 && !strcmp(have, name)) {
        if (name_out)
            snprintf(name_out, STORE_MEDIA_NAME_MAX, "%s", name);
        return 0;
    }
    snprintf(path, sizeof path, "%s/index.tsv", m->dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return store__fail(err, STORE_EIO, "cannot open %s: %s", path, strerror(errno));
    int n = snprintf(line, sizeof line, "%s\t%s\n", name, url);
    ssize_t w = -1;
    if (flock(fd, LOCK_EX) == 0) {
        do
            w = write(fd, line, (size_t)n);
        while (w < 0 && errno == EINTR);
        flock(fd, LOCK_UN);
    }
    int e = errno;
    close(fd);
    if (w != n)
        return store__fail(err, STORE_EIO, "cannot append to %s: %s", path, strerror(e));
    if (name_out)
        snprintf(name_out, STORE_MEDIA_NAME_MAX, "%s", name);
    return 0;
}

int store__media_open(store__media *m, const char *name, int *fd_out, size_t *len, const char **type,
                      store_err *err)
{
    char path[4200];
    struct stat st;
    *fd_out = -1;
    *len = 0;
    if (!store_media_name_valid(name))
        return store__fail(err, STORE_EINVAL, "not a media name (<sha256>.jpg|png|webp|gif|avif)");
    snprintf(path, sizeof path, "%s/%s", m->dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return store__fail(err, errno == ENOENT ? STORE_ENOTFOUND : STORE_EIO, "%s: %s", name, strerror(errno));
    /* only what this module wrote: a regular file within the size limit */
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > STORE_MEDIA_MAX_BYTES) {
        close(fd);
        return store__fail(err, STORE_ENOTFOUND, "%s: not a stored image", name);
    }
    *fd_out = fd;
    *len = (size_t)st.st_size;
    if (type)
        *type = name_type(name);
    return 0;
}

int store__media_read(store__media *m, const char *name, char **bytes, size_t *len, const char **type,
                      store_err *err)
{
    int fd;
    size_t want;
    *bytes = NULL;
    *len = 0;
    int rc = store__media_open(m, name, &fd, &want, type, err);
    if (rc)
        return rc;
    char *b = malloc(want);
    size_t got = 0;
    while (b && got < want) {
        ssize_t r = read(fd, b + got, want - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (!b)
        return store__fail(err, STORE_ENOMEM, "out of memory");
    if (got != want) {
        free(b);
        return store__fail(err, STORE_EIO, "%s: short read", name);
    }
    *bytes = b;
    *len = got;
    return 0;
}
