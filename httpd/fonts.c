/* httpd/fonts.c: font files of text layers, copied under their identity (fonts.h). */
#include "fonts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fonts {
    char dir[FONTS_PATH_MAX - 64]; /* room for a copy's name after it */
    pthread_mutex_t lock;          /* guards n */
    unsigned n;                    /* copies made */
};

struct fonts *fonts_new(int *err)
{
    const char *tmp = getenv("TMPDIR");
    struct fonts *f = calloc(1, sizeof(*f));

    if (!f) {
        *err = -ENOMEM;
        return NULL;
    }
    snprintf(f->dir, sizeof(f->dir), "%s/blobhttpd-fonts.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(f->dir)) {
        *err = -errno;
        free(f);
        return NULL;
    }
    pthread_mutex_init(&f->lock, NULL);
    return f;
}

void fonts_free(struct fonts *f)
{
    DIR *d;
    struct dirent *e;

    if (!f)
        return;
    d = opendir(f->dir);
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.' || strncmp(e->d_name, ".tmp", 4) == 0)
            unlinkat(dirfd(d), e->d_name, 0);
    if (d)
        closedir(d);
    rmdir(f->dir);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

/* Copy len bytes of fd into the new file out. Returns 0 or -errno. */
static int copy_file(int fd, off_t len, int out)
{
    char buf[65536];

    for (off_t at = 0; at < len;) {
        ssize_t n = pread(fd, buf, sizeof(buf), at);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO; /* shorter than its stat: it changed */
        for (ssize_t w = 0; w < n;) {
            ssize_t k = write(out, buf + w, (size_t)(n - w));

            if (k < 0)
                return -errno;
            w += k;
        }
        at += n;
    }
    return 0;
}

/* A copy of fd's file at path: written to a temporary name, then renamed (a copy that fails
 * half-way is never taken; two requests that copy the same file at once rename the same
 * bytes). The lock guards the count alone, never the I/O. */
static int make_copy(struct fonts *f, int fd, const struct stat *st, const char *path)
{
    char tmp[FONTS_PATH_MAX];
    bool full;
    int out, rc;

    snprintf(tmp, sizeof(tmp), "%s/.tmpXXXXXX", f->dir);
    if ((out = mkstemp(tmp)) < 0)
        return -errno;
    rc = copy_file(fd, st->st_size, out);
    if (close(out) && !rc)
        rc = -errno;
    pthread_mutex_lock(&f->lock);
    full = f->n >= FONTS_MAX;
    f->n += !full && !rc;
    pthread_mutex_unlock(&f->lock);
    rc = rc ? rc : full ? -E2BIG : 0;
    if (!rc && rename(tmp, path))
        rc = -errno;
    if (rc)
        unlink(tmp);
    return rc;
}

int fonts_path(struct fonts *f, int fd, const struct stat *st, size_t cap, char out[FONTS_PATH_MAX])
{
    if ((uint64_t)st->st_size > cap)
        return -E2BIG;
    snprintf(out, FONTS_PATH_MAX, "%s/%" PRIx64 "-%" PRIx64 "-%" PRIx64 "-%" PRIx64 ".%09ld",
             f->dir, (uint64_t)st->st_dev, (uint64_t)st->st_ino, (uint64_t)st->st_size,
             (uint64_t)st->st_mtim.tv_sec, (long)st->st_mtim.tv_nsec);
    if (access(out, R_OK) == 0)
        return 0; /* copied for an earlier request */
    return make_copy(f, fd, st, out);
}
