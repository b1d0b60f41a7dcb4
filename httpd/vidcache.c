/* httpd/vidcache.c: results on disk, renamed into place, least recently used out first (see
 * vidcache.h). Everything is opened beneath the folder's descriptors (openat, no symlinks
 * followed); the only state in memory is the total, which the folder can always give again. */
#include "vidcache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#define TOUCH_AFTER_S 60 /* a result's last use is written at most this often */
#define KEEP_NUM 9       /* after an eviction the total is under KEEP_NUM / KEEP_DEN of the */
#define KEEP_DEN 10      /* budget, so each commit does not evict again */
#define MAX_EVICT 16384  /* results one eviction looks at (1.6 MB of names) */

struct vidcache {
    char dir[PATH_MAX];
    bool private_dir; /* made by us: removed whole at the end */
    int dir_fd, tmp_fd, res_fd, lock_fd;
    uint64_t budget;
    atomic_uint_fast64_t seq; /* temporary names */
    pthread_mutex_t lock;     /* guards bytes, entries, evicted; never held across I/O */
    uint64_t bytes, entries, evicted;
    pthread_mutex_t evict_lock; /* one eviction at a time (held across its unlinks: it only
                                 * ever makes committing jobs wait for each other) */
};

/* ---- Files and folders --------------------------------------------------------------------- */

/* The size of entry name in dirfd: a file's, or the sum of a folder's files. */
static uint64_t entry_size(int parent, const char *name, struct stat *st)
{
    uint64_t total = 0;
    struct dirent *e;
    struct stat fst;

    if (fstatat(parent, name, st, AT_SYMLINK_NOFOLLOW))
        return 0;
    if (!S_ISDIR(st->st_mode))
        return (uint64_t)st->st_size;
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    while (d && (e = readdir(d)) != NULL)
        if (e->d_name[0] != '.' && fstatat(dirfd(d), e->d_name, &fst, AT_SYMLINK_NOFOLLOW) == 0)
            total += (uint64_t)fst.st_size;
    if (d)
        closedir(d);
    else if (fd >= 0)
        close(fd);
    return total;
}

