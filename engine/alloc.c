/* engine/alloc.c — the engine's one allocator hook.
 * Every engine allocation (pools, models, Lua states) passes through here
 * so that tests can make the Nth allocation fail and check that the
 * failure is reported cleanly and nothing leaks. */
#include "eng_int.h"
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* < 0: no injection. Otherwise the number of allocations still allowed. */
static _Atomic long fail_countdown = -1;

void eng_alloc_fail_after(long n) { atomic_store(&fail_countdown, n < 0 ? -1 : n); }

static bool should_fail(void)
{
    long v = atomic_load(&fail_countdown);
    while (v >= 0) {
        if (v == 0)
            return true;
        if (atomic_compare_exchange_weak(&fail_countdown, &v, v - 1))
            return false;
    }
    return false;
}

void *eng__malloc(size_t n) { return should_fail() ? NULL : malloc(n ? n : 1); }

void *eng__calloc(size_t n, size_t size)
{
    return should_fail() ? NULL : calloc(n ? n : 1, size ? size : 1);
}

void *eng__realloc(void *p, size_t n) { return should_fail() ? NULL : realloc(p, n ? n : 1); }

void eng__free(void *p) { free(p); }

char *eng__strndup(const char *s, size_t n)
{
    if (!s)
        return NULL;
    char *d = eng__malloc(n + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *eng__strdup(const char *s) { return s ? eng__strndup(s, strlen(s)) : NULL; }
