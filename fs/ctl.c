/* fs/ctl.c: the control socket (see ctl.h). One thread answers one client at a time: the
 * clients are few (the node's blobhttpd) and each request is short. */
#include "ctl.h"

#include "cache.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define CTL_IO_TIMEOUT_S 5 /* a client silent this long is dropped */
#define CTL_NOTIFY_MS 5000 /* how long an answer waits for the kernel to be told */

struct ctl {
    int fd;      /* listening */
    int stop[2]; /* a pipe: written by ctl_free() */
    char *path;  /* of the socket, to remove */
    char *mnt;   /* the mount point, absolute */
    struct cache *cache;
    pthread_t thread;
    bool started;
};

/* Whether path names something at or below dir. */
static bool is_below(const char *path, const char *dir)
{
    size_t n = strlen(dir);

    return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* The socket must not be in the mount: its folder's real path is checked. */
static int check_place(const char *path, const char *mnt, char err[CTL_ERR_LEN])
{
    char *dir = strdup(path);
    char *slash = dir ? strrchr(dir, '/') : NULL;
    char *real = NULL;

    if (!dir)
        return -ENOMEM;
    if (slash)
        *slash = '\0';
    real = realpath(slash ? (*dir ? dir : "/") : ".", NULL);
    int rc = real ? 0 : -errno;
    if (!real)
        snprintf(err, CTL_ERR_LEN, "bad --control-socket %s: %s", path, strerror(errno));
    else if (is_below(real, mnt))
        rc = -EINVAL;
    if (rc == -EINVAL)
        snprintf(err, CTL_ERR_LEN, "--control-socket %s is inside the mount %s", path, mnt);
    free(real);
    free(dir);
    return rc;
}

/* Remove a stale socket at path; anything else there is refused. */
static int clear_place(const char *path, char err[CTL_ERR_LEN])
{
    struct stat st;

    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(err, CTL_ERR_LEN, "--control-socket %s exists and is no socket", path);
        return -EEXIST;
    }
    return unlink(path) == 0 ? 0 : -errno;
}

/* A listening socket at path, mode 0600 from the start (umask), so no one else can connect. */
static int listen_at(const char *path, char err[CTL_ERR_LEN])
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};

    if (strlen(path) >= sizeof(sa.sun_path)) {
        snprintf(err, CTL_ERR_LEN, "--control-socket %s: longer than %zu bytes", path,
                 sizeof(sa.sun_path) - 1);
        return -ENAMETOOLONG;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        goto fail;
    mode_t old = umask(077);
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (rc != 0 || chmod(path, 0600) != 0 || listen(fd, 8) != 0)
        goto fail;
    return fd;
fail:
    snprintf(err, CTL_ERR_LEN, "cannot listen on --control-socket %s: %s", path, strerror(errno));
    rc = -errno;
    if (fd >= 0)
        close(fd);
    return rc;
}

struct ctl *ctl_open(const char *path, const char *mountpoint, char err[CTL_ERR_LEN])
{
    struct ctl *ctl = calloc(1, sizeof(*ctl));

    err[0] = '\0';
    if (!ctl)
        goto fail;
    ctl->fd = ctl->stop[0] = ctl->stop[1] = -1;
    if (!(ctl->path = strdup(path)) || !(ctl->mnt = strdup(mountpoint)))
        goto fail;
    if (check_place(path, mountpoint, err) != 0 || clear_place(path, err) != 0)
        goto fail;
    ctl->fd = listen_at(path, err);
    if (ctl->fd < 0)
        goto fail;
    if (pipe2(ctl->stop, O_CLOEXEC) != 0)
        goto fail;
    return ctl;
fail:
    if (!err[0])
        snprintf(err, CTL_ERR_LEN, "--control-socket %s: %s", path, strerror(errno));
    ctl_free(ctl);
    return NULL;
}

