/* httpd/accesslog.c: the access log's two formats and its file (see accesslog.h). */
#include "accesslog.h"

#include "http.h"
#include "log.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct accesslog {
    enum accesslog_format format;
    char *path; /* NULL: stdout */
    int fd;
};

/* The escaped fields of an entry, each within its own cap. */
struct fields {
    char method[64], version[48], target[1024], referer[512], agent[512], id[160];
};

static void escape_fields(const struct accesslog_entry *e, struct fields *f)
{
    http_log_escape(e->method, f->method, sizeof(f->method));
    http_log_escape(e->version, f->version, sizeof(f->version));
    http_log_escape(e->target, f->target, sizeof(f->target));
    http_log_escape(e->referer, f->referer, sizeof(f->referer));
    http_log_escape(e->agent, f->agent, sizeof(f->agent));
    http_log_escape(e->request_id && *e->request_id ? e->request_id : "-", f->id, sizeof(f->id));
}

/* s (escaped already: printable ASCII, '"' and '\\' never raw but as \xHH) as a JSON string
 * value: only its backslashes need escaping. */
static void put_json(char *out, size_t cap, size_t *n, const char *name, const char *s)
{
    *n += (size_t)snprintf(out + *n, *n < cap ? cap - *n : 0, ",\"%s\":\"", name);
    for (; *s && *n + 3 < cap; s++) {
        if (*s == '\\')
            out[(*n)++] = '\\';
        out[(*n)++] = *s;
    }
    *n += (size_t)snprintf(out + *n, *n < cap ? cap - *n : 0, "\"");
}

static size_t format_json(const struct accesslog_entry *e, const struct fields *f, char *out,
                          size_t cap)
{
    struct tm tm;
    char when[40];
    size_t n;

    gmtime_r(&e->start.tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    n = (size_t)snprintf(out, cap, "{\"time\":\"%s.%03ldZ\",\"remote\":\"%s\"", when,
                         e->start.tv_nsec / 1000000, e->addr);
    put_json(out, cap, &n, "method", f->method);
    put_json(out, cap, &n, "target", f->target);
    put_json(out, cap, &n, "protocol", f->version);
    n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, ",\"status\":%u,\"bytes\":%" PRIu64,
                          e->status, e->bytes);
    put_json(out, cap, &n, "referer", f->referer);
    put_json(out, cap, &n, "user_agent", f->agent);
    put_json(out, cap, &n, "request_id", f->id);
    n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, ",\"duration\":%.6f}\n", e->seconds);
    return n;
}

static size_t format_combined(const struct accesslog_entry *e, const struct fields *f, char *out,
                              size_t cap)
{
    struct tm tm;
    char when[40];

    localtime_r(&e->start.tv_sec, &tm);
    strftime(when, sizeof(when), "%d/%b/%Y:%H:%M:%S %z", &tm);
    int n =
        snprintf(out, cap, "%s - - [%s] \"%s %s %s\" %u %" PRIu64 " \"%s\" \"%s\"\n", e->addr, when,
                 f->method, f->target, f->version, e->status, e->bytes, f->referer, f->agent);
    return n < 0 ? 0 : (size_t)n;
}

size_t accesslog_format(enum accesslog_format fmt, const struct accesslog_entry *e, char *out,
                        size_t cap)
{
    struct fields f;

    assert(cap >= ACCESSLOG_LINE_MAX);
    escape_fields(e, &f);
    size_t n =
        fmt == ACCESSLOG_JSON ? format_json(e, &f, out, cap) : format_combined(e, &f, out, cap);
    if (n > cap - 1) { /* unreachable at ACCESSLOG_LINE_MAX: the fields have caps */
        n = cap - 1;
        out[n - 1] = '\n';
    }
    return n;
}

static int open_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    return fd < 0 ? -errno : fd;
}

struct accesslog *accesslog_open(const char *path, enum accesslog_format f,
                                 char err[ACCESSLOG_ERR_LEN])
{
    struct accesslog *al = calloc(1, sizeof(*al));
    bool to_stdout = strcmp(path, "-") == 0;

    if (!al || (!to_stdout && !(al->path = strdup(path)))) {
        snprintf(err, ACCESSLOG_ERR_LEN, "out of memory");
        free(al);
        return NULL;
    }
    al->format = f;
    al->fd = to_stdout ? STDOUT_FILENO : open_file(path);
    if (al->fd < 0) {
        snprintf(err, ACCESSLOG_ERR_LEN, "cannot open access log %s: %s", path, strerror(-al->fd));
        free(al->path);
        free(al);
        return NULL;
    }
    return al;
}

void accesslog_write(struct accesslog *al, const struct accesslog_entry *e)
{
    char line[ACCESSLOG_LINE_MAX];
    size_t n = accesslog_format(al->format, e, line, sizeof(line));

    if (write(al->fd, line, n) < 0)
        log_debug("cannot write the access log: %s", strerror(errno));
}

int accesslog_reopen(struct accesslog *al)
{
    if (!al->path)
        return 0;
    int fd = open_file(al->path);
    if (fd < 0)
        return fd;
    /* dup2() swaps the file under the same descriptor at once: a line being written goes
     * whole to the old file or to the new one. */
    int rc = dup2(fd, al->fd) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

void accesslog_free(struct accesslog *al)
{
    if (!al)
        return;
    if (al->path)
        close(al->fd);
    free(al->path);
    free(al);
}
