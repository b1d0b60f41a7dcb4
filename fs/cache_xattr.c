/* fs/cache_xattr.c: the read-only extended attributes of a cached name (cache.h's
 * cache_xattr()): what a listing or lookup brought while fresh, else one Get Blob Properties.
 * The names and values themselves are blob_props.c's. */
#include "cache_i.h"

#include "clock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Ask Get Blob Properties for the file ino when what the cache knows of it has expired, and
 * settle the answer as a lookup would (a new ETag is a new node; ino keeps what it was). Called
 * and returns with the lock held. */
static int refresh_props(struct cache *c, uint64_t ino)
{
    struct node *n = cache_ino_find(c, ino);
    struct cache_entry e;
    struct found f;

    if (!n || n->dir || !n->current || n->changed || n->expires > clock_now_s())
        return 0;
    memset(&f, 0, sizeof(f));
    uint64_t parent = n->parent;
    char *path = strdup(n->path), *name = strdup(n->name);
    int err = path && name ? 0 : -ENOMEM;
    if (!err) {
        pthread_mutex_unlock(&c->lock);
        err = blob_head(c->blob, path, &f.attr, &f.owned);
        pthread_mutex_lock(&c->lock);
    }
    f.exists = true;
    f.props = f.owned;
    f.is_dir = f.attr.is_folder && f.attr.size == 0;
    if (!err)
        err = cache_settle(c, parent, name, &f, false, &e);
    blob_props_free(f.owned);
    free(path);
    free(name);
    return err == -ENOENT ? 0 : err; /* gone: the inode keeps what it was */
}

static ssize_t node_xattr(const struct node *n, const char *name, char *buf, size_t size)
{
    struct blob_xattr x = {.is_dir = n->dir != NULL};
    char *prefix = NULL;

    if (n->dir) {
        prefix = cache_list_prefix(n);
        if (!prefix)
            return -ENOMEM;
        x.prefix = prefix;
    } else {
        x.etag = n->attr.etag;
        x.mtime = n->attr.mtime;
        x.props = n->props;
    }
    ssize_t ret = name ? blob_xattr_get(&x, name, buf, size) : blob_xattr_list(&x, buf, size);
    free(prefix);
    return ret;
}

ssize_t cache_xattr(struct cache *c, uint64_t ino, const char *name, char *buf, size_t size)
{
    pthread_mutex_lock(&c->lock);
    int err = refresh_props(c, ino);
    struct node *n = cache_ino_find(c, ino);
    ssize_t ret = err ? err : n ? node_xattr(n, name, buf, size) : -ENOENT;
    pthread_mutex_unlock(&c->lock);
    return ret;
}
