/* httpd/cache.h: the derived-image cache. An in-memory map from a key (source identity +
 * canonical chain + output format) to encoded bytes, with a byte budget and LRU eviction.
 *
 * Entries are reference-counted: a response holds one while it is being sent, even if the
 * entry is evicted meanwhile. Identical concurrent misses are coalesced ("single flight"): the
 * first caller gets CACHE_FILL and must fill or fail the entry; later callers for the same key
 * get CACHE_WAIT and are woken once it is done.
 *
 *     e = cache_get(c, key, klen);                 // fast path: a ready entry or NULL
 *     switch (cache_acquire(c, key, klen, wake, arg, &e)) {
 *     case CACHE_HIT:  respond(e); break;
 *     case CACHE_FILL: transform...; cache_fill(c, e, ...); break;   // wake(arg) follows
 *     case CACHE_WAIT: break;                                        // wake(arg) follows
 *     }
 *     ... cache_entry_result(e, ...); cache_put(e);
 *
 * Thread-safe. No I/O, no libvips. */
#ifndef HTTPD_CACHE_H
#define HTTPD_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct cache;
struct cache_entry;

enum cache_state { CACHE_HIT, CACHE_FILL, CACHE_WAIT };

/* Called once when an entry a caller waits on is filled or failed, from the thread that filled
 * it, with no lock held. */
typedef void (*cache_wake_fn)(void *arg);

/* Called when the last reference to filled data goes: frees it. */
typedef void (*cache_release_fn)(void *owner);

/* A cache keeping up to budget bytes of data (keys and bookkeeping count too). budget 0
 * disables it: nothing is kept or shared, and every cache_acquire() is a CACHE_FILL of a
 * private entry. Returns: (transfer full) free with cache_free(), or NULL. */
struct cache *cache_new(size_t budget);

/* Free c and the entries it keeps. Every reference handed out must have been put back. */
void cache_free(struct cache *c);

/* A ready entry for key, with a reference the caller puts back with cache_put(); NULL on a
 * miss or while the entry is being filled. Counts a hit. */
struct cache_entry *cache_get(struct cache *c, const char *key, size_t klen);

/* Look key up, joining or starting its fill; *out gets a reference in every case (put it back
 * with cache_put()). For CACHE_FILL and CACHE_WAIT, wake(arg) is called exactly once when the
 * entry is ready or failed. Returns a state, or -ENOMEM (then *out is NULL, wake never runs). */
int cache_acquire(struct cache *c, const char *key, size_t klen, cache_wake_fn wake, void *arg,
                  struct cache_entry **out);

/* Complete an entry that cache_acquire() gave as CACHE_FILL with data[0..len), owned by owner
 * from now on: release(owner) runs when the last reference goes. tag is the caller's (the
 * output format). Keeps the entry unless it exceeds the budget; wakes every waiter. */
void cache_fill(struct cache *c, struct cache_entry *e, const void *data, size_t len,
                cache_release_fn release, void *owner, int tag);

/* Fail an entry given as CACHE_FILL: err (-errno) and msg (copied, may be NULL) go to every
 * waiter; the entry is dropped from the cache, so the next request tries again. */
void cache_fail(struct cache *c, struct cache_entry *e, int err, const char *msg);

/* Put back one reference; the data is freed with the last one once the entry is evicted. */
void cache_put(struct cache_entry *e);

/* The outcome of a filled or failed entry: 0 with data, len and tag set, or the -errno given
 * to cache_fail() with *msg its message ("" if none). (transfer none): valid while the
 * caller's reference is held. */
int cache_entry_result(const struct cache_entry *e, const void **data, size_t *len, int *tag,
                       const char **msg);

struct cache_stats {
    size_t bytes, entries;            /* kept now */
    uint64_t hits, misses, coalesced; /* since start */
};
void cache_get_stats(struct cache *c, struct cache_stats *out);

#endif
