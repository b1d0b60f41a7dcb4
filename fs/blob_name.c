/* fs/blob_name.c: percent-encoding and file-name rules for blob names (see blob_name.h). */
#include "blob_name.h"

#include <errno.h>
#include <string.h>

static bool is_unreserved(unsigned char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '.' || ch == '_' || ch == '~';
}

static ssize_t encode(const char *s, size_t len, char *out, size_t cap, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        bool raw = is_unreserved(ch) || (keep_slash && ch == '/');

        if (o + (raw ? 1 : 3) >= cap)
            return -ENAMETOOLONG;
        if (raw) {
            out[o++] = (char)ch;
            continue;
        }
        out[o++] = '%';
        out[o++] = hex[ch >> 4];
        out[o++] = hex[ch & 15];
    }
    if (cap == 0)
        return -ENAMETOOLONG;
    out[o] = '\0';
    return (ssize_t)o;
}

ssize_t blob_name_encode_path(const char *s, size_t len, char *out, size_t cap)
{
    return encode(s, len, out, cap, true);
}

ssize_t blob_name_encode_query(const char *s, size_t len, char *out, size_t cap)
{
    return encode(s, len, out, cap, false);
}

bool blob_name_is_leaf(const char *s, size_t len)
{
    if (len == 0 || len > BLOB_NAME_LEAF_MAX)
        return false;
    if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\0' || s[i] == '/' || s[i] == '\\')
            return false;
    }
    return true;
}
