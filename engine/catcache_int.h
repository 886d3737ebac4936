/* engine/catcache_int.h — a value a stage builds from the store's catalog
 * (the classifier's vocabulary, the entity extractor's brands and
 * categories), shared by every turn of that stage and rebuilt when the
 * catalog's generation changes (store_catalog_generation; where the store
 * keeps none, when the value is older than a few minutes).  One
 * implementation for every such cache (engine/catcache.c). Internal.
 *
 * Who builds: eng_pipeline_warm builds in the caller's thread.  After
 * that, a turn that finds the value missing or stale either builds it
 * itself (the default: the CLI, tests) or, with background refresh on
 * (eng_catalog_refresh_background; `aisle serve`), starts one build on
 * a thread of its own and goes on with the value there is, so no turn
 * waits for a catalog scan.  Builds never overlap. */
#ifndef AISLE_CATCACHE_H
#define AISLE_CATCACHE_H

#include <stddef.h>
#include <stdint.h>

struct store;

/* A built value and its references (the cache's and each turn's). */
typedef struct eng__ccref {
    void *v;
    long refs;
} eng__ccref;

/* build: the value for store s, or NULL (with a reason in note) when the
 * store failed; called with no lock held, one build at a time.  `ud` is
 * what eng__cc_new was given.  free: releases a built value. */
typedef void *(*eng__cc_build_fn)(const void *ud, struct store *s, char *note, size_t cap);
typedef void (*eng__cc_free_fn)(void *v);

typedef struct eng__catcache eng__catcache;

/* eng__cc_new: an empty cache; NULL when out of memory. */
eng__catcache *eng__cc_new(eng__cc_build_fn build, eng__cc_free_fn free_fn, const void *ud);
/* eng__cc_free: wait for a build in progress, then free the cache and
 * its value (turns holding a reference must have released it). */
void eng__cc_free(eng__catcache *c);
/* eng__cc_acquire: a reference to the value for store s, or NULL while
 * there is none; checks freshness (at most once a second) and builds as
 * described above.  `note` gets a line for the trace when something was
 * (re)built or failed. */
eng__ccref *eng__cc_acquire(eng__catcache *c, struct store *s, char *note, size_t cap);
/* eng__cc_release: drop a reference from eng__cc_acquire (NULL is fine). */
void eng__cc_release(eng__catcache *c, eng__ccref *r);
/* eng__cc_warm: build now, in this thread, unless the value for s is
 * current.  0, or -1 when the build failed (note says why). */
int eng__cc_warm(eng__catcache *c, struct store *s, char *note, size_t cap);

#endif
