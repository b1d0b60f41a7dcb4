/* httpd/origin.c: an origin folder fd and confined opens (see origin.h). */
#include "origin.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define OPEN_FLAGS (O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)

/* An open folder; replaced when its mount dies, freed when the last opener is done with it. */
struct dir {
    int fd;
    unsigned refs; /* under the origin's lock: the origin's own, plus each open in progress */
};

struct origin {
    char *path;
    pthread_mutex_t lock; /* guards cur and every dir's refs */
    struct dir *cur;
    bool mount;             /* the folder was a mount point at startup (a blobfs mount) */
    atomic_bool no_openat2; /* the kernel said ENOSYS once */
};

static int open_dir(const char *path)
{
    int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

/* Whether the folder at fd is the root of a mount: its parent lies on another device. */
static bool is_mount_point(int fd)
{
    struct stat self, parent;

    return fstat(fd, &self) == 0 && fstatat(fd, "..", &parent, 0) == 0 &&
           (self.st_dev != parent.st_dev || self.st_ino == parent.st_ino);
}

static struct dir *dir_new(int fd)
{
    struct dir *d = malloc(sizeof(*d));

    if (!d) {
        close(fd);
        return NULL;
    }
    *d = (struct dir){.fd = fd, .refs = 1};
    return d;
}

/* Drop a reference to d, the lock held; returns d when it must now be closed and freed. */
static struct dir *unref_locked(struct dir *d)
{
    return --d->refs == 0 ? d : NULL;
}

static void dir_free(struct dir *d)
{
    if (d) {
        close(d->fd);
        free(d);
    }
}

struct origin *origin_new(const char *path, int *err)
{
    struct origin *o = calloc(1, sizeof(*o));
    int fd = -ENOMEM;

    if (o && (o->path = strdup(path)))
        fd = open_dir(path);
    if (fd >= 0) {
        o->mount = is_mount_point(fd);
        o->cur = dir_new(fd);
    }
    if (!o || !o->cur) {
        *err = fd < 0 ? fd : -ENOMEM;
        if (o)
            free(o->path);
        free(o);
        return NULL;
    }
    pthread_mutex_init(&o->lock, NULL);
    return o;
}

void origin_free(struct origin *o)
{
    if (!o)
        return;
    dir_free(o->cur); /* every open is done: no other reference is left */
    pthread_mutex_destroy(&o->lock);
    free(o->path);
    free(o);
}

const char *origin_path(const struct origin *o)
{
    return o->path;
}

/* Accept only regular files: a FIFO or device must never be read, a folder is no file. */
static int check_regular(int fd, struct stat *st)
{
    if (fstat(fd, st) != 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    if (!S_ISREG(st->st_mode)) {
        close(fd);
        return -ENOENT;
    }
    return fd;
}

/* The per-segment walk; the last segment is opened with last_flags. */
static int walk(int dirfd, const char *rel, int last_flags)
{
    char seg[256];
    int cur = dirfd;

    for (const char *p = rel;;) {
        size_t len = strcspn(p, "/");
        if (len == 0 || len >= sizeof(seg) || (len <= 2 && strncmp(p, "..", len) == 0))
            len = 0;
        int fd = -EXDEV;
        if (len) {
            memcpy(seg, p, len);
            seg[len] = '\0';
            int flags = p[len] ? O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC : last_flags;
            fd = openat(cur, seg, flags);
            fd = fd < 0 ? -errno : fd;
        }
        if (cur != dirfd)
            close(cur);
        if (fd < 0 || !p[len])
            return fd;
        cur = fd;
        p += len + 1;
    }
}

int origin_open_walk(int dirfd, const char *rel)
{
    return walk(dirfd, rel, OPEN_FLAGS | O_NOFOLLOW);
}

/* rel beneath dirfd, opened with OPEN_FLAGS | extra (O_DIRECTORY for a folder). */
static int open_beneath(struct origin *o, int dirfd, const char *rel, int extra)
{
    struct open_how how = {
        .flags = OPEN_FLAGS | extra,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    };

    if (!atomic_load(&o->no_openat2)) {
        long fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
        if (fd >= 0 || errno != ENOSYS)
            return fd >= 0 ? (int)fd : -errno;
        atomic_store(&o->no_openat2, true);
    }
    return walk(dirfd, rel, OPEN_FLAGS | O_NOFOLLOW | extra);
}

static struct dir *get_dir(struct origin *o)
{
    pthread_mutex_lock(&o->lock);
    struct dir *d = o->cur;
    d->refs++;
    pthread_mutex_unlock(&o->lock);
    return d;
}

static void put_dir(struct origin *o, struct dir *d)
{
    pthread_mutex_lock(&o->lock);
    struct dir *dead = unref_locked(d);
    pthread_mutex_unlock(&o->lock);
    dir_free(dead);
}

/* The mount under the folder died (ENOTCONN) and perhaps came back: open the folder again. A
 * folder that was a mount point must be one again, or it is the empty directory under a
 * lazily unmounted mount, where every file would look missing. Returns a reference to the
 * folder to retry with (a newer one than failed), or NULL while the mount is not back. Every
 * failing request tries again, so a remount is found whatever happened before. */
static struct dir *reopen(struct origin *o, struct dir *failed)
{
    int fd = open_dir(o->path);
    struct dir *fresh = NULL, *dead = NULL, *use = NULL;

    if (fd >= 0 && o->mount && !is_mount_point(fd)) {
        close(fd);
        fd = -ENOTCONN;
    }
    if (fd >= 0)
        fresh = dir_new(fd);
    pthread_mutex_lock(&o->lock);
    if (o->cur != failed) {
        use = o->cur; /* another request reopened it already */
    } else if (fresh) {
        dead = unref_locked(o->cur);
        o->cur = use = fresh;
        fresh = NULL;
    }
    if (use)
        use->refs++;
    pthread_mutex_unlock(&o->lock);
    dir_free(dead);
    dir_free(fresh);
    return use;
}

/* rel beneath the folder; "" is the folder itself (opened for reading, not as O_PATH). */
static int open_rel(struct origin *o, int dirfd, const char *rel, int extra)
{
    if (!rel[0]) {
        int fd = openat(dirfd, ".", OPEN_FLAGS | extra);
        return fd < 0 ? -errno : fd;
    }
    return open_beneath(o, dirfd, rel, extra);
}

/* Open rel confined, retrying once on a folder reopened after its mount died. */
static int open_confined(struct origin *o, const char *rel, int extra)
{
    struct dir *d = get_dir(o);
    int fd = open_rel(o, d->fd, rel, extra);

    if (fd == -ENOTCONN) {
        struct dir *again = reopen(o, d);
        if (again) {
            fd = open_rel(o, again->fd, rel, extra);
            put_dir(o, again);
        }
    }
    put_dir(o, d);
    return fd;
}

int origin_open(struct origin *o, const char *rel, struct stat *st)
{
    int fd = rel[0] ? open_confined(o, rel, 0) : -ENOENT;

    return fd < 0 ? fd : check_regular(fd, st);
}

int origin_open_dir(struct origin *o, const char *rel, struct stat *st)
{
    int fd = open_confined(o, rel, O_DIRECTORY);

    if (fd >= 0 && fstat(fd, st) != 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

int origin_check(struct origin *o)
{
    struct stat st;
    int fd = open_dir(o->path);

    if (fd < 0)
        return fd;
    int rc = fstat(fd, &st) == 0 ? 0 : -errno;
    if (rc == 0 && o->mount && !is_mount_point(fd))
        rc = -ENOTCONN;
    close(fd);
    return rc;
}
