/* Unit test of httpd/cache (test_http_cache): hits, LRU eviction under a byte budget, references
 * that outlive eviction, single flight (one fill for concurrent misses), failures, the disabled
 * cache. */
#include "cache.h"
#include "check.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

static atomic_int released, woken;

static void release(void *owner)
{
    free(owner);
    atomic_fetch_add(&released, 1);
}

static void wake(void *arg)
{
    (void)arg;
    atomic_fetch_add(&woken, 1);
}

/* Fill key with n bytes of c; returns the caller's reference. */
static struct cache_entry *put_new(struct cache *c, const char *key, size_t n, int fill)
{
    struct cache_entry *e;
    int rc = cache_acquire(c, key, strlen(key), wake, NULL, &e);
    if (rc != CACHE_FILL)
        return NULL;
    char *data = malloc(n);
    memset(data, fill, n);
    cache_fill(c, e, data, n, release, data, fill);
    return e;
}

static void test_hit_and_evict(void)
{
    struct cache *c = cache_new(64 * 1024);
    const void *data;
    size_t len;
    int tag;
    const char *msg;

    atomic_store(&released, 0);
    struct cache_entry *a = put_new(c, "a", 20000, 'a');
    ok(a != NULL, "first acquire fills");
    cache_put(a);
    struct cache_entry *hit = cache_get(c, "a", 1);
    ok(hit && cache_entry_result(hit, &data, &len, &tag, &msg) == 0 && len == 20000 && tag == 'a' &&
           ((const char *)data)[19999] == 'a',
       "get returns the filled bytes");
    cache_put(put_new(c, "b", 20000, 'b'));
    cache_put(put_new(c, "c", 20000, 'c'));
    struct cache_entry *b = cache_get(c, "b", 1); /* recency now: b, c, a */
    ok(b != NULL, "b is kept");
    cache_put(b);
    cache_put(put_new(c, "d", 20000, 'd')); /* over 64 KiB: the least recent goes */
    ok(cache_get(c, "a", 1) == NULL, "a (least recently used) was evicted");
    ok(atomic_load(&released) == 0, "but its bytes live while a reference is held");
    ok(((const char *)data)[0] == 'a', "and stay readable");
    cache_put(hit);
    ok(atomic_load(&released) == 1, "freed with the last reference");
    cache_put(put_new(c, "e", 20000, 'e'));
    struct cache_entry *bb = cache_get(c, "b", 1);
    ok(bb != NULL, "b (used recently) stayed");
    cache_put(bb);
    ok(cache_get(c, "c", 1) == NULL, "c was the next to go");
    struct cache_stats st;
    cache_get_stats(c, &st);
    ok(st.bytes <= 64 * 1024 && st.entries == 3, "budget held: %zu bytes, %zu entries", st.bytes,
       st.entries);
    cache_free(c);
    ok(atomic_load(&released) == 5, "cache_free releases what it kept");
}

static void test_too_big_and_failure(void)
{
    struct cache *c = cache_new(1000);
    struct cache_entry *e, *w;
    const void *data;
    size_t len;
    int tag;
    const char *msg;

    e = put_new(c, "huge", 5000, 'h');
    ok(e && cache_entry_result(e, &data, &len, &tag, &msg) == 0 && len == 5000,
       "an entry over the budget is still delivered");
    ok(cache_get(c, "huge", 4) == NULL, "but not kept");
    cache_put(e);
    ok(cache_acquire(c, "k", 1, wake, NULL, &e) == CACHE_FILL, "fill k");
    atomic_store(&woken, 0);
    ok(cache_acquire(c, "k", 1, wake, NULL, &w) == CACHE_WAIT, "second caller waits");
    cache_fail(c, e, -EBADMSG, "not an image");
    ok(atomic_load(&woken) == 2, "both woken by the failure");
    ok(cache_entry_result(w, &data, &len, &tag, &msg) == -EBADMSG &&
           strcmp(msg, "not an image") == 0,
       "the waiter sees the error and message");
    cache_put(e);
    cache_put(w);
    ok(cache_acquire(c, "k", 1, wake, NULL, &e) == CACHE_FILL, "a failure is not cached");
    cache_fail(c, e, -EIO, NULL);
    cache_put(e);
    cache_free(c);
}

static void test_disabled(void)
{
    struct cache *c = cache_new(0);
    struct cache_entry *a, *b;

    ok(cache_acquire(c, "k", 1, wake, NULL, &a) == CACHE_FILL, "disabled: fill");
    ok(cache_acquire(c, "k", 1, wake, NULL, &b) == CACHE_FILL, "disabled: no sharing");
    cache_fail(c, a, -EIO, NULL);
    cache_fail(c, b, -EIO, NULL);
    cache_put(a);
    cache_put(b);
    ok(cache_get(c, "k", 1) == NULL, "disabled: nothing kept");
    cache_free(c);
}

/* Single flight under threads: N concurrent misses of one key, one fill. */
struct racer {
    struct cache *c;
    atomic_int *fills;
    int result;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    struct cache_entry *e;
    int rc = cache_acquire(r->c, "same", 4, wake, NULL, &e);

    if (rc == CACHE_FILL) {
        atomic_fetch_add(r->fills, 1);
        char *data = strdup("result");
        cache_fill(r->c, e, data, 7, release, data, 1);
    }
    while (rc == CACHE_WAIT && atomic_load(&woken) == 0)
        sched_yield();
    const void *data;
    size_t len;
    int tag;
    const char *msg;
    r->result = rc == CACHE_WAIT && cache_entry_result(e, &data, &len, &tag, &msg) == 0 && len == 7
                    ? 1
                    : rc == CACHE_FILL || rc == CACHE_HIT;
    cache_put(e);
    return NULL;
}

static void test_single_flight(void)
{
    struct cache *c = cache_new(1 << 20);
    atomic_int fills = 0;
    pthread_t t[16];
    struct racer r[16];

    atomic_store(&woken, 0);
    for (int i = 0; i < 16; i++) {
        r[i] = (struct racer){c, &fills, 0};
        pthread_create(&t[i], NULL, race, &r[i]);
    }
    int good = 0;
    for (int i = 0; i < 16; i++) {
        pthread_join(t[i], NULL);
        good += r[i].result;
    }
    ok(atomic_load(&fills) == 1, "16 concurrent misses, one fill");
    ok(good == 16, "every caller got the result");
    struct cache_stats st;
    cache_get_stats(c, &st);
    ok(st.misses == 1 && st.hits + st.coalesced == 15, "stats: 1 miss, 15 hits or coalesced");
    cache_free(c);
}

int main(void)
{
    test_hit_and_evict();
    test_too_big_and_failure();
    test_disabled();
    test_single_flight();
    return check_done();
}
