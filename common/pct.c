/* common/pct.c: percent-decoding and encoding (see pct.h). */
#include "pct.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

int pct_hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool refused(unsigned char c, unsigned flags)
{
    return c == '\0' || ((flags & PCT_REJECT_CTRL) && (c < 0x20 || c == 0x7f));
}

/* The byte at in[*i], decoded; *i moves past an escape. Returns -1 for a bad escape. */
static int next_byte(const char *in, size_t len, size_t *i, unsigned flags)
{
    unsigned char c = (unsigned char)in[*i];

    if (c == '%') {
        int hi = *i + 2 < len ? pct_hex_value(in[*i + 1]) : -1;
        int lo = hi >= 0 ? pct_hex_value(in[*i + 2]) : -1;
        if (lo < 0)
            return -1;
        *i += 2;
        return hi << 4 | lo;
    }
    return c == '+' && (flags & PCT_FORM) ? ' ' : c;
}

/* Decoding never writes ahead of reading, so out may be in (in place). */
ssize_t pct_decode(const char *in, size_t len, unsigned flags, char *out, size_t cap)
{
    size_t n = 0;
    ssize_t err = -EINVAL;

    if (cap == 0)
        return -ENAMETOOLONG;
    for (size_t i = 0; i < len; i++) {
        int c = next_byte(in, len, &i, flags);
        if (c < 0 || refused((unsigned char)c, flags))
            goto out_fail;
        if (n + 1 >= cap) {
            err = -ENAMETOOLONG;
            goto out_fail;
        }
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return (ssize_t)n;
out_fail:
    out[0] = '\0';
    return err;
}

static bool unreserved(unsigned char c, const char *keep)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~' || (c && strchr(keep, c));
}

ssize_t pct_encode(const char *in, size_t len, const char *keep, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;

    if (cap == 0)
        return -ENAMETOOLONG;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        bool plain = unreserved(c, keep);
        if (n + (plain ? 1 : 3) >= cap) {
            out[0] = '\0';
            return -ENAMETOOLONG;
        }
        if (plain) {
            out[n++] = (char)c;
            continue;
        }
        out[n++] = '%';
        out[n++] = hex[c >> 4];
        out[n++] = hex[c & 15];
    }
    out[n] = '\0';
    return (ssize_t)n;
}