/* The path below the mount root that p names, or NULL for an absolute path outside it. */
static const char *relative(const struct ctl *ctl, const char *p)
{
    if (p[0] != '/')
        return p;
    if (!is_below(p, ctl->mnt))
        return NULL;
    return p + strlen(ctl->mnt);
}

/* Answer one line (without its newline) into ans. */
static void answer(struct ctl *ctl, char *line, size_t len, char *ans, size_t cap)
{
    if (len < 8 || memcmp(line, "forget ", 7) != 0 || memchr(line, '\0', len)) {
        snprintf(ans, cap, "error unknown request: want 'forget PATH' or 'forget PREFIX*'\n");
        return;
    }
    char *arg = line + 7;
    bool prefix = line[len - 1] == '*';
    if (prefix)
        line[len - 1] = '\0';
    const char *rel = relative(ctl, arg);
    size_t n = rel ? cache_forget_path(ctl->cache, rel, prefix) : 0;
    if (rel && cache_flush_notices(ctl->cache, CTL_NOTIFY_MS) != 0)
        snprintf(ans, cap, "error the kernel was not told within %d ms\n", CTL_NOTIFY_MS);
    else
        snprintf(ans, cap, "ok %zu\n", n);
}

static bool write_all(int fd, const char *s, size_t len)
{
    while (len > 0) {
        ssize_t w = send(fd, s, len, MSG_NOSIGNAL);
        if (w <= 0)
            return false;
        s += w;
        len -= (size_t)w;
    }
    return true;
}

/* Requests from one client until it hangs up, goes quiet or sends a line too long. */
static void serve_client(struct ctl *ctl, int fd)
{
    struct timeval tv = {.tv_sec = CTL_IO_TIMEOUT_S};
    char buf[CTL_MAX_LINE + 1], ans[128];
    size_t have = 0;

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    for (;;) {
        char *nl = memchr(buf, '\n', have);
        if (!nl && have == CTL_MAX_LINE) {
            write_all(fd, "error line too long\n", 20);
            return;
        }
        if (!nl) {
            ssize_t r = recv(fd, buf + have, CTL_MAX_LINE - have, 0);
            if (r <= 0)
                return;
            have += (size_t)r;
            continue;
        }
        size_t len = (size_t)(nl - buf);
        *nl = '\0';
        if (len > 0 && buf[len - 1] == '\r')
            buf[--len] = '\0';
        answer(ctl, buf, len, ans, sizeof(ans));
        if (!write_all(fd, ans, strlen(ans)))
            return;
        have -= (size_t)(nl + 1 - buf);
        memmove(buf, nl + 1, have);
    }
}

static void *run(void *arg)
{
    struct ctl *ctl = arg;
    struct pollfd pf[2] = {{.fd = ctl->fd, .events = POLLIN},
                           {.fd = ctl->stop[0], .events = POLLIN}};

    for (;;) {
        if (poll(pf, 2, -1) < 0 && errno != EINTR)
            break;
        if (pf[1].revents)
            break;
        if (!(pf[0].revents & POLLIN))
            continue;
        int fd = accept4(ctl->fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0) {
            serve_client(ctl, fd);
            close(fd);
        }
    }
    return NULL;
}

int ctl_start(struct ctl *ctl, struct cache *c)
{
    ctl->cache = c;
    int err = -pthread_create(&ctl->thread, NULL, run, ctl);
    ctl->started = err == 0;
    if (!err)
        log_info("control socket on %s", ctl->path);
    return err;
}

void ctl_free(struct ctl *ctl)
{
    if (!ctl)
        return;
    if (ctl->started) {
        (void)!write(ctl->stop[1], "x", 1);
        pthread_join(ctl->thread, NULL);
    }
    if (ctl->fd >= 0) {
        close(ctl->fd);
        unlink(ctl->path);
    }
    if (ctl->stop[0] >= 0) {
        close(ctl->stop[0]);
        close(ctl->stop[1]);
    }
    free(ctl->path);
    free(ctl->mnt);
    free(ctl);
}
