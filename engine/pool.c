/* engine/pool.c — arenas: many allocations, one free.
 * A turn allocates from its own pool and a loaded pipeline from another;
 * resources that are not memory (json objects, models) register a
 * cleanup that runs when the pool goes. */
#include "eng_int.h"
#include <stdio.h>
#include <string.h>

typedef struct block {
    struct block *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
} block;

typedef struct cleanup {
    struct cleanup *next;
    void (*fn)(void *);
    void *arg;
} cleanup;

struct eng_pool {
    block *head;
    cleanup *cleanups;
    size_t block_size;
    size_t used;
};

eng_pool *eng__pool_new(size_t block_size)
{
    eng_pool *p = eng__calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->block_size = block_size < 1024 ? 1024 : block_size;
    return p;
}

void *eng__pool_alloc(eng_pool *p, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    block *b = p->head;
    if (!b || b->size - b->used < n) {
        size_t sz = n > p->block_size / 4 ? n : p->block_size;
        block *nb = eng__malloc(sizeof *nb + sz);
        if (!nb)
            return NULL;
        nb->size = sz;
        nb->used = 0;
        if (b && sz == n) {
            /* a big one-off allocation: keep the current block in front */
            nb->next = b->next;
            b->next = nb;
        } else {
            nb->next = b;
            p->head = nb;
        }
        b = nb;
    }
    void *r = b->data + b->used;
    b->used += n;
    p->used += n;
    memset(r, 0, n);
    return r;
}

char *eng__pool_strndup(eng_pool *p, const char *s, size_t n)
{
    if (!s)
        return NULL;
    char *d = eng__pool_alloc(p, n + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *eng__pool_strdup(eng_pool *p, const char *s)
{
    return s ? eng__pool_strndup(p, s, strlen(s)) : NULL;
}

char *eng__pool_printf(eng_pool *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *d = eng__pool_alloc(p, (size_t)n + 1);
    if (!d)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(d, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return d;
}

int eng__pool_cleanup(eng_pool *p, void (*fn)(void *), void *arg)
{
    cleanup *c = eng__malloc(sizeof *c);
    if (!c)
        return ENG_ENOMEM;
    c->fn = fn;
    c->arg = arg;
    c->next = p->cleanups;
    p->cleanups = c;
    return 0;
}

size_t eng__pool_used(const eng_pool *p) { return p->used; }

void eng__pool_free(eng_pool *p)
{
    if (!p)
        return;
    for (cleanup *c = p->cleanups, *n; c; c = n) {
        n = c->next;
        c->fn(c->arg);
        eng__free(c);
    }
    for (block *b = p->head, *n; b; b = n) {
        n = b->next;
        eng__free(b);
    }
    eng__free(p);
}
