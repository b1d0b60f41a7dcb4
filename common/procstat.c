/* common/procstat.c: process metrics from /proc (see procstat.h). */
#include "procstat.h"

#include "metrics.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

struct procstat {
    struct metrics_family *cpu, *rss, *vsize, *fds, *max_fds, *start;
    double start_time; /* seconds since the epoch */
    long page;
};

/* A decimal field at *p, skipping leading blanks; advances *p past it. */
static int field_u64(const char **p, const char *end, uint64_t *out)
{
    uint64_t v = 0;
    const char *s = *p;

    while (s < end && *s == ' ')
        s++;
    if (s == end || *s < '0' || *s > '9')
        return -EINVAL;
    for (; s < end && *s >= '0' && *s <= '9'; s++) {
        if (__builtin_mul_overflow(v, 10, &v) ||
            __builtin_add_overflow(v, (uint64_t)(*s - '0'), &v))
            return -EINVAL;
    }
    *p = s;
    *out = v;
    return 0;
}

int procstat_parse_start(const char *stat, size_t len, uint64_t *ticks)
{
    const char *end = stat + len, *p = end;

    while (p > stat && p[-1] != ')')
        p--;
    if (p == stat)
        return -EINVAL;
    /* after the name: field 3 (state) onwards; starttime is field 22 */
    for (int field = 3; field < 22; field++) {
        while (p < end && *p == ' ')
            p++;
        while (p < end && *p != ' ')
            p++;
        if (p == end)
            return -EINVAL;
    }
    return field_u64(&p, end, ticks);
}

int procstat_parse_statm(const char *statm, size_t len, uint64_t *size, uint64_t *resident)
{
    const char *p = statm, *end = statm + len;

    if (field_u64(&p, end, size) || field_u64(&p, end, resident))
        return -EINVAL;
    return 0;
}

/* The start of path's text into buf (NUL-terminated). Returns its length or -errno. */
static ssize_t read_text(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, cap - 1);
    int err = n < 0 ? -errno : 0;
    close(fd);
    if (err)
        return err;
    buf[n] = '\0';
    return n;
}

/* The boot time from /proc/stat's "btime" line, in seconds since the epoch; 0 if unknown. */
static double boot_time(void)
{
    char line[512];
    double btime = 0;
    FILE *f = fopen("/proc/stat", "re");

    while (f && fgets(line, sizeof(line), f)) {
        if (strncmp(line, "btime ", 6) == 0) {
            btime = strtod(line + 6, NULL);
            break;
        }
    }
    if (f)
        fclose(f);
    return btime;
}

static double start_time(void)
{
    char buf[1024];
    uint64_t ticks;
    ssize_t n = read_text("/proc/self/stat", buf, sizeof(buf));
    long hz = sysconf(_SC_CLK_TCK);

    if (n < 0 || hz <= 0 || procstat_parse_start(buf, (size_t)n, &ticks))
        return 0;
    return boot_time() + (double)ticks / (double)hz;
}

static double open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    double n = 0;

    if (!d)
        return NAN;
    for (struct dirent *e = readdir(d); e; e = readdir(d))
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the one opendir() holds */
}

static void collect(void *arg)
{
    struct procstat *p = arg;
    struct rusage ru;
    struct rlimit rl;
    char buf[256];
    uint64_t size, resident;

    if (getrusage(RUSAGE_SELF, &ru) == 0)
        metrics_counter_set(p->cpu, 0, 0,
                            (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
                                (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec));
    ssize_t n = read_text("/proc/self/statm", buf, sizeof(buf));
    if (n > 0 && procstat_parse_statm(buf, (size_t)n, &size, &resident) == 0) {
        metrics_gauge_set(p->vsize, 0, 0, (double)size * (double)p->page);
        metrics_gauge_set(p->rss, 0, 0, (double)resident * (double)p->page);
    }
    metrics_gauge_set(p->fds, 0, 0, open_fds());
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        metrics_gauge_set(p->max_fds, 0, 0,
                          rl.rlim_cur == RLIM_INFINITY ? INFINITY : (double)rl.rlim_cur);
    metrics_gauge_set(p->start, 0, 0, p->start_time);
}

struct procstat *procstat_new(struct metrics *m)
{
    struct procstat *p = calloc(1, sizeof(*p));

    if (!p)
        return NULL;
    p->page = sysconf(_SC_PAGESIZE);
    p->start_time = start_time();
    p->cpu =
        metrics_add_counter(m, "process_cpu_seconds_total",
                            "Total user and system CPU time spent in seconds.", 1e-6, NULL, NULL);
    p->rss = metrics_add_gauge(m, "process_resident_memory_bytes", "Resident memory size in bytes.",
                               NULL, NULL);
    p->vsize = metrics_add_gauge(m, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
                                 NULL, NULL);
    p->fds =
        metrics_add_gauge(m, "process_open_fds", "Number of open file descriptors.", NULL, NULL);
    p->max_fds = metrics_add_gauge(m, "process_max_fds", "Maximum number of open file descriptors.",
                                   NULL, NULL);
    p->start =
        metrics_add_gauge(m, "process_start_time_seconds",
                          "Start time of the process since unix epoch in seconds.", NULL, NULL);
    if (!p->cpu || !p->rss || !p->vsize || !p->fds || !p->max_fds || !p->start ||
        metrics_on_collect(m, collect, p) != 0) {
        free(p);
        return NULL;
    }
    return p;
}

void procstat_free(struct procstat *p)
{
    free(p);
}
