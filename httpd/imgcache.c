/* httpd/cache.c: a chained hash table and an LRU list under one mutex (see cache.h).
 *
 * An entry is PENDING while its filler works, then READY (in the LRU list, counted against
 * the budget) or FAILED (out of the table). The table holds one reference to every entry it
 * indexes; responses and waiters hold the others. */
#include "cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_MSG_LEN 128
#define CACHE_MIN_BUCKETS 1024
#define CACHE_BYTES_PER_BUCKET (16 * 1024)

enum entry_state { ENTRY_PENDING, ENTRY_READY, ENTRY_FAILED };

struct waiter {
    cache_wake_fn wake;
    void *arg;
    struct waiter *next;
};

struct cache_entry {
    struct cache *cache;
    struct cache_entry *hnext;       /* hash chain */
    struct cache_entry *prev, *next; /* LRU list, most recent first; READY and kept only */
    bool in_lru;
    uint64_t hash;
    unsigned refs;
    bool indexed; /* in the hash table */
    enum entry_state state;
    struct waiter *waiters;
    const void *data;
    size_t len, cost;
    cache_release_fn release;
    void *owner;
    int tag, err;
    char msg[CACHE_MSG_LEN];
    size_t klen;
    char key[]; /* klen bytes */
};

struct cache {
    size_t budget;
    size_t nbuckets; /* a power of two */
    struct cache_entry **bucket;
    pthread_mutex_t lock;            /* guards everything below and every entry's fields but data */
    struct cache_entry *head, *tail; /* LRU list: head most recent, tail least */
    size_t bytes, entries;
    uint64_t hits, misses, coalesced;
};

static uint64_t hash_key(const char *key, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 1099511628211ull;
    }
    return h;
}

struct cache *cache_new(size_t budget)
{
    struct cache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->budget = budget;
    c->nbuckets = CACHE_MIN_BUCKETS;
    while (c->nbuckets < budget / CACHE_BYTES_PER_BUCKET && c->nbuckets < (1u << 24))
        c->nbuckets *= 2;
    c->bucket = calloc(c->nbuckets, sizeof(*c->bucket));
    if (!c->bucket) {
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

static void entry_destroy(struct cache_entry *e)
{
    if (e->release)
        e->release(e->owner);
    free(e);
}

/* Drop one reference with the lock held; returns the entry when it must now be destroyed
 * (outside the lock, since release() may be slow). */
static struct cache_entry *unref_locked(struct cache_entry *e)
{
    return --e->refs == 0 ? e : NULL;
}

static void lru_unlink(struct cache *c, struct cache_entry *e)
{
    *(e->prev ? &e->prev->next : &c->head) = e->next;
    *(e->next ? &e->next->prev : &c->tail) = e->prev;
    e->prev = e->next = NULL;
    e->in_lru = false;
}

static void lru_push_front(struct cache *c, struct cache_entry *e)
{
    e->prev = NULL;
    e->next = c->head;
    *(c->head ? &c->head->prev : &c->tail) = e;
    c->head = e;
    e->in_lru = true;
}

/* Take e out of the table (and the LRU list, and the budget); returns it when it must be
 * destroyed. */
static struct cache_entry *unindex_locked(struct cache *c, struct cache_entry *e)
{
    struct cache_entry **pp = &c->bucket[e->hash & (c->nbuckets - 1)];

    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    e->indexed = false;
    if (e->in_lru) {
        lru_unlink(c, e);
        c->bytes -= e->cost;
        c->entries--;
    }
    return unref_locked(e);
}

static struct cache_entry *find_locked(struct cache *c, const char *key, size_t klen, uint64_t h)
{
    for (struct cache_entry *e = c->bucket[h & (c->nbuckets - 1)]; e; e = e->hnext) {
        if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0)
            return e;
    }
    return NULL;
}

void cache_free(struct cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nbuckets; i++) {
        while (c->bucket[i]) {
            struct cache_entry *dead = unindex_locked(c, c->bucket[i]);
            if (dead)
                entry_destroy(dead);
        }
    }
    pthread_mutex_destroy(&c->lock);
    free(c->bucket);
    free(c);
}

struct cache_entry *cache_get(struct cache *c, const char *key, size_t klen)
{
    uint64_t h = hash_key(key, klen);

    pthread_mutex_lock(&c->lock);
    struct cache_entry *e = find_locked(c, key, klen, h);
    if (e && e->state == ENTRY_READY) {
        e->refs++;
        c->hits++;
        if (e->in_lru) {
            lru_unlink(c, e);
            lru_push_front(c, e);
        }
    } else {
        e = NULL;
    }
    pthread_mutex_unlock(&c->lock);
    return e;
}

static struct cache_entry *entry_new(struct cache *c, const char *key, size_t klen, uint64_t h)
{
    struct cache_entry *e = calloc(1, sizeof(*e) + klen);
    if (!e)
        return NULL;
    e->cache = c;
    e->hash = h;
    e->klen = klen;
    memcpy(e->key, key, klen);
    e->cost = sizeof(*e) + klen;
    return e;
}

