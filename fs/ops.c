/* fs/ops.c: the fuse_lowlevel_ops of blobfs, thin on purpose (see ops.h). */
#include "ops.h"

#include "cache.h"
#include "log.h"
#include "prefetch.h"

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void to_stat(const struct blobfs *fs, const struct cache_entry *e, struct stat *st)
{
    memset(st, 0, sizeof(*st));
    st->st_ino = e->ino;
    st->st_mode = e->is_dir ? S_IFDIR | 0555 : S_IFREG | 0444;
    st->st_nlink = 1; /* unknown, as for btrfs: find must not infer subfolders from it */
    st->st_uid = fs->uid;
    st->st_gid = fs->gid;
    st->st_size = e->size;
    st->st_blksize = OPS_MAX_IO;
    st->st_blocks = (e->size + 511) / 512;
    st->st_atime = st->st_mtime = st->st_ctime = e->mtime;
}

static void to_param(const struct blobfs *fs, const struct cache_entry *e,
                     struct fuse_entry_param *p)
{
    memset(p, 0, sizeof(*p));
    p->ino = e->ino;
    p->attr_timeout = p->entry_timeout = e->timeout;
    to_stat(fs, e, &p->attr);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
    (void)userdata;
    conn->max_read = OPS_MAX_IO;
    conn->max_write = OPS_MAX_IO; /* sets max_pages, hence 1 MiB READs, though we never write */
    conn->max_background = 64;
    conn->congestion_threshold = 48;
    conn->want |= conn->capable & (FUSE_CAP_ASYNC_READ | FUSE_CAP_PARALLEL_DIROPS |
                                   FUSE_CAP_READDIRPLUS | FUSE_CAP_AUTO_INVAL_DATA);
    conn->want &= ~(unsigned)FUSE_CAP_READDIRPLUS_AUTO; /* always plus: primes ls -l */
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    struct blobfs *fs = fuse_req_userdata(req);
    struct fuse_entry_param p;
    struct cache_entry e;

    int err = cache_lookup(fs->cache, parent, name, &e);
    if (err == -ENOENT) {
        memset(&p, 0, sizeof(p));
        p.entry_timeout = e.timeout; /* a negative entry */
        fuse_reply_entry(req, &p);
        return;
    }
    if (err) {
        fuse_reply_err(req, -err);
        return;
    }
    to_param(fs, &e, &p);
    if (fuse_reply_entry(req, &p) != 0)
        cache_forget(fs->cache, e.ino, 1);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
    struct blobfs *fs = fuse_req_userdata(req);

    cache_forget(fs->cache, ino, nlookup);
    fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
    struct blobfs *fs = fuse_req_userdata(req);

    for (size_t i = 0; i < count; i++)
        cache_forget(fs->cache, forgets[i].ino, forgets[i].nlookup);
    fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct blobfs *fs = fuse_req_userdata(req);
    struct cache_entry e;
    struct stat st;

    (void)fi;
    int err = cache_getattr(fs->cache, ino, &e);
    if (err) {
        fuse_reply_err(req, -err);
        return;
    }
    to_stat(fs, &e, &st);
    fuse_reply_attr(req, &st, e.timeout);
}

static struct prefetch_file *file_of(const struct fuse_file_info *fi)
{
    return (struct prefetch_file *)(uintptr_t)fi->fh;
}

/* keep_cache: an inode is one version of a blob, so its cached pages never go stale. */
static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct blobfs *fs = fuse_req_userdata(req);
    struct cache_file f;

    if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
        fuse_reply_err(req, EROFS);
        return;
    }
    int err = cache_open(fs->cache, ino, &f);
    if (err) {
        fuse_reply_err(req, -err);
        return;
    }
    struct prefetch_file *pf = prefetch_open(fs->prefetch, f.name, f.etag, f.size);
    cache_file_release(&f);
    if (!pf) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    fi->fh = (uintptr_t)pf;
    fi->keep_cache = 1;
    fi->noflush = 1;
    if (fuse_reply_open(req, fi) != 0)
        prefetch_close(pf);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
    struct blobfs *fs = fuse_req_userdata(req);
    struct prefetch_span span;

    ssize_t n = prefetch_read(file_of(fi), off, size, &span);
    if (n == -ESTALE)
        cache_stale(fs->cache, ino);
    if (n < 0)
        fuse_reply_err(req, (int)-n);
    else
        fuse_reply_iov(req, span.iov, (int)span.niov);
    prefetch_span_release(&span);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    (void)ino;
    prefetch_close(file_of(fi));
    fuse_reply_err(req, 0);
}

static struct cache_dir *dir_of(const struct fuse_file_info *fi)
{
    return (struct cache_dir *)(uintptr_t)fi->fh;
}

/* cache_readdir: the kernel keeps the folder's entries; keep_cache says whether the copy it
 * has from an earlier opendir is still right. */
static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct blobfs *fs = fuse_req_userdata(req);
    struct cache_dir *d;
    bool keep;

    int err = cache_opendir(fs->cache, ino, &d, &keep);
    if (err) {
        fuse_reply_err(req, -err);
        return;
    }
    fi->fh = (uintptr_t)d;
    fi->cache_readdir = 1;
    fi->keep_cache = keep;
    if (fuse_reply_open(req, fi) != 0)
        cache_dir_free(d);
}

