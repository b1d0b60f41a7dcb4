/* tests/check.h: the unit-test harness. TAP output that tests/run.sh counts.
 *
 *     ok(len == 3, "parses %s", input);
 *     return check_done();
 *
 * check_guard() copies an input to the very end of a readable page followed by a PROT_NONE
 * page, so a parser that reads one byte too far faults (picohttpparser's trick). */
#ifndef TESTS_CHECK_H
#define TESTS_CHECK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int check_count, check_failed;

__attribute__((format(printf, 4, 5))) static bool check_ok(bool cond, const char *file, int line,
                                                           const char *fmt, ...)
{
    va_list ap;

    check_count++;
    printf("%sok %d - ", cond ? "" : "not ", check_count);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (!cond) {
        check_failed++;
        printf("#   failed at %s:%d\n", file, line);
    }
    fflush(stdout);
    return cond;
}

#define ok(cond, ...) check_ok((cond), __FILE__, __LINE__, __VA_ARGS__)

/* ok() for two C strings, printing both on failure. */
#define ok_str(got, want, ...)                                                                     \
    do {                                                                                           \
        const char *got_ = (got), *want_ = (want);                                                 \
        if (!ok(got_ && want_ && strcmp(got_, want_) == 0, __VA_ARGS__))                           \
            printf("#   got '%s'\n#  want '%s'\n", got_ ? got_ : "(null)",                         \
                   want_ ? want_ : "(null)");                                                      \
    } while (0)

/* Print the plan; the exit status of main(). */
static inline int check_done(void)
{
    printf("1..%d\n", check_count);
    return check_failed ? 1 : 0;
}

/* Copy s[0..len) so that it ends exactly where an unreadable page begins. The copy lives until
 * the next call (one guarded buffer per test program). Not NUL-terminated. */
static inline const char *check_guard(const char *s, size_t len)
{
    static char *region;
    static size_t region_len;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t span = (len / page + 1) * page;

    if (region)
        munmap(region, region_len);
    region_len = span + page;
    region = mmap(NULL, region_len, PROT_READ | PROT_WRITE, MAP_ANON | MAP_PRIVATE, -1, 0);
    if (region == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    mprotect(region + span, page, PROT_NONE);
    memcpy(region + span - len, s, len);
    return region + span - len;
}

#endif
