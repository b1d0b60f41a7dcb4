/* fs/blob_retry.h: when and how long to wait before trying a request again (pure).
 *
 * Transient failures (throttling, server errors, a dropped or stalled connection) are retried
 * with full-jitter exponential backoff, never sooner than the server asked (Retry-After,
 * x-ms-retry-after-ms), and never past a total time budget per operation. */
#ifndef FS_BLOB_RETRY_H
#define FS_BLOB_RETRY_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct blob_retry_policy {
    unsigned base_ms;      /* first backoff ceiling */
    unsigned cap_ms;       /* largest backoff ceiling */
    unsigned max_attempts; /* tries in all, the first included */
    unsigned budget_ms;    /* time one operation may take, waits included */
};

/* Whether an HTTP status deserves another try: 408, 429, 500, 502, 503, 504. */
bool blob_retry_status_is_transient(long status);

/* The wait before retry number attempt (0 for the first retry): a uniform pick by rnd in
 * [0, min(cap, base * 2^attempt)], and at least retry_after_ms when that is >= 0. */
unsigned blob_retry_delay_ms(const struct blob_retry_policy *p, unsigned attempt,
                             long retry_after_ms, uint32_t rnd);

/* What the server asked for, in ms: x-ms-retry-after-ms when given, else Retry-After as
 * delta-seconds or an HTTP date (relative to now). Either may be NULL. Returns -1 when
 * neither holds a usable value. */
long blob_retry_after_ms(const char *retry_after, const char *retry_after_ms, time_t now);

#endif
