/* Unit tests of fs/cache.c over an in-memory stand-in for the Blob calls it makes (blob_list
 * with delimiter '/', blob_list_flat, blob_head): names, collisions, ETag versions, TTLs,
 * what each lookup costs, lookup references and kernel notifications. */
#include "blob.h"
#include "cache.h"

#include "check.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>

/* ---- the stand-in service ---- */

struct stored {
    char name[300];
    off_t size;
    char etag[32];
    bool folder;
};

static struct stored store[256];
static size_t nstore;
static unsigned page_size = 5000;
static int list_calls, head_calls, flat_calls;
static unsigned flat_max[64]; /* the page size each flat listing asked for */

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct stored *)a)->name, ((const struct stored *)b)->name);
}

static void put(const char *name, off_t size, const char *etag)
{
    size_t i = 0;

    while (i < nstore && strcmp(store[i].name, name) != 0)
        i++;
    if (i == nstore)
        nstore++;
    snprintf(store[i].name, sizeof(store[i].name), "%s", name);
    snprintf(store[i].etag, sizeof(store[i].etag), "%s", etag);
    store[i].size = size;
    store[i].folder = false;
    qsort(store, nstore, sizeof(store[0]), by_name);
}

static void put_folder_marker(const char *name)
{
    put(name, 0, "0xF");
    for (size_t i = 0; i < nstore; i++)
        store[i].folder = store[i].folder || strcmp(store[i].name, name) == 0;
}

static void del(const char *name)
{
    for (size_t i = 0; i < nstore; i++) {
        if (strcmp(store[i].name, name) == 0) {
            store[i] = store[--nstore];
            break;
        }
    }
    qsort(store, nstore, sizeof(store[0]), by_name);
}

/* What List Blobs with delimiter '/' answers: blobs, and prefixes once each, in order. */
static size_t listing(const char *prefix, struct blob_item *items)
{
    size_t n = 0, plen = strlen(prefix);

    for (size_t i = 0; i < nstore; i++) {
        if (strncmp(store[i].name, prefix, plen) != 0)
            continue;
        const char *slash = strchr(store[i].name + plen, '/');
        struct blob_item *it = &items[n];
        memset(it, 0, sizeof(*it));
        if (slash) {
            it->name = strndup(store[i].name, (size_t)(slash - store[i].name) + 1);
            if (n > 0 && strcmp(items[n - 1].name, it->name) == 0) {
                free(it->name);
                continue;
            }
            it->is_prefix = true;
        } else {
            it->name = strdup(store[i].name);
            it->size = store[i].size;
            it->is_folder = store[i].folder;
            it->mtime = 1000;
            snprintf(it->etag, sizeof(it->etag), "%s", store[i].etag);
        }
        n++;
    }
    return n;
}

int blob_list(struct blob_client *c, const char *prefix, unsigned max_results, blob_page_fn fn,
              void *arg)
{
    struct blob_item items[256];
    size_t n = listing(prefix, items), per = max_results ? max_results : page_size;
    char marker[] = "next";
    int ret = 0;

    (void)c;
    for (size_t i = 0; i < n && ret == 0; i += per) {
        struct blob_page page = {.item = items + i, .n = n - i < per ? n - i : per};
        page.next_marker = i + per < n ? marker : NULL;
        list_calls++;
        ret = fn(arg, &page);
    }
    if (n == 0)
        list_calls++;
    for (size_t i = 0; i < n; i++)
        free(items[i].name);
    return ret < 0 ? ret : 0;
}

/* What List Blobs without delimiter answers: full names from prefix on, one page. */
int blob_list_flat(struct blob_client *c, const char *prefix, unsigned max_results,
                   struct blob_page *out)
{
    size_t plen = strlen(prefix), max = max_results ? max_results : 5000;

    (void)c;
    memset(out, 0, sizeof(*out));
    list_calls++;
    if (flat_calls < 64)
        flat_max[flat_calls] = max_results;
    flat_calls++;
    out->item = calloc(nstore + 1, sizeof(*out->item));
    for (size_t i = 0; out->item && i < nstore; i++) {
        if (strncmp(store[i].name, prefix, plen) != 0)
            continue;
        if (out->n == max) {
            out->next_marker = strdup("next");
            break;
        }
        struct blob_item *it = &out->item[out->n++];
        it->name = strdup(store[i].name);
        it->size = store[i].size;
        it->is_folder = store[i].folder;
        it->mtime = 1000;
        snprintf(it->etag, sizeof(it->etag), "%s", store[i].etag);
    }
    return out->item ? 0 : -ENOMEM;
}

