/* cli/util.c — the small jobs every command does the same way: read a
 * whole file, and open the store its --db flag names.  One place each, so
 * that the commands agree on what --db means and on what they say when a
 * file or a store cannot be opened. */
#include "cli.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <unistd.h>

char *cli_read_file(const char *cmd, const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: cannot read %s: %s\n", cmd, path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (n < cap - 1)
            break;
        char *nb = realloc(buf, cap *= 2);
        if (!nb)
            free(buf);
        buf = nb;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        fprintf(stderr, "%s: cannot read %s: %s\n", cmd, path, buf ? "read error" : "out of memory");
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

void cli_store_config(store_config *cfg, const char *db)
{
    store_config_init(cfg);
    if (db) {
        cfg->sqlite_path = db;
        cfg->documents = STORE_BACKEND_SQLITE;
    }
}

void cli_remove_sqlite(const char *path)
{
    static const char *const ext[] = {"", "-wal", "-shm", "-journal", NULL};
    char p[PATH_MAX + 16];
    for (size_t i = 0; ext[i]; i++)
        if (snprintf(p, sizeof p, "%s%s", path, ext[i]) < (int)sizeof p)
            unlink(p);
}

int cli_store_open(const char *cmd, const store_config *cfg, store **out)
{
    store_err err = {0};
    if (store_open(cfg, out, &err) < 0) {
        fprintf(stderr, "%s: cannot open the store %s: %s\n", cmd,
                cfg->documents == STORE_BACKEND_MONGO && cfg->mongo_uri ? "(MongoDB)" : cfg->sqlite_path, err.msg);
        *out = NULL;
        return 1;
    }
    return 0;
}