/* Entry off of a folder listing: "." and ".." first, then the snapshot. */
static int dir_entry(struct blobfs *fs, fuse_ino_t ino, const struct cache_dir *d, off_t off,
                     bool plus, const char **name, struct fuse_entry_param *p)
{
    struct cache_entry e;

    memset(p, 0, sizeof(*p));
    if (off < 2) {
        *name = off == 0 ? "." : "..";
        p->attr.st_ino = off == 0 ? ino : CACHE_ROOT_INO; /* ".." unknown; never 0 */
        p->attr.st_mode = S_IFDIR;
        return 0;
    }
    int err = cache_dir_entry(fs->cache, d, (size_t)off - 2, plus, name, &e);
    if (!err)
        to_param(fs, &e, p);
    return err;
}

/* Fill one reply with entries from off on. readdirplus takes a lookup reference per entry
 * (but "." and ".."), given back when the entry does not fit or the reply is lost. */
static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi, bool plus)
{
    struct blobfs *fs = fuse_req_userdata(req);
    size_t total = cache_dir_size(dir_of(fi)) + 2, used = 0, nrefs = 0;
    char *buf = malloc(size);
    fuse_ino_t *refs = calloc(size / 128 + 2, sizeof(*refs));

    for (; buf && refs && off >= 0 && (size_t)off < total; off++) {
        const char *name;
        struct fuse_entry_param p;
        if (dir_entry(fs, ino, dir_of(fi), off, plus, &name, &p))
            continue; /* vanished since opendir */
        size_t room = size - used;
        size_t n = plus ? fuse_add_direntry_plus(req, buf + used, room, name, &p, off + 1)
                        : fuse_add_direntry(req, buf + used, room, name, &p.attr, off + 1);
        bool took = plus && off >= 2;
        if (n > room) {
            if (took)
                cache_forget(fs->cache, p.ino, 1);
            break;
        }
        if (took)
            refs[nrefs++] = p.ino;
        used += n;
    }
    int err = buf && refs ? fuse_reply_buf(req, buf, used) : fuse_reply_err(req, ENOMEM);
    for (size_t i = 0; err && i < nrefs; i++)
        cache_forget(fs->cache, refs[i], 1);
    free(refs);
    free(buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi)
{
    do_readdir(req, ino, size, off, fi, false);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                           struct fuse_file_info *fi)
{
    do_readdir(req, ino, size, off, fi, true);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    (void)ino;
    cache_dir_free(dir_of(fi));
    fuse_reply_err(req, 0);
}

/* The largest extended-attribute reply asked of the cache; a blob's whole record is far
 * smaller (blob_props.h), so no attribute is ever cut. */
#define OPS_XATTR_MAX (64 * 1024)

/* getxattr (name) and listxattr (NULL): size 0 asks for the length only. */
static void reply_xattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
    struct blobfs *fs = fuse_req_userdata(req);
    size_t cap = size < OPS_XATTR_MAX ? size : OPS_XATTR_MAX;
    char *buf = cap ? malloc(cap) : NULL;

    if (cap && !buf) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    ssize_t n = cache_xattr(fs->cache, ino, name, buf, cap);
    if (n < 0)
        fuse_reply_err(req, (int)-n);
    else if (size == 0)
        fuse_reply_xattr(req, (size_t)n);
    else
        fuse_reply_buf(req, buf, (size_t)n);
    free(buf);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
    reply_xattr(req, ino, name, size);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
    reply_xattr(req, ino, NULL, size);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
    struct statvfs st;

    (void)ino;
    memset(&st, 0, sizeof(st));
    st.f_bsize = st.f_frsize = 4096;
    st.f_namemax = 255;
    st.f_flag = ST_RDONLY;
    fuse_reply_statfs(req, &st);
}

static const struct fuse_lowlevel_ops ops = {
    .init = op_init,
    .lookup = op_lookup,
    .forget = op_forget,
    .forget_multi = op_forget_multi,
    .getattr = op_getattr,
    .open = op_open,
    .read = op_read,
    .release = op_release,
    .opendir = op_opendir,
    .readdir = op_readdir,
    .readdirplus = op_readdirplus,
    .releasedir = op_releasedir,
    .statfs = op_statfs,
    .getxattr = op_getxattr,
    .listxattr = op_listxattr,
};

const struct fuse_lowlevel_ops *ops_table(void)
{
    return &ops;
}

void ops_notify(void *arg, uint64_t parent, const char *name, uint64_t ino)
{
    struct blobfs *fs = arg;
    int err;

    if (name)
        err = fuse_lowlevel_notify_inval_entry(fs->se, parent, name, strlen(name));
    else
        err = fuse_lowlevel_notify_inval_inode(fs->se, ino, 0, 0);
    if (err && err != -ENOENT)
        log_debug("cannot tell the kernel to forget %s: %s", name ? name : "an inode",
                  strerror(-err));
}
