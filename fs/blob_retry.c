/* fs/blob_retry.c: backoff arithmetic (see blob_retry.h). */
#include "blob_retry.h"

#include "httpdate.h"

#include <errno.h>
#include <stdlib.h>

bool blob_retry_status_is_transient(long status)
{
    return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
           status == 504;
}

unsigned blob_retry_delay_ms(const struct blob_retry_policy *p, unsigned attempt,
                             long retry_after_ms, uint32_t rnd)
{
    uint64_t ceiling = p->base_ms;

    for (unsigned i = 0; i < attempt && ceiling < p->cap_ms; i++)
        ceiling *= 2;
    if (ceiling > p->cap_ms)
        ceiling = p->cap_ms;
    uint64_t delay = ceiling ? rnd % (ceiling + 1) : 0;
    if (retry_after_ms >= 0 && (uint64_t)retry_after_ms > delay)
        delay = (uint64_t)retry_after_ms;
    return delay > UINT32_MAX ? UINT32_MAX : (unsigned)delay;
}

static long parse_count(const char *s)
{
    char *end;

    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < 0)
        return -1;
    return v;
}

long blob_retry_after_ms(const char *retry_after, const char *retry_after_ms, time_t now)
{
    long ms = retry_after_ms ? parse_count(retry_after_ms) : -1;

    if (ms >= 0 || !retry_after)
        return ms;
    long s = parse_count(retry_after);
    if (s >= 0)
        return s > 86400 ? 86400000L : s * 1000;
    time_t when;
    if (httpdate_parse(retry_after, &when))
        return -1;
    return when <= now ? 0 : (long)(when - now) * 1000;
}