/* Register (wake, arg) on e; false when out of memory. */
static bool add_waiter(struct cache_entry *e, cache_wake_fn wake, void *arg)
{
    struct waiter *w = malloc(sizeof(*w));
    if (!w)
        return false;
    w->wake = wake;
    w->arg = arg;
    w->next = e->waiters;
    e->waiters = w;
    return true;
}

/* The pending or ready entry for key, joined; CACHE_HIT or CACHE_WAIT, or -ENOMEM. */
static int join_locked(struct cache *c, struct cache_entry *e, cache_wake_fn wake, void *arg)
{
    if (e->state == ENTRY_PENDING && !add_waiter(e, wake, arg))
        return -ENOMEM;
    e->refs++;
    if (e->state == ENTRY_READY) {
        c->hits++;
        return CACHE_HIT;
    }
    c->coalesced++;
    return CACHE_WAIT;
}

int cache_acquire(struct cache *c, const char *key, size_t klen, cache_wake_fn wake, void *arg,
                  struct cache_entry **out)
{
    uint64_t h = hash_key(key, klen);
    int rc = CACHE_FILL;

    *out = NULL;
    pthread_mutex_lock(&c->lock);
    struct cache_entry *e = c->budget ? find_locked(c, key, klen, h) : NULL;
    if (e) {
        rc = join_locked(c, e, wake, arg);
    } else {
        e = entry_new(c, key, klen, h);
        if (!e || !add_waiter(e, wake, arg)) {
            free(e);
            e = NULL;
            rc = -ENOMEM;
        } else {
            e->refs = 1;
            c->misses++;
        }
        if (e && c->budget) {
            e->refs++;
            e->indexed = true;
            e->hnext = c->bucket[h & (c->nbuckets - 1)];
            c->bucket[h & (c->nbuckets - 1)] = e;
        }
    }
    if (rc >= 0)
        *out = e;
    pthread_mutex_unlock(&c->lock);
    return rc;
}

/* Evict least recently used entries until the budget holds; returns them chained by hnext. */
static struct cache_entry *evict_locked(struct cache *c)
{
    struct cache_entry *dead = NULL;

    while (c->bytes > c->budget && c->tail) {
        struct cache_entry *victim = unindex_locked(c, c->tail);
        if (victim) {
            victim->hnext = dead;
            dead = victim;
        }
    }
    return dead;
}

/* Wake every waiter of e (taken off it under the lock) and destroy the evicted entries. */
static void finish(struct waiter *w, struct cache_entry *dead)
{
    while (w) {
        struct waiter *next = w->next;
        w->wake(w->arg);
        free(w);
        w = next;
    }
    while (dead) {
        struct cache_entry *next = dead->hnext;
        entry_destroy(dead);
        dead = next;
    }
}

void cache_fill(struct cache *c, struct cache_entry *e, const void *data, size_t len,
                cache_release_fn release, void *owner, int tag)
{
    struct cache_entry *dead = NULL;

    pthread_mutex_lock(&c->lock);
    e->data = data;
    e->len = len;
    e->release = release;
    e->owner = owner;
    e->tag = tag;
    e->cost += len;
    e->state = ENTRY_READY;
    struct waiter *w = e->waiters;
    e->waiters = NULL;
    if (e->indexed && e->cost <= c->budget) {
        lru_push_front(c, e);
        c->bytes += e->cost;
        c->entries++;
        dead = evict_locked(c);
    } else if (e->indexed) {
        dead = unindex_locked(c, e);
    }
    pthread_mutex_unlock(&c->lock);
    finish(w, dead);
}

void cache_fail(struct cache *c, struct cache_entry *e, int err, const char *msg)
{
    struct cache_entry *dead = NULL;

    pthread_mutex_lock(&c->lock);
    e->state = ENTRY_FAILED;
    e->err = err;
    snprintf(e->msg, sizeof(e->msg), "%s", msg ? msg : "");
    struct waiter *w = e->waiters;
    e->waiters = NULL;
    if (e->indexed)
        dead = unindex_locked(c, e);
    pthread_mutex_unlock(&c->lock);
    finish(w, dead);
}

void cache_put(struct cache_entry *e)
{
    if (!e)
        return;
    struct cache *c = e->cache;
    pthread_mutex_lock(&c->lock);
    struct cache_entry *dead = unref_locked(e);
    pthread_mutex_unlock(&c->lock);
    if (dead)
        entry_destroy(dead);
}

int cache_entry_result(const struct cache_entry *e, const void **data, size_t *len, int *tag,
                       const char **msg)
{
    /* Fields are written once under the lock before the waiters are woken, and never again. */
    *data = e->data;
    *len = e->len;
    *tag = e->tag;
    *msg = e->msg;
    return e->state == ENTRY_FAILED ? e->err : 0;
}

void cache_get_stats(struct cache *c, struct cache_stats *out)
{
    pthread_mutex_lock(&c->lock);
    out->bytes = c->bytes;
    out->entries = c->entries;
    out->hits = c->hits;
    out->misses = c->misses;
    out->coalesced = c->coalesced;
    pthread_mutex_unlock(&c->lock);
}
