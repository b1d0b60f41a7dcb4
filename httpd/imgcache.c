/* httpd/imgcache.c: a chained hash table and an LRU list under one mutex (see imgcache.h).
 *
 * An entry is PENDING while its filler works, then READY (in the LRU list, counted against
 * the budget) or FAILED (out of the table). The table holds one reference to every entry it
 * indexes; responses and waiters hold the others. */
#include "imgcache.h"

#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMGCACHE_MSG_LEN 128
#define IMGCACHE_MIN_BUCKETS 256
#define IMGCACHE_MAX_BUCKETS (1u << 24)
#define SIPHASH_KEY_LEN 16

enum entry_state { ENTRY_PENDING, ENTRY_READY, ENTRY_FAILED };

struct waiter {
    imgcache_wake_fn wake;
    void *arg;
    bool left; /* imgcache_leave(): still woken, no longer wants the result */
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
    unsigned live;      /* waiters that have not left */
    atomic_bool cancel; /* every waiter left while PENDING: the filler may stop */
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
    EVP_MAC_CTX *mac; /* SipHash under a random key; read-only, duplicated for each hash */
    size_t nbuckets;  /* a power of two; doubles when nindexed exceeds it */
    size_t nindexed;  /* entries in the table, pending ones included */
    struct imgcache_entry **bucket;
    pthread_mutex_t lock; /* guards everything below and every entry's fields but data */
    struct imgcache_entry *head, *tail; /* LRU list: head most recent, tail least */
    size_t bytes, entries;
    uint64_t hits, misses, coalesced, evictions;
};

/* SipHash-2-4 of the key under the cache's random key, so no client can choose URLs that all
 * land in one chain. OpenSSL's implementation (EVP_MAC "SIPHASH"): a library made for the job;
 * duplicating the pre-keyed context costs under a microsecond per lookup. Returns 0 if OpenSSL
 * fails, which only makes chains longer. */
static uint64_t hash_key(const struct imgcache *c, const char *key, size_t len)
{
    unsigned char out[8];
    size_t outlen = 0;
    uint64_t h = 0;
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(c->mac);

    if (ctx && EVP_MAC_update(ctx, (const unsigned char *)key, len) &&
        EVP_MAC_final(ctx, out, &outlen, sizeof(out)) && outlen == sizeof(out))
        memcpy(&h, out, sizeof(h));
    EVP_MAC_CTX_free(ctx);
    return h;
}

/* A SipHash context with a fresh random key and 64-bit output, or NULL. */
static EVP_MAC_CTX *new_mac(void)
{
    unsigned char key[SIPHASH_KEY_LEN];
    size_t size = 8;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
                           OSSL_PARAM_construct_end()};
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;

    EVP_MAC_free(mac); /* the context keeps its own reference */
    if (ctx &&
        (RAND_bytes(key, sizeof(key)) != 1 || !EVP_MAC_init(ctx, key, sizeof(key), params))) {
        EVP_MAC_CTX_free(ctx);
        ctx = NULL;
    }
    OPENSSL_cleanse(key, sizeof(key));
    return ctx;
}

