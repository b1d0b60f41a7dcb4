/* fs/ops.h: the FUSE side of blobfs. Each lowlevel operation fetches the filesystem from
 * its request, asks the cache or the read-ahead, and replies; write operations are absent,
 * and open refuses anything but reading (the mount is also read-only). */
#ifndef FS_OPS_H
#define FS_OPS_H

#include <stdint.h>
#include <sys/types.h>

struct cache;
struct fuse_lowlevel_ops;
struct fuse_session;
struct prefetch_pool;
struct service;

/* The largest read the kernel is asked to send, and the size of a FUSE request buffer. */
#define OPS_MAX_IO (1024 * 1024)

/* What every operation reaches through fuse_req_userdata(). Filled by main() before the
 * session loop starts; the modules it points to do their own locking. */
struct blobfs {
    struct cache *cache;
    struct prefetch_pool *prefetch;
    struct fuse_session *se; /* for notifications */
    uid_t uid;               /* owner of every file: the mounting user */
    gid_t gid;
    struct service *service; /* main.c's: metrics and readiness (service.h); no operation's */
};

/* The operation table (transfer none: static). */
const struct fuse_lowlevel_ops *ops_table(void);

/* A cache_notify_fn (cache.h) that tells the kernel through fs->se; arg is the struct blobfs.
 * Call it only from a thread that runs no FUSE operation. */
void ops_notify(void *arg, uint64_t parent, const char *name, uint64_t ino);

#endif
