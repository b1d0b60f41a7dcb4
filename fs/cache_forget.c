/* fs/cache_forget.c: forgetting what is cached of one path or of every path under a prefix
 * (cache.h's cache_forget_path(), for blobfs's control socket), and waiting until the kernel
 * has been told (cache_flush_notices()). */
#include "cache_i.h"

#include "blob_name.h"
#include "clock.h"
#include "log.h"

#include <errno.h>
#include <string.h>

/* n's metadata counts as expired, a folder's listing as incomplete, and the kernel is told to
 * drop n's entry. */
static void expire(struct cache *c, struct node *n)
{
    n->expires = 0;
    if (n->dir)
        n->dir->complete = false;
    if (n->current && n->nlookup > 0)
        cache_queue_notice(c, n->parent, n->name, 0);
}

/* The deepest cached folder on the way to rel ("a/b/c"), with *rest pointing at the part of
 * rel below it ("c", or "b/c" when b is not cached). */
static struct node *deepest_dir(struct cache *c, const char *rel, const char **rest)
{
    struct node *d = c->root;
    char leaf[BLOB_NAME_LEAF_MAX + 1];

    *rest = rel;
    for (;;) {
        size_t seg = strcspn(*rest, "/");
        if ((*rest)[seg] != '/' || seg > BLOB_NAME_LEAF_MAX)
            return d;
        memcpy(leaf, *rest, seg);
        leaf[seg] = '\0';
        struct node *n = cache_dent_find(c, d->ino, leaf);
        if (!n || !n->dir)
            return d;
        d = n;
        *rest += seg + 1;
    }
}

/* One name: its node expires, and whatever the kernel holds under that name (also a
 * negative entry: the blob may be new) is dropped. When a folder on the way is not cached,
 * the kernel's entry of its first uncached segment goes instead. */
static size_t forget_one(struct cache *c, const char *rel)
{
    const char *rest;
    struct node *d = deepest_dir(c, rel, &rest);
    char leaf[BLOB_NAME_LEAF_MAX + 1];
    size_t seg = strcspn(rest, "/");

    d->dir->complete = false;
    if (seg == 0 || seg > BLOB_NAME_LEAF_MAX)
        return 0;
    memcpy(leaf, rest, seg);
    leaf[seg] = '\0';
    struct node *n = cache_dent_find(c, d->ino, leaf);
    if (n)
        expire(c, n);
    else
        cache_queue_notice(c, d->ino, leaf, 0);
    return n ? 1 : 0;
}

/* Every cached name whose path (below the mount root) begins with rel; the folder that holds
 * names beginning so counts as not fully listed, and the kernel drops its cached contents. */
static size_t forget_prefix(struct cache *c, const char *rel)
{
    const char *rest;
    struct node *d = deepest_dir(c, rel, &rest);
    size_t skip = c->o.root[0] ? strlen(c->o.root) + 1 : 0, len = strlen(rel), n = 0;

    d->dir->complete = false;
    cache_queue_notice(c, 0, NULL, d->ino);
    for (size_t i = 0; i < c->inos.cap; i++) {
        for (struct node *k = c->inos.slot[i]; k; k = k->next_ino) {
            if (k != c->root && strlen(k->path) >= skip + len &&
                strncmp(k->path + skip, rel, len) == 0) {
                expire(c, k);
                n++;
            }
        }
    }
    return n;
}

size_t cache_forget_path(struct cache *c, const char *path, bool prefix)
{
    while (*path == '/')
        path++;
    pthread_mutex_lock(&c->lock);
    c->forgets++;
    size_t n = prefix ? forget_prefix(c, path) : forget_one(c, path);
    pthread_mutex_unlock(&c->lock);
    log_info("forgot the cached metadata of %s%s (%zu names)", *path || !prefix ? path : "/",
             prefix ? "*" : "", n);
    return n;
}

int cache_flush_notices(struct cache *c, unsigned timeout_ms)
{
    struct timespec ts = clock_deadline_ms(timeout_ms);
    int err = 0;

    pthread_mutex_lock(&c->lock);
    uint64_t want = c->notices;
    while (c->started && !c->stopping && c->told < want && err == 0)
        err = pthread_cond_timedwait(&c->told_cv, &c->lock, &ts);
    bool done = c->told >= want || !c->started;
    pthread_mutex_unlock(&c->lock);
    return done ? 0 : -ETIMEDOUT;
}
