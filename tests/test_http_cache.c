/* Unit test of httpd/imgcache (test_http_cache): hits, LRU eviction under a byte budget,
 * references that outlive eviction, single flight (one fill for concurrent misses), failures,
 * the disabled cache, a table that grows, records set in place, and cancellation when the last
 * waiter leaves. */
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
    ok(st.evictions == 2, "two evictions counted (a, c): %llu", (unsigned long long)st.evictions);
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

/* Many small entries: the table doubles past one entry per bucket and every key still hits. */
static void test_growth(void)
{
    struct imgcache *c = imgcache_new(64u << 20);
    struct imgcache_stats st;
    char key[32];
    int missing = 0;

    imgcache_get_stats(c, &st);
    size_t first = st.buckets;
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        imgcache_put(put_new(c, key, 16, 1));
    }
    imgcache_get_stats(c, &st);
    ok(st.entries == 5000 && st.buckets >= 4096 && st.buckets > first,
       "5000 entries: the table grew from %zu to %zu buckets", first, st.buckets);
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        struct imgcache_entry *e = imgcache_get(c, key, strlen(key));
        missing += !e;
        imgcache_put(e);
    }
    ok(missing == 0, "every key found after growing (%d missing)", missing);
    imgcache_free(c);
}

/* imgcache_set() stores a record at once and replaces the previous one. */
static void test_set(void)
{
    struct imgcache *c = imgcache_new(1 << 20);
    const void *data;
    size_t len;
    int tag, before = atomic_load(&released);
    const char *msg;
    char *a = strdup("first"), *b = strdup("second");

    ok(imgcache_set(c, "r", 1, a, 6, release, a, 1) == 0, "set a record");
    ok(imgcache_set(c, "r", 1, b, 7, release, b, 2) == 0, "set it again");
    ok(atomic_load(&released) == before + 1, "the replaced record was released");
    struct imgcache_entry *e = imgcache_get(c, "r", 1);
    ok(e && imgcache_entry_result(e, &data, &len, &tag, &msg) == 0 && tag == 2 &&
           strcmp(data, "second") == 0,
       "a lookup finds the newer record");
    imgcache_put(e);
    struct imgcache_entry *p;
    imgcache_acquire(c, "p", 1, wake, NULL, &p);
    char *x = strdup("x");
    ok(imgcache_set(c, "p", 1, x, 2, release, x, 0) == -EBUSY, "not over an entry being filled");
    free(x);
    imgcache_fail(c, p, -EIO, NULL);
    imgcache_put(p);
    imgcache_free(c);
}

/* Two clients wait on one fill; the flag is set when the last one leaves, not before; both
 * are still woken; a new caller then starts a fresh fill instead of joining the abandoned one. */
static void test_leave(void)
{
    struct imgcache *c = imgcache_new(1 << 20);
    struct imgcache_entry *e1, *e2, *e3;
    int w1 = 0, w2 = 0, w3 = 0, before = atomic_load(&woken);

    ok(imgcache_acquire(c, "k", 1, wake, &w1, &e1) == IMGCACHE_FILL, "first caller fills");
    ok(imgcache_acquire(c, "k", 1, wake, &w2, &e2) == IMGCACHE_WAIT && e2 == e1,
       "second caller waits on the same entry");
    const atomic_bool *cancel = imgcache_cancel_flag(e1);
    ok(!imgcache_leave(e1, &w1) && !atomic_load(cancel), "one of two leaves: not cancelled");
    ok(!imgcache_leave(e1, &w1) && !atomic_load(cancel), "leaving twice counts once");
    ok(imgcache_leave(e1, &w2) && atomic_load(cancel), "the last one leaves: cancelled");
    ok(imgcache_acquire(c, "k", 1, wake, &w3, &e3) == IMGCACHE_FILL && e3 != e1,
       "a new caller starts a new fill");
    ok(!atomic_load(imgcache_cancel_flag(e3)), "the new fill is not cancelled");
    imgcache_fail(c, e1, -ECANCELED, "client left");
    ok(atomic_load(&woken) == before + 2, "both who left were woken");
    char *d = strdup("ok");
    imgcache_fill(c, e3, d, 3, release, d, 0);
    struct imgcache_entry *hit = imgcache_get(c, "k", 1);
    ok(hit == e3, "the new fill's result is what the key holds");
    imgcache_put(hit);
    imgcache_put(e1);
    imgcache_put(e2);
    imgcache_put(e3);
    imgcache_free(c);
}

int main(void)
{
    test_hit_and_evict();
    test_too_big_and_failure();
    test_disabled();
    test_single_flight();
    test_growth();
    test_set();
    test_leave();
    return check_done();
}