/* Remove entry name of dirfd: a file, or a folder of files (what results are). */
static void remove_entry(int parent, const char *name)
{
    struct dirent *e;

    if (unlinkat(parent, name, 0) == 0 || errno != EISDIR)
        return;
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    while (d && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            unlinkat(dirfd(d), e->d_name, 0);
    if (d)
        closedir(d);
    else if (fd >= 0)
        close(fd);
    unlinkat(parent, name, AT_REMOVEDIR);
}

/* Call fn on every entry of dirfd but "." and "..". */
static void each_entry(int dirfd, void (*fn)(void *arg, int dirfd, const char *name), void *arg)
{
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *e;

    while (d && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            fn(arg, dirfd, e->d_name);
    if (d)
        closedir(d);
    else if (fd >= 0)
        close(fd);
}

static void remove_one(void *arg, int dirfd, const char *name)
{
    (void)arg;
    remove_entry(dirfd, name);
}

static void count_one(void *arg, int dirfd, const char *name)
{
    struct vidcache *c = arg;
    struct stat st;

    c->bytes += entry_size(dirfd, name, &st);
    c->entries++;
}

/* ---- Opening the folder -------------------------------------------------------------------- */

static int open_sub(int dirfd, const char *name)
{
    if (mkdirat(dirfd, name, 0700) && errno != EEXIST)
        return -errno;
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    return fd >= 0 ? fd : -errno;
}

/* The folder: made if missing (or a private one made now), opened, locked. */
static int open_dir(struct vidcache *c, const char *dir, char *err)
{
    const char *tmp = getenv("TMPDIR");
    int rc = 0;

    c->private_dir = !dir;
    if (dir) {
        snprintf(c->dir, sizeof(c->dir), "%s", dir);
        rc = mkdir(c->dir, 0700) && errno != EEXIST ? -errno : 0;
    } else {
        snprintf(c->dir, sizeof(c->dir), "%s/blobhttpd-video.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        rc = mkdtemp(c->dir) ? 0 : -errno;
    }
    if (rc == 0)
        c->dir_fd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rc == 0 && c->dir_fd >= 0)
        c->lock_fd = openat(c->dir_fd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (rc == 0 && c->lock_fd < 0)
        rc = -errno;
    if (rc) {
        snprintf(err, VIDCACHE_ERR_LEN, "cannot use video cache %.200s: %s", c->dir, strerror(-rc));
        return rc;
    }
    if (flock(c->lock_fd, LOCK_EX | LOCK_NB)) {
        snprintf(err, VIDCACHE_ERR_LEN, "video cache %.200s is in use by another blobhttpd",
                 c->dir);
        return -EBUSY;
    }
    return 0;
}

struct vidcache *vidcache_new(const char *dir, uint64_t budget, char err[VIDCACHE_ERR_LEN])
{
    struct vidcache *c = calloc(1, sizeof(*c));

    if (!c) {
        snprintf(err, VIDCACHE_ERR_LEN, "out of memory");
        return NULL;
    }
    *c = (struct vidcache){
        .dir_fd = -1, .tmp_fd = -1, .res_fd = -1, .lock_fd = -1, .budget = budget};
    pthread_mutex_init(&c->lock, NULL);
    pthread_mutex_init(&c->evict_lock, NULL);
    if (open_dir(c, dir, err))
        goto out_free;
    c->tmp_fd = open_sub(c->dir_fd, "tmp");
    c->res_fd = c->tmp_fd < 0 ? c->tmp_fd : open_sub(c->dir_fd, "res");
    if (c->res_fd < 0) {
        snprintf(err, VIDCACHE_ERR_LEN, "cannot use video cache %.200s: %s", c->dir,
                 strerror(-c->res_fd));
        goto out_free;
    }
    each_entry(c->tmp_fd, remove_one, NULL); /* what a stopped or crashed server left */
    each_entry(c->res_fd, count_one, c);
    return c;

out_free:
    vidcache_free(c);
    return NULL;
}

static void close_fd(int fd)
{
    if (fd >= 0)
        close(fd);
}

void vidcache_free(struct vidcache *c)
{
    if (!c)
        return;
    if (c->tmp_fd >= 0)
        each_entry(c->tmp_fd, remove_one, NULL);
    if (c->private_dir && c->res_fd >= 0)
        each_entry(c->res_fd, remove_one, NULL);
    if (c->private_dir && c->dir_fd >= 0) {
        unlinkat(c->dir_fd, "tmp", AT_REMOVEDIR);
        unlinkat(c->dir_fd, "res", AT_REMOVEDIR);
        unlinkat(c->dir_fd, "lock", 0);
        rmdir(c->dir);
    }
    close_fd(c->tmp_fd);
    close_fd(c->res_fd);
    close_fd(c->lock_fd); /* unlocks */
    close_fd(c->dir_fd);
    pthread_mutex_destroy(&c->evict_lock);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* ---- Results ------------------------------------------------------------------------------- */

void vidcache_name(const char *key, size_t klen, const char *ext, char out[VIDCACHE_NAME_LEN])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    size_t n = 0;

    if (!EVP_Digest(key, klen, md, &mdlen, EVP_sha256(), NULL))
        mdlen = 0; /* cannot happen with OpenSSL's own SHA-256; the name is then just ".ext" */
    for (unsigned i = 0; i < mdlen && n + 2 < VIDCACHE_NAME_LEN; i++) {
        out[n++] = hex[md[i] >> 4];
        out[n++] = hex[md[i] & 15];
    }
    snprintf(out + n, VIDCACHE_NAME_LEN - n, ".%s", ext);
}

/* Record a use of res now, unless one was recorded in the last minute. */
static void touch(int res_fd, const char *res, const struct stat *st)
{
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    if (now.tv_sec - st->st_mtim.tv_sec >= TOUCH_AFTER_S)
        utimensat(res_fd, res, NULL, AT_SYMLINK_NOFOLLOW);
}

int vidcache_open(struct vidcache *c, const char *res, const char *name, struct stat *st)
{
    struct stat entry;
    int dirfd = -1, fd;

    if (name) {
        dirfd = openat(c->res_fd, res, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dirfd < 0)
            return errno == ENOTDIR ? -ENOENT : -errno;
    }
    fd = openat(name ? dirfd : c->res_fd, name ? name : res, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0 && (fstat(fd, st) || !S_ISREG(st->st_mode))) {
        close(fd);
        fd = -ENOENT;
    } else if (fd < 0) {
        fd = errno == ELOOP ? -ENOENT : -errno;
    }
    if (name && fd == -ENOENT)
        fd = -ENODATA; /* the package is there, without that file */
    if (fd >= 0 && (!name || fstat(dirfd, &entry) == 0))
        touch(c->res_fd, res, name ? &entry : st);
    close_fd(dirfd);
    return fd;
}

int vidcache_begin(struct vidcache *c, bool folder, const char *ext, char path[VIDCACHE_PATH_MAX])
{
    char name[64];
    int rc = 0;

    snprintf(name, sizeof(name), "%d-%llu.%s", (int)getpid(),
             (unsigned long long)atomic_fetch_add(&c->seq, 1), ext);
    if (folder) {
        rc = mkdirat(c->tmp_fd, name, 0755) ? -errno : 0;
    } else {
        int fd = openat(c->tmp_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        rc = fd < 0 ? -errno : 0;
        close_fd(fd);
    }
    if (rc == 0 &&
        snprintf(path, VIDCACHE_PATH_MAX, "%s/tmp/%s", c->dir, name) >= VIDCACHE_PATH_MAX)
        rc = -ENAMETOOLONG;
    return rc;
}

/* The name of tmp within tmp/, or NULL when tmp is not one of ours. */
static const char *tmp_name(const struct vidcache *c, const char *tmp)
{
    size_t n = strlen(c->dir);

    if (strncmp(tmp, c->dir, n) != 0 || strncmp(tmp + n, "/tmp/", 5) != 0 ||
        strchr(tmp + n + 5, '/'))
        return NULL;
    return tmp + n + 5;
}

void vidcache_abort(struct vidcache *c, const char *tmp)
{
    const char *name = tmp_name(c, tmp);

    if (name && *name)
        remove_entry(c->tmp_fd, name);
}

/* ---- Eviction ------------------------------------------------------------------------------ */

struct victim {
    struct timespec used;
    uint64_t size;
    char name[VIDCACHE_NAME_LEN];
};

struct scan {
    struct victim *v;
    size_t n, cap;
    const char *keep;
};

static void collect(void *arg, int dirfd, const char *name)
{
    struct scan *s = arg;
    struct stat st;

    if (s->n == s->cap || strcmp(name, s->keep) == 0 || strlen(name) >= VIDCACHE_NAME_LEN)
        return;
    s->v[s->n].size = entry_size(dirfd, name, &st);
    s->v[s->n].used = st.st_mtim;
    snprintf(s->v[s->n].name, VIDCACHE_NAME_LEN, "%s", name);
    s->n++;
}

static int older_first(const void *a, const void *b)
{
    const struct timespec *x = &((const struct victim *)a)->used;
    const struct timespec *y = &((const struct victim *)b)->used;

    if (x->tv_sec != y->tv_sec)
        return x->tv_sec < y->tv_sec ? -1 : 1;
    return x->tv_nsec < y->tv_nsec ? -1 : x->tv_nsec > y->tv_nsec;
}

/* Take the lock's figures: whether bytes is over the budget (then down to KEEP_NUM/KEEP_DEN). */
static bool over(struct vidcache *c, uint64_t *excess)
{
    uint64_t keep = c->budget / KEEP_DEN * KEEP_NUM;

    pthread_mutex_lock(&c->lock);
    bool is_over = c->bytes > c->budget;
    *excess = c->bytes > keep ? c->bytes - keep : 0;
    pthread_mutex_unlock(&c->lock);
    return is_over;
}

/* Remove the least recently used results but keep until excess bytes are gone. */
static void evict(struct vidcache *c, const char *keep)
{
    struct scan s = {.v = NULL, .cap = MAX_EVICT, .keep = keep};
    uint64_t excess, freed = 0, removed = 0;

    pthread_mutex_lock(&c->evict_lock);
    if (over(c, &excess))
        s.v = malloc(sizeof(*s.v) * s.cap);
    if (s.v)
        each_entry(c->res_fd, collect, &s);
    if (s.v)
        qsort(s.v, s.n, sizeof(*s.v), older_first);
    for (size_t i = 0; i < s.n && freed < excess; i++, removed++) {
        remove_entry(c->res_fd, s.v[i].name);
        freed += s.v[i].size;
    }
    free(s.v);
    pthread_mutex_lock(&c->lock);
    c->bytes -= freed < c->bytes ? freed : c->bytes;
    c->entries -= removed < c->entries ? removed : c->entries;
    c->evicted += removed;
    pthread_mutex_unlock(&c->lock);
    pthread_mutex_unlock(&c->evict_lock);
}

int vidcache_commit(struct vidcache *c, const char *tmp, const char *res)
{
    const char *name = tmp_name(c, tmp);
    struct stat st, old;
    uint64_t size, replaced = 0;
    bool existed;

    if (!name || !*name)
        return -EINVAL;
    size = entry_size(c->tmp_fd, name, &st);
    existed = fstatat(c->res_fd, res, &old, AT_SYMLINK_NOFOLLOW) == 0;
    if (existed)
        replaced = entry_size(c->res_fd, res, &old);
    if (renameat(c->tmp_fd, name, c->res_fd, res)) {
        int rc = -errno;
        remove_entry(c->tmp_fd, name);
        return rc == -ENOTEMPTY || rc == -EEXIST ? 0 : rc; /* the same package, already there */
    }
    pthread_mutex_lock(&c->lock);
    c->bytes = c->bytes + size > replaced ? c->bytes + size - replaced : 0;
    c->entries += existed ? 0 : 1;
    pthread_mutex_unlock(&c->lock);
    evict(c, res);
    return 0;
}

void vidcache_get_stats(struct vidcache *c, struct vidcache_stats *out)
{
    pthread_mutex_lock(&c->lock);
    *out = (struct vidcache_stats){c->bytes, c->budget, c->entries, c->evicted};
    pthread_mutex_unlock(&c->lock);
}
