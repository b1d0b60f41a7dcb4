/* Unit test of common/procstat: the /proc parsers on tricky and broken text (at the edge of an
 * unreadable page), then the process metrics of this very process against what it knows of
 * itself. */
#include "check.h"
#include "metrics.h"
#include "procstat.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <time.h>

static int start(const char *s, uint64_t *ticks)
{
    return procstat_parse_start(check_guard(s, strlen(s)), strlen(s), ticks);
}

static void parsers(void)
{
    uint64_t t = 0, size = 0, res = 0;

    ok(start("42 (blobfs) S 1 42 42 0 -1 4194560 1 0 0 0 3 4 0 0 20 0 9 0 123456 1000 50", &t) ==
               0 &&
           t == 123456,
       "starttime is field 22");
    ok(start("42 (a) b) (c) S 1 42 42 0 -1 4194560 1 0 0 0 3 4 0 0 20 0 9 0 777 1000 50", &t) ==
               0 &&
           t == 777,
       "a name with spaces and parentheses");
    ok(start("42 (x) S 1 2 3", &t) == -EINVAL, "too few fields");
    ok(start("42 (x) S 1 42 42 0 -1 4194560 1 0 0 0 3 4 0 0 20 0 9 0 -5 1000", &t) == -EINVAL,
       "a negative starttime");
    ok(start("no parenthesis at all", &t) == -EINVAL, "no name");
    ok(start("42 (x) S 1 42 42 0 -1 4194560 1 0 0 0 3 4 0 0 20 0 9 0 99999999999999999999 1", &t) ==
           -EINVAL,
       "a starttime past 64 bits");
    ok(start("42 (x) S 1 42 42 0 -1 4194560 1 0 0 0 3 4 0 0 20 0 9 0 31", &t) == 0 && t == 31,
       "a starttime at the end of the text");
    ok(procstat_parse_statm(check_guard("2500 600 100 1 0 300 0\n", 23), 23, &size, &res) == 0 &&
           size == 2500 && res == 600,
       "statm: size and resident pages");
    ok(procstat_parse_statm(check_guard("2500", 4), 4, &size, &res) == -EINVAL,
       "statm with one field");
}

/* The value of the unlabelled series name in text, or -1. */
static double value(const char *text, const char *name)
{
    char key[96];
    const char *p;

    snprintf(key, sizeof(key), "\n%s ", name);
    p = strstr(text, key);
    return p ? strtod(p + strlen(key), NULL) : -1;
}

static void live(void)
{
    struct metrics *m = metrics_new();
    struct procstat *p = procstat_new(m);
    struct rlimit rl;
    char *text = NULL;
    size_t len;

    ok(p != NULL, "process metrics registered");
    int fd = open("/dev/null", O_RDONLY);
    metrics_render(m, &text, &len);
    double fds = value(text, "process_open_fds");
    metrics_text_free(text);
    close(fd);
    metrics_render(m, &text, &len);
    ok(fds >= 4 && value(text, "process_open_fds") == fds - 1,
       "open fds counts one descriptor less once one is closed (%.0f)", fds);
    ok(value(text, "process_resident_memory_bytes") > 100000, "resident memory");
    ok(value(text, "process_virtual_memory_bytes") > value(text, "process_resident_memory_bytes"),
       "virtual memory above resident");
    getrlimit(RLIMIT_NOFILE, &rl);
    ok(value(text, "process_max_fds") == (double)rl.rlim_cur, "max fds is the soft limit");
    double started = value(text, "process_start_time_seconds");
    ok(started > time(NULL) - 600 && started <= time(NULL) + 1, "started in the last minutes");
    ok(value(text, "process_cpu_seconds_total") >= 0, "cpu seconds");
    metrics_text_free(text);
    procstat_free(p);
    metrics_free(m);
}

int main(void)
{
    parsers();
    live();
    return check_done();
}
