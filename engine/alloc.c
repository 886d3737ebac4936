/* engine/alloc.c — the engine's one allocator hook.
 * The engine's own allocations (pools, models, Lua states) pass through
 * here so that tests can make the Nth allocation fail and check that the
 * failure is reported cleanly and nothing leaks.  The libraries' own do
 * not: json-c (the turn context) and libyaml allocate with malloc. */
#include "eng_int.h"
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* < 0: no injection. Otherwise the number of allocations still allowed. */
static _Atomic long fail_countdown = -1;
/* 1: only the one allocation fails (the countdown then disarms) */
static _Atomic int fail_once;
/* allocations failed since the injection was last armed */
static _Atomic long failed;

static void arm(long n, int once)
{
    atomic_store(&fail_countdown, -1);
    if (n >= 0)   /* turning injection off keeps the count for the test to read */
        atomic_store(&failed, 0);
    atomic_store(&fail_once, once);
    atomic_store(&fail_countdown, n < 0 ? -1 : n);
}

void eng_alloc_fail_after(long n) { arm(n, 0); }
void eng_alloc_fail_once(long n) { arm(n, 1); }
long eng_alloc_failed(void) { return atomic_load(&failed); }

static bool should_fail(void)
{
    long v = atomic_load(&fail_countdown);
    while (v >= 0) {
        if (v == 0) {
            if (atomic_load(&fail_once) && !atomic_compare_exchange_weak(&fail_countdown, &v, -1))
                continue;
            atomic_fetch_add(&failed, 1);
            return true;
        }
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
