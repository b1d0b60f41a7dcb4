/* Unit test of common/httpdate: the three forms RFC 9110 makes a recipient accept, Azure's
 * Last-Modified, and what is refused. */
#include "check.h"
#include "httpdate.h"

#include <errno.h>

/* A NUL-terminated copy at the edge of a guarded page. */
static const char *guarded(const char *s)
{
    return check_guard(s, strlen(s) + 1);
}

static void parses(const char *in, time_t want, const char *what)
{
    time_t t = -1;

    ok(httpdate_parse(guarded(in), &t) == 0 && t == want, "%s: '%s' is %lld (got %lld)", what, in,
       (long long)want, (long long)t);
}

static void refuses(const char *in, const char *what)
{
    time_t t = 0;

    ok(httpdate_parse(guarded(in), &t) == -EINVAL, "%s refused: '%s'", what, in);
}

int main(void)
{
    char buf[HTTPDATE_LEN];

    httpdate_format(784111777, buf);
    ok_str(buf, "Sun, 06 Nov 1994 08:49:37 GMT", "IMF-fixdate (RFC 9110's example)");
    httpdate_format(0, buf);
    ok_str(buf, "Thu, 01 Jan 1970 00:00:00 GMT", "the epoch formats");
    parses("Sun, 06 Nov 1994 08:49:37 GMT", 784111777, "IMF-fixdate");
    parses("Sunday, 06-Nov-94 08:49:37 GMT", 784111777, "RFC 850");
    parses("Sun Nov  6 08:49:37 1994", 784111777, "asctime");
    parses("Thu, 01 Jan 1970 00:00:00 GMT", 0, "the epoch");
    parses("Sat, 28 Nov 2026 18:02:46 GMT", 1795888966, "Azure's Last-Modified");
    parses("Sat, 28 Nov 2026 18:02:46 GMT  ", 1795888966, "trailing spaces");
    refuses("yesterday", "garbage");
    refuses("", "an empty value");
    refuses("Sat, 28 Nov 2026 18:02:46", "no zone");
    refuses("Sun, 06 Nov 1994 08:49:37 GMT junk", "trailing junk");
    return check_done();
}