int blob_head(struct blob_client *c, const char *name, struct blob_attr *out)
{
    (void)c;
    head_calls++;
    for (size_t i = 0; i < nstore; i++) {
        if (strcmp(store[i].name, name) == 0) {
            memset(out, 0, sizeof(*out));
            out->size = store[i].size;
            out->is_folder = store[i].folder;
            snprintf(out->etag, sizeof(out->etag), "%s", store[i].etag);
            return 0;
        }
    }
    return -ENOENT;
}

/* ---- notifications ---- */

static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static char seen[32][64];
static size_t nseen;

/* While closed, the notice about the name "hold" blocks the cache's thread in record(). */
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static bool gate_closed, gate_reached;

static void record(void *arg, uint64_t parent, const char *name, uint64_t ino)
{
    (void)arg;
    pthread_mutex_lock(&seen_lock);
    if (name && strcmp(name, "hold") == 0) {
        gate_reached = true;
        pthread_cond_broadcast(&gate_cv);
        while (gate_closed)
            pthread_cond_wait(&gate_cv, &seen_lock);
    }
    if (nseen < 32)
        snprintf(seen[nseen++], sizeof(seen[0]), "%llu/%s",
                 (unsigned long long)(name ? parent : ino), name ? name : "*");
    pthread_mutex_unlock(&seen_lock);
}

static bool notified(const char *what)
{
    for (int tries = 0; tries < 200; tries++) { /* the cache's thread tells, soon */
        pthread_mutex_lock(&seen_lock);
        bool found = false;
        for (size_t i = 0; i < nseen && !found; i++)
            found = strcmp(seen[i], what) == 0;
        pthread_mutex_unlock(&seen_lock);
        if (found)
            return true;
        nanosleep(&(struct timespec){.tv_nsec = 10000000}, NULL);
    }
    return false;
}

static bool was_seen(const char *what)
{
    pthread_mutex_lock(&seen_lock);
    bool found = false;
    for (size_t i = 0; i < nseen && !found; i++)
        found = strcmp(seen[i], what) == 0;
    pthread_mutex_unlock(&seen_lock);
    return found;
}

/* ---- tests ---- */

static struct cache *make(double ttl, double negative, bool can_list)
{
    struct cache_opts o = {.attr_timeout = ttl,
                           .negative_timeout = negative,
                           .can_list = can_list,
                           .root = "",
                           .mount_time = 1};
    return cache_new(&o, NULL);
}

static int64_t look(struct cache *c, uint64_t parent, const char *name, struct cache_entry *e)
{
    int err = cache_lookup(c, parent, name, e);
    return err ? err : (int64_t)e->ino;
}

static size_t dir_names(struct cache *c, uint64_t ino, char *out, size_t cap)
{
    struct cache_dir *d;
    bool keep;
    size_t n = 0;

    out[0] = '\0';
    if (cache_opendir(c, ino, &d, &keep) != 0)
        return (size_t)-1;
    for (size_t i = 0; i < cache_dir_size(d); i++) {
        const char *name;
        struct cache_entry e;
        if (cache_dir_entry(c, d, i, false, &name, &e) == 0) {
            size_t len = strlen(out);
            snprintf(out + len, cap - len, "%s%s%s", len ? " " : "", name, e.is_dir ? "/" : "");
            n++;
        }
    }
    cache_dir_free(d);
    return n;
}

