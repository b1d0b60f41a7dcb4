/* Unit test of httpd/cache (test_http_cache): hits, LRU eviction under a byte budget, references
 * that outlive eviction, single flight (one fill for concurrent misses), failures, the disabled
 * cache. */
#include "check.h"
#include "imgcache.h"

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
static struct imgcache_entry *put_new(struct imgcache *c, const char *key, size_t n, int fill)
{
    struct imgcache_entry *e;
    int rc = imgcache_acquire(c, key, strlen(key), wake, NULL, &e);
    if (rc != IMGCACHE_FILL)
        return NULL;
    char *data = malloc(n);
    memset(data, fill, n);
    imgcache_fill(c, e, data, n, release, data, fill);
    return e;
}

static void test_hit_and_evict(void)
{
    struct imgcache *c = imgcache_new(64 * 1024);
    const void *data;
    size_t len;
    int tag;
    const char *msg;

    atomic_store(&released, 0);
    struct imgcache_entry *a = put_new(c, "a", 20000, 'a');
    ok(a != NULL, "first acquire fills");
    imgcache_put(a);
    struct imgcache_entry *hit = imgcache_get(c, "a", 1);
    ok(hit && imgcache_entry_result(hit, &data, &len, &tag, &msg) == 0 && len == 20000 &&
           tag == 'a' && ((const char *)data)[19999] == 'a',
       "get returns the filled bytes");
    imgcache_put(put_new(c, "b", 20000, 'b'));
    imgcache_put(put_new(c, "c", 20000, 'c'));
    struct imgcache_entry *b = imgcache_get(c, "b", 1); /* recency now: b, c, a */
    ok(b != NULL, "b is kept");
    imgcache_put(b);
    imgcache_put(put_new(c, "d", 20000, 'd')); /* over 64 KiB: the least recent goes */
    ok(imgcache_get(c, "a", 1) == NULL, "a (least recently used) was evicted");
    ok(atomic_load(&released) == 0, "but its bytes live while a reference is held");
    ok(((const char *)data)[0] == 'a', "and stay readable");
    imgcache_put(hit);
    ok(atomic_load(&released) == 1, "freed with the last reference");
    imgcache_put(put_new(c, "e", 20000, 'e'));
    struct imgcache_entry *bb = imgcache_get(c, "b", 1);
    ok(bb != NULL, "b (used recently) stayed");
    imgcache_put(bb);
    ok(imgcache_get(c, "c", 1) == NULL, "c was the next to go");
    struct imgcache_stats st;
    imgcache_get_stats(c, &st);
    ok(st.bytes <= 64 * 1024 && st.entries == 3, "budget held: %zu bytes, %zu entries", st.bytes,
       st.entries);
    imgcache_free(c);
    ok(atomic_load(&released) == 5, "imgcache_free releases what it kept");
}

static void test_too_big_and_failure(void)
{
    struct imgcache *c = imgcache_new(1000);
    struct imgcache_entry *e, *w;
    const void *data;
    size_t len;
    int tag;
    const char *msg;

    e = put_new(c, "huge", 5000, 'h');
    ok(e && imgcache_entry_result(e, &data, &len, &tag, &msg) == 0 && len == 5000,
       "an entry over the budget is still delivered");
    ok(imgcache_get(c, "huge", 4) == NULL, "but not kept");
    imgcache_put(e);
    ok(imgcache_acquire(c, "k", 1, wake, NULL, &e) == IMGCACHE_FILL, "fill k");
    atomic_store(&woken, 0);
    ok(imgcache_acquire(c, "k", 1, wake, NULL, &w) == IMGCACHE_WAIT, "second caller waits");
    imgcache_fail(c, e, -EBADMSG, "not an image");
    ok(atomic_load(&woken) == 2, "both woken by the failure");
    ok(imgcache_entry_result(w, &data, &len, &tag, &msg) == -EBADMSG &&
           strcmp(msg, "not an image") == 0,
       "the waiter sees the error and message");
    imgcache_put(e);
    imgcache_put(w);
    ok(imgcache_acquire(c, "k", 1, wake, NULL, &e) == IMGCACHE_FILL, "a failure is not cached");
    imgcache_fail(c, e, -EIO, NULL);
    imgcache_put(e);
    imgcache_free(c);
}

static void test_disabled(void)
{
    struct imgcache *c = imgcache_new(0);
    struct imgcache_entry *a, *b;

    ok(imgcache_acquire(c, "k", 1, wake, NULL, &a) == IMGCACHE_FILL, "disabled: fill");
    ok(imgcache_acquire(c, "k", 1, wake, NULL, &b) == IMGCACHE_FILL, "disabled: no sharing");
    imgcache_fail(c, a, -EIO, NULL);
    imgcache_fail(c, b, -EIO, NULL);
    imgcache_put(a);
    imgcache_put(b);
    ok(imgcache_get(c, "k", 1) == NULL, "disabled: nothing kept");
    imgcache_free(c);
}

/* Single flight under threads: N concurrent misses of one key, one fill. */
struct racer {
    struct imgcache *c;
    atomic_int *fills;
    int result;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    struct imgcache_entry *e;
    int rc = imgcache_acquire(r->c, "same", 4, wake, NULL, &e);

    if (rc == IMGCACHE_FILL) {
        atomic_fetch_add(r->fills, 1);
        char *data = strdup("result");
        imgcache_fill(r->c, e, data, 7, release, data, 1);
    }
    while (rc == IMGCACHE_WAIT && atomic_load(&woken) == 0)
        sched_yield();
    const void *data;
    size_t len;
    int tag;
    const char *msg;
    r->result =
        rc == IMGCACHE_WAIT && imgcache_entry_result(e, &data, &len, &tag, &msg) == 0 && len == 7
            ? 1
            : rc == IMGCACHE_FILL || rc == IMGCACHE_HIT;
    imgcache_put(e);
    return NULL;
}

static void test_single_flight(void)
{
    struct imgcache *c = imgcache_new(1 << 20);
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
    struct imgcache_stats st;
    imgcache_get_stats(c, &st);
    ok(st.misses == 1 && st.hits + st.coalesced == 15, "stats: 1 miss, 15 hits or coalesced");
    imgcache_free(c);
}

int main(void)
{
    test_hit_and_evict();
    test_too_big_and_failure();
    test_disabled();
    test_single_flight();
    return check_done();
}
