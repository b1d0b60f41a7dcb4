/* httpd/imgcache.h: the derived-image cache. An in-memory map from a key (source identity +
 * canonical chain + output format) to encoded bytes, with a byte budget and LRU eviction.
 *
 * Entries are reference-counted: a response holds one while it is being sent, even if the
 * entry is evicted meanwhile. Identical concurrent misses are coalesced ("single flight"): the
 * first caller gets IMGCACHE_FILL and must fill or fail the entry; later callers for the same key
 * get IMGCACHE_WAIT and are woken once it is done.
 *
 *     e = imgcache_get(c, key, klen);                 // fast path: a ready entry or NULL
 *     switch (imgcache_acquire(c, key, klen, wake, arg, &e)) {
 *     case IMGCACHE_HIT:  respond(e); break;
 *     case IMGCACHE_FILL: transform...; imgcache_fill(c, e, ...); break;   // wake(arg) follows
 *     case IMGCACHE_WAIT: break;                                        // wake(arg) follows
 *     }
 *     ... imgcache_entry_result(e, ...); imgcache_put(e);
 *
 * Keys are hashed with SipHash under a random key chosen at imgcache_new(), and the table grows
 * with the entries, so no set of URLs makes lookups slow. Thread-safe. No I/O, no libvips. */
#ifndef HTTPD_IMGCACHE_H
#define HTTPD_IMGCACHE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct imgcache;
struct imgcache_entry;

enum imgcache_state { IMGCACHE_HIT, IMGCACHE_FILL, IMGCACHE_WAIT };

/* Called once when an entry a caller waits on is filled or failed, from the thread that filled
 * it, with no lock held. */
typedef void (*imgcache_wake_fn)(void *arg);

/* Called when the last reference to filled data goes: frees it. */
typedef void (*imgcache_release_fn)(void *owner);

/* A cache keeping up to budget bytes of data (keys and bookkeeping count too). budget 0
 * disables it: nothing is kept or shared, and every imgcache_acquire() is a IMGCACHE_FILL of a
 * private entry. Returns: (transfer full) free with imgcache_free(), or NULL. */
struct imgcache *imgcache_new(size_t budget);

/* Free c and the entries it keeps. Every reference handed out must have been put back. */
void imgcache_free(struct imgcache *c);

/* A ready entry for key, with a reference the caller puts back with imgcache_put(); NULL on a
 * miss or while the entry is being filled. Counts a hit. */
struct imgcache_entry *imgcache_get(struct imgcache *c, const char *key, size_t klen);

/* Look key up, joining or starting its fill; *out gets a reference in every case (put it back
 * with imgcache_put()). For IMGCACHE_FILL and IMGCACHE_WAIT, wake(arg) is called exactly once when
 * the entry is ready or failed. Returns a state, or -ENOMEM (then *out is NULL, wake never runs).
 */
int imgcache_acquire(struct imgcache *c, const char *key, size_t klen, imgcache_wake_fn wake,
                     void *arg, struct imgcache_entry **out);

/* Complete an entry that imgcache_acquire() gave as IMGCACHE_FILL with data[0..len), owned by owner
 * from now on: release(owner) runs when the last reference goes. tag is the caller's (the
 * output format). Keeps the entry unless it exceeds the budget; wakes every waiter. */
void imgcache_fill(struct imgcache *c, struct imgcache_entry *e, const void *data, size_t len,
                   imgcache_release_fn release, void *owner, int tag);

/* Fail an entry given as IMGCACHE_FILL: err (-errno) and msg (copied, may be NULL) go to every
 * waiter; the entry is dropped from the cache, so the next request tries again. */
void imgcache_fail(struct imgcache *c, struct imgcache_entry *e, int err, const char *msg);

/* Store data[0..len) under key as a ready entry at once, replacing a ready one with that key
 * (for small records, not for derived images: those go through imgcache_acquire()). Ownership
 * as for imgcache_fill(); on failure release is not called. Returns 0, -EBUSY while key is being
 * filled, or -ENOMEM. */
int imgcache_set(struct imgcache *c, const char *key, size_t klen, const void *data, size_t len,
                 imgcache_release_fn release, void *owner, int tag);

/* The waiter registered with arg on a PENDING entry no longer wants the result (its client
 * left). It is still woken when the entry completes. When no waiter is left, the entry's
 * cancel flag is set and a later imgcache_acquire() of its key starts a new fill instead of
 * joining it. Returns whether this call set the flag. */
bool imgcache_leave(struct imgcache_entry *e, void *arg);

/* The flag imgcache_leave() sets, for the filler to poll (tr_request.cancel). (transfer none):
 * valid while a reference to e is held. */
const atomic_bool *imgcache_cancel_flag(const struct imgcache_entry *e);

/* Put back one reference; the data is freed with the last one once the entry is evicted. */
void imgcache_put(struct imgcache_entry *e);

/* The outcome of a filled or failed entry: 0 with data, len and tag set, or the -errno given
 * to imgcache_fail() with *msg its message ("" if none). (transfer none): valid while the
 * caller's reference is held. */
int imgcache_entry_result(const struct imgcache_entry *e, const void **data, size_t *len, int *tag,
                          const char **msg);

struct imgcache_stats {
    size_t bytes, entries;            /* kept now */
    uint64_t hits, misses, coalesced; /* since start */
    uint64_t evictions;               /* entries evicted for the budget, since start */
    size_t buckets;                   /* of the hash table, which grows with the entries */
};
void imgcache_get_stats(struct imgcache *c, struct imgcache_stats *out);

#endif