struct imgcache *imgcache_new(size_t budget)
{
    struct imgcache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->budget = budget;
    c->nbuckets = IMGCACHE_MIN_BUCKETS;
    c->bucket = calloc(c->nbuckets, sizeof(*c->bucket));
    c->mac = new_mac();
    if (!c->bucket || !c->mac) {
        EVP_MAC_CTX_free(c->mac);
        free(c->bucket);
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
    c->nindexed--;
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
    EVP_MAC_CTX_free(c->mac);
    free(c->bucket);
    free(c);
}

struct imgcache_entry *imgcache_get(struct imgcache *c, const char *key, size_t klen)
{
    uint64_t h = hash_key(c, key, klen);

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
    w->left = false;
    w->next = e->waiters;
    e->waiters = w;
    e->live++;
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

/* Double the table (the lock held) while it holds more entries than buckets, so chains stay
 * short however many entries the budget allows. Out of memory: keep the table as it is. */
static void grow_locked(struct imgcache *c)
{
    if (c->nindexed <= c->nbuckets || c->nbuckets >= IMGCACHE_MAX_BUCKETS)
        return;
    size_t n = c->nbuckets * 2;
    struct imgcache_entry **b = calloc(n, sizeof(*b));
    if (!b)
        return;
    for (size_t i = 0; i < c->nbuckets; i++) {
        while (c->bucket[i]) {
            struct imgcache_entry *e = c->bucket[i];
            c->bucket[i] = e->hnext;
            e->hnext = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
        }
    }
    free(c->bucket);
    c->bucket = b;
    c->nbuckets = n;
}

/* Put e in the table, which takes a reference. */
static void index_locked(struct imgcache *c, struct imgcache_entry *e)
{
    e->refs++;
    e->indexed = true;
    e->hnext = c->bucket[e->hash & (c->nbuckets - 1)];
    c->bucket[e->hash & (c->nbuckets - 1)] = e;
    c->nindexed++;
    grow_locked(c);
}

/* A new PENDING entry for key with (wake, arg) waiting, indexed when the cache keeps
 * anything; NULL when out of memory. */
static struct imgcache_entry *start_locked(struct imgcache *c, const char *key, size_t klen,
                                           uint64_t h, imgcache_wake_fn wake, void *arg)
{
    struct imgcache_entry *e = entry_new(c, key, klen, h);

    if (!e || !add_waiter(e, wake, arg)) {
        free(e);
        return NULL;
    }
    e->refs = 1;
    c->misses++;
    if (c->budget)
        index_locked(c, e);
    return e;
}

int imgcache_acquire(struct imgcache *c, const char *key, size_t klen, imgcache_wake_fn wake,
                     void *arg, struct imgcache_entry **out)
{
    uint64_t h = hash_key(c, key, klen);
    struct imgcache_entry *dead = NULL;
    int rc = IMGCACHE_FILL;

    *out = NULL;
    pthread_mutex_lock(&c->lock);
    struct imgcache_entry *e = c->budget ? find_locked(c, key, klen, h) : NULL;
    if (e && e->state == ENTRY_PENDING && atomic_load(&e->cancel)) {
        dead = unindex_locked(c, e); /* being abandoned: a new fill serves the new caller */
        e = NULL;
    }
    if (e)
        rc = join_locked(c, e, wake, arg);
    else if (!(e = start_locked(c, key, klen, h, wake, arg)))
        rc = -ENOMEM;
    if (rc >= 0)
        *out = e;
    pthread_mutex_unlock(&c->lock);
    if (dead)
        entry_destroy(dead);
    return rc;
}

int imgcache_set(struct imgcache *c, const char *key, size_t klen, const void *data, size_t len,
                 imgcache_release_fn release, void *owner, int tag)
{
    uint64_t h = hash_key(c, key, klen);
    struct imgcache_entry *e = entry_new(c, key, klen, h), *old, *dead = NULL;

    if (!e)
        return -ENOMEM;
    pthread_mutex_lock(&c->lock);
    old = c->budget ? find_locked(c, key, klen, h) : NULL;
    if (old && old->state == ENTRY_PENDING) {
        pthread_mutex_unlock(&c->lock);
        free(e);
        return -EBUSY;
    }
    if (old)
        dead = unindex_locked(c, old);
    e->refs = 1;
    if (c->budget)
        index_locked(c, e);
    pthread_mutex_unlock(&c->lock);
    if (dead)
        entry_destroy(dead);
    imgcache_fill(c, e, data, len, release, owner, tag);
    imgcache_put(e);
    return 0;
}

bool imgcache_leave(struct imgcache_entry *e, void *arg)
{
    struct imgcache *c = e->cache;
    bool cancelled = false;

    pthread_mutex_lock(&c->lock);
    for (struct waiter *w = e->waiters; w; w = w->next) {
        if (w->arg == arg && !w->left) {
            w->left = true;
            e->live--;
            break;
        }
    }
    if (e->state == ENTRY_PENDING && e->waiters && e->live == 0) {
        atomic_store(&e->cancel, true);
        cancelled = true;
    }
    pthread_mutex_unlock(&c->lock);
    return cancelled;
}

const atomic_bool *imgcache_cancel_flag(const struct imgcache_entry *e)
{
    return &e->cancel;
}

/* Evict least recently used entries until the budget holds; returns them chained by hnext. */
static struct imgcache_entry *evict_locked(struct imgcache *c)
{
    struct imgcache_entry *dead = NULL;

    while (c->bytes > c->budget && c->tail) {
        c->evictions++;
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
    out->evictions = c->evictions;
    out->buckets = c->nbuckets;
    pthread_mutex_unlock(&c->lock);
}
