/* Unit test of common/clock: monotonic, consistent units, deadlines normalised. */
#include "check.h"
#include "clock.h"

#include <errno.h>
#include <pthread.h>

int main(void)
{
    uint64_t a = clock_now_ns(), b = clock_now_ns();
    struct timespec ts;

    ok(a > 0 && b >= a, "never goes back (%llu then %llu)", (unsigned long long)a,
       (unsigned long long)b);
    uint64_t ms = clock_now_ms();
    ok(ms >= a / 1000000u && ms - a / 1000000u < 1000, "ms agrees with ns");
    double s = clock_now_s();
    ok(s >= (double)a / 1e9 && s - (double)a / 1e9 < 1.0, "s agrees with ns");
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    ok(now >= b && now - b < 1000000000u, "the same clock as CLOCK_MONOTONIC");

    struct timespec d = clock_deadline_ms(1999);
    uint64_t dn = (uint64_t)d.tv_sec * 1000000000u + (uint64_t)d.tv_nsec;
    ok(d.tv_nsec >= 0 && d.tv_nsec < 1000000000L, "deadline nanoseconds normalised");
    ok(dn >= now + 1999000000u && dn - now < 2999000000u, "deadline 1999 ms ahead");

    /* A condition variable on the monotonic clock times out at the deadline. */
    pthread_condattr_t attr;
    pthread_cond_t cond;
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&cond, &attr);
    pthread_mutex_lock(&lock);
    d = clock_deadline_ms(20);
    int rc = pthread_cond_timedwait(&cond, &lock, &d);
    pthread_mutex_unlock(&lock);
    ok(rc == ETIMEDOUT && clock_now_ns() >= now + 20000000u, "a timed wait ends at the deadline");
    pthread_cond_destroy(&cond);
    pthread_condattr_destroy(&attr);
    return check_done();
}
