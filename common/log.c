/* common/log.c: one line per message, secrets redacted, no lock (see log.h). */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* Set once by log_open() before threads start, read-only afterwards (log.h); log_reopen()
 * changes the file behind fd, never fd itself. */
static struct {
    const char *prog;
    enum log_level level;
    int fd; /* -1: syslog */
    bool own_fd;
    const char *path; /* own_fd: the file, for log_reopen() */
} logger = {"blobkit", LOG_LV_INFO, STDERR_FILENO, false, NULL};

static const char *const level_names[] = {"error", "warn", "info", "debug"};

int log_open(const char *prog, const char *dest, enum log_level level)
{
    logger.prog = prog;
    logger.level = level;
    if (!dest || strcmp(dest, "-") == 0) {
        logger.fd = STDERR_FILENO;
        return 0;
    }
    if (strcmp(dest, "syslog") == 0) {
        openlog(prog, LOG_PID, LOG_DAEMON);
        logger.fd = -1;
        return 0;
    }
    int fd = open(dest, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return -errno;
    logger.fd = fd;
    logger.own_fd = true;
    logger.path = dest;
    return 0;
}

int log_reopen(void)
{
    if (!logger.own_fd)
        return 0;
    int fd = open(logger.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return -errno;
    /* dup2() replaces the file under the same descriptor at once, so a thread writing a line
     * meanwhile writes it whole to the old file or to the new one. */
    int rc = dup2(fd, logger.fd) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

void log_detach(void)
{
    if (logger.fd == STDERR_FILENO) {
        openlog(logger.prog, LOG_PID, LOG_DAEMON);
        logger.fd = -1;
    }
}

void log_close(void)
{
    if (logger.own_fd)
        close(logger.fd);
    logger.fd = STDERR_FILENO;
    logger.own_fd = false;
}

bool log_enabled(enum log_level level)
{
    return level <= logger.level;
}

int log_parse_level(const char *name, enum log_level *out)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcasecmp(name, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -EINVAL;
}

/* A secret parameter starts at the beginning or after one of "?&; \t\"'(<". */
static bool at_param_start(const char *in, size_t i)
{
    return i == 0 || strchr("?&; \t\"'(<=", in[i - 1]) != NULL;
}

static bool ends_value(char c)
{
    return c == '&' || c == ' ' || c == '\t' || c == '"' || c == '\'' || c == '>' || c == ')' ||
           c == '\n' || c == '\r';
}

/* Append s[0..n) to out at *o, as much as fits before the terminating NUL. */
static void put(char *out, size_t *o, size_t cap, const char *s, size_t n)
{
    size_t room = cap - 1 - *o;

    if (n > room)
        n = room;
    memcpy(out + *o, s, n);
    *o += n;
}

size_t log_redact(const char *in, size_t len, char *out, size_t cap)
{
    static const char secret[] = "sig=REDACTED";
    size_t o = 0;

    if (cap == 0)
        return 0;
    for (size_t i = 0; i < len && o + 1 < cap;) {
        if (len - i >= 4 && strncasecmp(in + i, "sig=", 4) == 0 && at_param_start(in, i)) {
            put(out, &o, cap, secret, sizeof(secret) - 1);
            for (i += 4; i < len && !ends_value(in[i]); i++)
                ;
            continue;
        }
        out[o++] = in[i++];
    }
    out[o] = '\0';
    return o;
}

static size_t stamp(char *buf, size_t cap, enum log_level level)
{
    struct timespec ts;
    struct tm tm;
    char when[32];

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    int n = snprintf(buf, cap, "%s.%03ldZ %s[%ld] %s: ", when, ts.tv_nsec / 1000000L, logger.prog,
                     (long)getpid(), level_names[level]);
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    char raw[LOG_LINE_MAX], line[LOG_LINE_MAX + 64];
    va_list ap;
    int saved = errno;

    if (!log_enabled(level))
        return;
    va_start(ap, fmt);
    int n = vsnprintf(raw, sizeof(raw), fmt, ap);
    va_end(ap);
    if (n < 0)
        goto out;
    if ((size_t)n >= sizeof(raw))
        memcpy(raw + sizeof(raw) - 4, "...", 4);

    size_t len = logger.fd < 0 ? 0 : stamp(line, sizeof(line), level);
    len += log_redact(raw, strlen(raw), line + len, sizeof(line) - len - 1);
    if (logger.fd < 0) {
        static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
        syslog(prio[level], "%s", line);
        goto out;
    }
    line[len++] = '\n';
    ssize_t w = write(logger.fd, line, len);
    (void)w; /* nowhere left to report a failed log write */
out:
    errno = saved;
}
