/* httpd/imgcache.c: a chained hash table and an LRU list under one mutex (see imgcache.h).
 *
 * An entry is PENDING while its filler works, then READY (in the LRU list, counted against
 * the budget) or FAILED (out of the table). The table holds one reference to every entry it
 * indexes; responses and waiters hold the others. */
#include "imgcache.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMGCACHE_MSG_LEN 128
#define IMGCACHE_MIN_BUCKETS 1024
#define IMGCACHE_BYTES_PER_BUCKET (16 * 1024)

enum entry_state { ENTRY_PENDING, ENTRY_READY, ENTRY_FAILED };

struct waiter {
    imgcache_wake_fn wake;
    void *arg;
    struct waiter *next;
};

struct imgcache_entry {
    struct imgcache *cache;
    struct imgcache_entry *hnext;       /* hash chain */
    struct imgcache_entry *prev, *next; /* LRU list, most recent first; READY and kept only */
    bool in_lru;
    uint64_t hash;
    unsigned refs;
    bool indexed; /* in the hash table */
    enum entry_state state;
    struct waiter *waiters;
    const void *data;
    size_t len, cost;
    imgcache_release_fn release;
    void *owner;
    int tag, err;
    char msg[IMGCACHE_MSG_LEN];
    size_t klen;
    char key[]; /* klen bytes */
};

struct imgcache {
    size_t budget;
    size_t nbuckets; /* a power of two */
    struct imgcache_entry **bucket;
    pthread_mutex_t lock; /* guards everything below and every entry's fields but data */
    struct imgcache_entry *head, *tail; /* LRU list: head most recent, tail least */
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

struct imgcache *imgcache_new(size_t budget)
{
    struct imgcache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->budget = budget;
    c->nbuckets = IMGCACHE_MIN_BUCKETS;
    while (c->nbuckets < budget / IMGCACHE_BYTES_PER_BUCKET && c->nbuckets < (1u << 24))
        c->nbuckets *= 2;
    c->bucket = calloc(c->nbuckets, sizeof(*c->bucket));
    if (!c->bucket) {
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

static void entry_destroy(struct imgcache_entry *e)
{
    if (e->release)
        e->release(e->owner);
    free(e);
}

/* Drop one reference with the lock held; returns the entry when it must now be destroyed
 * (outside the lock, since release() may be slow). */
static struct imgcache_entry *unref_locked(struct imgcache_entry *e)
{
    return --e->refs == 0 ? e : NULL;
}

static void lru_unlink(struct imgcache *c, struct imgcache_entry *e)
{
    *(e->prev ? &e->prev->next : &c->head) = e->next;
    *(e->next ? &e->next->prev : &c->tail) = e->prev;
    e->prev = e->next = NULL;
    e->in_lru = false;
}

static void lru_push_front(struct imgcache *c, struct imgcache_entry *e)
{
    e->prev = NULL;
    e->next = c->head;
    *(c->head ? &c->head->prev : &c->tail) = e;
    c->head = e;
    e->in_lru = true;
}

/* Take e out of the table (and the LRU list, and the budget); returns it when it must be
 * destroyed. */
static struct imgcache_entry *unindex_locked(struct imgcache *c, struct imgcache_entry *e)
{
    struct imgcache_entry **pp = &c->bucket[e->hash & (c->nbuckets - 1)];

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

static struct imgcache_entry *find_locked(struct imgcache *c, const char *key, size_t klen,
                                          uint64_t h)
{
    for (struct imgcache_entry *e = c->bucket[h & (c->nbuckets - 1)]; e; e = e->hnext) {
        if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0)
            return e;
    }
    return NULL;
}

void imgcache_free(struct imgcache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nbuckets; i++) {
        while (c->bucket[i]) {
            struct imgcache_entry *dead = unindex_locked(c, c->bucket[i]);
            if (dead)
                entry_destroy(dead);
        }
    }
    pthread_mutex_destroy(&c->lock);
    free(c->bucket);
    free(c);
}

struct imgcache_entry *imgcache_get(struct imgcache *c, const char *key, size_t klen)
{
    uint64_t h = hash_key(key, klen);