static void test_names(void)
{
    struct cache *c = make(60, 5, true);
    struct cache_entry e;
    char names[512];
    char long_name[300];

    nstore = 0;
    put("a", 3, "0x1");   /* a blob beside a folder of the same name */
    put("a-1", 1, "0x2"); /* sorts between "a" and "a/" */
    put("a/x", 1, "0x3");
    put_folder_marker("m"); /* an hdi_isfolder marker beside its folder */
    put("m/y", 1, "0x4");
    put("d/", 0, "0x5"); /* a folder marker ending in '/' */
    put("bad/../x", 1, "0x6");
    put("dbl//x", 1, "0x7");
    put("sp ace #?&%+\xC3\xA9", 5, "0x8");
    memset(long_name, 'L', 256);
    long_name[256] = '\0';
    put(long_name, 1, "0x9");
    page_size = 2; /* "a" and "a/" on different pages */
    list_calls = 0;
    ok(dir_names(c, CACHE_ROOT_INO, names, sizeof(names)) == 7, "the root lists 7 names");
    ok_str(names, "a/ a-1 bad/ d/ dbl/ m/ sp ace #?&%+\xC3\xA9", "folders win, once each");
    ok(list_calls == 5, "one List call per page (%d)", list_calls);
    ok(dir_names(c, (uint64_t)look(c, 1, "bad", &e), names, sizeof(names)) == 0,
       "a '..' segment is hidden");
    ok(dir_names(c, (uint64_t)look(c, 1, "dbl", &e), names, sizeof(names)) == 0,
       "an empty segment is hidden");
    ok(dir_names(c, (uint64_t)look(c, 1, "d", &e), names, sizeof(names)) == 0,
       "a folder's own marker is no entry");
    list_calls = 0;
    ok(look(c, 1, "a", &e) > 0 && e.is_dir, "a is a folder");
    ok(look(c, 1, "a-1", &e) > 0 && !e.is_dir && e.size == 1, "a-1 is a file");
    ok(look(c, 1, "nope", &e) == -ENOENT && e.timeout == 5, "a missing name, briefly");
    ok(list_calls == 0, "all answered from the listing");
    ok(dir_names(c, (uint64_t)look(c, 1, "a", &e), names, sizeof(names)) == 1, "a/ holds one");
    ok_str(names, "x", "a/x");
    page_size = 5000;
    cache_free(c);
}

static void test_versions(void)
{
    struct cache *c = make(0, 0, true); /* everything expires at once */
    struct cache_entry e, e2;
    struct cache_file f;

    nstore = 0;
    put("f", 4, "0xA");
    ok(cache_start(c, record, NULL) == 0, "the cache's thread starts");
    int64_t v1 = look(c, 1, "f", &e);
    ok(v1 > 0 && e.size == 4, "f found by a one-name listing");
    ok(look(c, 1, "f", &e) == v1, "the same version keeps its inode");
    put("f", 4, "0xB"); /* same size, new content */
    char names[64];
    ok(dir_names(c, 1, names, sizeof(names)) == 1, "a listing sees the new version");
    ok(notified("1/f"), "and the kernel, which holds the old entry, is told to forget it");
    int64_t v2 = look(c, 1, "f", &e);
    ok(v2 > 0 && v2 != v1, "a new ETag, even at the same size, is a new inode");
    ok(cache_open(c, (uint64_t)v1, &f) == -ESTALE, "opening the old version: ESTALE");
    ok(cache_open(c, (uint64_t)v2, &f) == 0 && strcmp(f.etag, "0xB") == 0 && f.size == 4,
       "the new version opens");
    cache_file_release(&f);
    ok(cache_getattr(c, (uint64_t)v1, &e2) == 0 && e2.timeout == 0,
       "the old inode keeps its attributes, untrusted");
    cache_stale(c, (uint64_t)v2);
    ok(cache_open(c, (uint64_t)v2, &f) == -ESTALE, "a version a read found changed: ESTALE");
    ok(look(c, 1, "f", &e) == v2, "looked up again, the unchanged ETag keeps its inode");
    ok(cache_open(c, (uint64_t)v2, &f) == 0, "and it opens again");
    cache_file_release(&f);
    del("f");
    ok(look(c, 1, "f", &e) == -ENOENT, "a deleted blob is gone");
    cache_forget(c, (uint64_t)v1, 2);
    ok(cache_getattr(c, (uint64_t)v1, &e2) == -ENOENT, "forgotten by the kernel, it is freed");
    ok(cache_getattr(c, (uint64_t)v2, &e2) == 0, "still held by the kernel, it stays");
    cache_free(c);
}

/* Notices go out late. One about a version that left its name must not reach the kernel once
 * the kernel holds the name's next version: dropping that entry would evict the new inode and
 * its cached pages (a warm re-read fetched the whole blob again, seen in
 * it_blobfs_consistency). The cache's thread is held inside an earlier notice meanwhile. */
