/* common/pct.h: percent-decoding (and encoding), shared by blob names (fs) and URLs (httpd).
 *
 * As curl's Curl_urldecode(), the caller says what a decoded byte may not be; a NUL byte is
 * always refused, since the result is a C string. Pure. */
#ifndef COMMON_PCT_H
#define COMMON_PCT_H

#include <stddef.h>
#include <sys/types.h>

enum pct_flags {
    PCT_FORM = 1,        /* '+' stands for a space (application/x-www-form-urlencoded) */
    PCT_REJECT_CTRL = 2, /* refuse control bytes (below 0x20, and 0x7f), raw or encoded */
};

/* The value of one hex digit, or -1. */
int pct_hex_value(char c);

/* Decode in[0..len) once into out (capacity cap, always NUL-terminated when cap > 0); out may
 * be in itself.
 * Returns the decoded length; -EINVAL for a malformed escape or a refused byte;
 * -ENAMETOOLONG when out is too small. */
ssize_t pct_decode(const char *in, size_t len, unsigned flags, char *out, size_t cap);

/* Encode in[0..len) into out (capacity cap, NUL-terminated when cap > 0): every byte but the
 * unreserved ones (A-Z a-z 0-9 - . _ ~) and those in keep ("/" for a path) becomes %XX, so
 * the result decodes back to exactly in. Returns its length, or -ENAMETOOLONG. */
ssize_t pct_encode(const char *in, size_t len, const char *keep, char *out, size_t cap);

#endif