    pthread_mutex_lock(&c->lock);
    struct imgcache_entry *e = find_locked(c, key, klen, h);
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

static struct imgcache_entry *entry_new(struct imgcache *c, const char *key, size_t klen,
                                        uint64_t h)
{
    struct imgcache_entry *e = calloc(1, sizeof(*e) + klen);
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
static bool add_waiter(struct imgcache_entry *e, imgcache_wake_fn wake, void *arg)
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

/* The pending or ready entry for key, joined; IMGCACHE_HIT or IMGCACHE_WAIT, or -ENOMEM. */
static int join_locked(struct imgcache *c, struct imgcache_entry *e, imgcache_wake_fn wake,
                       void *arg)
{
    if (e->state == ENTRY_PENDING && !add_waiter(e, wake, arg))
        return -ENOMEM;
    e->refs++;
    if (e->state == ENTRY_READY) {
        c->hits++;
        return IMGCACHE_HIT;
    }
    c->coalesced++;
    return IMGCACHE_WAIT;
}

int imgcache_acquire(struct imgcache *c, const char *key, size_t klen, imgcache_wake_fn wake,
                     void *arg, struct imgcache_entry **out)
{
    uint64_t h = hash_key(key, klen);
    int rc = IMGCACHE_FILL;

    *out = NULL;
    pthread_mutex_lock(&c->lock);
    struct imgcache_entry *e = c->budget ? find_locked(c, key, klen, h) : NULL;
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
static struct imgcache_entry *evict_locked(struct imgcache *c)
{
    struct imgcache_entry *dead = NULL;

    while (c->bytes > c->budget && c->tail) {
        struct imgcache_entry *victim = unindex_locked(c, c->tail);
        if (victim) {
            victim->hnext = dead;
            dead = victim;
        }
    }
    return dead;
}

/* Wake every waiter of e (taken off it under the lock) and destroy the evicted entries. */
static void finish(struct waiter *w, struct imgcache_entry *dead)
{
    while (w) {
        struct waiter *next = w->next;
        w->wake(w->arg);
        free(w);
        w = next;
    }
    while (dead) {
        struct imgcache_entry *next = dead->hnext;
        entry_destroy(dead);
        dead = next;
    }
}

void imgcache_fill(struct imgcache *c, struct imgcache_entry *e, const void *data, size_t len,
                   imgcache_release_fn release, void *owner, int tag)
{
    struct imgcache_entry *dead = NULL;

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

void imgcache_fail(struct imgcache *c, struct imgcache_entry *e, int err, const char *msg)
{
    struct imgcache_entry *dead = NULL;

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

void imgcache_put(struct imgcache_entry *e)
{
    if (!e)
        return;
    struct imgcache *c = e->cache;
    pthread_mutex_lock(&c->lock);
    struct imgcache_entry *dead = unref_locked(e);
    pthread_mutex_unlock(&c->lock);
    if (dead)
        entry_destroy(dead);
}

int imgcache_entry_result(const struct imgcache_entry *e, const void **data, size_t *len, int *tag,
                          const char **msg)
{
    /* Fields are written once under the lock before the waiters are woken, and never again. */
    *data = e->data;
    *len = e->len;
    *tag = e->tag;
    *msg = e->msg;
    return e->state == ENTRY_FAILED ? e->err : 0;
}

void imgcache_get_stats(struct imgcache *c, struct imgcache_stats *out)
{
    pthread_mutex_lock(&c->lock);
    out->bytes = c->bytes;
    out->entries = c->entries;
    out->hits = c->hits;
    out->misses = c->misses;
    out->coalesced = c->coalesced;
    pthread_mutex_unlock(&c->lock);
}
