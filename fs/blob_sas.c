/* fs/blob_sas.c: SAS token hygiene and expiry (see blob_sas.h). */
#include "blob_sas.h"

#include "blob_name.h"
#include "pct.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

static bool has_param(const char *s, size_t len, const char *key)
{
    size_t klen = strlen(key);

    for (size_t i = 0; i + klen <= len; i++) {
        if ((i == 0 || s[i - 1] == '&') && memcmp(s + i, key, klen) == 0)
            return true;
    }
    return false;
}

ssize_t blob_sas_clean(const char *in, size_t len, char *out, size_t cap)
{
    while (len > 0 && isspace((unsigned char)in[0])) {
        in++;
        len--;
    }
    while (len > 0 && isspace((unsigned char)in[len - 1]))
        len--;
    if (len > 0 && in[0] == '?') {
        in++;
        len--;
    }
    if (len == 0)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)in[i];
        if (ch <= ' ' || ch == 0x7f || ch == '#')
            return -EINVAL;
    }
    if (!has_param(in, len, "sig="))
        return -EINVAL;
    if (len >= cap)
        return -E2BIG;
    memcpy(out, in, len);
    out[len] = '\0';
    return (ssize_t)len;
}

/* The value of key (e.g. "se=") in an &-separated query, percent-decoded into out. */
static int param_value(const char *sas, const char *key, char *out, size_t cap)
{
    size_t klen = strlen(key);

    for (const char *p = sas; p; p = strchr(p, '&')) {
        if (*p == '&')
            p++;
        if (strncmp(p, key, klen) != 0)
            continue;
        p += klen;
        size_t vlen = strcspn(p, "&");
        return pct_decode(p, vlen, 0, out, cap) < 0 ? -EINVAL : 0;
    }
    return -ENOENT;
}

/* strptime() formats Azure accepts for se, longest first. */
static const char *const iso_formats[] = {"%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d"};

static int parse_iso(const char *s, time_t *out)
{
    for (size_t i = 0; i < sizeof(iso_formats) / sizeof(iso_formats[0]); i++) {
        struct tm tm;
        memset(&tm, 0, sizeof(tm));
        const char *end = strptime(s, iso_formats[i], &tm);
        if (!end)
            continue;
        if (*end == '.')
            end += 1 + strspn(end + 1, "0123456789");
        if (*end == 'Z')
            end++;
        if (*end != '\0')
            continue;
        *out = timegm(&tm);
        return 0;
    }
    return -EINVAL;
}

int blob_sas_expiry(const char *sas, time_t *out)
{
    char value[64];
    int err = param_value(sas, "se=", value, sizeof(value));

    if (err)
        return err;
    return parse_iso(value, out);
}