static void test_late_notice(void)
{
    struct cache *c = make(0, 0, true);
    struct cache_entry e;

    nstore = 0;
    put("hold", 1, "0x1");
    put("g", 4, "0xA");
    put("last", 1, "0x2");
    ok(cache_start(c, record, NULL) == 0, "the cache's thread starts");
    int64_t hold = look(c, 1, "hold", &e), v1 = look(c, 1, "g", &e), last = look(c, 1, "last", &e);
    pthread_mutex_lock(&seen_lock);
    gate_closed = true;
    gate_reached = false;
    pthread_mutex_unlock(&seen_lock);
    cache_stale(c, (uint64_t)hold);
    pthread_mutex_lock(&seen_lock);
    while (!gate_reached)
        pthread_cond_wait(&gate_cv, &seen_lock);
    pthread_mutex_unlock(&seen_lock);
    cache_stale(c, (uint64_t)v1); /* a read found g changed: its entry is to go */
    put("g", 4, "0xB");
    int64_t v2 = look(c, 1, "g", &e); /* the kernel looks g up again before the notice is out */
    ok(v1 > 0 && v2 > 0 && v2 != v1, "g's next version has its own inode");
    pthread_mutex_lock(&seen_lock);
    gate_closed = false;
    pthread_cond_broadcast(&gate_cv);
    pthread_mutex_unlock(&seen_lock);
    cache_stale(c, (uint64_t)last);
    ok(notified("1/last"), "the notices queued before 'last' are all out");
    ok(was_seen("1/hold"), "a notice about a name nobody looked up again goes out");
    ok(!was_seen("1/g"), "the notices about g's old version do not (the kernel holds the new one)");
    cache_free(c);
}

static void test_lookup_costs(void)
{
    struct cache *c = make(60, 0, true);
    struct cache_entry e;
    char names[256];

    nstore = 0;
    put("p/q/r.txt", 7, "0x1");
    put("p/q.txt", 1, "0x2");
    put("p/q-x/s", 1, "0x3");
    list_calls = 0;
    int64_t p = look(c, 1, "p", &e);
    int64_t q = p > 0 ? look(c, (uint64_t)p, "q", &e) : -1;
    ok(q > 0 && e.is_dir, "p/q is a folder though p/q-x/ and p/q.txt sort before p/q/");
    ok(look(c, (uint64_t)q, "r.txt", &e) > 0 && e.size == 7, "p/q/r.txt");
    ok(look(c, (uint64_t)p, "q.txt", &e) > 0 && !e.is_dir, "p/q.txt is a file");
    ok(list_calls == 1, "one List call for the whole path, filling its parents (%d)", list_calls);
    ok(look(c, (uint64_t)q, "zz", &e) == -ENOENT && list_calls == 2,
       "a miss in a folder never listed asks the service");
    ok(dir_names(c, (uint64_t)q, names, sizeof(names)) == 1, "listing p/q");
    list_calls = 0;
    ok(look(c, (uint64_t)q, "zz", &e) == -ENOENT && list_calls == 1,
       "past the negative timeout (0), a miss asks again");
    cache_free(c);
}

/* What one lookup on a fresh mount costs, whatever the folder holds: one small flat listing
 * from the name on, and a second of "name/" only when siblings sorting before "name/" fill
 * the first. */
