/* common/httpdate.c: HTTP dates both ways (see httpdate.h). */
#include "httpdate.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Optional white space (RFC 9110): spaces and tabs. */
static const char *skip_ows(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

void httpdate_format(time_t t, char out[HTTPDATE_LEN])
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;

    if (!gmtime_r(&t, &tm)) {
        out[0] = '\0';
        return;
    }
    snprintf(out, HTTPDATE_LEN, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
             months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

int httpdate_parse(const char *s, time_t *out)
{
    /* strptime's %a/%b follow the C locale, which is what a server process runs in. */
    static const char *const forms[] = {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT",
                                        "%a %b %e %H:%M:%S %Y"};
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        struct tm tm;
        memset(&tm, 0, sizeof(tm));
        const char *end = strptime(s, forms[i], &tm);
        if (end && *skip_ows(end) == '\0') {
            *out = timegm(&tm);
            return 0;
        }
    }
    return -EINVAL;
}
