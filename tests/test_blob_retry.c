/* Unit tests of fs/blob_retry.c: which failures are retried, and how long to wait. */
#include "blob_retry.h"

#include "check.h"

static void test_status(void)
{
    static const long transient[] = {408, 429, 500, 502, 503, 504};
    static const long final[] = {200, 304, 400, 403, 404, 409, 412, 416, 501};

    for (size_t i = 0; i < sizeof(transient) / sizeof(transient[0]); i++)
        ok(blob_retry_status_is_transient(transient[i]), "%ld is retried", transient[i]);
    for (size_t i = 0; i < sizeof(final) / sizeof(final[0]); i++)
        ok(!blob_retry_status_is_transient(final[i]), "%ld is not retried", final[i]);
}

static void test_delay(void)
{
    struct blob_retry_policy p = {.base_ms = 200, .cap_ms = 5000, .max_attempts = 6};
    bool bounded = true, reaches = false;

    for (unsigned a = 0; a < 8; a++) {
        unsigned ceiling = 200u << a < 5000 ? 200u << a : 5000;
        for (uint32_t r = 0; r < 50000; r += 7) {
            unsigned d = blob_retry_delay_ms(&p, a, -1, r * 2654435761u);
            bounded = bounded && d <= ceiling;
            reaches = reaches || (a == 2 && d >= 790);
        }
    }
    ok(bounded, "full jitter stays within min(cap, base * 2^attempt)");
    ok(reaches, "and spreads up to its ceiling");
    ok(blob_retry_delay_ms(&p, 0, -1, 0) == 0, "full jitter may retry at once");
    ok(blob_retry_delay_ms(&p, 30, -1, 4999) == 4999, "a huge attempt number stays capped");
    ok(blob_retry_delay_ms(&p, 0, 1500, 0) == 1500, "Retry-After is a floor");
    ok(blob_retry_delay_ms(&p, 3, 10, 1234) == 1234, "a short Retry-After changes nothing");
}

static void test_after(void)
{
    time_t now = 1795888966; /* Sat, 28 Nov 2026 18:02:46 GMT */

    ok(blob_retry_after_ms("3", NULL, now) == 3000, "Retry-After in seconds");
    ok(blob_retry_after_ms("3", "150", now) == 150, "x-ms-retry-after-ms wins");
    ok(blob_retry_after_ms(NULL, "0", now) == 0, "zero ms");
    ok(blob_retry_after_ms("Sat, 28 Nov 2026 18:02:50 GMT", NULL, now) == 4000, "an HTTP date");
    ok(blob_retry_after_ms("Sat, 28 Nov 2026 18:00:00 GMT", NULL, now) == 0, "a past date");
    ok(blob_retry_after_ms("soon", NULL, now) == -1, "garbage");
    ok(blob_retry_after_ms("-5", "x", now) == -1, "negative and garbage");
    ok(blob_retry_after_ms(NULL, NULL, now) == -1, "nothing asked");
}

int main(void)
{
    test_status();
    test_delay();
    test_after();
    return check_done();
}