static void test_lookup_siblings(void)
{
    struct cache *c = make(60, 0, true);
    struct cache_entry e;
    char name[32];

    nstore = 0;
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof(name), "s-%02d", i); /* before "s/" */
        put(name, 1, "0x1");
        snprintf(name, sizeof(name), "m-%02d", i);
        put(name, 1, "0x2");
        snprintf(name, sizeof(name), "b-%02d", i);
        put(name, 1, "0x3");
        snprintf(name, sizeof(name), "img%02d.jpg", i); /* after "img07.jpg/" */
        put(name, 2, "0x4");
    }
    put("s/x.txt", 3, "0x5");
    put("b", 4, "0x6");
    put("a", 1, "0x7"); /* a blob beside a folder of its name */
    put("a/in", 1, "0x8");
    put_folder_marker("mk");
    list_calls = flat_calls = 0;
    int64_t sdir = look(c, 1, "s", &e);
    ok(sdir > 0 && e.is_dir && list_calls == 2, "a folder behind 40 siblings: 2 calls (%d)",
       list_calls);
    ok(look(c, (uint64_t)sdir, "x.txt", &e) > 0 && e.size == 3 && list_calls == 2,
       "its file was learnt on the way");
    list_calls = 0;
    ok(look(c, 1, "img07.jpg", &e) > 0 && e.size == 2 && list_calls == 1,
       "a file followed by its siblings: 1 call (%d)", list_calls);
    list_calls = 0;
    ok(look(c, 1, "b", &e) > 0 && !e.is_dir && e.size == 4 && list_calls == 2,
       "a blob whose siblings fill the page: 2 calls, no folder of its name (%d)", list_calls);
    list_calls = 0;
    ok(look(c, 1, "m", &e) == -ENOENT && list_calls == 2, "a miss among siblings: 2 calls");
    list_calls = 0;
    ok(look(c, 1, "zz", &e) == -ENOENT && list_calls == 1, "a miss past everything: 1 call");
    ok(look(c, 1, "a", &e) > 0 && e.is_dir, "a blob and a folder of its name: the folder");
    ok(look(c, 1, "mk", &e) > 0 && e.is_dir, "a folder marker is a folder");
    ok(look(c, 1, "s-05", &e) > 0 && !e.is_dir, "a sibling seen on the way");
    bool small = flat_calls > 0;
    for (int i = 0; i < flat_calls && i < 64; i++)
        small = small && flat_max[i] > 0 && flat_max[i] <= 8;
    ok(small, "every listing asked for at most 8 names (%d listings)", flat_calls);
    cache_free(c);
}

/* The mount probe's small flat page seeds the root: names it settles need no call. */
static void test_seed(void)
{
    struct cache *c = make(60, 0, true);
    struct cache_entry e;

    nstore = 0;
    put("deep/a/b/c.jpg", 9, "0x1");
    put("deep/a/d.jpg", 8, "0x2");
    put("top.txt", 7, "0x3");
    put("zz/", 0, "0x4"); /* a folder's own marker */
    struct blob_page page;
    ok(blob_list_flat(NULL, "", 8, &page) == 0 && page.n == 4, "the probe's page");
    cache_seed(c, &page);
    blob_page_release(&page);
    list_calls = 0;
    int64_t d = look(c, 1, "deep", &e);
    int64_t a = d > 0 ? look(c, (uint64_t)d, "a", &e) : -1;
    int64_t b = a > 0 ? look(c, (uint64_t)a, "b", &e) : -1;
    ok(b > 0 && look(c, (uint64_t)b, "c.jpg", &e) > 0 && e.size == 9, "deep/a/b/c.jpg");
    ok(look(c, 1, "top.txt", &e) > 0 && e.size == 7, "top.txt");
    ok(look(c, 1, "zz", &e) > 0 && e.is_dir, "zz/ is a folder");
    ok(list_calls == 0, "all without a call (%d)", list_calls);
    cache_free(c);
}

static void test_no_list(void)
{
    struct cache *c = make(60, 3, false);
    struct cache_entry e;
    struct cache_dir *d;
    bool keep;

    nstore = 0;
    put("x/y/z.bin", 9, "0x1");
    put_folder_marker("mk");
    head_calls = list_calls = 0;
    int64_t x = look(c, 1, "x", &e);
    ok(x > 0 && e.is_dir && e.timeout <= 3, "no blob 'x': a folder, for the negative timeout");
    int64_t y = look(c, (uint64_t)x, "y", &e);
    ok(look(c, (uint64_t)y, "z.bin", &e) > 0 && !e.is_dir && e.size == 9, "x/y/z.bin is read");
    ok(look(c, 1, "mk", &e) > 0 && e.is_dir, "a folder marker is a folder");
    ok(head_calls == 4 && list_calls == 0, "one HEAD per name, no listing");
    ok(cache_opendir(c, 1, &d, &keep) == -EACCES, "listing is refused");
    cache_free(c);
}

int main(void)
{
    test_names();
    test_versions();
    test_late_notice();
    test_lookup_costs();
    test_lookup_siblings();
    test_seed();
    test_no_list();
    return check_done();
}
