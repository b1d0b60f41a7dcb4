/* common/clock.h: the monotonic clock, for intervals, timeouts and deadlines (never for dates:
 * it does not jump when the wall clock is set). Thread-safe. */
#ifndef COMMON_CLOCK_H
#define COMMON_CLOCK_H

#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC now, in nanoseconds, milliseconds and (fractional) seconds. */
uint64_t clock_now_ns(void);
uint64_t clock_now_ms(void);
double clock_now_s(void);

/* The CLOCK_MONOTONIC time ms milliseconds from now, as pthread_cond_timedwait() wants it for a
 * condition variable set to that clock (pthread_condattr_setclock). */
struct timespec clock_deadline_ms(long ms);

#endif
