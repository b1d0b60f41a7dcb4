/* common/httpdate.h: HTTP dates (RFC 9110 5.6.7), the one parser and formatter of both
 * programs: blobhttpd's Last-Modified and conditional requests, blobfs's Last-Modified of
 * List Blobs and Get Blob Properties, and Retry-After. Pure. */
#ifndef COMMON_HTTPDATE_H
#define COMMON_HTTPDATE_H

#include <time.h>

/* IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), always NUL-terminated in out. */
#define HTTPDATE_LEN 32
void httpdate_format(time_t t, char out[HTTPDATE_LEN]);

/* Parse an HTTP date: IMF-fixdate, or the obsolete RFC 850 and asctime forms a recipient must
 * accept; trailing spaces are allowed, anything else after the date is not.
 * Returns 0, or -EINVAL when s is none of them. */
int httpdate_parse(const char *s, time_t *out);

#endif
