/* fs/cache_i.h: the inside of the metadata cache, shared by its files: cache.c (tables,
 * nodes, listings, lookups, the notice thread), cache_xattr.c (extended attributes) and
 * cache_forget.c (forgetting a path for the control socket). Nothing outside fs/cache*.c
 * includes it; the rest of blobfs sees cache.h only. */
#ifndef BLOBFS_CACHE_I_H
#define BLOBFS_CACHE_I_H

#include "blob.h"
#include "blob_props.h"
#include "cache.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct dir {
    struct node *first, *last; /* current children, in the order they were linked */
    double listed;             /* end of the last complete listing; 0: never */
    bool complete;             /* the children are exactly what the service holds */
    bool busy;                 /* a listing is running */
    bool kernel_cached;        /* the kernel may hold a copy of the contents */
    uint64_t pass;             /* number of the latest listing */
    uint64_t version;          /* bumped whenever the set of children changes */
    uint64_t kernel_version;   /* the version the kernel's copy shows */
    time_t mtime;
};

struct node {
    uint64_t ino, parent;     /* parent 0: the root */
    char *name, *path;        /* leaf name; full blob name ("" or "a/b") */
    struct blob_attr attr;    /* files */
    struct blob_props *props; /* files: the rest of what Azure tells (xattrs); may be NULL */
    struct dir *dir;          /* folders */
    bool current, changed;
    bool offline_logged; /* the Archive tier was logged for this version */
    uint64_t nlookup;
    double expires; /* monotonic seconds */
    uint64_t seen;  /* the listing pass that last saw it */
    struct node *next_ino, *next_dent, *prev_sib, *next_sib;
};

struct notice {
    struct notice *next;
    uint64_t parent, ino; /* with a name: the node that left it (0: any); else the inode */
    bool has_name;
    char name[];
};

struct table {
    struct node **slot;
    size_t cap, count;
};

struct cache {
    struct cache_opts o; /* o.root points at root_path */
    char *root_path;
    struct blob_client *blob;
    pthread_mutex_t lock;  /* guards everything below */
    pthread_cond_t listed; /* a folder listing ended */
    pthread_cond_t wake;   /* notices queued, or stopping */
    struct table inos, dents;
    uint64_t next_ino;
    struct node *root;
    struct notice *head, *tail;
    size_t queued;
    uint64_t notices, told; /* notices queued, and delivered, since the start */
    pthread_cond_t told_cv; /* told moved */
    uint64_t forgets;       /* forget_path and forget_all calls: results older are expired */
    bool stopping, started;
    pthread_t thread;
    cache_notify_fn notify;
    void *notify_arg;
};

struct found {
    bool exists, is_dir, guessed;
    bool decided;   /* the listing said enough */
    bool forgotten; /* a forget came while the service was asked: trust it for no time */
    struct blob_attr attr;
    const struct blob_props *props; /* (transfer none): of a page, or owned */
    struct blob_props *owned;       /* what Get Blob Properties gave */
};

/* These are called with c->lock held. */

/* The node of inode ino, or NULL. */
struct node *cache_ino_find(struct cache *c, uint64_t ino);

/* The current node of name in folder parent, or NULL. */
struct node *cache_dent_find(struct cache *c, uint64_t parent, const char *name);

/* Queue a notice for the kernel: with a name, that name in folder parent left node ino (0:
 * whatever it held); without, inode ino's data or contents changed. */
void cache_queue_notice(struct cache *c, uint64_t parent, const char *name, uint64_t ino);

/* The listing prefix of a folder: "" for a root at the container's root, else "path/"
 * (caller frees; NULL when out of memory). */
char *cache_list_prefix(const struct node *d);

/* Make what the service said of name in parent (f) the cache's truth, and fill *out as a
 * lookup answers (a reference taken when ref). Returns 0, -ENOENT or -ENOMEM. */
int cache_settle(struct cache *c, uint64_t parent, const char *name, const struct found *f,
                 bool ref, struct cache_entry *out);

#endif
