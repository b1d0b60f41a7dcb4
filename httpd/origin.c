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

#define ORIGIN_MAX_REOPEN 64
#define OPEN_FLAGS (O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)

struct origin {
    char *path;
    _Atomic int dirfd;              /* read without the lock; replaced under it */
    pthread_mutex_t lock;           /* guards retired, nretired and the replacement of dirfd */
    int retired[ORIGIN_MAX_REOPEN]; /* replaced fds: another thread may still be using one */
    unsigned nretired;
    atomic_bool no_openat2; /* the kernel said ENOSYS once */
};

static int open_dir(const char *path)
{
    int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

struct origin *origin_new(const char *path, int *err)
{
    struct origin *o = calloc(1, sizeof(*o));
    if (!o) {
        *err = -ENOMEM;
        return NULL;
    }
    o->path = strdup(path);
    int fd = o->path ? open_dir(path) : -ENOMEM;
    if (fd < 0) {
        *err = fd;
        free(o->path);
        free(o);
        return NULL;
    }
    atomic_init(&o->dirfd, fd);
    pthread_mutex_init(&o->lock, NULL);
    return o;
}

void origin_free(struct origin *o)
{
    if (!o)
        return;
    for (unsigned i = 0; i < o->nretired; i++)
        close(o->retired[i]);
    close(atomic_load(&o->dirfd));
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

int origin_open_walk(int dirfd, const char *rel)
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
            int flags =
                p[len] ? O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC : OPEN_FLAGS | O_NOFOLLOW;
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

static int open_beneath(struct origin *o, int dirfd, const char *rel)
{
    struct open_how how = {
        .flags = OPEN_FLAGS,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    };

    if (!atomic_load(&o->no_openat2)) {
        long fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
        if (fd >= 0 || errno != ENOSYS)
            return fd >= 0 ? (int)fd : -errno;
        atomic_store(&o->no_openat2, true);
    }
    return origin_open_walk(dirfd, rel);
}

/* The mount under the folder died and perhaps came back: open the folder again, once per
 * failing fd. Returns the fd to retry with, or -ENOTCONN. */
static int reopen(struct origin *o, int failed)
{
    int fd = -ENOTCONN;

    pthread_mutex_lock(&o->lock);
    if (atomic_load(&o->dirfd) != failed) {
        fd = atomic_load(&o->dirfd);
    } else if (o->nretired < ORIGIN_MAX_REOPEN) {
        int fresh = open_dir(o->path);
        if (fresh >= 0) {
            o->retired[o->nretired++] = failed;
            atomic_store(&o->dirfd, fresh);
            fd = fresh;
        }
    }
    pthread_mutex_unlock(&o->lock);
    return fd;
}

int origin_open(struct origin *o, const char *rel, struct stat *st)
{
    int dirfd = atomic_load(&o->dirfd);
    int fd = open_beneath(o, dirfd, rel);

    if (fd == -ENOTCONN) {
        int again = reopen(o, dirfd);
        if (again >= 0)
            fd = open_beneath(o, again, rel);
    }
    return fd < 0 ? fd : check_regular(fd, st);
}
