/* fs/cache.h: the inode table and metadata cache of blobfs (ops -> cache -> blob).
 *
 * Every name the kernel sees is a node with an inode number. A blob gets a new inode number
 * whenever its ETag changes, so the kernel never mixes pages of two versions and may keep
 * file data in its page cache for as long as an inode lives. Folders keep theirs.
 *
 * Metadata comes from List Blobs pages (one listing answers readdir and every child's
 * attributes) and is trusted for attr_timeout seconds; a name known to be missing stays
 * missing for negative_timeout seconds. In no-list mode (a SAS token without 'l') names are
 * resolved one by one with Get Blob Properties and a name that is no blob is taken for a
 * folder. A folder and a blob with the same name show as the folder. Names that cannot be
 * file names are hidden, with one log line each.
 *
 * When the cache learns that something the kernel holds went stale (a new ETag, a vanished
 * name, a forget_all), it tells the kernel through the notify callback, called from the
 * cache's own thread and never from inside an operation. All functions are thread-safe;
 * none holds the cache lock while talking to the network. */
#ifndef FS_CACHE_H
#define FS_CACHE_H

#include "blob_xml.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct blob_client;
struct cache;
struct cache_dir;

/* The inode number of the mount root (FUSE_ROOT_ID). */
#define CACHE_ROOT_INO 1

struct cache_opts {
    double attr_timeout;     /* seconds a listing or a blob's properties are trusted */
    double negative_timeout; /* seconds a missing name stays missing */
    bool can_list;           /* false: no-list mode */
    const char *root;        /* blob name of the mount root: "" or "dir/sub" (copied) */
    time_t mount_time;       /* mtime of folders until their contents change */
};

/* What the kernel is told about one name. */
struct cache_entry {
    uint64_t ino;
    bool is_dir;
    off_t size;
    time_t mtime;
    double timeout; /* seconds the kernel may trust the entry and its attributes */
};

/* What reading one version of a blob needs; a copy owned by the caller. */
struct cache_file {
    uint64_t ino;
    char *name; /* full blob name */
    char etag[BLOB_ETAG_MAX];
    off_t size;
};

/* Tell the kernel: name != NULL: forget the entry name in folder parent; name == NULL:
 * drop what it caches of inode ino (attributes, data, folder contents). */
typedef void (*cache_notify_fn)(void *arg, uint64_t parent, const char *name, uint64_t ino);

/* Make a cache over blob (transfer none: blob must outlive the cache). Returns (transfer
 * full) a cache to free with cache_free(), or NULL when out of memory. */
struct cache *cache_new(const struct cache_opts *o, struct blob_client *blob);

/* Start the cache's thread: kernel notifications through fn, and the periodic sweep of
 * entries the kernel has forgotten. Returns 0 or -errno. */
int cache_start(struct cache *c, cache_notify_fn fn, void *arg);

/* Stop the thread and free everything. NULL is a no-op. */
void cache_free(struct cache *c);

/* Take the mount probe's first listing page of the root (blob_probe), so the first ls of
 * the root costs nothing. */
void cache_seed(struct cache *c, const struct blob_page *first);

/* Resolve name in folder parent. On success fills *out and takes one lookup reference on
 * out->ino (returned to the cache by cache_forget()). Returns 0, -ENOENT (out->timeout then
 * says how long the kernel may remember that), -ENOTDIR, -EACCES, -EIO. */
int cache_lookup(struct cache *c, uint64_t parent, const char *name, struct cache_entry *out);

/* Drop n lookup references on ino. */
void cache_forget(struct cache *c, uint64_t ino, uint64_t n);

/* The attributes of ino, checked with the service when they have expired. An inode whose
 * blob has changed keeps its old attributes (with timeout 0). Returns 0 or -errno. */
int cache_getattr(struct cache *c, uint64_t ino, struct cache_entry *out);

/* Copy what reading ino needs into *out (release it with cache_file_release()). Returns 0,
 * -EISDIR, or -ESTALE when ino's blob is known to have changed: the kernel then looks the
 * name up again and opens the new version. */
int cache_open(struct cache *c, uint64_t ino, struct cache_file *out);

void cache_file_release(struct cache_file *f);

/* A read found that ino's blob is no longer its version: forget it, so the next lookup
 * fetches the new one, and tell the kernel. */
void cache_stale(struct cache *c, uint64_t ino);

/* Treat everything cached as expired and tell the kernel to do the same (SIGHUP). */
void cache_forget_all(struct cache *c);

/* How many names and folders the inode table holds now (for metrics). */
size_t cache_entries(struct cache *c);

/* Snapshot the entries of folder ino for readdir, listing it first unless the last listing
 * is fresh. *keep_cache says whether the kernel's cached copy of the folder (from an earlier
 * opendir) is still right. Returns 0 with (transfer full) *out to free with
 * cache_dir_free(), -ENOTDIR, -EACCES (no-list mode), -EIO. */
int cache_opendir(struct cache *c, uint64_t ino, struct cache_dir **out, bool *keep_cache);

/* Number of entries in a snapshot. */
size_t cache_dir_size(const struct cache_dir *d);

/* Entry i of the snapshot: *name is (transfer none), valid until cache_dir_free(). With ref,
 * takes a lookup reference as cache_lookup() does (readdirplus). Returns 0, or -ENOENT when
 * the entry vanished since the snapshot (skip it). */
int cache_dir_entry(struct cache *c, const struct cache_dir *d, size_t i, bool ref,
                    const char **name, struct cache_entry *out);

void cache_dir_free(struct cache_dir *d);

#endif
